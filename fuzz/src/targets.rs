//! One function per fuzz target. Each takes the fuzzer's bytes, runs the parser exactly as the
//! program that meets untrusted input runs it, and asserts invariants that can really fail:
//! whatever parses re-encodes and parses back to the same value (and the same digest), a
//! document the harness signed itself verifies, and a verified document behaves as its fields
//! say. A panic (failed assertion, overflow, out-of-bounds index) is a finding.
//!
//! Where a target has two modes, the first input byte chooses (even / odd) and the rest is
//! the document.

use crate::fixtures::{self, T0};
use escrow_core::audit::{
    Frontier, LogEntry, LogKey, consistency_proof, inclusion_proof, leaf_hash, mth,
    verify_checkpoint, verify_consistency, verify_inclusion,
};
use escrow_core::codec::Digest32;
use escrow_core::keys::{PrivateKey, PublicKey};
use escrow_core::label::Label;
use escrow_core::message::{self, SealedMessage};
use escrow_core::release::{
    MAX_BATCH, ReleaseResponse, judge_ciphertext, make_share, open_share, parse_request,
};
use escrow_core::share::ShareContext;
use escrow_core::tdh2::EscrowCiphertext;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{KeyShare, TrusteeSet};
use escrow_core::warrant::{
    CancellationEnvelope, CancellationPayload, Policy, ReasonCode, Role, VerifiedWarrant, Warrant,
    WarrantEnvelope, WarrantPayload, canonical_json,
};

fn never(_: &str) -> bool {
    false
}

fn text(data: &[u8]) -> Option<&str> {
    core::str::from_utf8(data).ok()
}

fn mode(data: &[u8]) -> Option<(bool, &[u8])> {
    data.split_first().map(|(m, rest)| (m & 1 == 1, rest))
}

/// Serialize with serde_json and read back: must give the same value.
fn json_round_trip<T>(v: &T, what: &str)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + core::fmt::Debug,
{
    let j = serde_json::to_string(v).unwrap_or_else(|e| panic!("{what}: cannot serialize: {e}"));
    let back: T = serde_json::from_str(&j)
        .unwrap_or_else(|e| panic!("{what}: own JSON does not parse back: {e}\n{j}"));
    assert_eq!(&back, v, "{what}: JSON round trip changed the value");
}

// ---------------------------------------------------------------------------------------------
// Warrants

/// `warrant`: even first byte: a warrant envelope as `escrow` and the trustee read it (DSSE
/// JSON), verified under the fixture policy; odd: the rest is a warrant payload, which the
/// harness signs with both fixture authorities, so the policy's judgement and the scope matcher
/// are reached.
pub fn warrant(data: &[u8]) {
    match mode(data) {
        Some((false, rest)) => warrant_envelope(rest),
        Some((true, rest)) => warrant_payload(rest),
        None => {}
    }
}

fn warrant_envelope(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let f = fixtures::get();
    let Ok(env) = WarrantEnvelope::from_json(s) else {
        return;
    };
    let again = WarrantEnvelope::from_json(&env.to_json()).expect("own envelope JSON parses");
    assert_eq!(again, env);
    assert_eq!(again.digest(), env.digest());
    let pretty = WarrantEnvelope::from_json(&env.to_json_pretty()).expect("pretty JSON parses");
    assert_eq!(pretty, env);
    let parsed = Warrant::parse(&env);
    let verified = f.policy.verify(&env, Timestamp(T0), &never);
    if let Ok(v) = &verified {
        let w = parsed.as_ref().expect("a verified warrant parses");
        assert_eq!(v.id(), w.id());
        assert_eq!(v.digest(), env.digest());
    }
    if let Ok(w) = parsed {
        json_round_trip(w.payload(), "warrant payload");
        let key = PublicKey::from_pem(&w.payload().investigator_key).expect("checked key");
        assert_eq!(&key, w.investigator());
        let again = f.policy.verify_warrant(w, Timestamp(T0), &never);
        assert_eq!(
            again.map(|v| v.digest()).map_err(|r| r.code),
            verified.map(|v| v.digest()).map_err(|r| r.code),
            "verify and verify_warrant disagree"
        );
    }
}

fn warrant_payload(data: &[u8]) {
    let f = fixtures::get();
    let Ok(mut env) = WarrantEnvelope::sign_bytes(data.to_vec(), &f.issuer, Role::Issuer) else {
        return;
    };
    env.add_signature(&f.judge, Role::Judicial)
        .expect("second signature");
    let parsed = Warrant::parse(&env);
    let at = match &parsed {
        Ok(w) => w.payload().not_before,
        Err(_) => Timestamp(T0),
    };
    let verified = f.policy.verify(&env, at, &never);
    match (&parsed, &verified) {
        (Err(p), Err(v)) => assert_eq!(p, v, "signatures are good: the parse error comes first"),
        (Err(p), Ok(_)) => panic!("verified a warrant that does not parse: {p}"),
        (Ok(w), Ok(v)) => {
            assert_eq!(v.payload(), w.payload());
            check_scope_invariants(v);
        }
        (Ok(_), Err(_)) => {}
    }
}

/// A label built from the scope's own values is in scope; one a second outside the window, or
/// naming no target, is not.
fn check_scope_invariants(v: &VerifiedWarrant) {
    let scope = &v.payload().scope;
    let w = scope.window;
    let id = scope.message_ids.first().map_or("m-1", String::as_str);
    let other = "not-a-target@fuzz.invalid";
    let accounts: Vec<&str> = if scope.targets.is_empty() {
        vec![other]
    } else {
        scope.targets.iter().take(4).map(String::as_str).collect()
    };
    for account in accounts {
        for (sender, recipient) in [(account, other), (other, account)] {
            for t in [w.from, Timestamp(w.until.0.saturating_sub(1))] {
                if let Ok(label) = Label::new(sender, recipient, t, id)
                    && let Err(r) = v.check_scope(&label)
                {
                    panic!("label from the scope's own values refused: {r}\n{label:?}");
                }
            }
            let before = w.from.0.checked_sub(1).map(Timestamp);
            for t in before.into_iter().chain([w.until]) {
                if let Ok(label) = Label::new(sender, recipient, t, id) {
                    let r = v
                        .check_scope(&label)
                        .expect_err("a label outside the window is out of scope");
                    assert_eq!(r.code, ReasonCode::OutOfScope, "{r}");
                }
            }
        }
    }
    if !scope.targets.is_empty()
        && !scope
            .targets
            .iter()
            .any(|t| escrow_core::label::normalize_account(t) == other)
        && let Ok(label) = Label::new(other, other, w.from, id)
    {
        let r = v
            .check_scope(&label)
            .expect_err("a label naming no target is out of scope");
        assert_eq!(r.code, ReasonCode::OutOfScope, "{r}");
    }
}

/// `cancellation`: even first byte: a cancellation envelope (DSSE JSON) verified under the
/// fixture policy; odd: a cancellation payload the harness signs as the issuer.
pub fn cancellation(data: &[u8]) {
    let f = fixtures::get();
    match mode(data) {
        Some((false, rest)) => {
            let Some(s) = text(rest) else { return };
            let Ok(env) = CancellationEnvelope::from_json(s) else {
                return;
            };
            let again = CancellationEnvelope::from_json(&env.to_json()).expect("own JSON parses");
            assert_eq!(again, env);
            assert_eq!(again.digest(), env.digest());
            if let Ok(c) = f.policy.verify_cancellation(&env, Timestamp(T0)) {
                json_round_trip(c.payload(), "cancellation payload");
                assert_eq!(c.digest(), env.digest());
            }
        }
        Some((true, rest)) => {
            let Ok(env) = CancellationEnvelope::sign_bytes(rest.to_vec(), &f.issuer, Role::Issuer)
            else {
                return;
            };
            let direct = text(rest)
                .and_then(|s| serde_json::from_str::<CancellationPayload>(s).ok())
                .filter(|p| p.check().is_ok());
            match (f.policy.verify_cancellation(&env, Timestamp(T0)), direct) {
                (Ok(c), Some(p)) => {
                    assert_eq!(c.payload(), &p);
                    assert_eq!(c.warrant_id(), p.warrant_id);
                    json_round_trip(c.payload(), "cancellation payload");
                }
                (Ok(c), None) => {
                    panic!("accepted a cancellation payload that does not parse: {c:?}")
                }
                (Err(r), Some(_)) => panic!("refused a well-formed, well-signed cancellation: {r}"),
                (Err(_), None) => {}
            }
        }
        None => {}
    }
}

/// `policy`: a policy file; the same policy from its own JSON (same digest). Also: RFC 8785
/// canonical JSON (the policy digest's encoding) is stable under re-parsing.
pub fn policy(data: &[u8]) {
    let Some(s) = text(data) else { return };
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(s) {
        let c = canonical_json(&v);
        let back: serde_json::Value = serde_json::from_str(&c).expect("canonical JSON is JSON");
        assert_eq!(canonical_json(&back), c, "canonical JSON is not idempotent");
    }
    let Ok(p) = Policy::from_json(s) else { return };
    let again = Policy::from_json(&p.to_json()).expect("own policy JSON parses");
    assert_eq!(again, p);
    assert_eq!(again.digest(), p.digest());
    let pretty = Policy::from_json(&p.to_json_pretty()).expect("pretty policy JSON parses");
    assert_eq!(pretty.digest(), p.digest());
    let f = fixtures::get();
    let _ = p.verify(&f.warrant, Timestamp(T0), &never);
}

// ---------------------------------------------------------------------------------------------
// Messages, sets, keys

/// `mailbox_line`: a mailbox file as `escrow open` and `escrow retrieve` read it, one sealed
/// message per line; each parsed line re-encodes to one line that parses back, and opening
/// with the fixture recipient key either refuses or yields the header's label.
pub fn mailbox_line(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let f = fixtures::get();
    for line in s.lines().filter(|l| !l.trim().is_empty()).take(8) {
        let Ok(m) = SealedMessage::from_json(line) else {
            continue;
        };
        let j = m.to_json();
        assert!(
            !j.contains('\n'),
            "a mailbox line must not contain a newline"
        );
        let again = SealedMessage::from_json(&j).expect("own mailbox line parses");
        assert_eq!(again, m);
        assert_eq!(again.escrow.digest(), m.escrow.digest());
        assert_eq!(again.escrow.canonical_bytes(), m.escrow.canonical_bytes());
        // The recipient's label check runs on whatever label the line carries.
        let receipt = message::Receipt::new("bob", "alice", m.escrow.label.timestamp, 0)
            .expect("fixed receipt");
        if let Ok((opened, mismatches)) =
            message::open_reporting_label(&f.recipient, &f.dealing.set, &m, &receipt)
        {
            assert_eq!(opened.label, m.escrow.label);
            assert_eq!(
                mismatches.is_empty(),
                message::open(&f.recipient, &f.dealing.set, &m, &receipt).is_ok()
            );
            assert!(m.check_structure().is_ok());
            assert!(m.escrow.check(&f.dealing.set).is_ok());
        }
    }
}

/// `trustee_set`: even first byte: `trustee-set.json`; odd: a `key-share.json`, checked
/// against the fixture set (Feldman).
pub fn trustee_set(data: &[u8]) {
    let f = fixtures::get();
    match mode(data) {
        Some((false, rest)) => {
            let Some(s) = text(rest) else { return };
            let Ok(set) = TrusteeSet::from_json(s) else {
                return;
            };
            let again = TrusteeSet::from_json(&set.to_json()).expect("own set JSON parses");
            assert_eq!(again, set);
            assert_eq!(again.id(), set.id());
            assert_eq!(set.members().len(), usize::from(set.trustees()));
            assert!(set.threshold() >= 1 && set.threshold() <= set.trustees());
            for m in set.members() {
                assert_eq!(set.member(m.index).expect("member").index, m.index);
            }
        }
        Some((true, rest)) => {
            let Some(s) = text(rest) else { return };
            let Ok(share) = KeyShare::from_json(s) else {
                return;
            };
            let again = KeyShare::from_json(&share.to_json()).expect("own share JSON parses");
            assert_eq!(
                (again.index(), again.set_id()),
                (share.index(), share.set_id())
            );
            if let Ok(v) = f.dealing.set.verify_share(share) {
                let known = f
                    .keys
                    .iter()
                    .find(|k| k.index() == v.index())
                    .expect("verified share of a member");
                assert_eq!(v.verification_key(), known.verification_key());
            }
        }
        None => {}
    }
}

/// `keys`: even first byte: a public key file (SPKI PEM); odd: a private key file (PKCS#8
/// PEM). Both re-encode to the same key; a parsed private key signs what its public key
/// verifies. Also: the bytes as a signature over a fixed message (DER or r||s).
pub fn keys(data: &[u8]) {
    let f = fixtures::get();
    let _ = f.issuer.public().verify(b"fuzz", data, "fuzz signature");
    match mode(data) {
        Some((false, rest)) => {
            let Some(s) = text(rest) else { return };
            let Ok(k) = PublicKey::from_pem(s) else {
                return;
            };
            let again = PublicKey::from_pem(&k.to_pem()).expect("own PEM parses");
            assert_eq!(again, k);
            assert_eq!(again.key_id(), k.key_id());
            assert_eq!(again.key_id().digest(), Digest32::sha256(&k.to_der()));
            assert_eq!(PublicKey::from_point(&k.point()).expect("point"), k);
        }
        Some((true, rest)) => {
            let Some(s) = text(rest) else { return };
            let Ok(k) = PrivateKey::from_pem(s) else {
                return;
            };
            let pem = k.to_pem().expect("own PEM");
            let again = PrivateKey::from_pem(&pem).expect("own PEM parses");
            assert_eq!(again.public(), k.public());
            let sig = k.sign(b"fuzz");
            k.public()
                .verify(b"fuzz", &sig, "own signature")
                .expect("own signature verifies");
        }
        None => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Release

/// `release_request`: a `POST /v1/release` body as the trustee parses it; every ciphertext that
/// parses re-encodes to itself and is judged against the fixture set and warrant; a ciphertext
/// the trustee would release for yields a share that the investigator opens and verifies.
pub fn release_request(data: &[u8]) {
    let f = fixtures::get();
    let Ok(req) = parse_request(data, MAX_BATCH) else {
        return;
    };
    if let Ok(env) = &req.warrant {
        assert_eq!(env.digest(), req.warrant_digest);
    }
    let verified = req
        .warrant
        .as_ref()
        .ok()
        .and_then(|e| f.policy.verify(e, Timestamp(T0), &never).ok());
    let warrant = verified.as_ref().unwrap_or(&f.verified);
    for ct in req.ciphertexts.iter().take(8) {
        let Ok(ct) = ct else { continue };
        json_round_trip::<EscrowCiphertext>(ct, "escrow ciphertext");
        let Ok(valid) = judge_ciphertext(&f.dealing.set, warrant, Ok(ct.clone())) else {
            continue;
        };
        assert_eq!(valid.digest(), ct.digest());
        assert!(warrant.check_scope(valid.label()).is_ok());
        let key = f.keys.first().expect("key");
        let sealed = make_share(key, warrant, &valid, &mut fixtures::rng(1))
            .expect("a judged ciphertext gives a share");
        let share = open_share(
            &f.investigator,
            &f.dealing.set.id(),
            key.index(),
            &warrant.digest(),
            &sealed.ciphertext,
            &sealed.share_box,
        );
        if warrant.investigator() == &f.investigator.public() {
            let share = share.expect("the investigator opens its share");
            share
                .verify(
                    &f.dealing.set,
                    &valid,
                    &ShareContext::warrant(warrant.digest()),
                )
                .expect("an honest share verifies");
        }
    }
}

/// `release_response`: a trustee's answer as `escrow retrieve` reads it; it re-encodes to
/// itself, and once re-signed by the trustee it names (if a fixture trustee) it verifies, also
/// after a JSON round trip. Shares are opened with the fixture investigator key.
pub fn release_response(data: &[u8]) {
    let f = fixtures::get();
    let Some(s) = text(data) else { return };
    let Ok(r) = ReleaseResponse::from_json(s) else {
        return;
    };
    json_round_trip(&r, "release response");
    let set = &f.dealing.set;
    let _ = r.verify(set);
    let asked: Vec<escrow_core::codec::CiphertextDigest> =
        r.results.iter().filter_map(|x| x.ciphertext()).collect();
    let _ = r.check_answers(&asked);
    for o in r.open_shares(&f.investigator) {
        if let Ok(share) = o.share {
            assert_eq!(share.trustee, r.trustee);
            assert_eq!(share.ciphertext, o.ciphertext);
            assert_eq!(share.context, r.warrant.digest());
        }
    }
    if r.set_id == set.id() {
        let secret = usize::from(r.trustee)
            .checked_sub(1)
            .and_then(|i| f.dealing.secrets.get(i));
        if let Some(secret) = secret {
            let signed = r.clone().sign(&secret.signing_key);
            signed.verify(set).expect("re-signed response verifies");
            let back = ReleaseResponse::from_json(&signed.to_json()).expect("parses");
            back.verify(set)
                .expect("re-signed response verifies after JSON");
            assert_eq!(back.body_bytes(), signed.body_bytes());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Audit log

/// `log_entry`: even first byte: canonical entry bytes as the auditor decodes them (strict: the
/// only encoding of the entry is the input itself); odd: the JSON view of an entry.
pub fn log_entry(data: &[u8]) {
    match mode(data) {
        Some((false, rest)) => {
            let Ok(e) = LogEntry::from_bytes(rest) else {
                return;
            };
            assert_eq!(e.to_bytes(), rest, "an entry has exactly one encoding");
            assert!(e.check().is_ok(), "a decoded entry follows the entry rules");
            assert_eq!(e.leaf_hash(), leaf_hash(rest));
            json_round_trip(&e, "log entry");
        }
        Some((true, rest)) => {
            let Ok(e) = serde_json::from_slice::<LogEntry>(rest) else {
                return;
            };
            json_round_trip(&e, "log entry");
            if e.check().is_ok() {
                let b = e.to_bytes();
                let back = LogEntry::from_bytes(&b).expect("own entry bytes decode");
                assert_eq!(back, e);
            }
        }
        None => {}
    }
}

/// `checkpoint`: even first byte: a signed checkpoint note checked against trustee 1's fixture
/// log key (and, if the first line looks like a verifier key, against that key); odd: the
/// checkpoint text, which the harness signs with the fixture log key before verifying. What
/// verifies re-signs to the same tree head.
pub fn checkpoint(data: &[u8]) {
    let f = fixtures::get();
    let key: &LogKey = &f.log_key;
    let Some((odd, rest)) = mode(data) else {
        return;
    };
    let Some(s) = text(rest) else { return };
    let note = if odd {
        let Ok(mut n) = signed_note::Note::new(s.as_bytes(), &[]) else {
            return;
        };
        if n.add_sigs(&[key]).is_err() {
            return;
        }
        let Ok(note) = String::from_utf8(n.to_bytes()) else {
            return;
        };
        note
    } else {
        if let Some((vkey, note)) = s.split_once('\n') {
            let _ = verify_checkpoint(note, vkey);
        }
        s.to_string()
    };
    let Ok(cp) = verify_checkpoint(&note, &key.verifier_key()) else {
        return;
    };
    assert_eq!(cp.origin, key.origin());
    let again = key.sign(&cp.head).expect("re-sign the head");
    let back = verify_checkpoint(&again, &key.verifier_key()).expect("own checkpoint verifies");
    assert_eq!(back.head, cp.head);
    assert_eq!(back.origin, cp.origin);
}

/// `merkle_proof`: inclusion and consistency proofs as the auditor checks them. A tree of
/// 1..=64 leaves (first byte), an index / old size (second byte): the proofs the node would
/// serve verify, and a proof with one flipped bit (chosen by the rest) does not. Then the
/// rest, read as sizes, an index and proof hashes, goes through both verifiers (no panic).
pub fn merkle_proof(data: &[u8]) {
    let (Some(&a), Some(&b)) = (data.first(), data.get(1)) else {
        return;
    };
    let rest = data.get(2..).unwrap_or_default();
    let n = usize::from(a % 64) + 1;
    let leaves: Vec<Digest32> = (0..n)
        .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
        .collect();
    let root = mth(&leaves);
    assert_eq!(Frontier::from_leaves(&leaves).root(), root);
    let size = n as u64;

    let m = usize::from(b) % n;
    let proof = inclusion_proof(&leaves, m as u64).expect("index < size");
    let leaf = leaves.get(m).expect("m < n");
    verify_inclusion(leaf, m as u64, size, &proof, &root).expect("honest inclusion proof");
    if let Some(tampered) = flip(&proof, rest) {
        assert!(verify_inclusion(leaf, m as u64, size, &tampered, &root).is_err());
    }
    let mut longer = proof.clone();
    longer.push(root);
    assert!(verify_inclusion(leaf, m as u64, size, &longer, &root).is_err());
    if !proof.is_empty() {
        let shorter = proof.get(..proof.len() - 1).unwrap_or_default();
        assert!(verify_inclusion(leaf, m as u64, size, shorter, &root).is_err());
    }

    let old = usize::from(b) % (n + 1);
    let old_root = mth(leaves.get(..old).expect("old <= n"));
    let cproof = consistency_proof(&leaves, old as u64).expect("old <= size");
    verify_consistency(old as u64, size, &old_root, &root, &cproof)
        .expect("honest consistency proof");
    if let Some(tampered) = flip(&cproof, rest) {
        assert!(verify_consistency(old as u64, size, &old_root, &root, &tampered).is_err());
    }

    // Arbitrary parameters from the rest.
    if rest.len() >= 24 {
        let (nums, hashes) = rest.split_at(24);
        let u = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(nums.get(i * 8..i * 8 + 8).expect("24 bytes"));
            u64::from_be_bytes(x)
        };
        let proof: Vec<Digest32> = hashes
            .chunks_exact(32)
            .take(70)
            .map(|c| {
                let mut d = [0u8; 32];
                d.copy_from_slice(c);
                Digest32(d)
            })
            .collect();
        let _ = verify_inclusion(&root, u(0), u(1), &proof, &root);
        let _ = verify_consistency(u(1), u(2), &old_root, &root, &proof);
    }
}

/// The proof with one bit flipped (position from `rest`), if the proof is not empty.
fn flip(proof: &[Digest32], rest: &[u8]) -> Option<Vec<Digest32>> {
    if proof.is_empty() {
        return None;
    }
    let pick = rest.iter().fold(0usize, |acc, &x| {
        acc.wrapping_mul(31).wrapping_add(usize::from(x))
    });
    let mut out = proof.to_vec();
    let i = pick % out.len();
    let byte = (pick / out.len()) % 32;
    let bit = (pick / (out.len() * 32)) % 8;
    if let Some(d) = out.get_mut(i) {
        d.0[byte] ^= 1 << bit;
    }
    Some(out)
}

/// Helper for the seed generator: the warrant payload type.
pub fn payload_json(p: &WarrantPayload) -> Vec<u8> {
    serde_json::to_vec(p).expect("payload JSON")
}

// ---------------------------------------------------------------------------------------------
// Node API answers

/// `api`: a node's JSON answer as a client reads it (`escrow_core::api::parse`); the first byte
/// picks the type (mod 6): info, cancel response, log page, inclusion proof, consistency proof,
/// error body. Each re-encodes to itself; a log page's entries decode from their bytes; proofs
/// go through the auditor's verifiers (no panic on any sizes); error codes keep their wire form.
pub fn api(data: &[u8]) {
    use escrow_core::api::{
        CancelResponse, ConsistencyProofView, EntriesPage, ErrorBody, ErrorCode,
        InclusionProofView, Info, parse,
    };
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Some(s) = text(rest) else { return };
    match pick % 6 {
        0 => {
            if let Ok(v) = parse::<Info>(s) {
                json_round_trip(&v, "info");
            }
        }
        1 => {
            if let Ok(v) = parse::<CancelResponse>(s) {
                json_round_trip(&v, "cancel response");
            }
        }
        2 => {
            let Ok(page) = parse::<EntriesPage>(s) else {
                return;
            };
            json_round_trip(&page, "log page");
            for v in page.entries.iter().take(16) {
                let Ok(bytes) = escrow_core::codec::b64_decode(&v.bytes) else {
                    continue;
                };
                if let Ok(e) = LogEntry::from_bytes(&bytes) {
                    assert_eq!(e.to_bytes(), bytes);
                    json_round_trip(&e, "log entry");
                }
            }
        }
        3 => {
            if let Ok(p) = parse::<InclusionProofView>(s) {
                json_round_trip(&p, "inclusion proof");
                let _ = verify_inclusion(&p.leaf_hash, p.index, p.size, &p.proof, &p.root);
            }
        }
        4 => {
            if let Ok(p) = parse::<ConsistencyProofView>(s) {
                json_round_trip(&p, "consistency proof");
                let r = Digest32::default();
                let _ = verify_consistency(p.old, p.new, &r, &r, &p.proof);
            }
        }
        _ => {
            if let Ok(b) = ErrorBody::from_json(s) {
                json_round_trip(&b, "error body");
                let again = ErrorCode::parse(b.error.code.as_str());
                assert_eq!(again, b.error.code, "error code changes on re-reading");
                assert_eq!(ErrorBody::from_json(&b.to_json()).expect("own JSON"), b);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Combining shares

/// `combine`: the decryption shares an investigator opened from the trustees' responses (a JSON
/// array of shares), combined for the fixture ciphertext under the fixture warrant. A trustee
/// may lie: whatever the shares, combining either refuses or recovers the true message key,
/// never another one; and each honest share is accepted.
pub fn combine(data: &[u8]) {
    use escrow_core::share::{DecryptionShare, ShareContext, combine};
    let f = fixtures::get();
    let Ok(shares) = serde_json::from_slice::<Vec<DecryptionShare>>(data) else {
        return;
    };
    if shares.len() > 8 {
        return;
    }
    let ctx = ShareContext::warrant(f.verified.digest());
    if let Ok(c) = combine(&f.dealing.set, &f.ciphertext, &ctx, &shares) {
        assert!(
            c.message_key == f.message_key,
            "combining gave a wrong message key (used {:?}, rejected {:?})",
            c.used,
            c.rejected
        );
        for (i, _) in &c.rejected {
            assert!(!c.used.contains(i), "a rejected share was used");
        }
        for s in &shares {
            if f.shares.contains(s) {
                assert!(
                    !c.rejected.iter().any(|(i, _)| *i == s.trustee),
                    "an honest share of trustee {} was rejected",
                    s.trustee
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Release protocol v2 (binary encodings)

/// `v2_ciphertext`: a v2 escrow ciphertext in its binary encoding. Decoding is strict (the input
/// is its only encoding); the single check and the batch check agree, alone and batched with an
/// honest ciphertext (whose verdict a bad neighbour must not change).
pub fn v2_ciphertext(data: &[u8]) {
    use escrow_core::v2::{EscrowCiphertextV2, check_batch};
    let f = fixtures::get();
    let g = fixtures::v2();
    let Ok(ct) = EscrowCiphertextV2::from_bytes(data) else {
        return;
    };
    assert_eq!(
        ct.to_bytes(),
        data,
        "a v2 ciphertext has exactly one encoding"
    );
    let set = &f.dealing.set;
    let alone = ct.check(set).map(|v| v.digest());
    let honest = g.ciphertext.ciphertext().clone();
    let batch = check_batch(set, &[ct.clone(), honest.clone()]);
    let [one, two] = batch.as_slice() else {
        panic!("check_batch returned {} results for 2", batch.len());
    };
    assert_eq!(
        one.as_ref().map(|v| v.digest()).ok(),
        alone.as_ref().ok().copied(),
        "batch and single check disagree"
    );
    assert_eq!(
        two.as_ref().map(|v| v.digest()).ok(),
        Some(honest.digest()),
        "a bad neighbour changed an honest ciphertext's verdict"
    );
    if let Ok(v) = ct.check(set) {
        assert_eq!(v.label(), &ct.label);
    }
}

/// `v2_answer`: a trustee's v2 answer in its binary encoding, as the investigator reads it.
/// Decoding is strict; an answer that opens against the fixture request can only carry the
/// true shares: combined with another trustee's honest share it yields the true key.
pub fn v2_answer(data: &[u8]) {
    use escrow_core::v2::{AnswerV2, combine_v2};
    let f = fixtures::get();
    let g = fixtures::v2();
    let Ok(a) = AnswerV2::from_bytes(data, 16) else {
        return;
    };
    assert_eq!(a.to_bytes(), data, "a v2 answer has exactly one encoding");
    let Ok(v) = a.open(
        &f.investigator,
        &f.dealing.set,
        &f.verified.digest(),
        core::slice::from_ref(&g.ciphertext),
    ) else {
        return;
    };
    assert_eq!(v.trustee, a.trustee);
    for other in &g.verified {
        if other.trustee == v.trustee {
            continue;
        }
        let shares: Vec<_> = v.shares.iter().chain(&other.shares).collect();
        let (key, _) = combine_v2(&f.dealing.set, &g.ciphertext, &shares)
            .expect("two verified shares combine");
        assert!(
            key == g.message_key,
            "an answer that opened gave a wrong key"
        );
    }
}

/// `label`: account names as the sender writes them and the warrant names them. The input is
/// two names split at the first NUL byte (one name: both the same). Normalisation is idempotent
/// and `Label::new` yields normal form; a scope naming the first matches a label naming the
/// second exactly when their normal forms are equal, whether the label was built by
/// `Label::new` or arrived as written by the sender.
pub fn label(data: &[u8]) {
    use escrow_core::label::{is_normalized_account, normalize_account};
    use escrow_core::warrant::{Scope, ScopeMatcher, Window};
    let Some(s) = text(data) else { return };
    let (a, b) = s.split_once('\0').unwrap_or((s, s));
    for x in [a, b] {
        let n = normalize_account(x);
        assert_eq!(normalize_account(&n), n, "normalisation is not idempotent");
        assert!(is_normalized_account(&n));
    }
    let other = "other@fuzz.invalid";
    let t = Timestamp(T0);
    let Ok(built) = Label::new(b, other, t, "m-1") else {
        return;
    };
    assert!(built.accounts_normalized());
    json_round_trip(&built, "label");
    let raw = Label {
        sender: b.to_string(),
        ..built.clone()
    };
    assert!(
        raw.check().is_ok(),
        "a name Label::new accepts, as written, passes check"
    );
    let scope = Scope {
        targets: vec![a.to_string()],
        message_ids: vec![],
        window: Window {
            from: t,
            until: Timestamp(T0 + 1),
        },
    };
    let m = ScopeMatcher::new(&scope);
    if normalize_account(a) == other {
        return;
    }
    let same = normalize_account(a) == normalize_account(b);
    assert_eq!(
        m.check(&built).is_ok(),
        same,
        "scope match of a built label"
    );
    assert_eq!(
        m.check(&raw).is_ok(),
        same,
        "scope match of a label as written"
    );
}

/// `log_page`: a `GET /v1/log/entries` page as the auditor streams it
/// (`escrow_core::audit::page`). Never a panic; and any page the typed reader
/// (`api::EntriesPage`) accepts streams to the same entries, in order, with the same index,
/// leaf hash and bytes.
pub fn log_page(data: &[u8]) {
    use escrow_core::api::EntriesPage;
    use escrow_core::audit::page::{ServedEntry, read_entries_page};
    let mut got: Vec<ServedEntry> = Vec::new();
    let streamed = read_entries_page(data, &mut |e| {
        if got.len() < 64 {
            got.push(e);
        }
    });
    let Some(s) = text(data) else { return };
    let Ok(page) = escrow_core::api::parse::<EntriesPage>(s) else {
        return;
    };
    let n = streamed.expect("a page the typed reader accepts also streams");
    assert_eq!(n, page.entries.len() as u64);
    for (g, v) in got.iter().zip(&page.entries) {
        assert_eq!(g.index, Some(v.index));
        assert_eq!(g.leaf_hash, Some(v.leaf_hash));
        let bytes = escrow_core::codec::b64_decode(&v.bytes).unwrap_or_default();
        assert_eq!(g.bytes, bytes);
    }
}

/// `request_auth`: who may ask. Even: an `Escrow-Signature` header value as a node reads it —
/// what parses re-encodes to itself, its nonce is 32 lower-case hex digits, it verifies under
/// the fixture investigator's key only if it names that key, and the same nonce and time signed
/// by the harness verify for that request and no other. Odd: a schedule of requests for the
/// node's nonce memory, three bytes each (nonce, signed time, clock step, the clock may step
/// backwards): the same signature (nonce and time) is never accepted twice, an accepted time is
/// within `MAX_SKEW_SECS` of the clock and not older than the highest clock reading minus
/// `MAX_SKEW_SECS`, never before the start, and the memory stays within its capacity.
pub fn request_auth(data: &[u8]) {
    use escrow_core::auth::{MAX_HEADER_LEN, MAX_SKEW_SECS, NonceCache, RequestSignature};
    let Some((odd, rest)) = mode(data) else {
        return;
    };
    let f = fixtures::get();
    let key = f.investigator.public();
    if !odd {
        let Ok(sig) = RequestSignature::from_header(rest) else {
            return;
        };
        assert!(
            sig.nonce.len() == 32
                && sig
                    .nonce
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)),
            "nonce {:?} accepted",
            sig.nonce
        );
        let again = sig.to_header();
        if again.len() <= MAX_HEADER_LEN {
            let back = RequestSignature::from_header(again.as_bytes())
                .expect("a re-encoded header parses");
            assert_eq!(back, sig, "header round trip");
        }
        if sig.verify(&key, "POST", "/v1/release", b"{}").is_ok() {
            assert_eq!(sig.key_id, key.key_id(), "verified under another key id");
        }
        let nonce = sig.nonce().expect("a parsed nonce");
        let mine = RequestSignature::sign(
            &f.investigator,
            "POST",
            "/v1/release",
            b"{}",
            nonce,
            sig.time,
        );
        assert!(mine.verify(&key, "POST", "/v1/release", b"{}").is_ok());
        assert!(mine.verify(&key, "POST", "/v1/cancel", b"{}").is_err());
        assert!(mine.verify(&key, "POST", "/v1/release", b"{} ").is_err());
        return;
    }
    let start = T0;
    let capacity = 4;
    let mut cache = NonceCache::new(Timestamp::from_unix(start), capacity);
    let mut clock = start;
    let mut highest = start;
    let mut accepted = std::collections::HashSet::new();
    for op in rest.chunks_exact(3).take(256) {
        let [n, off, step] = [op[0], op[1], op[2]];
        // Steps of up to ±127 × 7 s, so the schedule crosses the 300 s window both ways.
        clock += i64::from(step as i8) * 7;
        highest = highest.max(clock);
        let t = clock + i64::from(off as i8) * 5;
        let sig = RequestSignature {
            version: Default::default(),
            key_id: key.key_id(),
            nonce: format!("{:02x}", n & 7).repeat(16),
            time: Timestamp::from_unix(t),
            signature: Vec::new(),
        };
        if cache
            .check_and_remember(&sig, Timestamp::from_unix(clock))
            .is_ok()
        {
            assert!(
                accepted.insert((n & 7, t)),
                "replay of ({}, {t}) accepted",
                n & 7
            );
            assert!(t >= start, "accepted before the start");
            assert!(t <= clock + MAX_SKEW_SECS, "accepted from the future");
            assert!(
                t >= highest - MAX_SKEW_SECS,
                "accepted {t}, older than the highest clock {highest} minus the skew"
            );
        }
        assert!(cache.len() <= capacity);
    }
}
