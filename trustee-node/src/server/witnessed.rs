//! The node's side of the release gate (issue 17, `docs/witness.md` §Release gate): after the
//! release entries are committed, get a checkpoint covering them cosigned by the policy's
//! witness quorum ([`crate::gate::Gate`]) and prove each entry in it; without the quorum,
//! release nothing and log that the releases were never delivered.

use super::{ApiError, Node, lock};
use crate::db::Batch;
use crate::gate::LogView;
use crate::state::now;
use escrow_core::audit::witness::{Inclusion, Witnessed};
use escrow_core::audit::{EntryKind, LogEntry, MAX_ENTRY_DIGESTS, TreeHead};
use escrow_core::codec::WarrantDigest;
use escrow_core::codec::{Digest32, V1};

/// Refusal code of a release the witness quorum did not cosign (HTTP 503, and the reason of the
/// follow-up log entry naming the undelivered ciphertexts).
pub const WITNESS_QUORUM: &str = "witness-quorum";

impl Node {
    /// Under a policy with witnesses: the quorum-cosigned checkpoint covering the committed
    /// release entries of `entries` and their inclusion proofs (`None` without a gate or
    /// without releases). Without the quorum: a refusal entry (reason `witness-quorum`, the
    /// ciphertexts of those releases) is committed and the request gets a 503 `witness-quorum`.
    pub(crate) fn witness_release(
        &self,
        warrant: WarrantDigest,
        entries: &[LogEntry],
    ) -> Result<Option<Witnessed>, ApiError> {
        let Some(gate) = &self.gate else {
            return Ok(None);
        };
        let released: Vec<&LogEntry> = entries
            .iter()
            .filter(|e| e.kind == EntryKind::Release)
            .collect();
        let Some(needed) = released.iter().map(|e| e.sequence + 1).max() else {
            return Ok(None);
        };
        let (size, note) = match gate.cosigned_covering(needed, &self.log_key, self) {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(problem = %e, "release gate: no witness quorum; nothing released");
                self.mark_undelivered(warrant, &released)?;
                return Err(ApiError::unavailable(
                    WITNESS_QUORUM,
                    format!(
                        "{e}; nothing was released and the log marks these releases as never delivered"
                    ),
                ));
            }
        };
        // One prover for every entry: consecutive entries share their tiles.
        let prover = self.prover(size);
        let inclusion = released
            .iter()
            .map(|e| {
                prover
                    .inclusion(e.sequence)
                    .map(|proof| Inclusion {
                        leaf_index: e.sequence,
                        entry: e.to_bytes(),
                        proof,
                    })
                    .map_err(|err| ApiError::internal("proving a release entry", err))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let checkpoint = if self.fault == Some(super::Fault::ForgedCosignatures) {
            forge_cosignatures(&note)
        } else {
            note
        };
        Ok(Some(Witnessed {
            version: V1::default(),
            checkpoint,
            inclusion,
        }))
    }

    /// Commit refusal entries (reason [`WITNESS_QUORUM`]) naming the ciphertexts of `released`:
    /// those shares never left the node.
    fn mark_undelivered(
        &self,
        warrant: WarrantDigest,
        released: &[&LogEntry],
    ) -> Result<(), ApiError> {
        let cts: Vec<escrow_core::codec::CiphertextDigest> = released
            .iter()
            .flat_map(|e| e.ciphertexts.iter().copied())
            .collect();
        let time = now();
        let mut db = lock(&self.db);
        let mut batch = Batch::default();
        for (seq, chunk) in (db.next_seq()..).zip(cts.chunks(MAX_ENTRY_DIGESTS)) {
            batch.entries.push(LogEntry::refusal(
                seq,
                time,
                Some(warrant),
                chunk.to_vec(),
                WITNESS_QUORUM,
            ));
        }
        self.commit(&mut db, &batch, time).map(|_| ())
    }
}

impl LogView for Node {
    fn current(&self) -> TreeHead {
        self.head()
    }

    fn consistency(&self, old: u64, new: u64) -> Result<Vec<Digest32>, String> {
        self.prover(new).consistency(old).map_err(|e| e.to_string())
    }
}

/// Fault injection [`super::Fault::ForgedCosignatures`]: the note with the signature bytes of
/// every cosignature line after the first flipped (the log's own signature line is the first
/// signature line and stays intact).
fn forge_cosignatures(note: &str) -> String {
    use escrow_core::codec::{b64_decode, b64_encode};
    let Some((body, sigs)) = note.split_once("\n\n") else {
        return note.to_string();
    };
    let mut out = format!("{body}\n\n");
    for (i, line) in sigs.lines().enumerate() {
        let forged = (i >= 2)
            .then(|| line.rsplit_once(' '))
            .flatten()
            .and_then(|(head, b64)| {
                let mut blob = b64_decode(b64).ok()?;
                let last = blob.last_mut()?;
                *last ^= 1;
                Some(format!("{head} {}", b64_encode(&blob)))
            });
        out.push_str(forged.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}
