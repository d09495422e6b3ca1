//! A reconnect attempt that reaches a server which never answers the upgrade gives up after
//! `connect_timeout` (here 300 ms) and counts as a failed attempt: the next `Reconnecting`
//! (attempt 2) says it timed out, and attempt 2, answered, opens the connection.

mod support;

use std::time::Duration;

use support::*;
use wsthread::Options;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);

#[test]
fn reconnect_attempt_bounded_by_connect_timeout() {
    let (server, arrivals) = scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        match n {
            0 => drop(c.accept(&[])),
            // Reads the upgrade request and never answers it.
            1 => c.drain_until_eof(),
            _ => {
                if c.accept(&[]).is_ok() {
                    let _ = echo_until_close(&mut c);
                }
            }
        }
    });
    let options = Options::new(&server.ws_url("/")).unwrap().connect_timeout(CONNECT_TIMEOUT).reconnect(fast_policy());
    let (client, events) = event_client(options);
    client.connect(&[]).unwrap();

    expect_lost_with_reconnect(&events);
    assert_eq!(next_reconnecting(&events).attempt, 1);
    let r = next_reconnecting(&events);
    assert_eq!(r.attempt, 2, "{r:?}");
    assert!(r.why.contains("attempt 1") && r.why.contains("timed out"), "{r:?}");
    assert_eq!(name(&next_event(&events)), "opened:101");
    let conns: Vec<Arrival> = (0..3).map(|_| next_arrival(&arrivals)).collect();
    let hung_for = conns[2].at - conns[1].at;
    eprintln!("attempt 1 hung for {hung_for:?} before attempt 2 arrived");
    assert!(hung_for >= CONNECT_TIMEOUT, "attempt 2 came {hung_for:?} after attempt 1");

    client.send("back").unwrap();
    assert_eq!(name(&next_event(&events)), "text:back");
    client.disconnect().unwrap();
    assert_eq!(events_until_closed(&events).0, ["closed:1001"]);
    drop(client);
    expect_no_more_events(&events);
}
