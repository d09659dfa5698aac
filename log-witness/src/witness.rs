//! The witness state (SQLite, WAL, `synchronous=FULL`) and the `add-checkpoint` decision.
//!
//! State folder:
//! * `witness.key` — the Ed25519 seed, hex, mode 0600 (not sealed: see docs/witness.md);
//! * `witness.db` — `meta` (format version, witness name), `logs` (each followed log: origin,
//!   log verifier key, last cosigned size/root/note), `cosigned` (every checkpoint ever cosigned,
//!   primary key `(origin, size)`, so two different checkpoints of one size cannot both be
//!   recorded), `evidence` (refused checkpoints that prove or claim misbehaviour, with the
//!   checkpoint the witness held), `audited` (an auditing witness's incremental audit per log:
//!   the policy it judged under, the size judged, entries read in the last round, and the
//!   carry, `escrow_core::audit::carry::LogCarry` as JSON).
//!
//! One `add-checkpoint` is one `BEGIN IMMEDIATE` transaction: the check of the old size and
//! the write of the new checkpoint are atomic, and the transaction is committed (fsynced) before
//! the cosignature is computed and returned.

use crate::cosig::{KeyError, WitnessKey};
use crate::request::{AddCheckpoint, BodyError};
use escrow_core::audit::carry::LogCarry;
use escrow_core::audit::{CheckpointError, empty_root, verify_checkpoint, verify_consistency};
use escrow_core::codec::Digest32;
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Version of the state database layout (2: the `audited` table; a version 1 state gains it
/// when opened).
pub const STATE_FORMAT_VERSION: u32 = 2;
/// Version of the `GET /evidence` and `GET /v1/witness` JSON documents.
pub const JSON_FORMAT_VERSION: u32 = 1;

const KEY_FILE: &str = "witness.key";
const DB_FILE: &str = "witness.db";

/// Why a request was refused or the witness failed. Each variant maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The request body is malformed (400).
    #[error(transparent)]
    Body(#[from] BodyError),
    /// The checkpoint is malformed (400).
    #[error("malformed checkpoint: {0}")]
    Checkpoint(String),
    /// The old size is larger than the checkpoint size (400).
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldTooLarge {
        /// Old size in the request.
        old: u64,
        /// Size of the checkpoint.
        size: u64,
    },
    /// The witness does not follow this origin (404).
    #[error("unknown log origin {0:?}")]
    UnknownLog(String),
    /// No signature by the log's key verifies (403).
    #[error("checkpoint of {origin:?} not signed by its log key: {why}")]
    Forbidden {
        /// Origin.
        origin: String,
        /// Verifier's reason.
        why: String,
    },
    /// The old size is not the size the witness last cosigned (409, body = `held`).
    #[error("log {origin:?}: old size {old} but the witness holds size {held}")]
    StaleOldSize {
        /// Origin.
        origin: String,
        /// Old size in the request.
        old: u64,
        /// Size of the latest cosigned checkpoint.
        held: u64,
    },
    /// A different checkpoint of this size was cosigned before (409, body = `held`); evidence
    /// stored.
    #[error("log {origin:?}: split view at size {size} (a different root was cosigned)")]
    SplitView {
        /// Origin.
        origin: String,
        /// The size with two roots.
        size: u64,
        /// Size of the latest cosigned checkpoint.
        held: u64,
    },
    /// The consistency proof does not verify (422); evidence stored when the witness held a
    /// checkpoint.
    #[error("log {origin:?}: consistency proof from {old} to {size} does not verify")]
    Inconsistent {
        /// Origin.
        origin: String,
        /// Old size.
        old: u64,
        /// New size.
        size: u64,
    },
    /// An auditing witness found a release that is not justified, or could not audit the log
    /// (403); evidence `unjustified` stored.
    #[error("log {origin:?}: not cosigned at size {size}: {findings}")]
    Unjustified {
        /// Origin.
        origin: String,
        /// Size of the refused checkpoint.
        size: u64,
        /// The auditor's findings.
        findings: String,
    },
    /// Configuration error (add-log).
    #[error("invalid log configuration: {0}")]
    Config(String),
    /// Fault injection ([`Witness::stop_after_commit`]): the checkpoint was recorded, and the
    /// witness stopped before it computed the cosignature (500).
    #[error("log {origin:?}: stopped after recording size {size}, before answering")]
    Stopped {
        /// Origin.
        origin: String,
        /// Size recorded.
        size: u64,
    },
    /// Key error.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// State folder or database error (500).
    #[error("state {path}: {why}")]
    State {
        /// File.
        path: PathBuf,
        /// Cause.
        why: String,
    },
}

impl WitnessError {
    /// The HTTP status for this error.
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::Body(_)
            | WitnessError::Checkpoint(_)
            | WitnessError::OldTooLarge { .. } => 400,
            WitnessError::Forbidden { .. } | WitnessError::Unjustified { .. } => 403,
            WitnessError::UnknownLog(_) => 404,
            WitnessError::StaleOldSize { .. } | WitnessError::SplitView { .. } => 409,
            WitnessError::Inconsistent { .. } => 422,
            WitnessError::Config(_)
            | WitnessError::Key(_)
            | WitnessError::State { .. }
            | WitnessError::Stopped { .. } => 500,
        }
    }

    /// For 409: the size of the latest cosigned checkpoint (the `text/x.tlog.size` body).
    pub fn held_size(&self) -> Option<u64> {
        match self {
            WitnessError::StaleOldSize { held, .. } | WitnessError::SplitView { held, .. } => {
                Some(*held)
            }
            _ => None,
        }
    }
}

/// One piece of evidence: a signed checkpoint of a followed log that the witness refused,
/// beside the signed checkpoint it held.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Row id.
    pub id: i64,
    /// The log (origin line) the evidence is about.
    pub origin: String,
    /// `split-view` (two signed checkpoints of one size with different roots: self-contained
    /// proof) or `inconsistent` (a signed checkpoint sent with a consistency proof from the held
    /// one that does not verify: a claim, to be checked against the log).
    pub kind: String,
    /// The signed checkpoint the witness had cosigned.
    pub held_checkpoint: String,
    /// The signed checkpoint it refused.
    pub offered_checkpoint: String,
    /// The consistency proof sent with it (base64 hashes).
    pub proof: Vec<String>,
    /// Human-readable reason.
    pub detail: String,
    /// When the witness refused it (POSIX seconds).
    pub detected_at: u64,
}

/// A followed log and the latest checkpoint cosigned for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogState {
    /// Origin line.
    pub origin: String,
    /// The log's note verifier key.
    pub key: String,
    /// Size of the latest cosigned checkpoint (0 if none).
    pub size: u64,
    /// The latest cosigned checkpoint, if any.
    pub checkpoint: Option<String>,
}

/// A witness: its key and its state database.
#[derive(Debug)]
pub struct Witness {
    key: WitnessKey,
    db_path: PathBuf,
    conn: Mutex<Connection>,
    /// One lock per followed log: a log's `add-checkpoint` requests are handled one at a time
    /// (the auditing witness judges outside the database lock, so different logs are judged
    /// in parallel and the database is never held while judging).
    rounds: Mutex<std::collections::HashMap<String, std::sync::Arc<Mutex<()>>>>,
    /// The auditing witness's judge (`serve --audit`), if any.
    auditor: Option<Box<dyn crate::auditing::Audit>>,
    /// Fault injection: stop between the commit and the answer.
    stop_after_commit: bool,
}

fn state_err(path: &Path) -> impl Fn(rusqlite::Error) -> WitnessError + '_ {
    move |e| WitnessError::State {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

fn io_err(path: &Path, e: std::io::Error) -> WitnessError {
    WitnessError::State {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

fn to_i64(v: u64, what: &str) -> Result<i64, WitnessError> {
    i64::try_from(v).map_err(|_| WitnessError::Checkpoint(format!("{what} {v} too large")))
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn open_db(path: &Path, create: bool) -> Result<Connection, WitnessError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    } else if !path.exists() {
        return Err(WitnessError::State {
            path: path.to_path_buf(),
            why: "missing (run `log-witness init` first)".into(),
        });
    }
    let conn = Connection::open_with_flags(path, flags).map_err(state_err(path))?;
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(state_err(path))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(state_err(path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(WitnessError::State {
            path: path.to_path_buf(),
            why: format!("could not enable WAL (got {mode})"),
        });
    }
    conn.execute_batch("PRAGMA synchronous=FULL;")
        .map_err(state_err(path))?;
    Ok(conn)
}

const SCHEMA: &str = "
CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) STRICT;
CREATE TABLE logs (
    origin TEXT PRIMARY KEY,
    vkey TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    root BLOB,
    note TEXT
) STRICT;
CREATE TABLE cosigned (
    origin TEXT NOT NULL REFERENCES logs(origin),
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    PRIMARY KEY (origin, size)
) STRICT;
CREATE TABLE evidence (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL REFERENCES logs(origin),
    kind TEXT NOT NULL,
    held_note TEXT NOT NULL,
    offered_note TEXT NOT NULL,
    proof TEXT NOT NULL,
    detail TEXT NOT NULL,
    at INTEGER NOT NULL,
    UNIQUE (origin, kind, offered_note)
) STRICT;
";

/// Format version 2: the auditing witness's incremental audit, per log.
const AUDITED_TABLE: &str = "
CREATE TABLE audited (
    origin TEXT PRIMARY KEY REFERENCES logs(origin),
    policy BLOB NOT NULL,
    size INTEGER NOT NULL,
    entries_read INTEGER NOT NULL,
    carry TEXT NOT NULL,
    at INTEGER NOT NULL
) STRICT;
";

/// The log's held state inside a transaction.
struct Held {
    vkey: String,
    size: u64,
    root: Digest32,
    note: Option<String>,
}

impl Witness {
    /// Create a new state folder with a fresh key named `name`. Refuses an existing state.
    pub fn init(dir: &Path, name: &str) -> Result<Self, WitnessError> {
        let key = WitnessKey::generate(name)?;
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let key_path = dir.join(KEY_FILE);
        let db_path = dir.join(DB_FILE);
        if key_path.exists() || db_path.exists() {
            return Err(WitnessError::State {
                path: dir.to_path_buf(),
                why: "already initialised".into(),
            });
        }
        write_secret(&key_path, &key.hex_seed())?;
        let conn = open_db(&db_path, true)?;
        conn.execute_batch(SCHEMA).map_err(state_err(&db_path))?;
        conn.execute_batch(AUDITED_TABLE)
            .map_err(state_err(&db_path))?;
        conn.execute(
            "INSERT INTO meta (k, v) VALUES ('format_version', ?1), ('name', ?2)",
            params![STATE_FORMAT_VERSION.to_string(), name],
        )
        .map_err(state_err(&db_path))?;
        Ok(Witness::on(key, db_path, conn))
    }

    /// A plain witness (no auditor) with `key` on the database `conn` at `db_path`.
    fn on(key: WitnessKey, db_path: PathBuf, conn: Connection) -> Self {
        Witness {
            key,
            db_path,
            conn: Mutex::new(conn),
            rounds: Mutex::new(std::collections::HashMap::new()),
            auditor: None,
            stop_after_commit: false,
        }
    }

    /// Open an existing state folder.
    pub fn open(dir: &Path) -> Result<Self, WitnessError> {
        let db_path = dir.join(DB_FILE);
        let conn = open_db(&db_path, false)?;
        let meta = |k: &str| -> Result<String, WitnessError> {
            conn.query_row("SELECT v FROM meta WHERE k = ?1", [k], |r| r.get(0))
                .map_err(state_err(&db_path))
        };
        let mut version = meta("format_version")?;
        if version == "1" {
            // Version 1 lacked the auditing witness's incremental audit: add its table.
            conn.execute_batch(&format!(
                "BEGIN IMMEDIATE; {AUDITED_TABLE} \
                 UPDATE meta SET v = '{STATE_FORMAT_VERSION}' WHERE k = 'format_version'; COMMIT;"
            ))
            .map_err(state_err(&db_path))?;
            version = meta("format_version")?;
        }
        if version != STATE_FORMAT_VERSION.to_string() {
            return Err(WitnessError::State {
                path: db_path,
                why: format!(
                    "state format version {version}, this build reads {STATE_FORMAT_VERSION}"
                ),
            });
        }
        let name = meta("name")?;
        let key_path = dir.join(KEY_FILE);
        let seed = zeroize::Zeroizing::new(
            std::fs::read_to_string(&key_path).map_err(|e| io_err(&key_path, e))?,
        );
        let key = WitnessKey::from_hex_seed(&name, &seed)?;
        Ok(Witness::on(key, db_path, conn))
    }

    /// This witness as an auditing witness: every checkpoint is judged by `auditor` before it is
    /// cosigned, and cosigned with a statement (`docs/witness.md` §Auditing witness).
    pub fn with_auditor(mut self, auditor: Box<dyn crate::auditing::Audit>) -> Self {
        self.auditor = Some(auditor);
        self
    }

    /// Fault injection (tests only; a library setting, the binary has no option that sets it):
    /// every `add-checkpoint` that passes stops right after its checkpoint is committed and
    /// before the cosignature is computed ([`WitnessError::Stopped`]), as a witness killed
    /// between storing and answering; reopen the state folder to go on.
    pub fn stop_after_commit(mut self) -> Self {
        self.stop_after_commit = true;
        self
    }

    /// The witness key (public parts only are meant to leave).
    pub fn key(&self) -> &WitnessKey {
        &self.key
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, WitnessError> {
        self.conn.lock().map_err(|_| WitnessError::State {
            path: self.db_path.clone(),
            why: "connection lock poisoned".into(),
        })
    }

    /// Follow a log: `origin` and its note verifier key (`origin+keyid+base64(0x01 || key)`).
    pub fn add_log(&self, origin: &str, vkey: &str) -> Result<(), WitnessError> {
        signed_note::StandardVerifier::new(vkey)
            .map_err(|e| WitnessError::Config(format!("log key {vkey:?}: {e}")))?;
        let name = escrow_core::audit::checkpoint::verifier_key_name(vkey).unwrap_or_default();
        if name != origin {
            return Err(WitnessError::Config(format!(
                "log key is named {name:?}, the origin is {origin:?}"
            )));
        }
        let conn = self.conn()?;
        let n = conn
            .execute(
                "INSERT INTO logs (origin, vkey) VALUES (?1, ?2) ON CONFLICT (origin) DO NOTHING",
                params![origin, vkey],
            )
            .map_err(state_err(&self.db_path))?;
        if n == 0 {
            return Err(WitnessError::Config(format!(
                "log {origin:?} is already followed"
            )));
        }
        Ok(())
    }

    /// The followed logs and their latest cosigned checkpoints.
    pub fn logs(&self) -> Result<Vec<LogState>, WitnessError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare("SELECT origin, vkey, size, note FROM logs ORDER BY origin")
            .map_err(state_err(&self.db_path))?;
        let rows = st
            .query_map([], |r| {
                Ok(LogState {
                    origin: r.get(0)?,
                    key: r.get(1)?,
                    size: to_u64(r.get(2)?),
                    checkpoint: r.get(3)?,
                })
            })
            .map_err(state_err(&self.db_path))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(state_err(&self.db_path))
    }

    /// All stored evidence, oldest first.
    pub fn evidence(&self) -> Result<Vec<Evidence>, WitnessError> {
        let conn = self.conn()?;
        let mut st = conn
            .prepare(
                "SELECT id, origin, kind, held_note, offered_note, proof, detail, at \
                 FROM evidence ORDER BY id",
            )
            .map_err(state_err(&self.db_path))?;
        let rows = st
            .query_map([], |r| {
                let proof: String = r.get(5)?;
                Ok(Evidence {
                    id: r.get(0)?,
                    origin: r.get(1)?,
                    kind: r.get(2)?,
                    held_checkpoint: r.get(3)?,
                    offered_checkpoint: r.get(4)?,
                    proof: proof.lines().map(str::to_string).collect(),
                    detail: r.get(6)?,
                    detected_at: to_u64(r.get(7)?),
                })
            })
            .map_err(state_err(&self.db_path))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(state_err(&self.db_path))
    }

    /// Handle an `add-checkpoint` body at time `now` (POSIX seconds): verify, record, and return
    /// the cosignature line. The new checkpoint is committed before this returns `Ok`.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, WitnessError> {
        let req = AddCheckpoint::parse(body)?;
        let origin = req
            .checkpoint
            .split_once('\n')
            .map(|(o, _)| o.to_string())
            .ok_or_else(|| WitnessError::Checkpoint("no origin line".into()))?;
        let now_i = to_i64(now, "time")?;
        let path = self.db_path.clone();
        // One round of this log at a time (held to the end of this call).
        let round = {
            let mut rounds = self.rounds.lock().map_err(|_| WitnessError::State {
                path: path.clone(),
                why: "round lock poisoned".into(),
            })?;
            rounds.entry(origin.clone()).or_default().clone()
        };
        let _round = round.lock().map_err(|_| WitnessError::State {
            path: path.clone(),
            why: "round lock poisoned".into(),
        })?;
        // What is held for this log, read in one short transaction.
        let (held, cp, earlier, carried) = {
            let mut conn = self.conn()?;
            let tx = conn.transaction().map_err(state_err(&path))?;
            let held = self.held(&tx, &origin)?;
            let cp = verify_checkpoint(&req.checkpoint, &held.vkey).map_err(|e| match e {
                CheckpointError::Malformed(m) => WitnessError::Checkpoint(m),
                other => WitnessError::Forbidden {
                    origin: origin.clone(),
                    why: other.to_string(),
                },
            })?;
            let earlier: Option<(Vec<u8>, String)> = tx
                .query_row(
                    "SELECT root, note FROM cosigned WHERE origin = ?1 AND size = ?2",
                    params![origin, to_i64(cp.head.size, "checkpoint size")?],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(state_err(&path))?;
            let carried = match &self.auditor {
                Some(a) => self.carried(&tx, &origin, a.as_ref())?,
                None => None,
            };
            (held, cp, earlier, carried)
        };
        let size = cp.head.size;
        let size_i = to_i64(size, "checkpoint size")?;
        if req.old_size > size {
            return Err(WitnessError::OldTooLarge {
                old: req.old_size,
                size,
            });
        }
        let proof_text: String = req
            .proof
            .iter()
            .map(|h| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(h.0) + "\n"
            })
            .collect();
        // Evidence is kept in a transaction of its own.
        let record = |kind: &str, held_note: &str, detail: &str| -> Result<(), WitnessError> {
            let conn = self.conn()?;
            conn.execute(
                "INSERT INTO evidence (origin, kind, held_note, offered_note, proof, detail, at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                params![
                    origin,
                    kind,
                    held_note,
                    req.checkpoint,
                    proof_text,
                    detail,
                    now_i
                ],
            )
            .map_err(state_err(&path))?;
            Ok(())
        };
        // A checkpoint of a size this witness cosigned before must have the same root.
        if let Some((root, note)) = &earlier
            && root.as_slice() != cp.head.root.0.as_slice()
        {
            let err = WitnessError::SplitView {
                origin: origin.clone(),
                size,
                held: held.size,
            };
            record("split-view", note, &err.to_string())?;
            return Err(err);
        }
        if req.old_size != held.size {
            return Err(WitnessError::StaleOldSize {
                origin,
                old: req.old_size,
                held: held.size,
            });
        }
        if req.old_size == size && held.root != cp.head.root {
            // Only reachable at size 0 (a cosigned size was checked above): the empty tree.
            return Err(WitnessError::StaleOldSize {
                origin,
                old: req.old_size,
                held: held.size,
            });
        }
        let consistent = if req.old_size == 0 {
            req.proof.is_empty()
        } else {
            verify_consistency(req.old_size, size, &held.root, &cp.head.root, &req.proof).is_ok()
        };
        if !consistent {
            let err = WitnessError::Inconsistent {
                origin: origin.clone(),
                old: req.old_size,
                size,
            };
            if let Some(note) = &held.note {
                record("inconsistent", note, &err.to_string())?;
            }
            return Err(err);
        }
        // The auditing witness: judge the log up to this checkpoint before recording it,
        // resuming from what the last round of this log judged (under the same policy). No
        // database lock is held meanwhile.
        let statement = match &self.auditor {
            None => None,
            Some(a) => match a.judge(&origin, &req.checkpoint, carried) {
                Ok(judged) => Some(judged),
                Err(findings) => {
                    let err = WitnessError::Unjustified {
                        origin: origin.clone(),
                        size,
                        findings,
                    };
                    record(
                        "unjustified",
                        held.note.as_deref().unwrap_or_default(),
                        &err.to_string(),
                    )?;
                    return Err(err);
                }
            },
        };
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(state_err(&path))?;
        // Nothing else records this log's checkpoints while its round lock is held; if the
        // state changed anyway (another process on the same folder), answer as for a stale
        // old size: the caller retries from what is held now.
        let now_held = self.held(&tx, &origin)?;
        if now_held.size != held.size || now_held.root != held.root {
            return Err(WitnessError::StaleOldSize {
                origin,
                old: req.old_size,
                held: now_held.size,
            });
        }
        tx.execute(
            "INSERT INTO cosigned (origin, size, root, note, first_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (origin, size) DO NOTHING",
            params![
                origin,
                size_i,
                cp.head.root.0.as_slice(),
                req.checkpoint,
                now_i
            ],
        )
        .map_err(state_err(&path))?;
        tx.execute(
            "UPDATE logs SET size = ?2, root = ?3, note = ?4 WHERE origin = ?1",
            params![origin, size_i, cp.head.root.0.as_slice(), req.checkpoint],
        )
        .map_err(state_err(&path))?;
        // What this round judged, for the next (in the same transaction as the cosigned
        // checkpoint: a kill leaves both or neither).
        if let Some(j) = &statement
            && let Some(carry) = &j.carry
        {
            tx.execute(
                "INSERT INTO audited (origin, policy, size, entries_read, carry, at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (origin) DO UPDATE SET \
                 policy = ?2, size = ?3, entries_read = ?4, carry = ?5, at = ?6",
                params![
                    origin,
                    j.policy.0.as_slice(),
                    to_i64(carry.head.size, "judged size")?,
                    to_i64(j.entries_read, "entries read")?,
                    carry.to_json(),
                    now_i
                ],
            )
            .map_err(state_err(&path))?;
        }
        tx.commit().map_err(state_err(&path))?;
        drop(conn);
        if self.stop_after_commit {
            return Err(WitnessError::Stopped { origin, size });
        }
        let note = signed_note::Note::from_bytes(req.checkpoint.as_bytes())
            .map_err(|e| WitnessError::Checkpoint(e.to_string()))?;
        let body = std::str::from_utf8(note.text())
            .map_err(|e| WitnessError::Checkpoint(e.to_string()))?;
        let mut answer = self.key.cosign(now, body);
        if let Some(j) = statement {
            answer.push_str(&self.key.state(now, &j.policy, body));
        }
        Ok(answer)
    }

    /// The state held for `origin` (an unknown log is refused).
    fn held(&self, tx: &rusqlite::Transaction<'_>, origin: &str) -> Result<Held, WitnessError> {
        let path = &self.db_path;
        let held = tx
            .query_row(
                "SELECT vkey, size, root, note FROM logs WHERE origin = ?1",
                [origin],
                |r| {
                    let root: Option<Vec<u8>> = r.get(2)?;
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, root, r.get(3)?))
                },
            )
            .optional()
            .map_err(state_err(path))?
            .ok_or_else(|| WitnessError::UnknownLog(origin.to_string()))?;
        Ok(Held {
            vkey: held.0,
            size: to_u64(held.1),
            root: match held.2 {
                Some(b) => Digest32(b.as_slice().try_into().map_err(|_| WitnessError::State {
                    path: path.clone(),
                    why: format!("stored root of {origin:?} is not 32 bytes"),
                })?),
                None => empty_root(),
            },
            note: held.3,
        })
    }

    /// The carry of `origin`'s last audited round, if it was judged under `auditor`'s policy
    /// (a carry that does not read back is not resumed from: the log is audited from its
    /// start, which is sound, only slower).
    fn carried(
        &self,
        tx: &rusqlite::Transaction<'_>,
        origin: &str,
        auditor: &dyn crate::auditing::Audit,
    ) -> Result<Option<LogCarry>, WitnessError> {
        let row: Option<(Vec<u8>, String)> = tx
            .query_row(
                "SELECT policy, carry FROM audited WHERE origin = ?1",
                [origin],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(state_err(&self.db_path))?;
        let Some((policy, json)) = row else {
            return Ok(None);
        };
        if policy.as_slice() != auditor.policy_digest().0.as_slice() {
            return Ok(None);
        }
        match LogCarry::from_json(&json) {
            Ok(c) if c.origin == origin => Ok(Some(c)),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::warn!("{origin}: stored audit carry not used: {e}");
                Ok(None)
            }
        }
    }

    /// The auditing witness's incremental audit of `origin`: the size judged, and the entries
    /// read in the last round (`None` before the first cosigned round).
    pub fn audited(&self, origin: &str) -> Result<Option<Audited>, WitnessError> {
        let conn = self.conn()?;
        conn.query_row(
            "SELECT size, entries_read FROM audited WHERE origin = ?1",
            [origin],
            |r| {
                Ok(Audited {
                    size: to_u64(r.get(0)?),
                    entries_read: to_u64(r.get(1)?),
                })
            },
        )
        .optional()
        .map_err(state_err(&self.db_path))
    }
}

/// An auditing witness's incremental audit of one log ([`Witness::audited`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Audited {
    /// Entries judged (the size of the checkpoint the next round resumes from).
    pub size: u64,
    /// Entries read and judged in the last round.
    pub entries_read: u64,
}

fn write_secret(path: &Path, s: &str) -> Result<(), WitnessError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| io_err(path, e))?;
    f.write_all(s.as_bytes()).map_err(|e| io_err(path, e))?;
    f.sync_all().map_err(|e| io_err(path, e))
}
