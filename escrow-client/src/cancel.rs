//! Delivering a signed cancellation to every trustee (`escrow warrant cancel --trustee …`).

use crate::{ClientError, NodeClient};
use escrow_core::api::CancelResponse;

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
