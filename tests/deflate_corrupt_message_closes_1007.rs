//! After permessage-deflate was agreed, a compressed (RSV1) message that does not inflate —
//! a reserved block type, or a stream cut by garbage — fails the connection with 1007, the
//! message undelivered; a text message that inflates to invalid UTF-8 too. Messages before it
//! are delivered.

#![cfg(feature = "deflate")]

mod support;

use support::*;
use wsthread::{DeflateOptions, Message};

const AGREED: &[&str] = &["Sec-WebSocket-Extensions: permessage-deflate"];

fn deflate_client(o: wsthread::Options) -> wsthread::Options {
    o.deflate(Some(DeflateOptions::default()))
}

#[test]
fn reserved_block_type_closes_1007() {
    // RFC 7692 §7.2.3.1's "Hello" first, then BTYPE 11 (reserved).
    let mut bytes = frame(true, true, OP_TEXT, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    bytes.extend(frame(true, true, OP_BINARY, &[0xff, 0xff, 0xff, 0xff]));
    Violation::new(bytes)
        .answering(AGREED)
        .options(deflate_client)
        .delivers_first([Message::Text("Hello".into())])
        .expect_close(1007, "compressed");
}

#[test]
fn garbage_after_a_valid_block_closes_1007() {
    let mut payload = vec![0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    payload.extend([0x07; 40]);
    Violation::new(frame(true, true, OP_BINARY, &payload)).answering(AGREED).options(deflate_client).expect_close(1007, "compressed");
}

#[test]
fn inflated_text_that_is_not_utf8_closes_1007() {
    // A stored block holding 0xff (RFC 1951 §3.2.4: LEN 1, NLEN !1).
    let payload = [0x00, 0x01, 0x00, 0xfe, 0xff, 0xff];
    Violation::new(frame(true, true, OP_TEXT, &payload)).answering(AGREED).options(deflate_client).expect_close(1007, "utf-8");
}
