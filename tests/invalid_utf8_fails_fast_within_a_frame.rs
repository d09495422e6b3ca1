//! Invalid UTF-8 in a text frame fails the connection as soon as the bad bytes arrive, not
//! when the frame is complete (RFC 6455 §8.1; Autobahn 6.4.3 and 6.4.4).

mod support;

use support::*;
use wsthread::{ClosedBy, Options, WebSocketClient};

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    // The header promises 1,000 bytes; the server sends a valid start, then an invalid
    // sequence (U+110000 is beyond Unicode), and then waits for the client's Close.
    let mut bytes = frame(true, false, OP_TEXT, &[b'a'; 1000]);
    bytes.truncate(4 + 5);
    bytes.extend([0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xF4, 0x90, 0x80, 0x80]);
    let (server, seen) = violating_server(bytes);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();

    let (code, _reason) = seen.recv_timeout(WAIT).expect("no Close while the frame is incomplete").unwrap();
    assert_eq!(code, Some(1007));
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert_eq!((info.code.0, info.closed_by), (1007, ClosedBy::Local));
}

#[test]
fn valid_text_arriving_slowly_is_delivered_whole() {
    // The same frame, valid and split across two writes, is one message.
    let text = "κόσμε ".repeat(100);
    let whole = frame(true, false, OP_TEXT, text.as_bytes());
    let (first, second) = whole.split_at(whole.len() / 2 + 1); // cuts a code point in two
    let (first, second) = (first.to_vec(), second.to_vec());
    let (tx, rx_go) = crossbeam_channel::bounded::<()>(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_err() {
            return;
        }
        let _ = c.write_all(&first);
        let _ = rx_go.recv_timeout(WAIT);
        let _ = c.write_all(&second);
        let _ = c.read_close();
        let _ = c.write_close(1000, "");
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    tx.send(()).unwrap();
    assert_eq!(next_message(&rx).as_text(), Some(text.as_str()));
    assert!(client.is_open());
    client.disconnect().unwrap();
    expect_end(&rx);
}
