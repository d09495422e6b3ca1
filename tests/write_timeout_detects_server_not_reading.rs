//! A server that stops reading while we send: once nothing queued has moved for
//! `write_timeout`, the connection ends, reported as a write timeout (one `None`). A sender
//! waiting for room in the full queue meanwhile is released with `NotConnected`, and the
//! messages that never left are counted.

mod support;

use support::*;
use wsthread::{Error, Options, WebSocketClient};

#[test]
fn write_timeout_detects_server_not_reading() {
    let (release_tx, release) = crossbeam_channel::bounded::<()>(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let _ = release.recv_timeout(secs(60)); // reads nothing
    });
    let options = Options::new(&server.ws_url("/"))
        .unwrap()
        .write_timeout(Some(ms(300)))
        .send_queue_limit(4 << 20)
        .send_high_water(4 << 20)
        .close_timeout(secs(5));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    let mut sent = 0;
    let end = loop {
        match client.send(vec![7u8; 1 << 20]) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 2000, "2 GB accepted by a server that reads nothing");
    };
    assert!(matches!(end, Error::NotConnected), "{end:?}");
    expect_end(&rx);
    let _ = release_tx.send(());
    let info = client.close_info().unwrap();
    eprintln!("{sent} MiB accepted; {info}");
    assert!(info.error.as_deref().is_some_and(|e| e.contains("write timeout")), "{info}");
    assert!(!info.clean);
    assert!(info.unsent_messages > 0 && info.unsent_bytes > 0, "{info}");
    drop(client);
    expect_no_more(&rx);
}
