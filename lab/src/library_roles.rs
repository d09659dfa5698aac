//! [`Roles`] on the libraries a user's `escrow retrieve` and `escrow audit` run:
//! `escrow_client::retrieval` (the investigator's retrieval into a folder) and
//! `escrow_client::auditor` (the auditor).

use crate::roles::{Ask, AuditRequest, AuditSummary, Got, Net, RetrieveStats, Retrieved, Roles};
use anyhow::{Context, Result, anyhow};
use escrow_client::auditor::{self, AuditConfig, Quiet};
use escrow_client::investigator::{NoProgress, Strategy};
use escrow_client::retrieval::{self, Selection, Written};
use escrow_client::{ClientConfig, NodeClient};
use escrow_core::audit::judge::Documents;
use escrow_core::keys::PrivateKey;
use escrow_core::trustee::TrusteeSet;
use escrow_core::v2::MailboxMessage;
use escrow_core::warrant::{Policy, Warrant, WarrantEnvelope};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The investigator and the auditor as `escrow retrieve` and `escrow audit` run them;
/// `audit_program` is the `escrow` binary the audit-log experiment times as a process.
pub struct LibraryRoles {
    /// The `escrow` program.
    pub audit_program: PathBuf,
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

impl Roles for LibraryRoles {
    fn retrieve(
        &self,
        set: &TrusteeSet,
        warrant: &WarrantEnvelope,
        key: &PrivateKey,
        msgs: &[MailboxMessage],
        urls: &[String],
        net: &Net,
        out_dir: &Path,
    ) -> Result<Retrieved> {
        let cfg = ClientConfig {
            timeout: Duration::from_secs(net.timeout.max(1)),
            attempts: net.attempts,
            ..crate::parties::client_config()
        };
        let clients = urls
            .iter()
            .map(|u| NodeClient::new(u, &cfg))
            .collect::<Result<Vec<_>, _>>()?;
        let strategy = Strategy {
            batch: net.batch,
            threshold_first: net.ask == Ask::Threshold,
        };
        let r = retrieval::run(
            &clients,
            set,
            warrant,
            key,
            msgs,
            strategy,
            &NoProgress,
            out_dir,
            false,
        )?;
        // As `escrow retrieve` does: summary.json beside receipts.jsonl, which the auditor
        // reads to name the trustees whose shares failed their proofs (`--receipts`).
        let parsed = Warrant::parse(warrant).map_err(|e| anyhow!("the warrant: {e}"))?;
        // The summary reads only the selection's counts (nothing skipped, nothing already
        // written here), not its messages: no copy of the mailbox.
        let sel = Selection::default();
        let (summary, _, _) = retrieval::summarize(&parsed, set, &r, &sel, out_dir, true);
        crate::files::public(
            &out_dir.join("summary.json"),
            escrow_core::codec::to_json_pretty(&summary).as_bytes(),
        )?;
        Ok(Retrieved {
            outcomes: r
                .outcomes
                .into_iter()
                .map(|(_, _, o)| match o {
                    Written::Decrypted { file, .. } => Got::Read { file },
                    Written::NotDecrypted { refusals, .. } => Got::Unread { refusals },
                    // An outcome this version does not know: not read.
                    _ => Got::Unread { refusals: vec![] },
                })
                .collect(),
            trustees: r
                .trustees
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<_, _>>()?,
            bad_shares: r.bad_shares,
            stats: RetrieveStats {
                ask_s: r.stats.ask_s,
                combine_s: r.stats.combine_s,
                write_s: r.stats.write_s,
                request_bytes: r.stats.request_bytes,
                response_bytes: r.stats.response_bytes,
            },
        })
    }

    fn audit(&self, req: &AuditRequest) -> Result<AuditSummary> {
        let set = TrusteeSet::from_json(&read(&req.set, "trustee set")?)
            .map_err(|e| anyhow!("{}: {e}", req.set.display()))?;
        let policy = Policy::from_json(&read(&req.policy, "policy")?)
            .map_err(|e| anyhow!("{}: {e}", req.policy.display()))?;
        let oversight = match &req.oversight_key {
            Some(p) => {
                let bytes = std::fs::read(p)
                    .map(zeroize::Zeroizing::new)
                    .with_context(|| format!("cannot read private key {}", p.display()))?;
                Some(
                    PrivateKey::from_key_file(&bytes, None)
                        .map_err(|e| anyhow!("{}: {e}", p.display()))?,
                )
            }
            None => None,
        };
        let keygen = match &req.keygen_certificate {
            Some(p) => Some(
                escrow_core::dkg::Certificate::from_json(&read(p, "key-generation certificate")?)
                    .map_err(|e| anyhow!("{}: {e}", p.display()))?,
            ),
            None => None,
        };
        let client = ClientConfig {
            timeout: Duration::from_secs(req.timeout.max(1)),
            attempts: 3,
            ..crate::parties::client_config()
        };
        let cfg = AuditConfig {
            set: &set,
            policy: Some(&policy),
            urls: &req.trustees,
            client: &client,
            state: req.state.as_deref(),
            documents: Documents::default(),
            oversight_key: oversight.as_ref(),
            receipts: &req.receipts,
            checkpoints: &[],
            keygen_certificate: keygen.as_ref(),
        };
        let report = auditor::audit(&cfg, &mut Quiet)?;
        Ok(AuditSummary {
            errors: report.errors(),
            findings: report.findings.len(),
            entries: report.trustees.iter().map(|t| t.entries).sum(),
            finding_groups: report.finding_groups.clone(),
            every_release_justified: report.every_release_justified(),
            text: report.to_text(),
            html: report.to_html(),
            public_html: report.to_public_html(),
            json: serde_json::to_value(&report)?,
        })
    }

    fn audit_program(&self) -> Result<PathBuf> {
        Ok(self.audit_program.clone())
    }
}
