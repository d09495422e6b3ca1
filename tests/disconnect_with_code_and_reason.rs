//! `disconnect_with(code, reason)` sends that code and reason and completes the close
//! handshake; a reason of exactly 123 bytes is allowed.

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy};

fn close_with(code: u16, reason: &str) {
    let (_server, seen, client, rx) = connected_echo();
    client.disconnect_with(code, reason).unwrap();
    assert_eq!(rx.try_recv(), Ok(None), "disconnect_with() returned before the callback's None");

    let (_, got_code, got_reason) = wait_close(&seen);
    assert_eq!(got_code, Some(code));
    assert_eq!(got_reason, reason);

    let info = client.close_info().unwrap();
    assert_eq!(info.code, CloseCode(code));
    assert_eq!(info.reason, reason);
    assert_eq!(info.closed_by, ClosedBy::Local);
    assert!(info.clean, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn disconnect_with_4000_done() {
    close_with(4000, "done");
}

#[test]
fn disconnect_with_1000_and_a_123_byte_reason() {
    close_with(1000, &"r".repeat(123));
}

#[test]
fn disconnect_with_a_multibyte_reason() {
    close_with(3000, "fini ✓");
}
