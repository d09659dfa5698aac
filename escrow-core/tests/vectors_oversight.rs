//! Known-answer vector of a log entry with an oversight copy (entry encoding version 3, issue 16;
//! `docs/protocol.md` §17): `tests/vectors/oversight-entry.json`, generated from a fixed seed.
//! [`oversight_vector_matches_committed_file`] regenerates it and compares byte for byte;
//! [`committed_oversight_vector_opens_with_library_and_by_the_specification`] opens the
//! committed entry with the library and, independently, with p256 / hkdf / aes-gcm following
//! the specification alone. Regenerate after a deliberate change with
//!
//! ```text
//! ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test vectors_oversight
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use common::{check_committed_vector, read_vector, rng, unhex, vector_text};
use escrow_core::audit::{LogEntry, Sealed, SealedDocument};
use escrow_core::codec::Digest32;
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::secret::MessageKey;
use escrow_core::tdh2;
use escrow_core::time::Timestamp;
use escrow_core::trustee;
use hkdf::Hkdf;
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::{Value, json};
use sha2::Sha256;

const FILE: &str = "oversight-entry.json";
const SEED: u64 = 0x0e5c_0016;

fn generate() -> String {
    let mut r = rng(SEED);
    let dealing = trustee::deal(3, 2, &mut r).unwrap();
    let label = Label::new(
        "alice@example.org",
        "bob@example.org",
        Timestamp(1_700_000_000),
        "msg-0001",
    )
    .unwrap();
    let key = MessageKey::random(&mut r);
    let (header, _) = tdh2::encapsulate(&dealing.set, &label, &key, &mut r).unwrap();
    let ipc = PrivateKey::generate(&mut r);
    let second = PrivateKey::generate(&mut r);
    let mut entry = LogEntry::release(
        5,
        Timestamp(1_700_000_100),
        escrow_core::codec::WarrantDigest::from_bytes([0x11; 32]),
        header.digest(),
        Digest32([0x22; 32]),
        escrow_core::codec::KeyId::from_bytes([0x33; 32]),
    );
    let doc = SealedDocument::HeaderV1(header.clone());
    entry
        .seal_for_oversight(&[ipc.public(), second.public()], &doc, &mut r)
        .unwrap();
    let bytes = entry.to_bytes();
    let v = json!({
        "description": "A release entry (encoding version 3) carrying the escrow header of the released message sealed to two oversight keys (docs/protocol.md §17). Open with either key: the document is `document_hex` (type byte 1, then the header's compact JSON), whose ciphertext digest is the entry's.",
        "rng": "rand 0.10 rand::rngs::StdRng::seed_from_u64(seed) (ChaCha12)",
        "seed": SEED,
        "trustee_set": serde_json::from_str::<Value>(&dealing.set.to_json()).unwrap(),
        "oversight_keys": [ipc.to_pem().unwrap().as_str(), second.to_pem().unwrap().as_str()],
        "oversight_key_ids": [ipc.public().key_id(), second.public().key_id()],
        "entry_hex": hex::encode(&bytes),
        "leaf_hash": entry.leaf_hash(),
        "context_hex": hex::encode(escrow_core::audit::oversight::sealing_context(&entry)),
        "document_hex": hex::encode(doc.to_bytes()),
        "header_digest": header.digest(),
    });
    vector_text(v)
}

#[test]
fn oversight_vector_matches_committed_file() {
    check_committed_vector(FILE, "vectors_oversight", generate);
}

fn gcm_open(key: &[u8], ct: &[u8], aad: &[u8]) -> Vec<u8> {
    Aes256Gcm::new_from_slice(key)
        .unwrap()
        .decrypt(&Nonce::default(), Payload { msg: ct, aad })
        .unwrap()
}

#[test]
fn committed_oversight_vector_opens_with_library_and_by_the_specification() {
    let v: Value = read_vector(FILE);
    let bytes = unhex(&v["entry_hex"]);
    let document = unhex(&v["document_hex"]);
    let ctx = unhex(&v["context_hex"]);

    // Library.
    let entry = LogEntry::from_bytes(&bytes).unwrap();
    assert_eq!(entry.leaf_hash().to_hex(), v["leaf_hash"].as_str().unwrap());
    for pem in v["oversight_keys"].as_array().unwrap() {
        let k = PrivateKey::from_pem(pem.as_str().unwrap()).unwrap();
        let doc = Sealed::open(&entry, &k).unwrap();
        assert_eq!(doc.to_bytes(), document);
        let SealedDocument::HeaderV1(h) = doc else {
            panic!("not a v1 header")
        };
        assert_eq!(h.digest().to_hex(), v["header_digest"].as_str().unwrap());
        assert_eq!(Some(&h.digest()), entry.ciphertexts.first());
    }

    // Specification only. ctx = u8 len || "escrow/v1/oversight-seal" || kind || opt(warrant)
    // || opt(document) || opt(policy) || opt(investigator) || u32 n || cts || u32 m || shares.
    let tag = b"escrow/v1/oversight-seal";
    let mut want = vec![tag.len() as u8];
    want.extend_from_slice(tag);
    want.push(3); // release
    want.push(1);
    want.extend_from_slice(&[0x11; 32]);
    want.extend_from_slice(&[0, 0]);
    want.push(1);
    want.extend_from_slice(&[0x33; 32]);
    want.extend_from_slice(&1u32.to_be_bytes());
    want.extend_from_slice(&unhex(&v["header_digest"]));
    want.extend_from_slice(&1u32.to_be_bytes());
    want.extend_from_slice(&[0x22; 32]);
    assert_eq!(want, ctx);
    // The version-1 part of the entry: tag, version 3, seq, time, kind, the four options,
    // two digest lists, no reason; then opt_u64(count) = 0x00 and the sealed copy.
    let v1_len = 1 + 19 + 1 + 8 + 8 + 1 + 33 + 1 + 1 + 33 + 4 + 32 + 4 + 32 + 1;
    assert_eq!(bytes[20], 3);
    for doc in open_by_specification(&bytes, v1_len, &ctx, &v["oversight_keys"]) {
        assert_eq!(doc, document);
    }
}

/// Open the sealed copy after the first `v1_len` bytes of an entry (`opt_u64(count)` = none,
/// then the copy) with every key in `keys`, following `docs/protocol.md` §17 and §9 alone.
fn open_by_specification(bytes: &[u8], v1_len: usize, ctx: &[u8], keys: &Value) -> Vec<Vec<u8>> {
    assert_eq!(bytes[v1_len], 0, "no count");
    let mut at = v1_len + 1;
    let n = usize::from(bytes[at]);
    at += 1;
    let recipients: Vec<&[u8]> = (0..n)
        .map(|i| &bytes[at + i * 113..at + (i + 1) * 113])
        .collect();
    at += n * 113;
    let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    at += 4;
    let body = &bytes[at..at + len];
    assert_eq!(at + len, bytes.len());
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), n);
    let mut out = Vec::new();
    for (pem, rcpt) in keys.iter().zip(recipients) {
        let sk = p256::SecretKey::from_pkcs8_pem(pem.as_str().unwrap()).unwrap();
        let r_enc = {
            use p256::elliptic_curve::sec1::ToSec1Point;
            sk.public_key()
                .as_affine()
                .to_sec1_point(true)
                .as_bytes()
                .to_vec()
        };
        let (key_id, rest) = rcpt.split_at(32);
        let (e_enc, wrapped) = rest.split_at(33);
        // key id = SHA-256 of the SPKI DER
        let der = p256::pkcs8::EncodePublicKey::to_public_key_der(&sk.public_key()).unwrap();
        assert_eq!(key_id, Digest32::sha256(der.as_bytes()).as_bytes());
        let e = p256::PublicKey::from_sec1_bytes(e_enc).unwrap();
        let sx = p256::ecdh::diffie_hellman(sk.to_nonzero_scalar(), e.as_affine());
        let mut info = b"escrow/v1/ecies".to_vec();
        info.extend_from_slice(&(ctx.len() as u32).to_be_bytes());
        info.extend_from_slice(ctx);
        info.extend_from_slice(e_enc);
        info.extend_from_slice(&r_enc);
        let mut k = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&[]), sx.raw_secret_bytes().as_slice())
            .expand(&info, &mut k)
            .unwrap();
        let dk = gcm_open(&k, wrapped, ctx);
        out.push(gcm_open(&dk, body, ctx));
    }
    out
}

const CANCEL_FILE: &str = "oversight-cancellation.json";
const CANCEL_SEED: u64 = 0x0e5c_0116;

/// A cancellation entry (encoding version 4) carrying the signed cancellation sealed to one
/// oversight key.
fn generate_cancellation() -> String {
    use escrow_core::warrant::{CancellationEnvelope, CancellationPayload, Role};
    let mut r = rng(CANCEL_SEED);
    let issuer = PrivateKey::generate(&mut r);
    let ipc = PrivateKey::generate(&mut r);
    let payload = CancellationPayload {
        version: Default::default(),
        warrant_id: "w-2026-0042".into(),
        warrant_digest: escrow_core::codec::WarrantDigest::from_bytes([0x11; 32]),
        cancelled_at: Timestamp(1_700_000_200),
        reason: "target no longer of interest".into(),
    };
    let env = CancellationEnvelope::sign_new(&payload, &issuer, Role::Issuer).unwrap();
    let mut entry = LogEntry::cancellation(
        9,
        Timestamp(1_700_000_300),
        escrow_core::codec::WarrantDigest::from_bytes([0x11; 32]),
        env.digest(),
    );
    let doc = SealedDocument::Cancellation(env.clone());
    entry
        .seal_for_oversight(&[ipc.public()], &doc, &mut r)
        .unwrap();
    let v = json!({
        "description": "A cancellation entry (encoding version 4: the version 3 layout, for a sealed cancellation) carrying the signed cancellation sealed to one oversight key (docs/protocol.md §17). The document is `document_hex` (type byte 4, then the cancellation envelope's compact JSON), whose digest is the entry's document digest.",
        "rng": "rand 0.10 rand::rngs::StdRng::seed_from_u64(seed) (ChaCha12)",
        "seed": CANCEL_SEED,
        "oversight_keys": [ipc.to_pem().unwrap().as_str()],
        "entry_hex": hex::encode(entry.to_bytes()),
        "leaf_hash": entry.leaf_hash(),
        "context_hex": hex::encode(escrow_core::audit::oversight::sealing_context(&entry)),
        "document_hex": hex::encode(doc.to_bytes()),
        "cancellation_digest": env.digest(),
    });
    vector_text(v)
}

#[test]
fn oversight_cancellation_vector_matches_committed_file() {
    check_committed_vector(CANCEL_FILE, "vectors_oversight", generate_cancellation);
}

#[test]
fn committed_oversight_cancellation_opens_with_library_and_by_the_specification() {
    let v: Value = read_vector(CANCEL_FILE);
    let bytes = unhex(&v["entry_hex"]);
    let document = unhex(&v["document_hex"]);
    let ctx = unhex(&v["context_hex"]);
    // Library.
    let entry = LogEntry::from_bytes(&bytes).unwrap();
    assert_eq!(entry.leaf_hash().to_hex(), v["leaf_hash"].as_str().unwrap());
    let k = PrivateKey::from_pem(v["oversight_keys"][0].as_str().unwrap()).unwrap();
    let SealedDocument::Cancellation(env) = Sealed::open(&entry, &k).unwrap() else {
        panic!("not a cancellation")
    };
    assert_eq!(Some(env.digest()), entry.document);
    // Specification only: version byte 4, kind 5, ctx over the entry's digests.
    assert_eq!(bytes[20], 4);
    let tag = b"escrow/v1/oversight-seal";
    let mut want = vec![tag.len() as u8];
    want.extend_from_slice(tag);
    want.push(5); // cancellation
    want.push(1);
    want.extend_from_slice(&[0x11; 32]);
    want.push(1);
    want.extend_from_slice(&unhex(&v["cancellation_digest"]));
    want.extend_from_slice(&[0, 0]);
    want.extend_from_slice(&0u32.to_be_bytes());
    want.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(want, ctx);
    assert_eq!(document[0], 4);
    // tag, version, seq, time, kind, warrant, document, no policy, no investigator, two empty
    // lists, no reason.
    let v1_len = 1 + 19 + 1 + 8 + 8 + 1 + 33 + 33 + 1 + 1 + 4 + 4 + 1;
    for doc in open_by_specification(&bytes, v1_len, &ctx, &v["oversight_keys"]) {
        assert_eq!(doc, document);
    }
}
