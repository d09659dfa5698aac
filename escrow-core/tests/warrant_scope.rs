//! Property tests for scope matching, above all at the edges of the window `[from, until)`.

// Tests may unwrap, panic and index (the workspace denies these in library code).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{double_lock_policy, double_locked, warrant_payload};
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::time::Timestamp;
use escrow_core::warrant::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn scope(targets: &[&str], ids: &[&str], from: i64, until: i64) -> Scope {
    Scope {
        targets: targets.iter().map(|s| s.to_string()).collect(),
        message_ids: ids.iter().map(|s| s.to_string()).collect(),
        window: Window {
            from: Timestamp(from),
            until: Timestamp(until),
        },
    }
}

fn label(sender: &str, recipient: &str, t: i64, id: &str) -> Label {
    Label::new(sender, recipient, Timestamp(t), id).unwrap()
}

const ACCOUNTS: [&str; 4] = ["alice", "bob", "carol", "dave"];
const IDS: [&str; 4] = ["m1", "m2", "m3", "m4"];

proptest! {
    #[test]
    fn window_is_inclusive_at_from_and_exclusive_at_until(
        from in -4_000_000_000i64..4_000_000_000,
        len in 1i64..100_000_000,
        d in -3i64..=3,
    ) {
        let until = from + len;
        let s = scope(&["alice"], &[], from, until);
        let w = s.window;
        // Around `from`: in scope from `from` itself on (if the window is long enough).
        let t = from + d;
        prop_assert_eq!(w.contains(Timestamp(t)), d >= 0 && d < len);
        let r = s.check(&label("alice", "bob", t, "m1"));
        if d < 0 {
            prop_assert_eq!(r, Err(ScopeMiss::BeforeWindow));
        } else if d < len {
            prop_assert_eq!(r, Ok(()));
        }
        // Around `until`: out of scope from `until` itself on.
        let t = until + d;
        prop_assert_eq!(w.contains(Timestamp(t)), d < 0 && d >= -len);
        let r = s.check(&label("bob", "alice", t, "m1"));
        if d >= 0 {
            prop_assert_eq!(r, Err(ScopeMiss::AfterWindow));
        } else if d >= -len {
            prop_assert_eq!(r, Ok(()));
        }
    }

    #[test]
    fn every_constraint_applies(
        targets in proptest::sample::subsequence(ACCOUNTS.to_vec(), 0..=4),
        ids in proptest::sample::subsequence(IDS.to_vec(), 0..=4),
        sender in proptest::sample::select(ACCOUNTS.to_vec()),
        recipient in proptest::sample::select(ACCOUNTS.to_vec()),
        id in proptest::sample::select(IDS.to_vec()),
        t in -10i64..20,
    ) {
        let s = scope(&targets, &ids, 0, 10);
        let l = label(sender, recipient, t, id);
        let account_ok = targets.is_empty() || targets.contains(&sender) || targets.contains(&recipient);
        let time_ok = (0..10).contains(&t);
        let id_ok = ids.is_empty() || ids.contains(&id);
        let r = s.check(&l);
        if targets.is_empty() && ids.is_empty() {
            // Never "everything"; and such a scope does not pass the format rules either.
            prop_assert_eq!(r, Err(ScopeMiss::EmptyScope));
            prop_assert!(s.check_rules().is_err());
        } else {
            prop_assert!(s.check_rules().is_ok());
            prop_assert_eq!(r.is_ok(), account_ok && time_ok && id_ok);
            // The first failing constraint is named, in the order account, window, message id.
            let want = if !account_ok {
                Err(ScopeMiss::Account)
            } else if t < 0 {
                Err(ScopeMiss::BeforeWindow)
            } else if t >= 10 {
                Err(ScopeMiss::AfterWindow)
            } else if !id_ok {
                Err(ScopeMiss::MessageId)
            } else {
                Ok(())
            };
            prop_assert_eq!(r, want);
        }
    }

    #[test]
    fn matching_is_exact_bytes(target in "[a-zA-Z]{1,12}", other in "[a-zA-Z]{1,12}") {
        let s = scope(&[&target], &[], 0, 10);
        let r = s.check(&label(&other, "zz-nobody", 5, "m1"));
        prop_assert_eq!(r.is_ok(), other == target);
    }
}

/// The same edges through a real, verified warrant.
#[test]
fn verified_warrant_scope_edges() {
    let mut rng = rand::rng();
    let sos = PrivateKey::generate(&mut rng);
    let jc = PrivateKey::generate(&mut rng);
    let inv = PrivateKey::generate(&mut rng);
    let policy = double_lock_policy(&sos, &jc);
    let from = Timestamp::parse("2026-11-01T00:00:00Z").unwrap();
    let until = Timestamp::parse("2026-12-01T00:00:00Z").unwrap();
    let p = WarrantPayload {
        not_after: from.plus(30 * 86_400),
        ..warrant_payload("w-prop", "OP-PROP", "alice", Window { from, until }, &inv)
    };
    let e = double_locked(&p, &sos, &jc);
    let w = policy.verify(&e, from.plus(3600), &|_| false).unwrap();
    let span = until.0 - from.0;
    let mut runner = TestRunner::new(Config {
        cases: 512,
        ..Config::default()
    });
    runner
        .run(&(-2 * span..3 * span), |off| {
            let t = from.0 + off;
            let r = w.check_scope(&label("alice", "bob", t, "m1"));
            let inside = from.0 <= t && t < until.0;
            prop_assert_eq!(r.is_ok(), inside);
            if let Err(refusal) = r {
                prop_assert_eq!(refusal.code, ReasonCode::OutOfScope);
                // The refusal names the warrant's edge, never the message's time.
                prop_assert!(
                    !refusal.detail.contains(&Timestamp(t).to_rfc3339())
                        || t == from.0
                        || t == until.0
                );
            }
            Ok(())
        })
        .unwrap();
    for (t, ok) in [
        (from.0 - 1, false),
        (from.0, true),
        (until.0 - 1, true),
        (until.0, false),
    ] {
        assert_eq!(
            w.check_scope(&label("carol", "alice", t, "m9")).is_ok(),
            ok,
            "t = {t}"
        );
    }
}
