//! Conventions users know from age and openssl: `-` is standard output for the files the
//! `warrant` and `policy` verbs write (the report then goes to standard error, so that
//! standard output is the file alone), and a usage error exits 2 in every verb.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_testkit::{fails, output_with_input, policy_init_args, setup_args, warrant_new_args};
use std::path::Path;
use std::process::{Command, Output};

fn escrow_in(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    output_with_input(
        Command::new(env!("CARGO_BIN_EXE_escrow"))
            .args(args)
            .current_dir(dir)
            .env_remove("ESCROW_TRUSTEES")
            .env_remove("ESCROW_PASSPHRASE"),
        input,
    )
}

fn escrow(dir: &Path, args: &[&str]) -> Output {
    escrow_in(dir, args, b"")
}

fn ok(o: &Output) -> (String, String) {
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    );
    assert!(o.status.success(), "{:?}\n{out}\n{err}", o.status);
    (out, err)
}

fn keys(dir: &Path) {
    for k in ["sos", "jc", "inv"] {
        ok(&escrow(dir, &["keygen", "--no-passphrase", "--out", k]));
    }
}

#[test]
fn warrant_and_policy_files_go_to_standard_output_for_dash() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    keys(d);
    // policy init --out -: the policy on stdout, the report on stderr.
    let (policy, report) = ok(&escrow(d, &policy_init_args(&[], "-")));
    assert!(policy.trim_start().starts_with('{'), "{policy}");
    assert!(report.contains("policy digest"), "{report}");
    assert!(!d.join("-").exists(), "a file called '-' was written");
    std::fs::write(d.join("policy.json"), &policy).unwrap();

    // warrant new --out - | warrant approve - (stdin to stdout) | verify --policy policy.json -
    let (w, report) = ok(&escrow(
        d,
        &warrant_new_args(
            "sos.key",
            "OP-1",
            "alice",
            ("now-1h", "now"),
            "inv.pub",
            "-",
        ),
    ));
    assert!(report.contains("signed as issuer"), "{report}");
    let (approved, report) = ok(&escrow_in(
        d,
        &["warrant", "approve", "--key", "jc.key", "-"],
        w.as_bytes(),
    ));
    assert!(report.contains("signatures: issuer, judicial"), "{report}");
    let (valid, _) = ok(&escrow_in(
        d,
        &["warrant", "verify", "--policy", "policy.json", "-"],
        approved.as_bytes(),
    ));
    assert!(valid.starts_with("valid"), "{valid}");
    // With --json the one JSON object is the report on stderr; stdout stays the file.
    let (approved_json, report) = ok(&escrow_in(
        d,
        &[
            "--json", "warrant", "approve", "--key", "jc.key", "--out", "-", "-",
        ],
        w.as_bytes(),
    ));
    assert_eq!(approved_json, approved);
    let r: serde_json::Value = serde_json::from_str(report.trim()).unwrap();
    assert_eq!(r["ok"], true, "{r}");

    // warrant cancel --out -: a cancellation that `warrant show -` reads back.
    std::fs::write(d.join("w.json"), &approved).unwrap();
    let (c, report) = ok(&escrow(
        d,
        &[
            "warrant", "cancel", "--key", "sos.key", "w.json", "--out", "-",
        ],
    ));
    assert!(report.contains("cancellation of warrant"), "{report}");
    let (shown, _) = ok(&escrow_in(d, &["warrant", "show", "-"], c.as_bytes()));
    assert!(shown.to_lowercase().contains("cancel"), "{shown}");
    assert!(!d.join("-").exists(), "a file called '-' was written");
}

#[test]
fn usage_errors_exit_2_in_every_verb() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    keys(d);
    // k > n
    fails(&escrow(d, &setup_args("3", "5", "ts")), 2, "");
    // a time that is neither RFC 3339 nor relative to now
    fails(
        &escrow(
            d,
            &warrant_new_args(
                "sos.key",
                "C",
                "alice",
                ("yesterday", "now"),
                "inv.pub",
                "w.json",
            ),
        ),
        2,
        "now-DURATION",
    );
    // retrieve and audit: a missing required option, an unknown flag, no trustee at all
    fails(
        &escrow(d, &["retrieve", "--key", "inv.key"]),
        2,
        "--warrant",
    );
    fails(&escrow(d, &["audit", "--bogus"]), 2, "--bogus");
    ok(&escrow(d, &setup_args("3", "2", "ts")));
    ok(&escrow(d, &policy_init_args(&[], "policy.json")));
    fails(
        &escrow(
            d,
            &[
                "audit",
                "--set",
                "ts/trustee-set.json",
                "--policy",
                "policy.json",
            ],
        ),
        2,
        "no trustee given",
    );
    // trustees add: neither a URL nor an address file
    fails(&escrow(d, &["trustees", "add"]), 2, "");
    // keygen of an encrypted key without any way to give a passphrase
    fails(
        &escrow(d, &["keygen", "--out", "nopass"]),
        2,
        "needs a passphrase",
    );
}

#[test]
fn trustees_add_reads_an_address_file_and_names_a_missing_one() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("node-1.addr"), "127.0.0.1:41234").unwrap();
    let (out, _) = ok(&escrow(
        d,
        &[
            "--json",
            "trustees",
            "add",
            "--file",
            "t.json",
            "--addr-file",
            "node-1.addr",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["trustees"], serde_json::json!(["http://127.0.0.1:41234"]));
    let o = escrow(
        d,
        &[
            "trustees",
            "add",
            "--file",
            "t.json",
            "--wait",
            "0",
            "--addr-file",
            "node-2.addr",
        ],
    );
    fails(&o, 1, "node-2.addr did not appear within 0s");
}
