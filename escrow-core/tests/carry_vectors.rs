//! Known-answer vector of the auditing witness's carry (`escrow_core::audit::carry::LogCarry`,
//! format version 1, `docs/witness.md` §The carry's format): a fixed carry serializes to the
//! committed JSON text byte for byte (`tests/vectors/carry.json`, member `carry`), and that text
//! reads back to the same carry; another version, an unknown field and a frontier that does not
//! hash to the tree head are refused. Regenerate after a deliberate format change with
//! `ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test carry_vectors`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{check_committed_vector, kat_warrant, read_vector, rng, vector_text};
use escrow_core::audit::carry::{
    CARRY_FORMAT_VERSION, CarriedCancellation, CarryError, JudgedFacts, LogCarry,
};
use escrow_core::audit::{Frontier, LogKey, mth};
use escrow_core::codec::{Digest32, V1};
use escrow_core::keys::PrivateKey;
use escrow_core::time::Timestamp;
use escrow_core::warrant::{CancellationEnvelope, CancellationPayload, Role};
use serde_json::json;

const FILE: &str = "carry.json";
const SEED: u64 = 0x0e5c_0018;
const ORIGIN: &str = "escrow.example/trustee/0011223344556677/2";

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// Leaf hashes of a log of 6 entries (any 32-byte values: the carry holds hashes only).
fn leaves() -> Vec<Digest32> {
    (0u8..6).map(|i| Digest32::sha256(&[b'e', i])).collect()
}

fn carry() -> LogCarry {
    let mut r = rng(SEED);
    let sos = PrivateKey::generate(&mut r);
    let jc = PrivateKey::generate(&mut r);
    let inv = PrivateKey::generate(&mut r);
    let warrant = kat_warrant("w-carry", "OP-CARRY", &inv, &sos, &jc);
    let cancellation = CancellationEnvelope::sign_new(
        &CancellationPayload {
            version: V1::default(),
            warrant_id: "w-carry".into(),
            warrant_digest: warrant.digest(),
            cancelled_at: t("2026-11-25T00:00:00Z"),
            reason: "operation ended".into(),
        },
        &sos,
        Role::Issuer,
    )
    .unwrap();
    let leaves = leaves();
    let frontier = Frontier::from_leaves(&leaves);
    let head = frontier.head();
    assert_eq!(head.root, mth(&leaves));
    let checkpoint = LogKey::from_seed(ORIGIN, &[0x18; 32])
        .unwrap()
        .sign(&head)
        .unwrap();
    let mut released = std::collections::BTreeMap::new();
    released.insert(
        "w-carry".to_string(),
        [Digest32::sha256(b"ct-1"), Digest32::sha256(b"ct-2")]
            .into_iter()
            .map(|d| escrow_core::codec::CiphertextDigest::from_bytes(*d.as_bytes()))
            .collect(),
    );
    LogCarry::new(
        2,
        ORIGIN.into(),
        checkpoint,
        &frontier,
        JudgedFacts {
            cancellations: vec![CarriedCancellation {
                entry: 5,
                warrant: Some(warrant.digest()),
                document: Some(cancellation.digest()),
            }],
            setups: vec![(0, Digest32::sha256(b"policy"))],
            released,
            warrants: vec![warrant],
            cancellation_documents: vec![cancellation],
        },
    )
}

fn generate() -> String {
    let c = carry();
    vector_text(json!({
        "description": "escrow_core::audit::carry::LogCarry, format version 1 (docs/witness.md, The carry's format): trustee 2's log of 6 entries judged up to its checkpoint of size 6; `carry` is the stored text (LogCarry::to_json), byte for byte",
        "rng": "rand 0.10 rand::rngs::StdRng::seed_from_u64(0x0e5c0018) (ChaCha12): issuer, judicial and investigator keys",
        "leaf_hashes": leaves().iter().map(|l| l.to_hex()).collect::<Vec<_>>(),
        "carry": c.to_json(),
    }))
}

#[test]
fn carry_v1_known_answer() {
    check_committed_vector(FILE, "carry_vectors", generate);
}

#[test]
fn the_committed_carry_reads_back_and_what_is_not_version_1_is_refused() {
    let v = read_vector(FILE);
    let text = v["carry"].as_str().unwrap();
    let c = LogCarry::from_json(text).unwrap();
    // reads back to the same carry and writes the same bytes
    assert_eq!(c, carry());
    assert_eq!(c.to_json(), text);
    assert_eq!(c.version, CARRY_FORMAT_VERSION);
    assert_eq!((c.trustee, c.head.size), (2, 6));
    let leaves: Vec<Digest32> = v["leaf_hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Digest32::from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(c.head.root, mth(&leaves));
    // the frontier resumes: one more leaf gives the root of the 7-entry tree
    let mut f = c.frontier().unwrap();
    let extra = Digest32::sha256(b"e7");
    f.push(extra);
    let mut all = leaves.clone();
    all.push(extra);
    assert_eq!(f.head().root, mth(&all));
    // the checkpoint is the log key's signed note of the head
    let key = LogKey::from_seed(ORIGIN, &[0x18; 32]).unwrap();
    let cp = escrow_core::audit::verify_checkpoint(&c.checkpoint, &key.verifier_key()).unwrap();
    assert_eq!(cp.head, c.head);

    let raw: serde_json::Value = serde_json::from_str(text).unwrap();
    let read = |v: &serde_json::Value| LogCarry::from_json(&v.to_string());
    let mut v2 = raw.clone();
    v2["version"] = 2.into();
    assert!(matches!(read(&v2).unwrap_err(), CarryError::Format(m) if m.contains("version 2")));
    let mut extra_field = raw.clone();
    extra_field["note"] = "x".into();
    assert!(matches!(
        read(&extra_field).unwrap_err(),
        CarryError::Format(_)
    ));
    let mut extra_fact = raw.clone();
    extra_fact["facts"]["note"] = "x".into();
    assert!(matches!(
        read(&extra_fact).unwrap_err(),
        CarryError::Format(_)
    ));
    let mut missing = raw.clone();
    missing.as_object_mut().unwrap().remove("frontier");
    assert!(matches!(read(&missing).unwrap_err(), CarryError::Format(_)));
    // a frontier hash changed: it no longer hashes to the head
    let mut bent = raw.clone();
    bent["frontier"][0][1] = Digest32([0; 32]).to_hex().into();
    assert_eq!(
        read(&bent).unwrap_err(),
        CarryError::Frontier {
            origin: ORIGIN.into(),
            size: 6
        }
    );
    // a head that claims another size than its frontier's
    let mut grown = raw;
    grown["head"]["size"] = 7.into();
    assert!(matches!(
        read(&grown).unwrap_err(),
        CarryError::Frontier { size: 7, .. }
    ));
}
