//! `max_attempts` bounds a reconnect that keeps failing: with `max_attempts(Some(3))` and a
//! server that refuses every attempt with 503, attempts 1 to 3 are announced and reach the
//! server, then one `Closed` says the policy gave up, and no fourth attempt comes.

mod support;

use support::*;
use wsthread::{Options, Reconnect, State};

#[test]
fn reconnect_gives_up_after_max_attempts() {
    let (server, arrivals) = scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        if n == 0 {
            drop(c.accept(&[]));
        } else {
            drop(refuse(&mut c, "503 Service Unavailable", &[]));
        }
    });
    let policy = fast_policy().max_attempts(Some(3));
    let (client, events) = event_client(Options::new(&server.ws_url("/")).unwrap().reconnect(policy));
    client.connect(&[]).unwrap();

    expect_lost_with_reconnect(&events);
    for attempt in 1..=3 {
        let r = next_reconnecting(&events);
        assert_eq!(r.attempt, attempt, "{r:?}");
    }
    let (names, info) = events_until_closed(&events);
    assert_eq!(names, ["closed:1006"]);
    match &info.reconnect {
        Reconnect::Stopped(why) => assert!(why.contains("gave up after 3"), "{why}"),
        other => panic!("expected Reconnect::Stopped, got {other:?}"),
    }
    assert!(info.error.as_deref().is_some_and(|e| e.contains("attempt 3") && e.contains("503")), "{info:?}");
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.reconnecting(), None);

    let conns: Vec<usize> = (0..4).map(|_| next_arrival(&arrivals).conn).collect();
    assert_eq!(conns, [0, 1, 2, 3]);
    expect_no_arrival(&arrivals, NO_ATTEMPT_WITHIN);
    drop(client);
    expect_no_more_events(&events);
}
