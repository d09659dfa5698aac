#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::answer::{ANSWER_HEADER_LEN, ANSWER_SHARE_LEN, seal_answer};
use super::ciphertext::{Prepared, batch_equation_holds, challenge, kem_key};
use super::*;
use crate::codec::{SetId, WarrantDigest};
use crate::ecies::seal_once;
use crate::keys::PrivateKey;
use crate::label::Label;
use crate::secret::MessageKey;
use crate::time::Timestamp;
use crate::trustee::{Dealing, VerifiedKeyShare, deal};
use p256::ProjectivePoint;
use proptest::prelude::*;

struct Fx {
    d: Dealing,
    keys: Vec<VerifiedKeyShare>,
    mks: Vec<MessageKey>,
    cts: Vec<EscrowCiphertextV2>,
}

fn label(i: usize) -> Label {
    Label::new("alice", "bob", Timestamp(1_700_000_000), &format!("m{i}")).unwrap()
}

fn fx(n: u64, k: u64, messages: usize) -> Fx {
    let mut rng = rand::rng();
    let d = deal(n, k, &mut rng).unwrap();
    let keys = d
        .secrets
        .iter()
        .map(|s| d.set.verify_share(s.key_share.clone()).unwrap())
        .collect();
    let mut mks = Vec::new();
    let mut cts = Vec::new();
    for i in 0..messages {
        let mk = MessageKey::random(&mut rng);
        cts.push(encapsulate_v2(&d.set, &label(i), &mk, &mut rng).unwrap().0);
        mks.push(mk);
    }
    Fx { d, keys, mks, cts }
}

#[test]
fn v2_ciphertext_checks_roundtrips_and_refuses_tampering() {
    let mut rng = rand::rng();
    let f = fx(5, 3, 1);
    let mk = MessageKey::random(&mut rng);
    let (ct, r) = encapsulate_v2(&f.d.set, &label(0), &mk, &mut rng).unwrap();
    let v = ct.check(&f.d.set).unwrap();
    v.check_opening(&f.d.set, &r, &mk).unwrap();
    assert_eq!(v.digest(), ct.digest());
    let bytes = ct.to_bytes();
    assert_eq!(
        bytes.len(),
        1 + 32 + 4 + label(0).to_bytes().len() + 4 * 33 + 32 + 48
    );
    assert_eq!(EscrowCiphertextV2::from_bytes(&bytes).unwrap(), ct);
    let json = crate::codec::to_json(&ct);
    assert_eq!(
        crate::codec::from_json::<EscrowCiphertextV2>("ct", &json).unwrap(),
        ct
    );
    // every field is bound
    let mut t = ct.clone();
    t.label.sender = "carol".into();
    assert_eq!(t.check(&f.d.set).unwrap_err(), Error::BadCiphertextProof);
    let mut t = ct.clone();
    t.wrapped_key[0] ^= 1;
    assert_eq!(t.check(&f.d.set).unwrap_err(), Error::BadCiphertextProof);
    let mut t = ct.clone();
    t.f += Scalar::ONE;
    assert_eq!(t.check(&f.d.set).unwrap_err(), Error::BadCiphertextProof);
    let mut t = ct.clone();
    t.w = Point::new(*t.w.inner() + ProjectivePoint::GENERATOR, "w").unwrap();
    assert_eq!(t.check(&f.d.set).unwrap_err(), Error::BadCiphertextProof);
    let mut t = ct.clone();
    core::mem::swap(&mut t.u, &mut t.u_bar);
    assert_eq!(t.check(&f.d.set).unwrap_err(), Error::BadCiphertextProof);
    let other = deal(5, 3, &mut rng).unwrap();
    assert!(matches!(
        ct.check(&other.set).unwrap_err(),
        Error::CiphertextForOtherSet { .. }
    ));
    assert!(
        v.check_opening(&f.d.set, &r, &MessageKey::random(&mut rng))
            .is_err()
    );
    // version 1 objects are refused, naming both versions
    let mut v1 = bytes.clone();
    v1[0] = 1;
    assert_eq!(
        EscrowCiphertextV2::from_bytes(&v1).unwrap_err(),
        Error::UnsupportedVersion {
            what: "v2 escrow ciphertext",
            found: 1,
            expected: 2
        }
    );
    let (v1ct, _) = crate::tdh2::encapsulate(&f.d.set, &label(0), &mk, &mut rng).unwrap();
    let err = crate::codec::from_json::<EscrowCiphertextV2>("ct", &crate::codec::to_json(&v1ct))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unsupported format version 1"), "{err}");
    // truncated, trailing, identity point
    assert!(EscrowCiphertextV2::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        EscrowCiphertextV2::from_bytes(&long).unwrap_err(),
        Error::malformed("v2 escrow ciphertext", "trailing bytes")
    );
    let mut idp = bytes.clone();
    let at = 1 + 32 + 4 + label(0).to_bytes().len();
    idp[at..at + 33].fill(0);
    assert_eq!(
        EscrowCiphertextV2::from_bytes(&idp).unwrap_err(),
        Error::InvalidPoint { field: "u" }
    );
}

#[test]
fn batch_check_agrees_with_single_checks_and_names_bad_ones() {
    let f = fx(5, 3, 6);
    assert!(check_batch(&f.d.set, &[]).is_empty());
    let all = check_batch(&f.d.set, &f.cts);
    for (r, ct) in all.iter().zip(&f.cts) {
        assert_eq!(r.as_ref().unwrap(), &ct.check(&f.d.set).unwrap());
    }
    // the batch equation itself holds (not only through the fallback)
    let enc: Vec<[[u8; 33]; 4]> = f
        .cts
        .iter()
        .map(|c| {
            group::sec1c_batch(&[
                *c.u.inner(),
                *c.u_bar.inner(),
                *c.w.inner(),
                *c.w_bar.inner(),
            ])
        })
        .collect();
    let prepared: Vec<Prepared<'_>> = f
        .cts
        .iter()
        .zip(&enc)
        .map(|(c, e)| c.prepare(&f.d.set, e).unwrap())
        .collect();
    assert!(batch_equation_holds(prepared.iter()));
    // two bad ones among six, and one for another set
    let mut bad = f.cts.clone();
    bad[1].f += Scalar::ONE;
    bad[4].label.recipient = "mallory".into();
    bad[5].set_id = SetId::from_bytes([3; 32]);
    let res = check_batch(&f.d.set, &bad);
    assert_eq!(res[1], Err(Error::BadCiphertextProof));
    assert_eq!(res[4], Err(Error::BadCiphertextProof));
    assert!(matches!(res[5], Err(Error::CiphertextForOtherSet { .. })));
    for j in [0, 2, 3] {
        assert_eq!(res[j].as_ref().unwrap().digest(), f.cts[j].digest());
    }
    // one alone
    assert_eq!(
        check_batch(&f.d.set, &bad[1..2]),
        vec![Err(Error::BadCiphertextProof)]
    );
}

/// A v2 ciphertext made with chosen r, s, whose carried w is moved by `shift` after the fact
/// but whose challenge hashes the moved w (so only the w equation is off, by −shift).
fn forged(f: &Fx, i: usize, shift: ProjectivePoint) -> EscrowCiphertextV2 {
    let mut rng = rand::rng();
    let set = &f.d.set;
    let r = group::random_scalar(&mut rng);
    let s = group::random_scalar(&mut rng);
    let u = ProjectivePoint::GENERATOR * r;
    let u_bar = group::generator2() * r;
    let w = ProjectivePoint::GENERATOR * s + shift;
    let w_bar = group::generator2() * s;
    let z = *set.escrow_key().inner() * r;
    let [u_e, w_e, ub_e, wb_e, z_e] = group::sec1c_batch(&[u, w, u_bar, w_bar, z]);
    let k = kem_key(&set.id(), &z_e, &u_e).unwrap();
    let lb = label(i).to_bytes();
    let c = seal_once(&k, f.mks[0].expose(), &lb).unwrap();
    let e = challenge(&set.id(), &c, &lb, [&u_e, &w_e, &ub_e, &wb_e]);
    EscrowCiphertextV2 {
        version: crate::codec::FormatVersion,
        set_id: set.id(),
        label: label(i),
        u: Point::new(u, "u").unwrap(),
        u_bar: Point::new(u_bar, "u_bar").unwrap(),
        w: Point::new(w, "w").unwrap(),
        w_bar: Point::new(w_bar, "w_bar").unwrap(),
        f: s + r * e,
        wrapped_key: c,
    }
}

#[test]
fn batch_weights_defeat_cancelling_ciphertext_errors() {
    let f = fx(3, 2, 1);
    let delta = ProjectivePoint::GENERATOR * group::random_scalar(&mut rand::rng());
    let cts = vec![
        forged(&f, 1, delta),
        forged(&f, 2, -delta),
        f.cts[0].clone(),
    ];
    // Each is bad alone; the unweighted sum of all six equations vanishes.
    let mut sum = ProjectivePoint::IDENTITY;
    for c in &cts {
        let enc = group::sec1c_batch(&[
            *c.u.inner(),
            *c.u_bar.inner(),
            *c.w.inner(),
            *c.w_bar.inner(),
        ]);
        let e = challenge(
            &c.set_id,
            &c.wrapped_key,
            &c.label.to_bytes(),
            [&enc[0], &enc[2], &enc[1], &enc[3]],
        );
        sum += ProjectivePoint::GENERATOR * c.f - c.w.inner() - *c.u.inner() * e;
        sum += group::generator2() * c.f - c.w_bar.inner() - *c.u_bar.inner() * e;
    }
    assert_eq!(sum, ProjectivePoint::IDENTITY);
    let res = check_batch(&f.d.set, &cts);
    assert_eq!(res[0], Err(Error::BadCiphertextProof));
    assert_eq!(res[1], Err(Error::BadCiphertextProof));
    assert!(res[2].is_ok());
}

struct Release {
    f: Fx,
    valid: Vec<ValidCiphertextV2>,
    w: WarrantDigest,
    r: Digest32,
    inv: PrivateKey,
}

fn release(n: u64, k: u64, m: usize) -> Release {
    let f = fx(n, k, m);
    let valid: Vec<ValidCiphertextV2> = check_batch(&f.d.set, &f.cts)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let w = WarrantDigest::from_digest(Digest32::sha256(b"warrant"));
    let digests: Vec<crate::codec::CiphertextDigest> =
        valid.iter().map(ValidCiphertextV2::digest).collect();
    let r = request_digest(&w, &digests);
    Release {
        f,
        valid,
        w,
        r,
        inv: PrivateKey::generate(&mut rand::rng()),
    }
}

/// The request's ciphertexts at `positions`, each with its position.
fn released<'a>(rel: &'a Release, positions: &[u32]) -> Vec<(u32, &'a ValidCiphertextV2)> {
    positions
        .iter()
        .map(|&p| (p, &rel.valid[p as usize]))
        .collect()
}

fn answer(rel: &Release, trustee: usize, positions: &[u32], cheat: bool) -> AnswerV2 {
    if cheat {
        // A cheating trustee: another point in place of d_0; the proof fails.
        return tampered_answer(rel, trustee, positions, |ds| {
            ds[0] += ProjectivePoint::GENERATOR;
        });
    }
    make_answer(
        &rel.f.keys[trustee],
        &rel.w,
        &rel.r,
        &released(rel, positions),
        &rel.inv.public(),
        &mut rand::rng(),
    )
    .unwrap()
    .answer
}

/// Trustee `trustee`'s answer over `positions`, its decryption points `d_j = x·u_j` changed
/// by `tamper` before it seals them and proves over them.
fn tampered_answer(
    rel: &Release,
    trustee: usize,
    positions: &[u32],
    tamper: impl FnOnce(&mut [ProjectivePoint]),
) -> AnswerV2 {
    let released = released(rel, positions);
    let key = &rel.f.keys[trustee];
    let mut ds: Vec<ProjectivePoint> = released
        .iter()
        .map(|(_, c)| *c.ciphertext().u.inner() * key.secret())
        .collect();
    tamper(&mut ds);
    seal_answer(
        key,
        &rel.w,
        &rel.r,
        &released,
        &ds,
        &rel.inv.public(),
        &mut rand::rng(),
    )
    .unwrap()
    .answer
}

#[test]
fn answers_open_verify_and_combine() {
    let rel = release(5, 3, 5);
    let positions = [0u32, 1, 3, 4];
    let mut verified = Vec::new();
    for t in [0usize, 2, 4] {
        let a = answer(&rel, t, &positions, false);
        let bytes = a.to_bytes();
        assert_eq!(
            bytes.len(),
            ANSWER_HEADER_LEN + ANSWER_SHARE_LEN * positions.len()
        );
        let back = AnswerV2::from_bytes(&bytes, 10).unwrap();
        let view = a.to_json_view();
        assert_eq!(view["version"], 2);
        assert_eq!(view["trustee"], t + 1);
        assert_eq!(view["shares"].as_array().unwrap().len(), positions.len());
        assert_eq!(view["shares"][2]["position"], 3);
        assert_eq!(view["shares"][2]["box"], hex::encode(a.shares[2].sealed));
        assert_eq!(back, a);
        assert!(AnswerV2::from_bytes(&bytes, 3).is_err());
        let v = back
            .open(&rel.inv, &rel.f.d.set, &rel.w, &rel.valid)
            .unwrap();
        assert_eq!(v.trustee, t as u16 + 1);
        assert_eq!(
            v.shares.iter().map(|s| s.position).collect::<Vec<_>>(),
            positions
        );
        verified.push(v);
    }
    for &p in &positions {
        let ct = &rel.valid[p as usize];
        let shares: Vec<&VerifiedShareV2> = verified.iter().flat_map(|v| v.shares.iter()).collect();
        let (mk, used) = combine_v2(&rel.f.d.set, ct, &shares).unwrap();
        assert_eq!(mk, rel.f.mks[p as usize]);
        assert_eq!(used, vec![1, 3, 5]);
    }
    // two answers are not enough; the same trustee twice is refused
    let two: Vec<&VerifiedShareV2> = verified[..2].iter().flat_map(|v| v.shares.iter()).collect();
    assert!(matches!(
        combine_v2(&rel.f.d.set, &rel.valid[0], &two).unwrap_err(),
        Error::NotEnoughShares { valid: 2, .. }
    ));
    let dup: Vec<&VerifiedShareV2> = [&verified[0], &verified[0], &verified[1]]
        .iter()
        .flat_map(|v| v.shares.iter())
        .collect();
    assert_eq!(
        combine_v2(&rel.f.d.set, &rel.valid[0], &dup).unwrap_err(),
        Error::DuplicateTrustee(1)
    );
}

#[test]
fn a_bad_answer_is_refused_whole_and_names_the_trustee() {
    let rel = release(5, 3, 4);
    let pos = [0u32, 2, 3];
    let open = |a: &AnswerV2| a.open(&rel.inv, &rel.f.d.set, &rel.w, &rel.valid);
    // the node's fault injection: d_0 moved, every share refused
    let a = answer(&rel, 1, &pos, true);
    assert_eq!(open(&a).unwrap_err(), Error::BadAnswerProof { trustee: 2 });
    let good = answer(&rel, 1, &pos, false);
    open(&good).unwrap();
    let mut t = good.clone();
    t.e += Scalar::ONE;
    assert_eq!(open(&t).unwrap_err(), Error::BadAnswerProof { trustee: 2 });
    let mut t = good.clone();
    t.z += Scalar::ONE;
    assert_eq!(open(&t).unwrap_err(), Error::BadAnswerProof { trustee: 2 });
    // claiming to be another trustee: the boxes' keys bind the index
    let mut t = good.clone();
    t.trustee = 3;
    assert!(matches!(
        open(&t).unwrap_err(),
        Error::BadAnswer { trustee: 3, .. }
    ));
    // a box moved to another position, boxes swapped, a box changed, a position out of range:
    // the answer does not open
    let moved: [fn(&mut AnswerV2); 4] = [
        |t| t.shares[0].position = 1,
        |t| t.shares.swap(0, 1),
        |t| t.shares[2].sealed[5] ^= 1,
        |t| t.shares[2].position = 9,
    ];
    for change in moved {
        let mut t = good.clone();
        change(&mut t);
        assert!(matches!(
            open(&t).unwrap_err(),
            Error::BadAnswer { trustee: 2, .. }
        ));
    }
    // dropping a share changes the transcript: the proof fails
    let mut t = good.clone();
    t.shares.remove(1);
    assert_eq!(open(&t).unwrap_err(), Error::BadAnswerProof { trustee: 2 });
    // another warrant, another request, another investigator, another set
    let w2 = WarrantDigest::from_digest(Digest32::sha256(b"other warrant"));
    assert!(matches!(
        good.open(&rel.inv, &rel.f.d.set, &w2, &rel.valid)
            .unwrap_err(),
        Error::BadAnswer { trustee: 2, .. }
    ));
    assert!(matches!(
        good.open(&rel.inv, &rel.f.d.set, &rel.w, &rel.valid[..3])
            .unwrap_err(),
        Error::BadAnswer { trustee: 2, .. }
    ));
    let other = PrivateKey::generate(&mut rand::rng());
    assert!(matches!(
        good.open(&other, &rel.f.d.set, &rel.w, &rel.valid)
            .unwrap_err(),
        Error::BadAnswer { trustee: 2, .. }
    ));
    let set2 = deal(5, 3, &mut rand::rng()).unwrap().set;
    assert!(matches!(
        good.open(&rel.inv, &set2, &rel.w, &rel.valid).unwrap_err(),
        Error::WrongTrusteeSet { trustee: 2, .. }
    ));
    // version 1 refused by the decoder
    let mut b = good.to_bytes();
    b[0] = 1;
    assert_eq!(
        AnswerV2::from_bytes(&b, 10).unwrap_err(),
        Error::UnsupportedVersion {
            what: "v2 answer",
            found: 1,
            expected: 2
        }
    );
}

#[test]
fn composite_weights_defeat_cancelling_share_errors() {
    // Trustee 1 sends d_0 + δ and d_1 − δ: the unweighted sums match (Σ d_j = x·Σ u_j), so a
    // proof over unweighted sums would pass; the transcript-derived weights do not.
    let rel = release(3, 2, 3);
    let key = &rel.f.keys[0];
    let delta = ProjectivePoint::GENERATOR * group::random_scalar(&mut rand::rng());
    let sum_u: ProjectivePoint = rel.valid.iter().map(|c| *c.ciphertext().u.inner()).sum();
    let a = tampered_answer(&rel, 0, &[0, 1, 2], |ds| {
        ds[0] += delta;
        ds[1] -= delta;
        let sum_d: ProjectivePoint = ds.iter().sum();
        assert_eq!(sum_d, sum_u * key.secret());
    });
    assert_eq!(
        a.open(&rel.inv, &rel.f.d.set, &rel.w, &rel.valid)
            .unwrap_err(),
        Error::BadAnswerProof { trustee: 1 }
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn batch_names_exactly_the_tampered(m in 2usize..6, bad in proptest::collection::vec(any::<bool>(), 6)) {
        let f = fx(3, 2, m);
        let mut cts = f.cts.clone();
        for (c, b) in cts.iter_mut().zip(&bad) {
            if *b {
                c.f += Scalar::ONE;
            }
        }
        let res = check_batch(&f.d.set, &cts);
        for (r, b) in res.iter().zip(&bad) {
            prop_assert_eq!(r.is_err(), *b);
        }
    }

    #[test]
    fn any_k_answers_over_any_positions_recover(
        mask in 1u8..16, trustees in proptest::sample::subsequence(vec![0usize, 1, 2, 3], 2)
    ) {
        let rel = release(4, 2, 4);
        let positions: Vec<u32> = (0..4u32).filter(|p| mask & (1 << p) != 0).collect();
        let verified: Vec<VerifiedAnswer> = trustees
            .iter()
            .map(|&t| {
                answer(&rel, t, &positions, false)
                    .open(&rel.inv, &rel.f.d.set, &rel.w, &rel.valid)
                    .unwrap()
            })
            .collect();
        let shares: Vec<&VerifiedShareV2> = verified.iter().flat_map(|v| v.shares.iter()).collect();
        for &p in &positions {
            let (mk, _) = combine_v2(&rel.f.d.set, &rel.valid[p as usize], &shares).unwrap();
            prop_assert_eq!(&mk, &rel.f.mks[p as usize]);
        }
    }
}

#[test]
fn computed_shares_select_drops_and_adds_and_the_answer_opens() {
    // 70 items: the shares are computed on several threads (PARALLEL_MIN = 64) and must equal
    // x_i·u_j in order; `select` keeps a subset (what the limit refuses is dropped) and computes
    // an item it did not have; the sealed answer opens over exactly the selected items, and the
    // digests it would log are the sealed shares' digests.
    let rel = release(3, 2, 70);
    let key = &rel.f.keys[1];
    let all: Vec<(u32, &ValidCiphertextV2)> =
        (0..70u32).map(|p| (p, &rel.valid[p as usize])).collect();
    let pre: Vec<(u32, &ValidCiphertextV2)> =
        all.iter().copied().filter(|(p, _)| p % 7 != 3).collect();
    let computed = ComputedShares::compute(key, &pre).unwrap();
    assert_eq!(
        computed.positions(),
        pre.iter().map(|(p, _)| *p).collect::<Vec<_>>()
    );
    // Keep every other pre-computed item, and add position 3, not computed before.
    let keep: Vec<(u32, &ValidCiphertextV2)> = all
        .iter()
        .copied()
        .filter(|(p, _)| *p == 3 || (p % 7 != 3 && p % 2 == 0))
        .collect();
    let chosen = computed.select(&keep).unwrap();
    assert_eq!(
        chosen.positions(),
        keep.iter().map(|(p, _)| *p).collect::<Vec<_>>()
    );
    let logged = chosen.share_digests(&rel.w);
    let sealed = chosen
        .seal(&rel.w, &rel.r, &rel.inv.public(), &mut rand::rng())
        .unwrap();
    assert_eq!(sealed.share_digests, logged);
    let opened = sealed
        .answer
        .open(&rel.inv, &rel.f.d.set, &rel.w, &rel.valid)
        .unwrap();
    let x = *key.secret();
    for (s, (p, ct)) in opened.shares.iter().zip(&keep) {
        assert_eq!(s.position, *p);
        assert_eq!(*s.d.inner(), *ct.ciphertext().u.inner() * x);
    }
    // Positions out of order are refused, naming the trustee.
    let backwards = [keep[1], keep[0]];
    assert!(matches!(
        computed.select(&backwards),
        Err(Error::BadAnswer { trustee: 2, .. })
    ));
    // Nothing to seal is refused.
    let none = computed.select(&[]).unwrap();
    assert!(none.is_empty());
    assert!(matches!(
        none.seal(&rel.w, &rel.r, &rel.inv.public(), &mut rand::rng()),
        Err(Error::BadAnswer { .. })
    ));
}
