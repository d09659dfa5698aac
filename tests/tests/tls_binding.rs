//! Issue 17: each trustee's TLS key is bound to the trustee by its signing key in the set
//! (signed `/v1/info`, `docs/api.md` §3.1). A man in the middle that holds a certificate the
//! pinned CA vouches for, but not the trustee's key, is refused by `escrow retrieve` and by
//! `escrow audit`, naming the trustee.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_e2e::*;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A TLS-terminating relay in front of the node at `upstream` (an `https://127.0.0.1:PORT`
/// URL): it presents `cert`/`key` to its clients, and forwards each request, one per
/// connection, to the node over TLS (trusting `ca`), and the node's answer back. What a man
/// in the middle with a certificate from the same CA does. Serves at most 200 connections.
fn relay(upstream: &str, ca: &Path, cert: &Path, key: &Path) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let server = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let addr = upstream.trim_start_matches("https://").to_string();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in l.incoming().take(200) {
            let Ok(tcp) = conn else { continue };
            let (server, client, addr) = (server.clone(), client.clone(), addr.clone());
            std::thread::spawn(move || relay_one(tcp, server, client, &addr));
        }
    });
    url
}

/// One request: read it from the client, send it upstream with `connection: close`, copy the
/// whole answer back.
fn relay_one(
    tcp: TcpStream,
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    addr: &str,
) {
    let t = Some(Duration::from_secs(30));
    tcp.set_read_timeout(t).unwrap();
    let Ok(conn) = rustls::ServerConnection::new(server) else {
        return;
    };
    let mut down = rustls::StreamOwned::new(conn, tcp);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        match down.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match down.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let mut request: String = head
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    request.push_str("connection: close\r\n\r\n");
    let mut out = request.into_bytes();
    out.extend_from_slice(&buf[head_end..head_end + len]);

    let up_tcp = TcpStream::connect(addr).unwrap();
    up_tcp.set_read_timeout(t).unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut up =
        rustls::StreamOwned::new(rustls::ClientConnection::new(client, name).unwrap(), up_tcp);
    up.write_all(&out).unwrap();
    let mut answer = Vec::new();
    loop {
        match up.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = down.write_all(&answer);
    down.conn.send_close_notify();
    let _ = down.flush();
}

fn audit(w: &Workflow, urls: &[String]) -> String {
    let opts = ["--policy", "policy.json", "--ca-cert", "ca.pem"];
    stdout_and_stderr(&audit_at(&w.dir, false, &opts, urls, &[]))
}

#[test]
fn a_man_in_the_middle_with_a_certificate_of_the_pinned_ca_is_refused_naming_the_trustee() {
    if skip_without_openssl() {
        return;
    }
    let mut w = Workflow::new(3, 2, 1);
    tls::make_ca(&w.dir);
    let (cert, key) = tls::leaf(&w.dir, "node");
    let (mitm_cert, mitm_key) = tls::leaf(&w.dir, "mitm");
    let urls = w.serve_tls(&cert, &key);
    let ca = w.dir.join("ca.pem");
    let set = escrow_core::trustee::TrusteeSet::from_json(
        &std::fs::read_to_string(w.dir.join("ts/trustee-set.json")).unwrap(),
    )
    .unwrap();

    // Each node's signed /v1/info binds the key of the certificate it serves.
    let pem = std::fs::read(&cert).unwrap();
    let cfg = escrow_client::ClientConfig::default()
        .with_ca_file(&ca)
        .unwrap();
    let c = escrow_client::NodeClient::new(&urls[1], &cfg).unwrap();
    let info = c.info().unwrap();
    info.verify(&set).unwrap();
    assert_eq!(
        info.tls_key,
        Some(trustee_node::tls_key_of_pem(&pem).unwrap())
    );
    c.bind_tls(&info).unwrap();

    // The relay with the node's own certificate and key is let through: what is refused below
    // is the key, not the relaying.
    let honest_relay = relay(&urls[1], &ca, &cert, &key);
    let via = [urls[0].clone(), honest_relay, urls[2].clone()];
    let ca_arg = ca.to_str().unwrap();
    let o = retrieve_w(
        &w.dir,
        "ts/trustee-set.json",
        "out-relay",
        &via,
        &["--ca-cert", ca_arg],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout_and_stderr(&o));

    // The man in the middle: a certificate of the same CA, for the same address, another key.
    let mitm = relay(&urls[1], &ca, &mitm_cert, &mitm_key);
    let via = [urls[0].clone(), mitm, urls[2].clone()];
    let o = retrieve_w(
        &w.dir,
        "ts/trustee-set.json",
        "out-mitm",
        &via,
        &["--ca-cert", ca_arg, "--attempts", "1"],
    );
    let text = stdout_and_stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(
        text.contains("trustee 2: the TLS key this connection presented")
            && text.contains("is not the TLS key bound"),
        "{text}"
    );
    // Nothing was asked of any node: no output.
    assert!(
        std::fs::read_dir(w.dir.join("out-mitm")).map_or(true, |mut d| d.next().is_none()),
        "output written"
    );

    // The auditor: trustee 2 is not audited through it, and the report says why.
    let text = audit(&w, &via);
    assert!(text.contains("NOT AUDITED"), "{text}");
    assert!(
        text.contains("trustee 2: the TLS key this connection presented"),
        "{text}"
    );
    // Straight to the nodes, the audit reads every log.
    let text = audit(&w, &urls);
    assert!(!text.contains("NOT AUDITED"), "{text}");
}
