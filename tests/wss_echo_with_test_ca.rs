//! wss:// to a server whose certificate comes from a CA made for the test, trusted through
//! `add_root_certificate_pem` alone: echo works and the handshake reports TLS.

#![cfg(feature = "tls")]

mod support;

use support::tls::{wss_echo_server, TestCa};
use support::*;
use wsthread::{Message, Options, RootCerts, WebSocketClient};

#[test]
fn wss_echo_with_test_ca() {
    let ca = TestCa::new("wsthread test CA");
    let (server, seen) = wss_echo_server(ca.issue(&["localhost", "127.0.0.1"]));
    let options = Options::new(&server.wss_url("/secure"))
        .unwrap()
        .root_certs(RootCerts::None)
        .add_root_certificate_pem(ca.pem());
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let handshake = client.connect(&[]).unwrap();
    let tls = handshake.tls.as_ref().expect("handshake.tls for wss");
    assert!(!tls.protocol_version.is_empty() && !tls.cipher_suite.is_empty(), "{tls:?}");
    assert!(handshake.timings.tls.is_some());

    let big: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
    client.send("secure hello").unwrap();
    client.send(big.clone()).unwrap();
    client.send(Vec::<u8>::new()).unwrap();
    assert_eq!(next_message(&rx), Message::Text("secure hello".into()));
    assert_eq!(next_message(&rx), Message::Binary(big));
    assert_eq!(next_message(&rx), Message::Binary(Vec::new()));

    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(wait_close(&seen).1, Some(1001));
    let info = client.close_info().unwrap();
    assert!(info.clean, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
