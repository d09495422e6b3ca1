//! `disconnect()` sends Close 1001, waits for the server's reply, and returns with the
//! callback's `None` already delivered.

mod support;

use crossbeam_channel::TryRecvError;
use support::*;
use wsthread::{CloseCode, ClosedBy, Message, State};

#[test]
fn local_disconnect_sends_1001() {
    let (_server, seen, client, rx) = echo_client();
    assert_eq!(client.state(), State::Closed);
    assert!(client.close_info().is_none(), "no close_info before the first connect");
    client.connect(&[]).unwrap();
    assert_eq!(client.state(), State::Open);
    assert!(client.close_info().is_none(), "no close_info while connected");
    client.send("before").unwrap();
    assert_eq!(next_message(&rx), Message::Text("before".into()));

    client.disconnect().unwrap();
    // Returned after the end was delivered: no waiting needed.
    assert_eq!(rx.try_recv(), Ok(None), "disconnect() returned before the callback's None");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(client.state(), State::Closed);
    assert!(!client.is_open());

    let (_, code, reason) = wait_close(&seen);
    assert_eq!(code, Some(1001));
    assert_eq!(reason, "");

    let info = client.close_info().unwrap();
    assert_eq!(info.code, CloseCode::GOING_AWAY);
    assert_eq!(info.closed_by, ClosedBy::Local);
    assert!(info.clean, "{info:?}");
    assert_eq!(info.error, None);

    // Disconnecting again does nothing.
    client.disconnect().unwrap();
    drop(client);
    expect_no_more(&rx);
}
