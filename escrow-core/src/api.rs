//! The wire types of every trustee-node endpoint (`docs/api.md`), shared by the node and by
//! every client: no party reads a node's answers as untyped JSON.
//!
//! The API is versioned by its path prefix ([`PREFIX`], `/v1`); every JSON answer that is a
//! format of its own carries `"version": 1` ([`API_VERSION`]) and every type refuses unknown
//! fields. The release formats live in [`crate::release`] ([`ReleaseRequest`],
//! [`ReleaseResponse`], re-exported here), log entries in [`crate::audit`].
//!
//! | endpoint | request | answer |
//! |---|---|---|
//! | `GET /v1/info` | — | [`Info`] |
//! | `POST /v1/release` | [`ReleaseRequest`] | [`ReleaseResponse`] |
//! | `POST /v1/cancel` | a cancellation envelope | [`CancelResponse`] |
//! | `GET /v1/log/entries` | [`EntriesQuery`] | [`EntriesPage`] |
//! | `GET /v1/log/head` | — | [`TreeHead`] |
//! | `GET /v1/log/checkpoint` | — | a C2SP signed note (text) |
//! | `GET /v1/log/proof/inclusion` | [`InclusionQuery`] | [`InclusionProofView`] |
//! | `GET /v1/log/proof/consistency` | [`ConsistencyQuery`] | [`ConsistencyProofView`] |
//! | `GET /v1/log/envelope` | [`EnvelopeQuery`] | the stored DSSE envelope (JSON text) |
//!
//! Every error answer is an [`ErrorBody`] with a stable [`ErrorCode`].

use crate::audit::{LogEntry, TreeHead};
use crate::codec::{Digest32, KeyId, SetId, V1};
use crate::time::Timestamp;
use crate::warrant::ReasonCode;
use serde::{Deserialize, Serialize};

pub use crate::release::{ReleaseRequest, ReleaseResponse};

/// The version of the JSON answers of this API (the `version` field).
pub const API_VERSION: u32 = V1::NUMBER;

/// Path prefix of this API version.
pub const PREFIX: &str = "/v1";

/// The endpoints' paths.
pub mod path {
    /// `GET`: [`super::Info`].
    pub const INFO: &str = "/v1/info";
    /// `POST`: release shares.
    pub const RELEASE: &str = "/v1/release";
    /// `POST`: release shares, protocol version 2 (binary; `docs/api.md` §3.2).
    pub const RELEASE_V2: &str = "/v2/release";
    /// `POST`: cancel a warrant.
    pub const CANCEL: &str = "/v1/cancel";
    /// `GET`: a page of log entries.
    pub const ENTRIES: &str = "/v1/log/entries";
    /// `GET`: the unsigned tree head.
    pub const HEAD: &str = "/v1/log/head";
    /// `GET`: the signed checkpoint.
    pub const CHECKPOINT: &str = "/v1/log/checkpoint";
    /// `GET`: an inclusion proof.
    pub const INCLUSION: &str = "/v1/log/proof/inclusion";
    /// `GET`: a consistency proof.
    pub const CONSISTENCY: &str = "/v1/log/proof/consistency";
    /// `GET`: a stored warrant or cancellation envelope.
    pub const ENVELOPE: &str = "/v1/log/envelope";
    /// `GET`: the signed checkpoint at the C2SP tlog-tiles path (same note as [`CHECKPOINT`]).
    pub const TLOG_CHECKPOINT: &str = "/checkpoint";
    /// `GET`: C2SP tlog-tiles, `/tile/<L>/<N>[.p/<W>]` and `/tile/entries/<N>[.p/<W>]`
    /// (`escrow_core::audit::tiles`); the route pattern.
    pub const TILES: &str = "/tile/{*path}";
    /// Prefix of a tile URL (followed by [`crate::audit::tiles::TileId::path`]).
    pub const TILE_PREFIX: &str = "/tile/";
}

/// Format version of [`Info`]: 2 since it is signed and binds the log key, 3 since it binds
/// the TLS key (issue 17). Only 3 is read: a version-2 answer cannot bind a TLS key, and no
/// node of an earlier version needs to be read (`docs/api.md` §3.1).
pub type InfoVersion = crate::codec::FormatVersion<3>;

/// Domain tag of the log-key binding ([`Info::log_key_binding_bytes`]).
pub const TAG_LOG_KEY_BINDING: &str = "escrow/v1/log-key-binding";
/// Domain tag of the TLS-key binding ([`Info::tls_key_binding_bytes`]).
pub const TAG_TLS_KEY_BINDING: &str = "escrow/v1/tls-key-binding";
/// Domain tag of the `/v1/info` signature ([`Info::signed_bytes`]).
pub const TAG_INFO: &str = "escrow/v3/info";

/// The fingerprint of a TLS key as [`Info::tls_key`] carries it: SHA-256 of the DER
/// SubjectPublicKeyInfo of the server certificate (its end-entity certificate, the first of
/// the chain). The key, not the certificate: what lets a server complete a handshake is the
/// private key, and a certificate renewed for the same key stays bound (RFC 7469 pins the
/// same way).
pub fn tls_key_fingerprint(spki_der: &[u8]) -> Digest32 {
    Digest32::sha256(spki_der)
}

/// `GET /v1/info` answer (format version 3), signed by the trustee's signing key in the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Info {
    /// Format version ([`InfoVersion`], 2).
    pub version: InfoVersion,
    /// Software name and version.
    pub software: String,
    /// Trustee index.
    pub trustee: u16,
    /// Trustee-set id.
    pub set_id: SetId,
    /// Threshold k.
    pub threshold: u16,
    /// Number of trustees n.
    pub trustees: u16,
    /// `X_i`, compressed SEC1 hex.
    pub verification_key: String,
    /// Signing key, compressed SEC1 hex.
    pub signing_key: String,
    /// Signing key, SPKI PEM.
    pub signing_key_pem: String,
    /// Signing key id.
    pub signing_key_id: KeyId,
    /// Policy digest.
    pub policy_digest: Digest32,
    /// Origin line of this trustee's checkpoints.
    pub log_origin: String,
    /// C2SP note verifier key of the Ed25519 log key (`origin+keyid+base64`).
    pub log_key: String,
    /// ECDSA P-256 / SHA-256 signature (DER, base64) by the trustee's signing key over
    /// [`Info::log_key_binding_bytes`]: the log key belongs to this trustee of this set.
    #[serde(with = "crate::codec::b64")]
    pub log_key_binding: Vec<u8>,
    /// When the node serves HTTPS: [`tls_key_fingerprint`] of its certificate's key (hex).
    /// Absent for plain HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<Digest32>,
    /// With `tls_key`: ECDSA P-256 / SHA-256 signature (DER, base64) by the trustee's signing
    /// key over [`Info::tls_key_binding_bytes`]: the TLS key belongs to this trustee of this
    /// set.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::codec::b64_opt"
    )]
    pub tls_key_binding: Option<Vec<u8>>,
    /// False once the log could not be written (fail closed).
    pub healthy: bool,
    /// Why not healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Latest tree head.
    pub log: TreeHead,
    /// Request limits.
    pub limits: InfoLimits,
    /// Fault injection in force (tests and demos only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// The node's clock.
    pub time: Timestamp,
    /// ECDSA P-256 / SHA-256 signature (DER, base64) by the trustee's signing key over
    /// [`Info::signed_bytes`].
    #[serde(with = "crate::codec::b64")]
    pub signature: Vec<u8>,
}

/// Why a `/v1/info` answer is not trusted; every variant names the trustee it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InfoError {
    /// Another trustee set.
    #[error("trustee {trustee}: /v1/info is for trustee set {found}, not {expected}")]
    WrongSet {
        /// Claimed index.
        trustee: u16,
        /// Set id served.
        found: String,
        /// Set id expected.
        expected: String,
    },
    /// The index is not in the set.
    #[error("trustee {trustee}: not a member of the set")]
    NotMember {
        /// Claimed index.
        trustee: u16,
    },
    /// Its keys are not that trustee's in the set.
    #[error("trustee {trustee}: /v1/info serves keys that are not this trustee's in the set")]
    KeysDiffer {
        /// Claimed index.
        trustee: u16,
    },
    /// The log key is not signed by the trustee's signing key.
    #[error(
        "trustee {trustee}: log key {log_key} is not bound to the trustee's signing key in the set (binding signature does not verify)"
    )]
    LogKeyNotBound {
        /// Claimed index.
        trustee: u16,
        /// The log key served.
        log_key: String,
    },
    /// The TLS-key binding is missing (a `tls_key` without it, or the reverse) or does not
    /// verify under the trustee's signing key.
    #[error(
        "trustee {trustee}: TLS key {tls_key} is not bound to the trustee's signing key in the set (binding missing or does not verify)"
    )]
    TlsKeyNotBound {
        /// Claimed index.
        trustee: u16,
        /// The fingerprint served (hex), or "none".
        tls_key: String,
    },
    /// Reached over HTTPS, but the answer binds no TLS key: the connection cannot be tied to
    /// the trustee (`docs/api.md` §3.1).
    #[error(
        "trustee {trustee}: reached over HTTPS but its /v1/info binds no TLS key; refused (the connection cannot be tied to the trustee)"
    )]
    NoTlsKey {
        /// Claimed index.
        trustee: u16,
    },
    /// The TLS key the connection presented is not the one the trustee's signed answer binds:
    /// a man in the middle with a certificate the CA vouches for, or a misconfigured node.
    #[error(
        "trustee {trustee}: the TLS key this connection presented (SHA-256 of its SPKI {served}) is not the TLS key bound in the trustee's signed /v1/info ({bound}); refused"
    )]
    TlsKeyDiffers {
        /// Claimed index.
        trustee: u16,
        /// Fingerprint presented by the TLS peer (hex).
        served: String,
        /// Fingerprint bound (hex).
        bound: String,
    },
    /// The answer's signature does not verify.
    #[error(
        "trustee {trustee}: /v1/info signature does not verify under its signing key in the set"
    )]
    BadSignature {
        /// Claimed index.
        trustee: u16,
    },
    /// The log origin is not this trustee's.
    #[error("trustee {trustee}: log origin {found:?}, expected {expected:?}")]
    WrongOrigin {
        /// Claimed index.
        trustee: u16,
        /// Served.
        found: String,
        /// Expected.
        expected: String,
    },
}

impl InfoError {
    /// The trustee the answer claimed to be.
    pub fn trustee(&self) -> u16 {
        match self {
            InfoError::WrongSet { trustee, .. }
            | InfoError::NotMember { trustee }
            | InfoError::KeysDiffer { trustee }
            | InfoError::LogKeyNotBound { trustee, .. }
            | InfoError::BadSignature { trustee }
            | InfoError::WrongOrigin { trustee, .. }
            | InfoError::TlsKeyNotBound { trustee, .. }
            | InfoError::NoTlsKey { trustee }
            | InfoError::TlsKeyDiffers { trustee, .. } => *trustee,
        }
    }

    /// The trustee named as the culprit: the one the answer claimed to be (every variant names
    /// it; `Option` as for the other errors' `culprit()`).
    pub fn culprit(&self) -> Option<u16> {
        Some(self.trustee())
    }
}

impl Info {
    /// The bytes the log-key binding signs:
    ///
    /// ```text
    /// u8(len(tag)) || tag || set_id (32) || u16be trustee || u32be(len(log_key)) || log_key
    /// ```
    ///
    /// with tag [`TAG_LOG_KEY_BINDING`] and `log_key` the C2SP verifier key string (its name is
    /// the origin).
    pub fn log_key_binding_bytes(set_id: &SetId, trustee: u16, log_key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(80 + log_key.len());
        out.push(TAG_LOG_KEY_BINDING.len() as u8);
        out.extend_from_slice(TAG_LOG_KEY_BINDING.as_bytes());
        out.extend_from_slice(set_id.as_bytes());
        out.extend_from_slice(&trustee.to_be_bytes());
        out.extend_from_slice(&(log_key.len() as u32).to_be_bytes());
        out.extend_from_slice(log_key.as_bytes());
        out
    }

    /// The bytes the TLS-key binding signs:
    ///
    /// ```text
    /// u8(len(tag)) || tag || set_id (32) || u16be trustee || fingerprint (32)
    /// ```
    ///
    /// with tag [`TAG_TLS_KEY_BINDING`] and `fingerprint` = [`tls_key_fingerprint`].
    pub fn tls_key_binding_bytes(set_id: &SetId, trustee: u16, fingerprint: &Digest32) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + TAG_TLS_KEY_BINDING.len() + 66);
        out.push(TAG_TLS_KEY_BINDING.len() as u8);
        out.extend_from_slice(TAG_TLS_KEY_BINDING.as_bytes());
        out.extend_from_slice(set_id.as_bytes());
        out.extend_from_slice(&trustee.to_be_bytes());
        out.extend_from_slice(&fingerprint.0);
        out
    }

    /// The bytes the answer's signature covers: `u8(len(tag)) || tag ||` the RFC 8785
    /// canonical JSON of the answer without its `signature` member (tag [`TAG_INFO`]).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("signature");
        }
        let mut out = vec![TAG_INFO.len() as u8];
        out.extend_from_slice(TAG_INFO.as_bytes());
        out.extend_from_slice(crate::warrant::canonical_json(&v).as_bytes());
        out
    }

    /// Sign the log-key binding, the TLS-key binding (when `tls_key` is set; a binding already
    /// there is kept, so a node signs it once at start) and the answer with the trustee's
    /// signing key.
    pub fn sign(mut self, key: &crate::keys::PrivateKey) -> Self {
        self.log_key_binding = key.sign(&Self::log_key_binding_bytes(
            &self.set_id,
            self.trustee,
            &self.log_key,
        ));
        self.tls_key_binding = match (self.tls_key, self.tls_key_binding.take()) {
            (None, _) => None,
            (Some(_), Some(b)) => Some(b),
            (Some(fp), None) => Some(key.sign(&Self::tls_key_binding_bytes(
                &self.set_id,
                self.trustee,
                &fp,
            ))),
        };
        self.signature = key.sign(&self.signed_bytes());
        self
    }

    /// Check the answer against the trustee set: set id, membership, the trustee's keys, the
    /// log origin, the log-key binding and the signature. Only then is `log_key` this
    /// trustee's (no trust on first use).
    pub fn verify(&self, set: &crate::trustee::TrusteeSet) -> Result<(), InfoError> {
        let trustee = self.trustee;
        if self.set_id != set.id() {
            return Err(InfoError::WrongSet {
                trustee,
                found: self.set_id.short(),
                expected: set.id().short(),
            });
        }
        let member = set
            .member(trustee)
            .map_err(|_| InfoError::NotMember { trustee })?;
        if self.signing_key_id != member.signing_key.key_id()
            || self.verification_key != member.verification_key.to_hex()
        {
            return Err(InfoError::KeysDiffer { trustee });
        }
        let origin = crate::audit::checkpoint::origin(&set.origin(), trustee);
        let key_name = crate::audit::checkpoint::verifier_key_name(&self.log_key).unwrap_or("");
        if self.log_origin != origin || key_name != origin {
            return Err(InfoError::WrongOrigin {
                trustee,
                found: if self.log_origin != origin {
                    self.log_origin.clone()
                } else {
                    key_name.to_string()
                },
                expected: origin,
            });
        }
        member
            .signing_key
            .verify(
                &Self::log_key_binding_bytes(&self.set_id, trustee, &self.log_key),
                &self.log_key_binding,
                "log key binding",
            )
            .map_err(|_| InfoError::LogKeyNotBound {
                trustee,
                log_key: self.log_key.clone(),
            })?;
        match (&self.tls_key, &self.tls_key_binding) {
            (None, None) => {}
            (Some(fp), Some(binding)) => member
                .signing_key
                .verify(
                    &Self::tls_key_binding_bytes(&self.set_id, trustee, fp),
                    binding,
                    "TLS key binding",
                )
                .map_err(|_| InfoError::TlsKeyNotBound {
                    trustee,
                    tls_key: fp.to_hex(),
                })?,
            (fp, _) => {
                return Err(InfoError::TlsKeyNotBound {
                    trustee,
                    tls_key: fp.map_or_else(|| "none".into(), |f| f.to_hex()),
                });
            }
        }
        member
            .signing_key
            .verify(&self.signed_bytes(), &self.signature, "info")
            .map_err(|_| InfoError::BadSignature { trustee })
    }

    /// After [`Info::verify`]: may a connection whose TLS peers presented the keys
    /// `presented` (fingerprints, [`tls_key_fingerprint`]) speak for this trustee? Over plain
    /// HTTP (`https` false) there is nothing to tie. Over HTTPS the answer must bind a TLS key
    /// ([`InfoError::NoTlsKey`] otherwise) and every key presented must be it
    /// ([`InfoError::TlsKeyDiffers`]); no key presented at all is refused too (the answer did
    /// not come over a checked TLS connection).
    pub fn check_tls_keys(&self, https: bool, presented: &[Digest32]) -> Result<(), InfoError> {
        if !https {
            return Ok(());
        }
        let trustee = self.trustee;
        let Some(bound) = self.tls_key else {
            return Err(InfoError::NoTlsKey { trustee });
        };
        let Some(first) = presented.first() else {
            return Err(InfoError::TlsKeyDiffers {
                trustee,
                served: "none (no TLS handshake seen)".into(),
                bound: bound.to_hex(),
            });
        };
        match presented.iter().find(|p| **p != bound) {
            None => Ok(()),
            Some(other) => Err(InfoError::TlsKeyDiffers {
                trustee,
                served: if *first != bound { *first } else { *other }.to_hex(),
                bound: bound.to_hex(),
            }),
        }
    }
}

/// Limits in [`Info`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfoLimits {
    /// Most ciphertexts per release request.
    pub max_batch: usize,
    /// Largest body.
    pub max_body_bytes: usize,
    /// Most entries per log page.
    pub log_page_size: u64,
    /// Most canonical entry bytes per log page (a page always holds at least one entry).
    #[serde(default)]
    pub log_page_bytes: usize,
    /// Request timeout.
    pub request_timeout_secs: u64,
}

/// The outcome of a cancellation the node accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CancelStatus {
    /// Logged now.
    Cancelled,
    /// Logged earlier (the `leaf_index` of the first cancellation; nothing new was logged).
    AlreadyCancelled,
}

impl CancelStatus {
    /// Kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelStatus::Cancelled => "cancelled",
            CancelStatus::AlreadyCancelled => "already-cancelled",
        }
    }
}

/// `POST /v1/cancel` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelResponse {
    /// Format version ([`API_VERSION`]).
    pub version: V1,
    /// What happened.
    pub status: CancelStatus,
    /// The cancelled warrant id.
    pub warrant_id: String,
    /// The log entry that recorded the cancellation.
    pub leaf_index: u64,
}

/// Query of `GET /v1/log/entries`: entries `[start, end)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// First index (default 0).
    pub start: Option<u64>,
    /// One past the last index (default `start + page size`).
    pub end: Option<u64>,
}

/// One entry in an [`EntriesPage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryView {
    /// Leaf index.
    pub index: u64,
    /// Stored leaf hash.
    pub leaf_hash: Digest32,
    /// Canonical bytes, base64 (hash these: `SHA-256(0x00 || bytes)`).
    pub bytes: String,
    /// Decoded (a convenience; an auditor decodes `bytes` itself).
    pub entry: LogEntry,
}

/// `GET /v1/log/entries` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesPage {
    /// Format version ([`API_VERSION`]).
    pub version: V1,
    /// Log size when read.
    pub size: u64,
    /// First index.
    pub start: u64,
    /// One past the last index.
    pub end: u64,
    /// Entries `[start, end)`.
    pub entries: Vec<EntryView>,
}

/// Query of `GET /v1/log/proof/inclusion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
}

/// `GET /v1/log/proof/inclusion` answer (RFC 9162 §2.1.3 audit path, leaf to root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProofView {
    /// Format version ([`API_VERSION`]).
    pub version: V1,
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// The leaf hash at `index` (informative; verify your own).
    pub leaf_hash: Digest32,
    /// The root at `size` (informative; verify against a signed checkpoint).
    pub root: Digest32,
    /// The path, hex hashes.
    pub proof: Vec<Digest32>,
}

/// Query of `GET /v1/log/proof/consistency`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// Old size.
    pub old: u64,
    /// New size.
    pub new: u64,
}

/// `GET /v1/log/proof/consistency` answer (RFC 9162 §2.1.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProofView {
    /// Format version ([`API_VERSION`]).
    pub version: V1,
    /// Old size.
    pub old: u64,
    /// New size.
    pub new: u64,
    /// The proof, hex hashes.
    pub proof: Vec<Digest32>,
}

/// Query of `GET /v1/log/envelope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeQuery {
    /// The warrant or cancellation digest, 64 lower-case hex digits.
    pub digest: String,
}

/// A stable error code (`docs/api.md` §7). Unknown codes (a newer node) are kept as
/// [`ErrorCode::Other`]; a refused cancellation carries the warrant reason code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 400: the body is not a request of this API.
    MalformedRequest,
    /// 400: log range parameters.
    BadRange,
    /// 400: not a digest.
    BadDigest,
    /// 400 from a layer.
    BadRequest,
    /// 404.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 408.
    Timeout,
    /// 413: body above the limit.
    BodyTooLarge,
    /// 413: more ciphertexts than the limit.
    BatchTooLarge,
    /// 415.
    UnsupportedMediaType,
    /// 422 from a layer.
    Unprocessable,
    /// 500: the node's fault.
    Internal,
    /// 503: the audit log could not be written or read; nothing was released.
    LogUnavailable,
    /// 503: the log failed earlier; nothing is released until a restart.
    NodeUnhealthy,
    /// 503 from a layer.
    Unavailable,
    /// 403: a warrant or cancellation refused for this reason.
    Refused(ReasonCode),
    /// Any other code (kept verbatim).
    Other(String),
}

impl ErrorCode {
    /// The wire form.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::MalformedRequest => "malformed-request",
            ErrorCode::BadRange => "bad-range",
            ErrorCode::BadDigest => "bad-digest",
            ErrorCode::BadRequest => "bad-request",
            ErrorCode::NotFound => "not-found",
            ErrorCode::MethodNotAllowed => "method-not-allowed",
            ErrorCode::Timeout => "timeout",
            ErrorCode::BodyTooLarge => "body-too-large",
            ErrorCode::BatchTooLarge => "batch-too-large",
            ErrorCode::UnsupportedMediaType => "unsupported-media-type",
            ErrorCode::Unprocessable => "unprocessable",
            ErrorCode::Internal => "internal",
            ErrorCode::LogUnavailable => "log-unavailable",
            ErrorCode::NodeUnhealthy => "node-unhealthy",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Refused(r) => r.as_str(),
            ErrorCode::Other(s) => s,
        }
    }

    /// Parse the wire form (never fails: unknown codes become [`ErrorCode::Other`]).
    pub fn parse(s: &str) -> Self {
        match s {
            "malformed-request" => ErrorCode::MalformedRequest,
            "bad-range" => ErrorCode::BadRange,
            "bad-digest" => ErrorCode::BadDigest,
            "bad-request" => ErrorCode::BadRequest,
            "not-found" => ErrorCode::NotFound,
            "method-not-allowed" => ErrorCode::MethodNotAllowed,
            "timeout" => ErrorCode::Timeout,
            "body-too-large" => ErrorCode::BodyTooLarge,
            "batch-too-large" => ErrorCode::BatchTooLarge,
            "unsupported-media-type" => ErrorCode::UnsupportedMediaType,
            "unprocessable" => ErrorCode::Unprocessable,
            "internal" => ErrorCode::Internal,
            "log-unavailable" => ErrorCode::LogUnavailable,
            "node-unhealthy" => ErrorCode::NodeUnhealthy,
            "unavailable" => ErrorCode::Unavailable,
            other => match other.parse::<ReasonCode>() {
                Ok(r) => ErrorCode::Refused(r),
                Err(_) => ErrorCode::Other(other.to_string()),
            },
        }
    }

    /// The code for an error status produced outside the handlers (router, layers).
    pub fn for_status(status: u16) -> Self {
        match status {
            400 => ErrorCode::BadRequest,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            408 => ErrorCode::Timeout,
            413 => ErrorCode::BodyTooLarge,
            415 => ErrorCode::UnsupportedMediaType,
            422 => ErrorCode::Unprocessable,
            503 => ErrorCode::Unavailable,
            500..=599 => ErrorCode::Internal,
            _ => ErrorCode::Other("error".into()),
        }
    }
}

impl From<&str> for ErrorCode {
    fn from(s: &str) -> Self {
        ErrorCode::parse(s)
    }
}

impl From<ReasonCode> for ErrorCode {
    fn from(r: ReasonCode) -> Self {
        ErrorCode::Refused(r)
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(ErrorCode::parse(&s))
    }
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorInfo {
    /// Stable kebab-case code.
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// The log entry that recorded this refusal, if it was logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf_index: Option<u64>,
}

/// Every error answer: `{ "error": { "code": "…", "message": "…", "leaf_index": N } }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorInfo,
}

impl ErrorBody {
    /// Build one.
    pub fn new(code: ErrorCode, message: impl Into<String>, leaf_index: Option<u64>) -> Self {
        ErrorBody {
            error: ErrorInfo {
                code,
                message: message.into(),
                leaf_index,
            },
        }
    }

    /// Canonical JSON.
    pub fn to_json(&self) -> String {
        crate::codec::to_json(self)
    }

    /// Parse an error answer.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

/// Parse a JSON answer of this API (an unknown field or another format version is an error).
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AnswerError> {
    serde_json::from_str(text).map_err(|e| AnswerError(e.to_string()))
}

/// A node's answer that is not the expected structure (or format version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed answer: {0}")]
pub struct AnswerError(pub String);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_info_error_names_the_trustee_it_claimed_to_be_as_culprit() {
        let s = String::new;
        let all = [
            (
                InfoError::WrongSet {
                    trustee: 1,
                    found: s(),
                    expected: s(),
                },
                1,
            ),
            (InfoError::NotMember { trustee: 2 }, 2),
            (InfoError::KeysDiffer { trustee: 3 }, 3),
            (
                InfoError::LogKeyNotBound {
                    trustee: 4,
                    log_key: s(),
                },
                4,
            ),
            (InfoError::BadSignature { trustee: 5 }, 5),
            (
                InfoError::WrongOrigin {
                    trustee: 6,
                    found: s(),
                    expected: s(),
                },
                6,
            ),
            (
                InfoError::TlsKeyNotBound {
                    trustee: 7,
                    tls_key: s(),
                },
                7,
            ),
            (InfoError::NoTlsKey { trustee: 8 }, 8),
            (
                InfoError::TlsKeyDiffers {
                    trustee: 9,
                    served: s(),
                    bound: s(),
                },
                9,
            ),
        ];
        for (e, t) in all {
            assert_eq!(e.culprit(), Some(t), "{e}");
        }
    }

    #[test]
    fn error_codes_round_trip_and_keep_unknown_ones() {
        for s in [
            "malformed-request",
            "bad-range",
            "log-unavailable",
            "node-unhealthy",
            "batch-too-large",
        ] {
            let c = ErrorCode::parse(s);
            assert!(!matches!(c, ErrorCode::Other(_)), "{s}");
            assert_eq!(c.as_str(), s);
        }
        assert_eq!(
            ErrorCode::parse("unknown-authority"),
            ErrorCode::Refused(ReasonCode::UnknownAuthority)
        );
        assert_eq!(
            ErrorCode::parse("rate-limited"),
            ErrorCode::Other("rate-limited".into())
        );
        let b = ErrorBody::new(ErrorCode::Refused(ReasonCode::Cancelled), "gone", Some(3));
        assert_eq!(
            b.to_json(),
            r#"{"error":{"code":"cancelled","message":"gone","leaf_index":3}}"#
        );
        assert_eq!(ErrorBody::from_json(&b.to_json()).unwrap(), b);
    }

    #[test]
    fn answers_refuse_unknown_fields_and_versions() {
        let ok = r#"{"version":1,"status":"already-cancelled","warrant_id":"w-1","leaf_index":4}"#;
        let c: CancelResponse = parse(ok).unwrap();
        assert_eq!(c.status, CancelStatus::AlreadyCancelled);
        let extra = r#"{"version":1,"status":"cancelled","warrant_id":"w-1","leaf_index":4,"x":1}"#;
        let e = parse::<CancelResponse>(extra).unwrap_err();
        assert!(e.0.contains("unknown field"), "{e}");
        let v2 = r#"{"version":2,"status":"cancelled","warrant_id":"w-1","leaf_index":4}"#;
        let e = parse::<CancelResponse>(v2).unwrap_err();
        assert!(e.0.contains("unsupported format version 2"), "{e}");
    }
}
