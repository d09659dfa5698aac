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
use common::{
    check_committed_vector, h, kat_warrant, read_vector, rng, unhex, vector_text, verified_keys,
};
use escrow_core::Error;
use escrow_core::group;
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::release::{ItemRefusal, RefusalCode};
use escrow_core::secret::MessageKey;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, TrusteeSet};
use escrow_core::v2::{
    self, EscrowCiphertextV2, ReleaseRequestV2, ReleaseResponseV2, ReleaseResultV2,
    ValidCiphertextV2,
};
use escrow_core::warrant::{ReasonCode, WarrantEnvelope};
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::{Value, json};

const SEED: u64 = 0x7632_2027;
const FILE: &str = "release-v2.json";
/// The answering trustee, and the positions it releases (1 is refused: out of scope).
const TRUSTEE: u16 = 3;
const RELEASED: [u32; 2] = [0, 2];

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
    let keys = verified_keys(&d);
    let sos = PrivateKey::generate(&mut r);
    let jc = PrivateKey::generate(&mut r);
    let inv = PrivateKey::generate(&mut r);
    let env = kat_warrant("w-kat-v2", "OP-KAT", &inv, &sos, &jc);
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
        witnessed: None,
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
        witnessed: None,
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

/// The witnessed version of the response (issue 17, `docs/api.md` §4.3): the same signed
/// response followed by its release gate evidence — a checkpoint of trustee 3's log (44
/// entries; 41 and 43 are the release entries of positions 0 and 2, 42 the refusal of 1)
/// signed by a fixed log key and cosigned by three fixed witnesses (one auditing), and the two
/// inclusion proofs. `tests/vectors/release-v2-witnessed.json`.
const FILE_WITNESSED: &str = "release-v2-witnessed.json";
/// The digest of the (unnamed) policy under which the auditing witness's statement is signed.
const POLICY_DIGEST: [u8; 32] = [0x24; 32];
const WITNESSES: [(&str, u8, bool); 3] = [
    ("w.example/1", 0x21, false),
    ("w.example/2", 0x22, false),
    ("w.example/audit", 0x23, true),
];

struct Witnessed {
    world: World,
    response: ReleaseResponseV2,
    log_key: String,
    policy: escrow_core::audit::witness::GatePolicy,
    items: Vec<escrow_core::codec::CiphertextDigest>,
    entries: Vec<Vec<u8>>,
    share_digests: Vec<escrow_core::codec::Digest32>,
}

fn witnessed() -> Witnessed {
    use ed25519_dalek::Signer as _;
    use escrow_core::audit::witness::{
        COSIGNATURE_V1_TYPE, GatePolicy, Inclusion, WitnessFile, WitnessPolicy, add_cosignatures,
        audit_statement_key_id, audit_statement_message, cosignature_key_id, cosigned_message,
        note_body,
    };
    use escrow_core::audit::{Frontier, LogEntry, LogKey, inclusion_proof, leaf_hash};
    use escrow_core::codec::b64_encode;
    let world = world();
    let w = world.env.digest();
    let valid: Vec<ValidCiphertextV2> = v2::check_batch(&world.set, &world.cts)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let items: Vec<_> = valid.iter().map(ValidCiphertextV2::digest).collect();
    let opened = world
        .response
        .open(&world.inv, &world.set, &w, &valid)
        .unwrap()
        .unwrap();
    let share_digests: Vec<_> = opened.shares.iter().map(|s| s.share_digest(&w)).collect();
    let time = world.response.time;
    let inv = world.inv.public().key_id();
    let entries: Vec<Vec<u8>> = vec![
        LogEntry::release(41, time, w, items[0], share_digests[0], inv).to_bytes(),
        LogEntry::refusal(42, time, Some(w), vec![items[1]], "out-of-scope").to_bytes(),
        LogEntry::release(43, time, w, items[2], share_digests[1], inv).to_bytes(),
    ];
    let mut leaves: Vec<_> = (0..41)
        .map(|i| leaf_hash(format!("earlier entry {i}").as_bytes()))
        .collect();
    leaves.extend(entries.iter().map(|e| leaf_hash(e)));
    let head = Frontier::from_leaves(&leaves).head();
    let origin = format!("escrow.example/trustee/{}/3", world.set.id().short());
    let log = LogKey::from_seed(&origin, &[0x20; 32]).unwrap();
    let note = log.sign(&head).unwrap();
    let body = note_body(&note).unwrap().to_string();
    let at = u64::try_from(time.unix()).unwrap() + 2;
    let mut files = Vec::new();
    let mut lines = Vec::new();
    for (k, (name, seed, auditing)) in WITNESSES.iter().enumerate() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[*seed; 32]);
        let public = key.verifying_key().to_bytes();
        let id = cosignature_key_id(name, &public);
        let mut typed = vec![COSIGNATURE_V1_TYPE];
        typed.extend_from_slice(&public);
        files.push(WitnessFile {
            key: format!("{name}+{id:08x}+{}", b64_encode(&typed)),
            url: None,
            auditing: *auditing,
        });
        let t = at + k as u64;
        let mut blob = id.to_be_bytes().to_vec();
        blob.extend_from_slice(&t.to_be_bytes());
        blob.extend_from_slice(&key.sign(&cosigned_message(t, &body)).to_bytes());
        lines.push(format!("\u{2014} {name} {}\n", b64_encode(&blob)));
        if *auditing {
            // Its statement that every release up to this checkpoint was justified.
            let digest = escrow_core::codec::Digest32(POLICY_DIGEST);
            let mut blob = audit_statement_key_id(name, &public).to_be_bytes().to_vec();
            blob.extend_from_slice(&t.to_be_bytes());
            let msg = audit_statement_message(t, &digest, &body);
            blob.extend_from_slice(&key.sign(&msg).to_bytes());
            lines.push(format!("\u{2014} {name} {}\n", b64_encode(&blob)));
        }
    }
    let policy = GatePolicy::new(
        WitnessPolicy::from_files(&files, 2, true).unwrap(),
        escrow_core::codec::Digest32(POLICY_DIGEST),
    );
    let inclusion = [(41u64, &entries[0]), (43, &entries[2])]
        .into_iter()
        .map(|(i, e)| Inclusion {
            leaf_index: i,
            entry: e.clone(),
            proof: inclusion_proof(&leaves, i).unwrap(),
        })
        .collect();
    let response = ReleaseResponseV2 {
        witnessed: Some(escrow_core::audit::witness::Witnessed {
            version: Default::default(),
            checkpoint: add_cosignatures(&note, &lines),
            inclusion,
        }),
        ..world.response.clone()
    };
    Witnessed {
        world,
        response,
        log_key: log.verifier_key(),
        policy,
        items,
        entries,
        share_digests,
    }
}

fn generate_witnessed() -> String {
    let x = witnessed();
    let signed = x.world.response.to_bytes();
    let bytes = x.response.to_bytes();
    let wit = x.response.witnessed.as_ref().unwrap();
    // A signature character of the last cosignature line (w.example/audit, before its
    // statement line) changed to another base64 character: the key ID still matches, the
    // Ed25519 signature no longer verifies.
    let (before, statement) = wit.checkpoint.trim_end().rsplit_once('\n').unwrap();
    let mut note: Vec<char> = wit.checkpoint.chars().collect();
    let at = before.rfind(' ').unwrap() + 1 + 60;
    let at = wit.checkpoint[..at].chars().count();
    note[at] = if note[at] == 'A' { 'B' } else { 'A' };
    let mut forged = x.response.clone();
    forged.witnessed.as_mut().unwrap().checkpoint = note.into_iter().collect();
    let forged = forged.to_bytes();
    // The auditing witness's statement line cut: plain cosignatures only.
    let mut plain = x.response.clone();
    plain.witnessed.as_mut().unwrap().checkpoint = format!("{before}\n");
    assert!(statement.starts_with("\u{2014} w.example/audit "));
    let plain = plain.to_bytes();
    let mut other_version = bytes.clone();
    other_version[signed.len()] = 2;
    let v = json!({
        "description": "release-v2.json's signed response to the same request, followed by its \
            release gate evidence (docs/api.md §4.3, issue 17): a checkpoint of trustee 3's log \
            (44 entries: 41 and 43 release positions 0 and 2, 42 refuses 1) signed by its log \
            key and cosigned (cosignature/v1) by three witnesses, quorum 2 with the auditing \
            witness required, the auditing witness's statement (escrow-audit-statement/v1, \
            docs/witness.md) under policy_digest, and the inclusion proofs of entries 41 and \
            43. The 41 earlier leaves are SHA-256(0x00 ‖ \"earlier entry i\").",
        "seeds": "release-v2.json's seed; log key: LogKey::from_seed(origin, [0x20; 32]); \
            witness i: Ed25519 seed [0x21 + i; 32]",
        "log_key": x.log_key,
        "witnesses": x.policy.witnessing().to_files(),
        "policy_digest": x.policy.policy_digest().to_hex(),
        "quorum": 2,
        "auditing_required": true,
        "item_digests": x.items.iter().map(|d| d.to_hex()).collect::<Vec<_>>(),
        "release_entries": x.entries.iter().map(h).collect::<Vec<_>>(),
        "share_digests": x.share_digests.iter().map(|d| d.to_hex()).collect::<Vec<_>>(),
        "signed_response": h(&signed),
        "witnessed": {
            "bytes": h(&bytes[signed.len()..]),
            "checkpoint": wit.checkpoint,
            "inclusion": wit.inclusion.iter().map(|i| json!({
                "leaf_index": i.leaf_index,
                "entry": h(&i.entry),
                "proof": i.proof.iter().map(|p| p.to_hex()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        },
        "response_bytes": h(&bytes),
        "negative": [
            {"what": "a byte of the last cosignature (w.example/audit) flipped",
             "bytes": h(forged), "error": "GateCheckError::Checkpoint { BadCosignature }"},
            {"what": "the evidence's version byte 2", "bytes": h(other_version),
             "error": "Malformed (witnessed evidence version)"},
            {"what": "the auditing witness's statement line cut (plain cosignatures only)",
             "bytes": h(plain), "error": "GateCheckError::Checkpoint { NoAuditStatement }"},
        ],
    });
    vector_text(v)
}

#[test]
fn release_v2_witnessed_vectors_match_committed_file() {
    check_committed_vector(FILE_WITNESSED, "vectors_release_v2", generate_witnessed);
}

#[test]
fn committed_release_v2_witnessed_vectors_check_with_library_and_by_hand() {
    use escrow_core::audit::witness::{
        GateCheckError, GatePolicy, WitnessCheckError, WitnessFile, WitnessPolicy, check_release_v2,
    };
    use escrow_core::codec::Digest32;
    let v: Value = read_vector(FILE_WITNESSED);
    let plain: Value = read_vector(FILE);
    let files: Vec<WitnessFile> = serde_json::from_value(v["witnesses"].clone()).unwrap();
    let digest: Digest32 = serde_json::from_value(v["policy_digest"].clone()).unwrap();
    let policy = GatePolicy::new(WitnessPolicy::from_files(&files, 2, true).unwrap(), digest);
    let log_key = v["log_key"].as_str().unwrap();
    let items: Vec<escrow_core::codec::CiphertextDigest> =
        serde_json::from_value(v["item_digests"].clone()).unwrap();
    let bytes = unhex(&v["response_bytes"]);
    // The signed part is release-v2.json's response unchanged: the evidence is not signed.
    let signed = unhex(&plain["response"]["bytes"]);
    assert_eq!(unhex(&v["signed_response"]), signed);
    assert_eq!(&bytes[..signed.len()], &signed[..]);
    let resp = ReleaseResponseV2::from_bytes(&bytes, 10).unwrap();
    let set = TrusteeSet::from_json(&plain["trustee_set"].to_string()).unwrap();
    resp.verify(&set).unwrap();
    assert_eq!(resp.to_bytes(), bytes);
    let checked = check_release_v2(&resp, &items, log_key, &policy).unwrap();
    let want: Vec<Digest32> = serde_json::from_value(v["share_digests"].clone()).unwrap();
    assert_eq!(
        checked.shares,
        [(items[0], want[0]), (items[2], want[1])]
            .into_iter()
            .collect()
    );
    assert_eq!(checked.checkpoint.checkpoint.head.size, 44);
    assert_eq!(checked.checkpoint.cosigners.len(), 3);
    assert_eq!(checked.checkpoint.statements.len(), 1);
    // The JSON view shows the evidence as version 1 does.
    assert_eq!(
        resp.to_json_view()["witnessed"]["checkpoint"],
        v["witnessed"]["checkpoint"]
    );

    // By hand, from §4.3 alone: u8(1) ‖ lp(note) ‖ u32be(m) ‖ m × (u64be(leaf) ‖ lp(entry) ‖
    // u8(k) ‖ k × 32).
    let tail = unhex(&v["witnessed"]["bytes"]);
    let mut at = 0usize;
    let mut take = |n: usize| {
        let s = tail[at..at + n].to_vec();
        at += n;
        s
    };
    assert_eq!(take(1), [1]);
    let n = u32::from_be_bytes(take(4).try_into().unwrap()) as usize;
    assert_eq!(
        String::from_utf8(take(n)).unwrap(),
        v["witnessed"]["checkpoint"].as_str().unwrap()
    );
    let m = u32::from_be_bytes(take(4).try_into().unwrap());
    assert_eq!(m, 2);
    for inc in v["witnessed"]["inclusion"].as_array().unwrap() {
        let leaf = u64::from_be_bytes(take(8).try_into().unwrap());
        assert_eq!(leaf, inc["leaf_index"].as_u64().unwrap());
        let n = u32::from_be_bytes(take(4).try_into().unwrap()) as usize;
        assert_eq!(h(take(n)), inc["entry"].as_str().unwrap());
        let k = usize::from(take(1)[0]);
        let proof: Vec<String> = (0..k).map(|_| h(take(32))).collect();
        assert_eq!(
            proof,
            serde_json::from_value::<Vec<String>>(inc["proof"].clone()).unwrap()
        );
    }
    assert_eq!(at, tail.len());

    let neg = v["negative"].as_array().unwrap();
    let forged = ReleaseResponseV2::from_bytes(&unhex(&neg[0]["bytes"]), 10).unwrap();
    assert!(matches!(
        check_release_v2(&forged, &items, log_key, &policy).unwrap_err(),
        GateCheckError::Checkpoint {
            trustee: TRUSTEE,
            source: WitnessCheckError::BadCosignature { witness, .. },
        } if witness == "w.example/audit"
    ));
    assert!(matches!(
        ReleaseResponseV2::from_bytes(&unhex(&neg[1]["bytes"]), 10).unwrap_err(),
        Error::Malformed { .. }
    ));
    let cut = ReleaseResponseV2::from_bytes(&unhex(&neg[2]["bytes"]), 10).unwrap();
    assert!(matches!(
        check_release_v2(&cut, &items, log_key, &policy).unwrap_err(),
        GateCheckError::Checkpoint {
            trustee: TRUSTEE,
            source: WitnessCheckError::NoAuditStatement { witnesses, .. },
        } if witnesses == ["w.example/audit"]
    ));
    // Without the evidence (release-v2.json's bytes) the gate's check refuses.
    let bare = ReleaseResponseV2::from_bytes(&signed, 10).unwrap();
    assert_eq!(
        check_release_v2(&bare, &items, log_key, &policy).unwrap_err(),
        GateCheckError::Missing { trustee: TRUSTEE }
    );
}
