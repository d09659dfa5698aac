//! The v2 sealed message and the `/v2/release` wire encodings.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::release::{MAX_ITEM_BYTES, item_digest};
use super::*;
use crate::keys::PrivateKey;
use crate::label::Label;
use crate::release::RefusalCode;
use crate::time::Timestamp;
use crate::trustee::deal;
use crate::warrant::{ReasonCode, Role, WarrantEnvelope};

fn warrant(key: &PrivateKey) -> WarrantEnvelope {
    WarrantEnvelope::sign_bytes(b"{}".to_vec(), key, Role::Issuer).unwrap()
}

#[test]
fn v2_message_opens_for_its_recipient_and_mailbox_lines_of_both_versions_are_read() {
    let mut rng = rand::rng();
    let d = deal(3, 2, &mut rng).unwrap();
    let bob = PrivateKey::generate(&mut rng);
    let label = Label::new("alice", "bob", Timestamp(10), "m-1").unwrap();
    let m = seal_v2(&d.set, &bob.public(), &label, b"hi bob", &mut rng).unwrap();
    let line = m.to_json();
    assert!(line.starts_with("{\"version\":2,"), "{line}");
    let read = MailboxMessage::from_json(&line).unwrap();
    assert_eq!(read, MailboxMessage::V2(m.clone()));
    assert_eq!(
        &read.open_unchecked_label(&bob, &d.set).unwrap().body[..],
        b"hi bob"
    );
    // A forged header (valid, but wrapping another key) is refused as non-compliant.
    let other = seal_v2(&d.set, &bob.public(), &label, b"x", &mut rng).unwrap();
    let mut forged = m.clone();
    forged.escrow = other.escrow;
    assert!(matches!(
        open_unchecked_label_v2(&bob, &d.set, &forged).unwrap_err(),
        Error::NonCompliant { .. }
    ));
    // v1 lines are still read (by the v1 functions); other versions are refused by name.
    let v1 = crate::message::seal(&d.set, &bob.public(), &label, b"old", &mut rng).unwrap();
    let read = MailboxMessage::from_json(&v1.to_json()).unwrap();
    assert_eq!(read.version(), 1);
    assert_eq!(
        &read.open_unchecked_label(&bob, &d.set).unwrap().body[..],
        b"old"
    );
    let v3 = line.replacen("\"version\":2", "\"version\":3", 1);
    assert_eq!(
        MailboxMessage::from_json(&v3).unwrap_err(),
        Error::UnsupportedVersion {
            what: "sealed message",
            found: 3,
            expected: 2
        }
    );
    // A v2 line is not a v1 message and vice versa.
    assert!(crate::message::SealedMessage::from_json(&line).is_err());
    assert!(SealedMessageV2::from_json(&v1.to_json()).is_err());
}

#[test]
fn v2_request_and_response_round_trip_and_the_signature_covers_everything() {
    let mut rng = rand::rng();
    let d = deal(3, 2, &mut rng).unwrap();
    let issuer = PrivateKey::generate(&mut rng);
    let w = warrant(&issuer);
    let cts: Vec<EscrowCiphertextV2> = (0..3)
        .map(|i| {
            let l = Label::new("alice", "bob", Timestamp(10), &format!("m{i}")).unwrap();
            let mk = crate::secret::MessageKey::random(&mut rng);
            encapsulate_v2(&d.set, &l, &mk, &mut rng).unwrap().0
        })
        .collect();
    let req = ReleaseRequestV2::new(&w, &cts);
    let mut bytes = req.to_bytes();
    let p = parse_request_v2(&bytes, 10).unwrap();
    assert_eq!(p.warrant_digest, w.digest());
    assert_eq!(p.request, req.digest());
    assert_eq!(p.digests[1], cts[1].digest());
    assert_eq!(item_digest(&cts[1].to_bytes()), cts[1].digest());
    assert!(p.ciphertexts.iter().all(Result::is_ok));
    // The checked headers keep the encoding their check computed: the same request bytes.
    let valid: Vec<_> = check_batch(&d.set, &cts)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ReleaseRequestV2::for_checked(&w, &valid).to_bytes(), bytes);
    for (v, c) in valid.iter().zip(&cts) {
        assert_eq!(v.to_bytes(), c.to_bytes().as_slice());
        assert_eq!(v.digest(), c.digest());
    }
    assert_eq!(
        parse_request_v2(&bytes, 2).unwrap_err(),
        RequestErrorV2::TooManyCiphertexts { found: 3, limit: 2 }
    );
    // One malformed item is refused alone; the request digest still covers it as sent.
    let last = bytes.len() - 1;
    bytes[last - 60] ^= 0xff;
    let p2 = parse_request_v2(&bytes, 10).unwrap();
    assert!(p2.ciphertexts[2].is_err() || p2.digests[2] != cts[2].digest());
    assert_ne!(p2.request, p.request);
    // Framing errors refuse the whole request.
    let good = req.to_bytes();
    assert!(parse_request_v2(&good[..good.len() - 1], 10).is_err());
    let mut long = good.clone();
    long.push(0);
    assert!(parse_request_v2(&long, 10).is_err());
    assert!(MAX_ITEM_BYTES > cts[0].to_bytes().len());

    let trustee = &d.secrets[0];
    let resp = ReleaseResponseV2 {
        trustee: 1,
        set_id: d.set.id(),
        warrant: w.digest(),
        request: req.digest(),
        investigator: None,
        time: Timestamp(10),
        results: vec![
            ReleaseResultV2::Refused {
                code: RefusalCode::Warrant(ReasonCode::OutOfScope),
                detail: "no".into(),
                leaf_index: Some(4),
            };
            3
        ],
        answer: None,
        signature: vec![],
        witnessed: None,
    }
    .sign(&trustee.signing_key);
    let wire = resp.to_bytes();
    let back = ReleaseResponseV2::from_bytes(&wire, 10).unwrap();
    assert_eq!(back, resp);
    back.verify(&d.set).unwrap();
    let mut t = back.clone();
    t.request = w.digest().digest();
    assert!(t.verify(&d.set).is_err());
    let mut t = back.clone();
    t.trustee = 2;
    assert!(t.verify(&d.set).is_err());
    assert!(ReleaseResponseV2::from_bytes(&wire, 2).is_err());
    assert_eq!(resp.to_json_view()["results"][0]["code"], "out-of-scope");
}
