//! The test kit of the workspace: the one harness that runs the real binaries as a user runs
//! them (`escrow`, and `trustee-node` processes on 127.0.0.1 port 0 with their own state
//! folders: start, stop, kill -9, restart), and the assertions every end-to-end test uses.
//! A dev-dependency only; nothing here ships.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

pub use escrow_lab::nodes::{StartError, terminate, wait_for_addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Passphrase the test nodes use for their state.
pub const TEST_PASSPHRASE: &str = "correct horse battery staple (test only)";

/// Path of a binary built from this workspace (`target/<profile>/<name>`).
///
/// `cargo test --workspace` builds every workspace binary before it runs any test, because
/// `warrant-cli` and `trustee-node` have integration tests of their own.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test-binary>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let p = profile_dir.join(name);
    assert!(
        p.exists(),
        "{} is not built; run the whole suite with `cargo test --workspace` (or `cargo build --workspace` first)",
        p.display()
    );
    p
}

/// Run `escrow` with `args` in `dir`.
pub fn escrow(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin("escrow"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run escrow")
}

/// Run `escrow` with owned arguments (built with `format!` or from URLs) in `dir`.
pub fn escrow_owned(dir: &Path, args: &[String]) -> Output {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    escrow(dir, &refs)
}

/// Run `escrow` with stdin.
pub fn escrow_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    output_with_input(
        Command::new(bin("escrow")).args(args).current_dir(dir),
        input,
    )
}

/// Run `cmd` with `input` on its standard input; its standard output and error are captured.
pub fn output_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut c = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The child may exit before reading its input (bad arguments): a broken pipe is fine.
    let _ = c.stdin.take().unwrap().write_all(input);
    c.wait_with_output().unwrap()
}

/// Standard output then standard error, as text.
pub fn stdout_and_stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// `--trustee URL` for each of `urls`.
pub fn trustee_flags(urls: &[String]) -> Vec<String> {
    urls.iter()
        .flat_map(|u| ["--trustee".to_string(), u.clone()])
        .collect()
}

/// The ids in the `opened` list of what `escrow --json open` (or `collude`) printed.
pub fn opened_ids(v: &serde_json::Value) -> Vec<&str> {
    v["opened"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

/// Assert success and return stdout.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "expected success, got {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Assert a given exit code and that `needle` appears in stdout or stderr.
pub fn fails(o: &Output, code: i32, needle: &str) -> String {
    let all = stdout_and_stderr(o);
    assert_eq!(o.status.code(), Some(code), "output:\n{all}");
    assert!(
        all.contains(needle),
        "expected {needle:?} in output:\n{all}"
    );
    assert!(!all.contains("panicked"), "panic in output:\n{all}");
    all
}

/// A running `trustee-node serve` process (or, for a cheating trustee, a node run in this
/// process by the library: see [`Node::start_cheating`]).
pub struct Node {
    pub index: u16,
    pub state: PathBuf,
    pub addr: String,
    child: Option<Child>,
    in_process: Option<escrow_lab::nodes::Spawned>,
    extra_env: Vec<(String, String)>,
    /// Extra `serve` arguments (e.g. `--tls-cert`, `--tls-key`).
    extra_args: Vec<String>,
    /// Serves HTTPS.
    https: bool,
}

impl Node {
    /// Start `trustee-node serve` on 127.0.0.1:0 and wait until it has written its address.
    pub fn start(index: u16, state: &Path, extra_env: &[(&str, &str)]) -> Node {
        let env = extra_env
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Node::spawned(index, state, env, Vec::new(), false)
    }

    /// Start `trustee-node serve` with HTTPS (`--tls-cert CERT --tls-key KEY`).
    pub fn start_tls(index: u16, state: &Path, cert: &Path, key: &Path) -> Node {
        let args = vec![
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
        ];
        Node::spawned(index, state, Vec::new(), args, true)
    }

    /// `trustee-node serve` of `state` with these extra environment variables and arguments.
    fn spawned(
        index: u16,
        state: &Path,
        extra_env: Vec<(String, String)>,
        extra_args: Vec<String>,
        https: bool,
    ) -> Node {
        let mut n = Node {
            index,
            state: state.to_path_buf(),
            addr: String::new(),
            child: None,
            in_process: None,
            extra_env,
            extra_args,
            https,
        };
        n.spawn();
        n
    }

    /// A cheating trustee: the node of `state` run in this process with fault injection
    /// `bad-share` (a setting of the `trustee-node` library; the binary has no switch for it).
    pub fn start_cheating(index: u16, state: &Path) -> Node {
        let node = escrow_lab::nodes::spawn_cheating(state, TEST_PASSPHRASE)
            .unwrap_or_else(|e| panic!("cheating trustee {index} did not start: {e:#}"));
        Node {
            index,
            state: state.to_path_buf(),
            addr: node.addr().to_string(),
            child: None,
            in_process: Some(node),
            extra_env: Vec::new(),
            extra_args: Vec::new(),
            https: false,
        }
    }

    fn spawn(&mut self) {
        self.spawn_on("127.0.0.1:0");
    }

    fn spawn_on(&mut self, listen: &str) {
        let addr_file = self.state.with_extension("addr");
        let _ = std::fs::remove_file(&addr_file);
        let log = std::fs::File::create(self.state.with_extension("log")).unwrap();
        let mut cmd = Command::new(bin("trustee-node"));
        cmd.args(["serve", "--state"])
            .arg(&self.state)
            .args(["--listen", listen, "--addr-file"])
            .arg(&addr_file)
            .env("TRUSTEE_PASSPHRASE", TEST_PASSPHRASE)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd.args(&self.extra_args);
        let mut child = cmd.spawn().expect("spawn trustee-node");
        match wait_for_addr(&mut child, &addr_file, Duration::from_secs(30)) {
            Ok(addr) => {
                self.addr = addr;
                self.child = Some(child);
            }
            Err(StartError::Exited(st)) => panic!(
                "trustee-node {} exited early ({st}):\n{}",
                self.index,
                std::fs::read_to_string(self.state.with_extension("log")).unwrap_or_default()
            ),
            Err(StartError::Timeout(_)) => {
                let _ = child.kill();
                panic!("trustee-node {} did not start", self.index)
            }
        }
    }

    /// `http://ADDR` (`https://ADDR` for a node started with TLS).
    pub fn url(&self) -> String {
        if self.addr.starts_with("http") {
            self.addr.clone()
        } else if self.https {
            format!("https://{}", self.addr)
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// Graceful stop (SIGTERM), waiting for exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c);
        }
        if let Some(n) = self.in_process.take() {
            let _ = n.shutdown();
        }
    }

    /// SIGKILL, no cleanup.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start again on a fresh port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Stop and start again with `--accept-unanchored-log` (as an operator who rewrote the log
    /// and removed the signed checkpoint would).
    pub fn restart_unanchored(&mut self) {
        self.stop();
        self.extra_env
            .push(("TRUSTEE_ACCEPT_UNANCHORED_LOG".into(), "true".into()));
        self.spawn();
        self.extra_env
            .retain(|(k, _)| k != "TRUSTEE_ACCEPT_UNANCHORED_LOG");
    }

    /// Stop and start again on the same address (so clients holding the URL reach it again).
    pub fn restart_same_port(&mut self) {
        self.stop();
        let addr = self.addr.clone();
        self.spawn_on(&addr);
    }

    /// The node's stderr log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.with_extension("log")).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Run `trustee-node init` for trustee `i` of the set in `dir/ts`, with the policy
/// `dir/policy.json`, into `dir/node-<i>` (fast test KDF).
pub fn init_node(dir: &Path, i: u16) -> PathBuf {
    let state = dir.join(format!("node-{i}"));
    let o = Command::new(bin("trustee-node"))
        .arg("init")
        .arg("--set")
        .arg(dir.join("ts/trustee-set.json"))
        .arg("--trustee")
        .arg(dir.join(format!("ts/trustee-{i}")))
        .arg("--policy")
        .arg(dir.join("policy.json"))
        .arg("--state")
        .arg(&state)
        .env("TRUSTEE_PASSPHRASE", TEST_PASSPHRASE)
        .env("TRUSTEE_KDF_COST", "test")
        .stdin(Stdio::null())
        .output()
        .expect("run trustee-node init");
    ok(&o);
    state
}

/// Whether an `openssl` command runs here (the TLS tests make their certificates with it and
/// skip, saying so, where it is missing).
pub fn has_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether a test that needs `openssl` must skip here; says so on standard error.
pub fn skip_without_openssl() -> bool {
    let skip = !has_openssl();
    if skip {
        eprintln!("skipped: needs openssl");
    }
    skip
}

/// Run `openssl ARGS` in `dir`; assert it succeeded.
pub fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Certificates for nodes serving TLS on 127.0.0.1, made with `openssl` in a test's folder
/// (P-256 keys, valid one day). Check [`skip_without_openssl`] first.
pub mod tls {
    use super::openssl;
    use std::path::{Path, PathBuf};

    /// `openssl req` with a fresh P-256 key written to `key` and the subject `subj`, then
    /// `rest`.
    fn request(dir: &Path, head: &[&str], subj: &str, key: &str, rest: &[&str]) {
        let mut args = head.to_vec();
        args.extend([
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ]);
        args.extend(["-subj", subj, "-keyout", key]);
        args.extend_from_slice(rest);
        openssl(dir, &args);
    }

    /// A self-signed certificate valid one day, with these `-addext` extensions.
    fn self_signed_with(dir: &Path, subj: &str, exts: &[&str], key: &str, cert: &str) {
        let mut rest = vec!["-days", "1", "-out", cert];
        for e in exts {
            rest.extend(["-addext", e]);
        }
        request(dir, &["req", "-x509"], subj, key, &rest);
    }

    /// A self-signed end-entity certificate for 127.0.0.1 and its key, `NAME-cert.pem` and
    /// `NAME-key.pem` in `dir`.
    pub fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = (format!("{name}-cert.pem"), format!("{name}-key.pem"));
        self_signed_with(
            dir,
            "/CN=localhost",
            &[
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "basicConstraints=critical,CA:FALSE",
            ],
            &key,
            &cert,
        );
        (dir.join(cert), dir.join(key))
    }

    /// A CA (`ca.pem`, `ca-key.pem` in `dir`).
    pub fn make_ca(dir: &Path) {
        self_signed_with(
            dir,
            "/CN=escrow test CA",
            &[
                "basicConstraints=critical,CA:TRUE",
                "keyUsage=critical,keyCertSign",
            ],
            "ca-key.pem",
            "ca.pem",
        );
    }

    /// A server certificate for 127.0.0.1 signed by the CA of [`make_ca`], with a fresh key:
    /// `NAME-cert.pem`, `NAME-key.pem`.
    pub fn leaf(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let key = format!("{name}-key.pem");
        let csr = format!("{name}.csr");
        let cert = format!("{name}-cert.pem");
        let ext = format!("{name}.ext");
        std::fs::write(
            dir.join(&ext),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        request(
            dir,
            &["req", "-new"],
            "/CN=localhost",
            &key,
            &["-out", &csr],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca-key.pem",
                "-set_serial",
                "1",
                "-days",
                "1",
                "-extfile",
                &ext,
                "-out",
                &cert,
            ],
        );
        (dir.join(cert), dir.join(key))
    }
}

/// Parse the single JSON object a `--json` command printed.
pub fn json(o: &Output) -> serde_json::Value {
    let s = String::from_utf8_lossy(&o.stdout);
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not one JSON object ({e}):\n{s}"))
}

/// The public trustee set file that `escrow setup --out ts` writes.
pub const SET: &str = "ts/trustee-set.json";

/// `--json` and then `args`: the same command with its one-JSON-object output.
pub fn json_first(mut args: Vec<&str>) -> Vec<&str> {
    args.insert(0, "--json");
    args
}

/// The arguments of `escrow seal --set SET --recipient-key KEY --from FROM --to TO --mailbox
/// MAILBOX`, then `rest` (`--at`, `--id`, `--in`, ...).
pub fn seal_args<'a>(
    set: &'a str,
    recipient_key: &'a str,
    from: &'a str,
    to: &'a str,
    mailbox: &'a str,
    rest: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "seal",
        "--set",
        set,
        "--recipient-key",
        recipient_key,
        "--from",
        from,
        "--to",
        to,
        "--mailbox",
        mailbox,
    ];
    args.extend_from_slice(rest);
    args
}

/// The arguments of `escrow open --key KEY --set SET --mailbox MAILBOX`, then `rest` (`--to`,
/// `--from`, `--received`, ...).
pub fn open_args<'a>(
    key: &'a str,
    set: &'a str,
    mailbox: &'a str,
    rest: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec!["open", "--key", key, "--set", set, "--mailbox", mailbox];
    args.extend_from_slice(rest);
    args
}

/// The arguments of `escrow open` of `mailbox` with `key` under [`SET`], as `to` reading what
/// `from` sent, then `rest`.
pub fn open_from<'a>(
    key: &'a str,
    mailbox: &'a str,
    to: &'a str,
    from: &'a str,
    rest: &[&'a str],
) -> Vec<&'a str> {
    let mut args = open_args(key, SET, mailbox, &["--to", to, "--from", from]);
    args.extend_from_slice(rest);
    args
}

/// The arguments of `escrow collude --set SET` with the key share folders `shares` over
/// `mailbox`.
pub fn collude_args<'a>(set: &'a str, shares: &[&'a str], mailbox: &'a str) -> Vec<&'a str> {
    let mut args = vec!["collude", "--set", set];
    for s in shares {
        args.extend(["--share", s]);
    }
    args.extend(["--mailbox", mailbox]);
    args
}

/// The arguments of `escrow warrant new` signed with `issuer_key` for `case` and `target` over
/// `[from, until)` for the investigator key `investigator`, into `out`.
pub fn warrant_new_args<'a>(
    issuer_key: &'a str,
    case: &'a str,
    target: &'a str,
    (from, until): (&'a str, &'a str),
    investigator: &'a str,
    out: &'a str,
) -> Vec<&'a str> {
    vec![
        "warrant",
        "new",
        "--issuer-key",
        issuer_key,
        "--case",
        case,
        "--target",
        target,
        "--from",
        from,
        "--until",
        until,
        "--investigator",
        investigator,
        "--out",
        out,
    ]
}

/// The arguments of `escrow setup --trustees N --threshold K --out OUT`.
pub fn setup_args<'a>(trustees: &'a str, threshold: &'a str, out: &'a str) -> [&'a str; 7] {
    [
        "setup",
        "--trustees",
        trustees,
        "--threshold",
        threshold,
        "--out",
        out,
    ]
}

/// The arguments of `escrow policy init` with the issuer `sos.pub` and the judge `jc.pub`,
/// then `rest` (other authorities, limits), writing `out`.
pub fn policy_init_args<'a>(rest: &[&'a str], out: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "policy",
        "init",
        "--issuer",
        "sos.pub",
        "--judicial",
        "jc.pub",
    ];
    args.extend_from_slice(rest);
    args.extend(["--out", out]);
    args
}

/// The arguments of `escrow warrant cancel --key KEY --warrant WARRANT`, then `rest`.
pub fn cancel_args<'a>(key: &'a str, warrant: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["warrant", "cancel", "--key", key, "--warrant", warrant];
    args.extend_from_slice(rest);
    args
}
