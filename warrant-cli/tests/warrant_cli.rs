//! `escrow policy` and `escrow warrant` as a user runs them: the real binary, temporary
//! directories, exit codes, text and JSON output — and interoperability with the `openssl`
//! command line in both directions.

// Tests may unwrap, panic and index (the workspace denies these in library code).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use escrow_core::codec::{b64_decode, b64_encode};
use escrow_testkit::{cancel_args, json_first, policy_init_args, warrant_new_args};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FROM: &str = "2026-11-01T00:00:00Z";
const UNTIL: &str = "2026-12-01T00:00:00Z";
const NB: &str = "2026-11-20T00:00:00Z";
const AT: &str = "2026-11-22T09:00:00Z";

fn run(dir: &Path, args: &[&str]) -> Output {
    escrow_testkit::escrow(dir, args)
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run and expect success; return stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(o.status.success(), "escrow {args:?} failed:\n{}", text(&o));
    String::from_utf8(o.stdout).unwrap()
}

/// Run with `--json` and expect success; return the one JSON object.
fn ok_json(dir: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let out = ok(dir, &a);
    assert_eq!(
        out.trim().lines().count(),
        1,
        "one JSON object expected: {out}"
    );
    serde_json::from_str(out.trim()).unwrap()
}

/// Run and expect exit code `code` with `needle` on stderr.
fn fails(dir: &Path, code: i32, needle: &str, args: &[&str]) -> Output {
    let o = run(dir, args);
    assert_eq!(
        o.status.code(),
        Some(code),
        "escrow {args:?}:\n{}",
        text(&o)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(needle),
        "escrow {args:?}: expected {needle:?} on stderr:\n{}",
        text(&o)
    );
    o
}

/// A refusal: exit code 3, `escrow: refused: <code>: ...`.
fn refused(dir: &Path, code: &str, args: &[&str]) {
    fails(dir, 3, &format!("refused: {code}: "), args);
}

/// `escrow warrant verify --policy POLICY --at AT`, then `tail` (options, and the warrant).
fn verify<'a>(policy: &'a str, at: &'a str, tail: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["warrant", "verify", "--policy", policy, "--at", at];
    args.extend_from_slice(tail);
    args
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for k in ["sos", "sos2", "jc", "inv", "foreign"] {
            ok(dir.path(), &["keygen", "--no-passphrase", "--out", k]);
        }
        ok(
            dir.path(),
            &policy_init_args(&["--issuer", "sos2.pub"], "policy.json"),
        );
        Setup { dir }
    }

    fn p(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `escrow warrant new` with sensible defaults plus `extra` arguments.
    fn issue(&self, out: &str, extra: &[&str]) -> Value {
        let mut args = warrant_new_args(
            "sos.key",
            "OP-TEAPOT",
            "alice",
            (FROM, UNTIL),
            "inv.pub",
            out,
        );
        args.extend(["--not-before", NB, "--warrant-id", "w-0001"]);
        args.extend_from_slice(extra);
        ok_json(self.p(), &args)
    }

    fn approve(&self, file: &str) {
        ok(self.p(), &["warrant", "approve", "--key", "jc.key", file]);
    }

    fn verify_args<'a>(&self, file: &'a str) -> Vec<&'a str> {
        verify("policy.json", AT, &[file])
    }

    fn read_json(&self, name: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.path(name)).unwrap()).unwrap()
    }

    fn write_json(&self, name: &str, v: &Value) {
        std::fs::write(self.path(name), serde_json::to_string_pretty(v).unwrap()).unwrap();
    }
}

#[test]
fn issue_approve_verify_cancel() {
    let s = Setup::new();
    let issued = s.issue("w.json", &["--max-releases", "10"]);
    assert_eq!(issued["ok"], true);
    assert_eq!(issued["warrant_id"], "w-0001");
    assert_eq!(issued["signatures"].as_array().unwrap().len(), 1);
    assert_eq!(issued["signatures"][0]["role"], "issuer");

    // Issued but not approved: the double lock is open.
    refused(s.p(), "missing-approval", &s.verify_args("w.json"));

    s.approve("w.json");
    let out = ok(s.p(), &s.verify_args("w.json"));
    assert!(out.starts_with("valid\n"), "{out}");
    assert!(out.contains("OP-TEAPOT"), "{out}");
    let v = ok_json(s.p(), &s.verify_args("w.json"));
    assert_eq!(v["valid"], true);
    assert_eq!(v["warrant_id"], "w-0001");
    assert_eq!(
        v["digest"], issued["digest"],
        "approval must not change the digest"
    );
    assert_eq!(v["checked_at"], AT);
    assert_eq!(v["signers"][0]["role"], "issuer");
    assert_eq!(v["signers"][1]["role"], "judicial");
    assert_eq!(v["signers"][1]["name"], "jc");
    assert_eq!(v["payload"]["scope"]["targets"][0], "alice");
    assert_eq!(v["payload"]["max_releases"], 10);

    let shown = ok_json(s.p(), &["warrant", "show", "w.json"]);
    assert_eq!(shown["verified"], false);
    assert_eq!(shown["payload"]["case_reference"], "OP-TEAPOT");
    assert_eq!(shown["signatures"].as_array().unwrap().len(), 2);
    let shown_text = ok(s.p(), &["warrant", "show", "w.json"]);
    assert!(shown_text.contains("NOT VERIFIED"), "{shown_text}");

    // Approving twice with the same key is refused; the file is unchanged.
    let before = std::fs::read(s.path("w.json")).unwrap();
    fails(
        s.p(),
        1,
        "already signed",
        &["warrant", "approve", "--key", "jc.key", "w.json"],
    );
    assert_eq!(std::fs::read(s.path("w.json")).unwrap(), before);

    // Time.
    for (at, code) in [
        ("2030-01-01T00:00:00Z", "expired"),
        ("2026-11-19T00:00:00Z", "not-yet-valid"),
    ] {
        refused(s.p(), code, &verify("policy.json", at, &["w.json"]));
    }

    // Cancellation.
    let c = ok_json(
        s.p(),
        &cancel_args(
            "sos.key",
            "w.json",
            &["--reason", "s.39", "--at", AT, "--out", "c.json"],
        ),
    );
    assert_eq!(c["warrant_id"], "w-0001");
    assert_eq!(c["warrant_digest"], issued["digest"]);
    let cancelled = verify("policy.json", AT, &["--cancellation", "c.json", "w.json"]);
    refused(s.p(), "cancelled", &cancelled);
    // The JSON error object carries the reason code.
    let o = run(s.p(), &json_first(cancelled));
    assert_eq!(o.status.code(), Some(3));
    let e: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["ok"], false);
    assert_eq!(e["refused"], true);
    assert!(
        e["error"].as_str().unwrap().starts_with("cancelled: "),
        "{e}"
    );

    // A cancellation signed by a key outside the policy is an error, not silently ignored.
    ok(
        s.p(),
        &cancel_args("foreign.key", "w.json", &["--out", "c2.json"]),
    );
    fails(
        s.p(),
        1,
        "unknown-authority",
        &verify("policy.json", AT, &["--cancellation", "c2.json", "w.json"]),
    );
    // Refuses to overwrite.
    fails(
        s.p(),
        1,
        "already exists",
        &cancel_args("sos.key", "w.json", &["--out", "c.json"]),
    );
}

#[test]
fn each_cli_refusal_names_its_code() {
    let s = Setup::new();

    // validity-too-long: normal and urgent.
    s.issue("long.json", &["--not-after", "2027-06-01T00:00:00Z"]);
    s.approve("long.json");
    refused(s.p(), "validity-too-long", &s.verify_args("long.json"));
    s.issue(
        "urgent.json",
        &["--urgent", "--not-after", "2026-11-26T00:00:00Z"],
    );
    s.approve("urgent.json");
    refused(s.p(), "validity-too-long", &s.verify_args("urgent.json"));
    // Default urgent length (5 days) passes.
    s.issue("urgent-ok.json", &["--urgent"]);
    s.approve("urgent-ok.json");
    ok(s.p(), &s.verify_args("urgent-ok.json"));

    // unknown-authority: "approved" by a key not in the policy.
    s.issue("foreign.json", &[]);
    ok(
        s.p(),
        &["warrant", "approve", "--key", "foreign.key", "foreign.json"],
    );
    refused(s.p(), "unknown-authority", &s.verify_args("foreign.json"));

    // wrong-role: a second issuer's key used as the judge's.
    s.issue("role.json", &[]);
    ok(
        s.p(),
        &["warrant", "approve", "--key", "sos2.key", "role.json"],
    );
    refused(s.p(), "wrong-role", &s.verify_args("role.json"));

    // bad-signature: one payload byte changed after signing.
    s.issue("t.json", &[]);
    s.approve("t.json");
    let mut v = s.read_json("t.json");
    let body = String::from_utf8(b64_decode(v["payload"].as_str().unwrap()).unwrap()).unwrap();
    v["payload"] = Value::String(b64_encode(
        body.replace("OP-TEAPOT", "OP-TEAPOU").as_bytes(),
    ));
    s.write_json("t.json", &v);
    refused(s.p(), "bad-signature", &s.verify_args("t.json"));

    // malformed: an unknown field in the envelope.
    let mut v = s.read_json("urgent-ok.json");
    v["comment"] = Value::String("x".into());
    s.write_json("u.json", &v);
    refused(s.p(), "malformed", &s.verify_args("u.json"));

    // release-limit: a policy that caps releases, a warrant without a limit.
    ok(
        s.p(),
        &policy_init_args(&["--max-releases", "5"], "capped.json"),
    );
    s.issue("unlimited.json", &[]);
    s.approve("unlimited.json");
    refused(
        s.p(),
        "release-limit",
        &verify("capped.json", AT, &["unlimited.json"]),
    );
    s.issue("five.json", &["--max-releases", "5"]);
    s.approve("five.json");
    ok(s.p(), &verify("capped.json", AT, &["five.json"]));
}

#[test]
fn urgent_grace_and_judicial_refusal() {
    let s = Setup::new();
    ok(
        s.p(),
        &policy_init_args(&["--urgent-unapproved", "3d"], "grace.json"),
    );
    s.issue("u.json", &["--urgent"]);
    let within_grace = "2026-11-21T00:00:00Z";
    let out = ok(s.p(), &verify("grace.json", within_grace, &["u.json"]));
    assert!(out.contains("NOT YET APPROVED"), "{out}");
    refused(
        s.p(),
        "missing-approval",
        &verify("grace.json", "2026-11-23T00:00:00Z", &["u.json"]),
    );
    // The judge refuses: a cancellation signed in the judicial role kills it at once.
    ok(
        s.p(),
        &cancel_args(
            "jc.key",
            "u.json",
            &["--role", "judicial", "--out", "no.json"],
        ),
    );
    refused(
        s.p(),
        "cancelled",
        &verify(
            "grace.json",
            within_grace,
            &["--cancellation", "no.json", "u.json"],
        ),
    );
}

#[test]
fn inputs_that_are_refused_outright() {
    let s = Setup::new();
    // A policy naming no authority, or no judicial key while requiring one.
    fails(
        s.p(),
        1,
        "policy.authorities",
        &["policy", "init", "--out", "empty.json"],
    );
    fails(
        s.p(),
        1,
        "no authority holds it",
        &["policy", "init", "--issuer", "sos.pub", "--out", "p2.json"],
    );
    assert!(!s.path("empty.json").exists());
    // The same key in both roles.
    fails(
        s.p(),
        1,
        "listed twice",
        &[
            "policy",
            "init",
            "--issuer",
            "sos.pub",
            "--judicial",
            "sos.pub",
            "--out",
            "p3.json",
        ],
    );
    // An issuer-only policy must be asked for, and says what it lacks.
    let out = ok(
        s.p(),
        &[
            "policy",
            "init",
            "--issuer",
            "sos.pub",
            "--require",
            "issuer",
            "--out",
            "p4.json",
        ],
    );
    assert!(out.contains("no double lock"), "{out}");
    // A warrant with an empty scope.
    // `escrow warrant new` of case C, then `rest` (the scope, if any, and `--out`).
    let new_c = |rest: &[&'static str]| {
        let mut args = vec![
            "warrant",
            "new",
            "--issuer-key",
            "sos.key",
            "--case",
            "C",
            "--from",
            FROM,
            "--until",
            UNTIL,
            "--investigator",
            "inv.pub",
        ];
        args.extend_from_slice(rest);
        args
    };
    fails(
        s.p(),
        1,
        "warrant.scope",
        &new_c(&["--out", "empty-scope.json"]),
    );
    assert!(!s.path("empty-scope.json").exists());
    // Overwriting an existing warrant.
    s.issue("w.json", &[]);
    fails(
        s.p(),
        1,
        "already exists",
        &new_c(&["--target", "a", "--out", "w.json"]),
    );
    // Message-id-only scope is fine; the random id has the documented form.
    let v = ok_json(
        s.p(),
        &new_c(&["--message", "m-1", "--message", "m-2", "--out", "ids.json"]),
    );
    let id = v["warrant_id"].as_str().unwrap();
    assert!(id.starts_with("w-") && id.len() == 26, "{id}");
    // The policy file is versioned and rejects unknown fields.
    let mut p = s.read_json("policy.json");
    assert_eq!(p["version"], 1);
    p["allow_everyone"] = Value::Bool(true);
    s.write_json("bad-policy.json", &p);
    s.approve("w.json");
    fails(
        s.p(),
        1,
        "allow_everyone",
        &["warrant", "verify", "--policy", "bad-policy.json", "w.json"],
    );
}

// ------------------------------------------------------------------ OpenSSL interop

fn openssl() -> PathBuf {
    for p in ["/usr/bin/openssl", "/usr/local/bin/openssl"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    match Command::new("openssl").arg("version").output() {
        Ok(o) if o.status.success() => PathBuf::from("openssl"),
        _ => panic!(
            "the `openssl` command line is required for the interoperability tests and was not found \
             (install it, e.g. `apt-get install openssl`; .ci/run installs it)"
        ),
    }
}

fn openssl_run(dir: &Path, args: &[&str]) -> Output {
    Command::new(openssl())
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl")
}

/// SHA-256 of `file` in hex, as `openssl dgst -sha256` computes it.
fn openssl_sha256(dir: &Path, file: &str) -> String {
    let h = openssl_run(dir, &["dgst", "-sha256", "-r", file]);
    String::from_utf8_lossy(&h.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// DSSE PAE, written here independently of escrow-core.
fn pae_of(envelope: &Value) -> Vec<u8> {
    let ty = envelope["payloadType"].as_str().unwrap();
    let body = b64_decode(envelope["payload"].as_str().unwrap()).unwrap();
    let mut out = format!("DSSEv1 {} {} {} ", ty.len(), ty, body.len()).into_bytes();
    out.extend_from_slice(&body);
    out
}

#[test]
fn openssl_verifies_escrow_signatures() {
    let s = Setup::new();
    s.issue("w.json", &[]);
    s.approve("w.json");
    let env = s.read_json("w.json");
    std::fs::write(s.path("pae.bin"), pae_of(&env)).unwrap();
    let mut tampered = pae_of(&env);
    *tampered.last_mut().unwrap() ^= 1;
    std::fs::write(s.path("tampered.bin"), tampered).unwrap();
    for sig in env["signatures"].as_array().unwrap() {
        let who = match sig["role"].as_str().unwrap() {
            "issuer" => "sos.pub",
            "judicial" => "jc.pub",
            r => panic!("unexpected role {r}"),
        };
        std::fs::write(
            s.path("sig.der"),
            b64_decode(sig["sig"].as_str().unwrap()).unwrap(),
        )
        .unwrap();
        let verify_over = |file: &str| {
            openssl_run(
                s.p(),
                &[
                    "dgst",
                    "-sha256",
                    "-verify",
                    who,
                    "-signature",
                    "sig.der",
                    file,
                ],
            )
        };
        let o = verify_over("pae.bin");
        assert!(
            o.status.success(),
            "openssl rejects escrow's {who} signature:\n{}",
            text(&o)
        );
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("Verified OK"),
            "{}",
            text(&o)
        );
        let o = verify_over("tampered.bin");
        assert!(
            !o.status.success(),
            "openssl accepted a signature over tampered bytes:\n{}",
            text(&o)
        );
        // The key id is SHA-256 of the SPKI DER, as openssl computes it too.
        let der = openssl_run(s.p(), &["pkey", "-pubin", "-in", who, "-outform", "DER"]);
        assert!(der.status.success(), "{}", text(&der));
        std::fs::write(s.path("key.der"), &der.stdout).unwrap();
        assert_eq!(
            sig["keyid"].as_str().unwrap(),
            openssl_sha256(s.p(), "key.der")
        );
    }
}

#[test]
fn escrow_accepts_an_openssl_signature() {
    let s = Setup::new();
    s.issue("w.json", &[]);
    let mut env = s.read_json("w.json");
    std::fs::write(s.path("pae.bin"), pae_of(&env)).unwrap();
    // The Judicial Commissioner signs with OpenSSL, using the PKCS#8 key `escrow keygen` wrote.
    let o = openssl_run(
        s.p(),
        &[
            "dgst", "-sha256", "-sign", "jc.key", "-out", "jc.sig", "pae.bin",
        ],
    );
    assert!(o.status.success(), "openssl could not sign:\n{}", text(&o));
    let der = openssl_run(
        s.p(),
        &[
            "pkey", "-pubin", "-in", "jc.pub", "-outform", "DER", "-out", "jc.der",
        ],
    );
    assert!(der.status.success(), "{}", text(&der));
    let keyid = openssl_sha256(s.p(), "jc.der");
    let sig = std::fs::read(s.path("jc.sig")).unwrap();
    env["signatures"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "keyid": keyid,
            "sig": b64_encode(&sig),
            "role": "judicial",
        }));
    s.write_json("w2.json", &env);
    let v = ok_json(s.p(), &s.verify_args("w2.json"));
    assert_eq!(v["valid"], true);
    assert_eq!(v["signers"][1]["role"], "judicial");
    assert_eq!(v["signers"][1]["name"], "jc");
    // The same openssl signature over other bytes is refused.
    let mut v2 = env.clone();
    let body = String::from_utf8(b64_decode(v2["payload"].as_str().unwrap()).unwrap()).unwrap();
    v2["payload"] = Value::String(b64_encode(body.replace("alice", "alicf").as_bytes()));
    s.write_json("w3.json", &v2);
    refused(s.p(), "bad-signature", &s.verify_args("w3.json"));
}
