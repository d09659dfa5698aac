//! The investigator's retrieval into a folder (`escrow retrieve`, the demo, the experiments):
//! select the mailbox messages a warrant could cover (format version 1 or 2), ask and combine
//! (v1 messages with [`investigator::retrieve`], v2 ones with
//! [`crate::investigator_v2::retrieve_v2`], both from the same trustees), write one file per message read and the signed receipts, and
//! summarise (the `summary.json` the auditor reads, the table people read, the exit decision).

use crate::NodeClient;
use crate::files;
use crate::investigator::{
    self, MessageOutcome, Outcome, Progress, RetrievalStats, Strategy, TrusteeRow,
};
use escrow_core::codec::CiphertextDigest;
use escrow_core::codec::WarrantDigest;
use escrow_core::keys::PrivateKey;
use escrow_core::trustee::TrusteeSet;
use escrow_core::v2::MailboxMessage;
use escrow_core::warrant::{Warrant, WarrantEnvelope};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// One mailbox line: its 1-based number and the parsed message or the parse error.
pub struct MailboxLine {
    /// Line number, from 1.
    pub line: usize,
    /// The message (either format version), or why the line is not one.
    pub message: Result<MailboxMessage, String>,
}

/// A mailbox's lines (JSON lines, format version 1 or 2 on each line); blank lines are
/// skipped, malformed lines (and any other version) reported, never dropped silently.
pub fn parse_mailbox(text: &str) -> Vec<MailboxLine> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| MailboxLine {
            line: i + 1,
            message: MailboxMessage::from_json(l).map_err(|e| e.to_string()),
        })
        .collect()
}

/// The messages a retrieval asks for.
#[derive(Default)]
pub struct Selection {
    /// To ask for (either version, in mailbox order).
    pub selected: Vec<MailboxMessage>,
    /// Outside the warrant's scope, left sealed.
    pub skipped_scope: usize,
    /// Unreadable lines, with why.
    pub skipped_bad: Vec<String>,
    /// Already written in the output folder (resumed).
    pub already: Vec<String>,
}

/// Select what the warrant could cover (the trustees check again, each for itself): every
/// line checked (its id is its label's and a safe file name), duplicates and messages in
/// `done` left out; with `all_messages`, the scope is not applied.
pub fn select(
    warrant: &Warrant,
    lines: Vec<MailboxLine>,
    all_messages: bool,
    done: &BTreeSet<String>,
) -> Selection {
    let mut s = Selection::default();
    let mut seen_ids = BTreeSet::new();
    for l in lines {
        let m = match l.message {
            Ok(m) => m,
            Err(e) => {
                s.skipped_bad.push(format!("line {}: {e}", l.line));
                continue;
            }
        };
        if let Err(e) = crate::investigator_v2::check_any_message(&m) {
            s.skipped_bad.push(format!("line {}: {e}", l.line));
        } else if !all_messages && warrant.payload().scope.check(m.label()).is_err() {
            s.skipped_scope += 1;
        } else if !seen_ids.insert(m.id().to_string()) {
            s.skipped_bad
                .push(format!("line {}: duplicate message id {}", l.line, m.id()));
        } else if done.contains(m.id()) {
            s.already.push(m.id().to_string());
        } else {
            s.selected.push(m);
        }
    }
    s
}

/// Why the output folder cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutDirError {
    /// Not empty, and not resumed (a usage error).
    #[error("{0} is not empty; choose a new --out directory, or continue into it with --resume")]
    NotEmpty(PathBuf),
    /// It could not be read or created.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Create `dir`, or with `resume` accept it as it is; the ids of the messages already written
/// there (`<id>.txt`, written only after the decryption checked).
pub fn prepare_out_dir(dir: &Path, resume: bool) -> Result<BTreeSet<String>, OutDirError> {
    let mut done = BTreeSet::new();
    let named = |e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("cannot read {}: {e}", dir.display()))
    };
    if dir.exists() {
        let mut any = false;
        for e in std::fs::read_dir(dir).map_err(named)? {
            let e = e.map_err(named)?;
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
            return Err(OutDirError::NotEmpty(dir.to_path_buf()));
        }
        return Ok(done);
    }
    files::create_private_dir(dir).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("cannot create directory {}: {e}", dir.display()),
        )
    })?;
    Ok(done)
}

/// Outcome per message, with the file written.
#[non_exhaustive]
pub enum Written {
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

/// The result of asking the trustees, combining and writing.
#[derive(Default)]
pub struct Retrieval {
    /// Per message: id, ciphertext digest, outcome (request order).
    pub outcomes: Vec<(String, CiphertextDigest, Written)>,
    /// Per trustee URL: index and what it did.
    pub trustees: Vec<TrusteeRow>,
    /// Trustees whose shares failed their proofs, with the first reason.
    pub bad_shares: BTreeMap<u16, String>,
    /// Where the time and the bytes went.
    pub stats: RetrievalStats,
}

impl Retrieval {
    /// Name, in the trustee rows, the nodes that were not asked: those that report another
    /// policy (URL, why) and those unreachable before the release (URL, why).
    pub fn add_unasked(
        &mut self,
        other_policy: Vec<(String, String)>,
        unreachable: Vec<(String, String)>,
    ) {
        let unreachable = (unreachable.into_iter())
            .map(|(u, e)| (u, format!("unreachable before the release: {e}")));
        for (u, e) in other_policy.into_iter().chain(unreachable) {
            self.trustees.push(TrusteeRow::failed(u, None, Some(e)));
        }
    }
}

/// Ask `clients` for shares of `selected` under `env` (version 1 messages with
/// `POST /v1/release`, version 2 ones with `POST /v2/release`), verify, combine, decrypt, and write
/// `<id>.txt` per message (atomic, mode 0600) and `receipts.jsonl` (appended to when
/// `append_receipts` and it exists) into `out_dir`.
///
/// The messages are retrieved window by window ([`investigator::window_size`]): each window's
/// files are written and its receipts appended (and synced) as soon as it is combined, so the
/// investigator holds one window's headers, shares and plaintexts at a time, and a retrieval
/// that stops midway leaves the files and receipts of the windows it finished (`--resume`
/// continues from them).
#[allow(clippy::too_many_arguments)]
pub fn run(
    clients: &[NodeClient],
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    selected: &[MailboxMessage],
    strategy: Strategy,
    progress: &dyn Progress,
    out_dir: &Path,
    append_receipts: bool,
) -> std::io::Result<Retrieval> {
    if strategy.batch == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the batch size must be at least 1",
        ));
    }
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    for m in selected {
        match m {
            MailboxMessage::V1(m) => v1.push(m),
            MailboxMessage::V2(m) => v2.push(m),
            // A version this client does not read: [`check_any_message`] refuses it first.
            _ => {}
        }
    }
    let path = out_dir.join("receipts.jsonl");
    let mut receipts = Receipts::open(&path, append_receipts)?;
    let mut outcomes: Vec<(String, CiphertextDigest, Written)> = Vec::with_capacity(selected.len());
    let totals = crate::investigator_v2::retrieve_any_streamed(
        clients,
        set,
        env,
        key,
        &v1,
        &v2,
        strategy,
        progress,
        &mut |window, lines| {
            outcomes.par_extend(window.into_par_iter().map(|m| write_outcome(m, out_dir)));
            receipts.append(lines.as_bytes())
        },
    )?;
    Ok(Retrieval {
        outcomes,
        trustees: totals.trustees,
        bad_shares: totals.bad_shares,
        stats: totals.stats,
    })
}

/// `receipts.jsonl` as a retrieval writes it: created (or, when `append` and it exists,
/// appended to), then appended to window by window, each append synced, so that the receipts
/// of every window whose files were written are on disk even if the retrieval stops midway.
struct Receipts {
    file: std::fs::File,
    path: PathBuf,
}

impl Receipts {
    fn open(path: &Path, append: bool) -> std::io::Result<Self> {
        let mut opts = std::fs::OpenOptions::new();
        let what = if append && path.exists() {
            opts.append(true);
            "append to"
        } else {
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o644);
            "create"
        };
        let file = opts.open(path).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot {what} {}: {e}", path.display()))
        })?;
        Ok(Receipts {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Append `lines` and sync them.
    fn append(&mut self, lines: &[u8]) -> std::io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        self.file
            .write_all(lines)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot append to {}: {e}", self.path.display()),
                )
            })
    }
}

/// Write a message read into `<id>.txt` (atomic, mode 0600, not synced: a crash may lose such
/// a file, never leave a partial one); a message whose file cannot be written is reported not
/// read.
fn write_outcome(m: MessageOutcome, dir: &Path) -> (String, CiphertextDigest, Written) {
    let o = match m.outcome {
        Outcome::Read {
            used,
            rejected,
            body,
        } => {
            let written = investigator::output_name(&m.id).and_then(|name| {
                let file = dir.join(name);
                files::write_atomic(&file, &body, 0o600, false)
                    .map(|()| file)
                    .map_err(|e| e.to_string())
            });
            match written {
                Ok(file) => Written::Decrypted {
                    used,
                    rejected,
                    file,
                },
                Err(why) => Written::NotDecrypted {
                    why,
                    refusals: Vec::new(),
                    rejected,
                },
            }
        }
        Outcome::NotRead {
            why,
            refusals,
            rejected,
        } => Written::NotDecrypted {
            why,
            refusals,
            rejected,
        },
    };
    (m.id, m.ciphertext, o)
}

/// (trustee, reason) in `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TrusteeReason {
    /// Trustee index.
    pub trustee: u16,
    /// Reason.
    pub reason: String,
}

fn reasons(v: &[(u16, String)]) -> Vec<TrusteeReason> {
    v.iter()
        .map(|(trustee, reason)| TrusteeReason {
            trustee: *trustee,
            reason: reason.clone(),
        })
        .collect()
}

/// One message in `summary.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MessageRow {
    /// Read and written.
    Decrypted {
        /// Message id.
        id: String,
        /// Escrow ciphertext digest.
        ciphertext: CiphertextDigest,
        /// Trustees whose shares were combined.
        trustees: Vec<u16>,
        /// Shares rejected.
        rejected_shares: Vec<TrusteeReason>,
        /// The file.
        file: PathBuf,
    },
    /// Not read.
    NotDecrypted {
        /// Message id.
        id: String,
        /// Escrow ciphertext digest.
        ciphertext: CiphertextDigest,
        /// Why.
        reason: String,
        /// Trustee refusals.
        refusals: Vec<TrusteeReason>,
        /// Shares rejected.
        rejected_shares: Vec<TrusteeReason>,
    },
    /// Written by an earlier run (`--resume`).
    AlreadyWritten {
        /// Message id.
        id: String,
        /// The file.
        file: Option<PathBuf>,
    },
}

/// `summary.json` of a retrieval (also `escrow retrieve --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Every message in scope was read.
    pub ok: bool,
    /// Warrant id.
    pub warrant: String,
    /// Warrant digest.
    pub warrant_digest: WarrantDigest,
    /// k.
    pub threshold: u16,
    /// Messages read.
    pub decrypted: usize,
    /// Messages in scope not read.
    pub not_decrypted: usize,
    /// Messages already written by an earlier run.
    pub already_written: usize,
    /// Messages out of the warrant's scope, not asked for.
    pub out_of_scope_left_sealed: usize,
    /// Mailbox lines that are not messages.
    pub unreadable_lines: Vec<String>,
    /// What each trustee did.
    pub trustees: Vec<TrusteeRow>,
    /// Trustees whose shares failed their proofs (named as cheating; the auditor reads this).
    pub bad_share_trustees: Vec<u16>,
    /// One row per message.
    pub messages: Vec<MessageRow>,
    /// The output folder.
    pub out: PathBuf,
    /// The receipts file.
    pub receipts: PathBuf,
}

/// How a retrieval ends (`escrow retrieve`'s exit code).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetrievalOutcome {
    /// Every message in scope read.
    AllRead,
    /// Some not read, and every one of them was refused or had bad shares from trustees that
    /// answered (or enough trustees answered): exit 3.
    Refused(String),
    /// Some not read because trustees could not be asked: exit 1.
    Failed(String),
}

/// The summary, the text people read (`quiet`: no line per message) and the exit decision.
pub fn summarize(
    warrant: &Warrant,
    set: &TrusteeSet,
    r: &Retrieval,
    sel: &Selection,
    out: &Path,
    quiet: bool,
) -> (Summary, String, RetrievalOutcome) {
    let mut rows = Vec::new();
    let mut text = String::new();
    let (mut ok, mut not) = (0usize, 0usize);
    let mut refused_only = true;
    for (id, d, o) in &r.outcomes {
        match o {
            Written::Decrypted {
                used,
                rejected,
                file,
            } => {
                ok += 1;
                text.push_str(&format!(
                    "  decrypted    {id}  (trustees {used:?}) -> {}\n",
                    file.display()
                ));
                rows.push(MessageRow::Decrypted {
                    id: id.clone(),
                    ciphertext: *d,
                    trustees: used.clone(),
                    rejected_shares: reasons(rejected),
                    file: file.clone(),
                });
            }
            Written::NotDecrypted {
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
                rows.push(MessageRow::NotDecrypted {
                    id: id.clone(),
                    ciphertext: *d,
                    reason: why.clone(),
                    refusals: reasons(refusals),
                    rejected_shares: reasons(rejected),
                });
            }
        }
    }
    for id in &sel.already {
        rows.push(MessageRow::AlreadyWritten {
            id: id.clone(),
            file: investigator::output_name(id).ok().map(|n| out.join(n)),
        });
    }
    let mut ttext = String::new();
    for t in &r.trustees {
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
    let summary = Summary {
        ok: not == 0,
        warrant: warrant.id().to_string(),
        warrant_digest: warrant.digest(),
        threshold: set.threshold(),
        decrypted: ok,
        not_decrypted: not,
        already_written: sel.already.len(),
        out_of_scope_left_sealed: sel.skipped_scope,
        unreadable_lines: sel.skipped_bad.clone(),
        trustees: r.trustees.clone(),
        bad_share_trustees: r.bad_shares.keys().copied().collect(),
        messages: rows,
        out: out.to_path_buf(),
        receipts: out.join("receipts.jsonl"),
    };
    let messages = if quiet {
        String::new()
    } else {
        format!("messages:\n{text}")
    };
    let text = format!(
        "trustees:\n{ttext}{messages}{ok} decrypted, {not} not decrypted{}, {} out of scope left sealed (need {k} valid shares each)\nwrote {}/summary.json and signed receipts {}/receipts.jsonl",
        if sel.already.is_empty() {
            String::new()
        } else {
            format!(", {} already written", sel.already.len())
        },
        sel.skipped_scope,
        out.display(),
        out.display(),
        k = set.threshold()
    );
    let outcome = if not == 0 {
        RetrievalOutcome::AllRead
    } else {
        // Refused when every unread message was refused or had bad shares from trustees that
        // answered; an error when trustees could not be asked at all.
        let answered = r
            .trustees
            .iter()
            .filter(|t| t.status != "failed" && t.status != "ignored")
            .count();
        let msg = format!("{not} message(s) in scope could not be decrypted (see the table above)");
        if refused_only || answered >= usize::from(set.threshold()) {
            RetrievalOutcome::Refused(msg)
        } else {
            RetrievalOutcome::Failed(format!(
                "{msg}: only {answered} trustee(s) answered, {} needed",
                set.threshold()
            ))
        }
    };
    (summary, text, outcome)
}
