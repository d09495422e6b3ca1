//! Two connects and a disconnect on three threads: A dials a server that never answers the
//! upgrade, B calls `connect()` and waits for its turn behind A, then C calls
//! `disconnect()`. Both A and B return `Error::Aborted` at once — B does not go on to dial
//! after A gives up — only A's attempt reaches the server, and C's disconnect does not wait
//! for either dial. `connect_timeout` is 30 s, so a regression shows as a connect stuck
//! until `WAIT`, not as a slow pass.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::*;
use wsthread::{Error, Options, State, WebSocketClient};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn connect_aborted_while_waiting_its_turn() {
    let (tx, requested) = crossbeam_channel::unbounded();
    let (server, arrivals) = scripted_server(move |stream, n| {
        let mut c = RawConn::new(stream);
        if c.read_request().is_ok() {
            let _ = tx.send(n);
            c.drain_until_eof();
        }
    });
    let options = Options::new(&server.ws_url("/")).unwrap().connect_timeout(CONNECT_TIMEOUT);
    let (callback, rx) = collector();
    let client = Arc::new(WebSocketClient::new(callback, options).unwrap());

    let a = timed_on_thread("connect-a", {
        let client = client.clone();
        move || client.connect(&[])
    });
    assert_eq!(requested.recv_timeout(WAIT), Ok(0), "A's upgrade request reached the server");
    let b = timed_on_thread("connect-b", {
        let client = client.clone();
        move || client.connect(&[])
    });
    // B is parked on the client's lock, behind A's dial.
    wait_until_blocked("connect-b");
    assert_eq!(client.state(), State::Connecting);

    let (result, took) = within_wait("disconnect-c", {
        let client = client.clone();
        move || client.disconnect()
    });
    result.unwrap();
    eprintln!("C's disconnect took {took:?}");
    for (who, outcome) in [("A (dialing)", a), ("B (waiting its turn)", b)] {
        let (result, connect_took) = outcome.recv_timeout(WAIT).unwrap_or_else(|_| panic!("{who}: connect still running"));
        eprintln!("{who}: {result:?} after {connect_took:?}");
        assert!(matches!(result, Err(Error::Aborted)), "{who}: expected Error::Aborted, got {result:?}");
    }
    assert!(took < secs(5), "disconnect waited {took:?} for the connects");
    assert_eq!(client.state(), State::Closed);

    assert_eq!(next_arrival(&arrivals).conn, 0);
    expect_no_arrival(&arrivals, NO_ATTEMPT_WITHIN);
    drop(client); // the last clone: both threads are done
    expect_no_more(&rx); // connects that never opened deliver nothing, not even None
}
