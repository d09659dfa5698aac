//! The investigator's side of a warrant, without files: ask the trustees for shares of the
//! selected messages, check every answer's signature and every share's DLEQ proof, combine any
//! k valid shares and decrypt, and give one outcome per message (read, or not read and why,
//! naming every trustee whose share failed its proof).
//!
//! Two strategies ([`Strategy::threshold_first`]): ask every trustee at once, or ask the first
//! k and the others only for the messages that did not decrypt (k shares per message leave the
//! trustees instead of n).

use crate::NodeClient;
use escrow_core::codec::{CiphertextDigest, Digest32};
use escrow_core::keys::PrivateKey;
use escrow_core::message::SealedMessage;
use escrow_core::release::{self, ReleaseRequest, ReleaseResponse, ReleaseResult};
use escrow_core::share::{self, DecryptionShare, ShareContext, ShareToVerify, VerifiedShare};
use escrow_core::tdh2::ValidCiphertext;
use escrow_core::trustee::TrusteeSet;
use escrow_core::warrant::WarrantEnvelope;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;
use zeroize::Zeroizing;

/// Progress of a long retrieval (shares asked for so far); the CLI draws a bar.
pub trait Progress: Sync {
    /// A phase starts: `total` shares will be asked for.
    fn start(&self, what: &str, total: u64);
    /// `n` more shares were answered.
    fn inc(&self, n: u64);
    /// The phase ended.
    fn finish(&self);
}

/// No progress display.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: u64) {}
    fn inc(&self, _: u64) {}
    fn finish(&self) {}
}

/// How to ask.
#[derive(Clone, Copy, Debug)]
pub struct Strategy {
    /// Ciphertexts per request (at least 1).
    pub batch: usize,
    /// Ask the first k trustees first, the others only for what did not decrypt.
    pub threshold_first: bool,
}

/// One protocol version's side of a retrieval (version 1 here, with JSON `POST /v1/release`;
/// version 2 in [`crate::investigator_v2`]): how one trustee is asked, how its answers are
/// filed and how a message is combined. Everything else, the same for both versions, is
/// [`drive`]'s: the threshold-first split, one thread per trustee, progress, asking the other
/// trustees for what did not decrypt, the trustees named as cheating and the figures.
pub(crate) trait Codec: Sync {
    /// What one trustee answered, all batches.
    type Answers: Send;
    /// The items to ask for, for the window's messages `which` (indices into the window);
    /// a message that cannot be asked for has none.
    fn items(&self, which: &[usize]) -> Vec<usize>;
    /// Whether the window's message `i`, not read, is worth asking the other trustees for.
    fn retry(&self, i: usize) -> bool;
    /// Ask one trustee for every batch (each a list of items); stop at the first batch it
    /// cannot answer validly.
    fn ask(
        &self,
        client: &NodeClient,
        batches: &[Vec<usize>],
        progress: &dyn Progress,
    ) -> Self::Answers;
    /// The answers of a trustee whose thread failed.
    fn lost(&self, url: String) -> Self::Answers;
    /// File the trustees' answers (one voice per trustee index, see [`Voices`]).
    fn add(&mut self, answers: Vec<Self::Answers>);
    /// Combine and decrypt the window's messages `which` with what was gathered so far
    /// (results in the order of `which`).
    fn combine(&self, which: &[usize]) -> Vec<MessageOutcome>;
    /// The trustee rows and the receipts, one per line.
    fn finish(self) -> (Vec<TrusteeRow>, String);
}

/// Why a batch answered as `trustee` is refused when an earlier batch of the same URL
/// answered as `index` (another trustee), or `None` (both versions).
pub(crate) fn switched_trustee(index: Option<u16>, trustee: u16) -> Option<String> {
    index
        .filter(|&i| i != trustee)
        .map(|_| format!("answered as trustee {trustee} after answering as {index:?}"))
}

/// A client error as a trustee row's failure.
pub(crate) fn describe(e: &crate::ClientError) -> String {
    match e {
        crate::ClientError::Status {
            status,
            code,
            message,
            ..
        } => format!("HTTP {status}: {code}: {message}"),
        crate::ClientError::Unreachable { detail, .. } => format!("unreachable: {detail}"),
        other => other.to_string(),
    }
}

/// Ask `clients` (one task each, on `pool`) for `items` in batches of `batch`; the bytes sent
/// and received are added to `traffic`. A task that panics gives [`Codec::lost`].
fn ask_all<C: Codec>(
    pool: &rayon::ThreadPool,
    codec: &C,
    clients: &[&NodeClient],
    items: &[usize],
    batch: usize,
    progress: &dyn Progress,
    traffic: &mut (u64, u64),
) -> Vec<C::Answers> {
    use std::sync::Mutex;
    let batches: Vec<Vec<usize>> = items.chunks(batch.max(1)).map(<[_]>::to_vec).collect();
    // One slot per client: its answers and the bytes it sent and received.
    type Slot<A> = Mutex<Option<(A, u64, u64)>>;
    let slots: Vec<Slot<C::Answers>> = clients.iter().map(|_| Mutex::new(None)).collect();
    pool.install(|| {
        rayon::scope(|s| {
            for (&c, slot) in clients.iter().zip(&slots) {
                let batches = &batches;
                s.spawn(move |_| {
                    let asked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let (sent0, received0) = (c.traffic().sent(), c.traffic().received());
                        let a = codec.ask(c, batches, progress);
                        let sent = c.traffic().sent().saturating_sub(sent0);
                        let received = c.traffic().received().saturating_sub(received0);
                        (a, sent, received)
                    }));
                    *slot.lock().unwrap_or_else(|p| p.into_inner()) = asked.ok();
                });
            }
        })
    });
    slots
        .into_iter()
        .zip(clients)
        .map(|(slot, c)| {
            let got = slot.into_inner().unwrap_or_else(|p| p.into_inner());
            let (a, sent, received) =
                got.unwrap_or_else(|| (codec.lost(c.url().to_string()), 0, 0));
            traffic.0 += sent;
            traffic.1 += received;
            a
        })
        .collect()
}

/// Release requests in flight at once to one trustee (bounded): the batches of a large
/// retrieval are pipelined, so the round-trip latency does not multiply with their number
/// (version 2, [`crate::investigator_v2`]; here, because the asking threads are sized by it).
pub const PIPELINE_DEPTH: usize = 4;

/// The threads that ask the trustees: one per trustee and one per request in flight to it
/// ([`PIPELINE_DEPTH`]), made once per retrieval and kept across its
/// windows. Threads made anew for every window would each take a malloc arena of their
/// own, and the resident set would climb with the number of windows although one window is
/// held at a time (docs/experiments.md §6.4, §6.5).
fn asking_pool(trustees: usize) -> std::io::Result<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(trustees.max(1) * (1 + PIPELINE_DEPTH))
        .thread_name(|i| format!("ask-{i}"))
        .build()
        .map_err(|e| std::io::Error::other(format!("cannot start the asking threads: {e}")))
}

/// Why a trustee's thread gave no answers.
pub(crate) const LOST: &str = "internal error while asking this trustee";

/// [`Codec::lost`] for an answers struct `$a` with `url` and `failure` fields and a
/// `Default` (both versions).
macro_rules! lost_answers {
    ($a:ident) => {
        fn lost(&self, url: String) -> $a {
            $a {
                url,
                failure: Some($crate::investigator::LOST.into()),
                ..Default::default()
            }
        }
    };
}
pub(crate) use lost_answers;

/// The trustee rows of a retrieval: one voice per trustee index (a second URL answering as
/// the same trustee is `ignored`).
#[derive(Default)]
pub(crate) struct Voices {
    counted: BTreeSet<u16>,
    /// The rows, in the order the trustees were filed.
    pub(crate) rows: Vec<TrusteeRow>,
}

impl Voices {
    /// A new row for the trustee at `url` answering as `index`, or `None` (and an `ignored`
    /// row) when another URL already answered as that trustee.
    pub(crate) fn admit(
        &mut self,
        url: &str,
        index: Option<u16>,
        failure: Option<String>,
    ) -> Option<TrusteeRow> {
        let mut row = TrusteeRow::failed(url.to_string(), index, failure);
        if index.is_some_and(|i| !self.counted.insert(i)) {
            row.status = "ignored";
            self.rows.push(row);
            return None;
        }
        Some(row)
    }

    /// File a row admitted by [`Voices::admit`], its status set from what it released and
    /// refused.
    pub(crate) fn push(&mut self, mut row: TrusteeRow) {
        row.settle();
        self.rows.push(row);
    }
}

/// What a trustee did, for the final table.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrusteeRow {
    /// The URL asked.
    pub url: String,
    /// The trustee index it answered as.
    pub trustee: Option<u16>,
    /// `released`, `refused`, `released-some` (some released, some refused), `failed`, or
    /// `ignored` (another URL already answered as this trustee).
    pub status: &'static str,
    /// Shares released.
    pub released: u64,
    /// Refusals by reason code.
    pub refused: BTreeMap<String, u64>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl TrusteeRow {
    /// A row that released and refused nothing (yet): `failed`, with why when known.
    pub fn failed(url: String, trustee: Option<u16>, failure: Option<String>) -> Self {
        TrusteeRow {
            url,
            trustee,
            status: "failed",
            released: 0,
            refused: BTreeMap::new(),
            failure,
        }
    }

    /// Set the status from the shares released and refused (`released`, `refused`,
    /// `released-some`, or `failed` when neither).
    pub(crate) fn settle(&mut self) {
        self.status = match (self.released > 0, !self.refused.is_empty()) {
            (true, false) => "released",
            (false, true) => "refused",
            (true, true) => "released-some",
            (false, false) => "failed",
        };
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        let refused = || {
            self.refused
                .iter()
                .map(|(c, n)| format!("{c} ({n})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut s = match self.status {
            "released" => format!("released {}", self.released),
            "refused" => format!("refused: {}", refused()),
            "released-some" => format!("released {}, refused: {}", self.released, refused()),
            "ignored" => "ignored: another URL already answered as this trustee".into(),
            other => other.to_string(),
        };
        if let Some(f) = &self.failure {
            if self.released > 0 || !self.refused.is_empty() {
                s = format!("{s}; then failed: {f}");
            } else {
                s = format!("failed: {f}");
            }
        }
        s
    }
}

/// The outcome of one message.
#[non_exhaustive]
pub enum Outcome {
    /// Read.
    Read {
        /// Trustees whose shares were combined.
        used: Vec<u16>,
        /// Shares rejected (trustee, reason): these trustees are named as cheating.
        rejected: Vec<(u16, String)>,
        /// The plaintext body.
        body: Zeroizing<Vec<u8>>,
    },
    /// Not read.
    NotRead {
        /// Why (e.g. not enough valid shares).
        why: String,
        /// Trustee refusals (trustee, `code: detail`).
        refusals: Vec<(u16, String)>,
        /// Shares rejected (trustee, reason).
        rejected: Vec<(u16, String)>,
    },
}

/// One message's outcome.
pub struct MessageOutcome {
    /// Message id.
    pub id: String,
    /// Escrow ciphertext digest.
    pub ciphertext: CiphertextDigest,
    /// What happened.
    pub outcome: Outcome,
}

/// Version 1's side of a retrieval ([`Codec`]): the selected messages, their escrow headers
/// checked once, and the shares, refusals and receipts gathered from the trustees' answers.
struct Investigation<'a> {
    set: &'a TrusteeSet,
    env: &'a WarrantEnvelope,
    ctx: ShareContext,
    key: &'a PrivateKey,
    /// The window's messages.
    selected: Vec<&'a SealedMessage>,
    /// Every message's escrow header, checked once.
    checked: BTreeMap<CiphertextDigest, Result<ValidCiphertext, String>>,
    /// Shares that passed their proofs, per ciphertext.
    shares: BTreeMap<CiphertextDigest, Vec<VerifiedShare>>,
    refusals: BTreeMap<CiphertextDigest, Vec<(u16, String)>>,
    unopenable: BTreeMap<CiphertextDigest, Vec<(u16, String)>>,
    receipts: String,
    voices: Voices,
}

/// What one trustee answered (all batches).
#[derive(Debug, Default)]
struct TrusteeAnswers {
    /// The URL asked.
    url: String,
    /// The trustee index it answered as.
    index: Option<u16>,
    /// Valid, signed responses (signature, warrant and answered ciphertexts checked; under a
    /// release gate, the witnessed checkpoint and inclusion proofs too).
    responses: Vec<ReleaseResponse>,
    /// Per response, under a release gate: the share digest its witnessed release entry
    /// records, per ciphertext.
    logged: Vec<Option<Logged>>,
    /// Why it could not be used (unreachable, an error answer, a bad signature, …).
    failure: Option<String>,
}

/// Ciphertext digest → share digest in the witnessed release entry.
type Logged = BTreeMap<CiphertextDigest, Digest32>;

/// The investigator's check of the release gate (issue 17) on one signed answer, before any of
/// its shares is opened: when `client` carries a [`crate::GateCheck`] and the answer releases
/// a share, its checkpoint must be signed by the trustee's log key and cosigned by the
/// policy's quorum, and every release entry proven in it ([`check_release`]). The share
/// digests those entries record, to compare with the shares opened.
///
/// [`check_release`]: escrow_core::audit::witness::check_release
fn check_gate(client: &NodeClient, resp: &ReleaseResponse) -> Result<Option<Logged>, String> {
    let Some(gate) = client.gate_check() else {
        return Ok(None);
    };
    if !resp
        .results
        .iter()
        .any(|r| matches!(r, ReleaseResult::Released { .. }))
    {
        return Ok(None);
    }
    escrow_core::audit::witness::check_release(resp, &gate.log_key, &gate.policy)
        .map(|c| Some(c.shares))
        .map_err(|e| format!("answer rejected: {e}; none of its shares is used"))
}

/// [`with_policy`] when a policy is given; without one, every node [`preflight`] found.
pub fn under_policy(
    usable: Vec<(NodeClient, escrow_core::api::Info)>,
    policy: Option<&escrow_core::warrant::Policy>,
) -> (Vec<NodeClient>, Vec<(String, String)>) {
    match policy {
        Some(p) => with_policy(usable, p),
        None => (usable.into_iter().map(|(c, _)| c).collect(), Vec::new()),
    }
}

/// The trustees to ask under `policy`, from those [`preflight`] found: a node that reports
/// another policy digest in its signed `/v1/info` is not asked (URL, why); under a policy with
/// a release gate every other one gets the investigator's check ([`crate::GateCheck`], its
/// log key from that `/v1/info`).
pub fn with_policy(
    usable: Vec<(NodeClient, escrow_core::api::Info)>,
    policy: &escrow_core::warrant::Policy,
) -> (Vec<NodeClient>, Vec<(String, String)>) {
    let digest = policy.digest();
    let mut ok = Vec::new();
    let mut other = Vec::new();
    for (c, info) in usable {
        if info.policy_digest != digest {
            other.push((
                c.url().to_string(),
                format!(
                    "trustee {} reports policy {}, not the given policy {}",
                    info.trustee,
                    info.policy_digest.short(),
                    digest.short()
                ),
            ));
            continue;
        }
        ok.push(match escrow_core::audit::witness::GatePolicy::of(policy) {
            Some(gate) => c.with_gate_check(crate::GateCheck {
                log_key: info.log_key,
                policy: gate,
            }),
            None => c,
        });
    }
    (ok, other)
}

/// Verified shares (ciphertext, share) and rejected ones (ciphertext, trustee, reason).
type Checked = (
    Vec<(CiphertextDigest, VerifiedShare)>,
    Vec<(CiphertextDigest, u16, String)>,
);

/// Shares verified per batch when a response is split across the cores: large enough to
/// amortise the multi-scalar multiplication's shared doublings, small enough to keep every
/// core busy (`docs/experiments.md` has the per-share cost by batch size).
const VERIFY_CHUNK: usize = 128;

impl<'a> Investigation<'a> {
    /// Check the escrow header of every message of the window `selected` (on every core).
    fn new(
        set: &'a TrusteeSet,
        env: &'a WarrantEnvelope,
        key: &'a PrivateKey,
        selected: Vec<&'a SealedMessage>,
    ) -> Self {
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
        Investigation {
            set,
            env,
            ctx: ShareContext::warrant(env.digest()),
            key,
            selected,
            checked,
            shares: BTreeMap::new(),
            refusals: BTreeMap::new(),
            unopenable: BTreeMap::new(),
            receipts: String::new(),
            voices: Voices::default(),
        }
    }
}

impl Codec for Investigation<'_> {
    type Answers = TrusteeAnswers;

    /// Every selected message is asked for (its header is checked when a share is verified).
    fn items(&self, which: &[usize]) -> Vec<usize> {
        which.to_vec()
    }

    fn retry(&self, _: usize) -> bool {
        true
    }

    fn ask(
        &self,
        client: &NodeClient,
        batches: &[Vec<usize>],
        progress: &dyn Progress,
    ) -> TrusteeAnswers {
        let (set, env) = (self.set, self.env);
        let mut rep = TrusteeAnswers {
            url: client.url().to_string(),
            ..Default::default()
        };
        for batch in batches {
            let cts: Vec<_> = batch
                .iter()
                .filter_map(|&i| self.selected.get(i))
                .map(|m| m.escrow.clone())
                .collect();
            let requested: Vec<CiphertextDigest> = cts.iter().map(|c| c.digest()).collect();
            let body = ReleaseRequest::new(env, cts).to_json();
            let checked = client
                .release(&body, self.key)
                .map_err(|e| describe(&e))
                .and_then(|resp| {
                    resp.verify(set)
                        .map_err(|e| format!("answer rejected: {e}"))?;
                    if let Some(why) = switched_trustee(rep.index, resp.trustee) {
                        return Err(why);
                    }
                    if resp.warrant != env.digest() {
                        return Err("answer is for another warrant".into());
                    }
                    resp.check_answers(&requested)
                        .map_err(|e| format!("answer rejected: {e}"))?;
                    let logged = check_gate(client, &resp)?;
                    Ok((resp, logged))
                });
            match checked {
                Ok((resp, logged)) => {
                    rep.index = Some(resp.trustee);
                    rep.responses.push(resp);
                    rep.logged.push(logged);
                    progress.inc(batch.len() as u64);
                }
                Err(e) => {
                    rep.failure = Some(e);
                    break;
                }
            }
        }
        rep
    }

    lost_answers!(TrusteeAnswers);

    /// Open, verify and file the shares of `answers`. The shares of each response are
    /// verified together (one multi-scalar multiplication for a whole batch; a failing batch
    /// is re-checked share by share so that every bad share is named), the responses spread
    /// over the cores.
    fn add(&mut self, answers: Vec<TrusteeAnswers>) {
        for r in answers {
            let Some(mut row) = self.voices.admit(&r.url, r.index, r.failure) else {
                continue;
            };
            let checked = &self.checked;
            let (set, ctx, key) = (self.set, &self.ctx, self.key);
            let opened: Vec<Checked> = r
                .responses
                .par_iter()
                .zip(r.logged.par_iter())
                .map(|(resp, logged)| {
                    open_and_verify(resp, logged.as_ref(), set, ctx, key, checked)
                })
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
                    match res {
                        ReleaseResult::Released { .. } => row.released += 1,
                        ReleaseResult::Refused {
                            ciphertext,
                            code,
                            detail,
                            ..
                        } => {
                            *row.refused.entry(code.to_string()).or_default() += 1;
                            if let Some(c) = ciphertext {
                                self.refusals
                                    .entry(*c)
                                    .or_default()
                                    .push((resp.trustee, format!("{code}: {detail}")));
                            }
                        }
                        // An outcome this client does not know: no share, counted as refused.
                        _ => *row.refused.entry("unknown-outcome".into()).or_default() += 1,
                    }
                }
            }
            self.voices.push(row);
        }
    }

    /// Verify, combine and decrypt, messages spread over the cores.
    fn combine(&self, which: &[usize]) -> Vec<MessageOutcome> {
        let msgs: Vec<&SealedMessage> = which
            .iter()
            .filter_map(|&i| self.selected.get(i).copied())
            .collect();
        msgs.par_iter()
            .map(|m| {
                let d = m.escrow.digest();
                let got = self.shares.get(&d).map(Vec::as_slice).unwrap_or_default();
                let mut rejected = self.unopenable.get(&d).cloned().unwrap_or_default();
                let res = match self.checked.get(&d) {
                    Some(Ok(valid)) => combine_one(valid, self.set, m, &self.ctx, got, &rejected),
                    Some(Err(why)) => Err(why.clone()),
                    None => Err("escrow header not checked".into()),
                };
                let outcome = match res {
                    Ok((used, bad, body)) => {
                        rejected.extend(bad);
                        Outcome::Read {
                            used,
                            rejected,
                            body,
                        }
                    }
                    Err(why) => Outcome::NotRead {
                        why,
                        refusals: self.refusals.get(&d).cloned().unwrap_or_default(),
                        rejected,
                    },
                };
                MessageOutcome {
                    id: m.id.clone(),
                    ciphertext: d,
                    outcome,
                }
            })
            .collect()
    }

    fn finish(self) -> (Vec<TrusteeRow>, String) {
        (self.voices.rows, self.receipts)
    }
}

/// Trustees used, shares rejected, plaintext.
type Combined = (Vec<u16>, Vec<(u16, String)>, Zeroizing<Vec<u8>>);

fn combine_one(
    valid: &ValidCiphertext,
    set: &TrusteeSet,
    m: &SealedMessage,
    ctx: &ShareContext,
    got: &[VerifiedShare],
    rejected: &[(u16, String)],
) -> Result<Combined, String> {
    if got.is_empty() && rejected.is_empty() {
        return Err("no trustee released a share".into());
    }
    let c = share::combine_verified(set, valid, ctx, got).map_err(|e| {
        if matches!(e, escrow_core::Error::NotEnoughShares { .. }) {
            naming_rejected(e.to_string(), rejected)
        } else {
            e.to_string()
        }
    })?;
    let opened = m.decrypt_body(&c.message_key).map_err(|e| e.to_string())?;
    let rejected = c
        .rejected
        .iter()
        .map(|(i, e)| (*i, e.to_string()))
        .collect();
    Ok((c.used, rejected, opened.body))
}

/// Open one response's share boxes (an ECDH each) and verify its shares in batches, both
/// spread over the cores; only shares of messages whose escrow header passed its check can be
/// verified (and used).
fn open_and_verify(
    resp: &ReleaseResponse,
    logged: Option<&Logged>,
    set: &TrusteeSet,
    ctx: &ShareContext,
    key: &PrivateKey,
    checked: &BTreeMap<CiphertextDigest, Result<ValidCiphertext, String>>,
) -> Checked {
    let opened: Vec<(CiphertextDigest, escrow_core::Result<DecryptionShare>)> = resp
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
            _ => None,
        })
        .collect();
    let mut bad = Vec::new();
    let mut shares = Vec::with_capacity(opened.len());
    for (d, o) in opened {
        match o {
            // Under a release gate the share must be the one the witnessed entry records.
            Ok(s) if logged.is_some_and(|l| l.get(&d) != Some(&release::share_digest(&s))) => {
                bad.push((
                    d,
                    resp.trustee,
                    "the share is not the one its witnessed release entry records".into(),
                ));
            }
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

/// The result of a retrieval.
pub struct Retrieval {
    /// Per message, request order.
    pub outcomes: Vec<MessageOutcome>,
    /// What each trustee did.
    pub trustees: Vec<TrusteeRow>,
    /// Trustees whose shares failed their proofs, with the first reason.
    pub bad_shares: BTreeMap<u16, String>,
    /// The signed responses, one JSON per line.
    pub receipts: String,
    /// Where the time and the bytes went.
    pub stats: RetrievalStats,
}

impl Retrieval {
    /// Number of messages read.
    pub fn read(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Read { .. }))
            .count()
    }

    /// A retrieval with the outcomes and receipts a sink collected.
    pub(crate) fn collected(t: Totals, outcomes: Vec<MessageOutcome>, receipts: String) -> Self {
        Retrieval {
            outcomes,
            trustees: t.trustees,
            bad_shares: t.bad_shares,
            receipts,
            stats: t.stats,
        }
    }
}

/// What a streamed retrieval keeps to the end: the trustee rows, the trustees named as
/// cheating and the figures (the outcomes and the receipts went to the sink, window by
/// window).
#[derive(Default)]
pub struct Totals {
    /// What each trustee did.
    pub trustees: Vec<TrusteeRow>,
    /// Trustees whose shares failed their proofs, with the first reason.
    pub bad_shares: BTreeMap<u16, String>,
    /// Where the time and the bytes went.
    pub stats: RetrievalStats,
}

impl Totals {
    /// Add the totals of another retrieval from the same trustees (rows merged by URL).
    pub fn merge(&mut self, other: Totals) {
        merge_rows(&mut self.trustees, other.trustees);
        for (i, e) in other.bad_shares {
            self.bad_shares.entry(i).or_insert(e);
        }
        self.stats.ask_s += other.stats.ask_s;
        self.stats.combine_s += other.stats.combine_s;
        self.stats.write_s += other.stats.write_s;
        self.stats.request_bytes += other.stats.request_bytes;
        self.stats.response_bytes += other.stats.response_bytes;
    }
}

/// Where a streamed retrieval puts each window's outcomes (request order) and the receipts
/// of the answers that window got, one per line, as soon as the window is combined.
pub type Sink<'s> = dyn FnMut(Vec<MessageOutcome>, String) -> std::io::Result<()> + 's;

/// Merge the trustee rows `more` (of a later window or another protocol version) into `rows`,
/// by URL: counts added, the first failure kept, `ignored` sticky. A URL that answers as
/// another trustee than before is failed with why.
pub(crate) fn merge_rows(rows: &mut Vec<TrusteeRow>, more: Vec<TrusteeRow>) {
    for r in more {
        match rows.iter_mut().find(|x| x.url == r.url) {
            None => rows.push(r),
            Some(x) => {
                if let (Some(a), Some(b)) = (x.trustee, r.trustee)
                    && a != b
                {
                    x.failure.get_or_insert(format!(
                        "answered as trustee {b} after answering as {:?}",
                        Some(a)
                    ));
                }
                x.trustee = x.trustee.or(r.trustee);
                x.released += r.released;
                for (c, n) in r.refused {
                    *x.refused.entry(c).or_default() += n;
                }
                x.failure = x.failure.take().or(r.failure);
                if x.status == "ignored" || r.status == "ignored" {
                    x.status = "ignored";
                } else {
                    x.settle();
                }
            }
        }
    }
}

/// Time per phase and bytes on the wire of one retrieval (the research harness reports them).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RetrievalStats {
    /// Asking the trustees (in parallel): requests, the trustees' work, answers, signature
    /// checks. Seconds.
    pub ask_s: f64,
    /// Checking the escrow headers, opening the share boxes, verifying every share, combining,
    /// decrypting and (in [`crate::retrieval::run`]) writing. Seconds.
    pub combine_s: f64,
    /// Of `combine_s`: handing each window's outcomes to the sink (in
    /// [`crate::retrieval::run`], writing the plaintext files and the receipts). Seconds.
    pub write_s: f64,
    /// Request bodies sent, all trustees and attempts.
    pub request_bytes: u64,
    /// Answer bodies received, all trustees and attempts.
    pub response_bytes: u64,
}

/// `why`, with the rejected shares named when there are any.
pub(crate) fn naming_rejected(why: String, rejected: &[(u16, String)]) -> String {
    if rejected.is_empty() {
        return why;
    }
    let names: Vec<String> = rejected
        .iter()
        .map(|(i, e)| format!("trustee {i}: {e}"))
        .collect();
    format!("{why}; rejected: {}", names.join("; "))
}

/// Release batches per window of a streamed retrieval: a window of `batch ×
/// WINDOW_BATCHES` messages is asked for, combined, decrypted and handed to the sink before
/// the next is asked for, so what the investigator holds (checked headers, verified shares,
/// outcomes, receipts) is bounded by the window, not by the number of messages. Twice the
/// pipeline depth ([`PIPELINE_DEPTH`]), so that a window keeps the
/// trustees' pipelines full for most of its time.
pub const WINDOW_BATCHES: usize = 8;

/// Messages per window for requests of `batch` ciphertexts ([`WINDOW_BATCHES`]).
pub fn window_size(batch: usize) -> usize {
    batch.max(1).saturating_mul(WINDOW_BATCHES)
}

/// Ask the trustees for shares of `selected` under `env`, verify, combine and decrypt.
///
/// With [`Strategy::threshold_first`], only the first k clients are asked at first, and the
/// others only for the messages that did not decrypt (a trustee down, refusing or cheating).
/// Otherwise every client is asked at once. Every outcome is kept until the end; a large
/// retrieval streams them instead ([`retrieve_streamed`]).
pub fn retrieve(
    clients: &[NodeClient],
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    selected: &[SealedMessage],
    strategy: Strategy,
    progress: &dyn Progress,
) -> Retrieval {
    let refs: Vec<&SealedMessage> = selected.iter().collect();
    let mut outcomes = Vec::new();
    let mut receipts = String::new();
    let totals = retrieve_streamed(
        clients,
        set,
        env,
        key,
        &refs,
        strategy,
        progress,
        &mut |o, r| {
            outcomes.extend(o);
            receipts.push_str(&r);
            Ok(())
        },
    );
    // The sink above never fails.
    Retrieval::collected(totals.unwrap_or_default(), outcomes, receipts)
}

/// [`retrieve`], window by window ([`window_size`]): each window's outcomes and receipts go to
/// `sink` as soon as it is combined (an error from the sink stops the retrieval).
#[allow(clippy::too_many_arguments)]
pub fn retrieve_streamed(
    clients: &[NodeClient],
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    selected: &[&SealedMessage],
    strategy: Strategy,
    progress: &dyn Progress,
    sink: &mut Sink<'_>,
) -> std::io::Result<Totals> {
    drive_selected(clients, set, selected, strategy, progress, sink, |m| {
        Investigation::new(set, env, key, m)
    })
}

/// [`drive`] over the messages `selected` of one version, window by window
/// ([`window_size`]), with the codec `make` builds for a window's messages (both versions).
pub(crate) fn drive_selected<'m, M, C: Codec>(
    clients: &[NodeClient],
    set: &TrusteeSet,
    selected: &'m [&'m M],
    strategy: Strategy,
    progress: &dyn Progress,
    sink: &mut Sink<'_>,
    mut make: impl FnMut(Vec<&'m M>) -> C,
) -> std::io::Result<Totals> {
    drive(
        |w| make(selected.get(w).unwrap_or_default().to_vec()),
        clients,
        usize::from(set.threshold()),
        selected.len(),
        strategy,
        window_size(strategy.batch),
        progress,
        sink,
    )
}

/// The clients of `cs` that have not failed.
fn live<'c>(cs: &'c [NodeClient], failed: &BTreeSet<String>) -> Vec<&'c NodeClient> {
    cs.iter()
        .filter(|c| !failed.contains(&c.url().to_string()))
        .collect()
}

/// The retrieval of `n` selected messages, window by window (`window` messages each): for
/// each window, the codec `make` builds for it (its time counts as combining: it checks the
/// window's escrow headers) asks the trustees, combines, and the outcomes and receipts go to
/// `sink` before the next window is made, for both protocol versions. A trustee that failed
/// in a window is not asked again; the rows of every window are merged by URL.
#[allow(clippy::too_many_arguments)]
pub(crate) fn drive<C: Codec>(
    mut make: impl FnMut(std::ops::Range<usize>) -> C,
    clients: &[NodeClient],
    k: usize,
    n: usize,
    strategy: Strategy,
    window: usize,
    progress: &dyn Progress,
    sink: &mut Sink<'_>,
) -> std::io::Result<Totals> {
    let (first, rest) = if strategy.threshold_first && clients.len() > k {
        clients.split_at(k)
    } else {
        (clients, &[][..])
    };
    let window = window.max(1);
    // At least one window, even an empty one, so that every trustee gets its row.
    let windows: Vec<std::ops::Range<usize>> = if n == 0 {
        std::iter::once(0..0).collect()
    } else {
        (0..n)
            .step_by(window)
            .map(|s| s..s.saturating_add(window).min(n))
            .collect()
    };
    let mut traffic = (0, 0);
    let (mut ask_s, mut combine_s, mut write_s) = (0.0, 0.0, 0.0);
    let mut totals = Totals::default();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let pool = asking_pool(clients.len())?;
    progress.start("asking trustees", (n * first.len()) as u64);
    for w in windows {
        let (first, rest) = (live(first, &failed), live(rest, &failed));
        let t = Instant::now();
        let mut codec = make(w.clone());
        let all: Vec<usize> = (0..w.len()).collect();
        let items = codec.items(&all);
        combine_s += t.elapsed().as_secs_f64();

        let t = Instant::now();
        let answers = ask_all(
            &pool,
            &codec,
            &first,
            &items,
            strategy.batch,
            progress,
            &mut traffic,
        );
        ask_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        codec.add(answers);
        let mut outcomes = codec.combine(&all);
        combine_s += t.elapsed().as_secs_f64();

        let missing: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(i, o)| matches!(o.outcome, Outcome::NotRead { .. }) && codec.retry(*i))
            .map(|(i, _)| i)
            .collect();
        if !rest.is_empty() && !missing.is_empty() {
            let items = codec.items(&missing);
            let t = Instant::now();
            let more = ask_all(
                &pool,
                &codec,
                &rest,
                &items,
                strategy.batch,
                &NoProgress,
                &mut traffic,
            );
            ask_s += t.elapsed().as_secs_f64();
            let t = Instant::now();
            codec.add(more);
            let again = codec.combine(&missing);
            for (&i, o) in missing.iter().zip(again) {
                if let Some(slot) = outcomes.get_mut(i) {
                    *slot = o;
                }
            }
            combine_s += t.elapsed().as_secs_f64();
        }

        for o in &outcomes {
            let rejected = match &o.outcome {
                Outcome::Read { rejected, .. } | Outcome::NotRead { rejected, .. } => rejected,
            };
            for (i, e) in rejected {
                totals.bad_shares.entry(*i).or_insert_with(|| e.clone());
            }
        }
        let (rows, receipts) = codec.finish();
        merge_rows(&mut totals.trustees, rows);
        failed.extend(
            totals
                .trustees
                .iter()
                .filter(|r| r.failure.is_some())
                .map(|r| r.url.clone()),
        );
        let t = Instant::now();
        let sunk = sink(outcomes, receipts);
        let sunk_s = t.elapsed().as_secs_f64();
        combine_s += sunk_s;
        write_s += sunk_s;
        if let Err(e) = sunk {
            progress.finish();
            return Err(e);
        }
    }
    progress.finish();
    totals.stats = RetrievalStats {
        ask_s,
        combine_s,
        write_s,
        request_bytes: traffic.0,
        response_bytes: traffic.1,
    };
    Ok(totals)
}

/// Why the trustees given cannot serve a retrieval; found before any release request is sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PreflightError {
    /// The same URL twice: its trustee would release (and log) twice, and count once.
    #[error("{0} is given twice; give each trustee once")]
    DuplicateUrl(String),
    /// Fewer URLs than the threshold: nothing could be read.
    #[error("{given} trustee URL(s) given, but {k} trustees are needed to read anything")]
    TooFewUrls {
        /// URLs given.
        given: usize,
        /// Threshold.
        k: u16,
    },
    /// A node of another trustee set (or one whose keys are not the set's).
    #[error("{url}: {detail}")]
    OtherSet {
        /// The node.
        url: String,
        /// What differs.
        detail: String,
    },
    /// Two URLs answer as the same trustee.
    #[error("{first} and {second} both answer as trustee {index}; give each trustee once")]
    SameTrustee {
        /// The trustee index.
        index: u16,
        /// One URL.
        first: String,
        /// The other.
        second: String,
    },
    /// Fewer than k nodes reachable: nothing could be read (an outage, not a usage error).
    #[error("only {reachable} of the trustees answered /v1/info, {k} are needed: {failures}")]
    TooFewReachable {
        /// Reachable nodes.
        reachable: usize,
        /// Threshold.
        k: u16,
        /// The failures, one per node.
        failures: String,
    },
    /// A client error that is the user's (a bad or insecure URL, an unusable CA file).
    #[error(transparent)]
    Client(crate::ClientError),
}

impl PreflightError {
    /// The URL named as the culprit: the one given twice, of another set, or the second
    /// answering as a trustee already seen (or the client error's); `None` when no one node is
    /// at fault (too few URLs, too few reachable).
    pub fn culprit(&self) -> Option<&str> {
        match self {
            PreflightError::DuplicateUrl(url)
            | PreflightError::OtherSet { url, .. }
            | PreflightError::SameTrustee { second: url, .. } => Some(url),
            PreflightError::Client(e) => e.culprit(),
            PreflightError::TooFewUrls { .. } | PreflightError::TooFewReachable { .. } => None,
        }
    }

    /// A usage error (the trustees given are wrong), as opposed to an outage.
    pub fn is_usage(&self) -> bool {
        !matches!(self, PreflightError::TooFewReachable { .. })
    }
}

/// The nodes that passed the check (in the order given) and those that did not answer.
pub struct Reachable {
    /// Reachable nodes of this set, distinct trustees.
    pub usable: Vec<(NodeClient, escrow_core::api::Info)>,
    /// Nodes that did not answer `/v1/info` (URL, why).
    pub unreachable: Vec<(String, String)>,
}

/// Before any release request: every URL distinct, at least k of them, each reachable node of
/// this trustee set (same set id, its index's keys), no trustee twice, at least k reachable.
pub fn preflight(clients: Vec<NodeClient>, set: &TrusteeSet) -> Result<Reachable, PreflightError> {
    let k = set.threshold();
    let mut seen = BTreeSet::new();
    for c in &clients {
        if !seen.insert(c.url().as_str().to_ascii_lowercase()) {
            return Err(PreflightError::DuplicateUrl(c.url().to_string()));
        }
    }
    if clients.len() < usize::from(k) {
        return Err(PreflightError::TooFewUrls {
            given: clients.len(),
            k,
        });
    }
    let infos: Vec<Result<escrow_core::api::Info, crate::ClientError>> = std::thread::scope(|s| {
        let hs: Vec<_> = clients.iter().map(|c| s.spawn(move || c.info())).collect();
        hs.into_iter()
            .zip(&clients)
            .map(|(h, c)| {
                h.join().unwrap_or_else(|_| {
                    Err(crate::ClientError::Unreachable {
                        url: c.url().to_string(),
                        detail: "internal error".into(),
                    })
                })
            })
            .collect()
    });
    let mut usable: Vec<(NodeClient, escrow_core::api::Info)> = Vec::new();
    let mut unreachable = Vec::new();
    for (c, info) in clients.into_iter().zip(infos) {
        let url = c.url().to_string();
        let info = match info {
            Ok(i) => i,
            Err(e) if e.is_usage() => return Err(PreflightError::Client(e)),
            Err(e) => {
                unreachable.push((url, e.to_string()));
                continue;
            }
        };
        let other = |detail: String| PreflightError::OtherSet {
            url: url.clone(),
            detail,
        };
        if info.set_id != set.id() {
            return Err(other(format!(
                "a node of another trustee set ({}, not {})",
                info.set_id.short(),
                set.id().short()
            )));
        }
        let member = set.member(info.trustee).map_err(|e| other(e.to_string()))?;
        if info.signing_key_id != member.signing_key.key_id()
            || info.verification_key != member.verification_key.to_hex()
        {
            return Err(other(format!(
                "answers as trustee {} but its keys are not that trustee's in the set",
                info.trustee
            )));
        }
        // The log key is this trustee's only if its signing key in the set says so, and the
        // whole answer is signed by it (no trust on first use).
        info.verify(set).map_err(|e| other(e.to_string()))?;
        // Over HTTPS the connection is this trustee's only if its TLS key is the one the
        // trustee bound (a CA-valid certificate is not enough); pinned for every later request.
        c.bind_tls(&info).map_err(|e| other(e.to_string()))?;
        if let Some((first, _)) = usable.iter().find(|(_, i)| i.trustee == info.trustee) {
            return Err(PreflightError::SameTrustee {
                index: info.trustee,
                first: first.url().to_string(),
                second: url,
            });
        }
        usable.push((c, info));
    }
    if usable.len() < usize::from(k) {
        let failures = unreachable
            .iter()
            .map(|(_, e)| e.clone())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(PreflightError::TooFewReachable {
            reachable: usable.len(),
            k,
            failures,
        });
    }
    Ok(Reachable {
        usable,
        unreachable,
    })
}

/// Check one mailbox message before it is used: its id is the label's message id and keeps to
/// the label's character set (letters, digits, `.`, `_`, `-`), so that it names a file inside
/// the output folder and nothing else.
pub fn check_message(m: &SealedMessage) -> Result<(), String> {
    m.escrow
        .label
        .check()
        .map_err(|e| format!("message {:?}: {e}", m.id))?;
    m.check_structure().map_err(|e| e.to_string())?;
    output_name(&m.id).map(|_| ())
}

/// The output file name of a message: `<id>.txt`, for an id of the safe character set only
/// (one plain path component; never `..`, a separator or an absolute path).
pub fn output_name(id: &str) -> Result<String, String> {
    let safe = !id.is_empty()
        && id.len() <= escrow_core::label::MAX_MESSAGE_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let name = format!("{id}.txt");
    let one_component = {
        let mut cs = std::path::Path::new(&name).components();
        matches!(
            (cs.next(), cs.next()),
            (Some(std::path::Component::Normal(_)), None)
        )
    };
    if safe && one_component {
        Ok(name)
    } else {
        Err(format!(
            "message id {id:?} is not a safe file name (letters, digits, '.', '_', '-' only)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_culprit_names_the_url_at_fault() {
        let url = |u: &str| u.to_string();
        assert_eq!(
            PreflightError::DuplicateUrl(url("https://a")).culprit(),
            Some("https://a")
        );
        let other = PreflightError::OtherSet {
            url: url("https://b"),
            detail: String::new(),
        };
        assert_eq!(other.culprit(), Some("https://b"));
        let same = PreflightError::SameTrustee {
            index: 2,
            first: url("https://c"),
            second: url("https://d"),
        };
        assert_eq!(same.culprit(), Some("https://d"));
        let client = PreflightError::Client(crate::ClientError::InsecureUrl {
            url: url("http://e.example"),
        });
        assert_eq!(client.culprit(), Some("http://e.example"));
        assert_eq!(
            PreflightError::TooFewUrls { given: 1, k: 2 }.culprit(),
            None
        );
        let reach = PreflightError::TooFewReachable {
            reachable: 1,
            k: 2,
            failures: String::new(),
        };
        assert_eq!(reach.culprit(), None);
    }

    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A codec that asks nobody: a trustee answers every item it is asked for, except that
    /// the trustee at `https://a` refuses every seventh message (so that threshold-first asks
    /// the other trustee for them); a message is read with two answers. It counts the codecs
    /// alive and the answers (shares) each holds.
    struct Mock<'a> {
        start: usize,
        len: usize,
        answers: BTreeMap<usize, usize>,
        held: usize,
        live: &'a AtomicUsize,
        max_held: &'a AtomicUsize,
    }

    impl Drop for Mock<'_> {
        fn drop(&mut self) {
            self.live.fetch_sub(1, Ordering::SeqCst);
        }
    }

    impl Codec for Mock<'_> {
        type Answers = (String, Vec<usize>);
        fn items(&self, which: &[usize]) -> Vec<usize> {
            assert!(
                which.iter().all(|&i| i < self.len),
                "an item outside the window"
            );
            which.to_vec()
        }
        fn retry(&self, _: usize) -> bool {
            true
        }
        fn ask(&self, c: &NodeClient, batches: &[Vec<usize>], p: &dyn Progress) -> Self::Answers {
            let url = c.url().to_string();
            let refuses = |i: usize| url.contains("//a") && (self.start + i).is_multiple_of(7);
            let items: Vec<usize> = batches
                .concat()
                .into_iter()
                .filter(|&i| !refuses(i))
                .collect();
            p.inc(items.len() as u64);
            (url, items)
        }
        fn lost(&self, url: String) -> Self::Answers {
            (url, Vec::new())
        }
        fn add(&mut self, answers: Vec<Self::Answers>) {
            for (_, items) in answers {
                for i in items {
                    *self.answers.entry(i).or_default() += 1;
                    self.held += 1;
                }
            }
            self.max_held.fetch_max(self.held, Ordering::SeqCst);
        }
        fn combine(&self, which: &[usize]) -> Vec<MessageOutcome> {
            which
                .iter()
                .map(|&i| MessageOutcome {
                    id: (self.start + i).to_string(),
                    ciphertext: CiphertextDigest::from_bytes([0; 32]),
                    outcome: if self.answers.get(&i).copied().unwrap_or(0) >= 2 {
                        Outcome::Read {
                            used: vec![],
                            rejected: vec![],
                            body: Zeroizing::new(vec![]),
                        }
                    } else {
                        Outcome::NotRead {
                            why: "not enough shares".into(),
                            refusals: vec![],
                            rejected: vec![],
                        }
                    },
                })
                .collect()
        }
        fn finish(self) -> (Vec<TrusteeRow>, String) {
            (Vec::new(), format!("window {}\n", self.start))
        }
    }

    /// The retrieval holds one window at a time: however many messages, at most one codec
    /// (checked headers, shares, outcomes) is alive, it never holds more answers than the
    /// window's messages times the trustees asked, and each window's outcomes leave for the
    /// sink before the next window is made; threshold-first still asks the other trustee for
    /// what the first ones did not give, window by window.
    #[test]
    fn a_retrieval_holds_one_window_at_a_time() {
        let cfg = crate::ClientConfig {
            allow_insecure_http: true,
            ..crate::ClientConfig::default()
        };
        let clients: Vec<NodeClient> = ["http://a", "http://b", "http://c"]
            .iter()
            .map(|u| NodeClient::new(u, &cfg).expect("a client"))
            .collect();
        let (live, max_live, max_held) = (
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        );
        // Outcomes handed to the sink so far.
        let sunk = AtomicUsize::new(0);
        let strategy = Strategy {
            batch: 5,
            threshold_first: true,
        };
        let window = window_size(strategy.batch);
        let n = 25 * window + 3;
        let mut seen = Vec::new();
        let mut receipts = String::new();
        let mut largest = 0;
        let totals = drive(
            |w| {
                assert_eq!(
                    sunk.load(Ordering::SeqCst),
                    w.start,
                    "a window made before the previous ones went to the sink"
                );
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                max_live.fetch_max(now, Ordering::SeqCst);
                Mock {
                    start: w.start,
                    len: w.len(),
                    answers: BTreeMap::new(),
                    held: 0,
                    live: &live,
                    max_held: &max_held,
                }
            },
            &clients,
            2,
            n,
            strategy,
            window,
            &NoProgress,
            &mut |outcomes, r| {
                largest = largest.max(outcomes.len());
                sunk.fetch_add(outcomes.len(), Ordering::SeqCst);
                seen.extend(
                    outcomes
                        .into_iter()
                        .map(|o| (o.id, matches!(o.outcome, Outcome::Read { .. }))),
                );
                receipts.push_str(&r);
                Ok(())
            },
        )
        .expect("the mock sink does not fail");
        assert!(totals.bad_shares.is_empty());
        assert_eq!(max_live.load(Ordering::SeqCst), 1, "one window at a time");
        assert_eq!(live.load(Ordering::SeqCst), 0);
        assert!(
            largest <= window,
            "a window of {largest} outcomes (window {window})"
        );
        let held = max_held.load(Ordering::SeqCst);
        assert!(
            held <= window * 3,
            "{held} answers held at once (window {window})"
        );
        // Every message, in order, read (those the first trustee refused from the third).
        let want: Vec<(String, bool)> = (0..n).map(|i| (i.to_string(), true)).collect();
        assert_eq!(seen, want);
        assert_eq!(receipts.lines().count(), n.div_ceil(window));
    }
}
