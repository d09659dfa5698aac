//! The log as C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): tile coordinates and their
//! paths, tile contents over RFC 9162 hashes, and entry bundles.
//!
//! A tile at level `L`, index `N` lists, for `i` in `0..W`, the Merkle tree hash of the
//! `256^L` leaves starting at `(N·256 + i)·256^L`; a full tile has `W = 256` (8,192 bytes), a
//! partial one `1 ≤ W ≤ 255` and its path ends in `.p/W`. The entry bundle `N` holds the entry
//! bytes of leaves `N·256 .. N·256 + W`, each prefixed by its length as a big-endian `u16`.
//! No I/O here: the trustee node serves tiles, a client checks them against a checkpoint.

use crate::codec::Digest32;

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// [`TILE_WIDTH`] as a tile's `width`.
pub const FULL_WIDTH: u16 = 256;
/// Bits of a tile's height (`256 = 2^8`).
pub const TILE_HEIGHT: u32 = 8;
/// Highest level a tile path may name (C2SP: 0 to 63).
pub const MAX_LEVEL: u8 = 63;
/// Longest entry an entry bundle can carry (its length prefix is a `u16`).
pub const MAX_BUNDLED_ENTRY: usize = u16::MAX as usize;

/// Why a tile path, a tile or an entry bundle is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileError {
    /// The path is not `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.
    #[error("malformed tile path {0:?}")]
    BadPath(String),
    /// An entry is longer than a bundle's `u16` length prefix can say.
    #[error(
        "entry {index} is {len} bytes, more than an entry bundle can carry ({MAX_BUNDLED_ENTRY})"
    )]
    EntryTooLong {
        /// Leaf index of the entry.
        index: u64,
        /// Its length.
        len: usize,
    },
    /// An entry bundle does not parse (truncated, or not the expected number of entries).
    #[error("malformed entry bundle: {0}")]
    BadBundle(&'static str),
}

/// What a tile lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Merkle tree hashes at level `L` (level 0: leaf hashes).
    Hashes(u8),
    /// Entry bundle (the entries of level-0 tile `N`).
    Entries,
}

/// Coordinates of one tile: kind, index within its level, width (`1..=256`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Hashes at a level, or entries.
    pub kind: TileKind,
    /// Index `N` within the level.
    pub index: u64,
    /// Width `W` (256 for a full tile).
    pub width: u16,
}

impl TileId {
    /// Parse the part of a tile path after `tile/`: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.
    /// Strict: no leading zeroes in `L` or `W`, 3-digit groups in `N` with an `x` on all but
    /// the last, `W` from 1 to 255 for a partial tile.
    pub fn parse(path: &str) -> Result<TileId, TileError> {
        let bad = || TileError::BadPath(path.chars().take(80).collect());
        let (first, rest) = path.split_once('/').ok_or_else(bad)?;
        let kind = if first == "entries" {
            TileKind::Entries
        } else {
            TileKind::Hashes(
                parse_small(first, 0, u64::from(MAX_LEVEL))
                    .and_then(|l| u8::try_from(l).ok())
                    .ok_or_else(bad)?,
            )
        };
        let (n_path, width) = match rest.split_once(".p/") {
            Some((n, w)) => (
                n,
                parse_small(w, 1, TILE_WIDTH - 1)
                    .and_then(|w| u16::try_from(w).ok())
                    .ok_or_else(bad)?,
            ),
            None => (rest, FULL_WIDTH),
        };
        let groups: Vec<&str> = n_path.split('/').collect();
        let last = groups.len().checked_sub(1).ok_or_else(bad)?;
        let mut index: u64 = 0;
        for (i, g) in groups.iter().enumerate() {
            let digits = if i < last {
                g.strip_prefix('x').ok_or_else(bad)?
            } else {
                g
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            let d: u64 = digits.parse().map_err(|_| bad())?;
            index = index
                .checked_mul(1000)
                .and_then(|x| x.checked_add(d))
                .ok_or_else(bad)?;
        }
        if groups.len() > 1 && groups.first().is_some_and(|g| *g == "x000") {
            return Err(bad()); // not the canonical encoding of N
        }
        Ok(TileId { kind, index, width })
    }

    /// The path after `tile/` (the inverse of [`TileId::parse`]).
    pub fn path(&self) -> String {
        let mut n = self.index;
        let mut s = format!("{:03}", n % 1000);
        while n >= 1000 {
            n /= 1000;
            s = format!("x{:03}/{s}", n % 1000);
        }
        let kind = match self.kind {
            TileKind::Hashes(l) => l.to_string(),
            TileKind::Entries => "entries".to_string(),
        };
        if u64::from(self.width) == TILE_WIDTH {
            format!("{kind}/{s}")
        } else {
            format!("{kind}/{s}.p/{}", self.width)
        }
    }

    /// Level (entry bundles are level 0).
    pub fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes(l) => l,
            TileKind::Entries => 0,
        }
    }

    /// The positions `[start, end)` this tile lists among the hashes of its level, or `None`
    /// when they do not all exist in a tree of `size` leaves (the tile is not served).
    pub fn range_in(&self, size: u64) -> Option<(u64, u64)> {
        let level = u32::from(self.level());
        let at_level = size
            .checked_shr(TILE_HEIGHT.checked_mul(level)?)
            .unwrap_or(0);
        let start = self.index.checked_mul(TILE_WIDTH)?;
        let end = start.checked_add(u64::from(self.width))?;
        (end <= at_level).then_some((start, end))
    }
}

fn parse_small(s: &str, min: u64, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    let v: u64 = s.parse().ok()?;
    (min..=max).contains(&v).then_some(v)
}

/// The bytes of a hash tile: its hashes concatenated.
pub fn tile_bytes(hashes: &[Digest32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len().saturating_mul(32));
    for h in hashes {
        out.extend_from_slice(h.as_bytes());
    }
    out
}

/// The hash a full tile contributes to the level above: the Merkle tree hash of its 256
/// hashes (they are the leaves of a perfect subtree of height 8).
pub fn full_tile_root(hashes: &[Digest32]) -> Digest32 {
    super::mth(hashes)
}

/// The hashes of levels 1 and above, derived from level 0: `levels[k]` holds the hashes of
/// level `k + 1`, one per *full* tile of level `k`, in order. Append-only (a full tile never
/// changes), about `size / 255` hashes for a tree of `size` leaves.
#[derive(Debug, Default, Clone)]
pub struct UpperLevels {
    levels: Vec<Vec<Digest32>>,
}

impl UpperLevels {
    /// Extend every level up to `level` to the full tiles of a tree of `size` leaves, reading
    /// level-0 hashes `[start, end)` (one full tile at a time) with `read_leaves`.
    pub fn extend<E>(
        &mut self,
        level: u8,
        size: u64,
        mut read_leaves: impl FnMut(u64, u64) -> Result<Vec<Digest32>, E>,
        short: impl Fn() -> E,
    ) -> Result<(), E> {
        for l in 0..usize::from(level) {
            let shift = TILE_HEIGHT.saturating_mul(u32::try_from(l).unwrap_or(u32::MAX) + 1);
            let want = size.checked_shr(shift).unwrap_or(0);
            while self.levels.len() <= l {
                self.levels.push(Vec::new());
            }
            loop {
                let have = self.levels.get(l).map_or(0, |v| v.len() as u64);
                if have >= want {
                    break;
                }
                let (s, e) = (have * TILE_WIDTH, (have + 1) * TILE_WIDTH);
                let below = match l.checked_sub(1) {
                    None => read_leaves(s, e)?,
                    Some(b) => self.get(b, s, e).ok_or_else(&short)?.to_vec(),
                };
                if below.len() as u64 != TILE_WIDTH {
                    return Err(short());
                }
                let root = full_tile_root(&below);
                if let Some(v) = self.levels.get_mut(l) {
                    v.push(root);
                }
            }
        }
        Ok(())
    }

    /// Hashes `[start, end)` of level `k + 1`, if derived.
    fn get(&self, k: usize, start: u64, end: u64) -> Option<&[Digest32]> {
        let (s, e) = (usize::try_from(start).ok()?, usize::try_from(end).ok()?);
        self.levels.get(k)?.get(s..e)
    }

    /// Hashes `[start, end)` of `level` (at least 1), if [`UpperLevels::extend`] derived them.
    pub fn hashes(&self, level: u8, start: u64, end: u64) -> Option<&[Digest32]> {
        self.get(usize::from(level).checked_sub(1)?, start, end)
    }
}

/// Encode an entry bundle; `first` is the leaf index of the first entry (for the error).
pub fn entry_bundle<'a>(
    first: u64,
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let len = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLong {
            index: first.saturating_add(i as u64),
            len: e.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Split an entry bundle into its entries (exactly `width` of them).
pub fn parse_entry_bundle(bytes: &[u8], width: usize) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::with_capacity(width);
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(TileError::BadBundle("truncated length"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(TileError::BadBundle("truncated entry"));
        }
        let (e, tail) = tail.split_at(len);
        out.push(e);
        rest = tail;
    }
    if out.len() != width {
        return Err(TileError::BadBundle("not the tile's number of entries"));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::audit::{leaf_hash, mth};

    #[test]
    fn paths_round_trip_and_strict() {
        for (p, kind, index, width) in [
            ("0/000", TileKind::Hashes(0), 0, 256),
            ("1/x001/x234/067.p/17", TileKind::Hashes(1), 1_234_067, 17),
            ("entries/x001/000", TileKind::Entries, 1000, 256),
            ("63/999.p/255", TileKind::Hashes(63), 999, 255),
        ] {
            let t = TileId::parse(p).unwrap();
            assert_eq!(t, TileId { kind, index, width }, "{p}");
            assert_eq!(t.path(), p);
        }
        for p in [
            "0/0",
            "0/0000",
            "00/000",
            "64/000",
            "0/001.p/0",
            "0/001.p/256",
            "0/001.p/01",
            "0/001/002",
            "0/x001",
            "0/x000/001",
            "data/000",
            "0/000.p/",
            "0",
            "",
            "-1/000",
            "0/00a",
        ] {
            assert!(
                matches!(TileId::parse(p), Err(TileError::BadPath(_))),
                "{p} accepted"
            );
        }
    }

    #[test]
    fn range_follows_the_tree_size() {
        let t = |l, n, w| TileId {
            kind: TileKind::Hashes(l),
            index: n,
            width: w,
        };
        // 70,000 leaves: 273 full level-0 tiles + one of width 112; level 1: one full + 17.
        assert_eq!(t(0, 272, 256).range_in(70_000), Some((69_632, 69_888)));
        assert_eq!(t(0, 273, 112).range_in(70_000), Some((69_888, 70_000)));
        assert_eq!(t(0, 273, 113).range_in(70_000), None);
        assert_eq!(t(1, 1, 17).range_in(70_000), Some((256, 273)));
        assert_eq!(t(1, 1, 18).range_in(70_000), None);
        assert_eq!(t(2, 0, 1).range_in(70_000), Some((0, 1)));
        assert_eq!(t(2, 0, 2).range_in(70_000), None);
        assert_eq!(t(63, 0, 1).range_in(u64::MAX), None);
    }

    #[test]
    fn a_level_one_hash_is_the_root_of_its_level_zero_tile() {
        let leaves: Vec<Digest32> = (0u32..512).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let l1 = [
            full_tile_root(&leaves[..256]),
            full_tile_root(&leaves[256..]),
        ];
        assert_eq!(mth(&l1), mth(&leaves));
    }

    #[test]
    fn upper_levels_are_the_merkle_tree_hashes_of_their_ranges() {
        let leaves: Vec<Digest32> = (0u32..70_000)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .collect();
        let mut up = UpperLevels::default();
        let read = |s: u64, e: u64| -> Result<Vec<Digest32>, ()> {
            Ok(leaves[s as usize..e as usize].to_vec())
        };
        up.extend(2, 70_000, read, || ()).unwrap();
        // level 1: 273 hashes, each the MTH of 256 leaves
        assert_eq!(up.hashes(1, 0, 274), None);
        let l1 = up.hashes(1, 0, 273).unwrap();
        for (i, h) in l1.iter().enumerate() {
            assert_eq!(*h, mth(&leaves[i * 256..(i + 1) * 256]));
        }
        // level 2: one hash, the MTH of the first 65,536 leaves
        assert_eq!(up.hashes(2, 0, 1).unwrap(), &[mth(&leaves[..65_536])]);
        assert_eq!(up.hashes(2, 0, 2), None);
        // growing is incremental and consistent
        let mut small = UpperLevels::default();
        small.extend(2, 1000, read, || ()).unwrap();
        assert_eq!(small.hashes(1, 0, 3).unwrap(), &l1[..3]);
        small.extend(2, 70_000, read, || ()).unwrap();
        assert_eq!(small.hashes(1, 0, 273).unwrap(), l1);
        // a short read is an error, not a wrong hash
        let mut bad = UpperLevels::default();
        let short = |s: u64, e: u64| -> Result<Vec<Digest32>, ()> {
            Ok(leaves[s as usize..(e - 1) as usize].to_vec())
        };
        assert_eq!(bad.extend(1, 1000, short, || ()), Err(()));
    }

    #[test]
    fn entry_bundles_round_trip_and_refuse_what_they_cannot_carry() {
        let a = b"first".to_vec();
        let b = vec![7u8; 300];
        let bundle = entry_bundle(0, [a.as_slice(), b.as_slice()]).unwrap();
        assert_eq!(&bundle[..2], &[0, 5]);
        assert_eq!(
            parse_entry_bundle(&bundle, 2).unwrap(),
            vec![&a[..], &b[..]]
        );
        assert_eq!(
            parse_entry_bundle(&bundle, 3),
            Err(TileError::BadBundle("not the tile's number of entries"))
        );
        assert_eq!(
            parse_entry_bundle(&bundle[..bundle.len() - 1], 2),
            Err(TileError::BadBundle("truncated entry"))
        );
        let big = vec![0u8; MAX_BUNDLED_ENTRY + 1];
        assert_eq!(
            entry_bundle(10, [a.as_slice(), big.as_slice()]),
            Err(TileError::EntryTooLong {
                index: 11,
                len: MAX_BUNDLED_ENTRY + 1
            })
        );
    }
}
