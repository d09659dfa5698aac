//! TLS for the demo's trustee nodes: a certificate authority made for this run and one node
//! certificate it signs (for 127.0.0.1 and localhost), so the demo shows the trustees speaking
//! HTTPS with every client pinning that CA (`escrow --ca-cert`), as an operator would.

use crate::files;
use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

/// The CA certificate every client pins.
pub const CA_FILE: &str = "demo-ca.pem";
/// The node certificate (signed by the CA) all demo nodes serve.
pub const CERT_FILE: &str = "node-cert.pem";
/// Its private key (mode 0600).
pub const KEY_FILE: &str = "node-key.pem";

/// The files made for one demo run.
pub struct DemoTls {
    /// The CA certificate (PEM).
    pub ca_pem: Vec<u8>,
    /// Where it is written.
    pub ca_file: PathBuf,
    /// The node certificate.
    pub cert: PathBuf,
    /// The node key.
    pub key: PathBuf,
}

/// Make a CA (P-256) and a node certificate for 127.0.0.1 signed by it; write both and the
/// node key into `dir`. The CA key is not kept: nothing else can be signed with it.
pub fn make(dir: &Path) -> Result<DemoTls> {
    let bad = |what: &'static str| move |e: rcgen::Error| anyhow::anyhow!("demo TLS: {what}: {e}");
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(bad("CA parameters"))?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "escrow demo CA (made for this run)");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(bad("CA key"))?;
    let ca_cert = ca.self_signed(&ca_key).map_err(bad("CA certificate"))?;
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(bad("node certificate parameters"))?;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.distinguished_name
        .push(DnType::CommonName, "escrow demo trustee node");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(bad("node key"))?;
    let leaf_cert = leaf
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .map_err(bad("node certificate"))?;
    let out = DemoTls {
        ca_pem: ca_cert.pem().into_bytes(),
        ca_file: dir.join(CA_FILE),
        cert: dir.join(CERT_FILE),
        key: dir.join(KEY_FILE),
    };
    files::public(&out.ca_file, &out.ca_pem)?;
    files::public(&out.cert, leaf_cert.pem().as_bytes())?;
    let key_pem = zeroize::Zeroizing::new(leaf_key.serialize_pem());
    files::secret(&out.key, key_pem.as_bytes()).context("writing the demo node key")?;
    Ok(out)
}
