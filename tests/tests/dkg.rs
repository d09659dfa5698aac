//! A trustee set made by the trustee nodes themselves (issue 15): five nodes started without a
//! share (`trustee-node init --dkg`), `escrow ceremony dkg` relaying the rounds, then the
//! warrant workflow on the set they made, and every node's log recording the keygen.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_core::dkg::Certificate;
use escrow_core::trustee::TrusteeSet;
use escrow_e2e::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn init_dkg_node(dir: &Path, i: u16) -> std::path::PathBuf {
    init_dkg_node_with(dir, i, &[])
}

/// `trustee-node init --dkg` with `extra` arguments (e.g. `--organisation`, `--jurisdiction`).
fn init_dkg_node_with(dir: &Path, i: u16, extra: &[&str]) -> std::path::PathBuf {
    init_dkg_state(dir, &format!("node-{i}"), extra)
}

/// `trustee-node init --dkg EXTRA` of the state folder `dir/NAME`, with the policy and the
/// coordinator's key of `dir`.
fn init_dkg_state(dir: &Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let state = dir.join(name);
    let o = Command::new(bin("trustee-node"))
        .args(["init", "--dkg"])
        .args(extra)
        .arg("--policy")
        .arg(dir.join("policy.json"))
        .arg("--state")
        .arg(&state)
        .arg("--coordinator-key")
        .arg(dir.join("coord.pub"))
        .env("TRUSTEE_PASSPHRASE", TEST_PASSPHRASE)
        .env("TRUSTEE_KDF_COST", "test")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok(&o);
    state
}

fn get(url: &str) -> (u16, String) {
    match ureq::get(url)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
    {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}

/// Poll (bounded: 100 × 100 ms) until the node answers `/v1/info`.
fn wait_serving(url: &str) -> serde_json::Value {
    for _ in 0..100 {
        let (status, body) = get(&format!("{url}/v1/info"));
        if status == 200 {
            return serde_json::from_str(&body).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{url} never served /v1/info after the ceremony");
}

/// The people of a ceremony test, as unencrypted key pairs in `dir` (authorities `sos` and
/// `jc`, investigator `inv`, `oversight`, users `alice` and `bob`, the coordinator `coord`,
/// then `extra`), and `policy.json` naming the authorities and the oversight key.
fn people_and_policy(dir: &Path, extra: &[&str]) {
    let names = ["sos", "jc", "inv", "oversight", "alice", "bob", "coord"];
    for name in names.iter().chain(extra) {
        ok(&escrow(dir, &["keygen", "--no-passphrase", "--out", name]));
    }
    ok(&escrow(
        dir,
        &policy_init_args(&["--oversight", "oversight.pub"], "policy.json"),
    ));
}

#[test]
fn five_nodes_make_their_set_without_a_dealer_and_then_serve_a_warrant() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    people_and_policy(dir, &["mallory"]);
    let mut nodes = Vec::new();
    for i in 1..=5 {
        let state = init_dkg_node(dir, i);
        assert!(!state.join("trustee-set.json").exists());
        nodes.push(Node::start(i, &state, &[]));
    }
    // a pending node serves only the ceremony
    let (status, body) = get(&format!("{}/v1/info", nodes[0].url()));
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("waiting for a key-generation ceremony"),
        "{body}"
    );
    let trustees: Vec<String> = trustees_of(&nodes);
    let ceremony = |key: &str, out: &str| {
        let mut args: Vec<String> = [
            "--json",
            "ceremony",
            "dkg",
            "--threshold",
            "3",
            "--key",
            key,
            "--out",
            out,
        ]
        .map(String::from)
        .to_vec();
        args.extend(trustees.iter().cloned());
        escrow_owned(dir, &args)
    };
    // somebody else's key cannot run a ceremony on these nodes; nothing is started
    let o = ceremony("mallory.key", "bad-set.json");
    fails(&o, 1, "coordinator keys");
    assert!(!dir.join("bad-set.json").exists());
    // the real coordinator
    let o = ceremony("coord.key", "trustee-set.json");
    ok(&o);
    let v = json(&o);
    assert_eq!(v["ok"], true);
    let set = read_set(&dir.join("trustee-set.json"));
    let cert = certificate(dir, "keygen-certificate.json");
    cert.verify(&set).unwrap();
    assert_eq!((set.threshold(), set.trustees()), (3, 5));
    assert_eq!(v["set_id"], set.id().to_hex());
    // every node now serves the set, and its log begins setup, keygen(transcript)
    for n in &nodes {
        let info = wait_serving(&n.url());
        assert_eq!(info["set_id"], set.id().to_hex(), "{info}");
        let (_, page) = get(&format!("{}/v1/log/entries?start=0&end=2", n.url()));
        let page: serde_json::Value = serde_json::from_str(&page).unwrap();
        let entries = page["entries"].as_array().unwrap();
        assert_eq!(entries[0]["entry"]["kind"], "setup", "{page}");
        assert_eq!(entries[0]["entry"]["document"], set.id().to_hex());
        assert_eq!(entries[1]["entry"]["kind"], "keygen", "{page}");
        assert_eq!(entries[1]["entry"]["document"], cert.transcript.to_hex());
        // the node's own copy of the certificate
        let own = std::fs::read_to_string(n.state.join("keygen-certificate.json")).unwrap();
        assert_eq!(Certificate::from_json(&own).unwrap(), cert);
        assert!(!n.state.join("pending.json").exists());
    }
    // the warrant workflow on the set the nodes made
    for (i, at) in ["2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z"]
        .iter()
        .enumerate()
    {
        seal(dir, i, at, false);
    }
    approved_warrant(dir, "OP-DKG", "w.json");
    let urls: Vec<String> = nodes.iter().map(Node::url).collect();
    let o = retrieve_w(dir, "trustee-set.json", "out", &urls, &[]);
    ok(&o);
    assert_eq!(json(&o)["decrypted"], 2);
    assert_read(dir, "out", 1);
    // the auditor checks the certificate against the set in use and every log's keygen entry
    let mut args: Vec<String> = [
        "--json",
        "audit",
        "--set",
        "trustee-set.json",
        "--policy",
        "policy.json",
        "--keygen-certificate",
        "keygen-certificate.json",
    ]
    .map(String::from)
    .to_vec();
    args.extend(trustees.iter().cloned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    // With the warrant disclosed to the auditor, every release on the ceremony's set is
    // justified and the keygen check finds nothing: the audit is clean.
    disclose_warrant(dir);
    let mut disclosed = refs.clone();
    disclosed.extend(["--warrants", "disclosed"]);
    let o = escrow(dir, &disclosed);
    let report = json(&o);
    assert_eq!(o.status.code(), Some(0), "{report:#}");
    assert_eq!(
        report["finding_groups"],
        serde_json::json!([]),
        "{report:#}"
    );
    assert_eq!(report["warrants"][0]["messages_released"], 2, "{report:#}");
    let o = escrow(dir, &refs);
    let report = json(&o);
    // (the warrant text is not disclosed to this auditor, so the releases are not judged —
    // a warning, not an unjustified release; the keygen check itself finds nothing)
    for g in report["finding_groups"].as_array().unwrap() {
        assert_eq!(g["code"], "release-not-judged", "{report}");
        assert_eq!(g["severity"], "warning", "{report}");
    }
    assert!(!report.to_string().contains("keygen-mismatch"), "{report}");
    // ... and refuses a set the ceremony did not make
    ok(&escrow(
        dir,
        &[
            "setup",
            "--trustees",
            "5",
            "--threshold",
            "3",
            "--out",
            "dealt",
        ],
    ));
    args[3] = "dealt/trustee-set.json".into();
    let o = escrow_owned(dir, &args);
    let all = fails(&o, 3, "keygen-mismatch");
    assert!(
        all.contains("not the one the key-generation certificate certifies"),
        "{all}"
    );
    // a restart loads the completed state like any node's
    nodes[2].restart();
    assert_eq!(wait_serving(&nodes[2].url())["set_id"], set.id().to_hex());
}

/// `n` nodes made with `init --dkg` in `dir` and started, and their `--trustee URL` arguments.
fn start_dkg_nodes(dir: &Path, n: u16) -> (Vec<Node>, Vec<String>) {
    let nodes: Vec<Node> = (1..=n)
        .map(|i| Node::start(i, &init_dkg_node(dir, i), &[]))
        .collect();
    let trustees = trustees_of(&nodes);
    (nodes, trustees)
}

/// `--trustee URL` of each of `nodes`.
fn trustees_of(nodes: &[Node]) -> Vec<String> {
    trustee_flags(&nodes.iter().map(Node::url).collect::<Vec<_>>())
}

fn args_with(head: &[&str], trustees: &[String]) -> Vec<String> {
    let mut a: Vec<String> = head.iter().map(|s| s.to_string()).collect();
    a.extend(trustees.iter().cloned());
    a
}

/// Seal message `m{i}` to bob's mailbox under `trustee-set.json`: release protocol v2 (the
/// default), or version 1 with `v1` (`escrow seal --v1`).
fn seal(dir: &Path, i: usize, at: &str, v1: bool) {
    seal_with(dir, "trustee-set.json", i, at, v1);
}

/// A trustee's key share of `set`, opened from its sealed secrets file's bytes.
fn share_of(sealed: &str, set: &TrusteeSet) -> escrow_core::trustee::VerifiedKeyShare {
    let s: trustee_node::sealed::SealedSecrets = serde_json::from_str(sealed).unwrap();
    let b = s.open(TEST_PASSPHRASE.as_bytes()).unwrap();
    set.verify_share(escrow_core::trustee::KeyShare::from_json(&b.key_share).unwrap())
        .unwrap()
}

fn entries(url: &str) -> Vec<serde_json::Value> {
    let (_, page) = get(&format!("{url}/v1/log/entries?start=0"));
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"].clone())
        .collect()
}

/// Every file under `dir` (the state folder, database included), bytes.
fn all_bytes(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
    out
}

#[test]
fn a_refresh_renews_every_share_keeps_old_messages_readable_and_destroys_the_old_shares() {
    use escrow_core::share::{ShareContext, combine};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    people_and_policy(dir, &[]);
    let (nodes, trustees) = start_dkg_nodes(dir, 5);
    ok(&escrow_owned(
        dir,
        &args_with(
            &["ceremony", "dkg", "--threshold", "3", "--key", "coord.key"],
            &trustees,
        ),
    ));
    let old_text = std::fs::read_to_string(dir.join("trustee-set.json")).unwrap();
    let old = TrusteeSet::from_json(&old_text).unwrap();
    for n in &nodes {
        wait_serving(&n.url());
    }
    // version 1 before the refresh (the old-and-new-shares check below uses its v1 API), v2 after
    seal(dir, 0, "2026-11-02T10:00:00Z", true);
    let old_sealed: Vec<String> = nodes
        .iter()
        .map(|n| std::fs::read_to_string(n.state.join("secrets.sealed.json")).unwrap())
        .collect();
    // the refresh
    let o = escrow_owned(
        dir,
        &args_with(
            &["--json", "ceremony", "refresh", "--key", "coord.key"],
            &trustees,
        ),
    );
    ok(&o);
    let v = json(&o);
    let set = read_set(&dir.join("trustee-set.json"));
    assert_eq!(v["set_id"], set.id().to_hex(), "{v}");
    assert_eq!(v["previous_set_id"], old.id().to_hex(), "{v}");
    assert_ne!(set.id(), old.id());
    assert_eq!(set.escrow_key(), old.escrow_key());
    assert_eq!(set.lineage(), &[old.id()]);
    assert_eq!(set.origin(), old.id());
    let cert = certificate(dir, v["certificate"].as_str().unwrap());
    cert.verify(&set).unwrap();
    assert_eq!(cert.params.previous_set, Some(old.id()));
    // every node reloaded with its new share; its log ends keygen, setup, share-destroyed
    for (i, n) in nodes.iter().enumerate() {
        wait_set(&n.url(), &set.id().to_hex());
        let e = entries(&n.url());
        let tail = &e[e.len() - 3..];
        assert_eq!(tail[0]["kind"], "keygen");
        assert_eq!(tail[0]["document"], cert.transcript.to_hex());
        assert_eq!(tail[1]["kind"], "setup");
        assert_eq!(tail[1]["document"], set.id().to_hex());
        assert_eq!(tail[2]["kind"], "share-destroyed");
        assert_eq!(tail[2]["document"], old.id().to_hex());
        // the old share is gone from the state folder: neither its sealed file nor the share
        // itself (hex or raw bytes) is in any file, the database included
        let old_share = share_of(&old_sealed[i], &old);
        let secret = old_share.to_key_share();
        let hex_share = {
            let j = secret.to_json();
            let f: serde_json::Value = serde_json::from_str(&j).unwrap();
            f["share"].as_str().unwrap().to_string()
        };
        let raw = escrow_core::codec::hex_lower(&hex_share).unwrap();
        let now_sealed = std::fs::read_to_string(n.state.join("secrets.sealed.json")).unwrap();
        assert_ne!(now_sealed, old_sealed[i]);
        for (p, bytes) in all_bytes(&n.state) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&hex_share), "{}", p.display());
            assert!(
                !bytes.windows(32).any(|w| w == raw.as_slice()),
                "{}",
                p.display()
            );
            let old_ct: serde_json::Value = serde_json::from_str(&old_sealed[i]).unwrap();
            assert!(
                !text.contains(old_ct["ciphertext"].as_str().unwrap()),
                "{}",
                p.display()
            );
        }
        // and the new sealed file holds a share of the new set
        share_of(&now_sealed, &set);
    }
    // a message sealed after the refresh, and the warrant workflow opens both
    seal(dir, 1, "2026-11-03T10:00:00Z", false);
    approved_warrant(dir, "OP-REFRESH", "w.json");
    let o = escrow_owned(
        dir,
        &args_with(
            &[
                "--json",
                "retrieve",
                "--warrant",
                "w.json",
                "--set",
                "trustee-set.json",
                "--key",
                "inv.key",
                "--mailbox",
                "mailbox.jsonl",
                "--out",
                "out",
            ],
            &trustees,
        ),
    );
    ok(&o);
    assert_eq!(json(&o)["decrypted"], 2);
    assert_read(dir, "out", 2);
    // old and new shares do not combine: trustee 1's old share, with trustees 2 and 3's new
    // ones, on the message sealed before the refresh. The old share's decryption share fails
    // its DLEQ proof against the new set (its verification key changed), so only two valid
    // shares remain for a threshold of three.
    let line = std::fs::read_to_string(dir.join("mailbox.jsonl")).unwrap();
    let m0 = escrow_core::message::SealedMessage::from_json(line.lines().next().unwrap()).unwrap();
    let mut rng = rand::rng();
    let ctx = ShareContext::warrant(escrow_core::codec::WarrantDigest::from_bytes(
        escrow_core::codec::Digest32::sha256(b"any warrant").0,
    ));
    let for_new = m0.escrow.check(&set).unwrap();
    let old1 = share_of(&old_sealed[0], &old);
    let d_old = old1
        .decryption_share(&m0.escrow.check(&old).unwrap(), &ctx, &mut rng)
        .unwrap();
    // (an old share refuses a ciphertext checked for the new set outright)
    assert!(matches!(
        old1.decryption_share(&for_new, &ctx, &mut rng).unwrap_err(),
        escrow_core::Error::CiphertextForOtherSet { .. }
    ));
    let mut shares = vec![d_old];
    for n in &nodes[1..3] {
        let s = share_of(
            &std::fs::read_to_string(n.state.join("secrets.sealed.json")).unwrap(),
            &set,
        );
        shares.push(s.decryption_share(&for_new, &ctx, &mut rng).unwrap());
    }
    match combine(&set, &for_new, &ctx, &shares).unwrap_err() {
        escrow_core::Error::NotEnoughShares {
            valid,
            threshold,
            rejected,
        } => {
            assert_eq!((valid, threshold), (2, 3));
            let why = escrow_core::Error::BadShareProof { trustee: 1 }.to_string();
            assert!(rejected.contains(&why), "{rejected}");
        }
        e => panic!("{e:?}"),
    }
    // with trustee 1's new share instead, the same ciphertext combines
    let new1 = share_of(
        &std::fs::read_to_string(nodes[0].state.join("secrets.sealed.json")).unwrap(),
        &set,
    );
    shares[0] = new1.decryption_share(&for_new, &ctx, &mut rng).unwrap();
    combine(&set, &for_new, &ctx, &shares).unwrap();
    // the auditor follows the set's history: the refresh certificate against the set in
    // use, every log begun with the original set's setup entry and holding the refresh's
    // keygen entry; with the warrant disclosed the audit is clean
    let (code, report) = audit_with(
        dir,
        "trustee-set.json",
        v["certificate"].as_str().unwrap(),
        &trustees,
    );
    assert_eq!(code, 0, "{report:#}");
    // the set's history from the logs: the key generation, then the refresh, whose old shares
    // every trustee destroyed
    let h = report["set_history"].as_array().unwrap();
    assert_eq!(h.len(), 2, "{report:#}");
    let all: Vec<u16> = (1..=5).collect();
    assert_eq!(h[0]["ceremony"], "keygen");
    assert_eq!(h[0]["new_set"], old.id().to_hex());
    assert_eq!(h[0]["logged_by"], serde_json::json!(all));
    assert_eq!(h[1]["ceremony"], "refresh");
    assert_eq!(h[1]["old_set"], old.id().to_hex());
    assert_eq!(h[1]["new_set"], set.id().to_hex());
    assert_eq!(h[1]["transcript"], cert.transcript.to_hex());
    assert_eq!(h[1]["destroyed_by"], serde_json::json!(all));
    // a restart loads the refreshed state
    let mut nodes = nodes;
    nodes[4].restart();
    assert_eq!(wait_serving(&nodes[4].url())["set_id"], set.id().to_hex());
}

/// Seal message `m{i}` to bob's mailbox under the set in `set_file` (protocol v2).
fn seal_to(dir: &Path, set_file: &str, i: usize, at: &str) {
    seal_with(dir, set_file, i, at, false);
}

/// Seal message `m{i}` to bob's mailbox under the set in `set_file`, in version 1 with `v1`.
fn seal_with(dir: &Path, set_file: &str, i: usize, at: &str, v1: bool) {
    let id = format!("m{i}");
    let mut args = seal_args(
        set_file,
        "bob.pub",
        "alice",
        "bob",
        "mailbox.jsonl",
        &["--at", at, "--id", &id],
    );
    if v1 {
        args.push("--v1");
    }
    ok(&escrow_stdin(dir, &args, format!("message {i}").as_bytes()));
}

fn init_reshare_node(dir: &Path, i: u16, old_set: &str) -> std::path::PathBuf {
    let old = dir.join(old_set);
    let extra = ["--reshare-of", old.to_str().unwrap()];
    init_dkg_state(dir, &format!("new-node-{i}"), &extra)
}

/// Poll (bounded) until the node at `url` serves `set_id`.
fn wait_set(url: &str, set_id: &str) {
    let mut info = wait_serving(url);
    for _ in 0..100 {
        if info["set_id"] == set_id {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
        info = wait_serving(url);
    }
    panic!("{url} serves {info}, not set {set_id}");
}

/// Disclose the warrant `w.json` to the auditor: a copy in `dir/disclosed` (its `--warrants`).
fn disclose_warrant(dir: &Path) {
    std::fs::create_dir_all(dir.join("disclosed")).unwrap();
    std::fs::copy(dir.join("w.json"), dir.join("disclosed/w.json")).unwrap();
}

/// The ceremony certificate in the file `dir/name`.
fn certificate(dir: &Path, name: &str) -> Certificate {
    Certificate::from_json(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

/// Messages `m0` .. `m{n-1}` were read into `dir/out`, each `message {i}`.
fn assert_read(dir: &Path, out: &str, n: usize) {
    for i in 0..n {
        assert_eq!(
            std::fs::read_to_string(dir.join(format!("{out}/m{i}.txt"))).unwrap(),
            format!("message {i}")
        );
    }
}

/// The trustee set in the file `path`.
fn read_set(path: &std::path::Path) -> TrusteeSet {
    TrusteeSet::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Rewrite `dir/policy.json` so that it allows a reshare to threshold `k` (a custody section:
/// policy version 4).
fn allow_reshare_to(dir: &std::path::Path, k: u16) {
    let mut policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("policy.json")).unwrap()).unwrap();
    policy["version"] = 4.into();
    policy["custody"] = serde_json::json!({ "reshare_thresholds": [k] });
    std::fs::write(dir.join("policy.json"), policy.to_string()).unwrap();
}

#[test]
fn a_reshare_hands_the_key_to_new_trustees_with_a_new_threshold_and_old_shares_stop_working() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    people_and_policy(dir, &[]);
    allow_reshare_to(dir, 3);
    // a 2-of-3 set made by the DKG
    let old_nodes: Vec<Node> = (1..=3)
        .map(|i| Node::start(i, &init_dkg_node(dir, i), &[]))
        .collect();
    let old_trustees: Vec<String> = trustees_of(&old_nodes);
    let old = dkg_set(dir, &old_nodes, &old_trustees, "2");
    seal_to(dir, "trustee-set.json", 0, "2026-11-02T10:00:00Z");
    // four new trustees join a reshare of exactly this set
    let new_nodes: Vec<Node> = (1..=4)
        .map(|i| Node::start(i, &init_reshare_node(dir, i, "trustee-set.json"), &[]))
        .collect();
    let to: Vec<String> = new_nodes
        .iter()
        .flat_map(|n| ["--to-trustee".to_string(), n.url()])
        .collect();
    // old trustees 3 and 1 deal (k = 2, given out of order); trustee 2 does not take part
    let from = vec![
        "--from-trustee".to_string(),
        old_nodes[2].url(),
        "--from-trustee".to_string(),
        old_nodes[0].url(),
    ];
    let reshare = |k: &str, out: &str| {
        let mut a = args_with(
            &[
                "--json",
                "ceremony",
                "reshare",
                "--threshold",
                k,
                "--key",
                "coord.key",
                "--out",
                out,
            ],
            &from,
        );
        a.extend(to.iter().cloned());
        escrow_owned(dir, &a)
    };
    // a threshold the policy does not list is refused by the nodes; nothing is written
    let o = reshare("4", "bad-set.json");
    let err = fails(&o, 1, "threshold-change-refused");
    assert!(err.contains("from 2 to 4"), "{err}");
    assert!(!dir.join("bad-set.json").exists());
    // the reshare to 3-of-4
    let o = reshare("3", "new-set.json");
    ok(&o);
    let v = json(&o);
    let set = read_set(&dir.join("new-set.json"));
    assert_eq!(v["set_id"], set.id().to_hex(), "{v}");
    assert_eq!(v["dealers"], serde_json::json!([1, 3]), "{v}");
    assert_eq!((set.threshold(), set.trustees()), (3, 4));
    assert_eq!(set.escrow_key(), old.escrow_key());
    assert_eq!(set.lineage(), &[old.id()]);
    assert_eq!(set.origin(), set.id());
    let cert = certificate(dir, v["certificate"].as_str().unwrap());
    cert.verify(&set).unwrap();
    assert_eq!(cert.params.previous_set, Some(old.id()));
    // the new nodes serve the new set; their logs begin setup(new set), keygen(transcript)
    for n in &new_nodes {
        wait_set(&n.url(), &set.id().to_hex());
        let e = entries(&n.url());
        assert_eq!(e[0]["kind"], "setup");
        assert_eq!(e[0]["document"], set.id().to_hex());
        assert_eq!(e[1]["kind"], "keygen");
        assert_eq!(e[1]["document"], cert.transcript.to_hex());
    }
    // the dealers destroyed their shares and logged it (keygen of the reshare, then
    // share-destroyed of the old set); their sealed secrets hold no share any more
    for d in [0usize, 2] {
        let e = entries(&old_nodes[d].url());
        let tail = &e[e.len() - 2..];
        assert_eq!(tail[0]["kind"], "keygen");
        assert_eq!(tail[0]["document"], cert.transcript.to_hex());
        assert_eq!(tail[1]["kind"], "share-destroyed");
        assert_eq!(tail[1]["document"], old.id().to_hex());
        let sealed: trustee_node::sealed::SealedSecrets = serde_json::from_str(
            &std::fs::read_to_string(old_nodes[d].state.join("secrets.sealed.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            sealed.open(TEST_PASSPHRASE.as_bytes()).unwrap().key_share,
            ""
        );
    }
    // a message sealed after the reshare, and the warrant workflow on the new set opens both
    seal_to(dir, "new-set.json", 1, "2026-11-03T10:00:00Z");
    approved_warrant(dir, "OP-RESHARE", "w.json");
    let new_trustees: Vec<String> = trustees_of(&new_nodes);
    let retrieve = |set: &str, nodes: &[Node], out: &str| {
        let urls: Vec<String> = nodes.iter().map(Node::url).collect();
        retrieve_w(dir, set, out, &urls, &[])
    };
    let o = retrieve("new-set.json", &new_nodes, "out");
    ok(&o);
    assert_eq!(json(&o)["decrypted"], 2);
    assert_read(dir, "out", 2);
    // the old set no longer opens anything: its dealers refuse (share destroyed), and the
    // one old trustee left is below the threshold
    let o = retrieve("trustee-set.json", &old_nodes, "out-old");
    let all = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("share-destroyed"), "{all}");
    assert!(!dir.join("out-old/m0.txt").exists());
    // a dealer does not start again, and says why
    let mut dealer = old_nodes;
    let state = dealer[0].state.clone();
    dealer[0].stop();
    let (code, err) = serve_refused(&state);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("handed to set"), "{err}");
    assert!(err.contains(&set.id().short()), "{err}");
    // the auditor checks the reshare's certificate against the new set and its logs
    let (code, report) = audit_with(
        dir,
        "new-set.json",
        v["certificate"].as_str().unwrap(),
        &new_trustees,
    );
    assert_eq!(code, 0, "{report:#}");
}

/// `trustee-node serve` on `state`, expected to refuse to start: its exit code and stderr
/// (bounded: 100 × 100 ms, then it is killed and the test fails).
fn serve_refused(state: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(bin("trustee-node"))
        .args(["serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(state)
        .env("TRUSTEE_PASSPHRASE", TEST_PASSPHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("trustee-node serve started on a state folder with an unfinished ceremony");
}

fn clients(nodes: &[Node]) -> Vec<escrow_client::NodeClient> {
    let cfg = escrow_client::ClientConfig {
        timeout: Duration::from_secs(20),
        attempts: 1,
        ..Default::default()
    };
    nodes
        .iter()
        .map(|n| escrow_client::NodeClient::new(&n.url(), &cfg).unwrap())
        .collect()
}

fn coordinator_key(dir: &Path) -> escrow_core::keys::PrivateKey {
    escrow_core::keys::PrivateKey::from_pem(
        &std::fs::read_to_string(dir.join("coord.key")).unwrap(),
    )
    .unwrap()
}

/// The coordinator's error names who finalised and who did not.
fn assert_unfinished(e: &escrow_client::ceremony::CeremonyError) {
    match e {
        escrow_client::ceremony::CeremonyError::Unfinished {
            failed, finalised, ..
        } => {
            assert!(failed.starts_with("3 ("), "{e}");
            assert_eq!(finalised, "1, 2", "{e}");
        }
        other => panic!("expected an unfinished finalise, got {other}"),
    }
}

#[test]
fn a_node_killed_mid_ceremony_never_serves_a_half_made_set_and_says_why() {
    use escrow_client::ceremony::{Steps, run_dkg_with, run_refresh_with};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    people_and_policy(dir, &[]);
    let key = coordinator_key(dir);
    for group in ["a", "b"] {
        std::fs::create_dir(dir.join(group)).unwrap();
        for f in ["policy.json", "coord.pub"] {
            std::fs::copy(dir.join(f), dir.join(group).join(f)).unwrap();
        }
    }
    // a keygen whose node 3 is killed -9 after it certified the set, before finalise
    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| Node::start(i, &init_dkg_node(&dir.join("a"), i), &[]))
        .collect();
    let cs = clients(&nodes);
    let steps = Steps {
        before_finalise: Box::new(|| nodes[2].kill9()),
        resume_wait: Duration::from_secs(1),
    };
    let e = run_dkg_with(&cs, 2, &key, steps).unwrap_err();
    assert_unfinished(&e);
    let state3 = nodes[2].state.clone();
    assert!(state3.join("ceremony.json").exists());
    let (code, err) = serve_refused(&state3);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("unfinished keygen ceremony"), "{err}");
    assert!(err.contains("ceremony.json"), "{err}");
    // its folder holds no set: no half-made node
    assert!(!state3.join("node.json").exists());
    assert!(!state3.join("trustee-set.json").exists());
    // the two that finalised serve the same set
    let a = wait_serving(&nodes[0].url());
    let b = wait_serving(&nodes[1].url());
    assert_eq!(a["set_id"], b["set_id"]);
    drop(nodes);

    // a refresh whose node 3 is killed -9 after it certified the new set, before finalise
    let (nodes, trustees) = start_dkg_nodes(&dir.join("b"), 3);
    ok(&escrow_owned(
        dir,
        &args_with(
            &[
                "ceremony",
                "dkg",
                "--threshold",
                "2",
                "--key",
                "coord.key",
                "--out",
                "b.json",
            ],
            &trustees,
        ),
    ));
    let old = read_set(&dir.join("b.json"));
    for n in &nodes {
        wait_serving(&n.url());
    }
    let mut nodes = nodes;
    let cs = clients(&nodes);
    let steps = Steps {
        before_finalise: Box::new(|| nodes[2].kill9()),
        resume_wait: Duration::from_secs(1),
    };
    let e = run_refresh_with(&cs, &old, &key, steps).unwrap_err();
    assert_unfinished(&e);
    let state3 = nodes[2].state.clone();
    let log_before = std::fs::read(state3.join("log.db")).unwrap();
    let (code, err) = serve_refused(&state3);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("unfinished refresh ceremony"), "{err}");
    assert!(err.contains("reshared without it"), "{err}");
    // node 3's files are all of the old set, untouched: never a mix of old and new
    let set3 =
        TrusteeSet::from_json(&std::fs::read_to_string(state3.join("trustee-set.json")).unwrap())
            .unwrap();
    assert_eq!(set3.id(), old.id());
    let sealed3: trustee_node::sealed::SealedSecrets =
        serde_json::from_str(&std::fs::read_to_string(state3.join("secrets.sealed.json")).unwrap())
            .unwrap();
    assert_eq!(sealed3.set_id, old.id());
    assert_eq!(std::fs::read(state3.join("log.db")).unwrap(), log_before);
    // nodes 1 and 2 moved to the new set and logged the old one's destruction
    for n in &nodes[..2] {
        let info = wait_serving(&n.url());
        assert_ne!(info["set_id"], old.id().to_hex());
        let log = entries(&n.url());
        assert!(
            log.iter()
                .any(|e| e["kind"] == "share-destroyed" && e["document"] == old.id().to_hex()),
            "{log:?}"
        );
    }
}

/// Issue 15, who may hold the key: under a policy requiring that no jurisdiction and no
/// organisation holds k or more shares (version 5), `escrow setup` and every node of a DKG
/// refuse a set that breaks it, naming the jurisdiction (exit 3, 403 `custody-refused`, no
/// set written); the same nodes then make a set that keeps the rule, which names every
/// trustee's organisation and jurisdiction (`trustee-set.json` version 4) and whose
/// certificate binds them.
#[test]
fn a_set_giving_one_jurisdiction_k_shares_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    people_and_policy(dir, &[]);
    let mut policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("policy.json")).unwrap()).unwrap();
    policy["version"] = 5.into();
    policy["custody"] = serde_json::json!({
        "jurisdictions_below_threshold": true,
        "organisations_below_threshold": true
    });
    std::fs::write(dir.join("policy.json"), policy.to_string()).unwrap();
    // the dealer shortcut: refused before anything is dealt
    let o = escrow(
        dir,
        &[
            "setup",
            "--trustees",
            "3",
            "--threshold",
            "2",
            "--jurisdiction",
            "DE",
            "--organisation",
            "A",
            "--organisation",
            "B",
            "--organisation",
            "C",
            "--policy",
            "policy.json",
            "--out",
            "dealt",
        ],
    );
    fails(&o, 3, "jurisdiction \"DE\" would hold 3 of the shares");
    assert!(!dir.join("dealt").exists());
    // the DKG: two of three nodes in DE
    let labels = [("Org A", "DE"), ("Org B", "DE"), ("Org C", "FR")];
    let nodes: Vec<Node> = (1..=3u16)
        .map(|i| {
            let (org, jur) = labels[usize::from(i) - 1];
            let state = init_dkg_node_with(dir, i, &["--organisation", org, "--jurisdiction", jur]);
            Node::start(i, &state, &[])
        })
        .collect();
    let trustees: Vec<String> = trustees_of(&nodes);
    let dkg = |k: &str| {
        escrow_owned(
            dir,
            &args_with(
                &[
                    "ceremony",
                    "dkg",
                    "--threshold",
                    k,
                    "--key",
                    "coord.key",
                    "--out",
                    "set.json",
                ],
                &trustees,
            ),
        )
    };
    let all = fails(&dkg("2"), 3, "custody-refused");
    assert!(
        all.contains("jurisdiction \"DE\" would hold 2 of the shares (trustees [1, 2])"),
        "{all}"
    );
    assert!(!dir.join("set.json").exists());
    // with k = 3 no jurisdiction or organisation holds k shares: the set is made
    ok(&dkg("3"));
    let set = read_set(&dir.join("set.json"));
    let holders = set.holders().unwrap();
    assert_eq!(holders[1].organisation, "Org B");
    assert_eq!(holders[2].jurisdiction, "FR");
    let cert: Certificate = serde_json::from_str(
        &std::fs::read_to_string(dir.join("keygen-certificate.json")).unwrap(),
    )
    .unwrap();
    cert.verify(&set).unwrap();
    assert_eq!(cert.params.holders, holders);
}

/// `escrow ceremony dkg --threshold K` among `nodes` (`trustees`: their `--trustee URL`
/// arguments) writing `trustee-set.json` in `dir`; the set, once every node serves it.
fn dkg_set(dir: &Path, nodes: &[Node], trustees: &[String], k: &str) -> TrusteeSet {
    ok(&escrow_owned(
        dir,
        &args_with(
            &["ceremony", "dkg", "--threshold", k, "--key", "coord.key"],
            trustees,
        ),
    ));
    let set = read_set(&dir.join("trustee-set.json"));
    for n in nodes {
        wait_serving(&n.url());
    }
    set
}

/// Three nodes made by `escrow ceremony dkg` (2-of-3, `trustee-set.json` in `dir`), serving,
/// with a message sealed to bob before anything else and an approved warrant `w.json`.
fn dkg_of_three_with_a_message(dir: &Path) -> (Vec<Node>, TrusteeSet) {
    people_and_policy(dir, &[]);
    let (nodes, trustees) = start_dkg_nodes(dir, 3);
    let set = dkg_set(dir, &nodes, &trustees, "2");
    seal(dir, 0, "2026-11-02T10:00:00Z", false);
    approved_warrant(dir, "OP-PENDING", "w.json");
    (nodes, set)
}

/// `escrow retrieve` of the warrant `w.json` under `set_file` into `out` from `nodes` (one
/// attempt per request).
fn retrieve_once(dir: &Path, set_file: &str, out: &str, nodes: &[Node]) -> std::process::Output {
    let urls: Vec<String> = nodes.iter().map(Node::url).collect();
    retrieve_w(dir, set_file, out, &urls, &["--attempts", "1"])
}

/// Issue 15, ceremony defect: between its round-3 certificate signature and finalise, a
/// refreshing node used to release with its old share (the others may already hold the new
/// set). It now answers 503 `ceremony-pending` naming the session, and after finalise releases
/// with its new share.
#[test]
fn a_node_between_round_3_and_finalise_of_a_refresh_releases_nothing_then_releases_with_its_new_share()
 {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (nodes, old) = dkg_of_three_with_a_message(dir);
    let key = coordinator_key(dir);
    let mut refused = None;
    let steps = escrow_client::ceremony::Steps {
        before_finalise: Box::new(|| {
            // every node certified the new set and waits for finalise
            for n in &nodes {
                let (status, body) = get(&format!("{}/v1/info", n.url()));
                assert_eq!(status, 200, "{body}");
            }
            refused = Some(retrieve_once(dir, "trustee-set.json", "refused", &nodes));
        }),
        resume_wait: Duration::from_secs(1),
    };
    let o = escrow_client::ceremony::run_refresh_with(&clients(&nodes), &old, &key, steps).unwrap();
    let refused = refused.unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let report = json(&refused);
    assert_eq!(report["decrypted"], 0, "{report}");
    assert!(!dir.join("refused/m0.txt").exists());
    let answers = report["trustees"].as_array().unwrap();
    assert_eq!(answers.len(), 3, "{report}");
    for a in answers {
        let why = a["failure"].as_str().unwrap();
        assert!(why.starts_with("HTTP 503: ceremony-pending: "), "{why}");
        assert!(why.contains("waits for its finalise"), "{why}");
    }
    // finalised: every node releases again, with its new share, for the new set
    std::fs::write(dir.join("new-set.json"), o.set.to_json()).unwrap();
    for n in &nodes {
        wait_set(&n.url(), &o.set.id().to_hex());
    }
    let got = retrieve_once(dir, "new-set.json", "out", &nodes);
    ok(&got);
    assert_eq!(json(&got)["decrypted"], 1);
    assert_read(dir, "out", 1);
}

/// Issue 15, ceremony defect: a node whose finalise failed after its commit point (the
/// journal) and that resumed from the journal when restarted serves the new set; the
/// coordinator used to report it unfinished (no set file). It now waits (bounded) for the
/// node's signed `/v1/info` to show the new set and reports the ceremony done, naming the
/// node as resumed.
#[test]
fn a_node_that_resumed_from_its_journal_is_reported_finalised() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut nodes, old) = dkg_of_three_with_a_message(dir);
    let key = coordinator_key(dir);
    let clients = clients(&nodes);
    let mut node3 = nodes.pop().unwrap();
    let state3 = node3.state.clone();
    let cert3 = state3.join("keygen-certificate.json");
    // node 3 writes its journal, then cannot replace its certificate (a directory stands in
    // its way): its finalise fails after the commit point. Its operator kills it, clears the
    // way and starts it again on the same address: it resumes from the journal.
    let operator = std::thread::spawn(move || {
        let journal = node3.state.join("ceremony-journal.json");
        for _ in 0..300 {
            if journal.exists() {
                node3.kill9();
                std::fs::remove_dir(node3.state.join("keygen-certificate.json")).unwrap();
                node3.restart_same_port();
                return node3;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("node 3 never wrote its journal");
    });
    let steps = escrow_client::ceremony::Steps {
        before_finalise: Box::new(|| {
            std::fs::remove_file(&cert3).unwrap();
            std::fs::create_dir(&cert3).unwrap();
        }),
        resume_wait: Duration::from_secs(30),
    };
    let o = escrow_client::ceremony::run_refresh_with(&clients, &old, &key, steps);
    let node3 = operator.join().unwrap();
    let o = o.unwrap();
    assert_eq!(o.resumed, vec![3]);
    o.certificate.verify(&o.set).unwrap();
    assert_eq!(o.set.escrow_key(), old.escrow_key());
    // node 3 serves the new set, its files complete, the refresh logged once
    wait_set(&node3.url(), &o.set.id().to_hex());
    assert!(!state3.join("ceremony-journal.json").exists());
    let set3 =
        TrusteeSet::from_json(&std::fs::read_to_string(state3.join("trustee-set.json")).unwrap())
            .unwrap();
    assert_eq!(set3.id(), o.set.id());
    let log = entries(&node3.url());
    let destroyed = log
        .iter()
        .filter(|e| e["kind"] == "share-destroyed" && e["document"] == old.id().to_hex())
        .count();
    assert_eq!(destroyed, 1, "{log:?}");
    for n in &nodes {
        wait_set(&n.url(), &o.set.id().to_hex());
    }
}

/// `escrow --json audit` of the nodes `trustees` (`--trustee URL` arguments) under `set_file`
/// with the ceremony certificate `cert`, `w.json` disclosed ([`disclose_warrant`]): exit code and
/// report.
fn audit_with(
    dir: &Path,
    set_file: &str,
    cert: &str,
    trustees: &[String],
) -> (i32, serde_json::Value) {
    disclose_warrant(dir);
    let o = escrow_owned(
        dir,
        &args_with(
            &[
                "--json",
                "audit",
                "--set",
                set_file,
                "--policy",
                "policy.json",
                "--keygen-certificate",
                cert,
                "--warrants",
                "disclosed",
            ],
            trustees,
        ),
    );
    (o.status.code().unwrap_or(-1), json(&o))
}

/// Issue 15, a set's whole life through the CLI, as its operators run it: five nodes make a
/// 3-of-5 set with no dealer, a message is sealed to it, the set is refreshed, another message
/// is sealed, the refreshed set is reshared by all five to seven new nodes as a 4-of-7 set (the
/// policy allows the threshold change), a third message is sealed; the warrant workflow on the
/// new set reads all three, the old set's nodes release nothing any more, and the audits of the
/// old and the new nodes' logs tell the whole history (keygen, refresh, reshare, every share
/// destroyed) with no error finding.
#[test]
fn a_set_made_refreshed_and_reshared_to_4_of_7_reads_every_message_and_the_logs_tell_its_history() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    people_and_policy(dir, &[]);
    allow_reshare_to(dir, 4);
    // 1. key generation, 3-of-5, and a message sealed to the set it made
    let (old_nodes, old_trustees) = start_dkg_nodes(dir, 5);
    let set0 = dkg_set(dir, &old_nodes, &old_trustees, "3");
    assert_eq!((set0.threshold(), set0.trustees()), (3, 5));
    seal_to(dir, "trustee-set.json", 0, "2026-11-02T10:00:00Z");
    // 2. refresh, and a message sealed to the refreshed set
    let o = escrow_owned(
        dir,
        &args_with(
            &[
                "--json",
                "ceremony",
                "refresh",
                "--set",
                "trustee-set.json",
                "--key",
                "coord.key",
                "--out",
                "refreshed-set.json",
            ],
            &old_trustees,
        ),
    );
    ok(&o);
    let refresh = json(&o);
    let set1 = read_set(&dir.join("refreshed-set.json"));
    assert_eq!(set1.escrow_key(), set0.escrow_key());
    assert_eq!(set1.lineage(), &[set0.id()]);
    for n in &old_nodes {
        wait_set(&n.url(), &set1.id().to_hex());
    }
    seal_to(dir, "refreshed-set.json", 1, "2026-11-03T10:00:00Z");
    // 3. reshare by all five old trustees to seven new nodes, threshold 3 -> 4
    let new_nodes: Vec<Node> = (1..=7)
        .map(|i| Node::start(i, &init_reshare_node(dir, i, "refreshed-set.json"), &[]))
        .collect();
    let mut args = vec![
        "--json".to_string(),
        "ceremony".into(),
        "reshare".into(),
        "--set".into(),
        "refreshed-set.json".into(),
        "--threshold".into(),
        "4".into(),
        "--key".into(),
        "coord.key".into(),
        "--out".into(),
        "new-set.json".into(),
    ];
    for n in &old_nodes {
        args.extend(["--from-trustee".to_string(), n.url()]);
    }
    for n in &new_nodes {
        args.extend(["--to-trustee".to_string(), n.url()]);
    }
    let o = escrow_owned(dir, &args);
    ok(&o);
    let reshare = json(&o);
    assert_eq!(reshare["dealers"], serde_json::json!([1, 2, 3, 4, 5]));
    let set2 = read_set(&dir.join("new-set.json"));
    assert_eq!((set2.threshold(), set2.trustees()), (4, 7));
    assert_eq!(set2.escrow_key(), set0.escrow_key());
    assert_eq!(set2.lineage(), &[set0.id(), set1.id()]);
    for n in &new_nodes {
        wait_set(&n.url(), &set2.id().to_hex());
    }
    seal_to(dir, "new-set.json", 2, "2026-11-04T10:00:00Z");
    // 4. the warrant workflow on the new set reads the messages sealed before and after
    approved_warrant(dir, "OP-LIFE", "w.json");
    let new_urls: Vec<String> = new_nodes.iter().map(Node::url).collect();
    let o = retrieve_w(dir, "new-set.json", "out", &new_urls, &[]);
    ok(&o);
    assert_eq!(json(&o)["decrypted"], 3);
    for i in 0..3 {
        assert_eq!(
            std::fs::read_to_string(dir.join(format!("out/m{i}.txt"))).unwrap(),
            format!("message {i}")
        );
    }
    // 5. the old set's nodes release nothing any more: every one destroyed its share
    let old_urls: Vec<String> = old_nodes.iter().map(Node::url).collect();
    let o = retrieve_w(
        dir,
        "refreshed-set.json",
        "out-old",
        &old_urls,
        &["--attempts", "1"],
    );
    let all = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{all}");
    assert!(all.contains("share-destroyed"), "{all}");
    for i in 0..3 {
        assert!(!dir.join(format!("out-old/m{i}.txt")).exists());
    }
    // 6. the audits: the old nodes' logs under the set they last served (the refresh's
    // certificate), the new nodes' under the new set (the reshare's); the warrant disclosed
    let no_errors = |report: &serde_json::Value| {
        let errors: Vec<&serde_json::Value> = report["finding_groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["severity"] == "error")
            .collect();
        assert!(errors.is_empty(), "{report:#}");
    };
    let five: Vec<u16> = (1..=5).collect();
    let seven: Vec<u16> = (1..=7).collect();
    // the audit of `trustees` under `set_file` with the certificate of `ceremony`: exit 0, no
    // error
    let audited = |set_file: &str, ceremony: &serde_json::Value, trustees: &[String]| {
        let cert = ceremony["certificate"].as_str().unwrap();
        let (code, report) = audit_with(dir, set_file, cert, trustees);
        no_errors(&report);
        assert_eq!(code, 0, "{report:#}");
        report
    };
    let old_report = audited("refreshed-set.json", &refresh, &old_trustees);
    let h = old_report["set_history"].as_array().unwrap();
    assert_eq!(h.len(), 3, "{old_report:#}");
    assert_eq!(h[0]["ceremony"], "keygen");
    assert_eq!(h[0]["new_set"], set0.id().to_hex());
    assert_eq!(h[0]["logged_by"], serde_json::json!(five));
    assert_eq!(h[1]["ceremony"], "refresh");
    assert_eq!(h[1]["old_set"], set0.id().to_hex());
    assert_eq!(h[1]["new_set"], set1.id().to_hex());
    assert_eq!(h[1]["transcript"], refresh["transcript"]);
    assert_eq!(h[1]["destroyed_by"], serde_json::json!(five));
    // (a dealer's entries name the set it handed over and the transcript, not the new set:
    // the transcript is what links this entry to the new trustees' logs below)
    assert_eq!(h[2]["ceremony"], "reshare");
    assert_eq!(h[2]["old_set"], set1.id().to_hex());
    assert_eq!(h[2]["new_set"], serde_json::Value::Null);
    assert_eq!(h[2]["transcript"], reshare["transcript"]);
    assert_eq!(h[2]["destroyed_by"], serde_json::json!(five));
    let new_trustees = trustee_flags(&new_urls);
    let new_report = audited("new-set.json", &reshare, &new_trustees);
    assert_eq!(
        new_report["finding_groups"],
        serde_json::json!([]),
        "{new_report:#}"
    );
    assert_eq!(
        new_report["warrants"][0]["messages_released"], 3,
        "{new_report:#}"
    );
    let h = new_report["set_history"].as_array().unwrap();
    assert_eq!(h.len(), 1, "{new_report:#}");
    assert_eq!(h[0]["ceremony"], "reshare");
    assert_eq!(h[0]["old_set"], set1.id().to_hex());
    assert_eq!(h[0]["new_set"], set2.id().to_hex());
    assert_eq!(h[0]["transcript"], reshare["transcript"]);
    assert_eq!(h[0]["logged_by"], serde_json::json!(seven));
}
