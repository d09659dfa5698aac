//! The log served as C2SP tlog-tiles, read by an independent tile client: cloudflare/azul's
//! `tlog_tiles` (the Go `sumdb/tlog` port) fetches `/tile/<L>/<N>[.p/<W>]` over HTTP through its
//! own `TileReader`, checks every tile it uses against the signed `/checkpoint` (verified with
//! `signed_note` and the log key from `/v1/info`), and proves a release entry's inclusion and
//! the consistency of the log before and after the release. Entries come from the entry
//! bundles (`/tile/entries/…`), parsed here from the specification, not by escrow-core.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use escrow_core::audit::{EntryKind, LogEntry};
use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::checkpoint::Checkpoint;
use tlog_tiles::tile::{Tile, TileHashReader, TileReader};
use tlog_tiles::tlog::{self, Hash};

/// Raw GET: status, headers of interest, body bytes.
fn fetch(url: &str) -> (u16, String, String, Vec<u8>) {
    let r = agent().get(url).call().unwrap();
    let status = r.status().as_u16();
    let hv = |n: &str| {
        r.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (ct, cc) = (hv("content-type"), hv("cache-control"));
    let body = r.into_body().read_to_vec().unwrap();
    (status, ct, cc, body)
}

/// A tile client over HTTP: the crate names tiles `tile/8/<L>/<N>`, C2SP drops the height.
struct HttpTiles {
    base: String,
}

impl TileReader for HttpTiles {
    fn height(&self) -> u8 {
        8
    }
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog::Error> {
        tiles
            .iter()
            .map(|t| {
                let path = t.path();
                let c2sp = path.strip_prefix("tile/8/").unwrap();
                let (s, ct, cc, body) = fetch(&format!("{}/tile/{c2sp}", self.base));
                assert_eq!(s, 200, "{c2sp}: {}", String::from_utf8_lossy(&body));
                assert_eq!(ct, "application/octet-stream");
                assert!(cc.contains("immutable"), "{cc}");
                assert_eq!(body.len(), t.width() as usize * 32, "{c2sp}");
                Ok(body)
            })
            .collect()
    }
    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

/// The checkpoint at `/checkpoint`, its signature checked with the log's verifier key.
fn checkpoint(node: &impl Served, vkey: &str) -> Checkpoint {
    let (s, ct, cc, body) = fetch(&node.url("/checkpoint"));
    assert_eq!(s, 200);
    assert_eq!(ct, "text/plain; charset=utf-8");
    assert_eq!(cc, "no-store");
    let verifiers = VerifierList::new(vec![Box::new(StandardVerifier::new(vkey).unwrap())]);
    let note = Note::from_bytes(&body).unwrap();
    let (verified, _) = note.verify(&verifiers).unwrap();
    assert_eq!(verified.len(), 1);
    Checkpoint::from_bytes(note.text()).unwrap()
}

/// Entry bundle parsing from the specification: big-endian u16 length, then the entry.
fn bundle_entries(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let len = u16::from_be_bytes([b[0], b[1]]) as usize;
        out.push(b[2..2 + len].to_vec());
        b = &b[2 + len..];
    }
    out
}

/// The entry at `index` of a tree of `size`, from its entry bundle.
fn entry(node: &impl Served, index: u64, size: u64) -> Vec<u8> {
    let n = index / 256;
    let w = (size - n * 256).min(256);
    let t = Tile::new(8, 0, n, w as u32, true);
    let c2sp = t.path().replace("tile/8/data/", "tile/entries/");
    let (s, _, _, body) = fetch(&node.url(&format!("/{c2sp}")));
    assert_eq!(s, 200, "{c2sp}");
    let entries = bundle_entries(&body);
    assert_eq!(entries.len() as u64, w);
    entries[(index % 256) as usize].clone()
}

#[test]
fn a_standard_tile_client_proves_a_release_entry_and_log_growth() {
    let fx = Fixture::new(2, 2);
    let st = fx.init(1);
    let node = start_in_process(&st, trustee_node::Limits::default());
    let (_, info) = get(&node.url("/v1/info"));
    let vkey = json(&info)["log_key"].as_str().unwrap().to_string();

    let w = fx.double_locked(&fx.payload("w-tiles"));
    let first = vec![fx.message("alice", "bob", "m-0", 3600)];
    release(&node, &fx, &w, cts(&first));
    let old = checkpoint(&node, &vkey);
    assert!(old.size() < 256);

    // Grow past one full tile so that a full level-0 tile, a partial one and a level-1 tile
    // are all on the proof paths.
    let msgs: Vec<_> = (1..300)
        .map(|i| fx.message("alice", "bob", &format!("m-{i}"), 3600))
        .collect();
    let r = release(&node, &fx, &w, cts(&msgs));
    let new = checkpoint(&node, &vkey);
    assert!(new.size() > 300, "{}", new.size());
    // The same note as the v1 endpoint.
    let (_, v1) = get(&node.url("/v1/log/checkpoint"));
    let v1 = Note::from_bytes(v1.as_bytes()).unwrap();
    let v1 = Checkpoint::from_bytes(v1.text()).unwrap();
    assert_eq!((v1.size(), v1.hash()), (new.size(), new.hash()));

    let tiles = HttpTiles { base: node.url("") };
    let reader = TileHashReader::new(new.size(), *new.hash(), &tiles);
    // Every released message's receipt: its entry (from the bundle) is a release entry for
    // that ciphertext, and its inclusion proof from the tiles checks against the checkpoint.
    let mut proved = 0;
    for (res, m) in r.results.iter().zip(&msgs) {
        let Some(i) = res.leaf_index() else {
            panic!("not released: {res:?}")
        };
        if i % 97 != 0 && i != new.size() - 1 && i != 255 && i != 256 {
            continue;
        }
        let bytes = entry(&node, i, new.size());
        let e = LogEntry::from_bytes(&bytes).unwrap();
        assert_eq!(e.kind, EntryKind::Release);
        assert!(e.ciphertexts.contains(&m.escrow.digest()), "entry {i}");
        let proof = tlog::prove_record(new.size(), i, &reader).unwrap();
        tlog::check_record(
            &proof,
            new.size(),
            *new.hash(),
            i,
            tlog::record_hash(&bytes),
        )
        .unwrap();
        // A different entry's hash does not verify at this index.
        let other = entry(&node, i - 1, new.size());
        assert!(
            tlog::check_record(
                &proof,
                new.size(),
                *new.hash(),
                i,
                tlog::record_hash(&other)
            )
            .is_err()
        );
        proved += 1;
    }
    assert!(proved >= 4, "{proved}");
    // The log before the release is a prefix of the log after it.
    let p = tlog::prove_tree(new.size(), old.size(), &reader).unwrap();
    tlog::check_tree(&p, new.size(), *new.hash(), old.size(), *old.hash()).unwrap();
    assert!(tlog::check_tree(&p, new.size(), *new.hash(), old.size(), Hash([7; 32])).is_err());

    // Tiles that do not exist (beyond the tree, a width it never had at the right edge, a
    // partial tile wider than the tree) and malformed paths are 404, not an empty body.
    let full = new.size() / 256;
    let edge = new.size() % 256;
    for path in [
        format!("tile/0/{:03}", full),
        format!("tile/0/{:03}.p/{}", full, edge + 1),
        format!("tile/1/000.p/{}", full + 1),
        "tile/2/000.p/1".to_string(),
        format!("tile/entries/{:03}", full + 1),
        "tile/0/0".to_string(),
        "tile/0/000.p/0".to_string(),
        "tile/0/000.p/256".to_string(),
        "tile/data/000".to_string(),
    ] {
        let (s, _, _, body) = fetch(&node.url(&format!("/{path}")));
        assert_eq!(s, 404, "{path}: {}", String::from_utf8_lossy(&body));
    }
}

/// The auditor (`escrow_client::auditor`, `escrow audit`) reads a log as tiles: the entry
/// bundle and the level-0 hash tile of every 256 entries (the node counts the leaf hashes it
/// reads for tiles), and the 256 entries of a bundle that cannot carry one of them (an entry
/// over 64 KiB) from a `/v1/log/entries` page instead. Every entry is read once and checked
/// against the signed checkpoint either way: the log audits clean.
#[test]
fn the_auditor_reads_the_log_as_tiles_and_a_page_where_a_bundle_cannot_carry_an_entry() {
    use escrow_client::auditor::{AuditConfig, Quiet, audit};
    use escrow_core::audit::report::LogStatus;
    use escrow_core::codec::CiphertextDigest;
    use escrow_core::time::Timestamp;
    let fx = Fixture::new(2, 2);
    let st = fx.init(1);
    // Grown behind the stopped node, as the audit-log experiment does: refusals, entry 300
    // with 2,100 ciphertext digests (about 67 KB, more than a bundle's u16 length prefix).
    const SIZE: u64 = 700;
    let t = Timestamp::from_unix(1_700_000_000);
    let mut db = trustee_node::db::Db::open(&st.join("log.db"), None).unwrap();
    db.append_bulk(SIZE, "w-tiles", t, |seq| {
        let n = if seq == 300 { 2_100 } else { 1 };
        let cts = (0..n)
            .map(|i: u32| CiphertextDigest::from_bytes([(i % 251) as u8; 32]))
            .collect();
        LogEntry::refusal(seq, t, None, cts, "malformed")
    })
    .unwrap();
    drop(db);
    let node = start_in_process(&st, trustee_node::Limits::default());
    let (s, _, _, body) = fetch(&node.url("/tile/entries/001"));
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&body));
    assert_eq!(node.leaf_hashes_read(), 0);

    let urls = [node.url("")];
    let report = audit(
        &AuditConfig {
            set: &fx.set,
            policy: None,
            urls: &urls,
            client: &escrow_client::ClientConfig::default(),
            state: None,
            documents: Default::default(),
            oversight_key: None,
            receipts: &[],
            checkpoints: &[],
            keygen_certificate: None,
        },
        &mut Quiet,
    )
    .unwrap();
    let ta = &report.trustees[0];
    assert_eq!(ta.status, LogStatus::Verified, "{:?}", report.findings);
    assert!(ta.log_ok);
    assert_eq!(ta.entries, SIZE);
    assert_eq!(ta.checkpoint.unwrap().size, SIZE);
    assert!(ta.refusals >= SIZE - 2, "{}", ta.refusals);
    assert_eq!(report.refusals.len() as u64, ta.refusals);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    // Hash tiles 0 and 2 (256 + 188 leaves) were read as tiles; tile 1 came as a page.
    assert_eq!(node.leaf_hashes_read(), SIZE - 256);
}
