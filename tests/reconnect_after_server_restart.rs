//! A server that restarts (connection 0's TCP ends in the middle of a frame, no Close) is
//! reconnected to under a reconnect policy: the new upgrade request carries the same path
//! and the same headers given to `connect`, messages sent once the new connection is open
//! are echoed, and the events tell it in order — `Opened`, the messages, `Closed` (1006,
//! `Reconnect::Next` attempt 1), `Reconnecting` (the same attempt), `Opened` again. The
//! callback form gets exactly one `None` per connection and nothing in between.

mod support;

use crossbeam_channel::Receiver;
use support::*;
use wsthread::{Message, Options, Reconnect, State, WebSocketClient};

const HEADERS: &[(&str, &str)] = &[("X-Session", "s-42"), ("Authorization", "Bearer t0k3n")];
const PATH: &str = "/feed?room=7";

/// Connection 0 sends "one", then half a frame, then ends TCP; every later connection
/// sends "welcome" and echoes. Each connection's upgrade request is reported.
fn restarting_server() -> (Server, Receiver<Arrival>, Receiver<(usize, String)>) {
    let (tx, requests) = crossbeam_channel::unbounded();
    let (server, arrivals) = scripted_server(move |stream, n| {
        let mut c = RawConn::new(stream);
        let Ok(request) = c.accept(&[]) else { return };
        let _ = tx.send((n, request));
        if n == 0 {
            let _ = c.write_frame(true, false, OP_TEXT, b"one");
            // A text frame announcing 10 bytes, 3 of them sent: the restart cuts it short.
            let mut partial = frame_head(true, false, OP_TEXT, 10);
            partial.extend_from_slice(b"two");
            let _ = c.write_all(&partial);
        } else {
            let _ = c.write_frame(true, false, OP_TEXT, b"welcome");
            let _ = echo_until_close(&mut c);
        }
    });
    (server, arrivals, requests)
}

fn options(server: &Server) -> Options {
    Options::new(&server.ws_url(PATH)).unwrap().reconnect(fast_policy())
}

#[test]
fn events_tell_the_reconnect_in_order() {
    let (server, arrivals, requests) = restarting_server();
    let (client, events) = event_client(options(&server));
    client.connect(HEADERS).unwrap();

    let (names, info) = events_until_closed(&events);
    assert_eq!(names, ["opened:101", "text:one", "closed:1006"]);
    let Reconnect::Next(next) = &info.reconnect else { panic!("expected Reconnect::Next: {info:?}") };
    assert_eq!(next.attempt, 1);
    let policy = fast_policy();
    assert!(next.delay >= policy.min_delay && next.delay <= policy.max_delay, "{next:?}");
    let r = next_reconnecting(&events);
    assert_eq!(&r, next, "the event announces the attempt Closed promised");
    assert_eq!(name(&next_event(&events)), "opened:101");
    assert_eq!(name(&next_event(&events)), "text:welcome");
    assert_eq!(client.state(), State::Open);
    assert_eq!(client.reconnecting(), None);

    client.send("after the restart").unwrap();
    assert_eq!(name(&next_event(&events)), "text:after the restart");

    // Both upgrade requests: the same request line, the same headers.
    let (n0, first) = requests.recv_timeout(WAIT).unwrap();
    let (n1, second) = requests.recv_timeout(WAIT).unwrap();
    assert_eq!((n0, n1), (0, 1));
    let request_line = |head: &str| head.lines().next().unwrap_or_default().to_owned();
    assert_eq!(request_line(&first), format!("GET {PATH} HTTP/1.1"));
    assert_eq!(request_line(&second), request_line(&first));
    for (header, value) in HEADERS {
        assert_eq!(header_value(&first, header).as_deref(), Some(*value), "{header} in request 0:\n{first}");
        assert_eq!(header_value(&second, header).as_deref(), Some(*value), "{header} in request 1:\n{second}");
    }

    disconnect_and_expect_stopped(client, &events);
    assert_eq!(arrivals.try_iter().map(|a| a.conn).collect::<Vec<_>>(), [0, 1]);
}

#[test]
fn callback_gets_one_none_per_connection() {
    let (server, arrivals, _requests) = restarting_server();
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options(&server)).unwrap();
    client.connect(HEADERS).unwrap();

    assert_eq!(next_message(&rx), Message::Text("one".into()));
    expect_end(&rx); // connection 0
    // Connection 1 comes by itself, with no call from us.
    assert_eq!(next_message(&rx), Message::Text("welcome".into()));
    client.send("after the restart").unwrap();
    assert_eq!(next_message(&rx), Message::Text("after the restart".into()));

    client.disconnect().unwrap();
    expect_end(&rx); // connection 1
    drop(client);
    expect_no_more(&rx);
    assert_eq!(arrivals.try_iter().map(|a| a.conn).collect::<Vec<_>>(), [0, 1]);
}
