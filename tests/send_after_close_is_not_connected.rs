//! Sending (or pinging) with no open connection fails with `Error::NotConnected`: before the
//! first connect, after a local disconnect, and after the server closed.

mod support;

use support::*;
use wsthread::{Error, Options, WebSocketClient};

fn assert_not_connected(client: &WebSocketClient, when: &str) {
    assert!(matches!(client.send("x"), Err(Error::NotConnected)), "send {when}");
    assert!(matches!(client.send(vec![1u8]), Err(Error::NotConnected)), "send binary {when}");
    assert!(matches!(client.ping(b"p".to_vec()), Err(Error::NotConnected)), "ping {when}");
    assert!(matches!(client.pong(b"p".to_vec()), Err(Error::NotConnected)), "pong {when}");
    assert!(matches!(client.handle().send("x"), Err(Error::NotConnected)), "handle send {when}");
}

#[test]
fn send_after_local_disconnect() {
    let (_server, _seen, client, rx) = echo_client();
    assert_not_connected(&client, "before connect");
    client.connect(&[]).unwrap();
    client.send("ok").unwrap();
    next_message(&rx);
    client.disconnect().unwrap();
    assert_not_connected(&client, "after disconnect");
    expect_end(&rx);
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn send_after_server_close() {
    let server = Server::threaded(|stream, _| {
        let mut ws = tungstenite::accept(stream).unwrap();
        let _ = ws.close(None);
        while ws.read().is_ok() {}
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    expect_end(&rx);
    assert_not_connected(&client, "after the server closed");
    drop(client);
    expect_no_more(&rx);
}
