//! AFL++ entry of the `api` target (see `escrow_fuzz::targets::api`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::api(data);
    });
}
