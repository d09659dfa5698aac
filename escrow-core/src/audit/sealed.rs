//! An oversight copy as a log entry carries it: its recipients, its body and its strict byte
//! encoding (`docs/protocol.md` §17). A leaf below `audit::entry` (which carries one) and
//! `audit::oversight` (which seals and opens one: [`Sealed::seal`], [`Sealed::open`]).

use crate::bounds::{
    MAX_SEALED_DOCUMENT, MAX_SEALED_RECIPIENTS, RECIPIENT_LEN, TAG_LEN, WRAPPED_KEY_LEN,
};
use crate::codec::KeyId;
use crate::error::{Error, Result};
use crate::group::Point;
use serde::{Deserialize, Serialize};

/// The data key wrapped to one oversight key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedRecipient {
    /// Key id of the oversight key (SHA-256 of its SPKI DER).
    pub key_id: KeyId,
    /// The ephemeral ECIES public key, as logged (decoded when the copy is opened).
    pub ephemeral: EphemeralKey,
    /// The wrapped data key (48 bytes).
    #[serde(with = "crate::codec::b64")]
    pub wrapped: Vec<u8>,
}

/// The ephemeral ECIES public key of one recipient, as logged: the 33 bytes of a compressed
/// SEC1 point. Decoding a compressed point costs a square root in the field, so an entry is
/// decoded without it (only the length and the prefix byte are checked) and the point is
/// decoded when the copy is opened ([`Sealed::open`]: a key that is not a point of P-256 is
/// [`OpenError::Decrypt`](super::OpenError::Decrypt)). An auditor without an oversight key therefore reads a copy's
/// layout only, never its contents (`docs/audit.md` §5).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EphemeralKey([u8; 33]);

impl EphemeralKey {
    /// The logged bytes: 33, starting with `0x02` or `0x03` (not yet decoded).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        match (<[u8; 33]>::try_from(bytes), bytes.first()) {
            (Ok(b), Some(0x02 | 0x03)) => Ok(EphemeralKey(b)),
            _ => Err(Error::InvalidPoint {
                field: "oversight ephemeral key",
            }),
        }
    }

    /// The 33 bytes as logged.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }

    /// The point (refused when not on the curve).
    pub fn point(&self) -> Result<Point> {
        Point::from_bytes(&self.0, "oversight ephemeral key")
    }
}

impl From<Point> for EphemeralKey {
    fn from(p: Point) -> Self {
        EphemeralKey(p.to_bytes())
    }
}

impl core::fmt::Debug for EphemeralKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "EphemeralKey({})", hex::encode(self.0))
    }
}

/// The same JSON as [`Point`]: lower-case hex of the compressed point.
impl Serialize for EphemeralKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

/// Decoded in full, as a [`Point`] is (the JSON view is for inspection, not the hot path).
impl<'de> Deserialize<'de> for EphemeralKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        Point::deserialize(d).map(EphemeralKey::from)
    }
}

/// An oversight copy: one document, readable by every listed oversight key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// One wrapped data key per oversight key (1..=16).
    pub recipients: Vec<SealedRecipient>,
    /// The document under the data key (AES-256-GCM, tag appended).
    #[serde(with = "crate::codec::b64")]
    pub body: Vec<u8>,
}

impl Sealed {
    /// Check the limits of the encoding.
    pub fn check(&self) -> Result<()> {
        if self.recipients.is_empty() || self.recipients.len() > MAX_SEALED_RECIPIENTS {
            return Err(Error::malformed(
                "log entry",
                format!("an oversight copy has 1 to {MAX_SEALED_RECIPIENTS} recipients"),
            ));
        }
        if self
            .recipients
            .iter()
            .any(|r| r.wrapped.len() != WRAPPED_KEY_LEN)
        {
            return Err(Error::malformed(
                "log entry",
                format!("a wrapped data key is {WRAPPED_KEY_LEN} bytes"),
            ));
        }
        if self.body.len() < TAG_LEN || self.body.len() > MAX_SEALED_DOCUMENT + TAG_LEN {
            return Err(Error::malformed("log entry", "oversight copy body length"));
        }
        Ok(())
    }

    /// Append the encoding: `u8 r || r × (key id || E || wrapped) || u32 len || body`.
    pub(crate) fn put(&self, out: &mut Vec<u8>) {
        out.push(self.recipients.len() as u8);
        for r in &self.recipients {
            out.extend_from_slice(r.key_id.as_bytes());
            out.extend_from_slice(r.ephemeral.as_bytes());
            out.extend_from_slice(&r.wrapped);
        }
        crate::codec::put_lp(out, &self.body);
    }

    /// Encoded length.
    pub(crate) fn encoded_len(&self) -> usize {
        1 + self.recipients.len() * RECIPIENT_LEN + 4 + self.body.len()
    }

    /// Decode from the front of `rest` (strict; limits checked).
    pub(crate) fn take(rest: &mut &[u8]) -> Result<Sealed> {
        fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8]> {
            if rest.len() < n {
                return Err(Error::malformed("log entry", "truncated oversight copy"));
            }
            let (a, b) = rest.split_at(n);
            *rest = b;
            Ok(a)
        }
        let n = usize::from(take(rest, 1)?.first().copied().unwrap_or(0));
        if n == 0 || n > MAX_SEALED_RECIPIENTS {
            return Err(Error::malformed(
                "log entry",
                format!("an oversight copy has 1 to {MAX_SEALED_RECIPIENTS} recipients"),
            ));
        }
        let mut recipients = Vec::with_capacity(n);
        for _ in 0..n {
            let key_id: [u8; 32] = take(rest, 32)?
                .try_into()
                .map_err(|_| Error::malformed("log entry", "truncated oversight copy"))?;
            let ephemeral = EphemeralKey::from_bytes(take(rest, 33)?)?;
            let wrapped = take(rest, WRAPPED_KEY_LEN)?.to_vec();
            recipients.push(SealedRecipient {
                key_id: KeyId::from_bytes(key_id),
                ephemeral,
                wrapped,
            });
        }
        let len: [u8; 4] = take(rest, 4)?
            .try_into()
            .map_err(|_| Error::malformed("log entry", "truncated oversight copy"))?;
        let len = u32::from_be_bytes(len) as usize;
        if !(TAG_LEN..=MAX_SEALED_DOCUMENT + TAG_LEN).contains(&len) {
            return Err(Error::malformed("log entry", "oversight copy body length"));
        }
        let body = take(rest, len)?.to_vec();
        Ok(Sealed { recipients, body })
    }
}
