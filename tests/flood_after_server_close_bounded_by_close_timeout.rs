//! A server that sends its Close and then floods us with bytes instead of closing TCP cannot
//! keep the connection alive: the client echoes the Close, throws the rest away in bounded
//! amounts, and ends by `close_timeout`.

mod support;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::hostile::Flood;
use support::*;
use wsthread::{ClosedBy, Options, WebSocketClient};

const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// `close_timeout` and a generous margin for a noisy machine; the flood lasts far longer.
const BOUND: Duration = Duration::from_secs(6);

#[test]
fn flood_after_server_close_bounded_by_close_timeout() {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let (flooding_tx, flooding) = crossbeam_channel::bounded(1);
    let (done, done_rx) = crossbeam_channel::bounded::<()>(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let flood = Flood::start(
            c.stream.try_clone().unwrap(),
            close_frame(1000, "bye"),
            vec![0x5A; 64 * 1024],
            Duration::from_secs(30),
            flag.clone(),
            flooding_tx.clone(),
            1 << 20,
        );
        // Flood until the test has its answer (or the flood's own time limit).
        let _ = done_rx.recv_timeout(Duration::from_secs(30));
        let _ = flood.join();
    });
    let (callback, rx) = collector();
    let options = Options::new(&server.ws_url("/")).unwrap().close_timeout(CLOSE_TIMEOUT);
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    let start = Instant::now();
    flooding.recv_timeout(WAIT).expect("the flood never got going");
    let end = rx.recv_timeout(BOUND);
    let took = start.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Release);
    let _ = done.send(());
    assert!(matches!(end, Ok(None)), "no end within {BOUND:?} while the server floods: {end:?}");
    assert!(took < BOUND, "{took:?}");
    let info = client.close_info().unwrap();
    assert_eq!((info.code.0, info.closed_by), (1000, ClosedBy::Remote), "{info}");
    drop(client);
    expect_no_more(&rx);
}
