//! The witness over real HTTP (the `log-witness` binary on 127.0.0.1 port 0, temp state
//! folders): consistent growth is cosigned, a split view and a rollback are refused with
//! evidence, state survives a kill -9 and restart, and every cosignature verifies with an
//! independent check written from the C2SP tlog-cosignature spec.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use escrow_core::audit::{LogKey, consistency_proof, leaf_hash, mth};
use escrow_core::codec::{Digest32, SetId};
use log_witness::AddCheckpoint;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_log-witness");

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `init --json` → the witness verifier key.
fn init(state: &Path, name: &str) -> String {
    let out = run(&[
        "init",
        "--state",
        state.to_str().unwrap(),
        "--name",
        name,
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    v["key"].as_str().unwrap().to_string()
}

fn add_log(state: &Path, log: &TestLog) {
    run(&[
        "add-log",
        "--state",
        state.to_str().unwrap(),
        "--origin",
        log.key.origin(),
        "--key",
        &log.key.verifier_key(),
    ]);
}

struct Proc {
    child: Child,
    addr: String,
}

impl Proc {
    fn start(state: &Path) -> Proc {
        let addr_file = state.with_extension(format!("addr-{}", rand::random::<u32>()));
        let child = Command::new(BIN)
            .args(["serve", "--state", state.to_str().unwrap(), "--listen"])
            .arg("127.0.0.1:0")
            .arg("--addr-file")
            .arg(&addr_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Drop kills and reaps the child on every path (including a failed assert below).
        let mut p = Proc {
            child,
            addr: String::new(),
        };
        let t0 = Instant::now();
        while p.addr.is_empty() {
            assert!(t0.elapsed() < Duration::from_secs(120), "no address file");
            std::thread::sleep(Duration::from_millis(50));
            p.addr = std::fs::read_to_string(&addr_file)
                .map(|a| a.trim().to_string())
                .unwrap_or_default();
        }
        p
    }
    fn url(&self, p: &str) -> String {
        format!("http://{}{p}", self.addr)
    }
    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
    /// (status, content type, body)
    fn add(&self, old: u64, proof: Vec<Digest32>, checkpoint: &str) -> (u16, String, String) {
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint: checkpoint.to_string(),
        }
        .to_body();
        self.post_raw(&body)
    }
    fn post_raw(&self, body: &str) -> (u16, String, String) {
        let mut r = agent()
            .post(&self.url("/add-checkpoint"))
            .send(body)
            .unwrap();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (
            r.status().as_u16(),
            ct,
            r.body_mut().read_to_string().unwrap(),
        )
    }
    fn get_json(&self, p: &str) -> serde_json::Value {
        let mut r = agent().get(&self.url(p)).call().unwrap();
        assert_eq!(r.status().as_u16(), 200);
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// A log under test: its key and leaves; `fork` changes one leaf's content.
struct TestLog {
    key: LogKey,
    leaves: Vec<Digest32>,
}

impl TestLog {
    fn new(origin: &str) -> TestLog {
        TestLog {
            key: LogKey::generate(origin).unwrap(),
            leaves: Vec::new(),
        }
    }
    fn grow(&mut self, to: usize, tag: &str) {
        while self.leaves.len() < to {
            let i = self.leaves.len();
            self.leaves
                .push(leaf_hash(format!("{tag} entry {i}").as_bytes()));
        }
    }
    /// Signed checkpoint of the first `size` leaves.
    fn checkpoint(&self, size: usize) -> String {
        let leaves = &self.leaves[..size];
        let head = escrow_core::audit::TreeHead {
            size: size as u64,
            root: mth(leaves),
        };
        self.key.sign(&head).unwrap()
    }
    fn proof(&self, old: usize, new: usize) -> Vec<Digest32> {
        consistency_proof(&self.leaves[..new], old as u64).unwrap()
    }
}

/// A copy of `log` sharing its key and first `keep` leaves, then different entries.
fn fork(log: &TestLog, keep: usize) -> TestLog {
    TestLog {
        key: LogKey::from_seed(log.key.origin(), &log.key.seed()).unwrap(),
        leaves: log.leaves[..keep].to_vec(),
    }
}

/// Independent check of a cosignature/v1 line, written from the C2SP tlog-cosignature spec
/// (does not use the witness crate): returns the timestamp.
fn verify_cosignature(vkey: &str, checkpoint: &str, response: &str) -> u64 {
    use sha2::Digest as _;
    let mut parts = vkey.splitn(3, '+');
    let (name, id_hex, key_b64) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let typed = STANDARD.decode(key_b64).unwrap();
    assert_eq!(typed.len(), 33);
    assert_eq!(typed[0], 0x04, "cosignature/v1 key type");
    let pk: [u8; 32] = typed[1..].try_into().unwrap();
    // key ID = SHA-256(name || "\n" || 0x04 || public key)[:4]
    let mut h = sha2::Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([0x04]);
    h.update(pk);
    let id: [u8; 4] = h.finalize()[..4].try_into().unwrap();
    assert_eq!(hex::encode(id), id_hex);
    // one line: "— name base64(keyid || u64be timestamp || sig)\n"
    assert!(response.ends_with('\n'));
    let lines: Vec<&str> = response.lines().collect();
    assert_eq!(lines.len(), 1, "{response}");
    let rest = lines[0].strip_prefix("\u{2014} ").unwrap();
    let (line_name, b64) = rest.split_once(' ').unwrap();
    assert_eq!(line_name, name);
    let blob = STANDARD.decode(b64).unwrap();
    assert_eq!(blob.len(), 4 + 8 + 64);
    assert_eq!(blob[..4], id);
    let ts = u64::from_be_bytes(blob[4..12].try_into().unwrap());
    // the note body: everything before the blank line, with its final newline
    let (body, _sigs) = checkpoint.split_once("\n\n").unwrap();
    let msg = format!("cosignature/v1\ntime {ts}\n{body}\n");
    let sig = ed25519_dalek::Signature::from_bytes(&blob[12..].try_into().unwrap());
    ed25519_dalek::VerifyingKey::from_bytes(&pk)
        .unwrap()
        .verify_strict(msg.as_bytes(), &sig)
        .expect("cosignature verifies");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        ts <= now + 5 && ts + 600 > now,
        "timestamp {ts} vs now {now}"
    );
    ts
}

/// A witness named `name` served from a fresh state folder, following a new log `origin(n)`:
/// (its temp folder, state folder, verifier key, the log, the process).
fn witness_following(name: &str, n: u16) -> (tempfile::TempDir, PathBuf, String, TestLog, Proc) {
    let tmp = tempfile::tempdir().unwrap();
    let st = state_dir(&tmp, "w");
    let wkey = init(&st, name);
    let log = TestLog::new(&origin(n));
    add_log(&st, &log);
    let w = Proc::start(&st);
    (tmp, st, wkey, log, w)
}

fn state_dir(tmp: &tempfile::TempDir, name: &str) -> PathBuf {
    tmp.path().join(name)
}

fn origin(n: u16) -> String {
    escrow_core::audit::checkpoint::origin(
        &SetId::from_bytes(Digest32::sha256(b"witness test set").0),
        n,
    )
}

#[test]
fn consistent_growth_is_cosigned_and_bad_requests_get_their_status() {
    let (_tmp, _st, wkey, mut log, w) = witness_following("witness.example/w1", 1);

    log.grow(3, "a");
    let cp3 = log.checkpoint(3);
    let (s, _, body) = w.add(0, vec![], &cp3);
    assert_eq!(s, 200, "{body}");
    verify_cosignature(&wkey, &cp3, &body);

    log.grow(7, "a");
    let cp7 = log.checkpoint(7);
    let (s, _, body) = w.add(3, log.proof(3, 7), &cp7);
    assert_eq!(s, 200, "{body}");
    verify_cosignature(&wkey, &cp7, &body);
    // the same checkpoint again (old = its size, empty proof): cosigned again
    let (s, _, body) = w.add(7, vec![], &cp7);
    assert_eq!(s, 200, "{body}");
    verify_cosignature(&wkey, &cp7, &body);

    // stale old size: 409 with the held size as text/x.tlog.size
    log.grow(9, "a");
    let cp9 = log.checkpoint(9);
    let (s, ct, body) = w.add(3, log.proof(3, 9), &cp9);
    assert_eq!(
        (s, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "7\n")
    );
    // a wrong consistency proof: 422
    let mut bad = log.proof(7, 9);
    bad[0].0[0] ^= 1;
    let (s, _, body) = w.add(7, bad, &cp9);
    assert_eq!(s, 422, "{body}");
    // unknown origin: 404
    let mut other = TestLog::new(&origin(2));
    other.grow(2, "o");
    let (s, _, body) = w.add(0, vec![], &other.checkpoint(2));
    assert_eq!(s, 404, "{body}");
    // the right origin signed by another key: 403
    let mut impostor = TestLog::new(&origin(1));
    impostor.leaves = log.leaves.clone();
    let (s, _, body) = w.add(7, log.proof(7, 9), &impostor.checkpoint(9));
    assert_eq!(s, 403, "{body}");
    // malformed body: 400
    let (s, _, body) = w.post_raw("old 07\n\nx\n");
    assert_eq!(s, 400, "{body}");
    // after all that, still at 7; the honest step to 9 is cosigned
    let (s, _, body) = w.add(7, log.proof(7, 9), &cp9);
    assert_eq!(s, 200, "{body}");
    verify_cosignature(&wkey, &cp9, &body);
    let info = w.get_json("/v1/witness");
    assert_eq!(info["key"], wkey.as_str());
    assert_eq!(info["logs"][0]["size"], 9);
    assert_eq!(info["logs"][0]["checkpoint"], cp9.as_str());
    // a bad proof from a held checkpoint is kept as a claim of inconsistency
    let ev = w.get_json("/evidence");
    let ev = ev["evidence"].as_array().unwrap();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["kind"], "inconsistent");
    assert_eq!(ev[0]["origin"], log.key.origin());
}

#[test]
fn split_view_is_refused_and_the_evidence_names_the_log() {
    let (_tmp, _st, wkey, mut log, w) = witness_following("witness.example/w2", 3);
    log.grow(5, "honest");
    let cp5 = log.checkpoint(5);
    let (s, _, body) = w.add(0, vec![], &cp5);
    assert_eq!(s, 200, "{body}");
    verify_cosignature(&wkey, &cp5, &body);

    // same size, different root, validly signed by the log: refused (409) with evidence
    let mut forked = fork(&log, 2);
    forked.grow(8, "rewritten");
    let fork5 = forked.checkpoint(5);
    assert_ne!(fork5, cp5);
    let (s, ct, body) = w.add(5, vec![], &fork5);
    assert_eq!(
        (s, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "5\n")
    );
    // also refused when the client claims any other old size
    let (s, _, _) = w.add(0, vec![], &fork5);
    assert_eq!(s, 409);
    // a larger forked checkpoint with a proof from the fork's own 5: 422, evidence
    let fork8 = forked.checkpoint(8);
    let (s, _, body) = w.add(5, forked.proof(5, 8), &fork8);
    assert_eq!(s, 422, "{body}");

    let doc = w.get_json("/evidence");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["witness"], "witness.example/w2");
    let ev = doc["evidence"].as_array().unwrap();
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(ev[0]["kind"], "split-view");
    assert_eq!(ev[0]["origin"], log.key.origin());
    assert_eq!(ev[0]["held_checkpoint"], cp5.as_str());
    assert_eq!(ev[0]["offered_checkpoint"], fork5.as_str());
    assert_eq!(ev[1]["kind"], "inconsistent");
    assert_eq!(ev[1]["offered_checkpoint"], fork8.as_str());
    // the split-view evidence is self-contained: both notes verify under the log's key and
    // have one size and two roots
    let a = escrow_core::audit::verify_checkpoint(
        ev[0]["held_checkpoint"].as_str().unwrap(),
        &log.key.verifier_key(),
    )
    .unwrap();
    let b = escrow_core::audit::verify_checkpoint(
        ev[0]["offered_checkpoint"].as_str().unwrap(),
        &log.key.verifier_key(),
    )
    .unwrap();
    assert_eq!(a.head.size, b.head.size);
    assert_ne!(a.head.root, b.head.root);
    // the evidence is recorded once, however often the fork is re-sent
    let _ = w.add(5, vec![], &fork5);
    assert_eq!(
        w.get_json("/evidence")["evidence"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // the honest log keeps being cosigned
    log.grow(8, "honest");
    let cp8 = log.checkpoint(8);
    let (s, _, body) = w.add(5, log.proof(5, 8), &cp8);
    assert_eq!(s, 200, "{body}");
    verify_cosignature(&wkey, &cp8, &body);
}

#[test]
fn rollback_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let st = state_dir(&tmp, "w");
    init(&st, "witness.example/w3");
    let mut log = TestLog::new(&origin(4));
    add_log(&st, &log);
    let w = Proc::start(&st);
    log.grow(7, "a");
    let (s, _, body) = w.add(0, vec![], &log.checkpoint(7));
    assert_eq!(s, 200, "{body}");
    let cp4 = log.checkpoint(4);
    // the held size as old, a smaller checkpoint: 400 (old > checkpoint size)
    let (s, _, body) = w.add(7, vec![], &cp4);
    assert_eq!(s, 400, "{body}");
    // claiming the smaller size as old: 409, the witness holds 7
    let (s, ct, body) = w.add(4, vec![], &cp4);
    assert_eq!(
        (s, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "7\n")
    );
    let (s, _, _) = w.add(0, vec![], &cp4);
    assert_eq!(s, 409);
    assert_eq!(w.get_json("/v1/witness")["logs"][0]["size"], 7);
}

#[test]
fn restart_keeps_state_and_evidence() {
    let (_tmp, st, wkey, mut log, mut w) = witness_following("witness.example/w4", 5);
    log.grow(5, "a");
    let cp5 = log.checkpoint(5);
    let (s, _, body) = w.add(0, vec![], &cp5);
    assert_eq!(s, 200, "{body}");
    let mut forked = fork(&log, 3);
    forked.grow(5, "b");
    let fork5 = forked.checkpoint(5);
    assert_eq!(w.add(5, vec![], &fork5).0, 409);
    w.kill9();

    let w = Proc::start(&st);
    // same key after the restart
    assert_eq!(w.get_json("/v1/witness")["key"], wkey.as_str());
    // the held size survived: a client starting from 0 learns it
    let (s, _, body) = w.add(0, vec![], &cp5);
    assert_eq!((s, body.as_str()), (409, "5\n"));
    // the fork at 5 is still refused, the evidence is still there (and not duplicated)
    assert_eq!(w.add(5, vec![], &fork5).0, 409);
    let ev = w.get_json("/evidence");
    assert_eq!(ev["evidence"].as_array().unwrap().len(), 1);
    assert_eq!(ev["evidence"][0]["kind"], "split-view");
    // growth continues from the held checkpoint
    log.grow(6, "a");
    let cp6 = log.checkpoint(6);
    let (s, _, body) = w.add(5, log.proof(5, 6), &cp6);
    assert_eq!(s, 200, "{body}");
    verify_cosignature(&wkey, &cp6, &body);
}

/// C2SP: checking the old size and storing the new checkpoint must be atomic. Eight clients
/// race with `old 0` and checkpoints of sizes 1..=8: exactly one is cosigned, every other one
/// gets 409 with the winner's size, and the witness holds the winner.
#[test]
fn racing_submissions_cosign_exactly_one() {
    let (_tmp, _st, wkey, mut log, w) = witness_following("witness.example/w5", 6);
    log.grow(8, "a");
    let cps: Vec<String> = (1..=8).map(|n| log.checkpoint(n)).collect();
    let results: Vec<(usize, (u16, String, String))> = std::thread::scope(|s| {
        let handles: Vec<_> = cps
            .iter()
            .enumerate()
            .map(|(i, cp)| {
                let w = &w;
                s.spawn(move || (i + 1, w.add(0, vec![], cp)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<_> = results.iter().filter(|(_, r)| r.0 == 200).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let (won, (_, _, cosig)) = winners[0];
    verify_cosignature(&wkey, &cps[won - 1], cosig);
    for (n, (s, _, body)) in &results {
        if n != won {
            assert_eq!((*s, body.clone()), (409, format!("{won}\n")), "size {n}");
        }
    }
    assert_eq!(w.get_json("/v1/witness")["logs"][0]["size"], *won);
}

/// `serve --audit` (the auditing witness) needs the policy, the trustee set and the trustees'
/// URLs: without them it is a usage error (exit 2), and it does not start.
#[test]
fn serve_audit_needs_policy_set_and_trustees() {
    let tmp = tempfile::tempdir().unwrap();
    let state = state_dir(&tmp, "w");
    init(&state, "witness.example/audit");
    let out = Command::new(BIN)
        .args(["serve", "--state"])
        .arg(&state)
        .args(["--listen", "127.0.0.1:0", "--audit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--policy") && err.contains("--set") && err.contains("--trustee"),
        "{err}"
    );
}

/// A `cosignature/v1` verifier for `signed_note`'s `Note::verify`, written from the C2SP
/// tlog-cosignature spec (not the witness crate's code): the signature is the 8-byte timestamp
/// and the Ed25519 signature of `"cosignature/v1\ntime <t>\n" ‖ note text`.
struct CosignatureV1 {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl CosignatureV1 {
    fn new(vkey: &str) -> CosignatureV1 {
        use sha2::Digest as _;
        let mut parts = vkey.splitn(3, '+');
        let (name, _, key) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let typed = STANDARD.decode(key).unwrap();
        assert_eq!(typed[0], 0x04);
        let id = sha2::Sha256::new()
            .chain_update(name.as_bytes())
            .chain_update(b"\n")
            .chain_update(&typed)
            .finalize();
        CosignatureV1 {
            name: name.to_string(),
            id: u32::from_be_bytes(id[..4].try_into().unwrap()),
            key: ed25519_dalek::VerifyingKey::from_bytes(&typed[1..].try_into().unwrap()).unwrap(),
        }
    }
}

impl signed_note::Verifier for CosignatureV1 {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let (Some(t), Some(s)) = (sig.get(..8), sig.get(8..)) else {
            return false;
        };
        let (Ok(t), Ok(s)) = (<[u8; 8]>::try_from(t), <[u8; 64]>::try_from(s)) else {
            return false;
        };
        let mut signed = format!("cosignature/v1\ntime {}\n", u64::from_be_bytes(t)).into_bytes();
        signed.extend_from_slice(msg);
        self.key
            .verify_strict(&signed, &ed25519_dalek::Signature::from_bytes(&s))
            .is_ok()
    }
}

/// Interop (issue 17): a checkpoint with the witness's cosignature appended is read by
/// independent implementations — `signed_note` verifies the log's signature with its standard
/// verifier and the cosignature with a verifier written from the C2SP spec (a changed
/// timestamp fails), and ignores the cosignature as an unknown key without it; `tlog_tiles`
/// parses the checkpoint body to the log's size and root.
#[test]
fn cosigned_checkpoints_verify_with_independent_implementations() {
    use signed_note::{Note, NoteError, StandardVerifier, VerifierList};
    let (_tmp, _st, wkey, mut log, w) = witness_following("witness.example/w7", 8);
    log.grow(5, "a");
    let cp5 = log.checkpoint(5);
    let (s, _, line) = w.add(0, vec![], &cp5);
    assert_eq!(s, 200, "{line}");
    let cosigned = format!("{cp5}{line}");
    let note = Note::from_bytes(cosigned.as_bytes()).unwrap();
    let both = VerifierList::new(vec![
        Box::new(StandardVerifier::new(&log.key.verifier_key()).unwrap()),
        Box::new(CosignatureV1::new(&wkey)),
    ]);
    let (verified, unknown) = note.verify(&both).unwrap();
    assert_eq!((verified.len(), unknown.len()), (2, 0));
    assert_eq!(verified[1].name(), "witness.example/w7");
    let log_only = VerifierList::new(vec![Box::new(
        StandardVerifier::new(&log.key.verifier_key()).unwrap(),
    )]);
    let (verified, unknown) = note.verify(&log_only).unwrap();
    assert_eq!((verified.len(), unknown.len()), (1, 1));
    // The cosignature's timestamp is signed: one changed second and it fails.
    let blob = STANDARD
        .decode(line.trim_end().rsplit_once(' ').unwrap().1)
        .unwrap();
    let mut changed = blob.clone();
    changed[11] ^= 1;
    let forged = cosigned.replace(&STANDARD.encode(&blob), &STANDARD.encode(&changed));
    assert!(matches!(
        Note::from_bytes(forged.as_bytes()).unwrap().verify(&both),
        Err(NoteError::InvalidSignature { .. })
    ));
    let cp = tlog_tiles::Checkpoint::from_bytes(note.text()).unwrap();
    assert_eq!(cp.origin(), log.key.origin());
    assert_eq!(cp.size(), 5);
    assert_eq!(cp.hash().0, mth(&log.leaves).0);
}

/// kill -9 between storing and answering (issue 17): the witness stops right after its commit,
/// before it computes the cosignature (fault injection `Witness::stop_after_commit`), and its
/// state folder is reopened as after a kill. The checkpoint it never answered for is
/// remembered: another checkpoint of that size is refused as a split view, and the one it
/// stored is cosigned when the client sends it again — never two different checkpoints of one
/// size.
#[test]
fn a_witness_stopped_between_storing_and_answering_never_cosigns_two_checkpoints_of_one_size() {
    use log_witness::{Witness, WitnessError};
    let tmp = tempfile::tempdir().unwrap();
    let st = state_dir(&tmp, "w");
    let mut log = TestLog::new(&origin(9));
    let w = Witness::init(&st, "witness.example/w8").unwrap();
    w.add_log(log.key.origin(), &log.key.verifier_key())
        .unwrap();
    let w = w.stop_after_commit();
    let body = |old: u64, cp: &str| {
        AddCheckpoint {
            old_size: old,
            proof: vec![],
            checkpoint: cp.to_string(),
        }
        .to_body()
    };
    log.grow(4, "a");
    let cp4 = log.checkpoint(4);
    assert!(matches!(
        w.add_checkpoint(body(0, &cp4).as_bytes(), 1_800_000_000),
        Err(WitnessError::Stopped { size: 4, .. })
    ));
    drop(w);

    let w = Witness::open(&st).unwrap();
    let mut forked = fork(&log, 2);
    forked.grow(4, "b");
    let fork4 = forked.checkpoint(4);
    for old in [0, 4] {
        assert!(matches!(
            w.add_checkpoint(body(old, &fork4).as_bytes(), 1_800_000_001),
            Err(WitnessError::SplitView {
                size: 4,
                held: 4,
                ..
            })
        ));
    }
    let line = w
        .add_checkpoint(body(4, &cp4).as_bytes(), 1_800_000_002)
        .unwrap();
    let note = signed_note::Note::from_bytes(format!("{cp4}{line}").as_bytes()).unwrap();
    let v =
        signed_note::VerifierList::new(vec![Box::new(CosignatureV1::new(&w.key().verifier_key()))]);
    assert_eq!(note.verify(&v).unwrap().0.len(), 1);
    let ev = w.evidence().unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].kind.as_str(), ev[0].held_checkpoint.as_str()),
        ("split-view", cp4.as_str())
    );
}

/// State format version 2 added the auditing witness's `audited` table: a version 1 state
/// folder gains it when opened, and keeps what it held.
#[test]
fn a_version_1_state_gains_the_audited_table_when_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let st = state_dir(&tmp, "w");
    let log = TestLog::new(&origin(10));
    let w = log_witness::Witness::init(&st, "witness.example/w9").unwrap();
    w.add_log(log.key.origin(), &log.key.verifier_key())
        .unwrap();
    drop(w);
    let db = rusqlite::Connection::open(st.join("witness.db")).unwrap();
    db.execute_batch("DROP TABLE audited; UPDATE meta SET v = '1' WHERE k = 'format_version';")
        .unwrap();
    drop(db);
    let w = log_witness::Witness::open(&st).unwrap();
    assert_eq!(w.audited(log.key.origin()).unwrap(), None);
    assert_eq!(w.logs().unwrap().len(), 1);
    let db = rusqlite::Connection::open(st.join("witness.db")).unwrap();
    let v: String = db
        .query_row("SELECT v FROM meta WHERE k = 'format_version'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(v, "2");
}
