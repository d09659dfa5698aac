//! AFL++ entry of the `v2_answer` target (see `escrow_fuzz::targets::v2_answer`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::v2_answer(data);
    });
}
