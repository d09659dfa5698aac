//! ECIES on P-256: ephemeral ECDH, HKDF-SHA-256, AES-256-GCM.
//!
//! `K = HKDF-SHA-256(salt = "", ikm = x(e·R), info = "escrow/v1/ecies" || lp(context) || E || R)`,
//! `ct = AES-256-GCM(K, nonce = 0^96, plaintext, aad = context)`; E is the 33-byte compressed
//! ephemeral public key, R the recipient's. The key is used once, so the fixed nonce is safe:
//! one ephemeral key may serve several boxes only when their contexts differ ([`Sender`]).

use crate::codec::{V1, put_lp};
use crate::error::{Error, Result};
use crate::group::Point;
use crate::keys::{PrivateKey, PublicKey};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

/// HKDF info prefix of ECIES.
pub const INFO_ECIES: &[u8] = b"escrow/v1/ecies";

/// An ECIES ciphertext.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EciesBox {
    /// Format version.
    pub version: V1,
    /// Ephemeral public key E.
    pub ephemeral: Point,
    /// AES-256-GCM ciphertext and tag.
    #[serde(with = "crate::codec::b64")]
    pub ciphertext: Vec<u8>,
}

/// The box key: HKDF-SHA256 (empty salt, the shared x-coordinate) expanded with
/// `INFO_ECIES ‖ lp(context) ‖ E ‖ R`, `E` and `R` encoded as 33-byte compressed SEC1.
fn derive_encoded(
    shared_x: &[u8],
    context: &[u8],
    e: &[u8; 33],
    r: &[u8; 33],
) -> Result<Zeroizing<[u8; 32]>> {
    let mut info = Vec::with_capacity(INFO_ECIES.len() + 4 + context.len() + 66);
    info.extend_from_slice(INFO_ECIES);
    put_lp(&mut info, context);
    info.extend_from_slice(e);
    info.extend_from_slice(r);
    let hk = Hkdf::<Sha256>::new(Some(&[]), shared_x);
    let mut k = Zeroizing::new([0u8; 32]);
    hk.expand(&info, k.as_mut())
        .map_err(|_| Error::malformed("ecies", "hkdf output length"))?;
    Ok(k)
}

/// AES-256-GCM with a single-use key and the all-zero nonce.
pub(crate) fn seal_once(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .encrypt(
            &Nonce::default(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| Error::malformed("aead", "encryption failed"))
}

/// Inverse of [`seal_once`].
pub(crate) fn open_once(
    key: &[u8; 32],
    ciphertext: &[u8],
    aad: &[u8],
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(
            &Nonce::default(),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::Decrypt { what })
}

/// Encrypt `plaintext` to `recipient`, bound to `context`.
pub fn encrypt<R: rand_core::CryptoRng + ?Sized>(
    recipient: &PublicKey,
    context: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<EciesBox> {
    Sender::new(recipient, rng)?.seal(context, plaintext)
}

/// One ephemeral key exchange with one recipient, for one box or for several boxes whose
/// contexts are pairwise distinct (`docs/protocol.md` §17.1: a trustee seals the oversight copies
/// of one request this way, one ECDH per oversight key instead of one per entry). The context
/// enters the key derivation, so boxes with distinct contexts have independent keys and the
/// fixed nonce stays safe; **the caller must never seal two boxes with the same context under
/// one `Sender`** ([`crate::audit::Sealed::seal_batch`] starts a new one when a context repeats).
/// The shared secret zeroizes on drop.
pub struct Sender {
    e_pub: Point,
    /// `E` and `R` encoded once (each box's key derivation hashes both).
    e_enc: [u8; 33],
    r_enc: [u8; 33],
    /// The shared x-coordinate (wiped on drop).
    shared: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for Sender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Sender {{ ephemeral: {:?}, .. }}", self.e_pub)
    }
}

/// A fresh ephemeral key `E = e·G` (on the fixed-base table of G) and the x-coordinate of
/// `e·R` with `recipient`'s key R; the ephemeral scalar is wiped on drop. Both senders to a
/// public key start here: ECIES ([`Sender`]) and a trustee's v2 answer.
pub(crate) fn ephemeral_exchange<R: rand_core::CryptoRng + ?Sized>(
    recipient: &PublicKey,
    rng: &mut R,
) -> Result<(Point, Zeroizing<[u8; 32]>)> {
    let eph = Zeroizing::new(
        <p256::NonZeroScalar as p256::elliptic_curve::Generate>::generate_from_rng(rng),
    );
    let e: &p256::Scalar = (*eph).as_ref();
    let e_pub = Point::from_nonidentity(crate::group::generator_table().mul(e));
    let shared = crate::arith::ecdh_x(&eph, recipient.as_affine()).ok_or(Error::InvalidKey {
        what: "recipient key",
        why: "not a point on the curve".into(),
    })?;
    Ok((e_pub, shared))
}

impl Sender {
    /// A fresh ephemeral key and its ECDH with `recipient`.
    pub fn new<R: rand_core::CryptoRng + ?Sized>(
        recipient: &PublicKey,
        rng: &mut R,
    ) -> Result<Self> {
        let (e_pub, shared) = ephemeral_exchange(recipient, rng)?;
        let [e_enc, r_enc] =
            crate::group::sec1c_batch(&[*e_pub.inner(), *recipient.point().inner()]);
        Ok(Sender {
            e_pub,
            e_enc,
            r_enc,
            shared,
        })
    }

    /// The ephemeral public key E every box of this sender carries.
    pub fn ephemeral(&self) -> Point {
        self.e_pub
    }

    /// The compressed encoding of [`Self::ephemeral`] (computed once).
    pub fn ephemeral_encoding(&self) -> &[u8; 33] {
        &self.e_enc
    }

    /// One box bound to `context` (distinct from every other context sealed by this sender).
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<EciesBox> {
        let k = derive_encoded(self.shared.as_slice(), context, &self.e_enc, &self.r_enc)?;
        let ciphertext = seal_once(&k, plaintext, context)?;
        Ok(EciesBox {
            version: V1::default(),
            ephemeral: self.e_pub,
            ciphertext,
        })
    }
}

/// The receiving side of many boxes addressed to one key, for readers of batches sealed by one
/// [`Sender`] (`docs/protocol.md` §17.1): the shared secret of the last ephemeral key seen is
/// kept, so consecutive boxes under one ephemeral key cost one key exchange in all. Opening a
/// box gives exactly what [`decrypt`] gives (which is one box through a `Receiver`). The kept
/// secret zeroizes on drop.
pub struct Receiver<'a> {
    key: &'a PrivateKey,
    /// `R`, encoded.
    r_enc: [u8; 33],
    /// The last ephemeral key (as encoded in the box) and the shared secret with it.
    last: Option<([u8; 33], Zeroizing<[u8; 32]>)>,
    exchanges: u64,
}

impl core::fmt::Debug for Receiver<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Receiver {{ exchanges: {}, .. }}", self.exchanges)
    }
}

impl<'a> Receiver<'a> {
    /// A receiver for boxes addressed to `key`.
    pub fn new(key: &'a PrivateKey) -> Self {
        Receiver {
            key,
            r_enc: key.public().point().to_bytes(),
            last: None,
            exchanges: 0,
        }
    }

    /// The key the boxes are addressed to.
    pub fn key(&self) -> &'a PrivateKey {
        self.key
    }

    /// Key exchanges computed so far (one per change of ephemeral key).
    pub fn exchanges(&self) -> u64 {
        self.exchanges
    }

    /// Decrypt a box addressed to this receiver's key, bound to `context` (as [`decrypt`]).
    pub fn open(
        &mut self,
        context: &[u8],
        b: &EciesBox,
        what: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.open_encoded(context, &b.ephemeral.to_bytes(), &b.ciphertext, what)
    }

    /// [`Receiver::open`] of a box given as its parts: the ephemeral key as encoded (33-byte
    /// compressed SEC1; decoded, and refused if it is not a point of P-256, only when it
    /// differs from the last one) and the AEAD ciphertext.
    pub fn open_encoded(
        &mut self,
        context: &[u8],
        ephemeral: &[u8; 33],
        ciphertext: &[u8],
        what: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let shared = match &self.last {
            Some((e, s)) if e == ephemeral => s,
            _ => {
                let e_pub = p256::PublicKey::from_sec1_bytes(ephemeral)
                    .map_err(|_| Error::InvalidPoint { field: "ephemeral" })?;
                let s = (self.key.ecdh_x(e_pub.as_affine()))
                    .ok_or(Error::InvalidPoint { field: "ephemeral" })?;
                self.exchanges += 1;
                &self.last.insert((*ephemeral, s)).1
            }
        };
        let k = derive_encoded(shared.as_slice(), context, ephemeral, &self.r_enc)?;
        open_once(&k, ciphertext, context, what)
    }
}

/// Decrypt a box addressed to `key`, bound to `context` (one [`Receiver`], one box: the one
/// code path that opens a box).
pub fn decrypt(
    key: &PrivateKey,
    context: &[u8],
    b: &EciesBox,
    what: &'static str,
) -> Result<Zeroizing<Vec<u8>>> {
    Receiver::new(key).open(context, b, what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_binding() {
        let mut rng = rand::rng();
        let k = PrivateKey::generate(&mut rng);
        let other = PrivateKey::generate(&mut rng);
        let b = encrypt(&k.public(), b"ctx", b"secret", &mut rng).unwrap();
        assert_eq!(&decrypt(&k, b"ctx", &b, "t").unwrap()[..], b"secret");
        assert!(decrypt(&k, b"ctX", &b, "t").is_err());
        assert!(decrypt(&other, b"ctx", &b, "t").is_err());
        let mut t = b.clone();
        t.ciphertext[0] ^= 1;
        assert!(decrypt(&k, b"ctx", &t, "t").is_err());
    }
}
