//! Known-answer vectors of release protocol version 2 (`docs/protocol.md` §15):
//! `tests/vectors/v2.json`, generated from a fixed seed (rand 0.10 `StdRng`, ChaCha12),
//! regenerated and compared byte for byte here, and checked both by the library and by the
//! independent reference verifier (`tests/common/reference_v2.rs`).
//!
//! ```text
//! ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test vectors_v2
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::reference as spec;
use common::reference_v2 as spec2;
use common::{check_committed_vector, h, read_vector, rng, unhex, vector_text, verified_keys};
use escrow_core::Error;
use escrow_core::codec::{Digest32, WarrantDigest};
use escrow_core::group;
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::secret::MessageKey;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, TrusteeSet, VerifiedKeyShare};
use escrow_core::v2::{self, AnswerV2, EscrowCiphertextV2, ValidCiphertextV2};
use p256::Scalar;
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::{Value, json};

const SEED: u64 = 0x7632_2026;
const FILE: &str = "v2.json";
/// Trustees that answer (1-based), and the positions each releases.
const ANSWERING: [u16; 3] = [1, 3, 5];
const POSITIONS: [u32; 2] = [0, 2];

fn sc(s: &Scalar) -> String {
    h(group::scalar_to_bytes(s))
}

fn inv_scalar(k: &PrivateKey) -> Scalar {
    *p256::SecretKey::from_pkcs8_pem(&k.to_pem().unwrap())
        .unwrap()
        .to_nonzero_scalar()
}

struct World {
    set: TrusteeSet,
    keys: Vec<VerifiedKeyShare>,
    inv: PrivateKey,
    warrant: WarrantDigest,
    mks: Vec<MessageKey>,
    rs: Vec<Scalar>,
    cts: Vec<EscrowCiphertextV2>,
    valid: Vec<ValidCiphertextV2>,
    request: Digest32,
    answers: Vec<AnswerV2>,
    tampered: AnswerV2,
}

fn world() -> World {
    let mut r = rng(SEED);
    let d = trustee::deal(5, 3, &mut r).unwrap();
    let keys = verified_keys(&d);
    let inv = PrivateKey::generate(&mut r);
    let warrant = WarrantDigest::from_bytes(
        Digest32::tagged("escrow/v1/warrant-digest", &[b"v2 vector warrant"]).0,
    );
    let mut mks = Vec::new();
    let mut rs = Vec::new();
    let mut cts = Vec::new();
    for i in 1..=3 {
        let label = Label::new(
            "alice@example.org",
            "bob@example.org",
            Timestamp::parse("2026-11-22T09:30:00Z").unwrap(),
            &format!("msg-000{i}"),
        )
        .unwrap();
        let mk = MessageKey::random(&mut r);
        let (ct, rr) = v2::encapsulate_v2(&d.set, &label, &mk, &mut r).unwrap();
        mks.push(mk);
        rs.push(*rr.expose());
        cts.push(ct);
    }
    let valid: Vec<ValidCiphertextV2> = v2::check_batch(&d.set, &cts)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let digests: Vec<escrow_core::codec::CiphertextDigest> =
        valid.iter().map(ValidCiphertextV2::digest).collect();
    let request = v2::request_digest(&warrant, &digests);
    let released: Vec<(u32, &ValidCiphertextV2)> =
        POSITIONS.iter().map(|&p| (p, &valid[p as usize])).collect();
    let answers = ANSWERING
        .iter()
        .map(|&t| {
            let key = &keys[usize::from(t) - 1];
            v2::make_answer(key, &warrant, &request, &released, &inv.public(), &mut r)
                .unwrap()
                .answer
        })
        .collect();
    // A cheating trustee 2: its shares x_2·u_j with G added to the first, sealed with the proof
    // for its real key share.
    let key = &keys[1];
    let ks: Value = serde_json::from_str(&key.to_key_share().to_json()).unwrap();
    let x = spec::scalar_hex(&ks["share"]).unwrap();
    let mut ds: Vec<p256::ProjectivePoint> = released
        .iter()
        .map(|(_, c)| *c.ciphertext().u.inner() * x)
        .collect();
    ds[0] += p256::ProjectivePoint::GENERATOR;
    let tampered = v2::answer::seal_answer(
        key,
        &warrant,
        &request,
        &released,
        &ds,
        &inv.public(),
        &mut r,
    )
    .unwrap()
    .answer;
    World {
        set: d.set,
        keys,
        inv,
        warrant,
        mks,
        rs,
        cts,
        valid,
        request,
        answers,
        tampered,
    }
}

/// The world as the reference reads it: the set, the investigator's scalar, the ciphertexts.
fn reference_view(w: &World) -> (spec::RefSet, Scalar, Vec<spec2::RefCtV2>) {
    let set_v: Value = serde_json::from_str(&w.set.to_json()).unwrap();
    let rset = spec::trustee_set(&set_v).unwrap();
    let sk = inv_scalar(&w.inv);
    let rcts = w
        .cts
        .iter()
        .map(|c| spec2::parse_ciphertext_v2(&rset, &c.to_bytes()).unwrap())
        .collect();
    (rset, sk, rcts)
}

fn generate() -> String {
    let w = world();
    let (rset, sk, rcts) = reference_view(&w);
    let cts: Vec<Value> = w
        .cts
        .iter()
        .zip(&rcts)
        .zip(w.mks.iter().zip(&w.rs))
        .map(|((c, rc), (mk, r))| {
            json!({
                "message_key": h(mk.expose()),
                "r": sc(r),
                "label_bytes": h(&rc.label_bytes),
                "bytes": h(c.to_bytes()),
                "json": serde_json::to_value(c).unwrap(),
                "e": sc(&rc.e),
                "digest": h(rc.digest),
            })
        })
        .collect();
    let answers: Vec<Value> = w
        .answers
        .iter()
        .map(|a| {
            let ra =
                spec2::answer_v2(&rset, &sk, w.warrant.as_bytes(), &rcts, &a.to_bytes()).unwrap();
            json!({
                "trustee": a.trustee,
                "bytes": h(a.to_bytes()),
                "positions": ra.shares.iter().map(|s| s.0).collect::<Vec<_>>(),
                "d": ra.shares.iter().map(|s| h(spec::sec1(&s.1))).collect::<Vec<_>>(),
                "composite_seed": h(ra.seed),
                "composite_weights": ra.weights.iter().map(sc).collect::<Vec<_>>(),
                "M": h(spec::sec1(&ra.m)),
                "Z": h(spec::sec1(&ra.z)),
                "e": sc(&a.e),
                "z": sc(&a.z),
                "ephemeral": h(a.ephemeral.to_bytes()),
                "shared_x": h(&ra.shared_x),
                "share_keys": ra.keys.iter().map(h).collect::<Vec<_>>(),
            })
        })
        .collect();
    let key_shares: Vec<Value> = w
        .keys
        .iter()
        .map(|k| {
            let ks: Value = serde_json::from_str(&k.to_key_share().to_json()).unwrap();
            json!({"index": k.index(), "share": ks["share"].clone()})
        })
        .collect();
    let mut bad_ct = w.cts[1].clone();
    bad_ct.f += Scalar::ONE;
    let mut v1_byte = w.answers[0].to_bytes();
    v1_byte[0] = 1;
    let v = json!({
        "description": "Release protocol v2 (docs/protocol.md §15): a 3-of-5 set, three v2 \
            ciphertexts, answers of trustees 1, 3, 5 releasing positions 0 and 2, and refusals.",
        "rng": "rand 0.10 rand::rngs::StdRng::seed_from_u64(seed) (ChaCha12)",
        "seed": SEED,
        "trustee_set": serde_json::from_str::<Value>(&w.set.to_json()).unwrap(),
        "key_shares": key_shares,
        "investigator": {
            "secret": sc(&sk),
            "public": h(w.inv.public().point().to_bytes()),
            "pkcs8_pem": w.inv.to_pem().unwrap().as_str(),
        },
        "warrant_digest": h(w.warrant.as_bytes()),
        "ciphertexts": cts,
        "request_digest": h(w.request.as_bytes()),
        "answers": answers,
        "recovered": POSITIONS.iter().map(|&p| json!({
            "position": p,
            "message_key": h(w.mks[p as usize].expose()),
        })).collect::<Vec<_>>(),
        "negative": [
            {"what": "answer of trustee 2 whose share at position 0 was changed (fault injection)",
             "bytes": h(w.tampered.to_bytes()), "error": "BadAnswerProof { trustee: 2 }"},
            {"what": "answer with version byte 1", "bytes": h(v1_byte),
             "error": "UnsupportedVersion { found: 1, expected: 2 }"},
            {"what": "ciphertext 1 with f + 1, in a batch with 0 and 2", "bytes": h(bad_ct.to_bytes()),
             "error": "BadCiphertextProof"},
        ],
    });
    vector_text(v)
}

#[test]
fn v2_vectors_match_committed_file() {
    check_committed_vector(FILE, "vectors_v2", generate);
}

#[test]
fn committed_v2_vectors_verify_with_library_and_reference() {
    let v: Value = read_vector(FILE);
    // library side
    let set = TrusteeSet::from_json(&v["trustee_set"].to_string()).unwrap();
    let inv = PrivateKey::from_pem(v["investigator"]["pkcs8_pem"].as_str().unwrap()).unwrap();
    let warrant = WarrantDigest::from_hex(v["warrant_digest"].as_str().unwrap()).unwrap();
    let cts: Vec<EscrowCiphertextV2> = v["ciphertexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let ct = EscrowCiphertextV2::from_bytes(&unhex(&c["bytes"])).unwrap();
            let from_json: EscrowCiphertextV2 = serde_json::from_value(c["json"].clone()).unwrap();
            assert_eq!(ct, from_json);
            assert_eq!(ct.digest().to_hex(), c["digest"].as_str().unwrap());
            ct
        })
        .collect();
    let valid: Vec<ValidCiphertextV2> = v2::check_batch(&set, &cts)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let digests: Vec<escrow_core::codec::CiphertextDigest> =
        valid.iter().map(ValidCiphertextV2::digest).collect();
    assert_eq!(
        v2::request_digest(&warrant, &digests).to_hex(),
        v["request_digest"].as_str().unwrap()
    );
    let mut shares = Vec::new();
    for a in v["answers"].as_array().unwrap() {
        let ans = AnswerV2::from_bytes(&unhex(&a["bytes"]), 10).unwrap();
        shares.push(ans.open(&inv, &set, &warrant, &valid).unwrap());
    }
    for r in v["recovered"].as_array().unwrap() {
        let p = r["position"].as_u64().unwrap() as usize;
        let all: Vec<&v2::VerifiedShareV2> = shares.iter().flat_map(|a| a.shares.iter()).collect();
        let (mk, used) = v2::combine_v2(&set, &valid[p], &all).unwrap();
        assert_eq!(h(mk.expose()), r["message_key"].as_str().unwrap());
        assert_eq!(used, ANSWERING.to_vec());
    }
    let neg = v["negative"].as_array().unwrap();
    let tampered = AnswerV2::from_bytes(&unhex(&neg[0]["bytes"]), 10).unwrap();
    assert_eq!(
        tampered.open(&inv, &set, &warrant, &valid).unwrap_err(),
        Error::BadAnswerProof { trustee: 2 }
    );
    assert!(matches!(
        AnswerV2::from_bytes(&unhex(&neg[1]["bytes"]), 10).unwrap_err(),
        Error::UnsupportedVersion {
            found: 1,
            expected: 2,
            ..
        }
    ));
    let bad = EscrowCiphertextV2::from_bytes(&unhex(&neg[2]["bytes"])).unwrap();
    let batch = [cts[0].clone(), bad, cts[2].clone()];
    let res = v2::check_batch(&set, &batch);
    assert!(res[0].is_ok() && res[2].is_ok());
    assert_eq!(res[1], Err(Error::BadCiphertextProof));

    // reference side, from the bytes alone
    let rset = spec::trustee_set(&v["trustee_set"]).unwrap();
    let sk = spec2::scalar(&unhex(&v["investigator"]["secret"])).unwrap();
    let w: [u8; 32] = unhex(&v["warrant_digest"]).try_into().unwrap();
    let rcts: Vec<spec2::RefCtV2> = v["ciphertexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let rc = spec2::parse_ciphertext_v2(&rset, &unhex(&c["bytes"])).unwrap();
            assert!(spec2::check_v2(&rc));
            assert_eq!(h(rc.digest), c["digest"].as_str().unwrap());
            assert_eq!(spec::scalar_bytes(&rc.e).to_vec(), unhex(&c["e"]));
            rc
        })
        .collect();
    assert!(spec2::batch_v2(&rcts));
    assert_eq!(
        h(spec2::request_digest(&w, &rcts)),
        v["request_digest"].as_str().unwrap()
    );
    let mut per_pos: Vec<Vec<(u16, p256::ProjectivePoint)>> = vec![Vec::new(); rcts.len()];
    for a in v["answers"].as_array().unwrap() {
        let ra = spec2::answer_v2(&rset, &sk, &w, &rcts, &unhex(&a["bytes"])).unwrap();
        assert_eq!(h(ra.seed), a["composite_seed"].as_str().unwrap());
        for (pos, d) in ra.shares {
            per_pos[pos as usize].push((ra.trustee, d));
        }
    }
    for r in v["recovered"].as_array().unwrap() {
        let p = r["position"].as_u64().unwrap() as usize;
        let mk = spec2::combine_v2(&rcts[p], &per_pos[p]).unwrap();
        assert_eq!(h(mk), r["message_key"].as_str().unwrap());
    }
    assert_eq!(
        spec2::answer_v2(&rset, &sk, &w, &rcts, &unhex(&neg[0]["bytes"])).unwrap_err(),
        "proof"
    );
    assert_eq!(
        spec2::answer_v2(&rset, &sk, &w, &rcts, &unhex(&neg[1]["bytes"])).unwrap_err(),
        "version"
    );
    let rbad = spec2::parse_ciphertext_v2(&rset, &unhex(&neg[2]["bytes"])).unwrap();
    assert!(!spec2::check_v2(&rbad));
    assert!(!spec2::batch_v2(&[rcts[0].clone(), rbad, rcts[2].clone()]));
}

#[test]
fn reference_and_library_agree_on_random_tampering() {
    // Random requests and single-byte changes to answers: the library and the reference
    // accept exactly the same answers.
    let w = world();
    let (rset, sk, rcts) = reference_view(&w);
    let good = w.answers[1].to_bytes();
    for i in 0..40usize {
        let mut b = good.clone();
        let at = (i * 7919 + 13) % b.len();
        b[at] ^= 1 << (i % 8);
        let lib =
            AnswerV2::from_bytes(&b, 10).and_then(|a| a.open(&w.inv, &w.set, &w.warrant, &w.valid));
        let reference = spec2::answer_v2(&rset, &sk, w.warrant.as_bytes(), &rcts, &b);
        assert_eq!(
            lib.is_ok(),
            reference.is_ok(),
            "byte {at}: {lib:?} vs {reference:?}"
        );
    }
    let lib = AnswerV2::from_bytes(&good, 10)
        .unwrap()
        .open(&w.inv, &w.set, &w.warrant, &w.valid)
        .unwrap();
    let reference = spec2::answer_v2(&rset, &sk, w.warrant.as_bytes(), &rcts, &good).unwrap();
    assert_eq!(lib.shares.len(), reference.shares.len());
    for (l, r) in lib.shares.iter().zip(&reference.shares) {
        assert_eq!(l.position, r.0);
        assert_eq!(*l.d.inner(), r.1);
    }
}
