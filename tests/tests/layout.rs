//! Issue 12, the workspace's layout: the node's database is written only by `trustee-node`
//! (`Db`); no other crate carries SQLite or SQL that writes the node's tables; no crate's
//! modules import each other in a circle; every serialized public enum of the core and the client
//! is `#[non_exhaustive]`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
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
    let tables = ["log_entries", "releases", "tree_heads"];
    for c in WORKSPACE_CRATES
        .into_iter()
        .filter(|c| *c != "trustee-node")
    {
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

/// A crate's module path from a source file's path under `src/` (`lib.rs`, `main.rs`: the
/// root, empty; `a/mod.rs` and `a.rs`: `a`; `a/b.rs`: `a::b`).
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    parts
}

/// The code of a file without comment lines and without its test module (from
/// `#[cfg(test)]` before `mod …` to the end: test code may import what it likes).
fn code_of(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let t = l.trim_start();
        if t.starts_with("#[cfg(test)]")
            && lines.peek().is_some_and(|n| {
                let n = n.trim_start();
                n.starts_with("mod ") || n.starts_with("pub mod ") || n.starts_with("#[allow")
            })
        {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path a file names through `crate::`, `super::` or `self::`, relative paths resolved
/// against the file's module `me` (groups `a::{b, c::d}` expanded), as segments from the
/// crate root.
fn paths_named(code: &str, me: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        let rest = &code[i..];
        let start_ok = i == 0 || (!is_ident(b[i - 1] as char) && b[i - 1] != b':');
        let base: Option<(Vec<String>, usize)> = if !start_ok {
            None
        } else if rest.starts_with("crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if rest.starts_with("super::") || rest.starts_with("self::") {
            let mut base = me.to_vec();
            let mut n = 0;
            loop {
                if code[i + n..].starts_with("super::") {
                    base.pop();
                    n += "super::".len();
                } else if code[i + n..].starts_with("self::") {
                    n += "self::".len();
                } else {
                    break;
                }
            }
            Some((base, n))
        } else {
            None
        };
        match base {
            Some((base, n)) => {
                let (paths, used) = parse_tree(&code[i + n..]);
                for p in paths {
                    let mut full = base.clone();
                    full.extend(p);
                    out.push(full);
                }
                i += n + used.max(1);
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    out
}

/// A use tree at the start of `s`: `a::b::c`, `a::{b, c::{d, e}}`; its paths and the bytes
/// read.
fn parse_tree(s: &str) -> (Vec<Vec<String>>, usize) {
    let mut segs = Vec::new();
    let mut i = 0;
    loop {
        if s[i..].starts_with('{') {
            let mut paths = Vec::new();
            i += 1;
            loop {
                let skip = s[i..].len() - s[i..].trim_start().len();
                i += skip;
                if s[i..].starts_with('}') {
                    i += 1;
                    break;
                }
                if i >= s.len() {
                    break;
                }
                let (sub, used) = parse_tree(&s[i..]);
                for p in sub {
                    let mut full: Vec<String> = segs.clone();
                    full.extend(p);
                    paths.push(full);
                }
                i += used.max(1);
                let skip = s[i..].len() - s[i..].trim_start().len();
                i += skip;
                if s[i..].starts_with(',') {
                    i += 1;
                }
            }
            return (paths, i);
        }
        let len = s[i..].find(|c: char| !is_ident(c)).unwrap_or(s.len() - i);
        if len == 0 {
            return (vec![segs], i);
        }
        segs.push(s[i..i + len].to_string());
        i += len;
        if s[i..].starts_with("::") {
            i += 2;
        } else {
            return (vec![segs], i);
        }
    }
}

/// The import edges between sibling modules of one crate: `a → b` when code in `a` (or
/// below it) names something in `b` (or below it), `a` and `b` children of the same module.
/// A module naming its own ancestors or descendants is structure (declaring and re-exporting
/// children, using the parent's items), not an edge. `files`: (module path, code).
fn sibling_edges(files: &[(Vec<String>, String)]) -> BTreeSet<(String, String)> {
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut edges = BTreeSet::new();
    for (me, code) in files {
        for p in paths_named(code, me) {
            // The longest prefix that is a module.
            let target = (0..=p.len())
                .rev()
                .map(|n| p[..n].to_vec())
                .find(|m| modules.contains(m))
                .unwrap_or_default();
            let common = me.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == me.len() || common == target.len() {
                continue;
            }
            let parent = me[..common].join("::");
            let name = |m: &[String]| {
                if parent.is_empty() {
                    m[common].clone()
                } else {
                    format!("{parent}::{}", m[common])
                }
            };
            edges.insert((name(me), name(&target)));
        }
    }
    edges
}

/// The strongly connected components of more than one node: the cycles.
#[allow(clippy::needless_range_loop)]
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<BTreeSet<String>> {
    let nodes: Vec<&String> = edges
        .iter()
        .flat_map(|(a, b)| [a, b])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let idx = |s: &String| nodes.iter().position(|n| *n == s).unwrap();
    let n = nodes.len();
    let mut reach = vec![vec![false; n]; n];
    for (a, b) in edges {
        reach[idx(a)][idx(b)] = true;
    }
    for k in 0..n {
        for i in 0..n {
            for j in 0..n {
                if reach[i][k] && reach[k][j] {
                    reach[i][j] = true;
                }
            }
        }
    }
    let mut out: Vec<BTreeSet<String>> = Vec::new();
    for i in 0..n {
        let scc: BTreeSet<String> = (0..n)
            .filter(|&j| j == i || reach[i][j] && reach[j][i])
            .map(|j| nodes[j].clone())
            .collect();
        if scc.len() > 1 && !out.contains(&scc) {
            out.push(scc);
        }
    }
    out
}

/// Every module of a crate's `src/` with its code.
fn crate_modules(src: &Path) -> Vec<(Vec<String>, String)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files
        .iter()
        .filter(|f| !f.strip_prefix(src).unwrap().starts_with("bin"))
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            (module_of(f.strip_prefix(src).unwrap()), code_of(&text))
        })
        .collect()
}

/// Every crate of the workspace with sources (the fuzz targets are a workspace of their own).
const WORKSPACE_CRATES: [&str; 9] = [
    "escrow-core",
    "escrow-client",
    "warrant-cli",
    "lab",
    "research",
    "testkit",
    "tests",
    "trustee-node",
    "log-witness",
];

/// Issue 12: no crate's modules import each other in a circle (a strongly connected component
/// of more than one module among siblings), in any crate of the workspace. Break a cycle by
/// moving the shared item down to the module it belongs to (`docs/architecture.md` §1).
#[test]
fn no_crate_has_an_import_cycle() {
    let root = root();
    let mut found = Vec::new();
    for c in WORKSPACE_CRATES {
        let modules = crate_modules(&root.join(c).join("src"));
        assert!(!modules.is_empty(), "{c}: no sources");
        for cycle in cycles(&sibling_edges(&modules)) {
            found.push((c, cycle));
        }
    }
    assert!(found.is_empty(), "import cycles (break them): {found:#?}");
}

/// The detector finds a cycle when there is one (and none in a tree of imports).
#[test]
fn the_cycle_detector_sees_a_synthetic_cycle() {
    let m = |p: &str| -> Vec<String> {
        if p.is_empty() {
            vec![]
        } else {
            p.split("::").map(String::from).collect()
        }
    };
    let files = |list: &[(&str, &str)]| -> Vec<(Vec<String>, String)> {
        list.iter().map(|(p, c)| (m(p), code_of(c))).collect()
    };
    // demo → experiment → demo, through a grouped import and a `super::` path.
    let bad = files(&[
        ("", "mod demo; mod experiment; mod out;"),
        ("demo", "use crate::{out::Out, experiment::run};"),
        ("experiment", "fn f() { super::demo::story(); }"),
        ("out", "pub struct Out;"),
        ("audit", ""),
        ("audit::judge", "use super::report::Report;"),
        (
            "audit::report",
            "use crate::audit::judge::Finding;\n// crate::demo in a comment\n",
        ),
    ]);
    let c = cycles(&sibling_edges(&bad));
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(
        c.iter()
            .any(|s| s.contains("demo") && s.contains("experiment")),
        "{c:?}"
    );
    assert!(
        c.iter()
            .any(|s| s.contains("audit::judge") && s.contains("audit::report")),
        "{c:?}"
    );
    // Parents re-exporting children, children using parents, a test module importing
    // anything, and one-way imports: no cycle.
    let good = files(&[
        ("", "pub use demo::Demo; mod demo; mod out;"),
        (
            "demo",
            "use crate::out::Out; use super::Demo;\n#[cfg(test)]\nmod tests { use crate::demo; }",
        ),
        ("out", "#[cfg(test)]\nmod tests { use crate::demo::Demo; }"),
        ("audit", "pub use judge::Judge;"),
        ("audit::judge", "use super::Thing; use crate::out::Out;"),
    ]);
    assert!(cycles(&sibling_edges(&good)).is_empty());
}

/// The serialized public enums that may stay exhaustive (a variant added to one would be a
/// format change that every reader must handle, so matching it exhaustively is the point).
/// Each entry: (crate folder, enum name) and why, in a comment. None today.
const EXHAUSTIVE_WIRE_ENUMS: [(&str, &str); 0] = [];

/// Every `pub enum` of `text` whose attributes derive `Serialize` or `Deserialize`, with
/// whether it is `#[non_exhaustive]`: (name, line, non-exhaustive).
fn serialized_enums(text: &str) -> Vec<(String, usize, bool)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.trim_start().strip_prefix("pub enum ") else {
            continue;
        };
        let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
        // The attributes and doc comments right above it (an attribute may span lines).
        let mut above: Vec<&str> = Vec::new();
        for a in lines[..i].iter().rev().map(|a| a.trim()) {
            if a.is_empty() || a.ends_with('}') || a.ends_with(';') || a.ends_with('{') {
                break;
            }
            if !a.starts_with("//") {
                above.push(a);
            }
        }
        above.reverse();
        let attrs = above.join(" ");
        let derives = attrs.split("derive(").skip(1).any(|d| {
            let list = d.split(')').next().unwrap_or("");
            list.split(',')
                .map(|s| s.trim().rsplit("::").next().unwrap_or(""))
                .any(|s| s == "Serialize" || s == "Deserialize")
        });
        if derives {
            out.push((name, i + 1, attrs.contains("#[non_exhaustive]")));
        }
    }
    out
}

/// Issue 12: every public enum of `escrow-core` and `escrow-client` that is serialized (derives
/// `Serialize` or `Deserialize`: it crosses the wire or lands in a file or a report) is
/// `#[non_exhaustive]`, so a later variant is not a breaking change for the crates that match on
/// it, and their matches carry an arm for variants they do not know.
#[test]
fn every_serialized_public_enum_is_non_exhaustive() {
    let root = root();
    let mut missing = Vec::new();
    let mut seen = 0;
    for c in ["escrow-core", "escrow-client"] {
        let mut files = Vec::new();
        rust_files(&root.join(c).join("src"), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (name, line, non_exhaustive) in serialized_enums(&text) {
                seen += 1;
                if !non_exhaustive && !EXHAUSTIVE_WIRE_ENUMS.contains(&(c, name.as_str())) {
                    missing.push(format!("{}:{line} {name}", f.display()));
                }
            }
        }
    }
    assert!(
        seen > 10,
        "the scan found only {seen} serialized enums: is it broken?"
    );
    assert!(
        missing.is_empty(),
        "serialized public enums without #[non_exhaustive]: {missing:#?}"
    );
}

/// The scan sees derives over several lines and through paths, and tells the attribute apart.
#[test]
fn the_enum_scan_sees_a_serialized_exhaustive_enum() {
    let text = "use serde::Serialize;\n\n/// Doc.\n#[derive(\n    Clone,\n    serde::Deserialize,\n)]\n#[serde(rename_all = \"kebab-case\")]\npub enum A {\n    X,\n}\n\n#[derive(Clone, Serialize)]\n#[non_exhaustive]\npub enum B {\n    Y,\n}\n\n#[derive(Clone, Debug)]\npub enum C {\n    Z,\n}\n";
    assert_eq!(
        serialized_enums(text),
        vec![("A".to_string(), 9, false), ("B".to_string(), 15, true)]
    );
}
