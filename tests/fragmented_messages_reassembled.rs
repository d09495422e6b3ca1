//! A message the server splits over several frames (with a ping between the fragments)
//! reaches the callback once, reassembled; the ping is answered in the middle, before the
//! message is complete (the server sends the rest only once it has the pong).

mod support;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

#[test]
fn fragmented_messages_reassembled() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let (pong_tx, pongs) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        // Text: "Hello, wörld" in four frames, "ö" split between two of them, a ping between.
        let text = "Hello, wörld".as_bytes();
        let split = text.iter().position(|&b| b == 0xC3).unwrap() + 1; // inside "ö"
        c.write_frame(false, false, OP_TEXT, &text[..3]).unwrap();
        c.write_frame(true, false, OP_PING, b"mid").unwrap();
        // The rest of the message only once the client has answered the ping.
        let pong = c.read_frame();
        let answered = pong.is_ok();
        pong_tx.send(pong.map_err(|e| e.to_string())).unwrap();
        if !answered {
            return;
        }
        c.write_frame(false, false, OP_CONT, &text[3..split]).unwrap();
        c.write_frame(false, false, OP_CONT, &text[split..split + 2]).unwrap();
        c.write_frame(true, false, OP_CONT, &text[split + 2..]).unwrap();
        // Binary in three frames, and an empty final fragment.
        c.write_frame(false, false, OP_BINARY, &[1, 2]).unwrap();
        c.write_frame(false, false, OP_CONT, &[3]).unwrap();
        c.write_frame(true, false, OP_CONT, &[]).unwrap();
        // Report every frame the client sent after the pong, until its Close.
        let (code, _, frames) = c.read_close().unwrap();
        tx.send((code, frames)).unwrap();
        c.write_close(code.unwrap_or(1000), "").unwrap();
    });

    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    let pong = pongs.recv_timeout(WAIT).expect("no answer to the ping while the message was unfinished").unwrap();
    assert_eq!((pong.opcode, pong.payload.as_slice()), (OP_PONG, &b"mid"[..]), "the first frame after the ping");
    assert!(pong.masked && pong.fin, "{pong:?}");
    assert_eq!(next_message(&rx), Message::Text("Hello, wörld".into()));
    assert_eq!(next_message(&rx), Message::Binary(vec![1, 2, 3]));

    client.disconnect().unwrap();
    expect_end(&rx);
    let (code, frames) = seen.recv_timeout(WAIT).unwrap();
    assert_eq!(code, Some(1001));
    assert!(frames.is_empty(), "one pong for the one ping, then nothing before the Close: {frames:?}");
    drop(client);
    expect_no_more(&rx);
}
