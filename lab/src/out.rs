//! How `escrow` (the CLI, the demo and the experiments) prints: readable text by default,
//! exactly one JSON object on stdout with `--json`; progress on stderr; a reader that went away
//! ends the program quietly.

use std::io::Write as _;

/// Text or one JSON object on stdout.
#[derive(Clone, Copy, Debug)]
pub struct Out {
    /// Print exactly one JSON object instead of text.
    pub json: bool,
}

impl Out {
    /// Print `text` (text mode) or `json` (JSON mode) on stdout.
    pub fn emit(&self, text: &str, json: serde_json::Value) {
        if self.json {
            report_line(&json.to_string());
        } else if !text.is_empty() {
            report_line(text.trim_end_matches('\n'));
        }
    }

    /// A narration line: stdout in text mode, nothing in JSON mode.
    pub fn say(&self, text: &str) {
        if !self.json {
            report_line(text);
        }
    }
}

/// Set once a verb has written its output file to standard output (`--out -`): from then on
/// its report goes to standard error, so that standard output is the file alone.
static REPORT_ON_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Send every later report ([`Out::emit`], [`Out::say`]) to standard error: standard output
/// carries a file (`--out -`).
pub fn report_on_stderr() {
    REPORT_ON_STDERR.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn report_line(text: &str) {
    if REPORT_ON_STDERR.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{text}");
    } else {
        print_line(text);
    }
}

/// Print one line on stdout. A reader that went away (`escrow open … | head -1`) ends the
/// program quietly with exit 0, as for other Unix filters, instead of a panic.
pub fn print_line(text: &str) {
    let mut w = std::io::stdout().lock();
    let res = writeln!(w, "{text}").and_then(|()| w.flush());
    if let Err(e) = res {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("escrow: error: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// A progress line of an experiment, on stderr.
pub fn progress(line: &str) {
    eprintln!("escrow experiment: {line}");
}
