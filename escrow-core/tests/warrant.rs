//! Warrant checks: every reason code produced by a test that builds exactly that defect.

// Tests may unwrap, panic and index (the workspace denies these in library code).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use escrow_core::codec::{Digest32, WarrantDigest};
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::test_fixtures::authority;
use escrow_core::time::Timestamp;
use escrow_core::warrant::*;
use std::collections::BTreeSet;

const DAY: i64 = 86_400;

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn now() -> Timestamp {
    t("2026-11-22T09:00:00Z")
}

struct Fx {
    sos: PrivateKey,
    sos2: PrivateKey,
    jc: PrivateKey,
    foreign: PrivateKey,
    inv: PrivateKey,
    policy: Policy,
}

fn fx_with(limits: PolicyLimits) -> Fx {
    let mut rng = rand::rng();
    let sos = PrivateKey::generate(&mut rng);
    let sos2 = PrivateKey::generate(&mut rng);
    let jc = PrivateKey::generate(&mut rng);
    let foreign = PrivateKey::generate(&mut rng);
    let inv = PrivateKey::generate(&mut rng);
    let policy = Policy::new(
        vec![
            authority("home-secretary", Role::Issuer, &sos),
            authority("deputy", Role::Issuer, &sos2),
            authority("judicial-commissioner", Role::Judicial, &jc),
        ],
        vec![Role::Issuer, Role::Judicial],
        limits,
    )
    .unwrap();
    Fx {
        sos,
        sos2,
        jc,
        foreign,
        inv,
        policy,
    }
}

fn fx() -> Fx {
    fx_with(PolicyLimits::default())
}

fn payload(fx: &Fx) -> WarrantPayload {
    WarrantPayload {
        version: Default::default(),
        warrant_id: "w-0001".into(),
        case_reference: "OP-TEAPOT".into(),
        warrant_type: "targeted-interception".into(),
        legal_basis: "IPA 2016 s.15(2)".into(),
        issuing_authority: "Secretary of State".into(),
        scope: Scope {
            targets: vec!["alice".into()],
            message_ids: vec![],
            window: Window {
                from: t("2026-11-01T00:00:00Z"),
                until: t("2026-12-01T00:00:00Z"),
            },
        },
        investigator_key: fx.inv.public().to_pem(),
        not_before: now().plus(-DAY),
        not_after: now().plus(90 * DAY),
        max_releases: Some(10),
        urgent: false,
        parent_warrant_id: None,
    }
}

fn issue(fx: &Fx, p: &WarrantPayload) -> WarrantEnvelope {
    WarrantEnvelope::sign_new(p, &fx.sos, Role::Issuer).unwrap()
}

fn double_locked(fx: &Fx, p: &WarrantPayload) -> WarrantEnvelope {
    let mut e = issue(fx, p);
    e.add_signature(&fx.jc, Role::Judicial).unwrap();
    e
}

fn never(_: &str) -> bool {
    false
}

fn verify(fx: &Fx, e: &WarrantEnvelope, at: Timestamp) -> Result<VerifiedWarrant, Refusal> {
    fx.policy.verify(e, at, &never)
}

/// Sign arbitrary payload bytes under a given payload type with the double lock.
fn double_locked_bytes(fx: &Fx, payload_type: &str, bytes: Vec<u8>) -> WarrantEnvelope {
    let mut env = Envelope::new(payload_type, bytes);
    env.add_signature(&fx.sos, Role::Issuer).unwrap();
    env.add_signature(&fx.jc, Role::Judicial).unwrap();
    WarrantEnvelope::from_envelope(env).unwrap()
}

fn payload_value(fx: &Fx) -> serde_json::Value {
    serde_json::to_value(payload(fx)).unwrap()
}

fn verified(fx: &Fx) -> VerifiedWarrant {
    verify(fx, &double_locked(fx, &payload(fx)), now()).unwrap()
}

fn err<T: std::fmt::Debug>(r: Result<T, Refusal>) -> Refusal {
    r.expect_err("expected a refusal")
}

type Case = (&'static str, ReasonCode, Box<dyn Fn(&Fx) -> Refusal>);

fn cases() -> Vec<Case> {
    vec![
        // --- bad-signature
        (
            "forged signature (keyid of the judge, signed by another key)",
            ReasonCode::BadSignature,
            Box::new(|fx| {
                let mut e = issue(fx, &payload(fx)).envelope().clone();
                e.signatures.push(EnvelopeSignature {
                    keyid: fx.jc.public().key_id().to_hex(),
                    sig: fx.foreign.sign(&e.pae()),
                    role: Role::Judicial,
                });
                err(verify(
                    fx,
                    &WarrantEnvelope::from_envelope(e).unwrap(),
                    now(),
                ))
            }),
        ),
        (
            "signature bytes that are not a signature",
            ReasonCode::BadSignature,
            Box::new(|fx| {
                let mut e = double_locked(fx, &payload(fx)).envelope().clone();
                e.signatures[1].sig = vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01];
                err(verify(
                    fx,
                    &WarrantEnvelope::from_envelope(e).unwrap(),
                    now(),
                ))
            }),
        ),
        (
            "tampered payload byte",
            ReasonCode::BadSignature,
            Box::new(|fx| {
                let mut e = double_locked(fx, &payload(fx)).envelope().clone();
                let s = String::from_utf8(e.payload.clone()).unwrap();
                assert!(s.contains("OP-TEAPOT"));
                e.payload = s.replace("OP-TEAPOT", "OP-TEAPOU").into_bytes();
                err(verify(
                    fx,
                    &WarrantEnvelope::from_envelope(e).unwrap(),
                    now(),
                ))
            }),
        ),
        (
            "payloadType changed after signing",
            ReasonCode::BadSignature,
            Box::new(|fx| {
                let mut e = double_locked(fx, &payload(fx)).envelope().clone();
                e.payload_type = "application/vnd.escrow.warrant.v2+json".into();
                err(verify(
                    fx,
                    &WarrantEnvelope::from_envelope(e).unwrap(),
                    now(),
                ))
            }),
        ),
        // --- unknown-authority
        (
            "extra signature by a key not in the policy",
            ReasonCode::UnknownAuthority,
            Box::new(|fx| {
                let mut e = double_locked(fx, &payload(fx));
                e.add_signature(&fx.foreign, Role::Judicial).unwrap();
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "judicial signature by a foreign authority instead of the judge",
            ReasonCode::UnknownAuthority,
            Box::new(|fx| {
                let mut e = issue(fx, &payload(fx));
                e.add_signature(&fx.foreign, Role::Judicial).unwrap();
                err(verify(fx, &e, now()))
            }),
        ),
        // --- wrong-role
        (
            "issuer key used as judicial",
            ReasonCode::WrongRole,
            Box::new(|fx| {
                let mut e = issue(fx, &payload(fx));
                e.add_signature(&fx.sos2, Role::Judicial).unwrap();
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "judge's key used as issuer",
            ReasonCode::WrongRole,
            Box::new(|fx| {
                let e = WarrantEnvelope::sign_new(&payload(fx), &fx.jc, Role::Issuer).unwrap();
                err(verify(fx, &e, now()))
            }),
        ),
        // --- missing-approval
        (
            "judicial signature missing (issuer only)",
            ReasonCode::MissingApproval,
            Box::new(|fx| err(verify(fx, &issue(fx, &payload(fx)), now()))),
        ),
        (
            "issuer signature missing (judge only)",
            ReasonCode::MissingApproval,
            Box::new(|fx| {
                let e = WarrantEnvelope::sign_new(&payload(fx), &fx.jc, Role::Judicial).unwrap();
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "two issuers are not a double lock",
            ReasonCode::MissingApproval,
            Box::new(|fx| {
                let mut e = issue(fx, &payload(fx));
                e.add_signature(&fx.sos2, Role::Issuer).unwrap();
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "urgent warrant without approval under a policy with no grace",
            ReasonCode::MissingApproval,
            Box::new(|fx| {
                let mut p = payload(fx);
                p.urgent = true;
                p.not_after = p.not_before.plus(4 * DAY);
                err(verify(fx, &issue(fx, &p), now()))
            }),
        ),
        // --- not-yet-valid
        (
            "not yet valid",
            ReasonCode::NotYetValid,
            Box::new(|fx| {
                let mut p = payload(fx);
                p.not_before = now().plus(DAY);
                err(verify(fx, &double_locked(fx, &p), now()))
            }),
        ),
        // --- expired
        (
            "expired",
            ReasonCode::Expired,
            Box::new(|fx| {
                let p = payload(fx);
                err(verify(fx, &double_locked(fx, &p), p.not_after.plus(DAY)))
            }),
        ),
        // --- validity-too-long
        (
            "normal warrant longer than 183 days",
            ReasonCode::ValidityTooLong,
            Box::new(|fx| {
                let mut p = payload(fx);
                p.not_after = p.not_before.plus(183 * DAY + 1);
                err(verify(fx, &double_locked(fx, &p), now()))
            }),
        ),
        (
            "urgent warrant longer than 5 days",
            ReasonCode::ValidityTooLong,
            Box::new(|fx| {
                let mut p = payload(fx);
                p.urgent = true;
                p.not_after = p.not_before.plus(5 * DAY + 1);
                err(verify(fx, &double_locked(fx, &p), now()))
            }),
        ),
        // --- cancelled
        (
            "cancelled",
            ReasonCode::Cancelled,
            Box::new(|fx| {
                let e = double_locked(fx, &payload(fx));
                err(fx.policy.verify(&e, now(), &|id| id == "w-0001"))
            }),
        ),
        (
            "renewal of a cancelled warrant",
            ReasonCode::Cancelled,
            Box::new(|fx| {
                let mut p = payload(fx);
                p.warrant_id = "w-0002".into();
                p.parent_warrant_id = Some("w-0001".into());
                let e = double_locked(fx, &p);
                err(fx.policy.verify(&e, now(), &|id| id == "w-0001"))
            }),
        ),
        // --- out-of-scope
        (
            "out of scope by account",
            ReasonCode::OutOfScope,
            Box::new(|fx| {
                let l = Label::new("bob", "carol", t("2026-11-10T00:00:00Z"), "m1").unwrap();
                err(verified(fx).check_scope(&l))
            }),
        ),
        (
            "out of scope by time (after the window)",
            ReasonCode::OutOfScope,
            Box::new(|fx| {
                let l = Label::new("alice", "bob", t("2026-12-01T00:00:00Z"), "m1").unwrap();
                err(verified(fx).check_scope(&l))
            }),
        ),
        (
            "out of scope by time (before the window)",
            ReasonCode::OutOfScope,
            Box::new(|fx| {
                let l = Label::new("bob", "alice", t("2026-10-31T23:59:59Z"), "m1").unwrap();
                err(verified(fx).check_scope(&l))
            }),
        ),
        (
            "out of scope by message id",
            ReasonCode::OutOfScope,
            Box::new(|fx| {
                let mut p = payload(fx);
                p.scope.message_ids = vec!["m1".into(), "m2".into()];
                let w = verify(fx, &double_locked(fx, &p), now()).unwrap();
                let l = Label::new("alice", "bob", t("2026-11-10T00:00:00Z"), "m3").unwrap();
                err(w.check_scope(&l))
            }),
        ),
        // --- release-limit
        (
            "over the warrant's release limit",
            ReasonCode::ReleaseLimit,
            Box::new(|fx| err(verified(fx).check_release_limit(9, 2))),
        ),
        (
            "release count overflow",
            ReasonCode::ReleaseLimit,
            Box::new(|fx| err(verified(fx).check_release_limit(u64::MAX, 1))),
        ),
        (
            "warrant limit above the policy cap",
            ReasonCode::ReleaseLimit,
            Box::new(|_| {
                let fx = fx_with(PolicyLimits {
                    max_releases: Some(5),
                    ..Default::default()
                });
                err(verify(&fx, &double_locked(&fx, &payload(&fx)), now()))
            }),
        ),
        (
            "unlimited warrant under a capped policy",
            ReasonCode::ReleaseLimit,
            Box::new(|_| {
                let fx = fx_with(PolicyLimits {
                    max_releases: Some(5),
                    ..Default::default()
                });
                let mut p = payload(&fx);
                p.max_releases = None;
                err(verify(&fx, &double_locked(&fx, &p), now()))
            }),
        ),
        // --- malformed
        (
            "unknown field in the payload",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["bulk"] = serde_json::json!(true);
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "unknown field in the scope",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["scope"]["everyone"] = serde_json::json!(true);
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "unknown field in the envelope",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v: serde_json::Value =
                    serde_json::from_str(&double_locked(fx, &payload(fx)).to_json()).unwrap();
                v["note"] = serde_json::json!("x");
                err(WarrantEnvelope::from_json(&v.to_string()))
            }),
        ),
        (
            "wrong payloadType (correctly signed)",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let bytes = serde_json::to_vec(&payload(fx)).unwrap();
                let e = double_locked_bytes(fx, CANCELLATION_PAYLOAD_TYPE, bytes);
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "unsupported payload version",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["version"] = serde_json::json!(2);
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "empty scope",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["scope"]["targets"] = serde_json::json!([]);
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "empty window",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["scope"]["window"]["until"] = v["scope"]["window"]["from"].clone();
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "not_after before not_before",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["not_after"] = v["not_before"].clone();
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "investigator key is not a P-256 SPKI PEM",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["investigator_key"] = serde_json::json!(
                    "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
                );
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "non-canonical time",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["not_after"] = serde_json::json!("2027-02-20T10:00:00+01:00");
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "payload that is not JSON",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, b"\xff\xfe not json".to_vec());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "same key signs twice",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut e = double_locked(fx, &payload(fx)).envelope().clone();
                let dup = e.signatures[0].clone();
                e.signatures.push(dup);
                err(verify(
                    fx,
                    &WarrantEnvelope::from_envelope(e.clone()).unwrap(),
                    now(),
                ))
            }),
        ),
        (
            "no signatures",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v: serde_json::Value =
                    serde_json::from_str(&double_locked(fx, &payload(fx)).to_json()).unwrap();
                v["signatures"] = serde_json::json!([]);
                err(WarrantEnvelope::from_json(&v.to_string()))
            }),
        ),
        (
            "invalid base64 payload",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v: serde_json::Value =
                    serde_json::from_str(&double_locked(fx, &payload(fx)).to_json()).unwrap();
                v["payload"] = serde_json::json!("not*base64");
                err(WarrantEnvelope::from_json(&v.to_string()))
            }),
        ),
        (
            "duplicate target",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["scope"]["targets"] = serde_json::json!(["alice", "alice"]);
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "release limit of zero",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let mut v = payload_value(fx);
                v["max_releases"] = serde_json::json!(0);
                let e =
                    double_locked_bytes(fx, WARRANT_PAYLOAD_TYPE, serde_json::to_vec(&v).unwrap());
                err(verify(fx, &e, now()))
            }),
        ),
        (
            "label that breaks the label rules",
            ReasonCode::Malformed,
            Box::new(|fx| {
                let l = Label {
                    sender: "alice".into(),
                    recipient: "bob".into(),
                    timestamp: now(),
                    message_id: "a/b".into(),
                };
                err(verified(fx).check_scope(&l))
            }),
        ),
    ]
}

#[test]
fn every_defect_yields_its_reason_code() {
    let fx = fx();
    let mut seen = BTreeSet::new();
    for (name, want, build) in cases() {
        let r = build(&fx);
        println!("{name}: {r}");
        assert_eq!(r.code, want, "{name}: got {r}");
        assert!(!r.detail.is_empty(), "{name}: empty detail");
        assert_eq!(r.to_string(), format!("{}: {}", want.as_str(), r.detail));
        seen.insert(want);
    }
    let all: BTreeSet<ReasonCode> = ReasonCode::ALL.into_iter().collect();
    assert_eq!(
        seen, all,
        "every reason code must be produced by some defect"
    );
}

#[test]
fn a_double_locked_warrant_verifies() {
    let fx = fx();
    let p = payload(&fx);
    let e = double_locked(&fx, &p);
    let w = verify(&fx, &e, now()).unwrap();
    assert_eq!(w.id(), "w-0001");
    assert_eq!(w.digest(), e.digest());
    assert_eq!(w.investigator(), &fx.inv.public());
    assert_eq!(w.max_releases(), Some(10));
    assert_eq!(w.payload(), &p);
    assert_eq!(w.policy_digest(), fx.policy.digest());
    assert_eq!(w.approval_deadline(), None);
    let roles: Vec<Role> = w.signers().iter().map(|s| s.role).collect();
    assert_eq!(roles, [Role::Issuer, Role::Judicial]);
    assert_eq!(w.signers()[1].name, "judicial-commissioner");
    // In scope: sender or recipient is a target, time in [from, until).
    for l in [
        Label::new("alice", "bob", t("2026-11-01T00:00:00Z"), "m1").unwrap(),
        Label::new("bob", "alice", t("2026-11-30T23:59:59Z"), "m2").unwrap(),
    ] {
        w.check_scope(&l).unwrap();
    }
    w.check_release_limit(0, 10).unwrap();
    w.check_release_limit(9, 1).unwrap();
    // The order of signatures does not matter.
    let mut env = e.envelope().clone();
    env.signatures.reverse();
    verify(&fx, &WarrantEnvelope::from_envelope(env).unwrap(), now()).unwrap();
}

#[test]
fn json_round_trip_is_plain_dsse_plus_role() {
    let fx = fx();
    let e = double_locked(&fx, &payload(&fx));
    let json = e.to_json_pretty();
    let back = WarrantEnvelope::from_json(&json).unwrap();
    assert_eq!(back, e);
    verify(&fx, &back, now()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["payloadType"], WARRANT_PAYLOAD_TYPE);
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs[0]["keyid"], fx.sos.public().key_id().to_hex());
    assert_eq!(sigs[0]["role"], "issuer");
    assert_eq!(sigs[1]["role"], "judicial");
    // The payload is standard base64 of the JSON payload; the PAE is DSSE's.
    let body = escrow_core::codec::b64_decode(v["payload"].as_str().unwrap()).unwrap();
    let p: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(p["version"], 1);
    assert_eq!(p["scope"]["window"]["from"], "2026-11-01T00:00:00Z");
    let mut expect = format!(
        "DSSEv1 {} {} {} ",
        WARRANT_PAYLOAD_TYPE.len(),
        WARRANT_PAYLOAD_TYPE,
        body.len()
    )
    .into_bytes();
    expect.extend_from_slice(&body);
    assert_eq!(e.pae(), expect);
    // URL-safe base64 without padding (allowed by DSSE) is read too.
    let mut v2 = v.clone();
    let url = base64_url(&body);
    v2["payload"] = serde_json::json!(url);
    let e2 = WarrantEnvelope::from_json(&v2.to_string()).unwrap();
    assert_eq!(e2.digest(), e.digest());
    verify(&fx, &e2, now()).unwrap();
}

fn base64_url(bytes: &[u8]) -> String {
    escrow_core::codec::b64_encode(bytes)
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_string()
}

#[test]
fn keyid_is_only_a_hint() {
    let fx = fx();
    let mut e = double_locked(&fx, &payload(&fx)).envelope().clone();
    // Empty and wrong key ids: the signature alone decides.
    e.signatures[0].keyid = String::new();
    e.signatures[1].keyid = "00".repeat(32);
    let w = verify(&fx, &WarrantEnvelope::from_envelope(e).unwrap(), now()).unwrap();
    assert_eq!(w.signers()[0].key_id, fx.sos.public().key_id());
}

#[test]
fn digest_covers_the_payload_not_the_signatures() {
    let fx = fx();
    let p = payload(&fx);
    let issued = issue(&fx, &p);
    let approved = double_locked(&fx, &p);
    assert_eq!(issued.digest(), approved.digest());
    assert_eq!(
        issued.digest(),
        WarrantDigest::from_bytes(Digest32::tagged(TAG_WARRANT_DIGEST, &[&issued.pae()]).0)
    );
    let mut p2 = p.clone();
    p2.case_reference = "OP-OTHER".into();
    assert_ne!(issue(&fx, &p2).digest(), issued.digest());
}

#[test]
fn validity_edges() {
    let fx = fx();
    let p = payload(&fx);
    let e = double_locked(&fx, &p);
    let skew = DEFAULT_CLOCK_SKEW_SECS as i64;
    verify(&fx, &e, p.not_before).unwrap();
    verify(&fx, &e, p.not_before.plus(-skew)).unwrap();
    assert_eq!(
        err(verify(&fx, &e, p.not_before.plus(-skew - 1))).code,
        ReasonCode::NotYetValid
    );
    verify(&fx, &e, p.not_after.plus(-1)).unwrap();
    // The skew never extends the end.
    assert_eq!(err(verify(&fx, &e, p.not_after)).code, ReasonCode::Expired);
    // Exactly the maximum length is allowed.
    let mut p = payload(&fx);
    p.not_after = p.not_before.plus(183 * DAY);
    verify(&fx, &double_locked(&fx, &p), now()).unwrap();
    p.urgent = true;
    p.not_after = p.not_before.plus(5 * DAY);
    verify(&fx, &double_locked(&fx, &p), now()).unwrap();
}

#[test]
fn urgent_warrant_runs_unapproved_only_until_the_deadline() {
    let fx = fx_with(PolicyLimits {
        urgent_unapproved_secs: 3 * DAY as u64,
        ..Default::default()
    });
    let mut p = payload(&fx);
    p.urgent = true;
    p.not_before = now();
    p.not_after = now().plus(5 * DAY);
    let issued = issue(&fx, &p);
    let w = verify(&fx, &issued, now().plus(DAY)).unwrap();
    assert_eq!(w.approval_deadline(), Some(now().plus(3 * DAY)));
    assert_eq!(w.signers().len(), 1);
    let r = err(verify(&fx, &issued, now().plus(3 * DAY)));
    assert_eq!(r.code, ReasonCode::MissingApproval, "{r}");
    // Approved: runs to the end, no deadline.
    let mut approved = issued.clone();
    approved.add_signature(&fx.jc, Role::Judicial).unwrap();
    let w = verify(&fx, &approved, now().plus(4 * DAY)).unwrap();
    assert_eq!(w.approval_deadline(), None);
    // A judicial refusal is a cancellation signed by the judge: dead at once.
    let c = CancellationPayload {
        version: Default::default(),
        warrant_id: p.warrant_id.clone(),
        warrant_digest: issued.digest(),
        cancelled_at: now().plus(DAY),
        reason: "approval refused (s.24(4))".into(),
    };
    let ce = CancellationEnvelope::sign_new(&c, &fx.jc, Role::Judicial).unwrap();
    let vc = fx.policy.verify_cancellation(&ce, now().plus(DAY)).unwrap();
    let dead = vc.warrant_id().to_string();
    let r = err(fx.policy.verify(&issued, now().plus(DAY), &|id| id == dead));
    assert_eq!(r.code, ReasonCode::Cancelled);
    // A normal warrant gets no grace.
    let mut p = payload(&fx);
    p.urgent = false;
    assert_eq!(
        err(verify(&fx, &issue(&fx, &p), now())).code,
        ReasonCode::MissingApproval
    );
}

#[test]
fn cancellations() {
    let fx = fx();
    let e = double_locked(&fx, &payload(&fx));
    let c = CancellationPayload {
        version: Default::default(),
        warrant_id: "w-0001".into(),
        warrant_digest: e.digest(),
        cancelled_at: now(),
        reason: "no longer necessary (s.39)".into(),
    };
    let ce = CancellationEnvelope::sign_new(&c, &fx.sos, Role::Issuer).unwrap();
    let json = ce.to_json();
    let ce2 = CancellationEnvelope::from_json(&json).unwrap();
    let v = fx.policy.verify_cancellation(&ce2, now()).unwrap();
    assert_eq!(v.warrant_id(), "w-0001");
    assert_eq!(v.digest(), ce.digest());
    assert_eq!(v.payload().warrant_digest, e.digest());
    assert_eq!(v.seen_at(), now());
    assert_ne!(v.digest(), e.digest().digest());
    let v2 = v.clone();
    let r = err(fx.policy.verify(&e, now(), &|id| id == v2.warrant_id()));
    assert_eq!(r.code, ReasonCode::Cancelled);

    // Signed by a foreign key.
    let bad = CancellationEnvelope::sign_new(&c, &fx.foreign, Role::Issuer).unwrap();
    assert_eq!(
        err(fx.policy.verify_cancellation(&bad, now())).code,
        ReasonCode::UnknownAuthority
    );
    // Tampered.
    let mut env = ce.envelope().clone();
    env.payload = String::from_utf8(env.payload)
        .unwrap()
        .replace("w-0001", "w-0002")
        .into_bytes();
    let tampered = CancellationEnvelope::from_envelope(env).unwrap();
    assert_eq!(
        err(fx.policy.verify_cancellation(&tampered, now())).code,
        ReasonCode::BadSignature
    );
    // A warrant is not a cancellation, and a cancellation is not a warrant.
    let as_cancel = CancellationEnvelope::from_json(&e.to_json()).unwrap();
    assert_eq!(
        err(fx.policy.verify_cancellation(&as_cancel, now())).code,
        ReasonCode::Malformed
    );
    let as_warrant = WarrantEnvelope::from_json(&ce.to_json()).unwrap();
    assert_eq!(
        err(verify(&fx, &as_warrant, now())).code,
        ReasonCode::Malformed
    );
    // Wrong role on a cancellation.
    let wrong = CancellationEnvelope::sign_new(&c, &fx.sos, Role::Judicial).unwrap();
    assert_eq!(
        err(fx.policy.verify_cancellation(&wrong, now())).code,
        ReasonCode::WrongRole
    );
    // Unknown field.
    let mut v: serde_json::Value = serde_json::to_value(&c).unwrap();
    v["effective"] = serde_json::json!("later");
    let env =
        CancellationEnvelope::sign_bytes(serde_json::to_vec(&v).unwrap(), &fx.sos, Role::Issuer)
            .unwrap();
    assert_eq!(
        err(fx.policy.verify_cancellation(&env, now())).code,
        ReasonCode::Malformed
    );
}

#[test]
fn parse_without_policy_for_display() {
    let fx = fx();
    let p = payload(&fx);
    let e = issue(&fx, &p);
    let w = Warrant::parse(&e).unwrap();
    assert_eq!(w.payload(), &p);
    assert_eq!(w.id(), "w-0001");
    assert_eq!(w.digest(), e.digest());
    // A parsed warrant can still be verified, and is judged the same way.
    assert_eq!(
        err(fx.policy.verify_warrant(w, now(), &never)).code,
        ReasonCode::MissingApproval
    );
    let w = Warrant::parse(&double_locked(&fx, &p)).unwrap();
    fx.policy.verify_warrant(w, now(), &never).unwrap();
}

#[test]
fn sign_new_refuses_a_bad_payload() {
    let fx = fx();
    let mut p = payload(&fx);
    p.scope.targets.clear();
    assert_eq!(
        err(WarrantEnvelope::sign_new(&p, &fx.sos, Role::Issuer)).code,
        ReasonCode::Malformed
    );
    let e = issue(&fx, &payload(&fx));
    let mut e2 = e.clone();
    assert_eq!(
        err(e2.add_signature(&fx.sos, Role::Issuer)).code,
        ReasonCode::Malformed
    );
}

// ---------------------------------------------------------------- policy

fn pem(k: &PrivateKey) -> String {
    k.public().to_pem()
}

#[test]
fn policy_files() {
    let fx = fx();
    let json = fx.policy.to_json_pretty();
    let back = Policy::from_json(&json).unwrap();
    assert_eq!(back, fx.policy);
    assert_eq!(back.digest(), fx.policy.digest());

    // Defaults apply to absent fields, and the digest does not depend on layout.
    let minimal = serde_json::json!({
        "version": 1,
        "authorities": [
            {"name": "home-secretary", "role": "issuer", "key": pem(&fx.sos)},
            {"name": "deputy", "role": "issuer", "key": pem(&fx.sos2)},
            {"name": "judicial-commissioner", "role": "judicial", "key": format!("\n  {}  \n", pem(&fx.jc))},
        ]
    });
    let m = Policy::from_json(&minimal.to_string()).unwrap();
    assert_eq!(m.digest(), fx.policy.digest());
    assert_eq!(m.required_roles(), [Role::Issuer, Role::Judicial]);
    assert_eq!(m.limits(), &PolicyLimits::default());
    assert_eq!(m.limits().max_validity_secs, 183 * 86_400);
    assert_eq!(m.limits().max_urgent_validity_secs, 5 * 86_400);
    assert_eq!(m.limits().clock_skew_secs, 300);
    assert_eq!(
        m.authority(&fx.jc.public().key_id()).unwrap().role,
        Role::Judicial
    );
    // Changing anything changes the digest.
    let mut other = minimal.clone();
    other["clock_skew_secs"] = serde_json::json!(301);
    assert_ne!(
        Policy::from_json(&other.to_string()).unwrap().digest(),
        m.digest()
    );

    let refused = |v: serde_json::Value, needle: &str| {
        let r = err(Policy::from_json(&v.to_string()));
        assert_eq!(r.code, ReasonCode::Malformed);
        assert!(r.detail.contains(needle), "{r} should mention {needle}");
    };
    let with = |k: &str, val: serde_json::Value| {
        let mut v = minimal.clone();
        v[k] = val;
        v
    };
    refused(
        with("authorities", serde_json::json!([])),
        "policy.authorities",
    );
    refused(
        with("required_roles", serde_json::json!([])),
        "policy.required_roles",
    );
    refused(
        with("required_roles", serde_json::json!(["issuer", "issuer"])),
        "policy.required_roles[1]",
    );
    refused(with("anyone", serde_json::json!(true)), "anyone");
    refused(with("version", serde_json::json!(2)), "version");
    refused(
        with("clock_skew_secs", serde_json::json!(86_401)),
        "policy.clock_skew_secs",
    );
    refused(
        with("max_validity_secs", serde_json::json!(0)),
        "policy.max_validity_secs",
    );
    refused(
        with("max_releases", serde_json::json!(0)),
        "policy.max_releases",
    );
    refused(
        with("urgent_unapproved_secs", serde_json::json!(6 * 86_400)),
        "policy.urgent_unapproved_secs",
    );
    refused(
        with(
            "authorities",
            serde_json::json!([{"name": "a", "role": "issuer", "key": pem(&fx.sos)},
                                                {"name": "b", "role": "judicial", "key": pem(&fx.sos)}]),
        ),
        "listed twice",
    );
    refused(
        with(
            "authorities",
            serde_json::json!([{"name": "a", "role": "issuer", "key": pem(&fx.sos)}]),
        ),
        "no authority holds it",
    );
    refused(
        with(
            "authorities",
            serde_json::json!([{"name": "a", "role": "issuer", "key": "junk"}]),
        ),
        "policy.authorities[0].key",
    );
    refused(
        with(
            "authorities",
            serde_json::json!([{"name": "a", "role": "issuer", "key": pem(&fx.sos), "x": 1}]),
        ),
        "x",
    );
    refused(
        with(
            "authorities",
            serde_json::json!([{"name": "a", "role": "president", "key": pem(&fx.sos)}]),
        ),
        "president",
    );
    // An issuer-only policy is allowed (and visible), but must be asked for explicitly.
    let single = with("required_roles", serde_json::json!(["issuer"]));
    let s = Policy::from_json(&single.to_string()).unwrap();
    s.verify(&issue(&fx, &payload(&fx)), now(), &never).unwrap();
}

#[test]
fn reason_codes_are_stable_strings() {
    let expected = [
        "bad-signature",
        "unknown-authority",
        "wrong-role",
        "missing-approval",
        "not-yet-valid",
        "expired",
        "validity-too-long",
        "cancelled",
        "out-of-scope",
        "release-limit",
        "malformed",
    ];
    for (code, s) in ReasonCode::ALL.iter().zip(expected) {
        assert_eq!(code.as_str(), s);
        assert_eq!(serde_json::to_string(code).unwrap(), format!("\"{s}\""));
        assert_eq!(s.parse::<ReasonCode>().unwrap(), *code);
        assert!(!code.sentence().is_empty());
    }
    let r = Refusal::new(ReasonCode::Expired, "gone");
    assert_eq!(r.to_string(), "expired: gone");
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"code":"expired","detail":"gone"}"#
    );
}

#[test]
fn envelopes_embed_in_other_documents() {
    let fx = fx();
    let e = double_locked(&fx, &payload(&fx));
    let doc = serde_json::json!({ "warrant": e, "note": "request" });
    let back: WarrantEnvelope = serde_json::from_value(doc["warrant"].clone()).unwrap();
    assert_eq!(back, e);
    let empty = serde_json::json!({"payloadType": "x", "payload": "", "signatures": []});
    assert!(serde_json::from_value::<WarrantEnvelope>(empty).is_err());
}
