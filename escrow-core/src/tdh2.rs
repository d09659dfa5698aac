//! TDH2 (Shoup & Gennaro, J. Cryptology 2002) as a labelled KEM that wraps a message key.
//!
//! Encapsulation under the escrow key Y (`docs/protocol.md` §TDH2):
//!
//! ```text
//! r, s  <- random non-zero scalars
//! u = rG,  ū = rG',  w = sG,  w̄ = sG'
//! K = HKDF-SHA-256(salt = set_id, ikm = SEC1c(rY), info = "escrow/v1/tdh2-kem" || SEC1c(u))
//! c = AES-256-GCM(K, nonce = 0^96, message_key, aad = label_bytes)
//! e = H2(set_id || lp(c) || lp(label_bytes) || u || w || ū || w̄)   (hash_to_scalar, DST_TDH2)
//! f = s + r·e
//! ```
//!
//! Public check: `w = fG − e·u`, `w̄ = fG' − e·ū`, and `e == H2(...)` recomputed. A ciphertext
//! whose label, wrapped key, u or ū was changed fails it. [`EscrowCiphertext::check`] is the only
//! way to a [`ValidCiphertext`], the type decryption shares require.

use crate::codec::{CiphertextDigest, Digest32, SetId, V1, put_lp};
use crate::ecies::{open_once, seal_once};
use crate::error::{Error, Result};
use crate::group::{self, Point, generator2, scalar_hex, scalar_to_bytes, sec1c};
use crate::label::Label;
use crate::secret::{MessageKey, SecretScalar};
use crate::trustee::TrusteeSet;
use hkdf::Hkdf;
use p256::{ProjectivePoint, Scalar};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

/// DST of the TDH2 proof challenge H2.
pub const DST_TDH2: &str = "ESCROW-V1-TDH2-CHALLENGE_P256_XMD:SHA-256";
/// HKDF info prefix of the KEM key.
pub const INFO_KEM: &[u8] = b"escrow/v1/tdh2-kem";
/// Tag of the ciphertext digest.
pub const TAG_CT_DIGEST: &str = "escrow/v1/ciphertext-digest";
/// Length of the wrapped key: 32-byte key + 16-byte GCM tag.
pub const WRAPPED_LEN: usize = 48;

/// A TDH2 escrow ciphertext (the escrow header of a sealed message).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscrowCiphertext {
    /// Format version.
    pub version: V1,
    /// The trustee set it is escrowed to.
    pub set_id: SetId,
    /// The escrow label (metadata the warrant scope is matched against).
    pub label: Label,
    /// `u = rG`.
    pub u: Point,
    /// `ū = rG'`.
    pub u_bar: Point,
    /// Proof challenge e.
    #[serde(with = "scalar_hex")]
    pub e: Scalar,
    /// Proof response f.
    #[serde(with = "scalar_hex")]
    pub f: Scalar,
    /// The wrapped message key (AES-256-GCM, 48 bytes).
    #[serde(with = "crate::codec::b64")]
    pub wrapped_key: Vec<u8>,
}

fn challenge(set_id: &SetId, wrapped: &[u8], label: &[u8], pts: [&ProjectivePoint; 4]) -> Scalar {
    let [a, b, c, d] = group::sec1c_batch(&pts.map(|p| *p));
    challenge_encoded(set_id, wrapped, label, [&a, &b, &c, &d])
}

/// The challenge from the encodings of `[u, w, ū, w̄]`.
fn challenge_encoded(set_id: &SetId, wrapped: &[u8], label: &[u8], pts: [&[u8; 33]; 4]) -> Scalar {
    challenge_with(DST_TDH2, set_id, wrapped, label, pts)
}

/// The challenge of either version (v1: [`DST_TDH2`], v2: its own tag) from the encodings of
/// `[u, w, ū, w̄]`: `H(dst, set_id || lp(c) || lp(label_bytes) || u || w || ū || w̄)`.
pub(crate) fn challenge_with(
    dst: &str,
    set_id: &SetId,
    wrapped: &[u8],
    label: &[u8],
    pts: [&[u8; 33]; 4],
) -> Scalar {
    let mut m = Vec::with_capacity(32 + 8 + wrapped.len() + label.len() + 4 * 33);
    m.extend_from_slice(set_id.as_bytes());
    put_lp(&mut m, wrapped);
    put_lp(&mut m, label);
    for p in pts {
        m.extend_from_slice(p);
    }
    group::hash_to_scalar(dst, &[&m])
}

/// The cheap checks of a ciphertext of either version (`what` names it in the error): made
/// for `set` (or a set it was refreshed to), a well-formed label, a wrapped key of
/// [`WRAPPED_LEN`] bytes.
pub(crate) fn check_header_fields(
    set: &TrusteeSet,
    set_id: &SetId,
    label: &Label,
    wrapped_key: &[u8],
    what: &'static str,
) -> Result<()> {
    if !set.covers(set_id) {
        return Err(Error::CiphertextForOtherSet {
            found: set_id.short(),
            expected: set.id().short(),
        });
    }
    label.check()?;
    if wrapped_key.len() != WRAPPED_LEN {
        return Err(Error::malformed(
            what,
            format!("wrapped_key must be {WRAPPED_LEN} bytes"),
        ));
    }
    Ok(())
}

pub(crate) fn kem_key(
    set_id: &SetId,
    z: &ProjectivePoint,
    u: &Point,
) -> Result<Zeroizing<[u8; 32]>> {
    let ikm = Zeroizing::new(sec1c(z));
    kem_key_encoded(set_id, &ikm, &u.to_bytes())
}

/// The KEM key from `SEC1c(Z)` and `SEC1c(u)`.
fn kem_key_encoded(
    set_id: &SetId,
    z_enc: &[u8; 33],
    u_enc: &[u8; 33],
) -> Result<Zeroizing<[u8; 32]>> {
    kem_key_hkdf(INFO_KEM, set_id, z_enc, u_enc)
}

/// HKDF-SHA-256(salt = set id, ikm = `SEC1c(Z)`, info = `info_prefix ‖ SEC1c(u)`), 32 bytes:
/// the KEM key of every format version, each with its own `info_prefix` (docs/protocol.md).
pub(crate) fn kem_key_hkdf(
    info_prefix: &[u8],
    set_id: &SetId,
    z_enc: &[u8; 33],
    u_enc: &[u8; 33],
) -> Result<Zeroizing<[u8; 32]>> {
    let mut info = Vec::with_capacity(info_prefix.len() + 33);
    info.extend_from_slice(info_prefix);
    info.extend_from_slice(u_enc);
    let hk = Hkdf::<Sha256>::new(Some(set_id.as_bytes()), z_enc);
    let mut k = Zeroizing::new([0u8; 32]);
    hk.expand(&info, k.as_mut())
        .map_err(|_| Error::malformed("kem", "hkdf output length"))?;
    Ok(k)
}

/// Wrap `key` under the trustee set's escrow key, bound to `label`. Returns the ciphertext
/// and the encapsulation exponent r (which the sender gives the recipient inside the
/// end-to-end part so that the recipient can check the escrow header).
pub fn encapsulate<R: rand_core::CryptoRng + ?Sized>(
    set: &TrusteeSet,
    label: &Label,
    key: &MessageKey,
    rng: &mut R,
) -> Result<(EscrowCiphertext, SecretScalar)> {
    let e = encapsulate_with(set, label, key, rng, kem_key_encoded, challenge_encoded)?;
    Ok((
        EscrowCiphertext {
            version: V1::default(),
            set_id: set.id(),
            label: label.clone(),
            u: e.u,
            u_bar: e.u_bar,
            e: e.e,
            f: e.f,
            wrapped_key: e.wrapped_key,
        },
        e.r,
    ))
}

/// What an encapsulation computes, before a format version chooses what it keeps.
pub(crate) struct Encapsulated {
    pub(crate) r: SecretScalar,
    pub(crate) u: Point,
    pub(crate) u_bar: Point,
    pub(crate) w: ProjectivePoint,
    pub(crate) w_bar: ProjectivePoint,
    pub(crate) e: Scalar,
    pub(crate) f: Scalar,
    pub(crate) wrapped_key: Vec<u8>,
}

/// The KEM key from `SEC1c(Z)` and `SEC1c(u)` (one per format version).
pub(crate) type KemKey = fn(&SetId, &[u8; 33], &[u8; 33]) -> Result<Zeroizing<[u8; 32]>>;
/// The challenge from the set id, wrapped key, label and `SEC1c` of u, w, ū, w̄ (one per
/// format version).
pub(crate) type Challenge = fn(&SetId, &[u8], &[u8], [&[u8; 33]; 4]) -> Scalar;

/// The encapsulation of every format version, with its KEM key and challenge.
pub(crate) fn encapsulate_with<R: rand_core::CryptoRng + ?Sized>(
    set: &TrusteeSet,
    label: &Label,
    key: &MessageKey,
    rng: &mut R,
    kem: KemKey,
    challenge: Challenge,
) -> Result<Encapsulated> {
    label.check()?;
    let r = SecretScalar::new(group::random_scalar(rng));
    let s = SecretScalar::new(group::random_scalar(rng));
    // Five fixed-base multiplications (constant time: r and s are secret) on the precomputed
    // tables of G, G' and Y, each with its compressed encoding. The identity cannot come out
    // (r, s non-zero, bases not the identity); if it did, nothing is sealed.
    let (g, g2, y) = (
        group::generator_table(),
        group::generator2_table(),
        set.escrow_key_table(),
    );
    let mul = |t: &group::FixedBaseTable, k: &SecretScalar, field: &'static str| {
        t.mul_encoded(k.expose())
            .ok_or(Error::InvalidPoint { field })
    };
    let (u, u_enc) = mul(g, &r, "u")?;
    let (u_bar, u_bar_enc) = mul(g2, &r, "u_bar")?;
    let (w, w_enc) = mul(g, &s, "w")?;
    let (w_bar, w_bar_enc) = mul(g2, &s, "w_bar")?;
    let (z, z_enc) = mul(y, &r, "Z")?;
    // Z = rY is the KEM's secret: both forms are wiped.
    let (_z, z_enc) = (Zeroizing::new(z), Zeroizing::new(z_enc));
    let (u, u_bar) = (Point::from_nonidentity(u), Point::from_nonidentity(u_bar));
    let (u_enc, w_enc, u_bar_enc, w_bar_enc, z_enc) =
        (&u_enc, &w_enc, &u_bar_enc, &w_bar_enc, &*z_enc);
    let k = kem(&set.id(), z_enc, u_enc)?;
    let label_bytes = label.to_bytes();
    let wrapped_key = seal_once(&k, key.expose(), &label_bytes)?;
    let e = challenge(
        &set.id(),
        &wrapped_key,
        &label_bytes,
        [u_enc, w_enc, u_bar_enc, w_bar_enc],
    );
    let f = *s.expose() + *r.expose() * e;
    Ok(Encapsulated {
        r,
        u,
        u_bar,
        w,
        w_bar,
        e,
        f,
        wrapped_key,
    })
}

/// The message key wrapped under the KEM key `k`, bound to `label`.
pub(crate) fn unwrap_key(k: &[u8; 32], wrapped: &[u8], label: &Label) -> Result<MessageKey> {
    let pt = open_once(k, wrapped, &label.to_bytes(), "escrowed message key")?;
    let arr: [u8; 32] = pt
        .as_slice()
        .try_into()
        .map_err(|_| Error::malformed("escrowed message key", "not 32 bytes"))?;
    Ok(MessageKey::from_bytes(arr))
}

/// The recipient's check of every format version, given the sender's r: `u == rG`,
/// `ū == rG'` and the wrapped key opens under `K(rY)` (`unwrap_with(rY)`) to `key`.
pub(crate) fn check_opening_with(
    set: &TrusteeSet,
    u: &Point,
    u_bar: &Point,
    r: &SecretScalar,
    key: &MessageKey,
    unwrap_with: impl FnOnce(&ProjectivePoint) -> Result<MessageKey>,
) -> Result<(), String> {
    if group::generator_table().mul(r.expose()) != *u.inner() {
        return Err("escrow header u is not rG for the sender's r".into());
    }
    if group::generator2_table().mul(r.expose()) != *u_bar.inner() {
        return Err("escrow header ū is not rG' for the sender's r".into());
    }
    let z = set.escrow_key_table().mul(r.expose());
    match unwrap_with(&z) {
        Ok(k) if k == *key => Ok(()),
        Ok(_) => Err("escrow header wraps a different message key".into()),
        Err(_) => Err("escrow header's wrapped key does not decrypt under the escrow key".into()),
    }
}

impl EscrowCiphertext {
    /// Canonical bytes, hashed into the ciphertext digest:
    /// `set_id || lp(label_bytes) || u || ū || e || f || lp(wrapped_key)`.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let label = self.label.to_bytes();
        let mut m = Vec::with_capacity(32 + 8 + label.len() + 66 + 64 + self.wrapped_key.len());
        m.extend_from_slice(self.set_id.as_bytes());
        put_lp(&mut m, &label);
        m.extend_from_slice(&self.u.to_bytes());
        m.extend_from_slice(&self.u_bar.to_bytes());
        m.extend_from_slice(&scalar_to_bytes(&self.e));
        m.extend_from_slice(&scalar_to_bytes(&self.f));
        put_lp(&mut m, &self.wrapped_key);
        m
    }

    /// Ciphertext digest: `SHA-256(tag || canonical_bytes)` with [`TAG_CT_DIGEST`].
    pub fn digest(&self) -> CiphertextDigest {
        CiphertextDigest::from_digest(Digest32::tagged(TAG_CT_DIGEST, &[&self.canonical_bytes()]))
    }

    /// The public validity check against `set`. Anyone can run it.
    pub fn check(&self, set: &TrusteeSet) -> Result<ValidCiphertext> {
        check_header_fields(
            set,
            &self.set_id,
            &self.label,
            &self.wrapped_key,
            "escrow ciphertext",
        )?;
        let neg_e = -self.e;
        let w = group::mul_g_add_vartime(&self.f, &neg_e, self.u.inner());
        let w_bar = group::lincomb2_vartime(&generator2(), &self.f, self.u_bar.inner(), &neg_e);
        let e = challenge(
            &self.set_id,
            &self.wrapped_key,
            &self.label.to_bytes(),
            [self.u.inner(), &w, self.u_bar.inner(), &w_bar],
        );
        if e != self.e {
            return Err(Error::BadCiphertextProof);
        }
        Ok(ValidCiphertext {
            digest: self.digest(),
            ct: self.clone(),
            checked_for: set.id(),
        })
    }
}

/// A ciphertext that passed [`EscrowCiphertext::check`] for a given trustee set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidCiphertext {
    ct: EscrowCiphertext,
    digest: CiphertextDigest,
    checked_for: SetId,
}

/// The accessors and the recipient's check of a checked ciphertext of either version (a
/// struct with the fields `ct`, `digest`, `checked_for` and an `unwrap_with` method); `$ct`
/// is the ciphertext type.
macro_rules! valid_ciphertext_methods {
    ($ct:ty) => {
        /// The id of the set it was checked against: the ciphertext's own `set_id`, or a set
        /// refreshed from that one ([`crate::trustee::TrusteeSet::covers`]).
        pub fn checked_for(&self) -> $crate::codec::SetId {
            self.checked_for
        }
        /// The ciphertext.
        pub fn ciphertext(&self) -> &$ct {
            &self.ct
        }
        /// Its digest.
        pub fn digest(&self) -> $crate::codec::CiphertextDigest {
            self.digest
        }
        /// Its label.
        pub fn label(&self) -> &$crate::label::Label {
            &self.ct.label
        }

        /// The recipient's check (answer to Blaze's LEAF attack): given the sender's r, this
        /// ciphertext really wraps `key` under the escrow key: `u == rG`, `ū == rG'`, and the
        /// wrapped key decrypts under `K(rY)` to `key`.
        pub fn check_opening(
            &self,
            set: &$crate::trustee::TrusteeSet,
            r: &$crate::secret::SecretScalar,
            key: &$crate::secret::MessageKey,
        ) -> core::result::Result<(), String> {
            $crate::tdh2::check_opening_with(set, &self.ct.u, &self.ct.u_bar, r, key, |z| {
                self.unwrap_with(z)
            })
        }
    };
}
pub(crate) use valid_ciphertext_methods;

impl ValidCiphertext {
    valid_ciphertext_methods!(EscrowCiphertext);

    /// Unwrap the message key given `Z = xu = rY` (from combined shares or from r).
    pub(crate) fn unwrap_with(&self, z: &ProjectivePoint) -> Result<MessageKey> {
        let k = kem_key(&self.ct.set_id, z, &self.ct.u)?;
        unwrap_key(&k, &self.ct.wrapped_key, &self.ct.label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use crate::trustee::deal;

    fn label() -> Label {
        Label::new("alice", "bob", Timestamp(1_700_000_000), "m1").unwrap()
    }

    #[test]
    fn valid_ciphertext_checks_and_relabel_fails() {
        let mut rng = rand::rng();
        let d = deal(5, 3, &mut rng).unwrap();
        let key = MessageKey::random(&mut rng);
        let (ct, r) = encapsulate(&d.set, &label(), &key, &mut rng).unwrap();
        let v = ct.check(&d.set).unwrap();
        v.check_opening(&d.set, &r, &key).unwrap();
        let mut relabelled = ct.clone();
        relabelled.label.sender = "carol".into();
        assert_eq!(
            relabelled.check(&d.set).unwrap_err(),
            Error::BadCiphertextProof
        );
        let mut t = ct.clone();
        t.wrapped_key[3] ^= 1;
        assert_eq!(t.check(&d.set).unwrap_err(), Error::BadCiphertextProof);
        let mut t = ct.clone();
        t.f += Scalar::ONE;
        assert_eq!(t.check(&d.set).unwrap_err(), Error::BadCiphertextProof);
        let other = deal(5, 3, &mut rng).unwrap();
        assert!(matches!(
            ct.check(&other.set).unwrap_err(),
            Error::CiphertextForOtherSet { .. }
        ));
        let wrong_key = MessageKey::random(&mut rng);
        assert!(v.check_opening(&d.set, &r, &wrong_key).is_err());
    }
}
