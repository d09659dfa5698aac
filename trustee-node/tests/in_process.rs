//! The node as a library: `trustee_node::run` on a 127.0.0.1:0 listener with a temporary state
//! folder, in this process, over real HTTP (request handling, refusals, shutdown). The kill -9
//! and restart tests stay real processes (integrity.rs, robustness.rs).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::error_code as code;
use common::*;
use escrow_core::release::ReleaseRequest;
use std::time::{Duration, Instant};

struct Addr(String);
impl Served for Addr {
    fn addr(&self) -> &str {
        &self.0
    }
}

#[test]
fn run_serves_releases_and_returns_on_shutdown() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let node = Addr(listener.local_addr().unwrap().to_string());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = trustee_node::Config::new(&state, PASS.as_bytes().to_vec());
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(trustee_node::run(listener, config, async move {
            let _ = rx.await;
        }))
    });
    // The listener is bound before `run` is called: connections wait in its backlog while the
    // state folder loads.
    let (s, info) = get(&node.url("/v1/info"));
    assert_eq!(s, 200, "{info}");
    assert_eq!(json(&info)["trustee"], 1, "{info}");

    let w = fx.double_locked(&fx.payload("w-inproc"));
    let msgs: Vec<_> = (0..3)
        .map(|i| fx.message("alice", "bob", &format!("m{i}"), 60))
        .collect();
    let r = release(&node, &fx, &w, cts(&msgs));
    assert_eq!(codes(&r), vec!["released"; 3]);
    let size = head_size(&node);
    assert_eq!(log_entries(&node).len() as u64, size);

    tx.send(()).unwrap();
    let started = Instant::now();
    let result = thread.join().unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(60));
    // Stopped: the port no longer answers.
    assert!(std::net::TcpStream::connect(&node.0).is_err());

    // The same state folder serves again, with everything it logged.
    let again = start_in_process(&state, trustee_node::Limits::default());
    assert_eq!(head_size(&again), size);
}

#[test]
fn load_refuses_a_wrong_passphrase_and_a_missing_folder_by_name() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let wrong = trustee_node::Config::new(&state, b"not the passphrase at all".to_vec());
    let e = rt.block_on(trustee_node::load(wrong)).unwrap_err();
    assert!(
        matches!(e, trustee_node::NodeError::WrongPassphrase),
        "{e:?}"
    );
    let nowhere = fx.dir.path().join("nowhere");
    let Err(e) = try_start_in_process(&nowhere, trustee_node::Limits::default()) else {
        panic!("a missing state folder loaded");
    };
    assert!(e.to_string().contains("nowhere"), "{e}");
}

#[test]
fn refusals_in_process_are_json_and_write_nothing() {
    let fx = Fixture::new(2, 2);
    let node = start_in_process(&fx.init(1), trustee_node::Limits::default());
    let size0 = head_size(&node);
    let w = fx.double_locked(&fx.payload("w-refuse"));
    let m = fx.message("alice", "bob", "r1", 60);
    let body = ReleaseRequest::new(&w, vec![m.escrow]).to_json();

    // Unsigned release.
    let (s, b) = post(&node.url("/v1/release"), &body);
    assert_eq!((s, code(&b).as_str()), (401, "unauthenticated"), "{b}");
    // Unknown path and wrong method.
    let (s, b) = get(&node.url("/v1/nothing-here"));
    assert_eq!((s, code(&b).as_str()), (404, "not-found"), "{b}");
    let (s, b) = get(&node.url("/v1/release"));
    assert_eq!(s, 405, "{b}");
    // A malformed cancellation.
    let (s, b) = post(&node.url("/v1/cancel"), "{");
    assert_eq!((s, code(&b).as_str()), (400, "malformed-request"), "{b}");
    assert_eq!(
        head_size(&node),
        size0,
        "no refusal above writes to the log"
    );
}

#[test]
fn a_small_batch_limit_set_through_the_library_is_enforced() {
    let fx = Fixture::new(2, 2);
    let node = start_in_process(
        &fx.init(1),
        trustee_node::Limits {
            max_batch: 2,
            ..Default::default()
        },
    );
    let (_, info) = get(&node.url("/v1/info"));
    assert_eq!(json(&info)["limits"]["max_batch"], 2, "{info}");
    let w = fx.double_locked(&fx.payload("w-batch"));
    let msgs: Vec<_> = (0..3)
        .map(|i| fx.message("alice", "bob", &format!("b{i}"), 60))
        .collect();
    let body = ReleaseRequest::new(&w, cts(&msgs)).to_json();
    let (s, b) = post_as(&node.url("/v1/release"), &fx.investigator, &body);
    assert_eq!((s, code(&b).as_str()), (413, "batch-too-large"), "{b}");
}
