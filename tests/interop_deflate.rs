//! permessage-deflate against real servers, compressed both ways: Python `websockets` and
//! Node `ws` (the versions pinned in .ci/peers), each with its library's default deflate
//! settings and with no context takeover either way, and `aiohttp` with its defaults and
//! with our offer asking for no context takeover either way; and the peers declining it.
//!
//! That the server compressed what it sent is proven by a frame limit far below the echoed
//! message: 1 MiB of repetitive text only fits in a 64 KiB frame compressed. That we
//! compressed is proven by the peer inflating our RSV1 messages into the right echo. And
//! senders on several threads share one compression context without mixing their frames.

// The peers' harness; its `interop_tests!` is for the per-peer files.
#[allow(unused_macros)]
mod interop;
mod support;

use interop::{assert_same, bytes_of_len, text_of_len, Peer, PeerServer, Scheme};
use support::*;
use std::io::Write;

use wsthread::{DeflateOptions, DeflateParams, Direction, Frame, Message, MessageKind, OpCode, WebSocketClient};

/// A market-data-like JSON feed: messages alike, the case context takeover is for.
fn feed(n: usize) -> Vec<Message> {
    (0..n)
        .map(|k| {
            Message::Text(format!(
                r#"{{"type":"tick","symbol":"SYM{}","bid":{}.{:02},"ask":{}.{:02},"seq":{k},"book":[{}]}}"#,
                k % 7,
                100 + k % 13,
                k % 100,
                101 + k % 11,
                (k * 7) % 100,
                (0..60).map(|i| format!("[{},{}]", 100 + (i + k) % 9, (i * k) % 1000)).collect::<Vec<_>>().join(",")
            ))
        })
        .collect()
}

/// Connects with deflate offered to `peer` serving with `mode` (`PEER_DEFLATE`), checks the
/// agreed parameters, then echoes a feed, large and empty messages, and noise.
fn compressed_echo(peer: Peer, mode: &str, check: impl Fn(&DeflateParams)) {
    compressed_echo_offering(peer, mode, DeflateOptions::default(), check);
}

/// [`compressed_echo`] with our own `offer`.
fn compressed_echo_offering(peer: Peer, mode: &str, offer: DeflateOptions, check: impl Fn(&DeflateParams)) {
    let server = PeerServer::start_with_env(peer, Scheme::Ws, &[("PEER_DEFLATE", mode)]);
    // The hook records our outgoing data frames: (first frame of a message, fin, rsv1).
    let (frames, sent_frames) = crossbeam_channel::unbounded();
    let options = server.options().deflate(Some(offer)).max_frame_size(Some(64 << 10)).frame_hook(move |f: &Frame| {
        if f.direction == Direction::Outgoing && !f.opcode.is_control() {
            let _ = frames.send((f.opcode != OpCode::Continue, f.fin, f.rsv1));
        }
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let hs = client.connect(&[]).unwrap_or_else(|e| panic!("connect to {}: {e}", server.url()));
    let params = hs.deflate.unwrap_or_else(|| panic!("deflate not agreed: {hs:?}"));
    assert_eq!(hs.extensions.len(), 1, "{hs:?}");
    assert!(hs.extensions[0].starts_with("permessage-deflate"), "{hs:?}");
    check(&params);

    let mut sent = feed(300);
    sent.push(Message::Text(text_of_len(1 << 20)));
    sent.push(Message::Text(String::new()));
    sent.push(Message::Binary(Vec::new()));
    sent.push(Message::Binary(bytes_of_len(30_000, 3)));
    sent.push(Message::Text("tiny".into()));
    sent.extend(feed(50));
    for m in &sent {
        client.send(m.clone()).unwrap();
    }
    // Messages sent as fragments are compressed as one stream each, too: "é" split between
    // the first two fragments, and 1 MiB of text streamed through a writer.
    let fragments: [&[u8]; 3] = [b"compressed h\xc3", b"\xa9llo, ", b"in three frames"];
    client.send_fragments(MessageKind::Text, fragments).unwrap();
    sent.push(Message::Text("compressed héllo, in three frames".into()));
    let big = text_of_len(1 << 20);
    let mut writer = client.writer(MessageKind::Text).unwrap();
    writer.write_all(big.as_bytes()).unwrap();
    writer.finish().unwrap();
    sent.push(Message::Text(big));
    for (i, want) in sent.iter().enumerate() {
        assert_same(&next_message(&rx), want, &format!("message {i} from {peer:?} ({mode})"));
    }
    client.disconnect().unwrap();
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert!(info.clean && info.error.is_none(), "{info:?}");
    // The fragmented messages left as several frames, RSV1 on each first frame only.
    let frames: Vec<(bool, bool, bool)> = sent_frames.try_iter().collect();
    let fragmented = frames.windows(2).filter(|w| w[0].0 && !w[0].1).count();
    assert!(fragmented >= 2, "both fragmented messages left in several frames");
    assert!(frames.iter().all(|&(first, _, rsv1)| first || !rsv1), "RSV1 only on first frames");
    assert!(frames.iter().filter(|f| f.0 && !f.1).all(|f| f.2), "the fragmented messages were compressed");
}

#[test]
fn python_websockets_default_deflate() {
    // websockets asks for 12-bit windows both ways by default.
    compressed_echo(Peer::PythonWebsockets, "default", |p| {
        assert_eq!((p.client_max_window_bits, p.server_max_window_bits), (12, 12), "{p:?}");
        assert!(!p.client_no_context_takeover && !p.server_no_context_takeover, "{p:?}");
    });
}

#[test]
fn python_websockets_no_context_takeover() {
    compressed_echo(Peer::PythonWebsockets, "no-context", |p| {
        assert!(p.client_no_context_takeover && p.server_no_context_takeover, "{p:?}");
    });
}

#[test]
fn node_ws_default_deflate() {
    compressed_echo(Peer::NodeWs, "default", |p| {
        assert!(!p.client_no_context_takeover && !p.server_no_context_takeover, "{p:?}");
    });
}

#[test]
fn node_ws_no_context_takeover() {
    compressed_echo(Peer::NodeWs, "no-context", |p| {
        assert!(p.client_no_context_takeover && p.server_no_context_takeover, "{p:?}");
    });
}

#[test]
fn aiohttp_default_deflate() {
    compressed_echo(Peer::Aiohttp, "default", |p| {
        assert!(!p.client_no_context_takeover && !p.server_no_context_takeover, "{p:?}");
    });
}

#[test]
fn aiohttp_asked_for_no_context_takeover() {
    let offer = DeflateOptions::default().client_no_context_takeover(true).server_no_context_takeover(true);
    compressed_echo_offering(Peer::Aiohttp, "default", offer, |p| {
        assert!(p.client_no_context_takeover && p.server_no_context_takeover, "{p:?}");
    });
}

/// A server that declines the offer: no extension, plain messages both ways.
fn declined(peer: Peer) {
    let server = PeerServer::start(peer, Scheme::Ws);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, server.options().deflate(Some(DeflateOptions::default()))).unwrap();
    let hs = client.connect(&[]).unwrap();
    assert!(hs.deflate.is_none() && hs.extensions.is_empty(), "{hs:?}");
    for m in feed(20) {
        client.send(m.clone()).unwrap();
        assert_same(&next_message(&rx), &m, "declined");
    }
    client.disconnect().unwrap();
    expect_end(&rx);
}

#[test]
fn python_websockets_declining() {
    declined(Peer::PythonWebsockets);
}

#[test]
fn node_ws_declining() {
    declined(Peer::NodeWs);
}

#[test]
fn aiohttp_declining() {
    declined(Peer::Aiohttp);
}

/// Senders on several threads at once, compressing with context takeover: each message must
/// reach the server whole and inflatable (one compression context, used in queue order), and
/// each thread's messages come back in the order it sent them.
#[test]
fn concurrent_compressed_senders_keep_order() {
    const THREADS: usize = 4;
    const EACH: usize = 300;
    let server = PeerServer::start_with_env(Peer::NodeWs, Scheme::Ws, &[("PEER_DEFLATE", "default")]);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, server.options().deflate(Some(DeflateOptions::default()))).unwrap();
    assert!(client.connect(&[]).unwrap().deflate.is_some());
    let messages: Vec<Message> = feed(EACH);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (client, messages) = (&client, &messages);
            s.spawn(move || {
                for (i, m) in messages.iter().enumerate() {
                    let tagged = format!("{t}:{i}:{}", m.as_text().unwrap());
                    client.send(Message::Text(tagged)).unwrap();
                }
            });
        }
    });
    let mut next = [0usize; THREADS];
    for _ in 0..THREADS * EACH {
        let got = next_message(&rx);
        let text = got.as_text().expect("text");
        let mut parts = text.splitn(3, ':');
        let t: usize = parts.next().unwrap().parse().unwrap();
        let i: usize = parts.next().unwrap().parse().unwrap();
        assert_eq!(i, next[t], "thread {t}'s messages out of order");
        assert_eq!(parts.next().unwrap(), messages[i].as_text().unwrap(), "message {t}:{i}");
        next[t] += 1;
    }
    client.disconnect().unwrap();
    expect_end(&rx);
}
