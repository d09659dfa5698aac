//! The trustee set's history as the audited logs record it (issue 15): every ceremony — key
//! generation, refresh, reshare — and every share destruction, grouped by the ceremony's
//! transcript digest across trustees (`docs/audit.md`, `docs/protocol.md` §16).
//!
//! A node logs, in one commit each (`docs/protocol.md` §16.8, §16.10):
//!
//! ```text
//! keygen (made by init --dkg)      setup(new set), keygen(T)
//! reshare, new trustee             setup(new set), keygen(T)
//! refresh                          keygen(T), setup(new set), share-destroyed(old set)
//! reshare, dealer                  keygen(T), share-destroyed(old set)
//! ```
//!
//! so the entries next to a `keygen` entry say which ceremony it was. A key generation and a
//! reshare look alike in a new trustee's log; the ceremony is shown as a reshare when a dealer's
//! log among those audited shows it, or when the audited set says it was made by a reshare
//! ([`ceremonies_of`]: its `reshared_after`), and otherwise as a key generation.

use super::EntryKind;
use crate::codec::{Digest32, SetId};
use crate::time::Timestamp;
use crate::trustee::Composition;
use serde::Serialize;
use std::collections::BTreeMap;

/// A setup, keygen or share-destroyed entry of one trustee's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CeremonyEntry {
    /// Its sequence number.
    pub sequence: u64,
    /// Its time.
    pub time: Timestamp,
    /// Setup, Keygen or ShareDestroyed.
    pub kind: EntryKind,
    /// The set id (setup, share-destroyed) or transcript digest (keygen).
    pub document: Digest32,
}

/// What a ceremony was, as the logs show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Ceremony {
    /// A key generation without a dealer (or a reshare whose dealers' logs were not audited).
    Keygen,
    /// A proactive refresh: same key, every share renewed, old shares destroyed.
    Refresh,
    /// A reshare: the key moved to a new set of trustees, the dealers' shares destroyed.
    Reshare,
}

impl Ceremony {
    fn name(self) -> &'static str {
        match self {
            Ceremony::Keygen => "keygen",
            Ceremony::Refresh => "refresh",
            Ceremony::Reshare => "reshare",
        }
    }
}

/// One ceremony as the audited logs record it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CeremonyView {
    /// What it was.
    pub ceremony: Ceremony,
    /// Its transcript digest (the `keygen` entries' document).
    pub transcript: Digest32,
    /// The earliest of its entries' times.
    pub time: Timestamp,
    /// The set it made (a setup entry beside a keygen entry names it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_set: Option<SetId>,
    /// The set whose shares it replaced (refresh) or took (reshare).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_set: Option<SetId>,
    /// Trustees (indices in their own set) whose logs hold its keygen entry.
    pub logged_by: Vec<u16>,
    /// Trustees whose logs record destroying their share of `old_set` in it.
    pub destroyed_by: Vec<u16>,
    /// The lowest sequence number of its keygen entries (orders ceremonies logged within one
    /// second).
    #[serde(skip)]
    first_sequence: u64,
}

/// The ceremonies in the logs of `set`'s trustees (setup, keygen and share-destroyed entries in
/// log order), earliest first. A set made by a reshare (`reshared_after`
/// at least 1; its origin is the set the reshare made) is logged by its new trustees as setup then
/// keygen, like a key generation: the ceremony whose setup names that set is a reshare of the
/// set before it in the lineage, whether or not a dealer's log was audited.
pub fn ceremonies_of(
    set: &crate::trustee::TrusteeSet,
    logs: &BTreeMap<u16, Vec<CeremonyEntry>>,
) -> Vec<CeremonyView> {
    let mut out = ceremonies(logs);
    let after = usize::from(set.reshared_after());
    if let Some(before) = after
        .checked_sub(1)
        .and_then(|i| set.lineage().get(i).copied())
    {
        let made = set.origin();
        for v in out
            .iter_mut()
            .filter(|v| v.ceremony == Ceremony::Keygen && v.new_set == Some(made))
        {
            v.ceremony = Ceremony::Reshare;
            v.old_set = v.old_set.or(Some(before));
        }
    }
    out
}

/// The ceremonies in `logs` (each trustee's setup, keygen and share-destroyed entries in log
/// order), earliest first, as the logs alone show them: a reshare logged only by its new
/// trustees reads as a keygen here; [`ceremonies_of`], which knows the set, is the public view.
fn ceremonies(logs: &BTreeMap<u16, Vec<CeremonyEntry>>) -> Vec<CeremonyView> {
    let mut by_transcript: BTreeMap<Digest32, CeremonyView> = BTreeMap::new();
    for (&trustee, entries) in logs {
        let at = |i: Option<usize>, seq: Option<u64>| {
            i.and_then(|i| entries.get(i))
                .filter(|e| Some(e.sequence) == seq)
        };
        for (i, e) in entries.iter().enumerate() {
            if e.kind != EntryKind::Keygen {
                continue;
            }
            let next = at(i.checked_add(1), e.sequence.checked_add(1)).map(|e| e.kind);
            let next_doc = at(i.checked_add(1), e.sequence.checked_add(1)).map(|e| e.document);
            let after = at(i.checked_add(2), e.sequence.checked_add(2));
            let before = at(i.checked_sub(1), e.sequence.checked_sub(1));
            let (ceremony, new_set, old_set) = match (next, after) {
                (Some(EntryKind::Setup), Some(a)) if a.kind == EntryKind::ShareDestroyed => {
                    (Ceremony::Refresh, next_doc, Some(a.document))
                }
                (Some(EntryKind::ShareDestroyed), _) => (Ceremony::Reshare, None, next_doc),
                _ => (
                    Ceremony::Keygen,
                    before
                        .filter(|b| b.kind == EntryKind::Setup)
                        .map(|b| b.document),
                    None,
                ),
            };
            let v = by_transcript
                .entry(e.document)
                .or_insert_with(|| CeremonyView {
                    ceremony,
                    transcript: e.document,
                    time: e.time,
                    new_set: None,
                    old_set: None,
                    logged_by: Vec::new(),
                    destroyed_by: Vec::new(),
                    first_sequence: e.sequence,
                });
            v.first_sequence = v.first_sequence.min(e.sequence);
            // a dealer's or a refreshing trustee's entries say more than a new trustee's
            if ceremony != Ceremony::Keygen {
                v.ceremony = ceremony;
            }
            v.time = v.time.min(e.time);
            // a setup's or share-destroyed entry's document is a set id
            v.new_set = v.new_set.or(new_set.map(SetId::from_digest));
            v.old_set = v.old_set.or(old_set.map(SetId::from_digest));
            v.logged_by.push(trustee);
            if old_set.is_some() {
                v.destroyed_by.push(trustee);
            }
        }
    }
    let mut out: Vec<CeremonyView> = by_transcript.into_values().collect();
    out.sort_by_key(|v| (v.time, v.first_sequence, v.transcript));
    out
}

fn list(t: &[u16]) -> String {
    t.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

fn sets(v: &CeremonyView) -> String {
    match (v.old_set, v.new_set) {
        (Some(o), Some(n)) => format!("set {} -> {}", o.short(), n.short()),
        (Some(o), None) => format!("from set {}", o.short()),
        (None, Some(n)) => format!("made set {}", n.short()),
        (None, None) => String::new(),
    }
}

fn destroyed(v: &CeremonyView) -> String {
    match v.old_set {
        Some(o) if !v.destroyed_by.is_empty() => format!(
            "shares of set {} destroyed by trustees {}",
            o.short(),
            list(&v.destroyed_by)
        ),
        _ => String::new(),
    }
}

/// The history as text lines (`escrow audit`).
pub fn to_text(history: &[CeremonyView]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if history.is_empty() {
        let _ = writeln!(
            s,
            "set history: no ceremony in the audited logs (a set made by a dealer, `escrow setup`)"
        );
        return s;
    }
    let _ = writeln!(
        s,
        "set history (from the logs): {} ceremonies",
        history.len()
    );
    for v in history {
        let d = destroyed(v);
        let _ = writeln!(
            s,
            "  {}  {:<7} transcript {}  {}  logged by trustees {}{}",
            v.time,
            v.ceremony.name(),
            v.transcript.short(),
            sets(v),
            list(&v.logged_by),
            if d.is_empty() {
                String::new()
            } else {
                format!("; {d}")
            }
        );
    }
    s
}

/// The history as an HTML section (`escrow audit --html`).
pub fn to_html(history: &[CeremonyView]) -> String {
    use super::html::esc;
    use std::fmt::Write as _;
    let mut h = String::from(
        "<h2>Set history</h2><p class=note>Every key generation, refresh and reshare the audited logs record, and which trustees destroyed their old shares.</p>",
    );
    if history.is_empty() {
        h.push_str("<p>No ceremony in the audited logs: the set was made by a dealer (<code>escrow setup</code>).</p>");
        return h;
    }
    h.push_str("<table><tr><th>Time</th><th>Ceremony</th><th>Transcript</th><th>Sets</th><th>Logged by</th><th>Old shares destroyed</th></tr>");
    for v in history {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&v.time.to_string()),
            v.ceremony.name(),
            v.transcript.short(),
            esc(&sets(v)),
            list(&v.logged_by),
            esc(&destroyed(v)),
        );
    }
    h.push_str("</table>");
    h
}

/// The set's composition as text: who holds its shares by jurisdiction and by organisation,
/// and whether any one of them holds k or more (could open every message alone).
pub fn composition_text(c: Option<&Composition>) -> String {
    use std::fmt::Write as _;
    let Some(c) = c else {
        return "composition: the set does not say which organisations and jurisdictions hold its shares\n".into();
    };
    let mut s = String::new();
    let _ = writeln!(s, "composition ({}-of-{}):", c.threshold, c.trustees);
    for (what, rows) in [
        ("jurisdiction", &c.jurisdictions),
        ("organisation", &c.organisations),
    ] {
        for r in rows {
            let _ = writeln!(
                s,
                "  {what:<12} {:<24} {} share(s), trustees {}{}",
                r.name,
                r.trustees.len(),
                list(&r.trustees),
                if r.trustees.len() >= usize::from(c.threshold) {
                    "  — holds k or more: could open every message alone"
                } else {
                    ""
                }
            );
        }
    }
    s
}

/// The set's composition as an HTML section.
pub fn composition_html(c: Option<&Composition>) -> String {
    use super::html::esc;
    use std::fmt::Write as _;
    let mut h = String::from("<h2>Who holds the key</h2>");
    let Some(c) = c else {
        h.push_str(
            "<p>The set does not say which organisations and jurisdictions hold its shares.</p>",
        );
        return h;
    };
    let _ = write!(
        h,
        "<p class=note>Shares of the {}-of-{} set by jurisdiction and by organisation; any one holding k or more could open every message alone.</p><table><tr><th>Kind</th><th>Name</th><th>Shares</th><th>Trustees</th><th>k or more</th></tr>",
        c.threshold, c.trustees
    );
    for (what, rows) in [
        ("jurisdiction", &c.jurisdictions),
        ("organisation", &c.organisations),
    ] {
        for r in rows {
            let _ = write!(
                h,
                "<tr><td>{what}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&r.name),
                r.trustees.len(),
                list(&r.trustees),
                if r.trustees.len() >= usize::from(c.threshold) {
                    "yes"
                } else {
                    "no"
                }
            );
        }
    }
    h.push_str("</table>");
    h
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn d(b: u8) -> Digest32 {
        Digest32::sha256(&[b])
    }

    fn e(sequence: u64, time: i64, kind: EntryKind, document: Digest32) -> CeremonyEntry {
        CeremonyEntry {
            sequence,
            time: Timestamp(time),
            kind,
            document,
        }
    }

    #[test]
    fn keygen_refresh_and_reshare_are_told_apart_from_the_entries_beside_keygen() {
        let (s1, s2, s3) = (d(1), d(2), d(3));
        let id = SetId::from_digest;
        let (t1, t2, t3) = (d(11), d(12), d(13));
        let mut logs = BTreeMap::new();
        // trustees 1 and 2 of the first set: keygen, refresh, then dealt in a reshare
        for t in [1u16, 2] {
            logs.insert(
                t,
                vec![
                    e(0, 100, EntryKind::Setup, s1),
                    e(1, 100, EntryKind::Keygen, t1),
                    e(5, 200, EntryKind::Keygen, t2),
                    e(6, 200, EntryKind::Setup, s2),
                    e(7, 200, EntryKind::ShareDestroyed, s1),
                    e(9, 300, EntryKind::Keygen, t3),
                    e(10, 300, EntryKind::ShareDestroyed, s2),
                ],
            );
        }
        // a new trustee of the reshared set: its log begins setup, keygen
        logs.insert(
            7,
            vec![
                e(0, 301, EntryKind::Setup, s3),
                e(1, 301, EntryKind::Keygen, t3),
            ],
        );
        let h = ceremonies(&logs);
        assert_eq!(h.len(), 3);
        assert_eq!(
            (h[0].ceremony, h[0].new_set, h[0].old_set),
            (Ceremony::Keygen, Some(id(s1)), None)
        );
        assert_eq!(h[0].logged_by, vec![1, 2]);
        assert!(h[0].destroyed_by.is_empty());
        assert_eq!(
            (h[1].ceremony, h[1].new_set, h[1].old_set),
            (Ceremony::Refresh, Some(id(s2)), Some(id(s1)))
        );
        assert_eq!(h[1].destroyed_by, vec![1, 2]);
        assert_eq!(
            (h[2].ceremony, h[2].new_set, h[2].old_set),
            (Ceremony::Reshare, Some(id(s3)), Some(id(s2)))
        );
        assert_eq!(h[2].logged_by, vec![1, 2, 7]);
        assert_eq!(h[2].destroyed_by, vec![1, 2]);
        assert_eq!(h[2].time, Timestamp(300));
        let text = to_text(&h);
        assert!(text.contains("3 ceremonies"), "{text}");
        assert!(text.contains("refresh"), "{text}");
        assert!(
            text.contains(&format!(
                "shares of set {} destroyed by trustees 1, 2",
                s1.short()
            )),
            "{text}"
        );
        assert!(to_html(&h).contains("<td>reshare</td>"));
        // a dealt set: no ceremony
        let dealt = BTreeMap::from([(1u16, vec![e(0, 1, EntryKind::Setup, s1)])]);
        assert!(ceremonies(&dealt).is_empty());
        assert!(to_text(&[]).contains("no ceremony"));
    }

    #[test]
    fn ceremonies_within_one_second_keep_their_log_order() {
        // the refresh's transcript digest sorts before the keygen's; the log order wins
        let (first, second) = if d(21) > d(22) {
            (d(21), d(22))
        } else {
            (d(22), d(21))
        };
        let logs = BTreeMap::from([(
            1u16,
            vec![
                e(0, 5, EntryKind::Setup, d(1)),
                e(1, 5, EntryKind::Keygen, first),
                e(2, 5, EntryKind::Keygen, second),
                e(3, 5, EntryKind::Setup, d(2)),
                e(4, 5, EntryKind::ShareDestroyed, d(1)),
            ],
        )]);
        let h = ceremonies(&logs);
        assert_eq!(h[0].transcript, first);
        assert_eq!(h[0].ceremony, Ceremony::Keygen);
        assert_eq!(h[1].ceremony, Ceremony::Refresh);
    }

    #[test]
    fn entries_that_are_not_adjacent_do_not_make_a_refresh() {
        // a keygen entry followed later (not next) by setup and share-destroyed
        let logs = BTreeMap::from([(
            1u16,
            vec![
                e(0, 1, EntryKind::Setup, d(1)),
                e(1, 1, EntryKind::Keygen, d(11)),
                e(4, 2, EntryKind::Setup, d(1)),
                e(9, 3, EntryKind::ShareDestroyed, d(1)),
            ],
        )]);
        let h = ceremonies(&logs);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].ceremony, Ceremony::Keygen);
        assert_eq!(h[0].old_set, None);
    }

    #[test]
    fn the_composition_shows_who_holds_k_shares() {
        use crate::trustee::Holder;
        let h = |o: &str, j: &str| Holder::new(o, j).unwrap();
        let c = Composition::new(2, &[h("A", "DE"), h("B", "DE"), h("C", "FR")]);
        let t = composition_text(Some(&c));
        assert!(t.contains("composition (2-of-3)"), "{t}");
        let de = t.lines().find(|l| l.contains(" DE ")).unwrap();
        assert!(
            de.contains("2 share(s), trustees 1, 2") && de.contains("holds k or more"),
            "{t}"
        );
        let fr = t.lines().find(|l| l.contains(" FR ")).unwrap();
        assert!(!fr.contains("holds k or more"), "{t}");
        assert!(composition_html(Some(&c)).contains("<td>DE</td><td>2</td>"));
        assert!(composition_text(None).contains("does not say"));
    }

    /// Issue 15 defect (c): a reshare seen only in the new trustees' logs (setup, keygen) was
    /// listed as a key generation; the reshared set says it was made by a reshare.
    #[test]
    fn a_reshare_seen_only_in_the_new_trustees_logs_is_a_reshare() {
        let dealt = crate::trustee::deal(3, 2, &mut rand::rng()).unwrap().set;
        let old = SetId::from_digest(d(40));
        let set = crate::trustee::TrusteeSet::from_parts_full(
            dealt.commitments().to_vec(),
            dealt.members().to_vec(),
            vec![old],
            1,
        )
        .unwrap();
        let t = d(41);
        let logs: BTreeMap<u16, Vec<CeremonyEntry>> = (1..=3u16)
            .map(|i| {
                (
                    i,
                    vec![
                        e(0, 7, EntryKind::Setup, set.id().digest()),
                        e(1, 7, EntryKind::Keygen, t),
                    ],
                )
            })
            .collect();
        let h = ceremonies_of(&set, &logs);
        assert_eq!(h.len(), 1);
        assert_eq!(
            (h[0].ceremony, h[0].new_set, h[0].old_set),
            (Ceremony::Reshare, Some(set.id()), Some(old))
        );
        assert!(h[0].destroyed_by.is_empty());
        // a set made by a key generation stays a key generation
        let logs: BTreeMap<u16, Vec<CeremonyEntry>> = BTreeMap::from([(
            1u16,
            vec![
                e(0, 7, EntryKind::Setup, dealt.id().digest()),
                e(1, 7, EntryKind::Keygen, t),
            ],
        )]);
        assert_eq!(ceremonies_of(&dealt, &logs)[0].ceremony, Ceremony::Keygen);
    }
}
