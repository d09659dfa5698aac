//! The lab of the threshold key-escrow system: the demo (`escrow demo`) and the experiments
//! (`escrow experiment ...`).
//!
//! * [`demo`]: the warrant workflow live on n real trustee nodes (or, with `--local`, the
//!   cryptographic core in one process), narrated step by step; every step checks its own
//!   outcome, so the demo doubles as a smoke test.
//! * [`experiment`]: the research measurements (sweeps, failures, batches on the core; e2e and
//!   audit-log on real nodes), each writing CSV, SVG plots and `run.json`.
//!
//! The investigator's retrieval and the auditor are supplied by the caller through
//! [`roles::Roles`], so that the demo runs the code paths a user runs.
//!
//! Module graph (no cycles): `args`, `out`, `files`, `roles` are leaves; `nodes` and `parties`
//! use `files`; `demo_local`, `demo_live`, `experiment` and `experiment_live` use those (and
//! `experiment_wan` uses `experiment_live`, `delay` and `netns`; `experiment_dkg` uses
//! `experiment`, `experiment_live` and `parties`); only
//! this file dispatches.

pub mod args;
pub mod delay;
mod demo_live;
mod demo_local;
pub mod demo_tls;
mod demo_witness;
mod experiment;
mod experiment_dkg;
mod experiment_live;
mod experiment_wan;
pub mod files;
pub mod library_roles;
pub mod netns;
pub mod nodes;
pub mod out;
pub mod parties;
pub mod roles;
mod story;
pub mod witnesses;

pub use args::{DemoArgs, ExperimentArgs, ExperimentCmd};
pub use out::Out;
pub use roles::Roles;

/// `escrow demo`: live on trustee nodes, or `--local` in this process.
pub fn demo(a: DemoArgs, roles: &dyn Roles, out: Out) -> anyhow::Result<()> {
    if a.local {
        demo_local::run(&a, out)
    } else {
        demo_live::run(&a, roles, out)
    }
}

/// `escrow experiment ...`.
pub fn experiment(a: ExperimentArgs, roles: &dyn Roles, out: Out) -> anyhow::Result<()> {
    match a.cmd {
        ExperimentCmd::Sweep(a) => experiment::sweep(a, out),
        ExperimentCmd::Failures(a) => experiment::failures(a, out),
        ExperimentCmd::Batch(a) => experiment::batch(a, out),
        ExperimentCmd::E2e(a) => experiment_live::e2e(a, roles, out),
        ExperimentCmd::AuditLog(a) => experiment_live::audit_log(a, roles, out),
        ExperimentCmd::Wan(a) => experiment_wan::wan(a, roles, out),
        ExperimentCmd::Dkg(a) => experiment_dkg::dkg(a, out),
    }
}
