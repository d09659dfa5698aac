//! The signed documents: the warrant payload and the cancellation payload (JSON, version 1,
//! unknown fields refused), and the rules each field must follow.

use super::refusal::Refusal;
use super::scope::Scope;
use crate::codec::{V1, WarrantDigest};
use crate::keys::PublicKey;
use crate::label::{MAX_ACCOUNT_LEN, MAX_MESSAGE_ID_LEN};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Longest warrant id, in bytes.
pub const MAX_WARRANT_ID_LEN: usize = 128;
/// Longest short text field (case reference, warrant type, issuing authority), in bytes.
pub const MAX_SHORT_TEXT_LEN: usize = 256;
/// Longest long text field (legal basis, cancellation reason), in bytes.
pub const MAX_LONG_TEXT_LEN: usize = 4096;
/// Most target accounts in a scope.
pub const MAX_TARGETS: usize = 1024;
/// Most explicit message ids in a scope.
pub const MAX_MESSAGE_IDS: usize = 65_536;

/// The warrant, as signed. Field order here is the order `escrow` writes; readers must not
/// depend on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarrantPayload {
    /// Format version, `1`.
    pub version: V1,
    /// Unique id of this warrant (letters, digits, `.`, `_`, `-`; at most 128 bytes).
    pub warrant_id: String,
    /// The case or operation reference.
    pub case_reference: String,
    /// The kind of warrant, free text (IPA 2016 s.31(1): e.g. `targeted-interception`).
    pub warrant_type: String,
    /// The legal basis, free text (e.g. `IPA 2016 s.15(2)`).
    pub legal_basis: String,
    /// Who issues it, free text (e.g. `Secretary of State for the Home Department`).
    pub issuing_authority: String,
    /// Which messages it covers.
    pub scope: Scope,
    /// The investigator that receives the decryption shares: SPKI PEM of a P-256 key.
    pub investigator_key: String,
    /// Takes effect at (inclusive).
    pub not_before: Timestamp,
    /// Ceases to have effect at (exclusive).
    pub not_after: Timestamp,
    /// Most distinct messages that may be released under it; absent means no limit of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_releases: Option<u64>,
    /// Issued as urgent (IPA 2016 s.24): shorter longest validity.
    #[serde(default)]
    pub urgent: bool,
    /// The warrant this one renews (IPA 2016 s.33), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_warrant_id: Option<String>,
}

/// A statement, signed by an issuer or judicial authority, that a warrant is cancelled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancellationPayload {
    /// Format version, `1`.
    pub version: V1,
    /// The warrant id that is cancelled (and, with it, every renewal naming it as parent).
    pub warrant_id: String,
    /// Digest of the warrant envelope the canceller saw (informational: the id is what counts).
    pub warrant_digest: WarrantDigest,
    /// When the cancellation was made. It takes effect when a trustee sees it, whatever this says.
    pub cancelled_at: Timestamp,
    /// Why, free text (may be empty).
    #[serde(default)]
    pub reason: String,
}

fn check_text(field: &str, s: &str, max: usize, allow_empty: bool) -> Result<(), Refusal> {
    if s.is_empty() && !allow_empty {
        return Err(Refusal::malformed(field, "must not be empty"));
    }
    if s.len() > max {
        return Err(Refusal::malformed(
            field,
            format!("longer than {max} bytes"),
        ));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(Refusal::malformed(field, "contains control characters"));
    }
    Ok(())
}

/// An identifier: 1..=`max` bytes of ASCII letters, digits, `.`, `_`, `-`.
pub(crate) fn check_id(field: &str, s: &str, max: usize) -> Result<(), Refusal> {
    if s.is_empty() || s.len() > max {
        return Err(Refusal::malformed(
            field,
            format!("length must be 1..={max} bytes"),
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(Refusal::malformed(
            field,
            "only letters, digits, '.', '_' and '-' are allowed",
        ));
    }
    Ok(())
}

/// An account name, with the same rules as the label's sender and recipient.
pub(crate) fn check_account(field: &str, s: &str) -> Result<(), Refusal> {
    check_text(field, s, MAX_ACCOUNT_LEN, false)
}

fn check_unique(field: &str, items: &[String]) -> Result<(), Refusal> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, s) in items.iter().enumerate() {
        if !seen.insert(s.as_str()) {
            return Err(Refusal::malformed(
                &format!("{field}[{i}]"),
                "appears more than once",
            ));
        }
    }
    Ok(())
}

impl WarrantPayload {
    /// Check every field rule and parse the investigator key. Every failure is `malformed` and
    /// names the field (`warrant.scope.targets[2]`, ...).
    pub fn check(&self) -> Result<PublicKey, Refusal> {
        check_id("warrant.warrant_id", &self.warrant_id, MAX_WARRANT_ID_LEN)?;
        check_text(
            "warrant.case_reference",
            &self.case_reference,
            MAX_SHORT_TEXT_LEN,
            false,
        )?;
        check_text(
            "warrant.warrant_type",
            &self.warrant_type,
            MAX_SHORT_TEXT_LEN,
            false,
        )?;
        check_text(
            "warrant.legal_basis",
            &self.legal_basis,
            MAX_LONG_TEXT_LEN,
            false,
        )?;
        check_text(
            "warrant.issuing_authority",
            &self.issuing_authority,
            MAX_SHORT_TEXT_LEN,
            false,
        )?;
        self.scope.check_rules()?;
        let investigator = PublicKey::from_pem(&self.investigator_key)
            .map_err(|e| Refusal::malformed("warrant.investigator_key", e))?;
        if self.not_before >= self.not_after {
            return Err(Refusal::malformed(
                "warrant.not_after",
                format!(
                    "must be later than not_before ({} is not after {})",
                    self.not_after, self.not_before
                ),
            ));
        }
        if self.max_releases == Some(0) {
            return Err(Refusal::malformed(
                "warrant.max_releases",
                "must be at least 1 when given (a warrant that allows nothing is a mistake)",
            ));
        }
        if let Some(p) = &self.parent_warrant_id {
            check_id("warrant.parent_warrant_id", p, MAX_WARRANT_ID_LEN)?;
            if p == &self.warrant_id {
                return Err(Refusal::malformed(
                    "warrant.parent_warrant_id",
                    "a warrant cannot renew itself",
                ));
            }
        }
        Ok(investigator)
    }

    /// Validity length in seconds (`not_after - not_before`).
    pub fn validity_secs(&self) -> i128 {
        i128::from(self.not_after.0) - i128::from(self.not_before.0)
    }

    /// When a warrant issued without an end ceases to have effect: the default policy's
    /// longest validity after `not_before` (183 days; 5 days if urgent).
    pub fn default_not_after(not_before: Timestamp, urgent: bool) -> Timestamp {
        let secs = if urgent {
            super::DEFAULT_MAX_URGENT_VALIDITY_SECS
        } else {
            super::DEFAULT_MAX_VALIDITY_SECS
        };
        not_before.plus(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// A fresh warrant id: `w-` and 24 random hex digits.
    pub fn random_id<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> String {
        let mut b = [0u8; 12];
        rng.fill_bytes(&mut b);
        format!("w-{}", hex::encode(b))
    }
}

impl Scope {
    /// The scope's format rules: at least one target or message id, well-formed and unique
    /// entries, within the size caps, and a non-empty window.
    pub fn check_rules(&self) -> Result<(), Refusal> {
        if self.targets.is_empty() && self.message_ids.is_empty() {
            return Err(Refusal::malformed(
                "warrant.scope",
                "names no target account and no message id (an empty scope never means 'everything')",
            ));
        }
        if self.targets.len() > MAX_TARGETS {
            return Err(Refusal::malformed(
                "warrant.scope.targets",
                format!("more than {MAX_TARGETS} entries"),
            ));
        }
        if self.message_ids.len() > MAX_MESSAGE_IDS {
            return Err(Refusal::malformed(
                "warrant.scope.message_ids",
                format!("more than {MAX_MESSAGE_IDS} entries"),
            ));
        }
        for (i, t) in self.targets.iter().enumerate() {
            check_account(&format!("warrant.scope.targets[{i}]"), t)?;
        }
        for (i, m) in self.message_ids.iter().enumerate() {
            check_id(
                &format!("warrant.scope.message_ids[{i}]"),
                m,
                MAX_MESSAGE_ID_LEN,
            )?;
        }
        check_unique("warrant.scope.targets", &self.targets)?;
        check_unique("warrant.scope.message_ids", &self.message_ids)?;
        if self.window.from >= self.window.until {
            return Err(Refusal::malformed(
                "warrant.scope.window",
                format!(
                    "from ({}) must be earlier than until ({})",
                    self.window.from, self.window.until
                ),
            ));
        }
        Ok(())
    }
}

impl CancellationPayload {
    /// The cancellation of `warrant` (its id, and the digest of the envelope the canceller
    /// saw), made at `cancelled_at`.
    pub fn of(warrant: &super::Warrant, cancelled_at: Timestamp, reason: String) -> Self {
        CancellationPayload {
            version: V1::default(),
            warrant_id: warrant.id().to_string(),
            warrant_digest: warrant.digest(),
            cancelled_at,
            reason,
        }
    }

    /// Check every field rule (`malformed`, naming the field).
    pub fn check(&self) -> Result<(), Refusal> {
        check_id(
            "cancellation.warrant_id",
            &self.warrant_id,
            MAX_WARRANT_ID_LEN,
        )?;
        check_text("cancellation.reason", &self.reason, MAX_LONG_TEXT_LEN, true)?;
        Ok(())
    }
}

/// Parse a payload's JSON bytes (UTF-8, unknown fields refused).
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    what: &str,
    bytes: &[u8],
) -> Result<T, Refusal> {
    let s = core::str::from_utf8(bytes).map_err(|_| Refusal::malformed(what, "not UTF-8"))?;
    serde_json::from_str(s).map_err(|e| Refusal::malformed(what, e))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_of_a_new_warrant() {
        let t = Timestamp::from_unix(1_780_000_000);
        assert_eq!(
            WarrantPayload::default_not_after(t, false),
            t.plus(183 * 86_400)
        );
        assert_eq!(
            WarrantPayload::default_not_after(t, true),
            t.plus(5 * 86_400)
        );
        let mut rng = rand::rng();
        let (a, b) = (
            WarrantPayload::random_id(&mut rng),
            WarrantPayload::random_id(&mut rng),
        );
        assert!(a.starts_with("w-") && a.len() == 26 && a != b, "{a} {b}");
        check_id("warrant.warrant_id", &a, MAX_WARRANT_ID_LEN).unwrap();
    }
}
