//! The independent verifier of release protocol version 2 (`docs/protocol.md` §15), written
//! from the specification on the same bare primitives as [`super::reference`] (never calling
//! escrow-core): v2 ciphertexts (parsed from their bytes, checked alone and in the weighted
//! batch of §15.3), the request digest, and v2 answers (one ECDH, per-share HKDF keys, the
//! composite proof of §15.5), and the combination.
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

pub const TAG_WARRANT_DIGEST: &str = "escrow/v1/warrant-digest";
pub const TAG_RELEASE_RESPONSE_V2: &str = "escrow/v2/release-response";

/// §7.1: `W = T("escrow/v1/warrant-digest", PAE(payloadType, payload))` of a DSSE envelope
/// given as JSON (DSSE's PAE: `"DSSEv1" SP len(type) SP type SP len(body) SP body`).
pub fn warrant_digest(envelope_json: &[u8]) -> Option<[u8; 32]> {
    use base64::Engine as _;
    let v: serde_json::Value = serde_json::from_slice(envelope_json).ok()?;
    let t = v["payloadType"].as_str()?;
    let body = base64::engine::general_purpose::STANDARD
        .decode(v["payload"].as_str()?)
        .ok()?;
    let mut pae = format!("DSSEv1 {} {} {} ", t.len(), t, body.len()).into_bytes();
    pae.extend_from_slice(&body);
    Some(tagged(TAG_WARRANT_DIGEST, &[&pae]))
}

/// A cursor over a byte string: every read is bounded, running out is an error.
struct Cur<'a>(&'a [u8]);

impl<'a> Cur<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("short");
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn d32(&mut self) -> Result<[u8; 32], &'static str> {
        Ok(self.take(32)?.try_into().unwrap())
    }
    fn lp(&mut self, max: usize) -> Result<&'a [u8], &'static str> {
        let n = self.u32()? as usize;
        if n > max {
            return Err("length");
        }
        self.take(n)
    }
}

/// A `POST /v2/release` request body, read from its bytes (`docs/api.md` §4.3).
#[derive(Clone, Debug)]
pub struct RefRequest {
    pub warrant_json: Vec<u8>,
    pub w: [u8; 32],
    pub items: Vec<Vec<u8>>,
    pub item_digests: Vec<[u8; 32]>,
    pub r: [u8; 32],
}

/// `u8(2) ‖ lp(warrant envelope) ‖ u32be(n) ‖ n × lp(item)`, 1 ≤ n ≤ 10,000, items ≤ 8 KiB,
/// warrant ≤ 1 MiB, nothing after; D_j over the items as sent, R as §15.4.
pub fn request_v2(b: &[u8]) -> Result<RefRequest, &'static str> {
    let mut c = Cur(b);
    if c.u8()? != 2 {
        return Err("version");
    }
    let warrant_json = c.lp(1 << 20)?.to_vec();
    let w = warrant_digest(&warrant_json).ok_or("warrant")?;
    let n = c.u32()? as usize;
    if n == 0 || n > 10_000 {
        return Err("count");
    }
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        items.push(c.lp(8192)?.to_vec());
    }
    if !c.0.is_empty() {
        return Err("trailing bytes");
    }
    let item_digests: Vec<[u8; 32]> = items
        .iter()
        .map(|i| tagged(TAG_CT_DIGEST_V2, &[i]))
        .collect();
    let mut m = w.to_vec();
    m.extend_from_slice(&(n as u32).to_be_bytes());
    for d in &item_digests {
        m.extend_from_slice(d);
    }
    let r = tagged(TAG_REQUEST_DIGEST, &[&m]);
    Ok(RefRequest {
        warrant_json,
        w,
        items,
        item_digests,
        r,
    })
}

/// One result of a v2 response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefResult {
    Released {
        leaf: u64,
    },
    Refused {
        code: String,
        detail: String,
        leaf: Option<u64>,
    },
}

/// A signed v2 response, read from its bytes and its signature verified.
#[derive(Clone, Debug)]
pub struct RefResponse {
    pub trustee: u16,
    pub set_id: [u8; 32],
    pub w: [u8; 32],
    pub r: [u8; 32],
    pub investigator: Option<[u8; 32]>,
    pub time: i64,
    pub results: Vec<RefResult>,
    pub answer: Option<Vec<u8>>,
    pub body: Vec<u8>,
    pub signature: Vec<u8>,
}

/// `docs/api.md` §4.3: parse `body ‖ lp(signature)` and verify the ECDSA P-256 / SHA-256
/// signature (DER) of trustee i's signing key over `u8(26) ‖ "escrow/v2/release-response" ‖
/// body`.
pub fn response_v2(set: &RefSet, b: &[u8]) -> Result<RefResponse, &'static str> {
    use p256::ecdsa::signature::Verifier as _;
    let mut c = Cur(b);
    if c.u8()? != 2 {
        return Err("version");
    }
    let trustee = u16::from_be_bytes(c.take(2)?.try_into().unwrap());
    let set_id = c.d32()?;
    let w = c.d32()?;
    let r = c.d32()?;
    let investigator = match c.u8()? {
        0 => None,
        1 => Some(c.d32()?),
        _ => return Err("option tag"),
    };
    let time = i64::from_be_bytes(c.take(8)?.try_into().unwrap());
    let n = c.u32()? as usize;
    if n > 10_000 {
        return Err("count");
    }
    let mut results = Vec::with_capacity(n);
    for _ in 0..n {
        results.push(match c.u8()? {
            1 => RefResult::Released { leaf: c.u64()? },
            2 => {
                let code = String::from_utf8(c.lp(64)?.to_vec()).map_err(|_| "code")?;
                let detail = String::from_utf8(c.lp(1024)?.to_vec()).map_err(|_| "detail")?;
                let leaf = match c.u8()? {
                    0 => None,
                    1 => Some(c.u64()?),
                    _ => return Err("option tag"),
                };
                RefResult::Refused { code, detail, leaf }
            }
            _ => return Err("result tag"),
        });
    }
    let answer = match c.u8()? {
        0 => None,
        1 => Some(c.lp(b.len())?.to_vec()),
        _ => return Err("option tag"),
    };
    let body = b[..b.len() - c.0.len()].to_vec();
    let signature = c.lp(80)?.to_vec();
    if !c.0.is_empty() {
        return Err("trailing bytes");
    }
    if set_id != set.id || trustee == 0 || trustee > set.n {
        return Err("set or trustee");
    }
    let key = set.signing[usize::from(trustee) - 1].to_affine();
    let vk = p256::ecdsa::VerifyingKey::from_affine(key).map_err(|_| "signing key")?;
    let sig = p256::ecdsa::Signature::from_der(&signature).map_err(|_| "signature encoding")?;
    let mut msg = vec![TAG_RELEASE_RESPONSE_V2.len() as u8];
    msg.extend_from_slice(TAG_RELEASE_RESPONSE_V2.as_bytes());
    msg.extend_from_slice(&body);
    vk.verify(&msg, &sig).map_err(|_| "signature")?;
    Ok(RefResponse {
        trustee,
        set_id,
        w,
        r,
        investigator,
        time,
        results,
        answer,
        body,
        signature,
    })
}

/// The investigator's check of a verified response against its own request (§4.3): W and R,
/// one result per item, the answer present exactly when something was released and holding
/// exactly the released positions, then the answer's boxes and proof ([`answer_v2`]).
pub fn check_response_v2(
    set: &RefSet,
    sk: &Scalar,
    req: &RefRequest,
    cts: &[RefCtV2],
    resp: &RefResponse,
) -> Result<Option<RefAnswer>, &'static str> {
    if resp.w != req.w || resp.r != req.r {
        return Err("other request");
    }
    if resp.results.len() != req.items.len() {
        return Err("result count");
    }
    let released: Vec<u32> = resp
        .results
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r, RefResult::Released { .. }))
        .map(|(p, _)| p as u32)
        .collect();
    match &resp.answer {
        None if released.is_empty() => Ok(None),
        None => Err("answer missing"),
        Some(_) if released.is_empty() => Err("answer without release"),
        Some(a) => {
            let ra = answer_v2(set, sk, &req.w, cts, a)?;
            if ra.trustee != resp.trustee {
                return Err("answer of another trustee");
            }
            let got: Vec<u32> = ra.shares.iter().map(|s| s.0).collect();
            if got != released {
                return Err("positions");
            }
            Ok(Some(ra))
        }
    }
}
