//! The ceremony coordinator: relays the rounds of a distributed key generation
//! (`escrow_core::dkg`) between trustee nodes made with `trustee-node init --dkg`.
//!
//! The coordinator is untrusted: it sees only public round messages (shares travel encrypted
//! pairwise), every message is signed by its sender, and it cannot make the run succeed with a
//! set the nodes did not all compute: each node checks every message itself and certifies the
//! transcript and set id it computed. The coordinator checks everything it relays as well, so
//! a fault is named here before the next round is sent. Its requests are signed with its key,
//! which the nodes were given at `init --dkg --coordinator-key`.

use crate::{ClientError, NodeClient};
use escrow_core::codec::V1;
use escrow_core::dkg::{self, Certificate, DkgError, SessionParams, wire};
use escrow_core::keys::PrivateKey;
use escrow_core::trustee::TrusteeSet;

/// Why a ceremony failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// A node failed or refused (its answer names what it found).
    #[error("trustee {index} ({url}): {source}")]
    Node {
        /// The participant index.
        index: u16,
        /// Its URL.
        url: String,
        /// What happened.
        source: ClientError,
    },
    /// The relayed messages show a fault (the culprits are named).
    #[error(transparent)]
    Dkg(#[from] DkgError),
    /// A node's final answer differs from the set the ceremony produced.
    #[error("trustee {index} ({url}) finalised set {found}, not the ceremony's {expected}")]
    Mismatch {
        /// The participant index.
        index: u16,
        /// Its URL.
        url: String,
        /// The set id it reported.
        found: String,
        /// The set id the messages determine.
        expected: String,
    },
}

/// A finished ceremony.
#[derive(Debug)]
pub struct Outcome {
    /// The trustee set (`trustee-set.json`).
    pub set: TrusteeSet,
    /// The certificate (`keygen-certificate.json`).
    pub certificate: Certificate,
    /// Bytes sent to and received from all nodes.
    pub bytes: (u64, u64),
}

fn all<T: Send>(
    nodes: &[NodeClient],
    f: impl Fn(&NodeClient) -> Result<T, ClientError> + Sync,
) -> Result<Vec<T>, CeremonyError> {
    let results: Vec<Result<T, ClientError>> = std::thread::scope(|s| {
        let handles: Vec<_> = nodes.iter().map(|n| s.spawn(|| f(n))).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(ClientError::Malformed {
                        url: String::new(),
                        detail: "request thread failed".into(),
                    })
                })
            })
            .collect()
    });
    results
        .into_iter()
        .zip(nodes)
        .zip(1u16..)
        .map(|((r, n), index)| {
            r.map_err(|source| CeremonyError::Node {
                index,
                url: n.url().to_string(),
                source,
            })
        })
        .collect()
}

fn check(faults: Vec<dkg::Fault>) -> Result<(), CeremonyError> {
    if faults.is_empty() {
        Ok(())
    } else {
        Err(DkgError::Aborted(faults).into())
    }
}

/// Run a key generation with threshold `k` among `nodes` (participant i = `nodes[i-1]`),
/// requests signed by `key`.
pub fn run_dkg(
    nodes: &[NodeClient],
    threshold: u16,
    key: &PrivateKey,
) -> Result<Outcome, CeremonyError> {
    let ids: Vec<wire::Identity> = all(nodes, |n| n.get_typed(wire::IDENTITY))?;
    let params = SessionParams::keygen(
        threshold,
        ids.iter().map(|i| i.signing_key).collect(),
        &mut rand::rng(),
    )?;
    run_rounds(nodes, &params, None, key)
}

/// Refresh `set` among its trustees' `nodes` (trustee i = `nodes[i-1]`, every trustee takes
/// part): each deals a sharing of zero, the escrow key stays, every share changes, and each
/// node destroys its old share and logs it. Each node's `/v1/info` must be trustee i of `set`
/// (its answer checked against the set) before anything is sent.
pub fn run_refresh(
    nodes: &[NodeClient],
    set: &TrusteeSet,
    key: &PrivateKey,
) -> Result<Outcome, CeremonyError> {
    if nodes.len() != usize::from(set.trustees()) {
        return Err(DkgError::InvalidParams(format!(
            "a refresh needs every trustee of the set: {} given, the set has {}",
            nodes.len(),
            set.trustees()
        ))
        .into());
    }
    let infos = all(nodes, NodeClient::info)?;
    for ((info, n), index) in infos.iter().zip(nodes).zip(1u16..) {
        let wrong = |why: String| CeremonyError::Node {
            index,
            url: n.url().to_string(),
            source: ClientError::Malformed {
                url: n.url().to_string(),
                detail: why,
            },
        };
        if info.trustee != index {
            return Err(wrong(format!(
                "it is trustee {}, given as trustee {index} (list the nodes in trustee order)",
                info.trustee
            )));
        }
        info.verify(set).map_err(|e| wrong(e.to_string()))?;
    }
    let params = SessionParams::refresh(set, &mut rand::rng())?;
    run_rounds(nodes, &params, Some(set), key)
}

/// Relay the three rounds and the finalise step of the ceremony `params`.
fn run_rounds(
    nodes: &[NodeClient],
    params: &SessionParams,
    previous: Option<&TrusteeSet>,
    key: &PrivateKey,
) -> Result<Outcome, CeremonyError> {
    let params = params.clone();
    let session = params.session_id();
    let body = escrow_core::codec::to_json(&params);
    let r1: Vec<dkg::Round1> = all(nodes, |n| n.post_signed(wire::ROUND1, &body, key))?;
    check(dkg::check_round1(&params, &r1))?;
    let d1 = dkg::round1_digest(&r1);
    let body = escrow_core::codec::to_json(&wire::Relay {
        version: V1::default(),
        session,
        messages: r1.clone(),
    });
    let r2: Vec<dkg::Round2> = all(nodes, |n| n.post_signed(wire::ROUND2, &body, key))?;
    check(dkg::check_round2(&params, &d1, &r2))?;
    let transcript = dkg::transcript_digest(&session, &d1, &dkg::round2_digest(&r2));
    let set = dkg::resulting_set(&params, &r1, previous)?;
    let body = escrow_core::codec::to_json(&wire::Relay {
        version: V1::default(),
        session,
        messages: r2.clone(),
    });
    let r3: Vec<dkg::Round3> = all(nodes, |n| n.post_signed(wire::ROUND3, &body, key))?;
    check(dkg::check_round3(&params, &transcript, &set.id(), &r3))?;
    let judged: Vec<dkg::Fault> = r3
        .iter()
        .flat_map(|m| {
            m.complaints
                .iter()
                .map(|c| dkg::judge_complaint(&params, &r1, &r2, m.sender, c))
        })
        .collect();
    check(judged)?;
    let certificate = dkg::assemble_certificate(&params, &set, &transcript, &r3)?;
    let body = escrow_core::codec::to_json(&wire::Relay {
        version: V1::default(),
        session,
        messages: r3,
    });
    let fin: Vec<wire::Finalised> = all(nodes, |n| n.post_signed(wire::FINALISE, &body, key))?;
    for ((f, n), index) in fin.iter().zip(nodes).zip(1u16..) {
        if f.set_id != set.id() || f.trustee != index || f.transcript != transcript {
            return Err(CeremonyError::Mismatch {
                index,
                url: n.url().to_string(),
                found: f.set_id.short(),
                expected: set.id().short(),
            });
        }
    }
    let bytes = nodes.iter().fold((0, 0), |(s, r), n| {
        (s + n.traffic().sent(), r + n.traffic().received())
    });
    Ok(Outcome {
        set,
        certificate,
        bytes,
    })
}
