//! The test support's `FaultProxy`, checked with plain TCP on both sides (no WebSocket): it
//! forwards both ways and passes a FIN on; Kill ends both sides with a FIN and Reset the
//! client's with a RST; `set_after` stops exactly at its byte count; Stall forwards nothing
//! until lifted; StopReadingClient makes the client's writes back up after little data;
//! OneByteAtATime delivers every byte intact; Latency delays each direction; and dropping
//! the proxy ends its connections and returns. The fault tests rely on all of this.

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use socket2::SockRef;
use support::*;

/// A TCP echo server: copies everything back until the client's FIN, then closes.
fn tcp_echo() -> Server {
    Server::threaded(|mut stream, _| {
        let mut buf = [0u8; 8192];
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            if stream.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    })
}

/// A server that writes `bytes` once, then reports what it reads until EOF (or an error).
fn tcp_source(bytes: Vec<u8>) -> (Server, Receiver<Result<usize, ErrorKind>>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |mut stream, _| {
        if stream.write_all(&bytes).is_err() {
            return;
        }
        let mut total = 0;
        let mut buf = [0u8; 8192];
        let end = loop {
            match stream.read(&mut buf) {
                Ok(0) => break Ok(total),
                Ok(n) => total += n,
                Err(e) => break Err(e.kind()),
            }
        };
        let _ = tx.send(end);
    });
    (server, rx)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn client(proxy: &FaultProxy) -> TcpStream {
    let stream = TcpStream::connect(proxy.addr()).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
}

/// Reads until EOF or an error: the bytes read and how it ended.
fn read_to_end_or_error(stream: &mut TcpStream) -> (Vec<u8>, Result<(), ErrorKind>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Err(e.kind())),
        }
    }
}

#[test]
fn pass_forwards_both_ways_and_passes_the_fin_on() {
    let upstream = tcp_echo();
    let proxy = FaultProxy::new(upstream.addr());
    let mut c = client(&proxy);
    let data = pattern(300_000);
    let writer = {
        let mut w = c.try_clone().unwrap();
        let data = data.clone();
        std::thread::spawn(move || {
            w.write_all(&data).unwrap();
            w.shutdown(Shutdown::Write).unwrap();
        })
    };
    let (got, end) = read_to_end_or_error(&mut c);
    writer.join().unwrap();
    assert_eq!(end, Ok(()), "the echo server's FIN reached the client");
    assert!(got == data, "{} bytes back for {}", got.len(), data.len());
    assert_eq!(proxy.accepted(), 1);
    assert_eq!(proxy.forwarded_to_server(), data.len() as u64);
    assert_eq!(proxy.forwarded_to_client(), data.len() as u64);
    assert!(proxy.wait_live_at_most(0, WAIT), "the proxy closed the connection after both FINs");
}

#[test]
fn kill_ends_both_sides_with_a_fin() {
    let (upstream, server_end) = tcp_source(b"hello".to_vec());
    let proxy = FaultProxy::new(upstream.addr());
    let mut c = client(&proxy);
    let mut hello = [0u8; 5];
    c.read_exact(&mut hello).unwrap();
    proxy.set(Fault::Kill);
    let (rest, end) = read_to_end_or_error(&mut c);
    assert_eq!((rest.len(), end), (0, Ok(())), "the client sees a FIN");
    assert_eq!(server_end.recv_timeout(WAIT).unwrap(), Ok(0), "the server sees a FIN");

    // New connections are killed as they come.
    let mut c = client(&proxy);
    assert_eq!(read_to_end_or_error(&mut c), (Vec::new(), Ok(())));
    assert!(proxy.wait_accepted(2, WAIT));
}

#[test]
fn reset_ends_the_client_side_with_a_rst() {
    let (upstream, server_end) = tcp_source(b"hello".to_vec());
    let proxy = FaultProxy::new(upstream.addr());
    let mut c = client(&proxy);
    let mut hello = [0u8; 5];
    c.read_exact(&mut hello).unwrap();
    proxy.set(Fault::Reset);
    let (rest, end) = read_to_end_or_error(&mut c);
    assert_eq!((rest.len(), end), (0, Err(ErrorKind::ConnectionReset)), "the client sees a RST, no FIN before it");
    assert_eq!(server_end.recv_timeout(WAIT).unwrap(), Ok(0), "the server sees a FIN");
}

#[test]
fn set_after_stops_at_exactly_that_many_bytes() {
    let data = pattern(2_000_000);
    let (upstream, _server_end) = tcp_source(data.clone());
    let proxy = FaultProxy::new(upstream.addr());
    proxy.set_after(777_777, Fault::Reset);
    let mut c = client(&proxy);
    let (got, end) = read_to_end_or_error(&mut c);
    assert_eq!(end, Err(ErrorKind::ConnectionReset));
    assert_eq!(got.len(), 777_777);
    assert!(got[..] == data[..777_777], "the bytes before the reset are intact");
    assert_eq!(proxy.forwarded_to_client(), 777_777);
    assert!(proxy.wait_forwarded_to_client(777_777, ms(0)));
    assert!(!proxy.wait_forwarded_to_client(777_778, ms(50)));
    assert_eq!(proxy.fault(), Fault::Reset);
}

#[test]
fn stall_forwards_nothing_until_lifted() {
    let upstream = tcp_echo();
    let proxy = FaultProxy::new(upstream.addr());
    let mut c = client(&proxy);
    c.write_all(b"before").unwrap();
    let mut buf = [0u8; 6];
    c.read_exact(&mut buf).unwrap();
    proxy.set(Fault::Stall);
    c.write_all(b"during").unwrap();
    c.set_read_timeout(Some(ms(200))).unwrap();
    let err = c.read(&mut buf).expect_err("nothing comes back while stalled");
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err:?}");
    assert_eq!(proxy.forwarded_to_server(), 6, "\"during\" did not reach the server");
    c.set_read_timeout(Some(WAIT)).unwrap();
    proxy.set(Fault::Pass);
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"during");
}

#[test]
fn stop_reading_client_backs_up_the_clients_writes() {
    let upstream = tcp_echo();
    let proxy = FaultProxy::new(upstream.addr());
    let c = client(&proxy);
    // A small send buffer on the client too, so that its writes block early.
    SockRef::from(&c).set_send_buffer_size(4096).unwrap();
    let sndbuf = SockRef::from(&c).send_buffer_size().unwrap();
    proxy.set(Fault::StopReadingClient);
    c.set_write_timeout(Some(ms(200))).unwrap();
    let block = [7u8; 1024];
    let mut written = 0usize;
    let mut w = &c;
    let err = loop {
        match w.write(&block) {
            Ok(n) => written += n,
            Err(e) => break e,
        }
        assert!(written < 64 << 20, "64 MiB written and the client's writes never backed up");
    };
    assert!(matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{err:?}");
    let passed = proxy.forwarded_to_server();
    println!(
        "StopReadingClient: the client wrote {written} bytes before a write blocked ({passed} reached the server, \
         client SO_SNDBUF {sndbuf}, proxy SO_RCVBUF asked {CLIENT_RECV_BUFFER})"
    );
    assert!(written < 256 * 1024, "backpressure after {written} bytes");

    // Lifted, everything written arrives (and comes back from the echo server).
    proxy.set(Fault::Pass);
    assert!(proxy.wait_forwarded_to_server(written as u64, WAIT), "{} of {written}", proxy.forwarded_to_server());
}

#[test]
fn one_byte_at_a_time_delivers_every_byte_in_order() {
    let data = pattern(3000);
    let (upstream, _server_end) = tcp_source(data.clone());
    let proxy = FaultProxy::new(upstream.addr());
    proxy.set(Fault::OneByteAtATime(Duration::from_micros(50)));
    let mut c = client(&proxy);
    let mut got = Vec::new();
    let mut reads = 0;
    let mut buf = [0u8; 4096];
    while got.len() < data.len() {
        let n = c.read(&mut buf).unwrap();
        assert!(n > 0, "EOF after {} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
        reads += 1;
    }
    assert!(got == data);
    println!("OneByteAtATime: {} bytes came in {reads} reads", data.len());
}

#[test]
fn latency_delays_each_direction() {
    let upstream = tcp_echo();
    let proxy = FaultProxy::new(upstream.addr());
    let delay = ms(40);
    proxy.set(Fault::Latency(delay));
    let mut c = client(&proxy);
    for round in 0..5u8 {
        let start = Instant::now();
        c.write_all(&[round; 100]).unwrap();
        let mut back = [0u8; 100];
        c.read_exact(&mut back).unwrap();
        let rtt = start.elapsed();
        assert_eq!(back, [round; 100]);
        // Each way waits at least the delay: the round trip cannot be shorter.
        assert!(rtt >= delay * 2, "round trip {rtt:?} under twice the latency {delay:?}");
    }
}

#[test]
fn unreachable_upstream_resets_the_client() {
    // A port that was just free: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let proxy = FaultProxy::new(addr);
    let mut c = client(&proxy);
    let (got, end) = read_to_end_or_error(&mut c);
    assert_eq!((got.len(), end), (0, Err(ErrorKind::ConnectionReset)));
}

#[test]
fn drop_ends_connections_and_returns() {
    let upstream = tcp_echo();
    let proxy = FaultProxy::new(upstream.addr());
    let mut c = client(&proxy);
    let mut stalled = client(&proxy);
    c.write_all(b"x").unwrap();
    let mut x = [0u8; 1];
    c.read_exact(&mut x).unwrap();
    proxy.set(Fault::Stall);
    stalled.write_all(b"held").unwrap();
    assert!(proxy.wait_accepted(2, WAIT));
    let (tx, done) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        drop(proxy);
        let _ = tx.send(());
    });
    done.recv_timeout(WAIT).expect("dropping the proxy returned");
    assert_eq!(read_to_end_or_error(&mut c), (Vec::new(), Ok(())));
    // The proxy never read "held": closing a socket with unread input resets it.
    let (got, end) = read_to_end_or_error(&mut stalled);
    assert!(got.is_empty() && matches!(end, Ok(()) | Err(ErrorKind::ConnectionReset)), "{got:?} {end:?}");
}
