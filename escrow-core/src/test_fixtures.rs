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
