//! A server that reads nothing and sends its Close while the client has much queued never
//! gets the client's Close reply: it sits behind the queue until the client gives up after
//! `close_timeout`. `close_info` must not call that end clean (both Close frames exchanged)
//! nor error-free, and counts the messages that never left.

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy, Options, WebSocketClient};

const MESSAGES: usize = 32;
const SIZE: usize = 2 << 20; // 64 MiB in all, far more than loopback socket buffers hold

#[test]
fn server_close_under_full_queue_is_not_clean() {
    let (go_tx, go) = crossbeam_channel::bounded::<()>(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let _ = go.recv_timeout(WAIT);
        c.write_close(1000, "bye").unwrap();
        // Keeps the connection open, still reading nothing, until the test drops `go_tx`.
        // (Closing TCP at once would race the client's next write: a reset may end the
        // connection before the Close is read.)
        let _ = go.recv_timeout(WAIT);
    });
    // Everything queued at once: no waiting for room, no write deadline.
    let options = Options::new(&server.ws_url("/"))
        .unwrap()
        .close_timeout(secs(1))
        .send_queue_limit(2 * MESSAGES * SIZE).send_high_water(2 * MESSAGES * SIZE)
        .write_timeout(None);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    for i in 0..MESSAGES {
        client.send(vec![i as u8; SIZE]).unwrap();
    }
    go_tx.send(()).unwrap();
    expect_end(&rx);
    drop(go_tx);
    let info = client.close_info().unwrap();
    eprintln!("close_info: {info:?}");
    assert_eq!(info.code, CloseCode::NORMAL, "{info:?}");
    assert_eq!(info.closed_by, ClosedBy::Remote, "{info:?}");
    assert!(info.unsent_messages > 0 && info.unsent_bytes > 0, "{info:?}");
    assert!(!info.clean, "our Close reply never left, yet the close is called clean: {info:?}");
    assert!(info.error.is_some(), "our Close reply never left, yet no error: {info:?}");
    drop(client);
    expect_no_more(&rx);
}
