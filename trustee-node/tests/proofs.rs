//! `/v1/log/proof/*` computed from the stored tiles (issue 14): on a log of a few thousand
//! entries (grown with `Db::append_bulk` on the stopped node, as the audit-log experiment
//! does), every proof the node serves is the RFC 9162 proof over all leaf hashes (what the
//! node computed before), verifies with escrow-core's verifier and with `tlog_tiles` against
//! the signed checkpoint, and one proof reads a bounded number of leaf hashes (two level-0
//! tiles at most), not every leaf.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use escrow_core::api::{ConsistencyProofView, InclusionProofView};
use escrow_core::audit::{
    LogEntry, consistency_proof, inclusion_proof, mth, verify_consistency, verify_inclusion,
};
use escrow_core::codec::Digest32;
use tlog_tiles::tlog::{self, Hash};

/// Grow the stopped node's log in `state` to `target` entries (refusal entries).
fn grow(state: &std::path::Path, target: u64) {
    let mut db = trustee_node::db::Db::open(&state.join("log.db"), None).unwrap();
    db.append_bulk(target, "unused", now(), |seq| {
        let mut d = [0u8; 32];
        d[..8].copy_from_slice(&seq.to_be_bytes());
        LogEntry::refusal(
            seq,
            now(),
            None,
            vec![escrow_core::codec::CiphertextDigest::from_bytes(d)],
            "test-growth",
        )
    })
    .unwrap();
}

/// Every leaf hash of the first `size` entries, straight from the database.
fn all_leaves(state: &std::path::Path, size: u64) -> Vec<Digest32> {
    let path = state.join("log.db");
    let conn = trustee_node::db::open_reader(&path).unwrap();
    let v = trustee_node::db::read_leaf_hash_range(&conn, &path, 0, size).unwrap();
    assert_eq!(v.len() as u64, size);
    v
}

fn hashes(v: &[Digest32]) -> Vec<Hash> {
    v.iter().map(|h| Hash(h.0)).collect()
}

#[test]
fn proofs_served_from_tiles_are_the_rfc_proofs_and_read_few_leaves() {
    let fx = Fixture::new(2, 2);
    let st = fx.init(1);
    const N: u64 = 4_100;
    grow(&st, N);
    let leaves = all_leaves(&st, N);

    let node = start_in_process(&st, trustee_node::Limits::default());
    let (_, head) = get(&node.url("/v1/log/head"));
    assert_eq!(json(&head)["size"].as_u64().unwrap(), N);
    for (index, size) in [
        (0u64, N),
        (1, N),
        (255, N),
        (256, N),
        (2_047, N),
        (N - 1, N),
        (4_000, 4_097),
        (17, 1_000),
        (999, 1_000),
        (0, 1),
    ] {
        let (s, body) = get(&node.url(&format!(
            "/v1/log/proof/inclusion?index={index}&size={size}"
        )));
        assert_eq!(s, 200, "{body}");
        let v: InclusionProofView = serde_json::from_str(&body).unwrap();
        let d = &leaves[..size as usize];
        let root = mth(d);
        assert_eq!(v.root, root, "root at {size}");
        assert_eq!(v.leaf_hash, d[index as usize]);
        assert_eq!(
            v.proof,
            inclusion_proof(d, index).unwrap(),
            "{index} in {size}"
        );
        verify_inclusion(&d[index as usize], index, size, &v.proof, &root).unwrap();
        tlog::check_record(
            &hashes(&v.proof),
            size,
            Hash(root.0),
            index,
            Hash(d[index as usize].0),
        )
        .unwrap();
    }
    for (old, new) in [
        (1u64, N),
        (255, N),
        (256, N),
        (1_000, N),
        (2_048, N),
        (N - 1, N),
        (N, N),
        (0, N),
        (3, 4_097),
        (700, 1_000),
    ] {
        let (s, body) = get(&node.url(&format!("/v1/log/proof/consistency?old={old}&new={new}")));
        assert_eq!(s, 200, "{body}");
        let v: ConsistencyProofView = serde_json::from_str(&body).unwrap();
        let d = &leaves[..new as usize];
        assert_eq!(
            v.proof,
            consistency_proof(d, old).unwrap(),
            "{old} -> {new}"
        );
        let (old_root, new_root) = (mth(&d[..old as usize]), mth(d));
        verify_consistency(old, new, &old_root, &new_root, &v.proof).unwrap();
        if old > 0 && old < new {
            tlog::check_tree(
                &hashes(&v.proof),
                new,
                Hash(new_root.0),
                old,
                Hash(old_root.0),
            )
            .unwrap();
        }
    }
    // Out of range stays a 400 bad-range.
    for q in [
        format!("inclusion?index={N}&size={N}"),
        format!("inclusion?index=0&size={}", N + 1),
        format!("consistency?old=5&new={}", N + 1),
        "consistency?old=9&new=8".to_string(),
    ] {
        let (s, body) = get(&node.url(&format!("/v1/log/proof/{q}")));
        assert_eq!(s, 400, "{q}: {body}");
        assert_eq!(
            json(&body)["error"]["code"].as_str(),
            Some("bad-range"),
            "{q}"
        );
    }
    node.shutdown().unwrap();

    // The same node loaded in this test: count the leaf hashes one proof reads. Reading every
    // leaf would be 4,100; from tiles it is at most two level-0 tiles (the leaf's and the right
    // edge's), whatever the size, since levels 1 and above are held from the start-up check.
    let loaded = trustee_node::state::load(&st, PASS.as_bytes(), false).unwrap();
    let node = trustee_node::Node::new(loaded, trustee_node::Limits::default(), None).unwrap();
    assert_eq!(node.leaf_hashes_read(), 0);
    let mut per_proof = Vec::new();
    for size in [1_000u64, 2_000, N] {
        let before = node.leaf_hashes_read();
        let p = node.inclusion(size / 3, size).unwrap();
        assert_eq!(
            p.proof,
            inclusion_proof(&leaves[..size as usize], size / 3).unwrap()
        );
        let mid = node.leaf_hashes_read();
        let c = node.consistency(size / 2 + 1, size).unwrap();
        assert_eq!(
            c.proof,
            consistency_proof(&leaves[..size as usize], size / 2 + 1).unwrap()
        );
        let after = node.leaf_hashes_read();
        per_proof.push((size, mid - before, after - mid));
    }
    // (the counter counts: the inclusion view reads at least the proven leaf's hash)
    assert!(per_proof.iter().all(|(_, i, _)| *i > 0), "{per_proof:?}");
    for (size, inclusion, consistency) in per_proof {
        // + 1: the inclusion view also reads the proven leaf's own hash
        assert!(
            inclusion <= 2 * 256 + 1 && consistency <= 2 * 256,
            "size {size}: {inclusion} leaf hashes read for an inclusion proof, {consistency} for a consistency proof"
        );
    }
}
