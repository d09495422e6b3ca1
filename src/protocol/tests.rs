use std::sync::{Arc, Mutex};

use super::*;
use crate::close::ClosedBy;

/// An unmasked server frame.
pub(crate) fn server_frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(fin as u8) << 7 | (rsv1 as u8) << 6 | opcode];
    match payload.len() {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// Feeds `bytes` in pieces of `step` bytes; returns the events, and the violation that
/// ended it, if any.
fn run(p: &mut Protocol, bytes: &[u8], step: usize) -> (Vec<Event>, Option<Violation>) {
    let mut events = Vec::new();
    for piece in bytes.chunks(step.max(1)) {
        let mut at = 0;
        while at < piece.len() {
            let (used, out) = p.feed(&piece[at..]);
            at += used;
            match out {
                Ok(Some(e)) => events.push(e),
                Ok(None) => assert_eq!(at, piece.len(), "stopped without an event"),
                Err(v) => return (events, Some(v)),
            }
        }
    }
    (events, None)
}

fn protocol() -> Protocol {
    Protocol::new(Limits { max_message: Some(1 << 20), max_frame: Some(1 << 20) }, None, None)
}

fn fails_with(bytes: &[u8], code: u16, needle: &str) {
    for step in [1, 2, 3, 7, 64, usize::MAX] {
        let (_, v) = run(&mut protocol(), bytes, step);
        let v = v.unwrap_or_else(|| panic!("no violation with step {step}"));
        assert_eq!(v.code.0, code, "{v:?}");
        assert!(v.why.contains(needle), "{v:?} should mention {needle:?}");
    }
}

#[test]
fn the_same_bytes_give_the_same_events_whatever_the_chunking() {
    let mut bytes = Vec::new();
    bytes.extend(server_frame(true, false, OP_TEXT, "héllo ✓ 🚀".as_bytes()));
    bytes.extend(server_frame(false, false, OP_TEXT, "frag".as_bytes()));
    bytes.extend(server_frame(true, false, OP_PING, b"mid"));
    bytes.extend(server_frame(false, false, OP_CONTINUE, &"é".as_bytes()[..1]));
    bytes.extend(server_frame(true, false, OP_CONTINUE, &"é".as_bytes()[1..]));
    bytes.extend(server_frame(true, false, OP_BINARY, &[7; 70_000]));
    bytes.extend(server_frame(true, false, OP_BINARY, &[]));
    bytes.extend(server_frame(true, false, OP_PONG, b"p"));
    bytes.extend(server_frame(true, false, OP_CLOSE, &[0x0F, 0xA1, b'o', b'k']));
    bytes.extend(server_frame(true, false, OP_TEXT, b"after the close: ignored"));
    let (expected, v) = run(&mut protocol(), &bytes, usize::MAX);
    assert_eq!(v, None);
    assert_eq!(expected.len(), 7, "{expected:?}");
    assert_eq!(expected[2], Event::Message(Message::Text("fragé".into())));
    assert_eq!(
        expected[6],
        Event::Close {
            frame: CloseFrame { code: CloseCode(4001), reason: "ok".into() },
            reply: Some(CloseFrame { code: CloseCode(4001), reason: String::new() })
        }
    );
    for step in 1..=17 {
        assert_eq!(run(&mut protocol(), &bytes, step), (run(&mut protocol(), &bytes, usize::MAX).0, None), "step {step}");
    }
}

#[test]
fn invalid_utf8_fails_inside_the_frame() {
    // The header announces 1,000 bytes; the bad byte comes third: no need to wait.
    let mut bytes = server_frame(true, false, OP_TEXT, &[b'a'; 1000]);
    bytes[4] = 0xFF;
    bytes.truncate(8);
    fails_with(&bytes, 1007, "UTF-8");
    // A code point that can never be completed (F4 90 is beyond U+10FFFF).
    let mut bytes = server_frame(true, false, OP_TEXT, &[b'a'; 1000]);
    bytes[4..6].copy_from_slice(&[0xF4, 0x90]);
    bytes.truncate(6);
    fails_with(&bytes, 1007, "UTF-8");
    // In a continuation frame still arriving.
    let mut bytes = server_frame(false, false, OP_TEXT, b"ok");
    let mut cont = server_frame(true, false, OP_CONTINUE, &[b'a'; 1000]);
    cont[5] = 0xC0;
    bytes.extend_from_slice(&cont[..10]);
    fails_with(&bytes, 1007, "UTF-8");
    // A code point cut at the end of the message.
    fails_with(&server_frame(true, false, OP_TEXT, &"é".as_bytes()[..1]), 1007, "UTF-8");
}

#[test]
fn header_violations() {
    fails_with(&[0x81, 0x82, 1, 2, 3, 4, b'h', b'i'], 1002, "masked");
    fails_with(&server_frame(true, true, OP_TEXT, b"x"), 1002, "reserved bit");
    fails_with(&[0xA1, 0x00], 1002, "reserved bit");
    fails_with(&[0x83, 0x00], 1002, "");
    fails_with(&[0x8B, 0x00], 1002, "");
    fails_with(&server_frame(false, false, OP_PING, b""), 1002, "fragmented control");
    fails_with(&server_frame(true, false, OP_PING, &[0; 126]), 1002, "control frame of 126");
    fails_with(&server_frame(true, false, OP_CONTINUE, b"x"), 1002, "continuation");
    let mut twice = server_frame(false, false, OP_TEXT, b"a");
    twice.extend(server_frame(true, false, OP_BINARY, b"b"));
    fails_with(&twice, 1002, "inside a fragmented message");
    let mut top_bit = vec![0x82, 127];
    top_bit.extend_from_slice(&(1u64 << 63).to_be_bytes());
    fails_with(&top_bit, 1002, "most significant bit");
}

#[test]
fn close_frames_are_checked() {
    fails_with(&server_frame(true, false, OP_CLOSE, &[3]), 1002, "1-byte");
    for code in [0u16, 999, 1004, 1005, 1006, 1015, 2999, 5000, 65535] {
        fails_with(&server_frame(true, false, OP_CLOSE, &code.to_be_bytes()), 1002, &code.to_string());
    }
    fails_with(&server_frame(true, false, OP_CLOSE, &[0x03, 0xE8, 0xFF]), 1007, "Close reason");
    let (events, _) = run(&mut protocol(), &server_frame(true, false, OP_CLOSE, &[]), 1);
    assert!(matches!(&events[..], [Event::Close { frame, .. }] if frame.code == CloseCode::NO_STATUS));
}

#[test]
fn limits_apply_to_announced_lengths_before_the_payload() {
    let mut header = vec![0x82, 127];
    header.extend_from_slice(&(1u64 << 40).to_be_bytes());
    fails_with(&header, 1009, "frame of 1099511627776 bytes");
    let mut p = Protocol::new(Limits { max_message: Some(100), max_frame: None }, None, None);
    let mut bytes = server_frame(false, false, OP_BINARY, &[0; 60]);
    bytes.extend_from_slice(&server_frame(true, false, OP_CONTINUE, &[0; 60])[..2]);
    let (_, v) = run(&mut p, &bytes, usize::MAX);
    assert_eq!(v.unwrap().code.0, 1009);
}

#[test]
fn without_limits_memory_follows_the_bytes_not_the_header() {
    let mut p = Protocol::new(Limits::default(), None, None);
    let mut bytes = vec![0x82, 127];
    bytes.extend_from_slice(&(1u64 << 40).to_be_bytes());
    bytes.extend_from_slice(&[5; 3000]);
    let (events, v) = run(&mut p, &bytes, 700);
    assert!(events.is_empty() && v.is_none());
    let m = p.message.as_ref().unwrap();
    assert_eq!(m.data.len(), 3000);
    assert!(m.data.capacity() <= RESERVE_AHEAD as usize, "{}", m.data.capacity());
}

#[test]
fn nothing_is_read_after_a_failure_or_the_servers_close() {
    let mut p = protocol();
    assert!(p.fail(CloseCode(1002), "bad".into()).is_some());
    assert_eq!(p.feed(&server_frame(true, false, OP_TEXT, b"x")), (3, Ok(None)));
    let mut p = protocol();
    assert_eq!(p.close(CloseCode(1001), "").unwrap().code.0, 1001);
    // Data still arrives until the server's Close (§7.1.2), which needs no echo.
    let (events, _) = run(&mut p, &server_frame(true, false, OP_TEXT, b"late"), 1);
    assert_eq!(events, vec![Event::Message(Message::Text("late".into()))]);
    let (events, _) = run(&mut p, &server_frame(true, false, OP_CLOSE, &[3, 233]), 1);
    assert!(matches!(&events[..], [Event::Close { reply: None, .. }]));
    assert!(matches!(p.state(), CloseState::Closing { by: ClosedBy::Local, .. }) && p.state().is_complete());
}

/// A toy extension for the seam: RSV1 messages arrive with their ASCII letters' case swapped.
struct SwapCase;

impl Decoder for SwapCase {
    fn decode(&mut self, input: &[u8], _last: bool, out: &mut Vec<u8>, limit: Option<usize>) -> Result<(), Violation> {
        out.extend(input.iter().map(|b| if b.is_ascii_alphabetic() { b ^ 0x20 } else { *b }));
        if limit.is_some_and(|max| out.len() > max) {
            return Err(Violation::new(CloseCode::MESSAGE_TOO_BIG, "decoded message over the limit"));
        }
        Ok(())
    }
}

#[test]
fn an_extension_claims_rsv1_and_decodes_messages() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let observer: FrameObserver =
        Arc::new(move |dir, head: &Head, payload: &[u8]| log.lock().unwrap().push((dir, head.opcode, head.rsv1, payload.to_vec())));
    let mut p = Protocol::new(Limits { max_message: Some(8), max_frame: None }, Some(Box::new(SwapCase)), Some(observer));
    let mut bytes = server_frame(false, true, OP_TEXT, "Hé".as_bytes());
    bytes.extend(server_frame(true, false, OP_CONTINUE, b"LLO"));
    bytes.extend(server_frame(true, false, OP_TEXT, b"plain"));
    let (events, v) = run(&mut p, &bytes, 1);
    assert_eq!(v, None);
    assert_eq!(events[0], Event::Message(Message::Text("héllo".into())));
    assert_eq!(events[1], Event::Message(Message::Text("plain".into())));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (Direction::Incoming, OP_TEXT, true, "Hé".as_bytes().to_vec()),
            (Direction::Incoming, OP_CONTINUE, false, b"LLO".to_vec()),
            (Direction::Incoming, OP_TEXT, false, b"plain".to_vec())
        ]
    );
    // The limit applies to the decoded size, and RSV1 stays refused on continuations.
    fails_with_decoder(&server_frame(true, true, OP_BINARY, &[0; 9]), 1009);
    let mut bytes = server_frame(false, true, OP_BINARY, b"a");
    bytes.extend(server_frame(true, true, OP_CONTINUE, b"b"));
    fails_with_decoder(&bytes, 1002);
}

fn fails_with_decoder(bytes: &[u8], code: u16) {
    let mut p = Protocol::new(Limits { max_message: Some(8), max_frame: None }, Some(Box::new(SwapCase)), None);
    assert_eq!(run(&mut p, bytes, 1).1.map(|v| v.code.0), Some(code));
}

/// Feeds `bytes` as the connection thread does: straight into the message where
/// `read_payload` takes them, through `feed` elsewhere, `step` bytes per read.
fn run_direct(p: &mut Protocol, bytes: &[u8], step: usize) -> (Vec<Event>, Option<Violation>, usize) {
    let (mut events, mut at, mut direct) = (Vec::new(), 0, 0);
    while at < bytes.len() {
        let end = (at + step).min(bytes.len());
        let read = |room: &mut [u8]| {
            let n = room.len().min(end - at);
            room[..n].copy_from_slice(&bytes[at..at + n]);
            Ok(n)
        };
        let (used, out) = match p.read_payload(read) {
            Some(result) => {
                direct += 1;
                result.unwrap()
            }
            None => p.feed(&bytes[at..end]),
        };
        at += used;
        match out {
            Ok(Some(e)) => events.push(e),
            Ok(None) => {}
            Err(v) => return (events, Some(v), direct),
        }
    }
    (events, None, direct)
}

#[test]
fn large_payloads_read_straight_into_the_message_give_the_same_events() {
    let text: String = (0..300_000).map(|i| ['a', 'é', '✓', '🚀'][i % 4]).collect();
    let mut bytes = server_frame(false, false, OP_TEXT, &text.as_bytes()[..100_001]);
    bytes.extend(server_frame(true, false, OP_PING, b"p"));
    bytes.extend(server_frame(true, false, OP_CONTINUE, &text.as_bytes()[100_001..]));
    bytes.extend(server_frame(true, false, OP_BINARY, &[3; 70_000]));
    let expected = run(&mut protocol(), &bytes, usize::MAX).0;
    assert_eq!(expected.len(), 3);
    for step in [1000, 4096, 65_536, 1 << 20] {
        let (events, v, direct) = run_direct(&mut protocol(), &bytes, step);
        assert_eq!((&events, v), (&expected, None), "step {step}");
        assert!(direct > 0 || step >= bytes.len(), "step {step}: never read straight into the message");
    }
    // Fail-fast still holds: a bad byte deep in a large frame fails before the frame ends.
    let mut bad = server_frame(true, false, OP_TEXT, &[b'a'; 200_000]);
    bad[100_000] = 0xFF;
    bad.truncate(150_000);
    let (_, v, _) = run_direct(&mut protocol(), &bad, 40_000);
    assert_eq!(v.map(|v| v.code.0), Some(1007));
}

#[test]
fn the_room_offered_for_direct_reads_grows_only_while_reads_fill_it() {
    let mut p = protocol();
    let header = &server_frame(true, false, OP_BINARY, &vec![0; 1 << 20])[..10];
    assert_eq!(p.feed(header), (10, Ok(None)));
    let mut rooms = Vec::new();
    // A server trickling a byte per read: the room stays at its smallest.
    for _ in 0..10 {
        let fed = p.read_payload(|room: &mut [u8]| {
            rooms.push(room.len());
            Ok(1)
        });
        assert_eq!(fed.unwrap().unwrap(), (1, Ok(None)));
    }
    assert!(rooms.iter().all(|r| *r == DIRECT_MIN as usize), "{rooms:?}");
    // Reads that fill the room double it, up to DIRECT_MAX.
    rooms.clear();
    for _ in 0..6 {
        let fed = p.read_payload(|room: &mut [u8]| {
            rooms.push(room.len());
            Ok(room.len())
        });
        assert!(matches!(fed, Some(Ok((_, Ok(None))))));
    }
    assert_eq!(rooms, [16, 32, 64, 128, 256, 256].map(|k| k << 10));
}
