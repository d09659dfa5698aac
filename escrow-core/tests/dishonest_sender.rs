//! Attacker tests: the sender who dodges escrow by writing a false label (issue 11).
//!
//! The trustees judge a message only by its label. A dishonest sender who seals a message to
//! bob's key but labels it with another recipient, another spelling of an account, another
//! sender or a time far from when it was sent puts it outside a warrant on the real parties.
//! The recipient's check (`message::open` with a `Receipt`) refuses every such message, and
//! scope matching compares normalised names, so a different spelling of a target is still in
//! scope.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use escrow_core::Error;
use escrow_core::keys::PrivateKey;
use escrow_core::label::{Label, normalize_account};
use escrow_core::message::{self, LabelMismatch, Receipt, SealedMessage};
use escrow_core::time::Timestamp;
use escrow_core::trustee::{TrusteeSet, deal};
use escrow_core::warrant::{Scope, ScopeMiss, Window};

/// 2026-11-30T10:00:00Z: when bob's client received the message.
const RECEIVED: i64 = 1_796_032_800;
const DAY: u64 = 86_400;

/// `zoë@exämple.org` in NFD: `e` + U+0308, `a` + U+0308.
const ZOE_NFD: &str = "zoe\u{308}@exa\u{308}mple.org";
const ZOE_NFC: &str = "zo\u{eb}@ex\u{e4}mple.org";

struct World {
    set: TrusteeSet,
    bob: PrivateKey,
}

fn world() -> World {
    let mut rng = rand::rng();
    World {
        set: deal(3, 2, &mut rng).unwrap().set,
        bob: PrivateKey::generate(&mut rng),
    }
}

/// Seal to bob's key under a label written field by field, as a dishonest client would
/// (bypassing `Label::new`'s normalisation).
fn seal_raw(w: &World, sender: &str, recipient: &str, t: i64) -> SealedMessage {
    let label = Label {
        sender: sender.into(),
        recipient: recipient.into(),
        timestamp: Timestamp(t),
        message_id: "m-1".into(),
    };
    label.check().unwrap();
    message::seal(&w.set, &w.bob.public(), &label, b"hi bob", &mut rand::rng()).unwrap()
}

/// Bob's client: bob's own account, the sender the transport authenticated, the receipt.
fn bob_receiving_from(sender: &str) -> Receipt {
    Receipt::new("bob@example.org", sender, Timestamp(RECEIVED), DAY).unwrap()
}

fn mismatches(w: &World, m: &SealedMessage, r: &Receipt) -> Vec<&'static str> {
    let (_, mm) = message::open_reporting_label(&w.bob, &w.set, m, r).unwrap();
    mm.iter().map(LabelMismatch::code).collect()
}

fn assert_mislabelled(w: &World, m: &SealedMessage, r: &Receipt, needle: &str) {
    match message::open(&w.bob, &w.set, m, r) {
        Err(Error::Mislabelled { message_id, why }) => {
            assert_eq!(message_id, "m-1");
            assert!(why.contains(needle), "{why:?} should mention {needle:?}");
        }
        other => panic!("expected Mislabelled, got {other:?}"),
    }
}

#[test]
fn honest_label_opens() {
    let w = world();
    let m = seal_raw(&w, "alice@example.org", "bob@example.org", RECEIVED - 60);
    let o = message::open(&w.bob, &w.set, &m, &bob_receiving_from("alice@example.org")).unwrap();
    assert_eq!(&o.body[..], b"hi bob");
    // The receipt normalises what the client knows, too.
    let r = Receipt::new(
        "bob@EXAMPLE.org",
        "alice@Example.Org",
        Timestamp(RECEIVED),
        DAY,
    )
    .unwrap();
    assert_eq!(r.recipient(), "bob@example.org");
    message::open(&w.bob, &w.set, &m, &r).unwrap();
}

#[test]
fn label_naming_another_recipient_is_refused() {
    // Sealed to bob's key, labelled as a message to `Alice@example.org`.
    let w = world();
    let m = seal_raw(&w, "alice@example.org", "Alice@example.org", RECEIVED);
    let r = bob_receiving_from("alice@example.org");
    assert_mislabelled(&w, &m, &r, "names recipient \"Alice@example.org\"");
    assert_eq!(mismatches(&w, &m, &r), ["recipient"]);
}

#[test]
fn label_with_a_denormalised_account_is_refused() {
    // `zoë@exämple.org` in NFD: a warrant on the NFC spelling would have missed it before
    // names were normalised; the recipient refuses it even though it is the same account.
    let w = world();
    let m = seal_raw(&w, ZOE_NFD, "bob@example.org", RECEIVED);
    let r = bob_receiving_from(ZOE_NFC);
    assert_mislabelled(&w, &m, &r, "not in normal form");
    assert_eq!(mismatches(&w, &m, &r), ["not-normalised"]);
    // A domain in upper case is not in normal form either.
    let m = seal_raw(&w, "alice@EXAMPLE.org", "bob@example.org", RECEIVED);
    let r = bob_receiving_from("alice@example.org");
    assert_eq!(mismatches(&w, &m, &r), ["not-normalised"]);
}

#[test]
fn label_with_a_time_outside_the_tolerance_is_refused() {
    let w = world();
    let r = bob_receiving_from("alice@example.org");
    // A time in 1999.
    let m = seal_raw(&w, "alice@example.org", "bob@example.org", 915_148_800);
    assert_mislabelled(&w, &m, &r, "more than 86400 s from the receipt");
    assert_eq!(mismatches(&w, &m, &r), ["time"]);
    // The tolerance holds both ways, inclusive at its edges.
    let tol = i64::try_from(DAY).unwrap();
    for (t, ok) in [
        (RECEIVED - tol, true),
        (RECEIVED + tol, true),
        (RECEIVED - tol - 1, false),
        (RECEIVED + tol + 1, false),
    ] {
        let m = seal_raw(&w, "alice@example.org", "bob@example.org", t);
        assert_eq!(message::open(&w.bob, &w.set, &m, &r).is_ok(), ok, "t = {t}");
    }
}

#[test]
fn label_naming_another_sender_is_refused() {
    let w = world();
    let m = seal_raw(&w, "mallory@example.org", "bob@example.org", RECEIVED);
    let r = bob_receiving_from("alice@example.org");
    assert_mislabelled(&w, &m, &r, "came from \"alice@example.org\"");
    assert_eq!(mismatches(&w, &m, &r), ["sender"]);
}

#[test]
fn every_mismatch_is_reported_and_compliance_comes_first() {
    let w = world();
    let m = seal_raw(&w, "Mallory@EXAMPLE.org", "carol", 915_148_800);
    let r = bob_receiving_from("alice@example.org");
    assert_eq!(
        mismatches(&w, &m, &r),
        ["not-normalised", "recipient", "sender", "time"]
    );
    // A message whose escrow header is wrong is refused as non-compliant, label or not.
    let mut forged = m.clone();
    forged.escrow = seal_raw(&w, "alice@example.org", "bob@example.org", RECEIVED)
        .escrow
        .clone();
    forged.id = forged.escrow.label.message_id.clone();
    assert!(matches!(
        message::open(&w.bob, &w.set, &forged, &r),
        Err(Error::NonCompliant { .. })
    ));
}

#[test]
fn sealing_writes_accounts_in_normal_form() {
    let l = Label::new(ZOE_NFD, "Bob@EXAMPLE.org", Timestamp(RECEIVED), "m-1").unwrap();
    assert_eq!(l.sender, ZOE_NFC);
    assert_eq!(l.recipient, "Bob@example.org");
    assert!(l.accounts_normalized());
}

#[test]
fn normal_form_is_idempotent() {
    for s in [
        ZOE_NFD,
        "Alice@EXAMPLE.org",
        "a@b@C",
        "\u{130}@\u{130}.org",      // İ: lower-cases to i + U+0307
        "\u{2126}mega@\u{212b}.se", // OHM SIGN, ANGSTROM SIGN: NFC maps them
        "x@\u{1e9e}.de",            // capital sharp s
        "no-at-sign",
    ] {
        let once = normalize_account(s).into_owned();
        assert_eq!(normalize_account(&once), once, "{s:?}");
    }
}

#[test]
fn scope_matches_normalised_names() {
    let scope = |t: &str| Scope {
        targets: vec![t.into()],
        message_ids: vec![],
        window: Window {
            from: Timestamp(0),
            until: Timestamp(RECEIVED * 2),
        },
    };
    let raw = |sender: &str| Label {
        sender: sender.into(),
        recipient: "bob@example.org".into(),
        timestamp: Timestamp(RECEIVED),
        message_id: "m-1".into(),
    };
    // A warrant on the NFC spelling covers a label written in NFD, and the reverse.
    assert_eq!(scope(ZOE_NFC).check(&raw(ZOE_NFD)), Ok(()));
    assert_eq!(scope(ZOE_NFD).check(&raw(ZOE_NFC)), Ok(()));
    // Domains compare without case; local parts keep theirs.
    assert_eq!(
        scope("alice@example.org").check(&raw("alice@EXAMPLE.ORG")),
        Ok(())
    );
    assert_eq!(
        scope("alice@example.org").check(&raw("Alice@example.org")),
        Err(ScopeMiss::Account)
    );
}
