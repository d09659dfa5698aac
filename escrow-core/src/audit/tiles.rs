//! The log as C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>): tile coordinates and their
//! paths, tile contents over RFC 9162 hashes, and entry bundles.
//!
//! A tile at level `L`, index `N` lists, for `i` in `0..W`, the Merkle tree hash of the
//! `256^L` leaves starting at `(N·256 + i)·256^L`; a full tile has `W = 256` (8,192 bytes), a
//! partial one `1 ≤ W ≤ 255` and its path ends in `.p/W`. The entry bundle `N` holds the entry
//! bytes of leaves `N·256 .. N·256 + W`, each prefixed by its length as a big-endian `u16`.
//! No I/O here: the trustee node serves tiles, a client checks them against a checkpoint.
//!
//! [`TileProver`] computes a tree hash, an inclusion proof or a consistency proof of a tree
//! from its tiles: `tlog_tiles`' generators (the Go `sumdb/tlog` algorithms, RFC 9162 proofs)
//! ask for `O(log n)` subtree hashes, each the Merkle tree hash of at most 128 hashes of one
//! tile, so a proof costs `O(log n)` tile reads instead of every leaf hash.

use super::merkle::mth;
use super::proof::ProofError;
use crate::codec::Digest32;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use tlog_tiles::tlog::{self, HashReader};

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

impl UpperLevels {
    /// Append `hash` to level `k + 1`; when that completes a tile of level `k + 1`, its root
    /// goes to the level above, and so on.
    fn push_at(&mut self, k: usize, hash: Digest32) {
        let (mut k, mut hash) = (k, hash);
        loop {
            while self.levels.len() <= k {
                self.levels.push(Vec::new());
            }
            let Some(v) = self.levels.get_mut(k) else {
                return;
            };
            v.push(hash);
            if !(v.len() as u64).is_multiple_of(TILE_WIDTH) {
                return;
            }
            let from = v.len().saturating_sub(FULL_WIDTH.into());
            hash = full_tile_root(v.get(from..).unwrap_or_default());
            k = k.saturating_add(1);
        }
    }
}

/// Builds [`UpperLevels`] from the leaf hashes of a log in order, in one pass with at most 255
/// leaf hashes held (the trustee node does this while it checks its log at start, so that the
/// upper levels are there without a second pass over the leaves).
#[derive(Debug, Default, Clone)]
pub struct UpperLevelsBuilder {
    pending: Vec<Digest32>,
    up: UpperLevels,
}

impl UpperLevelsBuilder {
    /// Append the next leaf hash.
    pub fn push(&mut self, leaf: Digest32) {
        self.pending.push(leaf);
        if self.pending.len() as u64 == TILE_WIDTH {
            let root = full_tile_root(&self.pending);
            self.pending.clear();
            self.up.push_at(0, root);
        }
    }

    /// The upper levels of the leaves pushed so far.
    pub fn finish(self) -> UpperLevels {
        self.up
    }
}

/// Tree hashes and RFC 9162 proofs of the tree of `size` leaves computed from its tiles.
///
/// `read(level, start, end)` returns the hashes at positions `[start, end)` of `level` of that
/// tree (level 0: leaf hashes; level `L ≥ 1`: the hash of each full tile of level `L − 1`),
/// all of them or an error; it is only asked for positions that exist (`end ≤ size >> 8·L`)
/// and for at most one tile's worth at a time. Each tile read is kept for the life of the
/// prover, so several proofs from one prover (the release entries of one answer) share
/// their reads. [`TileProver::tiles_read`] counts the reads.
///
/// The proofs are `tlog_tiles`' (`prove_record`, `prove_tree`), which are the RFC 9162
/// `PATH` and `PROOF` of [`super::proof`], byte for byte.
pub struct TileProver<R> {
    size: u64,
    read: R,
    tiles: RefCell<HashMap<(u8, u64), Vec<Digest32>>>,
    failure: RefCell<Option<String>>,
    reads: Cell<u64>,
}

impl<R> core::fmt::Debug for TileProver<R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "TileProver {{ size: {}, tiles_read: {} }}",
            self.size,
            self.reads.get()
        )
    }
}

impl<R> TileProver<R>
where
    R: Fn(u8, u64, u64) -> Result<Vec<Digest32>, String>,
{
    /// A prover for the tree of `size` leaves whose level hashes `read` reads.
    pub fn new(size: u64, read: R) -> Self {
        TileProver {
            size,
            read,
            tiles: RefCell::new(HashMap::new()),
            failure: RefCell::new(None),
            reads: Cell::new(0),
        }
    }

    /// The tree size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Tiles (or partial tiles) read so far.
    pub fn tiles_read(&self) -> u64 {
        self.reads.get()
    }

    /// The root of the tree (RFC 9162 `MTH`).
    pub fn tree_hash(&self) -> Result<Digest32, ProofError> {
        tlog::tree_hash(self.size, self)
            .map(|h| Digest32(h.0))
            .map_err(|e| self.error(e))
    }

    /// The inclusion proof of leaf `index` (RFC 9162 `PATH(index, D[size])`).
    pub fn inclusion(&self, index: u64) -> Result<Vec<Digest32>, ProofError> {
        if index >= self.size {
            return Err(ProofError::OutOfRange(format!(
                "leaf index {index} >= tree size {}",
                self.size
            )));
        }
        tlog::prove_record(self.size, index, self)
            .map(|p| p.into_iter().map(|h| Digest32(h.0)).collect())
            .map_err(|e| self.error(e))
    }

    /// The consistency proof from the tree of the first `old` leaves (RFC 9162
    /// `PROOF(old, D[size])`); empty when `old` is 0 or `size`.
    pub fn consistency(&self, old: u64) -> Result<Vec<Digest32>, ProofError> {
        if old > self.size {
            return Err(ProofError::OutOfRange(format!(
                "old size {old} > new size {}",
                self.size
            )));
        }
        if old == 0 || old == self.size {
            return Ok(Vec::new());
        }
        tlog::prove_tree(self.size, old, self)
            .map(|p| p.into_iter().map(|h| Digest32(h.0)).collect())
            .map_err(|e| self.error(e))
    }

    fn error(&self, e: tlog::Error) -> ProofError {
        match self.failure.borrow_mut().take() {
            Some(why) => ProofError::Read(why),
            None => match e {
                tlog::Error::InvalidInput(why) => ProofError::OutOfRange(why),
                other => ProofError::Read(other.to_string()),
            },
        }
    }

    /// The hashes of tile `index` of `level` that exist in the tree (all 256, or the partial
    /// tile at the right edge), read once.
    fn tile(&self, level: u8, index: u64) -> Result<Vec<Digest32>, String> {
        if let Some(t) = self.tiles.borrow().get(&(level, index)) {
            return Ok(t.clone());
        }
        let at_level = self
            .size
            .checked_shr(TILE_HEIGHT.saturating_mul(u32::from(level)))
            .unwrap_or(0);
        let start = index.saturating_mul(TILE_WIDTH);
        let end = start.saturating_add(TILE_WIDTH).min(at_level);
        if start >= end {
            return Err(format!(
                "tile {index} of level {level} is not in a tree of {} leaves",
                self.size
            ));
        }
        let hashes = (self.read)(level, start, end)?;
        if hashes.len() as u64 != end - start {
            return Err(format!(
                "level {level} hashes {start}..{end}: {} read",
                hashes.len()
            ));
        }
        self.reads.set(self.reads.get().saturating_add(1));
        self.tiles
            .borrow_mut()
            .insert((level, index), hashes.clone());
        Ok(hashes)
    }

    /// The hash of the perfect subtree of height `height` whose leaves start at
    /// `n · 2^height`: the Merkle tree hash of `2^(height mod 8)` hashes of one tile of level
    /// `height div 8`.
    fn subtree(&self, height: u8, n: u64) -> Result<Digest32, String> {
        let level = height / 8;
        let below = height % 8;
        let first = n
            .checked_shl(u32::from(below))
            .ok_or_else(|| format!("subtree {n} of height {height} out of range"))?;
        let count = 1u64 << below;
        let tile = self.tile(level, first / TILE_WIDTH)?;
        let at = usize::try_from(first % TILE_WIDTH).unwrap_or(usize::MAX);
        let hashes = tile
            .get(at..at.saturating_add(usize::try_from(count).unwrap_or(usize::MAX)))
            .ok_or_else(|| format!("subtree {n} of height {height} is not complete"))?;
        Ok(mth(hashes))
    }
}

impl<R> HashReader for TileProver<R>
where
    R: Fn(u8, u64, u64) -> Result<Vec<Digest32>, String>,
{
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
        indexes
            .iter()
            .map(|&i| {
                let (height, n) = tlog::split_stored_hash_index(i);
                self.subtree(height, n)
                    .map(|h| tlog::Hash(h.0))
                    .map_err(|e| {
                        *self.failure.borrow_mut() = Some(e);
                        tlog::Error::InvalidTile
                    })
            })
            .collect()
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

    /// A tile reader over leaf hashes in memory, with the upper levels built in one pass,
    /// counting the hashes it hands out.
    fn level_reader<'a>(
        leaves: &'a [Digest32],
        up: &'a UpperLevels,
        hashes_read: &'a Cell<u64>,
    ) -> impl Fn(u8, u64, u64) -> Result<Vec<Digest32>, String> + 'a {
        move |level, s, e| {
            hashes_read.set(hashes_read.get() + (e - s));
            if level == 0 {
                Ok(leaves[s as usize..e as usize].to_vec())
            } else {
                up.hashes(level, s, e)
                    .map(<[Digest32]>::to_vec)
                    .ok_or_else(|| "not derived".to_string())
            }
        }
    }

    /// `n` test leaf hashes and their upper levels, built in one pass.
    fn leaves_and_levels(n: u32) -> (Vec<Digest32>, UpperLevels) {
        let leaves: Vec<Digest32> = (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut b = UpperLevelsBuilder::default();
        for l in &leaves {
            b.push(*l);
        }
        (leaves, b.finish())
    }

    #[test]
    fn the_builder_derives_the_same_upper_levels_as_extend() {
        let (leaves, built) = leaves_and_levels(70_000);
        let mut up = UpperLevels::default();
        let read = |s: u64, e: u64| -> Result<Vec<Digest32>, ()> {
            Ok(leaves[s as usize..e as usize].to_vec())
        };
        up.extend(3, 70_000, read, || ()).unwrap();
        assert_eq!(built.hashes(1, 0, 273), up.hashes(1, 0, 273));
        assert_eq!(built.hashes(2, 0, 1), up.hashes(2, 0, 1));
        assert_eq!(built.hashes(1, 0, 274), None);
        assert_eq!(built.hashes(2, 0, 2), None);
        // and it grows on from there as extend does
        let mut grown = built.clone();
        grown
            .extend(2, 70_000, read, || ())
            .expect("nothing to add");
        assert_eq!(grown.hashes(1, 0, 273), built.hashes(1, 0, 273));
    }

    #[test]
    fn proofs_from_tiles_are_the_rfc_proofs() {
        use crate::audit::{consistency_proof, inclusion_proof, verify_inclusion};
        let (all, up) = leaves_and_levels(70_000);
        let count = Cell::new(0);
        for size in [
            1u64, 2, 3, 255, 256, 257, 511, 512, 513, 1000, 4097, 65_535, 65_536, 65_537, 70_000,
        ] {
            let leaves = &all[..size as usize];
            let p = TileProver::new(size, level_reader(&all, &up, &count));
            assert_eq!(p.tree_hash().unwrap(), mth(leaves), "root of {size}");
            let mut idx: Vec<u64> = vec![0, size / 2, size - 1, size.saturating_sub(257)];
            idx.extend((0..size).step_by(4099));
            for i in idx {
                let mine = p.inclusion(i).unwrap();
                assert_eq!(mine, inclusion_proof(leaves, i).unwrap(), "{i} in {size}");
                verify_inclusion(&leaves[i as usize], i, size, &mine, &mth(leaves)).unwrap();
            }
            for old in [0, 1, size / 3, size - 1, size, 256, 65_536] {
                if old > size {
                    continue;
                }
                assert_eq!(
                    p.consistency(old).unwrap(),
                    consistency_proof(leaves, old).unwrap(),
                    "{old} -> {size}"
                );
            }
            assert!(matches!(p.inclusion(size), Err(ProofError::OutOfRange(_))));
            assert!(matches!(
                p.consistency(size + 1),
                Err(ProofError::OutOfRange(_))
            ));
        }
        // A reader that fails is named, not turned into a wrong proof.
        let p = TileProver::new(1000, |_, _, _| Err("disk on fire".to_string()));
        assert_eq!(p.inclusion(7), Err(ProofError::Read("disk on fire".into())));
        let p = TileProver::new(1000, |_, s, e| {
            Ok(vec![Digest32([0; 32]); (e - s - 1) as usize])
        });
        assert!(matches!(p.tree_hash(), Err(ProofError::Read(w)) if w.contains("read")));
    }

    /// One proof reads O(log n) tiles of at most 256 hashes: the count does not grow with the
    /// log (it would, by a factor of 256, if the prover read every leaf).
    #[test]
    fn one_proof_reads_a_logarithmic_number_of_tiles() {
        let (all, up) = leaves_and_levels(300_000);
        let mut per_size = Vec::new();
        for size in [1_000u64, 4_000, 70_000, 300_000] {
            let hashes = Cell::new(0);
            let p = TileProver::new(size, level_reader(&all, &up, &hashes));
            p.inclusion(size / 3).unwrap();
            let (tiles, read) = (p.tiles_read(), hashes.get());
            let q = TileProver::new(size, level_reader(&all, &up, &hashes));
            q.consistency(size / 2 + 1).unwrap();
            // at most two tiles per level (the path's and the right edge's), three levels here
            assert!(
                tiles <= 6 && q.tiles_read() <= 6,
                "{size}: {tiles}, {}",
                q.tiles_read()
            );
            per_size.push((size, read));
        }
        for (size, read) in per_size {
            assert!(
                read <= 6 * 256,
                "{size} leaves: {read} hashes read for one proof"
            );
        }
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
