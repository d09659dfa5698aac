//! The log served as C2SP tlog-tiles (`docs/api.md` §3.11): `GET /checkpoint`,
//! `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`.
//!
//! Storage: level-0 tiles and entry bundles are read from SQLite as one range query over the
//! primary key (`seq`) each; the hashes of level 1 and above (one per full tile below) are
//! kept in memory, append-only (`size / 255` hashes in all, about 4 bytes per log entry):
//! derived while the node checks its whole log at start ([`crate::db::Db::verify`]), then
//! extended from each newly full level-0 tile when a tile above level 0 or a proof needs it.
//! A full tile never changes, so they are never invalidated. Every tile of a tree of size `n`
//! therefore costs one bounded read, a tile client reads an inclusion or consistency proof
//! with `O(log n)` tiles, and the node computes the proofs of `/v1/log/proof/*` and of its
//! release gate the same way ([`Node::prover`], `escrow_core::audit::tiles::TileProver`).

use super::{Node, Shared, blocking, lock};
use crate::api::ApiError;
use crate::db;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use escrow_core::audit::tiles::{
    TileError, TileId, TileKind, TileProver, UpperLevels, entry_bundle, tile_bytes,
};
use escrow_core::codec::Digest32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The derived hashes of levels 1 and above, and a count of the leaf hashes read.
#[derive(Debug, Default)]
pub(super) struct TileCache {
    upper: Mutex<UpperLevels>,
    leaves_read: AtomicU64,
}

impl TileCache {
    /// Starting from the upper levels derived when the log was checked.
    pub(super) fn new(upper: UpperLevels) -> Self {
        TileCache {
            upper: Mutex::new(upper),
            leaves_read: AtomicU64::new(0),
        }
    }
}

/// Reads the hashes of one level of the node's tree (see [`TileProver`]).
pub(crate) type LevelReader<'a> = Box<dyn Fn(u8, u64, u64) -> Result<Vec<Digest32>, String> + 'a>;

impl Node {
    /// Leaf hashes `[start, end)`, all of them or an error.
    pub(super) fn leaf_range(&self, start: u64, end: u64) -> Result<Vec<Digest32>, ApiError> {
        let conn = lock(&self.reader);
        let hashes = db::read_leaf_hash_range(&conn, &self.db_path, start, end)
            .map_err(|e| ApiError::internal("reading the log", e))?;
        self.tiles
            .leaves_read
            .fetch_add(hashes.len() as u64, Ordering::Relaxed);
        if hashes.len() as u64 != end.saturating_sub(start) {
            return Err(ApiError::internal(
                "reading the log",
                format!("leaves {start}..{end}: {} read", hashes.len()),
            ));
        }
        Ok(hashes)
    }

    /// Hashes `[start, end)` of `level` in a tree of `size` leaves (the caller checked that
    /// they exist: `end <= size >> 8·level`).
    fn level_hashes(
        &self,
        level: u8,
        start: u64,
        end: u64,
        size: u64,
    ) -> Result<Vec<Digest32>, ApiError> {
        if level == 0 {
            return self.leaf_range(start, end);
        }
        let mut upper = lock(&self.tiles.upper);
        upper.extend(
            level,
            size,
            |s, e| self.leaf_range(s, e),
            || ApiError::internal("tile cache", "a short tile below"),
        )?;
        upper
            .hashes(level, start, end)
            .map(<[Digest32]>::to_vec)
            .ok_or_else(|| ApiError::internal("tile cache", "range not derived"))
    }

    /// Leaf hashes read from the log table for tiles and proofs since the node started (the
    /// whole-log check at start not counted): what the tests hold to `O(log n)` per proof.
    pub fn leaf_hashes_read(&self) -> u64 {
        self.tiles.leaves_read.load(Ordering::Relaxed)
    }

    /// Tree hashes and proofs of the tree of `size` leaves (at most the current size) from
    /// the stored tiles: `O(log n)` tile reads each.
    pub(crate) fn prover(&self, size: u64) -> TileProver<LevelReader<'_>> {
        TileProver::new(
            size,
            Box::new(move |level, start, end| {
                self.level_hashes(level, start, end, size)
                    .map_err(|e| e.message)
            }),
        )
    }

    /// The bytes of one tile or entry bundle of the current tree; `None` when the tile does not
    /// exist in it (not yet, or never: a width the tree never had at that index).
    pub fn tile(&self, id: &TileId) -> Result<Option<Vec<u8>>, ApiError> {
        let size = self.head().size;
        let Some((start, end)) = id.range_in(size) else {
            return Ok(None);
        };
        match id.kind {
            TileKind::Hashes(level) => Ok(Some(tile_bytes(
                &self.level_hashes(level, start, end, size)?,
            ))),
            TileKind::Entries => {
                let rows = {
                    let conn = lock(&self.reader);
                    db::read_entries(&conn, &self.db_path, start, end, usize::MAX)
                        .map_err(|e| ApiError::internal("reading the log", e))?
                };
                if rows.len() as u64 != end - start {
                    return Err(ApiError::internal("reading the log", "short entry range"));
                }
                entry_bundle(start, rows.iter().map(|r| r.bytes.as_slice()))
                    .map(Some)
                    .map_err(|e| match e {
                        TileError::EntryTooLong { .. } => ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            "entry-too-long",
                            format!("{e}; read it from /v1/log/entries"),
                        ),
                        other => ApiError::internal("an entry bundle", other),
                    })
            }
        }
    }
}

/// `GET /tile/{*path}`.
pub(super) async fn h_tile(
    State(node): State<Shared>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let id = TileId::parse(&path)
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, "not-found", e.to_string()))?;
    let Some(bytes) = blocking(&node, move |n| n.tile(&id)).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!(
                "tile {} is not in the log (size {})",
                id.path(),
                node.head().size
            ),
        ));
    };
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(r)
}
