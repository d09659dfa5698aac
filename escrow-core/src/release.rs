//! Release requests and signed release responses: what an investigator sends a trustee, what
//! the trustee answers, and the pure decisions in between.
//!
//! ```text
//! investigator ── ReleaseRequest { warrant envelope, ciphertexts } ──▶ trustee i
//! trustee i:  per ciphertext, in order:
//!   warrant verified by the policy at the node's clock, not cancelled     (Policy::verify)
//!   ciphertext valid for the set (its TDH2 proof)                         (judge_ciphertext)
//!   label in the warrant's scope                                          (judge_ciphertext)
//!   release limit, counted per distinct ciphertext                        (ReleaseCounter)
//!   d_i with DLEQ proof, ECIES-encrypted to the warrant's investigator   (seal_share)
//!   log entries committed durably, THEN the response leaves              (the node)
//! trustee i ── ReleaseResponse { results in request order, signature } ──▶ investigator
//! investigator: verify the signature (ReleaseResponse::verify), decrypt each share
//!   (ReleaseResponse::open_shares), check its DLEQ proof and combine (crate::share::combine).
//! ```
//!
//! The share box is bound by its ECIES context to the trustee set, the trustee, the warrant
//! digest and the ciphertext digest ([`share_box_context`]): it cannot be replayed under
//! another warrant or for another message. The signature covers the canonical bytes of the
//! response body ([`ReleaseResponse::body_bytes`]), so a response is a receipt the trustee
//! cannot disown, matching its log entries by leaf index.

use crate::codec::WarrantDigest;
use crate::codec::{CiphertextDigest, Digest32, KeyId, SetId, V1, put_lp};
use crate::ecies::{self, EciesBox};
use crate::error::{Error, Result};
use crate::group::scalar_to_bytes;
use crate::keys::{PrivateKey, PublicKey};
use crate::share::{DecryptionShare, ShareContext};
use crate::tdh2::{EscrowCiphertext, ValidCiphertext};
use crate::time::Timestamp;
use crate::trustee::{TrusteeSet, VerifiedKeyShare};
use crate::warrant::{Envelope, ReasonCode, Refusal, VerifiedWarrant, WarrantEnvelope};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Context prefix of the ECIES box holding a released share.
pub const CTX_RELEASE_SHARE: &[u8] = b"escrow/v1/release-share";
/// Domain tag of the signed response body.
pub const TAG_RELEASE_RESPONSE: &str = "escrow/v1/release-response";
/// Domain tag of a decryption share digest (as logged).
pub const TAG_SHARE_DIGEST: &str = "escrow/v1/share-digest";
/// Most ciphertexts one request may carry (a node may set a lower limit).
pub const MAX_BATCH: usize = 10_000;
/// Longest refusal detail carried in a response, bytes.
pub const MAX_DETAIL_LEN: usize = 1024;

/// Refusal codes about a ciphertext rather than the warrant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CiphertextCode {
    /// The ciphertext fails its TDH2 validity proof (e.g. it was relabelled).
    BadCiphertextProof,
    /// The ciphertext is escrowed to another trustee set.
    WrongTrusteeSet,
}

impl CiphertextCode {
    /// Stable kebab-case code.
    pub fn as_str(self) -> &'static str {
        match self {
            CiphertextCode::BadCiphertextProof => "bad-ciphertext-proof",
            CiphertextCode::WrongTrusteeSet => "wrong-trustee-set",
        }
    }
}

/// A refusal code in a response: a warrant-policy code or a ciphertext code. Serialized as
/// the stable kebab-case string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum RefusalCode {
    /// From the warrant policy (signatures, roles, dates, cancellation, scope, limit,
    /// malformed input).
    Warrant(ReasonCode),
    /// About the ciphertext itself.
    Ciphertext(CiphertextCode),
}

impl RefusalCode {
    /// Stable kebab-case code.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::Warrant(c) => c.as_str(),
            RefusalCode::Ciphertext(c) => c.as_str(),
        }
    }
}

impl core::fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ReasonCode> for RefusalCode {
    fn from(c: ReasonCode) -> Self {
        RefusalCode::Warrant(c)
    }
}

/// One refused item: the ciphertext digest when computable, a code, a detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemRefusal {
    /// Digest of the refused ciphertext, if it could be parsed.
    pub ciphertext: Option<CiphertextDigest>,
    /// Stable code.
    pub code: RefusalCode,
    /// What failed, in words (no secrets, no label contents).
    pub detail: String,
}

impl ItemRefusal {
    pub(crate) fn from_refusal(ciphertext: Option<CiphertextDigest>, r: Refusal) -> Self {
        ItemRefusal {
            ciphertext,
            code: r.code.into(),
            detail: r.detail,
        }
    }

    /// The refusal of a ciphertext whose check failed with `e` (v1 and v2 alike): for another
    /// set, or with a bad proof, under its own code; anything else as malformed.
    pub(crate) fn from_check_error(ciphertext: Option<CiphertextDigest>, e: &Error) -> Self {
        let code = match e {
            Error::CiphertextForOtherSet { .. } => {
                RefusalCode::Ciphertext(CiphertextCode::WrongTrusteeSet)
            }
            Error::BadCiphertextProof => {
                RefusalCode::Ciphertext(CiphertextCode::BadCiphertextProof)
            }
            _ => RefusalCode::Warrant(ReasonCode::Malformed),
        };
        ItemRefusal {
            ciphertext,
            code,
            detail: format!("ciphertext: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Request

/// `POST /v1/release` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Format version.
    pub version: V1,
    /// The warrant's DSSE envelope.
    pub warrant: Envelope,
    /// Escrow ciphertexts (the escrow headers of sealed messages), at most [`MAX_BATCH`].
    pub ciphertexts: Vec<EscrowCiphertext>,
}

impl ReleaseRequest {
    /// A request for `ciphertexts` under `warrant`.
    pub fn new(warrant: &WarrantEnvelope, ciphertexts: Vec<EscrowCiphertext>) -> Self {
        ReleaseRequest {
            version: V1::default(),
            warrant: warrant.envelope().clone(),
            ciphertexts,
        }
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        crate::codec::to_json(self)
    }
}

/// A request as the trustee parses it: leniently per ciphertext, so that one malformed
/// ciphertext is refused on its own (`malformed`) without failing the batch.
#[derive(Debug)]
pub struct ParsedRequest {
    /// The warrant envelope (structure checked; signatures not yet).
    pub warrant: Result<WarrantEnvelope, Refusal>,
    /// Digest of the warrant envelope (computable as soon as the envelope parses).
    pub warrant_digest: WarrantDigest,
    /// Every ciphertext, or why it does not parse.
    pub ciphertexts: Vec<Result<EscrowCiphertext, Refusal>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest<'a> {
    version: V1,
    warrant: Envelope,
    #[serde(borrow)]
    ciphertexts: BoundedItems<'a>,
}

/// The ciphertext array, parsed without building a tree: the first [`MAX_BATCH`] items are
/// kept as borrowed raw JSON text (each is parsed later into its typed structure, which
/// refuses anything else without allocating for it), the rest are only counted. Memory stays
/// within the size of the body whatever the array holds.
struct BoundedItems<'a> {
    items: Vec<&'a serde_json::value::RawValue>,
    count: usize,
}

impl<'de: 'a, 'a> Deserialize<'de> for BoundedItems<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        struct V<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = BoundedItems<'a>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an array of ciphertexts")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> core::result::Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                let mut count = 0usize;
                loop {
                    if count < MAX_BATCH {
                        match seq.next_element::<&'de serde_json::value::RawValue>()? {
                            Some(v) => items.push(v),
                            None => break,
                        }
                    } else if seq.next_element::<serde::de::IgnoredAny>()?.is_none() {
                        break;
                    }
                    count = count.saturating_add(1);
                }
                Ok(BoundedItems { items, count })
            }
        }
        d.deserialize_seq(V(core::marker::PhantomData))
    }
}

/// The warrant part of a release request, read without looking at the ciphertexts (they are
/// skipped, not stored): what a node needs to authenticate the caller before anything else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WarrantOnly {
    version: V1,
    warrant: Envelope,
    #[allow(dead_code)]
    ciphertexts: serde::de::IgnoredAny,
}

/// The warrant of a release request body, and its digest, without parsing any ciphertext
/// (memory stays within the body size). The node uses it to learn which investigator key must
/// have signed the request before it looks at anything else.
pub fn request_warrant(
    body: &[u8],
) -> core::result::Result<(Result<WarrantEnvelope, Refusal>, WarrantDigest), RequestError> {
    let raw: WarrantOnly =
        serde_json::from_slice(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
    let _ = raw.version;
    let digest = crate::codec::WarrantDigest::of_envelope(&raw.warrant);
    Ok((WarrantEnvelope::from_envelope(raw.warrant), digest))
}

/// Domain tag of [`request_digest`].
pub const TAG_RELEASE_REQUEST: &str = "escrow/v1/release-request";

/// The digest of a release request as the node received it: `Digest32::tagged(
/// "escrow/v1/release-request", [body])`, i.e. `SHA-256(u8(len(tag)) || tag || body)` over the
/// body bytes exactly as sent. A whole-request refusal logs it instead of the
/// ciphertexts; the investigator, who holds the body it sent, can recompute it.
pub fn request_digest(body: &[u8]) -> Digest32 {
    Digest32::tagged(TAG_RELEASE_REQUEST, &[body])
}

/// Why a release request body was refused as a whole (an HTTP 4xx; not a policy refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Not JSON, wrong structure, unknown field, unsupported version, no ciphertexts.
    #[error("malformed release request: {0}")]
    Malformed(String),
    /// More ciphertexts than allowed.
    #[error("release request carries {found} ciphertexts; at most {limit} per request")]
    TooManyCiphertexts {
        /// Ciphertexts found.
        found: usize,
        /// The limit.
        limit: usize,
    },
}

/// Parse a release request body. The envelope and the outer structure must parse; each
/// ciphertext is parsed on its own. More than `max_batch` ciphertexts (capped at
/// [`MAX_BATCH`]), or none, refuses the request.
pub fn parse_request(
    body: &[u8],
    max_batch: usize,
) -> core::result::Result<ParsedRequest, RequestError> {
    let raw: RawRequest =
        serde_json::from_slice(body).map_err(|e| RequestError::Malformed(e.to_string()))?;
    let _ = raw.version;
    if raw.ciphertexts.count == 0 {
        return Err(RequestError::Malformed("no ciphertexts".into()));
    }
    let limit = max_batch.min(MAX_BATCH);
    if raw.ciphertexts.count > limit {
        return Err(RequestError::TooManyCiphertexts {
            found: raw.ciphertexts.count,
            limit,
        });
    }
    // The digest a WarrantEnvelope has (over the PAE), computed before the structural check so
    // that even a refusal names the document it refused.
    let warrant_digest = crate::codec::WarrantDigest::of_envelope(&raw.warrant);
    let warrant = WarrantEnvelope::from_envelope(raw.warrant);
    let ciphertexts = raw
        .ciphertexts
        .items
        .into_iter()
        .map(|v| {
            serde_json::from_str::<EscrowCiphertext>(v.get())
                .map_err(|e| Refusal::malformed("ciphertext", e))
        })
        .collect();
    Ok(ParsedRequest {
        warrant,
        warrant_digest,
        ciphertexts,
    })
}

// ---------------------------------------------------------------------------------------------
// Decisions (pure)

/// Check one ciphertext against the set and the verified warrant: parse result, TDH2 proof,
/// scope. Public data only; safe to run in parallel.
pub fn judge_ciphertext(
    set: &TrusteeSet,
    warrant: &VerifiedWarrant,
    ct: Result<EscrowCiphertext, Refusal>,
) -> core::result::Result<ValidCiphertext, ItemRefusal> {
    let ct = ct.map_err(|r| ItemRefusal::from_refusal(None, r))?;
    let digest = ct.digest();
    let valid = ct
        .check(set)
        .map_err(|e| ItemRefusal::from_check_error(Some(digest), &e))?;
    warrant
        .check_scope(valid.label())
        .map_err(|r| ItemRefusal::from_refusal(Some(digest), r))?;
    Ok(valid)
}

/// The release-limit bookkeeping of one request, in request order: a ciphertext released
/// before under this warrant (in an earlier request or earlier in this batch) costs nothing;
/// a new one counts one distinct message against the warrant's limit.
#[derive(Debug)]
pub struct ReleaseCounter<'a> {
    warrant: &'a VerifiedWarrant,
    already: u64,
    new: HashSet<CiphertextDigest>,
}

impl<'a> ReleaseCounter<'a> {
    /// Start with `already` distinct messages released under this warrant before.
    pub fn new(warrant: &'a VerifiedWarrant, already: u64) -> Self {
        ReleaseCounter {
            warrant,
            already,
            new: HashSet::new(),
        }
    }

    /// May `ct` be released? `released_before` says whether it was released under this
    /// warrant in an earlier request.
    pub fn admit(
        &mut self,
        ct: CiphertextDigest,
        released_before: bool,
    ) -> core::result::Result<(), ItemRefusal> {
        if released_before || self.new.contains(&ct) {
            return Ok(());
        }
        let counted = self.new.len() as u64;
        self.warrant
            .check_release_limit(self.already.saturating_add(counted), 1)
            .map_err(|r| ItemRefusal::from_refusal(Some(ct), r))?;
        self.new.insert(ct);
        Ok(())
    }

    /// The distinct ciphertexts newly counted by this request.
    pub fn newly_counted(&self) -> &HashSet<CiphertextDigest> {
        &self.new
    }
}

/// The ECIES context of a released share:
/// `"escrow/v1/release-share" || set_id || u16_be(trustee) || warrant_digest || ciphertext_digest`.
pub fn share_box_context(
    set_id: &SetId,
    trustee: u16,
    warrant: &WarrantDigest,
    ciphertext: &CiphertextDigest,
) -> Vec<u8> {
    let mut c = Vec::with_capacity(CTX_RELEASE_SHARE.len() + 2 + 96);
    c.extend_from_slice(CTX_RELEASE_SHARE);
    c.extend_from_slice(set_id.as_bytes());
    c.extend_from_slice(&trustee.to_be_bytes());
    c.extend_from_slice(warrant.as_bytes());
    c.extend_from_slice(ciphertext.as_bytes());
    c
}

/// Digest of a decryption share, as logged:
/// `T("escrow/v1/share-digest", u16_be(trustee) || ciphertext || context || d || a || b || z)`.
pub fn share_digest(s: &DecryptionShare) -> Digest32 {
    Digest32::tagged(
        TAG_SHARE_DIGEST,
        &[
            &s.trustee.to_be_bytes(),
            s.ciphertext.as_bytes(),
            s.context.as_bytes(),
            &s.d.to_bytes(),
            &s.a.to_bytes(),
            &s.b.to_bytes(),
            &scalar_to_bytes(&s.z),
        ],
    )
}

/// A share made and sealed for the investigator, with its digest for the log.
#[derive(Clone, Debug)]
pub struct SealedShare {
    /// Digest of the ciphertext.
    pub ciphertext: CiphertextDigest,
    /// The box for the investigator.
    pub share_box: EciesBox,
    /// [`share_digest`] of the share inside.
    pub share_digest: Digest32,
}

/// Compute this trustee's decryption share for `ct` under `warrant` (context = the warrant
/// digest) and seal it to the warrant's investigator ([`seal_warrant_share`]).
pub fn make_share<R: rand_core::CryptoRng + ?Sized>(
    key: &VerifiedKeyShare,
    warrant: &VerifiedWarrant,
    ct: &ValidCiphertext,
    rng: &mut R,
) -> Result<SealedShare> {
    let share = key.decryption_share(ct, &ShareContext::warrant(warrant.digest()), rng)?;
    seal_warrant_share(key, warrant, &share, rng)
}

/// Seal a decryption share of `key`'s trustee to `warrant`'s investigator, with its digest
/// for the log. [`make_share`] is compute-then-seal; a caller that has its share already
/// (computed with [`VerifiedKeyShare::decryption_share`]) seals it with this.
pub fn seal_warrant_share<R: rand_core::CryptoRng + ?Sized>(
    key: &VerifiedKeyShare,
    warrant: &VerifiedWarrant,
    share: &DecryptionShare,
    rng: &mut R,
) -> Result<SealedShare> {
    let share_box = seal_share(
        warrant.investigator(),
        &key.set_id(),
        &warrant.digest(),
        share,
        rng,
    )?;
    Ok(SealedShare {
        ciphertext: share.ciphertext,
        share_box,
        share_digest: share_digest(share),
    })
}

/// ECIES-encrypt a share (its JSON) to `investigator`, bound by [`share_box_context`].
pub fn seal_share<R: rand_core::CryptoRng + ?Sized>(
    investigator: &PublicKey,
    set_id: &SetId,
    warrant: &WarrantDigest,
    share: &DecryptionShare,
    rng: &mut R,
) -> Result<EciesBox> {
    let ctx = share_box_context(set_id, share.trustee, warrant, &share.ciphertext);
    ecies::encrypt(
        investigator,
        &ctx,
        crate::codec::to_json(share).as_bytes(),
        rng,
    )
}

/// Decrypt a share box addressed to `key`, and check that the share inside is the one the
/// box claims (trustee, ciphertext, warrant context). Its DLEQ proof is checked separately
/// ([`DecryptionShare::verify`], or [`crate::share::combine`]).
pub fn open_share(
    key: &PrivateKey,
    set_id: &SetId,
    trustee: u16,
    warrant: &WarrantDigest,
    ciphertext: &CiphertextDigest,
    share_box: &EciesBox,
) -> Result<DecryptionShare> {
    let ctx = share_box_context(set_id, trustee, warrant, ciphertext);
    let pt = ecies::decrypt(key, &ctx, share_box, "released decryption share")?;
    let s =
        core::str::from_utf8(&pt).map_err(|e| Error::malformed("released decryption share", e))?;
    let share: DecryptionShare = crate::codec::from_json("released decryption share", s)?;
    if share.trustee != trustee
        || share.ciphertext != *ciphertext
        || share.context != warrant.digest()
    {
        return Err(Error::ShareForOtherCiphertext { trustee });
    }
    Ok(share)
}

// ---------------------------------------------------------------------------------------------
// Response

/// The outcome for one ciphertext, in request order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ReleaseResult {
    /// A decryption share, encrypted to the investigator.
    Released {
        /// Digest of the ciphertext.
        ciphertext: CiphertextDigest,
        /// ECIES box of the [`DecryptionShare`] JSON.
        share: EciesBox,
        /// Leaf index of the release entry in the trustee's log.
        leaf_index: u64,
    },
    /// Refused.
    Refused {
        /// Digest of the ciphertext, if it parsed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ciphertext: Option<CiphertextDigest>,
        /// Stable reason code.
        code: RefusalCode,
        /// What failed, in words.
        detail: String,
        /// Leaf index of the refusal entry in the trustee's log.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leaf_index: Option<u64>,
    },
}

impl ReleaseResult {
    /// The ciphertext digest, if known.
    pub fn ciphertext(&self) -> Option<CiphertextDigest> {
        match self {
            ReleaseResult::Released { ciphertext, .. } => Some(*ciphertext),
            ReleaseResult::Refused { ciphertext, .. } => *ciphertext,
        }
    }

    /// The leaf index of the log entry that records this outcome.
    pub fn leaf_index(&self) -> Option<u64> {
        match self {
            ReleaseResult::Released { leaf_index, .. } => Some(*leaf_index),
            ReleaseResult::Refused { leaf_index, .. } => *leaf_index,
        }
    }

    /// A refusal result from an [`ItemRefusal`] and its log position.
    pub fn refused(r: ItemRefusal, leaf_index: Option<u64>) -> Self {
        ReleaseResult::Refused {
            ciphertext: r.ciphertext,
            code: r.code,
            detail: cut_detail(r.detail),
            leaf_index,
        }
    }
}

/// `POST /v1/release` answer: every result in request order, signed by the trustee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseResponse {
    /// Format version.
    pub version: V1,
    /// Trustee index.
    pub trustee: u16,
    /// Trustee-set id.
    pub set_id: SetId,
    /// Digest of the warrant envelope the request carried.
    pub warrant: WarrantDigest,
    /// Key id of the investigator the shares are encrypted to (absent when the warrant was
    /// refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub investigator: Option<KeyId>,
    /// The node's clock when it judged the request.
    pub time: Timestamp,
    /// One result per ciphertext, request order.
    pub results: Vec<ReleaseResult>,
    /// ECDSA P-256 / SHA-256 signature (DER, base64) over [`ReleaseResponse::body_bytes`],
    /// by the trustee's signing key in the trustee set.
    #[serde(with = "crate::codec::b64")]
    pub signature: Vec<u8>,
    /// Under a policy with a release gate: the quorum-cosigned checkpoint covering the release
    /// entries and their inclusion proofs (`audit::witness::check_release`; not covered by
    /// `signature`, self-authenticating).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnessed: Option<crate::witnessing::Witnessed>,
}

/// A refusal's detail cut to at most [`MAX_DETAIL_LEN`] bytes (at a character boundary), as
/// both protocol versions answer it.
pub(crate) fn cut_detail(mut detail: String) -> String {
    if detail.len() > MAX_DETAIL_LEN {
        let mut cut = MAX_DETAIL_LEN;
        while !detail.is_char_boundary(cut) {
            cut -= 1;
        }
        detail.truncate(cut);
    }
    detail
}

/// `u16 trustee ‖ set_id ‖ warrant`: the start of both versions' signed response bodies.
pub(crate) fn put_response_head(
    out: &mut Vec<u8>,
    trustee: u16,
    set_id: &SetId,
    warrant: &WarrantDigest,
) {
    out.extend_from_slice(&trustee.to_be_bytes());
    out.extend_from_slice(set_id.as_bytes());
    out.extend_from_slice(warrant.as_bytes());
}

/// `opt(investigator) ‖ i64 time ‖ u32 n` (n results follow) in both versions' signed
/// response bodies.
pub(crate) fn put_response_tail(
    out: &mut Vec<u8>,
    investigator: Option<KeyId>,
    time: Timestamp,
    n: usize,
) {
    put_opt_digest(out, investigator.map(|k| k.digest()).as_ref());
    out.extend_from_slice(&time.0.to_be_bytes());
    out.extend_from_slice(&(n as u32).to_be_bytes());
}

/// `lp(code) ‖ lp(detail) ‖ opt_u64(leaf_index)`: a refused item in both versions' signed
/// response bodies.
pub(crate) fn put_refusal(
    out: &mut Vec<u8>,
    code: RefusalCode,
    detail: &str,
    leaf_index: Option<u64>,
) {
    put_lp(out, code.as_str().as_bytes());
    put_lp(out, detail.as_bytes());
    match leaf_index {
        None => out.push(0),
        Some(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_be_bytes());
        }
    }
}

/// `0`, or `1 ‖ d` (the optional digest of both versions' signed response bodies).
pub(crate) fn put_opt_digest(out: &mut Vec<u8>, d: Option<&Digest32>) {
    match d {
        None => out.push(0),
        Some(d) => {
            out.push(1);
            out.extend_from_slice(d.as_bytes());
        }
    }
}

impl ReleaseResponse {
    /// An unsigned response (sign it with [`ReleaseResponse::sign`]).
    pub fn unsigned(
        trustee: u16,
        set_id: SetId,
        warrant: WarrantDigest,
        investigator: Option<KeyId>,
        time: Timestamp,
        results: Vec<ReleaseResult>,
    ) -> Self {
        ReleaseResponse {
            version: V1::default(),
            trustee,
            set_id,
            warrant,
            investigator,
            time,
            results,
            signature: Vec::new(),
            witnessed: None,
        }
    }

    /// The canonical bytes the signature covers:
    ///
    /// ```text
    /// u8(len(tag)) || tag || u16 trustee || set_id || warrant || opt(investigator) || i64 time
    /// || u32 n || n × result
    /// result = 0x01 || ciphertext || E (33) || lp(box ciphertext) || u64 leaf_index
    ///        | 0x02 || opt(ciphertext) || lp(code) || lp(detail) || opt_u64(leaf_index)
    /// ```
    pub fn body_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.results.len() * 160);
        out.push(TAG_RELEASE_RESPONSE.len() as u8);
        out.extend_from_slice(TAG_RELEASE_RESPONSE.as_bytes());
        put_response_head(&mut out, self.trustee, &self.set_id, &self.warrant);
        put_response_tail(&mut out, self.investigator, self.time, self.results.len());
        for r in &self.results {
            match r {
                ReleaseResult::Released {
                    ciphertext,
                    share,
                    leaf_index,
                } => {
                    out.push(1);
                    out.extend_from_slice(ciphertext.as_bytes());
                    out.extend_from_slice(&share.ephemeral.to_bytes());
                    put_lp(&mut out, &share.ciphertext);
                    out.extend_from_slice(&leaf_index.to_be_bytes());
                }
                ReleaseResult::Refused {
                    ciphertext,
                    code,
                    detail,
                    leaf_index,
                } => {
                    out.push(2);
                    put_opt_digest(&mut out, ciphertext.map(|c| c.digest()).as_ref());
                    put_refusal(&mut out, *code, detail, *leaf_index);
                }
            }
        }
        out
    }

    /// Sign the body with the trustee's signing key.
    pub fn sign(mut self, key: &PrivateKey) -> Self {
        self.signature = key.sign(&self.body_bytes());
        self
    }

    /// Verify the signature against the signing key of trustee `self.trustee` in `set`.
    pub fn verify(&self, set: &TrusteeSet) -> Result<()> {
        let member = set.member_for(&self.set_id, self.trustee)?;
        member.signing_key.verify(
            &self.body_bytes(),
            &self.signature,
            &format!("release response of trustee {}", self.trustee),
        )
    }

    /// Check that the results answer `requested` (ciphertext digests, request order): same
    /// count, and every result that names a ciphertext names the one at its position.
    pub fn check_answers(&self, requested: &[CiphertextDigest]) -> Result<()> {
        if self.results.len() != requested.len() {
            return Err(Error::malformed(
                "release response",
                format!(
                    "{} results for {} ciphertexts",
                    self.results.len(),
                    requested.len()
                ),
            ));
        }
        for (pos, (r, want)) in self.results.iter().zip(requested).enumerate() {
            if r.ciphertext().is_some_and(|got| got != *want) {
                return Err(Error::malformed(
                    "release response",
                    format!("result {pos} is for another ciphertext"),
                ));
            }
        }
        Ok(())
    }

    /// Decrypt every released share with the investigator's key (call [`Self::verify`]
    /// first). Returns, per released result, its position, ciphertext digest, leaf index and the
    /// share or why it could not be opened.
    pub fn open_shares(&self, key: &PrivateKey) -> Vec<OpenedShare> {
        self.results
            .iter()
            .enumerate()
            .filter_map(|(position, r)| match r {
                ReleaseResult::Released {
                    ciphertext,
                    share,
                    leaf_index,
                } => Some(OpenedShare {
                    position,
                    ciphertext: *ciphertext,
                    leaf_index: *leaf_index,
                    share: open_share(
                        key,
                        &self.set_id,
                        self.trustee,
                        &self.warrant,
                        ciphertext,
                        share,
                    ),
                }),
                ReleaseResult::Refused { .. } => None,
            })
            .collect()
    }

    /// Parse JSON.
    pub fn from_json(s: &str) -> Result<Self> {
        crate::codec::from_json("release response", s)
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        crate::codec::to_json(self)
    }
}

/// A released share as the investigator opened it.
#[derive(Clone, Debug)]
pub struct OpenedShare {
    /// Position in the request.
    pub position: usize,
    /// Ciphertext digest.
    pub ciphertext: CiphertextDigest,
    /// Leaf index of the release entry (the receipt).
    pub leaf_index: u64,
    /// The share (proof not yet checked), or why it could not be opened.
    pub share: Result<DecryptionShare>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label::Label;
    use crate::message::seal;
    use crate::share::combine;
    use crate::trustee::{Dealing, deal};
    use crate::warrant::{Policy, Role};

    const T0: i64 = 1_800_000_000;

    struct Fx {
        d: Dealing,
        keys: Vec<VerifiedKeyShare>,
        inv: PrivateKey,
        policy: Policy,
        issuer: PrivateKey,
        judge: PrivateKey,
    }

    fn fx() -> Fx {
        let mut rng = rand::rng();
        let d = deal(3, 2, &mut rng).unwrap();
        let keys = d
            .secrets
            .iter()
            .map(|s| d.set.verify_share(s.key_share.clone()).unwrap())
            .collect();
        let issuer = PrivateKey::generate(&mut rng);
        let judge = PrivateKey::generate(&mut rng);
        let policy = crate::test_fixtures::double_lock_policy(&issuer, &judge);
        Fx {
            d,
            keys,
            inv: PrivateKey::generate(&mut rng),
            policy,
            issuer,
            judge,
        }
    }

    fn warrant(fx: &Fx, id: &str, max: Option<u64>) -> VerifiedWarrant {
        let p = crate::test_fixtures::payload_around(T0, &fx.inv.public(), id, "c", max, None);
        let mut env = WarrantEnvelope::sign_new(&p, &fx.issuer, Role::Issuer).unwrap();
        env.add_signature(&fx.judge, Role::Judicial).unwrap();
        fx.policy.verify(&env, Timestamp(T0), &|_| false).unwrap()
    }

    fn ct(fx: &Fx, sender: &str, id: &str) -> (crate::message::SealedMessage, EscrowCiphertext) {
        let recipient = PrivateKey::generate(&mut rand::rng());
        let label = Label::new(sender, "bob", Timestamp(T0), id).unwrap();
        let m = seal(
            &fx.d.set,
            &recipient.public(),
            &label,
            b"hello",
            &mut rand::rng(),
        )
        .unwrap();
        let c = m.escrow.clone();
        (m, c)
    }

    #[test]
    fn judged_released_signed_opened_combined() {
        let fx = fx();
        let w = warrant(&fx, "w1", None);
        let (msg, good) = ct(&fx, "alice", "m1");
        let (_, outside) = ct(&fx, "carol", "m2");
        let mut relabelled = outside.clone();
        relabelled.label.sender = "alice".into();
        let other = deal(3, 2, &mut rand::rng()).unwrap();
        let foreign = crate::tdh2::encapsulate(
            &other.set,
            &good.label,
            &crate::secret::MessageKey::random(&mut rand::rng()),
            &mut rand::rng(),
        )
        .unwrap()
        .0;

        let code = |r: core::result::Result<ValidCiphertext, ItemRefusal>| {
            r.err().map(|e| e.code.as_str())
        };
        assert_eq!(
            code(judge_ciphertext(&fx.d.set, &w, Ok(outside.clone()))),
            Some("out-of-scope")
        );
        assert_eq!(
            code(judge_ciphertext(&fx.d.set, &w, Ok(relabelled))),
            Some("bad-ciphertext-proof")
        );
        assert_eq!(
            code(judge_ciphertext(&fx.d.set, &w, Ok(foreign))),
            Some("wrong-trustee-set")
        );
        let bad = Err(Refusal::malformed("ciphertext", "x"));
        assert_eq!(
            code(judge_ciphertext(&fx.d.set, &w, bad)),
            Some("malformed")
        );
        let valid = judge_ciphertext(&fx.d.set, &w, Ok(good.clone())).unwrap();

        // Two trustees release; responses signed, verified, opened, combined.
        let mut shares = Vec::new();
        for key in &fx.keys[..2] {
            let s = make_share(key, &w, &valid, &mut rand::rng()).unwrap();
            let resp = ReleaseResponse::unsigned(
                key.index(),
                fx.d.set.id(),
                w.digest(),
                Some(fx.inv.public().key_id()),
                Timestamp(T0),
                vec![
                    ReleaseResult::Released {
                        ciphertext: s.ciphertext,
                        share: s.share_box.clone(),
                        leaf_index: 7,
                    },
                    ReleaseResult::refused(
                        ItemRefusal {
                            ciphertext: Some(outside.digest()),
                            code: ReasonCode::OutOfScope.into(),
                            detail: "no".into(),
                        },
                        Some(8),
                    ),
                ],
            )
            .sign(&fx.d.secrets[usize::from(key.index()) - 1].signing_key);
            let resp = ReleaseResponse::from_json(&resp.to_json()).unwrap();
            resp.verify(&fx.d.set).unwrap();
            resp.check_answers(&[good.digest(), outside.digest()])
                .unwrap();
            assert!(
                resp.check_answers(&[outside.digest(), good.digest()])
                    .is_err()
            );
            // Any change to the body breaks the signature; so does claiming another trustee.
            let mut t = resp.clone();
            t.results.swap(0, 1);
            assert!(t.verify(&fx.d.set).is_err());
            let mut t = resp.clone();
            t.trustee = 3;
            assert!(t.verify(&fx.d.set).is_err());
            let opened = resp.open_shares(&fx.inv);
            assert_eq!(opened.len(), 1);
            assert_eq!(opened[0].leaf_index, 7);
            let share = opened[0].share.clone().unwrap();
            assert_eq!(share_digest(&share), s.share_digest);
            // Only the investigator opens it, and only for this warrant.
            assert!(
                resp.open_shares(&fx.d.secrets[0].signing_key)[0]
                    .share
                    .is_err()
            );
            let w2 = warrant(&fx, "w2", None);
            assert!(
                open_share(
                    &fx.inv,
                    &fx.d.set.id(),
                    key.index(),
                    &w2.digest(),
                    &good.digest(),
                    &s.share_box
                )
                .is_err()
            );
            shares.push(share);
        }
        let c = combine(
            &fx.d.set,
            &valid,
            &ShareContext::warrant(w.digest()),
            &shares,
        )
        .unwrap();
        assert_eq!(
            &msg.decrypt_body(&c.message_key).unwrap().body[..],
            b"hello"
        );

        // A share whose proof is broken (commitments swapped), sealed: the combiner names the
        // trustee.
        let mut broken = fx.keys[2]
            .decryption_share(&valid, &ShareContext::warrant(w.digest()), &mut rand::rng())
            .unwrap();
        core::mem::swap(&mut broken.a, &mut broken.b);
        let s = seal_warrant_share(&fx.keys[2], &w, &broken, &mut rand::rng()).unwrap();
        let bad = open_share(
            &fx.inv,
            &fx.d.set.id(),
            3,
            &w.digest(),
            &good.digest(),
            &s.share_box,
        )
        .unwrap();
        assert_eq!(
            bad.verify(&fx.d.set, &valid, &ShareContext::warrant(w.digest()))
                .unwrap_err(),
            Error::BadShareProof { trustee: 3 }
        );
    }

    #[test]
    fn release_counter_counts_distinct_new_messages() {
        let fx = fx();
        let w = warrant(&fx, "w-limit", Some(3));
        let d = |b: u8| CiphertextDigest::from_bytes([b; 32]);
        let mut c = ReleaseCounter::new(&w, 1);
        c.admit(d(1), true).unwrap(); // released before: free
        c.admit(d(2), false).unwrap(); // 2 of 3
        c.admit(d(2), false).unwrap(); // same again in the batch: free
        c.admit(d(3), false).unwrap(); // 3 of 3
        assert_eq!(
            c.admit(d(4), false).unwrap_err().code.as_str(),
            "release-limit"
        );
        c.admit(d(5), true).unwrap();
        assert_eq!(c.newly_counted().len(), 2);
        let unlimited = warrant(&fx, "w-free", None);
        let mut c = ReleaseCounter::new(&unlimited, u64::MAX - 1);
        c.admit(d(1), false).unwrap();
    }

    #[test]
    fn parse_request_is_lenient_per_ciphertext_and_strict_outside() {
        let fx = fx();
        let w = warrant(&fx, "w-parse", None);
        let (_, good) = ct(&fx, "alice", "m1");
        let req = ReleaseRequest::new(w.envelope(), vec![good.clone(), good.clone()]);
        let mut v: serde_json::Value = serde_json::from_str(&req.to_json()).unwrap();
        v["ciphertexts"][1]["u"] = "02ffff".into();
        let p = parse_request(v.to_string().as_bytes(), 10).unwrap();
        assert_eq!(p.warrant_digest, w.digest());
        assert!(p.warrant.is_ok());
        assert!(p.ciphertexts[0].is_ok());
        assert_eq!(
            p.ciphertexts[1].as_ref().unwrap_err().code,
            ReasonCode::Malformed
        );
        assert_eq!(
            parse_request(req.to_json().as_bytes(), 1).unwrap_err(),
            RequestError::TooManyCiphertexts { found: 2, limit: 1 }
        );
        assert!(parse_request(b"{}", 10).is_err());
        v["extra"] = 1.into();
        assert!(parse_request(v.to_string().as_bytes(), 10).is_err());
        let empty = ReleaseRequest::new(w.envelope(), vec![]);
        assert!(parse_request(empty.to_json().as_bytes(), 10).is_err());
    }

    #[test]
    fn refusal_codes_serialize_as_stable_strings() {
        let c = RefusalCode::Warrant(ReasonCode::OutOfScope);
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"out-of-scope\"");
        let c = RefusalCode::Ciphertext(CiphertextCode::BadCiphertextProof);
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            "\"bad-ciphertext-proof\""
        );
        for s in ["\"expired\"", "\"wrong-trustee-set\"", "\"release-limit\""] {
            let c: RefusalCode = serde_json::from_str(s).unwrap();
            assert_eq!(format!("\"{c}\""), s);
        }
        assert!(serde_json::from_str::<RefusalCode>("\"nope\"").is_err());
    }
}
