//! Fixtures shared by the unit tests of the core (the release decision, the auditor's judge).

use crate::keys::PrivateKey;
use crate::warrant::{Authority, Policy, PolicyLimits, Role};

/// The double-lock policy: issuer `sos` and judicial `jc` both required, default limits.
#[allow(clippy::unwrap_used)]
pub(crate) fn double_lock_policy(issuer: &PrivateKey, judge: &PrivateKey) -> Policy {
    Policy::new(
        vec![
            Authority {
                name: "sos".into(),
                role: Role::Issuer,
                key: issuer.public(),
            },
            Authority {
                name: "jc".into(),
                role: Role::Judicial,
                key: judge.public(),
            },
        ],
        vec![Role::Issuer, Role::Judicial],
        PolicyLimits::default(),
    )
    .unwrap()
}

/// The double-lock policy with `oversight` as its oversight key.
#[allow(clippy::unwrap_used)]
pub(crate) fn double_lock_policy_with_oversight(
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

/// A warrant for `alice` in November 2026, issued by `issuer` and approved by `judge`.
#[allow(clippy::unwrap_used)]
pub(crate) fn signed_warrant(
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
pub(crate) fn payload_around(
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
