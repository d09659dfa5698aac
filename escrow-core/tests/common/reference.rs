//! An independent verifier written from `docs/protocol.md` alone.
//!
//! It uses only standard primitives — P-256 arithmetic and SEC1 encoding (the `p256` crate),
//! RFC 9380 hash_to_curve for G' (the `p256` crate, checked against the RFC's own vectors in
//! `vectors.rs`), SHA-256, HKDF, AES-256-GCM, base64 — and reads the JSON formats as plain
//! `serde_json::Value`s. It never calls escrow-core. Its expand_message_xmd, hash_to_scalar,
//! RFC 3339 parser, canonical encodings, Lagrange coefficients and every check are written here
//! again, so a disagreement between it and the library is a disagreement between the library
//! and the specification.
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::{FromSec1Point, ToSec1Point};
use p256::elliptic_curve::{Field, PrimeField};
use p256::{AffinePoint, NistP256, ProjectivePoint, Scalar};
use serde_json::Value;
use sha2::{Digest, Sha256};

// ---- Constants, copied from the specification (not imported from the library). ----
pub const DST_TDH2: &str = "ESCROW-V1-TDH2-CHALLENGE_P256_XMD:SHA-256";
pub const DST_DLEQ: &str = "ESCROW-V1-DLEQ-CHALLENGE_P256_XMD:SHA-256";
pub const DST_GENERATOR2: &str = "ESCROW-V1-P256_XMD:SHA-256_SSWU_RO_GENERATOR2";
pub const MSG_GENERATOR2: &str = "TDH2 second generator G'";
pub const TAG_SET_ID: &str = "escrow/v1/trustee-set-id";
pub const TAG_CT_DIGEST: &str = "escrow/v1/ciphertext-digest";
pub const TAG_NO_WARRANT: &str = "escrow/v1/no-warrant";
pub const INFO_KEM: &str = "escrow/v1/tdh2-kem";
pub const INFO_ECIES: &str = "escrow/v1/ecies";
pub const CTX_E2E: &str = "escrow/v1/e2e";
pub const CTX_BODY: &str = "escrow/v1/body";

// ---- Hashing ----

/// RFC 9380 §5.3.1 expand_message_xmd with SHA-256 (b_in_bytes = 32, s_in_bytes = 64).
pub fn expand_message_xmd(msg: &[u8], dst: &[u8], len: usize) -> Vec<u8> {
    assert!(dst.len() <= 255 && len <= 255 * 32 && len > 0);
    let ell = len.div_ceil(32);
    let mut dst_prime = dst.to_vec();
    dst_prime.push(dst.len() as u8);
    let mut h = Sha256::new();
    h.update([0u8; 64]);
    h.update(msg);
    h.update((len as u16).to_be_bytes());
    h.update([0u8]);
    h.update(&dst_prime);
    let b0: [u8; 32] = h.finalize().into();
    let mut out = Vec::with_capacity(ell * 32);
    let mut prev = [0u8; 32];
    for i in 1..=ell {
        let mut h = Sha256::new();
        let mut x = [0u8; 32];
        for j in 0..32 {
            x[j] = b0[j] ^ prev[j];
        }
        h.update(if i == 1 { b0 } else { x });
        h.update([i as u8]);
        h.update(&dst_prime);
        prev = h.finalize().into();
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    out
}

/// A big-endian integer of any length, reduced mod n (Horner's rule in the scalar field).
pub fn scalar_from_be_wide(bytes: &[u8]) -> Scalar {
    let base = Scalar::from(256u64);
    bytes.iter().fold(Scalar::ZERO, |acc, b| {
        acc * base + Scalar::from(u64::from(*b))
    })
}

/// RFC 9380 hash_to_field into the scalar field: expand_message_xmd(SHA-256), L = 48, count 1.
pub fn hash_to_scalar(dst: &str, msg: &[u8]) -> Scalar {
    scalar_from_be_wide(&expand_message_xmd(msg, dst.as_bytes(), 48))
}

/// `SHA-256(u8(len(tag)) || tag || parts...)`.
pub fn tagged(tag: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([tag.len() as u8]);
    h.update(tag.as_bytes());
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// `u32_be(len(x)) || x`.
pub fn lp(out: &mut Vec<u8>, x: &[u8]) {
    out.extend_from_slice(&(x.len() as u32).to_be_bytes());
    out.extend_from_slice(x);
}

// ---- Encodings ----

/// Compressed SEC1 (33 bytes); the identity encodes as 33 zero bytes (only ever inside
/// challenge hashes, where a malformed proof may produce it).
pub fn sec1(p: &ProjectivePoint) -> [u8; 33] {
    let mut out = [0u8; 33];
    if p == &ProjectivePoint::IDENTITY {
        return out;
    }
    out.copy_from_slice(p.to_affine().to_sec1_point(true).as_bytes());
    out
}

/// Strict point decoding: 66 lower-case hex digits, prefix 02 or 03, x < p, on the curve.
pub fn point_hex(v: &Value) -> Option<ProjectivePoint> {
    let s = v.as_str()?;
    if s.len() != 66 || s.chars().any(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return None;
    }
    let b = hex::decode(s).ok()?;
    if !matches!(b[0], 2 | 3) {
        return None;
    }
    let ep = p256::Sec1Point::from_bytes(&b).ok()?;
    let a: Option<AffinePoint> = AffinePoint::from_sec1_point(&ep).into();
    let p = ProjectivePoint::from(a?);
    (p != ProjectivePoint::IDENTITY).then_some(p)
}

/// Strict scalar decoding: 64 lower-case hex digits, big-endian, below n.
pub fn scalar_hex(v: &Value) -> Option<Scalar> {
    let s = v.as_str()?;
    if s.len() != 64 || s.chars().any(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return None;
    }
    let b: [u8; 32] = hex::decode(s).ok()?.try_into().ok()?;
    Option::from(Scalar::from_repr(b.into()))
}

pub fn scalar_bytes(s: &Scalar) -> [u8; 32] {
    s.to_repr().into()
}

/// 64 lower-case hex digits.
pub fn digest_hex(v: &Value) -> Option<[u8; 32]> {
    let s = v.as_str()?;
    if s.len() != 64 || s.chars().any(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
        return None;
    }
    hex::decode(s).ok()?.try_into().ok()
}

pub fn b64(v: &Value) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(v.as_str()?)
        .ok()
}

fn u16_field(v: &Value) -> Option<u16> {
    u16::try_from(v.as_u64()?).ok()
}

/// The object has exactly these keys and `"version": 1`.
fn fields<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a serde_json::Map<String, Value>> {
    let m = v.as_object()?;
    if m.len() != keys.len() || keys.iter().any(|k| !m.contains_key(*k)) {
        return None;
    }
    if keys.contains(&"version") && m.get("version")?.as_u64()? != 1 {
        return None;
    }
    Some(m)
}

/// Canonical RFC 3339 `YYYY-MM-DDTHH:MM:SSZ` to Unix seconds (proleptic Gregorian).
pub fn parse_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: core::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (y, mo, d, h, mi, se) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > mdays[(mo - 1) as usize]
        || h > 23
        || mi > 59
        || se > 59
    {
        return None;
    }
    // days from civil (H. Hinnant)
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se)
}

// ---- Label ----

pub fn label_bytes_raw(sender: &str, recipient: &str, ts: i64, id: &str) -> Vec<u8> {
    let mut out = vec![1u8];
    lp(&mut out, sender.as_bytes());
    lp(&mut out, recipient.as_bytes());
    out.extend_from_slice(&ts.to_be_bytes());
    lp(&mut out, id.as_bytes());
    out
}

fn account_ok(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control)
}

/// Decode and check a label object; return its canonical bytes.
pub fn label(v: &Value) -> Option<Vec<u8>> {
    let m = fields(v, &["sender", "recipient", "timestamp", "message_id"])?;
    let sender = m.get("sender")?.as_str()?;
    let recipient = m.get("recipient")?.as_str()?;
    let ts = parse_time(m.get("timestamp")?.as_str()?)?;
    let id = m.get("message_id")?.as_str()?;
    if !account_ok(sender) || !account_ok(recipient) {
        return None;
    }
    if id.is_empty()
        || id.len() > 128
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return None;
    }
    Some(label_bytes_raw(sender, recipient, ts, id))
}

// ---- Trustee set ----

pub fn g2() -> ProjectivePoint {
    use p256::hash2curve::GroupDigest;
    NistP256::hash_from_bytes(&[MSG_GENERATOR2.as_bytes()], &[DST_GENERATOR2.as_bytes()]).unwrap()
}

#[derive(Clone, Debug)]
pub struct RefSet {
    pub k: u16,
    pub n: u16,
    pub id: [u8; 32],
    pub y: ProjectivePoint,
    pub commitments: Vec<ProjectivePoint>,
    pub xs: Vec<ProjectivePoint>,
    /// Each trustee's ECDSA signing key (member i at position i − 1).
    pub signing: Vec<ProjectivePoint>,
}

/// `sum_j C_j i^j` by Horner.
pub fn eval_commitments(cs: &[ProjectivePoint], i: u16) -> ProjectivePoint {
    let x = Scalar::from(u64::from(i));
    cs.iter()
        .rev()
        .fold(ProjectivePoint::IDENTITY, |acc, c| acc * x + c)
}

pub fn set_id(
    k: u16,
    cs: &[ProjectivePoint],
    members: &[(u16, ProjectivePoint, ProjectivePoint)],
) -> [u8; 32] {
    let mut buf = Vec::new();
    buf.extend_from_slice(&k.to_be_bytes());
    buf.extend_from_slice(&(members.len() as u16).to_be_bytes());
    for c in cs {
        buf.extend_from_slice(&sec1(c));
    }
    for (i, x, s) in members {
        buf.extend_from_slice(&i.to_be_bytes());
        buf.extend_from_slice(&sec1(x));
        buf.extend_from_slice(&sec1(s));
    }
    tagged(TAG_SET_ID, &[&buf])
}

/// Decode and check `trustee-set.json`.
pub fn trustee_set(v: &Value) -> Result<RefSet, &'static str> {
    let m = fields(
        v,
        &[
            "version",
            "set_id",
            "threshold",
            "trustees",
            "escrow_key",
            "commitments",
            "members",
        ],
    )
    .ok_or("fields")?;
    let k = u16_field(&m["threshold"]).ok_or("threshold")?;
    let n = u16_field(&m["trustees"]).ok_or("trustees")?;
    if k == 0 || k > n || n > 255 {
        return Err("parameters");
    }
    let cs: Vec<ProjectivePoint> = m["commitments"]
        .as_array()
        .ok_or("commitments")?
        .iter()
        .map(point_hex)
        .collect::<Option<_>>()
        .ok_or("commitment")?;
    if cs.len() != usize::from(k) {
        return Err("commitment count");
    }
    let members = m["members"].as_array().ok_or("members")?;
    if members.len() != usize::from(n) {
        return Err("member count");
    }
    let mut ms = Vec::new();
    for (pos, mv) in members.iter().enumerate() {
        let mm =
            fields(mv, &["index", "verification_key", "signing_key"]).ok_or("member fields")?;
        let i = u16_field(&mm["index"]).ok_or("index")?;
        if usize::from(i) != pos + 1 {
            return Err("member order");
        }
        let x = point_hex(&mm["verification_key"]).ok_or("verification_key")?;
        let s = point_hex(&mm["signing_key"]).ok_or("signing_key")?;
        if x != eval_commitments(&cs, i) {
            return Err("verification key vs commitments");
        }
        ms.push((i, x, s));
    }
    let y = point_hex(&m["escrow_key"]).ok_or("escrow_key")?;
    if y != cs[0] {
        return Err("escrow key");
    }
    let id = set_id(k, &cs, &ms);
    if digest_hex(&m["set_id"]).ok_or("set_id")? != id {
        return Err("set id");
    }
    Ok(RefSet {
        k,
        n,
        id,
        y,
        commitments: cs,
        xs: ms.iter().map(|m| m.1).collect(),
        signing: ms.iter().map(|m| m.2).collect(),
    })
}

/// Decode a key-share file and run the Feldman check; return (index, x_i).
pub fn key_share(set: &RefSet, v: &Value) -> Result<(u16, Scalar), &'static str> {
    let m = fields(v, &["version", "set_id", "index", "share"]).ok_or("fields")?;
    if digest_hex(&m["set_id"]).ok_or("set_id")? != set.id {
        return Err("other set");
    }
    let i = u16_field(&m["index"]).ok_or("index")?;
    if i == 0 || i > set.n {
        return Err("index");
    }
    let x = scalar_hex(&m["share"]).ok_or("share")?;
    if bool::from(x.is_zero()) {
        return Err("zero share");
    }
    if ProjectivePoint::GENERATOR * x != set.xs[usize::from(i) - 1] {
        return Err("feldman");
    }
    Ok((i, x))
}

// ---- TDH2 ----

#[derive(Clone, Debug)]
pub struct RefCt {
    pub set_id: [u8; 32],
    pub label_bytes: Vec<u8>,
    pub u: ProjectivePoint,
    pub u_bar: ProjectivePoint,
    pub e: Scalar,
    pub f: Scalar,
    pub wrapped: Vec<u8>,
    pub w: ProjectivePoint,
    pub w_bar: ProjectivePoint,
    pub challenge_input: Vec<u8>,
    pub canonical: Vec<u8>,
    pub digest: [u8; 32],
}

pub fn tdh2_challenge_input(
    set_id: &[u8; 32],
    wrapped: &[u8],
    label: &[u8],
    u: &ProjectivePoint,
    w: &ProjectivePoint,
    u_bar: &ProjectivePoint,
    w_bar: &ProjectivePoint,
) -> Vec<u8> {
    let mut m = set_id.to_vec();
    lp(&mut m, wrapped);
    lp(&mut m, label);
    for p in [u, w, u_bar, w_bar] {
        m.extend_from_slice(&sec1(p));
    }
    m
}

/// Decode an escrow ciphertext and run the public check against `set`.
pub fn ciphertext(set: &RefSet, v: &Value) -> Result<RefCt, &'static str> {
    let m = fields(
        v,
        &[
            "version",
            "set_id",
            "label",
            "u",
            "u_bar",
            "e",
            "f",
            "wrapped_key",
        ],
    )
    .ok_or("fields")?;
    let set_id = digest_hex(&m["set_id"]).ok_or("set_id")?;
    let label_bytes = label(&m["label"]).ok_or("label")?;
    let u = point_hex(&m["u"]).ok_or("u")?;
    let u_bar = point_hex(&m["u_bar"]).ok_or("u_bar")?;
    let e = scalar_hex(&m["e"]).ok_or("e")?;
    let f = scalar_hex(&m["f"]).ok_or("f")?;
    let wrapped = b64(&m["wrapped_key"]).ok_or("wrapped_key")?;
    if set_id != set.id {
        return Err("other set");
    }
    if wrapped.len() != 48 {
        return Err("wrapped_key length");
    }
    let w = ProjectivePoint::GENERATOR * f - u * e;
    let w_bar = g2() * f - u_bar * e;
    let challenge_input =
        tdh2_challenge_input(&set_id, &wrapped, &label_bytes, &u, &w, &u_bar, &w_bar);
    if hash_to_scalar(DST_TDH2, &challenge_input) != e {
        return Err("proof");
    }
    let mut canonical = set_id.to_vec();
    lp(&mut canonical, &label_bytes);
    canonical.extend_from_slice(&sec1(&u));
    canonical.extend_from_slice(&sec1(&u_bar));
    canonical.extend_from_slice(&scalar_bytes(&e));
    canonical.extend_from_slice(&scalar_bytes(&f));
    lp(&mut canonical, &wrapped);
    let digest = tagged(TAG_CT_DIGEST, &[&canonical]);
    Ok(RefCt {
        set_id,
        label_bytes,
        u,
        u_bar,
        e,
        f,
        wrapped,
        w,
        w_bar,
        challenge_input,
        canonical,
        digest,
    })
}

pub fn hkdf32(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut k)
        .unwrap();
    k
}

/// KEM key: HKDF-SHA-256(salt = set_id, ikm = SEC1c(Z), info = INFO_KEM || SEC1c(u)).
pub fn kem_key(set_id: &[u8; 32], z: &ProjectivePoint, u: &ProjectivePoint) -> [u8; 32] {
    let mut info = INFO_KEM.as_bytes().to_vec();
    info.extend_from_slice(&sec1(u));
    hkdf32(set_id, &sec1(z), &info)
}

pub fn gcm_open(key: &[u8; 32], ct: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    Aes256Gcm::new(key.into())
        .decrypt(&Nonce::default(), Payload { msg: ct, aad })
        .ok()
}

/// Unwrap the message key given Z = xu = rY.
pub fn unwrap_key(ct: &RefCt, z: &ProjectivePoint) -> Option<[u8; 32]> {
    let k = kem_key(&ct.set_id, z, &ct.u);
    gcm_open(&k, &ct.wrapped, &ct.label_bytes)?.try_into().ok()
}

// ---- Decryption shares ----

pub fn no_warrant_context() -> [u8; 32] {
    tagged(TAG_NO_WARRANT, &[])
}

#[allow(clippy::too_many_arguments)]
pub fn dleq_challenge_input(
    set_id: &[u8; 32],
    trustee: u16,
    ct_digest: &[u8; 32],
    ctx: &[u8; 32],
    x_i: &ProjectivePoint,
    u: &ProjectivePoint,
    d: &ProjectivePoint,
    a: &ProjectivePoint,
    b: &ProjectivePoint,
) -> Vec<u8> {
    let mut m = set_id.to_vec();
    m.extend_from_slice(&trustee.to_be_bytes());
    m.extend_from_slice(ct_digest);
    m.extend_from_slice(ctx);
    for p in [x_i, u, d, a, b] {
        m.extend_from_slice(&sec1(p));
    }
    m
}

#[derive(Clone, Debug)]
pub struct RefShare {
    pub trustee: u16,
    pub d: ProjectivePoint,
    pub a: ProjectivePoint,
    pub b: ProjectivePoint,
    /// The challenge e_i the verifier derives.
    pub e: Scalar,
    pub challenge_input: Vec<u8>,
}

/// The fields of a decryption share (§7.3), no more, no fewer.
pub const SHARE_FIELDS: [&str; 8] = [
    "version",
    "trustee",
    "ciphertext",
    "context",
    "d",
    "a",
    "b",
    "z",
];

/// Decode a decryption share and verify it against set, ciphertext and context (§7.3): derive
/// e_i from the commitments carried, then check `z·u = a + e·d` and `z·G = b + e·X_i`.
pub fn share(
    set: &RefSet,
    ct: &RefCt,
    ctx: &[u8; 32],
    v: &Value,
) -> Result<RefShare, &'static str> {
    let m = fields(v, &SHARE_FIELDS).ok_or("fields")?;
    let trustee = u16_field(&m["trustee"]).ok_or("trustee")?;
    let ct_digest = digest_hex(&m["ciphertext"]).ok_or("ciphertext")?;
    let context = digest_hex(&m["context"]).ok_or("context")?;
    let d = point_hex(&m["d"]).ok_or("d")?;
    let a = point_hex(&m["a"]).ok_or("a")?;
    let b = point_hex(&m["b"]).ok_or("b")?;
    let z = scalar_hex(&m["z"]).ok_or("z")?;
    if trustee == 0 || trustee > set.n {
        return Err("trustee out of range");
    }
    if ct_digest != ct.digest || context != *ctx {
        return Err("other ciphertext or context");
    }
    let x_i = set.xs[usize::from(trustee) - 1];
    let challenge_input =
        dleq_challenge_input(&set.id, trustee, &ct.digest, ctx, &x_i, &ct.u, &d, &a, &b);
    let e = hash_to_scalar(DST_DLEQ, &challenge_input);
    if ct.u * z != a + d * e || ProjectivePoint::GENERATOR * z != b + x_i * e {
        return Err("proof");
    }
    Ok(RefShare {
        trustee,
        d,
        a,
        b,
        e,
        challenge_input,
    })
}

/// Lagrange coefficients at 0, one inversion each.
pub fn lagrange(ids: &[u16]) -> Vec<Scalar> {
    ids.iter()
        .map(|&i| {
            let xi = Scalar::from(u64::from(i));
            let (num, den) =
                ids.iter()
                    .filter(|&&j| j != i)
                    .fold((Scalar::ONE, Scalar::ONE), |(n, d), &j| {
                        let xj = Scalar::from(u64::from(j));
                        (n * xj, d * (xj - xi))
                    });
            num * Option::<Scalar>::from(den.invert()).unwrap()
        })
        .collect()
}

/// Z = sum λ_i d_i over the given shares.
pub fn interpolate(shares: &[(u16, ProjectivePoint)]) -> ProjectivePoint {
    let ids: Vec<u16> = shares.iter().map(|s| s.0).collect();
    lagrange(&ids)
        .iter()
        .zip(shares)
        .fold(ProjectivePoint::IDENTITY, |acc, (l, (_, d))| acc + *d * l)
}

/// The combiner: refuse out-of-range or repeated indices, verify in order, interpolate the
/// first k valid shares, unwrap.
pub fn combine(
    set: &RefSet,
    ct: &RefCt,
    ctx: &[u8; 32],
    shares: &[Value],
) -> Result<[u8; 32], &'static str> {
    let mut seen = std::collections::BTreeSet::new();
    for s in shares {
        let t = s.get("trustee").and_then(u16_field).ok_or("trustee")?;
        if t == 0 || t > set.n || !seen.insert(t) {
            return Err("bad index");
        }
    }
    let good: Vec<(u16, ProjectivePoint)> = shares
        .iter()
        .filter_map(|s| share(set, ct, ctx, s).ok())
        .take(usize::from(set.k))
        .map(|s| (s.trustee, s.d))
        .collect();
    if good.len() < usize::from(set.k) {
        return Err("not enough shares");
    }
    unwrap_key(ct, &interpolate(&good)).ok_or("unwrap")
}

// ---- ECIES and sealed messages ----

/// ECIES key: HKDF-SHA-256(salt = empty, ikm = x(eR), info = INFO_ECIES || lp(context) || E || R).
pub fn ecies_key(
    shared_x: &[u8],
    context: &[u8],
    e: &ProjectivePoint,
    r: &ProjectivePoint,
) -> [u8; 32] {
    let mut info = INFO_ECIES.as_bytes().to_vec();
    lp(&mut info, context);
    info.extend_from_slice(&sec1(e));
    info.extend_from_slice(&sec1(r));
    hkdf32(&[], shared_x, &info)
}

/// Decrypt an ECIES box with the recipient's secret scalar.
pub fn ecies_open(sk: &Scalar, context: &[u8], v: &Value) -> Result<Vec<u8>, &'static str> {
    let m = fields(v, &["version", "ephemeral", "ciphertext"]).ok_or("fields")?;
    let e = point_hex(&m["ephemeral"]).ok_or("ephemeral")?;
    let ct = b64(&m["ciphertext"]).ok_or("ciphertext")?;
    let shared = e * sk;
    let shared_x = sec1(&shared)[1..].to_vec();
    let k = ecies_key(&shared_x, context, &e, &(ProjectivePoint::GENERATOR * sk));
    gcm_open(&k, &ct, context).ok_or("aead")
}

pub fn context(prefix: &str, label_bytes: &[u8]) -> Vec<u8> {
    let mut c = prefix.as_bytes().to_vec();
    lp(&mut c, label_bytes);
    c
}

/// The recipient's whole flow: structure, public check, end-to-end part, compliance check
/// (u = rG, ū = rG', wrapped key opens under K(rY) to the same key), body.
pub fn open_sealed(
    sk: &Scalar,
    spki_der_sha256: &[u8; 32],
    set: &RefSet,
    v: &Value,
) -> Result<Vec<u8>, &'static str> {
    let m = fields(
        v,
        &["version", "id", "recipient_key", "e2e", "body", "escrow"],
    )
    .ok_or("fields")?;
    let ct = ciphertext(set, &m["escrow"])?;
    let id = m["id"].as_str().ok_or("id")?;
    if m["escrow"]["label"]["message_id"].as_str() != Some(id) {
        return Err("id vs label");
    }
    if digest_hex(&m["recipient_key"]).ok_or("recipient_key")? != *spki_der_sha256 {
        return Err("other recipient");
    }
    let inner = ecies_open(sk, &context(CTX_E2E, &ct.label_bytes), &m["e2e"])?;
    if inner.len() != 64 {
        return Err("e2e length");
    }
    let key: [u8; 32] = inner[..32].try_into().unwrap();
    let r: Option<Scalar> =
        Scalar::from_repr(<[u8; 32]>::try_from(&inner[32..]).unwrap().into()).into();
    let r = r.ok_or("r")?;
    if ProjectivePoint::GENERATOR * r != ct.u || g2() * r != ct.u_bar {
        return Err("u or u_bar is not r times its generator");
    }
    if unwrap_key(&ct, &(set.y * r)) != Some(key) {
        return Err("escrow header does not wrap the message key");
    }
    let body = b64(&m["body"]).ok_or("body")?;
    gcm_open(&key, &body, &context(CTX_BODY, &ct.label_bytes)).ok_or("body aead")
}
