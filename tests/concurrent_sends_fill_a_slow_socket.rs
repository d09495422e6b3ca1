//! Sends from several threads at once, of sizes from 8 B to 48 KiB, to a server that reads
//! slowly in small pieces: the socket is full most of the time, so writes are cut short while
//! other threads keep queueing. Every frame still reaches the server whole, masked, with the
//! right length and content, and each thread's messages in the order it sent them; over ws://
//! (where senders also write to the socket themselves) and over wss://.

mod support;

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
#[cfg(feature = "tls")]
use rustls::{ServerConnection, StreamOwned};
#[cfg(feature = "tls")]
use support::tls::{server_config, TestCa};
use support::*;
#[cfg(feature = "tls")]
use wsthread::RootCerts;
use wsthread::{Message, Options, WebSocketClient};

const THREADS: usize = 6;
const PER_THREAD: usize = 100;
const MIN_SIZE: usize = 8;
const MAX_SIZE: usize = 48 * 1024;

/// The server reads at most this much at a time…
const PIECE: usize = 1500;
/// …and pauses for a moment after each `PAUSE_EVERY` bytes: it drains the socket several times
/// slower than the senders fill it. (Load shaping, not synchronisation.)
const PAUSE_EVERY: usize = 32 * 1024;
const PAUSE: Duration = Duration::from_millis(1);

/// How long the whole transfer may take before the test fails (a hang guard, far above need).
const TRANSFER_LIMIT: Duration = Duration::from_secs(60);

/// splitmix64: a well-mixed 64-bit value for each input.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Odd threads send text, even threads binary.
fn is_text(t: usize) -> bool {
    t % 2 == 1
}

/// Message `seq` of thread `t`: "{t:04}{seq:04}" (8 bytes), then filler that depends on both
/// (lowercase letters for text), `MIN_SIZE..=MAX_SIZE` bytes in all.
fn payload(t: usize, seq: usize) -> Vec<u8> {
    let seed = mix(((t as u64) << 32) | seq as u64);
    let len = MIN_SIZE + (seed % (MAX_SIZE - MIN_SIZE + 1) as u64) as usize;
    let mut p = format!("{t:04}{seq:04}").into_bytes();
    let mut state = seed;
    while p.len() < len {
        state = mix(state);
        for b in state.to_le_bytes() {
            if p.len() < len {
                p.push(if is_text(t) { b'a' + b % 26 } else { b });
            }
        }
    }
    p
}

/// Which thread and message a payload says it is.
fn id(payload: &[u8]) -> Option<(usize, usize)> {
    let head = std::str::from_utf8(payload.get(..8)?).ok()?;
    Some((head[..4].parse().ok()?, head[4..].parse().ok()?))
}

/// A stream whose reads return at most `PIECE` bytes and pause now and then; writes pass
/// through.
struct Slow<S> {
    inner: S,
    since_pause: usize,
}

impl<S: Read> Read for Slow<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.since_pause >= PAUSE_EVERY {
            thread::sleep(PAUSE);
            self.since_pause = 0;
        }
        let limit = buf.len().min(PIECE);
        let n = self.inner.read(&mut buf[..limit])?;
        self.since_pause += n;
        Ok(n)
    }
}

impl<S: Write> Write for Slow<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What the server reports: the number of messages it read and checked, or the first thing
/// wrong; then the client's Close code, or what came instead.
type Verdict = Result<usize, String>;

/// Reads every message the senders send, checks each frame and reports; then reads the
/// client's Close, reports it and answers it.
fn check_frames<S: Read + Write>(stream: S, report: Sender<Verdict>) {
    let mut c = RawConn::new(Slow { inner: stream, since_pause: 0 });
    let checked = check_messages(&mut c);
    let ok = checked.is_ok();
    let _ = report.send(checked);
    if !ok {
        return;
    }
    let _ = report.send(match c.read_close() {
        Ok((Some(code), _, extra)) if extra.is_empty() => {
            let _ = c.write_close(code, "");
            Ok(usize::from(code))
        }
        Ok((code, _, extra)) => Err(format!("Close {code:?} after {} frames more than were sent", extra.len())),
        Err(e) => Err(format!("no Close after the last message: {e}")),
    });
}

fn check_messages<S: Read + Write>(c: &mut RawConn<S>) -> Verdict {
    c.accept(&[]).map_err(|e| format!("upgrade: {e}"))?;
    let mut next_seq = [0usize; THREADS];
    for n in 0..THREADS * PER_THREAD {
        let f = c.read_frame_at_most(MAX_SIZE).map_err(|e| format!("frame {n}: {e}"))?;
        let head = format!("frame {n} (fin {}, rsv {}, opcode {}, {} bytes)", f.fin, f.rsv, f.opcode, f.payload.len());
        if !f.fin || f.rsv != 0 || !f.masked {
            return Err(format!("{head}: not a whole, masked frame without reserved bits"));
        }
        let Some((t, seq)) = id(&f.payload).filter(|&(t, _)| t < THREADS) else {
            return Err(format!("{head}: no thread and sequence number at the front"));
        };
        if seq != next_seq[t] {
            return Err(format!("{head}: thread {t} message {seq}, expected {}", next_seq[t]));
        }
        let opcode = if is_text(t) { OP_TEXT } else { OP_BINARY };
        if f.opcode != opcode || f.payload != payload(t, seq) {
            return Err(format!("{head}: thread {t} message {seq} differs from what was sent"));
        }
        next_seq[t] += 1;
    }
    Ok(THREADS * PER_THREAD)
}

/// Sends everything from `THREADS` threads (half through the client, half through handles),
/// waits for the server's verdict, then disconnects.
fn send_from_many_threads(client: WebSocketClient, events: Events, verdict: Receiver<Verdict>) {
    let client = Arc::new(client);
    client.connect(&[]).unwrap();
    thread::scope(|s| {
        for t in 0..THREADS {
            let client = client.clone();
            s.spawn(move || {
                let handle = client.handle();
                for seq in 0..PER_THREAD {
                    let p = payload(t, seq);
                    let message =
                        if is_text(t) { Message::Text(String::from_utf8(p).unwrap()) } else { Message::Binary(p) };
                    let sent = if t % 4 < 2 { client.send(message) } else { handle.send(message) };
                    sent.unwrap();
                }
            });
        }
    });
    let checked = verdict.recv_timeout(TRANSFER_LIMIT).expect("hang guard: the server never finished");
    assert_eq!(checked, Ok(THREADS * PER_THREAD));
    client.disconnect().unwrap();
    assert_eq!(verdict.recv_timeout(WAIT).expect("the server got no Close"), Ok(1001));
    let info = client.close_info().unwrap();
    assert!(info.clean, "{info}");
    assert_eq!(info.unsent_messages, 0, "{info}");
    expect_end(&events);
}

#[test]
fn ws_concurrent_sends_fill_a_slow_socket() {
    let (tx, verdict) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| check_frames(stream, tx.clone()));
    let (callback, events) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    send_from_many_threads(client, events, verdict);
}

#[cfg(feature = "tls")]
#[test]
fn wss_concurrent_sends_fill_a_slow_socket() {
    let ca = TestCa::new("wsthread test CA");
    let config = server_config(ca.issue(&["127.0.0.1"]));
    let (tx, verdict) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |tcp, _| {
        let Ok(tls) = ServerConnection::new(config.clone()) else { return };
        check_frames(StreamOwned::new(tls, tcp), tx.clone());
    });
    let options =
        Options::new(&server.wss_url("/")).unwrap().root_certs(RootCerts::None).add_root_certificate_pem(ca.pem());
    let (callback, events) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    send_from_many_threads(client, events, verdict);
}
