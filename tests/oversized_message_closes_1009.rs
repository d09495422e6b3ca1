//! A message bigger than `max_message_size` fails the connection with Close 1009, whose reason
//! names the limit, whether the message comes in one frame or in fragments; messages within
//! the limit before it are delivered.

mod support;

use support::*;
use wsthread::Message;

const LIMIT: usize = 1024;

fn run(oversized: Vec<u8>) {
    let mut bytes = frame(true, false, OP_BINARY, &[7u8; LIMIT]); // exactly at the limit
    bytes.extend(oversized);
    Violation::new(bytes)
        .options(|o| o.max_message_size(Some(LIMIT)))
        .delivers_first([Message::Binary(vec![7u8; LIMIT])])
        .expect_close(1009, &LIMIT.to_string());
}

#[test]
fn one_oversized_frame_closes_1009() {
    run(frame(true, false, OP_TEXT, "x".repeat(2 * LIMIT).as_bytes()));
}

#[test]
fn oversized_fragmented_message_closes_1009() {
    let mut bytes = frame(false, false, OP_BINARY, &[1u8; 512]);
    for _ in 0..2 {
        bytes.extend(frame(false, false, OP_CONT, &[2u8; 512]));
    }
    bytes.extend(frame(true, false, OP_CONT, &[3u8; 512]));
    run(bytes);
}
