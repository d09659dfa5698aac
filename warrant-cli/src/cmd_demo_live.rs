//! `escrow demo`: the whole exceptional-access story, live, on this machine: n real
//! `trustee-node` processes on 127.0.0.1, double-locked warrants, an investigator's retrieval,
//! the refusals that matter, a trustee down, a trustee cheating, and every log.
//!
//! Every step checks its own outcome; anything unexpected stops the demo with a clear message,
//! and every process it started is stopped (also on error: the node handles kill on drop).

use crate::cmd_demo::DemoArgs;
use crate::cmd_retrieve::{self, Net, Outcome, Retrieval};
use crate::cmd_set::{SET_FILE, SHARE_FILE, SIGNING_KEY_FILE, SIGNING_PUB_FILE};
use crate::io::{self, Out};
use anyhow::{Context, Result, bail, ensure};
use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message::{self, SealedMessage};
use escrow_core::time::Timestamp;
use escrow_core::trustee::{self, TrusteeSet};
use escrow_core::warrant::{
    Authority, CancellationEnvelope, CancellationPayload, Policy, PolicyLimits, Role, Scope,
    WarrantEnvelope, WarrantPayload, Window,
};
use rand::RngExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DAY: i64 = 86_400;

/// One running trustee node.
pub(crate) struct NodeProc {
    pub(crate) index: u16,
    pub(crate) addr: String,
    pub(crate) child: Option<Child>,
}

impl NodeProc {
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM for a graceful shutdown; SIGKILL if it does not exit in time.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub(crate) struct Env {
    pub(crate) node_bin: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) passphrase: String,
    pub(crate) kdf: String,
}

impl Env {
    fn node_cmd(&self) -> Command {
        let mut c = Command::new(&self.node_bin);
        c.env("TRUSTEE_PASSPHRASE", &self.passphrase)
            .env("TRUSTEE_KDF_COST", &self.kdf)
            .env_remove("TRUSTEE_FAULT");
        c
    }

    pub(crate) fn init(&self, i: u16) -> Result<()> {
        let out = self
            .node_cmd()
            .arg("init")
            .arg("--set")
            .arg(self.dir.join(SET_FILE))
            .arg("--trustee")
            .arg(self.dir.join(format!("trustee-{i}")))
            .arg("--policy")
            .arg(self.dir.join("policy.json"))
            .arg("--state")
            .arg(self.dir.join(format!("node-{i}")))
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", self.node_bin.display()))?;
        ensure!(
            out.status.success(),
            "trustee-node init for trustee {i} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }

    pub(crate) fn serve(&self, i: u16, fault: Option<&str>) -> Result<NodeProc> {
        let state = self.dir.join(format!("node-{i}"));
        let addr_file = self.dir.join(format!("node-{i}.addr"));
        let _ = std::fs::remove_file(&addr_file);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node-{i}.log")))
            .context("cannot open the node log")?;
        let mut cmd = self.node_cmd();
        cmd.arg("serve")
            .arg("--state")
            .arg(&state)
            .args(["--listen", "127.0.0.1:0", "--addr-file"])
            .arg(&addr_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(f) = fault {
            cmd.args(["--fault", f]);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", self.node_bin.display()))?;
        let mut node = NodeProc {
            index: i,
            addr: String::new(),
            child: Some(child),
        };
        let t0 = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(&addr_file)
                && !s.trim().is_empty()
            {
                node.addr = s.trim().to_string();
                return Ok(node);
            }
            if let Some(c) = node.child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                node.child = None;
                bail!(
                    "trustee-node {i} exited ({st}) before it listened; its log: {}",
                    self.dir.join(format!("node-{i}.log")).display()
                );
            }
            ensure!(
                t0.elapsed() < Duration::from_secs(60),
                "trustee-node {i} did not start within 60 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// The `trustee-node` binary: `--node-bin`, else next to this `escrow`, else on PATH. When
/// this `escrow` was started by `cargo run` (the README's command) and the node is not built
/// yet, it is built with the same cargo and profile, so that the one command a newcomer runs
/// works on a fresh clone.
pub(crate) fn find_node_bin(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        ensure!(p.exists(), "{} does not exist", p.display());
        return Ok(p.to_path_buf());
    }
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf));
    if let Some(dir) = &exe_dir {
        let p = dir.join("trustee-node");
        if p.exists() {
            return Ok(p);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&paths) {
            let p = d.join("trustee-node");
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    if let (Some(dir), Some(cargo), Some(manifest)) = (
        &exe_dir,
        std::env::var_os("CARGO"),
        std::env::var_os("CARGO_MANIFEST_DIR"),
    ) {
        // target/<profile>/escrow: build the node into the same folder.
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev".to_string(),
            Some(other) => other.to_string(),
            None => "release".to_string(),
        };
        eprintln!(
            "escrow: trustee-node is not built yet; building it (cargo build -p trustee-node --profile {profile}) ..."
        );
        let status = Command::new(cargo)
            .args([
                "build",
                "-p",
                "trustee-node",
                "--bin",
                "trustee-node",
                "--profile",
            ])
            .arg(&profile)
            .current_dir(manifest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .context("cannot run cargo to build trustee-node")?;
        ensure!(status.success(), "building trustee-node failed ({status})");
        let p = dir.join("trustee-node");
        if p.exists() {
            return Ok(p);
        }
    }
    bail!(
        "the trustee-node binary is neither next to this escrow nor on PATH: build it with \
         `cargo build --release -p trustee-node` (or `cargo build --release` for everything), \
         or pass --node-bin PATH"
    )
}

struct Story {
    out: Out,
    steps: Vec<serde_json::Value>,
}

impl Story {
    fn step(&mut self, title: &str, outcome: &str, detail: serde_json::Value) {
        let n = self.steps.len() + 1;
        self.out.say(&format!(
            "\n[{n}] {title}\n    {}",
            outcome.trim_end().replace('\n', "\n    ")
        ));
        self.steps.push(
            serde_json::json!({"step": n, "title": title, "outcome": outcome, "detail": detail}),
        );
    }
}

/// Refusal codes the trustees gave for every not-decrypted message, deduplicated.
fn refusal_codes(r: &Retrieval) -> Vec<String> {
    let mut codes: Vec<String> = r
        .outcomes
        .iter()
        .filter_map(|(_, _, o)| match o {
            Outcome::NotDecrypted { refusals, .. } => Some(
                refusals
                    .iter()
                    .map(|(_, x)| x.split(':').next().unwrap_or("").to_string()),
            ),
            Outcome::Decrypted { .. } => None,
        })
        .flatten()
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

fn detail_of(r: &Retrieval) -> String {
    r.outcomes
        .iter()
        .find_map(|(_, _, o)| match o {
            Outcome::NotDecrypted { refusals, .. } => {
                refusals.first().map(|(i, x)| format!("trustee {i}: {x}"))
            }
            Outcome::Decrypted { .. } => None,
        })
        .unwrap_or_default()
}

pub(crate) fn write_set(
    dir: &Path,
    set: &TrusteeSet,
    secrets: &[trustee::TrusteeSecrets],
) -> Result<()> {
    for s in secrets {
        let d = dir.join(format!("trustee-{}", s.key_share.index()));
        io::create_private_dir(&d)?;
        io::write_secret(&d.join(SHARE_FILE), s.key_share.to_json().as_bytes())?;
        io::write_secret(
            &d.join(SIGNING_KEY_FILE),
            s.signing_key.to_pem()?.as_bytes(),
        )?;
        io::write_public(
            &d.join(SIGNING_PUB_FILE),
            s.signing_key.public().to_pem().as_bytes(),
        )?;
    }
    io::write_public(&dir.join(SET_FILE), set.to_json().as_bytes())
}

pub(crate) fn save_key(dir: &Path, name: &str, k: &PrivateKey) -> Result<()> {
    io::write_secret(&dir.join(format!("{name}.key")), k.to_pem()?.as_bytes())?;
    io::write_public(
        &dir.join(format!("{name}.pub")),
        k.public().to_pem().as_bytes(),
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn payload(
    id: &str,
    targets: &[&str],
    window: Window,
    investigator: &PrivateKey,
    not_before: Timestamp,
    not_after: Timestamp,
    max_releases: Option<u64>,
) -> WarrantPayload {
    WarrantPayload {
        version: Default::default(),
        warrant_id: id.to_string(),
        case_reference: "OP-DEMO-2026-017".into(),
        warrant_type: "targeted-interception".into(),
        legal_basis: "IPA 2016 s.15(2)".into(),
        issuing_authority: "Secretary of State".into(),
        scope: Scope {
            targets: targets.iter().map(|s| s.to_string()).collect(),
            message_ids: vec![],
            window,
        },
        investigator_key: investigator.public().to_pem(),
        not_before,
        not_after,
        max_releases,
        urgent: false,
        parent_warrant_id: None,
    }
}

pub(crate) fn sign(
    p: &WarrantPayload,
    issuer: &PrivateKey,
    judge: Option<&PrivateKey>,
) -> Result<WarrantEnvelope> {
    let mut env =
        WarrantEnvelope::sign_new(p, issuer, Role::Issuer).map_err(|r| anyhow::anyhow!("{r}"))?;
    if let Some(j) = judge {
        env.add_signature(j, Role::Judicial)
            .map_err(|r| anyhow::anyhow!("{r}"))?;
    }
    Ok(env)
}

fn post_json(url: &str, path: &str, body: &str) -> Result<(u16, serde_json::Value)> {
    let cfg = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build();
    let agent = ureq::Agent::new_with_config(cfg);
    let mut r = agent
        .post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .send(body)
        .with_context(|| format!("{url}{path}"))?;
    let status = r.status().as_u16();
    let text = r
        .body_mut()
        .read_to_string()
        .with_context(|| format!("{url}{path}"))?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    ))
}

/// The trustees' policy of the demo and the experiments: the Secretary of State issues, a
/// Judicial Commissioner approves, both must sign (the double lock), default limits.
pub(crate) fn double_lock_policy(sos: &PrivateKey, jc: &PrivateKey) -> Result<Policy> {
    Policy::new(
        vec![
            Authority {
                name: "Secretary of State".into(),
                role: Role::Issuer,
                key: sos.public(),
            },
            Authority {
                name: "Judicial Commissioner".into(),
                role: Role::Judicial,
                key: jc.public(),
            },
        ],
        vec![Role::Issuer, Role::Judicial],
        PolicyLimits::default(),
    )
    .map_err(|r| anyhow::anyhow!("policy: {r}"))
}

pub(crate) fn get_json(url: &str, path: &str) -> Result<serde_json::Value> {
    let cfg = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build();
    let agent = ureq::Agent::new_with_config(cfg);
    let text = agent
        .get(format!("{url}{path}"))
        .call()
        .with_context(|| format!("{url}{path}"))?
        .body_mut()
        .read_to_string()
        .with_context(|| format!("{url}{path}"))?;
    serde_json::from_str(&text).with_context(|| format!("{url}{path}: not JSON"))
}

pub fn run(a: &DemoArgs, out: Out) -> Result<()> {
    let (n, k) = trustee::check_parameters(a.trustees, a.threshold)?;
    ensure!(
        n >= 2 && k >= 2 && k < n,
        "the live demo needs 2 <= k < n (to show a trustee down and k-1 failing)"
    );
    let node_bin = find_node_bin(a.node_bin.as_deref())?;
    let tmp;
    let dir = match &a.keep {
        Some(d) => {
            io::refuse_existing(d)?;
            io::create_private_dir(d)?;
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
    let env = Env {
        node_bin,
        dir: dir.clone(),
        passphrase: hex::encode(rng.random::<[u8; 16]>()),
        kdf: a.kdf_cost.clone(),
    };
    let mut story = Story {
        out,
        steps: Vec::new(),
    };
    out.say(&format!(
        "Exceptional access, live: {n} trustee nodes on this machine, any {k} of whom can open an escrowed message, \
         each releasing its part only against a double-locked warrant, and logging first.\nworking folder: {}",
        dir.display()
    ));

    // 1. Parties
    let dealing = trustee::deal(a.trustees, a.threshold, &mut rng)?;
    let set = dealing.set.clone();
    write_set(&dir, &set, &dealing.secrets)?;
    let sos = PrivateKey::generate(&mut rng);
    let jc = PrivateKey::generate(&mut rng);
    let inv = PrivateKey::generate(&mut rng);
    let inv2 = PrivateKey::generate(&mut rng);
    let foreign_issuer = PrivateKey::generate(&mut rng);
    let foreign_judge = PrivateKey::generate(&mut rng);
    for (name, key) in [
        ("sos", &sos),
        ("jc", &jc),
        ("investigator", &inv),
        ("investigator-2", &inv2),
        ("foreign-issuer", &foreign_issuer),
        ("foreign-judge", &foreign_judge),
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
    let policy = double_lock_policy(&sos, &jc)?;
    io::write_public(&dir.join("policy.json"), policy.to_json_pretty().as_bytes())?;
    story.step(
        "Set-up: a trustee set, two authorities, an investigator, three users",
        &format!(
            "{k}-of-{n} trustee set {} dealt (Feldman VSS; dealer's secret erased)\n\
             trustee policy: warrants need the Secretary of State (issuer) AND a Judicial Commissioner (approval)\n\
             investigator key {}; users {}",
            set.id().short(),
            inv.public().key_id().short(),
            users.join(", ")
        ),
        serde_json::json!({"set_id": set.id(), "threshold": k, "trustees": n, "policy_digest": policy.digest()}),
    );

    // 2. Nodes
    let mut nodes: Vec<NodeProc> = Vec::with_capacity(usize::from(n));
    for i in 1..=n {
        env.init(i)?;
        nodes.push(env.serve(i, None)?);
    }
    let urls = |nodes: &[NodeProc]| -> Vec<String> {
        nodes
            .iter()
            .filter(|x| x.child.is_some())
            .map(|x| x.url())
            .collect()
    };
    story.step(
        &format!(
            "{n} trustee nodes start, each with its own sealed key share, policy and audit log"
        ),
        &nodes
            .iter()
            .map(|x| format!("trustee {} listening on {}", x.index, x.url()))
            .collect::<Vec<_>>()
            .join("\n"),
        serde_json::json!({"nodes": nodes.iter().map(|x| x.url()).collect::<Vec<_>>()}),
    );

    // 3. Traffic: three weeks, three users, messages every day.
    let now = io::now();
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
    io::write_public(&dir.join("mailbox.jsonl"), lines.as_bytes())?;
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
        progress: false,
        threshold_first: false,
    };
    let try_get = |env: &WarrantEnvelope,
                   key: &PrivateKey,
                   msgs: &[SealedMessage],
                   urls: &[String],
                   tag: &str|
     -> Result<Retrieval> {
        let d = dir.join(format!("retrieved-{tag}"));
        io::create_private_dir(&d)?;
        cmd_retrieve::run(&set, env, key, msgs, urls, &net, &d)
    };
    let r = try_get(&issuer_only, &inv, &in_scope, &urls(&nodes), "issuer-only")?;
    ensure!(
        r.decrypted() == 0 && refusal_codes(&r) == ["missing-approval"],
        "demo: an issuer-only warrant was not refused with missing-approval: {:?}",
        refusal_codes(&r)
    );
    story.step(
        &format!("The Secretary of State issues warrant w-demo-alice: target alice, messages sent {} to {}", window.from, window.until),
        &format!("before judicial approval every trustee refuses: {}", detail_of(&r)),
        serde_json::json!({"codes": refusal_codes(&r)}),
    );
    let warrant = sign(&p, &sos, Some(&jc))?;
    policy
        .verify(&warrant, io::now(), &|_| false)
        .map_err(|r| anyhow::anyhow!("demo: approved warrant does not verify: {r}"))?;
    io::write_public(
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
        .find_map(|(_, _, o)| match o {
            Outcome::Decrypted { file, .. } => std::fs::read_to_string(file).ok(),
            Outcome::NotDecrypted { .. } => None,
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
    let r = try_get(&warrant, &inv, &out_of_scope, &urls(&nodes), "out-of-scope")?;
    ensure!(
        r.decrypted() == 0 && refusal_codes(&r) == ["out-of-scope"],
        "demo: out-of-scope messages not refused: {:?}",
        refusal_codes(&r)
    );
    refusals.push((
        "asking for 3 messages outside the warrant's scope",
        detail_of(&r),
    ));

    let mut relabelled = out_of_scope
        .first()
        .context("no out-of-scope message")?
        .clone();
    relabelled.escrow.label.sender = "alice".into();
    relabelled.escrow.label.timestamp = window.from.plus(3600);
    let r = try_get(
        &warrant,
        &inv,
        std::slice::from_ref(&relabelled),
        &urls(&nodes),
        "relabelled",
    )?;
    ensure!(
        r.decrypted() == 0 && refusal_codes(&r) == ["bad-ciphertext-proof"],
        "demo: relabelled ciphertext not refused: {:?}",
        refusal_codes(&r)
    );
    refusals.push((
        "relabelling an out-of-scope message as alice's, inside the window",
        detail_of(&r),
    ));

    let mut forged = warrant.envelope().clone();
    let text = String::from_utf8_lossy(&forged.payload).replace("\"alice\"", "\"bob\"");
    forged.payload = text.into_bytes();
    let forged = WarrantEnvelope::from_envelope(forged).map_err(|r| anyhow::anyhow!("{r}"))?;
    let r = try_get(&forged, &inv, &in_scope, &urls(&nodes), "forged")?;
    ensure!(
        r.decrypted() == 0 && refusal_codes(&r) == ["bad-signature"],
        "demo: forged warrant not refused: {:?}",
        refusal_codes(&r)
    );
    refusals.push((
        "a forged warrant (target changed to bob after signing)",
        detail_of(&r),
    ));

    let expired = sign(
        &payload(
            "w-demo-expired",
            &["alice"],
            window,
            &inv,
            now.plus(-40 * DAY),
            now.plus(-DAY),
            None,
        ),
        &sos,
        Some(&jc),
    )?;
    let r = try_get(&expired, &inv, &in_scope, &urls(&nodes), "expired")?;
    ensure!(
        r.decrypted() == 0 && refusal_codes(&r) == ["expired"],
        "demo: expired warrant not refused: {:?}",
        refusal_codes(&r)
    );
    refusals.push(("an expired warrant", detail_of(&r)));

    let foreign = sign(
        &payload(
            "w-demo-foreign",
            &["alice"],
            window,
            &inv,
            now.plus(-3600),
            now.plus(30 * DAY),
            None,
        ),
        &foreign_issuer,
        Some(&foreign_judge),
    )?;
    let r = try_get(&foreign, &inv, &in_scope, &urls(&nodes), "foreign")?;
    ensure!(
        r.decrypted() == 0 && refusal_codes(&r) == ["unknown-authority"],
        "demo: foreign warrant not refused: {:?}",
        refusal_codes(&r)
    );
    refusals.push((
        "a well-formed warrant from a foreign authority no trustee's policy names",
        detail_of(&r),
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

    let short = sign(
        &payload(
            "w-demo-cancel",
            &["alice"],
            window,
            &inv,
            now.plus(-3600),
            now.plus(30 * DAY),
            None,
        ),
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
        cancelled_at: io::now(),
        reason: "no longer necessary or proportionate (IPA 2016 s.39)".into(),
    };
    let cancel = CancellationEnvelope::sign_new(&cpay, &sos, Role::Issuer)
        .map_err(|r| anyhow::anyhow!("{r}"))?;
    for u in urls(&nodes) {
        let (status, body) = post_json(&u, "/v1/cancel", &cancel.to_json())?;
        ensure!(
            status == 200,
            "demo: {u} did not accept the cancellation: {body}"
        );
    }
    let r = try_get(&short, &inv, &in_scope, &urls(&nodes), "after-cancel")?;
    ensure!(
        r.decrypted() == 0 && refusal_codes(&r) == ["cancelled"],
        "demo: cancelled warrant not refused: {:?}",
        refusal_codes(&r)
    );
    refusals.push((
        "a warrant after the Secretary of State cancelled it",
        detail_of(&r),
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
    all_urls.push(format!(
        "http://{}",
        nodes.last().map(|x| x.addr.clone()).unwrap_or_default()
    ));
    let net_fast = Net {
        batch: 500,
        timeout: 10,
        attempts: 1,
        progress: false,
        threshold_first: false,
    };
    let d = dir.join("retrieved-one-down");
    io::create_private_dir(&d)?;
    let r = cmd_retrieve::run(&set, &warrant, &inv, &in_scope, &all_urls, &net_fast, &d)?;
    ensure!(
        r.decrypted() == in_scope.len(),
        "demo: retrieval with one trustee down failed"
    );
    let cheat = 1u16;
    if let Some(node) = nodes.iter_mut().find(|x| x.index == cheat) {
        node.stop();
        *node = env.serve(cheat, Some("bad-share"))?;
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
        *node = env.serve(cheat, None)?;
    }

    // 8. The logs.
    let mut heads = Vec::new();
    for x in nodes.iter().filter(|x| x.child.is_some()) {
        let h = get_json(&x.url(), "/v1/log/head")?;
        let size = h.get("size").and_then(|v| v.as_u64()).unwrap_or(0);
        let root = h.get("root").and_then(|v| v.as_str()).unwrap_or("?");
        heads.push(format!(
            "trustee {}: {size} log entries, root {}",
            x.index,
            root.get(..16).unwrap_or(root)
        ));
    }
    // The auditor over every running node: signed checkpoints, every entry, every release
    // judged against its warrant under the policy.
    let audit_args = crate::cmd_audit::AuditArgs {
        set: dir.join(SET_FILE),
        trustees: nodes
            .iter()
            .filter(|x| x.child.is_some())
            .map(|x| x.url())
            .collect(),
        policy: Some(dir.join("policy.json")),
        warrants: None,
        state: a.keep.as_ref().map(|_| dir.join("auditor")),
        html: None,
        receipts: Vec::new(),
        checkpoints: Vec::new(),
        timeout: 30,
    };
    let report = crate::cmd_audit::run(&audit_args, Out { json: true })?;
    let html_path = dir.join("audit-report.html");
    if a.keep.is_some() {
        io::write_public(
            &html_path,
            crate::cmd_audit::html_report(&report).as_bytes(),
        )?;
    }
    ensure!(
        report.errors() == 0,
        "demo: the auditor found problems:\n{}",
        crate::cmd_audit::report_text(&report)
    );
    story.step(
        "Every release and every refusal above was committed to each trustee's log before its answer left; the auditor verifies every log and judges every release",
        &format!(
            "{}\n{}{}",
            heads.join("\n"),
            crate::cmd_audit::report_text(&report),
            if a.keep.is_some() {
                format!("transparency report page: {}", html_path.display())
            } else {
                String::new()
            }
        ),
        serde_json::json!({"heads": heads, "audit": report}),
    );

    // 9. Stop.
    for x in nodes.iter_mut() {
        x.stop();
    }
    let kept = a.keep.is_some();
    out.say(&format!(
        "\nAll {n} trustee processes stopped. {}",
        if kept {
            format!("Everything is kept in {}.", dir.display())
        } else {
            "Temporary state removed (use --keep DIR to keep it).".into()
        }
    ));
    out.say("What this cannot prevent: k trustees who collude read everything (escrow collude); a stolen pair of authority keys issues warrants; labels leak metadata. See docs/threat-model.md.");
    if out.json {
        println!(
            "{}",
            serde_json::json!({"ok": true, "mode": "live", "dir": if kept { Some(&dir) } else { None }, "steps": story.steps})
        );
    }
    Ok(())
}
