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
use escrow_core::trustee::{Holder, TrusteeSet};
use std::time::{Duration, Instant};

/// How long a coordinator waits, after finalise failed at a new set's trustee, for that node
/// to show the new set in its signed `/v1/info`: a node stopped after its commit point
/// finishes the ceremony when started again (docs/protocol.md §16.11).
pub const RESUME_WAIT: Duration = Duration::from_secs(15);

/// What a ceremony run does besides relaying: a hook before finalise and the resume wait.
pub struct Steps<'a> {
    /// Called once round 3 is complete and checked, before any finalise request is sent
    /// (tests stop a node there).
    pub before_finalise: Box<dyn FnMut() + 'a>,
    /// How long to wait for nodes whose finalise failed to show the new set ([`RESUME_WAIT`]).
    pub resume_wait: Duration,
}

impl Default for Steps<'_> {
    fn default() -> Self {
        Steps {
            before_finalise: Box::new(|| {}),
            resume_wait: RESUME_WAIT,
        }
    }
}

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
    /// Finalise failed at some nodes after the round-3 certificate was complete: the nodes
    /// listed as finalised may now hold the new set (docs/protocol.md §16.11).
    #[error(
        "finalise failed at {failed}; finalised: {finalised} (set {set}). No set file is written; a node that did not finalise either resumes when restarted or refuses to start naming the ceremony (docs/protocol.md §16.11)"
    )]
    Unfinished {
        /// The positions that failed, each with its URL and error.
        failed: String,
        /// The positions that finalised ("none" if none did).
        finalised: String,
        /// The set id the ceremony determined (short).
        set: String,
    },
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

impl CeremonyError {
    /// The participants named as culprits: the node that failed or finalised another set, or
    /// those the relayed messages show at fault ([`DkgError::culprits`]).
    pub fn culprits(&self) -> Vec<u16> {
        match self {
            CeremonyError::Node { index, .. } | CeremonyError::Mismatch { index, .. } => {
                vec![*index]
            }
            CeremonyError::Dkg(e) => e.culprits(),
            // Finalise failing at some nodes (an outage as likely as a fault): no one named.
            CeremonyError::Unfinished { .. } => Vec::new(),
        }
    }

    /// Did a node refuse because its policy's custody rule forbids the set (403
    /// `custody-refused`)?
    pub fn policy_refusal(&self) -> bool {
        matches!(
            self,
            CeremonyError::Node {
                source: ClientError::Status { status: 403, code, .. },
                ..
            } if code.as_str() == "custody-refused"
        )
    }

    /// The one participant named as the culprit, if exactly one is.
    pub fn culprit(&self) -> Option<u16> {
        match self.culprits().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

/// One step of a ceremony as the coordinator saw it: its wall time and the request and
/// answer bodies (bytes, HTTP headers not counted) it sent to and received from every node.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RoundCost {
    /// `round1`, `round2`, `round3` or `finalise` (the resume wait included).
    pub round: &'static str,
    /// Wall time of the step, seconds (every node's request at once, the coordinator's checks).
    pub seconds: f64,
    /// Request bodies sent, all nodes.
    pub sent: u64,
    /// Answer bodies received, all nodes.
    pub received: u64,
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
    /// Each round's cost, in order (round 1, 2, 3, finalise).
    pub rounds: Vec<RoundCost>,
    /// Positions whose finalise answer failed but which then showed the new set in their
    /// signed `/v1/info` (they resumed from their journal, docs/protocol.md §16.11).
    pub resumed: Vec<u16>,
}

/// Which ceremony an [`Outcome`] is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A key generation ([`run_dkg`]).
    Dkg,
    /// A proactive refresh ([`run_refresh`]).
    Refresh,
    /// A reshare to new trustees ([`run_reshare`]).
    Reshare,
}

impl Outcome {
    /// The certificate's file name: `keygen-certificate.json` for a key generation,
    /// `refresh-certificate-<ID>.json` and `reshare-certificate-<ID>.json` (ID: the first 16
    /// hex digits of the new set's id) for a refresh and a reshare, as the nodes name them.
    pub fn certificate_file_name(&self, kind: Kind) -> String {
        let id = self.set.id().to_hex();
        let id = id.get(..16).unwrap_or_default();
        match kind {
            Kind::Dkg => "keygen-certificate.json".to_string(),
            Kind::Refresh => format!("refresh-certificate-{id}.json"),
            Kind::Reshare => format!("reshare-certificate-{id}.json"),
        }
    }

    /// The old trustees that dealt (a reshare; empty otherwise).
    pub fn dealers(&self) -> Vec<u16> {
        self.certificate
            .params
            .dealers
            .iter()
            .map(|d| d.index)
            .collect()
    }

    /// The JSON report: the new set, the transcript, the files written (`set_file`,
    /// `certificate_file`), the bytes on the wire; for a refresh or reshare the `previous` set
    /// and the lineage, for a reshare the dealers.
    pub fn to_json(
        &self,
        kind: Kind,
        previous: Option<&TrusteeSet>,
        set_file: &std::path::Path,
        certificate_file: &std::path::Path,
    ) -> serde_json::Value {
        let mut v = serde_json::json!({
            "ok": true,
            "set_id": self.set.id(),
            "threshold": self.set.threshold(),
            "trustees": self.set.trustees(),
            "transcript": self.certificate.transcript,
            "out": set_file,
            "certificate": certificate_file,
            "bytes_sent": self.bytes.0,
            "bytes_received": self.bytes.1,
        });
        if let (Some(prev), Some(m)) = (previous, v.as_object_mut()) {
            m.insert("previous_set_id".into(), serde_json::json!(prev.id()));
            m.insert("lineage".into(), serde_json::json!(self.set.lineage()));
            if kind == Kind::Reshare {
                m.insert("dealers".into(), serde_json::json!(self.dealers()));
            }
        }
        v
    }
}

/// `f` on every node at once, each answer in node order.
fn each<T: Send>(
    nodes: &[NodeClient],
    f: impl Fn(&NodeClient) -> Result<T, ClientError> + Sync,
) -> Vec<Result<T, ClientError>> {
    std::thread::scope(|s| {
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
    })
}

fn all<T: Send>(
    nodes: &[NodeClient],
    f: impl Fn(&NodeClient) -> Result<T, ClientError> + Sync,
) -> Result<Vec<T>, CeremonyError> {
    each(nodes, f)
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

/// The holders the new trustees named (participant i = `ids[i-1]`): every one of them, or none
/// (a set names who holds every share or no share; the first node without one is named).
fn holders(ids: &[wire::Identity]) -> Result<Vec<Holder>, CeremonyError> {
    let named: Vec<Option<&Holder>> = ids
        .iter()
        .map(wire::Identity::checked_holder)
        .collect::<Result<_, _>>()?;
    if named.iter().all(Option::is_none) {
        return Ok(Vec::new());
    }
    named
        .into_iter()
        .zip(1u16..)
        .map(|(h, i)| {
            h.cloned().ok_or_else(|| {
                DkgError::InvalidParams(format!(
                    "participant {i} names no organisation and jurisdiction while others do (trustee-node init --dkg --organisation --jurisdiction)"
                ))
                .into()
            })
        })
        .collect()
}

/// Run a key generation with threshold `k` among `nodes` (participant i = `nodes[i-1]`),
/// requests signed by `key`.
pub fn run_dkg(
    nodes: &[NodeClient],
    threshold: u16,
    key: &PrivateKey,
) -> Result<Outcome, CeremonyError> {
    run_dkg_with(nodes, threshold, key, Steps::default())
}

/// [`run_dkg`] with its [`Steps`].
pub fn run_dkg_with(
    nodes: &[NodeClient],
    threshold: u16,
    key: &PrivateKey,
    steps: Steps<'_>,
) -> Result<Outcome, CeremonyError> {
    let ids: Vec<wire::Identity> = all(nodes, |n| n.get_typed(wire::IDENTITY))?;
    let params = SessionParams::keygen(
        threshold,
        ids.iter().map(|i| i.signing_key).collect(),
        &mut rand::rng(),
    )?
    .with_holders(holders(&ids)?)?;
    run_rounds(nodes, &params, None, key, steps)
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
    run_refresh_with(nodes, set, key, Steps::default())
}

/// [`run_refresh`] with its [`Steps`].
pub fn run_refresh_with(
    nodes: &[NodeClient],
    set: &TrusteeSet,
    key: &PrivateKey,
    steps: Steps<'_>,
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
        // Over HTTPS, the node's TLS key must be the one its trustee bound.
        n.bind_tls(info).map_err(|e| wrong(e.to_string()))?;
    }
    let params = SessionParams::refresh(set, &mut rand::rng())?;
    run_rounds(nodes, &params, Some(set), key, steps)
}

/// Check that each of `nodes` is the trustee of `set` listed at the same place in `indices`
/// (its signed `/v1/info`, checked against the set).
fn check_trustees(
    nodes: &[NodeClient],
    indices: &[u16],
    set: &TrusteeSet,
) -> Result<(), CeremonyError> {
    let infos = all(nodes, NodeClient::info)?;
    for (((info, n), &want), pos) in infos.iter().zip(nodes).zip(indices).zip(1u16..) {
        let wrong = |why: String| CeremonyError::Node {
            index: pos,
            url: n.url().to_string(),
            source: ClientError::Malformed {
                url: n.url().to_string(),
                detail: why,
            },
        };
        if info.trustee != want {
            return Err(wrong(format!(
                "it is trustee {}, given as trustee {want}",
                info.trustee
            )));
        }
        info.verify(set).map_err(|e| wrong(e.to_string()))?;
        // Over HTTPS, the node's TLS key must be the one its trustee bound.
        n.bind_tls(info).map_err(|e| wrong(e.to_string()))?;
    }
    Ok(())
}

/// Reshare `set` to new trustees: `dealers` are at least k of its trustees' nodes (each
/// node's `/v1/info` names its index in `set`; they are sorted by it), `receivers` the new
/// trustees' nodes (made with `trustee-node init --dkg --reshare-of`), trustee i of the new
/// set = `receivers[i-1]`, with threshold `threshold`. The new set has the same escrow key;
/// the new trustees finalise first (each stores its share), and only after every one of them
/// did do the dealers destroy their old shares and log it.
pub fn run_reshare(
    dealers: &[NodeClient],
    receivers: &[NodeClient],
    set: &TrusteeSet,
    threshold: u16,
    key: &PrivateKey,
) -> Result<Outcome, CeremonyError> {
    run_reshare_with(dealers, receivers, set, threshold, key, Steps::default())
}

/// [`run_reshare`] with its [`Steps`].
pub fn run_reshare_with(
    dealers: &[NodeClient],
    receivers: &[NodeClient],
    set: &TrusteeSet,
    threshold: u16,
    key: &PrivateKey,
    steps: Steps<'_>,
) -> Result<Outcome, CeremonyError> {
    let infos = all(dealers, NodeClient::info)?;
    let mut order: Vec<(u16, &NodeClient)> = infos.iter().map(|i| i.trustee).zip(dealers).collect();
    order.sort_by_key(|(i, _)| *i);
    let indices: Vec<u16> = order.iter().map(|(i, _)| *i).collect();
    let dealers: Vec<NodeClient> = order.into_iter().map(|(_, n)| n.clone()).collect();
    check_trustees(&dealers, &indices, set)?;
    let ids: Vec<wire::Identity> = all(receivers, |n| n.get_typed(wire::IDENTITY))?;
    let params = SessionParams::reshare(
        set,
        &indices,
        threshold,
        ids.iter().map(|i| i.signing_key).collect(),
        &mut rand::rng(),
    )?
    .with_holders(holders(&ids)?)?;
    let mut nodes = dealers;
    nodes.extend(receivers.iter().cloned());
    run_rounds(&nodes, &params, Some(set), key, steps)
}

/// A finalise whose answer failed: did the node still finish? A new set's trustee stopped
/// after its commit point resumes from its journal when started again (docs/protocol.md
/// §16.11) and then serves the new set: its signed `/v1/info`, checked against the set,
/// names trustee `index`. (A reshare's dealer does not serve again: never confirmed here.)
fn finished_anyway(n: &NodeClient, index: u16, set: &TrusteeSet) -> bool {
    n.info()
        .is_ok_and(|info| info.trustee == index && info.verify(set).is_ok())
}

/// Send finalise to every one of `nodes` (positions from `offset + 1`). Positions whose
/// answer failed are asked for their `/v1/info` until `wait` has passed: those serving the new
/// set finished (they resumed, listed in the second value); if any remain, say which finalised
/// and which did not.
fn finalise_all(
    nodes: &[NodeClient],
    offset: usize,
    body: &str,
    key: &PrivateKey,
    expected: (&SessionParams, &TrusteeSet, &escrow_core::codec::Digest32),
    wait: Duration,
) -> Result<(Vec<wire::Finalised>, Vec<u16>), CeremonyError> {
    let (params, set, transcript) = expected;
    let results: Vec<Result<wire::Finalised, ClientError>> =
        each(nodes, |n| n.post_signed(wire::FINALISE, body, key));
    let positions = (offset + 1..).map(|p| u16::try_from(p).unwrap_or(u16::MAX));
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for ((r, n), pos) in results.into_iter().zip(nodes).zip(positions) {
        match r {
            Ok(f) => out.push(Some(f)),
            Err(e) => {
                out.push(None);
                failed.push((out.len() - 1, pos, n, e));
            }
        }
    }
    let deadline = Instant::now() + wait;
    let mut resumed = Vec::new();
    while !failed.is_empty() {
        failed.retain(|(slot, pos, n, _)| {
            let Some(index) = params.receiver_index(*pos) else {
                return true;
            };
            if !finished_anyway(n, index, set) {
                return true;
            }
            if let Some(s) = out.get_mut(*slot) {
                *s = Some(wire::Finalised {
                    version: V1::default(),
                    trustee: index,
                    set_id: set.id(),
                    transcript: *transcript,
                });
            }
            resumed.push(*pos);
            false
        });
        let can_resume = failed
            .iter()
            .any(|(_, pos, ..)| params.receiver_index(*pos).is_some());
        if failed.is_empty() || !can_resume || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if failed.is_empty() {
        return Ok((out.into_iter().flatten().collect(), resumed));
    }
    let finalised: Vec<String> = out
        .iter()
        .zip(offset + 1..)
        .filter(|(f, _)| f.is_some())
        .map(|(_, pos)| pos.to_string())
        .collect();
    Err(CeremonyError::Unfinished {
        failed: failed
            .iter()
            .map(|(_, pos, n, e)| format!("{pos} ({}): {e}", n.url()))
            .collect::<Vec<_>>()
            .join("; "),
        finalised: if finalised.is_empty() {
            "none".into()
        } else {
            finalised.join(", ")
        },
        set: set.id().short(),
    })
}

/// The coordinator's traffic and time per step of a ceremony.
struct Meter<'a> {
    nodes: &'a [NodeClient],
    at: Instant,
    bytes: (u64, u64),
    rounds: Vec<RoundCost>,
}

impl<'a> Meter<'a> {
    fn new(nodes: &'a [NodeClient]) -> Self {
        let mut m = Meter {
            nodes,
            at: Instant::now(),
            bytes: (0, 0),
            rounds: Vec::new(),
        };
        m.restart();
        m
    }

    fn totals(&self) -> (u64, u64) {
        self.nodes.iter().fold((0, 0), |(s, r), n| {
            (s + n.traffic().sent(), r + n.traffic().received())
        })
    }

    /// Start timing the next step from now (a hook's time is not the ceremony's).
    fn restart(&mut self) {
        self.at = Instant::now();
        self.bytes = self.totals();
    }

    /// The step `round` ended now.
    fn step(&mut self, round: &'static str) {
        let (s, r) = self.totals();
        self.rounds.push(RoundCost {
            round,
            seconds: self.at.elapsed().as_secs_f64(),
            sent: s.saturating_sub(self.bytes.0),
            received: r.saturating_sub(self.bytes.1),
        });
        self.restart();
    }
}

/// Relay the three rounds and the finalise step of the ceremony `params`.
fn run_rounds(
    nodes: &[NodeClient],
    params: &SessionParams,
    previous: Option<&TrusteeSet>,
    key: &PrivateKey,
    mut steps: Steps<'_>,
) -> Result<Outcome, CeremonyError> {
    let params = params.clone();
    let session = params.session_id();
    let mut meter = Meter::new(nodes);
    let (start, body) = match (params.kind, previous) {
        (dkg::CeremonyKind::Reshare, Some(prev)) => (
            wire::RESHARE_ROUND1,
            escrow_core::codec::to_json(&wire::ReshareStart {
                version: V1::default(),
                params: params.clone(),
                previous: serde_json::from_str(&prev.to_json()).map_err(|e| {
                    DkgError::InvalidParams(format!("the previous set as JSON: {e}"))
                })?,
            }),
        ),
        _ => (wire::ROUND1, escrow_core::codec::to_json(&params)),
    };
    let r1: Vec<dkg::Round1> = all(nodes, |n| n.post_signed(start, &body, key))?;
    check(dkg::check_round1(&params, &r1))?;
    // public once round 1 is in (a reshare dealer with a wrong constant term is named here)
    let set = dkg::resulting_set(&params, &r1, previous)?;
    meter.step("round1");
    let d1 = dkg::round1_digest(&r1);
    let body = escrow_core::codec::to_json(&wire::Relay {
        version: V1::default(),
        session,
        messages: r1.clone(),
    });
    let r2: Vec<dkg::Round2> = all(nodes, |n| n.post_signed(wire::ROUND2, &body, key))?;
    check(dkg::check_round2(&params, &d1, &r2))?;
    let transcript = dkg::transcript_digest(&session, &d1, &dkg::round2_digest(&r2));
    meter.step("round2");
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
    meter.step("round3");
    let body = escrow_core::codec::to_json(&wire::Relay {
        version: V1::default(),
        session,
        messages: r3,
    });
    (steps.before_finalise)();
    meter.restart();
    // the new set's trustees first; a reshare's dealers destroy their shares only after
    // every one of them stored its new share
    let m = params.dealers.len();
    let (dealing, receiving) = nodes.split_at(m.min(nodes.len()));
    let expected = (&params, &set, &transcript);
    let (mut fin, mut resumed) =
        finalise_all(receiving, m, &body, key, expected, steps.resume_wait)?;
    let (done, mut resumed_dealers) =
        finalise_all(dealing, 0, &body, key, expected, steps.resume_wait)?;
    resumed.append(&mut resumed_dealers);
    resumed.sort_unstable();
    meter.step("finalise");
    let mut ordered = done;
    ordered.append(&mut fin);
    for ((f, n), pos) in ordered.iter().zip(nodes).zip(1u16..) {
        let index = params
            .receiver_index(pos)
            .or_else(|| params.dealers.get(usize::from(pos) - 1).map(|d| d.index));
        let index = index.unwrap_or(0);
        if f.set_id != set.id() || f.trustee != index || f.transcript != transcript {
            return Err(CeremonyError::Mismatch {
                index: pos,
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
        rounds: meter.rounds,
        resumed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use escrow_core::dkg::{Fault, FaultKind};

    #[test]
    fn culprit_names_the_failing_or_faulty_participant() {
        let node = CeremonyError::Node {
            index: 2,
            url: "https://t2".into(),
            source: ClientError::Unreachable {
                url: "https://t2".into(),
                detail: String::new(),
            },
        };
        assert_eq!(node.culprit(), Some(2));
        let mismatch = CeremonyError::Mismatch {
            index: 3,
            url: String::new(),
            found: String::new(),
            expected: String::new(),
        };
        assert_eq!(mismatch.culprit(), Some(3));
        let fault = |participant| Fault {
            participant,
            kind: FaultKind::BadEphemeralProof,
        };
        let one = CeremonyError::Dkg(DkgError::Aborted(vec![fault(4)]));
        assert_eq!(one.culprit(), Some(4));
        let two = CeremonyError::Dkg(DkgError::Aborted(vec![fault(1), fault(4)]));
        assert_eq!((two.culprits(), two.culprit()), (vec![1, 4], None));
    }
}
