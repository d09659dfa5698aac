//! Sealed messages: the body under a fresh message key, the key delivered end to end to the
//! recipient (ECIES) together with the escrow exponent r, and the key escrowed (TDH2).
//!
//! The recipient refuses any message whose escrow header does not provably wrap the same key
//! ([`open`]): the answer to Blaze's 1994 attack on Clipper's LEAF. It also refuses a message
//! whose label misstates who sent it to whom and when ([`Receipt`]): the trustees judge a
//! message only by its label, so a sender who wrote a false one would dodge escrow.

use crate::codec::{KeyId, V1, put_lp};
use crate::ecies::{self, EciesBox, open_once, seal_once};
use crate::error::{Error, Result};
use crate::group::{scalar_from_bytes, scalar_to_bytes};
use crate::keys::{PrivateKey, PublicKey};
use crate::label::{Label, is_normalized_account, normalize_account};
use crate::secret::{MessageKey, SecretScalar};
use crate::tdh2::{EscrowCiphertext, encapsulate};
use crate::time::Timestamp;
use crate::trustee::TrusteeSet;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Context prefix of the end-to-end ECIES box.
pub const CTX_E2E: &[u8] = b"escrow/v1/e2e";
/// Context prefix of the body's AEAD associated data.
pub const CTX_BODY: &[u8] = b"escrow/v1/body";

/// One sealed message (one line of a mailbox file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedMessage {
    /// Format version.
    pub version: V1,
    /// Message id (equals the escrow label's message id).
    pub id: String,
    /// Key id of the recipient's public key.
    pub recipient_key: KeyId,
    /// End-to-end part: ECIES of `message_key || r` to the recipient.
    pub e2e: EciesBox,
    /// The body: AES-256-GCM under the message key.
    #[serde(with = "crate::codec::b64")]
    pub body: Vec<u8>,
    /// The escrow header.
    pub escrow: EscrowCiphertext,
}

/// A body or key-box context: `prefix ‖ lp(label bytes)` (`docs/protocol.md` §10, §15.8).
pub(crate) fn context(prefix: &[u8], label: &Label) -> Vec<u8> {
    let mut c = prefix.to_vec();
    put_lp(&mut c, &label.to_bytes());
    c
}

/// The structural check of either message version: the id matches the label's.
pub(crate) fn check_id(id: &str, label: &Label) -> Result<()> {
    if id != label.message_id {
        return Err(Error::NonCompliant {
            message_id: id.to_string(),
            why: "message id differs from the escrow label's message id".into(),
        });
    }
    Ok(())
}

/// Open a body of either version under the message key and the version's context prefix.
pub(crate) fn decrypt_body_with(
    prefix: &[u8],
    key: &MessageKey,
    body: &[u8],
    label: &Label,
) -> Result<Opened> {
    let body = open_once(key.expose(), body, &context(prefix, label), "message body")?;
    Ok(Opened {
        label: label.clone(),
        body,
    })
}

/// The end-to-end part (ECIES of `key ‖ S32(r)` to `recipient` under `ctx[0] ‖ lp(label)`)
/// and the body (GCM under `key` with `ctx[1] ‖ lp(label)`) of a sealed message of either
/// version.
pub(crate) fn seal_parts<R: rand_core::CryptoRng + ?Sized>(
    recipient: &PublicKey,
    label: &Label,
    key: &MessageKey,
    r: &SecretScalar,
    plaintext: &[u8],
    [ctx_e2e, ctx_body]: [&[u8]; 2],
    rng: &mut R,
) -> Result<(EciesBox, Vec<u8>)> {
    let mut inner = Zeroizing::new([0u8; 64]);
    let (key_part, r_part) = inner.split_at_mut(32);
    key_part.copy_from_slice(key.expose());
    r_part.copy_from_slice(&scalar_to_bytes(r.expose()));
    let e2e = ecies::encrypt(recipient, &context(ctx_e2e, label), inner.as_ref(), rng)?;
    let body = seal_once(key.expose(), plaintext, &context(ctx_body, label))?;
    Ok((e2e, body))
}

/// Seal `plaintext` for `recipient` with escrow to `set`.
pub fn seal<R: rand_core::CryptoRng + ?Sized>(
    set: &TrusteeSet,
    recipient: &PublicKey,
    label: &Label,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<SealedMessage> {
    let key = MessageKey::random(rng);
    let (escrow, r) = encapsulate(set, label, &key, rng)?;
    let (e2e, body) = seal_parts(
        recipient,
        label,
        &key,
        &r,
        plaintext,
        [CTX_E2E, CTX_BODY],
        rng,
    )?;
    Ok(SealedMessage {
        version: V1::default(),
        id: label.message_id.clone(),
        recipient_key: recipient.key_id(),
        e2e,
        body,
        escrow,
    })
}

/// A message opened by its recipient or through exceptional access.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    /// The escrow label.
    pub label: Label,
    /// The plaintext body.
    pub body: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for Opened {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Opened {{ label: {:?}, body: [{} bytes] }}",
            self.label,
            self.body.len()
        )
    }
}

/// The methods of a sealed message of either version (fields `id`, `recipient_key`, `e2e`,
/// `body`, `escrow`), with its context prefixes, its name in errors and the doc line of its
/// `from_json`.
macro_rules! sealed_message_methods {
    ($ctx_e2e:expr, $ctx_body:expr, $what:literal, $from_doc:literal) => {
        /// Structural checks that need no key: the id matches the label.
        pub fn check_structure(&self) -> $crate::error::Result<()> {
            $crate::message::check_id(&self.id, &self.escrow.label)
        }

        /// Decrypt the body given the message key (recovered by any route).
        pub fn decrypt_body(
            &self,
            key: &$crate::secret::MessageKey,
        ) -> $crate::error::Result<$crate::message::Opened> {
            $crate::message::decrypt_body_with($ctx_body, key, &self.body, &self.escrow.label)
        }

        #[doc = $from_doc]
        pub fn from_json(s: &str) -> $crate::error::Result<Self> {
            $crate::codec::from_json($what, s)
        }

        /// One mailbox line (compact JSON, no newline).
        pub fn to_json(&self) -> String {
            $crate::codec::to_json(self)
        }

        /// The recipient's cryptographic check (§10.2): the escrow header passes its public
        /// check, the end-to-end part opens, the header wraps this very key; then the body.
        fn open_checked(
            &self,
            key: &$crate::keys::PrivateKey,
            set: &$crate::trustee::TrusteeSet,
        ) -> $crate::error::Result<$crate::message::Opened> {
            self.check_structure()?;
            let nc = |why: String| $crate::error::Error::NonCompliant {
                message_id: self.id.clone(),
                why,
            };
            let valid = self
                .escrow
                .check(set)
                .map_err(|e| nc(format!("escrow header: {e}")))?;
            let (mk, r) = $crate::message::open_e2e(
                key,
                &self.recipient_key,
                &self.e2e,
                $ctx_e2e,
                &self.escrow.label,
                &nc,
            )?;
            valid.check_opening(set, &r, &mk).map_err(nc)?;
            self.decrypt_body(&mk)
        }
    };
}
pub(crate) use sealed_message_methods;

impl SealedMessage {
    sealed_message_methods!(
        CTX_E2E,
        CTX_BODY,
        "sealed message",
        "Parse one mailbox line."
    );
}

/// What the recipient knows about a message independently of its label: its own account, the
/// sender the transport authenticated, and when the message arrived. The label must agree
/// (`docs/protocol.md` §10.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    recipient: String,
    sender: String,
    received_at: Timestamp,
    tolerance_secs: u64,
}

/// One way in which a label disagrees with the [`Receipt`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelMismatch {
    /// An account name in the label is not in normal form (`label::normalize_account`).
    NotNormalised {
        /// `sender` or `recipient`.
        field: &'static str,
        /// The name as the label spells it.
        found: String,
    },
    /// The label names another recipient than the recipient's own account.
    Recipient {
        /// In the label (normalised).
        found: String,
        /// The recipient's own account.
        expected: String,
    },
    /// The label names another sender than the one the transport authenticated.
    Sender {
        /// In the label (normalised).
        found: String,
        /// The authenticated sender.
        expected: String,
    },
    /// The label's time is more than the tolerance before or after the receipt.
    Time {
        /// In the label.
        found: Timestamp,
        /// When the message was received.
        received_at: Timestamp,
        /// The tolerance, seconds.
        tolerance_secs: u64,
    },
}

impl LabelMismatch {
    /// Stable short name: `not-normalised`, `recipient`, `sender`, `time`.
    pub fn code(&self) -> &'static str {
        match self {
            LabelMismatch::NotNormalised { .. } => "not-normalised",
            LabelMismatch::Recipient { .. } => "recipient",
            LabelMismatch::Sender { .. } => "sender",
            LabelMismatch::Time { .. } => "time",
        }
    }
}

impl core::fmt::Display for LabelMismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LabelMismatch::NotNormalised { field, found } => write!(
                f,
                "the label's {field} {found:?} is not in normal form (NFC, lower-case domain)"
            ),
            LabelMismatch::Recipient { found, expected } => write!(
                f,
                "the label names recipient {found:?}, but this is {expected:?}'s mailbox"
            ),
            LabelMismatch::Sender { found, expected } => write!(
                f,
                "the label names sender {found:?}, but the message came from {expected:?}"
            ),
            LabelMismatch::Time {
                found,
                received_at,
                tolerance_secs,
            } => write!(
                f,
                "the label's time {found} is more than {tolerance_secs} s from the receipt at {received_at}"
            ),
        }
    }
}

impl Receipt {
    /// The recipient's own account, the authenticated sender (both normalised here), the time
    /// of receipt, and how far the label's time may lie from it (seconds, either way).
    pub fn new(
        recipient: &str,
        sender: &str,
        received_at: Timestamp,
        tolerance_secs: u64,
    ) -> Result<Self> {
        // The same rules as a label's accounts.
        let probe = Label::new(sender, recipient, received_at, "receipt")?;
        Ok(Receipt {
            recipient: probe.recipient,
            sender: probe.sender,
            received_at,
            tolerance_secs,
        })
    }

    /// The recipient's own account (normalised).
    pub fn recipient(&self) -> &str {
        &self.recipient
    }

    /// The authenticated sender (normalised).
    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// When the messages were received.
    pub fn received_at(&self) -> Timestamp {
        self.received_at
    }

    /// How far a label's time may lie from the receipt, seconds (either way).
    pub fn tolerance_secs(&self) -> u64 {
        self.tolerance_secs
    }

    /// Every way in which `label` disagrees with this receipt (empty: it agrees).
    pub fn check(&self, label: &Label) -> Vec<LabelMismatch> {
        let mut out = Vec::new();
        for (field, name) in [("sender", &label.sender), ("recipient", &label.recipient)] {
            if !is_normalized_account(name) {
                out.push(LabelMismatch::NotNormalised {
                    field,
                    found: name.clone(),
                });
            }
        }
        let recipient = normalize_account(&label.recipient);
        if recipient != self.recipient.as_str() {
            out.push(LabelMismatch::Recipient {
                found: recipient.into_owned(),
                expected: self.recipient.clone(),
            });
        }
        let sender = normalize_account(&label.sender);
        if sender != self.sender.as_str() {
            out.push(LabelMismatch::Sender {
                found: sender.into_owned(),
                expected: self.sender.clone(),
            });
        }
        let diff = i128::from(label.timestamp.unix()) - i128::from(self.received_at.unix());
        if diff.unsigned_abs() > u128::from(self.tolerance_secs) {
            out.push(LabelMismatch::Time {
                found: label.timestamp,
                received_at: self.received_at,
                tolerance_secs: self.tolerance_secs,
            });
        }
        out
    }
}

/// The recipient opens a message: every check of [`open_unchecked_label`], then the label
/// against the [`Receipt`]. A non-compliant message is refused with [`Error::NonCompliant`], a
/// mislabelled one with [`Error::Mislabelled`] (listing every mismatch).
pub fn open(
    key: &PrivateKey,
    set: &TrusteeSet,
    msg: &SealedMessage,
    receipt: &Receipt,
) -> Result<Opened> {
    let (opened, mismatches) = open_reporting_label(key, set, msg, receipt)?;
    if mismatches.is_empty() {
        Ok(opened)
    } else {
        Err(Error::Mislabelled {
            message_id: msg.id.clone(),
            why: mismatches
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        })
    }
}

/// Like [`open`], but a mislabelled message is opened and its mismatches returned, for a
/// client that was told to warn instead of refusing. Non-compliant messages are still refused.
pub fn open_reporting_label(
    key: &PrivateKey,
    set: &TrusteeSet,
    msg: &SealedMessage,
    receipt: &Receipt,
) -> Result<(Opened, Vec<LabelMismatch>)> {
    let opened = open_unchecked_label(key, set, msg)?;
    let mismatches = receipt.check(&opened.label);
    Ok((opened, mismatches))
}

/// The cryptographic part of the recipient's check only: check the escrow header publicly,
/// decrypt the end-to-end part, check that the header wraps this very key (u = rG, ū = rG',
/// wrapped key opens under rY to the same key), then decrypt the body. A non-compliant message
/// is refused. The label is NOT compared with anything: a sender can still have written a
/// false one. Recipients use [`open`].
pub fn open_unchecked_label(
    key: &PrivateKey,
    set: &TrusteeSet,
    msg: &SealedMessage,
) -> Result<Opened> {
    msg.open_checked(key, set)
}

/// The end-to-end part of a sealed message of either version, opened by the recipient: it is
/// addressed to `key`, opens under the `ctx_prefix` context of `label`, and holds the message
/// key and the sender's r (32 bytes each). A part that does not is non-compliant (`nc`).
pub(crate) fn open_e2e(
    key: &PrivateKey,
    recipient_key: &KeyId,
    e2e: &EciesBox,
    ctx_prefix: &[u8],
    label: &Label,
    nc: &dyn Fn(String) -> Error,
) -> Result<(MessageKey, SecretScalar)> {
    if *recipient_key != key.public().key_id() {
        return Err(Error::Decrypt {
            what: "end-to-end part (message is addressed to another key)",
        });
    }
    let inner =
        ecies::decrypt(key, &context(ctx_prefix, label), e2e, "end-to-end part").map_err(|_| {
            nc(
                "the end-to-end part does not open under this key with the escrow header's label \
                (tampered, or the escrow header belongs to another message)"
                    .into(),
            )
        })?;
    let (kb, rb) = inner
        .split_first_chunk::<32>()
        .filter(|(_, r)| r.len() == 32)
        .ok_or_else(|| nc("end-to-end part has the wrong length".into()))?;
    let mk = MessageKey::from_bytes(*kb);
    let r =
        scalar_from_bytes(rb, "r").map_err(|_| nc("end-to-end part carries no valid r".into()))?;
    Ok((mk, SecretScalar::new(r)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trustee::deal;

    #[test]
    fn seal_open_and_forged_escrow_is_refused() {
        let mut rng = rand::rng();
        let d = deal(3, 2, &mut rng).unwrap();
        let bob = PrivateKey::generate(&mut rng);
        let label = Label::new("alice", "bob", Timestamp(10), "m-1").unwrap();
        let m = seal(&d.set, &bob.public(), &label, b"hi bob", &mut rng).unwrap();
        let m2 = SealedMessage::from_json(&m.to_json()).unwrap();
        let receipt = Receipt::new("bob", "alice", Timestamp(10), 0).unwrap();
        assert_eq!(
            &open(&bob, &d.set, &m2, &receipt).unwrap().body[..],
            b"hi bob"
        );

        // A rogue sender attaches the escrow header of another message (valid, but for a
        // different key): refused.
        let other = seal(&d.set, &bob.public(), &label, b"other", &mut rng).unwrap();
        let mut forged = m.clone();
        forged.escrow = other.escrow.clone();
        let err = open(&bob, &d.set, &forged, &receipt).unwrap_err();
        assert!(matches!(err, Error::NonCompliant { .. }), "{err}");

        // Escrow to a set the rogue controls: refused (wrong set).
        let rogue = deal(3, 2, &mut rng).unwrap();
        let mut forged = m.clone();
        forged.escrow = seal(&rogue.set, &bob.public(), &label, b"x", &mut rng)
            .unwrap()
            .escrow;
        assert!(matches!(
            open(&bob, &d.set, &forged, &receipt).unwrap_err(),
            Error::NonCompliant { .. }
        ));
    }
}
