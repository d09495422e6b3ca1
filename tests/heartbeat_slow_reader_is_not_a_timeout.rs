//! Time the connection thread spends blocked on the application (a full event channel no one
//! reads, a slow callback) never counts against the server: with a pong timeout far shorter
//! than the stall, the connection stays open, and every message arrives once the
//! application reads again.

mod support;

use std::time::Duration;

use support::*;
use wsthread::{Event, Message, Options, WebSocketClient};

#[test]
fn channel_left_unread_is_not_a_dead_server() {
    let (server, _seen) = echo_server();
    let options = Options::new(&server.ws_url("/"))
        .unwrap()
        .ping_interval(Some(ms(50)))
        .pong_timeout(ms(100))
        .channel_capacity(1);
    let (client, events) = WebSocketClient::channel(options).unwrap();
    client.connect(&[]).unwrap();
    for i in 0..5 {
        client.send(format!("m{i}")).unwrap();
    }
    // The channel holds one event (Opened); the thread waits with the echoes behind it for
    // ten pong timeouts. The stall is the behaviour under test, not a synchronisation.
    std::thread::sleep(Duration::from_secs(1));
    let mut got = Vec::new();
    while got.len() < 5 {
        match next_event(&events) {
            Event::Message(Message::Text(t)) => got.push(t),
            Event::Closed(info) => panic!("closed while the application was slow: {info}"),
            _ => {}
        }
    }
    assert_eq!(got, ["m0", "m1", "m2", "m3", "m4"]);
    assert!(client.is_open());
    client.send("after").unwrap();
    loop {
        match next_event(&events) {
            Event::Message(Message::Text(t)) => break assert_eq!(t, "after"),
            Event::Closed(info) => panic!("closed: {info}"),
            _ => {}
        }
    }
}

#[test]
fn slow_callback_is_not_a_dead_server() {
    let (server, _seen) = echo_server();
    let options = Options::new(&server.ws_url("/")).unwrap().ping_interval(Some(ms(50))).pong_timeout(ms(100));
    let (tx, rx) = crossbeam_channel::unbounded();
    let client = WebSocketClient::new(
        move |m: Option<Message>| {
            if let Some(Message::Text(t)) = &m {
                if t == "slow" {
                    // Ten pong timeouts inside the callback.
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
            let _ = tx.send(m);
        },
        options,
    )
    .unwrap();
    client.connect(&[]).unwrap();
    client.send("slow").unwrap();
    client.send("next").unwrap();
    assert_eq!(next_message(&rx), Message::Text("slow".into()));
    assert_eq!(next_message(&rx), Message::Text("next".into()));
    assert!(client.is_open(), "{:?}", client.close_info());
}
