//! `MessageWriter`, the `std::io::Write` form of one message: a multi-MiB message written
//! through `std::io::copy` arrives whole, having left in fragments of at most 64 KiB; a text
//! writer refuses a write that breaks UTF-8 (taking none of it) while a code point may be
//! split between writes and flushes; dropping an unfinished writer finishes its message; a
//! text that ends inside a code point is refused at `finish` (closing with 1011 once
//! fragments have left, since they cannot be taken back).

mod support;

use std::io::{self, Read, Write};

use crossbeam_channel::Receiver;
use support::*;
use wsthread::{CloseCode, ClosedBy, Direction, Error, FrameError, Message, MessageKind, OpCode, Options, WebSocketClient};

/// The fragment size the writer documents.
const FRAGMENT: usize = 64 * 1024;

/// An outgoing data frame: opcode, FIN, payload length.
type Out = (OpCode, bool, usize);

/// An echo server and a client of it whose frame hook reports outgoing data frames.
fn echo_with_hook() -> (Server, Receiver<Seen>, WebSocketClient, Events, Receiver<Out>) {
    let (server, seen) = echo_server();
    let (out_tx, out) = crossbeam_channel::unbounded();
    let options = Options::new(&server.ws_url("/")).unwrap().frame_hook(move |f| {
        if f.direction == Direction::Outgoing && !f.opcode.is_control() {
            let _ = out_tx.send((f.opcode, f.fin, f.payload.len()));
        }
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    (server, seen, client, rx, out)
}

/// `n` pseudo-random bytes, produced as read: the source never holds the whole message.
struct Noise {
    left: usize,
    x: u32,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.left);
        for b in &mut buf[..n] {
            self.x ^= self.x << 13;
            self.x ^= self.x >> 17;
            self.x ^= self.x << 5;
            *b = self.x as u8;
        }
        self.left -= n;
        Ok(n)
    }
}

fn noise(n: usize) -> Noise {
    Noise { left: n, x: 0x9E37_79B9 }
}

/// The data frames of one message: a first frame, continuations, FIN on the last only.
fn check_fragments(frames: &[Out], kind: OpCode, total: usize) {
    assert!(!frames.is_empty());
    assert_eq!(frames[0].0, kind, "{frames:?}");
    for (i, &(opcode, fin, _)) in frames.iter().enumerate() {
        assert_eq!(fin, i + 1 == frames.len(), "FIN of frame {i} of {}", frames.len());
        if i > 0 {
            assert_eq!(opcode, OpCode::Continue, "frame {i}");
        }
    }
    assert_eq!(frames.iter().map(|f| f.2).sum::<usize>(), total);
}

#[test]
fn io_copy_of_8_mib_arrives_whole() {
    let (_server, _seen, client, rx, out) = echo_with_hook();
    const SIZE: usize = 8 << 20;
    let mut writer = client.writer(MessageKind::Binary).unwrap();
    assert_eq!(io::copy(&mut noise(SIZE), &mut writer).unwrap(), SIZE as u64);
    writer.finish().unwrap();

    let frames: Vec<Out> = out.try_iter().collect();
    check_fragments(&frames, OpCode::Binary, SIZE);
    assert!(frames.len() >= SIZE / FRAGMENT, "{} fragments", frames.len());
    let largest = frames.iter().map(|f| f.2).max().unwrap();
    assert!(largest <= FRAGMENT, "a fragment of {largest} bytes");

    let mut want = vec![0; SIZE];
    noise(SIZE).read_exact(&mut want).unwrap();
    match next_message(&rx) {
        Message::Binary(got) => {
            assert_eq!(got.len(), SIZE);
            assert!(got == want, "the echo differs");
        }
        other => panic!("expected the binary echo, got {} bytes of text", other.len()),
    }
}

#[test]
fn large_writes_leave_in_fragments_of_at_most_64_kib() {
    let (_server, _seen, client, rx, out) = echo_with_hook();
    // One write of 1 MiB, as `write_all` of a buffer the caller already holds.
    let mut payload = vec![0; 1 << 20];
    noise(payload.len()).read_exact(&mut payload).unwrap();
    let mut writer = client.writer(MessageKind::Binary).unwrap();
    writer.write_all(&payload).unwrap();
    writer.finish().unwrap();
    assert_eq!(next_message(&rx), Message::Binary(payload.clone()));
    let frames: Vec<Out> = out.try_iter().collect();
    check_fragments(&frames, OpCode::Binary, payload.len());
    let largest = frames.iter().map(|f| f.2).max().unwrap();
    assert!(largest <= FRAGMENT, "{} fragments, the largest of {largest} bytes (documented: up to 64 KiB)", frames.len());
}

/// `e` is an `InvalidData` I/O error carrying `Error::Frame(FrameError::InvalidUtf8)`.
#[track_caller]
fn invalid_utf8(e: io::Error) {
    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e:?}");
    let inner = e.get_ref().and_then(|e| e.downcast_ref::<Error>());
    assert!(matches!(inner, Some(Error::Frame(FrameError::InvalidUtf8))), "{e:?}");
}

#[test]
fn text_writer_refuses_invalid_utf8_at_write() {
    let (_server, _seen, client, rx, out) = echo_with_hook();
    let mut writer = client.writer(MessageKind::Text).unwrap();
    writer.write_all("h\u{e9}llo ".as_bytes()).unwrap();
    invalid_utf8(writer.write(b"\xff").unwrap_err());
    // "é" split between two writes, with a refused write between the halves.
    writer.write_all(b"\xc3").unwrap();
    invalid_utf8(writer.write(b"(").unwrap_err());
    writer.write_all(b"\xa9 ").unwrap();
    // "✓" split between two fragments: a flush inside it.
    writer.write_all(b"\xe2\x9c").unwrap();
    writer.flush().unwrap();
    invalid_utf8(writer.write(b"\xe2").unwrap_err());
    writer.write_all(b"\x93").unwrap();
    writer.finish().unwrap();
    assert_eq!(next_message(&rx), Message::Text("h\u{e9}llo \u{e9} \u{2713}".into()));
    let frames: Vec<Out> = out.try_iter().collect();
    check_fragments(&frames, OpCode::Text, "h\u{e9}llo \u{e9} \u{2713}".len());
    assert_eq!(frames.len(), 2, "one flush, then finish: {frames:?}");
    assert!(client.is_open());
}

#[test]
fn dropped_writer_finishes_its_message() {
    let (_server, _seen, client, rx, out) = echo_with_hook();
    // Fragments have left (a flush, and a full fragment), then the writer is dropped.
    let mut payload = vec![0; 100_000];
    noise(payload.len()).read_exact(&mut payload).unwrap();
    let mut writer = client.handle().writer(MessageKind::Binary).unwrap();
    writer.write_all(&payload[..10]).unwrap();
    writer.flush().unwrap();
    for chunk in payload[10..].chunks(1000) {
        writer.write_all(chunk).unwrap();
    }
    drop(writer);
    assert_eq!(next_message(&rx), Message::Binary(payload.clone()));
    let frames: Vec<Out> = out.try_iter().collect();
    check_fragments(&frames, OpCode::Binary, payload.len());
    assert!(frames.len() >= 3, "{frames:?}");

    // Nothing left yet when dropped: one whole frame.
    let mut writer = client.writer(MessageKind::Text).unwrap();
    write!(writer, "short {}", 1).unwrap();
    drop(writer);
    assert_eq!(next_message(&rx), Message::Text("short 1".into()));
    assert_eq!(out.try_iter().collect::<Vec<_>>(), vec![(OpCode::Text, true, 7)]);
    assert!(client.is_open());
}

#[test]
fn text_ending_inside_a_code_point_is_refused() {
    let (_server, seen, client, rx, out) = echo_with_hook();
    // Nothing sent yet: refused, and the connection carries on.
    let mut writer = client.writer(MessageKind::Text).unwrap();
    writer.write_all(b"a\xc3").unwrap();
    match writer.finish() {
        Err(Error::Frame(FrameError::InvalidUtf8)) => {}
        other => panic!("expected FrameError::InvalidUtf8, got {other:?}"),
    }
    assert!(out.try_iter().next().is_none(), "nothing may have left");
    client.send("still open").unwrap();
    assert_eq!(next_message(&rx), Message::Text("still open".into()));
    let _: Vec<Out> = out.try_iter().collect();

    // A fragment has left: it cannot be taken back, so the connection closes with 1011.
    let mut writer = client.writer(MessageKind::Text).unwrap();
    writer.write_all(&[b'a'; FRAGMENT]).unwrap();
    writer.write_all(b"\xc3").unwrap();
    match writer.finish() {
        Err(Error::Frame(FrameError::InvalidUtf8)) => {}
        other => panic!("expected FrameError::InvalidUtf8, got {other:?}"),
    }
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert_eq!((info.code, info.closed_by), (CloseCode::INTERNAL_ERROR, ClosedBy::Local), "{info:?}");
    let (_, code, _) = wait_close(&seen);
    assert_eq!(code, Some(1011));
    let frames: Vec<Out> = out.try_iter().collect();
    assert!(frames.iter().all(|f| !f.1), "no final fragment may have left: {frames:?}");
}
