//! Known-answer vector of a disclosure (optional unsealing by the oversight body, issue 16;
//! `docs/protocol.md` §19): `tests/vectors/disclosure.json`, generated from a fixed seed.
//! [`disclosure_vector_matches_committed_file`] regenerates it and compares byte for byte;
//! [`committed_disclosure_verifies_with_library_and_by_the_specification`] verifies the
//! committed file with the library and, independently, with p256 and sha2 following the
//! specification alone. Regenerate after a deliberate change with
//!
//! ```text
//! ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test vectors_disclosure
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{
    check_committed_vector, double_lock_policy, double_locked, read_vector, rng, vector_text,
    warrant_payload,
};
use escrow_core::audit::disclosure::{Disclosure, DisclosureError};
use escrow_core::codec::Digest32;
use escrow_core::keys::PrivateKey;
use escrow_core::time::Timestamp;
use escrow_core::warrant::{Oversight, Policy, WarrantEnvelope, WarrantPayload, Window};
use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
use serde_json::{Value, json};

const FILE: &str = "disclosure.json";
const SEED: u64 = 0x0e5c_0019;

fn generate() -> String {
    let mut r = rng(SEED);
    let sos = PrivateKey::generate(&mut r);
    let jc = PrivateKey::generate(&mut r);
    let ipc = PrivateKey::generate(&mut r);
    let inv = PrivateKey::generate(&mut r);
    let policy = double_lock_policy(&sos, &jc)
        .with_oversight(vec![Oversight {
            name: "commissioner".into(),
            key: ipc.public(),
        }])
        .unwrap();
    let t0 = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
    let window = Window {
        from: t0,
        until: t0.plus(7 * 86_400),
    };
    let payload = WarrantPayload {
        issuing_authority: "sos".into(),
        ..warrant_payload(
            "w-2026-0042",
            "OP-2026-0042",
            "alice@example.org",
            window,
            &inv,
        )
    };
    let w = double_locked(&payload, &sos, &jc);
    let d = Disclosure::sign(
        &ipc,
        &policy,
        &w,
        Timestamp::parse("2027-03-01T12:00:00Z").unwrap(),
        "investigation closed",
    )
    .unwrap();
    let v = json!({
        "description": "A disclosure of a warrant signed by the policy's oversight key (docs/protocol.md §19): signature = ECDSA P-256/SHA-256 (RFC 6979) over DSSE PAE(\"application/vnd.escrow.disclosure.v1+json\", payload bytes), DER, base64.",
        "rng": "rand 0.10 rand::rngs::StdRng::seed_from_u64(seed) (ChaCha12)",
        "seed": SEED,
        "oversight_key": ipc.to_pem().unwrap().as_str(),
        "policy": serde_json::from_str::<Value>(&policy.to_json()).unwrap(),
        "policy_digest": policy.digest(),
        "warrant_digest": w.digest(),
        "disclosure": serde_json::from_str::<Value>(&d.to_json_pretty()).unwrap(),
    });
    vector_text(v)
}

#[test]
fn disclosure_vector_matches_committed_file() {
    check_committed_vector(FILE, "vectors_disclosure", generate);
}

#[test]
fn committed_disclosure_verifies_with_library_and_by_the_specification() {
    let v: Value = read_vector(FILE);
    let policy = Policy::from_json(&v["policy"].to_string()).unwrap();
    assert_eq!(
        policy.digest().to_hex(),
        v["policy_digest"].as_str().unwrap()
    );

    // Library.
    let d = Disclosure::from_json(&v["disclosure"].to_string()).unwrap();
    let ok = d.verify(&policy).unwrap();
    assert_eq!(
        ok.payload.warrant_digest.to_hex(),
        v["warrant_digest"].as_str().unwrap()
    );
    assert_eq!(ok.warrant.payload().case_reference, "OP-2026-0042");
    let mut bad = d.clone();
    bad.signature[10] ^= 1;
    assert!(matches!(
        bad.verify(&policy),
        Err(DisclosureError::BadSignature(_))
    ));

    // Specification only.
    let sk = p256::SecretKey::from_pkcs8_pem(v["oversight_key"].as_str().unwrap()).unwrap();
    let der = sk.public_key().to_public_key_der().unwrap();
    let file = &v["disclosure"];
    assert_eq!(file["version"], 1);
    assert_eq!(
        file["key_id"].as_str().unwrap(),
        Digest32::sha256(der.as_bytes()).to_hex()
    );
    let b64 = |s: &Value| escrow_core::codec::b64_decode(s.as_str().unwrap()).unwrap();
    let payload = b64(&file["payload"]);
    let ty = "application/vnd.escrow.disclosure.v1+json";
    let mut pae = format!("DSSEv1 {} {} {} ", ty.len(), ty, payload.len()).into_bytes();
    pae.extend_from_slice(&payload);
    let sig = p256::ecdsa::Signature::from_der(&b64(&file["signature"])).unwrap();
    p256::ecdsa::VerifyingKey::from(sk.public_key())
        .verify(&pae, &sig)
        .unwrap();
    let p: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(p["version"], 1);
    assert_eq!(p["policy"], v["policy_digest"]);
    assert_eq!(p["warrant_digest"], v["warrant_digest"]);
    assert_eq!(p["statement"], "investigation closed");
    assert_eq!(p["disclosed_at"], "2027-03-01T12:00:00Z");
    let env = WarrantEnvelope::from_json(p["warrant"].as_str().unwrap()).unwrap();
    assert_eq!(env.digest().to_hex(), v["warrant_digest"].as_str().unwrap());
}
