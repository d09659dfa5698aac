//! Signed checkpoints: the C2SP tlog-checkpoint text format (<https://c2sp.org/tlog-checkpoint>)
//! carried in a C2SP signed note (<https://c2sp.org/signed-note>), Ed25519, so standard
//! witnesses and tools can check and cosign a trustee's log.
//!
//! ```text
//! escrow.example/trustee/3f2a9c1d/1         origin
//! 42                                        tree size
//! qT3k…base64 root hash…=                   root hash
//!
//! — escrow.example/trustee/3f2a9c1d/1 AbCdEf…base64(key id ‖ signature)…
//! ```
//!
//! The formats are those of cloudflare/azul's `tlog_tiles` and `signed_note` crates. Those crates
//! live in the ed25519-dalek 2 / rand_core 0.6 / sha2 0.10 generation; they stay behind the
//! types of this module ([`LogKey`], [`SignedCheckpoint`]): the key bytes come from our rand
//! 0.10 and become an `ed25519_dalek::SigningKey` through `from_bytes`.

use super::merkle::TreeHead;
use crate::codec::{Digest32, SetId};
use rand::Rng as _;
use signed_note::{Note, Signer, StandardVerifier, VerifierList};
use tlog_tiles::checkpoint::Checkpoint;
use tlog_tiles::tlog::Hash;
use zeroize::Zeroizing;

/// Why a checkpoint was not made or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The origin is not a valid note key name.
    #[error("invalid origin {0:?}")]
    Origin(String),
    /// The verifier key is malformed.
    #[error("malformed note verifier key: {0}")]
    VerifierKey(String),
    /// The note or the checkpoint in it is malformed.
    #[error("malformed signed checkpoint: {0}")]
    Malformed(String),
    /// No valid signature by the expected key.
    #[error("checkpoint signature does not verify: {0}")]
    Signature(String),
    /// The checkpoint is for another log.
    #[error("checkpoint origin {got:?}, expected {want:?}")]
    WrongOrigin {
        /// Origin in the checkpoint.
        got: String,
        /// Expected origin.
        want: String,
    },
}

/// The origin line (and note key name) of a trustee's log.
pub fn origin(set_id: &SetId, trustee: u16) -> String {
    format!("escrow.example/trustee/{}/{trustee}", set_id.short())
}

/// A trustee's Ed25519 log key (checkpoint signing). Zeroized on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct LogKey {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

/// Its secret, the Ed25519 signing key, zeroizes itself on drop.
impl zeroize::ZeroizeOnDrop for LogKey {}

impl core::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LogKey {{ name: {:?}, secret: [REDACTED] }}", self.name)
    }
}

impl Signer for LogKey {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        use ed25519_dalek::Signer as _;
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

impl LogKey {
    /// A fresh key for the log named `origin`.
    pub fn generate(origin: &str) -> Result<Self, CheckpointError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut *seed);
        Self::from_seed(origin, &seed)
    }

    /// The key with this 32-byte Ed25519 seed, for the log named `origin`.
    pub fn from_seed(origin: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(CheckpointError::Origin(origin.into()));
        }
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let mut pubkey = vec![0x01u8];
        pubkey.extend_from_slice(key.verifying_key().as_bytes());
        Ok(LogKey {
            name: origin.into(),
            id: signed_note::key_id(origin, &pubkey),
            key,
        })
    }

    /// The 32-byte seed (to seal it).
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The origin / key name.
    pub fn origin(&self) -> &str {
        &self.name
    }

    /// The C2SP note verifier key: `name+keyid+base64(0x01 ‖ public key)`.
    pub fn verifier_key(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.name, &self.key.verifying_key())
    }

    /// The signed checkpoint (note text) for a tree head.
    pub fn sign(&self, head: &TreeHead) -> Result<String, CheckpointError> {
        let cp = Checkpoint::new(&self.name, head.size, Hash(head.root.0), "")
            .map_err(|e| CheckpointError::Malformed(e.to_string()))?;
        let mut note = Note::new(&cp.to_bytes(), &[])
            .map_err(|e| CheckpointError::Malformed(e.to_string()))?;
        note.add_sigs(&[self])
            .map_err(|e| CheckpointError::Signature(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| CheckpointError::Malformed(e.to_string()))
    }
}

/// A checkpoint whose signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Origin line.
    pub origin: String,
    /// Tree head.
    pub head: TreeHead,
    /// The whole signed note, as served.
    pub note: String,
}

/// The origin named in a verifier key (`name+id+key`).
pub fn verifier_key_name(vkey: &str) -> Option<&str> {
    vkey.split_once('+').map(|(n, _)| n)
}

/// Verify a signed checkpoint under a note verifier key; the checkpoint's origin must be the
/// key's name. Returns the tree head.
pub fn verify_checkpoint(note: &str, vkey: &str) -> Result<SignedCheckpoint, CheckpointError> {
    let verifier =
        StandardVerifier::new(vkey).map_err(|e| CheckpointError::VerifierKey(e.to_string()))?;
    let name = verifier_key_name(vkey).unwrap_or_default().to_string();
    let parsed =
        Note::from_bytes(note.as_bytes()).map_err(|e| CheckpointError::Malformed(e.to_string()))?;
    parsed
        .verify(&VerifierList::new(vec![Box::new(verifier)]))
        .map_err(|e| CheckpointError::Signature(e.to_string()))?;
    let cp = Checkpoint::from_bytes(parsed.text())
        .map_err(|e| CheckpointError::Malformed(e.to_string()))?;
    if cp.origin() != name {
        return Err(CheckpointError::WrongOrigin {
            got: cp.origin().into(),
            want: name,
        });
    }
    Ok(SignedCheckpoint {
        origin: cp.origin().into(),
        head: TreeHead {
            size: cp.size(),
            root: Digest32(cp.hash().0),
        },
        note: note.into(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::audit::{Frontier, leaf_hash};

    #[test]
    fn sign_and_verify_round_trip() {
        let set = SetId::from_digest(Digest32::sha256(b"set"));
        let o = origin(&set, 2);
        let key = LogKey::generate(&o).unwrap();
        let mut f = Frontier::new();
        for i in 0u32..5 {
            f.push(leaf_hash(&i.to_be_bytes()));
        }
        let note = key.sign(&f.head()).unwrap();
        assert!(note.starts_with(&format!("{o}\n5\n")), "{note}");
        let cp = verify_checkpoint(&note, &key.verifier_key()).unwrap();
        assert_eq!(cp.head, f.head());
        assert_eq!(cp.origin, o);
        // a seed round trip gives the same key
        let again = LogKey::from_seed(&o, &key.seed()).unwrap();
        assert_eq!(again.verifier_key(), key.verifier_key());
        // another key does not verify it
        let other = LogKey::generate(&o).unwrap();
        assert!(verify_checkpoint(&note, &other.verifier_key()).is_err());
        // a changed size does not verify
        let forged = note.replacen("\n5\n", "\n6\n", 1);
        assert!(verify_checkpoint(&forged, &key.verifier_key()).is_err());
    }
}
