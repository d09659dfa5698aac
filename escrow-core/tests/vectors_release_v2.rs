//! Known-answer vectors of the `POST /v2/release` wire bytes (`docs/api.md` §4.3): the binary
//! request, a signed response that releases two items and refuses one (with its answer), and a
//! whole-request refusal. `tests/vectors/release-v2.json`, generated from a fixed seed (rand
//! 0.10 `StdRng`, ChaCha12; ECDSA signatures are deterministic, RFC 6979), regenerated and
//! compared byte for byte here, and read both by the library and by the independent reference
//! verifier (`tests/common/reference_v2.rs`), which parses the bytes, recomputes W and R,
//! verifies the trustee's signature and opens the answer from the specification alone.
//!
//! ```text
//! ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test vectors_release_v2
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
use common::{check_committed_vector, read_vector, rng, vector_text};
use escrow_core::Error;
use escrow_core::group;
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::release::{ItemRefusal, RefusalCode};
use escrow_core::secret::MessageKey;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, TrusteeSet, VerifiedKeyShare};
use escrow_core::v2::{
    self, EscrowCiphertextV2, ReleaseRequestV2, ReleaseResponseV2, ReleaseResultV2,
    ValidCiphertextV2,
};
use escrow_core::warrant::{ReasonCode, Role, Scope, WarrantEnvelope, WarrantPayload, Window};
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::{Value, json};

const SEED: u64 = 0x7632_2027;
const FILE: &str = "release-v2.json";
/// The answering trustee, and the positions it releases (1 is refused: out of scope).
const TRUSTEE: u16 = 3;
const RELEASED: [u32; 2] = [0, 2];

fn h(b: impl AsRef<[u8]>) -> String {
    hex::encode(b)
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

struct World {
    set: TrusteeSet,
    inv: PrivateKey,
    env: WarrantEnvelope,
    cts: Vec<EscrowCiphertextV2>,
    request: ReleaseRequestV2,
    response: ReleaseResponseV2,
    refusal: ReleaseResponseV2,
}

fn world() -> World {
    let mut r = rng(SEED);
    let d = trustee::deal(5, 3, &mut r).unwrap();
    let keys: Vec<VerifiedKeyShare> = d
        .secrets
        .iter()
        .map(|s| d.set.verify_share(s.key_share.clone()).unwrap())
        .collect();
    let sos = PrivateKey::generate(&mut r);
    let jc = PrivateKey::generate(&mut r);
    let inv = PrivateKey::generate(&mut r);
    let payload = WarrantPayload {
        version: Default::default(),
        warrant_id: "w-kat-v2".into(),
        case_reference: "OP-KAT".into(),
        warrant_type: "targeted-interception".into(),
        legal_basis: "IPA 2016 s.15(2)".into(),
        issuing_authority: "Secretary of State".into(),
        scope: Scope {
            targets: vec!["alice@example.org".into()],
            message_ids: vec![],
            window: Window {
                from: t("2026-11-22T00:00:00Z"),
                until: t("2026-11-23T00:00:00Z"),
            },
        },
        investigator_key: inv.public().to_pem(),
        not_before: t("2026-11-21T00:00:00Z"),
        not_after: t("2026-12-21T00:00:00Z"),
        max_releases: Some(100),
        urgent: false,
        parent_warrant_id: None,
    };
    let mut env = WarrantEnvelope::sign_new(&payload, &sos, Role::Issuer).unwrap();
    env.add_signature(&jc, Role::Judicial).unwrap();
    let mut cts = Vec::new();
    for (i, (from, to)) in [
        ("alice@example.org", "bob@example.org"),
        ("carol@example.org", "bob@example.org"),
        ("bob@example.org", "alice@example.org"),
    ]
    .into_iter()
    .enumerate()
    {
        let label = Label::new(from, to, t("2026-11-22T09:30:00Z"), &format!("kat-{i}")).unwrap();
        let mk = MessageKey::random(&mut r);
        let (ct, _) = v2::encapsulate_v2(&d.set, &label, &mk, &mut r).unwrap();
        cts.push(ct);
    }
    let valid: Vec<ValidCiphertextV2> = v2::check_batch(&d.set, &cts)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let request = ReleaseRequestV2::new(&env, &cts);
    let w = env.digest();
    let rd = request.digest();
    let released: Vec<(u32, &ValidCiphertextV2)> =
        RELEASED.iter().map(|&p| (p, &valid[p as usize])).collect();
    let i = usize::from(TRUSTEE) - 1;
    let answer = v2::make_answer(&keys[i], &w, &rd, &released, &inv.public(), &mut r)
        .unwrap()
        .answer;
    let signing = &d.secrets[i].signing_key;
    let response = ReleaseResponseV2 {
        trustee: TRUSTEE,
        set_id: d.set.id(),
        warrant: w,
        request: rd,
        investigator: Some(inv.public().key_id()),
        time: t("2026-11-22T10:00:00Z"),
        results: vec![
            ReleaseResultV2::Released { leaf_index: 41 },
            ReleaseResultV2::refused(
                ItemRefusal {
                    ciphertext: Some(valid[1].digest()),
                    code: RefusalCode::Warrant(ReasonCode::OutOfScope),
                    detail: "the sender and the recipient are not a target".into(),
                },
                Some(42),
            ),
            ReleaseResultV2::Released { leaf_index: 43 },
        ],
        answer: Some(answer),
        signature: Vec::new(),
    }
    .sign(signing);
    let refused = |_| ReleaseResultV2::Refused {
        code: RefusalCode::Warrant(ReasonCode::Cancelled),
        detail: "warrant w-kat-v2 was cancelled".into(),
        leaf_index: Some(44),
    };
    let refusal = ReleaseResponseV2 {
        trustee: TRUSTEE,
        set_id: d.set.id(),
        warrant: w,
        request: rd,
        investigator: None,
        time: t("2026-11-22T11:00:00Z"),
        results: (0..3).map(refused).collect(),
        answer: None,
        signature: Vec::new(),
    }
    .sign(signing);
    World {
        set: d.set,
        inv,
        env,
        cts,
        request,
        response,
        refusal,
    }
}

fn generate() -> String {
    let w = world();
    let set_v: Value = serde_json::from_str(&w.set.to_json()).unwrap();
    let sk = *p256::SecretKey::from_pkcs8_pem(&w.inv.to_pem().unwrap())
        .unwrap()
        .to_nonzero_scalar();
    let resp = |r: &ReleaseResponseV2| {
        json!({
            "bytes": h(r.to_bytes()),
            "body": h(r.body_bytes()),
            "signature": h(&r.signature),
            "answer": r.answer.as_ref().map(|a| h(a.to_bytes())),
            "json_view": r.to_json_view(),
        })
    };
    let mut bad_sig = w.response.to_bytes();
    bad_sig[3] ^= 1; // a set-id byte: still parses, the signature no longer verifies
    let mut trailing = w.refusal.to_bytes();
    trailing.push(0);
    let v = json!({
        "description": "POST /v2/release wire bytes (docs/api.md §4.3): a 3-of-5 set, a \
            double-locked warrant, a request for three v2 ciphertexts, trustee 3's signed \
            response releasing positions 0 and 2 and refusing 1 (out of scope), and its signed \
            whole-request refusal.",
        "rng": "rand 0.10 rand::rngs::StdRng::seed_from_u64(seed) (ChaCha12); ECDSA RFC 6979",
        "seed": SEED,
        "trustee_set": set_v,
        "investigator": {
            "secret": h(group::scalar_to_bytes(&sk)),
            "key_id": w.inv.public().key_id().to_hex(),
            "pkcs8_pem": w.inv.to_pem().unwrap().as_str(),
        },
        "warrant_envelope": w.env.to_json(),
        "warrant_digest": w.env.digest().to_hex(),
        "request": {
            "bytes": h(w.request.to_bytes()),
            "items": w.cts.iter().map(|c| h(c.to_bytes())).collect::<Vec<_>>(),
            "item_digests": w.cts.iter().map(|c| c.digest().to_hex()).collect::<Vec<_>>(),
            "request_digest": w.request.digest().to_hex(),
        },
        "response": resp(&w.response),
        "whole_request_refusal": resp(&w.refusal),
        "negative": [
            {"what": "the response with one set-id byte changed", "bytes": h(bad_sig),
             "error": "WrongTrusteeSet (the set id is not the set's)"},
            {"what": "the refusal with one byte after the signature", "bytes": h(trailing),
             "error": "Malformed (trailing bytes)"},
        ],
    });
    vector_text(v)
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn release_v2_vectors_match_committed_file() {
    check_committed_vector(FILE, "vectors_release_v2", generate);
}

#[test]
fn committed_release_v2_vectors_verify_with_library_and_reference() {
    let v: Value = read_vector(FILE);

    // library side: the node's parse of the request, the investigator's check of the answer
    let set = TrusteeSet::from_json(&v["trustee_set"].to_string()).unwrap();
    let inv = PrivateKey::from_pem(v["investigator"]["pkcs8_pem"].as_str().unwrap()).unwrap();
    let req = unhex(&v["request"]["bytes"]);
    let parsed = v2::parse_request_v2(&req, 10).unwrap();
    let env = parsed.warrant.as_ref().unwrap();
    assert_eq!(env.to_json(), v["warrant_envelope"].as_str().unwrap());
    assert_eq!(env.digest().to_hex(), v["warrant_digest"].as_str().unwrap());
    let cts: Vec<EscrowCiphertextV2> = v["request"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| EscrowCiphertextV2::from_bytes(&unhex(c)).unwrap())
        .collect();
    assert_eq!(ReleaseRequestV2::new(env, &cts).to_bytes(), req);
    let valid: Vec<ValidCiphertextV2> = v2::check_batch(&set, &cts)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let resp = ReleaseResponseV2::from_bytes(&unhex(&v["response"]["bytes"]), 10).unwrap();
    assert_eq!(
        resp.request.to_hex(),
        v["request"]["request_digest"].as_str().unwrap()
    );
    assert_eq!(
        resp.investigator.unwrap().to_hex(),
        v["investigator"]["key_id"].as_str().unwrap()
    );
    let opened = resp
        .open(&inv, &set, &env.digest(), &valid)
        .unwrap()
        .unwrap();
    assert_eq!(
        opened.shares.iter().map(|s| s.position).collect::<Vec<_>>(),
        RELEASED.to_vec()
    );
    assert!(matches!(
        resp.results[1],
        ReleaseResultV2::Refused {
            code: RefusalCode::Warrant(ReasonCode::OutOfScope),
            leaf_index: Some(42),
            ..
        }
    ));
    let refusal =
        ReleaseResponseV2::from_bytes(&unhex(&v["whole_request_refusal"]["bytes"]), 10).unwrap();
    assert!(
        refusal
            .open(&inv, &set, &env.digest(), &valid)
            .unwrap()
            .is_none()
    );
    assert!(refusal.investigator.is_none() && refusal.answer.is_none());
    let neg = v["negative"].as_array().unwrap();
    let forged = ReleaseResponseV2::from_bytes(&unhex(&neg[0]["bytes"]), 10).unwrap();
    assert!(matches!(
        forged.open(&inv, &set, &env.digest(), &valid).unwrap_err(),
        Error::WrongTrusteeSet {
            trustee: TRUSTEE,
            ..
        }
    ));
    assert!(matches!(
        ReleaseResponseV2::from_bytes(&unhex(&neg[1]["bytes"]), 10).unwrap_err(),
        Error::Malformed { .. }
    ));

    // reference side, from the bytes and the specification alone
    let rset = spec::trustee_set(&v["trustee_set"]).unwrap();
    let sk = spec2::scalar(&unhex(&v["investigator"]["secret"])).unwrap();
    let rreq = spec2::request_v2(&req).unwrap();
    assert_eq!(h(rreq.w), v["warrant_digest"].as_str().unwrap());
    assert_eq!(h(rreq.r), v["request"]["request_digest"].as_str().unwrap());
    assert_eq!(
        rreq.warrant_json,
        v["warrant_envelope"].as_str().unwrap().as_bytes()
    );
    let rcts: Vec<spec2::RefCtV2> = rreq
        .items
        .iter()
        .zip(v["request"]["item_digests"].as_array().unwrap())
        .map(|(b, d)| {
            let c = spec2::parse_ciphertext_v2(&rset, b).unwrap();
            assert_eq!(h(c.digest), d.as_str().unwrap());
            c
        })
        .collect();
    assert!(spec2::batch_v2(&rcts));
    let rresp = spec2::response_v2(&rset, &unhex(&v["response"]["bytes"])).unwrap();
    assert_eq!(h(&rresp.body), v["response"]["body"].as_str().unwrap());
    assert_eq!(
        h(&rresp.signature),
        v["response"]["signature"].as_str().unwrap()
    );
    assert_eq!(rresp.trustee, TRUSTEE);
    assert_eq!(
        h(rresp.investigator.unwrap()),
        v["investigator"]["key_id"].as_str().unwrap()
    );
    assert_eq!(
        rresp.results,
        vec![
            spec2::RefResult::Released { leaf: 41 },
            spec2::RefResult::Refused {
                code: "out-of-scope".into(),
                detail: "the sender and the recipient are not a target".into(),
                leaf: Some(42)
            },
            spec2::RefResult::Released { leaf: 43 },
        ]
    );
    let ra = spec2::check_response_v2(&rset, &sk, &rreq, &rcts, &rresp)
        .unwrap()
        .unwrap();
    assert_eq!(
        ra.shares.iter().map(|s| s.0).collect::<Vec<_>>(),
        RELEASED.to_vec()
    );
    let rref = spec2::response_v2(&rset, &unhex(&v["whole_request_refusal"]["bytes"])).unwrap();
    assert!(
        spec2::check_response_v2(&rset, &sk, &rreq, &rcts, &rref)
            .unwrap()
            .is_none()
    );
    assert!(rref.results.iter().all(|r| matches!(r,
        spec2::RefResult::Refused { code, leaf: Some(44), .. } if code == "cancelled")));
    assert_eq!(
        spec2::response_v2(&rset, &unhex(&neg[0]["bytes"])).unwrap_err(),
        "set or trustee"
    );
    assert_eq!(
        spec2::response_v2(&rset, &unhex(&neg[1]["bytes"])).unwrap_err(),
        "trailing bytes"
    );
    // A changed result byte (leaf 41 → 40) keeps the set id: only the signature catches it.
    let mut b = unhex(&v["response"]["bytes"]);
    let at = 1 + 2 + 32 * 3 + 1 + 32 + 8 + 4 + 1 + 7;
    assert_eq!(b[at], 41);
    b[at] = 40;
    assert_eq!(spec2::response_v2(&rset, &b).unwrap_err(), "signature");
    let lib = ReleaseResponseV2::from_bytes(&b, 10).unwrap();
    assert!(matches!(
        lib.verify(&set).unwrap_err(),
        Error::BadSignature { .. }
    ));
}
