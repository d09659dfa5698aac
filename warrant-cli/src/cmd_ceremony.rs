//! `escrow ceremony dkg`: relay a distributed key generation among trustee nodes made with
//! `trustee-node init --dkg`; `escrow ceremony refresh`: relay a proactive refresh of the set
//! they serve (the logic is `escrow_client::ceremony`).

use crate::io::{self, Out};
use crate::{Refused, Usage, cmd_keys, net::NetArgs};
use anyhow::Result;
use clap::{Args, Subcommand};
use escrow_client::ceremony::{self, CeremonyError, Kind};
use std::path::PathBuf;

/// `escrow ceremony …`.
#[derive(Subcommand)]
pub enum CeremonyCmd {
    /// Key generation without a dealer: the nodes make the set together; this only relays.
    Dkg(DkgArgs),
    /// Proactive refresh: every trustee gets a new share of the same key (the escrow key and
    /// every message stay), the old shares are destroyed and that is logged; writes the new
    /// set file (it replaces --set unless --out is given).
    Refresh(RefreshArgs),
    /// Reshare to new trustees (Desmedt–Jajodia): at least k old trustees deal sub-shares of
    /// their shares to the new trustees' nodes (made with `trustee-node init --dkg
    /// --reshare-of`); the new set has the same escrow key (every message stays readable),
    /// its own threshold and trustees, and names the old set in its lineage; the old
    /// trustees destroy their shares and log it. A changed threshold must be allowed by the
    /// nodes' policy (custody.reshare_thresholds).
    Reshare(ReshareArgs),
}

#[derive(Args)]
pub struct ReshareArgs {
    /// The set being reshared.
    #[arg(long, default_value = "trustee-set.json")]
    pub set: PathBuf,
    /// An old trustee's node that deals (repeat; at least the old threshold; any order).
    #[arg(long = "from-trustee", value_name = "URL", required = true)]
    pub from: Vec<String>,
    /// A new trustee's node, in new trustee order (repeat).
    #[arg(long = "to-trustee", value_name = "URL", required = true)]
    pub to: Vec<String>,
    /// The new set's threshold k'.
    #[arg(long)]
    pub threshold: u16,
    /// The coordinator's private key (one of every node's coordinator keys).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Where to write the new set.
    #[arg(long)]
    pub out: PathBuf,
    /// Where to write the reshare's certificate (default:
    /// reshare-certificate-<new set id, 16 hex>.json beside --out).
    #[arg(long)]
    pub certificate: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
}

#[derive(Args)]
pub struct RefreshArgs {
    /// The set being refreshed.
    #[arg(long, default_value = "trustee-set.json")]
    pub set: PathBuf,
    /// Every trustee's node, in trustee order (repeat).
    #[arg(long = "trustee", value_name = "URL", required = true)]
    pub trustees: Vec<String>,
    /// The coordinator's private key (one of the nodes' coordinator keys).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Where to write the refreshed set (default: replace --set once every node finished).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where to write the refresh's certificate (default:
    /// refresh-certificate-<new set id, 16 hex>.json beside the set).
    #[arg(long)]
    pub certificate: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
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
    let a = match c {
        CeremonyCmd::Dkg(a) => a,
        CeremonyCmd::Refresh(a) => return refresh(a, out),
        CeremonyCmd::Reshare(a) => return reshare(a, out),
    };
    let cert_path =
        (a.certificate.clone()).unwrap_or_else(|| a.out.with_file_name("keygen-certificate.json"));
    io::refuse_existing(&a.out)?;
    io::refuse_existing(&cert_path)?;
    let key = cmd_keys::load_private(&a.key)?;
    let nodes = a.net.clients(&a.trustees, 60, 1)?;
    let o = outcome(ceremony::run_dkg(&nodes, a.threshold, &key))?;
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
        o.to_json(Kind::Dkg, None, &a.out, &cert_path),
    );
    Ok(())
}

/// A ceremony's result, or the error with its exit code: bad parameters are usage (2), a
/// fault the messages show is a refusal (3), anything else an error (1).
fn outcome(r: Result<ceremony::Outcome, CeremonyError>) -> Result<ceremony::Outcome> {
    match r {
        Ok(o) => Ok(o),
        Err(CeremonyError::Dkg(escrow_core::dkg::DkgError::InvalidParams(e))) => {
            Err(Usage(e).into())
        }
        Err(e @ CeremonyError::Dkg(_)) => Err(Refused(e.to_string()).into()),
        Err(e) if e.policy_refusal() => Err(Refused(e.to_string()).into()),
        Err(e) => Err(e.into()),
    }
}

fn refresh(a: RefreshArgs, out: Out) -> Result<()> {
    let old = escrow_core::trustee::TrusteeSet::from_json(&io::read_text(&a.set, "trustee set")?)?;
    if let Some(p) = &a.out {
        io::refuse_existing(p)?;
    }
    if let Some(p) = &a.certificate {
        io::refuse_existing(p)?;
    }
    let key = cmd_keys::load_private(&a.key)?;
    let nodes = a.net.clients(&a.trustees, 60, 1)?;
    let o = outcome(ceremony::run_refresh(&nodes, &old, &key))?;
    let set_path = a.out.clone().unwrap_or_else(|| a.set.clone());
    let cert_path = (a.certificate.clone())
        .unwrap_or_else(|| set_path.with_file_name(o.certificate_file_name(Kind::Refresh)));
    io::write_public(&cert_path, o.certificate.to_json().as_bytes())?;
    io::write_public(&set_path, o.set.to_json().as_bytes())?;
    out.emit(
        &format!(
            "refresh finished: set {} is now set {} (same escrow key {}, {}-of-{}, every share new; each trustee destroyed its old share and logged it); wrote {} and {}",
            old.id().short(),
            o.set.id().short(),
            o.set.escrow_key().to_hex(),
            o.set.threshold(),
            o.set.trustees(),
            set_path.display(),
            cert_path.display()
        ),
        o.to_json(Kind::Refresh, Some(&old), &set_path, &cert_path),
    );
    Ok(())
}

fn reshare(a: ReshareArgs, out: Out) -> Result<()> {
    let old = escrow_core::trustee::TrusteeSet::from_json(&io::read_text(&a.set, "trustee set")?)?;
    io::refuse_existing(&a.out)?;
    if let Some(p) = &a.certificate {
        io::refuse_existing(p)?;
    }
    let key = cmd_keys::load_private(&a.key)?;
    let from = a.net.clients(&a.from, 60, 1)?;
    let to = a.net.clients(&a.to, 60, 1)?;
    let o = outcome(ceremony::run_reshare(&from, &to, &old, a.threshold, &key))?;
    let cert_path = (a.certificate.clone())
        .unwrap_or_else(|| a.out.with_file_name(o.certificate_file_name(Kind::Reshare)));
    io::write_public(&cert_path, o.certificate.to_json().as_bytes())?;
    io::write_public(&a.out, o.set.to_json().as_bytes())?;
    let dealers = o.dealers();
    out.emit(
        &format!(
            "reshare finished: set {} ({}-of-{}) is now set {} ({}-of-{}, same escrow key {}; new trustees, each checked its sub-shares against the dealers' commitments); old trustees {:?} destroyed their shares and logged it; wrote {} and {}",
            old.id().short(),
            old.threshold(),
            old.trustees(),
            o.set.id().short(),
            o.set.threshold(),
            o.set.trustees(),
            o.set.escrow_key().to_hex(),
            dealers,
            a.out.display(),
            cert_path.display()
        ),
        o.to_json(Kind::Reshare, Some(&old), &a.out, &cert_path),
    );
    Ok(())
}
