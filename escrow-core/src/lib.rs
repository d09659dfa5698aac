//! # escrow-core
//!
//! Every formula and every format of the threshold key-escrow system, and no I/O: no network,
//! no files, no clock (times are passed in).
//!
//! * [`trustee`] — a trustee set dealt with Feldman VSS on P-256 (`vsss-rs`); a key share
//!   becomes a [`trustee::VerifiedKeyShare`] only after its Feldman check.
//! * [`label`] — the escrow label (sender, recipient, time, message id) and its canonical bytes.
//! * [`tdh2`] — the labelled, CCA-secure threshold ElGamal KEM of Shoup and Gennaro (TDH2);
//!   a ciphertext becomes a [`tdh2::ValidCiphertext`] only after its public check.
//! * [`share`] — decryption shares with Chaum–Pedersen DLEQ proofs, and the combiner.
//! * [`ecies`] — ECIES on P-256 (ephemeral ECDH, HKDF-SHA-256, AES-256-GCM).
//! * [`message`] — sealed messages: end-to-end part, body, escrow header; the recipient's
//!   compliance check (the answer to Blaze's attack on Clipper's LEAF).
//! * [`keys`] — ECDSA P-256 keys in PEM (PKCS#8 / SPKI), key ids.
//! * [`release`] — release requests, signed release responses, shares sealed to the
//!   investigator, and the trustee's per-ciphertext decisions.
//! * [`api`] — the wire types of every trustee-node endpoint and its error codes.
//! * [`v2`] — release protocol version 2: batchable ciphertext proofs checked in batches, one
//!   DLEQ proof and one key exchange per trustee answer, compact binary encodings.
//! * [`audit`] — audit-log entries (canonical bytes) and RFC 9162 Merkle tree hashing.
//! * [`dkg`] — distributed key generation and proactive refresh among the trustees (no dealer
//!   ever holds x), with verifiable complaints and a success certificate.
//! * [`auth`] — signed requests (the `Escrow-Signature` header) and the node's nonce cache.
//!
//! The byte-level protocol is specified in `docs/protocol.md`.
#![deny(missing_docs)]

pub mod api;
mod arith;
pub mod audit;
pub mod auth;
pub mod bounds;
pub mod codec;
pub mod dkg;
pub mod ecies;
pub mod error;
pub mod group;
pub mod keys;
pub mod label;
pub mod message;
pub mod release;
pub mod secret;
pub mod share;
pub mod tdh2;
#[cfg(any(test, feature = "test-fixtures"))]
#[doc(hidden)]
pub mod test_fixtures;
pub mod time;
pub mod trustee;
pub mod v2;
pub mod warrant;
pub mod witnessing;

pub use error::{Error, Result};
