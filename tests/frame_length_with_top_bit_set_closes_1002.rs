//! A frame header whose 64-bit length has its most significant bit set breaks RFC 6455
//! §5.2: even with both size limits off (`None`) the client fails the connection with Close
//! 1002 (protocol error) and reports it, instead of trying to make room for 2^63 bytes.

mod support;

use support::hostile::frame_header;
use support::*;
use wsthread::{CloseCode, ClosedBy, Options, WebSocketClient};

#[test]
fn frame_length_with_top_bit_set_closes_1002() {
    let mut bytes = frame_header(true, OP_BINARY, 1 << 63);
    bytes.extend_from_slice(&[0x5A; 4096]);
    let (server, seen) = violating_server(bytes);
    let options = Options::new(&server.ws_url("/")).unwrap().max_frame_size(None).max_message_size(None);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    expect_end(&rx);
    let info = client.close_info().unwrap();
    let close = seen.recv_timeout(WAIT).expect("the server never finished");
    let (code, _reason) = close.unwrap_or_else(|e| panic!("{e}; the client reported {info}"));
    assert_eq!(code, Some(1002), "{info:?}");
    assert_eq!(info.code, CloseCode::PROTOCOL_ERROR, "{info:?}");
    assert_eq!(info.closed_by, ClosedBy::Local, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
