//! The callback can stop a reconnect: a `disconnect()` made through the handle while
//! handling `Event::Reconnecting` (on the connection thread itself, which is about to wait
//! and dial) ends the reconnecting — no attempt reaches the server, no event follows, the
//! client is `Closed` with `Reconnect::Stopped` — and a `send` made there fails with
//! `NotConnected` instead of vanishing.

mod support;

use support::*;
use wsthread::{Error, Event, Handle, Options, Reconnect, State, WebSocketClient};

#[test]
fn reconnect_stopped_from_its_own_callback() {
    let (server, arrivals) = scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_ok() && n > 0 {
            c.drain_until_eof(); // an attempt that must not come; upgraded, so that it would show
        }
    });
    let (tx, events) = crossbeam_channel::unbounded();
    let callback = move |ws: &Handle, event: Event| {
        if let Event::Reconnecting(_) = &event {
            let sent = ws.send("from the callback");
            let stopped = ws.disconnect();
            let _ = tx.send(Err((sent, stopped)));
        }
        let _ = tx.send(Ok(event));
    };
    // 200–400 ms: long enough that the wait is surely what the disconnect cuts short.
    let policy = wsthread::ReconnectPolicy::default().delays(ms(200), ms(400));
    let client = WebSocketClient::with_events(callback, Options::new(&server.ws_url("/")).unwrap().reconnect(policy)).unwrap();
    client.connect(&[]).unwrap();

    let next = || events.recv_timeout(WAIT).expect("an event");
    assert!(matches!(next(), Ok(Event::Opened(_))));
    assert!(matches!(next(), Ok(Event::Closed(i)) if matches!(i.reconnect, Reconnect::Next(_))));
    match next() {
        Err((sent, stopped)) => {
            assert!(matches!(sent, Err(Error::NotConnected)), "a send while reconnecting: {sent:?}");
            assert!(stopped.is_ok(), "{stopped:?}");
        }
        other => panic!("expected the callback's calls, got {other:?}"),
    }
    assert!(matches!(next(), Ok(Event::Reconnecting(r)) if r.attempt == 1));

    assert_eq!(next_arrival(&arrivals).conn, 0);
    expect_no_arrival(&arrivals, NO_ATTEMPT_WITHIN + ms(400));
    assert!(events.is_empty(), "an event after the callback's disconnect: {:?}", events.try_recv());
    assert_eq!(client.state(), State::Closed);
    assert_eq!(client.reconnecting(), None);
    assert!(matches!(client.close_info().map(|i| i.reconnect), Some(Reconnect::Stopped(_))));
    drop(client);
    match events.recv_timeout(WAIT) {
        Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {}
        other => panic!("nothing more was expected: {other:?}"),
    }
}
