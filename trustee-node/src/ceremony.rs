//! A node made with `init --dkg`: it holds its signing and log keys but no share yet, and
//! serves only the ceremony endpoints (`escrow_core::dkg::wire`) until a key generation
//! finishes. Then it completes its state folder (set, sealed share, log with the setup and
//! `keygen` entries, certificate) and the caller goes on to serve releases as usual.
//!
//! ```text
//! STATE/pending.json          public: signing key, coordinator keys, policy digest, KDF cost
//! STATE/pending.sealed.json   signing key + log key seed, sealed like secrets.sealed.json
//! STATE/policy.json           the warrant policy
//! ```
//!
//! Every ceremony `POST` must be signed (`Escrow-Signature`, `escrow_core::auth`) by one of the
//! coordinator keys given to `init --dkg --coordinator-key`; nothing happens for another
//! caller. The rounds live in memory only; what survives a stop (kill -9 included) is, in the
//! state folder (docs/protocol.md §16.11):
//!
//! ```text
//! STATE/ceremony.json          written before the node sends its round-3 certificate
//!                              signature (from then on the others can finish without it);
//!                              removed once its result is stored. Found at start without a
//!                              journal: the node refuses to start (NodeError::UnfinishedCeremony)
//! STATE/ceremony-journal.json  everything a keygen's or refresh's finalise stores (set,
//!                              certificate, sealed share), written atomically before any of it
//!                              is applied: the commit point. Found at start: the node finishes
//!                              applying it (files, log entries, each once) and goes on
//! STATE/retired.json           a reshare dealer's commit point: at start the node completes the
//!                              share destruction (sealed share emptied, log entries) and stops
//! ```

use crate::api::ApiError;
use crate::db::{Batch, Db};
use crate::error::NodeError;
use crate::sealed::{KdfCost, SealedSecrets, SecretBundle};
use crate::state::{self, now};
// The files that carry a ceremony across a stop live below the ceremonies, with the state
// folder (`crate::state::journal`); their names stay reachable here.
use crate::state::journal::remove_state_file;
pub use crate::state::journal::{
    CERTIFICATE_FILE, CeremonyMarker, JOURNAL_FILE, Journal, MARKER_FILE, RETIRED_FILE,
    RetiredFile, apply_refresh_files, read_journal, read_marker, unfinished, write_journal,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use escrow_core::audit::{LogEntry, LogKey, checkpoint};
use escrow_core::auth::{AuthError, NonceCache, RequestSignature};
use escrow_core::codec::{Digest32, SetId, V1};
use escrow_core::dkg::{
    self, DkgError, Round1State, Round2State, Round3State, SessionParams, wire,
};
use escrow_core::keys::{PrivateKey, PublicKey};
use escrow_core::trustee::Holder;
use escrow_core::warrant::Policy;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use zeroize::Zeroizing;

/// Public file of a pending node.
pub const PENDING_FILE: &str = "pending.json";
/// Sealed secrets of a pending node.
pub const PENDING_SECRETS_FILE: &str = "pending.sealed.json";
/// The coordinator keys of a node made by a ceremony, kept for later ceremonies (refresh).
pub const COORDINATORS_FILE: &str = "coordinators.json";

/// `STATE/coordinators.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoordinatorsFile {
    /// Format version.
    pub version: V1,
    /// Keys whose signed requests may drive a ceremony on this node.
    pub coordinator_keys: Vec<PublicKey>,
}

/// `STATE/pending.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingFile {
    /// Format version: 1, or 2 exactly when `holder` is present.
    pub version: u32,
    /// The node's signing key.
    pub signing_key: PublicKey,
    /// Keys whose signed requests may drive a ceremony.
    pub coordinator_keys: Vec<PublicKey>,
    /// Digest of `policy.json` at init.
    pub policy_digest: Digest32,
    /// `strong` or `test`.
    pub kdf_cost: String,
    /// When `init --dkg` ran.
    pub created: escrow_core::time::Timestamp,
    /// `init --dkg --reshare-of SET`: the id of the set this node joins a reshare of (it
    /// takes part in no keygen and in no reshare of another set); absent: a keygen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reshare_of: Option<SetId>,
    /// Version 2: the organisation and jurisdiction given at init (`--organisation`,
    /// `--jurisdiction`); the node takes part only in ceremonies naming it so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<Holder>,
}

fn cost_name(c: KdfCost) -> &'static str {
    match c {
        KdfCost::Strong => "strong",
        KdfCost::Test => "test",
    }
}

/// Is `state` a pending node's folder (made by `init --dkg`, no ceremony finished yet)?
pub fn is_pending(state: &Path) -> bool {
    state.join(PENDING_FILE).exists() && !state.join(state::NODE_FILE).exists()
}

/// `trustee-node init --dkg`: a state folder with fresh signing and log keys and no share.
pub fn init_pending(
    policy_path: &Path,
    coordinator_keys: &[PathBuf],
    reshare_of: Option<&Path>,
    holder: Option<Holder>,
    state_dir: &Path,
    passphrase: &[u8],
    cost: KdfCost,
) -> Result<PublicKey, NodeError> {
    let policy_json =
        std::fs::read_to_string(policy_path).map_err(|e| NodeError::io(policy_path, e))?;
    let policy = Policy::from_json(&policy_json).map_err(NodeError::Policy)?;
    if coordinator_keys.is_empty() {
        return Err(NodeError::State(
            "init --dkg needs at least one --coordinator-key (whose signed requests may run the ceremony)".into(),
        ));
    }
    let mut keys = Vec::new();
    for p in coordinator_keys {
        let text = std::fs::read(p).map_err(|e| NodeError::io(p, e))?;
        keys.push(PublicKey::from_key_file(&text).map_err(|e| {
            NodeError::State(format!("{}: not a P-256 public key: {e}", p.display()))
        })?);
    }
    let reshare_of = match reshare_of {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| NodeError::io(p, e))?;
            Some(escrow_core::trustee::TrusteeSet::from_json(&text)?.id())
        }
        None => None,
    };
    state::prepare_dir(state_dir)?;
    let mut rng = rand::rng();
    let signing = PrivateKey::generate(&mut rng);
    let mut seed = Zeroizing::new([0u8; 32]);
    rand::Rng::fill_bytes(&mut rng, seed.as_mut());
    let bundle = SecretBundle {
        key_share: String::new(),
        signing_key: signing.to_pem()?.to_string(),
        log_key: hex::encode(*seed),
    };
    let sealed = SealedSecrets::seal(&bundle, SetId::from_bytes([0; 32]), 0, passphrase, cost)?;
    let pending = PendingFile {
        version: if holder.is_some() { 2 } else { 1 },
        signing_key: signing.public(),
        coordinator_keys: keys,
        policy_digest: policy.digest(),
        kdf_cost: cost_name(cost).into(),
        created: now(),
        reshare_of,
        holder,
    };
    state::write_file(
        &state_dir.join(state::POLICY_FILE),
        policy_json.as_bytes(),
        false,
    )?;
    state::write_file(
        &state_dir.join(PENDING_SECRETS_FILE),
        escrow_core::codec::to_json_pretty(&sealed).as_bytes(),
        true,
    )?;
    state::write_file(
        &state_dir.join(PENDING_FILE),
        escrow_core::codec::to_json_pretty(&pending).as_bytes(),
        false,
    )?;
    Ok(signing.public())
}

enum Stage {
    One(SessionParams, Box<Round1State>),
    Two(SessionParams, Box<Round2State>),
    Three(SessionParams, Box<Round3State>),
    Done(Digest32, wire::Finalised),
}

pub(crate) fn parse_params(body: &[u8]) -> Result<SessionParams, ApiError> {
    escrow_core::codec::from_json(
        "session parameters",
        std::str::from_utf8(body).unwrap_or(""),
    )
    .map_err(|e| ApiError::bad_request("malformed-request", e.to_string()))
}

pub(crate) fn parse_reshare(
    body: &[u8],
) -> Result<(SessionParams, escrow_core::trustee::TrusteeSet), ApiError> {
    let start: wire::ReshareStart =
        escrow_core::codec::from_json("reshare start", std::str::from_utf8(body).unwrap_or(""))
            .map_err(|e| ApiError::bad_request("malformed-request", e.to_string()))?;
    let previous = escrow_core::trustee::TrusteeSet::from_json(&start.previous.to_string())
        .map_err(|e| ApiError::bad_request("malformed-request", format!("previous set: {e}")))?;
    if start.params.kind != dkg::CeremonyKind::Reshare {
        return Err(conflict("not a reshare"));
    }
    Ok((start.params, previous))
}

/// The set a ceremony makes must satisfy the policy's custody rule on who holds the shares
/// (`Policy::check_holders`): 403 `custody-refused`, naming the jurisdiction or organisation.
pub(crate) fn check_custody(policy: &Policy, params: &SessionParams) -> Result<(), ApiError> {
    policy
        .check_holders(params.threshold, params.holders())
        .map_err(|e| ApiError::new(StatusCode::FORBIDDEN, "custody-refused", e.to_string()))
}

/// A new trustee's own entry in the parameters must name it as it was made (`init --dkg
/// --organisation --jurisdiction`): no holder if it was made without one.
fn check_own_holder(
    params: &SessionParams,
    participant: u16,
    mine: Option<&Holder>,
) -> Result<(), DkgError> {
    let named = params
        .holders()
        .and_then(|h| h.get(usize::from(participant).wrapping_sub(1)));
    if named != mine {
        return Err(DkgError::NotAParticipant(format!(
            "the parameters name participant {participant}'s holder as {}, this node was made with {}",
            named.map_or("none".into(), |h| format!(
                "{}/{}",
                h.organisation, h.jurisdiction
            )),
            mine.map_or("none".into(), |h| format!(
                "{}/{}",
                h.organisation, h.jurisdiction
            )),
        )));
    }
    Ok(())
}

/// A reshare that changes the threshold must be allowed by the policy
/// (`Policy::allows_reshare_threshold`).
pub(crate) fn check_threshold_change(
    policy: &Policy,
    previous: &escrow_core::trustee::TrusteeSet,
    params: &SessionParams,
) -> Result<(), ApiError> {
    if params.threshold == previous.threshold() || policy.allows_reshare_threshold(params.threshold)
    {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "threshold-change-refused",
        format!(
            "the reshare changes the threshold from {} to {}, which the policy does not allow (policy custody.reshare_thresholds)",
            previous.threshold(),
            params.threshold
        ),
    ))
}

fn relay<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<wire::Relay<T>, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("malformed-request", format!("relay: {e}")))
}

/// One node's side of a ceremony's rounds (a keygen on a pending node, a refresh on a serving
/// one), in memory only: a new session replaces an unfinished one, a session id is never
/// used twice, and after a finished ceremony only that ceremony's finalise is answered again.
pub(crate) struct Rounds {
    dir: PathBuf,
    stage: Mutex<Option<Stage>>,
    used: Mutex<HashSet<Digest32>>,
    /// The session whose new set this node certified (its round-3 certificate signature is
    /// out, the marker written) and which has neither finalised here nor been replaced by a
    /// new session: the other trustees may already hold the new set.
    certified: Mutex<Option<Digest32>>,
}

impl Rounds {
    pub(crate) fn new(dir: &Path) -> Self {
        Rounds {
            dir: dir.to_path_buf(),
            stage: Mutex::new(None),
            used: Mutex::new(HashSet::new()),
            certified: Mutex::new(None),
        }
    }

    /// The session this node certified and has not finalised (nor abandoned for a new one).
    pub(crate) fn certified(&self) -> Option<Digest32> {
        *lock(&self.certified)
    }

    pub(crate) fn begin(
        &self,
        params: SessionParams,
        start: impl FnOnce(SessionParams) -> Result<(Round1State, dkg::Round1), DkgError>,
    ) -> Result<dkg::Round1, ApiError> {
        let sid = params.session_id();
        let mut stage = lock(&self.stage);
        if matches!(*stage, Some(Stage::Done(..))) {
            return Err(conflict("the ceremony already finished"));
        }
        if !lock(&self.used).insert(sid) {
            return Err(conflict(
                "this session id was used before: start a new session",
            ));
        }
        let (st, msg) = start(params.clone()).map_err(dkg_error)?;
        tracing::info!(session = %sid.short(), kind = %params.kind, "ceremony: round 1");
        // a new session replaces an unfinished one (the coordinator abandoned it)
        *stage = Some(Stage::One(params, Box::new(st)));
        *lock(&self.certified) = None;
        Ok(msg)
    }

    fn take(&self, session: &Digest32, round: u8) -> Result<Stage, ApiError> {
        let mut stage = lock(&self.stage);
        let waiting = match &*stage {
            Some(Stage::One(p, _)) => (2, p.session_id()),
            Some(Stage::Two(p, _)) => (3, p.session_id()),
            Some(Stage::Three(p, _)) => (4, p.session_id()),
            _ => (0, Digest32::default()),
        };
        if waiting != (round, *session) {
            return Err(conflict(match round {
                2 => "no ceremony of this session is waiting for round 2",
                3 => "no ceremony of this session is waiting for round 3",
                _ => "no ceremony of this session is waiting to finalise",
            }));
        }
        stage
            .take()
            .ok_or_else(|| conflict("no ceremony is under way"))
    }

    fn put(&self, s: Stage) {
        *lock(&self.stage) = Some(s);
    }

    pub(crate) fn round2(&self, body: &[u8]) -> Result<dkg::Round2, ApiError> {
        let relay: wire::Relay1 = relay(body)?;
        let Stage::One(params, st) = self.take(&relay.session, 2)? else {
            return Err(conflict("no ceremony is waiting for round 2"));
        };
        let (st, msg) = st.round2(relay.messages).map_err(dkg_error)?;
        self.put(Stage::Two(params, Box::new(st)));
        Ok(msg)
    }

    pub(crate) fn round3(&self, body: &[u8]) -> Result<dkg::Round3, ApiError> {
        let relay: wire::Relay2 = relay(body)?;
        let Stage::Two(params, st) = self.take(&relay.session, 3)? else {
            return Err(conflict("no ceremony is waiting for round 3"));
        };
        let (st, msg) = st
            .round3(relay.messages, &mut rand::rng())
            .map_err(dkg_error)?;
        if msg.complaints.is_empty() {
            // from the certificate signature on, the others can finish without this node
            let marker = CeremonyMarker {
                version: V1::default(),
                kind: params.kind,
                session: params.session_id(),
                transcript: msg.transcript,
                set_id: msg.set_id,
                previous_set: params.previous_set,
                time: now(),
            };
            state::replace_file(
                &self.dir.join(MARKER_FILE),
                escrow_core::codec::to_json_pretty(&marker).as_bytes(),
                false,
            )
            .map_err(|e| ApiError::internal("writing the ceremony marker", e))?;
            *lock(&self.certified) = Some(params.session_id());
        }
        self.put(Stage::Three(params, Box::new(st)));
        Ok(msg)
    }

    /// Finalise, then `complete` (write the state); on success the ceremony is done.
    pub(crate) fn finalise(
        &self,
        body: &[u8],
        complete: impl FnOnce(&dkg::DkgOutput) -> Result<wire::Finalised, ApiError>,
    ) -> Result<wire::Finalised, ApiError> {
        let relay: wire::Relay3 = relay(body)?;
        if let Some(Stage::Done(sid, f)) = &*lock(&self.stage) {
            // idempotent: a coordinator that lost the answer asks again
            if *sid == relay.session {
                return Ok(f.clone());
            }
        }
        let Stage::Three(_, st) = self.take(&relay.session, 4)? else {
            return Err(conflict("no ceremony is waiting to finalise"));
        };
        let out = st.finalise(relay.messages).map_err(dkg_error)?;
        let fin = complete(&out)?;
        self.put(Stage::Done(relay.session, fin.clone()));
        *lock(&self.certified) = None;
        remove_state_file(&self.dir, MARKER_FILE)
            .map_err(|e| ApiError::internal("removing the ceremony marker", e))?;
        Ok(fin)
    }
}

/// A pending node in memory.
pub struct Pending {
    state: PathBuf,
    file: PendingFile,
    signing: PrivateKey,
    log_seed: Zeroizing<String>,
    policy_json: String,
    passphrase: Zeroizing<Vec<u8>>,
    cost: KdfCost,
    nonces: Mutex<NonceCache>,
    rounds: Rounds,
    done: tokio::sync::watch::Sender<bool>,
}

impl core::fmt::Debug for Pending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Pending {{ state: {}, secrets: [REDACTED] }}",
            self.state.display()
        )
    }
}

/// Open a pending state folder (the passphrase is kept to seal the share at finalise).
pub fn load_pending(state_dir: &Path, passphrase: &[u8]) -> Result<Pending, NodeError> {
    let read = |p: PathBuf| std::fs::read_to_string(&p).map_err(|e| NodeError::io(&p, e));
    let file: PendingFile = serde_json::from_str(&read(state_dir.join(PENDING_FILE))?)
        .map_err(|e| NodeError::State(format!("{PENDING_FILE}: {e}")))?;
    match (file.version, &file.holder) {
        (1, None) => {}
        (2, Some(h)) => h
            .check()
            .map_err(|e| NodeError::State(format!("{PENDING_FILE}: {e}")))?,
        (v, _) => {
            return Err(NodeError::State(format!(
                "{PENDING_FILE}: version {v} (1 without a holder, 2 with one)"
            )));
        }
    }
    let sealed: SealedSecrets = serde_json::from_str(&read(state_dir.join(PENDING_SECRETS_FILE))?)
        .map_err(|e| NodeError::State(format!("{PENDING_SECRETS_FILE}: {e}")))?;
    let bundle = sealed.open(passphrase)?;
    let signing = PrivateKey::from_pem(&bundle.signing_key)?;
    if signing.public() != file.signing_key {
        return Err(NodeError::State(format!(
            "{PENDING_SECRETS_FILE} does not hold the signing key {PENDING_FILE} names"
        )));
    }
    let policy_json = read(state_dir.join(state::POLICY_FILE))?;
    let policy = Policy::from_json(&policy_json).map_err(NodeError::Policy)?;
    if policy.digest() != file.policy_digest {
        return Err(NodeError::State(
            "policy.json changed since init --dkg; re-run init".into(),
        ));
    }
    let cost = match file.kdf_cost.as_str() {
        "test" => KdfCost::Test,
        _ => KdfCost::Strong,
    };
    let (done, _) = tokio::sync::watch::channel(false);
    Ok(Pending {
        state: state_dir.to_path_buf(),
        signing,
        log_seed: Zeroizing::new(bundle.log_key.clone()),
        policy_json,
        passphrase: Zeroizing::new(passphrase.to_vec()),
        cost,
        nonces: Mutex::new(NonceCache::new(
            now(),
            escrow_core::auth::DEFAULT_NONCE_CAPACITY,
        )),
        rounds: Rounds::new(state_dir),
        done,
        file,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn auth_error(e: AuthError) -> ApiError {
    let status = match e {
        AuthError::WrongKey { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    ApiError::new(status, e.code(), e.to_string())
}

fn dkg_error(e: DkgError) -> ApiError {
    let code = match &e {
        DkgError::Aborted(_) => "ceremony-aborted",
        DkgError::NotAParticipant(_) => "not-a-participant",
        _ => "ceremony-refused",
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
}

/// Check a ceremony request's signature against `keys` and remember its nonce.
pub(crate) fn authenticate(
    keys: &[PublicKey],
    nonces: &Mutex<NonceCache>,
    headers: &HeaderMap,
    uri: &Uri,
    body: &[u8],
) -> Result<(), ApiError> {
    let raw = headers
        .get(escrow_core::auth::HEADER)
        .ok_or_else(|| auth_error(AuthError::Missing))?;
    let sig = RequestSignature::from_header(raw.as_bytes()).map_err(auth_error)?;
    let key = keys
        .iter()
        .find(|k| k.key_id() == sig.key_id)
        .ok_or_else(|| {
            auth_error(AuthError::WrongKey {
                found: sig.key_id,
                expected: " (one of this node's coordinator keys)".into(),
            })
        })?;
    let pq = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    sig.verify(key, "POST", pq, body).map_err(auth_error)?;
    lock(nonces)
        .check_and_remember(&sig, now())
        .map_err(auth_error)
}

pub(crate) fn conflict(why: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "ceremony-state", why.to_string())
}

impl Pending {
    /// A receiver that turns true once the ceremony finished and the state folder is complete.
    pub fn finished(&self) -> tokio::sync::watch::Receiver<bool> {
        self.done.subscribe()
    }

    /// The node's signing key.
    pub fn signing_key(&self) -> PublicKey {
        self.file.signing_key
    }

    /// Check the request signature against the coordinator keys and remember its nonce.
    fn authenticate(&self, headers: &HeaderMap, uri: &Uri, body: &[u8]) -> Result<(), ApiError> {
        authenticate(
            &self.file.coordinator_keys,
            &self.nonces,
            headers,
            uri,
            body,
        )
    }

    /// The policy this node was made with.
    fn policy(&self) -> Result<Policy, ApiError> {
        Policy::from_json(&self.policy_json)
            .map_err(|e| ApiError::internal("policy", NodeError::Policy(e)))
    }

    /// This node's index (its place among the participants of `params`, from 1), its entry
    /// checked against the holder it was made for; `among` ends the error's sentence.
    fn own_index(&self, params: &SessionParams, among: &str) -> Result<u16, DkgError> {
        let index = params
            .participants
            .iter()
            .position(|k| *k == self.file.signing_key)
            .and_then(|p| u16::try_from(p + 1).ok())
            .ok_or_else(|| {
                DkgError::NotAParticipant(format!(
                    "the parameters do not list this node's signing key{among}"
                ))
            })?;
        check_own_holder(params, index, self.file.holder.as_ref())?;
        Ok(index)
    }

    fn round1(&self, body: &[u8]) -> Result<dkg::Round1, ApiError> {
        let params = parse_params(body)?;
        if params.kind != dkg::CeremonyKind::Keygen {
            return Err(conflict(
                "this node has no set to refresh: only a keygen can run",
            ));
        }
        if let Some(s) = self.file.reshare_of {
            return Err(conflict(&format!(
                "this node was made to join a reshare of set {} (init --dkg --reshare-of), not a keygen",
                s.short()
            )));
        }
        let policy = self.policy()?;
        check_custody(&policy, &params)?;
        self.rounds.begin(params, |params| {
            let index = self.own_index(&params, "")?;
            dkg::start_keygen(params, index, self.signing.clone(), &mut rand::rng())
        })
    }

    /// A reshare's first round on a new trustee: only of the set `init --dkg --reshare-of`
    /// named, with this node among the participants; the threshold as the policy allows.
    fn reshare_round1(&self, body: &[u8]) -> Result<dkg::Round1, ApiError> {
        let (params, previous) = parse_reshare(body)?;
        if self.file.reshare_of != Some(previous.id()) {
            return Err(conflict(&match self.file.reshare_of {
                Some(s) => format!(
                    "this node joins a reshare of set {} only, not of set {}",
                    s.short(),
                    previous.id().short()
                ),
                None => "this node was made for a keygen (init --dkg without --reshare-of)".into(),
            }));
        }
        let policy = self.policy()?;
        check_threshold_change(&policy, &previous, &params)?;
        check_custody(&policy, &params)?;
        self.rounds.begin(params, |params| {
            let index = self.own_index(&params, " among the new trustees")?;
            let pos = params.position_of_trustee(index);
            dkg::start_reshare(
                params,
                pos,
                self.signing.clone(),
                previous,
                None,
                &mut rand::rng(),
            )
        })
    }

    fn round2(&self, body: &[u8]) -> Result<dkg::Round2, ApiError> {
        self.rounds.round2(body)
    }

    fn round3(&self, body: &[u8]) -> Result<dkg::Round3, ApiError> {
        self.rounds.round3(body)
    }

    fn finalise(&self, body: &[u8]) -> Result<wire::Finalised, ApiError> {
        let fin = self.rounds.finalise(body, |out| {
            self.complete(out)
                .map_err(|e| ApiError::internal("completing the state folder", e))
        })?;
        let _ = self.done.send(true);
        tracing::info!(set = %fin.set_id.short(), trustee = fin.trustee, "ceremony finished: state folder complete");
        Ok(fin)
    }

    /// Seal the share, write the journal (the commit point), then apply it ([`Pending::apply`]).
    fn complete(&self, out: &dkg::DkgOutput) -> Result<wire::Finalised, NodeError> {
        let share = out
            .share
            .as_ref()
            .ok_or_else(|| NodeError::State("the ceremony gave this node no share".into()))?;
        let bundle = SecretBundle {
            key_share: share.to_key_share().to_json().to_string(),
            signing_key: self.signing.to_pem()?.to_string(),
            log_key: self.log_seed.to_string(),
        };
        let sealed = SealedSecrets::seal(
            &bundle,
            out.set.id(),
            share.index(),
            &self.passphrase,
            self.cost,
        )?;
        drop(bundle);
        let journal = Journal {
            version: V1::default(),
            kind: out.certificate.params.kind,
            set: out.set.to_json(),
            certificate: out.certificate.to_json(),
            secrets: sealed,
            previous_set: None,
            time: now(),
        };
        write_journal(&self.state, &journal)?;
        self.apply(&journal)
    }

    /// Write the complete state folder from `journal`: set, certificate, sealed share, log
    /// (setup + keygen), checkpoint, and `node.json` last; then remove the pending files and
    /// the journal. Files a stopped earlier attempt left are removed first.
    fn apply(&self, journal: &Journal) -> Result<wire::Finalised, NodeError> {
        let dir = &self.state;
        let set = &journal.trustee_set()?;
        let transcript = journal.transcript()?;
        let index = journal.secrets.trustee;
        if journal.secrets.set_id != set.id() {
            return Err(NodeError::State(format!(
                "{JOURNAL_FILE}: the sealed share is not for the journal's set"
            )));
        }
        // leftovers of a finalise that crashed before node.json
        for f in [
            state::SET_FILE,
            state::SECRETS_FILE,
            state::DB_FILE,
            state::LOG_KEY_FILE,
            state::CHECKPOINT_FILE,
            CERTIFICATE_FILE,
            COORDINATORS_FILE,
        ] {
            let p = dir.join(f);
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| NodeError::io(&p, e))?;
            }
        }
        let seed = Zeroizing::new(
            hex::decode(self.log_seed.as_str())
                .map_err(|_| NodeError::State("sealed log key is not hex".into()))?,
        );
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| NodeError::State("sealed log key is not 32 bytes".into()))?;
        let log_key = LogKey::from_seed(&checkpoint::origin(&set.id(), index), seed)
            .map_err(|e| NodeError::State(format!("log key: {e}")))?;
        let policy = Policy::from_json(&self.policy_json).map_err(NodeError::Policy)?;
        state::write_file(&dir.join(state::SET_FILE), journal.set.as_bytes(), false)?;
        state::write_file(
            &dir.join(CERTIFICATE_FILE),
            journal.certificate.as_bytes(),
            false,
        )?;
        state::write_file(
            &dir.join(state::SECRETS_FILE),
            escrow_core::codec::to_json_pretty(&journal.secrets).as_bytes(),
            true,
        )?;
        let created = journal.time;
        let mut db = Db::create(&dir.join(state::DB_FILE))?;
        let batch = Batch {
            entries: vec![
                LogEntry::setup(0, created, set.id(), policy.digest()),
                LogEntry::keygen(1, created, transcript),
            ],
            ..Batch::default()
        };
        let head = db.commit(&batch, created)?;
        drop(db);
        state::write_file(
            &dir.join(state::LOG_KEY_FILE),
            format!("{}\n", log_key.verifier_key()).as_bytes(),
            false,
        )?;
        state::write_checkpoint(dir, &log_key, &head)?;
        state::write_file(
            &dir.join(COORDINATORS_FILE),
            escrow_core::codec::to_json_pretty(&CoordinatorsFile {
                version: V1::default(),
                coordinator_keys: self.file.coordinator_keys.clone(),
            })
            .as_bytes(),
            false,
        )?;
        let node = state::NodeFile {
            version: V1::default(),
            trustee: index,
            set_id: set.id(),
            policy_digest: policy.digest(),
            created,
        };
        state::write_file(
            &dir.join(state::NODE_FILE),
            escrow_core::codec::to_json_pretty(&node).as_bytes(),
            false,
        )?;
        for f in [PENDING_SECRETS_FILE, PENDING_FILE, JOURNAL_FILE] {
            remove_state_file(dir, f)?;
        }
        Ok(wire::Finalised {
            version: V1::default(),
            trustee: index,
            set_id: set.id(),
            transcript,
        })
    }
}

/// Before a pending node serves: finish a finalise a stop interrupted. With a journal, the
/// state folder is completed from it (`Ok(true)`: serve it as a complete node); with a marker
/// and no journal, the node certified a set it never stored: [`NodeError::UnfinishedCeremony`];
/// otherwise `Ok(false)` (wait for a ceremony).
pub fn resume_pending(state_dir: &Path, passphrase: &[u8]) -> Result<bool, NodeError> {
    if let Some(journal) = read_journal(state_dir)? {
        let _lock = state::lock_state(state_dir)?;
        let pending = load_pending(state_dir, passphrase)?;
        let fin = pending.apply(&journal)?;
        remove_state_file(state_dir, MARKER_FILE)?;
        tracing::warn!(set = %fin.set_id.short(), trustee = fin.trustee, "resumed the {} a stop interrupted after its commit point ({JOURNAL_FILE}): state folder complete", journal.kind);
        return Ok(true);
    }
    if let Some(m) = read_marker(state_dir)? {
        return Err(unfinished(state_dir, &m));
    }
    Ok(false)
}

type Shared = Arc<Pending>;

fn answer<T: Serialize>(r: Result<T, ApiError>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Answer a signed ceremony `POST` (a pending node's or a serving node's) on a blocking
/// thread: `authenticate` checks the request signature first (nothing else runs for a caller
/// it refuses), then `f` answers from the body.
pub(crate) async fn signed_answer<S, T>(
    state: Arc<S>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    authenticate: fn(&S, &HeaderMap, &Uri, &[u8]) -> Result<(), ApiError>,
    f: impl FnOnce(&S, &[u8]) -> Result<T, ApiError> + Send + 'static,
) -> axum::response::Response
where
    S: Send + Sync + 'static,
    T: Serialize + Send + 'static,
{
    let r = tokio::task::spawn_blocking(move || {
        authenticate(&state, &headers, &uri, &body)?;
        f(&state, &body)
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal("ceremony task", e)));
    answer(r)
}

async fn h_identity(State(p): State<Shared>) -> Json<wire::Identity> {
    Json(wire::Identity::new(p.signing_key(), p.file.holder.clone()))
}

macro_rules! signed_post {
    ($name:ident, $method:ident) => {
        async fn $name(
            State(p): State<Shared>,
            uri: Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> axum::response::Response {
            signed_answer(p, uri, headers, body, Pending::authenticate, |p, b| {
                p.$method(b)
            })
            .await
        }
    };
}

signed_post!(h_round1, round1);
signed_post!(h_reshare_round1, reshare_round1);
signed_post!(h_round2, round2);
signed_post!(h_round3, round3);
signed_post!(h_finalise, finalise);

async fn h_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "this node is waiting for a key-generation ceremony (trustee-node init --dkg): only the /v1/ceremony endpoints are served",
    )
}

/// Serve a pending node's ceremony endpoints on `listener` until the ceremony finishes
/// (`Ok(true)`: the state folder is complete) or `shutdown` completes (`Ok(false)`).
pub async fn serve_pending(
    listener: std::net::TcpListener,
    state_dir: &Path,
    passphrase: &[u8],
    limits: crate::Limits,
    tls: Option<crate::TlsFiles>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<bool, NodeError> {
    let pending = Arc::new(load_pending(state_dir, passphrase)?);
    let mut finished = pending.finished();
    let tls = crate::rustls_config(tls.as_ref()).await?;
    listener
        .set_nonblocking(true)
        .map_err(|e| NodeError::io("listener", e))?;
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown => {},
            _ = finished.wait_for(|d| *d) => {},
        }
        h.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
    });
    crate::serve_http(
        listener,
        tls,
        handle,
        limits.header_timeout,
        router(pending, limits.max_body_bytes),
    )
    .await?;
    Ok(!is_pending(state_dir))
}

/// The router of a pending node.
pub fn router(p: Shared, max_body_bytes: usize) -> Router {
    Router::new()
        .route(wire::IDENTITY, get(h_identity))
        .route(wire::ROUND1, post(h_round1))
        .route(wire::RESHARE_ROUND1, post(h_reshare_round1))
        .route(wire::ROUND2, post(h_round2))
        .route(wire::ROUND3, post(h_round3))
        .route(wire::FINALISE, post(h_finalise))
        .fallback(h_not_found)
        .with_state(p)
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
