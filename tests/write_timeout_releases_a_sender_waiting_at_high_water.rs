//! A server that stops reading while a sending loop waits at `send_high_water` (the default
//! 1 MiB, not the limit): the write deadline still runs from the last progress, the
//! connection ends as a write timeout, and the waiting `send` is released with
//! `NotConnected`.

mod support;

use support::*;
use wsthread::{Error, Options, WebSocketClient};

#[test]
fn write_timeout_releases_a_sender_waiting_at_high_water() {
    let (release_tx, release) = crossbeam_channel::bounded::<()>(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let _ = release.recv_timeout(secs(60)); // reads nothing
    });
    let options = Options::new(&server.ws_url("/")).unwrap().write_timeout(Some(ms(300))).close_timeout(secs(5));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    let mut sent = 0;
    let end = loop {
        match client.send(vec![7u8; 256 << 10]) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 8000, "2 GB accepted by a server that reads nothing");
    };
    assert!(matches!(end, Error::NotConnected), "{end:?}");
    expect_end(&rx);
    let _ = release_tx.send(());
    let info = client.close_info().unwrap();
    eprintln!("{sent} messages of 256 KiB accepted; {info}");
    assert!(info.error.as_deref().is_some_and(|e| e.contains("write timeout")), "{info}");
    assert!(client.buffered_amount() == 0 && !client.is_open());
}
