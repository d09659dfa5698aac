//! `escrow retrieve`: the investigator's side of a warrant. Select the sealed messages the
//! warrant could cover, ask every trustee in parallel (batches, timeouts, retries with
//! back-off), check every trustee's signature and every share's DLEQ proof, combine any k valid
//! shares, decrypt, and write one file per message, a summary, and the signed receipts.

use crate::Refused;
use crate::cmd_keys::load_private;
use crate::cmd_msg::read_mailbox;
use crate::cmd_set::load_set;
use crate::cmd_warrant::load_envelope;
use crate::io::{self, Out};
use anyhow::{Context, Result, bail};
use clap::Args;
use escrow_core::codec::Digest32;
use escrow_core::keys::PrivateKey;
use escrow_core::message::SealedMessage;
use escrow_core::release::{self, ReleaseRequest, ReleaseResponse, ReleaseResult};
use escrow_core::share::{self, DecryptionShare, ShareContext, ShareToVerify, VerifiedShare};
use escrow_core::tdh2::ValidCiphertext;
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
    /// A trustee node's base URL (http://HOST:PORT); repeat for each trustee.
    #[arg(long = "trustee", value_name = "URL", required = true)]
    pub trustees: Vec<String>,
    /// The investigator's private key (the one the warrant names).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Mailbox file (JSON lines) holding the sealed messages.
    #[arg(long, value_name = "FILE")]
    pub mailbox: PathBuf,
    /// Output directory (created; must be empty if it exists).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Ciphertexts per request.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub timeout: u64,
    /// Attempts per request (connection errors and 5xx answers are retried with back-off).
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

/// What happened with one trustee.
#[derive(Default)]
struct TrusteeReport {
    url: String,
    index: Option<u16>,
    /// Valid, signed responses received.
    responses: Vec<ReleaseResponse>,
    /// Bytes sent (request bodies) and received (answer bodies), all attempts.
    sent: u64,
    received: u64,
    /// Why the trustee could not be used (unreachable, bad signature, ...).
    failure: Option<String>,
}

fn agent(timeout: u64) -> ureq::Agent {
    let cfg = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(timeout.max(1))))
        .http_status_as_error(false)
        .build();
    ureq::Agent::new_with_config(cfg)
}

/// POST one batch, retrying connection errors and 5xx with exponential back-off.
fn post_batch(
    agent: &ureq::Agent,
    url: &str,
    body: &str,
    attempts: u32,
    bytes: (&mut u64, &mut u64),
) -> Result<ReleaseResponse, String> {
    let (sent, received) = bytes;
    let endpoint = format!("{}/v1/release", url.trim_end_matches('/'));
    let mut last = String::new();
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            // 400 ms, 800 ms, 1.6 s, then every 2 s.
            let wait = 200u64.saturating_mul(1 << attempt.min(6)).min(2000);
            std::thread::sleep(Duration::from_millis(wait));
        }
        *sent += body.len() as u64;
        let resp = agent
            .post(&endpoint)
            .header("content-type", "application/json")
            .send(body);
        let mut resp = match resp {
            Ok(r) => r,
            Err(e) => {
                last = format!("unreachable: {e}");
                continue;
            }
        };
        let status = resp.status().as_u16();
        let text = match resp
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
        {
            Ok(t) => {
                *received += t.len() as u64;
                t
            }
            Err(e) => {
                last = format!("unreadable answer: {e}");
                continue;
            }
        };
        if status >= 500 {
            last = format!("HTTP {status}: {}", error_message(&text));
            continue;
        }
        if status != 200 {
            return Err(format!("HTTP {status}: {}", error_message(&text)));
        }
        return ReleaseResponse::from_json(&text).map_err(|e| format!("malformed answer: {e}"));
    }
    Err(last)
}

fn error_message(body: &str) -> String {
    escrow_core::api::ErrorBody::from_json(body)
        .map(|b| format!("{}: {}", b.error.code, b.error.message))
        .unwrap_or_else(|_| body.chars().take(200).collect())
}

/// Ask one trustee for every batch; stop at the first batch it cannot answer validly.
fn ask_trustee(
    url: &str,
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    batches: &[Vec<&SealedMessage>],
    net: &Net,
    progress: &indicatif::ProgressBar,
) -> TrusteeReport {
    let agent = agent(net.timeout);
    let mut rep = TrusteeReport {
        url: url.to_string(),
        ..Default::default()
    };
    for batch in batches {
        let cts: Vec<_> = batch.iter().map(|m| m.escrow.clone()).collect();
        let requested: Vec<Digest32> = cts.iter().map(|c| c.digest()).collect();
        let body = ReleaseRequest::new(env, cts).to_json();
        let resp = match post_batch(
            &agent,
            url,
            &body,
            net.attempts,
            (&mut rep.sent, &mut rep.received),
        ) {
            Ok(r) => r,
            Err(e) => {
                rep.failure = Some(e);
                return rep;
            }
        };
        if let Err(e) = resp.verify(set) {
            rep.failure = Some(format!("answer rejected: {e}"));
            return rep;
        }
        if rep.index.is_some_and(|i| i != resp.trustee) {
            rep.failure = Some(format!(
                "answered as trustee {} after answering as {:?}",
                resp.trustee, rep.index
            ));
            return rep;
        }
        if resp.warrant != env.digest() {
            rep.failure = Some("answer is for another warrant".into());
            return rep;
        }
        if let Err(e) = resp.check_answers(&requested) {
            rep.failure = Some(format!("answer rejected: {e}"));
            return rep;
        }
        rep.index = Some(resp.trustee);
        rep.responses.push(resp);
        progress.inc(batch.len() as u64);
    }
    rep
}

/// Outcome per message.
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

pub fn retrieve(a: RetrieveArgs, out: Out) -> Result<()> {
    if a.batch == 0 {
        bail!("--batch must be at least 1");
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
    prepare_out_dir(&a.out)?;

    // Select what the warrant could cover (the trustees check again, each for itself).
    let lines = read_mailbox(&a.mailbox)?;
    let mut selected: Vec<SealedMessage> = Vec::new();
    let mut skipped_scope = 0usize;
    let mut skipped_bad = Vec::new();
    let mut seen_ids = BTreeSet::new();
    for l in lines {
        match l.message {
            Ok(m) => {
                if !a.all_messages && warrant.payload().scope.check(&m.escrow.label).is_err() {
                    skipped_scope += 1;
                } else if !seen_ids.insert(m.id.clone()) {
                    skipped_bad.push(format!("line {}: duplicate message id {}", l.line, m.id));
                } else {
                    selected.push(m);
                }
            }
            Err(e) => skipped_bad.push(format!("line {}: {e}", l.line)),
        }
    }
    out.say(&format!(
        "warrant {} (case {}): {} message(s) in scope, {} out of scope left sealed{}",
        warrant.id(),
        warrant.payload().case_reference,
        selected.len(),
        skipped_scope,
        if skipped_bad.is_empty() {
            String::new()
        } else {
            format!(", {} unreadable line(s)", skipped_bad.len())
        }
    ));
    if selected.is_empty() {
        bail!(
            "no message in {} falls within warrant {}'s scope",
            a.mailbox.display(),
            warrant.id()
        );
    }

    let net = Net {
        batch: a.batch,
        timeout: a.timeout,
        attempts: a.attempts,
        progress: !out.json,
        threshold_first: a.ask == Ask::Threshold,
    };
    let r = run(&set, &env, &key, &selected, &a.trustees, &net, &a.out)?;
    report(&a, &out, &warrant, &set, &r, skipped_scope, &skipped_bad)
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
    /// Per trustee URL: index and status.
    pub trustees: Vec<serde_json::Value>,
    /// Trustees whose shares failed their proofs, with the first reason.
    pub bad_shares: BTreeMap<u16, String>,
    /// Where the time and the bytes went.
    pub stats: RetrievalStats,
}

/// Time per phase and bytes on the wire of one retrieval (the research harness reports them).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct RetrievalStats {
    /// Asking the trustees (in parallel): requests, the trustees' work, answers, signature
    /// checks. Seconds.
    pub ask_s: f64,
    /// Opening the share boxes, verifying every share, combining, decrypting and writing one
    /// file per message. Seconds.
    pub combine_s: f64,
    /// Request bodies sent, all trustees and attempts.
    pub request_bytes: u64,
    /// Answer bodies received, all trustees and attempts.
    pub response_bytes: u64,
}

/// Shares, refusals and receipts gathered from the trustees' answers; one voice per trustee
/// index (a second URL answering as the same trustee is ignored).
#[derive(Default)]
struct Gathered {
    /// Every selected message's escrow header, checked once.
    checked: BTreeMap<Digest32, Result<ValidCiphertext, String>>,
    /// Shares that passed their proofs, per ciphertext.
    shares: BTreeMap<Digest32, Vec<VerifiedShare>>,
    refusals: BTreeMap<Digest32, Vec<(u16, String)>>,
    unopenable: BTreeMap<Digest32, Vec<(u16, String)>>,
    receipts: String,
    counted: BTreeSet<u16>,
    trustee_rows: Vec<serde_json::Value>,
    sent: u64,
    received: u64,
}

impl Gathered {
    /// Check every selected message's escrow header (on every core).
    fn new(set: &TrusteeSet, selected: &[&SealedMessage]) -> Self {
        let checked = selected
            .par_iter()
            .map(|m| {
                (
                    m.escrow.digest(),
                    m.escrow
                        .check(set)
                        .map_err(|e| format!("escrow header: {e}")),
                )
            })
            .collect();
        Gathered {
            checked,
            ..Default::default()
        }
    }

    /// Open, verify and file the shares of `reports`. The shares of each response are
    /// verified together (one multi-scalar multiplication for a whole batch; a failing batch
    /// is re-checked share by share so that every bad share is named), the responses spread
    /// over the cores.
    fn add(
        &mut self,
        reports: Vec<TrusteeReport>,
        set: &TrusteeSet,
        ctx: &ShareContext,
        key: &PrivateKey,
    ) {
        for r in reports {
            self.sent += r.sent;
            self.received += r.received;
            let dup = r.index.is_some_and(|i| !self.counted.insert(i));
            self.trustee_rows.push(serde_json::json!({
                "url": r.url, "trustee": r.index,
                "status": if let Some(f) = &r.failure { format!("failed: {f}") }
                          else if dup { "ignored: another URL already answered as this trustee".to_string() }
                          else { "answered".to_string() },
            }));
            if dup {
                continue;
            }
            let checked = &self.checked;
            let opened: Vec<Checked> = r
                .responses
                .par_iter()
                .map(|resp| open_and_verify(resp, set, ctx, key, checked))
                .collect();
            for (resp, (good, bad)) in r.responses.iter().zip(opened) {
                self.receipts.push_str(&resp.to_json());
                self.receipts.push('\n');
                for (d, v) in good {
                    self.shares.entry(d).or_default().push(v);
                }
                for (d, who, e) in bad {
                    self.unopenable.entry(d).or_default().push((who, e));
                }
                for res in &resp.results {
                    if let ReleaseResult::Refused {
                        ciphertext: Some(c),
                        code,
                        detail,
                        ..
                    } = res
                    {
                        self.refusals
                            .entry(*c)
                            .or_default()
                            .push((resp.trustee, format!("{code}: {detail}")));
                    }
                }
            }
        }
    }

    /// Verify, combine and decrypt each of `msgs` with what was gathered so far, messages
    /// spread over the cores (results in the order of `msgs`).
    fn combine(
        &self,
        set: &TrusteeSet,
        ctx: &ShareContext,
        msgs: &[&SealedMessage],
        out_dir: &Path,
    ) -> Vec<(String, Digest32, Outcome)> {
        msgs.par_iter()
            .map(|m| {
                let d = m.escrow.digest();
                let got = self.shares.get(&d).map(Vec::as_slice).unwrap_or_default();
                let mut rejected = self.unopenable.get(&d).cloned().unwrap_or_default();
                let res = match self.checked.get(&d) {
                    Some(Ok(valid)) => combine_one(valid, set, m, ctx, got, &rejected, out_dir),
                    Some(Err(why)) => Err(why.clone()),
                    None => Err("escrow header not checked".into()),
                };
                let outcome = match res {
                    Ok((used, bad, file)) => {
                        rejected.extend(bad);
                        Outcome::Decrypted {
                            used,
                            rejected,
                            file,
                        }
                    }
                    Err(why) => Outcome::NotDecrypted {
                        why,
                        refusals: self.refusals.get(&d).cloned().unwrap_or_default(),
                        rejected,
                    },
                };
                (m.id.clone(), d, outcome)
            })
            .collect()
    }
}

fn progress_bar(total: u64, net: &Net, what: &str) -> indicatif::ProgressBar {
    if !net.progress || total < 2000 {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} shares ({eta})")
    {
        pb.set_style(style);
    }
    pb.set_message(what.to_string());
    pb
}

/// Ask each of `urls` (in parallel, one thread per trustee) for shares of `msgs`.
fn ask_all(
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    msgs: &[&SealedMessage],
    urls: &[String],
    net: &Net,
    what: &str,
) -> Vec<TrusteeReport> {
    let batches: Vec<Vec<&SealedMessage>> = msgs.chunks(net.batch).map(<[_]>::to_vec).collect();
    let progress = progress_bar((msgs.len() * urls.len()) as u64, net, what);
    let reports = std::thread::scope(|s| {
        let handles: Vec<_> = urls
            .iter()
            .map(|url| {
                let (batches, progress) = (&batches, &progress);
                s.spawn(move || ask_trustee(url, set, env, batches, net, progress))
            })
            .collect();
        handles
            .into_iter()
            .zip(urls)
            .map(|(h, url)| {
                h.join().unwrap_or_else(|_| TrusteeReport {
                    url: url.clone(),
                    failure: Some("internal error while asking this trustee".into()),
                    ..Default::default()
                })
            })
            .collect()
    });
    progress.finish_and_clear();
    reports
}

/// Ask the trustees for shares of `selected` under `env`, verify, combine, decrypt, and
/// write `<id>.txt` per message and `receipts.jsonl` into `out_dir`.
///
/// With [`Net::threshold_first`], only the first k URLs are asked at first, and the others
/// only for the messages that did not decrypt (a trustee down, refusing or cheating): k
/// shares per message leave the trustees instead of n. Otherwise every URL is asked at once.
pub fn run(
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    selected: &[SealedMessage],
    urls: &[String],
    net: &Net,
    out_dir: &Path,
) -> Result<Retrieval> {
    if net.batch == 0 {
        bail!("the batch size must be at least 1");
    }
    let k = usize::from(set.threshold());
    let (first, rest) = if net.threshold_first && urls.len() > k {
        urls.split_at(k)
    } else {
        (urls, &[][..])
    };
    let ctx = ShareContext::warrant(env.digest());
    let all: Vec<&SealedMessage> = selected.iter().collect();

    let t_ask = std::time::Instant::now();
    let reports = ask_all(set, env, &all, first, net, "asking trustees");
    let mut ask_s = t_ask.elapsed().as_secs_f64();
    let t_combine = std::time::Instant::now();
    let mut gathered = Gathered::new(set, &all);
    gathered.add(reports, set, &ctx, key);
    let mut outcomes = gathered.combine(set, &ctx, &all, out_dir);
    let mut combine_s = t_combine.elapsed().as_secs_f64();

    let missing: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, (_, _, o))| matches!(o, Outcome::NotDecrypted { .. }))
        .map(|(i, _)| i)
        .collect();
    if !rest.is_empty() && !missing.is_empty() {
        let msgs: Vec<&SealedMessage> = missing
            .iter()
            .filter_map(|&i| all.get(i).copied())
            .collect();
        let t = std::time::Instant::now();
        let more = ask_all(set, env, &msgs, rest, net, "asking the other trustees");
        ask_s += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        gathered.add(more, set, &ctx, key);
        let again = gathered.combine(set, &ctx, &msgs, out_dir);
        for (&i, o) in missing.iter().zip(again) {
            if let Some(slot) = outcomes.get_mut(i) {
                *slot = o;
            }
        }
        combine_s += t.elapsed().as_secs_f64();
    }
    io::write_public(
        &out_dir.join("receipts.jsonl"),
        gathered.receipts.as_bytes(),
    )?;

    let mut bad_shares = BTreeMap::new();
    for (_, _, o) in &outcomes {
        let rejected = match o {
            Outcome::Decrypted { rejected, .. } | Outcome::NotDecrypted { rejected, .. } => {
                rejected
            }
        };
        for (i, e) in rejected {
            bad_shares.entry(*i).or_insert_with(|| e.clone());
        }
    }
    let stats = RetrievalStats {
        ask_s,
        combine_s,
        request_bytes: gathered.sent,
        response_bytes: gathered.received,
    };
    Ok(Retrieval {
        outcomes,
        trustees: gathered.trustee_rows,
        bad_shares,
        stats,
    })
}

/// Trustees used, shares rejected, file written.
type Combined = (Vec<u16>, Vec<(u16, String)>, PathBuf);

fn combine_one(
    valid: &ValidCiphertext,
    set: &TrusteeSet,
    m: &SealedMessage,
    ctx: &ShareContext,
    got: &[VerifiedShare],
    rejected: &[(u16, String)],
    dir: &Path,
) -> Result<Combined, String> {
    if got.is_empty() && rejected.is_empty() {
        return Err("no trustee released a share".into());
    }
    let c = share::combine_verified(set, valid, ctx, got).map_err(|e| {
        let why = e.to_string();
        if matches!(e, escrow_core::Error::NotEnoughShares { .. }) && !rejected.is_empty() {
            let names: Vec<String> = rejected
                .iter()
                .map(|(i, e)| format!("trustee {i}: {e}"))
                .collect();
            format!("{why}; rejected: {}", names.join("; "))
        } else {
            why
        }
    })?;
    let opened = m.decrypt_body(&c.message_key).map_err(|e| e.to_string())?;
    let file = dir.join(format!("{}.txt", m.id));
    io::write_secret_unsynced(&file, &opened.body).map_err(|e| format!("{e:#}"))?;
    let rejected = c
        .rejected
        .iter()
        .map(|(i, e)| (*i, e.to_string()))
        .collect();
    Ok((c.used, rejected, file))
}

/// Verified shares (ciphertext, share) and rejected ones (ciphertext, trustee, reason).
type Checked = (Vec<(Digest32, VerifiedShare)>, Vec<(Digest32, u16, String)>);

/// Shares verified per batch when a response is split across the cores: large enough to
/// amortise the multi-scalar multiplication's shared doublings, small enough to keep every
/// core busy (`docs/experiments.md` has the per-share cost by batch size).
const VERIFY_CHUNK: usize = 128;

/// Open one response's share boxes (an ECDH each) and verify its shares in batches, both
/// spread over the cores; only shares of messages whose escrow header passed its check can be
/// verified (and used).
fn open_and_verify(
    resp: &ReleaseResponse,
    set: &TrusteeSet,
    ctx: &ShareContext,
    key: &PrivateKey,
    checked: &BTreeMap<Digest32, Result<ValidCiphertext, String>>,
) -> Checked {
    let opened: Vec<(Digest32, escrow_core::Result<DecryptionShare>)> = resp
        .results
        .par_iter()
        .filter_map(|r| match r {
            ReleaseResult::Released {
                ciphertext, share, ..
            } => Some((
                *ciphertext,
                release::open_share(
                    key,
                    &resp.set_id,
                    resp.trustee,
                    &resp.warrant,
                    ciphertext,
                    share,
                ),
            )),
            ReleaseResult::Refused { .. } => None,
        })
        .collect();
    let mut bad = Vec::new();
    let mut shares = Vec::with_capacity(opened.len());
    for (d, o) in opened {
        match o {
            Ok(s) => shares.push(s),
            Err(e) => bad.push((d, resp.trustee, e.to_string())),
        }
    }
    let items: Vec<ShareToVerify<'_>> = shares
        .iter()
        .filter_map(|s| match checked.get(&s.ciphertext) {
            Some(Ok(ct)) => Some(ShareToVerify {
                ciphertext: ct,
                context: ctx,
                share: s,
            }),
            _ => None,
        })
        .collect();
    let verdicts: Vec<Vec<escrow_core::Result<VerifiedShare>>> = items
        .par_chunks(VERIFY_CHUNK)
        .map(|chunk| share::verify_batch(set, chunk))
        .collect();
    let mut good = Vec::with_capacity(items.len());
    for (item, res) in items.iter().zip(verdicts.into_iter().flatten()) {
        let d = item.share.ciphertext;
        match res {
            Ok(v) => good.push((d, v)),
            Err(e) => bad.push((d, item.share.trustee, e.to_string())),
        }
    }
    (good, bad)
}

fn prepare_out_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let mut it =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        if it.next().is_some() {
            bail!(
                "{} is not empty; choose a new --out directory",
                dir.display()
            );
        }
    }
    io::create_private_dir(dir)
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
) -> Result<()> {
    let mut rows = Vec::new();
    let mut text = String::new();
    let (mut ok, mut not) = (0usize, 0usize);
    let (outcomes, trustees, named) = (&r.outcomes, &r.trustees, &r.bad_shares);
    for (id, d, o) in outcomes {
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
    let mut ttext = String::new();
    for t in trustees {
        ttext.push_str(&format!(
            "  {:<28} trustee {:<4} {}\n",
            t["url"].as_str().unwrap_or(""),
            t["trustee"]
                .as_u64()
                .map(|i| i.to_string())
                .unwrap_or_else(|| "?".into()),
            t["status"].as_str().unwrap_or("")
        ));
    }
    for (i, e) in named {
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
        "out_of_scope_left_sealed": skipped_scope,
        "unreadable_lines": skipped_bad,
        "trustees": trustees,
        "bad_share_trustees": named.keys().collect::<Vec<_>>(),
        "messages": rows,
        "out": a.out,
        "receipts": a.out.join("receipts.jsonl"),
    });
    io::write_public(
        &a.out.join("summary.json"),
        escrow_core::codec::to_json_pretty(&summary).as_bytes(),
    )?;
    out.emit(
        &format!(
            "trustees:\n{ttext}messages:\n{text}{ok} decrypted, {not} not decrypted, {skipped_scope} out of scope left sealed (need {k} valid shares each)\nwrote {}/summary.json and signed receipts {}/receipts.jsonl",
            a.out.display(),
            a.out.display(),
            k = set.threshold()
        ),
        summary,
    );
    if not > 0 {
        return Err(crate::Reported::refused(format!(
            "{not} message(s) in scope could not be decrypted (see the table above)"
        )));
    }
    Ok(())
}
