//! `escrow experiment`: a tiny sweep, failure run and batch run, as a user runs them. Checks the
//! files each run writes (CSV columns, run.json fields, an SVG) and that timings are positive
//! numbers. No timed assertions: speed belongs in the benchmarks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_research::experiment::SWEEP_COLUMNS;
use escrow_testkit::{escrow, ok};
use std::path::Path;
use std::process::Output;

/// `escrow WORDS --out OUT` in `dir` (WORDS split at spaces: `experiment sweep --n 3 ...`).
fn experiment(dir: &Path, words: &str, out: &Path) -> Output {
    let mut args: Vec<&str> = words.split_whitespace().collect();
    args.extend(["--out", out.to_str().unwrap()]);
    escrow(dir, &args)
}

/// Parse a CSV without quoted fields (ours has none in these runs): header and rows.
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    for r in &rows {
        assert_eq!(r.len(), header.len(), "row {r:?}");
    }
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

fn check_run_json(dir: &Path, experiment: &str) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(v["experiment"], experiment);
    assert!(v["parameters"].is_object());
    assert!(v["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(v["machine"]["cpu_model"].as_str().is_some());
    assert!(v["versions"]["crates"]["p256"].as_str().is_some());
    assert!(v["versions"]["crates"]["vsss-rs"].as_str().is_some());
    assert!(
        v["versions"]["rustc"]
            .as_str()
            .unwrap()
            .starts_with("rustc")
    );
    let commit = v["commit"]["id"].as_str().unwrap();
    assert!(commit == "unknown" || commit.len() == 40, "{commit}");
    assert!(v["duration_s"].as_f64().unwrap() > 0.0);
    for f in v["files"].as_array().unwrap() {
        assert!(dir.join(f.as_str().unwrap()).is_file(), "{f}");
    }
    v
}

fn check_svg(path: &Path) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(
        s.starts_with("<svg") && s.trim_end().ends_with("</svg>"),
        "{}",
        path.display()
    );
}

#[test]
fn tiny_sweep_writes_csv_svg_and_run_record() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let stdout = ok(&experiment(
        tmp.path(),
        "experiment sweep --n 3,5 --k 2,3 --messages 3",
        &out,
    ));
    assert!(stdout.contains("combine"), "{stdout}");
    let (h, rows) = csv(&out.join("sweep.csv"));
    // the header is the sweep's published column list, in its order
    assert_eq!(h, SWEEP_COLUMNS);
    // ours: setup seal check share verify combine; naive: setup seal share combine; 2 pairs
    assert_eq!(rows.len(), 2 * (6 + 4));
    for r in &rows {
        for c in ["mean_us", "median_us", "p95_us", "total_ms"] {
            let x: f64 = r[col(&h, c)].parse().unwrap();
            assert!(x > 0.0 && x.is_finite(), "{c} in {r:?}");
        }
    }
    let seal_bytes = |scheme: &str, n: &str| -> u64 {
        rows.iter()
            .find(|r| r[0] == scheme && r[1] == n && r[col(&h, "operation")] == "seal")
            .map(|r| r[col(&h, "bytes")].parse().unwrap())
            .unwrap()
    };
    // our header does not grow with n; the naive one does
    assert_eq!(seal_bytes("ours", "3"), seal_bytes("ours", "5"));
    assert!(seal_bytes("naive", "5") > seal_bytes("naive", "3"));
    check_svg(&out.join("sweep.svg"));
    check_svg(&out.join("sweep-bytes.svg"));
    check_run_json(&out, "sweep");

    // the same folder again is refused; --json prints one object
    let again = experiment(
        tmp.path(),
        "experiment sweep --n 3 --k 2 --messages 1",
        &out,
    );
    assert_eq!(again.status.code(), Some(1));
    let out2 = tmp.path().join("sweep2");
    let j = ok(&experiment(
        tmp.path(),
        "--json experiment sweep --n 3 --k 2 --messages 1 --no-naive",
        &out2,
    ));
    let v: serde_json::Value = serde_json::from_str(j.trim()).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["experiment"], "sweep");
    assert!(v["results"]["rows"].as_array().unwrap().len() == 6);
}

#[test]
fn tiny_failures_and_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("f");
    let stdout = ok(&experiment(
        tmp.path(),
        "experiment failures --n 5 --k 3 --down 0,2 --malicious 0,1 --messages 2",
        &out,
    ));
    assert!(stdout.contains("named"), "{stdout}");
    let (h, rows) = csv(&out.join("failures.csv"));
    assert_eq!(rows.len(), 2 * 4);
    let get = |scheme: &str, down: &str, mal: &str| {
        rows.iter()
            .find(|r| {
                r[0] == scheme && r[col(&h, "down")] == down && r[col(&h, "malicious")] == mal
            })
            .unwrap()
            .clone()
    };
    // 2 down, 1 malicious: only 2 good shares of 3 needed; the liar (trustee 3) is named
    let r = get("ours", "2", "1");
    assert_eq!(r[col(&h, "decrypted")], "0");
    assert_eq!(r[col(&h, "named")], "3");
    let r = get("ours", "0", "1");
    assert_eq!(r[col(&h, "decrypted")], "2");
    assert_eq!(r[col(&h, "named")], "1");
    let r = get("naive", "0", "1");
    assert_eq!(r[col(&h, "decrypted")], "2");
    assert_eq!(r[col(&h, "named")], "");
    check_svg(&out.join("failures.svg"));
    check_run_json(&out, "failures");

    let out = tmp.path().join("b");
    ok(&experiment(
        tmp.path(),
        "experiment batch --n 3 --k 2 --messages 8 --threads 1,2 --batch 1,4",
        &out,
    ));
    let (h, rows) = csv(&out.join("batch.csv"));
    assert_eq!(rows.len(), 4);
    for r in &rows {
        let x: f64 = r[col(&h, "messages_per_s")].parse().unwrap();
        assert!(x > 0.0);
    }
    check_svg(&out.join("batch.svg"));
    check_run_json(&out, "batch");
}

#[test]
fn bad_parameters_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    for (words, needle) in [
        ("experiment sweep --n 3 --k 4", "exceeds"),
        ("experiment sweep --n 256 --k 4", "at most 255"),
        ("experiment sweep --n 5 --k 3 --messages 0", "at least 1"),
        (
            "experiment sweep --n 5 --k 3 --messages 100001",
            "at most 100000",
        ),
        ("experiment sweep --n 5,6,7 --k 3,4", "paired"),
        ("experiment failures --n 5 --k 3 --down 6", "more than"),
        ("experiment batch --n 5 --k 3 --threads 0", "thread"),
        ("experiment batch --n 5 --k 6", "exceeds"),
    ] {
        let args: Vec<&str> = words.split_whitespace().collect();
        let o = escrow(tmp.path(), &args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // nothing was written for refused runs
    assert!(!tmp.path().join("experiments").exists());
}
