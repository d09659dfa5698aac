//! Bad input, bad state, crashes, a log that cannot be written, signals, TLS: the node answers
//! clearly, stays up for request errors, refuses to start on damaged state, and never releases
//! a share without its log entry.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use escrow_core::audit::{LogEntry, leaf_hash, mth};
use escrow_core::codec::b64_decode;
use escrow_core::release::{ReleaseRequest, ReleaseResponse, ReleaseResult};
use escrow_core::warrant::WarrantEnvelope;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn bad_requests_get_json_errors_and_the_node_stays_up() {
    let fx = Fixture::new(2, 2);
    let node = start(
        &fx.init(1),
        &["--max-body-bytes", "200000", "--max-batch", "5"],
        &[],
    );
    let url = node.url("/v1/release");
    let size0 = head_size(&node);

    let (s, b) = post_as(&url, &fx.investigator, "this is not json");
    assert_eq!(
        (s, error_code(&b).as_str()),
        (400, "malformed-request"),
        "{b}"
    );
    let (s, b) = post_as(&url, &fx.investigator, r#"{"version":1}"#);
    assert_eq!(
        (s, error_code(&b).as_str()),
        (400, "malformed-request"),
        "{b}"
    );
    let w = fx.double_locked(&fx.payload("w-input"));
    let m = fx.message("alice", "bob", "i1", 60);
    let mut v: serde_json::Value =
        serde_json::from_str(&ReleaseRequest::new(&w, vec![m.escrow.clone()]).to_json()).unwrap();
    v["version"] = 2.into();
    let (s, b) = post_as(&url, &fx.investigator, &v.to_string());
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("unsupported format version"), "{b}");
    let (s, b) = post_as(
        &url,
        &fx.investigator,
        &ReleaseRequest::new(&w, vec![]).to_json(),
    );
    assert_eq!(
        (s, error_code(&b).as_str()),
        (400, "malformed-request"),
        "{b}"
    );

    // Oversized body and oversized batch.
    // (The node answers as soon as it sees the length, without reading the body, so a
    // client still sending may see a broken pipe; speak HTTP by hand to read the answer.)
    let (s, b) = raw_post_announcing(&node.addr, "/v1/release", 300_000);
    assert_eq!((s, error_code(&b).as_str()), (413, "body-too-large"), "{b}");
    let (s, b) = post_as(
        &url,
        &fx.investigator,
        &ReleaseRequest::new(&w, vec![m.escrow.clone(); 6]).to_json(),
    );
    assert_eq!(
        (s, error_code(&b).as_str()),
        (413, "batch-too-large"),
        "{b}"
    );
    assert_eq!(head_size(&node), size0, "malformed requests are not logged");

    // A bad point in one ciphertext: that one refused as malformed, the others served.
    let mut v: serde_json::Value = serde_json::from_str(
        &ReleaseRequest::new(&w, vec![m.escrow.clone(), m.escrow.clone()]).to_json(),
    )
    .unwrap();
    v["ciphertexts"][0]["u"] = format!("02{}", "ff".repeat(32)).into();
    let (s, b) = post_as(&url, &fx.investigator, &v.to_string());
    assert_eq!(s, 200, "{b}");
    let r = ReleaseResponse::from_json(&b).unwrap();
    r.verify(&fx.set).unwrap();
    assert_eq!(codes(&r), vec!["malformed", "released"]);
    match &r.results[0] {
        ReleaseResult::Refused {
            ciphertext, detail, ..
        } => {
            assert!(ciphertext.is_none());
            assert!(detail.contains("point"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // The identity (all zero) as a point, and a bad envelope signature encoding.
    v["ciphertexts"][0]["u"] = "00".repeat(33).into();
    let (s, b) = post_as(&url, &fx.investigator, &v.to_string());
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        codes(&ReleaseResponse::from_json(&b).unwrap())[0],
        "malformed"
    );
    v["warrant"]["signatures"][0]["sig"] = "AAAA".into();
    let (s, b) = post_as(&url, &fx.investigator, &v.to_string());
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        codes(&ReleaseResponse::from_json(&b).unwrap()),
        vec!["bad-signature", "bad-signature"]
    );

    // Routing and query errors are JSON too.
    let (s, b) = get(&node.url("/v1/nope"));
    assert_eq!((s, error_code(&b).as_str()), (404, "not-found"), "{b}");
    let (s, b) = get(&url);
    assert_eq!(
        (s, error_code(&b).as_str()),
        (405, "method-not-allowed"),
        "{b}"
    );
    let (s, b) = get(&node.url("/v1/log/entries?start=abc"));
    assert_eq!((s, error_code(&b).as_str()), (400, "bad-range"), "{b}");
    let (s, b) = get(&node.url("/v1/log/entries?start=100000"));
    assert_eq!((s, error_code(&b).as_str()), (400, "bad-range"), "{b}");
    let (s, b) = post(&node.url("/v1/cancel"), "[1,2,3]");
    assert_eq!(
        (s, error_code(&b).as_str()),
        (400, "malformed-request"),
        "{b}"
    );

    // Still up, still healthy.
    let (s, b) = get(&node.url("/v1/info"));
    assert_eq!(s, 200);
    let info = json(&b);
    assert_eq!(info["healthy"], true);
    assert_eq!(info["trustee"], 1);
    assert_eq!(info["set_id"], fx.set.id().to_hex());
}

#[test]
fn init_and_serve_refuse_bad_secrets_and_damaged_state() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);

    // Wrong passphrase, no passphrase, missing state: clear errors, nothing listens.
    let e = try_start(&state, &[], &[("TRUSTEE_PASSPHRASE", "wrong")])
        .err()
        .unwrap();
    assert!(e.contains("wrong passphrase"), "{e}");
    let e = try_start(&state, &[], &[("TRUSTEE_PASSPHRASE", "")])
        .err()
        .unwrap();
    assert!(e.contains("no passphrase"), "{e}");
    let e = try_start(&fx.dir.path().join("nowhere"), &[], &[])
        .err()
        .unwrap();
    assert!(e.contains("not a trustee-node state folder"), "{e}");
    // A passphrase file works.
    let pf = fx.dir.path().join("pass.txt");
    std::fs::write(&pf, format!("{PASS}\n")).unwrap();
    let node = start(
        &state,
        &["--passphrase-file", pf.to_str().unwrap()],
        &[("TRUSTEE_PASSPHRASE", "wrong")],
    );
    drop(node);

    // init: refuses a non-empty state folder and a signing key that is not the trustee's.
    let out = fx.run_init(&fx.trustee_dirs[0], &state, PASS);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    let mixed = fx.dir.path().join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::copy(
        fx.trustee_dirs[0].join("key-share.json"),
        mixed.join("key-share.json"),
    )
    .unwrap();
    std::fs::copy(
        fx.trustee_dirs[1].join("signing.key"),
        mixed.join("signing.key"),
    )
    .unwrap();
    let out = fx.run_init(&mixed, &fx.dir.path().join("state-mixed"), PASS);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not trustee 1's signing key"));

    // The sealed file records the KDF parameters and holds no plaintext share.
    let sealed = std::fs::read_to_string(state.join("secrets.sealed.json")).unwrap();
    let sv = json(&sealed);
    assert_eq!(sv["kdf"]["algorithm"], "argon2id");
    assert_eq!(sv["kdf"]["setting"], "test");
    let share_json = std::fs::read_to_string(fx.trustee_dirs[0].join("key-share.json")).unwrap();
    let share_hex = json(&share_json)["share"].as_str().unwrap().to_string();
    assert!(!sealed.contains(&share_hex));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(state.join("secrets.sealed.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }

    // A release, so the log has more than the setup entry.
    let node = start(&state, &[], &[]);
    let w = fx.double_locked(&fx.payload("w-state"));
    release(
        &node,
        &fx,
        &w,
        vec![fx.message("alice", "bob", "s1", 60).escrow],
    );
    drop(node);

    // A log entry rewritten behind the node's back (trigger dropped, leaf hash recomputed).
    let tampered = fx.dir.path().join("tampered");
    copy_state(&state, &tampered);
    {
        let db = rusqlite::Connection::open(tampered.join("log.db")).unwrap();
        let bytes: Vec<u8> = db
            .query_row("SELECT entry FROM log_entries WHERE seq = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        let mut e = LogEntry::from_bytes(&bytes).unwrap();
        e.ciphertexts = vec![escrow_core::codec::CiphertextDigest::from_bytes([9; 32])];
        let nb = e.to_bytes();
        db.execute_batch("DROP TRIGGER log_entries_no_update")
            .unwrap();
        db.execute(
            "UPDATE log_entries SET entry = ?1, leaf_hash = ?2 WHERE seq = 2",
            rusqlite::params![nb, leaf_hash(&nb).as_bytes().as_slice()],
        )
        .unwrap();
    }
    let e = try_start(&tampered, &[], &[]).err().unwrap();
    assert!(e.contains("audit log damaged"), "{e}");
    let out = Command::new(BIN)
        .args(["verify-log", "--state"])
        .arg(&tampered)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("audit log damaged"));
    let out = Command::new(BIN)
        .args(["verify-log", "--state"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("log intact: 3 entries"));

    // The last entry deleted.
    let truncated = fx.dir.path().join("truncated");
    copy_state(&state, &truncated);
    {
        let db = rusqlite::Connection::open(truncated.join("log.db")).unwrap();
        db.execute_batch("DROP TRIGGER log_entries_no_delete; PRAGMA foreign_keys=OFF; DELETE FROM log_entries WHERE seq = (SELECT MAX(seq) FROM log_entries);").unwrap();
    }
    let e = try_start(&truncated, &[], &[]).err().unwrap();
    assert!(e.contains("audit log damaged"), "{e}");

    // A database file overwritten with garbage.
    let garbage = fx.dir.path().join("garbage");
    copy_state(&state, &garbage);
    let len = std::fs::metadata(garbage.join("log.db")).unwrap().len() as usize;
    std::fs::write(garbage.join("log.db"), vec![0x5a; len.max(4096)]).unwrap();
    let e = try_start(&garbage, &[], &[]).err().unwrap();
    assert!(e.contains("database") && e.contains("log.db"), "{e}");

    // The untouched state still serves, its log intact.
    let node = start(&state, &[], &[]);
    assert_eq!(head_size(&node), 3); // setup, warrant-seen, release
}

/// POST announcing `len` bytes of body but sending only a few; returns (status, body).
fn raw_post_announcing(addr: &str, path: &str, len: usize) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(s, "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{{\"pad\":\"").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

fn copy_state(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
    }
}

/// Check a (restarted) node's log against receipts: every receipt's entry exists and matches,
/// the head is the root of the entries, and the release counters in the database equal the
/// distinct (warrant, ciphertext) releases in the log.
fn check_log_and_receipts(node: &NodeProc, receipts: &[ReleaseResponse]) {
    let entries = log_entries(node);
    let mut leaves = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["index"].as_u64().unwrap(), i as u64);
        let bytes = b64_decode(e["bytes"].as_str().unwrap()).unwrap();
        let le = LogEntry::from_bytes(&bytes).unwrap();
        assert_eq!(le.sequence, i as u64);
        leaves.push(leaf_hash(&bytes));
    }
    let head = json(&get(&node.url("/v1/log/head")).1);
    assert_eq!(head["root"].as_str().unwrap(), mth(&leaves).to_hex());
    for r in receipts {
        for res in &r.results {
            if let ReleaseResult::Released {
                ciphertext,
                leaf_index,
                ..
            } = res
            {
                let e = &entries[*leaf_index as usize]["entry"];
                assert_eq!(e["kind"], "release");
                assert_eq!(e["ciphertexts"][0].as_str().unwrap(), ciphertext.to_hex());
            }
        }
    }
    let released: HashSet<(String, String)> = entries
        .iter()
        .filter(|e| e["entry"]["kind"] == "release")
        .map(|e| {
            (
                e["entry"]["warrant"].as_str().unwrap().to_string(),
                e["entry"]["ciphertexts"][0].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let db = rusqlite::Connection::open(node.state.join("log.db")).unwrap();
    let counters: i64 = db
        .query_row("SELECT COUNT(*) FROM releases", [], |r| r.get(0))
        .unwrap();
    assert_eq!(counters as usize, released.len());
}

/// A 2-of-2 fixture, the state folder of trustee `i` and its node (a real process, for kill
/// -9 and restarts), and a double-locked warrant `id`.
fn one_node(i: usize, id: &str) -> (Fixture, PathBuf, NodeProc, WarrantEnvelope) {
    let fx = Fixture::new(2, 2);
    let state = fx.init(i);
    let node = start(&state, &[], &[]);
    let w = fx.double_locked(&fx.payload(id));
    (fx, state, node, w)
}

#[test]
fn kill_dash_nine_during_a_large_batch_loses_nothing_that_was_sent() {
    let (fx, state, mut node, w) = one_node(1, "w-crash");
    let msgs: Vec<_> = (0..2200)
        .map(|i| fx.message("alice", "bob", &format!("c{i}"), 60 + i))
        .collect();
    let first = release(&node, &fx, &w, cts(&msgs[..200]));
    assert!(codes(&first).iter().all(|c| c == "released"));
    let size_before = head_size(&node);

    // A large batch in flight; kill -9 while the node works on it.
    let url = node.url("/v1/release");
    let body = ReleaseRequest::new(&w, cts(&msgs[200..])).to_json();
    let sig = signature(&fx.investigator, "POST", &url, body.as_bytes());
    let client = std::thread::spawn(move || {
        let r = agent()
            .post(&url)
            .header("content-type", "application/json")
            .header(escrow_core::auth::HEADER, sig)
            .send(&body);
        match r {
            Ok(mut resp) if resp.status().as_u16() == 200 => {
                let b = resp
                    .body_mut()
                    .with_config()
                    .limit(512 * 1024 * 1024)
                    .read_to_string()
                    .ok()?;
                ReleaseResponse::from_json(&b).ok()
            }
            _ => None,
        }
    });
    std::thread::sleep(Duration::from_millis(400));
    node.kill9();
    let second = client.join().unwrap();

    // Restart: the log verifies (or the node would refuse to start), all or nothing of the
    // batch is in it, every receipt the client holds is in it, counters match the log.
    let node = start(&state, &[], &[]);
    let size_after = head_size(&node);
    let batch_entries = (msgs.len() - 200) as u64;
    assert!(
        size_after == size_before || size_after == size_before + batch_entries,
        "{size_before} -> {size_after}"
    );
    eprintln!(
        "kill -9 outcome: log {size_before} -> {size_after}, client {}",
        if second.is_some() {
            "got its response"
        } else {
            "got no response"
        }
    );
    let mut receipts = vec![first];
    if let Some(s) = second {
        assert_eq!(
            size_after,
            size_before + batch_entries,
            "a response was sent, so its batch was committed"
        );
        receipts.push(s);
    }
    check_log_and_receipts(&node, &receipts);
    // And the node serves on.
    let again = release(&node, &fx, &w, cts(&msgs[..3]));
    assert!(codes(&again).iter().all(|c| c == "released"));
}

#[test]
fn fail_closed_when_the_log_cannot_be_written() {
    let (fx, state, mut node, w) = one_node(1, "w-closed");
    let m = fx.message("alice", "bob", "f1", 60);
    let size0 = head_size(&node);

    // Another process holds the database's write lock: the node cannot log, so it releases
    // nothing, says so with a 503 and a code, and reports itself unhealthy.
    let blocker = rusqlite::Connection::open(state.join("log.db")).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (s, b) = post_as(
        &node.url("/v1/release"),
        &fx.investigator,
        &ReleaseRequest::new(&w, vec![m.escrow.clone()]).to_json(),
    );
    assert_eq!(
        (s, error_code(&b).as_str()),
        (503, "log-unavailable"),
        "{b}"
    );
    assert!(!b.contains("\"share\""));
    let info = json(&get(&node.url("/v1/info")).1);
    assert_eq!(info["healthy"], false);
    assert!(
        info["problem"].as_str().unwrap().contains("locked"),
        "{info}"
    );
    // The public answer names no path of the node's machine (issue 11: no paths in /v1/info).
    assert!(
        !info
            .to_string()
            .contains(&fx.dir.path().display().to_string()),
        "{info}"
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    // Fail closed until restart, even though the lock is gone.
    let (s, b) = post_as(
        &node.url("/v1/release"),
        &fx.investigator,
        &ReleaseRequest::new(&w, vec![m.escrow.clone()]).to_json(),
    );
    assert_eq!((s, error_code(&b).as_str()), (503, "node-unhealthy"), "{b}");
    assert!(node.stderr().contains("audit log cannot be written"));
    node.kill9();
    let node = start(&state, &[], &[]);
    assert_eq!(
        head_size(&node),
        size0,
        "nothing of the failed request was logged"
    );
    let r = release(&node, &fx, &w, vec![m.escrow]);
    assert_eq!(codes(&r), vec!["released"]);
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let (fx, state, mut node, w) = one_node(2, "w-term");
    assert_eq!(get(&node.url("/v1/info")).0, 200);
    // A batch in flight when SIGTERM arrives is finished and answered.
    let msgs: Vec<_> = (0..1500)
        .map(|i| fx.message("alice", "bob", &format!("t{i}"), 60 + i))
        .collect();
    let url = node.url("/v1/release");
    let body = ReleaseRequest::new(&w, cts(&msgs)).to_json();
    let inv = fx.investigator.clone();
    let client = std::thread::spawn(move || post_as(&url, &inv, &body));
    std::thread::sleep(Duration::from_millis(300));
    let st = Command::new("kill")
        .arg("-TERM")
        .arg(node.child.id().to_string())
        .status()
        .unwrap();
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = node.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "node did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}: {}", node.stderr());
    let (code, body) = client.join().unwrap();
    assert_eq!(code, 200, "{body}");
    let r = ReleaseResponse::from_json(&body).unwrap();
    r.verify(&fx.set).unwrap();
    assert_eq!(r.results.len(), 1500);
    let node = start(&state, &[], &[]);
    assert_eq!(json(&get(&node.url("/v1/info")).1)["trustee"], 2);
}

#[test]
fn tls_with_a_certificate() {
    if !runs("curl", "--version") || !runs("openssl", "version") {
        eprintln!("skipped: needs openssl and curl");
        return;
    }
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let (cert, key) = self_signed_cert(fx.dir.path());
    let node = start(
        &state,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(&cert)
        .arg(format!("https://{}/v1/info", node.addr))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(info["trustee"], 1);
    // Plain HTTP to the TLS port gets nothing useful.
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5"])
        .arg(format!("http://{}/v1/info", node.addr))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"trustee\""));
    // Missing certificate file: a clear error before listening (the first node stopped, as
    // one state folder serves one node at a time).
    drop(node);
    let e = try_start(
        &state,
        &[
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    )
    .err()
    .unwrap();
    assert!(e.contains("TLS"), "{e}");
}

#[test]
fn a_request_past_its_timeout_gets_a_json_408() {
    let fx = Fixture::new(2, 2);
    let node = start(&fx.init(1), &["--request-timeout-secs", "1"], &[]);
    let w = fx.double_locked(&fx.payload("w-slow"));
    let msgs: Vec<_> = (0..4000)
        .map(|i| fx.message("alice", "bob", &format!("s{i}"), 60 + i))
        .collect();
    let (s, b) = post_as(
        &node.url("/v1/release"),
        &fx.investigator,
        &ReleaseRequest::new(&w, cts(&msgs)).to_json(),
    );
    assert_eq!((s, error_code(&b).as_str()), (408, "timeout"), "{b}");
    // The node stays up; the batch it was computing is committed whole or not at all.
    let (s, _) = get(&node.url("/v1/info"));
    assert_eq!(s, 200);
}

#[test]
fn a_changed_policy_is_recorded_as_a_new_setup_entry() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let node = start(&state, &[], &[]);
    let before = json(&get(&node.url("/v1/info")).1)["policy_digest"]
        .as_str()
        .unwrap()
        .to_string();
    drop(node);
    let mut p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("policy.json")).unwrap()).unwrap();
    let new_policy = {
        let other = Fixture::new(2, 2);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&other.policy_path).unwrap()).unwrap();
        p["authorities"] = v["authorities"].clone();
        p.to_string()
    };
    std::fs::write(state.join("policy.json"), &new_policy).unwrap();
    let node = start(&state, &[], &[]);
    let after = json(&get(&node.url("/v1/info")).1)["policy_digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(before, after);
    let entries = log_entries(&node);
    let setups: Vec<_> = entries
        .iter()
        .filter(|e| e["entry"]["kind"] == "setup")
        .collect();
    assert_eq!(setups.len(), 2);
    assert_eq!(setups[0]["entry"]["policy"].as_str().unwrap(), before);
    assert_eq!(setups[1]["entry"]["policy"].as_str().unwrap(), after);
    // Restarting again adds nothing.
    drop(node);
    let node = start(&state, &[], &[]);
    assert_eq!(log_entries(&node).len(), entries.len());
}
