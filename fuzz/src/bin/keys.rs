//! AFL++ entry of the `keys` target (see `escrow_fuzz::targets::keys`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::keys(data);
    });
}
