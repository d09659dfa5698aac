//! The release gate (issue 17): under a policy with witnesses, shares leave a node only under a
//! checkpoint a quorum of the witnesses (with the required auditing one) cosigned, together with
//! inclusion proofs of their release entries; without the quorum nothing leaves any node, the
//! client gets `witness-quorum`, and the log marks the releases as never delivered. In-process
//! nodes and in-process `log-witness` services over real HTTP on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use escrow_core::audit::witness::{GatePolicy, WitnessFile, WitnessPolicy, check_release};
use escrow_core::release::{ReleaseRequest, ReleaseResponse};
use escrow_core::warrant::Policy;
use std::sync::Arc;

/// A `log-witness` served in this process on 127.0.0.1:0 (`log_witness::server::spawn`: its
/// own runtime and thread, stopped when this is dropped, before its state folder goes).
struct InProcWitness {
    witness: Arc<log_witness::Witness>,
    url: String,
    _served: log_witness::server::Spawned,
    _dir: tempfile::TempDir,
}

fn start_witness(name: &str) -> InProcWitness {
    let dir = tempfile::tempdir().unwrap();
    let witness = log_witness::Witness::init(&dir.path().join("w"), name).unwrap();
    let (listener, url) = bind();
    serve_witness(listener, url, witness, dir)
}

/// A listener on 127.0.0.1:0 and its URL.
fn bind() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (listener, url)
}

/// Serve `witness` on `listener` (bound by [`bind`], which gave `url`) in this process.
fn serve_witness(
    listener: std::net::TcpListener,
    url: String,
    witness: log_witness::Witness,
    dir: tempfile::TempDir,
) -> InProcWitness {
    let witness = Arc::new(witness);
    let served = log_witness::server::spawn(listener, witness.clone()).unwrap();
    assert_eq!(served.url(), url);
    InProcWitness {
        witness,
        url,
        _served: served,
        _dir: dir,
    }
}

/// POST `body` to `node`'s `/v1/release` as the investigator: the gate refuses (503
/// `witness-quorum`, no release response leaves); its message.
fn gate_refusal(node: &InProcNode, fx: &Fixture, body: &str) -> String {
    let (status, answer) = post_as(&node.url("/v1/release"), &fx.investigator, body);
    assert_eq!(status, 503, "{answer}");
    let v = json(&answer);
    assert_eq!(v["error"]["code"], "witness-quorum", "{answer}");
    assert!(
        ReleaseResponse::from_json(&answer).is_err(),
        "no release response (no share box) leaves: {answer}"
    );
    v["error"]["message"].as_str().unwrap().to_string()
}

/// A URL where nothing listens (bound, then closed).
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", l.local_addr().unwrap())
}

/// Rewrite the fixture's policy with a witnessing section: `(verifier key, url, auditing)`;
/// its release gate (witnesses, quorum, policy digest).
fn witness_policy(fx: &Fixture, ws: &[(String, String, bool)], quorum: u16) -> GatePolicy {
    let files: Vec<WitnessFile> = ws
        .iter()
        .map(|(key, url, auditing)| WitnessFile {
            key: key.clone(),
            url: Some(url.clone()),
            auditing: *auditing,
        })
        .collect();
    let wp = WitnessPolicy::from_files(&files, quorum, true).unwrap();
    let policy = Policy::from_json(&std::fs::read_to_string(&fx.policy_path).unwrap())
        .unwrap()
        .with_witnessing(Some(wp))
        .unwrap();
    std::fs::write(&fx.policy_path, policy.to_json_pretty()).unwrap();
    GatePolicy::of(&policy).unwrap()
}

/// Start trustees 1..=n in process; every witness follows every node's log (key from its
/// signed `/v1/info`). Returns the nodes and their log verifier keys.
fn start_nodes(fx: &Fixture, n: usize, witnesses: &[&InProcWitness]) -> Vec<(InProcNode, String)> {
    start_nodes_with(fx, n, witnesses, |_| None)
}

/// [`start_nodes`], trustee `i` with the fault injection `fault(i)`.
fn start_nodes_with(
    fx: &Fixture,
    n: usize,
    witnesses: &[&InProcWitness],
    fault: impl Fn(usize) -> Option<trustee_node::Fault>,
) -> Vec<(InProcNode, String)> {
    (1..=n)
        .map(|i| {
            let node = match fault(i) {
                Some(f) => start_faulty(&fx.init(i), f),
                None => start_in_process(&fx.init(i), trustee_node::Limits::default()),
            };
            let info: escrow_core::api::Info =
                serde_json::from_str(&get(&node.url("/v1/info")).1).unwrap();
            info.verify(&fx.set).unwrap();
            for w in witnesses {
                w.witness.add_log(&info.log_origin, &info.log_key).unwrap();
            }
            (node, info.log_key)
        })
        .collect()
}

/// `escrow audit --policy … --receipts FILE` (FILE holding `receipts`) over `nodes`: its
/// findings about the receipts' witnessed evidence (`receipt-not-in-log` "witnessed
/// evidence", `witness-clock`), as (trustee, message).
fn gate_findings(
    fx: &Fixture,
    policy: &Policy,
    nodes: &[(InProcNode, String)],
    receipts: &str,
) -> Vec<(Option<u16>, String)> {
    use escrow_core::audit::judge::FindingKind;
    let urls: Vec<String> = nodes.iter().map(|(n, _)| n.url("")).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipts.jsonl");
    std::fs::write(&file, receipts).unwrap();
    let paths = [file];
    let report = escrow_client::auditor::audit(
        &escrow_client::auditor::AuditConfig {
            set: &fx.set,
            policy: Some(policy),
            urls: &urls,
            client: &escrow_client::ClientConfig::default(),
            state: None,
            documents: Default::default(),
            oversight_key: None,
            receipts: &paths,
            checkpoints: &[],
            keygen_certificate: None,
        },
        &mut escrow_client::auditor::Quiet,
    )
    .unwrap();
    report
        .findings
        .into_iter()
        // (The receipts' own inclusion-proof check against the audited checkpoint is issue
        // 14's; only the witnessed evidence is looked at here.)
        .filter(|f| {
            f.code == FindingKind::WitnessClock
                || (f.code == FindingKind::ReceiptNotInLog
                    && f.message.contains("witnessed evidence"))
        })
        .map(|f| (f.trustee, f.message))
        .collect()
}

/// Every finding refuses a receipt's witnessed evidence for `why`, naming a trustee `named`
/// accepts.
fn all_refuse_evidence(
    found: &[(Option<u16>, String)],
    named: impl Fn(Option<u16>) -> bool,
    why: &str,
) {
    assert!(
        found.iter().all(|(t, m)| named(*t)
            && m.contains("witnessed evidence is refused")
            && m.contains(why)),
        "{found:?}"
    );
}

/// Two ciphertexts a request, every trustee asked at once.
const TWO_A_BATCH: escrow_client::investigator::Strategy = escrow_client::investigator::Strategy {
    batch: 2,
    threshold_first: false,
};

#[test]
fn shares_leave_with_a_quorum_cosigned_checkpoint_and_inclusion_proofs() {
    let fx = Fixture::new(3, 2);
    let (w1, w2, audit) = (
        start_witness("w.example/1"),
        start_witness("w.example/2"),
        AuditingWitness::new(),
    );
    let wp = witness_policy(
        &fx,
        &[
            (w1.witness.key().verifier_key(), w1.url.clone(), false),
            (w2.witness.key().verifier_key(), w2.url.clone(), false),
            audit.listed(),
        ],
        2,
    );
    let nodes = start_nodes(&fx, 3, &[&w1, &w2]);
    let audit = audit.serve(&fx, &nodes, Some(fx.oversight.clone()));
    let w = fx.double_locked(&fx.payload("gate-ok"));
    let msgs: Vec<_> = (0..3)
        .map(|i| fx.message("alice", "bob", &format!("m{i}"), 60))
        .collect();
    for (node, log_key) in &nodes {
        // Two batches: the second round is consistent with the first (a proof from the size
        // each witness cosigned before).
        for batch in [&msgs[..2], &msgs[2..]] {
            let r = release(node, &fx, &w, cts(batch));
            assert!(codes(&r).iter().all(|c| c == "released"), "{:?}", codes(&r));
            let checked = check_release(&r, log_key, &wp).unwrap();
            assert!(checked.checkpoint.cosigners.len() >= 2);
            assert!(checked.checkpoint.cosigners.iter().any(|c| c.auditing));
            assert_eq!(checked.checkpoint.statements.len(), 1);
            assert_eq!(checked.shares.len(), batch.len());
            // A proof of another entry does not pass for this one.
            let mut forged = r.clone();
            let wit = forged.witnessed.as_mut().unwrap();
            wit.inclusion[0].entry = wit.inclusion.last().unwrap().entry.clone();
            if batch.len() > 1 {
                assert!(matches!(
                    check_release(&forged, log_key, &wp).unwrap_err(),
                    escrow_core::audit::witness::GateCheckError::NotIncluded { trustee, .. }
                        if trustee == r.trustee
                ));
            }
        }
    }
    // Every witness holds each node's latest size.
    for wit in [&w1, &w2, &audit] {
        let logs = wit.witness.logs().unwrap();
        assert_eq!(logs.len(), 3);
        assert!(logs.iter().all(|l| l.size > 0), "{logs:?}");
    }
}

#[test]
fn without_the_quorum_no_share_leaves_any_node_and_the_log_says_so() {
    let fx = Fixture::new(3, 2);
    let w1 = start_witness("w.example/1");
    let audit_down = log_witness::WitnessKey::generate("w.example/audit").unwrap();
    let w2_down = log_witness::WitnessKey::generate("w.example/2").unwrap();
    // One witness of three reachable, quorum 2 with the auditing witness required.
    witness_policy(
        &fx,
        &[
            (w1.witness.key().verifier_key(), w1.url.clone(), false),
            (w2_down.verifier_key(), dead_url(), false),
            (audit_down.verifier_key(), dead_url(), true),
        ],
        2,
    );
    let nodes = start_nodes(&fx, 3, &[&w1]);
    let w = fx.double_locked(&fx.payload("gate-down"));
    let msgs: Vec<_> = (0..2)
        .map(|i| fx.message("alice", "bob", &format!("m{i}"), 60))
        .collect();
    let body = ReleaseRequest::new(&w, cts(&msgs)).to_json();
    for (node, _) in &nodes {
        let msg = gate_refusal(node, &fx, &body);
        assert!(
            msg.contains("w.example/audit") && msg.contains("w.example/2"),
            "{msg}"
        );
        // The release entries are in the log, followed by one naming them as never delivered.
        let log: Vec<serde_json::Value> = log_entries(node)
            .into_iter()
            .map(|e| e["entry"].clone())
            .collect();
        let released: Vec<&serde_json::Value> =
            log.iter().filter(|e| e["kind"] == "release").collect();
        assert_eq!(released.len(), 2);
        let last = log.last().unwrap();
        assert_eq!(last["kind"], "refusal", "{last}");
        assert_eq!(last["reason"], "witness-quorum", "{last}");
        let mut marked: Vec<String> = last["ciphertexts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let mut want: Vec<String> = released
            .iter()
            .map(|e| e["ciphertexts"][0].as_str().unwrap().to_string())
            .collect();
        marked.sort();
        want.sort();
        assert_eq!(marked, want);
    }
    // The lone witness answered (it cosigned), which was not enough.
    assert!(w1.witness.logs().unwrap().iter().all(|l| l.size > 0));
}

/// Three witnesses (`w.example/1`, `/2`, `/audit` auditing; quorum 2, auditing required) and
/// three in-process nodes they follow, trustee 3 with the fault `forged-cosignatures`; the
/// investigator's clients under the policy, each with the release gate's check.
struct ForgedThird {
    _witnesses: [InProcWitness; 3],
    wp: GatePolicy,
    nodes: Vec<(InProcNode, String)>,
    policy: Policy,
    clients: Vec<escrow_client::NodeClient>,
}

fn forged_third(fx: &Fixture) -> ForgedThird {
    use escrow_client::investigator;
    let (w1, w2, audit) = (
        start_witness("w.example/1"),
        start_witness("w.example/2"),
        AuditingWitness::new(),
    );
    let wp = witness_policy(
        fx,
        &[
            (w1.witness.key().verifier_key(), w1.url.clone(), false),
            (w2.witness.key().verifier_key(), w2.url.clone(), false),
            audit.listed(),
        ],
        2,
    );
    let nodes = start_nodes_with(fx, 3, &[&w1, &w2], |i| {
        (i == 3).then_some(trustee_node::Fault::ForgedCosignatures)
    });
    let audit = audit.serve(fx, &nodes, Some(fx.oversight.clone()));
    let ws = [w1, w2, audit];
    let policy = Policy::from_json(&std::fs::read_to_string(&fx.policy_path).unwrap()).unwrap();
    let cfg = escrow_client::ClientConfig::default();
    let clients: Vec<escrow_client::NodeClient> = nodes
        .iter()
        .map(|(n, _)| escrow_client::NodeClient::new(&n.url(""), &cfg).unwrap())
        .collect();
    let reachable = investigator::preflight(clients, &fx.set).unwrap();
    let (clients, other) = investigator::with_policy(reachable.usable, &policy);
    assert!(other.is_empty(), "{other:?}");
    assert!(clients.iter().all(|c| c.gate_check().is_some()));
    ForgedThird {
        _witnesses: ws,
        wp,
        nodes,
        policy,
        clients,
    }
}

/// Trustee 3's row of a retrieval: failed, its forged cosignature named, nothing used.
fn third_is_named(
    r: &escrow_client::investigator::Retrieval,
    clients: &[escrow_client::NodeClient],
) {
    let row = r
        .trustees
        .iter()
        .find(|t| t.url == clients[2].url().to_string())
        .unwrap();
    assert_eq!(row.status, "failed");
    let why = row.failure.as_deref().unwrap();
    assert!(
        why.contains("trustee 3: witnessed checkpoint refused")
            && why.contains("does not verify")
            && why.contains("none of its shares is used"),
        "{why}"
    );
    assert_eq!(row.released, 0);
}

/// A retrieval past the forged third: every message read from trustees 1 and 2 only, trustee 3
/// named (with `rejected_only_from_3`, every answer rejected for a message is trustee 3's).
fn read_past_the_forged_third(
    ft: &ForgedThird,
    retrieve: impl FnOnce(&[escrow_client::NodeClient]) -> escrow_client::investigator::Retrieval,
    rejected_only_from_3: bool,
) -> escrow_client::investigator::Retrieval {
    use escrow_client::investigator::Outcome;
    let r = retrieve(&ft.clients);
    assert_eq!(r.read(), 3);
    for o in &r.outcomes {
        let Outcome::Read { used, rejected, .. } = &o.outcome else {
            panic!("{} not read", o.id)
        };
        assert_eq!(used, &vec![1, 2]);
        if rejected_only_from_3 {
            assert!(rejected.iter().all(|(t, _)| *t == 3), "{rejected:?}");
        }
    }
    third_is_named(&r, &ft.clients);
    r
}

/// Trustee index → log verifier key.
fn log_keys(nodes: &[(InProcNode, String)]) -> std::collections::BTreeMap<u16, &String> {
    nodes
        .iter()
        .enumerate()
        .map(|(i, (_, k))| (i as u16 + 1, k))
        .collect()
}

/// The investigator's check (issue 17): `escrow_client` runs `check_release` on every answer
/// that hands out a share, before opening any. A trustee whose answer carries forged
/// cosignatures is named and none of its shares is used; the honest trustees' evidence is
/// kept in the receipts, where anyone can check it again; a receipt with its cosignatures cut
/// below the quorum fails that check.
#[test]
fn the_investigator_uses_no_share_without_witnessed_evidence_and_keeps_it_in_the_receipts() {
    use escrow_client::investigator::{self, NoProgress};
    use escrow_core::audit::witness::{GateCheckError, WitnessCheckError};
    let fx = Fixture::new(3, 2);
    // (`ft` holds the witnesses, which serve until the test ends.)
    let ft = forged_third(&fx);

    let w = fx.double_locked(&fx.payload("gate-investigator"));
    let msgs: Vec<_> = (0..3)
        .map(|i| fx.message("alice", "bob", &format!("m{i}"), 60))
        .collect();
    // Read from trustees 1 and 2 only; trustee 3 is named and none of its shares was used.
    let r = read_past_the_forged_third(
        &ft,
        |clients| {
            investigator::retrieve(
                clients,
                &fx.set,
                &w,
                &fx.investigator,
                &msgs,
                TWO_A_BATCH,
                &NoProgress,
            )
        },
        false,
    );

    // The receipts: trustees 1 and 2's answers with their evidence, each checkable again.
    let keys = log_keys(&ft.nodes);
    let receipts: Vec<ReleaseResponse> = r
        .receipts
        .lines()
        .map(|l| ReleaseResponse::from_json(l).unwrap())
        .collect();
    assert_eq!(
        receipts.len(),
        4,
        "two batches from each of trustees 1 and 2"
    );
    let mut cut_receipts = String::new();
    for resp in &receipts {
        assert_ne!(resp.trustee, 3);
        let checked = check_release(resp, keys[&resp.trustee], &ft.wp).unwrap();
        assert!(checked.checkpoint.cosigners.iter().any(|c| c.auditing));
        // Cut to the log's signature and one cosignature: below the quorum.
        let mut short = resp.clone();
        let wit = short.witnessed.as_mut().unwrap();
        let (body, sigs) = wit.checkpoint.split_once("\n\n").unwrap();
        let kept: Vec<&str> = sigs.lines().take(2).collect();
        wit.checkpoint = format!("{body}\n\n{}\n", kept.join("\n"));
        assert!(matches!(
            check_release(&short, keys[&resp.trustee], &ft.wp).unwrap_err(),
            GateCheckError::Checkpoint {
                trustee,
                source: WitnessCheckError::NoQuorum { got: 1, quorum: 2 },
            } if trustee == resp.trustee
        ));
        cut_receipts.push_str(&short.to_json());
        cut_receipts.push('\n');
    }

    // The auditor checks the receipts' evidence again: the investigator's pass, the cut ones
    // are `receipt-not-in-log` naming their trustee.
    let audit_of = |receipts: &str| gate_findings(&fx, &ft.policy, &ft.nodes, receipts);
    assert_eq!(audit_of(&r.receipts), vec![]);
    let found = audit_of(&cut_receipts);
    assert_eq!(found.len(), 4, "{found:?}");
    all_refuse_evidence(
        &found,
        |t| t.is_some_and(|t| t != 3),
        "valid cosignature(s)",
    );
}

/// Version 2 under a release gate (issue 17): the binary answer carries its witnessed evidence
/// after the signature (`docs/api.md` §4.3), `escrow_client` checks it with
/// `check_release_v2` before opening any share, and the evidence ends in the receipts. A
/// trustee whose v2 answer carries forged cosignatures is named and none of its shares is used.
#[test]
fn v2_answers_carry_their_witnessed_evidence_and_a_forged_one_is_not_used() {
    use escrow_client::investigator::NoProgress;
    use escrow_client::investigator_v2::retrieve_v2;
    use escrow_core::audit::witness::{GateCheckError, WitnessCheckError, check_release_v2};
    use escrow_core::v2::release::ReceiptV2;
    let fx = Fixture::new(3, 2);
    // (`ft` holds the witnesses, which serve until the test ends.)
    let ft = forged_third(&fx);

    let w = fx.double_locked(&fx.payload("gate-v2"));
    let msgs: Vec<_> = (0..3)
        .map(|i| fx.message_v2("alice", &format!("v{i}")))
        .collect();
    let r = read_past_the_forged_third(
        &ft,
        |clients| {
            retrieve_v2(
                clients,
                &fx.set,
                &w,
                &fx.investigator,
                &msgs,
                TWO_A_BATCH,
                &NoProgress,
            )
        },
        true,
    );

    // The receipts: every signed v2 answer with the evidence that followed its signature.
    let keys = log_keys(&ft.nodes);
    let receipts: Vec<ReceiptV2> = r
        .receipts
        .lines()
        .map(|l| ReceiptV2::from_json_line(l).unwrap())
        .collect();
    let honest: Vec<&ReceiptV2> = receipts
        .iter()
        .filter(|x| x.response.trustee != 3)
        .collect();
    assert_eq!(honest.len(), 4, "two batches from each of trustees 1 and 2");
    for x in &honest {
        x.response.verify(&fx.set).unwrap();
        let checked = check_release_v2(
            &x.response,
            &x.ciphertexts,
            keys[&x.response.trustee],
            &ft.wp,
        )
        .unwrap();
        assert!(checked.checkpoint.cosigners.iter().any(|c| c.auditing));
        assert_eq!(checked.shares.len(), x.released().len());
        // Without its evidence the same signed answer is refused.
        let mut bare = x.response.clone();
        bare.witnessed = None;
        assert_eq!(
            check_release_v2(&bare, &x.ciphertexts, keys[&x.response.trustee], &ft.wp).unwrap_err(),
            GateCheckError::Missing {
                trustee: x.response.trustee
            }
        );
    }
    // Trustee 3's rejected answer is kept as a signed receipt; its evidence fails, naming it.
    let forged: Vec<&ReceiptV2> = receipts
        .iter()
        .filter(|x| x.response.trustee == 3)
        .collect();
    assert!(!forged.is_empty());
    for x in forged {
        assert!(matches!(
            check_release_v2(&x.response, &x.ciphertexts, keys[&3], &ft.wp).unwrap_err(),
            GateCheckError::Checkpoint {
                trustee: 3,
                source: WitnessCheckError::BadCosignature { .. },
            }
        ));
    }

    // The auditor checks the v2 receipts' evidence again: trustee 3's (forged) only.
    let found = gate_findings(&fx, &ft.policy, &ft.nodes, &r.receipts);
    assert!(!found.is_empty());
    all_refuse_evidence(&found, |t| t == Some(3), "does not verify");
}

/// The auditing witness (issue 17, `docs/witness.md` §Auditing witness): before it cosigns, it
/// audits the log with the auditor's rules. A justified release is cosigned with its signed
/// statement; a release under a cancelled warrant — which a node whose cancellation check was
/// removed (fault `ignore-cancellations`) computes and logs — is refused with the finding, and
/// with the auditing witness required by the policy no share leaves the node.
#[test]
fn an_auditing_witness_refuses_a_release_under_a_cancelled_warrant_and_no_share_leaves() {
    use escrow_core::audit::witness::{GateCheckError, WitnessCheckError, audit_statements};
    let fx = Fixture::new(3, 2);
    let (w1, w2) = (start_witness("w.example/1"), start_witness("w.example/2"));
    let audit = AuditingWitness::new();
    let wp = witness_policy(
        &fx,
        &[
            (w1.witness.key().verifier_key(), w1.url.clone(), false),
            (w2.witness.key().verifier_key(), w2.url.clone(), false),
            audit.listed(),
        ],
        2,
    );
    let policy = Policy::from_json(&std::fs::read_to_string(&fx.policy_path).unwrap()).unwrap();
    let nodes = start_nodes_with(&fx, 1, &[&w1, &w2], |_| {
        Some(trustee_node::Fault::IgnoreCancellations)
    });
    let (node, log_key) = &nodes[0];
    let audit = audit.serve(&fx, &nodes, Some(fx.oversight.clone()));

    // A justified release: cosigned by the auditing witness, with its statement.
    let w = fx.double_locked(&fx.payload("gate-audited"));
    let msgs: Vec<_> = (0..3)
        .map(|i| fx.message("alice", "bob", &format!("m{i}"), 60))
        .collect();
    let r = release(node, &fx, &w, cts(&msgs[..1]));
    assert_eq!(codes(&r), ["released"]);
    let checked = check_release(&r, log_key, &wp).unwrap();
    assert!(checked.checkpoint.cosigners.iter().any(|c| c.auditing));
    let note = &r.witnessed.as_ref().unwrap().checkpoint;
    let stated = audit_statements(note, wp.witnessing(), &policy.digest());
    assert_eq!(stated.len(), 1, "{note}");
    assert_eq!(stated[0].0, "w.example/audit");
    assert_eq!(checked.checkpoint.statements, stated);
    // Under another policy digest the statement does not verify.
    assert!(audit_statements(note, wp.witnessing(), &fx.set.id().digest()).is_empty());
    // The same evidence with plain cosignatures only (the statement line cut): the quorum and
    // the auditing witness's cosignature are there, its audit is not. Refused, naming it.
    let mut plain = r.clone();
    let wit = plain.witnessed.as_mut().unwrap();
    let statement = stated_line(&wit.checkpoint, "w.example/audit");
    wit.checkpoint = wit.checkpoint.replace(&statement, "");
    assert!(matches!(
        check_release(&plain, log_key, &wp).unwrap_err(),
        GateCheckError::Checkpoint {
            trustee: 1,
            source: WitnessCheckError::NoAuditStatement { witnesses, why, .. },
        } if witnesses == ["w.example/audit"] && why == "w.example/audit: no statement line"
    ));

    // The warrant is cancelled; this node ignores it and computes and logs the releases, but
    // the auditing witness refuses to cosign: no share leaves.
    let c = fx.cancellation(&w, "gate-audited", &fx.issuer);
    let (s, b) = post(&node.url("/v1/cancel"), &c.to_json());
    assert_eq!(s, 200, "{b}");
    let body = ReleaseRequest::new(&w, cts(&msgs[1..])).to_json();
    let msg = gate_refusal(node, &fx, &body);
    assert!(
        msg.contains("w.example/audit: HTTP 403") && msg.contains("unjustified-release"),
        "{msg}"
    );
    // The plain witnesses cosigned (the log is append-only); the auditing witness kept the
    // refused checkpoint and its finding as evidence.
    let evidence = audit.witness.evidence().unwrap();
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    assert_eq!(evidence[0].kind, "unjustified");
    assert!(
        evidence[0].detail.contains("unjustified-release"),
        "{evidence:?}"
    );
    let held = audit.witness.logs().unwrap();
    assert_eq!(held[0].size, checked.checkpoint.checkpoint.head.size);
}

/// An auditing witness that was not given the oversight key cannot read the warrants (the
/// nodes disclose them only to oversight keys), so it cannot judge any release: it refuses to
/// cosign rather than state that releases it never judged were justified — no share leaves.
#[test]
fn an_auditing_witness_that_cannot_judge_a_release_refuses_to_cosign_it() {
    let fx = Fixture::new(3, 2);
    let w1 = start_witness("w.example/1");
    let audit = AuditingWitness::new();
    let (listed, url) = (w1.witness.key().verifier_key(), w1.url.clone());
    witness_policy(&fx, &[(listed, url, false), audit.listed()], 2);
    let nodes = start_nodes_with(&fx, 1, &[&w1], |_| None);
    let node = &nodes[0].0;
    let audit = audit.serve(&fx, &nodes, None);
    // An honest release under a valid warrant: the witness cannot tell, so it refuses.
    let w = fx.double_locked(&fx.payload("gate-blind"));
    let m = fx.message("alice", "bob", "m0", 60);
    let body = ReleaseRequest::new(&w, cts(std::slice::from_ref(&m))).to_json();
    let msg = gate_refusal(node, &fx, &body);
    assert!(
        msg.contains("w.example/audit: HTTP 403") && msg.contains("release-not-judged"),
        "{msg}"
    );
    assert_eq!(audit.witness.evidence().unwrap().len(), 1);
}

/// An auditing witness before it serves: its key and URL go into the policy first.
struct AuditingWitness {
    witness: log_witness::Witness,
    listener: std::net::TcpListener,
    url: String,
    dir: tempfile::TempDir,
}

impl AuditingWitness {
    fn new() -> AuditingWitness {
        let dir = tempfile::tempdir().unwrap();
        let witness = log_witness::Witness::init(&dir.path().join("w"), "w.example/audit").unwrap();
        let (listener, url) = bind();
        AuditingWitness {
            witness,
            listener,
            url,
            dir,
        }
    }

    /// Its entry in the policy's witness list.
    fn listed(&self) -> (String, String, bool) {
        (self.witness.key().verifier_key(), self.url.clone(), true)
    }

    /// Serve it, auditing the logs of `nodes` under the policy at `fx.policy_path`, with the
    /// oversight key or without.
    fn serve(
        self,
        fx: &Fixture,
        nodes: &[(InProcNode, String)],
        oversight_key: Option<escrow_core::keys::PrivateKey>,
    ) -> InProcWitness {
        let policy = Policy::from_json(&std::fs::read_to_string(&fx.policy_path).unwrap()).unwrap();
        let audit = self
            .witness
            .with_auditor(Box::new(log_witness::auditing::Auditor {
                set: fx.set.clone(),
                policy,
                trustees: nodes.iter().map(|(n, _)| n.url("")).collect(),
                oversight_key,
                client: escrow_client::ClientConfig::default(),
            }));
        for (node, log_key) in nodes {
            audit.add_log(&log_origin(node), log_key).unwrap();
        }
        serve_witness(self.listener, self.url, audit, self.dir)
    }
}

/// The log origin a node's `/v1/info` names.
fn log_origin(node: &InProcNode) -> String {
    let info: escrow_core::api::Info = serde_json::from_str(&get(&node.url("/v1/info")).1).unwrap();
    info.log_origin
}

/// The second signature line by `witness` in `note` (an auditing witness's statement follows its
/// cosignature), with its newline.
fn stated_line(note: &str, witness: &str) -> String {
    let prefix = format!("\u{2014} {witness} ");
    let line = note
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .nth(1)
        .unwrap_or_else(|| panic!("no second line by {witness} in {note}"));
    format!("{line}\n")
}

/// A witness the policy lists as its auditing witness but that runs without `--audit`: it
/// cosigns (the log is append-only) but states nothing. Its plain cosignature is not the audit
/// the policy requires, so no share leaves; an answer with plain cosignatures only is what the
/// investigator's check refuses (`NoAuditStatement`, naming the witness).
#[test]
fn a_plain_cosignature_by_the_auditing_witness_is_not_its_audit_and_no_share_leaves() {
    let fx = Fixture::new(3, 2);
    let (w1, plain) = (
        start_witness("w.example/1"),
        start_witness("w.example/audit"),
    );
    witness_policy(
        &fx,
        &[
            (w1.witness.key().verifier_key(), w1.url.clone(), false),
            (plain.witness.key().verifier_key(), plain.url.clone(), true),
        ],
        2,
    );
    let nodes = start_nodes(&fx, 1, &[&w1, &plain]);
    let node = &nodes[0].0;
    let w = fx.double_locked(&fx.payload("gate-plain"));
    let m = fx.message("alice", "bob", "m0", 60);
    let body = ReleaseRequest::new(&w, cts(std::slice::from_ref(&m))).to_json();
    let msg = gate_refusal(node, &fx, &body);
    assert!(
        msg.contains(
            "w.example/audit: cosigned without a valid audit statement (no statement line)"
        ),
        "{msg}"
    );
    // Both witnesses did cosign: the log is append-only, which is all a plain witness says.
    assert!(w1.witness.logs().unwrap()[0].size > 0);
    assert!(plain.witness.logs().unwrap()[0].size > 0);
}

/// Copy a node's state folder (as its operator would, to restore it later).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// The auditing witness audits incrementally (`docs/witness.md` §Incremental audit): each
/// round reads only the entries after the checkpoint it last judged (counted by the witness:
/// `Witness::audited`), also after a restart (the carry is in its SQLite state); and a log
/// rewritten below the size it judged is refused (`log-forked`/`log-rolled-back` against the
/// carried checkpoint), even when the checkpoint offered is the one it cosigned before.
#[test]
fn the_auditing_witness_reads_only_new_entries_across_a_restart_and_refuses_a_log_rewritten_below_what_it_judged()
 {
    use escrow_core::audit::verify_checkpoint;
    use log_witness::{AddCheckpoint, Audited, Witness, WitnessError};
    let fx = Fixture::new(3, 2);
    let state = fx.init(1);
    // The operator's copy of the node's state folder as initialised.
    let copy = state.with_file_name("node-1-copy");
    copy_dir(&state, &copy);
    let node = start_in_process(&state, trustee_node::Limits::default());
    let info: escrow_core::api::Info = serde_json::from_str(&get(&node.url("/v1/info")).1).unwrap();
    info.verify(&fx.set).unwrap();
    let (origin, log_key) = (info.log_origin.clone(), info.log_key.clone());
    let policy = Policy::from_json(&std::fs::read_to_string(&fx.policy_path).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wdir = dir.path().join("w");
    Witness::init(&wdir, "w.example/audit")
        .unwrap()
        .add_log(&origin, &log_key)
        .unwrap();
    // (Re)start the witness from its state folder, auditing the node at `url`.
    let open = |url: String| {
        Witness::open(&wdir)
            .unwrap()
            .with_auditor(Box::new(log_witness::auditing::Auditor {
                set: fx.set.clone(),
                policy: policy.clone(),
                trustees: vec![url],
                oversight_key: Some(fx.oversight.clone()),
                client: escrow_client::ClientConfig::default(),
            }))
    };
    let now = now().0 as u64;
    // Offer the node's checkpoint as its release gate does: from the size the witness holds.
    let submit = |w: &Witness, held: u64| -> (u64, Result<String, WitnessError>) {
        let client =
            escrow_client::NodeClient::new(&node.url(""), &escrow_client::ClientConfig::default())
                .unwrap();
        let note = client.checkpoint().unwrap();
        let size = verify_checkpoint(&note, &log_key).unwrap().head.size;
        let proof = match held {
            0 => Vec::new(),
            _ => client.consistency(held, size).unwrap().proof,
        };
        let body = AddCheckpoint {
            old_size: held,
            proof,
            checkpoint: note,
        }
        .to_body();
        (size, w.add_checkpoint(body.as_bytes(), now))
    };
    let warrant = fx.double_locked(&fx.payload("incremental"));
    let msgs: Vec<_> = (0..4)
        .map(|i| fx.message("alice", "bob", &format!("m{i}"), 60))
        .collect();

    let w = open(node.url(""));
    assert_eq!(w.audited(&origin).unwrap(), None);
    assert_eq!(
        codes(&release(&node, &fx, &warrant, cts(&msgs[..2]))),
        ["released", "released"]
    );
    let (s1, answer) = submit(&w, 0);
    assert_eq!(
        answer.unwrap().lines().count(),
        2,
        "cosignature and statement"
    );
    let first = Audited {
        size: s1,
        entries_read: s1,
    };
    assert_eq!(w.audited(&origin).unwrap(), Some(first));
    release(&node, &fx, &warrant, cts(&msgs[2..3]));
    let (s2, answer) = submit(&w, s1);
    answer.unwrap();
    assert_eq!(
        w.audited(&origin).unwrap(),
        Some(Audited {
            size: s2,
            entries_read: s2 - s1
        })
    );
    assert!(s2 - s1 < s1, "{s1} {s2}");

    // A restart: the next round still reads only the new entries.
    drop(w);
    let w = open(node.url(""));
    release(&node, &fx, &warrant, cts(&msgs[3..]));
    let (s3, answer) = submit(&w, s2);
    answer.unwrap();
    let judged = Audited {
        size: s3,
        entries_read: s3 - s2,
    };
    assert_eq!(w.audited(&origin).unwrap(), Some(judged));

    // The operator restores the copy and serves another history (other releases); the
    // checkpoint offered is the one the witness cosigned, so only the audit can tell.
    drop(w);
    let forked = start_in_process(&copy, trustee_node::Limits::default());
    let others: Vec<_> = (0..6)
        .map(|i| fx.message("alice", "bob", &format!("other{i}"), 60))
        .collect();
    release(&forked, &fx, &warrant, cts(&others));
    let w = open(forked.url(""));
    let held = w.logs().unwrap()[0].checkpoint.clone().unwrap();
    let body = AddCheckpoint {
        old_size: s3,
        proof: Vec::new(),
        checkpoint: held,
    }
    .to_body();
    match w.add_checkpoint(body.as_bytes(), now).unwrap_err() {
        WitnessError::Unjustified { findings, .. } => assert!(
            findings.contains("log-forked") || findings.contains("log-rolled-back"),
            "{findings}"
        ),
        other => panic!("{other}"),
    }
    assert_eq!(w.audited(&origin).unwrap(), Some(judged));
}
