//! Known-answer vector of the signed `/v1/info` answer, format version 3 (`escrow_core::api::Info`,
//! `docs/api.md` §3.1): the log-key and TLS-key binding bytes are rebuilt here from the
//! specification, the signatures (deterministic ECDSA, RFC 6979) and the answer's JSON must match
//! `tests/vectors/info.json` byte for byte, and the committed answer verifies against the
//! committed trustee set while its altered copies do not. Regenerate after a deliberate format
//! change with `ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test info_vectors`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{check_committed_vector, read_vector, rng, vector_text};
use escrow_core::api::{Info, InfoError, InfoLimits, tls_key_fingerprint};
use escrow_core::audit::{LogKey, TreeHead, checkpoint};
use escrow_core::codec::{Digest32, SetId};
use escrow_core::keys::PrivateKey;
use escrow_core::test_fixtures::info_of;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, TrusteeSet};
use serde_json::json;
use sha2::{Digest, Sha256};

const FILE: &str = "info.json";
const SEED: u64 = 0x0e5c_0017;

/// `u8(len(tag)) || tag || set_id || u16be trustee || ...`, from the specification.
fn spec_prefix(tag: &str, set_id: &SetId, trustee: u16) -> Vec<u8> {
    let mut out = vec![tag.len() as u8];
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(set_id.as_bytes());
    out.extend_from_slice(&trustee.to_be_bytes());
    out
}

fn spec_tls_binding(set_id: &SetId, trustee: u16, spki_der: &[u8]) -> Vec<u8> {
    let mut out = spec_prefix("escrow/v1/tls-key-binding", set_id, trustee);
    out.extend_from_slice(&Sha256::digest(spki_der));
    out
}

fn spec_log_binding(set_id: &SetId, trustee: u16, log_key: &str) -> Vec<u8> {
    let mut out = spec_prefix("escrow/v1/log-key-binding", set_id, trustee);
    out.extend_from_slice(&(log_key.len() as u32).to_be_bytes());
    out.extend_from_slice(log_key.as_bytes());
    out
}

struct World {
    set: TrusteeSet,
    info: Info,
    spki_der: Vec<u8>,
}

fn world() -> World {
    let mut r = rng(SEED);
    let d = trustee::deal(3, 2, &mut r).unwrap();
    let set = d.set.clone();
    let trustee = 2u16;
    let signing = &d.secrets[1].signing_key;
    let origin = checkpoint::origin(&set.origin(), trustee);
    let log_key = LogKey::from_seed(&origin, &[0x17; 32]).unwrap();
    // The TLS certificate's key: any SubjectPublicKeyInfo (here a P-256 key's).
    let spki_der = PrivateKey::generate(&mut r).public().to_der();
    let info = Info {
        policy_digest: Digest32::sha256(b"policy"),
        tls_key: Some(tls_key_fingerprint(&spki_der)),
        log: TreeHead {
            size: 12,
            root: Digest32::sha256(b"root"),
        },
        limits: InfoLimits {
            max_batch: 10_000,
            max_body_bytes: 33_554_432,
            log_page_size: 1000,
            log_page_bytes: 1_048_576,
            request_timeout_secs: 300,
        },
        time: Timestamp::parse("2026-12-01T12:00:00Z").unwrap(),
        ..info_of(&set, trustee, &log_key)
    }
    .sign(signing);
    World {
        set,
        info,
        spki_der,
    }
}

fn generate() -> String {
    let w = world();
    let i = &w.info;
    let tls_bytes = Info::tls_key_binding_bytes(&i.set_id, i.trustee, &i.tls_key.unwrap());
    assert_eq!(
        tls_bytes,
        spec_tls_binding(&i.set_id, i.trustee, &w.spki_der)
    );
    let log_bytes = Info::log_key_binding_bytes(&i.set_id, i.trustee, &i.log_key);
    assert_eq!(
        log_bytes,
        spec_log_binding(&i.set_id, i.trustee, &i.log_key)
    );
    vector_text(json!({
        "description": "GET /v1/info, format version 3 (docs/api.md §3.1): trustee 2 of a 2-of-3 set, served over HTTPS with a certificate whose SubjectPublicKeyInfo is tls_spki_der_hex",
        "rng": "rand 0.10 rand::rngs::StdRng::seed_from_u64(0x0e5c0017) (ChaCha12): deal(3, 2), then the TLS key",
        "trustee_set": serde_json::from_str::<serde_json::Value>(&w.set.to_json()).unwrap(),
        "tls_spki_der_hex": hex::encode(&w.spki_der),
        "tls_key": i.tls_key.unwrap().to_hex(),
        "tls_key_binding_bytes_hex": hex::encode(&tls_bytes),
        "log_key_binding_bytes_hex": hex::encode(&log_bytes),
        "signed_bytes_hex": hex::encode(i.signed_bytes()),
        "info": serde_json::to_string(i).unwrap(),
    }))
}

#[test]
fn info_v3_known_answer() {
    check_committed_vector(FILE, "info_vectors", generate);
}

#[test]
fn the_committed_info_verifies_and_its_altered_copies_do_not() {
    let v = read_vector(FILE);
    let set = TrusteeSet::from_json(&v["trustee_set"].to_string()).unwrap();
    let text = v["info"].as_str().unwrap();
    let info: Info = escrow_core::api::parse(text).unwrap();
    info.verify(&set).unwrap();
    let spki = hex::decode(v["tls_spki_der_hex"].as_str().unwrap()).unwrap();
    let fp = tls_key_fingerprint(&spki);
    assert_eq!(info.tls_key, Some(fp));
    assert_eq!(
        hex::encode(Sha256::digest(&spki)),
        v["tls_key"].as_str().unwrap()
    );
    // The TLS-key binding alone verifies under the trustee's signing key, over the bytes of
    // the specification.
    set.member(2)
        .unwrap()
        .signing_key
        .verify(
            &spec_tls_binding(&set.id(), 2, &spki),
            info.tls_key_binding.as_deref().unwrap(),
            "tls key binding",
        )
        .unwrap();
    // Over HTTPS: the bound key is accepted, another refused naming trustee 2, none seen
    // refused; over plain HTTP nothing is tied.
    info.check_tls_keys(true, &[fp]).unwrap();
    let other = Digest32([0xee; 32]);
    assert!(matches!(
        info.check_tls_keys(true, &[fp, other]).unwrap_err(),
        InfoError::TlsKeyDiffers { trustee: 2, .. }
    ));
    assert!(info.check_tls_keys(true, &[]).is_err());
    info.check_tls_keys(false, &[other]).unwrap();

    let raw: serde_json::Value = serde_json::from_str(text).unwrap();
    let parse = |v: &serde_json::Value| escrow_core::api::parse::<Info>(&v.to_string());
    // Another TLS key, the answer re-signed or not: the binding (or the signature) fails.
    let mut swapped = raw.clone();
    swapped["tls_key"] = other.to_hex().into();
    assert_eq!(
        parse(&swapped).unwrap().verify(&set).unwrap_err(),
        InfoError::TlsKeyNotBound {
            trustee: 2,
            tls_key: other.to_hex()
        }
    );
    // The binding removed: refused (a TLS key without its binding).
    let mut unbound = raw.clone();
    unbound.as_object_mut().unwrap().remove("tls_key_binding");
    assert!(matches!(
        parse(&unbound).unwrap().verify(&set).unwrap_err(),
        InfoError::TlsKeyNotBound { trustee: 2, .. }
    ));
    // Both removed: the answer's signature no longer covers what is served.
    let mut stripped = unbound.clone();
    stripped.as_object_mut().unwrap().remove("tls_key");
    let stripped = parse(&stripped).unwrap();
    assert_eq!(
        stripped.verify(&set).unwrap_err(),
        InfoError::BadSignature { trustee: 2 }
    );
    // and an answer without a TLS key is refused over HTTPS whatever it says.
    assert_eq!(
        stripped.check_tls_keys(true, &[fp]).unwrap_err(),
        InfoError::NoTlsKey { trustee: 2 }
    );
    // Version 2 (before the TLS binding) and unknown fields are refused.
    let mut v2 = raw.clone();
    v2["version"] = 2.into();
    assert!(parse(&v2).is_err());
    let mut extra = raw;
    extra["tls_cert"] = "x".into();
    assert!(parse(&extra).is_err());
}
