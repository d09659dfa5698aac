//! `escrow demo`: the whole exceptional-access story, live, on this machine: n real
//! `trustee-node` processes on 127.0.0.1, double-locked warrants, an investigator's retrieval,
//! the refusals that matter, a trustee down, a trustee cheating, and every log.
//!
//! Every step checks its own outcome; anything unexpected stops the demo with a clear message,
//! and every process it started is stopped (also on error: the node handles kill on drop).

use crate::args::DemoArgs;
use crate::files::{self, SET_FILE};
use crate::nodes::{Env, NodeProc, find_node_bin};
use crate::out::Out;
use crate::parties::{double_lock_policy, node, payload, save_key, sign};
use crate::roles::{Ask, AuditRequest, Got, Net, Retrieved, Roles};
use crate::story::Story;
use anyhow::{Context, Result, ensure};
use escrow_client::ceremony;
use escrow_core::audit::judge::{FindingGroup, FindingKind};
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message::{self, SealedMessage};
use escrow_core::time::Timestamp;
use escrow_core::trustee;
use escrow_core::warrant::{
    CancellationEnvelope, CancellationPayload, Role, Scope, WarrantEnvelope, Window,
};
use rand::RngExt as _;

use crate::files::DAY;

/// The nodes' passphrase in a kept demo folder (`--keep DIR`).
pub const PASSPHRASE_FILE: &str = "passphrase";

pub fn run(a: &DemoArgs, roles: &dyn Roles, out: Out) -> Result<()> {
    let (n, k) = trustee::check_parameters(a.trustees, a.threshold)?;
    ensure!(
        n >= 2 && k >= 2 && k < n,
        "the live demo needs 2 <= k < n (to show a trustee down and k-1 failing)"
    );
    let node_bin = find_node_bin(a.node_bin.as_deref())?;
    let tmp;
    let dir = match &a.keep {
        Some(d) => {
            files::refuse_existing(d)?;
            files::private_dir(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::Builder::new()
                .prefix("escrow-demo-")
                .tempdir()
                .context("cannot create a temporary folder")?;
            tmp.path().to_path_buf()
        }
    };
    let mut rng = rand::rng();
    // The nodes speak HTTPS: a CA made for this run signs their certificate; every client of
    // the demo pins that CA, as `escrow --ca-cert` does.
    let tls = crate::demo_tls::make(&dir)?;
    crate::parties::pin_ca(tls.ca_pem.clone());
    let env = Env {
        node_bin,
        dir: dir.clone(),
        passphrase: hex::encode(rng.random::<[u8; 16]>()),
        kdf: a.kdf_cost.clone(),
        tls: Some((tls.cert.clone(), tls.key.clone())),
    };
    // Kept state can be served again: the nodes' passphrase goes into the folder (mode 0600),
    // for `trustee-node serve --passphrase-file`. A demo folder is a lab, not a vault: whoever
    // reads the folder reads the passphrase (docs/threat-model.md).
    let passphrase_file = dir.join(PASSPHRASE_FILE);
    if a.keep.is_some() {
        files::secret(&passphrase_file, format!("{}\n", env.passphrase).as_bytes())?;
    }
    let mut story = Story::new(out);
    out.say(&format!(
        "Exceptional access, live: {n} trustee nodes on this machine, any {k} of whom can open an escrowed message, \
         each releasing its part only against a double-locked warrant, and logging first.\nworking folder: {}",
        dir.display()
    ));

    // 1. Parties, and the trustee set the nodes make themselves: no dealer.
    let sos = PrivateKey::generate(&mut rng);
    let jc = PrivateKey::generate(&mut rng);
    let inv = PrivateKey::generate(&mut rng);
    let inv2 = PrivateKey::generate(&mut rng);
    let foreign_issuer = PrivateKey::generate(&mut rng);
    let foreign_judge = PrivateKey::generate(&mut rng);
    let oversight = PrivateKey::generate(&mut rng);
    // The ceremony's coordinator only relays signed public messages; the nodes accept its
    // requests because they were made with its public key (init --dkg --coordinator-key).
    let coordinator = PrivateKey::generate(&mut rng);
    for (name, key) in [
        ("sos", &sos),
        ("jc", &jc),
        ("oversight", &oversight),
        ("investigator", &inv),
        ("investigator-2", &inv2),
        ("foreign-issuer", &foreign_issuer),
        ("foreign-judge", &foreign_judge),
        (COORDINATOR, &coordinator),
    ] {
        save_key(&dir, name, key)?;
    }
    let users = ["alice", "bob", "carol"];
    let user_keys: Vec<PrivateKey> = users
        .iter()
        .map(|_| PrivateKey::generate(&mut rng))
        .collect();
    for (u, key) in users.iter().zip(&user_keys) {
        save_key(&dir, u, key)?;
    }
    let policy = double_lock_policy(&sos, &jc, &oversight)?;
    files::public(&dir.join("policy.json"), policy.to_json_pretty().as_bytes())?;
    // Each node seals its fresh keys under the passphrase (Argon2id): all at once.
    let coordinator_pub = dir.join(format!("{COORDINATOR}.pub"));
    std::thread::scope(|s| {
        let inits: Vec<_> = (1..=n)
            .map(|i| {
                let (env, pk) = (&env, &coordinator_pub);
                s.spawn(move || env.init_dkg(i, pk))
            })
            .collect();
        inits.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| anyhow::anyhow!("demo: a node's init thread failed"))?
        })
    })?;
    let mut nodes: Vec<NodeProc> = Vec::with_capacity(usize::from(n));
    for i in 1..=n {
        nodes.push(env.serve(i)?);
    }
    let keygen = key_generation(&nodes, k, &coordinator)?;
    let set = keygen.set.clone();
    files::public(&dir.join(SET_FILE), set.to_json().as_bytes())?;
    files::public(
        &dir.join(KEYGEN_CERTIFICATE_FILE),
        keygen.certificate.to_json().as_bytes(),
    )?;
    story.step(
        &format!(
            "Set-up: the {n} trustee nodes generate the escrow key together, with no dealer; two authorities, an investigator, three users"
        ),
        &format!(
            "{n} trustee nodes started without a share (trustee-node init --dkg) ran a distributed key generation relayed by an untrusted coordinator (escrow ceremony dkg): \
             each dealt a random polynomial to the others, encrypted pairwise, and checked what it received against public commitments\n\
             {k}-of-{n} trustee set {} made: each node holds only its own share; no machine ever held the whole key\n\
             transcript digest {}, signed by every trustee (the certificate {KEYGEN_CERTIFICATE_FILE}) and logged by each as its keygen entry\n\
             trustee policy: warrants need the Secretary of State (issuer) AND a Judicial Commissioner (approval)\n\
             investigator key {}; users {}",
            set.id().short(),
            keygen.certificate.transcript.to_hex(),
            inv.public().key_id().short(),
            users.join(", ")
        ),
        serde_json::json!({"set_id": set.id(), "threshold": k, "trustees": n, "dealer": false,
            "transcript": keygen.certificate.transcript, "certificate": KEYGEN_CERTIFICATE_FILE,
            "policy_digest": policy.digest()}),
    );

    // 2. Nodes
    let urls = |nodes: &[NodeProc]| -> Vec<String> {
        nodes
            .iter()
            .filter(|x| x.running())
            .map(|x| x.url())
            .collect()
    };
    story.step(
        &format!(
            "The {n} trustee nodes start serving the set they made, each with its own sealed key share, policy and audit log"
        ),
        &format!(
            "{}\nthe trustees speak HTTPS: their certificate is signed by a CA made for this demo ({}), which every client pins (escrow --ca-cert)",
            nodes
                .iter()
                .map(|x| format!("trustee {} listening on {}", x.index, x.url()))
                .collect::<Vec<_>>()
                .join("\n"),
            tls.ca_file.display()
        ),
        serde_json::json!({"nodes": nodes.iter().map(|x| x.url()).collect::<Vec<_>>(),
            "https": true, "ca_cert": tls.ca_file}),
    );

    // 3. Traffic: three weeks, three users, messages every day.
    let now = files::now();
    let start = Timestamp::from_unix((now.unix() / DAY - 21) * DAY);
    let mut mailbox: Vec<SealedMessage> = Vec::new();
    let pairs = [
        ("alice", "bob"),
        ("bob", "carol"),
        ("carol", "alice"),
        ("bob", "alice"),
    ];
    let texts = [
        "see you at nine",
        "the package is late",
        "call me when you land",
        "thanks for dinner",
        "running ten minutes behind",
        "the meeting moved to Thursday",
    ];
    for day in 0..21i64 {
        for (j, (from, to)) in pairs.iter().enumerate() {
            if (day + j as i64) % 3 == 2 {
                continue;
            }
            let at = start.plus(day * DAY + 9 * 3600 + j as i64 * 2 * 3600);
            let id = format!("d{:02}-{from}-{to}", day + 1);
            let label = Label::new(from, to, at, &id)?;
            let body = format!(
                "{} (day {}, {from} to {to})",
                texts
                    .get((day as usize + j) % texts.len())
                    .unwrap_or(&"hello"),
                day + 1
            );
            let idx = users.iter().position(|u| u == to).context("user")?;
            let rk = user_keys.get(idx).context("user key")?.public();
            mailbox.push(message::seal(&set, &rk, &label, body.as_bytes(), &mut rng)?);
        }
    }
    let lines: String = mailbox.iter().map(|m| m.to_json() + "\n").collect();
    files::public(&dir.join("mailbox.jsonl"), lines.as_bytes())?;
    story.step(
        "Three weeks of end-to-end encrypted traffic, every message key escrowed",
        &format!(
            "{} messages between {} from {} to {}",
            mailbox.len(),
            users.join(", "),
            start,
            start.plus(21 * DAY)
        ),
        serde_json::json!({"messages": mailbox.len()}),
    );

    // 4. A warrant for alice, week two.
    let window = Window {
        from: start.plus(7 * DAY),
        until: start.plus(14 * DAY),
    };
    let in_scope: Vec<SealedMessage> = mailbox
        .iter()
        .filter(|m| {
            Scope {
                targets: vec!["alice".into()],
                message_ids: vec![],
                window,
            }
            .check(&m.escrow.label)
            .is_ok()
        })
        .cloned()
        .collect();
    let p = payload(
        "w-demo-alice",
        &["alice"],
        window,
        &inv,
        now.plus(-3600),
        now.plus(30 * DAY),
        None,
    );
    let issuer_only = sign(&p, &sos, None)?;
    let net = Net {
        batch: 500,
        timeout: 30,
        attempts: 2,
        ask: Ask::All,
    };
    let try_get = |env: &WarrantEnvelope,
                   key: &PrivateKey,
                   msgs: &[SealedMessage],
                   urls: &[String],
                   tag: &str|
     -> Result<Retrieved> {
        let d = dir.join(format!("retrieved-{tag}"));
        files::private_dir(&d)?;
        roles.retrieve(&set, env, key, &as_v1(msgs), urls, &net, &d)
    };
    // An attempt every trustee must refuse with `code` (nothing decrypted); its first refusal
    // for the story.
    let refused = |env: &WarrantEnvelope,
                   msgs: &[SealedMessage],
                   tag: &str,
                   code: &str,
                   what: &str|
     -> Result<String> {
        let r = try_get(env, &inv, msgs, &urls(&nodes), tag)?;
        ensure!(
            r.decrypted() == 0 && r.refusal_codes() == [code],
            "demo: {what} was not refused with {code}: {:?}",
            r.refusal_codes()
        );
        Ok(r.first_refusal())
    };
    // A warrant of the investigator's for alice's messages in the window, valid from `from`
    // to `until`, signed by `issuer` and, if given, approved by `judge`.
    let alice_warrant = |id: &str,
                         from: Timestamp,
                         until: Timestamp,
                         issuer: &PrivateKey,
                         judge: Option<&PrivateKey>| {
        sign(
            &payload(id, &["alice"], window, &inv, from, until, None),
            issuer,
            judge,
        )
    };
    let why = refused(
        &issuer_only,
        &in_scope,
        "issuer-only",
        "missing-approval",
        "an issuer-only warrant",
    )?;
    story.step(
        &format!("The Secretary of State issues warrant w-demo-alice: target alice, messages sent {} to {}", window.from, window.until),
        &format!("before judicial approval every trustee refuses: {why}"),
        serde_json::json!({"codes": ["missing-approval"]}),
    );
    let warrant = sign(&p, &sos, Some(&jc))?;
    policy
        .verify(&warrant, files::now(), &|_| false)
        .map_err(|r| anyhow::anyhow!("demo: approved warrant does not verify: {r}"))?;
    files::public(
        &dir.join("warrant.json"),
        warrant.to_json_pretty().as_bytes(),
    )?;
    story.step(
        "A Judicial Commissioner approves it: the double lock is closed",
        &format!(
            "warrant digest {}; it verifies under the trustees' policy",
            warrant.digest().short()
        ),
        serde_json::json!({"warrant_digest": warrant.digest()}),
    );

    // 5. Retrieve.
    let r = try_get(&warrant, &inv, &in_scope, &urls(&nodes), "warrant")?;
    ensure!(
        r.decrypted() == in_scope.len(),
        "demo: {} of {} in-scope messages decrypted",
        r.decrypted(),
        in_scope.len()
    );
    let sample = r
        .outcomes
        .iter()
        .find_map(|o| match o {
            Got::Read { file } => std::fs::read_to_string(file).ok(),
            Got::Unread { .. } => None,
        })
        .unwrap_or_default();
    story.step(
        "The investigator retrieves: every trustee checks the warrant, the scope and each ciphertext, logs, then answers",
        &format!(
            "{} of {} messages were in scope and are now read, e.g. \"{}\"\nthe other {} messages stay sealed: no trustee was even asked about them",
            r.decrypted(),
            mailbox.len(),
            sample.trim(),
            mailbox.len() - in_scope.len()
        ),
        serde_json::json!({"decrypted": r.decrypted(), "sealed": mailbox.len() - in_scope.len()}),
    );

    // 6. The refusals that matter.
    let mut refusals = Vec::new();
    let out_of_scope: Vec<SealedMessage> = mailbox
        .iter()
        .filter(|m| !in_scope.iter().any(|x| x.id == m.id))
        .take(3)
        .cloned()
        .collect();
    refusals.push((
        "asking for 3 messages outside the warrant's scope",
        refused(
            &warrant,
            &out_of_scope,
            "out-of-scope",
            "out-of-scope",
            "out-of-scope messages",
        )?,
    ));

    let mut relabelled = out_of_scope
        .first()
        .context("no out-of-scope message")?
        .clone();
    relabelled.escrow.label.sender = "alice".into();
    relabelled.escrow.label.timestamp = window.from.plus(3600);
    refusals.push((
        "relabelling an out-of-scope message as alice's, inside the window",
        refused(
            &warrant,
            std::slice::from_ref(&relabelled),
            "relabelled",
            "bad-ciphertext-proof",
            "a relabelled ciphertext",
        )?,
    ));

    let mut forged = warrant.envelope().clone();
    let text = String::from_utf8_lossy(&forged.payload).replace("\"alice\"", "\"bob\"");
    forged.payload = text.into_bytes();
    let forged = WarrantEnvelope::from_envelope(forged).map_err(|r| anyhow::anyhow!("{r}"))?;
    refusals.push((
        "a forged warrant (target changed to bob after signing)",
        refused(
            &forged,
            &in_scope,
            "forged",
            "bad-signature",
            "a forged warrant",
        )?,
    ));

    let expired = alice_warrant(
        "w-demo-expired",
        now.plus(-40 * DAY),
        now.plus(-DAY),
        &sos,
        Some(&jc),
    )?;
    refusals.push((
        "an expired warrant",
        refused(
            &expired,
            &in_scope,
            "expired",
            "expired",
            "an expired warrant",
        )?,
    ));

    let foreign = alice_warrant(
        "w-demo-foreign",
        now.plus(-3600),
        now.plus(30 * DAY),
        &foreign_issuer,
        Some(&foreign_judge),
    )?;
    refusals.push((
        "a well-formed warrant from a foreign authority no trustee's policy names",
        refused(
            &foreign,
            &in_scope,
            "foreign",
            "unknown-authority",
            "a foreign authority's warrant",
        )?,
    ));

    let r = try_get(
        &warrant,
        &inv2,
        &in_scope,
        &urls(&nodes),
        "other-investigator",
    )?;
    ensure!(
        r.decrypted() == 0,
        "demo: another investigator decrypted shares meant for the named one"
    );
    refusals.push((
        "a second investigator replaying the valid warrant",
        "the trustees answer (the warrant is valid) but every share is encrypted to the named investigator: nothing opens".into(),
    ));

    let short = alice_warrant(
        "w-demo-cancel",
        now.plus(-3600),
        now.plus(30 * DAY),
        &sos,
        Some(&jc),
    )?;
    let first = in_scope.first().cloned().into_iter().collect::<Vec<_>>();
    let r = try_get(&short, &inv, &first, &urls(&nodes), "before-cancel")?;
    ensure!(
        r.decrypted() == 1,
        "demo: warrant w-demo-cancel did not work before its cancellation"
    );
    let cpay = CancellationPayload {
        version: Default::default(),
        warrant_id: "w-demo-cancel".into(),
        warrant_digest: short.digest(),
        cancelled_at: files::now(),
        reason: "no longer necessary or proportionate (IPA 2016 s.39)".into(),
    };
    let cancel = CancellationEnvelope::sign_new(&cpay, &sos, Role::Issuer)
        .map_err(|r| anyhow::anyhow!("{r}"))?;
    for u in urls(&nodes) {
        node(&u)?
            .cancel(&cancel.to_json())
            .map_err(|e| anyhow::anyhow!("demo: {u} did not accept the cancellation: {e}"))?;
    }
    refusals.push((
        "a warrant after the Secretary of State cancelled it",
        refused(
            &short,
            &in_scope,
            "after-cancel",
            "cancelled",
            "a cancelled warrant",
        )?,
    ));
    story.step(
        "The refusals that matter",
        &refusals
            .iter()
            .map(|(what, why)| format!("{what}:\n  refused -> {why}"))
            .collect::<Vec<_>>()
            .join("\n"),
        serde_json::json!(
            refusals
                .iter()
                .map(|(w, y)| serde_json::json!({"attempt": w, "refused": y}))
                .collect::<Vec<_>>()
        ),
    );

    // 7. A trustee down; a trustee cheating.
    let down = n; // the last trustee
    if let Some(node) = nodes.iter_mut().find(|x| x.index == down) {
        node.stop();
    }
    let mut all_urls = urls(&nodes);
    all_urls.push(nodes.last().map(NodeProc::url).unwrap_or_default());
    let net_fast = Net {
        batch: 500,
        timeout: 10,
        attempts: 1,
        ask: Ask::All,
    };
    let d = dir.join("retrieved-one-down");
    files::private_dir(&d)?;
    let r = roles.retrieve(
        &set,
        &warrant,
        &inv,
        &as_v1(&in_scope),
        &all_urls,
        &net_fast,
        &d,
    )?;
    ensure!(
        r.decrypted() == in_scope.len(),
        "demo: retrieval with one trustee down failed"
    );
    let cheat = 1u16;
    if let Some(node) = nodes.iter_mut().find(|x| x.index == cheat) {
        node.stop();
        *node = env.serve_cheating(cheat)?;
    }
    let r = try_get(&warrant, &inv, &in_scope, &urls(&nodes), "cheater")?;
    ensure!(
        r.decrypted() == in_scope.len(),
        "demo: retrieval with a cheating trustee failed"
    );
    ensure!(
        r.bad_shares.contains_key(&cheat),
        "demo: the cheating trustee was not named"
    );
    story.step(
        &format!("Trustee {down} goes down; then trustee {cheat} starts returning wrong shares"),
        &format!(
            "with trustee {down} unreachable, the other {} still suffice: all {} messages read again\n\
             trustee {cheat}'s shares fail their proofs and it is named ({}); the combiner routes around it",
            n - 1,
            in_scope.len(),
            r.bad_shares.get(&cheat).cloned().unwrap_or_default()
        ),
        serde_json::json!({"down": down, "cheater": cheat, "named": r.bad_shares.keys().collect::<Vec<_>>()}),
    );
    if let Some(node) = nodes.iter_mut().find(|x| x.index == cheat) {
        node.stop();
        *node = env.serve(cheat)?;
    }

    // 8. The logs.
    let mut heads = Vec::new();
    for x in nodes.iter().filter(|x| x.running()) {
        let h = node(&x.url())?.head()?;
        heads.push(format!(
            "trustee {}: {} log entries, root {}",
            x.index,
            h.size,
            h.root.short()
        ));
    }
    // The auditor over every running node: signed checkpoints, every entry, every release
    // judged against its warrant under the policy, and the investigator's receipts of every
    // retrieval above proved in the logs (the summary beside them names the cheater).
    let mut receipts: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path().join("receipts.jsonl")))
        .filter(|p| p.is_file())
        .collect();
    receipts.sort();
    let audit_req = AuditRequest {
        set: dir.join(SET_FILE),
        trustees: nodes
            .iter()
            .filter(|x| x.running())
            .map(|x| x.url())
            .collect(),
        policy: dir.join("policy.json"),
        oversight_key: Some(dir.join("oversight.key")),
        state: a.keep.as_ref().map(|_| dir.join("auditor")),
        receipts,
        timeout: 30,
        keygen_certificate: Some(dir.join(KEYGEN_CERTIFICATE_FILE)),
    };
    let report = roles.audit(&audit_req)?;
    // The page to publish is the public summary; the oversight body's full page beside it.
    let html_path = dir.join("audit-report.html");
    let oversight_path = dir.join("oversight-report.html");
    if a.keep.is_some() {
        files::public(&html_path, report.public_html.as_bytes())?;
        files::secret(&oversight_path, report.html.as_bytes())?;
    }
    // The one problem there is to find: the trustee that returned wrong shares, named by
    // the investigator's receipts. Anything else is a defect of the demo's honest parts.
    let named_cheater =
        |g: &FindingGroup| g.code == FindingKind::CheatingTrustee && g.trustee == Some(cheat);
    ensure!(
        !report.every_release_justified
            && report
                .finding_groups
                .iter()
                .filter(|g| g.code.blocks_justification())
                .all(named_cheater)
            && report.finding_groups.iter().any(named_cheater),
        "demo: the auditor should find exactly the cheating trustee {cheat}:\n{}",
        report.text
    );
    story.step(
        "Every release and every refusal above was committed to each trustee's log before its answer left; the auditor verifies every log and the key generation's certificate against the set and each log's keygen entry, judges every release, and proves the investigator's receipts in the logs (so the cheating trustee is a finding)",
        &format!(
            "{}\n{}{}",
            heads.join("\n"),
            report.text,
            if a.keep.is_some() {
                format!(
                    "transparency report (public summary): {}\noversight view (not for publication): {}",
                    html_path.display(),
                    oversight_path.display()
                )
            } else {
                String::new()
            }
        ),
        serde_json::json!({"heads": heads, "audit": report.json}),
    );

    // 9. Witnesses (issue 17): a small second set under a policy with witnesses.
    let parties = crate::demo_witness::Parties {
        sos: &sos,
        jc: &jc,
        oversight: &oversight,
        inv: &inv,
    };
    crate::demo_witness::run(&dir, &env, &parties, &mut story)?;

    // 10. Stop.
    for x in nodes.iter_mut() {
        x.stop();
    }
    let kept = a.keep.is_some();
    // The stopped nodes' addresses are stale: a kept node served again writes its new one.
    for i in 1..=n {
        let _ = std::fs::remove_file(dir.join(format!("node-{i}.addr")));
    }
    let serve_again = format!(
        "trustee-node serve --state {d}/node-1 --passphrase-file {p} --addr-file {d}/node-1.addr --tls-cert {c} --tls-key {k}",
        d = dir.display(),
        p = passphrase_file.display(),
        c = tls.cert.display(),
        k = tls.key.display()
    );
    out.say(&format!(
        "\nAll {n} trustee processes stopped. {}",
        if kept {
            format!(
                "Everything is kept in {}, with the nodes' passphrase in {} (mode 0600). \
                 Serve a kept node again (node-1 .. node-{n}):\n  {serve_again}",
                dir.display(),
                passphrase_file.display()
            )
        } else {
            "Temporary state removed (use --keep DIR to keep it).".into()
        }
    ));
    out.say("What this cannot prevent: k trustees who collude read everything (escrow collude); a stolen pair of authority keys issues warrants; labels leak metadata. See docs/threat-model.md.");
    if out.json {
        println!(
            "{}",
            serde_json::json!({"ok": true, "mode": "live", "dir": if kept { Some(&dir) } else { None },
                "passphrase_file": if kept { Some(&passphrase_file) } else { None },
                "serve_again": if kept { Some(&serve_again) } else { None }, "steps": story.steps})
        );
    }
    Ok(())
}

/// The coordinator's key pair in the demo folder (`coordinator.key`, `coordinator.pub`).
const COORDINATOR: &str = "coordinator";
/// The key generation's certificate in the demo folder (`escrow audit --keygen-certificate`).
pub const KEYGEN_CERTIFICATE_FILE: &str = "keygen-certificate.json";

/// Run the key generation among `nodes` (made with `init --dkg`, serving) with threshold `k`,
/// as `escrow ceremony dkg` does, and wait (bounded) until every node serves the set it made.
fn key_generation(
    nodes: &[NodeProc],
    k: u16,
    coordinator: &PrivateKey,
) -> Result<ceremony::Outcome> {
    let clients: Vec<escrow_client::NodeClient> = nodes
        .iter()
        .map(|x| node(&x.url()))
        .collect::<Result<_>>()?;
    let o = ceremony::run_dkg(&clients, k, coordinator)
        .map_err(|e| anyhow::anyhow!("demo: the key generation failed: {e}"))?;
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    for c in &clients {
        while !c.info().is_ok_and(|i| i.set_id == o.set.id()) {
            ensure!(
                std::time::Instant::now() < until,
                "demo: {} does not serve the set it made ({}) within 60 s",
                c.url(),
                o.set.id().short()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    Ok(o)
}

/// The demo's and the live experiments' mailboxes are sealed in format version 1 (the
/// `escrow seal --v1` path): version 1 messages stay readable beside version 2
/// (`docs/protocol.md` §15.8).
pub(crate) fn as_v1(msgs: &[SealedMessage]) -> Vec<escrow_core::v2::MailboxMessage> {
    msgs.iter()
        .cloned()
        .map(escrow_core::v2::MailboxMessage::V1)
        .collect()
}
