//! Frames that arrive in the same packet as the 101 answer are not lost: the first message
//! is delivered.

mod support;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

#[test]
fn message_right_after_upgrade() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        let mut frames = frame(true, false, OP_TEXT, b"welcome");
        frames.extend(frame(true, false, OP_BINARY, &[9, 9]));
        c.accept_then(&[], &frames).unwrap(); // one write: head and frames together
        let (code, _, _) = c.read_close().unwrap();
        tx.send(code).unwrap();
        c.write_close(1000, "").unwrap();
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    assert_eq!(next_message(&rx), Message::Text("welcome".into()));
    assert_eq!(next_message(&rx), Message::Binary(vec![9, 9]));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), Some(1001));
    drop(client);
    expect_no_more(&rx);
}
