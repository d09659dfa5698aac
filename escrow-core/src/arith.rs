//! Bulk P-256 arithmetic on the hot paths, computed with p256 0.13's field implementation.
//!
//! The project's points and scalars are p256 0.14 types. Measured on the 2-core machine
//! (docs/experiments.md §1, docs/crate-notes-project.md), 0.14's field arithmetic (on
//! `crypto-bigint`) is about twice as slow as 0.13's (fiat-crypto): a constant-time
//! variable-base multiplication takes ≈ 2× as long, a point decompression ≈ 1.6×, and 0.14's
//! multi-scalar multiplication (Straus with width-5 wNAF) is 2–4× slower than `multiexp`'s
//! Pippenger on 0.13 types for a few hundred points or more. So the three operations that
//! dominate a trustee's and an investigator's work per message — `x_i·u_j` for many `u_j`, the
//! batch checks' multi-scalar multiplications, and decoding compressed points — convert their
//! inputs to 0.13 types, compute there, and convert the results back.
//!
//! Conversion goes through the 65-byte uncompressed SEC1 encoding of affine points (one batch
//! inversion for many points), and each side's decoder checks that the point is on the curve,
//! so nothing the other version computes is taken on trust. Same results as the 0.14 paths
//! (tests below); where a conversion could fail (it cannot for points on the curve), the 0.14
//! path computes the result instead.

use p256::elliptic_curve::ff::PrimeField as _;
use p256::elliptic_curve::group::Curve as _;
use p256::elliptic_curve::sec1::{FromSec1Point, ToSec1Point};
use p256::{AffinePoint, ProjectivePoint, Scalar};
use p256_v13::elliptic_curve::ff::PrimeField as _;
use p256_v13::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use zeroize::Zeroizing;

type P13 = p256_v13::ProjectivePoint;
type A13 = p256_v13::AffinePoint;
type S13 = p256_v13::Scalar;

/// Terms from which a multi-scalar multiplication goes to `multiexp` (below, 0.14's own
/// `lincomb_vartime` is as fast and converts nothing).
const MSM_MIN: usize = 16;

/// Points from which a batch of constant-time multiplications is converted (one batch
/// inversion on the way in pays for itself from a few points on).
const MUL_MIN: usize = 4;

/// 0.14 → 0.13, many points with one batch inversion. `None` if any conversion fails.
fn to_v13(points: &[ProjectivePoint]) -> Option<Vec<P13>> {
    to_v13_affine(points).map(|a| a.into_iter().map(P13::from).collect())
}

/// 0.14 → 0.13 affine points, with one batch inversion. `None` if any conversion fails.
fn to_v13_affine(points: &[ProjectivePoint]) -> Option<Vec<A13>> {
    let mut affine = vec![AffinePoint::IDENTITY; points.len()];
    ProjectivePoint::batch_normalize(points, &mut affine);
    affine.iter().map(affine_to_v13).collect()
}

fn affine_to_v13(a: &AffinePoint) -> Option<A13> {
    let enc = a.to_sec1_point(false);
    let ep = p256_v13::EncodedPoint::from_bytes(enc.as_bytes()).ok()?;
    A13::from_encoded_point(&ep).into()
}

/// 0.13 → 0.14. `None` if any conversion fails. One field inversion per point: p256 0.13's
/// field has no `Invert` impl, so its batch normalization is not available.
fn from_v13(points: &[P13]) -> Option<Vec<ProjectivePoint>> {
    points
        .iter()
        .map(|p| {
            affine_from_v13(&p256_v13::elliptic_curve::group::Curve::to_affine(p))
                .map(ProjectivePoint::from)
        })
        .collect()
}

fn affine_from_v13(a: &A13) -> Option<AffinePoint> {
    let enc = a.to_encoded_point(false);
    let ep = p256::Sec1Point::from_bytes(enc.as_bytes()).ok()?;
    AffinePoint::from_sec1_point(&ep).into()
}

fn scalar_to_v13(s: &Scalar) -> Option<S13> {
    let bytes = Zeroizing::new(<[u8; 32]>::from(s.to_repr()));
    let s13: Option<S13> = S13::from_repr((*bytes).into()).into();
    s13
}

/// `Σ s_i·P_i`, variable time: public points and scalars only. `multiexp` (Pippenger or
/// Straus by size) on 0.13 types from [`MSM_MIN`] terms, 0.14's `lincomb_vartime` below.
pub(crate) fn msm_vartime(terms: &[(ProjectivePoint, Scalar)]) -> ProjectivePoint {
    use p256::elliptic_curve::ops::LinearCombination as _;
    let slow = || ProjectivePoint::lincomb_vartime(terms);
    if terms.len() < MSM_MIN {
        return slow();
    }
    let points: Vec<ProjectivePoint> = terms.iter().map(|(p, _)| *p).collect();
    let fast = || -> Option<ProjectivePoint> {
        let pts = to_v13(&points)?;
        let pairs = terms
            .iter()
            .zip(pts)
            .map(|((_, s), p)| scalar_to_v13(s).map(|s| (s, p)))
            .collect::<Option<Vec<(S13, P13)>>>()?;
        let r = multiexp::multiexp_vartime(&pairs);
        from_v13(&[r])?.pop()
    };
    fast().unwrap_or_else(slow)
}

/// `x·P_i` for every point, constant time in the secret `x` (0.13's windowed multiplication,
/// like 0.14's). The copy of `x` and the scalar's byte form are wiped after use.
pub(crate) fn mul_each(x: &Scalar, points: &[ProjectivePoint]) -> Vec<ProjectivePoint> {
    let slow = || points.iter().map(|p| *p * x).collect();
    if points.len() < MUL_MIN {
        return slow();
    }
    let fast = || -> Option<Vec<ProjectivePoint>> {
        let x13 = Zeroizing::new(scalar_to_v13(x)?);
        let pts = to_v13(points)?;
        let out: Vec<P13> = pts.iter().map(|p| *p * *x13).collect();
        from_v13(&out)
    };
    fast().unwrap_or_else(slow)
}

/// Elliptic-curve Diffie–Hellman: the x-coordinate of `secret·public`, constant time in
/// `secret`, by p256 0.13's `ecdh::diffie_hellman` (its variable-base multiplication is the
/// faster one). The copies of the secret and the result are wiped on drop. `None` for a public
/// point that does not convert (it always does for a point on the curve; callers pass only
/// non-identity public keys).
pub(crate) fn ecdh_x(
    secret: &p256::NonZeroScalar,
    public: &AffinePoint,
) -> Option<Zeroizing<[u8; 32]>> {
    let s: &Scalar = secret.as_ref();
    let s13 = Zeroizing::new(scalar_to_v13(s)?);
    let nz: Option<p256_v13::NonZeroScalar> = p256_v13::NonZeroScalar::new(*s13).into();
    let nz = Zeroizing::new(nz?);
    let public = affine_to_v13(public)?;
    // By reference: no unwiped copy of the scalar.
    let secret13: &p256_v13::NonZeroScalar = &nz;
    let shared = p256_v13::ecdh::diffie_hellman(secret13, public);
    let mut out = Zeroizing::new([0u8; 32]);
    for (o, b) in out.iter_mut().zip(shared.raw_secret_bytes().iter()) {
        *o = *b;
    }
    Some(out)
}

/// Windows of a [`FixedTable`]: one per scalar byte, plus one for the carry digit of the
/// signed radix-16 recoding (the shape of p256's own basepoint table).
const WINDOWS: usize = 33;

/// `[Q, 2Q, …, 8Q]` for one window's `Q = 256^j·P`, as 0.13 affine points (mixed additions).
type Window = [A13; 8];

/// A fixed-base table of one point P on 0.13 types: the layout of 0.14's
/// `primeorder::BasepointTable` (33 windows of `[Q, …, 8Q]`, `Q = 256^j·P`, the scalar recoded
/// into 65 signed radix-16 digits by 0.14's `Radix16Decomposition`), which 0.13 keeps private.
/// [`FixedTable::mul`] reads every entry of a window for every digit and negates by
/// conditional assignment: constant time in the scalar, like 0.14's `LookupTable::select`.
#[derive(Clone)]
pub(crate) struct FixedTable {
    windows: Box<[Window; WINDOWS]>,
}

/// The 65 signed radix-16 digits of a scalar (each in −8..=8), wiped on drop: they are the
/// secret scalar.
fn digits(k: &Scalar) -> Zeroizing<[i8; 2 * WINDOWS - 1]> {
    use primeorder::{Radix16Decomposition, Radix16Digits};
    let d = Radix16Decomposition::<Radix16Digits<p256::NistP256>>::new(k);
    Zeroizing::new(core::array::from_fn(|i| d[i]))
}

impl FixedTable {
    /// The table of `base`, once: its 264 points computed on 0.14 (8 × 32 doublings and
    /// 7 × 33 additions), made affine with one batch inversion (0.13 has no batch
    /// normalization; one inversion per point on 0.13 made the build 4× slower), then
    /// converted. `None` if a point does not convert (never for a point on the curve).
    pub(crate) fn new(base: &ProjectivePoint) -> Option<Self> {
        use p256::elliptic_curve::group::Group as _;
        let mut points = Vec::with_capacity(WINDOWS * 8);
        let mut q = *base;
        for _ in 0..WINDOWS {
            let mut acc = q;
            for i in 0..8 {
                if i > 0 {
                    acc += q;
                }
                points.push(acc);
            }
            for _ in 0..8 {
                q = q.double();
            }
        }
        let affine = to_v13_affine(&points)?;
        let mut windows = Box::new([[A13::IDENTITY; 8]; WINDOWS]);
        for (w, chunk) in windows.iter_mut().zip(affine.chunks_exact(8)) {
            w.copy_from_slice(chunk);
        }
        Some(FixedTable { windows })
    }

    /// `d·Q` from a window, `d` in −8..=8, reading all eight entries (constant time).
    fn select(w: &Window, d: i8) -> A13 {
        use p256_v13::elliptic_curve::subtle::{
            Choice, ConditionallySelectable as _, ConstantTimeEq as _,
        };
        let mask = d >> 7;
        let abs = ((d + mask) ^ mask) as u8;
        let mut t = A13::IDENTITY;
        for (j, p) in (1u8..).zip(w.iter()) {
            t.conditional_assign(p, abs.ct_eq(&j));
        }
        let neg = -t;
        t.conditional_assign(&neg, Choice::from((mask & 1) as u8));
        t
    }

    /// `d·Q` from a window in variable time: public scalars only.
    fn select_vartime(w: &Window, d: i8) -> A13 {
        let abs = d.unsigned_abs() as usize;
        let t = abs
            .checked_sub(1)
            .and_then(|i| w.get(i))
            .copied()
            .unwrap_or(A13::IDENTITY);
        if d < 0 { -t } else { t }
    }

    fn mul_with(&self, k: &Scalar, select: fn(&Window, i8) -> A13) -> P13 {
        use p256_v13::elliptic_curve::group::Group as _;
        let d = digits(k);
        // Digits 2j and 2j+1 both use window j (256^j·P); the odd digits' sum is multiplied
        // by 16 at the end. The last window takes the carry digit alone.
        let mut even = P13::IDENTITY;
        let mut odd = P13::IDENTITY;
        for (w, pair) in self.windows.iter().zip(d.chunks(2)) {
            match pair {
                [lo, hi] => {
                    even += select(w, *lo);
                    odd += select(w, *hi);
                }
                [lo] => even += select(w, *lo),
                _ => {}
            }
        }
        for _ in 0..4 {
            odd = odd.double();
        }
        even + odd
    }

    /// `k·P` in constant time (k may be secret), as a 0.14 point with its compressed
    /// encoding (one affine conversion on 0.13's field). `None` for the identity (k = 0) or
    /// a result that does not convert.
    pub(crate) fn mul(&self, k: &Scalar) -> Option<(ProjectivePoint, [u8; 33])> {
        to_v14_encoded(&self.mul_with(k, Self::select))
    }

    /// `k·P` in variable time: public scalars only.
    pub(crate) fn mul_vartime(&self, k: &Scalar) -> Option<(ProjectivePoint, [u8; 33])> {
        to_v14_encoded(&self.mul_with(k, Self::select_vartime))
    }
}

/// A 0.13 point as a 0.14 point and its compressed SEC1 encoding, with one inversion on
/// 0.13's field. `None` for the identity (which has no 33-byte encoding).
fn to_v14_encoded(p: &P13) -> Option<(ProjectivePoint, [u8; 33])> {
    let a = Zeroizing::new(p256_v13::elliptic_curve::group::Curve::to_affine(p));
    let c = a.to_encoded_point(true);
    let mut enc = [0u8; 33];
    if c.as_bytes().len() != enc.len() {
        return None;
    }
    enc.copy_from_slice(c.as_bytes());
    let a14 = affine_from_v13(&a)?;
    Some((ProjectivePoint::from(a14), enc))
}

/// Decode a compressed (33-byte) SEC1 point: the square root on 0.13's field, then the
/// uncompressed form decoded (and checked on the curve) by 0.14. `None` if it is not a point
/// on the curve. The caller checks the length and the prefix (0x02 or 0x03) first.
pub(crate) fn decompress(bytes: &[u8]) -> Option<AffinePoint> {
    let ep = p256_v13::EncodedPoint::from_bytes(bytes).ok()?;
    let a13: Option<A13> = A13::from_encoded_point(&ep).into();
    let a13 = a13?;
    if bool::from(p256_v13::elliptic_curve::group::prime::PrimeCurveAffine::is_identity(&a13)) {
        return None;
    }
    affine_from_v13(&a13)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::Field as _;
    use p256::elliptic_curve::group::Group as _;
    use p256::elliptic_curve::ops::LinearCombination as _;

    fn random_scalar(rng: &mut impl rand_core::CryptoRng) -> Scalar {
        crate::group::random_scalar(rng)
    }

    fn points(n: usize) -> Vec<ProjectivePoint> {
        let mut rng = rand::rng();
        (0..n)
            .map(|_| ProjectivePoint::GENERATOR * Scalar::random(&mut rng))
            .collect()
    }

    #[test]
    fn the_fast_msm_equals_lincomb_at_every_size() {
        let mut rng = rand::rng();
        for n in [0, 1, 2, MSM_MIN - 1, MSM_MIN, 100, 700] {
            let mut terms: Vec<(ProjectivePoint, Scalar)> = points(n)
                .into_iter()
                .map(|p| (p, Scalar::random(&mut rng)))
                .collect();
            // the identity, a zero scalar, 128-bit and negative scalars: as in the batch checks
            if n > 4 {
                terms[0].0 = ProjectivePoint::IDENTITY;
                terms[1].1 = Scalar::ZERO;
                terms[2].1 = Scalar::from(u64::MAX) * Scalar::from(u64::MAX);
                terms[3].1 = -Scalar::ONE;
            }
            assert_eq!(
                msm_vartime(&terms),
                ProjectivePoint::lincomb_vartime(terms.as_slice()),
                "n = {n}"
            );
        }
        // a sum that is the identity stays the identity (a passing batch check)
        let p = points(40);
        let mut terms: Vec<_> = p.iter().map(|q| (*q, Scalar::ONE)).collect();
        terms.extend(p.iter().map(|q| (*q, -Scalar::ONE)));
        assert!(bool::from(msm_vartime(&terms).is_identity()));
    }

    #[test]
    fn mul_each_equals_one_multiplication_each() {
        let mut rng = rand::rng();
        let x = Scalar::random(&mut rng);
        for n in [0, 1, MUL_MIN, 33] {
            let mut p = points(n);
            if n > 2 {
                p[1] = ProjectivePoint::IDENTITY;
            }
            let want: Vec<ProjectivePoint> = p.iter().map(|q| *q * x).collect();
            assert_eq!(mul_each(&x, &p), want, "n = {n}");
        }
    }

    #[test]
    fn ecdh_x_equals_p256_0_14s_diffie_hellman() {
        let mut rng = rand::rng();
        for _ in 0..8 {
            let a = p256::NonZeroScalar::new(random_scalar(&mut rng)).expect("non-zero");
            let b = p256::NonZeroScalar::new(random_scalar(&mut rng)).expect("non-zero");
            let pb = (ProjectivePoint::GENERATOR * *b).to_affine();
            let want = p256::ecdh::diffie_hellman(a, pb);
            let got = ecdh_x(&a, &pb).expect("a point on the curve");
            assert_eq!(got.as_slice(), want.raw_secret_bytes().as_slice());
        }
    }

    #[test]
    fn decompress_agrees_with_the_curve_and_refuses_what_is_not_a_point() {
        for p in points(20) {
            let a = p.to_affine();
            let enc = a.to_sec1_point(true);
            assert_eq!(decompress(enc.as_bytes()), Some(a));
        }
        // x values with no point on the curve are refused, exactly where 0.14's decoder
        // refuses them; some are found among the first few
        let mut bad = [0u8; 33];
        let mut refused = 0;
        for prefix in [2u8, 3] {
            bad[0] = prefix;
            for x in 0..16u8 {
                bad[32] = x;
                let ep = p256::Sec1Point::from_bytes(bad).expect("33 bytes with a 02/03 prefix");
                let want: Option<AffinePoint> = AffinePoint::from_sec1_point(&ep).into();
                assert_eq!(decompress(&bad), want, "x = {x}");
                refused += usize::from(want.is_none());
            }
        }
        assert!(refused > 0);
        assert_eq!(decompress(&[0u8]), None);
    }
}
