//! `escrow retrieve`: the investigator's side of a warrant. Arguments, files and output only:
//! the asking, checking and combining are `escrow_client::investigator`'s.
//!
//! Select the sealed messages the warrant could cover (every mailbox line checked: its id is
//! its label's and a safe file name), check every trustee with `/v1/info` before anything is
//! asked, ask them (HTTPS with `--ca-cert`, timeouts, capped retries), and write one file per
//! message read, a summary, and the signed receipts.

use crate::cmd_keys::load_private;
use crate::cmd_msg::read_mailbox;
use crate::cmd_set::load_set;
use crate::cmd_warrant::load_envelope;
use crate::io::{self, Out};
use crate::net::NetArgs;
use crate::{Refused, Usage};
use anyhow::{Result, bail};
use clap::Args;
use escrow_client::investigator::{self, Progress, Strategy};
use escrow_client::retrieval::{self, OutDirError, Retrieval, RetrievalOutcome};
use escrow_core::keys::PrivateKey;
use escrow_core::warrant::Warrant;
use std::path::PathBuf;

#[derive(Args)]
pub struct RetrieveArgs {
    /// The warrant (DSSE envelope JSON), approved as the law requires.
    #[arg(long, value_name = "FILE")]
    pub warrant: PathBuf,
    /// The public trustee set.
    #[arg(long, value_name = "FILE")]
    pub set: PathBuf,
    /// A trustee node's base URL (https://HOST:PORT, or http:// on loopback); repeat for each
    /// trustee. Without it, the trustees file (--trustees or ESCROW_TRUSTEES).
    #[arg(long = "trustee", value_name = "URL")]
    pub trustees: Vec<String>,
    #[command(flatten)]
    pub net: NetArgs,
    /// The investigator's private key (the one the warrant names).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Mailbox file (JSON lines) holding the sealed messages.
    #[arg(long, value_name = "FILE")]
    pub mailbox: PathBuf,
    /// Output directory (created; must be empty if it exists, unless --resume).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Continue into an existing --out: messages already written there (each file is written
    /// only after its decryption checked) are not asked for again; receipts are appended.
    #[arg(long)]
    pub resume: bool,
    /// Print the trustees and the totals only, not one line per message.
    #[arg(long, short)]
    pub quiet: bool,
    /// Ciphertexts per request.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// Attempts per request (connection errors and 5xx answers are retried with back-off;
    /// at most 10).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub attempts: u32,
    /// Which trustees to ask: `all` at once (fastest when one is down or cheating), or
    /// `threshold`: the first k given, and the others only for messages that did not decrypt
    /// (k shares per message leave the trustees instead of n; less work for the trustees).
    #[arg(long, value_enum, default_value_t = Ask::All)]
    pub ask: Ask,
    /// The trustees' policy. Each trustee's signed /v1/info must report its digest (a trustee
    /// that reports another is not asked); under a policy with a release gate (a `witnessing`
    /// section) every share must come with a checkpoint of that trustee's log cosigned by the
    /// witness quorum and an inclusion proof of its release entry, or it is not used.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Send every mailbox message, not just the ones the warrant's scope covers (the trustees
    /// will refuse the rest as out-of-scope; shows their checks at work).
    #[arg(long)]
    pub all_messages: bool,
}

/// Which trustees a retrieval asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ask {
    /// Every trustee given, at once.
    All,
    /// The first k given; the others only for what did not decrypt.
    Threshold,
}

/// A progress bar on stderr for large retrievals.
struct Bar {
    on: bool,
    bar: std::sync::Mutex<indicatif::ProgressBar>,
}

impl Progress for Bar {
    fn start(&self, what: &str, total: u64) {
        if !self.on || total < 2000 {
            return;
        }
        let pb = indicatif::ProgressBar::new(total);
        pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} shares ({eta})")
        {
            pb.set_style(style);
        }
        pb.set_message(what.to_string());
        *self.bar.lock().unwrap_or_else(|p| p.into_inner()) = pb;
    }
    fn inc(&self, n: u64) {
        self.bar.lock().unwrap_or_else(|p| p.into_inner()).inc(n);
    }
    fn finish(&self) {
        self.bar
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finish_and_clear();
    }
}

pub fn retrieve(a: RetrieveArgs, out: Out) -> Result<()> {
    if a.batch == 0 {
        return Err(Usage("--batch must be at least 1".into()).into());
    }
    let set = load_set(&a.set)?;
    let env = load_envelope(&a.warrant)?;
    let warrant =
        Warrant::parse(&env).map_err(|r| anyhow::anyhow!("{}: {r}", a.warrant.display()))?;
    let key: PrivateKey = load_private(&a.key)?;
    if *warrant.investigator() != key.public() {
        return Err(Refused(format!(
            "warrant {} names investigator key {}, not this key ({}): trustees encrypt shares only to the named investigator",
            warrant.id(),
            warrant.investigator().key_id().short(),
            key.public().key_id().short()
        ))
        .into());
    }
    let policy = a
        .policy
        .as_deref()
        .map(crate::cmd_warrant::load_policy)
        .transpose()?;
    let clients = a.net.clients(&a.trustees, a.timeout, a.attempts)?;
    let done = retrieval::prepare_out_dir(&a.out, a.resume).map_err(|e| match e {
        OutDirError::NotEmpty(_) => anyhow::Error::from(Usage(e.to_string())),
        e => e.into(),
    })?;

    // Select what the warrant could cover (the trustees check again, each for itself).
    let sel = retrieval::select(&warrant, read_mailbox(&a.mailbox)?, a.all_messages, &done);
    out.say(&format!(
        "warrant {} (case {}): {} message(s) in scope, {} out of scope left sealed{}{}",
        warrant.id(),
        warrant.payload().case_reference,
        sel.selected.len() + sel.already.len(),
        sel.skipped_scope,
        if sel.already.is_empty() {
            String::new()
        } else {
            format!(
                ", {} already in {} (--resume)",
                sel.already.len(),
                a.out.display()
            )
        },
        if sel.skipped_bad.is_empty() {
            String::new()
        } else {
            format!(", {} unreadable line(s)", sel.skipped_bad.len())
        }
    ));
    if sel.selected.is_empty() && sel.already.is_empty() {
        bail!(
            "no message in {} falls within warrant {}'s scope",
            a.mailbox.display(),
            warrant.id()
        );
    }

    // Before any release request: the trustees are distinct, of this set, and enough.
    let checked = investigator::preflight(clients, &set).map_err(|e| {
        if e.is_usage() {
            anyhow::Error::from(Usage(e.to_string()))
        } else {
            anyhow::anyhow!("{e}; nothing was asked")
        }
    })?;
    for (u, e) in &checked.unreachable {
        eprintln!("escrow: warning: {e}; not asked (trustee {u})");
    }
    let (usable, other_policy) = investigator::under_policy(checked.usable, policy.as_ref());
    for (u, e) in &other_policy {
        eprintln!("escrow: warning: {e}; not asked ({u})");
    }
    let mut r = if sel.selected.is_empty() {
        Retrieval::default()
    } else {
        let strategy = Strategy {
            batch: a.batch,
            threshold_first: a.ask == Ask::Threshold,
        };
        let bar = Bar {
            on: !out.json,
            bar: std::sync::Mutex::new(indicatif::ProgressBar::hidden()),
        };
        retrieval::run(
            &usable,
            &set,
            &env,
            &key,
            &sel.selected,
            strategy,
            &bar,
            &a.out,
            a.resume,
        )?
    };
    r.add_unasked(other_policy, checked.unreachable);
    let (summary, text, outcome) = retrieval::summarize(&warrant, &set, &r, &sel, &a.out, a.quiet);
    io::write_public(
        &a.out.join("summary.json"),
        escrow_core::codec::to_json_pretty(&summary).as_bytes(),
    )?;
    out.emit(&text, serde_json::to_value(&summary)?);
    match outcome {
        RetrievalOutcome::Refused(msg) => Err(crate::Reported::refused(msg)),
        RetrievalOutcome::Failed(msg) => Err(crate::Reported::error(msg)),
        RetrievalOutcome::AllRead => Ok(()),
        // An outcome this build does not know is not a complete retrieval.
        o => Err(crate::Reported::error(format!(
            "unknown retrieval outcome: {o:?}"
        ))),
    }
}
