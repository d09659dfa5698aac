//! The options every verb that talks to trustee nodes shares (`retrieve`, `audit`,
//! `warrant cancel`): which nodes (`--trustee URL …`, else the trustees file of `--trustees` or
//! `ESCROW_TRUSTEES`), which CA to trust (`--ca-cert`), and whether plain HTTP to a host that
//! is not loopback is allowed. `escrow trustees add` writes the trustees file.

use crate::io::Out;
use crate::{Usage, io};
use anyhow::Result;
use clap::{Args, Subcommand};
use escrow_client::files;
use escrow_client::trustees::{self, TrusteesFile};
use escrow_client::{ClientConfig, NodeClient};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Connection options.
#[derive(Args, Clone, Debug, Default)]
pub struct NetArgs {
    /// Trustees file (JSON or text: the node URLs and the CA to trust; `escrow trustees add`
    /// writes it), read when no --trustee is given.
    #[arg(long = "trustees", value_name = "FILE", env = trustees::ENV)]
    pub trustees_file: Option<PathBuf>,
    /// Trust the certificates of this PEM file for HTTPS instead of the public web roots: a
    /// private CA, or a node's self-signed certificate (made with basicConstraints CA:FALSE).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Allow plain http:// to a host that is not loopback (the traffic can be read and
    /// altered in transit). Without it such URLs are refused.
    #[arg(long)]
    pub allow_insecure_http: bool,
}

impl NetArgs {
    /// The node URLs (`--trustee`, else the trustees file) and the CA file to trust
    /// (`--ca-cert`, else the trustees file's).
    pub fn resolve(&self, given: &[String]) -> Result<(Vec<String>, Option<PathBuf>)> {
        let (ca, file) = (self.ca_cert.as_deref(), self.trustees_file.as_deref());
        trustees::resolve(given, ca, file).map_err(|e| Usage(e.to_string()).into())
    }

    /// A client configuration.
    pub fn config(&self, ca: Option<&Path>, timeout: u64, attempts: u32) -> Result<ClientConfig> {
        ClientConfig::for_command(timeout, attempts, self.allow_insecure_http, ca)
            .map_err(|e| Usage(e.to_string()).into())
    }

    /// One client per node (URLs checked: a bad or insecure URL is a usage error).
    pub fn clients(
        &self,
        given: &[String],
        timeout: u64,
        attempts: u32,
    ) -> Result<Vec<NodeClient>> {
        let (urls, ca) = self.resolve(given)?;
        let cfg = self.config(ca.as_deref(), timeout, attempts)?;
        urls.iter()
            .map(|u| NodeClient::new(u, &cfg).map_err(|e| Usage(e.to_string()).into()))
            .collect()
    }
}

/// `escrow trustees …`: the trustees file.
#[derive(Subcommand)]
pub enum TrusteesCmd {
    /// Add node URLs (and the CA to trust) to a trustees file, creating it if needed.
    Add(AddArgs),
    /// Show a trustees file.
    Show(ShowArgs),
}

#[derive(Args)]
pub struct AddArgs {
    /// Node base URLs (https://HOST:PORT, or http:// on loopback).
    #[arg(value_name = "URL", required_unless_present = "addr_file")]
    pub urls: Vec<String>,
    /// A node's address file (`trustee-node serve --addr-file FILE`), waited for up to
    /// --wait seconds: adds http://ADDR (https://ADDR with --ca-cert). Takes several files
    /// (`--addr-file node-{1,2,3}.addr`).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub addr_file: Vec<PathBuf>,
    /// Seconds to wait for each --addr-file to appear (a node writes it once it listens).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub wait: u64,
    /// The trustees file (default: $ESCROW_TRUSTEES, else ./trustees.json).
    #[arg(long, value_name = "FILE", env = trustees::ENV)]
    pub file: Option<PathBuf>,
    /// The PEM CA (or self-signed node certificate) to trust; stored as given.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Accept http:// URLs to hosts that are not loopback.
    #[arg(long)]
    pub allow_insecure_http: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The trustees file (default: $ESCROW_TRUSTEES, else ./trustees.json).
    #[arg(long, value_name = "FILE", env = trustees::ENV)]
    pub file: Option<PathBuf>,
}

pub fn trustees(c: TrusteesCmd, out: Out) -> Result<()> {
    match c {
        TrusteesCmd::Add(a) => add(a, out),
        TrusteesCmd::Show(a) => {
            let file = a.file.unwrap_or_else(|| PathBuf::from("trustees.json"));
            let f = TrusteesFile::load(&file).map_err(|e| Usage(e.to_string()))?;
            let mut text = format!("{}:\n", file.display());
            for u in &f.trustees {
                text.push_str(&format!("  {u}\n"));
            }
            if let Some(ca) = &f.ca_cert {
                text.push_str(&format!("  CA: {}\n", ca.display()));
            }
            out.emit(
                &text,
                serde_json::json!({"ok": true, "file": file, "trustees": f.trustees, "ca_cert": f.ca_cert}),
            );
            Ok(())
        }
    }
}

fn add(a: AddArgs, out: Out) -> Result<()> {
    let file = a.file.unwrap_or_else(|| PathBuf::from("trustees.json"));
    let mut f = if file.exists() {
        // Keep what is there; the stored CA path stays as written.
        let text = io::read_text(&file, "trustees file")?;
        TrusteesFile::parse(&text, Path::new(""), &file.display().to_string())
            .map_err(|e| Usage(e.to_string()))?
    } else {
        TrusteesFile::default()
    };
    let scheme = if a.ca_cert.is_some() { "https" } else { "http" };
    let mut urls = a.urls.clone();
    for f in &a.addr_file {
        let addr = files::wait_for_addr_file(f, Duration::from_secs(a.wait))?;
        urls.push(if addr.contains("://") {
            addr
        } else {
            format!("{scheme}://{addr}")
        });
    }
    for u in &urls {
        (f.add_url(u, a.allow_insecure_http, &file.display().to_string()))
            .map_err(|e| Usage(e.to_string()))?;
    }
    if let Some(ca) = a.ca_cert {
        ClientConfig::default()
            .with_ca_file(&ca)
            .map_err(|e| Usage(e.to_string()))?;
        // Absolute, so that the file can be read from any folder.
        f.ca_cert = Some(std::fs::canonicalize(&ca).unwrap_or(ca));
    }
    io::write_public(&file, format!("{}\n", f.to_json()).as_bytes())?;
    out.emit(
        &format!(
            "{}: {} trustee(s){}",
            file.display(),
            f.trustees.len(),
            f.ca_cert
                .as_ref()
                .map(|c| format!(", CA {}", c.display()))
                .unwrap_or_default()
        ),
        serde_json::json!({"ok": true, "file": file, "trustees": f.trustees, "ca_cert": f.ca_cert}),
    );
    Ok(())
}
