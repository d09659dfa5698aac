//! Log integrity at start-up (issue 11 items 1, 5, 9): a truncated, replaced or rolled-back
//! `log.db` is not a fresh start; an edited derived table (counters, warrants seen,
//! cancellations) refuses start naming the table; cancelling a parent stops its renewals.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use escrow_core::release::ReleaseRequest;
use std::path::{Path, PathBuf};
use std::process::Command;

const DB_FILES: [&str; 3] = ["log.db", "log.db-wal", "log.db-shm"];

fn copy_state(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
    }
}

/// Replace the database files of `to` with those of `from` (or remove them).
fn put_db(from: Option<&Path>, to: &Path) {
    for f in DB_FILES {
        let _ = std::fs::remove_file(to.join(f));
        if let Some(from) = from
            && from.join(f).exists()
        {
            std::fs::copy(from.join(f), to.join(f)).unwrap();
        }
    }
}

fn verify_log(state: &Path) -> (bool, String, String) {
    let out = Command::new(BIN)
        .args(["verify-log", "--state"])
        .arg(state)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Both `serve` and `verify-log` refuse `state`, naming `why`.
fn refused(state: &Path, why: &str) {
    let e = try_start(state, &[], &[]).err().unwrap();
    assert!(e.contains("audit log damaged") && e.contains(why), "{e}");
    let (ok, _, err) = verify_log(state);
    assert!(!ok && err.contains(why), "verify-log: {err}");
}

fn cancel(node: &NodeProc, fx: &Fixture, w: &escrow_core::warrant::WarrantEnvelope, id: &str) {
    let c = fx.cancellation(w, id, &fx.issuer);
    let (s, b) = post(&node.url("/v1/cancel"), &c.to_json());
    assert_eq!(s, 200, "{b}");
}

fn snapshot(fx: &Fixture, state: &Path, name: &str) -> PathBuf {
    let to = fx.dir.path().join(name);
    copy_state(state, &to);
    to
}

#[test]
fn a_truncated_replaced_or_rolled_back_log_is_not_a_fresh_start() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let other = fx.init(2);
    let early = snapshot(&fx, &state, "early");

    // Releases, then a cancellation: the state an attacker wants the node to forget.
    let mut node = start(&state, &[], &[]);
    let w = fx.double_locked(&fx.payload("w-int"));
    release(
        &node,
        &fx,
        &w,
        vec![fx.message("alice", "bob", "i1", 60).escrow],
    );
    cancel(&node, &fx, &w, "w-int");
    node.kill9();
    let (ok, out, err) = verify_log(&state);
    assert!(ok, "{err}");
    assert!(
        out.contains("log intact: 4 entries") && out.contains("signed checkpoint of size 4"),
        "{out}"
    );

    // Truncated to 0 bytes.
    let t = snapshot(&fx, &state, "zero");
    put_db(None, &t);
    std::fs::write(t.join("log.db"), b"").unwrap();
    refused(&t, "holds no audit log");
    assert_eq!(
        std::fs::metadata(t.join("log.db")).unwrap().len(),
        0,
        "left as found"
    );

    // Replaced with another trustee's log (same set and policy, another node).
    let t = snapshot(&fx, &state, "others");
    put_db(Some(&other), &t);
    refused(&t, "this node signed a tree head of size 4");

    // Replaced with a log of another trustee set.
    let fx2 = Fixture::new(2, 2);
    let foreign = fx2.init(1);
    let t = snapshot(&fx, &state, "foreign");
    put_db(Some(&foreign), &t);
    refused(&t, "this node signed");
    // ... and with the checkpoint removed, so only the setup entry can tell.
    std::fs::remove_file(t.join("checkpoint")).unwrap();
    let e = try_start(&t, &["--accept-unanchored-log"], &[])
        .err()
        .unwrap();
    assert!(e.contains("setup entry of trustee set"), "{e}");

    // Rolled back to an earlier copy (before the release and the cancellation).
    let t = snapshot(&fx, &state, "rolled-back");
    put_db(Some(&early), &t);
    refused(&t, "truncated or rolled back");

    // The same length, another history: the root at the signed size differs.
    let t = snapshot(&fx, &state, "forked");
    let mut n = start(&early, &[], &[]);
    let w2 = fx.double_locked(&fx.payload("w-fork"));
    release(
        &n,
        &fx,
        &w2,
        vec![fx.message("alice", "bob", "i2", 60).escrow],
    );
    cancel(&n, &fx, &w2, "w-fork");
    n.kill9();
    put_db(Some(&early), &t);
    refused(&t, "not the root of the tree head this node signed");

    // The checkpoint file: missing -> refused unless explicitly accepted; another node's ->
    // refused.
    let t = snapshot(&fx, &state, "no-checkpoint");
    std::fs::remove_file(t.join("checkpoint")).unwrap();
    let e = try_start(&t, &[], &[]).err().unwrap();
    assert!(e.contains("checkpoint is missing"), "{e}");
    let n = start(&t, &["--accept-unanchored-log"], &[]);
    drop(n);
    assert!(t.join("checkpoint").exists(), "anchored again at start");
    let t = snapshot(&fx, &state, "other-checkpoint");
    std::fs::copy(other.join("checkpoint"), t.join("checkpoint")).unwrap();
    let e = try_start(&t, &[], &[]).err().unwrap();
    assert!(
        e.contains("not a tree head signed by this node's log key"),
        "{e}"
    );

    // The untouched state still serves, the warrant still cancelled.
    let node = start(&state, &[], &[]);
    let (s, b) = post_as(
        &node.url("/v1/release"),
        &fx.investigator,
        &ReleaseRequest::new(&w, vec![fx.message("alice", "bob", "i3", 60).escrow]).to_json(),
    );
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"cancelled\""), "{b}");
}

/// Run SQL on a copy of `state`'s database with its triggers dropped.
fn tamper(fx: &Fixture, state: &Path, name: &str, sql: &str) -> PathBuf {
    let t = snapshot(fx, state, name);
    let db = rusqlite::Connection::open(t.join("log.db")).unwrap();
    db.execute_batch(
        "PRAGMA foreign_keys=OFF;
         DROP TRIGGER IF EXISTS cancellations_no_update; DROP TRIGGER IF EXISTS cancellations_no_delete;
         DROP TRIGGER IF EXISTS releases_no_update; DROP TRIGGER IF EXISTS releases_no_delete;
         DROP TRIGGER IF EXISTS warrants_no_update; DROP TRIGGER IF EXISTS warrants_no_delete;",
    )
    .unwrap();
    db.execute_batch(sql).unwrap();
    t
}

#[test]
fn edited_derived_tables_refuse_start_naming_the_table() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let mut node = start(&state, &[], &[]);
    let w = fx.double_locked(&fx.payload("w-der"));
    release(
        &node,
        &fx,
        &w,
        vec![fx.message("alice", "bob", "d1", 60).escrow],
    );
    cancel(&node, &fx, &w, "w-der");
    node.kill9();

    // The triggers refuse every change to a derived table.
    {
        let t = snapshot(&fx, &state, "triggers");
        let db = rusqlite::Connection::open(t.join("log.db")).unwrap();
        for (sql, why) in [
            (
                "UPDATE cancellations SET warrant_id = 'x'",
                "cancellations are permanent",
            ),
            ("DELETE FROM cancellations", "cancellations are permanent"),
            (
                "UPDATE releases SET warrant_id = 'x'",
                "release counters only grow",
            ),
            ("DELETE FROM releases", "release counters only grow"),
            (
                "UPDATE warrants SET warrant_id = 'x'",
                "warrants seen are append-only",
            ),
            ("DELETE FROM warrants", "warrants seen are append-only"),
        ] {
            let e = db.execute_batch(sql).unwrap_err().to_string();
            assert!(e.contains(why), "{sql}: {e}");
        }
    }

    // With the triggers dropped: every edit is found at start-up.
    let cases = [
        (
            "UPDATE cancellations SET warrant_id = 'w-other'",
            "table cancellations, row for warrant \"w-other\"",
        ),
        (
            "DELETE FROM cancellations",
            "table cancellations has no row for the cancellation entry 3",
        ),
        (
            "UPDATE cancellations SET envelope = (SELECT envelope FROM warrants)",
            "table cancellations, row for warrant \"w-der\" (entry 3): stored envelope does not have the row's digest",
        ),
        (
            "DELETE FROM releases",
            "table releases has no counter for release entry 2",
        ),
        (
            "UPDATE releases SET first_seq = 1",
            "table releases, row for warrant \"w-der\" (entry 1)",
        ),
        (
            "UPDATE warrants SET warrant_id = 'w-else'",
            "table warrants, row for warrant \"w-else\" (entry 1): stored warrant has id \"w-der\"",
        ),
        (
            "DELETE FROM warrants",
            "table warrants has no row for the warrant-seen entry 1",
        ),
    ];
    for (i, (sql, why)) in cases.iter().enumerate() {
        let t = tamper(&fx, &state, &format!("tampered-{i}"), sql);
        refused(&t, why);
    }

    // Untouched: starts, and the warrant stays cancelled.
    let node = start(&state, &[], &[]);
    let (s, b) = post_as(
        &node.url("/v1/release"),
        &fx.investigator,
        &ReleaseRequest::new(&w, vec![fx.message("alice", "bob", "d2", 60).escrow]).to_json(),
    );
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"cancelled\""), "{b}");
}

#[test]
fn cancelling_a_parent_stops_its_renewals_and_theirs() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let mut node = start(&state, &[], &[]);
    let w = fx.double_locked(&fx.payload("w-parent"));
    let mut p1 = fx.payload("w-renewal-1");
    p1.parent_warrant_id = Some("w-parent".into());
    let r1 = fx.double_locked(&p1);
    let mut p2 = fx.payload("w-renewal-2");
    p2.parent_warrant_id = Some("w-renewal-1".into());
    let r2 = fx.double_locked(&p2);
    for (env, id) in [(&w, "c1"), (&r1, "c2"), (&r2, "c3")] {
        let r = release(
            &node,
            &fx,
            env,
            vec![fx.message("alice", "bob", id, 60).escrow],
        );
        assert_eq!(codes(&r), vec!["released"]);
    }
    cancel(&node, &fx, &w, "w-parent");
    let refused_under = |node: &NodeProc, env, id: &str| {
        let (s, b) = post_as(
            &node.url("/v1/release"),
            &fx.investigator,
            &ReleaseRequest::new(env, vec![fx.message("alice", "bob", id, 60).escrow]).to_json(),
        );
        assert_eq!(s, 200, "{b}");
        let r = escrow_core::release::ReleaseResponse::from_json(&b).unwrap();
        assert_eq!(codes(&r), vec!["cancelled"], "{b}");
    };
    refused_under(&node, &r1, "c4");
    // The grandchild names only w-renewal-1 as parent: refused through the recorded chain.
    refused_under(&node, &r2, "c5");
    // After a restart the chain is rebuilt from the checked tables.
    node.kill9();
    let node = start(&state, &[], &[]);
    refused_under(&node, &r2, "c6");
    refused_under(&node, &r1, "c7");
}

#[test]
fn a_parent_cancelled_while_a_renewal_batch_is_in_flight_stops_it() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let node = start(&state, &[], &[]);
    let w = fx.double_locked(&fx.payload("w-p"));
    let mut p1 = fx.payload("w-r");
    p1.parent_warrant_id = Some("w-p".into());
    let r1 = fx.double_locked(&p1);
    let msgs: Vec<_> = (0..400)
        .map(|i| fx.message("alice", "bob", &format!("f{i}"), 60))
        .collect();
    let body = ReleaseRequest::new(&r1, cts(&msgs)).to_json();
    let url = node.url("/v1/release");
    let inv = fx.investigator.clone();
    let inflight = std::thread::spawn(move || post_as(&url, &inv, &body));
    cancel(&node, &fx, &w, "w-p");
    let (s, b) = inflight.join().unwrap();
    assert_eq!(s, 200, "{b}");
    // Whatever the interleaving: no share under the renewal is logged after the cancellation.
    let entries = log_entries(&node);
    let cancelled_at = entries
        .iter()
        .position(|e| e["entry"]["kind"] == "cancellation")
        .unwrap();
    let r1d = r1.digest().to_hex();
    for e in &entries[cancelled_at..] {
        assert!(
            !(e["entry"]["kind"] == "release" && e["entry"]["warrant"] == r1d),
            "released after the parent's cancellation: {e}"
        );
    }
}

/// Issue 11 item 2: ~500 anonymous refusals of a few hundred KB each grew one log page past
/// the auditor's limit. A refused request is now one small entry (request digest and count),
/// and a page of `/v1/log/entries` stops at a byte bound as well as an entry count.
#[test]
fn refusals_stay_small_and_log_pages_are_bounded_in_bytes() {
    use escrow_core::audit::LogEntry;
    use escrow_core::codec::b64_decode;
    use escrow_core::release::request_digest;
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let node = start(&state, &["--log-page-bytes", "2048"], &[]);
    // An issuer-only warrant (refused: missing-approval) with 2,000 copies of one ciphertext.
    let w = fx.issue(&fx.payload("w-flood"));
    let m = fx.message("alice", "bob", "flood", 60);
    let body = ReleaseRequest::new(&w, vec![m.escrow.clone(); 2000]).to_json();
    assert!(body.len() > 300_000, "{}", body.len());
    for _ in 0..3 {
        let (s, b) = post_as(&node.url("/v1/release"), &fx.investigator, &body);
        assert_eq!(s, 200, "{}", &b[..b.len().min(300)]);
    }
    for i in 0..40 {
        let one = ReleaseRequest::new(
            &w,
            vec![fx.message("alice", "bob", &format!("x{i}"), 60).escrow],
        )
        .to_json();
        assert_eq!(
            post_as(&node.url("/v1/release"), &fx.investigator, &one).0,
            200
        );
    }
    let entries = log_entries(&node);
    assert_eq!(entries.len(), 1 + 3 + 40);
    for v in &entries[1..4] {
        let bytes = b64_decode(v["bytes"].as_str().unwrap()).unwrap();
        assert!(
            bytes.len() < 200,
            "a refusal entry of {} bytes",
            bytes.len()
        );
        let e = LogEntry::from_bytes(&bytes).unwrap();
        assert_eq!(e.count, Some(2000));
        assert_eq!(e.document, Some(request_digest(body.as_bytes())));
        assert!(e.ciphertexts.is_empty());
        assert_eq!(e.reason.as_deref(), Some("missing-approval"));
    }
    // Every page, asked for as much as it may hold, stays within 2,048 entry bytes, and the
    // pages cover the log without gaps.
    let info = json(&get(&node.url("/v1/info")).1);
    assert_eq!(info["limits"]["log_page_bytes"], 2048);
    let mut start = 0u64;
    let mut pages = 0;
    while start < entries.len() as u64 {
        let (s, b) = get(&node.url(&format!("/v1/log/entries?start={start}&end=100000")));
        assert_eq!(s, 200, "{b}");
        let v = json(&b);
        let page = v["entries"].as_array().unwrap();
        let sum: usize = page
            .iter()
            .map(|e| b64_decode(e["bytes"].as_str().unwrap()).unwrap().len())
            .sum();
        assert!(!page.is_empty());
        assert!(sum <= 2048, "page at {start}: {sum} bytes");
        assert_eq!(v["end"].as_u64().unwrap(), start + page.len() as u64);
        assert_eq!(page[0]["index"].as_u64().unwrap(), start);
        start += page.len() as u64;
        pages += 1;
    }
    assert!(pages > 1, "the byte bound split the log");
}

/// Issue 14: shares are computed before the database lock, and the limit is decided again
/// under it. Concurrent requests that share some ciphertexts and together ask for more than the
/// limit: the distinct ciphertexts released never exceed it, a ciphertext released by one
/// request costs the others nothing, and every released share is logged and verifies.
#[test]
fn concurrent_overlapping_requests_never_exceed_the_limit() {
    use std::collections::HashSet;
    use std::sync::Arc;
    let fx = Arc::new(Fixture::new(2, 1));
    let node = Arc::new(start(&fx.init(1), &[], &[]));
    let mut p = fx.payload("w-overlap");
    p.max_releases = Some(6);
    let w = Arc::new(fx.double_locked(&p));
    let shared: Arc<Vec<_>> = Arc::new(
        (0..3)
            .map(|i| fx.message("alice", "bob", &format!("s{i}"), 60))
            .collect(),
    );
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (fx, node, w, shared) = (fx.clone(), node.clone(), w.clone(), shared.clone());
            std::thread::spawn(move || {
                let mut msgs: Vec<_> = shared.iter().cloned().collect();
                msgs.extend((0..3).map(|i| fx.message("alice", "bob", &format!("o{t}-{i}"), 60)));
                let r = release(&node, &fx, &w, cts(&msgs));
                let released: Vec<String> = r
                    .results
                    .iter()
                    .zip(&msgs)
                    .filter(|(x, _)| {
                        matches!(x, escrow_core::release::ReleaseResult::Released { .. })
                    })
                    .map(|(_, m)| m.escrow.digest().to_hex())
                    .collect();
                (codes(&r), released)
            })
        })
        .collect();
    let mut distinct = HashSet::new();
    let mut all = Vec::new();
    for t in threads {
        let (codes, released) = t.join().unwrap();
        all.extend(codes);
        distinct.extend(released);
    }
    assert_eq!(distinct.len(), 6, "{distinct:?}");
    // Every answer is a release or a limit refusal; at least 24 - 6 - 3×3 are refusals (at
    // most 6 distinct, and the 3 shared ones may be released to every request).
    assert!(
        all.iter().all(|c| c == "released" || c == "release-limit"),
        "{all:?}"
    );
    assert!(
        all.iter().filter(|c| *c == "release-limit").count() >= 24 - 6 - 9,
        "{all:?}"
    );
    // The log agrees: release entries name exactly those ciphertexts.
    let logged: HashSet<String> = log_entries(&node)
        .iter()
        .filter(|e| e["entry"]["kind"] == "release")
        .map(|e| e["entry"]["ciphertexts"][0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(logged, distinct);
}
