use super::*;
use crate::protocol::{Event, Limits, Protocol};
use crate::frame::{OP_BINARY, OP_CONTINUE, OP_PING, OP_TEXT};
use crate::message::Message;

fn params(client_reset: bool, server_reset: bool, client_bits: u8) -> DeflateParams {
    DeflateParams {
        client_no_context_takeover: client_reset,
        server_no_context_takeover: server_reset,
        client_max_window_bits: client_bits,
        server_max_window_bits: 15,
    }
}

/// Compresses `message` in pieces of `piece` bytes (one piece if it is 0).
fn compress(d: &mut Deflater, message: &[u8], piece: usize) -> Vec<u8> {
    let mut out = Vec::new();
    if piece == 0 {
        assert!(d.begin(Some(message.len())));
        d.encode(message, true, &mut out);
    } else {
        assert!(d.begin(None));
        let mut pieces = message.chunks(piece).peekable();
        while let Some(p) = pieces.next() {
            d.encode(p, pieces.peek().is_none(), &mut out);
        }
        if message.is_empty() {
            d.encode(&[], true, &mut out);
        }
    }
    out
}

/// Inflates one message given in pieces of `piece` bytes.
fn inflate(i: &mut Inflater, data: &[u8], piece: usize, limit: Option<usize>) -> Result<Vec<u8>, Violation> {
    let mut out = Vec::new();
    let pieces: Vec<&[u8]> = if data.is_empty() { vec![&[]] } else { data.chunks(piece.max(1)).collect() };
    for (n, p) in pieces.iter().enumerate() {
        i.decode(p, n + 1 == pieces.len(), &mut out, limit)?;
    }
    Ok(out)
}

/// A JSON feed's messages: similar to each other, as market data is.
fn ticks(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|k| {
            format!(
                r#"{{"type":"tick","symbol":"SYM{}","bid":{}.{:02},"ask":{}.{:02},"seq":{},"venue":"XNAS"}}"#,
                k % 7,
                100 + k % 13,
                k % 100,
                101 + k % 11,
                (k * 7) % 100,
                k
            )
            .into_bytes()
        })
        .collect()
}

/// Bytes with no pattern, from a small xorshift generator.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

#[test]
fn rfc_7692_examples_inflate() {
    // §7.2.3.1 and §7.2.3.2: "Hello", then "Hello" again using the first as context.
    let mut i = Inflater::new(&DeflateParams::default());
    assert_eq!(inflate(&mut i, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100, None).unwrap(), b"Hello");
    assert_eq!(inflate(&mut i, &[0xf2, 0x00, 0x11, 0x00, 0x00], 100, None).unwrap(), b"Hello");
    // §7.2.3.3: a stored block; §7.2.3.4: a final (BFINAL) block, after which a new stream starts.
    assert_eq!(inflate(&mut i, &[0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00], 3, None).unwrap(), b"Hello");
    let mut i = Inflater::new(&DeflateParams::default());
    assert_eq!(inflate(&mut i, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00], 1, None).unwrap(), b"Hello");
    assert_eq!(inflate(&mut i, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 1, None).unwrap(), b"Hello");
    // §7.2.3.6: an empty message.
    assert_eq!(inflate(&mut i, &[0x00], 1, None).unwrap(), b"");
}

#[test]
fn hello_compresses_as_rfc_7692_shows() {
    // zlib's default level, which finds the second "Hello" in the first as the RFC does.
    let mut d = Deflater::new(&DeflateParams::default(), &DeflateOptions::default().min_size(0).level(6));
    assert_eq!(compress(&mut d, b"Hello", 0), [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(compress(&mut d, b"Hello", 0), [0xf2, 0x00, 0x11, 0x00, 0x00]);
    // The default level 1 gives bytes of its own, which inflate the same.
    let mut d = Deflater::new(&DeflateParams::default(), &DeflateOptions::default().min_size(0));
    let mut i = Inflater::new(&DeflateParams::default());
    for _ in 0..3 {
        assert_eq!(inflate(&mut i, &compress(&mut d, b"Hello", 0), 100, None).unwrap(), b"Hello");
    }
}

#[test]
fn messages_round_trip_with_and_without_context_takeover_whole_or_in_pieces() {
    let mut messages = ticks(200);
    messages.insert(3, Vec::new());
    messages.insert(4, Vec::new());
    messages.push(noise(100_000, 7));
    messages.push(vec![b'a'; 300_000]);
    messages.push(Vec::new());
    for reset in [false, true] {
        for bits in [8, 9, 12, 15] {
            for piece in [0, 1, 5, 1000] {
                let p = params(reset, reset, bits);
                let mut d = Deflater::new(&p, &DeflateOptions::default().min_size(0));
                let mut i = Inflater::new(&DeflateParams { server_no_context_takeover: reset, ..p });
                for m in &messages {
                    let c = compress(&mut d, m, piece);
                    assert!(!c.ends_with(&TAIL) || c.len() < 4 || m.is_empty(), "tail not removed");
                    let back = inflate(&mut i, &c, 17, Some(1 << 20)).unwrap();
                    assert!(back == *m, "reset {reset} bits {bits} piece {piece}: {} bytes back for {}", back.len(), m.len());
                }
            }
        }
    }
}

#[test]
fn context_takeover_shrinks_a_feed_and_its_absence_is_independent_messages() {
    let feed = ticks(100);
    let size = |reset: bool| -> usize {
        let mut d = Deflater::new(&params(reset, false, 15), &DeflateOptions::default().min_size(0));
        feed.iter().map(|m| compress(&mut d, m, 0).len()).sum()
    };
    let (takeover, reset) = (size(false), size(true));
    assert!(takeover * 2 < reset, "takeover {takeover} bytes, reset {reset}");
    // Without takeover, every message inflates with a fresh inflater.
    let mut d = Deflater::new(&params(true, false, 15), &DeflateOptions::default().min_size(0));
    for m in &feed {
        let c = compress(&mut d, m, 0);
        assert_eq!(inflate(&mut Inflater::new(&DeflateParams::default()), &c, 9, None).unwrap(), *m);
    }
}

#[test]
fn messages_under_min_size_stay_plain() {
    let mut d = Deflater::new(&DeflateParams::default(), &DeflateOptions::default().min_size(64));
    assert!(!d.begin(Some(63)));
    assert!(d.begin(Some(64)));
    // Sent in fragments, the length is unknown: compressed.
    assert!(d.begin(None));
}

#[test]
fn a_bomb_stops_at_the_limit_with_1009_having_allocated_about_the_limit() {
    let bomb = {
        let mut d = Deflater::new(&DeflateParams::default(), &DeflateOptions::default().level(9));
        compress(&mut d, &vec![0u8; 64 << 20], 0)
    };
    assert!(bomb.len() < 100 << 10, "{} bytes", bomb.len());
    let limit = 1 << 20;
    for piece in [bomb.len(), 4096, 7] {
        let mut i = Inflater::new(&DeflateParams::default());
        let mut out = Vec::new();
        let mut err = None;
        for p in bomb.chunks(piece) {
            if let Err(e) = i.decode(p, false, &mut out, Some(limit)) {
                err = Some(e);
                break;
            }
        }
        let err = err.expect("the bomb went through");
        assert_eq!(err.code, CloseCode::MESSAGE_TOO_BIG, "{err:?}");
        assert!(out.capacity() <= limit + 1, "{} bytes allocated for a limit of {limit}", out.capacity());
    }
    // Exactly the limit passes.
    let mut d = Deflater::new(&DeflateParams::default(), &DeflateOptions::default());
    let c = compress(&mut d, &vec![7u8; limit], 0);
    let back = inflate(&mut Inflater::new(&DeflateParams::default()), &c, 1000, Some(limit)).unwrap();
    assert_eq!(back.len(), limit);
    assert!(inflate(&mut Inflater::new(&DeflateParams::default()), &c, 1000, Some(limit - 1)).is_err());
}

#[test]
fn corrupt_streams_fail_with_1007_and_never_panic() {
    // A reserved block type (BTYPE 11).
    let e = inflate(&mut Inflater::new(&DeflateParams::default()), &[0xff, 0xff, 0xff], 1, None).unwrap_err();
    assert_eq!(e.code, CloseCode::INVALID_PAYLOAD);
    // Random bytes, and valid streams with bytes flipped: errors or garbage, never a panic.
    let mut d = Deflater::new(&DeflateParams::default(), &DeflateOptions::default());
    let good = compress(&mut d, &ticks(50).concat(), 0);
    for k in 0..2000u64 {
        let mut data = if k % 2 == 0 { noise(1 + (k as usize % 300), k + 1) } else { good.clone() };
        if k % 2 == 1 {
            let at = (k as usize * 31) % data.len();
            data[at] ^= 1 << (k % 8);
        }
        match inflate(&mut Inflater::new(&DeflateParams::default()), &data, 1 + k as usize % 13, Some(1 << 20)) {
            Ok(_) => {}
            Err(e) => assert!([CloseCode::INVALID_PAYLOAD, CloseCode::MESSAGE_TOO_BIG].contains(&e.code), "{e:?}"),
        }
    }
}

/// A server frame as the message layer's tests build them.
fn frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    crate::protocol::tests::server_frame(fin, rsv1, opcode, payload)
}

#[test]
fn the_message_layer_inflates_rsv1_messages_across_fragments_and_checks_utf8_and_limits() {
    let mut d = Deflater::new(&DeflateParams::default(), &DeflateOptions::default().min_size(0));
    let text = "héllo wörld ✓ ".repeat(100);
    let c = compress(&mut d, text.as_bytes(), 0);
    let (a, b) = c.split_at(c.len() / 2);
    let mut bytes = frame(false, true, OP_TEXT, a);
    bytes.extend(frame(true, false, OP_PING, b"p"));
    bytes.extend(frame(false, false, OP_CONTINUE, b));
    bytes.extend(frame(true, false, OP_CONTINUE, b""));
    // A plain message between compressed ones leaves the context alone.
    bytes.extend(frame(true, false, OP_BINARY, b"plain"));
    let again = compress(&mut d, text.as_bytes(), 0);
    bytes.extend(frame(true, true, OP_TEXT, &again));

    let limits = Limits { max_message: Some(1 << 20), max_frame: Some(1 << 20) };
    let mut p = Protocol::new(limits, Some(Box::new(Inflater::new(&DeflateParams::default()))), None);
    let mut events = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let (used, out) = p.feed(&bytes[at..(at + 5).min(bytes.len())]);
        at += used;
        if let Some(e) = out.unwrap() {
            events.push(e);
        }
    }
    assert_eq!(
        events,
        vec![
            Event::Ping(b"p".to_vec()),
            Event::Message(Message::Text(text.clone())),
            Event::Message(Message::Binary(b"plain".to_vec())),
            Event::Message(Message::Text(text.clone())),
        ]
    );

    // Decoded text that is not UTF-8 closes with 1007; a decoded size over the limit with 1009.
    let bad = compress(&mut Deflater::new(&DeflateParams::default(), &DeflateOptions::default().min_size(0)), &[b'a', 0xff, b'b'], 0);
    let small = Limits { max_message: Some(1000), max_frame: None };
    let fresh = compress(&mut Deflater::new(&DeflateParams::default(), &DeflateOptions::default()), text.as_bytes(), 0);
    for (payload, code, limits) in [(bad, 1007, limits), (fresh, 1009, small)] {
        let mut p = Protocol::new(limits, Some(Box::new(Inflater::new(&DeflateParams::default()))), None);
        let (_, out) = p.feed(&frame(true, true, OP_TEXT, &payload));
        assert_eq!(out.unwrap_err().code.0, code);
    }
}
