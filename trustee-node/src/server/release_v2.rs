//! `POST /v2/release`: release protocol version 2 (`docs/api.md` §3.2, `docs/protocol.md`
//! §15). The same checks, in the same order, as `POST /v1/release`: the request signature by
//! the warrant's investigator first, then the warrant (double lock, dates, cancellation of the
//! whole renewal chain), every ciphertext's validity (one batch check) and scope, the release
//! limit, and the log committed before anything leaves. The shares of every released item
//! travel in one answer with one batched DLEQ proof and one key exchange.
//!
//! The node never computes while it holds its database lock. The shares `d_j = x_i·u_j` (the
//! expensive part, spread over the cores for a large request) are computed first, for the items
//! an optimistic admission against the last committed counters admits; under the lock
//! cancellation and the limit are decided again, the shares of the items the limit now refuses
//! are dropped, and the log is committed; the answer's one proof and its boxes are made after
//! the lock is released (and after the witness gate), for exactly the items logged as released.
//! (The one exception: an item the optimistic admission refused but the locked decision admits
//! — another request released the same message in between, so it no longer counts — has its
//! share computed under the lock; it is bounded by what concurrent requests released.)

use super::{ApiError, Node, Shared, blocking, lock, read_body};
use crate::db::Db;
use crate::state::now;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use escrow_core::audit::SealedDocument;
use escrow_core::codec::Digest32;
use escrow_core::codec::WarrantDigest;
use escrow_core::release::ItemRefusal;
use escrow_core::time::Timestamp;
use escrow_core::v2::release::CONTENT_TYPE_V2;
use escrow_core::v2::{
    ComputedShares, ReleaseResponseV2, ReleaseResultV2, RequestErrorV2, ValidCiphertextV2,
    judge_ciphertexts_v2, parse_request_v2, request_warrant_v2,
};
use escrow_core::warrant::{ReasonCode, Refusal};

type Judged = Vec<Result<ValidCiphertextV2, ItemRefusal>>;

fn request_error_v2(e: RequestErrorV2) -> ApiError {
    super::batch_or_malformed(
        matches!(e, RequestErrorV2::TooManyCiphertexts { .. }),
        e.to_string(),
    )
}

/// The positions (and ciphertexts) of the admitted items.
fn admitted<'a>(decisions: &'a Judged, admit: &[bool]) -> Vec<(u32, &'a ValidCiphertextV2)> {
    decisions
        .iter()
        .zip(admit)
        .enumerate()
        .filter_map(|(pos, (d, a))| match d {
            Ok(v) if *a => Some((pos as u32, v)),
            _ => None,
        })
        .collect()
}

impl Node {
    /// `POST /v2/release`, synchronous (runs on a blocking thread).
    pub fn release_v2(
        &self,
        auth: Option<&[u8]>,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<ReleaseResponseV2, ApiError> {
        self.authenticate_release(auth, path_and_query, body, |b| {
            request_warrant_v2(b)
                .map(|(w, _)| w)
                .map_err(request_error_v2)
        })?;
        let parsed = parse_request_v2(body, self.limits.max_batch).map_err(request_error_v2)?;
        self.check_healthy()?;
        let time = now();
        let wd = parsed.warrant_digest;
        let request = parsed.request;
        let n = parsed.digests.len();
        let warrant = match self.verdict(&parsed.warrant, time) {
            Ok(w) => w,
            Err(refusal) => {
                let mut db = lock(&self.db);
                return self.refuse_all_v2(&mut db, wd, request, n, refusal, time);
            }
        };
        let envelope_json = warrant.envelope().to_json();
        let judged = judge_ciphertexts_v2(&self.set, &warrant, &parsed.digests, parsed.ciphertexts);

        // Compute first, without the database lock.
        let pre = self
            .pre_admit(
                &warrant,
                judged.iter().map(|j| j.as_ref().ok().map(|v| v.digest())),
            )
            .map_err(|e| self.db_failed(e))?;
        let computed = ComputedShares::compute(&self.share, &admitted(&judged, &pre))
            .map_err(|e| ApiError::internal("computing v2 shares", e))?;

        // Under the lock: cancellation and the limit again, then log.
        let mut db = lock(&self.db);
        if let Err(c) = self.check_chain(warrant.payload()) {
            let r = Refusal::new(ReasonCode::Cancelled, c.to_string());
            return self.refuse_all_v2(&mut db, wd, request, n, r, time);
        }
        let refs: Vec<Result<&ValidCiphertextV2, ItemRefusal>> = judged
            .iter()
            .map(|j| j.as_ref().map_err(Clone::clone))
            .collect();
        let (decisions, counter) = self.admit_items(&db, &warrant, refs, |v| v.digest())?;
        let admit: Vec<bool> = decisions.iter().map(Result::is_ok).collect();
        let released = admitted(&judged, &admit);
        let shares = if released.iter().map(|(p, _)| *p).eq(computed.positions()) {
            computed
        } else {
            // The limit (or a concurrent release of the same message) changed the set: keep
            // exactly these items' shares; what the limit refuses is dropped.
            computed
                .select(&released)
                .map_err(|e| ApiError::internal("computing v2 shares", e))?
        };
        let digests: std::collections::HashMap<u32, Digest32> =
            shares.share_digests(&wd).into_iter().collect();

        let inv = warrant.investigator().key_id();
        let mut log = self.begin_release(&db, &warrant, &counter, wd, envelope_json, time)?;
        let mut results = Vec::with_capacity(decisions.len());
        for (pos, d) in decisions.into_iter().enumerate() {
            match d {
                Ok(v) => {
                    let share = digests.get(&(pos as u32)).copied().ok_or_else(|| {
                        ApiError::internal("computing a v2 answer", "missing share")
                    })?;
                    let seq = log.release(v.digest(), share, || {
                        SealedDocument::HeaderV2(v.ciphertext().clone())
                    });
                    results.push(ReleaseResultV2::Released { leaf_index: seq });
                }
                Err(r) => {
                    let seq = log.refuse(&r);
                    results.push(ReleaseResultV2::refused(r, Some(seq)));
                }
            }
        }
        // Log first: nothing leaves before this returns.
        let entries = self.end_release(&mut db, log, &warrant)?;
        drop(db);
        // The release gate (issue 17): its evidence follows the response's signature.
        let witnessed = self.witness_release(wd, &entries)?;
        // The answer's one proof and its boxes, after the log, the lock and the gate: nothing
        // has left yet (an error here releases nothing; the log then shows a release the
        // investigator never received, which fails closed).
        let answer = if shares.is_empty() {
            None
        } else {
            let inv = warrant.investigator();
            Some(
                match self.fault {
                    None => shares.seal(&wd, &request, inv, &mut rand::rng()),
                    Some(f) => f.answer_v2(&self.share, &shares, &wd, &request, inv),
                }
                .map_err(|e| ApiError::internal("computing a v2 answer", e))?,
            )
        };
        Ok(ReleaseResponseV2 {
            trustee: self.index(),
            set_id: self.set.id(),
            warrant: wd,
            request,
            investigator: Some(inv),
            time,
            results,
            answer: answer.map(|a| a.answer),
            signature: Vec::new(),
            witnessed,
        }
        .sign(&self.signing))
    }

    /// The warrant itself is refused: one refusal entry for the whole request (request digest
    /// R and the number of items), every item refused with the same code.
    fn refuse_all_v2(
        &self,
        db: &mut Db,
        wd: WarrantDigest,
        request: Digest32,
        n: usize,
        refusal: Refusal,
        time: Timestamp,
    ) -> Result<ReleaseResponseV2, ApiError> {
        let (seq, code) = self.log_request_refusal(db, wd, request, n, &refusal, time)?;
        let results = (0..n)
            .map(|_| {
                ReleaseResultV2::refused(
                    ItemRefusal {
                        ciphertext: None,
                        code,
                        detail: refusal.detail.clone(),
                    },
                    Some(seq),
                )
            })
            .collect();
        Ok(ReleaseResponseV2 {
            trustee: self.index(),
            set_id: self.set.id(),
            warrant: wd,
            request,
            investigator: None,
            time,
            results,
            answer: None,
            signature: Vec::new(),
            witnessed: None,
        }
        .sign(&self.signing))
    }
}

/// Does the client ask for the JSON view (`?format=json`, or `Accept: application/json`
/// without the binary type)?
fn wants_json(req: &Request) -> bool {
    let query = req.uri().query().unwrap_or_default();
    if query.split('&').any(|kv| kv == "format=json") {
        return true;
    }
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json") && !a.contains(CONTENT_TYPE_V2))
}

pub(super) async fn h_release_v2(
    State(node): State<Shared>,
    req: Request,
) -> Result<Response, ApiError> {
    let (auth, pq) = super::auth_header(req.headers(), req.uri());
    let json = wants_json(&req);
    let body = read_body(req, CONTENT_TYPE_V2, &node.limits).await?;
    let resp = blocking(&node, move |n| n.release_v2(auth.as_deref(), &pq, &body)).await?;
    let (bytes, ctype) = if json {
        (
            resp.to_json_view().to_string().into_bytes(),
            "application/json",
        )
    } else {
        (resp.to_bytes(), CONTENT_TYPE_V2)
    };
    let mut r = Response::new(Body::from(bytes));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    Ok(r)
}
