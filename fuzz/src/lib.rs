//! Fuzz targets for every parser of untrusted input (see `README.md`). The targets are plain
//! functions in [`targets`], so that a crash input can be replayed through the same code the
//! fuzzer ran; `src/bin/<target>.rs` wraps each in `afl::fuzz!`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod fixtures;
pub mod targets;
