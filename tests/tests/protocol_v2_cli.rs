//! Release protocol version 2 through the `escrow` binary as users run it (`docs/protocol.md`
//! §15.8): `escrow seal` writes version 2 by default (`--v1` keeps version 1), `escrow open`
//! reads both, `escrow retrieve` asks `/v2/release` for version 2 lines and `/v1/release` for
//! version 1 lines of the same mailbox, and the auditor proves the receipts of both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_e2e::*;

fn versions(mailbox: &str) -> Vec<u64> {
    mailbox
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["version"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// `escrow seal` of alice's message to bob on `day` (November 2026), with extra arguments.
fn seal(w: &Workflow, id: &str, day: u32, body: &str, extra: &[&str]) -> serde_json::Value {
    let at = format!("2026-11-{day:02}T12:00:00Z");
    let mut args = json_first(seal_args(
        SET,
        "bob.pub",
        "alice",
        "bob",
        "mailbox.jsonl",
        &["--at", &at, "--id", id],
    ));
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&escrow_stdin(&w.dir, &args, body.as_bytes()))).unwrap()
}

/// `escrow --json open` of bob's mailbox (messages from alice), received at `received`.
fn open_as_bob(w: &Workflow, received: &str, extra: &[&str]) -> std::process::Output {
    let mut args = json_first(open_from(
        "bob.key",
        "mailbox.jsonl",
        "bob",
        "alice",
        &["--received", received],
    ));
    args.extend_from_slice(extra);
    escrow(&w.dir, &args)
}

#[test]
fn seal_v2_then_warrant_retrieve_and_open_with_a_mixed_mailbox() {
    // Workflow::new seals its traffic with the default `escrow seal`: version 2.
    let w = Workflow::new(3, 2, 3);
    let mailbox = std::fs::read_to_string(w.dir.join("mailbox.jsonl")).unwrap();
    assert!(
        versions(&mailbox).iter().all(|&v| v == 2),
        "escrow seal writes version 2 by default"
    );
    // Two version 1 messages in the same mailbox, in the warrant's scope.
    let v = seal(&w, "old-1", 4, "old format one", &["--v1"]);
    assert_eq!(v["format_version"], 1);
    seal(&w, "old-2", 5, "old format two", &["--v1"]);
    let v = seal(&w, "new-1", 6, "new format", &[]);
    assert_eq!(v["format_version"], 2);
    let mailbox = std::fs::read_to_string(w.dir.join("mailbox.jsonl")).unwrap();
    assert_eq!(versions(&mailbox).iter().filter(|&&v| v == 1).count(), 2);

    let o = w.retrieve("w.json", "inv.key", "out", &["--ask", "threshold"]);
    let v = json(&o);
    assert!(o.status.success(), "{v:#}");
    let in_scope = w.in_scope + 3;
    assert_eq!(v["decrypted"], in_scope as u64, "{v:#}");
    assert_eq!(v["not_decrypted"], 0);
    assert!(
        v["unreadable_lines"].as_array().unwrap().is_empty(),
        "{v:#}"
    );
    for (id, body) in [
        ("m01-alice", "day 1: alice to bob"),
        ("old-1", "old format one"),
        ("old-2", "old format two"),
        ("new-1", "new format"),
    ] {
        let got = std::fs::read_to_string(w.dir.join(format!("out/{id}.txt"))).unwrap();
        assert_eq!(got, body, "{id}");
    }
    // One signed receipt per trustee asked and per protocol version: version 1 answers are
    // JSON responses, version 2 answers carry their wire bytes.
    let receipts = std::fs::read_to_string(w.dir.join("out/receipts.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = receipts
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "k = 2 trustees, two versions: {receipts}");
    assert_eq!(lines.iter().filter(|r| r["version"] == 2).count(), 2);
    assert_eq!(lines.iter().filter(|r| r["version"] == 1).count(), 2);

    // The auditor proves every receipt of both versions in the logs.
    let o = w.audit(
        true,
        &[
            "--policy",
            "policy.json",
            "--state",
            "auditor",
            "--oversight-key",
            "oversight.key",
            "--receipts",
            "out/receipts.jsonl",
        ],
        &[],
    );
    let a = json(&o);
    assert!(o.status.success(), "{a:#}");
    assert!(a["findings"].as_array().unwrap().is_empty(), "{a:#}");
    assert!(
        a["receipts_checked"].as_u64().unwrap() >= (in_scope * 2) as u64,
        "{a:#}"
    );

    // bob opens every message addressed to him, of both versions.
    let o = open_as_bob(&w, "2026-11-03T12:00:00Z", &["--tolerance", "10d"]);
    let v = json(&o);
    assert!(o.status.success(), "{v:#}");
    let opened = opened_ids(&v);
    for id in ["m01-alice", "m03-alice", "old-1", "old-2", "new-1"] {
        assert!(opened.contains(&id), "{id} not opened: {v:#}");
    }
    assert_eq!(v["other_recipients"], 3, "carol's messages: {v:#}");

    // Without enough trustees' key shares nothing is read, of either version; with k, both.
    let o = escrow(
        &w.dir,
        &[
            "--json",
            "collude",
            "--set",
            "ts/trustee-set.json",
            "--share",
            "ts/trustee-1",
            "--share",
            "ts/trustee-2",
            "--mailbox",
            "mailbox.jsonl",
        ],
    );
    let v = json(&o);
    assert!(o.status.success(), "{v:#}");
    assert_eq!(v["read"].as_array().unwrap().len(), w.total + 3, "{v:#}");
}

#[test]
fn a_mailbox_line_of_an_unknown_version_is_reported_not_read() {
    let w = Workflow::new(3, 2, 1);
    let mut mailbox = std::fs::read_to_string(w.dir.join("mailbox.jsonl")).unwrap();
    let first = mailbox.lines().next().unwrap().to_string();
    let mut v3: serde_json::Value = serde_json::from_str(&first).unwrap();
    v3["version"] = 3.into();
    v3["id"] = "future".into();
    mailbox.push_str(&format!("{v3}\n"));
    std::fs::write(w.dir.join("mailbox.jsonl"), mailbox).unwrap();
    let o = open_as_bob(&w, "2026-11-01T10:00:00Z", &[]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(1), "{v:#}");
    assert_eq!(v["opened"].as_array().unwrap().len(), 1, "{v:#}");
    let err = v["malformed"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("unsupported format version 3"),
        "the line names its version: {err}"
    );
    let o = w.retrieve("w.json", "inv.key", "out", &[]);
    let r = json(&o);
    assert!(o.status.success(), "{r:#}");
    assert_eq!(r["decrypted"], 1);
    let bad = r["unreadable_lines"][0].as_str().unwrap();
    assert!(
        bad.starts_with("line 3:") && bad.contains("unsupported format version 3"),
        "{bad}"
    );
}
