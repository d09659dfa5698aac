//! Audit-log formats: the log entry with its canonical bytes ([`entry`]), RFC 9162 Merkle tree
//! hashing ([`merkle`]), inclusion and consistency proofs ([`proof`]) and signed checkpoints in
//! the C2SP tlog-checkpoint / signed-note formats ([`checkpoint`]).
//!
//! Each trustee keeps an append-only log. Entry `i` (0-based) is leaf `i` of a Merkle tree as in
//! RFC 9162 §2.1 (Certificate Transparency 2.0): leaf hash `SHA-256(0x00 || entry_bytes)`, node
//! hash `SHA-256(0x01 || left || right)`. The tree head (size, root) is what a signed checkpoint
//! commits to; inclusion and consistency proofs are computed over the same leaf hashes.
//!
//! No I/O: the trustee node stores the entry bytes and serves them; an auditor recomputes every
//! leaf hash from the bytes it was served and decodes the fields with [`LogEntry::from_bytes`].
//! See `docs/audit.md`.

pub mod carry;
pub mod checkpoint;
pub mod compact;
pub mod disclosure;
pub mod documents;
pub mod entry;
pub mod history;
pub mod html;
pub mod judge;
pub mod merkle;
pub mod oversight;
pub mod page;
pub mod proof;
pub mod public;
pub mod report;
pub mod salt;
pub mod sealed;
pub mod tiles;
pub mod verdict;
pub mod witness;

pub use checkpoint::{CheckpointError, LogKey, SignedCheckpoint, verify_checkpoint};
pub use entry::{EntryKind, LogEntry, MAX_ENTRY_BYTES, MAX_ENTRY_DIGESTS};
pub use merkle::{Frontier, TreeHead, empty_root, leaf_hash, mth, node_hash};
pub use oversight::{OpenError, Sealed, SealedDocument};
pub use proof::{
    ProofError, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion,
};
