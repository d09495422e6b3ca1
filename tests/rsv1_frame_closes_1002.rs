//! A frame with RSV1 set (no extension was negotiated) is a protocol error: the client sends
//! Close 1002 and the message is not delivered.

mod support;

use support::*;
use wsthread::{ClosedBy, Options, WebSocketClient};

#[test]
fn rsv1_frame_closes_1002() {
    let (server, seen) = violating_server(frame(true, true, OP_TEXT, b"compressed?"));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    expect_end(&rx);

    let (code, _reason) = seen.recv_timeout(WAIT).unwrap().unwrap();
    assert_eq!(code, Some(1002));
    let info = client.close_info().unwrap();
    assert_eq!(info.code.0, 1002);
    assert_eq!(info.closed_by, ClosedBy::Local);
    assert!(info.error.is_some(), "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
