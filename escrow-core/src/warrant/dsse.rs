//! DSSE, the "Dead Simple Signing Envelope" of in-toto / sigstore
//! (<https://github.com/secure-systems-lab/dsse>), with one extension: a `role` per signature.
//!
//! ```json
//! {"payloadType": "<type>", "payload": "<base64 bytes>",
//!  "signatures": [{"keyid": "<hex>", "sig": "<base64 DER>", "role": "issuer"}]}
//! ```
//!
//! Every signature is ECDSA P-256 / SHA-256 (DER, as OpenSSL writes it) over
//! `PAE(payloadType, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, where `LEN`
//! is the ASCII decimal byte length without leading zeros and `SP` one space (0x20). Nothing is
//! canonicalised: the signed bytes are the payload bytes.
//!
//! Differences from plain DSSE, all in the direction of refusing more:
//! * each signature carries `"role"` (`issuer` or `judicial`), the capacity the signer claims.
//!   It is not covered by the signature; the policy decides a key's role and a mismatch is
//!   refused (`wrong-role`). Standard DSSE tools ignore the field, as DSSE tells them to;
//! * unknown fields are refused (DSSE says to ignore them); so is an envelope with no
//!   signature or with more than [`MAX_SIGNATURES`];
//! * `keyid` is the lower-case hex SHA-256 of the signer's SPKI DER. As in DSSE it is only a hint
//!   to find the key; the signature alone decides.
//!
//! Base64 is read in the standard or URL-safe alphabet, padded or not (DSSE allows either) and
//! written standard and padded.

use super::policy::Role;
use super::refusal::Refusal;
use crate::codec::b64_encode;
use crate::keys::PrivateKey;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most signatures an envelope may carry.
pub const MAX_SIGNATURES: usize = 16;
/// Largest payload, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4 << 20;

/// DSSE's pre-authentication encoding: the exact bytes every signature covers.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let lt = payload_type.len().to_string();
    let lp = payload.len().to_string();
    let mut out = Vec::with_capacity(10 + lt.len() + lp.len() + payload_type.len() + payload.len());
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(lt.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(lp.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Decode base64 in any alphabet DSSE allows: standard or URL-safe, with or without padding.
pub fn b64_decode_lenient(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    STANDARD
        .decode(s)
        .or_else(|_| STANDARD_NO_PAD.decode(s))
        .or_else(|_| URL_SAFE.decode(s))
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
}

mod lenient_b64 {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64_encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        b64_decode_lenient(&s).map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

/// One signature in an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// Hint: lower-case hex SHA-256 of the signer's SPKI DER (may be empty).
    #[serde(default)]
    pub keyid: String,
    /// ECDSA P-256 / SHA-256 signature over the PAE, DER (or 64-byte `r || s`).
    #[serde(with = "lenient_b64")]
    pub sig: Vec<u8>,
    /// The capacity the signer claims (our extension; checked against the policy).
    pub role: Role,
}

/// A DSSE envelope of any payload type. Use [`super::WarrantEnvelope`] or
/// [`super::CancellationEnvelope`], which know their payload type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// What the payload is (authenticated by every signature).
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// The signed bytes.
    #[serde(with = "lenient_b64")]
    pub payload: Vec<u8>,
    /// Signatures over `PAE(payload_type, payload)`.
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    /// An unsigned envelope.
    pub fn new(payload_type: &str, payload: Vec<u8>) -> Self {
        Envelope {
            payload_type: payload_type.to_string(),
            payload,
            signatures: Vec::new(),
        }
    }

    /// The bytes every signature covers.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.payload_type, &self.payload)
    }

    /// Parse JSON and check the structure (sizes, at least one signature). Signatures are not
    /// verified here.
    pub fn from_json(what: &str, s: &str) -> Result<Self, Refusal> {
        let env: Envelope = serde_json::from_str(s).map_err(|e| Refusal::malformed(what, e))?;
        env.check_structure(what)?;
        Ok(env)
    }

    /// Structural rules: 1..=[`MAX_SIGNATURES`] signatures, payload at most
    /// [`MAX_PAYLOAD_BYTES`].
    pub fn check_structure(&self, what: &str) -> Result<(), Refusal> {
        if self.signatures.is_empty() {
            return Err(Refusal::malformed(
                &format!("{what}.signatures"),
                "the envelope carries no signature",
            ));
        }
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(Refusal::malformed(
                &format!("{what}.signatures"),
                format!("more than {MAX_SIGNATURES} signatures"),
            ));
        }
        if self.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Refusal::malformed(
                &format!("{what}.payload"),
                format!("longer than {MAX_PAYLOAD_BYTES} bytes"),
            ));
        }
        Ok(())
    }

    /// Sign the PAE with `key`, claiming `role`, and append the signature. A second signature by
    /// the same key is refused (`malformed`).
    pub fn add_signature(&mut self, key: &PrivateKey, role: Role) -> Result<(), Refusal> {
        let keyid = key.public().key_id().to_hex();
        if self
            .signatures
            .iter()
            .any(|s| s.keyid.eq_ignore_ascii_case(&keyid))
        {
            return Err(Refusal::malformed(
                "signatures",
                format!("key {keyid} has already signed this envelope"),
            ));
        }
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(Refusal::malformed(
                "signatures",
                format!("more than {MAX_SIGNATURES} signatures"),
            ));
        }
        let sig = key.sign(&self.pae());
        self.signatures.push(EnvelopeSignature { keyid, sig, role });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn base64_alphabets() {
        let bytes = [0xfbu8, 0xff, 0x01];
        assert_eq!(b64_decode_lenient("+/8B").unwrap(), bytes);
        assert_eq!(b64_decode_lenient("-_8B").unwrap(), bytes);
        assert_eq!(b64_decode_lenient("AQ==").unwrap(), [1]);
        assert_eq!(b64_decode_lenient("AQ").unwrap(), [1]);
        assert!(b64_decode_lenient("A*==").is_err());
    }

    #[test]
    fn envelope_rejects_unknown_fields_and_empty_signatures() {
        let ok = r#"{"payloadType":"t","payload":"AQ==","signatures":[{"keyid":"","sig":"AQ==","role":"issuer"}]}"#;
        assert!(Envelope::from_json("e", ok).is_ok());
        let extra = r#"{"payloadType":"t","payload":"AQ==","signatures":[],"x":1}"#;
        assert!(Envelope::from_json("e", extra).is_err());
        let none = r#"{"payloadType":"t","payload":"AQ==","signatures":[]}"#;
        assert!(Envelope::from_json("e", none).is_err());
        let sig_extra = r#"{"payloadType":"t","payload":"AQ==","signatures":[{"keyid":"","sig":"AQ==","role":"issuer","x":1}]}"#;
        assert!(Envelope::from_json("e", sig_extra).is_err());
        let bad_role = r#"{"payloadType":"t","payload":"AQ==","signatures":[{"keyid":"","sig":"AQ==","role":"judge"}]}"#;
        assert!(Envelope::from_json("e", bad_role).is_err());
    }
}
