//! The parties of the demo and the experiments: a dealt trustee set and keys on disk, the
//! double-lock policy, warrants signed by the authorities, and the node endpoints they call.

use crate::files;
use anyhow::{Context, Result};
use escrow_core::keys::PrivateKey;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, TrusteeSet};
use escrow_core::warrant::{
    Authority, Policy, PolicyLimits, Role, Scope, WarrantEnvelope, WarrantPayload, Window,
};
use std::path::Path;
use std::time::Duration;

pub fn write_set(dir: &Path, set: &TrusteeSet, secrets: &[trustee::TrusteeSecrets]) -> Result<()> {
    Ok(escrow_client::files::write_set_folder(dir, set, secrets)?)
}

pub fn save_key(dir: &Path, name: &str, k: &PrivateKey) -> Result<()> {
    files::secret(&dir.join(format!("{name}.key")), k.to_pem()?.as_bytes())?;
    files::public(
        &dir.join(format!("{name}.pub")),
        k.public().to_pem().as_bytes(),
    )
}

#[allow(clippy::too_many_arguments)]
pub fn payload(
    id: &str,
    targets: &[&str],
    window: Window,
    investigator: &PrivateKey,
    not_before: Timestamp,
    not_after: Timestamp,
    max_releases: Option<u64>,
) -> WarrantPayload {
    WarrantPayload {
        version: Default::default(),
        warrant_id: id.to_string(),
        case_reference: "OP-DEMO-2026-017".into(),
        warrant_type: "targeted-interception".into(),
        legal_basis: "IPA 2016 s.15(2)".into(),
        issuing_authority: "Secretary of State".into(),
        scope: Scope {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            message_ids: vec![],
            window,
        },
        investigator_key: investigator.public().to_pem(),
        not_before,
        not_after,
        max_releases,
        urgent: false,
        parent_warrant_id: None,
    }
}

pub fn sign(
    p: &WarrantPayload,
    issuer: &PrivateKey,
    judge: Option<&PrivateKey>,
) -> Result<WarrantEnvelope> {
    let mut env =
        WarrantEnvelope::sign_new(p, issuer, Role::Issuer).map_err(|r| anyhow::anyhow!("{r}"))?;
    if let Some(j) = judge {
        env.add_signature(j, Role::Judicial)
            .map_err(|r| anyhow::anyhow!("{r}"))?;
    }
    Ok(env)
}

/// A client of a lab node (typed answers, bounded retries).
/// The CA certificate the lab's clients pin (`ClientConfig::ca_pem`): set by the demo when its
/// nodes serve HTTPS with a CA made for the run ([`crate::demo_tls`]); plain-HTTP nodes do not
/// use it.
static PINNED_CA: std::sync::RwLock<Option<Vec<u8>>> = std::sync::RwLock::new(None);

/// Pin `ca_pem` for every client the lab makes from now on.
pub fn pin_ca(ca_pem: Vec<u8>) {
    *PINNED_CA.write().unwrap_or_else(|p| p.into_inner()) = Some(ca_pem);
}

/// The client settings of the lab: the defaults, with the pinned CA ([`pin_ca`]).
pub fn client_config() -> escrow_client::ClientConfig {
    escrow_client::ClientConfig {
        ca_pem: PINNED_CA.read().unwrap_or_else(|p| p.into_inner()).clone(),
        ..escrow_client::ClientConfig::default()
    }
}

pub fn node(url: &str) -> Result<escrow_client::NodeClient> {
    let cfg = escrow_client::ClientConfig {
        timeout: Duration::from_secs(30),
        ..client_config()
    };
    escrow_client::NodeClient::new(url, &cfg).with_context(|| url.to_string())
}

/// The trustees' policy of the demo and the experiments: the Secretary of State issues, a
/// Judicial Commissioner approves, both must sign (the double lock), default limits; the
/// oversight key (the Investigatory Powers Commissioner) may read every warrant.
pub fn double_lock_policy(
    sos: &PrivateKey,
    jc: &PrivateKey,
    oversight: &PrivateKey,
) -> Result<Policy> {
    Policy::new(
        vec![
            Authority {
                name: "Secretary of State".into(),
                role: Role::Issuer,
                key: sos.public(),
            },
            Authority {
                name: "Judicial Commissioner".into(),
                role: Role::Judicial,
                key: jc.public(),
            },
        ],
        vec![Role::Issuer, Role::Judicial],
        PolicyLimits::default(),
    )
    .and_then(|p| {
        p.with_oversight(vec![escrow_core::warrant::Oversight {
            name: "Investigatory Powers Commissioner".into(),
            key: oversight.public(),
        }])
    })
    .map_err(|r| anyhow::anyhow!("policy: {r}"))
}
