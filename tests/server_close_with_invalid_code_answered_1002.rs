//! A Close from the server with a code that may not appear on the wire (below 1000, reserved,
//! 1005/1006/1015, 5000 and up: RFC 6455 §7.4) is a protocol error: the client answers with
//! Close 1002, not with an echo of the code, and delivers `None`. What `close_info()` says of
//! it is checked in `server_close_with_invalid_code_reported.rs`.

mod support;

use support::*;

#[test]
fn server_close_with_invalid_code_answered_1002() {
    for code in [999, 1004, 1005, 1006, 1015, 2999, 5000] {
        let out = Violation::new(close_frame(code, "invalid")).run();
        assert_eq!(out.code, Some(1002), "the client's answer to Close {code}: {:?}; {}", out.reason, out.info);
    }
}
