//! `connect()` called while the client waits out a long reconnect backoff (30 s) takes
//! over at once: the pending reconnect is dropped without an event, `connect` returns the
//! new connection well before the backoff would have ended, its upgrade carries the headers
//! of this `connect`, and exactly one new connection reaches the server.

mod support;

use support::*;
use wsthread::{Options, ReconnectPolicy, State};

#[test]
fn connect_during_reconnect_backoff_takes_over() {
    let (tx, requests) = crossbeam_channel::unbounded();
    let (server, arrivals) = scripted_server(move |stream, n| {
        let mut c = RawConn::new(stream);
        let Ok(request) = c.accept(&[]) else { return };
        let _ = tx.send(request);
        if n > 0 {
            let _ = echo_until_close(&mut c);
        }
    });
    let policy = ReconnectPolicy::default().delays(secs(30), secs(60));
    let (client, events) = event_client(Options::new(&server.ws_url("/")).unwrap().reconnect(policy));
    client.connect(&[("X-Generation", "1")]).unwrap();
    expect_lost_with_reconnect(&events);
    let r = next_reconnecting(&events);
    assert!(r.delay >= secs(30), "{r:?}");

    let (result, took) = within_wait("connect", {
        let handle = client.handle();
        move || handle.connect(&[("X-Generation", "2")])
    });
    eprintln!("connect during the backoff took {took:?}");
    assert_eq!(result.expect("connect during the backoff").status, 101);
    assert!(took < secs(30), "connect waited {took:?}: the backoff was not cut short");
    assert_eq!(client.state(), State::Open);
    assert_eq!(client.reconnecting(), None);
    assert_eq!(name(&next_event(&events)), "opened:101", "no event for the dropped reconnect");

    let first = requests.recv_timeout(WAIT).unwrap();
    let second = requests.recv_timeout(WAIT).unwrap();
    assert_eq!(header_value(&first, "X-Generation").as_deref(), Some("1"));
    assert_eq!(header_value(&second, "X-Generation").as_deref(), Some("2"));
    client.send("new").unwrap();
    assert_eq!(name(&next_event(&events)), "text:new");

    disconnect_and_expect_stopped(client, &events);
    assert_eq!(arrivals.try_iter().map(|a| a.conn).collect::<Vec<_>>(), [0, 1]);
}
