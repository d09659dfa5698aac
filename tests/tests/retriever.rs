//! The retriever's checks (issue 11) and conveniences (issue 13), and the shared client over
//! HTTPS: trustees checked before anything is asked, mailbox ids that cannot escape --out,
//! --resume, --quiet, the trustees table, the trustees file, cancellation delivery, a closed
//! stdout, and `retrieve`/`audit` against nodes serving TLS with a self-signed certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use escrow_e2e::*;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn log_size(url: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(
        &ureq::get(&format!("{url}/v1/log/head"))
            .call()
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap(),
    )
    .unwrap();
    v["size"].as_u64().unwrap()
}

/// `escrow --json retrieve` of `w.json` with exactly these trustee arguments.
fn retrieve_with(
    w: &Workflow,
    set: &str,
    out: &str,
    trustees: &[String],
    extra: &[&str],
) -> Output {
    retrieve_w(&w.dir, set, out, trustees, extra)
}

fn escrow_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin("escrow"));
    c.args(args).current_dir(dir).stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn trustees_are_checked_before_any_release_request() {
    let w = Workflow::new(3, 2, 4);
    let urls = w.urls();
    let before: Vec<u64> = urls.iter().map(|u| log_size(u)).collect();
    let ts = "ts/trustee-set.json";

    // A duplicated URL (also with a trailing slash): usage error.
    let o = retrieve_with(
        &w,
        ts,
        "o1",
        &[urls[0].clone(), urls[1].clone(), urls[0].clone()],
        &[],
    );
    fails(&o, 2, "is given twice");
    let o = retrieve_with(
        &w,
        ts,
        "o1",
        &[urls[0].clone(), format!("{}/", urls[0])],
        &[],
    );
    fails(&o, 2, "is given twice");
    // Fewer than k URLs.
    let o = retrieve_with(&w, ts, "o2", &[urls[0].clone()], &[]);
    fails(&o, 2, "2 trustees are needed");
    // Two URLs that are the same trustee (localhost and 127.0.0.1).
    let alias = urls[0].replace("127.0.0.1", "localhost");
    let o = retrieve_with(
        &w,
        ts,
        "o3",
        &[urls[0].clone(), alias, urls[1].clone()],
        &[],
    );
    fails(&o, 2, "both answer as trustee 1");
    // Nodes of another trustee set.
    ok(&escrow(
        &w.dir,
        &[
            "setup",
            "--trustees",
            "3",
            "--threshold",
            "2",
            "--out",
            "other",
        ],
    ));
    let o = retrieve_with(&w, "other/trustee-set.json", "o4", &urls, &[]);
    fails(&o, 2, "a node of another trustee set");
    // Plain HTTP to a host that is not loopback: refused before any connection.
    let far = [
        "http://192.0.2.1:8080".to_string(),
        "http://192.0.2.2:8080".to_string(),
    ];
    let o = retrieve_with(&w, ts, "o5", &far, &[]);
    fails(&o, 2, "plain HTTP to a host that is not loopback");
    // None of these reached a trustee's log.
    let after: Vec<u64> = urls.iter().map(|u| log_size(u)).collect();
    assert_eq!(before, after);
    // No trustee at all: usage error naming the ways to give them.
    let o = retrieve_with(&w, ts, "o6", &[], &[]);
    fails(&o, 2, "ESCROW_TRUSTEES");
}

#[test]
fn mailbox_ids_cannot_escape_out_and_resume_quiet_and_the_trustees_table() {
    let w = Workflow::new(3, 2, 4);
    let urls = w.urls();
    let ts = "ts/trustee-set.json";
    // Two copies of sealed messages whose mailbox id is changed to escape --out.
    let mailbox = std::fs::read_to_string(w.dir.join("mailbox.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(mailbox.lines().next().unwrap()).unwrap();
    let abs = w.dir.join("abs");
    let mut evil = String::new();
    for id in ["../../x", abs.to_str().unwrap()] {
        let mut m = first.clone();
        m["id"] = serde_json::Value::from(id);
        evil.push_str(&format!("{m}\n"));
    }
    std::fs::write(w.dir.join("mailbox.jsonl"), format!("{mailbox}{evil}")).unwrap();

    let o = retrieve_with(&w, ts, "out/inner", &urls, &[]);
    ok(&o);
    let v = json(&o);
    assert_eq!(v["decrypted"], w.in_scope as u64, "{v}");
    let bad = v["unreadable_lines"].to_string();
    assert_eq!(
        v["unreadable_lines"].as_array().unwrap().len(),
        2,
        "both tampered lines refused: {bad}"
    );
    assert!(bad.contains("message id differs"), "{bad}");
    assert!(!w.dir.join("x.txt").exists() && !w.dir.parent().unwrap().join("x.txt").exists());
    assert!(!w.dir.join("abs.txt").exists() && !abs.exists());

    // The same --out again: refused unless --resume.
    let o = retrieve_with(&w, ts, "out/inner", &urls, &[]);
    fails(&o, 2, "--resume");
    // Lose one plaintext; --resume asks for that one only, --quiet prints no per-message line.
    let txt: Vec<_> = std::fs::read_dir(w.dir.join("out/inner"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    assert_eq!(txt.len(), w.in_scope);
    std::fs::remove_file(&txt[0]).unwrap();
    let receipts_before = std::fs::read_to_string(w.dir.join("out/inner/receipts.jsonl"))
        .unwrap()
        .lines()
        .count();
    let sizes: Vec<u64> = urls.iter().map(|u| log_size(u)).collect();
    let mut args = vec![
        "retrieve",
        "--warrant",
        "w.json",
        "--set",
        ts,
        "--key",
        "inv.key",
        "--mailbox",
        "mailbox.jsonl",
        "--out",
        "out/inner",
        "--resume",
        "--quiet",
    ];
    for u in &urls {
        args.extend(["--trustee", u.as_str()]);
    }
    let o = escrow(&w.dir, &args);
    let text = ok(&o);
    assert!(
        text.contains("1 decrypted")
            && text.contains(&format!("{} already written", w.in_scope - 1)),
        "{text}"
    );
    assert!(
        !text.contains("decrypted    "),
        "--quiet: no per-message lines\n{text}"
    );
    assert!(
        text.contains("released 1"),
        "the table says what each trustee did\n{text}"
    );
    assert!(txt[0].exists());
    for (u, s) in urls.iter().zip(&sizes) {
        assert_eq!(
            log_size(u),
            s + 1,
            "one release logged per trustee, not {}",
            w.in_scope
        );
    }
    let receipts_after = std::fs::read_to_string(w.dir.join("out/inner/receipts.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(
        receipts_after,
        receipts_before + urls.len(),
        "receipts appended"
    );

    // Every message: each trustee released some and refused the rest, with the code.
    let o = retrieve_with(&w, ts, "all", &urls, &["--all-messages"]);
    assert_eq!(o.status.code(), Some(3));
    let v = json(&o);
    for t in v["trustees"].as_array().unwrap() {
        assert_eq!(t["status"], "released-some", "{t}");
        assert!(t["refused"]["out-of-scope"].as_u64().unwrap() > 0, "{t}");
    }
}

#[test]
fn the_trustees_file_serves_retrieve_audit_and_cancel() {
    let w = Workflow::new(3, 2, 4);
    let urls = w.urls();
    let mut args = vec!["trustees", "add", "--file", "my-trustees.json"];
    args.extend(urls.iter().map(String::as_str));
    ok(&escrow(&w.dir, &args));
    // Adding one again is refused.
    fails(
        &escrow(
            &w.dir,
            &["trustees", "add", "--file", "my-trustees.json", &urls[0]],
        ),
        2,
        "already in",
    );
    let env = [("ESCROW_TRUSTEES", "my-trustees.json")];
    let args = retrieve_args(SET, "out", &[], &[]);
    let o = escrow_env(
        &w.dir,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &env,
    );
    ok(&o);
    assert_eq!(json(&o)["decrypted"], w.in_scope as u64);
    let o = escrow_env(
        &w.dir,
        &[
            "--json",
            "audit",
            "--set",
            "ts/trustee-set.json",
            "--policy",
            "policy.json",
        ],
        &env,
    );
    let v = json(&o);
    assert_eq!(v["trustees"].as_array().unwrap().len(), 3, "{v}");

    // The cancellation is delivered to every trustee and each answer reported.
    let o = escrow_env(
        &w.dir,
        &json_first(cancel_args("sos.key", "w.json", &["--out", "c.json"])),
        &env,
    );
    ok(&o);
    let v = json(&o);
    let rows = v["trustees"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{v}");
    assert!(rows.iter().all(|r| r["outcome"] == "cancelled"), "{v}");
    // A second delivery (by --trustee this time): already cancelled, nothing new logged.
    let mut args = json_first(cancel_args("sos.key", "w.json", &["--out", "c2.json"]));
    for u in &urls {
        args.extend(["--trustee", u.as_str()]);
    }
    let v = json(&ok_output(escrow(&w.dir, &args)));
    assert!(
        v["trustees"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "already-cancelled"),
        "{v}"
    );
    // The warrant is dead at every trustee.
    let o = retrieve_with(&w, "ts/trustee-set.json", "out2", &urls, &[]);
    fails(&o, 3, "cancelled");
}

fn ok_output(o: Output) -> Output {
    ok(&o);
    o
}

/// `escrow ARGS` in `dir` whose reader goes away before anything is written (as `| head -0`
/// would): no panic, exit 0.
fn ends_quietly_into_a_closed_pipe(dir: &Path, args: &[String], json_flag: bool) {
    let mut child = Command::new(bin("escrow"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(0), "json={json_flag}: {err}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let w = Workflow::new(3, 2, 4);
    for json_flag in [true, false] {
        let mut args = vec![];
        if json_flag {
            args.push("--json".to_string());
        }
        args.extend(
            [
                "audit",
                "--set",
                "ts/trustee-set.json",
                "--policy",
                "policy.json",
            ]
            .map(String::from),
        );
        args.extend(w.trustee_args());
        ends_quietly_into_a_closed_pipe(&w.dir, &args, json_flag);
    }
}

#[test]
fn open_into_a_closed_pipe_ends_quietly() {
    let w = Workflow::new(3, 2, 4);
    let help = String::from_utf8_lossy(&escrow(&w.dir, &["open", "--help"]).stdout).to_string();
    for json_flag in [true, false] {
        let mut args: Vec<String> = Vec::new();
        if json_flag {
            args.push("--json".into());
        }
        args.extend(
            open_args("bob.key", SET, "mailbox.jsonl", &[])
                .into_iter()
                .map(String::from),
        );
        // The recipient's label check, where this build has it.
        if help.contains("--received") {
            args.extend(
                [
                    "--to",
                    "bob",
                    "--from",
                    "alice",
                    "--received",
                    "2026-11-02T10:00:00Z",
                    "--tolerance",
                    "30d",
                ]
                .map(String::from),
            );
        }
        ends_quietly_into_a_closed_pipe(&w.dir, &args, json_flag);
    }
}

/// `escrow --json warrant cancel` of w.json, delivered to `urls` with `--ca-cert ca`.
fn cancel_over_https(w: &Workflow, out: &str, urls: &[String], ca: &str) -> Output {
    let mut args: Vec<String> = [
        "--json",
        "warrant",
        "cancel",
        "--key",
        "sos.key",
        "--warrant",
        "w.json",
        "--out",
        out,
        "--ca-cert",
        ca,
    ]
    .map(String::from)
    .to_vec();
    args.extend(trustee_flags(urls));
    escrow_owned(&w.dir, &args)
}

#[test]
fn retrieve_audit_and_cancel_speak_https_with_a_pinned_certificate_and_refuse_another() {
    if skip_without_openssl() {
        return;
    }
    let mut w = Workflow::new(3, 2, 4);
    let (cert, key) = tls::self_signed(&w.dir, "node");
    // A certificate no node presents: pinning it must not let any node through.
    let (other, _) = tls::self_signed(&w.dir, "other");
    let urls = w.serve_tls(&cert, &key);
    assert!(urls.iter().all(|u| u.starts_with("https://")));
    let ca = cert.to_str().unwrap();
    let retrieve = |out: &str, extra: &[&str]| retrieve_with(&w, SET, out, &urls, extra);

    // Without the pinned certificate: the node cannot be trusted, nothing is asked.
    let o = retrieve("out0", &["--attempts", "1"]);
    fails(&o, 1, "UnknownIssuer");
    // With it: the whole retrieval over HTTPS.
    let o = retrieve("out", &["--ca-cert", ca]);
    ok(&o);
    assert_eq!(json(&o)["decrypted"], w.in_scope as u64);
    // The auditor over HTTPS: every log fetched and verified.
    let v = json(&w.audit(true, &["--policy", "policy.json", "--ca-cert", ca], &[]));
    let ts = v["trustees"].as_array().unwrap();
    assert_eq!(ts.len(), 3, "{v}");
    assert!(
        ts.iter()
            .all(|t| t["log_ok"] == true && t["entries"].as_u64() > Some(1)),
        "{v}"
    );

    // Another CA pinned: refused before anything is asked, the node named with the reason.
    let other = other.to_str().unwrap();
    let o = retrieve("out-other", &["--attempts", "1", "--ca-cert", other]);
    let text = fails(&o, 1, "not signed by a trusted CA");
    assert!(text.contains(&urls[0]), "{text}");
    // The cancellation under the wrong CA: delivered nowhere, every trustee named as failed
    // with the reason; exit 1.
    let o = cancel_over_https(&w, "c-other.json", &urls, other);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    let rows = v["trustees"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{v}");
    for (r, u) in rows.iter().zip(&urls) {
        assert_eq!(r["outcome"], "failed", "{v}");
        assert_eq!(r["url"], u.as_str(), "{v}");
        let e = r["error"].as_str().unwrap();
        assert!(
            e.contains(u.as_str()) && e.contains("not signed by a trusted CA"),
            "{e}"
        );
    }
    // Under the pinned certificate: delivered to every trustee, each answer reported, and the
    // warrant is dead over HTTPS too.
    let v = json(&ok_output(cancel_over_https(&w, "c-tls.json", &urls, ca)));
    let rows = v["trustees"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{v}");
    assert!(rows.iter().all(|r| r["outcome"] == "cancelled"), "{v}");
    let o = retrieve("out-after", &["--ca-cert", ca]);
    fails(&o, 3, "cancelled");
}
