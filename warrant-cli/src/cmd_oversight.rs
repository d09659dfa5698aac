//! `escrow oversight …`: the oversight body's verbs. `disclose` publishes a signed disclosure
//! of a warrant (optional unsealing, e.g. after the investigation closed), which `escrow audit
//! --disclosure` verifies against the policy and the logs and shows in the public view. The
//! format and its checks are `escrow_core::audit::disclosure`; see docs/audit.md §9 and
//! docs/protocol.md §19.

use crate::io::{self, Out};
use crate::{Refused, Usage};
use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use escrow_core::audit::disclosure::Disclosure;
use escrow_core::codec::WarrantDigest;
use escrow_core::warrant::{Policy, WarrantEnvelope};
use std::path::PathBuf;

/// `escrow oversight …`.
#[derive(Subcommand)]
pub enum OversightCmd {
    /// Publish a signed disclosure of a warrant (its full text), for `escrow audit --public
    /// --disclosure FILE` to verify against the logs and show.
    Disclose(DiscloseArgs),
}

#[derive(Args)]
pub struct DiscloseArgs {
    /// The oversight private key (PKCS#8 PEM) whose public half the policy names.
    #[arg(long, value_name = "KEY")]
    pub oversight_key: PathBuf,
    /// The trustees' policy (the disclosure names its digest; the key must be one of its
    /// oversight keys).
    #[arg(long)]
    pub policy: PathBuf,
    /// The digest of the warrant envelope to disclose (as in the logs and the audit report).
    #[arg(long, value_name = "HEX")]
    pub warrant_digest: String,
    /// The warrant envelope file. Without it, the envelope is asked of the trustees
    /// (`/v1/log/envelope`, signed with the oversight key).
    #[arg(long, value_name = "FILE")]
    pub warrant: Option<PathBuf>,
    /// A trustee node's URL to ask for the envelope; repeat for several (the first that has
    /// it answers). Without it, the trustees file (--trustees or ESCROW_TRUSTEES).
    #[arg(long = "trustee")]
    pub trustees: Vec<String>,
    /// HTTPS (--ca-cert), the trustees file, plain HTTP to non-loopback hosts.
    #[command(flatten)]
    pub net: crate::net::NetArgs,
    /// Why it is disclosed (shown with it), e.g. "investigation closed".
    #[arg(long, default_value = "")]
    pub statement: String,
    /// Where to write the disclosure (`-`: standard output).
    #[arg(long)]
    pub out: PathBuf,
    /// Network timeout per request, seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// `escrow oversight …`.
pub fn oversight(c: OversightCmd, out: Out) -> Result<()> {
    match c {
        OversightCmd::Disclose(a) => disclose(a, out),
    }
}

fn disclose(a: DiscloseArgs, out: Out) -> Result<()> {
    let digest = WarrantDigest::from_hex(&a.warrant_digest)
        .ok_or_else(|| Usage("--warrant-digest: expected 64 lower-case hex digits".into()))?;
    let policy = Policy::from_json(&io::read_text(&a.policy, "policy")?)
        .map_err(|e| anyhow!("{}: {e}", a.policy.display()))?;
    let key = crate::cmd_keys::load_private(&a.oversight_key)?;
    let text = match &a.warrant {
        Some(p) => io::read_text(p, "warrant")?,
        None => {
            let clients = a.net.clients(&a.trustees, a.timeout, 2)?;
            escrow_client::first_envelope(&clients, &digest.digest(), &key).map_err(|tried| {
                anyhow!(
                    "no trustee served warrant {}: {}",
                    digest.short(),
                    tried.join("; ")
                )
            })?
        }
    };
    let env = WarrantEnvelope::from_json(&text).map_err(|e| anyhow!("the warrant: {e}"))?;
    if env.digest() != digest {
        return Err(Refused(format!(
            "the warrant's digest is {}, not the --warrant-digest given",
            env.digest()
        ))
        .into());
    }
    let d = Disclosure::sign(&key, &policy, &env, io::now(), &a.statement)
        .map_err(|e| Refused(format!("cannot disclose: {e}")))?;
    io::write_output(&a.out, (d.to_json_pretty() + "\n").as_bytes())?;
    out.emit(
        &format!(
            "disclosure of warrant {} signed by oversight key {}; wrote {}",
            digest.short(),
            d.key_id.short(),
            a.out.display()
        ),
        serde_json::json!({
            "ok": true,
            "warrant_digest": digest,
            "key_id": d.key_id,
            "out": a.out.display().to_string(),
        }),
    );
    Ok(())
}
