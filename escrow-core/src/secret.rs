//! Secret values: zeroized on drop, redacted in `Debug`, never `Display`.

use p256::Scalar;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret scalar (a key share, the dealer's secret, an ephemeral exponent).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretScalar(Scalar);

impl SecretScalar {
    /// Wrap a scalar.
    pub fn new(s: Scalar) -> Self {
        SecretScalar(s)
    }

    /// Borrow the scalar for arithmetic.
    pub fn expose(&self) -> &Scalar {
        &self.0
    }
}

impl core::fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SecretScalar([REDACTED])")
    }
}

/// A 256-bit symmetric message key. Compared in constant time ([`subtle::ConstantTimeEq`];
/// `==` uses it), zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct MessageKey(pub(crate) [u8; 32]);

impl subtle::ConstantTimeEq for MessageKey {
    fn ct_eq(&self, other: &Self) -> subtle::Choice {
        self.0.ct_eq(&other.0)
    }
}

impl PartialEq for MessageKey {
    fn eq(&self, other: &Self) -> bool {
        bool::from(subtle::ConstantTimeEq::ct_eq(self, other))
    }
}

impl Eq for MessageKey {}

impl MessageKey {
    /// A fresh random key.
    pub fn random<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        // Filled in place: a local array would leave a copy behind when moved in.
        let mut k = MessageKey([0u8; 32]);
        rng.fill_bytes(&mut k.0);
        k
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// Wrap raw bytes (e.g. a decrypted key).
    pub fn from_bytes(b: [u8; 32]) -> Self {
        MessageKey(b)
    }
}

impl core::fmt::Debug for MessageKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MessageKey([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::MessageKey;
    use subtle::ConstantTimeEq;
    use zeroize::ZeroizeOnDrop;

    /// Compiles only for a type that zeroizes itself on drop.
    fn zeroized_on_drop<T: ZeroizeOnDrop>() {}

    /// A static assertion: every type of this crate that holds a secret scalar or key bytes
    /// (and the library types they hold them in) zeroizes it on drop. Removing a type's
    /// zeroizing (or its secret field's) stops this test from compiling.
    #[test]
    fn every_holder_of_a_secret_zeroizes_it_on_drop() {
        zeroized_on_drop::<super::SecretScalar>();
        zeroized_on_drop::<MessageKey>();
        zeroized_on_drop::<p256::ecdsa::SigningKey>();
        zeroized_on_drop::<ed25519_dalek::SigningKey>();
        zeroized_on_drop::<crate::keys::PrivateKey>();
        zeroized_on_drop::<crate::trustee::KeyShare>();
        zeroized_on_drop::<crate::trustee::VerifiedKeyShare>();
        zeroized_on_drop::<crate::audit::checkpoint::LogKey>();
        zeroized_on_drop::<crate::dkg::Round1State>();
        zeroized_on_drop::<crate::dkg::Round2State>();
        zeroized_on_drop::<crate::dkg::Round3State>();
        // HKDF's state (keyed by an ECDH secret): its HMAC holds two SHA-256 cores (inner and
        // outer pad) and each wipes itself on drop.
        zeroized_on_drop::<sha2::Sha256>();
        zeroized_on_drop::<<sha2::Sha256 as hmac::EagerHash>::Core>();
        // Key bytes, HKDF outputs, ECDH secrets and decrypted plaintexts travel in these.
        zeroized_on_drop::<zeroize::Zeroizing<[u8; 32]>>();
        zeroized_on_drop::<zeroize::Zeroizing<Vec<u8>>>();
        zeroized_on_drop::<zeroize::Zeroizing<String>>();
    }

    #[test]
    fn message_keys_compare_in_constant_time() {
        let a = MessageKey::from_bytes([7; 32]);
        let mut other = [7; 32];
        other[31] = 8;
        let b = MessageKey::from_bytes(other);
        assert!(bool::from(a.ct_eq(&a.clone())));
        assert!(!bool::from(a.ct_eq(&b)));
        assert!(a == a.clone() && a != b);
    }
}
