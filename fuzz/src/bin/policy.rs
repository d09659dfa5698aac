//! AFL++ entry of the `policy` target (see `escrow_fuzz::targets::policy`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::policy(data);
    });
}
