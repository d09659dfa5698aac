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
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        MessageKey(k)
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
