//! Optional unsealing (issue 16): the oversight body publishes a signed **disclosure** of a
//! warrant — e.g. after the investigation closed — and the public audit verifies it against the
//! logs and shows it (`escrow oversight disclose`, `escrow audit --public --disclosure F`).
//!
//! A disclosure is a small JSON file (`docs/protocol.md` §19):
//!
//! ```text
//! { "version": 1, "payload": base64(payload JSON), "key_id": hex, "signature": base64(DER) }
//! payload = { "version": 1, "policy": hex, "warrant_digest": hex, "warrant": envelope JSON,
//!             "disclosed_at": RFC 3339, "statement": text }
//! signature = ECDSA P-256 / SHA-256 over PAE(DISCLOSURE_PAYLOAD_TYPE, payload)   (DSSE v1)
//! ```
//!
//! It verifies ([`Disclosure::verify`]) when the payload names the policy given, the key is an
//! oversight key of that policy, the signature holds, and the warrant envelope inside has the
//! digest the payload names. The auditor adds the last check: that digest is in an audited log
//! (`audit::judge`). Anything else is a `bad-disclosure` finding, never a silent omission.

use crate::codec::WarrantDigest;
use crate::codec::{Digest32, KeyId, V1};
use crate::keys::PrivateKey;
use crate::time::Timestamp;
use crate::warrant::{Policy, Warrant, WarrantEnvelope, pae};
use serde::{Deserialize, Serialize};

/// DSSE payload type the signature covers.
pub const DISCLOSURE_PAYLOAD_TYPE: &str = "application/vnd.escrow.disclosure.v1+json";
/// Longest statement, bytes.
pub const MAX_STATEMENT: usize = 4096;
/// Largest disclosure file, bytes (a warrant envelope of the largest payload, base64, twice).
pub const MAX_DISCLOSURE_BYTES: usize = 16 << 20;

/// What the oversight body signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosurePayload {
    /// Format version (1).
    pub version: V1,
    /// Digest of the policy whose oversight key signs.
    pub policy: Digest32,
    /// Digest of the disclosed warrant envelope (as logged).
    pub warrant_digest: WarrantDigest,
    /// The warrant envelope, compact JSON.
    pub warrant: String,
    /// When it was disclosed.
    pub disclosed_at: Timestamp,
    /// Why, in words (e.g. "investigation closed").
    pub statement: String,
}

/// A signed disclosure (the file `escrow oversight disclose` writes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosure {
    /// Format version (1).
    pub version: V1,
    /// The payload's JSON bytes.
    #[serde(with = "crate::codec::b64")]
    pub payload: Vec<u8>,
    /// Key id of the oversight key that signed (SHA-256 of its SPKI DER).
    pub key_id: KeyId,
    /// ECDSA P-256 / SHA-256 signature over `PAE(DISCLOSURE_PAYLOAD_TYPE, payload)`, DER.
    #[serde(with = "crate::codec::b64")]
    pub signature: Vec<u8>,
}

/// Why a disclosure does not verify (each names what is wrong).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisclosureError {
    /// The file or its payload does not parse.
    #[error("not a disclosure: {0}")]
    Malformed(String),
    /// It was made under another policy.
    #[error("made under policy {found}, not the policy given ({expected})")]
    OtherPolicy {
        /// The policy the disclosure names.
        found: String,
        /// The policy given.
        expected: String,
    },
    /// The signing key is not an oversight key of the policy.
    #[error("signed by key {0}, which the policy does not name for oversight")]
    NotOversight(String),
    /// The signature does not verify under the oversight key.
    #[error("the signature does not verify under oversight key {0} (forged or altered)")]
    BadSignature(String),
    /// The warrant inside is not the one the payload names.
    #[error("the warrant inside has digest {found}, the disclosure names {named}")]
    WarrantMismatch {
        /// The digest of the envelope inside.
        found: String,
        /// The digest the payload names.
        named: String,
    },
    /// The warrant inside is not a warrant.
    #[error("the warrant inside does not parse: {0}")]
    BadWarrant(String),
    /// The statement is too long.
    #[error("the statement is longer than {MAX_STATEMENT} bytes")]
    StatementTooLong,
}

/// A disclosure whose signature, key and warrant checked out against a policy.
#[derive(Clone, Debug)]
pub struct VerifiedDisclosure {
    /// The payload.
    pub payload: DisclosurePayload,
    /// The warrant disclosed.
    pub warrant: Warrant,
    /// The oversight key that signed.
    pub signer: KeyId,
}

impl Disclosure {
    /// Sign a disclosure of `warrant` under `policy` with the oversight key `key` (refused if
    /// the policy does not name it for oversight).
    pub fn sign(
        key: &PrivateKey,
        policy: &Policy,
        warrant: &WarrantEnvelope,
        disclosed_at: Timestamp,
        statement: &str,
    ) -> Result<Disclosure, DisclosureError> {
        let key_id = key.public().key_id();
        if policy.oversight_key(&key_id).is_none() {
            return Err(DisclosureError::NotOversight(key_id.short()));
        }
        if statement.len() > MAX_STATEMENT {
            return Err(DisclosureError::StatementTooLong);
        }
        Warrant::parse(warrant).map_err(|r| DisclosureError::BadWarrant(r.to_string()))?;
        let payload = DisclosurePayload {
            version: V1::default(),
            policy: policy.digest(),
            warrant_digest: warrant.digest(),
            warrant: warrant.to_json(),
            disclosed_at,
            statement: statement.to_string(),
        };
        let payload = crate::codec::to_json(&payload).into_bytes();
        let signature = key.sign(&pae(DISCLOSURE_PAYLOAD_TYPE, &payload));
        Ok(Disclosure {
            version: V1::default(),
            payload,
            key_id,
            signature,
        })
    }

    /// Parse a disclosure file (unknown fields refused).
    pub fn from_json(s: &str) -> Result<Disclosure, DisclosureError> {
        if s.len() > MAX_DISCLOSURE_BYTES {
            return Err(DisclosureError::Malformed("too large".into()));
        }
        serde_json::from_str(s).map_err(|e| DisclosureError::Malformed(e.to_string()))
    }

    /// The file (indented JSON).
    pub fn to_json_pretty(&self) -> String {
        crate::codec::to_json_pretty(self)
    }

    /// Verify against `policy`: the payload parses and names `policy`, the key is one of its
    /// oversight keys, the signature holds, the warrant inside has the digest named.
    pub fn verify(&self, policy: &Policy) -> Result<VerifiedDisclosure, DisclosureError> {
        let oversight = policy
            .oversight_key(&self.key_id)
            .ok_or_else(|| DisclosureError::NotOversight(self.key_id.short()))?;
        oversight
            .key
            .verify(
                &pae(DISCLOSURE_PAYLOAD_TYPE, &self.payload),
                &self.signature,
                "disclosure",
            )
            .map_err(|_| DisclosureError::BadSignature(self.key_id.short()))?;
        let payload: DisclosurePayload = serde_json::from_slice(&self.payload)
            .map_err(|e| DisclosureError::Malformed(format!("payload: {e}")))?;
        if payload.policy != policy.digest() {
            return Err(DisclosureError::OtherPolicy {
                found: payload.policy.short(),
                expected: policy.digest().short(),
            });
        }
        if payload.statement.len() > MAX_STATEMENT {
            return Err(DisclosureError::StatementTooLong);
        }
        let env = WarrantEnvelope::from_json(&payload.warrant)
            .map_err(|r| DisclosureError::BadWarrant(r.to_string()))?;
        if env.digest() != payload.warrant_digest {
            return Err(DisclosureError::WarrantMismatch {
                found: env.digest().short(),
                named: payload.warrant_digest.short(),
            });
        }
        let warrant =
            Warrant::parse(&env).map_err(|r| DisclosureError::BadWarrant(r.to_string()))?;
        Ok(VerifiedDisclosure {
            payload,
            warrant,
            signer: self.key_id,
        })
    }
}

/// A verified disclosure as the public view shows it: the warrant's text, unsealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureView {
    /// Where it came from (the file name given).
    pub source: String,
    /// The warrant's envelope digest (as logged).
    pub warrant: WarrantDigest,
    /// The oversight key that signed.
    pub signed_by: KeyId,
    /// When it was disclosed.
    pub disclosed_at: Timestamp,
    /// Why.
    pub statement: String,
    /// Warrant id.
    pub warrant_id: String,
    /// Case reference.
    pub case_reference: String,
    /// Issuing authority.
    pub authority: String,
    /// Warrant type.
    pub warrant_type: String,
    /// Scope: targets, message ids, window.
    pub scope: String,
    /// Validity.
    pub validity: String,
}

impl DisclosureView {
    /// The view of `d`, read from `source`.
    pub fn of(source: &str, d: &VerifiedDisclosure) -> Self {
        let p = d.warrant.payload();
        DisclosureView {
            source: source.to_string(),
            warrant: d.payload.warrant_digest,
            signed_by: d.signer,
            disclosed_at: d.payload.disclosed_at,
            statement: d.payload.statement.clone(),
            warrant_id: p.warrant_id.clone(),
            case_reference: p.case_reference.clone(),
            authority: p.issuing_authority.clone(),
            warrant_type: p.warrant_type.clone(),
            scope: crate::warrant::describe::scope_words(&p.scope),
            validity: format!("{} to {}", p.not_before, p.not_after),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::warrant::Role;

    #[test]
    fn a_disclosure_verifies_only_as_signed_by_an_oversight_key_of_the_policy() {
        let mut rng = rand::rng();
        let issuer = PrivateKey::generate(&mut rng);
        let judge = PrivateKey::generate(&mut rng);
        let oversight = PrivateKey::generate(&mut rng);
        let policy =
            crate::test_fixtures::double_lock_policy_with_oversight(&issuer, &judge, &oversight);
        let other = crate::test_fixtures::double_lock_policy(&issuer, &judge);
        let w = crate::test_fixtures::signed_warrant(&issuer, &judge, "w-1", "OP-1");
        let d =
            Disclosure::sign(&oversight, &policy, &w, Timestamp(1_800_000_000), "closed").unwrap();
        let back = Disclosure::from_json(&d.to_json_pretty()).unwrap();
        let v = back.verify(&policy).unwrap();
        assert_eq!(v.payload.warrant_digest, w.digest());
        assert_eq!(v.warrant.id(), "w-1");
        // Another policy: its oversight keys do not include the signer.
        assert_eq!(
            back.verify(&other).unwrap_err(),
            DisclosureError::NotOversight(oversight.public().key_id().short())
        );
        // Not an oversight key: refused at signing.
        assert!(matches!(
            Disclosure::sign(&issuer, &policy, &w, Timestamp(0), ""),
            Err(DisclosureError::NotOversight(_))
        ));
        // The payload altered after signing (a forged statement).
        let mut forged = d.clone();
        let mut p: DisclosurePayload = serde_json::from_slice(&forged.payload).unwrap();
        p.statement = "nothing to see".into();
        forged.payload = crate::codec::to_json(&p).into_bytes();
        assert!(matches!(
            forged.verify(&policy),
            Err(DisclosureError::BadSignature(_))
        ));
        // Signed, but the warrant inside is another than the digest named.
        let w2 = crate::test_fixtures::signed_warrant(&issuer, &judge, "w-2", "OP-2");
        let mut p: DisclosurePayload = serde_json::from_slice(&d.payload).unwrap();
        p.warrant = w2.to_json();
        let payload = crate::codec::to_json(&p).into_bytes();
        let mismatched = Disclosure {
            signature: oversight.sign(&pae(DISCLOSURE_PAYLOAD_TYPE, &payload)),
            payload,
            ..d.clone()
        };
        assert!(matches!(
            mismatched.verify(&policy),
            Err(DisclosureError::WarrantMismatch { .. })
        ));
        // Unknown fields are refused.
        let mut j: serde_json::Value = serde_json::from_str(&d.to_json_pretty()).unwrap();
        j["extra"] = serde_json::json!(1);
        assert!(matches!(
            Disclosure::from_json(&j.to_string()),
            Err(DisclosureError::Malformed(_))
        ));
        let _ = Role::Issuer;
    }
}
