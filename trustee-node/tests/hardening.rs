//! Issue 11's smaller items, on nodes run in process over real HTTP: Content-Type checked
//! first, one spelling for hex and points, no paths in `/v1/info`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::error_code as code;
use common::*;
use escrow_core::auth::HEADER;
use escrow_core::release::ReleaseRequest;
use std::io::{Read, Write};

/// A raw HTTP/1.1 POST with exactly these extra header lines; (status, body).
fn raw_post(node: &impl Served, path: &str, headers: &[String], body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(node.addr()).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        node.addr(),
        body.len()
    );
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn a_post_without_a_json_content_type_is_415_before_anything_else() {
    let fx = Fixture::new(2, 2);
    let node = start_in_process(&fx.init(1), trustee_node::Limits::default());
    let size0 = head_size(&node);
    let w = fx.double_locked(&fx.payload("w-ct"));
    let body =
        ReleaseRequest::new(&w, vec![fx.message("alice", "bob", "ct1", 60).escrow]).to_json();
    let url = node.url("/v1/release");
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
        Some("application/jsonx"),
    ] {
        // Correctly signed: only the Content-Type is wrong.
        let mut headers = vec![format!(
            "{HEADER}: {}",
            signature(&fx.investigator, "POST", &url, body.as_bytes())
        )];
        if let Some(ct) = ct {
            headers.push(format!("Content-Type: {ct}"));
        }
        let (s, b) = raw_post(&node, "/v1/release", &headers, &body);
        assert_eq!(
            (s, code(&b).as_str()),
            (415, "unsupported-media-type"),
            "{ct:?}: {b}"
        );
        assert!(b.contains("application/json"), "{b}");
        // The cancellation endpoint too (a malformed body: the media type is judged first).
        let ct_header: Vec<String> = ct
            .map(|c| format!("Content-Type: {c}"))
            .into_iter()
            .collect();
        let (s, b) = raw_post(&node, "/v1/cancel", &ct_header, "[1]");
        assert_eq!(
            (s, code(&b).as_str()),
            (415, "unsupported-media-type"),
            "{ct:?}: {b}"
        );
    }
    // The binary v2 endpoint wants its own media type, and the JSON endpoints refuse it.
    for (path, ct, want) in [
        (
            "/v2/release",
            Some("application/json"),
            "application/vnd.escrow.v2",
        ),
        ("/v2/release", None, "application/vnd.escrow.v2"),
        (
            "/v1/release",
            Some("application/vnd.escrow.v2"),
            "application/json",
        ),
    ] {
        let headers: Vec<String> = ct
            .map(|c| format!("Content-Type: {c}"))
            .into_iter()
            .collect();
        let (s, b) = raw_post(&node, path, &headers, &body);
        assert_eq!(
            (s, code(&b).as_str()),
            (415, "unsupported-media-type"),
            "{path} {ct:?}: {b}"
        );
        assert!(b.contains(want), "{b}");
    }
    assert_eq!(head_size(&node), size0, "a 415 writes nothing");
    // The same request with the right media type (any case, charset utf-8) is released.
    let headers = vec![
        format!(
            "{HEADER}: {}",
            signature(&fx.investigator, "POST", &url, body.as_bytes())
        ),
        "Content-Type: Application/JSON; charset=UTF-8".to_string(),
    ];
    let (s, b) = raw_post(&node, "/v1/release", &headers, &body);
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"released\""), "{b}");
}

#[test]
fn hex_and_points_have_one_spelling() {
    let fx = Fixture::new(2, 2);
    let node = start_in_process(&fx.init(1), trustee_node::Limits::default());
    let w = fx.double_locked(&fx.payload("w-hex"));
    let m = fx.message("alice", "bob", "h1", 60);
    let r = release(&node, &fx, &w, vec![m.escrow.clone()]);
    assert_eq!(codes(&r), vec!["released"]);

    // A digest in upper case is not a digest.
    let upper = w.digest().to_hex().to_uppercase();
    let (s, b) = get_as(
        &node.url(&format!("/v1/log/envelope?digest={upper}")),
        &fx.oversight,
    );
    assert_eq!((s, code(&b).as_str()), (400, "bad-digest"), "{b}");
    let (s, b) = get_as(
        &node.url(&format!("/v1/log/envelope?digest={}", w.digest().to_hex())),
        &fx.oversight,
    );
    assert_eq!(s, 200, "{b}");

    // A ciphertext whose point `u` is spelled in upper case, or uncompressed, is refused as
    // malformed (the same point in its one spelling was released above).
    let ct = serde_json::to_value(&m.escrow).unwrap();
    let u = ct["u"].as_str().unwrap().to_string();
    let point = escrow_core::group::Point::from_hex(&u, "u").unwrap();
    let uncompressed = hex::encode(
        p256::elliptic_curve::sec1::ToSec1Point::to_sec1_point(&point.inner().to_affine(), false)
            .as_bytes(),
    );
    for spelling in [u.to_uppercase(), uncompressed] {
        let mut bad = ct.clone();
        bad["u"] = serde_json::Value::String(spelling.clone());
        let body = format!(
            "{{\"version\":1,\"warrant\":{},\"ciphertexts\":[{bad}]}}",
            serde_json::to_string(&w).unwrap()
        );
        let (s, b) = post_as(&node.url("/v1/release"), &fx.investigator, &body);
        assert_eq!(s, 200, "{b}");
        let v = json(&b);
        let item = &v["results"][0];
        assert_eq!(item["code"], "malformed", "{spelling}: {b}");
        assert!(
            item["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("lower-case hex digits of a compressed SEC1"),
            "{b}"
        );
    }
}

#[test]
fn info_shows_no_paths_of_the_node_machine() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let node = start_in_process(&state, trustee_node::Limits::default());
    let (s, info) = get(&node.url("/v1/info"));
    assert_eq!(s, 200);
    let tmp = fx.dir.path().display().to_string();
    assert!(!info.contains(&tmp), "{info}");
    assert!(!info.contains(&state.display().to_string()), "{info}");
    assert!(!info.contains("log.db"), "{info}");
}

#[test]
fn init_refuses_a_short_passphrase() {
    let fx = Fixture::new(2, 2);
    let state = fx.dir.path().join("short");
    for short in ["", "eleven char", "ünïcödé-pw"] {
        let out = fx.run_init(&fx.trustee_dirs[0], &state, short);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{short:?}: {err}");
        if !short.is_empty() {
            assert!(
                err.contains("passphrase too short") && err.contains("at least 12"),
                "{err}"
            );
        }
        assert!(!state.join("secrets.sealed.json").exists());
    }
    // Exactly 12 characters (10 of them non-ASCII: characters, not bytes, are counted).
    let r = trustee_node::init(
        &fx.set_path,
        &fx.trustee_dirs[0],
        &fx.policy_path,
        &state,
        "ünïcödé-pwäö".as_bytes(),
        trustee_node::KdfCost::Test,
    );
    assert!(r.is_ok(), "{r:?}");
    let help = std::process::Command::new(BIN)
        .args(["init", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("at least 12"));
}

#[test]
fn two_nodes_cannot_serve_one_state_folder() {
    let fx = Fixture::new(2, 2);
    let state = fx.init(1);
    let mut first = start(&state, &[], &[]);
    // A second process on the same folder stops with a clear error naming the folder.
    let e = try_start(&state, &[], &[]).err().unwrap();
    assert!(e.contains("in use"), "{e}");
    assert!(e.contains(&state.display().to_string()), "{e}");
    // In process too.
    let Err(e) = try_start_in_process(&state, trustee_node::Limits::default()) else {
        panic!("a second node served a folder in use");
    };
    assert!(
        matches!(&e, trustee_node::NodeError::StateInUse(p) if p == &state),
        "{e:?}"
    );
    // init refuses a folder in use.
    let out = fx.run_init(&fx.trustee_dirs[0], &state, PASS);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("in use"), "{err}");
    // The first node still answers; once it is gone (even by kill -9) the folder is free.
    assert_eq!(get(&first.url("/v1/info")).0, 200);
    first.kill9();
    let again = start_in_process(&state, trustee_node::Limits::default());
    assert_eq!(get(&again.url("/v1/info")).0, 200);
}
