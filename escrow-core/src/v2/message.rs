//! The v2 sealed message (`docs/protocol.md` §15.8): a v1 sealed message (§10) whose escrow
//! header is a v2 ciphertext (§15.2), with its own context strings. One mailbox line, compact
//! JSON; [`MailboxMessage`] reads a line of either version.
//!
//! ```text
//! mk <- random;  (ct2, r) = encapsulate_v2(set, label, mk)
//! e2e  = ECIES(recipient, ctx = "escrow/v2/e2e" ‖ lp(label_bytes), mk ‖ S32(r))
//! body = GCM(mk, plaintext, aad = "escrow/v2/body" ‖ lp(label_bytes))
//! ```
//!
//! The recipient's check is §10.2 with the v2 header: the header passes its public check, the
//! end-to-end part opens, `u = rG`, `ū = rG'`, and the header's wrapped key opens under `K(rY)`
//! to the same mk.

use super::{EscrowCiphertextV2, encapsulate_v2};
use crate::codec::{CiphertextDigest, FormatVersion, KeyId};
use crate::ecies::EciesBox;
use crate::error::{Error, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::label::Label;
use crate::message::{LabelMismatch, Opened, Receipt, SealedMessage};
use crate::secret::MessageKey;
use crate::trustee::{TrusteeSet, VerifiedKeyShare};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Context prefix of the v2 end-to-end ECIES box.
pub const CTX_E2E_V2: &[u8] = b"escrow/v2/e2e";
/// Context prefix of the v2 body's AEAD associated data.
pub const CTX_BODY_V2: &[u8] = b"escrow/v2/body";

/// One v2 sealed message (one line of a mailbox file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedMessageV2 {
    /// Format version (2).
    pub version: FormatVersion<2>,
    /// Message id (equals the escrow label's message id).
    pub id: String,
    /// Key id of the recipient's public key.
    pub recipient_key: KeyId,
    /// End-to-end part: ECIES of `message_key ‖ r` to the recipient.
    pub e2e: EciesBox,
    /// The body: AES-256-GCM under the message key.
    #[serde(with = "crate::codec::b64")]
    pub body: Vec<u8>,
    /// The v2 escrow header.
    pub escrow: EscrowCiphertextV2,
}

/// Seal `plaintext` for `recipient` with v2 escrow to `set`.
pub fn seal_v2<R: rand_core::CryptoRng + ?Sized>(
    set: &TrusteeSet,
    recipient: &PublicKey,
    label: &Label,
    plaintext: &[u8],
    rng: &mut R,
) -> Result<SealedMessageV2> {
    let key = MessageKey::random(rng);
    let (escrow, r) = encapsulate_v2(set, label, &key, rng)?;
    let ctx = [CTX_E2E_V2, CTX_BODY_V2];
    let (e2e, body) = crate::message::seal_parts(recipient, label, &key, &r, plaintext, ctx, rng)?;
    Ok(SealedMessageV2 {
        version: FormatVersion,
        id: label.message_id.clone(),
        recipient_key: recipient.key_id(),
        e2e,
        body,
        escrow,
    })
}

impl SealedMessageV2 {
    crate::message::sealed_message_methods!(
        CTX_E2E_V2,
        CTX_BODY_V2,
        "v2 sealed message",
        "Parse one mailbox line (version 2 only; [`MailboxMessage::from_json`] reads both)."
    );
}

/// The recipient's cryptographic check of a v2 message (§10.2 with the v2 header), then the
/// body. The label is not compared with anything (see [`crate::message::Receipt`]).
pub fn open_unchecked_label_v2(
    key: &PrivateKey,
    set: &TrusteeSet,
    msg: &SealedMessageV2,
) -> Result<Opened> {
    msg.open_checked(key, set)
}

/// A mailbox line of either format version: v1 lines are read by the v1 functions, v2 lines
/// by the v2 ones (`docs/protocol.md` §15.7).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailboxMessage {
    /// Format version 1 (§10).
    V1(SealedMessage),
    /// Format version 2 (§15.8).
    V2(SealedMessageV2),
}

#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

impl MailboxMessage {
    /// Parse one mailbox line: its `"version"` chooses the format; any version but 1 and 2 is
    /// refused with [`Error::UnsupportedVersion`].
    pub fn from_json(s: &str) -> Result<Self> {
        let v: VersionOnly = serde_json::from_str(s)
            .map_err(|e| Error::malformed("sealed message", e.to_string()))?;
        match v.version {
            1 => SealedMessage::from_json(s).map(MailboxMessage::V1),
            2 => SealedMessageV2::from_json(s).map(MailboxMessage::V2),
            found => Err(Error::UnsupportedVersion {
                what: "sealed message",
                found,
                expected: 2,
            }),
        }
    }

    /// One mailbox line.
    pub fn to_json(&self) -> String {
        match self {
            MailboxMessage::V1(m) => m.to_json(),
            MailboxMessage::V2(m) => m.to_json(),
        }
    }

    /// The message id.
    pub fn id(&self) -> &str {
        match self {
            MailboxMessage::V1(m) => &m.id,
            MailboxMessage::V2(m) => &m.id,
        }
    }

    /// The escrow label.
    pub fn label(&self) -> &Label {
        match self {
            MailboxMessage::V1(m) => &m.escrow.label,
            MailboxMessage::V2(m) => &m.escrow.label,
        }
    }

    /// The format version (1 or 2).
    pub fn version(&self) -> u32 {
        match self {
            MailboxMessage::V1(_) => 1,
            MailboxMessage::V2(_) => 2,
        }
    }

    /// The escrow header's digest (v1 §6.4 or v2 §15.2).
    pub fn ciphertext_digest(&self) -> CiphertextDigest {
        match self {
            MailboxMessage::V1(m) => m.escrow.digest(),
            MailboxMessage::V2(m) => m.escrow.digest(),
        }
    }

    /// The recipient's cryptographic check and the body (§10.2, §15.8).
    pub fn open_unchecked_label(&self, key: &PrivateKey, set: &TrusteeSet) -> Result<Opened> {
        match self {
            MailboxMessage::V1(m) => crate::message::open_unchecked_label(key, set, m),
            MailboxMessage::V2(m) => open_unchecked_label_v2(key, set, m),
        }
    }

    /// Key id of the recipient's public key.
    pub fn recipient_key(&self) -> KeyId {
        match self {
            MailboxMessage::V1(m) => m.recipient_key,
            MailboxMessage::V2(m) => m.recipient_key,
        }
    }

    /// The recipient opens the message and compares its label with the [`Receipt`] (§10.2,
    /// §10.3): the opened message and every mismatch. Non-compliant messages are refused.
    pub fn open_reporting_label(
        &self,
        key: &PrivateKey,
        set: &TrusteeSet,
        receipt: &Receipt,
    ) -> Result<(Opened, Vec<LabelMismatch>)> {
        let opened = self.open_unchecked_label(key, set)?;
        let mismatches = receipt.check(&opened.label);
        Ok((opened, mismatches))
    }

    /// Exceptional access without any warrant: k (or more) trustees pool their verified key
    /// shares and read the message directly (what colluding trustees can always do; the demo
    /// shows it). v1: decryption shares without a warrant context, combined (§8); v2:
    /// `Z = Σ λ_i x_i·u` (§15.6's combination).
    pub fn read_with_key_shares(
        &self,
        set: &TrusteeSet,
        shares: &[VerifiedKeyShare],
    ) -> Result<Opened> {
        match self {
            MailboxMessage::V1(m) => {
                let v = m.escrow.check(set)?;
                let ctx = crate::share::ShareContext::without_warrant();
                let mut rng = rand::rng();
                let ds = shares
                    .iter()
                    .map(|s| s.decryption_share(&v, &ctx, &mut rng))
                    .collect::<Result<Vec<_>>>()?;
                let c = crate::share::combine(set, &v, &ctx, &ds)?;
                m.decrypt_body(&c.message_key)
            }
            MailboxMessage::V2(m) => {
                let v = m.escrow.check(set)?;
                let k = usize::from(set.threshold());
                if shares.len() < k {
                    return Err(Error::NotEnoughShares {
                        valid: shares.len(),
                        threshold: set.threshold(),
                        rejected: String::new(),
                    });
                }
                let used = shares.get(..k).unwrap_or_default();
                let ids: Vec<u16> = used.iter().map(VerifiedKeyShare::index).collect();
                let lambdas = crate::group::lagrange_at_zero(&ids)?;
                let u = *v.ciphertext().u.inner();
                let z = Zeroizing::new(
                    used.iter()
                        .zip(lambdas)
                        .fold(p256::ProjectivePoint::IDENTITY, |acc, (s, l)| {
                            acc + u * (*s.secret() * l)
                        }),
                );
                m.decrypt_body(&v.unwrap_with(&z)?)
            }
        }
    }
}
