//! A server that sends ping after ping and reads nothing cannot make the client queue one
//! pong per ping: the client keeps at most one pending pong, the latest (RFC 6455 §5.5.3),
//! and keeps reading. When the server reads again it finds far fewer pongs than it sent
//! pings, and the last of them answers the last ping.

mod support;

use std::io::Write;
use std::net::Shutdown;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use support::hostile::{mib, rss_bytes};
use support::*;
use wsthread::{Options, WebSocketClient};

const PINGS: u32 = 500_000;

/// Ping `i`'s payload: 125 bytes (the most a control frame holds), numbered at the front.
fn ping_payload(i: u32) -> Vec<u8> {
    let mut p = vec![(i % 251) as u8; 125];
    p[..4].copy_from_slice(&i.to_be_bytes());
    p
}

/// What the server found once it read what the client had sent.
#[derive(Debug)]
struct Pongs {
    count: u32,
    last: Option<Vec<u8>>,
}

#[test]
fn server_ping_flood_keeps_one_pending_pong() {
    // Built before the client starts, so that the process's memory growth below is the
    // client's.
    let mut pings = Vec::with_capacity(PINGS as usize * 127);
    for i in 0..PINGS {
        pings.extend(frame(true, false, OP_PING, &ping_payload(i)));
    }
    let pings = Arc::new(pings);
    let (flooded_tx, flooded) = crossbeam_channel::bounded::<Result<Duration, String>>(1);
    let (report_tx, report) = crossbeam_channel::bounded::<Result<Pongs, String>>(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let begin = Instant::now();
        let (done_tx, done) = crossbeam_channel::bounded(1);
        let mut out = c.stream.try_clone().unwrap();
        let all = pings.clone();
        let writer = thread::spawn(move || drop(done_tx.send(out.write_all(&all).map_err(|e| e.to_string()))));
        // The writer finishes only if the client keeps reading: a client that stopped
        // reading leaves it blocked in write_all (until the shutdown below, or the
        // socket's write timeout).
        let written = done.recv_timeout(secs(25));
        let elapsed = begin.elapsed();
        let failure = match written {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("writing the pings failed after {elapsed:?}: {e}")),
            Err(_) => Some(format!(
                "the server could not write its {PINGS} pings within {elapsed:?}: the client stopped reading"
            )),
        };
        if let Some(why) = failure {
            let _ = c.stream.shutdown(Shutdown::Both);
            let _ = writer.join();
            let _ = flooded_tx.send(Err(why));
            return;
        }
        writer.join().unwrap();
        let _ = flooded_tx.send(Ok(elapsed));

        // Now read everything the client sent: up to the pong for the last ping, then
        // close, and count the pongs until the client's Close.
        c.stream.set_read_timeout(Some(secs(20))).unwrap();
        let last_ping = ping_payload(PINGS - 1);
        let mut pongs = Pongs { count: 0, last: None };
        loop {
            match c.read_frame() {
                Ok(f) if f.opcode == OP_PONG => {
                    pongs.count += 1;
                    let is_last = f.payload == last_ping;
                    pongs.last = Some(f.payload);
                    if is_last {
                        break;
                    }
                }
                Ok(f) if f.opcode == OP_CLOSE => {
                    let _ = report_tx.send(Err(format!("the client sent Close before the last pong: {pongs:?}")));
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    let seen = pongs.last.as_ref().map(|p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]));
                    let _ = report_tx.send(Err(format!(
                        "no pong for the last ping ({e}); {} pongs read, the last for ping {seen:?}",
                        pongs.count
                    )));
                    return;
                }
            }
        }
        c.write_close(1000, "").unwrap();
        match c.read_close() {
            Ok((_, _, skipped)) => {
                for f in skipped.into_iter().filter(|f| f.opcode == OP_PONG) {
                    pongs.count += 1;
                    pongs.last = Some(f.payload);
                }
                let _ = report_tx.send(Ok(pongs));
            }
            Err(e) => drop(report_tx.send(Err(format!("no Close from the client: {e}")))),
        }
    });

    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    let rss_before = rss_bytes();
    client.connect(&[]).unwrap();
    let took = flooded.recv_timeout(secs(90)).expect("hang guard: the ping writer never finished");
    let rss_after = rss_bytes();
    let took = took.unwrap_or_else(|e| panic!("{e}"));
    // For the record only: what the client held while the server read nothing.
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        let grown = after.saturating_sub(before);
        eprintln!(
            "{PINGS} pings in {took:.2?}: process RSS {:.1} -> {:.1} MiB (+{:.1} MiB, {:.0} MiB/s)",
            mib(before),
            mib(after),
            mib(grown),
            mib(grown) / took.as_secs_f64()
        );
    }

    let pongs = report.recv_timeout(secs(90)).expect("hang guard: the server never finished reading");
    let pongs = pongs.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{} pongs for {PINGS} pings", pongs.count);
    assert!(
        pongs.count < PINGS / 2,
        "the client queued a pong per ping: {} pongs for {PINGS} pings",
        pongs.count
    );
    assert_eq!(pongs.last, Some(ping_payload(PINGS - 1)), "the last pong answers the last ping");
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert!(info.clean, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
