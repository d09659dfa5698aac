//! AFL++ entry of the `merkle_proof` target (see `escrow_fuzz::targets::merkle_proof`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::merkle_proof(data);
    });
}
