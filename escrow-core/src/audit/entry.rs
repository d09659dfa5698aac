//! The audit-log entry and its canonical bytes.
//!
//! An entry records one event at a trustee. It carries digests, never plaintext identities
//! (accounts, message ids, warrant text): an auditor matches them against documents disclosed
//! to it. The canonical bytes (`docs/api.md` §Log entries) are what the Merkle leaf hashes:
//!
//! ```text
//! u8(len(tag)) || tag                     tag = "escrow/v1/log-entry"
//! u8  encoding version                  1, or 2 exactly when the entry carries a count
//! u64 sequence (= leaf index)             big-endian
//! i64 time (Unix seconds)                 big-endian
//! u8  kind                                1 setup, 2 warrant-seen, 3 release, 4 refusal, 5 cancellation,
//!                                         6 keygen, 7 share-destroyed
//! opt(warrant)      opt(document)      opt(policy)      opt(investigator)
//! u32 n || n × 32 bytes                   ciphertext digests
//! u32 m || m × 32 bytes                   share digests
//! opt_str(reason)
//! u64 count                               version 2 only, big-endian
//! opt_u64(count) || sealed                version 3 only (instead of the line above)
//! ```
//!
//! where `opt(d) = 0x00 | 0x01 || d` (32 bytes) and `opt_str(s) = 0x00 | 0x01 || u32(len) || s`.
//! Decoding is strict: every byte is accounted for, so one entry has exactly one encoding.
//! Version 2 (issue 11 item 2) adds `count`, used by the refusal of a whole request: it records
//! the request digest (`document`) and how many ciphertexts the request carried, never the
//! ciphertexts themselves, so no request can make an entry large. Every other entry keeps the
//! version 1 bytes, so logs written before version 2 verify unchanged.
//!
//! Version 3 (issue 16) is written exactly when the entry carries an oversight copy
//! ([`super::oversight`]): the escrow header of a released message, or the envelope of a
//! warrant seen, encrypted to the policy's oversight keys and bound to the entry's digests.
//! After `opt_str(reason)` it has `opt_u64(count)` (`0x00 | 0x01 || u64`) and the sealed copy
//! (`u8 r || r × (key id || E || wrapped key) || u32 len || body`). Entries without a copy keep
//! their version 1 or 2 bytes.
//!
//! Version 4 is the version 3 layout, written exactly for a cancellation entry with an oversight
//! copy (the signed cancellation, so that the oversight body sees why a warrant stopped). A
//! reader that predates it refuses the entry rather than skip a copy it cannot read.

use super::sealed::Sealed;
use crate::codec::WarrantDigest;
use crate::codec::{CiphertextDigest, Digest32, KeyId, SetId, V1, put_lp};
use crate::error::{Error, Result};
use crate::label::{MAX_TIMESTAMP, MIN_TIMESTAMP};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// Domain tag at the start of every entry's bytes.
pub const TAG_LOG_ENTRY: &str = "escrow/v1/log-entry";
/// Encoding version byte of an entry without a count.
pub const ENTRY_ENCODING_VERSION: u8 = 1;
/// Encoding version byte of an entry with a count (a whole-request refusal).
pub const ENTRY_ENCODING_VERSION_COUNT: u8 = 2;
/// Encoding version byte of an entry with an oversight copy.
pub const ENTRY_ENCODING_VERSION_SEALED: u8 = 3;
/// Encoding version byte of a cancellation entry with an oversight copy (the signed
/// cancellation): the version 3 layout, for that kind only.
pub const ENTRY_ENCODING_VERSION_SEALED_CANCELLATION: u8 = 4;
pub use crate::bounds::{MAX_ENTRY_BYTES, MAX_ENTRY_DIGESTS, MAX_REASON_LEN};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EntryKind {
    /// The node was set up: `document` = trustee-set id, `policy` = policy digest.
    Setup,
    /// A warrant passed the policy for the first time: `warrant`, `investigator`.
    WarrantSeen,
    /// One decryption share was released: `warrant`, one ciphertext, one share digest,
    /// `investigator`.
    Release,
    /// A request (or one ciphertext of it) was refused: `warrant` if computable, the
    /// ciphertexts concerned, `reason` (a stable code).
    Refusal,
    /// A cancellation was accepted: `warrant` = the digest it names, `document` = the
    /// cancellation's own digest.
    Cancellation,
    /// The node's set was made by a distributed key generation (`escrow_core::dkg`):
    /// `document` = the ceremony's transcript digest (the certificate's `transcript`). The
    /// setup entry before it names the set id.
    Keygen,
    /// The trustee destroyed its share of a set after a refresh replaced it (zeroized, removed
    /// from the sealed state): `document` = the id of the set whose share was destroyed. The
    /// keygen entry (the refresh's transcript) and the setup entry of the new set precede it.
    ShareDestroyed,
}

impl EntryKind {
    /// The byte in the canonical encoding.
    pub fn to_byte(self) -> u8 {
        match self {
            EntryKind::Setup => 1,
            EntryKind::WarrantSeen => 2,
            EntryKind::Release => 3,
            EntryKind::Refusal => 4,
            EntryKind::Cancellation => 5,
            EntryKind::Keygen => 6,
            EntryKind::ShareDestroyed => 7,
        }
    }

    /// Inverse of [`EntryKind::to_byte`].
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => EntryKind::Setup,
            2 => EntryKind::WarrantSeen,
            3 => EntryKind::Release,
            4 => EntryKind::Refusal,
            5 => EntryKind::Cancellation,
            6 => EntryKind::Keygen,
            7 => EntryKind::ShareDestroyed,
            _ => return None,
        })
    }

    /// The kebab-case name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Setup => "setup",
            EntryKind::WarrantSeen => "warrant-seen",
            EntryKind::Release => "release",
            EntryKind::Refusal => "refusal",
            EntryKind::Cancellation => "cancellation",
            EntryKind::Keygen => "keygen",
            EntryKind::ShareDestroyed => "share-destroyed",
        }
    }
}

impl core::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One log entry. The JSON form is a view; the canonical bytes ([`LogEntry::to_bytes`]) are
/// what is hashed and stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Format version.
    pub version: V1,
    /// Position in the log, from 0; equals the Merkle leaf index.
    pub sequence: u64,
    /// The node's clock when the entry was written.
    pub time: Timestamp,
    /// What happened.
    pub kind: EntryKind,
    /// The warrant concerned (envelope digest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warrant: Option<WarrantDigest>,
    /// Another document: the trustee-set id (setup) or the cancellation digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Digest32>,
    /// The policy digest (setup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Digest32>,
    /// Key id of the investigator the shares were encrypted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investigator: Option<KeyId>,
    /// Ciphertext digests concerned.
    #[serde(default)]
    pub ciphertexts: Vec<CiphertextDigest>,
    /// Digests of the decryption shares released (see `release::share_digest`).
    #[serde(default)]
    pub shares: Vec<Digest32>,
    /// Refusal reason code (stable kebab-case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A whole-request refusal: how many ciphertexts the request carried (`document` is the
    /// request digest, `escrow_core::release::request_digest`). Encoded as version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The oversight copy (issue 16): the released message's escrow header (release) or the
    /// warrant envelope (warrant-seen), encrypted to the policy's oversight keys. Encoded as
    /// version 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Sealed>,
}

impl LogEntry {
    /// An entry of `kind` with every optional field empty.
    pub fn new(sequence: u64, time: Timestamp, kind: EntryKind) -> Self {
        LogEntry {
            version: V1::default(),
            sequence,
            time,
            kind,
            warrant: None,
            document: None,
            policy: None,
            investigator: None,
            ciphertexts: Vec::new(),
            shares: Vec::new(),
            reason: None,
            count: None,
            sealed: None,
        }
    }

    /// The first entry of a node's log.
    pub fn setup(sequence: u64, time: Timestamp, set_id: SetId, policy: Digest32) -> Self {
        LogEntry {
            document: Some(set_id.digest()),
            policy: Some(policy),
            ..LogEntry::new(sequence, time, EntryKind::Setup)
        }
    }

    /// The set was made by a distributed key generation with this transcript digest.
    pub fn keygen(sequence: u64, time: Timestamp, transcript: Digest32) -> Self {
        LogEntry {
            document: Some(transcript),
            ..LogEntry::new(sequence, time, EntryKind::Keygen)
        }
    }

    /// This trustee destroyed its share of set `set_id` (a refresh replaced it).
    pub fn share_destroyed(sequence: u64, time: Timestamp, set_id: SetId) -> Self {
        LogEntry {
            document: Some(set_id.digest()),
            ..LogEntry::new(sequence, time, EntryKind::ShareDestroyed)
        }
    }

    /// A warrant seen (and accepted by the policy) for the first time.
    pub fn warrant_seen(
        sequence: u64,
        time: Timestamp,
        warrant: WarrantDigest,
        investigator: KeyId,
    ) -> Self {
        LogEntry {
            warrant: Some(warrant),
            investigator: Some(investigator),
            ..LogEntry::new(sequence, time, EntryKind::WarrantSeen)
        }
    }

    /// One released share.
    pub fn release(
        sequence: u64,
        time: Timestamp,
        warrant: WarrantDigest,
        ciphertext: CiphertextDigest,
        share: Digest32,
        investigator: KeyId,
    ) -> Self {
        LogEntry {
            warrant: Some(warrant),
            investigator: Some(investigator),
            ciphertexts: vec![ciphertext],
            shares: vec![share],
            ..LogEntry::new(sequence, time, EntryKind::Release)
        }
    }

    /// A refusal with its stable reason code.
    pub fn refusal(
        sequence: u64,
        time: Timestamp,
        warrant: Option<WarrantDigest>,
        ciphertexts: Vec<CiphertextDigest>,
        reason: &str,
    ) -> Self {
        LogEntry {
            warrant,
            ciphertexts,
            reason: Some(reason.to_string()),
            ..LogEntry::new(sequence, time, EntryKind::Refusal)
        }
    }

    /// The refusal of a whole request (its warrant): the request digest and how many
    /// ciphertexts it carried, not the ciphertexts (bounded size whatever the request).
    pub fn request_refusal(
        sequence: u64,
        time: Timestamp,
        warrant: Option<WarrantDigest>,
        request: Digest32,
        count: u64,
        reason: &str,
    ) -> Self {
        LogEntry {
            warrant,
            document: Some(request),
            count: Some(count),
            reason: Some(reason.to_string()),
            ..LogEntry::new(sequence, time, EntryKind::Refusal)
        }
    }

    /// An accepted cancellation of the warrant with digest `warrant`.
    pub fn cancellation(
        sequence: u64,
        time: Timestamp,
        warrant: WarrantDigest,
        cancellation: Digest32,
    ) -> Self {
        LogEntry {
            warrant: Some(warrant),
            document: Some(cancellation),
            ..LogEntry::new(sequence, time, EntryKind::Cancellation)
        }
    }

    /// Check the limits the encoding imposes, and that the time can be written in RFC 3339
    /// (the JSON view), i.e. lies within 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z.
    pub fn check(&self) -> Result<()> {
        if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&self.time.0) {
            return Err(Error::malformed(
                "log entry",
                "time outside 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z",
            ));
        }
        if self.ciphertexts.len() > MAX_ENTRY_DIGESTS || self.shares.len() > MAX_ENTRY_DIGESTS {
            return Err(Error::malformed(
                "log entry",
                format!("more than {MAX_ENTRY_DIGESTS} digests in a list"),
            ));
        }
        if self
            .reason
            .as_ref()
            .is_some_and(|r| r.len() > MAX_REASON_LEN)
        {
            return Err(Error::malformed(
                "log entry",
                format!("reason longer than {MAX_REASON_LEN} bytes"),
            ));
        }
        if let Some(s) = &self.sealed {
            s.check()?;
        }
        Ok(())
    }

    /// The canonical bytes (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            64 + 4 * 33
                + 8
                + 32 * (self.ciphertexts.len() + self.shares.len())
                + self.reason.as_ref().map_or(0, String::len)
                + self.sealed.as_ref().map_or(0, Sealed::encoded_len),
        );
        out.push(TAG_LOG_ENTRY.len() as u8);
        out.extend_from_slice(TAG_LOG_ENTRY.as_bytes());
        out.push(
            if self.sealed.is_some() && self.kind == EntryKind::Cancellation {
                ENTRY_ENCODING_VERSION_SEALED_CANCELLATION
            } else if self.sealed.is_some() {
                ENTRY_ENCODING_VERSION_SEALED
            } else if self.count.is_some() {
                ENTRY_ENCODING_VERSION_COUNT
            } else {
                ENTRY_ENCODING_VERSION
            },
        );
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.time.0.to_be_bytes());
        out.push(self.kind.to_byte());
        for d in [
            self.warrant.map(|w| w.digest()),
            self.document,
            self.policy,
            self.investigator.map(|k| k.digest()),
        ] {
            put_opt(&mut out, d.as_ref());
        }
        let ciphertexts = self.ciphertexts.iter().map(CiphertextDigest::as_bytes);
        for list in [
            ciphertexts.collect(),
            self.shares.iter().map(Digest32::as_bytes).collect(),
        ] {
            let list: Vec<&[u8; 32]> = list;
            out.extend_from_slice(&(list.len() as u32).to_be_bytes());
            for d in list {
                out.extend_from_slice(d);
            }
        }
        match &self.reason {
            None => out.push(0),
            Some(r) => {
                out.push(1);
                put_lp(&mut out, r.as_bytes());
            }
        }
        if let Some(s) = &self.sealed {
            match self.count {
                None => out.push(0),
                Some(n) => {
                    out.push(1);
                    out.extend_from_slice(&n.to_be_bytes());
                }
            }
            s.put(&mut out);
        } else if let Some(n) = self.count {
            out.extend_from_slice(&n.to_be_bytes());
        }
        out
    }

    /// Strict decoding of [`LogEntry::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(Error::malformed("log entry", "too long"));
        }
        let mut r = Reader { rest: bytes };
        let tag_len = r.u8()?;
        if usize::from(tag_len) != TAG_LOG_ENTRY.len()
            || r.take(TAG_LOG_ENTRY.len())? != TAG_LOG_ENTRY.as_bytes()
        {
            return Err(Error::malformed("log entry", "wrong domain tag"));
        }
        let v = r.u8()?;
        if !(ENTRY_ENCODING_VERSION..=ENTRY_ENCODING_VERSION_SEALED_CANCELLATION).contains(&v) {
            return Err(Error::UnsupportedVersion {
                what: "log entry",
                found: u32::from(v),
                expected: u32::from(ENTRY_ENCODING_VERSION_SEALED_CANCELLATION),
            });
        }
        let sealed_layout =
            v == ENTRY_ENCODING_VERSION_SEALED || v == ENTRY_ENCODING_VERSION_SEALED_CANCELLATION;
        let sequence = u64::from_be_bytes(r.array()?);
        let time = Timestamp(i64::from_be_bytes(r.array()?));
        let kind = EntryKind::from_byte(r.u8()?)
            .ok_or_else(|| Error::malformed("log entry", "unknown kind"))?;
        let warrant = r.opt_digest()?.map(|d| WarrantDigest::from_bytes(d.0));
        let document = r.opt_digest()?;
        let policy = r.opt_digest()?;
        let investigator = r.opt_digest()?.map(|d| KeyId::from_bytes(d.0));
        let ciphertexts = (r.digests()?.into_iter())
            .map(|d| CiphertextDigest::from_bytes(d.0))
            .collect();
        let shares = r.digests()?;
        let reason = match r.u8()? {
            0 => None,
            1 => {
                let n = u32::from_be_bytes(r.array()?) as usize;
                if n > MAX_REASON_LEN {
                    return Err(Error::malformed("log entry", "reason too long"));
                }
                let s = core::str::from_utf8(r.take(n)?)
                    .map_err(|_| Error::malformed("log entry", "reason is not UTF-8"))?;
                Some(s.to_string())
            }
            _ => return Err(Error::malformed("log entry", "bad option byte for reason")),
        };
        let count = if v == ENTRY_ENCODING_VERSION_COUNT {
            Some(u64::from_be_bytes(r.array()?))
        } else if sealed_layout {
            match r.u8()? {
                0 => None,
                1 => Some(u64::from_be_bytes(r.array()?)),
                _ => return Err(Error::malformed("log entry", "bad option byte for count")),
            }
        } else {
            None
        };
        let sealed = if sealed_layout {
            Some(Sealed::take(&mut r.rest)?)
        } else {
            None
        };
        // One encoding per entry: version 4 exactly for a sealed cancellation.
        if sealed_layout
            && (v == ENTRY_ENCODING_VERSION_SEALED_CANCELLATION)
                != (kind == EntryKind::Cancellation)
        {
            return Err(Error::malformed(
                "log entry",
                "a sealed cancellation entry is encoding version 4, every other sealed entry version 3",
            ));
        }
        if !r.rest.is_empty() {
            return Err(Error::malformed("log entry", "trailing bytes"));
        }
        let entry = LogEntry {
            version: V1::default(),
            sequence,
            time,
            kind,
            warrant,
            document,
            policy,
            investigator,
            ciphertexts,
            shares,
            reason,
            count,
            sealed,
        };
        entry.check()?;
        Ok(entry)
    }

    /// The RFC 9162 leaf hash of this entry.
    pub fn leaf_hash(&self) -> Digest32 {
        super::merkle::leaf_hash(&self.to_bytes())
    }
}

fn put_opt(out: &mut Vec<u8>, d: Option<&Digest32>) {
    match d {
        None => out.push(0),
        Some(d) => {
            out.push(1);
            out.extend_from_slice(d.as_bytes());
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(Error::malformed("log entry", "truncated"));
        }
        let (a, b) = self.rest.split_at(n);
        self.rest = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        s.try_into()
            .map_err(|_| Error::malformed("log entry", "truncated"))
    }
    fn opt_digest(&mut self) -> Result<Option<Digest32>> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(Digest32(self.array()?))),
            _ => Err(Error::malformed("log entry", "bad option byte")),
        }
    }
    fn digests(&mut self) -> Result<Vec<Digest32>> {
        let n = u32::from_be_bytes(self.array()?) as usize;
        if n > MAX_ENTRY_DIGESTS || n.saturating_mul(32) > self.rest.len() {
            return Err(Error::malformed(
                "log entry",
                "digest list longer than the entry",
            ));
        }
        (0..n).map(|_| self.array().map(Digest32)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(b: u8) -> Digest32 {
        Digest32([b; 32])
    }

    fn c(b: u8) -> CiphertextDigest {
        CiphertextDigest::from_bytes([b; 32])
    }

    fn w(b: u8) -> WarrantDigest {
        WarrantDigest::from_bytes([b; 32])
    }

    fn k(b: u8) -> KeyId {
        KeyId::from_bytes([b; 32])
    }

    fn samples() -> Vec<LogEntry> {
        vec![
            LogEntry::setup(0, Timestamp(1), SetId::from_digest(d(1)), d(2)),
            LogEntry::warrant_seen(1, Timestamp(2), w(3), k(4)),
            LogEntry::release(2, Timestamp(3), w(3), c(5), d(6), k(4)),
            LogEntry::refusal(
                3,
                Timestamp(-4),
                Some(w(3)),
                vec![c(7), c(8)],
                "out-of-scope",
            ),
            LogEntry::refusal(4, Timestamp(5), None, vec![], "malformed"),
            LogEntry::cancellation(5, Timestamp(6), w(3), d(9)),
            LogEntry::share_destroyed(6, Timestamp(7), SetId::from_digest(d(3))),
        ]
    }

    #[test]
    fn bytes_and_json_roundtrip() {
        for e in samples() {
            e.check().unwrap();
            let b = e.to_bytes();
            assert_eq!(LogEntry::from_bytes(&b).unwrap(), e);
            let j = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<LogEntry>(&j).unwrap(), e);
        }
    }

    #[test]
    fn encodings_differ_and_decoding_is_strict() {
        let s = samples();
        for (i, a) in s.iter().enumerate() {
            for b in &s[i + 1..] {
                assert_ne!(a.to_bytes(), b.to_bytes());
            }
        }
        let b = s[3].to_bytes();
        let mut long = b.clone();
        long.push(0);
        assert!(LogEntry::from_bytes(&long).is_err());
        for cut in 0..b.len() {
            assert!(
                LogEntry::from_bytes(&b[..cut]).is_err(),
                "truncated at {cut}"
            );
        }
        let mut bad = b.clone();
        bad[0] ^= 1;
        assert!(LogEntry::from_bytes(&bad).is_err());
    }

    #[test]
    fn a_request_refusal_is_version_2_and_small_whatever_the_request() {
        // Known answer: a whole-request refusal of 10,000 ciphertexts.
        let e = LogEntry::request_refusal(
            9,
            Timestamp(1_700_000_000),
            Some(w(3)),
            d(0xcd),
            10_000,
            "cancelled",
        );
        let b = e.to_bytes();
        assert_eq!(
            hex::encode(&b),
            concat!(
                "13657363726f772f76312f6c6f672d656e74727902",
                "0000000000000009",
                "000000006553f100",
                "04",
                "010303030303030303030303030303030303030303030303030303030303030303",
                "01cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
                "00",
                "00",
                "00000000",
                "00000000",
                "010000000963616e63656c6c6564",
                "0000000000002710"
            )
        );
        assert!(b.len() < 200);
        assert_eq!(LogEntry::from_bytes(&b).unwrap(), e);
        let j = serde_json::to_string(&e).unwrap();
        assert!(j.contains("\"count\":10000"), "{j}");
        assert_eq!(serde_json::from_str::<LogEntry>(&j).unwrap(), e);
        // version 2 without its count, and version 1 with trailing count bytes: refused
        assert!(LogEntry::from_bytes(&b[..b.len() - 8]).is_err());
        let mut v1 = b.clone();
        v1[20] = 1;
        assert!(LogEntry::from_bytes(&v1).is_err());
        // an entry without a count keeps the version 1 bytes
        assert_eq!(samples()[3].to_bytes()[20], 1);
    }

    #[test]
    fn a_share_destroyed_entry_has_the_version_1_bytes_with_kind_7() {
        // Known answer: trustee destroyed its share of set d(0x5e) (a refresh replaced it).
        let e =
            LogEntry::share_destroyed(12, Timestamp(1_700_000_000), SetId::from_digest(d(0x5e)));
        let b = e.to_bytes();
        assert_eq!(
            hex::encode(&b),
            concat!(
                "13657363726f772f76312f6c6f672d656e74727901",
                "000000000000000c",
                "000000006553f100",
                "07",
                "00",
                "015e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e",
                "00",
                "00",
                "00000000",
                "00000000",
                "00"
            )
        );
        assert_eq!(LogEntry::from_bytes(&b).unwrap(), e);
        let j = serde_json::to_string(&e).unwrap();
        assert!(j.contains("\"kind\":\"share-destroyed\""), "{j}");
        assert_eq!(serde_json::from_str::<LogEntry>(&j).unwrap(), e);
        // kind 8 is unknown: refused
        let mut unknown = b.clone();
        unknown[37] = 8;
        assert!(LogEntry::from_bytes(&unknown).is_err());
    }

    #[test]
    fn pinned_encoding() {
        // Pins the byte format: a change here is a format change (bump the version byte).
        let e = LogEntry::refusal(7, Timestamp(1_700_000_000), None, vec![c(0xab)], "expired");
        let leaf = e.leaf_hash();
        let again = LogEntry::from_bytes(&e.to_bytes()).unwrap().leaf_hash();
        assert_eq!(leaf, again);
        let b = e.to_bytes();
        assert_eq!(b[0] as usize, TAG_LOG_ENTRY.len());
        assert_eq!(
            b.len(),
            1 + TAG_LOG_ENTRY.len() + 1 + 8 + 8 + 1 + 4 + 4 + 32 + 4 + 1 + 4 + 7
        );
    }
}
