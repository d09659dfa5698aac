//! The auditor's judgement, as a library: log entries + trustee set + policy + warrants +
//! cancellations → per-entry judgements, typed findings and the readable messages.
//!
//! Two parts, both pure (no I/O; whoever fetches the logs feeds them in):
//!
//! * [`LogCheck`] — one trustee's log against its signed checkpoint: every served entry's leaf
//!   hash recomputed, decoded, its sequence number checked, the root recomputed; consistency
//!   with a checkpoint seen earlier ([`check_consistency`]); leaves compared with those seen
//!   earlier. Fed one entry at a time, so a log of any length is checked in constant memory.
//! * [`Judge`] — every decoded entry of every audited trustee; keeps the release,
//!   cancellation, setup and refusal facts, then [`Judge::judge`] decides for every release
//!   whether it was justified (warrant verifies under the policy at the entry's time, shares
//!   sealed to the investigator the warrant names, release limit, no release after a
//!   cancellation of the warrant or of any warrant it renews, policy at the time) and which
//!   messages became readable.
//!
//! The release limit is the node's formula ([`ReleaseCounter`], i.e.
//! [`VerifiedWarrant::check_release_limit`]): distinct ciphertexts per trustee per **warrant
//! id** (two envelopes with the same id share one limit; a renewal has an id of its own and a
//! limit of its own). See `docs/audit.md` §6.

use super::carry::{CarriedCancellation, JudgedFacts};
use super::compact::{
    Digests, NONE, Readable, ReleaseRecord, Releases, Store, ZERO, ZERO_CT, flag, packed, position,
    prefix64, sort_positions,
};
use super::disclosure::DisclosureView;
pub use super::documents::Documents;
use super::entry::{EntryKind, LogEntry};
use super::merkle::{Frontier, TreeHead, leaf_hash};
use super::oversight::{OpenError, Sealed, SealedDocument};
use super::proof::verify_consistency;
pub use super::verdict::{ReadableMessage, ReleaseJudgement, Unjustified};
use crate::codec::WarrantDigest;
use crate::codec::{CiphertextDigest, Digest32, KeyId};
use crate::keys::PrivateKey;
use crate::label::Label;
use crate::release::ReleaseCounter;
use crate::time::Timestamp;
use crate::trustee::TrusteeSet;
use crate::warrant::ScopeMatcher;
use crate::warrant::{
    CancellationEnvelope, CancellationPayload, ChainCancellation, Policy, RenewalChains,
    VerifiedWarrant, Warrant, WarrantEnvelope,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

/// How many entries a grouped finding lists.
pub const GROUP_EXAMPLES: usize = 5;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Severity {
    /// Something is wrong: a log that is not what it should be, an unjustified release, a
    /// cheating trustee. `escrow audit` exits 3.
    Error,
    /// Worth a look, not proof of wrongdoing (a node now runs another policy, a checkpoint
    /// that names no audited trustee).
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What was found; the stable `code` of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FindingKind {
    /// The node presents another log key than the one pinned.
    LogKeyChanged,
    /// The signed checkpoint does not verify under the log key.
    BadCheckpoint,
    /// The log is shorter than at an earlier audit.
    LogRolledBack,
    /// The log is not an extension of the one seen at an earlier audit.
    LogForked,
    /// Entries the checkpoint promises were not served.
    EntriesMissing,
    /// A served leaf hash is not the hash of the served bytes.
    LeafHashMismatch,
    /// An entry does not decode.
    BadEntry,
    /// An entry's sequence number is not its position.
    BadSequence,
    /// The entries do not hash to the checkpoint's root.
    RootMismatch,
    /// An entry differs from the one seen at an earlier audit.
    EntryChanged,
    /// The node runs another policy than the one given.
    PolicyDiffers,
    /// A release that its warrant, the policy or the log does not justify.
    UnjustifiedRelease,
    /// A release this auditor could not judge: its warrant was not disclosed to it (no
    /// `--warrants` copy, no oversight key to open the log's sealed copy) or no `--policy` was
    /// given. Not evidence against the trustee; the audit is incomplete.
    ReleaseNotJudged,
    /// An investigator's receipt is not proved in its trustee's log.
    ReceiptNotInLog,
    /// A receipt of a trustee that was not audited.
    ReceiptUnchecked,
    /// An investigator's receipts name the trustee as cheating (a share that failed its proof).
    CheatingTrustee,
    /// A `--checkpoint` names no audited trustee.
    CheckpointUnmatched,
    /// An oversight copy of a warrant (warrant-seen entry) does not open, or holds another
    /// warrant than the entry names.
    BadOversightCopy,
    /// A `--checkpoint` does not verify under the trustee's log key.
    CheckpointUnverified,
    /// A checkpoint someone else was shown is not consistent with the one served now.
    SplitView,
    /// The set in use is not the one a key-generation certificate certifies, or a trustee's
    /// log lacks the `keygen` entry of that ceremony (`escrow audit --keygen-certificate`).
    KeygenMismatch,
    /// A disclosure (`escrow audit --disclosure`) that is forged, altered, not signed by an
    /// oversight key of the policy, or of a warrant no audited log names.
    BadDisclosure,
    /// A witness's cosignature timestamp on a receipt's checkpoint and the node's clock (the
    /// time of the release entries it covers) differ by more than the tolerance
    /// (`audit::witness::DEFAULT_CLOCK_TOLERANCE_SECS`).
    WitnessClock,
}

impl FindingKind {
    /// The stable kebab-case code.
    pub fn code(self) -> &'static str {
        match self {
            FindingKind::LogKeyChanged => "log-key-changed",
            FindingKind::BadCheckpoint => "bad-checkpoint",
            FindingKind::LogRolledBack => "log-rolled-back",
            FindingKind::LogForked => "log-forked",
            FindingKind::EntriesMissing => "entries-missing",
            FindingKind::LeafHashMismatch => "leaf-hash-mismatch",
            FindingKind::BadEntry => "bad-entry",
            FindingKind::BadSequence => "bad-sequence",
            FindingKind::RootMismatch => "root-mismatch",
            FindingKind::EntryChanged => "entry-changed",
            FindingKind::PolicyDiffers => "policy-differs",
            FindingKind::UnjustifiedRelease => "unjustified-release",
            FindingKind::ReleaseNotJudged => "release-not-judged",
            FindingKind::ReceiptNotInLog => "receipt-not-in-log",
            FindingKind::ReceiptUnchecked => "receipt-unchecked",
            FindingKind::CheatingTrustee => "cheating-trustee",
            FindingKind::CheckpointUnmatched => "checkpoint-unmatched",
            FindingKind::BadOversightCopy => "bad-oversight-copy",
            FindingKind::CheckpointUnverified => "checkpoint-unverified",
            FindingKind::SplitView => "split-view",
            FindingKind::KeygenMismatch => "keygen-mismatch",
            FindingKind::BadDisclosure => "bad-disclosure",
            FindingKind::WitnessClock => "witness-clock",
        }
    }

    /// The severity every finding of this kind has.
    pub fn severity(self) -> Severity {
        match self {
            FindingKind::PolicyDiffers
            | FindingKind::ReleaseNotJudged
            | FindingKind::ReceiptUnchecked
            | FindingKind::CheckpointUnmatched
            | FindingKind::CheckpointUnverified
            | FindingKind::WitnessClock => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Does a finding of this kind stand in the way of saying "every release justified"? Every
    /// error does, and so does a release this auditor could not judge (a warning, not evidence
    /// against the trustee, but not a justified release either). The one rule behind
    /// [`AuditReport::every_release_justified`](super::report::AuditReport::every_release_justified),
    /// `escrow audit`'s exit decision, the auditing witness's refusal and the demo's check.
    pub fn blocks_justification(self) -> bool {
        self.severity() == Severity::Error || self == FindingKind::ReleaseNotJudged
    }

    /// Does this kind say the trustee's log itself is not trustworthy?
    pub fn is_integrity(self) -> bool {
        matches!(
            self,
            FindingKind::LogKeyChanged
                | FindingKind::BadCheckpoint
                | FindingKind::LogRolledBack
                | FindingKind::LogForked
                | FindingKind::EntriesMissing
                | FindingKind::LeafHashMismatch
                | FindingKind::BadEntry
                | FindingKind::BadSequence
                | FindingKind::RootMismatch
                | FindingKind::EntryChanged
                | FindingKind::SplitView
        )
    }
}

impl core::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.code())
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// Trustee index, when one trustee is concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trustee: Option<u16>,
    /// Trustee URL (filled in by whoever knows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Leaf index concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<u64>,
    /// What.
    pub code: FindingKind,
    /// In words.
    pub message: String,
}

impl Finding {
    /// A finding of `kind` (its severity is the kind's).
    pub fn new(
        kind: FindingKind,
        trustee: Option<u16>,
        entry: Option<u64>,
        message: String,
    ) -> Self {
        Finding {
            severity: kind.severity(),
            trustee,
            url: None,
            entry,
            code: kind,
            message,
        }
    }
}

/// Findings of one kind at one trustee, counted: a wrong policy is one line per trustee, not
/// one per entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FindingGroup {
    /// How bad.
    pub severity: Severity,
    /// What.
    pub code: FindingKind,
    /// The trustee, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trustee: Option<u16>,
    /// How many findings.
    pub count: u64,
    /// The first few entries concerned, in log order.
    pub entries: Vec<u64>,
    /// The first finding's message.
    pub first: String,
}

/// Group findings by (kind, trustee), most severe first; within a group, entries in order.
pub fn group_findings(findings: &[Finding]) -> Vec<FindingGroup> {
    let mut groups: BTreeMap<(Severity, FindingKind, Option<u16>), FindingGroup> = BTreeMap::new();
    for f in findings {
        let g = groups
            .entry((f.severity, f.code, f.trustee))
            .or_insert_with(|| FindingGroup {
                severity: f.severity,
                code: f.code,
                trustee: f.trustee,
                count: 0,
                entries: Vec::new(),
                first: f.message.clone(),
            });
        g.count += 1;
        if let Some(e) = f.entry {
            g.entries.push(e);
            g.entries.sort_unstable();
            g.entries.truncate(GROUP_EXAMPLES);
        }
    }
    groups.into_values().collect()
}

/// What [`LogCheck::finish`] concludes about one trustee's log.
#[derive(Clone, Debug)]
pub struct LogVerdict {
    /// Entries checked.
    pub entries: u64,
    /// Every check passed.
    pub ok: bool,
    /// What was wrong.
    pub findings: Vec<Finding>,
}

/// Consistency of the checkpoint `new` with `old`, seen at an earlier audit (or by someone
/// else). `proof` is the node's RFC 9162 consistency proof from `old.size` to `new.size`
/// (ignored when `old` is larger). `None` when consistent.
pub fn check_consistency(
    trustee: u16,
    old: &TreeHead,
    new: &TreeHead,
    proof: &[Digest32],
) -> Option<Finding> {
    if old.size > new.size {
        return Some(Finding::new(
            FindingKind::LogRolledBack,
            Some(trustee),
            Some(new.size),
            format!(
                "trustee {trustee}: log ROLLED BACK: it had {} entries at an earlier audit, now its signed checkpoint says {}",
                old.size, new.size
            ),
        ));
    }
    verify_consistency(old.size, new.size, &old.root, &new.root, proof)
        .err()
        .map(|e| {
            Finding::new(
                FindingKind::LogForked,
                Some(trustee),
                None,
                format!(
                    "trustee {trustee}: log REWRITTEN or FORKED: its checkpoint of size {} is not an extension of the checkpoint of size {} seen at an earlier audit ({e})",
                    new.size, old.size
                ),
            )
        })
}

/// One trustee's log, checked entry by entry against its (verified) signed checkpoint.
#[derive(Debug)]
pub struct LogCheck {
    trustee: u16,
    head: TreeHead,
    frontier: Frontier,
    earlier: u64,
    first_diff: Option<u64>,
    findings: Vec<Finding>,
    ok: bool,
}

impl LogCheck {
    /// Check the log of `trustee` whose verified checkpoint is `head`; `earlier_size` leaves
    /// were seen at an earlier audit (0 if none) and are compared as they are passed to
    /// [`LogCheck::push`].
    pub fn new(trustee: u16, head: TreeHead, earlier_size: u64) -> Self {
        LogCheck {
            trustee,
            head,
            frontier: Frontier::new(),
            earlier: earlier_size,
            first_diff: None,
            findings: Vec::new(),
            ok: true,
        }
    }

    /// Check the entries after the first `frontier.size()` of `trustee`'s log, whose verified
    /// checkpoint is `head`: the first entries were checked at an earlier audit that left this
    /// frontier (`carry::LogCarry`); the root is recomputed from it and the new entries alone.
    /// The caller checks `head` consistent with the earlier head ([`check_consistency`]).
    pub fn resume(trustee: u16, head: TreeHead, frontier: Frontier) -> Self {
        LogCheck {
            trustee,
            head,
            frontier,
            earlier: 0,
            first_diff: None,
            findings: Vec::new(),
            ok: true,
        }
    }

    /// The tree of the entries pushed so far.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }

    /// Record a finding found elsewhere (e.g. by [`check_consistency`]); the log is not ok.
    pub fn fail(&mut self, f: Finding) {
        self.ok = false;
        self.findings.push(f);
    }

    /// Entries pushed so far (= the index of the next one).
    pub fn next_index(&self) -> u64 {
        self.frontier.size()
    }

    /// The entries still owed by the checkpoint.
    pub fn remaining(&self) -> u64 {
        self.head.size.saturating_sub(self.frontier.size())
    }

    /// The next entry as served: its bytes, the leaf hash the node served with it, and the leaf
    /// hash seen at this index at an earlier audit (`None` if this index was not seen or the
    /// earlier leaves were not kept). Returns the leaf hash and the decoded entry (if it
    /// decodes).
    pub fn push(
        &mut self,
        bytes: &[u8],
        served_leaf: Option<Digest32>,
        earlier_leaf: Option<Digest32>,
    ) -> (Digest32, Option<LogEntry>) {
        let t = self.trustee;
        let i = self.frontier.size();
        let leaf = leaf_hash(bytes);
        self.frontier.push(leaf);
        if served_leaf != Some(leaf) {
            self.fail(Finding::new(
                FindingKind::LeafHashMismatch,
                Some(t),
                Some(i),
                format!("trustee {t}: entry {i}: served leaf hash is not the hash of its bytes"),
            ));
        }
        if i < self.earlier
            && let Some(old) = earlier_leaf
            && old != leaf
            && self.first_diff.is_none()
        {
            self.first_diff = Some(i);
        }
        let entry = match LogEntry::from_bytes(bytes) {
            Ok(e) => e,
            Err(e) => {
                self.fail(Finding::new(
                    FindingKind::BadEntry,
                    Some(t),
                    Some(i),
                    format!("trustee {t}: entry {i} does not decode: {e}"),
                ));
                return (leaf, None);
            }
        };
        if entry.sequence != i {
            self.fail(Finding::new(
                FindingKind::BadSequence,
                Some(t),
                Some(i),
                format!(
                    "trustee {t}: entry {i} says it is entry {} (entries reordered, inserted or deleted)",
                    entry.sequence
                ),
            ));
        }
        (leaf, Some(entry))
    }

    /// The node served no entry at [`LogCheck::next_index`] although the checkpoint promises
    /// more: stop reading.
    pub fn missing(&mut self) {
        let (t, i) = (self.trustee, self.frontier.size());
        self.fail(Finding::new(
            FindingKind::EntriesMissing,
            Some(t),
            Some(i),
            format!(
                "trustee {t}: entry {i} is missing: the signed checkpoint says {} entries",
                self.head.size
            ),
        ));
    }

    /// Conclude: the root, and the comparison with the leaves seen earlier (`earlier_kept`:
    /// whether earlier leaves were passed at all).
    pub fn finish(mut self, earlier_kept: bool) -> LogVerdict {
        let t = self.trustee;
        if self.frontier.size() == self.head.size && self.frontier.root() != self.head.root {
            self.fail(Finding::new(
                FindingKind::RootMismatch,
                Some(t),
                None,
                format!(
                    "trustee {t}: the entries served do not hash to the root of its own signed checkpoint (size {})",
                    self.head.size
                ),
            ));
        }
        if let Some(i) = self.first_diff {
            self.fail(Finding::new(
                FindingKind::EntryChanged,
                Some(t),
                Some(i),
                format!(
                    "trustee {t}: entry {i} is not the entry seen at an earlier audit (changed, deleted, inserted or reordered from there on)"
                ),
            ));
        } else if earlier_kept && self.earlier > self.head.size {
            let n = self.head.size;
            self.fail(Finding::new(
                FindingKind::EntryChanged,
                Some(t),
                Some(n),
                format!("trustee {t}: entries from {n} on, seen at an earlier audit, are gone"),
            ));
        }
        LogVerdict {
            entries: self.frontier.size(),
            ok: self.ok,
            findings: self.findings,
        }
    }
}

/// One refusal entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefusalView {
    /// Trustee index.
    pub trustee: u16,
    /// Leaf index.
    pub entry: u64,
    /// Entry time.
    pub time: Timestamp,
    /// The stable reason code.
    pub reason: String,
    /// The warrant digest, if the request's warrant could be digested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warrant: Option<WarrantDigest>,
    /// Ciphertexts named by the entry.
    pub ciphertexts: u64,
}

/// Per warrant: what was released under it and how much of it was justified.
#[derive(Clone, Debug, Serialize)]
pub struct WarrantSummary {
    /// Envelope digest.
    pub digest: WarrantDigest,
    /// Warrant id (if disclosed).
    pub warrant_id: Option<String>,
    /// Salted digest of its case reference (`audit::public::case_digest`), with the oversight
    /// key and the policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_digest: Option<Digest32>,
    /// Case reference (if disclosed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<String>,
    /// Scope in words: targets, message ids, window (if disclosed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Validity: `not_before to not_after` (if disclosed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validity: Option<String>,
    /// Who signed it: `role (keyid …)` per signature — the issuer and the approver (if
    /// disclosed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
    /// The investigator's key id (if disclosed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub investigator: Option<KeyId>,
    /// The warrant it renews.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_warrant_id: Option<String>,
    /// Issuing authority (if disclosed).
    pub authority: Option<String>,
    /// Warrant type (if disclosed).
    pub warrant_type: Option<String>,
    /// Release limit (if disclosed).
    pub max_releases: Option<u64>,
    /// Some audited trustee logged a cancellation of it (or of a warrant it renews).
    pub cancelled: bool,
    /// The cancellation, when its text is known (disclosed, or its sealed copy in the logs):
    /// when, by whom and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<String>,
    /// Release entries (one per trustee and message).
    pub releases: u64,
    /// Distinct messages released by at least one trustee.
    pub messages_released: u64,
    /// Distinct messages released by at least k trustees.
    pub messages_readable: u64,
    /// Release entries not justified.
    pub unjustified: u64,
    /// Distinct messages with at least one unjustified release entry.
    pub messages_unjustified: u64,
    /// Release entries this auditor could not judge (`FindingKind::ReleaseNotJudged`): not
    /// counted as unjustified.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_judged: u64,
}

impl WarrantSummary {
    /// Nothing known yet about the warrant `digest`.
    fn new(digest: WarrantDigest) -> Self {
        WarrantSummary {
            digest,
            warrant_id: None,
            case_digest: None,
            case_reference: None,
            scope: None,
            validity: None,
            signed_by: None,
            investigator: None,
            parent_warrant_id: None,
            authority: None,
            warrant_type: None,
            max_releases: None,
            cancelled: false,
            cancellation: None,
            releases: 0,
            messages_released: 0,
            messages_readable: 0,
            unjustified: 0,
            messages_unjustified: 0,
            not_judged: 0,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A release entry as the judge kept it ([`Judge::release_at`]): what it released and its
/// leaf hash as logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoggedRelease {
    /// The warrant digest it names.
    pub warrant: Option<WarrantDigest>,
    /// The (first) ciphertext digest it names.
    pub ciphertext: Option<CiphertextDigest>,
    /// Its leaf hash, computed from the bytes as served.
    pub leaf: Digest32,
}

/// Everything the judgement concludes.
#[derive(Clone, Debug, Serialize)]
pub struct Judgement {
    /// Every release entry, in time order (a view of the judge's compact records: each
    /// judgement is built as it is read).
    pub releases: Releases,
    /// Every refusal entry, in time order.
    pub refusals: Vec<RefusalView>,
    /// Per warrant with a release, by digest.
    pub warrants: Vec<WarrantSummary>,
    /// Messages that became readable (a view of the same records).
    pub readable: Readable,
    /// Readable messages per issuing authority.
    pub per_authority: BTreeMap<String, u64>,
    /// Readable messages per month (`YYYY-MM`, of the k-th release).
    pub per_period: BTreeMap<String, u64>,
    /// One `unjustified-release` finding per unjustified entry.
    pub findings: Vec<Finding>,
    /// What the oversight view checked, and which checks could not be made.
    pub oversight: OversightSummary,
    /// The disclosures that verified against the policy and the logs.
    pub disclosures: Vec<DisclosureView>,
    /// The set's history: every ceremony the audited logs record.
    pub history: Vec<super::history::CeremonyView>,
    /// With [`Judge::carrying`]: per trustee every release of whose (judged) log was justified,
    /// what judging its later entries needs ([`super::carry`]).
    #[serde(skip)]
    pub carried: BTreeMap<u16, JudgedFacts>,
}

/// The oversight view's checks (issue 16): with the oversight key, every release's sealed
/// escrow header is opened and re-checked against the logged digest, the trustee set and the
/// warrant's scope; warrants are read from their sealed copies in the logs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct OversightSummary {
    /// The oversight private key was given.
    pub key_given: bool,
    /// Release entries judged.
    pub releases: u64,
    /// Release entries carrying an oversight copy.
    pub releases_with_copy: u64,
    /// Release entries whose sealed header was opened and checked (digest, proof, scope).
    pub headers_checked: u64,
    /// Of those, the released message was inside its warrant's scope.
    pub in_scope: u64,
    /// Release entries whose header, digest, proof or scope check failed.
    pub failed: u64,
    /// Distinct warrants whose sealed copy in the logs opened and matched its entry.
    pub warrants_from_log: u64,
    /// Distinct cancellations whose sealed copy in the logs opened and matched its entry.
    pub cancellations_from_log: u64,
    /// The checks that could not be made, in words (empty: every check was made).
    pub not_checked: Vec<String>,
}

#[derive(Clone, Debug)]
struct Cancel {
    trustee: u16,
    seq: u64,
    warrant: Option<WarrantDigest>,
    document: Option<Digest32>,
}

/// Collects the facts of every audited log, then judges them.
#[derive(Debug)]
pub struct Judge {
    threshold: u16,
    set: TrusteeSet,
    oversight: Option<PrivateKey>,
    /// Warrant-seen and cancellation entries with an oversight copy (kept only with the
    /// oversight key).
    sealed_warrants: Vec<(u16, LogEntry)>,
    policy: Option<Policy>,
    /// Every release entry, one fixed-size record each, in the order added.
    records: Vec<ReleaseRecord>,
    /// Per trustee, the ranges of `records` holding its entries, in log order.
    runs: BTreeMap<u16, Vec<core::ops::Range<usize>>>,
    /// The warrant digests and investigator key ids the records name.
    digests: Digests,
    /// Release entries with an oversight copy, per trustee in log order (kept only with the
    /// oversight key: the copy is opened when the release is judged).
    sealed_releases: BTreeMap<u16, VecDeque<LogEntry>>,
    cancellations: Vec<Cancel>,
    setups: HashMap<u16, Vec<(u64, Digest32)>>,
    refusals: Vec<RefusalView>,
    /// Per trustee: the set id of its first setup entry, and its keygen entries' transcripts.
    keygen: HashMap<u16, KeygenFacts>,
    /// Every warrant digest an audited log names (warrant-seen, release, refusal entries).
    logged_warrants: HashSet<WarrantDigest>,
    /// Per trustee, its setup, keygen and share-destroyed entries in log order (the set's
    /// history, [`super::history`]).
    ceremony_log: BTreeMap<u16, Vec<super::history::CeremonyEntry>>,
    /// With [`Judge::carrying`]: per trustee resumed, the facts of its log's judged part.
    carry: Option<BTreeMap<u16, JudgedFacts>>,
    /// The trustees whose entries were added (or resumed).
    trustees: BTreeSet<u16>,
}

/// A trustee's first setup entry's set id, and its keygen entries (sequence, transcript).
type KeygenFacts = (Option<Digest32>, Vec<(u64, Digest32)>);

impl Judge {
    /// A judge for the logs of `set`'s trustees, under `policy` (without one, no release can be
    /// shown justified).
    pub fn new(set: &TrusteeSet, policy: Option<Policy>) -> Self {
        Judge {
            threshold: set.threshold(),
            set: set.clone(),
            oversight: None,
            sealed_warrants: Vec::new(),
            policy,
            records: Vec::new(),
            runs: BTreeMap::new(),
            digests: Digests::default(),
            sealed_releases: BTreeMap::new(),
            cancellations: Vec::new(),
            setups: HashMap::new(),
            refusals: Vec::new(),
            keygen: HashMap::new(),
            logged_warrants: HashSet::new(),
            ceremony_log: BTreeMap::new(),
            carry: None,
            trustees: BTreeSet::new(),
        }
    }

    /// Also return, per trustee all of whose releases are justified, what judging the entries
    /// after those added needs ([`Judgement::carried`], the incremental audit).
    pub fn carrying(mut self) -> Self {
        self.carry.get_or_insert_with(BTreeMap::new);
        self
    }

    /// Resume `trustee`'s log after its part judged earlier (`facts`, from a
    /// [`Judgement::carried`] of that part): only the entries after it are added, and judged as
    /// a judgement of the whole log would judge them. Call before adding the trustee's entries;
    /// the documents the facts carry must be in the [`Documents`] judged with
    /// ([`JudgedFacts::add_documents`]). Implies [`Judge::carrying`].
    pub fn resume(&mut self, trustee: u16, facts: JudgedFacts) {
        for c in &facts.cancellations {
            self.cancellations.push(Cancel {
                trustee,
                seq: c.entry,
                warrant: c.warrant,
                document: c.document,
            });
        }
        if !facts.setups.is_empty() {
            let s = self.setups.entry(trustee).or_default();
            s.splice(0..0, facts.setups.iter().copied());
        }
        self.trustees.insert(trustee);
        self.carry
            .get_or_insert_with(BTreeMap::new)
            .insert(trustee, facts);
    }

    /// The oversight view: open the oversight copies in the logs with `key` (a key the policy
    /// names for oversight) and re-check every release's header and scope from the logs alone.
    pub fn with_oversight_key(mut self, key: PrivateKey) -> Self {
        self.oversight = Some(key);
        self
    }

    /// One decoded entry of `trustee`'s log (entries of one trustee in log order). Only the
    /// facts the judgement needs are kept: memory grows with releases, cancellations and
    /// refusals, not with the log.
    pub fn add(&mut self, trustee: u16, entry: LogEntry) {
        let leaf = entry.leaf_hash();
        self.add_logged(trustee, entry, leaf);
    }

    /// [`Judge::add`] for an entry whose leaf hash the caller computed from the bytes served
    /// (the auditor): `leaf` is what [`Judge::release_at`] proves receipts against.
    pub fn add_logged(&mut self, trustee: u16, entry: LogEntry, leaf: Digest32) {
        self.trustees.insert(trustee);
        if let Some(w) = entry.warrant
            && matches!(
                entry.kind,
                EntryKind::WarrantSeen | EntryKind::Release | EntryKind::Refusal
            )
        {
            self.logged_warrants.insert(w);
        }
        if let Some(document) = entry.document
            && matches!(
                entry.kind,
                EntryKind::Setup | EntryKind::Keygen | EntryKind::ShareDestroyed
            )
        {
            self.ceremony_log
                .entry(trustee)
                .or_default()
                .push(super::history::CeremonyEntry {
                    sequence: entry.sequence,
                    time: entry.time,
                    kind: entry.kind,
                    document,
                });
        }
        match entry.kind {
            EntryKind::Release => self.add_release(trustee, entry, leaf),
            EntryKind::WarrantSeen if self.oversight.is_some() && entry.sealed.is_some() => {
                self.sealed_warrants.push((trustee, entry))
            }
            EntryKind::Cancellation => {
                self.cancellations.push(Cancel {
                    trustee,
                    seq: entry.sequence,
                    warrant: entry.warrant,
                    document: entry.document,
                });
                if self.oversight.is_some() && entry.sealed.is_some() {
                    self.sealed_warrants.push((trustee, entry));
                }
            }
            EntryKind::Keygen => {
                if let Some(t) = entry.document {
                    let k = self.keygen.entry(trustee).or_default();
                    k.1.push((entry.sequence, t));
                }
            }
            EntryKind::Setup => {
                let k = self.keygen.entry(trustee).or_default();
                if k.0.is_none() {
                    k.0 = entry.document;
                }
                if let Some(p) = entry.policy {
                    self.setups
                        .entry(trustee)
                        .or_default()
                        .push((entry.sequence, p));
                }
            }
            EntryKind::Refusal => self.refusals.push(RefusalView {
                trustee,
                entry: entry.sequence,
                time: entry.time,
                reason: entry.reason.clone().unwrap_or_default(),
                warrant: entry.warrant,
                ciphertexts: entry.ciphertexts.len() as u64,
            }),
            _ => {}
        }
    }

    /// Keep a release entry as one fixed-size record (and, with the oversight key, its copy).
    fn add_release(&mut self, trustee: u16, entry: LogEntry, leaf: Digest32) {
        let mut flags = 0;
        if entry.warrant.is_none() || entry.ciphertexts.len() != 1 || entry.shares.len() != 1 {
            flags |= flag::MALFORMED;
        }
        if entry.sealed.is_some() {
            flags |= flag::SEALED;
        }
        if entry.warrant.is_none() {
            flags |= flag::NO_WARRANT;
        }
        if entry.ciphertexts.is_empty() {
            flags |= flag::NO_CIPHERTEXT;
        }
        let record = ReleaseRecord {
            sequence: entry.sequence,
            time: entry.time,
            ciphertext: entry.ciphertexts.first().copied().unwrap_or(ZERO_CT),
            leaf,
            warrant: self
                .digests
                .intern(entry.warrant.map(|w| w.digest()).unwrap_or(ZERO)),
            investigator: entry
                .investigator
                .map_or(NONE, |k| self.digests.intern(k.digest())),
            link: NONE,
            trustee,
            flags,
        };
        let at = self.records.len();
        self.records.push(record);
        let runs = self.runs.entry(trustee).or_default();
        match runs.last_mut() {
            Some(r) if r.end == at => r.end = at + 1,
            _ => runs.push(at..at + 1),
        }
        if self.oversight.is_some() && entry.sealed.is_some() {
            self.sealed_releases
                .entry(trustee)
                .or_default()
                .push_back(entry);
        }
    }

    /// Check a key-generation certificate against the set in use and the logs of the
    /// `audited` trustees: the certificate must verify against `set`
    /// (`dkg::Certificate::verify`), and each log must begin with the setup entry of that set
    /// (for a refreshed set: of the first set of its lineage) and hold a `keygen` entry with
    /// the certificate's transcript digest.
    pub fn check_keygen(
        &self,
        set: &TrusteeSet,
        cert: &crate::dkg::Certificate,
        audited: &[u16],
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        if let Err(e) = cert.verify(set) {
            out.push(Finding::new(
                FindingKind::KeygenMismatch,
                None,
                None,
                format!(
                    "the set in use is not the one the key-generation certificate certifies: {e}"
                ),
            ));
            return out;
        }
        for &t in audited {
            let (first_set, keygens) = self.keygen.get(&t).cloned().unwrap_or_default();
            // a refreshed set's logs began with the set it descends from
            if first_set != Some(set.origin().digest()) {
                out.push(Finding::new(
                    FindingKind::KeygenMismatch,
                    Some(t),
                    Some(0),
                    "the log does not begin with the setup entry of the certified set (or of the set it was refreshed from)".into(),
                ));
            }
            if !keygens.iter().any(|(_, d)| *d == cert.transcript) {
                out.push(Finding::new(
                    FindingKind::KeygenMismatch,
                    Some(t),
                    None,
                    format!(
                        "no keygen entry with the certificate's transcript {} in the log",
                        cert.transcript.short()
                    ),
                ));
            }
        }
        out
    }

    /// The release entry of `trustee` at leaf `index`, if one was added: what it released and
    /// its leaf hash as logged (what an inclusion proof is checked against).
    pub fn release_at(&self, trustee: u16, index: u64) -> Option<LoggedRelease> {
        // Entries of one trustee are added in log order.
        self.runs.get(&trustee)?.iter().find_map(|range| {
            let run = self.records.get(range.clone())?;
            let r = run
                .binary_search_by_key(&index, |r| r.sequence)
                .ok()
                .and_then(|i| run.get(i))?;
            Some(LoggedRelease {
                warrant: (!r.has(flag::NO_WARRANT))
                    .then(|| WarrantDigest::from_digest(self.digests.get(r.warrant))),
                ciphertext: (!r.has(flag::NO_CIPHERTEXT)).then_some(r.ciphertext),
                leaf: r.leaf,
            })
        })
    }

    /// The bytes the judge holds for the release entries added so far: one fixed-size record
    /// per entry (`RELEASE_RECORD_BYTES`), the distinct warrant digests and investigator key
    /// ids they name (32 bytes each, a handful per log, not one per entry), the ranges of each
    /// trustee's records, and — only with the oversight key — each entry's oversight copy until
    /// it is judged. Nothing is kept per message: what a message needs (which trustees released
    /// it, since when it is readable) is computed from the records.
    pub fn release_state_bytes(&self) -> usize {
        let copies: usize = self
            .sealed_releases
            .values()
            .flatten()
            .map(|e| {
                core::mem::size_of::<LogEntry>()
                    + e.sealed.as_ref().map_or(0, |s| {
                        s.body.len()
                            + s.recipients.len()
                                * core::mem::size_of::<super::oversight::SealedRecipient>()
                    })
            })
            .sum();
        self.records.len() * RELEASE_RECORD_BYTES
            + usize::try_from(self.digests.len()).unwrap_or(usize::MAX) * 32
            + self.runs.values().map(Vec::len).sum::<usize>()
                * core::mem::size_of::<core::ops::Range<usize>>()
            + copies
    }

    /// The positions in `records` of every trustee's entries, trustees ascending, each in log
    /// order (the order the node counted in).
    fn log_order(&self) -> impl Iterator<Item = usize> + '_ {
        self.runs.values().flatten().flat_map(Clone::clone)
    }

    /// The documents the judgement needs, by the trustee that logged them: the warrant of
    /// every release, and every cancellation (its own digest and the warrant it names).
    pub fn wanted(&self) -> BTreeSet<(u16, Digest32)> {
        let mut w = BTreeSet::new();
        for r in &self.records {
            if !r.has(flag::NO_WARRANT) {
                w.insert((r.trustee, self.digests.get(r.warrant)));
            }
        }
        for c in &self.cancellations {
            for d in [c.document, c.warrant.map(|w| w.digest())]
                .into_iter()
                .flatten()
            {
                w.insert((c.trustee, d));
            }
        }
        w
    }

    /// Judge every release entry against `docs`.
    pub fn judge(mut self, docs: &Documents) -> Judgement {
        let mut findings = Vec::new();
        let mut oversight = OversightSummary {
            key_given: self.oversight.is_some(),
            ..OversightSummary::default()
        };
        // Oversight view: the warrants sealed in the logs, bound by digest to their entries;
        // and the warrants the oversight body disclosed, verified against the policy and logs.
        let mut merged: Option<Documents> = None;
        if let Some(key) = &self.oversight {
            let mut opened = HashSet::new();
            for (t, e) in std::mem::take(&mut self.sealed_warrants) {
                match Sealed::open(&e, key) {
                    Ok(SealedDocument::Warrant(env)) if Some(env.digest()) == e.warrant => {
                        if opened.insert(env.digest().digest()) {
                            oversight.warrants_from_log += 1;
                        }
                        merged.get_or_insert_with(|| docs.clone()).add_warrant(env);
                    }
                    Ok(SealedDocument::Cancellation(env)) if Some(env.digest()) == e.document => {
                        if opened.insert(env.digest()) {
                            oversight.cancellations_from_log += 1;
                        }
                        merged
                            .get_or_insert_with(|| docs.clone())
                            .add_cancellation(env);
                    }
                    Ok(_) => findings.push(Finding::new(
                        FindingKind::BadOversightCopy,
                        Some(t),
                        Some(e.sequence),
                        format!(
                            "trustee {t} entry {}: the oversight copy holds another document than the entry names",
                            e.sequence
                        ),
                    )),
                    Err(OpenError::NotForThisKey(_)) => {}
                    Err(err) => findings.push(Finding::new(
                        FindingKind::BadOversightCopy,
                        Some(t),
                        Some(e.sequence),
                        format!("trustee {t} entry {}: {err}", e.sequence),
                    )),
                }
            }
        }
        // Oversight view: every release's sealed header opened (one key exchange per
        // ephemeral key) and its proof checked in batches, before the releases are judged.
        let mut headers: BTreeMap<u16, VecDeque<OpenedHeader>> = BTreeMap::new();
        if let Some(key) = &self.oversight {
            for (t, entries) in std::mem::take(&mut self.sealed_releases) {
                headers.insert(t, open_sealed_headers(entries, key, &self.set));
            }
        }
        let mut disclosures = Vec::new();
        for (source, d) in &docs.disclosures {
            let verified = match self.policy.as_ref() {
                None => Err("no --policy given: its oversight keys are unknown".to_string()),
                Some(p) => d.verify(p).map_err(|e| e.to_string()),
            }
            .and_then(|v| {
                if self.logged_warrants.contains(&v.payload.warrant_digest) {
                    Ok(v)
                } else {
                    Err(format!(
                        "warrant {} is in no audited log",
                        v.payload.warrant_digest.short()
                    ))
                }
            });
            match verified {
                Ok(v) => {
                    disclosures.push(DisclosureView::of(source, &v));
                    merged
                        .get_or_insert_with(|| docs.clone())
                        .add_warrant(v.warrant.envelope().clone());
                }
                Err(why) => findings.push(Finding::new(
                    FindingKind::BadDisclosure,
                    None,
                    None,
                    format!("disclosure {source}: {why}"),
                )),
            }
        }
        let docs = merged.as_ref().unwrap_or(docs);
        let policy_has_oversight = self
            .policy
            .as_ref()
            .is_some_and(|p| !p.oversight().is_empty());
        let case_salt = match (&self.oversight, &self.policy) {
            (Some(k), Some(p)) => Some(super::salt::public_salt(k, &p.digest())),
            _ => None,
        };
        let mut scopes: HashMap<WarrantDigest, ScopeMatcher> = HashMap::new();
        // Parsed warrants (format rules only) by digest, and each id's parent.
        let parsed: HashMap<WarrantDigest, Warrant> = docs
            .warrants
            .iter()
            .filter_map(|(d, env)| Warrant::parse(env).ok().map(|w| (*d, w)))
            .collect();
        // Parsed cancellations (format only) by digest: which id each stops, and why.
        let cancel_payloads: HashMap<Digest32, CancellationPayload> = docs
            .cancellations
            .iter()
            .filter_map(|(d, env)| env.parse_payload().ok().map(|p| (*d, p)))
            .collect();
        // The renewal links of every disclosed warrant (the one chain rule, shared with the
        // node: `warrant::RenewalChains`).
        let mut links = RenewalChains::new();
        for w in parsed.values() {
            links.record_warrant(w.payload());
        }
        let mut all_cancelled = links.clone();
        // Cancelled ids per trustee, with the entry that logged them.
        let mut cancelled: HashMap<(u16, String), u64> = HashMap::new();
        let mut cancelled_digests: HashSet<WarrantDigest> = HashSet::new();
        let mut cancel_by_digest: HashMap<(u16, WarrantDigest), u64> = HashMap::new();
        let mut by_trustee: HashMap<u16, Vec<(u64, String)>> = HashMap::new();
        for c in &self.cancellations {
            let id = c
                .document
                .and_then(|d| cancel_payloads.get(&d))
                .map(|p| p.warrant_id.clone())
                .or_else(|| {
                    c.warrant
                        .and_then(|d| parsed.get(&d))
                        .map(|w| w.id().to_string())
                });
            if let Some(w) = c.warrant {
                cancelled_digests.insert(w);
                let e = cancel_by_digest.entry((c.trustee, w)).or_insert(c.seq);
                *e = (*e).min(c.seq);
            }
            if let Some(id) = id {
                all_cancelled.cancel(&id);
                by_trustee
                    .entry(c.trustee)
                    .or_default()
                    .push((c.seq, id.clone()));
                let e = cancelled.entry((c.trustee, id)).or_insert(c.seq);
                *e = (*e).min(c.seq);
            }
        }
        for v in by_trustee.values_mut() {
            v.sort();
        }
        // Per trustee: the chains as its log stood at the release being judged.
        let mut chain_at: HashMap<u16, (RenewalChains, usize)> = HashMap::new();

        // Per trustee, in log order: the release limit counts in that order.
        let mut summaries: BTreeMap<WarrantDigest, WarrantSummary> = BTreeMap::new();
        // A warrant's verdict depends only on the warrant and the time judged at; a batch of
        // releases shares both, so each warrant's verdict is kept for the last time it was
        // judged at (one per warrant, not one per second of the log).
        // With the verdict, the key id of the warrant's investigator (a hash of its encoding,
        // compared with every release's).
        let mut verdicts: HashMap<u32, (Timestamp, Verdict)> = HashMap::new();
        // The release limit counts distinct ciphertexts per trustee per warrant id, in log
        // order. Rather than a set of every ciphertext, each record is linked to the one of the
        // same trustee, warrant id and ciphertext just before it (a sort of indices), and the
        // node's "released before" travels along the links (`flag::ADMITTED`).
        let mut ids: HashMap<String, u32> = HashMap::new();
        // Interned digest -> warrant id ([`NONE`]: not a warrant parsed).
        let mut id_of: Vec<u32> = Vec::new();
        for i in 0..self.digests.len() {
            let d = WarrantDigest::from_digest(self.digests.get(i));
            id_of.push(match parsed.get(&d) {
                Some(w) => {
                    let next = u32::try_from(ids.len()).unwrap_or(NONE);
                    *ids.entry(w.id().to_string()).or_insert(next)
                }
                None => NONE,
            });
        }
        // Resumed logs (`carry`): the node's counter as their judged part left it.
        let mut carry = self.carry.take();
        let mut prior: HashMap<(u16, u32), &BTreeSet<CiphertextDigest>> = HashMap::new();
        for (t, f) in carry.iter().flatten() {
            for (id, cts) in &f.released {
                let next = u32::try_from(ids.len()).unwrap_or(NONE);
                prior.insert((*t, *ids.entry(id.clone()).or_insert(next)), cts);
            }
        }
        let mut id_names = vec![String::new(); ids.len()];
        for (name, &i) in &ids {
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| id_names.get_mut(i)) {
                slot.clone_from(name);
            }
        }
        // Per trustee carried: whether every release was justified, and the ciphertexts newly
        // counted per warrant id.
        type NewlyCounted = (bool, BTreeMap<String, BTreeSet<CiphertextDigest>>);
        let mut carried_out: Option<BTreeMap<u16, NewlyCounted>> =
            carry.as_ref().map(|_| BTreeMap::new());
        let warrant_id = |r: &ReleaseRecord| {
            usize::try_from(r.warrant)
                .ok()
                .and_then(|w| id_of.get(w))
                .copied()
                .unwrap_or(NONE)
        };
        {
            let key = |r: &ReleaseRecord| (r.trustee, warrant_id(r), r.ciphertext);
            // Log order within a trustee is the order of positions (entries are added in log
            // order), so (key, position) sorts each group in log order. Sorted as integers:
            // (trustee, warrant id, 48 bits of the ciphertext) above the position.
            let mut order: Vec<u128> = self
                .log_order()
                .filter_map(|i| {
                    let r = self.records.get(i)?;
                    let coarse = (u128::from(r.trustee) << 80)
                        | (u128::from(warrant_id(r)) << 48)
                        | u128::from(prefix64(r.ciphertext.as_bytes()) >> 16);
                    Some(packed(coarse, u32::try_from(i).unwrap_or(NONE)))
                })
                .collect();
            sort_positions(&mut order, |p| {
                let r = usize::try_from(p).ok().and_then(|p| self.records.get(p));
                (r.map(key), p)
            });
            let mut prev: Option<(usize, (u16, u32, CiphertextDigest))> = None;
            for item in order {
                let i = usize::try_from(position(item)).unwrap_or(usize::MAX);
                let Some(r) = self.records.get_mut(i) else {
                    continue;
                };
                let k = key(r);
                if let Some((p, pk)) = prev
                    && pk == k
                {
                    r.link = u32::try_from(p).unwrap_or(NONE);
                }
                prev = Some((i, k));
            }
        }
        // (trustee, warrant id) -> distinct ciphertexts released: the node's counter.
        let mut counted: HashMap<(u16, u32), u64> = prior
            .iter()
            .map(|(k, cts)| (*k, cts.len() as u64))
            .collect();
        let mut reasons: Vec<Vec<Unjustified>> = Vec::new();
        let order: Vec<usize> = self.log_order().collect();
        for i in order {
            let Some(&rec) = self.records.get(i) else {
                continue;
            };
            let warrant = WarrantDigest::from_digest(self.digests.get(rec.warrant));
            let ct = rec.ciphertext;
            let trustee = rec.trustee;
            let mut admitted = usize::try_from(rec.link)
                .ok()
                .and_then(|p| self.records.get(p))
                .is_some_and(|p| p.has(flag::ADMITTED))
                || prior
                    .get(&(trustee, warrant_id(&rec)))
                    .is_some_and(|cts| cts.contains(&ct));
            let sum = summaries.entry(warrant).or_insert_with(|| {
                let mut s = WarrantSummary::new(warrant);
                if let Some(w) = parsed.get(&warrant) {
                    let pl = w.payload();
                    s.warrant_id = Some(pl.warrant_id.clone());
                    s.case_reference = Some(pl.case_reference.clone());
                    s.scope = Some(crate::warrant::describe::scope_words(&pl.scope));
                    s.validity = Some(format!("{} to {}", pl.not_before, pl.not_after));
                    s.signed_by = Some(crate::warrant::describe::signature_list(
                        &w.envelope().envelope().signatures,
                    ));
                    s.investigator = Some(w.investigator().key_id());
                    s.case_digest = case_salt
                        .as_ref()
                        .map(|salt| super::salt::case_digest(salt, &pl.case_reference));
                    s.parent_warrant_id = pl.parent_warrant_id.clone();
                    s.authority = Some(pl.issuing_authority.clone());
                    s.warrant_type = Some(pl.warrant_type.clone());
                    s.max_releases = pl.max_releases;
                }
                s
            });
            sum.releases += 1;
            let mut why: Vec<Unjustified> = Vec::new();
            if rec.has(flag::MALFORMED) {
                why.push(Unjustified::MalformedEntry);
            }
            match (docs.warrants.get(&warrant), self.policy.as_ref()) {
                (None, _) => why.push(Unjustified::WarrantNotDisclosed),
                (Some(_), None) => why.push(Unjustified::NoPolicy),
                (Some(env), Some(p)) => {
                    let trustee_policy = self
                        .setups
                        .get(&trustee)
                        .and_then(|s| s.iter().rev().find(|(seq, _)| *seq < rec.sequence))
                        .map(|(_, d)| *d);
                    if let Some(d) = trustee_policy
                        && d != p.digest()
                    {
                        why.push(Unjustified::OtherPolicyAtTheTime { policy: d });
                    }
                    let cached = verdicts
                        .entry(rec.warrant)
                        .or_insert_with(|| (rec.time, verdict_at(p, env, rec.time)));
                    if cached.0 != rec.time {
                        *cached = (rec.time, verdict_at(p, env, rec.time));
                    }
                    match &cached.1 {
                        Ok((vw, investigator)) => {
                            let inv = (rec.investigator != NONE)
                                .then(|| self.digests.get(rec.investigator));
                            if inv != Some(*investigator) {
                                why.push(Unjustified::WrongInvestigator);
                            }
                            let seen = counted.entry((trustee, warrant_id(&rec))).or_default();
                            if let Err(refusal) = ReleaseCounter::new(vw, *seen).admit(ct, admitted)
                            {
                                why.push(Unjustified::ReleaseLimit {
                                    refusal: refusal.detail,
                                });
                            }
                            if !admitted {
                                *seen += 1;
                                admitted = true;
                            }
                        }
                        Err(refusal) => why.push(Unjustified::WarrantFails {
                            refusal: format!("at {}: {refusal}", rec.time),
                        }),
                    }
                }
            }
            // Cancellations, by warrant id along the chain of renewals.
            let mut after: Option<(u64, String)> = cancel_by_digest
                .get(&(trustee, warrant))
                .copied()
                .filter(|&c| c < rec.sequence)
                .map(|c| {
                    let id = parsed
                        .get(&warrant)
                        .map(|w| w.id().to_string())
                        .unwrap_or_else(|| format!("(digest {})", warrant.short()));
                    (c, id)
                });
            if let Some(w) = parsed.get(&warrant) {
                let (chains, next) = chain_at
                    .entry(trustee)
                    .or_insert_with(|| (links.clone(), 0));
                let list = by_trustee
                    .get(&trustee)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                while let Some((seq, id)) = list.get(*next)
                    && *seq < rec.sequence
                {
                    chains.cancel(id);
                    *next += 1;
                }
                match chains.check_warrant(w.payload()) {
                    Ok(()) => {}
                    Err(ChainCancellation::Cancelled(id)) => {
                        let c = cancelled.get(&(trustee, id.clone())).copied().unwrap_or(0);
                        if after.as_ref().is_none_or(|(a, _)| c < *a) {
                            after = Some((c, id));
                        }
                    }
                    Err(_) => why.push(Unjustified::ChainTooLong),
                }
            }
            if let Some((entry, warrant_id)) = after {
                sum.cancelled = true;
                why.push(Unjustified::AfterCancellation { entry, warrant_id });
            }
            // Oversight view: the released header, from the log alone.
            oversight.releases += 1;
            if rec.has(flag::SEALED) {
                oversight.releases_with_copy += 1;
            }
            if self.oversight.is_some() {
                if let Some(w) = parsed.get(&warrant) {
                    scopes
                        .entry(warrant)
                        .or_insert_with(|| ScopeMatcher::new(&w.payload().scope));
                }
                let before = why.len();
                // The copies of a trustee's entries were kept in log order, one per record
                // that has one.
                let copy = if rec.has(flag::SEALED) {
                    headers.get_mut(&trustee).and_then(VecDeque::pop_front)
                } else {
                    None
                };
                let check = match copy {
                    Some(h) => h.finish(ct, scopes.get(&warrant)),
                    None => HeaderCheck::NoCopy,
                };
                match check {
                    HeaderCheck::Checked(None) => {
                        oversight.headers_checked += 1;
                        oversight.in_scope += 1;
                    }
                    HeaderCheck::Unscoped => oversight.headers_checked += 1,
                    HeaderCheck::Checked(Some(u)) => {
                        oversight.headers_checked += 1;
                        why.push(u);
                    }
                    HeaderCheck::NoCopy if policy_has_oversight => {
                        why.push(Unjustified::NoOversightCopy)
                    }
                    HeaderCheck::NoCopy => {}
                    HeaderCheck::Failed(u) => why.push(u),
                }
                if why.len() > before {
                    oversight.failed += 1;
                }
            }
            let justified = why.is_empty();
            if let Some(out) = carried_out.as_mut() {
                let (all, newly) = out.entry(trustee).or_insert((true, BTreeMap::new()));
                *all &= justified;
                if let (true, Some(id)) = (
                    justified,
                    usize::try_from(warrant_id(&rec))
                        .ok()
                        .and_then(|i| id_names.get(i)),
                ) {
                    newly.entry(id.clone()).or_default().insert(ct);
                }
            }
            // What this auditor lacked is not evidence against the trustee: a warrant it was
            // not shown (unless it holds the oversight key under a policy that makes every
            // trustee log a sealed copy of the warrant: then the copy's absence is the
            // trustee's fault), or no policy to judge by.
            let not_judged = !justified
                && why.iter().all(|u| match u {
                    Unjustified::NoPolicy => true,
                    Unjustified::WarrantNotDisclosed => {
                        !(self.oversight.is_some() && policy_has_oversight)
                    }
                    _ => false,
                });
            if not_judged {
                sum.not_judged += 1;
                let words: Vec<String> = why.iter().map(ToString::to_string).collect();
                findings.push(Finding::new(
                    FindingKind::ReleaseNotJudged,
                    Some(trustee),
                    Some(rec.sequence),
                    format!(
                        "trustee {} entry {}: release of ciphertext {} under warrant {} not judged: {}",
                        trustee,
                        rec.sequence,
                        ct.short(),
                        warrant.short(),
                        words.join("; ")
                    ),
                ));
            } else if !justified {
                sum.unjustified += 1;
                let words: Vec<String> = why.iter().map(ToString::to_string).collect();
                findings.push(Finding::new(
                    FindingKind::UnjustifiedRelease,
                    Some(trustee),
                    Some(rec.sequence),
                    format!(
                        "trustee {} entry {}: release of ciphertext {} under warrant {} NOT JUSTIFIED: {}",
                        trustee,
                        rec.sequence,
                        ct.short(),
                        warrant.short(),
                        words.join("; ")
                    ),
                ));
            }
            if let Some(r) = self.records.get_mut(i) {
                let mut f = r.flags;
                if admitted {
                    f |= flag::ADMITTED;
                }
                if justified {
                    f |= flag::JUSTIFIED;
                }
                if not_judged {
                    f |= flag::NOT_JUDGED;
                }
                r.flags = f;
                // The link has served (later records read only ADMITTED): from now on the
                // record's reasons.
                r.link = if justified {
                    NONE
                } else {
                    reasons.push(why);
                    u32::try_from(reasons.len() - 1).unwrap_or(NONE)
                };
            }
        }
        // A warrant is shown cancelled if any trustee logged a cancellation of it, its id or an
        // id it renews.
        for s in summaries.values_mut() {
            if cancelled_digests.contains(&s.digest)
                || parsed
                    .get(&s.digest)
                    .is_some_and(|w| all_cancelled.check_warrant(w.payload()).is_err())
            {
                s.cancelled = true;
            }
        }
        // Why it stopped: the cancellation's text, when known.
        for (d, c) in &docs.cancellations {
            let Some(p) = cancel_payloads.get(d) else {
                continue;
            };
            for s in summaries.values_mut().filter(|s| {
                s.digest == p.warrant_digest || s.warrant_id.as_deref() == Some(&p.warrant_id)
            }) {
                s.cancellation = Some(format!(
                    "cancelled at {} by {}: {}",
                    p.cancelled_at,
                    crate::warrant::describe::signature_list(&c.envelope().signatures),
                    if p.reason.is_empty() {
                        "(no reason given)"
                    } else {
                        p.reason.as_str()
                    }
                ));
            }
        }

        // The records in time order (the report's order), and in message order: which
        // messages became readable is one scan over the messages.
        let mut records = std::mem::take(&mut self.records);
        records.sort_unstable_by_key(|r| (r.time, r.trustee, r.sequence, r.ciphertext));
        let digests = std::mem::take(&mut self.digests);
        let by_message = super::compact::message_order(&records, &digests);
        let store = Store {
            records,
            digests,
            reasons,
            by_message,
            threshold: self.threshold,
        };
        let mut readable = 0usize;
        let mut per_authority: BTreeMap<String, u64> = BTreeMap::new();
        let mut per_period: BTreeMap<String, u64> = BTreeMap::new();
        for g in store.messages() {
            let since = g.readable_since(self.threshold);
            if let Some(s) = summaries.get_mut(&g.warrant) {
                s.messages_released += 1;
                if since.is_some() {
                    s.messages_readable += 1;
                }
                if g.unjustified {
                    s.messages_unjustified += 1;
                }
            }
            if let Some(since) = since {
                readable += 1;
                let auth = summaries
                    .get(&g.warrant)
                    .and_then(|s| s.authority.clone())
                    .unwrap_or_else(|| "(warrant not disclosed)".into());
                *per_authority.entry(auth).or_default() += 1;
                let period = since.to_rfc3339().get(..7).unwrap_or("?").to_string();
                *per_period.entry(period).or_default() += 1;
            }
        }
        let (releases, readable) = super::compact::views(store, readable);
        let mut refusals = std::mem::take(&mut self.refusals);
        refusals.sort_by_key(|r| (r.time, r.trustee, r.entry));
        if !oversight.key_given {
            oversight.not_checked = vec![
                "scope: whether each released message's label (accounts, time, message id) lies inside its warrant's scope — needs --oversight-key".into(),
                "headers: whether each release entry's sealed escrow header has the logged digest and a valid TDH2 proof — needs --oversight-key".into(),
            ];
        } else if oversight.releases > oversight.releases_with_copy {
            oversight.not_checked.push(format!(
                "scope of {} release entr{} without an oversight copy (logged under a policy without oversight keys, or before log entry version 3)",
                oversight.releases - oversight.releases_with_copy,
                if oversight.releases - oversight.releases_with_copy == 1 { "y" } else { "ies" }
            ));
        }
        // The incremental audit: what judging each trustee's later entries needs.
        let mut carried = BTreeMap::new();
        if let (Some(mut out), Some(prior)) = (carried_out, carry.as_mut()) {
            for &t in &self.trustees {
                let (all, newly) = out.remove(&t).unwrap_or((true, BTreeMap::new()));
                if !all {
                    continue;
                }
                let mut f = prior.remove(&t).unwrap_or_default();
                for (id, cts) in newly {
                    f.released.entry(id).or_default().extend(cts);
                }
                f.cancellations = self
                    .cancellations
                    .iter()
                    .filter(|c| c.trustee == t)
                    .map(|c| CarriedCancellation {
                        entry: c.seq,
                        warrant: c.warrant,
                        document: c.document,
                    })
                    .collect();
                f.setups = self.setups.get(&t).cloned().unwrap_or_default();
                let mut warrants: BTreeMap<Digest32, WarrantEnvelope> = f
                    .warrants
                    .drain(..)
                    .map(|w| (w.digest().digest(), w))
                    .collect();
                let named = f.cancellations.iter().filter_map(|c| c.warrant);
                for d in self.logged_warrants.iter().copied().chain(named) {
                    if let Some(w) = docs.warrants.get(&d) {
                        warrants.insert(d.digest(), w.clone());
                    }
                }
                f.warrants = warrants.into_values().collect();
                let mut cancels: BTreeMap<Digest32, CancellationEnvelope> = f
                    .cancellation_documents
                    .drain(..)
                    .map(|c| (c.digest(), c))
                    .collect();
                for d in f.cancellations.iter().filter_map(|c| c.document) {
                    if let Some(c) = docs.cancellations.get(&d) {
                        cancels.insert(d, c.clone());
                    }
                }
                f.cancellation_documents = cancels.into_values().collect();
                carried.insert(t, f);
            }
        }
        Judgement {
            releases,
            refusals,
            warrants: summaries.into_values().collect(),
            readable,
            per_authority,
            per_period,
            findings,
            oversight,
            disclosures,
            history: super::history::ceremonies_of(&self.set, &self.ceremony_log),
            carried,
        }
    }
}

/// Bytes the judge keeps per release entry (`Judge::release_state_bytes`).
pub const RELEASE_RECORD_BYTES: usize = core::mem::size_of::<ReleaseRecord>();

/// The verdict on warrant `env` under policy `p` at time `at` (the refusal in words).
/// A warrant verified at a time, with its investigator's key id; or why it fails then.
type Verdict = Result<(VerifiedWarrant, Digest32), String>;

/// A warrant's verdict at `at`.
fn verdict_at(p: &Policy, env: &WarrantEnvelope, at: Timestamp) -> Verdict {
    let vw = p.verify(env, at, &|_| false).map_err(|r| r.to_string())?;
    let investigator = vw.investigator().key_id().digest();
    Ok((vw, investigator))
}

enum HeaderCheck {
    /// The header was opened: `None` when digest, proof and scope hold.
    Checked(Option<Unjustified>),
    /// Digest and proof hold; the warrant is unknown, so the scope was not checked.
    Unscoped,
    /// The entry carries no copy for any key.
    NoCopy,
    /// The copy could not be opened or checked.
    Failed(Unjustified),
}

/// A release's sealed header, opened and its proof checked (its digest and scope are checked
/// against the release by [`OpenedHeader::finish`]).
enum OpenedHeader {
    /// The header: its digest, and its label if its proof holds under the set.
    Header {
        digest: CiphertextDigest,
        checked: Result<Label, String>,
    },
    /// No header to check: the copy is missing or could not be read.
    Not(HeaderCheck),
}

/// Sealed headers opened per round of the batch check (bounds the multi-scalar
/// multiplication's memory).
const HEADER_BATCH: usize = 512;

/// Open the sealed headers of one trustee's release entries, in log order, with the oversight
/// key: one key exchange per ephemeral key (`ecies::Receiver`), and every version 2 header's
/// proof checked in batches of [`HEADER_BATCH`] (`v2::ciphertext::check_batch`, which names
/// each bad one); the same results as opening and checking each alone.
fn open_sealed_headers(
    entries: VecDeque<LogEntry>,
    key: &PrivateKey,
    set: &TrusteeSet,
) -> VecDeque<OpenedHeader> {
    let mut receiver = crate::ecies::Receiver::new(key);
    let mut out = VecDeque::with_capacity(entries.len());
    let mut entries = entries.into_iter().peekable();
    while entries.peek().is_some() {
        let mut chunk: Vec<OpenedHeader> = Vec::with_capacity(HEADER_BATCH);
        let mut v2: Vec<(usize, crate::v2::EscrowCiphertextV2)> = Vec::new();
        for e in entries.by_ref().take(HEADER_BATCH) {
            let opened = match Sealed::open_with(&e, &mut receiver) {
                Ok(SealedDocument::HeaderV1(h)) => OpenedHeader::Header {
                    digest: h.digest(),
                    checked: h
                        .check(set)
                        .map(|v| v.label().clone())
                        .map_err(|e| e.to_string()),
                },
                Ok(SealedDocument::HeaderV2(h)) => {
                    v2.push((chunk.len(), h));
                    // Filled in by the batch check below.
                    OpenedHeader::Not(HeaderCheck::NoCopy)
                }
                Ok(SealedDocument::Warrant(_) | SealedDocument::Cancellation(_)) => {
                    OpenedHeader::Not(HeaderCheck::Failed(Unjustified::OversightCopyUnreadable {
                        why: "it holds a warrant or cancellation, not an escrow header".into(),
                    }))
                }
                Err(OpenError::NotSealed) => OpenedHeader::Not(HeaderCheck::NoCopy),
                Err(err) => {
                    OpenedHeader::Not(HeaderCheck::Failed(Unjustified::OversightCopyUnreadable {
                        why: err.to_string(),
                    }))
                }
            };
            chunk.push(opened);
        }
        let (at, cts): (Vec<usize>, Vec<crate::v2::EscrowCiphertextV2>) = v2.into_iter().unzip();
        let checked = crate::v2::ciphertext::check_batch(set, &cts);
        for ((pos, ct), res) in at.into_iter().zip(&cts).zip(checked) {
            if let Some(slot) = chunk.get_mut(pos) {
                *slot = match res {
                    Ok(v) => OpenedHeader::Header {
                        digest: v.digest(),
                        checked: Ok(v.label().clone()),
                    },
                    Err(e) => OpenedHeader::Header {
                        digest: ct.digest(),
                        checked: Err(e.to_string()),
                    },
                };
            }
        }
        out.extend(chunk);
    }
    out
}

impl OpenedHeader {
    /// The header's check against the release: digest = the logged ciphertext digest `ct`, a
    /// valid proof, label inside `scope` (when the warrant is known).
    fn finish(self, ct: CiphertextDigest, scope: Option<&ScopeMatcher>) -> HeaderCheck {
        let (digest, checked) = match self {
            OpenedHeader::Header { digest, checked } => (digest, checked),
            OpenedHeader::Not(c) => return c,
        };
        if digest != ct {
            return HeaderCheck::Checked(Some(Unjustified::HeaderMismatch));
        }
        let label = match checked {
            Ok(l) => l,
            Err(why) => return HeaderCheck::Checked(Some(Unjustified::HeaderInvalid { why })),
        };
        match scope {
            None => HeaderCheck::Unscoped,
            Some(m) => match m.check(&label) {
                Ok(()) => HeaderCheck::Checked(None),
                Err(miss) => HeaderCheck::Checked(Some(Unjustified::OutOfScope {
                    why: m.explain(miss),
                })),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use crate::codec::V1;
    use crate::keys::PrivateKey;
    use crate::trustee::deal;
    use crate::warrant::Role;

    const T0: i64 = 1_800_000_000;

    struct Fx {
        set: TrusteeSet,
        policy: Policy,
        issuer: PrivateKey,
        judge: PrivateKey,
        inv: PrivateKey,
    }

    fn fx() -> Fx {
        let mut rng = rand::rng();
        let d = deal(3, 2, &mut rng).unwrap();
        let issuer = PrivateKey::generate(&mut rng);
        let judge = PrivateKey::generate(&mut rng);
        let policy = crate::test_fixtures::double_lock_policy(&issuer, &judge);
        Fx {
            set: d.set,
            policy,
            issuer,
            judge,
            inv: PrivateKey::generate(&mut rng),
        }
    }

    fn warrant(
        fx: &Fx,
        id: &str,
        case: &str,
        max: Option<u64>,
        parent: Option<&str>,
    ) -> WarrantEnvelope {
        let p = crate::test_fixtures::payload_around(T0, &fx.inv.public(), id, case, max, parent);
        let mut env = WarrantEnvelope::sign_new(&p, &fx.issuer, Role::Issuer).unwrap();
        env.add_signature(&fx.judge, Role::Judicial).unwrap();
        env
    }

    fn cancellation(fx: &Fx, w: &WarrantEnvelope, id: &str) -> CancellationEnvelope {
        CancellationEnvelope::sign_new(
            &CancellationPayload {
                version: V1::default(),
                warrant_id: id.into(),
                warrant_digest: w.digest(),
                cancelled_at: Timestamp(T0),
                reason: String::new(),
            },
            &fx.issuer,
            Role::Issuer,
        )
        .unwrap()
    }

    fn ct(i: u8) -> CiphertextDigest {
        CiphertextDigest::from_bytes([i; 32])
    }

    fn release(fx: &Fx, seq: u64, w: &WarrantEnvelope, c: CiphertextDigest) -> LogEntry {
        LogEntry::release(
            seq,
            Timestamp(T0),
            w.digest(),
            c,
            Digest32::sha256(&[seq as u8, c.as_bytes()[0]]),
            fx.inv.public().key_id(),
        )
    }

    /// A fresh oversight key and the fixture's policy naming it.
    fn with_oversight_key(fx: &Fx) -> (PrivateKey, Policy) {
        let ipc = PrivateKey::generate(&mut rand::rng());
        let policy = fx
            .policy
            .clone()
            .with_oversight(vec![crate::warrant::Oversight {
                name: "ipc".into(),
                key: ipc.public(),
            }])
            .unwrap();
        (ipc, policy)
    }

    fn reasons(j: &Judgement, trustee: u16, entry: u64) -> Vec<Unjustified> {
        j.releases
            .iter()
            .find(|r| r.trustee == trustee && r.entry == entry)
            .unwrap()
            .reasons
            .clone()
    }

    /// Trustee `trustee`'s release entries `entries` are all justified.
    fn assert_justified(j: &Judgement, trustee: u16, entries: std::ops::RangeInclusive<u64>) {
        for e in entries {
            let r = reasons(j, trustee, e);
            assert!(r.is_empty(), "entry {e}: {r:?}");
        }
    }

    #[test]
    fn the_judge_keeps_a_fixed_number_of_bytes_per_release_entry_and_nothing_per_message() {
        // The record is 96 bytes: sequence, time, ciphertext digest, leaf hash, two interned
        // indices, a link, the trustee and flags. A format change that grows it shows here.
        assert_eq!(RELEASE_RECORD_BYTES, 96);
        let fx = fx();
        let w = warrant(&fx, "w-1", "case A", None, None);
        let n = 5_000u64;
        let grown = |distinct: bool| {
            let mut j = Judge::new(&fx.set, Some(fx.policy.clone()));
            assert_eq!(j.release_state_bytes(), 0);
            for seq in 0..n {
                let c = if distinct {
                    CiphertextDigest::from_bytes(*Digest32::sha256(&seq.to_be_bytes()).as_bytes())
                } else {
                    ct(1)
                };
                j.add(1, release(&fx, seq, &w, c));
            }
            j.release_state_bytes()
        };
        // n entries of one message, or of n messages: the same state, a record per entry and
        // the two digests they name (warrant, investigator), one run of records.
        let expected = n as usize * RELEASE_RECORD_BYTES
            + 2 * 32
            + core::mem::size_of::<core::ops::Range<usize>>();
        assert_eq!(grown(false), expected);
        assert_eq!(grown(true), expected);
    }

    #[test]
    fn a_message_is_readable_from_its_kth_trustee_whatever_order_the_logs_come_in() {
        // k = 2 of 3. Trustee 3 releases first (T0), trustee 1 at T0+5, trustee 2 at T0+9:
        // readable since T0+5. Entries of the trustees arrive interleaved, and trustee 1
        // releases the message twice (its earliest time counts).
        let fx = fx();
        let w = warrant(&fx, "w-1", "case A", None, None);
        let mut docs = Documents::default();
        docs.add_warrant(w.clone());
        let at = |seq: u64, c: CiphertextDigest, dt: i64| {
            let mut e = release(&fx, seq, &w, c);
            e.time = Timestamp(T0 + dt);
            e
        };
        let mut j = Judge::new(&fx.set, Some(fx.policy.clone()));
        j.add(1, at(0, ct(1), 7));
        j.add(3, at(0, ct(1), 0));
        j.add(1, at(1, ct(1), 5));
        j.add(2, at(0, ct(1), 9));
        j.add(2, at(1, ct(2), 9));
        let j = j.judge(&docs);
        assert_eq!(j.releases.len(), 5);
        assert_eq!(j.readable.len(), 1);
        let r: Vec<ReadableMessage> = j.readable.iter().collect();
        assert_eq!(r[0].ciphertext, ct(1));
        assert_eq!(r[0].trustees, vec![1, 2, 3]);
        assert_eq!(r[0].readable_since, Timestamp(T0 + 5));
        // in time order, then trustee, then entry
        let order: Vec<(u16, u64)> = j.releases.iter().map(|r| (r.trustee, r.entry)).collect();
        assert_eq!(order, vec![(3, 0), (1, 1), (1, 0), (2, 0), (2, 1)]);
        let s = &j.warrants[0];
        assert_eq!(
            (s.releases, s.messages_released, s.messages_readable),
            (5, 2, 1)
        );
        // the JSON lists are the views, written as arrays
        let v = serde_json::to_value(&j).unwrap();
        assert_eq!(v["releases"].as_array().unwrap().len(), 5);
        assert_eq!(
            v["readable"][0]["readable_since"],
            serde_json::json!(Timestamp(T0 + 5))
        );
    }

    #[test]
    fn the_release_limit_is_counted_per_warrant_id_as_the_node_counts_it() {
        // Two envelopes with the same warrant id (e.g. re-issued with another case text) share
        // one limit of 2 at one trustee; the node counts per id, so must the auditor.
        let fx = fx();
        let a = warrant(&fx, "w-1", "case A", Some(2), None);
        let b = warrant(&fx, "w-1", "case B", Some(2), None);
        assert_ne!(a.digest(), b.digest());
        let mut docs = Documents::default();
        docs.add_warrant(a.clone());
        docs.add_warrant(b.clone());
        let mut judge = Judge::new(&fx.set, Some(fx.policy.clone()));
        judge.add(
            1,
            LogEntry::setup(0, Timestamp(T0 - 10), fx.set.id(), fx.policy.digest()),
        );
        judge.add(1, release(&fx, 1, &a, ct(1)));
        judge.add(1, release(&fx, 2, &a, ct(2)));
        judge.add(1, release(&fx, 3, &a, ct(1))); // again: costs nothing
        judge.add(1, release(&fx, 4, &b, ct(3))); // a third message under the id
        // another trustee has a limit of its own
        judge.add(2, release(&fx, 0, &b, ct(3)));
        let j = judge.judge(&docs);
        assert_justified(&j, 1, 1..=3);
        let r = reasons(&j, 1, 4);
        assert!(
            matches!(&r[..], [Unjustified::ReleaseLimit { refusal }] if refusal.contains("limit of 2")),
            "{r:?}"
        );
        assert!(reasons(&j, 2, 0).is_empty());
        assert_eq!(j.findings.len(), 1);
        assert_eq!(j.findings[0].code, FindingKind::UnjustifiedRelease);
        assert_eq!(
            (j.findings[0].trustee, j.findings[0].entry),
            (Some(1), Some(4))
        );
    }

    #[test]
    fn ciphertexts_alike_in_their_first_bytes_are_still_counted_apart() {
        // The judge sorts records by integers holding the first bytes of each ciphertext
        // digest, then by the whole digest where those tie: digests that differ only in their
        // last byte must still be told apart for the release limit and for readability.
        let tied = |i: u8| {
            let mut b = [0xab; 32];
            b[31] = i;
            CiphertextDigest::from_bytes(b)
        };
        let fx = fx();
        let w = warrant(&fx, "w-1", "case A", Some(2), None);
        let mut docs = Documents::default();
        docs.add_warrant(w.clone());
        let mut judge = Judge::new(&fx.set, Some(fx.policy.clone()));
        for t in [1, 2] {
            judge.add(
                t,
                LogEntry::setup(0, Timestamp(T0 - 10), fx.set.id(), fx.policy.digest()),
            );
        }
        judge.add(1, release(&fx, 1, &w, tied(1)));
        judge.add(1, release(&fx, 2, &w, tied(2)));
        judge.add(1, release(&fx, 3, &w, tied(1))); // again: costs nothing
        judge.add(1, release(&fx, 4, &w, tied(3))); // a third message: over the limit
        judge.add(2, release(&fx, 1, &w, tied(2)));
        judge.add(2, release(&fx, 2, &w, tied(3)));
        let j = judge.judge(&docs);
        assert_justified(&j, 1, 1..=3);
        assert!(
            matches!(&reasons(&j, 1, 4)[..], [Unjustified::ReleaseLimit { .. }]),
            "{:?}",
            reasons(&j, 1, 4)
        );
        // k = 2: tied(2) and tied(3) were released by both trustees, tied(1) by one.
        let readable: Vec<CiphertextDigest> = j.readable.iter().map(|m| m.ciphertext).collect();
        assert_eq!(readable, vec![tied(2), tied(3)]);
    }

    #[test]
    fn a_renewal_released_after_its_parent_was_cancelled_is_unjustified() {
        // Chain: w-1 <- w-2 (renews w-1) <- w-3 (renews w-2). w-1 is cancelled at entry 2.
        let fx = fx();
        let w1 = warrant(&fx, "w-1", "case", None, None);
        let w2 = warrant(&fx, "w-2", "case", None, Some("w-1"));
        let w3 = warrant(&fx, "w-3", "case", None, Some("w-2"));
        let c1 = cancellation(&fx, &w1, "w-1");
        let mut docs = Documents::default();
        for w in [&w1, &w2, &w3] {
            docs.add_warrant(w.clone());
        }
        docs.add_cancellation(c1.clone());
        let mut judge = Judge::new(&fx.set, Some(fx.policy.clone()));
        judge.add(1, release(&fx, 0, &w2, ct(1))); // before the cancellation: fine
        judge.add(1, release(&fx, 1, &w3, ct(2))); // before: fine
        judge.add(
            1,
            LogEntry::cancellation(2, Timestamp(T0), w1.digest(), c1.digest()),
        );
        judge.add(1, release(&fx, 3, &w2, ct(3)));
        judge.add(1, release(&fx, 4, &w3, ct(4)));
        // another trustee never saw the cancellation: its releases are its own business
        judge.add(2, release(&fx, 0, &w3, ct(4)));
        assert!(judge.wanted().contains(&(1, c1.digest())));
        let j = judge.judge(&docs);
        assert!(reasons(&j, 1, 0).is_empty());
        assert!(reasons(&j, 1, 1).is_empty());
        for e in [3, 4] {
            assert_eq!(
                reasons(&j, 1, e),
                vec![Unjustified::AfterCancellation {
                    entry: 2,
                    warrant_id: "w-1".into()
                }],
                "entry {e}"
            );
        }
        assert!(reasons(&j, 2, 0).is_empty());
        assert!(j.warrants.iter().all(|w| w.cancelled));
        // Without the cancellation document the id is still known from the cancelled
        // warrant's digest (w-1 disclosed).
        let mut judge = Judge::new(&fx.set, Some(fx.policy.clone()));
        judge.add(
            1,
            LogEntry::cancellation(0, Timestamp(T0), w1.digest(), c1.digest()),
        );
        judge.add(1, release(&fx, 1, &w3, ct(5)));
        let mut docs2 = docs.clone();
        docs2.cancellations.clear();
        let j = judge.judge(&docs2);
        assert!(matches!(
            &reasons(&j, 1, 1)[..],
            [Unjustified::AfterCancellation { entry: 0, .. }]
        ));
    }

    /// The incremental audit (issue 17, `carry`): a log judged in rounds, each round resuming
    /// from what the last left (`Judgement::carried`, serialized and read back as the auditing
    /// witness stores it) and given only the documents it carries plus the new ones, is judged
    /// as one judgement of the whole log: a release limit crossed in a later round than the
    /// releases that used it up (a re-release of a ciphertext released in an earlier round
    /// costing nothing), a cancellation logged in an earlier round than the release of a
    /// renewal it forbids.
    #[test]
    fn a_log_judged_in_rounds_is_judged_as_the_whole_log() {
        let fx = fx();
        let a = warrant(&fx, "w-1", "case A", Some(3), None);
        let b = warrant(&fx, "w-1", "case B", Some(3), None); // same id: same limit
        let p = warrant(&fx, "w-p", "case", None, None);
        let r = warrant(&fx, "w-r", "case", None, Some("w-p"));
        let cp = cancellation(&fx, &p, "w-p");
        let entries = vec![
            LogEntry::setup(0, Timestamp(T0 - 10), fx.set.id(), fx.policy.digest()),
            release(&fx, 1, &a, ct(1)),
            release(&fx, 2, &a, ct(2)),
            release(&fx, 3, &r, ct(7)), // before the cancellation: fine
            LogEntry::cancellation(4, Timestamp(T0), p.digest(), cp.digest()),
            // round 2
            release(&fx, 5, &a, ct(1)), // again: costs nothing
            release(&fx, 6, &a, ct(3)), // the third of three
            // round 3
            release(&fx, 7, &b, ct(4)), // a fourth message under w-1: over the limit
            release(&fx, 8, &r, ct(8)), // renews w-p, cancelled in round 1
            release(&fx, 9, &a, ct(2)), // again: costs nothing
            release(&fx, 10, &r, ct(7)), // again, but after the cancellation
        ];
        let mut all = Documents::default();
        for w in [&a, &b, &p, &r] {
            all.add_warrant(w.clone());
        }
        all.add_cancellation(cp.clone());
        let outcome = |j: &Judgement| -> Vec<(u64, Vec<Unjustified>)> {
            j.releases.iter().map(|r| (r.entry, r.reasons)).collect()
        };
        let whole = {
            let mut judge = Judge::new(&fx.set, Some(fx.policy.clone()));
            for e in &entries {
                judge.add(1, e.clone());
            }
            judge.judge(&all)
        };

        let mut carried: Option<String> = None;
        let mut by_rounds = Vec::new();
        for (round, range) in [0..5, 5..7, 7..11].into_iter().enumerate() {
            let mut judge = Judge::new(&fx.set, Some(fx.policy.clone())).carrying();
            // The documents: the first round is shown all; later rounds only what the carry
            // holds, plus a warrant first named in round 3.
            let mut docs = if round == 0 {
                all.clone()
            } else {
                Documents::default()
            };
            if let Some(json) = &carried {
                let c = crate::audit::carry::LogCarry::from_json(json).unwrap();
                c.facts.add_documents(&mut docs);
                judge.resume(1, c.facts);
            }
            if round == 2 {
                docs.add_warrant(b.clone());
            }
            for e in &entries[range.clone()] {
                judge.add(1, e.clone());
            }
            let j = judge.judge(&docs);
            by_rounds.extend(outcome(&j));
            match round {
                0 | 1 => {
                    assert!(j.findings.is_empty(), "round {round}: {:?}", j.findings);
                    let facts = j.carried.get(&1).unwrap().clone();
                    let mut frontier = Frontier::new();
                    for e in &entries[..range.end] {
                        frontier.push(e.leaf_hash());
                    }
                    let c = crate::audit::carry::LogCarry::new(
                        1,
                        "o".into(),
                        "note".into(),
                        &frontier,
                        facts,
                    );
                    carried = Some(c.to_json());
                }
                _ => {
                    // a round with an unjustified release leaves nothing to resume from
                    assert!(j.carried.is_empty());
                    assert_eq!(j.findings.len(), 3, "{:?}", j.findings);
                }
            }
        }
        assert_eq!(by_rounds, outcome(&whole));
        let reasons_at = |e: u64| {
            by_rounds
                .iter()
                .find(|(n, _)| *n == e)
                .map(|(_, r)| r.clone())
                .unwrap()
        };
        assert!(
            matches!(&reasons_at(7)[..], [Unjustified::ReleaseLimit { refusal }] if refusal.contains("limit of 3")),
            "{:?}",
            reasons_at(7)
        );
        for e in [8, 10] {
            assert_eq!(
                reasons_at(e),
                vec![Unjustified::AfterCancellation {
                    entry: 4,
                    warrant_id: "w-p".into()
                }]
            );
        }
        for e in [1, 2, 3, 5, 6, 9] {
            assert!(reasons_at(e).is_empty(), "entry {e}: {:?}", reasons_at(e));
        }
        // What the carry held after round 2: the node's counter, the cancellation, the setup.
        let c = crate::audit::carry::LogCarry::from_json(carried.as_deref().unwrap()).unwrap();
        assert_eq!(c.head.size, 7);
        assert_eq!(
            c.facts.released.get("w-1").map(|s| s.len()),
            Some(3),
            "{:?}",
            c.facts.released
        );
        assert_eq!(c.facts.cancellations.len(), 1);
        assert_eq!(c.facts.setups, vec![(0, fx.policy.digest())]);
        // A frontier that does not hash to the head is refused.
        let bad = carried
            .unwrap()
            .replace(&c.head.root.to_hex(), &ct(9).to_hex());
        assert!(matches!(
            crate::audit::carry::LogCarry::from_json(&bad),
            Err(crate::audit::carry::CarryError::Frontier { size: 7, .. })
        ));
    }

    #[test]
    fn findings_group_by_kind_and_trustee() {
        let mut f = Vec::new();
        for e in (0..1000).rev() {
            f.push(Finding::new(
                FindingKind::UnjustifiedRelease,
                Some(1),
                Some(e),
                format!("entry {e}"),
            ));
        }
        f.push(Finding::new(
            FindingKind::PolicyDiffers,
            Some(1),
            None,
            "p".into(),
        ));
        f.push(Finding::new(
            FindingKind::UnjustifiedRelease,
            Some(2),
            Some(7),
            "x".into(),
        ));
        let g = group_findings(&f);
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].code, FindingKind::UnjustifiedRelease);
        assert_eq!((g[0].trustee, g[0].count), (Some(1), 1000));
        assert_eq!(g[0].entries, vec![0, 1, 2, 3, 4]);
        assert_eq!(g[1].trustee, Some(2));
        assert_eq!(g[2].severity, Severity::Warning);
    }

    #[test]
    fn log_check_names_the_first_changed_entry_and_a_bad_root() {
        let e: Vec<LogEntry> = (0..5)
            .map(|i| LogEntry::refusal(i, Timestamp(T0), None, vec![], "malformed"))
            .collect();
        let mut fr = Frontier::new();
        let leaves: Vec<Digest32> = e.iter().map(LogEntry::leaf_hash).collect();
        for l in &leaves {
            fr.push(*l);
        }
        let head = fr.head();
        // honest
        let mut c = LogCheck::new(1, head, 3);
        for (i, x) in e.iter().enumerate() {
            c.push(&x.to_bytes(), Some(leaves[i]), leaves.get(i).copied());
        }
        let v = c.finish(true);
        assert!(v.ok && v.findings.is_empty(), "{:?}", v.findings);
        // entry 1 differs from what was seen before; the root does not match either
        let mut c = LogCheck::new(1, head, 3);
        for (i, x) in e.iter().enumerate() {
            let mut x = x.clone();
            if i == 1 {
                x.time = Timestamp(T0 + 1);
            }
            let b = x.to_bytes();
            c.push(&b, Some(leaf_hash(&b)), leaves.get(i).copied());
        }
        let v = c.finish(true);
        let codes: Vec<_> = v.findings.iter().map(|f| (f.code, f.entry)).collect();
        assert_eq!(
            codes,
            vec![
                (FindingKind::RootMismatch, None),
                (FindingKind::EntryChanged, Some(1))
            ]
        );
    }

    #[test]
    fn version_2_headers_are_checked_in_batches_and_each_bad_one_is_named() {
        use crate::audit::oversight::{Sealed, SealedDocument};
        use crate::label::Label;
        use crate::secret::MessageKey;
        use crate::v2::{EscrowCiphertextV2, encapsulate_v2};
        let fx = fx();
        let mut rng = rand::rng();
        let (ipc, policy) = with_oversight_key(&fx);
        let w = warrant(&fx, "w-1", "case", None, None);
        let header = |i: usize| {
            let l = Label::new("alice", "bob", Timestamp(T0), &format!("m{i}")).unwrap();
            encapsulate_v2(
                &fx.set,
                &l,
                &MessageKey::random(&mut rand::rng()),
                &mut rand::rng(),
            )
            .unwrap()
            .0
        };
        // More releases than one batch round holds, sealed as a node seals one request's
        // copies (one ephemeral key); two headers are bad: a broken proof (the entry names the
        // broken header's digest) and another header than the entry names.
        let n = HEADER_BATCH + 3;
        let (bad_proof, other) = (7usize, HEADER_BATCH + 1);
        let mut headers: Vec<EscrowCiphertextV2> = (0..n).map(header).collect();
        headers[bad_proof].f += p256::Scalar::ONE;
        let mut entries: Vec<LogEntry> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| release(&fx, 2 + i as u64, &w, h.digest()))
            .collect();
        let docs: Vec<SealedDocument> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if i == other {
                    SealedDocument::HeaderV2(header(9999))
                } else {
                    SealedDocument::HeaderV2(h.clone())
                }
            })
            .collect();
        let sealed =
            Sealed::seal_batch(entries.iter().zip(&docs), &[ipc.public()], &mut rng).unwrap();
        for (e, s) in entries.iter_mut().zip(sealed) {
            e.sealed = Some(s);
        }
        let mut seen =
            LogEntry::warrant_seen(1, Timestamp(T0), w.digest(), fx.inv.public().key_id());
        seen.seal_for_oversight(
            &[ipc.public()],
            &SealedDocument::Warrant(w.clone()),
            &mut rng,
        )
        .unwrap();
        let mut j = Judge::new(&fx.set, Some(policy.clone())).with_oversight_key(ipc.clone());
        j.add(
            2,
            LogEntry::setup(0, Timestamp(T0 - 10), fx.set.id(), policy.digest()),
        );
        j.add(2, seen);
        for e in entries {
            j.add(2, e);
        }
        let j = j.judge(&Documents::default());
        for i in 0..n {
            let r = reasons(&j, 2, 2 + i as u64);
            if i == bad_proof {
                assert!(
                    matches!(&r[..], [Unjustified::HeaderInvalid { .. }]),
                    "{r:?}"
                );
            } else if i == other {
                assert_eq!(r, vec![Unjustified::HeaderMismatch]);
            } else {
                assert!(r.is_empty(), "entry {}: {r:?}", 2 + i);
            }
        }
        assert_eq!(j.oversight.headers_checked, n as u64);
        assert_eq!(j.oversight.in_scope, n as u64 - 2);
    }

    #[test]
    fn the_oversight_view_catches_an_honestly_logged_out_of_scope_release_from_the_logs_alone() {
        use crate::audit::oversight::SealedDocument;
        use crate::label::Label;
        use crate::secret::MessageKey;
        use crate::tdh2;
        let fx = fx();
        let mut rng = rand::rng();
        let (ipc, policy) = with_oversight_key(&fx);
        let keys = [ipc.public()];
        let w = warrant(&fx, "w-1", "case", None, None);
        let header = |sender: &str, t: i64| {
            let l = Label::new(sender, "bob", Timestamp(t), "m").unwrap();
            tdh2::encapsulate(
                &fx.set,
                &l,
                &MessageKey::random(&mut rand::rng()),
                &mut rand::rng(),
            )
            .unwrap()
            .0
        };
        let inside = header("alice", T0);
        let late = header("alice", T0 + 5000); // after the window closes
        let stranger = header("carol", T0); // neither party is a target
        let mut seen =
            LogEntry::warrant_seen(1, Timestamp(T0), w.digest(), fx.inv.public().key_id());
        seen.seal_for_oversight(&keys, &SealedDocument::Warrant(w.clone()), &mut rng)
            .unwrap();
        let mut sealed = |seq: u64, h: &tdh2::EscrowCiphertext| {
            let mut e = release(&fx, seq, &w, h.digest());
            e.seal_for_oversight(&keys, &SealedDocument::HeaderV1(h.clone()), &mut rng)
                .unwrap();
            e
        };
        let entries = [
            LogEntry::setup(0, Timestamp(T0 - 10), fx.set.id(), policy.digest()),
            seen,
            sealed(2, &inside),
            sealed(3, &late),
            sealed(4, &stranger),
            release(&fx, 5, &w, header("alice", T0).digest()), // no copy at all
        ];
        // A copy moved to an entry naming another ciphertext does not open.
        let mut moved = release(&fx, 6, &w, inside.digest());
        moved.ciphertexts = vec![ct(7)];
        moved.sealed = sealed(6, &inside).sealed;

        // No documents are given: the warrant comes from its sealed copy in the log.
        let run = |key: Option<&PrivateKey>| {
            let mut j = Judge::new(&fx.set, Some(policy.clone()));
            if let Some(k) = key {
                j = j.with_oversight_key(k.clone());
            }
            for e in entries.iter().chain([&moved]) {
                j.add(2, e.clone());
            }
            j.judge(&Documents::default())
        };
        let j = run(Some(&ipc));
        assert_eq!(j.oversight.warrants_from_log, 1);
        assert!(reasons(&j, 2, 2).is_empty(), "{:?}", reasons(&j, 2, 2));
        assert!(
            matches!(&reasons(&j, 2, 3)[..], [Unjustified::OutOfScope { why }] if why.contains("window closes"))
        );
        assert!(
            matches!(&reasons(&j, 2, 4)[..], [Unjustified::OutOfScope { why }] if why.contains("target account"))
        );
        assert_eq!(reasons(&j, 2, 5), vec![Unjustified::NoOversightCopy]);
        assert!(matches!(
            &reasons(&j, 2, 6)[..],
            [Unjustified::OversightCopyUnreadable { .. }]
        ));
        assert_eq!(
            (
                j.oversight.headers_checked,
                j.oversight.in_scope,
                j.oversight.failed
            ),
            (3, 1, 4)
        );
        let named: Vec<_> = j.findings.iter().map(|f| (f.trustee, f.entry)).collect();
        assert_eq!(
            named,
            vec![
                (Some(2), Some(3)),
                (Some(2), Some(4)),
                (Some(2), Some(5)),
                (Some(2), Some(6))
            ]
        );
        // No finding names the label's values.
        for f in &j.findings {
            assert!(!f.message.contains("carol"), "{}", f.message);
        }

        // Without the key: the warrant is not disclosed to this auditor, and the report says
        // which checks it could not make.
        let j = run(None);
        assert_eq!(j.oversight.headers_checked, 0);
        assert_eq!(j.oversight.not_checked.len(), 2);
        // ... and what it could not see is "not judged" (a warning, one per entry), never an
        // unjustified release: the trustees did nothing wrong that this auditor can show.
        assert_eq!(j.findings.len(), 5, "{:?}", j.findings);
        assert!(j.findings.iter().all(|f| f.code == FindingKind::ReleaseNotJudged
            && f.severity == Severity::Warning));
        assert!(j.releases.iter().all(|r| r.not_judged && !r.justified));
        assert!(
            j.warrants
                .iter()
                .all(|w| w.unjustified == 0 && w.messages_unjustified == 0)
        );
        assert_eq!(j.warrants.iter().map(|w| w.not_judged).sum::<u64>(), 5);
        // With the key, a warrant missing from the log is the trustee's fault: it must log a
        // sealed copy of every warrant it acts on under this policy.
        let mut j = Judge::new(&fx.set, Some(policy.clone())).with_oversight_key(ipc.clone());
        for e in entries.iter().filter(|e| e.sequence != 1) {
            j.add(2, e.clone());
        }
        let j = j.judge(&Documents::default());
        assert_eq!(reasons(&j, 2, 2), vec![Unjustified::WarrantNotDisclosed]);
        assert!(
            j.findings
                .iter()
                .any(|f| f.code == FindingKind::UnjustifiedRelease && f.entry == Some(2))
        );
        assert!(j.releases.iter().all(|r| !r.not_judged));
        assert!(j.oversight.not_checked[0].starts_with("scope"));
        assert!(reasons(&j, 2, 3).contains(&Unjustified::WarrantNotDisclosed));
        // The wrong key opens nothing and says so.
        let j = run(Some(&fx.issuer));
        assert!(
            matches!(&reasons(&j, 2, 2)[..], [Unjustified::WarrantNotDisclosed, Unjustified::OversightCopyUnreadable { why }] if why.contains("not addressed")),
            "{:?}",
            reasons(&j, 2, 2)
        );
    }
}
