//! `escrow keygen`.

use crate::io::{self, Out};
use anyhow::Result;
use clap::Args;
use escrow_core::keys::PrivateKey;
use std::path::PathBuf;

#[derive(Args)]
pub struct KeygenArgs {
    /// Output name: writes NAME.key and NAME.pub.
    #[arg(long, value_name = "NAME")]
    pub out: PathBuf,
}

/// `NAME.key` and `NAME.pub` for an output name.
pub fn key_paths(name: &std::path::Path) -> (PathBuf, PathBuf) {
    let mut k = name.as_os_str().to_owned();
    k.push(".key");
    let mut p = name.as_os_str().to_owned();
    p.push(".pub");
    (PathBuf::from(k), PathBuf::from(p))
}

pub fn keygen(a: KeygenArgs, out: Out) -> Result<()> {
    let (kp, pp) = key_paths(&a.out);
    io::refuse_existing(&kp)?;
    io::refuse_existing(&pp)?;
    let key = PrivateKey::generate(&mut rand::rng());
    let pem = key.to_pem()?;
    io::write_secret(&kp, pem.as_bytes())?;
    io::write_public(&pp, key.public().to_pem().as_bytes())?;
    let id = key.public().key_id();
    out.emit(
        &format!(
            "wrote {} (private, mode 0600) and {}\nkey id {}",
            kp.display(),
            pp.display(),
            id
        ),
        serde_json::json!({"ok": true, "private_key": kp, "public_key": pp, "key_id": id.to_hex()}),
    );
    Ok(())
}

/// Load a private key (PKCS#8 PEM).
pub fn load_private(path: &std::path::Path) -> Result<PrivateKey> {
    let pem = zeroize::Zeroizing::new(io::read_text(path, "private key")?);
    PrivateKey::from_pem(&pem).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Load a public key (SPKI PEM).
pub fn load_public(path: &std::path::Path) -> Result<escrow_core::keys::PublicKey> {
    let pem = io::read_text(path, "public key")?;
    escrow_core::keys::PublicKey::from_pem(&pem)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
