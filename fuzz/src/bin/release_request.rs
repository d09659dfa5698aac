//! AFL++ entry of the `release_request` target (see `escrow_fuzz::targets::release_request`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::release_request(data);
    });
}
