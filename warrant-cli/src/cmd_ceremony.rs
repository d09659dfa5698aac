//! `escrow ceremony dkg`: relay a distributed key generation among trustee nodes made with
//! `trustee-node init --dkg` (the logic is `escrow_client::ceremony`).

use crate::io::{self, Out};
use crate::{Refused, Usage, cmd_keys, net::NetArgs};
use anyhow::Result;
use clap::{Args, Subcommand};
use escrow_client::ceremony::{self, CeremonyError};
use std::path::PathBuf;

/// `escrow ceremony …`.
#[derive(Subcommand)]
pub enum CeremonyCmd {
    /// Key generation without a dealer: the nodes make the set together; this only relays.
    Dkg(DkgArgs),
}

#[derive(Args)]
pub struct DkgArgs {
    /// Threshold k.
    #[arg(long)]
    pub threshold: u16,
    /// The nodes, in trustee order (repeat; at least k).
    #[arg(long = "trustee", value_name = "URL", required = true)]
    pub trustees: Vec<String>,
    /// The coordinator's private key (its public key was given to `init --dkg --coordinator-key`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Where to write the trustee set.
    #[arg(long, default_value = "trustee-set.json")]
    pub out: PathBuf,
    /// Where to write the certificate (default: keygen-certificate.json beside --out).
    #[arg(long)]
    pub certificate: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
}

pub fn ceremony(c: CeremonyCmd, out: Out) -> Result<()> {
    let CeremonyCmd::Dkg(a) = c;
    let cert_path = a
        .certificate
        .clone()
        .unwrap_or_else(|| a.out.with_file_name("keygen-certificate.json"));
    io::refuse_existing(&a.out)?;
    io::refuse_existing(&cert_path)?;
    let key = cmd_keys::load_private(&a.key)?;
    let nodes = a.net.clients(&a.trustees, 60, 1)?;
    let o = match ceremony::run_dkg(&nodes, a.threshold, &key) {
        Ok(o) => o,
        Err(CeremonyError::Dkg(escrow_core::dkg::DkgError::InvalidParams(e))) => {
            return Err(Usage(e).into());
        }
        Err(e @ CeremonyError::Dkg(_)) => return Err(Refused(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    io::write_public(&a.out, o.set.to_json().as_bytes())?;
    io::write_public(&cert_path, o.certificate.to_json().as_bytes())?;
    out.emit(
        &format!(
            "key generation finished: {}-of-{} set {} (escrow key {}), certified by every trustee; wrote {} and {}",
            o.set.threshold(),
            o.set.trustees(),
            o.set.id().short(),
            o.set.escrow_key().to_hex(),
            a.out.display(),
            cert_path.display()
        ),
        serde_json::json!({
            "ok": true,
            "set_id": o.set.id(),
            "threshold": o.set.threshold(),
            "trustees": o.set.trustees(),
            "transcript": o.certificate.transcript,
            "out": a.out,
            "certificate": cert_path,
            "bytes_sent": o.bytes.0,
            "bytes_received": o.bytes.1,
        }),
    );
    Ok(())
}
