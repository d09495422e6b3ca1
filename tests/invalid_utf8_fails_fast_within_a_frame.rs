//! Invalid UTF-8 in a text message fails the connection with 1007 as soon as the bad bytes
//! arrive, not when the frame is complete (RFC 6455 §8.1; Autobahn 6.4.3 and 6.4.4): in a frame
//! read on the connection thread, in bytes that came in the same packet as the 101 answer, and
//! in a continuation frame. In each case the server sends the start of a long frame, then
//! nothing more, and waits for the client's Close; valid text arriving slowly is not failed.

mod support;

use support::*;
use wsthread::{Options, WebSocketClient};

/// A valid start, then a sequence that can begin no valid UTF-8 (U+110000 is beyond Unicode).
const BAD: [u8; 9] = [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xF4, 0x90, 0x80, 0x80];

/// The start of a text frame announcing 1,000 bytes: five valid ones, then [`BAD`].
fn long_frame_going_bad(opcode: u8) -> Vec<u8> {
    let mut bytes = frame_head(true, false, opcode, 1000);
    bytes.extend(b"hello");
    bytes.extend(BAD);
    bytes
}

#[test]
fn invalid_utf8_fails_before_the_frame_is_complete() {
    // Sent once the client has spoken: the connection thread reads them, not the handshake.
    Violation::new(long_frame_going_bad(OP_TEXT)).sent(When::AfterAClientMessage).expect_close(1007, "utf-8");
}

#[test]
fn invalid_utf8_in_the_packet_of_the_101_fails_at_once() {
    // What the handshake read past the 101 answer must be checked as well.
    Violation::new(long_frame_going_bad(OP_TEXT)).sent(When::WithThe101).expect_close(1007, "utf-8");
}

#[test]
fn invalid_utf8_in_a_continuation_frame_fails_before_it_is_complete() {
    // A valid first fragment, then a continuation frame going bad before its end.
    let mut bytes = frame(false, false, OP_TEXT, "κόσμε ".as_bytes());
    bytes.extend(long_frame_going_bad(OP_CONT));
    Violation::new(bytes).sent(When::AfterAClientMessage).expect_close(1007, "utf-8");
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
