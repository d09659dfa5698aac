//! `escrow audit`: check every trustee's transparency log and say what was opened.
//!
//! Per trustee: fetch `/v1/info`, pin its Ed25519 log key on first sight (`--state`), fetch and
//! verify the signed checkpoint, check it is consistent with the checkpoint saved on the last
//! run (RFC 9162 consistency proof from the node, verified here), stream every entry in pages,
//! recompute each leaf hash and the root, and compare the leaves with those seen before.
//! Then judge every release entry against its warrant (from `--warrants` or the copy the node
//! discloses) under `--policy`, and count which messages became readable (k or more trustees
//! released the same ciphertext under the same warrant). See docs/audit.md.

use crate::Reported;
use crate::io::{self, Out};
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use escrow_core::audit::{
    EntryKind, Frontier, LogEntry, TreeHead, leaf_hash, verify_checkpoint, verify_consistency,
    verify_inclusion,
};
use escrow_core::codec::{Digest32, b64_decode};
use escrow_core::release::{ReleaseResponse, ReleaseResult};
use escrow_core::time::Timestamp;
use escrow_core::trustee::TrusteeSet;
use escrow_core::warrant::{Policy, WarrantEnvelope};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{BufRead as _, Read as _, Write as _};
use std::path::{Path, PathBuf};

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
    /// Folder of warrant envelopes (`*.json`) disclosed to the auditor; warrants not found
    /// here are asked of the nodes (`/v1/log/envelope`).
    #[arg(long)]
    pub warrants: Option<PathBuf>,
    /// The auditor's memory: pinned log keys, the last checkpoint and the leaf hashes seen per
    /// trustee. Without it, nothing is compared with earlier runs.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// An investigator's `receipts.jsonl` (from `escrow retrieve`): prove every receipt is in
    /// its trustee's log. Repeatable.
    #[arg(long)]
    pub receipts: Vec<PathBuf>,
    /// A signed checkpoint (C2SP note) of one of the trustees' logs as someone else saw it:
    /// another auditor, a witness, an investigator. Each must verify under the trustee's log
    /// key and be consistent with the checkpoint seen now (catches a split view). Repeatable.
    #[arg(long = "checkpoint")]
    pub checkpoints: Vec<PathBuf>,
    /// Network timeout per request, seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// Entries per page asked of a node (it may serve fewer).
const PAGE: u64 = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `error` (integrity or an unjustified release) or `warning`.
    pub severity: &'static str,
    /// Trustee index, when one trustee is concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trustee: Option<u16>,
    /// Trustee URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Leaf index concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
    /// Stable code.
    pub code: &'static str,
    /// In words.
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrusteeAudit {
    pub url: String,
    pub trustee: Option<u16>,
    pub origin: String,
    pub log_key: String,
    pub key_pinned_now: bool,
    pub checkpoint: Option<TreeHead>,
    pub previous_checkpoint: Option<TreeHead>,
    pub entries: u64,
    pub releases: u64,
    pub refusals: u64,
    pub cancellations: u64,
    pub log_ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseView {
    pub trustee: u16,
    pub entry: u64,
    pub time: Timestamp,
    pub warrant: Digest32,
    pub ciphertext: Digest32,
    pub justified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct WarrantSummary {
    pub digest: Digest32,
    pub warrant_id: Option<String>,
    pub authority: Option<String>,
    pub warrant_type: Option<String>,
    pub max_releases: Option<u64>,
    pub cancelled: bool,
    pub releases: u64,
    pub messages_released: u64,
    pub messages_readable: u64,
    pub unjustified: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub set_id: Digest32,
    pub threshold: u16,
    pub trustees_total: u16,
    pub time: Timestamp,
    pub policy: Option<Digest32>,
    pub trustees: Vec<TrusteeAudit>,
    pub warrants: Vec<WarrantSummary>,
    /// Readable messages per issuing authority.
    pub per_authority: BTreeMap<String, u64>,
    /// Readable messages per month (of the k-th release).
    pub per_period: BTreeMap<String, u64>,
    pub releases: Vec<ReleaseView>,
    pub readable: Vec<ReadableMessage>,
    pub receipts_checked: u64,
    pub findings: Vec<Finding>,
    pub what_is_not_checked: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReadableMessage {
    pub warrant: Digest32,
    pub ciphertext: Digest32,
    pub trustees: Vec<u16>,
    pub readable_since: Timestamp,
}

impl AuditReport {
    /// Integrity failures or unjustified releases found.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == "error")
            .count()
    }
}

/// Saved per trustee in `--state`.
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

struct Http {
    cfg: escrow_client::ClientConfig,
}

impl Http {
    fn new(cfg: escrow_client::ClientConfig) -> Self {
        Http { cfg }
    }

    /// GET a full URL through the node client (TLS, timeouts, retries of 5xx and outages).
    fn get(&self, url: &str) -> Result<(u16, String)> {
        let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
        let split = url
            .get(after_scheme..)
            .and_then(|r| r.find('/'))
            .map(|i| i + after_scheme)
            .unwrap_or(url.len());
        let (base, path) = (
            url.get(..split).unwrap_or(url),
            url.get(split..).unwrap_or(""),
        );
        let client = escrow_client::NodeClient::new(base, &self.cfg)?;
        client.get_raw(path).map_err(|e| anyhow!("{e}"))
    }

    fn get_ok(&self, url: &str) -> Result<String> {
        let (status, text) = self.get(url)?;
        if status != 200 {
            bail!(
                "{url}: HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            );
        }
        Ok(text)
    }

    fn json(&self, url: &str) -> Result<serde_json::Value> {
        let t = self.get_ok(url)?;
        serde_json::from_str(&t).map_err(|e| anyhow!("{url}: not JSON: {e}"))
    }
}

fn digests(v: &serde_json::Value) -> Vec<Digest32> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str().and_then(Digest32::from_hex))
                .collect()
        })
        .unwrap_or_default()
}

/// A release entry kept for judging (the rest of the log is streamed and dropped).
#[derive(Clone)]
struct Rel {
    trustee: u16,
    /// Shared by every release of one trustee.
    url: std::sync::Arc<str>,
    entry: LogEntry,
    leaf: Digest32,
}

struct Collected {
    releases: Vec<Rel>,
    /// (trustee, warrant digest) -> seq of the cancellation entry.
    cancellations: HashMap<(u16, Digest32), u64>,
    /// trustee -> (seq, policy digest) of setup entries.
    setups: HashMap<u16, Vec<(u64, Digest32)>>,
    /// trustee -> (url, checkpoint head).
    heads: HashMap<u16, (String, TreeHead)>,
}

struct Ctx<'a> {
    http: &'a Http,
    out: Out,
    state: Option<&'a Path>,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn find(
        &mut self,
        severity: &'static str,
        trustee: Option<u16>,
        url: &str,
        entry: Option<u64>,
        code: &'static str,
        message: String,
    ) {
        self.findings.push(Finding {
            severity,
            trustee,
            url: Some(url.to_string()),
            entry,
            code,
            message,
        });
    }
}

/// Audit one trustee's log. Integrity problems become findings; returns what it saw.
fn audit_trustee(
    ctx: &mut Ctx<'_>,
    set: &TrusteeSet,
    policy: Option<&Policy>,
    url: &str,
    col: &mut Collected,
) -> Result<TrusteeAudit> {
    let base = url.trim_end_matches('/');
    let info = ctx.http.json(&format!("{base}/v1/info"))?;
    let index = info
        .get("trustee")
        .and_then(|v| v.as_u64())
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| anyhow!("{url}: /v1/info has no trustee index"))?;
    let tname = format!("trustee {index} ({url})");
    let set_id = info.get("set_id").and_then(|v| v.as_str()).unwrap_or("");
    if set_id != set.id().to_hex() {
        bail!("{tname} belongs to another trustee set ({set_id})");
    }
    if let Some(p) = policy {
        let pd = info
            .get("policy_digest")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if pd != p.digest().to_hex() {
            ctx.find(
                "warning",
                Some(index),
                url,
                None,
                "policy-differs",
                format!(
                    "{tname} now runs policy {}, not the --policy given ({})",
                    pd.get(..16).unwrap_or(pd),
                    p.digest().short()
                ),
            );
        }
    }
    let origin = info
        .get("log_origin")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    let served_key = info
        .get("log_key")
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow!("{tname} serves no log key (a node from before issue 5?)"))?
        .to_string();

    // Trust on first use: pin the log key.
    let pin_path = ctx
        .state
        .map(|s| s.join(format!("{}.json", safe_name(&origin))));
    let mut pinned: Option<Pinned> = match &pin_path {
        Some(p) if p.exists() => Some(
            serde_json::from_str(&io::read_text(p, "auditor state")?)
                .with_context(|| format!("{}: auditor state", p.display()))?,
        ),
        _ => None,
    };
    let mut key_pinned_now = false;
    let log_key = match &pinned {
        Some(p) => {
            if p.log_key != served_key {
                ctx.find(
                    "error",
                    Some(index),
                    url,
                    None,
                    "log-key-changed",
                    format!(
                        "{tname} now presents log key {served_key}, but {} was pinned on {}; checking against the pinned key",
                        p.log_key, p.first_seen
                    ),
                );
            }
            p.log_key.clone()
        }
        None => {
            key_pinned_now = ctx.state.is_some();
            served_key.clone()
        }
    };

    let note = ctx.http.get_ok(&format!("{base}/v1/log/checkpoint"))?;
    let mut ta = TrusteeAudit {
        url: url.to_string(),
        trustee: Some(index),
        origin: origin.clone(),
        log_key: log_key.clone(),
        key_pinned_now,
        checkpoint: None,
        previous_checkpoint: pinned.as_ref().and_then(|p| p.checkpoint),
        entries: 0,
        releases: 0,
        refusals: 0,
        cancellations: 0,
        log_ok: false,
    };
    let cp = match verify_checkpoint(&note, &log_key) {
        Ok(cp) => cp,
        Err(e) => {
            ctx.find(
                "error",
                Some(index),
                url,
                None,
                "bad-checkpoint",
                format!("{tname}: checkpoint rejected: {e}"),
            );
            return Ok(ta);
        }
    };
    let head = cp.head;
    ta.checkpoint = Some(head);
    let mut ok = true;

    // Append-only against the checkpoint seen on the last run.
    if let Some(old) = ta.previous_checkpoint {
        if old.size > head.size {
            ok = false;
            ctx.find(
                "error",
                Some(index),
                url,
                Some(head.size),
                "log-rolled-back",
                format!(
                    "{tname}: log ROLLED BACK: it had {} entries at an earlier audit, now its signed checkpoint says {}",
                    old.size, head.size
                ),
            );
        } else {
            let pr = ctx.http.json(&format!(
                "{base}/v1/log/proof/consistency?old={}&new={}",
                old.size, head.size
            ))?;
            let proof = digests(pr.get("proof").unwrap_or(&serde_json::Value::Null));
            if let Err(e) = verify_consistency(old.size, head.size, &old.root, &head.root, &proof) {
                ok = false;
                ctx.find(
                    "error",
                    Some(index),
                    url,
                    None,
                    "log-forked",
                    format!(
                        "{tname}: log REWRITTEN or FORKED: its checkpoint of size {} is not an extension of the checkpoint of size {} seen at an earlier audit ({e})",
                        head.size, old.size
                    ),
                );
            }
        }
    }

    // Stream the entries; recompute leaves and root; compare with the leaves seen before.
    let leaves_path = ctx
        .state
        .map(|s| s.join(format!("{}.leaves", safe_name(&origin))));
    let mut old_leaves = match &leaves_path {
        Some(p) if p.exists() => Some(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| p.display().to_string())?,
        )),
        _ => None,
    };
    let old_count = ta.previous_checkpoint.map(|c| c.size).unwrap_or(0);
    let mut first_diff: Option<u64> = None;
    let mut new_leaves: Vec<Digest32> = Vec::new();
    let mut frontier = Frontier::new();
    let bar = if ctx.out.json || head.size < 5000 {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::with_draw_target(
            Some(head.size),
            indicatif::ProgressDrawTarget::stderr(),
        );
        b.set_message(format!("trustee {index} log"));
        b
    };
    let url_shared: std::sync::Arc<str> = std::sync::Arc::from(url);
    let mut start = 0u64;
    while start < head.size {
        let end = head.size.min(start.saturating_add(PAGE));
        let page = ctx
            .http
            .json(&format!("{base}/v1/log/entries?start={start}&end={end}"))?;
        let items = page
            .get("entries")
            .and_then(|e| e.as_array())
            .cloned()
            .unwrap_or_default();
        if items.is_empty() {
            ok = false;
            ctx.find(
                "error",
                Some(index),
                url,
                Some(start),
                "entries-missing",
                format!(
                    "{tname}: entry {start} is missing: the signed checkpoint says {} entries",
                    head.size
                ),
            );
            break;
        }
        for it in items {
            let i = frontier.size();
            let bytes = it
                .get("bytes")
                .and_then(|b| b.as_str())
                .and_then(|b| b64_decode(b).ok())
                .unwrap_or_default();
            let leaf = leaf_hash(&bytes);
            frontier.push(leaf);
            let served_leaf = it
                .get("leaf_hash")
                .and_then(|v| v.as_str())
                .and_then(Digest32::from_hex);
            if served_leaf != Some(leaf) {
                ok = false;
                ctx.find(
                    "error",
                    Some(index),
                    url,
                    Some(i),
                    "leaf-hash-mismatch",
                    format!("{tname}: entry {i}: served leaf hash is not the hash of its bytes"),
                );
            }
            if i < old_count {
                if let Some(r) = old_leaves.as_mut() {
                    let mut buf = [0u8; 32];
                    let same = r.read_exact(&mut buf).is_ok() && buf == leaf.0;
                    if !same && first_diff.is_none() {
                        first_diff = Some(i);
                    }
                }
            } else {
                new_leaves.push(leaf);
            }
            let entry = match LogEntry::from_bytes(&bytes) {
                Ok(e) => e,
                Err(e) => {
                    ok = false;
                    ctx.find(
                        "error",
                        Some(index),
                        url,
                        Some(i),
                        "bad-entry",
                        format!("{tname}: entry {i} does not decode: {e}"),
                    );
                    continue;
                }
            };
            if entry.sequence != i {
                ok = false;
                ctx.find(
                    "error",
                    Some(index),
                    url,
                    Some(i),
                    "bad-sequence",
                    format!(
                        "{tname}: entry {i} says it is entry {} (entries reordered, inserted or deleted)",
                        entry.sequence
                    ),
                );
            }
            match entry.kind {
                EntryKind::Release => {
                    ta.releases += 1;
                    col.releases.push(Rel {
                        trustee: index,
                        url: url_shared.clone(),
                        entry,
                        leaf,
                    });
                }
                EntryKind::Refusal => ta.refusals += 1,
                EntryKind::Cancellation => {
                    ta.cancellations += 1;
                    if let Some(w) = entry.warrant {
                        col.cancellations.entry((index, w)).or_insert(i);
                    }
                }
                EntryKind::Setup => {
                    if let Some(p) = entry.policy {
                        col.setups.entry(index).or_default().push((i, p));
                    }
                }
                _ => {}
            }
        }
        start = frontier.size();
        bar.set_position(start);
    }
    bar.finish_and_clear();
    ta.entries = frontier.size();
    if frontier.size() == head.size && frontier.root() != head.root {
        ok = false;
        ctx.find(
            "error",
            Some(index),
            url,
            None,
            "root-mismatch",
            format!(
                "{tname}: the entries served do not hash to the root of its own signed checkpoint (size {})",
                head.size
            ),
        );
    }
    if let Some(i) = first_diff {
        ok = false;
        ctx.find(
            "error",
            Some(index),
            url,
            Some(i),
            "entry-changed",
            format!(
                "{tname}: entry {i} is not the entry seen at an earlier audit (changed, deleted, inserted or reordered from there on)"
            ),
        );
    } else if old_count > head.size && old_leaves.is_some() {
        ctx.find(
            "error",
            Some(index),
            url,
            Some(head.size),
            "entry-changed",
            format!(
                "{tname}: entries from {} on, seen at an earlier audit, are gone",
                head.size
            ),
        );
    }
    ta.log_ok = ok;
    col.heads.insert(index, (url.to_string(), head));

    // Remember what was seen, only when everything checked out (a bad log keeps the evidence).
    if let (Some(pin), Some(lp), true) = (&pin_path, &leaves_path, ok) {
        let now = io::now();
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
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(lp)
            .with_context(|| lp.display().to_string())?;
        let mut buf = Vec::with_capacity(new_leaves.len() * 32);
        for l in &new_leaves {
            buf.extend_from_slice(l.as_bytes());
        }
        f.write_all(&buf)?;
        f.sync_all()?;
        let tmp = pin.with_extension("json.tmp");
        std::fs::write(&tmp, escrow_core::codec::to_json_pretty(&p))?;
        std::fs::rename(&tmp, pin)?;
    }
    Ok(ta)
}

/// Warrants disclosed in `--warrants DIR`, by digest.
fn load_warrants(dir: &Path) -> Result<HashMap<Digest32, WarrantEnvelope>> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(dir).with_context(|| dir.display().to_string())? {
        let p = e?.path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        if let Ok(env) = WarrantEnvelope::from_json(&text) {
            out.insert(env.digest(), env);
        }
    }
    Ok(out)
}

/// Run the audit. `Err` only when it could not run at all (bad arguments, an unreachable node
/// is a finding).
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
    if let Some(s) = &a.state {
        std::fs::create_dir_all(s).with_context(|| s.display().to_string())?;
    }
    let (urls, ca) = a.net.resolve(&a.trustees)?;
    let http = Http::new(a.net.config(ca.as_deref(), a.timeout, 3)?);
    let mut ctx = Ctx {
        http: &http,
        out,
        state: a.state.as_deref(),
        findings: Vec::new(),
    };
    let mut col = Collected {
        releases: Vec::new(),
        cancellations: HashMap::new(),
        setups: HashMap::new(),
        heads: HashMap::new(),
    };
    let mut trustees = Vec::new();
    for url in &urls {
        match audit_trustee(&mut ctx, &set, policy.as_ref(), url, &mut col) {
            Ok(t) => trustees.push(t),
            Err(e) => {
                ctx.find(
                    "error",
                    None,
                    url,
                    None,
                    "unreachable",
                    format!("{url}: could not be audited: {e:#}"),
                );
                trustees.push(TrusteeAudit {
                    url: url.clone(),
                    trustee: None,
                    origin: String::new(),
                    log_key: String::new(),
                    key_pinned_now: false,
                    checkpoint: None,
                    previous_checkpoint: None,
                    entries: 0,
                    releases: 0,
                    refusals: 0,
                    cancellations: 0,
                    log_ok: false,
                });
            }
        }
    }

    // Checkpoints others saw: the same log must not look different to them.
    for path in &a.checkpoints {
        let note = io::read_text(path, "checkpoint")?;
        let origin = note.lines().next().unwrap_or("").to_string();
        let Some(t) = trustees
            .iter()
            .find(|t| !t.origin.is_empty() && t.origin == origin)
        else {
            ctx.findings.push(Finding {
                severity: "warning",
                trustee: None,
                url: None,
                entry: None,
                code: "checkpoint-unmatched",
                message: format!(
                    "{}: no audited trustee has origin {origin:?}",
                    path.display()
                ),
            });
            continue;
        };
        let (index, url, now) = (t.trustee, t.url.clone(), t.checkpoint);
        let tname = format!(
            "trustee {} ({url})",
            index.map(|i| i.to_string()).unwrap_or_default()
        );
        let other = match verify_checkpoint(&note, &t.log_key) {
            Ok(c) => c.head,
            Err(e) => {
                ctx.find(
                    "warning",
                    index,
                    &url,
                    None,
                    "checkpoint-unverified",
                    format!("{}: not a checkpoint of {tname}: {e}", path.display()),
                );
                continue;
            }
        };
        let Some(now) = now else { continue };
        let verdict = if other.size > now.size {
            Err(format!(
                "{tname} showed {} a log of {} entries; it now shows {}",
                path.display(),
                other.size,
                now.size
            ))
        } else {
            let pr = http.json(&format!(
                "{}/v1/log/proof/consistency?old={}&new={}",
                url.trim_end_matches('/'),
                other.size,
                now.size
            ));
            match pr {
                Ok(pr) => {
                    let proof = digests(pr.get("proof").unwrap_or(&serde_json::Value::Null));
                    verify_consistency(other.size, now.size, &other.root, &now.root, &proof)
                        .map_err(|e| format!("{tname}: the checkpoint in {} (size {}) and the one served now (size {}) are not views of one append-only log ({e})", path.display(), other.size, now.size))
                }
                Err(e) => Err(format!("{tname}: no consistency proof: {e:#}")),
            }
        };
        if let Err(msg) = verdict {
            ctx.find("error", index, &url, None, "split-view", msg);
        }
    }

    // Warrants: disclosed folder first, else the node's sealed copy.
    let mut envs = match &a.warrants {
        Some(d) => load_warrants(d)?,
        None => HashMap::new(),
    };
    let wanted: BTreeSet<(Digest32, String)> = col
        .releases
        .iter()
        .filter_map(|r| r.entry.warrant.map(|w| (w, r.url.to_string())))
        .collect();
    for (w, url) in wanted {
        if envs.contains_key(&w) {
            continue;
        }
        let u = format!(
            "{}/v1/log/envelope?digest={}",
            url.trim_end_matches('/'),
            w.to_hex()
        );
        if let Ok((200, text)) = http.get(&u)
            && let Ok(env) = WarrantEnvelope::from_json(&text)
            && env.digest() == w
        {
            envs.insert(w, env);
        }
    }

    // Judge every release.
    let mut summaries: BTreeMap<Digest32, WarrantSummary> = BTreeMap::new();
    let mut per_trustee_count: HashMap<(u16, Digest32), BTreeSet<Digest32>> = HashMap::new();
    // A warrant's verdict depends only on the warrant and the time judged at; a batch of
    // releases shares both, so each (warrant, second) is verified once (two ECDSA checks).
    type Verdict = Result<(Digest32, Option<u64>), String>;
    let mut verdicts: HashMap<(Digest32, Timestamp), Verdict> = HashMap::new();
    let mut parsed: HashSet<Digest32> = HashSet::new();
    let mut releases = Vec::new();
    let mut holders: BTreeMap<(Digest32, Digest32), BTreeMap<u16, Timestamp>> = BTreeMap::new();
    // In time order, through an index (a copy of every release would double the memory).
    let mut order: Vec<usize> = (0..col.releases.len()).collect();
    order.sort_by_key(|&i| {
        col.releases
            .get(i)
            .map(|r| (r.entry.time, r.trustee, r.entry.sequence))
    });
    for r in order.iter().filter_map(|&i| col.releases.get(i)) {
        let e = &r.entry;
        let warrant = e.warrant.unwrap_or(Digest32([0; 32]));
        let sum = summaries.entry(warrant).or_insert_with(|| WarrantSummary {
            digest: warrant,
            ..WarrantSummary::default()
        });
        sum.releases += 1;
        let mut why: Vec<String> = Vec::new();
        let ct = e.ciphertexts.first().copied().unwrap_or(Digest32([0; 32]));
        if e.warrant.is_none() || e.ciphertexts.len() != 1 || e.shares.len() != 1 {
            why.push("malformed release entry".into());
        }
        match (envs.get(&warrant), policy.as_ref()) {
            (None, _) => why.push(
                "no warrant with this digest was disclosed (not in --warrants, not served by the node)"
                    .into(),
            ),
            (Some(_), None) => why.push("no --policy given: the warrant cannot be judged".into()),
            (Some(env), Some(p)) => {
                if parsed.insert(warrant)
                    && let Ok(w) = escrow_core::warrant::Warrant::parse(env)
                {
                    let pl = w.payload();
                    sum.warrant_id = Some(pl.warrant_id.clone());
                    sum.authority = Some(pl.issuing_authority.clone());
                    sum.warrant_type = Some(pl.warrant_type.clone());
                    sum.max_releases = pl.max_releases;
                }
                let trustee_policy = col
                    .setups
                    .get(&r.trustee)
                    .and_then(|s| s.iter().rev().find(|(seq, _)| *seq < e.sequence))
                    .map(|(_, d)| *d);
                if trustee_policy.is_some_and(|d| d != p.digest()) {
                    why.push(format!(
                        "the trustee ran another policy at the time ({}); judged under --policy",
                        trustee_policy.map(|d| d.short()).unwrap_or_default()
                    ));
                }
                let verdict = verdicts
                    .entry((warrant, e.time))
                    .or_insert_with(|| {
                        p.verify(env, e.time, &|_| false)
                            .map(|vw| (vw.investigator().key_id(), vw.max_releases()))
                            .map_err(|r| r.to_string())
                    })
                    .clone();
                match verdict {
                    Ok((investigator, max_releases)) => {
                        if e.investigator != Some(investigator) {
                            why.push(
                                "shares were encrypted to another investigator than the warrant names"
                                    .into(),
                            );
                        }
                        let seen = per_trustee_count.entry((r.trustee, warrant)).or_default();
                        seen.insert(ct);
                        if let Some(max) = max_releases
                            && seen.len() as u64 > max
                        {
                            why.push(format!(
                                "release limit exceeded: message {} of at most {max}",
                                seen.len()
                            ));
                        }
                    }
                    Err(refusal) => why.push(format!(
                        "the warrant does not verify under the policy at {}: {refusal}",
                        e.time
                    )),
                }
            }
        }
        if let Some(c) = col.cancellations.get(&(r.trustee, warrant))
            && *c < e.sequence
        {
            sum.cancelled = true;
            why.push(format!(
                "released after the cancellation logged at entry {c}"
            ));
        }
        let justified = why.is_empty();
        if !justified {
            sum.unjustified += 1;
            ctx.find(
                "error",
                Some(r.trustee),
                &r.url,
                Some(e.sequence),
                "unjustified-release",
                format!(
                    "trustee {} entry {}: release of ciphertext {} under warrant {} NOT JUSTIFIED: {}",
                    r.trustee,
                    e.sequence,
                    ct.short(),
                    warrant.short(),
                    why.join("; ")
                ),
            );
        }
        holders
            .entry((warrant, ct))
            .or_default()
            .entry(r.trustee)
            .or_insert(e.time);
        releases.push(ReleaseView {
            trustee: r.trustee,
            entry: e.sequence,
            time: e.time,
            warrant,
            ciphertext: ct,
            justified,
            why_not: (!justified).then(|| why.join("; ")),
        });
    }
    for (_, w) in col.cancellations.keys() {
        if let Some(s) = summaries.get_mut(w) {
            s.cancelled = true;
        }
    }

    // Which messages became readable.
    let k = usize::from(set.threshold());
    let mut readable = Vec::new();
    let mut per_authority: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_period: BTreeMap<String, u64> = BTreeMap::new();
    for ((w, ct), who) in &holders {
        let sum = summaries.get_mut(w);
        if let Some(s) = sum {
            s.messages_released += 1;
            if who.len() >= k {
                s.messages_readable += 1;
            }
        }
        if who.len() >= k {
            let mut times: Vec<Timestamp> = who.values().copied().collect();
            times.sort();
            let since = times
                .get(k.saturating_sub(1))
                .copied()
                .unwrap_or(Timestamp(0));
            let auth = summaries
                .get(w)
                .and_then(|s| s.authority.clone())
                .unwrap_or_else(|| "(warrant not disclosed)".into());
            *per_authority.entry(auth).or_default() += 1;
            let period = since.to_rfc3339().get(..7).unwrap_or("?").to_string();
            *per_period.entry(period).or_default() += 1;
            readable.push(ReadableMessage {
                warrant: *w,
                ciphertext: *ct,
                trustees: who.keys().copied().collect(),
                readable_since: since,
            });
        }
    }

    // Receipts: every receipt's leaf is in its trustee's log under the checkpoint.
    let mut receipts_checked = 0u64;
    let rel_index: HashMap<(u16, u64), &Rel> = col
        .releases
        .iter()
        .map(|r| ((r.trustee, r.entry.sequence), r))
        .collect();
    for path in &a.receipts {
        let f = std::fs::File::open(path).with_context(|| path.display().to_string())?;
        for (lineno, line) in std::io::BufReader::new(f).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let here = format!("{}:{}", path.display(), lineno + 1);
            let resp = match ReleaseResponse::from_json(&line) {
                Ok(r) => r,
                Err(e) => {
                    ctx.findings.push(receipt_finding(
                        None,
                        None,
                        format!("{here}: not a receipt: {e}"),
                    ));
                    continue;
                }
            };
            if let Err(e) = resp.verify(&set) {
                ctx.findings.push(receipt_finding(
                    Some(resp.trustee),
                    None,
                    format!("{here}: receipt signature does not verify: {e}"),
                ));
                continue;
            }
            let Some((url, head)) = col.heads.get(&resp.trustee).cloned() else {
                ctx.findings.push(Finding {
                    severity: "warning",
                    trustee: Some(resp.trustee),
                    url: None,
                    entry: None,
                    code: "receipt-unchecked",
                    message: format!("{here}: trustee {} was not audited", resp.trustee),
                });
                continue;
            };
            for res in &resp.results {
                let ReleaseResult::Released {
                    ciphertext,
                    leaf_index,
                    ..
                } = res
                else {
                    continue;
                };
                let msg = match check_receipt(
                    &http,
                    &url,
                    &head,
                    *leaf_index,
                    rel_index.get(&(resp.trustee, *leaf_index)).copied(),
                    &resp.warrant,
                    ciphertext,
                ) {
                    Ok(()) => {
                        receipts_checked += 1;
                        continue;
                    }
                    Err(e) => e,
                };
                ctx.findings.push(receipt_finding(
                    Some(resp.trustee),
                    Some(*leaf_index),
                    format!(
                        "{here}: trustee {} receipt for entry {leaf_index}: {msg}",
                        resp.trustee
                    ),
                ));
            }
        }
    }

    Ok(AuditReport {
        set_id: set.id(),
        threshold: set.threshold(),
        trustees_total: set.trustees(),
        time: io::now(),
        policy: policy.as_ref().map(|p| p.digest()),
        trustees,
        warrants: summaries.into_values().collect(),
        per_authority,
        per_period,
        releases,
        readable,
        receipts_checked,
        findings: ctx.findings,
        what_is_not_checked: NOT_CHECKED.to_vec(),
    })
}

fn receipt_finding(trustee: Option<u16>, entry: Option<u64>, message: String) -> Finding {
    Finding {
        severity: "error",
        trustee,
        url: None,
        entry,
        code: "receipt-not-in-log",
        message,
    }
}

fn check_receipt(
    http: &Http,
    url: &str,
    head: &TreeHead,
    index: u64,
    rel: Option<&Rel>,
    warrant: &Digest32,
    ciphertext: &Digest32,
) -> std::result::Result<(), String> {
    let Some(rel) = rel else {
        return Err("no release entry at that index in the audited log".into());
    };
    if rel.entry.warrant.as_ref() != Some(warrant)
        || rel.entry.ciphertexts.first() != Some(ciphertext)
    {
        return Err("the log entry at that index is a release of something else".into());
    }
    let pr = http
        .json(&format!(
            "{}/v1/log/proof/inclusion?index={index}&size={}",
            url.trim_end_matches('/'),
            head.size
        ))
        .map_err(|e| format!("{e:#}"))?;
    let proof = digests(pr.get("proof").unwrap_or(&serde_json::Value::Null));
    verify_inclusion(&rel.leaf, index, head.size, &proof, &head.root).map_err(|e| e.to_string())
}

/// What the auditor cannot check (also in docs/audit.md).
const NOT_CHECKED: [&str; 4] = [
    "scope: the log holds ciphertext digests, not labels, so the auditor cannot re-check that a released message was in the warrant's scope (each trustee checked it; an investigator's disclosed labels can be checked separately)",
    "k trustees that collude and rewrite all their logs before any auditor or witness saw a checkpoint",
    "a trustee that releases without ever logging (its receipt-less shares leave no trace here)",
    "metadata: who asked, from where, and the traffic pattern are not in the log",
];

fn text_report(r: &AuditReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "audit of trustee set {} ({}-of-{}) at {}",
        r.set_id.short(),
        r.threshold,
        r.trustees_total,
        r.time
    );
    let _ = writeln!(s, "logs:");
    for t in &r.trustees {
        let cp = t
            .checkpoint
            .map(|c| format!("size {} root {}", c.size, c.root.short()))
            .unwrap_or_else(|| "no verified checkpoint".into());
        let prev = t
            .previous_checkpoint
            .map(|c| format!(", consistent with size {} seen before", c.size))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  trustee {} {}: {} — {}{}; {} entries, {} releases, {} refusals, {} cancellations{}",
            t.trustee
                .map(|i| i.to_string())
                .unwrap_or_else(|| "?".into()),
            t.url,
            if t.log_ok { "OK" } else { "FAILED" },
            cp,
            if t.log_ok { prev } else { String::new() },
            t.entries,
            t.releases,
            t.refusals,
            t.cancellations,
            if t.key_pinned_now {
                " (log key pinned now: trust on first use)"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(s, "warrants:");
    for w in &r.warrants {
        let _ = writeln!(
            s,
            "  {} {} [{}]: {} release entries, {} messages released, {} READABLE (k={}), {} unjustified{}",
            w.warrant_id
                .clone()
                .unwrap_or_else(|| "(not disclosed)".into()),
            w.digest.short(),
            w.authority.clone().unwrap_or_default(),
            w.releases,
            w.messages_released,
            w.messages_readable,
            r.threshold,
            w.unjustified,
            if w.cancelled { ", cancelled" } else { "" }
        );
    }
    if r.warrants.is_empty() {
        let _ = writeln!(s, "  (no releases)");
    }
    let _ = writeln!(s, "readable messages: {}", r.readable.len());
    for (a, n) in &r.per_authority {
        let _ = writeln!(s, "  by authority: {a}: {n}");
    }
    for (p, n) in &r.per_period {
        let _ = writeln!(s, "  by period: {p}: {n}");
    }
    if r.receipts_checked > 0 {
        let _ = writeln!(
            s,
            "receipts: {} proved included in their trustee's log",
            r.receipts_checked
        );
    }
    let unjust = r
        .findings
        .iter()
        .filter(|f| f.code == "unjustified-release")
        .count();
    let _ = writeln!(s, "unjustified releases: {unjust}");
    if r.findings.is_empty() {
        let _ = writeln!(s, "findings: none");
    } else {
        let _ = writeln!(s, "findings:");
        for f in &r.findings {
            let _ = writeln!(
                s,
                "  {}: [{}] {}",
                f.severity.to_uppercase(),
                f.code,
                f.message
            );
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The self-contained HTML page: summary statistics, per-trustee logs, timelines.
pub fn html_report(r: &AuditReport) -> String {
    use std::fmt::Write as _;
    let mut h = String::new();
    let unjust = r
        .findings
        .iter()
        .filter(|f| f.code == "unjustified-release")
        .count();
    let integrity = r
        .findings
        .iter()
        .filter(|f| f.severity == "error" && f.code != "unjustified-release")
        .count();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Escrow transparency report</title>
<style>
body{{font-family:Georgia,serif;max-width:1100px;margin:2em auto;color:#1b1b1b;background:#fff;padding:0 1em}}
h1{{border-bottom:4px solid #1d3557;padding-bottom:.3em}} h2{{color:#1d3557;margin-top:1.6em}}
.cards{{display:flex;gap:1em;flex-wrap:wrap}} .card{{flex:1;min-width:150px;border:1px solid #ccd;border-radius:6px;padding:.8em;background:#f6f8fb}}
.card b{{display:block;font-size:2em;font-family:Helvetica,Arial,sans-serif}} .bad b{{color:#b00020}} .good b{{color:#2a7a2a}}
table{{border-collapse:collapse;width:100%;font-family:Helvetica,Arial,sans-serif;font-size:.9em}} th,td{{border-bottom:1px solid #dde;padding:.35em .5em;text-align:left}} th{{background:#eef2f7}}
.ok{{color:#2a7a2a;font-weight:bold}} .fail{{color:#b00020;font-weight:bold}} .note{{color:#555;font-size:.9em}}
code{{font-size:.85em}}
</style></head><body>
<h1>Exceptional access: transparency report</h1>
<p class="note">Trustee set <code>{}</code> ({}-of-{}), audited {}. Policy <code>{}</code>. In the spirit of the Investigatory Powers Commissioner's annual statistics: what was opened, under which warrant, by whom, and what was not justified.</p>
<div class="cards">
<div class="card"><b>{}</b>warrants with releases</div>
<div class="card"><b>{}</b>messages made readable</div>
<div class="card"><b>{}</b>release log entries</div>
<div class="card {}"><b>{}</b>unjustified releases</div>
<div class="card {}"><b>{}</b>log integrity failures</div>
</div>
"#,
        r.set_id.short(),
        r.threshold,
        r.trustees_total,
        esc(&r.time.to_string()),
        r.policy
            .map(|p| p.short())
            .unwrap_or_else(|| "not given".into()),
        r.warrants.len(),
        r.readable.len(),
        r.releases.len(),
        if unjust > 0 { "bad" } else { "good" },
        unjust,
        if integrity > 0 { "bad" } else { "good" },
        integrity,
    );
    let _ = write!(
        h,
        "<h2>Trustee logs</h2><table><tr><th>Trustee</th><th>Log</th><th>Checkpoint</th><th>Entries</th><th>Releases</th><th>Refusals</th><th>Cancellations</th></tr>"
    );
    for t in &r.trustees {
        let _ = write!(
            h,
            "<tr><td>{} <span class=note>{}</span></td><td class={}>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            t.trustee
                .map(|i| i.to_string())
                .unwrap_or_else(|| "?".into()),
            esc(&t.url),
            if t.log_ok { "ok" } else { "fail" },
            if t.log_ok { "verified" } else { "FAILED" },
            t.checkpoint
                .map(|c| format!("{} @ {}", c.size, c.root.short()))
                .unwrap_or_default(),
            t.entries,
            t.releases,
            t.refusals,
            t.cancellations
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<h2>Warrants</h2><table><tr><th>Warrant</th><th>Authority</th><th>Type</th><th>Limit</th><th>Messages released</th><th>Readable</th><th>Unjustified</th><th>Cancelled</th></tr>"
    );
    for w in &r.warrants {
        let _ = write!(
            h,
            "<tr><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class={}>{}</td><td>{}</td></tr>",
            esc(w.warrant_id.as_deref().unwrap_or("(not disclosed)")),
            w.digest.short(),
            esc(w.authority.as_deref().unwrap_or("")),
            esc(w.warrant_type.as_deref().unwrap_or("")),
            w.max_releases
                .map(|m| m.to_string())
                .unwrap_or_else(|| "—".into()),
            w.messages_released,
            w.messages_readable,
            if w.unjustified > 0 { "fail" } else { "ok" },
            w.unjustified,
            if w.cancelled { "yes" } else { "no" }
        );
    }
    h.push_str("</table>");
    h.push_str("<h2>Timeline of releases</h2><p class=note>One row per warrant, then one per trustee. Green: justified; red: not justified.</p>");
    h.push_str(&timeline_svg(r));
    let _ = write!(
        h,
        "<h2>Readable messages by authority and period</h2><table><tr><th>Issuing authority</th><th>Messages</th></tr>"
    );
    for (a, n) in &r.per_authority {
        let _ = write!(h, "<tr><td>{}</td><td>{n}</td></tr>", esc(a));
    }
    h.push_str("</table><br><table><tr><th>Period</th><th>Messages</th></tr>");
    for (p, n) in &r.per_period {
        let _ = write!(h, "<tr><td>{}</td><td>{n}</td></tr>", esc(p));
    }
    h.push_str("</table><h2>Findings</h2>");
    if r.findings.is_empty() {
        h.push_str("<p class=ok>None: every log verified and every release was justified.</p>");
    } else {
        h.push_str("<table><tr><th>Severity</th><th>Code</th><th>Trustee</th><th>Entry</th><th>Finding</th></tr>");
        for f in &r.findings {
            let _ = write!(
                h,
                "<tr><td class={}>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if f.severity == "error" {
                    "fail"
                } else {
                    "note"
                },
                f.severity,
                f.code,
                f.trustee.map(|t| t.to_string()).unwrap_or_default(),
                f.entry.map(|t| t.to_string()).unwrap_or_default(),
                esc(&f.message)
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>What this audit cannot show</h2><ul>");
    for n in &r.what_is_not_checked {
        let _ = write!(h, "<li>{}</li>", esc(n));
    }
    h.push_str("</ul></body></html>\n");
    h
}

fn timeline_svg(r: &AuditReport) -> String {
    use std::fmt::Write as _;
    let mut rows: Vec<(String, Vec<&ReleaseView>)> = Vec::new();
    for w in &r.warrants {
        let name = format!(
            "warrant {}",
            w.warrant_id.clone().unwrap_or_else(|| w.digest.short())
        );
        rows.push((
            name,
            r.releases
                .iter()
                .filter(|x| x.warrant == w.digest)
                .collect(),
        ));
    }
    let mut ts: BTreeSet<u16> = r.releases.iter().map(|x| x.trustee).collect();
    ts.extend(r.trustees.iter().filter_map(|t| t.trustee));
    for t in ts {
        rows.push((
            format!("trustee {t}"),
            r.releases.iter().filter(|x| x.trustee == t).collect(),
        ));
    }
    let (w, left, row_h) = (1000i64, 220i64, 28i64);
    let height = 40 + row_h * i64::try_from(rows.len()).unwrap_or(0);
    let t0 = r.releases.iter().map(|x| x.time.unix()).min().unwrap_or(0);
    let t1 = r.releases.iter().map(|x| x.time.unix()).max().unwrap_or(0);
    let span = (t1 - t0).max(1);
    let x_of = |t: i64| {
        if t1 == t0 {
            // everything in the same second: one column in the middle
            left + (w - left) / 2
        } else {
            left + 10 + (t - t0) * (w - left - 30) / span
        }
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {w} {height}" font-family="Helvetica,Arial,sans-serif" font-size="12">"#
    );
    for (i, (name, items)) in rows.iter().enumerate() {
        let y = 20 + row_h * i64::try_from(i).unwrap_or(0);
        let _ = write!(
            s,
            r##"<rect x="0" y="{}" width="{w}" height="{row_h}" fill="{}"/><text x="6" y="{}">{}</text><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#bbb"/>"##,
            y,
            if i % 2 == 0 { "#f6f8fb" } else { "#ffffff" },
            y + 18,
            esc(name),
            y + 14,
            w - 10,
            y + 14
        );
        for x in items {
            let _ = write!(
                s,
                r##"<circle cx="{}" cy="{}" r="5" fill="{}" fill-opacity="0.8"><title>trustee {} entry {} at {}: ciphertext {}{}</title></circle>"##,
                x_of(x.time.unix()),
                y + 14,
                if x.justified { "#2a7a2a" } else { "#b00020" },
                x.trustee,
                x.entry,
                esc(&x.time.to_string()),
                x.ciphertext.short(),
                if x.justified {
                    ""
                } else {
                    " — NOT JUSTIFIED"
                }
            );
        }
    }
    let yb = height - 6;
    let _ = write!(
        s,
        r##"<text x="{left}" y="{yb}" fill="#555">{}</text><text x="{}" y="{yb}" fill="#555" text-anchor="end">{}</text></svg>"##,
        esc(&Timestamp(t0).to_string()),
        w - 10,
        esc(&Timestamp(t1).to_string())
    );
    s
}

/// `escrow audit`.
pub fn audit(a: AuditArgs, out: Out) -> Result<()> {
    let report = run(&a, out)?;
    if let Some(p) = &a.html {
        io::write_public(p, html_report(&report).as_bytes())?;
    }
    if out.json {
        // Streamed: the report of a large log is hundreds of megabytes; a `Value` tree of it
        // would take several times that.
        let stdout = std::io::stdout();
        let mut w = std::io::BufWriter::new(stdout.lock());
        serde_json::to_writer(&mut w, &report)?;
        writeln!(w)?;
        w.flush()?;
    } else {
        out.emit(&text_report(&report), serde_json::Value::Null);
    }
    let errors = report.errors();
    if errors > 0 {
        return Err(Reported::refused(format!(
            "audit found {errors} problem(s): see the findings"
        )));
    }
    Ok(())
}

/// The report as text (for `escrow demo`).
pub fn report_text(r: &AuditReport) -> String {
    text_report(r)
}
