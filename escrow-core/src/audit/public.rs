//! The public view of an audit (issue 16; `docs/audit.md` §9): statistics only, built from the
//! same logs as the oversight view. Counts per issuing authority, per period, per trustee and
//! per refusal reason, and warrants by their envelope digest and salted case-number digest —
//! never an account, a label, a warrant id or any text of an envelope.
//!
//! The case-number digest ([`case_digest`]) is salted with a secret only an oversight key
//! holder can derive ([`public_salt`]): case references are low-entropy ("OP-2026-0042"), so an
//! unsalted or publicly salted digest could be reversed by trying every plausible reference.
//! `docs/protocol.md` §18 specifies both; `tests/vectors/public-view.json` is their
//! known-answer vector.

use super::disclosure::DisclosureView;
use super::html::esc;
use super::judge::{FindingKind, Severity};
use super::report::{
    AuditReport, LogStatus, RefusalCount, authority_cells, finding_cells, index_name, log_counts,
    message_cells, page_start, policy_short, readable_tables_html, text_heading, timeline_svg,
};
use crate::codec::{Digest32, SetId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Format version of [`PublicReport`].
/// Version 2 adds `disclosures`.
pub const PUBLIC_REPORT_VERSION: u32 = 2;

pub use super::salt::{CASE_DOMAIN, SALT_INFO, case_digest, public_salt};

/// One trustee's log in the public view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicTrustee {
    /// Trustee index (absent when its `/v1/info` could not be read).
    pub trustee: Option<u16>,
    /// `verified`, `failed` or `not-audited`.
    pub status: String,
    /// Entries read.
    pub entries: u64,
    /// Release entries.
    pub releases: u64,
    /// Refusal entries.
    pub refusals: u64,
    /// Cancellation entries.
    pub cancellations: u64,
    /// Size of the verified checkpoint.
    pub checkpoint_size: Option<u64>,
}

/// One warrant in the public view: digests and counts only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicWarrant {
    /// Envelope digest (already in every log entry that names it).
    pub digest: crate::codec::WarrantDigest,
    /// Salted case-number digest ([`case_digest`]); absent without the oversight key and the
    /// warrant's text.
    pub case: Option<Digest32>,
    /// Issuing authority (if the warrant's text was known).
    pub authority: Option<String>,
    /// Warrant type (if known).
    pub warrant_type: Option<String>,
    /// Distinct messages released by at least one trustee.
    pub messages_released: u64,
    /// Distinct messages released by at least k trustees.
    pub messages_readable: u64,
    /// Distinct messages with an unjustified release.
    pub messages_unjustified: u64,
    /// Release entries.
    pub release_entries: u64,
    /// Some trustee logged its cancellation.
    pub cancelled: bool,
}

/// Per-trustee counts in the public view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerTrustee {
    /// Release entries.
    pub release_entries: u64,
    /// Unjustified release entries.
    pub unjustified_entries: u64,
    /// Refusal entries.
    pub refusals: u64,
}

/// A group of findings without its message text (which may quote a warrant's bounds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicFindingGroup {
    /// Severity.
    pub severity: Severity,
    /// Kind.
    pub code: FindingKind,
    /// Trustee.
    pub trustee: Option<u16>,
    /// Findings in the group.
    pub count: u64,
}

/// The public view (`escrow audit --public`): what a citizen may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicReport {
    /// [`PUBLIC_REPORT_VERSION`].
    pub version: u32,
    /// Always `public`.
    pub view: String,
    /// Trustee-set id.
    pub set_id: SetId,
    /// Threshold k.
    pub threshold: u16,
    /// Trustees n.
    pub trustees_total: u16,
    /// When the audit ran.
    pub time: Timestamp,
    /// Digest of the policy judged under.
    pub policy: Option<Digest32>,
    /// Logs audited.
    pub logs_audited: u16,
    /// Fewer than every log audited: every count is a lower bound.
    pub lower_bounds: bool,
    /// Every trustee's log.
    pub trustees: Vec<PublicTrustee>,
    /// Messages made readable.
    pub messages_readable: u64,
    /// Distinct messages released.
    pub messages_released: u64,
    /// Release entries.
    pub release_entries: u64,
    /// Distinct messages with an unjustified release.
    pub messages_unjustified: u64,
    /// Unjustified release entries.
    pub unjustified_entries: u64,
    /// Readable messages per issuing authority.
    pub per_authority: BTreeMap<String, u64>,
    /// Readable messages per month.
    pub per_period: BTreeMap<String, u64>,
    /// Per trustee index.
    pub per_trustee: BTreeMap<u16, PerTrustee>,
    /// Refusal entries per reason code.
    pub refusals_by_reason: Vec<RefusalCount>,
    /// Warrants by digest, with their case-number digest.
    pub warrants: Vec<PublicWarrant>,
    /// Findings by kind and trustee (counts only).
    pub findings: Vec<PublicFindingGroup>,
    /// Release headers the oversight view opened and re-checked (0 without its key).
    pub oversight_headers_checked: u64,
    /// Of them, outside their warrant's scope.
    pub oversight_failed: u64,
    /// What the audit could not show.
    pub not_checked: Vec<String>,
    /// Warrants the oversight body chose to disclose (signed by its key, found in the logs):
    /// the only warrant text the public view shows.
    pub disclosures: Vec<DisclosureView>,
}

impl PublicReport {
    /// The public view of `r`.
    pub fn of(r: &AuditReport) -> Self {
        let mut per_trustee: BTreeMap<u16, PerTrustee> = BTreeMap::new();
        for x in r.releases.iter() {
            let t = per_trustee.entry(x.trustee).or_default();
            t.release_entries += 1;
            if !x.justified {
                t.unjustified_entries += 1;
            }
        }
        for x in &r.refusals {
            per_trustee.entry(x.trustee).or_default().refusals += 1;
        }
        let mut not_checked: Vec<String> = r
            .what_is_not_checked
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        not_checked.extend(r.oversight.not_checked.iter().cloned());
        PublicReport {
            version: PUBLIC_REPORT_VERSION,
            view: "public".into(),
            set_id: r.set_id,
            threshold: r.threshold,
            trustees_total: r.trustees_total,
            time: r.time,
            policy: r.policy,
            logs_audited: r.logs_audited,
            lower_bounds: r.lower_bounds,
            trustees: r
                .trustees
                .iter()
                .map(|t| PublicTrustee {
                    trustee: t.trustee,
                    status: match t.status {
                        LogStatus::Verified => "verified",
                        LogStatus::Failed => "failed",
                        LogStatus::NotAudited => "not-audited",
                    }
                    .into(),
                    entries: t.entries,
                    releases: t.releases,
                    refusals: t.refusals,
                    cancellations: t.cancellations,
                    checkpoint_size: t.checkpoint.map(|c| c.size),
                })
                .collect(),
            messages_readable: r.readable.len() as u64,
            messages_released: r.warrants.iter().map(|w| w.messages_released).sum(),
            release_entries: r.releases.len() as u64,
            messages_unjustified: r.warrants.iter().map(|w| w.messages_unjustified).sum(),
            unjustified_entries: r.warrants.iter().map(|w| w.unjustified).sum(),
            per_authority: r.per_authority.clone(),
            per_period: r.per_period.clone(),
            per_trustee,
            refusals_by_reason: r.refusals_by_reason.clone(),
            warrants: r
                .warrants
                .iter()
                .map(|w| PublicWarrant {
                    digest: w.digest,
                    case: w.case_digest,
                    authority: w.authority.clone(),
                    warrant_type: w.warrant_type.clone(),
                    messages_released: w.messages_released,
                    messages_readable: w.messages_readable,
                    messages_unjustified: w.messages_unjustified,
                    release_entries: w.releases,
                    cancelled: w.cancelled,
                })
                .collect(),
            findings: r
                .finding_groups
                .iter()
                .map(|g| PublicFindingGroup {
                    severity: g.severity,
                    code: g.code,
                    trustee: g.trustee,
                    count: g.count,
                })
                .collect(),
            oversight_headers_checked: r.oversight.headers_checked,
            oversight_failed: r.oversight.failed,
            not_checked,
            disclosures: r.disclosures.clone(),
        }
    }

    /// The public view as text.
    pub fn to_text(&self) -> String {
        use std::fmt::Write as _;
        let al = if self.lower_bounds { "at least " } else { "" };
        let mut s = String::new();
        let set = (self.set_id, self.threshold, self.trustees_total, self.time);
        let lower = " — every count below is a LOWER BOUND";
        text_heading(
            &mut s,
            "public ",
            set,
            (self.logs_audited, self.lower_bounds),
            lower,
        );
        for t in &self.trustees {
            let _ = writeln!(
                s,
                "  trustee {}: {}; {}",
                index_name(t.trustee),
                t.status,
                log_counts(t.entries, t.releases, t.refusals, t.cancellations)
            );
        }
        let _ = writeln!(
            s,
            "messages: {al}{} made readable, {al}{} released ({} release entries), {} unjustified ({} entries)",
            self.messages_readable,
            self.messages_released,
            self.release_entries,
            self.messages_unjustified,
            self.unjustified_entries
        );
        for (a, n) in &self.per_authority {
            let _ = writeln!(s, "  readable by authority: {a}: {al}{n}");
        }
        for (p, n) in &self.per_period {
            let _ = writeln!(s, "  readable by period: {p}: {al}{n}");
        }
        for (t, c) in &self.per_trustee {
            let _ = writeln!(
                s,
                "  trustee {t}: {} release entries ({} unjustified), {} refusals",
                c.release_entries, c.unjustified_entries, c.refusals
            );
        }
        for c in &self.refusals_by_reason {
            let _ = writeln!(s, "  refusals: {}: {}", c.reason, c.entries);
        }
        let _ = writeln!(s, "warrants (by envelope digest and case-number digest):");
        for w in &self.warrants {
            let _ = writeln!(
                s,
                "  {} case {} [{}]: {al}{} released, {al}{} readable, {} unjustified{}",
                w.digest.short(),
                w.case
                    .map(|c| c.short())
                    .unwrap_or_else(|| "(needs the oversight key)".into()),
                w.authority.as_deref().unwrap_or(""),
                w.messages_released,
                w.messages_readable,
                w.messages_unjustified,
                if w.cancelled { ", cancelled" } else { "" }
            );
        }
        s.push_str(&super::report::disclosures_text(&self.disclosures));
        if self.findings.is_empty() {
            let _ = writeln!(s, "findings: none");
        }
        for g in &self.findings {
            let _ = writeln!(
                s,
                "finding: {} [{}]{}: {}",
                g.severity.as_str().to_uppercase(),
                g.code,
                g.trustee
                    .map(|t| format!(" trustee {t}"))
                    .unwrap_or_default(),
                g.count
            );
        }
        s
    }
}

impl PublicReport {
    /// The public view as a self-contained HTML page, with `timeline` (the releases per
    /// warrant digest and per trustee, as SVG).
    pub fn to_html(&self, timeline: &str) -> String {
        use std::fmt::Write as _;
        let al = if self.lower_bounds { "at least " } else { "" };
        let mut h = page_start("Escrow transparency report (public)");
        let _ = write!(
            h,
            "<h1>Exceptional access: public transparency report</h1><p class=note>Trustee set <code>{}</code> ({}-of-{}), audited {}. Policy <code>{}</code>. Statistics only, in the spirit of the Investigatory Powers Commissioner's annual report: no account, label, warrant id or warrant text appears here; warrants are shown by envelope digest and salted case-number digest.</p>",
            self.set_id.short(),
            self.threshold,
            self.trustees_total,
            esc(&self.time.to_string()),
            policy_short(self.policy)
        );
        if self.lower_bounds {
            let _ = write!(
                h,
                "<p class=banner><b>{} of {} logs audited.</b> Every count on this page is a lower bound.</p>",
                self.logs_audited, self.trustees_total
            );
        }
        let _ = write!(
            h,
            r#"<div class="cards"><div class="card {}"><b>{} of {}</b>logs audited</div><div class="card"><b>{al}{}</b>messages made readable</div><div class="card"><b>{al}{}</b>messages released ({} log entries)</div><div class="card {}"><b>{}</b>messages released without justification ({} entries)</div><div class="card"><b>{al}{}</b>refusals</div></div>"#,
            if self.lower_bounds { "warn" } else { "good" },
            self.logs_audited,
            self.trustees_total,
            self.messages_readable,
            self.messages_released,
            self.release_entries,
            if self.messages_unjustified > 0 {
                "bad"
            } else {
                "good"
            },
            self.messages_unjustified,
            self.unjustified_entries,
            self.refusals_by_reason
                .iter()
                .map(|c| c.entries)
                .sum::<u64>()
        );
        h.push_str("<h2>Trustee logs</h2><table><tr><th>Trustee</th><th>Log</th><th>Entries</th><th>Release entries</th><th>Unjustified</th><th>Refusals</th><th>Cancellations</th></tr>");
        for t in &self.trustees {
            let c = t
                .trustee
                .and_then(|i| self.per_trustee.get(&i))
                .cloned()
                .unwrap_or_default();
            let _ = write!(
                h,
                "<tr><td>{}</td><td class={}>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                index_name(t.trustee),
                match t.status.as_str() {
                    "verified" => "ok",
                    "failed" => "fail",
                    _ => "na",
                },
                esc(&t.status),
                t.entries,
                c.release_entries,
                c.unjustified_entries,
                t.refusals,
                t.cancellations
            );
        }
        h.push_str("</table><h2>Warrants</h2><table><tr><th>Envelope digest</th><th>Case-number digest</th><th>Authority</th><th>Type</th><th>Messages released</th><th>Readable</th><th>Unjustified</th><th>Release entries</th><th>Cancelled</th></tr>");
        for w in &self.warrants {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td><code>{}</code></td>{}{}<td>{}</td><td>{}</td></tr>",
                w.digest.short(),
                w.case.map(|c| c.short()).unwrap_or_else(|| "—".into()),
                authority_cells(w.authority.as_deref(), w.warrant_type.as_deref()),
                message_cells(
                    al,
                    w.messages_released,
                    w.messages_readable,
                    w.messages_unjustified
                ),
                w.release_entries,
                if w.cancelled { "yes" } else { "no" }
            );
        }
        h.push_str("</table>");
        h.push_str(&super::report::disclosures_html(&self.disclosures));
        h.push_str("<h2>Timeline of releases</h2><p class=note>One row per warrant (by digest), then one per trustee. Green: justified; red: not justified; grey: not judged (warrant not disclosed to this auditor).</p>");
        h.push_str(timeline);
        readable_tables_html(&mut h, &self.per_authority, &self.per_period, al);
        h.push_str("<h2>Refusals by reason</h2><table><tr><th>Reason</th><th>Entries</th></tr>");
        for c in &self.refusals_by_reason {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{al}{}</td></tr>",
                esc(&c.reason),
                c.entries
            );
        }
        h.push_str("</table><h2>Findings</h2>");
        if self.findings.is_empty() {
            h.push_str("<p class=ok>None.</p>");
        } else {
            h.push_str(
                "<table><tr><th>Severity</th><th>Code</th><th>Trustee</th><th>Count</th></tr>",
            );
            for g in &self.findings {
                finding_cells(&mut h, g.severity, g.code, g.trustee, g.count);
                h.push_str("</tr>");
            }
            h.push_str("</table>");
        }
        let _ = write!(
            h,
            "<h2>Oversight view</h2><p>{} release headers opened and re-checked against their warrants by the oversight body; {} outside scope.</p><h2>What this audit cannot show</h2><ul>",
            self.oversight_headers_checked, self.oversight_failed
        );
        for n in &self.not_checked {
            let _ = write!(h, "<li>{}</li>", esc(n));
        }
        h.push_str("</ul></body></html>\n");
        h
    }
}

/// The public view of a report (here, above `audit::report`, so the report does not import its
/// own redaction).
impl AuditReport {
    /// The public view: statistics without account names, labels, warrant ids or envelope
    /// text (`escrow audit --public`; `audit::public`).
    pub fn public_view(&self) -> PublicReport {
        PublicReport::of(self)
    }

    /// The public view's self-contained HTML page (`escrow audit --public --html`).
    pub fn to_public_html(&self) -> String {
        self.public_view().to_html(&timeline_svg(self, true))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::keys::PrivateKey;

    #[test]
    fn the_case_digest_needs_the_oversight_key_and_groups_one_case() {
        let mut rng = rand::rng();
        let a = PrivateKey::generate(&mut rng);
        let b = PrivateKey::generate(&mut rng);
        let p = Digest32([7; 32]);
        let sa = public_salt(&a, &p);
        assert_eq!(*sa, *public_salt(&a, &p), "deterministic");
        assert_ne!(*sa, *public_salt(&b, &p), "another key");
        assert_ne!(*sa, *public_salt(&a, &Digest32([8; 32])), "another policy");
        assert_eq!(case_digest(&sa, "OP-1"), case_digest(&sa, "OP-1"));
        assert_ne!(case_digest(&sa, "OP-1"), case_digest(&sa, "OP-2"));
        // without the salt, a guess of the reference does not reproduce the digest
        assert_ne!(case_digest(&[0; 32], "OP-1"), case_digest(&sa, "OP-1"));
    }
}
