//! `escrow experiment wan`: trustees across a wide-area network, simulated (issue 14).
//!
//! Each trustee node runs in a network namespace of its own (created and removed by the run,
//! addresses only inside the veth pairs; [`crate::netns`]) — or, without root, on 127.0.0.1,
//! which the output says. Between the investigator (this process) and every node sits a delay
//! line ([`crate::delay`]) adding half the round-trip time in each direction. For every
//! round-trip time and message count, one double-locked warrant is retrieved with `escrow
//! retrieve`'s code (through the caller's [`Roles`]) and timed. The question it answers: does
//! latency multiply with the number of release batches (it would if the investigator sent one
//! batch after another), or is it paid a few times per trustee (requests pipelined)?
//!
//! With `--witnesses N` every row runs under a release gate of N witnesses (issue 17). They
//! run in this process, in the investigator's namespace, each behind a delay line of the same
//! round trip as the nodes' (listening on an address of this namespace every node reaches), and
//! the auditing witness reads the logs through delay lines of its own: the witnesses sit as far
//! from every node as the investigator does, as witnesses run by other organisations in other
//! places would. Not in namespaces of their own: what the gate pays is the node's round trips
//! to the witnesses (and the auditing witness's to the node), which the delay lines model; a
//! namespace per witness would add addresses, not latency.

use crate::args::WanArgs;
use crate::delay::{DelayProxy, SharedDelay};
use crate::experiment::{finish, live_counts};
use crate::experiment_live::{Lab, out_dir, stop_all, witness_quorum};
use crate::netns::{Namespaces, unavailable};
use crate::out::{Out, progress};
use crate::roles::{Ask, Roles};
use anyhow::{Context, Result, ensure};
use escrow_client::investigator_v2::PIPELINE_DEPTH;
use escrow_research::experiment::{self, RunOutput};
use escrow_research::plot::{Chart, Scale, Series};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// Longest round trip accepted (ms).
const MAX_RTT_MS: u64 = 2_000;

#[derive(Debug, Clone, Serialize)]
pub struct WanRow {
    /// `netns` or `loopback`.
    pub mode: &'static str,
    pub rtt_ms: u64,
    pub ask: Ask,
    pub messages: usize,
    pub batch: usize,
    /// Release requests each asked trustee received (⌈messages / batch⌉ with `threshold`).
    pub batches_per_trustee: usize,
    pub decrypted: usize,
    pub retrieve_s: f64,
    pub ask_s: f64,
    pub combine_s: f64,
    /// Retrieval time minus that of the row with round trip 0 (same messages and strategy).
    pub added_s: Option<f64>,
    /// Added time in round trips: `added_s / rtt`.
    pub added_rtts: Option<f64>,
    /// What latency would add if each trustee's batches were sent one after another (one
    /// round trip per batch, plus the connection's).
    pub serial_bound_s: f64,
    pub wire_bytes_per_message: f64,
    /// Witnesses of the release gate (0: no gate).
    pub witnesses: u16,
    /// One of them audits, and the policy requires it.
    pub auditing_witness: bool,
}

pub const WAN_COLUMNS: &[&str] = &[
    "mode",
    "rtt_ms",
    "ask",
    "messages",
    "batch",
    "batches_per_trustee",
    "decrypted",
    "retrieve_s",
    "ask_s",
    "combine_s",
    "added_s",
    "added_rtts",
    "serial_bound_s",
    "wire_bytes_per_message",
    "witnesses",
    "auditing_witness",
];

#[derive(Debug, Clone, Serialize)]
struct WanParams {
    n: u16,
    k: u16,
    version: u8,
    mode: &'static str,
    /// Why the run is on loopback, when it is.
    loopback_reason: Option<String>,
    rtt_ms: Vec<u64>,
    messages: Vec<usize>,
    batch: usize,
    ask: Vec<Ask>,
    pipeline_depth: usize,
    latency: &'static str,
    witnesses: u16,
    witness_quorum: Option<u16>,
    auditing_witness: bool,
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map(|v| format!("{v:.digits$}")).unwrap_or_default()
}

fn csv(rows: &[WanRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            vec![
                r.mode.to_string(),
                r.rtt_ms.to_string(),
                r.ask.name().to_string(),
                r.messages.to_string(),
                r.batch.to_string(),
                r.batches_per_trustee.to_string(),
                r.decrypted.to_string(),
                format!("{:.4}", r.retrieve_s),
                format!("{:.4}", r.ask_s),
                format!("{:.4}", r.combine_s),
                opt(r.added_s, 4),
                opt(r.added_rtts, 2),
                format!("{:.4}", r.serial_bound_s),
                format!("{:.1}", r.wire_bytes_per_message),
                r.witnesses.to_string(),
                r.auditing_witness.to_string(),
            ]
        })
        .collect()
}

fn charts(rows: &[WanRow]) -> Vec<(String, Chart<'static>)> {
    let mut keys: Vec<(usize, Ask)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.messages, r.ask)) {
            keys.push((r.messages, r.ask));
        }
    }
    let series = keys
        .iter()
        .map(|&(m, ask)| {
            Series::line(
                format!("{m} messages, ask {}", ask.name()),
                rows.iter()
                    .filter(|r| r.messages == m && r.ask == ask)
                    .map(|r| (r.rtt_ms as f64, r.retrieve_s))
                    .collect(),
            )
        })
        .collect();
    vec![(
        "wan-time.svg".into(),
        Chart {
            title: "Warrant retrieval with trustees across a simulated WAN",
            x_label: "round trip between investigator and each trustee (ms)",
            y_label: "retrieval seconds",
            x: Scale::Linear,
            y: Scale::Linear,
            series,
            targets: Vec::new(),
        },
    )]
}

/// The nodes' own addresses (inside their namespaces, or on loopback).
fn node_addrs(lab: &Lab) -> Result<Vec<SocketAddr>> {
    lab.nodes
        .iter()
        .map(|x| {
            x.addr
                .parse::<SocketAddr>()
                .with_context(|| format!("trustee {} wrote address {:?}", x.index, x.addr))
        })
        .collect()
}

pub fn wan(a: WanArgs, roles: &dyn Roles, out: Out) -> Result<()> {
    let (n, k) = experiment::check_pair(a.n, a.k)?;
    let counts = live_counts(&a.messages, a.batch)?;
    ensure!(
        counts.iter().sum::<usize>() * a.rtt.len() * a.ask.len() <= 400_000,
        "at most 400000 messages retrieved per run (messages × round trips × strategies)"
    );
    ensure!(a.witnesses <= 16, "at most 16 witnesses");
    let auditing = a.witnesses > 0 && a.auditing_witness;
    if let Some(&bad) = a.rtt.iter().find(|&&r| r > MAX_RTT_MS) {
        anyhow::bail!("--rtt {bad} ms is more than {MAX_RTT_MS} ms");
    }
    let why_loopback = if a.loopback {
        Some("--loopback given".to_string())
    } else {
        unavailable()
    };
    let mode = if why_loopback.is_some() {
        "loopback"
    } else {
        "netns"
    };
    if let Some(why) = &why_loopback {
        eprintln!(
            "escrow experiment wan: nodes on 127.0.0.1, not in network namespaces: {why}; the delay lines are the same"
        );
    }
    let dir = out_dir(a.out, "wan")?;
    let work = dir.join("work");
    let start = experiment::start();
    let mut lab = Lab::new(&work, n, k, a.node_bin.as_deref(), &a.kdf_cost)?;
    // Namespaces outlive the nodes: the nodes are stopped first (below), then these go.
    let spaces = match &why_loopback {
        None => Some(Namespaces::create(n)?),
        Some(_) => None,
    };
    // The witnesses' delay lines, all set to half the round trip of the row being run.
    let witness_delay = SharedDelay::default();
    let mut witness_lines: Vec<DelayProxy> = Vec::new();
    let mut served = Vec::new();
    let res = (|| {
        let gate = if a.witnesses > 0 {
            let hub = spaces.as_ref().map_or("127.0.0.1", |s| s.hub()).to_string();
            Some(lab.witnessed_via(a.witnesses, auditing, |addrs| {
                let mut urls = Vec::with_capacity(addrs.len());
                for &w in addrs {
                    let p =
                        DelayProxy::start_shared(&format!("{hub}:0"), w, witness_delay.clone())?;
                    urls.push(format!("http://{}", p.addr()));
                    witness_lines.push(p);
                }
                Ok(urls)
            })?)
        } else {
            None
        };
        lab.start_nodes(spaces.as_ref())?;
        progress(&format!(
            "{n} trustee nodes up ({}){}",
            if spaces.is_some() {
                "each in its own network namespace"
            } else {
                "on 127.0.0.1"
            },
            if a.witnesses > 0 {
                format!(
                    ", under {} witnesses behind delay lines (quorum {}{})",
                    a.witnesses,
                    witness_quorum(a.witnesses),
                    if auditing { ", one auditing" } else { "" }
                )
            } else {
                String::new()
            }
        ));
        if let Some((pending, policy)) = gate {
            // The witnesses reach the nodes (their signed info, and the auditing witness's
            // reading of the logs) through delay lines of their own, on 127.0.0.1 like the
            // investigator's.
            let mut node_urls = Vec::new();
            for addr in node_addrs(&lab)? {
                let p = DelayProxy::start_shared("127.0.0.1:0", addr, witness_delay.clone())?;
                node_urls.push(format!("http://{}", p.addr()));
                witness_lines.push(p);
            }
            served = pending.serve(&lab.set, &policy, &node_urls, &lab.oversight)?;
        }
        runs(
            &lab,
            roles,
            &counts,
            (&a.rtt, &witness_delay),
            &a.ask,
            a.batch,
            a.v1,
            mode,
            a.plaintexts.as_deref(),
        )
    })();
    stop_all(&mut lab.nodes);
    drop(served);
    drop(witness_lines);
    drop(spaces);
    let mut rows = res?;
    for r in &mut rows {
        r.witnesses = a.witnesses;
        r.auditing_witness = auditing;
    }
    if !a.keep {
        let _ = std::fs::remove_dir_all(&work);
    }

    let mut text = String::new();
    let _ = writeln!(
        text,
        "wan: {k}-of-{n} trustee nodes {}, a delay line between the investigator and each node{}; release protocol version {}; batches of {}, up to {PIPELINE_DEPTH} requests in flight per trustee; {} cores ({})",
        if mode == "netns" {
            "each in its own network namespace"
        } else {
            "on 127.0.0.1 (no namespaces)"
        },
        if a.witnesses > 0 {
            format!(
                "; release gate of {} witnesses (quorum {}{}) beside the investigator, each behind a delay line of the same round trip",
                a.witnesses,
                witness_quorum(a.witnesses),
                if auditing {
                    ", the auditing witness required, reading the logs through delay lines"
                } else {
                    ""
                }
            )
        } else {
            String::new()
        },
        if a.v1 { 1 } else { 2 },
        a.batch,
        start.machine.cores,
        start.machine.cpu_model,
    );
    let _ = writeln!(
        text,
        "{:>7} {:>9} {:>8} {:>8} {:>11} {:>9} {:>10} {:>9} {:>11} {:>15}",
        "rtt ms",
        "ask",
        "messages",
        "batches",
        "retrieve s",
        "ask s",
        "combine s",
        "added s",
        "added RTTs",
        "serial bound s"
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "{:>7} {:>9} {:>8} {:>8} {:>11.3} {:>9.3} {:>10.3} {:>9} {:>11} {:>15.2}",
            r.rtt_ms,
            r.ask.name(),
            r.messages,
            r.batches_per_trustee,
            r.retrieve_s,
            r.ask_s,
            r.combine_s,
            opt(r.added_s, 3),
            opt(r.added_rtts, 1),
            r.serial_bound_s,
        );
    }
    let params = WanParams {
        n,
        k,
        version: if a.v1 { 1 } else { 2 },
        mode,
        loopback_reason: why_loopback,
        rtt_ms: a.rtt.clone(),
        messages: counts.clone(),
        batch: a.batch,
        ask: a.ask.clone(),
        pipeline_depth: PIPELINE_DEPTH,
        latency: "user-space delay line, half the round trip each way (escrow_lab::delay)",
        witnesses: a.witnesses,
        witness_quorum: (a.witnesses > 0).then(|| witness_quorum(a.witnesses)),
        auditing_witness: auditing,
    };
    let run = RunOutput {
        experiment: "wan",
        parameters: serde_json::to_value(&params)?,
        csv: ("wan.csv", WAN_COLUMNS, csv(&rows)),
        charts: charts(&rows),
        start,
        results: serde_json::json!({ "rows": rows }),
        warnings: experiment::too_small(counts.iter().copied().min().unwrap_or(0), "messages")
            .into_iter()
            .collect(),
    };
    finish(out, &dir, run, text)
}

#[allow(clippy::too_many_arguments)]
fn runs(
    lab: &Lab,
    roles: &dyn Roles,
    counts: &[usize],
    (rtts, witness_delay): (&[u64], &SharedDelay),
    asks: &[Ask],
    batch: usize,
    v1: bool,
    mode: &'static str,
    plaintexts: Option<&Path>,
) -> Result<Vec<WanRow>> {
    let addrs = node_addrs(lab)?;
    let start = Lab::window_start();
    let mut sealed = Vec::new();
    for (j, &m) in counts.iter().enumerate() {
        progress(&format!("{m} messages: sealing"));
        let target = format!("target-{j}");
        let (msgs, _) = lab.traffic(&target, m, start, v1)?;
        sealed.push((target, msgs));
    }
    let mut rows: Vec<WanRow> = Vec::new();
    for &rtt in rtts {
        let one_way = Duration::from_micros(rtt * 500);
        witness_delay.set(one_way);
        let mut proxies = addrs
            .iter()
            .map(|&a| DelayProxy::start("127.0.0.1:0", a, one_way))
            .collect::<Result<Vec<_>>>()?;
        let urls: Vec<String> = proxies
            .iter()
            .map(|p| format!("http://{}", p.addr()))
            .collect();
        for (j, (&m, (target, msgs))) in counts.iter().zip(&sealed).enumerate() {
            for &ask in asks {
                let env = lab.warrant(
                    &format!("W-WAN-{rtt}-{j}-{m}-{}", ask.name()),
                    target,
                    start,
                )?;
                let out_dir = lab.row_dir(
                    plaintexts,
                    "wan",
                    &format!("retrieved-{rtt}-{j}-{}", ask.name()),
                );
                progress(&format!(
                    "round trip {rtt} ms: retrieving {m} messages (ask {})",
                    ask.name()
                ));
                let (r, retrieve_s) = lab
                    .retrieve_every(roles, &env, msgs, &urls, (batch, ask), &out_dir)
                    .with_context(|| format!("round trip {rtt} ms"))?;
                let decrypted = r.decrypted();
                let batches = m.div_ceil(batch);
                let base = rows
                    .iter()
                    .find(|b| b.rtt_ms == 0 && b.messages == m && b.ask == ask)
                    .map(|b| b.retrieve_s);
                let added_s = base.filter(|_| rtt > 0).map(|b| retrieve_s - b);
                let s = r.stats;
                rows.push(WanRow {
                    mode,
                    rtt_ms: rtt,
                    ask,
                    messages: m,
                    batch,
                    batches_per_trustee: batches,
                    decrypted,
                    retrieve_s,
                    ask_s: s.ask_s,
                    combine_s: s.combine_s,
                    added_s,
                    added_rtts: added_s.map(|x| x / (rtt as f64 / 1000.0)),
                    serial_bound_s: (batches + 1) as f64 * rtt as f64 / 1000.0,
                    wire_bytes_per_message: (s.request_bytes + s.response_bytes) as f64 / m as f64,
                    witnesses: 0,
                    auditing_witness: false,
                });
            }
        }
        for p in &mut proxies {
            p.stop();
        }
    }
    Ok(rows)
}
