//! Signed requests: how a caller proves to a trustee node which key it holds.
//!
//! A request that needs a caller's identity (`POST /v1/release`, `GET /v1/log/envelope`)
//! carries an HTTP header `Escrow-Signature` whose value is the compact JSON of a
//! [`RequestSignature`]: the caller's key id, a fresh random nonce, the caller's clock, and an
//! ECDSA P-256 / SHA-256 signature over [`signed_bytes`] — the method, the path with its query,
//! the SHA-256 of the body, the key id, the nonce and the time. The node checks the signature
//! with the key it expects (the warrant's investigator for a release; a key the policy names
//! for an envelope), that the time is within [`MAX_SKEW_SECS`] of its own clock and not before
//! it started, and that it has not seen the nonce within that window ([`NonceCache`]). Only
//! then does it look at anything else in the request.
//!
//! Byte-level format: `docs/api.md` §2.1 and `docs/protocol.md`. Known-answer vector:
//! `escrow-core/tests/auth_vectors.rs` (`signed_request_known_answer`).

use crate::codec::{Digest32, KeyId, V1, put_lp};
use crate::keys::{PrivateKey, PublicKey};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The HTTP header that carries the signature (lower case, as HTTP/1.1 header names compare
/// case-insensitively).
pub const HEADER: &str = "escrow-signature";
/// Domain tag of the signed bytes.
pub const TAG_SIGNED_REQUEST: &str = "escrow/v1/signed-request";
/// Nonce length, bytes.
pub const NONCE_LEN: usize = 16;
/// Most seconds between the caller's `time` and the node's clock, either way.
pub const MAX_SKEW_SECS: i64 = 300;
/// Longest header value a node reads, bytes (the JSON of a signature is about 300 bytes).
pub const MAX_HEADER_LEN: usize = 1024;
/// Nonces a node remembers by default (each is kept for `2 * MAX_SKEW_SECS`).
pub const DEFAULT_NONCE_CAPACITY: usize = 200_000;

/// Why a signed request is refused. Nothing on behalf of such a request is logged or counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Escrow-Signature` header.
    #[error("the request is not signed: an Escrow-Signature header is required (docs/api.md §2.1)")]
    Missing,
    /// The header does not parse.
    #[error("malformed Escrow-Signature header: {0}")]
    Malformed(String),
    /// Signed by a key that may not make this request.
    #[error("signed by key {found}, which may not make this request{expected}")]
    WrongKey {
        /// The key id in the header.
        found: KeyId,
        /// Which key was expected, in words (may be empty).
        expected: String,
    },
    /// The signature does not verify.
    #[error("the request signature does not verify")]
    BadSignature,
    /// The time is too far from the node's clock.
    #[error(
        "the request was signed at {time}, more than {MAX_SKEW_SECS} s from the node's clock {now}"
    )]
    Stale {
        /// The signed time.
        time: Timestamp,
        /// The node's clock.
        now: Timestamp,
    },
    /// Signed before the node started (the node does not remember nonces across restarts).
    #[error("the request was signed at {time}, before this node started at {started}; sign again")]
    BeforeStart {
        /// The signed time.
        time: Timestamp,
        /// When the node started.
        started: Timestamp,
    },
    /// The nonce was already used.
    #[error("replayed request: this nonce was already used")]
    Replayed,
    /// The node remembers as many nonces as it may; it refuses until some expire.
    #[error("too many signed requests in the last {window} s; try again later")]
    Busy {
        /// The window, seconds.
        window: i64,
    },
}

impl AuthError {
    /// Stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing | AuthError::Malformed(_) => "unauthenticated",
            AuthError::WrongKey { .. } => "wrong-key",
            AuthError::BadSignature => "bad-request-signature",
            AuthError::Stale { .. } | AuthError::BeforeStart { .. } => "stale-request",
            AuthError::Replayed => "replayed-request",
            AuthError::Busy { .. } => "busy",
        }
    }
}

/// The value of the `Escrow-Signature` header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSignature {
    /// Format version (1).
    pub version: V1,
    /// Key id (SHA-256 of the SPKI DER) of the signing key.
    pub key_id: KeyId,
    /// 16 random bytes, 32 lower-case hex digits.
    pub nonce: String,
    /// The caller's clock when signing.
    pub time: Timestamp,
    /// DER ECDSA P-256 / SHA-256 signature over [`signed_bytes`], standard base64.
    #[serde(with = "crate::codec::b64")]
    pub signature: Vec<u8>,
}

/// Parse 32 lower-case hex digits.
fn nonce_bytes(s: &str) -> Result<[u8; NONCE_LEN], AuthError> {
    let lower = s
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mut out = [0u8; NONCE_LEN];
    if !lower || s.len() != 2 * NONCE_LEN || hex::decode_to_slice(s, &mut out).is_err() {
        return Err(AuthError::Malformed(format!(
            "nonce must be {} lower-case hex digits",
            2 * NONCE_LEN
        )));
    }
    Ok(out)
}

/// The bytes a caller signs:
///
/// ```text
/// u8(24) ‖ "escrow/v1/signed-request" ‖ lp(method) ‖ lp(path_and_query)
///   ‖ SHA-256(body) ‖ key_id ‖ nonce (16 bytes) ‖ i64be(time)
/// ```
///
/// `method` is upper case (`POST`), `path_and_query` is exactly what the request line carries
/// (`/v1/log/envelope?digest=…`), `lp` is a u32be length prefix.
pub fn signed_bytes(
    method: &str,
    path_and_query: &str,
    body: &[u8],
    key_id: &KeyId,
    nonce: &[u8; NONCE_LEN],
    time: Timestamp,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + path_and_query.len());
    out.push(TAG_SIGNED_REQUEST.len() as u8);
    out.extend_from_slice(TAG_SIGNED_REQUEST.as_bytes());
    put_lp(&mut out, method.as_bytes());
    put_lp(&mut out, path_and_query.as_bytes());
    out.extend_from_slice(Digest32::sha256(body).as_bytes());
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&time.unix().to_be_bytes());
    out
}

impl RequestSignature {
    /// Sign a request with a given nonce and time (tests and known-answer vectors; callers use
    /// [`RequestSignature::sign_now`]).
    pub fn sign(
        key: &PrivateKey,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        nonce: [u8; NONCE_LEN],
        time: Timestamp,
    ) -> Self {
        let key_id = key.public().key_id();
        let msg = signed_bytes(method, path_and_query, body, &key_id, &nonce, time);
        RequestSignature {
            version: V1::default(),
            key_id,
            nonce: hex::encode(nonce),
            time,
            signature: key.sign(&msg),
        }
    }

    /// Sign with a fresh random nonce at `time` (the caller's clock).
    pub fn sign_now<R: rand_core::CryptoRng + ?Sized>(
        key: &PrivateKey,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        time: Timestamp,
        rng: &mut R,
    ) -> Self {
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        Self::sign(key, method, path_and_query, body, nonce, time)
    }

    /// The header value: compact JSON.
    pub fn to_header(&self) -> String {
        crate::codec::to_json(self)
    }

    /// Parse a header value (at most [`MAX_HEADER_LEN`] bytes, strict).
    pub fn from_header(value: &[u8]) -> Result<Self, AuthError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(AuthError::Malformed(format!(
                "longer than {MAX_HEADER_LEN} bytes"
            )));
        }
        let sig: RequestSignature =
            serde_json::from_slice(value).map_err(|e| AuthError::Malformed(e.to_string()))?;
        nonce_bytes(&sig.nonce)?;
        Ok(sig)
    }

    /// The nonce bytes.
    pub fn nonce(&self) -> Result<[u8; NONCE_LEN], AuthError> {
        nonce_bytes(&self.nonce)
    }

    /// Check the signature with `key` (whose key id must be the header's) over this request.
    /// Freshness and replay are the [`NonceCache`]'s job.
    pub fn verify(
        &self,
        key: &PublicKey,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<(), AuthError> {
        if key.key_id() != self.key_id {
            return Err(AuthError::WrongKey {
                found: self.key_id,
                expected: format!(" (expected {})", key.key_id()),
            });
        }
        let nonce = self.nonce()?;
        let msg = signed_bytes(
            method,
            path_and_query,
            body,
            &self.key_id,
            &nonce,
            self.time,
        );
        key.verify(&msg, &self.signature, "request")
            .map_err(|_| AuthError::BadSignature)
    }
}

/// The nonces a node has accepted, each kept until its time is `MAX_SKEW_SECS` in the past
/// of the node's clock (after which the time check alone refuses it). Memory is bounded by
/// `capacity`: when full, new requests are refused ([`AuthError::Busy`]) rather than forgetting
/// a nonce that could still be replayed. Requests signed before `started` are refused, so a
/// restart (which forgets every nonce) opens no replay window.
///
/// The cache keeps the highest clock reading it was given and judges times against it: when
/// the node's clock steps backwards, a signature whose nonce was already forgotten (its time
/// more than `MAX_SKEW_SECS` behind that highest reading) stays refused as stale, instead of
/// coming back into the window. Until the clock catches up, the window's lower edge stays where
/// the highest reading put it (fail closed).
#[derive(Debug)]
pub struct NonceCache {
    started: Timestamp,
    /// The highest `now` seen (never decreases).
    highest: i64,
    capacity: usize,
    seen: HashMap<[u8; NONCE_LEN], i64>,
    by_expiry: BTreeSet<(i64, [u8; NONCE_LEN])>,
}

impl NonceCache {
    /// An empty cache for a node that started at `started`.
    pub fn new(started: Timestamp, capacity: usize) -> Self {
        NonceCache {
            started,
            highest: started.unix(),
            capacity: capacity.max(1),
            seen: HashMap::new(),
            by_expiry: BTreeSet::new(),
        }
    }

    /// Nonces remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True when no nonce is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Check the time of an already verified signature against `now` and remember its nonce;
    /// refuse a replay. Call only after [`RequestSignature::verify`] succeeded, so that only
    /// authenticated callers occupy the cache.
    pub fn check_and_remember(
        &mut self,
        sig: &RequestSignature,
        now: Timestamp,
    ) -> Result<(), AuthError> {
        let nonce = sig.nonce()?;
        let t = sig.time.unix();
        // The lower edge of the window follows the highest clock reading, so that a clock
        // stepping back cannot re-admit a nonce that was forgotten; the upper edge follows the
        // clock as it is.
        self.highest = self.highest.max(now.unix());
        let lowest = self.highest.saturating_sub(MAX_SKEW_SECS);
        if t < lowest || t > now.unix().saturating_add(MAX_SKEW_SECS) {
            return Err(AuthError::Stale {
                time: sig.time,
                now,
            });
        }
        if t < self.started.unix() {
            return Err(AuthError::BeforeStart {
                time: sig.time,
                started: self.started,
            });
        }
        // Forget what the time check alone now refuses.
        let horizon = lowest;
        while let Some(&(exp, n)) = self.by_expiry.first() {
            if exp >= horizon {
                break;
            }
            self.by_expiry.pop_first();
            self.seen.remove(&n);
        }
        if self.seen.contains_key(&nonce) {
            return Err(AuthError::Replayed);
        }
        if self.seen.len() >= self.capacity {
            return Err(AuthError::Busy {
                window: 2 * MAX_SKEW_SECS,
            });
        }
        self.seen.insert(nonce, t);
        self.by_expiry.insert((t, nonce));
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn key() -> PrivateKey {
        PrivateKey::generate(&mut rand::rng())
    }

    #[test]
    fn a_signature_verifies_only_for_its_request_and_key() {
        let k = key();
        let t = Timestamp::from_unix(1_800_000_000);
        let s = RequestSignature::sign(&k, "POST", "/v1/release", b"{}", [7; 16], t);
        let back = RequestSignature::from_header(s.to_header().as_bytes()).unwrap();
        assert_eq!(back, s);
        back.verify(&k.public(), "POST", "/v1/release", b"{}")
            .unwrap();
        assert_eq!(
            back.verify(&k.public(), "POST", "/v1/release", b"{ }"),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            back.verify(&k.public(), "GET", "/v1/release", b"{}"),
            Err(AuthError::BadSignature)
        );
        assert!(matches!(
            back.verify(&key().public(), "POST", "/v1/release", b"{}"),
            Err(AuthError::WrongKey { .. })
        ));
        // A key id that claims the right key but a signature by another key.
        let mut forged = RequestSignature::sign(&key(), "POST", "/v1/release", b"{}", [7; 16], t);
        forged.key_id = k.public().key_id();
        assert_eq!(
            forged.verify(&k.public(), "POST", "/v1/release", b"{}"),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn header_parsing_is_strict() {
        let k = key();
        let s = RequestSignature::sign(&k, "POST", "/", b"", [1; 16], Timestamp::from_unix(0));
        let mut v: serde_json::Value = serde_json::from_str(&s.to_header()).unwrap();
        v["extra"] = 1.into();
        assert!(matches!(
            RequestSignature::from_header(v.to_string().as_bytes()),
            Err(AuthError::Malformed(_))
        ));
        let mut v: serde_json::Value = serde_json::from_str(&s.to_header()).unwrap();
        v["nonce"] = "0101010101010101010101010101010A".into();
        assert!(matches!(
            RequestSignature::from_header(v.to_string().as_bytes()),
            Err(AuthError::Malformed(_))
        ));
        assert!(matches!(
            RequestSignature::from_header(&[b' '; MAX_HEADER_LEN + 1]),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn nonce_cache_refuses_replays_stale_and_pre_start_requests_and_stays_bounded() {
        let k = key();
        let start = Timestamp::from_unix(1_000_000);
        let mut c = NonceCache::new(start, 3);
        let sig = |n: u8, t: i64| {
            RequestSignature::sign(&k, "POST", "/", b"", [n; 16], Timestamp::from_unix(t))
        };
        let now = Timestamp::from_unix(1_000_100);
        c.check_and_remember(&sig(1, 1_000_090), now).unwrap();
        assert_eq!(
            c.check_and_remember(&sig(1, 1_000_090), now),
            Err(AuthError::Replayed)
        );
        assert!(matches!(
            c.check_and_remember(&sig(2, 1_000_100 - MAX_SKEW_SECS - 1), now),
            Err(AuthError::Stale { .. })
        ));
        assert!(matches!(
            c.check_and_remember(&sig(2, 999_999), now),
            Err(AuthError::BeforeStart { .. })
        ));
        c.check_and_remember(&sig(2, 1_000_100), now).unwrap();
        c.check_and_remember(&sig(3, 1_000_100), now).unwrap();
        assert_eq!(
            c.check_and_remember(&sig(4, 1_000_100), now),
            Err(AuthError::Busy {
                window: 2 * MAX_SKEW_SECS
            })
        );
        // Later, the first nonces are past the window: forgotten, and their replay is stale.
        let later = Timestamp::from_unix(1_000_090 + MAX_SKEW_SECS + 1);
        c.check_and_remember(&sig(4, later.unix()), later).unwrap();
        assert!(c.len() <= 3);
        assert!(matches!(
            c.check_and_remember(&sig(1, 1_000_090), later),
            Err(AuthError::Stale { .. })
        ));
    }

    /// Issue 11: a backwards clock step must not re-open the replay window of a nonce the
    /// cache already forgot.
    #[test]
    fn a_clock_stepping_back_does_not_readmit_a_forgotten_nonce() {
        let k = key();
        let start = Timestamp::from_unix(1_000_000);
        let mut c = NonceCache::new(start, 100);
        let sig = |n: u8, t: i64| {
            RequestSignature::sign(&k, "POST", "/", b"", [n; 16], Timestamp::from_unix(t))
        };
        let t1 = 1_000_010;
        c.check_and_remember(&sig(1, t1), Timestamp::from_unix(t1))
            .unwrap();
        // Time passes: nonce 1 ages out of the window and is forgotten.
        let later = Timestamp::from_unix(t1 + MAX_SKEW_SECS + 60);
        c.check_and_remember(&sig(2, later.unix()), later).unwrap();
        assert_eq!(c.len(), 1, "nonce 1 was forgotten");
        // The clock steps back to just after t1, where nonce 1's time is inside the skew.
        let back = Timestamp::from_unix(t1 + 5);
        assert!(matches!(
            c.check_and_remember(&sig(1, t1), back),
            Err(AuthError::Stale { .. })
        ));
        // A nonce not yet forgotten is still a replay after a smaller step back.
        assert_eq!(
            c.check_and_remember(
                &sig(2, later.unix()),
                Timestamp::from_unix(later.unix() - 100)
            ),
            Err(AuthError::Replayed)
        );
        // Once the clock is past the highest reading again, fresh requests pass.
        let again = Timestamp::from_unix(later.unix() + 1);
        c.check_and_remember(&sig(3, again.unix()), again).unwrap();
    }
}
