//! AFL++ entry of the `checkpoint` target (see `escrow_fuzz::targets::checkpoint`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::checkpoint(data);
    });
}
