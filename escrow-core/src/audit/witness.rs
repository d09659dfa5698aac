//! The release gate's checks (`docs/witness.md` §Release gate): a checkpoint cosigned by the
//! policy's witness quorum ([`verify_witnessed`], [`verify_gate`]) and a release response's
//! evidence against it ([`check_release`], [`check_release_v2`]). The witness keys, the
//! cosignature format, the policy's quorum and the evidence's wire types are
//! [`crate::witnessing`]'s (a leaf, so the policy and the release answers name them without
//! importing the audit), re-exported here under their old paths.

use super::checkpoint::{SignedCheckpoint, verify_checkpoint};
pub use crate::witnessing::{
    AUDIT_STATEMENT_V1, COSIGNATURE_V1_TYPE, Inclusion, MAX_WITNESSES, PolicyWitness,
    WitnessCheckError, WitnessFile, WitnessPolicy, WitnessVerifier, Witnessed,
    audit_statement_key_id, audit_statement_message, cosignature_key_id, cosigned_message,
};
use crate::witnessing::{NOT_A_STATEMENT, NOT_THIS_WITNESS};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// A policy's release gate: its witness quorum ([`WitnessPolicy`]) and the digest of the whole
/// policy, under which a required auditing witness's statement must verify. What the node's
/// gate, the investigator's check and the auditor's re-check of receipts are given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatePolicy {
    witnessing: WitnessPolicy,
    policy_digest: crate::codec::Digest32,
}

impl GatePolicy {
    /// The gate of a policy whose witness section is `witnessing` and whose digest
    /// (`Policy::digest`) is `policy_digest`.
    pub fn new(witnessing: WitnessPolicy, policy_digest: crate::codec::Digest32) -> Self {
        GatePolicy {
            witnessing,
            policy_digest,
        }
    }

    /// The release gate of `policy` (`None`: the policy has no `witnessing` section).
    pub fn of(policy: &crate::warrant::Policy) -> Option<Self> {
        policy
            .witnessing()
            .map(|w| GatePolicy::new(w.clone(), policy.digest()))
    }

    /// The witnesses and the quorum.
    pub fn witnessing(&self) -> &WitnessPolicy {
        &self.witnessing
    }

    /// The policy's digest.
    pub fn policy_digest(&self) -> &crate::codec::Digest32 {
        &self.policy_digest
    }
}

/// A cosignature that verified.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cosigner {
    /// The witness (key name).
    pub witness: String,
    /// Its timestamp (POSIX seconds, the witness's clock).
    pub time: u64,
    /// An auditing witness.
    pub auditing: bool,
}

/// A checkpoint signed by the log and cosigned by a quorum of the policy's witnesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessedCheckpoint {
    /// The log-signed checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// The valid cosignatures by policy witnesses, in note order.
    pub cosigners: Vec<Cosigner>,
    /// The auditing witnesses among the cosigners whose statement (every release up to this
    /// checkpoint justified) verified under the policy digest, with the statement's time
    /// ([`verify_gate`]; empty from [`verify_witnessed`], which does not look at statements).
    pub statements: Vec<(String, u64)>,
}

/// The note's body (text before the blank line, with its final newline) and its signature
/// lines.
fn split_note(note: &str) -> Result<(&str, Vec<&str>), WitnessCheckError> {
    let cut = note
        .find("\n\n")
        .ok_or_else(|| WitnessCheckError::Checkpoint("no blank line before signatures".into()))?;
    let body = note
        .get(..=cut)
        .ok_or_else(|| WitnessCheckError::Checkpoint("note".into()))?;
    let sigs = note
        .get(cut + 2..)
        .ok_or_else(|| WitnessCheckError::Checkpoint("note".into()))?;
    Ok((body, sigs.lines().filter(|l| !l.is_empty()).collect()))
}

/// The body a cosignature of `note` signs: its text up to and including the newline before the
/// blank line.
pub fn note_body(note: &str) -> Result<&str, WitnessCheckError> {
    split_note(note).map(|(body, _)| body)
}

/// Verify a checkpoint note: the log's signature under `log_vkey`, then every cosignature line
/// by a witness of `policy` (a bad one is an error naming the witness; lines by other keys are
/// ignored), then the quorum.
pub fn verify_witnessed(
    note: &str,
    log_vkey: &str,
    policy: &WitnessPolicy,
) -> Result<WitnessedCheckpoint, WitnessCheckError> {
    let checkpoint = verify_checkpoint(note, log_vkey)
        .map_err(|e| WitnessCheckError::Checkpoint(e.to_string()))?;
    let (body, lines) = split_note(note)?;
    let mut cosigners: Vec<Cosigner> = Vec::new();
    for line in lines {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            continue;
        };
        let Some((name, b64)) = rest.split_once(' ') else {
            continue;
        };
        let Some(w) = policy.witnesses().iter().find(|w| w.key.name() == name) else {
            continue;
        };
        let Ok(blob) = STANDARD.decode(b64) else {
            return Err(WitnessCheckError::BadCosignature {
                witness: name.into(),
                why: "not base64".into(),
            });
        };
        // A line with the witness's name but another key ID is another key: ignore it.
        if blob.get(..4) != Some(&w.key.key_id().to_be_bytes()[..]) {
            continue;
        }
        let time =
            w.key
                .verify_blob(&blob, body)
                .map_err(|why| WitnessCheckError::BadCosignature {
                    witness: name.into(),
                    why,
                })?;
        if cosigners.iter().all(|c| c.witness != name) {
            cosigners.push(Cosigner {
                witness: name.into(),
                time,
                auditing: w.auditing,
            });
        }
    }
    if cosigners.len() < usize::from(policy.quorum()) {
        return Err(WitnessCheckError::NoQuorum {
            got: cosigners.len(),
            quorum: policy.quorum(),
        });
    }
    if policy.auditing_required() && !cosigners.iter().any(|c| c.auditing) {
        return Err(WitnessCheckError::NoAuditingWitness);
    }
    Ok(WitnessedCheckpoint {
        checkpoint,
        cosigners,
        statements: Vec::new(),
    })
}

/// Verify a checkpoint note under a release gate: [`verify_witnessed`] (log signature, every
/// cosignature line by a policy witness, the quorum, an auditing witness among the cosigners
/// if required), then, if the policy requires an auditing witness, that at least one auditing
/// witness that cosigned also signed the statement that every release in this checkpoint —
/// every entry below its size, so every release entry proven in it — was justified under this
/// policy (`docs/witness.md` §Auditing witness). A plain cosignature by an auditing witness
/// counts towards the quorum but does not stand for its audit: without a valid statement the
/// note is refused, naming the auditing witnesses that cosigned and why each statement failed.
pub fn verify_gate(
    note: &str,
    log_vkey: &str,
    gate: &GatePolicy,
) -> Result<WitnessedCheckpoint, WitnessCheckError> {
    let mut checked = verify_witnessed(note, log_vkey, &gate.witnessing)?;
    let (body, lines) = split_note(note)?;
    let mut why = Vec::new();
    for c in checked.cosigners.iter().filter(|c| c.auditing) {
        let Some(w) = gate
            .witnessing
            .witnesses()
            .iter()
            .find(|w| w.key.name() == c.witness)
        else {
            continue;
        };
        let mut tried = Vec::new();
        let stated = lines.iter().find_map(|l| {
            w.key
                .verify_statement(l, body, &gate.policy_digest)
                .map_err(|e| {
                    // Lines by other keys, and this witness's cosignature line, are not
                    // statements that failed.
                    if e != NOT_THIS_WITNESS && e != NOT_A_STATEMENT {
                        tried.push(e);
                    }
                })
                .ok()
        });
        match stated {
            Some(t) => checked.statements.push((c.witness.clone(), t)),
            None => {
                why.push(format!(
                    "{}: {}",
                    c.witness,
                    if tried.is_empty() {
                        "no statement line".to_string()
                    } else {
                        tried.join(", ")
                    }
                ));
            }
        }
    }
    if gate.witnessing.auditing_required() && checked.statements.is_empty() {
        return Err(WitnessCheckError::NoAuditStatement {
            witnesses: checked
                .cosigners
                .iter()
                .filter(|c| c.auditing)
                .map(|c| c.witness.clone())
                .collect(),
            size: checked.checkpoint.head.size,
            policy: gate.policy_digest.short(),
            why: why.join("; "),
        });
    }
    Ok(checked)
}

/// The auditing witnesses of `policy` whose statement line in `note` verifies under the policy
/// digest `policy_digest` (`docs/witness.md` §Auditing witness): (witness, timestamp).
pub fn audit_statements(
    note: &str,
    policy: &WitnessPolicy,
    policy_digest: &crate::codec::Digest32,
) -> Vec<(String, u64)> {
    let Ok((body, lines)) = split_note(note) else {
        return Vec::new();
    };
    policy
        .witnesses()
        .iter()
        .filter(|w| w.auditing)
        .filter_map(|w| {
            lines
                .iter()
                .find_map(|l| w.key.verify_statement(l, body, policy_digest).ok())
                .map(|t| (w.key.name().to_string(), t))
        })
        .collect()
}

/// Append cosignature lines (as a witness returns them, each ending in `\n`) to a signed note.
pub fn add_cosignatures(note: &str, lines: &[String]) -> String {
    let mut out = note.to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    for l in lines {
        out.push_str(l);
        if !l.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Why a release response's gate evidence was refused; every variant names the trustee.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GateCheckError {
    /// Shares without evidence although the policy has a release gate.
    #[error(
        "trustee {trustee}: shares without a witnessed checkpoint, but the policy has a release gate"
    )]
    Missing {
        /// Trustee.
        trustee: u16,
    },
    /// The checkpoint, its cosignatures or the quorum.
    #[error("trustee {trustee}: witnessed checkpoint refused: {source}")]
    Checkpoint {
        /// Trustee.
        trustee: u16,
        /// Why.
        source: WitnessCheckError,
    },
    /// A version 2 response checked against another number of request items than it has
    /// results.
    #[error("trustee {trustee}: {results} results for {items} request items")]
    Items {
        /// Trustee.
        trustee: u16,
        /// Results in the response.
        results: usize,
        /// Request items given.
        items: usize,
    },
    /// A released share's entry is not proven in the checkpoint.
    #[error(
        "trustee {trustee}: release entry {leaf_index} is not in the witnessed checkpoint: {why}"
    )]
    NotIncluded {
        /// Trustee.
        trustee: u16,
        /// Leaf index.
        leaf_index: u64,
        /// Why.
        why: String,
    },
}

impl GateCheckError {
    /// The trustee whose answer carried the refused evidence (every variant names it).
    pub fn culprit(&self) -> Option<u16> {
        match self {
            GateCheckError::Missing { trustee }
            | GateCheckError::Checkpoint { trustee, .. }
            | GateCheckError::Items { trustee, .. }
            | GateCheckError::NotIncluded { trustee, .. } => Some(*trustee),
        }
    }
}

/// A release response's gate evidence, checked: the witnessed checkpoint and, per released
/// ciphertext, the share digest the witnessed log entry records (the investigator compares it
/// with the digest of the share it opens, `release::share_digest`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRelease {
    /// The quorum-cosigned checkpoint.
    pub checkpoint: WitnessedCheckpoint,
    /// Ciphertext digest → share digest in the witnessed release entry.
    pub shares: std::collections::BTreeMap<crate::codec::CiphertextDigest, crate::codec::Digest32>,
    /// The latest time (the node's clock) of the witnessed release entries.
    pub latest_entry: Option<crate::time::Timestamp>,
}

/// Default tolerance between a witness's clock and the node's, seconds: the gate waits at most
/// a few seconds per witness, so a larger gap is a clock that is off, not a slow round.
pub const DEFAULT_CLOCK_TOLERANCE_SECS: u64 = 60;

/// One witness's timestamp next to the node's clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClockReading {
    /// The witness (key name).
    pub witness: String,
    /// Its cosignature's timestamp (POSIX seconds, the witness's clock).
    pub witnessed_at: u64,
    /// The node's clock: the latest release entry the checkpoint covers.
    pub node_time: crate::time::Timestamp,
    /// `witnessed_at − node_time`, seconds (an honest round makes it small and not negative).
    pub skew_secs: i64,
    /// `|skew_secs|` exceeds the tolerance: one of the two clocks is off.
    pub beyond_tolerance: bool,
}

/// The witnesses' timestamps on a checked release next to the node's own clock (the time its
/// release entries record), each flagged when the two disagree by more than `tolerance_secs`.
/// A node releases only after the round that cosigns the entries it has just committed (a
/// reused note covers them only if it was cosigned after they were), so the skew of honest
/// clocks is the round's duration; a large skew either way means a clock is off — the node's
/// when most witnesses agree with each other.
pub fn clock_readings(checked: &CheckedRelease, tolerance_secs: u64) -> Vec<ClockReading> {
    let Some(node_time) = checked.latest_entry else {
        return Vec::new();
    };
    checked
        .checkpoint
        .cosigners
        .iter()
        .map(|c| {
            let at = i64::try_from(c.time).unwrap_or(i64::MAX);
            let skew_secs = at.saturating_sub(node_time.unix());
            ClockReading {
                witness: c.witness.clone(),
                witnessed_at: c.time,
                node_time,
                skew_secs,
                beyond_tolerance: skew_secs.unsigned_abs() > tolerance_secs,
            }
        })
        .collect()
}

/// Check a release response's gate evidence: the checkpoint is signed by `log_vkey` (the
/// trustee's log key, bound to it by its signed `/v1/info`), cosigned by `policy`'s quorum and,
/// if the policy requires an auditing witness, carries that witness's statement that every
/// release in it was justified under the policy ([`verify_gate`]); and every released result
/// has an inclusion proof of a release entry at its `leaf_index` (so below the checkpoint's
/// size, which the statement covers) that records this response's warrant, investigator and
/// ciphertext.
pub fn check_release(
    resp: &crate::release::ReleaseResponse,
    log_vkey: &str,
    policy: &GatePolicy,
) -> Result<CheckedRelease, GateCheckError> {
    let released: Vec<(u64, crate::codec::CiphertextDigest)> = resp
        .results
        .iter()
        .filter_map(|r| match r {
            crate::release::ReleaseResult::Released {
                ciphertext,
                leaf_index,
                ..
            } => Some((*leaf_index, *ciphertext)),
            crate::release::ReleaseResult::Refused { .. } => None,
        })
        .collect();
    let rel = Released::new(resp.trustee, resp.warrant, resp.investigator, released);
    rel.check(resp.witnessed.as_ref(), log_vkey, policy)
}

/// [`check_release`] for a version 2 response (`docs/api.md` §4.3): its results carry leaf
/// indexes only, so the digests `items` of the request's items (the ones its request digest R
/// covers, request order) name the ciphertext each released entry must record. The evidence
/// is the [`Witnessed`] that follows the response's signature.
pub fn check_release_v2(
    resp: &crate::v2::ReleaseResponseV2,
    items: &[crate::codec::CiphertextDigest],
    log_vkey: &str,
    policy: &GatePolicy,
) -> Result<CheckedRelease, GateCheckError> {
    if items.len() != resp.results.len() {
        return Err(GateCheckError::Items {
            trustee: resp.trustee,
            results: resp.results.len(),
            items: items.len(),
        });
    }
    let released = resp
        .results
        .iter()
        .zip(items)
        .filter_map(|(r, d)| match r {
            crate::v2::ReleaseResultV2::Released { leaf_index } => Some((*leaf_index, *d)),
            crate::v2::ReleaseResultV2::Refused { .. } => None,
        })
        .collect();
    let rel = Released::new(resp.trustee, resp.warrant, resp.investigator, released);
    rel.check(resp.witnessed.as_ref(), log_vkey, policy)
}

/// What a response says it released: (leaf index, ciphertext digest) per released item.
struct Released {
    trustee: u16,
    warrant: crate::codec::WarrantDigest,
    investigator: Option<crate::codec::KeyId>,
    items: Vec<(u64, crate::codec::CiphertextDigest)>,
}

impl Released {
    fn new(
        trustee: u16,
        warrant: crate::codec::WarrantDigest,
        investigator: Option<crate::codec::KeyId>,
        items: Vec<(u64, crate::codec::CiphertextDigest)>,
    ) -> Self {
        Released {
            trustee,
            warrant,
            investigator,
            items,
        }
    }

    /// The evidence `witnessed` proves every item released under the policy's quorum.
    fn check(
        self,
        witnessed: Option<&Witnessed>,
        log_vkey: &str,
        policy: &GatePolicy,
    ) -> Result<CheckedRelease, GateCheckError> {
        check_released(self, witnessed, log_vkey, policy)
    }
}

fn check_released(
    rel: Released,
    witnessed: Option<&Witnessed>,
    log_vkey: &str,
    policy: &GatePolicy,
) -> Result<CheckedRelease, GateCheckError> {
    use crate::audit::{EntryKind, LogEntry, verify_inclusion};
    let trustee = rel.trustee;
    let Some(w) = witnessed else {
        return Err(GateCheckError::Missing { trustee });
    };
    let checkpoint = verify_gate(&w.checkpoint, log_vkey, policy)
        .map_err(|source| GateCheckError::Checkpoint { trustee, source })?;
    let head = checkpoint.checkpoint.head;
    let mut shares = std::collections::BTreeMap::new();
    let mut latest_entry: Option<crate::time::Timestamp> = None;
    for (leaf_index, ciphertext) in rel.items {
        let bad = |why: String| GateCheckError::NotIncluded {
            trustee,
            leaf_index,
            why,
        };
        let inc = w
            .inclusion
            .iter()
            .find(|p| p.leaf_index == leaf_index)
            .ok_or_else(|| bad("no inclusion proof".into()))?;
        let entry = LogEntry::from_bytes(&inc.entry).map_err(|e| bad(e.to_string()))?;
        let share = match (entry.shares.as_slice(), entry.ciphertexts.as_slice()) {
            ([s], [c])
                if entry.kind == EntryKind::Release
                    && entry.sequence == leaf_index
                    && entry.warrant == Some(rel.warrant)
                    && entry.investigator == rel.investigator
                    && *c == ciphertext =>
            {
                *s
            }
            _ => {
                return Err(bad(
                    "the proven entry is not this release (kind, sequence, warrant, investigator or ciphertext differ)".into(),
                ));
            }
        };
        verify_inclusion(
            &entry.leaf_hash(),
            leaf_index,
            head.size,
            &inc.proof,
            &head.root,
        )
        .map_err(|e| bad(e.to_string()))?;
        shares.insert(ciphertext, share);
        latest_entry = latest_entry.max(Some(entry.time));
    }
    Ok(CheckedRelease {
        checkpoint,
        shares,
        latest_entry,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::audit::{Frontier, LogKey, leaf_hash};
    use ed25519_dalek::Signer as _;

    #[test]
    fn every_gate_check_error_names_its_trustee_as_culprit() {
        let all = [
            GateCheckError::Missing { trustee: 2 },
            GateCheckError::Checkpoint {
                trustee: 2,
                source: WitnessCheckError::NoQuorum { got: 1, quorum: 2 },
            },
            GateCheckError::Items {
                trustee: 2,
                results: 1,
                items: 2,
            },
            GateCheckError::NotIncluded {
                trustee: 2,
                leaf_index: 7,
                why: String::new(),
            },
        ];
        for e in all {
            assert_eq!(e.culprit(), Some(2), "{e}");
        }
    }

    fn witness(name: &str, seed: u8) -> (ed25519_dalek::SigningKey, String) {
        let k = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let id = cosignature_key_id(name, k.verifying_key().as_bytes());
        let mut typed = vec![COSIGNATURE_V1_TYPE];
        typed.extend_from_slice(k.verifying_key().as_bytes());
        (k, format!("{name}+{id:08x}+{}", STANDARD.encode(typed)))
    }

    fn cosign(k: &ed25519_dalek::SigningKey, name: &str, t: u64, body: &str) -> String {
        let id = cosignature_key_id(name, k.verifying_key().as_bytes());
        let sig = k.sign(&cosigned_message(t, body));
        let mut blob = id.to_be_bytes().to_vec();
        blob.extend_from_slice(&t.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {name} {}\n", STANDARD.encode(blob))
    }

    #[test]
    fn quorum_and_auditing_witness() {
        let log = LogKey::from_seed("escrow.example/trustee/00/1", &[1; 32]).unwrap();
        let mut f = Frontier::new();
        f.push(leaf_hash(b"x"));
        let note = log.sign(&f.head()).unwrap();
        let body = note.split_once("\n\n").unwrap().0.to_string() + "\n";
        let (k1, v1) = witness("w.example/1", 2);
        let (k2, v2) = witness("w.example/2", 3);
        let (k3, v3) = witness("w.example/audit", 4);
        let files = vec![
            WitnessFile {
                key: v1,
                url: None,
                auditing: false,
            },
            WitnessFile {
                key: v2,
                url: None,
                auditing: false,
            },
            WitnessFile {
                key: v3,
                url: None,
                auditing: true,
            },
        ];
        let policy = WitnessPolicy::from_files(&files, 2, true).unwrap();
        let c1 = cosign(&k1, "w.example/1", 10, &body);
        let c2 = cosign(&k2, "w.example/2", 11, &body);
        let c3 = cosign(&k3, "w.example/audit", 12, &body);
        let lv = log.verifier_key();
        // two plain witnesses: quorum but no auditing witness
        let two = add_cosignatures(&note, &[c1.clone(), c2.clone()]);
        assert_eq!(
            verify_witnessed(&two, &lv, &policy).unwrap_err(),
            WitnessCheckError::NoAuditingWitness
        );
        // one witness twice is one
        let dup = add_cosignatures(&note, &[c3.clone(), c3.clone()]);
        assert_eq!(
            verify_witnessed(&dup, &lv, &policy).unwrap_err(),
            WitnessCheckError::NoQuorum { got: 1, quorum: 2 }
        );
        let ok = add_cosignatures(&note, &[c1.clone(), c3.clone()]);
        let w = verify_witnessed(&ok, &lv, &policy).unwrap();
        assert_eq!(w.cosigners.len(), 2);
        assert_eq!(w.cosigners[1].time, 12);
        assert!(w.cosigners[1].auditing);
        // a forged cosignature (another timestamp under the same signature) names the witness
        let mut blob = STANDARD
            .decode(c1.trim_end().rsplit_once(' ').unwrap().1)
            .unwrap();
        blob[11] ^= 1;
        let forged = format!("\u{2014} w.example/1 {}\n", STANDARD.encode(blob));
        let bad = add_cosignatures(&note, &[forged, c3.clone()]);
        assert!(matches!(
            verify_witnessed(&bad, &lv, &policy).unwrap_err(),
            WitnessCheckError::BadCosignature { witness, .. } if witness == "w.example/1"
        ));
        // a cosignature over another checkpoint does not count
        let mut g = f.clone();
        g.push(leaf_hash(b"y"));
        let other = log.sign(&g.head()).unwrap();
        let other_body = other.split_once("\n\n").unwrap().0.to_string() + "\n";
        let c2x = cosign(&k2, "w.example/2", 11, &other_body);
        let bad = add_cosignatures(&note, &[c2x, c3]);
        assert!(matches!(
            verify_witnessed(&bad, &lv, &policy).unwrap_err(),
            WitnessCheckError::BadCosignature { witness, .. } if witness == "w.example/2"
        ));
        assert!(policy.satisfied_by(["w.example/1", "w.example/audit"], ["w.example/audit"]));
        assert!(!policy.satisfied_by(["w.example/1", "w.example/2"], ["w.example/audit"]));
        // The auditing witness cosigned but stated nothing: not the audit the policy requires.
        assert!(!policy.satisfied_by(["w.example/1", "w.example/audit"], []));
    }

    fn statement(
        k: &ed25519_dalek::SigningKey,
        name: &str,
        t: u64,
        policy: &crate::codec::Digest32,
        body: &str,
    ) -> String {
        let id = audit_statement_key_id(name, k.verifying_key().as_bytes());
        let sig = k.sign(&audit_statement_message(t, policy, body));
        let mut blob = id.to_be_bytes().to_vec();
        blob.extend_from_slice(&t.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {name} {}\n", STANDARD.encode(blob))
    }

    /// Under a gate that requires an auditing witness, its plain cosignature (a quorum without
    /// its statement) is refused, naming it; its statement under another policy is refused; with
    /// its statement under this policy the note passes.
    #[test]
    fn a_required_auditing_witness_must_state_that_every_release_was_justified() {
        let log = LogKey::from_seed("escrow.example/trustee/00/1", &[1; 32]).unwrap();
        let mut f = Frontier::new();
        f.push(leaf_hash(b"x"));
        f.push(leaf_hash(b"y"));
        let note = log.sign(&f.head()).unwrap();
        let body = note_body(&note).unwrap().to_string();
        let (k1, v1) = witness("w.example/1", 2);
        let (k3, v3) = witness("w.example/audit", 4);
        let file = |key: String, auditing| WitnessFile {
            key,
            url: None,
            auditing,
        };
        let wp = WitnessPolicy::from_files(&[file(v1, false), file(v3, true)], 2, true).unwrap();
        let digest = crate::codec::Digest32([7; 32]);
        let gate = GatePolicy::new(wp, digest);
        let lv = log.verifier_key();
        let c1 = cosign(&k1, "w.example/1", 10, &body);
        let c3 = cosign(&k3, "w.example/audit", 12, &body);
        // Plain cosignatures only: the quorum and the auditing witness's cosignature, no statement.
        let plain = add_cosignatures(&note, &[c1.clone(), c3.clone()]);
        assert!(verify_witnessed(&plain, &lv, gate.witnessing()).is_ok());
        match verify_gate(&plain, &lv, &gate).unwrap_err() {
            WitnessCheckError::NoAuditStatement {
                witnesses,
                size,
                policy,
                why,
            } => {
                assert_eq!(witnesses, ["w.example/audit"]);
                assert_eq!(size, 2);
                assert_eq!(policy, digest.short());
                assert_eq!(why, "w.example/audit: no statement line");
            }
            e => panic!("{e:?}"),
        }
        // A statement under another policy does not verify under this one.
        let other = crate::codec::Digest32([8; 32]);
        let s_other = statement(&k3, "w.example/audit", 12, &other, &body);
        let wrong = add_cosignatures(&note, &[c1.clone(), c3.clone(), s_other]);
        assert!(matches!(
            verify_gate(&wrong, &lv, &gate).unwrap_err(),
            WitnessCheckError::NoAuditStatement { witnesses, why, .. }
                if witnesses == ["w.example/audit"]
                    && why == "w.example/audit: Ed25519 signature does not verify"
        ));
        // A statement by a plain witness (its own statement key) does not stand for the audit.
        let s1 = statement(&k1, "w.example/1", 10, &digest, &body);
        let by_plain = add_cosignatures(&note, &[c1.clone(), c3.clone(), s1]);
        assert!(matches!(
            verify_gate(&by_plain, &lv, &gate).unwrap_err(),
            WitnessCheckError::NoAuditStatement { .. }
        ));
        // The statement under this policy: accepted, with its time.
        let s3 = statement(&k3, "w.example/audit", 13, &digest, &body);
        let stated = add_cosignatures(&note, &[c1, c3, s3.clone()]);
        let ok = verify_gate(&stated, &lv, &gate).unwrap();
        assert_eq!(ok.statements, [("w.example/audit".to_string(), 13)]);
        // A statement without the auditing witness's cosignature is not its cosignature.
        let c1 = cosign(&k1, "w.example/1", 10, &body);
        let no_cosig = add_cosignatures(&note, &[c1, s3]);
        assert_eq!(
            verify_gate(&no_cosig, &lv, &gate).unwrap_err(),
            WitnessCheckError::NoQuorum { got: 1, quorum: 2 }
        );
    }

    #[test]
    fn clock_readings_flag_a_skew_beyond_the_tolerance() {
        let log = LogKey::from_seed("escrow.example/trustee/00/1", &[1; 32]).unwrap();
        let mut f = Frontier::new();
        f.push(leaf_hash(b"x"));
        let checkpoint =
            verify_checkpoint(&log.sign(&f.head()).unwrap(), &log.verifier_key()).unwrap();
        let node = 1_764_500_000;
        let cosigner = |witness: &str, time: i64| Cosigner {
            witness: witness.into(),
            time: time as u64,
            auditing: false,
        };
        let checked = CheckedRelease {
            checkpoint: WitnessedCheckpoint {
                checkpoint,
                cosigners: vec![
                    cosigner("w.example/1", node + 2),
                    // the node's clock runs 10 minutes ahead of this witness
                    cosigner("w.example/2", node - 600),
                    cosigner("w.example/3", node + 61),
                ],
                statements: Vec::new(),
            },
            shares: Default::default(),
            latest_entry: Some(crate::time::Timestamp::from_unix(node)),
        };
        let r = clock_readings(&checked, DEFAULT_CLOCK_TOLERANCE_SECS);
        let got: Vec<(&str, i64, bool)> = r
            .iter()
            .map(|c| (c.witness.as_str(), c.skew_secs, c.beyond_tolerance))
            .collect();
        assert_eq!(
            got,
            vec![
                ("w.example/1", 2, false),
                ("w.example/2", -600, true),
                ("w.example/3", 61, true)
            ]
        );
        assert!(r.iter().all(|c| c.node_time.unix() == node));
        // Without a witnessed release entry there is no node time to compare with.
        let none = CheckedRelease {
            latest_entry: None,
            ..checked
        };
        assert!(clock_readings(&none, 60).is_empty());
    }

    #[test]
    fn policy_checks() {
        let (_, v1) = witness("w.example/1", 2);
        let f = |k: &str, auditing| WitnessFile {
            key: k.into(),
            url: None,
            auditing,
        };
        assert!(WitnessPolicy::from_files(&[f(&v1, false)], 2, false).is_err());
        assert!(WitnessPolicy::from_files(&[f(&v1, false)], 0, false).is_err());
        assert!(WitnessPolicy::from_files(&[f(&v1, false)], 1, true).is_err());
        assert!(WitnessPolicy::from_files(&[f(&v1, false), f(&v1, true)], 1, false).is_err());
        assert!(WitnessPolicy::from_files(&[f(&v1, true)], 1, true).is_ok());
        let wrong_id = v1.replacen('+', "+0", 1);
        assert!(WitnessVerifier::parse(&wrong_id).is_err());
        let log_key = LogKey::from_seed("w.example/1", &[2; 32])
            .unwrap()
            .verifier_key();
        assert!(
            WitnessVerifier::parse(&log_key).is_err(),
            "a type-0x01 key is not a witness key"
        );
    }
}
