//! A reconnect waiting out a long backoff (30 s) is stopped by `disconnect()` or by dropping
//! the client: either returns at once (well within `close_timeout`), no event follows the
//! `Reconnecting` that announced the wait, no attempt reaches the server, and the client is
//! `Closed` with `Reconnect::Stopped` in its `close_info`.

mod support;

use std::time::Duration;

use crossbeam_channel::Receiver;
use support::*;
use wsthread::{Event, Options, Reconnect, ReconnectPolicy, State, WebSocketClient};

const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connection 0 ends right after the upgrade; later ones (which must not come) are upgraded.
fn dropping_server() -> (Server, Receiver<Arrival>) {
    scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_ok() && n > 0 {
            c.drain_until_eof();
        }
    })
}

/// A client whose connection 0 has been lost and which now waits 30 s or more before
/// attempt 1 (its `Reconnecting` event already received).
fn waiting_client(server: &Server) -> (WebSocketClient, Receiver<Event>) {
    let policy = ReconnectPolicy::default().delays(secs(30), secs(60));
    let options = Options::new(&server.ws_url("/")).unwrap().close_timeout(CLOSE_TIMEOUT).reconnect(policy);
    let (client, events) = event_client(options);
    client.connect(&[]).unwrap();
    expect_lost_with_reconnect(&events);
    let r = next_reconnecting(&events);
    assert!(r.attempt == 1 && r.delay >= secs(30), "{r:?}");
    assert_eq!(client.state(), State::Connecting);
    (client, events)
}

#[test]
fn disconnect_stops_the_backoff() {
    let (server, arrivals) = dropping_server();
    let (client, events) = waiting_client(&server);

    let client = disconnect_within(client, "the backoff", CLOSE_TIMEOUT);
    let info = client.close_info().expect("close_info");
    assert!(matches!(info.reconnect, Reconnect::Stopped(_)), "{info:?}");

    assert!(events.is_empty(), "an event after the disconnect: {:?}", events.try_recv());
    drop(client);
    expect_no_more_events(&events);
    assert_eq!(arrivals.try_iter().map(|a| a.conn).collect::<Vec<_>>(), [0]);
}

#[test]
fn drop_stops_the_backoff() {
    let (server, arrivals) = dropping_server();
    let (client, events) = waiting_client(&server);

    let ((), took) = within_wait("drop", move || drop(client));
    eprintln!("drop during the backoff took {took:?}");
    assert!(took < CLOSE_TIMEOUT, "drop took {took:?}");

    expect_no_more_events(&events);
    assert_eq!(arrivals.try_iter().map(|a| a.conn).collect::<Vec<_>>(), [0]);
}
