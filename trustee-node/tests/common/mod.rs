//! Test fixtures: a dealt trustee set on disk, a policy, authorities, an investigator, sealed
//! messages, and real `trustee-node` processes on 127.0.0.1 port 0 with temporary state.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    dead_code
)]

use escrow_core::keys::PrivateKey;
use escrow_core::label::Label;
use escrow_core::message::{SealedMessage, seal};
use escrow_core::release::{ReleaseRequest, ReleaseResponse};
use escrow_core::tdh2::EscrowCiphertext;
use escrow_core::test_fixtures::two_key_policy;
use escrow_core::time::Timestamp;
use escrow_core::trustee::{TrusteeSet, deal};
use escrow_core::warrant::{
    CancellationEnvelope, CancellationPayload, PolicyLimits, Role, Scope, WarrantEnvelope,
    WarrantPayload, Window,
};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_trustee-node");
pub const PASS: &str = "correct horse battery staple";
pub const DAY: i64 = 86_400;

pub fn now() -> Timestamp {
    let s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Timestamp(s as i64)
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub set: TrusteeSet,
    pub set_path: PathBuf,
    pub policy_path: PathBuf,
    pub trustee_dirs: Vec<PathBuf>,
    pub issuer: PrivateKey,
    pub judge: PrivateKey,
    pub foreign: PrivateKey,
    pub investigator: PrivateKey,
    pub recipient: PrivateKey,
    /// The policy's oversight key: may read every warrant (`/v1/log/envelope`).
    pub oversight: PrivateKey,
}

fn write_secret(path: &Path, s: &str) {
    std::fs::write(path, s).unwrap();
}

impl Fixture {
    pub fn new(n: u64, k: u64) -> Self {
        Self::with_limits(n, k, PolicyLimits::default())
    }

    pub fn with_limits(n: u64, k: u64, limits: PolicyLimits) -> Self {
        let mut rng = rand::rng();
        let dir = tempfile::tempdir().unwrap();
        let d = deal(n, k, &mut rng).unwrap();
        let set_path = dir.path().join("trustee-set.json");
        std::fs::write(&set_path, d.set.to_json()).unwrap();
        let mut trustee_dirs = Vec::new();
        for s in &d.secrets {
            let td = dir.path().join(format!("trustee-{}", s.key_share.index()));
            std::fs::create_dir_all(&td).unwrap();
            write_secret(&td.join("key-share.json"), &s.key_share.to_json());
            write_secret(&td.join("signing.key"), &s.signing_key.to_pem().unwrap());
            trustee_dirs.push(td);
        }
        let issuer = PrivateKey::generate(&mut rng);
        let judge = PrivateKey::generate(&mut rng);
        let foreign = PrivateKey::generate(&mut rng);
        let investigator = PrivateKey::generate(&mut rng);
        let recipient = PrivateKey::generate(&mut rng);
        let oversight = PrivateKey::generate(&mut rng);
        let policy = two_key_policy(
            ("home-secretary", &issuer),
            ("judicial-commissioner", &judge),
            limits,
        )
        .with_oversight(vec![escrow_core::warrant::Oversight {
            name: "commissioner".into(),
            key: oversight.public(),
        }])
        .unwrap();
        let policy_path = dir.path().join("policy.json");
        std::fs::write(&policy_path, policy.to_json_pretty()).unwrap();
        Fixture {
            dir,
            set: d.set,
            set_path,
            policy_path,
            trustee_dirs,
            issuer,
            judge,
            foreign,
            investigator,
            recipient,
            oversight,
        }
    }

    /// `trustee-node init` for trustee `i` (1-based); returns the state folder.
    /// `trustee-node init` (test KDF cost) of the trustee folder `trustee` into `state` with
    /// the passphrase `passphrase`, under this fixture's set and policy.
    pub fn run_init(&self, trustee: &Path, state: &Path, passphrase: &str) -> std::process::Output {
        Command::new(BIN)
            .args(["init", "--kdf-cost", "test", "--set"])
            .arg(&self.set_path)
            .arg("--trustee")
            .arg(trustee)
            .arg("--policy")
            .arg(&self.policy_path)
            .arg("--state")
            .arg(state)
            .env("TRUSTEE_PASSPHRASE", passphrase)
            .output()
            .unwrap()
    }

    pub fn init(&self, i: usize) -> PathBuf {
        let state = self.dir.path().join(format!("state-{i}"));
        let out = self.run_init(&self.trustee_dirs[i - 1], &state, PASS);
        assert!(
            out.status.success(),
            "init failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        state
    }

    pub fn payload(&self, id: &str) -> WarrantPayload {
        let t = now();
        WarrantPayload {
            version: Default::default(),
            warrant_id: id.into(),
            case_reference: "OP-TEST".into(),
            warrant_type: "targeted-interception".into(),
            legal_basis: "IPA 2016 s.15(2)".into(),
            issuing_authority: "Secretary of State".into(),
            scope: Scope {
                targets: vec!["alice".into()],
                message_ids: vec![],
                window: Window {
                    from: t.plus(-30 * DAY),
                    until: t.plus(DAY),
                },
            },
            investigator_key: self.investigator.public().to_pem(),
            not_before: t.plus(-DAY),
            not_after: t.plus(30 * DAY),
            max_releases: None,
            urgent: false,
            parent_warrant_id: None,
        }
    }

    pub fn issue(&self, p: &WarrantPayload) -> WarrantEnvelope {
        WarrantEnvelope::sign_new(p, &self.issuer, Role::Issuer).unwrap()
    }

    pub fn double_locked(&self, p: &WarrantPayload) -> WarrantEnvelope {
        let mut e = self.issue(p);
        e.add_signature(&self.judge, Role::Judicial).unwrap();
        e
    }

    pub fn cancellation(
        &self,
        w: &WarrantEnvelope,
        id: &str,
        key: &PrivateKey,
    ) -> CancellationEnvelope {
        let p = CancellationPayload {
            version: Default::default(),
            warrant_id: id.into(),
            warrant_digest: w.digest(),
            cancelled_at: now(),
            reason: "no longer necessary".into(),
        };
        CancellationEnvelope::sign_new(&p, key, Role::Issuer).unwrap()
    }

    /// A sealed message from `sender` to `recipient`, sent `ago` seconds ago.
    pub fn message(&self, sender: &str, recipient: &str, id: &str, ago: i64) -> SealedMessage {
        let (label, body) = message_parts(sender, recipient, id, ago);
        seal(
            &self.set,
            &self.recipient.public(),
            &label,
            &body,
            &mut rand::rng(),
        )
        .unwrap()
    }

    /// A version 2 message from `sender` to bob, sent an hour ago.
    pub fn message_v2(&self, sender: &str, id: &str) -> escrow_core::v2::SealedMessageV2 {
        let (label, body) = message_parts(sender, "bob", id, 3600);
        let to = self.recipient.public();
        escrow_core::v2::seal_v2(&self.set, &to, &label, &body, &mut rand::rng()).unwrap()
    }
}

/// The label of message `id` from `sender` to `recipient`, sent `ago` seconds ago, and its
/// body ("body of ID").
fn message_parts(sender: &str, recipient: &str, id: &str, ago: i64) -> (Label, Vec<u8>) {
    let label = Label::new(sender, recipient, now().plus(-ago), id).unwrap();
    (label, format!("body of {id}").into_bytes())
}

/// Whether `program arg` runs here and succeeds (`curl --version`, `openssl version`).
pub fn runs(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A self-signed P-256 certificate for 127.0.0.1, `cert.pem`, and its key, `key.pem`, made
/// in `dir` with `openssl`.
pub fn self_signed_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let req = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1";
    let out = Command::new("openssl")
        .args(req.split(' '))
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    (cert, key)
}

pub fn cts(msgs: &[SealedMessage]) -> Vec<EscrowCiphertext> {
    msgs.iter().map(|m| m.escrow.clone()).collect()
}

/// A running node; killed (SIGKILL) on drop if still running.
pub struct NodeProc {
    pub child: Child,
    pub addr: String,
    pub state: PathBuf,
    pub stderr_path: PathBuf,
}

pub fn start(state: &Path, extra: &[&str], env: &[(&str, &str)]) -> NodeProc {
    try_start(state, extra, env).unwrap_or_else(|e| panic!("node did not start: {e}"))
}

/// Start `serve`; Err(stderr) if it exits before writing its address.
pub fn try_start(state: &Path, extra: &[&str], env: &[(&str, &str)]) -> Result<NodeProc, String> {
    let addr_file = state.with_extension(format!("addr-{}", rand::random::<u32>()));
    let stderr_path = state.with_extension(format!("stderr-{}", rand::random::<u32>()));
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--state"])
        .arg(state)
        .arg("--addr-file")
        .arg(&addr_file)
        .args(extra)
        .env("TRUSTEE_PASSPHRASE", PASS)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(a) = std::fs::read_to_string(&addr_file)
            && !a.is_empty()
        {
            return Ok(NodeProc {
                child,
                addr: a.trim().to_string(),
                state: state.to_path_buf(),
                stderr_path,
            });
        }
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            return Err(format!("exited with {status}: {err}"));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err("timed out waiting for the address file".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Something serving the node API over plain HTTP (a process or an in-process node).
pub trait Served {
    fn addr(&self) -> &str;
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr(), path)
    }
}

impl Served for NodeProc {
    fn addr(&self) -> &str {
        &self.addr
    }
}

/// A node run in this test process by `trustee_node::spawn` on 127.0.0.1:0 (real HTTP, its
/// own runtime on its own thread); shut down gracefully on drop.
pub struct InProcNode {
    pub addr: String,
    pub state: PathBuf,
    node: trustee_node::Spawned,
}

impl<T: Served + ?Sized> Served for std::sync::Arc<T> {
    fn addr(&self) -> &str {
        (**self).addr()
    }
}

impl<T: Served + ?Sized> Served for Box<T> {
    fn addr(&self) -> &str {
        (**self).addr()
    }
}

impl Served for InProcNode {
    fn addr(&self) -> &str {
        &self.addr
    }
}

impl InProcNode {
    /// Leaf hashes the node read for tiles and proofs since it started.
    pub fn leaf_hashes_read(&self) -> u64 {
        self.node.node().map_or(0, |n| n.leaf_hashes_read())
    }
}

/// Start a node in process with `limits`; panics if it does not load.
pub fn start_in_process(state: &Path, limits: trustee_node::Limits) -> InProcNode {
    try_start_in_process(state, limits).unwrap_or_else(|e| panic!("node did not start: {e}"))
}

/// Start a node in process with `limits`; Err if loading the state folder fails.
pub fn try_start_in_process(
    state: &Path,
    limits: trustee_node::Limits,
) -> Result<InProcNode, trustee_node::NodeError> {
    let mut config = trustee_node::Config::new(state, PASS.as_bytes().to_vec());
    config.limits = limits;
    start_config(state, config)
}

/// A cheating trustee: a node in process with fault injection `bad-share` (a library setting;
/// the binary has no switch for it).
pub fn start_cheating(state: &Path) -> InProcNode {
    start_faulty(state, trustee_node::Fault::BadShare)
}

/// A node in process with the fault injection `fault` (a library setting).
pub fn start_faulty(state: &Path, fault: trustee_node::Fault) -> InProcNode {
    let mut config = trustee_node::Config::new(state, PASS.as_bytes().to_vec());
    config.fault = Some(fault);
    start_config(state, config).unwrap_or_else(|e| panic!("node did not start: {e}"))
}

fn start_config(
    state: &Path,
    config: trustee_node::Config,
) -> Result<InProcNode, trustee_node::NodeError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let node = trustee_node::spawn(listener, config)?;
    Ok(InProcNode {
        addr: node.addr().to_string(),
        state: state.to_path_buf(),
        node,
    })
}

impl InProcNode {
    /// Ask the node to stop and wait for it; how serving ended.
    pub fn shutdown(self) -> Result<(), trustee_node::NodeError> {
        self.node.shutdown()
    }
}

impl NodeProc {
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into()
}

/// (status, body)
pub fn post(url: &str, body: &str) -> (u16, String) {
    status_and_body(
        agent()
            .post(url)
            .header("content-type", "application/json")
            .send(body)
            .unwrap(),
    )
}

/// The `Escrow-Signature` header value for a request to `url` by `key` (fresh nonce, now).
pub fn signature(key: &PrivateKey, method: &str, url: &str, body: &[u8]) -> String {
    let pq = url
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_else(|| "/".into());
    escrow_core::auth::RequestSignature::sign_now(key, method, &pq, body, now(), &mut rand::rng())
        .to_header()
}

/// (status, body) of a POST signed by `key`.
pub fn post_as(url: &str, key: &PrivateKey, body: &str) -> (u16, String) {
    status_and_body(
        agent()
            .post(url)
            .header("content-type", "application/json")
            .header(
                escrow_core::auth::HEADER,
                signature(key, "POST", url, body.as_bytes()),
            )
            .send(body)
            .unwrap(),
    )
}

/// (status, body) of a GET signed by `key`.
pub fn get_as(url: &str, key: &PrivateKey) -> (u16, String) {
    status_and_body(
        agent()
            .get(url)
            .header(escrow_core::auth::HEADER, signature(key, "GET", url, b""))
            .call()
            .unwrap(),
    )
}

pub fn get(url: &str) -> (u16, String) {
    status_and_body(agent().get(url).call().unwrap())
}

/// (status, body) of an answer (bodies up to 512 MiB: the log pages of the large tests).
fn status_and_body(mut r: ureq::http::Response<ureq::Body>) -> (u16, String) {
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(512 * 1024 * 1024)
        .read_to_string()
        .unwrap();
    (status, body)
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// The size of `node`'s log, from `/v1/log/head`.
pub fn head_size(node: &(impl Served + ?Sized)) -> u64 {
    json(&get(&node.url("/v1/log/head")).1)["size"]
        .as_u64()
        .unwrap()
}

/// The `error.code` of an error body ("" when there is none).
pub fn error_code(body: &str) -> String {
    json(body)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// POST a release request; the response must be 200 and verify under the set.
pub fn release(
    node: &(impl Served + ?Sized),
    fx: &Fixture,
    w: &WarrantEnvelope,
    cts: Vec<EscrowCiphertext>,
) -> ReleaseResponse {
    let digests: Vec<_> = cts.iter().map(|c| c.digest()).collect();
    let (status, body) = post_as(
        &node.url("/v1/release"),
        &fx.investigator,
        &ReleaseRequest::new(w, cts).to_json(),
    );
    assert_eq!(status, 200, "{body}");
    let r = ReleaseResponse::from_json(&body).unwrap();
    r.verify(&fx.set).unwrap();
    r.check_answers(&digests).unwrap();
    r
}

/// Codes of every result, in order (`released` for a release).
pub fn codes(r: &ReleaseResponse) -> Vec<String> {
    r.results
        .iter()
        .map(|x| match x {
            escrow_core::release::ReleaseResult::Released { .. } => "released".to_string(),
            escrow_core::release::ReleaseResult::Refused { code, .. } => code.as_str().to_string(),
            other => panic!("an outcome this test does not know: {other:?}"),
        })
        .collect()
}

/// Every log entry of a node.
pub fn log_entries(node: &(impl Served + ?Sized)) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    loop {
        let (s, b) = get(&node.url(&format!("/v1/log/entries?start={}", out.len())));
        assert_eq!(s, 200, "{b}");
        let v = json(&b);
        let page = v["entries"].as_array().unwrap().clone();
        let size = v["size"].as_u64().unwrap() as usize;
        out.extend(page);
        if out.len() >= size {
            return out;
        }
    }
}
