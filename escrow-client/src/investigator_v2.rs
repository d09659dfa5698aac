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
    MessageOutcome, Outcome, Progress, Retrieval, RetrievalStats, Strategy, TrusteeRow,
};
use escrow_core::keys::PrivateKey;
use escrow_core::message::SealedMessage;
use escrow_core::trustee::TrusteeSet;
use escrow_core::v2::{
    MailboxMessage, ReleaseRequestV2, ReleaseResponseV2, ReleaseResultV2, SealedMessageV2,
    ValidCiphertextV2, VerifiedShareV2, check_batch, combine_v2,
};
use escrow_core::warrant::WarrantEnvelope;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

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
    sent: u64,
    received: u64,
}

fn describe(e: &crate::ClientError) -> String {
    match e {
        crate::ClientError::Status {
            status,
            code,
            message,
            ..
        } => format!("HTTP {status}: {code}: {message}"),
        crate::ClientError::Unreachable { detail, .. } => format!("unreachable: {detail}"),
        other => other.to_string(),
    }
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

/// Ask one trustee for every batch (each a list of indices into `valid`); stop at the first
/// batch it cannot answer validly.
fn ask_trustee(
    client: &NodeClient,
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    valid: &[ValidCiphertextV2],
    batches: &[Vec<usize>],
    progress: &dyn Progress,
) -> Answers {
    let (sent0, received0) = (client.traffic().sent(), client.traffic().received());
    let mut rep = Answers {
        url: client.url().to_string(),
        ..Default::default()
    };
    let wd = env.digest();
    for batch in batches {
        let cts: Vec<ValidCiphertextV2> = batch
            .iter()
            .filter_map(|&i| valid.get(i).cloned())
            .collect();
        let body = ReleaseRequestV2::new(env, cts.iter().map(ValidCiphertextV2::ciphertext));
        let resp = match client.release_v2(&body.to_bytes(), key, cts.len()) {
            Ok(r) => r,
            Err(e) => {
                rep.failure = Some(describe(&e));
                break;
            }
        };
        if rep.index.is_some_and(|i| i != resp.trustee) {
            rep.failure = Some(format!(
                "answered as trustee {} after answering as {:?}",
                resp.trustee, rep.index
            ));
            break;
        }
        match resp.open(key, set, &wd, &cts) {
            Ok(opened) => {
                rep.index = Some(resp.trustee);
                for s in opened.map(|a| a.shares).unwrap_or_default() {
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
                progress.inc(batch.len() as u64);
            }
            Err(e) => {
                // A signed answer that fails (its batched proof, a box, the positions): every
                // share in it is refused and the trustee is named. An answer that is not
                // validly signed names the URL only.
                if resp.verify(set).is_ok() {
                    rep.index = Some(resp.trustee);
                    rep.refused_answer = Some((batch.clone(), e.to_string()));
                }
                rep.failure = Some(format!("answer rejected: {e}"));
                break;
            }
        }
    }
    rep.sent = client.traffic().sent().saturating_sub(sent0);
    rep.received = client.traffic().received().saturating_sub(received0);
    rep
}

/// Ask `clients` (one thread each) for the shares of `which` (indices into `valid`).
#[allow(clippy::too_many_arguments)]
fn ask_all(
    clients: &[NodeClient],
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    valid: &[ValidCiphertextV2],
    which: &[usize],
    batch: usize,
    progress: &dyn Progress,
    what: &str,
) -> Vec<Answers> {
    let batches: Vec<Vec<usize>> = which.chunks(batch.max(1)).map(<[_]>::to_vec).collect();
    progress.start(what, (which.len() * clients.len()) as u64);
    let answers = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .map(|c| {
                let batches = &batches;
                s.spawn(move || ask_trustee(c, set, env, key, valid, batches, progress))
            })
            .collect();
        handles
            .into_iter()
            .zip(clients)
            .map(|(h, c)| {
                h.join().unwrap_or_else(|_| Answers {
                    url: c.url().to_string(),
                    failure: Some("internal error while asking this trustee".into()),
                    ..Default::default()
                })
            })
            .collect()
    });
    progress.finish();
    answers
}

/// What was gathered so far, per valid ciphertext (index into the valid list); one voice per
/// trustee index.
#[derive(Default)]
struct Gathered {
    shares: BTreeMap<usize, Vec<VerifiedShareV2>>,
    refusals: BTreeMap<usize, Vec<(u16, String)>>,
    rejected: BTreeMap<usize, Vec<(u16, String)>>,
    counted: BTreeSet<u16>,
    rows: Vec<TrusteeRow>,
    receipts: String,
    sent: u64,
    received: u64,
}

impl Gathered {
    fn add(&mut self, answers: Vec<Answers>) {
        for r in answers {
            self.sent += r.sent;
            self.received += r.received;
            let mut row = TrusteeRow {
                url: r.url.clone(),
                trustee: r.index,
                status: "failed",
                released: 0,
                refused: BTreeMap::new(),
                failure: r.failure.clone(),
            };
            if r.index.is_some_and(|i| !self.counted.insert(i)) {
                row.status = "ignored";
                self.rows.push(row);
                continue;
            }
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
            row.status = match (row.released > 0, !row.refused.is_empty()) {
                (true, false) => "released",
                (false, true) => "refused",
                (true, true) => "released-some",
                (false, false) => "failed",
            };
            self.rows.push(row);
        }
    }

    /// Combine and decrypt message `m` (valid index `pos`).
    fn combine(
        &self,
        set: &TrusteeSet,
        m: &SealedMessageV2,
        ct: &ValidCiphertextV2,
        pos: usize,
    ) -> Outcome {
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
        match combine_v2(set, ct, &got) {
            Ok((mk, used)) => match m.decrypt_body(&mk) {
                Ok(opened) => Outcome::Read {
                    used,
                    rejected,
                    body: opened.body,
                },
                Err(e) => not_read(e.to_string()),
            },
            Err(e) => {
                let mut why = e.to_string();
                if !rejected.is_empty() {
                    let names: Vec<String> = rejected
                        .iter()
                        .map(|(i, e)| format!("trustee {i}: {e}"))
                        .collect();
                    why = format!("{why}; rejected: {}", names.join("; "));
                }
                not_read(why)
            }
        }
    }
}

/// Ask the trustees for the shares of the v2 messages `selected` under `env` with
/// `POST /v2/release`, verify every answer (one batched proof each), combine and decrypt.
///
/// With [`Strategy::threshold_first`], only the first k clients are asked at first, and the
/// others only for the messages that did not decrypt. The receipts are one line per signed
/// answer ([`escrow_core::v2::release::ReceiptV2`]).
pub fn retrieve_v2(
    clients: &[NodeClient],
    set: &TrusteeSet,
    env: &WarrantEnvelope,
    key: &PrivateKey,
    selected: &[SealedMessageV2],
    strategy: Strategy,
    progress: &dyn Progress,
) -> Retrieval {
    let k = usize::from(set.threshold());
    let (first, rest) = if strategy.threshold_first && clients.len() > k {
        clients.split_at(k)
    } else {
        (clients, &[][..])
    };
    let t_combine = Instant::now();
    // Every header checked, in batches spread over the cores.
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
    // The valid headers, and for each selected message its index among them.
    let mut valid = Vec::new();
    let mut slot: Vec<Result<usize, String>> = Vec::with_capacity(checked.len());
    for c in checked {
        slot.push(c.map(|v| {
            valid.push(v);
            valid.len() - 1
        }));
    }
    let mut combine_s = t_combine.elapsed().as_secs_f64();
    let all: Vec<usize> = (0..valid.len()).collect();

    let t_ask = Instant::now();
    let answers = ask_all(
        first,
        set,
        env,
        key,
        &valid,
        &all,
        strategy.batch,
        progress,
        "asking trustees",
    );
    let mut ask_s = t_ask.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut g = Gathered::default();
    g.add(answers);
    let outcome_of = |g: &Gathered, i: usize| -> Outcome {
        match (slot.get(i), selected.get(i)) {
            (Some(Ok(pos)), Some(m)) => match valid.get(*pos) {
                Some(ct) => g.combine(set, m, ct, *pos),
                None => Outcome::NotRead {
                    why: "escrow header not checked".into(),
                    refusals: vec![],
                    rejected: vec![],
                },
            },
            (Some(Err(why)), _) => Outcome::NotRead {
                why: why.clone(),
                refusals: vec![],
                rejected: vec![],
            },
            _ => Outcome::NotRead {
                why: "escrow header not checked".into(),
                refusals: vec![],
                rejected: vec![],
            },
        }
    };
    let mut outcomes: Vec<Outcome> = (0..selected.len())
        .into_par_iter()
        .map(|i| outcome_of(&g, i))
        .collect();
    combine_s += t.elapsed().as_secs_f64();

    let missing: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(i, o)| {
            matches!(o, Outcome::NotRead { .. }) && matches!(slot.get(*i), Some(Ok(_)))
        })
        .map(|(i, _)| i)
        .collect();
    if !rest.is_empty() && !missing.is_empty() {
        let which: Vec<usize> = missing
            .iter()
            .filter_map(|&i| slot.get(i).and_then(|s| s.as_ref().ok().copied()))
            .collect();
        let t = Instant::now();
        let more = ask_all(
            rest,
            set,
            env,
            key,
            &valid,
            &which,
            strategy.batch,
            progress,
            "asking the other trustees",
        );
        ask_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        g.add(more);
        let again: Vec<Outcome> = missing.par_iter().map(|&i| outcome_of(&g, i)).collect();
        for (&i, o) in missing.iter().zip(again) {
            if let Some(s) = outcomes.get_mut(i) {
                *s = o;
            }
        }
        combine_s += t.elapsed().as_secs_f64();
    }

    let mut bad_shares = BTreeMap::new();
    for o in &outcomes {
        let rejected = match o {
            Outcome::Read { rejected, .. } | Outcome::NotRead { rejected, .. } => rejected,
        };
        for (i, e) in rejected {
            bad_shares.entry(*i).or_insert_with(|| e.clone());
        }
    }
    let outcomes = outcomes
        .into_iter()
        .zip(selected)
        .map(|(outcome, m)| MessageOutcome {
            id: m.id.clone(),
            ciphertext: m.escrow.digest(),
            outcome,
        })
        .collect();
    Retrieval {
        outcomes,
        trustees: g.rows,
        bad_shares,
        receipts: g.receipts,
        stats: RetrievalStats {
            ask_s,
            combine_s,
            request_bytes: g.sent,
            response_bytes: g.received,
        },
    }
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
    let empty = || Retrieval {
        outcomes: Vec::new(),
        trustees: Vec::new(),
        bad_shares: BTreeMap::new(),
        receipts: String::new(),
        stats: RetrievalStats::default(),
    };
    let a = if v1.is_empty() {
        empty()
    } else {
        crate::investigator::retrieve(clients, set, env, key, v1, strategy, progress)
    };
    let b = if v2.is_empty() {
        empty()
    } else {
        retrieve_v2(clients, set, env, key, v2, strategy, progress)
    };
    let mut rows: Vec<TrusteeRow> = a.trustees;
    for r in b.trustees {
        match rows.iter_mut().find(|x| x.url == r.url) {
            None => rows.push(r),
            Some(x) => {
                x.trustee = x.trustee.or(r.trustee);
                x.released += r.released;
                for (c, n) in r.refused {
                    *x.refused.entry(c).or_default() += n;
                }
                x.failure = x.failure.take().or(r.failure);
                x.status = match (x.status, r.status) {
                    ("ignored", _) | (_, "ignored") => "ignored",
                    _ => match (x.released > 0, !x.refused.is_empty()) {
                        (true, false) => "released",
                        (false, true) => "refused",
                        (true, true) => "released-some",
                        (false, false) => "failed",
                    },
                };
            }
        }
    }
    let mut bad_shares = a.bad_shares;
    for (i, e) in b.bad_shares {
        bad_shares.entry(i).or_insert(e);
    }
    let mut outcomes = a.outcomes;
    outcomes.extend(b.outcomes);
    let mut receipts = a.receipts;
    receipts.push_str(&b.receipts);
    MixedRetrieval {
        retrieval: Retrieval {
            outcomes,
            trustees: rows,
            bad_shares,
            receipts,
            stats: RetrievalStats {
                ask_s: a.stats.ask_s + b.stats.ask_s,
                combine_s: a.stats.combine_s + b.stats.combine_s,
                request_bytes: a.stats.request_bytes + b.stats.request_bytes,
                response_bytes: a.stats.response_bytes + b.stats.response_bytes,
            },
        },
    }
}
