//! The v2 release exchange on the wire (`docs/api.md` §3.2, `docs/protocol.md` §15.9):
//! `POST /v2/release` with a binary request, a signed binary response carrying one
//! [`AnswerV2`] for every share released.
//!
//! ```text
//! request  = u8(2) ‖ lp(warrant envelope JSON) ‖ u32be(n) ‖ n × lp(ct2_bytes)
//! response = body ‖ lp(signature)
//! body     = u8(2) ‖ u16be(i) ‖ set_id ‖ W ‖ R ‖ opt(investigator key id) ‖ i64be(time)
//!            ‖ u32be(n) ‖ n × result ‖ opt(lp(answer_bytes))
//! result   = 0x01 ‖ u64be(leaf)                                      released
//!          | 0x02 ‖ lp(code) ‖ lp(detail) ‖ opt(u64be(leaf))          refused
//! signature = ECDSA-P256-SHA256(trustee signing key,
//!             u8(len(tag)) ‖ tag ‖ body)   tag = "escrow/v2/release-response"
//! response  = body ‖ lp(signature) ‖ [witnessed]       (witnessed: only under a release gate)
//! witnessed = u8(1) ‖ lp(checkpoint note) ‖ u32be(m) ‖ m × inclusion
//! inclusion = u64be(leaf) ‖ lp(entry bytes) ‖ u8(k) ‖ k × hash(32)
//! ```
//!
//! `opt(x)` is `0x00` or `0x01 ‖ x`. R is §15.4's request digest over the digests `D_j` of
//! the items as sent (`T("escrow/v2/ciphertext-digest", item bytes)`, which for a well-formed
//! item is its ciphertext digest), so it is defined even when an item does not parse. The
//! answer holds exactly the released positions, in order.

use super::answer::{AnswerV2, VerifiedAnswer, request_digest};
use super::ciphertext::TAG_CT_DIGEST_V2;
use super::{EscrowCiphertextV2, Reader, VERSION_BYTE, ValidCiphertextV2, check_batch};
use crate::codec::WarrantDigest;
use crate::codec::{CiphertextDigest, Digest32, KeyId, SetId, put_lp};
use crate::error::{Error, Result};
use crate::keys::PrivateKey;
use crate::release::{
    ItemRefusal, MAX_BATCH, MAX_DETAIL_LEN, RefusalCode, cut_detail, put_refusal,
    put_response_head, put_response_tail,
};
use crate::time::Timestamp;
use crate::trustee::TrusteeSet;
use crate::warrant::{Envelope, ReasonCode, Refusal, VerifiedWarrant, WarrantEnvelope};
use crate::witnessing::{Inclusion, Witnessed};

/// Domain tag of the signed v2 response body.
pub const TAG_RELEASE_RESPONSE_V2: &str = "escrow/v2/release-response";
/// Longest warrant envelope a v2 request may carry, bytes.
pub const MAX_WARRANT_BYTES: usize = 1 << 20;
/// Longest item (one ciphertext encoding) of a v2 request, bytes.
pub const MAX_ITEM_BYTES: usize = 8192;
/// Longest refusal code, bytes.
const MAX_CODE_LEN: usize = 64;
/// Longest DER signature, bytes.
const MAX_SIG_LEN: usize = 80;
/// Content type of the binary v2 request and response.
pub const CONTENT_TYPE_V2: &str = "application/vnd.escrow.v2";
/// Format version (first byte) of the witnessed evidence that may follow a v2 response's
/// signature (`docs/api.md` §4.3).
pub const WITNESSED_VERSION: u8 = 1;
/// Longest cosigned checkpoint note in the witnessed evidence, bytes.
const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Longest audit path in the witnessed evidence (a tree of at most 2^64 leaves).
const MAX_PROOF_HASHES: usize = 64;

/// `D = T("escrow/v2/ciphertext-digest", item)`: the digest of one request item as sent.
pub fn item_digest(item: &[u8]) -> CiphertextDigest {
    CiphertextDigest::from_digest(Digest32::tagged(TAG_CT_DIGEST_V2, &[item]))
}

/// A v2 release request, as the investigator builds it.
#[derive(Clone, Debug)]
pub struct ReleaseRequestV2 {
    warrant: WarrantEnvelope,
    ciphertexts: Vec<Vec<u8>>,
}

impl ReleaseRequestV2 {
    /// A request for `ciphertexts` under `warrant`.
    pub fn new<'a>(
        warrant: &WarrantEnvelope,
        ciphertexts: impl IntoIterator<Item = &'a EscrowCiphertextV2>,
    ) -> Self {
        ReleaseRequestV2 {
            warrant: warrant.clone(),
            ciphertexts: ciphertexts
                .into_iter()
                .map(EscrowCiphertextV2::to_bytes)
                .collect(),
        }
    }

    /// A request for checked ciphertexts: their encodings as the check computed them (the
    /// same bytes [`Self::new`] would encode).
    pub fn for_checked<'a>(
        warrant: &WarrantEnvelope,
        ciphertexts: impl IntoIterator<Item = &'a ValidCiphertextV2>,
    ) -> Self {
        ReleaseRequestV2 {
            warrant: warrant.clone(),
            ciphertexts: ciphertexts
                .into_iter()
                .map(|c| c.to_bytes().to_vec())
                .collect(),
        }
    }

    /// §15.4's request digest R of this request.
    pub fn digest(&self) -> Digest32 {
        let ds: Vec<CiphertextDigest> = self.ciphertexts.iter().map(|c| item_digest(c)).collect();
        request_digest(&self.warrant.digest(), &ds)
    }

    /// `u8(2) ‖ lp(warrant envelope JSON) ‖ u32be(n) ‖ n × lp(ct2_bytes)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let w = self.warrant.to_json();
        let mut out = Vec::with_capacity(
            1 + 4 + w.len() + 4 + self.ciphertexts.iter().map(|c| 4 + c.len()).sum::<usize>(),
        );
        out.push(VERSION_BYTE);
        put_lp(&mut out, w.as_bytes());
        out.extend_from_slice(&(self.ciphertexts.len() as u32).to_be_bytes());
        for c in &self.ciphertexts {
            put_lp(&mut out, c);
        }
        out
    }
}

/// A v2 request as the trustee parses it: each item on its own, so that one malformed item is
/// refused alone.
#[derive(Debug)]
pub struct ParsedRequestV2 {
    /// The warrant envelope (structure checked; signatures not yet).
    pub warrant: core::result::Result<WarrantEnvelope, Refusal>,
    /// Digest of the warrant envelope.
    pub warrant_digest: WarrantDigest,
    /// `D_j` of every item as sent.
    pub digests: Vec<CiphertextDigest>,
    /// §15.4's request digest R.
    pub request: Digest32,
    /// Every item, or why it does not parse.
    pub ciphertexts: Vec<core::result::Result<EscrowCiphertextV2, Refusal>>,
}

/// Why a v2 request body was refused as a whole (an HTTP 4xx; not a policy refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestErrorV2 {
    /// Truncated, wrong version, bad lengths, no items, trailing bytes.
    #[error("malformed v2 release request: {0}")]
    Malformed(String),
    /// More items than allowed.
    #[error("release request carries {found} ciphertexts; at most {limit} per request")]
    TooManyCiphertexts {
        /// Items announced.
        found: usize,
        /// The limit.
        limit: usize,
    },
}

fn warrant_part(
    r: &mut Reader<'_>,
) -> core::result::Result<
    (
        core::result::Result<WarrantEnvelope, Refusal>,
        WarrantDigest,
    ),
    RequestErrorV2,
> {
    let malformed = |e: Error| RequestErrorV2::Malformed(e.to_string());
    if r.peek() == Some(b'{') {
        return Err(RequestErrorV2::Malformed(
            "this is a JSON release request (protocol version 1): send it to /v1/release, or \
             send a binary version 2 request here"
                .into(),
        ));
    }
    r.version().map_err(malformed)?;
    let text = core::str::from_utf8(r.lp(MAX_WARRANT_BYTES).map_err(malformed)?)
        .map_err(|_| RequestErrorV2::Malformed("the warrant envelope is not UTF-8".into()))?;
    let env: Envelope = serde_json::from_str(text)
        .map_err(|e| RequestErrorV2::Malformed(format!("warrant envelope: {e}")))?;
    let digest = crate::codec::WarrantDigest::of_envelope(&env);
    Ok((WarrantEnvelope::from_envelope(env), digest))
}

/// The warrant of a v2 request body and its digest, without reading any item: what a node
/// needs to authenticate the caller before anything else.
pub fn request_warrant_v2(
    body: &[u8],
) -> core::result::Result<
    (
        core::result::Result<WarrantEnvelope, Refusal>,
        WarrantDigest,
    ),
    RequestErrorV2,
> {
    warrant_part(&mut Reader::new(body, "v2 release request"))
}

/// Parse a v2 request body. More than `max_batch` items (capped at [`MAX_BATCH`]), or none,
/// refuses the request; so does any framing error. Each item is decoded on its own.
pub fn parse_request_v2(
    body: &[u8],
    max_batch: usize,
) -> core::result::Result<ParsedRequestV2, RequestErrorV2> {
    let malformed = |e: Error| RequestErrorV2::Malformed(e.to_string());
    let mut r = Reader::new(body, "v2 release request");
    let (warrant, warrant_digest) = warrant_part(&mut r)?;
    let n = r.u32().map_err(malformed)? as usize;
    if n == 0 {
        return Err(RequestErrorV2::Malformed("no ciphertexts".into()));
    }
    let limit = max_batch.min(MAX_BATCH);
    if n > limit {
        return Err(RequestErrorV2::TooManyCiphertexts { found: n, limit });
    }
    let mut digests = Vec::with_capacity(n);
    let mut ciphertexts = Vec::with_capacity(n);
    for _ in 0..n {
        let item = r.lp(MAX_ITEM_BYTES).map_err(malformed)?;
        digests.push(item_digest(item));
        ciphertexts.push(
            EscrowCiphertextV2::from_bytes(item).map_err(|e| Refusal::malformed("ciphertext", e)),
        );
    }
    r.end().map_err(malformed)?;
    let request = request_digest(&warrant_digest, &digests);
    Ok(ParsedRequestV2 {
        warrant,
        warrant_digest,
        digests,
        request,
        ciphertexts,
    })
}

/// The trustee's public checks of every item under a verified warrant: the items that parse
/// are checked as one batch (§15.3), then each valid one against the warrant's scope.
pub fn judge_ciphertexts_v2(
    set: &TrusteeSet,
    warrant: &VerifiedWarrant,
    digests: &[CiphertextDigest],
    items: Vec<core::result::Result<EscrowCiphertextV2, Refusal>>,
) -> Vec<core::result::Result<ValidCiphertextV2, ItemRefusal>> {
    let mut parsed = Vec::with_capacity(items.len());
    let mut where_ = Vec::with_capacity(items.len());
    let mut out: Vec<core::result::Result<ValidCiphertextV2, ItemRefusal>> =
        Vec::with_capacity(items.len());
    for (pos, (item, d)) in items.into_iter().zip(digests).enumerate() {
        match item {
            Ok(ct) => {
                parsed.push(ct);
                where_.push(pos);
                // Placeholder, replaced below.
                out.push(Err(ItemRefusal {
                    ciphertext: Some(*d),
                    code: RefusalCode::Warrant(ReasonCode::Malformed),
                    detail: String::new(),
                }));
            }
            Err(r) => out.push(Err(ItemRefusal {
                ciphertext: Some(*d),
                code: r.code.into(),
                detail: r.detail,
            })),
        }
    }
    for (res, pos) in check_batch(set, &parsed).into_iter().zip(where_) {
        let d = digests.get(pos).copied();
        let judged = match res {
            Err(e) => Err(ItemRefusal::from_check_error(d, &e)),
            Ok(v) => match warrant.check_scope(v.label()) {
                Ok(()) => Ok(v),
                Err(r) => Err(ItemRefusal::from_refusal(d, r)),
            },
        };
        if let Some(slot) = out.get_mut(pos) {
            *slot = judged;
        }
    }
    out
}

/// The outcome for one item, in request order.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReleaseResultV2 {
    /// Released: its share is in the answer at this position.
    Released {
        /// Leaf index of the release entry in the trustee's log.
        leaf_index: u64,
    },
    /// Refused.
    Refused {
        /// Stable reason code.
        code: RefusalCode,
        /// What failed, in words (at most [`MAX_DETAIL_LEN`] bytes).
        detail: String,
        /// Leaf index of the refusal entry, if logged.
        leaf_index: Option<u64>,
    },
}

impl ReleaseResultV2 {
    /// A refusal result from an [`ItemRefusal`] (detail cut to [`MAX_DETAIL_LEN`]).
    pub fn refused(r: ItemRefusal, leaf_index: Option<u64>) -> Self {
        ReleaseResultV2::Refused {
            code: r.code,
            detail: cut_detail(r.detail),
            leaf_index,
        }
    }

    /// The leaf index of the log entry that records this outcome.
    pub fn leaf_index(&self) -> Option<u64> {
        match self {
            ReleaseResultV2::Released { leaf_index } => Some(*leaf_index),
            ReleaseResultV2::Refused { leaf_index, .. } => *leaf_index,
        }
    }
}

/// `POST /v2/release` answer: one result per item, the answer holding every released share,
/// all signed by the trustee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseResponseV2 {
    /// Trustee index.
    pub trustee: u16,
    /// Trustee-set id.
    pub set_id: SetId,
    /// Warrant digest W.
    pub warrant: WarrantDigest,
    /// Request digest R (§15.4).
    pub request: Digest32,
    /// Key id of the investigator the answer is sealed to (absent when the warrant was
    /// refused).
    pub investigator: Option<KeyId>,
    /// The node's clock when it judged the request.
    pub time: Timestamp,
    /// One result per item, request order.
    pub results: Vec<ReleaseResultV2>,
    /// The shares of every released item (absent when nothing was released).
    pub answer: Option<AnswerV2>,
    /// ECDSA P-256 / SHA-256 signature (DER) over [`Self::body_bytes`].
    pub signature: Vec<u8>,
    /// The release gate's evidence (issue 17): the checkpoint covering the release entries,
    /// cosigned by the policy's witness quorum, and an inclusion proof per released item, in
    /// result order. Present only under a policy with a release gate and when something was
    /// released; it follows the signature and is not covered by it (self-authenticating, as
    /// version 1's `witnessed`): `audit::witness::check_release_v2`.
    pub witnessed: Option<Witnessed>,
}

/// `u8(1) ‖ lp(note) ‖ u32be(m) ‖ m × (u64be(leaf) ‖ lp(entry) ‖ u8(k) ‖ k × hash)`.
fn put_witnessed(out: &mut Vec<u8>, w: &Witnessed) {
    out.push(WITNESSED_VERSION);
    put_lp(out, w.checkpoint.as_bytes());
    out.extend_from_slice(&(w.inclusion.len() as u32).to_be_bytes());
    for inc in &w.inclusion {
        out.extend_from_slice(&inc.leaf_index.to_be_bytes());
        put_lp(out, &inc.entry);
        out.push(inc.proof.len().min(MAX_PROOF_HASHES) as u8);
        for h in inc.proof.iter().take(MAX_PROOF_HASHES) {
            out.extend_from_slice(h.as_bytes());
        }
    }
}

/// Read [`put_witnessed`]'s bytes: at most `max_items` inclusion proofs.
fn read_witnessed(r: &mut Reader<'_>, max_items: usize) -> Result<Witnessed> {
    let v = r.u8()?;
    if v != WITNESSED_VERSION {
        return Err(malformed(format!(
            "witnessed evidence version {v} (this build reads {WITNESSED_VERSION}), or bytes after the signature"
        )));
    }
    let checkpoint = core::str::from_utf8(r.lp(MAX_NOTE_BYTES)?)
        .map_err(|_| malformed("the witnessed checkpoint is not UTF-8"))?
        .to_owned();
    let m = r.u32()? as usize;
    if m > max_items {
        return Err(malformed("more inclusion proofs than results"));
    }
    let mut inclusion = Vec::with_capacity(m);
    for _ in 0..m {
        let leaf_index = u64::from_be_bytes(r.array()?);
        let entry = r.lp(crate::bounds::MAX_ENTRY_BYTES)?.to_vec();
        let k = usize::from(r.u8()?);
        if k > MAX_PROOF_HASHES {
            return Err(malformed("audit path longer than 64 hashes"));
        }
        let mut proof = Vec::with_capacity(k);
        for _ in 0..k {
            proof.push(r.digest()?);
        }
        inclusion.push(Inclusion {
            leaf_index,
            entry,
            proof,
        });
    }
    Ok(Witnessed {
        version: Default::default(),
        checkpoint,
        inclusion,
    })
}

fn malformed(why: impl core::fmt::Display) -> Error {
    Error::malformed("v2 release response", why)
}

fn parse_code(s: &str) -> Result<RefusalCode> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|_| malformed(format!("unknown refusal code {s:?}")))
}

impl ReleaseResponseV2 {
    /// `u8(2) ‖ u16be(i) ‖ set_id ‖ W ‖ R ‖ opt(investigator) ‖ i64be(time) ‖ u32be(n)
    /// ‖ n × result ‖ opt(lp(answer_bytes))` (see the module documentation).
    pub fn body_bytes(&self) -> Vec<u8> {
        let answer = self.answer.as_ref().map(AnswerV2::to_bytes);
        let mut out = Vec::with_capacity(
            160 + self.results.len() * 9 + answer.as_ref().map_or(0, |a| a.len() + 4),
        );
        out.push(VERSION_BYTE);
        put_response_head(&mut out, self.trustee, &self.set_id, &self.warrant);
        out.extend_from_slice(self.request.as_bytes());
        put_response_tail(&mut out, self.investigator, self.time, self.results.len());
        for r in &self.results {
            match r {
                ReleaseResultV2::Released { leaf_index } => {
                    out.push(1);
                    out.extend_from_slice(&leaf_index.to_be_bytes());
                }
                ReleaseResultV2::Refused {
                    code,
                    detail,
                    leaf_index,
                } => {
                    out.push(2);
                    put_refusal(&mut out, *code, detail, *leaf_index);
                }
            }
        }
        match answer {
            None => out.push(0),
            Some(a) => {
                out.push(1);
                put_lp(&mut out, &a);
            }
        }
        out
    }

    fn signed_message(body: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(1 + TAG_RELEASE_RESPONSE_V2.len() + body.len());
        m.push(TAG_RELEASE_RESPONSE_V2.len() as u8);
        m.extend_from_slice(TAG_RELEASE_RESPONSE_V2.as_bytes());
        m.extend_from_slice(body);
        m
    }

    /// Sign with the trustee's signing key.
    pub fn sign(mut self, key: &PrivateKey) -> Self {
        self.signature = key.sign(&Self::signed_message(&self.body_bytes()));
        self
    }

    /// The wire form: `body ‖ lp(signature)`, then the witnessed evidence if any.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body_bytes();
        put_lp(&mut out, &self.signature);
        if let Some(w) = &self.witnessed {
            put_witnessed(&mut out, w);
        }
        out
    }

    /// Decode [`Self::to_bytes`]; at most `max_results` results (and shares).
    pub fn from_bytes(bytes: &[u8], max_results: usize) -> Result<Self> {
        let mut r = Reader::new(bytes, "v2 release response");
        r.version()?;
        let trustee = r.u16()?;
        let set_id = SetId::from_bytes(r.digest()?.0);
        let warrant = WarrantDigest::from_bytes(r.digest()?.0);
        let request = r.digest()?;
        let investigator = match r.u8()? {
            0 => None,
            1 => Some(KeyId::from_bytes(r.digest()?.0)),
            _ => return Err(malformed("bad option tag")),
        };
        let time = Timestamp(i64::from_be_bytes(r.array()?));
        let n = r.u32()? as usize;
        if n > max_results {
            return Err(malformed("too many results"));
        }
        let mut results = Vec::with_capacity(n);
        for _ in 0..n {
            results.push(match r.u8()? {
                1 => ReleaseResultV2::Released {
                    leaf_index: u64::from_be_bytes(r.array()?),
                },
                2 => {
                    let code = core::str::from_utf8(r.lp(MAX_CODE_LEN)?)
                        .map_err(|_| malformed("code is not UTF-8"))?;
                    let code = parse_code(code)?;
                    let detail = core::str::from_utf8(r.lp(MAX_DETAIL_LEN)?)
                        .map_err(|_| malformed("detail is not UTF-8"))?
                        .to_owned();
                    let leaf_index = match r.u8()? {
                        0 => None,
                        1 => Some(u64::from_be_bytes(r.array()?)),
                        _ => return Err(malformed("bad option tag")),
                    };
                    ReleaseResultV2::Refused {
                        code,
                        detail,
                        leaf_index,
                    }
                }
                _ => return Err(malformed("bad result tag")),
            });
        }
        let answer = match r.u8()? {
            0 => None,
            1 => {
                let a = r.lp(bytes.len())?;
                Some(AnswerV2::from_bytes(a, max_results)?)
            }
            _ => return Err(malformed("bad option tag")),
        };
        let signature = r.lp(MAX_SIG_LEN)?.to_vec();
        let witnessed = match r.peek() {
            None => None,
            Some(_) => Some(read_witnessed(&mut r, max_results)?),
        };
        r.end()?;
        Ok(ReleaseResponseV2 {
            trustee,
            set_id,
            warrant,
            request,
            investigator,
            time,
            results,
            answer,
            signature,
            witnessed,
        })
    }

    /// A JSON view for inspection (`?format=json`), never parsed back: `"version":2`, hex
    /// digests, results with `"outcome"`, the answer's own view, the signature in hex, and
    /// `"witnessed"` (as version 1's) when present.
    pub fn to_json_view(&self) -> serde_json::Value {
        let mut v = self.json_view_signed();
        if let (Some(w), Some(o)) = (&self.witnessed, v.as_object_mut()) {
            o.insert(
                "witnessed".into(),
                serde_json::to_value(w).unwrap_or_default(),
            );
        }
        v
    }

    fn json_view_signed(&self) -> serde_json::Value {
        serde_json::json!({
            "version": VERSION_BYTE,
            "trustee": self.trustee,
            "set_id": self.set_id.to_hex(),
            "warrant": self.warrant.to_hex(),
            "request": self.request.to_hex(),
            "investigator": self.investigator.map(|d| d.to_hex()),
            "time": self.time.0,
            "results": self.results.iter().map(|r| match r {
                ReleaseResultV2::Released { leaf_index } =>
                    serde_json::json!({"outcome": "released", "leaf_index": leaf_index}),
                ReleaseResultV2::Refused { code, detail, leaf_index } => serde_json::json!({
                    "outcome": "refused", "code": code.as_str(), "detail": detail,
                    "leaf_index": leaf_index,
                }),
            }).collect::<Vec<_>>(),
            "answer": self.answer.as_ref().map(AnswerV2::to_json_view),
            "signature": hex::encode(&self.signature),
        })
    }

    /// Verify the signature against trustee `self.trustee`'s signing key in `set`.
    pub fn verify(&self, set: &TrusteeSet) -> Result<()> {
        let member = set.member_for(&self.set_id, self.trustee)?;
        member.signing_key.verify(
            &Self::signed_message(&self.body_bytes()),
            &self.signature,
            &format!("v2 release response of trustee {}", self.trustee),
        )
    }

    /// The investigator's whole check of a signed response to the request `request` (every
    /// item, in order, each already checked) under warrant digest `warrant`: signature, W, R,
    /// one result per item, the answer present exactly when something was released and its
    /// positions exactly the released ones, then the answer itself ([`AnswerV2::open`]: boxes
    /// and the one batched DLEQ proof). Any failure names the trustee.
    pub fn open(
        &self,
        key: &PrivateKey,
        set: &TrusteeSet,
        warrant: &WarrantDigest,
        request: &[ValidCiphertextV2],
    ) -> Result<Option<VerifiedAnswer>> {
        self.verify(set)?;
        let trustee = self.trustee;
        let bad = |why: String| Error::BadAnswer { trustee, why };
        if !super::answer::answers_request(&self.warrant, &self.request, warrant, request) {
            return Err(bad("it answers another warrant or request".into()));
        }
        if self.results.len() != request.len() {
            return Err(bad(format!(
                "{} results for {} ciphertexts",
                self.results.len(),
                request.len()
            )));
        }
        let released: Vec<u32> = self
            .results
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, ReleaseResultV2::Released { .. }))
            .map(|(p, _)| p as u32)
            .collect();
        match &self.answer {
            None if released.is_empty() => Ok(None),
            None => Err(bad("shares are announced but no answer is attached".into())),
            Some(a) => {
                let positions: Vec<u32> = a.shares.iter().map(|s| s.position).collect();
                if positions != released || a.trustee != trustee || a.set_id != self.set_id {
                    return Err(bad(
                        "the answer's shares are not exactly the released items".into(),
                    ));
                }
                a.open(key, set, warrant, request).map(Some)
            }
        }
    }
}

/// An investigator's receipt of one v2 answer: the signed response and the digests of the
/// items of the request it answers (which the response binds through R). One line of
/// `receipts.jsonl`: the response's JSON view with two more fields, `"wire"` (the signed
/// response bytes, hex) and `"ciphertexts"` (the item digests, hex, request order); a reader
/// uses only those two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptV2 {
    /// The signed response (signature not yet verified when parsed).
    pub response: ReleaseResponseV2,
    /// `D_j` of every item of the request, in order.
    pub ciphertexts: Vec<CiphertextDigest>,
}

#[derive(serde::Deserialize)]
struct ReceiptLine {
    wire: String,
    ciphertexts: Vec<CiphertextDigest>,
}

impl ReceiptV2 {
    /// The receipt line (compact JSON, no newline).
    pub fn to_json_line(&self) -> String {
        let mut line = self.response.to_json_view();
        if let Some(o) = line.as_object_mut() {
            o.insert("wire".into(), hex::encode(self.response.to_bytes()).into());
            o.insert(
                "ciphertexts".into(),
                self.ciphertexts.iter().map(|d| d.to_hex()).collect(),
            );
        }
        line.to_string()
    }

    /// Parse a receipt line: the response from its bytes, and the item digests, which must be
    /// the ones the response's R covers (`R = T(…, W ‖ n ‖ D_0 ‖ …)`) and as many as its results.
    pub fn from_json_line(line: &str) -> Result<Self> {
        let bad = |why: String| Error::malformed("v2 receipt", why);
        let l: ReceiptLine = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
        let bytes = hex::decode(&l.wire).map_err(|e| bad(format!("wire: {e}")))?;
        let response = ReleaseResponseV2::from_bytes(&bytes, MAX_BATCH)?;
        if response.results.len() != l.ciphertexts.len()
            || request_digest(&response.warrant, &l.ciphertexts) != response.request
        {
            return Err(bad(
                "the ciphertext digests are not the request the response answers".into(),
            ));
        }
        Ok(ReceiptV2 {
            response,
            ciphertexts: l.ciphertexts,
        })
    }

    /// `(leaf index, ciphertext digest)` of every released item.
    pub fn released(&self) -> Vec<(u64, CiphertextDigest)> {
        self.response
            .results
            .iter()
            .zip(&self.ciphertexts)
            .filter_map(|(r, d)| match r {
                ReleaseResultV2::Released { leaf_index } => Some((*leaf_index, *d)),
                ReleaseResultV2::Refused { .. } => None,
            })
            .collect()
    }
}
