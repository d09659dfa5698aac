//! `escrow demo`, the witnesses (issue 17, `docs/witness.md`): a small second trustee set
//! (2 of 3, its nodes run in this process) whose policy names three `log-witness` services on
//! 127.0.0.1 — two plain, one auditing (it audits each log with the auditor's rules before it
//! cosigns) — with quorum 2 and the auditing witness required. It shows
//! 1. a normal release, its shares handed out with the checkpoint the witnesses cosigned;
//! 2. a node whose operator forks its log (restores an earlier copy of its state folder and
//!    serves another history): the witnesses refuse, keep the evidence, no share leaves;
//! 3. a release under a cancelled warrant that a deliberately faulty node (fault injection
//!    `ignore-cancellations`, a library setting the `trustee-node` binary has no switch for)
//!    computes and logs: the auditing witness refuses to cosign it, no share leaves.
//!
//! Every outcome is checked; anything else stops the demo.

use crate::files;
use crate::nodes::{Env, spawn_in_process};
use crate::parties::{client_config, double_lock_policy, payload, sign, write_set};
use crate::story::Story;
use crate::witnesses::ServedWitness;
use anyhow::{Context, Result, ensure};
use escrow_client::investigator::{self, NoProgress, Retrieval, Strategy};
use escrow_core::audit::witness::{GatePolicy, check_release};
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message::{self, SealedMessage};
use escrow_core::release::ReleaseResponse;
use escrow_core::trustee;
use escrow_core::warrant::{
    CancellationEnvelope, CancellationPayload, Policy, Role, WarrantEnvelope, Window,
};
use std::path::Path;

use crate::files::DAY;
/// The witnesses: key name, auditing.
const WITNESSES: [(&str, bool); 3] = [
    ("witness.example/w1", false),
    ("witness.example/w2", false),
    ("witness.example/audit", true),
];
/// The trustee whose operator forks its log, and the deliberately faulty one.
const FORKED: u16 = 2;
const FAULTY: u16 = 3;

/// The authorities, the oversight body and the investigator of the demo.
pub struct Parties<'a> {
    pub sos: &'a PrivateKey,
    pub jc: &'a PrivateKey,
    pub oversight: &'a PrivateKey,
    pub inv: &'a PrivateKey,
}

/// The witnessed set of the demo, its nodes and witnesses.
struct World<'a> {
    set: trustee::TrusteeSet,
    policy: Policy,
    inv: &'a PrivateKey,
    nodes: Vec<Option<trustee_node::Spawned>>,
    witnesses: Vec<ServedWitness>,
}

impl World<'_> {
    fn url(&self, i: u16) -> Result<String> {
        self.nodes
            .get(usize::from(i) - 1)
            .and_then(|n| n.as_ref())
            .map(trustee_node::Spawned::url)
            .with_context(|| format!("trustee {i} is not running"))
    }

    /// An investigator's retrieval from trustees `which`, with the release gate's check
    /// (`escrow retrieve --policy`), one attempt per request.
    fn retrieve(
        &self,
        which: &[u16],
        w: &WarrantEnvelope,
        msgs: &[SealedMessage],
    ) -> Result<Retrieval> {
        let cfg = escrow_client::ClientConfig {
            attempts: 1,
            timeout: std::time::Duration::from_secs(30),
            ..client_config()
        };
        let clients = which
            .iter()
            .map(|&i| Ok(escrow_client::NodeClient::new(&self.url(i)?, &cfg)?))
            .collect::<Result<Vec<_>>>()?;
        let reachable = investigator::preflight(clients, &self.set)?;
        let (clients, other) = investigator::with_policy(reachable.usable, &self.policy);
        ensure!(other.is_empty(), "demo: {other:?}");
        let strategy = Strategy {
            batch: 100,
            threshold_first: false,
        };
        Ok(investigator::retrieve(
            &clients,
            &self.set,
            w,
            self.inv,
            msgs,
            strategy,
            &NoProgress,
        ))
    }

    /// Why trustee `i`'s part of `r` failed ("" if it did not).
    fn failure(&self, r: &Retrieval, i: u16) -> String {
        let url = self.url(i).unwrap_or_default();
        r.trustees
            .iter()
            .find(|t| t.trustee == Some(i) || t.url.trim_end_matches('/') == url)
            .and_then(|t| t.failure.clone())
            .unwrap_or_else(|| serde_json::to_string(&r.trustees).unwrap_or_default())
    }

    /// The evidence every witness keeps: (witness, kind, log origin, detail).
    fn evidence(&self) -> Result<Vec<(String, String, String, String)>> {
        let mut out = Vec::new();
        for w in &self.witnesses {
            for e in w.witness().evidence()? {
                out.push((
                    w.witness().key().name().to_string(),
                    e.kind,
                    e.origin,
                    e.detail,
                ));
            }
        }
        Ok(out)
    }
}

/// Copy the files of folder `from` (recursively) into a new folder `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir(to).with_context(|| format!("cannot create {}", to.display()))?;
    for e in std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)
                .with_context(|| format!("cannot copy {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// Run the witnesses' part of the demo in folder `dir/witnessed`, its nodes initialised with
/// the demo's node binary and settings `env`.
pub fn run(dir: &Path, env: &Env, p: &Parties<'_>, story: &mut Story) -> Result<()> {
    let mut rng = rand::rng();
    let sub = dir.join("witnessed");
    files::private_dir(&sub)?;
    let dealing = trustee::deal(3, 2, &mut rng)?;
    let set = dealing.set.clone();
    write_set(&sub, &set, &dealing.secrets)?;

    // The witnesses' keys and addresses go into the policy first.
    let names: Vec<(String, bool)> = WITNESSES.iter().map(|(n, a)| (n.to_string(), *a)).collect();
    let pending = crate::witnesses::prepare(&sub, &names)?;
    let policy = pending.policy(double_lock_policy(p.sos, p.jc, p.oversight)?, 2)?;
    files::public(&sub.join("policy.json"), policy.to_json_pretty().as_bytes())?;
    let senv = Env {
        node_bin: env.node_bin.clone(),
        dir: sub.clone(),
        passphrase: env.passphrase.clone(),
        kdf: env.kdf.clone(),
        tls: env.tls.clone(),
    };
    for i in 1..=3 {
        senv.init(i)?;
    }
    // The forking operator keeps a copy of its node's state folder as initialised.
    let forked_state = sub.join(format!("node-{FORKED}"));
    let copy = sub.join(format!("node-{FORKED}.copy"));
    copy_dir(&forked_state, &copy)?;
    let spawn = |i: u16, fault| {
        spawn_in_process(
            &sub.join(format!("node-{i}")),
            &senv.passphrase,
            senv.tls.as_ref(),
            fault,
        )
    };
    let nodes = (1..=3u16)
        .map(|i| {
            let fault = (i == FAULTY).then_some(trustee_node::Fault::IgnoreCancellations);
            spawn(i, fault).map(Some)
        })
        .collect::<Result<Vec<_>>>()?;
    let urls: Vec<String> = nodes.iter().flatten().map(|n| n.url()).collect();
    // Each witness follows each trustee's log (its key from the trustee's signed /v1/info);
    // the auditing witness audits them under the policy with the oversight body's key.
    let witnesses = pending.serve(&set, &policy, &urls, p.oversight)?;
    let mut infos = Vec::new();
    for u in &urls {
        infos.push(crate::parties::node(u)?.info()?);
    }
    let mut world = World {
        set: set.clone(),
        policy,
        inv: p.inv,
        nodes,
        witnesses,
    };

    // Mail to bob in the last days, and a warrant for bob's mail.
    let now = files::now();
    let bob = PrivateKey::generate(&mut rng).public();
    let mut mail = Vec::new();
    for j in 0..6i64 {
        let at = now.plus(-2 * DAY + j * 3600);
        let label = Label::new("alice", "bob", at, &format!("w-{j}"))?;
        let body = format!("witnessed message {j}");
        mail.push(message::seal(
            &set,
            &bob,
            &label,
            body.as_bytes(),
            &mut rng,
        )?);
    }
    let window = Window {
        from: now.plus(-3 * DAY),
        until: now,
    };
    let warrant = |id: &str| {
        let pl = payload(
            id,
            &["bob"],
            window,
            p.inv,
            now.plus(-3600),
            now.plus(30 * DAY),
            None,
        );
        sign(&pl, p.sos, Some(p.jc))
    };
    let (first, rest) = mail.split_at(2);
    let (second, third) = rest.split_at(2);

    // 1. A normal release under the witnesses.
    let w_ok = warrant("w-demo-witnessed")?;
    let r = world.retrieve(&[1, 2, 3], &w_ok, first)?;
    ensure!(
        r.read() == first.len(),
        "demo: {} of {} messages read under the witnesses: {:?}",
        r.read(),
        first.len(),
        r.trustees
    );
    let resp = r
        .receipts
        .lines()
        .filter_map(|l| ReleaseResponse::from_json(l).ok())
        .find(|x| x.trustee == 1)
        .context("demo: no receipt of trustee 1")?;
    let log_key = infos
        .iter()
        .find(|i| i.trustee == 1)
        .map(|i| i.log_key.clone())
        .unwrap_or_default();
    let gate = GatePolicy::of(&world.policy).context("demo: the policy has no witnesses")?;
    let checked = check_release(&resp, &log_key, &gate)?;
    let note = resp
        .witnessed
        .as_ref()
        .map(|w| w.checkpoint.clone())
        .unwrap_or_default();
    let cosigners: Vec<String> = checked
        .checkpoint
        .cosigners
        .iter()
        .map(|c| c.witness.clone())
        .collect();
    let stated: Vec<String> = checked
        .checkpoint
        .statements
        .iter()
        .map(|(w, _)| w.clone())
        .collect();
    ensure!(
        stated == ["witness.example/audit"],
        "demo: no audit statement in {note}"
    );
    story.step(
        "Witnesses: a second trustee set (a small one, dealt as `escrow setup` deals, to keep the demo short) whose policy names three witnesses (one auditing; 2 must cosign, the auditing one among them); a normal release",
        &format!(
            "{} messages read; each trustee handed out its shares only with a checkpoint of its log covering their release entries, cosigned by {}, and the auditing witness's statement that every release in it was justified:\n{}",
            r.read(),
            cosigners.join(", "),
            note.trim_end()
        ),
        serde_json::json!({"read": r.read(), "checkpoint": note, "cosigners": cosigners,
            "statement_by": stated, "size": checked.checkpoint.checkpoint.head.size}),
    );

    // 2. Trustee FORKED's operator restores the earlier copy of its state folder (log and
    // signed checkpoint together: the node cannot tell) and serves another history.
    if let Some(n) = world
        .nodes
        .get_mut(usize::from(FORKED) - 1)
        .and_then(Option::take)
    {
        n.shutdown()
            .map_err(|e| anyhow::anyhow!("demo: stopping trustee {FORKED}: {e}"))?;
    }
    std::fs::rename(&forked_state, sub.join(format!("node-{FORKED}.real")))?;
    std::fs::rename(&copy, &forked_state)?;
    let forked = spawn(FORKED, None)?;
    if let Some(slot) = world.nodes.get_mut(usize::from(FORKED) - 1) {
        *slot = Some(forked);
    }
    let r = world.retrieve(&[1, FORKED], &w_ok, second)?;
    let why = world.failure(&r, FORKED);
    let origin = infos
        .iter()
        .find(|i| i.trustee == FORKED)
        .map(|i| i.log_origin.clone())
        .unwrap_or_default();
    let evidence: Vec<(String, String)> = world
        .evidence()?
        .into_iter()
        .filter(|(_, kind, o, _)| *o == origin && kind != "unjustified")
        .map(|(w, kind, _, _)| (w, kind))
        .collect();
    ensure!(
        r.read() == 0 && why.contains("witness-quorum") && evidence.len() == WITNESSES.len(),
        "demo: the forked log was not refused by every witness (read {}, trustee {FORKED}: {why}; evidence {evidence:?})",
        r.read()
    );
    story.step(
        &format!("Trustee {FORKED}'s operator forks its log: restores an earlier copy of the node's state and serves another history"),
        &format!(
            "every witness refuses to cosign the forked checkpoint and keeps both signed checkpoints as evidence ({}); trustee {FORKED} hands out no share (503 witness-quorum), so nothing is read with trustee 1 alone",
            evidence
                .iter()
                .map(|(w, k)| format!("{w}: {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        serde_json::json!({"forked": FORKED, "read": r.read(), "evidence": evidence}),
    );

    // 3. A warrant cancelled; the faulty trustee ignores cancellations.
    let w_cancel = warrant("w-demo-witnessed-cancel")?;
    let cpay = CancellationPayload {
        version: Default::default(),
        warrant_id: "w-demo-witnessed-cancel".into(),
        warrant_digest: w_cancel.digest(),
        cancelled_at: files::now(),
        reason: "no longer necessary or proportionate (IPA 2016 s.39)".into(),
    };
    let cancel = CancellationEnvelope::sign_new(&cpay, p.sos, Role::Issuer)
        .map_err(|r| anyhow::anyhow!("{r}"))?;
    for i in [1, FAULTY] {
        crate::parties::node(&world.url(i)?)?
            .cancel(&cancel.to_json())
            .map_err(|e| anyhow::anyhow!("demo: trustee {i} did not take the cancellation: {e}"))?;
    }
    let r = world.retrieve(&[1, FAULTY], &w_cancel, third)?;
    let why = world.failure(&r, FAULTY);
    let refused_1 = r
        .trustees
        .iter()
        .find(|t| t.trustee == Some(1))
        .is_some_and(|t| t.refused.contains_key("cancelled"));
    let unjustified: Vec<String> = world
        .evidence()?
        .into_iter()
        .filter(|(w, kind, _, _)| w == "witness.example/audit" && kind == "unjustified")
        .map(|(_, _, _, detail)| detail)
        .collect();
    ensure!(
        r.read() == 0
            && refused_1
            && why.contains("witness-quorum")
            && why.contains("unjustified-release")
            && unjustified.len() == 1,
        "demo: the release under a cancelled warrant was not stopped by the auditing witness (read {}, trustee {FAULTY}: {why}; evidence {unjustified:?})",
        r.read()
    );
    story.step(
        &format!("The warrant of a new request is cancelled; trustee {FAULTY}, deliberately faulty, ignores the cancellation"),
        &format!(
            "trustee 1 refuses (cancelled); trustee {FAULTY} computes and logs the release, but the auditing witness audits its log before cosigning, finds the release unjustified and refuses: no share leaves (503 witness-quorum), nothing is read; the auditing witness keeps the refused checkpoint and its finding as evidence"
        ),
        serde_json::json!({"faulty": FAULTY, "read": r.read(), "refused_by_trustee_1": "cancelled",
            "auditing_witness_refused": true, "evidence": unjustified}),
    );
    for n in world.nodes.iter_mut().filter_map(Option::take) {
        let _ = n.shutdown();
    }
    Ok(())
}
