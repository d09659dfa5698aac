//! Issue 17: log keys bound to the trustee set (signed `/v1/info`), the release gate with
//! witnesses, and the investigator's check of cosignatures.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_e2e::*;
use std::io::{Read as _, Write as _};
use std::net::TcpListener;

/// A one-thread HTTP server on 127.0.0.1 that answers `GET /v1/info` with `info` (a JSON text)
/// and 404 otherwise; serves at most `max` connections, then stops. Returns its base URL.
fn serve_info(info: String, max: usize) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in l.incoming().take(max) {
            let Ok(mut c) = conn else { continue };
            c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf);
            let (status, body) = if head.starts_with("GET /v1/info ") {
                ("200 OK", info.clone())
            } else {
                (
                    "404 Not Found",
                    r#"{"error":{"code":"not-found","message":"no"}}"#.to_string(),
                )
            };
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn a_swapped_log_key_in_info_is_refused_naming_the_trustee() {
    let w = Workflow::new(3, 2, 1);
    let urls = w.urls();
    let real: serde_json::Value = ureq::get(&format!("{}/v1/info", urls[1]))
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    // The honest answer verifies against the set.
    let set = escrow_core::trustee::TrusteeSet::from_json(
        &std::fs::read_to_string(w.dir.join("ts/trustee-set.json")).unwrap(),
    )
    .unwrap();
    let honest: escrow_core::api::Info = serde_json::from_value(real.clone()).unwrap();
    honest.verify(&set).unwrap();

    // Trustee 2's answer with another log key of the same origin (what a node that keeps a
    // second log for some audiences would serve).
    let origin = real["log_origin"].as_str().unwrap();
    let other = escrow_core::audit::LogKey::generate(origin)
        .unwrap()
        .verifier_key();
    let mut swapped = real.clone();
    swapped["log_key"] = other.clone().into();
    let parsed: escrow_core::api::Info = serde_json::from_value(swapped.clone()).unwrap();
    assert_eq!(
        parsed.verify(&set).unwrap_err(),
        escrow_core::api::InfoError::LogKeyNotBound {
            trustee: 2,
            log_key: other
        }
    );
    // The same with the answer's other fields changed (the binding kept): the signature fails.
    let mut tampered = real.clone();
    tampered["log"]["size"] = 1_000_000.into();
    let parsed: escrow_core::api::Info = serde_json::from_value(tampered).unwrap();
    assert_eq!(
        parsed.verify(&set).unwrap_err(),
        escrow_core::api::InfoError::BadSignature { trustee: 2 }
    );

    // `escrow retrieve` refuses the node before any release request, naming trustee 2.
    let fake = serve_info(swapped.to_string(), 4);
    let args = retrieve_args(SET, "out", &[urls[0].clone(), fake, urls[2].clone()], &[]);
    // the text output (the arguments without their leading `--json`)
    let o = escrow(
        &w.dir,
        &args.iter().skip(1).map(String::as_str).collect::<Vec<_>>(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("trustee 2: log key") && err.contains("is not bound"),
        "{err}"
    );

    // The auditor does not pin it either: trustee 2 is not audited, and the report says why.
    let fake = serve_info(swapped.to_string(), 4);
    let o = audit_at(
        &w.dir,
        false,
        POLICY_AND_OVERSIGHT,
        &[urls[0].clone(), fake],
        &[],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("NOT AUDITED"), "{out}");
    assert!(
        out.contains("trustee 2") && out.contains("is not bound to the trustee's signing key"),
        "{out}"
    );
}
