//! A server that floods messages and never answers the client's Close cannot stretch a
//! disconnect: it returns after about `close_timeout`, with `None` delivered, even though
//! the connection thread never runs out of input to read.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::*;
use wsthread::{ClosedBy, Options, WebSocketClient};

#[test]
fn disconnect_bounded_while_server_floods() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let mut writer = c.stream.try_clone().unwrap();
        let flood = std::thread::spawn(move || {
            let burst = frame(true, false, OP_BINARY, &[7u8; 1000]).repeat(64);
            // Until the client closes the socket.
            while writer.write_all(&burst).is_ok() {}
        });
        let (code, _, _) = c.read_close().unwrap();
        tx.send(code).unwrap();
        c.drain_until_eof(); // never replies
        flood.join().unwrap();
    });
    let close_timeout = ms(300);
    let options = Options::new(&server.ws_url("/")).unwrap().close_timeout(close_timeout);
    let (mut forward, rx) = collector();
    // A consumer slower than the flood: the socket always has more to read.
    let slow = move |msg| {
        let start = Instant::now();
        while start.elapsed() < Duration::from_micros(50) {
            std::hint::spin_loop();
        }
        forward(msg)
    };
    let client = WebSocketClient::new(slow, options).unwrap();
    client.connect(&[]).unwrap();
    next_message(&rx); // the flood has started

    // Disconnect on another thread, so that a regression fails here instead of hanging.
    let client = std::sync::Arc::new(client);
    let (done, finished) = crossbeam_channel::bounded(1);
    let closer = client.clone();
    std::thread::spawn(move || done.send(closer.disconnect()).unwrap());
    let start = Instant::now();
    let result = finished.recv_timeout(secs(5)).expect("hang guard: disconnect did not return");
    result.unwrap();
    assert!(start.elapsed() < secs(5), "hang guard: disconnect took {:?}", start.elapsed());
    assert_eq!(seen.recv_timeout(WAIT).unwrap(), Some(1001));
    let info = client.close_info().unwrap();
    assert_eq!(info.closed_by, ClosedBy::Local);
    assert!(!info.clean, "{info:?}");
    // Everything delivered before the end, then exactly one None.
    while rx.recv_timeout(WAIT).expect("the callback's None never came").is_some() {}
    drop(client);
    expect_no_more(&rx);
}
