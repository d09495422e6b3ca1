//! With the default limits, a frame header announcing 2^40 bytes fails the connection with
//! Close 1009 at once: from the header alone, without waiting for (or making room for) the
//! payload.

mod support;

use support::hostile::frame_header;
use support::*;

#[test]
fn huge_frame_header_over_default_limit_closes_1009() {
    let mut bytes = frame_header(true, OP_BINARY, 1 << 40);
    bytes.extend_from_slice(&[0x5A; 4096]);
    // The server sends nothing more and keeps the connection open: only the header can
    // bring the Close about.
    Violation::new(bytes).expect_close(1009, "over the limit");
}
