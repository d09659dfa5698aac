//! `escrow audit`: fetch every trustee's transparency log and report what it shows.
//!
//! This file fetches and formats only; every decision is `escrow_core::audit::judge`
//! ([`LogCheck`] per log, [`Judge`] over all of them). Per trustee: fetch `/v1/info`, pin its
//! Ed25519 log key on first sight (`--state`), fetch and verify the signed checkpoint, check it
//! against the checkpoint saved on the last run, stream every entry page by page (each page
//! parsed as a stream: no page size can stop the audit), then judge every release. A trustee
//! that cannot be reached is "not audited", and every count that depends on it is a lower
//! bound. See docs/audit.md.

use crate::Reported;
use crate::io::{self, Out};
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use escrow_core::audit::judge::{
    Documents, Finding, FindingGroup, FindingKind, Judge, LogCheck, ReadableMessage, RefusalView,
    ReleaseJudgement, Severity, WarrantSummary, check_consistency, group_findings,
};
use escrow_core::audit::{EntryKind, TreeHead, verify_checkpoint, verify_inclusion};
use escrow_core::codec::Digest32;
use escrow_core::release::{ReleaseResponse, ReleaseResult};
use escrow_core::time::Timestamp;
use escrow_core::trustee::TrusteeSet;
use escrow_core::warrant::{CancellationEnvelope, Policy, WarrantEnvelope};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
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
    /// Write a self-contained HTML report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
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
    /// Exit 1 unless every trustee of the set could be audited.
    #[arg(long)]
    pub require_all: bool,
    /// Network timeout per request, seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// Entries per page asked of a node (it may serve fewer).
const PAGE: u64 = 1000;

/// How far the audit of one trustee got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogStatus {
    /// Every check of the log passed.
    Verified,
    /// The log was read and something is wrong with it (see the findings).
    Failed,
    /// The trustee could not be reached or read: nothing is known about its log.
    NotAudited,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrusteeAudit {
    pub url: String,
    pub trustee: Option<u16>,
    pub status: LogStatus,
    /// Why it was not audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_audited: Option<String>,
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

impl TrusteeAudit {
    fn not_audited(url: &str, why: String) -> Self {
        TrusteeAudit {
            url: url.to_string(),
            trustee: None,
            status: LogStatus::NotAudited,
            not_audited: Some(why),
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
        }
    }
}

/// Refusals counted by reason code.
#[derive(Debug, Clone, Serialize)]
pub struct RefusalCount {
    pub reason: String,
    pub entries: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub set_id: Digest32,
    pub threshold: u16,
    pub trustees_total: u16,
    pub time: Timestamp,
    pub policy: Option<Digest32>,
    /// Logs audited (of `trustees_total`).
    pub logs_audited: u16,
    /// Fewer than every trustee's log was audited: every count below is a lower bound.
    pub lower_bounds: bool,
    pub trustees: Vec<TrusteeAudit>,
    pub warrants: Vec<WarrantSummary>,
    /// Readable messages per issuing authority.
    pub per_authority: BTreeMap<String, u64>,
    /// Readable messages per month (of the k-th release).
    pub per_period: BTreeMap<String, u64>,
    pub releases: Vec<ReleaseJudgement>,
    pub readable: Vec<ReadableMessage>,
    /// Every refusal entry: trustee, entry, time, reason code, warrant digest.
    pub refusals: Vec<RefusalView>,
    pub refusals_by_reason: Vec<RefusalCount>,
    pub receipts_checked: u64,
    /// The findings grouped by kind and trustee (count and first entries).
    pub finding_groups: Vec<FindingGroup>,
    pub findings: Vec<Finding>,
    pub what_is_not_checked: Vec<&'static str>,
}

impl AuditReport {
    /// Integrity failures, unjustified releases, cheating trustees found.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
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

    /// A warrant envelope by digest, asked with a request signed by `key` (`docs/api.md`
    /// §2.1, §3.9); `None` when the node does not serve it.
    fn envelope(
        &self,
        url: &str,
        digest: &Digest32,
        key: &escrow_core::keys::PrivateKey,
    ) -> Option<String> {
        let client = escrow_client::NodeClient::new(url.trim_end_matches('/'), &self.cfg).ok()?;
        client.envelope(digest, key).ok().flatten()
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

    /// A log page, streamed through the node client: `each` sees every entry as it is parsed;
    /// no limit on the page's size (only on one entry's).
    fn page(
        &self,
        base: &str,
        start: u64,
        end: u64,
        each: &mut dyn FnMut(escrow_core::audit::page::ServedEntry),
    ) -> Result<u64> {
        let client = escrow_client::NodeClient::new(base, &self.cfg)?;
        client
            .entries_streamed(start, end, each)
            .map_err(|e| anyhow!("{e}"))
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

struct Ctx<'a> {
    http: &'a Http,
    out: Out,
    state: Option<&'a Path>,
    findings: Vec<Finding>,
    judge: Judge,
    /// trustee -> (url, checkpoint head), for the audited logs.
    heads: HashMap<u16, (String, TreeHead)>,
}

impl Ctx<'_> {
    fn find(&mut self, mut f: Finding, url: &str) {
        f.url = Some(url.to_string());
        self.findings.push(f);
    }
}

/// Audit one trustee's log. Integrity problems become findings; `Err` means the trustee could
/// not be audited (unreachable, not of this set, stopped answering).
fn audit_trustee(
    ctx: &mut Ctx<'_>,
    set: &TrusteeSet,
    policy: Option<&Policy>,
    url: &str,
    ta: &mut TrusteeAudit,
) -> Result<()> {
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
    if ctx.heads.contains_key(&index) {
        bail!("{tname} was already audited under another URL");
    }
    ta.trustee = Some(index);
    if let Some(p) = policy {
        let pd = info
            .get("policy_digest")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        if pd != p.digest().to_hex() {
            ctx.find(
                Finding::new(
                    FindingKind::PolicyDiffers,
                    Some(index),
                    None,
                    format!(
                        "{tname} now runs policy {}, not the --policy given ({}): its releases are judged under --policy",
                        pd.get(..16).unwrap_or(pd),
                        p.digest().short()
                    ),
                ),
                url,
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
            ta.key_pinned_now = ctx.state.is_some();
            served_key.clone()
        }
    };
    ta.origin = origin.clone();
    ta.log_key = log_key.clone();
    ta.previous_checkpoint = pinned.as_ref().and_then(|p| p.checkpoint);
    ta.status = LogStatus::Failed;

    let note = ctx.http.get_ok(&format!("{base}/v1/log/checkpoint"))?;
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
    let earlier = ta.previous_checkpoint.map(|c| c.size).unwrap_or(0);
    let mut check = LogCheck::new(index, head, earlier);

    // Append-only against the checkpoint seen on the last run.
    if let Some(old) = ta.previous_checkpoint {
        let proof = if old.size <= head.size {
            let pr = ctx.http.json(&format!(
                "{base}/v1/log/proof/consistency?old={}&new={}",
                old.size, head.size
            ))?;
            digests(pr.get("proof").unwrap_or(&serde_json::Value::Null))
        } else {
            Vec::new()
        };
        if let Some(f) = check_consistency(index, &old, &head, &proof) {
            let mut f = f;
            f.url = Some(url.to_string());
            check.fail(f);
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
    let earlier_kept = old_leaves.is_some();
    let mut new_leaves: Vec<Digest32> = Vec::new();
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
    let judge = &mut ctx.judge;
    while check.remaining() > 0 {
        let start = check.next_index();
        let end = head.size.min(start.saturating_add(PAGE));
        let got = ctx.http.page(base, start, end, &mut |served| {
            if check.remaining() == 0 {
                return;
            }
            let i = check.next_index();
            let earlier_leaf = if i < earlier {
                old_leaves.as_mut().and_then(|r| {
                    let mut buf = [0u8; 32];
                    r.read_exact(&mut buf).ok().map(|()| Digest32(buf))
                })
            } else {
                None
            };
            let earlier_leaf = match (i < earlier, earlier_leaf, old_leaves.is_some()) {
                // the earlier leaves file is shorter than the earlier checkpoint
                (true, None, true) => Some(Digest32([0; 32])),
                (_, l, _) => l,
            };
            let (leaf, entry) = check.push(&served.bytes, served.leaf_hash, earlier_leaf);
            if i >= earlier {
                new_leaves.push(leaf);
            }
            if let Some(e) = entry {
                match e.kind {
                    EntryKind::Release => ta.releases += 1,
                    EntryKind::Refusal => ta.refusals += 1,
                    EntryKind::Cancellation => ta.cancellations += 1,
                    _ => {}
                }
                judge.add(index, e);
            }
        })?;
        if got == 0 || check.next_index() == start {
            check.missing();
            break;
        }
        bar.set_position(check.next_index());
    }
    bar.finish_and_clear();
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

    // Remember what was seen, only when everything checked out (a bad log keeps the evidence).
    if let (Some(pin), Some(lp), true) = (&pin_path, &leaves_path, verdict.ok) {
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
    Ok(())
}

/// Warrants and cancellations disclosed in `--warrants DIR`, by digest.
fn load_documents(dir: &Path, docs: &mut Documents) -> Result<()> {
    for e in std::fs::read_dir(dir).with_context(|| dir.display().to_string())? {
        let p = e?.path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&p) else {
            continue;
        };
        if let Ok(env) = WarrantEnvelope::from_json(&text)
            && escrow_core::warrant::Warrant::parse(&env).is_ok()
        {
            docs.add_warrant(env);
        } else if let Ok(env) = CancellationEnvelope::from_json(&text) {
            docs.add_cancellation(env);
        }
    }
    Ok(())
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
    if let Some(s) = &a.state {
        std::fs::create_dir_all(s).with_context(|| s.display().to_string())?;
    }
    let mut docs = Documents::default();
    if let Some(d) = &a.warrants {
        load_documents(d, &mut docs)?;
    }
    let (urls, ca) = a.net.resolve(&a.trustees)?;
    let http = Http::new(a.net.config(ca.as_deref(), a.timeout, 3)?);
    let mut ctx = Ctx {
        http: &http,
        out,
        state: a.state.as_deref(),
        findings: Vec::new(),
        judge: Judge::new(&set, policy.clone()),
        heads: HashMap::new(),
    };
    let mut trustees = Vec::new();
    for url in &urls {
        let mut ta = TrusteeAudit::not_audited(url, String::new());
        match audit_trustee(&mut ctx, &set, policy.as_ref(), url, &mut ta) {
            Ok(()) => ta.not_audited = None,
            Err(e) => {
                // A log read in part is not audited either; what was read still counts (as a
                // lower bound).
                ta.status = LogStatus::NotAudited;
                ta.log_ok = false;
                ta.not_audited = Some(format!("{e:#}"));
                if let Some(i) = ta.trustee {
                    ctx.heads.remove(&i);
                }
            }
        }
        trustees.push(ta);
    }
    let audited: BTreeSet<u16> = trustees
        .iter()
        .filter(|t| t.status != LogStatus::NotAudited)
        .filter_map(|t| t.trustee)
        .collect();
    let logs_audited = u16::try_from(audited.len()).unwrap_or(u16::MAX);

    // Checkpoints others saw: the same log must not look different to them.
    for path in &a.checkpoints {
        let note = io::read_text(path, "checkpoint")?;
        let origin = note.lines().next().unwrap_or("").to_string();
        let Some(t) = trustees
            .iter()
            .find(|t| !t.origin.is_empty() && t.origin == origin)
        else {
            ctx.findings.push(Finding::new(
                FindingKind::CheckpointUnmatched,
                None,
                None,
                format!(
                    "{}: no audited trustee has origin {origin:?}",
                    path.display()
                ),
            ));
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
                    Finding::new(
                        FindingKind::CheckpointUnverified,
                        index,
                        None,
                        format!("{}: not a checkpoint of {tname}: {e}", path.display()),
                    ),
                    &url,
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
                    match check_consistency(index.unwrap_or(0), &other, &now, &proof) {
                        None => Ok(()),
                        Some(f) => Err(format!(
                            "{tname}: the checkpoint in {} (size {}) and the one served now (size {}) are not views of one append-only log ({})",
                            path.display(),
                            other.size,
                            now.size,
                            f.message
                        )),
                    }
                }
                Err(e) => Err(format!("{tname}: no consistency proof: {e:#}")),
            }
        };
        if let Err(msg) = verdict {
            ctx.find(Finding::new(FindingKind::SplitView, index, None, msg), &url);
        }
    }

    // Documents: the disclosed folder first, else the node's copy.
    let urls: HashMap<u16, String> = trustees
        .iter()
        .filter_map(|t| t.trustee.map(|i| (i, t.url.clone())))
        .collect();
    let oversight = match &a.oversight_key {
        Some(p) => Some(crate::cmd_keys::load_private(p)?),
        None => None,
    };
    for (t, d) in ctx.judge.wanted() {
        if docs.warrants.contains_key(&d) || docs.cancellations.contains_key(&d) {
            continue;
        }
        let Some(url) = urls.get(&t) else { continue };
        // The nodes disclose warrant text only to a request signed by an oversight key.
        let Some(key) = &oversight else { continue };
        if let Some(text) = http.envelope(url, &d, key) {
            if let Ok(env) = WarrantEnvelope::from_json(&text)
                && env.digest() == d
                && escrow_core::warrant::Warrant::parse(&env).is_ok()
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
    for path in &a.receipts {
        receipts_checked += check_receipts(&mut ctx, &http, &set, path)?;
    }

    // Judge every release.
    let judge = std::mem::replace(&mut ctx.judge, Judge::new(&set, None));
    let j = judge.judge(&docs);
    for mut f in j.findings {
        f.url = f.trustee.and_then(|t| urls.get(&t).cloned());
        ctx.findings.push(f);
    }
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for r in &j.refusals {
        *by_reason.entry(r.reason.clone()).or_default() += 1;
    }
    let findings = ctx.findings;
    Ok(AuditReport {
        set_id: set.id(),
        threshold: set.threshold(),
        trustees_total: set.trustees(),
        time: io::now(),
        policy: policy.as_ref().map(|p| p.digest()),
        logs_audited,
        lower_bounds: logs_audited < set.trustees(),
        trustees,
        warrants: j.warrants,
        per_authority: j.per_authority,
        per_period: j.per_period,
        releases: j.releases,
        readable: j.readable,
        refusals: j.refusals,
        refusals_by_reason: by_reason
            .into_iter()
            .map(|(reason, entries)| RefusalCount { reason, entries })
            .collect(),
        receipts_checked,
        finding_groups: group_findings(&findings),
        findings,
        what_is_not_checked: NOT_CHECKED.to_vec(),
    })
}

/// Check one `receipts.jsonl` (and the `summary.json` beside it); returns the receipts proved.
fn check_receipts(ctx: &mut Ctx<'_>, http: &Http, set: &TrusteeSet, path: &Path) -> Result<u64> {
    let mut checked = 0u64;
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
                ctx.findings.push(Finding::new(
                    FindingKind::ReceiptNotInLog,
                    None,
                    None,
                    format!("{here}: not a receipt: {e}"),
                ));
                continue;
            }
        };
        if let Err(e) = resp.verify(set) {
            ctx.findings.push(Finding::new(
                FindingKind::ReceiptNotInLog,
                Some(resp.trustee),
                None,
                format!("{here}: receipt signature does not verify: {e}"),
            ));
            continue;
        }
        let Some((url, head)) = ctx.heads.get(&resp.trustee).cloned() else {
            ctx.findings.push(Finding::new(
                FindingKind::ReceiptUnchecked,
                Some(resp.trustee),
                None,
                format!("{here}: trustee {} was not audited", resp.trustee),
            ));
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
            let rel = ctx.judge.release_at(resp.trustee, *leaf_index).cloned();
            let msg = match check_receipt(
                http,
                &url,
                &head,
                *leaf_index,
                rel.as_ref(),
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
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
    {
        let named = v
            .get("bad_share_trustees")
            .and_then(|b| b.as_array())
            .cloned()
            .unwrap_or_default();
        for t in named
            .iter()
            .filter_map(|t| t.as_u64().and_then(|t| u16::try_from(t).ok()))
        {
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

fn check_receipt(
    http: &Http,
    url: &str,
    head: &TreeHead,
    index: u64,
    rel: Option<&escrow_core::audit::LogEntry>,
    warrant: &Digest32,
    ciphertext: &Digest32,
) -> std::result::Result<(), String> {
    let Some(rel) = rel else {
        return Err("no release entry at that index in the audited log".into());
    };
    if rel.warrant.as_ref() != Some(warrant) || rel.ciphertexts.first() != Some(ciphertext) {
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
    verify_inclusion(&rel.leaf_hash(), index, head.size, &proof, &head.root)
        .map_err(|e| e.to_string())
}

/// What the auditor cannot check (also in docs/audit.md).
const NOT_CHECKED: [&str; 4] = [
    "scope: the log holds ciphertext digests, not labels, so the auditor cannot re-check that a released message was in the warrant's scope (each trustee checked it; an investigator's disclosed labels can be checked separately)",
    "k trustees that collude and rewrite all their logs before any auditor or witness saw a checkpoint",
    "a trustee that releases without ever logging (its receipt-less shares leave no trace here)",
    "metadata: who asked, from where, and the traffic pattern are not in the log",
];

fn trustee_name(t: &TrusteeAudit) -> String {
    t.trustee
        .map(|i| i.to_string())
        .unwrap_or_else(|| "?".into())
}

/// "at least " when the count depends on trustees not audited.
fn at_least(r: &AuditReport) -> &'static str {
    if r.lower_bounds { "at least " } else { "" }
}

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
    let _ = writeln!(
        s,
        "logs: {} of {} audited{}",
        r.logs_audited,
        r.trustees_total,
        if r.lower_bounds {
            " — every count below is a LOWER BOUND (logs not audited may hold more)"
        } else {
            ""
        }
    );
    for t in &r.trustees {
        if t.status == LogStatus::NotAudited {
            let _ = writeln!(
                s,
                "  trustee {} {}: NOT AUDITED — {}",
                trustee_name(t),
                t.url,
                t.not_audited.as_deref().unwrap_or("")
            );
            continue;
        }
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
            trustee_name(t),
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
    let al = at_least(r);
    let _ = writeln!(s, "warrants:");
    for w in &r.warrants {
        let _ = writeln!(
            s,
            "  {} {} [{}]: {al}{} messages released ({} release entries), {al}{} READABLE (k={}), {} messages unjustified ({} entries){}",
            w.warrant_id
                .clone()
                .unwrap_or_else(|| "(not disclosed)".into()),
            w.digest.short(),
            w.authority.clone().unwrap_or_default(),
            w.messages_released,
            w.releases,
            w.messages_readable,
            r.threshold,
            w.messages_unjustified,
            w.unjustified,
            if w.cancelled { ", cancelled" } else { "" }
        );
    }
    if r.warrants.is_empty() {
        let _ = writeln!(s, "  (no releases)");
    }
    let _ = writeln!(s, "readable messages: {al}{}", r.readable.len());
    for (a, n) in &r.per_authority {
        let _ = writeln!(s, "  by authority: {a}: {al}{n}");
    }
    for (p, n) in &r.per_period {
        let _ = writeln!(s, "  by period: {p}: {al}{n}");
    }
    let _ = writeln!(s, "refusals: {al}{}", r.refusals.len());
    for c in &r.refusals_by_reason {
        let _ = writeln!(s, "  {}: {} entries", c.reason, c.entries);
    }
    let groups = refusal_groups(r);
    for g in groups.iter().take(TEXT_REFUSALS) {
        let _ = writeln!(
            s,
            "    {} trustee {} warrant {}: {} entries, {}{}",
            g.reason,
            g.trustee,
            g.warrant
                .map(|w| w.short())
                .unwrap_or_else(|| "(none)".into()),
            g.entries,
            g.first,
            if g.last != g.first {
                format!(" to {}", g.last)
            } else {
                String::new()
            }
        );
    }
    if groups.len() > TEXT_REFUSALS {
        let _ = writeln!(
            s,
            "    … {} more groups (every refusal in --json and --html)",
            groups.len() - TEXT_REFUSALS
        );
    }
    if r.receipts_checked > 0 {
        let _ = writeln!(
            s,
            "receipts: {} proved included in their trustee's log",
            r.receipts_checked
        );
    }
    let unjust_entries: u64 = r.warrants.iter().map(|w| w.unjustified).sum();
    let unjust_msgs: u64 = r.warrants.iter().map(|w| w.messages_unjustified).sum();
    let _ = writeln!(
        s,
        "unjustified releases: {unjust_msgs} messages ({unjust_entries} release entries)"
    );
    if r.finding_groups.is_empty() {
        let _ = writeln!(s, "findings: none");
    } else {
        let _ = writeln!(s, "findings:");
        for g in &r.finding_groups {
            let _ = writeln!(s, "  {}", group_line(g));
        }
    }
    s
}

/// Refusal groups listed in the text report (all of them in JSON and HTML).
const TEXT_REFUSALS: usize = 20;

fn group_line(g: &FindingGroup) -> String {
    let who = g
        .trustee
        .map(|t| format!(" trustee {t}"))
        .unwrap_or_default();
    if g.count == 1 {
        return format!(
            "{}: [{}]{who}: {}",
            g.severity.as_str().to_uppercase(),
            g.code,
            g.first
        );
    }
    let entries = if g.entries.is_empty() {
        String::new()
    } else {
        format!(
            " (entries {}{})",
            g.entries
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if g.count > g.entries.len() as u64 {
                ", …"
            } else {
                ""
            }
        )
    };
    format!(
        "{}: [{}]{who}: {} findings{entries}; first: {}",
        g.severity.as_str().to_uppercase(),
        g.code,
        g.count,
        g.first
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Refusals grouped by (reason, warrant, trustee): count, first and last time.
#[derive(Debug, Clone, Serialize)]
pub struct RefusalGroup {
    pub reason: String,
    pub warrant: Option<Digest32>,
    pub trustee: u16,
    pub entries: u64,
    pub first: Timestamp,
    pub last: Timestamp,
}

fn refusal_groups(r: &AuditReport) -> Vec<RefusalGroup> {
    let mut m: BTreeMap<(String, Option<Digest32>, u16), RefusalGroup> = BTreeMap::new();
    for x in &r.refusals {
        let g = m
            .entry((x.reason.clone(), x.warrant, x.trustee))
            .or_insert_with(|| RefusalGroup {
                reason: x.reason.clone(),
                warrant: x.warrant,
                trustee: x.trustee,
                entries: 0,
                first: x.time,
                last: x.time,
            });
        g.entries += 1;
        g.first = g.first.min(x.time);
        g.last = g.last.max(x.time);
    }
    m.into_values().collect()
}

/// The self-contained HTML page: summary statistics, per-trustee logs, timelines.
pub fn html_report(r: &AuditReport) -> String {
    use std::fmt::Write as _;
    let mut h = String::new();
    let unjust_msgs: u64 = r.warrants.iter().map(|w| w.messages_unjustified).sum();
    let unjust_entries: u64 = r.warrants.iter().map(|w| w.unjustified).sum();
    let integrity = r.findings.iter().filter(|f| f.code.is_integrity()).count();
    let al = at_least(r);
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Escrow transparency report</title>
<style>
body{{font-family:Georgia,serif;max-width:1100px;margin:2em auto;color:#1b1b1b;background:#fff;padding:0 1em}}
h1{{border-bottom:4px solid #1d3557;padding-bottom:.3em}} h2{{color:#1d3557;margin-top:1.6em}}
.cards{{display:flex;gap:1em;flex-wrap:wrap}} .card{{flex:1;min-width:150px;border:1px solid #ccd;border-radius:6px;padding:.8em;background:#f6f8fb}}
.card b{{display:block;font-size:2em;font-family:Helvetica,Arial,sans-serif}} .bad b{{color:#b00020}} .good b{{color:#2a7a2a}} .warn b{{color:#a15c00}}
table{{border-collapse:collapse;width:100%;font-family:Helvetica,Arial,sans-serif;font-size:.9em}} th,td{{border-bottom:1px solid #dde;padding:.35em .5em;text-align:left}} th{{background:#eef2f7}}
.ok{{color:#2a7a2a;font-weight:bold}} .fail{{color:#b00020;font-weight:bold}} .na{{color:#a15c00;font-weight:bold}} .note{{color:#555;font-size:.9em}}
.banner{{border:2px solid #a15c00;background:#fff6e6;padding:.6em 1em;border-radius:6px;font-family:Helvetica,Arial,sans-serif}}
code{{font-size:.85em}}
</style></head><body>
<h1>Exceptional access: transparency report</h1>
<p class="note">Trustee set <code>{}</code> ({}-of-{}), audited {}. Policy <code>{}</code>. In the spirit of the Investigatory Powers Commissioner's annual statistics: what was opened, under which warrant, by whom, and what was not justified.</p>
"#,
        r.set_id.short(),
        r.threshold,
        r.trustees_total,
        esc(&r.time.to_string()),
        r.policy
            .map(|p| p.short())
            .unwrap_or_else(|| "not given".into()),
    );
    if r.lower_bounds {
        let _ = write!(
            h,
            "<p class=banner><b>{} of {} logs audited.</b> The trustees not audited could not be read; every count on this page is a lower bound: their logs may hold more releases, and a message counted as not readable may have been read with their shares.</p>",
            r.logs_audited, r.trustees_total
        );
    }
    let _ = write!(
        h,
        r#"<div class="cards">
<div class="card {}"><b>{} of {}</b>logs audited</div>
<div class="card"><b>{al}{}</b>messages made readable</div>
<div class="card"><b>{al}{}</b>messages released ({} log entries)</div>
<div class="card {}"><b>{}</b>messages released without justification ({} entries)</div>
<div class="card {}"><b>{}</b>log integrity failures</div>
</div>
"#,
        if r.lower_bounds { "warn" } else { "good" },
        r.logs_audited,
        r.trustees_total,
        r.readable.len(),
        r.warrants.iter().map(|w| w.messages_released).sum::<u64>(),
        r.releases.len(),
        if unjust_msgs > 0 { "bad" } else { "good" },
        unjust_msgs,
        unjust_entries,
        if integrity > 0 { "bad" } else { "good" },
        integrity,
    );
    let _ = write!(
        h,
        "<h2>Trustee logs</h2><table><tr><th>Trustee</th><th>Log</th><th>Checkpoint</th><th>Entries</th><th>Releases</th><th>Refusals</th><th>Cancellations</th></tr>"
    );
    for t in &r.trustees {
        let (class, status) = match t.status {
            LogStatus::Verified => ("ok", "verified".to_string()),
            LogStatus::Failed => ("fail", "FAILED".to_string()),
            LogStatus::NotAudited => (
                "na",
                format!(
                    "not audited: {}",
                    t.not_audited.as_deref().unwrap_or("unreachable")
                ),
            ),
        };
        let _ = write!(
            h,
            "<tr><td>{} <span class=note>{}</span></td><td class={class}>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            trustee_name(t),
            esc(&t.url),
            esc(&status),
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
        "<h2>Warrants</h2><table><tr><th>Warrant</th><th>Authority</th><th>Type</th><th>Limit</th><th>Messages released</th><th>Readable</th><th>Messages unjustified</th><th>Release entries</th><th>Cancelled</th></tr>"
    );
    for w in &r.warrants {
        let _ = write!(
            h,
            "<tr><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{al}{}</td><td>{al}{}</td><td class={}>{}</td><td>{} ({} unjustified)</td><td>{}</td></tr>",
            esc(w.warrant_id.as_deref().unwrap_or("(not disclosed)")),
            w.digest.short(),
            esc(w.authority.as_deref().unwrap_or("")),
            esc(w.warrant_type.as_deref().unwrap_or("")),
            w.max_releases
                .map(|m| m.to_string())
                .unwrap_or_else(|| "—".into()),
            w.messages_released,
            w.messages_readable,
            if w.messages_unjustified > 0 {
                "fail"
            } else {
                "ok"
            },
            w.messages_unjustified,
            w.releases,
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
        let _ = write!(h, "<tr><td>{}</td><td>{al}{n}</td></tr>", esc(a));
    }
    h.push_str("</table><br><table><tr><th>Period</th><th>Messages</th></tr>");
    for (p, n) in &r.per_period {
        let _ = write!(h, "<tr><td>{}</td><td>{al}{n}</td></tr>", esc(p));
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<h2>Refusals</h2><p class=note>{al}{} refusal entries, by reason code, warrant and trustee.</p><table><tr><th>Reason</th><th>Warrant</th><th>Trustee</th><th>Entries</th><th>First</th><th>Last</th></tr>",
        r.refusals.len()
    );
    for g in refusal_groups(r) {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g.reason),
            g.warrant
                .map(|w| w.short())
                .unwrap_or_else(|| "(none)".into()),
            g.trustee,
            g.entries,
            esc(&g.first.to_string()),
            esc(&g.last.to_string())
        );
    }
    h.push_str("</table><h2>Findings</h2>");
    if r.finding_groups.is_empty() {
        if r.lower_bounds {
            let _ = write!(
                h,
                "<p class=na>None in the {} logs audited; {} of {} logs could not be audited.</p>",
                r.logs_audited,
                r.trustees_total - r.logs_audited.min(r.trustees_total),
                r.trustees_total
            );
        } else {
            h.push_str("<p class=ok>None: every log verified and every release was justified.</p>");
        }
    } else {
        h.push_str("<table><tr><th>Severity</th><th>Code</th><th>Trustee</th><th>Count</th><th>First entries</th><th>First finding</th></tr>");
        for g in &r.finding_groups {
            let _ = write!(
                h,
                "<tr><td class={}>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if g.severity == Severity::Error {
                    "fail"
                } else {
                    "note"
                },
                g.severity.as_str(),
                g.code,
                g.trustee.map(|t| t.to_string()).unwrap_or_default(),
                g.count,
                g.entries
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                esc(&g.first)
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

/// Tick steps of the timeline, seconds.
const TICK_STEPS: [i64; 24] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800, 1_209_600, 2_629_746, 7_889_238, 31_556_952,
];

/// Ticks for `[t0, t1]`: at most about 8, on round UTC times, labelled at the scale's
/// precision (seconds, minutes, days or months).
pub fn time_ticks(t0: i64, t1: i64) -> Vec<(i64, String)> {
    let span = (t1 - t0).max(1);
    let step = TICK_STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 8)
        .unwrap_or(31_556_952 * ((span / 31_556_952 / 8).max(1) + 1));
    let first = t0.div_euclid(step) * step + if t0.rem_euclid(step) == 0 { 0 } else { step };
    let label = |t: i64| {
        let iso = Timestamp(t).to_rfc3339();
        let part = |a: usize, b: usize| iso.get(a..b).unwrap_or(&iso).to_string();
        match step {
            s if s < 60 => part(11, 19),
            s if s < 86_400 => {
                if span >= 86_400 {
                    format!("{} {}", part(5, 10), part(11, 16))
                } else {
                    part(11, 16)
                }
            }
            s if s < 2_629_746 => part(0, 10),
            _ => part(0, 7),
        }
    };
    let mut out = Vec::new();
    let mut t = first;
    while t <= t1 && out.len() < 16 {
        out.push((t, label(t)));
        t = t.saturating_add(step);
    }
    out
}

fn timeline_svg(r: &AuditReport) -> String {
    use std::fmt::Write as _;
    let mut rows: Vec<(String, Vec<&ReleaseJudgement>)> = Vec::new();
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
    let height = 60 + row_h * i64::try_from(rows.len()).unwrap_or(0);
    let t0 = r.releases.iter().map(|x| x.time.unix()).min().unwrap_or(0);
    let t1 = r.releases.iter().map(|x| x.time.unix()).max().unwrap_or(0);
    // Everything in the same second: a one-minute window around it.
    let (t0, t1) = if t1 == t0 {
        (t0 - 30, t1 + 30)
    } else {
        (t0, t1)
    };
    let span = (t1 - t0).max(1);
    let x_of = |t: i64| left + 10 + (t - t0) * (w - left - 30) / span;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {w} {height}" font-family="Helvetica,Arial,sans-serif" font-size="12">"#
    );
    let bottom = 20 + row_h * i64::try_from(rows.len()).unwrap_or(0);
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
    for (t, label) in time_ticks(t0, t1) {
        let x = x_of(t);
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="20" x2="{x}" y2="{}" stroke="#999" stroke-dasharray="2,3"/><text x="{x}" y="{}" fill="#555" text-anchor="middle">{}</text>"##,
            bottom + 4,
            bottom + 18,
            esc(&label)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{left}" y="{}" fill="#555">UTC, {} to {}</text></svg>"##,
        height - 4,
        esc(&Timestamp(t0).to_string()),
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
            "audit found {errors} problem(s) in {} kind(s): see the findings",
            report
                .finding_groups
                .iter()
                .filter(|g| g.severity == Severity::Error)
                .count()
        )));
    }
    if report.logs_audited == 0 {
        return Err(Reported::error(format!(
            "could not audit: none of the {} trustee(s) given could be read",
            report.trustees.len()
        )));
    }
    if report.lower_bounds {
        let msg = format!(
            "{} of {} logs audited: the counts are lower bounds",
            report.logs_audited, report.trustees_total
        );
        if a.require_all {
            return Err(Reported::error(format!("{msg} (--require-all)")));
        }
        eprintln!("escrow audit: {msg}");
    }
    Ok(())
}

/// The report as text (for `escrow demo`).
pub fn report_text(r: &AuditReport) -> String {
    text_report(r)
}
