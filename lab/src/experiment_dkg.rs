//! `escrow experiment dkg` (issue 15): the wall time and the bytes of a key generation, a
//! refresh and a reshare among real trustee nodes on loopback, by number of trustees, with
//! `frost-p256`'s in-process DKG as a baseline row.
//!
//! The nodes are the `trustee-node` library's, run in this process
//! (`trustee_node::spawn_run_on`, each on its own thread, their requests on one runtime with as
//! many workers and blocking threads as cores, serving HTTP on 127.0.0.1): n processes of
//! 128 nodes would measure process start-up, not the ceremony. The coordinator is
//! `escrow ceremony`'s (`escrow_client::ceremony`); its per-round wall time and the request
//! and answer bodies it sent and received are the figures. Threshold rule: k = ⌊n/2⌋ + 1. The
//! reshare moves the refreshed set from its first k trustees to n new nodes with the same k.

use crate::args::DkgArgs;
use crate::experiment::finish;
use crate::experiment_live::out_dir;
use crate::files;
use crate::out::{Out, progress};
use crate::parties::{double_lock_policy, save_key};
use anyhow::{Context, Result, bail, ensure};
use escrow_client::ceremony::{self, Outcome, RoundCost};
use escrow_client::{ClientConfig, NodeClient};
use escrow_core::keys::PrivateKey;
use escrow_core::trustee::TrusteeSet;
use escrow_research::experiment::{self, RunOutput};
use escrow_research::plot::{Chart, Scale, Series};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use trustee_node::Spawned;
use trustee_node::sealed::KdfCost;

/// Most trustees per run (the set format's limit is 255).
const MAX_N: u64 = 255;
/// One request's time limit (a round at n = 128 on a loaded machine included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// How long a node may take to serve its new set after a ceremony (bounded poll).
const SETTLE: Duration = Duration::from_secs(120);

/// The threshold the experiment uses for n trustees.
pub fn threshold(n: u16) -> u16 {
    n / 2 + 1
}

/// One row: a ceremony's step (or `total`) at one size.
#[derive(Debug, Clone, Serialize)]
pub struct DkgRow {
    /// `nodes` (ours, real nodes) or `frost-p256` (in process, the baseline).
    pub implementation: &'static str,
    /// `dkg`, `refresh` or `reshare`.
    pub ceremony: &'static str,
    pub n: u16,
    pub k: u16,
    /// Positions in the ceremony (a reshare: k dealers + n new trustees).
    pub parties: u16,
    /// `round1`, `round2`, `round3`, `finalise`, or `total`.
    pub round: String,
    pub seconds: f64,
    /// Bytes the coordinator sent (the baseline: what a relay would deliver).
    pub sent_bytes: u64,
    /// Bytes the coordinator received (the baseline: the messages produced).
    pub received_bytes: u64,
}

pub const DKG_COLUMNS: &[&str] = &[
    "implementation",
    "ceremony",
    "n",
    "k",
    "parties",
    "round",
    "seconds",
    "sent_bytes",
    "received_bytes",
];

#[derive(Debug, Clone, Serialize)]
struct DkgParams {
    n: Vec<u16>,
    threshold_rule: &'static str,
    nodes: &'static str,
    bytes: &'static str,
    baseline: bool,
    kdf_cost: &'static str,
}

/// The nodes of one size, stopped when dropped.
struct Nodes {
    work: PathBuf,
    passphrase: String,
    coordinator: PrivateKey,
    running: Vec<Spawned>,
    /// The runtime every node's requests run on (declared after `running`: the nodes stop
    /// before it is dropped).
    rt: tokio::runtime::Runtime,
}

/// The one runtime of all the experiment's nodes: as many workers and blocking threads as the
/// machine has cores. Each node's ceremony rounds run on the blocking pool; with a runtime per
/// node, n = 128 nodes computed on 128 threads at once (a load average of 86 on 2 cores).
fn shared_runtime() -> Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .max_blocking_threads(cores)
        .enable_all()
        .build()
        .context("starting the nodes' runtime")
}

impl Nodes {
    fn new(work: &Path) -> Result<Self> {
        let mut rng = rand::rng();
        files::private_dir(work)?;
        let sos = PrivateKey::generate(&mut rng);
        let jc = PrivateKey::generate(&mut rng);
        let oversight = PrivateKey::generate(&mut rng);
        let policy = double_lock_policy(&sos, &jc, &oversight)?;
        files::public(
            &work.join("policy.json"),
            policy.to_json_pretty().as_bytes(),
        )?;
        let coordinator = PrivateKey::generate(&mut rng);
        save_key(work, "coordinator", &coordinator)?;
        Ok(Nodes {
            work: work.to_path_buf(),
            passphrase: hex::encode(rand::random::<[u8; 16]>()),
            coordinator,
            running: Vec::new(),
            rt: shared_runtime()?,
        })
    }

    /// `count` nodes made with `init --dkg` (of a reshare of `reshare_of`, if given) in
    /// `WORK/<prefix>-<i>`, started; their clients.
    fn start(
        &mut self,
        prefix: &str,
        count: u16,
        reshare_of: Option<&Path>,
    ) -> Result<Vec<NodeClient>> {
        let coordinator_pub = self.work.join("coordinator.pub");
        let mut urls = Vec::new();
        for i in 1..=count {
            let state = self.work.join(format!("{prefix}-{i}"));
            trustee_node::ceremony::init_pending(
                &self.work.join("policy.json"),
                std::slice::from_ref(&coordinator_pub),
                reshare_of,
                None,
                &state,
                self.passphrase.as_bytes(),
                KdfCost::Test,
            )
            .with_context(|| format!("trustee-node init --dkg {}", state.display()))?;
            let listener =
                std::net::TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
            let config = trustee_node::Config::new(&state, self.passphrase.as_bytes().to_vec());
            let node = trustee_node::spawn_run_on(self.rt.handle().clone(), listener, config)
                .with_context(|| format!("cannot start the node of {}", state.display()))?;
            urls.push(node.url());
            self.running.push(node);
        }
        clients(&urls)
    }
}

/// Fresh clients (traffic counted from zero) for `urls`.
fn clients(urls: &[String]) -> Result<Vec<NodeClient>> {
    let cfg = ClientConfig {
        timeout: REQUEST_TIMEOUT,
        attempts: 1,
        ..ClientConfig::default()
    };
    urls.iter()
        .map(|u| NodeClient::new(u, &cfg).map_err(anyhow::Error::from))
        .collect()
}

fn urls(nodes: &[NodeClient]) -> Vec<String> {
    nodes.iter().map(|n| n.url().to_string()).collect()
}

/// Wait (bounded by [`SETTLE`]) until every node serves `set` in its `/v1/info`.
fn settle(nodes: &[NodeClient], set: &TrusteeSet) -> Result<()> {
    let until = Instant::now() + SETTLE;
    for n in nodes {
        loop {
            if n.info().is_ok_and(|i| i.set_id == set.id()) {
                break;
            }
            if Instant::now() >= until {
                bail!(
                    "{} does not serve set {} in time",
                    n.url(),
                    set.id().short()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

fn rows_of(
    ceremony: &'static str,
    n: u16,
    k: u16,
    parties: u16,
    wall: f64,
    o: &Outcome,
) -> Vec<DkgRow> {
    let row = |round: &str, seconds, sent, received| DkgRow {
        implementation: "nodes",
        ceremony,
        n,
        k,
        parties,
        round: round.to_string(),
        seconds,
        sent_bytes: sent,
        received_bytes: received,
    };
    let mut rows: Vec<DkgRow> = o
        .rounds
        .iter()
        .map(|r: &RoundCost| row(r.round, r.seconds, r.sent, r.received))
        .collect();
    rows.push(row("total", wall, o.bytes.0, o.bytes.1));
    rows
}

/// A DKG, a refresh and a reshare among nodes in `work`; their rows.
fn ceremonies(work: &Path, n: u16) -> Result<Vec<DkgRow>> {
    let k = threshold(n);
    let mut lab = Nodes::new(work)?;
    let nodes = lab.start("node", n, None)?;
    let key = lab.coordinator.clone();
    let t = Instant::now();
    let dkg = ceremony::run_dkg(&nodes, k, &key)?;
    let mut rows = rows_of("dkg", n, k, n, t.elapsed().as_secs_f64(), &dkg);
    progress(&format!(
        "n = {n}: key generation {:.2} s",
        t.elapsed().as_secs_f64()
    ));
    settle(&nodes, &dkg.set)?;
    let nodes = clients(&urls(&nodes))?;
    let t = Instant::now();
    let refresh = ceremony::run_refresh(&nodes, &dkg.set, &key)?;
    rows.extend(rows_of(
        "refresh",
        n,
        k,
        n,
        t.elapsed().as_secs_f64(),
        &refresh,
    ));
    progress(&format!(
        "n = {n}: refresh {:.2} s",
        t.elapsed().as_secs_f64()
    ));
    settle(&nodes, &refresh.set)?;
    let set_file = work.join(files::SET_FILE);
    files::public(&set_file, refresh.set.to_json().as_bytes())?;
    let receivers = lab.start("new-node", n, Some(&set_file))?;
    let first_k = nodes.get(..usize::from(k)).context("fewer nodes than k")?;
    let dealers = clients(&urls(first_k))?;
    let t = Instant::now();
    let reshare = ceremony::run_reshare(&dealers, &receivers, &refresh.set, k, &key)?;
    rows.extend(rows_of(
        "reshare",
        n,
        k,
        k + n,
        t.elapsed().as_secs_f64(),
        &reshare,
    ));
    progress(&format!(
        "n = {n}: reshare {:.2} s",
        t.elapsed().as_secs_f64()
    ));
    ensure!(
        reshare.set.escrow_key() == dkg.set.escrow_key(),
        "the reshare changed the escrow key"
    );
    Ok(rows)
}

/// `frost-p256`'s DKG at `n` as rows (parts 1–3, then the total).
fn baseline(n: u16) -> Result<Vec<DkgRow>> {
    let k = threshold(n);
    let r = escrow_research::frost_dkg::run(n, k)?;
    let row = |round: &str, seconds, sent, received| DkgRow {
        implementation: "frost-p256",
        ceremony: "dkg",
        n,
        k,
        parties: n,
        round: round.to_string(),
        seconds,
        sent_bytes: sent,
        received_bytes: received,
    };
    let mut rows: Vec<DkgRow> = ["round1", "round2", "round3"]
        .iter()
        .zip(r.seconds.iter().zip(r.delivered.iter().zip(&r.produced)))
        .map(|(name, (s, (d, p)))| row(name, *s, *d, *p))
        .collect();
    rows.push(row(
        "total",
        r.seconds.iter().sum(),
        r.delivered.iter().sum(),
        r.produced.iter().sum(),
    ));
    Ok(rows)
}

fn csv(rows: &[DkgRow]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            vec![
                r.implementation.to_string(),
                r.ceremony.to_string(),
                r.n.to_string(),
                r.k.to_string(),
                r.parties.to_string(),
                r.round.clone(),
                format!("{:.4}", r.seconds),
                r.sent_bytes.to_string(),
                r.received_bytes.to_string(),
            ]
        })
        .collect()
}

fn totals(rows: &[DkgRow]) -> impl Iterator<Item = &DkgRow> {
    rows.iter().filter(|r| r.round == "total")
}

fn charts(rows: &[DkgRow]) -> Vec<(String, Chart<'static>)> {
    let kinds = [
        ("nodes", "dkg"),
        ("nodes", "refresh"),
        ("nodes", "reshare"),
        ("frost-p256", "dkg"),
    ];
    let series = |f: &dyn Fn(&DkgRow) -> f64| -> Vec<Series> {
        kinds
            .iter()
            .map(|&(imp, c)| {
                Series::line(
                    format!("{c} ({imp})"),
                    totals(rows)
                        .filter(|r| r.implementation == imp && r.ceremony == c)
                        .map(|r| (f64::from(r.n), f(r)))
                        .collect(),
                )
            })
            .filter(|s| !s.points.is_empty())
            .collect()
    };
    vec![
        (
            "dkg-time.svg".into(),
            Chart {
                title: "Ceremony wall time on loopback, k = n/2 + 1",
                x_label: "trustees n",
                y_label: "seconds",
                x: Scale::LogCount,
                y: Scale::Log,
                series: series(&|r| r.seconds.max(1e-6)),
                targets: Vec::new(),
            },
        ),
        (
            "dkg-bytes.svg".into(),
            Chart {
                title: "Bytes through the coordinator per ceremony (sent + received)",
                x_label: "trustees n",
                y_label: "bytes",
                x: Scale::LogCount,
                y: Scale::Log,
                series: series(&|r| (r.sent_bytes + r.received_bytes).max(1) as f64),
                targets: Vec::new(),
            },
        ),
    ]
}

fn text(rows: &[DkgRow]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "ceremonies on loopback: trustee nodes in this process, k = n/2 + 1; bytes = request and answer bodies through the coordinator (frost-p256: what a relay would deliver / the messages produced)"
    );
    let _ = writeln!(
        t,
        "{:<11} {:<8} {:>4} {:>4} {:>7} {:>9} {:>13} {:>13}  per round (s)",
        "impl", "ceremony", "n", "k", "parties", "wall s", "sent", "received"
    );
    for r in totals(rows) {
        let per: Vec<String> = rows
            .iter()
            .filter(|x| {
                x.round != "total"
                    && x.implementation == r.implementation
                    && x.ceremony == r.ceremony
                    && x.n == r.n
            })
            .map(|x| format!("{} {:.3}", x.round, x.seconds))
            .collect();
        let _ = writeln!(
            t,
            "{:<11} {:<8} {:>4} {:>4} {:>7} {:>9.3} {:>13} {:>13}  {}",
            r.implementation,
            r.ceremony,
            r.n,
            r.k,
            r.parties,
            r.seconds,
            r.sent_bytes,
            r.received_bytes,
            per.join(", ")
        );
    }
    t
}

pub fn dkg(a: DkgArgs, out: Out) -> Result<()> {
    let sizes: Vec<u16> =
        a.n.iter()
            .map(|&n| {
                ensure!((2..=MAX_N).contains(&n), "--n {n}: between 2 and {MAX_N}");
                Ok(u16::try_from(n)?)
            })
            .collect::<Result<_>>()?;
    ensure!(!sizes.is_empty(), "--n needs at least one size");
    let dir = out_dir(a.out, "dkg")?;
    let work = dir.join("work");
    let start = experiment::start();
    let mut rows = Vec::new();
    for &n in &sizes {
        progress(&format!("n = {n}, k = {}", threshold(n)));
        rows.extend(ceremonies(&work.join(format!("n{n}")), n)?);
        if !a.no_baseline {
            rows.extend(baseline(n)?);
        }
    }
    if !a.keep {
        let _ = std::fs::remove_dir_all(&work);
    }
    let p = DkgParams {
        n: sizes,
        threshold_rule: "k = n/2 + 1 (integer division)",
        nodes: "trustee_node::spawn_run_on: every node in this process on its own thread, its requests on one runtime shared by all nodes (workers and blocking threads = cores), HTTP on 127.0.0.1",
        bytes: "request and answer bodies (JSON) the coordinator sent and received, HTTP headers not counted; frost-p256: sent = what a relay would deliver, received = the messages produced (frost's own serialisation)",
        baseline: !a.no_baseline,
        kdf_cost: "test",
    };
    let text = text(&rows);
    let run = RunOutput {
        experiment: "dkg",
        parameters: serde_json::to_value(&p)?,
        csv: ("dkg.csv", DKG_COLUMNS, csv(&rows)),
        charts: charts(&rows),
        start,
        results: serde_json::to_value(&rows)?,
        warnings: Vec::new(),
    };
    finish(out, &dir, run, text)
}
