//! The witness key and C2SP tlog-cosignature `cosignature/v1` (Ed25519)
//! (<https://c2sp.org/tlog-cosignature>).
//!
//! ```text
//! signed message = "cosignature/v1\n" || "time " || decimal(timestamp) || "\n" || checkpoint body
//! key ID         = SHA-256(name || "\n" || 0x04 || public key)[:4]
//! signature line = "— " || name || " " || base64(key ID || u64be(timestamp) || Ed25519 signature)
//! ```
//!
//! The checkpoint body is the note text up to and including its last newline, without the blank
//! line and without any signature lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer as _;
use rand::Rng as _;
use zeroize::Zeroizing;

// The wire formats are the core's (`escrow_core::audit::witness`), which verifies them; the
// witness only signs.
pub use escrow_core::audit::witness::{COSIGNATURE_V1_TYPE, cosignature_key_id, cosigned_message};

/// Why a witness key could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The name is not a valid note key name.
    #[error("invalid witness name {0:?}")]
    Name(String),
    /// The stored seed is malformed.
    #[error("malformed witness key seed: {0}")]
    Seed(String),
}

/// The witness's Ed25519 cosigning key. `Debug` is redacted; the signing key zeroizes on drop.
pub struct WitnessKey {
    name: String,
    id: u32,
    key: ed25519_dalek::SigningKey,
}

/// Its secret, the Ed25519 signing key, zeroizes itself on drop.
impl zeroize::ZeroizeOnDrop for WitnessKey {}

impl core::fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "WitnessKey {{ name: {:?}, secret: [REDACTED] }}",
            self.name
        )
    }
}

impl WitnessKey {
    /// A fresh key named `name`.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(&mut *seed);
        Self::from_seed(name, &seed)
    }

    /// The key with this 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, KeyError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(KeyError::Name(name.into()));
        }
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let id = cosignature_key_id(name, key.verifying_key().as_bytes());
        Ok(WitnessKey {
            name: name.into(),
            id,
            key,
        })
    }

    /// The key from its hex seed (as stored in the state folder).
    pub fn from_hex_seed(name: &str, hex_seed: &str) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(
            hex::decode(hex_seed.trim()).map_err(|e| KeyError::Seed(e.to_string()))?,
        );
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::Seed(format!("{} bytes, want 32", bytes.len())))?,
        );
        Self::from_seed(name, &seed)
    }

    /// The seed as hex (to store it).
    pub fn hex_seed(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.key.to_bytes()))
    }

    /// The witness name (key name of its signature lines).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 4-byte key ID.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The C2SP vkey: `name+hex(key ID)+base64(0x04 || public key)`.
    pub fn verifier_key(&self) -> String {
        let mut typed = vec![COSIGNATURE_V1_TYPE];
        typed.extend_from_slice(&self.public_key());
        format!("{}+{:08x}+{}", self.name, self.id, STANDARD.encode(typed))
    }

    /// The cosignature line (with its final newline) over `checkpoint_body` at `timestamp`.
    pub fn cosign(&self, timestamp: u64, checkpoint_body: &str) -> String {
        let sig = self.key.sign(&cosigned_message(timestamp, checkpoint_body));
        let mut blob = Vec::with_capacity(4 + 8 + 64);
        blob.extend_from_slice(&self.id.to_be_bytes());
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {} {}\n", self.name, STANDARD.encode(blob))
    }

    /// An auditing witness's statement line (with its final newline) over `checkpoint_body` at
    /// `timestamp`: every release in that checkpoint was justified under the policy `policy`
    /// (`escrow_core::audit::witness::audit_statement_message`, `docs/witness.md`).
    pub fn state(
        &self,
        timestamp: u64,
        policy: &escrow_core::codec::Digest32,
        checkpoint_body: &str,
    ) -> String {
        use escrow_core::audit::witness::{audit_statement_key_id, audit_statement_message};
        let sig = self
            .key
            .sign(&audit_statement_message(timestamp, policy, checkpoint_body));
        let id = audit_statement_key_id(&self.name, &self.public_key());
        let mut blob = Vec::with_capacity(4 + 8 + 64);
        blob.extend_from_slice(&id.to_be_bytes());
        blob.extend_from_slice(&timestamp.to_be_bytes());
        blob.extend_from_slice(&sig.to_bytes());
        format!("\u{2014} {} {}\n", self.name, STANDARD.encode(blob))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// A static assertion: the witness key zeroizes its seed on drop.
    #[test]
    fn the_witness_key_zeroizes_on_drop() {
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroized_on_drop::<WitnessKey>();
    }

    /// Interop: the witness's cosignature lines equal those of an independent implementation of
    /// C2SP tlog-cosignature (escrow-core/tests/vectors/witness_vectors.py, Python).
    #[test]
    fn cosignatures_match_an_independent_implementation() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../escrow-core/tests/vectors/witness.json"))
                .unwrap();
        let note = v["note"].as_str().unwrap();
        let body = format!("{}\n", note.split_once("\n\n").unwrap().0);
        for (i, name) in [
            "witness.example/w1",
            "witness.example/w2",
            "witness.example/audit",
        ]
        .iter()
        .enumerate()
        {
            let w = &v["witnesses"][i];
            let seed = [w["seed_byte"].as_u64().unwrap() as u8; 32];
            let k = WitnessKey::from_seed(name, &seed).unwrap();
            assert_eq!(k.verifier_key(), w["key"].as_str().unwrap());
            let line = k.cosign(w["time"].as_u64().unwrap(), &body);
            assert_eq!(line, v["cosignatures"][i].as_str().unwrap());
        }
    }

    #[test]
    fn cosignature_line_layout() {
        let k = WitnessKey::from_seed("witness.example/w1", &[7u8; 32]).unwrap();
        let line = k.cosign(1_679_315_147, "example.com/log\n1\nAAAA\n");
        let b64 = line
            .strip_prefix("\u{2014} witness.example/w1 ")
            .unwrap()
            .trim_end();
        let blob = STANDARD.decode(b64).unwrap();
        assert_eq!(blob.len(), 76);
        assert_eq!(&blob[..4], &k.key_id().to_be_bytes());
        assert_eq!(&blob[4..12], &1_679_315_147u64.to_be_bytes());
        let again = WitnessKey::from_hex_seed("witness.example/w1", &k.hex_seed()).unwrap();
        assert_eq!(again.verifier_key(), k.verifier_key());
        assert!(matches!(
            WitnessKey::from_seed("bad name", &[1u8; 32]),
            Err(KeyError::Name(_))
        ));
    }
}
