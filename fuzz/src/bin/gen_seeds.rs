//! Writes the seed corpus `seeds/<target>/`: the project's test vectors
//! (`escrow-core/tests/vectors`, the documented warrant example) and documents made with the
//! fixture keys, so that the seeds of targets behind a signature check verify.
//!
//! `cargo afl build --release && target/release/gen_seeds` (from `fuzz/`). Deterministic.

use escrow_core::audit::{LogEntry, TreeHead, mth};
use escrow_core::codec::{Digest32, KeyId, V1};
use escrow_core::label::Label;
use escrow_core::release::{
    ItemRefusal, ReleaseRequest, ReleaseResponse, ReleaseResult, judge_ciphertext, make_share,
};
use escrow_core::time::Timestamp;
use escrow_core::warrant::{
    CancellationEnvelope, CancellationPayload, ReasonCode, Role, Scope, WarrantEnvelope, Window,
};
use escrow_fuzz::fixtures::{self, T0};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("seeds").join(target);
    std::fs::create_dir_all(&dir).expect("seed folder");
    std::fs::write(dir.join(name), bytes).expect("write seed");
}

fn moded(mode: u8, doc: &[u8]) -> Vec<u8> {
    let mut v = vec![mode];
    v.extend_from_slice(doc);
    v
}

fn vector(name: &str) -> serde_json::Value {
    let p = root().join("../escrow-core/tests/vectors").join(name);
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&s).expect("vector JSON")
}

/// Lower-case hex of a JSON string.
fn unhex(v: &serde_json::Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string").as_bytes();
    let nib = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not lower-case hex"),
    };
    s.chunks_exact(2)
        .map(|p| nib(p[0]) << 4 | nib(p[1]))
        .collect()
}

/// A `const NAME: &str = r#"..."#;` from a Rust source file.
fn raw_const(file: &Path, name: &str) -> String {
    let src = std::fs::read_to_string(file).expect("source");
    let start = format!("const {name}: &str = r#\"");
    let i = src.find(&start).expect("const") + start.len();
    let j = src[i..].find("\"#;").expect("end of const") + i;
    src[i..j].to_string()
}

fn main() {
    let f = fixtures::get();
    let set = &f.dealing.set;

    // Test vectors.
    let wv = root().join("../escrow-core/tests/warrant_vectors.rs");
    let doc_policy = raw_const(&wv, "POLICY");
    let doc_warrant = raw_const(&wv, "WARRANT");
    let doc_cancel = raw_const(&wv, "CANCELLATION");
    write("warrant", "doc-envelope", &moded(0, doc_warrant.as_bytes()));
    write(
        "cancellation",
        "doc-envelope",
        &moded(0, doc_cancel.as_bytes()),
    );
    write("policy", "doc-policy.json", doc_policy.as_bytes());
    let doc_env = WarrantEnvelope::from_json(&doc_warrant).expect("doc warrant");
    write(
        "warrant",
        "doc-payload",
        &moded(1, &doc_env.envelope().payload),
    );
    let key = serde_json::from_str::<serde_json::Value>(&doc_policy).expect("policy")
        ["authorities"][0]["key"]
        .as_str()
        .expect("key")
        .to_string();
    write("keys", "doc-public.pem", &moded(0, key.as_bytes()));

    let sm = vector("sealed-message.json");
    let line = sm["mailbox_line"].as_str().expect("mailbox_line");
    write("mailbox_line", "vector-line", line.as_bytes());
    let ts = vector("trustee-set-3of5.json");
    let set_json = serde_json::to_string_pretty(&ts["trustee_set"]).expect("set");
    write("trustee_set", "vector-set", &moded(0, set_json.as_bytes()));
    let share_json = serde_json::to_string_pretty(&ts["key_shares"][0]).expect("share");
    write(
        "trustee_set",
        "vector-share",
        &moded(1, share_json.as_bytes()),
    );
    let ec = vector("escrow-ciphertext.json");
    let req = serde_json::json!({
        "version": 1,
        "warrant": serde_json::from_str::<serde_json::Value>(&doc_warrant).expect("warrant"),
        "ciphertexts": [ec["ciphertext"].clone()],
    });
    write(
        "release_request",
        "vector-ciphertext.json",
        req.to_string().as_bytes(),
    );

    // Fixture documents.
    let mut p = fixtures::warrant_payload(&f.investigator);
    write(
        "warrant",
        "fixture-envelope",
        &moded(0, f.warrant.to_json_pretty().as_bytes()),
    );
    write(
        "warrant",
        "fixture-payload",
        &moded(1, &escrow_fuzz::targets::payload_json(&p)),
    );
    p.urgent = true;
    p.parent_warrant_id = Some("w-fuzz-0".into());
    p.max_releases = None;
    p.scope = Scope {
        targets: vec![],
        message_ids: vec!["m-1".into(), "m-2".into()],
        window: Window {
            from: Timestamp(T0 - 10),
            until: Timestamp(T0 + 10),
        },
    };
    write(
        "warrant",
        "fixture-payload-ids",
        &moded(1, &escrow_fuzz::targets::payload_json(&p)),
    );

    let cp = CancellationPayload {
        version: V1::default(),
        warrant_id: "w-fuzz-1".into(),
        warrant_digest: f.warrant.digest(),
        cancelled_at: Timestamp(T0),
        reason: "no longer necessary".into(),
    };
    let cenv = CancellationEnvelope::sign_new(&cp, &f.issuer, Role::Issuer).expect("cancel");
    write(
        "cancellation",
        "fixture-envelope",
        &moded(0, cenv.to_json().as_bytes()),
    );
    write(
        "cancellation",
        "fixture-payload",
        &moded(1, &cenv.envelope().payload),
    );
    write(
        "policy",
        "fixture-policy.json",
        f.policy.to_json_pretty().as_bytes(),
    );

    let m1 = fixtures::sealed("alice@example.org", "bob@example.org", "m-1", b"hello", 11);
    let m2 = fixtures::sealed("carol@example.org", "bob@example.org", "m-2", b"", 12);
    write(
        "mailbox_line",
        "fixture-mailbox",
        format!("{}\n\n{}\n", m1.to_json(), m2.to_json()).as_bytes(),
    );
    write(
        "trustee_set",
        "fixture-set",
        &moded(0, set.to_json().as_bytes()),
    );
    let share = f.dealing.secrets[1].key_share.to_json();
    write("trustee_set", "fixture-share", &moded(1, share.as_bytes()));
    write(
        "keys",
        "fixture-public.pem",
        &moded(0, f.investigator.public().to_pem().as_bytes()),
    );
    let pem = f.recipient.to_pem().expect("pem");
    write("keys", "fixture-private.pem", &moded(1, pem.as_bytes()));
    write(
        "keys",
        "fixture-signature",
        &moded(0, &f.issuer.sign(b"fuzz")),
    );

    let request = ReleaseRequest::new(&f.warrant, vec![m1.escrow.clone(), m2.escrow.clone()]);
    write(
        "release_request",
        "fixture-request.json",
        request.to_json().as_bytes(),
    );

    let valid = judge_ciphertext(set, &f.verified, Ok(m1.escrow.clone())).expect("in scope");
    let key = &f.keys[0];
    let sealed = make_share(key, &f.verified, &valid, &mut fixtures::rng(5)).expect("share");
    let resp = ReleaseResponse::unsigned(
        key.index(),
        set.id(),
        f.verified.digest(),
        Some(f.investigator.public().key_id()),
        Timestamp(T0),
        vec![
            ReleaseResult::Released {
                ciphertext: sealed.ciphertext,
                share: sealed.share_box.clone(),
                leaf_index: 3,
            },
            ReleaseResult::refused(
                ItemRefusal {
                    ciphertext: Some(m2.escrow.digest()),
                    code: ReasonCode::OutOfScope.into(),
                    detail: "neither the sender nor the recipient is a target".into(),
                },
                Some(4),
            ),
        ],
    )
    .sign(&f.dealing.secrets[0].signing_key);
    write(
        "release_response",
        "fixture-response.json",
        resp.to_json().as_bytes(),
    );

    let d = |b: u8| Digest32([b; 32]);
    let c = |b: u8| escrow_core::codec::CiphertextDigest::from_bytes([b; 32]);
    let k = |b: u8| KeyId::from_bytes([b; 32]);
    let entries = [
        LogEntry::setup(0, Timestamp(T0), set.id(), f.policy.digest()),
        LogEntry::warrant_seen(1, Timestamp(T0), f.verified.digest(), k(4)),
        LogEntry::release(2, Timestamp(T0), f.verified.digest(), c(5), d(6), k(4)),
        LogEntry::refusal(3, Timestamp(T0), None, vec![c(7), c(8)], "out-of-scope"),
        LogEntry::cancellation(4, Timestamp(T0), f.verified.digest(), cenv.digest()),
        LogEntry::request_refusal(
            5,
            Timestamp(T0),
            Some(f.verified.digest()),
            d(9),
            10_000,
            "cancelled",
        ),
    ];
    for (i, e) in entries.iter().enumerate() {
        write(
            "log_entry",
            &format!("fixture-{i}.bin"),
            &moded(0, &e.to_bytes()),
        );
        let j = serde_json::to_vec(e).expect("entry JSON");
        write("log_entry", &format!("fixture-{i}.json"), &moded(1, &j));
    }

    let leaves: Vec<Digest32> = entries.iter().map(LogEntry::leaf_hash).collect();
    let head = TreeHead {
        size: leaves.len() as u64,
        root: mth(&leaves),
    };
    let note = f.log_key.sign(&head).expect("checkpoint");
    write("checkpoint", "fixture-note", &moded(0, note.as_bytes()));
    let body = note.split("\n\n").next().expect("text");
    write(
        "checkpoint",
        "fixture-text",
        &moded(1, format!("{body}\n").as_bytes()),
    );
    write(
        "checkpoint",
        "fixture-vkey-note",
        &moded(
            0,
            format!("{}\n{note}", f.log_key.verifier_key()).as_bytes(),
        ),
    );

    // Node API answers (first byte: the type, see targets::api).
    {
        use escrow_core::api::*;
        use escrow_core::audit::{consistency_proof, inclusion_proof};
        let info = Info {
            policy_digest: f.policy.digest(),
            log_key_binding: vec![0x30; 70],
            tls_key: Some(Digest32([0x7c; 32])),
            tls_key_binding: Some(vec![0x30; 70]),
            log: head,
            limits: InfoLimits {
                max_batch: 10_000,
                max_body_bytes: 64 << 20,
                log_page_size: 1000,
                log_page_bytes: 1 << 20,
                request_timeout_secs: 300,
            },
            time: Timestamp(T0),
            signature: vec![0x30; 70],
            ..escrow_core::test_fixtures::info_of(&set, 1, &f.log_key)
        };
        write(
            "api",
            "info.json",
            &moded(0, serde_json::to_vec(&info).unwrap().as_slice()),
        );
        let cancel = CancelResponse {
            version: V1::default(),
            status: CancelStatus::Cancelled,
            warrant_id: "w-fuzz-1".into(),
            leaf_index: 4,
        };
        write(
            "api",
            "cancel.json",
            &moded(1, serde_json::to_vec(&cancel).unwrap().as_slice()),
        );
        let page = EntriesPage {
            version: V1::default(),
            size: entries.len() as u64,
            start: 0,
            end: entries.len() as u64,
            entries: entries
                .iter()
                .enumerate()
                .map(|(i, e)| EntryView {
                    index: i as u64,
                    leaf_hash: e.leaf_hash(),
                    bytes: escrow_core::codec::b64_encode(&e.to_bytes()),
                    entry: e.clone(),
                })
                .collect(),
        };
        write(
            "api",
            "entries.json",
            &moded(2, serde_json::to_vec(&page).unwrap().as_slice()),
        );
        write(
            "log_page",
            "entries.json",
            &serde_json::to_vec(&page).unwrap(),
        );
        let incl = InclusionProofView {
            version: V1::default(),
            index: 2,
            size: head.size,
            leaf_hash: leaves[2],
            root: head.root,
            proof: inclusion_proof(&leaves, 2).unwrap(),
        };
        write(
            "api",
            "inclusion.json",
            &moded(3, serde_json::to_vec(&incl).unwrap().as_slice()),
        );
        let cons = ConsistencyProofView {
            version: V1::default(),
            old: 3,
            new: head.size,
            proof: consistency_proof(&leaves, 3).unwrap(),
        };
        write(
            "api",
            "consistency.json",
            &moded(4, serde_json::to_vec(&cons).unwrap().as_slice()),
        );
        let err = ErrorBody::new(ErrorCode::Refused(ReasonCode::OutOfScope), "no", Some(18));
        write("api", "error.json", &moded(5, err.to_json().as_bytes()));
        let err = ErrorBody::new(ErrorCode::BatchTooLarge, "too many", None);
        write("api", "error-2.json", &moded(5, err.to_json().as_bytes()));
    }

    // Shares to combine: honest ones, a subset, one with a broken proof.
    let honest = serde_json::to_vec(&f.shares).expect("shares");
    write("combine", "honest.json", &honest);
    write(
        "combine",
        "two.json",
        &serde_json::to_vec(&f.shares[1..]).expect("shares"),
    );
    let mut bad = f.shares.clone();
    bad[0].d = bad[1].d;
    write(
        "combine",
        "one-bad.json",
        &serde_json::to_vec(&bad).expect("shares"),
    );

    // Release protocol v2: the known-answer vectors (another set), then a ciphertext and
    // every trustee's answer for the fixtures, binary.
    let v2 = vector("v2.json");
    for (i, c) in v2["ciphertexts"]
        .as_array()
        .expect("ciphertexts")
        .iter()
        .enumerate()
    {
        write(
            "v2_ciphertext",
            &format!("vector-{i}.bin"),
            &unhex(&c["bytes"]),
        );
    }
    for (i, a) in v2["answers"]
        .as_array()
        .expect("answers")
        .iter()
        .enumerate()
    {
        write("v2_answer", &format!("vector-{i}.bin"), &unhex(&a["bytes"]));
    }
    for (i, a) in v2["negative"]
        .as_array()
        .expect("negative")
        .iter()
        .enumerate()
    {
        write(
            "v2_answer",
            &format!("vector-negative-{i}.bin"),
            &unhex(&a["bytes"]),
        );
    }
    let g = fixtures::v2();
    write(
        "v2_ciphertext",
        "fixture.bin",
        &g.ciphertext.ciphertext().to_bytes(),
    );
    for (i, a) in g.answers.iter().enumerate() {
        write(
            "v2_answer",
            &format!("trustee-{}.bin", i + 1),
            &a.to_bytes(),
        );
    }

    // Account names: two names split at a NUL byte (from the label normalisation tests).
    for (i, pair) in [
        "Alice@EXAMPLE.Org\0Alice@example.org",
        "zoe\u{308}@exa\u{308}mple.org\0Zo\u{eb}@EX\u{c4}MPLE.org",
        "\"a@B\"@C.d\0\"a@B\"@c.d",
        "Bob\0bob",
        "\u{130}@\u{130}.example\0x@\u{3a3}\u{3a3}.gr",
    ]
    .iter()
    .enumerate()
    {
        write("label", &format!("pair-{i}"), pair.as_bytes());
    }

    // request_auth: the signed-request vector's header; nonce-memory schedules of
    // (nonce, time offset / 5 s, clock step / 7 s) triples, the clock stepping back in one.
    let sr = vector("signed-request.json");
    let header = sr["header"].as_str().expect("header");
    write(
        "request_auth",
        "header-vector",
        &moded(0, header.as_bytes()),
    );
    let schedule = |ops: &[[i8; 3]]| {
        let bytes: Vec<u8> = ops.iter().flatten().map(|b| *b as u8).collect();
        moded(1, &bytes)
    };
    write(
        "request_auth",
        "replays",
        &schedule(&[[1, 0, 0], [1, 0, 0], [2, 0, 1], [1, 0, 1]]),
    );
    write(
        "request_auth",
        "clock-back",
        &schedule(&[[1, 0, 2], [2, 0, 50], [3, 0, 0], [1, -48, -50], [1, 0, 0]]),
    );
    write(
        "request_auth",
        "full",
        &schedule(&[
            [0, 0, 0],
            [1, 0, 0],
            [2, 0, 0],
            [3, 0, 0],
            [4, 0, 0],
            [5, 0, 0],
        ]),
    );

    for (i, seed) in [[5u8, 2], [63, 17], [12, 12], [0, 0]].iter().enumerate() {
        let mut v = seed.to_vec();
        v.extend((0..60).map(|x: u8| x.wrapping_mul(37).wrapping_add(i as u8)));
        write("merkle_proof", &format!("seed-{i}"), &v);
    }
    let _ = Label::new("a", "b", Timestamp(T0), "m");
    println!("seeds written to {}", root().join("seeds").display());
}
