//! Fixtures shared by the tests of the core (the release decision, the auditor's judge), its
//! integration tests and benches, the node's tests and the fuzz targets: one home for the
//! policy, warrant and `/v1/info` fixtures they used to copy. Compiled only for the unit tests
//! or with the `test-fixtures` feature, which only dev-dependencies and the fuzz crate enable
//! (a release build has no such module).

use crate::api::Info;
use crate::audit::checkpoint::LogKey;
use crate::keys::PrivateKey;
use crate::label::Label;
use crate::trustee::TrusteeSet;
use crate::warrant::{Authority, Policy, PolicyLimits, Role};

/// An authority `name` with `role`, holding `key`.
pub fn authority(name: &str, role: Role, key: &PrivateKey) -> Authority {
    Authority {
        name: name.into(),
        role,
        key: key.public(),
    }
}

/// A policy of one issuer and one judicial authority (each a name and a key), both required,
/// with `limits`.
#[allow(clippy::unwrap_used)]
pub fn two_key_policy(
    issuer: (&str, &PrivateKey),
    judge: (&str, &PrivateKey),
    limits: PolicyLimits,
) -> Policy {
    Policy::new(
        vec![
            authority(issuer.0, Role::Issuer, issuer.1),
            authority(judge.0, Role::Judicial, judge.1),
        ],
        vec![Role::Issuer, Role::Judicial],
        limits,
    )
    .unwrap()
}

/// The double-lock policy: issuer `sos` and judicial `jc` both required, default limits.
pub fn double_lock_policy(issuer: &PrivateKey, judge: &PrivateKey) -> Policy {
    two_key_policy(("sos", issuer), ("jc", judge), PolicyLimits::default())
}

/// The double-lock policy with `oversight` as its oversight key.
#[allow(clippy::unwrap_used)]
pub fn double_lock_policy_with_oversight(
    issuer: &PrivateKey,
    judge: &PrivateKey,
    oversight: &PrivateKey,
) -> Policy {
    double_lock_policy(issuer, judge)
        .with_oversight(vec![crate::warrant::Oversight {
            name: "commissioner".into(),
            key: oversight.public(),
        }])
        .unwrap()
}

/// The label of the known-answer vectors (and the benches): `msg-0001` from
/// `alice@example.org` to `bob@example.org` at 2026-11-22T09:30:00Z.
#[allow(clippy::unwrap_used)]
pub fn vector_label() -> Label {
    Label::new(
        "alice@example.org",
        "bob@example.org",
        crate::time::Timestamp::parse("2026-11-22T09:30:00Z").unwrap(),
        "msg-0001",
    )
    .unwrap()
}

/// The `/v1/info` of member `trustee` of `set` whose log `log_key` signs: its identity (set,
/// keys, log) filled in, healthy, no fault; the rest (policy digest, bindings, tree head,
/// limits, time, signature) placeholders for the caller to set with struct update syntax.
#[allow(clippy::unwrap_used)]
pub fn info_of(set: &TrusteeSet, trustee: u16, log_key: &LogKey) -> Info {
    use crate::api::{InfoLimits, InfoVersion};
    use crate::audit::TreeHead;
    use crate::codec::Digest32;
    let member = set.member(trustee).unwrap();
    Info {
        version: InfoVersion::default(),
        software: "trustee-node 0.1.0".into(),
        trustee,
        set_id: set.id(),
        threshold: set.threshold(),
        trustees: set.trustees(),
        verification_key: member.verification_key.to_hex(),
        signing_key: member.signing_key.point().to_hex(),
        signing_key_pem: member.signing_key.to_pem(),
        signing_key_id: member.signing_key.key_id(),
        policy_digest: Digest32([0; 32]),
        log_origin: log_key.origin().into(),
        log_key: log_key.verifier_key(),
        log_key_binding: Vec::new(),
        tls_key: None,
        tls_key_binding: None,
        healthy: true,
        problem: None,
        log: TreeHead {
            size: 0,
            root: Digest32([0; 32]),
        },
        limits: InfoLimits {
            max_batch: 0,
            max_body_bytes: 0,
            log_page_size: 0,
            log_page_bytes: 0,
            request_timeout_secs: 0,
        },
        fault: None,
        time: crate::time::Timestamp(0),
        signature: Vec::new(),
    }
}

/// A warrant for `alice` in November 2026, issued by `issuer` and approved by `judge`.
#[allow(clippy::unwrap_used)]
pub fn signed_warrant(
    issuer: &PrivateKey,
    judge: &PrivateKey,
    id: &str,
    case: &str,
) -> crate::warrant::WarrantEnvelope {
    use crate::time::Timestamp;
    use crate::warrant::{WarrantEnvelope, Window};
    let t0 = Timestamp::parse("2026-11-01T00:00:00Z").unwrap().unix();
    let investigator = PrivateKey::generate(&mut rand::rng()).public();
    let mut p = payload_around(t0, &investigator, id, case, None, None);
    p.scope.window = Window {
        from: Timestamp(t0),
        until: Timestamp(t0 + 7 * 86_400),
    };
    p.not_before = Timestamp(t0);
    p.not_after = Timestamp(t0 + 7 * 86_400);
    let mut env = WarrantEnvelope::sign_new(&p, issuer, Role::Issuer).unwrap();
    env.add_signature(judge, Role::Judicial).unwrap();
    env
}

/// A warrant payload around `t0`: `alice`'s messages from `t0 - 1000` to `t0 + 1000`, valid
/// from `t0 - 100` to `t0 + 100`, for `investigator` (the release decision's and the judge's
/// tests sign it).
pub fn payload_around(
    t0: i64,
    investigator: &crate::keys::PublicKey,
    id: &str,
    case: &str,
    max: Option<u64>,
    parent: Option<&str>,
) -> crate::warrant::WarrantPayload {
    use crate::time::Timestamp;
    use crate::warrant::{Scope, WarrantPayload, Window};
    WarrantPayload {
        version: crate::codec::V1::default(),
        warrant_id: id.into(),
        case_reference: case.into(),
        warrant_type: "targeted-interception".into(),
        legal_basis: "IPA 2016 s.15(2)".into(),
        issuing_authority: "sos".into(),
        scope: Scope {
            targets: vec!["alice".into()],
            message_ids: vec![],
            window: Window {
                from: Timestamp(t0 - 1000),
                until: Timestamp(t0 + 1000),
            },
        },
        investigator_key: investigator.to_pem(),
        not_before: Timestamp(t0 - 100),
        not_after: Timestamp(t0 + 100),
        max_releases: max,
        urgent: false,
        parent_warrant_id: parent.map(String::from),
    }
}

/// A v2 request for `cts` under `warrant`, as the benches build it: every header checked (in one
/// batch), the request digest, and the checked headers at their positions (what a trustee
/// releases when it releases everything).
#[allow(clippy::unwrap_used)]
pub fn v2_request(
    set: &TrusteeSet,
    warrant: &crate::codec::WarrantDigest,
    cts: &[crate::v2::EscrowCiphertextV2],
) -> (Vec<crate::v2::ValidCiphertextV2>, crate::codec::Digest32) {
    let valid: Vec<crate::v2::ValidCiphertextV2> = crate::v2::check_batch(set, cts)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let digests: Vec<crate::codec::CiphertextDigest> = valid
        .iter()
        .map(crate::v2::ValidCiphertextV2::digest)
        .collect();
    let request = crate::v2::request_digest(warrant, &digests);
    (valid, request)
}

/// The checked headers at their positions in the request.
pub fn v2_positions(
    valid: &[crate::v2::ValidCiphertextV2],
) -> Vec<(u32, &crate::v2::ValidCiphertextV2)> {
    (0u32..).zip(valid).collect()
}
