//! The recipient's side of a mailbox, and what k colluding trustees can do with one: every
//! decision of `escrow open` and `escrow collude` (which line is opened, refused, malformed or
//! someone else's; which key shares count; whether they reach the threshold), with the
//! reports they print. No file I/O: the caller reads the mailbox ([`parse_mailbox`]) and the
//! key shares.
//!
//! [`parse_mailbox`]: crate::retrieval::parse_mailbox

use crate::retrieval::MailboxLine;
use escrow_core::keys::PrivateKey;
use escrow_core::message::{LabelMismatch, Opened, Receipt};
use escrow_core::trustee::{KeyShare, TrusteeSet, VerifiedKeyShare};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A message opened by its recipient, with the ways its label misstates it (empty unless the
/// recipient asked to open mislabelled messages anyway).
#[derive(Debug)]
pub struct OpenedLine {
    /// Mailbox line, from 1.
    pub line: usize,
    /// The label and the body.
    pub opened: Opened,
    /// Every way the label disagrees with the receipt.
    pub mismatches: Vec<LabelMismatch>,
}

/// A message its recipient did not open: not escrow-compliant, or mislabelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedLine {
    /// Mailbox line, from 1.
    pub line: usize,
    /// The message id.
    pub id: String,
    /// Why, in words.
    pub reason: String,
    /// The mismatch codes ([`LabelMismatch::code`]) when the label was the reason.
    pub mislabelled: Option<Vec<&'static str>>,
}

/// A mailbox line that is no message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedLine {
    /// Mailbox line, from 1.
    pub line: usize,
    /// Why.
    pub error: String,
}

/// What `escrow open` did with a mailbox.
#[derive(Debug, Default)]
pub struct OpenReport {
    /// Opened, in mailbox order.
    pub opened: Vec<OpenedLine>,
    /// Refused: the escrow header is wrong, or the label misstates the message.
    pub refused: Vec<RefusedLine>,
    /// Lines that are no message.
    pub malformed: Vec<MalformedLine>,
    /// Messages addressed to other keys (left alone).
    pub other_recipients: usize,
}

/// Open every message of `lines` addressed to `key` (only the one with id `only`, if given):
/// each must be escrowed to `set` (checked before decryption) and its label must agree with
/// the `receipt`; a mislabelled message is refused unless `open_mislabelled`, when it is
/// opened with its mismatches listed. A malformed line is reported, never skipped silently.
pub fn open(
    lines: &[MailboxLine],
    key: &PrivateKey,
    set: &TrusteeSet,
    receipt: &Receipt,
    only: Option<&str>,
    open_mislabelled: bool,
) -> OpenReport {
    let my_id = key.public().key_id();
    let mut r = OpenReport::default();
    for l in lines {
        let m = match &l.message {
            Ok(m) => m,
            Err(e) => {
                r.malformed.push(MalformedLine {
                    line: l.line,
                    error: e.clone(),
                });
                continue;
            }
        };
        if only.is_some_and(|id| id != m.id()) {
            continue;
        }
        if m.recipient_key() != my_id {
            r.other_recipients += 1;
            continue;
        }
        let refused = |reason: String, mislabelled| RefusedLine {
            line: l.line,
            id: m.id().to_string(),
            reason,
            mislabelled,
        };
        match m.open_reporting_label(key, set, receipt) {
            Ok((opened, mismatches)) if mismatches.is_empty() || open_mislabelled => {
                r.opened.push(OpenedLine {
                    line: l.line,
                    opened,
                    mismatches,
                })
            }
            Ok((_, mismatches)) => r.refused.push(refused(
                escrow_core::Error::Mislabelled {
                    message_id: m.id().to_string(),
                    why: (mismatches.iter().map(ToString::to_string))
                        .collect::<Vec<_>>()
                        .join("; "),
                }
                .to_string(),
                Some(mismatches.iter().map(LabelMismatch::code).collect()),
            )),
            Err(e) => r.refused.push(refused(e.to_string(), None)),
        }
    }
    r
}

impl OpenReport {
    /// Opened although mislabelled (the recipient asked for it).
    pub fn warned(&self) -> usize {
        self.opened
            .iter()
            .filter(|o| !o.mismatches.is_empty())
            .count()
    }

    /// The readable report: each message opened (after a warning per mismatch), each line
    /// refused or malformed, the totals.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for o in &self.opened {
            for mm in &o.mismatches {
                text.push_str(&format!("WARNING: MISLABELLED ({}): {mm}\n", mm.code()));
            }
            text.push_str(&opened_text(&o.opened));
            text.push('\n');
        }
        for r in &self.refused {
            text.push_str(&format!(
                "REFUSED line {} (message {}): {}\n",
                r.line, r.id, r.reason
            ));
        }
        for m in &self.malformed {
            text.push_str(&format!("MALFORMED line {}: {}\n", m.line, m.error));
        }
        text.push_str(&format!(
            "{} opened, {} refused, {} malformed, {} addressed to other keys",
            self.opened.len(),
            self.refused.len(),
            self.malformed.len(),
            self.other_recipients
        ));
        let warned = self.warned();
        if warned > 0 {
            text.push_str(&format!(
                "\nWARNING: {warned} of the opened messages are MISLABELLED: the trustees would judge them by a label that misstates them"
            ));
        }
        text
    }

    /// The JSON report (`ok` when nothing was refused or malformed), with the receipt the
    /// labels were checked against.
    pub fn to_json(&self, receipt: &Receipt) -> Value {
        let opened: Vec<Value> = (self.opened.iter())
            .map(|o| {
                let mut v = opened_json(&o.opened);
                if !o.mismatches.is_empty()
                    && let Some(m) = v.as_object_mut()
                {
                    let mm = o.mismatches.iter();
                    let mm = mm.map(|x| json!({"code": x.code(), "detail": x.to_string()}));
                    m.insert("mislabelled".into(), mm.collect());
                }
                v
            })
            .collect();
        let refused: Vec<Value> = (self.refused.iter())
            .map(|r| {
                let mut v = json!({"line": r.line, "id": r.id, "reason": r.reason});
                if let (Some(codes), Some(m)) = (&r.mislabelled, v.as_object_mut()) {
                    m.insert("mislabelled".into(), json!(codes));
                }
                v
            })
            .collect();
        let malformed = self.malformed.iter();
        let malformed: Vec<Value> = malformed
            .map(|m| json!({"line": m.line, "error": m.error}))
            .collect();
        json!({
            "ok": self.refused.is_empty() && self.malformed.is_empty(),
            "opened": opened,
            "receipt": {"to": receipt.recipient(), "from": receipt.sender(),
                        "received": receipt.received_at(), "tolerance_secs": receipt.tolerance_secs()},
            "refused": refused, "malformed": malformed, "other_recipients": self.other_recipients,
        })
    }
}

/// An opened message as text: a header line, then the body (invalid UTF-8 replaced).
pub fn opened_text(o: &Opened) -> String {
    format!(
        "--- message {} from {} to {} at {}\n{}",
        o.label.message_id,
        o.label.sender,
        o.label.recipient,
        o.label.timestamp,
        String::from_utf8_lossy(&o.body)
    )
}

/// An opened message as JSON: id, accounts, time, and `body` (UTF-8) or `body_base64`.
pub fn opened_json(o: &Opened) -> Value {
    let (key, body) = match std::str::from_utf8(&o.body) {
        Ok(s) => ("body", Value::from(s)),
        Err(_) => (
            "body_base64",
            escrow_core::codec::b64_encode(&o.body).into(),
        ),
    };
    let mut m = serde_json::Map::new();
    m.insert("id".into(), o.label.message_id.clone().into());
    m.insert("from".into(), o.label.sender.clone().into());
    m.insert("to".into(), o.label.recipient.clone().into());
    m.insert("timestamp".into(), o.label.timestamp.to_rfc3339().into());
    m.insert(key.into(), body);
    Value::Object(m)
}

/// Whether a mailbox already holds a message with this id (`escrow seal` refuses a second).
pub fn holds_id(lines: &[MailboxLine], id: &str) -> bool {
    (lines.iter()).any(|l| l.message.as_ref().is_ok_and(|m| m.id() == id))
}

/// Why colluding trustees' key shares cannot be pooled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// A share fails its Feldman check against the set (or is of another set).
    #[error("key share in {what} refused")]
    Refused {
        /// Where the share came from (its file).
        what: String,
        /// Why.
        #[source]
        source: escrow_core::Error,
    },
    /// The same trustee's share twice.
    #[error("trustee {index} given twice ({what}); each trustee counts once")]
    Twice {
        /// The trustee.
        index: u16,
        /// Where the second copy came from.
        what: String,
    },
    /// Fewer trustees than the threshold: they learn nothing.
    #[error(
        "{} trustee(s) {:?} pooled their shares, but {threshold} are needed: they learn nothing about any message key \
         (Shamir shares below the threshold are independent of the secret)",
        trustees.len(),
        trustees
    )]
    BelowThreshold {
        /// The trustees who pooled.
        trustees: Vec<u16>,
        /// The set's threshold k.
        threshold: usize,
    },
}

/// Key shares pooled by colluding trustees: each checked against the set as it is added,
/// each trustee counted once.
#[derive(Debug)]
pub struct SharePool<'a> {
    set: &'a TrusteeSet,
    shares: Vec<VerifiedKeyShare>,
    seen: BTreeSet<u16>,
}

impl<'a> SharePool<'a> {
    /// An empty pool for `set`.
    pub fn new(set: &'a TrusteeSet) -> Self {
        SharePool {
            set,
            shares: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    /// Check `share` (from `what`, named in errors) and add it.
    pub fn add(&mut self, what: &str, share: KeyShare) -> Result<(), PoolError> {
        let index = share.index();
        let v = self
            .set
            .verify_share(share)
            .map_err(|source| PoolError::Refused {
                what: what.to_string(),
                source,
            })?;
        if !self.seen.insert(index) {
            return Err(PoolError::Twice {
                index,
                what: what.to_string(),
            });
        }
        self.shares.push(v);
        Ok(())
    }

    /// The pooled shares, if they reach the set's threshold.
    pub fn finish(self) -> Result<Vec<VerifiedKeyShare>, PoolError> {
        let threshold = usize::from(self.set.threshold());
        if self.shares.len() < threshold {
            return Err(PoolError::BelowThreshold {
                trustees: self.shares.iter().map(|s| s.index()).collect(),
                threshold,
            });
        }
        Ok(self.shares)
    }
}

/// What k colluding trustees read from a mailbox without any warrant.
#[derive(Debug)]
pub struct CollusionReport {
    /// The trustees who pooled their shares.
    pub trustees: Vec<u16>,
    /// The set's threshold k and size n.
    pub threshold: u16,
    /// The set's size n.
    pub set_size: u16,
    /// Read, in mailbox order.
    pub read: Vec<Opened>,
    /// Lines not read: line, message id (none for a malformed line), why.
    pub failed: Vec<(usize, Option<String>, String)>,
}

/// Read every message of `lines` (only the one with id `only`, if given) with the pooled
/// `shares` ([`SharePool::finish`]): no warrant asked for, none checked, nothing logged.
pub fn collude(
    set: &TrusteeSet,
    shares: &[VerifiedKeyShare],
    lines: &[MailboxLine],
    only: Option<&str>,
) -> CollusionReport {
    let mut r = CollusionReport {
        trustees: shares.iter().map(|s| s.index()).collect(),
        threshold: set.threshold(),
        set_size: set.trustees(),
        read: Vec::new(),
        failed: Vec::new(),
    };
    for l in lines {
        let m = match &l.message {
            Ok(m) => m,
            Err(e) => {
                r.failed.push((l.line, None, format!("malformed: {e}")));
                continue;
            }
        };
        if only.is_some_and(|id| id != m.id()) {
            continue;
        }
        match m.read_with_key_shares(set, shares) {
            Ok(o) => r.read.push(o),
            Err(e) => r
                .failed
                .push((l.line, Some(m.id().to_string()), format!("{e:#}"))),
        }
    }
    r
}

impl CollusionReport {
    /// The readable report.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} of {} trustees {:?} pooled their key shares. No warrant was asked for, none was checked, nothing was logged.\n",
            self.trustees.len(),
            self.set_size,
            self.trustees
        );
        for o in &self.read {
            text.push_str(&opened_text(o));
            text.push('\n');
        }
        for (line, _, reason) in &self.failed {
            text.push_str(&format!("could not read line {line}: {reason}\n"));
        }
        text.push_str(&format!(
            "{} message(s) read without any warrant: any k trustees who collude can read everything escrowed to them.",
            self.read.len()
        ));
        text
    }

    /// The JSON report.
    pub fn to_json(&self) -> Value {
        let failed: Vec<Value> = (self.failed.iter())
            .map(|(line, id, reason)| match id {
                Some(id) => json!({"line": line, "id": id, "reason": reason}),
                None => json!({"line": line, "reason": reason}),
            })
            .collect();
        json!({
            "ok": true, "trustees": self.trustees, "threshold": self.threshold,
            "read": self.read.iter().map(opened_json).collect::<Vec<_>>(), "failed": failed,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::retrieval::parse_mailbox;
    use escrow_core::label::Label;
    use escrow_core::time::Timestamp;
    use escrow_core::v2::{MailboxMessage, seal_v2};

    const T: i64 = 1_780_000_000;

    struct Fixture {
        set: TrusteeSet,
        shares: Vec<KeyShare>,
        bob: PrivateKey,
        mailbox: String,
    }

    /// A 2-of-3 set and a mailbox from alice to bob: a good message (`m1`), one whose label
    /// names carol as the recipient (`m2`), one for another key (`m3`), and a junk line.
    fn fixture() -> Fixture {
        let mut rng = rand::rng();
        let d = escrow_core::trustee::deal(3, 2, &mut rng).unwrap();
        let bob = PrivateKey::generate(&mut rng);
        let eve = PrivateKey::generate(&mut rng);
        let at = Timestamp::from_unix(T);
        let mut mailbox = String::new();
        for (id, to, key) in [
            ("m1", "bob@example.org", &bob),
            ("m2", "carol@example.org", &bob),
            ("m3", "bob@example.org", &eve),
        ] {
            let label = Label::new("alice@example.org", to, at, id).unwrap();
            let m = seal_v2(&d.set, &key.public(), &label, b"hello", &mut rng).unwrap();
            mailbox.push_str(&MailboxMessage::V2(m).to_json());
            mailbox.push('\n');
        }
        mailbox.push_str("{not a message}\n");
        Fixture {
            shares: d.secrets.iter().map(|s| s.key_share.clone()).collect(),
            set: d.set,
            bob,
            mailbox,
        }
    }

    fn receipt() -> Receipt {
        let at = Timestamp::from_unix(T + 60);
        Receipt::new("bob@example.org", "alice@example.org", at, 300).unwrap()
    }

    #[test]
    fn open_sorts_every_line_and_refuses_a_mislabelled_message() {
        let f = fixture();
        let lines = parse_mailbox(&f.mailbox);
        let r = open(&lines, &f.bob, &f.set, &receipt(), None, false);
        assert_eq!(r.opened.len(), 1);
        assert_eq!(r.opened[0].opened.label.message_id, "m1");
        assert_eq!(r.refused.len(), 1);
        assert_eq!(r.refused[0].id, "m2");
        assert_eq!(r.refused[0].mislabelled, Some(vec!["recipient"]));
        assert_eq!(r.malformed.len(), 1);
        assert_eq!(r.malformed[0].line, 4);
        assert_eq!(r.other_recipients, 1);
        let j = r.to_json(&receipt());
        assert_eq!(j["ok"], false);
        assert_eq!(j["opened"][0]["body"], "hello");
        assert_eq!(j["refused"][0]["mislabelled"][0], "recipient");
        assert!(
            r.to_text()
                .ends_with("1 opened, 1 refused, 1 malformed, 1 addressed to other keys")
        );
        // Asked to, the recipient opens the mislabelled message, with its mismatch listed.
        let r = open(&lines, &f.bob, &f.set, &receipt(), Some("m2"), true);
        assert_eq!((r.opened.len(), r.refused.len(), r.warned()), (1, 0, 1));
        assert!(r.to_text().contains("WARNING: MISLABELLED (recipient)"));
        assert!(holds_id(&lines, "m3") && !holds_id(&lines, "m4"));
    }

    #[test]
    fn a_pool_counts_each_trustee_once_and_reads_nothing_below_the_threshold() {
        let f = fixture();
        let mut pool = SharePool::new(&f.set);
        pool.add("t1", f.shares[0].clone()).unwrap();
        assert!(matches!(
            pool.add("t1 again", f.shares[0].clone()),
            Err(PoolError::Twice { index: 1, .. })
        ));
        let e = pool.finish().unwrap_err();
        assert!(
            matches!(e, PoolError::BelowThreshold { threshold: 2, .. }),
            "{e}"
        );
        // A share of another set is refused, naming where it came from.
        let other = escrow_core::trustee::deal(3, 2, &mut rand::rng()).unwrap();
        let mut pool = SharePool::new(&f.set);
        let e = pool
            .add("x.json", other.secrets[0].key_share.clone())
            .unwrap_err();
        assert!(e.to_string().contains("x.json"), "{e}");
        // k trustees read every message, whoever it is for; the junk line is reported.
        let mut pool = SharePool::new(&f.set);
        pool.add("t1", f.shares[0].clone()).unwrap();
        pool.add("t3", f.shares[2].clone()).unwrap();
        let shares = pool.finish().unwrap();
        let r = collude(&f.set, &shares, &parse_mailbox(&f.mailbox), None);
        assert_eq!(r.read.len(), 3);
        assert_eq!(r.failed.len(), 1);
        assert_eq!(r.to_json()["trustees"], json!([1, 3]));
        assert!(r.to_text().starts_with("2 of 3 trustees [1, 3] pooled"));
    }
}
