//! A proxy that misbehaves fails the connect with a clear error, never a hang or an unbounded
//! read: silence ends at `connect_timeout` naming the proxy phase (HTTP and SOCKS5); an endless
//! answer head is cut at the upgrade's head limit; bytes after a 200 or a SOCKS5 answer, a
//! proxy that hangs up, and one that is not a SOCKS5 proxy are `Error::Proxy`; a proxy that
//! refuses TCP is an I/O error that names the proxy.

mod support;

use std::io::{Read, Write};
use std::time::Instant;

use support::*;
use wsthread::{Error, Options, Proxy, State, WebSocketClient};

fn connect_through(proxy_url: String, timeout_ms: u64) -> Error {
    let options = Options::new("ws://echo.test:9/")
        .unwrap()
        .connect_timeout(ms(timeout_ms))
        .proxy(Proxy::new(&proxy_url).unwrap());
    let (callback, events) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let start = Instant::now();
    let error = client.connect(&[]).expect_err("the proxy misbehaves");
    assert!(start.elapsed() < secs(5), "hang guard: {:?}", start.elapsed());
    assert_eq!(client.state(), State::Closed);
    drop(client);
    expect_no_more(&events);
    error
}

/// A proxy that reads what it is sent and answers with `answer(request_bytes)` once it has
/// `want` bytes, then keeps the connection open until the client leaves.
fn scripted(want: usize, answer: impl Fn() -> Vec<u8> + Send + Sync + 'static) -> Server {
    Server::threaded(move |mut stream, _| {
        let mut got = vec![0u8; want];
        if stream.read_exact(&mut got).is_ok() && stream.write_all(&answer()).is_ok() {
            RawConn::new(stream).drain_until_eof();
        }
    })
}

#[test]
fn silent_proxies_time_out_in_the_proxy_phase() {
    for scheme in ["http", "socks5h"] {
        let proxy = Server::threaded(|stream, _| RawConn::new(stream).drain_until_eof());
        let start = Instant::now();
        match connect_through(format!("{scheme}://{}", proxy.addr()), 300) {
            Error::Timeout(phase) => assert_eq!(phase, "the proxy handshake"),
            other => panic!("{scheme}: {other:?}"),
        }
        assert!(start.elapsed() >= ms(300), "{scheme}: gave up early");
    }
}

#[test]
fn an_endless_head_is_cut_at_the_limit() {
    // 200 and then one header line that never ends, at full speed.
    let proxy = Server::threaded(|mut stream, _| {
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Filler: ");
        let filler = [b'a'; 4096];
        while stream.write_all(&filler).is_ok() {}
    });
    match connect_through(format!("http://{}", proxy.addr()), 5000) {
        Error::Proxy(why) => assert!(why.contains("longer than"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bytes_after_the_answer_are_refused() {
    let http = scripted(1, || b"HTTP/1.1 200 OK\r\n\r\nsurprise".to_vec());
    match connect_through(format!("http://{}", http.addr()), 5000) {
        Error::Proxy(why) => assert!(why.contains("after its 2xx"), "{why}"),
        other => panic!("{other:?}"),
    }
    let socks = scripted(3, || vec![5, 0, 9]);
    match connect_through(format!("socks5h://{}", socks.addr()), 5000) {
        Error::Proxy(why) => assert!(why.contains("more than its answer"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn hanging_up_or_speaking_another_protocol_is_a_proxy_error() {
    let hangs_up = Server::threaded(|mut stream, _| {
        let _ = stream.read(&mut [0u8; 64]);
    });
    for scheme in ["http", "socks5h"] {
        match connect_through(format!("{scheme}://{}", hangs_up.addr()), 5000) {
            Error::Proxy(why) => assert!(why.contains("closed"), "{scheme}: {why}"),
            // The proxy's close may arrive as a reset instead of an end of stream.
            Error::Io(e) => eprintln!("{scheme}: {e}"),
            other => panic!("{scheme}: {other:?}"),
        }
    }
    let http_not_socks = scripted(3, || b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec());
    match connect_through(format!("socks5h://{}", http_not_socks.addr()), 5000) {
        Error::Proxy(why) => assert!(why.contains("not a SOCKS5 proxy"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_proxy_nobody_listens_on_is_named_in_the_io_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    match connect_through(format!("http://{closed}"), 5000) {
        Error::Io(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
            assert!(e.to_string().starts_with(&format!("proxy http://{closed}: ")), "{e}");
        }
        other => panic!("{other:?}"),
    }
}
