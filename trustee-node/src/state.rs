//! The state folder: what `init` writes and `serve` reads.
//!
//! ```text
//! STATE/node.json              public: trustee index, set id, policy digest, KDF setting
//! STATE/trustee-set.json       copy of the trustee set
//! STATE/policy.json            the trustee's warrant policy
//! STATE/secrets.sealed.json    key share + signing key, Argon2id + AES-256-GCM (mode 0600)
//! STATE/log.db                 SQLite: audit log, tree heads, counters, cancellations
//! STATE/checkpoint             the last tree head the node signed (C2SP signed note), rewritten
//!                              atomically after every commit: the anchor a truncated, replaced
//!                              or rolled-back log.db is detected against
//! STATE/log-key.pub            the note verifier key of the log key (public; for `verify-log`)
//! ```

pub mod journal;

use crate::db::{Batch, Db};
use crate::error::NodeError;
use crate::sealed::{KdfCost, SealedSecrets, SecretBundle};
use escrow_core::audit::{LogEntry, LogKey, TreeHead, checkpoint};
use escrow_core::codec::{Digest32, SetId, V1};
use escrow_core::keys::PrivateKey;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{KeyShare, TrusteeSet, VerifiedKeyShare};
use escrow_core::warrant::Policy;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// File names inside the state folder.
pub const NODE_FILE: &str = "node.json";
/// Trustee set copy.
pub const SET_FILE: &str = "trustee-set.json";
/// Policy.
pub const POLICY_FILE: &str = "policy.json";
/// Sealed secrets.
pub const SECRETS_FILE: &str = "secrets.sealed.json";
/// Database.
pub const DB_FILE: &str = "log.db";
/// The last signed tree head.
pub const CHECKPOINT_FILE: &str = "checkpoint";
/// The log key's note verifier key.
pub const LOG_KEY_FILE: &str = "log-key.pub";

/// `STATE/node.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// Format version.
    pub version: V1,
    /// Trustee index.
    pub trustee: u16,
    /// Trustee-set id.
    pub set_id: SetId,
    /// Digest of `policy.json` at init.
    pub policy_digest: Digest32,
    /// When `init` ran.
    pub created: Timestamp,
}

/// The node's clock.
pub fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
}

fn read(path: &Path) -> Result<String, NodeError> {
    std::fs::read_to_string(path).map_err(|e| NodeError::io(path, e))
}

fn read_secret(path: &Path) -> Result<Zeroizing<String>, NodeError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| NodeError::io(path, e))
}

/// Write a file, readable by the owner only when `secret`; fsynced.
pub fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), NodeError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut f = opts.open(path).map_err(|e| NodeError::io(path, e))?;
    f.write_all(contents).map_err(|e| NodeError::io(path, e))?;
    f.sync_all().map_err(|e| NodeError::io(path, e))
}

/// Replace `path` atomically with `contents`: a temporary file beside it, fsynced, renamed over
/// it, and the folder fsynced. The old contents are gone from the folder afterwards.
pub fn replace_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), NodeError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!("{name}.tmp"));
    if tmp.exists() {
        std::fs::remove_file(&tmp).map_err(|e| NodeError::io(&tmp, e))?;
    }
    write_file(&tmp, contents, secret)?;
    std::fs::rename(&tmp, path).map_err(|e| NodeError::io(path, e))?;
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| NodeError::io(dir, e))?;
    }
    Ok(())
}

/// The passphrase: `--passphrase-file` (first line) if given, else `TRUSTEE_PASSPHRASE`.
pub fn passphrase(file: Option<&Path>) -> Result<Zeroizing<String>, NodeError> {
    let p = match file {
        Some(f) => {
            let s = read_secret(f)?;
            Zeroizing::new(s.lines().next().unwrap_or("").to_string())
        }
        None => match std::env::var("TRUSTEE_PASSPHRASE") {
            Ok(s) => Zeroizing::new(s),
            Err(_) => return Err(NodeError::NoPassphrase),
        },
    };
    if p.is_empty() {
        return Err(NodeError::NoPassphrase);
    }
    Ok(p)
}

fn load_policy(path: &Path) -> Result<Policy, NodeError> {
    Policy::from_json(&read(path)?).map_err(NodeError::Policy)
}

fn check_signing_key(set: &TrusteeSet, index: u16, key: &PrivateKey) -> Result<(), NodeError> {
    let member = set.member(index)?;
    if member.signing_key != key.public() {
        return Err(NodeError::State(format!(
            "the signing key is not trustee {index}'s signing key in the trustee set"
        )));
    }
    Ok(())
}

/// The lock file in a state folder: held (flock, exclusive) by the one process serving the
/// folder, and by `init` while it writes it. The kernel releases it when the process ends,
/// kill -9 included, so a stale file never blocks a restart.
pub const LOCK_FILE: &str = "serve.lock";

/// The state folder's lock, held until dropped.
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// Take the state folder's lock without waiting; [`NodeError::StateInUse`] if another process
/// (or another node in this process) holds it.
pub fn lock_state(state: &Path) -> Result<StateLock, NodeError> {
    let path = state.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| NodeError::io(&path, e))?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(StateLock { _file: file }),
        Err(fs4::TryLockError::WouldBlock) => Err(NodeError::StateInUse(state.to_path_buf())),
        Err(fs4::TryLockError::Error(e)) => Err(NodeError::io(&path, e)),
    }
}

/// The shortest passphrase `init` accepts, in characters (Unicode scalar values). Argon2id
/// slows each guess; it cannot make a short passphrase strong.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// Refuse a passphrase shorter than [`MIN_PASSPHRASE_CHARS`] (bytes that are not UTF-8 count
/// one each).
pub fn check_passphrase_length(passphrase: &[u8]) -> Result<(), NodeError> {
    let chars = std::str::from_utf8(passphrase)
        .map(|s| s.chars().count())
        .unwrap_or(passphrase.len());
    if chars < MIN_PASSPHRASE_CHARS {
        return Err(NodeError::PassphraseTooShort {
            chars,
            min: MIN_PASSPHRASE_CHARS,
        });
    }
    Ok(())
}

/// What `init` reports.
#[derive(Debug)]
pub struct InitReport {
    /// Trustee index.
    pub trustee: u16,
    /// Set id.
    pub set_id: SetId,
    /// Policy digest.
    pub policy_digest: Digest32,
    /// Where.
    pub state: PathBuf,
}

/// Create the state folder (or accept an empty one), mode 0700.
pub fn prepare_dir(state: &Path) -> Result<(), NodeError> {
    if state.exists() {
        let empty = std::fs::read_dir(state)
            .map_err(|e| NodeError::io(state, e))?
            .next()
            .is_none();
        if !empty {
            return Err(NodeError::State(format!(
                "{} exists and is not empty; refusing to overwrite a node",
                state.display()
            )));
        }
    } else {
        std::fs::create_dir_all(state).map_err(|e| NodeError::io(state, e))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(state, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| NodeError::io(state, e))?;
    }
    Ok(())
}

/// `trustee-node init`.
pub fn init(
    set_path: &Path,
    trustee_dir: &Path,
    policy_path: &Path,
    state: &Path,
    passphrase: &[u8],
    cost: KdfCost,
) -> Result<InitReport, NodeError> {
    check_passphrase_length(passphrase)?;
    let set_json = read(set_path)?;
    let set = TrusteeSet::from_json(&set_json)?;
    let ks_path = trustee_dir.join("key-share.json");
    let ks_json = read_secret(&ks_path)?;
    let share = set.verify_share(KeyShare::from_json(&ks_json)?)?;
    let sk_path = trustee_dir.join("signing.key");
    let sk_pem = read_secret(&sk_path)?;
    let signing = PrivateKey::from_pem(&sk_pem)?;
    check_signing_key(&set, share.index(), &signing)?;
    let policy_json = read(policy_path)?;
    let policy = Policy::from_json(&policy_json).map_err(NodeError::Policy)?;
    // a dealt set under a policy with a custody rule: refused as a ceremony would refuse it
    policy
        .check_holders(set.threshold(), set.holders().as_deref())
        .map_err(|e| NodeError::State(format!("the set breaks the policy's custody rule: {e}")))?;

    if state.join(LOCK_FILE).exists() {
        // A serving node holds it: say so rather than "not empty".
        drop(lock_state(state)?);
    }
    prepare_dir(state)?;
    // Two inits racing on one empty folder: the second stops here.
    let _lock = lock_state(state)?;

    let log_key = LogKey::generate(&checkpoint::origin(&set.id(), share.index()))
        .map_err(|e| NodeError::State(format!("log key: {e}")))?;
    let bundle = SecretBundle {
        key_share: ks_json.to_string(),
        signing_key: sk_pem.to_string(),
        // Hex of the seed in place: `*seed()` would copy the seed out of its Zeroizing.
        log_key: hex::encode(log_key.seed().as_slice()),
    };
    let sealed = SealedSecrets::seal(&bundle, set.id(), share.index(), passphrase, cost)?;
    let created = now();
    let node = NodeFile {
        version: V1::default(),
        trustee: share.index(),
        set_id: set.id(),
        policy_digest: policy.digest(),
        created,
    };
    write_file(&state.join(SET_FILE), set_json.as_bytes(), false)?;
    write_file(&state.join(POLICY_FILE), policy_json.as_bytes(), false)?;
    write_file(
        &state.join(SECRETS_FILE),
        escrow_core::codec::to_json_pretty(&sealed).as_bytes(),
        true,
    )?;
    let mut db = Db::create(&state.join(DB_FILE))?;
    let batch = Batch {
        entries: vec![LogEntry::setup(0, created, set.id(), policy.digest())],
        ..Batch::default()
    };
    let head = db.commit(&batch, created)?;
    write_file(
        &state.join(LOG_KEY_FILE),
        format!("{}\n", log_key.verifier_key()).as_bytes(),
        false,
    )?;
    write_checkpoint(state, &log_key, &head)?;
    // node.json last: its presence marks a complete state folder.
    write_file(
        &state.join(NODE_FILE),
        escrow_core::codec::to_json_pretty(&node).as_bytes(),
        false,
    )?;
    Ok(InitReport {
        trustee: share.index(),
        set_id: set.id(),
        policy_digest: policy.digest(),
        state: state.to_path_buf(),
    })
}

/// Everything `serve` needs, loaded and checked.
pub struct Loaded {
    /// The trustee set.
    pub set: TrusteeSet,
    /// The verified key share.
    pub share: VerifiedKeyShare,
    /// The signing key.
    pub signing: PrivateKey,
    /// The Ed25519 log key (signs checkpoints).
    pub log_key: LogKey,
    /// The policy.
    pub policy: Policy,
    /// The database (log verified).
    pub db: Db,
    /// The database path.
    pub db_path: PathBuf,
    /// The state folder (the signed checkpoint is rewritten there after every commit).
    pub state: PathBuf,
    /// The state folder's lock (held as long as the node lives).
    pub lock: StateLock,
    /// What a refresh needs to seal the node's new share: the passphrase (zeroized on drop)
    /// and the KDF cost the secrets were sealed with.
    pub reseal: Reseal,
}

/// The passphrase and KDF cost a serving node keeps to seal the share a refresh gives it
/// (`crate::server`'s refresh endpoints). The share itself is in memory anyway; the passphrase adds the power
/// to open copies of older sealed files, which is why a refresh replaces the file in place.
pub struct Reseal {
    /// The passphrase.
    pub passphrase: Zeroizing<Vec<u8>>,
    /// The cost recorded in the sealed file.
    pub cost: crate::sealed::KdfCost,
}

impl core::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Loaded {{ trustee: {}, secrets: [REDACTED] }}",
            self.share.index()
        )
    }
}

/// Load and check the state folder: files present and consistent, passphrase opens the
/// secrets, the key share passes its Feldman check, the signing key is the trustee's, the
/// log verifies, begins with the setup entry `node.json` describes and extends the last tree
/// head the node signed ([`CHECKPOINT_FILE`]). A changed policy is recorded in the log as a new
/// setup entry. `accept_unanchored`: start although the checkpoint file is missing (state
/// folders made before it existed), anchoring the log as it is.
pub fn load(state: &Path, passphrase: &[u8], accept_unanchored: bool) -> Result<Loaded, NodeError> {
    use journal::{JOURNAL_FILE, MARKER_FILE};
    let node = read_node_file(state)?;
    let retired = state.join(journal::RETIRED_FILE);
    if retired.exists() {
        let r: journal::RetiredFile = serde_json::from_str(&read(&retired)?)
            .map_err(|e| NodeError::State(format!("{}: {e}", retired.display())))?;
        let lock = lock_state(state)?;
        let completed = finish_retirement(state, passphrase, &node, &r)?;
        drop(lock);
        return Err(NodeError::State(format!(
            "this node's share of set {} was handed to set {} by a reshare (transcript {}) at {} and destroyed ({}): it releases nothing and does not serve again; its log stays in {DB_FILE}{}",
            r.old_set_id.short(),
            r.new_set_id.short(),
            r.transcript.short(),
            r.time,
            journal::RETIRED_FILE,
            if completed {
                " (this start completed the destruction a stop had interrupted: the sealed share emptied and the keygen and share-destroyed entries logged)"
            } else {
                ""
            }
        )));
    }
    // One serving process per state folder, before anything is opened.
    let lock = lock_state(state)?;
    // a refresh stopped after its commit point: its files first (its log entries below)
    let journal = journal::read_journal(state)?;
    if let Some(j) = &journal
        && j.kind == escrow_core::dkg::CeremonyKind::Refresh
    {
        journal::apply_refresh_files(state, j)?;
    }
    let set = TrusteeSet::from_json(&read(&state.join(SET_FILE))?)?;
    if let Some(m) = journal::read_marker(state)? {
        if m.set_id != set.id() {
            return Err(journal::unfinished(state, &m));
        }
        // the ceremony finished here; only the marker's removal was missed
        journal::remove_state_file(state, MARKER_FILE)?;
    }
    // node.json names the set the node was set up with; a refresh replaces the set file with
    // one that descends from it (`TrusteeSet::origin`)
    if set.origin() != node.set_id {
        return Err(NodeError::State(format!(
            "{SET_FILE} is not the trustee set this node was set up with (nor one refreshed from it)"
        )));
    }
    let policy = load_policy(&state.join(POLICY_FILE))?;
    let sealed_path = state.join(SECRETS_FILE);
    let sealed: SealedSecrets = serde_json::from_str(&read(&sealed_path)?)
        .map_err(|e| NodeError::State(format!("{}: {e}", sealed_path.display())))?;
    if sealed.set_id != set.id() || sealed.trustee != node.trustee {
        return Err(NodeError::State(format!(
            "{SECRETS_FILE} belongs to another trustee or set"
        )));
    }
    let bundle = sealed.open(passphrase)?;
    let share = set.verify_share(KeyShare::from_json(&bundle.key_share)?)?;
    let signing = PrivateKey::from_pem(&bundle.signing_key)?;
    let log_key = open_log_key(&bundle.log_key, &node.set_id, node.trustee)?;
    drop(bundle);
    if share.index() != node.trustee {
        return Err(NodeError::State(
            "sealed key share is for another trustee index".into(),
        ));
    }
    check_signing_key(&set, share.index(), &signing)?;
    let vkey = log_key.verifier_key();
    let key_path = state.join(LOG_KEY_FILE);
    if key_path.exists() {
        if read(&key_path)?.trim() != vkey {
            return Err(NodeError::State(format!(
                "{LOG_KEY_FILE} is not this node's log key (the state folder was mixed with another node's)"
            )));
        }
    } else {
        write_file(&key_path, format!("{vkey}\n").as_bytes(), false)?;
    }
    let anchor = read_anchor(state, &vkey)?;
    if anchor.is_none() && !accept_unanchored {
        return Err(NodeError::LogDamaged(format!(
            "{CHECKPOINT_FILE} is missing: without the last tree head this node signed, a truncated or \
             rolled-back log.db cannot be told from the real one. If this state folder predates the \
             checkpoint file, compare `verify-log` with a checkpoint an auditor holds, then start once \
             with --accept-unanchored-log"
        )));
    }
    let db_path = state.join(DB_FILE);
    let mut db = Db::open(&db_path, anchor.as_ref())?;
    check_setup(&db, &node)?;
    if let Some(j) = &journal {
        if j.kind == escrow_core::dkg::CeremonyKind::Refresh
            && let Some(entries) = journal::refresh_log_batch(&db, j, policy.digest())?
        {
            let t = now();
            db.commit(
                &Batch {
                    entries,
                    ..Batch::default()
                },
                t,
            )?;
        }
        journal::remove_state_file(state, JOURNAL_FILE)?;
        tracing::warn!(set = %set.id().short(), "resumed the {} a stop interrupted after its commit point ({JOURNAL_FILE}): files replaced, log entries present", j.kind);
    }
    if db.latest_policy() != Some(policy.digest()) {
        let t = now();
        let batch = Batch {
            entries: vec![LogEntry::setup(db.next_seq(), t, set.id(), policy.digest())],
            ..Batch::default()
        };
        db.commit(&batch, t)?;
        tracing::warn!(policy = %policy.digest().short(), "policy.json changed since the last setup entry; recorded a new setup entry");
    }
    write_checkpoint(state, &log_key, &db.head())?;
    Ok(Loaded {
        set,
        share,
        signing,
        log_key,
        policy,
        db,
        db_path,
        state: state.to_path_buf(),
        lock,
        reseal: Reseal {
            passphrase: Zeroizing::new(passphrase.to_vec()),
            cost: if sealed.kdf.setting == "test" {
                crate::sealed::KdfCost::Test
            } else {
                crate::sealed::KdfCost::Strong
            },
        },
    })
}

/// A reshare's dealer stopped after its commit point (`retired.json`): empty the sealed share
/// if it is still there, and log keygen and share-destroyed if the log lacks them. `Ok(true)`
/// when something was left to do.
fn finish_retirement(
    state: &Path,
    passphrase: &[u8],
    node: &NodeFile,
    r: &journal::RetiredFile,
) -> Result<bool, NodeError> {
    let sealed_path = state.join(SECRETS_FILE);
    let sealed: SealedSecrets = serde_json::from_str(&read(&sealed_path)?)
        .map_err(|e| NodeError::State(format!("{}: {e}", sealed_path.display())))?;
    let bundle = sealed.open(passphrase)?;
    let log_key = open_log_key(&bundle.log_key, &node.set_id, node.trustee)?;
    let mut completed = false;
    if !bundle.key_share.is_empty() {
        let emptied = SecretBundle {
            key_share: String::new(),
            signing_key: bundle.signing_key.clone(),
            log_key: bundle.log_key.clone(),
        };
        let cost = if sealed.kdf.setting == "test" {
            KdfCost::Test
        } else {
            KdfCost::Strong
        };
        let resealed =
            SealedSecrets::seal(&emptied, sealed.set_id, sealed.trustee, passphrase, cost)?;
        replace_file(
            &sealed_path,
            escrow_core::codec::to_json_pretty(&resealed).as_bytes(),
            true,
        )?;
        completed = true;
    }
    drop(bundle);
    let anchor = read_anchor(state, &log_key.verifier_key())?;
    let mut db = Db::open(&state.join(DB_FILE), anchor.as_ref())?;
    if !db.share_destroyed_logged(&r.old_set_id) {
        let t = now();
        let seq = db.next_seq();
        let head = db.commit(
            &Batch {
                entries: vec![
                    LogEntry::keygen(seq, t, r.transcript),
                    LogEntry::share_destroyed(seq + 1, t, r.old_set_id),
                ],
                ..Batch::default()
            },
            t,
        )?;
        write_checkpoint(state, &log_key, &head)?;
        completed = true;
    }
    journal::remove_state_file(state, journal::MARKER_FILE)?;
    Ok(completed)
}

fn read_node_file(state: &Path) -> Result<NodeFile, NodeError> {
    let node_path = state.join(NODE_FILE);
    if !node_path.exists() {
        return Err(NodeError::State(format!(
            "{} is not a trustee-node state folder (no {NODE_FILE}; run `trustee-node init`)",
            state.display()
        )));
    }
    serde_json::from_str(&read(&node_path)?)
        .map_err(|e| NodeError::State(format!("{}: {e}", node_path.display())))
}

/// The log must begin with the setup entry of the set and policy `node.json` was made with.
fn check_setup(db: &Db, node: &NodeFile) -> Result<(), NodeError> {
    match db.first_setup() {
        Some((set, policy)) if set == node.set_id.digest() && policy == node.policy_digest => {
            Ok(())
        }
        Some((set, _)) if set != node.set_id.digest() => Err(NodeError::LogDamaged(format!(
            "the log begins with the setup entry of trustee set {}, not of this node's set {} \
             ({NODE_FILE}): log.db is another node's",
            set.short(),
            node.set_id.short()
        ))),
        Some((_, policy)) => Err(NodeError::LogDamaged(format!(
            "the log begins with the setup entry of policy {}, not of the policy {} this node was \
             initialised with ({NODE_FILE}): log.db is another node's",
            policy.short(),
            node.policy_digest.short()
        ))),
        None => Err(NodeError::LogDamaged(
            "the log does not begin with a setup entry".into(),
        )),
    }
}

/// Write the signed checkpoint of `head` to [`CHECKPOINT_FILE`] atomically: a temporary file,
/// fsynced, renamed over the old one, and the folder fsynced.
pub fn write_checkpoint(state: &Path, log_key: &LogKey, head: &TreeHead) -> Result<(), NodeError> {
    let note = log_key
        .sign(head)
        .map_err(|e| NodeError::State(format!("signing the checkpoint: {e}")))?;
    let path = state.join(CHECKPOINT_FILE);
    let tmp = state.join(format!("{CHECKPOINT_FILE}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp).map_err(|e| NodeError::io(&tmp, e))?;
        f.write_all(note.as_bytes())
            .map_err(|e| NodeError::io(&tmp, e))?;
        f.sync_all().map_err(|e| NodeError::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, &path).map_err(|e| NodeError::io(&path, e))?;
    #[cfg(unix)]
    std::fs::File::open(state)
        .and_then(|d| d.sync_all())
        .map_err(|e| NodeError::io(state, e))?;
    Ok(())
}

/// The tree head in [`CHECKPOINT_FILE`], its signature checked under `vkey`; `None` if the file
/// is missing.
pub fn read_anchor(state: &Path, vkey: &str) -> Result<Option<TreeHead>, NodeError> {
    let path = state.join(CHECKPOINT_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let note = read(&path)?;
    let cp = checkpoint::verify_checkpoint(&note, vkey).map_err(|e| {
        NodeError::LogDamaged(format!(
            "{CHECKPOINT_FILE} is not a tree head signed by this node's log key ({e})"
        ))
    })?;
    Ok(Some(cp.head))
}

/// What `verify-log` found.
#[derive(Debug)]
pub struct LogReport {
    /// The current tree head.
    pub head: TreeHead,
    /// The signed tree head the log was checked against, if any.
    pub anchor: Option<TreeHead>,
}

/// `verify-log`: the checks of [`load`] that need no passphrase. The checkpoint's signature is
/// checked under `log_key` if given, else under [`LOG_KEY_FILE`] (which an attacker with write
/// access to the folder could replace: pass the key `/v1/info` published to rule that out).
pub fn verify_log(state: &Path, log_key: Option<&str>) -> Result<LogReport, NodeError> {
    let node = read_node_file(state)?;
    let vkey = match log_key {
        Some(k) => Some(k.trim().to_string()),
        None => {
            let p = state.join(LOG_KEY_FILE);
            if p.exists() {
                Some(read(&p)?.trim().to_string())
            } else {
                None
            }
        }
    };
    let anchor = match &vkey {
        Some(k) => read_anchor(state, k)?,
        None => None,
    };
    let db = Db::open(&state.join(DB_FILE), anchor.as_ref())?;
    check_setup(&db, &node)?;
    Ok(LogReport {
        head: db.head(),
        anchor,
    })
}

/// The log key from its sealed hex seed. State folders made before the transparency log have
/// none: refuse them with a clear message (no migration: re-run `init`).
fn open_log_key(seed_hex: &str, set_id: &SetId, trustee: u16) -> Result<LogKey, NodeError> {
    if seed_hex.is_empty() {
        return Err(NodeError::State(
            "this state folder predates the signed transparency log and has no log key; \
             create a new one with `trustee-node init`"
                .into(),
        ));
    }
    let seed = Zeroizing::new(
        hex::decode(seed_hex).map_err(|_| NodeError::State("sealed log key is not hex".into()))?,
    );
    let seed: &[u8; 32] = seed
        .as_slice()
        .try_into()
        .map_err(|_| NodeError::State("sealed log key is not 32 bytes".into()))?;
    LogKey::from_seed(&checkpoint::origin(set_id, trustee), seed)
        .map_err(|e| NodeError::State(format!("log key: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_state_without_a_log_key_is_refused_clearly() {
        let set = SetId::from_bytes(Digest32::sha256(b"set").0);
        let e = open_log_key("", &set, 1).unwrap_err().to_string();
        assert!(e.contains("predates the signed transparency log"), "{e}");
        assert!(e.contains("trustee-node init"), "{e}");
        let k = LogKey::generate(&checkpoint::origin(&set, 1)).unwrap();
        let again = open_log_key(&hex::encode(*k.seed()), &set, 1).unwrap();
        assert_eq!(again.verifier_key(), k.verifier_key());
        assert!(open_log_key("abcd", &set, 1).is_err());
    }
}
