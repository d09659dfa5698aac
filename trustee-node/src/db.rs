//! The node's SQLite database: the audit log (append-only), its RFC 9162 tree heads, the
//! release counters, the warrants seen and the cancellations.
//!
//! WAL journal, `synchronous=FULL`: a transaction that returned from COMMIT survives a crash or
//! power cut. Every batch of log entries and the counters it moves are written in ONE
//! transaction ([`Db::commit`]); the caller sends nothing until it returns. Schema migrations
//! are SQL files under `trustee-node/migrations/`, applied in order, tracked by
//! `PRAGMA user_version`.

use crate::error::NodeError;
use escrow_core::audit::tiles::{UpperLevels, UpperLevelsBuilder};
use escrow_core::audit::{EntryKind, Frontier, LogEntry, TreeHead, leaf_hash};
use escrow_core::codec::{CiphertextDigest, Digest32, SetId, WarrantDigest};
use escrow_core::time::Timestamp;
use escrow_core::warrant::{
    CancellationEnvelope, CancellationPayload, RenewalChains, Warrant, WarrantEnvelope,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Schema migrations, in order; migration `i` (1-based) brings `user_version` to `i`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_audit_log.sql"),
    include_str!("../migrations/0002_derived_tables_frozen.sql"),
];

/// How long a write waits for a lock held by another connection before failing (closed).
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Everything one request writes, committed atomically.
#[derive(Debug, Default)]
pub struct Batch {
    /// New log entries; their sequence numbers must continue the log.
    pub entries: Vec<LogEntry>,
    /// New release counters: (warrant id, ciphertext digest, sequence of its release entry).
    pub releases: Vec<(String, CiphertextDigest, u64)>,
    /// A warrant seen for the first time: (digest, id, envelope JSON, sequence).
    pub warrant: Option<(WarrantDigest, String, String, u64)>,
    /// An accepted cancellation: (warrant id, cancellation digest, envelope JSON, sequence).
    pub cancellation: Option<(String, Digest32, String, u64)>,
}

/// Most entries [`Db::append_bulk`] writes in one transaction.
pub const BULK_CHUNK: u64 = 10_000;

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
    first_setup: Option<(Digest32, Digest32)>,
    /// The sets whose share-destroyed entries the log holds.
    destroyed: Vec<Digest32>,
    chains: RenewalChains,
    /// The tile hashes of levels 1 and above, derived while [`Db::verify`] checked the log.
    upper: UpperLevels,
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

/// Distinct ciphertexts released under `warrant_id`, through any connection.
pub fn released_count(conn: &Connection, path: &Path, warrant_id: &str) -> Result<u64, NodeError> {
    let n: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM releases WHERE warrant_id = ?1",
            params![warrant_id],
            |r| r.get(0),
        )
        .map_err(db_err(path))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Was `ct` released under `warrant_id`? Through any connection.
pub fn is_released(
    conn: &Connection,
    path: &Path,
    warrant_id: &str,
    ct: &CiphertextDigest,
) -> Result<bool, NodeError> {
    let mut st = conn
        .prepare_cached("SELECT 1 FROM releases WHERE warrant_id = ?1 AND ciphertext = ?2")
        .map_err(db_err(path))?;
    let r: Option<i64> = st
        .query_row(params![warrant_id, ct.as_bytes().as_slice()], |r| r.get(0))
        .optional()
        .map_err(db_err(path))?;
    Ok(r.is_some())
}

/// Read entries `[start, end)` through any connection, stopping before the entry that would
/// take the sum of their bytes over `max_bytes` (the first entry is always read).
pub fn read_entries(
    conn: &Connection,
    path: &Path,
    start: u64,
    end: u64,
    max_bytes: usize,
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
    let mut total = 0usize;
    for row in rows {
        let (seq, bytes, lh) = row.map_err(db_err(path))?;
        total = total.saturating_add(bytes.len());
        if total > max_bytes && !out.is_empty() {
            break;
        }
        out.push(StoredEntry {
            seq: u64::try_from(seq).unwrap_or(0),
            bytes,
            leaf_hash: digest_from(&lh, "leaf hash")?,
        });
    }
    Ok(out)
}

/// The leaf hashes `[start, end)` (one tile's worth at a time for the tile endpoints).
pub fn read_leaf_hash_range(
    conn: &Connection,
    path: &Path,
    start: u64,
    end: u64,
) -> Result<Vec<Digest32>, NodeError> {
    let mut st = conn
        .prepare_cached(
            "SELECT leaf_hash FROM log_entries WHERE seq >= ?1 AND seq < ?2 ORDER BY seq",
        )
        .map_err(db_err(path))?;
    let rows = st
        .query_map(params![to_i64(start), to_i64(end)], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .map_err(db_err(path))?;
    let mut out = Vec::with_capacity(
        usize::try_from(end.saturating_sub(start))
            .unwrap_or(0)
            .min(1 << 16),
    );
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
        Ok(Db::empty(conn, path))
    }

    /// A database handle on `conn` whose in-memory state (tree, counters, chains) is still
    /// empty: [`Db::verify`] fills it from the tables.
    fn empty(conn: Connection, path: &Path) -> Db {
        Db {
            conn,
            path: path.to_path_buf(),
            frontier: Frontier::new(),
            latest_policy: None,
            first_setup: None,
            destroyed: Vec::new(),
            chains: RenewalChains::new(),
            upper: UpperLevels::default(),
        }
    }

    /// Open an existing database: refuse one that `init` never made (no schema: an empty or
    /// truncated file), migrate, then check the whole log against itself and against
    /// `anchor`, the last tree head this node signed (see [`Db::verify`]).
    pub fn open(path: &Path, anchor: Option<&TreeHead>) -> Result<Db, NodeError> {
        let no_log = || {
            NodeError::LogDamaged(format!(
                "{} holds no audit log (an empty or truncated file, not one `trustee-node init` made); \
                 refusing to start on a fresh log, which would forget every cancellation and spent release limit",
                path.display()
            ))
        };
        // Checked before SQLite touches the file (it would write a header into an empty one).
        if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
            return Err(no_log());
        }
        let mut conn = connect(path, false)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db_err(path))?;
        if version == 0 {
            return Err(no_log());
        }
        migrate(&mut conn, path)?;
        let mut db = Db::empty(conn, path);
        db.verify(anchor)?;
        Ok(db)
    }

    /// The (trustee-set id, policy digest) of the log's first entry, its setup entry.
    pub fn first_setup(&self) -> Option<(Digest32, Digest32)> {
        self.first_setup
    }

    /// Parent links of every warrant seen and every cancelled id, from the checked tables.
    pub fn renewal_chains(&self) -> &RenewalChains {
        &self.chains
    }

    /// The tile hashes of levels 1 and above of the log as [`Db::open`] checked it (one per full
    /// tile below; a node serves tiles and computes proofs from them, see `server::tiles`).
    pub fn upper_levels(&self) -> &UpperLevels {
        &self.upper
    }

    /// The sequence number the next entry gets.
    pub fn next_seq(&self) -> u64 {
        self.frontier.size()
    }

    /// Does the log hold a share-destroyed entry for `set`?
    pub fn share_destroyed_logged(&self, set: &SetId) -> bool {
        self.destroyed.contains(&set.digest())
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
    /// entry 0 is a setup entry; every stored leaf hash equals the hash of the stored bytes;
    /// every entry decodes and carries its own sequence number; every recorded tree head equals
    /// the root recomputed at its size; `anchor` (the last tree head this node signed, kept
    /// outside the database) is a prefix of the log: the log is at least that long and has that
    /// root at that size. Then every derived table against the entries: every release counter
    /// points at a release entry for that ciphertext and every release entry is counted; every
    /// warrants row is the envelope a warrant-seen entry names, and every warrant-seen entry has
    /// its row; every cancellations row is the envelope a cancellation entry names, for the id
    /// it cancels, and every cancellation entry has its row. Builds the in-memory frontier and
    /// the renewal chains. Any mismatch refuses (fail closed), naming the table and row.
    pub fn verify(&mut self, anchor: Option<&TreeHead>) -> Result<(), NodeError> {
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
        let mut frontier = Frontier::new();
        let mut upper = UpperLevelsBuilder::default();
        let mut latest_policy = None;
        let mut first_setup = None;
        let mut destroyed = Vec::new();
        let mut released: HashMap<u64, (WarrantDigest, CiphertextDigest)> = HashMap::new(); // seq -> (warrant, ct)
        let mut seen: HashMap<u64, WarrantDigest> = HashMap::new(); // seq -> warrant digest
        let mut cancels: HashMap<u64, (WarrantDigest, Digest32)> = HashMap::new(); // seq -> (warrant, cancellation)
        let mut anchor_checked = false;
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
                let (seq, bytes, lh_stored) = row.map_err(db_err(&path))?;
                let want = frontier.size();
                if u64::try_from(seq).ok() != Some(want) {
                    return Err(NodeError::LogDamaged(format!(
                        "entry {seq} found where entry {want} was expected"
                    )));
                }
                let lh = leaf_hash(&bytes);
                if digest_from(&lh_stored, "leaf hash")? != lh {
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
                match e.kind {
                    EntryKind::Setup => {
                        latest_policy = e.policy;
                        if want == 0
                            && let (Some(set), Some(policy)) = (e.document, e.policy)
                        {
                            first_setup = Some((set, policy));
                        }
                    }
                    EntryKind::Release => {
                        if let (Some(w), Some(ct)) = (e.warrant, e.ciphertexts.first()) {
                            released.insert(want, (w, *ct));
                        }
                    }
                    EntryKind::WarrantSeen => {
                        if let Some(w) = e.warrant {
                            seen.insert(want, w);
                        }
                    }
                    EntryKind::Cancellation => {
                        if let (Some(w), Some(c)) = (e.warrant, e.document) {
                            cancels.insert(want, (w, c));
                        }
                    }
                    EntryKind::ShareDestroyed => destroyed.extend(e.document),
                    _ => {}
                }
                if want == 0 && first_setup.is_none() {
                    return Err(NodeError::LogDamaged(format!(
                        "the log does not begin with a setup entry (entry 0 is a {} entry): \
                         log.db was replaced or rewritten",
                        e.kind
                    )));
                }
                frontier.push(lh);
                upper.push(lh);
                if heads
                    .get(&frontier.size())
                    .is_some_and(|root| *root != frontier.root())
                {
                    return Err(NodeError::LogDamaged(format!(
                        "tree head at size {} does not match the entries (an entry before it was changed)",
                        frontier.size()
                    )));
                }
                if let Some(a) = anchor
                    && a.size == frontier.size()
                {
                    if a.root != frontier.root() {
                        return Err(NodeError::LogDamaged(format!(
                            "the log's root at size {} is not the root of the tree head this node signed \
                             at that size: log.db was replaced by another log or rewritten",
                            a.size
                        )));
                    }
                    anchor_checked = true;
                }
            }
        }
        if frontier.size() == 0 {
            return Err(NodeError::LogDamaged(
                "the log is empty: no setup entry (log.db was truncated or replaced); \
                 refusing to start on a fresh log, which would forget every cancellation and spent release limit"
                    .into(),
            ));
        }
        if let Some(a) = anchor
            && !anchor_checked
        {
            return Err(NodeError::LogDamaged(format!(
                "the log holds {} entries but this node signed a tree head of size {}: \
                 log.db was truncated or rolled back to an earlier copy",
                frontier.size(),
                a.size
            )));
        }
        match heads.last_key_value() {
            Some((size, _)) if *size != frontier.size() => {
                return Err(NodeError::LogDamaged(format!(
                    "latest tree head has size {size} but the log holds {} entries",
                    frontier.size()
                )));
            }
            None => {
                return Err(NodeError::LogDamaged(
                    "log entries without any tree head".into(),
                ));
            }
            _ => {}
        }
        let mut chains = RenewalChains::new();
        let warrant_ids = self.check_warrants(&seen, &mut chains)?;
        self.check_cancellations(&cancels, &mut chains)?;
        self.check_counters(&released, &warrant_ids)?;
        self.frontier = frontier;
        self.latest_policy = latest_policy;
        self.first_setup = first_setup;
        self.destroyed = destroyed;
        self.chains = chains;
        self.upper = upper.finish();
        Ok(())
    }

    /// Run `sql` (no parameters) and hand each row, as `read` reads it, to `each`; the first
    /// error stops it.
    fn for_each_row<T>(
        &self,
        sql: &str,
        read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        mut each: impl FnMut(T) -> Result<(), NodeError>,
    ) -> Result<(), NodeError> {
        let path = &self.path;
        let mut st = self.conn.prepare(sql).map_err(db_err(path))?;
        let rows = st.query_map([], read).map_err(db_err(path))?;
        for row in rows {
            each(row.map_err(db_err(path))?)?;
        }
        Ok(())
    }

    /// Table `warrants` against the warrant-seen entries; returns digest -> warrant id.
    fn check_warrants(
        &self,
        seen: &HashMap<u64, WarrantDigest>,
        chains: &mut RenewalChains,
    ) -> Result<HashMap<WarrantDigest, String>, NodeError> {
        let mut ids = HashMap::new();
        let mut rows_at: HashSet<u64> = HashSet::new();
        self.for_each_row(
            "SELECT digest, warrant_id, envelope, first_seq FROM warrants",
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
            |(d, id, env, seq)| {
                let bad = |why: String| {
                    NodeError::LogDamaged(format!(
                        "table warrants, row for warrant {id:?} (entry {seq}): {why}"
                    ))
                };
                let d = WarrantDigest::from_bytes(digest_from(&d, "warrant digest")?.0);
                let seq = u64::try_from(seq).unwrap_or(u64::MAX);
                if seen.get(&seq) != Some(&d) {
                    return Err(bad(
                        "entry is not the warrant-seen entry of this digest".into()
                    ));
                }
                let env = WarrantEnvelope::from_json(&env)
                    .map_err(|e| bad(format!("stored envelope does not parse: {e}")))?;
                if env.digest() != d {
                    return Err(bad("stored envelope does not have the row's digest".into()));
                }
                let w = Warrant::parse(&env)
                    .map_err(|e| bad(format!("stored warrant does not parse: {e}")))?;
                if w.id() != id {
                    return Err(bad(format!("stored warrant has id {:?}", w.id())));
                }
                chains.record_warrant(w.payload());
                rows_at.insert(seq);
                ids.insert(d, id);
                Ok(())
            },
        )?;
        if let Some(seq) = seen.keys().find(|s| !rows_at.contains(s)) {
            return Err(NodeError::LogDamaged(format!(
                "table warrants has no row for the warrant-seen entry {seq}"
            )));
        }
        Ok(ids)
    }

    /// Table `cancellations` against the cancellation entries.
    fn check_cancellations(
        &self,
        cancels: &HashMap<u64, (WarrantDigest, Digest32)>,
        chains: &mut RenewalChains,
    ) -> Result<(), NodeError> {
        let mut rows_at: HashSet<u64> = HashSet::new();
        self.for_each_row(
            "SELECT warrant_id, digest, envelope, seq FROM cancellations",
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
            |(id, d, env, seq)| {
                let bad = |why: String| {
                    NodeError::LogDamaged(format!(
                        "table cancellations, row for warrant {id:?} (entry {seq}): {why}"
                    ))
                };
                let d = digest_from(&d, "cancellation digest")?;
                let seq = u64::try_from(seq).unwrap_or(u64::MAX);
                let Some((warrant, doc)) = cancels.get(&seq) else {
                    return Err(bad("entry is not a cancellation entry".into()));
                };
                if *doc != d {
                    return Err(bad(
                        "the cancellation entry names another cancellation digest".into(),
                    ));
                }
                let env = CancellationEnvelope::from_json(&env)
                    .map_err(|e| bad(format!("stored envelope does not parse: {e}")))?;
                if env.digest() != d {
                    return Err(bad("stored envelope does not have the row's digest".into()));
                }
                let p: CancellationPayload = serde_json::from_slice(&env.envelope().payload)
                    .map_err(|e| bad(format!("stored cancellation does not parse: {e}")))?;
                if p.warrant_id != id {
                    return Err(bad(format!(
                        "the stored cancellation cancels warrant {:?}",
                        p.warrant_id
                    )));
                }
                if p.warrant_digest != *warrant {
                    return Err(bad(
                        "the cancellation entry names another warrant digest".into()
                    ));
                }
                chains.cancel(&id);
                rows_at.insert(seq);
                Ok(())
            },
        )?;
        if let Some(seq) = cancels.keys().find(|s| !rows_at.contains(s)) {
            return Err(NodeError::LogDamaged(format!(
                "table cancellations has no row for the cancellation entry {seq}"
            )));
        }
        Ok(())
    }

    /// Table `releases` (the release counters) against the release entries.
    fn check_counters(
        &self,
        released: &HashMap<u64, (WarrantDigest, CiphertextDigest)>,
        warrant_ids: &HashMap<WarrantDigest, String>,
    ) -> Result<(), NodeError> {
        let mut counted: HashSet<(String, CiphertextDigest)> = HashSet::new();
        self.for_each_row(
            "SELECT warrant_id, ciphertext, first_seq FROM releases",
            |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
            ))
            },
            |(id, ct, seq)| {
            let ct =
                CiphertextDigest::from_bytes(digest_from(&ct, "release counter ciphertext")?.0);
            let seq = u64::try_from(seq).unwrap_or(u64::MAX);
            match released.get(&seq) {
                Some((w, c)) if *c == ct && warrant_ids.get(w) == Some(&id) => {}
                _ => {
                    return Err(NodeError::LogDamaged(format!(
                        "table releases, row for warrant {id:?} (entry {seq}): the release counter \
                         does not point at its release entry"
                    )));
                }
            }
            counted.insert((id, ct));
                Ok(())
            },
        )?;
        for (seq, (w, ct)) in released {
            let id = warrant_ids.get(w).ok_or_else(|| {
                NodeError::LogDamaged(format!(
                    "release entry {seq} names a warrant never recorded"
                ))
            })?;
            if !counted.contains(&(id.clone(), *ct)) {
                return Err(NodeError::LogDamaged(format!(
                    "table releases has no counter for release entry {seq}"
                )));
            }
        }
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
        self.destroyed.extend(
            batch
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::ShareDestroyed)
                .filter_map(|e| e.document),
        );
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

    /// Bulk append, for experiments that grow a log to 10⁵–10⁶ entries without paying a
    /// release per entry (on a stopped node: one writer). `next(seq)` makes the entry numbered
    /// `seq`, from [`Db::next_seq`] on, until the log holds `target` entries. They go through
    /// [`Db::commit`] — the same leaf hashes, tree heads and release counters as a release —
    /// in transactions of at most [`BULK_CHUNK`] entries; a release entry's ciphertexts are
    /// counted against `warrant_id`. The write-ahead log is folded into the database at the
    /// end. The tree head after the last entry.
    pub fn append_bulk(
        &mut self,
        target: u64,
        warrant_id: &str,
        time: Timestamp,
        mut next: impl FnMut(u64) -> LogEntry,
    ) -> Result<TreeHead, NodeError> {
        while self.next_seq() < target {
            let first = self.next_seq();
            let end = target.min(first.saturating_add(BULK_CHUNK));
            let mut batch = Batch::default();
            for seq in first..end {
                let e = next(seq);
                if e.kind == EntryKind::Release {
                    batch.releases.extend(
                        e.ciphertexts
                            .iter()
                            .map(|ct| (warrant_id.to_string(), *ct, seq)),
                    );
                }
                batch.entries.push(e);
            }
            self.commit(&batch, time)?;
        }
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(db_err(&self.path))?;
        Ok(self.head())
    }

    /// Distinct ciphertexts released under `warrant_id` so far.
    pub fn released_count(&self, warrant_id: &str) -> Result<u64, NodeError> {
        released_count(&self.conn, &self.path, warrant_id)
    }

    /// Was `ct` released under `warrant_id` before?
    pub fn is_released(&self, warrant_id: &str, ct: &CiphertextDigest) -> Result<bool, NodeError> {
        is_released(&self.conn, &self.path, warrant_id, ct)
    }

    /// Has this warrant digest been recorded?
    pub fn warrant_known(&self, digest: &WarrantDigest) -> Result<bool, NodeError> {
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
