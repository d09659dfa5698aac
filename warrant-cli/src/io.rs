//! File and terminal I/O for the CLI: reading inputs with clear errors, writing secret files
//! with mode 0600, appending to mailboxes without losing what is there, and output in text or
//! one JSON object.

use anyhow::{Context, Result, bail};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::Path;

pub use escrow_lab::out::{Out, print_line};

/// Write an output file (public, atomically), or standard output for `-`; then the verb's
/// report goes to standard error, so that standard output is the file alone.
pub fn write_output(path: &Path, contents: &[u8]) -> Result<()> {
    if !is_stdio(path) {
        return write_public(path, contents);
    }
    escrow_lab::out::report_on_stderr();
    let mut w = std::io::stdout().lock();
    w.write_all(contents)
        .and_then(|()| w.flush())
        .context("cannot write to standard output")
}

/// Whether an error is a closed standard output (the reader went away).
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Whether a path names standard input/output (`-`, as age and openssl read it).
pub fn is_stdio(path: &Path) -> bool {
    path == Path::new("-")
}

/// Read a UTF-8 text file (or standard input for `-`), naming it in the error.
pub fn read_text(path: &Path, what: &str) -> Result<String> {
    if is_stdio(path) {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .with_context(|| format!("cannot read {what} from standard input"))?;
        return Ok(s);
    }
    fs::read_to_string(path).with_context(|| format!("cannot read {what} {}", path.display()))
}

/// Read all of stdin or a file.
pub fn read_input(path: Option<&Path>) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    match path.filter(|p| !is_stdio(p)) {
        Some(p) => {
            File::open(p)
                .with_context(|| format!("cannot open input file {}", p.display()))?
                .read_to_end(&mut buf)
                .with_context(|| format!("cannot read input file {}", p.display()))?;
        }
        None => {
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
        }
    }
    Ok(buf)
}

/// Write a public file atomically (write to a temporary sibling, then rename).
pub fn write_public(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomic(path, contents, 0o644, true)
}

/// Write a secret file atomically with mode 0600.
pub fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomic(path, contents, 0o600, true)
}

/// Refuse to overwrite an existing file.
pub fn refuse_existing(path: &Path) -> Result<()> {
    if path.exists() && !is_stdio(path) {
        bail!(
            "{} already exists; refusing to overwrite it (move it away or choose another name)",
            path.display()
        );
    }
    Ok(())
}

fn write_atomic(path: &Path, contents: &[u8], mode: u32, sync: bool) -> Result<()> {
    Ok(escrow_client::files::write_atomic(
        path, contents, mode, sync,
    )?)
}

/// Append one line to a mailbox (created if missing) and fsync it, never touching what is
/// there (`escrow_client::files::append_line`).
pub fn append_line(path: &Path, line: &str) -> Result<()> {
    Ok(escrow_client::files::append_line(path, line)?)
}

/// The current time, whole seconds.
pub fn now() -> escrow_core::time::Timestamp {
    escrow_client::files::now()
}

/// Parse a time option for clap: RFC 3339, or `now`, `now-DURATION`, `now+DURATION` against
/// this machine's clock (e.g. `--from now-1h --until now+1h`).
pub fn parse_time(s: &str) -> std::result::Result<escrow_core::time::Timestamp, String> {
    escrow_core::time::Timestamp::parse_at(s, now())
        .map_err(|e| format!("{e}, or now, now-DURATION, now+DURATION (e.g. now-2h)"))
}

/// `30s`, `15m`, `12h`, `183d`, or a plain number of seconds.
pub fn parse_duration(s: &str) -> Result<u64, String> {
    escrow_core::time::parse_duration(s)
}
