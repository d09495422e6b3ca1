//! A server frame longer than `max_frame_size` fails the connection with Close 1009; frames up
//! to the limit are delivered, also when together they make a message longer than the limit
//! (that is `max_message_size`'s business, not this option's).

mod support;

use support::*;
use wsthread::{ClosedBy, Message, Options, WebSocketClient};

const LIMIT: usize = 1024;

#[test]
fn frame_over_max_frame_size_closes_1009() {
    let mut bytes = frame(true, false, OP_BINARY, &[7u8; LIMIT]); // exactly at the limit
    bytes.extend(frame(false, false, OP_TEXT, "a".repeat(LIMIT).as_bytes()));
    bytes.extend(frame(true, false, OP_CONT, "b".repeat(LIMIT).as_bytes())); // message of 2 × LIMIT
    bytes.extend(frame(true, false, OP_BINARY, &[9u8; LIMIT + 1])); // one byte over
    let (server, seen) = violating_server(bytes);
    let options = Options::new(&server.ws_url("/")).unwrap().max_frame_size(Some(LIMIT));
    assert!(options.max_message_size.is_some_and(|m| m >= 2 * LIMIT), "the message limit stays out of the way");
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    assert_eq!(next_message(&rx), Message::Binary(vec![7u8; LIMIT]));
    assert_eq!(next_message(&rx), Message::Text("a".repeat(LIMIT) + &"b".repeat(LIMIT)));
    expect_end(&rx); // the frame over the limit is not delivered

    let (code, _reason) = seen.recv_timeout(WAIT).unwrap().unwrap();
    assert_eq!(code, Some(1009));
    let info = client.close_info().unwrap();
    assert_eq!(info.code.0, 1009);
    assert_eq!(info.closed_by, ClosedBy::Local);
    drop(client);
    expect_no_more(&rx);
}
