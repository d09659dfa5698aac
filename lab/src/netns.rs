//! Network namespaces for `escrow experiment wan`: one namespace per trustee node, joined to
//! this (the investigator's) namespace by a veth pair, with addresses that exist only inside
//! the pair — 10.X.i.1 on this side, 10.X.i.2 in namespace i, X picked per run — and removed
//! again when [`Namespaces`] is dropped, also after an error.
//!
//! Needs root (`ip netns add`); [`available`] says whether this process may create them.

use anyhow::{Context, Result, bail, ensure};
use std::process::{Command, Stdio};

/// The namespaces of one run.
pub struct Namespaces {
    /// Per node i (1-based, in order): (namespace name, host-side veth, address inside).
    nodes: Vec<(String, String, String)>,
    /// This side's address of node 1's pair: every namespace's default route leads to this
    /// namespace, so a service here listening on it is reachable from every node.
    hub: String,
}

/// Why namespaces cannot be used here, or `None` if they can.
pub fn unavailable() -> Option<String> {
    let euid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(str::to_string))
        })
        .and_then(|u| u.parse::<u32>().ok());
    if euid != Some(0) {
        return Some("not running as root (network namespaces need CAP_SYS_ADMIN)".into());
    }
    match Command::new("ip")
        .args(["netns", "list"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!("`ip netns list` failed ({s})")),
        Err(e) => Some(format!("the `ip` command (iproute2) cannot be run: {e}")),
    }
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run ip {}", args.join(" ")))?;
    ensure!(
        out.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

impl Namespaces {
    /// Create `n` namespaces (n ≤ 250), each with its veth pair up and addressed.
    pub fn create(n: u16) -> Result<Self> {
        ensure!(
            (1..=250).contains(&n),
            "at most 250 namespaces per run, asked {n}"
        );
        if let Some(why) = unavailable() {
            bail!("cannot create network namespaces: {why}");
        }
        let pid = std::process::id();
        let octet = 200 + pid % 50;
        let tag = pid % 10_000;
        let mut made = Namespaces {
            nodes: Vec::new(),
            hub: format!("10.{octet}.1.1"),
        };
        for i in 1..=n {
            let ns = format!("escrow-wan-{pid}-{i}");
            // interface names are at most 15 bytes
            let host = format!("ew{tag}h{i}");
            let inner = format!("ew{tag}n{i}");
            let host_addr = format!("10.{octet}.{i}.1");
            let inner_addr = format!("10.{octet}.{i}.2");
            ip(&["netns", "add", &ns])?;
            made.nodes
                .push((ns.clone(), host.clone(), inner_addr.clone()));
            ip(&["link", "add", &host, "type", "veth", "peer", "name", &inner])?;
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["addr", "add", &format!("{host_addr}/30"), "dev", &host])?;
            ip(&["link", "set", &host, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{inner_addr}/30"),
                "dev",
                &inner,
            ])?;
            ip(&["-n", &ns, "link", "set", &inner, "up"])?;
            // Addresses of this namespace (the hub's among them) are reached through the
            // pair; no forwarding between namespaces is enabled.
            ip(&["-n", &ns, "route", "add", "default", "via", &host_addr])?;
        }
        Ok(made)
    }

    /// Namespace name of node `i` (1-based).
    pub fn name(&self, i: u16) -> Option<&str> {
        self.nodes
            .get(usize::from(i).checked_sub(1)?)
            .map(|(ns, _, _)| ns.as_str())
    }

    /// An address of this namespace every node can reach (the witnesses' delay lines listen
    /// on it).
    pub fn hub(&self) -> &str {
        &self.hub
    }

    /// The address node `i` listens on inside its namespace.
    pub fn addr(&self, i: u16) -> Option<&str> {
        self.nodes
            .get(usize::from(i).checked_sub(1)?)
            .map(|(_, _, a)| a.as_str())
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for (ns, host, _) in self.nodes.drain(..) {
            // deleting the namespace deletes its end of the pair, and with it this end
            let _ = ip(&["netns", "del", &ns]);
            let _ = ip(&["link", "del", &host]);
        }
    }
}
