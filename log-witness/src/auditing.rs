//! The auditing witness (issue 17, `docs/witness.md` §Auditing witness): before it cosigns a
//! trustee's checkpoint, it audits that trustee's log with the auditor's rules
//! (`escrow_client::auditor`, every decision in `escrow_core::audit::judge`) and cosigns only if
//! every release is justified under the policy; it then adds a signed statement saying so.
//!
//! The audit is incremental (`docs/witness.md` §Incremental audit): what a round judged is
//! carried to the next ([`escrow_core::audit::carry::LogCarry`], kept per log in the witness's
//! state), so a round reads and judges only the entries after the last judged checkpoint.

use escrow_client::ClientConfig;
use escrow_client::auditor::{AuditConfig, Carries, Quiet, audit_resuming};
use escrow_core::audit::carry::LogCarry;
use escrow_core::codec::Digest32;
use escrow_core::keys::PrivateKey;
use escrow_core::trustee::TrusteeSet;
use escrow_core::warrant::Policy;

/// A round's verdict when every release was justified.
#[derive(Clone, Debug)]
pub struct Judged {
    /// The policy every release was justified under.
    pub policy: Digest32,
    /// What the next round resumes from (the log judged up to its served checkpoint).
    pub carry: Option<LogCarry>,
    /// Log entries read (and judged) in this round.
    pub entries_read: u64,
}

/// What judges a checkpoint before the witness cosigns it.
pub trait Audit: Send + Sync + core::fmt::Debug {
    /// The digest of the policy releases are judged under (a carry judged under another one is
    /// not resumed from).
    fn policy_digest(&self) -> Digest32;

    /// `Ok` when every release in the log `origin` up to the signed checkpoint `note` was
    /// justified under the policy; `Err(findings)` otherwise (or when the log could not be
    /// audited: fail closed). `carried`: what the last round of this log left; only the entries
    /// after it are read, and the log served must be consistent with it.
    fn judge(&self, origin: &str, note: &str, carried: Option<LogCarry>) -> Result<Judged, String>;
}

/// The auditor's rules over the trustees' logs, read over HTTP.
pub struct Auditor {
    /// The trustee set (every node's signed `/v1/info` is checked against it).
    pub set: TrusteeSet,
    /// The policy releases are judged under.
    pub policy: Policy,
    /// The trustees' URLs (the witness finds the one whose log origin is being cosigned).
    pub trustees: Vec<String>,
    /// An oversight key of the policy: the warrants are read with it (the nodes disclose them
    /// only to such a key, or open their sealed copies in the log).
    pub oversight_key: Option<PrivateKey>,
    /// Timeouts and retries of every request.
    pub client: ClientConfig,
}

impl core::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Auditor {{ set: {}, trustees: {:?} }}",
            self.set.id().short(),
            self.trustees
        )
    }
}

impl Auditor {
    /// The URL of the trustee whose verified `/v1/info` names log origin `origin`.
    fn url_of(&self, origin: &str) -> Result<String, String> {
        for url in &self.trustees {
            let Ok(c) = escrow_client::NodeClient::new(url, &self.client) else {
                continue;
            };
            if let Ok(info) = c.info()
                && info.verify(&self.set).is_ok()
                && info.log_origin == origin
            {
                return Ok(url.clone());
            }
        }
        Err(format!(
            "no trustee of the set answers for log {origin:?}: the log could not be audited"
        ))
    }
}

impl Audit for Auditor {
    fn policy_digest(&self) -> Digest32 {
        self.policy.digest()
    }

    fn judge(&self, origin: &str, note: &str, carried: Option<LogCarry>) -> Result<Judged, String> {
        let url = self.url_of(origin)?;
        let judged_before = carried.as_ref().map_or(0, |c| c.head.size);
        let mut carries = Carries::new();
        if let Some(c) = carried {
            carries.insert(origin.to_string(), c);
        }
        let urls = [url];
        // The offered checkpoint is passed as one "seen elsewhere": a log served now that is
        // not an extension of it is a split-view finding.
        let seen = [(
            "the checkpoint offered for cosigning".to_string(),
            note.to_string(),
        )];
        let report = audit_resuming(
            &AuditConfig {
                set: &self.set,
                policy: Some(&self.policy),
                urls: &urls,
                client: &self.client,
                state: None,
                documents: Default::default(),
                oversight_key: self.oversight_key.as_ref(),
                receipts: &[],
                checkpoints: &seen,
                keygen_certificate: None,
            },
            &mut carries,
            Some(note),
            &mut Quiet,
        )
        .map_err(|e| e.to_string())?;
        if let Some(why) = report.trustees.iter().find_map(|t| t.not_audited.clone()) {
            return Err(format!("the log could not be audited: {why}"));
        }
        // Fail closed: a release this witness could not judge (its warrant not disclosed to
        // it: no oversight key) is not a justified one, so it is a reason to refuse too
        // (`FindingKind::blocks_justification`, the auditor's own rule).
        if report.every_release_justified() {
            let entries_read = report
                .trustees
                .iter()
                .map(|t| t.entries)
                .sum::<u64>()
                .saturating_sub(judged_before);
            return Ok(Judged {
                policy: self.policy.digest(),
                carry: carries.remove(origin),
                entries_read,
            });
        }
        let errors: Vec<String> = report
            .blocking_findings()
            .map(|f| match f.entry {
                Some(e) => format!("{} (entry {e}): {}", f.code.code(), f.message),
                None => format!("{}: {}", f.code.code(), f.message),
            })
            .collect();
        Err(errors.join("; "))
    }
}
