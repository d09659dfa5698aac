//! The body of a C2SP tlog-witness `add-checkpoint` request (<https://c2sp.org/tlog-witness>):
//!
//! ```text
//! old <decimal size, no leading zeroes>\n
//! <base64 hash>\n          (0..=63 consistency proof lines)
//! \n
//! <signed checkpoint note>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use escrow_core::codec::Digest32;

/// At most this many consistency proof lines (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed (not yet verified) `add-checkpoint` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the previous checkpoint the client believes the witness holds.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Digest32>,
    /// The signed checkpoint note, as sent.
    pub checkpoint: String,
}

/// Why a request body is malformed (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed add-checkpoint body: {0}")]
pub struct BodyError(pub String);

fn bad(why: impl Into<String>) -> BodyError {
    BodyError(why.into())
}

impl AddCheckpoint {
    /// Parse a request body.
    pub fn parse(body: &[u8]) -> Result<Self, BodyError> {
        let text = std::str::from_utf8(body).map_err(|_| bad("not UTF-8"))?;
        let (first, mut rest) = text
            .split_once('\n')
            .ok_or_else(|| bad("no old size line"))?;
        let digits = first
            .strip_prefix("old ")
            .ok_or_else(|| bad("first line is not `old <size>`"))?;
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        if !canonical {
            return Err(bad(format!(
                "old size {digits:?} is not a canonical decimal"
            )));
        }
        let old_size: u64 = digits
            .parse()
            .map_err(|_| bad(format!("old size {digits:?} out of range")))?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or_else(|| bad("no empty line before the checkpoint"))?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad(format!("more than {MAX_PROOF_LINES} proof lines")));
            }
            let bytes = STANDARD
                .decode(line)
                .map_err(|e| bad(format!("proof line {}: {e}", proof.len() + 1)))?;
            let hash: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                bad(format!(
                    "proof line {}: {} bytes, want 32",
                    proof.len() + 1,
                    bytes.len()
                ))
            })?;
            proof.push(Digest32(hash));
        }
        if rest.is_empty() {
            return Err(bad("no checkpoint"));
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: rest.to_string(),
        })
    }

    /// The request body for these fields.
    pub fn to_body(&self) -> String {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&STANDARD.encode(h.0));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trip_and_rejects() {
        let req = AddCheckpoint {
            old_size: 20,
            proof: vec![Digest32([1u8; 32]), Digest32([2u8; 32])],
            checkpoint: "o\n21\nAAAA\n\n\u{2014} o AAAA\n".into(),
        };
        assert_eq!(AddCheckpoint::parse(req.to_body().as_bytes()).unwrap(), req);
        let empty = "old 0\n\no\n1\nx\n\n\u{2014} o y\n";
        assert_eq!(AddCheckpoint::parse(empty.as_bytes()).unwrap().old_size, 0);
        for b in [
            "old 01\n\nx",
            "old -1\n\nx",
            "old \n\nx",
            "new 1\n\nx",
            "old 1\nnotbase64!\n\nx",
            "old 1\nAAAA\n\nx",
            "old 1\n",
            "old 1\n\n",
        ] {
            assert!(AddCheckpoint::parse(b.as_bytes()).is_err(), "{b:?}");
        }
        let many = format!(
            "old 1\n{}\nx",
            format!("{}\n", STANDARD.encode([0u8; 32])).repeat(64)
        );
        assert!(
            AddCheckpoint::parse(many.as_bytes())
                .unwrap_err()
                .0
                .contains("more than 63")
        );
    }
}
