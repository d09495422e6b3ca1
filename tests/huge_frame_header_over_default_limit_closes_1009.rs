//! With the default limits, a frame header announcing 2^40 bytes fails the connection with
//! Close 1009 at once: from the header alone, without waiting for (or making room for) the
//! payload.

mod support;

use support::hostile::frame_header;
use support::*;
use wsthread::{CloseCode, ClosedBy, Options, WebSocketClient};

#[test]
fn huge_frame_header_over_default_limit_closes_1009() {
    let mut bytes = frame_header(true, OP_BINARY, 1 << 40);
    bytes.extend_from_slice(&[0x5A; 4096]);
    // The server sends nothing more and keeps the connection open: only the header can
    // bring the Close about.
    let (server, seen) = violating_server(bytes);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    let (code, _reason) = seen.recv_timeout(WAIT).expect("the server never finished").unwrap();
    assert_eq!(code, Some(1009));
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert_eq!(info.code, CloseCode::MESSAGE_TOO_BIG, "{info:?}");
    assert_eq!(info.closed_by, ClosedBy::Local, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
