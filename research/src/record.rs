//! The run record (`run.json`): what was run, with which parameters, on which machine, with
//! which crate versions and at which commit, so that a number can be traced and reproduced.

use serde::Serialize;
use std::path::Path;

/// The machine a run was made on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// Logical cores available to this process.
    pub cores: usize,
    /// CPU model name from `/proc/cpuinfo` ("unknown" elsewhere).
    pub cpu_model: String,
    /// Operating system and architecture.
    pub os: String,
    /// Load averages (1, 5, 15 min) from `/proc/loadavg` when the run started, if readable:
    /// a loaded machine (other builds running) makes every number slower.
    pub load_at_start: Option<[f64; 3]>,
    /// Load averages when the run ended.
    pub load_at_end: Option<[f64; 3]>,
}

/// Read the load averages from `/proc/loadavg`.
pub fn load_average() -> Option<[f64; 3]> {
    let s = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = s.split_whitespace().map(|x| x.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// CPU model from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

impl Machine {
    /// Describe this machine now.
    pub fn detect() -> Self {
        Machine {
            cores: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1),
            cpu_model: cpu_model(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            load_at_start: load_average(),
            load_at_end: None,
        }
    }
}

/// Versions: this harness, the compiler and build profile, and the locked versions of the
/// crates whose speed is reported.
#[derive(Clone, Debug, Serialize)]
pub struct Versions {
    /// escrow-research (= workspace version).
    pub escrow_research: &'static str,
    /// `rustc --version` at build time.
    pub rustc: &'static str,
    /// Build profile.
    pub profile: &'static str,
    /// Crate name to locked version.
    pub crates: std::collections::BTreeMap<String, String>,
}

impl Versions {
    /// The versions this binary was built with.
    pub fn this_build() -> Self {
        let crates = env!("ESCROW_RESEARCH_LOCKED")
            .split(';')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Versions {
            escrow_research: env!("CARGO_PKG_VERSION"),
            rustc: env!("ESCROW_RESEARCH_RUSTC"),
            profile: env!("ESCROW_RESEARCH_PROFILE"),
            crates,
        }
    }
}

/// The git commit a binary was built from, and whether the tree had uncommitted changes.
#[derive(Clone, Debug, Serialize)]
pub struct Commit {
    /// `git rev-parse HEAD`, or "unknown".
    pub id: String,
    /// Uncommitted changes (`git status --porcelain` non-empty), if git could tell.
    pub dirty: Option<bool>,
    /// Where the commit was read: `build` (embedded when this binary was built, so it holds
    /// wherever the binary runs) or `working-directory` (asked of git at run time, for a
    /// build made outside a git checkout).
    pub source: &'static str,
}

impl Commit {
    /// The commit embedded at build time (see `build.rs`); if the build was not made in a git
    /// checkout, the working directory's commit, if any.
    pub fn this_build() -> Self {
        let id = env!("ESCROW_RESEARCH_COMMIT");
        if id != "unknown" {
            return Commit {
                id: id.to_string(),
                dirty: match env!("ESCROW_RESEARCH_DIRTY") {
                    "true" => Some(true),
                    "false" => Some(false),
                    _ => None,
                },
                source: "build",
            };
        }
        Commit::detect(Path::new("."))
    }

    /// Ask git (if installed and `dir` is in a repository); "unknown" otherwise.
    pub fn detect(dir: &Path) -> Self {
        let git = |args: &[&str]| crate::git::git(dir, args);
        let id = git(&["rev-parse", "HEAD"])
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let dirty = if id == "unknown" {
            None
        } else {
            git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty())
        };
        Commit {
            id,
            dirty,
            source: "working-directory",
        }
    }
}

/// Unix time now, seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The record written as `run.json` next to a run's CSV and plot.
#[derive(Clone, Debug, Serialize)]
pub struct RunRecord {
    /// Which experiment (`sweep`, `failures`, `batch`).
    pub experiment: String,
    /// Its parameters, as given.
    pub parameters: serde_json::Value,
    /// The machine.
    pub machine: Machine,
    /// Versions.
    pub versions: Versions,
    /// Git commit of the working directory.
    pub commit: Commit,
    /// Unix time the run started.
    pub started_unix: u64,
    /// Wall-clock duration, seconds.
    pub duration_s: f64,
    /// Files written, relative to the output directory.
    pub files: Vec<String>,
    /// The command line that made the run.
    pub command: Vec<String>,
    /// Why the numbers of this run should not be reported (too small to measure, ...).
    pub warnings: Vec<String>,
}
