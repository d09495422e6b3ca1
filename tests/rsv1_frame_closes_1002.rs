//! A frame with RSV1 set (no extension was negotiated) is a protocol error: the client sends
//! Close 1002 with a reason naming the reserved bits, and the message is not delivered.

mod support;

use support::*;

#[test]
fn rsv1_frame_closes_1002() {
    Violation::new(frame(true, true, OP_TEXT, b"compressed?")).expect_close(1002, "reserved");
}
