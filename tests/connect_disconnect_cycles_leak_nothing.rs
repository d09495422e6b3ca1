//! 10 000 connect/disconnect cycles against one local echo server leave no thread and no
//! file descriptor behind: every 1 000 cycles, and at the end, the process's thread count
//! and open descriptors (Linux: /proc/self/task and /proc/self/fd) are back to within a
//! small margin of what they were after a warm-up. Even cycles reuse one client
//! (`connect`, echo, `disconnect`); odd cycles make a new client, connect, echo and drop
//! it. Each connection ends with exactly one `None` and a clean close. On other systems
//! the cycles still run; only the counts are skipped (nothing to read them from).
//! Alone in this file, so that no other test's threads and sockets come and go while it counts.

mod support;

use std::time::Instant;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

const CYCLES: usize = 10_000;
/// Allowed above the baseline: the server's side of the last connection may still be
/// closing its descriptor (and its handler returning) when the client has already seen the end.
const MARGIN: usize = 2;

/// Open file descriptors of this process, where the OS tells it (Linux: /proc/self/fd).
fn open_fds() -> Option<usize> {
    if cfg!(target_os = "linux") {
        // The directory handle itself is one of them while it is being read.
        std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count().saturating_sub(1))
    } else {
        None
    }
}

/// One cycle: connect, one echo, and the end (disconnect or drop) with its one `None`.
fn cycle(n: usize, url: &str, reused: &(WebSocketClient, Events)) {
    let text = format!("cycle {n}");
    if n.is_multiple_of(2) {
        let (client, rx) = reused;
        client.connect(&[]).unwrap();
        client.send(text.as_str()).unwrap();
        assert_eq!(next_message(rx), Message::Text(text));
        client.disconnect().unwrap();
        assert_eq!(rx.try_recv(), Ok(None), "cycle {n}: the None when disconnect returns");
        assert!(client.close_info().unwrap().clean, "cycle {n}: {:?}", client.close_info());
    } else {
        let (callback, rx) = collector();
        let client = WebSocketClient::new(callback, options(url)).unwrap();
        client.connect(&[]).unwrap();
        client.send(text.as_str()).unwrap();
        assert_eq!(next_message(&rx), Message::Text(text));
        drop(client);
        assert_eq!(rx.try_recv(), Ok(None), "cycle {n}: the None when drop returns");
        assert!(rx.try_recv().is_err(), "cycle {n}: one None only");
    }
}

fn options(url: &str) -> Options {
    Options::new(url).unwrap().close_timeout(secs(2)).connect_timeout(secs(5))
}

/// Threads and descriptors now, for comparing with the baseline.
fn counts() -> (Option<usize>, Option<usize>) {
    (thread_count(), open_fds())
}

fn assert_near(what: &str, now: Option<usize>, baseline: Option<usize>, at: usize) {
    if let (Some(now), Some(baseline)) = (now, baseline) {
        assert!(now <= baseline + MARGIN, "after {at} cycles: {now} {what}, {baseline} after the warm-up");
    }
}

#[test]
fn connect_disconnect_cycles_leak_nothing() {
    // One server thread for all cycles: connections are served one after the other, and
    // the server's threads do not come and go.
    let (tx, _seen) = crossbeam_channel::unbounded();
    let server = Server::sequential(move |stream, conn| {
        if let Ok(ws) = tungstenite::accept(stream) {
            echo_loop(ws, conn, &tx);
        }
    });
    let url = server.ws_url("/");
    let (callback, rx) = collector();
    let reused = (WebSocketClient::new(callback, options(&url)).unwrap(), rx);

    cycle(0, &url, &reused);
    cycle(1, &url, &reused);
    let (threads, fds) = counts();
    eprintln!("after the warm-up: {threads:?} threads, {fds:?} open descriptors");

    let start = Instant::now();
    for n in 2..CYCLES + 2 {
        cycle(n, &url, &reused);
        if n % 1000 == 1 {
            let (t, f) = counts();
            eprintln!("after {} cycles ({:?}): {t:?} threads, {f:?} open descriptors", n - 1, start.elapsed());
            assert_near("threads", t, threads, n - 1);
            assert_near("open descriptors", f, fds, n - 1);
        }
    }
    let took = start.elapsed();
    eprintln!("{CYCLES} cycles in {took:?}, {:?} per cycle", took / CYCLES as u32);
    let (t, f) = counts();
    assert_near("threads", t, threads, CYCLES);
    assert_near("open descriptors", f, fds, CYCLES);

    drop(reused);
    drop(server);
}
