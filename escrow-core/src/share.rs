//! Decryption shares with Chaum–Pedersen DLEQ proofs (in the batchable form), batch
//! verification, and the combiner.
//!
//! Trustee i, for a [`ValidCiphertext`] with `u = rG` and a context digest c:
//!
//! ```text
//! d_i = x_i·u;   t <- random;   a_i = t·u;   b_i = t·G
//! e_i = H(set_id || u16_be(i) || ct_digest || c || X_i || u || d_i || a_i || b_i)  (DST_DLEQ)
//! z_i = t + x_i·e_i
//! ```
//!
//! The share carries `(d_i, a_i, b_i, z_i)`. Verifier: derive e_i, check `z_i·u == a_i + e_i·d_i`
//! and `z_i·G == b_i + e_i·X_i`. Because the commitments travel with the proof, many shares
//! (of one ciphertext or of thousands) are checked at once with one multi-scalar
//! multiplication over a random linear combination of their equations ([`verify_batch`]); if
//! that fails, every share is checked alone so that each cheating trustee is still named. The
//! combiner checks every proof, names the trustees whose shares fail, and interpolates any k good
//! shares in the exponent: `xu = Σ λ_i d_i`.

use crate::codec::{CiphertextDigest, Digest32, SetId, V1};
use crate::error::{Error, Result};
use crate::group::{self, Point, scalar_hex};
use crate::secret::{MessageKey, SecretScalar};
use crate::tdh2::ValidCiphertext;
use crate::trustee::{TrusteeSet, VerifiedKeyShare};
use p256::elliptic_curve::PrimeField as _;
use p256::elliptic_curve::group::{Curve as _, Group as _};
use p256::elliptic_curve::sec1::ToSec1Point as _;
use p256::{AffinePoint, ProjectivePoint, Scalar};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// DST of the DLEQ challenge.
pub const DST_DLEQ: &str = "ESCROW-V1-DLEQ-CHALLENGE_P256_XMD:SHA-256";
/// Tag of the context used when no warrant is involved (k trustees colluding).
pub const TAG_NO_WARRANT: &str = "escrow/v1/no-warrant";
/// Tag of the seed of the batch-verification weights (a digest of every proof in the batch).
pub const TAG_BATCH_SEED: &str = "escrow/v1/dleq-batch-seed";
/// Tag of the per-share batch-verification weights, derived from the seed.
pub const TAG_BATCH_WEIGHT: &str = "escrow/v1/dleq-batch-weight";

/// What a share is bound to besides trustee and ciphertext: the warrant's digest, or the
/// explicit "no warrant" context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareContext(pub Digest32);

impl ShareContext {
    /// Bound to a warrant (its envelope digest).
    pub fn warrant(digest: crate::codec::WarrantDigest) -> Self {
        ShareContext(digest.digest())
    }
    /// Released without any warrant (the collusion demonstration).
    pub fn without_warrant() -> Self {
        ShareContext(Digest32::tagged(TAG_NO_WARRANT, &[]))
    }
}

/// A decryption share with its DLEQ proof `(a, b, z)`; the challenge is derived by the
/// verifier. The commitments are [`Point`]s, so neither can be the identity (decoding refuses
/// it; an honest `t·u`, `t·G` with `t ≠ 0` never is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptionShare {
    /// Format version.
    pub version: V1,
    /// Trustee index i.
    pub trustee: u16,
    /// Digest of the ciphertext this share is for.
    pub ciphertext: CiphertextDigest,
    /// The context the proof is bound to.
    pub context: Digest32,
    /// `d_i = x_i u`.
    pub d: Point,
    /// Commitment `a_i = t u`.
    pub a: Point,
    /// Commitment `b_i = t G`.
    pub b: Point,
    /// Response z_i.
    #[serde(with = "scalar_hex")]
    pub z: Scalar,
}

#[allow(clippy::too_many_arguments)]
fn dleq_challenge(
    set_id: &SetId,
    trustee: u16,
    ct: &CiphertextDigest,
    ctx: &Digest32,
    x_i: &ProjectivePoint,
    u: &ProjectivePoint,
    d: &ProjectivePoint,
    a: &ProjectivePoint,
    b: &ProjectivePoint,
) -> Scalar {
    let enc = [x_i, u, d, a, b].map(crate::group::sec1c);
    dleq_challenge_encoded(set_id, trustee, ct, ctx, &enc)
}

/// The challenge from the SEC1c encodings of `[X_i, u, d, a, b]`.
fn dleq_challenge_encoded(
    set_id: &SetId,
    trustee: u16,
    ct: &CiphertextDigest,
    ctx: &Digest32,
    enc: &[[u8; 33]; 5],
) -> Scalar {
    let mut m = Vec::with_capacity(32 * 3 + 2 + 33 * 5);
    m.extend_from_slice(set_id.as_bytes());
    m.extend_from_slice(&trustee.to_be_bytes());
    m.extend_from_slice(ct.as_bytes());
    m.extend_from_slice(ctx.as_bytes());
    for p in enc {
        m.extend_from_slice(p);
    }
    group::hash_to_scalar(DST_DLEQ, &[&m])
}

impl VerifiedKeyShare {
    /// Compute this trustee's decryption share for a checked ciphertext. The argument type
    /// makes it impossible to skip the ciphertext's public check.
    pub fn decryption_share<R: rand_core::CryptoRng + ?Sized>(
        &self,
        ct: &ValidCiphertext,
        context: &ShareContext,
        rng: &mut R,
    ) -> Result<DecryptionShare> {
        // Refuse a ciphertext checked against another trustee set (one escrowed to a set this
        // one was refreshed from was checked against this set: same escrow key).
        if ct.checked_for() != self.set_id() {
            return Err(Error::CiphertextForOtherSet {
                found: ct.ciphertext().set_id.short(),
                expected: self.set_id().short(),
            });
        }
        let u = ct.ciphertext().u.inner();
        let x = self.secret();
        let d = Point::new(*u * x, "d")?;
        let t = SecretScalar::new(group::random_scalar(rng));
        // t ≠ 0 and u, G are not the identity, so neither commitment is.
        let a = Point::new(*u * t.expose(), "a")?;
        let b = Point::new(ProjectivePoint::mul_by_generator(t.expose()), "b")?;
        let e = dleq_challenge(
            &self.set_id(),
            self.index(),
            &ct.digest(),
            &context.0,
            self.verification_key().inner(),
            u,
            d.inner(),
            a.inner(),
            b.inner(),
        );
        let z = *t.expose() + *x * e;
        Ok(DecryptionShare {
            version: V1::default(),
            trustee: self.index(),
            ciphertext: ct.digest(),
            context: context.0,
            d,
            a,
            b,
            z,
        })
    }
}

/// A share that passed the checks common to single and batch verification (trustee in range,
/// bound to this ciphertext and context), with its derived challenge.
struct Prepared<'a> {
    share: &'a DecryptionShare,
    u: &'a ProjectivePoint,
    x_i: &'a ProjectivePoint,
    e: Scalar,
}

/// Steps 1–2 of the verification (docs/protocol.md §7.3): the trustee is in the set, and the
/// share is for this ciphertext and context. Returns `(u, X_i)`.
fn bind<'a>(
    set: &'a TrusteeSet,
    ct: &'a ValidCiphertext,
    context: &ShareContext,
    share: &DecryptionShare,
) -> Result<(&'a ProjectivePoint, &'a ProjectivePoint)> {
    let member = set.member(share.trustee)?;
    if share.ciphertext != ct.digest() || share.context != context.0 {
        return Err(Error::ShareForOtherCiphertext {
            trustee: share.trustee,
        });
    }
    Ok((ct.ciphertext().u.inner(), member.verification_key.inner()))
}

impl<'a> Prepared<'a> {
    fn new(
        set: &'a TrusteeSet,
        ct: &'a ValidCiphertext,
        context: &ShareContext,
        share: &'a DecryptionShare,
    ) -> Result<Self> {
        let (u, x_i) = bind(set, ct, context, share)?;
        // The verifier's own set id, ciphertext digest, context and X_i (equal to the share's
        // fields, just checked).
        let e = dleq_challenge(
            &set.id(),
            share.trustee,
            &ct.digest(),
            &context.0,
            x_i,
            u,
            share.d.inner(),
            share.a.inner(),
            share.b.inner(),
        );
        Ok(Prepared { share, u, x_i, e })
    }

    /// The two verification equations, alone (variable time: public data).
    fn check(&self) -> Result<()> {
        let s = self.share;
        let neg_e = -self.e;
        let a = group::lincomb2_vartime(self.u, &s.z, s.d.inner(), &neg_e);
        let b = group::mul_g_add_vartime(&s.z, &neg_e, self.x_i);
        if a == *s.a.inner() && b == *s.b.inner() {
            Ok(())
        } else {
            Err(Error::BadShareProof { trustee: s.trustee })
        }
    }
}

impl DecryptionShare {
    /// Verify this share against the trustee set, ciphertext and context.
    pub fn verify(
        &self,
        set: &TrusteeSet,
        ct: &ValidCiphertext,
        context: &ShareContext,
    ) -> Result<()> {
        Prepared::new(set, ct, context, self)?.check()
    }
}

/// One share to check in a batch: the share, the checked ciphertext it must be for, and the
/// context it must be bound to.
#[derive(Clone, Copy, Debug)]
pub struct ShareToVerify<'a> {
    /// The checked ciphertext the share must be for.
    pub ciphertext: &'a ValidCiphertext,
    /// The context the share must be bound to.
    pub context: &'a ShareContext,
    /// The share.
    pub share: &'a DecryptionShare,
}

/// A decryption share whose DLEQ proof passed against a trustee set, its ciphertext and its
/// context. Made only by [`verify_batch`]; [`combine_verified`] combines these without checking
/// the proofs again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedShare {
    share: DecryptionShare,
    set_id: SetId,
}

impl VerifiedShare {
    /// The share.
    pub fn share(&self) -> &DecryptionShare {
        &self.share
    }
    /// Its trustee index.
    pub fn trustee(&self) -> u16 {
        self.share.trustee
    }
    /// The id of the trustee set it was verified against.
    pub fn set_id(&self) -> SetId {
        self.set_id
    }
    /// The share, forgetting that it was verified.
    pub fn into_inner(self) -> DecryptionShare {
        self.share
    }
}

/// The batch weights `(α_j, β_j)`, two 128-bit integers per share, derived Fiat–Shamir style
/// from every proof in the batch (docs/protocol.md §7.4):
/// `seed = T(TAG_BATCH_SEED, u32be(m) ‖ S32(e_1) ‖ S32(z_1) ‖ … ‖ S32(e_m) ‖ S32(z_m))`,
/// `w_j = T(TAG_BATCH_WEIGHT, seed ‖ u32be(j))`, `α_j = w_j[0..16]`, `β_j = w_j[16..32]`
/// (big-endian). Each e_j already hashes the statement and the commitments of share j.
fn batch_weights(batch: &[Prepared<'_>]) -> Vec<(Scalar, Scalar)> {
    let mut m = Vec::with_capacity(4 + 64 * batch.len());
    m.extend_from_slice(&(batch.len() as u32).to_be_bytes());
    for p in batch {
        m.extend_from_slice(&group::scalar_to_bytes(&p.e));
        m.extend_from_slice(&group::scalar_to_bytes(&p.share.z));
    }
    let seed = Digest32::tagged(TAG_BATCH_SEED, &[&m]);
    (0..batch.len() as u32)
        .map(|j| {
            let w = Digest32::tagged(TAG_BATCH_WEIGHT, &[seed.as_bytes(), &j.to_be_bytes()]);
            let mut hi = [0u8; 16];
            let mut lo = [0u8; 16];
            let (h, l) = w.as_bytes().split_at(16);
            hi.copy_from_slice(h);
            lo.copy_from_slice(l);
            (
                Scalar::from_u128(u128::from_be_bytes(hi)),
                Scalar::from_u128(u128::from_be_bytes(lo)),
            )
        })
        .collect()
}

/// The weighted sum of every equation of `batch`, as one multi-scalar multiplication:
/// `Σ_j α_j (z_j u_j − a_j − e_j d_j) + β_j (z_j G − b_j − e_j X_j)`, with the u terms summed
/// per ciphertext, the X terms per trustee and the G terms into one scalar. Identity iff the
/// batch passes.
fn batch_equation_holds(batch: &[Prepared<'_>]) -> bool {
    let weights = batch_weights(batch);
    let mut terms: Vec<(ProjectivePoint, Scalar)> = Vec::with_capacity(3 * batch.len() + 2);
    let mut per_ct: BTreeMap<CiphertextDigest, (ProjectivePoint, Scalar)> = BTreeMap::new();
    let mut per_trustee: BTreeMap<u16, (ProjectivePoint, Scalar)> = BTreeMap::new();
    let mut g = Scalar::ZERO;
    for (p, (alpha, beta)) in batch.iter().zip(weights) {
        let s = p.share;
        // The 128-bit weights multiply the negated commitments, so that those two terms have
        // short scalars (half the additions in the interleaved wNAF).
        terms.push((-*s.a.inner(), alpha));
        terms.push((-*s.b.inner(), beta));
        terms.push((*s.d.inner(), -(alpha * p.e)));
        per_ct.entry(s.ciphertext).or_insert((*p.u, Scalar::ZERO)).1 += alpha * s.z;
        per_trustee
            .entry(s.trustee)
            .or_insert((*p.x_i, Scalar::ZERO))
            .1 -= beta * p.e;
        g += beta * s.z;
    }
    terms.extend(per_ct.into_values());
    terms.extend(per_trustee.into_values());
    terms.push((ProjectivePoint::GENERATOR, g));
    bool::from(group::msm_vartime(&terms).is_identity())
}

/// Verify many decryption shares at once — of one ciphertext from several trustees, of many
/// ciphertexts from one trustee, or any mix — against `set`. Returns one result per item, in
/// order: the verified share, or the error naming its trustee (the same error
/// [`DecryptionShare::verify`] gives).
///
/// Items that fail the cheap checks (trustee out of range, share for another ciphertext or
/// context) get their error at once. The others are checked together with one random linear
/// combination of their equations (128-bit weights derived by hashing every proof in the
/// batch, see `docs/protocol.md` §7.4) in one multi-scalar multiplication; if it does not
/// vanish, each of them is checked alone so that every bad share is named. An empty batch gives
/// an empty result.
pub fn verify_batch(set: &TrusteeSet, items: &[ShareToVerify<'_>]) -> Vec<Result<VerifiedShare>> {
    let (mut out, batch, slots) = prepare_batch(set, items);
    let batch_ok = match batch.as_slice() {
        [] => true,
        [one] => one.check().is_ok(),
        _ => batch_equation_holds(&batch),
    };
    if !batch_ok {
        for (p, pos) in batch.iter().zip(&slots) {
            if let (Err(e), Some(slot)) = (p.check(), out.get_mut(*pos)) {
                *slot = Err(e);
            }
        }
    }
    let set_id = set.id();
    out.into_iter()
        .zip(items)
        .map(|(r, it)| {
            r.map(|()| VerifiedShare {
                share: it.share.clone(),
                set_id,
            })
        })
        .collect()
}

/// Steps 1–3 of §7.3 for every item: the items that pass steps 1–2 become [`Prepared`] (with
/// their positions in `slots`), the others get their error in the first vector. The same
/// challenges as [`Prepared::new`], with fewer field inversions: each X_i and u is encoded once
/// per batch, and the d, a, b of all shares are normalised together (one inversion).
#[allow(clippy::type_complexity)]
fn prepare_batch<'a>(
    set: &'a TrusteeSet,
    items: &[ShareToVerify<'a>],
) -> (Vec<Result<()>>, Vec<Prepared<'a>>, Vec<usize>) {
    let mut out: Vec<Result<()>> = Vec::with_capacity(items.len());
    let mut bound = Vec::with_capacity(items.len());
    let mut slots: Vec<usize> = Vec::with_capacity(items.len());
    for (pos, it) in items.iter().enumerate() {
        match bind(set, it.ciphertext, it.context, it.share) {
            Ok((u, x_i)) => {
                bound.push((it, u, x_i));
                slots.push(pos);
                out.push(Ok(()));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    let proj: Vec<ProjectivePoint> = bound
        .iter()
        .flat_map(|(it, _, _)| {
            let s = it.share;
            [*s.d.inner(), *s.a.inner(), *s.b.inner()]
        })
        .collect();
    let mut affine = vec![AffinePoint::IDENTITY; proj.len()];
    ProjectivePoint::batch_normalize(&proj, &mut affine);
    let set_id = set.id();
    let mut x_enc: BTreeMap<u16, [u8; 33]> = BTreeMap::new();
    let mut u_enc: BTreeMap<CiphertextDigest, [u8; 33]> = BTreeMap::new();
    let batch = bound
        .into_iter()
        .zip(affine.chunks_exact(3))
        .map(|((it, u, x_i), dab)| {
            let s = it.share;
            let ct = it.ciphertext.digest();
            let mut enc = [[0u8; 33]; 5];
            for (slot, p) in enc.iter_mut().skip(2).zip(dab) {
                *slot = sec1c_affine(p);
            }
            if let Some(slot) = enc.first_mut() {
                *slot = *x_enc
                    .entry(s.trustee)
                    .or_insert_with(|| crate::group::sec1c(x_i));
            }
            if let Some(slot) = enc.get_mut(1) {
                *slot = *u_enc.entry(ct).or_insert_with(|| crate::group::sec1c(u));
            }
            let e = dleq_challenge_encoded(&set_id, s.trustee, &ct, &it.context.0, &enc);
            Prepared {
                share: s,
                u,
                x_i,
                e,
            }
        })
        .collect();
    (out, batch, slots)
}

/// SEC1 compressed encoding of an affine point (33 zero bytes for the identity, which a
/// [`Point`] never is).
fn sec1c_affine(p: &AffinePoint) -> [u8; 33] {
    let enc = p.to_sec1_point(true);
    let mut out = [0u8; 33];
    if let Ok(b) = <[u8; 33]>::try_from(enc.as_bytes()) {
        out = b;
    }
    out
}

/// The result of a successful combination.
#[derive(Debug)]
pub struct Combined {
    /// The recovered message key.
    pub message_key: MessageKey,
    /// The k trustees whose shares were used.
    pub used: Vec<u16>,
    /// Shares that were rejected, with the reason (naming the trustee).
    pub rejected: Vec<(u16, Error)>,
}

/// Refuse trustee indices out of 1..=n and repeated ones.
fn check_indices(set: &TrusteeSet, indices: impl Iterator<Item = u16>) -> Result<()> {
    let mut seen = BTreeSet::new();
    for i in indices {
        if i == 0 || i > set.trustees() {
            return Err(Error::TrusteeOutOfRange {
                index: u64::from(i),
                n: set.trustees(),
            });
        }
        if !seen.insert(i) {
            return Err(Error::DuplicateTrustee(i));
        }
    }
    Ok(())
}

/// Interpolate the first k good shares and unwrap; or name the rejected ones.
fn interpolate_and_unwrap(
    set: &TrusteeSet,
    ct: &ValidCiphertext,
    mut good: Vec<&DecryptionShare>,
    rejected: Vec<(u16, Error)>,
) -> Result<Combined> {
    let k = usize::from(set.threshold());
    if good.len() < k {
        let why = if rejected.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = rejected
                .iter()
                .map(|(i, e)| format!("trustee {i}: {e}"))
                .collect();
            format!("; rejected: {}", names.join("; "))
        };
        return Err(Error::NotEnoughShares {
            valid: good.len(),
            threshold: set.threshold(),
            rejected: why,
        });
    }
    // Every share given was checked (so every cheater is named); any k good ones suffice.
    good.truncate(k);
    let ids: Vec<u16> = good.iter().map(|s| s.trustee).collect();
    let lambdas = group::lagrange_at_zero(&ids)?;
    let terms: Vec<(ProjectivePoint, Scalar)> = good
        .iter()
        .zip(lambdas)
        .map(|(s, l)| (*s.d.inner(), l))
        .collect();
    let z = group::lagrange_combine_vartime(&terms);
    let message_key = ct.unwrap_with(&z)?;
    Ok(Combined {
        message_key,
        used: ids,
        rejected,
    })
}

/// Verify every share given (all of them, in one batch, so that every cheating trustee is
/// named, not only those before the first k good ones), reject bad ones by name, and combine
/// k good ones to recover the message key. Errors: a share index of 0 or above n, the same
/// trustee twice, fewer than k valid shares, or a wrapped key that does not open.
pub fn combine(
    set: &TrusteeSet,
    ct: &ValidCiphertext,
    context: &ShareContext,
    shares: &[DecryptionShare],
) -> Result<Combined> {
    check_indices(set, shares.iter().map(|s| s.trustee))?;
    let items: Vec<ShareToVerify<'_>> = shares
        .iter()
        .map(|share| ShareToVerify {
            ciphertext: ct,
            context,
            share,
        })
        .collect();
    let mut good = Vec::with_capacity(shares.len());
    let mut rejected = Vec::new();
    for (s, r) in shares.iter().zip(verify_batch(set, &items)) {
        match r {
            Ok(_) => good.push(s),
            Err(e) => rejected.push((s.trustee, e)),
        }
    }
    interpolate_and_unwrap(set, ct, good, rejected)
}

/// Combine shares already verified by [`verify_batch`] (e.g. across a whole trustee
/// response), without checking their proofs again. Refuses indices out of range and
/// repeated ones like [`combine`]; a share verified against another set, ciphertext or
/// context is rejected by name (*ShareForOtherCiphertext*), not used.
pub fn combine_verified(
    set: &TrusteeSet,
    ct: &ValidCiphertext,
    context: &ShareContext,
    shares: &[VerifiedShare],
) -> Result<Combined> {
    check_indices(set, shares.iter().map(VerifiedShare::trustee))?;
    let mut good = Vec::with_capacity(shares.len());
    let mut rejected = Vec::new();
    for v in shares {
        let s = &v.share;
        if v.set_id == set.id() && s.ciphertext == ct.digest() && s.context == context.0 {
            good.push(s);
        } else {
            rejected.push((
                s.trustee,
                Error::ShareForOtherCiphertext { trustee: s.trustee },
            ));
        }
    }
    interpolate_and_unwrap(set, ct, good, rejected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Label;
    use crate::tdh2::encapsulate;
    use crate::time::Timestamp;
    use crate::trustee::deal;

    #[test]
    fn k_of_n_recovers_and_bad_shares_are_named() {
        let mut rng = rand::rng();
        let d = deal(5, 3, &mut rng).unwrap();
        let keys: Vec<VerifiedKeyShare> = d
            .secrets
            .iter()
            .map(|s| d.set.verify_share(s.key_share.clone()).unwrap())
            .collect();
        let key = MessageKey::random(&mut rng);
        let label = Label::new("a", "b", Timestamp(5), "x").unwrap();
        let (ct, _) = encapsulate(&d.set, &label, &key, &mut rng).unwrap();
        let v = ct.check(&d.set).unwrap();
        let ctx = ShareContext::without_warrant();
        let shares: Vec<DecryptionShare> = keys
            .iter()
            .map(|k| k.decryption_share(&v, &ctx, &mut rng).unwrap())
            .collect();
        let c = combine(&d.set, &v, &ctx, &shares[2..5]).unwrap();
        assert_eq!(c.message_key, key);
        assert!(combine(&d.set, &v, &ctx, &shares[..2]).is_err());
        // a bad share is named and routed around
        let mut bad = shares.clone();
        bad[0].d = bad[1].d;
        let c = combine(&d.set, &v, &ctx, &bad).unwrap();
        assert_eq!(c.message_key, key);
        assert_eq!(c.rejected[0].0, 1);
        assert_eq!(c.rejected[0].1, Error::BadShareProof { trustee: 1 });
        // a cheater after k good shares is named too
        let mut late = shares.clone();
        late[4].z += Scalar::ONE;
        let c = combine(&d.set, &v, &ctx, &late).unwrap();
        assert_eq!(c.message_key, key);
        assert_eq!(c.used, vec![1, 2, 3]);
        assert_eq!(c.rejected, vec![(5, Error::BadShareProof { trustee: 5 })]);
        // duplicates and out-of-range
        let dup = vec![shares[0].clone(), shares[0].clone(), shares[1].clone()];
        assert_eq!(
            combine(&d.set, &v, &ctx, &dup).unwrap_err(),
            Error::DuplicateTrustee(1)
        );
        let mut oor = shares.clone();
        oor[0].trustee = 0;
        assert!(matches!(
            combine(&d.set, &v, &ctx, &oor).unwrap_err(),
            Error::TrusteeOutOfRange { .. }
        ));
        oor[0].trustee = 6;
        assert!(matches!(
            combine(&d.set, &v, &ctx, &oor).unwrap_err(),
            Error::TrusteeOutOfRange { .. }
        ));
        // another context
        let other = ShareContext::warrant(crate::codec::WarrantDigest::from_bytes([7; 32]));
        assert!(combine(&d.set, &v, &other, &shares).is_err());
    }

    struct Fixture {
        set: TrusteeSet,
        keys: Vec<VerifiedKeyShare>,
        cts: Vec<ValidCiphertext>,
        ctx: ShareContext,
    }

    fn fixture(n: u64, k: u64, messages: usize) -> Fixture {
        let mut rng = rand::rng();
        let d = deal(n, k, &mut rng).unwrap();
        let keys: Vec<VerifiedKeyShare> = d
            .secrets
            .iter()
            .map(|s| d.set.verify_share(s.key_share.clone()).unwrap())
            .collect();
        let cts = (0..messages)
            .map(|m| {
                let key = MessageKey::random(&mut rng);
                let label = Label::new("a", "b", Timestamp(5), &format!("m{m}")).unwrap();
                let (ct, _) = encapsulate(&d.set, &label, &key, &mut rng).unwrap();
                ct.check(&d.set).unwrap()
            })
            .collect();
        Fixture {
            set: d.set,
            keys,
            cts,
            ctx: ShareContext::without_warrant(),
        }
    }

    /// Every trustee's share of every ciphertext, ciphertext-major.
    fn all_shares(f: &Fixture) -> Vec<(usize, DecryptionShare)> {
        let mut rng = rand::rng();
        let mut out = Vec::new();
        for (m, ct) in f.cts.iter().enumerate() {
            for k in &f.keys {
                out.push((m, k.decryption_share(ct, &f.ctx, &mut rng).unwrap()));
            }
        }
        out
    }

    fn items<'a>(f: &'a Fixture, shares: &'a [(usize, DecryptionShare)]) -> Vec<ShareToVerify<'a>> {
        shares
            .iter()
            .map(|(m, s)| ShareToVerify {
                ciphertext: &f.cts[*m],
                context: &f.ctx,
                share: s,
            })
            .collect()
    }

    fn run_batch(f: &Fixture, shares: &[(usize, DecryptionShare)]) -> Vec<Result<()>> {
        let items = items(f, shares);
        let res = verify_batch(&f.set, &items);
        assert_eq!(res.len(), shares.len());
        // the batch agrees with single verification, item by item
        for (r, (m, s)) in res.iter().zip(shares) {
            assert_eq!(
                r.as_ref().map(|_| ()).map_err(Clone::clone),
                s.verify(&f.set, &f.cts[*m], &f.ctx)
            );
            if let Ok(v) = r {
                assert_eq!(v.share(), s);
                assert_eq!(v.set_id(), f.set.id());
            }
        }
        res.into_iter().map(|r| r.map(|_| ())).collect()
    }

    #[test]
    fn batch_empty_one_and_all_good() {
        let f = fixture(5, 3, 4);
        assert!(verify_batch(&f.set, &[]).is_empty());
        let shares = all_shares(&f);
        assert_eq!(run_batch(&f, &shares[..1]), vec![Ok(())]);
        let mut bad_one = vec![shares[0].clone()];
        bad_one[0].1.z += Scalar::ONE;
        assert_eq!(
            run_batch(&f, &bad_one),
            vec![Err(Error::BadShareProof { trustee: 1 })]
        );
        // one ciphertext, all trustees; and all ciphertexts, all trustees
        assert!(run_batch(&f, &shares[..5]).iter().all(Result::is_ok));
        assert!(run_batch(&f, &shares).iter().all(Result::is_ok));
        // ... and they pass in the batch equation itself, not only through the fallback; the
        // batch derives the very challenges single verification does
        let prepared: Vec<Prepared<'_>> = shares
            .iter()
            .map(|(m, s)| Prepared::new(&f.set, &f.cts[*m], &f.ctx, s).unwrap())
            .collect();
        let items = items(&f, &shares);
        let (pre, batched, slots) = prepare_batch(&f.set, &items);
        assert!(pre.iter().all(Result::is_ok));
        assert_eq!(slots, (0..shares.len()).collect::<Vec<_>>());
        assert_eq!(batched.len(), prepared.len());
        for (x, y) in batched.iter().zip(&prepared) {
            assert_eq!(x.e, y.e);
            assert_eq!(x.share, y.share);
        }
        assert!(batch_equation_holds(&batched));
        assert!(batch_equation_holds(&prepared));
        assert!(batch_equation_holds(&prepared[..2]));
        let mut bad = shares[2].clone();
        bad.1.z += Scalar::ONE;
        let mut with_bad = prepared;
        with_bad[2] = Prepared::new(&f.set, &f.cts[0], &f.ctx, &bad.1).unwrap();
        assert!(!batch_equation_holds(&with_bad));
    }

    #[test]
    fn batch_names_every_bad_share_among_many() {
        let f = fixture(5, 3, 4);
        let shares = all_shares(&f);
        for victim in [0, 7, shares.len() - 1] {
            let mut bad = shares.clone();
            bad[victim].1.z += Scalar::ONE;
            let res = run_batch(&f, &bad);
            for (j, r) in res.iter().enumerate() {
                if j == victim {
                    assert_eq!(
                        *r,
                        Err(Error::BadShareProof {
                            trustee: bad[j].1.trustee
                        })
                    );
                } else {
                    assert_eq!(*r, Ok(()));
                }
            }
        }
        // each field of the proof, and the share itself, matters
        let g = ProjectivePoint::GENERATOR;
        type Tamper = fn(&mut DecryptionShare, ProjectivePoint);
        let tampers: [Tamper; 4] = [
            |s, g| s.d = Point::new(*s.d.inner() + g, "d").unwrap(),
            |s, g| s.a = Point::new(*s.a.inner() + g, "a").unwrap(),
            |s, g| s.b = Point::new(*s.b.inner() + g, "b").unwrap(),
            |s, _| core::mem::swap(&mut s.a, &mut s.b),
        ];
        for t in tampers {
            let mut bad = shares.clone();
            t(&mut bad[6].1, g);
            let res = run_batch(&f, &bad);
            assert_eq!(res.iter().filter(|r| r.is_err()).count(), 1);
            assert_eq!(res[6], Err(Error::BadShareProof { trustee: 2 }));
        }
        // cheap failures are reported without entering the batch
        let mut bad = shares.clone();
        bad[3].1.context = Digest32([9; 32]);
        bad[4].1.trustee = 9;
        let res = run_batch(&f, &bad);
        assert_eq!(res[3], Err(Error::ShareForOtherCiphertext { trustee: 4 }));
        assert!(matches!(res[4], Err(Error::TrusteeOutOfRange { .. })));
        assert_eq!(res.iter().filter(|r| r.is_err()).count(), 2);
        // a share checked against the wrong ciphertext
        let mut wrong = shares.clone();
        wrong[2].0 = 1;
        let res = run_batch(&f, &wrong);
        assert_eq!(res[2], Err(Error::ShareForOtherCiphertext { trustee: 3 }));
    }

    #[test]
    fn batch_weights_defeat_cancelling_errors() {
        // Two bad shares whose errors cancel in the unweighted sum of the equations: share 1's
        // b is moved by +δG and share 2's by −δG (each re-proved with its new b hashed, so the
        // only error is in the b equation). With all weights 1 the sum would pass.
        let f = fixture(5, 3, 2);
        let mut rng = rand::rng();
        let ct = &f.cts[0];
        let delta = group::random_scalar(&mut rng);
        let dg = ProjectivePoint::GENERATOR * delta;
        let forge = |key: &VerifiedKeyShare, shift: ProjectivePoint| -> DecryptionShare {
            // a commitment pair whose b is off by `shift`, with z computed honestly for it
            let u = ct.ciphertext().u.inner();
            let t = group::random_scalar(&mut rand::rng());
            let a = Point::new(*u * t, "a").unwrap();
            let b = Point::new(ProjectivePoint::GENERATOR * t + shift, "b").unwrap();
            let d = Point::new(*u * key.secret(), "d").unwrap();
            let e = dleq_challenge(
                &f.set.id(),
                key.index(),
                &ct.digest(),
                &f.ctx.0,
                key.verification_key().inner(),
                u,
                d.inner(),
                a.inner(),
                b.inner(),
            );
            DecryptionShare {
                version: V1::default(),
                trustee: key.index(),
                ciphertext: ct.digest(),
                context: f.ctx.0,
                d,
                a,
                b,
                z: t + *key.secret() * e,
            }
        };
        let s1 = forge(&f.keys[0], dg);
        let s2 = forge(&f.keys[1], -dg);
        let s3 = f.keys[2].decryption_share(ct, &f.ctx, &mut rng).unwrap();
        let batch = vec![(0, s1), (0, s2), (0, s3)];
        // The unweighted sum of all six equations vanishes: a naive batch check would pass.
        let prepared: Vec<Prepared<'_>> = batch
            .iter()
            .map(|(m, s)| Prepared::new(&f.set, &f.cts[*m], &f.ctx, s).unwrap())
            .collect();
        let mut sum = ProjectivePoint::IDENTITY;
        for p in &prepared {
            let s = p.share;
            sum += *p.u * s.z - s.a.inner() - *s.d.inner() * p.e;
            sum += ProjectivePoint::GENERATOR * s.z - s.b.inner() - *p.x_i * p.e;
        }
        assert_eq!(sum, ProjectivePoint::IDENTITY);
        // The weighted batch does not, and both cheaters are named.
        assert!(!batch_equation_holds(&prepared));
        let res = run_batch(&f, &batch);
        assert_eq!(
            res,
            vec![
                Err(Error::BadShareProof { trustee: 1 }),
                Err(Error::BadShareProof { trustee: 2 }),
                Ok(())
            ]
        );
    }

    #[test]
    fn identity_commitments_are_refused_on_decoding() {
        let f = fixture(3, 2, 1);
        let s = f.keys[0]
            .decryption_share(&f.cts[0], &f.ctx, &mut rand::rng())
            .unwrap();
        let json = crate::codec::to_json(&s);
        let back: DecryptionShare = crate::codec::from_json("share", &json).unwrap();
        assert_eq!(back, s);
        for field in ["a", "b"] {
            let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
            v[field] = serde_json::Value::String("00".repeat(33));
            assert!(
                crate::codec::from_json::<DecryptionShare>("share", &v.to_string()).is_err(),
                "{field} = identity accepted"
            );
            v[field] = serde_json::Value::String("00".into());
            assert!(crate::codec::from_json::<DecryptionShare>("share", &v.to_string()).is_err());
        }
        // and e is no longer a field
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["e"] = serde_json::Value::String("00".repeat(32));
        assert!(crate::codec::from_json::<DecryptionShare>("share", &v.to_string()).is_err());
    }

    #[test]
    fn combine_verified_uses_batch_results_and_checks_binding() {
        let f = fixture(5, 3, 2);
        let shares = all_shares(&f);
        let mut bad = shares.clone();
        bad[1].1.z += Scalar::ONE;
        let items = items(&f, &bad);
        let res = verify_batch(&f.set, &items);
        assert_eq!(res[1], Err(Error::BadShareProof { trustee: 2 }));
        let verified: Vec<VerifiedShare> = res.into_iter().filter_map(Result::ok).collect();
        let (m0, m1): (Vec<_>, Vec<_>) = verified
            .iter()
            .cloned()
            .partition(|v| v.share().ciphertext == f.cts[0].digest());
        assert_eq!(m0.len(), 4);
        let c0 = combine_verified(&f.set, &f.cts[0], &f.ctx, &m0).unwrap();
        assert_eq!(c0.used, vec![1, 3, 4]);
        assert!(c0.rejected.is_empty());
        // a verified share of another ciphertext is named, not used
        let mut mixed = m1.clone();
        mixed.insert(0, m0[0].clone());
        mixed.remove(1);
        let c1 = combine_verified(&f.set, &f.cts[1], &f.ctx, &mixed).unwrap();
        assert_eq!(
            c1.rejected,
            vec![(1, Error::ShareForOtherCiphertext { trustee: 1 })]
        );
        assert_eq!(c1.used, vec![2, 3, 4]);
        let other = ShareContext::warrant(crate::codec::WarrantDigest::from_bytes([7; 32]));
        assert!(matches!(
            combine_verified(&f.set, &f.cts[1], &other, &m1).unwrap_err(),
            Error::NotEnoughShares { valid: 0, .. }
        ));
        // duplicates
        let dup = vec![m1[0].clone(), m1[0].clone()];
        assert_eq!(
            combine_verified(&f.set, &f.cts[1], &f.ctx, &dup).unwrap_err(),
            Error::DuplicateTrustee(1)
        );
        // another set: same indices, other id
        let g = fixture(5, 3, 1);
        let c = combine_verified(&g.set, &f.cts[1], &f.ctx, &m1);
        assert!(matches!(
            c.unwrap_err(),
            Error::NotEnoughShares { valid: 0, .. }
        ));
    }
}
