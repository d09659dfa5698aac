//! Release throughput of a real `trustee-node` on loopback: one request carrying 10,000
//! escrow ciphertexts (override with `RELEASE_BENCH_N`), against the in-process cost of the
//! same cryptography on one core (the floor the node cannot beat).
//!
//! `cargo bench -p trustee-node --bench release_throughput`; results go to docs/performance.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code
)]

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use escrow_core::release::{ReleaseRequest, ReleaseResponse, judge_ciphertext, make_share};
use escrow_core::warrant::Policy;
use std::time::Instant;

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let n: usize = std::env::var("RELEASE_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let cores = std::thread::available_parallelism()
        .map(|c| c.get())
        .unwrap_or(1);
    let fx = Fixture::new(3, 2);
    let w = fx.double_locked(&fx.payload("w-bench"));

    let t = Instant::now();
    let msgs: Vec<_> = (0..n)
        .map(|i| fx.message("alice", "bob", &format!("b{i}"), 60 + i as i64))
        .collect();
    let seal_s = t.elapsed().as_secs_f64();

    // Floor: the node's per-ciphertext cryptography on one core, in process.
    let policy = Policy::from_json(&std::fs::read_to_string(&fx.policy_path).unwrap()).unwrap();
    let vw = policy.verify(&w, now(), &|_| false).unwrap();
    let d = std::fs::read_to_string(fx.trustee_dirs[0].join("key-share.json")).unwrap();
    let share = fx
        .set
        .verify_share(escrow_core::trustee::KeyShare::from_json(&d).unwrap())
        .unwrap();
    let sample = n.min(500);
    let t = Instant::now();
    for m in &msgs[..sample] {
        let v = judge_ciphertext(&fx.set, &vw, Ok(m.escrow.clone())).unwrap();
        make_share(&share, &vw, &v, &mut rand::rng()).unwrap();
    }
    let floor_us = t.elapsed().as_secs_f64() * 1e6 / sample as f64;

    let state = fx.init(1);
    let node = start(&state, &[], &[]);
    let body = ReleaseRequest::new(&w, cts(&msgs)).to_json();
    let t = Instant::now();
    let (status, resp) = post_as(&node.url("/v1/release"), &fx.investigator, &body);
    let wall = t.elapsed().as_secs_f64();
    assert_eq!(status, 200, "{resp}");
    let t2 = Instant::now();
    let r = ReleaseResponse::from_json(&resp).unwrap();
    r.verify(&fx.set).unwrap();
    let verify_s = t2.elapsed().as_secs_f64();
    assert_eq!(codes(&r).iter().filter(|c| *c == "released").count(), n);

    let per_ct_us = wall * 1e6 / n as f64;
    println!("release throughput, one trustee node on loopback ({cores} cores)");
    println!("  ciphertexts per request         {n}");
    println!(
        "  request body                    {:.1} MiB",
        body.len() as f64 / 1048576.0
    );
    println!(
        "  response body                   {:.1} MiB",
        resp.len() as f64 / 1048576.0
    );
    println!("  sealing the messages (client)   {seal_s:.2} s");
    println!(
        "  request wall time               {wall:.2} s  ({:.0} ciphertexts/s)",
        n as f64 / wall
    );
    println!("  per ciphertext, wall            {per_ct_us:.0} us");
    println!(
        "  floor: crypto per ct, 1 core    {floor_us:.0} us  (TDH2 check + scope + share + DLEQ + ECIES)"
    );
    println!(
        "  floor / cores                   {:.0} us",
        floor_us / cores as f64
    );
    println!(
        "  efficiency vs floor/cores       {:.0} %",
        100.0 * floor_us / cores as f64 / per_ct_us
    );
    println!("  client: verify response sig     {verify_s:.3} s (parse + one ECDSA verify)");
}
