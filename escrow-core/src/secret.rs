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

/// A 256-bit symmetric message key.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct MessageKey(pub(crate) [u8; 32]);

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
