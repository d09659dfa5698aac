//! The example in `docs/warrants.md`, pinned: a policy, a double-locked warrant and a
//! cancellation made with `escrow`, with digests computed independently (Python, OpenSSL) when
//! the document was written. If these fail, the format changed: bump the version instead.

// Tests may unwrap, panic and index (the workspace denies these in library code).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use escrow_core::label::Label;
use escrow_core::time::Timestamp;
use escrow_core::warrant::*;

const POLICY: &str = r#"{
  "version": 1,
  "authorities": [
    {
      "name": "home-secretary",
      "role": "issuer",
      "key": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDegx71U34i0rM8k1ilwjkjULQ7O7\nNnyw8F6r9MVR2QqEqFEnr3FBE0JBN3uxRSZ1GqaYSpsj6mMR+rL5Uj08Yg==\n-----END PUBLIC KEY-----\n"
    },
    {
      "name": "judicial-commissioner",
      "role": "judicial",
      "key": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1O3XnntvqA+CTLjrZ/7LLVcC011R\nokJs6looWybKryE4z38bb5vUHdmWwpwBI/JwLntNDsCRzifxBAYpaNXuTg==\n-----END PUBLIC KEY-----\n"
    }
  ],
  "required_roles": [
    "issuer",
    "judicial"
  ],
  "max_validity_secs": 15811200,
  "max_urgent_validity_secs": 432000,
  "clock_skew_secs": 300,
  "max_releases": 100,
  "urgent_unapproved_secs": 0
}"#;

const WARRANT: &str = r#"{
  "payloadType": "application/vnd.escrow.warrant.v1+json",
  "payload": "eyJ2ZXJzaW9uIjoxLCJ3YXJyYW50X2lkIjoidy0yMDI2LTA0MSIsImNhc2VfcmVmZXJlbmNlIjoiT1AtVEVBUE9ULTIwMjYtMDQxIiwid2FycmFudF90eXBlIjoidGFyZ2V0ZWQtaW50ZXJjZXB0aW9uIiwibGVnYWxfYmFzaXMiOiJJUEEgMjAxNiBzLjE1KDIpIiwiaXNzdWluZ19hdXRob3JpdHkiOiJTZWNyZXRhcnkgb2YgU3RhdGUgZm9yIHRoZSBIb21lIERlcGFydG1lbnQiLCJzY29wZSI6eyJ0YXJnZXRzIjpbImFsaWNlQGV4YW1wbGUub3JnIiwiYm9iQGV4YW1wbGUub3JnIl0sIm1lc3NhZ2VfaWRzIjpbXSwid2luZG93Ijp7ImZyb20iOiIyMDI2LTExLTAxVDAwOjAwOjAwWiIsInVudGlsIjoiMjAyNi0xMi0wMVQwMDowMDowMFoifX0sImludmVzdGlnYXRvcl9rZXkiOiItLS0tLUJFR0lOIFBVQkxJQyBLRVktLS0tLVxuTUZrd0V3WUhLb1pJemowQ0FRWUlLb1pJemowREFRY0RRZ0FFeWVXN2l5MDJNMGJpRzBjaDZqS1VpZGg0dGE2YVxuZ1UyLzVOdXV3SDFOckcwZ1VMZEJNTkVoZFA3QkhCcG1wVXRyTUZmREJxaEkvdkptbEJURjhBUUlvdz09XG4tLS0tLUVORCBQVUJMSUMgS0VZLS0tLS1cbiIsIm5vdF9iZWZvcmUiOiIyMDI2LTExLTIwVDAwOjAwOjAwWiIsIm5vdF9hZnRlciI6IjIwMjctMDUtMjBUMDA6MDA6MDBaIiwibWF4X3JlbGVhc2VzIjo1MCwidXJnZW50IjpmYWxzZX0=",
  "signatures": [
    {
      "keyid": "ff30d0f02681936e051fe304a8ba455986324644852a4d693e9753b6dbc973f8",
      "sig": "MEUCIC1c9rw2uCBOA6Xc5lIY00vUgqZX7p52PVSHYyakkQRLAiEAv3ZcWt263sGIxg/OqHe0IWPbzv8JQxjMlww8eedDkFw=",
      "role": "issuer"
    },
    {
      "keyid": "f0a8ea5618615c3569983bf946b9ed9fbf8fead846be0e64f9d766373ee7faf1",
      "sig": "MEUCIGY6bO6idbFXCICXn33uFTNOgHly/CvPX17YeREV8gnEAiEA9T3xHMyLQNtxD4BPxKP+oEK1Dbe3GGEgIJD5vOYQ6fM=",
      "role": "judicial"
    }
  ]
}"#;

const CANCELLATION: &str = r#"{
  "payloadType": "application/vnd.escrow.cancellation.v1+json",
  "payload": "eyJ2ZXJzaW9uIjoxLCJ3YXJyYW50X2lkIjoidy0yMDI2LTA0MSIsIndhcnJhbnRfZGlnZXN0IjoiZWZhMmVmZDY1OTU5ZDcxYzIyYTA0Yzk2OWM3MTI4MTA1ZjQ4ZWVhNGYyOTNiY2NlMDI2NjRmMzJjZDJkNzc2MSIsImNhbmNlbGxlZF9hdCI6IjIwMjYtMTItMTVUMTA6MDA6MDBaIiwicmVhc29uIjoibm8gbG9uZ2VyIG5lY2Vzc2FyeSAocy4zOSgyKSkifQ==",
  "signatures": [
    {
      "keyid": "ff30d0f02681936e051fe304a8ba455986324644852a4d693e9753b6dbc973f8",
      "sig": "MEQCIH5jqF02ZpaSVwH0fd73aJ/N7byQssgyWreWxJB2ucn/AiBMS9MCWBvsyLJSaBiwvz2KriqOaJSPgA24n1jMOK7DzA==",
      "role": "issuer"
    }
  ]
}"#;

const POLICY_DIGEST: &str = "9a579231609295f39a7ac860e6e10db28160d0974d892c34e6bf4f21351576e7";
const WARRANT_DIGEST: &str = "efa2efd65959d71c22a04c969c7128105f48eea4f293bcce02664f32cd2d7761";
const CANCELLATION_DIGEST: &str =
    "e490d5260c97f4f0d2c1f38cf3777abdba8205d131348285907850c855447321";
const ISSUER_KEYID: &str = "ff30d0f02681936e051fe304a8ba455986324644852a4d693e9753b6dbc973f8";

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn never(_: &str) -> bool {
    false
}

#[test]
fn documented_example_verifies() {
    let policy = Policy::from_json(POLICY).unwrap();
    assert_eq!(policy.digest().to_hex(), POLICY_DIGEST);
    assert_eq!(policy.authorities()[0].key.key_id().to_hex(), ISSUER_KEYID);
    let env = WarrantEnvelope::from_json(WARRANT).unwrap();
    assert_eq!(env.digest().to_hex(), WARRANT_DIGEST);
    let w = policy
        .verify(&env, t("2026-11-22T09:00:00Z"), &never)
        .unwrap();
    assert_eq!(w.id(), "w-2026-041");
    assert_eq!(w.max_releases(), Some(50));
    let names: Vec<&str> = w.signers().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["home-secretary", "judicial-commissioner"]);
    let inside = Label::new(
        "carol@example.org",
        "bob@example.org",
        t("2026-11-15T12:00:00Z"),
        "m-1",
    )
    .unwrap();
    w.check_scope(&inside).unwrap();
    let outside = Label::new(
        "carol@example.org",
        "dave@example.org",
        t("2026-11-15T12:00:00Z"),
        "m-2",
    )
    .unwrap();
    assert_eq!(
        w.check_scope(&outside).unwrap_err().code,
        ReasonCode::OutOfScope
    );
}

#[test]
fn documented_example_edges() {
    let policy = Policy::from_json(POLICY).unwrap();
    let env = WarrantEnvelope::from_json(WARRANT).unwrap();
    let code = |at: &str| policy.verify(&env, t(at), &never).err().map(|r| r.code);
    // not_before 2026-11-20T00:00:00Z, 300 s of accepted skew; not_after 2027-05-20T00:00:00Z.
    assert_eq!(code("2026-11-19T23:54:59Z"), Some(ReasonCode::NotYetValid));
    assert_eq!(code("2026-11-19T23:55:00Z"), None);
    assert_eq!(code("2027-05-19T23:59:59Z"), None);
    assert_eq!(code("2027-05-20T00:00:00Z"), Some(ReasonCode::Expired));
}

#[test]
fn documented_cancellation() {
    let policy = Policy::from_json(POLICY).unwrap();
    let c = CancellationEnvelope::from_json(CANCELLATION).unwrap();
    assert_eq!(c.digest().to_hex(), CANCELLATION_DIGEST);
    let vc = policy
        .verify_cancellation(&c, t("2026-12-15T10:00:00Z"))
        .unwrap();
    assert_eq!(vc.warrant_id(), "w-2026-041");
    assert_eq!(vc.payload().warrant_digest.to_hex(), WARRANT_DIGEST);
    let env = WarrantEnvelope::from_json(WARRANT).unwrap();
    let r = policy
        .verify(&env, t("2026-12-16T00:00:00Z"), &|id| id == vc.warrant_id())
        .unwrap_err();
    assert_eq!(r.code, ReasonCode::Cancelled);
}
