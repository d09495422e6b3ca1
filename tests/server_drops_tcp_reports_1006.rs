//! A server that drops the TCP connection without a Close frame ends the connection
//! abnormally: one `None`, and `close_info` says 1006, not clean, closed by the remote side.

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy, Message, Options, WebSocketClient};

#[test]
fn server_drops_tcp_reports_1006() {
    let server = Server::threaded(|stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        c.write_frame(true, false, OP_TEXT, b"going").unwrap();
        // Returning ends the connection: FIN, no Close frame.
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    assert_eq!(next_message(&rx), Message::Text("going".into()));
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert_eq!(info.code, CloseCode::ABNORMAL);
    assert_eq!(info.closed_by, ClosedBy::Remote);
    assert!(!info.clean);
    assert!(info.error.is_some(), "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
