//! `log-witness` services for the demo and the experiments (issue 17, `docs/witness.md`), run
//! in this process on 127.0.0.1: made before the trustees' policy (their keys and URLs go into
//! it), served once the nodes run (each witness follows each node's log, its key taken from
//! the node's signed `/v1/info`; an auditing witness audits the logs under the policy with the
//! oversight key).

use anyhow::{Context, Result};
use escrow_core::audit::witness::{WitnessFile, WitnessPolicy};
use escrow_core::keys::PrivateKey;
use escrow_core::trustee::TrusteeSet;
use escrow_core::warrant::Policy;
use log_witness::Witness;
pub use log_witness::server::Spawned as ServedWitness;
use std::path::Path;
use std::sync::Arc;

/// Witnesses with their state folders and bound listeners, not serving yet.
pub struct Pending {
    items: Vec<(Witness, std::net::TcpListener, WitnessFile)>,
}

/// Make witnesses `names` (key name, auditing) with state folders in `dir`, each with a
/// listener on 127.0.0.1 (port 0).
pub fn prepare(dir: &Path, names: &[(String, bool)]) -> Result<Pending> {
    let mut items = Vec::with_capacity(names.len());
    for (i, (name, auditing)) in names.iter().enumerate() {
        let w = Witness::init(&dir.join(format!("witness-{}", i + 1)), name)?;
        let l = std::net::TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
        let file = WitnessFile {
            key: w.key().verifier_key(),
            url: Some(format!("http://{}", l.local_addr()?)),
            auditing: *auditing,
        };
        items.push((w, l, file));
    }
    Ok(Pending { items })
}

impl Pending {
    /// Where each witness listens (127.0.0.1).
    pub fn addrs(&self) -> Result<Vec<std::net::SocketAddr>> {
        self.items
            .iter()
            .map(|(_, l, _)| l.local_addr().context("witness listener"))
            .collect()
    }

    /// Name the witnesses in the policy by these URLs instead (a delay line in front of each:
    /// `escrow experiment wan`), in order.
    pub fn reached_at(mut self, urls: Vec<String>) -> Self {
        for ((_, _, f), u) in self.items.iter_mut().zip(urls) {
            f.url = Some(u);
        }
        self
    }

    /// `policy` with a `witnessing` section naming these witnesses, quorum `quorum`, an
    /// auditing witness required when one of them audits.
    pub fn policy(&self, policy: Policy, quorum: u16) -> Result<Policy> {
        let files: Vec<WitnessFile> = self.items.iter().map(|(_, _, f)| f.clone()).collect();
        let auditing = files.iter().any(|f| f.auditing);
        policy
            .with_witnessing(Some(WitnessPolicy::from_files(&files, quorum, auditing)?))
            .map_err(|r| anyhow::anyhow!("{r}"))
    }

    /// Serve every witness, following the logs of the nodes at `urls` (set `set`); an auditing
    /// witness audits them under `policy` with the oversight key `oversight`.
    pub fn serve(
        self,
        set: &TrusteeSet,
        policy: &Policy,
        urls: &[String],
        oversight: &PrivateKey,
    ) -> Result<Vec<ServedWitness>> {
        let mut infos = Vec::with_capacity(urls.len());
        for u in urls {
            let node = crate::parties::node(u)?;
            let info = node.info()?;
            info.verify(set)
                .map_err(|e| anyhow::anyhow!("{u}: /v1/info refused: {e}"))?;
            node.bind_tls(&info)
                .map_err(|e| anyhow::anyhow!("{u}: refused: {e}"))?;
            infos.push(info);
        }
        let mut served = Vec::with_capacity(self.items.len());
        for (mut w, l, file) in self.items {
            if file.auditing {
                w = w.with_auditor(Box::new(log_witness::auditing::Auditor {
                    set: set.clone(),
                    policy: policy.clone(),
                    trustees: urls.to_vec(),
                    oversight_key: Some(oversight.clone()),
                    // One attempt per request: a stopped node's URL is passed over at once.
                    client: escrow_client::ClientConfig {
                        attempts: 1,
                        ..crate::parties::client_config()
                    },
                }));
            }
            for info in &infos {
                w.add_log(&info.log_origin, &info.log_key)?;
            }
            served.push(log_witness::server::spawn(l, Arc::new(w))?);
        }
        Ok(served)
    }
}
