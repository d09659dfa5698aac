//! RFC 9162 §2.1.3–2.1.4: inclusion and consistency proofs over leaf hashes, with the RFC's
//! generation (`PATH`, `SUBPROOF`) and verification algorithms, written as the RFC states them.
//!
//! Generation takes the leaf hashes of the tree (the trustee node reads them from its
//! database); verification needs only the proof, the hashes and the sizes (the auditor).

use super::merkle::{mth, node_hash};
use crate::codec::Digest32;

/// Why a proof was not produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Index or sizes out of range for the tree.
    #[error("proof parameters out of range: {0}")]
    OutOfRange(String),
    /// The proof does not verify.
    #[error("the {0} proof does not verify")]
    Invalid(&'static str),
    /// The hashes a proof is computed from could not be read (see
    /// [`super::tiles::TileProver`]).
    #[error("reading the tree's hashes: {0}")]
    Read(String),
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: usize) -> usize {
    let mut k = 1usize;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// `PATH(m, D[n])` (RFC 9162 §2.1.3.1): the audit path of leaf `m` in the tree over `leaves`.
pub fn inclusion_proof(leaves: &[Digest32], m: u64) -> Result<Vec<Digest32>, ProofError> {
    let n = leaves.len();
    let m = usize::try_from(m).map_err(|_| ProofError::OutOfRange("index".into()))?;
    if m >= n {
        return Err(ProofError::OutOfRange(format!(
            "leaf index {m} >= tree size {n}"
        )));
    }
    let mut out = Vec::new();
    path(m, leaves, &mut out);
    Ok(out)
}

fn path(m: usize, d: &[Digest32], out: &mut Vec<Digest32>) {
    if d.len() <= 1 {
        return;
    }
    let k = split_point(d.len());
    let (l, r) = d.split_at(k);
    if m < k {
        path(m, l, out);
        out.push(mth(r));
    } else {
        path(m - k, r, out);
        out.push(mth(l));
    }
}

/// RFC 9162 §2.1.3.2: verify that `leaf` is leaf `index` of the tree of `size` with `root`.
pub fn verify_inclusion(
    leaf: &Digest32,
    index: u64,
    size: u64,
    proof: &[Digest32],
    root: &Digest32,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange(format!(
            "leaf index {index} >= tree size {size}"
        )));
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::Invalid("inclusion"));
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && r == *root {
        Ok(())
    } else {
        Err(ProofError::Invalid("inclusion"))
    }
}

/// `PROOF(m, D[n])` (RFC 9162 §2.1.4.1): the consistency proof from the tree of the first `m`
/// leaves to the tree over all of `leaves`. Empty when `m == n` or `m == 0` (nothing to prove).
pub fn consistency_proof(leaves: &[Digest32], m: u64) -> Result<Vec<Digest32>, ProofError> {
    let n = leaves.len();
    let m = usize::try_from(m).map_err(|_| ProofError::OutOfRange("old size".into()))?;
    if m > n {
        return Err(ProofError::OutOfRange(format!(
            "old size {m} > new size {n}"
        )));
    }
    let mut out = Vec::new();
    if m > 0 && m < n {
        subproof(m, leaves, true, &mut out);
    }
    Ok(out)
}

fn subproof(m: usize, d: &[Digest32], b: bool, out: &mut Vec<Digest32>) {
    let n = d.len();
    if m == n {
        if !b {
            out.push(mth(d));
        }
        return;
    }
    let k = split_point(n);
    let (l, r) = d.split_at(k);
    if m <= k {
        subproof(m, l, b, out);
        out.push(mth(r));
    } else {
        subproof(m - k, r, false, out);
        out.push(mth(l));
    }
}

/// RFC 9162 §2.1.4.2: verify that the tree (`old_size`, `old_root`) is a prefix of the tree
/// (`new_size`, `new_root`). The RFC's algorithm covers `0 < old_size < new_size`; for equal
/// sizes the proof must be empty and the roots equal, and the empty tree is a prefix of every
/// tree (empty proof).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Digest32,
    new_root: &Digest32,
    proof: &[Digest32],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OutOfRange(format!(
            "old size {old_size} > new size {new_size}"
        )));
    }
    if old_size == new_size {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::Invalid("consistency"))
        };
    }
    if old_size == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::Invalid("consistency"))
        };
    }
    // 1. An empty path fails.
    if proof.is_empty() {
        return Err(ProofError::Invalid("consistency"));
    }
    // 2. If old_size is a power of two, prepend old_root.
    let mut cp: Vec<Digest32> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        cp.push(*old_root);
    }
    cp.extend_from_slice(proof);
    // 3.
    let mut f = old_size - 1;
    let mut s = new_size - 1;
    // 4.
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // 5.
    let Some((first, rest)) = cp.split_first() else {
        return Err(ProofError::Invalid("consistency"));
    };
    let mut fr = *first;
    let mut sr = *first;
    // 6.
    for c in rest {
        if s == 0 {
            return Err(ProofError::Invalid("consistency"));
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // 7.
    if fr == *old_root && sr == *new_root && s == 0 {
        Ok(())
    } else {
        Err(ProofError::Invalid("consistency"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::audit::leaf_hash;

    fn leaves(n: u32) -> Vec<Digest32> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn inclusion_every_leaf_every_size() {
        let all = leaves(260);
        for n in 1..=all.len() {
            let d = &all[..n];
            let root = mth(d);
            for m in 0..n {
                let p = inclusion_proof(d, m as u64).unwrap();
                verify_inclusion(&d[m], m as u64, n as u64, &p, &root).unwrap();
                // wrong leaf, wrong index, wrong size all fail
                let other = leaf_hash(b"x");
                assert!(verify_inclusion(&other, m as u64, n as u64, &p, &root).is_err());
                if n > 1 {
                    let wrong = (m + 1) % n;
                    assert!(verify_inclusion(&d[m], wrong as u64, n as u64, &p, &root).is_err());
                }
                // (a path can fit several tree sizes, as ct-merkle notes: the size is bound by the
                // signed checkpoint, not by the path)
            }
            assert!(inclusion_proof(d, n as u64).is_err());
        }
    }

    #[test]
    fn consistency_every_old_size_every_size() {
        let all = leaves(260);
        for n in 1..=all.len() {
            let d = &all[..n];
            let root = mth(d);
            for m in 0..=n {
                let old = mth(&d[..m]);
                let p = consistency_proof(d, m as u64).unwrap();
                verify_consistency(m as u64, n as u64, &old, &root, &p).unwrap();
                if m > 0 && m < n {
                    let bad = leaf_hash(b"forked");
                    assert!(verify_consistency(m as u64, n as u64, &bad, &root, &p).is_err());
                    assert!(verify_consistency(m as u64, n as u64, &old, &bad, &p).is_err());
                    let mut forked = d.to_vec();
                    forked[m - 1] = bad;
                    assert!(
                        verify_consistency(m as u64, n as u64, &old, &mth(&forked), &p).is_err()
                    );
                }
            }
        }
    }

    /// Cross-check against the `ct-merkle` crate (roots, inclusion proofs byte for byte,
    /// consistency proofs both ways) and azul's `tlog_tiles` verifiers (Go tlog semantics).
    #[test]
    fn cross_check_with_ct_merkle_and_tlog_tiles() {
        use ct_merkle::mem_backed_tree::MemoryBackedTree;
        use tlog_tiles::tlog::{Hash, check_record, check_tree};
        let vals: Vec<Vec<u8>> = (0u32..70).map(|i| i.to_be_bytes().to_vec()).collect();
        let all: Vec<Digest32> = vals.iter().map(|v| leaf_hash(v)).collect();
        let mut t = MemoryBackedTree::<sha2::Sha256, Vec<u8>>::new();
        let mut roots = Vec::new();
        for n in 1..=vals.len() {
            t.push(vals[n - 1].clone());
            let ct_root = t.root();
            let d = &all[..n];
            let root = mth(d);
            assert_eq!(ct_root.as_bytes().as_slice(), root.as_bytes(), "root {n}");
            roots.push(ct_root.clone());
            for m in 0..n {
                let mine = inclusion_proof(d, m as u64).unwrap();
                let theirs = t.prove_inclusion(m);
                let flat: Vec<u8> = mine.iter().flat_map(|h| h.0).collect();
                assert_eq!(theirs.as_bytes(), flat.as_slice(), "inclusion {m} in {n}");
                let hs: Vec<Hash> = mine.iter().map(|h| Hash(h.0)).collect();
                check_record(&hs, n as u64, Hash(root.0), m as u64, Hash(d[m].0)).unwrap();
            }
            for m in 1..n {
                let old = mth(&d[..m]);
                let mine = consistency_proof(d, m as u64).unwrap();
                let theirs = t.prove_consistency(n - m);
                let flat: Vec<u8> = mine.iter().flat_map(|h| h.0).collect();
                assert_eq!(theirs.as_bytes(), flat.as_slice(), "consistency {m}->{n}");
                ct_root.verify_consistency(&roots[m - 1], &theirs).unwrap();
                let hs: Vec<Hash> = mine.iter().map(|h| Hash(h.0)).collect();
                check_tree(&hs, n as u64, Hash(root.0), m as u64, Hash(old.0)).unwrap();
            }
        }
    }
}
