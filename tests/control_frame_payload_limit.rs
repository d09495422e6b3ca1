//! Client pings and pongs carry at most 125 bytes: more is `Error::PayloadTooLong` and sends
//! nothing, 125 bytes is fine, and unsolicited pongs reach the server with their payload.

mod support;

use support::*;
use wsthread::{Error, Message, Options, WebSocketClient};

#[test]
fn control_frame_payload_limit() {
    let (tx, pongs_sent) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, conn| {
        let mut ws = tungstenite::accept(stream).unwrap();
        // Echo, and report the unsolicited pongs the client sends.
        loop {
            match ws.read() {
                Ok(m @ WsMessage::Text(_)) => {
                    if ws.send(m).is_err() {
                        break;
                    }
                }
                Ok(WsMessage::Pong(p)) => tx.send(Seen::Pong { conn, payload: p.to_vec() }).unwrap(),
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();

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
