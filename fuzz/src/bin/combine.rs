//! AFL++ entry of the `combine` target (see `escrow_fuzz::targets::combine`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::combine(data);
    });
}
