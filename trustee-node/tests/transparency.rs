//! The transparency-log endpoints on a real node: the signed checkpoint (C2SP note, Ed25519
//! log key from `/v1/info`), inclusion proofs for every entry and consistency proofs between
//! every pair of sizes, verified with escrow-core's RFC 9162 verifiers; the disclosed warrant
//! copy; bad ranges.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use escrow_core::audit::{leaf_hash, mth, verify_checkpoint, verify_consistency, verify_inclusion};
use escrow_core::codec::{Digest32, b64_decode};

fn hashes(v: &serde_json::Value) -> Vec<Digest32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Digest32::from_hex(h.as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn checkpoint_and_proofs_verify_for_every_entry_and_size() {
    let fx = Fixture::new(2, 2);
    let st = fx.init(1);
    let node = start(&st, &[], &[]);
    let w = fx.double_locked(&fx.payload("w-proofs"));
    let msgs = vec![
        fx.message("alice", "bob", "m1", 3600),
        fx.message("carol", "dave", "m2", 3600),
        fx.message("bob", "alice", "m3", 7200),
    ];
    let r = release(&node, &fx, &w, cts(&msgs));

    let (_, info) = get(&node.url("/v1/info"));
    let info = json(&info);
    let vkey = info["log_key"].as_str().unwrap().to_string();
    let origin = info["log_origin"].as_str().unwrap();
    assert!(origin.starts_with("escrow.example/trustee/") && origin.ends_with("/1"));
    assert!(vkey.starts_with(&format!("{origin}+")));

    let (s, note) = get(&node.url("/v1/log/checkpoint"));
    assert_eq!(s, 200, "{note}");
    let cp = verify_checkpoint(&note, &vkey).unwrap();
    let entries = log_entries(&node);
    assert_eq!(cp.head.size, entries.len() as u64);
    let leaves: Vec<Digest32> = entries
        .iter()
        .map(|e| leaf_hash(&b64_decode(e["bytes"].as_str().unwrap()).unwrap()))
        .collect();
    assert_eq!(cp.head.root, mth(&leaves));

    let n = leaves.len() as u64;
    for size in 1..=n {
        let root = mth(&leaves[..size as usize]);
        for index in 0..size {
            let (s, b) = get(&node.url(&format!(
                "/v1/log/proof/inclusion?index={index}&size={size}"
            )));
            assert_eq!(s, 200, "{b}");
            let p = hashes(&json(&b)["proof"]);
            verify_inclusion(&leaves[index as usize], index, size, &p, &root).unwrap();
        }
        for old in 0..=size {
            let (s, b) = get(&node.url(&format!("/v1/log/proof/consistency?old={old}&new={size}")));
            assert_eq!(s, 200, "{b}");
            let p = hashes(&json(&b)["proof"]);
            verify_consistency(old, size, &mth(&leaves[..old as usize]), &root, &p).unwrap();
        }
    }
    // every receipt in the response is a leaf of the checkpointed tree
    for res in &r.results {
        if let Some(i) = res.leaf_index() {
            let (_, b) = get(&node.url(&format!(
                "/v1/log/proof/inclusion?index={i}&size={}",
                cp.head.size
            )));
            let p = hashes(&json(&b)["proof"]);
            verify_inclusion(&leaves[i as usize], i, cp.head.size, &p, &cp.head.root).unwrap();
        }
    }
    // bad ranges are clear 400s
    for q in [
        format!("/v1/log/proof/inclusion?index={n}&size={n}"),
        format!("/v1/log/proof/inclusion?index=0&size={}", n + 1),
        "/v1/log/proof/consistency?old=2&new=1".to_string(),
        format!("/v1/log/proof/consistency?old=0&new={}", n + 1),
        "/v1/log/proof/inclusion?index=x&size=1".to_string(),
    ] {
        let (s, b) = get(&node.url(&q));
        assert_eq!(s, 400, "{q}: {b}");
        assert_eq!(json(&b)["error"]["code"], "bad-range", "{q}: {b}");
    }
    // the warrant's full text is not in the log, only its digest; the stored copy is
    // disclosed by digest to the oversight key (the rest of who may read it: tests/auth.rs)
    let (s, env) = get_as(
        &node.url(&format!("/v1/log/envelope?digest={}", w.digest().to_hex())),
        &fx.oversight,
    );
    assert_eq!(s, 200, "{env}");
    assert_eq!(
        escrow_core::warrant::WarrantEnvelope::from_json(&env)
            .unwrap()
            .digest(),
        w.digest()
    );
    let (s, _) = get_as(
        &node.url(&format!(
            "/v1/log/envelope?digest={}",
            Digest32::sha256(b"x").to_hex()
        )),
        &fx.oversight,
    );
    assert_eq!(s, 404);
}

#[test]
fn the_log_key_survives_a_restart() {
    let fx = Fixture::new(2, 2);
    let st = fx.init(1);
    let mut node = start(&st, &[], &[]);
    let (_, info) = get(&node.url("/v1/info"));
    let vkey = json(&info)["log_key"].as_str().unwrap().to_string();
    node.kill9();
    let node = start(&st, &[], &[]);
    let (_, note) = get(&node.url("/v1/log/checkpoint"));
    verify_checkpoint(&note, &vkey).unwrap();
    drop(node);
}
