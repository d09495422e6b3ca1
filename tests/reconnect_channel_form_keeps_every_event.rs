//! The channel form under a reconnect policy, with a channel that holds one event: nothing
//! is dropped across the reconnect. The events of both
//! connections arrive whole and in order (Opened, messages, Closed with what follows,
//! Reconnecting, Opened, …), the thread waiting for room at each.

mod support;

use support::*;
use wsthread::{Options, WebSocketClient};

#[test]
fn reconnect_channel_form_keeps_every_event() {
    let (server, _arrivals) = scripted_server(|stream, n| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_err() {
            return;
        }
        for i in 0..3 {
            let _ = c.write_frame(true, false, OP_TEXT, format!("c{n}m{i}").as_bytes());
        }
        if n > 0 {
            let _ = echo_until_close(&mut c);
        }
        // Connection 0 returns at once: TCP dropped, retried.
    });
    let options = Options::new(&server.ws_url("/")).unwrap().channel_capacity(1).reconnect(fast_policy());
    let (client, events) = WebSocketClient::channel(options).unwrap();
    client.connect(&[]).unwrap();
    let mut names = Vec::new();
    while names.len() < 10 {
        names.push(name(&next_event(&events)));
    }
    let reconnecting = names[5].clone();
    assert!(reconnecting.starts_with("Reconnecting"), "{names:?}");
    assert_eq!(
        names,
        ["opened:101", "text:c0m0", "text:c0m1", "text:c0m2", "closed:1006", &reconnecting, "opened:101", "text:c1m0", "text:c1m1", "text:c1m2"]
    );
    assert!(client.is_open());
    client.disconnect().unwrap();
    let (rest, info) = events_until_closed(&events);
    assert_eq!(rest, ["closed:1001"]);
    assert!(info.clean, "{info}");
}
