//! `escrow audit` against real trustee nodes: honest logs audit clean and every receipt is
//! proved included; a log rewritten behind the node's back (consistently, as a malicious
//! operator would: entries, leaf hashes, tree heads and counters all recomputed, so the node's
//! own start-up check passes) is caught by the checkpoint the auditor saved on an earlier run,
//! naming the trustee and the entry; a log rolled back and grown differently fails the
//! consistency check; a release without a covering warrant is reported unjustified.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_core::audit::{EntryKind, Frontier, LogEntry, leaf_hash};
use escrow_core::codec::{CiphertextDigest, Digest32, KeyId, WarrantDigest};
use escrow_core::keys::PrivateKey;
use escrow_core::time::Timestamp;
use escrow_core::warrant::{Role, WarrantEnvelope, WarrantPayload};
use escrow_e2e::{POLICY_AND_OVERSIGHT, Workflow, audit_at, json, ok};
use std::path::Path;
use std::process::Output;

fn audit(w: &Workflow, state: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "--policy",
        "policy.json",
        "--state",
        state,
        "--oversight-key",
        "oversight.key",
    ];
    args.extend_from_slice(extra);
    audit_with(w, &args)
}

/// `escrow --json audit --set ts/trustee-set.json ARGS --trustee URL…`.
fn audit_with(w: &Workflow, args: &[&str]) -> Output {
    w.audit(true, args, &[])
}

fn findings(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["findings"].as_array().unwrap().clone()
}

fn has_finding(v: &serde_json::Value, code: &str, trustee: u16, entry: Option<u64>) -> bool {
    findings(v).iter().any(|f| {
        f["code"] == code
            && f["trustee"] == trustee
            && entry.is_none_or(|e| f["entry"] == serde_json::json!(e))
    })
}

/// Rewrite a stopped node's log as a malicious operator who knows the schema would: drop the
/// append-only triggers, rewrite the entries (renumbered), their leaf hashes, one tree head
/// for the new size, the release counters and the warrant rows' entry numbers, and remove the
/// signed checkpoint, so that the node starts on it with `--accept-unanchored-log`
/// ([`escrow_e2e::Node::restart_unanchored`]) and serves it.
/// Append to `e` what a node writes when it releases under the warrant `forged`: the warrant
/// seen, then one release of some ciphertext to some investigator.
fn push_release_under(e: &mut Vec<LogEntry>, forged: WarrantDigest) {
    let t = e.last().unwrap().time;
    let investigator = KeyId::from_bytes(Digest32::sha256(b"some investigator").0);
    e.push(LogEntry::warrant_seen(0, t, forged, investigator));
    e.push(LogEntry::release(
        0,
        t,
        forged,
        CiphertextDigest::from_bytes(*Digest32::sha256(b"some ciphertext").as_bytes()),
        Digest32::sha256(b"some share"),
        investigator,
    ));
}

fn rewrite_log(state: &Path, f: impl FnOnce(&mut Vec<LogEntry>)) {
    let conn = rusqlite::Connection::open(state.join("log.db")).unwrap();
    conn.execute_batch(
        "PRAGMA foreign_keys=OFF;
         DROP TRIGGER log_entries_no_update; DROP TRIGGER log_entries_no_delete;
         DROP TRIGGER tree_heads_no_update; DROP TRIGGER tree_heads_no_delete;
         DROP TRIGGER releases_no_update; DROP TRIGGER releases_no_delete;
         DROP TRIGGER IF EXISTS warrants_no_update;",
    )
    .unwrap();
    let _ = std::fs::remove_file(state.join("checkpoint"));
    let mut entries: Vec<LogEntry> = {
        let mut st = conn
            .prepare("SELECT entry FROM log_entries ORDER BY seq")
            .unwrap();
        st.query_map([], |r| r.get::<_, Vec<u8>>(0))
            .unwrap()
            .map(|b| LogEntry::from_bytes(&b.unwrap()).unwrap())
            .collect()
    };
    f(&mut entries);
    let ids: std::collections::HashMap<Vec<u8>, String> = {
        let mut st = conn
            .prepare("SELECT digest, warrant_id FROM warrants")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|x| x.unwrap())
            .collect()
    };
    conn.execute_batch("DELETE FROM log_entries; DELETE FROM tree_heads; DELETE FROM releases;")
        .unwrap();
    let mut frontier = Frontier::new();
    let mut counted = std::collections::HashSet::new();
    for (i, e) in entries.iter_mut().enumerate() {
        e.sequence = i as u64;
        let bytes = e.to_bytes();
        let lh = leaf_hash(&bytes);
        frontier.push(lh);
        conn.execute(
            "INSERT INTO log_entries (seq, kind, time, entry, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            rusqlite::params![i as i64, e.kind.as_str(), e.time.unix(), bytes, lh.as_bytes().to_vec()],
        )
        .unwrap();
        if e.kind == EntryKind::Release {
            let w = e.warrant.unwrap().as_bytes().to_vec();
            let ct = e.ciphertexts[0].as_bytes().to_vec();
            let id = ids[&w].clone();
            if counted.insert((id.clone(), ct.clone())) {
                conn.execute(
                    "INSERT INTO releases (warrant_id, ciphertext, first_seq) VALUES (?1, ?2, ?3)",
                    rusqlite::params![id, ct, i as i64],
                )
                .unwrap();
            }
        }
    }
    conn.execute(
        "INSERT INTO tree_heads (size, root, time) VALUES (?1, ?2, ?3)",
        rusqlite::params![
            frontier.size() as i64,
            frontier.root().as_bytes().to_vec(),
            0i64
        ],
    )
    .unwrap();
    for w in ids.keys() {
        if let Some(i) = entries.iter().position(|e| {
            e.kind == EntryKind::WarrantSeen && e.warrant.unwrap().as_bytes() == w.as_slice()
        }) {
            conn.execute(
                "UPDATE warrants SET first_seq = ?1 WHERE digest = ?2",
                rusqlite::params![i as i64, w],
            )
            .unwrap();
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn restore(backup: &Path, state: &Path) {
    for e in std::fs::read_dir(state).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    copy_dir(backup, state);
}

#[test]
fn honest_logs_audit_clean_and_every_receipt_is_proved_included() {
    let w = Workflow::new(3, 2, 3);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    let o = audit(
        &w,
        "auditor",
        &["--receipts", "out/receipts.jsonl", "--html", "report.html"],
    );
    let v = json(&o);
    assert!(o.status.success(), "{v:#}");
    assert!(findings(&v).is_empty(), "{v:#}");
    assert_eq!(v["readable"].as_array().unwrap().len(), w.in_scope);
    assert!(
        v["receipts_checked"].as_u64().unwrap() >= (w.in_scope * 2) as u64,
        "{v:#}"
    );
    assert_eq!(v["warrants"][0]["messages_readable"], w.in_scope);
    let html = std::fs::read_to_string(w.dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("transparency report"));
    assert!(
        !html.contains("http://") || !html.contains("<link"),
        "self-contained"
    );
    // every trustee's key is pinned, and a second run is consistent with the first
    let v2 = json(&audit(&w, "auditor", &[]));
    assert!(findings(&v2).is_empty(), "{v2:#}");
    assert!(v2["trustees"].as_array().unwrap().iter().all(
        |t| t["key_pinned_now"] == false && t["previous_checkpoint"]["size"].as_u64().is_some()
    ));
    // the text report names what became readable
    let text = ok(&audit_at(
        &w.dir,
        false,
        POLICY_AND_OVERSIGHT,
        &[w.nodes[0].url(), w.nodes[1].url()],
        &[],
    ));
    assert!(
        text.contains("READABLE") && text.contains("unjustified releases: 0"),
        "{text}"
    );
}

/// `escrow audit --receipts` with neither the oversight key nor the warrant (the receipts are
/// all the auditor has): every honest receipt's inclusion proof still verifies. The release
/// entries carry oversight copies the auditor cannot open; the proof is of the entry as
/// logged, not of what the auditor keeps of it.
#[test]
fn receipts_prove_included_without_the_oversight_key_or_the_warrant() {
    let w = Workflow::new(3, 2, 2);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    let v = json(&audit_with(&w, &["--receipts", "out/receipts.jsonl"]));
    let not_in_log: Vec<_> = findings(&v)
        .into_iter()
        .filter(|f| f["code"] == "receipt-not-in-log")
        .collect();
    assert!(not_in_log.is_empty(), "{not_in_log:#?}");
    assert!(
        v["receipts_checked"].as_u64().unwrap() >= (w.in_scope * 2) as u64,
        "{v:#}"
    );
    // Without the warrant (and no --policy), the releases cannot be judged, and are said to
    // be not judged: a warning, not an unjustified release.
    assert!(
        findings(&v)
            .iter()
            .all(|f| f["code"] == "release-not-judged" && f["severity"] == "warning"),
        "{v:#}"
    );
    assert!(has_finding(&v, "release-not-judged", 1, None), "{v:#}");
}

#[test]
fn a_changed_deleted_reordered_or_inserted_entry_is_named_by_trustee_and_entry() {
    let mut w = Workflow::new(3, 2, 2);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    // The auditor's first run: checkpoints and leaves saved.
    let first = audit(&w, "auditor", &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let node = 1usize; // trustee 2
    w.nodes[node].stop();
    let state = w.nodes[node].state.clone();
    let backup = w.dir.join("node-2-backup");
    copy_dir(&state, &backup);
    type Tamper = fn(&mut Vec<LogEntry>);
    let cases: [(&str, Tamper, u64); 4] = [
        ("change", |e| e[2].time = Timestamp(e[2].time.unix() + 1), 2),
        // (entry 1 is the warrant-seen entry, which the node's own check ties to its row)
        ("delete", |e| drop(e.remove(2)), 2),
        ("reorder", |e| e.swap(2, 3), 2),
        (
            "insert",
            |e| {
                let t = e[1].time;
                e.insert(1, LogEntry::refusal(0, t, None, vec![], "malformed"));
            },
            1,
        ),
    ];
    for (name, tamper, at) in cases {
        restore(&backup, &state);
        rewrite_log(&state, tamper);
        // the node accepts the consistently rewritten log and signs checkpoints over it
        w.nodes[node].restart_unanchored();
        let o = audit(&w, "auditor", &[]);
        let v = json(&o);
        assert_eq!(o.status.code(), Some(3), "{name}: {v:#}");
        assert!(
            has_finding(&v, "entry-changed", 2, Some(at)),
            "{name}: {v:#}"
        );
        assert!(
            has_finding(&v, "log-forked", 2, None) || has_finding(&v, "log-rolled-back", 2, None),
            "{name}: {v:#}"
        );
        // the other trustees are fine
        assert!(
            findings(&v).iter().all(|f| f["trustee"] == 2),
            "{name}: {v:#}"
        );
        w.nodes[node].stop();
    }
}

#[test]
fn a_log_rolled_back_and_grown_differently_fails_the_consistency_check() {
    let mut w = Workflow::new(3, 2, 2);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    assert!(audit(&w, "auditor", &[]).status.success());
    let node = 2usize; // trustee 3
    // someone else (a witness, another auditor) keeps the checkpoint they were shown
    let note = ureq::get(&format!("{}/v1/log/checkpoint", w.nodes[node].url()))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    std::fs::write(w.dir.join("seen.note"), &note).unwrap();
    w.nodes[node].stop();
    let state = w.nodes[node].state.clone();
    rewrite_log(&state, |e| {
        let n = e.len();
        let t = e[n - 1].time;
        e.truncate(n - 2);
        for _ in 0..4 {
            e.push(LogEntry::refusal(0, t, None, vec![], "malformed"));
        }
    });
    w.nodes[node].restart_unanchored();
    let v = json(&audit(&w, "auditor", &[]));
    assert!(has_finding(&v, "log-forked", 3, None), "{v:#}");
    let msg = findings(&v)
        .iter()
        .find(|f| f["code"] == "log-forked")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("trustee 3"), "{msg}");
    // an auditor with no memory of its own catches it from the checkpoint someone else kept
    let v = json(&audit(&w, "fresh-auditor", &["--checkpoint", "seen.note"]));
    assert!(has_finding(&v, "split-view", 3, None), "{v:#}");
    assert!(
        findings(&v).iter().all(|f| f["code"] == "split-view"),
        "{v:#}"
    );
}

/// In the stopped node's log at `state`: a release under a warrant no authority of the policy
/// signed (the investigator of `dir` signs a copy of `w.json` as "issuer", id `w-secret`), the
/// warrant stored as the node stores one it has seen. The index of the release entry.
fn release_under_a_forged_warrant(dir: &Path, state: &Path) -> u64 {
    let real =
        WarrantEnvelope::from_json(&std::fs::read_to_string(dir.join("w.json")).unwrap()).unwrap();
    let mut payload: WarrantPayload = serde_json::from_slice(&real.envelope().payload).unwrap();
    payload.warrant_id = "w-secret".into();
    let key = PrivateKey::from_pem(&std::fs::read_to_string(dir.join("inv.key")).unwrap()).unwrap();
    let env = WarrantEnvelope::sign_new(&payload, &key, Role::Issuer).unwrap();
    let forged = env.digest();
    {
        let conn = rusqlite::Connection::open(state.join("log.db")).unwrap();
        conn.execute(
            "INSERT INTO warrants (digest, warrant_id, envelope, first_seq) VALUES (?1, 'w-secret', ?2, 0)",
            rusqlite::params![forged.as_bytes().to_vec(), env.to_json()],
        )
        .unwrap();
    }
    let mut index = 0u64;
    rewrite_log(state, |e| {
        push_release_under(e, forged);
        index = (e.len() - 1) as u64;
    });
    index
}

#[test]
fn a_release_without_a_covering_warrant_is_reported_unjustified() {
    let mut w = Workflow::new(3, 2, 2);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    let node = 0usize; // trustee 1
    w.nodes[node].stop();
    let state = w.nodes[node].state.clone();
    let index = release_under_a_forged_warrant(&w.dir, &state);
    w.nodes[node].restart_unanchored();
    let o = audit(
        &w,
        "auditor",
        &["--html", "report.html", "--html-view", "full"],
    );
    let v = json(&o);
    assert_eq!(o.status.code(), Some(3), "{v:#}");
    assert!(
        has_finding(&v, "unjustified-release", 1, Some(index)),
        "{v:#}"
    );
    let html = std::fs::read_to_string(w.dir.join("report.html")).unwrap();
    assert!(html.contains("NOT JUSTIFIED") && html.contains("unjustified-release"));
    let said = findings(&v)[0]["message"].as_str().unwrap().to_string();
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    assert!(html.contains(&esc(&said)), "{said}");
    // the page the auditor's own run wrote is the full one, kept private
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(w.dir.join("report.html"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "full page mode {mode:o}");
    // the default page is the public summary: the finding is counted, the entry not shown
    let o = audit(&w, "auditor", &["--html", "public.html"]);
    assert_eq!(o.status.code(), Some(3));
    let html = std::fs::read_to_string(w.dir.join("public.html")).unwrap();
    assert!(html.contains("public transparency report"), "{html}");
    assert!(html.contains("messages released without justification"));
    let said = findings(&v)[0]["message"].as_str().unwrap().to_string();
    assert!(!html.contains(&esc(&said)) && !html.contains("scope re-checked from the logs"));
    // --public and a full page contradict each other: a usage error, before any work
    let o = audit(
        &w,
        "auditor",
        &["--public", "--html", "x.html", "--html-view", "full"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!w.dir.join("x.html").exists());
    // the logs themselves are intact (the auditor had no earlier checkpoint)
    assert!(
        findings(&v)
            .iter()
            .all(|f| f["code"] == "unjustified-release"),
        "{v:#}"
    );
}

/// A minimal independent auditor, written against the public library API only: fetch each
/// log with the node client (`escrow_client::NodeClient`), check it with
/// `audit::judge::LogCheck`, judge it with `audit::judge::Judge`. `memory` is its own record of
/// what it saw (checkpoint and leaves per trustee), updated only for logs that checked out, as
/// `escrow audit --state` does.
mod mini {
    use escrow_client::{ClientConfig, NodeClient};
    use escrow_core::audit::judge::{Documents, Finding, Judge, LogCheck, check_consistency};
    use escrow_core::audit::{TreeHead, verify_checkpoint};
    use escrow_core::codec::Digest32;
    use escrow_core::trustee::TrusteeSet;
    use escrow_core::warrant::{CancellationEnvelope, Policy, WarrantEnvelope};
    use std::collections::HashMap;

    pub type Memory = HashMap<u16, (TreeHead, Vec<Digest32>)>;

    pub fn audit(
        set: &TrusteeSet,
        policy: &Policy,
        urls: &[String],
        memory: &mut Memory,
        oversight: &escrow_core::keys::PrivateKey,
    ) -> Vec<Finding> {
        let mut judge = Judge::new(set, Some(policy.clone()));
        let mut findings = Vec::new();
        let mut clients = HashMap::new();
        for url in urls {
            let node = NodeClient::new(url, &ClientConfig::default()).unwrap();
            let info = node.info().unwrap();
            let t = info.trustee;
            let head = verify_checkpoint(&node.checkpoint().unwrap(), &info.log_key)
                .unwrap()
                .head;
            let (old, old_leaves) = memory.get(&t).cloned().unzip();
            let mut check = LogCheck::new(t, head, old.map_or(0, |o| o.size));
            if let Some(old) = old {
                let proof = node
                    .consistency(old.size.min(head.size), head.size)
                    .unwrap()
                    .proof;
                if let Some(f) = check_consistency(t, &old, &head, &proof) {
                    check.fail(f);
                }
            }
            let mut leaves = Vec::new();
            while check.remaining() > 0 {
                let start = check.next_index();
                node.entries_streamed(start, head.size, &mut |e| {
                    let i = check.next_index() as usize;
                    let earlier = old_leaves.as_ref().and_then(|l| l.get(i).copied());
                    let (leaf, entry) = check.push(&e.bytes, e.leaf_hash, earlier);
                    leaves.push(leaf);
                    if let Some(entry) = entry {
                        judge.add(t, entry);
                    }
                })
                .unwrap();
                if check.next_index() == start {
                    check.missing();
                    break;
                }
            }
            let v = check.finish(old_leaves.is_some());
            if v.ok {
                memory.insert(t, (head, leaves));
            }
            findings.extend(v.findings);
            clients.insert(t, node);
        }
        let mut docs = Documents::default();
        // The nodes serve warrant text only to a signed request by the policy's oversight key.
        for (t, d) in judge.wanted() {
            if let Some(text) = clients[&t].envelope(&d, oversight).unwrap() {
                if let Ok(env) = WarrantEnvelope::from_json(&text) {
                    docs.add_warrant(env);
                } else if let Ok(env) = CancellationEnvelope::from_json(&text) {
                    docs.add_cancellation(env);
                }
            }
        }
        findings.extend(judge.judge(&docs).findings);
        findings
    }
}

fn finding_keys(v: &serde_json::Value) -> std::collections::BTreeSet<(String, u64, Option<u64>)> {
    findings(v)
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["trustee"].as_u64().unwrap(),
                f["entry"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn an_independent_auditor_on_the_library_finds_what_escrow_audit_finds() {
    use escrow_core::trustee::TrusteeSet;
    use escrow_core::warrant::Policy;
    let mut w = Workflow::new(3, 2, 2);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    let set =
        TrusteeSet::from_json(&std::fs::read_to_string(w.dir.join("ts/trustee-set.json")).unwrap())
            .unwrap();
    let policy =
        Policy::from_json(&std::fs::read_to_string(w.dir.join("policy.json")).unwrap()).unwrap();
    let urls = w.urls();
    let mut memory = mini::Memory::new();
    // First runs: both remember the logs.
    let oversight = escrow_core::keys::PrivateKey::from_pem(
        &std::fs::read_to_string(w.dir.join("oversight.key")).unwrap(),
    )
    .unwrap();
    assert!(mini::audit(&set, &policy, &urls, &mut memory, &oversight).is_empty());
    assert!(audit(&w, "auditor", &[]).status.success());

    // Trustee 2's log is rewritten (entry 2 changed); trustee 1 logs a release under a warrant
    // no authority of the policy signed.
    w.nodes[1].stop();
    rewrite_log(&w.nodes[1].state.clone(), |e| {
        e[2].time = Timestamp(e[2].time.unix() + 1)
    });
    w.nodes[1].restart_unanchored();
    w.nodes[0].stop();
    release_under_a_forged_warrant(&w.dir, &w.nodes[0].state);
    w.nodes[0].restart_unanchored();
    let urls = w.urls();

    let mine: std::collections::BTreeSet<(String, u64, Option<u64>)> =
        mini::audit(&set, &policy, &urls, &mut memory, &oversight)
            .iter()
            .map(|f| {
                (
                    f.code.code().to_string(),
                    u64::from(f.trustee.unwrap()),
                    f.entry,
                )
            })
            .collect();
    let o = audit(&w, "auditor", &[]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(3), "{v:#}");
    assert_eq!(mine, finding_keys(&v), "{v:#}");
    assert!(
        mine.contains(&("entry-changed".into(), 2, Some(2))),
        "{mine:?}"
    );
    assert!(
        mine.iter()
            .any(|(c, t, _)| c == "unjustified-release" && *t == 1),
        "{mine:?}"
    );
}

#[test]
fn a_trustee_down_is_not_audited_and_the_counts_are_lower_bounds() {
    let mut w = Workflow::new(3, 2, 2);
    ok(&w.retrieve("w.json", "inv.key", "out", &[]));
    w.nodes[2].stop(); // trustee 3
    let o = audit(
        &w,
        "auditor",
        &["--html", "report.html", "--html-view", "full"],
    );
    let v = json(&o);
    // nothing wrong was found in what could be read: exit 0, with the gap said on stderr
    assert_eq!(o.status.code(), Some(0), "{v:#}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 of 3 logs audited"));
    assert!(findings(&v).is_empty(), "{v:#}");
    assert_eq!(v["logs_audited"], 2);
    assert_eq!(v["lower_bounds"], true);
    let t3 = &v["trustees"][2];
    assert_eq!(t3["status"], "not-audited", "{v:#}");
    assert!(
        t3["not_audited"].as_str().unwrap().contains("unreachable"),
        "{v:#}"
    );
    let html = std::fs::read_to_string(w.dir.join("report.html")).unwrap();
    assert!(html.contains("2 of 3 logs audited"), "lower bound banner");
    assert!(html.contains("not audited") && !html.contains(">FAILED<"));
    assert!(!html.contains("None: every log verified"));
    // the public summary (the default page) carries the same banner
    ok(&audit(&w, "auditor", &["--html", "public.html"]));
    let html = std::fs::read_to_string(w.dir.join("public.html")).unwrap();
    assert!(html.contains("2 of 3 logs audited") && html.contains("lower bound"));
    // the text report says the same
    let text = ok(&w.audit(false, POLICY_AND_OVERSIGHT, &[]));
    assert!(
        text.contains("logs: 2 of 3 audited") && text.contains("LOWER BOUND"),
        "{text}"
    );
    assert!(
        text.contains("NOT AUDITED") && text.contains("READABLE"),
        "{text}"
    );
    assert!(text.contains("at least"), "{text}");
    // --require-all: a partial audit is an error
    let o = audit(&w, "auditor", &["--require-all"]);
    assert_eq!(o.status.code(), Some(1));
    // nothing reachable: could not audit
    w.nodes[0].stop();
    w.nodes[1].stop();
    let o = audit(&w, "auditor", &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("could not audit"));
}
