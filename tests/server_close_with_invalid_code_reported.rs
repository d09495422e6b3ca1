//! A Close from the server with a code that may not appear on the wire fails the connection
//! (RFC 6455 §7.1.7): `close_info()` reports our Close 1002, closed by us, not clean, with an
//! error naming the code the server sent.
//!
//! Known to fail before the rewrite of the internals: the connection is reported as a clean
//! "1002 closed by server" without an error. This file documents that defect.

mod support;

use support::*;
use wsthread::ClosedBy;

fn reported(code: u16) {
    let out = Violation::new(close_frame(code, "invalid")).run();
    assert_eq!(out.code, Some(1002), "the client's answer on the wire");
    let info = out.info;
    assert_eq!(info.code.0, 1002, "{info}");
    assert_eq!(info.reason, out.reason, "close_info reports the Close we sent: {info}");
    assert_eq!(info.closed_by, ClosedBy::Local, "{info}");
    assert!(!info.clean, "{info}");
    let error = info.error.as_deref().unwrap_or_default();
    assert!(error.contains(&code.to_string()), "close_info().error should name the code {code}: {info}");
}

#[test]
fn server_close_999_reported() {
    reported(999);
}

#[test]
fn server_close_1005_reported() {
    reported(1005);
}

#[test]
fn server_close_1006_reported() {
    reported(1006);
}

#[test]
fn server_close_5000_reported() {
    reported(5000);
}
