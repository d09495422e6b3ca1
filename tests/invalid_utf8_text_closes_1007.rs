//! A text frame that is not valid UTF-8 fails the connection: the client sends Close 1007
//! with a reason naming UTF-8, and delivers nothing of the bad message.

mod support;

use support::*;
use wsthread::Message;

#[test]
fn invalid_utf8_text_closes_1007() {
    let mut bytes = frame(true, false, OP_TEXT, b"valid first");
    bytes.extend(frame(true, false, OP_TEXT, &[b'b', b'a', b'd', 0xFF, 0xFE]));
    Violation::new(bytes).delivers_first([Message::Text("valid first".into())]).expect_close(1007, "utf-8");
}

#[test]
fn invalid_utf8_in_a_fragmented_text_closes_1007() {
    let mut bytes = frame(false, false, OP_TEXT, b"ok so far ");
    bytes.extend(frame(true, false, OP_CONT, &[0xC3, 0x28])); // invalid 2-byte sequence
    Violation::new(bytes).expect_close(1007, "utf-8");
}
