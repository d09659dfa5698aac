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
use anyhow::{Context, Result, bail};
use clap::Args;
use escrow_client::investigator::{
    self, MessageOutcome, Outcome as Got, Progress, Strategy, TrusteeRow,
};
use escrow_client::{ClientConfig, NodeClient};
use escrow_core::codec::Digest32;
use escrow_core::keys::PrivateKey;
use escrow_core::message::SealedMessage;
use escrow_core::trustee::TrusteeSet;
use escrow_core::warrant::{Warrant, WarrantEnvelope};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// Send every mailbox message, not just the ones the warrant's scope covers (the trustees
    /// will refuse the rest as out-of-scope; shows their checks at work).
    #[arg(long)]
    pub all_messages: bool,
}

/// Outcome per message, with the file written.
pub enum Outcome {
    /// Read.
    Decrypted {
        /// Trustees whose shares were combined.
        used: Vec<u16>,
        /// Shares rejected (trustee, reason).
        rejected: Vec<(u16, String)>,
        /// Where the plaintext was written.
        file: PathBuf,
    },
    /// Not read.
    NotDecrypted {
        /// Why.
        why: String,
        /// Trustee refusals (trustee, code: detail).
        refusals: Vec<(u16, String)>,
        /// Shares rejected (trustee, reason).
        rejected: Vec<(u16, String)>,
    },
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

/// Network settings of a retrieval.
pub struct Net {
    /// Ciphertexts per request.
    pub batch: usize,
    /// Per-request timeout, seconds.
    pub timeout: u64,
    /// Attempts per request.
    pub attempts: u32,
    /// Show a progress bar on stderr for large retrievals.
    pub progress: bool,
    /// Ask the first k trustees first, the others only for what did not decrypt.
    pub threshold_first: bool,
}

/// The result of asking the trustees and combining.
pub struct Retrieval {
    /// Per message: id, ciphertext digest, outcome (request order).
    pub outcomes: Vec<(String, Digest32, Outcome)>,
    /// Per trustee URL: index and what it did.
    pub trustees: Vec<serde_json::Value>,
    /// The same, typed.
    pub trustee_rows: Vec<TrusteeRow>,
    /// Trustees whose shares failed their proofs, with the first reason.
    pub bad_shares: BTreeMap<u16, String>,
    /// Where the time and the bytes went.
    pub stats: investigator::RetrievalStats,
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
    let clients = a.net.clients(&a.trustees, a.timeout, a.attempts)?;
    let done = prepare_out_dir(&a.out, a.resume)?;

    // Select what the warrant could cover (the trustees check again, each for itself).
    let lines = read_mailbox(&a.mailbox)?;
    let mut selected: Vec<SealedMessage> = Vec::new();
    let mut skipped_scope = 0usize;
    let mut skipped_bad = Vec::new();
    let mut already = Vec::new();
    let mut seen_ids = BTreeSet::new();
    for l in lines {
        let m = match l.message {
            Ok(m) => m,
            Err(e) => {
                skipped_bad.push(format!("line {}: {e}", l.line));
                continue;
            }
        };
        if let Err(e) = investigator::check_message(&m) {
            skipped_bad.push(format!("line {}: {e}", l.line));
        } else if !a.all_messages && warrant.payload().scope.check(&m.escrow.label).is_err() {
            skipped_scope += 1;
        } else if !seen_ids.insert(m.id.clone()) {
            skipped_bad.push(format!("line {}: duplicate message id {}", l.line, m.id));
        } else if done.contains(&m.id) {
            already.push(m.id.clone());
        } else {
            selected.push(m);
        }
    }
    out.say(&format!(
        "warrant {} (case {}): {} message(s) in scope, {} out of scope left sealed{}{}",
        warrant.id(),
        warrant.payload().case_reference,
        selected.len() + already.len(),
        skipped_scope,
        if already.is_empty() {
            String::new()
        } else {
            format!(
                ", {} already in {} (--resume)",
                already.len(),
                a.out.display()
            )
        },
        if skipped_bad.is_empty() {
            String::new()
        } else {
            format!(", {} unreadable line(s)", skipped_bad.len())
        }
    ));
    if selected.is_empty() && already.is_empty() {
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
    let usable: Vec<NodeClient> = checked.usable.into_iter().map(|(c, _)| c).collect();

    let net = Net {
        batch: a.batch,
        timeout: a.timeout,
        attempts: a.attempts,
        progress: !out.json,
        threshold_first: a.ask == Ask::Threshold,
    };
    let mut r = if selected.is_empty() {
        Retrieval {
            outcomes: Vec::new(),
            trustees: Vec::new(),
            trustee_rows: Vec::new(),
            bad_shares: BTreeMap::new(),
            stats: investigator::RetrievalStats::default(),
        }
    } else {
        run_with(&usable, &set, &env, &key, &selected, &net, &a.out, a.resume)?
    };
    for (u, e) in checked.unreachable {
        let row = TrusteeRow {
            url: u,
            trustee: None,
            status: "failed",
            released: 0,
            refused: BTreeMap::new(),
            failure: Some(format!("unreachable before the release: {e}")),
        };
        r.trustees.push(serde_json::to_value(&row)?);
        r.trustee_rows.push(row);
    }
    report(
        &a,
        &out,
        &warrant,
        &set,
        &r,
        skipped_scope,
        &skipped_bad,
        &already,
    )
}

/// Ask the trustees at `urls` for shares of `selected` under `env`, verify, combine, decrypt,
/// and write `<id>.txt` per message and `receipts.jsonl` into `out_dir` (the demo and the
/// experiments run this, as `escrow retrieve` does).
pub fn run(
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    selected: &[SealedMessage],
    urls: &[String],
    net: &Net,
    out_dir: &Path,
) -> Result<Retrieval> {
    let cfg = ClientConfig {
        timeout: Duration::from_secs(net.timeout.max(1)),
        attempts: net.attempts,
        ..ClientConfig::default()
    };
    let clients = urls
        .iter()
        .map(|u| NodeClient::new(u, &cfg))
        .collect::<Result<Vec<_>, _>>()?;
    run_with(&clients, set, env, key, selected, net, out_dir, false)
}

#[allow(clippy::too_many_arguments)]
fn run_with(
    clients: &[NodeClient],
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    selected: &[SealedMessage],
    net: &Net,
    out_dir: &Path,
    append_receipts: bool,
) -> Result<Retrieval> {
    if net.batch == 0 {
        bail!("the batch size must be at least 1");
    }
    let bar = Bar {
        on: net.progress,
        bar: std::sync::Mutex::new(indicatif::ProgressBar::hidden()),
    };
    let strategy = Strategy {
        batch: net.batch,
        threshold_first: net.threshold_first,
    };
    let got = investigator::retrieve(clients, set, env, key, selected, strategy, &bar);
    let t = std::time::Instant::now();
    let outcomes: Vec<(String, Digest32, Outcome)> = got
        .outcomes
        .into_par_iter()
        .map(|m| write_outcome(m, out_dir))
        .collect();
    let mut stats = got.stats;
    stats.combine_s += t.elapsed().as_secs_f64();
    let receipts = out_dir.join("receipts.jsonl");
    if append_receipts && receipts.exists() {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&receipts)
            .with_context(|| format!("cannot append to {}", receipts.display()))?;
        f.write_all(got.receipts.as_bytes())
            .with_context(|| format!("cannot append to {}", receipts.display()))?;
        f.sync_all()
            .with_context(|| format!("cannot sync {}", receipts.display()))?;
    } else {
        io::write_public(&receipts, got.receipts.as_bytes())?;
    }
    Ok(Retrieval {
        outcomes,
        trustees: got
            .trustees
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?,
        trustee_rows: got.trustees,
        bad_shares: got.bad_shares,
        stats,
    })
}

/// Write a message read into `<id>.txt` (atomic, mode 0600); a message whose file cannot be
/// written is reported not read.
fn write_outcome(m: MessageOutcome, dir: &Path) -> (String, Digest32, Outcome) {
    let o = match m.outcome {
        Got::Read {
            used,
            rejected,
            body,
        } => {
            let written = investigator::output_name(&m.id).and_then(|name| {
                let file = dir.join(name);
                io::write_secret_unsynced(&file, &body)
                    .map(|()| file)
                    .map_err(|e| format!("{e:#}"))
            });
            match written {
                Ok(file) => Outcome::Decrypted {
                    used,
                    rejected,
                    file,
                },
                Err(why) => Outcome::NotDecrypted {
                    why,
                    refusals: Vec::new(),
                    rejected,
                },
            }
        }
        Got::NotRead {
            why,
            refusals,
            rejected,
        } => Outcome::NotDecrypted {
            why,
            refusals,
            rejected,
        },
    };
    (m.id, m.ciphertext, o)
}

/// Create `dir`, or with `resume` accept it as it is; the ids of the messages already written
/// there (`<id>.txt`, written only after the decryption checked).
fn prepare_out_dir(dir: &Path, resume: bool) -> Result<BTreeSet<String>> {
    let mut done = BTreeSet::new();
    if dir.exists() {
        let it =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        let mut any = false;
        for e in it {
            let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
            any = true;
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(id) = name.strip_suffix(".txt")
                && !name.starts_with(".")
                && e.file_type().is_ok_and(|t| t.is_file())
            {
                done.insert(id.to_string());
            }
        }
        if any && !resume {
            return Err(Usage(format!(
                "{} is not empty; choose a new --out directory, or continue into it with --resume",
                dir.display()
            ))
            .into());
        }
        return Ok(done);
    }
    io::create_private_dir(dir)?;
    Ok(done)
}

#[allow(clippy::too_many_arguments)]
fn report(
    a: &RetrieveArgs,
    out: &Out,
    warrant: &Warrant,
    set: &TrusteeSet,
    r: &Retrieval,
    skipped_scope: usize,
    skipped_bad: &[String],
    already: &[String],
) -> Result<()> {
    let mut rows = Vec::new();
    let mut text = String::new();
    let (mut ok, mut not) = (0usize, 0usize);
    let mut refused_only = true;
    for (id, d, o) in &r.outcomes {
        match o {
            Outcome::Decrypted {
                used,
                rejected,
                file,
            } => {
                ok += 1;
                text.push_str(&format!(
                    "  decrypted    {id}  (trustees {used:?}) -> {}\n",
                    file.display()
                ));
                rows.push(serde_json::json!({"id": id, "ciphertext": d, "outcome": "decrypted", "trustees": used,
                    "rejected_shares": rejected.iter().map(|(i, e)| serde_json::json!({"trustee": i, "reason": e})).collect::<Vec<_>>(),
                    "file": file}));
            }
            Outcome::NotDecrypted {
                why,
                refusals,
                rejected,
            } => {
                not += 1;
                if refusals.is_empty() && rejected.is_empty() {
                    refused_only = false;
                }
                let codes: BTreeSet<String> = refusals
                    .iter()
                    .map(|(_, r)| r.split(':').next().unwrap_or("").to_string())
                    .collect();
                text.push_str(&format!(
                    "  NOT read     {id}  {why}{}\n",
                    if codes.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; refused by trustees: {}",
                            codes.into_iter().collect::<Vec<_>>().join(", ")
                        )
                    }
                ));
                rows.push(serde_json::json!({"id": id, "ciphertext": d, "outcome": "not-decrypted", "reason": why,
                    "refusals": refusals.iter().map(|(i, r)| serde_json::json!({"trustee": i, "reason": r})).collect::<Vec<_>>(),
                    "rejected_shares": rejected.iter().map(|(i, e)| serde_json::json!({"trustee": i, "reason": e})).collect::<Vec<_>>()}));
            }
        }
    }
    for id in already {
        rows.push(serde_json::json!({"id": id, "outcome": "already-written",
            "file": investigator::output_name(id).ok().map(|n| a.out.join(n))}));
    }
    let mut ttext = String::new();
    for t in &r.trustee_rows {
        ttext.push_str(&format!(
            "  {:<28} trustee {:<4} {}\n",
            t.url,
            t.trustee
                .map(|i| i.to_string())
                .unwrap_or_else(|| "?".into()),
            t.describe()
        ));
    }
    for (i, e) in &r.bad_shares {
        ttext.push_str(&format!(
            "  trustee {i} returned bad shares, routed around: {e}\n"
        ));
    }
    let summary = serde_json::json!({
        "ok": not == 0,
        "warrant": warrant.id(),
        "warrant_digest": warrant.digest(),
        "threshold": set.threshold(),
        "decrypted": ok,
        "not_decrypted": not,
        "already_written": already.len(),
        "out_of_scope_left_sealed": skipped_scope,
        "unreadable_lines": skipped_bad,
        "trustees": r.trustees,
        "bad_share_trustees": r.bad_shares.keys().collect::<Vec<_>>(),
        "messages": rows,
        "out": a.out,
        "receipts": a.out.join("receipts.jsonl"),
    });
    io::write_public(
        &a.out.join("summary.json"),
        escrow_core::codec::to_json_pretty(&summary).as_bytes(),
    )?;
    let messages = if a.quiet {
        String::new()
    } else {
        format!("messages:\n{text}")
    };
    out.emit(
        &format!(
            "trustees:\n{ttext}{messages}{ok} decrypted, {not} not decrypted{}, {skipped_scope} out of scope left sealed (need {k} valid shares each)\nwrote {}/summary.json and signed receipts {}/receipts.jsonl",
            if already.is_empty() {
                String::new()
            } else {
                format!(", {} already written", already.len())
            },
            a.out.display(),
            a.out.display(),
            k = set.threshold()
        ),
        summary,
    );
    if not > 0 {
        // Refused when every unread message was refused or had bad shares from trustees that
        // answered; an error (exit 1) when trustees could not be asked at all.
        let answered = r
            .trustee_rows
            .iter()
            .filter(|t| t.status != "failed" && t.status != "ignored")
            .count();
        let msg = format!("{not} message(s) in scope could not be decrypted (see the table above)");
        if refused_only || answered >= usize::from(set.threshold()) {
            return Err(crate::Reported::refused(msg));
        }
        return Err(crate::Reported::error(format!(
            "{msg}: only {answered} trustee(s) answered, {} needed",
            set.threshold()
        )));
    }
    Ok(())
}
