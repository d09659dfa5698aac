//! # escrow-client
//!
//! A typed client for the trustee-node API (`docs/api.md`), for investigators, auditors and
//! authorities: every answer is read into its [`escrow_core::api`] type.
//!
//! * **Transport.** HTTPS with rustls (ring provider). [`ClientConfig::ca_pem`] pins the
//!   certificates to trust (a private CA, or the node's own certificate when it is self-signed
//!   and marked as an end-entity certificate); without it the public web roots are used. Plain
//!   `http://` is accepted only to a loopback host (`127.0.0.0/8`, `::1`, `localhost`) unless
//!   [`ClientConfig::allow_insecure_http`] is set: a release or an audit over the open network
//!   must not be readable or alterable in transit. Redirects are not followed.
//! * **The TLS key tied to the trustee.** Over HTTPS, [`NodeClient::bind_tls`] (given the
//!   trustee's verified `/v1/info`) accepts the node only if the key of every certificate it
//!   presented is the TLS key its signed answer binds, and pins it: a later handshake with
//!   another key fails before any request is sent ([`ClientError::TlsKey`]; `docs/api.md`
//!   §3.1). A certificate the CA vouches for is not enough.
//! * **Bounds.** A timeout per attempt, at most [`MAX_ATTEMPTS`] attempts with exponential
//!   back-off (0.4 s, 0.8 s, 1.6 s, then 2 s), and a total time budget across all attempts.
//!   Connection failures, 5xx and 408 answers are retried; any other answer is final.
//! * **Log paging.** [`NodeClient::log_pages`] walks `[start, end)` page by page, as the node
//!   serves them.
//!
//! [`investigator`] turns the trustees' answers into verified shares and one outcome per
//! message.

pub mod auditor;
pub mod cancel;
pub mod ceremony;
pub mod files;
pub mod investigator;
pub mod investigator_v2;
pub mod mailbox;
pub mod retrieval;
mod tls;
pub mod trustees;

use escrow_core::api::{
    self, CancelResponse, ConsistencyProofView, EntriesPage, ErrorBody, ErrorCode,
    InclusionProofView, Info,
};
use escrow_core::audit::TreeHead;
use escrow_core::codec::Digest32;
use escrow_core::release::ReleaseResponse;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The most attempts a request gets, whatever the configuration says.
pub const MAX_ATTEMPTS: u32 = 10;

/// The largest answer read by default (a release answer for 10,000 messages is ~8 MiB).
pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// How the client talks to nodes.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Time allowed for one attempt (connect, send, answer).
    pub timeout: Duration,
    /// Attempts per request (capped at [`MAX_ATTEMPTS`]; at least 1).
    pub attempts: u32,
    /// Total time across all attempts of one request, waits included; no retry starts after it.
    pub retry_budget: Duration,
    /// PEM certificates to trust instead of the public web roots (a CA, or a self-signed node
    /// certificate).
    pub ca_pem: Option<Vec<u8>>,
    /// Allow `http://` to a host that is not loopback (traffic readable and alterable in
    /// transit). Off by default.
    pub allow_insecure_http: bool,
    /// Largest answer body read.
    pub max_answer_bytes: u64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(60),
            attempts: 3,
            retry_budget: Duration::from_secs(600),
            ca_pem: None,
            allow_insecure_http: false,
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }
}

impl ClientConfig {
    /// The configuration a user's command asks for: `timeout_secs` per attempt (at least 1),
    /// `attempts`, plain HTTP beyond loopback only if allowed, and the CA file to trust, if any.
    pub fn for_command(
        timeout_secs: u64,
        attempts: u32,
        allow_insecure_http: bool,
        ca: Option<&std::path::Path>,
    ) -> Result<Self, ClientError> {
        let cfg = ClientConfig {
            timeout: Duration::from_secs(timeout_secs.max(1)),
            attempts,
            allow_insecure_http,
            ..ClientConfig::default()
        };
        match ca {
            Some(ca) => cfg.with_ca_file(ca),
            None => Ok(cfg),
        }
    }

    /// Trust the certificates of a PEM file (checked now: it must hold at least one).
    pub fn with_ca_file(mut self, path: &std::path::Path) -> Result<Self, ClientError> {
        let pem = std::fs::read(path).map_err(|e| ClientError::CaCert {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        parse_certs(&pem).map_err(|detail| ClientError::CaCert {
            path: path.display().to_string(),
            detail,
        })?;
        self.ca_pem = Some(pem);
        Ok(self)
    }
}

fn parse_certs(pem: &[u8]) -> Result<Vec<ureq::tls::Certificate<'static>>, String> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return Err(format!("not PEM: {e}")),
        }
    }
    if certs.is_empty() {
        return Err("no certificate (BEGIN CERTIFICATE) in the file".into());
    }
    Ok(certs)
}

/// Why a request to a node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not `http(s)://host[:port]`.
    #[error("{url}: not a trustee URL ({detail}); expected https://HOST[:PORT]")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        detail: String,
    },
    /// `http://` to a host that is not loopback, without the explicit permission.
    #[error(
        "{url}: plain HTTP to a host that is not loopback would expose the traffic; use https:// (with --ca-cert for a private CA), or allow it explicitly"
    )]
    InsecureUrl {
        /// The URL.
        url: String,
    },
    /// The CA file could not be used.
    #[error("{path}: cannot use as CA certificate: {detail}")]
    CaCert {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// No answer (connection refused, timeout, TLS failure), after every attempt.
    #[error("{url}: unreachable: {detail}")]
    Unreachable {
        /// The node.
        url: String,
        /// The last failure.
        detail: String,
    },
    /// The node answered with an error.
    #[error("{url}: HTTP {status}: {code}: {message}")]
    Status {
        /// The node.
        url: String,
        /// HTTP status.
        status: u16,
        /// The error code of its answer.
        code: ErrorCode,
        /// Its message.
        message: String,
        /// The log entry that recorded the refusal, if logged.
        leaf_index: Option<u64>,
    },
    /// The TLS key the node presented is not the one its trustee bound (or it binds none),
    /// `docs/api.md` §3.1; the error names the trustee. Not retried.
    #[error("{url}: {source}")]
    TlsKey {
        /// The node.
        url: String,
        /// Which trustee, and why.
        source: escrow_core::api::InfoError,
    },
    /// An answer that is not what the API specifies.
    #[error("{url}: {detail}")]
    Malformed {
        /// The node.
        url: String,
        /// What is wrong.
        detail: String,
    },
}

impl ClientError {
    /// The node's URL this error is about.
    pub fn culprit(&self) -> Option<&str> {
        match self {
            ClientError::BadUrl { url, .. }
            | ClientError::InsecureUrl { url }
            | ClientError::Unreachable { url, .. }
            | ClientError::Status { url, .. }
            | ClientError::TlsKey { url, .. }
            | ClientError::Malformed { url, .. } => Some(url),
            ClientError::CaCert { .. } => None,
        }
    }

    /// A usage error (bad URL, insecure URL, unusable CA file) rather than a failure of the node.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ClientError::BadUrl { .. }
                | ClientError::InsecureUrl { .. }
                | ClientError::CaCert { .. }
        )
    }

    /// The node refused by policy (a 403 with a warrant reason code).
    pub fn refusal(&self) -> Option<&ErrorCode> {
        match self {
            ClientError::Status {
                status: 403, code, ..
            } => Some(code),
            _ => None,
        }
    }
}

/// Bytes sent and received by one [`NodeClient`] (all attempts).
#[derive(Debug, Default)]
pub struct Traffic {
    sent: AtomicU64,
    received: AtomicU64,
}

impl Traffic {
    /// Request bodies sent.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
    /// Answer bodies received.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

/// A checked node base URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeUrl {
    base: String,
    https: bool,
}

impl NodeUrl {
    /// Check `url` (scheme, host, no path/query) under the rule for plain HTTP.
    pub fn parse(url: &str, allow_insecure_http: bool) -> Result<Self, ClientError> {
        let bad = |detail: &str| ClientError::BadUrl {
            url: url.to_string(),
            detail: detail.to_string(),
        };
        let base = url.trim_end_matches('/');
        let uri: ureq::http::Uri = base.parse().map_err(|_| bad("does not parse"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            Some(_) => return Err(bad("the scheme must be http or https")),
            None => return Err(bad("no scheme")),
        };
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(bad("give the node's base URL, without a path"));
        }
        if uri.query().is_some() {
            return Err(bad("give the node's base URL, without a query"));
        }
        if !https && !allow_insecure_http && !is_loopback(host) {
            return Err(ClientError::InsecureUrl {
                url: url.to_string(),
            });
        }
        Ok(NodeUrl {
            base: base.to_string(),
            https,
        })
    }

    /// The base URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// Whether it is HTTPS.
    pub fn is_https(&self) -> bool {
        self.https
    }
}

impl core::fmt::Display for NodeUrl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.base)
    }
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What the investigator's check of the release gate (issue 17, `docs/witness.md`
/// §Investigator's check) needs of one trustee: its log key, taken from its `/v1/info` only
/// after [`Info::verify`] against the trustee set, and the policy's witness quorum.
#[derive(Clone, Debug)]
pub struct GateCheck {
    /// The trustee's C2SP log verifier key.
    pub log_key: String,
    /// The witnesses, the quorum and the digest of the trustees' policy (a required auditing
    /// witness's statement must verify under it).
    pub policy: escrow_core::audit::witness::GatePolicy,
}

/// A client of one trustee node.
#[derive(Clone)]
pub struct NodeClient {
    url: NodeUrl,
    agent: ureq::Agent,
    cfg: Arc<ClientConfig>,
    traffic: Arc<Traffic>,
    gate: Option<Arc<GateCheck>>,
    /// The TLS keys seen, and the trustee's bound key once [`NodeClient::bind_tls`] took it.
    pin: tls::Pin,
}

impl core::fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "NodeClient({})", self.url)
    }
}

/// What one attempt gave.
enum Attempt {
    /// A final answer (status, body).
    Done(u16, Vec<u8>),
    /// Worth retrying: why, and the node's error answer (status, body) if it gave one.
    Retry(String, Option<(u16, String)>),
}

impl NodeClient {
    /// A client of the node at `url` (checked: see [`NodeUrl::parse`]).
    pub fn new(url: &str, cfg: &ClientConfig) -> Result<Self, ClientError> {
        use ureq::unversioned::transport::{ConnectProxyConnector, Connector as _, TcpConnector};
        let url = NodeUrl::parse(url, cfg.allow_insecure_http)?;
        let roots = match &cfg.ca_pem {
            Some(pem) => Some(
                parse_certs(pem)
                    .map_err(|detail| ClientError::CaCert {
                        path: "--ca-cert".into(),
                        detail,
                    })?
                    .iter()
                    .map(|c| rustls::pki_types::CertificateDer::from(c.der().to_vec()))
                    .collect::<Vec<_>>(),
            ),
            None => None,
        };
        let pin = tls::Pin::default();
        let tls_config = tls::client_config(roots.as_deref(), pin.clone()).map_err(|detail| {
            ClientError::CaCert {
                path: "--ca-cert".into(),
                detail,
            }
        })?;
        let agent_cfg = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout.max(Duration::from_millis(100))))
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        // ureq's own chain, with the TLS step that checks the pin (`tls`).
        let connector =
            ().chain(ConnectProxyConnector::default())
                .chain(TcpConnector::default())
                .chain(tls::PinnedTls { config: tls_config });
        let agent = ureq::Agent::with_parts(
            agent_cfg,
            connector,
            ureq::unversioned::resolver::DefaultResolver::default(),
        );
        Ok(NodeClient {
            url,
            agent,
            cfg: Arc::new(cfg.clone()),
            traffic: Arc::new(Traffic::default()),
            gate: None,
            pin,
        })
    }

    /// This client with the release gate's check: every release answer that hands out a share
    /// must carry a checkpoint signed by `gate.log_key` and cosigned by `gate.policy`'s quorum,
    /// with an inclusion proof of each release entry, or none of its shares is used.
    pub fn with_gate_check(mut self, gate: GateCheck) -> Self {
        self.gate = Some(Arc::new(gate));
        self
    }

    /// The release gate's check, when set ([`NodeClient::with_gate_check`]).
    pub fn gate_check(&self) -> Option<&GateCheck> {
        self.gate.as_deref()
    }

    /// Tie this client's TLS connections to the trustee `info` speaks for (`docs/api.md`
    /// §3.1). `info` must be this node's answer, already checked with
    /// [`escrow_core::api::Info::verify`] against the trustee set. Over HTTPS, every TLS key
    /// the node presented so far must be the one `info` binds (an answer without a bound TLS
    /// key is refused); it is then pinned, and a later handshake with another key fails
    /// ([`ClientError::TlsKey`]). Over plain HTTP there is nothing to tie: `Ok`. This client
    /// and its clones share the pin.
    pub fn bind_tls(&self, info: &Info) -> Result<(), escrow_core::api::InfoError> {
        let mut st = tls::lock(&self.pin);
        if st.overflow {
            return Err(escrow_core::api::InfoError::TlsKeyDiffers {
                trustee: info.trustee,
                served: "more than 8 different keys".into(),
                bound: info.tls_key.map_or_else(|| "none".into(), |k| k.to_hex()),
            });
        }
        let seen = match st.pinned {
            Some((_, k)) => vec![k],
            None => st.seen.clone(),
        };
        info.check_tls_keys(self.url.https, &seen)?;
        if let Some(k) = info.tls_key.filter(|_| self.url.https) {
            st.pinned = Some((info.trustee, k));
        }
        Ok(())
    }

    /// A handshake refused by the pin ([`NodeClient::bind_tls`]), as the request's error.
    fn pin_refusal(&self) -> Option<ClientError> {
        tls::lock(&self.pin)
            .refused
            .clone()
            .map(|source| ClientError::TlsKey {
                url: self.url.base.clone(),
                source,
            })
    }

    /// The node's URL.
    pub fn url(&self) -> &NodeUrl {
        &self.url
    }

    /// Bytes on the wire so far.
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    fn attempt(
        &self,
        method: &str,
        target: &str,
        path_query: &str,
        body: Option<(&[u8], &str)>,
        signer: Option<&escrow_core::keys::PrivateKey>,
    ) -> Attempt {
        // A signed request (`docs/api.md` §2.1) is signed afresh for every attempt: a new
        // nonce, the current time.
        let sig = signer.map(|k| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            escrow_core::auth::RequestSignature::sign_now(
                k,
                method,
                path_query,
                body.map_or(&[][..], |(b, _)| b),
                escrow_core::time::Timestamp::from_unix(now),
                &mut rand::rng(),
            )
            .to_header()
        });
        let res = match body {
            Some((b, content_type)) => {
                self.traffic
                    .sent
                    .fetch_add(b.len() as u64, Ordering::Relaxed);
                let mut r = self.agent.post(target).header("content-type", content_type);
                if content_type != "application/json" {
                    r = r.header("accept", content_type);
                }
                if let Some(s) = &sig {
                    r = r.header(escrow_core::auth::HEADER, s);
                }
                r.send(b)
            }
            None if method == "GET" => {
                let mut r = self.agent.get(target);
                if let Some(s) = &sig {
                    r = r.header(escrow_core::auth::HEADER, s);
                }
                r.call()
            }
            None => self.agent.post(target).send_empty(),
        };
        let mut resp = match res {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(explain_transport(&e), None),
        };
        let status = resp.status().as_u16();
        let bytes = match resp
            .body_mut()
            .with_config()
            .limit(self.cfg.max_answer_bytes)
            .read_to_vec()
        {
            Ok(t) => t,
            Err(e) => return Attempt::Retry(format!("unreadable answer: {e}"), None),
        };
        self.traffic
            .received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        // 429: the node's per-client limits; back off and try again like an outage.
        if status >= 500 || status == 408 || status == 429 {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            return Attempt::Retry(
                format!("HTTP {status}: {}", error_summary(&text)),
                Some((status, text)),
            );
        }
        Attempt::Done(status, bytes)
    }

    /// One request with retries: the final (status, body), or why there was none.
    fn exchange(
        &self,
        method: &str,
        path_query: &str,
        body: Option<&str>,
    ) -> Result<(u16, String), ClientError> {
        self.exchange_signed(method, path_query, body, None)
    }

    /// [`Self::exchange`], each attempt signed by `signer` when given.
    fn exchange_signed(
        &self,
        method: &str,
        path_query: &str,
        body: Option<&str>,
        signer: Option<&escrow_core::keys::PrivateKey>,
    ) -> Result<(u16, String), ClientError> {
        let body = body.map(|b| (b.as_bytes(), "application/json"));
        let (status, bytes) = self.exchange_bytes(method, path_query, body, signer)?;
        let text = String::from_utf8(bytes).map_err(|_| ClientError::Malformed {
            url: self.url.base.clone(),
            detail: "the answer is not UTF-8".into(),
        })?;
        Ok((status, text))
    }

    /// One request with retries, any body `(bytes, content type)`, the answer as bytes.
    fn exchange_bytes(
        &self,
        method: &str,
        path_query: &str,
        body: Option<(&[u8], &str)>,
        signer: Option<&escrow_core::keys::PrivateKey>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let target = format!("{}{path_query}", self.url.base);
        let attempts = self.cfg.attempts.clamp(1, MAX_ATTEMPTS);
        let started = Instant::now();
        let mut last = String::from("no attempt made");
        let mut last_status: Option<(u16, String)> = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                // 400 ms, 800 ms, 1.6 s, then every 2 s.
                let wait =
                    Duration::from_millis(200u64.saturating_mul(1 << attempt.min(6)).min(2000));
                if started.elapsed().saturating_add(wait) >= self.cfg.retry_budget {
                    break;
                }
                std::thread::sleep(wait);
            }
            match self.attempt(method, &target, path_query, body, signer) {
                Attempt::Done(status, text) => return Ok((status, text)),
                Attempt::Retry(why, answer) => {
                    if let Some(e) = self.pin_refusal() {
                        return Err(e);
                    }
                    last_status = answer;
                    last = why;
                }
            }
        }
        match last_status {
            // The node kept answering with an error: report its answer, not an outage.
            Some((status, body)) => Err(self.status_error(status, &body)),
            None => Err(ClientError::Unreachable {
                url: self.url.base.clone(),
                detail: last,
            }),
        }
    }

    fn status_error(&self, status: u16, body: &str) -> ClientError {
        let (code, message, leaf_index) = match ErrorBody::from_json(body) {
            Ok(b) => (b.error.code, b.error.message, b.error.leaf_index),
            Err(_) => (
                ErrorCode::for_status(status),
                body.chars().take(300).collect(),
                None,
            ),
        };
        ClientError::Status {
            url: self.url.base.clone(),
            status,
            code,
            message,
            leaf_index,
        }
    }

    fn typed<T: serde::de::DeserializeOwned>(
        &self,
        status: u16,
        text: &str,
    ) -> Result<T, ClientError> {
        if status != 200 {
            return Err(self.status_error(status, text));
        }
        api::parse(text).map_err(|e| ClientError::Malformed {
            url: self.url.base.clone(),
            detail: e.to_string(),
        })
    }

    fn get_text(&self, path_query: &str) -> Result<String, ClientError> {
        let (status, text) = self.exchange("GET", path_query, None)?;
        if status != 200 {
            return Err(self.status_error(status, &text));
        }
        Ok(text)
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path_query: &str) -> Result<T, ClientError> {
        let (status, text) = self.exchange("GET", path_query, None)?;
        self.typed(status, &text)
    }

    /// `GET` any path of the node: the final status and body (after retries of outages, 5xx
    /// and 408). For endpoints without a typed method.
    pub fn get_raw(&self, path_query: &str) -> Result<(u16, String), ClientError> {
        match self.exchange("GET", path_query, None) {
            Ok(x) => Ok(x),
            // A node that kept failing: its last answer, as an answer.
            Err(ClientError::Status {
                status,
                code,
                message,
                ..
            }) => Ok((status, ErrorBody::new(code, message, None).to_json())),
            Err(e) => Err(e),
        }
    }

    /// `GET` a typed answer from any path.
    pub fn get_typed<T: serde::de::DeserializeOwned>(
        &self,
        path_query: &str,
    ) -> Result<T, ClientError> {
        self.get(path_query)
    }

    /// `POST` a JSON body signed by `key` (`docs/api.md` §2.1), typed answer.
    pub fn post_signed<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &str,
        key: &escrow_core::keys::PrivateKey,
    ) -> Result<T, ClientError> {
        let (status, text) = self.exchange_signed("POST", path, Some(body), Some(key))?;
        self.typed(status, &text)
    }

    /// `GET /v1/info`.
    pub fn info(&self) -> Result<Info, ClientError> {
        self.get(api::path::INFO)
    }

    /// `POST /v1/release` with a release request's JSON, signed by `key` (the investigator key
    /// the warrant names: the node refuses anything else, `docs/api.md` §2.1); the signed
    /// answer, parsed (the caller verifies its signature against the trustee set).
    pub fn release(
        &self,
        request_json: &str,
        key: &escrow_core::keys::PrivateKey,
    ) -> Result<ReleaseResponse, ClientError> {
        let (status, text) =
            self.exchange_signed("POST", api::path::RELEASE, Some(request_json), Some(key))?;
        if status != 200 {
            return Err(self.status_error(status, &text));
        }
        ReleaseResponse::from_json(&text).map_err(|e| ClientError::Malformed {
            url: self.url.base.clone(),
            detail: format!("malformed answer: {e}"),
        })
    }

    /// `POST /v2/release` with a binary v2 request (`docs/api.md` §3.2), signed by `key`; the
    /// signed binary answer, parsed (at most `max_results` results). The caller checks it
    /// ([`escrow_core::v2::ReleaseResponseV2::open`]).
    pub fn release_v2(
        &self,
        request: &[u8],
        key: &escrow_core::keys::PrivateKey,
        max_results: usize,
    ) -> Result<escrow_core::v2::ReleaseResponseV2, ClientError> {
        let (status, bytes) = self.exchange_bytes(
            "POST",
            api::path::RELEASE_V2,
            Some((request, escrow_core::v2::release::CONTENT_TYPE_V2)),
            Some(key),
        )?;
        if status != 200 {
            return Err(self.status_error(status, &String::from_utf8_lossy(&bytes)));
        }
        escrow_core::v2::ReleaseResponseV2::from_bytes(&bytes, max_results).map_err(|e| {
            ClientError::Malformed {
                url: self.url.base.clone(),
                detail: format!("malformed v2 answer: {e}"),
            }
        })
    }

    /// `POST /v1/cancel` with a cancellation envelope's JSON.
    pub fn cancel(&self, envelope_json: &str) -> Result<CancelResponse, ClientError> {
        let (status, text) = self.exchange("POST", api::path::CANCEL, Some(envelope_json))?;
        self.typed(status, &text)
    }

    /// `GET /v1/log/entries?start=&end=`: one page (the node may serve fewer entries).
    pub fn entries(&self, start: u64, end: u64) -> Result<EntriesPage, ClientError> {
        self.get(&format!("{}?start={start}&end={end}", api::path::ENTRIES))
    }

    /// `GET /v1/log/entries?start=&end=`, parsed as a stream
    /// (`escrow_core::audit::page::read_entries_page`): `each` sees every entry as soon as it
    /// is read, so no page size, however large, needs the page in memory (only one entry's
    /// size is bounded). Returns the number of entries. Not retried once an entry has been
    /// handed over; an outage before the answer is retried like any request.
    pub fn entries_streamed(
        &self,
        start: u64,
        end: u64,
        each: &mut dyn FnMut(escrow_core::audit::page::ServedEntry),
    ) -> Result<u64, ClientError> {
        let target = format!(
            "{}{}?start={start}&end={end}",
            self.url.base,
            api::path::ENTRIES
        );
        let attempts = self.cfg.attempts.clamp(1, MAX_ATTEMPTS);
        let mut last = String::from("no attempt made");
        for attempt in 0..attempts {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(
                    200u64.saturating_mul(1 << attempt.min(6)).min(2000),
                ));
            }
            let mut resp = match self.agent.get(&target).call() {
                Ok(r) => r,
                Err(e) => {
                    if let Some(e) = self.pin_refusal() {
                        return Err(e);
                    }
                    last = explain_transport(&e);
                    continue;
                }
            };
            let status = resp.status().as_u16();
            if status != 200 {
                let text = resp
                    .body_mut()
                    .with_config()
                    .limit(64 * 1024)
                    .read_to_string()
                    .unwrap_or_default();
                if status >= 500 || status == 408 {
                    last = format!("HTTP {status}: {}", error_summary(&text));
                    continue;
                }
                return Err(self.status_error(status, &text));
            }
            let counted = CountingReader {
                inner: resp.body_mut().with_config().limit(u64::MAX).reader(),
                traffic: &self.traffic,
            };
            return escrow_core::audit::page::read_entries_page(counted, each).map_err(|e| {
                ClientError::Malformed {
                    url: self.url.base.clone(),
                    detail: e.to_string(),
                }
            });
        }
        Err(ClientError::Unreachable {
            url: self.url.base.clone(),
            detail: last,
        })
    }

    /// `GET /tile/<path>` (C2SP tlog-tiles, `docs/api.md` §3.11): the tile's bytes, or `None`
    /// when the node does not serve it (404: not in its tree, or no tile endpoint at all).
    /// Unchecked: the caller checks what it reads against a signed checkpoint.
    pub fn tile(
        &self,
        id: &escrow_core::audit::tiles::TileId,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let (status, bytes) =
            self.exchange_bytes("GET", &format!("/tile/{}", id.path()), None, None)?;
        match status {
            200 => Ok(Some(bytes)),
            404 => Ok(None),
            s => Err(self.status_error(s, &String::from_utf8_lossy(&bytes))),
        }
    }

    /// Every page of `[start, end)`, in order; stops after the first error.
    pub fn log_pages(&self, start: u64, end: u64) -> LogPages<'_> {
        LogPages {
            client: self,
            next: start,
            end,
            failed: false,
        }
    }

    /// `GET /v1/log/head` (unsigned; use the checkpoint to trust it).
    pub fn head(&self) -> Result<TreeHead, ClientError> {
        self.get(api::path::HEAD)
    }

    /// `GET /v1/log/checkpoint`: the signed note, as text (verify it with the log key).
    pub fn checkpoint(&self) -> Result<String, ClientError> {
        self.get_text(api::path::CHECKPOINT)
    }

    /// `GET /v1/log/proof/inclusion?index=&size=`.
    pub fn inclusion(&self, index: u64, size: u64) -> Result<InclusionProofView, ClientError> {
        self.get(&format!(
            "{}?index={index}&size={size}",
            api::path::INCLUSION
        ))
    }

    /// `GET /v1/log/proof/consistency?old=&new=`.
    pub fn consistency(&self, old: u64, new: u64) -> Result<ConsistencyProofView, ClientError> {
        self.get(&format!("{}?old={old}&new={new}", api::path::CONSISTENCY))
    }

    /// `GET /v1/log/envelope?digest=`, signed by `key` (an oversight key of the policy or the
    /// warrant's investigator; `docs/api.md` §3.9): the stored envelope's JSON, or `None` if
    /// the node has no such document (404).
    pub fn envelope(
        &self,
        digest: &Digest32,
        key: &escrow_core::keys::PrivateKey,
    ) -> Result<Option<String>, ClientError> {
        let (status, text) = self.exchange_signed(
            "GET",
            &format!("{}?digest={}", api::path::ENVELOPE, digest.to_hex()),
            None,
            Some(key),
        )?;
        match status {
            200 => Ok(Some(text)),
            404 => Ok(None),
            s => Err(self.status_error(s, &text)),
        }
    }
}

/// The stored envelope `digest` from the first of `clients` that has it (each request signed
/// by `key`, see [`NodeClient::envelope`]): its JSON, or, per trustee asked, why it did not
/// serve it ("URL: not logged there", "URL: error").
pub fn first_envelope(
    clients: &[NodeClient],
    digest: &Digest32,
    key: &escrow_core::keys::PrivateKey,
) -> Result<String, Vec<String>> {
    let mut tried = Vec::new();
    for c in clients {
        match c.envelope(digest, key) {
            Ok(Some(text)) => return Ok(text),
            Ok(None) => tried.push(format!("{}: not logged there", c.url())),
            Err(e) => tried.push(format!("{}: {e}", c.url())),
        }
    }
    Err(tried)
}

/// Counts the bytes of a streamed answer into the client's traffic.
struct CountingReader<'a, R> {
    inner: R,
    traffic: &'a Traffic,
}

impl<R: std::io::Read> std::io::Read for CountingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.traffic.received.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Pages of a node's log (see [`NodeClient::log_pages`]).
pub struct LogPages<'a> {
    client: &'a NodeClient,
    next: u64,
    end: u64,
    failed: bool,
}

impl Iterator for LogPages<'_> {
    type Item = Result<EntriesPage, ClientError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.end {
            return None;
        }
        let page = match self.client.entries(self.next, self.end) {
            Ok(p) => p,
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        if page.start != self.next || page.end <= page.start || page.end > self.end {
            self.failed = true;
            return Some(Err(ClientError::Malformed {
                url: self.client.url.base.clone(),
                detail: format!(
                    "asked for entries from {} to {}, got a page [{}, {})",
                    self.next, self.end, page.start, page.end
                ),
            }));
        }
        let expected = usize::try_from(page.end - page.start).unwrap_or(usize::MAX);
        if page.entries.len() != expected {
            self.failed = true;
            return Some(Err(ClientError::Malformed {
                url: self.client.url.base.clone(),
                detail: format!(
                    "page [{}, {}) holds {} entries",
                    page.start,
                    page.end,
                    page.entries.len()
                ),
            }));
        }
        self.next = page.end;
        Some(Ok(page))
    }
}

/// A short form of an error answer for messages.
pub fn error_summary(body: &str) -> String {
    ErrorBody::from_json(body)
        .map(|b| format!("{}: {}", b.error.code, b.error.message))
        .unwrap_or_else(|_| body.chars().take(200).collect())
}

fn explain_transport(e: &ureq::Error) -> String {
    let s = e.to_string();
    if s.contains("CaUsedAsEndEntity") {
        format!(
            "{s} (the pinned certificate is a CA certificate but the node presents it as its own: make the node's self-signed certificate with basicConstraints=critical,CA:FALSE, or sign it with a CA and pin the CA)"
        )
    } else if s.contains("UnknownIssuer") {
        format!("{s} (the node's certificate is not signed by a trusted CA: give --ca-cert)")
    } else if s.contains("invalid peer certificate: BadSignature") {
        // The certificate names the pinned certificate as its issuer but is not signed by it.
        format!(
            "{s} (the node's certificate is not signed by a trusted CA: it names the pinned --ca-cert as its issuer, but that did not sign it)"
        )
    } else {
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_unless_allowed() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.3.4.5:1/",
            "http://[::1]:9",
            "http://localhost:80",
            "https://trustee.example:8443",
        ] {
            NodeUrl::parse(ok, false).unwrap();
        }
        for insecure in [
            "http://10.0.0.1:8080",
            "http://trustee.example",
            "http://[2001:db8::1]:80",
        ] {
            assert!(
                matches!(
                    NodeUrl::parse(insecure, false),
                    Err(ClientError::InsecureUrl { .. })
                ),
                "{insecure}"
            );
            NodeUrl::parse(insecure, true).unwrap();
        }
        for bad in [
            "ftp://x",
            "127.0.0.1:80",
            "https://x/v1/info",
            "https://x?a=1",
            "",
        ] {
            assert!(
                matches!(NodeUrl::parse(bad, true), Err(ClientError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pem");
        std::fs::write(&p, "not a certificate").unwrap();
        let e = ClientConfig::default().with_ca_file(&p).unwrap_err();
        assert!(matches!(e, ClientError::CaCert { .. }), "{e}");
    }

    #[test]
    fn retries_are_bounded_in_count_and_time() {
        // Nothing listens on this port (bound, then closed).
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let cfg = ClientConfig {
            timeout: Duration::from_secs(2),
            attempts: 1000,
            retry_budget: Duration::from_secs(3),
            ..ClientConfig::default()
        };
        let c = NodeClient::new(&format!("http://127.0.0.1:{port}"), &cfg).unwrap();
        let e = c.info().unwrap_err();
        assert!(matches!(e, ClientError::Unreachable { .. }), "{e}");
    }

    /// A node that answers every request with a 503: the client tries exactly `attempts`
    /// times and reports the node's answer (not an outage).
    #[test]
    fn a_failing_node_is_asked_attempts_times_and_its_answer_reported() {
        use std::io::{Read as _, Write as _};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            // Bounded: at most 4 connections, at most 30 s, and 3 s after the third (a fourth
            // attempt would come 1.6 s after it).
            l.set_nonblocking(true).unwrap();
            let t0 = Instant::now();
            let mut last = Instant::now();
            let mut served = 0;
            while served < 4
                && t0.elapsed() < Duration::from_secs(30)
                && (served < 3 || last.elapsed() < Duration::from_secs(3))
            {
                let Ok((mut s, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                s.set_nonblocking(false).unwrap();
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let body =
                    r#"{"error":{"code":"log-unavailable","message":"nothing was released"}}"#;
                let _ = write!(
                    s,
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                served += 1;
                last = Instant::now();
            }
            served
        });
        let cfg = ClientConfig {
            timeout: Duration::from_secs(10),
            attempts: 3,
            ..ClientConfig::default()
        };
        let c = NodeClient::new(&format!("http://127.0.0.1:{port}"), &cfg).unwrap();
        let e = c.info().unwrap_err();
        match &e {
            ClientError::Status { status, code, .. } => {
                assert_eq!(*status, 503);
                assert_eq!(*code, ErrorCode::LogUnavailable);
            }
            other => panic!("expected the node's answer, got {other}"),
        }
        // No fourth attempt (the server waits for one until its time is up).
        assert_eq!(server.join().unwrap(), 3);
    }
}
