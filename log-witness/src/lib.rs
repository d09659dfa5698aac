//! A C2SP tlog-witness (<https://c2sp.org/tlog-witness>) for the trustees' audit logs.
//!
//! The witness follows a set of logs (origin + log verifier key). For each, it keeps the last
//! checkpoint it cosigned. Given a new signed checkpoint and a consistency proof from that one,
//! it verifies both, commits the new checkpoint, and returns a C2SP tlog-cosignature
//! (`cosignature/v1`, Ed25519, timestamped). It refuses a checkpoint that is inconsistent with
//! what it cosigned, or that rolls it back, and keeps the refused signed checkpoint beside the
//! one it held as evidence. See `docs/witness.md`.
//!
//! The checkpoint and proof formats and their verification are escrow-core's
//! ([`escrow_core::audit`]); this crate adds the cosignature, the state and the HTTP service.

pub mod auditing;
pub mod cosig;
pub mod request;
pub mod server;
pub mod witness;

pub use cosig::{WitnessKey, cosignature_key_id, cosigned_message};
pub use request::AddCheckpoint;
pub use witness::{Audited, Evidence, LogState, Witness, WitnessError};
