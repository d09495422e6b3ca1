//! `connect()` from inside the callback (through its `Handle`) fails with
//! `Error::InCallback` instead of waiting for itself, and the connection goes on.

mod support;

use support::*;
use wsthread::{Error, Message, Options, WebSocketClient};

#[test]
fn connect_from_callback_is_in_callback_error() {
    let (server, seen) = echo_server();
    let (tx, results) = crossbeam_channel::unbounded();
    let (callback_events, rx) = crossbeam_channel::unbounded();
    let client = WebSocketClient::with_handle(
        move |ws, msg: Option<Message>| {
            if let Some(Message::Text(t)) = &msg {
                if t == "reconnect please" {
                    tx.send(ws.connect(&[])).unwrap();
                }
            }
            callback_events.send(msg).unwrap();
        },
        Options::new(&server.ws_url("/")).unwrap(),
    )
    .unwrap();
    client.connect(&[]).unwrap();
    client.send("reconnect please").unwrap();
    match results.recv_timeout(WAIT).expect("connect() from the callback did not return") {
        Err(Error::InCallback) => {}
        other => panic!("expected Error::InCallback, got {other:?}"),
    }
    assert_eq!(next_message(&rx), Message::Text("reconnect please".into()));
    assert!(client.is_open());
    client.send("still open").unwrap();
    assert_eq!(next_message(&rx), Message::Text("still open".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(wait_close(&seen).1, Some(1001));
    drop(client);
    expect_no_more(&rx);
}
