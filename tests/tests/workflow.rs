//! The warrant workflow end to end, with the real binaries: `escrow` as users run it and
//! `trustee-node` processes on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_e2e::*;
use std::process::Output;

/// `escrow retrieve` of `w.json` with `inv.key` into `out` that tries each trustee once, with
/// a 5 s timeout, after `extra` arguments (some trustees are down).
fn retrieve_once(w: &Workflow, out: &str, extra: &[&str]) -> Output {
    let mut args = extra.to_vec();
    args.extend(["--attempts", "1", "--timeout", "5"]);
    w.retrieve("w.json", "inv.key", out, &args)
}

#[test]
fn approved_warrant_reads_exactly_the_messages_in_scope() {
    let w = Workflow::new(5, 3, 10);
    let o = w.retrieve("w.json", "inv.key", "out", &[]);
    ok(&o);
    let v = json(&o);
    assert_eq!(v["decrypted"], w.in_scope as u64);
    assert_eq!(v["not_decrypted"], 0);
    assert_eq!(v["out_of_scope_left_sealed"], (w.total - w.in_scope) as u64);
    for day in 1..8 {
        let body = std::fs::read_to_string(w.dir.join(format!("out/m{day:02}-alice.txt"))).unwrap();
        assert_eq!(body, format!("day {day}: alice to bob"));
    }
    assert!(
        !w.dir.join("out/m08-alice.txt").exists(),
        "outside the window"
    );
    assert!(
        !w.dir.join("out/m01-bob.txt").exists(),
        "bob's messages to carol are not alice's"
    );
    // every answer is a signed receipt with a leaf index
    let receipts = std::fs::read_to_string(w.dir.join("out/receipts.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = receipts
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "one response per trustee");
    for r in &lines {
        assert!(!r["signature"].as_str().unwrap().is_empty());
        assert!(
            r["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["outcome"] == "released" && x["leaf_index"].is_u64())
        );
    }
}

#[test]
fn issuer_only_warrant_gets_nothing_until_approved() {
    let w = Workflow::new(3, 2, 3);
    new_warrant(&w.dir, "OP-2", "alice", "w2.json");
    let o = w.retrieve("w2.json", "inv.key", "out", &[]);
    fails(&o, 3, "could not be decrypted");
    let v = json(&o);
    assert_eq!(v["decrypted"], 0);
    let refusals = v["messages"][0]["refusals"].as_array().unwrap();
    assert_eq!(refusals.len(), 3, "every trustee refused");
    assert!(refusals.iter().all(|r| {
        r["reason"]
            .as_str()
            .unwrap()
            .starts_with("missing-approval")
    }));
    ok(&escrow(
        &w.dir,
        &["warrant", "approve", "--key", "jc.key", "w2.json"],
    ));
    let v = json(&w.retrieve("w2.json", "inv.key", "out2", &[]));
    assert_eq!(v["decrypted"], 3);
}

#[test]
fn k_minus_1_trustees_up_decrypt_nothing_and_the_error_says_why() {
    let mut w = Workflow::new(5, 3, 4);
    let sizes: Vec<u64> = [1, 3]
        .iter()
        .map(|&i| log_size(&format!("{}/v1/log/head", w.nodes[i].url())))
        .collect();
    w.nodes[0].stop();
    w.nodes[2].stop();
    w.nodes[4].stop();
    let o = retrieve_once(&w, "out", &[]);
    // Checked before any release request: fewer than k trustees answer /v1/info, so nothing
    // is asked (an outage: exit 1), and the two that are up log nothing.
    fails(
        &o,
        1,
        "only 2 of the trustees answered /v1/info, 3 are needed",
    );
    let err = json(&o)["error"].as_str().unwrap().to_string();
    assert_eq!(
        err.matches("unreachable").count(),
        3,
        "the three stopped trustees are named unreachable: {err}"
    );
    let after: Vec<u64> = [1, 3]
        .iter()
        .map(|&i| log_size(&format!("{}/v1/log/head", w.nodes[i].url())))
        .collect();
    assert_eq!(sizes, after, "no release request reached a trustee");
    let files: Vec<_> = std::fs::read_dir(w.dir.join("out"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(
        files.iter().all(|f| !f.to_string_lossy().ends_with(".txt")),
        "no plaintext written: {files:?}"
    );
}

#[test]
fn a_trustee_restarting_mid_retrieval_is_retried() {
    let mut w = Workflow::new(4, 3, 30);
    w.nodes[3].stop(); // exactly k = 3 trustees up: every one of them is needed
    let dir = w.dir.clone();
    let urls: Vec<String> = w.nodes[..3].iter().map(|n| n.url()).collect();
    let args = retrieve_args(
        "ts/trustee-set.json",
        "out",
        &urls,
        &["--batch", "1", "--attempts", "8", "--all-messages"],
    );
    let child = std::process::Command::new(bin("escrow"))
        .args(&args)
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until trustee 2 has answered at least one request, then restart it while the
    // retrieval (60 requests of one ciphertext each, to every trustee in turn) is still running.
    let head = format!("{}/v1/log/head", w.nodes[1].url());
    let t0 = std::time::Instant::now();
    let start_size = log_size(&head);
    while log_size(&head) == start_size {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "trustee 2 never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let mut child = child;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the retrieval finished before the restart: the test would prove nothing"
    );
    w.nodes[1].restart_same_port();
    let o = child.wait_with_output().unwrap();
    let v = json(&o);
    // out-of-scope messages are refused (exit 3), but every in-scope one was read although a
    // needed trustee went away and came back in the middle
    assert_eq!(v["decrypted"], 7, "{v}");
    assert!(
        v["trustees"]
            .as_array()
            .unwrap()
            .iter()
            // each released the in-scope messages and refused the others
            .filter(|t| t["status"] == "released-some"
                && t["refused"]["out-of-scope"].as_u64() > Some(0))
            .count()
            == 3,
        "{v}"
    );
}

fn log_size(url: &str) -> u64 {
    ureq::get(url)
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["size"].as_u64())
        .unwrap_or(0)
}

#[test]
fn only_the_named_investigator_can_use_the_shares() {
    let w = Workflow::new(3, 2, 2);
    let o = w.retrieve("w.json", "inv2.key", "out", &[]);
    fails(&o, 3, "names investigator key");
    // The trustees answer a valid warrant whoever sends it, but the shares inside are
    // encrypted to the investigator the warrant names: the receipts exist, nothing opens.
    let urls = [w.nodes[0].url(), w.nodes[1].url()];
    let receipts = retrieve_w(&w.dir, SET, "ok", &urls, &[]);
    assert_eq!(json(&receipts)["decrypted"], 2);
}

#[test]
fn a_foreign_authoritys_well_formed_warrant_gets_nothing() {
    let w = Workflow::new(3, 2, 3);
    ok(&escrow(
        &w.dir,
        &warrant_new_args(
            "foreign-sos.key",
            "FX-1",
            "alice",
            ("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),
            "inv.pub",
            "fw.json",
        ),
    ));
    ok(&escrow(
        &w.dir,
        &["warrant", "approve", "--key", "foreign-jc.key", "fw.json"],
    ));
    let o = w.retrieve("fw.json", "inv.key", "out", &[]);
    fails(&o, 3, "could not be decrypted");
    let v = json(&o);
    assert_eq!(v["decrypted"], 0);
    for m in v["messages"].as_array().unwrap() {
        for r in m["refusals"].as_array().unwrap() {
            assert!(
                r["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("unknown-authority"),
                "{r}"
            );
        }
    }
}

#[test]
fn a_cheating_trustee_is_named_and_routed_around() {
    let mut w = Workflow::new(4, 2, 3);
    let state = w.dir.join("node-2");
    w.nodes[1].stop();
    w.nodes[1] = Node::start_cheating(2, &state);
    let o = w.retrieve("w.json", "inv.key", "out", &[]);
    let v = json(&o);
    assert_eq!(v["decrypted"], 3, "{v}");
    assert_eq!(v["bad_share_trustees"], serde_json::json!([2]));
    // With the cheater among too few honest trustees, nothing is read and it is still named.
    w.nodes[2].stop();
    w.nodes[3].stop();
    let o = retrieve_once(&w, "out2", &[]);
    let all = fails(&o, 3, "could not be decrypted");
    assert!(all.contains("trustee 2"), "{all}");
}

#[test]
fn the_live_demo_runs_and_every_step_turns_out_as_the_protocol_says() {
    let tmp = tempfile::tempdir().unwrap();
    let o = escrow(
        tmp.path(),
        &["--json", "demo", "--kdf-cost", "test", "--keep", "kept"],
    );
    let v = json(&o);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["mode"], "live");
    let steps = v["steps"].as_array().unwrap();
    let step = |needle: &str| {
        steps
            .iter()
            .find(|s| s["title"].as_str().unwrap().contains(needle))
            .unwrap_or_else(|| panic!("no step {needle:?} in {v}"))
            .clone()
    };
    // Step 1: the nodes made their set themselves (no dealer): no trustee folder with a dealt
    // share anywhere, the certificate kept verifies against the set kept, and the transcript
    // the demo shows is the one in the certificate.
    let setup = step("generate the escrow key together, with no dealer")["detail"].clone();
    assert_eq!(setup["dealer"], false, "{setup}");
    let kept = tmp.path().join("kept");
    let set = escrow_core::trustee::TrusteeSet::from_json(
        &std::fs::read_to_string(kept.join("trustee-set.json")).unwrap(),
    )
    .unwrap();
    let cert = escrow_core::dkg::Certificate::from_json(
        &std::fs::read_to_string(kept.join("keygen-certificate.json")).unwrap(),
    )
    .unwrap();
    cert.verify(&set).unwrap();
    assert_eq!(setup["set_id"], set.id().to_hex(), "{setup}");
    assert_eq!(setup["transcript"], cert.transcript.to_hex(), "{setup}");
    assert!(!kept.join("trustee-1").exists());
    // The nodes speak HTTPS under a CA made for the demo, which the demo's clients pin.
    let nodes = step("trustee nodes start")["detail"].clone();
    assert_eq!(nodes["https"], true, "{nodes}");
    let urls = nodes["nodes"].as_array().unwrap();
    assert!(
        !urls.is_empty()
            && urls
                .iter()
                .all(|u| u.as_str().unwrap().starts_with("https://127.0.0.1:")),
        "{nodes}"
    );
    let ca = std::fs::read_to_string(tmp.path().join("kept/demo-ca.pem")).unwrap();
    assert!(ca.contains("BEGIN CERTIFICATE"), "{ca}");
    assert_eq!(
        step("issues warrant")["detail"]["codes"],
        serde_json::json!(["missing-approval"])
    );
    let read = step("investigator retrieves")["detail"].clone();
    assert!(read["decrypted"].as_u64().unwrap() > 0);
    assert!(read["sealed"].as_u64().unwrap() > 0);
    let refusals = step("refusals that matter")["detail"].clone();
    let joined = refusals.to_string();
    for code in [
        "out-of-scope",
        "bad-ciphertext-proof",
        "bad-signature",
        "expired",
        "unknown-authority",
        "cancelled",
    ] {
        assert!(joined.contains(code), "{code} missing from {joined}");
    }
    let faults = step("goes down")["detail"].clone();
    assert_eq!(
        faults["named"],
        serde_json::json!([faults["cheater"].clone()])
    );
    assert!(
        step("committed to each trustee's log")["detail"]["heads"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );
    // the auditor ran over every running node: every log verified, nothing unjustified, the
    // warrant's messages readable, the receipts proved, the cheater named (and nothing else
    // found), and the report page kept
    let audit = step("the auditor verifies every log")["detail"]["audit"].clone();
    let errors: Vec<_> = audit["finding_groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["severity"] == "error")
        .map(|g| (g["code"].clone(), g["trustee"].clone()))
        .collect();
    assert_eq!(
        errors,
        vec![(
            serde_json::json!("cheating-trustee"),
            faults["cheater"].clone()
        )],
        "{audit:#}"
    );
    assert!(audit["receipts_checked"].as_u64().unwrap() > 0, "{audit:#}");
    // the auditor checked the key generation's certificate (no keygen-mismatch among the
    // findings above) and tells the set's history from the logs: that one key generation,
    // logged by every audited trustee (the one down is not audited)
    let history = audit["set_history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{audit:#}");
    assert_eq!(history[0]["ceremony"], "keygen", "{audit:#}");
    assert_eq!(history[0]["transcript"], setup["transcript"], "{audit:#}");
    assert_eq!(history[0]["new_set"], set.id().to_hex(), "{audit:#}");
    assert_eq!(
        history[0]["logged_by"],
        serde_json::json!([1, 2, 3, 4]),
        "{audit:#}"
    );
    assert!(
        !audit["readable"].as_array().unwrap().is_empty(),
        "{audit:#}"
    );
    assert!(
        audit["trustees"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["log_ok"] == true)
    );
    // the page to publish is the public summary; the oversight view is kept beside it, private
    let page = std::fs::read_to_string(tmp.path().join("kept/audit-report.html")).unwrap();
    assert!(page.contains("<svg") && page.contains("public transparency report"));
    let full = std::fs::read_to_string(tmp.path().join("kept/oversight-report.html")).unwrap();
    assert!(
        full.contains("<svg") && full.contains("Oversight view"),
        "{full}"
    );
    for name in ["w-demo-alice", "alice"] {
        assert!(full.contains(name), "{name} in the oversight view");
        assert!(!page.contains(name), "{name} in the public page");
    }
    // Witnesses (issue 17): a normal release under a checkpoint cosigned by the quorum with
    // the auditing witness's statement; a forked log refused by every witness, with evidence;
    // a release under a cancelled warrant by a faulty node stopped by the auditing witness.
    let normal = step("Witnesses:")["detail"].clone();
    assert!(normal["read"].as_u64().unwrap() > 0, "{normal}");
    assert_eq!(
        normal["statement_by"],
        serde_json::json!(["witness.example/audit"])
    );
    assert!(
        normal["cosigners"].as_array().unwrap().len() >= 2,
        "{normal}"
    );
    assert!(
        normal["checkpoint"]
            .as_str()
            .unwrap()
            .contains("\u{2014} witness.example/")
    );
    let fork = step("forks its log")["detail"].clone();
    assert_eq!(fork["read"], 0, "{fork}");
    let kinds: Vec<&str> = fork["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[1].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 3, "{fork}");
    assert!(
        kinds
            .iter()
            .all(|k| *k == "split-view" || *k == "inconsistent"),
        "{fork}"
    );
    let cancelled = step("deliberately faulty")["detail"].clone();
    assert_eq!(cancelled["read"], 0, "{cancelled}");
    assert_eq!(cancelled["auditing_witness_refused"], true);
    assert!(
        cancelled["evidence"][0]
            .as_str()
            .unwrap()
            .contains("unjustified-release"),
        "{cancelled}"
    );
    // the demo left no process behind and kept its state as asked
    assert!(tmp.path().join("kept/mailbox.jsonl").exists());
    assert!(tmp.path().join("kept/warrant.json").exists());
}

#[test]
fn the_readme_names_the_two_commands_and_the_demo_command_works() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    assert!(
        readme.contains("cargo run --release -p warrant-cli --bin escrow -- demo\n"),
        "main command"
    );
    assert!(
        readme.contains("\ncargo test --workspace\n"),
        "test command"
    );
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.ci/run")).unwrap();
    assert!(
        ci.contains("cargo test --workspace"),
        ".ci/run runs the README's test command"
    );
    // The demo as the README runs it (strong KDF, temporary state): text output, success.
    let tmp = tempfile::tempdir().unwrap();
    let text = ok(&escrow(tmp.path(), &["demo"]));
    assert!(
        text.contains("[9]") && text.contains("trustee processes stopped"),
        "{text}"
    );
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "nothing left in the working directory"
    );
}

fn receipt_trustees(w: &Workflow, out: &str) -> Vec<u64> {
    let receipts = std::fs::read_to_string(w.dir.join(out).join("receipts.jsonl")).unwrap();
    let mut t: Vec<u64> = receipts
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["trustee"]
                .as_u64()
                .unwrap()
        })
        .collect();
    t.sort();
    t.dedup();
    t
}

#[test]
fn asking_the_threshold_first_releases_k_shares_and_falls_back_when_one_fails() {
    let mut w = Workflow::new(5, 3, 4);
    // All honest: only the first k trustees are asked; the others release (and log) nothing.
    let head = |n: &Node| log_size(&format!("{}/v1/log/head", n.url()));
    let sizes_before: Vec<u64> = w.nodes.iter().map(head).collect();
    let o = w.retrieve("w.json", "inv.key", "out", &["--ask", "threshold"]);
    ok(&o);
    let v = json(&o);
    assert_eq!(v["decrypted"], w.in_scope as u64, "{v}");
    assert_eq!(receipt_trustees(&w, "out"), vec![1, 2, 3]);
    let grown: Vec<u64> = w
        .nodes
        .iter()
        .zip(&sizes_before)
        .map(|(n, b)| head(n) - b)
        .collect();
    assert!(grown[..3].iter().all(|&g| g > 0), "{grown:?}");
    assert_eq!(&grown[3..], &[0, 0], "trustees 4 and 5 were not asked");
    // Trustee 2 cheats: the first round cannot decrypt, the others are asked for the rest,
    // everything is read and trustee 2 is named.
    let state = w.dir.join("node-2");
    w.nodes[1].stop();
    w.nodes[1] = Node::start_cheating(2, &state);
    let o = w.retrieve("w.json", "inv.key", "out2", &["--ask", "threshold"]);
    let v = json(&o);
    assert_eq!(v["decrypted"], w.in_scope as u64, "{v}");
    assert_eq!(v["bad_share_trustees"], serde_json::json!([2]));
    // The mailbox is release protocol v2 (`escrow seal`'s default). The cheater's signed
    // answer, whose batched proof fails, is still kept as a receipt: it answered and logged.
    assert_eq!(receipt_trustees(&w, "out2"), vec![1, 2, 3, 4, 5]);
    // Trustee 1 down as well: still k honest ones among the rest.
    w.nodes[0].stop();
    let o = retrieve_once(&w, "out3", &["--ask", "threshold"]);
    let v = json(&o);
    assert_eq!(v["decrypted"], w.in_scope as u64, "{v}");
}
