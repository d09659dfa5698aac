//! What the audit of a log's first N entries leaves for auditing the entries after them: the
//! auditing witness's incremental audit (issue 17, `docs/witness.md` §Incremental audit).
//!
//! A [`LogCarry`] holds, for one trustee's log judged up to a signed checkpoint of size N:
//! the checkpoint and its tree head, the right edge of the Merkle tree at N ([`Frontier`], one
//! hash per binary digit of N), so the root of the next checkpoint is recomputed from the new
//! entries alone; and the facts of the first N entries that the judgement of a later release
//! depends on ([`JudgedFacts`]): the cancellations and setup entries, the node's release
//! counter (per warrant id, the distinct ciphertexts released), and the warrants and
//! cancellations the judgement read. A carry is made only when every release in the N entries
//! was justified ([`crate::audit::judge::Judgement::carried`]), so resuming from it judges the
//! entries after N exactly as a judgement of the whole log would.

use super::merkle::{Frontier, TreeHead};
use crate::codec::{CiphertextDigest, Digest32, WarrantDigest};
use crate::warrant::{CancellationEnvelope, WarrantEnvelope};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Format version of a serialized [`LogCarry`].
pub const CARRY_FORMAT_VERSION: u32 = 1;

/// Why a stored carry cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CarryError {
    /// Not a carry of this format (JSON, unknown fields, version).
    #[error("audit carry: {0}")]
    Format(String),
    /// Its frontier is no tree's, or does not hash to its tree head.
    #[error("audit carry of {origin:?}: its frontier does not hash to its tree head (size {size})")]
    Frontier {
        /// The log.
        origin: String,
        /// The size it claims.
        size: u64,
    },
}

/// A cancellation entry of the judged part of a log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarriedCancellation {
    /// Its entry (leaf index).
    pub entry: u64,
    /// The warrant digest it names.
    pub warrant: Option<WarrantDigest>,
    /// The digest of the cancellation document.
    pub document: Option<Digest32>,
}

/// The facts of the judged part of one trustee's log that judging a later release needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedFacts {
    /// Every cancellation entry.
    pub cancellations: Vec<CarriedCancellation>,
    /// Every setup entry naming a policy: (entry, policy digest), in log order.
    pub setups: Vec<(u64, Digest32)>,
    /// The node's release counter: per warrant id, the distinct ciphertexts released under it.
    pub released: BTreeMap<String, BTreeSet<CiphertextDigest>>,
    /// The warrants the judgement read (disclosed, fetched or opened from the log).
    pub warrants: Vec<WarrantEnvelope>,
    /// The cancellation documents it read.
    pub cancellation_documents: Vec<CancellationEnvelope>,
}

impl JudgedFacts {
    /// Add the carried warrants and cancellations to `docs` (those already there are kept).
    pub fn add_documents(&self, docs: &mut super::documents::Documents) {
        for w in &self.warrants {
            if !docs.warrants.contains_key(&w.digest()) {
                docs.add_warrant(w.clone());
            }
        }
        for c in &self.cancellation_documents {
            if !docs.cancellations.contains_key(&c.digest()) {
                docs.add_cancellation(c.clone());
            }
        }
    }

    /// Distinct ciphertexts carried in the release counter (its size: 32 bytes each).
    pub fn released_count(&self) -> usize {
        self.released.values().map(BTreeSet::len).sum()
    }
}

/// One trustee's log judged up to a signed checkpoint, every release in it justified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCarry {
    /// [`CARRY_FORMAT_VERSION`].
    pub version: u32,
    /// The trustee.
    pub trustee: u16,
    /// The log's origin line.
    pub origin: String,
    /// The signed checkpoint (note) judged up to.
    pub checkpoint: String,
    /// Its tree head.
    pub head: TreeHead,
    /// The right edge of the tree at `head.size`: (subtree size, hash), left to right.
    frontier: Vec<(u64, Digest32)>,
    /// What the judgement of a later release needs.
    pub facts: JudgedFacts,
}

impl LogCarry {
    /// The carry of `trustee`'s log `origin`, judged up to `checkpoint` whose tree is
    /// `frontier` (its head is the carry's).
    pub fn new(
        trustee: u16,
        origin: String,
        checkpoint: String,
        frontier: &Frontier,
        facts: JudgedFacts,
    ) -> Self {
        LogCarry {
            version: CARRY_FORMAT_VERSION,
            trustee,
            origin,
            checkpoint,
            head: frontier.head(),
            frontier: frontier.nodes().to_vec(),
            facts,
        }
    }

    /// The frontier to resume from, checked against the tree head.
    pub fn frontier(&self) -> Result<Frontier, CarryError> {
        Frontier::from_nodes(self.frontier.clone())
            .filter(|f| f.head() == self.head)
            .ok_or_else(|| CarryError::Frontier {
                origin: self.origin.clone(),
                size: self.head.size,
            })
    }

    /// The JSON form (one object).
    pub fn to_json(&self) -> String {
        crate::codec::to_json(self)
    }

    /// Parse and check the JSON form (version, frontier against the head).
    pub fn from_json(s: &str) -> Result<Self, CarryError> {
        let c: LogCarry = serde_json::from_str(s).map_err(|e| CarryError::Format(e.to_string()))?;
        if c.version != CARRY_FORMAT_VERSION {
            return Err(CarryError::Format(format!(
                "format version {}, this build reads {CARRY_FORMAT_VERSION}",
                c.version
            )));
        }
        c.frontier()?;
        Ok(c)
    }
}
