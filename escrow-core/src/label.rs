//! The escrow label: the message's escrow metadata, bound into the TDH2 ciphertext.
//!
//! Canonical bytes (`docs/protocol.md` §Label):
//! `0x01 || lp(sender) || lp(recipient) || i64_be(timestamp) || lp(message_id)` where
//! `lp(x) = u32_be(len(x)) || x`.

use crate::codec::put_lp;
use crate::error::{Error, Result};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

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
    /// Build and check a label.
    pub fn new(
        sender: &str,
        recipient: &str,
        timestamp: Timestamp,
        message_id: &str,
    ) -> Result<Self> {
        let l = Label {
            sender: sender.to_string(),
            recipient: recipient.to_string(),
            timestamp,
            message_id: message_id.to_string(),
        };
        l.check()?;
        Ok(l)
    }

    /// Check every field's constraints.
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
}
