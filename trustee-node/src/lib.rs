//! `trustee-node` as a library: one trustee of a threshold key-escrow set as an HTTP service.
//!
//! The binary (`src/main.rs`) only parses arguments and calls this library; tests and the lab
//! may run a node in process:
//!
//! ```no_run
//! # async fn demo(state: std::path::PathBuf) -> Result<(), trustee_node::NodeError> {
//! let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| trustee_node::NodeError::io("bind", e))?;
//! let config = trustee_node::Config::new(state, b"a passphrase of some length".to_vec());
//! trustee_node::run(listener, config, std::future::pending()).await
//! # }
//! ```
//!
//! The HTTP API is documented in `docs/api.md`.

pub mod api;
pub mod ceremony;
pub mod db;
pub mod error;
pub mod fault;
pub mod gate;
pub mod sealed;
pub mod server;
pub mod state;

pub use error::NodeError;
pub use fault::Fault;
pub use sealed::KdfCost;
pub use server::{Limits, Node};
pub use state::{InitReport, LogReport, init, verify_log};

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// A TLS certificate chain and its private key, both PEM files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain (PEM).
    pub cert: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// What `serve` needs: the state folder, the passphrase that opens it, limits, TLS.
pub struct Config {
    /// The state folder made by [`init`].
    pub state: PathBuf,
    /// The passphrase that opens the sealed secrets (zeroized on drop).
    pub passphrase: Zeroizing<Vec<u8>>,
    /// Request limits.
    pub limits: Limits,
    /// Serve HTTPS with these files (plain HTTP when `None`).
    pub tls: Option<TlsFiles>,
    /// Start although the state folder has no signed checkpoint (see `serve --help`).
    pub accept_unanchored_log: bool,
    /// Fault injection (tests and the demo's cheating trustee only). A library setting: the
    /// `trustee-node` binary has no option that sets it (docs/architecture.md §4).
    pub fault: Option<Fault>,
}

impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("state", &self.state)
            .field("passphrase", &"[REDACTED]")
            .field("limits", &self.limits)
            .field("tls", &self.tls)
            .field("accept_unanchored_log", &self.accept_unanchored_log)
            .field("fault", &self.fault)
            .finish()
    }
}

impl Config {
    /// Default limits, plain HTTP, anchored log required, no fault.
    pub fn new(state: impl Into<PathBuf>, passphrase: Vec<u8>) -> Self {
        Config {
            state: state.into(),
            passphrase: Zeroizing::new(passphrase),
            limits: Limits::default(),
            tls: None,
            accept_unanchored_log: false,
            fault: None,
        }
    }
}

/// A node loaded from its state folder and ready to serve (see [`load`] and [`serve`]).
pub struct Loaded {
    node: Arc<Node>,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
}

impl core::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Loaded {{ node: {:?}, tls: {} }}",
            self.node,
            self.tls.is_some()
        )
    }
}

impl Loaded {
    /// The trustee index.
    pub fn index(&self) -> u16 {
        self.node.index()
    }
    /// The log size at start.
    pub fn log_size(&self) -> u64 {
        self.node.head().size
    }
    /// Is this node serving HTTPS?
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }
}

/// Load and check the state folder and the TLS files (everything `serve` needs), before any
/// socket is used.
pub async fn load(config: Config) -> Result<Loaded, NodeError> {
    let tls_files = config.tls.clone();
    let node = tokio::task::spawn_blocking(move || -> Result<Node, NodeError> {
        let Config {
            state,
            passphrase,
            limits,
            tls: _,
            accept_unanchored_log,
            fault,
        } = config;
        let loaded = state::load(&state, &passphrase, accept_unanchored_log)?;
        drop(passphrase);
        Node::new(loaded, limits, fault)
    })
    .await
    .map_err(|e| NodeError::State(format!("loading the state folder: {e}")))??;
    let mut node = node;
    if let Some(TlsFiles { cert, .. }) = &tls_files {
        // The key of the certificate served is bound to the trustee (signed now, by the
        // signing key the node holds): `/v1/info` carries it, and clients refuse a TLS peer
        // with another key (docs/api.md §3.1).
        let pem =
            std::fs::read(cert).map_err(|e| NodeError::Tls(format!("{}: {e}", cert.display())))?;
        let fp =
            tls_key_of_pem(&pem).map_err(|e| NodeError::Tls(format!("{}: {e}", cert.display())))?;
        node.bind_tls_key(fp);
    }
    if let Some(f) = node.fault() {
        tracing::warn!(fault = f.as_str(), "fault injection enabled");
    }
    let tls = rustls_config(tls_files.as_ref()).await?;
    Ok(Loaded {
        node: Arc::new(node),
        tls,
    })
}

/// The rustls configuration of `tls` (the process's crypto provider set to ring first), or
/// `None` for plain HTTP. The serving node and a pending node's ceremony share it.
async fn rustls_config(
    tls: Option<&TlsFiles>,
) -> Result<Option<axum_server::tls_rustls::RustlsConfig>, NodeError> {
    let Some(TlsFiles { cert, key }) = tls else {
        return Ok(None);
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map(Some)
        .map_err(|e| NodeError::Tls(format!("{} / {}: {e}", cert.display(), key.display())))
}

/// Serve `app` on `listener` until `handle` shuts it down: HTTPS with `tls`, plain HTTP
/// without; HTTP/1 request headers must arrive within `header_timeout`.
async fn serve_http(
    listener: std::net::TcpListener,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    handle: axum_server::Handle<SocketAddr>,
    header_timeout: Duration,
    app: axum::Router,
) -> Result<(), NodeError> {
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let mut server = axum_server::from_tcp(listener)
        .map_err(|e| NodeError::io("listener", e))?
        .handle(handle);
    server
        .http_builder()
        .http1()
        .header_read_timeout(header_timeout);
    let result = match tls {
        Some(cfg) => {
            server
                .acceptor(axum_server::tls_rustls::RustlsAcceptor::new(cfg))
                .serve(app)
                .await
        }
        None => server.serve(app).await,
    };
    result.map_err(|e| NodeError::io("server", e))
}

/// The fingerprint ([`escrow_core::api::tls_key_fingerprint`]) of the key of the first
/// certificate of a PEM chain (the server's own: TLS servers send it first).
pub fn tls_key_of_pem(pem: &[u8]) -> Result<escrow_core::codec::Digest32, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let first = CertificateDer::pem_slice_iter(pem)
        .next()
        .ok_or("no certificate (BEGIN CERTIFICATE) in the file")?
        .map_err(|e| format!("not a PEM certificate: {e}"))?;
    let parsed = rustls::server::ParsedCertificate::try_from(&first)
        .map_err(|e| format!("the first certificate does not parse: {e}"))?;
    Ok(escrow_core::api::tls_key_fingerprint(
        parsed.subject_public_key_info().as_ref(),
    ))
}

/// Load the node from `config` and serve on `listener` until `shutdown` completes (then
/// requests in flight get up to 30 s to finish).
///
/// A state folder made with `init --dkg` (no share yet) first serves only the key-generation
/// ceremony ([`ceremony`]); once it finishes, the completed folder is loaded and served as
/// usual on the same socket. Likewise, after a refresh ceremony replaced the node's share
/// ([`server::Refresher`]), the node stops, reloads its state folder and serves again on
/// the same socket.
pub async fn run(
    listener: std::net::TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    // one shutdown signal for every phase
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let mut listener = listener;
    if ceremony::is_pending(&config.state)
        && !ceremony::resume_pending(&config.state, &config.passphrase)?
    {
        let again = listener
            .try_clone()
            .map_err(|e| NodeError::io("listener", e))?;
        let finished = ceremony::serve_pending(
            listener,
            &config.state,
            &config.passphrase,
            config.limits,
            config.tls.clone(),
            stopped(stop_rx.clone()),
        )
        .await?;
        if !finished {
            return Ok(());
        }
        listener = again;
    }
    let mut first = true;
    loop {
        let again = listener
            .try_clone()
            .map_err(|e| NodeError::io("listener", e))?;
        let loaded = if first {
            load(config.copy()).await?
        } else {
            load_after_refresh(&config).await?
        };
        first = false;
        if !serve_until(listener, loaded, stopped(stop_rx.clone())).await? {
            return Ok(());
        }
        tracing::info!("reloading the state folder after a refresh");
        listener = again;
    }
}

/// Load again after a refresh: the old node may hold the state lock for a moment longer
/// (bounded: 100 × 50 ms).
async fn load_after_refresh(config: &Config) -> Result<Loaded, NodeError> {
    let mut tries = 0;
    loop {
        match load(config.copy()).await {
            Err(NodeError::StateInUse(_)) if tries < 100 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

impl Config {
    fn copy(&self) -> Config {
        Config {
            state: self.state.clone(),
            passphrase: self.passphrase.clone(),
            limits: self.limits,
            tls: self.tls.clone(),
            accept_unanchored_log: self.accept_unanchored_log,
            fault: self.fault,
        }
    }
}

/// Serve a loaded node on `listener` until `shutdown` completes.
pub async fn serve(
    listener: std::net::TcpListener,
    loaded: Loaded,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    serve_until(listener, loaded, shutdown).await.map(|_| ())
}

/// Serve until `shutdown` (`Ok(false)`) or until a refresh asks for a reload (`Ok(true)`).
async fn serve_until(
    listener: std::net::TcpListener,
    loaded: Loaded,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<bool, NodeError> {
    let Loaded {
        node,
        tls: tls_config,
    } = loaded;
    listener
        .set_nonblocking(true)
        .map_err(|e| NodeError::io("listener", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| NodeError::io("listener", e))?;
    if tls_config.is_none() && !addr.ip().is_loopback() {
        tracing::warn!(%addr, "serving plain HTTP on a non-loopback address; use --tls-cert/--tls-key");
    }
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    let mut reload = node.refresher().reload_requested();
    let (reloading_tx, reloading_rx) = tokio::sync::oneshot::channel::<bool>();
    tokio::spawn(async move {
        let again = tokio::select! {
            () = shutdown => {
                tracing::info!("shutting down: finishing requests in flight");
                false
            }
            _ = reload.wait_for(|r| *r) => true,
        };
        let _ = reloading_tx.send(again);
        h.graceful_shutdown(Some(Duration::from_secs(if again { 5 } else { 30 })));
    });
    let header_timeout = node.limits().header_timeout;
    serve_http(
        listener,
        tls_config,
        handle,
        header_timeout,
        server::router(node),
    )
    .await?;
    // the watcher sent its answer before it shut the server down
    let mut reloading_rx = reloading_rx;
    let again = reloading_rx.try_recv().unwrap_or(false);
    if !again {
        tracing::info!("stopped");
    }
    Ok(again)
}

/// A node serving on a thread of its own with its own tokio runtime (tests, the demo, the
/// lab), started by [`spawn`]; stopped gracefully by [`Spawned::shutdown`] or on drop.
pub struct Spawned {
    addr: SocketAddr,
    tls: bool,
    /// The node as [`spawn`] loaded it ([`spawn_run`] loads on its thread: `None`).
    node: Option<Arc<Node>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), NodeError>>>,
}

impl core::fmt::Debug for Spawned {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Spawned {{ addr: {}, tls: {} }}", self.addr, self.tls)
    }
}

/// Load the node from `config` (an Err here if it does not load, as `serve` would refuse to
/// start), then serve it on `listener` on a new thread until [`Spawned::shutdown`].
pub fn spawn(listener: std::net::TcpListener, config: Config) -> Result<Spawned, NodeError> {
    let addr = listener
        .local_addr()
        .map_err(|e| NodeError::io("listener", e))?;
    let rt = runtime(2)?;
    let loaded = rt.block_on(load(config))?;
    let tls = loaded.tls();
    let name = format!("trustee-node-{}", loaded.index());
    let node = Some(loaded.node.clone());
    on_thread(addr, tls, node, name, Rt::Own(rt), move |rx| {
        serve(listener, loaded, async move {
            let _ = rx.await;
        })
    })
}

/// [`run`] on a thread of its own with a one-worker runtime: unlike [`spawn`], a node made
/// with `init --dkg` serves its ceremony and then its set, and a node reloads after a refresh,
/// as `trustee-node serve` does (the lab's ceremony experiment runs many such nodes in one
/// process). A folder that does not load ends the thread: [`Spawned::shutdown`] returns why.
pub fn spawn_run(listener: std::net::TcpListener, config: Config) -> Result<Spawned, NodeError> {
    spawn_run_in(Rt::Own(runtime(1)?), listener, config)
}

/// [`spawn_run`] on a runtime shared by many nodes (`handle`): the node's accept loop runs on
/// a thread of its own, its requests on the shared runtime's workers and blocking pool. Many
/// nodes in one process (the lab's ceremony experiment at n = 128) then compute no more at once
/// than that runtime's threads, instead of one blocking thread per node (each node's ceremony
/// rounds run on the blocking pool). The runtime must outlive the nodes.
pub fn spawn_run_on(
    handle: tokio::runtime::Handle,
    listener: std::net::TcpListener,
    config: Config,
) -> Result<Spawned, NodeError> {
    spawn_run_in(Rt::Shared(handle), listener, config)
}

/// [`spawn_run`] / [`spawn_run_on`] on runtime `rt`.
fn spawn_run_in(
    rt: Rt,
    listener: std::net::TcpListener,
    config: Config,
) -> Result<Spawned, NodeError> {
    let addr = listener
        .local_addr()
        .map_err(|e| NodeError::io("listener", e))?;
    let tls = config.tls.is_some();
    on_thread(
        addr,
        tls,
        None,
        format!("trustee-node-{addr}"),
        rt,
        move |rx| {
            run(listener, config, async move {
                let _ = rx.await;
            })
        },
    )
}

/// The runtime a node thread drives its future on: its own, or one shared by many nodes.
enum Rt {
    Own(tokio::runtime::Runtime),
    Shared(tokio::runtime::Handle),
}

impl Rt {
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        match self {
            Rt::Own(rt) => rt.block_on(f),
            Rt::Shared(h) => h.block_on(f),
        }
    }
}

fn runtime(workers: usize) -> Result<tokio::runtime::Runtime, NodeError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| NodeError::State(format!("starting the async runtime: {e}")))
}

/// Drive `serve(stop)` on `rt` on a new thread named `name`; stopped by sending on `stop`.
fn on_thread<F>(
    addr: SocketAddr,
    tls: bool,
    node: Option<Arc<Node>>,
    name: String,
    rt: Rt,
    serve: impl FnOnce(tokio::sync::oneshot::Receiver<()>) -> F + Send + 'static,
) -> Result<Spawned, NodeError>
where
    F: Future<Output = Result<(), NodeError>>,
{
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name(name)
        .spawn(move || rt.block_on(serve(rx)))
        .map_err(|e| NodeError::io("node thread", e))?;
    Ok(Spawned {
        addr,
        tls,
        node,
        stop: Some(tx),
        thread: Some(thread),
    })
}

impl Spawned {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, or `https://ADDR` when it serves TLS.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The node being served, as [`spawn`] loaded it (for its counters, e.g.
    /// [`Node::leaf_hashes_read`]); `None` after [`spawn_run`].
    pub fn node(&self) -> Option<&Node> {
        self.node.as_deref()
    }

    /// Stop gracefully (requests in flight finish) and wait; how serving ended.
    pub fn shutdown(mut self) -> Result<(), NodeError> {
        self.stop_and_join().unwrap_or(Ok(()))
    }

    fn stop_and_join(&mut self) -> Option<Result<(), NodeError>> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.thread.take().map(|t| {
            t.join()
                .unwrap_or_else(|_| Err(NodeError::State("the node thread panicked".into())))
        })
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// Completes on Ctrl-C or SIGTERM (for [`run`]'s `shutdown`).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
