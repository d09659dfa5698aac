//! The release flow on real `trustee-node` processes: scope, combining k shares, every policy
//! refusal with its code in the response and in the log, release limits across restarts,
//! cancellation, a cheating trustee (fault injection, a library setting) and a binary without
//! a fault switch.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use escrow_core::audit::{LogEntry, leaf_hash, mth};
use escrow_core::codec::{Digest32, b64_decode};
use escrow_core::release::{ReleaseRequest, ReleaseResult, request_digest, share_digest};
use escrow_core::share::{ShareContext, combine};
use escrow_core::warrant::{PolicyLimits, Role, WarrantEnvelope};
use std::process::Command;

fn entry_at(entries: &[serde_json::Value], i: u64) -> LogEntry {
    let e = &entries[i as usize];
    assert_eq!(e["index"].as_u64().unwrap(), i);
    let bytes = b64_decode(e["bytes"].as_str().unwrap()).unwrap();
    assert_eq!(leaf_hash(&bytes).to_hex(), e["leaf_hash"].as_str().unwrap());
    LogEntry::from_bytes(&bytes).unwrap()
}

#[test]
fn double_locked_warrant_releases_in_scope_and_k_shares_decrypt() {
    let fx = Fixture::new(3, 2);
    let nodes: Vec<Box<dyn Served>> = (1..=3)
        .map(|i| -> Box<dyn Served> {
            let st = fx.init(i);
            // Trustee 3 returns bad shares (fault injection, in process): it must be caught
            // and named.
            if i == 3 {
                Box::new(start_cheating(&st))
            } else {
                Box::new(start(&st, &[], &[]))
            }
        })
        .collect();
    let msgs = vec![
        fx.message("alice", "bob", "m1", 3600),
        fx.message("carol", "dave", "m2", 3600), // out of scope
        fx.message("bob", "alice", "m3", 7200),
    ];
    let w = fx.double_locked(&fx.payload("w-combine"));
    let responses: Vec<_> = nodes
        .iter()
        .map(|n| release(n, &fx, &w, cts(&msgs)))
        .collect();
    for r in &responses {
        assert_eq!(codes(r), vec!["released", "out-of-scope", "released"]);
        assert_eq!(r.warrant, w.digest());
        assert_eq!(r.investigator, Some(fx.investigator.public().key_id()));
    }
    // The info endpoint shows the fault loudly.
    let (_, info) = get(&nodes[2].url("/v1/info"));
    assert_eq!(json(&info)["fault"], "bad-share");

    let ctx = ShareContext::warrant(w.digest());
    for (pos, m) in msgs.iter().enumerate() {
        if pos == 1 {
            continue;
        }
        let valid = m.escrow.check(&fx.set).unwrap();
        let mut shares = Vec::new();
        for r in responses.iter().rev() {
            let opened = r.open_shares(&fx.investigator);
            let o = opened.iter().find(|o| o.position == pos).unwrap();
            shares.push(o.share.clone().unwrap());
        }
        // Bad share of trustee 3 first: routed around and named.
        let c = combine(&fx.set, &valid, &ctx, &shares).unwrap();
        assert_eq!(c.rejected.len(), 1);
        assert_eq!(c.rejected[0].0, 3);
        let opened = m.decrypt_body(&c.message_key).unwrap();
        assert_eq!(&opened.body[..], format!("body of {}", m.id).as_bytes());
        // Only the two honest trustees: still k = 2.
        let c = combine(&fx.set, &valid, &ctx, &shares[1..]).unwrap();
        assert!(c.rejected.is_empty());
        // Another key cannot open the boxes.
        let o = responses[0].open_shares(&fx.recipient);
        assert!(o.iter().all(|o| o.share.is_err()));
    }

    // Every released share has its log entry at the receipt's leaf index, with its digest;
    // the out-of-scope refusal is logged; the head's root matches the entries.
    for (n, r) in nodes.iter().zip(&responses) {
        let entries = log_entries(n);
        let opened = r.open_shares(&fx.investigator);
        for (pos, res) in r.results.iter().enumerate() {
            let e = entry_at(&entries, res.leaf_index().unwrap());
            assert_eq!(e.warrant, Some(w.digest()));
            assert_eq!(e.ciphertexts, vec![msgs[pos].escrow.digest()]);
            match res {
                ReleaseResult::Released { .. } => {
                    assert_eq!(e.kind.as_str(), "release");
                    let s = opened
                        .iter()
                        .find(|o| o.position == pos)
                        .unwrap()
                        .share
                        .clone()
                        .unwrap();
                    assert_eq!(e.shares, vec![share_digest(&s)]);
                    assert_eq!(e.investigator, Some(fx.investigator.public().key_id()));
                }
                ReleaseResult::Refused { .. } => {
                    assert_eq!(e.kind.as_str(), "refusal");
                    assert_eq!(e.reason.as_deref(), Some("out-of-scope"));
                }
                other => panic!("an outcome this test does not know: {other:?}"),
            }
        }
        assert_eq!(entry_at(&entries, 0).kind.as_str(), "setup");
        assert!(entries.iter().any(|e| e["entry"]["kind"] == "warrant-seen"));
        let leaves: Vec<Digest32> = entries
            .iter()
            .map(|e| Digest32::from_hex(e["leaf_hash"].as_str().unwrap()).unwrap())
            .collect();
        let (_, head) = get(&n.url("/v1/log/head"));
        let head = json(&head);
        assert_eq!(head["size"].as_u64().unwrap(), leaves.len() as u64);
        assert_eq!(head["root"].as_str().unwrap(), mth(&leaves).to_hex());
    }
}

#[test]
fn every_policy_refusal_reaches_the_client_and_the_log() {
    let fx = Fixture::new(2, 2);
    let node = start(&fx.init(1), &[], &[]);
    let msgs = vec![fx.message("alice", "bob", "r1", 60)];

    let mut cases: Vec<(&str, WarrantEnvelope)> = Vec::new();
    // issuer only: no judicial approval
    cases.push(("missing-approval", fx.issue(&fx.payload("w-issuer-only"))));
    // expired
    let mut p = fx.payload("w-expired");
    p.not_before = now().plus(-20 * DAY);
    p.not_after = now().plus(-DAY);
    cases.push(("expired", fx.double_locked(&p)));
    // not yet valid
    let mut p = fx.payload("w-future");
    p.not_before = now().plus(5 * DAY);
    p.not_after = now().plus(20 * DAY);
    cases.push(("not-yet-valid", fx.double_locked(&p)));
    // a foreign authority, correctly formed
    let mut e =
        WarrantEnvelope::sign_new(&fx.payload("w-foreign"), &fx.foreign, Role::Issuer).unwrap();
    e.add_signature(&fx.judge, Role::Judicial).unwrap();
    cases.push(("unknown-authority", e));
    // the judge's key signing in the issuer's role
    let mut e = fx.issue(&fx.payload("w-role"));
    e.add_signature(&fx.judge, Role::Issuer).unwrap();
    cases.push(("wrong-role", e));
    // A correctly signed envelope whose payload is not a warrant names no investigator key, so
    // no caller can be authenticated for it: refused before anything is logged (issue 11 item
    // 3; it used to be a logged `malformed` refusal).
    let mut e = WarrantEnvelope::sign_bytes(
        b"{\"not\":\"a warrant\"}".to_vec(),
        &fx.issuer,
        Role::Issuer,
    )
    .unwrap();
    e.add_signature(&fx.judge, Role::Judicial).unwrap();
    let size0 = log_entries(&node).len();
    let (s, b) = post_as(
        &node.url("/v1/release"),
        &fx.investigator,
        &escrow_core::release::ReleaseRequest::new(&e, cts(&msgs)).to_json(),
    );
    assert_eq!(s, 401, "{b}");
    assert_eq!(json(&b)["error"]["code"], "unauthenticated", "{b}");
    assert_eq!(log_entries(&node).len(), size0);
    // forged: the payload changed after signing
    let w = fx.double_locked(&fx.payload("w-forged"));
    let mut env = w.envelope().clone();
    let mut payload: serde_json::Value = serde_json::from_slice(&env.payload).unwrap();
    payload["scope"]["targets"] = serde_json::json!(["alice", "everyone"]);
    env.payload = serde_json::to_vec(&payload).unwrap();
    cases.push((
        "bad-signature",
        WarrantEnvelope::from_envelope(env).unwrap(),
    ));
    // too long
    let mut p = fx.payload("w-long");
    p.not_after = now().plus(400 * DAY);
    cases.push(("validity-too-long", fx.double_locked(&p)));

    for (code, w) in &cases {
        let r = release(&node, &fx, w, cts(&msgs));
        assert_eq!(codes(&r), vec![code.to_string()], "case {code}");
        assert_eq!(r.investigator, None);
        let entries = log_entries(&node);
        let e = entry_at(&entries, r.results[0].leaf_index().unwrap());
        assert_eq!(e.kind.as_str(), "refusal");
        assert_eq!(e.reason.as_deref(), Some(*code));
        assert_eq!(e.warrant, Some(w.digest()));
        // A whole-request refusal records the request digest and a count, not the ciphertexts.
        assert!(e.ciphertexts.is_empty());
        assert_eq!(e.count, Some(msgs.len() as u64));
        assert_eq!(
            e.document,
            Some(request_digest(
                ReleaseRequest::new(w, cts(&msgs)).to_json().as_bytes()
            ))
        );
    }

    // A relabelled ciphertext (out-of-scope message moved into scope): bad proof.
    let w = fx.double_locked(&fx.payload("w-ok"));
    let mut relabelled = fx.message("carol", "dave", "r2", 60).escrow;
    relabelled.label.sender = "alice".into();
    let r = release(&node, &fx, &w, vec![relabelled, msgs[0].escrow.clone()]);
    assert_eq!(codes(&r), vec!["bad-ciphertext-proof", "released"]);
    // A ciphertext for another trustee set.
    let other = Fixture::new(2, 2);
    let foreign_ct = other.message("alice", "bob", "r3", 60).escrow;
    let r = release(&node, &fx, &w, vec![foreign_ct]);
    assert_eq!(codes(&r), vec!["wrong-trustee-set"]);

    // Cancellation: effective at once, logged, idempotent; a foreign cancellation refused.
    let bad = fx.cancellation(&w, "w-ok", &fx.foreign);
    let (s, b) = post(&node.url("/v1/cancel"), &bad.to_json());
    assert_eq!(s, 403, "{b}");
    assert_eq!(json(&b)["error"]["code"], "unknown-authority");
    let c = fx.cancellation(&w, "w-ok", &fx.issuer);
    let (s, b) = post(&node.url("/v1/cancel"), &c.to_json());
    assert_eq!(s, 200, "{b}");
    let v = json(&b);
    assert_eq!(v["status"], "cancelled");
    let seq = v["leaf_index"].as_u64().unwrap();
    let e = entry_at(&log_entries(&node), seq);
    assert_eq!(e.kind.as_str(), "cancellation");
    assert_eq!(e.warrant, Some(w.digest()));
    let (s, b) = post(&node.url("/v1/cancel"), &c.to_json());
    assert_eq!(s, 200);
    assert_eq!(json(&b)["status"], "already-cancelled");
    let r = release(&node, &fx, &w, cts(&msgs));
    assert_eq!(codes(&r), vec!["cancelled"]);
    let e = entry_at(&log_entries(&node), r.results[0].leaf_index().unwrap());
    assert_eq!(e.reason.as_deref(), Some("cancelled"));
}

#[test]
fn release_limit_holds_across_requests_and_a_restart() {
    let fx = Fixture::with_limits(2, 1, PolicyLimits::default());
    let state = fx.init(1);
    let mut node = start(&state, &[], &[]);
    let msgs: Vec<_> = (0..6)
        .map(|i| fx.message("alice", "bob", &format!("l{i}"), 60 + i))
        .collect();
    let mut p = fx.payload("w-limited");
    p.max_releases = Some(3);
    let w = fx.double_locked(&p);

    let r = release(&node, &fx, &w, cts(&msgs[0..2]));
    assert_eq!(codes(&r), vec!["released", "released"]);
    // Same two again cost nothing; then one new fits, the next does not; a duplicate within
    // the batch costs nothing either.
    let batch = vec![
        msgs[0].escrow.clone(),
        msgs[2].escrow.clone(),
        msgs[3].escrow.clone(),
        msgs[2].escrow.clone(),
    ];
    let r = release(&node, &fx, &w, batch);
    assert_eq!(
        codes(&r),
        vec!["released", "released", "release-limit", "released"]
    );

    node.kill9();
    let node = start(&state, &[], &[]);
    let r = release(&node, &fx, &w, cts(&msgs[3..5]));
    assert_eq!(codes(&r), vec!["release-limit", "release-limit"]);
    let r = release(&node, &fx, &w, cts(&msgs[0..3]));
    assert_eq!(codes(&r), vec!["released", "released", "released"]);
    // The log agrees: 3 distinct ciphertexts released.
    let released: std::collections::HashSet<String> = log_entries(&node)
        .iter()
        .filter(|e| e["entry"]["kind"] == "release")
        .map(|e| e["entry"]["ciphertexts"][0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(released.len(), 3);
}

#[test]
fn concurrent_requests_cannot_overrun_the_release_limit() {
    let fx = std::sync::Arc::new(Fixture::new(2, 1));
    let node = std::sync::Arc::new(start(&fx.init(1), &[], &[]));
    let mut p = fx.payload("w-race");
    p.max_releases = Some(5);
    let w = std::sync::Arc::new(fx.double_locked(&p));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (fx, node, w) = (fx.clone(), node.clone(), w.clone());
            std::thread::spawn(move || {
                let msgs: Vec<_> = (0..3)
                    .map(|i| fx.message("alice", "bob", &format!("x{t}-{i}"), 60))
                    .collect();
                codes(&release(&node, &fx, &w, cts(&msgs)))
            })
        })
        .collect();
    let all: Vec<String> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(
        all.iter().filter(|c| *c == "released").count(),
        5,
        "{all:?}"
    );
    assert_eq!(
        all.iter().filter(|c| *c == "release-limit").count(),
        7,
        "{all:?}"
    );
}

/// Issue 12: the production binary has no fault switch — `serve --help` does not mention one,
/// `--fault` is a usage error, and `TRUSTEE_FAULT` in the environment changes nothing (its
/// `/v1/info` has no `fault`); a node run with fault injection (library setting) says so.
#[test]
fn the_binary_has_no_fault_switch_and_a_cheating_node_says_so() {
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout).to_lowercase();
    assert!(text.contains("--tls-cert"), "{text}");
    for word in ["--fault", "trustee_fault", "fault injection", "bad-share"] {
        assert!(!text.contains(word), "{word}: {text}");
    }
    let fx = Fixture::new(2, 1);
    let st = fx.init(1);
    let o = Command::new(BIN)
        .args(["serve", "--fault", "bad-share", "--state"])
        .arg(&st)
        .env("TRUSTEE_PASSPHRASE", PASS)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let node = start(&st, &[], &[("TRUSTEE_FAULT", "bad-share")]);
    let (_, info) = get(&node.url("/v1/info"));
    assert!(json(&info).get("fault").is_none(), "{info}");
    drop(node);
    let cheat = start_cheating(&fx.init(2));
    let (_, info) = get(&cheat.url("/v1/info"));
    assert_eq!(json(&info)["fault"], "bad-share");
}

/// Issue 12: the core API has no fault hook (`make_share` and `make_answer` take none); a
/// faulty node builds its bad shares in `trustee_node::fault` from the public core functions an
/// honest node uses. With the same key share, the honest v1 share and v2 answer verify; the
/// faulty ones are logged with the digests of what was sent and fail their proofs, naming the
/// trustee.
#[test]
fn a_faulty_trustees_shares_are_built_outside_the_core_and_fail_naming_it() {
    use escrow_core::release::{judge_ciphertext, make_share, open_share};
    use escrow_core::trustee::KeyShare;
    use escrow_core::v2::{check_batch, make_answer, seal_v2};
    use escrow_core::warrant::Policy;
    use trustee_node::Fault;

    let fx = Fixture::new(3, 2);
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap();
    let key = fx
        .set
        .verify_share(
            KeyShare::from_json(&read(&fx.trustee_dirs[1].join("key-share.json"))).unwrap(),
        )
        .unwrap();
    let policy = Policy::from_json(&read(&fx.policy_path)).unwrap();
    let w = policy
        .verify(&fx.double_locked(&fx.payload("w-fault")), now(), &|_| false)
        .unwrap();
    let wd = w.digest();

    // Version 1.
    let m = fx.message("alice", "bob", "m-fault", 60);
    let v = judge_ciphertext(&fx.set, &w, Ok(m.escrow.clone())).unwrap();
    let ctx = ShareContext::warrant(wd);
    let honest = make_share(&key, &w, &v, &mut rand::rng()).unwrap();
    let bad = Fault::BadShare.share(&key, &w, &v).unwrap();
    for (sealed, is_honest) in [(honest, true), (bad, false)] {
        let id = fx.set.id();
        let s = open_share(
            &fx.investigator,
            &id,
            2,
            &wd,
            &v.digest(),
            &sealed.share_box,
        )
        .unwrap();
        assert_eq!(share_digest(&s), sealed.share_digest);
        match s.verify(&fx.set, &v, &ctx) {
            Ok(()) => assert!(is_honest),
            Err(e) => {
                assert!(!is_honest, "{e}");
                assert_eq!(e.culprit(), Some(2), "{e}");
                assert!(
                    matches!(e, escrow_core::Error::BadShareProof { trustee: 2, .. }),
                    "{e:?}"
                );
            }
        }
    }

    // Version 2.
    let label = escrow_core::label::Label::new("alice", "bob", now().plus(-60), "m2").unwrap();
    let m2 = seal_v2(
        &fx.set,
        &fx.recipient.public(),
        &label,
        b"body",
        &mut rand::rng(),
    )
    .unwrap();
    let valid: Vec<_> = check_batch(&fx.set, std::slice::from_ref(&m2.escrow))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let released = [(0u32, &valid[0])];
    let request = escrow_core::v2::request_digest(&wd, &[valid[0].digest()]);
    let inv = fx.investigator.public();
    let honest = make_answer(&key, &wd, &request, &released, &inv, &mut rand::rng()).unwrap();
    let computed = escrow_core::v2::ComputedShares::compute(&key, &released).unwrap();
    let bad = Fault::BadShare
        .answer_v2(&key, &computed, &wd, &request, &inv)
        .unwrap();
    assert!(
        honest
            .answer
            .open(&fx.investigator, &fx.set, &wd, &valid)
            .is_ok()
    );
    assert_ne!(bad.share_digests, honest.share_digests);
    assert_eq!(
        bad.answer
            .open(&fx.investigator, &fx.set, &wd, &valid)
            .unwrap_err(),
        escrow_core::Error::BadAnswerProof { trustee: 2 }
    );
}
