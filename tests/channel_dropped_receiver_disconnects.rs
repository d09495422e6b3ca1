//! Dropping the channel form's receiver is a clean "no more": at the next event the client
//! closes with 1001 Going Away instead of blocking forever on a channel nobody reads.

mod support;

use support::*;
use wsthread::{ClosedBy, CloseCode, Event, Options, State, WebSocketClient};

#[test]
fn channel_dropped_receiver_disconnects() {
    let (server, seen) = echo_server();
    let (client, events) = WebSocketClient::channel(Options::new(&server.ws_url("/")).unwrap().channel_capacity(1)).unwrap();
    client.connect(&[]).unwrap();
    assert!(matches!(next_event(&events), Event::Opened(_)));
    drop(events);

    // The echo is the next event: it finds the receiver gone.
    client.send("anyone there?").unwrap();
    let (_, code, _) = wait_close(&seen);
    assert_eq!(code, Some(1001), "the client closes with Going Away");
    // Joins the connection thread, which is closing already (the code stays 1001).
    client.disconnect_with(1000, "").unwrap();
    let info = client.close_info().expect("the connection has ended");
    assert_eq!((info.code, info.closed_by), (CloseCode::GOING_AWAY, ClosedBy::Local), "{info}");
    assert_eq!(client.state(), State::Closed);
}
