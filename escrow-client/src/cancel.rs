//! Delivering a signed cancellation to every trustee (`escrow warrant cancel --trustee …`).

use crate::{ClientError, NodeClient};
use escrow_core::api::CancelResponse;
use serde_json::{Value, json};

/// One trustee's answer to a cancellation.
#[derive(Debug)]
#[non_exhaustive]
pub enum Delivery {
    /// Accepted (recorded now, or already known).
    Accepted(CancelResponse),
    /// Refused by the trustee's checks (HTTP 403 with a reason code).
    Refused(ClientError),
    /// Not delivered (unreachable, other error).
    Failed(ClientError),
}

impl Delivery {
    /// `accepted`, `refused`, `failed`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Delivery::Accepted(_) => "accepted",
            Delivery::Refused(_) => "refused",
            Delivery::Failed(_) => "failed",
        }
    }
}

/// POST the cancellation envelope's JSON to every trustee at once; one answer per client, in
/// order.
pub fn deliver(clients: &[NodeClient], envelope_json: &str) -> Vec<Delivery> {
    std::thread::scope(|sc| {
        let hs: Vec<_> = clients
            .iter()
            .map(|cl| sc.spawn(|| cl.cancel(envelope_json)))
            .collect();
        hs.into_iter()
            .map(|h| {
                let ans = h.join().unwrap_or_else(|_| {
                    Err(ClientError::Malformed {
                        url: String::new(),
                        detail: "internal error".into(),
                    })
                });
                match ans {
                    Ok(r) => Delivery::Accepted(r),
                    Err(e @ ClientError::Status { status: 403, .. }) => Delivery::Refused(e),
                    Err(e) => Delivery::Failed(e),
                }
            })
            .collect()
    })
}

/// Every trustee's answer to one cancellation, by node URL, in the order asked.
#[derive(Debug)]
pub struct DeliveryReport {
    /// Node URL and its answer.
    pub answers: Vec<(String, Delivery)>,
}

/// [`deliver`] to every client and gather the answers by URL.
pub fn deliver_all(clients: &[NodeClient], envelope_json: &str) -> DeliveryReport {
    let urls = clients.iter().map(|c| c.url().to_string());
    DeliveryReport {
        answers: urls.zip(deliver(clients, envelope_json)).collect(),
    }
}

impl DeliveryReport {
    /// How many trustees refused it.
    pub fn refused(&self) -> usize {
        let refused = |(_, d): &&(String, Delivery)| matches!(d, Delivery::Refused(_));
        self.answers.iter().filter(refused).count()
    }

    /// How many could not be reached (or answered otherwise).
    pub fn failed(&self) -> usize {
        let failed = |(_, d): &&(String, Delivery)| matches!(d, Delivery::Failed(_));
        self.answers.iter().filter(failed).count()
    }

    /// Whether every trustee accepted it.
    pub fn all_accepted(&self) -> bool {
        self.refused() == 0 && self.failed() == 0
    }

    /// One line per trustee: URL, outcome, log entry or error.
    pub fn to_text(&self) -> String {
        let mut lines = String::new();
        for (url, d) in &self.answers {
            match d {
                Delivery::Accepted(r) => lines.push_str(&format!(
                    "  {url:<28} {} (log entry {})\n",
                    r.status.as_str(),
                    r.leaf_index
                )),
                Delivery::Refused(e) | Delivery::Failed(e) => {
                    lines.push_str(&format!("  {url:<28} {}: {e}\n", d.outcome()))
                }
            }
        }
        lines
    }

    /// One JSON object per trustee: `url`, `outcome`, and `leaf_index` or `error` (with the
    /// node's error `code`, if it gave one).
    pub fn to_json(&self) -> Vec<Value> {
        let row = |(url, d): &(String, Delivery)| match d {
            Delivery::Accepted(r) => {
                json!({"url": url, "outcome": r.status.as_str(), "leaf_index": r.leaf_index})
            }
            Delivery::Refused(e) | Delivery::Failed(e) => {
                let code = match e {
                    ClientError::Status { code, .. } => Some(code.to_string()),
                    _ => None,
                };
                json!({"url": url, "outcome": d.outcome(), "error": e.to_string(), "code": code})
            }
        };
        self.answers.iter().map(row).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_report_counts_refusals_and_failures_apart() {
        let status = |status| ClientError::Status {
            url: "https://b".into(),
            status,
            code: escrow_core::api::ErrorCode::Internal,
            message: "no".into(),
            leaf_index: None,
        };
        let ok: CancelResponse = serde_json::from_value(json!({"version": 1,
            "status": "cancelled", "warrant_id": "w-1", "leaf_index": 7}))
        .unwrap();
        let r = DeliveryReport {
            answers: vec![
                ("https://a".into(), Delivery::Accepted(ok)),
                ("https://b".into(), Delivery::Refused(status(403))),
                ("https://c".into(), Delivery::Failed(status(500))),
            ],
        };
        assert_eq!((r.refused(), r.failed(), r.all_accepted()), (1, 1, false));
        let j = r.to_json();
        assert_eq!(j[0]["leaf_index"], 7);
        assert_eq!(
            (j[1]["outcome"].as_str(), j[2]["outcome"].as_str()),
            (Some("refused"), Some("failed"))
        );
        assert!(j[1]["code"].is_string());
        assert!(r.to_text().contains("(log entry 7)"));
    }
}
