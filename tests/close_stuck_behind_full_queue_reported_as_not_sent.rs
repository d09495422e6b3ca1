//! When the client's Close cannot leave because the server reads nothing and 64 MiB are
//! queued ahead of it, `disconnect()` still returns after `close_timeout`, and `close_info`
//! tells what happened: the Close frame could not be sent (not "no Close reply", which
//! would blame a server that never got it), with the messages that never left counted.

mod support;

use std::sync::Arc;

use support::hostile::Disconnecting;
use support::*;
use wsthread::{ClosedBy, Options, WebSocketClient};

const MESSAGES: usize = 32;
const SIZE: usize = 2 << 20; // 64 MiB in all, far more than loopback socket buffers hold

#[test]
fn close_stuck_behind_full_queue_reported_as_not_sent() {
    let (done_tx, done) = crossbeam_channel::bounded::<()>(1);
    let (report_tx, report) = crossbeam_channel::bounded(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        // Reads nothing until the client has given up.
        let _ = done.recv_timeout(secs(60));
        // Then checks the premise: whatever reached it, no Close frame among it.
        c.stream.set_read_timeout(Some(secs(20))).unwrap();
        let mut frames = 0;
        let close = loop {
            match c.read_frame() {
                Ok(f) if f.opcode == OP_CLOSE => break true,
                Ok(_) => frames += 1,
                Err(_) => break false,
            }
        };
        let _ = report_tx.send((frames, close));
    });
    let close_timeout = secs(1);
    // Everything queued at once (no waiting for room), and no write deadline: only the close
    // timeout is at work here.
    let options = Options::new(&server.ws_url("/"))
        .unwrap()
        .close_timeout(close_timeout)
        .send_queue_limit(2 * MESSAGES * SIZE).send_high_water(2 * MESSAGES * SIZE)
        .write_timeout(None);
    let (callback, rx) = collector();
    let client = Arc::new(WebSocketClient::new(callback, options).unwrap());
    client.connect(&[]).unwrap();
    for i in 0..MESSAGES {
        client.send(vec![i as u8; SIZE]).unwrap();
    }
    let mut disconnecting = Disconnecting::start(&client);
    let took = disconnecting.wait(close_timeout + WAIT);
    done_tx.send(()).unwrap();
    let took = took.expect("hang guard: disconnect did not return");
    eprintln!("disconnect returned after {took:.2?}");
    expect_end(&rx);
    let info = client.close_info().unwrap();
    eprintln!("close_info: {info:?}");
    let (frames, close) = report.recv_timeout(WAIT).expect("the server never finished reading");
    assert!(!close, "premise: the Close frame was not to reach the server ({frames} frames before it did)");
    assert!(frames < MESSAGES, "premise: the messages were not to reach the server in whole");

    assert_eq!(info.closed_by, ClosedBy::Local, "{info:?}");
    assert!(!info.clean, "{info:?}");
    let error = info.error.as_deref().unwrap_or("");
    assert!(error.contains("could not be sent"), "the error should say the Close could not be sent: {info:?}");
    assert!(info.unsent_messages > 0, "{info:?}");
    assert!(info.unsent_bytes > 0, "{info:?}");
    drop(client);
    expect_no_more(&rx);
}
