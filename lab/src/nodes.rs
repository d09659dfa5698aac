//! Trustee nodes as real `trustee-node` processes on 127.0.0.1 (port 0): initialise, serve,
//! stop; and where the binary is found.

use crate::files::SET_FILE;
use anyhow::{Context, Result, bail, ensure};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
pub use trustee_node::Spawned;

/// One running trustee node: a `trustee-node` process, or (the cheating trustee) a node run
/// in this process by the `trustee-node` library.
pub struct NodeProc {
    pub index: u16,
    pub addr: String,
    pub child: Option<Child>,
    pub in_process: Option<trustee_node::Spawned>,
    /// It serves HTTPS.
    pub https: bool,
}

impl NodeProc {
    pub fn url(&self) -> String {
        match &self.in_process {
            Some(n) => n.url(),
            None if self.https => format!("https://{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    /// Is it running (not stopped)?
    pub fn running(&self) -> bool {
        self.child.is_some() || self.in_process.is_some()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
        if let Some(n) = self.in_process.take() {
            let _ = n.shutdown();
        }
    }
}

/// A cheating trustee: the node of state folder `state` run in this process with fault
/// injection `bad-share` (every released share carries a broken proof; `/v1/info` says so).
/// Fault injection is a setting of the `trustee-node` library only: the binary has no switch
/// for it (docs/architecture.md §4).
pub fn spawn_cheating(state: &Path, passphrase: &str) -> Result<trustee_node::Spawned> {
    spawn_cheating_tls(state, passphrase, None)
}

/// [`spawn_cheating`], serving HTTPS with `tls` (certificate, key) if given.
pub fn spawn_cheating_tls(
    state: &Path,
    passphrase: &str,
    tls: Option<&(PathBuf, PathBuf)>,
) -> Result<trustee_node::Spawned> {
    spawn_in_process(state, passphrase, tls, Some(trustee_node::Fault::BadShare))
}

/// The node of state folder `state` run in this process (the `trustee-node` library), serving
/// HTTPS with `tls` if given, with fault injection `fault` if given.
pub fn spawn_in_process(
    state: &Path,
    passphrase: &str,
    tls: Option<&(PathBuf, PathBuf)>,
    fault: Option<trustee_node::Fault>,
) -> Result<trustee_node::Spawned> {
    let mut config = trustee_node::Config::new(state, passphrase.as_bytes().to_vec());
    config.fault = fault;
    config.tls = tls.map(|(cert, key)| trustee_node::TlsFiles {
        cert: cert.clone(),
        key: key.clone(),
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    trustee_node::spawn(listener, config)
        .with_context(|| format!("cannot start the node of {}", state.display()))
}

/// Stop a process gracefully: SIGTERM, then SIGKILL if it has not exited within 10 s.
pub fn terminate(c: &mut Child) {
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

/// Why a node did not come up.
#[derive(Debug)]
pub enum StartError {
    /// It exited before it wrote its address.
    Exited(std::process::ExitStatus),
    /// It wrote no address in time.
    Timeout(Duration),
}

/// Wait until a starting node has written its address to `addr_file` (`serve --addr-file`);
/// the address, or why not.
pub fn wait_for_addr(
    c: &mut Child,
    addr_file: &Path,
    within: Duration,
) -> Result<String, StartError> {
    let t0 = Instant::now();
    loop {
        if let Ok(s) = std::fs::read_to_string(addr_file)
            && !s.trim().is_empty()
        {
            return Ok(s.trim().to_string());
        }
        if let Ok(Some(st)) = c.try_wait() {
            return Err(StartError::Exited(st));
        }
        if t0.elapsed() >= within {
            return Err(StartError::Timeout(within));
        }
        std::thread::sleep(Duration::from_millis(20));
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

pub struct Env {
    pub node_bin: PathBuf,
    pub dir: PathBuf,
    pub passphrase: String,
    pub kdf: String,
    /// Serve HTTPS with this certificate and key (the demo's, [`crate::demo_tls`]).
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl Env {
    fn node_cmd(&self) -> Command {
        self.node_cmd_in(None)
    }

    /// The node binary, run inside network namespace `netns` if given (`ip netns exec`, which
    /// execs the node itself: the child's pid is the node's).
    fn node_cmd_in(&self, netns: Option<&str>) -> Command {
        let mut c = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.node_bin);
                c
            }
            None => Command::new(&self.node_bin),
        };
        c.env("TRUSTEE_PASSPHRASE", &self.passphrase)
            .env("TRUSTEE_KDF_COST", &self.kdf);
        c
    }

    pub fn init(&self, i: u16) -> Result<()> {
        let mut cmd = self.node_cmd();
        cmd.arg("init")
            .arg("--set")
            .arg(self.dir.join(SET_FILE))
            .arg("--trustee")
            .arg(self.dir.join(format!("trustee-{i}")))
            .arg("--policy")
            .arg(self.dir.join("policy.json"))
            .arg("--state")
            .arg(self.dir.join(format!("node-{i}")));
        self.run_init(cmd, &format!("trustee-node init for trustee {i}"))
    }

    /// Run a `trustee-node init` command to its end; `what` names it in the error.
    fn run_init(&self, mut cmd: Command, what: &str) -> Result<()> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", self.node_bin.display()))?;
        ensure!(
            out.status.success(),
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    }

    /// `trustee-node init --dkg`: trustee `i`'s node made without a share, its own signing
    /// and log keys, waiting for a key generation driven by the coordinator whose public key
    /// is `coordinator_pub` (`escrow ceremony dkg`).
    pub fn init_dkg(&self, i: u16, coordinator_pub: &Path) -> Result<()> {
        let mut cmd = self.node_cmd();
        cmd.args(["init", "--dkg"])
            .arg("--policy")
            .arg(self.dir.join("policy.json"))
            .arg("--state")
            .arg(self.dir.join(format!("node-{i}")))
            .arg("--coordinator-key")
            .arg(coordinator_pub);
        self.run_init(cmd, &format!("trustee-node init --dkg for trustee {i}"))
    }

    /// Run trustee `i`'s node in this process as a cheating trustee ([`spawn_cheating`]).
    pub fn serve_cheating(&self, i: u16) -> Result<NodeProc> {
        let node = spawn_cheating_tls(
            &self.dir.join(format!("node-{i}")),
            &self.passphrase,
            self.tls.as_ref(),
        )?;
        Ok(NodeProc {
            index: i,
            addr: node.addr().to_string(),
            child: None,
            in_process: Some(node),
            https: self.tls.is_some(),
        })
    }

    pub fn serve(&self, i: u16) -> Result<NodeProc> {
        self.serve_in(i, None, "127.0.0.1")
    }

    /// Serve trustee `i`'s node on `host` (port 0), inside network namespace `netns` if given.
    pub fn serve_in(&self, i: u16, netns: Option<&str>, host: &str) -> Result<NodeProc> {
        let state = self.dir.join(format!("node-{i}"));
        let addr_file = self.dir.join(format!("node-{i}.addr"));
        let _ = std::fs::remove_file(&addr_file);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node-{i}.log")))
            .context("cannot open the node log")?;
        let mut cmd = self.node_cmd_in(netns);
        cmd.arg("serve")
            .arg("--state")
            .arg(&state)
            .arg("--listen")
            .arg(format!("{host}:0"))
            .arg("--addr-file")
            .arg(&addr_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some((cert, key)) = &self.tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", self.node_bin.display()))?;
        let mut child = child;
        match wait_for_addr(&mut child, &addr_file, Duration::from_secs(60)) {
            Ok(addr) => Ok(NodeProc {
                index: i,
                addr,
                child: Some(child),
                in_process: None,
                https: self.tls.is_some(),
            }),
            Err(StartError::Exited(st)) => bail!(
                "trustee-node {i} exited ({st}) before it listened; its log: {}",
                self.dir.join(format!("node-{i}.log")).display()
            ),
            Err(StartError::Timeout(_)) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("trustee-node {i} did not start within 60 s")
            }
        }
    }
}

/// The `trustee-node` binary: `--node-bin`, else next to this `escrow`, else on PATH. When
/// this `escrow` was started by `cargo run` (the README's command) and the node is not built
/// yet, it is built with the same cargo and profile, so that the one command a newcomer runs
/// works on a fresh clone.
pub fn find_node_bin(explicit: Option<&Path>) -> Result<PathBuf> {
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
