//! Control frames carry at most 125 bytes of payload (RFC 6455 §5.5). The client's pings and
//! pongs: more is `Error::PayloadTooLong` and sends nothing, 125 bytes is fine, and unsolicited
//! pongs reach the server with their payload. The server's: a ping over 125 bytes is a
//! protocol error, closed with 1002.

mod support;

use support::*;
use wsthread::{Error, Message};

#[test]
fn client_control_frames_at_most_125_bytes() {
    let (_server, pongs_sent, client, rx) = connected_echo();

    assert!(matches!(client.ping(vec![0u8; 126]), Err(Error::PayloadTooLong(126))));
    assert!(matches!(client.pong(vec![0u8; 200]), Err(Error::PayloadTooLong(200))));
    client.ping(vec![1u8; 125]).unwrap();
    client.pong(vec![2u8; 125]).unwrap();
    client.pong(Vec::new()).unwrap();
    match pongs_sent.recv_timeout(WAIT).unwrap() {
        Seen::Pong { payload, .. } => assert_eq!(payload, vec![2u8; 125]),
        other => panic!("{other:?}"),
    }
    match pongs_sent.recv_timeout(WAIT).unwrap() {
        Seen::Pong { payload, .. } => assert!(payload.is_empty()),
        other => panic!("{other:?}"),
    }
    // The connection is still fine.
    client.send("after").unwrap();
    assert_eq!(next_message(&rx), Message::Text("after".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn server_ping_over_125_bytes_closes_1002() {
    Violation::new(frame(true, false, OP_PING, &[0x55; 126])).expect_close(1002, "125");
}
