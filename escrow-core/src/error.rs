//! Errors of the core library. Every variant names its culprit.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// Everything that can go wrong in the core. Variants name the culprit (which trustee, which
/// field) and never carry secret material.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Trustee-set parameters out of range.
    #[error("invalid trustee-set parameters: {0}")]
    InvalidParameters(String),
    /// A structure could not be decoded.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// The structure or field that failed to decode.
        what: &'static str,
        /// Why.
        why: String,
    },
    /// A format version this build does not understand.
    #[error("unsupported format version {found} for {what} (this build reads version {expected})")]
    UnsupportedVersion {
        /// The structure.
        what: &'static str,
        /// Version found.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// A point failed decoding (not on the curve, identity, wrong length).
    #[error("invalid point in {field}: not a valid non-identity P-256 point")]
    InvalidPoint {
        /// Field holding the point.
        field: &'static str,
    },
    /// A scalar failed decoding (not below the group order, wrong length).
    #[error("invalid scalar in {field}")]
    InvalidScalar {
        /// Field holding the scalar.
        field: &'static str,
    },
    /// A key share failed its Feldman VSS check.
    #[error("key share of trustee {trustee} fails its Feldman VSS check against the trustee set")]
    BadKeyShare {
        /// The trustee index (1-based).
        trustee: u16,
    },
    /// A key share belongs to another trustee set.
    #[error("key share of trustee {trustee} belongs to trustee set {found}, not {expected}")]
    WrongTrusteeSet {
        /// Trustee index.
        trustee: u16,
        /// Set id found on the share (hex).
        found: String,
        /// Set id expected (hex).
        expected: String,
    },
    /// A trustee index that is 0 or above n.
    #[error("trustee index {index} is out of range 1..={n}")]
    TrusteeOutOfRange {
        /// The index found.
        index: u64,
        /// Number of trustees.
        n: u16,
    },
    /// The same trustee appears twice.
    #[error("trustee {0} appears more than once")]
    DuplicateTrustee(u16),
    /// The trustee-set file is inconsistent with its own commitments.
    #[error("trustee set is inconsistent: {0}")]
    InconsistentTrusteeSet(String),
    /// A TDH2 ciphertext failed its public validity check.
    #[error(
        "escrow ciphertext fails its public validity check (TDH2 proof does not bind label and key to u)"
    )]
    BadCiphertextProof,
    /// A ciphertext is for another trustee set.
    #[error("escrow ciphertext is for trustee set {found}, not {expected}")]
    CiphertextForOtherSet {
        /// Set id found (hex).
        found: String,
        /// Set id expected (hex).
        expected: String,
    },
    /// A decryption share failed its DLEQ proof.
    #[error("decryption share from trustee {trustee} fails its DLEQ proof")]
    BadShareProof {
        /// Trustee index.
        trustee: u16,
    },
    /// A decryption share is for another ciphertext or context.
    #[error("decryption share from trustee {trustee} is for another ciphertext or context")]
    ShareForOtherCiphertext {
        /// Trustee index.
        trustee: u16,
    },
    /// A v2 answer's batched DLEQ proof fails: every share in it is rejected.
    #[error(
        "answer of trustee {trustee} fails its batched DLEQ proof: every share in it is rejected"
    )]
    BadAnswerProof {
        /// Trustee index.
        trustee: u16,
    },
    /// A v2 answer is malformed, does not open, or answers another request.
    #[error("answer of trustee {trustee} is refused: {why}")]
    BadAnswer {
        /// Trustee index.
        trustee: u16,
        /// Why.
        why: String,
    },
    /// Not enough valid shares.
    #[error("not enough valid decryption shares: {valid} valid, {threshold} needed{rejected}")]
    NotEnoughShares {
        /// Valid shares.
        valid: usize,
        /// Threshold k.
        threshold: u16,
        /// Description of the rejected shares, if any.
        rejected: String,
    },
    /// Authenticated decryption failed (wrong key, tampered data).
    #[error("authenticated decryption of {what} failed (wrong key or tampered data)")]
    Decrypt {
        /// What was being decrypted.
        what: &'static str,
    },
    /// The recipient's compliance check of a message's escrow header failed.
    #[error("message {message_id} is not escrow-compliant: {why}")]
    NonCompliant {
        /// Message id.
        message_id: String,
        /// Why it was refused.
        why: String,
    },
    /// The recipient's check of a message's label against what the recipient itself knows
    /// (its own account, the sender the transport authenticated, the time of receipt) failed:
    /// the trustees would judge the message by a label that misstates it.
    #[error(
        "message {message_id} is mislabelled: {why} (the trustees match warrants against the label, so a false label dodges escrow)"
    )]
    Mislabelled {
        /// Message id.
        message_id: String,
        /// Every mismatch, joined with "; ".
        why: String,
    },
    /// A signature failed.
    #[error("bad signature on {what}")]
    BadSignature {
        /// What was signed.
        what: String,
    },
    /// A key could not be parsed.
    #[error("invalid key ({what}): {why}")]
    InvalidKey {
        /// Which key.
        what: &'static str,
        /// Why.
        why: String,
    },
    /// A label field is not acceptable.
    #[error("invalid label field {field}: {why}")]
    InvalidLabel {
        /// Field.
        field: &'static str,
        /// Why.
        why: String,
    },
    /// A time value is out of range or unparsable.
    #[error("invalid time {0:?}: expected RFC 3339, e.g. 2026-11-22T09:30:00Z")]
    InvalidTime(String),
    /// Randomness from the operating system was unavailable.
    #[error("the system random number generator failed")]
    Rng,
}

impl Error {
    /// The trustee this error names as the culprit (a bad key share, a share or answer that
    /// fails its proof, a trustee given twice), if any.
    pub fn culprit(&self) -> Option<u16> {
        match self {
            Error::BadKeyShare { trustee }
            | Error::WrongTrusteeSet { trustee, .. }
            | Error::BadShareProof { trustee, .. }
            | Error::ShareForOtherCiphertext { trustee, .. }
            | Error::BadAnswerProof { trustee, .. }
            | Error::BadAnswer { trustee, .. } => Some(*trustee),
            Error::DuplicateTrustee(t) => Some(*t),
            _ => None,
        }
    }

    /// Shorthand for [`Error::Malformed`].
    pub fn malformed(what: &'static str, why: impl ToString) -> Self {
        Error::Malformed {
            what,
            why: why.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn errors_that_name_a_trustee_return_it_as_the_culprit() {
        assert_eq!(Error::BadKeyShare { trustee: 3 }.culprit(), Some(3));
        assert_eq!(Error::DuplicateTrustee(2).culprit(), Some(2));
        assert_eq!(
            Error::BadAnswer {
                trustee: 5,
                why: "x".into()
            }
            .culprit(),
            Some(5)
        );
        assert_eq!(Error::Rng.culprit(), None);
        assert_eq!(Error::malformed("share", "short").culprit(), None);
    }
}
