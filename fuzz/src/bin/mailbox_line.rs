//! AFL++ entry of the `mailbox_line` target (see `escrow_fuzz::targets::mailbox_line`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        escrow_fuzz::targets::mailbox_line(data);
    });
}
