//! Both event forms (`with_events` and `channel`) deliver every event of a connection in
//! order when the server closes: opened, messages, pings, pongs, then `Closed` exactly once.

mod support;

use crossbeam_channel::{Receiver, Sender};
use support::*;
use wsthread::{ClosedBy, Event, Options, WebSocketClient};

/// Each connection: a text, a ping, an unsolicited pong and a binary, then Close 1000 "bye".
/// Reports the code of the client's Close reply and whether the ping was answered.
fn server(report: Sender<(Option<u16>, bool)>) -> Server {
    Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        c.write_frame(true, false, OP_TEXT, b"a").unwrap();
        c.write_frame(true, false, OP_PING, b"p").unwrap();
        c.write_frame(true, false, OP_PONG, b"q").unwrap();
        c.write_frame(true, false, OP_BINARY, &[1, 2, 3]).unwrap();
        c.write_close(1000, "bye").unwrap();
        let (code, _, skipped) = c.read_close().unwrap();
        let ponged = skipped.iter().any(|f| f.opcode == OP_PONG && f.payload == b"p");
        report.send((code, ponged)).unwrap();
        // The server closes TCP first (RFC 6455 §7.1.1): dropping `c` does.
    })
}

fn check(rx: &Receiver<Event>, report: &Receiver<(Option<u16>, bool)>) {
    let (names, info) = events_until_closed(rx);
    assert_eq!(names, ["opened:101", "text:a", "ping:p", "pong:q", "binary:3", "closed:1000"]);
    assert_eq!(info.reason, "bye");
    assert_eq!(info.closed_by, ClosedBy::Remote);
    assert!(info.clean && info.error.is_none(), "{info}");
    assert_eq!(report.recv_timeout(WAIT).unwrap(), (Some(1000), true), "Close reply and pong");
}

#[test]
fn events_in_order_when_server_closes() {
    let (report, reports) = crossbeam_channel::unbounded();
    let server = server(report);
    let options = Options::new(&server.ws_url("/")).unwrap();

    let (callback, rx) = event_collector();
    let client = WebSocketClient::with_events(callback, options.clone()).unwrap();
    client.connect(&[]).unwrap();
    check(&rx, &reports);
    drop(client);
    expect_no_more_events(&rx);

    let (client, rx) = WebSocketClient::channel(options).unwrap();
    client.connect(&[]).unwrap();
    check(&rx, &reports);
    drop(client);
    expect_no_more_events(&rx);
}
