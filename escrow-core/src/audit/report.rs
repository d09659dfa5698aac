//! The audit report: what `escrow audit` shows, as data ([`AuditReport`], serialized as its
//! `--json`), as text ([`AuditReport::to_text`]) and as a self-contained HTML page
//! ([`AuditReport::to_html`]), and the exit decision ([`AuditReport::outcome`]).
//!
//! No I/O: the report is assembled ([`AuditReport::assemble`]) from what an auditor fetched
//! (per-trustee [`TrusteeAudit`] rows, the findings of every log check) and the
//! [`Judgement`](super::judge::Judgement) of every release. See `docs/audit.md`.

use super::TreeHead;
use super::compact::{Readable, Releases};
use super::disclosure::DisclosureView;
use super::html::esc;
use super::judge::{
    Finding, FindingGroup, Judgement, OversightSummary, RefusalView, ReleaseJudgement, Severity,
    WarrantSummary, group_findings,
};
use crate::codec::WarrantDigest;
use crate::codec::{Digest32, SetId};
use crate::time::Timestamp;
use crate::trustee::TrusteeSet;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How far the audit of one trustee got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LogStatus {
    /// Every check of the log passed.
    Verified,
    /// The log was read and something is wrong with it (see the findings).
    Failed,
    /// The trustee could not be reached or read: nothing is known about its log.
    NotAudited,
}

/// The audit of one trustee's log.
#[derive(Debug, Clone, Serialize)]
pub struct TrusteeAudit {
    /// The URL audited.
    pub url: String,
    /// Its trustee index, once `/v1/info` was read.
    pub trustee: Option<u16>,
    /// How far the audit got.
    pub status: LogStatus,
    /// Why it was not audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_audited: Option<String>,
    /// The log's checkpoint origin line.
    pub origin: String,
    /// The log key checked against (the pinned one, if any).
    pub log_key: String,
    /// The log key was pinned on this run (trust on first use).
    pub key_pinned_now: bool,
    /// The verified checkpoint of this run.
    pub checkpoint: Option<TreeHead>,
    /// The checkpoint remembered from the last run.
    pub previous_checkpoint: Option<TreeHead>,
    /// Entries read.
    pub entries: u64,
    /// Release entries read.
    pub releases: u64,
    /// Refusal entries read.
    pub refusals: u64,
    /// Cancellation entries read.
    pub cancellations: u64,
    /// Every check of the log passed.
    pub log_ok: bool,
}

impl TrusteeAudit {
    /// A trustee not (yet) audited, with the reason.
    pub fn not_audited(url: &str, why: String) -> Self {
        TrusteeAudit {
            url: url.to_string(),
            trustee: None,
            status: LogStatus::NotAudited,
            not_audited: Some(why),
            origin: String::new(),
            log_key: String::new(),
            key_pinned_now: false,
            checkpoint: None,
            previous_checkpoint: None,
            entries: 0,
            releases: 0,
            refusals: 0,
            cancellations: 0,
            log_ok: false,
        }
    }
}

/// Refusals counted by reason code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalCount {
    /// Reason code.
    pub reason: String,
    /// Refusal entries with it.
    pub entries: u64,
}

/// Everything one audit run found.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// Trustee-set id.
    pub set_id: SetId,
    /// Threshold k.
    pub threshold: u16,
    /// Trustees n.
    pub trustees_total: u16,
    /// When the audit ran.
    pub time: Timestamp,
    /// Digest of the policy releases were judged under.
    pub policy: Option<Digest32>,
    /// Logs audited (of `trustees_total`).
    pub logs_audited: u16,
    /// Fewer than every trustee's log was audited: every count below is a lower bound.
    pub lower_bounds: bool,
    /// One row per trustee URL given.
    pub trustees: Vec<TrusteeAudit>,
    /// One row per warrant seen in a release.
    pub warrants: Vec<WarrantSummary>,
    /// Readable messages per issuing authority.
    pub per_authority: BTreeMap<String, u64>,
    /// Readable messages per month (of the k-th release).
    pub per_period: BTreeMap<String, u64>,
    /// Every release entry, judged (built as it is read or written: `--json` writes the list
    /// as a stream).
    pub releases: Releases,
    /// Messages released by at least k trustees (built as read, like `releases`).
    pub readable: Readable,
    /// Every refusal entry: trustee, entry, time, reason code, warrant digest.
    pub refusals: Vec<RefusalView>,
    /// Refusals counted by reason code.
    pub refusals_by_reason: Vec<RefusalCount>,
    /// Receipts proved included in their trustee's log.
    pub receipts_checked: u64,
    /// The findings grouped by kind and trustee (count and first entries).
    pub finding_groups: Vec<FindingGroup>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// The oversight view's checks of every release's sealed header (with the oversight key),
    /// or the checks that could not be made (without it).
    pub oversight: OversightSummary,
    /// What the audit cannot show ([`NOT_CHECKED`]; the scope line only without the
    /// oversight key).
    pub what_is_not_checked: Vec<&'static str>,
    /// Warrants the oversight body disclosed (`--disclosure`), verified against the policy and
    /// the logs.
    pub disclosures: Vec<DisclosureView>,
    /// The set's history: every key generation, refresh, reshare and share destruction the
    /// audited logs record ([`super::history`]).
    pub set_history: Vec<super::history::CeremonyView>,
    /// Who holds the set's shares, by organisation and jurisdiction (`None`: the set does not
    /// say, format versions 1 to 3).
    pub composition: Option<crate::trustee::Composition>,
}

impl AuditReport {
    /// Integrity failures, unjustified releases, cheating trustees found.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }

    /// Release entries this auditor could not judge (`release-not-judged`: their warrants
    /// were not disclosed to it, or no policy was given), over every warrant.
    pub fn not_judged(&self) -> u64 {
        self.warrants.iter().map(|w| w.not_judged).sum()
    }

    /// The findings that stand in the way of "every release justified"
    /// ([`FindingKind::blocks_justification`](super::judge::FindingKind::blocks_justification):
    /// every error, and every release not judged), in report order.
    pub fn blocking_findings(&self) -> impl Iterator<Item = &Finding> + '_ {
        self.findings
            .iter()
            .filter(|f| f.code.blocks_justification())
    }

    /// Every audited log verified and every release in it judged and justified: no finding
    /// of severity error and no release left not judged. What the auditing witness states
    /// before it cosigns; with every trustee audited, `escrow audit` then exits 0 with
    /// [`AuditOutcome::Clean`]. Says nothing of logs not audited (see
    /// [`lower_bounds`](AuditReport::lower_bounds)).
    pub fn every_release_justified(&self) -> bool {
        self.blocking_findings().next().is_none()
    }

    /// The report of an audit run: `trustees` as fetched, `judgement` of every release,
    /// `findings` of the log checks (the judgement's own findings are appended, each given the
    /// URL of its trustee).
    #[allow(clippy::too_many_arguments)]
    pub fn assemble(
        set: &TrusteeSet,
        policy: Option<Digest32>,
        time: Timestamp,
        trustees: Vec<TrusteeAudit>,
        judgement: Judgement,
        mut findings: Vec<Finding>,
        receipts_checked: u64,
    ) -> Self {
        let audited: BTreeSet<u16> = trustees
            .iter()
            .filter(|t| t.status != LogStatus::NotAudited)
            .filter_map(|t| t.trustee)
            .collect();
        let logs_audited = u16::try_from(audited.len()).unwrap_or(u16::MAX);
        let urls: BTreeMap<u16, String> = trustees
            .iter()
            .filter_map(|t| t.trustee.map(|i| (i, t.url.clone())))
            .collect();
        let j = judgement;
        for mut f in j.findings {
            f.url = f.trustee.and_then(|t| urls.get(&t).cloned());
            findings.push(f);
        }
        let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
        for r in &j.refusals {
            *by_reason.entry(r.reason.clone()).or_default() += 1;
        }
        AuditReport {
            set_id: set.id(),
            threshold: set.threshold(),
            trustees_total: set.trustees(),
            time,
            policy,
            logs_audited,
            lower_bounds: logs_audited < set.trustees(),
            trustees,
            warrants: j.warrants,
            per_authority: j.per_authority,
            per_period: j.per_period,
            releases: j.releases,
            readable: j.readable,
            refusals: j.refusals,
            refusals_by_reason: by_reason
                .into_iter()
                .map(|(reason, entries)| RefusalCount { reason, entries })
                .collect(),
            receipts_checked,
            finding_groups: group_findings(&findings),
            findings,
            what_is_not_checked: NOT_CHECKED
                .iter()
                .copied()
                .filter(|w| !(j.oversight.key_given && w.starts_with("scope:")))
                .collect(),
            oversight: j.oversight,
            disclosures: j.disclosures,
            set_history: j.history,
            composition: set.composition(),
        }
    }

    /// The exit decision of `escrow audit` (`require_all`: every trustee must be audited).
    pub fn outcome(&self, require_all: bool) -> AuditOutcome {
        let errors = self.errors();
        if errors > 0 {
            return AuditOutcome::Problems {
                errors,
                kinds: self
                    .finding_groups
                    .iter()
                    .filter(|g| g.severity == Severity::Error)
                    .count(),
            };
        }
        if self.logs_audited == 0 {
            return AuditOutcome::NothingAudited {
                given: self.trustees.len(),
            };
        }
        if self.lower_bounds {
            return AuditOutcome::LowerBounds {
                audited: self.logs_audited,
                total: self.trustees_total,
                fatal: require_all,
            };
        }
        // No error: what remains in the way is releases not judged.
        if !self.every_release_justified() {
            return AuditOutcome::NotJudged {
                releases: self.not_judged(),
                fatal: require_all,
            };
        }
        AuditOutcome::Clean
    }

    /// The report as text (what `escrow audit` prints).
    pub fn to_text(&self) -> String {
        text_report(self)
    }

    /// The self-contained HTML page (`escrow audit --html`).
    pub fn to_html(&self) -> String {
        html_report(self)
    }

    /// Refusals grouped by (reason, warrant) across trustees, in order of first time.
    pub fn refusal_groups(&self) -> Vec<RefusalGroup> {
        refusal_groups(self)
    }
}

/// How an audit run ends (`escrow audit`'s exit code: `Problems` 3, `NothingAudited` 1,
/// `LowerBounds` 1 when fatal, else 0 with a warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditOutcome {
    /// Every log verified, every release justified, every trustee audited.
    Clean,
    /// Findings of severity error (integrity failures, unjustified releases, cheating
    /// trustees): `errors` findings in `kinds` groups.
    Problems {
        /// Findings of severity error.
        errors: usize,
        /// Groups of them.
        kinds: usize,
    },
    /// None of the `given` trustees could be read.
    NothingAudited {
        /// Trustees given.
        given: usize,
    },
    /// Every log audited and clean, but `releases` release entries could not be judged
    /// (their warrants were not disclosed to this auditor, or no policy was given).
    NotJudged {
        /// Release entries not judged.
        releases: u64,
        /// Every release was required to be judged (`--require-all`).
        fatal: bool,
    },
    /// Fewer than every trustee audited: the counts are lower bounds.
    LowerBounds {
        /// Logs audited.
        audited: u16,
        /// Trustees of the set.
        total: u16,
        /// Every trustee was required (`--require-all`).
        fatal: bool,
    },
}

impl core::fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AuditOutcome::Clean => write!(f, "every log verified and every release justified"),
            AuditOutcome::Problems { errors, kinds } => write!(
                f,
                "audit found {errors} problem(s) in {kinds} kind(s): see the findings"
            ),
            AuditOutcome::NothingAudited { given } => write!(
                f,
                "could not audit: none of the {given} trustee(s) given could be read"
            ),
            AuditOutcome::NotJudged { releases, fatal } => write!(
                f,
                "{releases} release entries not judged: their warrants were not disclosed to this auditor (give --warrants or --oversight-key) or no --policy was given{}",
                require_all(*fatal)
            ),
            AuditOutcome::LowerBounds {
                audited,
                total,
                fatal,
            } => write!(
                f,
                "{audited} of {total} logs audited: the counts are lower bounds{}",
                require_all(*fatal)
            ),
        }
    }
}

/// " (--require-all)" after an outcome that is fatal because of that flag.
fn require_all(fatal: bool) -> &'static str {
    if fatal { " (--require-all)" } else { "" }
}

/// What the auditor cannot check (also in docs/audit.md).
pub const NOT_CHECKED: [&str; 4] = [
    "scope: the log holds ciphertext digests, not labels; only with the oversight key (--oversight-key) are the sealed escrow headers opened and every release re-checked against its warrant's scope",
    "k trustees that collude and rewrite all their logs before any auditor or witness saw a checkpoint",
    "a trustee that releases without ever logging (its receipt-less shares leave no trace here)",
    "metadata: who asked, from where, and the traffic pattern are not in the log",
];

/// The oversight view's counts in one sentence, as text or (`html`) as an HTML paragraph.
fn oversight_sentence(o: &OversightSummary, al: &str, html: bool) -> String {
    let OversightSummary {
        releases,
        releases_with_copy: copies,
        headers_checked: checked,
        in_scope,
        failed,
        warrants_from_log: warrants,
        cancellations_from_log: cancels,
        ..
    } = o;
    if html {
        let class = if *failed > 0 { "fail" } else { "ok" };
        format!(
            "<p>{al}{releases} release entries, {copies} with a sealed escrow header. <span class={class}>{checked} headers opened and checked</span> (digest, TDH2 proof, warrant scope): {in_scope} in scope, {failed} failed. {warrants} warrants and {cancels} cancellations read from their sealed copies in the logs.</p>"
        )
    } else {
        format!(
            "oversight view: {al}{releases} release entries, {copies} with a sealed header; {checked} headers opened and checked (digest, TDH2 proof, scope): {in_scope} in scope, {failed} failed; {warrants} warrants and {cancels} cancellations read from the logs"
        )
    }
}

/// The oversight view's lines of the text report.
fn oversight_text(o: &OversightSummary, al: &str) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if o.key_given {
        let _ = writeln!(s, "{}", oversight_sentence(o, al, false));
    } else {
        let _ = writeln!(s, "oversight view: not run (no --oversight-key)");
    }
    for n in &o.not_checked {
        let _ = writeln!(s, "  NOT CHECKED: {n}");
    }
    s
}

/// The disclosed warrants, as text (both views show them: the oversight body unsealed them).
pub(crate) fn disclosures_text(d: &[DisclosureView]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if d.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "disclosed by the oversight body (signature and log checked):"
    );
    for x in d {
        let _ = writeln!(
            s,
            "  warrant {} ({}), case {}, {} [{}], disclosed {} by oversight key {}: {}\n    {}; valid {}",
            x.warrant_id,
            x.warrant.short(),
            x.case_reference,
            x.warrant_type,
            x.authority,
            x.disclosed_at,
            x.signed_by.short(),
            x.statement,
            x.scope,
            x.validity
        );
    }
    s
}

/// The disclosed warrants, as an HTML section (empty when none).
pub(crate) fn disclosures_html(d: &[DisclosureView]) -> String {
    use std::fmt::Write as _;
    let mut h = String::new();
    if d.is_empty() {
        return h;
    }
    h.push_str("<h2>Warrants disclosed by the oversight body</h2><p class=note>Each signed by an oversight key of the policy and found in the logs.</p><table><tr><th>Warrant</th><th>Case</th><th>Authority</th><th>Type</th><th>Scope</th><th>Valid</th><th>Disclosed</th><th>Statement</th></tr>");
    for x in d {
        let _ = write!(
            h,
            "<tr><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} <span class=note>key {}</span></td><td>{}</td></tr>",
            esc(&x.warrant_id),
            x.warrant.short(),
            esc(&x.case_reference),
            esc(&x.authority),
            esc(&x.warrant_type),
            esc(&x.scope),
            esc(&x.validity),
            esc(&x.disclosed_at.to_string()),
            x.signed_by.short(),
            esc(&x.statement)
        );
    }
    h.push_str("</table>");
    h
}

fn trustee_name(t: &TrusteeAudit) -> String {
    index_name(t.trustee)
}

/// A trustee index, or `?` when its `/v1/info` could not be read (both views).
pub(crate) fn index_name(i: Option<u16>) -> String {
    i.map(|i| i.to_string()).unwrap_or_else(|| "?".into())
}

/// The first two lines of both text views: `{view}audit of trustee set …` (set id, k, n,
/// time) and `logs: …` (logs audited, lower bounds), with `lower` after the count when fewer
/// than every log was audited.
pub(crate) fn text_heading(
    s: &mut String,
    view: &str,
    (set_id, threshold, total, time): (SetId, u16, u16, Timestamp),
    (audited, lower_bounds): (u16, bool),
    lower: &str,
) {
    use std::fmt::Write as _;
    let _ = writeln!(
        s,
        "{view}audit of trustee set {} ({threshold}-of-{total}) at {time}",
        set_id.short(),
    );
    let _ = writeln!(
        s,
        "logs: {audited} of {total} audited{}",
        if lower_bounds { lower } else { "" }
    );
}

/// `N entries, N releases, N refusals, N cancellations`: one log's counts (both text views).
pub(crate) fn log_counts(entries: u64, releases: u64, refusals: u64, cancellations: u64) -> String {
    format!(
        "{}, {}, {}, {}",
        counted(entries, "entry", "entries"),
        counted(releases, "release", "releases"),
        counted(refusals, "refusal", "refusals"),
        counted(cancellations, "cancellation", "cancellations")
    )
}

/// The policy's short digest, or `not given` (both HTML views).
pub(crate) fn policy_short(p: Option<Digest32>) -> String {
    p.map(|p| p.short()).unwrap_or_else(|| "not given".into())
}

/// The readable messages by issuing authority and by period, two HTML tables (both views).
pub(crate) fn readable_tables_html(
    h: &mut String,
    per_authority: &BTreeMap<String, u64>,
    per_period: &BTreeMap<String, u64>,
    al: &str,
) {
    use std::fmt::Write as _;
    h.push_str("<h2>Readable messages by authority and period</h2><table><tr><th>Issuing authority</th><th>Messages</th></tr>");
    for (a, n) in per_authority {
        let _ = write!(h, "<tr><td>{}</td><td>{al}{n}</td></tr>", esc(a));
    }
    h.push_str("</table><br><table><tr><th>Period</th><th>Messages</th></tr>");
    for (p, n) in per_period {
        let _ = write!(h, "<tr><td>{}</td><td>{al}{n}</td></tr>", esc(p));
    }
    h.push_str("</table>");
}

/// The authority and warrant-type cells of a warrant row (both HTML views).
pub(crate) fn authority_cells(authority: Option<&str>, warrant_type: Option<&str>) -> String {
    format!(
        "<td>{}</td><td>{}</td>",
        esc(authority.unwrap_or("")),
        esc(warrant_type.unwrap_or(""))
    )
}

/// The messages released, readable and unjustified cells of a warrant row (both HTML views).
pub(crate) fn message_cells(al: &str, released: u64, readable: u64, unjustified: u64) -> String {
    let class = if unjustified > 0 { "fail" } else { "ok" };
    format!("<td>{al}{released}</td><td>{al}{readable}</td><td class={class}>{unjustified}</td>")
}

/// `<tr>` and the severity, code, trustee and count cells of a findings row (both HTML
/// views; the caller adds its own cells and `</tr>`).
pub(crate) fn finding_cells(
    h: &mut String,
    severity: Severity,
    code: super::judge::FindingKind,
    trustee: Option<u16>,
    count: u64,
) {
    use std::fmt::Write as _;
    let _ = write!(
        h,
        "<tr><td class={}>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        if severity == Severity::Error {
            "fail"
        } else {
            "note"
        },
        severity.as_str(),
        code,
        trustee.map(|t| t.to_string()).unwrap_or_default(),
        count
    );
}

/// "at least " when the count depends on trustees not audited.
fn at_least(r: &AuditReport) -> &'static str {
    if r.lower_bounds { "at least " } else { "" }
}

fn text_report(r: &AuditReport) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let set = (r.set_id, r.threshold, r.trustees_total, r.time);
    let lower = " — every count below is a LOWER BOUND (logs not audited may hold more)";
    text_heading(&mut s, "", set, (r.logs_audited, r.lower_bounds), lower);
    for t in &r.trustees {
        if t.status == LogStatus::NotAudited {
            let _ = writeln!(
                s,
                "  trustee {} {}: NOT AUDITED — {}",
                trustee_name(t),
                t.url,
                t.not_audited.as_deref().unwrap_or("")
            );
            continue;
        }
        let cp = t
            .checkpoint
            .map(|c| format!("size {} root {}", c.size, c.root.short()))
            .unwrap_or_else(|| "no verified checkpoint".into());
        let prev = t
            .previous_checkpoint
            .map(|c| format!(", consistent with size {} seen before", c.size))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  trustee {} {}: {} — {}{}; {}{}",
            trustee_name(t),
            t.url,
            if t.log_ok { "OK" } else { "FAILED" },
            cp,
            if t.log_ok { prev } else { String::new() },
            log_counts(t.entries, t.releases, t.refusals, t.cancellations),
            if t.key_pinned_now {
                " (log key pinned now: trust on first use)"
            } else {
                ""
            }
        );
    }
    let al = at_least(r);
    let _ = writeln!(s, "warrants:");
    for w in &r.warrants {
        let _ = writeln!(
            s,
            "  {} {} [{}]: {al}{} released ({}), {al}{} READABLE (k={}), {} unjustified ({}){}{}",
            w.warrant_id
                .clone()
                .unwrap_or_else(|| "(not disclosed)".into()),
            w.digest.short(),
            w.authority.clone().unwrap_or_default(),
            counted(w.messages_released, "message", "messages"),
            counted(w.releases, "release entry", "release entries"),
            w.messages_readable,
            r.threshold,
            counted(w.messages_unjustified, "message", "messages"),
            counted(w.unjustified, "entry", "entries"),
            if w.not_judged > 0 {
                format!(", {} entries not judged", w.not_judged)
            } else {
                String::new()
            },
            if w.cancelled { ", cancelled" } else { "" }
        );
        if let Some(c) = &w.cancellation {
            let _ = writeln!(s, "    {c}");
        }
        if let (Some(case), Some(scope), Some(valid)) = (&w.case_reference, &w.scope, &w.validity) {
            let _ = writeln!(
                s,
                "    case {case}; {scope}; valid {valid}; signed by {}; investigator {}",
                w.signed_by.as_deref().unwrap_or(""),
                w.investigator.map(|k| k.short()).unwrap_or_default()
            );
        }
    }
    if r.warrants.is_empty() {
        let _ = writeln!(s, "  (no releases)");
    }
    let _ = writeln!(s, "readable messages: {al}{}", r.readable.len());
    for (a, n) in &r.per_authority {
        let _ = writeln!(s, "  by authority: {a}: {al}{n}");
    }
    for (p, n) in &r.per_period {
        let _ = writeln!(s, "  by period: {p}: {al}{n}");
    }
    let _ = writeln!(s, "refusals: {al}{}", r.refusals.len());
    for c in &r.refusals_by_reason {
        let _ = writeln!(s, "  {}: {} entries", c.reason, c.entries);
    }
    let groups = refusal_groups(r);
    for g in groups.iter().take(TEXT_REFUSALS) {
        let _ = writeln!(
            s,
            "    {} warrant {}: {} entries at trustee{} {}, {}{}",
            g.reason,
            g.warrant
                .map(|w| w.short())
                .unwrap_or_else(|| "(none)".into()),
            g.entries,
            if g.trustees.len() == 1 { "" } else { "s" },
            g.trustee_list(),
            g.first,
            if g.last != g.first {
                format!(" to {}", g.last)
            } else {
                String::new()
            }
        );
    }
    if groups.len() > TEXT_REFUSALS {
        let _ = writeln!(
            s,
            "    … {} more groups (every refusal in --json and --html)",
            groups.len() - TEXT_REFUSALS
        );
    }
    if r.receipts_checked > 0 {
        let _ = writeln!(
            s,
            "receipts: {} proved included in their trustee's log",
            r.receipts_checked
        );
    }
    s.push_str(&oversight_text(&r.oversight, al));
    s.push_str(&disclosures_text(&r.disclosures));
    s.push_str(&super::history::to_text(&r.set_history));
    s.push_str(&super::history::composition_text(r.composition.as_ref()));
    let unjust_entries: u64 = r.warrants.iter().map(|w| w.unjustified).sum();
    let unjust_msgs: u64 = r.warrants.iter().map(|w| w.messages_unjustified).sum();
    let _ = writeln!(
        s,
        "unjustified releases: {unjust_msgs} messages ({unjust_entries} release entries)"
    );
    let not_judged = r.not_judged();
    if not_judged > 0 {
        let _ = writeln!(
            s,
            "not judged: {not_judged} release entries (their warrants were not disclosed to this auditor: give --warrants or --oversight-key)"
        );
    }
    if r.finding_groups.is_empty() {
        let _ = writeln!(s, "findings: none");
    } else {
        let _ = writeln!(s, "findings:");
        for g in &r.finding_groups {
            let _ = writeln!(s, "  {}", group_line(g));
        }
    }
    s
}

/// Refusal groups listed in the text report (all of them in JSON and HTML).
const TEXT_REFUSALS: usize = 20;

fn group_line(g: &FindingGroup) -> String {
    let who = g
        .trustee
        .map(|t| format!(" trustee {t}"))
        .unwrap_or_default();
    if g.count == 1 {
        return format!(
            "{}: [{}]{who}: {}",
            g.severity.as_str().to_uppercase(),
            g.code,
            g.first
        );
    }
    let entries = if g.entries.is_empty() {
        String::new()
    } else {
        format!(
            " (entries {}{})",
            g.entries
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if g.count > g.entries.len() as u64 {
                ", …"
            } else {
                ""
            }
        )
    };
    format!(
        "{}: [{}]{who}: {} findings{entries}; first: {}",
        g.severity.as_str().to_uppercase(),
        g.code,
        g.count,
        g.first
    )
}

/// "1 entry", "2 entries": a count with its noun in the right number.
pub(crate) fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Refusals grouped by (reason, warrant) across trustees: which trustees, count, first and
/// last time. The demo's nine provoked refusals are nine lines, not one per trustee.
#[derive(Debug, Clone, Serialize)]
pub struct RefusalGroup {
    /// Reason code.
    pub reason: String,
    /// Warrant digest, if the request named one.
    pub warrant: Option<WarrantDigest>,
    /// The trustees that logged it, ascending.
    pub trustees: Vec<u16>,
    /// Entries in the group.
    pub entries: u64,
    /// Earliest.
    pub first: Timestamp,
    /// Latest.
    pub last: Timestamp,
}

impl RefusalGroup {
    /// `1, 2, 3`.
    pub fn trustee_list(&self) -> String {
        self.trustees
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn refusal_groups(r: &AuditReport) -> Vec<RefusalGroup> {
    let mut m: BTreeMap<(String, Option<WarrantDigest>), RefusalGroup> = BTreeMap::new();
    for x in &r.refusals {
        let g = m
            .entry((x.reason.clone(), x.warrant))
            .or_insert_with(|| RefusalGroup {
                reason: x.reason.clone(),
                warrant: x.warrant,
                trustees: Vec::new(),
                entries: 0,
                first: x.time,
                last: x.time,
            });
        g.entries += 1;
        if let Err(at) = g.trustees.binary_search(&x.trustee) {
            g.trustees.insert(at, x.trustee);
        }
        g.first = g.first.min(x.time);
        g.last = g.last.max(x.time);
    }
    let mut groups: Vec<RefusalGroup> = m.into_values().collect();
    groups.sort_by_key(|g| (g.first, g.reason.clone()));
    groups
}

/// The self-contained HTML page: summary statistics, per-trustee logs, timelines.
fn html_report(r: &AuditReport) -> String {
    use std::fmt::Write as _;
    let mut h = String::new();
    let unjust_msgs: u64 = r.warrants.iter().map(|w| w.messages_unjustified).sum();
    let unjust_entries: u64 = r.warrants.iter().map(|w| w.unjustified).sum();
    let integrity = r.findings.iter().filter(|f| f.code.is_integrity()).count();
    let al = at_least(r);
    h.push_str(&page_start("Escrow transparency report"));
    let _ = write!(
        h,
        r#"<h1>Exceptional access: transparency report</h1>
<p class="note">Trustee set <code>{}</code> ({}-of-{}), audited {}. Policy <code>{}</code>. In the spirit of the Investigatory Powers Commissioner's annual statistics: what was opened, under which warrant, by whom, and what was not justified.</p>
"#,
        r.set_id.short(),
        r.threshold,
        r.trustees_total,
        esc(&r.time.to_string()),
        policy_short(r.policy),
    );
    if r.lower_bounds {
        let _ = write!(
            h,
            "<p class=banner><b>{} of {} logs audited.</b> The trustees not audited could not be read; every count on this page is a lower bound: their logs may hold more releases, and a message counted as not readable may have been read with their shares.</p>",
            r.logs_audited, r.trustees_total
        );
    }
    let _ = write!(
        h,
        r#"<div class="cards">
<div class="card {}"><b>{} of {}</b>logs audited</div>
<div class="card"><b>{al}{}</b>messages made readable</div>
<div class="card"><b>{al}{}</b>messages released ({} log entries)</div>
<div class="card {}"><b>{}</b>messages released without justification ({} entries)</div>
<div class="card {}"><b>{}</b>log integrity failures</div>
</div>
"#,
        if r.lower_bounds { "warn" } else { "good" },
        r.logs_audited,
        r.trustees_total,
        r.readable.len(),
        r.warrants.iter().map(|w| w.messages_released).sum::<u64>(),
        r.releases.len(),
        if unjust_msgs > 0 { "bad" } else { "good" },
        unjust_msgs,
        unjust_entries,
        if integrity > 0 { "bad" } else { "good" },
        integrity,
    );
    let _ = write!(
        h,
        "<h2>Trustee logs</h2><table><tr><th>Trustee</th><th>Log</th><th>Checkpoint</th><th>Entries</th><th>Releases</th><th>Refusals</th><th>Cancellations</th></tr>"
    );
    for t in &r.trustees {
        let (class, status) = match t.status {
            LogStatus::Verified => ("ok", "verified".to_string()),
            LogStatus::Failed => ("fail", "FAILED".to_string()),
            LogStatus::NotAudited => (
                "na",
                format!(
                    "not audited: {}",
                    t.not_audited.as_deref().unwrap_or("unreachable")
                ),
            ),
        };
        let _ = write!(
            h,
            "<tr><td>{} <span class=note>{}</span></td><td class={class}>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            trustee_name(t),
            esc(&t.url),
            esc(&status),
            t.checkpoint
                .map(|c| format!("{} @ {}", c.size, c.root.short()))
                .unwrap_or_default(),
            t.entries,
            t.releases,
            t.refusals,
            t.cancellations
        );
    }
    h.push_str("</table>");
    let _ = write!(
        h,
        "<h2>Warrants</h2><table class=wide><tr><th>Warrant</th><th>Case</th><th>Scope</th><th>Valid</th><th>Signed by</th><th>Investigator</th><th>Authority</th><th>Type</th><th>Limit</th><th>Messages released</th><th>Readable</th><th>Messages unjustified</th><th>Release entries</th><th>Cancelled</th></tr>"
    );
    for w in &r.warrants {
        let _ = write!(
            h,
            "<tr><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>{}<td>{}</td>{}<td>{} ({} unjustified)</td><td>{}</td></tr>",
            esc(w.warrant_id.as_deref().unwrap_or("(not disclosed)")),
            w.digest.short(),
            esc(w.case_reference.as_deref().unwrap_or("")),
            esc(w.scope.as_deref().unwrap_or("")),
            esc(w.validity.as_deref().unwrap_or("")),
            esc(w.signed_by.as_deref().unwrap_or("")),
            w.investigator.map(|k| k.short()).unwrap_or_default(),
            authority_cells(w.authority.as_deref(), w.warrant_type.as_deref()),
            w.max_releases
                .map(|m| m.to_string())
                .unwrap_or_else(|| "—".into()),
            message_cells(
                al,
                w.messages_released,
                w.messages_readable,
                w.messages_unjustified
            ),
            w.releases,
            w.unjustified,
            match (&w.cancellation, w.cancelled) {
                (Some(c), _) => esc(c),
                (None, true) => "yes".into(),
                (None, false) => "no".into(),
            }
        );
    }
    h.push_str("</table>");
    h.push_str(&disclosures_html(&r.disclosures));
    h.push_str(&super::history::to_html(&r.set_history));
    h.push_str(&super::history::composition_html(r.composition.as_ref()));
    h.push_str("<h2>Timeline of releases</h2><p class=note>One row per warrant, then one per trustee. Green: justified; red: not justified; grey: not judged (warrant not disclosed to this auditor).</p>");
    h.push_str(&timeline_svg(r, false));
    readable_tables_html(&mut h, &r.per_authority, &r.per_period, al);
    let _ = write!(
        h,
        "<h2>Refusals</h2><p class=note>{al}{} refusal entries, by reason code and warrant, with the trustees that logged them.</p><table><tr><th>Reason</th><th>Warrant</th><th>Trustees</th><th>Entries</th><th>First</th><th>Last</th></tr>",
        r.refusals.len()
    );
    for g in refusal_groups(r) {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g.reason),
            g.warrant
                .map(|w| w.short())
                .unwrap_or_else(|| "(none)".into()),
            g.trustee_list(),
            g.entries,
            esc(&g.first.to_string()),
            esc(&g.last.to_string())
        );
    }
    h.push_str("</table><h2>Findings</h2>");
    if r.finding_groups.is_empty() {
        if r.lower_bounds {
            let _ = write!(
                h,
                "<p class=na>None in the {} logs audited; {} of {} logs could not be audited.</p>",
                r.logs_audited,
                r.trustees_total - r.logs_audited.min(r.trustees_total),
                r.trustees_total
            );
        } else {
            h.push_str("<p class=ok>None: every log verified and every release was justified.</p>");
        }
    } else {
        h.push_str("<table><tr><th>Severity</th><th>Code</th><th>Trustee</th><th>Count</th><th>First entries</th><th>First finding</th></tr>");
        for g in &r.finding_groups {
            finding_cells(&mut h, g.severity, g.code, g.trustee, g.count);
            let _ = write!(
                h,
                "<td>{}</td><td>{}</td></tr>",
                g.entries
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                esc(&g.first)
            );
        }
        h.push_str("</table>");
    }
    let o = &r.oversight;
    h.push_str("<h2>Oversight view: scope re-checked from the logs</h2>");
    if o.key_given {
        h.push_str(&oversight_sentence(o, al, true));
    } else {
        h.push_str("<p class=na>Not run: the oversight key was not given.</p>");
    }
    if !o.not_checked.is_empty() {
        h.push_str("<ul>");
        for n in &o.not_checked {
            let _ = write!(h, "<li>Not checked: {}</li>", esc(n));
        }
        h.push_str("</ul>");
    }
    h.push_str("<h2>What this audit cannot show</h2><ul>");
    for n in &r.what_is_not_checked {
        let _ = write!(h, "<li>{}</li>", esc(n));
    }
    h.push_str("</ul></body></html>\n");
    h
}

/// The start of a self-contained report page: the style sheet and the title.
pub(crate) fn page_start(title: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{}</title>
<style>
body{{font-family:Georgia,serif;max-width:1100px;margin:2em auto;color:#1b1b1b;background:#fff;padding:0 1em}}
h1{{border-bottom:4px solid #1d3557;padding-bottom:.3em}} h2{{color:#1d3557;margin-top:1.6em}}
.cards{{display:flex;gap:1em;flex-wrap:wrap}} .card{{flex:1;min-width:150px;border:1px solid #ccd;border-radius:6px;padding:.8em;background:#f6f8fb}}
.card b{{display:block;font-size:2em;font-family:Helvetica,Arial,sans-serif}} .bad b{{color:#b00020}} .good b{{color:#2a7a2a}} .warn b{{color:#a15c00}}
table{{border-collapse:collapse;width:100%;font-family:Helvetica,Arial,sans-serif;font-size:.9em}} th,td{{border-bottom:1px solid #dde;padding:.35em .5em;text-align:left}} th{{background:#eef2f7}}
.ok{{color:#2a7a2a;font-weight:bold}} .fail{{color:#b00020;font-weight:bold}} .na{{color:#a15c00;font-weight:bold}} .note{{color:#555;font-size:.9em}}
.banner{{border:2px solid #a15c00;background:#fff6e6;padding:.6em 1em;border-radius:6px;font-family:Helvetica,Arial,sans-serif}}
code{{font-size:.85em}} .wide{{font-size:.76em}} .wide td,.wide th{{padding:.3em .3em}}
</style></head><body>
"#,
        esc(title)
    )
}

/// Tick steps of the timeline up to two weeks, seconds (beyond: calendar months).
const TICK_STEPS: [i64; 21] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    172_800, 604_800, 1_209_600,
];

/// Tick steps of a long timeline, calendar months (beyond: whole numbers of years).
const MONTH_STEPS: [i64; 5] = [1, 2, 3, 6, 12];

/// Most ticks on a timeline.
const MAX_TICKS: i64 = 8;

/// (year, month 1..=12) of `t`, UTC.
fn year_month(t: i64) -> (i64, i64) {
    let iso = Timestamp(t).to_rfc3339();
    let num = |a: usize, b: usize| iso.get(a..b).and_then(|x| x.parse().ok()).unwrap_or(1);
    (num(0, 4), num(5, 7))
}

/// The start of month `ym` (= year × 12 + month − 1), UTC; `None` outside the years 0..=9999.
fn month_start(ym: i64) -> Option<i64> {
    let (y, m) = (ym.div_euclid(12), ym.rem_euclid(12) + 1);
    if !(0..=9999).contains(&y) {
        return None;
    }
    Timestamp::parse(&format!("{y:04}-{m:02}-01T00:00:00Z"))
        .ok()
        .map(|t| t.unix())
}

/// Ticks for `[t0, t1]`: at most about 8, on round UTC times, labelled at the scale's
/// precision: `HH:MM:SS` for seconds, `HH:MM` (with the date when the span passes a day)
/// for minutes and hours, `YYYY-MM-DD` for days and weeks, and, for spans of months and
/// years, the first of calendar months labelled `YYYY-MM` (`YYYY` for whole years).
pub fn time_ticks(t0: i64, t1: i64) -> Vec<(i64, String)> {
    let span = (t1 - t0).max(1);
    let mut out = Vec::new();
    if let Some(step) = TICK_STEPS.iter().copied().find(|s| span / s <= MAX_TICKS) {
        let first = t0.div_euclid(step) * step + if t0.rem_euclid(step) == 0 { 0 } else { step };
        let label = |t: i64| {
            let iso = Timestamp(t).to_rfc3339();
            let part = |a: usize, b: usize| iso.get(a..b).unwrap_or(&iso).to_string();
            match step {
                s if s < 60 => part(11, 19),
                s if s < 86_400 => {
                    if span >= 86_400 {
                        format!("{} {}", part(5, 10), part(11, 16))
                    } else {
                        part(11, 16)
                    }
                }
                _ => part(0, 10),
            }
        };
        let mut t = first;
        while t <= t1 && out.len() < 16 {
            out.push((t, label(t)));
            t = t.saturating_add(step);
        }
        return out;
    }
    // Calendar months: the first of a month whose index is a multiple of the step.
    let (y0, m0) = year_month(t0);
    let (y1, m1) = year_month(t1);
    let (a, b) = (y0 * 12 + m0 - 1, y1 * 12 + m1 - 1);
    let months = (b - a).max(1);
    let step = MONTH_STEPS
        .iter()
        .copied()
        .find(|s| months / s <= MAX_TICKS)
        .unwrap_or(12 * (months / 12 / MAX_TICKS + 1));
    let mut ym = a.div_euclid(step) * step;
    while out.len() < 16 {
        let Some(t) = month_start(ym) else { break };
        if t > t1 {
            break;
        }
        if t >= t0 {
            let (y, m) = (ym.div_euclid(12), ym.rem_euclid(12) + 1);
            out.push((
                t,
                if step % 12 == 0 {
                    format!("{y:04}")
                } else {
                    format!("{y:04}-{m:02}")
                },
            ));
        }
        ym += step;
    }
    out
}

pub(crate) fn timeline_svg(r: &AuditReport, public: bool) -> String {
    use std::fmt::Write as _;
    let mut rows: Vec<(String, Vec<ReleaseJudgement>)> = Vec::new();
    for w in &r.warrants {
        let name = match (&w.warrant_id, public) {
            (Some(id), false) => format!("warrant {id}"),
            _ => format!("warrant {}", w.digest.short()),
        };
        rows.push((
            name,
            r.releases
                .iter()
                .filter(|x| x.warrant == w.digest)
                .collect(),
        ));
    }
    let mut ts: BTreeSet<u16> = r.releases.iter().map(|x| x.trustee).collect();
    ts.extend(r.trustees.iter().filter_map(|t| t.trustee));
    for t in ts {
        rows.push((
            format!("trustee {t}"),
            r.releases.iter().filter(|x| x.trustee == t).collect(),
        ));
    }
    let (w, left, row_h) = (1000i64, 220i64, 28i64);
    let height = 60 + row_h * i64::try_from(rows.len()).unwrap_or(0);
    let t0 = r.releases.iter().map(|x| x.time.unix()).min().unwrap_or(0);
    let t1 = r.releases.iter().map(|x| x.time.unix()).max().unwrap_or(0);
    // Everything in the same second: a one-minute window around it.
    let (t0, t1) = if t1 == t0 {
        (t0 - 30, t1 + 30)
    } else {
        (t0, t1)
    };
    let span = (t1 - t0).max(1);
    // Room on the right for the last tick's label, centred on its time.
    let x_of = |t: i64| left + 10 + (t - t0) * (w - left - 70) / span;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {w} {height}" font-family="Helvetica,Arial,sans-serif" font-size="12">"#
    );
    let bottom = 20 + row_h * i64::try_from(rows.len()).unwrap_or(0);
    for (i, (name, items)) in rows.iter().enumerate() {
        let y = 20 + row_h * i64::try_from(i).unwrap_or(0);
        let _ = write!(
            s,
            r##"<rect x="0" y="{}" width="{w}" height="{row_h}" fill="{}"/><text x="6" y="{}">{}</text><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#bbb"/>"##,
            y,
            if i % 2 == 0 { "#f6f8fb" } else { "#ffffff" },
            y + 18,
            esc(name),
            y + 14,
            w - 10,
            y + 14
        );
        for x in items {
            let _ = write!(
                s,
                r##"<circle cx="{}" cy="{}" r="5" fill="{}" fill-opacity="0.8"><title>trustee {} entry {} at {}: ciphertext {}{}</title></circle>"##,
                x_of(x.time.unix()),
                y + 14,
                if x.justified {
                    "#2a7a2a"
                } else if x.not_judged {
                    "#888888"
                } else {
                    "#b00020"
                },
                x.trustee,
                x.entry,
                esc(&x.time.to_string()),
                x.ciphertext.short(),
                if x.justified {
                    ""
                } else if x.not_judged {
                    " — not judged (warrant not disclosed to this auditor)"
                } else {
                    " — NOT JUSTIFIED"
                }
            );
        }
    }
    for (t, label) in time_ticks(t0, t1) {
        let x = x_of(t);
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="20" x2="{x}" y2="{}" stroke="#999" stroke-dasharray="2,3"/><text x="{x}" y="{}" fill="#555" text-anchor="middle">{}</text>"##,
            bottom + 4,
            bottom + 18,
            esc(&label)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{left}" y="{}" fill="#555">UTC, {} to {}</text></svg>"##,
        height - 4,
        esc(&Timestamp(t0).to_string()),
        esc(&Timestamp(t1).to_string())
    );
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::judge::{Documents, FindingKind, Judge};

    fn report(trustees: Vec<TrusteeAudit>, findings: Vec<Finding>) -> AuditReport {
        let d = crate::trustee::deal(3, 2, &mut rand::rng()).unwrap();
        let j = Judge::new(&d.set, None).judge(&Documents::default());
        AuditReport::assemble(&d.set, None, Timestamp(0), trustees, j, findings, 0)
    }

    fn audited(url: &str, i: u16) -> TrusteeAudit {
        let mut t = TrusteeAudit::not_audited(url, String::new());
        t.trustee = Some(i);
        t.status = LogStatus::Verified;
        t.not_audited = None;
        t.log_ok = true;
        t
    }

    #[test]
    fn timeline_ticks_are_readable_from_seconds_to_years() {
        let t0 = Timestamp::parse("2026-11-30T20:41:07Z").unwrap().unix();
        // The demo: everything within seconds.
        let s = time_ticks(t0, t0 + 9);
        assert!(s.len() >= 3 && s.len() <= 10, "{s:?}");
        assert_eq!(s[0].1, "20:41:08");
        assert!(
            s.iter()
                .all(|(_, l)| l.len() == 8 && l.starts_with("20:41:"))
        );
        // Minutes and hours.
        let m = time_ticks(t0, t0 + 1800);
        assert!(m.iter().all(|(t, l)| t % 300 == 0 && l.len() == 5), "{m:?}");
        // Days: dates.
        let d = time_ticks(t0, t0 + 6 * 86_400);
        assert_eq!(d[0].1, "2026-12-01", "{d:?}");
        assert!(d.iter().all(|(t, _)| t % 86_400 == 0));
        // A long log (months): the first of each month, on the calendar.
        let mo = time_ticks(t0, t0 + 200 * 86_400);
        assert_eq!(
            mo.iter().map(|(_, l)| l.as_str()).collect::<Vec<_>>(),
            [
                "2026-12", "2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"
            ]
        );
        for (t, l) in &mo {
            assert!(
                Timestamp(*t)
                    .to_rfc3339()
                    .starts_with(&format!("{l}-01T00:00:00"))
            );
        }
        // Years: whole years.
        let y = time_ticks(t0, t0 + 30 * 365 * 86_400);
        assert!(y.len() >= 3 && y.len() <= 9, "{y:?}");
        assert!(y.iter().all(|(t, l)| {
            l.len() == 4
                && Timestamp(*t)
                    .to_rfc3339()
                    .starts_with(&format!("{l}-01-01T00:00:00"))
        }));
        // Every scale: at most about 8 ticks, increasing, inside the span.
        for span in [
            1,
            59,
            3_600,
            86_400 * 20,
            86_400 * 90,
            86_400 * 400,
            86_400 * 3_000,
        ] {
            let t = time_ticks(t0, t0 + span);
            assert!(!t.is_empty() && t.len() <= 9, "{span}: {t:?}");
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
            assert!(t.iter().all(|(x, _)| *x >= t0 && *x <= t0 + span));
        }
    }

    #[test]
    fn refusals_are_grouped_by_reason_and_warrant_across_trustees() {
        let mut r = report(
            vec![audited("a", 1), audited("b", 2), audited("c", 3)],
            vec![],
        );
        let w = WarrantDigest::from_bytes([7; 32]);
        for (trustee, entry, time, reason, warrant) in [
            (1, 10, 100, "missing-approval", Some(w)),
            (2, 11, 101, "missing-approval", Some(w)),
            (3, 12, 102, "missing-approval", Some(w)),
            (2, 13, 200, "expired", Some(w)),
            (1, 14, 300, "bad-signature", None),
        ] {
            r.refusals.push(RefusalView {
                trustee,
                entry,
                time: Timestamp(time),
                reason: reason.into(),
                warrant,
                ciphertexts: 1,
            });
        }
        let g = r.refusal_groups();
        assert_eq!(g.len(), 3, "{g:?}");
        assert_eq!(g[0].reason, "missing-approval");
        assert_eq!(g[0].trustees, [1, 2, 3]);
        assert_eq!(
            (g[0].entries, g[0].first, g[0].last),
            (3, Timestamp(100), Timestamp(102))
        );
        assert_eq!(g[2].warrant, None);
        let text = r.to_text();
        assert!(
            text.contains(&format!(
                "missing-approval warrant {}: 3 entries at trustees 1, 2, 3, ",
                w.short()
            )),
            "{text}"
        );
        assert!(
            text.contains("bad-signature warrant (none): 1 entries at trustee 1, "),
            "{text}"
        );
        let html = r.to_html();
        assert!(html.contains("<td>1, 2, 3</td>"), "{html}");
    }

    #[test]
    fn the_exit_decision_follows_findings_then_coverage() {
        let none = report(vec![TrusteeAudit::not_audited("u", "down".into())], vec![]);
        assert_eq!(
            none.outcome(false),
            AuditOutcome::NothingAudited { given: 1 }
        );
        let two = report(vec![audited("a", 1), audited("b", 2)], vec![]);
        assert!(two.lower_bounds);
        assert_eq!(
            two.outcome(true),
            AuditOutcome::LowerBounds {
                audited: 2,
                total: 3,
                fatal: true
            }
        );
        assert!(two.to_text().contains("LOWER BOUND"));
        let all = report(
            vec![audited("a", 1), audited("b", 2), audited("c", 3)],
            vec![],
        );
        assert_eq!(all.outcome(true), AuditOutcome::Clean);
        assert!(all.to_html().contains("None: every log verified"));
        let bad = report(
            vec![audited("a", 1), audited("b", 2), audited("c", 3)],
            vec![Finding::new(
                FindingKind::BadCheckpoint,
                Some(2),
                None,
                "x".into(),
            )],
        );
        assert_eq!(
            bad.outcome(false),
            AuditOutcome::Problems {
                errors: 1,
                kinds: 1
            }
        );
        assert_eq!(
            bad.outcome(false).to_string(),
            "audit found 1 problem(s) in 1 kind(s): see the findings"
        );
    }

    #[test]
    fn every_release_justified_is_one_rule_for_the_exit_the_witness_and_the_demo() {
        // What blocks it: every error, and a release not judged; no other warning.
        for k in [
            FindingKind::BadCheckpoint,
            FindingKind::UnjustifiedRelease,
            FindingKind::CheatingTrustee,
            FindingKind::ReleaseNotJudged,
        ] {
            assert!(k.blocks_justification(), "{k}");
        }
        for k in [FindingKind::PolicyDiffers, FindingKind::WitnessClock] {
            assert!(!k.blocks_justification(), "{k}");
        }
        let d = crate::trustee::deal(3, 2, &mut rand::rng()).unwrap();
        let three = || vec![audited("a", 1), audited("b", 2), audited("c", 3)];
        // A warning that does not block: clean.
        let warned = report(
            three(),
            vec![Finding::new(
                FindingKind::PolicyDiffers,
                Some(1),
                None,
                "p".into(),
            )],
        );
        assert!(warned.every_release_justified());
        assert_eq!(warned.outcome(true), AuditOutcome::Clean);
        // A release judged without a policy: not judged, counted once, the one blocking finding.
        let mut j = Judge::new(&d.set, None);
        j.add(
            2,
            crate::audit::LogEntry::release(
                0,
                Timestamp(1_800_000_000),
                WarrantDigest::from_bytes([1; 32]),
                crate::codec::CiphertextDigest::from_bytes([2; 32]),
                Digest32([3; 32]),
                crate::codec::KeyId::from_bytes([4; 32]),
            ),
        );
        let r = AuditReport::assemble(
            &d.set,
            None,
            Timestamp(0),
            three(),
            j.judge(&Documents::default()),
            vec![],
            0,
        );
        assert!(!r.every_release_justified());
        assert_eq!(r.not_judged(), 1);
        let blocking: Vec<_> = r.blocking_findings().map(|f| (f.code, f.entry)).collect();
        assert_eq!(blocking, vec![(FindingKind::ReleaseNotJudged, Some(0))]);
        assert_eq!(
            r.outcome(true),
            AuditOutcome::NotJudged {
                releases: 1,
                fatal: true
            }
        );
        assert!(r.to_text().contains("not judged: 1 release entries"));
    }
}
