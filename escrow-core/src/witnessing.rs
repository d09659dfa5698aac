//! Witness cosignatures on a trustee's checkpoint (C2SP tlog-cosignature `cosignature/v1`,
//! Ed25519, <https://c2sp.org/tlog-cosignature>) and the policy's witness quorum: which
//! witnesses' cosignatures count, how many are needed, and whether an auditing witness must be
//! among them (`docs/witness.md` §Release gate).
//!
//! ```text
//! signed message = "cosignature/v1\n" || "time " || decimal(t) || "\n" || checkpoint body
//! key ID         = SHA-256(name || "\n" || 0x04 || public key)[:4]
//! signature line = "— " || name || " " || base64(key ID || u64be(t) || Ed25519 signature)
//! verifier key   = name || "+" || hex(key ID) || "+" || base64(0x04 || public key)
//! ```
//!
//! The checkpoint body is the note text up to and including its last newline (no blank line, no
//! signature lines). Verification here is independent of the witness service (`log-witness`). Also the wire
//! types of a release answer's gate evidence ([`Witnessed`], [`Inclusion`]). A leaf (it
//! names only `codec`): the policy (`warrant`) and the release answers (`release`, `v2`) use
//! it; the checks against a checkpoint are `audit::witness`'s.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The signature type byte of an Ed25519 `cosignature/v1` key (in its key ID and vkey).
pub const COSIGNATURE_V1_TYPE: u8 = 0x04;
/// Most witnesses one policy may name.
pub const MAX_WITNESSES: usize = 16;

/// Why a witness key, a cosignature or a witnessed checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessCheckError {
    /// A witness verifier key is malformed.
    #[error("malformed witness verifier key {key:?}: {why}")]
    VerifierKey {
        /// The key as given.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// The checkpoint's own (log) signature does not verify, or it is malformed.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A cosignature by a witness the policy names does not verify.
    #[error("cosignature by witness {witness:?} does not verify: {why}")]
    BadCosignature {
        /// The witness (key name).
        witness: String,
        /// Why.
        why: String,
    },
    /// Fewer valid cosignatures by distinct policy witnesses than the quorum.
    #[error("{got} valid cosignature(s) by the policy's witnesses, the quorum is {quorum}")]
    NoQuorum {
        /// Valid cosignatures.
        got: usize,
        /// Needed.
        quorum: u16,
    },
    /// The policy requires an auditing witness and none cosigned.
    #[error("no auditing witness cosigned, and the policy requires one")]
    NoAuditingWitness,
    /// The policy requires an auditing witness; the auditing witnesses that cosigned gave no
    /// statement that verifies under the policy's digest that every release up to this
    /// checkpoint's size was justified (`docs/witness.md` §Auditing witness).
    #[error(
        "auditing witness(es) {witnesses:?} cosigned the checkpoint of size {size} without a valid statement that every release up to it was justified under policy {policy}: {why}"
    )]
    NoAuditStatement {
        /// The auditing witnesses that cosigned (key names).
        witnesses: Vec<String>,
        /// The checkpoint's size (the statement covers every release entry below it).
        size: u64,
        /// The policy digest (short hex) the statement must verify under.
        policy: String,
        /// Why, per witness.
        why: String,
    },
    /// The witness section of a policy is invalid.
    #[error("policy.witnesses: {0}")]
    Policy(String),
}

/// `SHA-256(name || "\n" || 0x04 || public key)[:4]` as a big-endian `u32`.
pub fn cosignature_key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut typed = Vec::with_capacity(33);
    typed.push(COSIGNATURE_V1_TYPE);
    typed.extend_from_slice(public);
    signed_note::key_id(name, &typed)
}

/// The exact bytes a `cosignature/v1` signs: header, time line, checkpoint body.
pub fn cosigned_message(timestamp: u64, checkpoint_body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_body}").into_bytes()
}

/// Header of an auditing witness's statement (`docs/witness.md` §Auditing witness).
pub const AUDIT_STATEMENT_V1: &str = "escrow-audit-statement/v1";

/// Key ID of an auditing witness's statement lines: `SHA-256(name || "\n" || 0xff ||
/// "escrow-audit-statement/v1" || public key)[:4]` (the witness's own Ed25519 key, told apart
/// from its `cosignature/v1` lines by the key ID, so cosignature verifiers ignore it).
pub fn audit_statement_key_id(name: &str, public: &[u8; 32]) -> u32 {
    let mut typed = Vec::with_capacity(1 + AUDIT_STATEMENT_V1.len() + 32);
    typed.push(0xff);
    typed.extend_from_slice(AUDIT_STATEMENT_V1.as_bytes());
    typed.extend_from_slice(public);
    signed_note::key_id(name, &typed)
}

/// The bytes an auditing witness's statement signs: that every release entry in the checkpoint
/// (whose body, origin and size included, follows) was justified under the policy `policy`.
pub fn audit_statement_message(
    timestamp: u64,
    policy: &crate::codec::Digest32,
    checkpoint_body: &str,
) -> Vec<u8> {
    format!(
        "{AUDIT_STATEMENT_V1}\ntime {timestamp}\npolicy {}\nevery release in this checkpoint was justified\n{checkpoint_body}",
        policy.to_hex()
    )
    .into_bytes()
}

/// [`WitnessVerifier::verify_statement`]'s answer for a line not signed by this witness.
pub(crate) const NOT_THIS_WITNESS: &str = "not a signature line by this witness";
/// [`WitnessVerifier::verify_statement`]'s answer for a line of this witness under another key
/// ID (its cosignature line).
pub(crate) const NOT_A_STATEMENT: &str = "not a statement key id";

/// A witness's `cosignature/v1` verifier key, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessVerifier {
    name: String,
    id: u32,
    key: ed25519_dalek::VerifyingKey,
}

impl WitnessVerifier {
    /// Parse `name+hex(key ID)+base64(0x04 || public key)`; the key ID must match.
    pub fn parse(vkey: &str) -> Result<Self, WitnessCheckError> {
        let bad = |why: &str| WitnessCheckError::VerifierKey {
            key: vkey.chars().take(200).collect(),
            why: why.into(),
        };
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("want name+keyid+base64"));
        };
        if !signed_note::is_key_name_valid(name) {
            return Err(bad("invalid key name"));
        }
        if id_hex.len() != 8 {
            return Err(bad("key id is not 8 hex digits"));
        }
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("key id is not hex"))?;
        let typed = STANDARD.decode(b64).map_err(|_| bad("key is not base64"))?;
        let Some((&kind, public)) = typed.split_first() else {
            return Err(bad("empty key"));
        };
        if kind != COSIGNATURE_V1_TYPE {
            return Err(bad("not a cosignature/v1 (type 0x04) key"));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| bad("Ed25519 public key is not 32 bytes"))?;
        if cosignature_key_id(name, &public) != id {
            return Err(bad("key id does not match the name and key"));
        }
        let key = ed25519_dalek::VerifyingKey::from_bytes(&public)
            .map_err(|_| bad("not an Ed25519 public key"))?;
        Ok(WitnessVerifier {
            name: name.into(),
            id,
            key,
        })
    }

    /// The key name (the name on its signature lines).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The verifier key string.
    pub fn verifier_key(&self) -> String {
        let mut typed = vec![COSIGNATURE_V1_TYPE];
        typed.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, STANDARD.encode(typed))
    }

    /// Verify one signature line's payload (`key ID || u64be(t) || signature`, already
    /// base64-decoded, key ID included) over `checkpoint_body`. Returns the timestamp `t`.
    pub fn verify_blob(&self, blob: &[u8], checkpoint_body: &str) -> Result<u64, String> {
        if blob.len() != 4 + 8 + 64 {
            return Err(format!("{} bytes, want 76", blob.len()));
        }
        let (id, rest) = blob.split_at(4);
        let (t, sig) = rest.split_at(8);
        if id != self.id.to_be_bytes() {
            return Err("another key id".into());
        }
        let t = u64::from_be_bytes(t.try_into().map_err(|_| "timestamp")?);
        let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|e| e.to_string())?;
        self.key
            .verify_strict(&cosigned_message(t, checkpoint_body), &sig)
            .map_err(|_| "Ed25519 signature does not verify".to_string())?;
        Ok(t)
    }

    /// The decoded payload of a signature line by this witness (`— name base64(…)`, with or
    /// without its newline).
    fn line_blob(&self, line: &str) -> Result<Vec<u8>, String> {
        let b64 = line
            .trim_end_matches('\n')
            .strip_prefix("\u{2014} ")
            .and_then(|rest| rest.strip_prefix(self.name.as_str()))
            .and_then(|rest| rest.strip_prefix(' '))
            .ok_or(NOT_THIS_WITNESS)?;
        STANDARD.decode(b64).map_err(|_| "not base64".to_string())
    }

    /// Verify an auditing witness's statement line (`— name base64(statement key ID ||
    /// u64be(t) || Ed25519 signature)`) over `checkpoint_body` under `policy`. Returns `t`.
    pub fn verify_statement(
        &self,
        line: &str,
        checkpoint_body: &str,
        policy: &crate::codec::Digest32,
    ) -> Result<u64, String> {
        let blob = self.line_blob(line)?;
        let (Some(id), Some(t), Some(sig), 76) =
            (blob.get(..4), blob.get(4..12), blob.get(12..), blob.len())
        else {
            return Err(format!("{} bytes, want 76", blob.len()));
        };
        if id != audit_statement_key_id(&self.name, self.key.as_bytes()).to_be_bytes() {
            return Err(NOT_A_STATEMENT.into());
        }
        let t = u64::from_be_bytes(t.try_into().map_err(|_| "timestamp")?);
        let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|e| e.to_string())?;
        self.key
            .verify_strict(&audit_statement_message(t, policy, checkpoint_body), &sig)
            .map_err(|_| "Ed25519 signature does not verify".to_string())?;
        Ok(t)
    }

    /// Verify one signature line as a witness returns it (`— name base64(…)`, with or without
    /// its newline) over the note body `checkpoint_body`: the name is this witness's and the
    /// payload verifies ([`WitnessVerifier::verify_blob`]). Returns the timestamp.
    pub fn verify_line(&self, line: &str, checkpoint_body: &str) -> Result<u64, String> {
        let blob = self.line_blob(line)?;
        self.verify_blob(&blob, checkpoint_body)
    }
}

/// A witness the policy names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyWitness {
    /// Its cosignature verifier key (its name is the key name).
    pub key: WitnessVerifier,
    /// Where a node reaches it (`http://` or `https://` base URL; absent: the node is
    /// configured with it out of band).
    pub url: Option<String>,
    /// An auditing witness: it cosigns only if every release up to the checkpoint was justified
    /// under the policy.
    pub auditing: bool,
}

/// The witness section of a policy file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessFile {
    /// Cosignature verifier key.
    pub key: String,
    /// Base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Auditing witness.
    #[serde(default)]
    pub auditing: bool,
}

/// The witness quorum of a policy: shares leave a node only under a checkpoint cosigned by at
/// least `quorum` distinct witnesses of the list (and an auditing one if `auditing_required`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicy {
    witnesses: Vec<PolicyWitness>,
    quorum: u16,
    auditing_required: bool,
}

impl WitnessPolicy {
    /// Check and build: 1..=[`MAX_WITNESSES`] witnesses with distinct names and keys, quorum
    /// 1..=their number, and at least one auditing witness if one is required.
    pub fn new(
        witnesses: Vec<PolicyWitness>,
        quorum: u16,
        auditing_required: bool,
    ) -> Result<Self, WitnessCheckError> {
        let bad = |s: String| WitnessCheckError::Policy(s);
        if witnesses.is_empty() || witnesses.len() > MAX_WITNESSES {
            return Err(bad(format!(
                "{} witnesses; a witness section names 1..={MAX_WITNESSES}",
                witnesses.len()
            )));
        }
        let mut names = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for w in &witnesses {
            if !names.insert(w.key.name().to_string()) || !keys.insert(*w.key.key.as_bytes()) {
                return Err(bad(format!(
                    "witness {:?} is listed twice (by name or key)",
                    w.key.name()
                )));
            }
            if let Some(u) = &w.url
                && !(u.starts_with("http://") || u.starts_with("https://"))
            {
                return Err(bad(format!(
                    "witness {:?}: url {u:?} is not http(s)",
                    w.key.name()
                )));
            }
        }
        if quorum == 0 || usize::from(quorum) > witnesses.len() {
            return Err(bad(format!(
                "quorum {quorum} is not in 1..={}",
                witnesses.len()
            )));
        }
        if auditing_required && !witnesses.iter().any(|w| w.auditing) {
            return Err(bad(
                "an auditing witness is required but none is listed".into()
            ));
        }
        Ok(WitnessPolicy {
            witnesses,
            quorum,
            auditing_required,
        })
    }

    /// From the file form.
    pub fn from_files(
        files: &[WitnessFile],
        quorum: u16,
        auditing_required: bool,
    ) -> Result<Self, WitnessCheckError> {
        let mut ws = Vec::with_capacity(files.len());
        for f in files {
            ws.push(PolicyWitness {
                key: WitnessVerifier::parse(&f.key)?,
                url: f.url.clone(),
                auditing: f.auditing,
            });
        }
        Self::new(ws, quorum, auditing_required)
    }

    /// The file form.
    pub fn to_files(&self) -> Vec<WitnessFile> {
        self.witnesses
            .iter()
            .map(|w| WitnessFile {
                key: w.key.verifier_key(),
                url: w.url.clone(),
                auditing: w.auditing,
            })
            .collect()
    }

    /// The witnesses.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// How many distinct witnesses must cosign.
    pub fn quorum(&self) -> u16 {
        self.quorum
    }

    /// Whether an auditing witness must be among them.
    pub fn auditing_required(&self) -> bool {
        self.auditing_required
    }

    /// Whether these cosigners (witness names) satisfy the quorum, and, if the policy
    /// requires an auditing witness, whether one of `stated` (the witnesses whose audit
    /// statement verified) is an auditing witness among them.
    pub fn satisfied_by<'a>(
        &self,
        cosigned: impl IntoIterator<Item = &'a str>,
        stated: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        let got: BTreeSet<&str> = cosigned.into_iter().collect();
        let stated: BTreeSet<&str> = stated.into_iter().collect();
        let count = self
            .witnesses
            .iter()
            .filter(|w| got.contains(w.key.name()))
            .count();
        let audited = self
            .witnesses
            .iter()
            .any(|w| w.auditing && got.contains(w.key.name()) && stated.contains(w.key.name()));
        count >= usize::from(self.quorum) && (!self.auditing_required || audited)
    }
}

/// The release gate's evidence in a release response (issue 17, `docs/api.md` §3.2): the
/// checkpoint covering the response's release entries, signed by the trustee's log key and
/// cosigned by the policy's witness quorum, and one inclusion proof per released share.
/// Self-authenticating (log key bound to the set, witness keys in the policy, Merkle proofs),
/// so the response's own signature does not cover it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Witnessed {
    /// Format version.
    pub version: crate::codec::V1,
    /// The signed checkpoint note with the witnesses' `cosignature/v1` lines.
    pub checkpoint: String,
    /// One inclusion proof per released result, in result order.
    pub inclusion: Vec<Inclusion>,
}

/// One release entry and its RFC 9162 inclusion proof in [`Witnessed::checkpoint`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inclusion {
    /// Leaf index of the release entry (the result's `leaf_index`).
    pub leaf_index: u64,
    /// The entry's canonical bytes (`LogEntry::to_bytes`; with the oversight copy, if any).
    #[serde(with = "crate::codec::b64")]
    pub entry: Vec<u8>,
    /// The audit path.
    pub proof: Vec<crate::codec::Digest32>,
}
