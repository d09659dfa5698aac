//! Known-answer vector of the public view's salted case-number digest (issue 16;
//! `docs/protocol.md` §18): `tests/vectors/public-view.json`, generated from a fixed seed.
//! [`public_view_vector_matches_committed_file`] regenerates it and compares byte for byte;
//! [`committed_public_view_vector_follows_the_specification`] recomputes the salt and the
//! digests with p256 / hkdf / sha2 from the specification alone. Regenerate after a deliberate
//! change with
//!
//! ```text
//! ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test vectors_public
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{check_committed_vector, read_vector, rng, vector_text};
use escrow_core::audit::public::{case_digest, public_salt};
use escrow_core::codec::Digest32;
use escrow_core::keys::PrivateKey;
use hkdf::Hkdf;
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const FILE: &str = "public-view.json";
const SEED: u64 = 0x0e5c_0018;
const CASES: [&str; 3] = ["OP-2026-0042", "OP-2026-0043", "alice"];

fn generate() -> String {
    let mut r = rng(SEED);
    let key = PrivateKey::generate(&mut r);
    let policy = Digest32([0x44; 32]);
    let salt = public_salt(&key, &policy);
    let v = json!({
        "description": "The public view's salted case-number digest (docs/protocol.md §18): salt = HKDF-SHA256(salt = policy digest, IKM = oversight private scalar, info = \"escrow/v1/public-view/salt\", 32 bytes); case digest = SHA-256(\"escrow/v1/public-view/case\" || 0x00 || salt || UTF-8 case reference).",
        "rng": "rand 0.10 rand::rngs::StdRng::seed_from_u64(seed) (ChaCha12)",
        "seed": SEED,
        "oversight_key": key.to_pem().unwrap().as_str(),
        "policy_digest": policy,
        "salt_hex": hex::encode(salt.as_slice()),
        "cases": CASES
            .iter()
            .map(|c| json!({"case_reference": c, "digest": case_digest(&salt, c)}))
            .collect::<Vec<_>>(),
    });
    vector_text(v)
}

#[test]
fn public_view_vector_matches_committed_file() {
    check_committed_vector(FILE, "vectors_public", generate);
}

#[test]
fn committed_public_view_vector_follows_the_specification() {
    let v: Value = read_vector(FILE);
    let sk = p256::SecretKey::from_pkcs8_pem(v["oversight_key"].as_str().unwrap()).unwrap();
    let policy = hex::decode(v["policy_digest"].as_str().unwrap()).unwrap();
    let mut salt = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&policy), sk.to_bytes().as_slice())
        .expand(b"escrow/v1/public-view/salt", &mut salt)
        .unwrap();
    assert_eq!(hex::encode(salt), v["salt_hex"].as_str().unwrap());
    for c in v["cases"].as_array().unwrap() {
        let mut h = Sha256::new();
        h.update(b"escrow/v1/public-view/case\0");
        h.update(salt);
        h.update(c["case_reference"].as_str().unwrap().as_bytes());
        assert_eq!(
            hex::encode(h.finalize()),
            c["digest"].as_str().unwrap(),
            "{c}"
        );
    }
}
