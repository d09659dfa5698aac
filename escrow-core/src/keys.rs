//! ECDSA P-256 keys in the formats other tools read: PKCS#8 PEM (private), SPKI PEM (public).
//! Used by authorities (warrants), investigators (release encryption), trustees (responses).

use crate::codec::Digest32;
use crate::error::{Error, Result};
use crate::group::Point;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use zeroize::Zeroizing;

/// A private key (ECDSA signing, and ECDH for ECIES). Zeroized on drop; redacted in `Debug`.
#[derive(Clone)]
pub struct PrivateKey(SigningKey);

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

    /// The secret scalar as a non-zero scalar, for ECDH.
    pub(crate) fn secret_scalar(&self) -> p256::NonZeroScalar {
        *self.0.as_nonzero_scalar()
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
    pub fn key_id(&self) -> Digest32 {
        Digest32::sha256(&self.to_der())
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
}
