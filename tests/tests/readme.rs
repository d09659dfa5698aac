//! The README's main command as a newcomer runs it. In a test binary of its own: it builds a
//! release `escrow` and `trustee-node` from nothing (minutes on 2 cores), and cargo runs test
//! binaries one after the other, so that build never competes with the timed-out requests of
//! the workflow tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

/// The README's main command, run literally (`sh -c` on the line the README shows) from the
/// workspace root, as a newcomer runs it: through `cargo run --release`, into a target folder
/// of its own so that nothing the test build made is used (on a fresh clone, as in CI, it
/// builds `escrow` and then `trustee-node` from nothing; that is the point).
#[test]
fn the_readme_main_command_runs_the_demo_as_a_newcomer_would() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("cargo run --release"))
        .expect("the README's main command");
    let out = std::process::Command::new("sh")
        .args(["-c", line])
        .current_dir(root)
        .env("CARGO_TARGET_DIR", root.join("target/newcomer"))
        .env_remove("CARGO_MANIFEST_DIR")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "`{line}` failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("[9]") && text.contains("trustee processes stopped"),
        "{text}"
    );
}
