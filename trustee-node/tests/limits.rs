//! Limits against strangers (issue 11 items 6, 7, 8): slow clients, per-client limits, rate
//! limits, and bounded parsing. Real node processes on 127.0.0.1 (and 127.0.0.2, also loopback
//! on Linux, as a second client address); every wait is bounded.
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
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The start of a release request that announces a body it never sends in full.
fn slow_release_head(addr: &str) -> String {
    format!(
        "POST /v1/release HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"version\":1,"
    )
}

/// Peak resident memory of a process, KiB (`VmHWM` in /proc/PID/status).
fn peak_rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn sixty_four_slow_sockets_do_not_stop_a_real_release() {
    let fx = Fixture::new(2, 2);
    // Default limits.
    let node = start(&fx.init(1), &[], &[]);
    let w = fx.double_locked(&fx.payload("w-slow"));
    let addr: std::net::SocketAddr = node.addr.parse().unwrap();
    // 64 sockets from another client address, each sending 13 bytes of a release body and
    // going silent.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let head = slow_release_head(&node.addr);
    let slow: Vec<tokio::net::TcpStream> = rt.block_on(async {
        use tokio::io::AsyncWriteExt;
        let mut v = Vec::new();
        for _ in 0..64 {
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            sock.bind("127.0.0.2:0".parse().unwrap()).unwrap();
            let mut s = sock.connect(addr).await.unwrap();
            s.write_all(head.as_bytes()).await.unwrap();
            v.push(s);
        }
        v
    });
    // A real release from the investigator's address is served at once (the client's own
    // timeout bounds the wait; before the fix it waited for the slow sockets, up to 300 s).
    let m = fx.message("alice", "bob", "s1", 60);
    let body = ReleaseRequest::new(&w, vec![m.escrow]).to_json();
    let url = node.url("/v1/release");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut resp = agent
        .post(&url)
        .header("content-type", "application/json")
        .header(
            escrow_core::auth::HEADER,
            signature(&fx.investigator, "POST", &url, body.as_bytes()),
        )
        .send(&body)
        .expect("the real release is answered while the slow sockets wait");
    assert_eq!(resp.status().as_u16(), 200);
    let r = escrow_core::release::ReleaseResponse::from_json(
        &resp.body_mut().read_to_string().unwrap(),
    )
    .unwrap();
    assert_eq!(codes(&r), vec!["released"]);
    drop(slow);
    drop(rt);
}

#[test]
fn per_client_limit_and_body_and_header_timeouts() {
    let fx = Fixture::new(2, 2);
    let node = start(
        &fx.init(1),
        &[
            "--per-client",
            "4",
            "--body-timeout-secs",
            "1",
            "--header-timeout-secs",
            "1",
        ],
        &[],
    );
    let size0 = head_size(&node);
    // Four slow requests occupy this address's slots; a fifth request is refused at once.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(&node.addr).unwrap();
        s.write_all(slow_release_head(&node.addr).as_bytes())
            .unwrap();
        slow.push(s);
    }
    std::thread::sleep(Duration::from_millis(200));
    let (s, b) = get(&node.url("/v1/info"));
    assert_eq!((s, code(&b).as_str()), (429, "too-many-requests"), "{b}");
    // Each slow body times out with a JSON 408, and the slots come back.
    for mut s in slow {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains("body-timeout"), "{answer}");
    }
    let (s, b) = get(&node.url("/v1/info"));
    assert_eq!(s, 200, "{b}");
    // A header that never ends: the connection is closed after the header timeout.
    let mut s = TcpStream::connect(&node.addr).unwrap();
    s.write_all(b"GET /v1/info HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut buf = Vec::new();
    let n = s.read_to_end(&mut buf);
    assert!(
        n.is_ok() || buf.is_empty(),
        "the node closed the connection: {n:?} {}",
        String::from_utf8_lossy(&buf)
    );
    assert_eq!(head_size(&node), size0, "none of this was logged");
}

#[test]
fn posts_are_rate_limited_per_client() {
    let fx = Fixture::new(2, 2);
    let node = start_in_process(
        &fx.init(1),
        trustee_node::Limits {
            posts_per_sec: 1,
            ..Default::default()
        },
    );
    let size0 = head_size(&node);
    // Burst of 2, then 429 (a malformed cancellation costs a token like any POST).
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(post(&node.url("/v1/cancel"), "[1]"));
    }
    let got: Vec<(u16, String)> = answers.iter().map(|(s, b)| (*s, code(b))).collect();
    assert_eq!(got[0], (400, "malformed-request".to_string()));
    assert_eq!(got[1], (400, "malformed-request".to_string()));
    assert_eq!(got[3], (429, "too-many-requests".to_string()), "{got:?}");
    // Reading is not rate-limited.
    for _ in 0..5 {
        assert_eq!(get(&node.url("/v1/log/head")).0, 200);
    }
    assert_eq!(head_size(&node), size0);
}

#[test]
fn a_body_of_millions_of_json_zeros_is_refused_within_bounded_memory() {
    let fx = Fixture::new(2, 2);
    let node = start(&fx.init(1), &[], &[]);
    let w = fx.double_locked(&fx.payload("w-zeros"));
    let base = ReleaseRequest::new(&w, vec![]).to_json();
    // {"version":1,"warrant":{…},"ciphertexts":[0,0,0,…]}: 28 MiB, ~14.7 million items.
    let prefix = base.trim_end_matches("[]}");
    let items = (28 * 1024 * 1024 - prefix.len()) / 2;
    let mut body = String::with_capacity(prefix.len() + 2 * items + 4);
    body.push_str(prefix);
    body.push('[');
    for i in 0..items {
        if i > 0 {
            body.push(',');
        }
        body.push('0');
    }
    body.push_str("]}");
    let rss0 = peak_rss_kib(node.child.id());
    // Signed by the investigator (so the node parses it) and unsigned; four at once.
    let url = node.url("/v1/release");
    let body = std::sync::Arc::new(body);
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let (url, body) = (url.clone(), body.clone());
            let key = fx.investigator.clone();
            std::thread::spawn(move || {
                if i % 2 == 0 {
                    post_as(&url, &key, &body)
                } else {
                    post(&url, &body)
                }
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        let (s, b) = t.join().unwrap();
        if i % 2 == 0 {
            assert_eq!((s, code(&b).as_str()), (413, "batch-too-large"), "{b}");
            assert!(b.contains(&format!("carries {items} ciphertexts")), "{b}");
        } else {
            assert_eq!((s, code(&b).as_str()), (401, "unauthenticated"), "{b}");
        }
    }
    let rss = peak_rss_kib(node.child.id());
    eprintln!(
        "node peak RSS: {} MiB before, {} MiB after four 28 MiB bodies",
        rss0 / 1024,
        rss / 1024
    );
    assert!(
        rss < 200 * 1024,
        "peak RSS {} MiB: parsing is not bounded",
        rss / 1024
    );
}
