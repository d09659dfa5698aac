//! # escrow-research
//!
//! The research harness of the threshold key-escrow system (issue 7): measurement code only.
//! Every protocol formula lives in `escrow-core`; this crate calls it, times it, and writes
//! what it saw.
//!
//! * [`naive`] — the baseline the design is compared with: Shamir-split every message key
//!   (`vsss-rs`) and ECIES-encrypt each share to each trustee (`escrow_core::ecies`).
//! * [`floor`] — the curve operations each per-message operation performs, timed on their own:
//!   the floor an operation is reported beside.
//! * [`workload`] — synthetic messages (labels and message keys), the same for every scheme.
//! * [`experiment`] — the sweep, failure and batch runners behind `escrow experiment`.
//! * [`frost_dkg`] — `frost-p256`'s in-process DKG, the baseline beside our nodes' ceremonies.
//! * [`record`] — the run record: parameters, machine, crate versions, git commit.
//! * [`csv`], [`plot`] — CSV and SVG output.
//! * [`stats`] — summaries of timing samples.
#![deny(missing_docs)]

pub mod csv;
pub mod experiment;
pub mod floor;
pub mod frost_dkg;
mod git;
pub mod naive;
pub mod plot;
pub mod record;
pub mod stats;
pub mod workload;

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from the escrow core (a parameter it refused, a check that failed).
    #[error(transparent)]
    Core(#[from] escrow_core::Error),
    /// Experiment parameters that make no sense (k > n, no messages, ...).
    #[error("invalid experiment parameters: {0}")]
    Parameters(String),
    /// The naive baseline failed (splitting, decrypting or combining).
    #[error("naive baseline: {0}")]
    Naive(String),
    /// A peer library measured beside ours failed (`frost-p256`'s DKG).
    #[error("peer baseline: {0}")]
    Peer(String),
    /// A run produced a wrong result (a recovered key that differs from the sealed one).
    #[error("experiment produced a wrong result: {0}")]
    WrongResult(String),
    /// Writing an output file failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Drawing a plot failed.
    #[error("plot {path}: {why}")]
    Plot {
        /// The file.
        path: String,
        /// The cause.
        why: String,
    },
}

/// Result with the harness's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;
