//! `escrow demo` and `escrow experiment ...`: thin entries into the `escrow-lab` crate, which
//! is handed the investigator (`escrow retrieve`'s code) and the auditor (`escrow audit`'s
//! code) so that the demo and the experiments run what a user runs.

use crate::cmd_retrieve::{self, Outcome};
use crate::io::Out;
use anyhow::{Context, Result};
use escrow_core::keys::PrivateKey;
use escrow_core::message::SealedMessage;
use escrow_core::trustee::TrusteeSet;
use escrow_core::warrant::WarrantEnvelope;
use escrow_lab::roles::{
    Ask, AuditRequest, AuditSummary, Got, Net, RetrieveStats, Retrieved, Roles,
};
use std::path::{Path, PathBuf};

/// The CLI's investigator and auditor.
struct CliRoles;

impl Roles for CliRoles {
    fn retrieve(
        &self,
        set: &TrusteeSet,
        warrant: &WarrantEnvelope,
        key: &PrivateKey,
        msgs: &[SealedMessage],
        urls: &[String],
        net: &Net,
        out_dir: &Path,
    ) -> Result<Retrieved> {
        let cli_net = cmd_retrieve::Net {
            batch: net.batch,
            timeout: net.timeout,
            attempts: net.attempts,
            progress: false,
            threshold_first: net.ask == Ask::Threshold,
        };
        let r = cmd_retrieve::run(set, warrant, key, msgs, urls, &cli_net, out_dir)?;
        Ok(Retrieved {
            outcomes: r
                .outcomes
                .into_iter()
                .map(|(_, _, o)| match o {
                    Outcome::Decrypted { file, .. } => Got::Read { file },
                    Outcome::NotDecrypted { refusals, .. } => Got::Unread { refusals },
                })
                .collect(),
            trustees: r.trustees,
            bad_shares: r.bad_shares,
            stats: RetrieveStats {
                ask_s: r.stats.ask_s,
                combine_s: r.stats.combine_s,
                request_bytes: r.stats.request_bytes,
                response_bytes: r.stats.response_bytes,
            },
        })
    }

    fn audit(&self, req: &AuditRequest) -> Result<AuditSummary> {
        let args = crate::cmd_audit::AuditArgs {
            set: req.set.clone(),
            trustees: req.trustees.clone(),
            net: Default::default(),
            policy: Some(req.policy.clone()),
            warrants: None,
            oversight_key: req.oversight_key.clone(),
            state: req.state.clone(),
            html: None,
            receipts: Vec::new(),
            checkpoints: Vec::new(),
            require_all: false,
            timeout: req.timeout,
        };
        let report = crate::cmd_audit::run(&args, Out { json: true })?;
        Ok(AuditSummary {
            errors: report.errors(),
            findings: report.findings.len(),
            entries: report.trustees.iter().map(|t| t.entries).sum(),
            text: report.to_text(),
            html: report.to_html(),
            json: serde_json::to_value(&report)?,
        })
    }

    fn audit_program(&self) -> Result<PathBuf> {
        std::env::current_exe().context("cannot find this escrow binary")
    }
}

pub fn demo(a: escrow_lab::DemoArgs, out: Out) -> Result<()> {
    escrow_lab::demo(a, &CliRoles, escrow_lab::Out { json: out.json })
}

pub fn experiment(a: escrow_lab::ExperimentArgs, out: Out) -> Result<()> {
    escrow_lab::experiment(a, &CliRoles, escrow_lab::Out { json: out.json })
}
