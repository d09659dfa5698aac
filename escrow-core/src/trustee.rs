//! The trustee set: a secret x shared with Feldman VSS over P-256 (`vsss-rs`).
//!
//! Public: commitments `C_0..C_{k-1}` (`C_j = a_j G`, `a_0 = x`), the escrow key `Y = C_0`,
//! each trustee's verification key `X_i = sum_j C_j i^j = x_i G` and its ECDSA signing key.
//! Secret: trustee i's share `x_i = f(i)`. A [`KeyShare`] read from disk is not usable; it
//! becomes a [`VerifiedKeyShare`] only through [`TrusteeSet::verify_share`], the Feldman check.

use crate::codec::{Digest32, SetId, V1};
use crate::error::{Error, Result};
use crate::group::{self, FixedBaseTable, Point, scalar_from_bytes, scalar_to_bytes};
use crate::keys::{PrivateKey, PublicKey};
use crate::secret::SecretScalar;
use p256::elliptic_curve::group::Group as _;
use p256::elliptic_curve::{Field, PrimeField as _};
use p256::{ProjectivePoint, Scalar};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use vsss_rs::{DefaultShare, IdentifierPrimeField, Share as _, ShareVerifierGroup};
use zeroize::Zeroize;

/// Most trustees a set may have (vsss-rs caps sharings at 255 participants).
pub const MAX_TRUSTEES: u16 = 255;
/// Domain-separation tag of the trustee-set id.
pub const TAG_SET_ID: &str = "escrow/v1/trustee-set-id";
/// Tag of the weights of the batched check of the verification keys against the commitments.
pub const TAG_VK_BATCH_WEIGHT: &str = "escrow/v1/verification-key-batch-weight";

type VShare = DefaultShare<IdentifierPrimeField<Scalar>, IdentifierPrimeField<Scalar>>;
type VVerifier = ShareVerifierGroup<ProjectivePoint>;

/// Public information about one trustee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrusteePublic {
    /// 1-based trustee index; the Shamir x-coordinate.
    pub index: u16,
    /// `X_i = x_i G`, derivable from the commitments.
    pub verification_key: Point,
    /// The trustee's ECDSA P-256 key for signed responses.
    pub signing_key: PublicKey,
    /// Set format version 4: the organisation that runs this trustee (who holds the share).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    /// Set format version 4: the jurisdiction whose law reaches this trustee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
}

impl TrusteePublic {
    /// Who holds this trustee's share, if the set says (format version 4).
    pub fn holder(&self) -> Option<Holder> {
        match (&self.organisation, &self.jurisdiction) {
            (Some(o), Some(j)) => Some(Holder {
                organisation: o.clone(),
                jurisdiction: j.clone(),
            }),
            _ => None,
        }
    }
}

/// The label given to an organisation or jurisdiction left out when the other one is given.
pub const UNSPECIFIED: &str = "unspecified";

/// Longest organisation or jurisdiction label, in bytes.
pub const MAX_HOLDER_LABEL_LEN: usize = 128;

/// Who holds one trustee's share: the organisation that runs the trustee and the jurisdiction
/// whose law reaches it (`docs/protocol.md` §11.1). Both labels are compared byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    /// The organisation, e.g. `Bundesamt X` (1..=128 bytes, no control characters, no
    /// leading or trailing white space).
    pub organisation: String,
    /// The jurisdiction, e.g. an ISO 3166 code `DE` (same rules).
    pub jurisdiction: String,
}

impl Holder {
    /// A checked holder (each label 1..=128 bytes, no control characters, no leading or
    /// trailing white space).
    pub fn new(organisation: &str, jurisdiction: &str) -> Result<Self> {
        for (what, v) in [
            ("organisation", organisation),
            ("jurisdiction", jurisdiction),
        ] {
            check_label(what, v)?;
        }
        Ok(Holder {
            organisation: organisation.to_string(),
            jurisdiction: jurisdiction.to_string(),
        })
    }

    /// The holder given by optional `--organisation` and `--jurisdiction` flags: none if
    /// neither is given, the missing one [`UNSPECIFIED`] if only one is.
    pub fn given(organisation: Option<&str>, jurisdiction: Option<&str>) -> Result<Option<Self>> {
        match (organisation, jurisdiction) {
            (None, None) => Ok(None),
            (o, j) => Holder::new(o.unwrap_or(UNSPECIFIED), j.unwrap_or(UNSPECIFIED)).map(Some),
        }
    }

    /// The holders of `n` trustees from repeatable `--organisation` and `--jurisdiction`
    /// flags: each list empty, one value (every trustee) or n values (trustee i is entry
    /// i-1); a list left empty while the other is not is [`UNSPECIFIED`]. Both empty: none.
    pub fn for_trustees(
        n: u16,
        organisations: &[String],
        jurisdictions: &[String],
    ) -> Result<Option<Vec<Holder>>> {
        if organisations.is_empty() && jurisdictions.is_empty() {
            return Ok(None);
        }
        let pick = |what: &str, v: &[String], i: usize| -> Result<String> {
            match v.len() {
                0 => Ok(UNSPECIFIED.to_string()),
                1 => Ok(v.first().cloned().unwrap_or_default()),
                l if l == usize::from(n) => Ok(v.get(i).cloned().unwrap_or_default()),
                l => Err(Error::InvalidParameters(format!(
                    "{l} {what} values for {n} trustees (give one for all, or one per trustee)"
                ))),
            }
        };
        (0..usize::from(n))
            .map(|i| {
                Holder::new(
                    &pick("organisation", organisations, i)?,
                    &pick("jurisdiction", jurisdictions, i)?,
                )
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Check both labels (as [`Holder::new`]).
    pub fn check(&self) -> Result<()> {
        Holder::new(&self.organisation, &self.jurisdiction).map(|_| ())
    }
}

fn check_label(what: &str, v: &str) -> Result<()> {
    if v.is_empty()
        || v.len() > MAX_HOLDER_LABEL_LEN
        || v.chars().any(char::is_control)
        || v.trim() != v
    {
        return Err(Error::InvalidParameters(format!(
            "{what} {v:?}: must be 1..={MAX_HOLDER_LABEL_LEN} bytes without control characters or surrounding spaces"
        )));
    }
    Ok(())
}

/// How many of a set's shares one organisation or one jurisdiction holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HolderCount {
    /// The organisation or jurisdiction.
    pub name: String,
    /// Its trustees' indices, increasing.
    pub trustees: Vec<u16>,
}

/// A set's composition: who holds its shares, grouped by organisation and by jurisdiction
/// (each list by decreasing number of shares, then by name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Composition {
    /// Threshold k.
    pub threshold: u16,
    /// Number of trustees n.
    pub trustees: u16,
    /// Shares per organisation.
    pub organisations: Vec<HolderCount>,
    /// Shares per jurisdiction.
    pub jurisdictions: Vec<HolderCount>,
}

impl Composition {
    /// Group `holders` (trustee i is entry i-1) of a set with threshold `threshold`.
    pub fn new(threshold: u16, holders: &[Holder]) -> Self {
        let group = |key: fn(&Holder) -> &str| {
            let mut m: std::collections::BTreeMap<&str, Vec<u16>> = Default::default();
            for (i, h) in holders.iter().enumerate() {
                m.entry(key(h)).or_default().push(i as u16 + 1);
            }
            let mut v: Vec<HolderCount> = m
                .into_iter()
                .map(|(name, trustees)| HolderCount {
                    name: name.to_string(),
                    trustees,
                })
                .collect();
            v.sort_by(|a, b| {
                b.trustees
                    .len()
                    .cmp(&a.trustees.len())
                    .then(a.name.cmp(&b.name))
            });
            v
        };
        Composition {
            threshold,
            trustees: holders.len() as u16,
            organisations: group(|h| &h.organisation),
            jurisdictions: group(|h| &h.jurisdiction),
        }
    }

    /// The first organisation holding k or more shares (it could open every message alone).
    pub fn dominant_organisation(&self) -> Option<&HolderCount> {
        self.organisations
            .iter()
            .find(|c| c.trustees.len() >= usize::from(self.threshold))
    }

    /// The first jurisdiction holding k or more shares (one court could order every message
    /// opened).
    pub fn dominant_jurisdiction(&self) -> Option<&HolderCount> {
        self.jurisdictions
            .iter()
            .find(|c| c.trustees.len() >= usize::from(self.threshold))
    }
}

/// A set that breaks the policy's custody rule (`custody.jurisdictions_below_threshold`,
/// `custody.organisations_below_threshold`): who would hold k or more shares.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CustodyError {
    /// One jurisdiction would hold k or more shares.
    #[error(
        "jurisdiction {jurisdiction:?} would hold {} of the shares (trustees {trustees:?}), at least the threshold k = {threshold}: the policy requires every jurisdiction to hold fewer than k (custody.jurisdictions_below_threshold)",
        trustees.len()
    )]
    Jurisdiction {
        /// The jurisdiction.
        jurisdiction: String,
        /// Its trustees.
        trustees: Vec<u16>,
        /// k.
        threshold: u16,
    },
    /// One organisation would hold k or more shares.
    #[error(
        "organisation {organisation:?} would hold {} of the shares (trustees {trustees:?}), at least the threshold k = {threshold}: the policy requires every organisation to hold fewer than k (custody.organisations_below_threshold)",
        trustees.len()
    )]
    Organisation {
        /// The organisation.
        organisation: String,
        /// Its trustees.
        trustees: Vec<u16>,
        /// k.
        threshold: u16,
    },
    /// The set does not say who holds its shares, and the policy has a rule on them.
    #[error(
        "the set does not say which organisation and jurisdiction hold its shares, and the policy has a custody rule on them: give every trustee --organisation and --jurisdiction"
    )]
    Unlabelled,
}

impl CustodyError {
    /// The jurisdiction or organisation at fault (none for an unlabelled set).
    pub fn culprit(&self) -> Option<&str> {
        match self {
            CustodyError::Jurisdiction { jurisdiction, .. } => Some(jurisdiction),
            CustodyError::Organisation { organisation, .. } => Some(organisation),
            CustodyError::Unlabelled => None,
        }
    }
}

/// `trustee-set.json`, as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrusteeSetFile {
    /// 1, or 2 exactly when `lineage` is present.
    version: u32,
    set_id: SetId,
    threshold: u16,
    trustees: u16,
    escrow_key: Point,
    commitments: Vec<Point>,
    members: Vec<TrusteePublic>,
    /// Version 2: the ids of the sets this one was refreshed from, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    lineage: Vec<SetId>,
    /// Version 3: how many sets of the lineage belong to trustees before the last reshare
    /// (`docs/protocol.md` §4.3); the set's origin is the lineage entry after them, or the set
    /// itself when they are the whole lineage.
    #[serde(default, skip_serializing_if = "is_zero")]
    reshared_after: u16,
}

fn is_zero(v: &u16) -> bool {
    *v == 0
}

/// Format version of `trustee-set.json` without a lineage.
pub const SET_FILE_VERSION: u32 = 1;
/// Format version of `trustee-set.json` with a lineage (a refreshed set).
pub const SET_FILE_VERSION_LINEAGE: u32 = 2;
/// Format version of `trustee-set.json` of a set made by a reshare or refreshed from one
/// (a lineage and `reshared_after`).
pub const SET_FILE_VERSION_RESHARED: u32 = 3;
/// Format version of `trustee-set.json` whose members carry `organisation` and
/// `jurisdiction` (lineage and `reshared_after` as in versions 1 to 3, when present).
pub const SET_FILE_VERSION_HOLDERS: u32 = 4;
/// Tag of the id of a set whose members carry holders (version 4).
pub const TAG_SET_ID_HOLDERS: &str = "escrow/v1/trustee-set-id-with-holders";

/// A checked trustee set: its commitments, keys and id are mutually consistent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrusteeSet {
    threshold: u16,
    escrow_key: Point,
    commitments: Vec<Point>,
    members: Vec<TrusteePublic>,
    lineage: Vec<SetId>,
    reshared_after: u16,
    id: SetId,
    escrow_table: EscrowKeyTable,
}

/// The fixed-base table of the escrow key Y, built on first use and shared by every clone of
/// the set (it is a function of Y, hence of the set id). Ignored by equality.
#[derive(Clone, Default)]
struct EscrowKeyTable(Arc<OnceLock<FixedBaseTable>>);

impl PartialEq for EscrowKeyTable {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for EscrowKeyTable {}
impl core::fmt::Debug for EscrowKeyTable {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = if self.0.get().is_some() {
            "built"
        } else {
            "not built"
        };
        write!(f, "EscrowKeyTable({state})")
    }
}

/// Check `1 <= k <= n <= 255`.
pub fn check_parameters(n: u64, k: u64) -> Result<(u16, u16)> {
    if k == 0 {
        return Err(Error::InvalidParameters(
            "threshold k must be at least 1".into(),
        ));
    }
    if n > u64::from(MAX_TRUSTEES) {
        return Err(Error::InvalidParameters(format!(
            "at most {MAX_TRUSTEES} trustees are supported, got {n}"
        )));
    }
    if k > n {
        return Err(Error::InvalidParameters(format!(
            "threshold k = {k} exceeds the number of trustees n = {n}"
        )));
    }
    Ok((n as u16, k as u16))
}

impl TrusteeSet {
    /// A set whose verification keys are given (read from `trustee-set.json`, or computed by
    /// the dealer as `x_i·G`), all checked against the commitments at once: with 128-bit
    /// weights `α_i` derived from the set id (which hashes every commitment and key),
    /// `Σ α_i X_i == Σ_j (Σ_i α_i i^j) C_j`, one multi-scalar multiplication of n + k terms
    /// instead of n Horner evaluations of k terms. If it fails, each key is checked alone and
    /// the first bad one is named. Members must be listed with indices 1..=n in order.
    pub(crate) fn from_parts(commitments: Vec<Point>, members: Vec<TrusteePublic>) -> Result<Self> {
        Self::from_parts_with_lineage(commitments, members, Vec::new())
    }

    /// [`TrusteeSet::from_parts`] for a set refreshed from the sets `lineage` (oldest first):
    /// same escrow key, new commitments and verification keys; the lineage is part of the id.
    pub(crate) fn from_parts_with_lineage(
        commitments: Vec<Point>,
        members: Vec<TrusteePublic>,
        lineage: Vec<SetId>,
    ) -> Result<Self> {
        Self::from_parts_full(commitments, members, lineage, 0)
    }

    /// [`TrusteeSet::from_parts_with_lineage`] with `reshared_after` (§4.3): the number of
    /// lineage entries that belong to trustees before the last reshare (0: none was made).
    pub(crate) fn from_parts_full(
        commitments: Vec<Point>,
        members: Vec<TrusteePublic>,
        lineage: Vec<SetId>,
        reshared_after: u16,
    ) -> Result<Self> {
        let (_, k) = check_parameters(members.len() as u64, commitments.len() as u64)?;
        let escrow_key = *commitments
            .first()
            .ok_or_else(|| Error::InvalidParameters("no commitments".into()))?;
        for (pos, m) in members.iter().enumerate() {
            if usize::from(m.index) != pos + 1 {
                return Err(Error::InconsistentTrusteeSet(format!(
                    "member at position {} has index {} (members must be listed 1..n in order)",
                    pos + 1,
                    m.index
                )));
            }
        }
        check_member_holders(&members)?;
        if lineage.len() > usize::from(u16::MAX) {
            return Err(Error::InconsistentTrusteeSet("lineage too long".into()));
        }
        if usize::from(reshared_after) > lineage.len() {
            return Err(Error::InconsistentTrusteeSet(format!(
                "reshared_after {reshared_after} exceeds the lineage's {} entries",
                lineage.len()
            )));
        }
        let id = compute_set_id(k, &commitments, &members, &lineage, reshared_after);
        if lineage.contains(&id) {
            return Err(Error::InconsistentTrusteeSet(
                "the lineage names the set itself".into(),
            ));
        }
        if !verification_keys_consistent(&id, &commitments, &members) {
            let cs: Vec<ProjectivePoint> = commitments.iter().map(|c| *c.inner()).collect();
            for m in &members {
                if group::eval_commitments_vartime(&cs, m.index) != *m.verification_key.inner() {
                    return Err(Error::InconsistentTrusteeSet(format!(
                        "verification key of trustee {} does not match the commitments",
                        m.index
                    )));
                }
            }
            // Unreachable (the batch equation is a combination of the per-key ones), but
            // fail closed.
            return Err(Error::InconsistentTrusteeSet(
                "verification keys do not match the commitments".into(),
            ));
        }
        Ok(TrusteeSet {
            threshold: k,
            escrow_key,
            commitments,
            members,
            lineage,
            reshared_after,
            id,
            escrow_table: EscrowKeyTable::default(),
        })
    }

    /// The ids of the sets this one was refreshed from, oldest first (empty for a set made by
    /// a dealer or a key generation). Every one has the same escrow key.
    pub fn lineage(&self) -> &[SetId] {
        &self.lineage
    }

    /// The id of the set this one descends from by refreshes since the last reshare (its own
    /// id if none): the set each of its trustees' logs was set up with, and the name of its
    /// log (`checkpoint::origin`). A reshare hands the key to other trustees (new nodes, new
    /// logs), so a reshared set is its own origin although its lineage names the sets before.
    pub fn origin(&self) -> SetId {
        self.lineage
            .get(usize::from(self.reshared_after))
            .copied()
            .unwrap_or(self.id)
    }

    /// Who holds each trustee's share (trustee i is entry i-1), if the set says (format
    /// version 4).
    pub fn holders(&self) -> Option<Vec<Holder>> {
        self.members.iter().map(TrusteePublic::holder).collect()
    }

    /// The set's composition by organisation and jurisdiction, if it says who holds its shares.
    pub fn composition(&self) -> Option<Composition> {
        self.holders().map(|h| Composition::new(self.threshold, &h))
    }

    /// How many sets of the lineage belong to trustees before the last reshare (0: the set
    /// descends from its origin by refreshes only).
    pub fn reshared_after(&self) -> u16 {
        self.reshared_after
    }

    /// Is `set_id` this set or one it was refreshed from (same escrow key, so a message
    /// sealed to it is opened by this set's shares)?
    pub fn covers(&self, set_id: &SetId) -> bool {
        *set_id == self.id || self.lineage.contains(set_id)
    }

    /// Threshold k.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// Number of trustees n.
    pub fn trustees(&self) -> u16 {
        self.members.len() as u16
    }

    /// The set id (a digest of every public value).
    pub fn id(&self) -> SetId {
        self.id
    }

    /// The escrow public key `Y = C_0 = xG`.
    pub fn escrow_key(&self) -> &Point {
        &self.escrow_key
    }

    /// The fixed-base table of Y (built on the first call, then cached with the set): sealing
    /// computes `r·Y` with it.
    pub fn escrow_key_table(&self) -> &FixedBaseTable {
        self.escrow_table
            .0
            .get_or_init(|| FixedBaseTable::new(self.escrow_key.inner()))
    }

    /// Feldman commitments `C_0..C_{k-1}`.
    pub fn commitments(&self) -> &[Point] {
        &self.commitments
    }

    /// Every trustee's public data, index order.
    pub fn members(&self) -> &[TrusteePublic] {
        &self.members
    }

    /// Trustee `index` of this set for a document that names the set `set_id` (a share, a
    /// release response, an answer): [`Error::WrongTrusteeSet`] naming the trustee when it names
    /// another set, or the error of [`TrusteeSet::member`].
    pub(crate) fn member_for(&self, set_id: &SetId, index: u16) -> Result<&TrusteePublic> {
        if *set_id != self.id {
            return Err(Error::WrongTrusteeSet {
                trustee: index,
                found: set_id.short(),
                expected: self.id.short(),
            });
        }
        self.member(index)
    }

    /// Trustee `index` (1-based), or an error naming it.
    pub fn member(&self, index: u16) -> Result<&TrusteePublic> {
        if index == 0 {
            return Err(Error::TrusteeOutOfRange {
                index: 0,
                n: self.trustees(),
            });
        }
        self.members
            .get(usize::from(index) - 1)
            .ok_or(Error::TrusteeOutOfRange {
                index: u64::from(index),
                n: self.trustees(),
            })
    }

    /// Serialize to `trustee-set.json`.
    pub fn to_json(&self) -> String {
        crate::codec::to_json_pretty(&TrusteeSetFile {
            version: if self.members.iter().any(|m| m.organisation.is_some()) {
                SET_FILE_VERSION_HOLDERS
            } else if self.reshared_after > 0 {
                SET_FILE_VERSION_RESHARED
            } else if self.lineage.is_empty() {
                SET_FILE_VERSION
            } else {
                SET_FILE_VERSION_LINEAGE
            },
            set_id: self.id,
            threshold: self.threshold,
            trustees: self.trustees(),
            escrow_key: *self.escrow_key(),
            commitments: self.commitments.clone(),
            members: self.members.clone(),
            lineage: self.lineage.clone(),
            reshared_after: self.reshared_after,
        })
    }

    /// Parse and check `trustee-set.json`: parameters, every verification key against the
    /// commitments, the escrow key, the set id.
    pub fn from_json(s: &str) -> Result<Self> {
        let f: TrusteeSetFile = crate::codec::from_json("trustee set", s)?;
        let labelled = f
            .members
            .iter()
            .any(|m| m.organisation.is_some() || m.jurisdiction.is_some());
        match (f.version, f.lineage.is_empty(), f.reshared_after, labelled) {
            (SET_FILE_VERSION, true, 0, false)
            | (SET_FILE_VERSION_LINEAGE, false, 0, false)
            | (SET_FILE_VERSION_RESHARED, false, 1.., false)
            | (SET_FILE_VERSION_HOLDERS, true, 0, true)
            | (SET_FILE_VERSION_HOLDERS, false, _, true) => {}
            (v, _, r, l) => {
                return Err(Error::malformed(
                    "trustee set",
                    format!(
                        "version {v} with {} lineage entries, reshared_after {r} and {} members' organisation and jurisdiction (version 1 has no lineage, version 2 a lineage, version 3 a lineage and reshared_after >= 1, version 4 organisation and jurisdiction on every member)",
                        f.lineage.len(),
                        if l { "the" } else { "no" }
                    ),
                ));
            }
        }
        let (n, k) = check_parameters(u64::from(f.trustees), u64::from(f.threshold))?;
        if f.commitments.len() != usize::from(k) {
            return Err(Error::InconsistentTrusteeSet(format!(
                "{} commitments for threshold {k}",
                f.commitments.len()
            )));
        }
        if f.members.len() != usize::from(n) {
            return Err(Error::InconsistentTrusteeSet(format!(
                "{} members for n = {n}",
                f.members.len()
            )));
        }
        for (pos, m) in f.members.iter().enumerate() {
            if usize::from(m.index) != pos + 1 {
                return Err(Error::InconsistentTrusteeSet(format!(
                    "member at position {} has index {} (members must be listed 1..n in order)",
                    pos + 1,
                    m.index
                )));
            }
        }
        let set =
            TrusteeSet::from_parts_full(f.commitments, f.members, f.lineage, f.reshared_after)?;
        if set.escrow_key() != &f.escrow_key {
            return Err(Error::InconsistentTrusteeSet(
                "escrow_key is not the first commitment".into(),
            ));
        }
        if set.id != f.set_id {
            return Err(Error::InconsistentTrusteeSet(
                "set_id does not match its contents".into(),
            ));
        }
        Ok(set)
    }

    /// The Feldman check: `x_i G == X_i = sum_j C_j i^j`. The only way to a usable share.
    pub fn verify_share(&self, share: KeyShare) -> Result<VerifiedKeyShare> {
        let member = self.member_for(&share.set_id, share.index)?;
        let lhs = ProjectivePoint::mul_by_generator(share.share.expose());
        if lhs != *member.verification_key.inner() {
            return Err(Error::BadKeyShare {
                trustee: share.index,
            });
        }
        Ok(VerifiedKeyShare {
            set_id: self.id,
            index: share.index,
            share: share.share,
            verification_key: member.verification_key,
        })
    }
}

/// The batched check of every `X_i` against the commitments (see [`TrusteeSet::from_parts`]):
/// `α_i = int(T(TAG_VK_BATCH_WEIGHT, set_id ‖ u16be(i))[0..16])`, and
/// `Σ_i α_i X_i − Σ_j (Σ_i α_i i^j) C_j` must be the identity.
fn verification_keys_consistent(
    id: &SetId,
    commitments: &[Point],
    members: &[TrusteePublic],
) -> bool {
    let mut coef = vec![Scalar::ZERO; commitments.len()];
    let mut terms: Vec<(ProjectivePoint, Scalar)> =
        Vec::with_capacity(members.len() + commitments.len());
    for m in members {
        let w = Digest32::tagged(
            TAG_VK_BATCH_WEIGHT,
            &[id.as_bytes(), &m.index.to_be_bytes()],
        );
        let mut head = [0u8; 16];
        let (h, _) = w.as_bytes().split_at(16);
        head.copy_from_slice(h);
        let alpha = Scalar::from_u128(u128::from_be_bytes(head));
        terms.push((*m.verification_key.inner(), alpha));
        let x = Scalar::from(u64::from(m.index));
        let mut p = alpha;
        for c in coef.iter_mut() {
            *c += p;
            p *= x;
        }
    }
    terms.extend(commitments.iter().zip(coef).map(|(c, a)| (-*c.inner(), a)));
    bool::from(group::msm_vartime(&terms).is_identity())
}

/// `T(TAG_SET_ID, u16 k ‖ u16 n ‖ C… ‖ (u16 i ‖ X_i ‖ S_i)… [‖ u16 m ‖ m × 32-byte set id])`,
/// the bracketed lineage only when it is not empty (a set without one keeps its version-1 id),
/// followed by `u16 reshared_after` when that is not 0 (version 3).
fn compute_set_id(
    k: u16,
    commitments: &[Point],
    members: &[TrusteePublic],
    lineage: &[SetId],
    reshared_after: u16,
) -> SetId {
    let mut buf = Vec::with_capacity(4 + 33 * commitments.len() + 68 * members.len());
    buf.extend_from_slice(&k.to_be_bytes());
    buf.extend_from_slice(&(members.len() as u16).to_be_bytes());
    for c in commitments {
        buf.extend_from_slice(&c.to_bytes());
    }
    for m in members {
        buf.extend_from_slice(&m.index.to_be_bytes());
        buf.extend_from_slice(&m.verification_key.to_bytes());
        buf.extend_from_slice(&m.signing_key.point().to_bytes());
    }
    if !lineage.is_empty() {
        buf.extend_from_slice(&(lineage.len() as u16).to_be_bytes());
        for l in lineage {
            buf.extend_from_slice(l.as_bytes());
        }
    }
    if reshared_after > 0 {
        buf.extend_from_slice(&reshared_after.to_be_bytes());
    }
    if members.iter().any(|m| m.organisation.is_some()) {
        // version 4: every member's labels (checked present), under a tag of their own
        for m in members {
            crate::codec::put_lp(&mut buf, m.organisation.as_deref().unwrap_or("").as_bytes());
            crate::codec::put_lp(&mut buf, m.jurisdiction.as_deref().unwrap_or("").as_bytes());
        }
        return SetId::from_digest(Digest32::tagged(TAG_SET_ID_HOLDERS, &[&buf]));
    }
    SetId::from_digest(Digest32::tagged(TAG_SET_ID, &[&buf]))
}

/// Either no member names its holder, or every member names both its organisation and its
/// jurisdiction, each a valid label.
fn check_member_holders(members: &[TrusteePublic]) -> Result<()> {
    let labelled = members
        .iter()
        .any(|m| m.organisation.is_some() || m.jurisdiction.is_some());
    if !labelled {
        return Ok(());
    }
    for m in members {
        let (Some(o), Some(j)) = (&m.organisation, &m.jurisdiction) else {
            return Err(Error::InconsistentTrusteeSet(format!(
                "trustee {} lacks its organisation or jurisdiction (a set names both for every trustee or for none)",
                m.index
            )));
        };
        Holder::new(o, j)
            .map_err(|e| Error::InconsistentTrusteeSet(format!("trustee {}: {e}", m.index)))?;
    }
    Ok(())
}

/// One trustee's key share as stored (`trustee-<i>/key-share.json`). Not usable until verified.
#[derive(Clone)]
pub struct KeyShare {
    set_id: SetId,
    index: u16,
    share: SecretScalar,
}

/// Its secret, a [`SecretScalar`], zeroizes itself on drop.
impl zeroize::ZeroizeOnDrop for KeyShare {}

impl core::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "KeyShare {{ set: {}, index: {}, share: [REDACTED] }}",
            self.set_id.short(),
            self.index
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyShareFile {
    version: V1,
    set_id: SetId,
    index: u16,
    share: String,
}

impl KeyShare {
    /// A share produced inside the crate (a dealing, a DKG or a refresh).
    pub(crate) fn new(set_id: SetId, index: u16, share: SecretScalar) -> Self {
        KeyShare {
            set_id,
            index,
            share,
        }
    }

    /// Trustee index.
    pub fn index(&self) -> u16 {
        self.index
    }

    /// Set id this share claims to belong to.
    pub fn set_id(&self) -> SetId {
        self.set_id
    }

    /// Serialize (secret! write with mode 0600).
    pub fn to_json(&self) -> zeroize::Zeroizing<String> {
        let mut f = KeyShareFile {
            version: V1::default(),
            set_id: self.set_id,
            index: self.index,
            share: hex::encode(scalar_to_bytes(self.share.expose())),
        };
        let out = crate::codec::to_json_pretty(&f);
        f.share.zeroize();
        zeroize::Zeroizing::new(out)
    }

    /// Parse (the share is not usable until [`TrusteeSet::verify_share`]).
    pub fn from_json(s: &str) -> Result<Self> {
        let mut f: KeyShareFile = crate::codec::from_json("key share", s)?;
        let mut bytes =
            crate::codec::hex_lower(&f.share).ok_or(Error::InvalidScalar { field: "share" });
        f.share.zeroize();
        let scalar = match &bytes {
            Ok(b) => scalar_from_bytes(b, "share"),
            Err(e) => Err(e.clone()),
        };
        if let Ok(b) = bytes.as_mut() {
            b.zeroize();
        }
        let scalar = scalar?;
        if bool::from(scalar.is_zero()) {
            return Err(Error::InvalidScalar { field: "share" });
        }
        Ok(KeyShare {
            set_id: f.set_id,
            index: f.index,
            share: SecretScalar::new(scalar),
        })
    }
}

/// A key share that passed its Feldman check against a trustee set.
#[derive(Clone)]
pub struct VerifiedKeyShare {
    set_id: SetId,
    index: u16,
    share: SecretScalar,
    verification_key: Point,
}

/// Its secret, a [`SecretScalar`], zeroizes itself on drop.
impl zeroize::ZeroizeOnDrop for VerifiedKeyShare {}

impl core::fmt::Debug for VerifiedKeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "VerifiedKeyShare {{ set: {}, index: {}, share: [REDACTED] }}",
            self.set_id.short(),
            self.index
        )
    }
}

impl VerifiedKeyShare {
    /// Trustee index.
    pub fn index(&self) -> u16 {
        self.index
    }
    /// Set id.
    pub fn set_id(&self) -> SetId {
        self.set_id
    }
    /// `X_i`.
    pub fn verification_key(&self) -> &Point {
        &self.verification_key
    }
    pub(crate) fn secret(&self) -> &Scalar {
        self.share.expose()
    }
    /// Back to the storable form.
    pub fn to_key_share(&self) -> KeyShare {
        KeyShare {
            set_id: self.set_id,
            index: self.index,
            share: self.share.clone(),
        }
    }
}

/// What a trustee receives from the dealer: its key share and its signing key.
#[derive(Debug)]
pub struct TrusteeSecrets {
    /// The key share.
    pub key_share: KeyShare,
    /// The trustee's ECDSA signing key.
    pub signing_key: PrivateKey,
}

/// Result of dealing: the public set and one secret bundle per trustee (index order).
#[derive(Debug)]
pub struct Dealing {
    /// The public trustee set.
    pub set: TrusteeSet,
    /// The trustees' secrets, trustee 1 first.
    pub secrets: Vec<TrusteeSecrets>,
}

/// Deal a fresh `k`-of-`n` trustee set. The dealer's secret x and the polynomial are zeroized
/// before this returns; nothing but the shares and public commitments leaves.
pub fn deal<R: rand_core::CryptoRng + ?Sized>(n: u64, k: u64, rng: &mut R) -> Result<Dealing> {
    deal_for(n, k, None, rng)
}

/// [`deal`] a set whose trustee i is held by `holders[i-1]` (format version 4), or by no one
/// named (`None`).
pub fn deal_for<R: rand_core::CryptoRng + ?Sized>(
    n: u64,
    k: u64,
    holders: Option<&[Holder]>,
    rng: &mut R,
) -> Result<Dealing> {
    let (n, k) = check_parameters(n, k)?;
    if let Some(h) = holders
        && h.len() != usize::from(n)
    {
        return Err(Error::InvalidParameters(format!(
            "{} holders for {n} trustees",
            h.len()
        )));
    }
    let mut x = SecretScalar::new(group::random_scalar(rng));
    let (shares, commitments): (Vec<SecretScalar>, Vec<Point>) = if k == 1 {
        // vsss-rs refuses threshold 1; the degree-0 polynomial gives every trustee x itself.
        let c0 = Point::new(ProjectivePoint::mul_by_generator(x.expose()), "commitment")?;
        ((0..n).map(|_| x.clone()).collect(), vec![c0])
    } else {
        let mut secret = IdentifierPrimeField(*x.expose());
        let res = vsss_rs::feldman::split_secret::<VShare, VVerifier>(
            usize::from(k),
            usize::from(n),
            &secret,
            None,
            &mut *rng,
        );
        secret.0.zeroize();
        let (mut vshares, verifiers) =
            res.map_err(|e| Error::InvalidParameters(format!("secret sharing failed: {e:?}")))?;
        let mut out = Vec::with_capacity(usize::from(n));
        for (pos, s) in vshares.iter().enumerate() {
            let want = Scalar::from(pos as u64 + 1);
            if s.identifier().0 != want {
                return Err(Error::InvalidParameters(
                    "unexpected share numbering from vsss-rs".into(),
                ));
            }
            out.push(SecretScalar::new(s.value().0));
        }
        for s in vshares.iter_mut() {
            s.value.0.zeroize();
        }
        // verifiers = [generator, C_0, .., C_{k-1}]
        if verifiers.len() != usize::from(k) + 1 {
            return Err(Error::InvalidParameters(
                "unexpected verifier layout from vsss-rs".into(),
            ));
        }
        let mut cs = Vec::with_capacity(usize::from(k));
        for v in verifiers.iter().skip(1) {
            cs.push(Point::new(v.0, "commitment")?);
        }
        (out, cs)
    };
    x.zeroize();
    let signing: Vec<PrivateKey> = (0..n).map(|_| PrivateKey::generate(rng)).collect();
    // X_i = x_i·G with the fixed-base table (constant time: x_i is secret), n multiplications
    // instead of n Horner evaluations; from_parts checks them all against the commitments.
    let mut members = Vec::with_capacity(usize::from(n));
    for ((share, key), index) in shares.iter().zip(&signing).zip(1..=n) {
        members.push(TrusteePublic {
            index,
            verification_key: Point::new(
                group::generator_table().mul(share.expose()),
                "verification_key",
            )?,
            signing_key: key.public(),
            organisation: holders
                .and_then(|h| h.get(usize::from(index) - 1))
                .map(|h| h.organisation.clone()),
            jurisdiction: holders
                .and_then(|h| h.get(usize::from(index) - 1))
                .map(|h| h.jurisdiction.clone()),
        });
    }
    let set = TrusteeSet::from_parts(commitments, members)?;
    let secrets = shares
        .into_iter()
        .zip(signing)
        .zip(1..=n)
        .map(|((share, signing_key), index)| TrusteeSecrets {
            key_share: KeyShare {
                set_id: set.id(),
                index,
                share,
            },
            signing_key,
        })
        .collect();
    Ok(Dealing { set, secrets })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deal_verify_roundtrip() {
        let mut rng = rand::rng();
        let d = deal(5, 3, &mut rng).unwrap();
        let set2 = TrusteeSet::from_json(&d.set.to_json()).unwrap();
        assert_eq!(set2, d.set);
        for s in &d.secrets {
            let ks = KeyShare::from_json(&s.key_share.to_json()).unwrap();
            set2.verify_share(ks).unwrap();
        }
    }

    #[test]
    fn parameters() {
        let mut rng = rand::rng();
        assert!(deal(5, 0, &mut rng).is_err());
        assert!(deal(3, 4, &mut rng).is_err());
        assert!(deal(256, 2, &mut rng).is_err());
        let d = deal(1, 1, &mut rng).unwrap();
        assert_eq!(d.set.threshold(), 1);
        let d = deal(3, 1, &mut rng).unwrap();
        for s in d.secrets {
            d.set.verify_share(s.key_share).unwrap();
        }
    }

    #[test]
    fn tampered_share_is_named() {
        let mut rng = rand::rng();
        let d = deal(4, 2, &mut rng).unwrap();
        let mut ks = d.secrets[1].key_share.clone();
        ks.share = SecretScalar::new(*ks.share.expose() + Scalar::ONE);
        assert_eq!(
            d.set.verify_share(ks).unwrap_err(),
            Error::BadKeyShare { trustee: 2 }
        );
        // a share presented under another index
        let mut ks = d.secrets[1].key_share.clone();
        ks.index = 3;
        assert_eq!(
            d.set.verify_share(ks).unwrap_err(),
            Error::BadKeyShare { trustee: 3 }
        );
        let mut ks = d.secrets[1].key_share.clone();
        ks.index = 9;
        assert!(matches!(
            d.set.verify_share(ks).unwrap_err(),
            Error::TrusteeOutOfRange { .. }
        ));
        // a share from another set
        let other = deal(4, 2, &mut rng).unwrap();
        assert!(matches!(
            d.set
                .verify_share(other.secrets[0].key_share.clone())
                .unwrap_err(),
            Error::WrongTrusteeSet { trustee: 1, .. }
        ));
    }

    #[test]
    fn our_verification_keys_match_vsss_rs() {
        // Cross-check the fast Horner evaluation against vsss-rs's own Feldman verifier.
        use vsss_rs::FeldmanVerifierSet;
        let mut rng = rand::rng();
        let secret = IdentifierPrimeField(Scalar::random(&mut rng));
        let (shares, verifiers) =
            vsss_rs::feldman::split_secret::<VShare, VVerifier>(4, 7, &secret, None, &mut rng)
                .unwrap();
        let cs: Vec<ProjectivePoint> = verifiers.iter().skip(1).map(|v| v.0).collect();
        for (i, s) in shares.iter().enumerate() {
            verifiers.verify_share(s).unwrap();
            let x = group::eval_commitments_vartime(&cs, i as u16 + 1);
            assert_eq!(x, ProjectivePoint::mul_by_generator(&s.value().0));
        }
    }

    #[test]
    fn verification_keys_are_checked_in_one_batch_and_the_bad_one_named() {
        let mut rng = rand::rng();
        for (n, k) in [(1u64, 1u64), (5, 1), (5, 3), (9, 9)] {
            let d = deal(n, k, &mut rng).unwrap();
            // the dealer's x_i·G agree with Horner over the commitments, and the batch holds
            let cs: Vec<ProjectivePoint> = d.set.commitments.iter().map(|c| *c.inner()).collect();
            for m in &d.set.members {
                assert_eq!(
                    group::eval_commitments_vartime(&cs, m.index),
                    *m.verification_key.inner()
                );
            }
            assert!(verification_keys_consistent(
                &d.set.id,
                &d.set.commitments,
                &d.set.members
            ));
            assert_eq!(TrusteeSet::from_json(&d.set.to_json()).unwrap(), d.set);
        }
        let d = deal(5, 3, &mut rng).unwrap();
        let shift = ProjectivePoint::GENERATOR * group::random_scalar(&mut rng);
        let moved = |m: &TrusteePublic, by: ProjectivePoint| TrusteePublic {
            verification_key: Point::new(*m.verification_key.inner() + by, "x").unwrap(),
            ..m.clone()
        };
        // one bad key, named
        let mut members = d.set.members.clone();
        members[3] = moved(&members[3], shift);
        assert!(!verification_keys_consistent(
            &d.set.id,
            &d.set.commitments,
            &members
        ));
        assert_eq!(
            TrusteeSet::from_parts(d.set.commitments.clone(), members).unwrap_err(),
            Error::InconsistentTrusteeSet(
                "verification key of trustee 4 does not match the commitments".into()
            )
        );
        // two bad keys whose errors cancel in the unweighted sum: refused, the first named
        let mut members = d.set.members.clone();
        members[1] = moved(&members[1], shift);
        members[2] = moved(&members[2], -shift);
        let unweighted: ProjectivePoint = members
            .iter()
            .map(|m| *m.verification_key.inner())
            .sum::<ProjectivePoint>()
            - d.set
                .members
                .iter()
                .map(|m| *m.verification_key.inner())
                .sum::<ProjectivePoint>();
        assert_eq!(unweighted, ProjectivePoint::IDENTITY);
        let id = compute_set_id(3, &d.set.commitments, &members, &[], 0);
        assert!(!verification_keys_consistent(
            &id,
            &d.set.commitments,
            &members
        ));
        assert_eq!(
            TrusteeSet::from_parts(d.set.commitments.clone(), members.clone()).unwrap_err(),
            Error::InconsistentTrusteeSet(
                "verification key of trustee 2 does not match the commitments".into()
            )
        );
        // the same edit in a file is refused for that reason, before the set id is compared
        let mut v: serde_json::Value = serde_json::from_str(&d.set.to_json()).unwrap();
        for i in [1usize, 2] {
            v["members"][i]["verification_key"] = members[i].verification_key.to_hex().into();
        }
        assert_eq!(
            TrusteeSet::from_json(&v.to_string()).unwrap_err(),
            Error::InconsistentTrusteeSet(
                "verification key of trustee 2 does not match the commitments".into()
            )
        );
        // a commitment edited instead: every key mismatches, trustee 1 is named
        let mut cs = d.set.commitments.clone();
        cs[2] = Point::new(*cs[2].inner() + shift, "c").unwrap();
        assert_eq!(
            TrusteeSet::from_parts(cs, d.set.members.clone()).unwrap_err(),
            Error::InconsistentTrusteeSet(
                "verification key of trustee 1 does not match the commitments".into()
            )
        );
    }

    #[test]
    fn edited_set_file_is_refused() {
        let mut rng = rand::rng();
        let d = deal(3, 2, &mut rng).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&d.set.to_json()).unwrap();
        v["threshold"] = 1.into();
        assert!(TrusteeSet::from_json(&v.to_string()).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&d.set.to_json()).unwrap();
        v["members"][1]["verification_key"] = v["members"][0]["verification_key"].clone();
        assert!(TrusteeSet::from_json(&v.to_string()).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&d.set.to_json()).unwrap();
        v["extra"] = 1.into();
        assert!(TrusteeSet::from_json(&v.to_string()).is_err());
        let mut v: serde_json::Value = serde_json::from_str(&d.set.to_json()).unwrap();
        v["version"] = 2.into();
        assert!(TrusteeSet::from_json(&v.to_string()).is_err());
    }
}
