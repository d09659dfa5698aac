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
    let state = dir.join(format!("node-{i}"));
    let o = Command::new(bin("trustee-node"))
        .args(["init", "--dkg", "--policy"])
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

#[test]
fn five_nodes_make_their_set_without_a_dealer_and_then_serve_a_warrant() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for name in [
        "sos",
        "jc",
        "inv",
        "oversight",
        "alice",
        "bob",
        "coord",
        "mallory",
    ] {
        ok(&escrow(dir, &["keygen", "--no-passphrase", "--out", name]));
    }
    ok(&escrow(
        dir,
        &[
            "policy",
            "init",
            "--issuer",
            "sos.pub",
            "--judicial",
            "jc.pub",
            "--oversight",
            "oversight.pub",
            "--out",
            "policy.json",
        ],
    ));
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
    let trustees: Vec<String> = nodes
        .iter()
        .flat_map(|n| ["--trustee".to_string(), n.url()])
        .collect();
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
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        escrow(dir, &refs)
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
    let set =
        TrusteeSet::from_json(&std::fs::read_to_string(dir.join("trustee-set.json")).unwrap())
            .unwrap();
    let cert = Certificate::from_json(
        &std::fs::read_to_string(dir.join("keygen-certificate.json")).unwrap(),
    )
    .unwrap();
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
        ok(&escrow_stdin(
            dir,
            &[
                "seal",
                "--set",
                "trustee-set.json",
                "--recipient-key",
                "bob.pub",
                "--from",
                "alice",
                "--to",
                "bob",
                "--at",
                at,
                "--id",
                &format!("m{i}"),
                "--mailbox",
                "mailbox.jsonl",
            ],
            format!("message {i}").as_bytes(),
        ));
    }
    ok(&escrow(
        dir,
        &[
            "warrant",
            "new",
            "--issuer-key",
            "sos.key",
            "--case",
            "OP-DKG",
            "--target",
            "alice",
            "--from",
            "2026-11-01T00:00:00Z",
            "--until",
            "2026-11-08T00:00:00Z",
            "--investigator",
            "inv.pub",
            "--out",
            "w.json",
        ],
    ));
    ok(&escrow(
        dir,
        &["warrant", "approve", "--key", "jc.key", "w.json"],
    ));
    let mut args: Vec<String> = [
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
    ]
    .map(String::from)
    .to_vec();
    args.extend(trustees.iter().cloned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = escrow(dir, &refs);
    ok(&o);
    assert_eq!(json(&o)["decrypted"], 2);
    assert_eq!(
        std::fs::read_to_string(dir.join("out/m0.txt")).unwrap(),
        "message 0"
    );
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
    std::fs::create_dir_all(dir.join("disclosed")).unwrap();
    std::fs::copy(dir.join("w.json"), dir.join("disclosed/w.json")).unwrap();
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
    // (the warrant text is not disclosed to this auditor, so the releases are reported as
    // unjustified; the keygen check itself finds nothing)
    for g in report["finding_groups"].as_array().unwrap() {
        assert_eq!(g["code"], "unjustified-release", "{report}");
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
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = escrow(dir, &refs);
    let all = fails(&o, 3, "keygen-mismatch");
    assert!(
        all.contains("not the one the key-generation certificate certifies"),
        "{all}"
    );
    // a restart loads the completed state like any node's
    nodes[2].restart();
    assert_eq!(wait_serving(&nodes[2].url())["set_id"], set.id().to_hex());
}
