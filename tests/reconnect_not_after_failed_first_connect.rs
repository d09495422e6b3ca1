//! A reconnect policy never retries a first `connect()` that fails: refused with 503 (a
//! status the policy would retry after a lost connection), `connect` returns
//! `Error::Rejected` with the status, no second attempt reaches the server, no event is
//! delivered, and the client is `Closed` with nothing on its way.

mod support;

use support::*;
use wsthread::{Error, Options, State};

#[test]
fn reconnect_not_after_failed_first_connect() {
    let (server, arrivals) = scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        if n == 0 {
            drop(refuse(&mut c, "503 Service Unavailable", &[]));
        } else if c.accept(&[]).is_ok() {
            c.drain_until_eof(); // an attempt that must not come; upgraded, so that it would show
        }
    });
    let (client, events) = event_client(Options::new(&server.ws_url("/")).unwrap().reconnect(fast_policy()));
    match client.connect(&[]) {
        Err(Error::Rejected(r)) => assert_eq!(r.status, 503),
        other => panic!("expected Error::Rejected(503), got {other:?}"),
    }
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.reconnecting(), None);

    assert_eq!(next_arrival(&arrivals).conn, 0);
    expect_no_arrival(&arrivals, NO_ATTEMPT_WITHIN);
    assert!(events.is_empty(), "a failed connect delivers nothing: {:?}", events.try_recv());
    drop(client);
    expect_no_more_events(&events);
}
