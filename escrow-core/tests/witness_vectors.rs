//! Issue 17 known-answer vectors, made by an independent implementation of the C2SP specs
//! (`tests/vectors/witness_vectors.py`, Python `cryptography`): a log-signed checkpoint with
//! three `cosignature/v1` lines, and a version-3 policy (witnessing section) with its digest.
//! If these fail, a format changed: bump its version instead.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use escrow_core::audit::LogKey;
use escrow_core::audit::witness::{WitnessCheckError, add_cosignatures, verify_witnessed};
use escrow_core::warrant::Policy;

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!("vectors/witness.json")).unwrap()
}

#[test]
fn cosignatures_from_an_independent_implementation_verify() {
    let v = vectors();
    let policy = Policy::from_json(v["policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        policy.digest().to_hex(),
        v["policy_digest"].as_str().unwrap()
    );
    // the file round-trips to the same digest
    assert_eq!(
        Policy::from_json(&policy.to_json()).unwrap().digest(),
        policy.digest()
    );
    let wp = policy.witnessing().unwrap();
    assert_eq!((wp.quorum(), wp.auditing_required()), (2, true));
    assert_eq!(
        wp.witnesses()[0].url.as_deref(),
        Some("http://127.0.0.1:9001")
    );
    let note = v["note"].as_str().unwrap();
    let log_key = v["log_key"].as_str().unwrap();
    // our log key from the same seed signs the same note (Ed25519 is deterministic)
    let ours = LogKey::from_seed("escrow.example/trustee/0011223344556677/1", &[1; 32]).unwrap();
    assert_eq!(ours.verifier_key(), log_key);
    let c: Vec<String> = v["cosignatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let all = add_cosignatures(note, &c);
    let w = verify_witnessed(&all, log_key, wp).unwrap();
    let times: Vec<u64> = w.cosigners.iter().map(|c| c.time).collect();
    assert_eq!(times, [1_764_505_000, 1_764_505_001, 1_764_505_002]);
    assert_eq!(w.checkpoint.head.size, 1);
    // two plain witnesses: a quorum, but not the auditing witness the policy requires
    assert_eq!(
        verify_witnessed(&add_cosignatures(note, &c[..2]), log_key, wp).unwrap_err(),
        WitnessCheckError::NoAuditingWitness
    );
    assert_eq!(
        verify_witnessed(&add_cosignatures(note, &c[2..]), log_key, wp).unwrap_err(),
        WitnessCheckError::NoQuorum { got: 1, quorum: 2 }
    );
}
