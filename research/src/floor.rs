//! Floors: the curve operations each per-message operation performs, timed on their own in
//! the same run. An operation's floor is the sum of its curve operations; hashing, encoding
//! and AEAD are what the operation adds on top. The operation counts follow the code in
//! `escrow-core` (see the table in `docs/experiments.md`); they are counts, not formulas.
//!
//! | operation | curve operations (floor) |
//! |---|---|
//! | seal (TDH2 encapsulate) | 2 fixed-base by G (`rG`, `sG`) + 3 variable-base (`rG'`, `sG'`, `rY`) |
//! | public check | 1 `aG + bP` vartime + 1 two-term `lincomb_vartime` (`fG' - eū`) |
//! | trustee share | 2 variable-base (`x_i u`, `t u`) + 1 fixed-base by G (`tG`) |
//! | share verification | 1 two-term `lincomb_vartime` + 1 `aG + bP` vartime |
//! | combine (k shares) | one (4k + 2)-term `lincomb_vartime` (all k proofs batched) + one k-term `lincomb_vartime` (interpolation) |
//! | naive seal | n × (1 fixed-base by G + 1 variable-base): one ECIES per trustee |
//! | naive trustee share | 1 variable-base (ECDH) |

use crate::stats::{self, Summary};
use escrow_core::group;
use p256::elliptic_curve::Field;
use p256::elliptic_curve::group::Group as _;
use p256::{ProjectivePoint, Scalar};
use serde::Serialize;
use std::hint::black_box;
use std::time::Instant;

/// Random inputs for the primitives.
pub struct Inputs {
    /// Scalars.
    pub a: Scalar,
    /// Scalars.
    pub b: Scalar,
    /// A point of unknown discrete log relation to P2.
    pub p: ProjectivePoint,
    /// Another point.
    pub q: ProjectivePoint,
}

impl Inputs {
    /// Fresh random inputs.
    pub fn random<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Inputs {
            a: Scalar::random(&mut *rng),
            b: Scalar::random(&mut *rng),
            p: ProjectivePoint::mul_by_generator(&group::random_scalar(rng)),
            q: ProjectivePoint::mul_by_generator(&group::random_scalar(rng)),
        }
    }
}

/// Variable-base multiplication, constant time (`P * s`).
pub fn var_base(i: &Inputs) -> ProjectivePoint {
    i.p * i.a
}

/// Variable-base multiplication, variable time (public data).
pub fn var_base_vartime(i: &Inputs) -> ProjectivePoint {
    group::mul_vartime(&i.p, &i.a)
}

/// Fixed-base multiplication by G (precomputed table, constant time).
pub fn fixed_base_g(i: &Inputs) -> ProjectivePoint {
    ProjectivePoint::mul_by_generator(&i.a)
}

/// `aG + bP`, variable time.
pub fn g_add_vartime(i: &Inputs) -> ProjectivePoint {
    group::mul_g_add_vartime(&i.a, &i.b, &i.p)
}

/// `aP + bQ`, variable time (two-term linear combination).
pub fn lincomb2_vartime(i: &Inputs) -> ProjectivePoint {
    group::lincomb2_vartime(&i.p, &i.a, &i.q, &i.b)
}

/// Terms for a k-term multi-scalar multiplication.
pub fn msm_terms<R: rand_core::CryptoRng + ?Sized>(
    k: usize,
    rng: &mut R,
) -> Vec<(ProjectivePoint, Scalar)> {
    (0..k)
        .map(|_| {
            (
                ProjectivePoint::mul_by_generator(&group::random_scalar(rng)),
                Scalar::random(&mut *rng),
            )
        })
        .collect()
}

/// k-term multi-scalar multiplication, variable time (the combiner's interpolation).
pub fn lincomb_k_vartime(terms: &[(ProjectivePoint, Scalar)]) -> ProjectivePoint {
    group::msm_vartime(terms)
}

/// The floor of sealing: exactly its curve operations, back to back.
pub fn seal_ops(i: &Inputs) -> ProjectivePoint {
    fixed_base_g(i) + fixed_base_g(i) + var_base(i) + var_base(i) + var_base(i)
}

/// The floor of the public check.
pub fn check_ops(i: &Inputs) -> ProjectivePoint {
    g_add_vartime(i) + lincomb2_vartime(i)
}

/// The floor of a trustee share.
pub fn share_ops(i: &Inputs) -> ProjectivePoint {
    var_base(i) + var_base(i) + fixed_base_g(i)
}

/// The floor of one share verification.
pub fn verify_ops(i: &Inputs) -> ProjectivePoint {
    lincomb2_vartime(i) + g_add_vartime(i)
}

/// The floor of combining k shares: the batched check of all k proofs (one `lincomb_vartime`
/// of 4k + 2 terms: `batch`) and the interpolation (one of k terms: `terms`).
pub fn combine_ops(
    terms: &[(ProjectivePoint, Scalar)],
    batch: &[(ProjectivePoint, Scalar)],
) -> ProjectivePoint {
    lincomb_k_vartime(batch) + lincomb_k_vartime(terms)
}

/// The floor of the naive seal for n trustees.
pub fn naive_seal_ops(i: &Inputs, n: usize) -> ProjectivePoint {
    let mut acc = ProjectivePoint::IDENTITY;
    for _ in 0..n {
        acc += fixed_base_g(i) + var_base(i);
    }
    acc
}

/// Primitive costs measured in this run, microseconds (median of `reps`).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Primitives {
    /// Variable-base multiplication, constant time.
    pub var_base_us: f64,
    /// Variable-base multiplication, variable time.
    pub var_base_vartime_us: f64,
    /// Fixed-base multiplication by G.
    pub fixed_base_g_us: f64,
    /// `aG + bP` vartime.
    pub g_add_vartime_us: f64,
    /// Two-term `lincomb_vartime`.
    pub lincomb2_vartime_us: f64,
}

/// Median time of `f` over `reps` runs, microseconds.
pub fn time_median<T>(reps: usize, mut f: impl FnMut() -> T) -> Summary {
    let mut v = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        black_box(f());
        v.push(stats::us(t.elapsed()));
    }
    stats::summarize(&mut v)
}

impl Primitives {
    /// Measure each primitive `reps` times.
    pub fn measure<R: rand_core::CryptoRng + ?Sized>(reps: usize, rng: &mut R) -> Self {
        let i = Inputs::random(rng);
        let i = &i;
        Primitives {
            var_base_us: time_median(reps, || var_base(black_box(i))).median_us,
            var_base_vartime_us: time_median(reps, || var_base_vartime(black_box(i))).median_us,
            fixed_base_g_us: time_median(reps, || fixed_base_g(black_box(i))).median_us,
            g_add_vartime_us: time_median(reps, || g_add_vartime(black_box(i))).median_us,
            lincomb2_vartime_us: time_median(reps, || lincomb2_vartime(black_box(i))).median_us,
        }
    }

    /// Floor of sealing.
    pub fn seal(&self) -> f64 {
        2.0 * self.fixed_base_g_us + 3.0 * self.var_base_us
    }
    /// Floor of the public check.
    pub fn check(&self) -> f64 {
        self.g_add_vartime_us + self.lincomb2_vartime_us
    }
    /// Floor of one trustee share.
    pub fn share(&self) -> f64 {
        2.0 * self.var_base_us + self.fixed_base_g_us
    }
    /// Floor of one share verification.
    pub fn verify(&self) -> f64 {
        self.lincomb2_vartime_us + self.g_add_vartime_us
    }
    /// Floor of combining k shares, given the measured k-term and (4k + 2)-term
    /// `lincomb_vartime` (interpolation, and all k proofs checked as one batch).
    pub fn combine(&self, lincomb_k_us: f64, batch_us: f64) -> f64 {
        lincomb_k_us + batch_us
    }
    /// Floor of the naive seal for n trustees.
    pub fn naive_seal(&self, n: u16) -> f64 {
        f64::from(n) * (self.fixed_base_g_us + self.var_base_us)
    }
    /// Floor of a naive trustee share (one ECDH).
    pub fn naive_share(&self) -> f64 {
        self.var_base_us
    }
}

/// Median time of a k-term `lincomb_vartime`, microseconds.
pub fn measure_lincomb_k<R: rand_core::CryptoRng + ?Sized>(
    k: usize,
    reps: usize,
    rng: &mut R,
) -> f64 {
    let terms = msm_terms(k, rng);
    time_median(reps, || lincomb_k_vartime(black_box(&terms))).median_us
}
