//! `escrow setup`: deal a k-of-n trustee set with a dealer.

use crate::io::{self, Out};
use anyhow::{Context, Result};
use clap::Args;
use escrow_client::files::{self, SET_FILE, SHARE_FILE};
use escrow_core::trustee::{self, KeyShare, TrusteeSet};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct SetupArgs {
    /// Number of trustees n (1..=255).
    #[arg(long, value_name = "N")]
    pub trustees: u64,
    /// Threshold k: how many trustees together can open any message (1..=n).
    #[arg(long, value_name = "K")]
    pub threshold: u64,
    /// Output directory (created; must not already hold a trustee set).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Organisation running the trustees: once for all, or once per trustee in order
    /// (`unspecified` if only --jurisdiction is given; neither: the set names no holders).
    #[arg(long, value_name = "ORG")]
    pub organisation: Vec<String>,
    /// Jurisdiction of the trustees (e.g. `DE`): once for all, or once per trustee.
    #[arg(long, value_name = "JURISDICTION")]
    pub jurisdiction: Vec<String>,
    /// Refuse a set that breaks this policy's custody rule (custody.*_below_threshold).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

pub fn setup(a: SetupArgs, out: Out) -> Result<()> {
    let (n, k) = trustee::check_parameters(a.trustees, a.threshold)
        .map_err(|e| crate::Usage(e.to_string()))?;
    let set_path = a.out.join(SET_FILE);
    io::refuse_existing(&set_path)?;
    for i in 1..=a.trustees {
        io::refuse_existing(&a.out.join(format!("trustee-{i}")))?;
    }
    let holders = trustee::Holder::for_trustees(n, &a.organisation, &a.jurisdiction)
        .map_err(|e| crate::Usage(e.to_string()))?;
    if let Some(p) = &a.policy {
        escrow_core::warrant::Policy::from_json(&io::read_text(p, "policy")?)?
            .check_holders(k, holders.as_deref())
            .map_err(|e| crate::Refused(e.to_string()))?;
    }
    let dealing = trustee::deal_for(
        a.trustees,
        a.threshold,
        holders.as_deref(),
        &mut rand::rng(),
    )?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    // The set file last: its presence marks a complete setup.
    files::write_set_folder(&a.out, &dealing.set, &dealing.secrets)?;
    let set = &dealing.set;
    out.emit(
        &format!(
            "dealt a {k}-of-{n} trustee set\n  set id      {id}\n  escrow key  {y}\n  public      {p}\n  trustees    {dir}/trustee-1 .. trustee-{n} (key share and signing key, mode 0600)\n\
             The dealer's secret was erased from memory and never written. Give each trustee its folder.",
            k = set.threshold(),
            n = set.trustees(),
            id = set.id(),
            y = set.escrow_key().to_hex(),
            p = set_path.display(),
            dir = a.out.display(),
        ),
        serde_json::json!({
            "ok": true,
            "set_id": set.id().to_hex(),
            "threshold": set.threshold(),
            "trustees": set.trustees(),
            "escrow_key": set.escrow_key().to_hex(),
            "set_file": set_path,
            "trustee_dirs": (1..=set.trustees()).map(|i| a.out.join(format!("trustee-{i}"))).collect::<Vec<_>>(),
        }),
    );
    Ok(())
}

/// Load and check `trustee-set.json`.
pub fn load_set(path: &Path) -> Result<TrusteeSet> {
    let s = io::read_text(path, "trustee set")?;
    TrusteeSet::from_json(&s)
        .with_context(|| format!("{} is not a valid trustee set", path.display()))
}

/// Load a trustee folder's key share (not yet verified).
pub fn load_share(dir: &Path) -> Result<KeyShare> {
    let p = if dir.is_dir() {
        dir.join(SHARE_FILE)
    } else {
        dir.to_path_buf()
    };
    let s = zeroize::Zeroizing::new(io::read_text(&p, "key share")?);
    KeyShare::from_json(&s).with_context(|| format!("{} is not a valid key share", p.display()))
}
