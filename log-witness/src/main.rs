//! `log-witness`: a C2SP tlog-witness for the trustees' logs (thin binary over the library).
//!
//! ```text
//! log-witness init    --state DIR [--name NAME] [--json]
//! log-witness add-log --state DIR --origin ORIGIN --key VKEY
//! log-witness serve   --state DIR --listen 127.0.0.1:0 [--addr-file FILE]
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
        } => {
            let w = Arc::new(Witness::open(&state)?);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(serve(w, listen, addr_file))
        }
    }
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
