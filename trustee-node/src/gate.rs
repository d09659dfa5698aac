//! The release gate (issue 17, `docs/witness.md` §Release gate): when the policy names
//! witnesses, shares leave the node only under a checkpoint that covers their release entries
//! and that a quorum of those witnesses cosigned (C2SP tlog-witness `add-checkpoint`).
//!
//! One cosigning round at a time: a round signs a checkpoint of the whole log as committed,
//! sends it with a consistency proof from the size each witness last cosigned to every witness
//! with a URL (in parallel, each answer bounded by the gate's timeout; a 409 answer tells the
//! held size and is retried once with a proof from it), and keeps the cosigned note when the
//! quorum is met. A release whose entries an earlier round already covers reuses that note.

use escrow_core::audit::witness::{GatePolicy, add_cosignatures, note_body};
use escrow_core::audit::{LogKey, TreeHead};
use escrow_core::codec::{Digest32, b64_encode};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Default bound on one witness's answer (connect, send, read). An auditing witness judges
/// the entries since its last round before it answers: on the 2-core machine of
/// `docs/experiments.md` §6.2, with five nodes, the investigator and the witnesses on it, a
/// round of a few thousand entries took longer than the 5 s this was before.
pub const DEFAULT_WITNESS_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest witness answer read, bytes.
const MAX_ANSWER: u64 = 16 * 1024;

/// Why no quorum-cosigned checkpoint could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// Fewer witnesses than the quorum cosigned in time.
    #[error(
        "the witness quorum ({quorum}{auditing}) did not cosign the checkpoint of size {size}: cosigned by [{cosigned}]; {failures}"
    )]
    NoQuorum {
        /// Quorum.
        quorum: u16,
        /// ", an auditing witness required" or "".
        auditing: &'static str,
        /// Checkpoint size.
        size: u64,
        /// Witnesses that cosigned.
        cosigned: String,
        /// Why the others did not, one per witness.
        failures: String,
    },
    /// The node could not read or sign its own log.
    #[error("{0}")]
    Log(String),
}

/// The node's log as the gate reads it: its head and consistency proofs, computed from the
/// stored tiles in `O(log n)` reads (never every leaf hash).
pub trait LogView: Sync {
    /// The tree head of the log as committed now.
    fn current(&self) -> TreeHead;
    /// The consistency proof from the first `old` leaves to the first `new` leaves.
    fn consistency(&self, old: u64, new: u64) -> Result<Vec<Digest32>, String>;
}

/// The gate of one node.
pub struct Gate {
    policy: GatePolicy,
    agent: ureq::Agent,
    /// Size of the checkpoint each witness last cosigned for this log, as far as the node knows.
    held: Mutex<HashMap<String, u64>>,
    /// The latest quorum-cosigned note and its size.
    latest: Mutex<Option<(u64, String)>>,
    /// One round at a time.
    round: Mutex<()>,
}

impl core::fmt::Debug for Gate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Gate {{ quorum: {} }}",
            self.policy.witnessing().quorum()
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Per witness (policy position): its answer lines and whether they hold a valid audit
/// statement (`Err`: why the statement did not verify), or why it did not cosign.
type Answers = Vec<(usize, Result<(String, Result<(), String>), String>)>;

/// One witness's answer to one `add-checkpoint`.
enum Answer {
    Cosigned(String),
    Held(u64),
    Failed(String),
}

impl Gate {
    /// A gate for `policy`'s witnesses, each answer bounded by `timeout`.
    pub fn new(policy: GatePolicy, timeout: Duration) -> Self {
        let cfg = ureq::Agent::config_builder()
            .timeout_global(Some(timeout.max(Duration::from_millis(100))))
            .http_status_as_error(false)
            .max_redirects(0)
            .build();
        Gate {
            policy,
            agent: ureq::Agent::new_with_config(cfg),
            held: Mutex::new(HashMap::new()),
            latest: Mutex::new(None),
            round: Mutex::new(()),
        }
    }

    /// A note of size ≥ `needed`, signed by `log_key` and cosigned by the quorum, and its size.
    /// `log` is the log as committed now.
    pub fn cosigned_covering(
        &self,
        needed: u64,
        log_key: &LogKey,
        log: &dyn LogView,
    ) -> Result<(u64, String), GateError> {
        let _round = lock(&self.round);
        if let Some((size, note)) = lock(&self.latest).clone()
            && size >= needed
        {
            return Ok((size, note));
        }
        let head = log.current();
        let note = log_key
            .sign(&head)
            .map_err(|e| GateError::Log(format!("signing the checkpoint: {e}")))?;
        let body = note_body(&note).map_err(|e| GateError::Log(e.to_string()))?;
        let answers: Answers = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .policy
                .witnessing()
                .witnesses()
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let note = &note;
                    s.spawn(move || {
                        let name = w.key.name();
                        let r = match &w.url {
                            None => Err("no URL in the policy".to_string()),
                            Some(url) => self.ask(name, url, note, log, head.size),
                        }
                        .and_then(|answer| {
                            // The first line counts only if it is a valid cosignature by that
                            // witness; an auditing witness's statement line follows it and
                            // counts for the policy's auditing witness only if it verifies
                            // under the policy's digest (as the investigator checks it).
                            let mut lines = answer.lines();
                            w.key
                                .verify_line(lines.next().unwrap_or_default(), body)
                                .map_err(|e| format!("invalid cosignature: {e}"))?;
                            let stated = if !w.auditing {
                                Ok(())
                            } else {
                                match lines.next() {
                                    None => Err("no statement line".to_string()),
                                    Some(l) => w
                                        .key
                                        .verify_statement(l, body, self.policy.policy_digest())
                                        .map(|_| ()),
                                }
                            };
                            Ok((answer, stated))
                        });
                        (i, r)
                    })
                })
                .collect();
            handles
                .into_iter()
                .enumerate()
                .map(|(i, h)| {
                    h.join()
                        .unwrap_or_else(|_| (i, Err("the request thread failed".into())))
                })
                .collect()
        });
        let witnessing = self.policy.witnessing();
        let mut lines = Vec::new();
        let mut cosigned = Vec::new();
        let mut stated = Vec::new();
        let mut failures = Vec::new();
        for (i, r) in answers {
            let Some(w) = witnessing.witnesses().get(i) else {
                continue;
            };
            let name = w.key.name().to_string();
            match r {
                Ok((line, statement)) => {
                    lock(&self.held).insert(name.clone(), head.size);
                    lines.push(line);
                    match statement {
                        Ok(()) if w.auditing => stated.push(name.clone()),
                        Ok(()) => {}
                        Err(e) => failures.push(format!(
                            "{name}: cosigned without a valid audit statement ({e})"
                        )),
                    }
                    cosigned.push(name);
                }
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
        if !witnessing.satisfied_by(
            cosigned.iter().map(String::as_str),
            stated.iter().map(String::as_str),
        ) {
            return Err(GateError::NoQuorum {
                quorum: witnessing.quorum(),
                auditing: if witnessing.auditing_required() {
                    ", an auditing witness required"
                } else {
                    ""
                },
                size: head.size,
                cosigned: cosigned.join(", "),
                failures: failures.join("; "),
            });
        }
        let full = add_cosignatures(&note, &lines);
        *lock(&self.latest) = Some((head.size, full.clone()));
        Ok((head.size, full))
    }

    /// `add-checkpoint` to one witness; after a 409 once more from the size it holds.
    fn ask(
        &self,
        name: &str,
        url: &str,
        note: &str,
        log: &dyn LogView,
        size: u64,
    ) -> Result<String, String> {
        let mut old = lock(&self.held).get(name).copied().unwrap_or(0);
        for _ in 0..2 {
            if old > size {
                return Err(format!(
                    "it holds a checkpoint of size {old}, larger than this log ({size})"
                ));
            }
            let proof = if old == 0 {
                Vec::new()
            } else {
                log.consistency(old, size)?
            };
            let mut body = format!("old {old}\n");
            for h in &proof {
                body.push_str(&b64_encode(h.as_bytes()));
                body.push('\n');
            }
            body.push('\n');
            body.push_str(note);
            match self.post(url, &body) {
                Answer::Cosigned(line) => return Ok(line),
                Answer::Held(h) if h != old => {
                    lock(&self.held).insert(name.to_string(), h);
                    old = h;
                }
                Answer::Held(h) => return Err(format!("409 conflict (it holds size {h})")),
                Answer::Failed(e) => return Err(e),
            }
        }
        Err("409 conflict twice".into())
    }

    fn post(&self, url: &str, body: &str) -> Answer {
        let target = format!("{}/add-checkpoint", url.trim_end_matches('/'));
        let mut resp = match self
            .agent
            .post(&target)
            .header("content-type", "text/plain; charset=utf-8")
            .send(body)
        {
            Ok(r) => r,
            Err(e) => return Answer::Failed(format!("unreachable: {e}")),
        };
        let status = resp.status().as_u16();
        let text = match resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
        {
            Ok(t) => t,
            Err(e) => return Answer::Failed(format!("unreadable answer: {e}")),
        };
        match status {
            200 if text.starts_with('\u{2014}')
                && (1..=2).contains(&text.lines().count())
                && text.lines().all(|l| l.starts_with('\u{2014}')) =>
            {
                Answer::Cosigned(text)
            }
            200 => Answer::Failed(
                "200 without one cosignature line (and at most one statement line)".into(),
            ),
            409 => match text.trim().parse() {
                Ok(h) => Answer::Held(h),
                Err(_) => Answer::Failed("409 without a held size".into()),
            },
            s => Answer::Failed(format!(
                "HTTP {s}: {}",
                text.trim().chars().take(300).collect::<String>()
            )),
        }
    }
}
