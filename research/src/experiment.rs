//! The runners behind `escrow experiment`: parameter sweeps over (n, k) and the number of
//! messages, trustee failures and malicious trustees, and parallel batches. Each runner
//! returns rows; [`write_run`] writes them as CSV, SVG plots and `run.json`.
//!
//! All of it runs in one process on this machine: no trustee nodes, no network, no warrants.
//! It measures the cryptographic work the nodes and the investigator will do; the end-to-end
//! measurement over loopback is added when the node and the retrieval exist.

use crate::floor::{self, Primitives};
use crate::naive::{self, NAIVE_SHARE_BYTES, NaiveSet, NaiveShare};
use crate::plot::{self, Chart, Scale, Series};
use crate::record::{Commit, Machine, RunRecord, Versions, load_average, unix_now};
use crate::stats::{self, Summary, us};
use crate::workload::{self, Message};
use crate::{Error, Result};
use escrow_core::group::Point;
use escrow_core::share::{self, DecryptionShare, ShareContext};
use escrow_core::tdh2::{self, EscrowCiphertext};
use escrow_core::trustee::{self, TrusteeSet, VerifiedKeyShare};
use p256::ProjectivePoint;
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Most messages one run may process.
pub const MAX_MESSAGES: usize = 100_000;
/// Bytes of one released decryption share on the wire: trustee index (2), `d_i` (33), the
/// batchable proof's commitments `a_i`, `b_i` (33 each) and `z_i` (32). The ciphertext digest
/// and the warrant digest it is bound to are known to the receiver and not counted.
pub const SHARE_WIRE_BYTES: usize = 2 + 33 + 33 + 33 + 32;

/// Check a message count: at least 1, at most [`MAX_MESSAGES`].
pub fn check_messages(messages: usize) -> Result<()> {
    if messages == 0 {
        return Err(Error::Parameters(
            "the number of messages must be at least 1".into(),
        ));
    }
    if messages > MAX_MESSAGES {
        return Err(Error::Parameters(format!(
            "at most {MAX_MESSAGES} messages per run, got {messages}"
        )));
    }
    Ok(())
}

/// Check one (n, k) with the trustee set's own rules (1 <= k <= n <= 255).
pub fn check_pair(n: u64, k: u64) -> Result<(u16, u16)> {
    trustee::check_parameters(n, k).map_err(|e| match e {
        escrow_core::Error::InvalidParameters(why) => Error::Parameters(why),
        other => Error::Core(other),
    })
}

/// Pair up `--n` and `--k` lists: position by position when they have the same length; a
/// single value on either side is used with every value on the other.
pub fn pairs(ns: &[u64], ks: &[u64]) -> Result<Vec<(u16, u16)>> {
    let raw: Vec<(u64, u64)> = match (ns.len(), ks.len()) {
        (0, _) | (_, 0) => {
            return Err(Error::Parameters("give at least one n and one k".into()));
        }
        (a, b) if a == b => ns.iter().copied().zip(ks.iter().copied()).collect(),
        (1, _) => ks
            .iter()
            .map(|&k| (ns.first().copied().unwrap_or(0), k))
            .collect(),
        (_, 1) => ns
            .iter()
            .map(|&n| (n, ks.first().copied().unwrap_or(0)))
            .collect(),
        (a, b) => {
            return Err(Error::Parameters(format!(
                "{a} values of n but {b} values of k: give as many of each (paired in order), \
                 or a single value on one side"
            )));
        }
    };
    raw.into_iter().map(|(n, k)| check_pair(n, k)).collect()
}

/// A dealt trustee set with the first k key shares verified (what a combiner needs).
pub struct Dealt {
    /// The public set.
    pub set: TrusteeSet,
    /// Every trustee's verified key share, index order.
    pub keys: Vec<VerifiedKeyShare>,
    /// Time to deal, microseconds.
    pub deal_us: f64,
}

/// Deal a k-of-n set and verify every key share.
pub fn deal(n: u16, k: u16) -> Result<Dealt> {
    let mut rng = rand::rng();
    let t = Instant::now();
    let d = trustee::deal(n.into(), k.into(), &mut rng)?;
    let deal_us = us(t.elapsed());
    let keys = d
        .secrets
        .into_iter()
        .map(|s| d.set.verify_share(s.key_share))
        .collect::<escrow_core::Result<Vec<_>>>()?;
    Ok(Dealt {
        set: d.set,
        keys,
        deal_us,
    })
}

// ---------------------------------------------------------------------------------------
// sweep

/// Parameters of a sweep.
#[derive(Clone, Debug, Serialize)]
pub struct SweepParams {
    /// (n, k) pairs.
    pub pairs: Vec<(u16, u16)>,
    /// Messages per pair.
    pub messages: usize,
    /// Also run the naive baseline on the same messages.
    pub naive: bool,
    /// Repetitions for each floor primitive.
    pub floor_reps: usize,
}

/// One operation of one scheme at one (n, k).
#[derive(Clone, Debug, Serialize)]
pub struct OpRow {
    /// `ours` or `naive`.
    pub scheme: &'static str,
    /// Trustees.
    pub n: u16,
    /// Threshold.
    pub k: u16,
    /// `setup`, `seal`, `check`, `share`, `verify`, `combine`.
    pub operation: &'static str,
    /// What one sample is: `set`, `message` or `share`.
    pub unit: &'static str,
    /// Timing summary per unit.
    pub time: Summary,
    /// Floor (sum of the curve operations), microseconds per unit.
    pub floor_us: Option<f64>,
    /// Bytes per unit (escrow header per message, share on the wire, shares a combiner
    /// receives per message).
    pub bytes: Option<usize>,
}

impl OpRow {
    /// The rows of one scheme at one (n, k): `row(operation, unit, time, floor_us, bytes)`.
    pub fn maker(
        scheme: &'static str,
        n: u16,
        k: u16,
    ) -> impl Fn(&'static str, &'static str, Summary, Option<f64>, Option<usize>) -> OpRow {
        move |operation, unit, time, floor_us, bytes| OpRow {
            scheme,
            n,
            k,
            operation,
            unit,
            time,
            floor_us,
            bytes,
        }
    }

    /// Median over floor.
    pub fn ratio_to_floor(&self) -> Option<f64> {
        self.floor_us
            .filter(|f| *f > 0.0)
            .map(|f| self.time.median_us / f)
    }
}

/// What a sweep measured.
#[derive(Clone, Debug, Serialize)]
pub struct SweepResult {
    /// The primitives, measured in the same run.
    pub primitives: Primitives,
    /// k-term `lincomb_vartime` medians, microseconds, by k.
    pub lincomb_k_us: Vec<(u16, f64)>,
    /// The rows.
    pub rows: Vec<OpRow>,
}

fn summarize(v: &mut [f64]) -> Summary {
    stats::summarize(v)
}

/// Run a sweep. `progress` receives one line per stage.
pub fn sweep(p: &SweepParams, progress: &mut dyn FnMut(&str)) -> Result<SweepResult> {
    check_messages(p.messages)?;
    if p.pairs.is_empty() {
        return Err(Error::Parameters("no (n, k) pairs".into()));
    }
    let mut rng = rand::rng();
    progress("measuring the floor primitives");
    let prim = Primitives::measure(p.floor_reps.max(10), &mut rng);
    let msgs = workload::messages(p.messages, &mut rng)?;
    let mut rows = Vec::new();
    let mut lincombs = Vec::new();
    for &(n, k) in &p.pairs {
        let reps = (p.floor_reps / 4).max(5);
        let lk = floor::measure_lincomb_k(usize::from(k), reps, &mut rng);
        let batch = floor::measure_lincomb_k(4 * usize::from(k) + 2, reps, &mut rng);
        lincombs.push((k, lk));
        progress(&format!("n = {n}, k = {k}: ours, {} messages", p.messages));
        rows.extend(sweep_ours(n, k, &msgs, &prim, (lk, batch))?);
        if p.naive {
            progress(&format!("n = {n}, k = {k}: naive, {} messages", p.messages));
            rows.extend(sweep_naive(n, k, &msgs, &prim)?);
        }
    }
    Ok(SweepResult {
        primitives: prim,
        lincomb_k_us: lincombs,
        rows,
    })
}

fn sweep_ours(
    n: u16,
    k: u16,
    msgs: &[Message],
    prim: &Primitives,
    (lincomb_k, batch): (f64, f64),
) -> Result<Vec<OpRow>> {
    let mut rng = rand::rng();
    let d = deal(n, k)?;
    let ctx = ShareContext::without_warrant();
    let m = msgs.len();
    let (mut seal, mut check, mut share, mut verify, mut combine) = (
        Vec::with_capacity(m),
        Vec::with_capacity(m),
        Vec::with_capacity(m),
        Vec::with_capacity(m),
        Vec::with_capacity(m),
    );
    let mut header_bytes = 0usize;
    let signers: Vec<&VerifiedKeyShare> = d.keys.iter().take(usize::from(k)).collect();
    // The first few messages run twice: once to warm up (caches, allocator, lazy tables),
    // untimed, then for the record.
    let warm = WARM_UP.min(m);
    for msg in msgs.iter().take(warm).chain(msgs) {
        let t = Instant::now();
        let (ct, _r) = tdh2::encapsulate(&d.set, &msg.label, &msg.key, &mut rng)?;
        seal.push(us(t.elapsed()));
        header_bytes = header_bytes.max(ct.canonical_bytes().len());

        let t = Instant::now();
        let valid = ct.check(&d.set)?;
        check.push(us(t.elapsed()));

        let t = Instant::now();
        let shares = signers
            .iter()
            .map(|ks| ks.decryption_share(&valid, &ctx, &mut rng))
            .collect::<escrow_core::Result<Vec<DecryptionShare>>>()?;
        share.push(us(t.elapsed()) / f64::from(k));

        if let Some(s) = shares.first() {
            let t = Instant::now();
            s.verify(&d.set, &valid, &ctx)?;
            verify.push(us(t.elapsed()));
        }

        let t = Instant::now();
        let c = share::combine(&d.set, &valid, &ctx, &shares)?;
        combine.push(us(t.elapsed()));
        if c.message_key != msg.key {
            return Err(Error::WrongResult(format!(
                "ours, n = {n}, k = {k}: recovered key differs for {}",
                msg.label.message_id
            )));
        }
    }
    for v in [&mut seal, &mut check, &mut share, &mut verify, &mut combine] {
        v.drain(..warm.min(v.len()));
    }
    let row = OpRow::maker("ours", n, k);
    Ok(vec![
        row("setup", "set", summarize(&mut [d.deal_us]), None, None),
        row(
            "seal",
            "message",
            summarize(&mut seal),
            Some(prim.seal()),
            Some(header_bytes),
        ),
        row(
            "check",
            "message",
            summarize(&mut check),
            Some(prim.check()),
            None,
        ),
        row(
            "share",
            "share",
            summarize(&mut share),
            Some(prim.share()),
            Some(SHARE_WIRE_BYTES),
        ),
        row(
            "verify",
            "share",
            summarize(&mut verify),
            Some(prim.verify()),
            None,
        ),
        row(
            "combine",
            "message",
            summarize(&mut combine),
            Some(prim.combine(lincomb_k, batch)),
            Some(usize::from(k) * SHARE_WIRE_BYTES),
        ),
    ])
}

fn sweep_naive(n: u16, k: u16, msgs: &[Message], prim: &Primitives) -> Result<Vec<OpRow>> {
    let mut rng = rand::rng();
    let t = Instant::now();
    let set = NaiveSet::generate(n.into(), k.into(), &mut rng)?;
    let setup_us = us(t.elapsed());
    let m = msgs.len();
    let (mut seal, mut share, mut combine) = (
        Vec::with_capacity(m),
        Vec::with_capacity(m),
        Vec::with_capacity(m),
    );
    let mut header_bytes = 0usize;
    let warm = WARM_UP.min(m);
    for msg in msgs.iter().take(warm).chain(msgs) {
        let t = Instant::now();
        let ct = set.seal(&msg.label, &msg.key, &mut rng)?;
        seal.push(us(t.elapsed()));
        header_bytes = header_bytes.max(ct.wire_len());

        let t = Instant::now();
        let shares = (1..=k)
            .map(|i| set.trustee_share(i, &ct))
            .collect::<Result<Vec<NaiveShare>>>()?;
        share.push(us(t.elapsed()) / f64::from(k));

        let t = Instant::now();
        let key = naive::combine(k, &shares)?;
        combine.push(us(t.elapsed()));
        if key != msg.key {
            return Err(Error::WrongResult(format!(
                "naive, n = {n}, k = {k}: recovered key differs for {}",
                msg.label.message_id
            )));
        }
    }
    for v in [&mut seal, &mut share, &mut combine] {
        v.drain(..warm.min(v.len()));
    }
    let row = OpRow::maker("naive", n, k);
    Ok(vec![
        row("setup", "set", summarize(&mut [setup_us]), None, None),
        row(
            "seal",
            "message",
            summarize(&mut seal),
            Some(prim.naive_seal(n)),
            Some(header_bytes),
        ),
        row(
            "share",
            "share",
            summarize(&mut share),
            Some(prim.naive_share()),
            Some(NAIVE_SHARE_BYTES),
        ),
        row(
            "combine",
            "message",
            summarize(&mut combine),
            None,
            Some(usize::from(k) * NAIVE_SHARE_BYTES),
        ),
    ])
}

/// CSV columns of a sweep.
pub const SWEEP_COLUMNS: &[&str] = &[
    "scheme",
    "n",
    "k",
    "operation",
    "unit",
    "count",
    "total_ms",
    "mean_us",
    "median_us",
    "p95_us",
    "floor_us",
    "ratio_to_floor",
    "bytes",
];

impl SweepResult {
    /// CSV rows, [`SWEEP_COLUMNS`].
    pub fn csv_rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| {
                vec![
                    r.scheme.to_string(),
                    r.n.to_string(),
                    r.k.to_string(),
                    r.operation.to_string(),
                    r.unit.to_string(),
                    r.time.count.to_string(),
                    crate::csv::num(Some(r.time.total_ms)),
                    crate::csv::num(Some(r.time.mean_us)),
                    crate::csv::num(Some(r.time.median_us)),
                    crate::csv::num(Some(r.time.p95_us)),
                    crate::csv::num(r.floor_us),
                    crate::csv::num(r.ratio_to_floor()),
                    r.bytes.map(|b| b.to_string()).unwrap_or_default(),
                ]
            })
            .collect()
    }

    fn series(&self, scheme: &str, op: &str, y: impl Fn(&OpRow) -> Option<f64>) -> Option<Series> {
        let points: Vec<(f64, f64)> = self
            .rows
            .iter()
            .filter(|r| r.scheme == scheme && r.operation == op)
            .filter_map(|r| y(r).map(|v| (f64::from(r.n), v)))
            .collect();
        if points.is_empty() {
            None
        } else {
            Some(Series::line(format!("{scheme} {op}"), points))
        }
    }

    /// The plots: time per unit against n, and bytes per message against n.
    pub fn charts(&self) -> Vec<(String, Chart<'static>)> {
        let mut time = Vec::new();
        for (scheme, op) in [
            ("ours", "seal"),
            ("naive", "seal"),
            ("ours", "share"),
            ("naive", "share"),
            ("ours", "combine"),
            ("naive", "combine"),
            ("ours", "check"),
        ] {
            time.extend(self.series(scheme, op, |r| Some(r.time.median_us)));
        }
        let mut bytes = Vec::new();
        for scheme in ["ours", "naive"] {
            bytes.extend(self.series(scheme, "seal", |r| r.bytes.map(|b| b as f64)));
        }
        vec![
            (
                "sweep.svg".into(),
                Chart {
                    title: "Time per operation (median): ours vs naive",
                    x_label: "trustees n (k paired as given)",
                    y_label: "microseconds per message (seal, combine) / per share",
                    x: Scale::LogCount,
                    y: Scale::Log,
                    series: time,
                    targets: Vec::new(),
                },
            ),
            (
                "sweep-bytes.svg".into(),
                Chart {
                    title: "Escrow header bytes per message",
                    x_label: "trustees n",
                    y_label: "bytes",
                    x: Scale::LogCount,
                    y: Scale::LogCount,
                    series: bytes,
                    targets: Vec::new(),
                },
            ),
        ]
    }
}

// ---------------------------------------------------------------------------------------
// failures

/// Parameters of a failure experiment.
#[derive(Clone, Debug, Serialize)]
pub struct FailureParams {
    /// Trustees.
    pub n: u16,
    /// Threshold.
    pub k: u16,
    /// Numbers of trustees that are down (send nothing): trustees 1..=down.
    pub down: Vec<u16>,
    /// Numbers of malicious trustees (send a wrong share): the next ones after the down ones,
    /// so the combiner meets them first.
    pub malicious: Vec<u16>,
    /// Messages.
    pub messages: usize,
    /// Also run the naive baseline (which finds a wrong share only by trying subsets).
    pub naive: bool,
    /// Most subsets the naive combiner tries per message.
    pub naive_max_attempts: usize,
}

/// Outcome of one (down, malicious) case.
#[derive(Clone, Debug, Serialize)]
pub struct FailureRow {
    /// `ours` or `naive`.
    pub scheme: &'static str,
    /// Trustees.
    pub n: u16,
    /// Threshold.
    pub k: u16,
    /// Trustees down.
    pub down: u16,
    /// Trustees malicious.
    pub malicious: u16,
    /// Shares that reached the combiner.
    pub available: u16,
    /// Messages tried.
    pub messages: usize,
    /// Messages whose key was recovered (and was the right one).
    pub decrypted: usize,
    /// Messages not recovered.
    pub failed: usize,
    /// Time to recover (or give up), per message.
    pub time: Summary,
    /// Trustees the combiner named as having sent a bad share (ours only: the naive combiner
    /// cannot name anyone).
    pub named: Vec<u16>,
    /// Naive: mean subsets tried per message.
    pub mean_attempts: Option<f64>,
}

/// The (down, malicious) cases of a failure experiment: every combination with
/// down + malicious <= n.
pub fn failure_cases(p: &FailureParams) -> Result<Vec<(u16, u16)>> {
    check_pair(p.n.into(), p.k.into())?;
    check_messages(p.messages)?;
    let mut cases = Vec::new();
    for &d in &p.down {
        for &m in &p.malicious {
            if u32::from(d) + u32::from(m) <= u32::from(p.n) {
                cases.push((d, m));
            }
        }
    }
    if cases.is_empty() {
        return Err(Error::Parameters(format!(
            "no case has down + malicious <= n = {}",
            p.n
        )));
    }
    Ok(cases)
}

/// Subsets of `0..a` of size `k`, lexicographic, calling `f` until it returns true or `cap`
/// subsets were tried. Returns (found, tried).
fn for_subsets(
    a: usize,
    k: usize,
    cap: usize,
    mut f: impl FnMut(&[usize]) -> bool,
) -> (bool, usize) {
    if k == 0 || k > a {
        return (false, 0);
    }
    let mut idx: Vec<usize> = (0..k).collect();
    let mut tried = 0;
    loop {
        if tried >= cap {
            return (false, tried);
        }
        tried += 1;
        if f(&idx) {
            return (true, tried);
        }
        // next combination
        let mut i = k;
        loop {
            if i == 0 {
                return (false, tried);
            }
            i -= 1;
            let lim = a - k + i;
            match idx.get_mut(i) {
                Some(v) if *v < lim => {
                    *v += 1;
                    let base = *v;
                    for (off, w) in idx.iter_mut().skip(i + 1).enumerate() {
                        *w = base + off + 1;
                    }
                    break;
                }
                _ => {}
            }
        }
    }
}

/// Run a failure experiment.
pub fn failures(p: &FailureParams, progress: &mut dyn FnMut(&str)) -> Result<Vec<FailureRow>> {
    let cases = failure_cases(p)?;
    let mut rng = rand::rng();
    let msgs = workload::messages(p.messages, &mut rng)?;
    let (n, k) = (p.n, p.k);
    progress(&format!(
        "ours: n = {n}, k = {k}, {} cases, {} messages",
        cases.len(),
        msgs.len()
    ));
    let d = deal(n, k)?;
    let naive_set = if p.naive {
        Some(NaiveSet::generate(n.into(), k.into(), &mut rng)?)
    } else {
        None
    };
    let ctx = ShareContext::without_warrant();
    let nc = cases.len();
    let mut ours_t: Vec<Vec<f64>> = vec![Vec::with_capacity(msgs.len()); nc];
    let mut ours_ok = vec![0usize; nc];
    let mut ours_named: Vec<std::collections::BTreeSet<u16>> = vec![Default::default(); nc];
    let mut naive_t: Vec<Vec<f64>> = vec![Vec::with_capacity(msgs.len()); nc];
    let mut naive_ok = vec![0usize; nc];
    let mut naive_attempts = vec![0usize; nc];
    for msg in &msgs {
        let (ct, _) = tdh2::encapsulate(&d.set, &msg.label, &msg.key, &mut rng)?;
        let valid = ct.check(&d.set)?;
        let honest = d
            .keys
            .iter()
            .map(|ks| ks.decryption_share(&valid, &ctx, &mut rng))
            .collect::<escrow_core::Result<Vec<DecryptionShare>>>()?;
        let naive_ct = match &naive_set {
            Some(s) => Some((s.seal(&msg.label, &msg.key, &mut rng)?, s)),
            None => None,
        };
        let naive_honest = match &naive_ct {
            Some((c, s)) => (1..=n)
                .map(|i| s.trustee_share(i, c))
                .collect::<Result<Vec<NaiveShare>>>()?,
            None => Vec::new(),
        };
        for (ci, &(down, mal)) in cases.iter().enumerate() {
            // ours: trustees down+1..=n answer; the first `mal` of them lie
            let mut shares: Vec<DecryptionShare> =
                honest.iter().skip(usize::from(down)).cloned().collect();
            for s in shares.iter_mut().take(usize::from(mal)) {
                s.d = Point::new(*s.d.inner() + ProjectivePoint::GENERATOR, "d")?;
            }
            let t = Instant::now();
            let res = share::combine(&d.set, &valid, &ctx, &shares);
            let el = us(t.elapsed());
            if let Some(v) = ours_t.get_mut(ci) {
                v.push(el);
            }
            match res {
                Ok(c) if c.message_key == msg.key => {
                    if let Some(o) = ours_ok.get_mut(ci) {
                        *o += 1;
                    }
                    if let Some(set) = ours_named.get_mut(ci) {
                        set.extend(c.rejected.iter().map(|(i, _)| *i));
                    }
                }
                Ok(_) => {
                    return Err(Error::WrongResult(
                        "ours: combine returned a wrong key without an error".into(),
                    ));
                }
                Err(escrow_core::Error::NotEnoughShares { .. }) => {
                    // Named in the error text; the rejected set is every lying trustee.
                    if let Some(set) = ours_named.get_mut(ci) {
                        set.extend(shares.iter().take(usize::from(mal)).map(|s| s.trustee));
                    }
                }
                Err(e) => return Err(e.into()),
            }
            // naive: same trustees; a lie is found only by a key that does not open the body
            if !naive_honest.is_empty() {
                let mut avail: Vec<NaiveShare> = naive_honest
                    .iter()
                    .skip(usize::from(down))
                    .cloned()
                    .collect();
                for s in avail.iter_mut().take(usize::from(mal)) {
                    // a random error: structured ones (the same offset on two shares) can
                    // cancel in the interpolation
                    s.value += escrow_core::group::random_scalar(&mut rng);
                }
                let t = Instant::now();
                let (found, tried) = for_subsets(
                    avail.len(),
                    usize::from(k),
                    p.naive_max_attempts.max(1),
                    |idx| {
                        let sub: Vec<NaiveShare> =
                            idx.iter().filter_map(|&i| avail.get(i).cloned()).collect();
                        // stands in for the AEAD check of the body under the recovered key
                        matches!(naive::combine(k, &sub), Ok(key) if key == msg.key)
                    },
                );
                let el = us(t.elapsed());
                if let Some(v) = naive_t.get_mut(ci) {
                    v.push(el);
                }
                if found && let Some(o) = naive_ok.get_mut(ci) {
                    *o += 1;
                }
                if let Some(a) = naive_attempts.get_mut(ci) {
                    *a += tried;
                }
            }
        }
    }
    let mut rows = Vec::new();
    for (ci, &(down, mal)) in cases.iter().enumerate() {
        // One scheme's row of this case: `ok` messages read, `times` its timings.
        let row =
            |scheme, ok: usize, times: Option<&mut Vec<f64>>, named, mean_attempts| FailureRow {
                scheme,
                n,
                k,
                down,
                malicious: mal,
                available: n - down,
                messages: msgs.len(),
                decrypted: ok,
                failed: msgs.len() - ok,
                time: summarize(times.map(|v| v.as_mut_slice()).unwrap_or(&mut [])),
                named,
                mean_attempts,
            };
        rows.push(row(
            "ours",
            ours_ok.get(ci).copied().unwrap_or(0),
            ours_t.get_mut(ci),
            ours_named
                .get(ci)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default(),
            None,
        ));
        if p.naive {
            rows.push(row(
                "naive",
                naive_ok.get(ci).copied().unwrap_or(0),
                naive_t.get_mut(ci),
                Vec::new(),
                Some(naive_attempts.get(ci).copied().unwrap_or(0) as f64 / msgs.len() as f64),
            ));
        }
    }
    Ok(rows)
}

/// CSV columns of a failure experiment.
pub const FAILURE_COLUMNS: &[&str] = &[
    "scheme",
    "n",
    "k",
    "down",
    "malicious",
    "available",
    "messages",
    "decrypted",
    "failed",
    "mean_us",
    "median_us",
    "p95_us",
    "named",
    "mean_attempts",
];

/// CSV rows of a failure experiment.
pub fn failure_csv_rows(rows: &[FailureRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            vec![
                r.scheme.to_string(),
                r.n.to_string(),
                r.k.to_string(),
                r.down.to_string(),
                r.malicious.to_string(),
                r.available.to_string(),
                r.messages.to_string(),
                r.decrypted.to_string(),
                r.failed.to_string(),
                crate::csv::num(Some(r.time.mean_us)),
                crate::csv::num(Some(r.time.median_us)),
                crate::csv::num(Some(r.time.p95_us)),
                r.named
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" "),
                crate::csv::num(r.mean_attempts),
            ]
        })
        .collect()
}

/// Plots of a failure experiment: share of messages decrypted, and time per message, against
/// the number of malicious trustees, one series of points per scheme and number down (each
/// case is measured on its own: no line joins them).
pub fn failure_charts(rows: &[FailureRow]) -> Vec<(String, Chart<'static>)> {
    let mut keys: Vec<(&'static str, u16)> = rows.iter().map(|r| (r.scheme, r.down)).collect();
    keys.sort();
    keys.dedup();
    let mk = |y: &dyn Fn(&FailureRow) -> f64| -> Vec<Series> {
        keys.iter()
            .map(|&(scheme, down)| {
                Series::points(
                    format!("{scheme}, {down} down"),
                    rows.iter()
                        .filter(|r| r.scheme == scheme && r.down == down)
                        .map(|r| (f64::from(r.malicious), y(r)))
                        .collect(),
                )
            })
            .collect()
    };
    vec![
        (
            "failures.svg".into(),
            Chart {
                title: "Messages decrypted with trustees down or malicious",
                x_label: "malicious trustees",
                y_label: "% of messages decrypted",
                x: Scale::Count,
                y: Scale::Linear,
                series: mk(&|r| 100.0 * r.decrypted as f64 / r.messages.max(1) as f64),
                targets: Vec::new(),
            },
        ),
        (
            "failures-time.svg".into(),
            Chart {
                title: "Combiner time per message with trustees down or malicious",
                x_label: "malicious trustees",
                y_label: "microseconds per message (median)",
                x: Scale::Count,
                y: Scale::Log,
                series: mk(&|r| r.time.median_us),
                targets: Vec::new(),
            },
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// batch

/// Parameters of a batch experiment.
#[derive(Clone, Debug, Serialize)]
pub struct BatchParams {
    /// Trustees.
    pub n: u16,
    /// Threshold.
    pub k: u16,
    /// Messages in the warrant.
    pub messages: usize,
    /// Thread counts to try.
    pub threads: Vec<usize>,
    /// Batch sizes (messages a worker takes at a time) to try.
    pub batch: Vec<usize>,
}

/// One (threads, batch) run.
#[derive(Clone, Debug, Serialize)]
pub struct BatchRow {
    /// Trustees.
    pub n: u16,
    /// Threshold.
    pub k: u16,
    /// Messages.
    pub messages: usize,
    /// Worker threads.
    pub threads: usize,
    /// Messages per work unit.
    pub batch: usize,
    /// Wall-clock seconds to check, share (k trustees) and combine every message.
    pub wall_s: f64,
    /// Messages per second.
    pub messages_per_s: f64,
    /// Speed-up over one thread with the same batch size (if measured).
    pub speedup: Option<f64>,
}

/// What a batch experiment measured.
#[derive(Clone, Debug, Serialize)]
pub struct BatchResult {
    /// Seconds to seal every message (one thread; the senders' side).
    pub seal_s: f64,
    /// The runs.
    pub rows: Vec<BatchRow>,
}

fn retrieve_all(
    set: &TrusteeSet,
    signers: &[VerifiedKeyShare],
    cts: &[EscrowCiphertext],
    msgs: &[Message],
    threads: usize,
    batch: usize,
) -> Result<usize> {
    let next = AtomicUsize::new(0);
    let ctx = ShareContext::without_warrant();
    let work = || -> Result<usize> {
        let mut rng = rand::rng();
        let mut ok = 0usize;
        loop {
            let start = next.fetch_add(batch, Ordering::Relaxed);
            if start >= cts.len() {
                return Ok(ok);
            }
            let end = (start + batch).min(cts.len());
            let (Some(chunk), Some(keys)) = (cts.get(start..end), msgs.get(start..end)) else {
                return Ok(ok);
            };
            for (ct, m) in chunk.iter().zip(keys) {
                let valid = ct.check(set)?;
                let shares = signers
                    .iter()
                    .map(|ks| ks.decryption_share(&valid, &ctx, &mut rng))
                    .collect::<escrow_core::Result<Vec<_>>>()?;
                let c = share::combine(set, &valid, &ctx, &shares)?;
                if c.message_key == m.key {
                    ok += 1;
                }
            }
        }
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1)).map(|_| s.spawn(work)).collect();
        let mut total = 0usize;
        for h in handles {
            total += h
                .join()
                .map_err(|_| Error::WrongResult("a worker thread panicked".into()))??;
        }
        Ok(total)
    })
}

/// Run a batch experiment: seal `messages` messages, then for each (threads, batch) check,
/// share (the first k trustees) and combine all of them, spread over the threads.
pub fn batch(p: &BatchParams, progress: &mut dyn FnMut(&str)) -> Result<BatchResult> {
    let (n, k) = check_pair(p.n.into(), p.k.into())?;
    check_messages(p.messages)?;
    if p.threads.is_empty() || p.threads.contains(&0) || p.threads.iter().any(|&t| t > 256) {
        return Err(Error::Parameters(
            "thread counts must be between 1 and 256".into(),
        ));
    }
    if p.batch.is_empty() || p.batch.contains(&0) {
        return Err(Error::Parameters("batch sizes must be at least 1".into()));
    }
    let mut rng = rand::rng();
    let msgs = workload::messages(p.messages, &mut rng)?;
    let d = deal(n, k)?;
    progress(&format!("sealing {} messages", msgs.len()));
    let t = Instant::now();
    let cts = msgs
        .iter()
        .map(|m| tdh2::encapsulate(&d.set, &m.label, &m.key, &mut rng).map(|(c, _)| c))
        .collect::<escrow_core::Result<Vec<_>>>()?;
    let seal_s = t.elapsed().as_secs_f64();
    let signers: Vec<VerifiedKeyShare> = d.keys.iter().take(usize::from(k)).cloned().collect();
    let mut rows: Vec<BatchRow> = Vec::new();
    for &b in &p.batch {
        for &th in &p.threads {
            progress(&format!("{th} thread(s), batch {b}"));
            let t = Instant::now();
            let ok = retrieve_all(&d.set, &signers, &cts, &msgs, th, b)?;
            let wall = t.elapsed().as_secs_f64();
            if ok != msgs.len() {
                return Err(Error::WrongResult(format!(
                    "{} of {} messages recovered the wrong key",
                    msgs.len() - ok,
                    msgs.len()
                )));
            }
            rows.push(BatchRow {
                n,
                k,
                messages: msgs.len(),
                threads: th,
                batch: b,
                wall_s: wall,
                messages_per_s: msgs.len() as f64 / wall.max(1e-9),
                speedup: None,
            });
        }
    }
    let singles: Vec<(usize, f64)> = rows
        .iter()
        .filter(|r| r.threads == 1)
        .map(|r| (r.batch, r.wall_s))
        .collect();
    for r in rows.iter_mut() {
        r.speedup = singles
            .iter()
            .find(|(b, _)| *b == r.batch)
            .map(|(_, w)| w / r.wall_s.max(1e-9));
    }
    Ok(BatchResult { seal_s, rows })
}

/// CSV columns of a batch experiment.
pub const BATCH_COLUMNS: &[&str] = &[
    "n",
    "k",
    "messages",
    "threads",
    "batch",
    "wall_s",
    "messages_per_s",
    "us_per_message",
    "speedup",
];

/// CSV rows of a batch experiment.
pub fn batch_csv_rows(r: &BatchResult) -> Vec<Vec<String>> {
    r.rows
        .iter()
        .map(|b| {
            vec![
                b.n.to_string(),
                b.k.to_string(),
                b.messages.to_string(),
                b.threads.to_string(),
                b.batch.to_string(),
                crate::csv::num(Some(b.wall_s)),
                crate::csv::num(Some(b.messages_per_s)),
                crate::csv::num(Some(b.wall_s * 1e6 / b.messages.max(1) as f64)),
                crate::csv::num(b.speedup),
            ]
        })
        .collect()
}

/// Plot of a batch experiment: messages per second against threads (whole numbers), one line
/// per batch size.
pub fn batch_charts(r: &BatchResult) -> Vec<(String, Chart<'static>)> {
    let mut sizes: Vec<usize> = r.rows.iter().map(|b| b.batch).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let series = sizes
        .iter()
        .map(|&s| {
            Series::line(
                format!("batch {s}"),
                r.rows
                    .iter()
                    .filter(|b| b.batch == s)
                    .map(|b| (b.threads as f64, b.messages_per_s))
                    .collect(),
            )
        })
        .collect();
    vec![(
        "batch.svg".into(),
        Chart {
            title: "Retrieval throughput (check + k shares + combine per message)",
            x_label: "threads",
            y_label: "messages per second",
            x: Scale::Count,
            y: Scale::Linear,
            series,
            targets: Vec::new(),
        },
    )]
}

// ---------------------------------------------------------------------------------------
// output

/// Messages run untimed before a sweep measures (the first operations of a process pay for
/// cold caches, the allocator and lazily built tables: 4-5x the floor on a 5-message run).
pub const WARM_UP: usize = 10;

/// Fewer timed runs per case than this, and a median says little: the run record and the
/// summary carry a warning.
pub const MIN_TO_MEASURE: usize = 100;

/// The warning for a run that times only `runs` operations per case (None if enough).
pub fn too_small(runs: usize, what: &str) -> Option<String> {
    (runs < MIN_TO_MEASURE).then(|| {
        format!(
            "only {runs} {what} per case: too few to measure (timings of so few runs are \
             dominated by noise and start-up); use at least {MIN_TO_MEASURE} for numbers to report"
        )
    })
}

/// What one run writes.
pub struct RunOutput<'a> {
    /// `sweep`, `failures`, `batch`.
    pub experiment: &'a str,
    /// Parameters as given.
    pub parameters: serde_json::Value,
    /// CSV file name, columns and rows.
    pub csv: (&'a str, &'a [&'a str], Vec<Vec<String>>),
    /// Plots (file name, chart).
    pub charts: Vec<(String, Chart<'static>)>,
    /// The machine, the clocks and the command line at the start ([`start`]).
    pub start: Started,
    /// Extra results to store in run.json under "results".
    pub results: serde_json::Value,
    /// Why the numbers of this run should not be reported (e.g. [`too_small`]).
    pub warnings: Vec<String>,
}

/// Write the CSV, the plots and `run.json` into `dir` (created if missing). Returns the
/// record written.
pub fn write_run(dir: &Path, out: RunOutput<'_>) -> Result<serde_json::Value> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let (csv_name, cols, rows) = out.csv;
    crate::csv::write(&dir.join(csv_name), cols, &rows)?;
    let mut files = vec![csv_name.to_string()];
    for (name, chart) in &out.charts {
        plot::line_chart(&dir.join(name), chart)?;
        files.push(name.clone());
    }
    files.push("run.json".into());
    let mut machine = out.start.machine;
    machine.load_at_end = load_average();
    let rec = RunRecord {
        experiment: out.experiment.to_string(),
        parameters: out.parameters,
        machine,
        versions: Versions::this_build(),
        commit: Commit::this_build(),
        started_unix: out.start.unix,
        duration_s: out.start.at.elapsed().as_secs_f64(),
        files,
        command: out.start.command,
        warnings: out.warnings,
    };
    let mut v = serde_json::to_value(&rec).map_err(|e| Error::Io {
        path: "run.json".into(),
        source: std::io::Error::other(e),
    })?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("results".into(), out.results);
    }
    let text = serde_json::to_string_pretty(&v).map_err(|e| Error::Io {
        path: "run.json".into(),
        source: std::io::Error::other(e),
    })?;
    let path = dir.join("run.json");
    std::fs::write(&path, text + "\n").map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(v)
}

/// The start of a run, as `run.json` records it.
#[derive(Debug, Clone)]
pub struct Started {
    /// The machine (with the load at the start, from [`Machine::detect`]).
    pub machine: Machine,
    /// Unix time of the start.
    pub unix: u64,
    /// When it started (for the run's duration).
    pub at: Instant,
    /// The command line.
    pub command: Vec<String>,
}

/// Start of a run: machine (with the load now), the clocks and the command line.
pub fn start() -> Started {
    Started {
        machine: Machine::detect(),
        unix: unix_now(),
        at: Instant::now(),
        command: std::env::args().collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_run_too_small_to_measure_says_so() {
        let w = too_small(5, "messages").unwrap();
        assert!(
            w.contains("only 5 messages") && w.contains("too few to measure"),
            "{w}"
        );
        assert!(too_small(MIN_TO_MEASURE, "messages").is_none());
    }

    #[test]
    fn the_commit_is_embedded_at_build_time() {
        // This crate is built inside the project's git checkout, so the commit is known at
        // build time, whatever the working directory of the process.
        let c = crate::record::Commit::this_build();
        assert_eq!(c.source, "build");
        assert_eq!(c.id.len(), 40, "{c:?}");
        assert!(c.id.chars().all(|ch| ch.is_ascii_hexdigit()), "{c:?}");
    }

    #[test]
    fn pairing_rules() {
        assert_eq!(pairs(&[5, 10], &[3, 7]).unwrap(), vec![(5, 3), (10, 7)]);
        assert_eq!(pairs(&[5], &[2, 3]).unwrap(), vec![(5, 2), (5, 3)]);
        assert_eq!(pairs(&[5, 9], &[3]).unwrap(), vec![(5, 3), (9, 3)]);
        assert!(pairs(&[5, 9, 10], &[3, 4]).is_err());
        assert!(pairs(&[3], &[4]).is_err());
        assert!(pairs(&[256], &[4]).is_err());
        assert!(pairs(&[5], &[0]).is_err());
        assert!(pairs(&[], &[1]).is_err());
        assert!(check_messages(0).is_err());
        assert!(check_messages(MAX_MESSAGES + 1).is_err());
    }

    #[test]
    fn subsets_in_order() {
        let mut seen = Vec::new();
        let (found, tried) = for_subsets(4, 2, 100, |s| {
            seen.push(s.to_vec());
            false
        });
        assert!(!found);
        assert_eq!(tried, 6);
        assert_eq!(
            seen,
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
        assert_eq!(for_subsets(4, 2, 3, |_| false), (false, 3));
        assert_eq!(for_subsets(4, 2, 100, |s| s == [1, 3]), (true, 5));
        assert_eq!(for_subsets(2, 3, 100, |_| true), (false, 0));
    }

    #[test]
    fn tiny_sweep_failures_batch() {
        let r = sweep(
            &SweepParams {
                pairs: vec![(3, 2)],
                messages: 3,
                naive: true,
                floor_reps: 10,
            },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(r.rows.len(), 10);
        assert!(r.rows.iter().all(|row| row.time.median_us > 0.0));
        let f = failures(
            &FailureParams {
                n: 5,
                k: 3,
                down: vec![0, 1, 2],
                malicious: vec![0, 1, 2],
                messages: 2,
                naive: true,
                naive_max_attempts: 100,
            },
            &mut |_| {},
        )
        .unwrap();
        for row in &f {
            let enough = row.n - row.down - row.malicious >= row.k;
            if row.scheme == "ours" {
                assert_eq!(row.decrypted == row.messages, enough, "{row:?}");
                let expect: Vec<u16> = if enough || row.malicious > 0 {
                    (row.down + 1..=row.down + row.malicious).collect()
                } else {
                    Vec::new()
                };
                assert_eq!(row.named, expect, "{row:?}");
            } else {
                assert_eq!(row.decrypted == row.messages, enough, "{row:?}");
            }
        }
        let b = batch(
            &BatchParams {
                n: 3,
                k: 2,
                messages: 6,
                threads: vec![1, 2],
                batch: vec![1, 4],
            },
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(b.rows.len(), 4);
        assert!(
            b.rows
                .iter()
                .all(|r| r.messages_per_s > 0.0 && r.speedup.is_some())
        );
    }
}
