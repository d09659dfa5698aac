//! AFL++ entry of the `log_entry` target (see `escrow_fuzz::targets::log_entry`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::log_entry(data);
    });
}
