//! A reconnect attempt refused with `503` and `Retry-After: 1` is retried, and not sooner
//! than the server asked: the `Reconnecting` event of attempt 2 announces a delay of at
//! least 1 s and says why (the 503), the server sees attempt 2 at least 1 s after attempt 1,
//! and the connection then opens.

mod support;

use support::*;
use wsthread::{Options, Reconnect};

#[test]
fn reconnect_honours_retry_after() {
    let (server, arrivals) = scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        match n {
            // Dropped right after the upgrade.
            0 => drop(c.accept(&[])),
            1 => drop(refuse(&mut c, "503 Service Unavailable", &["Retry-After: 1"])),
            _ => {
                if c.accept(&[]).is_ok() {
                    let _ = echo_until_close(&mut c);
                }
            }
        }
    });
    let policy = fast_policy();
    let (client, events) = event_client(Options::new(&server.ws_url("/")).unwrap().reconnect(policy.clone()));
    client.connect(&[]).unwrap();

    let info = expect_lost_with_reconnect(&events);
    assert!(matches!(&info.reconnect, Reconnect::Next(n) if n.attempt == 1), "{info:?}");
    assert_eq!(next_reconnecting(&events).attempt, 1);
    let r = next_reconnecting(&events);
    assert_eq!(r.attempt, 2, "{r:?}");
    assert!(r.delay >= secs(1), "Retry-After: 1 not honoured: {r:?}");
    // Retry-After (capped by max_retry_after, 5 min) is a floor: nothing near the cap.
    assert!(r.delay <= secs(1) + policy.max_delay, "{r:?}");
    assert!(r.why.contains("503"), "why does not mention the 503: {r:?}");
    assert_eq!(name(&next_event(&events)), "opened:101");

    // The server's clock agrees: attempt 2 came at least 1 s after attempt 1 was refused.
    let conns: Vec<Arrival> = (0..3).map(|_| next_arrival(&arrivals)).collect();
    assert_eq!(conns.iter().map(|a| a.conn).collect::<Vec<_>>(), [0, 1, 2]);
    let waited = conns[2].at - conns[1].at;
    assert!(waited >= secs(1), "attempt 2 came {waited:?} after attempt 1");
    eprintln!("attempt 2 reached the server {waited:?} after attempt 1");
    client.send("back").unwrap();
    assert_eq!(name(&next_event(&events)), "text:back");
    client.disconnect().unwrap();
    assert_eq!(events_until_closed(&events).0, ["closed:1001"]);
    drop(client);
    expect_no_more_events(&events);
}
