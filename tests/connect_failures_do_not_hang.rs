//! A connect to a port where nobody listens fails at once with an I/O error; a server that
//! accepts TCP but never answers the upgrade (or the TLS hello) fails with `Error::Timeout` at
//! `connect_timeout`.

mod support;

use std::net::TcpListener;
use std::time::Instant;

use support::*;
use wsthread::{Error, Options, State, WebSocketClient};

#[test]
fn nobody_listening_fails_quickly() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    }; // dropped: nothing listens there now
    let (callback, rx) = collector();
    let options = Options::new(&ws_url(addr, "/")).unwrap().connect_timeout(secs(30));
    let client = WebSocketClient::new(callback, options).unwrap();
    let start = Instant::now();
    let result = client.connect(&[]);
    let elapsed = start.elapsed();
    match result {
        Err(Error::Io(e)) => eprintln!("failed as expected: {e}"),
        other => panic!("expected Error::Io, got {other:?}"),
    }
    assert!(elapsed < secs(10), "hang guard: took {elapsed:?}");
    assert_eq!(client.state(), State::Closed);
    drop(client);
    expect_no_more(&rx);
}

fn silent_server_times_out(scheme: &str) {
    // Accepts TCP, reads whatever comes, never answers.
    let server = Server::threaded(|stream, _| RawConn::new(stream).drain_until_eof());
    let (callback, rx) = collector();
    let timeout = ms(300);
    let url = format!("{scheme}://{}/", server.addr());
    let options = Options::new(&url).unwrap().connect_timeout(timeout).danger_accept_invalid_certs(true);
    let client = WebSocketClient::new(callback, options).unwrap();
    let start = Instant::now();
    let result = client.connect(&[]);
    let elapsed = start.elapsed();
    match result {
        Err(Error::Timeout(phase)) => eprintln!("timed out as expected during {phase}"),
        other => panic!("expected Error::Timeout, got {other:?}"),
    }
    assert!(elapsed >= timeout, "gave up before the deadline: {elapsed:?}");
    assert!(elapsed < secs(5), "hang guard: took {elapsed:?}");
    assert_eq!(client.state(), State::Closed);
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn silent_server_times_out_during_upgrade() {
    silent_server_times_out("ws");
}

#[cfg(feature = "tls")]
#[test]
fn silent_server_times_out_during_tls_handshake() {
    silent_server_times_out("wss");
}
