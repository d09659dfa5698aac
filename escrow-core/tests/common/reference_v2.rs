//! The independent verifier of release protocol version 2 (`docs/protocol.md` §15), written
//! from the specification on the same bare primitives as [`super::reference`] (never calling
//! escrow-core): v2 ciphertexts (parsed from their bytes, checked alone and in the weighted
//! batch of §15.3), the request digest, and v2 answers (one ECDH, per-share HKDF keys, the
//! composite proof of §15.5), and the combination.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::reference::{RefSet, gcm_open, hash_to_scalar, hkdf32, interpolate, sec1, tagged};
use p256::elliptic_curve::PrimeField;
use p256::elliptic_curve::sec1::FromSec1Point;
use p256::{AffinePoint, ProjectivePoint, Scalar};

pub const DST_TDH2_V2: &str = "ESCROW-V2-TDH2-CHALLENGE_P256_XMD:SHA-256";
pub const INFO_KEM_V2: &str = "escrow/v2/tdh2-kem";
pub const TAG_CT_DIGEST_V2: &str = "escrow/v2/ciphertext-digest";
pub const TAG_CT_BATCH_SEED: &str = "escrow/v2/ciphertext-batch-seed";
pub const TAG_CT_BATCH_WEIGHT: &str = "escrow/v2/ciphertext-batch-weight";
pub const TAG_REQUEST_DIGEST: &str = "escrow/v2/request-digest";
pub const TAG_COMPOSITE_SEED: &str = "escrow/v2/answer-composite-seed";
pub const TAG_COMPOSITE_WEIGHT: &str = "escrow/v2/answer-composite-weight";
pub const DST_ANSWER_DLEQ: &str = "ESCROW-V2-ANSWER-DLEQ-CHALLENGE_P256_XMD:SHA-256";
pub const INFO_ANSWER_SHARE: &str = "escrow/v2/answer-share";

fn g2() -> ProjectivePoint {
    super::reference::g2()
}

/// Strict compressed point: 33 bytes, prefix 02/03, on the curve (never the identity).
pub fn point(b: &[u8]) -> Option<ProjectivePoint> {
    if b.len() != 33 || !(b[0] == 2 || b[0] == 3) {
        return None;
    }
    let ep = p256::Sec1Point::from_bytes(b).ok()?;
    let a: Option<AffinePoint> = AffinePoint::from_sec1_point(&ep).into();
    Some(a?.into())
}

pub fn scalar(b: &[u8]) -> Option<Scalar> {
    let arr: [u8; 32] = b.try_into().ok()?;
    Option::from(Scalar::from_repr(arr.into()))
}

fn u32be(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

fn w128(tag: &str, seed: &[u8; 32], j: u32) -> (Scalar, Scalar) {
    let w = tagged(tag, &[seed, &j.to_be_bytes()]);
    let hi = u128::from_be_bytes(w[..16].try_into().unwrap());
    let lo = u128::from_be_bytes(w[16..].try_into().unwrap());
    (Scalar::from_u128(hi), Scalar::from_u128(lo))
}

#[derive(Clone, Debug)]
pub struct RefCtV2 {
    pub set_id: [u8; 32],
    pub label_bytes: Vec<u8>,
    pub u: ProjectivePoint,
    pub u_bar: ProjectivePoint,
    pub w: ProjectivePoint,
    pub w_bar: ProjectivePoint,
    pub f: Scalar,
    pub c: Vec<u8>,
    pub e: Scalar,
    pub digest: [u8; 32],
}

/// Parse §15.2's bytes (structure of the label only: its version byte and length prefixes) and
/// derive e and the digest. Does not check the proof.
pub fn parse_ciphertext_v2(set: &RefSet, b: &[u8]) -> Result<RefCtV2, &'static str> {
    if b.first() != Some(&2) {
        return Err("version");
    }
    let set_id: [u8; 32] = b.get(1..33).ok_or("short")?.try_into().unwrap();
    if set_id != set.id {
        return Err("other set");
    }
    let ll = u32be(b.get(33..37).ok_or("short")?).ok_or("short")? as usize;
    let label_bytes = b.get(37..37 + ll).ok_or("short")?.to_vec();
    let mut at = 37 + ll;
    if b.len() != at + 4 * 33 + 32 + 48 {
        return Err("length");
    }
    let mut pts = [ProjectivePoint::IDENTITY; 4];
    for p in pts.iter_mut() {
        *p = point(&b[at..at + 33]).ok_or("point")?;
        at += 33;
    }
    let f = scalar(&b[at..at + 32]).ok_or("scalar")?;
    let c = b[at + 32..].to_vec();
    // label: 0x01 ‖ lp(sender) ‖ lp(recipient) ‖ i64be ‖ lp(id), nothing else
    let mut p = 1usize;
    if label_bytes.first() != Some(&1) {
        return Err("label version");
    }
    for field in 0..4 {
        if field == 2 {
            p += 8;
        } else {
            let n = u32be(label_bytes.get(p..p + 4).ok_or("label")?).ok_or("label")? as usize;
            if n == 0 {
                return Err("empty label field");
            }
            p += 4 + n;
        }
    }
    if p != label_bytes.len() {
        return Err("label length");
    }
    let [u, u_bar, w, w_bar] = pts;
    let mut m = set_id.to_vec();
    super::reference::lp(&mut m, &c);
    super::reference::lp(&mut m, &label_bytes);
    for q in [&u, &w, &u_bar, &w_bar] {
        m.extend_from_slice(&sec1(q));
    }
    let e = hash_to_scalar(DST_TDH2_V2, &m);
    let digest = tagged(TAG_CT_DIGEST_V2, &[b]);
    Ok(RefCtV2 {
        set_id,
        label_bytes,
        u,
        u_bar,
        w,
        w_bar,
        f,
        c,
        e,
        digest,
    })
}

/// §15.2's check of one ciphertext.
pub fn check_v2(ct: &RefCtV2) -> bool {
    ProjectivePoint::GENERATOR * ct.f == ct.w + ct.u * ct.e
        && g2() * ct.f == ct.w_bar + ct.u_bar * ct.e
}

/// §15.3's weighted batch equation, term by term (no multi-scalar multiplication).
pub fn batch_v2(cts: &[RefCtV2]) -> bool {
    let mut m = (cts.len() as u32).to_be_bytes().to_vec();
    for c in cts {
        m.extend_from_slice(&c.digest);
    }
    let seed = tagged(TAG_CT_BATCH_SEED, &[&m]);
    let mut acc = ProjectivePoint::IDENTITY;
    for (j, c) in cts.iter().enumerate() {
        let (a, b) = w128(TAG_CT_BATCH_WEIGHT, &seed, j as u32);
        acc += (ProjectivePoint::GENERATOR * c.f - c.w - c.u * c.e) * a;
        acc += (g2() * c.f - c.w_bar - c.u_bar * c.e) * b;
    }
    acc == ProjectivePoint::IDENTITY
}

pub fn request_digest(w: &[u8; 32], cts: &[RefCtV2]) -> [u8; 32] {
    let mut m = w.to_vec();
    m.extend_from_slice(&(cts.len() as u32).to_be_bytes());
    for c in cts {
        m.extend_from_slice(&c.digest);
    }
    tagged(TAG_REQUEST_DIGEST, &[&m])
}

/// Intermediate values of an opened answer (for the vectors).
#[derive(Clone, Debug)]
pub struct RefAnswer {
    pub trustee: u16,
    pub shares: Vec<(u32, ProjectivePoint)>,
    pub seed: [u8; 32],
    pub weights: Vec<Scalar>,
    pub m: ProjectivePoint,
    pub z: ProjectivePoint,
    pub shared_x: Vec<u8>,
    pub keys: Vec<[u8; 32]>,
}

/// §15.6 then §15.5: open and check an answer with the investigator's secret scalar.
pub fn answer_v2(
    set: &RefSet,
    sk: &Scalar,
    w: &[u8; 32],
    request: &[RefCtV2],
    b: &[u8],
) -> Result<RefAnswer, &'static str> {
    if b.first() != Some(&2) {
        return Err("version");
    }
    if b.len() < 200 {
        return Err("short");
    }
    let set_id: [u8; 32] = b[1..33].try_into().unwrap();
    let trustee = u16::from_be_bytes([b[33], b[34]]);
    let aw: [u8; 32] = b[35..67].try_into().unwrap();
    let ar: [u8; 32] = b[67..99].try_into().unwrap();
    let eph = point(&b[99..132]).ok_or("ephemeral")?;
    let e = scalar(&b[132..164]).ok_or("e")?;
    let z = scalar(&b[164..196]).ok_or("z")?;
    let m = u32be(&b[196..200]).unwrap() as usize;
    if set_id != set.id || trustee == 0 || trustee > set.n {
        return Err("set or trustee");
    }
    if aw != *w || ar != request_digest(w, request) {
        return Err("other request");
    }
    if m == 0 || b.len() != 200 + 53 * m {
        return Err("length");
    }
    let x_i = set.xs[usize::from(trustee) - 1];
    let inv = ProjectivePoint::GENERATOR * sk;
    let shared_x = sec1(&(eph * sk))[1..].to_vec();
    let mut info_base = INFO_ANSWER_SHARE.as_bytes().to_vec();
    info_base.extend_from_slice(&set_id);
    info_base.extend_from_slice(&trustee.to_be_bytes());
    info_base.extend_from_slice(w);
    info_base.extend_from_slice(&ar);
    info_base.extend_from_slice(&sec1(&eph));
    info_base.extend_from_slice(&sec1(&inv));
    let mut shares = Vec::new();
    let mut keys = Vec::new();
    let mut last: Option<u32> = None;
    for j in 0..m {
        let rec = &b[200 + 53 * j..200 + 53 * (j + 1)];
        let pos = u32be(&rec[..4]).unwrap();
        if last.is_some_and(|l| pos <= l) {
            return Err("positions");
        }
        last = Some(pos);
        let ct = request.get(pos as usize).ok_or("position")?;
        let mut info = info_base.clone();
        info.extend_from_slice(&pos.to_be_bytes());
        let k = hkdf32(&ar, &shared_x, &info);
        let d = gcm_open(&k, &rec[4..], &ct.digest).ok_or("box")?;
        shares.push((pos, point(&d).ok_or("d")?));
        keys.push(k);
    }
    let mut s = set_id.to_vec();
    s.extend_from_slice(&trustee.to_be_bytes());
    s.extend_from_slice(w);
    s.extend_from_slice(&ar);
    s.extend_from_slice(&sec1(&x_i));
    s.extend_from_slice(&(m as u32).to_be_bytes());
    for (pos, d) in &shares {
        s.extend_from_slice(&pos.to_be_bytes());
        s.extend_from_slice(&request[*pos as usize].digest);
        s.extend_from_slice(&sec1(d));
    }
    let seed = tagged(TAG_COMPOSITE_SEED, &[&s]);
    let weights: Vec<Scalar> = (0..m as u32)
        .map(|j| w128(TAG_COMPOSITE_WEIGHT, &seed, j).0)
        .collect();
    let mut mm = ProjectivePoint::IDENTITY;
    let mut zz = ProjectivePoint::IDENTITY;
    for ((pos, d), c) in shares.iter().zip(&weights) {
        mm += request[*pos as usize].u * c;
        zz += *d * c;
    }
    let a = mm * z - zz * e;
    let bb = ProjectivePoint::GENERATOR * z - x_i * e;
    let mut h = seed.to_vec();
    for p in [&mm, &zz, &a, &bb] {
        h.extend_from_slice(&sec1(p));
    }
    if hash_to_scalar(DST_ANSWER_DLEQ, &h) != e {
        return Err("proof");
    }
    Ok(RefAnswer {
        trustee,
        shares,
        seed,
        weights,
        m: mm,
        z: zz,
        shared_x,
        keys,
    })
}

/// Interpolate and unwrap with the v2 KEM key.
pub fn combine_v2(ct: &RefCtV2, shares: &[(u16, ProjectivePoint)]) -> Option<[u8; 32]> {
    let z = interpolate(shares);
    let mut info = INFO_KEM_V2.as_bytes().to_vec();
    info.extend_from_slice(&sec1(&ct.u));
    let k = hkdf32(&ct.set_id, &sec1(&z), &info);
    gcm_open(&k, &ct.c, &ct.label_bytes)?.try_into().ok()
}
