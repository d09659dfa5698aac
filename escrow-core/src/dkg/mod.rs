//! Distributed key generation (no dealer ever holds x) and proactive refresh among the
//! trustees, after C2SP COCKTAIL-DKG (itself derived from ChillDKG / SimplPedPop): every
//! participant deals a random polynomial with Feldman commitments and a proof of possession of
//! its constant term, shares travel encrypted pairwise (ECDH + HKDF-SHA-256 + AES-256-GCM,
//! bound to the session), every received share is checked against its sender's commitments, a
//! bad share is named in a complaint any third party can check, and the run ends with a
//! certificate: every participant's ECDSA signature over the transcript digest and the set id.
//!
//! The state machine is pure (no I/O): a relay (the coordinator, untrusted) carries the round
//! messages between the participants. Every round message is signed by its sender, so a relay
//! that alters one makes the run fail with that message's sender named as where it broke, and
//! a relay that shows participants different views makes the transcript digests differ (the
//! run fails, the participant whose view differs is named). Nothing here returns the secret
//! x: the only secret a participant ends with is its own share, inside a [`KeyShare`].
//!
//! Choices where this differs from COCKTAIL-DKG (documented in `docs/protocol.md` §16):
//! the pairwise key is ephemeral–ephemeral ECDH (each participant's round-1 ephemeral key,
//! with a Schnorr proof of knowledge of its secret) instead of ephemeral–static, so a
//! complaint can reveal the pairwise ECDH point with a DLEQ proof without turning a
//! participant's long-term key into a Diffie–Hellman oracle; messages are authenticated by
//! the senders' ECDSA signatures instead of a static–static ECDH term; shares are sent in a
//! second round (after every ephemeral key is known) instead of the first.

use crate::codec::{Digest32, SetId, V1, put_lp};
use crate::ecies::{open_once, seal_once};
use crate::error::Error;
use crate::group::{self, Point, scalar_from_bytes, scalar_to_bytes};
use crate::keys::{PrivateKey, PublicKey};
use crate::secret::SecretScalar;
use crate::trustee::{
    Holder, KeyShare, TrusteePublic, TrusteeSet, VerifiedKeyShare, check_parameters,
};
use hkdf::Hkdf;
use p256::elliptic_curve::group::Group as _;
use p256::{ProjectivePoint, Scalar};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

#[cfg(test)]
mod tests;

/// Tag of the session id.
pub const TAG_SESSION: &str = "escrow/v1/dkg/session";
/// Tag of the digest of all round-1 messages.
pub const TAG_ROUND1_DIGEST: &str = "escrow/v1/dkg/round1-digest";
/// Tag of the digest of all round-2 messages.
pub const TAG_ROUND2_DIGEST: &str = "escrow/v1/dkg/round2-digest";
/// Tag of the transcript digest.
pub const TAG_TRANSCRIPT: &str = "escrow/v1/dkg/transcript";
/// Prefix of the bytes a round-1 message's signature covers.
pub const SIG_ROUND1: &[u8] = b"escrow/v1/dkg/round1";
/// Prefix of the bytes a round-2 message's signature covers.
pub const SIG_ROUND2: &[u8] = b"escrow/v1/dkg/round2";
/// Prefix of the bytes a certificate signature covers.
pub const SIG_CERTIFICATE: &[u8] = b"escrow/v1/dkg/certificate";
/// Prefix of the bytes a round-3 complaint message's signature covers.
pub const SIG_COMPLAINTS: &[u8] = b"escrow/v1/dkg/complaints";
/// DST of the proof of possession of a polynomial's constant term.
pub const DST_POP: &str = "escrow/v1/dkg/proof-of-possession";
/// DST of the proof of knowledge of an ephemeral key.
pub const DST_EPHEMERAL: &str = "escrow/v1/dkg/ephemeral-key-proof";
/// DST of the DLEQ proof in a complaint.
pub const DST_COMPLAINT: &str = "escrow/v1/dkg/complaint-dleq";
/// HKDF info prefix of the pairwise share-encryption key.
pub const INFO_SHARE: &[u8] = b"escrow/v1/dkg/share";

/// Which ceremony a session runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CeremonyKind {
    /// Generate a fresh set: every participant deals a random polynomial.
    Keygen,
    /// Refresh an existing set: every participant deals a polynomial with constant term 0
    /// (Herzberg et al.), the public key stays, every share changes.
    Refresh,
    /// Reshare an existing set to other trustees (Desmedt–Jajodia, Wong–Wang): at least k of
    /// its trustees (the dealers) each deal a polynomial whose constant term is their share,
    /// the new trustees (the participants) combine what they receive with Lagrange
    /// coefficients; the public key stays, the threshold and the number of trustees may change.
    Reshare,
}

impl CeremonyKind {
    fn code(self) -> u8 {
        match self {
            CeremonyKind::Keygen => 1,
            CeremonyKind::Refresh => 2,
            CeremonyKind::Reshare => 3,
        }
    }
}

impl core::fmt::Display for CeremonyKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CeremonyKind::Keygen => "keygen",
            CeremonyKind::Refresh => "refresh",
            CeremonyKind::Reshare => "reshare",
        })
    }
}

/// The public parameters of one ceremony, chosen by the coordinator and checked by every
/// participant. Their digest is the session id every message and key is bound to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionParams {
    /// Format version: 1, or 2 exactly when `holders` is present.
    pub version: u32,
    /// Keygen or refresh.
    pub kind: CeremonyKind,
    /// A fresh random value (the coordinator's; participants refuse a session id they saw).
    pub nonce: Digest32,
    /// Threshold k.
    pub threshold: u16,
    /// The participants' ECDSA signing keys; participant i (1-based) is entry i-1 and becomes
    /// trustee i.
    pub participants: Vec<PublicKey>,
    /// Refresh and reshare: the id of the set being refreshed or reshared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_set: Option<SetId>,
    /// Reshare only: the old set's trustees that deal, increasing index. They come first in
    /// the ceremony's positions (1..=m), the participants after them (m+1..=m+n).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dealers: Vec<Dealer>,
    /// Version 2: who holds each participant's share (entry i-1 for participant i), so that
    /// the session id, hence the transcript and the certificate, bind the set's composition;
    /// the set made carries them (`trustee-set.json` version 4).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<Holder>,
}

/// Format version of session parameters without holders.
pub const PARAMS_VERSION: u32 = 1;
/// Format version of session parameters with holders.
pub const PARAMS_VERSION_HOLDERS: u32 = 2;

/// A dealer of a reshare: an old trustee, by its index in the old set and its signing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dealer {
    /// Its index in the old set (the x-coordinate of its share).
    pub index: u16,
    /// Its ECDSA signing key (as in the old set).
    pub signing_key: PublicKey,
}

/// A fresh random session nonce (the coordinator's).
fn fresh_nonce<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Digest32 {
    let mut nonce = [0u8; 32];
    rng.fill_bytes(&mut nonce);
    Digest32(nonce)
}

impl SessionParams {
    /// Parameters of a key generation among `participants` with threshold `k`.
    pub fn keygen<R: rand_core::CryptoRng + ?Sized>(
        threshold: u16,
        participants: Vec<PublicKey>,
        rng: &mut R,
    ) -> Result<Self, DkgError> {
        let p = SessionParams {
            version: PARAMS_VERSION,
            kind: CeremonyKind::Keygen,
            nonce: fresh_nonce(rng),
            threshold,
            participants,
            previous_set: None,
            dealers: Vec::new(),
            holders: Vec::new(),
        };
        p.validate()?;
        Ok(p)
    }

    /// Parameters of a refresh of `set` (same trustees, same threshold).
    pub fn refresh<R: rand_core::CryptoRng + ?Sized>(
        set: &TrusteeSet,
        rng: &mut R,
    ) -> Result<Self, DkgError> {
        let holders = set.holders().unwrap_or_default();
        let p = SessionParams {
            version: if holders.is_empty() {
                PARAMS_VERSION
            } else {
                PARAMS_VERSION_HOLDERS
            },
            kind: CeremonyKind::Refresh,
            nonce: fresh_nonce(rng),
            threshold: set.threshold(),
            participants: set.members().iter().map(|m| m.signing_key).collect(),
            previous_set: Some(set.id()),
            dealers: Vec::new(),
            holders,
        };
        p.validate()?;
        Ok(p)
    }

    /// Parameters of a reshare of `set`: its trustees `dealers` (indices, at least its
    /// threshold of them) deal to new trustees `participants` with threshold `threshold`.
    pub fn reshare<R: rand_core::CryptoRng + ?Sized>(
        set: &TrusteeSet,
        dealers: &[u16],
        threshold: u16,
        participants: Vec<PublicKey>,
        rng: &mut R,
    ) -> Result<Self, DkgError> {
        let dealers = dealers
            .iter()
            .map(|&i| {
                Ok(Dealer {
                    index: i,
                    signing_key: set
                        .member(i)
                        .map_err(|e| DkgError::InvalidParams(e.to_string()))?
                        .signing_key,
                })
            })
            .collect::<Result<Vec<_>, DkgError>>()?;
        let p = SessionParams {
            version: PARAMS_VERSION,
            kind: CeremonyKind::Reshare,
            nonce: fresh_nonce(rng),
            threshold,
            participants,
            previous_set: Some(set.id()),
            dealers,
            holders: Vec::new(),
        };
        p.validate()?;
        p.check_dealers(set)?;
        Ok(p)
    }

    /// `InvalidParams("not a {kind}")` unless these are the parameters of a `kind` ceremony.
    fn expect_kind(&self, kind: CeremonyKind) -> Result<(), DkgError> {
        if self.kind != kind {
            return Err(DkgError::InvalidParams(format!("not a {kind}")));
        }
        Ok(())
    }

    /// The same parameters naming who holds each participant's share (version 2; empty:
    /// version 1). A refresh's holders are its set's ([`SessionParams::refresh`] copies them).
    pub fn with_holders(mut self, holders: Vec<Holder>) -> Result<Self, DkgError> {
        self.version = if holders.is_empty() {
            PARAMS_VERSION
        } else {
            PARAMS_VERSION_HOLDERS
        };
        self.holders = holders;
        self.validate()?;
        Ok(self)
    }

    /// The holders of the set the ceremony makes, if the parameters name them.
    pub fn holders(&self) -> Option<&[Holder]> {
        (!self.holders.is_empty()).then_some(self.holders.as_slice())
    }

    /// A reshare's dealers against the old set: at least its threshold of them, each a
    /// trustee of it with the signing key the set lists.
    pub fn check_dealers(&self, set: &TrusteeSet) -> Result<(), DkgError> {
        if self.previous_set != Some(set.id()) {
            return Err(DkgError::NotAParticipant(
                "the previous set differs from the one the ceremony reshares".into(),
            ));
        }
        if self.dealers.len() < usize::from(set.threshold()) {
            return Err(DkgError::InvalidParams(format!(
                "a reshare needs at least k = {} of the old trustees as dealers, {} given",
                set.threshold(),
                self.dealers.len()
            )));
        }
        for d in &self.dealers {
            let m = set
                .member(d.index)
                .map_err(|e| DkgError::InvalidParams(format!("dealer {}: {e}", d.index)))?;
            if m.signing_key != d.signing_key {
                return Err(DkgError::InvalidParams(format!(
                    "dealer {}'s signing key is not old trustee {}'s",
                    d.index, d.index
                )));
            }
        }
        Ok(())
    }

    /// Check `1 <= k <= n <= 255`, distinct participants, and the kind's fields.
    pub fn validate(&self) -> Result<(), DkgError> {
        check_parameters(self.participants.len() as u64, u64::from(self.threshold))
            .map_err(|e| DkgError::InvalidParams(e.to_string()))?;
        match (self.version, self.holders.is_empty()) {
            (PARAMS_VERSION, true) | (PARAMS_VERSION_HOLDERS, false) => {}
            (v, h) => {
                return Err(DkgError::InvalidParams(format!(
                    "parameters version {v} {} holders (version 1 has none, version 2 one per participant)",
                    if h { "without" } else { "with" }
                )));
            }
        }
        if !self.holders.is_empty() && self.holders.len() != self.participants.len() {
            return Err(DkgError::InvalidParams(format!(
                "{} holders for {} participants",
                self.holders.len(),
                self.participants.len()
            )));
        }
        for (i, h) in self.holders.iter().enumerate() {
            h.check()
                .map_err(|e| DkgError::InvalidParams(format!("participant {}: {e}", i + 1)))?;
        }
        if self.dealers.len() > usize::from(crate::trustee::MAX_TRUSTEES) {
            return Err(DkgError::InvalidParams("too many dealers".into()));
        }
        let keys: Vec<&PublicKey> = (1..=self.parties() as u16)
            .filter_map(|p| self.key_of(p))
            .collect();
        for (i, p) in keys.iter().enumerate() {
            if keys.iter().skip(i + 1).any(|q| q == p) {
                return Err(DkgError::InvalidParams(format!(
                    "participant {} appears more than once",
                    i + 1
                )));
            }
        }
        if (self.kind == CeremonyKind::Reshare) == self.dealers.is_empty() {
            return Err(DkgError::InvalidParams(
                "dealers are listed exactly for a reshare".into(),
            ));
        }
        if self
            .dealers
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.index >= b.index))
            || self.dealers.iter().any(|d| d.index == 0)
        {
            return Err(DkgError::InvalidParams(
                "dealers must be listed by increasing old-set index (from 1)".into(),
            ));
        }
        match (self.kind, self.previous_set) {
            (CeremonyKind::Keygen, None)
            | (CeremonyKind::Refresh, Some(_))
            | (CeremonyKind::Reshare, Some(_)) => Ok(()),
            (CeremonyKind::Keygen, Some(_)) => Err(DkgError::InvalidParams(
                "a keygen has no previous set".into(),
            )),
            (CeremonyKind::Refresh | CeremonyKind::Reshare, None) => Err(DkgError::InvalidParams(
                "a refresh or reshare names the set it renews".into(),
            )),
        }
    }

    /// Number of participants n.
    pub fn n(&self) -> u16 {
        self.participants.len() as u16
    }

    /// The session id: `T(TAG_SESSION, kind ‖ nonce ‖ u16 k ‖ u16 n ‖ key_1 ‖ … ‖ key_n ‖
    /// [previous set id] [‖ u16 m ‖ (u16 index ‖ key)… for the m dealers])`, keys as 33-byte
    /// compressed points, kind 1 = keygen, 2 = refresh, 3 = reshare (only a reshare has
    /// dealers).
    pub fn session_id(&self) -> Digest32 {
        let mut b = Vec::with_capacity(70 + 33 * self.participants.len());
        b.push(self.kind.code());
        b.extend_from_slice(self.nonce.as_bytes());
        b.extend_from_slice(&self.threshold.to_be_bytes());
        b.extend_from_slice(&self.n().to_be_bytes());
        for p in &self.participants {
            b.extend_from_slice(&p.point().to_bytes());
        }
        if let Some(prev) = &self.previous_set {
            b.extend_from_slice(prev.as_bytes());
        }
        if !self.dealers.is_empty() {
            b.extend_from_slice(&(self.dealers.len() as u16).to_be_bytes());
            for d in &self.dealers {
                b.extend_from_slice(&d.index.to_be_bytes());
                b.extend_from_slice(&d.signing_key.point().to_bytes());
            }
        }
        if !self.holders.is_empty() {
            // version 2: u16 n ‖ (lp(organisation) ‖ lp(jurisdiction)) per participant
            b.extend_from_slice(&(self.holders.len() as u16).to_be_bytes());
            for h in &self.holders {
                put_lp(&mut b, h.organisation.as_bytes());
                put_lp(&mut b, h.jurisdiction.as_bytes());
            }
        }
        Digest32::tagged(TAG_SESSION, &[&b])
    }

    /// Number of commitments the round-1 message of position `pos` carries: k for a keygen
    /// (C_0..C_{k-1}), k-1 for a refresh (C_1..C_{k-1}; the constant term is 0); in a
    /// reshare k for a dealer (C_0 is its old verification key) and none for a participant.
    fn commitment_count(&self, pos: u16) -> usize {
        match self.kind {
            CeremonyKind::Keygen => usize::from(self.threshold),
            CeremonyKind::Refresh => usize::from(self.threshold).saturating_sub(1),
            CeremonyKind::Reshare if self.deals(pos) => usize::from(self.threshold),
            CeremonyKind::Reshare => 0,
        }
    }

    /// Number of positions in the ceremony: n, or m + n for a reshare with m dealers.
    pub fn parties(&self) -> usize {
        self.dealers.len() + self.participants.len()
    }

    /// The signing key of position `pos` (1-based): a reshare's dealers first, then the
    /// participants.
    pub fn key_of(&self, pos: u16) -> Option<&PublicKey> {
        let p = usize::from(pos).checked_sub(1)?;
        match p.checked_sub(self.dealers.len()) {
            Some(q) => self.participants.get(q),
            None => self.dealers.get(p).map(|d| &d.signing_key),
        }
    }

    /// Does position `pos` deal (every position, except a reshare's participants)?
    pub fn deals(&self, pos: u16) -> bool {
        self.kind != CeremonyKind::Reshare || usize::from(pos) <= self.dealers.len()
    }

    /// The trustee index (in the resulting set) of position `pos`, if it receives shares
    /// (every position, except a reshare's dealers).
    pub fn receiver_index(&self, pos: u16) -> Option<u16> {
        let m = self.dealers.len() as u16;
        let i = pos.checked_sub(m)?;
        (i >= 1 && usize::from(i) <= self.participants.len()).then_some(i)
    }

    /// The positions `pos` sends a share to (increasing): every receiving position but its
    /// own; none if it does not deal.
    pub fn recipients_of(&self, pos: u16) -> Vec<u16> {
        if !self.deals(pos) {
            return Vec::new();
        }
        (1..=self.parties() as u16)
            .filter(|&j| j != pos && self.receiver_index(j).is_some())
            .collect()
    }

    /// The position of the participant that becomes trustee `index` of the resulting set.
    pub fn position_of_trustee(&self, index: u16) -> u16 {
        index + self.dealers.len() as u16
    }
}

/// A Schnorr-style proof: challenge `e` and response `z`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// Challenge.
    #[serde(with = "group::scalar_hex")]
    pub e: Scalar,
    /// Response.
    #[serde(with = "group::scalar_hex")]
    pub z: Scalar,
}

fn enc(p: &ProjectivePoint) -> [u8; 33] {
    group::sec1c_vec(core::slice::from_ref(p))
        .first()
        .copied()
        .unwrap_or([0u8; 33])
}

/// Schnorr proof of knowledge of `w` with `A = w·G`:
/// `R = r·G`, `e = H(dst, session ‖ u16 index ‖ A ‖ R)`, `z = r + e·w`.
fn schnorr_prove<R: rand_core::CryptoRng + ?Sized>(
    dst: &str,
    session: &Digest32,
    index: u16,
    w: &Scalar,
    a: &ProjectivePoint,
    rng: &mut R,
) -> Proof {
    let r = SecretScalar::new(group::random_scalar(rng));
    let big_r = ProjectivePoint::mul_by_generator(r.expose());
    let e = schnorr_challenge(dst, session, index, a, &big_r);
    Proof {
        e,
        z: *r.expose() + e * w,
    }
}

fn schnorr_challenge(
    dst: &str,
    session: &Digest32,
    index: u16,
    a: &ProjectivePoint,
    r: &ProjectivePoint,
) -> Scalar {
    group::hash_to_scalar(
        dst,
        &[session.as_bytes(), &index.to_be_bytes(), &enc(a), &enc(r)],
    )
}

/// Verify: `R = z·G − e·A`, and `e` must equal the recomputed challenge.
fn schnorr_verify(
    dst: &str,
    session: &Digest32,
    index: u16,
    a: &ProjectivePoint,
    p: &Proof,
) -> bool {
    let r = group::mul_g_add_vartime(&p.z, &(-p.e), a);
    schnorr_challenge(dst, session, index, a, &r) == p.e
}

/// DLEQ proof that `log_G E_c = log_{E_a} K` (the complainer `c` knows `e_c`):
/// `R1 = r·G`, `R2 = r·E_a`, `e = H(DST_COMPLAINT, session ‖ u16 c ‖ u16 a ‖ E_c ‖ E_a ‖ K ‖
/// R1 ‖ R2)`, `z = r + e·e_c`.
struct Dleq<'a> {
    session: &'a Digest32,
    complainer: u16,
    accused: u16,
    e_c: &'a ProjectivePoint,
    e_a: &'a ProjectivePoint,
    k: &'a ProjectivePoint,
}

impl Dleq<'_> {
    fn challenge(&self, r1: &ProjectivePoint, r2: &ProjectivePoint) -> Scalar {
        group::hash_to_scalar(
            DST_COMPLAINT,
            &[
                self.session.as_bytes(),
                &self.complainer.to_be_bytes(),
                &self.accused.to_be_bytes(),
                &enc(self.e_c),
                &enc(self.e_a),
                &enc(self.k),
                &enc(r1),
                &enc(r2),
            ],
        )
    }

    fn prove<R: rand_core::CryptoRng + ?Sized>(&self, w: &Scalar, rng: &mut R) -> Proof {
        let r = SecretScalar::new(group::random_scalar(rng));
        let r1 = ProjectivePoint::mul_by_generator(r.expose());
        let r2 = *self.e_a * r.expose();
        let e = self.challenge(&r1, &r2);
        Proof {
            e,
            z: *r.expose() + e * w,
        }
    }

    fn verify(&self, p: &Proof) -> bool {
        let r1 = group::mul_g_add_vartime(&p.z, &(-p.e), self.e_c);
        let r2 = group::lincomb2_vartime(self.e_a, &p.z, self.k, &(-p.e));
        self.challenge(&r1, &r2) == p.e
    }
}

/// Round 1: commitments, proofs, the ephemeral key. Broadcast to every participant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round1 {
    /// Format version.
    pub version: V1,
    /// Session id.
    pub session: Digest32,
    /// Sender's index (1-based).
    pub sender: u16,
    /// Feldman commitments: keygen `C_0..C_{k-1}`, refresh `C_1..C_{k-1}`.
    pub commitments: Vec<Point>,
    /// Keygen: proof of possession of the constant term `a_0` (`C_0 = a_0·G`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pop: Option<Proof>,
    /// Ephemeral ECDH key `E = e·G`.
    pub ephemeral: Point,
    /// Proof of knowledge of `e`.
    pub ephemeral_proof: Proof,
    /// Sender's ECDSA signature over [`Round1::signed_bytes`].
    #[serde(with = "crate::codec::b64")]
    pub signature: Vec<u8>,
}

/// `tag ‖ session ‖ u16 sender`, the start of every signed round message (room for `cap`
/// bytes).
fn signed_head(cap: usize, tag: &[u8], session: &Digest32, sender: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(cap);
    b.extend_from_slice(tag);
    b.extend_from_slice(session.as_bytes());
    b.extend_from_slice(&sender.to_be_bytes());
    b
}

fn put_proof(b: &mut Vec<u8>, p: &Proof) {
    b.extend_from_slice(&scalar_to_bytes(&p.e));
    b.extend_from_slice(&scalar_to_bytes(&p.z));
}

impl Round1 {
    /// `SIG_ROUND1 ‖ session ‖ u16 sender ‖ u16 count ‖ C… ‖ pop flag (0/1) [‖ e ‖ z] ‖ E ‖
    /// e ‖ z`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let cap = 200 + 33 * self.commitments.len();
        let mut b = signed_head(cap, SIG_ROUND1, &self.session, self.sender);
        b.extend_from_slice(&(self.commitments.len() as u16).to_be_bytes());
        for c in &self.commitments {
            b.extend_from_slice(&c.to_bytes());
        }
        match &self.pop {
            Some(p) => {
                b.push(1);
                put_proof(&mut b, p);
            }
            None => b.push(0),
        }
        b.extend_from_slice(&self.ephemeral.to_bytes());
        put_proof(&mut b, &self.ephemeral_proof);
        b
    }

    /// The full commitments vector `C_0..C_{k-1}` (a refresh's `C_0` is the identity).
    fn full_commitments(&self, kind: CeremonyKind) -> Vec<ProjectivePoint> {
        let mut v = Vec::with_capacity(self.commitments.len() + 1);
        if kind == CeremonyKind::Refresh {
            v.push(ProjectivePoint::IDENTITY);
        }
        v.extend(self.commitments.iter().map(|c| *c.inner()));
        v
    }
}

/// One encrypted share in a round-2 message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedShare {
    /// Recipient index.
    pub recipient: u16,
    /// AES-256-GCM ciphertext and tag of the 32-byte share.
    #[serde(with = "crate::codec::b64")]
    pub ciphertext: Vec<u8>,
}

/// Round 2: the sender's shares for every other participant, encrypted pairwise, and the
/// digest of the round-1 messages the sender saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round2 {
    /// Format version.
    pub version: V1,
    /// Session id.
    pub session: Digest32,
    /// Sender's index.
    pub sender: u16,
    /// Digest of all round-1 messages as the sender saw them.
    pub round1: Digest32,
    /// One share per other participant, recipients in increasing order.
    pub shares: Vec<SealedShare>,
    /// Sender's ECDSA signature over [`Round2::signed_bytes`].
    #[serde(with = "crate::codec::b64")]
    pub signature: Vec<u8>,
}

impl Round2 {
    /// `SIG_ROUND2 ‖ session ‖ u16 sender ‖ round1 digest ‖ u16 count ‖ (u16 recipient ‖
    /// lp(ciphertext))…`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut b = signed_head(
            80 + 54 * self.shares.len(),
            SIG_ROUND2,
            &self.session,
            self.sender,
        );
        b.extend_from_slice(self.round1.as_bytes());
        b.extend_from_slice(&(self.shares.len() as u16).to_be_bytes());
        for s in &self.shares {
            b.extend_from_slice(&s.recipient.to_be_bytes());
            put_lp(&mut b, &s.ciphertext);
        }
        b
    }
}

/// A complaint: the complainer reveals the pairwise ECDH point `K = e_c·E_a` with a DLEQ
/// proof, so anyone can derive the pairwise key, open the accused's share and check it
/// against the accused's commitments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Complaint {
    /// The participant accused of sending a bad share.
    pub accused: u16,
    /// `K = e_complainer·E_accused`.
    pub shared: Point,
    /// DLEQ proof `log_G E_complainer = log_{E_accused} K`.
    pub proof: Proof,
}

/// Round 3: either a certificate signature (no complaints) or complaints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round3 {
    /// Format version.
    pub version: V1,
    /// Session id.
    pub session: Digest32,
    /// Sender's index.
    pub sender: u16,
    /// Transcript digest as the sender computed it.
    pub transcript: Digest32,
    /// Id of the set the transcript determines.
    pub set_id: SetId,
    /// Complaints (empty: the sender certifies the run).
    pub complaints: Vec<Complaint>,
    /// No complaints: signature over [`certificate_bytes`]; otherwise over
    /// [`Round3::complaint_bytes`].
    #[serde(with = "crate::codec::b64")]
    pub signature: Vec<u8>,
}

/// The bytes every participant signs to certify a run: `SIG_CERTIFICATE ‖ session ‖
/// transcript ‖ set id`.
pub fn certificate_bytes(session: &Digest32, transcript: &Digest32, set_id: &SetId) -> Vec<u8> {
    let mut b = Vec::with_capacity(SIG_CERTIFICATE.len() + 96);
    b.extend_from_slice(SIG_CERTIFICATE);
    b.extend_from_slice(session.as_bytes());
    b.extend_from_slice(transcript.as_bytes());
    b.extend_from_slice(set_id.as_bytes());
    b
}

impl Round3 {
    /// `SIG_COMPLAINTS ‖ session ‖ u16 sender ‖ transcript ‖ set id ‖ u16 count ‖ (u16 accused
    /// ‖ K ‖ e ‖ z)…`.
    pub fn complaint_bytes(&self) -> Vec<u8> {
        let cap = 120 + 99 * self.complaints.len();
        let mut b = signed_head(cap, SIG_COMPLAINTS, &self.session, self.sender);
        b.extend_from_slice(self.transcript.as_bytes());
        b.extend_from_slice(self.set_id.as_bytes());
        b.extend_from_slice(&(self.complaints.len() as u16).to_be_bytes());
        for c in &self.complaints {
            b.extend_from_slice(&c.accused.to_be_bytes());
            b.extend_from_slice(&c.shared.to_bytes());
            put_proof(&mut b, &c.proof);
        }
        b
    }

    fn signed_bytes(&self) -> Vec<u8> {
        if self.complaints.is_empty() {
            certificate_bytes(&self.session, &self.transcript, &self.set_id)
        } else {
            self.complaint_bytes()
        }
    }
}

/// One participant's certificate signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSignature {
    /// Participant (trustee) index.
    pub index: u16,
    /// ECDSA signature over [`certificate_bytes`].
    #[serde(with = "crate::codec::b64")]
    pub signature: Vec<u8>,
}

/// The success certificate of a ceremony (`keygen-certificate.json`): the parameters, the
/// transcript digest, the resulting set id, and every participant's signature over
/// [`certificate_bytes`]. [`Certificate::verify`] checks it against a trustee set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// Format version.
    pub version: V1,
    /// The ceremony's parameters (their digest is the session id).
    pub params: SessionParams,
    /// Transcript digest.
    pub transcript: Digest32,
    /// The id of the set the ceremony produced.
    pub set_id: SetId,
    /// One signature per participant, index order.
    pub signatures: Vec<CertificateSignature>,
}

impl Certificate {
    /// The session id of the certified ceremony.
    pub fn session_id(&self) -> Digest32 {
        self.params.session_id()
    }

    /// Check that this certifies `set`: same set id, threshold, trustees and signing keys, and
    /// every participant's signature valid (a reshare's dealers first, then the new
    /// trustees). A refresh or reshare certificate also names the set it renewed
    /// (`params.previous_set`), which the caller compares with its history.
    pub fn verify(&self, set: &TrusteeSet) -> Result<(), DkgError> {
        self.params.validate()?;
        if self.set_id != set.id() {
            return Err(DkgError::CertificateMismatch(format!(
                "certifies set {}, not the set in use {}",
                self.set_id.short(),
                set.id().short()
            )));
        }
        if self.params.threshold != set.threshold() || self.params.n() != set.trustees() {
            return Err(DkgError::CertificateMismatch(
                "threshold or number of trustees differ from the set".into(),
            ));
        }
        for (m, p) in set.members().iter().zip(&self.params.participants) {
            if m.signing_key != *p {
                return Err(DkgError::CertificateMismatch(format!(
                    "trustee {}'s signing key differs from the ceremony's participant",
                    m.index
                )));
            }
        }
        if set.holders().unwrap_or_default() != self.params.holders {
            return Err(DkgError::CertificateMismatch(
                "the set's organisations and jurisdictions differ from the ceremony's".into(),
            ));
        }
        if self.signatures.len() != self.params.parties() {
            return Err(DkgError::CertificateMismatch(format!(
                "{} signatures for {} participants",
                self.signatures.len(),
                self.params.parties()
            )));
        }
        let msg = certificate_bytes(&self.session_id(), &self.transcript, &self.set_id);
        for (pos, s) in self.signatures.iter().enumerate() {
            let index = pos as u16 + 1;
            if s.index != index {
                return Err(DkgError::CertificateMismatch(format!(
                    "signature at position {index} claims index {}",
                    s.index
                )));
            }
            let key = self
                .params
                .key_of(index)
                .ok_or_else(|| DkgError::CertificateMismatch("too many signatures".into()))?;
            key.verify(&msg, &s.signature, "keygen certificate")
                .map_err(|_| DkgError::CertificateSignature { participant: index })?;
        }
        Ok(())
    }

    /// Serialize (`keygen-certificate.json`).
    pub fn to_json(&self) -> String {
        crate::codec::to_json_pretty(self)
    }

    /// Parse (check it with [`Certificate::verify`]).
    pub fn from_json(s: &str) -> Result<Self, DkgError> {
        crate::codec::from_json("keygen certificate", s).map_err(DkgError::Core)
    }
}

/// What went wrong, and whose fault it is. The round is the one whose message is at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultKind {
    /// No message from this participant (dropped by it or by the relay).
    #[error("sent no round-{round} message (or the relay dropped it)")]
    Missing {
        /// Round.
        round: u8,
    },
    /// A message in the wrong place, for another session, or malformed.
    #[error("sent a malformed round-{round} message: {why}")]
    Malformed {
        /// Round.
        round: u8,
        /// Why.
        why: String,
    },
    /// A message whose signature does not verify under the participant's key.
    #[error("round-{round} message fails its signature (altered in transit or forged)")]
    BadSignature {
        /// Round.
        round: u8,
    },
    /// The proof of possession of the constant term fails.
    #[error("proof of possession of its constant term fails")]
    BadProofOfPossession,
    /// The proof of knowledge of the ephemeral key fails.
    #[error("proof of knowledge of its ephemeral key fails")]
    BadEphemeralProof,
    /// The participant's view of an earlier round differs (the relay showed it other
    /// messages, or it lies).
    #[error("saw a different round-{round} (relay equivocation or a lying participant)")]
    ViewMismatch {
        /// Round whose digest differs.
        round: u8,
    },
    /// A share that does not open or fails the sender's commitments (verified complaint).
    #[error("sent participant {recipient} a share that fails its commitments (verified complaint)")]
    BadShare {
        /// The recipient who complained.
        recipient: u16,
    },
    /// A reshare dealer whose constant-term commitment is not its verification key in the
    /// old set (it would deal something other than its share).
    #[error("dealt a polynomial whose constant term is not its share of the old set")]
    WrongConstantTerm,
    /// A complaint against a participant whose share is good, or a complaint that does not
    /// verify.
    #[error("complained falsely against participant {accused}")]
    FalseComplaint {
        /// Whom it accused.
        accused: u16,
    },
}

/// A participant named at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("participant {participant} {kind}")]
pub struct Fault {
    /// The culprit's index.
    pub participant: u16,
    /// What it did.
    pub kind: FaultKind,
}

/// Errors of a ceremony. A run with any fault aborts; no output is produced.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DkgError {
    /// Bad session parameters.
    #[error("invalid ceremony parameters: {0}")]
    InvalidParams(String),
    /// This participant is not the one the parameters name at that index, or the previous
    /// set does not match.
    #[error("not a participant of this ceremony: {0}")]
    NotAParticipant(String),
    /// The run is aborted; the culprits are named.
    #[error("ceremony aborted: {}", faults_text(.0))]
    Aborted(Vec<Fault>),
    /// A certificate does not certify the set.
    #[error("keygen certificate does not match the set: {0}")]
    CertificateMismatch(String),
    /// A certificate signature fails.
    #[error("keygen certificate: signature of participant {participant} fails")]
    CertificateSignature {
        /// Whose.
        participant: u16,
    },
    /// An error of the core (decoding, set construction).
    #[error(transparent)]
    Core(#[from] Error),
}

fn faults_text(f: &[Fault]) -> String {
    f.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl DkgError {
    /// The culprits' indices: the participants named at fault in an aborted run, or the one
    /// whose certificate signature fails; sorted, each once.
    pub fn culprits(&self) -> Vec<u16> {
        match self {
            DkgError::Aborted(f) => {
                let mut v: Vec<u16> = f.iter().map(|f| f.participant).collect();
                v.sort_unstable();
                v.dedup();
                v
            }
            DkgError::CertificateSignature { participant } => vec![*participant],
            _ => Vec::new(),
        }
    }

    /// The one participant named as the culprit, if exactly one is ([`DkgError::culprits`]
    /// lists them all).
    pub fn culprit(&self) -> Option<u16> {
        match self.culprits().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

fn fault(participant: u16, kind: FaultKind) -> Fault {
    Fault { participant, kind }
}

/// Digest of one round's messages: `T(tag, (lp(signed bytes) ‖ lp(signature))…)`.
fn round_digest(tag: &str, items: &[(Vec<u8>, &[u8])]) -> Digest32 {
    let mut b = Vec::new();
    for (signed, sig) in items {
        put_lp(&mut b, signed);
        put_lp(&mut b, sig);
    }
    Digest32::tagged(tag, &[&b])
}

/// Digest of all round-1 messages (index order).
pub fn round1_digest(r1: &[Round1]) -> Digest32 {
    let items: Vec<(Vec<u8>, &[u8])> = r1
        .iter()
        .map(|m| (m.signed_bytes(), m.signature.as_slice()))
        .collect();
    round_digest(TAG_ROUND1_DIGEST, &items)
}

/// Digest of all round-2 messages (index order).
pub fn round2_digest(r2: &[Round2]) -> Digest32 {
    let items: Vec<(Vec<u8>, &[u8])> = r2
        .iter()
        .map(|m| (m.signed_bytes(), m.signature.as_slice()))
        .collect();
    round_digest(TAG_ROUND2_DIGEST, &items)
}

/// The transcript digest: `T(TAG_TRANSCRIPT, session ‖ round-1 digest ‖ round-2 digest)`.
pub fn transcript_digest(session: &Digest32, r1: &Digest32, r2: &Digest32) -> Digest32 {
    Digest32::tagged(
        TAG_TRANSCRIPT,
        &[session.as_bytes(), r1.as_bytes(), r2.as_bytes()],
    )
}

/// The pairwise share key: `HKDF-SHA-256(salt = session, ikm = x(K), info = INFO_SHARE ‖
/// u16 sender ‖ u16 recipient ‖ E_sender ‖ E_recipient)`, 32 bytes.
fn share_key(
    session: &Digest32,
    sender: u16,
    recipient: u16,
    e_s: &Point,
    e_r: &Point,
    k: &ProjectivePoint,
) -> Result<Zeroizing<[u8; 32]>, Error> {
    let kb = Zeroizing::new(enc(k));
    let x = kb.get(1..).unwrap_or_default();
    let mut info = Vec::with_capacity(INFO_SHARE.len() + 70);
    info.extend_from_slice(INFO_SHARE);
    info.extend_from_slice(&sender.to_be_bytes());
    info.extend_from_slice(&recipient.to_be_bytes());
    info.extend_from_slice(&e_s.to_bytes());
    info.extend_from_slice(&e_r.to_bytes());
    let hk = Hkdf::<Sha256>::new(Some(session.as_bytes()), x);
    let mut out = Zeroizing::new([0u8; 32]);
    hk.expand(&info, out.as_mut())
        .map_err(|_| Error::malformed("dkg share key", "hkdf output length"))?;
    Ok(out)
}

/// AEAD associated data of a share: `session ‖ u16 sender ‖ u16 recipient`.
fn share_aad(session: &Digest32, sender: u16, recipient: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(36);
    b.extend_from_slice(session.as_bytes());
    b.extend_from_slice(&sender.to_be_bytes());
    b.extend_from_slice(&recipient.to_be_bytes());
    b
}

fn eval_secret(coeffs: &[SecretScalar], i: u16) -> Scalar {
    let x = Scalar::from(u64::from(i));
    let mut acc = Scalar::ZERO;
    for c in coeffs.iter().rev() {
        acc = acc * x + c.expose();
    }
    acc
}

/// Participants with no message in a round (by sender index): the relay sends the messages
/// it has in index order; a gap is named as the missing sender.
fn missing(n: u16, senders: &[u16], round: u8) -> Vec<Fault> {
    (1..=n)
        .filter(|i| !senders.contains(i))
        .map(|i| fault(i, FaultKind::Missing { round }))
        .collect()
}

/// One round's public check, message by message: a sender missing from the round is its
/// fault (and then nothing else is checked); otherwise `check` judges the message at each
/// position (`None`: no fault), and messages beyond the participants are a fault of the relay
/// (index 0).
fn check_round<M>(
    params: &SessionParams,
    msgs: &[M],
    round: u8,
    sender: impl Fn(&M) -> u16,
    mut check: impl FnMut(u16, &M) -> Option<FaultKind>,
) -> Vec<Fault> {
    let senders: Vec<u16> = msgs.iter().map(sender).collect();
    let parties = params.parties() as u16;
    let gaps = missing(parties, &senders, round);
    if !gaps.is_empty() {
        return gaps;
    }
    let mut faults = Vec::new();
    for index in 1..=parties {
        let Some(m) = msgs.get(usize::from(index) - 1) else {
            faults.push(fault(index, FaultKind::Missing { round }));
            continue;
        };
        if let Some(f) = check(index, m) {
            faults.push(fault(index, f));
        }
    }
    if msgs.len() > params.parties() {
        faults.push(fault(
            0,
            FaultKind::Malformed {
                round,
                why: format!(
                    "{} messages for {} participants",
                    msgs.len(),
                    params.parties()
                ),
            },
        ));
    }
    faults
}

/// Check every round-1 message publicly (count, order, session, signature, commitments,
/// proofs). Returns every fault found.
pub fn check_round1(params: &SessionParams, r1: &[Round1]) -> Vec<Fault> {
    let session = params.session_id();
    check_round(
        params,
        r1,
        1,
        |m| m.sender,
        |index, m| check_one_round1(params, &session, index, m),
    )
}

fn check_one_round1(
    params: &SessionParams,
    session: &Digest32,
    index: u16,
    m: &Round1,
) -> Option<FaultKind> {
    let malformed = |why: &str| {
        Some(FaultKind::Malformed {
            round: 1,
            why: why.into(),
        })
    };
    if m.sender != index {
        return malformed("sender index does not match its position");
    }
    if m.session != *session {
        return malformed("for another session");
    }
    let key = params.key_of(index)?;
    if key
        .verify(&m.signed_bytes(), &m.signature, "dkg round 1")
        .is_err()
    {
        return Some(FaultKind::BadSignature { round: 1 });
    }
    if m.commitments.len() != params.commitment_count(index) {
        return malformed("wrong number of commitments");
    }
    match (params.kind, &m.pop) {
        (CeremonyKind::Keygen, Some(pop)) => {
            let c0 = m.commitments.first()?;
            if !schnorr_verify(DST_POP, session, index, c0.inner(), pop) {
                return Some(FaultKind::BadProofOfPossession);
            }
        }
        (CeremonyKind::Refresh | CeremonyKind::Reshare, None) => {}
        _ => return malformed("proof of possession present iff keygen"),
    }
    if !schnorr_verify(
        DST_EPHEMERAL,
        session,
        index,
        m.ephemeral.inner(),
        &m.ephemeral_proof,
    ) {
        return Some(FaultKind::BadEphemeralProof);
    }
    None
}

/// Check every round-2 message publicly (count, order, session, signature, the round-1 view,
/// the recipients' list).
pub fn check_round2(params: &SessionParams, r1_digest: &Digest32, r2: &[Round2]) -> Vec<Fault> {
    let session = params.session_id();
    check_round(
        params,
        r2,
        2,
        |m| m.sender,
        |index, m| {
            let malformed = |why: &str| FaultKind::Malformed {
                round: 2,
                why: why.into(),
            };
            if m.sender != index {
                return Some(malformed("sender index does not match its position"));
            }
            if m.session != session {
                return Some(malformed("for another session"));
            }
            let key = params.key_of(index)?;
            if key
                .verify(&m.signed_bytes(), &m.signature, "dkg round 2")
                .is_err()
            {
                return Some(FaultKind::BadSignature { round: 2 });
            }
            if m.round1 != *r1_digest {
                return Some(FaultKind::ViewMismatch { round: 1 });
            }
            let expected = params.recipients_of(index);
            (m.shares.len() != expected.len()
                || !m.shares.iter().zip(expected).all(|(s, j)| s.recipient == j))
            .then(|| {
                malformed("shares not addressed to every other receiving participant in order")
            })
        },
    )
}

/// The share `sender` sent `recipient` (ciphertext), from checked round-2 messages.
fn sealed_for(r2: &[Round2], sender: u16, recipient: u16) -> Option<&[u8]> {
    r2.get(usize::from(sender).checked_sub(1)?)?
        .shares
        .iter()
        .find(|s| s.recipient == recipient)
        .map(|s| s.ciphertext.as_slice())
}

/// Open and check one share with the pairwise point `K`: `Some(share)` if it opens and
/// matches the sender's commitments at the recipient's index.
fn open_share(
    params: &SessionParams,
    session: &Digest32,
    r1: &[Round1],
    r2: &[Round2],
    sender: u16,
    recipient: u16,
    k: &ProjectivePoint,
) -> Option<SecretScalar> {
    let ms = r1.get(usize::from(sender).checked_sub(1)?)?;
    let mr = r1.get(usize::from(recipient).checked_sub(1)?)?;
    let ct = sealed_for(r2, sender, recipient)?;
    let key = share_key(session, sender, recipient, &ms.ephemeral, &mr.ephemeral, k).ok()?;
    let pt = open_once(
        &key,
        ct,
        &share_aad(session, sender, recipient),
        "dkg share",
    )
    .ok()?;
    let s = SecretScalar::new(scalar_from_bytes(&pt, "dkg share").ok()?);
    let x = params.receiver_index(recipient)?;
    let want = group::eval_commitments_vartime(&ms.full_commitments(params.kind), x);
    (ProjectivePoint::mul_by_generator(s.expose()) == want).then_some(s)
}

/// Judge a complaint, as any third party can from the public round messages: the
/// complainer's DLEQ proof must hold (else the complainer is at fault); then the accused's
/// share, opened with the revealed key, must fail the accused's commitments (else the
/// complaint is false).
pub fn judge_complaint(
    params: &SessionParams,
    r1: &[Round1],
    r2: &[Round2],
    complainer: u16,
    c: &Complaint,
) -> Fault {
    let session = params.session_id();
    let false_complaint = fault(complainer, FaultKind::FalseComplaint { accused: c.accused });
    if c.accused == complainer
        || c.accused == 0
        || usize::from(c.accused) > params.parties()
        || !params.deals(c.accused)
        || params.receiver_index(complainer).is_none()
    {
        return false_complaint;
    }
    let (Some(mc), Some(ma)) = (
        r1.get(usize::from(complainer).wrapping_sub(1)),
        r1.get(usize::from(c.accused) - 1),
    ) else {
        return false_complaint;
    };
    let dleq = Dleq {
        session: &session,
        complainer,
        accused: c.accused,
        e_c: mc.ephemeral.inner(),
        e_a: ma.ephemeral.inner(),
        k: c.shared.inner(),
    };
    if !dleq.verify(&c.proof) {
        return false_complaint;
    }
    match open_share(
        params,
        &session,
        r1,
        r2,
        c.accused,
        complainer,
        c.shared.inner(),
    ) {
        Some(_) => false_complaint,
        None => fault(
            c.accused,
            FaultKind::BadShare {
                recipient: complainer,
            },
        ),
    }
}

/// The set a ceremony's round-1 messages determine (public: anyone, the coordinator
/// included, computes it). Keygen: `C_t = Σ_i C_{i,t}`; refresh: `C_0` kept, `C_t = C_t^old +
/// Σ_i C_{i,t}` for `t ≥ 1`; reshare: every dealer d's `C_{d,0}` must be its verification key
/// in the old set (else the dealer is named, *WrongConstantTerm*), `C_t = Σ_d λ_d C_{d,t}`
/// with `λ_d` the Lagrange coefficients at 0 of the dealers' old indices (so `C_0` is the old
/// escrow key). Verification keys `X_j = Σ_t C_t j^t`; signing keys from the parameters.
pub fn resulting_set(
    params: &SessionParams,
    r1: &[Round1],
    previous: Option<&TrusteeSet>,
) -> Result<TrusteeSet, DkgError> {
    let k = usize::from(params.threshold);
    let mut cs: Vec<ProjectivePoint> = match (params.kind, previous) {
        (CeremonyKind::Keygen, _) => vec![ProjectivePoint::IDENTITY; k],
        (CeremonyKind::Refresh, Some(prev)) => {
            if Some(prev.id()) != params.previous_set || prev.threshold() != params.threshold {
                return Err(DkgError::NotAParticipant(
                    "the previous set differs from the one the ceremony refreshes".into(),
                ));
            }
            prev.commitments().iter().map(|c| *c.inner()).collect()
        }
        (CeremonyKind::Reshare, Some(prev)) => {
            params.check_dealers(prev)?;
            vec![ProjectivePoint::IDENTITY; k]
        }
        (CeremonyKind::Refresh | CeremonyKind::Reshare, None) => {
            return Err(DkgError::InvalidParams(
                "a refresh or reshare needs the previous set".into(),
            ));
        }
    };
    match (params.kind, previous) {
        (CeremonyKind::Reshare, Some(prev)) => {
            let ids: Vec<u16> = params.dealers.iter().map(|d| d.index).collect();
            let lambdas = group::lagrange_at_zero(&ids)?;
            let mut faults = Vec::new();
            for ((d, m), lambda) in params.dealers.iter().zip(r1).zip(&lambdas) {
                let full = m.full_commitments(params.kind);
                if full.first() != Some(prev.member(d.index)?.verification_key.inner()) {
                    faults.push(fault(m.sender, FaultKind::WrongConstantTerm));
                }
                for (acc, c) in cs.iter_mut().zip(full) {
                    *acc += c * lambda;
                }
            }
            if !faults.is_empty() {
                return Err(DkgError::Aborted(faults));
            }
            if cs.first() != Some(prev.escrow_key().inner()) {
                // unreachable with every constant term checked; fail closed
                return Err(DkgError::InvalidParams(
                    "the dealers' shares do not interpolate the escrow key".into(),
                ));
            }
        }
        _ => {
            for m in r1 {
                for (acc, c) in cs.iter_mut().zip(m.full_commitments(params.kind)) {
                    *acc += c;
                }
            }
        }
    }
    let commitments = cs
        .iter()
        .map(|c| Point::new(*c, "commitment"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut members = Vec::with_capacity(params.participants.len());
    for (pos, key) in params.participants.iter().enumerate() {
        let index = pos as u16 + 1;
        members.push(TrusteePublic {
            index,
            verification_key: Point::new(
                group::eval_commitments_vartime(&cs, index),
                "verification_key",
            )?,
            signing_key: *key,
            organisation: params.holders.get(pos).map(|h| h.organisation.clone()),
            jurisdiction: params.holders.get(pos).map(|h| h.jurisdiction.clone()),
        });
    }
    // a refreshed or reshared set names every set it descends from (same escrow key):
    // messages sealed to any of them stay open to the new shares. A reshared set's trustees
    // are new nodes with new logs: every set before it is "before the reshare".
    let (lineage, reshared_after) = match previous {
        Some(prev) if params.kind != CeremonyKind::Keygen => {
            let mut l = prev.lineage().to_vec();
            l.push(prev.id());
            let after = if params.kind == CeremonyKind::Reshare {
                u16::try_from(l.len())
                    .map_err(|_| DkgError::InvalidParams("lineage too long".into()))?
            } else {
                prev.reshared_after()
            };
            (l, after)
        }
        _ => (Vec::new(), 0),
    };
    Ok(TrusteeSet::from_parts_full(
        commitments,
        members,
        lineage,
        reshared_after,
    )?)
}

/// Assemble the certificate from the round-3 messages (what the coordinator does after a
/// successful run); checks every signature.
pub fn assemble_certificate(
    params: &SessionParams,
    set: &TrusteeSet,
    transcript: &Digest32,
    r3: &[Round3],
) -> Result<Certificate, DkgError> {
    let faults = check_round3(params, transcript, &set.id(), r3);
    if !faults.is_empty() {
        return Err(DkgError::Aborted(faults));
    }
    let complaints: Vec<Fault> = r3
        .iter()
        .filter(|m| !m.complaints.is_empty())
        .map(|m| {
            fault(
                m.sender,
                FaultKind::Malformed {
                    round: 3,
                    why: "complaints outstanding".into(),
                },
            )
        })
        .collect();
    if !complaints.is_empty() {
        return Err(DkgError::Aborted(complaints));
    }
    let cert = Certificate {
        version: V1::default(),
        params: params.clone(),
        transcript: *transcript,
        set_id: set.id(),
        signatures: r3
            .iter()
            .map(|m| CertificateSignature {
                index: m.sender,
                signature: m.signature.clone(),
            })
            .collect(),
    };
    cert.verify(set)?;
    Ok(cert)
}

/// Check every round-3 message publicly: order, session, signature, transcript and set id.
pub fn check_round3(
    params: &SessionParams,
    transcript: &Digest32,
    set_id: &SetId,
    r3: &[Round3],
) -> Vec<Fault> {
    let senders: Vec<u16> = r3.iter().map(|m| m.sender).collect();
    let parties = params.parties() as u16;
    let gaps = missing(parties, &senders, 3);
    if !gaps.is_empty() {
        return gaps;
    }
    let session = params.session_id();
    let mut faults = Vec::new();
    for index in 1..=parties {
        let Some(m) = r3.get(usize::from(index) - 1) else {
            faults.push(fault(index, FaultKind::Missing { round: 3 }));
            continue;
        };
        if m.sender != index || m.session != session {
            faults.push(fault(
                index,
                FaultKind::Malformed {
                    round: 3,
                    why: "wrong sender index or session".into(),
                },
            ));
            continue;
        }
        let Some(key) = params.key_of(index) else {
            continue;
        };
        if key
            .verify(&m.signed_bytes(), &m.signature, "dkg round 3")
            .is_err()
        {
            faults.push(fault(index, FaultKind::BadSignature { round: 3 }));
            continue;
        }
        if m.transcript != *transcript || m.set_id != *set_id {
            faults.push(fault(index, FaultKind::ViewMismatch { round: 2 }));
        }
    }
    if r3.len() > params.parties() {
        faults.push(fault(
            0,
            FaultKind::Malformed {
                round: 3,
                why: format!(
                    "{} messages for {} participants",
                    r3.len(),
                    params.parties()
                ),
            },
        ));
    }
    faults
}

/// A participant after round 1 (holds its polynomial and ephemeral secret).
pub struct Round1State {
    params: SessionParams,
    session: Digest32,
    index: u16,
    signing: PrivateKey,
    coeffs: Vec<SecretScalar>,
    ephemeral: SecretScalar,
    own: Round1,
    previous: Option<TrusteeSet>,
    /// A refresh: the participant's share of the previous set (added to its new share).
    old_share: Option<VerifiedKeyShare>,
}

/// Its secrets (the polynomial's coefficients, the ephemeral key, the signing key, an old
/// share) zeroize themselves on drop.
impl zeroize::ZeroizeOnDrop for Round1State {}

impl core::fmt::Debug for Round1State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "dkg::Round1State {{ session: {}, index: {}, secrets: [REDACTED] }}",
            self.session.short(),
            self.index
        )
    }
}

/// Start a key generation as participant `index` (1-based) holding `signing`, the key the
/// parameters list at that index.
pub fn start_keygen<R: rand_core::CryptoRng + ?Sized>(
    params: SessionParams,
    index: u16,
    signing: PrivateKey,
    rng: &mut R,
) -> Result<(Round1State, Round1), DkgError> {
    params.expect_kind(CeremonyKind::Keygen)?;
    start(params, index, signing, None, rng)
}

/// Start a refresh of `set` as participant `index`, holding `share` of it.
pub fn start_refresh<R: rand_core::CryptoRng + ?Sized>(
    params: SessionParams,
    index: u16,
    signing: PrivateKey,
    set: TrusteeSet,
    share: VerifiedKeyShare,
    rng: &mut R,
) -> Result<(Round1State, Round1), DkgError> {
    params.expect_kind(CeremonyKind::Refresh)?;
    if params.previous_set != Some(set.id()) || share.set_id() != set.id() {
        return Err(DkgError::NotAParticipant(
            "this node's set is not the one the ceremony refreshes".into(),
        ));
    }
    if share.index() != index || set.threshold() != params.threshold {
        return Err(DkgError::NotAParticipant(
            "this node's share index or threshold differs from the ceremony's".into(),
        ));
    }
    let keys: Vec<PublicKey> = set.members().iter().map(|m| m.signing_key).collect();
    if keys != params.participants {
        return Err(DkgError::NotAParticipant(
            "the ceremony's participants are not the set's trustees".into(),
        ));
    }
    if set.holders().unwrap_or_default() != params.holders {
        return Err(DkgError::NotAParticipant(
            "the ceremony's holders (organisation, jurisdiction) are not the set's".into(),
        ));
    }
    start(params, index, signing, Some((set, Some(share))), rng)
}

/// Start a reshare of `set` at position `pos` (1-based: the dealers first, then the new
/// trustees). A dealer holds `share` of `set` (its polynomial's constant term); a new trustee
/// holds none (`None`) and only receives.
pub fn start_reshare<R: rand_core::CryptoRng + ?Sized>(
    params: SessionParams,
    pos: u16,
    signing: PrivateKey,
    set: TrusteeSet,
    share: Option<VerifiedKeyShare>,
    rng: &mut R,
) -> Result<(Round1State, Round1), DkgError> {
    params.expect_kind(CeremonyKind::Reshare)?;
    params.validate()?;
    params.check_dealers(&set)?;
    match (&share, params.dealers.get(usize::from(pos).wrapping_sub(1))) {
        (Some(s), Some(d)) if s.set_id() == set.id() && s.index() == d.index => {}
        (None, None) => {}
        (Some(_), _) => {
            return Err(DkgError::NotAParticipant(format!(
                "position {pos} is not a dealer holding this node's share of the old set"
            )));
        }
        (None, Some(_)) => {
            return Err(DkgError::NotAParticipant(format!(
                "position {pos} is a dealer, and this node holds no share of the old set"
            )));
        }
    }
    start(params, pos, signing, Some((set, share)), rng)
}

fn start<R: rand_core::CryptoRng + ?Sized>(
    params: SessionParams,
    index: u16,
    signing: PrivateKey,
    previous: Option<(TrusteeSet, Option<VerifiedKeyShare>)>,
    rng: &mut R,
) -> Result<(Round1State, Round1), DkgError> {
    params.validate()?;
    if params.key_of(index) != Some(&signing.public()) {
        return Err(DkgError::NotAParticipant(format!(
            "participant {index}'s key in the parameters is not this node's signing key"
        )));
    }
    let session = params.session_id();
    let k = if params.deals(index) {
        usize::from(params.threshold)
    } else {
        0
    };
    let (previous, old_share) = match previous {
        Some((set, share)) => (Some(set), share),
        None => (None, None),
    };
    let coeffs: Vec<SecretScalar> = (0..k)
        .map(|t| match (t, params.kind, &old_share) {
            (0, CeremonyKind::Refresh, _) => SecretScalar::new(Scalar::ZERO),
            (0, CeremonyKind::Reshare, Some(s)) => SecretScalar::new(*s.secret()),
            _ => SecretScalar::new(group::random_scalar(rng)),
        })
        .collect();
    // a reshare dealer's share is its polynomial's constant term, not added again
    let old_share = old_share.filter(|_| params.kind == CeremonyKind::Refresh);
    let skip = usize::from(params.kind == CeremonyKind::Refresh);
    let commitments = coeffs
        .iter()
        .skip(skip)
        .map(|a| Point::new(ProjectivePoint::mul_by_generator(a.expose()), "commitment"))
        .collect::<Result<Vec<_>, _>>()?;
    let pop = match (params.kind, coeffs.first(), commitments.first()) {
        (CeremonyKind::Keygen, Some(a0), Some(c0)) => Some(schnorr_prove(
            DST_POP,
            &session,
            index,
            a0.expose(),
            c0.inner(),
            rng,
        )),
        _ => None,
    };
    let ephemeral = SecretScalar::new(group::random_scalar(rng));
    let e_pub = Point::new(
        ProjectivePoint::mul_by_generator(ephemeral.expose()),
        "ephemeral",
    )?;
    let ephemeral_proof = schnorr_prove(
        DST_EPHEMERAL,
        &session,
        index,
        ephemeral.expose(),
        e_pub.inner(),
        rng,
    );
    let mut own = Round1 {
        version: V1::default(),
        session,
        sender: index,
        commitments,
        pop,
        ephemeral: e_pub,
        ephemeral_proof,
        signature: Vec::new(),
    };
    own.signature = signing.sign(&own.signed_bytes());
    Ok((
        Round1State {
            params,
            session,
            index,
            signing,
            coeffs,
            ephemeral,
            own: own.clone(),
            previous,
            old_share,
        },
        own,
    ))
}

/// A participant after round 2.
pub struct Round2State {
    inner: Round1State,
    r1: Vec<Round1>,
    r1_digest: Digest32,
    set: TrusteeSet,
    own: Round2,
}

/// Its secrets are its [`Round1State`]'s.
impl zeroize::ZeroizeOnDrop for Round2State {}

impl core::fmt::Debug for Round2State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "dkg::Round2State {{ {:?} }}", self.inner)
    }
}

impl Round1State {
    /// Session id.
    pub fn session(&self) -> Digest32 {
        self.session
    }

    /// Round 2: check every round-1 message (any fault aborts, naming the culprits), then
    /// encrypt this participant's share for every other participant.
    pub fn round2(self, r1: Vec<Round1>) -> Result<(Round2State, Round2), DkgError> {
        let mut faults = check_round1(&self.params, &r1);
        if faults.is_empty() && r1.get(usize::from(self.index) - 1) != Some(&self.own) {
            faults.push(fault(self.index, FaultKind::ViewMismatch { round: 1 }));
        }
        if !faults.is_empty() {
            return Err(DkgError::Aborted(faults));
        }
        // the set is public once round 1 is in: a reshare dealer whose constant term is not
        // its old share is named before anyone deals
        let set = resulting_set(&self.params, &r1, self.previous.as_ref())?;
        let r1_digest = round1_digest(&r1);
        let recipients = self.params.recipients_of(self.index);
        let mut shares = Vec::with_capacity(recipients.len());
        for j in recipients {
            let Some(m) = r1.get(usize::from(j) - 1) else {
                continue;
            };
            let Some(x) = self.params.receiver_index(j) else {
                continue;
            };
            let k = *m.ephemeral.inner() * self.ephemeral.expose();
            let key = share_key(
                &self.session,
                self.index,
                j,
                &self.own.ephemeral,
                &m.ephemeral,
                &k,
            )?;
            let s = Zeroizing::new(scalar_to_bytes(&eval_secret(&self.coeffs, x)));
            let ciphertext = seal_once(&key, s.as_ref(), &share_aad(&self.session, self.index, j))?;
            shares.push(SealedShare {
                recipient: j,
                ciphertext,
            });
        }
        let mut own = Round2 {
            version: V1::default(),
            session: self.session,
            sender: self.index,
            round1: r1_digest,
            shares,
            signature: Vec::new(),
        };
        own.signature = self.signing.sign(&own.signed_bytes());
        Ok((
            Round2State {
                inner: self,
                r1,
                r1_digest,
                set,
                own: own.clone(),
            },
            own,
        ))
    }
}

/// A participant after round 3: its new share (not yet usable), the set, the transcript.
pub struct Round3State {
    inner: Round1State,
    r1: Vec<Round1>,
    r2: Vec<Round2>,
    transcript: Digest32,
    set: TrusteeSet,
    share: Option<SecretScalar>,
    own: Round3,
}

/// Its secrets, its [`Round1State`]'s and the new share, zeroize themselves on drop.
impl zeroize::ZeroizeOnDrop for Round3State {}

impl core::fmt::Debug for Round3State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "dkg::Round3State {{ {:?}, transcript: {} }}",
            self.inner,
            self.transcript.short()
        )
    }
}

impl Round2State {
    /// Round 3: check every round-2 message, open and check this participant's shares.
    /// Every bad share becomes a complaint; with none, the participant signs the certificate.
    pub fn round3<R: rand_core::CryptoRng + ?Sized>(
        self,
        r2: Vec<Round2>,
        rng: &mut R,
    ) -> Result<(Round3State, Round3), DkgError> {
        let st = &self.inner;
        let mut faults = check_round2(&st.params, &self.r1_digest, &r2);
        if faults.is_empty() && r2.get(usize::from(st.index) - 1) != Some(&self.own) {
            faults.push(fault(st.index, FaultKind::ViewMismatch { round: 2 }));
        }
        if !faults.is_empty() {
            return Err(DkgError::Aborted(faults));
        }
        let transcript = transcript_digest(&st.session, &self.r1_digest, &round2_digest(&r2));
        let set = self.set;
        // the weight of each dealer's share: 1, or a reshare's Lagrange coefficient
        let dealers: Vec<u16> = (1..=st.params.parties() as u16)
            .filter(|&p| st.params.deals(p))
            .collect();
        let weights = match st.params.kind {
            CeremonyKind::Reshare => {
                let ids: Vec<u16> = st.params.dealers.iter().map(|d| d.index).collect();
                group::lagrange_at_zero(&ids)?
            }
            _ => vec![Scalar::ONE; dealers.len()],
        };
        let receiver = st.params.receiver_index(st.index);
        let mut sum = SecretScalar::new(Scalar::ZERO);
        if let (Some(x), true) = (receiver, st.params.deals(st.index)) {
            sum = SecretScalar::new(eval_secret(&st.coeffs, x));
        }
        let mut complaints = Vec::new();
        for (&i, w) in dealers.iter().zip(&weights) {
            if i == st.index || receiver.is_none() {
                continue;
            }
            let Some(m) = self.r1.get(usize::from(i) - 1) else {
                continue;
            };
            let k = *m.ephemeral.inner() * st.ephemeral.expose();
            match open_share(&st.params, &st.session, &self.r1, &r2, i, st.index, &k) {
                Some(s) => sum = SecretScalar::new(*sum.expose() + *s.expose() * w),
                None => {
                    let own_e = st.own.ephemeral;
                    let dleq = Dleq {
                        session: &st.session,
                        complainer: st.index,
                        accused: i,
                        e_c: own_e.inner(),
                        e_a: m.ephemeral.inner(),
                        k: &k,
                    };
                    complaints.push(Complaint {
                        accused: i,
                        shared: Point::new(k, "shared")?,
                        proof: dleq.prove(st.ephemeral.expose(), rng),
                    });
                }
            }
        }
        if let Some(old) = &st.old_share {
            sum = SecretScalar::new(*sum.expose() + old.secret());
        }
        let share = match receiver {
            Some(x) if complaints.is_empty() => {
                let x_i = set.member(x)?.verification_key;
                if ProjectivePoint::mul_by_generator(sum.expose()) != *x_i.inner() {
                    // Unreachable when every share checked out; fail closed.
                    return Err(DkgError::Core(Error::BadKeyShare { trustee: x }));
                }
                Some(sum)
            }
            _ => None,
        };
        let mut own = Round3 {
            version: V1::default(),
            session: st.session,
            sender: st.index,
            transcript,
            set_id: set.id(),
            complaints,
            signature: Vec::new(),
        };
        own.signature = st.signing.sign(&own.signed_bytes());
        Ok((
            Round3State {
                inner: self.inner,
                r1: self.r1,
                r2,
                transcript,
                set,
                share,
                own: own.clone(),
            },
            own,
        ))
    }
}

/// A participant's result of a successful ceremony: the set, the certificate, and its own
/// share of the set (to be sealed and stored; its Feldman check already passed).
#[derive(Debug)]
pub struct DkgOutput {
    /// The resulting set.
    pub set: TrusteeSet,
    /// The success certificate.
    pub certificate: Certificate,
    /// This participant's share of the set (`None` for a reshare's dealer: it receives
    /// nothing and is no trustee of the new set).
    pub share: Option<VerifiedKeyShare>,
}

impl Round3State {
    /// The transcript digest this participant computed.
    pub fn transcript(&self) -> Digest32 {
        self.transcript
    }

    /// The set this participant computed.
    pub fn set(&self) -> &TrusteeSet {
        &self.set
    }

    /// Finalise: check every round-3 message. Any complaint is judged (the accused or the
    /// complainer is named) and the run aborts; with none, the certificate is assembled and
    /// checked and the participant's share is released.
    pub fn finalise(self, r3: Vec<Round3>) -> Result<DkgOutput, DkgError> {
        let st = &self.inner;
        let mut faults = check_round3(&st.params, &self.transcript, &self.set.id(), &r3);
        if faults.is_empty() && r3.get(usize::from(st.index) - 1) != Some(&self.own) {
            faults.push(fault(st.index, FaultKind::ViewMismatch { round: 3 }));
        }
        if !faults.is_empty() {
            return Err(DkgError::Aborted(faults));
        }
        let mut judged = Vec::new();
        for m in &r3 {
            for c in &m.complaints {
                let f = judge_complaint(&st.params, &self.r1, &self.r2, m.sender, c);
                if !judged.contains(&f) {
                    judged.push(f);
                }
            }
        }
        if !judged.is_empty() {
            return Err(DkgError::Aborted(judged));
        }
        let certificate = assemble_certificate(&st.params, &self.set, &self.transcript, &r3)?;
        let share = match (st.params.receiver_index(st.index), &self.share) {
            (Some(x), Some(s)) => Some(self.set.verify_share(KeyShare::new(
                self.set.id(),
                x,
                s.clone(),
            ))?),
            _ => None,
        };
        Ok(DkgOutput {
            set: self.set,
            certificate,
            share,
        })
    }
}

/// The ceremony endpoints of a trustee node (`docs/api.md` §Ceremony) and their bodies.
pub mod wire {
    use super::{DkgError, Round1, Round2, Round3};
    use crate::codec::{Digest32, SetId, V1};
    use crate::keys::PublicKey;
    use serde::{Deserialize, Serialize};

    /// `GET`: [`Identity`].
    pub const IDENTITY: &str = "/v1/ceremony/identity";
    /// `POST` [`super::SessionParams`] → [`Round1`] (signed request).
    pub const ROUND1: &str = "/v1/ceremony/dkg/round1";
    /// `POST` [`Relay`] of [`Round1`] → [`Round2`] (signed request).
    pub const ROUND2: &str = "/v1/ceremony/dkg/round2";
    /// `POST` [`Relay`] of [`Round2`] → [`Round3`] (signed request).
    pub const ROUND3: &str = "/v1/ceremony/dkg/round3";
    /// `POST` [`Relay`] of [`Round3`] → [`Finalised`] (signed request).
    pub const FINALISE: &str = "/v1/ceremony/dkg/finalise";
    /// `POST` [`ReshareStart`] → [`Round1`] (signed request); the later rounds of a reshare
    /// use [`ROUND2`], [`ROUND3`] and [`FINALISE`].
    pub const RESHARE_ROUND1: &str = "/v1/ceremony/reshare/round1";

    /// The first request of a reshare: the parameters and the old set (`trustee-set.json`
    /// as a JSON value; the new trustees have no copy of their own).
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ReshareStart {
        /// Format version.
        pub version: V1,
        /// The session parameters (`kind` reshare).
        pub params: super::SessionParams,
        /// The set being reshared.
        pub previous: serde_json::Value,
    }

    /// A node waiting for a ceremony: its signing key.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Identity {
        /// Format version: 1, or 2 exactly when `holder` is present.
        pub version: u32,
        /// The node's ECDSA signing key (it becomes its `signing_key` in the set).
        pub signing_key: PublicKey,
        /// Version 2: the organisation and jurisdiction the node was made with
        /// (`trustee-node init --dkg --organisation --jurisdiction`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub holder: Option<crate::trustee::Holder>,
    }

    impl Identity {
        /// A node's identity (version 2 when it names its holder).
        pub fn new(signing_key: PublicKey, holder: Option<crate::trustee::Holder>) -> Self {
            Identity {
                version: if holder.is_some() { 2 } else { 1 },
                signing_key,
                holder,
            }
        }

        /// The holder, after checking the version and the labels.
        pub fn checked_holder(&self) -> Result<Option<&crate::trustee::Holder>, DkgError> {
            match (self.version, &self.holder) {
                (1, None) => Ok(None),
                (2, Some(h)) => {
                    h.check()
                        .map_err(|e| DkgError::InvalidParams(format!("identity: {e}")))?;
                    Ok(Some(h))
                }
                (v, h) => Err(DkgError::InvalidParams(format!(
                    "identity version {v} {} a holder",
                    if h.is_some() { "with" } else { "without" }
                ))),
            }
        }
    }

    /// Every participant's message of one round, relayed (index order).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Relay<T> {
        /// Format version.
        pub version: V1,
        /// Session id.
        pub session: Digest32,
        /// The messages, participant 1 first.
        pub messages: Vec<T>,
    }

    /// Relayed round-1 messages.
    pub type Relay1 = Relay<Round1>;
    /// Relayed round-2 messages.
    pub type Relay2 = Relay<Round2>;
    /// Relayed round-3 messages.
    pub type Relay3 = Relay<Round3>;

    /// A node's answer to the finalise step: it stored its share and logged the keygen (a
    /// reshare's dealer: it destroyed its old share and logged that).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Finalised {
        /// Format version.
        pub version: V1,
        /// The node's trustee index in the resulting set (a reshare's dealer: its position
        /// in the ceremony).
        pub trustee: u16,
        /// The set id.
        pub set_id: SetId,
        /// The transcript digest it logged.
        pub transcript: Digest32,
    }
}
