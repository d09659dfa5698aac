//! The investigator's side of a warrant with release protocol version 2 (`docs/protocol.md`
//! §15, `docs/api.md` §3.2): check every selected v2 message's escrow header in batches, ask
//! the trustees with binary `POST /v2/release` requests, check every signed answer (signature,
//! warrant and request digests, the released positions, the share boxes and the one batched
//! DLEQ proof per answer), combine any k verified shares and decrypt.
//!
//! An answer whose batched proof fails is refused whole and its trustee is named
//! ([`crate::investigator::Retrieval::bad_shares`]); the messages it covered are read from the
//! other trustees' shares when enough of them remain. The strategies are v1's
//! ([`Strategy`]): ask everyone at once, or the first k and the others only for what did not
//! decrypt.

use crate::NodeClient;
use crate::investigator::{
    Codec, MessageOutcome, Outcome, Progress, Retrieval, Sink, Strategy, Totals, TrusteeRow,
    Voices, describe, drive_selected, naming_rejected,
};
use escrow_core::codec::{CiphertextDigest, Digest32};
use escrow_core::keys::PrivateKey;
use escrow_core::message::SealedMessage;
use escrow_core::trustee::TrusteeSet;
use escrow_core::v2::{
    MailboxMessage, ReleaseRequestV2, ReleaseResponseV2, ReleaseResultV2, SealedMessageV2,
    ValidCiphertextV2, VerifiedShareV2, check_batch, combine_v2,
};
use escrow_core::warrant::WarrantEnvelope;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Ciphertexts checked per batch when the selected headers are spread over the cores.
const CHECK_CHUNK: usize = 256;

/// What one trustee answered, all batches (positions are indices into the valid list).
#[derive(Default)]
struct Answers {
    url: String,
    index: Option<u16>,
    /// Verified shares, by position.
    shares: Vec<(usize, VerifiedShareV2)>,
    /// Refusals: position, `code: detail`, code.
    refusals: Vec<(usize, String, String)>,
    /// The signed answers, one JSON view per line (with the wire bytes in hex).
    receipts: String,
    /// Positions covered by a signed answer that was refused whole, and why.
    refused_answer: Option<(Vec<usize>, String)>,
    failure: Option<String>,
}

/// The receipt line of a signed v2 response to a request of the items `ciphertexts`
/// ([`escrow_core::v2::release::ReceiptV2`]).
pub fn receipt_line(resp: &ReleaseResponseV2, ciphertexts: &[ValidCiphertextV2]) -> String {
    escrow_core::v2::release::ReceiptV2 {
        response: resp.clone(),
        ciphertexts: ciphertexts.iter().map(ValidCiphertextV2::digest).collect(),
    }
    .to_json_line()
}

pub use crate::investigator::PIPELINE_DEPTH;

/// What one batch got from one trustee.
enum BatchOutcome {
    /// A signed response that checked: the response, the request's items, the shares.
    Answered(
        ReleaseResponseV2,
        Vec<ValidCiphertextV2>,
        Vec<VerifiedShareV2>,
    ),
    /// A response that failed its check; with the response when it is validly signed.
    Rejected(Option<(ReleaseResponseV2, Vec<ValidCiphertextV2>)>, String),
    /// No usable response (unreachable, HTTP error, malformed).
    Failed(String),
}

/// Version 2's side of a retrieval ([`Codec`]): the selected messages, their escrow headers
/// checked in batches (the items asked for are indices into the valid ones), and what was
/// gathered so far, per valid ciphertext, one voice per trustee index.
struct V2<'a> {
    set: &'a TrusteeSet,
    env: &'a WarrantEnvelope,
    key: &'a PrivateKey,
    /// The window's messages.
    selected: Vec<&'a SealedMessageV2>,
    valid: Vec<ValidCiphertextV2>,
    /// For each selected message, its index among the valid headers (or why it is not valid).
    slot: Vec<Result<usize, String>>,
    shares: BTreeMap<usize, Vec<VerifiedShareV2>>,
    refusals: BTreeMap<usize, Vec<(u16, String)>>,
    rejected: BTreeMap<usize, Vec<(u16, String)>>,
    voices: Voices,
    receipts: String,
}

impl<'a> V2<'a> {
    /// Check the header of every message of the window `selected`, in batches spread over
    /// the cores.
    fn new(
        set: &'a TrusteeSet,
        env: &'a WarrantEnvelope,
        key: &'a PrivateKey,
        selected: Vec<&'a SealedMessageV2>,
    ) -> Self {
        let checked: Vec<Result<ValidCiphertextV2, String>> = selected
            .par_chunks(CHECK_CHUNK)
            .flat_map_iter(|chunk| {
                let cts: Vec<_> = chunk.iter().map(|m| m.escrow.clone()).collect();
                check_batch(set, &cts)
                    .into_iter()
                    .zip(chunk)
                    .map(|(r, m)| {
                        r.map_err(|e| format!("escrow header: {e}")).and_then(|v| {
                            m.check_structure()
                                .map(|()| v)
                                .map_err(|e| format!("escrow header: {e}"))
                        })
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut valid = Vec::new();
        let mut slot: Vec<Result<usize, String>> = Vec::with_capacity(checked.len());
        for c in checked {
            slot.push(c.map(|v| {
                valid.push(v);
                valid.len() - 1
            }));
        }
        V2 {
            set,
            env,
            key,
            selected,
            valid,
            slot,
            shares: BTreeMap::new(),
            refusals: BTreeMap::new(),
            rejected: BTreeMap::new(),
            voices: Voices::default(),
            receipts: String::new(),
        }
    }

    /// Combine and decrypt message `m` (valid index `pos`).
    fn combine_one(&self, m: &SealedMessageV2, ct: &ValidCiphertextV2, pos: usize) -> Outcome {
        let got: Vec<&VerifiedShareV2> = self
            .shares
            .get(&pos)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let rejected = self.rejected.get(&pos).cloned().unwrap_or_default();
        let not_read = |why: String| Outcome::NotRead {
            why,
            refusals: self.refusals.get(&pos).cloned().unwrap_or_default(),
            rejected: rejected.clone(),
        };
        if got.is_empty() && rejected.is_empty() {
            return not_read("no trustee released a share".into());
        }
        match combine_v2(self.set, ct, &got) {
            Ok((mk, used)) => match m.decrypt_body(&mk) {
                Ok(opened) => Outcome::Read {
                    used,
                    rejected,
                    body: opened.body,
                },
                Err(e) => not_read(e.to_string()),
            },
            Err(e) => not_read(naming_rejected(e.to_string(), &rejected)),
        }
    }

    /// Ask one trustee for one batch (indices into the valid headers) and check its answer.
    fn ask_batch(
        &self,
        client: &NodeClient,
        wd: &escrow_core::codec::WarrantDigest,
        batch: &[usize],
    ) -> BatchOutcome {
        let cts: Vec<ValidCiphertextV2> = batch
            .iter()
            .filter_map(|&i| self.valid.get(i).cloned())
            .collect();
        let body = ReleaseRequestV2::for_checked(self.env, &cts);
        let resp = match client.release_v2(&body.to_bytes(), self.key, cts.len()) {
            Ok(r) => r,
            Err(e) => return BatchOutcome::Failed(describe(&e)),
        };
        // The investigator's check (issue 17): under a release gate, an answer that releases
        // anything is used only if its signature, then its witnessed evidence (cosigned
        // checkpoint, quorum, inclusion proofs) check, before any share is opened.
        let logged = match self.check_gate(client, &resp, &cts) {
            Ok(l) => l,
            Err((signed, why)) => {
                return BatchOutcome::Rejected(signed.then_some((resp, cts)), why);
            }
        };
        match resp.open(self.key, self.set, wd, &cts) {
            Ok(opened) => {
                let shares = opened.map(|a| a.shares).unwrap_or_default();
                // Each share must be the one its witnessed release entry records.
                if let Some(l) = &logged
                    && let Some(s) = shares
                        .iter()
                        .find(|s| l.get(&s.ciphertext) != Some(&s.share_digest(wd)))
                {
                    let why = format!(
                        "trustee {}: the share of item {} is not the one its witnessed release entry records; none of its shares is used",
                        resp.trustee, s.position
                    );
                    return BatchOutcome::Rejected(Some((resp, cts)), why);
                }
                BatchOutcome::Answered(resp, cts, shares)
            }
            // A signed answer that fails (its batched proof, a box, the positions): every
            // share in it is refused and the trustee is named. An answer that is not validly
            // signed names the URL only.
            Err(e) => {
                let signed = resp.verify(self.set).is_ok().then_some((resp, cts));
                BatchOutcome::Rejected(signed, e.to_string())
            }
        }
    }

    /// The release gate's check of one answer ([`crate::GateCheck`], `check_release_v2`):
    /// nothing to check without a gate or without a released item; otherwise the answer's
    /// signature, then its evidence. The share digest each witnessed entry records, by
    /// ciphertext; or (whether the answer is validly signed, why it is refused).
    fn check_gate(
        &self,
        client: &NodeClient,
        resp: &ReleaseResponseV2,
        cts: &[ValidCiphertextV2],
    ) -> Result<Option<BTreeMap<CiphertextDigest, Digest32>>, (bool, String)> {
        let Some(gate) = client.gate_check() else {
            return Ok(None);
        };
        if !resp
            .results
            .iter()
            .any(|r| matches!(r, ReleaseResultV2::Released { .. }))
        {
            return Ok(None);
        }
        resp.verify(self.set).map_err(|e| (false, e.to_string()))?;
        let items: Vec<CiphertextDigest> = cts.iter().map(ValidCiphertextV2::digest).collect();
        escrow_core::audit::witness::check_release_v2(resp, &items, &gate.log_key, &gate.policy)
            .map(|c| Some(c.shares))
            .map_err(|e| (true, format!("{e}; none of its shares is used")))
    }

    /// The outcome of selected message `i`.
    fn outcome(&self, i: usize) -> Outcome {
        let not_read = |why: String| Outcome::NotRead {
            why,
            refusals: vec![],
            rejected: vec![],
        };
        match (self.slot.get(i), self.selected.get(i).copied()) {
            (Some(Ok(pos)), Some(m)) => match self.valid.get(*pos) {
                Some(ct) => self.combine_one(m, ct, *pos),
                None => not_read("escrow header not checked".into()),
            },
            (Some(Err(why)), _) => not_read(why.clone()),
            _ => not_read("escrow header not checked".into()),
        }
    }
}

impl Codec for V2<'_> {
    type Answers = Answers;

    /// Only messages whose header is valid are asked for.
    fn items(&self, which: &[usize]) -> Vec<usize> {
        which
            .iter()
            .filter_map(|&i| self.slot.get(i).and_then(|s| s.as_ref().ok().copied()))
            .collect()
    }

    fn retry(&self, i: usize) -> bool {
        matches!(self.slot.get(i), Some(Ok(_)))
    }

    /// Every batch asked of one trustee, up to [`PIPELINE_DEPTH`] requests in flight (no new
    /// batch is sent after one it could not answer validly); every answer that came back is
    /// checked on its own and used, in batch order; the first failure is the row's failure.
    fn ask(&self, client: &NodeClient, batches: &[Vec<usize>], progress: &dyn Progress) -> Answers {
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let mut rep = Answers {
            url: client.url().to_string(),
            ..Default::default()
        };
        let wd = self.env.digest();
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let slots: Vec<Mutex<Option<BatchOutcome>>> =
            batches.iter().map(|_| Mutex::new(None)).collect();
        // On the retrieval's asking threads when called from them (investigator::drive).
        rayon::scope(|s| {
            for _ in 0..PIPELINE_DEPTH.min(batches.len()) {
                s.spawn(|_| {
                    while !stop.load(Ordering::Relaxed) {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        let (Some(batch), Some(slot)) = (batches.get(b), slots.get(b)) else {
                            break;
                        };
                        let got = self.ask_batch(client, &wd, batch);
                        match &got {
                            BatchOutcome::Answered(..) => progress.inc(batch.len() as u64),
                            _ => stop.store(true, Ordering::Relaxed),
                        }
                        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(got);
                    }
                });
            }
        });
        let fail = |rep: &mut Answers, why: String| {
            rep.failure.get_or_insert(why);
        };
        for (slot, batch) in slots.into_iter().zip(batches) {
            let got = slot.into_inner().unwrap_or_else(|p| p.into_inner());
            let (resp, cts, shares) = match got {
                Some(BatchOutcome::Answered(resp, cts, shares)) => (resp, cts, shares),
                Some(BatchOutcome::Rejected(signed, why)) => {
                    if let Some((resp, cts)) = signed
                        && rep.index.is_none_or(|i| i == resp.trustee)
                    {
                        rep.index = Some(resp.trustee);
                        let (positions, _) = rep
                            .refused_answer
                            .get_or_insert_with(|| (Vec::new(), why.clone()));
                        positions.extend_from_slice(batch);
                        // Still a signed receipt: the trustee answered (and logged) this request.
                        rep.receipts.push_str(&receipt_line(&resp, &cts));
                        rep.receipts.push('\n');
                    }
                    fail(&mut rep, format!("answer rejected: {why}"));
                    continue;
                }
                Some(BatchOutcome::Failed(why)) => {
                    fail(&mut rep, why);
                    continue;
                }
                // Not sent: another batch had failed.
                None => continue,
            };
            if let Some(why) = crate::investigator::switched_trustee(rep.index, resp.trustee) {
                fail(&mut rep, why);
                continue;
            }
            rep.index = Some(resp.trustee);
            for s in shares {
                if let Some(&pos) = batch.get(s.position as usize) {
                    rep.shares.push((pos, s));
                }
            }
            for (j, r) in resp.results.iter().enumerate() {
                if let (ReleaseResultV2::Refused { code, detail, .. }, Some(&pos)) =
                    (r, batch.get(j))
                {
                    rep.refusals
                        .push((pos, format!("{code}: {detail}"), code.to_string()));
                }
            }
            rep.receipts.push_str(&receipt_line(&resp, &cts));
            rep.receipts.push('\n');
        }
        rep
    }

    crate::investigator::lost_answers!(Answers);

    fn add(&mut self, answers: Vec<Answers>) {
        for r in answers {
            let Some(mut row) = self.voices.admit(&r.url, r.index, r.failure) else {
                continue;
            };
            let who = r.index.unwrap_or(0);
            self.receipts.push_str(&r.receipts);
            row.released = r.shares.len() as u64;
            for (pos, s) in r.shares {
                self.shares.entry(pos).or_default().push(s);
            }
            for (pos, text, code) in r.refusals {
                *row.refused.entry(code).or_default() += 1;
                self.refusals.entry(pos).or_default().push((who, text));
            }
            if let Some((positions, why)) = r.refused_answer {
                for pos in positions {
                    self.rejected
                        .entry(pos)
                        .or_default()
                        .push((who, why.clone()));
                }
            }
            self.voices.push(row);
        }
    }

    fn combine(&self, which: &[usize]) -> Vec<MessageOutcome> {
        which
            .par_iter()
            .filter_map(|&i| {
                let m = self.selected.get(i).copied()?;
                // The checked header's digest, computed once; an unchecked one's here.
                let digest = match self.slot.get(i) {
                    Some(Ok(j)) => self.valid.get(*j).map(ValidCiphertextV2::digest),
                    _ => None,
                };
                Some(MessageOutcome {
                    id: m.id.clone(),
                    ciphertext: digest.unwrap_or_else(|| m.escrow.digest()),
                    outcome: self.outcome(i),
                })
            })
            .collect()
    }

    fn finish(self) -> (Vec<TrusteeRow>, String) {
        (self.voices.rows, self.receipts)
    }
}

/// Ask the trustees for the shares of the v2 messages `selected` under `env` with
/// `POST /v2/release`, verify every answer (one batched proof each), combine and decrypt.
///
/// With [`Strategy::threshold_first`], only the first k clients are asked at first, and the
/// others only for the messages that did not decrypt. The receipts are one line per signed
/// answer ([`escrow_core::v2::release::ReceiptV2`]). Every outcome is kept until the end; a
/// large retrieval streams them instead ([`retrieve_any_streamed`]).
pub fn retrieve_v2(
    clients: &[NodeClient],
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    selected: &[SealedMessageV2],
    strategy: Strategy,
    progress: &dyn Progress,
) -> Retrieval {
    let refs: Vec<&SealedMessageV2> = selected.iter().collect();
    collect(|sink| {
        drive_selected(clients, set, &refs, strategy, progress, sink, |m| {
            V2::new(set, env, key, m)
        })
    })
}

/// A retrieval whose outcomes and receipts are kept (the sink never fails).
fn collect(run: impl FnOnce(&mut Sink<'_>) -> std::io::Result<Totals>) -> Retrieval {
    let mut outcomes = Vec::new();
    let mut receipts = String::new();
    let totals = run(&mut |o, r| {
        outcomes.extend(o);
        receipts.push_str(&r);
        Ok(())
    })
    .unwrap_or_default();
    Retrieval::collected(totals, outcomes, receipts)
}

/// Check one mailbox message of either version before it is used: its id is the label's
/// message id and a safe file name (as [`crate::investigator::check_message`]).
pub fn check_any_message(m: &MailboxMessage) -> Result<(), String> {
    match m {
        MailboxMessage::V1(m) => crate::investigator::check_message(m),
        MailboxMessage::V2(m) => {
            m.escrow
                .label
                .check()
                .map_err(|e| format!("message {:?}: {e}", m.id))?;
            m.check_structure().map_err(|e| e.to_string())?;
            crate::investigator::output_name(&m.id).map(|_| ())
        }
        _ => Err("a mailbox line of a format version this client does not read".into()),
    }
}

/// A retrieval of a mailbox holding messages of both versions.
pub struct MixedRetrieval {
    /// Outcomes (the version 1 messages first, then version 2), trustee rows merged by URL,
    /// bad trustees, time and bytes of both; the receipts of both versions, one per line.
    pub retrieval: Retrieval,
}

/// Retrieve the version 1 messages with `POST /v1/release` and the version 2 messages with
/// `POST /v2/release`, from the same trustees, and merge the results.
#[allow(clippy::too_many_arguments)]
pub fn retrieve_any(
    clients: &[NodeClient],
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    v1: &[SealedMessage],
    v2: &[SealedMessageV2],
    strategy: Strategy,
    progress: &dyn Progress,
) -> MixedRetrieval {
    let v1: Vec<&SealedMessage> = v1.iter().collect();
    let v2: Vec<&SealedMessageV2> = v2.iter().collect();
    MixedRetrieval {
        retrieval: collect(|sink| {
            retrieve_any_streamed(clients, set, env, key, &v1, &v2, strategy, progress, sink)
        }),
    }
}

/// [`retrieve_any`], window by window: the version 1 messages, then the version 2 ones, each
/// window's outcomes and receipts handed to `sink` as soon as it is combined
/// ([`crate::investigator::window_size`]), so that what is held does not grow with the number
/// of messages. The trustee rows of both versions are merged by URL.
#[allow(clippy::too_many_arguments)]
pub fn retrieve_any_streamed(
    clients: &[NodeClient],
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    v1: &[&SealedMessage],
    v2: &[&SealedMessageV2],
    strategy: Strategy,
    progress: &dyn Progress,
    sink: &mut Sink<'_>,
) -> std::io::Result<Totals> {
    let mut totals = Totals::default();
    if !v1.is_empty() {
        totals.merge(crate::investigator::retrieve_streamed(
            clients, set, env, key, v1, strategy, progress, sink,
        )?);
    }
    if !v2.is_empty() {
        totals.merge(drive_selected(
            clients,
            set,
            v2,
            strategy,
            progress,
            sink,
            |m| V2::new(set, env, key, m),
        )?);
    }
    Ok(totals)
}
