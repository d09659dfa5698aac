//! P-256 group helpers: checked point and scalar encodings, hashing to scalars and to the curve
//! (RFC 9380), the second generator G', Lagrange coefficients, and fast public-data arithmetic.

use crate::error::{Error, Result};
use elliptic_curve::ops::{LinearCombination, MulByGeneratorVartime, MulVartime};
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::elliptic_curve::{Field, PrimeField, group::Curve as _, group::Group as _};
use p256::{AffinePoint, NistP256, ProjectivePoint, Scalar};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use std::sync::OnceLock;

/// Hash-to-curve / hash-to-field suite used throughout (RFC 9380 §8.2).
pub const SUITE: &str = "P256_XMD:SHA-256_SSWU_RO_";

/// A P-256 point that is known not to be the identity. Encodes as 33-byte compressed SEC1,
/// hex in JSON. Decoding checks that the point is on the curve and not the identity.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Point(ProjectivePoint);

impl Point {
    /// Wrap a point; refuses the identity.
    pub fn new(p: ProjectivePoint, field: &'static str) -> Result<Self> {
        if bool::from(p.is_identity()) {
            Err(Error::InvalidPoint { field })
        } else {
            Ok(Point(p))
        }
    }

    /// Wrap a point the caller knows is not the identity (a verifying key, a product of a
    /// non-zero scalar and a generator).
    pub(crate) fn from_nonidentity(p: ProjectivePoint) -> Self {
        Point(p)
    }

    /// The point.
    pub fn inner(&self) -> &ProjectivePoint {
        &self.0
    }

    /// 33-byte compressed SEC1 encoding.
    pub fn to_bytes(&self) -> [u8; 33] {
        let enc = self.0.to_affine().to_sec1_point(true);
        let mut out = [0u8; 33];
        let b = enc.as_bytes();
        if b.len() == 33 {
            out.copy_from_slice(b);
        }
        out
    }

    /// Decode the 33-byte compressed SEC1 form (the only form any format uses; the 65-byte
    /// uncompressed form is refused, so that one point has one spelling); on-curve and
    /// non-identity.
    pub fn from_bytes(bytes: &[u8], field: &'static str) -> Result<Self> {
        match (bytes.len(), bytes.first()) {
            (33, Some(0x02 | 0x03)) => {}
            _ => return Err(Error::InvalidPoint { field }),
        }
        // The square root on p256 0.13's faster field; 0.14 then checks the point again.
        let a = crate::arith::decompress(bytes).ok_or(Error::InvalidPoint { field })?;
        Point::new(a.into(), field)
    }

    /// Hex of the compressed encoding.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parse lower-case hex of the compressed SEC1 encoding (66 digits).
    pub fn from_hex(s: &str, field: &'static str) -> Result<Self> {
        let b = crate::codec::hex_lower(s).ok_or(Error::InvalidPoint { field })?;
        Self::from_bytes(&b, field)
    }
}

impl core::fmt::Debug for Point {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Point({})", self.to_hex())
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Point::from_hex(&s, "point").map_err(|_| {
            de::Error::custom(
                "expected 66 lower-case hex digits of a compressed SEC1 P-256 point, on the curve and not the identity",
            )
        })
    }
}

/// Encode a scalar as 32 big-endian bytes.
pub fn scalar_to_bytes(s: &Scalar) -> [u8; 32] {
    s.to_repr().into()
}

/// Decode 32 big-endian bytes that must be below the group order.
pub fn scalar_from_bytes(bytes: &[u8], field: &'static str) -> Result<Scalar> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| Error::InvalidScalar { field })?;
    let s: Option<Scalar> = Scalar::from_repr(arr.into()).into();
    s.ok_or(Error::InvalidScalar { field })
}

/// `#[serde(with = "group::scalar_hex")]` for public scalars (proof responses, challenges).
pub mod scalar_hex {
    use p256::Scalar;
    use serde::{Deserialize, Deserializer, Serializer, de};

    /// Serialize as 64 hex digits.
    pub fn serialize<S: Serializer>(x: &Scalar, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(super::scalar_to_bytes(x)))
    }

    /// Deserialize 64 hex digits, below the group order.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        let s = String::deserialize(d)?;
        let b = crate::codec::hex_lower(&s)
            .ok_or_else(|| de::Error::custom("scalar: expected 64 lower-case hex digits"))?;
        super::scalar_from_bytes(&b, "scalar")
            .map_err(|_| de::Error::custom("scalar: expected 32 bytes below the P-256 group order"))
    }
}

/// Hash to a scalar with RFC 9380 `hash_to_field` (expand_message_xmd with SHA-256, L = 48,
/// one element, reduced mod n). `dst` is the domain-separation tag.
pub fn hash_to_scalar(dst: &str, msg: &[&[u8]]) -> Scalar {
    // expand_message_xmd only fails for a DST longer than 255 bytes or an output too long;
    // our DSTs are short constants, so the fallback is unreachable, and still fails closed
    // to a fixed, harmless value instead of panicking.
    hash2curve_scalar(dst, msg).unwrap_or(Scalar::ONE)
}

fn hash2curve_scalar(dst: &str, msg: &[&[u8]]) -> Option<Scalar> {
    use p256::elliptic_curve::consts::U48;
    p256::hash2curve::hash_to_scalar::<NistP256, p256::hash2curve::ExpandMsgXmd<sha2::Sha256>, U48>(
        msg,
        &[dst.as_bytes()],
    )
    .ok()
}

/// Domain-separation tag for the second generator.
pub const DST_GENERATOR2: &str = "ESCROW-V1-P256_XMD:SHA-256_SSWU_RO_GENERATOR2";
/// Message hashed to the second generator.
pub const MSG_GENERATOR2: &[u8] = b"TDH2 second generator G'";

/// The second generator G' = hash_to_curve(MSG_GENERATOR2) with DST [`DST_GENERATOR2`]
/// (RFC 9380 P256_XMD:SHA-256_SSWU_RO_). Nobody knows log_G G'.
pub fn generator2() -> ProjectivePoint {
    static G2: OnceLock<ProjectivePoint> = OnceLock::new();
    *G2.get_or_init(|| {
        use p256::hash2curve::GroupDigest;
        NistP256::hash_from_bytes(&[MSG_GENERATOR2], &[DST_GENERATOR2.as_bytes()])
            .unwrap_or(ProjectivePoint::GENERATOR)
    })
}

/// A precomputed table of multiples of one fixed base point P, for `k·P` in about half the
/// time of 0.14's own table for G: the layout of p256's basepoint table (33 windows of
/// `[Q, 2Q, …, 8Q]`, `Q = 256^j·P`, the scalar recoded into 65 signed radix-16 digits), built
/// for any base on p256 0.13's faster field (`arith::FixedTable`, docs/crate-notes-project.md).
/// [`FixedBaseTable::mul`] selects every entry in constant time;
/// [`FixedBaseTable::mul_vartime`] is for public scalars only. Same results as `P * k`.
#[derive(Clone)]
pub struct FixedBaseTable {
    base: ProjectivePoint,
    /// `None` only if the base did not convert (never for a point on the curve): then every
    /// multiplication is `base * k`.
    table: Option<crate::arith::FixedTable>,
}

impl core::fmt::Debug for FixedBaseTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "FixedBaseTable({})", sec1c_hex(&self.base))
    }
}

impl FixedBaseTable {
    /// Build the table of `base` (32 × 8 point doublings, 33 × 7 additions, one batch
    /// inversion and 264 conversions to 0.13 points, once: about 0.55 ms).
    pub fn new(base: &ProjectivePoint) -> Self {
        FixedBaseTable {
            base: *base,
            table: crate::arith::FixedTable::new(base),
        }
    }

    /// The base point.
    pub fn base(&self) -> &ProjectivePoint {
        &self.base
    }

    /// `k·P` in constant time (k may be secret).
    pub fn mul(&self, k: &Scalar) -> ProjectivePoint {
        self.mul_encoded(k)
            .map(|(p, _)| p)
            .unwrap_or_else(|| self.base * k)
    }

    /// `k·P` in constant time with its compressed SEC1 encoding, both from one affine
    /// conversion. `None` when `k·P` is the identity (no 33-byte encoding).
    pub fn mul_encoded(&self, k: &Scalar) -> Option<(ProjectivePoint, [u8; 33])> {
        match &self.table {
            Some(t) => t.mul(k),
            None => encode_nonidentity(self.base * k),
        }
    }

    /// `k·P` in variable time: public scalars only.
    pub fn mul_vartime(&self, k: &Scalar) -> ProjectivePoint {
        match &self.table {
            Some(t) => t.mul_vartime(k).map(|(p, _)| p),
            None => None,
        }
        .unwrap_or_else(|| self.base * k)
    }
}

/// A point with its compressed encoding; `None` for the identity.
fn encode_nonidentity(p: ProjectivePoint) -> Option<(ProjectivePoint, [u8; 33])> {
    let enc = p.to_affine().to_sec1_point(true);
    let bytes: [u8; 33] = enc.as_bytes().try_into().ok()?;
    Some((p, bytes))
}

/// The fixed-base table of G on 0.13's field, built on first use (p256 0.14's own table for
/// G is about twice as slow).
pub fn generator_table() -> &'static FixedBaseTable {
    static T: OnceLock<FixedBaseTable> = OnceLock::new();
    T.get_or_init(|| FixedBaseTable::new(&ProjectivePoint::GENERATOR))
}

/// The fixed-base table of G', built on first use.
pub fn generator2_table() -> &'static FixedBaseTable {
    static T: OnceLock<FixedBaseTable> = OnceLock::new();
    T.get_or_init(|| FixedBaseTable::new(&generator2()))
}

/// Hex of [`sec1c`], for display.
pub(crate) fn sec1c_hex(p: &ProjectivePoint) -> String {
    hex::encode(sec1c(p))
}

/// 33-byte compressed SEC1 of any point; the identity encodes as 33 zero bytes.
pub(crate) fn sec1c(p: &ProjectivePoint) -> [u8; 33] {
    Point::new(*p, "p")
        .map(|q| q.to_bytes())
        .unwrap_or([0u8; 33])
}

/// Compressed SEC1 encodings of several points with one shared field inversion; the identity
/// encodes as 33 zero bytes (as in the challenge hashes).
pub fn sec1c_batch<const N: usize>(points: &[ProjectivePoint; N]) -> [[u8; 33]; N] {
    let mut affine = [AffinePoint::IDENTITY; N];
    ProjectivePoint::batch_normalize(points, &mut affine);
    affine.map(|a| {
        let enc = a.to_sec1_point(true);
        let mut out = [0u8; 33];
        if let Ok(b) = <[u8; 33]>::try_from(enc.as_bytes()) {
            out = b;
        }
        out
    })
}

/// [`sec1c_batch`] for any number of points.
pub fn sec1c_vec(points: &[ProjectivePoint]) -> Vec<[u8; 33]> {
    let mut affine = vec![AffinePoint::IDENTITY; points.len()];
    ProjectivePoint::batch_normalize(points, &mut affine);
    affine
        .iter()
        .map(|a| {
            let enc = a.to_sec1_point(true);
            <[u8; 33]>::try_from(enc.as_bytes()).unwrap_or([0u8; 33])
        })
        .collect()
}

/// Random non-zero scalar.
pub fn random_scalar<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    loop {
        let s = Scalar::random(rng);
        if !bool::from(s.is_zero()) {
            return s;
        }
    }
}

/// `a*G + b*P`, variable time: public data only.
pub fn mul_g_add_vartime(a: &Scalar, b: &Scalar, p: &ProjectivePoint) -> ProjectivePoint {
    ProjectivePoint::mul_by_generator_and_mul_add_vartime(a, b, p)
}

/// `a*P + b*Q`, variable time: public data only.
pub fn lincomb2_vartime(
    p: &ProjectivePoint,
    a: &Scalar,
    q: &ProjectivePoint,
    b: &Scalar,
) -> ProjectivePoint {
    ProjectivePoint::lincomb_vartime(&[(*p, *a), (*q, *b)])
}

/// Multi-scalar multiplication, variable time: public data only. From 16 terms on, Pippenger
/// (or Straus) from the `multiexp` crate on p256 0.13's arithmetic (`arith`, 2–4× faster
/// there); below, p256's own `lincomb_vartime`. Same result either way.
pub fn msm_vartime(terms: &[(ProjectivePoint, Scalar)]) -> ProjectivePoint {
    crate::arith::msm_vartime(terms)
}

/// `x·P` for every point, constant time in `x` (a secret key share), on p256 0.13's faster
/// arithmetic for more than a few points (`arith`). Same results as `P * x` one by one.
pub fn mul_each(x: &Scalar, points: &[ProjectivePoint]) -> Vec<ProjectivePoint> {
    crate::arith::mul_each(x, points)
}

/// `Σ λ_i·D_i` for Lagrange coefficients `λ_i` (variable time, like [`msm_vartime`], which the
/// combiners used before): when every `λ_i` or `−λ_i` is an integer below 2^64 — always so for
/// the ids `1..=k`, where `λ_i = (−1)^(i−1)·C(k, i)`, the ids a threshold-first retrieval asks —
/// by double-and-add on those small integers (a handful of additions instead of a 256-bit
/// multi-scalar multiplication); otherwise [`msm_vartime`]. Same result either way.
pub fn lagrange_combine_vartime(terms: &[(ProjectivePoint, Scalar)]) -> ProjectivePoint {
    let small: Option<Vec<(ProjectivePoint, u64)>> = terms
        .iter()
        .map(|(p, s)| small_signed(s).map(|(neg, v)| (if neg { -*p } else { *p }, v)))
        .collect();
    match small {
        Some(t) => t.iter().fold(ProjectivePoint::IDENTITY, |acc, (p, v)| {
            acc + mul_u64(p, *v)
        }),
        None => msm_vartime(terms),
    }
}

/// `(negative, |s|)` when `s` or `−s` is below 2^64.
fn small_signed(s: &Scalar) -> Option<(bool, u64)> {
    let low = |x: &Scalar| -> Option<u64> {
        let b: [u8; 32] = x.to_repr().into();
        let (high, low) = b.split_at(24);
        if high.iter().all(|&z| z == 0) {
            low.try_into().ok().map(u64::from_be_bytes)
        } else {
            None
        }
    };
    low(s)
        .map(|v| (false, v))
        .or_else(|| low(&-*s).map(|v| (true, v)))
}

/// `v·P` by double-and-add, variable time (public `v`).
fn mul_u64(p: &ProjectivePoint, v: u64) -> ProjectivePoint {
    let mut acc = ProjectivePoint::IDENTITY;
    for bit in (0..u64::BITS - v.leading_zeros()).rev() {
        acc = acc.double();
        if (v >> bit) & 1 == 1 {
            acc += p;
        }
    }
    acc
}

/// `s*P`, variable time: public data only.
pub fn mul_vartime(p: &ProjectivePoint, s: &Scalar) -> ProjectivePoint {
    p.mul_vartime(s)
}

/// Evaluate Feldman commitments `C_0..C_{k-1}` at a small integer `i`:
/// `sum_j C_j * i^j`, by Horner's rule with variable-time small-integer multiplications.
pub fn eval_commitments_vartime(commitments: &[ProjectivePoint], i: u16) -> ProjectivePoint {
    let x = Scalar::from(u64::from(i));
    let mut acc = ProjectivePoint::IDENTITY;
    for c in commitments.iter().rev() {
        acc = acc.mul_vartime(&x) + c;
    }
    acc
}

/// Lagrange coefficients at 0 for the distinct non-zero integer ids `ids`:
/// `lambda_i = prod_{j != i} j / (j - i)`, with one batch inversion. Errors on duplicates.
pub fn lagrange_at_zero(ids: &[u16]) -> Result<Vec<Scalar>> {
    let xs: Vec<Scalar> = ids.iter().map(|&i| Scalar::from(u64::from(i))).collect();
    let mut nums = Vec::with_capacity(xs.len());
    let mut dens = Vec::with_capacity(xs.len());
    for (a, xi) in xs.iter().enumerate() {
        let mut num = Scalar::ONE;
        let mut den = Scalar::ONE;
        for (b, xj) in xs.iter().enumerate() {
            if a != b {
                num *= xj;
                den *= *xj - xi;
            }
        }
        if bool::from(den.is_zero()) || bool::from(num.is_zero()) {
            let dup = ids.get(a).copied().unwrap_or(0);
            return Err(Error::DuplicateTrustee(dup));
        }
        nums.push(num);
        dens.push(den);
    }
    let mut scratch = vec![Scalar::ONE; dens.len()];
    // Public data (trustee ids): variable time is fine. All denominators are non-zero (checked).
    p256::elliptic_curve::ff::BatchInverter::invert_with_external_scratch(&mut dens, &mut scratch);
    Ok(nums.into_iter().zip(dens).map(|(n, d)| n * d).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lagrange_combine_equals_the_multi_scalar_multiplication() {
        let mut rng = rand::rng();
        let pts: Vec<ProjectivePoint> = (0..4)
            .map(|_| ProjectivePoint::GENERATOR * Scalar::random(&mut rng))
            .collect();
        // Ids 1..=k (small integer coefficients, both signs), other ids (fractions), and a
        // random scalar: the fast path and the fallback agree with lincomb.
        for ids in [&[1u16, 2, 3][..], &[1, 2, 3, 4], &[2, 4, 5], &[1, 3], &[7]] {
            let l = lagrange_at_zero(ids).unwrap();
            let terms: Vec<_> = pts.iter().copied().zip(l).collect();
            assert_eq!(
                lagrange_combine_vartime(&terms),
                msm_vartime(&terms),
                "{ids:?}"
            );
        }
        assert_eq!(small_signed(&-Scalar::from(3u64)), Some((true, 3)));
        assert_eq!(
            small_signed(&Scalar::from(u64::MAX)),
            Some((false, u64::MAX))
        );
        let big = Scalar::from(u64::MAX) * Scalar::from(5u64);
        assert_eq!(small_signed(&big), None);
        let terms = [(pts[0], big), (pts[1], Scalar::from(2u64))];
        assert_eq!(lagrange_combine_vartime(&terms), msm_vartime(&terms));
        assert_eq!(mul_u64(&pts[0], 0), ProjectivePoint::IDENTITY);
        assert_eq!(mul_u64(&pts[0], 13), pts[0] * Scalar::from(13u64));
    }

    #[test]
    fn point_roundtrip_and_rejects_identity() {
        let p = Point::new(ProjectivePoint::GENERATOR * Scalar::from(7u64), "t").unwrap();
        let q = Point::from_bytes(&p.to_bytes(), "t").unwrap();
        assert_eq!(p, q);
        assert!(Point::new(ProjectivePoint::IDENTITY, "t").is_err());
        assert!(Point::from_bytes(&[0u8; 33], "t").is_err());
        let mut off = p.to_bytes();
        off[0] = 0x05;
        assert!(Point::from_bytes(&off, "t").is_err());
        // x not on the curve: try a few x values until one is rejected
        let mut bad = [0u8; 33];
        bad[0] = 2;
        let mut rejected = 0;
        for x in 0..8u8 {
            bad[32] = x;
            if Point::from_bytes(&bad, "t").is_err() {
                rejected += 1;
            }
        }
        assert!(rejected > 0);
    }

    #[test]
    fn generator2_is_fixed_and_not_g() {
        let g2 = generator2();
        assert_ne!(g2, ProjectivePoint::GENERATOR);
        assert!(!bool::from(g2.is_identity()));
        assert_eq!(g2, generator2());
    }

    #[test]
    fn fixed_base_table_multiplies_like_the_curve() {
        let mut rng = rand::rng();
        let p = ProjectivePoint::GENERATOR * random_scalar(&mut rng);
        let t = FixedBaseTable::new(&p);
        // the tables on 0.13's field are the ones in use (not the fallback `base * k`)
        assert!(t.table.is_some() && generator_table().table.is_some());
        let minus_one = -Scalar::ONE;
        // digits of ±8 (the recoding's edges), carries into the last window, and the top
        let mut ks = vec![
            Scalar::ZERO,
            Scalar::ONE,
            minus_one,
            Scalar::from(16u64),
            Scalar::from(8u64),
            -Scalar::from(8u64),
            Scalar::from(0x8888_8888_8888_8888u64),
            Scalar::from(u64::MAX) * Scalar::from(u64::MAX) * Scalar::from(u64::MAX),
        ];
        ks.extend((0..20).map(|_| random_scalar(&mut rng)));
        for k in ks {
            assert_eq!(t.mul(&k), p * k);
            assert_eq!(t.mul_vartime(&k), p * k);
            assert_eq!(generator2_table().mul(&k), generator2() * k);
            assert_eq!(generator_table().mul(&k), ProjectivePoint::GENERATOR * k);
            // with its encoding; the identity has none
            match t.mul_encoded(&k) {
                Some((q, enc)) => {
                    assert_eq!(q, p * k);
                    assert_eq!(enc, Point::new(q, "q").unwrap().to_bytes());
                }
                None => assert!(bool::from((p * k).is_identity())),
            }
        }
        // a table of the identity multiplies to the identity
        let id = FixedBaseTable::new(&ProjectivePoint::IDENTITY);
        assert_eq!(id.mul(&minus_one), ProjectivePoint::IDENTITY);
        assert_eq!(id.mul_encoded(&minus_one), None);
        let pts = [p, ProjectivePoint::IDENTITY, generator2()];
        let enc = sec1c_batch(&pts);
        assert_eq!(enc[0], Point::new(p, "p").unwrap().to_bytes());
        assert_eq!(enc[1], [0u8; 33]);
        assert_eq!(enc[2], Point::new(generator2(), "g2").unwrap().to_bytes());
    }

    #[test]
    fn lagrange_interpolates() {
        // f(x) = 5 + 3x + 2x^2; f(0) = 5
        let f = |x: u64| Scalar::from(5u64 + 3 * x + 2 * x * x);
        let ids = [2u16, 5, 9];
        let l = lagrange_at_zero(&ids).unwrap();
        let s: Scalar = ids
            .iter()
            .zip(&l)
            .map(|(i, li)| f(u64::from(*i)) * li)
            .fold(Scalar::ZERO, |a, b| a + b);
        assert_eq!(s, Scalar::from(5u64));
        assert!(lagrange_at_zero(&[1, 1]).is_err());
    }

    #[test]
    fn scalar_rejects_overflow() {
        assert!(scalar_from_bytes(&[0xff; 32], "s").is_err());
        assert!(scalar_from_bytes(&[1; 31], "s").is_err());
    }
}
