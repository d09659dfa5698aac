//! ECDSA P-256 keys in the formats other tools read: PKCS#8 PEM (private, plain or encrypted
//! with a passphrase), SPKI PEM (public). Used by authorities (warrants), investigators
//! (release encryption), trustees (responses).
//!
//! Encrypted private keys are standard PKCS#8 `EncryptedPrivateKeyInfo` (RFC 5958) with PBES2
//! (RFC 8018): scrypt (N = 2^14, r = 8, p = 1, 16-byte salt) and AES-256-CBC, as `openssl pkey`
//! reads them; keys that OpenSSL encrypts (PBKDF2-HMAC-SHA256 with AES-CBC, its default) are
//! read too. Key files that are something else are named in plain words ([`KeyFileError`]).

use crate::codec::{Digest32, KeyId};
use crate::error::{Error, Result};
use crate::group::Point;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use pkcs8::{EncryptedPrivateKeyInfoRef, ObjectIdentifier, PrivateKeyInfoRef, SecretDocument};
use zeroize::Zeroizing;

/// Shortest passphrase accepted for encrypting a private key, in bytes.
pub const MIN_PASSPHRASE_LEN: usize = 8;

/// What a key file turned out to be when it was not what was expected, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// A public key where a private key was expected.
    #[error(
        "this is a public key (`-----BEGIN PUBLIC KEY-----`, like NAME.pub); a private key was expected \
         (NAME.key from `escrow keygen`: `-----BEGIN ENCRYPTED PRIVATE KEY-----` or `-----BEGIN PRIVATE KEY-----`)"
    )]
    PublicKeyGiven,
    /// A private key where a public key was expected.
    #[error(
        "this is a private key; a public key was expected (NAME.pub from `escrow keygen`: `-----BEGIN PUBLIC KEY-----`)"
    )]
    PrivateKeyGiven,
    /// A SEC1 EC private key (`openssl ecparam -genkey`).
    #[error(
        "this is a SEC1 EC private key (`-----BEGIN EC PRIVATE KEY-----`, as `openssl ecparam -genkey` writes); \
         escrow reads PKCS#8. Convert it with a passphrase: `openssl pkcs8 -topk8 -v2 aes-256-cbc -in FILE -out NAME.key` \
         (or unencrypted: `openssl pkcs8 -topk8 -nocrypt -in FILE -out NAME.key`)"
    )]
    Sec1,
    /// A key of another algorithm or curve.
    #[error(
        "this is {found}; escrow needs an ECDSA P-256 (prime256v1) key: make one with `escrow keygen`, or \
         `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`"
    )]
    WrongAlgorithm {
        /// What was found, e.g. "an Ed25519 key (OID 1.3.101.112)".
        found: String,
    },
    /// An encrypted private key and no passphrase.
    #[error("this private key is encrypted with a passphrase, and none was given")]
    NeedsPassphrase,
    /// The passphrase does not decrypt the key.
    #[error(
        "the passphrase does not decrypt this private key (wrong passphrase, or a damaged file)"
    )]
    WrongPassphrase,
    /// Encrypted with a scheme this build does not read.
    #[error(
        "this private key is encrypted with a scheme escrow does not read ({why}); re-encrypt it: \
         `openssl pkcs8 -topk8 -v2 aes-256-cbc -in FILE -out NAME.key`"
    )]
    UnsupportedEncryption {
        /// The decoder's reason.
        why: String,
    },
    /// A passphrase too short to encrypt with.
    #[error("a passphrase must be at least {MIN_PASSPHRASE_LEN} bytes long")]
    PassphraseTooShort,
    /// A JSON file.
    #[error("this is a JSON file, not a key; a PEM key file (`-----BEGIN ...-----`) was expected")]
    Json,
    /// A binary file.
    #[error(
        "this is a binary file, not a PEM key file (a DER key converts with `openssl pkey -inform DER -in FILE -out NAME.key`)"
    )]
    Binary,
    /// Text without a PEM block.
    #[error("this is not a PEM key file (it has no `-----BEGIN ...-----` line)")]
    NotPem,
    /// A PEM block of another kind (a certificate, parameters only).
    #[error("this is a PEM `{label}` block, not a key")]
    OtherPem {
        /// The PEM label.
        label: String,
    },
    /// The right kind of block, but damaged.
    #[error("the key is damaged: {why}")]
    Malformed {
        /// The decoder's reason.
        why: String,
    },
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";

fn algorithm_name(oid: ObjectIdentifier, params: Option<ObjectIdentifier>) -> String {
    let curve = params.map(|p| p.to_string());
    let name = match (oid.to_string().as_str(), curve.as_deref()) {
        ("1.3.101.112", _) => "an Ed25519 key".to_string(),
        ("1.3.101.113", _) => "an Ed448 key".to_string(),
        ("1.3.101.110", _) => "an X25519 key".to_string(),
        ("1.3.101.111", _) => "an X448 key".to_string(),
        ("1.2.840.113549.1.1.1", _) | ("1.2.840.113549.1.1.10", _) => "an RSA key".to_string(),
        (OID_EC_PUBLIC_KEY, Some("1.3.132.0.34")) => "an EC key on P-384".to_string(),
        (OID_EC_PUBLIC_KEY, Some("1.3.132.0.35")) => "an EC key on P-521".to_string(),
        (OID_EC_PUBLIC_KEY, Some("1.3.132.0.10")) => "an EC key on secp256k1".to_string(),
        (OID_EC_PUBLIC_KEY, Some(c)) => format!("an EC key on the curve with OID {c}"),
        _ => "a key of another algorithm".to_string(),
    };
    format!("{name} (algorithm OID {oid})")
}

/// The PEM labels (`-----BEGIN LABEL-----`) in a text, in order.
fn pem_labels(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("-----BEGIN "))
        .filter_map(|l| l.strip_suffix("-----"))
        .collect()
}

/// The file's text, or what kind of non-text it is.
fn key_text(bytes: &[u8]) -> core::result::Result<&str, KeyFileError> {
    let trimmed = bytes.trim_ascii_start();
    if trimmed.first().is_some_and(|b| matches!(b, b'{' | b'[')) {
        return Err(KeyFileError::Json);
    }
    match core::str::from_utf8(bytes) {
        Ok(t) if !t.contains('\0') => Ok(t),
        _ => Err(KeyFileError::Binary),
    }
}

/// The one PEM block of `label` in `text`, as DER.
fn pem_block(text: &str, label: &str) -> core::result::Result<SecretDocument, KeyFileError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or(KeyFileError::NotPem)?;
    let stop = text
        .get(start..)
        .and_then(|t| t.find(&end))
        .map(|i| start + i + end.len())
        .ok_or_else(|| KeyFileError::Malformed {
            why: format!("no `{end}` line"),
        })?;
    let block = text.get(start..stop).unwrap_or_default();
    let (_, doc) = SecretDocument::from_pem(block)
        .map_err(|e| KeyFileError::Malformed { why: e.to_string() })?;
    Ok(doc)
}

/// A P-256 signing key from PKCS#8 DER, or what else the DER holds.
fn signing_key_from_pkcs8(der: &[u8]) -> core::result::Result<SigningKey, KeyFileError> {
    let info = PrivateKeyInfoRef::try_from(der)
        .map_err(|e| KeyFileError::Malformed { why: e.to_string() })?;
    let oid = info.algorithm.oid;
    let params = info.algorithm.parameters_oid().ok();
    if oid.to_string() != OID_EC_PUBLIC_KEY
        || params.map(|p| p.to_string()).as_deref() != Some(OID_P256)
    {
        return Err(KeyFileError::WrongAlgorithm {
            found: algorithm_name(oid, params),
        });
    }
    SigningKey::from_pkcs8_der(der).map_err(|e| KeyFileError::Malformed { why: e.to_string() })
}

/// Whether a key file is an encrypted PKCS#8 private key (needs a passphrase to load).
pub fn is_encrypted_key_file(bytes: &[u8]) -> bool {
    key_text(bytes).is_ok_and(|t| pem_labels(t).contains(&"ENCRYPTED PRIVATE KEY"))
}

/// A private key (ECDSA signing, and ECDH for ECIES). Zeroized on drop; redacted in `Debug`.
#[derive(Clone)]
pub struct PrivateKey(SigningKey);

/// Its one field, the ECDSA signing key, zeroizes itself on drop (asserted in
/// `secret::tests::every_holder_of_a_secret_zeroizes_it_on_drop`).
impl zeroize::ZeroizeOnDrop for PrivateKey {}

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "PrivateKey([REDACTED], key_id={})",
            self.public().key_id().short()
        )
    }
}

impl PrivateKey {
    /// A fresh key.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        PrivateKey(<SigningKey as p256::elliptic_curve::Generate>::generate_from_rng(rng))
    }

    /// Parse PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        SigningKey::from_pkcs8_pem(pem.trim())
            .map(PrivateKey)
            .map_err(|e| Error::InvalidKey {
                what: "private key (PKCS#8 PEM, P-256)",
                why: e.to_string(),
            })
    }

    /// Read a private key file: PKCS#8 PEM, encrypted (give `passphrase`) or not. Anything
    /// else is named in plain words: a public key, a SEC1 key (with the `openssl` line that
    /// converts it), another algorithm, JSON, binary.
    pub fn from_key_file(
        bytes: &[u8],
        passphrase: Option<&[u8]>,
    ) -> core::result::Result<Self, KeyFileError> {
        let text = key_text(bytes)?;
        let labels = pem_labels(text);
        if labels.contains(&"ENCRYPTED PRIVATE KEY") {
            let pass = passphrase.ok_or(KeyFileError::NeedsPassphrase)?;
            let doc = pem_block(text, "ENCRYPTED PRIVATE KEY")?;
            let enc = EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())
                .map_err(|e| KeyFileError::Malformed { why: e.to_string() })?;
            let plain = enc.decrypt(pass).map_err(|e| match e {
                pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::DecryptFailed) => {
                    KeyFileError::WrongPassphrase
                }
                // The outer structure parsed above, so a DER error here is about the decrypted
                // bytes: a wrong passphrase that passed the CBC padding check by chance (about
                // 1 in 256) and left garbage.
                pkcs8::Error::Asn1(_) => KeyFileError::WrongPassphrase,
                other => KeyFileError::UnsupportedEncryption {
                    why: other.to_string(),
                },
            })?;
            // A wrong passphrase can survive the CBC padding check by chance (about 1 in 256);
            // the DER then does not parse.
            return match PrivateKeyInfoRef::try_from(plain.as_bytes()) {
                Ok(_) => signing_key_from_pkcs8(plain.as_bytes()).map(PrivateKey),
                Err(_) => Err(KeyFileError::WrongPassphrase),
            };
        }
        if labels.contains(&"PRIVATE KEY") {
            let doc = pem_block(text, "PRIVATE KEY")?;
            return signing_key_from_pkcs8(doc.as_bytes()).map(PrivateKey);
        }
        match labels.first() {
            None => Err(KeyFileError::NotPem),
            Some(_) if labels.contains(&"EC PRIVATE KEY") => Err(KeyFileError::Sec1),
            Some(&"PUBLIC KEY") => Err(KeyFileError::PublicKeyGiven),
            Some(&"RSA PRIVATE KEY") => Err(KeyFileError::WrongAlgorithm {
                found: "an RSA key (PKCS#1)".into(),
            }),
            Some(&"OPENSSH PRIVATE KEY") => Err(KeyFileError::WrongAlgorithm {
                found: "an OpenSSH private key".into(),
            }),
            Some(l) => Err(KeyFileError::OtherPem {
                label: (*l).to_string(),
            }),
        }
    }

    /// Encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`): PBES2 with scrypt
    /// (N = 2^14, r = 8, p = 1) and AES-256-CBC, a fresh salt and IV from `rng`.
    pub fn to_encrypted_pem<R: pkcs8::rand_core::TryCryptoRng>(
        &self,
        passphrase: &[u8],
        rng: &mut R,
    ) -> core::result::Result<Zeroizing<String>, KeyFileError> {
        if passphrase.len() < MIN_PASSPHRASE_LEN {
            return Err(KeyFileError::PassphraseTooShort);
        }
        let bad = |e: String| KeyFileError::Malformed { why: e };
        let der = self.0.to_pkcs8_der().map_err(|e| bad(e.to_string()))?;
        let info = PrivateKeyInfoRef::try_from(der.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let enc = info
            .encrypt_with_rng(rng, passphrase)
            .map_err(|e| bad(e.to_string()))?;
        enc.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(|e| bad(e.to_string()))
    }

    /// PKCS#8 PEM.
    pub fn to_pem(&self) -> Result<Zeroizing<String>> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::InvalidKey {
                what: "private key",
                why: e.to_string(),
            })
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// ECDSA P-256 / SHA-256 signature over `msg`, DER encoded (as OpenSSL writes them).
    pub fn sign(&self, msg: &[u8]) -> Vec<u8> {
        let sig: Signature = self.0.sign(msg);
        sig.to_der().as_bytes().to_vec()
    }

    /// The secret scalar as a non-zero scalar.
    pub(crate) fn secret_scalar(&self) -> p256::NonZeroScalar {
        *self.0.as_nonzero_scalar()
    }

    /// ECDH with this key: the x-coordinate of `secret·public` (`arith::ecdh_x`; the secret
    /// is passed by reference, so no unwiped copy of it is made). `None` only for a point
    /// that does not convert.
    pub(crate) fn ecdh_x(
        &self,
        public: &p256::AffinePoint,
    ) -> Option<zeroize::Zeroizing<[u8; 32]>> {
        crate::arith::ecdh_x(self.0.as_nonzero_scalar(), public)
    }
}

/// A public key. Its key id is the SHA-256 of its SPKI DER encoding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl core::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PublicKey({})", self.key_id().short())
    }
}

impl PublicKey {
    /// Parse SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self> {
        VerifyingKey::from_public_key_pem(pem.trim())
            .map(PublicKey)
            .map_err(|e| Error::InvalidKey {
                what: "public key (SPKI PEM, P-256)",
                why: e.to_string(),
            })
    }

    /// Read a public key file (SPKI PEM). Anything else is named in plain words (a private
    /// key, another algorithm, JSON, binary).
    pub fn from_key_file(bytes: &[u8]) -> core::result::Result<Self, KeyFileError> {
        let text = key_text(bytes)?;
        let labels = pem_labels(text);
        if labels.contains(&"PUBLIC KEY") {
            let doc = pem_block(text, "PUBLIC KEY")?;
            let spki = pkcs8::SubjectPublicKeyInfoRef::try_from(doc.as_bytes())
                .map_err(|e| KeyFileError::Malformed { why: e.to_string() })?;
            let oid = spki.algorithm.oid;
            let params = spki.algorithm.parameters_oid().ok();
            if oid.to_string() != OID_EC_PUBLIC_KEY
                || params.map(|p| p.to_string()).as_deref() != Some(OID_P256)
            {
                return Err(KeyFileError::WrongAlgorithm {
                    found: algorithm_name(oid, params),
                });
            }
            return VerifyingKey::from_public_key_der(doc.as_bytes())
                .map(PublicKey)
                .map_err(|e| KeyFileError::Malformed { why: e.to_string() });
        }
        if labels.iter().any(|l| {
            matches!(
                *l,
                "PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" | "EC PRIVATE KEY"
            )
        }) {
            return Err(KeyFileError::PrivateKeyGiven);
        }
        match labels.first() {
            None => Err(KeyFileError::NotPem),
            Some(l) => Err(KeyFileError::OtherPem {
                label: (*l).to_string(),
            }),
        }
    }

    /// SPKI PEM.
    pub fn to_pem(&self) -> String {
        self.0.to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// SPKI DER.
    pub fn to_der(&self) -> Vec<u8> {
        self.0
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    }

    /// Key id: SHA-256 of the SPKI DER encoding.
    pub fn key_id(&self) -> KeyId {
        KeyId::from_digest(Digest32::sha256(&self.to_der()))
    }

    /// The key as a curve point.
    pub fn point(&self) -> Point {
        // A VerifyingKey is never the identity.
        Point::from_nonidentity(self.0.as_affine().into())
    }

    /// From a curve point.
    pub fn from_point(p: &Point) -> Result<Self> {
        VerifyingKey::from_affine(p.inner().to_affine())
            .map(PublicKey)
            .map_err(|e| Error::InvalidKey {
                what: "public key point",
                why: e.to_string(),
            })
    }

    /// Verify a DER-encoded (or 64-byte fixed) ECDSA P-256 / SHA-256 signature.
    pub fn verify(&self, msg: &[u8], sig: &[u8], what: &str) -> Result<()> {
        let sig = Signature::from_der(sig)
            .or_else(|_| Signature::from_slice(sig))
            .map_err(|_| Error::BadSignature {
                what: what.to_string(),
            })?;
        self.0.verify(msg, &sig).map_err(|_| Error::BadSignature {
            what: what.to_string(),
        })
    }

    pub(crate) fn as_affine(&self) -> &p256::AffinePoint {
        self.0.as_affine()
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        self.point().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let p = Point::deserialize(d)?;
        PublicKey::from_point(&p).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_roundtrip_and_signatures() {
        let k = PrivateKey::generate(&mut rand::rng());
        let k2 = PrivateKey::from_pem(&k.to_pem().unwrap()).unwrap();
        assert_eq!(k.public(), k2.public());
        let p = PublicKey::from_pem(&k.public().to_pem()).unwrap();
        let sig = k.sign(b"hello");
        p.verify(b"hello", &sig, "test").unwrap();
        assert!(p.verify(b"hellO", &sig, "test").is_err());
        assert!(PublicKey::from_pem("junk").is_err());
        assert!(format!("{k:?}").contains("REDACTED"));
    }

    /// RFC 8410 §10.3's example Ed25519 private key.
    const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        -----END PRIVATE KEY-----\n";

    #[test]
    fn encrypted_pkcs8_roundtrip_and_wrong_passphrase() {
        let mut rng = rand::rng();
        let k = PrivateKey::generate(&mut rng);
        let pem = k.to_encrypted_pem(b"correct horse", &mut rng).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        assert!(is_encrypted_key_file(pem.as_bytes()));
        let k2 = PrivateKey::from_key_file(pem.as_bytes(), Some(b"correct horse")).unwrap();
        assert_eq!(k.public(), k2.public());
        assert_eq!(
            PrivateKey::from_key_file(pem.as_bytes(), None).unwrap_err(),
            KeyFileError::NeedsPassphrase
        );
        assert_eq!(
            PrivateKey::from_key_file(pem.as_bytes(), Some(b"battery staple")).unwrap_err(),
            KeyFileError::WrongPassphrase
        );
        assert_eq!(
            k.to_encrypted_pem(b"short", &mut rng).unwrap_err(),
            KeyFileError::PassphraseTooShort
        );
        // Unencrypted PKCS#8 still reads, with or without a passphrase given.
        let plain = k.to_pem().unwrap();
        assert!(!is_encrypted_key_file(plain.as_bytes()));
        let k3 = PrivateKey::from_key_file(plain.as_bytes(), None).unwrap();
        assert_eq!(k3.public(), k.public());
    }

    /// A wrong passphrase passes the CBC padding check about once in 256 tries and leaves
    /// bytes that are not DER: still "wrong passphrase", never "a scheme escrow does not
    /// read". PBKDF2 with one iteration makes a few thousand tries cheap.
    #[test]
    fn a_wrong_passphrase_that_survives_the_padding_check_is_still_a_wrong_passphrase() {
        use pkcs8::pkcs5::pbes2;
        let k = PrivateKey::generate(&mut rand::rng());
        let der = k.0.to_pkcs8_der().unwrap();
        let info = PrivateKeyInfoRef::try_from(der.as_bytes()).unwrap();
        let params =
            pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(1, &[7u8; 16], [9u8; 16]).unwrap();
        let enc = info
            .encrypt_with_params(params.clone(), b"correct horse")
            .unwrap();
        let pem = enc.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF).unwrap();
        let parsed = EncryptedPrivateKeyInfoRef::try_from(enc.as_bytes()).unwrap();
        let data = parsed.encrypted_data.as_ref();
        let mut survived = 0;
        for i in 0..4000u32 {
            let wrong = format!("wrong passphrase {i}");
            if params.decrypt(wrong.as_bytes(), data).is_ok() {
                survived += 1;
            }
            assert_eq!(
                PrivateKey::from_key_file(pem.as_bytes(), Some(wrong.as_bytes())).unwrap_err(),
                KeyFileError::WrongPassphrase,
                "{wrong}"
            );
        }
        // The case this test is about happened (expected ~15 times; none in 4000 is e^-15).
        assert!(survived > 0);
        let k2 = PrivateKey::from_key_file(pem.as_bytes(), Some(b"correct horse")).unwrap();
        assert_eq!(k2.public(), k.public());
    }

    #[test]
    fn key_file_errors_say_what_the_file_is() {
        use p256::elliptic_curve::SecretKey;
        let k = PrivateKey::generate(&mut rand::rng());
        let public = k.public().to_pem();
        let e = PrivateKey::from_key_file(public.as_bytes(), None).unwrap_err();
        assert_eq!(e, KeyFileError::PublicKeyGiven);
        assert!(e.to_string().contains("this is a public key"), "{e}");
        let e = PublicKey::from_key_file(k.to_pem().unwrap().as_bytes()).unwrap_err();
        assert_eq!(e, KeyFileError::PrivateKeyGiven);
        let e = PrivateKey::from_key_file(ED25519_PEM.as_bytes(), None).unwrap_err();
        assert!(
            matches!(&e, KeyFileError::WrongAlgorithm { found } if found.contains("Ed25519") && found.contains("1.3.101.112")),
            "{e}"
        );
        let sec1: SecretKey<p256::NistP256> = SecretKey::from_slice(&[7u8; 32]).unwrap();
        let sec1 = sec1.to_sec1_pem(LineEnding::LF).unwrap();
        let sec1 = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            sec1.as_str()
        );
        let e = PrivateKey::from_key_file(sec1.as_bytes(), None).unwrap_err();
        assert_eq!(e, KeyFileError::Sec1);
        assert!(e.to_string().contains("openssl pkcs8 -topk8"), "{e}");
        assert_eq!(
            PrivateKey::from_key_file(b"{\"version\": 1}", None).unwrap_err(),
            KeyFileError::Json
        );
        assert_eq!(
            PrivateKey::from_key_file(b"\x30\x82\x00\x00\xff", None).unwrap_err(),
            KeyFileError::Binary
        );
        assert_eq!(
            PrivateKey::from_key_file(b"hello", None).unwrap_err(),
            KeyFileError::NotPem
        );
        assert!(matches!(
            PrivateKey::from_key_file(
                b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                None
            )
            .unwrap_err(),
            KeyFileError::Malformed { .. }
        ));
    }
}
