//! The HTTP service: routes, the release flow, cancellation, log endpoints.
//!
//! The node is a thin shell: every decision and formula is in `escrow_core` (policy checks in
//! `warrant`, per-ciphertext decisions and the response format in `release`, log formats in
//! `audit`); this module does I/O, storage, concurrency and HTTP. `POST /v2/release` is in
//! [`release_v2`].

mod refresh;
mod release_v2;
mod tiles;
mod witnessed;

pub use refresh::Refresher;

use crate::api::{ApiError, code_for_status, error_json};
use crate::db::{self, Batch, Db};
use crate::fault::Fault;
use crate::state::{Loaded, now};
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use escrow_core::api::{
    CancelResponse, CancelStatus, ConsistencyProofView, ConsistencyQuery, EntriesPage,
    EntriesQuery, EntryView, EnvelopeQuery, ErrorCode, InclusionProofView, InclusionQuery, Info,
    InfoLimits, path,
};
use escrow_core::audit::{LogEntry, LogKey, Sealed, SealedDocument, TreeHead};
use escrow_core::auth::{AuthError, NonceCache, RequestSignature};
use escrow_core::codec::V1;
use escrow_core::codec::WarrantDigest;
use escrow_core::codec::{CiphertextDigest, Digest32, b64_encode};
use escrow_core::keys::{PrivateKey, PublicKey};
use escrow_core::release::{
    ItemRefusal, RefusalCode, ReleaseCounter, ReleaseResponse, ReleaseResult, RequestError,
    SealedShare, judge_ciphertext, make_share, parse_request, request_digest, request_warrant,
};
use escrow_core::tdh2::ValidCiphertext;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{TrusteeSet, VerifiedKeyShare};
use escrow_core::warrant::{
    CancellationEnvelope, Policy, ReasonCode, Refusal, RenewalChains, VerifiedWarrant, Warrant,
};
use rayon::prelude::*;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

/// Default bound on the canonical entry bytes of one `/v1/log/entries` page.
pub const DEFAULT_PAGE_BYTES: usize = 1024 * 1024;

/// Request limits (`docs/api.md` §8).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most ciphertexts per release request.
    pub max_batch: usize,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Requests worked on at once, node-wide (after their body was read; more wait).
    pub concurrency: usize,
    /// Most log entries per page.
    pub page_size: u64,
    /// Most canonical entry bytes per page (a page always holds at least one entry).
    pub page_bytes: usize,
    /// Time allowed for a request's header, from the connection or the previous request.
    pub header_timeout: Duration,
    /// Time allowed for reading a request's body.
    pub body_timeout: Duration,
    /// Requests in flight from one client address (more: 429).
    pub per_client: usize,
    /// POST requests (release, cancel) one client address may make per second, on average;
    /// bursts of twice as many (more: 429).
    pub posts_per_sec: u32,
    /// Requests in flight from all clients together (more: 503).
    pub max_in_flight: usize,
    /// Release gate: how long one witness may take to answer a cosigning request (connect,
    /// send, read; an auditing witness judges the new log entries before it answers).
    pub witness_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_batch: escrow_core::release::MAX_BATCH,
            max_body_bytes: 32 * 1024 * 1024,
            request_timeout: Duration::from_secs(300),
            concurrency: 64,
            page_size: 1000,
            page_bytes: DEFAULT_PAGE_BYTES,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            per_client: 16,
            posts_per_sec: 200,
            max_in_flight: 1024,
            witness_timeout: crate::gate::DEFAULT_WITNESS_TIMEOUT,
        }
    }
}

/// Client addresses remembered at once (in-flight counts and rate buckets); when full, idle
/// clients with a full bucket are forgotten first, and a new client is refused (503) only if
/// every remembered one is busy.
pub const MAX_CLIENTS: usize = 65_536;

/// What the node remembers about one client address.
#[derive(Debug, Clone, Copy)]
struct ClientState {
    in_flight: usize,
    tokens: f64,
    last: std::time::Instant,
}

/// Per-client and node-wide admission (item 6 and 8 of the hardening issue).
#[derive(Debug, Default)]
struct Admission {
    clients: std::collections::HashMap<std::net::IpAddr, ClientState>,
    in_flight: usize,
}

/// A request admitted by [`Node::admit`]; dropping it gives its slots back.
pub struct Ticket {
    node: Shared,
    ip: std::net::IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut a = lock(&self.node.admission);
        a.in_flight = a.in_flight.saturating_sub(1);
        if let Some(c) = a.clients.get_mut(&self.ip) {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }
}

/// One trustee, loaded.
pub struct Node {
    set: TrusteeSet,
    share: VerifiedKeyShare,
    signing: PrivateKey,
    log_key: LogKey,
    policy: Policy,
    db: Mutex<Db>,
    reader: Mutex<rusqlite::Connection>,
    db_path: std::path::PathBuf,
    head: RwLock<TreeHead>,
    /// Cancelled ids and renewal links (a cancelled ancestor kills every descendant).
    chains: RwLock<RenewalChains>,
    state_dir: std::path::PathBuf,
    problem: RwLock<Option<String>>,
    limits: Limits,
    fault: Option<Fault>,
    nonces: Mutex<NonceCache>,
    admission: Mutex<Admission>,
    work: Arc<tokio::sync::Semaphore>,
    /// Refresh ceremonies on this node's set ([`refresh`]).
    refresher: Refresher,
    /// Derived tile hashes of levels 1 and above ([`tiles`]).
    tiles: tiles::TileCache,
    /// The release gate, under a policy with witnesses (issue 17).
    gate: Option<crate::gate::Gate>,
    /// When serving HTTPS: the fingerprint of the certificate's key and its binding, signed by
    /// the signing key when the TLS files are loaded ([`Node::bind_tls_key`]).
    tls_key: Option<(Digest32, Vec<u8>)>,
    /// One serving node per state folder (released when the node is dropped).
    _lock: crate::state::StateLock,
}

impl core::fmt::Debug for Node {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Node {{ trustee: {}, secrets: [REDACTED] }}",
            self.share.index()
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the database half-written (SQLite
    // transactions are atomic), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Node {
    /// Build from loaded state.
    pub fn new(
        loaded: Loaded,
        limits: Limits,
        fault: Option<Fault>,
    ) -> Result<Self, crate::error::NodeError> {
        let chains = loaded.db.renewal_chains().clone();
        let reader = db::open_reader(&loaded.db_path)?;
        let head = loaded.db.head();
        let upper = loaded.db.upper_levels().clone();
        let refresher = Refresher::new(&loaded.state, loaded.reseal)?;
        let gate = escrow_core::audit::witness::GatePolicy::of(&loaded.policy)
            .map(|g| crate::gate::Gate::new(g, limits.witness_timeout));
        Ok(Node {
            set: loaded.set,
            share: loaded.share,
            signing: loaded.signing,
            log_key: loaded.log_key,
            policy: loaded.policy,
            db: Mutex::new(loaded.db),
            reader: Mutex::new(reader),
            db_path: loaded.db_path,
            head: RwLock::new(head),
            chains: RwLock::new(chains),
            state_dir: loaded.state,
            problem: RwLock::new(None),
            limits,
            fault,
            nonces: Mutex::new(NonceCache::new(
                now(),
                escrow_core::auth::DEFAULT_NONCE_CAPACITY,
            )),
            admission: Mutex::new(Admission::default()),
            work: Arc::new(tokio::sync::Semaphore::new(limits.concurrency.max(1))),
            refresher,
            tiles: tiles::TileCache::new(upper),
            gate,
            tls_key: None,
            _lock: loaded.lock,
        })
    }

    /// Serve HTTPS with a certificate whose key has fingerprint `fingerprint`
    /// ([`escrow_core::api::tls_key_fingerprint`]): `/v1/info` then carries it, bound by the
    /// trustee's signing key (signed here, once; `docs/api.md` §3.1).
    pub fn bind_tls_key(&mut self, fingerprint: Digest32) {
        let binding = self.signing.sign(&Info::tls_key_binding_bytes(
            &self.set.id(),
            self.index(),
            &fingerprint,
        ));
        self.tls_key = Some((fingerprint, binding));
    }

    /// The set this node serves.
    pub fn set(&self) -> &TrusteeSet {
        &self.set
    }

    /// The node's share (for a refresh ceremony, [`refresh`]).
    pub(crate) fn share(&self) -> &VerifiedKeyShare {
        &self.share
    }

    /// The node's signing key (for a refresh ceremony).
    pub(crate) fn signing(&self) -> &PrivateKey {
        &self.signing
    }

    /// The node's log key (resealed with a refreshed share).
    pub(crate) fn log_key(&self) -> &LogKey {
        &self.log_key
    }

    /// The policy digest.
    pub(crate) fn policy_digest(&self) -> Digest32 {
        self.policy.digest()
    }

    /// The policy.
    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The state folder.
    pub(crate) fn state_dir(&self) -> &std::path::Path {
        &self.state_dir
    }

    /// Refresh ceremonies on this node.
    pub fn refresher(&self) -> &Refresher {
        &self.refresher
    }

    /// Append `entries` (their sequence numbers are assigned here) to the log and rewrite the
    /// signed checkpoint.
    pub(crate) fn append(&self, mut entries: Vec<LogEntry>) -> Result<TreeHead, ApiError> {
        let mut db = lock(&self.db);
        let t = now();
        let first = db.next_seq();
        for (e, seq) in entries.iter_mut().zip(first..) {
            e.sequence = seq;
            e.time = t;
        }
        let batch = Batch {
            entries,
            ..Batch::default()
        };
        self.commit(&mut db, &batch, t)
    }

    /// Admit a request from `ip`: at most `per_client` in flight per address, `posts_per_sec`
    /// POSTs per address (token bucket, burst twice that), `max_in_flight` in all. Refusals
    /// write nothing.
    pub fn admit(self: &Arc<Self>, ip: std::net::IpAddr, post: bool) -> Result<Ticket, ApiError> {
        let limits = self.limits;
        let rate = f64::from(limits.posts_per_sec.max(1));
        let burst = 2.0 * rate;
        let now = std::time::Instant::now();
        let refill = |c: &mut ClientState| {
            let dt = now.saturating_duration_since(c.last).as_secs_f64();
            c.tokens = (c.tokens + dt * rate).min(burst);
            c.last = now;
        };
        let mut a = lock(&self.admission);
        if a.in_flight >= limits.max_in_flight {
            return Err(ApiError::unavailable(
                "busy",
                format!(
                    "{} requests in flight; try again later",
                    limits.max_in_flight
                ),
            ));
        }
        if !a.clients.contains_key(&ip) && a.clients.len() >= MAX_CLIENTS {
            a.clients.retain(|_, c| {
                refill(c);
                c.in_flight > 0 || c.tokens < burst
            });
            if a.clients.len() >= MAX_CLIENTS {
                return Err(ApiError::unavailable(
                    "busy",
                    "too many clients at once; try again later",
                ));
            }
        }
        let c = a.clients.entry(ip).or_insert(ClientState {
            in_flight: 0,
            tokens: burst,
            last: now,
        });
        refill(c);
        if c.in_flight >= limits.per_client {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                format!(
                    "more than {} requests in flight from {ip}",
                    limits.per_client
                ),
            ));
        }
        if post {
            if c.tokens < 1.0 {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-requests",
                    format!(
                        "more than {} POST requests per second from {ip}; slow down",
                        limits.posts_per_sec
                    ),
                ));
            }
            c.tokens -= 1.0;
        }
        c.in_flight += 1;
        a.in_flight += 1;
        drop(a);
        Ok(Ticket {
            node: self.clone(),
            ip,
        })
    }

    /// The fault injected, if any.
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Trustee index.
    pub fn index(&self) -> u16 {
        self.share.index()
    }

    /// The current tree head.
    pub fn head(&self) -> TreeHead {
        *self.head.read().unwrap_or_else(|p| p.into_inner())
    }

    fn chains(&self) -> std::sync::RwLockReadGuard<'_, RenewalChains> {
        self.chains.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Is `id`, or any warrant it renews (transitively), cancelled? (Never, for a node with
    /// the fault `ignore-cancellations`.)
    fn is_cancelled(&self, id: &str) -> bool {
        self.fault != Some(Fault::IgnoreCancellations) && self.chains().is_cancelled(id)
    }

    /// The cancellation check of a warrant's whole renewal chain, under the database lock
    /// (skipped by a node with the fault `ignore-cancellations`).
    pub(crate) fn check_chain(
        &self,
        payload: &escrow_core::warrant::WarrantPayload,
    ) -> Result<(), escrow_core::warrant::ChainCancellation> {
        if self.fault == Some(Fault::IgnoreCancellations) {
            return Ok(());
        }
        self.chains().check_warrant(payload)
    }

    fn problem(&self) -> Option<String> {
        self.problem
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Fail closed: refuse to release anything until restarted (the restart re-verifies the log).
    ///
    /// The operator's log gets `why` as it is; the public answers (`/v1/info`, 503 messages)
    /// get it with the state folder's path replaced by `<state>`, so they show no paths of the
    /// node's machine.
    fn mark_unhealthy(&self, why: String) {
        tracing::error!(problem = %why, "audit log cannot be written: the node releases nothing until restarted");
        let public = public_text(&why, &self.state_dir);
        *self.problem.write().unwrap_or_else(|p| p.into_inner()) = Some(public);
    }

    fn check_healthy(&self) -> Result<(), ApiError> {
        if self.refresher.handed_over() {
            return Err(ApiError::unavailable(
                "share-destroyed",
                "this node's share was handed to a new trustee set by a reshare and destroyed: it releases nothing any more",
            ));
        }
        if let Some(session) = self.refresher.ceremony_pending() {
            return Err(ApiError::unavailable(
                "ceremony-pending",
                format!(
                    "this node certified a new set in ceremony {} and waits for its finalise: it releases nothing until the ceremony finishes (then with its new share) or is abandoned",
                    session.short()
                ),
            ));
        }
        if self.refresher.retired() {
            return Err(ApiError::unavailable(
                "share-refreshed",
                "this node's share was replaced by a refresh ceremony: it releases nothing until it has reloaded its state",
            ));
        }
        match self.problem() {
            None => Ok(()),
            Some(p) => Err(ApiError::unavailable(
                "node-unhealthy",
                format!(
                    "the audit log could not be written earlier ({p}); nothing is released until the node is restarted"
                ),
            )),
        }
    }

    /// Commit, then rewrite the signed checkpoint file; or fail closed with a 503
    /// `log-unavailable`.
    fn commit(&self, db: &mut Db, batch: &Batch, time: Timestamp) -> Result<TreeHead, ApiError> {
        match db.commit(batch, time).and_then(|head| {
            crate::state::write_checkpoint(&self.state_dir, &self.log_key, &head).map(|()| head)
        }) {
            Ok(head) => {
                *self.head.write().unwrap_or_else(|p| p.into_inner()) = head;
                Ok(head)
            }
            Err(e) => {
                self.mark_unhealthy(e.to_string());
                Err(ApiError::unavailable(
                    "log-unavailable",
                    "the audit log could not be written; nothing was released",
                ))
            }
        }
    }

    fn db_failed(&self, e: crate::error::NodeError) -> ApiError {
        self.mark_unhealthy(e.to_string());
        ApiError::unavailable(
            "log-unavailable",
            "the audit database could not be read; nothing was released",
        )
    }

    /// Check a request signature by `key` and remember its nonce. Nothing else happens on
    /// behalf of a request until this succeeded.
    fn authenticate(
        &self,
        sig: &RequestSignature,
        key: &escrow_core::keys::PublicKey,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<(), ApiError> {
        sig.verify(key, method, path_and_query, body)
            .map_err(auth_error)?;
        lock(&self.nonces)
            .check_and_remember(sig, now())
            .map_err(auth_error)
    }

    /// This trustee's sealed share of `v` under `warrant` (a faulty node's: [`Fault::share`]).
    fn sealed_share(
        &self,
        warrant: &VerifiedWarrant,
        v: &ValidCiphertext,
    ) -> escrow_core::Result<SealedShare> {
        match self.fault {
            None => make_share(&self.share, warrant, v, &mut rand::rng()),
            Some(f) => f.share(&self.share, warrant, v),
        }
    }

    /// `POST /v1/release`, synchronous (runs on a blocking thread; crypto fans out on rayon).
    ///
    /// The request must be signed by the investigator key its warrant names
    /// (`escrow_core::auth`); that is checked before any ciphertext is looked at, and a request
    /// that fails it is answered without writing or counting anything.
    pub fn release(
        &self,
        auth: Option<&[u8]>,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<ReleaseResponse, ApiError> {
        self.authenticate_release(auth, path_and_query, body, |b| {
            request_warrant(b).map(|(w, _)| w).map_err(request_error)
        })?;
        let parsed = parse_request(body, self.limits.max_batch).map_err(request_error)?;
        self.check_healthy()?;
        let time = now();
        let wd = parsed.warrant_digest;
        let request = request_digest(body);
        let digests: Vec<Option<CiphertextDigest>> = parsed
            .ciphertexts
            .par_iter()
            .map(|c| c.as_ref().ok().map(|c| c.digest()))
            .collect();
        let warrant = match self.verdict(&parsed.warrant, time) {
            Ok(w) => w,
            Err(refusal) => {
                let mut db = lock(&self.db);
                return self.refuse_all(&mut db, wd, request, &digests, refusal, time);
            }
        };
        let envelope_json = warrant.envelope().to_json();
        // Public checks in parallel: TDH2 proof and scope of every ciphertext.
        let judged: Vec<Result<ValidCiphertext, ItemRefusal>> = parsed
            .ciphertexts
            .into_par_iter()
            .map(|c| judge_ciphertext(&self.set, &warrant, c))
            .collect();

        // Compute first, without the database lock (issue 14): an optimistic admission against
        // the last committed counters (read connection) says which shares to compute.
        let pre = self
            .pre_admit(
                &warrant,
                judged.iter().map(|j| j.as_ref().ok().map(|v| v.digest())),
            )
            .map_err(|e| self.db_failed(e))?;
        let mut shares: Vec<Option<escrow_core::Result<SealedShare>>> = judged
            .par_iter()
            .zip(pre.par_iter())
            .map(|(j, admit)| match j {
                Ok(v) if *admit => Some(self.sealed_share(&warrant, v)),
                _ => None,
            })
            .collect();

        // From here the database lock orders this request against every other release and
        // cancellation: cancellation and the limit are decided again and committed atomically;
        // shares the limit now refuses are dropped.
        let mut db = lock(&self.db);
        // The whole chain: the warrant, the parent it names, and every ancestor recorded.
        let dead = self.check_chain(warrant.payload());
        if let Err(c) = dead {
            let r = Refusal::new(ReasonCode::Cancelled, c.to_string());
            return self.refuse_all(&mut db, wd, request, &digests, r, time);
        }
        let (decisions, counter) =
            self.admit_items(&db, &warrant, judged, ValidCiphertext::digest)?;
        // Rare: admitted now but not by the optimistic pass (another request released the same
        // ciphertext meanwhile, so it costs nothing): compute those shares under the lock.
        for (d, s) in decisions.iter().zip(shares.iter_mut()) {
            if let Ok(v) = d
                && s.is_none()
            {
                *s = Some(self.sealed_share(&warrant, v));
            }
        }

        let inv = warrant.investigator().key_id();
        let mut log = self.begin_release(&db, &warrant, &counter, wd, envelope_json, time)?;
        let mut results = Vec::with_capacity(decisions.len());
        for (d, s) in decisions.into_iter().zip(shares) {
            match (d, s) {
                (Ok(v), Some(Ok(s))) => {
                    let seq = log.release(v.digest(), s.share_digest, || {
                        SealedDocument::HeaderV1(v.ciphertext().clone())
                    });
                    results.push(ReleaseResult::Released {
                        ciphertext: s.ciphertext,
                        share: s.share_box,
                        leaf_index: seq,
                    });
                }
                (Ok(_), Some(Err(e))) => {
                    return Err(ApiError::internal("computing a decryption share", e));
                }
                (Ok(_), None) => {
                    return Err(ApiError::internal(
                        "computing a decryption share",
                        "missing share",
                    ));
                }
                (Err(r), _) => {
                    let seq = log.refuse(&r);
                    results.push(ReleaseResult::refused(r, Some(seq)));
                }
            }
        }
        // Log first: nothing leaves before this returns.
        let entries = self.end_release(&mut db, log, &warrant)?;
        drop(db);
        // The release gate (issue 17): nothing leaves without the witnesses' quorum.
        let witnessed = self.witness_release(wd, &entries)?;
        let mut resp =
            ReleaseResponse::unsigned(self.index(), self.set.id(), wd, Some(inv), time, results)
                .sign(&self.signing);
        resp.witnessed = witnessed;
        Ok(resp)
    }

    /// Both protocol versions, before anything else of a release request is looked at: the
    /// request signature (`auth`), by the investigator key its warrant (`warrant_of(body)`)
    /// names; a request that fails it is answered without writing or counting anything.
    pub(crate) fn authenticate_release(
        &self,
        auth: Option<&[u8]>,
        path_and_query: &str,
        body: &[u8],
        warrant_of: impl FnOnce(
            &[u8],
        ) -> Result<
            Result<escrow_core::warrant::WarrantEnvelope, Refusal>,
            ApiError,
        >,
    ) -> Result<(), ApiError> {
        let sig =
            RequestSignature::from_header(auth.ok_or_else(|| auth_error(AuthError::Missing))?)
                .map_err(auth_error)?;
        let investigator = investigator_of_request(warrant_of(body)?)?;
        self.authenticate(&sig, &investigator, "POST", path_and_query, body)
    }

    /// Both protocol versions: the request's warrant judged at `time` (policy, signatures,
    /// validity, cancellation).
    pub(crate) fn verdict(
        &self,
        warrant: &Result<escrow_core::warrant::WarrantEnvelope, Refusal>,
        time: Timestamp,
    ) -> Result<VerifiedWarrant, Refusal> {
        match warrant {
            Err(r) => Err(r.clone()),
            Ok(env) => self.policy.verify(env, time, &|id| self.is_cancelled(id)),
        }
    }

    /// Both protocol versions: a request whose warrant is refused is one log entry (warrant
    /// and request digests, the number of items, the code). Returns its leaf index and the
    /// code every item is refused with.
    pub(crate) fn log_request_refusal(
        &self,
        db: &mut Db,
        wd: WarrantDigest,
        request: Digest32,
        n: usize,
        refusal: &Refusal,
        time: Timestamp,
    ) -> Result<(u64, RefusalCode), ApiError> {
        let seq = db.next_seq();
        let code = RefusalCode::Warrant(refusal.code);
        let entry =
            LogEntry::request_refusal(seq, time, Some(wd), request, n as u64, code.as_str());
        self.commit(
            db,
            &Batch {
                entries: vec![entry],
                ..Batch::default()
            },
            time,
        )?;
        Ok((seq, code))
    }

    /// Under the database lock, both protocol versions: admit every judged item against the
    /// warrant's release limit (counting what this warrant already released), in request
    /// order.
    #[allow(clippy::type_complexity)]
    pub(crate) fn admit_items<'w, V>(
        &self,
        db: &Db,
        warrant: &'w VerifiedWarrant,
        judged: Vec<Result<V, ItemRefusal>>,
        digest: impl Fn(&V) -> CiphertextDigest,
    ) -> Result<(Vec<Result<V, ItemRefusal>>, ReleaseCounter<'w>), ApiError> {
        let already = db
            .released_count(warrant.id())
            .map_err(|e| self.db_failed(e))?;
        let mut counter = ReleaseCounter::new(warrant, already);
        let mut decisions = Vec::with_capacity(judged.len());
        for j in judged {
            decisions.push(match j {
                Ok(v) => {
                    let d = digest(&v);
                    let before = db
                        .is_released(warrant.id(), &d)
                        .map_err(|e| self.db_failed(e))?;
                    counter.admit(d, before).map(|()| v)
                }
                Err(r) => Err(r),
            });
        }
        Ok((decisions, counter))
    }

    /// Under the database lock, both protocol versions: start the log entries of an admitted
    /// request (the warrant-seen entry when this warrant is new, with its oversight copy).
    pub(crate) fn begin_release(
        &self,
        db: &Db,
        warrant: &VerifiedWarrant,
        counter: &ReleaseCounter,
        wd: WarrantDigest,
        envelope_json: String,
        time: Timestamp,
    ) -> Result<ReleaseLog, ApiError> {
        let inv = warrant.investigator().key_id();
        let mut log = ReleaseLog {
            seq: db.next_seq(),
            batch: Batch::default(),
            known: db.warrant_known(&wd).map_err(|e| self.db_failed(e))?,
            oversee: !self.policy.oversight().is_empty(),
            copies: Vec::new(),
            wd,
            inv,
            time,
            warrant_id: warrant.id().to_string(),
            newly: counter.newly_counted().clone(),
            counted: HashSet::new(),
        };
        if !log.known {
            if log.oversee {
                log.copies.push((
                    log.batch.entries.len(),
                    SealedDocument::Warrant(warrant.envelope().clone()),
                ));
            }
            log.batch
                .entries
                .push(LogEntry::warrant_seen(log.seq, time, wd, inv));
            log.batch.warrant = Some((wd, log.warrant_id.clone(), envelope_json, log.seq));
            log.seq += 1;
        }
        Ok(log)
    }

    /// Seal the oversight copies, commit the request's entries and record a new warrant in
    /// the chains; returns the committed entries. Nothing of the request leaves before this
    /// returns.
    pub(crate) fn end_release(
        &self,
        db: &mut Db,
        mut log: ReleaseLog,
        warrant: &VerifiedWarrant,
    ) -> Result<Vec<LogEntry>, ApiError> {
        self.seal_for_oversight(&mut log.batch, &log.copies)?;
        self.commit(db, &log.batch, log.time)?;
        if !log.known {
            self.chains
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .record_warrant(warrant.payload());
        }
        Ok(log.batch.entries)
    }

    /// Oversight copies (issue 16, `docs/protocol.md` §17): attach to the entries at the given
    /// batch positions their document (warrant envelope or released header), encrypted to the
    /// policy's oversight keys; one ECDH per oversight key for the whole request
    /// ([`Sealed::seal_batch`], §17.1).
    pub(crate) fn seal_for_oversight(
        &self,
        batch: &mut Batch,
        docs: &[(usize, SealedDocument)],
    ) -> Result<(), ApiError> {
        let keys: Vec<PublicKey> = self.policy.oversight().iter().map(|o| o.key).collect();
        if keys.is_empty() || docs.is_empty() {
            return Ok(());
        }
        let items = docs
            .iter()
            .map(|(i, d)| batch.entries.get(*i).map(|e| (e, d)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ApiError::internal(
                    "sealing the oversight copy",
                    escrow_core::Error::malformed("batch", "entry index"),
                )
            })?;
        let sealed = Sealed::seal_batch(items, &keys, &mut rand::rng())
            .map_err(|e| ApiError::internal("sealing the oversight copy", e))?;
        for ((i, _), s) in docs.iter().zip(sealed) {
            if let Some(e) = batch.entries.get_mut(*i) {
                e.sealed = Some(s);
            }
        }
        Ok(())
    }

    /// Which judged ciphertexts the release limit would admit against the last committed
    /// counters (read connection, no writer lock): the shares worth computing before the lock.
    /// `judged` yields the digest of each valid ciphertext and `None` for a refused item; used
    /// by both protocol versions.
    pub(crate) fn pre_admit(
        &self,
        warrant: &escrow_core::warrant::VerifiedWarrant,
        judged: impl ExactSizeIterator<Item = Option<CiphertextDigest>>,
    ) -> Result<Vec<bool>, crate::error::NodeError> {
        let conn = lock(&self.reader);
        let already = db::released_count(&conn, &self.db_path, warrant.id())?;
        let mut counter = ReleaseCounter::new(warrant, already);
        let mut out = Vec::with_capacity(judged.len());
        for digest in judged {
            out.push(match digest {
                Some(d) => {
                    let before = db::is_released(&conn, &self.db_path, warrant.id(), &d)?;
                    counter.admit(d, before).is_ok()
                }
                None => false,
            });
        }
        Ok(out)
    }

    /// The warrant itself is refused: one refusal entry for the whole request, holding the
    /// request digest and the number of ciphertexts, never the ciphertexts (bounded size).
    fn refuse_all(
        &self,
        db: &mut Db,
        wd: WarrantDigest,
        request: Digest32,
        digests: &[Option<CiphertextDigest>],
        refusal: Refusal,
        time: Timestamp,
    ) -> Result<ReleaseResponse, ApiError> {
        let (seq, code) =
            self.log_request_refusal(db, wd, request, digests.len(), &refusal, time)?;
        let results = digests
            .iter()
            .map(|d| {
                ReleaseResult::refused(
                    ItemRefusal {
                        ciphertext: *d,
                        code,
                        detail: refusal.detail.clone(),
                    },
                    Some(seq),
                )
            })
            .collect();
        Ok(
            ReleaseResponse::unsigned(self.index(), self.set.id(), wd, None, time, results)
                .sign(&self.signing),
        )
    }

    /// `POST /v1/cancel`.
    pub fn cancel(&self, body: &[u8]) -> Result<CancelResponse, ApiError> {
        let text = core::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("malformed-request", "body is not UTF-8"))?;
        let env = CancellationEnvelope::from_json(text)
            .map_err(|r| ApiError::bad_request("malformed-request", r.to_string()))?;
        self.check_healthy()?;
        let time = now();
        let mut db = lock(&self.db);
        match self.policy.verify_cancellation(&env, time) {
            Err(r) => {
                let seq = db.next_seq();
                let mut entry = LogEntry::refusal(seq, time, None, vec![], r.code.as_str());
                entry.document = Some(env.digest());
                self.commit(
                    &mut db,
                    &Batch {
                        entries: vec![entry],
                        ..Batch::default()
                    },
                    time,
                )?;
                Err(ApiError::new(StatusCode::FORBIDDEN, r.code.as_str(), r.detail).logged_at(seq))
            }
            Ok(vc) => {
                let id = vc.warrant_id().to_string();
                if let Some(seq) = db.cancellation_seq(&id).map_err(|e| self.db_failed(e))? {
                    return Ok(CancelResponse {
                        version: V1::default(),
                        status: CancelStatus::AlreadyCancelled,
                        warrant_id: id,
                        leaf_index: seq,
                    });
                }
                let seq = db.next_seq();
                let entry =
                    LogEntry::cancellation(seq, time, vc.payload().warrant_digest, vc.digest());
                let mut batch = Batch {
                    entries: vec![entry],
                    cancellation: Some((id.clone(), vc.digest(), env.to_json(), seq)),
                    ..Batch::default()
                };
                // The oversight copy: the signed cancellation, so the oversight view shows why
                // the warrant stopped (entry encoding version 4).
                self.seal_for_oversight(&mut batch, &[(0, SealedDocument::Cancellation(env))])?;
                self.commit(&mut db, &batch, time)?;
                // Still under the database lock: a release that has not yet committed sees it.
                self.chains
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .cancel(&id);
                tracing::info!(warrant = %id, seq, "warrant cancelled");
                Ok(CancelResponse {
                    version: V1::default(),
                    status: CancelStatus::Cancelled,
                    warrant_id: id,
                    leaf_index: seq,
                })
            }
        }
    }

    /// `GET /v1/info`.
    pub fn info(&self) -> Info {
        let me = self.set.member(self.index()).ok();
        let problem = self.problem();
        Info {
            version: escrow_core::api::InfoVersion::default(),
            software: concat!("trustee-node ", env!("CARGO_PKG_VERSION")).into(),
            trustee: self.index(),
            set_id: self.set.id(),
            threshold: self.set.threshold(),
            trustees: self.set.trustees(),
            verification_key: self.share.verification_key().to_hex(),
            signing_key: me
                .map(|m| m.signing_key.point().to_hex())
                .unwrap_or_default(),
            signing_key_pem: self.signing.public().to_pem(),
            signing_key_id: self.signing.public().key_id(),
            policy_digest: self.policy.digest(),
            log_origin: self.log_key.origin().to_string(),
            log_key: self.log_key.verifier_key(),
            log_key_binding: Vec::new(),
            tls_key: self.tls_key.as_ref().map(|(fp, _)| *fp),
            tls_key_binding: self.tls_key.as_ref().map(|(_, b)| b.clone()),
            healthy: problem.is_none(),
            problem,
            log: self.head(),
            limits: InfoLimits {
                max_batch: self.limits.max_batch,
                max_body_bytes: self.limits.max_body_bytes,
                log_page_size: self.limits.page_size,
                log_page_bytes: self.limits.page_bytes,
                request_timeout_secs: self.limits.request_timeout.as_secs(),
            },
            fault: self.fault.map(|f| f.as_str().to_string()),
            time: now(),
            signature: Vec::new(),
        }
        .sign(&self.signing)
    }

    /// `GET /v1/log/entries`.
    pub fn entries(&self, start: Option<u64>, end: Option<u64>) -> Result<EntriesPage, ApiError> {
        let size = self.head().size;
        let start = start.unwrap_or(0);
        let end = end
            .unwrap_or_else(|| start.saturating_add(self.limits.page_size))
            .min(size);
        if start > size {
            return Err(ApiError::bad_request(
                "bad-range",
                format!("start {start} is beyond the log size {size}"),
            ));
        }
        if end < start {
            return Err(ApiError::bad_request(
                "bad-range",
                format!("end {end} is before start {start}"),
            ));
        }
        let end = end.min(start.saturating_add(self.limits.page_size));
        let rows = {
            let conn = lock(&self.reader);
            db::read_entries(&conn, &self.db_path, start, end, self.limits.page_bytes)
                .map_err(|e| ApiError::internal("reading the log", e))?
        };
        // A page also stops before the entry that would take it over `page_bytes`.
        let end = start.saturating_add(rows.len() as u64);
        let mut entries = Vec::with_capacity(rows.len());
        for r in rows {
            let entry = LogEntry::from_bytes(&r.bytes)
                .map_err(|e| ApiError::internal("decoding a log entry", e))?;
            entries.push(EntryView {
                index: r.seq,
                leaf_hash: r.leaf_hash,
                bytes: b64_encode(&r.bytes),
                entry,
            });
        }
        Ok(EntriesPage {
            version: V1::default(),
            size,
            start,
            end,
            entries,
        })
    }

    /// `GET /v1/log/checkpoint`: the current tree head as a C2SP signed note.
    pub fn checkpoint(&self) -> Result<String, ApiError> {
        self.log_key
            .sign(&self.head())
            .map_err(|e| ApiError::internal("signing the checkpoint", e))
    }

    fn check_size(&self, what: &str, size: u64) -> Result<(), ApiError> {
        let now = self.head().size;
        if size > now {
            return Err(ApiError::bad_request(
                "bad-range",
                format!("{what} {size} is beyond the log size {now}"),
            ));
        }
        Ok(())
    }

    /// `GET /v1/log/proof/inclusion?index=&size=`.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<InclusionProofView, ApiError> {
        self.check_size("size", size)?;
        if index >= size {
            return Err(ApiError::bad_request(
                "bad-range",
                format!("leaf index {index} >= tree size {size}"),
            ));
        }
        let prover = self.prover(size);
        let proof = prover.inclusion(index).map_err(proof_error)?;
        let root = prover.tree_hash().map_err(proof_error)?;
        let leaf_hash = self
            .leaf_range(index, index.saturating_add(1))?
            .first()
            .copied()
            .ok_or_else(|| ApiError::internal("reading the log", "no leaf hash"))?;
        Ok(InclusionProofView {
            version: V1::default(),
            index,
            size,
            leaf_hash,
            root,
            proof,
        })
    }

    /// `GET /v1/log/proof/consistency?old=&new=`.
    pub fn consistency(&self, old: u64, new: u64) -> Result<ConsistencyProofView, ApiError> {
        self.check_size("new", new)?;
        if old > new {
            return Err(ApiError::bad_request(
                "bad-range",
                format!("old {old} is larger than new {new}"),
            ));
        }
        let proof = self.prover(new).consistency(old).map_err(proof_error)?;
        Ok(ConsistencyProofView {
            version: V1::default(),
            old,
            new,
            proof,
        })
    }

    fn read_envelope(&self, d: &Digest32) -> Result<Option<String>, ApiError> {
        let conn = lock(&self.reader);
        db::read_envelope(&conn, &self.db_path, d)
            .map_err(|e| ApiError::internal("reading the log", e))
    }

    /// The investigator key of a stored warrant envelope, or of the warrant a stored
    /// cancellation names (if this node holds it).
    fn investigator_of(&self, stored: &str) -> Result<Option<PublicKey>, ApiError> {
        if let Ok(w) = escrow_core::warrant::WarrantEnvelope::from_json(stored)
            .and_then(|env| Warrant::parse(&env))
        {
            return Ok(Some(*w.investigator()));
        }
        let Ok(c) = CancellationEnvelope::from_json(stored) else {
            return Ok(None);
        };
        let Ok(p) = serde_json::from_slice::<escrow_core::warrant::CancellationPayload>(
            &c.envelope().payload,
        ) else {
            return Ok(None);
        };
        Ok(self
            .read_envelope(&p.warrant_digest.digest())?
            .and_then(|w| escrow_core::warrant::WarrantEnvelope::from_json(&w).ok())
            .and_then(|env| Warrant::parse(&env).ok())
            .map(|w| *w.investigator()))
    }

    /// `GET /v1/log/envelope?digest=`: the stored copy of a warrant or cancellation whose
    /// digest is in the log, served only to a request signed (`escrow_core::auth`) by an
    /// oversight key of the policy or by the investigator the warrant names (for a
    /// cancellation: the cancelled warrant's investigator). Anyone else gets 401/403, the same
    /// whether or not the digest exists.
    pub fn envelope(
        &self,
        auth: Option<&[u8]>,
        path_and_query: &str,
        digest: &str,
    ) -> Result<String, ApiError> {
        let sig =
            RequestSignature::from_header(auth.ok_or_else(|| auth_error(AuthError::Missing))?)
                .map_err(auth_error)?;
        let d = Digest32::from_hex(digest)
            .ok_or_else(|| ApiError::bad_request("bad-digest", "digest must be 64 hex digits"))?;
        let wrong_key = || {
            auth_error(AuthError::WrongKey {
                found: sig.key_id,
                expected: " (only the policy's oversight keys and the warrant's investigator may read a warrant)".into(),
            })
        };
        if let Some(o) = self.policy.oversight_key(&sig.key_id) {
            let key = o.key;
            self.authenticate(&sig, &key, "GET", path_and_query, b"")?;
            return self.read_envelope(&d)?.ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not-found",
                    "no warrant or cancellation with that digest",
                )
            });
        }
        let stored = self.read_envelope(&d)?.ok_or_else(wrong_key)?;
        match self.investigator_of(&stored)? {
            Some(key) if key.key_id() == sig.key_id => {
                self.authenticate(&sig, &key, "GET", path_and_query, b"")?;
                Ok(stored)
            }
            _ => Err(wrong_key()),
        }
    }
}

/// The investigator key a request's warrant names (whose signature the request must carry).
fn investigator_of_request(
    warrant: Result<escrow_core::warrant::WarrantEnvelope, Refusal>,
) -> Result<PublicKey, ApiError> {
    Ok(*warrant
        .and_then(|env| Warrant::parse(&env))
        .map_err(|r| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                format!(
                    "the warrant does not parse, so it names no investigator key to check the request signature with: {r}"
                ),
            )
        })?
        .investigator())
}

/// A proof the node could not compute: out of range (400 `bad-range`) or its log unreadable.
fn proof_error(e: escrow_core::audit::ProofError) -> ApiError {
    match e {
        escrow_core::audit::ProofError::OutOfRange(why) => ApiError::bad_request("bad-range", why),
        other => ApiError::internal("proving from the log's tiles", other),
    }
}

fn request_error(e: RequestError) -> ApiError {
    batch_or_malformed(
        matches!(e, RequestError::TooManyCiphertexts { .. }),
        e.to_string(),
    )
}

/// A release request of either version that cannot be read: 413 when it holds too many
/// ciphertexts, otherwise 400.
pub(crate) fn batch_or_malformed(too_many: bool, detail: String) -> ApiError {
    if too_many {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::BatchTooLarge,
            detail,
        )
    } else {
        ApiError::bad_request(ErrorCode::MalformedRequest, detail)
    }
}

/// 401 for a request that is not (validly, freshly) signed, 403 for one signed by a key that
/// may not make it, 503 when the nonce memory is full.
fn auth_error(e: AuthError) -> ApiError {
    let status = match e {
        AuthError::WrongKey { .. } => StatusCode::FORBIDDEN,
        AuthError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    ApiError::new(status, e.code(), e.to_string())
}

type Shared = Arc<Node>;

/// `text` with every spelling of the state folder's path replaced by `<state>` (as given, and
/// canonical), for answers to the public.
fn public_text(text: &str, state_dir: &std::path::Path) -> String {
    let mut out = text.to_string();
    let mut spellings = vec![state_dir.display().to_string()];
    if let Ok(c) = std::fs::canonicalize(state_dir) {
        spellings.push(c.display().to_string());
    }
    spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in spellings.iter().filter(|s| !s.is_empty()) {
        out = out.replace(s.as_str(), "<state>");
    }
    out
}

/// A POST body must be of the endpoint's media type: `application/json` (parameters allowed,
/// `charset` only `utf-8`), or `application/vnd.escrow.v2` for `/v2/release`; checked before
/// anything else is done with the request (`docs/api.md` §1).
fn check_content_type(headers: &axum::http::HeaderMap, expected: &str) -> Result<(), ApiError> {
    let refuse = |why: String| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!("{why}; send the body with Content-Type: {expected}"),
        )
    };
    let value = headers
        .get(header::CONTENT_TYPE)
        .ok_or_else(|| refuse("the request has no Content-Type".into()))?;
    let text = value
        .to_str()
        .map_err(|_| refuse("the Content-Type is not ASCII".into()))?;
    let mut parts = text.split(';');
    let media = parts.next().unwrap_or_default().trim();
    if !media.eq_ignore_ascii_case(expected) {
        return Err(refuse(format!("Content-Type {text:?} is not {expected}")));
    }
    for param in parts {
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        if name.trim().eq_ignore_ascii_case("charset")
            && !value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err(refuse(format!(
                "Content-Type {text:?}: the body must be UTF-8"
            )));
        }
    }
    Ok(())
}

/// The media type of every JSON POST body.
const JSON_MEDIA: &str = "application/json";

async fn read_body(req: Request, media: &str, limits: &Limits) -> Result<Vec<u8>, ApiError> {
    let (limit, timeout) = (limits.max_body_bytes, limits.body_timeout);
    check_content_type(req.headers(), media)?;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("request body larger than {limit} bytes"),
        )
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    // Read straight into one buffer (sized from Content-Length, at most `limit`): memory is
    // the body once, not the body plus its chunks plus a copy.
    let capacity = announced.map_or(0, |l| usize::try_from(l).unwrap_or(limit).min(limit));
    let mut body = req.into_body();
    let read = async move {
        use http_body_util::BodyExt;
        let mut out: Vec<u8> = Vec::with_capacity(capacity);
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| {
                ApiError::bad_request("malformed-request", "the request body could not be read")
            })?;
            if let Ok(data) = frame.into_data() {
                if out.len().saturating_add(data.len()) > limit {
                    return Err(too_large());
                }
                out.extend_from_slice(&data);
            }
        }
        Ok(out)
    };
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body-timeout",
            format!(
                "the request body was not received within {} s",
                timeout.as_secs()
            ),
        )),
        Ok(r) => r,
    }
}

/// Run `f` (given the node) on a blocking thread once one of the node-wide work permits is free (the permit is
/// held until `f` returns, even if the client has gone).
async fn blocking<T: Send + 'static>(
    node: &Shared,
    f: impl FnOnce(&Node) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let n = node.clone();
    let permit = node
        .work
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::internal("waiting for a worker", e))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f(&n)
    })
    .await
    .map_err(|e| ApiError::internal("running a request", e))?
}

async fn h_info(State(node): State<Shared>) -> Json<Info> {
    Json(node.info())
}

async fn h_release(
    State(node): State<Shared>,
    req: Request,
) -> Result<Json<ReleaseResponse>, ApiError> {
    let (auth, pq) = auth_header(req.headers(), req.uri());
    let body = read_body(req, JSON_MEDIA, &node.limits).await?;
    blocking(&node, move |n| n.release(auth.as_deref(), &pq, &body))
        .await
        .map(Json)
}

async fn h_cancel(
    State(node): State<Shared>,
    req: Request,
) -> Result<Json<CancelResponse>, ApiError> {
    let body = read_body(req, JSON_MEDIA, &node.limits).await?;
    blocking(&node, move |n| n.cancel(&body)).await.map(Json)
}

async fn h_entries(
    State(node): State<Shared>,
    q: Result<Query<EntriesQuery>, QueryRejection>,
) -> Result<Json<EntriesPage>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad-range", e.body_text()))?;
    blocking(&node, move |n| n.entries(q.start, q.end))
        .await
        .map(Json)
}

async fn h_checkpoint(State(node): State<Shared>) -> Result<Response, ApiError> {
    let note = blocking(&node, move |n| n.checkpoint()).await?;
    let mut r = Response::new(Body::from(note));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn h_inclusion(
    State(node): State<Shared>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<InclusionProofView>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad-range", e.body_text()))?;
    blocking(&node, move |n| n.inclusion(q.index, q.size))
        .await
        .map(Json)
}

async fn h_consistency(
    State(node): State<Shared>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<ConsistencyProofView>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad-range", e.body_text()))?;
    blocking(&node, move |n| n.consistency(q.old, q.new))
        .await
        .map(Json)
}

/// The `Escrow-Signature` header and the path with query of a request.
fn auth_header(
    headers: &axum::http::HeaderMap,
    uri: &axum::http::Uri,
) -> (Option<Vec<u8>>, String) {
    (
        headers
            .get(escrow_core::auth::HEADER)
            .map(|v| v.as_bytes().to_vec()),
        uri.path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
    )
}

async fn h_envelope(
    State(node): State<Shared>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
    q: Result<Query<EnvelopeQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (auth, pq) = auth_header(&headers, &uri);
    let Query(q) = q.map_err(|e| ApiError::bad_request("bad-digest", e.body_text()))?;
    let env = blocking(&node, move |n| n.envelope(auth.as_deref(), &pq, &q.digest)).await?;
    let mut r = Response::new(Body::from(env));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

async fn h_head(State(node): State<Shared>) -> Json<TreeHead> {
    Json(node.head())
}

/// Admission by client address, before anything else (`Node::admit`).
async fn admission(
    State(node): State<Shared>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::response::IntoResponse;
    let ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let post = req.method() == axum::http::Method::POST;
    match node.admit(ip, post) {
        Ok(ticket) => {
            let resp = next.run(req).await;
            drop(ticket);
            resp
        }
        Err(e) => e.into_response(),
    }
}

async fn h_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "no such endpoint; see docs/api.md",
    )
}

async fn h_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "method not allowed on this endpoint",
    )
}

/// Every error answer is JSON, including those made by layers (timeout, limits).
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let code = code_for_status(status);
    let msg = status.canonical_reason().unwrap_or("error");
    let mut r = Response::new(Body::from(error_json(code, msg, None)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The router with every layer.
pub fn router(node: Shared) -> axum::Router {
    let limits = node.limits;
    axum::Router::new()
        .route(path::INFO, get(h_info))
        .route(path::RELEASE, post(h_release))
        .route(path::RELEASE_V2, post(release_v2::h_release_v2))
        .route(path::CANCEL, post(h_cancel))
        .route(path::ENTRIES, get(h_entries))
        .route(path::HEAD, get(h_head))
        .route(path::CHECKPOINT, get(h_checkpoint))
        .route(path::INCLUSION, get(h_inclusion))
        .route(path::CONSISTENCY, get(h_consistency))
        .route(path::ENVELOPE, get(h_envelope))
        .merge(refresh::refresh_routes())
        .route(path::TLOG_CHECKPOINT, get(h_checkpoint))
        .route(path::TILES, get(tiles::h_tile))
        .fallback(h_not_found)
        .method_not_allowed_fallback(h_method)
        .with_state(node.clone())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(node, admission))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(axum::middleware::map_response(json_errors))
}

/// The log entries of one admitted release request, both protocol versions, in request
/// order: every item gets one entry (a release or a refusal) and the next sequence number.
pub(crate) struct ReleaseLog {
    seq: u64,
    batch: Batch,
    known: bool,
    oversee: bool,
    /// Oversight copies (issue 16): the warrant envelope and every released header.
    copies: Vec<(usize, SealedDocument)>,
    wd: WarrantDigest,
    inv: escrow_core::codec::KeyId,
    time: Timestamp,
    warrant_id: String,
    newly: HashSet<CiphertextDigest>,
    counted: HashSet<CiphertextDigest>,
}

impl ReleaseLog {
    /// A release entry for ciphertext `ct` with share digest `share` (and the header's
    /// oversight copy); its release counter when the limit counted it now. Returns its leaf
    /// index.
    pub(crate) fn release(
        &mut self,
        ct: CiphertextDigest,
        share: Digest32,
        header: impl FnOnce() -> SealedDocument,
    ) -> u64 {
        let seq = self.seq;
        if self.oversee {
            self.copies.push((self.batch.entries.len(), header()));
        }
        self.batch.entries.push(LogEntry::release(
            seq, self.time, self.wd, ct, share, self.inv,
        ));
        if self.newly.contains(&ct) && self.counted.insert(ct) {
            self.batch.releases.push((self.warrant_id.clone(), ct, seq));
        }
        self.seq += 1;
        seq
    }

    /// A refusal entry for one item. Returns its leaf index.
    pub(crate) fn refuse(&mut self, r: &ItemRefusal) -> u64 {
        let seq = self.seq;
        self.batch.entries.push(LogEntry::refusal(
            seq,
            self.time,
            Some(self.wd),
            r.ciphertext.into_iter().collect(),
            r.code.as_str(),
        ));
        self.seq += 1;
        seq
    }
}
