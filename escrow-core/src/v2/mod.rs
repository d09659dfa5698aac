//! Release protocol version 2 (`docs/protocol.md` §15): less curve work per message for every
//! party.
//!
//! * [`ciphertext`] — the v2 escrow ciphertext: the TDH2 validity proof in its *batchable*
//!   form (the commitments w, w̄ travel instead of the challenge), so that all the ciphertexts
//!   of a request are checked with one multi-scalar multiplication ([`check_batch`]); sealing
//!   uses the fixed-base tables of G' and Y.
//! * [`message`] — the v2 sealed message (a mailbox line), and [`MailboxMessage`] reading a
//!   line of either version.
//! * [`release`] — the `POST /v2/release` request and the signed response on the wire.
//! * [`answer`] — a trustee's answer to a request: one Chaum–Pedersen proof for all its shares
//!   (over a random linear combination whose weights hash the whole transcript), sealed to the
//!   investigator with one ECDH and per-share keys from HKDF, in a compact binary encoding.
//!
//! Version 1 objects are not read by these functions: a v1 ciphertext or answer given to a v2
//! decoder is refused with [`crate::Error::UnsupportedVersion`] naming both versions. The v1
//! functions ([`crate::tdh2`], [`crate::share`], [`crate::release`]) are unchanged and still
//! read v1 objects.

pub mod answer;
pub mod ciphertext;
pub mod message;
pub mod release;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod wire_tests;

pub use answer::{
    AnswerV2, ComputedShares, SealedAnswer, VerifiedAnswer, VerifiedShareV2, combine_v2,
    make_answer, request_digest,
};
pub use ciphertext::{EscrowCiphertextV2, ValidCiphertextV2, check_batch, encapsulate_v2};
pub use message::{MailboxMessage, SealedMessageV2, open_unchecked_label_v2, seal_v2};
pub use release::{
    ParsedRequestV2, ReleaseRequestV2, ReleaseResponseV2, ReleaseResultV2, RequestErrorV2,
    judge_ciphertexts_v2, parse_request_v2, request_warrant_v2,
};

use crate::codec::Digest32;
use crate::error::{Error, Result};
use crate::group::{self, Point};
use p256::Scalar;
use p256::elliptic_curve::PrimeField as _;

/// The version byte that starts every v2 binary encoding.
pub const VERSION_BYTE: u8 = 2;

/// 128-bit weights from a tagged digest: `(int(w[0..16]), int(w[16..32]))`, big-endian.
pub(crate) fn weights128(tag: &str, seed: &Digest32, j: u32) -> (Scalar, Scalar) {
    let w = Digest32::tagged(tag, &[seed.as_bytes(), &j.to_be_bytes()]);
    let (h, l) = w.as_bytes().split_at(16);
    let mut hi = [0u8; 16];
    let mut lo = [0u8; 16];
    hi.copy_from_slice(h);
    lo.copy_from_slice(l);
    (
        Scalar::from_u128(u128::from_be_bytes(hi)),
        Scalar::from_u128(u128::from_be_bytes(lo)),
    )
}

/// A cursor over a binary encoding; every read checks the length and names the structure.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, what }
    }

    /// The version byte: 2, or an error naming the version found.
    pub(crate) fn version(&mut self) -> Result<()> {
        let v = self.u8()?;
        if v == VERSION_BYTE {
            Ok(())
        } else {
            Err(Error::UnsupportedVersion {
                what: self.what,
                found: u32::from(v),
                expected: u32::from(VERSION_BYTE),
            })
        }
    }

    /// The next byte, not consumed.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.buf.first().copied()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.buf.len() < n {
            return Err(Error::malformed(self.what, "truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.take(N)?;
        <[u8; N]>::try_from(b).map_err(|_| Error::malformed(self.what, "truncated"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn digest(&mut self) -> Result<Digest32> {
        Ok(Digest32(self.array()?))
    }

    pub(crate) fn point(&mut self, field: &'static str) -> Result<Point> {
        let b: [u8; 33] = self.array()?;
        Point::from_bytes(&b, field)
    }

    pub(crate) fn scalar(&mut self, field: &'static str) -> Result<Scalar> {
        let b: [u8; 32] = self.array()?;
        group::scalar_from_bytes(&b, field)
    }

    /// `lp(x)`: a 4-byte length, then x (at most `max` bytes).
    pub(crate) fn lp(&mut self, max: usize) -> Result<&'a [u8]> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(Error::malformed(self.what, "length prefix too large"));
        }
        self.take(n)
    }

    /// Nothing may follow the structure.
    pub(crate) fn end(&self) -> Result<()> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(Error::malformed(self.what, "trailing bytes"))
        }
    }
}
