//! What the judge keeps of every release entry, in bounded memory (issue 14, `docs/audit.md`
//! §5): one fixed-size [`ReleaseRecord`] per release entry (the digests it needs, its time,
//! sequence and leaf hash; warrant digests and investigator key ids interned as indices), and
//! nothing per message: the messages (warrant, ciphertext) are groups of records sorted by
//! message, so which messages became readable, and since when, is computed by one scan.
//!
//! The report's per-release and readable-message lists ([`Releases`], [`Readable`]) are views
//! of the same records: each [`ReleaseJudgement`] or [`ReadableMessage`] is built as it is read
//! or written (the JSON report writes them as a stream), never held as a list.

use super::verdict::{ReadableMessage, ReleaseJudgement, Unjustified};
use crate::codec::{CiphertextDigest, Digest32, WarrantDigest};
use crate::time::Timestamp;
use serde::{Serialize, Serializer};
use std::collections::HashMap;
use std::sync::Arc;

/// No index (an entry without an investigator; a record not linked to an earlier one).
pub(crate) const NONE: u32 = u32::MAX;

/// The zero digest: the warrant or ciphertext of an entry that names none.
pub(crate) const ZERO: Digest32 = Digest32([0; 32]);
/// The zero ciphertext digest (a record that names no ciphertext).
pub(crate) const ZERO_CT: CiphertextDigest = CiphertextDigest::from_bytes([0; 32]);

/// Bits of [`ReleaseRecord::flags`].
pub(crate) mod flag {
    /// The entry lacks its warrant, or has not exactly one ciphertext and one share.
    pub const MALFORMED: u8 = 1;
    /// The entry carries an oversight copy.
    pub const SEALED: u8 = 2;
    /// After this entry, the trustee's release counter of the warrant's id holds this
    /// ciphertext (the node's "released before").
    pub const ADMITTED: u8 = 4;
    /// Judged justified.
    pub const JUSTIFIED: u8 = 8;
    /// Not judged: this auditor lacked the warrant or the policy.
    pub const NOT_JUDGED: u8 = 16;
    /// The entry names no warrant.
    pub const NO_WARRANT: u8 = 32;
    /// The entry names no ciphertext.
    pub const NO_CIPHERTEXT: u8 = 64;
}

/// One release entry as the judge keeps it: a fixed number of bytes
/// (`size_of::<ReleaseRecord>()`, 96), whatever the entry's encoding. Its oversight copy, if
/// any, is kept apart and only when the judge holds the oversight key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReleaseRecord {
    /// Leaf index.
    pub(crate) sequence: u64,
    /// Entry time.
    pub(crate) time: Timestamp,
    /// The ciphertext digest (the zero digest if the entry names none).
    pub(crate) ciphertext: CiphertextDigest,
    /// The leaf hash as logged (what a receipt's inclusion proof is checked against).
    pub(crate) leaf: Digest32,
    /// The warrant digest, interned ([`Digests`]; the zero digest if the entry names none).
    pub(crate) warrant: u32,
    /// The investigator's key id, interned, or [`NONE`].
    pub(crate) investigator: u32,
    /// While judging: the record of the same trustee, warrant id and ciphertext just before it
    /// in log order ([`NONE`] if none); once judged: the index of its reasons in
    /// [`Store::reasons`] ([`NONE`] when justified).
    pub(crate) link: u32,
    /// Trustee index.
    pub(crate) trustee: u16,
    /// [`flag`] bits.
    pub(crate) flags: u8,
}

impl ReleaseRecord {
    pub(crate) fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// Interned digests (warrants and investigator key ids: few distinct ones per log).
#[derive(Clone, Debug, Default)]
pub(crate) struct Digests {
    list: Vec<Digest32>,
    index: HashMap<Digest32, u32>,
}

impl Digests {
    /// The index of `d`, added if new.
    pub(crate) fn intern(&mut self, d: Digest32) -> u32 {
        if let Some(i) = self.index.get(&d) {
            return *i;
        }
        // More than 2^32 - 1 distinct digests cannot be held in memory anyway.
        let i = u32::try_from(self.list.len()).unwrap_or(NONE);
        self.list.push(d);
        self.index.insert(d, i);
        i
    }

    /// Digests interned.
    pub(crate) fn len(&self) -> u32 {
        u32::try_from(self.list.len()).unwrap_or(NONE)
    }

    /// The digest at `i` (the zero digest for [`NONE`]).
    pub(crate) fn get(&self, i: u32) -> Digest32 {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.list.get(i))
            .copied()
            .unwrap_or(ZERO)
    }

    /// The rank of each interned digest among them (and the zero digest) in byte order: a
    /// number that orders as [`Digests::get`] of the index does (see [`Ranks::of`]).
    pub(crate) fn ranks(&self) -> Ranks {
        let mut sorted: Vec<Digest32> = self.list.iter().copied().chain([ZERO]).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let rank = |d: &Digest32| {
            let r = sorted.binary_search(d).unwrap_or(0);
            u32::try_from(r).unwrap_or(NONE)
        };
        Ranks {
            of_index: self.list.iter().map(rank).collect(),
            of_zero: rank(&ZERO),
        }
    }
}

/// The ranks of interned digests in byte order ([`Digests::ranks`]).
pub(crate) struct Ranks {
    of_index: Vec<u32>,
    of_zero: u32,
}

impl Ranks {
    /// The rank of the digest at `i`: `a.of(i) < a.of(j)` exactly when
    /// `digests.get(i) < digests.get(j)` (an index not interned reads as the zero digest, as
    /// in [`Digests::get`]).
    pub(crate) fn of(&self, i: u32) -> u32 {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.of_index.get(i))
            .copied()
            .unwrap_or(self.of_zero)
    }
}

/// The first eight bytes of a digest as a big-endian number: it orders as the digest does
/// where they differ.
pub(crate) fn prefix64(d: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    for (o, i) in b.iter_mut().zip(d) {
        *o = *i;
    }
    u64::from_be_bytes(b)
}

/// Indices of `records` in message order: (warrant digest, ciphertext, trustee, time, index),
/// sorted as integers: (rank of the warrant digest, 64 bits of the ciphertext) above the index.
pub(crate) fn message_order(records: &[ReleaseRecord], digests: &Digests) -> Vec<u32> {
    let ranks = digests.ranks();
    let mut items: Vec<u128> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let coarse = (u128::from(ranks.of(r.warrant)) << 64)
                | u128::from(prefix64(r.ciphertext.as_bytes()));
            packed(coarse, u32::try_from(i).unwrap_or(NONE))
        })
        .collect();
    sort_positions(&mut items, |i| {
        usize::try_from(i)
            .ok()
            .and_then(|i| records.get(i))
            .map(|r| (digests.get(r.warrant), r.ciphertext, r.trustee, r.time, i))
    });
    // A list of its own (a quarter of the integers' bytes), not the integers' allocation.
    let order = items.iter().copied().map(position).collect();
    drop(items);
    order
}

/// Sorts positions of records by an exact key at the cost of a sort of integers: each item
/// packs a coarse key (its upper 96 bits) above the position (its lower 32 bits); only the
/// runs whose coarse keys tie are sorted again, by `exact` of the position. `exact` must
/// order as the coarse key does wherever the coarse keys differ and end with the position,
/// so the result is the order of `exact`. With digests in the coarse key (ties on 64 random
/// bits are rare), this replaces a record lookup per comparison — a cache miss each on a log
/// of 10^6 entries, the auditor's superlinear cost (`docs/experiments.md` §7.3) — with a sort
/// of 16-byte integers.
pub(crate) fn sort_positions<K: Ord>(items: &mut [u128], exact: impl Fn(u32) -> K) {
    items.sort_unstable();
    for run in items.chunk_by_mut(|a, b| a >> 32 == b >> 32) {
        if run.len() > 1 {
            run.sort_unstable_by_key(|&item| exact(position(item)));
        }
    }
}

/// One item of [`sort_positions`]: a coarse key of 96 bits (higher bits dropped) and a
/// position.
pub(crate) fn packed(coarse: u128, position: u32) -> u128 {
    (coarse << 32) | u128::from(position)
}

/// The position an item of [`sort_positions`] carries.
pub(crate) fn position(item: u128) -> u32 {
    (item & u128::from(u32::MAX)) as u32
}

/// The judged records and what is needed to show them.
#[derive(Debug, Default)]
pub(crate) struct Store {
    /// Every release entry, in time order (time, trustee, entry).
    pub(crate) records: Vec<ReleaseRecord>,
    /// The interned digests the records name.
    pub(crate) digests: Digests,
    /// The reasons against each release that is not justified ([`ReleaseRecord::link`]).
    pub(crate) reasons: Vec<Vec<Unjustified>>,
    /// Indices of `records` in message order: (warrant digest, ciphertext, trustee, time).
    pub(crate) by_message: Vec<u32>,
    /// The threshold k: a message is readable once k trustees released it.
    pub(crate) threshold: u16,
}

/// One message (warrant, ciphertext) and the release entries of it.
pub(crate) struct MessageGroup {
    /// Warrant digest.
    pub(crate) warrant: WarrantDigest,
    /// Ciphertext digest.
    pub(crate) ciphertext: CiphertextDigest,
    /// Every trustee that released it, ascending, with its earliest release time.
    pub(crate) holders: Vec<(u16, Timestamp)>,
    /// Some release of it was judged unjustified (not merely not judged).
    pub(crate) unjustified: bool,
}

impl MessageGroup {
    /// When k trustees (or more) released it: the time of the k-th release.
    pub(crate) fn readable_since(&self, k: u16) -> Option<Timestamp> {
        let k = usize::from(k);
        if self.holders.len() < k {
            return None;
        }
        let mut times: Vec<Timestamp> = self.holders.iter().map(|(_, t)| *t).collect();
        times.sort();
        Some(
            times
                .get(k.saturating_sub(1))
                .copied()
                .unwrap_or(Timestamp(0)),
        )
    }
}

impl Store {
    fn record(&self, i: u32) -> Option<&ReleaseRecord> {
        usize::try_from(i).ok().and_then(|i| self.records.get(i))
    }

    /// The judgement of one record.
    fn judgement(&self, r: &ReleaseRecord) -> ReleaseJudgement {
        let justified = r.has(flag::JUSTIFIED);
        let reasons: Vec<Unjustified> = usize::try_from(r.link)
            .ok()
            .and_then(|i| self.reasons.get(i))
            .cloned()
            .unwrap_or_default();
        ReleaseJudgement {
            trustee: r.trustee,
            entry: r.sequence,
            time: r.time,
            warrant: WarrantDigest::from_digest(self.digests.get(r.warrant)),
            ciphertext: r.ciphertext,
            justified,
            not_judged: r.has(flag::NOT_JUDGED),
            why_not: (!justified).then(|| {
                reasons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
            reasons,
        }
    }

    /// The messages, in order of (warrant digest, ciphertext).
    pub(crate) fn messages(&self) -> impl Iterator<Item = MessageGroup> + '_ {
        let mut at = 0usize;
        std::iter::from_fn(move || {
            let first = self.record(*self.by_message.get(at)?)?;
            let mut g = MessageGroup {
                warrant: WarrantDigest::from_digest(self.digests.get(first.warrant)),
                ciphertext: first.ciphertext,
                holders: Vec::new(),
                unjustified: false,
            };
            while let Some(r) = self.by_message.get(at).and_then(|&i| self.record(i)) {
                if r.warrant != first.warrant || r.ciphertext != first.ciphertext {
                    break;
                }
                at += 1;
                // by trustee, then time: a trustee's first record is its earliest
                if g.holders.last().is_none_or(|(t, _)| *t != r.trustee) {
                    g.holders.push((r.trustee, r.time));
                }
                if !r.has(flag::JUSTIFIED) && !r.has(flag::NOT_JUDGED) {
                    g.unjustified = true;
                }
            }
            Some(g)
        })
    }
}

/// Every release entry, judged, in time order: a view of the judge's records, each
/// [`ReleaseJudgement`] built as it is read. Serialized as a JSON array, written as a stream.
#[derive(Clone, Debug, Default)]
pub struct Releases {
    store: Arc<Store>,
}

impl Releases {
    /// Release entries.
    pub fn len(&self) -> usize {
        self.store.records.len()
    }

    /// No release entries.
    pub fn is_empty(&self) -> bool {
        self.store.records.is_empty()
    }

    /// Every release entry's judgement, in time order (time, trustee, entry).
    pub fn iter(&self) -> impl Iterator<Item = ReleaseJudgement> + '_ {
        self.store.records.iter().map(|r| self.store.judgement(r))
    }
}

impl Serialize for Releases {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The messages that became readable (k or more trustees released a share), in order of
/// (warrant digest, ciphertext): a view of the judge's records. Serialized as a JSON array,
/// written as a stream.
#[derive(Clone, Debug, Default)]
pub struct Readable {
    store: Arc<Store>,
    count: usize,
}

impl Readable {
    /// Messages made readable.
    pub fn len(&self) -> usize {
        self.count
    }

    /// None made readable.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every readable message.
    pub fn iter(&self) -> impl Iterator<Item = ReadableMessage> + '_ {
        let k = self.store.threshold;
        self.store.messages().filter_map(move |g| {
            let since = g.readable_since(k)?;
            Some(ReadableMessage {
                warrant: g.warrant,
                ciphertext: g.ciphertext,
                trustees: g.holders.iter().map(|(t, _)| *t).collect(),
                readable_since: since,
            })
        })
    }
}

impl Serialize for Readable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The two views of one judged store.
pub(crate) fn views(store: Store, readable: usize) -> (Releases, Readable) {
    let store = Arc::new(store);
    (
        Releases {
            store: Arc::clone(&store),
        },
        Readable {
            store,
            count: readable,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use rand::RngExt as _;

    #[test]
    fn the_message_order_is_the_order_of_the_whole_key_even_where_prefixes_tie() {
        let mut rng = rand::rng();
        let mut digests = Digests::default();
        let warrants: Vec<u32> = (0..5)
            .map(|_| digests.intern(Digest32(rng.random())))
            .collect();
        // Ciphertexts from a few digests that share their first 8 bytes (ties in the
        // integers), and some that share all but the last byte.
        let mut records = Vec::new();
        for i in 0..2000u64 {
            let mut ct: [u8; 32] = rng.random();
            match i % 3 {
                0 => ct[..8].copy_from_slice(&[7; 8]),
                1 => ct[..31].copy_from_slice(&[9; 31]),
                _ => {}
            }
            ct[31] %= 4;
            records.push(ReleaseRecord {
                sequence: i,
                time: Timestamp(rng.random_range(0..4)),
                ciphertext: CiphertextDigest::from_bytes(ct),
                leaf: ZERO,
                warrant: warrants[rng.random_range(0..warrants.len())],
                investigator: NONE,
                link: NONE,
                trustee: rng.random_range(1..4),
                flags: 0,
            });
        }
        // an index interned nowhere reads as the zero digest
        records[5].warrant = NONE;
        let mut naive: Vec<u32> = (0..records.len() as u32).collect();
        naive.sort_by_key(|&i| {
            let r = &records[i as usize];
            (digests.get(r.warrant), r.ciphertext, r.trustee, r.time, i)
        });
        let got = message_order(&records, &digests);
        let first_difference = got.iter().zip(&naive).position(|(a, b)| a != b);
        assert_eq!(first_difference, None, "{} records", records.len());
        assert_eq!(got.len(), naive.len());
    }
}
