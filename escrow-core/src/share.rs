//! Decryption shares with Chaum–Pedersen DLEQ proofs, and the combiner.
//!
//! Trustee i, for a [`ValidCiphertext`] with `u = rG` and a context digest c:
//!
//! ```text
//! d_i = x_i·u;   t <- random;   a = t·u;   b = t·G
//! e_i = H(set_id || u16_be(i) || ct_digest || c || X_i || u || d_i || a || b)  (DST_DLEQ)
//! z_i = t + x_i·e_i
//! ```
//!
//! Verifier: `a = z_i·u − e_i·d_i`, `b = z_i·G − e_i·X_i`, recompute e_i. The combiner checks
//! every proof, names the trustees whose shares fail, and interpolates any k good shares in the
//! exponent: `xu = Σ λ_i d_i`.

use crate::codec::{Digest32, V1};
use crate::error::{Error, Result};
use crate::group::{self, Point, scalar_hex};
use crate::secret::{MessageKey, SecretScalar};
use crate::tdh2::ValidCiphertext;
use crate::trustee::{TrusteeSet, VerifiedKeyShare};
use p256::elliptic_curve::group::Group as _;
use p256::{ProjectivePoint, Scalar};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// DST of the DLEQ challenge.
pub const DST_DLEQ: &str = "ESCROW-V1-DLEQ-CHALLENGE_P256_XMD:SHA-256";
/// Tag of the context used when no warrant is involved (k trustees colluding).
pub const TAG_NO_WARRANT: &str = "escrow/v1/no-warrant";

/// What a share is bound to besides trustee and ciphertext: the warrant's digest, or the
/// explicit "no warrant" context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareContext(pub Digest32);

impl ShareContext {
    /// Bound to a warrant (its envelope digest).
    pub fn warrant(digest: Digest32) -> Self {
        ShareContext(digest)
    }
    /// Released without any warrant (the collusion demonstration).
    pub fn without_warrant() -> Self {
        ShareContext(Digest32::tagged(TAG_NO_WARRANT, &[]))
    }
}

/// A decryption share with its DLEQ proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptionShare {
    /// Format version.
    pub version: V1,
    /// Trustee index i.
    pub trustee: u16,
    /// Digest of the ciphertext this share is for.
    pub ciphertext: Digest32,
    /// The context the proof is bound to.
    pub context: Digest32,
    /// `d_i = x_i u`.
    pub d: Point,
    /// Challenge e_i.
    #[serde(with = "scalar_hex")]
    pub e: Scalar,
    /// Response z_i.
    #[serde(with = "scalar_hex")]
    pub z: Scalar,
}

#[allow(clippy::too_many_arguments)]
fn dleq_challenge(
    set_id: &Digest32,
    trustee: u16,
    ct: &Digest32,
    ctx: &Digest32,
    x_i: &ProjectivePoint,
    u: &ProjectivePoint,
    d: &ProjectivePoint,
    a: &ProjectivePoint,
    b: &ProjectivePoint,
) -> Scalar {
    let mut m = Vec::with_capacity(32 * 3 + 2 + 33 * 5);
    m.extend_from_slice(set_id.as_bytes());
    m.extend_from_slice(&trustee.to_be_bytes());
    m.extend_from_slice(ct.as_bytes());
    m.extend_from_slice(ctx.as_bytes());
    for p in [x_i, u, d, a, b] {
        m.extend_from_slice(&crate::tdh2::sec1c(p));
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
        // A ValidCiphertext does not record which set it was checked against: refuse one
        // escrowed to another trustee set.
        if ct.ciphertext().set_id != self.set_id() {
            return Err(Error::CiphertextForOtherSet {
                found: ct.ciphertext().set_id.short(),
                expected: self.set_id().short(),
            });
        }
        let u = ct.ciphertext().u.inner();
        let x = self.secret();
        let d = Point::new(*u * x, "d")?;
        let t = SecretScalar::new(group::random_scalar(rng));
        let a = *u * t.expose();
        let b = ProjectivePoint::mul_by_generator(t.expose());
        let e = dleq_challenge(
            &self.set_id(),
            self.index(),
            &ct.digest(),
            &context.0,
            self.verification_key().inner(),
            u,
            d.inner(),
            &a,
            &b,
        );
        let z = *t.expose() + *x * e;
        Ok(DecryptionShare {
            version: V1::default(),
            trustee: self.index(),
            ciphertext: ct.digest(),
            context: context.0,
            d,
            e,
            z,
        })
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
        let member = set.member(self.trustee)?;
        if self.ciphertext != ct.digest() || self.context != context.0 {
            return Err(Error::ShareForOtherCiphertext {
                trustee: self.trustee,
            });
        }
        let u = ct.ciphertext().u.inner();
        let x_i = member.verification_key.inner();
        let neg_e = -self.e;
        let a = group::lincomb2_vartime(u, &self.z, self.d.inner(), &neg_e);
        let b = group::mul_g_add_vartime(&self.z, &neg_e, x_i);
        let e = dleq_challenge(
            &set.id(),
            self.trustee,
            &ct.digest(),
            &context.0,
            x_i,
            u,
            self.d.inner(),
            &a,
            &b,
        );
        if e == self.e {
            Ok(())
        } else {
            Err(Error::BadShareProof {
                trustee: self.trustee,
            })
        }
    }
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

/// Verify every share given (all of them, so that every cheating trustee is named, not only
/// those before the first k good ones), reject bad ones by name, and combine k good ones to recover the
/// message key. Errors: a share index of 0 or above n, the same trustee twice, fewer than k
/// valid shares, or a wrapped key that does not open.
pub fn combine(
    set: &TrusteeSet,
    ct: &ValidCiphertext,
    context: &ShareContext,
    shares: &[DecryptionShare],
) -> Result<Combined> {
    let mut seen = BTreeSet::new();
    for s in shares {
        if s.trustee == 0 || s.trustee > set.trustees() {
            return Err(Error::TrusteeOutOfRange {
                index: u64::from(s.trustee),
                n: set.trustees(),
            });
        }
        if !seen.insert(s.trustee) {
            return Err(Error::DuplicateTrustee(s.trustee));
        }
    }
    let k = usize::from(set.threshold());
    let mut good: Vec<&DecryptionShare> = Vec::with_capacity(k);
    let mut rejected = Vec::new();
    for s in shares {
        match s.verify(set, ct, context) {
            Ok(()) => good.push(s),
            Err(e) => rejected.push((s.trustee, e)),
        }
    }
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
    let z = group::msm_vartime(&terms);
    let message_key = ct.unwrap_with(&z)?;
    Ok(Combined {
        message_key,
        used: ids,
        rejected,
    })
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
        let other = ShareContext::warrant(Digest32([7; 32]));
        assert!(combine(&d.set, &v, &other, &shares).is_err());
    }
}
