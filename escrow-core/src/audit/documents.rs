//! The documents disclosed to the auditor (warrants, cancellations, disclosures), by digest:
//! the judge's input, which a carry (`audit::carry`) adds to. A leaf; re-exported by
//! `audit::judge`.

use super::disclosure::Disclosure;
use crate::codec::{Digest32, WarrantDigest};
use crate::warrant::{CancellationEnvelope, WarrantEnvelope};
use std::collections::HashMap;

/// The documents disclosed to the auditor, by digest.
#[derive(Clone, Debug, Default)]
pub struct Documents {
    /// Warrant envelopes by digest.
    pub warrants: HashMap<WarrantDigest, WarrantEnvelope>,
    /// Cancellation envelopes by digest.
    pub cancellations: HashMap<Digest32, CancellationEnvelope>,
    /// Disclosures published by the oversight body, with where each came from (a file name).
    pub disclosures: Vec<(String, Disclosure)>,
}

impl Documents {
    /// Add a warrant (kept under its own digest).
    pub fn add_warrant(&mut self, env: WarrantEnvelope) {
        self.warrants.insert(env.digest(), env);
    }

    /// Add a cancellation (kept under its own digest).
    pub fn add_cancellation(&mut self, env: CancellationEnvelope) {
        self.cancellations.insert(env.digest(), env);
    }

    /// Is the warrant or cancellation with this digest (as [`Judge::wanted`](super::judge::Judge::wanted) names it) among
    /// the documents?
    pub fn contains(&self, digest: &Digest32) -> bool {
        self.warrants
            .contains_key(&WarrantDigest::from_digest(*digest))
            || self.cancellations.contains_key(digest)
    }
}
