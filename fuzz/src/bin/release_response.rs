//! AFL++ entry of the `release_response` target (see `escrow_fuzz::targets::release_response`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::release_response(data);
    });
}
