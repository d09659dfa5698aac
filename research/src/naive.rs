//! The naive alternative, implemented as a baseline: Shamir-split every message key in the
//! P-256 scalar field (`vsss-rs`) and encrypt share i to trustee i with ECIES
//! (`escrow_core::ecies`: ephemeral ECDH, HKDF-SHA-256, AES-256-GCM), bound to the label.
//!
//! It is what "escrow to k of n" looks like without a threshold cryptosystem: the sender pays
//! n public-key encryptions and the header grows with n; a trustee decrypts its own box; the
//! combiner interpolates k scalars. It has no public ciphertext check (nobody but the
//! trustees can tell a garbage header from a good one, and each only for its own box) and no
//! share proofs (a wrong share is found only when the recovered key fails to open the body,
//! and the culprit is found only by trying subsets). See `docs/experiments.md`.

use crate::{Error, Result};
use escrow_core::ecies::{self, EciesBox};
use escrow_core::group::{scalar_from_bytes, scalar_to_bytes};
use escrow_core::keys::{PrivateKey, PublicKey};
use escrow_core::label::Label;
use escrow_core::secret::MessageKey;
use escrow_core::trustee::check_parameters;
use p256::Scalar;
use vsss_rs::{DefaultShare, IdentifierPrimeField, ReadableShareSet, Share as _};
use zeroize::Zeroize;

type VShare = DefaultShare<IdentifierPrimeField<Scalar>, IdentifierPrimeField<Scalar>>;

/// Context prefix of the naive scheme's ECIES boxes.
pub const CTX_NAIVE: &[u8] = b"escrow-research/naive/v1";

/// The naive scheme's trustee set: one ECIES key pair per trustee.
#[derive(Debug)]
pub struct NaiveSet {
    k: u16,
    secrets: Vec<PrivateKey>,
    publics: Vec<PublicKey>,
}

/// The naive escrow header of one message: one ECIES box per trustee.
#[derive(Clone, Debug)]
pub struct NaiveCiphertext {
    /// Canonical label bytes (bound into every box).
    pub label: Vec<u8>,
    /// Box i-1 is for trustee i.
    pub boxes: Vec<EciesBox>,
}

/// A share as released by trustee `index` (plain, no proof).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NaiveShare {
    /// Trustee index (1-based, the Shamir x-coordinate).
    pub index: u16,
    /// The share value f(index).
    pub value: Scalar,
}

/// Bytes of one released naive share on the wire: index (2) and value (32).
pub const NAIVE_SHARE_BYTES: usize = 2 + 32;

fn context(label: &[u8], index: u16) -> Vec<u8> {
    let mut c = Vec::with_capacity(CTX_NAIVE.len() + 6 + label.len());
    c.extend_from_slice(CTX_NAIVE);
    c.extend_from_slice(&(label.len() as u32).to_be_bytes());
    c.extend_from_slice(label);
    c.extend_from_slice(&index.to_be_bytes());
    c
}

impl NaiveSet {
    /// A fresh k-of-n set (same parameter rules as the real trustee set).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(n: u64, k: u64, rng: &mut R) -> Result<Self> {
        let (n, k) = check_parameters(n, k)?;
        let secrets: Vec<PrivateKey> = (0..n).map(|_| PrivateKey::generate(rng)).collect();
        let publics = secrets.iter().map(PrivateKey::public).collect();
        Ok(NaiveSet {
            k,
            secrets,
            publics,
        })
    }

    /// Threshold k.
    pub fn threshold(&self) -> u16 {
        self.k
    }

    /// Number of trustees n.
    pub fn trustees(&self) -> u16 {
        self.publics.len() as u16
    }

    /// Seal: split the message key into n shares, any k of which recover it, and encrypt
    /// share i to trustee i, bound to the label.
    pub fn seal<R: rand_core::CryptoRng + ?Sized>(
        &self,
        label: &Label,
        key: &MessageKey,
        rng: &mut R,
    ) -> Result<NaiveCiphertext> {
        let n = self.publics.len();
        let secret = scalar_from_bytes(key.expose(), "message key")
            .map_err(|_| Error::Naive("message key is not below the P-256 group order".into()))?;
        let mut values: Vec<Scalar> = if self.k == 1 {
            vec![secret; n]
        } else {
            let mut s = IdentifierPrimeField(secret);
            let res =
                vsss_rs::shamir::split_secret::<VShare>(usize::from(self.k), n, &s, &mut *rng);
            s.0.zeroize();
            let mut shares = res.map_err(|e| Error::Naive(format!("split: {e:?}")))?;
            let mut out = Vec::with_capacity(n);
            for (pos, sh) in shares.iter().enumerate() {
                if sh.identifier().0 != Scalar::from(pos as u64 + 1) {
                    return Err(Error::Naive(
                        "unexpected share numbering from vsss-rs".into(),
                    ));
                }
                out.push(sh.value().0);
            }
            for sh in shares.iter_mut() {
                sh.value.0.zeroize();
            }
            out
        };
        let label = label.to_bytes();
        let mut boxes = Vec::with_capacity(n);
        for ((pk, v), i) in self.publics.iter().zip(&values).zip(1u16..) {
            let mut pt = scalar_to_bytes(v);
            let b = ecies::encrypt(pk, &context(&label, i), &pt, rng);
            pt.zeroize();
            boxes.push(b?);
        }
        values.zeroize();
        Ok(NaiveCiphertext { label, boxes })
    }

    /// Trustee `index` (1-based) decrypts its own box and releases its share.
    pub fn trustee_share(&self, index: u16, ct: &NaiveCiphertext) -> Result<NaiveShare> {
        let pos = usize::from(index)
            .checked_sub(1)
            .ok_or_else(|| Error::Naive("trustee index 0".into()))?;
        let (sk, b) = self
            .secrets
            .get(pos)
            .zip(ct.boxes.get(pos))
            .ok_or_else(|| Error::Naive(format!("no trustee {index}")))?;
        let pt = ecies::decrypt(sk, &context(&ct.label, index), b, "naive share")?;
        let value = scalar_from_bytes(&pt, "naive share")?;
        Ok(NaiveShare { index, value })
    }
}

impl NaiveCiphertext {
    /// Bytes on the wire: label, then per trustee the ephemeral key (33) and the
    /// length-prefixed AEAD ciphertext (4 + 32 + 16). (The real escrow header's
    /// `canonical_bytes` also has the label and a 32-byte set id; this adds the same 32.)
    pub fn wire_len(&self) -> usize {
        32 + 4
            + self.label.len()
            + self
                .boxes
                .iter()
                .map(|b| 33 + 4 + b.ciphertext.len())
                .sum::<usize>()
    }
}

/// Combine the first k shares (Lagrange interpolation at 0 in the scalar field, `vsss-rs`).
/// There is no way to tell a wrong share from a good one here: a wrong share gives a wrong key.
pub fn combine(k: u16, shares: &[NaiveShare]) -> Result<MessageKey> {
    let k = usize::from(k);
    if shares.len() < k || k == 0 {
        return Err(Error::Naive(format!("{} shares, {k} needed", shares.len())));
    }
    let v: Vec<VShare> = shares
        .iter()
        .take(k)
        .map(|s| {
            VShare::with_identifier_and_value(
                IdentifierPrimeField(Scalar::from(u64::from(s.index))),
                IdentifierPrimeField(s.value),
            )
        })
        .collect();
    let secret = if k == 1 {
        v.first().map(|s| s.value().0).unwrap_or(Scalar::ZERO)
    } else {
        v.combine()
            .map_err(|e| Error::Naive(format!("combine: {e:?}")))?
            .0
    };
    Ok(MessageKey::from_bytes(scalar_to_bytes(&secret)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::workload;

    #[test]
    fn any_k_recover_and_k_minus_1_do_not() {
        let mut rng = rand::rng();
        let msgs = workload::messages(2, &mut rng).unwrap();
        for (n, k) in [(5u16, 3u16), (7, 4), (4, 1), (3, 3)] {
            let set = NaiveSet::generate(n.into(), k.into(), &mut rng).unwrap();
            for m in &msgs {
                let ct = set.seal(&m.label, &m.key, &mut rng).unwrap();
                assert_eq!(ct.boxes.len(), usize::from(n));
                let all: Vec<NaiveShare> = (1..=n)
                    .map(|i| set.trustee_share(i, &ct).unwrap())
                    .collect();
                // every window of k consecutive trustees, and the last k in reverse order
                for start in 0..=(n - k) {
                    let s = &all[usize::from(start)..usize::from(start + k)];
                    assert_eq!(combine(k, s).unwrap(), m.key, "n={n} k={k} start={start}");
                }
                let mut rev: Vec<NaiveShare> =
                    all.iter().rev().take(usize::from(k)).cloned().collect();
                rev.reverse();
                assert_eq!(combine(k, &rev).unwrap(), m.key);
                // k - 1 shares: refused by count; and interpolating them as if k - 1 were the
                // threshold gives a different key
                if k >= 2 {
                    assert!(combine(k, &all[..usize::from(k) - 1]).is_err());
                    if k >= 3 {
                        let wrong = combine(k - 1, &all[..usize::from(k) - 1]).unwrap();
                        assert_ne!(wrong, m.key);
                    }
                }
                // a tampered share gives a wrong key, silently
                let mut bad = all.clone();
                bad[0].value += Scalar::ONE;
                if k >= 2 {
                    assert_ne!(combine(k, &bad).unwrap(), m.key);
                }
            }
        }
    }

    #[test]
    fn boxes_are_bound_to_trustee_and_label() {
        let mut rng = rand::rng();
        let msgs = workload::messages(2, &mut rng).unwrap();
        let set = NaiveSet::generate(3, 2, &mut rng).unwrap();
        let ct = set.seal(&msgs[0].label, &msgs[0].key, &mut rng).unwrap();
        let mut swapped = ct.clone();
        swapped.boxes.swap(0, 1);
        assert!(set.trustee_share(1, &swapped).is_err());
        let mut relabelled = ct.clone();
        relabelled.label = msgs[1].label.to_bytes();
        assert!(set.trustee_share(1, &relabelled).is_err());
        assert!(set.trustee_share(0, &ct).is_err());
        assert!(set.trustee_share(4, &ct).is_err());
        assert!(NaiveSet::generate(3, 4, &mut rng).is_err());
        assert!(NaiveSet::generate(256, 4, &mut rng).is_err());
        assert_eq!(
            ct.wire_len(),
            32 + 4 + msgs[0].label.to_bytes().len() + 3 * (33 + 4 + 48)
        );
    }
}
