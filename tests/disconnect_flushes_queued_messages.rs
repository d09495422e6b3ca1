//! Messages sent before `disconnect()` all reach the server before the Close frame.

mod support;

use support::*;
use wsthread::{Options, WebSocketClient};

const COUNT: usize = 2000;

#[test]
fn disconnect_flushes_queued_messages() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut ws = tungstenite::accept(stream).unwrap();
        let mut received = Vec::new();
        loop {
            match ws.read() {
                Ok(WsMessage::Binary(b)) => received.push(b.to_vec()),
                Ok(WsMessage::Close(f)) => {
                    tx.send((received.clone(), f.map(|f| u16::from(f.code)))).unwrap();
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    for i in 0..COUNT {
        let mut m = (i as u32).to_be_bytes().to_vec();
        m.resize(1024, (i % 251) as u8);
        client.send(m).unwrap();
    }
    client.disconnect().unwrap();
    let (received, code) = seen.recv_timeout(WAIT).unwrap();
    assert_eq!(code, Some(1001));
    assert_eq!(received.len(), COUNT, "every queued message went out before the Close");
    for (i, m) in received.iter().enumerate() {
        assert_eq!(m[..4], (i as u32).to_be_bytes(), "message {i} out of order");
        assert_eq!(m.len(), 1024);
    }
    assert!(client.close_info().unwrap().clean);
    expect_end(&rx);
    drop(client);
    expect_no_more(&rx);
}
