//! Helpers for end-to-end tests: find the workspace's binaries, run `escrow` as a user would,
//! and start, stop, kill and restart real `trustee-node` processes on 127.0.0.1 (port 0) with
//! their own temporary state folders.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// Run `escrow` with stdin.
pub fn escrow_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut c = Command::new(bin("escrow"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn escrow");
    // The child may exit before reading its input (bad arguments): a broken pipe is fine.
    let _ = c.stdin.take().unwrap().write_all(input);
    c.wait_with_output().unwrap()
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
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(code), "output:\n{all}");
    assert!(
        all.contains(needle),
        "expected {needle:?} in output:\n{all}"
    );
    assert!(!all.contains("panicked"), "panic in output:\n{all}");
    all
}

/// A running `trustee-node serve` process.
pub struct Node {
    pub index: u16,
    pub state: PathBuf,
    pub addr: String,
    child: Option<Child>,
    extra_env: Vec<(String, String)>,
}

impl Node {
    /// Start `trustee-node serve` on 127.0.0.1:0 and wait until it has written its address.
    pub fn start(index: u16, state: &Path, extra_env: &[(&str, &str)]) -> Node {
        let mut n = Node {
            index,
            state: state.to_path_buf(),
            addr: String::new(),
            child: None,
            extra_env: extra_env
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        };
        n.spawn();
        n
    }

    fn spawn(&mut self) {
        let addr_file = self.state.with_extension("addr");
        let _ = std::fs::remove_file(&addr_file);
        let log = std::fs::File::create(self.state.with_extension("log")).unwrap();
        let mut cmd = Command::new(bin("trustee-node"));
        cmd.args(["serve", "--state"])
            .arg(&self.state)
            .args(["--listen", "127.0.0.1:0", "--addr-file"])
            .arg(&addr_file)
            .env("TRUSTEE_PASSPHRASE", TEST_PASSPHRASE)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn trustee-node");
        self.child = Some(child);
        let t0 = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(&addr_file) {
                let s = s.trim().to_string();
                if !s.is_empty() {
                    self.addr = s;
                    return;
                }
            }
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                panic!(
                    "trustee-node {} exited early ({st}):\n{}",
                    self.index,
                    std::fs::read_to_string(self.state.with_extension("log")).unwrap_or_default()
                );
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "trustee-node {} did not start",
                self.index
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        if self.addr.starts_with("http") {
            self.addr.clone()
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// Graceful stop (SIGTERM), waiting for exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
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
