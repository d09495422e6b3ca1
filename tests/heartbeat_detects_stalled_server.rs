//! A server that stalls after the handshake (TCP open, nothing moving, our pings unanswered)
//! is declared dead within `ping_interval + pong_timeout`: one `None`, and `close_info`
//! says it was the pong timeout. Our pings did reach it.

mod support;

use std::time::Instant;

use support::*;
use wsthread::{Options, WebSocketClient};

#[test]
fn heartbeat_detects_stalled_server() {
    let (pings_tx, pings) = crossbeam_channel::unbounded();
    let (release_tx, release) = crossbeam_channel::bounded::<()>(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        // Reads (to see the pings) but never answers anything.
        c.stream.set_read_timeout(Some(ms(50))).unwrap();
        while release.try_recv().is_err() {
            if let Ok(f) = c.read_frame() {
                let _ = pings_tx.send(f.opcode);
            }
        }
    });
    let (ping_interval, pong_timeout) = (ms(200), ms(300));
    let options = Options::new(&server.ws_url("/"))
        .unwrap()
        .ping_interval(Some(ping_interval))
        .pong_timeout(pong_timeout)
        .close_timeout(secs(5));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let start = Instant::now();
    client.connect(&[]).unwrap();
    expect_end(&rx);
    let took = start.elapsed();
    let _ = release_tx.send(());
    eprintln!("declared dead after {took:?}");
    assert_eq!(pings.recv_timeout(WAIT).unwrap(), OP_PING, "the server saw our ping first");
    let info = client.close_info().unwrap();
    assert!(!info.clean, "{info}");
    assert!(info.error.as_deref().is_some_and(|e| e.contains("pong timeout")), "{info}");
    // Well within the close timeout: the end does not wait for a Close reply that will not come.
    assert!(took < secs(5), "took {took:?}");
    drop(client);
    expect_no_more(&rx);
}
