//! Property tests of the core: threshold recovery, tamper detection, share identification,
//! formats, point and scalar decoding, labels, and the recipient's escrow-compliance check.
//!
//! Every case draws a seed and runs the protocol with `StdRng::seed_from_u64(seed)`, so a
//! failure reproduces from the seed proptest prints. Case counts are small (16–32) and sets
//! small (n <= 7) so that the suite stays fast on two cores. Where it applies, the independent
//! reference verifier (`common::reference`, written from docs/protocol.md) must reach the same
//! verdict as the library.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::reference as spec;
use common::{Fixture, fixture, rng, shuffle, value, verified_keys};
use escrow_core::Error;
use escrow_core::codec::{Digest32, WarrantDigest, b64_decode, b64_encode, from_json};
use escrow_core::ecies::{self, EciesBox};
use escrow_core::group::{self, scalar_to_bytes};
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message::{self, SealedMessage};
use escrow_core::secret::MessageKey;
use escrow_core::share::{DecryptionShare, ShareContext, ShareToVerify, combine, verify_batch};
use escrow_core::tdh2::{EscrowCiphertext, encapsulate};
use escrow_core::time::Timestamp;
use escrow_core::trustee::{KeyShare, TrusteeSet, deal};
use p256::pkcs8::DecodePrivateKey as _;
use p256::{ProjectivePoint, Scalar};
use proptest::prelude::*;
use rand::rngs::StdRng;
use serde_json::{Value, json};

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// (n, k) with 1 <= k <= n <= 6.
fn nk() -> impl Strategy<Value = (u64, u64)> {
    (1u64..=6).prop_flat_map(|n| (Just(n), 1..=n))
}

/// (n, k) with 2 <= k <= n <= 6.
fn nk2() -> impl Strategy<Value = (u64, u64)> {
    (2u64..=6).prop_flat_map(|n| (Just(n), 2..=n))
}

// ---------- JSON helpers ----------

fn get<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

fn with(base: &Value, path: &[&str], new: Value) -> Value {
    let mut v = base.clone();
    let mut p = &mut v;
    for k in path {
        p = &mut p[*k];
    }
    *p = new;
    v
}

fn flip_bytes(b: &mut [u8], pos: usize, bit: u8) {
    let i = pos % b.len();
    b[i] ^= 1 << (bit % 8);
}

fn flip_hex(v: &Value, pos: usize, bit: u8) -> Value {
    let mut b = hex::decode(v.as_str().unwrap()).unwrap();
    flip_bytes(&mut b, pos, bit);
    Value::from(hex::encode(b))
}

fn flip_b64(v: &Value, pos: usize, bit: u8) -> Value {
    let mut b = b64_decode(v.as_str().unwrap()).unwrap();
    flip_bytes(&mut b, pos, bit);
    Value::from(b64_encode(&b))
}

/// Flip a low bit (0..=6) of one byte of an ASCII string: stays ASCII, always differs.
fn flip_ascii(v: &Value, pos: usize, bit: u8) -> Value {
    let mut b = v.as_str().unwrap().as_bytes().to_vec();
    let i = pos % b.len();
    b[i] ^= 1 << (bit % 7);
    Value::from(String::from_utf8(b).unwrap())
}

fn flip_time(v: &Value, bit: u8) -> Value {
    let t: Timestamp = serde_json::from_value(v.clone()).unwrap();
    Value::from(Timestamp(t.0 ^ (1i64 << (bit % 40))).to_rfc3339())
}

fn flip_u16(v: &Value, bit: u8) -> Value {
    Value::from(v.as_u64().unwrap() ^ (1u64 << (bit % 16)))
}

fn ct_from(v: &Value) -> escrow_core::Result<EscrowCiphertext> {
    from_json("escrow ciphertext", &v.to_string())
}

fn share_from(v: &Value) -> escrow_core::Result<DecryptionShare> {
    from_json("decryption share", &v.to_string())
}

fn refset(set: &TrusteeSet) -> spec::RefSet {
    spec::trustee_set(&serde_json::from_str(&set.to_json()).unwrap()).unwrap()
}

fn key_share_scalars(f: &Fixture) -> Vec<(u16, Scalar)> {
    let rs = refset(f.set());
    f.dealing
        .secrets
        .iter()
        .map(|s| {
            spec::key_share(&rs, &serde_json::from_str(&s.key_share.to_json()).unwrap()).unwrap()
        })
        .collect()
}

/// A share for trustee `i` with a proof that is internally consistent for a *wrong* secret
/// x' (d = x'u, a = tu, b = tG): what a malicious trustee without its true share can make.
fn forged_share(f: &Fixture, i: u16, r: &mut StdRng) -> DecryptionShare {
    let rs = refset(f.set());
    let rc = spec::ciphertext(&rs, &value(&f.ct)).unwrap();
    let x_wrong = group::random_scalar(r);
    let t = group::random_scalar(r);
    let d = rc.u * x_wrong;
    let (a, b) = (rc.u * t, ProjectivePoint::GENERATOR * t);
    let ctx = f.ctx.0.0;
    let input = spec::dleq_challenge_input(
        &rs.id,
        i,
        &rc.digest,
        &ctx,
        &rs.xs[usize::from(i) - 1],
        &rc.u,
        &d,
        &a,
        &b,
    );
    let e = spec::hash_to_scalar(spec::DST_DLEQ, &input);
    let z = t + x_wrong * e;
    let mut s = f.shares[usize::from(i) - 1].clone();
    s.d = group::Point::new(d, "d").unwrap();
    s.a = group::Point::new(a, "a").unwrap();
    s.b = group::Point::new(b, "b").unwrap();
    s.z = z;
    s
}

fn assert_not_enough(res: escrow_core::Result<escrow_core::share::Combined>, valid: usize, k: u16) {
    match res {
        Err(Error::NotEnoughShares {
            valid: v,
            threshold,
            ..
        }) => {
            assert_eq!((v, threshold), (valid, k));
        }
        other => panic!("expected NotEnoughShares, got {other:?}"),
    }
}

// ---------- Threshold ----------

proptest! {
    #![proptest_config(cfg(24))]

    /// Any k (or more) of the n shares, in any order, recover the message key; the combiner
    /// uses exactly k of them, and the reference combiner agrees.
    #[test]
    fn any_k_of_n_shares_recover((n, k) in nk(), extra in 0u64..4, seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let mut shares = f.shares.clone();
        shuffle(&mut shares, &mut r);
        let take = usize::try_from((k + extra).min(n)).unwrap();
        let subset = &shares[..take];
        let c = combine(f.set(), &f.valid, &f.ctx, subset).unwrap();
        prop_assert!(c.message_key == f.message_key);
        let first_k: Vec<u16> = subset.iter().take(usize::try_from(k).unwrap()).map(|s| s.trustee).collect();
        prop_assert_eq!(&c.used, &first_k);
        prop_assert!(c.rejected.is_empty());
        let rs = refset(f.set());
        let rc = spec::ciphertext(&rs, &value(&f.ct)).unwrap();
        let vals: Vec<Value> = subset.iter().map(value).collect();
        prop_assert_eq!(spec::combine(&rs, &rc, &f.ctx.0.0, &vals).unwrap(), *f.message_key.expose());
    }

    /// Any k-1 shares fail with NotEnoughShares (and so does the reference combiner).
    #[test]
    fn any_k_minus_1_shares_fail((n, k) in nk2(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let mut shares = f.shares.clone();
        shuffle(&mut shares, &mut r);
        let km1 = usize::from(f.k()) - 1;
        assert_not_enough(combine(f.set(), &f.valid, &f.ctx, &shares[..km1]), km1, f.k());
        assert_not_enough(combine(f.set(), &f.valid, &f.ctx, &[]), 0, f.k());
        let rs = refset(f.set());
        let rc = spec::ciphertext(&rs, &value(&f.ct)).unwrap();
        let vals: Vec<Value> = shares[..km1].iter().map(value).collect();
        prop_assert!(spec::combine(&rs, &rc, &f.ctx.0.0, &vals).is_err());
    }

    /// k-1 colluding trustees learn nothing useful: their key shares do not interpolate to x,
    /// their decryption shares interpolated as if they were enough do not unwrap the key,
    /// and shares they forge for the missing trustees are rejected by name.
    #[test]
    fn fewer_than_k_colluders_cannot_combine((n, k) in nk2(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let mut order: Vec<u16> = (1..=f.n()).collect();
        shuffle(&mut order, &mut r);
        let km1 = usize::from(f.k()) - 1;
        let colluders = &order[..km1];
        let missing = &order[km1..];
        // key shares: Lagrange over k-1 points is not x
        let xs = key_share_scalars(&f);
        let l = spec::lagrange(colluders);
        let guess = colluders.iter().zip(&l).fold(Scalar::ZERO, |acc, (i, li)| acc + xs[usize::from(*i) - 1].1 * li);
        prop_assert_ne!(ProjectivePoint::GENERATOR * guess, *f.set().escrow_key().inner());
        // decryption shares: "interpolate" k-1 of them, try to unwrap
        let rs = refset(f.set());
        let rc = spec::ciphertext(&rs, &value(&f.ct)).unwrap();
        let pts: Vec<(u16, ProjectivePoint)> = colluders.iter().map(|&i| (i, *f.shares[usize::from(i) - 1].d.inner())).collect();
        prop_assert!(spec::unwrap_key(&rc, &spec::interpolate(&pts)).is_none());
        // forge the missing trustee's share
        let m = missing[0];
        let mut shares: Vec<DecryptionShare> = colluders.iter().map(|&i| f.shares[usize::from(i) - 1].clone()).collect();
        shares.push(forged_share(&f, m, &mut r));
        match combine(f.set(), &f.valid, &f.ctx, &shares) {
            Err(Error::NotEnoughShares { valid, rejected, .. }) => {
                prop_assert_eq!(valid, km1);
                prop_assert!(rejected.contains(&format!("trustee {m}: decryption share from trustee {m} fails its DLEQ proof")), "{}", rejected);
            }
            other => prop_assert!(false, "expected NotEnoughShares, got {:?}", other),
        }
    }
}

// ---------- Tampering: ciphertext ----------

const CT_FIELDS: [&[&str]; 11] = [
    &["set_id"],
    &["label", "sender"],
    &["label", "recipient"],
    &["label", "timestamp"],
    &["label", "message_id"],
    &["u"],
    &["u_bar"],
    &["e"],
    &["f"],
    &["wrapped_key"],
    &["version"],
];

fn mutate_ct_field(ct: &Value, field: usize, pos: usize, bit: u8) -> Value {
    let path = CT_FIELDS[field];
    let old = get(ct, path);
    let new = match path.last().copied().unwrap() {
        "set_id" | "u" | "u_bar" | "e" | "f" => flip_hex(old, pos, bit),
        "sender" | "recipient" | "message_id" => flip_ascii(old, pos, bit),
        "timestamp" => flip_time(old, bit),
        "wrapped_key" => flip_b64(old, pos, bit),
        "version" => flip_u16(old, bit),
        other => unreachable!("{other}"),
    };
    with(ct, path, new)
}

proptest! {
    #![proptest_config(cfg(32))]

    /// Flipping any bit of any field of the ciphertext is detected: decoding or the public
    /// check fails, with the error class that field calls for; the reference agrees.
    #[test]
    fn ciphertext_field_tampering_is_detected(field in 0usize..CT_FIELDS.len(), pos in any::<usize>(), bit in 0u8..8, seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(3, 2, &mut r);
        let orig = value(&f.ct);
        let bad = mutate_ct_field(&orig, field, pos, bit);
        prop_assert_ne!(&bad, &orig);
        let verdict = ct_from(&bad).and_then(|c| c.check(f.set()));
        match (CT_FIELDS[field], &verdict) {
            (_, Ok(_)) => prop_assert!(false, "tampered ciphertext accepted: {:?}", CT_FIELDS[field]),
            (["set_id"], e) => prop_assert!(matches!(e, Err(Error::CiphertextForOtherSet { .. })), "{:?}", e),
            (["label", _], e) => prop_assert!(matches!(e, Err(Error::BadCiphertextProof | Error::InvalidLabel { .. } | Error::Malformed { .. })), "{:?}", e),
            (["wrapped_key"], e) => prop_assert!(matches!(e, Err(Error::BadCiphertextProof)), "{:?}", e),
            (["version"], e) => prop_assert!(matches!(e, Err(Error::Malformed { .. })), "{:?}", e),
            (_, e) => prop_assert!(matches!(e, Err(Error::BadCiphertextProof | Error::Malformed { .. })), "{:?}", e),
        }
        prop_assert!(spec::ciphertext(&refset(f.set()), &bad).is_err());
    }

    /// Flipping any byte of the serialized ciphertext (compact JSON text): it is refused, or it
    /// decodes to the very same ciphertext (same canonical bytes, same digest): e.g. a hex
    /// digit whose case changed.
    #[test]
    fn ciphertext_json_byte_flip_is_refused_or_harmless(pos in any::<usize>(), x in 1u8..=255, seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(3, 2, &mut r);
        let mut text = serde_json::to_vec(&f.ct).unwrap();
        let i = pos % text.len();
        text[i] ^= x;
        let Ok(s) = String::from_utf8(text) else { return Ok(()) };
        // parse the text directly: going through a Value would hide duplicate keys
        match from_json::<EscrowCiphertext>("ct", &s).and_then(|c| c.check(f.set())) {
            Err(_) => {}
            Ok(v) => {
                prop_assert_eq!(v.ciphertext().canonical_bytes(), f.ct.canonical_bytes());
                prop_assert_eq!(v.digest(), f.valid.digest());
            }
        }
    }

    /// Changing any label field to any other valid value is refused with BadCiphertextProof:
    /// a message cannot be relabelled into (or out of) a warrant's scope.
    #[test]
    fn relabelling_is_rejected(which in 0usize..4, sender in "[a-z]{1,12}@[a-z]{1,8}\\.org", id in "[A-Za-z0-9._-]{1,20}", dt in 1i64..1_000_000, seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(4, 2, &mut r);
        let mut ct = f.ct.clone();
        match which {
            0 => ct.label.sender = sender,
            1 => ct.label.recipient = sender,
            2 => ct.label.timestamp = f.ct.label.timestamp.plus(dt),
            _ => ct.label.message_id = id,
        }
        prop_assume!(ct.label != f.ct.label);
        prop_assert_eq!(ct.check(f.set()).unwrap_err(), Error::BadCiphertextProof);
        prop_assert_eq!(spec::ciphertext(&refset(f.set()), &value(&ct)).unwrap_err(), "proof");
    }
}

// ---------- Tampering: shares ----------

fn mutate_share_field(s: &Value, field: usize, pos: usize, bit: u8) -> Value {
    let name = spec::SHARE_FIELDS[field];
    let old = &s[name];
    let new = match name {
        "trustee" | "version" => flip_u16(old, bit),
        _ => flip_hex(old, pos, bit),
    };
    with(s, &[name], new)
}

proptest! {
    #![proptest_config(cfg(32))]

    /// Flipping any bit of any field of a decryption share is detected: the share does not
    /// decode, or does not verify, and the combiner names the trustee the share claims to be
    /// from (or refuses the index outright); the reference agrees.
    #[test]
    fn share_field_tampering_is_detected((n, k) in (2u64..=6).prop_flat_map(|n| (Just(n), 1..n)), which in any::<prop::sample::Index>(), field in 0usize..spec::SHARE_FIELDS.len(), pos in any::<usize>(), bit in 0u8..8, seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let i = which.index(f.shares.len());
        let bad = mutate_share_field(&value(&f.shares[i]), field, pos, bit);
        let rs = refset(f.set());
        let rc = spec::ciphertext(&rs, &value(&f.ct)).unwrap();
        prop_assert!(spec::share(&rs, &rc, &f.ctx.0.0, &bad).is_err());
        let Ok(bad) = share_from(&bad) else { return Ok(()) };
        prop_assert!(bad.verify(f.set(), &f.valid, &f.ctx).is_err());
        // the tampered share first, then every other honest share
        let mut all = vec![bad.clone()];
        all.extend(f.shares.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, s)| s.clone()));
        let t = bad.trustee;
        match combine(f.set(), &f.valid, &f.ctx, &all) {
            Ok(c) => {
                prop_assert!(c.message_key == f.message_key);
                prop_assert_eq!(c.rejected[0].0, t);
                prop_assert!(matches!(c.rejected[0].1, Error::BadShareProof { trustee } | Error::ShareForOtherCiphertext { trustee } if trustee == t), "{:?}", c.rejected);
                prop_assert!(!c.used.contains(&t));
            }
            Err(Error::DuplicateTrustee(d)) => prop_assert_eq!(d, t),
            Err(Error::TrusteeOutOfRange { index, .. }) => prop_assert!(index == 0 || index > n),
            Err(Error::NotEnoughShares { rejected, .. }) => {
                prop_assert!(n - 1 < k);
                prop_assert!(rejected.contains(&format!("trustee {t}:")), "{}", rejected);
            }
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }

    /// Flipping any byte of a serialized share: refused, or the very same share.
    #[test]
    fn share_json_byte_flip_is_refused_or_harmless(pos in any::<usize>(), x in 1u8..=255, seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(3, 2, &mut r);
        let mut text = serde_json::to_vec(&f.shares[1]).unwrap();
        let i = pos % text.len();
        text[i] ^= x;
        let Ok(s) = String::from_utf8(text) else { return Ok(()) };
        if let Ok(sh) = from_json::<DecryptionShare>("share", &s)
            && sh.verify(f.set(), &f.valid, &f.ctx).is_ok()
        {
            prop_assert_eq!(sh, f.shares[1].clone());
        }
    }

    /// Flipping any bit of a key-share file is detected by the Feldman check, and the error
    /// names the trustee the share claims to be.
    #[test]
    fn key_share_tampering_is_detected(which in any::<prop::sample::Index>(), field in 0usize..4, pos in any::<usize>(), bit in 0u8..8, seed in any::<u64>()) {
        let mut r = rng(seed);
        let d = deal(5, 3, &mut r).unwrap();
        let i = which.index(5);
        let v: Value = serde_json::from_str(&d.secrets[i].key_share.to_json()).unwrap();
        let bad = match field {
            0 => with(&v, &["set_id"], flip_hex(&v["set_id"], pos, bit)),
            1 => with(&v, &["index"], flip_u16(&v["index"], bit)),
            2 => with(&v, &["share"], flip_hex(&v["share"], pos, bit)),
            _ => with(&v, &["version"], flip_u16(&v["version"], bit)),
        };
        prop_assert!(spec::key_share(&refset(&d.set), &bad).is_err());
        let Ok(ks) = KeyShare::from_json(&bad.to_string()) else { return Ok(()) };
        let idx = ks.index();
        match d.set.verify_share(ks) {
            Ok(_) => prop_assert!(false, "tampered key share accepted"),
            Err(Error::BadKeyShare { trustee }) | Err(Error::WrongTrusteeSet { trustee, .. }) => prop_assert_eq!(trustee, idx),
            Err(Error::TrusteeOutOfRange { index, .. }) => prop_assert_eq!(index, u64::from(idx)),
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }
}

// ---------- Malicious trustees, foreign shares ----------

proptest! {
    #![proptest_config(cfg(24))]

    /// Up to n-k malicious trustees, each cheating in one of several ways; their shares come
    /// first so that the combiner must examine all of them. The key is still recovered, every
    /// cheater is named, and no cheater's share is used.
    #[test]
    fn malicious_trustees_are_identified((n, k) in (2u64..=7).prop_flat_map(|n| (Just(n), 1..n)), bad_count in 1usize..=6, kinds in prop::collection::vec(0u8..5, 7), seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let other_ctx = ShareContext::without_warrant();
        let other_ct = {
            let (ct, _) = encapsulate(f.set(), &common::label("msg-2"), &MessageKey::random(&mut r), &mut r).unwrap();
            ct.check(f.set()).unwrap()
        };
        let mut order: Vec<u16> = (1..=f.n()).collect();
        shuffle(&mut order, &mut r);
        let bad_count = bad_count.min(usize::from(f.n() - f.k()));
        let cheaters: Vec<u16> = order[..bad_count].to_vec();
        let mut shares = Vec::new();
        for (j, &c) in cheaters.iter().enumerate() {
            let key = &f.keys[usize::from(c) - 1];
            let honest = f.shares[usize::from(c) - 1].clone();
            let s = match kinds[j] {
                // (not another trustee's d: with k = 1 every trustee holds x itself)
                0 => DecryptionShare { d: group::Point::new(*honest.d.inner() + ProjectivePoint::GENERATOR, "d").unwrap(), ..honest },
                1 => forged_share(&f, c, &mut r),
                2 => DecryptionShare { context: f.ctx.0, ..key.decryption_share(&f.valid, &other_ctx, &mut r).unwrap() },
                3 => DecryptionShare { ciphertext: f.valid.digest(), ..key.decryption_share(&other_ct, &f.ctx, &mut r).unwrap() },
                _ => DecryptionShare { z: honest.z + Scalar::ONE, ..honest },
            };
            shares.push(s);
        }
        let mut honest: Vec<DecryptionShare> = order[bad_count..].iter().map(|&i| f.shares[usize::from(i) - 1].clone()).collect();
        shuffle(&mut honest, &mut r);
        shares.extend(honest);
        let c = combine(f.set(), &f.valid, &f.ctx, &shares).unwrap();
        prop_assert!(c.message_key == f.message_key);
        let mut named: Vec<u16> = c.rejected.iter().map(|(t, _)| *t).collect();
        named.sort_unstable();
        let mut want = cheaters.clone();
        want.sort_unstable();
        prop_assert_eq!(named, want);
        for (t, e) in &c.rejected {
            prop_assert!(matches!(e, Error::BadShareProof { trustee } if trustee == t), "{:?}", e);
        }
        prop_assert!(c.used.iter().all(|u| !cheaters.contains(u)));
    }

    /// Batch verification over many ciphertexts and trustees gives, item by item, the verdict
    /// of single verification and of the reference verifier: every honest share passes, every
    /// tampered, forged or misbound one is named by its trustee, wherever it sits in the batch.
    #[test]
    fn batch_verification_names_exactly_the_bad_shares((n, k) in (2u64..=6).prop_flat_map(|n| (Just(n), 1..=n)), messages in 1usize..=4, kinds in prop::collection::vec(0u8..12, 24), seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let mut cts = vec![f.valid.clone()];
        for m in 1..messages {
            let (ct, _) = encapsulate(f.set(), &common::label(&format!("msg-{m}")), &MessageKey::random(&mut r), &mut r).unwrap();
            cts.push(ct.check(f.set()).unwrap());
        }
        let other_ctx = ShareContext::without_warrant();
        let mut items: Vec<(usize, DecryptionShare, bool)> = Vec::new();
        let mut kinds = kinds.into_iter();
        for (m, ct) in cts.iter().enumerate() {
            for key in &f.keys {
                let honest = key.decryption_share(ct, &f.ctx, &mut r).unwrap();
                let (s, good) = match kinds.next().unwrap_or(0) {
                    0 => (DecryptionShare { z: honest.z + Scalar::ONE, ..honest }, false),
                    1 => (DecryptionShare { d: group::Point::new(*honest.d.inner() + ProjectivePoint::GENERATOR, "d").unwrap(), ..honest }, false),
                    2 => (DecryptionShare { a: honest.b, b: honest.a, ..honest }, false),
                    3 => (DecryptionShare { context: f.ctx.0, ..key.decryption_share(ct, &other_ctx, &mut r).unwrap() }, false),
                    4 if m == 0 => (forged_share(&f, key.index(), &mut r), false),
                    _ => (honest, true),
                };
                items.push((m, s, good));
            }
        }
        shuffle(&mut items, &mut r);
        let batch: Vec<ShareToVerify<'_>> = items.iter().map(|(m, s, _)| ShareToVerify { ciphertext: &cts[*m], context: &f.ctx, share: s }).collect();
        let res = verify_batch(f.set(), &batch);
        prop_assert_eq!(res.len(), items.len());
        let rs = refset(f.set());
        for ((m, s, good), got) in items.iter().zip(&res) {
            let rc = spec::ciphertext(&rs, &value(cts[*m].ciphertext())).unwrap();
            prop_assert_eq!(spec::share(&rs, &rc, &f.ctx.0.0, &value(s)).is_ok(), *good);
            prop_assert_eq!(got.as_ref().map(|_| ()).map_err(Clone::clone), s.verify(f.set(), &cts[*m], &f.ctx));
            if *good {
                prop_assert!(got.is_ok());
            } else {
                prop_assert_eq!(got.as_ref().unwrap_err().clone(), Error::BadShareProof { trustee: s.trustee });
            }
        }
    }

    /// No combination "succeeds regardless of its inputs": for a random mix of valid shares,
    /// shares for another ciphertext, another context, another trustee set, and tampered
    /// ones, the combiner succeeds if and only if at least k valid shares are present, and
    /// then returns the right key. The reference combiner reaches the same verdict.
    #[test]
    fn combination_succeeds_iff_k_valid_shares((n, k) in nk(), kinds in prop::collection::vec(0u8..6, 6), seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let other_ct = {
            let (ct, _) = encapsulate(f.set(), &common::label("msg-2"), &MessageKey::random(&mut r), &mut r).unwrap();
            ct.check(f.set()).unwrap()
        };
        let other_set = fixture(n, k, &mut r);
        let mut shares = Vec::new();
        let mut valid: usize = 0;
        for (i, kind) in kinds.iter().enumerate().take(f.keys.len()) {
            let s = match kind {
                0 => { valid += 1; f.shares[i].clone() }
                1 => f.keys[i].decryption_share(&other_ct, &f.ctx, &mut r).unwrap(),
                2 => f.keys[i].decryption_share(&f.valid, &ShareContext::without_warrant(), &mut r).unwrap(),
                3 => other_set.shares[i].clone(),
                4 => DecryptionShare { z: f.shares[i].z + Scalar::ONE, ..f.shares[i].clone() },
                _ => continue,
            };
            shares.push(s);
        }
        shuffle(&mut shares, &mut r);
        let res = combine(f.set(), &f.valid, &f.ctx, &shares);
        let rs = refset(f.set());
        let rc = spec::ciphertext(&rs, &value(&f.ct)).unwrap();
        let vals: Vec<Value> = shares.iter().map(value).collect();
        let reference = spec::combine(&rs, &rc, &f.ctx.0.0, &vals);
        if valid >= usize::try_from(k).unwrap() {
            let c = res.unwrap();
            prop_assert!(c.message_key == f.message_key);
            prop_assert_eq!(reference.unwrap(), *f.message_key.expose());
        } else {
            assert_not_enough(res, valid, f.k());
            prop_assert!(reference.is_err());
        }
    }

    /// Duplicate shares (the same share twice, or another share under a repeated index) are
    /// refused as DuplicateTrustee before anything is combined.
    #[test]
    fn duplicate_shares_are_caught((n, k) in nk2(), which in any::<prop::sample::Index>(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let i = which.index(f.shares.len());
        let t = f.shares[i].trustee;
        let mut shares = f.shares.clone();
        shares.push(f.shares[i].clone());
        shuffle(&mut shares, &mut r);
        prop_assert_eq!(combine(f.set(), &f.valid, &f.ctx, &shares).unwrap_err(), Error::DuplicateTrustee(t));
        // a fresh share of the same trustee (same d, new proof) is still a duplicate
        let again = f.keys[i].decryption_share(&f.valid, &f.ctx, &mut r).unwrap();
        let shares = vec![f.shares[i].clone(), again];
        prop_assert_eq!(combine(f.set(), &f.valid, &f.ctx, &shares).unwrap_err(), Error::DuplicateTrustee(t));
    }

    /// Shares from another trustee set, for another ciphertext, or for another context are
    /// caught and named, whether presented honestly or with their binding fields rewritten.
    #[test]
    fn foreign_shares_are_caught((n, k) in nk(), seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let g = fixture(n, k, &mut r);
        // A trustee of set B refuses a ciphertext escrowed to set A.
        prop_assert!(matches!(g.keys[0].decryption_share(&f.valid, &f.ctx, &mut r), Err(Error::CiphertextForOtherSet { .. })), "unexpected result");
        // B's shares (for B's ciphertext) presented to A's combiner
        for s in &g.shares {
            prop_assert_eq!(s.verify(f.set(), &f.valid, &f.ctx).unwrap_err(), Error::ShareForOtherCiphertext { trustee: s.trustee });
            let rewritten = DecryptionShare { ciphertext: f.valid.digest(), ..s.clone() };
            prop_assert_eq!(rewritten.verify(f.set(), &f.valid, &f.ctx).unwrap_err(), Error::BadShareProof { trustee: s.trustee });
        }
        assert_not_enough(combine(f.set(), &f.valid, &f.ctx, &g.shares), 0, f.k());
        // A's shares checked against set B (with A's valid ciphertext): the set id is in the proof
        for s in &f.shares {
            prop_assert_eq!(s.verify(g.set(), &f.valid, &f.ctx).unwrap_err(), Error::BadShareProof { trustee: s.trustee });
        }
        // another ciphertext of the same set
        let (ct2, _) = encapsulate(f.set(), &common::label("msg-2"), &MessageKey::random(&mut r), &mut r).unwrap();
        let v2 = ct2.check(f.set()).unwrap();
        for s in &f.shares {
            prop_assert_eq!(s.verify(f.set(), &v2, &f.ctx).unwrap_err(), Error::ShareForOtherCiphertext { trustee: s.trustee });
            let rewritten = DecryptionShare { ciphertext: v2.digest(), ..s.clone() };
            prop_assert_eq!(rewritten.verify(f.set(), &v2, &f.ctx).unwrap_err(), Error::BadShareProof { trustee: s.trustee });
        }
        assert_not_enough(combine(f.set(), &v2, &f.ctx, &f.shares), 0, f.k());
        // another context (another warrant, or none)
        for ctx in [ShareContext::without_warrant(), ShareContext::warrant(WarrantDigest::from_bytes(Digest32::sha256(b"warrant W-2").0))] {
            for s in &f.shares {
                prop_assert_eq!(s.verify(f.set(), &f.valid, &ctx).unwrap_err(), Error::ShareForOtherCiphertext { trustee: s.trustee });
                let rewritten = DecryptionShare { context: ctx.0, ..s.clone() };
                prop_assert_eq!(rewritten.verify(f.set(), &f.valid, &ctx).unwrap_err(), Error::BadShareProof { trustee: s.trustee });
            }
            assert_not_enough(combine(f.set(), &f.valid, &ctx, &f.shares), 0, f.k());
        }
    }

    /// Out-of-range trustee indices are errors, never panics.
    #[test]
    fn out_of_range_indices_are_errors((n, k) in nk(), bad in prop_oneof![Just(0u16), Just(u16::MAX), 7u16..300], seed in any::<u64>()) {
        let mut r = rng(seed);
        let f = fixture(n, k, &mut r);
        let s = DecryptionShare { trustee: bad, ..f.shares[0].clone() };
        prop_assert!(matches!(s.verify(f.set(), &f.valid, &f.ctx), Err(Error::TrusteeOutOfRange { .. })), "unexpected result");
        let mut shares = f.shares.clone();
        shares.push(s);
        prop_assert!(matches!(combine(f.set(), &f.valid, &f.ctx, &shares), Err(Error::TrusteeOutOfRange { .. })), "unexpected result");
        prop_assert!(f.set().member(bad).is_err());
    }
}

// ---------- Formats ----------

/// One instance of every serialized format.
struct Formats {
    set: TrusteeSet,
    key_share: Value,
    ct: EscrowCiphertext,
    share: DecryptionShare,
    msg: SealedMessage,
    ecies: EciesBox,
}

fn formats(seed: u64) -> Formats {
    let mut r = rng(seed);
    let f = fixture(4, 3, &mut r);
    let bob = PrivateKey::generate(&mut r);
    let msg = common::sealed(f.set(), &bob, b"hello", &mut r);
    let ecies = ecies::encrypt(&bob.public(), b"ctx", b"payload", &mut r).unwrap();
    Formats {
        key_share: serde_json::from_str(&f.dealing.secrets[2].key_share.to_json()).unwrap(),
        set: f.dealing.set.clone(),
        ct: f.ct.clone(),
        share: f.shares[1].clone(),
        msg,
        ecies,
    }
}

/// Parse `v` as the format `kind`, running its decode-time checks only.
fn decode(kind: &str, v: &Value) -> Result<(), String> {
    let s = v.to_string();
    let r = match kind {
        "trustee_set" => TrusteeSet::from_json(&s).map(|_| ()),
        "key_share" => KeyShare::from_json(&s).map(|_| ()),
        "ciphertext" => from_json::<EscrowCiphertext>("ct", &s).map(|_| ()),
        "share" => from_json::<DecryptionShare>("share", &s).map(|_| ()),
        "sealed_message" => SealedMessage::from_json(&s).map(|_| ()),
        "ecies" => from_json::<EciesBox>("ecies", &s).map(|_| ()),
        "label" => from_json::<Label>("label", &s).map(|_| ()),
        other => panic!("{other}"),
    };
    r.map_err(|e| e.to_string())
}

fn format_values(fm: &Formats) -> Vec<(&'static str, Value)> {
    vec![
        (
            "trustee_set",
            serde_json::from_str(&fm.set.to_json()).unwrap(),
        ),
        ("key_share", fm.key_share.clone()),
        ("ciphertext", value(&fm.ct)),
        ("share", value(&fm.share)),
        ("sealed_message", value(&fm.msg)),
        ("ecies", value(&fm.ecies)),
        ("label", value(&fm.ct.label)),
    ]
}

/// Paths of every object inside each format (where an unknown field could be smuggled) and
/// of every version field.
fn object_paths(kind: &str) -> Vec<Vec<&'static str>> {
    match kind {
        "trustee_set" => vec![vec![], vec!["members", "0"]],
        "ciphertext" => vec![vec![], vec!["label"]],
        "sealed_message" => vec![vec![], vec!["e2e"], vec!["escrow"], vec!["escrow", "label"]],
        _ => vec![vec![]],
    }
}

fn version_paths(kind: &str) -> Vec<Vec<&'static str>> {
    match kind {
        "sealed_message" => vec![
            vec!["version"],
            vec!["e2e", "version"],
            vec!["escrow", "version"],
        ],
        "label" => vec![],
        _ => vec![vec!["version"]],
    }
}

/// Like `with`, but numeric path segments index arrays.
fn with_path(base: &Value, path: &[&str], new: Option<Value>) -> Value {
    let mut v = base.clone();
    let mut p = &mut v;
    let (last, init) = path.split_last().unwrap();
    for k in init {
        p = match k.parse::<usize>() {
            Ok(i) => &mut p[i],
            Err(_) => &mut p[*k],
        };
    }
    match new {
        Some(n) => match last.parse::<usize>() {
            Ok(i) => p[i] = n,
            Err(_) => p[*last] = n,
        },
        None => {
            p.as_object_mut().unwrap().remove(*last);
        }
    }
    v
}

proptest! {
    #![proptest_config(cfg(16))]

    /// Every format round-trips through JSON: decode(encode(x)) == x and the re-encoding is
    /// byte-identical.
    #[test]
    fn every_format_round_trips(seed in any::<u64>()) {
        let fm = formats(seed);
        let s = fm.set.to_json();
        let set2 = TrusteeSet::from_json(&s).unwrap();
        prop_assert_eq!(&set2, &fm.set);
        prop_assert_eq!(set2.to_json(), s);
        let ks = KeyShare::from_json(&fm.key_share.to_string()).unwrap();
        prop_assert_eq!(serde_json::from_str::<Value>(&ks.to_json()).unwrap(), fm.key_share.clone());
        prop_assert_eq!(fm.set.verify_share(ks).unwrap().index(), 3);
        fn rt<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + core::fmt::Debug>(x: &T) -> Result<(), TestCaseError> {
            let s = serde_json::to_string(x).unwrap();
            let y: T = serde_json::from_str(&s).unwrap();
            prop_assert_eq!(&y, x);
            prop_assert_eq!(serde_json::to_string(&y).unwrap(), s);
            Ok(())
        }
        rt(&fm.ct)?;
        rt(&fm.share)?;
        rt(&fm.msg)?;
        rt(&fm.ecies)?;
        rt(&fm.ct.label)?;
        let line = fm.msg.to_json();
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(SealedMessage::from_json(&line).unwrap(), fm.msg.clone());
    }

    /// An unknown field anywhere (top level or nested object) is refused, in every format.
    #[test]
    fn unknown_fields_are_rejected(seed in any::<u64>(), name in "[a-z_]{1,10}") {
        let fm = formats(seed);
        for (kind, v) in format_values(&fm) {
            for path in object_paths(kind) {
                let target = path.iter().fold(&v, |v, k| match k.parse::<usize>() { Ok(i) => &v[i], Err(_) => &v[*k] });
                prop_assume!(!target.as_object().unwrap().contains_key(&name));
                let mut p = path.clone();
                p.push(name.as_str());
                let bad = with_path(&v, &p, Some(json!(1)));
                prop_assert!(decode(kind, &bad).is_err(), "{} accepted an unknown field at {:?}", kind, p);
            }
        }
    }

    /// Any version other than 1, a version of the wrong type, or a missing version is refused,
    /// including nested versions.
    #[test]
    fn wrong_versions_are_rejected(seed in any::<u64>(), bad in prop_oneof![Just(json!(0)), Just(json!(2)), (3u64..u64::MAX).prop_map(Value::from), Just(json!("1")), Just(json!(1.0)), Just(json!(-1)), Just(Value::Null)]) {
        let fm = formats(seed);
        for (kind, v) in format_values(&fm) {
            prop_assert!(decode(kind, &v).is_ok(), "{} does not decode as is", kind);
            for path in version_paths(kind) {
                prop_assert!(decode(kind, &with_path(&v, &path, Some(bad.clone()))).is_err(), "{} accepted version {} at {:?}", kind, bad, path);
                prop_assert!(decode(kind, &with_path(&v, &path, None)).is_err(), "{} accepted a missing version at {:?}", kind, path);
            }
        }
    }
}

/// Point encodings that must never decode.
fn bad_points() -> Vec<(String, Value)> {
    let g = spec::sec1(&ProjectivePoint::GENERATOR).to_vec();
    let mut v: Vec<(String, Value)> = vec![
        ("identity (00)".into(), json!("00")),
        // One point, one spelling (issue 11): upper-case hex and the uncompressed form of a
        // valid point are refused.
        (
            "upper-case hex of a valid point".into(),
            json!(hex::encode_upper(&g)),
        ),
        (
            "uncompressed form of a valid point".into(),
            json!(hex::encode(
                p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(
                    &ProjectivePoint::GENERATOR.to_affine(),
                    false,
                )
                .as_bytes()
            )),
        ),
        ("33 zero bytes".into(), json!(hex::encode([0u8; 33]))),
        ("empty".into(), json!("")),
        ("not hex".into(), json!("zz".repeat(33))),
        (
            "odd hex length".into(),
            json!(format!("{}0", hex::encode(&g))),
        ),
        ("number".into(), json!(5)),
        ("32 bytes".into(), json!(hex::encode(&g[..32]))),
        ("34 bytes".into(), json!(format!("{}00", hex::encode(&g)))),
        (
            "uncompressed prefix with 33 bytes".into(),
            json!(format!("04{}", hex::encode(&g[1..]))),
        ),
        (
            "prefix 05".into(),
            json!(format!("05{}", hex::encode(&g[1..]))),
        ),
        (
            "prefix 00".into(),
            json!(format!("00{}", hex::encode(&g[1..]))),
        ),
        (
            "prefix 01".into(),
            json!(format!("01{}", hex::encode(&g[1..]))),
        ),
        (
            "x = p (not a field element)".into(),
            json!("02ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
        ),
        (
            "x = 2^256 - 1".into(),
            json!(format!("02{}", "ff".repeat(32))),
        ),
        (
            "uncompressed identity (04 00..)".into(),
            json!(hex::encode([&[4u8][..], &[0u8; 64][..]].concat())),
        ),
    ];
    // the first few x with no point on the curve
    let mut found = 0;
    for x in 0u8..=255 {
        let mut b = [0u8; 33];
        b[0] = 2 + (x & 1);
        b[32] = x;
        if escrow_core::group::Point::from_bytes(&b, "t").is_err() {
            v.push((format!("off-curve x = {x}"), json!(hex::encode(b))));
            found += 1;
            if found == 3 {
                break;
            }
        }
    }
    // an uncompressed point whose y does not match x
    let mut u = p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(
        &ProjectivePoint::GENERATOR.to_affine(),
        false,
    )
    .as_bytes()
    .to_vec();
    u[64] ^= 1;
    v.push((
        "uncompressed, y off the curve".into(),
        json!(hex::encode(u)),
    ));
    v
}

fn point_paths(kind: &str) -> Vec<Vec<&'static str>> {
    match kind {
        "trustee_set" => vec![
            vec!["escrow_key"],
            vec!["commitments", "1"],
            vec!["members", "0", "verification_key"],
            vec!["members", "2", "signing_key"],
        ],
        "ciphertext" => vec![vec!["u"], vec!["u_bar"]],
        "share" => vec![vec!["d"], vec!["a"], vec!["b"]],
        "sealed_message" => vec![
            vec!["e2e", "ephemeral"],
            vec!["escrow", "u"],
            vec!["escrow", "u_bar"],
        ],
        "ecies" => vec![vec!["ephemeral"]],
        _ => vec![],
    }
}

fn scalar_paths(kind: &str) -> Vec<Vec<&'static str>> {
    match kind {
        "key_share" => vec![vec!["share"]],
        "ciphertext" => vec![vec!["e"], vec!["f"]],
        "share" => vec![vec!["z"]],
        "sealed_message" => vec![vec!["escrow", "e"], vec!["escrow", "f"]],
        _ => vec![],
    }
}

/// Off-curve, identity, wrong-prefix, wrong-length and non-hex points are refused when the
/// structure is decoded, in every field of every format that holds a point.
#[test]
fn bad_points_are_rejected_on_decode() {
    let fm = formats(7);
    let bad = bad_points();
    let mut checked = 0;
    for (kind, v) in format_values(&fm) {
        for path in point_paths(kind) {
            for (what, p) in &bad {
                let e = decode(kind, &with_path(&v, &path, Some(p.clone())));
                assert!(e.is_err(), "{kind} {path:?}: accepted {what}");
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "{checked}");
    // the library's own decoder, directly
    for (what, p) in &bad {
        if let Some(s) = p.as_str() {
            assert!(
                escrow_core::group::Point::from_hex(s, "t").is_err(),
                "accepted {what}"
            );
        }
    }
}

/// Scalars that are not below the group order, or not 32 bytes, are refused on decode; a zero
/// key share too.
#[test]
fn bad_scalars_are_rejected_on_decode() {
    let fm = formats(8);
    let order = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    let order_plus_1 = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632552";
    let bad = [
        json!(order),
        json!(order_plus_1),
        json!("ff".repeat(32)),
        json!("01".repeat(31)),
        json!("01".repeat(33)),
        json!(""),
        json!("zz".repeat(32)),
        // a valid scalar spelled in upper case
        json!("0A".repeat(32)),
        json!(1),
    ];
    for (kind, v) in format_values(&fm) {
        for path in scalar_paths(kind) {
            for b in &bad {
                assert!(
                    decode(kind, &with_path(&v, &path, Some(b.clone()))).is_err(),
                    "{kind} {path:?} accepted {b}"
                );
            }
        }
    }
    let zero = with_path(&fm.key_share, &["share"], Some(json!("00".repeat(32))));
    assert!(decode("key_share", &zero).is_err());
}

// ---------- Labels ----------

fn account() -> impl Strategy<Value = String> {
    // any printable Unicode (no control characters), 1..=40 chars
    "[^\\p{Cc}]{1,40}"
}

fn message_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._-]{1,40}"
}

fn timestamp() -> impl Strategy<Value = i64> {
    escrow_core::label::MIN_TIMESTAMP..=escrow_core::label::MAX_TIMESTAMP
}

proptest! {
    #![proptest_config(cfg(32))]

    /// The canonical label bytes are exactly `01 || lp(sender) || lp(recipient) ||
    /// i64_be(time) || lp(message_id)` of the normalised accounts (checked against the
    /// reference), labels round-trip
    /// through JSON, and the encoding is injective.
    #[test]
    fn label_canonical_encoding(s1 in account(), r1 in account(), t1 in timestamp(), m1 in message_id(),
                                s2 in account(), r2 in account(), t2 in timestamp(), m2 in message_id(), mix in 0u8..16) {
        let a = Label::new(&s1, &r1, Timestamp(t1), &m1).unwrap();
        // Label::new writes the accounts in normal form (NFC, lower-case domain).
        let (n1, nr1) = (escrow_core::label::normalize_account(&s1), escrow_core::label::normalize_account(&r1));
        prop_assert_eq!(a.to_bytes(), spec::label_bytes_raw(&n1, &nr1, t1, &m1));
        let j = serde_json::to_value(&a).unwrap();
        prop_assert_eq!(spec::label(&j).unwrap(), a.to_bytes());
        let back: Label = serde_json::from_value(j).unwrap();
        prop_assert_eq!(&back, &a);
        // a second label sharing a random subset of the fields
        let b = Label::new(
            if mix & 1 == 0 { &s1 } else { &s2 },
            if mix & 2 == 0 { &r1 } else { &r2 },
            Timestamp(if mix & 4 == 0 { t1 } else { t2 }),
            if mix & 8 == 0 { &m1 } else { &m2 },
        ).unwrap();
        prop_assert_eq!(a == b, a.to_bytes() == b.to_bytes());
    }

    /// Label fields outside their rules are refused by Label::new and by the ciphertext check.
    #[test]
    fn invalid_labels_are_refused(bad in prop_oneof![
        Just(("".to_string(), "b".to_string(), 0i64, "m".to_string())),
        Just(("a\u{0}".to_string(), "b".to_string(), 0, "m".to_string())),
        Just(("a".to_string(), "b\n".to_string(), 0, "m".to_string())),
        Just(("a".repeat(257), "b".to_string(), 0, "m".to_string())),
        Just(("a".to_string(), "b".to_string(), 0, "".to_string())),
        Just(("a".to_string(), "b".to_string(), 0, "m/1".to_string())),
        Just(("a".to_string(), "b".to_string(), 0, "m 1".to_string())),
        Just(("a".to_string(), "b".to_string(), 0, "x".repeat(129))),
        Just(("a".to_string(), "b".to_string(), 0, "é".to_string())),
        (prop_oneof![i64::MIN..escrow_core::label::MIN_TIMESTAMP, (escrow_core::label::MAX_TIMESTAMP + 1)..=i64::MAX])
            .prop_map(|t| ("a".to_string(), "b".to_string(), t, "m".to_string())),
    ], seed in any::<u64>()) {
        let (s, r, t, m) = bad;
        prop_assert!(matches!(Label::new(&s, &r, Timestamp(t), &m), Err(Error::InvalidLabel { .. })), "unexpected result");
        // smuggled into an otherwise valid ciphertext
        let mut rr = rng(seed);
        let f = fixture(2, 1, &mut rr);
        let mut ct = f.ct.clone();
        ct.label = Label { sender: s, recipient: r, timestamp: Timestamp(t), message_id: m };
        prop_assert!(matches!(ct.check(f.set()), Err(Error::InvalidLabel { .. })), "unexpected result");
    }
}

#[test]
fn label_bytes_example() {
    let l = Label::new("ab", "c", Timestamp(-1), "m.1").unwrap();
    assert_eq!(
        hex::encode(l.to_bytes()),
        concat!(
            "01",
            "00000002",
            "6162",
            "00000001",
            "63",
            "ffffffffffffffff",
            "00000003",
            "6d2e31"
        )
    );
    // the edges of the time range round-trip through JSON
    for t in [
        escrow_core::label::MIN_TIMESTAMP,
        escrow_core::label::MAX_TIMESTAMP,
    ] {
        let l = Label::new("a", "b", Timestamp(t), "m").unwrap();
        let back: Label = serde_json::from_str(&serde_json::to_string(&l).unwrap()).unwrap();
        assert_eq!(back, l);
    }
}

// ---------- Messages and Blaze's attack ----------

fn open_err(bob: &PrivateKey, set: &TrusteeSet, m: &SealedMessage) -> Error {
    message::open_unchecked_label(bob, set, m).unwrap_err()
}

fn is_noncompliant(e: &Error) -> bool {
    matches!(e, Error::NonCompliant { .. })
}

/// An escrow header that passes the public check but wraps the key under a rogue escrow key
/// Y' = y'G instead of the set's Y, built from the specification by a rogue sender.
fn rogue_escrow(
    set: &TrusteeSet,
    label: &Label,
    key: &[u8; 32],
    r: &mut StdRng,
) -> (EscrowCiphertext, Scalar) {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    let rs = refset(set);
    let rogue_y = ProjectivePoint::GENERATOR * group::random_scalar(r);
    let (re, s) = (group::random_scalar(r), group::random_scalar(r));
    let g2 = spec::g2();
    let (u, u_bar, w, w_bar) = (
        ProjectivePoint::GENERATOR * re,
        g2 * re,
        ProjectivePoint::GENERATOR * s,
        g2 * s,
    );
    let kk = spec::kem_key(&rs.id, &(rogue_y * re), &u);
    let lb = label.to_bytes();
    let wrapped = aes_gcm::Aes256Gcm::new(&kk.into())
        .encrypt(&aes_gcm::Nonce::default(), Payload { msg: key, aad: &lb })
        .unwrap();
    let e = spec::hash_to_scalar(
        spec::DST_TDH2,
        &spec::tdh2_challenge_input(&rs.id, &wrapped, &lb, &u, &w, &u_bar, &w_bar),
    );
    let f = s + re * e;
    let v = json!({
        "version": 1, "set_id": hex::encode(rs.id), "label": value(label),
        "u": hex::encode(spec::sec1(&u)), "u_bar": hex::encode(spec::sec1(&u_bar)),
        "e": hex::encode(scalar_to_bytes(&e)), "f": hex::encode(scalar_to_bytes(&f)),
        "wrapped_key": b64_encode(&wrapped),
    });
    (ct_from(&v).unwrap(), re)
}

/// Replace the end-to-end part with `inner` (what the rogue sender chooses to deliver).
fn with_e2e(m: &SealedMessage, bob: &PrivateKey, inner: &[u8], r: &mut StdRng) -> SealedMessage {
    let ctx = spec::context(spec::CTX_E2E, &m.escrow.label.to_bytes());
    SealedMessage {
        e2e: ecies::encrypt(&bob.public(), &ctx, inner, r).unwrap(),
        ..m.clone()
    }
}

fn inner(key: &[u8; 32], r: &Scalar) -> Vec<u8> {
    [&key[..], &scalar_to_bytes(r)[..]].concat()
}

proptest! {
    #![proptest_config(cfg(16))]

    /// Seal then open returns the plaintext, for the library and the reference recipient.
    #[test]
    fn seal_open_round_trip(body in prop::collection::vec(any::<u8>(), 0..2048), seed in any::<u64>()) {
        let mut r = rng(seed);
        let d = deal(3, 2, &mut r).unwrap();
        let bob = PrivateKey::generate(&mut r);
        let m = common::sealed(&d.set, &bob, &body, &mut r);
        let m = SealedMessage::from_json(&m.to_json()).unwrap();
        prop_assert_eq!(&message::open_unchecked_label(&bob, &d.set, &m).unwrap().body[..], &body[..]);
        let sk = *p256::SecretKey::from_pkcs8_pem(&bob.to_pem().unwrap()).unwrap().to_nonzero_scalar();
        prop_assert_eq!(spec::open_sealed(&sk, bob.public().key_id().as_bytes(), &refset(&d.set), &value(&m)).unwrap(), body.clone());
        // and two trustees recover it without bob
        let keys = verified_keys(&d);
        let v = m.escrow.check(&d.set).unwrap();
        let ctx = ShareContext::without_warrant();
        let shares: Vec<DecryptionShare> = keys[..2].iter().map(|k| k.decryption_share(&v, &ctx, &mut r).unwrap()).collect();
        let c = combine(&d.set, &v, &ctx, &shares).unwrap();
        prop_assert_eq!(&m.decrypt_body(&c.message_key).unwrap().body[..], &body[..]);
    }

    /// Blaze's attack on Clipper's LEAF, and its relatives: a message whose escrow header is
    /// missing, forged, foreign, or does not wrap the key the recipient receives is refused by
    /// the recipient, and the reference recipient refuses it too.
    #[test]
    fn noncompliant_escrow_headers_are_refused(seed in any::<u64>()) {
        let mut r = rng(seed);
        let d = deal(3, 2, &mut r).unwrap();
        let set = &d.set;
        let bob = PrivateKey::generate(&mut r);
        let sk = *p256::SecretKey::from_pkcs8_pem(&bob.to_pem().unwrap()).unwrap().to_nonzero_scalar();
        let rs = refset(set);
        let key_id = *bob.public().key_id().as_bytes();
        let m = common::sealed(set, &bob, b"attack at dawn", &mut r);
        let inner_ok = ecies::decrypt(&bob, &spec::context(spec::CTX_E2E, &m.escrow.label.to_bytes()), &m.e2e, "t").unwrap();
        let key: [u8; 32] = inner_ok[..32].try_into().unwrap();
        let r_ok = spec::scalar_hex(&json!(hex::encode(&inner_ok[32..]))).unwrap();
        let mut cases: Vec<(&str, SealedMessage)> = Vec::new();

        // 1. the header of another message (valid, same set, same label, other key)
        let other = common::sealed(set, &bob, b"other", &mut r);
        cases.push(("header of another message", SealedMessage { escrow: other.escrow.clone(), ..m.clone() }));
        // 2. a valid header wrapping a different key, with its own r delivered end to end
        let (ct2, r2) = encapsulate(set, &m.escrow.label, &MessageKey::random(&mut r), &mut r).unwrap();
        let m2 = SealedMessage { escrow: ct2, ..m.clone() };
        cases.push(("header wraps another key (r delivered)", with_e2e(&m2, &bob, &inner(&key, r2.expose()), &mut r)));
        // 3. the right header, a wrong r delivered
        cases.push(("wrong r delivered", with_e2e(&m, &bob, &inner(&key, &group::random_scalar(&mut r)), &mut r)));
        // 4. r = 0 and r = n
        let mut zero_r = key.to_vec();
        zero_r.extend_from_slice(&[0u8; 32]);
        cases.push(("r = 0", with_e2e(&m, &bob, &zero_r, &mut r)));
        let mut n_r = key.to_vec();
        n_r.extend_from_slice(&hex::decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551").unwrap());
        cases.push(("r = n", with_e2e(&m, &bob, &n_r, &mut r)));
        // 5. no r at all (only the key delivered), or trailing bytes
        cases.push(("key only", with_e2e(&m, &bob, &key, &mut r)));
        cases.push(("65-byte inner", with_e2e(&m, &bob, &[&inner(&key, &r_ok)[..], &[0u8]].concat(), &mut r)));
        // 6. a header that passes the public check but wraps the key under a rogue escrow key
        let (rogue, r_rogue) = rogue_escrow(set, &m.escrow.label, &key, &mut r);
        let rv = rogue.check(set).unwrap(); // the public check alone cannot see it...
        let keys = verified_keys(&d);
        let ctx = ShareContext::without_warrant();
        let shares: Vec<DecryptionShare> = keys[..2].iter().map(|k| k.decryption_share(&rv, &ctx, &mut r).unwrap()).collect();
        prop_assert!(matches!(combine(set, &rv, &ctx, &shares), Err(Error::Decrypt { .. })), "unexpected result"); // ...the trustees get nothing...
        let m6 = SealedMessage { escrow: rogue, ..m.clone() };
        cases.push(("header under a rogue escrow key", with_e2e(&m6, &bob, &inner(&key, &r_rogue), &mut r))); // ...and the recipient refuses it
        // 7. escrowed to a foreign (rogue-controlled) trustee set
        let rogue_set = deal(3, 2, &mut r).unwrap();
        let foreign = common::sealed(&rogue_set.set, &bob, b"x", &mut r);
        cases.push(("header for a foreign set", SealedMessage { escrow: foreign.escrow, ..m.clone() }));
        // 8. relabelled header
        let mut relabelled = m.clone();
        relabelled.escrow.label.sender = "mallory@example.org".into();
        cases.push(("relabelled header", relabelled));
        // 9. id differs from the label
        cases.push(("id differs from label", SealedMessage { id: "m-2".into(), ..m.clone() }));

        for (what, bad) in &cases {
            let e = open_err(&bob, set, bad);
            prop_assert!(is_noncompliant(&e), "{}: {:?}", what, e);
            prop_assert!(spec::open_sealed(&sk, &key_id, &rs, &value(bad)).is_err(), "reference accepted: {}", what);
        }
        // missing or null header: refused when the mailbox line is parsed
        let mut v = value(&m);
        v.as_object_mut().unwrap().remove("escrow");
        prop_assert!(SealedMessage::from_json(&v.to_string()).is_err());
        v["escrow"] = Value::Null;
        prop_assert!(SealedMessage::from_json(&v.to_string()).is_err());
        // the untouched message still opens
        prop_assert_eq!(&message::open_unchecked_label(&bob, set, &m).unwrap().body[..], b"attack at dawn");
    }

    /// The wrong recipient cannot open, and a tampered body or end-to-end part is refused.
    #[test]
    fn wrong_key_or_tampered_message_is_refused(pos in any::<usize>(), bit in 0u8..8, seed in any::<u64>()) {
        let mut r = rng(seed);
        let d = deal(3, 2, &mut r).unwrap();
        let bob = PrivateKey::generate(&mut r);
        let eve = PrivateKey::generate(&mut r);
        let m = common::sealed(&d.set, &bob, b"for bob only", &mut r);
        prop_assert!(matches!(message::open_unchecked_label(&eve, &d.set, &m), Err(Error::Decrypt { .. })), "unexpected result");
        // eve relabels the recipient_key to her own: she still cannot decrypt
        let stolen = SealedMessage { recipient_key: eve.public().key_id(), ..m.clone() };
        let e = message::open_unchecked_label(&eve, &d.set, &stolen);
        prop_assert!(matches!(e, Err(Error::Decrypt { .. } | Error::NonCompliant { .. })), "{:?}", e);
        let mut body = m.clone();
        flip_bytes(&mut body.body, pos, bit);
        prop_assert!(matches!(message::open_unchecked_label(&bob, &d.set, &body), Err(Error::Decrypt { .. })), "unexpected result");
        let mut e2e = m.clone();
        flip_bytes(&mut e2e.e2e.ciphertext, pos, bit);
        let e = message::open_unchecked_label(&bob, &d.set, &e2e);
        prop_assert!(matches!(e, Err(Error::Decrypt { .. } | Error::NonCompliant { .. })), "{:?}", e);
    }
}
