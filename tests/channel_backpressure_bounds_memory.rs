//! The channel form under a server that sends 100 MiB while nobody reads the channel: the
//! channel fills, the connection thread stops reading, the server meets TCP backpressure, and
//! the client's memory stays bounded (a few MiB, whatever the server sends). Once the receiver
//! drains, every message arrives, in order, none lost, and `Closed` comes last.
//!
//! Memory is measured exactly and cross-platform: this test binary's global allocator counts
//! live heap bytes and their peak. The server reuses one buffer for all its frames, so what
//! grows is the client's.
//!
//! The window with the channel full ends when the server has stalled: its socket took nothing
//! for a while (the client's receive buffer and its own send buffer are full). That pause only
//! decides when the test looks and starts draining, it is no pass/fail threshold: a client
//! without backpressure never lets the server stall, and the test fails when the server gets
//! all 100 MiB out while nothing was read.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use support::hostile::mib;
use support::*;
use wsthread::{CloseCode, ClosedBy, Event, Message, Options, WebSocketClient};

// ---------------------------------------------------------------------------------------------
// A counting allocator: live bytes and their peak
// ---------------------------------------------------------------------------------------------

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(by: usize) {
    LIVE.fetch_sub(by, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; the counters only watch.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrank(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            if new_size > layout.size() {
                grew(new_size - layout.size());
            } else {
                shrank(layout.size() - new_size);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The peak of live bytes since the last reset; the reset starts a new window at `live()`.
fn peak_and_reset() -> usize {
    PEAK.swap(live(), Ordering::Relaxed)
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// 64 KiB binary messages, 1600 of them: 100 MiB.
const MESSAGE: usize = 64 << 10;
const MESSAGES: u64 = 1600;
/// Events the channel holds.
const CAPACITY: usize = 4;
/// What the client may hold beyond what it held before connecting: "a few MiB". The channel's
/// own share is `CAPACITY` messages (256 KiB); the rest is the reader's buffers and the
/// message being assembled.
const BOUND: usize = 4 << 20;
/// The server's socket taking nothing for this long counts as a stall.
const STALL: Duration = Duration::from_millis(200);

/// What the server tells the test.
#[derive(Debug)]
enum Report {
    /// Its socket took nothing for `STALL`, with this many bytes out.
    Stalled(u64),
    /// All messages are out, this many bytes.
    AllSent(u64),
}

/// Writes `bytes`, and reports each stall once: the write blocks, with a timeout of `STALL`,
/// so a stall is seen without polling, and the write carries on once the client reads again.
fn write_all_reporting(stream: &mut TcpStream, mut bytes: &[u8], written: &mut u64, reports: &Sender<Report>) -> io::Result<()> {
    stream.set_write_timeout(Some(STALL))?;
    let mut reported = false;
    let give_up = Instant::now() + secs(120);
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                bytes = &bytes[n..];
                *written += n as u64;
                reported = false;
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                if !reported {
                    reported = true;
                    let _ = reports.send(Report::Stalled(*written));
                }
                if Instant::now() > give_up {
                    return Err(io::ErrorKind::TimedOut.into());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Accepts, sends `MESSAGES` binary messages of `MESSAGE` bytes (each starting with its index,
/// big-endian, then a pattern), one reused buffer for all; then closes with 1000 and reads
/// the client's Close.
fn streaming_server(reports: Sender<Report>) -> Server {
    Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let mut frame = support::frame(true, false, OP_BINARY, &pattern());
        let at = frame.len() - MESSAGE;
        let mut written = 0;
        for i in 0..MESSAGES {
            frame[at..at + 8].copy_from_slice(&i.to_be_bytes());
            if let Err(e) = write_all_reporting(&mut c.stream, &frame, &mut written, &reports) {
                panic!("the server could not write message {i}: {e}");
            }
        }
        let _ = reports.send(Report::AllSent(written));
        c.stream.set_write_timeout(None).unwrap();
        c.write_close(1000, "all sent").unwrap();
        let (code, _, _) = c.read_close().unwrap();
        assert_eq!(code, Some(1000));
    })
}

/// A message's bytes after its index.
fn pattern() -> Vec<u8> {
    (0..MESSAGE).map(|i| (i % 251) as u8).collect()
}

fn next_event(events: &Receiver<Event>) -> Event {
    events.recv_timeout(WAIT).unwrap_or_else(|e| panic!("expected an event: {e:?}"))
}

#[test]
fn channel_backpressure_bounds_memory() {
    let (report_tx, reports) = crossbeam_channel::unbounded();
    let server = streaming_server(report_tx);
    let want = pattern();

    // Counts the events queued, to know when the channel is full without reading it.
    let queued = Arc::new(AtomicUsize::new(0));
    let (full_tx, full) = crossbeam_channel::bounded(1);
    let notify = {
        let queued = queued.clone();
        move || {
            if queued.fetch_add(1, Ordering::Relaxed) + 1 == CAPACITY {
                let _ = full_tx.try_send(());
            }
        }
    };
    let options = Options::new(&server.ws_url("/")).unwrap().channel_capacity(CAPACITY);
    let (client, events) = WebSocketClient::channel_with_notify(options, notify).unwrap();

    let before = live();
    peak_and_reset();
    client.connect(&[]).unwrap();

    // Nobody reads: the channel fills (Opened and three messages) …
    full.recv_timeout(WAIT).expect("the channel never filled");
    // … and then the server stalls. Reports from before are of a slow start, not of this.
    for report in reports.try_iter() {
        if let Report::AllSent(n) = report {
            panic!("the server sent all {:.0} MiB while nobody read the channel: no backpressure", mib(n));
        }
    }
    let stalled_at = match reports.recv_timeout(WAIT) {
        Ok(Report::Stalled(n)) => n,
        Ok(Report::AllSent(n)) => {
            panic!("the server sent all {:.0} MiB while nobody read the channel: no backpressure", mib(n))
        }
        Err(e) => panic!("the server neither stalled nor finished: {e:?}"),
    };
    let held = peak_and_reset().saturating_sub(before);
    eprintln!(
        "channel full ({} events queued), server stalled after {:.1} MiB; client peak {:.2} MiB above the start",
        queued.load(Ordering::Relaxed),
        mib(stalled_at),
        mib(held as u64)
    );
    assert_eq!(queued.load(Ordering::Relaxed), CAPACITY, "events queued while the channel was full");
    assert!(events.is_full(), "the channel holds {} of {CAPACITY}", events.len());
    assert!(stalled_at < MESSAGES * MESSAGE as u64 / 2, "the server got {:.0} MiB out", mib(stalled_at));
    assert!(held < BOUND, "the client held {:.2} MiB while the channel was full", mib(held as u64));

    // Drain: everything arrives, in order, and the memory stays bounded meanwhile.
    match next_event(&events) {
        Event::Opened(hs) => assert_eq!(hs.status, 101),
        other => panic!("expected Opened first, got {other:?}"),
    }
    for i in 0..MESSAGES {
        match next_event(&events) {
            Event::Message(Message::Binary(b)) => {
                assert_eq!(b.len(), MESSAGE, "message {i}");
                assert_eq!(u64::from_be_bytes(b[..8].try_into().unwrap()), i, "message {i} out of order");
                assert!(b[8..] == want[8..], "message {i}: payload differs");
            }
            other => panic!("expected message {i}, got {other:?}"),
        }
    }
    match next_event(&events) {
        Event::Closed(info) => {
            assert_eq!(info.code, CloseCode::NORMAL, "{info:?}");
            assert_eq!(info.closed_by, ClosedBy::Remote, "{info:?}");
            assert!(info.clean, "{info:?}");
            assert_eq!(info.undelivered_events, 0, "{info:?}");
        }
        other => panic!("expected Closed after the last message, got {other:?}"),
    }
    let draining = peak_and_reset().saturating_sub(before);
    eprintln!("while draining: client peak {:.2} MiB above the start", mib(draining as u64));
    assert!(draining < BOUND, "the client held {:.2} MiB while the channel drained", mib(draining as u64));
    match reports.recv_timeout(WAIT) {
        Ok(Report::AllSent(n)) => assert_eq!(n, MESSAGES * (MESSAGE as u64 + 10)),
        other => panic!("the server did not report all sent: {other:?}"),
    }

    drop(client);
    assert!(
        matches!(events.recv_timeout(WAIT), Err(crossbeam_channel::RecvTimeoutError::Disconnected)),
        "nothing may follow Closed"
    );
    drop(server);
}
