//! Size bounds of the log entry and its oversight copy (`docs/protocol.md` §17), in a leaf
//! module because formats at several layers read them: the log entry (`audit::entry`), its
//! oversight copy (`audit::sealed`) and the release answers' inclusion proofs, which carry a
//! log entry's bytes (`v2::release`). Constants only; re-exported where they were defined
//! before (`audit::entry`, `audit::oversight`).

/// Most digests in one list of an entry.
pub const MAX_ENTRY_DIGESTS: usize = 100_000;
/// Longest reason string, bytes.
pub const MAX_REASON_LEN: usize = 64;
/// Largest entry encoding, bytes.
pub const MAX_ENTRY_BYTES: usize = 64
    + 8
    + 8
    + 4 * 33
    + 2 * (4 + 32 * MAX_ENTRY_DIGESTS)
    + 5
    + MAX_REASON_LEN
    + 9
    + MAX_SEALED_BYTES;

/// Most recipients of one sealed copy (= the most oversight keys a policy names).
pub const MAX_SEALED_RECIPIENTS: usize = crate::warrant::MAX_OVERSIGHT_KEYS;
/// Largest sealed document (type byte included), bytes: a warrant envelope of the largest
/// payload (4 MiB, base64) with its signatures fits.
pub const MAX_SEALED_DOCUMENT: usize = 6 << 20;
/// GCM tag length.
pub(crate) const TAG_LEN: usize = 16;
/// Length of one wrapped data key: 32 bytes + the GCM tag.
pub const WRAPPED_KEY_LEN: usize = 32 + TAG_LEN;
/// Encoded size of one recipient: key id, ephemeral key, wrapped data key.
pub const RECIPIENT_LEN: usize = 32 + 33 + WRAPPED_KEY_LEN;
/// Largest encoding of a sealed copy, bytes.
pub const MAX_SEALED_BYTES: usize =
    1 + MAX_SEALED_RECIPIENTS * RECIPIENT_LEN + 4 + MAX_SEALED_DOCUMENT + TAG_LEN;
