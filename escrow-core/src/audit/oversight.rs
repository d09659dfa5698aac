//! The oversight copies a log entry carries (issue 16): the escrow header of a released message,
//! or the warrant envelope a trustee accepted, encrypted to the policy's oversight key(s) and
//! bound to the entry's digests.
//!
//! Multi-recipient, in the manner of HPKE's base mode (ECDH P-256 + HKDF-SHA-256 + AES-256-GCM,
//! the [`crate::ecies`] construction): a fresh 32-byte data key `DK` encrypts the document once;
//! `DK` is wrapped to every oversight key with ECIES. Byte layout and context in
//! `docs/protocol.md` §17:
//!
//! ```text
//! ctx     = u8(len(tag)) || tag || u8 kind || opt(warrant) || opt(document) || opt(policy)
//!           || opt(investigator) || u32 n || ciphertext digests || u32 m || share digests
//!           tag = "escrow/v1/oversight-seal"            (the entry's digests, not its position)
//! wrap_i  = ECIES(R_i, ctx, DK)                         (ephemeral E_i, 48 bytes)
//! body    = AES-256-GCM(DK, nonce = 0^96, u8 type || document, aad = ctx)
//! sealed  = u8 r || r × (key id 32 || E_i 33 || wrap_i 48) || u32 len || body
//! ```
//!
//! Document types: 1 = a version-1 escrow header (compact JSON, §11.4), 2 = a version-2 escrow
//! header (binary, §15.2), 3 = a warrant envelope (compact JSON), 4 = a cancellation envelope
//! (compact JSON). A release entry carries type 1 or 2, a warrant-seen entry type 3, a
//! cancellation entry type 4 (entry encoding version 4, so that a reader that predates it
//! refuses the entry instead of skipping the copy).

use super::entry::{EntryKind, LogEntry};
use crate::codec::to_json;
use crate::ecies::{self, open_once, seal_once};
use crate::error::{Error, Result};
use crate::keys::{PrivateKey, PublicKey};
use crate::tdh2::EscrowCiphertext;
use crate::v2::EscrowCiphertextV2;
use crate::warrant::{CancellationEnvelope, WarrantEnvelope};
use zeroize::Zeroizing;

/// Domain tag of the sealing context.
pub const TAG_OVERSIGHT_SEAL: &str = "escrow/v1/oversight-seal";
pub use super::sealed::{EphemeralKey, Sealed, SealedRecipient};
pub use crate::bounds::{
    MAX_SEALED_BYTES, MAX_SEALED_DOCUMENT, MAX_SEALED_RECIPIENTS, RECIPIENT_LEN, WRAPPED_KEY_LEN,
};

/// What an oversight copy holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealedDocument {
    /// A version-1 escrow header (TDH2 ciphertext with its label).
    HeaderV1(EscrowCiphertext),
    /// A version-2 escrow header.
    HeaderV2(EscrowCiphertextV2),
    /// A warrant envelope.
    Warrant(WarrantEnvelope),
    /// A cancellation envelope (why and by whom a warrant was stopped).
    Cancellation(CancellationEnvelope),
}

impl SealedDocument {
    /// `u8 type || document` (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let (t, body) = match self {
            SealedDocument::HeaderV1(h) => (1u8, to_json(h).into_bytes()),
            SealedDocument::HeaderV2(h) => (2u8, h.to_bytes()),
            SealedDocument::Warrant(w) => (3u8, w.to_json().into_bytes()),
            SealedDocument::Cancellation(c) => (4u8, c.to_json().into_bytes()),
        };
        let mut out = Vec::with_capacity(1 + body.len());
        out.push(t);
        out.extend_from_slice(&body);
        out
    }

    /// Strict inverse of [`SealedDocument::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let (t, body) = bytes
            .split_first()
            .ok_or_else(|| Error::malformed("oversight copy", "empty"))?;
        let text = || {
            core::str::from_utf8(body)
                .map_err(|_| Error::malformed("oversight copy", "document is not UTF-8"))
        };
        match t {
            1 => crate::codec::from_json::<EscrowCiphertext>("oversight copy", text()?)
                .map(SealedDocument::HeaderV1),
            2 => EscrowCiphertextV2::from_bytes(body).map(SealedDocument::HeaderV2),
            3 => WarrantEnvelope::from_json(text()?)
                .map(SealedDocument::Warrant)
                .map_err(|r| Error::malformed("oversight copy", r)),
            4 => CancellationEnvelope::from_json(text()?)
                .map(SealedDocument::Cancellation)
                .map_err(|r| Error::malformed("oversight copy", r)),
            _ => Err(Error::malformed("oversight copy", "unknown document type")),
        }
    }

    /// The entry kind that may carry this document.
    pub fn entry_kind(&self) -> EntryKind {
        match self {
            SealedDocument::Warrant(_) => EntryKind::WarrantSeen,
            SealedDocument::Cancellation(_) => EntryKind::Cancellation,
            SealedDocument::HeaderV1(_) | SealedDocument::HeaderV2(_) => EntryKind::Release,
        }
    }
}

/// Why an oversight copy could not be opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The entry carries no oversight copy.
    #[error("the entry carries no oversight copy")]
    NotSealed,
    /// The copy is not addressed to this key.
    #[error("the oversight copy is not addressed to key {0}")]
    NotForThisKey(String),
    /// The wrapped key or the body does not decrypt under this key and the entry's digests.
    #[error("the oversight copy does not decrypt (changed, or moved from another entry)")]
    Decrypt,
    /// It decrypts, but the document does not parse.
    #[error("the oversight copy does not parse: {0}")]
    Malformed(String),
    /// It holds a document of the wrong kind for the entry.
    #[error("the oversight copy holds a document of the wrong kind for a {0} entry")]
    WrongKind(EntryKind),
}

/// The sealing context of `entry`: its kind and digests (see the module documentation).
pub fn sealing_context(entry: &LogEntry) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        1 + TAG_OVERSIGHT_SEAL.len()
            + 1
            + 4 * 33
            + 8
            + 32 * (entry.ciphertexts.len() + entry.shares.len()),
    );
    out.push(TAG_OVERSIGHT_SEAL.len() as u8);
    out.extend_from_slice(TAG_OVERSIGHT_SEAL.as_bytes());
    out.push(entry.kind.to_byte());
    for d in [
        entry.warrant.map(|w| w.digest()),
        entry.document,
        entry.policy,
        entry.investigator.map(|k| k.digest()),
    ] {
        match d {
            None => out.push(0),
            Some(d) => {
                out.push(1);
                out.extend_from_slice(d.as_bytes());
            }
        }
    }
    let ciphertexts = entry.ciphertexts.iter().map(|d| d.as_bytes());
    let shares = entry.shares.iter().map(|d| d.as_bytes());
    for list in [ciphertexts.collect::<Vec<_>>(), shares.collect()] {
        out.extend_from_slice(&(list.len() as u32).to_be_bytes());
        for d in list {
            out.extend_from_slice(d);
        }
    }
    out
}

impl Sealed {
    /// Encrypt `doc` to every key in `keys` (1..=16), bound to `entry`'s digests.
    pub fn seal<R: rand_core::CryptoRng + ?Sized>(
        entry: &LogEntry,
        keys: &[PublicKey],
        doc: &SealedDocument,
        rng: &mut R,
    ) -> Result<Sealed> {
        let mut one = Sealed::seal_batch([(entry, doc)], keys, rng)?;
        one.pop()
            .ok_or_else(|| Error::malformed("oversight copy", "nothing sealed"))
    }

    /// Seal the copies of several entries (one request's, in order), each exactly as
    /// [`Sealed::seal`] would, but with one ephemeral key per oversight key for all of them
    /// (`docs/protocol.md` §17.1): one ECDH per key instead of one per entry and key. Each
    /// copy's wrapping key is still its own (its context enters the key derivation), and an
    /// entry whose context repeats an earlier one of the batch starts a fresh ephemeral key,
    /// so no wrapping key is ever used twice. Every copy has its own random data key.
    pub fn seal_batch<'a, R: rand_core::CryptoRng + ?Sized>(
        items: impl IntoIterator<Item = (&'a LogEntry, &'a SealedDocument)>,
        keys: &[PublicKey],
        rng: &mut R,
    ) -> Result<Vec<Sealed>> {
        if keys.is_empty() || keys.len() > MAX_SEALED_RECIPIENTS {
            return Err(Error::malformed(
                "oversight copy",
                format!("1 to {MAX_SEALED_RECIPIENTS} oversight keys"),
            ));
        }
        let mut senders: Vec<ecies::Sender> = Vec::new();
        let mut contexts: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (entry, doc) in items {
            if doc.entry_kind() != entry.kind {
                return Err(Error::malformed(
                    "oversight copy",
                    format!("a {} entry cannot carry this document", entry.kind),
                ));
            }
            let plaintext = Zeroizing::new(doc.to_bytes());
            if plaintext.len() > MAX_SEALED_DOCUMENT {
                return Err(Error::malformed("oversight copy", "document too large"));
            }
            let ctx = sealing_context(entry);
            let mut dk = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(dk.as_mut());
            // A context seen before under these senders: new senders (never one key twice).
            if senders.is_empty() || contexts.contains(&ctx) {
                senders = keys
                    .iter()
                    .map(|k| ecies::Sender::new(k, rng))
                    .collect::<Result<_>>()?;
                contexts.clear();
            }
            let mut recipients = Vec::with_capacity(keys.len());
            for (k, sender) in keys.iter().zip(&senders) {
                let b = sender.seal(&ctx, dk.as_ref())?;
                recipients.push(SealedRecipient {
                    key_id: k.key_id(),
                    ephemeral: EphemeralKey::from_bytes(sender.ephemeral_encoding())?,
                    wrapped: b.ciphertext,
                });
            }
            let body = seal_once(&dk, &plaintext, &ctx)?;
            contexts.insert(ctx);
            out.push(Sealed { recipients, body });
        }
        Ok(out)
    }

    /// Open the copy `entry` carries with the oversight private key `key`, and check that the
    /// document is of the kind the entry may carry.
    pub fn open(
        entry: &LogEntry,
        key: &PrivateKey,
    ) -> core::result::Result<SealedDocument, OpenError> {
        Self::open_with(entry, &mut ecies::Receiver::new(key))
    }

    /// [`Sealed::open`] through `receiver`, which keeps the key exchange of the last ephemeral
    /// key: the copies one request sealed under one ephemeral key (§17.1), read in log order,
    /// cost one key exchange in all.
    pub fn open_with(
        entry: &LogEntry,
        receiver: &mut ecies::Receiver<'_>,
    ) -> core::result::Result<SealedDocument, OpenError> {
        let sealed = entry.sealed.as_ref().ok_or(OpenError::NotSealed)?;
        let id = receiver.key().public().key_id();
        let r = sealed
            .recipients
            .iter()
            .find(|r| r.key_id == id)
            .ok_or_else(|| OpenError::NotForThisKey(id.short()))?;
        let ctx = sealing_context(entry);
        let dk = receiver
            .open_encoded(
                &ctx,
                r.ephemeral.as_bytes(),
                &r.wrapped,
                "oversight data key",
            )
            .map_err(|_| OpenError::Decrypt)?;
        let dk: Zeroizing<[u8; 32]> =
            Zeroizing::new(dk.as_slice().try_into().map_err(|_| OpenError::Decrypt)?);
        let pt =
            open_once(&dk, &sealed.body, &ctx, "oversight copy").map_err(|_| OpenError::Decrypt)?;
        let doc =
            SealedDocument::from_bytes(&pt).map_err(|e| OpenError::Malformed(e.to_string()))?;
        if doc.entry_kind() != entry.kind {
            return Err(OpenError::WrongKind(entry.kind));
        }
        Ok(doc)
    }
}

impl LogEntry {
    /// Attach an oversight copy of `doc`, encrypted to `keys` and bound to this entry's
    /// digests (the entry's digests must not change afterwards). No keys: nothing attached.
    pub fn seal_for_oversight<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        keys: &[PublicKey],
        doc: &SealedDocument,
        rng: &mut R,
    ) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.sealed = Some(Sealed::seal(self, keys, doc, rng)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::codec::KeyId;
    use crate::group::Point;
    use crate::label::Label;
    use crate::secret::MessageKey;
    use crate::time::Timestamp;
    use crate::trustee;

    use crate::codec::Digest32;

    fn d(b: u8) -> Digest32 {
        Digest32([b; 32])
    }

    fn w(b: u8) -> crate::codec::WarrantDigest {
        crate::codec::WarrantDigest::from_bytes([b; 32])
    }

    /// Release entry 4 of `ct` under `warrant`.
    fn release(
        warrant: crate::codec::WarrantDigest,
        ct: crate::codec::CiphertextDigest,
    ) -> LogEntry {
        LogEntry::release(
            4,
            Timestamp(7),
            warrant,
            ct,
            d(2),
            KeyId::from_bytes([3; 32]),
        )
    }

    fn header() -> (crate::trustee::TrusteeSet, EscrowCiphertext) {
        let mut rng = rand::rng();
        let dealing = trustee::deal(3, 2, &mut rng).unwrap();
        let label = Label::new(
            "alice@example",
            "bob@example",
            Timestamp(1_700_000_000),
            "m-1",
        )
        .unwrap();
        let (ct, _) = crate::tdh2::encapsulate(
            &dealing.set,
            &label,
            &MessageKey::random(&mut rng),
            &mut rng,
        )
        .unwrap();
        (dealing.set, ct)
    }

    /// A release entry of a fresh header, its copy sealed to one fresh oversight key.
    fn sealed_release() -> (PrivateKey, LogEntry) {
        let mut rng = rand::rng();
        let (_, ct) = header();
        let k = PrivateKey::generate(&mut rng);
        let mut e = release(w(1), ct.digest());
        e.seal_for_oversight(&[k.public()], &SealedDocument::HeaderV1(ct), &mut rng)
            .unwrap();
        (k, e)
    }

    #[test]
    fn a_receiver_opens_a_batch_with_one_key_exchange_and_still_binds_each_copy() {
        let mut rng = rand::rng();
        let (_, ct) = header();
        let a = PrivateKey::generate(&mut rng);
        let doc = SealedDocument::HeaderV1(ct);
        let mut entries: Vec<LogEntry> = (0..4)
            .map(|i| {
                release(
                    w(1),
                    crate::codec::CiphertextDigest::from_bytes([20 + i; 32]),
                )
            })
            .collect();
        let sealed =
            Sealed::seal_batch(entries.iter().map(|e| (e, &doc)), &[a.public()], &mut rng).unwrap();
        for (e, s) in entries.iter_mut().zip(sealed) {
            e.sealed = Some(s);
        }
        let mut rx = ecies::Receiver::new(&a);
        for e in &entries {
            assert_eq!(Sealed::open_with(e, &mut rx).unwrap(), doc);
        }
        assert_eq!(rx.exchanges(), 1, "one key exchange for the batch");
        // The kept secret does not open a copy moved to another entry (the context differs)...
        let mut moved = entries[2].clone();
        moved.sealed = entries[0].sealed.clone();
        assert_eq!(Sealed::open_with(&moved, &mut rx), Err(OpenError::Decrypt));
        // ... nor one whose ephemeral key was replaced by another point: that key's own
        // exchange is computed, and the copy does not open under it.
        let mut swapped = entries[1].clone();
        if let Some(s) = swapped.sealed.as_mut() {
            s.recipients[0].ephemeral = EphemeralKey::from_bytes(
                &PrivateKey::generate(&mut rng).public().point().to_bytes(),
            )
            .unwrap();
        }
        assert_eq!(
            Sealed::open_with(&swapped, &mut rx),
            Err(OpenError::Decrypt)
        );
        assert_eq!(rx.exchanges(), 2);
        // A copy of another batch: its own exchange, and it opens.
        let (k2, other) = sealed_release();
        let mut rx2 = ecies::Receiver::new(&k2);
        assert!(Sealed::open_with(&other, &mut rx2).is_ok());
        assert!(
            Sealed::open_with(&entries[0], &mut rx2).is_err(),
            "not for this key"
        );
        // An ephemeral key that is not a point of P-256 is refused, not used.
        let mut bad = entries[3].clone();
        if let Some(s) = bad.sealed.as_mut() {
            let mut b = *s.recipients[0].ephemeral.as_bytes();
            b[1..].fill(0xff);
            if let Ok(e) = EphemeralKey::from_bytes(&b) {
                s.recipients[0].ephemeral = e;
            }
        }
        assert_eq!(Sealed::open_with(&bad, &mut rx), Err(OpenError::Decrypt));
    }

    #[test]
    fn a_batch_shares_one_ephemeral_key_and_a_repeated_context_gets_a_fresh_one() {
        let mut rng = rand::rng();
        let (_, ct) = header();
        let a = PrivateKey::generate(&mut rng);
        let b = PrivateKey::generate(&mut rng);
        let doc = SealedDocument::HeaderV1(ct);
        // Entries 0, 1, 2 have distinct contexts; entry 3 repeats entry 1's (same digests).
        let mut entries = [
            release(w(1), crate::codec::CiphertextDigest::from_bytes([10; 32])),
            release(w(1), crate::codec::CiphertextDigest::from_bytes([11; 32])),
            release(w(1), crate::codec::CiphertextDigest::from_bytes([12; 32])),
            release(w(1), crate::codec::CiphertextDigest::from_bytes([11; 32])),
        ];
        let sealed = Sealed::seal_batch(
            entries.iter().map(|e| (e, &doc)),
            &[a.public(), b.public()],
            &mut rng,
        )
        .unwrap();
        assert_eq!(sealed.len(), 4);
        let eph = |i: usize, r: usize| *sealed[i].recipients[r].ephemeral.as_bytes();
        for r in 0..2 {
            assert_eq!(eph(0, r), eph(1, r), "one ephemeral key per oversight key");
            assert_eq!(eph(1, r), eph(2, r));
            assert_ne!(
                eph(2, r),
                eph(3, r),
                "a repeated context must not reuse the ephemeral key (its wrapping key would repeat)"
            );
        }
        assert_ne!(eph(0, 0), eph(0, 1), "each oversight key has its own");
        // Every copy has its own data key and opens alone, for each key, as Sealed::seal's do.
        assert_ne!(sealed[1].body, sealed[3].body);
        for (e, s) in entries.iter_mut().zip(sealed) {
            e.sealed = Some(s);
            let back = LogEntry::from_bytes(&e.to_bytes()).unwrap();
            assert_eq!(Sealed::open(&back, &a).unwrap(), doc);
            assert_eq!(Sealed::open(&back, &b).unwrap(), doc);
        }
        // Bound to its own entry: copy 0 moved to entry 2 does not open.
        let mut moved = entries[2].clone();
        moved.sealed = entries[0].sealed.clone();
        assert_eq!(Sealed::open(&moved, &a), Err(OpenError::Decrypt));
    }

    #[test]
    fn a_sealed_release_entry_roundtrips_and_opens_for_each_key_only() {
        let mut rng = rand::rng();
        let (_, ct) = header();
        let a = PrivateKey::generate(&mut rng);
        let b = PrivateKey::generate(&mut rng);
        let stranger = PrivateKey::generate(&mut rng);
        let mut e = release(w(1), ct.digest());
        let doc = SealedDocument::HeaderV1(ct.clone());
        e.seal_for_oversight(&[a.public(), b.public()], &doc, &mut rng)
            .unwrap();
        let bytes = e.to_bytes();
        assert_eq!(bytes[20], 3, "an entry with an oversight copy is version 3");
        let back = LogEntry::from_bytes(&bytes).unwrap();
        assert_eq!(back, e);
        let j = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<LogEntry>(&j).unwrap(), e);
        assert_eq!(Sealed::open(&back, &a).unwrap(), doc);
        assert_eq!(Sealed::open(&back, &b).unwrap(), doc);
        assert!(matches!(
            Sealed::open(&back, &stranger),
            Err(OpenError::NotForThisKey(_))
        ));
        // The label is not in the entry's bytes.
        let hay = hex::encode(&bytes);
        assert!(!hay.contains(&hex::encode("alice@example")));
        assert!(!String::from_utf8_lossy(&bytes).contains("alice"));
        // Without a copy: the version 1 bytes, and NotSealed.
        let plain = release(w(1), ct.digest());
        assert_eq!(plain.to_bytes()[20], 1);
        assert_eq!(Sealed::open(&plain, &a), Err(OpenError::NotSealed));
    }

    #[test]
    fn a_copy_moved_to_another_entry_or_changed_does_not_open() {
        let mut rng = rand::rng();
        let (_, ct) = header();
        let k = PrivateKey::generate(&mut rng);
        let mut e = release(w(1), ct.digest());
        e.seal_for_oversight(
            &[k.public()],
            &SealedDocument::HeaderV1(ct.clone()),
            &mut rng,
        )
        .unwrap();
        // Same copy, another ciphertext digest (a trustee hiding what it released).
        let mut moved = release(w(1), crate::codec::CiphertextDigest::from_bytes([9; 32]));
        moved.sealed = e.sealed.clone();
        assert_eq!(Sealed::open(&moved, &k), Err(OpenError::Decrypt));
        // Another warrant digest.
        let mut moved = release(w(8), ct.digest());
        moved.sealed = e.sealed.clone();
        assert_eq!(Sealed::open(&moved, &k), Err(OpenError::Decrypt));
        // One body bit flipped.
        let mut t = e.clone();
        t.sealed.as_mut().unwrap().body[0] ^= 1;
        assert_eq!(Sealed::open(&t, &k), Err(OpenError::Decrypt));
        // A warrant-seen entry cannot carry a header, nor a release entry a warrant.
        let mut ws = LogEntry::warrant_seen(1, Timestamp(1), w(1), KeyId::from_bytes([3; 32]));
        assert!(
            ws.seal_for_oversight(&[k.public()], &SealedDocument::HeaderV1(ct), &mut rng)
                .is_err()
        );
        // The entry's position is not bound (its digests are): the same release logged at
        // another sequence number still opens.
        let mut later = e.clone();
        later.sequence = 99;
        assert!(Sealed::open(&later, &k).is_ok());
    }

    #[test]
    fn the_ephemeral_key_is_decoded_when_the_copy_is_opened_not_when_the_entry_is_read() {
        let (k, e) = sealed_release();
        let bytes = e.to_bytes();
        // The recipient starts after the entry's fields: u8 r || key id 32 || E 33 || ...
        let sealed_at = bytes.len() - e.sealed.as_ref().unwrap().encoded_len();
        let at = sealed_at + 1 + 32;
        assert_eq!(
            &bytes[at..at + 33],
            e.sealed.as_ref().unwrap().recipients[0]
                .ephemeral
                .as_bytes()
        );
        // x = 1 is not the x-coordinate of any point of P-256 (1 − 3 + b is a non-residue).
        let mut off_curve = [0u8; 33];
        off_curve[0] = 0x02;
        off_curve[32] = 1;
        assert!(Point::from_bytes(&off_curve, "x").is_err());
        let mut bad = bytes.clone();
        bad[at..at + 33].copy_from_slice(&off_curve);
        // It decodes (the layout is right), and does not open.
        let read = LogEntry::from_bytes(&bad).unwrap();
        assert_eq!(
            read.to_bytes(),
            bad,
            "the logged bytes are kept as they are"
        );
        assert_eq!(Sealed::open(&read, &k), Err(OpenError::Decrypt));
        // A prefix byte that no compressed point has is refused with the entry.
        let mut bad = bytes.clone();
        bad[at] = 0x04;
        assert!(matches!(
            LogEntry::from_bytes(&bad),
            Err(Error::InvalidPoint {
                field: "oversight ephemeral key"
            })
        ));
    }

    #[test]
    fn a_sealed_cancellation_is_version_4_and_only_a_cancellation_is() {
        use crate::warrant::{CancellationEnvelope, CancellationPayload, Role};
        let mut rng = rand::rng();
        let issuer = PrivateKey::generate(&mut rng);
        let k = PrivateKey::generate(&mut rng);
        let env = CancellationEnvelope::sign_new(
            &CancellationPayload {
                version: Default::default(),
                warrant_id: "w-1".into(),
                warrant_digest: w(1),
                cancelled_at: Timestamp(5),
                reason: "done".into(),
            },
            &issuer,
            Role::Issuer,
        )
        .unwrap();
        let mut c = LogEntry::cancellation(3, Timestamp(6), w(1), env.digest());
        let doc = SealedDocument::Cancellation(env.clone());
        c.seal_for_oversight(&[k.public()], &doc, &mut rng).unwrap();
        let bytes = c.to_bytes();
        assert_eq!(bytes[20], 4);
        let back = LogEntry::from_bytes(&bytes).unwrap();
        assert_eq!(back, c);
        assert_eq!(Sealed::open(&back, &k).unwrap(), doc);
        // The same bytes labelled version 3: refused (one encoding per entry).
        let mut v3 = bytes.clone();
        v3[20] = 3;
        assert!(LogEntry::from_bytes(&v3).is_err());
        // A sealed release labelled version 4: refused.
        let (_, ct) = header();
        let mut r = release(w(1), ct.digest());
        r.seal_for_oversight(&[k.public()], &SealedDocument::HeaderV1(ct), &mut rng)
            .unwrap();
        let mut v4 = r.to_bytes();
        assert_eq!(v4[20], 3);
        v4[20] = 4;
        assert!(LogEntry::from_bytes(&v4).is_err());
        // A cancellation copy cannot ride on another kind of entry.
        let mut ws = LogEntry::warrant_seen(1, Timestamp(1), w(1), KeyId::from_bytes([3; 32]));
        assert!(
            ws.seal_for_oversight(&[k.public()], &doc, &mut rng)
                .is_err()
        );
    }

    #[test]
    fn decoding_a_sealed_entry_is_strict() {
        let (_, e) = sealed_release();
        let b = e.to_bytes();
        for cut in 0..b.len() {
            assert!(
                LogEntry::from_bytes(&b[..cut]).is_err(),
                "truncated at {cut}"
            );
        }
        let mut long = b.clone();
        long.push(0);
        assert!(LogEntry::from_bytes(&long).is_err());
        // zero recipients
        let at = e.clone();
        let mut z = LogEntry { sealed: None, ..at }.to_bytes();
        z[20] = 3;
        z.push(0); // count: none
        z.push(0); // zero recipients
        z.extend_from_slice(&16u32.to_be_bytes());
        z.extend_from_slice(&[0u8; 16]);
        assert!(LogEntry::from_bytes(&z).is_err());
        // A request refusal with a copy keeps its count.
        let mut r = LogEntry::request_refusal(1, Timestamp(2), None, d(5), 10, "cancelled");
        r.sealed = e.sealed.clone();
        assert_eq!(LogEntry::from_bytes(&r.to_bytes()).unwrap(), r);
    }
}
