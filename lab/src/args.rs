//! The command-line arguments of `escrow demo` and `escrow experiment ...`: the verbs, flags
//! and defaults are a contract (docs/experiments.md, the README); the CLI parses them with
//! these definitions and hands them over unchanged.

use crate::roles::Ask;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
pub struct DemoArgs {
    /// Run only the cryptographic demo in this process (no trustee nodes, no warrants).
    #[arg(long)]
    pub local: bool,
    /// The trustee-node binary (default: next to this `escrow`, else on PATH).
    #[arg(long, value_name = "PATH")]
    pub node_bin: Option<PathBuf>,
    /// Argon2id cost for the nodes' sealed state: `strong` (default) or `test` (fast, no protection).
    #[arg(long, default_value = "strong", value_name = "COST")]
    pub kdf_cost: String,
    /// Number of trustees n.
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub trustees: u64,
    /// Threshold k.
    #[arg(long, default_value_t = 3, value_name = "K")]
    pub threshold: u64,
    /// Keep the trustee set, the keys, the mailbox and the nodes' state in DIR (must not
    /// exist), with the nodes' passphrase in DIR/passphrase (mode 0600) so that they can be
    /// served again (`trustee-node serve --passphrase-file DIR/passphrase`).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}

#[derive(Args)]
pub struct ExperimentArgs {
    #[command(subcommand)]
    pub cmd: ExperimentCmd,
}

#[derive(Subcommand)]
pub enum ExperimentCmd {
    /// Time per message of seal, public check, trustee share, share verification and combine,
    /// and bytes per message, for our scheme and the naive baseline, over (n, k).
    Sweep(SweepArgs),
    /// Trustees down or malicious: how many messages still decrypt, how long the combiner
    /// takes, which trustees it names.
    Failures(FailuresArgs),
    /// Parallel retrieval across messages: throughput by number of threads and batch size.
    Batch(BatchArgs),
    /// End to end on loopback: n real trustee nodes, one double-locked warrant per message
    /// count, the investigator's retrieval over HTTP; time per phase, bytes, log growth, and
    /// the auditor over every log.
    E2e(E2eArgs),
    /// Audit-log growth: one trustee's log grown to 10^5 / 10^6 entries and `escrow audit`
    /// timed over it (time, peak memory, bytes per entry).
    AuditLog(AuditLogArgs),
    /// Trustees across a WAN, simulated: each node in its own network namespace (root; else
    /// on loopback, said so), a delay line between the investigator and every node at each
    /// round-trip time; retrieval time by messages and round trip.
    Wan(WanArgs),
    /// Key generation, refresh and reshare among real trustee nodes on loopback (in this
    /// process), k = n/2 + 1: wall time and bytes through the coordinator per round, by n;
    /// frost-p256's in-process DKG beside them.
    Dkg(DkgArgs),
}

#[derive(Args)]
pub struct SweepArgs {
    /// Numbers of trustees, comma-separated; paired in order with --k (or one value for all).
    #[arg(long = "n", value_delimiter = ',', num_args = 1.., default_value = "5,10,100")]
    pub n: Vec<u64>,
    /// Thresholds, comma-separated; paired in order with --n (or one value for all).
    #[arg(long = "k", value_delimiter = ',', num_args = 1.., default_value = "3,7,67")]
    pub k: Vec<u64>,
    /// Messages per (n, k), at most 100000.
    #[arg(long, default_value_t = 1000)]
    pub messages: u64,
    /// Skip the naive baseline (Shamir + one ECIES box per trustee).
    #[arg(long)]
    pub no_naive: bool,
    /// Repetitions of each floor primitive.
    #[arg(long, default_value_t = 200, hide = true)]
    pub floor_reps: usize,
    /// Output folder (created; must not already hold a run). Default: experiments/sweep-<time>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct FailuresArgs {
    /// Number of trustees.
    #[arg(long = "n", default_value_t = 5)]
    pub n: u64,
    /// Threshold.
    #[arg(long = "k", default_value_t = 3)]
    pub k: u64,
    /// Numbers of trustees down (no answer), comma-separated: trustees 1..=down.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "0,1,2,3")]
    pub down: Vec<u64>,
    /// Numbers of malicious trustees (a wrong share), comma-separated: the next ones after the
    /// down ones.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "0,1,2")]
    pub malicious: Vec<u64>,
    /// Messages, at most 100000.
    #[arg(long, default_value_t = 100)]
    pub messages: u64,
    /// Skip the naive baseline.
    #[arg(long)]
    pub no_naive: bool,
    /// Most subsets the naive combiner tries per message before giving up.
    #[arg(long, default_value_t = 10_000)]
    pub naive_max_attempts: usize,
    /// Output folder (created; must not already hold a run). Default: experiments/failures-<time>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct BatchArgs {
    /// Number of trustees.
    #[arg(long = "n", default_value_t = 5)]
    pub n: u64,
    /// Threshold (shares made and combined per message).
    #[arg(long = "k", default_value_t = 3)]
    pub k: u64,
    /// Messages (a warrant's worth), at most 100000.
    #[arg(long, default_value_t = 10_000)]
    pub messages: u64,
    /// Thread counts, comma-separated.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "1,2")]
    pub threads: Vec<usize>,
    /// Batch sizes (messages a thread takes at a time), comma-separated.
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "1,100")]
    pub batch: Vec<usize>,
    /// Output folder (created; must not already hold a run). Default: experiments/batch-<time>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct E2eArgs {
    /// Number of trustees (nodes started).
    #[arg(long = "n", default_value_t = 5)]
    pub n: u64,
    /// Threshold.
    #[arg(long = "k", default_value_t = 3)]
    pub k: u64,
    /// Messages a warrant covers, comma-separated; one warrant and one retrieval each (at most
    /// 100000 each).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "10,100,1000,10000")]
    pub messages: Vec<u64>,
    /// Ciphertexts per release request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Retrieval strategies, comma-separated: `all` (every trustee asked at once) and/or
    /// `threshold` (the first k, the rest only for what did not decrypt). One warrant and one
    /// retrieval per (messages, strategy).
    #[arg(long, value_enum, value_delimiter = ',', num_args = 1.., default_value = "all,threshold")]
    pub ask: Vec<Ask>,
    /// The trustee-node binary (default: next to this `escrow`, else on PATH).
    #[arg(long, value_name = "PATH")]
    pub node_bin: Option<PathBuf>,
    /// Argon2id cost of the nodes' sealed state (`test` or `strong`); only start-up pays it.
    #[arg(long, default_value = "test", value_name = "COST")]
    pub kdf_cost: String,
    /// Skip the auditor run at the end.
    #[arg(long)]
    pub no_audit: bool,
    /// Seal the messages in format version 1 and retrieve them with `POST /v1/release`, to
    /// compare with version 2 (the default: `POST /v2/release`).
    #[arg(long)]
    pub v1: bool,
    /// Also run every row under a release gate of N witnesses (`log-witness`, in this process
    /// on 127.0.0.1), quorum a majority (N/2 + 1), on nodes of their own; the rows without
    /// witnesses run first, for the comparison (added time per warrant and per release batch).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub witnesses: u16,
    /// With --witnesses: the first witness is an auditing witness (it audits each log with the
    /// oversight key before it cosigns) and the policy requires it.
    #[arg(long, requires = "witnesses")]
    pub auditing_witness: bool,
    /// Keep the nodes' state and the decrypted files in OUT/work (OUT/work-witnessed).
    #[arg(long)]
    pub keep: bool,
    /// Folder in which each row's decrypted files are written (a subfolder per row, removed
    /// after it). Default: OUT/work. A folder on a memory file system (e.g. /dev/shm) takes the
    /// disk's file creation out of the figures; docs/experiments.md §6.5 says when that matters.
    #[arg(long, value_name = "DIR")]
    pub plaintexts: Option<PathBuf>,
    /// Output folder (created; must not already hold a run). Default: experiments/e2e-<time>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct AuditLogArgs {
    /// Log sizes (entries) to audit, comma-separated, ascending; the log is grown from one
    /// size to the next (at most 2000000).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "1000,10000,100000")]
    pub entries: Vec<u64>,
    /// Real releases made through the node before the log is grown (their entries are the
    /// templates of the rest).
    #[arg(long, default_value_t = 100)]
    pub real: u64,
    /// The trustee-node binary (default: next to this `escrow`, else on PATH).
    #[arg(long, value_name = "PATH")]
    pub node_bin: Option<PathBuf>,
    /// Keep the node's state in OUT/work.
    #[arg(long)]
    pub keep: bool,
    /// Output folder (created; must not already hold a run). Default: experiments/audit-log-<time>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct WanArgs {
    /// Number of trustees (nodes started).
    #[arg(long = "n", default_value_t = 5)]
    pub n: u64,
    /// Threshold.
    #[arg(long = "k", default_value_t = 3)]
    pub k: u64,
    /// Round-trip times to simulate between the investigator and every node, in
    /// milliseconds, comma-separated (0: the delay line without delay, the baseline).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "0,20,80,150")]
    pub rtt: Vec<u64>,
    /// Messages a warrant covers, comma-separated (at most 100000 each).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_value = "1000,10000")]
    pub messages: Vec<u64>,
    /// Ciphertexts per release request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Run every row under a release gate of N witnesses (`log-witness`, in this process, in
    /// the investigator's namespace), quorum a majority (N/2 + 1); each witness behind a delay
    /// line of the same round trip as the nodes', and the auditing witness reads the logs
    /// through delay lines too: the witnesses sit as far from every node as the investigator.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub witnesses: u16,
    /// With --witnesses: the first witness is an auditing witness (it audits each log with the
    /// oversight key before it cosigns) and the policy requires it.
    #[arg(long, requires = "witnesses")]
    pub auditing_witness: bool,
    /// Retrieval strategies, comma-separated: `threshold` (the first k) and/or `all`.
    #[arg(long, value_enum, value_delimiter = ',', num_args = 1.., default_value = "threshold")]
    pub ask: Vec<Ask>,
    /// Run the nodes on 127.0.0.1 (no network namespaces) even when running as root.
    #[arg(long)]
    pub loopback: bool,
    /// Seal and retrieve in format version 1 (`POST /v1/release`) instead of version 2.
    #[arg(long)]
    pub v1: bool,
    /// The trustee-node binary (default: next to this `escrow`, else on PATH).
    #[arg(long, value_name = "PATH")]
    pub node_bin: Option<PathBuf>,
    /// Argon2id cost of the nodes' sealed state (`test` or `strong`); only start-up pays it.
    #[arg(long, default_value = "test", value_name = "COST")]
    pub kdf_cost: String,
    /// Keep the nodes' state and the decrypted files in OUT/work.
    #[arg(long)]
    pub keep: bool,
    /// Folder in which each row's decrypted files are written (a subfolder per row, removed
    /// after it). Default: OUT/work. A folder on a memory file system (e.g. /dev/shm) takes the
    /// disk's file creation out of the figures, which then measure the network path only
    /// (docs/experiments.md §9.2).
    #[arg(long, value_name = "DIR")]
    pub plaintexts: Option<PathBuf>,
    /// Output folder (created; must not already hold a run). Default: experiments/wan-<time>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args)]
pub struct DkgArgs {
    /// Numbers of trustees, comma-separated (each 2..=255; threshold n/2 + 1).
    #[arg(long = "n", value_delimiter = ',', num_args = 1.., default_value = "5,16,64,128")]
    pub n: Vec<u64>,
    /// Leave out frost-p256's in-process DKG (the baseline row).
    #[arg(long)]
    pub no_baseline: bool,
    /// Keep the nodes' state folders in OUT/work.
    #[arg(long)]
    pub keep: bool,
    /// Output folder (created; must not already hold a run). Default: experiments/dkg-<time>.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}
