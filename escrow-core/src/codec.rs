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
        self.hex_digits().iter().map(|&b| char::from(b)).collect()
    }

    /// The 64 lower-case hex digits as ASCII bytes, without an allocation (an auditor's
    /// report writes two digests per release entry: `docs/experiments.md` §7.3).
    fn hex_digits(&self) -> [u8; 64] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (pair, b) in out.chunks_exact_mut(2).zip(self.0) {
            if let [hi, lo] = pair {
                *hi = DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                *lo = DIGITS.get(usize::from(b & 15)).copied().unwrap_or(b'0');
            }
        }
        out
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
        let digits = self.hex_digits();
        s.serialize_str(core::str::from_utf8(&digits).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for Digest32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest32::from_hex(&s)
            .ok_or_else(|| de::Error::custom("expected 64 lower-case hex digits (32 bytes)"))
    }
}

/// A 32-byte identifier of one kind, distinct from every other kind: a [`Digest32`] in a
/// newtype of its own, so that a set id cannot be passed where a key id is expected. Serialized
/// exactly as [`Digest32`] (64 lower-case hex digits in JSON; the 32 bytes in binary formats),
/// so the types change no format. Made only where such a digest is computed (inside this
/// crate) or parsed from a file or the wire ([`from_hex`](Digest32::from_hex), `from_bytes`).
macro_rules! digest_kind {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Digest32);

        impl $name {
            /// Wrap a digest computed by this crate as this kind.
            #[allow(dead_code)]
            pub(crate) const fn from_digest(d: Digest32) -> Self {
                $name(d)
            }

            /// Parse 32 bytes read from a binary format or the wire.
            pub const fn from_bytes(bytes: [u8; 32]) -> Self {
                $name(Digest32(bytes))
            }

            /// Parse exactly 64 lower-case hex digits (as [`Digest32::from_hex`]).
            pub fn from_hex(s: &str) -> Option<Self> {
                Digest32::from_hex(s).map($name)
            }

            /// Lower-case hex.
            pub fn to_hex(&self) -> String {
                self.0.to_hex()
            }

            /// First 8 bytes in hex, for display.
            pub fn short(&self) -> String {
                self.0.short()
            }

            /// The bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                self.0.as_bytes()
            }

            /// The same 32 bytes as a generic digest (for hashing it into something else).
            pub const fn digest(&self) -> Digest32 {
                self.0
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.to_hex())
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(&self.0, f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Digest32::deserialize(d).map($name)
            }
        }
    };
}

digest_kind!(
    /// The key id of a P-256 public key: SHA-256 of its SPKI DER encoding
    /// ([`crate::keys::PublicKey::key_id`]).
    KeyId
);

digest_kind!(
    /// The digest of a warrant: tagged SHA-256 over its envelope's PAE, independent of the
    /// signatures ([`crate::warrant::WarrantDigest::of_envelope`]).
    WarrantDigest
);

digest_kind!(
    /// The digest of an escrow ciphertext (either format version): tagged SHA-256 over its
    /// canonical bytes (`EscrowCiphertext::digest`, `EscrowCiphertextV2::digest`; for a v2
    /// request item as sent, `v2::release::item_digest`).
    CiphertextDigest
);

digest_kind!(
    /// The id of a trustee set: a tagged digest of every public value of the set
    /// ([`crate::trustee::TrusteeSet::id`]).
    SetId
);

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

/// `#[serde(default, skip_serializing_if = "Option::is_none", with = "codec::b64_opt")]` for
/// `Option<Vec<u8>>` fields.
pub mod b64_opt {
    use serde::{Deserialize, Deserializer, Serializer, de};

    /// Serialize as standard base64 (the field is skipped when `None`).
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&super::b64_encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Deserialize standard base64.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s = String::deserialize(d)?;
        super::b64_decode(&s)
            .map(Some)
            .map_err(|e| de::Error::custom(format!("invalid base64: {e}")))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_digest_is_written_as_the_hex_crate_writes_it() {
        for d in [
            Digest32([0; 32]),
            Digest32([0xff; 32]),
            Digest32(core::array::from_fn(|i| i as u8 * 8 + 7)),
            Digest32::sha256(b"abc"),
        ] {
            assert_eq!(d.to_hex(), hex::encode(d.0));
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", hex::encode(d.0))
            );
            assert_eq!(Digest32::from_hex(&d.to_hex()), Some(d));
        }
    }

    /// Checks that the digest kind `$kind` reads and writes exactly what a `Digest32` does
    /// (JSON, hex, bytes), prints the same text, and refuses what `Digest32` refuses.
    macro_rules! same_form_as_digest32 {
        ($kind:ident) => {{
            let d = Digest32::tagged("test", &[stringify!($kind).as_bytes()]);
            let hex = d.to_hex();
            let json = serde_json::to_string(&d).unwrap();
            let k = $kind::from_hex(&hex).unwrap();
            assert_eq!(serde_json::to_string(&k).unwrap(), json);
            assert_eq!(serde_json::from_str::<$kind>(&json).unwrap(), k);
            assert_eq!($kind::from_bytes(d.0), k);
            assert_eq!(k.digest(), d);
            assert_eq!(k.as_bytes(), d.as_bytes());
            assert_eq!(k.to_string(), d.to_string());
            assert_eq!(k.short(), d.short());
            assert_eq!(format!("{k:?}"), format!("{}({hex})", stringify!($kind)));
            assert!($kind::from_hex(&hex.to_uppercase()).is_none());
            assert!(serde_json::from_str::<$kind>("\"00\"").is_err());
        }};
    }

    /// The distinct digest kinds change no format (the known-answer vectors check the same
    /// for every format that carries them).
    #[test]
    fn digest_kinds_serialize_exactly_as_digest32() {
        same_form_as_digest32!(KeyId);
        same_form_as_digest32!(WarrantDigest);
        same_form_as_digest32!(SetId);
        same_form_as_digest32!(CiphertextDigest);
    }
}
