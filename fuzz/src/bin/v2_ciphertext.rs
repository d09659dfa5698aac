//! AFL++ entry of the `v2_ciphertext` target (see `escrow_fuzz::targets::v2_ciphertext`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::v2_ciphertext(data);
    });
}
