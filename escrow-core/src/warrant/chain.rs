//! Cancellation along a renewal chain: the one rule the trustee node and the auditor share.
//!
//! A cancellation names a warrant id; it cancels that warrant and, with it, every renewal
//! that descends from it (a renewal names its parent in `parent_warrant_id`; a renewal of a
//! renewal names the renewal). A warrant is therefore dead when its own id **or the id of any
//! ancestor** has been cancelled. The links are known only from warrants actually seen (their
//! payloads name their parents), so [`RenewalChains`] is fed every warrant payload a party has
//! accepted and every cancellation, in log order.
//!
//! The walk is bounded: a chain (or a set of links) larger than [`MAX_CHAIN_WALK`] ids is
//! treated as cancelled (fail closed; no real renewal chain comes near it).

use super::payload::WarrantPayload;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Most warrant ids visited when walking a renewal chain; beyond it the warrant is treated as
/// cancelled.
pub const MAX_CHAIN_WALK: usize = 1024;

/// Parent links and cancelled ids, as recorded in a log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenewalChains {
    /// warrant id -> the parent ids its accepted warrants named (one id may have several
    /// warrants, e.g. re-issued envelopes).
    parents: BTreeMap<String, BTreeSet<String>>,
    /// Cancelled warrant ids.
    cancelled: HashSet<String>,
}

/// Why a warrant is dead: which id of its chain was cancelled.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainCancellation {
    /// This id (the warrant itself or an ancestor) has been cancelled.
    Cancelled(String),
    /// The chain was longer than [`MAX_CHAIN_WALK`] ids (fail closed).
    TooLong,
}

impl core::fmt::Display for ChainCancellation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ChainCancellation::Cancelled(id) => write!(f, "warrant {id} was cancelled"),
            ChainCancellation::TooLong => write!(
                f,
                "the renewal chain is longer than {MAX_CHAIN_WALK} warrants (refused as cancelled)"
            ),
        }
    }
}

impl RenewalChains {
    /// Empty: nothing seen, nothing cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a warrant that was accepted: its parent link, if it is a renewal.
    pub fn record_warrant(&mut self, payload: &WarrantPayload) {
        if let Some(p) = &payload.parent_warrant_id {
            self.parents
                .entry(payload.warrant_id.clone())
                .or_default()
                .insert(p.clone());
        }
    }

    /// Record a parent link directly (`id` renews `parent`).
    pub fn record_link(&mut self, id: &str, parent: &str) {
        self.parents
            .entry(id.to_string())
            .or_default()
            .insert(parent.to_string());
    }

    /// Record an accepted cancellation of warrant id `id`.
    pub fn cancel(&mut self, id: &str) {
        self.cancelled.insert(id.to_string());
    }

    /// Was exactly this id cancelled (not looking at ancestors)?
    pub fn is_cancelled_itself(&self, id: &str) -> bool {
        self.cancelled.contains(id)
    }

    /// Every id cancelled itself.
    pub fn cancelled_ids(&self) -> impl Iterator<Item = &str> {
        self.cancelled.iter().map(String::as_str)
    }

    /// Is the warrant id `id` dead: cancelled itself, or any ancestor along the recorded links?
    pub fn check_id(&self, id: &str) -> Result<(), ChainCancellation> {
        self.walk(vec![id.to_string()])
    }

    /// [`RenewalChains::check_id`] as a boolean (for `Policy::verify`'s `is_cancelled`).
    pub fn is_cancelled(&self, id: &str) -> bool {
        self.check_id(id).is_err()
    }

    /// Is this warrant dead: its id, the parent its payload names (the warrant may not have
    /// been recorded yet), or any ancestor of either?
    pub fn check_warrant(&self, payload: &WarrantPayload) -> Result<(), ChainCancellation> {
        let mut start = vec![payload.warrant_id.clone()];
        start.extend(payload.parent_warrant_id.iter().cloned());
        self.walk(start)
    }

    fn walk(&self, start: Vec<String>) -> Result<(), ChainCancellation> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut todo = start;
        while let Some(id) = todo.pop() {
            if !seen.insert(id.clone()) {
                continue;
            }
            if seen.len() > MAX_CHAIN_WALK {
                return Err(ChainCancellation::TooLong);
            }
            if self.cancelled.contains(&id) {
                return Err(ChainCancellation::Cancelled(id));
            }
            if let Some(ps) = self.parents.get(&id) {
                todo.extend(ps.iter().filter(|p| !seen.contains(*p)).cloned());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_ancestor_kills_every_descendant() {
        let mut c = RenewalChains::new();
        c.record_link("r1", "w");
        c.record_link("r2", "r1");
        c.record_link("other", "x");
        assert!(c.check_id("r2").is_ok());
        c.cancel("w");
        assert_eq!(
            c.check_id("r2"),
            Err(ChainCancellation::Cancelled("w".into()))
        );
        assert!(c.is_cancelled("r1"));
        assert!(c.is_cancelled("w"));
        assert!(!c.is_cancelled("other"));
        assert!(!c.is_cancelled("x"));
        assert!(c.is_cancelled_itself("w"));
        assert!(!c.is_cancelled_itself("r2"));
    }

    #[test]
    fn cycles_end_and_long_chains_fail_closed() {
        let mut c = RenewalChains::new();
        c.record_link("a", "b");
        c.record_link("b", "a");
        assert!(c.check_id("a").is_ok());
        for i in 0..MAX_CHAIN_WALK + 5 {
            c.record_link(&format!("n{i}"), &format!("n{}", i + 1));
        }
        assert_eq!(c.check_id("n0"), Err(ChainCancellation::TooLong));
    }
}
