//! AFL++ entry of the `cancellation` target (see `escrow_fuzz::targets::cancellation`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::cancellation(data);
    });
}
