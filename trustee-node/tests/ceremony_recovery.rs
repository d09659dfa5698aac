//! A node stopped (kill -9) inside a ceremony's finalise: the state a stop leaves after each
//! step of the refresh's finalise, of a reshare dealer's and of a keygen's is made here from a
//! real ceremony (run in memory among the set's trustees), and the node started on it either
//! finishes the ceremony (each file and log entry exactly once) or refuses to start naming the
//! unfinished ceremony — never a mix of old and new files (docs/protocol.md §16.11). The
//! kill -9 of real node processes between round 3 and finalise is in `tests/tests/dkg.rs`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use escrow_core::audit::{EntryKind, LogEntry};
use escrow_core::codec::{Digest32, SetId, V1};
use escrow_core::dkg::{self, CeremonyKind, DkgOutput, SessionParams};
use escrow_core::keys::PrivateKey;
use escrow_core::trustee::{KeyShare, TrusteeSet};
use std::path::{Path, PathBuf};
use trustee_node::ceremony::{self, CeremonyMarker, Journal, RetiredFile};
use trustee_node::sealed::{KdfCost, SealedSecrets, SecretBundle};
use trustee_node::{NodeError, state};

/// Run the rounds of `params` in memory (participant i = `keys[i-1]`); each one's output.
fn drive(
    params: &SessionParams,
    keys: &[PrivateKey],
    previous: Option<(&TrusteeSet, &[escrow_core::trustee::VerifiedKeyShare])>,
) -> Vec<DkgOutput> {
    let rng = &mut rand::rng();
    let (s1, r1): (Vec<_>, Vec<_>) = keys
        .iter()
        .zip(1u16..)
        .map(|(k, i)| match previous {
            None => dkg::start_keygen(params.clone(), i, k.clone(), rng).unwrap(),
            Some((set, shares)) => dkg::start_refresh(
                params.clone(),
                i,
                k.clone(),
                set.clone(),
                shares[usize::from(i) - 1].clone(),
                rng,
            )
            .unwrap(),
        })
        .unzip();
    let (s2, r2): (Vec<_>, Vec<_>) = s1
        .into_iter()
        .map(|s| s.round2(r1.clone()).unwrap())
        .unzip();
    let (s3, r3): (Vec<_>, Vec<_>) = s2
        .into_iter()
        .map(|s| s.round3(r2.clone(), rng).unwrap())
        .unzip();
    s3.into_iter()
        .map(|s| s.finalise(r3.clone()).unwrap())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn entries(state: &Path) -> Vec<LogEntry> {
    let path = state.join(state::DB_FILE);
    let conn = trustee_node::db::open_reader(&path).unwrap();
    trustee_node::db::read_entries(&conn, &path, 0, u64::MAX >> 1, usize::MAX)
        .unwrap()
        .iter()
        .map(|e| LogEntry::from_bytes(&e.bytes).unwrap())
        .collect()
}

fn count(entries: &[LogEntry], kind: EntryKind, document: Digest32) -> usize {
    entries
        .iter()
        .filter(|e| e.kind == kind && e.document == Some(document))
        .count()
}

fn sealed(state: &Path) -> SealedSecrets {
    serde_json::from_str(&std::fs::read_to_string(state.join(state::SECRETS_FILE)).unwrap())
        .unwrap()
}

fn set_in(state: &Path) -> TrusteeSet {
    TrusteeSet::from_json(&std::fs::read_to_string(state.join(state::SET_FILE)).unwrap()).unwrap()
}

/// Trustee 1's finalise journal for `out`, as the node builds it: its new share sealed with
/// the signing and log keys of `keys` (its sealed secrets so far).
fn journal_of(out: &DkgOutput, keys: &SecretBundle, previous_set: Option<SetId>) -> Journal {
    let bundle = SecretBundle {
        key_share: out
            .share
            .as_ref()
            .unwrap()
            .to_key_share()
            .to_json()
            .to_string(),
        signing_key: keys.signing_key.clone(),
        log_key: keys.log_key.clone(),
    };
    Journal {
        version: V1::default(),
        kind: out.certificate.params.kind,
        set: out.set.to_json(),
        certificate: out.certificate.to_json(),
        secrets: SealedSecrets::seal(&bundle, out.set.id(), 1, PASS.as_bytes(), KdfCost::Test)
            .unwrap(),
        previous_set,
        time: now(),
    }
}

/// Trustee 1's state folder (made by `trustee-node init`) and a real refresh of the set,
/// its finalise journal built as the node's finalise builds it.
struct Refreshed {
    fx: Fixture,
    state: PathBuf,
    journal: Journal,
    new_set: TrusteeSet,
    transcript: Digest32,
}

fn refreshed() -> Refreshed {
    let fx = Fixture::new(3, 2);
    let state = fx.init(1);
    let mut keys = Vec::new();
    let mut shares = Vec::new();
    for d in &fx.trustee_dirs {
        let ks = std::fs::read_to_string(d.join("key-share.json")).unwrap();
        shares.push(
            fx.set
                .verify_share(KeyShare::from_json(&ks).unwrap())
                .unwrap(),
        );
        let pem = std::fs::read_to_string(d.join("signing.key")).unwrap();
        keys.push(PrivateKey::from_pem(&pem).unwrap());
    }
    let params = SessionParams::refresh(&fx.set, &mut rand::rng()).unwrap();
    let out = drive(&params, &keys, Some((&fx.set, &shares))).swap_remove(0);
    let old = sealed(&state).open(PASS.as_bytes()).unwrap();
    let journal = journal_of(&out, &old, Some(fx.set.id()));
    Refreshed {
        transcript: out.certificate.transcript,
        new_set: out.set,
        fx,
        state,
        journal,
    }
}

fn marker(kind: CeremonyKind, set_id: SetId, previous: Option<SetId>) -> CeremonyMarker {
    CeremonyMarker {
        version: V1::default(),
        kind,
        session: Digest32::sha256(b"session"),
        transcript: Digest32::sha256(b"transcript"),
        set_id,
        previous_set: previous,
        time: now(),
    }
}

fn write_marker(state: &Path, m: &CeremonyMarker) {
    std::fs::write(
        state.join(ceremony::MARKER_FILE),
        serde_json::to_string(m).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_refresh_stopped_at_any_step_after_its_journal_finishes_once_at_start() {
    let r = refreshed();
    let old = r.fx.set.id();
    let new = r.new_set.id();
    // the finalise's steps in order: journal | certificate, set, sealed share | log | journal gone
    for stop_after in 0..=5usize {
        let dir = r.fx.dir.path().join(format!("stopped-{stop_after}"));
        copy_dir(&r.state, &dir);
        write_marker(&dir, &marker(CeremonyKind::Refresh, new, Some(old)));
        ceremony::write_journal(&dir, &r.journal).unwrap();
        let files: [(&str, String, bool); 3] = [
            (
                ceremony::CERTIFICATE_FILE,
                r.journal.certificate.clone(),
                false,
            ),
            (state::SET_FILE, r.journal.set.clone(), false),
            (
                state::SECRETS_FILE,
                serde_json::to_string_pretty(&r.journal.secrets).unwrap(),
                true,
            ),
        ];
        for (name, contents, secret) in files.iter().take(stop_after.min(3)) {
            state::replace_file(&dir.join(name), contents.as_bytes(), *secret).unwrap();
        }
        if stop_after >= 4 {
            // the log entries were committed (the checkpoint not yet rewritten)
            let mut db = trustee_node::db::Db::open(&dir.join(state::DB_FILE), None).unwrap();
            let seq = db.next_seq();
            let t = now();
            let batch = trustee_node::db::Batch {
                entries: vec![
                    LogEntry::keygen(seq, t, r.transcript),
                    LogEntry::setup(seq + 1, t, new, db.latest_policy().unwrap()),
                    LogEntry::share_destroyed(seq + 2, t, old),
                ],
                ..Default::default()
            };
            db.commit(&batch, t).unwrap();
        }
        if stop_after >= 5 {
            std::fs::remove_file(dir.join(ceremony::JOURNAL_FILE)).unwrap();
        }
        // a stop in the middle leaves old and new files side by side: never served as they are
        if stop_after == 2 {
            assert_ne!(set_in(&dir).id(), sealed(&dir).set_id);
        }
        for start in 0..2 {
            let loaded = state::load(&dir, PASS.as_bytes(), false)
                .unwrap_or_else(|e| panic!("stop after step {stop_after}, start {start}: {e}"));
            assert_eq!(loaded.set.id(), new, "stop after {stop_after}");
            assert_eq!(loaded.share.set_id(), new);
            drop(loaded);
            assert_eq!(sealed(&dir).set_id, new);
            assert!(!dir.join(ceremony::JOURNAL_FILE).exists());
            assert!(!dir.join(ceremony::MARKER_FILE).exists());
            let log = entries(&dir);
            assert_eq!(
                count(&log, EntryKind::ShareDestroyed, old.digest()),
                1,
                "{stop_after}"
            );
            assert_eq!(count(&log, EntryKind::Keygen, r.transcript), 1);
            assert_eq!(count(&log, EntryKind::Setup, new.digest()), 1);
        }
    }
}

#[test]
fn a_node_that_certified_a_ceremony_and_stored_nothing_refuses_to_start_naming_it() {
    let r = refreshed();
    let dir = r.fx.dir.path().join("certified");
    copy_dir(&r.state, &dir);
    write_marker(
        &dir,
        &marker(CeremonyKind::Refresh, r.new_set.id(), Some(r.fx.set.id())),
    );
    let before = entries(&dir).len();
    let e = state::load(&dir, PASS.as_bytes(), false).unwrap_err();
    assert!(
        matches!(&e, NodeError::UnfinishedCeremony { kind, set, .. }
            if kind == "refresh" && *set == r.new_set.id().short()),
        "{e}"
    );
    let text = e.to_string();
    assert!(text.contains(ceremony::MARKER_FILE), "{text}");
    assert!(text.contains("reshared without it"), "{text}");
    // nothing was touched: the old set and share, the log as it was
    assert_eq!(set_in(&dir).id(), r.fx.set.id());
    assert_eq!(sealed(&dir).set_id, r.fx.set.id());
    assert_eq!(entries(&dir).len(), before);
    // the operator's way out when no trustee finalised: remove the marker, serve the old set
    std::fs::remove_file(dir.join(ceremony::MARKER_FILE)).unwrap();
    let loaded = state::load(&dir, PASS.as_bytes(), false).unwrap();
    assert_eq!(loaded.set.id(), r.fx.set.id());
    // a marker of the set in use is a finished ceremony whose marker was not removed yet
    drop(loaded);
    write_marker(&dir, &marker(CeremonyKind::Refresh, r.fx.set.id(), None));
    drop(state::load(&dir, PASS.as_bytes(), false).unwrap());
    assert!(!dir.join(ceremony::MARKER_FILE).exists());
}

#[test]
fn a_reshare_dealer_stopped_after_retired_json_completes_the_destruction_at_start() {
    let fx = Fixture::new(3, 2);
    let dir = fx.init(2);
    let new_set = SetId::from_bytes(Digest32::sha256(b"the new set").0);
    let transcript = Digest32::sha256(b"the reshare transcript");
    write_marker(
        &dir,
        &marker(CeremonyKind::Reshare, new_set, Some(fx.set.id())),
    );
    // the dealer's commit point, and nothing after it
    std::fs::write(
        dir.join(ceremony::RETIRED_FILE),
        serde_json::to_string(&RetiredFile {
            version: V1::default(),
            old_set_id: fx.set.id(),
            new_set_id: new_set,
            transcript,
            time: now(),
        })
        .unwrap(),
    )
    .unwrap();
    assert!(
        !sealed(&dir)
            .open(PASS.as_bytes())
            .unwrap()
            .key_share
            .is_empty()
    );
    let e = state::load(&dir, PASS.as_bytes(), false).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, NodeError::State(_)) && text.contains("completed the destruction"),
        "{text}"
    );
    let opened = sealed(&dir).open(PASS.as_bytes()).unwrap();
    assert!(opened.key_share.is_empty(), "the share is still sealed");
    assert!(!opened.signing_key.is_empty());
    let log = entries(&dir);
    assert_eq!(
        count(&log, EntryKind::ShareDestroyed, fx.set.id().digest()),
        1
    );
    assert_eq!(count(&log, EntryKind::Keygen, transcript), 1);
    assert!(!dir.join(ceremony::MARKER_FILE).exists());
    // started again: still refused, nothing left to do, nothing logged twice
    let text = state::load(&dir, PASS.as_bytes(), false)
        .unwrap_err()
        .to_string();
    assert!(text.contains("handed to set"), "{text}");
    assert!(!text.contains("completed the destruction"), "{text}");
    assert_eq!(entries(&dir).len(), log.len());
    // the log still verifies against the checkpoint the completion signed
    trustee_node::verify_log(&dir, None).unwrap();
}

#[test]
fn a_keygen_stopped_after_its_journal_completes_the_state_folder_at_start() {
    let fx = Fixture::new(3, 2);
    let dir = fx.dir.path().join("pending");
    let coord = PrivateKey::generate(&mut rand::rng());
    let coord_path = fx.dir.path().join("coord.pub");
    std::fs::write(&coord_path, coord.public().to_pem()).unwrap();
    let me = ceremony::init_pending(
        &fx.policy_path,
        &[coord_path],
        None,
        None,
        &dir,
        PASS.as_bytes(),
        KdfCost::Test,
    )
    .unwrap();
    let pending: SealedSecrets = serde_json::from_str(
        &std::fs::read_to_string(dir.join(ceremony::PENDING_SECRETS_FILE)).unwrap(),
    )
    .unwrap();
    let secrets = pending.open(PASS.as_bytes()).unwrap();
    let my_key = PrivateKey::from_pem(&secrets.signing_key).unwrap();
    assert_eq!(my_key.public(), me);
    let keys = vec![
        my_key,
        PrivateKey::generate(&mut rand::rng()),
        PrivateKey::generate(&mut rand::rng()),
    ];
    let params = SessionParams::keygen(
        2,
        keys.iter().map(PrivateKey::public).collect(),
        &mut rand::rng(),
    )
    .unwrap();
    let out = drive(&params, &keys, None).swap_remove(0);
    let journal = journal_of(&out, &secrets, None);
    write_marker(&dir, &marker(CeremonyKind::Keygen, out.set.id(), None));
    // without the journal (stopped before its commit point): refused, naming the keygen
    let e = ceremony::resume_pending(&dir, PASS.as_bytes()).unwrap_err();
    assert!(
        matches!(&e, NodeError::UnfinishedCeremony { kind, .. } if kind == "keygen"),
        "{e}"
    );
    // with the journal and a half-written folder (set file and an empty log.db left over)
    ceremony::write_journal(&dir, &journal).unwrap();
    std::fs::write(dir.join(state::SET_FILE), &journal.set).unwrap();
    std::fs::write(dir.join(state::DB_FILE), b"").unwrap();
    assert!(ceremony::is_pending(&dir));
    assert!(ceremony::resume_pending(&dir, PASS.as_bytes()).unwrap());
    assert!(!ceremony::is_pending(&dir));
    for f in [
        ceremony::JOURNAL_FILE,
        ceremony::MARKER_FILE,
        ceremony::PENDING_FILE,
        ceremony::PENDING_SECRETS_FILE,
    ] {
        assert!(!dir.join(f).exists(), "{f} left behind");
    }
    let loaded = state::load(&dir, PASS.as_bytes(), false).unwrap();
    assert_eq!(loaded.set.id(), out.set.id());
    drop(loaded);
    let log = entries(&dir);
    assert_eq!(log.len(), 2);
    assert_eq!(count(&log, EntryKind::Setup, out.set.id().digest()), 1);
    assert_eq!(
        count(&log, EntryKind::Keygen, out.certificate.transcript),
        1
    );
}
