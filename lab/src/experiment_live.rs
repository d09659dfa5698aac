//! `escrow experiment e2e` and `escrow experiment audit-log`: measurements on real
//! `trustee-node` processes on 127.0.0.1 (port 0), with the same code paths a user runs.
//!
//! * `e2e`: n nodes, a double-locked warrant per message count, `escrow retrieve`'s code
//!   (`escrow retrieve`, through the caller's `Roles`) asking every node in parallel over HTTP, verifying, combining and
//!   decrypting; time per phase, bytes on the wire, log growth per release; then the auditor
//!   over every node's log.
//! * `audit-log`: one node's log grown to 10^5 or 10^6 entries, and the auditor (`escrow
//!   audit --json`, a child process) timed over it, with its peak memory.

use crate::args::{AuditLogArgs, E2eArgs};
use crate::experiment::{finish, live_counts};
use crate::files::{self, SET_FILE};
use crate::nodes::{Env, NodeProc, find_node_bin};
use crate::out::{Out, progress};
use crate::parties::{double_lock_policy, node, payload, save_key, sign, write_set};
use crate::roles::{Ask, AuditRequest, Net, Retrieved, Roles};
use anyhow::{Context, Result, bail, ensure};
use escrow_core::audit::{EntryKind, LogEntry};
use escrow_core::codec::Digest32;
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, TrusteeSet};
use escrow_core::v2::{MailboxMessage, seal_v2};
use escrow_core::warrant::Window;
use escrow_research::experiment::{self, RunOutput};
use escrow_research::plot::{Chart, Scale, Series, Target};
use rand::RngExt as _;
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::files::DAY;

/// The parties and the nodes of one run.
pub(crate) struct Lab {
    pub(crate) env: Env,
    pub(crate) set: TrusteeSet,
    sos: PrivateKey,
    jc: PrivateKey,
    pub(crate) inv: PrivateKey,
    recipient: PrivateKey,
    pub(crate) oversight: PrivateKey,
    pub(crate) nodes: Vec<NodeProc>,
}

impl Lab {
    pub(crate) fn new(
        work: &Path,
        n: u16,
        k: u16,
        node_bin: Option<&Path>,
        kdf: &str,
    ) -> Result<Self> {
        let node_bin = find_node_bin(node_bin)?;
        let mut rng = rand::rng();
        files::private_dir(work)?;
        let dealing = trustee::deal(u64::from(n), u64::from(k), &mut rng)?;
        write_set(work, &dealing.set, &dealing.secrets)?;
        let sos = PrivateKey::generate(&mut rng);
        let jc = PrivateKey::generate(&mut rng);
        let inv = PrivateKey::generate(&mut rng);
        let recipient = PrivateKey::generate(&mut rng);
        let oversight = PrivateKey::generate(&mut rng);
        for (name, key) in [
            ("sos", &sos),
            ("jc", &jc),
            ("investigator", &inv),
            ("oversight", &oversight),
        ] {
            save_key(work, name, key)?;
        }
        let policy = double_lock_policy(&sos, &jc, &oversight)?;
        files::public(
            &work.join("policy.json"),
            policy.to_json_pretty().as_bytes(),
        )?;
        let env = Env {
            node_bin,
            dir: work.to_path_buf(),
            passphrase: hex::encode(rng.random::<[u8; 16]>()),
            kdf: kdf.to_string(),
            tls: None,
        };
        Ok(Lab {
            env,
            set: dealing.set,
            sos,
            jc,
            inv,
            recipient,
            oversight,
            nodes: Vec::new(),
        })
    }

    /// Before the nodes are initialised: `n` witnesses in the work folder and the policy
    /// rewritten with them, quorum [`witness_quorum`], the first one auditing (and required)
    /// if `auditing`. Serve them with [`crate::witnesses::Pending::serve`] once the nodes run.
    pub(crate) fn witnessed(
        &self,
        n: u16,
        auditing: bool,
    ) -> Result<(crate::witnesses::Pending, escrow_core::warrant::Policy)> {
        self.witnessed_via(n, auditing, |addrs| {
            Ok(addrs.iter().map(|a| format!("http://{a}")).collect())
        })
    }

    /// [`Lab::witnessed`], the policy naming each witness by the URL `via` gives for its
    /// listening address (a delay line in front of it: `escrow experiment wan`).
    pub(crate) fn witnessed_via(
        &self,
        n: u16,
        auditing: bool,
        via: impl FnOnce(&[std::net::SocketAddr]) -> Result<Vec<String>>,
    ) -> Result<(crate::witnesses::Pending, escrow_core::warrant::Policy)> {
        let names: Vec<(String, bool)> = (1..=n)
            .map(|i| (format!("witness.example/w{i}"), auditing && i == 1))
            .collect();
        let pending = crate::witnesses::prepare(&self.env.dir, &names)?;
        let urls = via(&pending.addrs()?)?;
        let pending = pending.reached_at(urls);
        let plain = double_lock_policy(&self.sos, &self.jc, &self.oversight)?;
        let policy = pending.policy(plain, witness_quorum(n))?;
        files::public(
            &self.env.dir.join("policy.json"),
            policy.to_json_pretty().as_bytes(),
        )?;
        Ok((pending, policy))
    }

    pub(crate) fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|x| x.running())
            .map(|x| x.url())
            .collect()
    }

    /// Midnight (UTC) 14 days ago: where the traffic's week starts.
    pub(crate) fn window_start() -> Timestamp {
        Timestamp::from_unix((files::now().unix() / DAY - 14) * DAY)
    }

    /// Initialise and serve trustees 1..=n, each in network namespace `spaces` gives it (its
    /// own address there) or on 127.0.0.1; the wall time it took.
    pub(crate) fn start_nodes(&mut self, spaces: Option<&crate::netns::Namespaces>) -> Result<f64> {
        let t0 = Instant::now();
        for i in 1..=self.set.trustees() {
            self.env.init(i)?;
            let node = match spaces {
                Some(s) => self
                    .env
                    .serve_in(i, s.name(i), s.addr(i).unwrap_or("127.0.0.1"))?,
                None => self.env.serve(i)?,
            };
            self.nodes.push(node);
        }
        Ok(t0.elapsed().as_secs_f64())
    }

    /// The folder of one row's decrypted files: `row` in the lab's folder, or, with
    /// `plaintexts`, in that folder under a name made of `experiment`, this process and the
    /// lab, so that runs side by side do not meet.
    pub(crate) fn row_dir(
        &self,
        plaintexts: Option<&Path>,
        experiment: &str,
        row: &str,
    ) -> PathBuf {
        match plaintexts {
            Some(p) => p.join(format!(
                "{experiment}-{}-{}-{row}",
                std::process::id(),
                self.env
                    .dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )),
            None => self.env.dir.join(row),
        }
    }

    /// `escrow retrieve`'s code over `msgs` under `env` from `urls`, timed (seconds); an
    /// error unless every message was read. The plaintexts go to `out_dir`, removed after.
    pub(crate) fn retrieve_every(
        &self,
        roles: &dyn Roles,
        env: &escrow_core::warrant::WarrantEnvelope,
        msgs: &[MailboxMessage],
        urls: &[String],
        (batch, ask): (usize, Ask),
        out_dir: &Path,
    ) -> Result<(Retrieved, f64)> {
        files::private_dir(out_dir)?;
        let net = Net {
            batch,
            timeout: 600,
            attempts: 1,
            ask,
        };
        let t0 = Instant::now();
        let r = roles.retrieve(&self.set, env, &self.inv, msgs, urls, &net, out_dir)?;
        let retrieve_s = t0.elapsed().as_secs_f64();
        let (decrypted, m) = (r.decrypted(), msgs.len());
        ensure!(
            decrypted == m,
            "only {decrypted} of {m} messages decrypted; trustees: {}",
            serde_json::Value::from(r.trustees.clone())
        );
        // The plaintexts are not needed any more.
        let _ = std::fs::remove_dir_all(out_dir);
        Ok((r, retrieve_s))
    }

    /// `count` messages from alice to `target` within `[start, start + 7 days)`, sealed on
    /// every core, in format version 2 (version 1 with `v1`). Returns them and the wall time.
    pub(crate) fn traffic(
        &self,
        target: &str,
        count: usize,
        start: Timestamp,
        v1: bool,
    ) -> Result<(Vec<MailboxMessage>, f64)> {
        let t0 = Instant::now();
        let rk = self.recipient.public();
        let step = (7 * DAY / count.max(1) as i64).max(1);
        let msgs = (0..count)
            .into_par_iter()
            .map(|j| {
                let at = start.plus((j as i64 * step).min(7 * DAY - 1));
                let label = Label::new("alice", target, at, &format!("{target}-m{j:06}"))?;
                let body = format!("message {j} from alice to {target}");
                let mut rng = rand::rng();
                Ok(if v1 {
                    MailboxMessage::V1(message::seal(
                        &self.set,
                        &rk,
                        &label,
                        body.as_bytes(),
                        &mut rng,
                    )?)
                } else {
                    MailboxMessage::V2(seal_v2(&self.set, &rk, &label, body.as_bytes(), &mut rng)?)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((msgs, t0.elapsed().as_secs_f64()))
    }

    /// A warrant for `target` over `[start, start + 7 days)`, issued and approved.
    pub(crate) fn warrant(
        &self,
        id: &str,
        target: &str,
        start: Timestamp,
    ) -> Result<escrow_core::warrant::WarrantEnvelope> {
        let now = files::now();
        let p = payload(
            id,
            &[target],
            Window {
                from: start,
                until: start.plus(7 * DAY),
            },
            &self.inv,
            now.plus(-3600),
            now.plus(30 * DAY),
            None,
        );
        sign(&p, &self.sos, Some(&self.jc))
    }
}

/// The witness quorum of `escrow experiment e2e --witnesses N`: a majority, N/2 + 1.
pub(crate) fn witness_quorum(n: u16) -> u16 {
    n / 2 + 1
}

pub(crate) fn stop_all(nodes: &mut [NodeProc]) {
    for x in nodes.iter_mut() {
        x.stop();
    }
}

/// Bytes of a node's SQLite database (main file and write-ahead log).
fn db_bytes(state: &Path) -> u64 {
    ["log.db", "log.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(state.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

fn tree_size(url: &str) -> Result<u64> {
    Ok(node(url)?.head()?.size)
}

#[derive(Debug, Clone, Serialize)]
pub struct E2eRow {
    pub n: u16,
    pub k: u16,
    pub ask: Ask,
    pub messages: usize,
    pub batch: usize,
    pub decrypted: usize,
    /// Sealing the messages (every core, in this process).
    pub seal_s: f64,
    /// The retrieval, end to end (`escrow retrieve`'s code after the mailbox is read).
    pub retrieve_s: f64,
    pub ask_s: f64,
    pub combine_s: f64,
    pub messages_per_s: f64,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub wire_bytes_per_message: f64,
    /// Log entries added per node (mean).
    pub log_entries_per_node: f64,
    /// Database growth per log entry (mean over nodes; SQLite file + WAL).
    pub db_bytes_per_entry: f64,
    /// Release protocol version of the messages and the exchange (1 or 2).
    pub version: u8,
    /// Wire bytes (requests and answers) per message per trustee asked: k with `threshold`
    /// (when the first k answered everything), n with `all`.
    pub wire_bytes_per_message_per_trustee: f64,
    /// Peak resident set (kB, VmHWM) of each node process after this row (a process's peak so
    /// far: the last row holds the run's peak).
    pub node_peak_rss_kb: Vec<u64>,
    /// Peak resident set (kB) of this process (the investigator, and the sealing) after this
    /// row (VmHWM of /proc/self/status, what getrusage's ru_maxrss reports on Linux).
    pub investigator_peak_rss_kb: Option<u64>,
    /// This process's resident set (kB, VmRSS) just before the retrieval: the experiment's
    /// driver with the sealed mailbox it made, which `escrow retrieve` would not hold.
    pub driver_rss_kb: Option<u64>,
    /// The retrieval's own peak (kB): this process's peak resident set during the retrieval
    /// (VmHWM, reset just before it through /proc/self/clear_refs) minus `driver_rss_kb`.
    pub retrieval_peak_rss_kb: Option<u64>,
    /// Witnesses of the nodes' release gate (0: no gate).
    pub witnesses: u16,
    /// One of them is an auditing witness, required by the policy.
    pub auditing_witness: bool,
    /// Release requests per trustee asked (messages / batch, rounded up).
    pub batches: usize,
    /// Of `combine_s`: writing the plaintext files and the receipts.
    pub write_s: f64,
    /// CPU seconds (user + system, /proc/PID/stat) each node process spent during the
    /// retrieval: unlike wall time, hardly changed by other load on the machine.
    pub node_cpu_s: Vec<f64>,
    /// CPU seconds this process (the investigator) spent during the retrieval.
    pub investigator_cpu_s: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub trustees: usize,
    pub entries: u64,
    pub audit_s: f64,
    pub entries_per_s: f64,
    pub findings: usize,
    /// Peak resident memory of the auditor (kB), where measured (child process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_kb: Option<u64>,
    /// Bytes of the node's database for this log (audit-log experiment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_bytes: Option<u64>,
    /// Canonical bytes of one release entry (audit-log experiment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_entry_bytes: Option<usize>,
    /// Bytes the auditor's `--json` report took (audit-log experiment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_bytes: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
struct E2eParams {
    n: u16,
    k: u16,
    version: u8,
    ask: Vec<Ask>,
    messages: Vec<usize>,
    batch: usize,
    kdf_cost: String,
    node_start_s: f64,
    witnesses: u16,
    witness_quorum: Option<u16>,
    auditing_witness: bool,
}

pub const E2E_COLUMNS: &[&str] = &[
    "n",
    "k",
    "ask",
    "messages",
    "batch",
    "decrypted",
    "seal_s",
    "retrieve_s",
    "ask_s",
    "combine_s",
    "messages_per_s",
    "request_bytes",
    "response_bytes",
    "wire_bytes_per_message",
    "log_entries_per_node",
    "db_bytes_per_entry",
    "version",
    "wire_bytes_per_message_per_trustee",
    "node_peak_rss_kb_max",
    "investigator_peak_rss_kb",
    "witnesses",
    "auditing_witness",
    "batches",
    "driver_rss_kb",
    "retrieval_peak_rss_kb",
    "write_s",
    "node_cpu_s",
    "investigator_cpu_s",
];

fn e2e_csv(rows: &[E2eRow]) -> Vec<Vec<String>> {
    let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    rows.iter()
        .map(|r| {
            vec![
                r.n.to_string(),
                r.k.to_string(),
                r.ask.name().to_string(),
                r.messages.to_string(),
                r.batch.to_string(),
                r.decrypted.to_string(),
                format!("{:.4}", r.seal_s),
                format!("{:.4}", r.retrieve_s),
                format!("{:.4}", r.ask_s),
                format!("{:.4}", r.combine_s),
                format!("{:.1}", r.messages_per_s),
                r.request_bytes.to_string(),
                r.response_bytes.to_string(),
                format!("{:.1}", r.wire_bytes_per_message),
                format!("{:.1}", r.log_entries_per_node),
                format!("{:.1}", r.db_bytes_per_entry),
                r.version.to_string(),
                format!("{:.1}", r.wire_bytes_per_message_per_trustee),
                r.node_peak_rss_kb
                    .iter()
                    .max()
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                r.investigator_peak_rss_kb
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                r.witnesses.to_string(),
                r.auditing_witness.to_string(),
                r.batches.to_string(),
                opt(r.driver_rss_kb),
                opt(r.retrieval_peak_rss_kb),
                format!("{:.4}", r.write_s),
                r.node_cpu_s
                    .iter()
                    .map(|v| format!("{v:.3}"))
                    .collect::<Vec<_>>()
                    .join("/"),
                r.investigator_cpu_s
                    .map(|v| format!("{v:.3}"))
                    .unwrap_or_default(),
            ]
        })
        .collect()
}

fn e2e_charts(rows: &[E2eRow]) -> Vec<(String, Chart<'static>)> {
    // One series per strategy and gate (and phase): `all` and `threshold` are separate
    // retrievals, with witnesses on nodes of their own.
    let mut asks: Vec<(Ask, u16)> = Vec::new();
    for r in rows {
        if !asks.contains(&(r.ask, r.witnesses)) {
            asks.push((r.ask, r.witnesses));
        }
    }
    let per_ask = |name: &str, f: &dyn Fn(&E2eRow) -> f64| -> Vec<Series> {
        asks.iter()
            .map(|&(ask, w)| {
                let gate = if w > 0 {
                    format!(", {w} witnesses")
                } else {
                    String::new()
                };
                Series::line(
                    format!("{}{gate}: {name}", ask.name()),
                    rows.iter()
                        .filter(|r| r.ask == ask && r.witnesses == w)
                        .map(|r| (r.messages as f64, f(r)))
                        .collect(),
                )
            })
            .collect()
    };
    let mut time = per_ask("retrieval, total", &|r| r.retrieve_s);
    time.extend(per_ask("asking the trustees", &|r| r.ask_s));
    time.extend(per_ask("verify, combine, decrypt", &|r| r.combine_s));
    vec![
        (
            "e2e-time.svg".into(),
            Chart {
                title: "Warrant retrieval on loopback nodes: time by messages covered",
                x_label: "messages covered by the warrant",
                y_label: "seconds",
                x: Scale::LogCount,
                y: Scale::Log,
                series: time,
                // The target is for a 10,000-message warrant: drawn only when one was run.
                targets: vec![Target {
                    name: "target: 10 s for 10,000".into(),
                    y: 10.0,
                    applies_at: Some(10_000.0),
                }],
            },
        ),
        (
            "e2e-bytes.svg".into(),
            Chart {
                title: "Bytes on the wire per message retrieved",
                x_label: "messages covered by the warrant",
                y_label: "bytes per message (requests + answers, all trustees)",
                x: Scale::LogCount,
                y: Scale::Linear,
                series: per_ask("wire bytes / message", &|r| r.wire_bytes_per_message),
                targets: Vec::new(),
            },
        ),
    ]
}

/// The run's folder (refused if it holds a run or a `work` folder), created.
pub(crate) fn out_dir(given: Option<PathBuf>, verb: &str) -> Result<PathBuf> {
    let dir = crate::experiment::out_dir(given, verb)?;
    if dir.join("work").exists() {
        bail!(
            "{} already exists; choose another --out",
            dir.join("work").display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Run the auditor in this process over `urls`; (seconds, entries, findings).
fn audit_in_process(
    roles: &dyn Roles,
    work: &Path,
    urls: Vec<String>,
) -> Result<(f64, u64, usize)> {
    let req = AuditRequest {
        set: work.join(SET_FILE),
        trustees: urls,
        policy: work.join("policy.json"),
        oversight_key: Some(work.join("oversight.key")),
        state: None,
        receipts: Vec::new(),
        timeout: 600,
        keygen_certificate: None,
    };
    let t0 = Instant::now();
    let report = roles.audit(&req)?;
    let s = t0.elapsed().as_secs_f64();
    Ok((s, report.entries, report.findings))
}

pub fn e2e(a: E2eArgs, roles: &dyn Roles, out: Out) -> Result<()> {
    let (n, k) = experiment::check_pair(a.n, a.k)?;
    let counts = live_counts(&a.messages, a.batch)?;
    ensure!(
        counts.iter().sum::<usize>() <= 200_000,
        "at most 200000 messages in all per run"
    );
    let dir = out_dir(a.out.clone(), "e2e")?;
    let start = experiment::start();
    // Without witnesses; then, with --witnesses, the same rows on nodes of their own under a
    // release gate.
    let (mut rows, audit, node_start_s) = e2e_lab(&a, roles, &dir.join("work"), n, k, &counts, 0)?;
    let mut audit_witnessed = None;
    if a.witnesses > 0 {
        let work = dir.join("work-witnessed");
        let (more, audit, _) = e2e_lab(&a, roles, &work, n, k, &counts, a.witnesses)?;
        rows.extend(more);
        audit_witnessed = audit;
    }

    let mut text = String::new();
    let _ = writeln!(
        text,
        "e2e: {k}-of-{n} trustee nodes on 127.0.0.1, {} cores ({}); release protocol version {}; one double-locked warrant per row, every share verified",
        start.machine.cores,
        start.machine.cpu_model,
        if a.v1 { 1 } else { 2 }
    );
    let _ = writeln!(
        text,
        "{:>4} {:>9} {:>8} {:>10} {:>9} {:>9} {:>8} {:>10} {:>11} {:>13} {:>12} {:>12} {:>13} {:>9} {:>12} {:>9}",
        "wit",
        "ask",
        "messages",
        "retrieve s",
        "ask s",
        "combine s",
        "write s",
        "msgs/s",
        "wire B/msg",
        "B/msg/trustee",
        "log entries",
        "db B/entry",
        "node RSS MB",
        "inv RSS MB",
        "retrieval MB",
        "CPU s"
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "{:>4} {:>9} {:>8} {:>10.3} {:>9.3} {:>9.3} {:>8.3} {:>10.0} {:>11.0} {:>13.0} {:>12.0} {:>12.0} {:>13} {:>9} {:>12} {:>9}",
            r.witnesses,
            r.ask.name(),
            r.messages,
            r.retrieve_s,
            r.ask_s,
            r.combine_s,
            r.write_s,
            r.messages_per_s,
            r.wire_bytes_per_message,
            r.wire_bytes_per_message_per_trustee,
            r.log_entries_per_node,
            r.db_bytes_per_entry,
            r.node_peak_rss_kb
                .iter()
                .map(|v| format!("{:.0}", *v as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join("/"),
            r.investigator_peak_rss_kb
                .map(|v| format!("{:.0}", v as f64 / 1024.0))
                .unwrap_or_default(),
            r.retrieval_peak_rss_kb
                .map(|v| format!("{:.0}", v as f64 / 1024.0))
                .unwrap_or_default(),
            cpu_total(r).map(|v| format!("{v:.2}")).unwrap_or_default()
        );
    }
    if let Some(a) = &audit {
        let _ = writeln!(
            text,
            "auditor over all {} logs: {} entries in {:.2} s ({:.0} entries/s), {} finding(s)",
            a.trustees, a.entries, a.audit_s, a.entries_per_s, a.findings
        );
    }
    text.push_str(&witness_cost(&rows, a.witnesses, a.auditing_witness));
    let params = E2eParams {
        n,
        k,
        version: if a.v1 { 1 } else { 2 },
        ask: a.ask.clone(),
        messages: counts,
        batch: a.batch,
        kdf_cost: a.kdf_cost.clone(),
        node_start_s,
        witnesses: a.witnesses,
        witness_quorum: (a.witnesses > 0).then(|| witness_quorum(a.witnesses)),
        auditing_witness: a.auditing_witness,
    };
    let run = RunOutput {
        experiment: "e2e",
        parameters: serde_json::to_value(&params)?,
        csv: ("e2e.csv", E2E_COLUMNS, e2e_csv(&rows)),
        charts: e2e_charts(&rows),
        start,
        results: serde_json::json!({"rows": rows, "audit": audit, "audit_witnessed": audit_witnessed}),
        warnings: experiment::too_small(
            params.messages.iter().copied().min().unwrap_or(0),
            "messages",
        )
        .into_iter()
        .collect(),
    };
    finish(out, &dir, run, text)
}

/// One lab of `escrow experiment e2e` in `work`: n nodes, under a release gate of `witnesses`
/// witnesses if not 0; its rows, its audit, and the nodes' start time.
fn e2e_lab(
    a: &E2eArgs,
    roles: &dyn Roles,
    work: &Path,
    n: u16,
    k: u16,
    counts: &[usize],
    witnesses: u16,
) -> Result<(Vec<E2eRow>, Option<AuditRow>, f64)> {
    let mut lab = Lab::new(work, n, k, a.node_bin.as_deref(), &a.kdf_cost)?;
    let auditing = witnesses > 0 && a.auditing_witness;
    let gate = if witnesses > 0 {
        Some(lab.witnessed(witnesses, auditing)?)
    } else {
        None
    };
    let node_start_s = lab.start_nodes(None)?;
    progress(&format!(
        "{n} trustee nodes up in {node_start_s:.2} s (KDF cost {}){}",
        a.kdf_cost,
        if witnesses > 0 {
            format!(
                ", under {witnesses} witnesses (quorum {}{})",
                witness_quorum(witnesses),
                if auditing { ", one auditing" } else { "" }
            )
        } else {
            String::new()
        }
    ));
    let served = match gate {
        Some((pending, policy)) => {
            match pending.serve(&lab.set, &policy, &lab.urls(), &lab.oversight) {
                Ok(s) => s,
                Err(e) => {
                    stop_all(&mut lab.nodes);
                    return Err(e);
                }
            }
        }
        None => Vec::new(),
    };
    let res = e2e_runs(&lab, roles, counts, a);
    stop_all(&mut lab.nodes);
    drop(served);
    let (mut rows, audit) = res?;
    for r in &mut rows {
        r.witnesses = witnesses;
        r.auditing_witness = auditing;
    }
    if !a.keep {
        let _ = std::fs::remove_dir_all(work);
    }
    Ok((rows, audit, node_start_s))
}

/// What the witnesses added: per (messages, ask), the retrieval with the gate against the one
/// without, per warrant and per release batch.
fn witness_cost(rows: &[E2eRow], witnesses: u16, auditing: bool) -> String {
    let mut text = String::new();
    if witnesses == 0 {
        return text;
    }
    let _ = writeln!(
        text,
        "release gate of {witnesses} witnesses on 127.0.0.1 (quorum {}{}), added to each retrieval:",
        witness_quorum(witnesses),
        if auditing {
            ", the auditing witness required"
        } else {
            ""
        }
    );
    for w in rows.iter().filter(|r| r.witnesses > 0) {
        let Some(p) = rows
            .iter()
            .find(|p| p.witnesses == 0 && p.messages == w.messages && p.ask == w.ask)
        else {
            continue;
        };
        let added = w.retrieve_s - p.retrieve_s;
        let _ = writeln!(
            text,
            "  {:>9} {:>8} messages: {:+.3} s per warrant ({:.3} s -> {:.3} s), {:+.1} ms per release batch ({} batches per trustee)",
            w.ask.name(),
            w.messages,
            added,
            p.retrieve_s,
            w.retrieve_s,
            added * 1000.0 / w.batches.max(1) as f64,
            w.batches
        );
    }
    text
}

/// The rows of one lab: per count, the messages sealed, then one warrant and one retrieval
/// per strategy of `a.ask`; then the auditor, unless `a.no_audit`.
fn e2e_runs(
    lab: &Lab,
    roles: &dyn Roles,
    counts: &[usize],
    a: &E2eArgs,
) -> Result<(Vec<E2eRow>, Option<AuditRow>)> {
    let (asks, batch, audit, v1) = (&a.ask, a.batch, !a.no_audit, a.v1);
    let plaintexts = a.plaintexts.as_deref();
    let (n, k) = (lab.set.trustees(), lab.set.threshold());
    let urls = lab.urls();
    let start = Lab::window_start();
    let mut rows = Vec::new();
    // This process's peak resident set over the run; its VmHWM is reset before each retrieval.
    let mut process_peak = None;
    for (j, &m) in counts.iter().enumerate() {
        let target = format!("target-{j}");
        progress(&format!("{m} messages: sealing"));
        let (msgs, seal_s) = lab.traffic(&target, m, start, v1)?;
        for &ask in asks {
            let env = lab.warrant(&format!("W-E2E-{j}-{m}-{}", ask.name()), &target, start)?;
            let before: Vec<(u64, u64)> = lab
                .nodes
                .iter()
                .map(|x| {
                    Ok((
                        tree_size(&x.url())?,
                        db_bytes(&lab.env.dir.join(format!("node-{}", x.index))),
                    ))
                })
                .collect::<Result<_>>()?;
            let out_dir = lab.row_dir(plaintexts, "e2e", &format!("retrieved-{j}-{}", ask.name()));
            progress(&format!(
                "{m} messages: retrieving from {} nodes",
                urls.len()
            ));
            let driver = reset_peak(&mut process_peak);
            let cpu0 = lab.cpu_s();
            let (r, retrieve_s) =
                lab.retrieve_every(roles, &env, &msgs, &urls, (batch, ask), &out_dir)?;
            let cpu = lab.cpu_s().since(&cpu0);
            let peak = vm_hwm(std::process::id());
            process_peak = process_peak.max(peak);
            let decrypted = r.decrypted();
            let mut added = 0u64;
            let mut grown = 0u64;
            for (x, (size0, bytes0)) in lab.nodes.iter().zip(&before) {
                added += tree_size(&x.url())?.saturating_sub(*size0);
                grown += db_bytes(&lab.env.dir.join(format!("node-{}", x.index)))
                    .saturating_sub(*bytes0);
            }
            let s = r.stats;
            let asked = match ask {
                Ask::Threshold => k,
                Ask::All => n,
            };
            let wire = (s.request_bytes + s.response_bytes) as f64;
            let row = E2eRow {
                n,
                k,
                ask,
                messages: m,
                batch,
                decrypted,
                seal_s,
                retrieve_s,
                ask_s: s.ask_s,
                combine_s: s.combine_s,
                messages_per_s: m as f64 / retrieve_s.max(1e-9),
                request_bytes: s.request_bytes,
                response_bytes: s.response_bytes,
                wire_bytes_per_message: (s.request_bytes + s.response_bytes) as f64 / m as f64,
                log_entries_per_node: added as f64 / f64::from(n),
                db_bytes_per_entry: grown as f64 / (added.max(1) as f64),
                version: if v1 { 1 } else { 2 },
                wire_bytes_per_message_per_trustee: wire / m as f64 / f64::from(asked.max(1)),
                node_peak_rss_kb: lab
                    .nodes
                    .iter()
                    .filter_map(|x| x.child.as_ref().and_then(|c| vm_hwm(c.id())))
                    .collect(),
                investigator_peak_rss_kb: process_peak,
                driver_rss_kb: driver,
                retrieval_peak_rss_kb: driver.zip(peak).map(|(d, p)| p.saturating_sub(d)),
                witnesses: 0,
                auditing_witness: false,
                batches: m.div_ceil(batch.max(1)),
                write_s: s.write_s,
                node_cpu_s: cpu.nodes,
                investigator_cpu_s: cpu.me,
            };
            progress(&format!(
                "{m} messages, ask {}: {retrieve_s:.2} s ({:.0} messages/s)",
                ask.name(),
                row.messages_per_s
            ));
            rows.push(row);
        }
    }
    let audit_row = if audit {
        progress("auditing every node's log");
        let (s, entries, findings) = audit_in_process(roles, &lab.env.dir, urls.clone())?;
        Some(AuditRow {
            trustees: urls.len(),
            entries,
            audit_s: s,
            entries_per_s: entries as f64 / s.max(1e-9),
            findings,
            peak_rss_kb: None,
            db_bytes: None,
            release_entry_bytes: None,
            report_bytes: None,
        })
    } else {
        None
    };
    Ok((rows, audit_row))
}

// -----------------------------------------------------------------------------------------
// audit-log

pub const AUDIT_COLUMNS: &[&str] = &[
    "entries",
    "audit_s",
    "entries_per_s",
    "findings",
    "peak_rss_kb",
    "db_bytes",
    "db_bytes_per_entry",
    "release_entry_bytes",
    "report_bytes",
];

/// Grow node `state`'s log (stopped) to `target` entries with release entries cloned from
/// `template` (fresh ciphertext and share digests), as a node would have appended them: leaf
/// hashes, the release counters, one tree head. The node's own code never does this; the
/// experiment does it behind the node's back, as the audit tests do, because a real release
/// costs a few milliseconds of curve work per entry.
fn grow_log(state: &Path, template: &LogEntry, warrant_id: &str, target: u64) -> Result<()> {
    let path = state.join("log.db");
    let mut db = trustee_node::db::Db::open(&path, None)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut rng = rand::rng();
    db.append_bulk(target, warrant_id, files::now(), |seq| {
        let mut e = template.clone();
        e.sequence = seq;
        e.ciphertexts = vec![escrow_core::codec::CiphertextDigest::from_bytes(
            rng.random(),
        )];
        e.shares = vec![Digest32(rng.random::<[u8; 32]>())];
        e
    })
    .with_context(|| format!("cannot grow the log in {}", path.display()))?;
    Ok(())
}

/// Peak resident set (kB) of a running process, from /proc (Linux); None elsewhere.
/// CPU seconds (user + system) of the lab's node processes and of this process.
#[derive(Debug, Default, Clone, PartialEq)]
struct CpuSeconds {
    /// One per node process with a known pid, in node order.
    nodes: Vec<f64>,
    me: Option<f64>,
}

impl CpuSeconds {
    /// What was spent since `earlier` (per node by position; a node missing from either side
    /// is left out).
    fn since(&self, earlier: &CpuSeconds) -> CpuSeconds {
        CpuSeconds {
            nodes: self
                .nodes
                .iter()
                .zip(&earlier.nodes)
                .map(|(a, b)| (a - b).max(0.0))
                .collect(),
            me: self.me.zip(earlier.me).map(|(a, b)| (a - b).max(0.0)),
        }
    }
}

impl Lab {
    fn cpu_s(&self) -> CpuSeconds {
        CpuSeconds {
            nodes: self
                .nodes
                .iter()
                .filter_map(|x| x.child.as_ref().and_then(|c| cpu_s(c.id())))
                .collect(),
            me: cpu_s(std::process::id()),
        }
    }
}

/// The CPU seconds of a row: nodes and investigator together, if all were read.
fn cpu_total(r: &E2eRow) -> Option<f64> {
    r.investigator_cpu_s
        .map(|me| me + r.node_cpu_s.iter().sum::<f64>())
}

/// User + system CPU seconds of process `pid` and its threads, dead ones included
/// (/proc/PID/stat fields 14 and 15, in USER_HZ ticks: 100 a second on Linux).
fn cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_s(&stat)
}

/// The CPU seconds in the text of a /proc/PID/stat (the command name may hold spaces and
/// parentheses: the fields are counted after the last `)`).
fn parse_cpu_s(stat: &str) -> Option<f64> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

fn vm_hwm(pid: u32) -> Option<u64> {
    proc_status_kb(pid, "VmHWM:")
}

/// A `kB` field of /proc/PID/status.
fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Reset this process's peak resident set to its current one (writing 5 to
/// /proc/self/clear_refs, Linux), after folding the old peak into `process_peak`; the
/// resident set (kB) it was reset to, or None when the peak cannot be reset.
fn reset_peak(process_peak: &mut Option<u64>) -> Option<u64> {
    let me = std::process::id();
    *process_peak = (*process_peak).max(vm_hwm(me));
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    proc_status_kb(me, "VmRSS:")
}

/// `escrow audit --json` as a child process: (seconds, report bytes, findings, peak RSS kB).
fn audit_child(
    roles: &dyn Roles,
    work: &Path,
    url: &str,
) -> Result<(f64, usize, usize, Option<u64>)> {
    let exe = roles.audit_program()?;
    let report_path = work.join("audit-report.json");
    let report = std::fs::File::create(&report_path)
        .with_context(|| format!("cannot create {}", report_path.display()))?;
    let t0 = Instant::now();
    let mut child = Command::new(exe)
        .args(["audit", "--json", "--timeout", "600", "--set"])
        .arg(work.join(SET_FILE))
        .arg("--policy")
        .arg(work.join("policy.json"))
        .arg("--warrants")
        .arg(work.join("disclosed"))
        .args(["--trustee", url])
        .stdin(Stdio::null())
        .stdout(report)
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start the auditor")?;
    let mut peak = None;
    let status = loop {
        if let Some(h) = vm_hwm(child.id()) {
            peak = Some(h);
        }
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let s = t0.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&report_path)?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("the auditor's report is not JSON (exit {status})"))?;
    let findings = v
        .get("findings")
        .and_then(|f| f.as_array())
        .map(|f| f.len())
        .unwrap_or(0);
    Ok((s, text.len(), findings, peak))
}

pub fn audit_log(a: AuditLogArgs, roles: &dyn Roles, out: Out) -> Result<()> {
    ensure!(!a.entries.is_empty(), "--entries needs at least one size");
    ensure!(
        a.entries.windows(2).all(|w| w.first() < w.get(1)),
        "--entries must be ascending"
    );
    ensure!(
        a.entries.iter().all(|&e| e <= 2_000_000),
        "--entries: at most 2000000"
    );
    ensure!(
        (1..=10_000).contains(&a.real),
        "--real must be between 1 and 10000"
    );
    let dir = out_dir(a.out.clone(), "audit-log")?;
    let work = dir.join("work");
    let start = experiment::start();
    let mut lab = Lab::new(&work, 5, 3, a.node_bin.as_deref(), "test")?;
    lab.env.init(1)?;
    lab.nodes.push(lab.env.serve(1)?);
    let res = audit_log_runs(&mut lab, roles, &a);
    stop_all(&mut lab.nodes);
    let rows = res?;
    if !a.keep {
        let _ = std::fs::remove_dir_all(&work);
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "audit-log: one trustee's log ({} real releases, the rest grown from them), `escrow audit --json` over it, {} cores",
        a.real, start.machine.cores
    );
    let _ = writeln!(
        text,
        "{:>9} {:>9} {:>11} {:>9} {:>12} {:>10} {:>12} {:>12}",
        "entries",
        "audit s",
        "entries/s",
        "findings",
        "peak RSS MB",
        "db MB",
        "db B/entry",
        "report MB"
    );
    for r in &rows {
        let _ = writeln!(
            text,
            "{:>9} {:>9.2} {:>11.0} {:>9} {:>12} {:>10.1} {:>12.0} {:>12.1}",
            r.entries,
            r.audit_s,
            r.entries_per_s,
            r.findings,
            r.peak_rss_kb
                .map(|k| format!("{:.0}", k as f64 / 1024.0))
                .unwrap_or_else(|| "-".into()),
            r.db_bytes.unwrap_or(0) as f64 / 1e6,
            r.db_bytes.unwrap_or(0) as f64 / r.entries.max(1) as f64,
            r.report_bytes.unwrap_or(0) as f64 / 1e6,
        );
    }
    if let Some(b) = rows.first().and_then(|r| r.release_entry_bytes) {
        let _ = writeln!(
            text,
            "one release entry: {b} canonical bytes (the Merkle leaf)"
        );
    }
    let csv: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.entries.to_string(),
                format!("{:.3}", r.audit_s),
                format!("{:.0}", r.entries_per_s),
                r.findings.to_string(),
                r.peak_rss_kb.map(|v| v.to_string()).unwrap_or_default(),
                r.db_bytes.map(|v| v.to_string()).unwrap_or_default(),
                format!(
                    "{:.1}",
                    r.db_bytes.unwrap_or(0) as f64 / r.entries.max(1) as f64
                ),
                r.release_entry_bytes
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                r.report_bytes.map(|v| v.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    let chart = Chart {
        title: "Auditor time by log size (one trustee)",
        x_label: "log entries",
        y_label: "seconds",
        x: Scale::LogCount,
        y: Scale::Log,
        series: vec![Series::line(
            "escrow audit",
            rows.iter().map(|r| (r.entries as f64, r.audit_s)).collect(),
        )],
        targets: Vec::new(),
    };
    let run = RunOutput {
        experiment: "audit-log",
        parameters: serde_json::json!({"entries": a.entries, "real": a.real}),
        csv: ("audit-log.csv", AUDIT_COLUMNS, csv),
        charts: vec![("audit-log-time.svg".into(), chart)],
        start,
        results: serde_json::json!({"rows": rows}),
        warnings: Vec::new(),
    };
    finish(out, &dir, run, text)
}

fn audit_log_runs(lab: &mut Lab, roles: &dyn Roles, a: &AuditLogArgs) -> Result<Vec<AuditRow>> {
    let start = Lab::window_start();
    let real = usize::try_from(a.real)?;
    let (msgs, _) = lab.traffic("target", real, start, true)?;
    let env = lab.warrant("W-AUDIT-LOG", "target", start)?;
    // The grown entries are synthetic (fresh random digests), so the oversight copies they
    // inherit from the template cannot open under their digests: the auditor is given the
    // warrant as a disclosed document instead of the oversight key, and judges every entry at
    // the digest level (docs/experiments.md says what this does not measure).
    let disclosed = lab.env.dir.join("disclosed");
    files::private_dir(&disclosed)?;
    let w_path = disclosed.join("w-audit-log.json");
    std::fs::write(&w_path, env.to_json_pretty())
        .with_context(|| format!("cannot write {}", w_path.display()))?;
    let out_dir = lab.env.dir.join("retrieved");
    files::private_dir(&out_dir)?;
    let urls = lab.urls();
    progress(&format!("{real} real releases from trustee 1"));
    let net = Net {
        batch: 1000,
        timeout: 600,
        attempts: 1,
        ask: Ask::All,
    };
    // One node cannot open anything (k = 3): only its releases and log entries matter here.
    let _ = roles.retrieve(&lab.set, &env, &lab.inv, &msgs, &urls, &net, &out_dir)?;
    let state = lab.env.dir.join("node-1");
    let url = urls.first().context("no node")?.clone();
    let size0 = tree_size(&url)?;
    let page = node(&url)?.entries(size0 - 1, size0)?;
    let last = page.entries.first().context("no last entry")?;
    let bytes = escrow_core::codec::b64_decode(&last.bytes)?;
    let template = LogEntry::from_bytes(&bytes)?;
    ensure!(
        template.kind == EntryKind::Release,
        "the last entry of the node's log is a {:?}, not a release",
        template.kind
    );
    let mut rows = Vec::new();
    for &target in &a.entries {
        let node = lab.nodes.first_mut().context("no node")?;
        node.stop();
        if target > size0 {
            progress(&format!("growing the log to {target} entries"));
            grow_log(&state, &template, "W-AUDIT-LOG", target)?;
        }
        let restarted = lab.env.serve(1)?;
        lab.nodes.clear();
        lab.nodes.push(restarted);
        let url = lab.urls().first().context("no node")?.clone();
        let entries = tree_size(&url)?;
        progress(&format!("auditing {entries} entries"));
        let (s, report_bytes, findings, peak) = audit_child(roles, &lab.env.dir, &url)?;
        rows.push(AuditRow {
            trustees: 1,
            entries,
            audit_s: s,
            entries_per_s: entries as f64 / s.max(1e-9),
            findings,
            peak_rss_kb: peak,
            db_bytes: Some(db_bytes(&state)),
            release_entry_bytes: Some(bytes.len()),
            report_bytes: Some(report_bytes),
        });
        progress(&format!("{entries} entries audited in {s:.2} s"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_are_read_after_the_command_name_and_subtracted_per_process() {
        // A command name with a space and a parenthesis; utime 250 and stime 50 ticks.
        let stat = "4242 (trustee (node)) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(parse_cpu_s(stat), Some(3.0));
        assert_eq!(parse_cpu_s("4242 (x) S 1"), None);
        assert_eq!(parse_cpu_s("no parenthesis"), None);
        let before = CpuSeconds {
            nodes: vec![1.0, 2.0],
            me: Some(0.5),
        };
        let after = CpuSeconds {
            nodes: vec![1.5, 4.0, 9.0],
            me: Some(2.0),
        };
        assert_eq!(
            after.since(&before),
            CpuSeconds {
                nodes: vec![0.5, 2.0],
                me: Some(1.5)
            }
        );
        // This process's own figure is readable and grows.
        let me = cpu_s(std::process::id()).expect("own /proc/PID/stat");
        assert!(me >= 0.0);
    }
}
