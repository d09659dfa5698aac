//! `escrow experiment ...`: the research harness's verbs. Each run writes a CSV, SVG plots
//! and `run.json` (parameters, machine, crate versions, git commit) into `--out`, and prints a
//! text summary (or, with `--json`, one JSON object: the run record with its results).
//!
//! The measurement code is in the `escrow-research` crate; this file parses arguments, picks
//! the output folder and prints. `e2e` and `audit-log` (in `cmd_experiment_live`) run real
//! trustee-node processes on loopback.

use crate::args::{BatchArgs, FailuresArgs, SweepArgs};
use crate::out::{Out, progress};
use anyhow::{Context, Result, bail, ensure};
use escrow_research::experiment::{
    self, BATCH_COLUMNS, BatchParams, FAILURE_COLUMNS, FailureParams, RunOutput, SWEEP_COLUMNS,
    SweepParams,
};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub fn out_dir(given: Option<PathBuf>, verb: &str) -> Result<PathBuf> {
    let dir = given.unwrap_or_else(|| {
        PathBuf::from("experiments").join(format!("{verb}-{}", escrow_research::record::unix_now()))
    });
    if dir.join("run.json").exists() {
        bail!(
            "{} already holds a run (run.json); choose another --out",
            dir.display()
        );
    }
    if dir.exists() && !dir.is_dir() {
        bail!("{} exists and is not a folder", dir.display());
    }
    Ok(dir)
}

/// A message count given on the command line, checked.
pub(crate) fn messages(m: u64) -> Result<usize> {
    let m = usize::try_from(m).unwrap_or(usize::MAX);
    experiment::check_messages(m)?;
    Ok(m)
}

/// The message counts of a live run (`--messages`, each checked) and its `--batch` (at least 1).
pub(crate) fn live_counts(ms: &[u64], batch: usize) -> Result<Vec<usize>> {
    let counts = ms.iter().map(|&m| messages(m)).collect::<Result<_>>()?;
    ensure!(batch >= 1, "--batch must be at least 1");
    Ok(counts)
}

fn small(v: u64, what: &str, n: u64) -> Result<u16> {
    if v > n {
        bail!("--{what} {v} is more than the {n} trustees");
    }
    u16::try_from(v).with_context(|| format!("--{what} {v} is out of range"))
}

pub fn finish(out: Out, dir: &Path, run: RunOutput<'_>, text: String) -> Result<()> {
    let warnings = run.warnings.clone();
    for w in &warnings {
        eprintln!("escrow experiment: warning: {w}");
    }
    let record = experiment::write_run(dir, run)?;
    let files: Vec<String> = record
        .get("files")
        .and_then(|f| f.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .map(|f| dir.join(f).display().to_string())
                .collect()
        })
        .unwrap_or_default();
    let mut text = text;
    for w in &warnings {
        let _ = writeln!(text, "\nwarning: {w}");
    }
    let _ = writeln!(text, "\nwritten: {}", files.join(", "));
    let mut json = serde_json::json!({"ok": true, "out": dir.display().to_string()});
    if let (Some(obj), Some(rec)) = (json.as_object_mut(), record.as_object()) {
        for (k, v) in rec {
            obj.insert(k.clone(), v.clone());
        }
    }
    out.emit(&text, json);
    Ok(())
}

fn fmt_us(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.1} ms", x / 1000.0)
    } else {
        format!("{x:.0} µs")
    }
}

pub fn sweep(a: SweepArgs, out: Out) -> Result<()> {
    let pairs = experiment::pairs(&a.n, &a.k)?;
    let messages = messages(a.messages)?;
    let dir = out_dir(a.out, "sweep")?;
    let start = experiment::start();
    let p = SweepParams {
        pairs,
        messages,
        naive: !a.no_naive,
        floor_reps: a.floor_reps,
    };
    let r = experiment::sweep(&p, &mut |l| progress(l))?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "sweep: {} messages per (n, k); median per unit; floor = sum of the curve operations",
        messages
    );
    let _ = writeln!(
        text,
        "{:>4} {:>4}  {:<8} {:>11} {:>11} {:>9} {:>11} {:>10} {:>9} {:>11}",
        "n",
        "k",
        "op",
        "ours",
        "naive",
        "naive/ours",
        "ours floor",
        "ours/floor",
        "bytes",
        "naive bytes"
    );
    for &(n, k) in &p.pairs {
        for op in ["setup", "seal", "check", "share", "verify", "combine"] {
            let find = |scheme: &str| {
                r.rows
                    .iter()
                    .find(|x| x.scheme == scheme && x.n == n && x.k == k && x.operation == op)
            };
            let Some(ours) = find("ours") else { continue };
            let naive = find("naive");
            let _ = writeln!(
                text,
                "{:>4} {:>4}  {:<8} {:>11} {:>11} {:>9} {:>11} {:>10} {:>9} {:>11}",
                n,
                k,
                op,
                fmt_us(ours.time.median_us),
                naive
                    .map(|x| fmt_us(x.time.median_us))
                    .unwrap_or_else(|| "-".into()),
                naive
                    .map(|x| format!("{:.2}x", x.time.median_us / ours.time.median_us.max(1e-9)))
                    .unwrap_or_else(|| "-".into()),
                ours.floor_us.map(fmt_us).unwrap_or_else(|| "-".into()),
                ours.ratio_to_floor()
                    .map(|x| format!("{x:.2}x"))
                    .unwrap_or_else(|| "-".into()),
                ours.bytes
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".into()),
                naive
                    .and_then(|x| x.bytes)
                    .map(|b| b.to_string())
                    .unwrap_or_else(|| "-".into()),
            );
        }
    }
    let pr = &r.primitives;
    let _ = writeln!(
        text,
        "\nprimitives (median): variable-base {:.0} µs (vartime {:.0}), fixed-base by G {:.0} µs, aG+bP vartime {:.0} µs, 2-term lincomb vartime {:.0} µs",
        pr.var_base_us,
        pr.var_base_vartime_us,
        pr.fixed_base_g_us,
        pr.g_add_vartime_us,
        pr.lincomb2_vartime_us
    );
    let warnings: Vec<String> = experiment::too_small(p.messages, "messages")
        .into_iter()
        .collect();
    let run = RunOutput {
        experiment: "sweep",
        parameters: serde_json::to_value(&p)?,
        csv: ("sweep.csv", SWEEP_COLUMNS, r.csv_rows()),
        charts: r.charts(),
        start,
        results: serde_json::to_value(&r)?,
        warnings,
    };
    finish(out, &dir, run, text)
}

pub fn failures(a: FailuresArgs, out: Out) -> Result<()> {
    let (n, k) = experiment::check_pair(a.n, a.k)?;
    let messages = messages(a.messages)?;
    let down = a
        .down
        .iter()
        .map(|&d| small(d, "down", a.n))
        .collect::<Result<Vec<_>>>()?;
    let malicious = a
        .malicious
        .iter()
        .map(|&m| small(m, "malicious", a.n))
        .collect::<Result<Vec<_>>>()?;
    if a.naive_max_attempts == 0 {
        bail!("--naive-max-attempts must be at least 1");
    }
    let p = FailureParams {
        n,
        k,
        down,
        malicious,
        messages,
        naive: !a.no_naive,
        naive_max_attempts: a.naive_max_attempts,
    };
    experiment::failure_cases(&p)?;
    let dir = out_dir(a.out, "failures")?;
    let start = experiment::start();
    let rows = experiment::failures(&p, &mut |l| progress(l))?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "failures: {k}-of-{n}, {messages} messages; trustees 1..=down send nothing, the next `malicious` send a wrong share"
    );
    let _ = writeln!(
        text,
        "{:<6} {:>4} {:>9} {:>9} {:>10} {:>12} {:>9}  named",
        "scheme", "down", "malicious", "available", "decrypted", "median time", "attempts"
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "{:<6} {:>4} {:>9} {:>9} {:>10} {:>12} {:>9}  {}",
            r.scheme,
            r.down,
            r.malicious,
            r.available,
            format!("{}/{}", r.decrypted, r.messages),
            fmt_us(r.time.median_us),
            r.mean_attempts
                .map(|x| format!("{x:.1}"))
                .unwrap_or_else(|| "-".into()),
            if r.scheme == "naive" {
                "(cannot name)".to_string()
            } else if r.named.is_empty() {
                "-".to_string()
            } else {
                r.named
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        );
    }
    let warnings: Vec<String> = experiment::too_small(p.messages, "messages")
        .into_iter()
        .collect();
    let run = RunOutput {
        experiment: "failures",
        parameters: serde_json::to_value(&p)?,
        csv: (
            "failures.csv",
            FAILURE_COLUMNS,
            experiment::failure_csv_rows(&rows),
        ),
        charts: experiment::failure_charts(&rows),
        start,
        results: serde_json::to_value(&rows)?,
        warnings,
    };
    finish(out, &dir, run, text)
}

pub fn batch(a: BatchArgs, out: Out) -> Result<()> {
    let (n, k) = experiment::check_pair(a.n, a.k)?;
    let messages = messages(a.messages)?;
    let p = BatchParams {
        n,
        k,
        messages,
        threads: a.threads,
        batch: a.batch,
    };
    let dir = out_dir(a.out, "batch")?;
    let start = experiment::start();
    let r = experiment::batch(&p, &mut |l| progress(l))?;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "batch: {k}-of-{n}, {messages} messages; per message: public check, {k} trustee shares with proofs, combine (all in this process, {} cores)",
        start.machine.cores
    );
    let _ = writeln!(text, "sealing all messages (1 thread): {:.2} s", r.seal_s);
    let _ = writeln!(
        text,
        "{:>7} {:>6} {:>9} {:>12} {:>12} {:>8}",
        "threads", "batch", "wall s", "messages/s", "µs/message", "speed-up"
    );
    for b in &r.rows {
        let _ = writeln!(
            text,
            "{:>7} {:>6} {:>9.2} {:>12.0} {:>12.0} {:>8}",
            b.threads,
            b.batch,
            b.wall_s,
            b.messages_per_s,
            b.wall_s * 1e6 / b.messages.max(1) as f64,
            b.speedup
                .map(|s| format!("{s:.2}x"))
                .unwrap_or_else(|| "-".into())
        );
    }
    let warnings: Vec<String> = experiment::too_small(messages, "messages")
        .into_iter()
        .collect();
    let run = RunOutput {
        experiment: "batch",
        parameters: serde_json::to_value(&p)?,
        csv: ("batch.csv", BATCH_COLUMNS, experiment::batch_csv_rows(&r)),
        charts: experiment::batch_charts(&r),
        start,
        results: serde_json::to_value(&r)?,
        warnings,
    };
    finish(out, &dir, run, text)
}
