//! A message the server splits over several frames (with a ping between the fragments)
//! reaches the callback once, reassembled; the ping is answered in the middle.

mod support;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

#[test]
fn fragmented_messages_reassembled() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        // Text: "Hello, wörld" in four frames, "ö" split between two of them, a ping between.
        let text = "Hello, wörld".as_bytes();
        let split = text.iter().position(|&b| b == 0xC3).unwrap() + 1; // inside "ö"
        c.write_frame(false, false, OP_TEXT, &text[..3]).unwrap();
        c.write_frame(true, false, OP_PING, b"mid").unwrap();
        c.write_frame(false, false, OP_CONT, &text[3..split]).unwrap();
        c.write_frame(false, false, OP_CONT, &text[split..split + 2]).unwrap();
        c.write_frame(true, false, OP_CONT, &text[split + 2..]).unwrap();
        // Binary in three frames, and an empty final fragment.
        c.write_frame(false, false, OP_BINARY, &[1, 2]).unwrap();
        c.write_frame(false, false, OP_CONT, &[3]).unwrap();
        c.write_frame(true, false, OP_CONT, &[]).unwrap();
        // The pong must come back; report every frame the client sent until its Close.
        let (code, _, frames) = c.read_close().unwrap();
        tx.send((code, frames)).unwrap();
        c.write_close(code.unwrap_or(1000), "").unwrap();
    });

    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    assert_eq!(next_message(&rx), Message::Text("Hello, wörld".into()));
    assert_eq!(next_message(&rx), Message::Binary(vec![1, 2, 3]));

    client.disconnect().unwrap();
    expect_end(&rx);
    let (code, frames) = seen.recv_timeout(WAIT).unwrap();
    assert_eq!(code, Some(1001));
    let pongs: Vec<_> = frames.iter().filter(|f| f.opcode == OP_PONG).collect();
    assert_eq!(pongs.len(), 1, "one pong for the one ping: {frames:?}");
    assert_eq!(pongs[0].payload, b"mid");
    assert!(pongs[0].masked && pongs[0].fin);
    drop(client);
    expect_no_more(&rx);
}
