//! `escrow seal`, `escrow open`, `escrow collude`.

use crate::Refused;
use crate::cmd_keys::{load_private, load_public};
use crate::cmd_set::{load_set, load_share};
use crate::io::{self, Out};
use anyhow::{Context, Result, bail};
use clap::Args;
use escrow_client::retrieval::{MailboxLine, parse_mailbox};
use escrow_core::label::Label;
use escrow_core::message::{self, Opened, Receipt};
use escrow_core::time::Timestamp;
use escrow_core::trustee::VerifiedKeyShare;
use escrow_core::v2::{MailboxMessage, seal_v2};
use rand::RngExt as _;
use std::collections::BTreeSet;
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
        && existing
            .iter()
            .any(|l| l.message.as_ref().is_ok_and(|m| m.id() == id))
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

fn body_text(o: &Opened) -> String {
    String::from_utf8_lossy(&o.body).into_owned()
}

fn opened_json(o: &Opened) -> serde_json::Value {
    let (key, body) = match std::str::from_utf8(&o.body) {
        Ok(s) => ("body", serde_json::Value::from(s)),
        Err(_) => (
            "body_base64",
            escrow_core::codec::b64_encode(&o.body).into(),
        ),
    };
    let mut m = serde_json::Map::new();
    m.insert("id".into(), o.label.message_id.clone().into());
    m.insert("from".into(), o.label.sender.clone().into());
    m.insert("to".into(), o.label.recipient.clone().into());
    m.insert("timestamp".into(), o.label.timestamp.to_rfc3339().into());
    m.insert(key.into(), body);
    serde_json::Value::Object(m)
}

fn opened_text(o: &Opened) -> String {
    format!(
        "--- message {} from {} to {} at {}\n{}",
        o.label.message_id,
        o.label.sender,
        o.label.recipient,
        o.label.timestamp,
        body_text(o)
    )
}

pub fn open(a: OpenArgs, out: Out) -> Result<()> {
    let received = a.received.unwrap_or_else(io::now);
    let receipt = Receipt::new(&a.to, &a.from, received, a.tolerance)
        .map_err(|e| crate::Usage(format!("--to/--from: {e}")))?;
    let key = load_private(&a.key)?;
    let set = load_set(&a.set)?;
    let lines = read_mailbox(&a.mailbox)?;
    let my_id = key.public().key_id();
    let mut opened = Vec::new();
    let mut refused = Vec::new();
    let mut malformed = Vec::new();
    let mut others = 0usize;
    for l in &lines {
        let m = match &l.message {
            Ok(m) => m,
            Err(e) => {
                malformed.push(serde_json::json!({"line": l.line, "error": e}));
                continue;
            }
        };
        if a.id.as_ref().is_some_and(|id| id != m.id()) {
            continue;
        }
        if m.recipient_key() != my_id {
            others += 1;
            continue;
        }
        match m.open_reporting_label(&key, &set, &receipt) {
            Ok((o, mismatches)) if mismatches.is_empty() => opened.push((o, mismatches)),
            Ok((o, mismatches)) if a.warn_mislabelled => {
                for mm in &mismatches {
                    eprintln!(
                        "escrow: WARNING: message {} (line {}) is MISLABELLED and was opened only because of --warn-mislabelled: {mm}",
                        m.id(),
                        l.line
                    );
                }
                opened.push((o, mismatches))
            }
            Ok((_, mismatches)) => refused.push(serde_json::json!({
                "line": l.line, "id": m.id(),
                "reason": escrow_core::Error::Mislabelled {
                    message_id: m.id().to_string(),
                    why: mismatches.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
                }.to_string(),
                "mislabelled": mismatches.iter().map(|x| x.code()).collect::<Vec<_>>(),
            })),
            Err(e) => refused
                .push(serde_json::json!({"line": l.line, "id": m.id(), "reason": e.to_string()})),
        }
    }
    let warned = opened.iter().filter(|(_, w)| !w.is_empty()).count();
    let mut text = String::new();
    for (o, mismatches) in &opened {
        for mm in mismatches {
            text.push_str(&format!("WARNING: MISLABELLED ({}): {mm}\n", mm.code()));
        }
        text.push_str(&opened_text(o));
        text.push('\n');
    }
    for r in &refused {
        text.push_str(&format!(
            "REFUSED line {} (message {}): {}\n",
            r["line"],
            r["id"].as_str().unwrap_or(""),
            r["reason"].as_str().unwrap_or("")
        ));
    }
    for m in &malformed {
        text.push_str(&format!(
            "MALFORMED line {}: {}\n",
            m["line"],
            m["error"].as_str().unwrap_or("")
        ));
    }
    text.push_str(&format!(
        "{} opened, {} refused, {} malformed, {} addressed to other keys",
        opened.len(),
        refused.len(),
        malformed.len(),
        others
    ));
    if warned > 0 {
        text.push_str(&format!(
            "\nWARNING: {warned} of the opened messages are MISLABELLED: the trustees would judge them by a label that misstates them"
        ));
    }
    let ok = refused.is_empty() && malformed.is_empty();
    out.emit(
        &text,
        serde_json::json!({
            "ok": ok,
            "opened": opened.iter().map(|(o, mismatches)| {
                let mut v = opened_json(o);
                if !mismatches.is_empty()
                    && let Some(m) = v.as_object_mut()
                {
                    m.insert("mislabelled".into(), mismatches.iter().map(|x| serde_json::json!({
                        "code": x.code(), "detail": x.to_string()})).collect());
                }
                v
            }).collect::<Vec<_>>(),
            "receipt": {"to": receipt.recipient(), "from": receipt.sender(),
                        "received": received, "tolerance_secs": a.tolerance},
            "refused": refused, "malformed": malformed, "other_recipients": others,
        }),
    );
    if let Some(id) = &a.id
        && opened.is_empty()
        && refused.is_empty()
    {
        return Err(crate::Reported::error(format!(
            "no message {id} addressed to this key in {}",
            a.mailbox.display()
        )));
    }
    if !malformed.is_empty() {
        return Err(crate::Reported::error(format!(
            "{} malformed mailbox line(s) in {} (left as they are)",
            malformed.len(),
            a.mailbox.display()
        )));
    }
    if !refused.is_empty() {
        return Err(crate::Reported::refused(format!(
            "{} message(s) are not escrow-compliant or are mislabelled, and were not opened",
            refused.len()
        )));
    }
    Ok(())
}

/// Load and Feldman-check the colluding trustees' shares, naming any bad one.
fn load_verified_shares(
    set: &escrow_core::trustee::TrusteeSet,
    dirs: &[PathBuf],
) -> Result<Vec<VerifiedKeyShare>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for d in dirs {
        let ks = load_share(d)?;
        let idx = ks.index();
        let v = set
            .verify_share(ks)
            .with_context(|| format!("key share in {} refused", d.display()))?;
        if !seen.insert(idx) {
            bail!(
                "trustee {idx} given twice ({}); each trustee counts once",
                d.display()
            );
        }
        out.push(v);
    }
    Ok(out)
}

pub fn collude(a: ColludeArgs, out: Out) -> Result<()> {
    let set = load_set(&a.set)?;
    let shares = load_verified_shares(&set, &a.shares)?;
    let k = usize::from(set.threshold());
    let who: Vec<u16> = shares.iter().map(|s| s.index()).collect();
    if shares.len() < k {
        return Err(Refused(format!(
            "{} trustee(s) {:?} pooled their shares, but {} are needed: they learn nothing about any message key \
             (Shamir shares below the threshold are independent of the secret)",
            shares.len(),
            who,
            k
        ))
        .into());
    }
    let lines = read_mailbox(&a.mailbox)?;
    let mut read = Vec::new();
    let mut failed = Vec::new();
    for l in &lines {
        let m = match &l.message {
            Ok(m) => m,
            Err(e) => {
                failed
                    .push(serde_json::json!({"line": l.line, "reason": format!("malformed: {e}")}));
                continue;
            }
        };
        if a.id.as_ref().is_some_and(|id| id != m.id()) {
            continue;
        }
        match m.read_with_key_shares(&set, &shares) {
            Ok(o) => read.push(o),
            Err(e) => failed.push(
                serde_json::json!({"line": l.line, "id": m.id(), "reason": format!("{e:#}")}),
            ),
        }
    }
    let mut text = format!(
        "{} of {} trustees {:?} pooled their key shares. No warrant was asked for, none was checked, nothing was logged.\n",
        shares.len(),
        set.trustees(),
        who
    );
    for o in &read {
        text.push_str(&opened_text(o));
        text.push('\n');
    }
    for f in &failed {
        text.push_str(&format!(
            "could not read line {}: {}\n",
            f["line"],
            f["reason"].as_str().unwrap_or("")
        ));
    }
    text.push_str(&format!(
        "{} message(s) read without any warrant: any k trustees who collude can read everything escrowed to them.",
        read.len()
    ));
    out.emit(
        &text,
        serde_json::json!({
            "ok": true, "trustees": who, "threshold": k,
            "read": read.iter().map(opened_json).collect::<Vec<_>>(), "failed": failed,
        }),
    );
    if let Some(id) = &a.id
        && read.is_empty()
        && failed.is_empty()
    {
        return Err(crate::Reported::error(format!(
            "no message {id} in {}",
            a.mailbox.display()
        )));
    }
    Ok(())
}
