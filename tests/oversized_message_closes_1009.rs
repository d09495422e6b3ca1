//! A message bigger than `max_message_size` fails the connection with Close 1009, whether it
//! comes in one frame or in fragments; messages within the limit before it are delivered.

mod support;

use support::*;
use wsthread::{ClosedBy, Message, Options, WebSocketClient};

const LIMIT: usize = 1024;

fn run(oversized: Vec<u8>) {
    let mut bytes = frame(true, false, OP_BINARY, &[7u8; LIMIT]); // exactly at the limit
    bytes.extend(oversized);
    let (server, seen) = violating_server(bytes);
    let options = Options::new(&server.ws_url("/")).unwrap().max_message_size(Some(LIMIT));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    assert_eq!(next_message(&rx), Message::Binary(vec![7u8; LIMIT]));
    expect_end(&rx);

    let (code, _reason) = seen.recv_timeout(WAIT).unwrap().unwrap();
    assert_eq!(code, Some(1009));
    let info = client.close_info().unwrap();
    assert_eq!(info.code.0, 1009);
    assert_eq!(info.closed_by, ClosedBy::Local);
    drop(client);
    expect_no_more(&rx);
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
