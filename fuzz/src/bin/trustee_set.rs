//! AFL++ entry of the `trustee_set` target (see `escrow_fuzz::targets::trustee_set`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::trustee_set(data);
    });
}
