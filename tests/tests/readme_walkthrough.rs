//! Every command block of the README (and of the `docs/` pages) runs as written.
//!
//! The runner extracts each fenced block whose language is `sh`, `bash`, `shell` or `console`
//! (for `console`, the lines after a `$ ` prompt) and whose info string does not say `no-run`,
//! and runs the blocks of one page in order in ONE `bash` (`set -eo pipefail`, so exported
//! variables, `cd` and background jobs carry from block to block as in a reader's terminal), in
//! a fresh temporary folder, with the workspace's `escrow` and `trustee-node` first on `PATH`.
//! A failing command fails the test with its page, block and output. Ports are never written
//! in a page: nodes write theirs with `--addr-file`.
//!
//! The one difference from a reader's terminal: `TRUSTEE_KDF_COST=test`, so the nodes seal
//! their keys with a cheap Argon2id (the README's commands are unchanged; a reader gets the
//! strong default). The bash runs in a process group of its own, which a guard kills when the
//! test ends, passes or not, so no node outlives it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use escrow_e2e::bin;
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One runnable block of a page.
#[derive(Debug, PartialEq)]
struct Block {
    /// Line of the opening fence (1-based).
    line: usize,
    /// The commands.
    text: String,
}

/// The runnable command blocks of a Markdown page, in order.
fn command_blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(String, bool, usize, String)> = None; // fence, console, line, text
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                let fence: String = trimmed
                    .chars()
                    .take_while(|c| *c == '`' || *c == '~')
                    .collect();
                if fence.len() < 3 {
                    continue;
                }
                let info = trimmed[fence.len()..].trim();
                let mut words = info.split(|c: char| c == ',' || c.is_whitespace());
                let lang = words.next().unwrap_or_default();
                let no_run = info
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .any(|w| w == "no-run");
                let runnable = matches!(lang, "sh" | "bash" | "shell" | "console") && !no_run;
                // A block that does not run is still opened, so that its closing fence is
                // not taken for an opening one.
                open = Some((
                    fence,
                    lang == "console",
                    if runnable { i + 1 } else { 0 },
                    String::new(),
                ));
            }
            Some((fence, console, start, text)) => {
                if trimmed.starts_with(fence.as_str())
                    && trimmed
                        .trim_start_matches(fence.chars().next().unwrap())
                        .trim()
                        == ""
                {
                    if *start > 0 {
                        out.push(Block {
                            line: *start,
                            text: std::mem::take(text),
                        });
                    }
                    open = None;
                } else if !*console {
                    text.push_str(line);
                    text.push('\n');
                } else if let Some(cmd) = line.strip_prefix("$ ") {
                    text.push_str(cmd);
                    text.push('\n');
                }
            }
        }
    }
    out
}

/// The bash process group of a page run; killed (every process in it) on drop.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = self.0.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// The workspace root.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// Run the blocks of the page at `file` in a fresh folder; panic with the failing block and
/// the output on failure. Returns the output.
fn run_page(file: &Path) -> String {
    let page = file.strip_prefix(root()).unwrap_or(file).display();
    let markdown = std::fs::read_to_string(file).unwrap();
    let blocks = command_blocks(&markdown);
    if blocks.is_empty() {
        return String::new();
    }
    let mut script = String::from("set -eo pipefail\n");
    for (n, b) in blocks.iter().enumerate() {
        script.push_str(&format!("echo '@@@ block {n}'\n{}\n", b.text));
    }
    script.push_str("echo '@@@ end'\n");

    let work = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log_path = logs.path().join("output");
    let log = std::fs::File::create(&log_path).unwrap();
    let bin_dir: PathBuf = bin("escrow").parent().unwrap().to_path_buf();
    assert!(bin("trustee-node").exists());
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let child = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", &script])
        .current_dir(work.path())
        .env("PATH", path)
        .env("TRUSTEE_KDF_COST", "test")
        // What the page must set itself, as a reader on a fresh machine would.
        .env_remove("ESCROW_PASSPHRASE")
        .env_remove("TRUSTEE_PASSPHRASE")
        .env_remove("ESCROW_TRUSTEES")
        .env_remove("ESCROW_ACCOUNT")
        .env_remove("CARGO_MANIFEST_DIR")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap();
    let mut group = Group(child);
    let deadline = Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(st) = group.0.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    drop(group);
    let mut output = String::new();
    std::fs::File::open(&log_path)
        .unwrap()
        .read_to_string(&mut output)
        .unwrap();
    let ok = status.is_some_and(|s| s.success()) && output.contains("@@@ end");
    if !ok {
        // The block that was running: the last marker printed.
        let (n, after) = output
            .rmatch_indices("@@@ block ")
            .next()
            .map(|(at, _)| {
                let rest = &output[at + "@@@ block ".len()..];
                let (num, tail) = rest.split_once('\n').unwrap_or((rest, ""));
                (num.parse::<usize>().unwrap_or(0), tail.to_string())
            })
            .unwrap_or((0, output.clone()));
        let b = &blocks[n];
        panic!(
            "{page}: the command block at line {} {}:\n{}\n--- its output:\n{after}",
            b.line,
            match status {
                Some(st) => format!("failed ({st})"),
                None => "did not finish within 600 s".to_string(),
            },
            b.text
        );
    }
    output
}

#[test]
fn the_readme_runs_as_written() {
    let out = run_page(&root().join("README.md"));
    // The walk-through did what the README says it does, not merely exit 0.
    for needle in [
        "1 opened, 0 refused",
        "trustees.json: 5 trustee(s)",
        "refused, exit 3", // an unapproved warrant, then a cancelled one
        "2 decrypted, 0 not decrypted",
        "meet at noon",
        "refused: cancelled",
        "receipts: 10 proved included",
        "findings: none",
    ] {
        assert!(out.contains(needle), "{needle:?} not in the output:\n{out}");
    }
    assert_eq!(out.matches("refused, exit 3").count(), 2, "{out}");
    assert_eq!(out.matches("cancelled (log entry").count(), 5, "{out}");
    // carol's message is not alice's: it stays sealed.
    assert!(!out.contains("not alice's"), "{out}");
}

#[test]
fn every_docs_page_runs_as_written() {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    let mut ran = Vec::new();
    for page in &pages {
        let out = run_page(page);
        if !out.is_empty() {
            ran.push((page.file_name().unwrap().to_string_lossy().to_string(), out));
        }
    }
    // docs/warrants.md checks an escrow warrant with OpenSSL alone, and signs with OpenSSL.
    let warrants = ran
        .iter()
        .find(|(name, _)| name == "warrants.md")
        .map(|(_, out)| out)
        .expect("docs/warrants.md has runnable blocks");
    assert_eq!(warrants.matches("Verified OK").count(), 2, "{warrants}");
}

#[test]
fn the_runner_extracts_blocks_and_reports_the_failing_one() {
    let md = "text\n```sh\necho one\n```\n```sh no-run\ncargo build\n```\n\
              ```json\n{}\n```\n````sh,no-run\n```sh\nnot a fence\n````\n\
              ```console\n$ echo two\ntwo\n```\n";
    assert_eq!(
        command_blocks(md),
        vec![
            Block {
                line: 2,
                text: "echo one\n".into()
            },
            Block {
                line: 15,
                text: "echo two\n".into()
            }
        ]
    );
    // A page whose second block fails names that block, and what it started in the
    // background is killed although the page failed.
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("sleep.pid");
    std::fs::write(
        dir.path().join("page.md"),
        format!(
            "```sh\necho fine\n```\n\n```sh\nsleep 300 &\necho $! > {}\nfalse\necho never\n```\n",
            pid_file.display()
        ),
    )
    .unwrap();
    let err = std::panic::catch_unwind(|| run_page(&dir.path().join("page.md"))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("the command block at line 5 failed") && msg.contains("false"),
        "{msg}"
    );
    assert!(
        !msg.contains("\nnever\n"),
        "ran on after the failure: {msg}"
    );
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    // Killed at once; an orphan may stay a zombie for a moment until init reaps it.
    let alive = || {
        Command::new("kill")
            .args(["-0", pid.trim()])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    let mut tries = 0;
    while alive() && tries < 100 {
        std::thread::sleep(Duration::from_millis(20));
        tries += 1;
    }
    assert!(
        !alive(),
        "the background process {pid} outlived the failed page"
    );
}
