//! A reconnect attempt refused with 401 stops the policy: one more `Closed` (1006,
//! `Reconnect::Stopped` saying 401, its error naming the failed attempt) and then nothing —
//! no further attempt reaches the server, no further event; the client is `Closed` and
//! `reconnecting()` is `None`.

mod support;

use support::*;
use wsthread::{Options, Reconnect, State};

#[test]
fn reconnect_stops_on_401() {
    let (server, arrivals) = scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        match n {
            0 => drop(c.accept(&[])),
            1 => drop(refuse(&mut c, "401 Unauthorized", &["WWW-Authenticate: Bearer realm=\"feed\""])),
            // An attempt the policy must not make; upgraded, so that it would show.
            _ => {
                if c.accept(&[]).is_ok() {
                    c.drain_until_eof();
                }
            }
        }
    });
    let (client, events) = event_client(Options::new(&server.ws_url("/")).unwrap().reconnect(fast_policy()));
    client.connect(&[]).unwrap();

    let info = expect_lost_with_reconnect(&events);
    assert!(matches!(&info.reconnect, Reconnect::Next(n) if n.attempt == 1), "{info:?}");
    assert_eq!(next_reconnecting(&events).attempt, 1);
    // The failed attempt ends with one more Closed, saying why the policy stopped.
    let (names, info) = events_until_closed(&events);
    assert_eq!(names, ["closed:1006"], "no Opened for a refused attempt");
    match &info.reconnect {
        Reconnect::Stopped(why) => assert!(why.contains("401"), "why does not mention 401: {why}"),
        other => panic!("expected Reconnect::Stopped, got {other:?}"),
    }
    let error = info.error.as_deref().unwrap_or_default();
    assert!(error.contains("attempt 1") && error.contains("401"), "{info:?}");
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.reconnecting(), None);
    assert_eq!(client.close_info().map(|i| i.reconnect), Some(info.reconnect.clone()));

    assert_eq!(next_arrival(&arrivals).conn, 0);
    assert_eq!(next_arrival(&arrivals).conn, 1);
    expect_no_arrival(&arrivals, NO_ATTEMPT_WITHIN);
    assert!(events.is_empty(), "an event after the last Closed: {:?}", events.try_recv());
    drop(client);
    expect_no_more_events(&events);
}
