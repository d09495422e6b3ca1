//! Whether a server's Close is retried depends on its code: after 1000 (normal closure) the
//! policy stops — `Closed` with `Reconnect::Stopped` naming the code, no new attempt; after
//! 1012 (service restart) it reconnects — `Closed` with `Reconnect::Next`, `Reconnecting`,
//! and a new connection opens.

mod support;

use crossbeam_channel::Receiver;
use support::*;
use wsthread::{Event, Options, Reconnect, State, WebSocketClient};

/// Connection 0 closes with `code` and completes the close handshake; later connections echo.
fn server_closing_with(code: u16) -> (Server, Receiver<Arrival>) {
    scripted_server(move |stream, n| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_err() {
            return;
        }
        if n == 0 {
            let _ = c.write_close(code, "see you");
            let _ = c.read_close();
        } else {
            let _ = echo_until_close(&mut c);
        }
    })
}

fn client_of(server: &Server) -> (WebSocketClient, Receiver<Event>) {
    let (client, events) = event_client(Options::new(&server.ws_url("/")).unwrap().reconnect(fast_policy()));
    client.connect(&[]).unwrap();
    (client, events)
}

#[test]
fn normal_close_is_not_retried() {
    let (server, arrivals) = server_closing_with(1000);
    let (client, events) = client_of(&server);

    let (names, info) = events_until_closed(&events);
    assert_eq!(names, ["opened:101", "closed:1000"]);
    assert!(info.clean, "{info:?}");
    match &info.reconnect {
        Reconnect::Stopped(why) => assert!(why.contains("1000"), "why does not name the code: {why}"),
        other => panic!("expected Reconnect::Stopped, got {other:?}"),
    }
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.reconnecting(), None);

    assert_eq!(next_arrival(&arrivals).conn, 0);
    expect_no_arrival(&arrivals, NO_ATTEMPT_WITHIN);
    assert!(events.is_empty(), "an event after Closed: {:?}", events.try_recv());
    drop(client);
    expect_no_more_events(&events);
}

#[test]
fn service_restart_close_is_retried() {
    let (server, arrivals) = server_closing_with(1012);
    let (client, events) = client_of(&server);

    let (names, info) = events_until_closed(&events);
    assert_eq!(names, ["opened:101", "closed:1012"]);
    let Reconnect::Next(next) = &info.reconnect else { panic!("expected Reconnect::Next: {info:?}") };
    assert_eq!(next.attempt, 1);
    assert!(next.why.contains("1012"), "why does not name the code: {next:?}");
    let r = next_reconnecting(&events);
    assert_eq!(&r, next);
    assert_eq!(name(&next_event(&events)), "opened:101");
    assert_eq!(next_arrival(&arrivals).conn, 0);
    assert_eq!(next_arrival(&arrivals).conn, 1);
    client.send("again").unwrap();
    assert_eq!(name(&next_event(&events)), "text:again");

    client.disconnect().unwrap();
    assert_eq!(events_until_closed(&events).0, ["closed:1001"]);
    drop(client);
    expect_no_more_events(&events);
}
