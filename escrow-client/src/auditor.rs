//! The auditor (`escrow audit`) as a library: fetch every trustee's transparency log with the
//! [`NodeClient`], check it with `escrow_core::audit::judge` ([`LogCheck`] per log, [`Judge`]
//! over all of them) and assemble the [`AuditReport`].
//!
//! Per trustee: fetch `/v1/info`, pin its Ed25519 log key on first sight (the auditor's
//! memory, [`AuditConfig::state`]), fetch and verify the signed checkpoint, check it against the
//! checkpoint saved on the last run, stream every entry page by page (each page parsed as a
//! stream: no page size can stop the audit), then judge every release. A trustee that cannot be
//! reached is "not audited", and every count that depends on it is a lower bound. Every
//! decision is in `escrow_core::audit`; this module fetches, remembers and reads the
//! investigator's receipts. See `docs/audit.md`.

use crate::files::now;
use crate::{ClientConfig, ClientError, NodeClient};
use escrow_core::audit::carry::LogCarry;
use escrow_core::audit::judge::{
    Documents, Finding, FindingKind, Judge, LogCheck, LoggedRelease, check_consistency,
};
use escrow_core::audit::report::{AuditReport, LogStatus, TrusteeAudit};
use escrow_core::audit::{EntryKind, TreeHead, verify_checkpoint, verify_inclusion};
use escrow_core::codec::Digest32;
use escrow_core::codec::WarrantDigest;
use escrow_core::keys::PrivateKey;
use escrow_core::release::{ReleaseResponse, ReleaseResult};
use escrow_core::time::Timestamp;
use escrow_core::trustee::TrusteeSet;
use escrow_core::warrant::{CancellationEnvelope, Policy, Warrant, WarrantEnvelope};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

/// Entries per page asked of a node (it may serve fewer).
const PAGE: u64 = 1000;
/// Entries per tile (C2SP tlog-tiles).
const TILE_WIDTH: u64 = escrow_core::audit::tiles::TILE_WIDTH;

/// What to audit and with what.
pub struct AuditConfig<'a> {
    /// The trustee set.
    pub set: &'a TrusteeSet,
    /// The trustees' warrant policy: warrants are judged under it (without it, no release can
    /// be shown justified). Compared with the policy digest each node reports.
    pub policy: Option<&'a Policy>,
    /// One URL per trustee.
    pub urls: &'a [String],
    /// TLS, timeouts and retries of every request.
    pub client: &'a ClientConfig,
    /// The auditor's memory (a folder): pinned log keys, the last checkpoint and the leaf hashes
    /// seen per trustee. `None`: nothing is compared with earlier runs.
    pub state: Option<&'a Path>,
    /// Warrants and cancellations disclosed to the auditor (see [`load_documents`]); the rest
    /// are asked of the nodes when `oversight_key` is given.
    pub documents: Documents,
    /// An oversight key of the policy: envelope requests are signed with it.
    pub oversight_key: Option<&'a PrivateKey>,
    /// Investigators' `receipts.jsonl` files (with the `summary.json` beside each).
    pub receipts: &'a [PathBuf],
    /// Checkpoints of the trustees' logs as others saw them: (name for the messages, note).
    pub checkpoints: &'a [(String, String)],
    /// The certificate of the key generation that made the set (`keygen-certificate.json`):
    /// checked against the set and every audited log's `keygen` entry.
    pub keygen_certificate: Option<&'a escrow_core::dkg::Certificate>,
}

/// Why an audit could not run at all (a trustee that cannot be read is "not audited" instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file of the auditor (state, receipts) could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Progress of the log reading (for a progress bar); every method does nothing by default.
pub trait AuditProgress {
    /// Reading the log of `trustee`, `entries` long, starts.
    fn log_started(&mut self, _trustee: u16, _entries: u64) {}
    /// `read` entries of it are read.
    fn log_read(&mut self, _read: u64) {}
    /// The log is read (or reading stopped).
    fn log_done(&mut self) {}
}

/// No progress shown.
pub struct Quiet;

impl AuditProgress for Quiet {}

/// Saved per trustee in the auditor's memory.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pinned {
    origin: String,
    log_key: String,
    first_seen: Timestamp,
    checkpoint: Option<TreeHead>,
    checkpoint_note: Option<String>,
    checkpoint_seen: Option<Timestamp>,
}

fn safe_name(origin: &str) -> String {
    origin
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Warrants and cancellations in a folder of `*.json` envelopes, by digest (files that are
/// neither are skipped).
pub fn load_documents(dir: &Path, docs: &mut Documents) -> Result<(), AuditError> {
    for e in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let p = e.map_err(io_err(dir))?.path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        if let Ok(env) = WarrantEnvelope::from_json(&text)
            && Warrant::parse(&env).is_ok()
        {
            docs.add_warrant(env);
        } else if let Ok(env) = CancellationEnvelope::from_json(&text) {
            docs.add_cancellation(env);
        }
    }
    Ok(())
}

/// The incremental audit (the auditing witness, issue 17): per log origin, what the last audit
/// of that log left ([`audit_resuming`]).
pub type Carries = std::collections::BTreeMap<String, LogCarry>;

struct Ctx<'a> {
    cfg: &'a AuditConfig<'a>,
    findings: Vec<Finding>,
    judge: Judge,
    /// The documents judged with: the given ones and those the carries hold.
    docs: Documents,
    /// Carries to resume from, by origin (taken as each log is read).
    resume: Carries,
    /// trustee -> (origin, checkpoint note, tree) of each log read to the end without a finding,
    /// when carrying.
    carry_from: Option<HashMap<u16, (String, String, escrow_core::audit::Frontier)>>,
    /// trustee -> (url, checkpoint head), for the audited logs.
    heads: HashMap<u16, (String, TreeHead)>,
    /// trustee -> its log key (bound to it by its signed `/v1/info`), for the audited logs.
    log_keys: HashMap<u16, String>,
    /// Audit each log up to this signed checkpoint instead of the one the node serves now.
    up_to: Option<&'a str>,
    /// url -> its client, once its TLS key was tied to its trustee (`NodeClient::bind_tls`).
    bound: HashMap<String, NodeClient>,
}

impl Ctx<'_> {
    /// A finding of `kind` about `trustee` (no entry, no URL).
    fn note(&mut self, kind: FindingKind, trustee: Option<u16>, message: String) {
        self.findings
            .push(Finding::new(kind, trustee, None, message));
    }

    fn find(&mut self, mut f: Finding, url: &str) {
        f.url = Some(url.to_string());
        self.findings.push(f);
    }

    /// The client of `url`: the one whose TLS key was tied to its trustee when there is one
    /// (so every request of the audit is held to the pinned key).
    fn client(&self, url: &str) -> Result<NodeClient, ClientError> {
        match self.bound.get(url) {
            Some(c) => Ok(c.clone()),
            None => NodeClient::new(url.trim_end_matches('/'), self.cfg.client),
        }
    }
}

/// Audit one trustee's log. Integrity problems become findings; `Err` means the trustee could
/// not be audited (unreachable, not of this set, stopped answering).
fn audit_trustee(
    ctx: &mut Ctx<'_>,
    url: &str,
    ta: &mut TrusteeAudit,
    progress: &mut dyn AuditProgress,
) -> Result<(), String> {
    let set = ctx.cfg.set;
    let client = ctx.client(url).map_err(|e| e.to_string())?;
    let info = client.info().map_err(|e| e.to_string())?;
    let index = info.trustee;
    let tname = format!("trustee {index} ({url})");
    if info.set_id != set.id() {
        return Err(format!(
            "{tname} belongs to another trustee set ({})",
            info.set_id.to_hex()
        ));
    }
    // The log key is checked against the set (the trustee's signing key binds it, and signs
    // the whole answer) before anything else is believed: no trust on first use.
    info.verify(set)
        .map_err(|e| format!("{tname}: /v1/info refused: {e}"))?;
    // Over HTTPS: the TLS key must be the one the trustee bound; pinned for every later
    // request of this audit to this URL (`Ctx::client` hands out this client).
    client
        .bind_tls(&info)
        .map_err(|e| format!("{tname}: refused: {e}"))?;
    ctx.bound.insert(url.to_string(), client.clone());
    if ctx.heads.contains_key(&index) {
        return Err(format!("{tname} was already audited under another URL"));
    }
    ta.trustee = Some(index);
    if let Some(p) = ctx.cfg.policy {
        let pd = info.policy_digest;
        if pd != p.digest() {
            ctx.find(
                Finding::new(
                    FindingKind::PolicyDiffers,
                    Some(index),
                    None,
                    format!(
                        "{tname} now runs policy {}, not the --policy given ({}): its releases are judged under --policy",
                        pd.short(),
                        p.digest().short()
                    ),
                ),
                url,
            );
        }
    }
    let origin = info.log_origin.clone();
    let served_key = info.log_key.clone();

    // Trust on first use: pin the log key.
    let state = ctx.cfg.state;
    let pin_path = state.map(|s| s.join(format!("{}.json", safe_name(&origin))));
    let mut pinned: Option<Pinned> = match &pin_path {
        Some(p) if p.exists() => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| format!("cannot read auditor state {}: {e}", p.display()))?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|e| format!("{}: auditor state: {e}", p.display()))?,
            )
        }
        _ => None,
    };
    let log_key = match &pinned {
        Some(p) => {
            if p.log_key != served_key {
                ctx.find(
                    Finding::new(
                        FindingKind::LogKeyChanged,
                        Some(index),
                        None,
                        format!(
                            "{tname} now presents log key {served_key}, but {} was pinned on {}; checking against the pinned key",
                            p.log_key, p.first_seen
                        ),
                    ),
                    url,
                );
            }
            p.log_key.clone()
        }
        None => {
            ta.key_pinned_now = state.is_some();
            served_key.clone()
        }
    };
    ta.origin = origin.clone();
    ta.log_key = log_key.clone();
    // Resuming after an earlier audit of this log: its head is the checkpoint seen before.
    let carry = ctx.resume.remove(&origin);
    if let Some(c) = &carry
        && c.trustee != index
    {
        return Err(format!(
            "{tname}: the audit carried for log {origin:?} is trustee {}'s",
            c.trustee
        ));
    }
    ta.previous_checkpoint = match &carry {
        Some(c) => Some(c.head),
        None => pinned.as_ref().and_then(|p| p.checkpoint),
    };
    ta.status = LogStatus::Failed;

    let note = match ctx.up_to {
        Some(n) => n.to_string(),
        None => client.checkpoint().map_err(|e| e.to_string())?,
    };
    let cp = match verify_checkpoint(&note, &log_key) {
        Ok(cp) => cp,
        Err(e) => {
            ctx.find(
                Finding::new(
                    FindingKind::BadCheckpoint,
                    Some(index),
                    None,
                    format!("{tname}: checkpoint rejected: {e}"),
                ),
                url,
            );
            return Ok(());
        }
    };
    let head = cp.head;
    ta.checkpoint = Some(head);
    // Audited up to a checkpoint given (a witness's): the log the node serves now must extend
    // it, or the node shows others another history.
    if ctx.up_to.is_some() {
        let served_note = client.checkpoint().map_err(|e| e.to_string())?;
        match verify_checkpoint(&served_note, &log_key) {
            Ok(served) => {
                let proof = if head.size <= served.head.size {
                    match client.consistency(head.size, served.head.size) {
                        Ok(p) => p.proof,
                        Err(ClientError::Malformed { .. }) => Vec::new(),
                        Err(e) => return Err(e.to_string()),
                    }
                } else {
                    Vec::new()
                };
                if let Some(f) = check_consistency(index, &head, &served.head, &proof) {
                    ctx.find(f, url);
                }
            }
            Err(e) => ctx.find(
                Finding::new(
                    FindingKind::BadCheckpoint,
                    Some(index),
                    None,
                    format!("{tname}: checkpoint served now rejected: {e}"),
                ),
                url,
            ),
        }
    }
    let earlier = ta.previous_checkpoint.map(|c| c.size).unwrap_or(0);
    let mut check = match carry {
        // Only the entries after the carried head are read; the root is recomputed from its
        // frontier and them.
        Some(c) => {
            let frontier = c.frontier().map_err(|e| format!("{tname}: {e}"))?;
            c.facts.add_documents(&mut ctx.docs);
            ctx.judge.resume(index, c.facts);
            LogCheck::resume(index, head, frontier)
        }
        None => LogCheck::new(index, head, earlier),
    };

    // Append-only against the checkpoint seen on the last run.
    if let Some(old) = ta.previous_checkpoint {
        let proof = if old.size <= head.size {
            match client.consistency(old.size, head.size) {
                Ok(p) => p.proof,
                // A proof that is not one fails the check below (a finding, not an outage).
                Err(ClientError::Malformed { .. }) => Vec::new(),
                Err(e) => return Err(e.to_string()),
            }
        } else {
            Vec::new()
        };
        if let Some(mut f) = check_consistency(index, &old, &head, &proof) {
            f.url = Some(url.to_string());
            check.fail(f);
        }
    }

    // Stream the entries; recompute leaves and root; compare with the leaves seen before.
    let leaves_path = state.map(|s| s.join(format!("{}.leaves", safe_name(&origin))));
    let old_leaves = match &leaves_path {
        Some(p) if p.exists() => Some(std::io::BufReader::new(
            std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?,
        )),
        _ => None,
    };
    let earlier_kept = old_leaves.is_some();
    progress.log_started(index, head.size);
    let mut log = LogReading {
        check,
        earlier,
        old_leaves,
        new_leaves: Vec::new(),
        ta: &mut *ta,
        judge: &mut ctx.judge,
        trustee: index,
    };
    let read = read_log(&client, head.size, &mut log, progress);
    progress.log_done();
    read?;
    let LogReading {
        check, new_leaves, ..
    } = log;
    let tree = check.frontier().clone();
    let verdict = check.finish(earlier_kept);
    ta.entries = verdict.entries;
    ta.log_ok = verdict.ok;
    ta.status = if verdict.ok {
        LogStatus::Verified
    } else {
        LogStatus::Failed
    };
    for f in verdict.findings {
        ctx.find(f, url);
    }
    ctx.heads.insert(index, (url.to_string(), head));
    ctx.log_keys.insert(index, ta.log_key.clone());
    if let (Some(c), true) = (ctx.carry_from.as_mut(), verdict.ok) {
        c.insert(index, (origin.clone(), note.clone(), tree));
    }

    // Remember what was seen, only when everything checked out (a bad log keeps the evidence).
    if let (Some(pin), Some(lp), true) = (&pin_path, &leaves_path, verdict.ok) {
        let now = now();
        let p = match pinned.take() {
            Some(mut p) => {
                p.checkpoint = Some(head);
                p.checkpoint_note = Some(note.clone());
                p.checkpoint_seen = Some(now);
                p
            }
            None => Pinned {
                origin: origin.clone(),
                log_key: log_key.clone(),
                first_seen: now,
                checkpoint: Some(head),
                checkpoint_note: Some(note.clone()),
                checkpoint_seen: Some(now),
            },
        };
        remember(pin, lp, &p, &new_leaves).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Where the entries of one log go as they are read: the log check, the leaves seen on the
/// last run, the counts and the judge.
struct LogReading<'a> {
    check: LogCheck,
    /// Size of the checkpoint seen on the last run.
    earlier: u64,
    /// The leaf hashes seen on the last run (`--state`).
    old_leaves: Option<std::io::BufReader<std::fs::File>>,
    /// The leaf hashes past `earlier` (kept for `--state`).
    new_leaves: Vec<Digest32>,
    ta: &'a mut TrusteeAudit,
    judge: &'a mut Judge,
    trustee: u16,
}

impl LogReading<'_> {
    /// The next entry, as served: its bytes and the leaf hash the node served with them.
    fn push(&mut self, bytes: &[u8], served_leaf: Option<Digest32>) {
        if self.check.remaining() == 0 {
            return;
        }
        let i = self.check.next_index();
        let earlier_leaf = if i < self.earlier {
            self.old_leaves.as_mut().and_then(|r| {
                let mut buf = [0u8; 32];
                r.read_exact(&mut buf).ok().map(|()| Digest32(buf))
            })
        } else {
            None
        };
        let earlier_leaf = match (i < self.earlier, earlier_leaf, self.old_leaves.is_some()) {
            // the earlier leaves file is shorter than the earlier checkpoint
            (true, None, true) => Some(Digest32([0; 32])),
            (_, l, _) => l,
        };
        let (leaf, entry) = self.check.push(bytes, served_leaf, earlier_leaf);
        if i >= self.earlier {
            self.new_leaves.push(leaf);
        }
        if let Some(e) = entry {
            match e.kind {
                EntryKind::Release => self.ta.releases += 1,
                EntryKind::Refusal => self.ta.refusals += 1,
                EntryKind::Cancellation => self.ta.cancellations += 1,
                _ => {}
            }
            self.judge.add_logged(self.trustee, e, leaf);
        }
    }
}

/// One level-0 tile's worth of the log read as tiles.
enum Tiled {
    /// Its entries and the leaf hashes served with them were pushed.
    Read,
    /// The node serves no tiles (404): read pages from now on.
    NotServed,
    /// Not usable (an entry too long for a bundle, a malformed bundle or tile, an error):
    /// read this range as a page, which says why if it fails too.
    Unusable,
}

/// One level-0 tile's worth of the log as fetched.
enum Fetched {
    /// The entry bundle and the level-0 hash tile.
    Tiles { bundle: Vec<u8>, hashes: Vec<u8> },
    /// Either answered 404.
    NotServed,
    /// Either failed.
    Unusable,
}

/// Tiles fetched ahead of the checks (at most about 1 MB of entries): the node serves the
/// next tiles while the auditor checks this one (`docs/experiments.md` §7.3).
const PREFETCH: usize = 4;

/// The entry bundle and the level-0 hash tile of entries `[start, start + width)` (`start` a
/// multiple of 256).
fn fetch_tile(client: &NodeClient, start: u64, width: u64) -> Fetched {
    use escrow_core::audit::tiles::{TileId, TileKind};
    let Ok(w16) = u16::try_from(width) else {
        return Fetched::Unusable;
    };
    let id = |kind| TileId {
        kind,
        index: start / TILE_WIDTH,
        width: w16,
    };
    let bundle = match client.tile(&id(TileKind::Entries)) {
        Ok(Some(b)) => b,
        Ok(None) => return Fetched::NotServed,
        Err(_) => return Fetched::Unusable,
    };
    match client.tile(&id(TileKind::Hashes(0))) {
        Ok(Some(hashes)) => Fetched::Tiles { bundle, hashes },
        Ok(None) => Fetched::NotServed,
        Err(_) => Fetched::Unusable,
    }
}

/// Entries `[start, start + width)` from their entry bundle and level-0 hash tile, checked like
/// a page's entries (`docs/audit.md` §5).
fn read_tile(fetched: Fetched, width: u64, log: &mut LogReading<'_>) -> Tiled {
    use escrow_core::audit::tiles::parse_entry_bundle;
    let (bundle, hashes) = match fetched {
        Fetched::Tiles { bundle, hashes } => (bundle, hashes),
        Fetched::NotServed => return Tiled::NotServed,
        Fetched::Unusable => return Tiled::Unusable,
    };
    let Ok(w) = usize::try_from(width) else {
        return Tiled::Unusable;
    };
    if hashes.len() != w.saturating_mul(32) {
        return Tiled::Unusable;
    }
    let Ok(entries) = parse_entry_bundle(&bundle, w) else {
        return Tiled::Unusable;
    };
    for (bytes, leaf) in entries.into_iter().zip(hashes.chunks_exact(32)) {
        log.push(bytes, leaf.try_into().ok().map(Digest32));
    }
    Tiled::Read
}

/// Read a log of `size` entries from the start into `log`: as C2SP tiles (an entry bundle and
/// the level-0 hash tile per 256 entries: the entry bytes and the leaf hashes the node serves,
/// binary) where the node serves them, else as `/v1/log/entries` pages of up to [`PAGE`]
/// entries parsed as a stream. The tiles are fetched in order by a second thread, up to
/// [`PREFETCH`] ahead of the checks. `Err`: the node stopped answering (not audited).
fn read_log(
    client: &NodeClient,
    size: u64,
    log: &mut LogReading<'_>,
    progress: &mut dyn AuditProgress,
) -> Result<(), String> {
    let first = log
        .check
        .next_index()
        .div_ceil(TILE_WIDTH)
        .saturating_mul(TILE_WIDTH);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH);
        let fetcher = client.clone();
        scope.spawn(move || {
            let mut start = first;
            while start < size {
                let end = start.saturating_add(TILE_WIDTH).min(size);
                let fetched = fetch_tile(&fetcher, start, end - start);
                let last = matches!(fetched, Fetched::NotServed);
                // Stops when the reader no longer wants tiles (it dropped the receiver).
                if tx.send((start, fetched)).is_err() || last {
                    break;
                }
                start = end;
            }
        });
        let mut ahead = Some(rx);
        let mut tiles = true;
        while log.check.remaining() > 0 {
            let start = log.check.next_index();
            let tile_end = (start / TILE_WIDTH + 1)
                .saturating_mul(TILE_WIDTH)
                .min(size);
            if tiles && start.is_multiple_of(TILE_WIDTH) {
                // The fetcher's tile at `start` (those of ranges read as pages are skipped);
                // fetched here if the fetcher is out of step.
                let fetched = loop {
                    match ahead.as_ref().map(std::sync::mpsc::Receiver::recv) {
                        Some(Ok((s, f))) if s == start => break f,
                        Some(Ok((s, _))) if s < start => {}
                        _ => {
                            ahead = None;
                            break fetch_tile(client, start, tile_end - start);
                        }
                    }
                };
                match read_tile(fetched, tile_end - start, log) {
                    Tiled::Read => {
                        progress.log_read(log.check.next_index());
                        continue;
                    }
                    Tiled::NotServed => {
                        tiles = false;
                        ahead = None;
                    }
                    Tiled::Unusable => {}
                }
            }
            let end = if tiles {
                tile_end
            } else {
                size.min(start.saturating_add(PAGE))
            };
            let got = client
                .entries_streamed(start, end, &mut |served| {
                    log.push(&served.bytes, served.leaf_hash)
                })
                .map_err(|e| e.to_string())?;
            if got == 0 || log.check.next_index() == start {
                log.check.missing();
                break;
            }
            progress.log_read(log.check.next_index());
        }
        Ok(())
    })
}

/// Append the new leaves, then replace the pinned record (atomically).
fn remember(
    pin: &Path,
    leaves: &Path,
    p: &Pinned,
    new_leaves: &[Digest32],
) -> Result<(), AuditError> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(leaves)
        .map_err(io_err(leaves))?;
    let mut buf = Vec::with_capacity(new_leaves.len() * 32);
    for l in new_leaves {
        buf.extend_from_slice(l.as_bytes());
    }
    f.write_all(&buf).map_err(io_err(leaves))?;
    f.sync_all().map_err(io_err(leaves))?;
    let tmp = pin.with_extension("json.tmp");
    std::fs::write(&tmp, escrow_core::codec::to_json_pretty(p)).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, pin).map_err(io_err(pin))?;
    Ok(())
}

/// Run the audit. `Err` only when it could not run at all; an unreachable trustee is "not
/// audited".
pub fn audit(
    cfg: &AuditConfig<'_>,
    progress: &mut dyn AuditProgress,
) -> Result<AuditReport, AuditError> {
    run(cfg, None, None, progress)
}

/// The incremental audit (the auditing witness, issue 17, `docs/witness.md` §Incremental
/// audit): a log with a carry in `carries` (by origin) is audited from the carried checkpoint
/// on — its served checkpoint must be consistent with the carried one (else `log-rolled-back`
/// or `log-forked`), only the entries after it are read, the root is recomputed from the
/// carried frontier and them, and the new releases are judged with the carried facts
/// (`escrow_core::audit::carry`) by the same judge. The report covers the entries read. Then
/// each log read to the end whose trustee has no finding that blocks justification (and with no
/// such finding naming no trustee) gets a new carry in `carries`; the others keep theirs.
/// With `cfg.keygen_certificate`, resumed logs are not checked against it (their first entries
/// are not read).
///
/// `up_to`: a signed checkpoint (a note) to audit the log up to — the one a witness is asked
/// to cosign — instead of the checkpoint the node serves now; it must verify under the
/// trustee's log key (else a `bad-checkpoint` finding) and the log is read only to its size.
/// Meant for one log (`cfg.urls` of one trustee).
pub fn audit_resuming(
    cfg: &AuditConfig<'_>,
    carries: &mut Carries,
    up_to: Option<&str>,
    progress: &mut dyn AuditProgress,
) -> Result<AuditReport, AuditError> {
    run(cfg, Some(carries), up_to, progress)
}

fn run<'a>(
    cfg: &'a AuditConfig<'a>,
    carries: Option<&mut Carries>,
    up_to: Option<&'a str>,
    progress: &mut dyn AuditProgress,
) -> Result<AuditReport, AuditError> {
    let set = cfg.set;
    if let Some(s) = cfg.state {
        std::fs::create_dir_all(s).map_err(io_err(s))?;
    }
    let judge = match cfg.oversight_key {
        // The oversight view: sealed warrants and headers in the logs are opened.
        Some(k) => Judge::new(set, cfg.policy.cloned()).with_oversight_key(k.clone()),
        None => Judge::new(set, cfg.policy.cloned()),
    };
    let mut ctx = Ctx {
        cfg,
        findings: Vec::new(),
        judge: if carries.is_some() {
            judge.carrying()
        } else {
            judge
        },
        docs: cfg.documents.clone(),
        resume: carries.as_deref().cloned().unwrap_or_default(),
        carry_from: carries.as_ref().map(|_| HashMap::new()),
        heads: HashMap::new(),
        log_keys: HashMap::new(),
        up_to,
        bound: HashMap::new(),
    };
    let mut trustees = Vec::new();
    for url in cfg.urls {
        let mut ta = TrusteeAudit::not_audited(url, String::new());
        match audit_trustee(&mut ctx, url, &mut ta, progress) {
            Ok(()) => ta.not_audited = None,
            Err(e) => {
                // A log read in part is not audited either; what was read still counts (as a
                // lower bound).
                ta.status = LogStatus::NotAudited;
                ta.log_ok = false;
                ta.not_audited = Some(e);
                if let Some(i) = ta.trustee {
                    ctx.heads.remove(&i);
                    if let Some(c) = ctx.carry_from.as_mut() {
                        c.remove(&i);
                    }
                }
            }
        }
        trustees.push(ta);
    }

    // The key generation that made the set, if its certificate was given.
    if let Some(cert) = cfg.keygen_certificate {
        let audited: Vec<u16> = trustees
            .iter()
            .filter(|t| t.not_audited.is_none())
            .filter_map(|t| t.trustee)
            .collect();
        for f in ctx.judge.check_keygen(set, cert, &audited) {
            let url = f.trustee.and_then(|i| {
                trustees
                    .iter()
                    .find(|t| t.trustee == Some(i))
                    .map(|t| t.url.clone())
            });
            match url {
                Some(u) => ctx.find(f, &u),
                None => ctx.findings.push(f),
            }
        }
    }

    // Checkpoints others saw: the same log must not look different to them.
    for (name, note) in cfg.checkpoints {
        check_other_checkpoint(&mut ctx, &trustees, name, note);
    }

    // Documents: the disclosed ones (and those carried) first, else the node's copy.
    let mut docs = std::mem::take(&mut ctx.docs);
    let urls: HashMap<u16, String> = trustees
        .iter()
        .filter_map(|t| t.trustee.map(|i| (i, t.url.clone())))
        .collect();
    for (t, d) in ctx.judge.wanted() {
        if docs.contains(&d) {
            continue;
        }
        let Some(url) = urls.get(&t) else { continue };
        // The nodes disclose warrant text only to a request signed by an oversight key.
        let Some(key) = cfg.oversight_key else {
            continue;
        };
        let Ok(client) = ctx.client(url) else {
            continue;
        };
        if let Ok(Some(text)) = client.envelope(&d, key) {
            if let Ok(env) = WarrantEnvelope::from_json(&text)
                && env.digest().digest() == d
                && Warrant::parse(&env).is_ok()
            {
                docs.add_warrant(env);
            } else if let Ok(env) = CancellationEnvelope::from_json(&text)
                && env.digest() == d
            {
                docs.add_cancellation(env);
            }
        }
    }

    // Receipts: every receipt's leaf is in its trustee's log under the checkpoint.
    let mut receipts_checked = 0u64;
    for path in cfg.receipts {
        receipts_checked += check_receipts(&mut ctx, path)?;
    }

    // Judge every release.
    let mut judgement = std::mem::replace(&mut ctx.judge, Judge::new(set, None)).judge(&docs);
    let carried = std::mem::take(&mut judgement.carried);
    let carry_from = ctx.carry_from.take();
    let report = AuditReport::assemble(
        set,
        cfg.policy.map(|p| p.digest()),
        now(),
        trustees,
        judgement,
        ctx.findings,
        receipts_checked,
    );
    if let (Some(carries), Some(from)) = (carries, carry_from) {
        let blocked: std::collections::BTreeSet<Option<u16>> =
            report.blocking_findings().map(|f| f.trustee).collect();
        for (t, facts) in carried {
            if blocked.contains(&None) || blocked.contains(&Some(t)) {
                continue;
            }
            if let Some((origin, note, tree)) = from.get(&t) {
                carries.insert(
                    origin.clone(),
                    LogCarry::new(t, origin.clone(), note.clone(), tree, facts),
                );
            }
        }
    }
    Ok(report)
}

/// A checkpoint someone else saw (`name`): it must verify under the trustee's log key and be
/// consistent with the checkpoint seen now.
fn check_other_checkpoint(ctx: &mut Ctx<'_>, trustees: &[TrusteeAudit], name: &str, note: &str) {
    let origin = note.lines().next().unwrap_or("").to_string();
    let Some(t) = trustees
        .iter()
        .find(|t| !t.origin.is_empty() && t.origin == origin)
    else {
        ctx.note(
            FindingKind::CheckpointUnmatched,
            None,
            format!("{name}: no audited trustee has origin {origin:?}"),
        );
        return;
    };
    let (index, url, now) = (t.trustee, t.url.clone(), t.checkpoint);
    let tname = format!(
        "trustee {} ({url})",
        index.map(|i| i.to_string()).unwrap_or_default()
    );
    let other = match verify_checkpoint(note, &t.log_key) {
        Ok(c) => c.head,
        Err(e) => {
            ctx.find(
                Finding::new(
                    FindingKind::CheckpointUnverified,
                    index,
                    None,
                    format!("{name}: not a checkpoint of {tname}: {e}"),
                ),
                &url,
            );
            return;
        }
    };
    let Some(now) = now else { return };
    let verdict = if other.size > now.size {
        Err(format!(
            "{tname} showed {name} a log of {} entries; it now shows {}",
            other.size, now.size
        ))
    } else {
        let pr = ctx
            .client(&url)
            .and_then(|c| c.consistency(other.size, now.size));
        match pr {
            Ok(pr) => match check_consistency(index.unwrap_or(0), &other, &now, &pr.proof) {
                None => Ok(()),
                Some(f) => Err(format!(
                    "{tname}: the checkpoint in {name} (size {}) and the one served now (size {}) are not views of one append-only log ({})",
                    other.size, now.size, f.message
                )),
            },
            Err(e) => Err(format!("{tname}: no consistency proof: {e}")),
        }
    };
    if let Err(msg) = verdict {
        ctx.find(Finding::new(FindingKind::SplitView, index, None, msg), &url);
    }
}

/// The part of an investigator's `summary.json` the auditor reads.
#[derive(Debug, Deserialize)]
struct SummaryNames {
    /// Trustees whose shares failed their proofs.
    #[serde(default)]
    bad_share_trustees: Vec<u16>,
}

/// Check one `receipts.jsonl` (and the `summary.json` beside it); returns the receipts proved.
fn check_receipts(ctx: &mut Ctx<'_>, path: &Path) -> Result<u64, AuditError> {
    let set = ctx.cfg.set;
    let mut checked = 0u64;
    let f = std::fs::File::open(path).map_err(io_err(path))?;
    for (lineno, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(io_err(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let here = format!("{}:{}", path.display(), lineno + 1);
        if serde_json::from_str::<VersionOnly>(&line).is_ok_and(|v| v.version == 2) {
            checked += check_receipt_v2(ctx, &here, &line);
            continue;
        }
        let parsed = ReleaseResponse::from_json(&line);
        let Some(resp) = signed_receipt(ctx, &here, parsed, |r| (r.trustee, r.verify(set))) else {
            continue;
        };
        let Some((url, head)) = ctx.heads.get(&resp.trustee).cloned() else {
            ctx.note(
                FindingKind::ReceiptUnchecked,
                Some(resp.trustee),
                format!("{here}: trustee {} was not audited", resp.trustee),
            );
            continue;
        };
        let released = resp
            .results
            .iter()
            .any(|r| matches!(r, ReleaseResult::Released { .. }));
        check_witnessed(ctx, &here, &url, resp.trustee, released, |key, wp| {
            escrow_core::audit::witness::check_release(&resp, key, wp)
        });
        for res in &resp.results {
            let ReleaseResult::Released {
                ciphertext,
                leaf_index,
                ..
            } = res
            else {
                continue;
            };
            let rel = ctx.judge.release_at(resp.trustee, *leaf_index);
            let msg = match check_receipt(
                ctx,
                &url,
                &head,
                *leaf_index,
                rel,
                &resp.warrant,
                ciphertext,
            ) {
                Ok(()) => {
                    checked += 1;
                    continue;
                }
                Err(e) => e,
            };
            ctx.find(
                Finding::new(
                    FindingKind::ReceiptNotInLog,
                    Some(resp.trustee),
                    Some(*leaf_index),
                    format!(
                        "{here}: trustee {} receipt for entry {leaf_index}: {msg}",
                        resp.trustee
                    ),
                ),
                &url,
            );
        }
    }
    // The investigator's retrieval summary names trustees whose shares failed their proofs.
    let summary = path.with_file_name("summary.json");
    if let Ok(text) = std::fs::read_to_string(&summary)
        && let Ok(v) = serde_json::from_str::<SummaryNames>(&text)
    {
        for t in v.bad_share_trustees {
            let f = Finding::new(
                FindingKind::CheatingTrustee,
                Some(t),
                None,
                format!(
                    "trustee {t} is named as cheating by the investigator's retrieval ({}): it released decryption shares that failed their proofs",
                    summary.display()
                ),
            );
            match ctx.heads.get(&t).map(|(u, _)| u.clone()) {
                Some(u) => ctx.find(f, &u),
                None => ctx.findings.push(f),
            }
        }
    }
    Ok(checked)
}

/// A receipt's release-gate evidence (issue 17), under a policy with witnesses, for a receipt
/// of trustee `t` that `released` something: checked again by `check` (`check_release` or
/// `check_release_v2` under the trustee's log key: cosignatures, quorum, inclusion proofs; a
/// failure is `receipt-not-in-log`), and every witness's timestamp set next to the node's clock
/// (its release entries' time); a witness more than `DEFAULT_CLOCK_TOLERANCE_SECS` away is a
/// `witness-clock` warning.
fn check_witnessed(
    ctx: &mut Ctx<'_>,
    here: &str,
    url: &str,
    t: u16,
    released: bool,
    check: impl FnOnce(
        &str,
        &escrow_core::audit::witness::GatePolicy,
    ) -> Result<
        escrow_core::audit::witness::CheckedRelease,
        escrow_core::audit::witness::GateCheckError,
    >,
) {
    use escrow_core::audit::witness::{DEFAULT_CLOCK_TOLERANCE_SECS, clock_readings};
    let (Some(wp), Some(log_key), true) = (
        ctx.cfg
            .policy
            .and_then(escrow_core::audit::witness::GatePolicy::of),
        ctx.log_keys.get(&t).cloned(),
        released,
    ) else {
        return;
    };
    match check(&log_key, &wp) {
        Err(e) => ctx.find(
            Finding::new(
                FindingKind::ReceiptNotInLog,
                Some(t),
                None,
                format!("{here}: the receipt's witnessed evidence is refused: {e}"),
            ),
            url,
        ),
        Ok(checked) => {
            for c in clock_readings(&checked, DEFAULT_CLOCK_TOLERANCE_SECS) {
                if c.beyond_tolerance {
                    ctx.find(
                        Finding::new(
                            FindingKind::WitnessClock,
                            Some(t),
                            None,
                            format!(
                                "{here}: witness {} cosigned at {} (its clock), {} s from trustee {t}'s clock at its release entries ({}); tolerance {DEFAULT_CLOCK_TOLERANCE_SECS} s",
                                c.witness,
                                c.witnessed_at,
                                c.skew_secs,
                                c.node_time
                            ),
                        ),
                        url,
                    );
                }
            }
        }
    }
}

/// A receipt line of either version, parsed (`parsed`) and its signature verified (`check`:
/// the trustee it names and the verification), or `None` with the finding why not.
fn signed_receipt<R, E: std::fmt::Display, F: std::fmt::Display>(
    ctx: &mut Ctx<'_>,
    here: &str,
    parsed: Result<R, E>,
    check: impl FnOnce(&R) -> (u16, Result<(), F>),
) -> Option<R> {
    let r = match parsed {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("{here}: not a receipt: {e}");
            ctx.note(FindingKind::ReceiptNotInLog, None, msg);
            return None;
        }
    };
    if let (trustee, Err(e)) = check(&r) {
        let msg = format!("{here}: receipt signature does not verify: {e}");
        ctx.note(FindingKind::ReceiptNotInLog, Some(trustee), msg);
        return None;
    }
    Some(r)
}

/// The format version of a receipt line (the other fields are read by its own parser).
#[derive(serde::Deserialize)]
struct VersionOnly {
    version: u32,
}

/// One version 2 receipt line (`escrow_core::v2::release::ReceiptV2`): parsed (the item
/// digests must be the request the signed response answers), its signature verified, and every
/// released item's leaf proved in its trustee's log. Returns the receipts proved.
fn check_receipt_v2(ctx: &mut Ctx<'_>, here: &str, line: &str) -> u64 {
    let parsed = escrow_core::v2::release::ReceiptV2::from_json_line(line);
    let set = ctx.cfg.set;
    let Some(r) = signed_receipt(ctx, here, parsed, |r| {
        (r.response.trustee, r.response.verify(set))
    }) else {
        return 0;
    };
    let trustee = r.response.trustee;
    let Some((url, head)) = ctx.heads.get(&trustee).cloned() else {
        ctx.note(
            FindingKind::ReceiptUnchecked,
            Some(trustee),
            format!("{here}: trustee {trustee} was not audited"),
        );
        return 0;
    };
    let released = r.released();
    check_witnessed(ctx, here, &url, trustee, !released.is_empty(), |key, wp| {
        escrow_core::audit::witness::check_release_v2(&r.response, &r.ciphertexts, key, wp)
    });
    let mut checked = 0;
    for (leaf_index, ciphertext) in released {
        let rel = ctx.judge.release_at(trustee, leaf_index);
        match check_receipt(
            ctx,
            &url,
            &head,
            leaf_index,
            rel,
            &r.response.warrant,
            &ciphertext,
        ) {
            Ok(()) => checked += 1,
            Err(msg) => ctx.find(
                Finding::new(
                    FindingKind::ReceiptNotInLog,
                    Some(trustee),
                    Some(leaf_index),
                    format!("{here}: trustee {trustee} receipt for entry {leaf_index}: {msg}"),
                ),
                &url,
            ),
        }
    }
    checked
}

fn check_receipt(
    ctx: &Ctx<'_>,
    url: &str,
    head: &TreeHead,
    index: u64,
    rel: Option<LoggedRelease>,
    warrant: &WarrantDigest,
    ciphertext: &escrow_core::codec::CiphertextDigest,
) -> Result<(), String> {
    let Some(rel) = rel else {
        return Err("no release entry at that index in the audited log".into());
    };
    if rel.warrant.as_ref() != Some(warrant) || rel.ciphertext.as_ref() != Some(ciphertext) {
        return Err("the log entry at that index is a release of something else".into());
    }
    let proof = ctx
        .client(url)
        .and_then(|c| c.inclusion(index, head.size))
        .map_err(|e| e.to_string())?
        .proof;
    // The leaf as logged (the judge keeps a record of the entry, not its bytes).
    verify_inclusion(&rel.leaf, index, head.size, &proof, &head.root).map_err(|e| e.to_string())
}
