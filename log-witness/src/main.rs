//! `log-witness`: a C2SP tlog-witness for the trustees' logs (thin binary over the library).
//!
//! ```text
//! log-witness init    --state DIR [--name NAME] [--json]
//! log-witness add-log --state DIR --origin ORIGIN --key VKEY
//! log-witness serve   --state DIR --listen 127.0.0.1:0 [--addr-file FILE]
//!                     [--audit --policy FILE --set FILE --trustee URL... [--oversight-key FILE]]
//! ```

use clap::{Parser, Subcommand};
use log_witness::{Witness, server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "log-witness",
    version,
    about = "A C2SP tlog-witness for the trustees' logs"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Make a witness key and an empty state in DIR.
    Init {
        #[arg(long)]
        state: PathBuf,
        /// The witness name (key name of its cosignatures).
        #[arg(long, default_value = "witness.example/log-witness")]
        name: String,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Follow a log: its origin line and its note verifier key.
    AddLog {
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        origin: String,
        /// `origin+keyid+base64(0x01 || Ed25519 public key)`.
        #[arg(long)]
        key: String,
    },
    /// Serve the witness API over HTTP.
    Serve {
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        listen: SocketAddr,
        /// Write the bound address here (atomically) once listening.
        #[arg(long)]
        addr_file: Option<PathBuf>,
        /// The auditing witness: audit each log (with the auditor's rules, under --policy)
        /// before cosigning, cosign with a statement, refuse with the findings otherwise.
        #[arg(long, requires_all = ["policy", "set", "trustee"])]
        audit: bool,
        /// The trustees' warrant policy (with --audit).
        #[arg(long, requires = "audit")]
        policy: Option<PathBuf>,
        /// The trustee set (with --audit).
        #[arg(long, requires = "audit")]
        set: Option<PathBuf>,
        /// A trustee's URL, once per trustee (with --audit).
        #[arg(long, requires = "audit")]
        trustee: Vec<String>,
        /// An oversight key of the policy (PKCS#8 PEM; if encrypted, the passphrase is read
        /// from LOG_WITNESS_PASSPHRASE): the warrants are read with it.
        #[arg(long, requires = "audit")]
        oversight_key: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("log-witness: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.cmd {
        Cmd::Init { state, name, json } => {
            let w = Witness::init(&state, &name)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({"version": 1, "name": name, "key": w.key().verifier_key()})
                );
            } else {
                println!("witness {name} initialised in {}", state.display());
                println!("cosignature/v1 key: {}", w.key().verifier_key());
            }
            Ok(())
        }
        Cmd::AddLog { state, origin, key } => {
            let w = Witness::open(&state)?;
            w.add_log(&origin, &key)?;
            println!("following {origin}");
            Ok(())
        }
        Cmd::Serve {
            state,
            listen,
            addr_file,
            audit,
            policy,
            set,
            trustee,
            oversight_key,
        } => {
            let mut w = Witness::open(&state)?;
            if audit {
                w = w.with_auditor(Box::new(auditor(policy, set, trustee, oversight_key)?));
            }
            let w = Arc::new(w);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(serve(w, listen, addr_file))
        }
    }
}

/// The auditing witness's judge from the `serve --audit` options.
fn auditor(
    policy: Option<PathBuf>,
    set: Option<PathBuf>,
    trustees: Vec<String>,
    oversight_key: Option<PathBuf>,
) -> anyhow::Result<log_witness::auditing::Auditor> {
    use anyhow::Context as _;
    let read = |p: &Option<PathBuf>, what: &str| -> anyhow::Result<String> {
        let p = p
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("--audit needs --{what}"))?;
        std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))
    };
    let policy = escrow_core::warrant::Policy::from_json(&read(&policy, "policy")?)?;
    let set = escrow_core::trustee::TrusteeSet::from_json(&read(&set, "set")?)?;
    let oversight_key = match oversight_key {
        None => None,
        Some(p) => {
            let bytes = zeroize::Zeroizing::new(
                std::fs::read(&p).with_context(|| format!("{}", p.display()))?,
            );
            let pass = escrow_core::keys::is_encrypted_key_file(&bytes)
                .then(|| std::env::var("LOG_WITNESS_PASSPHRASE").map(zeroize::Zeroizing::new))
                .transpose()
                .context("the oversight key is encrypted: set LOG_WITNESS_PASSPHRASE")?;
            Some(
                escrow_core::keys::PrivateKey::from_key_file(
                    &bytes,
                    pass.as_ref().map(|p| p.as_bytes()),
                )
                .with_context(|| format!("{}", p.display()))?,
            )
        }
    };
    Ok(log_witness::auditing::Auditor {
        set,
        policy,
        trustees,
        oversight_key,
        client: escrow_client::ClientConfig::default(),
    })
}

async fn serve(
    w: Arc<Witness>,
    listen: SocketAddr,
    addr_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("listen address {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "serving plain HTTP on a non-loopback address");
    }
    println!("log-witness {} listening on http://{addr}", w.key().name());
    if let Some(f) = &addr_file {
        let tmp = f.with_extension("tmp");
        std::fs::write(&tmp, addr.to_string())
            .map_err(|e| anyhow::anyhow!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, f).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
    }
    axum::serve(listener, server::router(w))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
