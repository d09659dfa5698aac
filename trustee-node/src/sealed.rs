//! Secrets at rest: the key share and the signing key, encrypted under a key derived from the
//! operator's passphrase.
//!
//! `key = Argon2id(passphrase, salt, m, t, p)` (RFC 9106), 32 bytes;
//! `ciphertext = AES-256-GCM(key, nonce, plaintext, aad)` with a random 96-bit nonce and
//! `aad = "escrow/v1/trustee-node-secrets" || set_id || u16_be(trustee)`. The Argon2id
//! parameters and the salt are recorded in the file, so a node set up with the cheap test
//! setting still opens with exactly the parameters it was sealed with.

use crate::error::NodeError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use escrow_core::codec::{SetId, V1};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Associated-data prefix.
const AAD_PREFIX: &[u8] = b"escrow/v1/trustee-node-secrets";
/// Most memory a sealed file may ask for, KiB (4 GiB): a damaged file cannot exhaust RAM.
const MAX_M_COST_KIB: u32 = 4 * 1024 * 1024;
/// Most passes a sealed file may ask for.
const MAX_T_COST: u32 = 64;

/// Argon2id cost setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KdfCost {
    /// RFC 9106 §4 second recommended option: 64 MiB, 3 passes, 4 lanes. The default.
    Strong,
    /// TEST ONLY: 64 KiB, 1 pass, 1 lane. Makes tests fast; gives a passphrase no protection.
    Test,
}

/// The recorded Argon2id parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfParams {
    /// Always `argon2id`.
    pub algorithm: String,
    /// Argon2 version (0x13 = 19).
    pub argon2_version: u32,
    /// Memory, KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
    /// Salt, base64 (16 bytes).
    #[serde(with = "escrow_core::codec::b64")]
    pub salt: Vec<u8>,
    /// The setting's name, for people (`strong` or `test`).
    pub setting: String,
}

impl KdfParams {
    fn new(cost: KdfCost) -> Self {
        let (m, t, p, name) = match cost {
            KdfCost::Strong => (64 * 1024, 3, 4, "strong"),
            KdfCost::Test => (64, 1, 1, "test"),
        };
        let mut salt = vec![0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        KdfParams {
            algorithm: "argon2id".into(),
            argon2_version: 0x13,
            m_cost_kib: m,
            t_cost: t,
            p_cost: p,
            salt,
            setting: name.into(),
        }
    }

    fn derive(&self, passphrase: &[u8]) -> Result<Zeroizing<[u8; 32]>, NodeError> {
        if self.algorithm != "argon2id" || self.argon2_version != 0x13 {
            return Err(NodeError::State(format!(
                "secrets file asks for KDF {} version {}; only argon2id version 19 is supported",
                self.algorithm, self.argon2_version
            )));
        }
        if self.m_cost_kib > MAX_M_COST_KIB
            || self.t_cost > MAX_T_COST
            || self.p_cost > 64
            || self.salt.len() < 16
        {
            return Err(NodeError::State(
                "secrets file asks for out-of-range KDF parameters".into(),
            ));
        }
        let params = Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| NodeError::State(format!("secrets file KDF parameters: {e}")))?;
        let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        a.hash_password_into(passphrase, &self.salt, key.as_mut())
            .map_err(|e| NodeError::State(format!("key derivation failed: {e}")))?;
        Ok(key)
    }
}

/// `STATE/secrets.sealed.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedSecrets {
    /// Format version.
    pub version: V1,
    /// Trustee-set id the secrets belong to (bound as AEAD data).
    pub set_id: SetId,
    /// Trustee index (bound as AEAD data).
    pub trustee: u16,
    /// How the key is derived from the passphrase.
    pub kdf: KdfParams,
    /// Always `aes-256-gcm`.
    pub cipher: String,
    /// 96-bit nonce, base64.
    #[serde(with = "escrow_core::codec::b64")]
    pub nonce: Vec<u8>,
    /// Ciphertext and tag, base64.
    #[serde(with = "escrow_core::codec::b64")]
    pub ciphertext: Vec<u8>,
}

/// The plaintext inside.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretBundle {
    /// `key-share.json` contents.
    pub key_share: String,
    /// `signing.key` (PKCS#8 PEM).
    pub signing_key: String,
    /// The Ed25519 log (checkpoint) key seed, hex. Absent in state folders made before the
    /// transparency log (issue 5): those are refused at load.
    #[serde(default)]
    pub log_key: String,
}

impl Drop for SecretBundle {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.key_share.zeroize();
        self.signing_key.zeroize();
        self.log_key.zeroize();
    }
}

/// Every field is zeroized by the `Drop` above.
impl zeroize::ZeroizeOnDrop for SecretBundle {}

fn aad(set_id: &SetId, trustee: u16) -> Vec<u8> {
    let mut a = AAD_PREFIX.to_vec();
    a.extend_from_slice(set_id.as_bytes());
    a.extend_from_slice(&trustee.to_be_bytes());
    a
}

impl SealedSecrets {
    /// Encrypt `bundle` under `passphrase`.
    pub fn seal(
        bundle: &SecretBundle,
        set_id: SetId,
        trustee: u16,
        passphrase: &[u8],
        cost: KdfCost,
    ) -> Result<Self, NodeError> {
        let kdf = KdfParams::new(cost);
        let key = kdf.derive(passphrase)?;
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let pt = Zeroizing::new(
            serde_json::to_vec(bundle)
                .map_err(|e| NodeError::State(format!("encoding secrets: {e}")))?,
        );
        let cipher = Aes256Gcm::new((&*key).into());
        let ciphertext = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &pt,
                    aad: &aad(&set_id, trustee),
                },
            )
            .map_err(|_| NodeError::State("encrypting secrets failed".into()))?;
        Ok(SealedSecrets {
            version: V1::default(),
            set_id,
            trustee,
            kdf,
            cipher: "aes-256-gcm".into(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// Decrypt with `passphrase`. A wrong passphrase and a damaged file are indistinguishable
    /// (AEAD), and reported as such.
    pub fn open(&self, passphrase: &[u8]) -> Result<SecretBundle, NodeError> {
        let nonce: [u8; 12] = match (self.cipher.as_str(), self.nonce.as_slice().try_into()) {
            ("aes-256-gcm", Ok(n)) => n,
            _ => {
                return Err(NodeError::State(format!(
                    "secrets file uses unsupported cipher {:?}",
                    self.cipher
                )));
            }
        };
        let key = self.kdf.derive(passphrase)?;
        let cipher = Aes256Gcm::new((&*key).into());
        let pt = cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &self.ciphertext,
                    aad: &aad(&self.set_id, self.trustee),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| NodeError::WrongPassphrase)?;
        serde_json::from_slice(&pt)
            .map_err(|e| NodeError::State(format!("secrets file contents: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )]
    use super::*;

    fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}

    /// A static assertion: the node's secrets zeroize on drop — the opened bundle, the key share,
    /// the signing and log keys it is read into, and the passphrase and derived key buffers.
    #[test]
    fn the_nodes_secrets_zeroize_on_drop() {
        zeroized_on_drop::<SecretBundle>();
        zeroized_on_drop::<escrow_core::trustee::VerifiedKeyShare>();
        zeroized_on_drop::<escrow_core::keys::PrivateKey>();
        zeroized_on_drop::<escrow_core::audit::checkpoint::LogKey>();
        zeroized_on_drop::<Zeroizing<Vec<u8>>>();
        zeroized_on_drop::<Zeroizing<[u8; 32]>>();
    }

    #[test]
    fn seal_open_and_wrong_passphrase() {
        let b = SecretBundle {
            key_share: "ks".into(),
            signing_key: "sk".into(),
            log_key: String::new(),
        };
        let s =
            SealedSecrets::seal(&b, SetId::from_bytes([1; 32]), 2, b"pw", KdfCost::Test).unwrap();
        let o = s.open(b"pw").unwrap();
        assert_eq!(o.key_share, "ks");
        assert!(matches!(s.open(b"pW"), Err(NodeError::WrongPassphrase)));
        let mut t = s.clone();
        t.trustee = 3;
        assert!(matches!(t.open(b"pw"), Err(NodeError::WrongPassphrase)));
    }
}
