//! `escrow seal`, `escrow open`, `escrow collude`.

use crate::Refused;
use crate::cmd_keys::{load_private, load_public};
use crate::cmd_set::{load_set, load_share};
use crate::io::{self, Out};
use anyhow::{Context, Result, bail};
use clap::Args;
use escrow_client::mailbox::{self, PoolError, SharePool};
use escrow_client::retrieval::{MailboxLine, parse_mailbox};
use escrow_core::label::Label;
use escrow_core::message::{self, Receipt};
use escrow_core::time::Timestamp;
use escrow_core::v2::{MailboxMessage, seal_v2};
use rand::RngExt as _;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct SealArgs {
    /// The public trustee set (trustee-set.json).
    #[arg(long, value_name = "FILE")]
    pub set: PathBuf,
    /// The recipient's public key (SPKI PEM, from `escrow keygen`).
    #[arg(long, value_name = "FILE")]
    pub recipient_key: PathBuf,
    /// Sender account (goes into the escrow label).
    #[arg(long, value_name = "ACCOUNT")]
    pub from: String,
    /// Recipient account (goes into the escrow label).
    #[arg(long, value_name = "ACCOUNT")]
    pub to: String,
    /// Message time, RFC 3339 (default: now).
    #[arg(long, value_name = "TIME", value_parser = io::parse_time)]
    pub at: Option<Timestamp>,
    /// Read the plaintext from FILE (default, or `-`: standard input).
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Message id (default: 16 random bytes in hex).
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Mailbox file (JSON lines); the sealed message is appended. `-`: written to standard
    /// output instead (then the plaintext must come from --in FILE).
    #[arg(long, value_name = "FILE")]
    pub mailbox: PathBuf,
    /// Seal in format version 1 (`docs/protocol.md` §10) instead of version 2 (§15.8): for
    /// trustee nodes that do not serve `POST /v2/release` yet. Both versions are read by
    /// `escrow msg open` and `escrow retrieve`, and may share one mailbox.
    #[arg(long)]
    pub v1: bool,
}

#[derive(Args)]
pub struct OpenArgs {
    /// Your private key (PKCS#8 PEM).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The public trustee set the messages must be escrowed to.
    #[arg(long, value_name = "FILE")]
    pub set: PathBuf,
    /// Mailbox file (JSON lines); `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub mailbox: PathBuf,
    /// Only this message id.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Your own account, as your messaging client knows it: every label must name it as the
    /// recipient. Compared in normal form (NFC, lower-case domain).
    #[arg(
        long,
        visible_alias = "me",
        value_name = "ACCOUNT",
        env = "ESCROW_ACCOUNT"
    )]
    pub to: String,
    /// The sender, as the transport authenticated it (a mailbox file is one sender's
    /// messages to you): every label must name it as the sender.
    #[arg(long, value_name = "ACCOUNT")]
    pub from: String,
    /// When the messages were received (RFC 3339). Default: now.
    #[arg(long, value_name = "TIME", value_parser = io::parse_time)]
    pub received: Option<Timestamp>,
    /// How far a label's time may lie from the receipt, either way (e.g. 300s, 12h, 1d).
    #[arg(long, value_name = "DURATION", default_value = "1d", value_parser = io::parse_duration)]
    pub tolerance: u64,
    /// Open mislabelled messages anyway, with a loud warning for each, instead of refusing
    /// them. Non-compliant messages (escrow header wrong) are refused regardless.
    #[arg(long)]
    pub warn_mislabelled: bool,
}

#[derive(Args)]
pub struct ColludeArgs {
    /// The public trustee set.
    #[arg(long, value_name = "FILE")]
    pub set: PathBuf,
    /// A trustee folder (or its key-share.json); repeat for each colluding trustee.
    #[arg(long = "share", value_name = "DIR", required = true)]
    pub shares: Vec<PathBuf>,
    /// Mailbox file (JSON lines).
    #[arg(long, value_name = "FILE")]
    pub mailbox: PathBuf,
    /// Only this message id.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
}

/// Read a mailbox; blank lines are skipped, malformed lines reported, never dropped silently.
pub fn read_mailbox(path: &Path) -> Result<Vec<MailboxLine>> {
    Ok(parse_mailbox(&io::read_text(path, "mailbox")?))
}

fn random_id() -> String {
    let b: [u8; 16] = rand::rng().random();
    hex::encode(b)
}

pub fn seal(a: SealArgs, out: Out) -> Result<()> {
    let set = load_set(&a.set)?;
    let recipient = load_public(&a.recipient_key)?;
    let id = a.id.unwrap_or_else(random_id);
    let at = a.at.unwrap_or_else(io::now);
    let label = Label::new(&a.from, &a.to, at, &id).context("invalid message metadata")?;
    for (flag, given, normal) in [
        ("--from", &a.from, &label.sender),
        ("--to", &a.to, &label.recipient),
    ] {
        if given != normal {
            eprintln!(
                "escrow: note: {flag} {given:?} is written into the label in normal form as {normal:?} (NFC, lower-case domain)"
            );
        }
    }
    let to_stdout = io::is_stdio(&a.mailbox);
    if to_stdout && a.input.as_deref().is_none_or(io::is_stdio) {
        return Err(crate::Usage(
            "--mailbox - writes the sealed message to standard output; the plaintext must then come from --in FILE"
                .into(),
        )
        .into());
    }
    if !to_stdout
        && let Ok(existing) = read_mailbox(&a.mailbox)
        && mailbox::holds_id(&existing, &id)
    {
        bail!(
            "message id {id} is already in {}; choose another --id",
            a.mailbox.display()
        );
    }
    let body = io::read_input(a.input.as_deref())?;
    let mut rng = rand::rng();
    let msg = if a.v1 {
        MailboxMessage::V1(message::seal(&set, &recipient, &label, &body, &mut rng)?)
    } else {
        MailboxMessage::V2(seal_v2(&set, &recipient, &label, &body, &mut rng)?)
    };
    if to_stdout {
        // The mailbox line is the output; the report goes to standard error.
        println!("{}", msg.to_json());
        eprintln!("escrow: sealed message {id} written to standard output");
        return Ok(());
    }
    io::append_line(&a.mailbox, &msg.to_json())?;
    out.emit(
        &id,
        serde_json::json!({
            "ok": true, "id": id, "from": label.sender, "to": label.recipient,
            "timestamp": label.timestamp, "bytes": body.len(), "mailbox": a.mailbox,
            "escrow_ciphertext_digest": msg.ciphertext_digest().to_hex(),
            "format_version": msg.version(),
        }),
    );
    Ok(())
}

pub fn open(a: OpenArgs, out: Out) -> Result<()> {
    let received = a.received.unwrap_or_else(io::now);
    let receipt = Receipt::new(&a.to, &a.from, received, a.tolerance)
        .map_err(|e| crate::Usage(format!("--to/--from: {e}")))?;
    let key = load_private(&a.key)?;
    let set = load_set(&a.set)?;
    let lines = read_mailbox(&a.mailbox)?;
    let r = mailbox::open(
        &lines,
        &key,
        &set,
        &receipt,
        a.id.as_deref(),
        a.warn_mislabelled,
    );
    for o in &r.opened {
        for mm in &o.mismatches {
            eprintln!(
                "escrow: WARNING: message {} (line {}) is MISLABELLED and was opened only because of --warn-mislabelled: {mm}",
                o.opened.label.message_id, o.line
            );
        }
    }
    out.emit(&r.to_text(), r.to_json(&receipt));
    if let Some(id) = &a.id
        && r.opened.is_empty()
        && r.refused.is_empty()
    {
        return Err(crate::Reported::error(format!(
            "no message {id} addressed to this key in {}",
            a.mailbox.display()
        )));
    }
    if !r.malformed.is_empty() {
        return Err(crate::Reported::error(format!(
            "{} malformed mailbox line(s) in {} (left as they are)",
            r.malformed.len(),
            a.mailbox.display()
        )));
    }
    if !r.refused.is_empty() {
        return Err(crate::Reported::refused(format!(
            "{} message(s) are not escrow-compliant or are mislabelled, and were not opened",
            r.refused.len()
        )));
    }
    Ok(())
}

pub fn collude(a: ColludeArgs, out: Out) -> Result<()> {
    let set = load_set(&a.set)?;
    let mut pool = SharePool::new(&set);
    for d in &a.shares {
        pool.add(&d.display().to_string(), load_share(d)?)?;
    }
    let shares = pool.finish().map_err(|e| match e {
        e @ PoolError::BelowThreshold { .. } => anyhow::Error::from(Refused(e.to_string())),
        e => e.into(),
    })?;
    let lines = read_mailbox(&a.mailbox)?;
    let r = mailbox::collude(&set, &shares, &lines, a.id.as_deref());
    out.emit(&r.to_text(), r.to_json());
    if let Some(id) = &a.id
        && r.read.is_empty()
        && r.failed.is_empty()
    {
        return Err(crate::Reported::error(format!(
            "no message {id} in {}",
            a.mailbox.display()
        )));
    }
    Ok(())
}
