//! The files a ceremony leaves in the state folder to survive a stop (docs/protocol.md
//! §16.11): the marker, the finalise journal (the commit point) and a reshare dealer's
//! retirement file, with what reads, applies and removes them. Below both the ceremonies
//! (`crate::ceremony`, `crate::server`'s refresh endpoints), which write them, and
//! [`super::load`], which finishes what a stop interrupted.

use super::{SECRETS_FILE, SET_FILE, replace_file};
use crate::db::Db;
use crate::error::NodeError;
use crate::sealed::SealedSecrets;
use escrow_core::audit::LogEntry;
use escrow_core::codec::{Digest32, SetId, V1};
use escrow_core::dkg;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The certificate of the ceremony that made the node's set (written at finalise).
pub const CERTIFICATE_FILE: &str = "keygen-certificate.json";

/// Written by a reshare's dealer when it destroyed its share: the node does not start again.
pub const RETIRED_FILE: &str = "retired.json";

/// Written before the node sends its round-3 certificate signature; removed once the ceremony's
/// result is stored (see the module documentation).
pub const MARKER_FILE: &str = "ceremony.json";

/// The finalise journal of a keygen, a reshare's new trustee or a refresh: the commit point.
pub const JOURNAL_FILE: &str = "ceremony-journal.json";

/// `STATE/ceremony.json`: this node certified a ceremony's result and has not stored it yet.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonyMarker {
    /// Format version.
    pub version: V1,
    /// keygen, refresh or reshare.
    pub kind: dkg::CeremonyKind,
    /// The session id.
    pub session: Digest32,
    /// The transcript the node certified.
    pub transcript: Digest32,
    /// The set the node certified.
    pub set_id: SetId,
    /// The set a refresh or reshare started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_set: Option<SetId>,
    /// When the node certified it.
    pub time: escrow_core::time::Timestamp,
}

/// `STATE/ceremony-journal.json` (mode 0600): what the node's finalise stores, in one file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Journal {
    /// Format version.
    pub version: V1,
    /// keygen, refresh or reshare (a new trustee's).
    pub kind: dkg::CeremonyKind,
    /// The new `trustee-set.json`, as written.
    pub set: String,
    /// The new `keygen-certificate.json`, as written.
    pub certificate: String,
    /// The new sealed secrets (the node's new share, sealed with its passphrase).
    pub secrets: SealedSecrets,
    /// The set a refresh replaces (its share-destroyed entry names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_set: Option<SetId>,
    /// When the ceremony finished on this node (the time of its log entries and `node.json`).
    pub time: escrow_core::time::Timestamp,
}

impl Journal {
    pub(crate) fn transcript(&self) -> Result<Digest32, NodeError> {
        dkg::Certificate::from_json(&self.certificate)
            .map(|c| c.transcript)
            .map_err(|e| NodeError::State(format!("{JOURNAL_FILE}: certificate: {e}")))
    }

    pub(crate) fn trustee_set(&self) -> Result<escrow_core::trustee::TrusteeSet, NodeError> {
        Ok(escrow_core::trustee::TrusteeSet::from_json(&self.set)?)
    }

    /// The log entries a refresh appends (sequence numbers from `seq`).
    pub(crate) fn refresh_entries(
        &self,
        seq: u64,
        policy: Digest32,
    ) -> Result<Vec<LogEntry>, NodeError> {
        let previous = self.previous_set.ok_or_else(|| {
            NodeError::State(format!(
                "{JOURNAL_FILE}: a refresh journal names no previous set"
            ))
        })?;
        Ok(vec![
            LogEntry::keygen(seq, self.time, self.transcript()?),
            LogEntry::setup(seq + 1, self.time, self.trustee_set()?.id(), policy),
            LogEntry::share_destroyed(seq + 2, self.time, previous),
        ])
    }
}

/// Write the journal (atomically: the commit point of a finalise).
pub fn write_journal(dir: &Path, j: &Journal) -> Result<(), NodeError> {
    replace_file(
        &dir.join(JOURNAL_FILE),
        escrow_core::codec::to_json_pretty(j).as_bytes(),
        true,
    )
}

fn read_json<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
) -> Result<Option<T>, NodeError> {
    let p = dir.join(name);
    if !p.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&p).map_err(|e| NodeError::io(&p, e))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| NodeError::State(format!("{name}: {e}")))
}

/// The finalise journal in `dir`, if any.
pub fn read_journal(dir: &Path) -> Result<Option<Journal>, NodeError> {
    read_json(dir, JOURNAL_FILE)
}

/// The ceremony marker in `dir`, if any.
pub fn read_marker(dir: &Path) -> Result<Option<CeremonyMarker>, NodeError> {
    read_json(dir, MARKER_FILE)
}

/// Remove `dir/name` if it exists, then sync the folder.
pub(crate) fn remove_state_file(dir: &Path, name: &str) -> Result<(), NodeError> {
    let p = dir.join(name);
    match std::fs::remove_file(&p) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(NodeError::io(&p, e)),
    }
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| NodeError::io(dir, e))?;
    Ok(())
}

/// A refresh journal's files: certificate, set and sealed share, each replaced atomically
/// (again, if a stop came after some of them: the contents are the journal's either way).
pub fn apply_refresh_files(dir: &Path, j: &Journal) -> Result<(), NodeError> {
    replace_file(&dir.join(CERTIFICATE_FILE), j.certificate.as_bytes(), false)?;
    replace_file(&dir.join(SET_FILE), j.set.as_bytes(), false)?;
    replace_file(
        &dir.join(SECRETS_FILE),
        escrow_core::codec::to_json_pretty(&j.secrets).as_bytes(),
        true,
    )
}

/// A refresh journal's log entries, unless the log already holds its share-destroyed entry.
pub(crate) fn refresh_log_batch(
    db: &Db,
    j: &Journal,
    policy: Digest32,
) -> Result<Option<Vec<LogEntry>>, NodeError> {
    match j.previous_set {
        Some(prev) if db.share_destroyed_logged(&prev) => Ok(None),
        _ => j.refresh_entries(db.next_seq(), policy).map(Some),
    }
}

/// The error for a marker whose ceremony this node did not finish.
pub fn unfinished(dir: &Path, m: &CeremonyMarker) -> NodeError {
    NodeError::UnfinishedCeremony {
        kind: m.kind.to_string(),
        session: m.session.short(),
        set: m.set_id.short(),
        marker: dir.join(MARKER_FILE),
    }
}

/// `STATE/retired.json`: this node's share went to another set by a reshare.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredFile {
    /// Format version.
    pub version: V1,
    /// The set this node was a trustee of.
    pub old_set_id: SetId,
    /// The set the reshare made.
    pub new_set_id: SetId,
    /// The reshare's transcript digest.
    pub transcript: Digest32,
    /// When the share was destroyed.
    pub time: escrow_core::time::Timestamp,
}
