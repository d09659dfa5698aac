//! What the judge concludes about one release entry and about one message, as plain data
//! (`audit::judge` makes them, `audit::compact` stores them compactly and rebuilds them as they
//! are read, `audit::report` prints them). A leaf; re-exported by `audit::judge`.

use crate::codec::{CiphertextDigest, Digest32, WarrantDigest};
use crate::time::Timestamp;
use serde::Serialize;

/// Why a release is not justified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
#[non_exhaustive]
pub enum Unjustified {
    /// The release entry lacks its warrant, or has not exactly one ciphertext and one share.
    MalformedEntry,
    /// No warrant with the entry's digest was disclosed.
    WarrantNotDisclosed,
    /// No policy was given, so the warrant cannot be judged.
    NoPolicy,
    /// The trustee's setup entry before the release names another policy.
    OtherPolicyAtTheTime {
        /// The policy the trustee ran.
        policy: Digest32,
    },
    /// The warrant does not verify under the policy at the entry's time.
    WarrantFails {
        /// The refusal, in words.
        refusal: String,
    },
    /// The shares were sealed to another key than the warrant's investigator.
    WrongInvestigator,
    /// More distinct messages than the warrant's limit at this trustee.
    ReleaseLimit {
        /// The refusal of [`VerifiedWarrant::check_release_limit`](crate::warrant::VerifiedWarrant::check_release_limit), in words.
        refusal: String,
    },
    /// The renewal chain is too long to walk (`warrant::MAX_CHAIN_WALK`): treated as
    /// cancelled, as the node treats it.
    ChainTooLong,
    /// Released after this trustee logged a cancellation of the warrant or of a warrant it
    /// renews.
    AfterCancellation {
        /// The cancellation entry.
        entry: u64,
        /// The cancelled warrant id.
        warrant_id: String,
    },
    /// Oversight view: the policy names oversight keys but the entry carries no oversight copy
    /// of the released header (the trustee hid what it released).
    NoOversightCopy,
    /// Oversight view: the oversight copy does not open under the oversight key.
    OversightCopyUnreadable {
        /// Why, in words.
        why: String,
    },
    /// Oversight view: the sealed header's digest is not the logged ciphertext digest.
    HeaderMismatch,
    /// Oversight view: the sealed header fails its public check (TDH2 proof, trustee set).
    HeaderInvalid {
        /// Why, in words.
        why: String,
    },
    /// Oversight view: the released message's label is outside the warrant's scope.
    OutOfScope {
        /// The constraint missed, in words that name the warrant's bound, never the label.
        why: String,
    },
}

impl core::fmt::Display for Unjustified {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Unjustified::MalformedEntry => f.write_str("malformed release entry"),
            Unjustified::WarrantNotDisclosed => f.write_str(
                "no warrant with this digest was disclosed (not in --warrants, not served by the node)",
            ),
            Unjustified::NoPolicy => f.write_str("no --policy given: the warrant cannot be judged"),
            Unjustified::OtherPolicyAtTheTime { policy } => write!(
                f,
                "the trustee ran another policy at the time ({}); judged under --policy",
                policy.short()
            ),
            Unjustified::WarrantFails { refusal } => {
                write!(f, "the warrant does not verify under the policy: {refusal}")
            }
            Unjustified::WrongInvestigator => f.write_str(
                "shares were encrypted to another investigator than the warrant names",
            ),
            Unjustified::ReleaseLimit { refusal } => {
                write!(f, "release limit exceeded: {refusal}")
            }
            Unjustified::ChainTooLong => f.write_str(
                "the warrant's renewal chain is too long to check (treated as cancelled)",
            ),
            Unjustified::AfterCancellation { entry, warrant_id } => write!(
                f,
                "released after the cancellation of warrant {warrant_id} logged at entry {entry}"
            ),
            Unjustified::NoOversightCopy => f.write_str(
                "the policy names oversight keys but the entry carries no oversight copy of the released header",
            ),
            Unjustified::OversightCopyUnreadable { why } => {
                write!(f, "the oversight copy cannot be read: {why}")
            }
            Unjustified::HeaderMismatch => f.write_str(
                "the oversight copy holds another escrow header than the logged ciphertext digest",
            ),
            Unjustified::HeaderInvalid { why } => {
                write!(f, "the released escrow header fails its public check: {why}")
            }
            Unjustified::OutOfScope { why } => {
                write!(f, "OUT OF SCOPE of its warrant: {why}")
            }
        }
    }
}

/// The judgement of one release entry.
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseJudgement {
    /// Trustee index.
    pub trustee: u16,
    /// Leaf index.
    pub entry: u64,
    /// Entry time.
    pub time: Timestamp,
    /// Warrant digest.
    pub warrant: WarrantDigest,
    /// Ciphertext digest.
    pub ciphertext: CiphertextDigest,
    /// No reason against it.
    pub justified: bool,
    /// Not justified only because this auditor could not judge it (warrant not disclosed to
    /// it, or no policy): `reasons` are all of that kind.
    #[serde(skip_serializing_if = "core::ops::Not::not")]
    pub not_judged: bool,
    /// The reasons against it, in words (`None` when justified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
    /// The reasons against it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Unjustified>,
}

/// A message that became readable: k or more trustees released a share for it.
#[derive(Clone, Debug, Serialize)]
pub struct ReadableMessage {
    /// Warrant digest.
    pub warrant: WarrantDigest,
    /// Ciphertext digest.
    pub ciphertext: CiphertextDigest,
    /// The trustees that released it.
    pub trustees: Vec<u16>,
    /// The time of the k-th release.
    pub readable_since: Timestamp,
}
