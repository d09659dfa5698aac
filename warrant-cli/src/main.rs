//! `escrow`: the user's verbs for the threshold key-escrow system.
//!
//! Every verb prints readable text by default and exactly one JSON object on stdout with
//! `--json`. Diagnostics go to stderr. Exit codes: 0 success, 1 error, 2 usage error,
//! 3 refused (a check that ran and said no: a warrant that does not verify, a message that is
//! not escrow-compliant, too few shares).

mod cmd_audit;
mod cmd_ceremony;
mod cmd_keys;
mod cmd_lab;
mod cmd_msg;
mod cmd_oversight;
mod cmd_retrieve;
mod cmd_set;
mod cmd_warrant;
mod io;
mod net;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit code for "the check ran and refused".
pub const EXIT_REFUSED: u8 = 3;

/// An error that maps to exit code 3: a check ran and refused.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Refused {}

/// Exit code for a usage error (as clap's own).
pub const EXIT_USAGE: u8 = 2;

/// An error that maps to exit code 2: the command line asked for something impossible
/// (k > n, an account name that breaks the label rules, ...), found before any work was done.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Usage {}

/// An error from a command that already printed its full report (its one JSON object with
/// `--json`): main adds only the one-line message on stderr. `refused` selects exit code 3.
#[derive(Debug)]
pub struct Reported {
    pub msg: String,
    pub refused: bool,
}

impl Reported {
    /// A refusal (exit 3) after the report.
    pub fn refused(msg: String) -> anyhow::Error {
        Reported { msg, refused: true }.into()
    }
    /// An error (exit 1) after the report.
    pub fn error(msg: String) -> anyhow::Error {
        Reported {
            msg,
            refused: false,
        }
        .into()
    }
}

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}
impl std::error::Error for Reported {}

#[derive(Parser)]
#[command(
    name = "escrow",
    version,
    about = "Threshold key escrow with warrants: the 'exceptional access' proposal as working, auditable code",
    long_about = "Every message key is also wrapped to n trustees, any k of whom can unwrap it. \
                  Trustees release their parts only against a double-locked warrant, and log every \
                  release first. This tool sets up trustee sets, seals and opens messages, manages \
                  warrants, and shows what k colluding trustees can do."
)]
struct Cli {
    /// Print exactly one JSON object on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Read the passphrase of encrypted private keys (and of new keys) from the first line of
    /// FILE. Default: the environment variable ESCROW_PASSPHRASE, else asked on the terminal.
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Generate an ECDSA P-256 key pair: NAME.key (PKCS#8 PEM, mode 0600, encrypted with a
    /// passphrase unless --no-passphrase) and NAME.pub (SPKI PEM).
    Keygen(cmd_keys::KeygenArgs),
    /// Deal a k-of-n trustee set: DIR/trustee-set.json and DIR/trustee-<i>/ per trustee.
    /// A trusted-dealer shortcut (one machine holds x for a moment): for experiments; use
    /// `escrow ceremony dkg` for a real set.
    Setup(cmd_set::SetupArgs),
    /// Ceremonies among trustee nodes: `dkg` makes a set with no dealer, `refresh` renews
    /// every share of it.
    #[command(subcommand)]
    Ceremony(cmd_ceremony::CeremonyCmd),
    /// Seal a message for a recipient, escrowed to the trustee set; append it to a mailbox.
    Seal(cmd_msg::SealArgs),
    /// Open the messages in a mailbox addressed to your key; refuse non-compliant ones.
    Open(cmd_msg::OpenArgs),
    /// Show k trustees pooling their shares WITHOUT a warrant: the inherent risk of escrow.
    Collude(cmd_msg::ColludeArgs),
    /// Trustee policy files: which authority keys hold which role, validity limits, release cap.
    #[command(subcommand)]
    Policy(cmd_warrant::PolicyCmd),
    /// Warrants: issue, approve (the double lock), show, verify against a policy, cancel.
    #[command(subcommand)]
    Warrant(cmd_warrant::WarrantCmd),
    /// The investigator: retrieve the messages a warrant covers from the trustee nodes.
    Retrieve(cmd_retrieve::RetrieveArgs),
    /// The auditor: verify every trustee's transparency log (signed checkpoints, consistency
    /// with earlier runs), judge every release against its warrant, and report which messages
    /// became readable (text, `--json`, `--html`).
    Audit(cmd_audit::AuditArgs),
    /// The oversight body (the Investigatory Powers Commissioner's role): `disclose` publishes
    /// a signed disclosure of a warrant for the public audit to verify and show.
    #[command(subcommand)]
    Oversight(cmd_oversight::OversightCmd),
    /// The trustees file (node URLs and the CA to trust) that retrieve, audit and warrant
    /// cancel read when no --trustee is given (`--trustees FILE` or ESCROW_TRUSTEES).
    #[command(subcommand)]
    Trustees(net::TrusteesCmd),
    /// The demo: the warrant workflow live on trustee nodes (`--local`: the cryptographic core only).
    Demo(escrow_lab::DemoArgs),
    /// Research experiments: sweeps over (n, k) and message counts, trustee failures, parallel
    /// batches; CSV, SVG plots and a run record (machine, versions, commit) per run.
    Experiment(escrow_lab::ExperimentArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = io::Out { json: cli.json };
    cmd_keys::set_passphrase_file(cli.passphrase_file);
    let res = match cli.cmd {
        Cmd::Keygen(a) => cmd_keys::keygen(a, out),
        Cmd::Setup(a) => cmd_set::setup(a, out),
        Cmd::Ceremony(c) => cmd_ceremony::ceremony(c, out),
        Cmd::Seal(a) => cmd_msg::seal(a, out),
        Cmd::Open(a) => cmd_msg::open(a, out),
        Cmd::Collude(a) => cmd_msg::collude(a, out),
        Cmd::Policy(c) => cmd_warrant::policy(c, out),
        Cmd::Warrant(c) => cmd_warrant::warrant(c, out),
        Cmd::Retrieve(a) => cmd_retrieve::retrieve(a, out),
        Cmd::Audit(a) => cmd_audit::audit(a, out),
        Cmd::Oversight(c) => cmd_oversight::oversight(c, out),
        Cmd::Trustees(c) => net::trustees(c, out),
        Cmd::Demo(a) => cmd_lab::demo(a, out),
        Cmd::Experiment(a) => cmd_lab::experiment(a, out),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if io::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let after = e.downcast_ref::<Reported>();
            let reported = after.is_some();
            let refused =
                after.map(|r| r.refused).unwrap_or(false) || e.downcast_ref::<Refused>().is_some();
            let usage = e.downcast_ref::<Usage>().is_some();
            if out.json && !reported {
                let msg = format!("{e:#}");
                // Refusals start with their stable kebab-case reason code ("expired: ...").
                let code = msg.split_once(": ").map(|(c, _)| c).filter(|c| {
                    !c.is_empty() && c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-')
                });
                let v = serde_json::json!({
                    "ok": false,
                    "error": msg,
                    "refused": refused,
                    "usage": usage,
                    "code": code,
                });
                io::print_line(&v.to_string());
            }
            eprintln!(
                "escrow: {}: {e:#}",
                if refused {
                    "refused"
                } else if usage {
                    "usage"
                } else {
                    "error"
                }
            );
            ExitCode::from(if refused {
                EXIT_REFUSED
            } else if usage {
                EXIT_USAGE
            } else {
                1
            })
        }
    }
}
