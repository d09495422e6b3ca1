//! While `disconnect` waits for the server's answer to its Close, another thread sees the
//! client `Closing`: not open, and sends refused. Once the server answers, it is `Closed`.

mod support;

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use support::*;
use wsthread::{Error, Options, State, WebSocketClient};

#[test]
fn state_closing_while_close_unanswered() {
    // The server reports the client's Close, then answers it only when told to, and closes
    // TCP (the server closes first, as RFC 6455 has it).
    let (close_tx, got_close) = crossbeam_channel::unbounded();
    let (answer, answer_rx) = crossbeam_channel::unbounded::<()>();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let (code, _, _) = c.read_close().unwrap();
        close_tx.send(code).unwrap();
        if answer_rx.recv_timeout(WAIT).is_ok() {
            c.write_close(1000, "").unwrap();
        }
    });

    // A close_timeout far beyond the test's waits: only the server's answer ends the close.
    let options = Options::new(&server.ws_url("/")).unwrap().close_timeout(secs(60));
    let (callback, rx) = collector();
    let client = Arc::new(WebSocketClient::new(callback, options).unwrap());
    client.connect(&[]).unwrap();
    assert_eq!(client.state(), State::Open);
    let disconnecting = thread::spawn({
        let client = client.clone();
        move || client.disconnect()
    });
    assert_eq!(got_close.recv_timeout(WAIT).expect("the server got the Close"), Some(1001));

    // disconnect has sent its Close and waits for the answer the server holds back.
    assert_eq!(client.state(), State::Closing);
    assert!(!client.is_open());
    assert!(matches!(client.send("too late"), Err(Error::NotConnected)));
    assert!(rx.is_empty(), "no None before the close is over");

    let start = Instant::now();
    answer.send(()).unwrap();
    disconnecting.join().unwrap().unwrap();
    assert!(start.elapsed() < secs(5), "disconnect took {:?} after the answer", start.elapsed());
    assert_eq!(client.state(), State::Closed);
    expect_end(&rx);
    let info = client.close_info().unwrap();
    assert!(info.clean, "{info:?}");
}
