//! The baseline beside our trustee nodes' key generation (`escrow experiment dkg`):
//! `frost-p256`'s distributed key generation (Pedersen DKG with proofs of knowledge, the
//! FROST paper's Figure 1), all n participants in this one process, one after another, no
//! network. Its round-2 shares are sent in the clear (the caller must provide confidential,
//! authenticated channels); ours are encrypted pairwise and every message is signed, and each
//! participant signs a certificate: the baseline is the cost of the arithmetic alone.

use std::collections::BTreeMap;
use std::time::Instant;

/// One DKG by `frost-p256` among `n` participants with threshold `k`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FrostDkg {
    /// Participants.
    pub n: u16,
    /// Threshold.
    pub k: u16,
    /// Wall time of each part (`part1`, `part2`, `part3`), seconds, all participants.
    pub seconds: [f64; 3],
    /// Bytes of the messages each part produces, serialised as `frost-p256` does (round 1:
    /// every participant's commitment and proof of knowledge, to be broadcast; round 2: one
    /// share per ordered pair; part 3 sends nothing).
    pub produced: [u64; 3],
    /// Bytes a relay would deliver: round 1 each package to the n−1 others, round 2 each
    /// share to its one recipient.
    pub delivered: [u64; 3],
}

fn fail(what: &str, e: impl core::fmt::Display) -> crate::Error {
    crate::Error::Peer(format!("frost-p256 DKG {what}: {e}"))
}

/// Run the DKG; every participant's result is checked to agree on the group key.
pub fn run(n: u16, k: u16) -> crate::Result<FrostDkg> {
    use frost_p256::keys::dkg;
    let ids: Vec<frost_p256::Identifier> = (1..=n)
        .map(|i| frost_p256::Identifier::try_from(i).map_err(|e| fail("identifier", e)))
        .collect::<crate::Result<_>>()?;
    let t0 = Instant::now();
    let mut secrets1 = BTreeMap::new();
    let mut round1 = BTreeMap::new();
    for id in &ids {
        let (s, p) = dkg::part1(*id, n, k, rand_core06::OsRng).map_err(|e| fail("part 1", e))?;
        secrets1.insert(*id, s);
        round1.insert(*id, p);
    }
    let s1 = t0.elapsed().as_secs_f64();
    let mut r1_bytes = 0u64;
    for p in round1.values() {
        let c: usize = p
            .commitment()
            .serialize()
            .map_err(|e| fail("commitment", e))?
            .iter()
            .map(Vec::len)
            .sum();
        let pok = p
            .proof_of_knowledge()
            .serialize()
            .map_err(|e| fail("proof", e))?
            .len();
        r1_bytes += (c + pok) as u64;
    }
    let others = |me: &frost_p256::Identifier| -> BTreeMap<_, _> {
        round1
            .iter()
            .filter(|(id, _)| *id != me)
            .map(|(id, p)| (*id, p.clone()))
            .collect()
    };
    let t1 = Instant::now();
    let mut secrets2 = BTreeMap::new();
    let mut inbox: BTreeMap<frost_p256::Identifier, BTreeMap<_, _>> = BTreeMap::new();
    let mut r2_bytes = 0u64;
    for (id, s) in secrets1 {
        let (s2, out) = dkg::part2(s, &others(&id)).map_err(|e| fail("part 2", e))?;
        for (to, p) in out {
            r2_bytes += p.signing_share().serialize().len() as u64;
            inbox.entry(to).or_default().insert(id, p);
        }
        secrets2.insert(id, s2);
    }
    let s2 = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    let mut group = None;
    for (id, s) in &secrets2 {
        let mine = inbox.remove(id).unwrap_or_default();
        let (_, public) = dkg::part3(s, &others(id), &mine).map_err(|e| fail("part 3", e))?;
        let key = public
            .verifying_key()
            .serialize()
            .map_err(|e| fail("key", e))?;
        match &group {
            None => group = Some(key),
            Some(g) if *g == key => {}
            Some(_) => return Err(fail("part 3", "participants disagree on the group key")),
        }
    }
    let s3 = t2.elapsed().as_secs_f64();
    let others_n = u64::from(n.saturating_sub(1));
    Ok(FrostDkg {
        n,
        k,
        seconds: [s1, s2, s3],
        produced: [r1_bytes, r2_bytes, 0],
        delivered: [r1_bytes * others_n, r2_bytes, 0],
    })
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_small_frost_dkg_agrees_and_counts_its_bytes() {
        let r = super::run(3, 2).unwrap();
        // round 1: 2 commitments (33 bytes) and a proof (33 + 32) each; round 2: 6 shares
        assert_eq!(r.produced, [3 * (2 * 33 + 65), 6 * 32, 0]);
        assert_eq!(r.delivered[0], 2 * r.produced[0]);
    }
}
