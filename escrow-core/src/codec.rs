//! Serialization helpers shared by every format: format versions, hex digests, base64 bytes.
//!
//! Every serialized structure starts with a `"version"` field whose type is [`FormatVersion`],
//! which decodes only the one version this build understands; structures also use
//! `#[serde(deny_unknown_fields)]`.

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use sha2::{Digest as _, Sha256};

/// A format version that must equal `N` exactly. Serializes as the number `N`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FormatVersion<const N: u32>;

impl<const N: u32> FormatVersion<N> {
    /// The version number.
    pub const NUMBER: u32 = N;
}

impl<const N: u32> Serialize for FormatVersion<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(N)
    }
}

impl<'de, const N: u32> Deserialize<'de> for FormatVersion<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u32::deserialize(d)?;
        if v == N {
            Ok(FormatVersion)
        } else {
            Err(de::Error::custom(format!(
                "unsupported format version {v} (this build reads version {N})"
            )))
        }
    }
}

/// Version 1 of a format.
pub type V1 = FormatVersion<1>;

/// A SHA-256 digest (or any 32-byte identifier), hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest32(pub [u8; 32]);

impl Digest32 {
    /// SHA-256 of `parts` with a length-prefixed domain-separation tag:
    /// `SHA-256(len(tag) as u8 || tag || parts...)`.
    pub fn tagged(tag: &str, parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        h.update([tag.len() as u8]);
        h.update(tag.as_bytes());
        for p in parts {
            h.update(p);
        }
        Digest32(h.finalize().into())
    }

    /// Plain SHA-256 of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Self {
        Digest32(Sha256::digest(bytes).into())
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// First 8 bytes in hex, for display.
    pub fn short(&self) -> String {
        hex::encode(self.0.get(..8).unwrap_or_default())
    }

    /// Parse exactly 64 lower-case hex digits (upper case is refused: one digest, one
    /// spelling).
    pub fn from_hex(s: &str) -> Option<Self> {
        let b = hex_lower(s)?;
        Some(Digest32(b.try_into().ok()?))
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl core::fmt::Debug for Digest32 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Digest32({})", self.to_hex())
    }
}

impl core::fmt::Display for Digest32 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Digest32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest32::from_hex(&s)
            .ok_or_else(|| de::Error::custom("expected 64 lower-case hex digits (32 bytes)"))
    }
}

/// Decode lower-case hex (digits `0-9a-f`, even length); `None` for anything else, upper-case
/// digits included. Every hex field of every format is read with this (`docs/protocol.md` §2).
pub fn hex_lower(s: &str) -> Option<Vec<u8>> {
    if !s
        .bytes()
        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        return None;
    }
    hex::decode(s).ok()
}

/// Standard base64 (RFC 4648, with padding).
pub fn b64_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decode standard base64 (RFC 4648, with padding).
pub fn b64_decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    base64::engine::general_purpose::STANDARD.decode(s)
}

/// `#[serde(with = "codec::b64")]` for `Vec<u8>` fields.
pub mod b64 {
    use serde::{Deserialize, Deserializer, Serializer, de};

    /// Serialize as standard base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::b64_encode(bytes))
    }

    /// Deserialize standard base64.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        super::b64_decode(&s).map_err(|e| de::Error::custom(format!("invalid base64: {e}")))
    }
}

/// Append a field with a 4-byte big-endian length prefix: `len(x) as u32 BE || x`.
pub fn put_lp(out: &mut Vec<u8>, x: &[u8]) {
    out.extend_from_slice(&(x.len() as u32).to_be_bytes());
    out.extend_from_slice(x);
}

/// Parse a JSON document into `T`, mapping the error to [`crate::Error::Malformed`].
pub fn from_json<T: serde::de::DeserializeOwned>(what: &'static str, s: &str) -> crate::Result<T> {
    serde_json::from_str(s).map_err(|e| crate::Error::malformed(what, e))
}

/// Serialize to compact JSON. Our types contain only strings, numbers and maps with string
/// keys, for which serde_json cannot fail; should it ever, the error is returned as text.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Serialize to indented JSON (for files people read).
pub fn to_json_pretty<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
