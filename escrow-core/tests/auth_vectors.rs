//! Known-answer vector of a signed request (`escrow_core::auth`, `docs/api.md` §2.1): the
//! signed bytes are rebuilt here from the specification with plain SHA-256, and the signature
//! (deterministic ECDSA, RFC 6979) and header must match the committed file byte for byte.
//! Regenerate after a deliberate format change with
//! `ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test auth_vectors`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use escrow_core::auth::{RequestSignature, TAG_SIGNED_REQUEST, signed_bytes};
use escrow_core::keys::PrivateKey;
use escrow_core::time::Timestamp;
use rand::SeedableRng;
use sha2::{Digest, Sha256};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/signed-request.json"
);
const SEED: u64 = 0x0e5c_0010;

/// The signed bytes, written from the specification.
fn spec_bytes(
    method: &str,
    pq: &str,
    body: &[u8],
    key_id: &[u8],
    nonce: &[u8],
    time: i64,
) -> Vec<u8> {
    let mut out = vec![TAG_SIGNED_REQUEST.len() as u8];
    out.extend_from_slice(b"escrow/v1/signed-request");
    for part in [method.as_bytes(), pq.as_bytes()] {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out.extend_from_slice(&Sha256::digest(body));
    out.extend_from_slice(key_id);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&time.to_be_bytes());
    out
}

#[test]
fn signed_request_known_answer() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let key = PrivateKey::generate(&mut rng);
    let body = br#"{"version":1,"warrant":{},"ciphertexts":[]}"#;
    let nonce = [0x5a_u8; 16];
    let time = Timestamp::parse("2026-11-30T12:00:00Z").unwrap();
    let pq = "/v1/release";
    let sig = RequestSignature::sign(&key, "POST", pq, body, nonce, time);
    let bytes = signed_bytes("POST", pq, body, &sig.key_id, &nonce, time);
    assert_eq!(
        bytes,
        spec_bytes("POST", pq, body, sig.key_id.as_bytes(), &nonce, time.unix())
    );
    sig.verify(&key.public(), "POST", pq, body).unwrap();
    let got = serde_json::json!({
        "private_key_pkcs8_pem": key.to_pem().unwrap().as_str(),
        "method": "POST",
        "path_and_query": pq,
        "body": std::str::from_utf8(body).unwrap(),
        "nonce_hex": hex::encode(nonce),
        "time": time.to_rfc3339(),
        "key_id": sig.key_id.to_hex(),
        "signed_bytes_hex": hex::encode(&bytes),
        "header": sig.to_header(),
    });
    let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
    if std::env::var_os("ESCROW_REGENERATE_VECTORS").is_some() {
        std::fs::write(FILE, &text).unwrap();
    }
    let committed = std::fs::read_to_string(FILE).unwrap_or_default();
    assert_eq!(committed, text, "vector differs; if deliberate, regenerate");
    // And the committed header verifies as it stands.
    let v: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let k = PrivateKey::from_pem(v["private_key_pkcs8_pem"].as_str().unwrap()).unwrap();
    RequestSignature::from_header(v["header"].as_str().unwrap().as_bytes())
        .unwrap()
        .verify(&k.public(), "POST", pq, body)
        .unwrap();
}
