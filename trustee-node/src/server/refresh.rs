//! The ceremony endpoints of a serving node: a refresh of its set, or a reshare in which it
//! deals its share to a new set. The rounds, checks and request authentication are the
//! ceremony's ([`crate::ceremony`]); this module applies the result to the running node and
//! to its state folder.

use super::Node;
use crate::api::ApiError;
use crate::ceremony::{
    COORDINATORS_FILE, CoordinatorsFile, Rounds, authenticate, check_custody,
    check_threshold_change, conflict, parse_params, parse_reshare, signed_answer,
};
use crate::error::NodeError;
use crate::sealed::{SealedSecrets, SecretBundle};
use crate::state::journal::{
    JOURNAL_FILE, Journal, RETIRED_FILE, RetiredFile, apply_refresh_files, remove_state_file,
    write_journal,
};
use crate::state::{self, now};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use escrow_core::audit::LogEntry;
use escrow_core::auth::NonceCache;
use escrow_core::codec::{Digest32, V1};
use escrow_core::dkg::{self, DkgError, wire};
use escrow_core::keys::PublicKey;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// Refresh ceremonies on a serving node (`escrow ceremony refresh`): the node deals a sharing
/// of zero, checks every other trustee's, and on success replaces its set, certificate and
/// sealed share in place, logs `keygen` (the refresh's transcript), `setup` (the new set) and
/// `share-destroyed` (the old set), stops releasing, and asks [`crate::run`] to reload its
/// state; the old share is dropped (zeroized) with the old node. Only the coordinator keys in
/// [`COORDINATORS_FILE`] may drive it; a node without that file refuses every ceremony.
pub struct Refresher {
    coordinators: Vec<PublicKey>,
    reseal: state::Reseal,
    nonces: Mutex<NonceCache>,
    rounds: Rounds,
    retired: std::sync::atomic::AtomicBool,
    handed_over: std::sync::atomic::AtomicBool,
    reload: tokio::sync::watch::Sender<bool>,
}

impl core::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Refresher {{ coordinators: {}, retired: {}, secrets: [REDACTED] }}",
            self.coordinators.len(),
            self.retired()
        )
    }
}

impl Refresher {
    pub(crate) fn new(state_dir: &Path, reseal: state::Reseal) -> Result<Self, NodeError> {
        let p = state_dir.join(COORDINATORS_FILE);
        let coordinators = if p.exists() {
            let text = std::fs::read_to_string(&p).map_err(|e| NodeError::io(&p, e))?;
            let f: CoordinatorsFile = serde_json::from_str(&text)
                .map_err(|e| NodeError::State(format!("{COORDINATORS_FILE}: {e}")))?;
            f.coordinator_keys
        } else {
            Vec::new()
        };
        let (reload, _) = tokio::sync::watch::channel(false);
        Ok(Refresher {
            coordinators,
            reseal,
            nonces: Mutex::new(NonceCache::new(
                now(),
                escrow_core::auth::DEFAULT_NONCE_CAPACITY,
            )),
            rounds: Rounds::new(state_dir),
            retired: std::sync::atomic::AtomicBool::new(false),
            handed_over: std::sync::atomic::AtomicBool::new(false),
            reload,
        })
    }

    /// Has a reshare handed this node's share to a new set (and destroyed it)? Then the node
    /// releases nothing, and does not start again ([`RETIRED_FILE`]).
    pub fn handed_over(&self) -> bool {
        self.handed_over.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Has a refresh replaced this node's share (it releases nothing until reloaded)?
    pub fn retired(&self) -> bool {
        self.retired.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The refresh or reshare session whose new set this node certified at round 3 and which
    /// has not finalised here nor been abandoned (a new session's round 1): it releases nothing
    /// meanwhile (503 `ceremony-pending`), since the other trustees may already have moved to
    /// the new set and destroyed their old shares.
    pub fn ceremony_pending(&self) -> Option<Digest32> {
        self.rounds.certified()
    }

    /// Turns true when a refresh finished and the node must reload its state folder.
    pub fn reload_requested(&self) -> tokio::sync::watch::Receiver<bool> {
        self.reload.subscribe()
    }

    fn authenticate(&self, headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Result<(), ApiError> {
        if self.coordinators.is_empty() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "no-coordinator",
                format!(
                    "this node has no coordinator keys ({COORDINATORS_FILE}): it takes part in no ceremony"
                ),
            ));
        }
        authenticate(&self.coordinators, &self.nonces, headers, uri, body)
    }
}

type NodeRef = Arc<Node>;

fn refresh_round1(node: &Node, body: &[u8]) -> Result<dkg::Round1, ApiError> {
    let r = node.refresher();
    let params = parse_params(body)?;
    if params.kind != dkg::CeremonyKind::Refresh {
        return Err(conflict(
            "this node already serves a set: only a refresh of it can run",
        ));
    }
    if r.retired() || r.handed_over() {
        return Err(conflict(
            "this node's share was just refreshed or handed over: it takes part in no ceremony",
        ));
    }
    check_custody(node.policy(), &params)?;
    r.rounds.begin(params, |params| {
        dkg::start_refresh(
            params,
            node.share().index(),
            node.signing().clone(),
            node.set().clone(),
            node.share().clone(),
            &mut rand::rng(),
        )
    })
}

/// A reshare's first round on a serving node (a dealer): only of the set it serves, with its
/// own index and key among the dealers; the threshold as its policy allows.
fn reshare_round1(node: &Node, body: &[u8]) -> Result<dkg::Round1, ApiError> {
    let r = node.refresher();
    let (params, previous) = parse_reshare(body)?;
    if previous.id() != node.set().id() {
        return Err(conflict(&format!(
            "this node serves set {}, not set {}",
            node.set().id().short(),
            previous.id().short()
        )));
    }
    if r.retired() || r.handed_over() {
        return Err(conflict(
            "this node's share was just refreshed or handed over: it takes part in no ceremony",
        ));
    }
    check_threshold_change(node.policy(), &previous, &params)?;
    check_custody(node.policy(), &params)?;
    let me = node.share().index();
    r.rounds.begin(params, |params| {
        let pos = params
            .dealers
            .iter()
            .position(|d| d.index == me && d.signing_key == node.signing().public())
            .and_then(|p| u16::try_from(p + 1).ok())
            .ok_or_else(|| {
                DkgError::NotAParticipant(format!(
                    "the parameters do not list trustee {me} with this node's signing key among the dealers"
                ))
            })?;
        dkg::start_reshare(
            params,
            pos,
            node.signing().clone(),
            previous,
            Some(node.share().clone()),
            &mut rand::rng(),
        )
    })
}

/// A reshare's dealer after every check passed: stop releasing, write [`RETIRED_FILE`],
/// replace the sealed secrets with ones without the share (signing and log keys kept, so the
/// log can still be served and verified), keep the reshare's certificate, and log keygen
/// (the reshare's transcript) and share-destroyed (the old set). The share itself is zeroized
/// when the node stops.
fn complete_reshare_dealer(
    node: &Node,
    out: &dkg::DkgOutput,
) -> Result<wire::Finalised, NodeError> {
    let r = node.refresher();
    let dir = node.state_dir();
    let old = node.set().id();
    let index = node.share().index();
    r.handed_over
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let t = now();
    state::replace_file(
        &dir.join(format!(
            "reshare-certificate-{}.json",
            &out.set.id().to_hex()[..16]
        )),
        out.certificate.to_json().as_bytes(),
        false,
    )?;
    // the commit point: a dealer stopped after it completes the destruction when started
    // again (state::load)
    state::write_file(
        &dir.join(RETIRED_FILE),
        escrow_core::codec::to_json_pretty(&RetiredFile {
            version: V1::default(),
            old_set_id: old,
            new_set_id: out.set.id(),
            transcript: out.certificate.transcript,
            time: t,
        })
        .as_bytes(),
        false,
    )?;
    let bundle = SecretBundle {
        key_share: String::new(),
        signing_key: node.signing().to_pem()?.to_string(),
        log_key: hex::encode(*node.log_key().seed()),
    };
    let sealed = SealedSecrets::seal(&bundle, old, index, &r.reseal.passphrase, r.reseal.cost)?;
    drop(bundle);
    state::replace_file(
        &dir.join(state::SECRETS_FILE),
        escrow_core::codec::to_json_pretty(&sealed).as_bytes(),
        true,
    )?;
    node.append(vec![
        LogEntry::keygen(0, t, out.certificate.transcript),
        LogEntry::share_destroyed(0, t, old),
    ])
    .map_err(|e| NodeError::State(format!("logging the reshare: {}", e.message)))?;
    Ok(wire::Finalised {
        version: V1::default(),
        trustee: index,
        set_id: out.set.id(),
        transcript: out.certificate.transcript,
    })
}

/// Replace the set, certificate and sealed share in place (each file atomically), then log
/// keygen (transcript), setup (new set) and share-destroyed (old set).
fn complete_refresh(node: &Node, out: &dkg::DkgOutput) -> Result<wire::Finalised, NodeError> {
    let Some(share) = &out.share else {
        return complete_reshare_dealer(node, out);
    };
    let r = node.refresher();
    let dir = node.state_dir();
    let old = node.set().id();
    let index = share.index();
    let bundle = SecretBundle {
        key_share: share.to_key_share().to_json().to_string(),
        signing_key: node.signing().to_pem()?.to_string(),
        log_key: hex::encode(*node.log_key().seed()),
    };
    let sealed = SealedSecrets::seal(
        &bundle,
        out.set.id(),
        index,
        &r.reseal.passphrase,
        r.reseal.cost,
    )?;
    drop(bundle);
    // from here on the old share releases nothing
    r.retired.store(true, std::sync::atomic::Ordering::SeqCst);
    let journal = Journal {
        version: V1::default(),
        kind: dkg::CeremonyKind::Refresh,
        set: out.set.to_json(),
        certificate: out.certificate.to_json(),
        secrets: sealed,
        previous_set: Some(old),
        time: now(),
    };
    // the commit point: a node stopped after it finishes the refresh when it starts again
    write_journal(dir, &journal)?;
    apply_refresh_files(dir, &journal)?;
    node.append(journal.refresh_entries(0, node.policy_digest())?)
        .map_err(|e| NodeError::State(format!("logging the refresh: {}", e.message)))?;
    remove_state_file(dir, JOURNAL_FILE)?;
    Ok(wire::Finalised {
        version: V1::default(),
        trustee: index,
        set_id: out.set.id(),
        transcript: out.certificate.transcript,
    })
}

fn refresh_finalise(node: &Node, body: &[u8]) -> Result<wire::Finalised, ApiError> {
    let r = node.refresher();
    let fin = r.rounds.finalise(body, |out| {
        complete_refresh(node, out).map_err(|e| ApiError::internal("replacing the share", e))
    })?;
    if r.handed_over() {
        tracing::info!(set = %fin.set_id.short(), "reshare finished: share handed to the new set and destroyed; this node releases nothing any more");
    } else {
        let _ = r.reload.send(true);
        tracing::info!(set = %fin.set_id.short(), trustee = fin.trustee, "refresh finished: old share destroyed, reloading");
    }
    Ok(fin)
}

/// A serving node's ceremony requests are signed by one of its coordinator keys.
fn authenticate_refresh(
    node: &Node,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<(), ApiError> {
    node.refresher().authenticate(headers, uri, body)
}

macro_rules! refresh_post {
    ($name:ident, $body:expr) => {
        async fn $name(
            State(node): State<NodeRef>,
            uri: Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> axum::response::Response {
            signed_answer(node, uri, headers, body, authenticate_refresh, $body).await
        }
    };
}

refresh_post!(hr_round1, refresh_round1);
refresh_post!(hr_reshare_round1, reshare_round1);
refresh_post!(hr_round2, |n: &Node, b: &[u8]| n
    .refresher()
    .rounds
    .round2(b));
refresh_post!(hr_round3, |n: &Node, b: &[u8]| n
    .refresher()
    .rounds
    .round3(b));
refresh_post!(hr_finalise, refresh_finalise);

async fn hr_identity(State(node): State<NodeRef>) -> Json<wire::Identity> {
    Json(wire::Identity::new(
        node.signing().public(),
        node.set()
            .member(node.share().index())
            .ok()
            .and_then(|m| m.holder()),
    ))
}

/// The ceremony endpoints of a serving node (a refresh of its set), merged into its router.
pub fn refresh_routes() -> Router<NodeRef> {
    Router::new()
        .route(wire::IDENTITY, get(hr_identity))
        .route(wire::ROUND1, post(hr_round1))
        .route(wire::RESHARE_ROUND1, post(hr_reshare_round1))
        .route(wire::ROUND2, post(hr_round2))
        .route(wire::ROUND3, post(hr_round3))
        .route(wire::FINALISE, post(hr_finalise))
}
