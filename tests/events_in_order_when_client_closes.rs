//! When the client closes, both event forms still deliver everything that arrived before,
//! in order, then one `Closed` with our code; a reconnect starts again with `Opened`.

mod support;

use crossbeam_channel::Receiver;
use support::*;
use wsthread::{ClosedBy, Event, Options, WebSocketClient};

/// Each connection: a text and a ping, then it echoes until the client's Close.
fn server() -> Server {
    Server::threaded(|stream, _| {
        let mut ws = tungstenite::accept(stream).unwrap();
        ws.send(WsMessage::text("hello")).unwrap();
        ws.send(WsMessage::Ping(b"p".to_vec().into())).unwrap();
        while let Ok(m) = ws.read() {
            if m.is_text() || m.is_binary() {
                let _ = ws.send(m);
            }
        }
    })
}

/// Waits for the server's two events, sends one message and waits for its echo, then
/// disconnects with 4000 and checks the whole sequence.
fn run(client: &WebSocketClient, rx: &Receiver<Event>) {
    client.connect(&[]).unwrap();
    let mut names: Vec<String> = (0..3).map(|_| name(&next_event(rx))).collect();
    client.send("echo me").unwrap();
    names.push(name(&next_event(rx)));
    client.disconnect_with(4000, "done").unwrap();
    let (rest, info) = events_until_closed(rx);
    names.extend(rest);
    assert_eq!(names, ["opened:101", "text:hello", "ping:p", "text:echo me", "closed:4000"]);
    assert_eq!((info.reason.as_str(), info.closed_by, info.clean), ("done", ClosedBy::Local, true), "{info}");
}

#[test]
fn events_in_order_when_client_closes() {
    let server = server();
    let options = Options::new(&server.ws_url("/")).unwrap();

    let (callback, rx) = event_collector();
    let client = WebSocketClient::with_events(callback, options.clone()).unwrap();
    run(&client, &rx);
    run(&client, &rx); // a second connection of the same client
    drop(client);
    expect_no_more_events(&rx);

    let (client, rx) = WebSocketClient::channel(options).unwrap();
    run(&client, &rx);
    run(&client, &rx);
    drop(client);
    expect_no_more_events(&rx);
}
