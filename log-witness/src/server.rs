//! The HTTP interface: `POST /add-checkpoint` (C2SP tlog-witness), `GET /evidence`,
//! `GET /v1/witness`. Every handler runs the SQLite work on a blocking thread.

use crate::witness::{Evidence, JSON_FORMAT_VERSION, LogState, Witness};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Largest accepted request body (63 proof lines and a checkpoint with many signatures fit).
pub const MAX_BODY: usize = 64 * 1024;

/// `GET /evidence`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceDoc {
    /// [`JSON_FORMAT_VERSION`].
    pub version: u32,
    /// The witness name.
    pub witness: String,
    /// Evidence, oldest first.
    pub evidence: Vec<Evidence>,
}

/// `GET /v1/witness` (unsigned; see docs/witness.md).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessDoc {
    /// [`JSON_FORMAT_VERSION`].
    pub version: u32,
    /// The witness name.
    pub name: String,
    /// Its cosignature/v1 verifier key.
    pub key: String,
    /// Followed logs.
    pub logs: Vec<LogState>,
}

/// The router.
pub fn router(w: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/evidence", get(evidence))
        .route("/v1/witness", get(info))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(w)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn text(status: StatusCode, ctype: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, ctype)], body).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!("{e}");
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/plain; charset=utf-8",
        "internal error\n".into(),
    )
}

async fn add_checkpoint(State(w): State<Arc<Witness>>, body: Bytes) -> Response {
    let result = tokio::task::spawn_blocking(move || w.add_checkpoint(&body, now())).await;
    match result {
        Err(e) => internal(e),
        Ok(Ok(cosig)) => text(StatusCode::OK, "text/plain; charset=utf-8", cosig),
        Ok(Err(e)) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                return internal(e);
            }
            tracing::info!(status = status.as_u16(), "refused: {e}");
            match e.held_size() {
                Some(held) => text(status, "text/x.tlog.size", format!("{held}\n")),
                None => text(status, "text/plain; charset=utf-8", format!("{e}\n")),
            }
        }
    }
}

async fn evidence(State(w): State<Arc<Witness>>) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        w.evidence().map(|evidence| EvidenceDoc {
            version: JSON_FORMAT_VERSION,
            witness: w.key().name().to_string(),
            evidence,
        })
    })
    .await;
    match result {
        Ok(Ok(doc)) => axum::Json(doc).into_response(),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

async fn info(State(w): State<Arc<Witness>>) -> Response {
    let result = tokio::task::spawn_blocking(move || {
        w.logs().map(|logs| WitnessDoc {
            version: JSON_FORMAT_VERSION,
            name: w.key().name().to_string(),
            key: w.key().verifier_key(),
            logs,
        })
    })
    .await;
    match result {
        Ok(Ok(doc)) => axum::Json(doc).into_response(),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// A witness served on a thread of its own with its own tokio runtime (the demo, the lab,
/// tests), started by [`spawn`]; stopped when dropped.
pub struct Spawned {
    url: String,
    witness: Arc<Witness>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl core::fmt::Debug for Spawned {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Spawned {{ url: {} }}", self.url)
    }
}

/// Serve `w` on `listener` (plain HTTP; bind it to a loopback address) on a new thread until
/// the returned handle is dropped.
pub fn spawn(listener: std::net::TcpListener, w: Arc<Witness>) -> std::io::Result<Spawned> {
    let url = format!("http://{}", listener.local_addr()?);
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = router(w.clone());
    let thread = std::thread::Builder::new()
        .name("log-witness".into())
        .spawn(move || {
            rt.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => {
                        let served = axum::serve(l, router)
                            .with_graceful_shutdown(async move {
                                let _ = rx.await;
                            })
                            .await;
                        if let Err(e) = served {
                            tracing::error!("witness server: {e}");
                        }
                    }
                    Err(e) => tracing::error!("witness listener: {e}"),
                }
            })
        })?;
    Ok(Spawned {
        url,
        witness: w,
        stop: Some(tx),
        thread: Some(thread),
    })
}

impl Spawned {
    /// `http://ADDR`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The witness it serves (its key, logs and evidence).
    pub fn witness(&self) -> &Witness {
        &self.witness
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
