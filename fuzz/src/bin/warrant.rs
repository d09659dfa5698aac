//! AFL++ entry of the `warrant` target (see `escrow_fuzz::targets::warrant`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::warrant(data);
    });
}
