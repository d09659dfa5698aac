//! The few files the demo and the experiments write into their own working folders: a
//! private folder, secret files (mode 0600) and public files, with the names the `escrow` CLI
//! and `trustee-node` use.

use anyhow::{Context, Result, bail};
use std::io::Write as _;
use std::path::Path;

/// Seconds in a day (the demo's and the experiments' traffic windows).
pub const DAY: i64 = 86_400;

pub use escrow_client::files::SET_FILE;

/// Refuse a path that exists (the demo never writes into an existing folder).
pub fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() {
        bail!("{} already exists; choose a new path", path.display());
    }
    Ok(())
}

/// Create a folder (and its parents) readable only by its owner.
pub fn private_dir(path: &Path) -> Result<()> {
    escrow_client::files::create_private_dir(path)
        .with_context(|| format!("cannot create folder {}", path.display()))
}

/// Write a file readable only by its owner.
pub fn secret(path: &Path, contents: &[u8]) -> Result<()> {
    create(path, contents, 0o600)
}

/// Write a file readable by everyone.
pub fn public(path: &Path, contents: &[u8]) -> Result<()> {
    create(path, contents, 0o644)
}

fn create(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = o
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(contents)
        .with_context(|| format!("cannot write {}", path.display()))
}

pub use escrow_client::files::now;
