//! When the server never answers the client's Close, `disconnect()` gives up after
//! `close_timeout`, delivers `None`, and `close_info` says the close was not clean.

mod support;

use std::time::Instant;

use support::*;
use wsthread::{ClosedBy, Options, WebSocketClient};

#[test]
fn disconnect_without_server_reply_times_out() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let (code, _, _) = c.read_close().unwrap();
        tx.send(code).unwrap();
        c.drain_until_eof(); // never replies; waits for the client to give up
    });
    let close_timeout = ms(300);
    let options = Options::new(&server.ws_url("/")).unwrap().close_timeout(close_timeout);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    let start = Instant::now();
    client.disconnect().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(rx.try_recv(), Ok(None), "None delivered when disconnect returns");
    assert!(elapsed >= close_timeout, "gave up before close_timeout: {elapsed:?}");
    assert!(elapsed < secs(5), "hang guard: {elapsed:?}");
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), Some(1001));
    let info = client.close_info().unwrap();
    assert_eq!(info.code.0, 1001);
    assert_eq!(info.closed_by, ClosedBy::Local);
    assert!(!info.clean, "{info:?}");
    assert!(info.error.is_some(), "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
