//! `POST /v2/release` on real `trustee-node` processes, asked by the investigator's client
//! (`escrow_client::investigator_v2`): v2 messages are read end to end, a trustee whose
//! batched proof is corrupted is named, the same checks as v1 (signature first, scope, the
//! release limit under concurrent requests, log first), the JSON view, and version 1 bodies
//! refused clearly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use escrow_client::investigator::{NoProgress, Outcome, Strategy};
use escrow_client::investigator_v2::retrieve_v2;
use escrow_client::{ClientConfig, NodeClient};
use escrow_core::audit::LogEntry;
use escrow_core::codec::b64_decode;
use escrow_core::release::ReleaseRequest;
use escrow_core::v2::release::{CONTENT_TYPE_V2, ReceiptV2};
use escrow_core::v2::{ReleaseRequestV2, ReleaseResponseV2, ReleaseResultV2, SealedMessageV2};
use escrow_core::warrant::WarrantEnvelope;

fn clients(nodes: &[Box<dyn Served>]) -> Vec<NodeClient> {
    let cfg = ClientConfig::default();
    nodes
        .iter()
        .map(|n| NodeClient::new(&n.url(""), &cfg).unwrap())
        .collect()
}

/// (status, content type, body) of a signed binary POST.
fn post_v2(url: &str, fx: &Fixture, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut r = agent()
        .post(url)
        .header("content-type", CONTENT_TYPE_V2)
        .header(
            escrow_core::auth::HEADER,
            signature(&fx.investigator, "POST", url, body),
        )
        .send(body)
        .unwrap();
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = r.body_mut().read_to_vec().unwrap();
    (status, ctype, body)
}

fn request(w: &WarrantEnvelope, msgs: &[SealedMessageV2]) -> ReleaseRequestV2 {
    ReleaseRequestV2::new(w, msgs.iter().map(|m| &m.escrow))
}

#[test]
fn v2_messages_are_read_end_to_end_and_a_corrupted_batched_proof_is_named() {
    let fx = Fixture::new(3, 2);
    let nodes: Vec<Box<dyn Served>> = (1..=3)
        .map(|i| -> Box<dyn Served> {
            let st = fx.init(i);
            // Trustee 2 corrupts one share of every answer after proving (fault injection, in
            // process).
            if i == 2 {
                Box::new(start_cheating(&st))
            } else {
                Box::new(start(&st, &[], &[]))
            }
        })
        .collect();
    let msgs: Vec<SealedMessageV2> = (0..7)
        .map(|i| fx.message_v2(if i == 3 { "carol" } else { "alice" }, &format!("m{i}")))
        .collect();
    let w = fx.double_locked(&fx.payload("w-v2"));
    // Ask the first k = 2 first (trustees 1 and 2); trustee 2's answers fail their proof, so
    // the messages are asked again of trustee 3. Batches of 3: several answers per trustee.
    let r = retrieve_v2(
        &clients(&nodes),
        &fx.set,
        &w,
        &fx.investigator,
        &msgs,
        Strategy {
            batch: 3,
            threshold_first: true,
        },
        &NoProgress,
    );
    for (i, o) in r.outcomes.iter().enumerate() {
        match (&o.outcome, i) {
            (Outcome::NotRead { refusals, .. }, 3) => {
                assert!(
                    refusals
                        .iter()
                        .any(|(_, why)| why.starts_with("out-of-scope")),
                    "{refusals:?}"
                );
            }
            (Outcome::Read { used, body, .. }, _) => {
                assert_eq!(&body[..], format!("body of m{i}").as_bytes());
                assert!(!used.contains(&2), "{used:?}");
            }
            (Outcome::NotRead { why, .. }, _) => panic!("m{i} not read: {why}"),
            _ => panic!("m{i}: an outcome this test does not know"),
        }
    }
    assert_eq!(r.read(), 6);
    // Trustee 2 is named, for its batched proof.
    let why = r.bad_shares.get(&2).expect("trustee 2 named");
    assert!(why.contains("batched DLEQ proof"), "{why}");
    assert_eq!(r.bad_shares.len(), 1, "{:?}", r.bad_shares);
    let row = r.trustees.iter().find(|t| t.trustee == Some(2)).unwrap();
    assert_eq!(row.status, "failed");
    // Every receipt line is a signed v2 answer whose wire bytes verify.
    let mut receipts = 0;
    for line in r.receipts.lines() {
        assert_eq!(json(line)["version"], 2);
        let rc = ReceiptV2::from_json_line(line).unwrap();
        rc.response.verify(&fx.set).unwrap();
        for (_, d) in rc.released() {
            assert!(msgs.iter().any(|m| m.escrow.digest() == d));
        }
        // The digests must be the request the signed response answers.
        let mut v = json(line);
        v["ciphertexts"][0] = v["ciphertexts"][1].clone();
        assert!(ReceiptV2::from_json_line(&v.to_string()).is_err());
        receipts += 1;
    }
    assert!(receipts >= 4, "{receipts}");
    // The wire is compact: request and answer bytes per message per trustee asked.
    assert!(r.stats.response_bytes > 0 && r.stats.request_bytes > 0);
}

#[test]
fn v2_endpoint_checks_like_v1_logs_first_and_offers_a_json_view() {
    let fx = Fixture::new(2, 2);
    let node = start(&fx.init(1), &[], &[]);
    let msgs = vec![fx.message_v2("alice", "a1"), fx.message_v2("carol", "c1")];
    let w = fx.double_locked(&fx.payload("w-v2-checks"));
    let url = node.url("/v2/release");
    let body = request(&w, &msgs).to_bytes();

    // Unsigned: refused before anything is logged.
    let size0 = log_entries(&node).len();
    let mut resp = agent()
        .post(&url)
        .header("content-type", CONTENT_TYPE_V2)
        .send(&body[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let text = resp.body_mut().read_to_string().unwrap();
    assert_eq!(json(&text)["error"]["code"], "unauthenticated");
    // Signed by another key than the warrant's investigator: refused too.
    let mut resp = agent()
        .post(&url)
        .header("content-type", CONTENT_TYPE_V2)
        .header(
            escrow_core::auth::HEADER,
            signature(&fx.foreign, "POST", &url, &body),
        )
        .send(&body[..])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let _ = resp.body_mut().read_to_string();
    assert_eq!(log_entries(&node).len(), size0);

    // Signed: binary answer, one released, one out of scope, both logged before the answer.
    let (status, ctype, bytes) = post_v2(&url, &fx, &body);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(ctype, CONTENT_TYPE_V2);
    let resp = ReleaseResponseV2::from_bytes(&bytes, 10).unwrap();
    resp.verify(&fx.set).unwrap();
    assert_eq!(resp.request, request(&w, &msgs).digest());
    let valid: Vec<_> = msgs
        .iter()
        .map(|m| m.escrow.check(&fx.set).unwrap())
        .collect();
    let opened = resp
        .open(&fx.investigator, &fx.set, &w.digest(), &valid)
        .unwrap()
        .unwrap();
    assert_eq!(opened.shares.len(), 1);
    assert_eq!(opened.shares[0].position, 0);
    let leaf = match &resp.results[0] {
        ReleaseResultV2::Released { leaf_index } => *leaf_index,
        other => panic!("{other:?}"),
    };
    match &resp.results[1] {
        ReleaseResultV2::Refused { code, .. } => assert_eq!(code.as_str(), "out-of-scope"),
        other => panic!("{other:?}"),
    }
    let entries = log_entries(&node);
    let e = &entries[leaf as usize];
    let entry = LogEntry::from_bytes(&b64_decode(e["bytes"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(entry.ciphertexts, vec![msgs[0].escrow.digest()]);
    assert_eq!(entry.warrant, Some(w.digest()));
    // A signed answer for an investigator who tampers with it: refused (signature).
    let mut t = resp.clone();
    t.results.swap(0, 1);
    assert!(t.verify(&fx.set).is_err());

    // The JSON view for inspection.
    let jurl = node.url("/v2/release?format=json");
    let (status, ctype, text) = post_v2(&jurl, &fx, &body);
    assert_eq!(status, 200);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(v["version"], 2);
    assert_eq!(v["results"][0]["outcome"], "released");
    assert_eq!(v["results"][1]["code"], "out-of-scope");
    assert_eq!(v["answer"]["shares"].as_array().unwrap().len(), 1);

    // A version 1 body on the v2 endpoint: 400, naming the version.
    let v1 = ReleaseRequest::new(&w, vec![]).to_json();
    let (status, _, text) = post_v2(&url, &fx, v1.as_bytes());
    assert_eq!(status, 400);
    let text = String::from_utf8(text).unwrap();
    assert_eq!(json(&text)["error"]["code"], "malformed-request");
    assert!(
        text.contains("protocol version 1): send it to /v1/release"),
        "{text}"
    );
    // A v1 message on the v1 endpoint is still served (v1 stays readable).
    let m1 = fx.message("alice", "bob", "old-1", 3600);
    let r1 = release(&node, &fx, &w, vec![m1.escrow.clone()]);
    assert_eq!(codes(&r1), vec!["released"]);
}

#[test]
fn concurrent_v2_requests_never_exceed_the_release_limit() {
    // The node computes its shares before it takes the database lock, decides the limit again
    // under the lock and drops the shares the limit refuses: four requests of three distinct
    // messages each (12 > 5), sent at once, get exactly five releases between them; every
    // answer opens and its batched proof verifies over exactly the items it released, and the
    // log holds exactly those five releases with the shares that were sent.
    let fx = Fixture::new(2, 2);
    let node = start(&fx.init(1), &[], &[]);
    let mut p = fx.payload("w-v2-limit");
    p.max_releases = Some(5);
    let w = fx.double_locked(&p);
    let wd = w.digest();
    let url = node.url("/v2/release");
    let requests: Vec<Vec<SealedMessageV2>> = (0..4)
        .map(|r| {
            (0..3)
                .map(|i| fx.message_v2("alice", &format!("l{r}-{i}")))
                .collect()
        })
        .collect();
    let size0 = log_entries(&node).len();
    let sent: Vec<(
        escrow_core::codec::CiphertextDigest,
        escrow_core::codec::Digest32,
        u64,
    )> = std::thread::scope(|s| {
        let hs: Vec<_> = requests
            .iter()
            .map(|msgs| {
                let (url, fx, w, wd) = (&url, &fx, &w, &wd);
                s.spawn(move || {
                    let (status, _, bytes) = post_v2(url, fx, &request(w, msgs).to_bytes());
                    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
                    let resp = ReleaseResponseV2::from_bytes(&bytes, 10).unwrap();
                    let valid: Vec<_> = escrow_core::v2::check_batch(
                        &fx.set,
                        &msgs.iter().map(|m| m.escrow.clone()).collect::<Vec<_>>(),
                    )
                    .into_iter()
                    .map(Result::unwrap)
                    .collect();
                    // Signature, W, R, positions, boxes and the one proof.
                    let opened = resp.open(&fx.investigator, &fx.set, wd, &valid).unwrap();
                    let shares = opened.map(|a| a.shares).unwrap_or_default();
                    let released: Vec<u64> = resp
                        .results
                        .iter()
                        .filter_map(|r| match r {
                            ReleaseResultV2::Released { leaf_index } => Some(*leaf_index),
                            ReleaseResultV2::Refused { code, .. } => {
                                assert_eq!(code.as_str(), "release-limit");
                                None
                            }
                            other => panic!("an outcome this test does not know: {other:?}"),
                        })
                        .collect();
                    assert_eq!(shares.len(), released.len());
                    shares
                        .iter()
                        .zip(released)
                        .map(|(sh, leaf)| {
                            let d = sh.d.to_bytes();
                            let digest = escrow_core::v2::answer::share_digest_v2(
                                &fx.set.id(),
                                resp.trustee,
                                wd,
                                &sh.ciphertext,
                                &d,
                            );
                            (sh.ciphertext, digest, leaf)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sent.len(), 5, "exactly the limit released");
    let logged: Vec<LogEntry> = log_entries(&node)[size0..]
        .iter()
        .map(|e| LogEntry::from_bytes(&b64_decode(e["bytes"].as_str().unwrap()).unwrap()).unwrap())
        .collect();
    let releases: Vec<&LogEntry> = logged
        .iter()
        .filter(|e| e.kind == escrow_core::audit::EntryKind::Release)
        .collect();
    assert_eq!(releases.len(), 5, "the log agrees: five releases");
    for (ct, share, leaf) in &sent {
        let e = &logged[(*leaf as usize) - size0];
        assert_eq!(e.kind, escrow_core::audit::EntryKind::Release);
        assert_eq!(e.ciphertexts, vec![*ct]);
        assert_eq!(e.shares, vec![*share], "the logged share is the one sent");
    }
    let refused = logged
        .iter()
        .filter(|e| e.reason.as_deref() == Some("release-limit"))
        .count();
    assert_eq!(
        refused, 7,
        "every other item logged as refused by the limit"
    );
}
