//! Servers that play a script by connection index (connection 0 drops, attempt 1 is refused
//! with 503, attempt 2 is upgraded…), what they report of each connection, and the client
//! side of the reconnect tests: a fast policy and an event-form client.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use wsthread::{CloseInfo, Event, Options, Reconnect, ReconnectPolicy, Reconnecting, State, WebSocketClient};

use super::{event_collector, events_until_closed, expect_no_more_events, ms, next_event, RawConn, Server, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, WAIT};

/// A TCP connection the scripted server accepted: its index and when.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    pub conn: usize,
    pub at: Instant,
}

/// A server that runs `script(stream, n)` on a thread of its own for connection `n`, and
/// reports each connection as it is accepted (before the script runs): every attempt that
/// reaches the server is counted, even one that never sends a request.
pub fn scripted_server<F>(script: F) -> (Server, Receiver<Arrival>)
where
    F: Fn(TcpStream, usize) + Send + Sync + 'static,
{
    let (tx, arrivals) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, conn| {
        let _ = tx.send(Arrival { conn, at: Instant::now() });
        script(stream, conn);
    });
    (server, arrivals)
}

/// The next connection to reach the server, within `WAIT`.
pub fn next_arrival(arrivals: &Receiver<Arrival>) -> Arrival {
    arrivals.recv_timeout(WAIT).unwrap_or_else(|e| panic!("expected a connection to reach the server: {e:?}"))
}

/// No connection may reach the server within `within`. The reconnect tests use delays of
/// 10–50 ms, so an attempt the policy should not have made shows up well inside this.
pub fn expect_no_arrival(arrivals: &Receiver<Arrival>, within: Duration) {
    match arrivals.recv_timeout(within) {
        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
        Ok(a) => panic!("no further connection was expected, connection {} arrived", a.conn),
    }
}

/// How long to watch for an attempt that must not come: many times the longest delay of
/// [`fast_policy`].
pub const NO_ATTEMPT_WITHIN: Duration = Duration::from_millis(500);

/// Reconnects after 10 to 50 ms: the tests wait for events, never for the policy.
pub fn fast_policy() -> ReconnectPolicy {
    ReconnectPolicy::default().delays(ms(10), ms(50))
}

/// An event-form client of `options` (not connected yet) and its events.
pub fn event_client(options: Options) -> (WebSocketClient, Receiver<Event>) {
    let (callback, events) = event_collector();
    (WebSocketClient::with_events(callback, options).unwrap(), events)
}

/// Reads the upgrade request and refuses it: `status` is the whole status line after
/// `HTTP/1.1 ` (`503 Service Unavailable`), `headers` full `Name: value` lines. Returns the
/// request head.
pub fn refuse(c: &mut RawConn, status: &str, headers: &[&str]) -> io::Result<String> {
    let request = c.read_request()?;
    let mut response = format!("HTTP/1.1 {status}\r\n");
    for h in headers {
        response.push_str(h);
        response.push_str("\r\n");
    }
    response.push_str("Content-Length: 0\r\nConnection: close\r\n\r\n");
    c.write_all(response.as_bytes())?;
    Ok(request)
}

/// Echoes the client's text and binary frames, answers pings, and answers its Close with
/// the same code, then returns (`Ok` with that code), or returns the error that ended the
/// connection first.
pub fn echo_until_close<S: Read + Write>(c: &mut RawConn<S>) -> io::Result<Option<u16>> {
    loop {
        let f = c.read_frame_at_most(1 << 20)?;
        match f.opcode {
            OP_TEXT | OP_BINARY => c.write_frame(f.fin, false, f.opcode, &f.payload)?,
            OP_PING => c.write_frame(true, false, OP_PONG, &f.payload)?,
            OP_CLOSE => {
                let code = super::parse_close(&f.payload).0;
                c.write_close(code.unwrap_or(1000), "")?;
                return Ok(code);
            }
            _ => {}
        }
    }
}

/// Runs `f` on a thread named `name` and hands back its result with how long it took.
pub fn timed_on_thread<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> Receiver<(T, Duration)> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let start = Instant::now();
            let result = f();
            let _ = tx.send((result, start.elapsed()));
        })
        .expect("spawn test thread");
    rx
}

/// Runs `f` on a thread named `name` and waits for it: its result and how long it took.
/// Fails after `WAIT`, so that a call that hangs (a disconnect waiting out a 30 s dial)
/// fails the test early instead of passing slowly.
pub fn within_wait<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> (T, Duration) {
    timed_on_thread(name, f).recv_timeout(WAIT).unwrap_or_else(|_| panic!("{name}: still running after {WAIT:?}"))
}

/// Waits until the thread named `name` (at most 15 bytes: the kernel keeps no more) is
/// blocked (Linux: state `S` in /proc/self/task/*/stat), for a test that must know another
/// thread reached a lock before it goes on. Other systems do not show thread states; there
/// a grace period stands in, and a thread that has not reached the lock by then makes the
/// test fail, never pass wrongly.
pub fn wait_until_blocked(name: &str) {
    if !cfg!(target_os = "linux") {
        thread::sleep(ms(300));
        return;
    }
    let until = Instant::now() + WAIT;
    while Instant::now() < until {
        if thread_state(name) == Some('S') {
            return;
        }
        thread::sleep(ms(1));
    }
    panic!("thread {name} never blocked");
}

/// The state letter (`R`, `S`, `D`…) of the thread named `name`, if there is one.
fn thread_state(name: &str) -> Option<char> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read(task.path().join("comm")).unwrap_or_default();
        if comm.strip_suffix(b"\n").unwrap_or(&comm) != name.as_bytes() {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
        // The state is the first field after the ")" that ends the name.
        return stat[stat.rfind(')')? + 1..].split_whitespace().next()?.chars().next();
    }
    None
}

/// The first connection's events, up to its end: opened, then lost (1006) with a reconnect
/// to follow. Returns its `CloseInfo`.
pub fn expect_lost_with_reconnect(events: &Receiver<Event>) -> CloseInfo {
    let (names, info) = events_until_closed(events);
    assert_eq!(names, ["opened:101", "closed:1006"]);
    assert!(matches!(info.reconnect, Reconnect::Next(_)), "{info:?}");
    info
}

/// The next event, which must announce a reconnect attempt.
pub fn next_reconnecting(events: &Receiver<Event>) -> Reconnecting {
    match next_event(events) {
        Event::Reconnecting(r) => r,
        other => panic!("expected Reconnecting, got {other:?}"),
    }
}

/// `disconnect()` on its own thread, which must return within `bound` and leave the client
/// closed with no reconnect on its way; `what` names the moment, for the messages.
pub fn disconnect_within(client: WebSocketClient, what: &str, bound: Duration) -> WebSocketClient {
    let (client, took) = within_wait("disconnect", move || {
        client.disconnect().unwrap();
        client
    });
    eprintln!("disconnect during {what} took {took:?}");
    assert!(took < bound, "disconnect during {what} took {took:?}");
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.reconnecting(), None);
    client
}

/// `disconnect()` of an open connection under a reconnect policy: one `Closed` (1001), after
/// which the policy stops; then, the client dropped, nothing more.
pub fn disconnect_and_expect_stopped(client: WebSocketClient, events: &Receiver<Event>) {
    client.disconnect().unwrap();
    let (names, info) = events_until_closed(events);
    assert_eq!(names, ["closed:1001"]);
    assert!(matches!(info.reconnect, Reconnect::Stopped(_)), "{info:?}");
    drop(client);
    expect_no_more_events(events);
}
