//! Known-answer vector of who holds the key (issue 15; `docs/protocol.md` §11.1 and §16.2):
//! `tests/vectors/trustee-set-holders.json` holds a dealt 3-of-5 set whose members carry
//! their organisation and jurisdiction (`trustee-set.json` version 4), the bytes its id
//! hashes, keygen session parameters naming the same holders (version 2) with their session
//! id, and a version-5 policy with both custody rules and its digest. The committed file is
//! checked with the library and, independently, by recomputing both ids with sha2 from the
//! specification. Regenerate after a deliberate change with
//!
//! ```text
//! ESCROW_REGENERATE_VECTORS=1 cargo test -p escrow-core --test vectors_holders
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{check_committed_vector, read_vector, rng, vector_text};
use escrow_core::dkg::SessionParams;
use escrow_core::keys::PrivateKey;
use escrow_core::trustee::{CustodyError, Holder, TrusteeSet, deal_for};
use escrow_core::warrant::{Authority, Custody, Policy, PolicyLimits, Role};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const FILE: &str = "trustee-set-holders.json";
const SEED: u64 = 0x0e5c_0150;
const HOLDERS: [(&str, &str); 5] = [
    ("Bundesamt A", "DE"),
    ("Cour B", "FR"),
    ("Stichting C", "NL"),
    ("Verein D", "DE"),
    ("Autorité E", "FR"),
];

fn holders() -> Vec<Holder> {
    HOLDERS
        .iter()
        .map(|(o, j)| Holder::new(o, j).unwrap())
        .collect()
}

fn generate() -> String {
    let mut r = rng(SEED);
    let d = deal_for(5, 3, Some(&holders()), &mut r).unwrap();
    let set_json: Value = serde_json::from_str(&d.set.to_json()).unwrap();
    let params = SessionParams::keygen(
        3,
        d.set.members().iter().map(|m| m.signing_key).collect(),
        &mut r,
    )
    .unwrap()
    .with_holders(holders())
    .unwrap();
    let policy = Policy::new(
        vec![Authority {
            name: "sos".into(),
            role: Role::Issuer,
            key: PrivateKey::generate(&mut r).public(),
        }],
        vec![Role::Issuer],
        PolicyLimits::default(),
    )
    .unwrap()
    .with_custody(Some(Custody {
        reshare_thresholds: vec![],
        jurisdictions_below_threshold: true,
        organisations_below_threshold: true,
    }))
    .unwrap();
    vector_text(json!({
        "description": "A dealt 3-of-5 trustee set whose members name their organisation and jurisdiction (trustee-set.json version 4), the bytes its id hashes under escrow/v1/trustee-set-id-with-holders, keygen session parameters naming the same holders (version 2) and their session id, and a version-5 policy with custody.jurisdictions_below_threshold and organisations_below_threshold (this set passes: DE and FR hold 2 shares each, k = 3).",
        "rng": "rand 0.10 rand::rngs::StdRng::seed_from_u64(seed) (ChaCha12)",
        "seed": SEED,
        "set": set_json,
        "set_id_input": hex::encode(id_input(&set_json)),
        "session_params": serde_json::to_value(&params).unwrap(),
        "session_id": params.session_id().to_hex(),
        "policy": serde_json::from_str::<Value>(&policy.to_json()).unwrap(),
        "policy_digest": policy.digest().to_hex(),
    }))
}

fn lp(b: &mut Vec<u8>, x: &[u8]) {
    b.extend_from_slice(&(x.len() as u32).to_be_bytes());
    b.extend_from_slice(x);
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

/// §11.1 by hand: `u16 k ‖ u16 n ‖ C… ‖ (u16 i ‖ X_i ‖ S_i)… [lineage] [reshared_after] ‖
/// (lp(organisation) ‖ lp(jurisdiction))…`.
fn id_input(set: &Value) -> Vec<u8> {
    let mut b = Vec::new();
    let k = set["threshold"].as_u64().unwrap() as u16;
    let ms = set["members"].as_array().unwrap();
    b.extend_from_slice(&k.to_be_bytes());
    b.extend_from_slice(&(ms.len() as u16).to_be_bytes());
    for c in set["commitments"].as_array().unwrap() {
        b.extend_from_slice(&hx(c));
    }
    for m in ms {
        b.extend_from_slice(&(m["index"].as_u64().unwrap() as u16).to_be_bytes());
        b.extend_from_slice(&hx(&m["verification_key"]));
        b.extend_from_slice(&hx(&m["signing_key"]));
    }
    assert!(set.get("lineage").is_none() && set.get("reshared_after").is_none());
    for m in ms {
        lp(&mut b, m["organisation"].as_str().unwrap().as_bytes());
        lp(&mut b, m["jurisdiction"].as_str().unwrap().as_bytes());
    }
    b
}

/// `T(tag, x) = SHA-256(u8 len(tag) ‖ tag ‖ x)` (§2).
fn tagged(tag: &str, x: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update([tag.len() as u8]);
    h.update(tag.as_bytes());
    h.update(x);
    hex::encode(h.finalize())
}

#[test]
fn holders_vector_matches_committed_file() {
    check_committed_vector(FILE, "vectors_holders", generate);
}

#[test]
fn committed_holders_vector_verifies_with_library_and_by_the_specification() {
    let v = read_vector(FILE);
    let set = TrusteeSet::from_json(&v["set"].to_string()).unwrap();
    assert_eq!(v["set"]["version"], 4);
    assert_eq!(set.holders().unwrap(), holders());
    // the set id, by hand
    let input = id_input(&v["set"]);
    assert_eq!(hex::encode(&input), v["set_id_input"].as_str().unwrap());
    let id = tagged("escrow/v1/trustee-set-id-with-holders", &input);
    assert_eq!(id, v["set"]["set_id"].as_str().unwrap());
    assert_eq!(set.id().to_hex(), id);
    // the session id, by hand (§16.2: kind 1 ‖ nonce ‖ u16 k ‖ u16 n ‖ P… ‖ u16 n ‖ holders)
    let p = &v["session_params"];
    assert_eq!(p["version"], 2);
    let mut b = vec![1u8];
    b.extend_from_slice(&hx(&p["nonce"]));
    b.extend_from_slice(&3u16.to_be_bytes());
    b.extend_from_slice(&5u16.to_be_bytes());
    for k in p["participants"].as_array().unwrap() {
        b.extend_from_slice(&hx(k));
    }
    b.extend_from_slice(&5u16.to_be_bytes());
    for h in p["holders"].as_array().unwrap() {
        lp(&mut b, h["organisation"].as_str().unwrap().as_bytes());
        lp(&mut b, h["jurisdiction"].as_str().unwrap().as_bytes());
    }
    assert_eq!(
        tagged("escrow/v1/dkg/session", &b),
        v["session_id"].as_str().unwrap()
    );
    let params: SessionParams = serde_json::from_value(p.clone()).unwrap();
    assert_eq!(
        params.session_id().to_hex(),
        v["session_id"].as_str().unwrap()
    );
    // the policy: version 5, its digest, and this set passes its custody rule
    let policy = Policy::from_json(&v["policy"].to_string()).unwrap();
    assert_eq!(v["policy"]["version"], 5);
    assert_eq!(
        policy.digest().to_hex(),
        v["policy_digest"].as_str().unwrap()
    );
    policy
        .check_holders(set.threshold(), set.holders().as_deref())
        .unwrap();
}

#[test]
fn an_edited_label_a_missing_label_or_a_wrong_version_is_refused() {
    let v = read_vector(FILE);
    let refused = |edit: &dyn Fn(&mut Value)| {
        let mut s = v["set"].clone();
        edit(&mut s);
        TrusteeSet::from_json(&s.to_string())
            .unwrap_err()
            .to_string()
    };
    // a label changed: the id no longer matches
    let e = refused(&|s| s["members"][1]["jurisdiction"] = "DE".into());
    assert!(e.contains("set_id does not match"), "{e}");
    // one member without its organisation
    let e = refused(&|s| {
        s["members"][2]
            .as_object_mut()
            .unwrap()
            .remove("organisation");
    });
    assert!(e.contains("trustee 3 lacks its organisation"), "{e}");
    // version 1 with holders, version 4 without
    let e = refused(&|s| s["version"] = 1.into());
    assert!(e.contains("version 4 organisation and jurisdiction"), "{e}");
    let e = refused(&|s| {
        for m in s["members"].as_array_mut().unwrap() {
            let m = m.as_object_mut().unwrap();
            m.remove("organisation");
            m.remove("jurisdiction");
        }
    });
    assert!(e.contains("version 4 with 0 lineage entries"), "{e}");
    // an empty label
    let e = refused(&|s| s["members"][0]["organisation"] = "".into());
    assert!(e.contains("trustee 1: "), "{e}");
    // a jurisdiction holding k shares breaks the vector's policy, named
    let policy = Policy::from_json(&v["policy"].to_string()).unwrap();
    let mut hs = holders();
    hs[2].jurisdiction = "DE".into();
    let e = policy.check_holders(3, Some(&hs)).unwrap_err();
    assert_eq!(e.culprit(), Some("DE"));
    assert!(matches!(e, CustodyError::Jurisdiction { ref trustees, .. } if trustees == &[1, 3, 4]));
}
