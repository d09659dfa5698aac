//! The two roles the lab drives but does not implement: the investigator's retrieval and the
//! auditor. The caller (the `escrow` CLI) supplies them through [`Roles`], so the demo and the
//! experiments run exactly the code paths a user runs (`escrow retrieve`, `escrow audit`) and
//! this crate does not depend on the binary.

use anyhow::Result;
use escrow_core::audit::judge::FindingGroup;
use escrow_core::keys::PrivateKey;
use escrow_core::trustee::TrusteeSet;
use escrow_core::v2::MailboxMessage;
use escrow_core::warrant::WarrantEnvelope;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which trustees a retrieval asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ask {
    /// Every trustee given, at once.
    All,
    /// The first k given; the others only for what did not decrypt.
    Threshold,
}

impl Ask {
    /// The name used on the command line and in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Ask::All => "all",
            Ask::Threshold => "threshold",
        }
    }
}

/// Network settings of a retrieval.
#[derive(Clone, Copy, Debug)]
pub struct Net {
    /// Ciphertexts per request.
    pub batch: usize,
    /// Per-request timeout, seconds.
    pub timeout: u64,
    /// Attempts per request.
    pub attempts: u32,
    /// Which trustees are asked first.
    pub ask: Ask,
}

/// One message of a retrieval.
#[derive(Debug, Clone)]
pub enum Got {
    /// Read; the plaintext is in `file`.
    Read {
        /// Where the plaintext was written.
        file: PathBuf,
    },
    /// Not read.
    Unread {
        /// Trustee refusals (trustee, `code: detail`).
        refusals: Vec<(u16, String)>,
    },
}

/// Time per phase and bytes on the wire of one retrieval.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RetrieveStats {
    /// Asking the trustees (in parallel), seconds.
    pub ask_s: f64,
    /// Verifying, combining, decrypting and writing, seconds.
    pub combine_s: f64,
    /// Of `combine_s`: writing the plaintext files and the receipts, seconds.
    pub write_s: f64,
    /// Request bodies sent, all trustees and attempts.
    pub request_bytes: u64,
    /// Answer bodies received, all trustees and attempts.
    pub response_bytes: u64,
}

/// What a retrieval gave.
#[derive(Debug, Clone)]
pub struct Retrieved {
    /// Per message, in request order.
    pub outcomes: Vec<Got>,
    /// Per trustee URL: index and status.
    pub trustees: Vec<serde_json::Value>,
    /// Trustees whose shares failed their proofs, with the first reason.
    pub bad_shares: BTreeMap<u16, String>,
    /// Where the time and the bytes went.
    pub stats: RetrieveStats,
}

impl Retrieved {
    /// Number of messages read.
    pub fn decrypted(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Got::Read { .. }))
            .count()
    }

    /// Refusal codes the trustees gave for every unread message, sorted, deduplicated.
    pub fn refusal_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .outcomes
            .iter()
            .filter_map(|o| match o {
                Got::Unread { refusals } => Some(
                    refusals
                        .iter()
                        .map(|(_, x)| x.split(':').next().unwrap_or("").to_string()),
                ),
                Got::Read { .. } => None,
            })
            .flatten()
            .collect();
        codes.sort();
        codes.dedup();
        codes
    }

    /// The first refusal, as `trustee i: code: detail` (empty if none).
    pub fn first_refusal(&self) -> String {
        self.outcomes
            .iter()
            .find_map(|o| match o {
                Got::Unread { refusals } => {
                    refusals.first().map(|(i, x)| format!("trustee {i}: {x}"))
                }
                Got::Read { .. } => None,
            })
            .unwrap_or_default()
    }
}

/// What the auditor is asked to audit.
#[derive(Debug, Clone)]
pub struct AuditRequest {
    /// The trustee set file.
    pub set: PathBuf,
    /// The trustees' URLs.
    pub trustees: Vec<String>,
    /// The trustees' policy file.
    pub policy: PathBuf,
    /// The oversight private key the policy names (the nodes serve warrant text only to it
    /// and to the warrant's investigator).
    pub oversight_key: Option<PathBuf>,
    /// The auditor's state folder (checkpoints seen), if kept.
    pub state: Option<PathBuf>,
    /// Investigators' `receipts.jsonl` files (each with its `summary.json`): every receipt
    /// proved in its trustee's log, a trustee whose shares failed their proofs a finding.
    pub receipts: Vec<PathBuf>,
    /// Per-request timeout, seconds.
    pub timeout: u64,
    /// The certificate of the key generation that made the set (`escrow audit
    /// --keygen-certificate`): checked against the set and every audited log's keygen entry.
    pub keygen_certificate: Option<PathBuf>,
}

/// What the auditor found.
#[derive(Debug, Clone)]
pub struct AuditSummary {
    /// Findings that are errors.
    pub errors: usize,
    /// All findings.
    pub findings: usize,
    /// Log entries read, all trustees.
    pub entries: u64,
    /// The findings grouped by kind and trustee, typed (`AuditReport::finding_groups`).
    pub finding_groups: Vec<FindingGroup>,
    /// `AuditReport::every_release_justified`: no error and no release left not judged.
    pub every_release_justified: bool,
    /// The readable report.
    pub text: String,
    /// The whole report as one HTML page (the oversight view when the audit had the
    /// oversight key): for the oversight body, not for publication.
    pub html: String,
    /// The public summary as one HTML page (counts only): the page to publish.
    pub public_html: String,
    /// The report as JSON.
    pub json: serde_json::Value,
}

/// The investigator and the auditor, as the `escrow` CLI runs them.
pub trait Roles {
    /// Ask the trustees at `urls` for shares of `msgs` (either format version) under `warrant`, verify, combine,
    /// decrypt, and write one file per message into `out_dir` (which exists).
    #[allow(clippy::too_many_arguments)]
    fn retrieve(
        &self,
        set: &TrusteeSet,
        warrant: &WarrantEnvelope,
        key: &PrivateKey,
        msgs: &[MailboxMessage],
        urls: &[String],
        net: &Net,
        out_dir: &Path,
    ) -> Result<Retrieved>;

    /// Audit every trustee's log in this process.
    fn audit(&self, req: &AuditRequest) -> Result<AuditSummary>;

    /// The program that runs `audit --json ...` as a child process (its peak memory is
    /// measured by `experiment audit-log`).
    fn audit_program(&self) -> Result<PathBuf>;
}
