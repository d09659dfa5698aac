//! A trustee's v2 answer (`docs/protocol.md` §15.4–15.6): the shares `d_j = x_i·u_j` of all the
//! ciphertexts it releases for one request, one Chaum–Pedersen proof for all of them, sealed to
//! the investigator with one ECDH.
//!
//! ```text
//! seed = T(TAG_COMPOSITE_SEED, set_id ‖ u16be(i) ‖ W ‖ R ‖ SEC1c(X_i) ‖ u32be(m)
//!          ‖ for j: u32be(pos_j) ‖ ct_digest_j ‖ SEC1c(d_j))
//! c_j  = int(T(TAG_COMPOSITE_WEIGHT, seed ‖ u32be(j))[0..16])          128-bit weights
//! M = Σ c_j u_j,   Z = Σ c_j d_j  (= x_i·M; the trustee computes it so)
//! t <- random;  a = t·M;  b = t·G
//! e = H(DST_ANSWER_DLEQ, seed ‖ SEC1c(M) ‖ SEC1c(Z) ‖ SEC1c(a) ‖ SEC1c(b));  z = t + x_i·e
//! ε <- random;  E = ε·G;  S = x(ε·P_inv)
//! K_j = HKDF(salt = R, ikm = S, info = INFO_ANSWER_SHARE ‖ set_id ‖ u16be(i) ‖ W ‖ R
//!            ‖ SEC1c(E) ‖ SEC1c(P_inv) ‖ u32be(pos_j))
//! box_j = GCM(K_j, SEC1c(d_j), aad = ct_digest_j)                        49 bytes
//! ```
//!
//! W is the warrant digest, R the request digest ([`request_digest`]), P_inv the investigator's
//! key. The proof (e, z) travels in the clear beside the boxes; the weights hash the whole
//! transcript, so a trustee that changes any d_j (or any binding) fails the proof except with
//! probability about 2^-128, and then the whole answer is refused, naming the trustee. Each
//! share has its own key, so one K_j can be disclosed (to an auditor) without the others.

use super::{Reader, VERSION_BYTE, ValidCiphertextV2, weights128};
use crate::codec::WarrantDigest;
use crate::codec::{CiphertextDigest, Digest32, SetId};
use crate::ecies::{open_once, seal_once};
use crate::error::{Error, Result};
use crate::group::{self, Point, scalar_to_bytes};
use crate::keys::{PrivateKey, PublicKey};
use crate::secret::{MessageKey, SecretScalar};
use crate::trustee::{TrusteeSet, VerifiedKeyShare};
use hkdf::Hkdf;
use p256::elliptic_curve::group::Group as _;
use p256::{ProjectivePoint, Scalar};
use sha2::Sha256;
use std::collections::BTreeSet;
use zeroize::Zeroizing;

/// Tag of the request digest.
pub const TAG_REQUEST_DIGEST_V2: &str = "escrow/v2/request-digest";
/// Tag of the seed of the composite weights (the whole transcript).
pub const TAG_COMPOSITE_SEED: &str = "escrow/v2/answer-composite-seed";
/// Tag of the composite weights.
pub const TAG_COMPOSITE_WEIGHT: &str = "escrow/v2/answer-composite-weight";
/// DST of the answer's proof challenge.
pub const DST_ANSWER_DLEQ: &str = "ESCROW-V2-ANSWER-DLEQ-CHALLENGE_P256_XMD:SHA-256";
/// HKDF info prefix of the per-share keys.
pub const INFO_ANSWER_SHARE: &[u8] = b"escrow/v2/answer-share";
/// Tag of a v2 share digest (as logged).
pub const TAG_SHARE_DIGEST_V2: &str = "escrow/v2/share-digest";
/// Length of a share box: SEC1c(d) (33) + GCM tag (16).
pub const BOX_LEN: usize = 49;
/// Fixed part of the binary answer, bytes.
pub const ANSWER_HEADER_LEN: usize = 1 + 32 + 2 + 32 + 32 + 33 + 32 + 32 + 4;
/// Bytes per released share in the binary answer.
pub const ANSWER_SHARE_LEN: usize = 4 + BOX_LEN;

/// `R = T("escrow/v2/request-digest", W ‖ u32be(n) ‖ ct_digest_1 ‖ … ‖ ct_digest_n)`: the
/// request as the trustee received it, in order.
pub fn request_digest(warrant: &WarrantDigest, ciphertexts: &[CiphertextDigest]) -> Digest32 {
    let mut m = Vec::with_capacity(36 + 32 * ciphertexts.len());
    m.extend_from_slice(warrant.as_bytes());
    m.extend_from_slice(&(ciphertexts.len() as u32).to_be_bytes());
    for d in ciphertexts {
        m.extend_from_slice(d.as_bytes());
    }
    Digest32::tagged(TAG_REQUEST_DIGEST_V2, &[&m])
}

/// An answer or signed response that names warrant digest `w` and request digest `r` answers
/// the request `request` (its checked ciphertexts, in request order) under `warrant`.
pub(crate) fn answers_request(
    w: &WarrantDigest,
    r: &Digest32,
    warrant: &WarrantDigest,
    request: &[ValidCiphertextV2],
) -> bool {
    let digests: Vec<CiphertextDigest> = request.iter().map(ValidCiphertextV2::digest).collect();
    *w == *warrant && *r == request_digest(warrant, &digests)
}

/// One sealed share: its position in the request and its box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareBoxV2 {
    /// Position of the ciphertext in the request (0-based).
    pub position: u32,
    /// `GCM(K_j, SEC1c(d_j), aad = ct_digest_j)`.
    pub sealed: [u8; BOX_LEN],
}

/// A trustee's v2 answer, as sent (binary, [`AnswerV2::to_bytes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerV2 {
    /// The trustee set.
    pub set_id: SetId,
    /// Trustee index i.
    pub trustee: u16,
    /// Warrant digest W.
    pub warrant: WarrantDigest,
    /// Request digest R.
    pub request: Digest32,
    /// Ephemeral ECDH key E.
    pub ephemeral: Point,
    /// Proof challenge e.
    pub e: Scalar,
    /// Proof response z.
    pub z: Scalar,
    /// The released shares, in increasing position order (at least one).
    pub shares: Vec<ShareBoxV2>,
}

impl AnswerV2 {
    /// `u8(2) ‖ set_id ‖ u16be(i) ‖ W ‖ R ‖ SEC1c(E) ‖ S32(e) ‖ S32(z) ‖ u32be(m)
    /// ‖ m × (u32be(pos_j) ‖ box_j)`: 200 + 53·m bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ANSWER_HEADER_LEN + ANSWER_SHARE_LEN * self.shares.len());
        out.push(VERSION_BYTE);
        out.extend_from_slice(self.set_id.as_bytes());
        out.extend_from_slice(&self.trustee.to_be_bytes());
        out.extend_from_slice(self.warrant.as_bytes());
        out.extend_from_slice(self.request.as_bytes());
        out.extend_from_slice(&self.ephemeral.to_bytes());
        out.extend_from_slice(&scalar_to_bytes(&self.e));
        out.extend_from_slice(&scalar_to_bytes(&self.z));
        out.extend_from_slice(&(self.shares.len() as u32).to_be_bytes());
        for s in &self.shares {
            out.extend_from_slice(&s.position.to_be_bytes());
            out.extend_from_slice(&s.sealed);
        }
        out
    }

    /// A JSON view for inspection (`--json` views, logs of tests), never parsed back:
    /// `{"version":2,"set_id","trustee","warrant","request","ephemeral","e","z",
    /// "shares":[{"position","box"}]}` with hex digests, points, scalars and boxes.
    pub fn to_json_view(&self) -> serde_json::Value {
        serde_json::json!({
            "version": VERSION_BYTE,
            "set_id": self.set_id.to_hex(),
            "trustee": self.trustee,
            "warrant": self.warrant.to_hex(),
            "request": self.request.to_hex(),
            "ephemeral": self.ephemeral.to_hex(),
            "e": hex::encode(scalar_to_bytes(&self.e)),
            "z": hex::encode(scalar_to_bytes(&self.z)),
            "shares": self
                .shares
                .iter()
                .map(|s| serde_json::json!({"position": s.position, "box": hex::encode(s.sealed)}))
                .collect::<Vec<_>>(),
        })
    }

    /// Decode [`Self::to_bytes`]; at most `max_shares` shares. Another version byte is refused
    /// with [`Error::UnsupportedVersion`].
    pub fn from_bytes(bytes: &[u8], max_shares: usize) -> Result<Self> {
        let mut r = Reader::new(bytes, "v2 answer");
        r.version()?;
        let set_id = SetId::from_bytes(r.digest()?.0);
        let trustee = r.u16()?;
        let warrant = WarrantDigest::from_bytes(r.digest()?.0);
        let request = r.digest()?;
        let ephemeral = r.point("ephemeral")?;
        let e = r.scalar("e")?;
        let z = r.scalar("z")?;
        let m = r.u32()? as usize;
        if m > max_shares {
            return Err(Error::malformed("v2 answer", "too many shares"));
        }
        let mut shares = Vec::with_capacity(m);
        for _ in 0..m {
            shares.push(ShareBoxV2 {
                position: r.u32()?,
                sealed: r.array()?,
            });
        }
        r.end()?;
        Ok(AnswerV2 {
            set_id,
            trustee,
            warrant,
            request,
            ephemeral,
            e,
            z,
            shares,
        })
    }
}

/// What [`make_answer`] returns: the answer and, per released share, its digest for the log.
#[derive(Clone, Debug)]
pub struct SealedAnswer {
    /// The answer.
    pub answer: AnswerV2,
    /// `(position, share digest)` per released share, in answer order.
    pub share_digests: Vec<(u32, Digest32)>,
}

/// `T("escrow/v2/share-digest", set_id ‖ u16be(i) ‖ W ‖ ct_digest ‖ SEC1c(d))`.
pub fn share_digest_v2(
    set_id: &SetId,
    trustee: u16,
    warrant: &WarrantDigest,
    ciphertext: &CiphertextDigest,
    d_enc: &[u8; 33],
) -> Digest32 {
    Digest32::tagged(
        TAG_SHARE_DIGEST_V2,
        &[
            set_id.as_bytes(),
            &trustee.to_be_bytes(),
            warrant.as_bytes(),
            ciphertext.as_bytes(),
            d_enc,
        ],
    )
}

struct Transcript<'a> {
    set_id: &'a SetId,
    trustee: u16,
    warrant: &'a WarrantDigest,
    request: &'a Digest32,
    x_i: &'a [u8; 33],
}

impl Transcript<'_> {
    /// The seed of the composite weights, over every released share.
    fn seed(&self, items: &[(u32, CiphertextDigest, [u8; 33])]) -> Digest32 {
        let mut m = Vec::with_capacity(32 * 3 + 2 + 33 + 4 + 69 * items.len());
        m.extend_from_slice(self.set_id.as_bytes());
        m.extend_from_slice(&self.trustee.to_be_bytes());
        m.extend_from_slice(self.warrant.as_bytes());
        m.extend_from_slice(self.request.as_bytes());
        m.extend_from_slice(self.x_i);
        m.extend_from_slice(&(items.len() as u32).to_be_bytes());
        for (pos, digest, d) in items {
            m.extend_from_slice(&pos.to_be_bytes());
            m.extend_from_slice(digest.as_bytes());
            m.extend_from_slice(d);
        }
        Digest32::tagged(TAG_COMPOSITE_SEED, &[&m])
    }

    fn key_prk(
        &self,
        shared_x: &[u8],
        e_enc: &[u8; 33],
        inv_enc: &[u8; 33],
    ) -> (Hkdf<Sha256>, Vec<u8>) {
        let hk = Hkdf::<Sha256>::new(Some(self.request.as_bytes()), shared_x);
        let mut info = Vec::with_capacity(INFO_ANSWER_SHARE.len() + 32 * 3 + 2 + 66 + 4);
        info.extend_from_slice(INFO_ANSWER_SHARE);
        info.extend_from_slice(self.set_id.as_bytes());
        info.extend_from_slice(&self.trustee.to_be_bytes());
        info.extend_from_slice(self.warrant.as_bytes());
        info.extend_from_slice(self.request.as_bytes());
        info.extend_from_slice(e_enc);
        info.extend_from_slice(inv_enc);
        (hk, info)
    }
}

fn share_key(hk: &Hkdf<Sha256>, info: &mut Vec<u8>, pos: u32) -> Result<Zeroizing<[u8; 32]>> {
    let base = info.len();
    info.extend_from_slice(&pos.to_be_bytes());
    let mut k = Zeroizing::new([0u8; 32]);
    let r = hk.expand(info, k.as_mut());
    info.truncate(base);
    r.map_err(|_| Error::malformed("v2 answer", "hkdf output length"))?;
    Ok(k)
}

pub(super) fn composite_weights(seed: &Digest32, m: usize) -> Vec<Scalar> {
    (0..m as u32)
        .map(|j| weights128(TAG_COMPOSITE_WEIGHT, seed, j).0)
        .collect()
}

fn challenge(seed: &Digest32, pts: &[ProjectivePoint; 4]) -> Scalar {
    let enc = group::sec1c_batch(pts);
    let mut m = Vec::with_capacity(32 + 4 * 33);
    m.extend_from_slice(seed.as_bytes());
    for p in &enc {
        m.extend_from_slice(p);
    }
    group::hash_to_scalar(DST_ANSWER_DLEQ, &[&m])
}

/// Items from which a request's shares are spread over the cores.
const PARALLEL_MIN: usize = 64;

/// `x·u_j` for every item, in order: one constant-time multiplication each, spread over the
/// available cores (scoped threads over contiguous chunks) for a large request.
fn multiply_all(
    trustee: u16,
    x: &Scalar,
    items: &[(u32, &ValidCiphertextV2)],
) -> Result<Vec<ProjectivePoint>> {
    let one = |c: &[(u32, &ValidCiphertextV2)]| -> Vec<ProjectivePoint> {
        let us: Vec<ProjectivePoint> = c.iter().map(|(_, ct)| *ct.ciphertext().u.inner()).collect();
        group::mul_each(x, &us)
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < PARALLEL_MIN {
        return Ok(one(items));
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || one(c)))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            out.extend(h.join().map_err(|_| Error::BadAnswer {
                trustee,
                why: "a share computation failed".into(),
            })?);
        }
        Ok(out)
    })
}

/// Trustee i's shares `d_j = x_i·u_j` for the items of one request it may release, computed
/// before anything is decided: the expensive part of an answer (one constant-time
/// multiplication per item, on every core for a large request), so that a node can compute
/// without holding its database lock, then decide and log ([`Self::share_digest`]), keep
/// exactly the items it released ([`Self::select`]) and seal them ([`Self::seal`]).
pub struct ComputedShares<'a> {
    key: &'a VerifiedKeyShare,
    /// (position, ciphertext, d), positions strictly increasing.
    items: Vec<(u32, &'a ValidCiphertextV2, ProjectivePoint)>,
}

impl<'a> ComputedShares<'a> {
    /// The shares of `released` (positions strictly increasing, ciphertexts checked and of
    /// the key's set); may be empty.
    pub fn compute(
        key: &'a VerifiedKeyShare,
        released: &[(u32, &'a ValidCiphertextV2)],
    ) -> Result<Self> {
        let mut last = None;
        for (pos, ct) in released {
            if last.is_some_and(|l| *pos <= l) {
                return Err(Error::BadAnswer {
                    trustee: key.index(),
                    why: "positions must be strictly increasing".into(),
                });
            }
            last = Some(*pos);
            if ct.checked_for() != key.set_id() {
                return Err(Error::CiphertextForOtherSet {
                    found: ct.ciphertext().set_id.short(),
                    expected: key.set_id().short(),
                });
            }
        }
        let ds = multiply_all(key.index(), key.secret(), released)?;
        Ok(ComputedShares {
            key,
            items: released
                .iter()
                .zip(ds)
                .map(|((pos, ct), d)| (*pos, *ct, d))
                .collect(),
        })
    }

    /// The positions computed, in order.
    pub fn positions(&self) -> Vec<u32> {
        self.items.iter().map(|(p, _, _)| *p).collect()
    }

    /// `(position, logged share digest)` of every share under warrant digest `warrant`
    /// (§15.6), in order.
    pub fn share_digests(&self, warrant: &WarrantDigest) -> Vec<(u32, Digest32)> {
        let ds: Vec<ProjectivePoint> = self.items.iter().map(|(_, _, d)| *d).collect();
        let set_id = self.key.set_id();
        self.items
            .iter()
            .zip(group::sec1c_vec(&ds))
            .map(|((pos, ct, _), enc)| {
                (
                    *pos,
                    share_digest_v2(&set_id, self.key.index(), warrant, &ct.digest(), &enc),
                )
            })
            .collect()
    }

    /// Exactly the items `released` (positions strictly increasing): the shares already
    /// computed are kept, any other is computed now (what the limit refuses is dropped).
    pub fn select(&self, released: &[(u32, &'a ValidCiphertextV2)]) -> Result<Self> {
        let missing: Vec<(u32, &'a ValidCiphertextV2)> = released
            .iter()
            .filter(|(p, _)| self.items.binary_search_by_key(p, |(q, _, _)| *q).is_err())
            .copied()
            .collect();
        let extra = ComputedShares::compute(self.key, &missing)?;
        let mut items = Vec::with_capacity(released.len());
        for (pos, ct) in released {
            let from = |v: &[(u32, &'a ValidCiphertextV2, ProjectivePoint)]| {
                v.binary_search_by_key(pos, |(q, _, _)| *q)
                    .ok()
                    .and_then(|i| v.get(i).map(|(_, _, d)| *d))
            };
            let d = from(&self.items)
                .or_else(|| from(&extra.items))
                .ok_or_else(|| Error::BadAnswer {
                    trustee: self.key.index(),
                    why: "positions must be strictly increasing".into(),
                })?;
            items.push((*pos, *ct, d));
        }
        // The order and the set are checked by `compute` on the missing ones; check all.
        if items.windows(2).any(|w| matches!(w, [a, b] if a.0 >= b.0)) {
            return Err(Error::BadAnswer {
                trustee: self.key.index(),
                why: "positions must be strictly increasing".into(),
            });
        }
        Ok(ComputedShares {
            key: self.key,
            items,
        })
    }

    /// No item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The `(position, ciphertext)` of every item, in order.
    pub fn released(&self) -> Vec<(u32, &'a ValidCiphertextV2)> {
        self.items.iter().map(|(p, ct, _)| (*p, *ct)).collect()
    }

    /// The answer (§15.5, §15.6) for these shares, bound to W and R and sealed to
    /// `investigator`.
    pub fn seal<R: rand_core::CryptoRng + ?Sized>(
        &self,
        warrant: &WarrantDigest,
        request: &Digest32,
        investigator: &PublicKey,
        rng: &mut R,
    ) -> Result<SealedAnswer> {
        if self.items.is_empty() {
            return Err(Error::BadAnswer {
                trustee: self.key.index(),
                why: "an answer releases at least one share".into(),
            });
        }
        let released = self.released();
        let ds: Vec<ProjectivePoint> = self.items.iter().map(|(_, _, d)| *d).collect();
        seal_answer(
            self.key,
            warrant,
            request,
            &released,
            &ds,
            investigator,
            rng,
        )
    }
}

/// Trustee i's answer: for each `(position, ciphertext)` it releases (positions strictly
/// increasing, ciphertexts checked and of its own set), `d_j = x_i·u_j`, one proof for all,
/// sealed to `investigator` and bound to the warrant digest W and request digest R
/// ([`ComputedShares::compute`] then [`ComputedShares::seal`]).
pub fn make_answer<R: rand_core::CryptoRng + ?Sized>(
    key: &VerifiedKeyShare,
    warrant: &WarrantDigest,
    request: &Digest32,
    released: &[(u32, &ValidCiphertextV2)],
    investigator: &PublicKey,
    rng: &mut R,
) -> Result<SealedAnswer> {
    if released.is_empty() {
        return Err(Error::BadAnswer {
            trustee: key.index(),
            why: "an answer releases at least one share".into(),
        });
    }
    ComputedShares::compute(key, released)?.seal(warrant, request, investigator, rng)
}

/// The answer for the given shares `ds`, one per released item, with the proof made for
/// `Z = x_i·M` whatever `ds` are: an honest trustee's `ds` are `x_i·u_j` ([`make_answer`]
/// computes them); any other share fails the proof and names this trustee. The positions and
/// the set of `released` are checked by [`make_answer`], not here.
#[allow(clippy::too_many_arguments)]
pub fn seal_answer<R: rand_core::CryptoRng + ?Sized>(
    key: &VerifiedKeyShare,
    warrant: &WarrantDigest,
    request: &Digest32,
    released: &[(u32, &ValidCiphertextV2)],
    ds: &[ProjectivePoint],
    investigator: &PublicKey,
    rng: &mut R,
) -> Result<SealedAnswer> {
    let x = key.secret();
    let set_id = key.set_id();
    if ds.len() != released.len() {
        return Err(Error::BadAnswer {
            trustee: key.index(),
            why: "one share per released ciphertext".into(),
        });
    }
    let d_enc = group::sec1c_vec(ds);
    let items: Vec<(u32, CiphertextDigest, [u8; 33])> = released
        .iter()
        .zip(&d_enc)
        .map(|((pos, ct), d)| (*pos, ct.digest(), *d))
        .collect();
    let x_i = key.verification_key().to_bytes();
    let tr = Transcript {
        set_id: &set_id,
        trustee: key.index(),
        warrant,
        request,
        x_i: &x_i,
    };
    let seed = tr.seed(&items);
    let c = composite_weights(&seed, items.len());
    let terms: Vec<(ProjectivePoint, Scalar)> = released
        .iter()
        .zip(&c)
        .map(|((_, ct), c)| (*ct.ciphertext().u.inner(), *c))
        .collect();
    let m_pt = group::msm_vartime(&terms); // public: the u_j and the weights
    let z_pt = m_pt * x;
    let t = SecretScalar::new(group::random_scalar(rng));
    let a = m_pt * t.expose();
    let b = ProjectivePoint::mul_by_generator(t.expose());
    let e = challenge(&seed, &[m_pt, z_pt, a, b]);
    let z = *t.expose() + *x * e;
    // One ECDH with the investigator's key.
    let (e_pub, shared_x) = crate::ecies::ephemeral_exchange(investigator, rng)?;
    let (hk, mut info) = tr.key_prk(
        shared_x.as_slice(),
        &e_pub.to_bytes(),
        &investigator.point().to_bytes(),
    );
    let mut shares = Vec::with_capacity(items.len());
    let mut share_digests = Vec::with_capacity(items.len());
    for (pos, digest, d) in &items {
        let k = share_key(&hk, &mut info, *pos)?;
        let sealed = seal_once(&k, d, digest.as_bytes())?;
        let sealed: [u8; BOX_LEN] = sealed
            .try_into()
            .map_err(|_| Error::malformed("v2 answer", "box length"))?;
        shares.push(ShareBoxV2 {
            position: *pos,
            sealed,
        });
        share_digests.push((
            *pos,
            share_digest_v2(&set_id, key.index(), warrant, digest, d),
        ));
    }
    Ok(SealedAnswer {
        answer: AnswerV2 {
            set_id,
            trustee: key.index(),
            warrant: *warrant,
            request: *request,
            ephemeral: e_pub,
            e,
            z,
            shares,
        },
        share_digests,
    })
}

/// One share of a verified answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedShareV2 {
    /// Trustee index.
    pub trustee: u16,
    /// Position in the request.
    pub position: u32,
    /// Digest of the ciphertext.
    pub ciphertext: CiphertextDigest,
    /// `d = x_i·u`.
    pub d: Point,
    set_id: SetId,
}

impl VerifiedShareV2 {
    /// The share digest a trustee logs for this share (`docs/protocol.md` §15.6): the
    /// investigator compares it with the one its witnessed release entry records.
    pub fn share_digest(&self, warrant: &WarrantDigest) -> Digest32 {
        share_digest_v2(
            &self.set_id,
            self.trustee,
            warrant,
            &self.ciphertext,
            &self.d.to_bytes(),
        )
    }
}

/// An answer whose boxes opened and whose proof passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedAnswer {
    /// Trustee index.
    pub trustee: u16,
    /// The shares, in answer order.
    pub shares: Vec<VerifiedShareV2>,
}

impl AnswerV2 {
    /// The investigator opens and checks an answer to the request `request` (every ciphertext
    /// of it, in request order, each checked) under warrant digest `warrant`: set, trustee,
    /// warrant and request digest; positions; one ECDH; every box; then the one proof. Any
    /// failure refuses the whole answer and names the trustee.
    pub fn open(
        &self,
        key: &PrivateKey,
        set: &TrusteeSet,
        warrant: &WarrantDigest,
        request: &[ValidCiphertextV2],
    ) -> Result<VerifiedAnswer> {
        let trustee = self.trustee;
        let bad = |why: String| Error::BadAnswer { trustee, why };
        let member = set.member_for(&self.set_id, trustee)?;
        if !answers_request(&self.warrant, &self.request, warrant, request) {
            return Err(bad("it answers another warrant or request".into()));
        }
        if self.shares.is_empty() {
            return Err(bad("no shares".into()));
        }
        let mut last = None;
        let mut picked = Vec::with_capacity(self.shares.len());
        for s in &self.shares {
            if last.is_some_and(|l| s.position <= l) {
                return Err(bad("positions are not strictly increasing".into()));
            }
            last = Some(s.position);
            let ct = request
                .get(s.position as usize)
                .ok_or_else(|| bad(format!("position {} is outside the request", s.position)))?;
            picked.push(ct);
        }
        let inv = key.public().point();
        let shared = (key.ecdh_x(&self.ephemeral.inner().to_affine()))
            .ok_or(Error::InvalidPoint { field: "ephemeral" })?;
        let x_i = member.verification_key.to_bytes();
        let tr = Transcript {
            set_id: &self.set_id,
            trustee,
            warrant,
            request: &self.request,
            x_i: &x_i,
        };
        let (hk, mut info) = tr.key_prk(
            shared.as_slice(),
            &self.ephemeral.to_bytes(),
            &inv.to_bytes(),
        );
        let mut items = Vec::with_capacity(self.shares.len());
        let mut ds = Vec::with_capacity(self.shares.len());
        for (s, ct) in self.shares.iter().zip(&picked) {
            let k = share_key(&hk, &mut info, s.position)?;
            let pt = open_once(
                &k,
                &s.sealed,
                ct.digest().as_bytes(),
                "share in a v2 answer",
            )
            .map_err(|_| {
                bad(format!(
                    "the share at position {} does not open",
                    s.position
                ))
            })?;
            let d = Point::from_bytes(&pt, "d").map_err(|_| {
                bad(format!(
                    "the share at position {} is not a point",
                    s.position
                ))
            })?;
            // `pt` is the encoding `d` was decoded from (one spelling per point): no inversion.
            let d_enc: [u8; 33] = pt.as_slice().try_into().map_err(|_| {
                bad(format!(
                    "the share at position {} is not a point",
                    s.position
                ))
            })?;
            items.push((s.position, ct.digest(), d_enc));
            ds.push(d);
        }
        let seed = tr.seed(&items);
        let c = composite_weights(&seed, items.len());
        let m_terms: Vec<(ProjectivePoint, Scalar)> = picked
            .iter()
            .zip(&c)
            .map(|(ct, c)| (*ct.ciphertext().u.inner(), *c))
            .collect();
        let z_terms: Vec<(ProjectivePoint, Scalar)> =
            ds.iter().zip(&c).map(|(d, c)| (*d.inner(), *c)).collect();
        let m_pt = group::msm_vartime(&m_terms);
        let z_pt = group::msm_vartime(&z_terms);
        let neg_e = -self.e;
        let a = group::lincomb2_vartime(&m_pt, &self.z, &z_pt, &neg_e);
        let b = group::mul_g_add_vartime(&self.z, &neg_e, member.verification_key.inner());
        if challenge(&seed, &[m_pt, z_pt, a, b]) != self.e {
            return Err(Error::BadAnswerProof { trustee });
        }
        Ok(VerifiedAnswer {
            trustee,
            shares: items
                .into_iter()
                .zip(ds)
                .map(|((position, ciphertext, _), d)| VerifiedShareV2 {
                    trustee,
                    position,
                    ciphertext,
                    d,
                    set_id: self.set_id,
                })
                .collect(),
        })
    }
}

/// Recover the message key of `ct` from verified v2 shares (of verified answers): the shares
/// for this ciphertext and set, distinct trustees, the first k used. Shares of other
/// ciphertexts are ignored; a repeated trustee is an error.
pub fn combine_v2(
    set: &TrusteeSet,
    ct: &ValidCiphertextV2,
    shares: &[&VerifiedShareV2],
) -> Result<(MessageKey, Vec<u16>)> {
    let mine: Vec<&VerifiedShareV2> = shares
        .iter()
        .copied()
        .filter(|s| s.ciphertext == ct.digest() && s.set_id == set.id())
        .collect();
    let mut seen = BTreeSet::new();
    for s in &mine {
        if !seen.insert(s.trustee) {
            return Err(Error::DuplicateTrustee(s.trustee));
        }
    }
    let k = usize::from(set.threshold());
    if mine.len() < k {
        return Err(Error::NotEnoughShares {
            valid: mine.len(),
            threshold: set.threshold(),
            rejected: String::new(),
        });
    }
    let used: Vec<&VerifiedShareV2> = mine.into_iter().take(k).collect();
    let ids: Vec<u16> = used.iter().map(|s| s.trustee).collect();
    let lambdas = group::lagrange_at_zero(&ids)?;
    let terms: Vec<(ProjectivePoint, Scalar)> = used
        .iter()
        .zip(lambdas)
        .map(|(s, l)| (*s.d.inner(), l))
        .collect();
    let z = group::lagrange_combine_vartime(&terms);
    if bool::from(z.is_identity()) {
        return Err(Error::InvalidPoint {
            field: "combined share",
        });
    }
    Ok((ct.unwrap_with(&z)?, ids))
}
