//! Shared helpers for the integration tests: deterministic fixtures, and `reference`, an
//! independent implementation of the verifier side of `docs/protocol.md` written only against
//! the curve, hash, KDF and AEAD primitives (not against escrow-core), so that the tests can
//! check that the library and the specification agree byte for byte.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub mod reference;
pub mod reference_v2;

/// The double-lock policy: issuer `sos` and judicial `jc`, both required, default limits
/// (not every test binary uses it).
#[allow(unused_imports)]
pub use escrow_core::test_fixtures::double_lock_policy;

use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message::{self, SealedMessage};
use escrow_core::secret::MessageKey;
use escrow_core::share::{DecryptionShare, ShareContext};
use escrow_core::tdh2::{EscrowCiphertext, ValidCiphertext, encapsulate};
use escrow_core::time::Timestamp;
use escrow_core::trustee::{Dealing, TrusteeSet, VerifiedKeyShare, deal};
use escrow_core::warrant::{Role, Scope, WarrantEnvelope, WarrantPayload, Window};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// A targeted-interception warrant payload (IPA 2016 s.15(2), the Secretary of State) for
/// `target` over `window`, valid over the same window, for the investigator `inv`, with no
/// release limit. A vector that fixes other values says so with struct update syntax.
pub fn warrant_payload(
    id: &str,
    case: &str,
    target: &str,
    window: Window,
    inv: &PrivateKey,
) -> WarrantPayload {
    WarrantPayload {
        version: Default::default(),
        warrant_id: id.into(),
        case_reference: case.into(),
        warrant_type: "targeted-interception".into(),
        legal_basis: "IPA 2016 s.15(2)".into(),
        issuing_authority: "Secretary of State".into(),
        scope: Scope {
            targets: vec![target.into()],
            message_ids: vec![],
            window,
        },
        investigator_key: inv.public().to_pem(),
        not_before: window.from,
        not_after: window.until,
        max_releases: None,
        urgent: false,
        parent_warrant_id: None,
    }
}

/// `payload` issued with `sos` and approved with `jc`: the double lock closed.
pub fn double_locked(
    payload: &WarrantPayload,
    sos: &PrivateKey,
    jc: &PrivateKey,
) -> WarrantEnvelope {
    let mut w = WarrantEnvelope::sign_new(payload, sos, Role::Issuer).unwrap();
    w.add_signature(jc, Role::Judicial).unwrap();
    w
}

/// The warrant of the version 2 release and carry vectors: `id` of `case` for
/// `alice@example.org` on 2026-11-22, valid from 2026-11-21 to 2026-12-21, at most 100
/// releases, double-locked by `sos` and `jc` for the investigator `inv`.
pub fn kat_warrant(
    id: &str,
    case: &str,
    inv: &PrivateKey,
    sos: &PrivateKey,
    jc: &PrivateKey,
) -> WarrantEnvelope {
    let t = |s: &str| Timestamp::parse(s).unwrap();
    let window = Window {
        from: t("2026-11-22T00:00:00Z"),
        until: t("2026-11-23T00:00:00Z"),
    };
    let payload = WarrantPayload {
        not_before: t("2026-11-21T00:00:00Z"),
        not_after: t("2026-12-21T00:00:00Z"),
        max_releases: Some(100),
        ..warrant_payload(id, case, "alice@example.org", window, inv)
    };
    double_locked(&payload, sos, jc)
}

/// A deterministic RNG for a test case.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A dealt trustee set with every key share verified, and one escrowed message key.
pub struct Fixture {
    pub dealing: Dealing,
    pub keys: Vec<VerifiedKeyShare>,
    pub label: Label,
    pub message_key: MessageKey,
    pub ct: EscrowCiphertext,
    pub valid: ValidCiphertext,
    pub ctx: ShareContext,
    pub shares: Vec<DecryptionShare>,
}

impl Fixture {
    pub fn set(&self) -> &TrusteeSet {
        &self.dealing.set
    }

    pub fn n(&self) -> u16 {
        self.dealing.set.trustees()
    }

    pub fn k(&self) -> u16 {
        self.dealing.set.threshold()
    }
}

pub fn label(id: &str) -> Label {
    Label::new(
        "alice@example.org",
        "bob@example.org",
        Timestamp(1_795_000_000),
        id,
    )
    .unwrap()
}

pub fn verified_keys(d: &Dealing) -> Vec<VerifiedKeyShare> {
    d.secrets
        .iter()
        .map(|s| d.set.verify_share(s.key_share.clone()).unwrap())
        .collect()
}

/// Deal `k`-of-`n`, escrow one key, and let every trustee make its share.
pub fn fixture(n: u64, k: u64, rng: &mut StdRng) -> Fixture {
    let dealing = deal(n, k, rng).unwrap();
    let keys = verified_keys(&dealing);
    let label = label("msg-1");
    let message_key = MessageKey::random(rng);
    let (ct, _r) = encapsulate(&dealing.set, &label, &message_key, rng).unwrap();
    let valid = ct.check(&dealing.set).unwrap();
    let ctx = ShareContext::warrant(escrow_core::codec::WarrantDigest::from_bytes(
        escrow_core::codec::Digest32::sha256(b"warrant W-1").0,
    ));
    let shares = keys
        .iter()
        .map(|k| k.decryption_share(&valid, &ctx, rng).unwrap())
        .collect();
    Fixture {
        dealing,
        keys,
        label,
        message_key,
        ct,
        valid,
        ctx,
        shares,
    }
}

/// Seal one message from alice to `bob`.
pub fn sealed(set: &TrusteeSet, bob: &PrivateKey, body: &[u8], rng: &mut StdRng) -> SealedMessage {
    message::seal(set, &bob.public(), &label("m-1"), body, rng).unwrap()
}

/// Fisher–Yates with the given RNG.
pub fn shuffle<T>(v: &mut [T], rng: &mut StdRng) {
    use rand::RngExt as _;
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// Lower-case hex of `b`, as the vector files write bytes.
pub fn h(b: impl AsRef<[u8]>) -> String {
    hex::encode(b)
}

/// The bytes of a hex string of a vector file.
pub fn unhex(v: &serde_json::Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// Serialize to a `serde_json::Value`.
pub fn value<T: serde::Serialize>(t: &T) -> serde_json::Value {
    serde_json::to_value(t).unwrap()
}

/// Rebuild every JSON object with its keys in sorted order, so that the printed text does not
/// depend on whether serde_json's `preserve_order` feature is on in this build.
pub fn sort_keys(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = serde_json::Map::new();
            for (k, v) in entries {
                out.insert(k, sort_keys(v));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The text of a known-answer file: `v` with sorted keys, pretty-printed, one final newline.
pub fn vector_text(v: serde_json::Value) -> String {
    serde_json::to_string_pretty(&sort_keys(v)).unwrap() + "\n"
}

/// The committed known-answer file `tests/vectors/FILE`.
pub fn vector_path(file: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(file)
}

/// The committed known-answer file `tests/vectors/FILE`, parsed.
pub fn read_vector(file: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(vector_path(file)).unwrap()).unwrap()
}

/// The check every known-answer test makes of its committed file: `generate` is deterministic,
/// `ESCROW_REGENERATE_VECTORS=1` rewrites the file, and the committed file is exactly what this
/// build generates (`test` names the test binary to re-run).
pub fn check_committed_vector(file: &str, test: &str, generate: impl Fn() -> String) {
    let text = generate();
    assert_eq!(text, generate(), "vector generation is not deterministic");
    let path = vector_path(file);
    if std::env::var_os("ESCROW_REGENERATE_VECTORS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "tests/vectors/{file} differs from what this build generates; if the change is \
         deliberate, run ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test {test}"
    );
}
