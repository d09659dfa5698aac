//! The `escrow` binary run as a user runs it: keygen, setup, seal, open, collude, demo --local.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn escrow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_escrow"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run escrow")
}

fn escrow_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_escrow"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child may exit before reading its input (bad arguments): a broken pipe is fine.
    let _ = c.stdin.take().unwrap().write_all(input);
    c.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "expected success, got {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn fails(o: &Output, code: i32, needle: &str) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        all.contains(needle),
        "expected {needle:?} in output:\n{all}"
    );
    assert!(!all.contains("panicked"), "panic in output:\n{all}");
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

struct World {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

/// A 3-of-5 set, keys for alice and bob, and two messages to bob and one to alice.
fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    ok(&escrow(&dir, &["keygen", "--out", "bob"]));
    ok(&escrow(&dir, &["keygen", "--out", "alice"]));
    ok(&escrow(
        &dir,
        &[
            "setup",
            "--trustees",
            "5",
            "--threshold",
            "3",
            "--out",
            "ts",
        ],
    ));
    let s = |from: &str, to: &str, key: &str, at: &str, body: &str| {
        let id = ok(&escrow_stdin(
            &dir,
            &[
                "seal",
                "--set",
                "ts/trustee-set.json",
                "--recipient-key",
                key,
                "--from",
                from,
                "--to",
                to,
                "--at",
                at,
                "--mailbox",
                "mb.jsonl",
            ],
            body.as_bytes(),
        ));
        assert_eq!(id.trim().len(), 32, "seal prints the message id: {id}");
    };
    s(
        "alice",
        "bob",
        "bob.pub",
        "2026-11-22T09:30:00Z",
        "first to bob",
    );
    s(
        "carol",
        "bob",
        "bob.pub",
        "2026-11-22T10:30:00Z",
        "second to bob",
    );
    s(
        "bob",
        "alice",
        "alice.pub",
        "2026-11-22T11:30:00Z",
        "to alice",
    );
    World { _tmp: tmp, dir }
}

#[test]
fn keygen_writes_pem_with_private_mode_and_refuses_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = ok(&escrow(d, &["keygen", "--out", "sos"]));
    assert!(out.contains("key id"));
    let key = std::fs::read_to_string(d.join("sos.key")).unwrap();
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(
        std::fs::read_to_string(d.join("sos.pub"))
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    #[cfg(unix)]
    assert_eq!(mode(&d.join("sos.key")), 0o600);
    fails(&escrow(d, &["keygen", "--out", "sos"]), 1, "already exists");
    assert_eq!(
        std::fs::read_to_string(d.join("sos.key")).unwrap(),
        key,
        "existing key untouched"
    );
}

#[test]
fn setup_writes_public_set_and_private_trustee_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = ok(&escrow(
        d,
        &[
            "--json",
            "setup",
            "--trustees",
            "4",
            "--threshold",
            "2",
            "--out",
            "ts",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["threshold"], 2);
    assert_eq!(v["trustees"], 4);
    let set: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ts/trustee-set.json")).unwrap())
            .unwrap();
    assert_eq!(set["version"], 1);
    assert_eq!(set["members"].as_array().unwrap().len(), 4);
    for i in 1..=4 {
        let t = d.join(format!("ts/trustee-{i}"));
        #[cfg(unix)]
        {
            assert_eq!(mode(&t), 0o700);
            assert_eq!(mode(&t.join("key-share.json")), 0o600);
            assert_eq!(mode(&t.join("signing.key")), 0o600);
        }
    }
    let text = std::fs::read_to_string(d.join("ts/trustee-set.json")).unwrap();
    assert!(
        !text.contains("share\""),
        "no secret in the public set file"
    );
    fails(
        &escrow(
            d,
            &[
                "setup",
                "--trustees",
                "4",
                "--threshold",
                "2",
                "--out",
                "ts",
            ],
        ),
        1,
        "already exists",
    );
}

#[test]
fn setup_refuses_nonsense_parameters_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fails(
        &escrow(
            d,
            &["setup", "--trustees", "5", "--threshold", "0", "--out", "a"],
        ),
        1,
        "at least 1",
    );
    fails(
        &escrow(
            d,
            &["setup", "--trustees", "3", "--threshold", "4", "--out", "b"],
        ),
        1,
        "exceeds",
    );
    fails(
        &escrow(
            d,
            &[
                "setup",
                "--trustees",
                "256",
                "--threshold",
                "3",
                "--out",
                "c",
            ],
        ),
        1,
        "at most 255",
    );
    fails(
        &escrow(
            d,
            &[
                "setup",
                "--trustees",
                "-1",
                "--threshold",
                "3",
                "--out",
                "c",
            ],
        ),
        2,
        "",
    );
    assert!(!d.join("a").exists() && !d.join("b").exists() && !d.join("c").exists());
}

#[test]
fn seal_and_open_roundtrip_only_for_the_addressee() {
    let w = world();
    let out = ok(&escrow(
        &w.dir,
        &[
            "open",
            "--key",
            "bob.key",
            "--set",
            "ts/trustee-set.json",
            "--mailbox",
            "mb.jsonl",
        ],
    ));
    assert!(
        out.contains("first to bob") && out.contains("second to bob"),
        "{out}"
    );
    assert!(!out.contains("to alice\n"), "{out}");
    assert!(
        out.contains("2 opened, 0 refused, 0 malformed, 1 addressed to other keys"),
        "{out}"
    );
    let out = ok(&escrow(
        &w.dir,
        &[
            "--json",
            "open",
            "--key",
            "alice.key",
            "--set",
            "ts/trustee-set.json",
            "--mailbox",
            "mb.jsonl",
        ],
    ));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["opened"].as_array().unwrap().len(), 1);
    assert_eq!(v["opened"][0]["body"], "to alice");
    assert_eq!(v["opened"][0]["from"], "bob");
    assert_eq!(v["opened"][0]["timestamp"], "2026-11-22T11:30:00Z");
}

#[test]
fn seal_reads_from_file_and_takes_an_explicit_id() {
    let w = world();
    std::fs::write(w.dir.join("note.txt"), "from a file").unwrap();
    let id = ok(&escrow(
        &w.dir,
        &[
            "seal",
            "--set",
            "ts/trustee-set.json",
            "--recipient-key",
            "bob.pub",
            "--from",
            "alice",
            "--to",
            "bob",
            "--in",
            "note.txt",
            "--id",
            "note-1",
            "--mailbox",
            "mb.jsonl",
        ],
    ));
    assert_eq!(id.trim(), "note-1");
    let out = ok(&escrow(
        &w.dir,
        &[
            "open",
            "--key",
            "bob.key",
            "--set",
            "ts/trustee-set.json",
            "--mailbox",
            "mb.jsonl",
            "--id",
            "note-1",
        ],
    ));
    assert!(out.contains("from a file"));
    // the same id twice is refused, mailbox unchanged
    let before = std::fs::read(w.dir.join("mb.jsonl")).unwrap();
    fails(
        &escrow(
            &w.dir,
            &[
                "seal",
                "--set",
                "ts/trustee-set.json",
                "--recipient-key",
                "bob.pub",
                "--from",
                "alice",
                "--to",
                "bob",
                "--in",
                "note.txt",
                "--id",
                "note-1",
                "--mailbox",
                "mb.jsonl",
            ],
        ),
        1,
        "already in",
    );
    assert_eq!(std::fs::read(w.dir.join("mb.jsonl")).unwrap(), before);
}

#[test]
fn bad_input_gives_clear_errors_and_leaves_the_mailbox_intact() {
    let w = world();
    let before = std::fs::read(w.dir.join("mb.jsonl")).unwrap();
    let seal = |set: &str, key: &str, at: &str, from: &str| {
        escrow_stdin(
            &w.dir,
            &[
                "seal",
                "--set",
                set,
                "--recipient-key",
                key,
                "--from",
                from,
                "--to",
                "bob",
                "--at",
                at,
                "--mailbox",
                "mb.jsonl",
            ],
            b"x",
        )
    };
    fails(
        &seal("missing.json", "bob.pub", "2026-11-22T09:30:00Z", "a"),
        1,
        "cannot read trustee set missing.json",
    );
    fails(
        &seal(
            "ts/trustee-set.json",
            "nobody.pub",
            "2026-11-22T09:30:00Z",
            "a",
        ),
        1,
        "cannot read public key",
    );
    fails(
        &seal(
            "ts/trustee-set.json",
            "bob.key",
            "2026-11-22T09:30:00Z",
            "a",
        ),
        1,
        "public key",
    );
    fails(
        &seal("ts/trustee-set.json", "bob.pub", "yesterday", "a"),
        2,
        "RFC 3339",
    );
    fails(
        &seal("bob.pub", "bob.pub", "2026-11-22T09:30:00Z", "a"),
        1,
        "not a valid trustee set",
    );
    fails(
        &seal("ts/trustee-set.json", "bob.pub", "2026-11-22T09:30:00Z", ""),
        1,
        "sender",
    );
    assert_eq!(
        std::fs::read(w.dir.join("mb.jsonl")).unwrap(),
        before,
        "mailbox untouched by failed seals"
    );

    // wrong private key: nothing addressed to it
    ok(&escrow(&w.dir, &["keygen", "--out", "eve"]));
    fails(
        &escrow(
            &w.dir,
            &[
                "open",
                "--key",
                "eve.key",
                "--set",
                "ts/trustee-set.json",
                "--mailbox",
                "mb.jsonl",
                "--id",
                "x",
            ],
        ),
        1,
        "no message x",
    );
    fails(
        &escrow(
            &w.dir,
            &[
                "open",
                "--key",
                "bob.pub",
                "--set",
                "ts/trustee-set.json",
                "--mailbox",
                "mb.jsonl",
            ],
        ),
        1,
        "private key",
    );
    fails(
        &escrow(
            &w.dir,
            &[
                "open",
                "--key",
                "bob.key",
                "--set",
                "ts/trustee-set.json",
                "--mailbox",
                "none.jsonl",
            ],
        ),
        1,
        "cannot read mailbox",
    );
    assert_eq!(std::fs::read(w.dir.join("mb.jsonl")).unwrap(), before);
}

#[test]
fn truncated_mailbox_line_is_reported_and_kept() {
    let w = world();
    let mb = w.dir.join("mb.jsonl");
    let mut bytes = std::fs::read(&mb).unwrap();
    bytes.truncate(bytes.len() - 40); // cut into the last line (the one to alice)
    std::fs::write(&mb, &bytes).unwrap();
    let o = escrow(
        &w.dir,
        &[
            "open",
            "--key",
            "bob.key",
            "--set",
            "ts/trustee-set.json",
            "--mailbox",
            "mb.jsonl",
        ],
    );
    fails(&o, 1, "malformed mailbox line");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("MALFORMED line 3"), "{stdout}");
    assert!(
        stdout.contains("first to bob"),
        "good messages still opened: {stdout}"
    );
    assert_eq!(
        std::fs::read(&mb).unwrap(),
        bytes,
        "open never writes the mailbox"
    );
    // sealing after a truncated line starts a fresh line and leaves the damaged one as it was
    ok(&escrow_stdin(
        &w.dir,
        &[
            "seal",
            "--set",
            "ts/trustee-set.json",
            "--recipient-key",
            "bob.pub",
            "--from",
            "alice",
            "--to",
            "bob",
            "--mailbox",
            "mb.jsonl",
        ],
        b"after the damage",
    ));
    let now = std::fs::read(&mb).unwrap();
    assert!(now.starts_with(&bytes));
    let o = escrow(
        &w.dir,
        &[
            "open",
            "--key",
            "bob.key",
            "--set",
            "ts/trustee-set.json",
            "--mailbox",
            "mb.jsonl",
        ],
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("after the damage"));
}

#[test]
fn tampered_message_is_refused_with_a_reason() {
    let w = world();
    let mb = w.dir.join("mb.jsonl");
    let text = std::fs::read_to_string(&mb).unwrap();
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[0]["escrow"]["label"]["sender"] = "mallory".into(); // relabel
    let tampered: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&mb, &tampered).unwrap();
    let o = escrow(
        &w.dir,
        &[
            "open",
            "--key",
            "bob.key",
            "--set",
            "ts/trustee-set.json",
            "--mailbox",
            "mb.jsonl",
        ],
    );
    fails(&o, 3, "not escrow-compliant");
    assert!(String::from_utf8_lossy(&o.stdout).contains("REFUSED line 1"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("second to bob"));
}

#[test]
fn k_colluding_trustees_read_everything_and_k_minus_1_learn_nothing() {
    let w = world();
    let out = ok(&escrow(
        &w.dir,
        &[
            "collude",
            "--set",
            "ts/trustee-set.json",
            "--share",
            "ts/trustee-2",
            "--share",
            "ts/trustee-4",
            "--share",
            "ts/trustee-5",
            "--mailbox",
            "mb.jsonl",
        ],
    ));
    assert!(
        out.contains("first to bob") && out.contains("second to bob") && out.contains("to alice"),
        "{out}"
    );
    assert!(
        out.contains("3 message(s) read without any warrant"),
        "{out}"
    );
    let o = escrow(
        &w.dir,
        &[
            "collude",
            "--set",
            "ts/trustee-set.json",
            "--share",
            "ts/trustee-2",
            "--share",
            "ts/trustee-4",
            "--mailbox",
            "mb.jsonl",
        ],
    );
    fails(&o, 3, "learn nothing");
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("bob"),
        "nothing read"
    );
    // the same trustee twice does not count twice
    fails(
        &escrow(
            &w.dir,
            &[
                "collude",
                "--set",
                "ts/trustee-set.json",
                "--share",
                "ts/trustee-2",
                "--share",
                "ts/trustee-2",
                "--share",
                "ts/trustee-4",
                "--mailbox",
                "mb.jsonl",
            ],
        ),
        1,
        "given twice",
    );
}

#[test]
fn tampered_key_share_is_refused_naming_the_trustee() {
    let w = world();
    let p = w.dir.join("ts/trustee-3/key-share.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let s = v["share"].as_str().unwrap().to_string();
    let last = s.chars().last().unwrap();
    let flipped = if last == '0' { '1' } else { '0' };
    v["share"] = format!("{}{}", &s[..s.len() - 1], flipped).into();
    std::fs::write(&p, v.to_string()).unwrap();
    fails(
        &escrow(
            &w.dir,
            &[
                "collude",
                "--set",
                "ts/trustee-set.json",
                "--share",
                "ts/trustee-1",
                "--share",
                "ts/trustee-3",
                "--share",
                "ts/trustee-5",
                "--mailbox",
                "mb.jsonl",
            ],
        ),
        1,
        "trustee 3 fails its Feldman VSS check",
    );
}

#[test]
fn local_demo_runs_and_reports_every_step() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(&escrow(tmp.path(), &["--json", "demo", "--local"]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["ok"], true);
    let steps = v["steps"].as_array().unwrap();
    assert!(steps.len() >= 8);
    let find = |needle: &str| {
        steps
            .iter()
            .find(|s| s["title"].as_str().unwrap().contains(needle))
            .unwrap()
            .clone()
    };
    assert_eq!(
        find("3 trustees")["detail"]["read"],
        "The draft report is attached."
    );
    assert!(
        find("2 trustees")["detail"]["refused"]
            .as_str()
            .unwrap()
            .contains("not enough valid decryption shares")
    );
    assert_eq!(find("wrong decryption share")["detail"]["cheater"], 1);
    let text = ok(&escrow(tmp.path(), &["demo", "--local", "--keep", "kept"]));
    assert!(text.contains("[8]"));
    let out = ok(&escrow(
        tmp.path(),
        &[
            "open",
            "--key",
            "kept/bob.key",
            "--set",
            "kept/trustee-set.json",
            "--mailbox",
            "kept/mailbox.jsonl",
        ],
    ));
    assert!(out.contains("Lunch on Thursday?"));
}

#[test]
fn help_names_every_verb() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ok(&escrow(tmp.path(), &["--help"]));
    for verb in ["keygen", "setup", "seal", "open", "collude", "demo"] {
        assert!(out.contains(verb), "{verb} missing from --help");
    }
}
