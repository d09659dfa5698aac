//! RFC 9162 §2.1 Merkle tree hashing (the Certificate Transparency 2.0 tree).
//!
//! ```text
//! MTH({})        = SHA-256()
//! MTH({d0})      = SHA-256(0x00 || d0)                       leaf hash
//! MTH(D[n])      = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  node hash,
//!                  k the largest power of two smaller than n
//! ```
//!
//! [`mth`] is the recursive definition, used as the reference; [`Frontier`] computes the same
//! root incrementally in `O(log n)` memory from the right edge of the tree (the perfect
//! subtrees of sizes given by the binary digits of n), which is what the trustee node keeps
//! while it appends. Inclusion and consistency proofs (RFC 9162 §2.1.3–2.1.4) are computed over
//! the same leaf hashes.

use crate::codec::Digest32;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Prefix of a leaf hash.
pub const LEAF_PREFIX: u8 = 0x00;
/// Prefix of an interior node hash.
pub const NODE_PREFIX: u8 = 0x01;

/// `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Digest32 {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(entry);
    Digest32(h.finalize().into())
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Digest32, right: &Digest32) -> Digest32 {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.as_bytes());
    h.update(right.as_bytes());
    Digest32(h.finalize().into())
}

/// The root of the empty tree: `SHA-256()` of the empty string.
pub fn empty_root() -> Digest32 {
    Digest32(Sha256::digest([]).into())
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split_point(n: usize) -> usize {
    let mut k = 1usize;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The Merkle tree hash of a list of leaf hashes, by the recursive definition of RFC 9162.
pub fn mth(leaves: &[Digest32]) -> Digest32 {
    match leaves {
        [] => empty_root(),
        [one] => *one,
        _ => {
            let k = split_point(leaves.len());
            let (l, r) = leaves.split_at(k);
            node_hash(&mth(l), &mth(r))
        }
    }
}

/// A tree head: size and root hash. What a checkpoint signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeHead {
    /// Number of leaves.
    pub size: u64,
    /// Root hash (hex in JSON).
    pub root: Digest32,
}

/// The right edge of a growing tree: one hash per perfect subtree, left to right, sizes the
/// binary digits of the tree size from the most significant. Appending is amortised O(1),
/// the root O(log n).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (subtree size, subtree hash), sizes strictly decreasing powers of two.
    nodes: Vec<(u64, Digest32)>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Frontier::default()
    }

    /// The tree over `leaves` (leaf hashes).
    pub fn from_leaves<'a>(leaves: impl IntoIterator<Item = &'a Digest32>) -> Self {
        let mut f = Frontier::new();
        for l in leaves {
            f.push(*l);
        }
        f
    }

    /// Append a leaf hash.
    pub fn push(&mut self, leaf: Digest32) {
        let mut hash = leaf;
        let mut size = 1u64;
        while let Some(&(s, h)) = self.nodes.last() {
            if s != size {
                break;
            }
            self.nodes.pop();
            hash = node_hash(&h, &hash);
            size = size.saturating_mul(2);
        }
        self.nodes.push((size, hash));
        self.size = self.size.saturating_add(1);
    }

    /// Append the leaf hash of `entry` bytes; returns the new leaf's index.
    pub fn push_entry(&mut self, entry: &[u8]) -> u64 {
        let index = self.size;
        self.push(leaf_hash(entry));
        index
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash (RFC 9162 MTH).
    pub fn root(&self) -> Digest32 {
        let mut it = self.nodes.iter().rev();
        let Some(&(_, mut acc)) = it.next() else {
            return empty_root();
        };
        for (_, left) in it {
            acc = node_hash(left, &acc);
        }
        acc
    }

    /// The perfect subtrees of the right edge: (subtree size, subtree hash), left to right
    /// (what [`Frontier::from_nodes`] takes back).
    pub fn nodes(&self) -> &[(u64, Digest32)] {
        &self.nodes
    }

    /// The frontier with these perfect subtrees (as [`Frontier::nodes`] lists them); `None`
    /// unless their sizes are powers of two, strictly decreasing.
    pub fn from_nodes(nodes: Vec<(u64, Digest32)>) -> Option<Self> {
        let mut size = 0u64;
        let mut last = u64::MAX;
        for &(s, _) in &nodes {
            if !s.is_power_of_two() || s >= last {
                return None;
            }
            last = s;
            size = size.checked_add(s)?;
        }
        Some(Frontier { size, nodes })
    }

    /// The tree head.
    pub fn head(&self) -> TreeHead {
        TreeHead {
            size: self.size,
            root: self.root(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leaves of the Certificate Transparency reference test suite
    /// (`merkle_tree_test.cc`, RFC 6962 §2.1 hashing, identical in RFC 9162).
    fn ct_leaves() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
            (0x60u8..=0x6f).collect(),
        ]
    }

    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn certificate_transparency_vectors() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let leaves: Vec<Digest32> = ct_leaves().iter().map(|l| leaf_hash(l)).collect();
        for (n, want) in CT_ROOTS.iter().enumerate() {
            let got = mth(&leaves[..=n]);
            assert_eq!(got.to_hex(), *want, "tree of {} leaves", n + 1);
            assert_eq!(Frontier::from_leaves(&leaves[..=n]).root(), got);
        }
    }

    #[test]
    fn frontier_matches_recursive_definition_for_every_size() {
        let leaves: Vec<Digest32> = (0u32..300).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut f = Frontier::new();
        assert_eq!(f.root(), empty_root());
        for n in 1..=leaves.len() {
            f.push(leaves[n - 1]);
            assert_eq!(f.size(), n as u64);
            assert_eq!(f.root(), mth(&leaves[..n]), "size {n}");
        }
    }

    #[test]
    fn a_frontier_resumes_from_its_nodes_and_refuses_nodes_of_no_tree() {
        let leaves: Vec<Digest32> = (0u32..40).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        for cut in 0..leaves.len() {
            let f = Frontier::from_leaves(&leaves[..cut]);
            let mut resumed = Frontier::from_nodes(f.nodes().to_vec()).unwrap();
            assert_eq!(resumed, f);
            for l in &leaves[cut..] {
                resumed.push(*l);
            }
            assert_eq!(resumed.root(), mth(&leaves), "resumed at {cut}");
        }
        let h = leaf_hash(b"x");
        assert!(Frontier::from_nodes(vec![(3, h)]).is_none());
        assert!(Frontier::from_nodes(vec![(2, h), (2, h)]).is_none());
        assert!(Frontier::from_nodes(vec![(1, h), (2, h)]).is_none());
    }

    #[test]
    fn prefixes_separate_leaves_from_nodes() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut cat = Vec::new();
        cat.extend_from_slice(a.as_bytes());
        cat.extend_from_slice(b.as_bytes());
        assert_ne!(leaf_hash(&cat), node_hash(&a, &b));
    }
}
