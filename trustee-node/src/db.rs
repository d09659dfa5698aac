//! The node's SQLite database: the audit log (append-only), its RFC 9162 tree heads, the
//! release counters, the warrants seen and the cancellations.
//!
//! WAL journal, `synchronous=FULL`: a transaction that returned from COMMIT survives a crash or
//! power cut. Every batch of log entries and the counters it moves are written in ONE
//! transaction ([`Db::commit`]); the caller sends nothing until it returns. Schema migrations
//! are SQL files under `trustee-node/migrations/`, applied in order, tracked by
//! `PRAGMA user_version`.

use crate::error::NodeError;
use escrow_core::audit::{EntryKind, Frontier, LogEntry, TreeHead, leaf_hash};
use escrow_core::codec::Digest32;
use escrow_core::time::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Schema migrations, in order; migration `i` (1-based) brings `user_version` to `i`.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_audit_log.sql")];

/// How long a write waits for a lock held by another connection before failing (closed).
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Everything one request writes, committed atomically.
#[derive(Debug, Default)]
pub struct Batch {
    /// New log entries; their sequence numbers must continue the log.
    pub entries: Vec<LogEntry>,
    /// New release counters: (warrant id, ciphertext digest, sequence of its release entry).
    pub releases: Vec<(String, Digest32, u64)>,
    /// A warrant seen for the first time: (digest, id, envelope JSON, sequence).
    pub warrant: Option<(Digest32, String, String, u64)>,
    /// An accepted cancellation: (warrant id, cancellation digest, envelope JSON, sequence).
    pub cancellation: Option<(String, Digest32, String, u64)>,
}

/// One stored log entry.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// Leaf index.
    pub seq: u64,
    /// Canonical bytes.
    pub bytes: Vec<u8>,
    /// Stored leaf hash.
    pub leaf_hash: Digest32,
}

/// The writer connection and the in-memory tree frontier.
#[derive(Debug)]
pub struct Db {
    conn: Connection,
    path: PathBuf,
    frontier: Frontier,
    latest_policy: Option<Digest32>,
}

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> NodeError + '_ {
    move |e| NodeError::Database {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

fn to_i64(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

fn digest_from(bytes: &[u8], what: &str) -> Result<Digest32, NodeError> {
    <[u8; 32]>::try_from(bytes)
        .map(Digest32)
        .map_err(|_| NodeError::LogDamaged(format!("{what} is not 32 bytes")))
}

/// Open a connection with the node's settings.
fn connect(path: &Path, create: bool) -> Result<Connection, NodeError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    } else if !path.exists() {
        return Err(NodeError::State(format!(
            "{} is missing (run `trustee-node init` first)",
            path.display()
        )));
    }
    let conn = Connection::open_with_flags(path, flags).map_err(db_err(path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err(path))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(db_err(path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(NodeError::Database {
            path: path.to_path_buf(),
            why: format!("could not enable WAL (got {mode})"),
        });
    }
    conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
        .map_err(db_err(path))?;
    Ok(conn)
}

/// A second, read-only connection for the log endpoints (so that reading the log never
/// waits for a release batch in progress).
pub fn open_reader(path: &Path) -> Result<Connection, NodeError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err(path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err(path))?;
    Ok(conn)
}

/// Read entries `[start, end)` through any connection.
pub fn read_entries(
    conn: &Connection,
    path: &Path,
    start: u64,
    end: u64,
) -> Result<Vec<StoredEntry>, NodeError> {
    let mut st = conn
        .prepare_cached("SELECT seq, entry, leaf_hash FROM log_entries WHERE seq >= ?1 AND seq < ?2 ORDER BY seq")
        .map_err(db_err(path))?;
    let rows = st
        .query_map(params![to_i64(start), to_i64(end)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .map_err(db_err(path))?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, bytes, lh) = row.map_err(db_err(path))?;
        out.push(StoredEntry {
            seq: u64::try_from(seq).unwrap_or(0),
            bytes,
            leaf_hash: digest_from(&lh, "leaf hash")?,
        });
    }
    Ok(out)
}

/// The leaf hashes `[0, size)` (for proofs).
pub fn read_leaf_hashes(
    conn: &Connection,
    path: &Path,
    size: u64,
) -> Result<Vec<Digest32>, NodeError> {
    let mut st = conn
        .prepare_cached("SELECT leaf_hash FROM log_entries WHERE seq < ?1 ORDER BY seq")
        .map_err(db_err(path))?;
    let rows = st
        .query_map(params![to_i64(size)], |r| r.get::<_, Vec<u8>>(0))
        .map_err(db_err(path))?;
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 20));
    for row in rows {
        out.push(digest_from(&row.map_err(db_err(path))?, "leaf hash")?);
    }
    Ok(out)
}

/// The stored envelope of a warrant (or a cancellation) by digest: the sealed copy an auditor
/// may ask to be disclosed.
pub fn read_envelope(
    conn: &Connection,
    path: &Path,
    digest: &Digest32,
) -> Result<Option<String>, NodeError> {
    for sql in [
        "SELECT envelope FROM warrants WHERE digest = ?1",
        "SELECT envelope FROM cancellations WHERE digest = ?1",
    ] {
        let mut st = conn.prepare_cached(sql).map_err(db_err(path))?;
        let mut rows = st
            .query(params![digest.as_bytes().as_slice()])
            .map_err(db_err(path))?;
        if let Some(row) = rows.next().map_err(db_err(path))? {
            return Ok(Some(row.get::<_, String>(0).map_err(db_err(path))?));
        }
    }
    Ok(None)
}

impl Db {
    /// Create a new database (the file must not exist) with the latest schema.
    pub fn create(path: &Path) -> Result<Db, NodeError> {
        if path.exists() {
            return Err(NodeError::State(format!(
                "{} already exists",
                path.display()
            )));
        }
        let mut conn = connect(path, true)?;
        migrate(&mut conn, path)?;
        Ok(Db {
            conn,
            path: path.to_path_buf(),
            frontier: Frontier::new(),
            latest_policy: None,
        })
    }

    /// Open an existing database: migrate, then check the whole log (see [`Db::verify`]).
    pub fn open(path: &Path) -> Result<Db, NodeError> {
        let mut conn = connect(path, false)?;
        migrate(&mut conn, path)?;
        let mut db = Db {
            conn,
            path: path.to_path_buf(),
            frontier: Frontier::new(),
            latest_policy: None,
        };
        db.verify()?;
        Ok(db)
    }

    /// The sequence number the next entry gets.
    pub fn next_seq(&self) -> u64 {
        self.frontier.size()
    }

    /// The policy digest of the latest setup entry.
    pub fn latest_policy(&self) -> Option<Digest32> {
        self.latest_policy
    }

    /// The current tree head.
    pub fn head(&self) -> TreeHead {
        self.frontier.head()
    }

    /// Check the log from scratch: SQLite's own check; sequence numbers from 0 without gaps;
    /// every stored leaf hash equals the hash of the stored bytes; every entry decodes and
    /// carries its own sequence number; every recorded tree head equals the root recomputed
    /// at its size; every release counter points at a release entry for that ciphertext, and
    /// every release entry is counted. Builds the in-memory frontier.
    pub fn verify(&mut self) -> Result<(), NodeError> {
        let path = self.path.clone();
        let ok: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(db_err(&path))?;
        if ok != "ok" {
            return Err(NodeError::LogDamaged(format!(
                "SQLite integrity check: {ok}"
            )));
        }
        let mut heads: BTreeMap<u64, Digest32> = BTreeMap::new();
        {
            let mut st = self
                .conn
                .prepare("SELECT size, root FROM tree_heads ORDER BY size")
                .map_err(db_err(&path))?;
            let rows = st
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
                .map_err(db_err(&path))?;
            for row in rows {
                let (size, root) = row.map_err(db_err(&path))?;
                heads.insert(
                    u64::try_from(size).unwrap_or(u64::MAX),
                    digest_from(&root, "tree head root")?,
                );
            }
        }
        let warrant_ids: HashMap<Digest32, String> = {
            let mut st = self
                .conn
                .prepare("SELECT digest, warrant_id FROM warrants")
                .map_err(db_err(&path))?;
            let rows = st
                .query_map([], |r| {
                    Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(db_err(&path))?;
            let mut m = HashMap::new();
            for row in rows {
                let (d, id) = row.map_err(db_err(&path))?;
                m.insert(digest_from(&d, "warrant digest")?, id);
            }
            m
        };
        let mut frontier = Frontier::new();
        let mut latest_policy = None;
        let mut released: HashMap<u64, (Digest32, Digest32)> = HashMap::new(); // seq -> (warrant, ct)
        {
            let mut st = self
                .conn
                .prepare("SELECT seq, entry, leaf_hash FROM log_entries ORDER BY seq")
                .map_err(db_err(&path))?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                    ))
                })
                .map_err(db_err(&path))?;
            for row in rows {
                let (seq, bytes, lh) = row.map_err(db_err(&path))?;
                let want = frontier.size();
                if u64::try_from(seq).ok() != Some(want) {
                    return Err(NodeError::LogDamaged(format!(
                        "entry {seq} found where entry {want} was expected"
                    )));
                }
                if digest_from(&lh, "leaf hash")? != leaf_hash(&bytes) {
                    return Err(NodeError::LogDamaged(format!(
                        "entry {seq}: stored leaf hash does not match its bytes"
                    )));
                }
                let e = LogEntry::from_bytes(&bytes).map_err(|err| {
                    NodeError::LogDamaged(format!("entry {seq} does not decode: {err}"))
                })?;
                if e.sequence != want {
                    return Err(NodeError::LogDamaged(format!(
                        "entry {seq} carries sequence number {}",
                        e.sequence
                    )));
                }
                if e.kind == EntryKind::Setup {
                    latest_policy = e.policy;
                }
                if e.kind == EntryKind::Release
                    && let (Some(w), Some(ct)) = (e.warrant, e.ciphertexts.first())
                {
                    released.insert(want, (w, *ct));
                }
                frontier.push(leaf_hash(&bytes));
                if heads
                    .get(&frontier.size())
                    .is_some_and(|root| *root != frontier.root())
                {
                    return Err(NodeError::LogDamaged(format!(
                        "tree head at size {} does not match the entries (an entry before it was changed)",
                        frontier.size()
                    )));
                }
            }
        }
        match heads.last_key_value() {
            Some((size, _)) if *size != frontier.size() => {
                return Err(NodeError::LogDamaged(format!(
                    "latest tree head has size {size} but the log holds {} entries",
                    frontier.size()
                )));
            }
            None if frontier.size() != 0 => {
                return Err(NodeError::LogDamaged(
                    "log entries without any tree head".into(),
                ));
            }
            _ => {}
        }
        // Counters against the log.
        let mut counted: HashSet<(String, Digest32)> = HashSet::new();
        {
            let mut st = self
                .conn
                .prepare("SELECT warrant_id, ciphertext, first_seq FROM releases")
                .map_err(db_err(&path))?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(db_err(&path))?;
            for row in rows {
                let (id, ct, seq) = row.map_err(db_err(&path))?;
                let ct = digest_from(&ct, "release counter ciphertext")?;
                let seq = u64::try_from(seq).unwrap_or(u64::MAX);
                match released.get(&seq) {
                    Some((w, c)) if *c == ct && warrant_ids.get(w) == Some(&id) => {}
                    _ => {
                        return Err(NodeError::LogDamaged(format!(
                            "release counter for warrant {id:?} points at entry {seq}, which is not its release entry"
                        )));
                    }
                }
                counted.insert((id, ct));
            }
        }
        for (seq, (w, ct)) in &released {
            let id = warrant_ids.get(w).ok_or_else(|| {
                NodeError::LogDamaged(format!(
                    "release entry {seq} names a warrant never recorded"
                ))
            })?;
            if !counted.contains(&(id.clone(), *ct)) {
                return Err(NodeError::LogDamaged(format!(
                    "release entry {seq} is not in the release counters"
                )));
            }
        }
        self.frontier = frontier;
        self.latest_policy = latest_policy;
        Ok(())
    }

    /// Commit a batch in one IMMEDIATE transaction: every entry, the tree head after them,
    /// the counters, the warrant and cancellation rows. On error nothing is written and the
    /// in-memory tree does not move.
    pub fn commit(&mut self, batch: &Batch, time: Timestamp) -> Result<TreeHead, NodeError> {
        let path = self.path.clone();
        let mut frontier = self.frontier.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err(&path))?;
        {
            let mut ins = tx
                .prepare_cached("INSERT INTO log_entries (seq, kind, time, entry, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(db_err(&path))?;
            for e in &batch.entries {
                if e.sequence != frontier.size() {
                    return Err(NodeError::Database {
                        path: path.clone(),
                        why: format!(
                            "entry numbered {} where {} was next",
                            e.sequence,
                            frontier.size()
                        ),
                    });
                }
                let bytes = e.to_bytes();
                let lh = leaf_hash(&bytes);
                ins.execute(params![
                    to_i64(e.sequence),
                    e.kind.as_str(),
                    e.time.0,
                    bytes,
                    lh.as_bytes().as_slice()
                ])
                .map_err(db_err(&path))?;
                frontier.push(lh);
            }
            if let Some((digest, id, env, seq)) = &batch.warrant {
                tx.execute(
                    "INSERT OR IGNORE INTO warrants (digest, warrant_id, envelope, first_seq) VALUES (?1, ?2, ?3, ?4)",
                    params![digest.as_bytes().as_slice(), id, env, to_i64(*seq)],
                )
                .map_err(db_err(&path))?;
            }
            let mut rel = tx
                .prepare_cached("INSERT OR IGNORE INTO releases (warrant_id, ciphertext, first_seq) VALUES (?1, ?2, ?3)")
                .map_err(db_err(&path))?;
            for (id, ct, seq) in &batch.releases {
                rel.execute(params![id, ct.as_bytes().as_slice(), to_i64(*seq)])
                    .map_err(db_err(&path))?;
            }
            if let Some((id, digest, env, seq)) = &batch.cancellation {
                tx.execute(
                    "INSERT OR IGNORE INTO cancellations (warrant_id, digest, envelope, seq) VALUES (?1, ?2, ?3, ?4)",
                    params![id, digest.as_bytes().as_slice(), env, to_i64(*seq)],
                )
                .map_err(db_err(&path))?;
            }
            if !batch.entries.is_empty() {
                tx.execute(
                    "INSERT INTO tree_heads (size, root, time) VALUES (?1, ?2, ?3)",
                    params![
                        to_i64(frontier.size()),
                        frontier.root().as_bytes().as_slice(),
                        time.0
                    ],
                )
                .map_err(db_err(&path))?;
            }
        }
        tx.commit().map_err(db_err(&path))?;
        self.frontier = frontier;
        if let Some(p) = batch
            .entries
            .iter()
            .rev()
            .find(|e| e.kind == EntryKind::Setup)
            .and_then(|e| e.policy)
        {
            self.latest_policy = Some(p);
        }
        Ok(self.frontier.head())
    }

    /// Distinct ciphertexts released under `warrant_id` so far.
    pub fn released_count(&self, warrant_id: &str) -> Result<u64, NodeError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM releases WHERE warrant_id = ?1",
                params![warrant_id],
                |r| r.get(0),
            )
            .map_err(db_err(&self.path))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Was `ct` released under `warrant_id` before?
    pub fn is_released(&self, warrant_id: &str, ct: &Digest32) -> Result<bool, NodeError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT 1 FROM releases WHERE warrant_id = ?1 AND ciphertext = ?2")
            .map_err(db_err(&self.path))?;
        let r: Option<i64> = st
            .query_row(params![warrant_id, ct.as_bytes().as_slice()], |r| r.get(0))
            .optional()
            .map_err(db_err(&self.path))?;
        Ok(r.is_some())
    }

    /// Has this warrant digest been recorded?
    pub fn warrant_known(&self, digest: &Digest32) -> Result<bool, NodeError> {
        let r: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM warrants WHERE digest = ?1",
                params![digest.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err(&self.path))?;
        Ok(r.is_some())
    }

    /// Every cancelled warrant id.
    pub fn cancelled_ids(&self) -> Result<HashSet<String>, NodeError> {
        let mut st = self
            .conn
            .prepare("SELECT warrant_id FROM cancellations")
            .map_err(db_err(&self.path))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(db_err(&self.path))?;
        let mut out = HashSet::new();
        for r in rows {
            out.insert(r.map_err(db_err(&self.path))?);
        }
        Ok(out)
    }

    /// The log entry that recorded the cancellation of `warrant_id`, if any.
    pub fn cancellation_seq(&self, warrant_id: &str) -> Result<Option<u64>, NodeError> {
        let r: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM cancellations WHERE warrant_id = ?1",
                params![warrant_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err(&self.path))?;
        Ok(r.and_then(|s| u64::try_from(s).ok()))
    }
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), NodeError> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(db_err(path))?;
    let latest = MIGRATIONS.len() as i64;
    if current > latest {
        return Err(NodeError::State(format!(
            "{} has schema version {current}; this build knows up to {latest} (a newer trustee-node wrote it)",
            path.display()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= current {
            continue;
        }
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err(path))?;
        tx.execute_batch(sql).map_err(db_err(path))?;
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))
            .map_err(db_err(path))?;
        tx.commit().map_err(db_err(path))?;
    }
    Ok(())
}
