//! A Close frame from the server with no payload is reported as 1005 (no status), closed by
//! the remote side, clean.

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy, Options, WebSocketClient};

#[test]
fn server_close_without_code_reports_1005() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        c.write_frame(true, false, OP_CLOSE, &[]).unwrap();
        let (code, _, _) = c.read_close().unwrap();
        tx.send(code).unwrap();
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    expect_end(&rx);
    // RFC 6455 §5.5.1: the reply echoes the status; with none received, an empty Close (or
    // one without a code) is the echo.
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), None, "the client's reply carries no code");
    let info = client.close_info().unwrap();
    assert_eq!(info.code, CloseCode::NO_STATUS);
    assert_eq!(info.closed_by, ClosedBy::Remote);
    assert!(info.clean, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
