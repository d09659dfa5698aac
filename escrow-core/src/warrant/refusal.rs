//! Refusals: every "no" names a stable reason code and a human sentence.

use serde::{Deserialize, Serialize};

/// The stable reason codes of a warrant or cancellation refusal (`docs/warrants.md` §Reason codes).
///
/// The strings returned by [`ReasonCode::as_str`] (and used by serde) are part of the format:
/// logs, audit reports and other implementations match on them. They never change meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ReasonCode {
    /// A signature does not verify under the key of the authority it names.
    BadSignature,
    /// A signature is by no key in the policy.
    UnknownAuthority,
    /// A signature declares a role other than the one the policy gives its key.
    WrongRole,
    /// A role the policy requires has not signed (e.g. no Judicial Commissioner approval).
    MissingApproval,
    /// The warrant's `not_before` is still in the future (beyond the accepted clock skew).
    NotYetValid,
    /// The warrant's `not_after` has passed.
    Expired,
    /// The warrant runs longer than the policy allows (normal or urgent).
    ValidityTooLong,
    /// The warrant (or the warrant it renews) has been cancelled.
    Cancelled,
    /// The message is outside the warrant's scope (account, time window or message id).
    OutOfScope,
    /// The release limit is reached, or the warrant's limit exceeds the policy's cap.
    ReleaseLimit,
    /// The input could not be parsed or breaks a format rule; the detail names the field.
    Malformed,
}

impl ReasonCode {
    /// Every reason code, in the order of `docs/warrants.md`.
    pub const ALL: [ReasonCode; 11] = [
        ReasonCode::BadSignature,
        ReasonCode::UnknownAuthority,
        ReasonCode::WrongRole,
        ReasonCode::MissingApproval,
        ReasonCode::NotYetValid,
        ReasonCode::Expired,
        ReasonCode::ValidityTooLong,
        ReasonCode::Cancelled,
        ReasonCode::OutOfScope,
        ReasonCode::ReleaseLimit,
        ReasonCode::Malformed,
    ];

    /// The stable kebab-case code, e.g. `missing-approval`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::BadSignature => "bad-signature",
            ReasonCode::UnknownAuthority => "unknown-authority",
            ReasonCode::WrongRole => "wrong-role",
            ReasonCode::MissingApproval => "missing-approval",
            ReasonCode::NotYetValid => "not-yet-valid",
            ReasonCode::Expired => "expired",
            ReasonCode::ValidityTooLong => "validity-too-long",
            ReasonCode::Cancelled => "cancelled",
            ReasonCode::OutOfScope => "out-of-scope",
            ReasonCode::ReleaseLimit => "release-limit",
            ReasonCode::Malformed => "malformed",
        }
    }

    /// One plain-English sentence saying what the code means, for people reading a refusal.
    pub fn sentence(self) -> &'static str {
        match self {
            ReasonCode::BadSignature => {
                "A signature on the document does not verify: it was forged, or the document was altered after signing."
            }
            ReasonCode::UnknownAuthority => {
                "The document carries a signature by a key that this trustee's policy does not recognise."
            }
            ReasonCode::WrongRole => {
                "A key signed in a capacity it does not hold under the policy (e.g. the issuer's key posing as the judge's)."
            }
            ReasonCode::MissingApproval => {
                "Not every role the policy requires has signed: the double lock is not closed."
            }
            ReasonCode::NotYetValid => "The warrant does not take effect yet.",
            ReasonCode::Expired => "The warrant has ceased to have effect.",
            ReasonCode::ValidityTooLong => "The warrant runs for longer than the policy permits.",
            ReasonCode::Cancelled => "The warrant has been cancelled and is dead for good.",
            ReasonCode::OutOfScope => "The message is not covered by the warrant's scope.",
            ReasonCode::ReleaseLimit => {
                "The warrant's release limit is reached, or exceeds what the policy allows."
            }
            ReasonCode::Malformed => "The input does not follow the format.",
        }
    }
}

impl core::fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::str::FromStr for ReasonCode {
    type Err = Refusal;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReasonCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| Refusal::malformed("reason code", format!("unknown reason code {s:?}")))
    }
}

/// A refusal: a stable [`ReasonCode`] and a detail that names the culprit (field, signature,
/// role, time). Displays as `<code>: <detail>`.
///
/// Details never contain secret material, and refusals from scope matching never echo the
/// label's accounts, time or message id (refusals are logged; metadata is sensitive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(deny_unknown_fields)]
#[error("{code}: {detail}")]
pub struct Refusal {
    /// The stable reason code.
    pub code: ReasonCode,
    /// What exactly failed, in words.
    pub detail: String,
}

impl Refusal {
    /// A refusal with `code` and `detail`.
    pub fn new(code: ReasonCode, detail: impl Into<String>) -> Self {
        Refusal {
            code,
            detail: detail.into(),
        }
    }

    /// A `malformed` refusal naming `field`.
    pub fn malformed(field: &str, why: impl core::fmt::Display) -> Self {
        Refusal::new(ReasonCode::Malformed, format!("{field}: {why}"))
    }
}
