//! Per-message operations of our scheme over (k, n) in {3/5, 7/10, 67/100, 170/255}, each beside
//! its floor (the sum of its curve operations, measured in the same run), and beside the naive
//! baseline and the `threshold_crypto` crate's pairing-based threshold encryption, on the same
//! message (label and 32-byte key).
//!
//! Groups: `primitives`, `seal`, `check`, `share`, `verify`, `combine`, `verify_batched`; ids
//! are `<scheme>/k<k>_n<n>`. Run: `cargo bench -p escrow-research --bench ops`. Release
//! protocol v2 (issue 14) beside v1 in the same groups: `ours_v2` (seal), `ours_v2_batch100`
//! (check of 100 headers at once), `ours_v2_answer_batch100` (one trustee's answer for 100),
//! `ours_v2_open_batch100` (the investigator opens and verifies it); per 100 messages.
//!
//! `verify_batched` (`share::verify_batch`: one multi-scalar multiplication over a random
//! linear combination of every proof's equations): `singly` and `batched` verify the k shares
//! of one ciphertext (time per k shares); `batched_1000` verifies the shares of the first k
//! trustees for ⌈1000/k⌉ ciphertexts at once (throughput: time per share); `response_1000`
//! is one trustee's answer for 1000 ciphertexts (what `escrow retrieve` verifies per
//! response), batched and singly, per share.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use escrow_core::codec::{Digest32, WarrantDigest};
use escrow_core::keys::PrivateKey;
use escrow_core::message;
use escrow_core::share::{self, DecryptionShare, ShareContext, ShareToVerify};
use escrow_core::tdh2::{self, ValidCiphertext};
use escrow_core::test_fixtures;
use escrow_core::trustee::{self, VerifiedKeyShare};
use escrow_core::v2;
use escrow_research::experiment;
use escrow_research::floor::{self, Inputs};
use escrow_research::naive::{self, NaiveSet, NaiveShare};
use escrow_research::workload;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

const SIZES: &[(u16, u16)] = &[(3, 5), (7, 10), (67, 100), (170, 255)];

/// Headers per v2 batch (`*_v2_batch100`, `*_v2_answer_batch100`, `*_v2_open_batch100`: the time
/// is for all of them; divide by 100 for one message).
const V2_BATCH: usize = 100;

fn id(scheme: &str, k: u16, n: u16) -> BenchmarkId {
    BenchmarkId::new(scheme, format!("k{k}_n{n}"))
}

fn primitives(c: &mut Criterion) {
    let mut rng = rand::rng();
    let i = Inputs::random(&mut rng);
    let mut g = c.benchmark_group("primitives");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("var_base", |b| b.iter(|| floor::var_base(black_box(&i))));
    g.bench_function("var_base_vartime", |b| {
        b.iter(|| floor::var_base_vartime(black_box(&i)))
    });
    g.bench_function("fixed_base_g", |b| {
        b.iter(|| floor::fixed_base_g(black_box(&i)))
    });
    g.bench_function("g_add_vartime", |b| {
        b.iter(|| floor::g_add_vartime(black_box(&i)))
    });
    g.bench_function("lincomb2_vartime", |b| {
        b.iter(|| floor::lincomb2_vartime(black_box(&i)))
    });
    for &(k, _) in SIZES {
        let terms = floor::msm_terms(usize::from(k), &mut rng);
        g.bench_with_input(BenchmarkId::new("lincomb_k_vartime", k), &terms, |b, t| {
            b.iter(|| floor::lincomb_k_vartime(black_box(t)))
        });
    }
    g.finish();
}

fn ops(c: &mut Criterion) {
    let mut rng = rand::rng();
    let msg = workload::messages(1, &mut rng).unwrap().remove(0);
    let inputs = Inputs::random(&mut rng);
    let ctx = ShareContext::without_warrant();
    let recipient = PrivateKey::generate(&mut rng).public();
    let body = vec![0x42u8; 1024];
    let mut rng07 = rand07::thread_rng();

    for &(k, n) in SIZES {
        let ku = usize::from(k);
        // ours
        let experiment::Dealt { set, mut keys, .. } = experiment::deal(n, k).unwrap();
        keys.truncate(ku);
        let (ct, _) = tdh2::encapsulate(&set, &msg.label, &msg.key, &mut rng).unwrap();
        let valid = ct.check(&set).unwrap();
        let shares: Vec<DecryptionShare> = keys
            .iter()
            .map(|ks| ks.decryption_share(&valid, &ctx, &mut rng).unwrap())
            .collect();
        let terms = floor::msm_terms(ku, &mut rng);
        let batch_terms = floor::msm_terms(4 * ku + 2, &mut rng);
        // naive
        let nset = NaiveSet::generate(n.into(), k.into(), &mut rng).unwrap();
        let nct = nset.seal(&msg.label, &msg.key, &mut rng).unwrap();
        let nshares: Vec<NaiveShare> = (1..=k)
            .map(|i| nset.trustee_share(i, &nct).unwrap())
            .collect();
        // threshold_crypto: threshold t means t + 1 shares decrypt
        let sks = threshold_crypto::SecretKeySet::random(ku - 1, &mut rng07);
        let pks = sks.public_keys();
        let tpk = pks.public_key();
        let tct = tpk.encrypt_with_rng(&mut rng07, msg.key.expose());
        let tshares: BTreeMap<usize, threshold_crypto::DecryptionShare> = (0..ku)
            .map(|i| (i, sks.secret_key_share(i).decrypt_share_no_verify(&tct)))
            .collect();
        let tsk0 = sks.secret_key_share(0usize);
        let tpk0 = pks.public_key_share(0usize);
        let tshare0 = tshares[&0].clone();
        assert_eq!(
            pks.decrypt(&tshares, &tct).unwrap(),
            msg.key.expose().to_vec()
        );
        // release protocol v2 (issue 14): 100 headers, checked in one batch, one answer of a
        // trustee for all of them, opened and verified by the investigator
        let v2cts: Vec<v2::EscrowCiphertextV2> = (0..V2_BATCH)
            .map(|_| {
                v2::encapsulate_v2(&set, &msg.label, &msg.key, &mut rng)
                    .unwrap()
                    .0
            })
            .collect();
        let warrant = WarrantDigest::from_bytes(Digest32::sha256(b"bench warrant").0);
        let (v2_valid, request) = test_fixtures::v2_request(&set, &warrant, &v2cts);
        let released = test_fixtures::v2_positions(&v2_valid);
        let investigator = PrivateKey::generate(&mut rng);
        let answer_bytes = v2::make_answer(
            &keys[0],
            &warrant,
            &request,
            &released,
            &investigator.public(),
            &mut rng,
        )
        .unwrap()
        .answer
        .to_bytes();

        // seal
        let mut g = c.benchmark_group("seal");
        g.sampling_mode(SamplingMode::Flat);
        g.bench_function(id("ours", k, n), |b| {
            b.iter(|| tdh2::encapsulate(&set, &msg.label, &msg.key, &mut rng).unwrap())
        });
        g.bench_function(id("ours_full_message_1KiB", k, n), |b| {
            b.iter(|| message::seal(&set, &recipient, &msg.label, &body, &mut rng).unwrap())
        });
        g.bench_function(id("ours_v2", k, n), |b| {
            b.iter(|| v2::encapsulate_v2(&set, &msg.label, &msg.key, &mut rng).unwrap())
        });
        g.bench_function(id("ours_v2_full_message_1KiB", k, n), |b| {
            b.iter(|| v2::seal_v2(&set, &recipient, &msg.label, &body, &mut rng).unwrap())
        });
        g.bench_function(id("floor", k, n), |b| {
            b.iter(|| floor::seal_ops(black_box(&inputs)))
        });
        g.bench_function(id("naive", k, n), |b| {
            b.iter(|| nset.seal(&msg.label, &msg.key, &mut rng).unwrap())
        });
        g.bench_function(id("naive_floor", k, n), |b| {
            b.iter(|| floor::naive_seal_ops(black_box(&inputs), usize::from(n)))
        });
        g.bench_function(id("threshold_crypto", k, n), |b| {
            b.iter(|| tpk.encrypt_with_rng(&mut rng07, msg.key.expose()))
        });
        g.finish();

        // public check
        let mut g = c.benchmark_group("check");
        g.sampling_mode(SamplingMode::Flat);
        g.bench_function(id("ours", k, n), |b| b.iter(|| ct.check(&set).unwrap()));
        g.bench_function(id("ours_v2_batch100", k, n), |b| {
            b.iter(|| v2::check_batch(&set, black_box(&v2cts)))
        });
        g.bench_function(id("floor", k, n), |b| {
            b.iter(|| floor::check_ops(black_box(&inputs)))
        });
        g.bench_function(id("threshold_crypto", k, n), |b| {
            b.iter(|| assert!(tct.verify()))
        });
        g.finish();

        // one trustee's share (ours: with its DLEQ proof)
        let mut g = c.benchmark_group("share");
        g.sampling_mode(SamplingMode::Flat);
        g.bench_function(id("ours", k, n), |b| {
            b.iter(|| keys[0].decryption_share(&valid, &ctx, &mut rng).unwrap())
        });
        g.bench_function(id("ours_v2_answer_batch100", k, n), |b| {
            b.iter(|| {
                v2::make_answer(
                    &keys[0],
                    &warrant,
                    &request,
                    black_box(&released),
                    &investigator.public(),
                    &mut rng,
                )
                .unwrap()
            })
        });
        g.bench_function(id("floor", k, n), |b| {
            b.iter(|| floor::share_ops(black_box(&inputs)))
        });
        g.bench_function(id("naive", k, n), |b| {
            b.iter(|| nset.trustee_share(1, &nct).unwrap())
        });
        g.bench_function(id("threshold_crypto", k, n), |b| {
            b.iter(|| tsk0.decrypt_share_no_verify(&tct))
        });
        g.finish();

        // verification of one share
        let mut g = c.benchmark_group("verify");
        g.sampling_mode(SamplingMode::Flat);
        g.bench_function(id("ours", k, n), |b| {
            b.iter(|| shares[0].verify(&set, &valid, &ctx).unwrap())
        });
        g.bench_function(id("ours_v2_open_batch100", k, n), |b| {
            b.iter(|| {
                v2::AnswerV2::from_bytes(black_box(&answer_bytes), V2_BATCH)
                    .unwrap()
                    .open(&investigator, &set, &warrant, &v2_valid)
                    .unwrap()
            })
        });
        g.bench_function(id("floor", k, n), |b| {
            b.iter(|| floor::verify_ops(black_box(&inputs)))
        });
        g.bench_function(id("threshold_crypto", k, n), |b| {
            b.iter(|| assert!(tpk0.verify_decryption_share(&tshare0, &tct)))
        });
        g.finish();

        // combine k shares (ours: verifies every proof, interpolates, unwraps)
        let mut g = c.benchmark_group("combine");
        g.sampling_mode(SamplingMode::Flat);
        g.bench_function(id("ours", k, n), |b| {
            b.iter(|| share::combine(&set, &valid, &ctx, &shares).unwrap())
        });
        g.bench_function(id("floor", k, n), |b| {
            b.iter(|| floor::combine_ops(black_box(&terms), black_box(&batch_terms)))
        });
        g.bench_function(id("batch_msm_floor", k, n), |b| {
            b.iter(|| floor::lincomb_k_vartime(black_box(&batch_terms)))
        });
        g.bench_function(id("naive", k, n), |b| {
            b.iter(|| naive::combine(k, &nshares).unwrap())
        });
        g.bench_function(id("threshold_crypto_unverified", k, n), |b| {
            b.iter(|| pks.decrypt(&tshares, &tct).unwrap())
        });
        g.bench_function(id("threshold_crypto", k, n), |b| {
            b.iter(|| {
                for (i, s) in &tshares {
                    assert!(pks.public_key_share(*i).verify_decryption_share(s, &tct));
                }
                pks.decrypt(&tshares, &tct).unwrap()
            })
        });
        g.finish();
    }
}

/// `n_msgs` checked ciphertexts of `set`, each with the shares of `keys`, ciphertext-major.
fn shares_over_messages(
    set: &trustee::TrusteeSet,
    keys: &[VerifiedKeyShare],
    n_msgs: usize,
    ctx: &ShareContext,
    rng: &mut impl rand::CryptoRng,
) -> (Vec<ValidCiphertext>, Vec<(usize, DecryptionShare)>) {
    let msgs = workload::messages(n_msgs, rng).unwrap();
    let cts: Vec<ValidCiphertext> = msgs
        .iter()
        .map(|m| {
            let (ct, _) = tdh2::encapsulate(set, &m.label, &m.key, rng).unwrap();
            ct.check(set).unwrap()
        })
        .collect();
    let mut shares = Vec::with_capacity(n_msgs * keys.len());
    for (j, ct) in cts.iter().enumerate() {
        for ks in keys {
            shares.push((j, ks.decryption_share(ct, ctx, rng).unwrap()));
        }
    }
    (cts, shares)
}

fn items<'a>(
    cts: &'a [ValidCiphertext],
    ctx: &'a ShareContext,
    shares: &'a [(usize, DecryptionShare)],
) -> Vec<ShareToVerify<'a>> {
    shares
        .iter()
        .map(|(j, s)| ShareToVerify {
            ciphertext: &cts[*j],
            context: ctx,
            share: s,
        })
        .collect()
}

fn verify_batched(c: &mut Criterion) {
    let mut rng = rand::rng();
    let ctx = ShareContext::without_warrant();
    let mut g = c.benchmark_group("verify_batched");
    g.sampling_mode(SamplingMode::Flat);
    for &(k, n) in SIZES {
        let ku = usize::from(k);
        let experiment::Dealt { set, mut keys, .. } = experiment::deal(n, k).unwrap();
        keys.truncate(ku);
        // k shares of one ciphertext
        let (cts, shares) = shares_over_messages(&set, &keys, 1, &ctx, &mut rng);
        let one = items(&cts, &ctx, &shares);
        assert!(share::verify_batch(&set, &one).iter().all(Result::is_ok));
        g.throughput(Throughput::Elements(ku as u64));
        g.bench_function(id("singly", k, n), |b| {
            b.iter(|| {
                for it in &one {
                    it.share.verify(&set, it.ciphertext, it.context).unwrap();
                }
            })
        });
        g.bench_function(id("batched", k, n), |b| {
            b.iter(|| share::verify_batch(&set, black_box(&one)))
        });
        // about 1000 shares: the first k trustees' shares of ⌈1000/k⌉ ciphertexts
        let n_msgs = 1000usize.div_ceil(ku);
        let (cts, shares) = shares_over_messages(&set, &keys, n_msgs, &ctx, &mut rng);
        let many = items(&cts, &ctx, &shares);
        assert!(share::verify_batch(&set, &many).iter().all(Result::is_ok));
        g.throughput(Throughput::Elements(many.len() as u64));
        g.bench_function(id("batched_1000", k, n), |b| {
            b.iter(|| share::verify_batch(&set, black_box(&many)))
        });
    }
    // one trustee's response: its shares of 1000 ciphertexts
    let d = trustee::deal(5, 3, &mut rng).unwrap();
    let key = d.set.verify_share(d.secrets[0].key_share.clone()).unwrap();
    let (cts, shares) =
        shares_over_messages(&d.set, std::slice::from_ref(&key), 1000, &ctx, &mut rng);
    let resp = items(&cts, &ctx, &shares);
    assert!(share::verify_batch(&d.set, &resp).iter().all(Result::is_ok));
    g.throughput(Throughput::Elements(resp.len() as u64));
    g.bench_function(BenchmarkId::new("response_1000", "batched"), |b| {
        b.iter(|| share::verify_batch(&d.set, black_box(&resp)))
    });
    g.bench_function(BenchmarkId::new("response_1000", "singly"), |b| {
        b.iter(|| {
            for it in &resp {
                it.share.verify(&d.set, it.ciphertext, it.context).unwrap();
            }
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1200))
}

criterion_group! {
    name = benches;
    config = config();
    targets = primitives, ops, verify_batched
}
criterion_main!(benches);
