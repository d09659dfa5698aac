//! Fault injection for tests and the demo's cheating trustee: a setting of the library
//! ([`crate::Config::fault`]) only — the `trustee-node` binary has no switch for it, and the
//! core API has no hook for it: a faulty node builds its bad shares here, from the same public
//! core functions an honest node uses (compute a share, then seal it).

use escrow_core::codec::Digest32;
use escrow_core::codec::WarrantDigest;
use escrow_core::group;
use escrow_core::keys::PublicKey;
use escrow_core::release::{SealedShare, make_share, seal_warrant_share};
use escrow_core::share::ShareContext;
use escrow_core::tdh2::ValidCiphertext;
use escrow_core::trustee::VerifiedKeyShare;
use escrow_core::v2::ComputedShares;
use escrow_core::v2::answer::{SealedAnswer, seal_answer};
use escrow_core::warrant::VerifiedWarrant;

/// The fault a node injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// TEST FEATURE: every released decryption share carries a broken DLEQ proof (version 1),
    /// every version 2 answer carries shares that are not this trustee's (its one proof fails).
    /// The release is logged as usual. Combiners must catch it and name this trustee.
    BadShare,
    /// TEST FEATURE: under a release gate, every cosignature line but the first in the
    /// witnessed checkpoint a response carries has its signature bytes flipped (a node that
    /// hands out shares with evidence the witnesses never gave). The investigator's check
    /// (`audit::witness::check_release`) must refuse the answer and name this trustee.
    ForgedCosignatures,
    /// TEST FEATURE: the node does not check cancellations (a node whose operator removed the
    /// check): it releases under a cancelled warrant, logging the releases as usual. An auditing
    /// witness must refuse to cosign its log (`docs/witness.md` §Auditing witness).
    IgnoreCancellations,
}

impl Fault {
    /// Kebab-case name (as `/v1/info` shows it).
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::BadShare => "bad-share",
            Fault::ForgedCosignatures => "forged-cosignatures",
            Fault::IgnoreCancellations => "ignore-cancellations",
        }
    }

    /// The version 1 share this faulty trustee releases for `ct` under `warrant`. `BadShare`:
    /// the honest share with its two commitments swapped, so its DLEQ proof fails.
    pub fn share(
        self,
        key: &VerifiedKeyShare,
        warrant: &VerifiedWarrant,
        ct: &ValidCiphertext,
    ) -> escrow_core::Result<SealedShare> {
        let rng = &mut rand::rng();
        match self {
            Fault::BadShare => {
                let ctx = ShareContext::warrant(warrant.digest());
                let mut share = key.decryption_share(ct, &ctx, rng)?;
                core::mem::swap(&mut share.a, &mut share.b);
                seal_warrant_share(key, warrant, &share, rng)
            }
            Fault::ForgedCosignatures | Fault::IgnoreCancellations => {
                make_share(key, warrant, ct, rng)
            }
        }
    }

    /// The version 2 answer this faulty trustee releases for the items of `shares`.
    /// `BadShare`: each share `r·u_j` for a random `r` (a key share that is not its own), sealed
    /// with the proof made for its real key share, so the proof fails.
    pub fn answer_v2(
        self,
        key: &VerifiedKeyShare,
        shares: &ComputedShares<'_>,
        warrant: &WarrantDigest,
        request: &Digest32,
        investigator: &PublicKey,
    ) -> escrow_core::Result<SealedAnswer> {
        let rng = &mut rand::rng();
        match self {
            Fault::BadShare => {
                let released = shares.released();
                let r = group::random_scalar(rng);
                let ds: Vec<_> = released
                    .iter()
                    .map(|(_, ct)| *ct.ciphertext().u.inner() * r)
                    .collect();
                seal_answer(key, warrant, request, &released, &ds, investigator, rng)
            }
            Fault::ForgedCosignatures | Fault::IgnoreCancellations => {
                shares.seal(warrant, request, investigator, rng)
            }
        }
    }
}
