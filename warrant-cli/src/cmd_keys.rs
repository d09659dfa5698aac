//! `escrow keygen`, and reading key files for every verb.
//!
//! Private keys are written encrypted with a passphrase by default (standard encrypted PKCS#8,
//! which `openssl pkey` reads). The passphrase comes from `--passphrase-file FILE` (its first
//! line), else the environment variable `ESCROW_PASSPHRASE`, else a prompt on the terminal
//! when standard input is one; `escrow keygen --no-passphrase` writes an unencrypted key (for
//! tests and scripts).

use crate::io::{self, Out};
use anyhow::{Result, anyhow};
use clap::Args;
use escrow_core::keys::{self, KeyFileError, PrivateKey, PublicKey};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Environment variable holding the passphrase of encrypted private keys.
pub const PASSPHRASE_ENV: &str = "ESCROW_PASSPHRASE";

static PASSPHRASE_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Remember the global `--passphrase-file` (called once by main).
pub fn set_passphrase_file(path: Option<PathBuf>) {
    if let Some(p) = path {
        let _ = PASSPHRASE_FILE.set(p);
    }
}

#[derive(Args)]
pub struct KeygenArgs {
    /// Output name: writes NAME.key and NAME.pub.
    #[arg(long, value_name = "NAME")]
    pub out: PathBuf,
    /// Write the private key unencrypted (for tests and scripts). Default: encrypted with a
    /// passphrase (--passphrase-file, ESCROW_PASSPHRASE, or asked on the terminal).
    #[arg(long)]
    pub no_passphrase: bool,
}

/// `NAME.key` and `NAME.pub` for an output name.
pub fn key_paths(name: &std::path::Path) -> (PathBuf, PathBuf) {
    let mut k = name.as_os_str().to_owned();
    k.push(".key");
    let mut p = name.as_os_str().to_owned();
    p.push(".pub");
    (PathBuf::from(k), PathBuf::from(p))
}

/// The passphrase for `what`: `--passphrase-file`, `ESCROW_PASSPHRASE`, or the terminal
/// (asked twice when `confirm`). None of them: a usage error that says how to give one.
fn passphrase(what: &str, confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(p) = PASSPHRASE_FILE.get() {
        let text = Zeroizing::new(io::read_text(p, "passphrase file")?);
        let line = text.lines().next().unwrap_or_default();
        return Ok(Zeroizing::new(line.to_string()));
    }
    if let Some(v) = std::env::var_os(PASSPHRASE_ENV) {
        let v = Zeroizing::new(
            v.into_string()
                .map_err(|_| crate::Usage(format!("{PASSPHRASE_ENV} is not valid UTF-8")))?,
        );
        return Ok(v);
    }
    if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(rpassword::prompt_password(format!(
            "passphrase for {what}: "
        ))?);
        if confirm {
            let again = Zeroizing::new(rpassword::prompt_password("the same passphrase again: ")?);
            if *again != *first {
                return Err(crate::Usage("the two passphrases differ".into()).into());
            }
        }
        return Ok(first);
    }
    Err(crate::Usage(format!(
        "{what} needs a passphrase: set {PASSPHRASE_ENV}, pass --passphrase-file FILE, or run on a terminal{}",
        if confirm {
            " (or --no-passphrase for an unencrypted key)"
        } else {
            ""
        }
    ))
    .into())
}

pub fn keygen(a: KeygenArgs, out: Out) -> Result<()> {
    let (kp, pp) = key_paths(&a.out);
    io::refuse_existing(&kp)?;
    io::refuse_existing(&pp)?;
    let key = PrivateKey::generate(&mut rand::rng());
    let pem = if a.no_passphrase {
        key.to_pem()?
    } else {
        let pass = passphrase(&format!("the new key {}", kp.display()), true)?;
        key.to_encrypted_pem(pass.as_bytes(), &mut rand::rng())
            .map_err(|e| match e {
                KeyFileError::PassphraseTooShort => anyhow::Error::new(crate::Usage(e.to_string())),
                e => anyhow!("cannot encrypt the new key: {e}"),
            })?
    };
    io::write_secret(&kp, pem.as_bytes())?;
    io::write_public(&pp, key.public().to_pem().as_bytes())?;
    let id = key.public().key_id();
    let protection = if a.no_passphrase {
        "private, mode 0600, NOT encrypted"
    } else {
        "private, mode 0600, encrypted with your passphrase"
    };
    out.emit(
        &format!(
            "wrote {} ({protection}) and {}\nkey id {}",
            kp.display(),
            pp.display(),
            id
        ),
        serde_json::json!({"ok": true, "private_key": kp, "public_key": pp, "key_id": id.to_hex(),
                           "encrypted": !a.no_passphrase}),
    );
    Ok(())
}

fn read_key_bytes(path: &Path, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    if path == Path::new("-") {
        return Err(crate::Usage(format!("the {what} must be a file, not standard input")).into());
    }
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| anyhow!("cannot read {what} {}: {e}", path.display()))
}

/// Load a private key: PKCS#8 PEM, encrypted (the passphrase as [`passphrase`] finds it) or
/// not. Any other file is named in plain words.
pub fn load_private(path: &Path) -> Result<PrivateKey> {
    let bytes = read_key_bytes(path, "private key")?;
    let pass = if keys::is_encrypted_key_file(&bytes) {
        Some(passphrase(
            &format!("the private key {}", path.display()),
            false,
        )?)
    } else {
        None
    };
    PrivateKey::from_key_file(&bytes, pass.as_ref().map(|p| p.as_bytes()))
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Load a public key (SPKI PEM). Any other file is named in plain words.
pub fn load_public(path: &Path) -> Result<PublicKey> {
    let bytes = read_key_bytes(path, "public key")?;
    PublicKey::from_key_file(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))
}
