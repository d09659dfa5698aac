//! The oversight view (issue 16) against real trustee nodes: every release entry carries the
//! released escrow header sealed to the policy's oversight key, so `escrow audit
//! --oversight-key` re-checks scope from the logs alone. A trustee modified to release one
//! message outside the warrant's window — and to log it honestly, with its sealed header — is
//! caught and named; without the key the same audit passes and says it could not check scope.
//! A wrong `--policy` gives grouped findings, not one line per release.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_core::audit::{EntryKind, Frontier, LogEntry, SealedDocument};
use escrow_core::codec::Digest32;
use escrow_core::keys::PublicKey;
use escrow_core::time::Timestamp;
use escrow_core::v2::MailboxMessage;
use escrow_e2e::{
    POLICY_AND_OVERSIGHT, Workflow, cancel_args, escrow, json, json_first, new_warrant, ok,
};
use std::path::Path;
use std::process::Output;

fn audit(w: &Workflow, extra: &[&str]) -> Output {
    w.audit(true, &["--policy", "policy.json"], extra)
}

/// What a trustee modified to ignore the warrant's window would write: one release entry of
/// `header` under the warrant of the log's last release, logged honestly (its oversight copy
/// sealed to `oversight` as the node seals every copy), appended as the node appends: the
/// entry, the tree head after it and the release counter, in one transaction. The node's
/// start-up checks (signed checkpoint a prefix of the log, counters match the log) pass.
fn append_out_of_scope_release(state: &Path, msg: &MailboxMessage, oversight: &PublicKey) -> u64 {
    let mut conn = rusqlite::Connection::open(state.join("log.db")).unwrap();
    let (entries, leaves): (Vec<LogEntry>, Vec<Digest32>) = {
        let mut st = conn
            .prepare("SELECT entry, leaf_hash FROM log_entries ORDER BY seq")
            .unwrap();
        st.query_map([], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .unwrap()
        .map(|x| {
            let (b, l) = x.unwrap();
            (
                LogEntry::from_bytes(&b).unwrap(),
                Digest32(l.try_into().unwrap()),
            )
        })
        .unzip()
    };
    let last = entries
        .iter()
        .rev()
        .find(|e| e.kind == EntryKind::Release)
        .unwrap();
    let seq = entries.len() as u64;
    let mut e = LogEntry::release(
        seq,
        Timestamp(last.time.0 + 1),
        last.warrant.unwrap(),
        msg.ciphertext_digest(),
        Digest32::sha256(b"the decryption share it sent"),
        last.investigator.unwrap(),
    );
    e.seal_for_oversight(
        &[*oversight],
        &match msg {
            MailboxMessage::V1(m) => SealedDocument::HeaderV1(m.escrow.clone()),
            MailboxMessage::V2(m) => SealedDocument::HeaderV2(m.escrow.clone()),
            other => panic!("a mailbox version this test does not know: {other:?}"),
        },
        &mut rand::rng(),
    )
    .unwrap();
    let warrant_id: String = conn
        .query_row(
            "SELECT warrant_id FROM warrants WHERE digest = ?1",
            [last.warrant.unwrap().as_bytes().to_vec()],
            |r| r.get(0),
        )
        .unwrap();
    let mut frontier = Frontier::new();
    for l in leaves {
        frontier.push(l);
    }
    let bytes = e.to_bytes();
    let lh = escrow_core::audit::leaf_hash(&bytes);
    frontier.push(lh);
    let tx = conn.transaction().unwrap();
    tx.execute(
        "INSERT INTO log_entries (seq, kind, time, entry, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![
            seq as i64,
            "release",
            e.time.0,
            bytes,
            lh.as_bytes().to_vec()
        ],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO releases (warrant_id, ciphertext, first_seq) VALUES (?1, ?2, ?3)",
        rusqlite::params![
            warrant_id,
            msg.ciphertext_digest().as_bytes().to_vec(),
            seq as i64
        ],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO tree_heads (size, root, time) VALUES (?1, ?2, ?3)",
        rusqlite::params![
            frontier.size() as i64,
            frontier.root().as_bytes().to_vec(),
            e.time.0
        ],
    )
    .unwrap();
    tx.commit().unwrap();
    seq
}

#[test]
fn a_trustee_that_releases_outside_the_window_is_caught_by_the_oversight_view_only() {
    // 10 days of traffic; the warrant covers alice from Nov 1 to Nov 8 (exclusive).
    let mut w = Workflow::new(3, 2, 10);
    let r = json(&w.retrieve("w.json", "inv.key", "out", &[]));
    assert_eq!(r["decrypted"], w.in_scope as u64, "{r:#}");

    // Honest logs: every release's sealed header opens, matches, proves and is in scope.
    let o = audit(&w, &["--oversight-key", "oversight.key"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    let ov = &v["oversight"];
    assert_eq!(ov["key_given"], true);
    let releases = ov["releases"].as_u64().unwrap();
    assert!(releases >= 2 * w.in_scope as u64, "{ov:#}");
    assert_eq!(ov["releases_with_copy"], releases, "{ov:#}");
    assert_eq!(ov["headers_checked"], releases, "{ov:#}");
    assert_eq!(ov["in_scope"], releases, "{ov:#}");
    assert_eq!(ov["warrants_from_log"], 1, "{ov:#}");
    assert!(ov["not_checked"].as_array().unwrap().is_empty(), "{ov:#}");

    // Trustee 2, modified: releases alice's message of Nov 9 (after the window) and logs it
    // honestly.
    let mailbox = std::fs::read_to_string(w.dir.join("mailbox.jsonl")).unwrap();
    let late = mailbox
        .lines()
        .map(|l| MailboxMessage::from_json(l).unwrap())
        .find(|m| m.id() == "m09-alice")
        .unwrap();
    let oversight =
        PublicKey::from_pem(&std::fs::read_to_string(w.dir.join("oversight.pub")).unwrap())
            .unwrap();
    w.nodes[1].stop();
    let state = w.dir.join("node-2");
    assert!(state.join("log.db").exists(), "{}", state.display());
    let entry = append_out_of_scope_release(&state, &late, &oversight);
    w.nodes[1].restart(); // the node's own start-up checks accept the appended entry

    // The oversight view catches it and names the trustee and the entry.
    let o = audit(&w, &["--oversight-key", "oversight.key"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(3), "{v:#}");
    let f: Vec<_> = v["findings"].as_array().unwrap().iter().collect();
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["code"], "unjustified-release");
    assert_eq!(f[0]["trustee"], 2);
    assert_eq!(f[0]["entry"], entry);
    let msg = f[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("OUT OF SCOPE") && msg.contains("window closes"),
        "{msg}"
    );
    assert_eq!(v["oversight"]["failed"], 1);
    // The oversight view's warrant table: case, scope, validity, issuer and approver,
    // investigator; "unjustified" counted in messages like "released", entries apart.
    let ws = v["warrants"].as_array().unwrap();
    assert_eq!(ws.len(), 1, "{v:#}");
    let row = &ws[0];
    assert_eq!(row["case_reference"], "OP-TEST", "{row:#}");
    assert!(row["scope"].as_str().unwrap().contains("alice"), "{row:#}");
    assert!(
        row["validity"].as_str().unwrap().contains(" to "),
        "{row:#}"
    );
    let signed = row["signed_by"].as_str().unwrap();
    assert!(
        signed.contains("issuer") && signed.contains("judicial"),
        "{row:#}"
    );
    assert!(row["investigator"].is_string(), "{row:#}");
    assert_eq!(row["messages_released"], w.in_scope as u64 + 1, "{row:#}");
    assert_eq!(row["messages_unjustified"], 1, "{row:#}");
    assert_eq!(row["unjustified"], 1, "{row:#}");
    // The text report names it too, and never the label.
    let t = w.audit(false, POLICY_AND_OVERSIGHT, &[]);
    assert_eq!(t.status.code(), Some(3));
    let text = String::from_utf8_lossy(&t.stdout).to_string();
    assert!(
        text.contains("trustee 2 entry") && text.contains("OUT OF SCOPE"),
        "{text}"
    );
    assert!(!text.contains("m09-alice"), "{text}");

    // Without the oversight key, but with the warrant disclosed: the digests alone cannot show
    // it, and the report says which checks it could not make.
    std::fs::create_dir_all(w.dir.join("disclosed")).unwrap();
    std::fs::copy(w.dir.join("w.json"), w.dir.join("disclosed/w.json")).unwrap();
    let o = audit(&w, &["--warrants", "disclosed"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    assert_eq!(v["oversight"]["key_given"], false);
    let nc = v["oversight"]["not_checked"].as_array().unwrap();
    assert!(nc[0].as_str().unwrap().starts_with("scope"), "{nc:?}");
    assert!(
        v["what_is_not_checked"][0]
            .as_str()
            .unwrap()
            .starts_with("scope"),
        "{v:#}"
    );
}

#[test]
fn a_wrong_policy_gives_one_grouped_finding_per_trustee_not_one_line_per_release() {
    let w = Workflow::new(3, 2, 8);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    // A policy of other authorities.
    ok(&escrow(
        &w.dir,
        &[
            "policy",
            "init",
            "--issuer",
            "foreign-sos.pub",
            "--judicial",
            "foreign-jc.pub",
            "--oversight",
            "oversight.pub",
            "--out",
            "wrong-policy.json",
        ],
    ));
    let wrong = [
        "--policy",
        "wrong-policy.json",
        "--oversight-key",
        "oversight.key",
    ];
    let o = w.audit(true, &wrong, &[]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(3), "{v:#}");
    let releases = v["releases"].as_array().unwrap().len();
    assert!(releases >= 14, "{releases}");
    let groups = v["finding_groups"].as_array().unwrap();
    let unjust: Vec<_> = groups
        .iter()
        .filter(|g| g["code"] == "unjustified-release")
        .collect();
    // One group per trustee that released, each counting all its releases.
    assert!(!unjust.is_empty() && unjust.len() <= 3, "{groups:#?}");
    let counted: u64 = unjust.iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(counted as usize, releases);
    // The text report stays short: one line per group, not per release.
    let t = w.audit(false, &wrong, &[]);
    assert_eq!(t.status.code(), Some(3));
    let text = String::from_utf8_lossy(&t.stdout);
    let lines = text
        .lines()
        .filter(|l| l.contains("unjustified-release"))
        .count();
    assert!(lines <= 3, "{lines} lines:\n{text}");
    assert!(text.lines().count() < 80, "{text}");
}

/// Every public output of `escrow audit --public` (text, the `--json` object, the `--html`
/// page), with the names that must never appear in it.
fn public_outputs(w: &Workflow, extra: &[&str]) -> (Output, serde_json::Value, String, String) {
    let mut args: Vec<String> = ["--public", "--html", "public.html"]
        .map(String::from)
        .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = audit(w, &refs);
    let v = json(&o);
    let html = std::fs::read_to_string(w.dir.join("public.html")).unwrap();
    let t = w.audit(false, &["--policy", "policy.json", "--public"], extra);
    (o, v, html, String::from_utf8_lossy(&t.stdout).to_string())
}

#[test]
fn the_public_view_counts_everything_and_names_no_target_label_or_case() {
    let w = Workflow::new(3, 2, 9);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    // A second warrant, never approved, for another target and case: every trustee refuses it
    // and logs the refusal.
    new_warrant(&w.dir, "OP-HIDDEN-CASE", "carol", "w2.json");
    let refused = w.retrieve("w2.json", "inv.key", "out2", &[]);
    assert!(!refused.status.success());
    let env = escrow_core::warrant::WarrantEnvelope::from_json(
        &std::fs::read_to_string(w.dir.join("w.json")).unwrap(),
    )
    .unwrap();
    let warrant_id = escrow_core::warrant::Warrant::parse(&env)
        .unwrap()
        .id()
        .to_string();

    // The full view (for comparison) and the public view, with the oversight key.
    let full = json(&audit(&w, &["--oversight-key", "oversight.key"]));
    let (o, v, html, text) = public_outputs(&w, &["--oversight-key", "oversight.key"]);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    for (name, out) in [
        ("json", v.to_string()),
        ("html", html.clone()),
        ("text", text.clone()),
    ] {
        for secret in [
            "alice",
            "bob",
            "carol",
            "OP-TEST",
            "OP-HIDDEN-CASE",
            warrant_id.as_str(),
            "m01-alice",
            "day 1",
        ] {
            assert!(
                !out.contains(secret),
                "{name} output names {secret:?}:\n{out}"
            );
        }
    }
    assert!(text.contains("public audit of trustee set"), "{text}");
    assert!(html.contains("public transparency report") && html.contains("<svg"));
    // The counts are right: those of the full view.
    assert_eq!(v["version"], 2);
    assert_eq!(v["view"], "public");
    assert_eq!(v["disclosures"], serde_json::json!([]));
    assert_eq!(v["messages_readable"], w.in_scope as u64, "{v:#}");
    assert_eq!(
        v["messages_readable"].as_u64().unwrap() as usize,
        full["readable"].as_array().unwrap().len()
    );
    let entries = full["releases"].as_array().unwrap().len() as u64;
    assert_eq!(v["release_entries"], entries);
    assert_eq!(v["unjustified_entries"], 0);
    let per_trustee: u64 = v["per_trustee"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["release_entries"].as_u64().unwrap())
        .sum();
    assert_eq!(per_trustee, entries);
    for t in full["trustees"].as_array().unwrap() {
        let i = t["trustee"].to_string();
        assert_eq!(
            v["per_trustee"][&i]["release_entries"], t["releases"],
            "{v:#}"
        );
        assert_eq!(v["per_trustee"][&i]["refusals"], t["refusals"], "{v:#}");
    }
    let refusals: u64 = full["refusals"].as_array().unwrap().len() as u64;
    assert!(refusals >= 1, "{full:#}");
    let by_reason: u64 = v["refusals_by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["entries"].as_u64().unwrap())
        .sum();
    assert_eq!(by_reason, refusals);
    assert_eq!(v["per_authority"], full["per_authority"]);
    assert_eq!(v["per_period"], full["per_period"]);
    // The warrant is shown by its digest and the salted digest of its case number, which
    // only the oversight key's salt reproduces.
    let pw = &v["warrants"][0];
    assert_eq!(pw["digest"], full["warrants"][0]["digest"]);
    assert_eq!(pw["messages_readable"], w.in_scope as u64);
    let key = escrow_core::keys::PrivateKey::from_pem(
        &std::fs::read_to_string(w.dir.join("oversight.key")).unwrap(),
    )
    .unwrap();
    let policy = escrow_core::warrant::Policy::from_json(
        &std::fs::read_to_string(w.dir.join("policy.json")).unwrap(),
    )
    .unwrap();
    let salt = escrow_core::audit::public::public_salt(&key, &policy.digest());
    let case = escrow_core::audit::public::case_digest(&salt, "OP-TEST");
    assert_eq!(pw["case"], serde_json::json!(case), "{v:#}");
    assert_ne!(
        case,
        escrow_core::audit::public::case_digest(&[0; 32], "OP-TEST")
    );

    // Without the oversight key (a citizen's audit), the warrant has no case digest, and still
    // no names. The citizen was shown no warrant, so no release is judged: that is said
    // (a warning per trustee, "not judged"), and none is counted unjustified; the logs are
    // clean, so the exit is 0 with the gap on stderr, and 1 with --require-all.
    let (o, v, html, text) = public_outputs(&w, &[]);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not judged"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(v["warrants"][0]["case"].is_null(), "{v:#}");
    assert_eq!(v["messages_unjustified"], 0, "{v:#}");
    assert_eq!(v["unjustified_entries"], 0, "{v:#}");
    assert!(text.contains("release-not-judged"), "{text}");
    assert!(!text.contains("unjustified-release"), "{text}");
    assert!(html.contains("release-not-judged"));
    for out in [v.to_string(), html, text] {
        assert!(!out.contains("alice") && !out.contains("OP-TEST"), "{out}");
    }
    let (o, v, _, _) = public_outputs(&w, &["--require-all"]);
    assert_eq!(o.status.code(), Some(1), "{v:#}");
}

/// The report an auditor can trust, item by item: every refusal is listed by reason code,
/// warrant digest and time (and grouped across trustees in the text); a trustee named as
/// cheating by the investigator's retrieval (`--receipts`, the `summary.json` beside it) is a
/// finding, in the grouped findings of `--json` too; exit 3.
#[test]
fn refusals_are_listed_by_reason_warrant_and_time_and_a_cheating_trustee_from_receipts_is_a_finding()
 {
    let mut w = Workflow::new(4, 2, 3);
    // Trustee 2 cheats: its shares fail their proofs; the investigator names it.
    let state = w.dir.join("node-2");
    w.nodes[1].stop();
    w.nodes[1] = escrow_e2e::Node::start_cheating(2, &state);
    let r = json(&w.retrieve("w.json", "inv.key", "out", &[]));
    assert_eq!(r["bad_share_trustees"], serde_json::json!([2]), "{r:#}");
    // A warrant never approved: every trustee refuses it and logs the refusal.
    new_warrant(&w.dir, "OP-2", "carol", "w2.json");
    assert!(
        !w.retrieve("w2.json", "inv.key", "out2", &[])
            .status
            .success()
    );
    let w2 = escrow_core::warrant::WarrantEnvelope::from_json(
        &std::fs::read_to_string(w.dir.join("w2.json")).unwrap(),
    )
    .unwrap()
    .digest();

    let o = audit(&w, &["--receipts", "out/receipts.jsonl"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(3), "{v:#}");
    // The cheating trustee is a finding, grouped.
    let cheat: Vec<_> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "cheating-trustee")
        .collect();
    assert_eq!(cheat.len(), 1, "{v:#}");
    assert_eq!(cheat[0]["trustee"], 2);
    assert_eq!(cheat[0]["severity"], "error");
    assert!(
        v["finding_groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["code"] == "cheating-trustee" && g["trustee"] == 2 && g["count"] == 1),
        "{v:#}"
    );
    // Every refusal: trustee, entry, time, reason code, warrant digest.
    let refusals = v["refusals"].as_array().unwrap();
    let of_w2: Vec<_> = refusals
        .iter()
        .filter(|r| r["warrant"] == serde_json::json!(w2))
        .collect();
    let mut trustees: Vec<u64> = of_w2
        .iter()
        .map(|r| r["trustee"].as_u64().unwrap())
        .collect();
    trustees.sort();
    trustees.dedup();
    assert!(trustees.len() >= 2, "refused by several trustees: {v:#}");
    for r in &of_w2 {
        assert_eq!(r["reason"], "missing-approval", "{r}");
        assert!(r["entry"].is_u64(), "{r}");
        escrow_core::time::Timestamp::parse(r["time"].as_str().unwrap()).unwrap();
    }
    assert!(
        v["refusals_by_reason"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["reason"] == "missing-approval" && c["entries"] == of_w2.len()),
        "{v:#}"
    );
    // The text: one line for that refusal across the four trustees, and the finding.
    let t = w.audit(
        false,
        &["--policy", "policy.json"],
        &["--receipts", "out/receipts.jsonl"],
    );
    assert_eq!(t.status.code(), Some(3));
    let text = String::from_utf8_lossy(&t.stdout).to_string();
    assert!(
        text.contains(&format!(
            "missing-approval warrant {}: {} entries at trustees {}, ",
            w2.short(),
            of_w2.len(),
            trustees
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        "{text}"
    );
    assert!(text.contains("[cheating-trustee] trustee 2"), "{text}");
}

fn envelope_digest(w: &Workflow, file: &str) -> escrow_core::codec::WarrantDigest {
    escrow_core::warrant::WarrantEnvelope::from_json(
        &std::fs::read_to_string(w.dir.join(file)).unwrap(),
    )
    .unwrap()
    .digest()
}

/// Optional unsealing: the oversight body signs a disclosure of a warrant (fetched from a node
/// with a request signed by its key); the public audit verifies it against the policy and the
/// logs and shows the warrant's text. A forged disclosure, one of a warrant no log names, and
/// one signed by a key that is not an oversight key are each refused or a finding.
#[test]
fn a_signed_disclosure_is_verified_against_the_logs_and_shown_and_a_forged_one_is_a_finding() {
    let w = Workflow::new(3, 2, 3);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    let d = envelope_digest(&w, "w.json").to_hex();
    let url = w.nodes[0].url();
    let disclose = |extra: &[&str]| {
        let mut args = vec![
            "--json",
            "oversight",
            "disclose",
            "--policy",
            "policy.json",
            "--statement",
            "investigation closed",
        ];
        args.extend_from_slice(extra);
        escrow(&w.dir, &args)
    };
    let o = disclose(&[
        "--oversight-key",
        "oversight.key",
        "--warrant-digest",
        &d,
        "--trustee",
        &url,
        "--out",
        "disclosure.json",
    ]);
    let r = json(&o);
    assert_eq!(o.status.code(), Some(0), "{r:#}");
    assert_eq!(r["warrant_digest"], d);

    // The public audit verifies it and shows the warrant's text, and only that warrant's.
    let (o, v, html, text) = public_outputs(&w, &["--disclosure", "disclosure.json"]);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    let shown = &v["disclosures"][0];
    assert_eq!(shown["warrant"], d, "{v:#}");
    assert_eq!(shown["case_reference"], "OP-TEST");
    assert_eq!(shown["statement"], "investigation closed");
    assert!(shown["scope"].as_str().unwrap().contains("alice"), "{v:#}");
    for out in [&html, &text] {
        assert!(
            out.contains("OP-TEST") && out.contains("investigation closed"),
            "{out}"
        );
    }

    // Forged: the statement changed after signing.
    let mut f: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.dir.join("disclosure.json")).unwrap())
            .unwrap();
    let payload = escrow_core::codec::b64_decode(f["payload"].as_str().unwrap()).unwrap();
    let mut p: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    p["statement"] = "nothing to see".into();
    f["payload"] = escrow_core::codec::b64_encode(p.to_string().as_bytes()).into();
    std::fs::write(w.dir.join("forged.json"), f.to_string()).unwrap();
    let o = audit(&w, &["--public", "--disclosure", "forged.json"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(3), "{v:#}");
    assert_eq!(v["disclosures"], serde_json::json!([]));
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["code"] == "bad-disclosure" && g["count"] == 1),
        "{v:#}"
    );
    let o = audit(&w, &["--disclosure", "forged.json"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(3), "{v:#}");
    let f = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "bad-disclosure")
        .unwrap()
        .clone();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("signature does not verify"),
        "{f}"
    );

    // A warrant that no audited log names (approved, never presented to a trustee).
    new_warrant(&w.dir, "OP-NEVER", "carol", "w3.json");
    ok(&escrow(
        &w.dir,
        &["warrant", "approve", "--key", "jc.key", "w3.json"],
    ));
    let d3 = envelope_digest(&w, "w3.json").to_hex();
    ok(&disclose(&[
        "--oversight-key",
        "oversight.key",
        "--warrant-digest",
        &d3,
        "--warrant",
        "w3.json",
        "--out",
        "unlogged.json",
    ]));
    let o = audit(&w, &["--disclosure", "unlogged.json"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(3), "{v:#}");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "bad-disclosure"
                && f["message"].as_str().unwrap().contains("in no audited log")),
        "{v:#}"
    );

    // Refused at the source: a key the policy does not name for oversight, a digest that is
    // not the warrant's.
    let o = disclose(&[
        "--oversight-key",
        "sos.key",
        "--warrant-digest",
        &d,
        "--warrant",
        "w.json",
        "--out",
        "by-sos.json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("does not name for oversight"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = disclose(&[
        "--oversight-key",
        "oversight.key",
        "--warrant-digest",
        &d3,
        "--warrant",
        "w.json",
        "--out",
        "wrong.json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    assert!(!w.dir.join("wrong.json").exists());
}

/// Oversight copies of cancellations: a cancellation entry carries the signed cancellation
/// sealed to the oversight key (entry encoding version 4), so the oversight view shows when,
/// by whom and why a warrant stopped — from the logs alone — and the public view does not.
#[test]
fn the_oversight_view_shows_why_a_warrant_was_cancelled_from_the_logs_alone() {
    let w = Workflow::new(3, 2, 3);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    let mut args = json_first(cancel_args(
        "sos.key",
        "w.json",
        &[
            "--reason",
            "target no longer of interest",
            "--out",
            "c.json",
        ],
    ));
    let urls = w.urls();
    for u in &urls {
        args.extend(["--trustee", u.as_str()]);
    }
    ok(&escrow(&w.dir, &args));
    // Each trustee's cancellation entry is version 4 and carries a copy.
    let node = escrow_client::NodeClient::new(&urls[0], &Default::default()).unwrap();
    let size = node.head().unwrap().size;
    let cancellations: Vec<Vec<u8>> = node
        .entries(0, size)
        .unwrap()
        .entries
        .iter()
        .filter(|e| e.entry.kind == EntryKind::Cancellation)
        .map(|e| escrow_core::codec::b64_decode(&e.bytes).unwrap())
        .collect();
    assert_eq!(cancellations.len(), 1);
    assert_eq!(cancellations[0][20], 4, "entry encoding version 4");
    assert!(
        LogEntry::from_bytes(&cancellations[0])
            .unwrap()
            .sealed
            .is_some()
    );

    // The oversight view, with no document but the logs: the reason is shown.
    let o = audit(&w, &["--oversight-key", "oversight.key"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    assert_eq!(v["oversight"]["cancellations_from_log"], 1, "{v:#}");
    let c = v["warrants"][0]["cancellation"].as_str().unwrap();
    assert!(
        c.contains("target no longer of interest") && c.contains("issuer"),
        "{c}"
    );
    assert_eq!(v["warrants"][0]["cancelled"], true);
    let mut ta = vec![
        "audit".to_string(),
        "--set".into(),
        "ts/trustee-set.json".into(),
        "--policy".into(),
        "policy.json".into(),
        "--oversight-key".into(),
        "oversight.key".into(),
        "--html".into(),
        "full.html".into(),
        "--html-view".into(),
        "full".into(),
    ];
    ta.extend(w.trustee_args());
    let t = ok(&escrow(
        &w.dir,
        &ta.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    assert!(t.contains("target no longer of interest"), "{t}");
    let html = std::fs::read_to_string(w.dir.join("full.html")).unwrap();
    assert!(html.contains("target no longer of interest"));
    // Without the key: cancelled, but not why. The public view never says why.
    let v = json(&audit(&w, &[]));
    assert_eq!(v["oversight"]["cancellations_from_log"], 0);
    assert!(v["warrants"][0]["cancellation"].is_null(), "{v:#}");
    let (_, v, html, text) = public_outputs(&w, &["--oversight-key", "oversight.key"]);
    assert_eq!(v["warrants"][0]["cancelled"], true, "{v:#}");
    for out in [v.to_string(), html, text] {
        assert!(!out.contains("no longer of interest"), "{out}");
    }
}
