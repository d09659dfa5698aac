//! Criterion benchmarks of the core operations and, in the same run, of the curve and
//! symmetric operations they are made of (the "floor"). `docs/performance.md` reports each
//! operation's median beside the sum of its floor operations.
//!
//! ```text
//! cargo bench -p escrow-core --bench core
//! ```
//!
//! Measurement is kept short (2 s, 20 samples; 10 for the large set-ups) so that the whole run
//! takes a few minutes on two cores.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use aes_gcm::aead::{Aead, KeyInit, Payload};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use escrow_core::codec::{Digest32, WarrantDigest};
use escrow_core::group::{self, Point};
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message::{self, SealedMessage};
use escrow_core::secret::MessageKey;
use escrow_core::share::{self, DecryptionShare, ShareContext};
use escrow_core::tdh2::{self, EscrowCiphertext, ValidCiphertext};
use escrow_core::test_fixtures::vector_label;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, Dealing, VerifiedKeyShare};
use p256::elliptic_curve::Group as _;
use p256::elliptic_curve::ops::MulByGeneratorVartime;
use p256::{ProjectivePoint, Scalar};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::hint::black_box;
use std::time::Duration;

struct Setup {
    dealing: Dealing,
    keys: Vec<VerifiedKeyShare>,
    ct: EscrowCiphertext,
    valid: ValidCiphertext,
    ctx: ShareContext,
    shares: Vec<DecryptionShare>,
}

fn setup(n: u64, k: u64, rng: &mut StdRng) -> Setup {
    let dealing = trustee::deal(n, k, rng).unwrap();
    let keys: Vec<VerifiedKeyShare> = dealing
        .secrets
        .iter()
        .map(|s| dealing.set.verify_share(s.key_share.clone()).unwrap())
        .collect();
    let key = MessageKey::random(rng);
    let (ct, _) = tdh2::encapsulate(&dealing.set, &vector_label(), &key, rng).unwrap();
    let valid = ct.check(&dealing.set).unwrap();
    let ctx = ShareContext::warrant(WarrantDigest::from_bytes(Digest32::sha256(b"warrant").0));
    let shares = keys
        .iter()
        .map(|k| k.decryption_share(&valid, &ctx, rng).unwrap())
        .collect();
    Setup {
        dealing,
        keys,
        ct,
        valid,
        ctx,
        shares,
    }
}

fn random_subset(shares: &[DecryptionShare], k: usize, rng: &mut StdRng) -> Vec<DecryptionShare> {
    use rand::RngExt as _;
    let mut v = shares.to_vec();
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
    v.truncate(k);
    v
}

fn points(n: usize, rng: &mut StdRng) -> Vec<(ProjectivePoint, Scalar)> {
    (0..n)
        .map(|_| {
            (
                ProjectivePoint::mul_by_generator(&group::random_scalar(rng)),
                group::random_scalar(rng),
            )
        })
        .collect()
}

fn floor(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let p = ProjectivePoint::mul_by_generator(&group::random_scalar(&mut rng));
    let q = ProjectivePoint::mul_by_generator(&group::random_scalar(&mut rng));
    let a = group::random_scalar(&mut rng);
    let b = group::random_scalar(&mut rng);
    let mut g = c.benchmark_group("floor");
    g.bench_function("mul_ct", |bch| bch.iter(|| black_box(p) * black_box(a)));
    g.bench_function("mul_vartime", |bch| {
        bch.iter(|| group::mul_vartime(black_box(&p), black_box(&a)))
    });
    g.bench_function("mul_g", |bch| {
        bch.iter(|| ProjectivePoint::mul_by_generator(black_box(&a)))
    });
    let table = group::FixedBaseTable::new(&p);
    g.bench_function("mul_table", |bch| {
        bch.iter(|| black_box(&table).mul(black_box(&a)))
    });
    g.bench_function("mul_table_vartime", |bch| {
        bch.iter(|| black_box(&table).mul_vartime(black_box(&a)))
    });
    g.bench_function("table_build", |bch| {
        bch.iter(|| group::FixedBaseTable::new(black_box(&p)))
    });
    g.bench_function("mul_g_vartime", |bch| {
        bch.iter(|| ProjectivePoint::mul_by_generator_vartime(black_box(&a)))
    });
    // Horner's rule multiplies by the trustee index i: one iteration multiplies by every
    // i = 1..=n, so the mean cost of one such multiplication is the median / n.
    for n in [5u64, 100, 255] {
        let ids: Vec<Scalar> = (1..=n).map(Scalar::from).collect();
        g.bench_with_input(
            BenchmarkId::new("mul_small_vartime_1_to_n", n),
            &ids,
            |bch, ids| {
                bch.iter(|| {
                    ids.iter().fold(ProjectivePoint::IDENTITY, |acc, i| {
                        acc + group::mul_vartime(black_box(&p), i)
                    })
                })
            },
        );
    }
    g.bench_function("add", |bch| bch.iter(|| black_box(p) + black_box(q)));
    g.bench_function("mul_g_add_vartime", |bch| {
        bch.iter(|| group::mul_g_add_vartime(black_box(&a), black_box(&b), black_box(&p)))
    });
    g.bench_function("lincomb2_vartime", |bch| {
        bch.iter(|| group::lincomb2_vartime(black_box(&p), black_box(&a), black_box(&q), &b))
    });
    for k in [3usize, 67, 170] {
        let terms = points(k, &mut rng);
        g.bench_with_input(BenchmarkId::new("msm_vartime", k), &terms, |bch, t| {
            bch.iter(|| group::msm_vartime(black_box(t)))
        });
    }
    for k in [3u16, 67] {
        let ids: Vec<u16> = (1..=k).collect();
        g.bench_with_input(BenchmarkId::new("lagrange_at_zero", k), &ids, |bch, ids| {
            bch.iter(|| group::lagrange_at_zero(black_box(ids)).unwrap())
        });
    }
    // the TDH2 challenge input is about 290 bytes, the DLEQ one 263
    let msg = vec![0x5au8; 290];
    g.bench_function("hash_to_scalar", |bch| {
        bch.iter(|| group::hash_to_scalar(tdh2::DST_TDH2, &[black_box(&msg)]))
    });
    let pt = Point::new(p, "p").unwrap();
    let enc = pt.to_bytes();
    g.bench_function("compress", |bch| bch.iter(|| black_box(&pt).to_bytes()));
    g.bench_function("decompress", |bch| {
        bch.iter(|| Point::from_bytes(black_box(&enc), "p").unwrap())
    });
    let key = [7u8; 32];
    let body = vec![0u8; 1024];
    g.bench_function("aes_gcm_1KiB", |bch| {
        bch.iter(|| {
            aes_gcm::Aes256Gcm::new(&key.into())
                .encrypt(
                    &aes_gcm::Nonce::default(),
                    Payload {
                        msg: black_box(&body),
                        aad: b"aad",
                    },
                )
                .unwrap()
        })
    });
    g.bench_function("hkdf_sha256", |bch| {
        bch.iter(|| {
            let mut out = [0u8; 32];
            hkdf::Hkdf::<sha2::Sha256>::new(Some(&key), black_box(&enc))
                .expand(b"escrow/v1/tdh2-kem", &mut out)
                .unwrap();
            out
        })
    });
    g.bench_function("ecdsa_keygen", |bch| {
        bch.iter(|| PrivateKey::generate(&mut rng))
    });
    g.finish();
}

fn ops(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    let s3 = setup(5, 3, &mut rng);
    let s67 = setup(100, 67, &mut rng);
    let mut g = c.benchmark_group("op");

    let bob = PrivateKey::generate(&mut rng);
    let body = vec![0x42u8; 1024];
    g.bench_function("encapsulate", |bch| {
        let key = MessageKey::random(&mut rng);
        bch.iter(|| {
            tdh2::encapsulate(&s3.dealing.set, &vector_label(), black_box(&key), &mut rng).unwrap()
        })
    });
    g.bench_function("seal_1KiB", |bch| {
        bch.iter(|| {
            message::seal(
                &s3.dealing.set,
                &bob.public(),
                &vector_label(),
                black_box(&body),
                &mut rng,
            )
            .unwrap()
        })
    });
    let sealed: SealedMessage = message::seal(
        &s3.dealing.set,
        &bob.public(),
        &vector_label(),
        &body,
        &mut rng,
    )
    .unwrap();
    g.bench_function("open_1KiB", |bch| {
        bch.iter(|| {
            message::open_unchecked_label(&bob, &s3.dealing.set, black_box(&sealed)).unwrap()
        })
    });
    g.bench_function("check", |bch| {
        bch.iter(|| black_box(&s3.ct).check(&s3.dealing.set).unwrap())
    });
    g.bench_function("decryption_share", |bch| {
        bch.iter(|| {
            s3.keys[0]
                .decryption_share(black_box(&s3.valid), &s3.ctx, &mut rng)
                .unwrap()
        })
    });
    g.bench_function("share_verify", |bch| {
        bch.iter(|| {
            black_box(&s3.shares[0])
                .verify(&s3.dealing.set, &s3.valid, &s3.ctx)
                .unwrap()
        })
    });
    for s in [&s3, &s67] {
        let k = usize::from(s.dealing.set.threshold());
        // Not the contiguous ids 1..=k: their Lagrange coefficients are ±binomial(k, i), small
        // integers that make the MSM unrepresentatively cheap (so are those of half the
        // 3-subsets of 1..=5). k = 3: trustees {2, 4, 5} (10/3, −5, 8/3); k = 67: a random
        // 67-subset of 1..=100.
        let picked = if k == 3 {
            [1usize, 3, 4]
                .iter()
                .map(|&i| s.shares[i].clone())
                .collect()
        } else {
            random_subset(&s.shares, k, &mut rng)
        };
        g.bench_with_input(BenchmarkId::new("combine", k), &picked, |bch, picked| {
            bch.iter(|| {
                share::combine(&s.dealing.set, &s.valid, &s.ctx, black_box(picked)).unwrap()
            })
        });
        let ids: Vec<u16> = picked.iter().map(|x| x.trustee).collect();
        let ds: Vec<ProjectivePoint> = picked.iter().map(|x| *x.d.inner()).collect();
        g.bench_with_input(
            BenchmarkId::new("interpolate", k),
            &(ids, ds),
            |bch, (ids, ds)| {
                bch.iter(|| {
                    let l = group::lagrange_at_zero(black_box(ids)).unwrap();
                    let terms: Vec<(ProjectivePoint, Scalar)> = ds.iter().copied().zip(l).collect();
                    group::msm_vartime(&terms)
                })
            },
        );
    }
    g.finish();
}

fn deal(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(3);
    let mut g = c.benchmark_group("setup");
    g.sample_size(10);
    for (n, k) in [(5u64, 3u64), (100, 67), (255, 170)] {
        g.bench_with_input(
            BenchmarkId::new("deal", format!("{k}of{n}")),
            &(n, k),
            |bch, &(n, k)| bch.iter(|| trustee::deal(n, k, &mut rng).unwrap()),
        );
    }
    // Reading a trustee-set file back re-derives every verification key (Horner) and the id.
    for (n, k) in [(100u64, 67u64), (255, 170)] {
        let json = trustee::deal(n, k, &mut rng).unwrap().set.to_json();
        g.bench_with_input(
            BenchmarkId::new("set_from_json", format!("{k}of{n}")),
            &json,
            |bch, json| bch.iter(|| trustee::TrusteeSet::from_json(black_box(json)).unwrap()),
        );
    }
    g.finish();
}

/// Release protocol v1 and v2 side by side, per message (batches of 100 ciphertexts; divide
/// the batch benchmarks by 100).
fn v1_v2(c: &mut Criterion) {
    use escrow_core::release;
    use escrow_core::v2;
    const M: usize = 100;
    let mut rng = StdRng::seed_from_u64(4);
    let dealing = trustee::deal(5, 3, &mut rng).unwrap();
    let set = &dealing.set;
    let keys: Vec<VerifiedKeyShare> = dealing
        .secrets
        .iter()
        .map(|s| set.verify_share(s.key_share.clone()).unwrap())
        .collect();
    let inv = PrivateKey::generate(&mut rng);
    let warrant = WarrantDigest::from_bytes(Digest32::sha256(b"warrant").0);
    let ctx = ShareContext::warrant(warrant);
    let mk = MessageKey::random(&mut rng);
    let labels: Vec<Label> = (0..M)
        .map(|i| {
            Label::new(
                "alice@example.org",
                "bob@example.org",
                Timestamp(1_795_339_800),
                &format!("msg-{i:04}"),
            )
            .unwrap()
        })
        .collect();
    let v1: Vec<EscrowCiphertext> = labels
        .iter()
        .map(|l| tdh2::encapsulate(set, l, &mk, &mut rng).unwrap().0)
        .collect();
    let v1_valid: Vec<ValidCiphertext> = v1.iter().map(|c| c.check(set).unwrap()).collect();
    let v2cts: Vec<v2::EscrowCiphertextV2> = labels
        .iter()
        .map(|l| v2::encapsulate_v2(set, l, &mk, &mut rng).unwrap().0)
        .collect();
    let (v2_valid, request) = escrow_core::test_fixtures::v2_request(set, &warrant, &v2cts);
    let released = escrow_core::test_fixtures::v2_positions(&v2_valid);

    let mut g = c.benchmark_group("v1v2");
    g.sample_size(10);
    g.bench_function("encapsulate/v1", |b| {
        b.iter(|| tdh2::encapsulate(set, &labels[0], &mk, &mut rng).unwrap())
    });
    g.bench_function("encapsulate/v2", |b| {
        b.iter(|| v2::encapsulate_v2(set, &labels[0], &mk, &mut rng).unwrap())
    });
    // A whole sealed message (escrow header, the recipient's ECIES box, the 1 KiB body).
    let bob = PrivateKey::generate(&mut rng);
    let body = vec![0x42u8; 1024];
    g.bench_function("seal_1KiB/v1", |b| {
        b.iter(|| {
            message::seal(set, &bob.public(), &labels[0], black_box(&body), &mut rng).unwrap()
        })
    });
    g.bench_function("seal_1KiB/v2", |b| {
        b.iter(|| v2::seal_v2(set, &bob.public(), &labels[0], black_box(&body), &mut rng).unwrap())
    });
    g.bench_function("check/v1/1", |b| b.iter(|| v1[0].check(set).unwrap()));
    g.bench_function("check/v2/1", |b| b.iter(|| v2cts[0].check(set).unwrap()));
    g.bench_function("check/v2/batch100", |b| {
        b.iter(|| v2::check_batch(set, black_box(&v2cts)))
    });
    // The request size the investigator sends by default (`--batch 1000`): the 100 above ten
    // times over (the multi-scalar multiplication's cost does not depend on repeats).
    let v2cts1000: Vec<_> = v2cts.iter().cycle().take(1000).cloned().collect();
    g.bench_function("check/v2/batch1000", |b| {
        b.iter(|| v2::check_batch(set, black_box(&v2cts1000)))
    });
    // A trustee's share for one message, sealed to the investigator (v1: share + DLEQ proof
    // + ECIES box each), against one v2 answer for 100 messages.
    g.bench_function("trustee_share/v1/1", |b| {
        b.iter(|| {
            let s = keys[0]
                .decryption_share(&v1_valid[0], &ctx, &mut rng)
                .unwrap();
            release::seal_share(&inv.public(), &set.id(), &warrant, &s, &mut rng).unwrap()
        })
    });
    let make_answer = |rng: &mut StdRng| {
        v2::make_answer(&keys[0], &warrant, &request, &released, &inv.public(), rng).unwrap()
    };
    g.bench_function("trustee_answer/v2/batch100", |b| {
        b.iter(|| make_answer(&mut rng))
    });
    let answer = make_answer(&mut rng).answer;
    let bytes = answer.to_bytes();
    println!(
        "v2 answer of {M} shares: {} bytes; v2 ciphertext: {} bytes",
        bytes.len(),
        v2cts[0].to_bytes().len()
    );
    g.bench_function("investigator_open/v2/batch100", |b| {
        b.iter(|| {
            v2::AnswerV2::from_bytes(black_box(&bytes), M)
                .unwrap()
                .open(&inv, set, &warrant, &v2_valid)
                .unwrap()
        })
    });
    let v1_shares: Vec<DecryptionShare> = v1_valid
        .iter()
        .map(|v| keys[0].decryption_share(v, &ctx, &mut rng).unwrap())
        .collect();
    let boxes: Vec<_> = v1_shares
        .iter()
        .map(|s| release::seal_share(&inv.public(), &set.id(), &warrant, s, &mut rng).unwrap())
        .collect();
    g.bench_function("investigator_open/v1/batch100", |b| {
        b.iter(|| {
            let opened: Vec<DecryptionShare> = boxes
                .iter()
                .zip(&v1_valid)
                .map(|(bx, v)| {
                    release::open_share(&inv, &set.id(), 1, &warrant, &v.digest(), bx).unwrap()
                })
                .collect();
            let items: Vec<share::ShareToVerify<'_>> = opened
                .iter()
                .zip(&v1_valid)
                .map(|(s, v)| share::ShareToVerify {
                    ciphertext: v,
                    context: &ctx,
                    share: s,
                })
                .collect();
            share::verify_batch(set, &items).len()
        })
    });
    let answers: Vec<v2::VerifiedAnswer> = keys[..3]
        .iter()
        .map(|k| {
            v2::make_answer(k, &warrant, &request, &released, &inv.public(), &mut rng)
                .unwrap()
                .answer
                .open(&inv, set, &warrant, &v2_valid)
                .unwrap()
        })
        .collect();
    let first: Vec<&v2::VerifiedShareV2> = answers.iter().map(|a| &a.shares[0]).collect();
    g.bench_function("combine_verified/v2/k3", |b| {
        b.iter(|| v2::combine_v2(set, &v2_valid[0], black_box(&first)).unwrap())
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = floor, ops, deal, v1_v2
}
criterion_main!(benches);
