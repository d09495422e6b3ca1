//! A connect stuck on a server that accepts TCP but never answers the upgrade is stopped by a
//! `disconnect()` from another thread, or by dropping the client there: it returns
//! `Error::Aborted` at once, long before `connect_timeout`, and the disconnect or drop does
//! not wait for the deadline either.

mod support;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use support::*;
use wsthread::{Error, Handshake, Options, State, WebSocketClient};

/// Far beyond every wait of the test: an abort that is not heard ends only here.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// Accepts TCP, reports that the upgrade request arrived, and never answers it.
fn silent_server() -> (Server, Receiver<()>) {
    let (tx, arrived) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if c.read_request().is_ok() {
            tx.send(()).unwrap();
        }
        c.drain_until_eof();
    });
    (server, arrived)
}

type Outcome = (Result<Handshake, Error>, Duration);

fn connect_on_another_thread(connect: impl FnOnce() -> Result<Handshake, Error> + Send + 'static) -> Receiver<Outcome> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let start = Instant::now();
        let result = connect();
        tx.send((result, start.elapsed())).unwrap();
    });
    rx
}

fn expect_aborted(outcome: &Receiver<Outcome>) {
    let (result, took) = outcome.recv_timeout(WAIT).expect("connect still stuck after the abort");
    match result {
        Err(Error::Aborted) => {}
        other => panic!("expected Error::Aborted, got {other:?}"),
    }
    assert!(took < secs(5), "connect took {took:?}: the abort was not heard at once");
}

#[test]
fn disconnect_aborts_a_stuck_connect() {
    let (server, arrived) = silent_server();
    let options = Options::new(&server.ws_url("/")).unwrap().connect_timeout(CONNECT_TIMEOUT);
    let (callback, rx) = collector();
    let client = Arc::new(WebSocketClient::new(callback, options).unwrap());
    let outcome = connect_on_another_thread({
        let client = client.clone();
        move || client.connect(&[])
    });
    arrived.recv_timeout(WAIT).expect("the upgrade request reached the server");

    let start = Instant::now();
    client.disconnect().unwrap();
    let took = start.elapsed();
    expect_aborted(&outcome);
    assert!(took < secs(5), "disconnect waited {took:?} for the connect");
    assert_eq!(client.state(), State::Closed);
    drop(client);
    expect_no_more(&rx); // a connect that never opened delivers nothing, not even None
}

#[test]
fn drop_aborts_a_stuck_connect() {
    let (server, arrived) = silent_server();
    let options = Options::new(&server.ws_url("/")).unwrap().connect_timeout(CONNECT_TIMEOUT);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let handle = client.handle();
    let outcome = connect_on_another_thread(move || handle.connect(&[]));
    arrived.recv_timeout(WAIT).expect("the upgrade request reached the server");

    let start = Instant::now();
    drop(client);
    let took = start.elapsed();
    expect_aborted(&outcome);
    assert!(took < secs(5), "drop waited {took:?} for the connect");
    expect_no_more(&rx);
}
