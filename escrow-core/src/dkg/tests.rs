use super::*;
use crate::label::Label;
use crate::secret::MessageKey;
use crate::share::{DecryptionShare, ShareContext, combine};
use crate::tdh2::encapsulate;
use crate::time::Timestamp;
use rand::SeedableRng;
use rand::rngs::StdRng;

type Out1<'a> = Box<dyn FnMut(&Round1State, &mut Round1) + 'a>;
type View1<'a> = Box<dyn FnMut(u16, &mut Vec<Round1>) + 'a>;
type Out2<'a> = Box<dyn FnMut(&Round2State, &mut Round2) + 'a>;
type View2<'a> = Box<dyn FnMut(u16, &mut Vec<Round2>) + 'a>;
type Out3<'a> = Box<dyn FnMut(&Round3State, &mut Round3) + 'a>;
type View3<'a> = Box<dyn FnMut(u16, &mut Vec<Round3>) + 'a>;

/// Where a test plays a malicious participant (`*_out`, may re-sign) or a malicious relay
/// (`*_view`, per recipient).
#[derive(Default)]
struct Hooks<'a> {
    r1_out: Option<Out1<'a>>,
    r1_view: Option<View1<'a>>,
    r2_out: Option<Out2<'a>>,
    r2_view: Option<View2<'a>>,
    r3_out: Option<Out3<'a>>,
    r3_view: Option<View3<'a>>,
}

fn keys(n: usize, rng: &mut StdRng) -> Vec<PrivateKey> {
    (0..n).map(|_| PrivateKey::generate(rng)).collect()
}

/// The relay, in memory: every participant's result, index order.
fn drive(
    params: &SessionParams,
    keys: &[PrivateKey],
    previous: Option<(&TrusteeSet, &[VerifiedKeyShare])>,
    h: &mut Hooks<'_>,
    rng: &mut StdRng,
) -> Vec<Result<DkgOutput, DkgError>> {
    let n = params.parties();
    let mut results: Vec<Option<Result<DkgOutput, DkgError>>> = (0..n).map(|_| None).collect();
    let mut s1 = Vec::new();
    let mut r1 = Vec::new();
    for (pos, key) in keys.iter().enumerate() {
        let i = pos as u16 + 1;
        let (st, mut m) = match previous {
            None => start_keygen(params.clone(), i, key.clone(), rng).unwrap(),
            Some((set, shares)) if params.kind == CeremonyKind::Reshare => start_reshare(
                params.clone(),
                i,
                key.clone(),
                set.clone(),
                shares.get(pos).cloned(),
                rng,
            )
            .unwrap(),
            Some((set, shares)) => start_refresh(
                params.clone(),
                i,
                key.clone(),
                set.clone(),
                shares[pos].clone(),
                rng,
            )
            .unwrap(),
        };
        let mut st = st;
        if let Some(f) = h.r1_out.as_mut() {
            // a malicious participant believes its own message
            f(&st, &mut m);
            st.own = m.clone();
        }
        s1.push((pos, st));
        r1.push(m);
    }
    let mut s2 = Vec::new();
    let mut r2 = Vec::new();
    for (pos, st) in s1 {
        let mut view = r1.clone();
        if let Some(f) = h.r1_view.as_mut() {
            f(pos as u16 + 1, &mut view);
        }
        match st.round2(view) {
            Ok((mut st, mut m)) => {
                if let Some(f) = h.r2_out.as_mut() {
                    f(&st, &mut m);
                    st.own = m.clone();
                }
                s2.push((pos, st));
                r2.push(m);
            }
            Err(e) => results[pos] = Some(Err(e)),
        }
    }
    let mut s3 = Vec::new();
    let mut r3 = Vec::new();
    for (pos, st) in s2 {
        let mut view = r2.clone();
        if let Some(f) = h.r2_view.as_mut() {
            f(pos as u16 + 1, &mut view);
        }
        match st.round3(view, rng) {
            Ok((mut st, mut m)) => {
                if let Some(f) = h.r3_out.as_mut() {
                    f(&st, &mut m);
                    st.own = m.clone();
                }
                s3.push((pos, st));
                r3.push(m);
            }
            Err(e) => results[pos] = Some(Err(e)),
        }
    }
    for (pos, st) in s3 {
        let mut view = r3.clone();
        if let Some(f) = h.r3_view.as_mut() {
            f(pos as u16 + 1, &mut view);
        }
        results[pos] = Some(st.finalise(view));
    }
    results.into_iter().map(Option::unwrap).collect()
}

/// A participant's share (every keygen and refresh participant has one).
/// Participant 2's round 2 message `m` gives participant 4 a wrong share, properly encrypted
/// and signed (by `signer`, participant 2's key).
fn send_participant_4_a_wrong_share(st: &Round2State, m: &mut Round2, signer: &PrivateKey) {
    let st1 = &st.inner;
    let e4 = st.r1[3].ephemeral;
    let k = *e4.inner() * st1.ephemeral.expose();
    let key = share_key(&st1.session, 2, 4, &st1.own.ephemeral, &e4, &k).unwrap();
    let wrong = eval_secret(&st1.coeffs, 4) + Scalar::ONE;
    m.shares[2].ciphertext = seal_once(
        &key,
        &scalar_to_bytes(&wrong),
        &share_aad(&st1.session, 2, 4),
    )
    .unwrap();
    m.signature = signer.sign(&m.signed_bytes());
}

fn sh(o: &DkgOutput) -> &VerifiedKeyShare {
    o.share.as_ref().unwrap()
}

/// `n` fresh participant keys and keygen parameters for them with threshold `k`.
fn keygen_params(n: usize, k: u16, rng: &mut StdRng) -> (Vec<PrivateKey>, SessionParams) {
    let ks = keys(n, rng);
    let params = SessionParams::keygen(k, ks.iter().map(|k| k.public()).collect(), rng).unwrap();
    (ks, params)
}

/// Every result of an honest ceremony (a test failure if any position failed).
fn all_ok(res: Vec<Result<DkgOutput, DkgError>>) -> Vec<DkgOutput> {
    res.into_iter().map(Result::unwrap).collect()
}

/// Every position's result is the abort naming `participant` for `kind`.
fn assert_all_abort(res: &[Result<DkgOutput, DkgError>], participant: u16, kind: FaultKind) {
    let want = DkgError::Aborted(vec![fault(participant, kind)]);
    for r in res {
        assert_eq!(r.as_ref().unwrap_err(), &want);
    }
}

fn keygen(n: usize, k: u16, rng: &mut StdRng) -> (SessionParams, Vec<PrivateKey>, Vec<DkgOutput>) {
    let (ks, params) = keygen_params(n, k, rng);
    let out = all_ok(drive(&params, &ks, None, &mut Hooks::default(), rng));
    (params, ks, out)
}

/// A key generation of `n` trustees with threshold `k`: the trustees' keys, the set and its
/// shares.
fn keygen_set(
    n: usize,
    k: u16,
    rng: &mut StdRng,
) -> (Vec<PrivateKey>, TrusteeSet, Vec<VerifiedKeyShare>) {
    let (_, ks, out) = keygen(n, k, rng);
    let set = out[0].set.clone();
    let old: Vec<VerifiedKeyShare> = out.iter().map(|o| sh(o).clone()).collect();
    (ks, set, old)
}

/// What [`keygen_then_refresh`] gives: the trustees' keys, the set, its shares and the
/// refresh's results.
type Refreshed = (
    Vec<PrivateKey>,
    TrusteeSet,
    Vec<VerifiedKeyShare>,
    Vec<Result<DkgOutput, DkgError>>,
);

/// A key generation of `n` trustees with threshold `k`, then a refresh of its set (the RNG
/// drawn in that order): the trustees' keys, the set, its shares and the refresh's results.
fn keygen_then_refresh(n: usize, k: u16, rng: &mut StdRng) -> Refreshed {
    let (ks, set, old) = keygen_set(n, k, rng);
    let params = SessionParams::refresh(&set, rng).unwrap();
    let res = drive(&params, &ks, Some((&set, &old)), &mut Hooks::default(), rng);
    (ks, set, old, res)
}

fn open_with(
    set: &TrusteeSet,
    shares: &[&VerifiedKeyShare],
    rng: &mut StdRng,
) -> Result<(), Error> {
    open_with_sealed_to(set, set, shares, rng)
}

/// Seal to `sealed_to`, check against `set` and combine `shares` of `set`.
fn open_with_sealed_to(
    sealed_to: &TrusteeSet,
    set: &TrusteeSet,
    shares: &[&VerifiedKeyShare],
    rng: &mut StdRng,
) -> Result<(), Error> {
    let key = MessageKey::random(rng);
    let label = Label::new("alice", "bob", Timestamp(5), "m1").unwrap();
    let (ct, _) = encapsulate(sealed_to, &label, &key, rng).unwrap();
    let v = ct.check(set)?;
    let ctx = ShareContext::without_warrant();
    let ds: Vec<DecryptionShare> = shares
        .iter()
        .map(|s| s.decryption_share(&v, &ctx, rng).unwrap())
        .collect();
    let c = combine(set, &v, &ctx, &ds)?;
    assert_eq!(c.message_key, key);
    Ok(())
}

/// `Σ λ_i x_i · G` over the given shares (raw Lagrange interpolation at 0).
fn interpolate(shares: &[&VerifiedKeyShare]) -> ProjectivePoint {
    let ids: Vec<u16> = shares.iter().map(|s| s.index()).collect();
    let l = group::lagrange_at_zero(&ids).unwrap();
    let x: Scalar = shares
        .iter()
        .zip(&l)
        .map(|(s, l)| *s.secret() * l)
        .fold(Scalar::ZERO, |a, b| a + b);
    ProjectivePoint::mul_by_generator(&x)
}

#[test]
fn keygen_5_of_3_gives_one_set_whose_shares_open_a_message() {
    let mut rng = StdRng::seed_from_u64(11);
    let (params, _, out) = keygen(5, 3, &mut rng);
    let set = &out[0].set;
    for o in &out {
        assert_eq!(&o.set, set);
        assert_eq!(o.certificate, out[0].certificate);
        o.certificate.verify(set).unwrap();
    }
    assert_eq!(set.threshold(), 3);
    assert_eq!(set.trustees(), 5);
    for (o, key) in out.iter().zip(&params.participants) {
        assert_eq!(set.member(sh(o).index()).unwrap().signing_key, *key);
    }
    // the same trustee-set.json format as a dealt set
    assert_eq!(&TrusteeSet::from_json(&set.to_json()).unwrap(), set);
    let cert = Certificate::from_json(&out[0].certificate.to_json()).unwrap();
    cert.verify(set).unwrap();
    // any 3 shares open a sealed message through the ordinary combine path
    let shares: Vec<&VerifiedKeyShare> = out.iter().map(sh).collect();
    open_with(set, &shares[2..5], &mut rng).unwrap();
    open_with(set, &[shares[0], shares[3], shares[1]], &mut rng).unwrap();
    // k shares interpolate to Y; k-1 do not (nor does any pair)
    assert_eq!(interpolate(&shares[..3]), *set.escrow_key().inner());
    for a in 0..5 {
        for b in a + 1..5 {
            assert_ne!(
                interpolate(&[shares[a], shares[b]]),
                *set.escrow_key().inner()
            );
        }
    }
    assert!(matches!(
        open_with(set, &shares[..2], &mut rng).unwrap_err(),
        Error::NotEnoughShares { valid: 2, .. }
    ));
    // what the relay sees is enough to compute the set and check the certificate
    // (resulting_set is public), and the certificate refuses another set
    let other = keygen(5, 3, &mut rng).2;
    assert!(matches!(
        cert.verify(&other[0].set).unwrap_err(),
        DkgError::CertificateMismatch(_)
    ));
}

#[test]
fn secrets_never_print() {
    let mut rng = StdRng::seed_from_u64(12);
    let (ks, params) = keygen_params(3, 2, &mut rng);
    let (st, _) = start_keygen(params, 1, ks[0].clone(), &mut rng).unwrap();
    let text = format!("{st:?}");
    assert!(text.contains("REDACTED"));
    for c in &st.coeffs {
        assert!(!text.contains(&hex::encode(scalar_to_bytes(c.expose()))));
    }
}

#[test]
fn a_bad_share_is_named_by_a_complaint_anyone_can_check() {
    let mut rng = StdRng::seed_from_u64(13);
    let (ks, params) = keygen_params(5, 3, &mut rng);
    let signer = ks[1].clone();
    let mut seen = None;
    let mut seen1 = None;
    let mut seen2 = None;
    let mut h = Hooks {
        r1_view: Some(Box::new(|_, v: &mut Vec<Round1>| seen1 = Some(v.clone()))),
        // participant 2 sends participant 4 a wrong share, properly encrypted and signed
        r2_out: Some(Box::new(|st: &Round2State, m: &mut Round2| {
            if st.inner.index != 2 {
                return;
            }
            send_participant_4_a_wrong_share(st, m, &signer);
        })),
        r2_view: Some(Box::new(|_, v: &mut Vec<Round2>| seen2 = Some(v.clone()))),
        r3_view: Some(Box::new(|_, v: &mut Vec<Round3>| seen = Some(v.clone()))),
        ..Hooks::default()
    };
    let res = drive(&params, &ks, None, &mut h, &mut rng);
    drop(h);
    let want = DkgError::Aborted(vec![fault(2, FaultKind::BadShare { recipient: 4 })]);
    for r in &res {
        assert_eq!(r.as_ref().unwrap_err(), &want);
        assert_eq!(r.as_ref().unwrap_err().culprits(), vec![2]);
    }
    // participant 4 complained and only 4
    let r3 = seen.unwrap();
    assert!(
        r3.iter()
            .filter(|m| m.sender != 4)
            .all(|m| m.complaints.is_empty())
    );
    assert_eq!(r3[3].complaints.len(), 1);
    assert_eq!(r3[3].complaints[0].accused, 2);
    // a third party (the relay, an auditor) judges it from the public messages alone
    let (r1, r2) = (seen1.unwrap(), seen2.unwrap());
    assert_eq!(
        judge_complaint(&params, &r1, &r2, 4, &r3[3].complaints[0]),
        fault(2, FaultKind::BadShare { recipient: 4 })
    );
    // the same revealed key blamed on another sender does not verify: false complaint
    let mut moved = r3[3].complaints[0].clone();
    moved.accused = 3;
    assert_eq!(
        judge_complaint(&params, &r1, &r2, 4, &moved),
        fault(4, FaultKind::FalseComplaint { accused: 3 })
    );
}

#[test]
fn a_false_complaint_names_the_complainer() {
    let mut rng = StdRng::seed_from_u64(14);
    let (ks, params) = keygen_params(4, 2, &mut rng);
    for honest_reveal in [true, false] {
        let signer = ks[2].clone();
        let mut h = Hooks {
            // participant 3 accuses 1 although 1's share is good
            r3_out: Some(Box::new(|st: &Round3State, m: &mut Round3| {
                if st.inner.index != 3 {
                    return;
                }
                let st1 = &st.inner;
                let e1 = st.r1[0].ephemeral;
                let k = if honest_reveal {
                    *e1.inner() * st1.ephemeral.expose()
                } else {
                    ProjectivePoint::GENERATOR
                };
                let dleq = Dleq {
                    session: &st1.session,
                    complainer: 3,
                    accused: 1,
                    e_c: st1.own.ephemeral.inner(),
                    e_a: e1.inner(),
                    k: &k,
                };
                m.complaints = vec![Complaint {
                    accused: 1,
                    shared: Point::new(k, "k").unwrap(),
                    proof: dleq.prove(st1.ephemeral.expose(), &mut rand::rng()),
                }];
                m.signature = signer.sign(&m.signed_bytes());
            })),
            ..Hooks::default()
        };
        let res = drive(&params, &ks, None, &mut h, &mut rng);
        assert_all_abort(&res, 3, FaultKind::FalseComplaint { accused: 1 });
    }
}

#[test]
fn a_relay_that_alters_drops_or_replays_a_message_is_caught() {
    let mut rng = StdRng::seed_from_u64(15);
    let (ks, params) = keygen_params(4, 3, &mut rng);
    let shift = |p: &Point| Point::new(*p.inner() + ProjectivePoint::GENERATOR, "p").unwrap();
    // round 1: participant 3's commitment altered on the way to participant 1
    let mut h = Hooks {
        r1_view: Some(Box::new(|to, v: &mut Vec<Round1>| {
            if to == 1 {
                v[2].commitments[1] = shift(&v[2].commitments[1]);
            }
        })),
        ..Hooks::default()
    };
    let res = drive(&params, &ks, None, &mut h, &mut rng);
    assert_eq!(
        res[0].as_ref().unwrap_err(),
        &DkgError::Aborted(vec![fault(3, FaultKind::BadSignature { round: 1 })])
    );
    // the others never see participant 1's round 2: nobody ends with a set
    assert_all_abort(&res[1..], 1, FaultKind::Missing { round: 2 });
    // round 2: a ciphertext altered on the way to participant 4
    let mut h = Hooks {
        r2_view: Some(Box::new(|to, v: &mut Vec<Round2>| {
            if to == 4 {
                v[1].shares[2].ciphertext[0] ^= 1;
            }
        })),
        ..Hooks::default()
    };
    let res = drive(&params, &ks, None, &mut h, &mut rng);
    assert_eq!(
        res[3].as_ref().unwrap_err(),
        &DkgError::Aborted(vec![fault(2, FaultKind::BadSignature { round: 2 })])
    );
    assert!(res.iter().all(Result::is_err));
    // round 3: a certificate signature dropped
    let mut h = Hooks {
        r3_view: Some(Box::new(|to, v: &mut Vec<Round3>| {
            if to == 2 {
                v.remove(3);
            }
        })),
        ..Hooks::default()
    };
    let res = drive(&params, &ks, None, &mut h, &mut rng);
    assert_eq!(
        res[1].as_ref().unwrap_err(),
        &DkgError::Aborted(vec![fault(4, FaultKind::Missing { round: 3 })])
    );
    // a message replayed from another session
    let other =
        SessionParams::keygen(3, ks.iter().map(|k| k.public()).collect(), &mut rng).unwrap();
    let (_, stale) = start_keygen(other, 2, ks[1].clone(), &mut rng).unwrap();
    let mut h = Hooks {
        r1_view: Some(Box::new(|_, v: &mut Vec<Round1>| v[1] = stale.clone())),
        ..Hooks::default()
    };
    let res = drive(&params, &ks, None, &mut h, &mut rng);
    for (pos, r) in res.iter().enumerate() {
        let f = r.as_ref().unwrap_err();
        if pos == 1 {
            // participant 2 also sees its own message replaced
            assert_eq!(f.culprits(), vec![2]);
        } else {
            assert_eq!(
                f,
                &DkgError::Aborted(vec![fault(
                    2,
                    FaultKind::Malformed {
                        round: 1,
                        why: "for another session".into()
                    }
                )])
            );
        }
    }
}

#[test]
fn a_bad_proof_of_possession_is_named() {
    let mut rng = StdRng::seed_from_u64(16);
    let (ks, params) = keygen_params(3, 2, &mut rng);
    for which in ["pop", "ephemeral"] {
        let signer = ks[0].clone();
        let mut h = Hooks {
            r1_out: Some(Box::new(|st: &Round1State, m: &mut Round1| {
                if st.index == 1 {
                    match which {
                        "pop" => {
                            if let Some(p) = m.pop.as_mut() {
                                p.z += Scalar::ONE;
                            }
                        }
                        _ => m.ephemeral_proof.z += Scalar::ONE,
                    }
                    m.signature = signer.sign(&m.signed_bytes());
                }
            })),
            ..Hooks::default()
        };
        let res = drive(&params, &ks, None, &mut h, &mut rng);
        let kind = if which == "pop" {
            FaultKind::BadProofOfPossession
        } else {
            FaultKind::BadEphemeralProof
        };
        assert_all_abort(&res, 1, kind);
    }
}

#[test]
fn refresh_keeps_the_key_changes_every_share_and_old_and_new_do_not_mix() {
    let mut rng = StdRng::seed_from_u64(17);
    let (ks, set, old, res) = keygen_then_refresh(5, 3, &mut rng);
    let new: Vec<DkgOutput> = res.into_iter().map(Result::unwrap).collect();
    let nset = &new[0].set;
    assert_eq!(nset.escrow_key(), set.escrow_key());
    assert_ne!(nset.id(), set.id());
    for o in &new {
        assert_eq!(&o.set, nset);
        o.certificate.verify(nset).unwrap();
        assert_eq!(o.certificate.params.previous_set, Some(set.id()));
    }
    let ns: Vec<&VerifiedKeyShare> = new.iter().map(sh).collect();
    for (a, b) in ns.iter().zip(&old) {
        assert_ne!(a.secret(), b.secret());
    }
    // new shares open messages sealed to the (unchanged) key
    open_with(nset, &ns[..3], &mut rng).unwrap();
    assert_eq!(interpolate(&ns[1..4]), *set.escrow_key().inner());
    // two new shares and one old one interpolate to garbage, in every mix
    for (stale, old_share) in old.iter().enumerate() {
        let mut mix: Vec<&VerifiedKeyShare> = ns
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| *i != stale)
            .map(|(_, s)| s)
            .take(2)
            .collect();
        mix.push(old_share);
        assert_ne!(interpolate(&mix), *set.escrow_key().inner());
    }
    // an old share fails the new set's Feldman check
    assert_eq!(
        nset.verify_share(old[0].to_key_share()).unwrap_err(),
        Error::WrongTrusteeSet {
            trustee: 1,
            found: set.id().short(),
            expected: nset.id().short()
        }
    );
    // a refresh of another set is refused at the start
    let other = keygen(5, 3, &mut rng).2;
    let p2 = SessionParams::refresh(&other[0].set, &mut rng).unwrap();
    assert!(matches!(
        start_refresh(p2, 1, ks[0].clone(), set.clone(), old[0].clone(), &mut rng).unwrap_err(),
        DkgError::NotAParticipant(_)
    ));
}

#[test]
fn parameters_are_checked() {
    let mut rng = StdRng::seed_from_u64(18);
    let ks = keys(3, &mut rng);
    let pubs: Vec<PublicKey> = ks.iter().map(|k| k.public()).collect();
    assert!(matches!(
        SessionParams::keygen(4, pubs.clone(), &mut rng).unwrap_err(),
        DkgError::InvalidParams(_)
    ));
    let dup = vec![pubs[0], pubs[1], pubs[0]];
    assert_eq!(
        SessionParams::keygen(2, dup, &mut rng).unwrap_err(),
        DkgError::InvalidParams("participant 1 appears more than once".into())
    );
    let p = SessionParams::keygen(2, pubs, &mut rng).unwrap();
    // a node that is not the participant at that index
    assert!(matches!(
        start_keygen(p.clone(), 2, ks[0].clone(), &mut rng).unwrap_err(),
        DkgError::NotAParticipant(_)
    ));
    let json = crate::codec::to_json(&p);
    let back: SessionParams = crate::codec::from_json("params", &json).unwrap();
    assert_eq!(back.session_id(), p.session_id());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["extra"] = 1.into();
    assert!(crate::codec::from_json::<SessionParams>("params", &v.to_string()).is_err());
}

/// Known-answer vectors: a fixed RNG gives fixed round messages (ECDSA signatures are
/// RFC 6979 deterministic), hence a fixed session id, transcript digest and set id.
#[test]
fn known_answer_vectors() {
    let mut rng = StdRng::seed_from_u64(2026);
    let (params, _, out) = keygen(3, 2, &mut rng);
    let got = (
        params.session_id().to_hex(),
        out[0].certificate.transcript.to_hex(),
        out[0].set.id().to_hex(),
        out[0].set.escrow_key().to_hex(),
    );
    println!("{got:#?}");
    assert_eq!(got.0, KAT_SESSION);
    assert_eq!(got.1, KAT_TRANSCRIPT);
    assert_eq!(got.2, KAT_SET_ID);
    assert_eq!(got.3, KAT_ESCROW_KEY);
}

/// Known answer: a refresh of the keygen vector's set (fixed RNG) gives a fixed set id, which
/// hashes the lineage (`docs/protocol.md` §4.3); the set file is version 2 and reads back.
#[test]
fn refresh_known_answer_vector() {
    let mut rng = StdRng::seed_from_u64(2026);
    let (_, set, old, new) = keygen_then_refresh(3, 2, &mut rng);
    let nset = new[0].as_ref().unwrap().set.clone();
    assert_eq!(nset.lineage(), &[set.id()]);
    assert_eq!(nset.origin(), set.id());
    assert!(nset.covers(&set.id()) && nset.covers(&nset.id()));
    let json = nset.to_json();
    assert!(json.contains("\"version\": 2"), "{json}");
    assert_eq!(TrusteeSet::from_json(&json).unwrap(), nset);
    assert_eq!(nset.id().to_hex(), KAT_REFRESHED_SET_ID);
    // version 1 with a lineage, or version 2 without: refused
    let v1 = json.replace("\"version\": 2", "\"version\": 1");
    assert!(TrusteeSet::from_json(&v1).is_err());
    let v2 = set.to_json().replace("\"version\": 1", "\"version\": 2");
    assert!(TrusteeSet::from_json(&v2).is_err());
    // a lineage is part of the id: dropping it is caught
    let mut f: serde_json::Value = serde_json::from_str(&json).unwrap();
    f["lineage"] = serde_json::json!([crate::codec::Digest32::sha256(b"x")]);
    assert!(TrusteeSet::from_json(&f.to_string()).is_err());
    // a message sealed to the old set passes the new set's check and decrypts with new shares
    let ns: Vec<&VerifiedKeyShare> = new.iter().map(|o| sh(o.as_ref().unwrap())).collect();
    open_with_sealed_to(&set, &nset, &ns[..2], &mut rng).unwrap();
    // ... but a message sealed to the new set is not accepted by the old set
    let os: Vec<&VerifiedKeyShare> = old.iter().collect();
    assert!(matches!(
        open_with_sealed_to(&nset, &set, &os[..2], &mut rng).unwrap_err(),
        Error::CiphertextForOtherSet { .. }
    ));
}

/// Reshare `set` from the trustees `dealers` (their shares `old`, keys `ks`) to `n` new
/// trustees with threshold `k`: the parameters, the new trustees' keys, every position's result.
#[allow(clippy::too_many_arguments)]
fn reshare(
    set: &TrusteeSet,
    old: &[VerifiedKeyShare],
    ks: &[PrivateKey],
    dealers: &[u16],
    n: usize,
    k: u16,
    h: &mut Hooks<'_>,
    rng: &mut StdRng,
) -> (
    SessionParams,
    Vec<PrivateKey>,
    Vec<Result<DkgOutput, DkgError>>,
) {
    let new_keys = keys(n, rng);
    let params = SessionParams::reshare(
        set,
        dealers,
        k,
        new_keys.iter().map(|k| k.public()).collect(),
        rng,
    )
    .unwrap();
    let mut all: Vec<PrivateKey> = dealers
        .iter()
        .map(|&d| ks[usize::from(d) - 1].clone())
        .collect();
    all.extend(new_keys.iter().cloned());
    let shares: Vec<VerifiedKeyShare> = dealers
        .iter()
        .map(|&d| old[usize::from(d) - 1].clone())
        .collect();
    let res = drive(&params, &all, Some((set, &shares)), h, rng);
    (params, new_keys, res)
}

#[test]
fn reshare_3_of_5_to_4_of_7_keeps_the_key_and_old_shares_stop_working() {
    let mut rng = StdRng::seed_from_u64(19);
    let (ks, set, old) = keygen_set(5, 3, &mut rng);
    let (params, new_keys, res) = reshare(
        &set,
        &old,
        &ks,
        &[1, 3, 5],
        7,
        4,
        &mut Hooks::default(),
        &mut rng,
    );
    assert_eq!(params.parties(), 10);
    let res: Vec<DkgOutput> = res.into_iter().map(Result::unwrap).collect();
    let nset = res[0].set.clone();
    // every position (dealers 1..=3, new trustees 4..=10) computed the same set and certificate
    for o in &res {
        assert_eq!(o.set, nset);
        assert_eq!(o.certificate, res[0].certificate);
    }
    // the dealers get nothing; the new trustees get shares of the new set, in order
    assert!(res[..3].iter().all(|o| o.share.is_none()));
    let ns: Vec<&VerifiedKeyShare> = res[3..].iter().map(sh).collect();
    for (i, s) in ns.iter().enumerate() {
        assert_eq!(usize::from(s.index()), i + 1);
    }
    assert_eq!((nset.threshold(), nset.trustees()), (4, 7));
    assert_eq!(nset.escrow_key(), set.escrow_key());
    assert_eq!(nset.lineage(), &[set.id()]);
    assert_eq!(nset.reshared_after(), 1);
    assert_eq!(nset.origin(), nset.id());
    let cert = &res[0].certificate;
    cert.verify(&nset).unwrap();
    assert_eq!(cert.params.previous_set, Some(set.id()));
    assert_eq!(cert.signatures.len(), 10);
    // the file is version 3 and reads back; reshared_after is part of the id
    let json = nset.to_json();
    assert!(json.contains("\"version\": 3"), "{json}");
    assert_eq!(TrusteeSet::from_json(&json).unwrap(), nset);
    let mut f: serde_json::Value = serde_json::from_str(&json).unwrap();
    f["version"] = 2.into();
    f.as_object_mut().unwrap().remove("reshared_after");
    assert!(TrusteeSet::from_json(&f.to_string()).is_err());
    // 4 new shares open a message sealed to the old set and one sealed to the new; 3 do not
    open_with_sealed_to(&set, &nset, &ns[..4], &mut rng).unwrap();
    open_with(&nset, &[ns[6], ns[1], ns[4], ns[2]], &mut rng).unwrap();
    assert_eq!(interpolate(&ns[2..6]), *set.escrow_key().inner());
    assert!(matches!(
        open_with(&nset, &ns[..3], &mut rng).unwrap_err(),
        Error::NotEnoughShares { valid: 3, .. }
    ));
    // k'-1 = 3 new shares interpolate to something else than the key, in every choice
    for a in 0..7 {
        for b in a + 1..7 {
            for c in b + 1..7 {
                assert_ne!(
                    interpolate(&[ns[a], ns[b], ns[c]]),
                    *set.escrow_key().inner()
                );
            }
        }
    }
    // an old share fails the new set's Feldman check, and mixes of old and new do not combine
    assert!(matches!(
        nset.verify_share(old[0].to_key_share()).unwrap_err(),
        Error::WrongTrusteeSet { trustee: 1, .. }
    ));
    assert_ne!(
        interpolate(&[&old[0], ns[1], ns[2], ns[3]]),
        *set.escrow_key().inner()
    );
    // a refresh of the reshared set keeps its origin (its trustees' logs) and lineage
    let owned: Vec<VerifiedKeyShare> = ns.iter().map(|s| (*s).clone()).collect();
    let rp = SessionParams::refresh(&nset, &mut rng).unwrap();
    let again = drive(
        &rp,
        &new_keys,
        Some((&nset, &owned)),
        &mut Hooks::default(),
        &mut rng,
    );
    let rset = again[0].as_ref().unwrap().set.clone();
    assert_eq!(rset.lineage(), &[set.id(), nset.id()]);
    assert_eq!(rset.origin(), nset.id());
    assert_eq!(TrusteeSet::from_json(&rset.to_json()).unwrap(), rset);
    open_with_sealed_to(
        &set,
        &rset,
        &[
            sh(again[0].as_ref().unwrap()),
            sh(again[1].as_ref().unwrap()),
            sh(again[2].as_ref().unwrap()),
            sh(again[3].as_ref().unwrap()),
        ],
        &mut rng,
    )
    .unwrap();
}

#[test]
fn a_reshare_needs_k_dealers_and_names_one_that_deals_another_secret() {
    let mut rng = StdRng::seed_from_u64(20);
    let (ks, set, old) = keygen_set(5, 3, &mut rng);
    let new_keys: Vec<PublicKey> = keys(3, &mut rng).iter().map(|k| k.public()).collect();
    // fewer than k = 3 old trustees cannot reshare
    assert_eq!(
        SessionParams::reshare(&set, &[1, 2], 2, new_keys.clone(), &mut rng).unwrap_err(),
        DkgError::InvalidParams(
            "a reshare needs at least k = 3 of the old trustees as dealers, 2 given".into()
        )
    );
    // a dealer that is not an old trustee, or given twice
    assert!(matches!(
        SessionParams::reshare(&set, &[1, 2, 6], 2, new_keys.clone(), &mut rng).unwrap_err(),
        DkgError::InvalidParams(_)
    ));
    assert!(matches!(
        SessionParams::reshare(&set, &[2, 2, 3], 2, new_keys.clone(), &mut rng).unwrap_err(),
        DkgError::InvalidParams(_)
    ));
    // dealer 2 (old trustee 3) deals a polynomial with another constant term: named by all
    let signer = ks[2].clone();
    let mut h = Hooks {
        r1_out: Some(Box::new(|st: &Round1State, m: &mut Round1| {
            if st.index == 2 {
                let other = ProjectivePoint::mul_by_generator(&Scalar::from(7u64));
                m.commitments[0] = Point::new(other, "c").unwrap();
                m.signature = signer.sign(&m.signed_bytes());
            }
        })),
        ..Hooks::default()
    };
    let (_, _, res) = reshare(&set, &old, &ks, &[1, 3, 4], 3, 2, &mut h, &mut rng);
    assert_all_abort(&res, 2, FaultKind::WrongConstantTerm);
    // a dealer sending a new trustee a bad sub-share is named by that trustee's complaint,
    // which every position checks from public data
    let signer = ks[0].clone();
    let mut h = Hooks {
        r2_out: Some(Box::new(|st: &Round2State, m: &mut Round2| {
            if st.inner.index == 1 {
                if let Some(c) = m.shares.first_mut().and_then(|s| s.ciphertext.first_mut()) {
                    *c ^= 1;
                }
                m.signature = signer.sign(&m.signed_bytes());
            }
        })),
        ..Hooks::default()
    };
    let (_, _, res) = reshare(&set, &old, &ks, &[1, 3, 4], 3, 2, &mut h, &mut rng);
    assert_all_abort(&res, 1, FaultKind::BadShare { recipient: 4 });
}

/// Known answer: a reshare of the keygen vector's set from trustees 1 and 3 to 4 new trustees
/// with threshold 3 (fixed RNG) gives a fixed session id and set id (`docs/protocol.md`
/// §16.10); the set file is version 3.
#[test]
fn reshare_known_answer_vector() {
    let mut rng = StdRng::seed_from_u64(2026);
    let (ks, set, old) = keygen_set(3, 2, &mut rng);
    let (params, _, res) = reshare(
        &set,
        &old,
        &ks,
        &[1, 3],
        4,
        3,
        &mut Hooks::default(),
        &mut rng,
    );
    let nset = res[0].as_ref().unwrap().set.clone();
    let got = (
        params.session_id().to_hex(),
        res[0].as_ref().unwrap().certificate.transcript.to_hex(),
        nset.id().to_hex(),
    );
    println!("{got:#?}");
    assert_eq!(nset.escrow_key().to_hex(), KAT_ESCROW_KEY);
    assert_eq!(got.0, KAT_RESHARE_SESSION);
    assert_eq!(got.1, KAT_RESHARE_TRANSCRIPT);
    assert_eq!(got.2, KAT_RESHARED_SET_ID);
}

const KAT_RESHARE_SESSION: &str =
    "5cad6cbb23b8478fb079243e379129b2f543311fe8a35a00500e3e62351d109f";
const KAT_RESHARE_TRANSCRIPT: &str =
    "538c662ecb319ec7ec348db4164e815f487df844b1d7e566c661c94d89192aad";
const KAT_RESHARED_SET_ID: &str =
    "87219d61f4663e61b81b0b10d20f953bd3525c4288baf5d9fb663a2bf9241eae";

const KAT_REFRESHED_SET_ID: &str =
    "503217882a2756aafdcb3b9dfb3b819b7bcf8dfd6f699bac6d3ba256138f7ad0";

const KAT_SESSION: &str = "458f3ccd06b11972a96ba4ccf609123e2038416e07c96de3aa2bef98044d8ac6";
const KAT_TRANSCRIPT: &str = "fa68775376bccff871c59ca1c70103033e53939d1eca4d71c1aeeea592abf10d";
const KAT_SET_ID: &str = "0e91e94fa497b6545b8e654035ed56db5c8c63f156df1fdc30b38ff4a3c9d46c";
const KAT_ESCROW_KEY: &str = "02c7e4c48c867903b477fe8e414c8e5d808c41bd100d3b813fefe2da741029e022";

#[test]
fn culprit_names_the_one_participant_at_fault() {
    let fault = |participant| Fault {
        participant,
        kind: FaultKind::BadProofOfPossession,
    };
    let one = DkgError::Aborted(vec![fault(3), fault(3)]);
    assert_eq!((one.culprits(), one.culprit()), (vec![3], Some(3)));
    let two = DkgError::Aborted(vec![fault(4), fault(2)]);
    assert_eq!((two.culprits(), two.culprit()), (vec![2, 4], None));
    // A certificate whose signature fails names its signer.
    let cert = DkgError::CertificateSignature { participant: 5 };
    assert_eq!((cert.culprits(), cert.culprit()), (vec![5], Some(5)));
    let params = DkgError::InvalidParams(String::new());
    assert_eq!((params.culprits(), params.culprit()), (vec![], None));
}

fn holders(labels: &[(&str, &str)]) -> Vec<Holder> {
    labels
        .iter()
        .map(|(o, j)| Holder::new(o, j).unwrap())
        .collect()
}

/// Issue 15, who may hold the key: the parameters name each participant's organisation and
/// jurisdiction, the session id binds them, the set made carries them (format version 4) and
/// its certificate verifies only against them; a refresh keeps them, and one whose
/// parameters name other holders is refused.
#[test]
fn holders_are_bound_by_the_session_and_carried_by_the_set_through_a_refresh() {
    let mut rng = StdRng::seed_from_u64(20);
    let ks = keys(4, &mut rng);
    let hs = holders(&[("A", "DE"), ("B", "FR"), ("C", "NL"), ("D", "DE")]);
    let plain =
        SessionParams::keygen(3, ks.iter().map(|k| k.public()).collect(), &mut rng).unwrap();
    let params = plain.clone().with_holders(hs.clone()).unwrap();
    assert_eq!(params.version, PARAMS_VERSION_HOLDERS);
    assert_ne!(params.session_id(), plain.session_id());
    let mut other = params.clone();
    other.holders[3].jurisdiction = "FR".into();
    assert_ne!(other.session_id(), params.session_id());
    // a version that does not match the holders is refused
    let mut wrong = params.clone();
    wrong.version = PARAMS_VERSION;
    assert!(matches!(wrong.validate(), Err(DkgError::InvalidParams(_))));
    assert!(matches!(
        plain.clone().with_holders(hs[..3].to_vec()),
        Err(DkgError::InvalidParams(_))
    ));
    let out: Vec<DkgOutput> = all_ok(drive(&params, &ks, None, &mut Hooks::default(), &mut rng));
    let set = out[0].set.clone();
    assert_eq!(set.holders().unwrap(), hs);
    assert!(set.to_json().contains("\"version\": 4"));
    assert_eq!(TrusteeSet::from_json(&set.to_json()).unwrap(), set);
    out[0].certificate.verify(&set).unwrap();
    let comp = set.composition().unwrap();
    assert_eq!(comp.jurisdictions[0].name, "DE");
    assert_eq!(comp.jurisdictions[0].trustees, vec![1, 4]);
    // refresh: the holders stay
    let old: Vec<VerifiedKeyShare> = out.iter().map(|o| sh(o).clone()).collect();
    let rp = SessionParams::refresh(&set, &mut rng).unwrap();
    assert_eq!(rp.holders, hs);
    let mut bad = rp.clone();
    bad.holders[0].organisation = "Z".into();
    assert_eq!(
        start_refresh(bad, 1, ks[0].clone(), set.clone(), old[0].clone(), &mut rng).unwrap_err(),
        DkgError::NotAParticipant(
            "the ceremony's holders (organisation, jurisdiction) are not the set's".into()
        )
    );
    let new: Vec<DkgOutput> = all_ok(drive(
        &rp,
        &ks,
        Some((&set, &old)),
        &mut Hooks::default(),
        &mut rng,
    ));
    assert_eq!(new[0].set.holders().unwrap(), hs);
    new[0].certificate.verify(&new[0].set).unwrap();
    // a certificate does not verify against a set naming other holders
    let dealt = crate::trustee::deal_for(4, 3, Some(&hs[..]), &mut rng).unwrap();
    let mut cert = out[0].certificate.clone();
    cert.params.holders[0].organisation = "Z".into();
    assert!(matches!(
        cert.verify(&set),
        Err(DkgError::CertificateMismatch(_))
    ));
    assert_eq!(dealt.set.holders().unwrap(), hs);
}

/// `docs/protocol.md`, read at compile time: the labels below are compared with its text.
const PROTOCOL_MD: &str = include_str!("../../../docs/protocol.md");

/// Every `escrow/v…` label `docs/protocol.md` §16 states, by subsection (`"16"` for the text
/// before §16.1, `"16.3"`, …).
fn doc_labels() -> std::collections::BTreeMap<String, std::collections::BTreeSet<Vec<u8>>> {
    let start = PROTOCOL_MD
        .find("\n## 16.")
        .expect("docs/protocol.md has a §16")
        + 1;
    let rest = &PROTOCOL_MD[start..];
    let s16 = &rest[..rest[1..].find("\n## ").map_or(rest.len(), |e| e + 1)];
    let mut out = std::collections::BTreeMap::new();
    for (i, part) in s16.split("\n### ").enumerate() {
        let name = if i == 0 {
            "16".to_string()
        } else {
            part.split_whitespace().next().unwrap().to_string()
        };
        let mut labels = std::collections::BTreeSet::new();
        let mut t = part;
        while let Some(p) = t.find("escrow/v") {
            let tail = &t[p..];
            let len = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '-'))
                .unwrap_or(tail.len());
            labels.insert(tail.as_bytes()[..len].to_vec());
            t = &tail[len..];
        }
        assert!(out.insert(name.clone(), labels).is_none(), "§{name} twice");
    }
    out
}

fn u16be(i: u16) -> [u8; 2] {
    i.to_be_bytes()
}

/// `lp(x) = u32be(len x) ‖ x` (§16).
fn lp(out: &mut Vec<u8>, x: &[u8]) {
    out.extend_from_slice(&(x.len() as u32).to_be_bytes());
    out.extend_from_slice(x);
}

/// `e == H(dst, session ‖ u16 index ‖ A ‖ R)` with `R = z·G − e·A` (§16.3), computed here.
fn schnorr_holds(
    dst: &str,
    session: &Digest32,
    index: u16,
    a: &ProjectivePoint,
    p: &Proof,
) -> bool {
    let r = ProjectivePoint::mul_by_generator(&p.z) - *a * p.e;
    p.e == group::hash_to_scalar(dst, &[session.as_bytes(), &u16be(index), &enc(a), &enc(&r)])
}

/// Issue 15: every domain-separation label of the DKG, refresh and reshare messages is, byte for
/// byte, the one `docs/protocol.md` §16 states in the subsection that defines its use, and the
/// code hashes, signs, proves and encrypts under exactly those labels: the session id, the
/// signed bytes of rounds 1–3, both Schnorr proofs, the round digests, the transcript, a share's
/// key and AAD, a complaint's DLEQ proof and the certificate bytes are recomputed here from the
/// doc's formulas and compared with what the code produced.
#[test]
fn every_label_is_the_one_protocol_md_16_states_and_the_code_uses_it() {
    let doc = doc_labels();
    let expected: Vec<(&str, Vec<&[u8]>)> = vec![
        ("16.2", vec![TAG_SESSION.as_bytes()]),
        (
            "16.3",
            vec![
                DST_POP.as_bytes(),
                DST_EPHEMERAL.as_bytes(),
                SIG_ROUND1,
                TAG_ROUND1_DIGEST.as_bytes(),
            ],
        ),
        (
            "16.4",
            vec![
                INFO_SHARE,
                SIG_ROUND2,
                TAG_ROUND2_DIGEST.as_bytes(),
                TAG_TRANSCRIPT.as_bytes(),
            ],
        ),
        ("16.5", vec![SIG_CERTIFICATE, SIG_COMPLAINTS]),
        ("16.6", vec![DST_COMPLAINT.as_bytes()]),
        ("16.10", vec![TAG_SESSION.as_bytes()]),
    ];
    for (section, labels) in &doc {
        let want: std::collections::BTreeSet<Vec<u8>> = expected
            .iter()
            .find(|(s, _)| s == section)
            .map(|(_, l)| l.iter().map(|b| b.to_vec()).collect())
            .unwrap_or_default();
        let show = |s: &std::collections::BTreeSet<Vec<u8>>| {
            s.iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            show(labels),
            show(&want),
            "docs/protocol.md §{section} states these labels; the code's are the second list"
        );
    }
    for (section, _) in &expected {
        assert!(
            doc.contains_key(*section),
            "docs/protocol.md has no §{section}"
        );
    }

    // The code uses them: a keygen of 4 (k = 3) in which participant 2 sends participant 4 a
    // wrong share (so that 4 complains), everything recomputed from the doc's formulas.
    let mut rng = StdRng::seed_from_u64(2027);
    let (ks, params) = keygen_params(4, 3, &mut rng);
    let sid = params.session_id();
    let mut b = vec![1u8];
    b.extend_from_slice(params.nonce.as_bytes());
    b.extend_from_slice(&u16be(3));
    b.extend_from_slice(&u16be(4));
    for k in &ks {
        b.extend_from_slice(&k.public().point().to_bytes());
    }
    assert_eq!(
        Digest32::tagged(TAG_SESSION, &[&b]),
        sid,
        "keygen session id"
    );
    let signer = ks[1].clone();
    let (mut seen1, mut seen2, mut seen3) = (None, None, None);
    let mut opened = 0;
    let mut h = Hooks {
        r1_view: Some(Box::new(|_, v: &mut Vec<Round1>| seen1 = Some(v.clone()))),
        r2_out: Some(Box::new(|st: &Round2State, m: &mut Round2| {
            let i = st.inner.index;
            let e_i = st.inner.own.ephemeral;
            // every honest ciphertext opens under the key and AAD of §16.4, made here
            for s in &m.shares {
                let j = s.recipient;
                let e_j = st.r1[usize::from(j) - 1].ephemeral;
                let k = *e_j.inner() * st.inner.ephemeral.expose();
                let mut info = INFO_SHARE.to_vec();
                info.extend_from_slice(&u16be(i));
                info.extend_from_slice(&u16be(j));
                info.extend_from_slice(&e_i.to_bytes());
                info.extend_from_slice(&e_j.to_bytes());
                let mut key = [0u8; 32];
                Hkdf::<Sha256>::new(Some(sid.as_bytes()), &enc(&k)[1..])
                    .expand(&info, &mut key)
                    .unwrap();
                let mut aad = sid.as_bytes().to_vec();
                aad.extend_from_slice(&u16be(i));
                aad.extend_from_slice(&u16be(j));
                let plain = crate::ecies::open_once(&key, &s.ciphertext, &aad, "share").unwrap();
                let s_ij = group::scalar_from_bytes(&plain, "share").unwrap();
                let x = Scalar::from(u64::from(j));
                let mut want = ProjectivePoint::IDENTITY;
                for c in st.inner.own.commitments.iter().rev() {
                    want = want * x + c.inner();
                }
                assert_eq!(ProjectivePoint::mul_by_generator(&s_ij), want);
                opened += 1;
            }
            if i != 2 {
                return;
            }
            send_participant_4_a_wrong_share(st, m, &signer);
        })),
        r2_view: Some(Box::new(|_, v: &mut Vec<Round2>| seen2 = Some(v.clone()))),
        r3_view: Some(Box::new(|_, v: &mut Vec<Round3>| seen3 = Some(v.clone()))),
        ..Hooks::default()
    };
    let res = drive(&params, &ks, None, &mut h, &mut rng);
    drop(h);
    assert_eq!(opened, 12, "every participant's three shares opened");
    assert!(res.iter().all(Result::is_err));
    let (r1, r2, r3) = (seen1.unwrap(), seen2.unwrap(), seen3.unwrap());
    // round 1: signed bytes, both proofs, the digest
    let mut d1 = Vec::new();
    for (m, k) in r1.iter().zip(&ks) {
        let signed = m.signed_bytes();
        let mut head = SIG_ROUND1.to_vec();
        head.extend_from_slice(sid.as_bytes());
        head.extend_from_slice(&u16be(m.sender));
        assert!(signed.starts_with(&head));
        k.public().verify(&signed, &m.signature, "round 1").unwrap();
        let c0 = m.commitments[0].inner();
        assert!(schnorr_holds(
            DST_POP,
            &sid,
            m.sender,
            c0,
            m.pop.as_ref().unwrap()
        ));
        assert!(schnorr_holds(
            DST_EPHEMERAL,
            &sid,
            m.sender,
            m.ephemeral.inner(),
            &m.ephemeral_proof
        ));
        lp(&mut d1, &signed);
        lp(&mut d1, &m.signature);
    }
    let d1 = Digest32::tagged(TAG_ROUND1_DIGEST, &[&d1]);
    assert_eq!(d1, round1_digest(&r1));
    // round 2: signed bytes, the digest, the transcript
    let mut d2 = Vec::new();
    for (m, k) in r2.iter().zip(&ks) {
        let signed = m.signed_bytes();
        let mut head = SIG_ROUND2.to_vec();
        head.extend_from_slice(sid.as_bytes());
        head.extend_from_slice(&u16be(m.sender));
        head.extend_from_slice(d1.as_bytes());
        assert!(signed.starts_with(&head));
        k.public().verify(&signed, &m.signature, "round 2").unwrap();
        lp(&mut d2, &signed);
        lp(&mut d2, &m.signature);
    }
    let d2 = Digest32::tagged(TAG_ROUND2_DIGEST, &[&d2]);
    assert_eq!(d2, round2_digest(&r2));
    let tau = Digest32::tagged(
        TAG_TRANSCRIPT,
        &[sid.as_bytes(), d1.as_bytes(), d2.as_bytes()],
    );
    assert_eq!(tau, transcript_digest(&sid, &d1, &d2));
    // round 3: the three without complaints sign the certificate bytes, 4 its complaint
    for (m, k) in r3.iter().zip(&ks) {
        assert_eq!(m.transcript, tau);
        let mut bytes = if m.complaints.is_empty() {
            SIG_CERTIFICATE.to_vec()
        } else {
            SIG_COMPLAINTS.to_vec()
        };
        bytes.extend_from_slice(sid.as_bytes());
        if m.complaints.is_empty() {
            bytes.extend_from_slice(tau.as_bytes());
            bytes.extend_from_slice(m.set_id.as_bytes());
            assert_eq!(bytes, certificate_bytes(&sid, &tau, &m.set_id));
        } else {
            bytes.extend_from_slice(&u16be(m.sender));
            bytes.extend_from_slice(tau.as_bytes());
            bytes.extend_from_slice(m.set_id.as_bytes());
            bytes.extend_from_slice(&u16be(m.complaints.len() as u16));
            for c in &m.complaints {
                bytes.extend_from_slice(&u16be(c.accused));
                bytes.extend_from_slice(&c.shared.to_bytes());
                bytes.extend_from_slice(&scalar_to_bytes(&c.proof.e));
                bytes.extend_from_slice(&scalar_to_bytes(&c.proof.z));
            }
            assert_eq!(bytes, m.complaint_bytes());
        }
        k.public().verify(&bytes, &m.signature, "round 3").unwrap();
    }
    // the complaint's DLEQ proof (§16.6): log_G E_4 = log_{E_2} K
    assert_eq!(r3[3].complaints.len(), 1);
    let c = &r3[3].complaints[0];
    let (e_j, e_i, k) = (
        r1[3].ephemeral.inner(),
        r1[1].ephemeral.inner(),
        c.shared.inner(),
    );
    let r_1 = ProjectivePoint::mul_by_generator(&c.proof.z) - *e_j * c.proof.e;
    let r_2 = *e_i * c.proof.z - *k * c.proof.e;
    let parts: [&[u8]; 8] = [
        sid.as_bytes(),
        &u16be(4),
        &u16be(2),
        &enc(e_j),
        &enc(e_i),
        &enc(k),
        &enc(&r_1),
        &enc(&r_2),
    ];
    assert_eq!(c.proof.e, group::hash_to_scalar(DST_COMPLAINT, &parts));

    // refresh (kind 2) and reshare (kind 3) session ids, by the formulas of §16.2 and §16.10
    let (_, ks5, out) = keygen(5, 3, &mut rng);
    let set = out[0].set.clone();
    let refresh = SessionParams::refresh(&set, &mut rng).unwrap();
    let mut b = vec![2u8];
    b.extend_from_slice(refresh.nonce.as_bytes());
    b.extend_from_slice(&u16be(3));
    b.extend_from_slice(&u16be(5));
    for k in &ks5 {
        b.extend_from_slice(&k.public().point().to_bytes());
    }
    b.extend_from_slice(set.id().as_bytes());
    assert_eq!(Digest32::tagged(TAG_SESSION, &[&b]), refresh.session_id());
    let new_keys = keys(7, &mut rng);
    let reshare = SessionParams::reshare(
        &set,
        &[1, 3, 5],
        4,
        new_keys.iter().map(|k| k.public()).collect(),
        &mut rng,
    )
    .unwrap();
    let mut b = vec![3u8];
    b.extend_from_slice(reshare.nonce.as_bytes());
    b.extend_from_slice(&u16be(4));
    b.extend_from_slice(&u16be(7));
    for k in &new_keys {
        b.extend_from_slice(&k.public().point().to_bytes());
    }
    b.extend_from_slice(set.id().as_bytes());
    b.extend_from_slice(&u16be(3));
    for d in [1u16, 3, 5] {
        b.extend_from_slice(&u16be(d));
        b.extend_from_slice(&ks5[usize::from(d) - 1].public().point().to_bytes());
    }
    assert_eq!(Digest32::tagged(TAG_SESSION, &[&b]), reshare.session_id());
}
