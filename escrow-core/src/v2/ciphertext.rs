//! The v2 TDH2 escrow ciphertext (`docs/protocol.md` §15.2): the v1 construction with the
//! proof in its batchable form, and a batch check.
//!
//! ```text
//! r, s <- random non-zero scalars
//! u = rG,  ū = rG',  w = sG,  w̄ = sG'        (G, G' and Y from fixed-base tables)
//! K = HKDF(salt = set_id, ikm = SEC1c(rY), info = "escrow/v2/tdh2-kem" || SEC1c(u))
//! c = GCM(K, mk, aad = label_bytes)
//! e = H(DST_TDH2_V2, set_id || lp(c) || lp(label_bytes) || u || w || ū || w̄)
//! f = s + r·e                                  the ciphertext carries (u, ū, w, w̄, f, c)
//! ```
//!
//! Check: derive e, then `f·G == w + e·u` and `f·G' == w̄ + e·ū`. Because the commitments are
//! carried, m ciphertexts are checked with one multi-scalar multiplication of a random linear
//! combination of their 2m equations ([`check_batch`]); a failing batch is re-checked one by
//! one so that every bad ciphertext is named by its position.

use super::{Reader, VERSION_BYTE, weights128};
use crate::codec::{CiphertextDigest, Digest32, FormatVersion, SetId, put_lp};
use crate::error::{Error, Result};
use crate::group::{self, Point, generator2, scalar_hex, scalar_to_bytes};
use crate::label::Label;
use crate::secret::{MessageKey, SecretScalar};
use crate::time::Timestamp;
use crate::trustee::TrusteeSet;
use p256::elliptic_curve::group::Group as _;
use p256::{ProjectivePoint, Scalar};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// DST of the v2 TDH2 proof challenge.
pub const DST_TDH2_V2: &str = "ESCROW-V2-TDH2-CHALLENGE_P256_XMD:SHA-256";
/// HKDF info prefix of the v2 KEM key.
pub const INFO_KEM_V2: &[u8] = b"escrow/v2/tdh2-kem";
/// Tag of the v2 ciphertext digest.
pub const TAG_CT_DIGEST_V2: &str = "escrow/v2/ciphertext-digest";
/// Tag of the seed of the batch-check weights.
pub const TAG_CT_BATCH_SEED: &str = "escrow/v2/ciphertext-batch-seed";
/// Tag of the per-ciphertext batch-check weights.
pub const TAG_CT_BATCH_WEIGHT: &str = "escrow/v2/ciphertext-batch-weight";
/// Length of the wrapped key: 32-byte key + 16-byte GCM tag.
pub const WRAPPED_LEN: usize = 48;
/// Longest label encoding a binary ciphertext may carry (the label's own limits are lower).
const MAX_LABEL_BYTES: usize = 4096;

/// A v2 TDH2 escrow ciphertext.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowCiphertextV2 {
    /// Format version (2).
    pub version: FormatVersion<2>,
    /// The trustee set it is escrowed to.
    pub set_id: SetId,
    /// The escrow label.
    pub label: Label,
    /// `u = rG`.
    pub u: Point,
    /// `ū = rG'`.
    pub u_bar: Point,
    /// Commitment `w = sG`.
    pub w: Point,
    /// Commitment `w̄ = sG'`.
    pub w_bar: Point,
    /// Proof response f.
    #[serde(with = "scalar_hex")]
    pub f: Scalar,
    /// The wrapped message key (AES-256-GCM, 48 bytes).
    #[serde(with = "crate::codec::b64")]
    pub wrapped_key: Vec<u8>,
}

pub(super) fn challenge(
    set_id: &SetId,
    wrapped: &[u8],
    label: &[u8],
    enc: [&[u8; 33]; 4],
) -> Scalar {
    crate::tdh2::challenge_with(DST_TDH2_V2, set_id, wrapped, label, enc)
}

pub(super) fn kem_key(
    set_id: &SetId,
    z_enc: &[u8; 33],
    u_enc: &[u8; 33],
) -> Result<Zeroizing<[u8; 32]>> {
    crate::tdh2::kem_key_hkdf(INFO_KEM_V2, set_id, z_enc, u_enc)
}

/// Wrap `key` under the trustee set's escrow key, bound to `label` (format version 2).
/// Returns the ciphertext and the encapsulation exponent r for the recipient.
pub fn encapsulate_v2<R: rand_core::CryptoRng + ?Sized>(
    set: &TrusteeSet,
    label: &Label,
    key: &MessageKey,
    rng: &mut R,
) -> Result<(EscrowCiphertextV2, SecretScalar)> {
    let e = crate::tdh2::encapsulate_with(set, label, key, rng, kem_key, challenge)?;
    // r, s ≠ 0 and G, G' generate the group: none of u, ū, w, w̄ is the identity.
    Ok((
        EscrowCiphertextV2 {
            version: FormatVersion,
            set_id: set.id(),
            label: label.clone(),
            u: e.u,
            u_bar: e.u_bar,
            w: Point::new(e.w, "w")?,
            w_bar: Point::new(e.w_bar, "w_bar")?,
            f: e.f,
            wrapped_key: e.wrapped_key,
        },
        e.r,
    ))
}

/// A ciphertext with its derived challenge and digest, after the cheap checks.
pub(super) struct Prepared<'a> {
    ct: &'a EscrowCiphertextV2,
    e: Scalar,
    /// [`EscrowCiphertextV2::to_bytes`], which the digest hashes (kept for the requests).
    bytes: Vec<u8>,
    digest: CiphertextDigest,
    checked_for: SetId,
}

impl EscrowCiphertextV2 {
    /// The binary encoding, which is also what the digest hashes:
    /// `u8(2) ‖ set_id ‖ lp(label_bytes) ‖ SEC1c(u) ‖ SEC1c(ū) ‖ SEC1c(w) ‖ SEC1c(w̄) ‖ S32(f) ‖ c`
    /// (c is exactly 48 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let enc = group::sec1c_batch(&[
            *self.u.inner(),
            *self.u_bar.inner(),
            *self.w.inner(),
            *self.w_bar.inner(),
        ]);
        self.bytes_with(&enc)
    }

    fn bytes_with(&self, enc: &[[u8; 33]; 4]) -> Vec<u8> {
        let label = self.label.to_bytes();
        let mut m = Vec::with_capacity(1 + 32 + 4 + label.len() + 4 * 33 + 32 + WRAPPED_LEN);
        m.push(VERSION_BYTE);
        m.extend_from_slice(self.set_id.as_bytes());
        put_lp(&mut m, &label);
        for p in enc {
            m.extend_from_slice(p);
        }
        m.extend_from_slice(&scalar_to_bytes(&self.f));
        m.extend_from_slice(&self.wrapped_key);
        m
    }

    /// Decode [`Self::to_bytes`]. Points must be valid non-identity compressed points, f below
    /// the group order, the label well-formed; nothing may follow. A version-1 (or any other)
    /// first byte is refused with [`Error::UnsupportedVersion`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes, "v2 escrow ciphertext");
        r.version()?;
        let set_id = SetId::from_bytes(r.digest()?.0);
        let label = decode_label(r.lp(MAX_LABEL_BYTES)?)?;
        let u = r.point("u")?;
        let u_bar = r.point("u_bar")?;
        let w = r.point("w")?;
        let w_bar = r.point("w_bar")?;
        let f = r.scalar("f")?;
        let wrapped_key = r.take(WRAPPED_LEN)?.to_vec();
        r.end()?;
        Ok(EscrowCiphertextV2 {
            version: FormatVersion,
            set_id,
            label,
            u,
            u_bar,
            w,
            w_bar,
            f,
            wrapped_key,
        })
    }

    /// Ciphertext digest: `T("escrow/v2/ciphertext-digest", to_bytes())`.
    pub fn digest(&self) -> CiphertextDigest {
        CiphertextDigest::from_digest(Digest32::tagged(TAG_CT_DIGEST_V2, &[&self.to_bytes()]))
    }

    /// The cheap checks (set, label, wrapped-key length) and the challenge, from the points'
    /// encodings `[u, ū, w, w̄]`.
    pub(super) fn prepare(&self, set: &TrusteeSet, enc: &[[u8; 33]; 4]) -> Result<Prepared<'_>> {
        crate::tdh2::check_header_fields(
            set,
            &self.set_id,
            &self.label,
            &self.wrapped_key,
            "v2 escrow ciphertext",
        )?;
        let [u, u_bar, w, w_bar] = enc;
        let e = challenge(
            &self.set_id,
            &self.wrapped_key,
            &self.label.to_bytes(),
            [u, w, u_bar, w_bar],
        );
        let bytes = self.bytes_with(enc);
        let digest = CiphertextDigest::from_digest(Digest32::tagged(TAG_CT_DIGEST_V2, &[&bytes]));
        Ok(Prepared {
            ct: self,
            e,
            bytes,
            digest,
            checked_for: set.id(),
        })
    }

    /// The public validity check of one ciphertext. Anyone can run it.
    pub fn check(&self, set: &TrusteeSet) -> Result<ValidCiphertextV2> {
        let enc = group::sec1c_batch(&[
            *self.u.inner(),
            *self.u_bar.inner(),
            *self.w.inner(),
            *self.w_bar.inner(),
        ]);
        let p = self.prepare(set, &enc)?;
        p.check_alone()?;
        Ok(p.valid())
    }
}

impl Prepared<'_> {
    /// The two equations, alone (variable time: public data).
    fn check_alone(&self) -> Result<()> {
        let c = self.ct;
        let neg_e = -self.e;
        let w = group::mul_g_add_vartime(&c.f, &neg_e, c.u.inner());
        let w_bar = group::lincomb2_vartime(&generator2(), &c.f, c.u_bar.inner(), &neg_e);
        if w == *c.w.inner() && w_bar == *c.w_bar.inner() {
            Ok(())
        } else {
            Err(Error::BadCiphertextProof)
        }
    }

    fn valid(&self) -> ValidCiphertextV2 {
        ValidCiphertextV2 {
            ct: self.ct.clone(),
            bytes: self.bytes.clone(),
            digest: self.digest,
            checked_for: self.checked_for,
        }
    }
}

fn decode_label(b: &[u8]) -> Result<Label> {
    let mut r = Reader::new(b, "label");
    if r.u8()? != 1 {
        return Err(Error::malformed("label", "unknown label encoding version"));
    }
    let text = |x: &[u8]| {
        core::str::from_utf8(x)
            .map(str::to_owned)
            .map_err(|_| Error::malformed("label", "not UTF-8"))
    };
    let sender = text(r.lp(MAX_LABEL_BYTES)?)?;
    let recipient = text(r.lp(MAX_LABEL_BYTES)?)?;
    let ts = i64::from_be_bytes(r.array()?);
    let id = text(r.lp(MAX_LABEL_BYTES)?)?;
    r.end()?;
    // As written: not `Label::new`, which would put the accounts in normal form and so change
    // the bytes, the digest and the proof's label (the recipient's check judges the names).
    let label = Label {
        sender,
        recipient,
        timestamp: Timestamp(ts),
        message_id: id,
    };
    label.check()?;
    Ok(label)
}

/// Check many v2 ciphertexts against `set` at once. Returns one result per item, in order:
/// the valid ciphertext, or the error [`EscrowCiphertextV2::check`] gives for it.
///
/// Items failing the cheap checks get their error at once. The others are checked together:
/// with 128-bit weights `(α_j, β_j)` derived from a digest of every ciphertext in the batch
/// (`docs/protocol.md` §15.3),
/// `(Σ α_j f_j)·G + (Σ β_j f_j)·G' − Σ_j (α_j w_j + β_j w̄_j + α_j e_j u_j + β_j e_j ū_j)`
/// must be the identity — one multi-scalar multiplication of 4m + 2 terms, half of them with
/// 128-bit scalars. If it is not, each ciphertext is checked alone, so every bad one is named.
pub fn check_batch(set: &TrusteeSet, cts: &[EscrowCiphertextV2]) -> Vec<Result<ValidCiphertextV2>> {
    // One field inversion for the encodings of every point of the batch.
    let pts: Vec<ProjectivePoint> = cts
        .iter()
        .flat_map(|c| {
            [
                *c.u.inner(),
                *c.u_bar.inner(),
                *c.w.inner(),
                *c.w_bar.inner(),
            ]
        })
        .collect();
    let enc = group::sec1c_vec(&pts);
    let mut out: Vec<Result<ValidCiphertextV2>> = Vec::with_capacity(cts.len());
    let mut batch: Vec<(usize, Prepared<'_>)> = Vec::with_capacity(cts.len());
    for ((pos, ct), e) in cts.iter().enumerate().zip(enc.chunks_exact(4)) {
        let prepared = <&[[u8; 33]; 4]>::try_from(e)
            .map_err(|_| Error::malformed("v2 escrow ciphertext", "encoding"))
            .and_then(|e| ct.prepare(set, e));
        match prepared {
            Ok(p) => {
                out.push(Ok(p.valid()));
                batch.push((pos, p));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    let ok = match batch.as_slice() {
        [] => true,
        [(_, one)] => one.check_alone().is_ok(),
        _ => batch_equation_holds(batch.iter().map(|(_, p)| p)),
    };
    if !ok {
        for (pos, p) in &batch {
            if let (Err(e), Some(slot)) = (p.check_alone(), out.get_mut(*pos)) {
                *slot = Err(e);
            }
        }
    }
    out
}

pub(super) fn batch_equation_holds<'a, 'b: 'a>(
    batch: impl ExactSizeIterator<Item = &'a Prepared<'b>> + Clone,
) -> bool {
    let m = batch.len();
    let mut seed_input = Vec::with_capacity(4 + 32 * m);
    seed_input.extend_from_slice(&(m as u32).to_be_bytes());
    for p in batch.clone() {
        seed_input.extend_from_slice(p.digest.as_bytes());
    }
    let seed = Digest32::tagged(TAG_CT_BATCH_SEED, &[&seed_input]);
    let mut terms: Vec<(ProjectivePoint, Scalar)> = Vec::with_capacity(4 * m + 2);
    let mut g = Scalar::ZERO;
    let mut g2 = Scalar::ZERO;
    for (j, p) in batch.enumerate() {
        let (alpha, beta) = weights128(TAG_CT_BATCH_WEIGHT, &seed, j as u32);
        let c = p.ct;
        terms.push((-*c.w.inner(), alpha));
        terms.push((-*c.w_bar.inner(), beta));
        terms.push((*c.u.inner(), -(alpha * p.e)));
        terms.push((*c.u_bar.inner(), -(beta * p.e)));
        g += alpha * c.f;
        g2 += beta * c.f;
    }
    terms.push((ProjectivePoint::GENERATOR, g));
    terms.push((generator2(), g2));
    bool::from(group::msm_vartime(&terms).is_identity())
}

/// A v2 ciphertext that passed its public check against a trustee set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidCiphertextV2 {
    ct: EscrowCiphertextV2,
    /// The binary encoding, computed once by the check.
    bytes: Vec<u8>,
    digest: CiphertextDigest,
    checked_for: SetId,
}

impl ValidCiphertextV2 {
    crate::tdh2::valid_ciphertext_methods!(EscrowCiphertextV2);

    /// Its binary encoding ([`EscrowCiphertextV2::to_bytes`], computed once when checked).
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Unwrap the message key given `Z = x·u = r·Y`.
    pub(crate) fn unwrap_with(&self, z: &ProjectivePoint) -> Result<MessageKey> {
        let [z_enc, u_enc] = group::sec1c_batch(&[*z, *self.ct.u.inner()]);
        let z_enc = Zeroizing::new(z_enc);
        let k = kem_key(&self.ct.set_id, &z_enc, &u_enc)?;
        crate::tdh2::unwrap_key(&k, &self.ct.wrapped_key, &self.ct.label)
    }
}
