//! The `escrow` binary run as a user runs it: keygen, setup, seal, open, collude, demo --local.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_testkit::{
    SET, cancel_args, collude_args, fails, json_first, ok, open_args, open_from, opened_ids,
    openssl, output_with_input, seal_args, setup_args, warrant_new_args,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The passphrase of the private keys the tests make (encrypted, the default).
const PASSPHRASE: &str = "test passphrase 1";

/// When bob reads the world's mailbox.
const RECEIVED: &str = "2026-11-22T12:00:00Z";

fn escrow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_escrow"))
        .args(args)
        .env("ESCROW_PASSPHRASE", PASSPHRASE)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run escrow")
}

fn escrow_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    output_with_input(
        Command::new(env!("CARGO_BIN_EXE_escrow"))
            .args(args)
            .env("ESCROW_PASSPHRASE", PASSPHRASE)
            .current_dir(dir),
        input,
    )
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
    ok(&escrow(&dir, &setup_args("5", "3", "ts")));
    let s = |from: &str, to: &str, key: &str, at: &str, body: &str| {
        let id = ok(&escrow_stdin(
            &dir,
            &seal_args(SET, key, from, to, "mb.jsonl", &["--at", at]),
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

impl World {
    /// `escrow open` of the world's mailbox by bob, reading what `from` sent, received at
    /// [`RECEIVED`].
    fn bob_reads(&self, from: &str) -> Output {
        escrow(
            &self.dir,
            &open_from(
                "bob.key",
                "mb.jsonl",
                "bob",
                from,
                &["--received", RECEIVED],
            ),
        )
    }
}

#[test]
fn keygen_writes_pem_with_private_mode_and_refuses_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = ok(&escrow(d, &["keygen", "--out", "sos"]));
    assert!(out.contains("key id"));
    let key = std::fs::read_to_string(d.join("sos.key")).unwrap();
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "encrypted by default: {key}"
    );
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
    let setup = setup_args("4", "2", "ts");
    let out = ok(&escrow(d, &json_first(setup.to_vec())));
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
    fails(&escrow(d, &setup), 1, "already exists");
}

#[test]
fn setup_refuses_nonsense_parameters_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (trustees, threshold, out, needle) in [
        ("5", "0", "a", "at least 1"),
        ("3", "4", "b", "exceeds"),
        ("256", "3", "c", "at most 255"),
        ("-1", "3", "c", ""),
    ] {
        fails(&escrow(d, &setup_args(trustees, threshold, out)), 2, needle);
    }
    assert!(!d.join("a").exists() && !d.join("b").exists() && !d.join("c").exists());
}

#[test]
fn seal_and_open_roundtrip_only_for_the_addressee() {
    let w = world();
    // A mailbox file is read as one sender's messages: from alice, carol's message is refused
    // as mislabelled, and the reverse.
    let o = w.bob_reads("alice");
    fails(&o, 3, "mislabelled");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("first to bob") && !out.contains("second to bob"),
        "{out}"
    );
    assert!(
        out.contains("the label names sender \"carol\", but the message came from \"alice\""),
        "{out}"
    );
    assert!(!out.contains("to alice\n"), "{out}");
    assert!(
        out.contains("1 opened, 1 refused, 0 malformed, 1 addressed to other keys"),
        "{out}"
    );
    let o = w.bob_reads("carol");
    fails(&o, 3, "mislabelled");
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains("second to bob") && !out.contains("first to bob"),
        "{out}"
    );
    let out = ok(&escrow(
        &w.dir,
        &json_first(open_args(
            "alice.key",
            SET,
            "mb.jsonl",
            &["--me", "alice", "--from", "bob", "--received", RECEIVED],
        )),
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
    let seal = seal_args(
        SET,
        "bob.pub",
        "alice",
        "bob",
        "mb.jsonl",
        &["--in", "note.txt", "--id", "note-1"],
    );
    let id = ok(&escrow(&w.dir, &seal));
    assert_eq!(id.trim(), "note-1");
    let out = ok(&escrow(
        &w.dir,
        &open_from("bob.key", "mb.jsonl", "bob", "alice", &["--id", "note-1"]),
    ));
    assert!(out.contains("from a file"));
    // the same id twice is refused, mailbox unchanged
    let before = std::fs::read(w.dir.join("mb.jsonl")).unwrap();
    fails(&escrow(&w.dir, &seal), 1, "already in");
    assert_eq!(std::fs::read(w.dir.join("mb.jsonl")).unwrap(), before);
}

#[test]
fn bad_input_gives_clear_errors_and_leaves_the_mailbox_intact() {
    let w = world();
    let before = std::fs::read(w.dir.join("mb.jsonl")).unwrap();
    let at = "2026-11-22T09:30:00Z";
    for (set, key, at, from, code, needle) in [
        (
            "missing.json",
            "bob.pub",
            at,
            "a",
            1,
            "cannot read trustee set missing.json",
        ),
        (SET, "nobody.pub", at, "a", 1, "cannot read public key"),
        (SET, "bob.key", at, "a", 1, "public key"),
        (SET, "bob.pub", "yesterday", "a", 2, "RFC 3339"),
        ("bob.pub", "bob.pub", at, "a", 1, "not a valid trustee set"),
        (SET, "bob.pub", at, "", 1, "sender"),
    ] {
        let args = seal_args(set, key, from, "bob", "mb.jsonl", &["--at", at]);
        fails(&escrow_stdin(&w.dir, &args, b"x"), code, needle);
    }
    assert_eq!(
        std::fs::read(w.dir.join("mb.jsonl")).unwrap(),
        before,
        "mailbox untouched by failed seals"
    );

    // wrong private key: nothing addressed to it
    ok(&escrow(&w.dir, &["keygen", "--out", "eve"]));
    for (key, mailbox, rest, needle) in [
        ("eve.key", "mb.jsonl", &["--id", "x"][..], "no message x"),
        ("bob.pub", "mb.jsonl", &[], "private key"),
        ("bob.key", "none.jsonl", &[], "cannot read mailbox"),
    ] {
        let args = open_from(key, mailbox, "bob", "alice", rest);
        fails(&escrow(&w.dir, &args), 1, needle);
    }
    assert_eq!(std::fs::read(w.dir.join("mb.jsonl")).unwrap(), before);
}

#[test]
fn truncated_mailbox_line_is_reported_and_kept() {
    let w = world();
    let mb = w.dir.join("mb.jsonl");
    let mut bytes = std::fs::read(&mb).unwrap();
    bytes.truncate(bytes.len() - 40); // cut into the last line (the one to alice)
    std::fs::write(&mb, &bytes).unwrap();
    let o = w.bob_reads("alice");
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
        &seal_args(SET, "bob.pub", "alice", "bob", "mb.jsonl", &[]),
        b"after the damage",
    ));
    let now = std::fs::read(&mb).unwrap();
    assert!(now.starts_with(&bytes));
    let o = escrow(
        &w.dir,
        &open_from("bob.key", "mb.jsonl", "bob", "alice", &[]),
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
    lines[1]["escrow"]["label"]["sender"] = "alice".into(); // relabel carol's message
    let tampered: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(&mb, &tampered).unwrap();
    let o = w.bob_reads("alice");
    fails(&o, 3, "not escrow-compliant");
    assert!(String::from_utf8_lossy(&o.stdout).contains("REFUSED line 2"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("first to bob"));
}

#[test]
fn k_colluding_trustees_read_everything_and_k_minus_1_learn_nothing() {
    let w = world();
    let collude = |shares: &[&str]| escrow(&w.dir, &collude_args(SET, shares, "mb.jsonl"));
    let out = ok(&collude(&["ts/trustee-2", "ts/trustee-4", "ts/trustee-5"]));
    assert!(
        out.contains("first to bob") && out.contains("second to bob") && out.contains("to alice"),
        "{out}"
    );
    assert!(
        out.contains("3 message(s) read without any warrant"),
        "{out}"
    );
    let o = collude(&["ts/trustee-2", "ts/trustee-4"]);
    fails(&o, 3, "learn nothing");
    assert!(
        !String::from_utf8_lossy(&o.stdout).contains("bob"),
        "nothing read"
    );
    // the same trustee twice does not count twice
    fails(
        &collude(&["ts/trustee-2", "ts/trustee-2", "ts/trustee-4"]),
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
    let shares = ["ts/trustee-1", "ts/trustee-3", "ts/trustee-5"];
    fails(
        &escrow(&w.dir, &collude_args(SET, &shares, "mb.jsonl")),
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
        &open_args(
            "kept/bob.key",
            "kept/trustee-set.json",
            "kept/mailbox.jsonl",
            &[
                "--to",
                "bob",
                "--from",
                "alice",
                "--id",
                "demo-1",
                "--received",
                "2026-11-02T09:15:00Z",
            ],
        ),
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

/// Issue 11, the sender who dodges escrow: sealed to bob's key, messages whose labels name
/// another recipient, an account in NFD, a time in 1999 or another sender are refused by
/// `escrow open` (exit 3), or opened with a loud warning under `--warn-mislabelled`.
#[test]
fn open_refuses_a_dishonest_senders_labels() {
    let w = world();
    let seal = |from: &str, to: &str, at: &str, id: &str, mb: &str| {
        ok(&escrow_stdin(
            &w.dir,
            &seal_args(SET, "bob.pub", from, to, mb, &["--at", at, "--id", id]),
            b"psst",
        ))
    };
    let at = "2026-11-30T10:00:00Z";
    seal(
        "alice@example.org",
        "Alice@example.org",
        at,
        "wrong-recipient",
        "d.jsonl",
    );
    seal(
        "alice@example.org",
        "bob@example.org",
        "1999-01-01T00:00:00Z",
        "in-1999",
        "d.jsonl",
    );
    seal(
        "mallory@example.org",
        "bob@example.org",
        at,
        "other-sender",
        "d.jsonl",
    );
    // `escrow seal` normalises, so a dishonest client writes the NFD label itself.
    {
        let set = escrow_core::trustee::TrusteeSet::from_json(
            &std::fs::read_to_string(w.dir.join("ts/trustee-set.json")).unwrap(),
        )
        .unwrap();
        let bob = escrow_core::keys::PublicKey::from_pem(
            &std::fs::read_to_string(w.dir.join("bob.pub")).unwrap(),
        )
        .unwrap();
        let label = escrow_core::label::Label {
            sender: "alice@exa\u{308}mple.org".into(),
            recipient: "bob@example.org".into(),
            timestamp: escrow_core::time::Timestamp::parse(at).unwrap(),
            message_id: "nfd".into(),
        };
        let m = escrow_core::message::seal(&set, &bob, &label, b"psst", &mut rand::rng()).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(w.dir.join("d.jsonl"))
            .unwrap();
        std::io::Write::write_all(&mut f, format!("{}\n", m.to_json()).as_bytes()).unwrap();
    }
    // An honest one, with names the sealer normalises: from `alice@EXAMPLE.org`.
    seal(
        "alice@EXAMPLE.org",
        "bob@Example.org",
        at,
        "honest",
        "d.jsonl",
    );
    let open = |extra: &[&str]| {
        let mut args = json_first(open_from(
            "bob.key",
            "d.jsonl",
            "bob@example.org",
            "alice@example.org",
            &["--received", "2026-11-30T10:05:00Z"],
        ));
        args.extend_from_slice(extra);
        escrow(&w.dir, &args)
    };
    let o = open(&[]);
    fails(&o, 3, "mislabelled");
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&o.stdout).trim()).unwrap();
    let opened = opened_ids(&v);
    assert_eq!(opened, ["honest"]);
    let refused: Vec<(String, String)> = v["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["mislabelled"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            (
                "wrong-recipient".to_string(),
                r#"["recipient"]"#.to_string()
            ),
            ("in-1999".to_string(), r#"["time"]"#.to_string()),
            ("other-sender".to_string(), r#"["sender"]"#.to_string()),
            (
                "nfd".to_string(),
                r#"["not-normalised","sender"]"#.to_string()
            ),
        ]
    );
    // The flag opens them, and says so loudly on stderr and in the report.
    let o = open(&["--warn-mislabelled"]);
    let out = ok(&o);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.matches("is MISLABELLED").count(),
        5,
        "one line per mismatch: {err}"
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["opened"].as_array().unwrap().len(), 5);
    assert_eq!(v["opened"][1]["mislabelled"][0]["code"], "time");
    // Without saying who you are and who sent it, nothing is opened: a usage error.
    let o = escrow(&w.dir, &open_args("bob.key", SET, "d.jsonl", &[]));
    fails(&o, 2, "--to");
}

fn cmd(dir: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run a program")
}

/// `escrow open` with a key on an empty mailbox: exercises loading the key only.
fn open_with_key(dir: &Path, key: &str, env_pass: Option<&str>) -> Output {
    std::fs::write(dir.join("empty.jsonl"), "").unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_escrow"));
    c.args(open_from(key, "empty.jsonl", "bob", "alice", &[]))
        .current_dir(dir)
        .env_remove("ESCROW_PASSPHRASE")
        .stdin(Stdio::null());
    if let Some(p) = env_pass {
        c.env("ESCROW_PASSPHRASE", p);
    }
    c.output().unwrap()
}

/// Issue 13, keys: encrypted at rest by default, read by `openssl pkey`; keys OpenSSL
/// encrypts are read by escrow; the passphrase from the environment or a file; every wrong
/// kind of key file is named in plain words.
#[test]
fn private_keys_are_encrypted_pkcs8_that_openssl_reads_both_ways() {
    let w = world();
    let d = &w.dir;
    // Written by escrow, read by openssl with the same passphrase; the public keys agree.
    let public_key_with = |pass: &str| {
        let pass = format!("pass:{pass}");
        cmd(
            d,
            "openssl",
            &["pkey", "-in", "bob.key", "-passin", &pass, "-pubout"],
        )
    };
    let o = public_key_with(PASSPHRASE);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        std::fs::read_to_string(d.join("bob.pub")).unwrap()
    );
    // ... and openssl refuses it without the passphrase.
    let o = public_key_with("wrong passphrase");
    assert!(!o.status.success());
    // The passphrase: environment variable, --passphrase-file, else refused (no terminal).
    ok(&open_with_key(d, "bob.key", Some(PASSPHRASE)));
    fails(
        &open_with_key(d, "bob.key", Some("wrong passphrase")),
        1,
        "the passphrase does not decrypt this private key",
    );
    fails(
        &open_with_key(d, "bob.key", None),
        2,
        "needs a passphrase: set ESCROW_PASSPHRASE",
    );
    std::fs::write(d.join("pass.txt"), format!("{PASSPHRASE}\n")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_escrow"))
        .args(["--passphrase-file", "pass.txt"])
        .args(open_from("bob.key", "empty.jsonl", "bob", "alice", &[]))
        .current_dir(d)
        .env_remove("ESCROW_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    ok(&o);
    // keygen: a short passphrase is a usage error; --no-passphrase writes plain PKCS#8.
    let o = Command::new(env!("CARGO_BIN_EXE_escrow"))
        .args(["keygen", "--out", "weak"])
        .current_dir(d)
        .env("ESCROW_PASSPHRASE", "short")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    fails(&o, 2, "at least 8 bytes");
    assert!(!d.join("weak.key").exists());
    ok(&escrow(d, &["keygen", "--no-passphrase", "--out", "plain"]));
    assert!(
        std::fs::read_to_string(d.join("plain.key"))
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    ok(&open_with_key(d, "plain.key", None));

    // Made by openssl, encrypted (its default PBES2: PBKDF2-HMAC-SHA256, AES-256-CBC): read.
    openssl(
        d,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes-256-cbc",
            "-pass",
            "pass:openssl passphrase",
            "-out",
            "ossl.key",
        ],
    );
    ok(&open_with_key(d, "ossl.key", Some("openssl passphrase")));
    fails(
        &open_with_key(d, "ossl.key", Some("not the passphrase")),
        1,
        "does not decrypt",
    );

    // A SEC1 key from `openssl ecparam -genkey`: refused with the line that converts it, and
    // that line works.
    openssl(
        d,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            "sec1.pem",
        ],
    );
    let o = open_with_key(d, "sec1.pem", None);
    fails(&o, 1, "this is a SEC1 EC private key");
    fails(
        &o,
        1,
        "openssl pkcs8 -topk8 -nocrypt -in FILE -out NAME.key",
    );
    openssl(
        d,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", "sec1.pem", "-out", "sec1.key",
        ],
    );
    ok(&open_with_key(d, "sec1.key", None));
    openssl(
        d,
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-in",
            "sec1.pem",
            "-out",
            "sec1-enc.key",
            "-passout",
            "pass:converted passphrase",
        ],
    );
    ok(&open_with_key(
        d,
        "sec1-enc.key",
        Some("converted passphrase"),
    ));

    // Ed25519, a .pub as --key, a JSON file: each named.
    openssl(d, &["genpkey", "-algorithm", "ed25519", "-out", "ed.key"]);
    fails(
        &open_with_key(d, "ed.key", None),
        1,
        "this is an Ed25519 key (algorithm OID 1.3.101.112); escrow needs an ECDSA P-256",
    );
    fails(
        &open_with_key(d, "bob.pub", None),
        1,
        "this is a public key",
    );
    fails(
        &open_with_key(d, "ts/trustee-set.json", None),
        1,
        "this is a JSON file, not a key",
    );
    fails(
        &escrow(
            d,
            &warrant_new_args(
                "bob.key",
                "c",
                "a",
                ("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
                "alice.key",
                "w.json",
            ),
        ),
        1,
        "this is a private key; a public key was expected",
    );
}

/// Issue 13 conventions: `-` is standard input/output for mailboxes, the warrant is
/// positional in every `warrant` sub-verb (`cancel --warrant` kept as an alias), and
/// `warrant show` displays a cancellation.
#[test]
fn dash_is_stdio_warrant_is_positional_and_show_reads_cancellations() {
    let w = world();
    let d = &w.dir;
    std::fs::write(d.join("note.txt"), "via a pipe").unwrap();
    let o = escrow(
        d,
        &seal_args(
            SET,
            "bob.pub",
            "alice",
            "bob",
            "-",
            &["--in", "note.txt", "--id", "piped"],
        ),
    );
    let line = ok(&o);
    assert_eq!(
        line.lines().count(),
        1,
        "one mailbox line on stdout: {line}"
    );
    assert!(!d.join("-").exists(), "no file called '-'");
    let o = escrow_stdin(
        d,
        &open_from("bob.key", "-", "bob", "alice", &[]),
        line.as_bytes(),
    );
    assert!(ok(&o).contains("via a pipe"));
    // --mailbox - with the plaintext on stdin too is a usage error.
    fails(
        &escrow(d, &seal_args(SET, "bob.pub", "alice", "bob", "-", &[])),
        2,
        "--in FILE",
    );

    ok(&escrow(d, &["keygen", "--out", "sos"]));
    ok(&escrow(
        d,
        &warrant_new_args(
            "sos.key",
            "OP-1",
            "alice",
            ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
            "alice.pub",
            "w.json",
        ),
    ));
    ok(&escrow(
        d,
        &[
            "warrant", "cancel", "--key", "sos.key", "w.json", "--reason", "done", "--out",
            "c1.json",
        ],
    ));
    ok(&escrow(
        d,
        &cancel_args("sos.key", "w.json", &["--out", "c2.json"]),
    ));
    fails(
        &escrow(
            d,
            &["warrant", "cancel", "--key", "sos.key", "--out", "c3.json"],
        ),
        2,
        "WARRANT",
    );
    let out = ok(&escrow(d, &["warrant", "show", "c1.json"]));
    assert!(
        out.contains("cancellation of warrant w-") && out.contains("NOT VERIFIED"),
        "{out}"
    );
    assert!(out.contains("reason         done"), "{out}");
    let out = ok(&escrow(d, &["--json", "warrant", "show", "c2.json"]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["kind"], "cancellation");
    assert_eq!(v["signatures"][0]["role"], "issuer");
    // A warrant read from standard input.
    let o = escrow_stdin(
        d,
        &["warrant", "show", "-"],
        &std::fs::read(d.join("w.json")).unwrap(),
    );
    assert!(ok(&o).contains("case           OP-1"));
}
