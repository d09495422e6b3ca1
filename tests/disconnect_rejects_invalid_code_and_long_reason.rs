//! `disconnect_with` refuses codes that may not be sent (1005, 999, …) and reasons over 123
//! bytes, and leaves the connection open when it does.

mod support;

use support::*;
use wsthread::{Error, Message};

#[test]
fn disconnect_rejects_invalid_code_and_long_reason() {
    let (_server, seen, client, rx) = connected_echo();

    for code in [1005u16, 999, 1006, 1015, 0, 5000] {
        match client.disconnect_with(code, "") {
            Err(Error::InvalidCloseCode(c)) => assert_eq!(c, code),
            other => panic!("code {code}: expected InvalidCloseCode, got {other:?}"),
        }
    }
    match client.disconnect_with(1000, &"x".repeat(124)) {
        Err(Error::PayloadTooLong(_)) => {}
        other => panic!("124-byte reason: expected PayloadTooLong, got {other:?}"),
    }

    // Still open and working.
    assert!(client.is_open());
    client.send("still here").unwrap();
    assert_eq!(next_message(&rx), Message::Text("still here".into()));
    assert!(seen.try_recv().is_err(), "no Close went out");

    client.disconnect().unwrap();
    assert_eq!(wait_close(&seen).1, Some(1001));
    expect_end(&rx);
    drop(client);
    expect_no_more(&rx);
}
