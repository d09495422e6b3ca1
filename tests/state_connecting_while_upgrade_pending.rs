//! While `connect` waits for the server's answer to the upgrade, another thread sees the
//! client `Connecting`: not open, and sends refused. Once the 101 comes, it is `Open`.

mod support;

use std::sync::Arc;
use std::thread;

use support::*;
use wsthread::{Error, Message, Options, State, WebSocketClient};

#[test]
fn state_connecting_while_upgrade_pending() {
    // The server reports each TCP connection, then answers the upgrade only when told to.
    let (accepted_tx, accepted) = crossbeam_channel::unbounded();
    let (answer, answer_rx) = crossbeam_channel::unbounded::<()>();
    let server = Server::threaded(move |stream, _| {
        accepted_tx.send(()).unwrap();
        if answer_rx.recv_timeout(WAIT).is_err() {
            return;
        }
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        c.write_frame(true, false, OP_TEXT, b"welcome").unwrap();
        if c.read_close().is_ok() {
            let _ = c.write_close(1000, "");
        }
    });

    let (callback, rx) = collector();
    let client = Arc::new(WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap());
    assert_eq!(client.state(), State::Closed, "before connect");
    let connecting = thread::spawn({
        let client = client.clone();
        move || client.connect(&[]).map(drop)
    });
    accepted.recv_timeout(WAIT).expect("the client reached the server");

    // connect has sent its request and waits for the answer the server holds back.
    assert_eq!(client.state(), State::Connecting);
    assert!(!client.is_open());
    assert!(matches!(client.send("too early"), Err(Error::NotConnected)));

    answer.send(()).unwrap();
    connecting.join().unwrap().expect("connect succeeds once the server answers");
    assert_eq!(client.state(), State::Open);
    assert_eq!(next_message(&rx), Message::Text("welcome".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(client.state(), State::Closed);
}
