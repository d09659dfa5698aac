//! The escrow label: the message's escrow metadata, bound into the TDH2 ciphertext.
//!
//! Canonical bytes (`docs/protocol.md` §Label):
//! `0x01 || lp(sender) || lp(recipient) || i64_be(timestamp) || lp(message_id)` where
//! `lp(x) = u32_be(len(x)) || x`.
//!
//! Account names are normalised ([`normalize_account`]) when a label is built with
//! [`Label::new`] (at sealing), by the recipient's check (`message::open`) and by scope
//! matching, so that one account has one spelling wherever it is compared.

use crate::codec::put_lp;
use crate::error::{Error, Result};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Label encoding version byte.
pub const LABEL_ENCODING_VERSION: u8 = 1;
/// Longest account name, in bytes.
pub const MAX_ACCOUNT_LEN: usize = 256;
/// Longest message id, in bytes.
pub const MAX_MESSAGE_ID_LEN: usize = 128;
/// Earliest label time: 0000-01-01T00:00:00Z, the first instant RFC 3339 can write.
pub const MIN_TIMESTAMP: i64 = -62_167_219_200;
/// Latest label time: 9999-12-31T23:59:59Z, the last instant RFC 3339 can write.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// Escrow metadata of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    /// Sender account.
    pub sender: String,
    /// Recipient account.
    pub recipient: String,
    /// When the message was sent.
    pub timestamp: Timestamp,
    /// Message id (letters, digits, `.`, `_`, `-`).
    pub message_id: String,
}

/// The normal form of an account name (`docs/protocol.md` §5.1):
///
/// 1. the whole name is put in Unicode Normalization Form C (NFC);
/// 2. if it contains `@`, the part after the **last** `@` (the domain) is lower-cased with the
///    Unicode default lower-case mapping (`str::to_lowercase`) and put in NFC again; the part
///    before it (the local part) keeps its case, as RFC 5321 §2.4 leaves it to the receiving
///    host.
///
/// The result is idempotent: `normalize_account(normalize_account(x)) == normalize_account(x)`.
/// Pure-ASCII names only have their domain lower-cased. No other mapping is applied (no
/// IDNA/punycode conversion, no compatibility folding, no trimming).
pub fn normalize_account(s: &str) -> Cow<'_, str> {
    let nfc: Cow<'_, str> = if s.is_ascii() || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.nfc().collect())
    };
    let Some(at) = nfc.rfind('@') else {
        return nfc;
    };
    let (local, domain) = nfc.split_at(at);
    if domain
        .chars()
        .all(|c| c.to_lowercase().eq(core::iter::once(c)))
    {
        return nfc;
    }
    let lowered: String = domain.to_lowercase().nfc().collect();
    Cow::Owned(format!("{local}{lowered}"))
}

/// Whether an account name is already in its normal form ([`normalize_account`]).
pub fn is_normalized_account(s: &str) -> bool {
    normalize_account(s) == s
}

fn check_account(field: &'static str, s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::InvalidLabel {
            field,
            why: "empty".into(),
        });
    }
    if s.len() > MAX_ACCOUNT_LEN {
        return Err(Error::InvalidLabel {
            field,
            why: format!("longer than {MAX_ACCOUNT_LEN} bytes"),
        });
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(Error::InvalidLabel {
            field,
            why: "contains control characters".into(),
        });
    }
    Ok(())
}

impl Label {
    /// Build and check a label. The sender and recipient accounts are normalised
    /// ([`normalize_account`]) first: a label built here is always in normal form.
    pub fn new(
        sender: &str,
        recipient: &str,
        timestamp: Timestamp,
        message_id: &str,
    ) -> Result<Self> {
        let l = Label {
            sender: normalize_account(sender).into_owned(),
            recipient: normalize_account(recipient).into_owned(),
            timestamp,
            message_id: message_id.to_string(),
        };
        l.check()?;
        Ok(l)
    }

    /// Whether both account names are in normal form ([`normalize_account`]). A label parsed
    /// from a ciphertext need not be (the sender chose it); the recipient's check refuses one
    /// that is not, and scope matching compares normal forms.
    pub fn accounts_normalized(&self) -> bool {
        is_normalized_account(&self.sender) && is_normalized_account(&self.recipient)
    }

    /// Check every field's constraints. Does not require normal form (see
    /// [`Label::accounts_normalized`]), so that labels sealed by other clients still parse.
    pub fn check(&self) -> Result<()> {
        check_account("sender", &self.sender)?;
        check_account("recipient", &self.recipient)?;
        // Outside this range the JSON form cannot be written as RFC 3339 and would not read back.
        if !(MIN_TIMESTAMP..=MAX_TIMESTAMP).contains(&self.timestamp.0) {
            return Err(Error::InvalidLabel {
                field: "timestamp",
                why: "must lie within 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z".into(),
            });
        }
        let id = &self.message_id;
        if id.is_empty() || id.len() > MAX_MESSAGE_ID_LEN {
            return Err(Error::InvalidLabel {
                field: "message_id",
                why: format!("length must be 1..={MAX_MESSAGE_ID_LEN}"),
            });
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(Error::InvalidLabel {
                field: "message_id",
                why: "only letters, digits, '.', '_' and '-' are allowed".into(),
            });
        }
        Ok(())
    }

    /// The canonical bytes that are hashed into the TDH2 proof and used as AEAD data.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            1 + 12 + 8 + self.sender.len() + self.recipient.len() + self.message_id.len(),
        );
        out.push(LABEL_ENCODING_VERSION);
        put_lp(&mut out, self.sender.as_bytes());
        put_lp(&mut out, self.recipient.as_bytes());
        out.extend_from_slice(&self.timestamp.0.to_be_bytes());
        put_lp(&mut out, self.message_id.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_bytes_are_injective_on_field_boundaries() {
        let t = Timestamp(1);
        let a = Label::new("ab", "c", t, "m").unwrap();
        let b = Label::new("a", "bc", t, "m").unwrap();
        assert_ne!(a.to_bytes(), b.to_bytes());
    }

    #[test]
    fn rejects_bad_fields() {
        let t = Timestamp(1);
        assert!(Label::new("", "b", t, "m").is_err());
        assert!(Label::new("a\n", "b", t, "m").is_err());
        assert!(Label::new("a", "b", t, "m/1").is_err());
        assert!(Label::new("a", "b", t, "").is_err());
    }

    #[test]
    fn accounts_are_normalised_nfc_and_lower_case_domain() {
        // NFD "zoë@exämple.org" (e + U+0308, a + U+0308) becomes NFC.
        let nfd = "zoe\u{308}@exa\u{308}mple.org";
        assert_eq!(normalize_account(nfd), "zo\u{eb}@ex\u{e4}mple.org");
        assert!(!is_normalized_account(nfd));
        // The domain is case-folded, the local part keeps its case.
        assert_eq!(normalize_account("Alice@EXAMPLE.Org"), "Alice@example.org");
        assert_eq!(normalize_account("Zoë@EXÄMPLE.org"), "Zoë@exämple.org");
        // Only after the last '@'.
        assert_eq!(normalize_account("\"a@B\"@C.d"), "\"a@B\"@c.d");
        // No '@': NFC only.
        assert_eq!(normalize_account("Bob"), "Bob");
        assert!(matches!(
            normalize_account("alice@example.org"),
            Cow::Borrowed(_)
        ));
        let l = Label::new(nfd, "Bob@Example.ORG", Timestamp(1), "m").unwrap();
        assert_eq!(l.sender, "zo\u{eb}@ex\u{e4}mple.org");
        assert_eq!(l.recipient, "Bob@example.org");
        assert!(l.accounts_normalized());
        let raw = Label {
            sender: nfd.into(),
            ..l
        };
        raw.check().unwrap();
        assert!(!raw.accounts_normalized());
    }
}
