//! Trustee-set set-up cost: our dealer (`escrow_core::trustee::deal`: Feldman VSS with
//! vsss-rs, n verification keys, n ECDSA signing keys, the set id) against `frost-p256`'s
//! dealer key generation (`frost_p256::keys::generate_with_dealer`), `threshold_crypto`'s
//! `SecretKeySet` with its n key shares and public key shares, and the naive baseline's n
//! ECIES key pairs. Run: `cargo bench -p escrow-research --bench setup`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use escrow_research::naive::NaiveSet;
use std::time::Duration;

const SIZES: &[(u16, u16)] = &[(3, 5), (7, 10), (67, 100), (170, 255)];

fn setup(c: &mut Criterion) {
    let mut rng = rand::rng();
    let mut rng07 = rand07::thread_rng();
    let mut g = c.benchmark_group("setup");
    g.sampling_mode(SamplingMode::Flat);
    for &(k, n) in SIZES {
        let p = format!("k{k}_n{n}");
        g.bench_function(BenchmarkId::new("ours_deal", &p), |b| {
            b.iter(|| escrow_core::trustee::deal(n.into(), k.into(), &mut rng).unwrap())
        });
        g.bench_function(BenchmarkId::new("frost_p256_dealer", &p), |b| {
            b.iter(|| {
                frost_p256::keys::generate_with_dealer(
                    n,
                    k,
                    frost_p256::keys::IdentifierList::Default,
                    rand_core06::OsRng,
                )
                .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("threshold_crypto", &p), |b| {
            b.iter(|| {
                let sks = threshold_crypto::SecretKeySet::random(usize::from(k) - 1, &mut rng07);
                let pks = sks.public_keys();
                let shares: Vec<_> = (0..usize::from(n))
                    .map(|i| (sks.secret_key_share(i), pks.public_key_share(i)))
                    .collect();
                (pks, shares)
            })
        });
        g.bench_function(BenchmarkId::new("naive_keys", &p), |b| {
            b.iter(|| NaiveSet::generate(n.into(), k.into(), &mut rng).unwrap())
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
}

criterion_group! {
    name = benches;
    config = config();
    targets = setup
}
criterion_main!(benches);
