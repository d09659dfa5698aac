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

/// Create a folder (and its parents) readable only by its owner (mode 0700 on unix).
pub fn create_private_dir(path: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path)
}

/// The current time, whole seconds.
pub fn now() -> escrow_core::time::Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    escrow_core::time::Timestamp::from_unix(secs)
}
