//! `danger_accept_invalid_certs(true)` connects to a server whose CA is unknown (and whose
//! certificate names another host), and the connection works.

#![cfg(feature = "tls")]

mod support;

use support::tls::{wss_echo_server, TestCa};
use support::*;
use wsthread::{Message, Options, WebSocketClient};

#[test]
fn wss_danger_accept_invalid_certs() {
    let unknown = TestCa::new("unknown test CA");
    let (server, seen) = wss_echo_server(unknown.issue(&["other.example"]));
    let options = Options::new(&server.wss_url("/")).unwrap().danger_accept_invalid_certs(true);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let handshake = client.connect(&[]).unwrap();
    assert!(handshake.tls.is_some());
    client.send("anyway").unwrap();
    assert_eq!(next_message(&rx), Message::Text("anyway".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(wait_close(&seen).1, Some(1001));
    drop(client);
    expect_no_more(&rx);
}
