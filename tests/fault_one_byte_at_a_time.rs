//! A server whose bytes reach the client one byte per TCP write (the fault proxy trickles
//! them, TCP_NODELAY on), from the 101 answer on: text and binary messages, a fragmented
//! message with a ping between its fragments, and a text whose multi-byte characters are
//! split across writes all arrive intact and in order, the ping is answered, and the close
//! handshake that follows, through the same trickle, is clean.

mod support;

use std::time::Duration;

use support::*;
use wsthread::{ClosedBy, Options, WebSocketClient};

/// What the server sends after the upgrade, frame by frame.
fn script() -> Vec<u8> {
    let binary: Vec<u8> = (0..300).map(|i| (i % 256) as u8).collect();
    [
        frame(true, false, OP_TEXT, b"hello"),
        frame(true, false, OP_BINARY, &binary),
        frame(false, false, OP_TEXT, b"frag"),
        frame(true, false, OP_PING, b"p"),
        frame(false, false, OP_CONT, b"men"),
        frame(true, false, OP_CONT, b"ted"),
        frame(true, false, OP_TEXT, "après l'été, 東京 🚀".as_bytes()),
    ]
    .concat()
}

#[test]
fn one_byte_at_a_time_arrives_intact_and_in_order() {
    let (tx, server_saw) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        c.write_all(&script()).unwrap();
        let (code, _, before) = c.read_close().unwrap();
        c.write_close(code.unwrap_or(1000), "bye").unwrap();
        let _ = tx.send((code, before));
    });
    let proxy = FaultProxy::new(server.addr());
    proxy.set(Fault::OneByteAtATime(Duration::from_micros(100)));

    let (callback, events) = event_collector();
    let options = Options::new(&proxy.ws_url("/")).unwrap().close_timeout(secs(5)).connect_timeout(secs(5));
    let client = WebSocketClient::with_events(callback, options).unwrap();
    client.connect(&[]).unwrap();
    let expected =
        ["opened:101", "text:hello", "binary:300", "ping:p", "text:fragmented", "text:après l'été, 東京 🚀"];
    let mut got = Vec::new();
    for _ in expected {
        got.push(name(&next_event(&events)));
    }
    assert_eq!(got, expected);
    let all = proxy.forwarded_to_client();
    // The last write may still be returning after the client read its byte.
    assert!(proxy.wait_forwarded_to_client(all, WAIT));
    assert_eq!(proxy.writes_to_client(), all, "one byte per write, the 101 answer included");

    client.disconnect().unwrap();
    let (rest, info) = events_until_closed(&events);
    assert_eq!(rest, ["closed:1001"]);
    assert_eq!(info.closed_by, ClosedBy::Local, "{info}");
    assert!(info.clean, "{info}");
    assert_eq!(info.error, None, "{info}");
    assert_eq!(info.reason, "", "our own Close is reported, not the reply's reason");

    let (code, before) = server_saw.recv_timeout(WAIT).unwrap();
    assert_eq!(code, Some(1001));
    let pongs: Vec<_> = before.iter().filter(|f| f.opcode == OP_PONG).map(|f| f.payload.clone()).collect();
    assert_eq!(pongs, [b"p".to_vec()], "the ping was answered once");
    assert!(all > script().len() as u64, "the 101 answer and the script went through the proxy");
    eprintln!("{all} bytes reached the client one write each before the close");
    drop(client);
    expect_no_more_events(&events);
}
