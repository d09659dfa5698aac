//! Reading a `/v1/log/entries` page as a stream: each entry is handed over as soon as it is
//! parsed, so no page size, however large, needs the whole page in memory (`docs/audit.md` §5).
//!
//! The page is the JSON object of `docs/api.md` (`{"size", "start", "end", "entries": [{"index",
//! "leaf_hash", "bytes", "entry"}, ...]}`); fields other than `entries` and, per entry,
//! `index`, `leaf_hash` and `bytes` are skipped without being kept (the decoded `entry` view is
//! ignored: the auditor decodes the bytes itself). A reader limit applies per entry, not per
//! page: [`MAX_SERVED_ENTRY`] bytes of JSON between two entries.

use super::entry::MAX_ENTRY_BYTES;
use crate::codec::{Digest32, b64_decode};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;

/// Most JSON bytes read for one entry (its base64 bytes, the JSON view of the same entry, and
/// slack), and before the first entry.
pub const MAX_SERVED_ENTRY: u64 = 4 * (MAX_ENTRY_BYTES as u64) + (1 << 20);

/// One entry as served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedEntry {
    /// The index the node says this is.
    pub index: Option<u64>,
    /// The leaf hash the node served with it.
    pub leaf_hash: Option<Digest32>,
    /// The entry bytes (base64-decoded; empty if they were not valid base64).
    pub bytes: Vec<u8>,
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// Not the page JSON (or cut off, or an entry larger than [`MAX_SERVED_ENTRY`]).
    #[error("log page: {0}")]
    Malformed(String),
}

struct Limited<R> {
    inner: R,
    since_entry: Rc<Cell<u64>>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let used = self.since_entry.get();
        if used >= MAX_SERVED_ENTRY {
            return Err(std::io::Error::other(format!(
                "more than {MAX_SERVED_ENTRY} bytes for one entry"
            )));
        }
        let room = usize::try_from(MAX_SERVED_ENTRY - used).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        let got = self.inner.read(buf.get_mut(..n).unwrap_or_default())?;
        self.since_entry.set(used + got as u64);
        Ok(got)
    }
}

/// Read one page from `r`, calling `each` for every entry in order. Returns the number of
/// entries.
pub fn read_entries_page<R: Read>(
    r: R,
    each: &mut dyn FnMut(ServedEntry),
) -> Result<u64, PageError> {
    let counter = Rc::new(Cell::new(0u64));
    let limited = Limited {
        inner: std::io::BufReader::with_capacity(64 * 1024, r),
        since_entry: counter.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(limited);
    let n = PageSeed {
        each,
        counter: &counter,
        whole_page: true,
    }
    .deserialize(&mut de)
    .map_err(|e| PageError::Malformed(e.to_string()))?;
    de.end().map_err(|e| PageError::Malformed(e.to_string()))?;
    Ok(n)
}

/// The page object (`whole_page`) or, within it, its `entries` array: one seed for both
/// levels, so that the entry callback and the byte counter are handed down in one place.
struct PageSeed<'a> {
    each: &'a mut dyn FnMut(ServedEntry),
    counter: &'a Rc<Cell<u64>>,
    whole_page: bool,
}

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = u64;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        if self.whole_page {
            d.deserialize_map(self)
        } else {
            d.deserialize_seq(self)
        }
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = u64;
    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.whole_page {
            "a log entries page"
        } else {
            "an array of entries"
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<u64, A::Error> {
        let mut n = None;
        while let Some(k) = m.next_key::<String>()? {
            if k == "entries" {
                if n.is_some() {
                    return Err(de::Error::duplicate_field("entries"));
                }
                n = Some(m.next_value_seed(PageSeed {
                    each: &mut *self.each,
                    counter: self.counter,
                    whole_page: false,
                })?);
            } else {
                m.next_value::<IgnoredAny>()?;
            }
        }
        n.ok_or_else(|| de::Error::missing_field("entries"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<u64, A::Error> {
        let mut n = 0u64;
        while let Some(e) = s.next_element::<Served>()? {
            self.counter.set(0);
            (self.each)(ServedEntry {
                index: e.index,
                leaf_hash: e.leaf_hash.as_deref().and_then(Digest32::from_hex),
                bytes: e
                    .bytes
                    .as_deref()
                    .and_then(|b| b64_decode(b).ok())
                    .unwrap_or_default(),
            });
            n += 1;
        }
        Ok(n)
    }
}

#[derive(serde::Deserialize)]
struct Served {
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    leaf_hash: Option<String>,
    #[serde(default)]
    bytes: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    entry: Option<IgnoredAny>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::audit::{LogEntry, leaf_hash};
    use crate::codec::b64_encode;
    use crate::time::Timestamp;

    /// Generates `{"size":N,"start":0,"end":N,"entries":[...]}` lazily, never holding more
    /// than one entry; counts the bytes handed out.
    struct Generated {
        n: u64,
        next: u64,
        buf: Vec<u8>,
        pos: usize,
        handed: Rc<Cell<u64>>,
        done: bool,
    }

    fn entry_json(i: u64) -> String {
        let e = LogEntry::refusal(i, Timestamp(1_700_000_000), None, vec![], "malformed");
        let b = e.to_bytes();
        format!(
            r#"{{"index":{i},"leaf_hash":"{}","bytes":"{}","entry":{}}}"#,
            leaf_hash(&b).to_hex(),
            b64_encode(&b),
            serde_json::to_string(&e).unwrap()
        )
    }

    impl Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.pos == self.buf.len() {
                self.buf.clear();
                self.pos = 0;
                if self.next == 0 && !self.done {
                    self.buf.extend(
                        format!(r#"{{"size":{0},"start":0,"end":{0},"entries":["#, self.n).bytes(),
                    );
                }
                if self.next < self.n {
                    if self.next > 0 {
                        self.buf.push(b',');
                    }
                    self.buf.extend(entry_json(self.next).bytes());
                    self.next += 1;
                } else if !self.done {
                    self.buf.extend(b"]}");
                    self.done = true;
                }
            }
            let n = out.len().min(self.buf.len() - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            self.handed.set(self.handed.get() + n as u64);
            Ok(n)
        }
    }

    #[test]
    fn a_page_is_streamed_entry_by_entry() {
        // ~64 MiB of page: every entry is handed over long before the page is read, and the
        // bytes read ahead of any entry stay within the reader's buffer plus one entry.
        let n = 200_000u64;
        let handed = Rc::new(Cell::new(0));
        let g = Generated {
            n,
            next: 0,
            buf: Vec::new(),
            pos: 0,
            handed: handed.clone(),
            done: false,
        };
        let mut seen = 0u64;
        let mut max_ahead = 0u64;
        let mut total_len = 0u64;
        let got = read_entries_page(g, &mut |e| {
            assert_eq!(e.index, Some(seen));
            assert_eq!(e.leaf_hash, Some(leaf_hash(&e.bytes)));
            assert_eq!(LogEntry::from_bytes(&e.bytes).unwrap().sequence, seen);
            let expected_upto = total_len;
            total_len += entry_json(seen).len() as u64 + 1;
            max_ahead = max_ahead.max(handed.get().saturating_sub(expected_upto));
            seen += 1;
        })
        .unwrap();
        assert_eq!(got, n);
        assert_eq!(seen, n);
        assert!(handed.get() > 60 << 20, "page of {} bytes", handed.get());
        assert!(
            max_ahead < 256 * 1024,
            "read {max_ahead} bytes ahead of an entry"
        );
    }

    #[test]
    fn an_oversized_entry_or_a_broken_page_is_refused() {
        let big = format!(
            r#"{{"entries":[{{"index":0,"bytes":"{}"}}]}}"#,
            "A".repeat(usize::try_from(MAX_SERVED_ENTRY).unwrap() + 8)
        );
        let e = read_entries_page(big.as_bytes(), &mut |_| panic!("no entry")).unwrap_err();
        assert!(e.to_string().contains("bytes for one entry"), "{e}");
        let e = read_entries_page(&br#"{"size":1}"#[..], &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("missing field `entries`"), "{e}");
        let e = read_entries_page(&br#"{"entries":[{"index":0}"#[..], &mut |_| {}).unwrap_err();
        assert!(matches!(e, PageError::Malformed(_)));
    }
}
