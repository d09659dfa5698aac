//! Synthetic messages: escrow labels and message keys. Every scheme in a run gets the same
//! ones.
//!
//! Message keys are the 32-byte encodings of random non-zero P-256 scalars, so that the naive
//! baseline can Shamir-split them in the scalar field as they are; TDH2 wraps any 32 bytes.

use crate::Result;
use escrow_core::group::{random_scalar, scalar_to_bytes};
use escrow_core::label::Label;
use escrow_core::secret::MessageKey;
use escrow_core::time::Timestamp;

/// One synthetic message: what the escrow layer sees of it.
#[derive(Clone, Debug)]
pub struct Message {
    /// Its escrow label.
    pub label: Label,
    /// Its message key.
    pub key: MessageKey,
}

/// Number of distinct synthetic accounts senders and recipients are drawn from.
pub const ACCOUNTS: usize = 1000;

/// `count` messages among [`ACCOUNTS`] accounts, one second apart from 2023-11-14.
pub fn messages<R: rand_core::CryptoRng + ?Sized>(
    count: usize,
    rng: &mut R,
) -> Result<Vec<Message>> {
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let sender = format!("user-{:04}", i % ACCOUNTS);
        let recipient = format!("user-{:04}", (i * 7 + 1) % ACCOUNTS);
        let label = Label::new(
            &sender,
            &recipient,
            Timestamp(1_700_000_000 + i as i64),
            &format!("m-{i:06}"),
        )?;
        let key = MessageKey::from_bytes(scalar_to_bytes(&random_scalar(rng)));
        out.push(Message { label, key });
    }
    Ok(out)
}
