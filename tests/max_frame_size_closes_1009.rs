//! A server frame longer than `max_frame_size` fails the connection with Close 1009; frames up
//! to the limit are delivered, also when together they make a message longer than the limit
//! (that is `max_message_size`'s business, not this option's).

mod support;

use support::*;
use wsthread::Message;

const LIMIT: usize = 1024;

#[test]
fn frame_over_max_frame_size_closes_1009() {
    let mut bytes = frame(true, false, OP_BINARY, &[7u8; LIMIT]); // exactly at the limit
    bytes.extend(frame(false, false, OP_TEXT, "a".repeat(LIMIT).as_bytes()));
    bytes.extend(frame(true, false, OP_CONT, "b".repeat(LIMIT).as_bytes())); // message of 2 × LIMIT
    bytes.extend(frame(true, false, OP_BINARY, &[9u8; LIMIT + 1])); // one byte over
    Violation::new(bytes)
        .options(|o| {
            assert!(o.max_message_size.is_some_and(|m| m >= 2 * LIMIT), "the message limit stays out of the way");
            o.max_frame_size(Some(LIMIT))
        })
        .delivers_first([Message::Binary(vec![7u8; LIMIT]), Message::Text("a".repeat(LIMIT) + &"b".repeat(LIMIT))])
        .expect_close(1009, "1024");
}
