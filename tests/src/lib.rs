//! End-to-end test worlds built with the real binaries (the harness itself is the workspace's
//! test kit, `escrow-testkit`, re-exported here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub use escrow_testkit::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A complete world, built with the real binaries as users would: authorities, investigators,
/// users, an n-of-k trustee set, a policy, sealed traffic, running trustee nodes, and an
/// approved warrant for `alice` covering the first week of November 2026.
pub struct Workflow {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub nodes: Vec<Node>,
    /// Number of messages in the mailbox that the warrant covers.
    pub in_scope: usize,
    /// Number of messages in the mailbox.
    pub total: usize,
}

impl Workflow {
    pub fn new(n: u16, k: u16, days: u32) -> Workflow {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        for name in [
            "sos",
            "jc",
            "inv",
            "inv2",
            "foreign-sos",
            "foreign-jc",
            "oversight",
            "alice",
            "bob",
            "carol",
        ] {
            ok(&escrow(&dir, &["keygen", "--no-passphrase", "--out", name]));
        }
        ok(&escrow(
            &dir,
            &setup_args(&n.to_string(), &k.to_string(), "ts"),
        ));
        ok(&escrow(
            &dir,
            &policy_init_args(&["--oversight", "oversight.pub"], "policy.json"),
        ));
        // Traffic: alice -> bob and bob -> carol every day from 2026-11-01.
        let (mut total, mut in_scope) = (0, 0);
        for day in 1..=days {
            for (from, to) in [("alice", "bob"), ("bob", "carol")] {
                let at = format!("2026-11-{day:02}T10:00:00Z");
                ok(&escrow_stdin(
                    &dir,
                    &[
                        "seal",
                        "--set",
                        "ts/trustee-set.json",
                        "--recipient-key",
                        &format!("{to}.pub"),
                        "--from",
                        from,
                        "--to",
                        to,
                        "--at",
                        &at,
                        "--id",
                        &format!("m{day:02}-{from}"),
                        "--mailbox",
                        "mailbox.jsonl",
                    ],
                    format!("day {day}: {from} to {to}").as_bytes(),
                ));
                total += 1;
                if from == "alice" && day < 8 {
                    in_scope += 1;
                }
            }
        }
        approved_warrant(&dir, "OP-TEST", "w.json");
        let mut nodes = Vec::new();
        for i in 1..=n {
            let state = init_node(&dir, i);
            nodes.push(Node::start(i, &state, &[]));
        }
        Workflow {
            tmp,
            dir,
            nodes,
            in_scope,
            total,
        }
    }

    /// Every node's URL (running or not).
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Node::url).collect()
    }

    /// `--trustee URL` arguments for every node (running or not).
    pub fn trustee_args(&self) -> Vec<String> {
        trustee_flags(&self.urls())
    }

    /// `escrow [--json] audit --set ts/trustee-set.json OPTS --trustee URL… EXTRA` over every
    /// node, in the world's folder.
    pub fn audit(&self, json: bool, opts: &[&str], extra: &[&str]) -> Output {
        audit_at(&self.dir, json, opts, &self.urls(), extra)
    }

    /// Stop every node and start it again serving HTTPS with `cert` and `key`; their URLs.
    pub fn serve_tls(&mut self, cert: &Path, key: &Path) -> Vec<String> {
        for n in self.nodes.iter_mut() {
            n.stop();
            let state = n.state.clone();
            *n = Node::start_tls(n.index, &state, cert, key);
        }
        self.urls()
    }

    /// `escrow retrieve` with `warrant`, `key`, into `out`, plus extra arguments.
    pub fn retrieve(&self, warrant: &str, key: &str, out: &str, extra: &[&str]) -> Output {
        let mut args: Vec<String> = vec![
            "--json".into(),
            "retrieve".into(),
            "--warrant".into(),
            warrant.into(),
        ];
        args.extend(
            [
                "--set",
                "ts/trustee-set.json",
                "--key",
                key,
                "--mailbox",
                "mailbox.jsonl",
                "--out",
                out,
            ]
            .map(String::from),
        );
        args.extend(self.trustee_args());
        args.extend(extra.iter().map(|s| s.to_string()));
        escrow_owned(&self.dir, &args)
    }
}

/// `escrow [--json] audit --set ts/trustee-set.json OPTS --trustee URL… EXTRA` in `dir`, asking
/// the trustees at `urls`.
pub fn audit_at(dir: &Path, json: bool, opts: &[&str], urls: &[String], extra: &[&str]) -> Output {
    let mut args: Vec<String> = Vec::new();
    if json {
        args.push("--json".into());
    }
    args.extend(["audit", "--set", SET].map(String::from));
    args.extend(opts.iter().map(|s| s.to_string()));
    args.extend(trustee_flags(urls));
    args.extend(extra.iter().map(|s| s.to_string()));
    escrow_owned(dir, &args)
}

/// `--policy policy.json --oversight-key oversight.key`: the auditor who may read the
/// oversight copies.
pub const POLICY_AND_OVERSIGHT: &[&str] = &[
    "--policy",
    "policy.json",
    "--oversight-key",
    "oversight.key",
];

/// Write `out` in `dir`: a warrant issued with `sos.key` for `target` over the first week of
/// November 2026, for the investigator `inv.pub`; not yet approved.
pub fn new_warrant(dir: &Path, case: &str, target: &str, out: &str) {
    ok(&escrow(
        dir,
        &warrant_new_args(
            "sos.key",
            case,
            target,
            ("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z"),
            "inv.pub",
            out,
        ),
    ));
}

/// The arguments of `escrow --json retrieve` of `w.json` under the set file `set` with
/// `inv.key`, the mailbox `mailbox.jsonl` into `out`, asking the trustees at `urls`, then
/// `extra` arguments.
pub fn retrieve_args(set: &str, out: &str, urls: &[String], extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--json",
        "retrieve",
        "--warrant",
        "w.json",
        "--set",
        set,
        "--key",
        "inv.key",
        "--mailbox",
        "mailbox.jsonl",
        "--out",
        out,
    ]
    .map(String::from)
    .to_vec();
    args.extend(trustee_flags(urls));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// `escrow --json retrieve` in `dir` with [`retrieve_args`].
pub fn retrieve_w(dir: &Path, set: &str, out: &str, urls: &[String], extra: &[&str]) -> Output {
    escrow_owned(dir, &retrieve_args(set, out, urls, extra))
}

/// [`new_warrant`] for `alice`, approved with `jc.key`: the double lock complete.
pub fn approved_warrant(dir: &Path, case: &str, out: &str) {
    new_warrant(dir, case, "alice", out);
    ok(&escrow(
        dir,
        &["warrant", "approve", "--key", "jc.key", out],
    ));
}
