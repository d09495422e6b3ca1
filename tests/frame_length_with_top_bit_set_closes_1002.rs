//! A frame header whose 64-bit length has its most significant bit set breaks RFC 6455
//! §5.2: even with both size limits off (`None`) the client fails the connection with Close
//! 1002 (protocol error) and reports it, instead of trying to make room for 2^63 bytes.

mod support;

use support::hostile::frame_header;
use support::*;

#[test]
fn frame_length_with_top_bit_set_closes_1002() {
    let mut bytes = frame_header(true, OP_BINARY, 1 << 63);
    bytes.extend_from_slice(&[0x5A; 4096]);
    Violation::new(bytes)
        .options(|o| o.max_frame_size(None).max_message_size(None))
        .expect_close(1002, "most significant bit");
}
