//! The few file operations the roles share (the `escrow` CLI, the investigator's output folder,
//! the demo): atomic writes with a file mode, private folders, the clock.

use std::io::Write as _;
use std::path::Path;

/// Write `contents` to `path` atomically: into a temporary sibling created with `mode`
/// (unix), synced when `sync`, then renamed over `path`. A failed write leaves no temporary
/// file behind. Errors name the file.
pub fn write_atomic(path: &Path, contents: &[u8], mode: u32, sync: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let res = (|| -> std::io::Result<()> {
        let mut f = opts.open(&tmp).map_err(named("create", &tmp))?;
        f.write_all(contents).map_err(named("write", &tmp))?;
        if sync {
            f.sync_all().map_err(named("sync", &tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(named("write", path))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

fn named<'a>(what: &'a str, p: &'a Path) -> impl FnOnce(std::io::Error) -> std::io::Error + 'a {
    move |e| std::io::Error::new(e.kind(), format!("cannot {what} {}: {e}", p.display()))
}

/// Append `bytes` to `path` (created if missing) with one write on a file opened in append
/// mode, then sync it: what is there is never touched. Errors name the file.
pub fn append_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(named("open for appending", path))?;
    f.write_all(bytes).map_err(named("append to", path))?;
    f.sync_all().map_err(named("sync", path))
}

/// Append one line to a JSON-lines file (a mailbox), as [`append_synced`]. A file whose last
/// line lacks its newline (a truncated write) gets one first, so that the damaged line stays as
/// it was and the new one is readable. A `line` holding a newline is refused.
pub fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    if line.contains('\n') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "internal error: a mailbox line must not contain a newline",
        ));
    }
    let needs_nl = std::fs::read(path).is_ok_and(|b| !b.is_empty() && b.last() != Some(&b'\n'));
    let mut buf = String::with_capacity(line.len() + 2);
    if needs_nl {
        buf.push('\n');
    }
    buf.push_str(line);
    buf.push('\n');
    append_synced(path, buf.as_bytes())
}

/// Create a folder (and its parents) readable only by its owner (mode 0700 on unix).
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path)
}

/// The public trustee set in a set folder (`escrow setup --out DIR`).
pub const SET_FILE: &str = "trustee-set.json";
/// A trustee's key share in its folder `trustee-<i>/`.
pub const SHARE_FILE: &str = "key-share.json";
/// A trustee's signing key in its folder.
pub const SIGNING_KEY_FILE: &str = "signing.key";
/// A trustee's public signing key in its folder.
pub const SIGNING_PUB_FILE: &str = "signing.pub";

/// Write a dealt set into `dir`: per trustee a private folder `trustee-<i>/` (mode 0700) with
/// its key share and signing key (mode 0600) and public signing key; then the public
/// [`SET_FILE`], last, so that its presence marks a complete folder. Every file is written
/// atomically and synced.
pub fn write_set_folder(
    dir: &Path,
    set: &escrow_core::trustee::TrusteeSet,
    secrets: &[escrow_core::trustee::TrusteeSecrets],
) -> std::io::Result<()> {
    for s in secrets {
        let d = dir.join(format!("trustee-{}", s.key_share.index()));
        create_private_dir(&d).map_err(named("create directory", &d))?;
        let key = s.signing_key.to_pem().map_err(std::io::Error::other)?;
        write_atomic(
            &d.join(SHARE_FILE),
            s.key_share.to_json().as_bytes(),
            0o600,
            true,
        )?;
        write_atomic(&d.join(SIGNING_KEY_FILE), key.as_bytes(), 0o600, true)?;
        let public = s.signing_key.public().to_pem();
        write_atomic(&d.join(SIGNING_PUB_FILE), public.as_bytes(), 0o644, true)?;
    }
    write_atomic(&dir.join(SET_FILE), set.to_json().as_bytes(), 0o644, true)
}

/// The current time, whole seconds.
pub fn now() -> escrow_core::time::Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    escrow_core::time::Timestamp::from_unix(secs)
}

/// Why a node's address file (`trustee-node serve --addr-file FILE`) gave no address.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddrFileError {
    /// It exists but cannot be read.
    #[error("cannot read the address file {path}: {detail}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        detail: String,
    },
    /// It did not appear (or stayed empty) in time.
    #[error(
        "{path} did not appear within {secs}s: is `trustee-node serve --addr-file {path}` running? (its log says why not)"
    )]
    Timeout {
        /// The file.
        path: String,
        /// How long was waited.
        secs: u64,
    },
}

/// The address a node wrote into its address file (atomically, once listening), waiting up
/// to `within` for it to appear (polled every 50 ms).
pub fn wait_for_addr_file(
    path: &Path,
    within: std::time::Duration,
) -> Result<String, AddrFileError> {
    let t0 = std::time::Instant::now();
    loop {
        match std::fs::read_to_string(path) {
            Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(AddrFileError::Read {
                    path: path.display().to_string(),
                    detail: e.to_string(),
                });
            }
        }
        if t0.elapsed() >= within {
            return Err(AddrFileError::Timeout {
                path: path.display().to_string(),
                secs: within.as_secs(),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_address_file_is_read_trimmed_or_its_absence_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("node.addr");
        let e = wait_for_addr_file(&p, std::time::Duration::ZERO).unwrap_err();
        assert!(matches!(e, AddrFileError::Timeout { secs: 0, .. }), "{e}");
        write_atomic(&p, b"127.0.0.1:4000\n", 0o644, false).unwrap();
        let addr = wait_for_addr_file(&p, std::time::Duration::ZERO).unwrap();
        assert_eq!(addr, "127.0.0.1:4000");
    }

    #[test]
    fn a_line_is_appended_after_a_truncated_one_and_never_joins_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mailbox.jsonl");
        append_line(&p, "{\"a\":1}").unwrap();
        std::fs::write(&p, "{\"a\":1}\n{\"trunc").unwrap();
        append_line(&p, "{\"b\":2}").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, "{\"a\":1}\n{\"trunc\n{\"b\":2}\n");
        assert!(append_line(&p, "x\ny").is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
    }

    #[test]
    fn a_set_folder_holds_every_trustee_and_keeps_the_secrets_private() {
        let dir = tempfile::tempdir().unwrap();
        let d = escrow_core::trustee::deal(3, 2, &mut rand::rng()).unwrap();
        write_set_folder(dir.path(), &d.set, &d.secrets).unwrap();
        let set = std::fs::read_to_string(dir.path().join(SET_FILE)).unwrap();
        assert_eq!(
            escrow_core::trustee::TrusteeSet::from_json(&set).unwrap(),
            d.set
        );
        for i in 1..=3 {
            let t = dir.path().join(format!("trustee-{i}"));
            let share = std::fs::read_to_string(t.join(SHARE_FILE)).unwrap();
            let share = escrow_core::trustee::KeyShare::from_json(&share).unwrap();
            assert_eq!(share.index(), i);
            assert!(t.join(SIGNING_PUB_FILE).exists());
            #[cfg(unix)]
            for (f, mode) in [(t.join(SIGNING_KEY_FILE), 0o600), (t.clone(), 0o700)] {
                use std::os::unix::fs::PermissionsExt as _;
                let m = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
                assert_eq!(m, mode, "{}", f.display());
            }
        }
    }
}
