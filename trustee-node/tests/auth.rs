//! Who may ask (issue 11 items 3 and 4): release requests signed by the warrant's investigator,
//! replays refused, warrant text served only to keys the policy names. Attacker tests on nodes
//! run in process by `trustee_node::run`'s parts, over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::error_code as code;
use common::*;
use escrow_core::auth::{HEADER, RequestSignature};
use escrow_core::keys::PrivateKey;
use escrow_core::release::ReleaseRequest;

/// POST with an exact header value (or none).
fn post_with_header(url: &str, header: Option<&str>, body: &str) -> (u16, String) {
    let mut req = agent().post(url).header("content-type", "application/json");
    if let Some(h) = header {
        req = req.header(HEADER, h);
    }
    let mut r = req.send(body).unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap())
}

#[test]
fn a_stranger_with_the_warrant_text_cannot_spend_the_release_limit() {
    let fx = Fixture::new(2, 2);
    let node = start_in_process(&fx.init(1), trustee_node::Limits::default());
    let mut p = fx.payload("w-limit-1");
    p.max_releases = Some(1);
    let w = fx.double_locked(&p);
    let stranger = PrivateKey::generate(&mut rand::rng());
    let url = node.url("/v1/release");
    let size0 = head_size(&node);

    // The stranger holds the warrant text and forges messages labelled with the target.
    for i in 0..5 {
        let forged = fx.message("alice", "bob", &format!("forged-{i}"), 60);
        let body = ReleaseRequest::new(&w, vec![forged.escrow]).to_json();
        // Unsigned.
        let (s, b) = post_with_header(&url, None, &body);
        assert_eq!((s, code(&b).as_str()), (401, "unauthenticated"), "{b}");
        // Signed with the stranger's own key.
        let (s, b) = post_as(&url, &stranger, &body);
        assert_eq!((s, code(&b).as_str()), (403, "wrong-key"), "{b}");
        // Signed by the stranger but claiming the investigator's key id.
        let mut sig = RequestSignature::sign_now(
            &stranger,
            "POST",
            "/v1/release",
            body.as_bytes(),
            now(),
            &mut rand::rng(),
        );
        sig.key_id = fx.investigator.public().key_id();
        let (s, b) = post_with_header(&url, Some(&sig.to_header()), &body);
        assert_eq!(
            (s, code(&b).as_str()),
            (401, "bad-request-signature"),
            "{b}"
        );
        // A garbage header.
        let (s, b) = post_with_header(&url, Some("{\"version\":1}"), &body);
        assert_eq!((s, code(&b).as_str()), (401, "unauthenticated"), "{b}");
    }
    assert_eq!(
        head_size(&node),
        size0,
        "nothing is logged for a caller the node has not authenticated"
    );

    // The investigator's real message is still released: the limit was not spent.
    let real = fx.message("alice", "bob", "real-1", 60);
    let r = release(&node, &fx, &w, vec![real.escrow]);
    assert_eq!(codes(&r), vec!["released"]);
    // And the limit holds for the investigator too.
    let second = fx.message("alice", "bob", "real-2", 60);
    let r = release(&node, &fx, &w, vec![second.escrow]);
    assert_eq!(codes(&r), vec!["release-limit"]);
}

#[test]
fn a_replayed_or_stale_signed_request_is_refused() {
    let fx = Fixture::new(2, 2);
    let node = start_in_process(&fx.init(1), trustee_node::Limits::default());
    let w = fx.double_locked(&fx.payload("w-replay"));
    let m = fx.message("alice", "bob", "r1", 60);
    let url = node.url("/v1/release");
    let body = ReleaseRequest::new(&w, vec![m.escrow.clone()]).to_json();
    let header = signature(&fx.investigator, "POST", &url, body.as_bytes());
    let (s, b) = post_with_header(&url, Some(&header), &body);
    assert_eq!(s, 200, "{b}");
    let size1 = head_size(&node);
    // The same signed request again, byte for byte.
    let (s, b) = post_with_header(&url, Some(&header), &body);
    assert_eq!((s, code(&b).as_str()), (401, "replayed-request"), "{b}");
    assert_eq!(head_size(&node), size1, "a replay writes nothing");
    // Signed ten minutes ago, or ten minutes ahead, with a fresh nonce.
    for skew in [-600, 600] {
        let sig = RequestSignature::sign_now(
            &fx.investigator,
            "POST",
            "/v1/release",
            body.as_bytes(),
            now().plus(skew),
            &mut rand::rng(),
        );
        let (s, b) = post_with_header(&url, Some(&sig.to_header()), &body);
        assert_eq!((s, code(&b).as_str()), (401, "stale-request"), "{b}");
    }
    // The signature covers the body: the header of one request does not authorise another.
    let other =
        ReleaseRequest::new(&w, vec![fx.message("alice", "bob", "r2", 60).escrow]).to_json();
    let fresh = signature(&fx.investigator, "POST", &url, body.as_bytes());
    let (s, b) = post_with_header(&url, Some(&fresh), &other);
    assert_eq!(
        (s, code(&b).as_str()),
        (401, "bad-request-signature"),
        "{b}"
    );
    assert_eq!(head_size(&node), size1);
}

#[test]
fn warrant_text_is_served_only_to_the_investigator_and_oversight() {
    let fx = Fixture::new(2, 2);
    let node = start_in_process(&fx.init(1), trustee_node::Limits::default());
    let w = fx.double_locked(&fx.payload("w-secret"));
    let r = release(
        &node,
        &fx,
        &w,
        vec![fx.message("alice", "bob", "e1", 60).escrow],
    );
    assert_eq!(codes(&r), vec!["released"]);
    let url = node.url(&format!("/v1/log/envelope?digest={}", w.digest().to_hex()));
    let size = head_size(&node);

    // Anonymous: refused, and the answer does not carry the warrant.
    let (s, b) = get(&url);
    assert_eq!((s, code(&b).as_str()), (401, "unauthenticated"), "{b}");
    assert!(!b.contains("alice"), "{b}");
    // A stranger's valid signature: refused.
    let stranger = PrivateKey::generate(&mut rand::rng());
    let (s, b) = get_as(&url, &stranger);
    assert_eq!((s, code(&b).as_str()), (403, "wrong-key"), "{b}");
    assert!(!b.contains("alice"), "{b}");
    // An authority of the policy is not an oversight key either.
    let (s, b) = get_as(&url, &fx.issuer);
    assert_eq!((s, code(&b).as_str()), (403, "wrong-key"), "{b}");
    // A stranger learns nothing about which digests exist: same answer for an unknown one.
    let unknown = node.url(&format!(
        "/v1/log/envelope?digest={}",
        escrow_core::codec::Digest32::sha256(b"nothing").to_hex()
    ));
    let (s, b) = get_as(&unknown, &stranger);
    assert_eq!((s, code(&b).as_str()), (403, "wrong-key"), "{b}");
    // The warrant's investigator and the oversight key: the envelope.
    for key in [&fx.investigator, &fx.oversight] {
        let (s, b) = get_as(&url, key);
        assert_eq!(s, 200, "{b}");
        assert_eq!(
            escrow_core::warrant::WarrantEnvelope::from_json(&b)
                .unwrap()
                .digest(),
            w.digest()
        );
    }
    // A signature for another digest does not open this one.
    let sig = signature(&fx.oversight, "GET", &unknown, b"");
    let mut r = agent().get(&url).header(HEADER, &sig).call().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        code(&r.body_mut().read_to_string().unwrap()),
        "bad-request-signature"
    );
    // Replayed: refused.
    let sig = signature(&fx.oversight, "GET", &url, b"");
    for expected in [200, 401] {
        let r = agent().get(&url).header(HEADER, &sig).call().unwrap();
        assert_eq!(r.status().as_u16(), expected);
    }
    assert_eq!(head_size(&node), size, "reading envelopes writes nothing");
}
