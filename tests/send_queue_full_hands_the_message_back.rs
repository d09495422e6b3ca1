//! The outgoing queue is bounded in bytes and never closes the connection for being full:
//! `try_send` and `send_timeout` hand the message back in `TrySendError::Full`,
//! `buffered_amount` stays within the limit (plus one message), and the connection stays
//! open; once the server reads, everything queued arrives, in order.

mod support;

use std::time::Instant;

use support::*;
use wsthread::{Message, Options, TrySendError, WebSocketClient};

const SIZE: usize = 64 << 10;
const LIMIT: usize = 1 << 20;

#[test]
fn send_queue_full_hands_the_message_back() {
    let (read_tx, read) = crossbeam_channel::bounded::<()>(1);
    let (got_tx, got) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let _ = read.recv_timeout(secs(60)); // reads nothing until told
        c.stream.set_read_timeout(Some(secs(10))).unwrap();
        while let Ok(f) = c.read_frame() {
            if f.opcode == OP_CLOSE || got_tx.send(f.payload).is_err() {
                break;
            }
        }
    });
    let options = Options::new(&server.ws_url("/")).unwrap().send_queue_limit(LIMIT).write_timeout(None);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();

    // Filled until no room comes for 200 ms: the socket's buffers are full too.
    let mut accepted = 0u32;
    let refused = loop {
        let mut message = vec![0u8; SIZE];
        message[..4].copy_from_slice(&accepted.to_be_bytes());
        let start = Instant::now();
        match client.send_timeout(message, ms(200)) {
            Ok(()) => accepted += 1,
            Err(e) => {
                assert!(start.elapsed() >= ms(200), "refused before the timeout");
                break e;
            }
        }
        assert!(accepted < 100_000, "6 GB accepted by a server that reads nothing");
    };
    let TrySendError::Full(back) = refused else { panic!("expected Full, got {refused:?}") };
    assert_eq!(back.len(), SIZE, "the message comes back whole");
    assert_eq!(&back.as_bytes()[..4], &accepted.to_be_bytes());
    let buffered = client.buffered_amount();
    eprintln!("{accepted} messages accepted; {buffered} bytes buffered");
    assert!(buffered > 0 && buffered <= LIMIT + SIZE + 14, "{buffered}");
    match client.try_send(back) {
        Err(TrySendError::Full(m)) => assert_eq!(&m.as_bytes()[..4], &accepted.to_be_bytes()),
        other => panic!("expected Full at once: {other:?}"),
    }
    assert!(client.is_open(), "a full queue must not close the connection");

    // The server reads: all that was accepted arrives, in order, and there is room again.
    read_tx.send(()).unwrap();
    for i in 0..accepted {
        let payload = got.recv_timeout(WAIT).expect("a queued message never arrived");
        assert_eq!(&payload[..4], &i.to_be_bytes());
    }
    client.send_timeout(Message::Text("after".into()), WAIT).unwrap();
    assert_eq!(got.recv_timeout(WAIT).unwrap(), b"after");
    client.disconnect().unwrap();
    expect_end(&rx);
}
