//! Issue 12, the workspace's layout: the node's database is written only by `trustee-node`
//! (`Db`); no other crate carries SQLite or SQL that writes the node's tables.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The `[dependencies]` section of a manifest (not dev-dependencies: tests may open a node's
/// database to damage it on purpose).
fn normal_dependencies(manifest: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in manifest.lines() {
        if line.starts_with('[') {
            inside = line.trim() == "[dependencies]";
        } else if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn only_the_node_writes_its_database() {
    let root = root();
    let crates = [
        "escrow-core",
        "escrow-client",
        "warrant-cli",
        "lab",
        "research",
        "testkit",
        "tests",
        "log-witness",
    ];
    let tables = ["log_entries", "releases", "tree_heads"];
    for c in crates {
        let manifest = std::fs::read_to_string(root.join(c).join("Cargo.toml")).unwrap();
        if c != "log-witness" {
            assert!(
                !normal_dependencies(&manifest).contains("rusqlite"),
                "{c} depends on rusqlite"
            );
        }
        let mut files = Vec::new();
        rust_files(&root.join(c).join("src"), &mut files);
        assert!(!files.is_empty(), "{c}: no sources found");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for t in tables {
                assert!(
                    !text.contains(&format!("INSERT INTO {t}")),
                    "{} writes the node's table {t}",
                    f.display()
                );
            }
        }
    }
}

/// Issue 12: no test hook in the core API. Fault injection is a setting of the node library
/// (`trustee_node::fault`), built from public core functions; no function of `escrow-core`
/// takes a fault-injection flag.
#[test]
fn the_core_has_no_fault_injection_hook() {
    let mut files = Vec::new();
    rust_files(&root().join("escrow-core").join("src"), &mut files);
    assert!(!files.is_empty());
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for needle in ["tamper: bool", "FAULT INJECTION", "fault-injection hook"] {
            assert!(
                !text.contains(needle),
                "{} carries a fault-injection hook ({needle})",
                f.display()
            );
        }
    }
}
