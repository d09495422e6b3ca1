//! While one thread streams a fragmented message through a `MessageWriter` (a fragment per
//! flush), other threads' data messages wait: a thread sending small messages all along
//! never gets a data frame between a message's first fragment and its final one, while a
//! third thread's pings may go in between (RFC 6455 §5.4). The server records every frame
//! the client sends and checks the whole sequence; every message arrives whole and in order.

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use support::*;
use wsthread::{Direction, MessageKind, OpCode, Options, WebSocketClient};

/// Fragmented messages the streaming thread sends, each in `FLUSHES` fragments of `PIECE`.
const ROUNDS: usize = 10;
const FLUSHES: usize = 50;
const PIECE: usize = 1000;
/// The least number of small messages; their sender goes on until the streamer is done.
const MIN_SMALL: usize = 100;

/// Fragment `k` of streamed message `m`.
fn piece(m: usize, k: usize) -> Vec<u8> {
    (0..PIECE).map(|i| (m * 31 + k * 7 + i) as u8).collect()
}

/// What the server made of the client's frames.
#[derive(Debug, Default)]
struct Heard {
    /// Whole data messages: (binary?, payload), in order.
    messages: Vec<(bool, Vec<u8>)>,
    /// Pings, and how many of them came inside a fragmented message.
    pings: usize,
    pings_inside: usize,
    /// Fragmented messages (more than one frame).
    fragmented: usize,
}

/// Checks that the client's frames never interleave data messages, and reassembles them.
fn check_sequence(frames: &[RawFrame]) -> Heard {
    let mut heard = Heard::default();
    // The fragmented message in progress: its opcode, payload so far, frames so far.
    let mut current: Option<(u8, Vec<u8>, usize)> = None;
    for (i, f) in frames.iter().enumerate() {
        assert!(f.masked, "frame {i} is not masked: {f:?}");
        assert_eq!(f.rsv, 0, "frame {i}");
        match f.opcode {
            OP_TEXT | OP_BINARY => {
                if let Some((op, so_far, n)) = &current {
                    panic!(
                        "frame {i}, a new data message (opcode {}, {} bytes), came inside a fragmented message \
                         (opcode {op}, {n} frames, {} bytes so far)",
                        f.opcode,
                        f.payload.len(),
                        so_far.len()
                    );
                }
                if f.fin {
                    heard.messages.push((f.opcode == OP_BINARY, f.payload.clone()));
                } else {
                    current = Some((f.opcode, f.payload.clone(), 1));
                }
            }
            OP_CONT => {
                let Some((_, so_far, n)) = &mut current else {
                    panic!("frame {i}, a continuation, with no message to continue");
                };
                so_far.extend_from_slice(&f.payload);
                *n += 1;
                if f.fin {
                    let (op, so_far, _) = current.take().unwrap();
                    heard.messages.push((op == OP_BINARY, so_far));
                    heard.fragmented += 1;
                }
            }
            OP_PING => {
                assert!(f.fin, "frame {i}: a fragmented ping");
                heard.pings += 1;
                if current.is_some() {
                    heard.pings_inside += 1;
                }
            }
            other => panic!("frame {i}: unexpected opcode {other}: {f:?}"),
        }
    }
    assert!(current.is_none(), "a fragmented message was never finished");
    heard
}

#[test]
fn fragmented_message_not_interleaved() {
    let (server, frames_rx) = recording_server();
    // The hook hears each message sent mid-stream as it is queued.
    let (queued_tx, queued) = crossbeam_channel::unbounded();
    let options = Options::new(&server.ws_url("/")).unwrap().frame_hook(move |f| {
        if f.direction == Direction::Outgoing && f.opcode == OpCode::Text && f.payload.starts_with(b"mid") {
            let _ = queued_tx.send(());
        }
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();

    // In the middle of each streamed message, the streamer has the pinger ping (and waits
    // until it has), then lets the mid-stream sender go and gives it time to get a message
    // in: it must not, before the streamed message's last fragment.
    let (go_tx, go) = crossbeam_channel::bounded::<()>(0);
    let (ping_tx, ping_rx) = crossbeam_channel::bounded::<()>(0);
    let (pinged_tx, pinged) = crossbeam_channel::bounded::<()>(0);
    let (sent_tx, sent) = crossbeam_channel::bounded::<()>(1);

    let done = Arc::new(AtomicBool::new(false));
    let streamer = {
        let (ws, done) = (client.handle(), done.clone());
        thread::spawn(move || {
            let mut got_in = 0;
            for m in 0..ROUNDS {
                let mut writer = ws.writer(MessageKind::Binary).unwrap();
                for k in 0..FLUSHES {
                    writer.write_all(&piece(m, k)).unwrap();
                    writer.flush().unwrap();
                    if k == FLUSHES / 2 {
                        ping_tx.send_timeout((), WAIT).expect("the pinger is gone");
                        pinged.recv_timeout(WAIT).expect("the pinger did not ping");
                        // The last round's mid-stream message was queued (and heard) already.
                        let _: Vec<()> = queued.try_iter().collect();
                        go_tx.send_timeout((), WAIT).expect("the mid-stream sender is gone");
                        // It now sends: its message must wait for this one's last fragment.
                        if queued.recv_timeout(ms(100)).is_ok() {
                            got_in += 1;
                        }
                    }
                }
                writer.finish().unwrap();
                // Its message, now free to go, goes before this thread's next one (which
                // would otherwise keep it waiting while this thread waits for it).
                sent.recv_timeout(WAIT).expect("the mid-stream message was not sent after the streamed one");
            }
            done.store(true, Ordering::SeqCst);
            got_in
        })
    };
    let pinger = {
        let ws = client.handle();
        thread::spawn(move || {
            let mut pings = 0;
            while ping_rx.recv_timeout(WAIT).is_ok() {
                ws.ping(format!("ping {pings}")).unwrap();
                pings += 1;
                pinged_tx.send(()).unwrap();
            }
            pings
        })
    };
    // One message each time the streamer says go, in the middle of its message.
    let mid = {
        let ws = client.handle();
        thread::spawn(move || {
            let mut sent = 0;
            while go.recv_timeout(WAIT).is_ok() {
                ws.send(format!("mid {sent}")).unwrap();
                sent += 1;
                sent_tx.send(()).unwrap();
            }
            sent
        })
    };
    // Small messages all along, as fast as they go, racing the streamer.
    let small = {
        let (ws, done) = (client.handle(), done.clone());
        thread::spawn(move || {
            let mut sent = 0;
            while sent < MIN_SMALL || !done.load(Ordering::SeqCst) {
                ws.send(format!("small {sent}")).unwrap();
                sent += 1;
            }
            sent
        })
    };
    let got_in = streamer.join().expect("the streaming thread");
    let pings = pinger.join().expect("the pinger");
    let mid_sent = mid.join().expect("the mid-stream sender");
    let small_sent = small.join().expect("the small sender");

    client.disconnect().unwrap();
    expect_end(&rx);
    let (_, frames) = frames_rx.recv_timeout(WAIT).expect("the server's record of the frames");
    let heard = check_sequence(&frames);
    eprintln!(
        "{} frames: {} messages ({} fragmented, {mid_sent} sent mid-stream, {small_sent} small), {} pings ({} inside)",
        frames.len(),
        heard.messages.len(),
        heard.fragmented,
        heard.pings,
        heard.pings_inside
    );
    assert_eq!(got_in, 0, "small messages were queued inside a fragmented message");

    // Every message whole, each sender's in its own order.
    let streamed: Vec<&Vec<u8>> = heard.messages.iter().filter(|(binary, _)| *binary).map(|(_, p)| p).collect();
    let texts: Vec<&Vec<u8>> = heard.messages.iter().filter(|(binary, _)| !*binary).map(|(_, p)| p).collect();
    assert_eq!(streamed.len(), ROUNDS);
    assert_eq!(heard.fragmented, ROUNDS);
    for (m, payload) in streamed.iter().enumerate() {
        let want: Vec<u8> = (0..FLUSHES).flat_map(|k| piece(m, k)).collect();
        assert!(**payload == want, "streamed message {m} differs ({} bytes)", payload.len());
    }
    assert_eq!(mid_sent, ROUNDS);
    let mids: Vec<String> = texts.iter().map(|t| String::from_utf8_lossy(t).into_owned()).filter(|t| t.starts_with("mid")).collect();
    assert_eq!(mids, (0..ROUNDS).map(|i| format!("mid {i}")).collect::<Vec<_>>());
    let smalls: Vec<&Vec<u8>> = texts.iter().copied().filter(|t| t.starts_with(b"small")).collect();
    assert_eq!(smalls.len(), small_sent);
    for (i, t) in smalls.iter().enumerate() {
        assert_eq!(String::from_utf8_lossy(t), format!("small {i}"));
    }
    // One ping in the middle of each streamed message: control frames may go in between.
    assert_eq!((heard.pings, heard.pings_inside), (ROUNDS, ROUNDS));
    assert_eq!(pings, ROUNDS);
}
