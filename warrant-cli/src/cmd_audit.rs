//! `escrow audit`: arguments, files and printing. The auditor itself is
//! `escrow_client::auditor` (fetching, the auditor's memory, receipts) over
//! `escrow_core::audit` (every check and judgement, the report and its text and HTML). See
//! docs/audit.md.

use crate::Reported;
use crate::io::{self, Out};
use anyhow::{Result, anyhow};
use clap::Args;
use escrow_client::auditor::{self, AuditConfig, AuditProgress};
use escrow_core::audit::disclosure::Disclosure;
use escrow_core::audit::judge::Documents;
use escrow_core::audit::report::{AuditOutcome, AuditReport};
use escrow_core::trustee::TrusteeSet;
use escrow_core::warrant::Policy;
use std::io::Write as _;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct AuditArgs {
    /// The trustee set (`trustee-set.json`).
    #[arg(long)]
    pub set: PathBuf,
    /// A trustee node's URL; repeat for every trustee. Without it, the trustees file
    /// (--trustees or ESCROW_TRUSTEES).
    #[arg(long = "trustee")]
    pub trustees: Vec<String>,
    /// HTTPS (--ca-cert), the trustees file, plain HTTP to non-loopback hosts.
    #[command(flatten)]
    pub net: crate::net::NetArgs,
    /// The trustees' warrant policy: warrants are judged under it (without it, no release can
    /// be shown justified). Compared with the policy digest each node reports.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Folder of warrant and cancellation envelopes (`*.json`) disclosed to the auditor;
    /// documents not found here are asked of the nodes (`/v1/log/envelope`).
    #[arg(long)]
    pub warrants: Option<PathBuf>,
    /// The oversight private key (PKCS#8 PEM) whose public half the policy names
    /// (`escrow policy init --oversight`): envelope requests are signed with it, as the nodes
    /// serve warrant text only to the policy's oversight keys and the warrant's investigator.
    #[arg(long, value_name = "KEY")]
    pub oversight_key: Option<PathBuf>,
    /// The auditor's memory: pinned log keys, the last checkpoint and the leaf hashes seen per
    /// trustee. Without it, nothing is compared with earlier runs.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Write a self-contained HTML report here: by default the public summary (as --public:
    /// counts only, no account, label or warrant text), the page to publish.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// What the --html page holds: `public` (the default: the summary anyone may read) or
    /// `full` (the auditor's whole report; the oversight view with --oversight-key: not for
    /// publication).
    #[arg(long, value_enum, value_name = "VIEW")]
    pub html_view: Option<HtmlView>,
    /// The public view: statistics only (per authority, period, trustee and refusal reason;
    /// warrants by envelope digest and salted case-number digest), with no account, label,
    /// warrant id or warrant text, in the text, the --json object and the --html page.
    #[arg(long)]
    pub public: bool,
    /// An investigator's `receipts.jsonl` (from `escrow retrieve`): prove every receipt is in
    /// its trustee's log; the `summary.json` next to it, if any, names trustees whose shares
    /// failed their proofs. Repeatable.
    #[arg(long)]
    pub receipts: Vec<PathBuf>,
    /// A signed checkpoint (C2SP note) of one of the trustees' logs as someone else saw it:
    /// another auditor, a witness, an investigator. Each must verify under the trustee's log
    /// key and be consistent with the checkpoint seen now (catches a split view). Repeatable.
    #[arg(long = "checkpoint")]
    pub checkpoints: Vec<PathBuf>,
    /// The certificate of the key generation that made the set (`keygen-certificate.json`
    /// from `escrow ceremony dkg`): it must certify the set, and every log must hold its
    /// `keygen` entry.
    #[arg(long)]
    pub keygen_certificate: Option<PathBuf>,
    /// A disclosure of a warrant published by the oversight body (`escrow oversight
    /// disclose`): verified against the policy (signed by one of its oversight keys) and the
    /// logs (the warrant is in one), then shown, also in the public view. A forged or
    /// mismatched disclosure is a finding. Repeatable.
    #[arg(long = "disclosure", value_name = "FILE")]
    pub disclosures: Vec<PathBuf>,
    /// Exit 1 unless every trustee of the set could be audited and every release judged.
    #[arg(long)]
    pub require_all: bool,
    /// Network timeout per request, seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// Which report `--html` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HtmlView {
    /// Statistics only: `AuditReport::to_public_html`.
    Public,
    /// The whole report: `AuditReport::to_html`.
    Full,
}

/// A progress bar on stderr for logs of 5,000 entries or more (none with --json).
struct Bar {
    json: bool,
    bar: indicatif::ProgressBar,
}

impl AuditProgress for Bar {
    fn log_started(&mut self, trustee: u16, entries: u64) {
        self.bar = if self.json || entries < 5000 {
            indicatif::ProgressBar::hidden()
        } else {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(entries),
                indicatif::ProgressDrawTarget::stderr(),
            );
            b.set_message(format!("trustee {trustee} log"));
            b
        };
    }
    fn log_read(&mut self, read: u64) {
        self.bar.set_position(read);
    }
    fn log_done(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Run the audit. `Err` only when it could not run at all (bad arguments); an unreachable
/// trustee is "not audited".
pub fn run(a: &AuditArgs, out: Out) -> Result<AuditReport> {
    let set = TrusteeSet::from_json(&io::read_text(&a.set, "trustee set")?)
        .map_err(|e| anyhow!("{}: {e}", a.set.display()))?;
    let policy = match &a.policy {
        Some(p) => Some(
            Policy::from_json(&io::read_text(p, "policy")?)
                .map_err(|e| anyhow!("{}: {e}", p.display()))?,
        ),
        None => None,
    };
    let mut documents = Documents::default();
    if let Some(d) = &a.warrants {
        auditor::load_documents(d, &mut documents)?;
    }
    for p in &a.disclosures {
        let d = Disclosure::from_json(&io::read_text(p, "disclosure")?)
            .map_err(|e| anyhow!("{}: {e}", p.display()))?;
        documents.disclosures.push((p.display().to_string(), d));
    }
    let (urls, ca) = a.net.resolve(&a.trustees)?;
    let client = a.net.config(ca.as_deref(), a.timeout, 3)?;
    let oversight = match &a.oversight_key {
        Some(p) => Some(crate::cmd_keys::load_private(p)?),
        None => None,
    };
    let mut checkpoints = Vec::new();
    for path in &a.checkpoints {
        checkpoints.push((
            path.display().to_string(),
            io::read_text(path, "checkpoint")?,
        ));
    }
    let keygen = match &a.keygen_certificate {
        Some(p) => Some(
            escrow_core::dkg::Certificate::from_json(&io::read_text(p, "keygen certificate")?)
                .map_err(|e| anyhow!("{}: {e}", p.display()))?,
        ),
        None => None,
    };
    let cfg = AuditConfig {
        set: &set,
        policy: policy.as_ref(),
        urls: &urls,
        client: &client,
        state: a.state.as_deref(),
        documents,
        oversight_key: oversight.as_ref(),
        receipts: &a.receipts,
        checkpoints: &checkpoints,
        keygen_certificate: keygen.as_ref(),
    };
    let mut bar = Bar {
        json: out.json,
        bar: indicatif::ProgressBar::hidden(),
    };
    Ok(auditor::audit(&cfg, &mut bar)?)
}

/// `escrow audit`.
pub fn audit(a: AuditArgs, out: Out) -> Result<()> {
    if a.public && a.html_view == Some(HtmlView::Full) {
        return Err(crate::Usage(
            "--public writes the public page only: drop --html-view full".into(),
        )
        .into());
    }
    let report = run(&a, out)?;
    if let Some(p) = &a.html {
        // The full page names targets and warrants: mode 0600, as the oversight body keeps it.
        match a.html_view.unwrap_or(HtmlView::Public) {
            HtmlView::Public => io::write_public(p, report.to_public_html().as_bytes())?,
            HtmlView::Full => io::write_secret(p, report.to_html().as_bytes())?,
        }
    }
    if a.public {
        let view = report.public_view();
        out.emit(&view.to_text(), serde_json::to_value(&view)?);
    } else if out.json {
        // Streamed: the report of a large log is hundreds of megabytes; a `Value` tree of it
        // would take several times that.
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        serde_json::to_writer(&mut w, &report)?;
        writeln!(w)?;
        w.flush()?;
    } else {
        out.emit(&report.to_text(), serde_json::Value::Null);
    }
    match report.outcome(a.require_all) {
        o @ AuditOutcome::Problems { .. } => Err(Reported::refused(o.to_string())),
        o @ (AuditOutcome::NothingAudited { .. }
        | AuditOutcome::LowerBounds { fatal: true, .. }
        | AuditOutcome::NotJudged { fatal: true, .. }) => Err(Reported::error(o.to_string())),
        o @ (AuditOutcome::LowerBounds { .. } | AuditOutcome::NotJudged { .. }) => {
            eprintln!("escrow audit: {o}");
            Ok(())
        }
        AuditOutcome::Clean => Ok(()),
        // An outcome this build does not know is not a clean audit.
        o => Err(Reported::error(format!("unknown audit outcome: {o}"))),
    }
}
