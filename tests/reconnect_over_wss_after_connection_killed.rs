//! Reconnect over wss://: the connection thread itself dials again (DNS, TCP, TLS with the
//! build's default roots — the platform verifier by default — and the test CA, the upgrade)
//! on its own stack. A connection killed under the client
//! (through the fault-injecting proxy) is followed by `Reconnecting` and a new `Opened`
//! with TLS, and messages flow again.

#![cfg(feature = "tls")]

mod support;

use support::tls::{wss_echo_server, TestCa};
use support::*;
use wsthread::{Event, Message, Options, Reconnect, ReconnectPolicy, WebSocketClient};

#[test]
fn reconnect_over_wss_after_connection_killed() {
    let ca = TestCa::new("wsthread test CA");
    let (server, _seen) = wss_echo_server(ca.issue(&["localhost", "127.0.0.1"]));
    let proxy = FaultProxy::new(server.addr());
    let options = Options::new(&format!("wss://{}/", proxy.addr()))
        .unwrap()
        .add_root_certificate_pem(ca.pem())
        .reconnect(ReconnectPolicy::default().delays(ms(10), ms(50)));
    let (callback, events) = event_collector();
    let client = WebSocketClient::with_events(callback, options).unwrap();
    client.connect(&[]).unwrap();
    assert!(matches!(next_event(&events), Event::Opened(h) if h.tls.is_some()));
    client.send("one").unwrap();
    assert_eq!(name(&next_event(&events)), "text:one");

    proxy.set(Fault::Kill);
    let info = loop {
        match next_event(&events) {
            Event::Closed(info) => break info,
            Event::Reconnecting(_) => panic!("Reconnecting before Closed"),
            _ => {}
        }
    };
    assert!(matches!(info.reconnect, Reconnect::Next(_)), "{info}");
    proxy.set(Fault::Pass);
    let handshake = loop {
        match next_event(&events) {
            Event::Opened(h) => break h,
            Event::Reconnecting(_) => {}
            other => panic!("unexpected while reconnecting: {other:?}"),
        }
    };
    assert!(handshake.tls.is_some());
    assert!(client.is_open());
    client.send(Message::Text("two".into())).unwrap();
    assert_eq!(name(&next_event(&events)), "text:two");
    client.disconnect().unwrap();
    let (_, info) = events_until_closed(&events);
    assert!(info.clean && matches!(info.reconnect, Reconnect::Stopped(_)), "{info}");
    drop(client);
    expect_no_more_events(&events);
}
