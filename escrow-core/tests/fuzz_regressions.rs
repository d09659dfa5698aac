//! Defects found by the fuzz targets in `fuzz/` (see `fuzz/README.md`, "Findings"), one test
//! each, written from the crashing input before the fix.

// Tests may unwrap, panic and index (the workspace denies these in library code).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use escrow_core::Error;
use escrow_core::audit::LogEntry;
use escrow_core::codec::{KeyId, WarrantDigest};
use escrow_core::label::{MAX_TIMESTAMP, MIN_TIMESTAMP};
use escrow_core::time::Timestamp;

fn d(b: u8) -> WarrantDigest {
    WarrantDigest::from_bytes([b; 32])
}

/// Fuzz target `log_entry`: `LogEntry::from_bytes` accepted any 64-bit time, but the entry's
/// JSON view (served in `GET /v1/log/entries` pages) wrote a time past year 9999 as
/// `"@72057595837927936"`, which no reader accepts: one such entry made a whole page unreadable
/// instead of being reported as a bad entry. Times outside the RFC 3339 range are now refused by
/// the decoder and by `LogEntry::check`.
#[test]
fn log_entry_time_outside_rfc3339_is_refused() {
    for t in [
        72_057_595_837_927_936,
        MAX_TIMESTAMP + 1,
        MIN_TIMESTAMP - 1,
        i64::MIN,
    ] {
        let e = LogEntry::warrant_seen(0, Timestamp(t), d(1), KeyId::from_bytes([4; 32]));
        let err = LogEntry::from_bytes(&e.to_bytes()).unwrap_err();
        assert!(
            matches!(&err, Error::Malformed { what: "log entry", why } if why.contains("time")),
            "{t}: {err}"
        );
        assert!(matches!(e.check(), Err(Error::Malformed { .. })), "{t}");
    }
    // The first and last representable seconds decode, and their JSON view reads back.
    for t in [MIN_TIMESTAMP, MAX_TIMESTAMP] {
        let e = LogEntry::warrant_seen(0, Timestamp(t), d(1), KeyId::from_bytes([4; 32]));
        let back = LogEntry::from_bytes(&e.to_bytes()).unwrap();
        assert_eq!(back, e);
        let json = serde_json::to_string(&back).unwrap();
        assert_eq!(serde_json::from_str::<LogEntry>(&json).unwrap(), e);
    }
}

/// Fuzz target `v2_ciphertext`: the v2 decoder rebuilt the label with `Label::new`, which puts
/// account names in normal form, so a ciphertext whose label the sender wrote otherwise (here a
/// capital in the domain) decoded to another label: it re-encoded to other bytes, had another
/// digest, and its valid proof failed. The decoder now keeps the label as written, as the v1
/// JSON reader does (the recipient's check is what refuses a label not in normal form).
#[test]
fn v2_ciphertext_keeps_the_label_as_written() {
    use escrow_core::label::Label;
    use escrow_core::secret::MessageKey;
    use escrow_core::v2::{EscrowCiphertextV2, encapsulate_v2};
    use rand::SeedableRng as _;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let set = escrow_core::trustee::deal(3, 2, &mut rng).unwrap().set;
    let label = Label {
        sender: "alice@exampleNorg".into(),
        recipient: "bob@example.org".into(),
        timestamp: Timestamp(1_800_000_000),
        message_id: "m-v2".into(),
    };
    assert!(!label.accounts_normalized());
    let key = MessageKey::random(&mut rng);
    let (ct, _) = encapsulate_v2(&set, &label, &key, &mut rng).unwrap();
    let bytes = ct.to_bytes();
    let back = EscrowCiphertextV2::from_bytes(&bytes).unwrap();
    assert_eq!(back.label, label);
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(back.digest(), ct.digest());
    back.check(&set).unwrap();
}
