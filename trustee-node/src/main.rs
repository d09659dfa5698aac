//! `trustee-node`: one trustee of a threshold key-escrow set as an HTTP service.
//!
//! ```text
//! trustee-node init  --set trustee-set.json --trustee DIR/trustee-<i> --policy policy.json --state STATE
//! trustee-node init  --dkg --policy policy.json --state STATE --coordinator-key coordinator.pub
//! trustee-node serve --state STATE --listen 127.0.0.1:0 [--addr-file FILE] [--tls-cert C --tls-key K]
//! ```
//!
//! The passphrase that seals the key share comes from `TRUSTEE_PASSPHRASE` or
//! `--passphrase-file`. The HTTP API is documented in `docs/api.md`.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use trustee_node::server::{self, Limits};
use trustee_node::{Config, KdfCost, NodeError, TlsFiles, ceremony, state};

#[derive(Parser, Debug)]
#[command(
    name = "trustee-node",
    version,
    about = "One trustee of a threshold key-escrow set: releases decryption shares only against a valid warrant, and logs first."
)]
struct Cli {
    /// Log debug detail to stderr.
    #[arg(long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Create a state folder: sealed key share and signing key, policy, audit database.
    ///
    /// The passphrase (TRUSTEE_PASSPHRASE or --passphrase-file) must have at least 12
    /// characters.
    Init {
        /// The trustee set (`trustee-set.json` from `escrow setup`); not with --dkg.
        #[arg(long, required_unless_present = "dkg", conflicts_with = "dkg")]
        set: Option<PathBuf>,
        /// This trustee's folder from `escrow setup` (holds key-share.json and signing.key);
        /// not with --dkg.
        #[arg(long, required_unless_present = "dkg", conflicts_with = "dkg")]
        trustee: Option<PathBuf>,
        /// No dealer: make this node's signing and log keys and wait for a distributed key
        /// generation (`escrow ceremony dkg`); `serve` then answers only the ceremony until
        /// it finishes, and then serves as usual.
        #[arg(long)]
        dkg: bool,
        /// With --dkg: a public key (PEM) whose signed requests may run the ceremony.
        /// Repeatable.
        #[arg(long, requires = "dkg")]
        coordinator_key: Vec<PathBuf>,
        /// With --dkg: join as a new trustee of a reshare of this set (`trustee-set.json`
        /// of the set being reshared; `escrow ceremony reshare`) instead of a key generation.
        /// The node takes part only in a reshare of exactly this set.
        #[arg(long, requires = "dkg", value_name = "SET")]
        reshare_of: Option<PathBuf>,
        /// With --dkg: the organisation that runs this trustee (it goes into the set and its
        /// certificate; a policy may forbid one organisation k or more shares). With only
        /// --jurisdiction given it is `unspecified`; with neither the node names no holder and
        /// takes part only in ceremonies whose nodes name none (docs/protocol.md §11.1).
        #[arg(long, requires = "dkg", value_name = "ORG")]
        organisation: Option<String>,
        /// With --dkg: the jurisdiction whose law reaches this trustee, e.g. an ISO 3166 code
        /// (`DE`); `unspecified` when only --organisation is given.
        #[arg(long, requires = "dkg", value_name = "JURISDICTION")]
        jurisdiction: Option<String>,
        /// The warrant policy (which authorities hold which role, limits).
        #[arg(long)]
        policy: PathBuf,
        /// The state folder to create (must not exist or be empty).
        #[arg(long)]
        state: PathBuf,
        /// Read the passphrase from this file (first line) instead of TRUSTEE_PASSPHRASE. At
        /// least 12 characters.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// Argon2id cost. `test` is for automated tests only: it gives the passphrase no
        /// real protection.
        #[arg(long, value_enum, default_value = "strong", env = "TRUSTEE_KDF_COST")]
        kdf_cost: KdfCost,
    },
    /// Check a state folder's audit log offline (no passphrase needed) and print its tree head.
    VerifyLog {
        /// The state folder.
        #[arg(long)]
        state: PathBuf,
        /// The log key as `/v1/info` publishes it (`origin+keyid+base64`); default: the
        /// state folder's log-key.pub.
        #[arg(long)]
        log_key: Option<String>,
    },
    /// Serve the HTTP API.
    Serve {
        /// The state folder made by `init`.
        #[arg(long)]
        state: PathBuf,
        /// Address to listen on (port 0: any free port; the bound address is printed).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Write the bound address (e.g. 127.0.0.1:41234) to this file once listening.
        #[arg(long)]
        addr_file: Option<PathBuf>,
        /// Read the passphrase from this file (first line) instead of TRUSTEE_PASSPHRASE.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// TLS certificate chain (PEM). With --tls-key, serve HTTPS.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key (PEM).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Most ciphertexts in one release request.
        #[arg(long, default_value_t = escrow_core::release::MAX_BATCH)]
        max_batch: usize,
        /// Largest request body, bytes.
        #[arg(long, default_value_t = 32 * 1024 * 1024)]
        max_body_bytes: usize,
        /// Per-request timeout, seconds.
        #[arg(long, default_value_t = 300)]
        request_timeout_secs: u64,
        /// Requests worked on at once, node-wide, once their body is read (more wait).
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Most canonical entry bytes in one /v1/log/entries page (at least 1024; a page
        /// always holds at least one entry).
        #[arg(long, default_value_t = server::DEFAULT_PAGE_BYTES)]
        log_page_bytes: usize,
        /// Start although the state folder has no signed checkpoint (folders made before it
        /// existed): the log is anchored as it is. Check it against a checkpoint an auditor
        /// holds first.
        #[arg(long, env = "TRUSTEE_ACCEPT_UNANCHORED_LOG")]
        accept_unanchored_log: bool,
        /// Seconds allowed for a request's header to arrive.
        #[arg(long, default_value_t = 10)]
        header_timeout_secs: u64,
        /// Seconds allowed for a request's body to arrive.
        #[arg(long, default_value_t = 30)]
        body_timeout_secs: u64,
        /// Requests in flight from one client address (more: 429).
        #[arg(long, default_value_t = 16)]
        per_client: usize,
        /// POST requests per second from one client address, on average (bursts of twice as
        /// many; more: 429).
        #[arg(long, default_value_t = 200)]
        posts_per_sec: u32,
        /// Requests in flight from all clients together (more: 503).
        #[arg(long, default_value_t = 1024)]
        max_in_flight: usize,
        /// Release gate (a policy naming witnesses): seconds one witness may take to answer a
        /// cosigning request; a witness that takes longer counts as not cosigning, and with
        /// too few cosignatures nothing is released (503 witness-quorum).
        #[arg(long, default_value_t = trustee_node::gate::DEFAULT_WITNESS_TIMEOUT.as_secs())]
        witness_timeout_secs: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(if cli.verbose {
            tracing::Level::DEBUG
        } else {
            tracing::Level::INFO
        })
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match main_inner(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trustee-node: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main_inner(cli: Cli) -> Result<(), NodeError> {
    match cli.cmd {
        Cmd::Init {
            set,
            trustee,
            dkg,
            coordinator_key,
            reshare_of,
            organisation,
            jurisdiction,
            policy,
            state,
            passphrase_file,
            kdf_cost,
        } => {
            let pass = state::passphrase(passphrase_file.as_deref())?;
            if kdf_cost == KdfCost::Test {
                eprintln!(
                    "trustee-node: WARNING: --kdf-cost test gives the passphrase no real protection (tests only)"
                );
            }
            let (Some(set), Some(trustee), false) = (set, trustee, dkg) else {
                let holder = escrow_core::trustee::Holder::given(
                    organisation.as_deref(),
                    jurisdiction.as_deref(),
                )?;
                let key = ceremony::init_pending(
                    &policy,
                    &coordinator_key,
                    reshare_of.as_deref(),
                    holder,
                    &state,
                    pass.as_bytes(),
                    kdf_cost,
                )?;
                println!(
                    "initialised a node without a share in {}: signing key {}; run `trustee-node serve`, then `escrow ceremony {}`",
                    state.display(),
                    key.key_id().short(),
                    if reshare_of.is_some() {
                        "reshare"
                    } else {
                        "dkg"
                    }
                );
                return Ok(());
            };
            let r = state::init(&set, &trustee, &policy, &state, pass.as_bytes(), kdf_cost)?;
            println!(
                "initialised trustee {} of set {} in {} (policy {}, key share sealed with Argon2id/{})",
                r.trustee,
                r.set_id.short(),
                r.state.display(),
                r.policy_digest.short(),
                match kdf_cost {
                    KdfCost::Strong => "strong",
                    KdfCost::Test => "test",
                }
            );
            Ok(())
        }
        Cmd::VerifyLog { state, log_key } => {
            let r = state::verify_log(&state, log_key.as_deref())?;
            let head = r.head;
            match r.anchor {
                Some(a) => println!(
                    "log intact: {} entries, root {} (extends the signed checkpoint of size {})",
                    head.size, head.root, a.size
                ),
                None => println!(
                    "log intact: {} entries, root {} (WARNING: no signed checkpoint to check it against)",
                    head.size, head.root
                ),
            }
            Ok(())
        }
        Cmd::Serve {
            state,
            listen,
            addr_file,
            passphrase_file,
            tls_cert,
            tls_key,
            max_batch,
            max_body_bytes,
            request_timeout_secs,
            concurrency,
            log_page_bytes,
            accept_unanchored_log,
            header_timeout_secs,
            body_timeout_secs,
            per_client,
            posts_per_sec,
            max_in_flight,
            witness_timeout_secs,
        } => {
            let limits = Limits {
                max_batch: max_batch.clamp(1, escrow_core::release::MAX_BATCH),
                max_body_bytes: max_body_bytes.max(1024),
                request_timeout: Duration::from_secs(request_timeout_secs.max(1)),
                concurrency: concurrency.max(1),
                page_size: 1000,
                page_bytes: log_page_bytes.max(1024),
                header_timeout: Duration::from_secs(header_timeout_secs.max(1)),
                body_timeout: Duration::from_secs(body_timeout_secs.max(1)),
                per_client: per_client.max(1),
                posts_per_sec: posts_per_sec.max(1),
                max_in_flight: max_in_flight.max(1),
                witness_timeout: Duration::from_secs(witness_timeout_secs.max(1)),
            };
            let pass = state::passphrase(passphrase_file.as_deref())?;
            let config = Config {
                state,
                passphrase: zeroize::Zeroizing::new(pass.as_bytes().to_vec()),
                limits,
                tls: match (tls_cert, tls_key) {
                    (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
                    _ => None,
                },
                accept_unanchored_log,
                fault: None,
            };
            drop(pass);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| NodeError::State(format!("starting the async runtime: {e}")))?;
            rt.block_on(serve(config, listen, addr_file))
        }
    }
}

/// Load everything, then bind, announce the address, and serve until Ctrl-C or SIGTERM.
async fn serve(
    config: Config,
    listen: SocketAddr,
    addr_file: Option<PathBuf>,
) -> Result<(), NodeError> {
    if ceremony::is_pending(&config.state) {
        // A node made with `init --dkg`: the ceremony first, then the usual service on the
        // same socket.
        let listener = std::net::TcpListener::bind(listen)
            .map_err(|e| NodeError::io(format!("listen address {listen}"), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| NodeError::io("listener", e))?;
        println!("trustee-node waiting for a key-generation ceremony on {addr}");
        write_addr(addr_file.as_deref(), addr)?;
        return trustee_node::run(listener, config, trustee_node::shutdown_signal()).await;
    }
    // Everything is loaded and checked before the socket is bound.
    let loaded = trustee_node::load(config).await?;
    let listener = std::net::TcpListener::bind(listen)
        .map_err(|e| NodeError::io(format!("listen address {listen}"), e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| NodeError::io("listener", e))?;
    let scheme = if loaded.tls() { "https" } else { "http" };
    println!(
        "trustee-node {} listening on {scheme}://{addr} (log size {})",
        loaded.index(),
        loaded.log_size()
    );
    write_addr(addr_file.as_deref(), addr)?;
    trustee_node::serve(listener, loaded, trustee_node::shutdown_signal()).await
}

fn write_addr(addr_file: Option<&std::path::Path>, addr: SocketAddr) -> Result<(), NodeError> {
    if let Some(f) = addr_file {
        let tmp = f.with_extension("tmp");
        std::fs::write(&tmp, addr.to_string()).map_err(|e| NodeError::io(&tmp, e))?;
        std::fs::rename(&tmp, f).map_err(|e| NodeError::io(f, e))?;
    }
    Ok(())
}
