//! A text frame that is not valid UTF-8 fails the connection: the client sends Close 1007
//! and delivers nothing of the bad message.

mod support;

use support::*;
use wsthread::{ClosedBy, Message, Options, WebSocketClient};

#[test]
fn invalid_utf8_text_closes_1007() {
    let mut bytes = frame(true, false, OP_TEXT, b"valid first");
    bytes.extend(frame(true, false, OP_TEXT, &[b'b', b'a', b'd', 0xFF, 0xFE]));
    let (server, seen) = violating_server(bytes);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    assert_eq!(next_message(&rx), Message::Text("valid first".into()));
    expect_end(&rx);

    let (code, _reason) = seen.recv_timeout(WAIT).unwrap().unwrap();
    assert_eq!(code, Some(1007));
    let info = client.close_info().unwrap();
    assert_eq!(info.code.0, 1007);
    assert_eq!(info.closed_by, ClosedBy::Local);
    assert!(info.error.is_some(), "{info:?}");
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn invalid_utf8_in_a_fragmented_text_closes_1007() {
    let mut bytes = frame(false, false, OP_TEXT, b"ok so far ");
    bytes.extend(frame(true, false, OP_CONT, &[0xC3, 0x28])); // invalid 2-byte sequence
    let (server, seen) = violating_server(bytes);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    expect_end(&rx);
    assert_eq!(seen.recv_timeout(WAIT).unwrap().unwrap().0, Some(1007));
    assert_eq!(client.close_info().unwrap().code.0, 1007);
}
