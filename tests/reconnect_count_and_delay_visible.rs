//! While a reconnect waits, the client says so: `reconnecting()` returns the attempt on its
//! way — the same number, delay and reason as the `Reconnecting` event that announced it
//! (here attempt 2, after attempt 1 was refused with 503 and `Retry-After: 30`) — `state()`
//! is `Connecting`, and `send` fails with `NotConnected` instead of dropping the message.
//! Once the client is disconnected, `reconnecting()` is `None` again.

mod support;

use support::*;
use wsthread::{Error, Event, Options, State};

#[test]
fn reconnect_count_and_delay_visible() {
    let (server, _arrivals) = scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        match n {
            0 => drop(c.accept(&[])),
            _ => drop(refuse(&mut c, "503 Service Unavailable", &["Retry-After: 30"])),
        }
    });
    let (client, events) = event_client(Options::new(&server.ws_url("/")).unwrap().reconnect(fast_policy()));
    assert_eq!(client.reconnecting(), None, "not connected yet");
    client.connect(&[]).unwrap();
    assert_eq!(client.reconnecting(), None, "open");

    expect_lost_with_reconnect(&events);
    let announced = loop {
        match next_event(&events) {
            Event::Reconnecting(r) if r.attempt == 2 => break r,
            Event::Reconnecting(r) => assert_eq!(r.attempt, 1, "{r:?}"),
            other => panic!("expected Reconnecting, got {other:?}"),
        }
    };
    assert!(announced.delay >= secs(30), "{announced:?}");
    assert!(announced.why.contains("503"), "{announced:?}");

    // The wait lasts 30 s: everything below happens inside it.
    assert_eq!(client.reconnecting(), Some(announced.clone()));
    assert_eq!(client.state(), State::Connecting);
    assert!(!client.is_open());
    match client.send("while waiting") {
        Err(Error::NotConnected) => {}
        other => panic!("a send while reconnecting must fail, not vanish: {other:?}"),
    }
    assert_eq!(client.reconnecting(), Some(announced), "unchanged until the attempt starts");

    client.disconnect().unwrap();
    assert_eq!(client.reconnecting(), None);
    assert_eq!(client.state(), State::Closed);
    drop(client);
    expect_no_more_events(&events);
}
