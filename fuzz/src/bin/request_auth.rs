//! AFL++ entry of the `request_auth` target (see `escrow_fuzz::targets::request_auth`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::request_auth(data);
    });
}
