//! AFL++ entry of the `log_page` target (see `escrow_fuzz::targets::log_page`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::log_page(data);
    });
}
