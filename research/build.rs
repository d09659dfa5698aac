//! Records, at build time, the locked versions of the crates whose speed the harness reports
//! (from the workspace's Cargo.lock), the compiler version and the git commit of the tree,
//! for every run record (so that `run.json` names the commit wherever the binary runs).

use std::fmt::Write as _;

const CRATES: &[&str] = &[
    "p256",
    "elliptic-curve",
    "vsss-rs",
    "aes-gcm",
    "sha2",
    "hkdf",
    "plotters",
    "criterion",
    "threshold_crypto",
    "pairing",
    "frost-p256",
    "frost-core",
];

fn main() {
    let lock_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    println!("cargo:rerun-if-changed=build.rs");
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    let mut found: Vec<(String, String)> = Vec::new();
    let mut name: Option<String> = None;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ")
            && let Some(n) = name.take()
            && CRATES.contains(&n.as_str())
        {
            found.push((n, v.trim_matches('"').to_string()));
        }
    }
    found.sort();
    let mut s = String::new();
    for (n, v) in &found {
        let _ = write!(s, "{n}={v};");
    }
    println!("cargo:rustc-env=ESCROW_RESEARCH_LOCKED={s}");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let ver = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ESCROW_RESEARCH_RUSTC={ver}");
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    let opt = std::env::var("OPT_LEVEL").unwrap_or_else(|_| "unknown".into());
    println!(
        "cargo:rustc-env=ESCROW_RESEARCH_PROFILE={profile} (opt-level {opt} for escrow-research)"
    );
    commit();
}

mod git {
    include!("src/git.rs");
}

/// `ESCROW_RESEARCH_COMMIT` (or "unknown" outside a git checkout) and `ESCROW_RESEARCH_DIRTY`
/// ("true", "false" or "unknown"); rebuilt when HEAD or the branch it names moves.
fn commit() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| git::git(dir, args).filter(|s| !s.is_empty());
    let id = git(&["rev-parse", "HEAD"]);
    let dirty = match (&id, git(&["status", "--porcelain", "--untracked-files=no"])) {
        (None, _) => "unknown",
        (Some(_), Some(_)) => "true",
        (Some(_), None) => "false",
    };
    println!(
        "cargo:rustc-env=ESCROW_RESEARCH_COMMIT={}",
        id.as_deref().unwrap_or("unknown")
    );
    println!("cargo:rustc-env=ESCROW_RESEARCH_DIRTY={dirty}");
    // Rebuild when the commit moves: HEAD, the ref it points to, and packed refs.
    for what in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", what]) {
            println!("cargo:rerun-if-changed={}", dir.join(p).display());
        }
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &r])
    {
        println!("cargo:rerun-if-changed={}", dir.join(p).display());
    }
}
