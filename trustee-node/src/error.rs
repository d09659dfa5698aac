//! The node's errors. Each names its culprit (file, table, entry); none carries secrets.

use std::path::PathBuf;

/// Everything that can stop the node or fail a storage operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The passphrase does not open the sealed secrets (or the file was altered).
    #[error(
        "wrong passphrase: it does not open the sealed key share (or secrets.sealed.json was altered)"
    )]
    WrongPassphrase,
    /// `init` refuses a passphrase shorter than the minimum.
    #[error(
        "passphrase too short: {chars} characters, at least {min} needed (it protects the sealed key share if the state folder is copied)"
    )]
    PassphraseTooShort {
        /// Characters given.
        chars: usize,
        /// The minimum.
        min: usize,
    },
    /// No passphrase was given.
    #[error("no passphrase: set TRUSTEE_PASSPHRASE or pass --passphrase-file FILE")]
    NoPassphrase,
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The state folder is missing something or holds something inconsistent.
    #[error("state folder: {0}")]
    State(String),
    /// Another process serves (or initialises) this state folder.
    #[error(
        "state folder {0} is in use by another trustee-node process (it holds serve.lock); stop it first — two nodes must never share one state folder"
    )]
    StateInUse(PathBuf),
    /// The SQLite database failed.
    #[error("database {path}: {why}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// The audit log in the database fails its integrity check.
    #[error("audit log damaged: {0}")]
    LogDamaged(String),
    /// A core check failed (trustee set, key share, keys).
    #[error(transparent)]
    Core(#[from] escrow_core::Error),
    /// The policy file is refused.
    #[error("policy file: {0}")]
    Policy(escrow_core::warrant::Refusal),
    /// TLS configuration.
    #[error("TLS: {0}")]
    Tls(String),
    /// The node signed a ceremony's certificate and was stopped before it stored the result
    /// (`STATE/ceremony.json` without a journal, docs/protocol.md §16.11).
    #[error(
        "unfinished {kind} ceremony (session {session}, new set {set}): this node signed the new set's certificate and was stopped before it stored its share, so the other trustees may have finished without it. It serves nothing until its operator decides: if the coordinator reported that no trustee finalised, remove {} and start again (the set it served stays in use); otherwise this node's share of the new set is lost and the set must be reshared without it (docs/protocol.md §16.11)",
        marker.display()
    )]
    UnfinishedCeremony {
        /// keygen, refresh or reshare.
        kind: String,
        /// The session id (short).
        session: String,
        /// The set it certified (short).
        set: String,
        /// The marker file.
        marker: PathBuf,
    },
}

impl NodeError {
    /// Shorthand for [`NodeError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NodeError::Io {
            path: path.into(),
            source,
        }
    }
}
