//! AFL++ entry of the `label` target (see `escrow_fuzz::targets::label`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::label(data);
    });
}
