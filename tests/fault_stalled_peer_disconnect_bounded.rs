//! A peer that stalls after the handshake (the fault proxy keeps both sockets open and
//! forwards nothing, either way): messages sent meanwhile get no answer, and
//! `disconnect()` still returns once `close_timeout` has passed, with exactly one `None`
//! and `close_info` saying our 1001 went out, no reply came, not clean. (Noticing a stall
//! without a disconnect is what heartbeats are for; this test needs none.)

mod support;

use support::*;
use wsthread::{CloseCode, ClosedBy, Message};

#[test]
fn stalled_peer_disconnect_bounded_by_close_timeout() {
    let (server, _seen) = echo_server();
    let proxy = FaultProxy::new(server.addr());
    let close_timeout = ms(300);
    let (client, rx) = connected_through(&proxy, close_timeout);
    client.send("before").unwrap();
    assert_eq!(next_message(&rx), Message::Text("before".into()));

    proxy.set(Fault::Stall);
    let to_server = proxy.forwarded_to_server();
    client.send("during").unwrap();
    // The None, and no echo of "during", when disconnect returns.
    disconnect_after_close_timeout(&client, &rx, close_timeout);

    let info = client.close_info().unwrap();
    eprintln!("{info}");
    assert_eq!((info.code, info.closed_by), (CloseCode::GOING_AWAY, ClosedBy::Local), "{info}");
    assert!(!info.clean, "{info}");
    assert!(info.error.as_deref().is_some_and(|e| e.contains("no Close reply")), "{info}");
    assert_eq!(info.unsent_messages, 0, "\"during\" left the client: {info}");
    assert_eq!(proxy.forwarded_to_server(), to_server, "nothing passed the stall");
    drop(client);
    expect_no_more(&rx);
}
