//! Messages sent as fragments reach real servers (Python `websockets`, Node `ws`, `aiohttp`,
//! see tests/interop/mod.rs) as one message each, which they echo whole: `send_fragments`
//! with a text split inside three code points (2, 3 and 4 bytes long) and a binary with an
//! empty fragment; no fragments at all (an empty message); a `MessageWriter` streaming a text
//! in writes that cut code points, with flushes; a binary through `std::io::copy`; raw frames
//! with a ping between the fragments. The frame hook proves each really left in several
//! frames: the first text or binary without FIN, continuations, FIN on the last only.

#[allow(unused_macros)]
mod interop;
mod support;

use std::io::Write;

use interop::{assert_same, bytes_of_len, text_of_len, Peer, PeerServer, Scheme};
use support::*;
use wsthread::{CloseCode, ClosedBy, Direction, Message, MessageKind, OpCode, WebSocketClient};

/// An outgoing data frame the hook saw: opcode, FIN, payload length.
type Seen = (OpCode, bool, usize);

/// Takes the data frames the hook saw since the last call, and checks that they make one
/// message of `kind` in `frames` frames (at least, when `frames` is `None`, two).
fn expect_fragments(seen: &crossbeam_channel::Receiver<Seen>, kind: OpCode, frames: Option<usize>, what: &str) {
    let got: Vec<Seen> = seen.try_iter().collect();
    match frames {
        Some(n) => assert_eq!(got.len(), n, "{what}: frames {got:?}"),
        None => assert!(got.len() >= 2, "{what}: it left in one frame {got:?}"),
    }
    assert_eq!(got[0].0, kind, "{what}: the first frame {got:?}");
    for (i, (opcode, fin, _)) in got.iter().enumerate() {
        let last = i + 1 == got.len();
        assert_eq!(*fin, last, "{what}: FIN of frame {i} of {}", got.len());
        if i > 0 {
            assert_eq!(*opcode, OpCode::Continue, "{what}: frame {i}");
        }
    }
}

fn fragments_reach(peer: Peer) {
    let server = PeerServer::start(peer, Scheme::Ws);
    let (seen_tx, seen) = crossbeam_channel::unbounded();
    let options = server.options().frame_hook(move |f| {
        if f.direction == Direction::Outgoing && !f.opcode.is_control() {
            let _ = seen_tx.send((f.opcode, f.fin, f.payload.len()));
        }
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    server.check_handshake(&client.connect(&[]).unwrap());
    let ws = client.handle();

    // A text split inside "é" (2 bytes), "✓" (3) and "😀" (4): no fragment is UTF-8 alone.
    let text = "h\u{e9}llo \u{2713} \u{1F600}!";
    let bytes = text.as_bytes();
    let cuts = [2, 8, 12, bytes.len()];
    let mut pieces = Vec::new();
    let mut from = 0;
    for to in cuts {
        pieces.push(&bytes[from..to]);
        from = to;
    }
    for p in &pieces[..3] {
        assert!(std::str::from_utf8(p).is_err(), "{p:?} must end inside a code point");
    }
    ws.send_fragments(MessageKind::Text, pieces).unwrap();
    expect_fragments(&seen, OpCode::Text, Some(4), "send_fragments text");
    assert_same(&next_message(&rx), &Message::Text(text.into()), "send_fragments text");

    // A binary in five fragments, one of them empty, one of 100 KiB.
    let binary = bytes_of_len(100 << 10, 7);
    let chunks: Vec<&[u8]> = vec![&binary[..1], &binary[1..1000], &[], &binary[1000..90_000], &binary[90_000..]];
    client.send_fragments(MessageKind::Binary, chunks).unwrap();
    expect_fragments(&seen, OpCode::Binary, Some(5), "send_fragments binary");
    assert_same(&next_message(&rx), &Message::Binary(binary), "send_fragments binary");

    // No fragments at all: an empty message, one frame.
    ws.send_fragments(MessageKind::Text, std::iter::empty::<&[u8]>()).unwrap();
    expect_fragments(&seen, OpCode::Text, Some(1), "empty send_fragments");
    assert_same(&next_message(&rx), &Message::Text(String::new()), "empty send_fragments");

    // A writer: 300 KiB of text in writes of 1000 bytes, which cut code points, with a flush
    // every 37 writes (so fragments end inside code points too).
    let long = text_of_len(300 << 10);
    let mut writer = ws.writer(MessageKind::Text).unwrap();
    for (i, piece) in long.as_bytes().chunks(1000).enumerate() {
        writer.write_all(piece).unwrap();
        if i % 37 == 36 {
            writer.flush().unwrap();
        }
    }
    writer.finish().unwrap();
    expect_fragments(&seen, OpCode::Text, None, "text writer");
    assert_same(&next_message(&rx), &Message::Text(long), "text writer");

    // A binary of 1 MiB through std::io::copy, the writer dropped rather than finished.
    let big = bytes_of_len(1 << 20, 8);
    let mut writer = client.writer(MessageKind::Binary).unwrap();
    let copied = std::io::copy(&mut &big[..], &mut writer).unwrap();
    assert_eq!(copied, big.len() as u64);
    drop(writer);
    expect_fragments(&seen, OpCode::Binary, None, "binary writer");
    assert_same(&next_message(&rx), &Message::Binary(big), "binary writer");

    // Raw frames, a ping between them (the server's pong is consumed by the client).
    ws.send_frame(OpCode::Text, &"caf\u{e9}".as_bytes()[..4], false).unwrap();
    ws.send_frame(OpCode::Ping, b"between", true).unwrap();
    ws.send_frame(OpCode::Continue, &"caf\u{e9}".as_bytes()[4..], false).unwrap();
    ws.send_frame(OpCode::Continue, b" au lait", true).unwrap();
    expect_fragments(&seen, OpCode::Text, Some(3), "raw frames");
    assert_same(&next_message(&rx), &Message::Text("caf\u{e9} au lait".into()), "raw frames");

    // The connection is as good as ever: a plain message, then a clean close.
    client.send("after the fragments").unwrap();
    assert_same(&next_message(&rx), &Message::Text("after the fragments".into()), "plain message");
    client.disconnect().unwrap();
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert_eq!((info.code, info.closed_by, info.clean), (CloseCode::GOING_AWAY, ClosedBy::Local, true), "{info:?}");
    assert_eq!(info.error, None, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn fragments_reach_python_websockets() {
    fragments_reach(Peer::PythonWebsockets);
}

#[test]
fn fragments_reach_node_ws() {
    fragments_reach(Peer::NodeWs);
}

#[test]
fn fragments_reach_aiohttp() {
    fragments_reach(Peer::Aiohttp);
}
