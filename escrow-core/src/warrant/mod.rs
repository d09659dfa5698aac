//! Warrants: signed (DSSE, ECDSA P-256), double-locked (issuer and judicial roles), scoped,
//! cancellable, judged by a trustee's [`Policy`], and refused with stable reason codes.
//!
//! The format and the checks are specified in `docs/warrants.md`; this module is the reference
//! implementation. The flow is a typestate:
//!
//! ```text
//! JSON ──WarrantEnvelope::from_json──▶ WarrantEnvelope ──Warrant::parse──▶ Warrant (unverified)
//!                                         │                                   │
//!                                         └──Policy::verify(env, at, is_cancelled)───┴──▶ VerifiedWarrant
//! ```
//!
//! A [`VerifiedWarrant`] exists only after every signature, every required role, the validity
//! period at the time passed in (the library never reads the clock), cancellation and the
//! policy's limits have been checked. Scope ([`VerifiedWarrant::check_scope`]) and the release
//! count ([`VerifiedWarrant::check_release_limit`]) are then checked per message by the caller.
//!
//! Every refusal is a [`Refusal`]: a stable [`ReasonCode`] and a detail naming the culprit.

mod chain;
pub mod describe;
mod dsse;
mod payload;
mod policy;
mod refusal;
mod scope;

pub use chain::{ChainCancellation, MAX_CHAIN_WALK, RenewalChains};
pub use dsse::{
    Envelope, EnvelopeSignature, MAX_PAYLOAD_BYTES, MAX_SIGNATURES, b64_decode_lenient, pae,
};
pub use payload::{
    CancellationPayload, MAX_LONG_TEXT_LEN, MAX_MESSAGE_IDS, MAX_SHORT_TEXT_LEN, MAX_TARGETS,
    MAX_WARRANT_ID_LEN, WarrantPayload,
};
pub use policy::{
    Authority, Custody, DEFAULT_CLOCK_SKEW_SECS, DEFAULT_MAX_URGENT_VALIDITY_SECS,
    DEFAULT_MAX_VALIDITY_SECS, MAX_AUTHORITIES, MAX_CLOCK_SKEW_SECS, MAX_LIMIT_SECS,
    MAX_OVERSIGHT_KEYS, Oversight, POLICY_VERSION_1, POLICY_VERSION_2, Policy, PolicyLimits, Role,
    Signer, canonical_json,
};
pub use refusal::{ReasonCode, Refusal};
pub use scope::{Scope, ScopeMatcher, ScopeMiss, Window};

use crate::codec::{Digest32, WarrantDigest};
use crate::keys::{PrivateKey, PublicKey};
use crate::label::Label;
use crate::time::Timestamp;
use core::marker::PhantomData;

/// DSSE `payloadType` of a warrant.
pub const WARRANT_PAYLOAD_TYPE: &str = "application/vnd.escrow.warrant.v1+json";
/// DSSE `payloadType` of a cancellation.
pub const CANCELLATION_PAYLOAD_TYPE: &str = "application/vnd.escrow.cancellation.v1+json";
/// Domain-separation tag of a warrant digest.
pub const TAG_WARRANT_DIGEST: &str = "escrow/v1/warrant-digest";
/// Domain-separation tag of a cancellation digest.
pub const TAG_CANCELLATION_DIGEST: &str = "escrow/v1/cancellation-digest";
/// Domain-separation tag of a policy digest.
pub const TAG_POLICY_DIGEST: &str = "escrow/v1/policy-digest";

mod sealed {
    pub trait Sealed {}
}

/// What an envelope holds: fixes its payload type and digest tag.
pub trait EnvelopeKind: sealed::Sealed {
    /// The DSSE `payloadType`.
    const PAYLOAD_TYPE: &'static str;
    /// Domain-separation tag of the digest.
    const DIGEST_TAG: &'static str;
    /// Name used in refusal details.
    const WHAT: &'static str;
}

/// Marker: a warrant envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WarrantKind;
/// Marker: a cancellation envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CancellationKind;
impl sealed::Sealed for WarrantKind {}
impl sealed::Sealed for CancellationKind {}
impl EnvelopeKind for WarrantKind {
    const PAYLOAD_TYPE: &'static str = WARRANT_PAYLOAD_TYPE;
    const DIGEST_TAG: &'static str = TAG_WARRANT_DIGEST;
    const WHAT: &'static str = "warrant";
}
impl EnvelopeKind for CancellationKind {
    const PAYLOAD_TYPE: &'static str = CANCELLATION_PAYLOAD_TYPE;
    const DIGEST_TAG: &'static str = TAG_CANCELLATION_DIGEST;
    const WHAT: &'static str = "cancellation";
}

/// A DSSE envelope meant to hold a `K` (structurally checked, signatures not yet verified;
/// its payload type is checked against `K` only after the signatures, as DSSE prescribes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedEnvelope<K> {
    inner: Envelope,
    kind: PhantomData<K>,
}

/// A warrant in its DSSE envelope.
pub type WarrantEnvelope = SignedEnvelope<WarrantKind>;
/// A cancellation in its DSSE envelope.
pub type CancellationEnvelope = SignedEnvelope<CancellationKind>;

impl WarrantDigest {
    /// The digest of the warrant in `env` (tagged SHA-256 over its PAE), computed for any
    /// envelope, so that even a refusal of a malformed warrant names the document it refused.
    pub(crate) fn of_envelope(env: &Envelope) -> Self {
        WarrantDigest::from_digest(Digest32::tagged(TAG_WARRANT_DIGEST, &[&env.pae()]))
    }
}

impl SignedEnvelope<WarrantKind> {
    /// The warrant's digest: `SHA-256(tagged)` over the PAE, independent of the signatures
    /// (adding an approval does not change it).
    pub fn digest(&self) -> WarrantDigest {
        WarrantDigest::from_digest(self.pae_digest())
    }
}

impl SignedEnvelope<CancellationKind> {
    /// The cancellation's digest: `SHA-256(tagged)` over the PAE, independent of the
    /// signatures.
    pub fn digest(&self) -> Digest32 {
        self.pae_digest()
    }
}

impl<K: EnvelopeKind> SignedEnvelope<K> {
    /// Parse JSON (unknown fields refused, 1..=16 signatures). Signatures are not verified.
    pub fn from_json(s: &str) -> Result<Self, Refusal> {
        Envelope::from_json(K::WHAT, s).map(Self::wrap)
    }

    /// Wrap an envelope after its structural check.
    pub fn from_envelope(env: Envelope) -> Result<Self, Refusal> {
        env.check_structure(K::WHAT)?;
        Ok(Self::wrap(env))
    }

    fn wrap(inner: Envelope) -> Self {
        SignedEnvelope {
            inner,
            kind: PhantomData,
        }
    }

    /// Sign `payload` bytes (as they are; nothing is canonicalised) into a new envelope of this
    /// kind's payload type.
    pub fn sign_bytes(payload: Vec<u8>, key: &PrivateKey, role: Role) -> Result<Self, Refusal> {
        let mut env = Envelope::new(K::PAYLOAD_TYPE, payload);
        env.add_signature(key, role)?;
        Self::from_envelope(env)
    }

    /// Compact JSON.
    pub fn to_json(&self) -> String {
        crate::codec::to_json(&self.inner)
    }

    /// Indented JSON (for files people read).
    pub fn to_json_pretty(&self) -> String {
        crate::codec::to_json_pretty(&self.inner)
    }

    /// The envelope.
    pub fn envelope(&self) -> &Envelope {
        &self.inner
    }

    /// The bytes every signature covers: `PAE(payloadType, payload)`.
    pub fn pae(&self) -> Vec<u8> {
        self.inner.pae()
    }

    /// `SHA-256(tagged)` over the PAE: identifies the signed document, independent of the
    /// signatures (adding an approval does not change it).
    fn pae_digest(&self) -> Digest32 {
        Digest32::tagged(K::DIGEST_TAG, &[&self.inner.pae()])
    }

    /// Sign and append: e.g. the Judicial Commissioner's approval. The same key twice is
    /// refused.
    pub fn add_signature(&mut self, key: &PrivateKey, role: Role) -> Result<(), Refusal> {
        self.inner.add_signature(key, role)
    }

    fn check_payload_type(&self) -> Result<(), Refusal> {
        if self.inner.payload_type != K::PAYLOAD_TYPE {
            return Err(Refusal::malformed(
                &format!("{}.payloadType", K::WHAT),
                format!(
                    "is {:?}, expected {:?}",
                    self.inner.payload_type,
                    K::PAYLOAD_TYPE
                ),
            ));
        }
        Ok(())
    }
}

/// Serializes as the plain envelope JSON, so an envelope can be embedded in other documents
/// (requests, audit records).
impl<K> serde::Serialize for SignedEnvelope<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.inner.serialize(s)
    }
}

/// Deserializes the envelope JSON with the same structural checks as
/// [`SignedEnvelope::from_json`].
impl<'de, K: EnvelopeKind> serde::Deserialize<'de> for SignedEnvelope<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let inner = Envelope::deserialize(d)?;
        inner
            .check_structure(K::WHAT)
            .map_err(serde::de::Error::custom)?;
        Ok(Self::wrap(inner))
    }
}

impl WarrantEnvelope {
    /// Check `payload` and sign it into a new warrant envelope (normally `role` = issuer).
    pub fn sign_new(
        payload: &WarrantPayload,
        key: &PrivateKey,
        role: Role,
    ) -> Result<Self, Refusal> {
        payload.check()?;
        let bytes = serde_json::to_vec(payload).map_err(|e| Refusal::malformed("warrant", e))?;
        Self::sign_bytes(bytes, key, role)
    }
}

impl CancellationEnvelope {
    /// The payload, parsed (format only: no signature, role or rule checked) — for showing
    /// what a logged cancellation says; only [`Policy::verify_cancellation`] makes it count.
    pub fn parse_payload(&self) -> Result<CancellationPayload, Refusal> {
        payload::parse_json("cancellation", &self.envelope().payload)
    }

    /// Check `payload` and sign it into a new cancellation envelope.
    pub fn sign_new(
        payload: &CancellationPayload,
        key: &PrivateKey,
        role: Role,
    ) -> Result<Self, Refusal> {
        payload.check()?;
        let bytes =
            serde_json::to_vec(payload).map_err(|e| Refusal::malformed("cancellation", e))?;
        Self::sign_bytes(bytes, key, role)
    }
}

/// A warrant whose envelope and payload parse and follow every format rule, but whose
/// signatures, roles, dates and limits have NOT been checked. Good for showing; useless for
/// releasing: only a [`VerifiedWarrant`] authorises anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warrant {
    envelope: WarrantEnvelope,
    payload: WarrantPayload,
    investigator: PublicKey,
}

impl Warrant {
    /// Check the payload type, parse the payload and check its rules (`malformed`).
    pub fn parse(env: &WarrantEnvelope) -> Result<Self, Refusal> {
        env.check_payload_type()?;
        let payload: WarrantPayload = payload::parse_json("warrant", &env.inner.payload)?;
        let investigator = payload.check()?;
        Ok(Warrant {
            envelope: env.clone(),
            payload,
            investigator,
        })
    }

    /// The warrant id.
    pub fn id(&self) -> &str {
        &self.payload.warrant_id
    }

    /// The payload.
    pub fn payload(&self) -> &WarrantPayload {
        &self.payload
    }

    /// The envelope.
    pub fn envelope(&self) -> &WarrantEnvelope {
        &self.envelope
    }

    /// The investigator key named in the payload.
    pub fn investigator(&self) -> &PublicKey {
        &self.investigator
    }

    /// The envelope digest.
    pub fn digest(&self) -> WarrantDigest {
        self.envelope.digest()
    }
}

/// A warrant that passed every policy check at a given time. Only [`Policy::verify`] and
/// [`Policy::verify_warrant`] make one.
#[derive(Clone, Debug)]
pub struct VerifiedWarrant {
    warrant: Warrant,
    digest: WarrantDigest,
    signers: Vec<Signer>,
    verified_at: Timestamp,
    policy_digest: Digest32,
    approval_deadline: Option<Timestamp>,
    matcher: ScopeMatcher,
}

impl VerifiedWarrant {
    /// The warrant id.
    pub fn id(&self) -> &str {
        self.warrant.id()
    }

    /// The envelope digest (see [`SignedEnvelope::digest`]).
    pub fn digest(&self) -> WarrantDigest {
        self.digest
    }

    /// The investigator key that receives released shares.
    pub fn investigator(&self) -> &PublicKey {
        self.warrant.investigator()
    }

    /// The warrant's own release limit (distinct messages), if any.
    pub fn max_releases(&self) -> Option<u64> {
        self.warrant.payload.max_releases
    }

    /// The payload.
    pub fn payload(&self) -> &WarrantPayload {
        self.warrant.payload()
    }

    /// The envelope as verified.
    pub fn envelope(&self) -> &WarrantEnvelope {
        self.warrant.envelope()
    }

    /// Who signed, in envelope order, with the role the policy gives each.
    pub fn signers(&self) -> &[Signer] {
        &self.signers
    }

    /// The time the checks were made for.
    pub fn verified_at(&self) -> Timestamp {
        self.verified_at
    }

    /// The digest of the policy that judged it.
    pub fn policy_digest(&self) -> Digest32 {
        self.policy_digest
    }

    /// `Some(deadline)` when this is an urgent warrant accepted without every required
    /// approval, under the policy's `urgent_unapproved_secs` (IPA 2016 s.24): from `deadline`
    /// on it is refused (`missing-approval`) unless the approval has been added.
    pub fn approval_deadline(&self) -> Option<Timestamp> {
        self.approval_deadline
    }

    /// Is this escrow label in scope? `out-of-scope` names the failing constraint without
    /// echoing the label; a label that breaks the label rules is `malformed`.
    pub fn check_scope(&self, label: &Label) -> Result<(), Refusal> {
        label.check().map_err(|e| Refusal::malformed("label", e))?;
        self.matcher
            .check(label)
            .map_err(|miss| Refusal::new(ReasonCode::OutOfScope, self.matcher.explain(miss)))
    }

    /// The release-limit check the trustee makes before releasing: `already_released` distinct
    /// messages released before under this warrant, `new_distinct` distinct messages in this
    /// request that were not released before. Refused (`release-limit`) if the sum exceeds the
    /// warrant's limit.
    pub fn check_release_limit(
        &self,
        already_released: u64,
        new_distinct: u64,
    ) -> Result<(), Refusal> {
        let Some(max) = self.max_releases() else {
            return Ok(());
        };
        match already_released.checked_add(new_distinct) {
            Some(total) if total <= max => Ok(()),
            _ => Err(Refusal::new(
                ReasonCode::ReleaseLimit,
                format!(
                    "releasing {new_distinct} more message(s) after {already_released} would exceed the warrant's limit of {max}"
                ),
            )),
        }
    }
}

/// A cancellation whose signatures are all by authorities in the policy. Once a trustee has
/// seen one, the warrant id it names is dead for good.
#[derive(Clone, Debug)]
pub struct VerifiedCancellation {
    envelope: CancellationEnvelope,
    payload: CancellationPayload,
    signers: Vec<Signer>,
    seen_at: Timestamp,
}

impl VerifiedCancellation {
    /// The cancelled warrant id.
    pub fn warrant_id(&self) -> &str {
        &self.payload.warrant_id
    }

    /// The cancellation envelope's digest.
    pub fn digest(&self) -> Digest32 {
        self.envelope.digest()
    }

    /// The payload.
    pub fn payload(&self) -> &CancellationPayload {
        &self.payload
    }

    /// The envelope.
    pub fn envelope(&self) -> &CancellationEnvelope {
        &self.envelope
    }

    /// Who signed it.
    pub fn signers(&self) -> &[Signer] {
        &self.signers
    }

    /// The time passed to [`Policy::verify_cancellation`].
    pub fn seen_at(&self) -> Timestamp {
        self.seen_at
    }
}
