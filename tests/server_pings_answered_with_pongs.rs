//! Pings from the server are answered with pongs that carry the same payload.

mod support;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

#[test]
fn server_pings_answered_with_pongs() {
    let payloads: Vec<Vec<u8>> = vec![b"".to_vec(), b"abc".to_vec(), (0..125u8).collect(), vec![0xFF, 0, 0x80]];
    let expected = payloads.clone();
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut ws = tungstenite::accept(stream).unwrap();
        for p in &payloads {
            ws.send(WsMessage::Ping(p.clone().into())).unwrap();
            // Read until the pong; anything else is reported as a failure.
            loop {
                match ws.read().unwrap() {
                    WsMessage::Pong(got) => {
                        tx.send(Ok(got.to_vec())).unwrap();
                        break;
                    }
                    other => tx.send(Err(format!("{other:?}"))).unwrap(),
                }
            }
        }
        ws.send(WsMessage::text("pinged")).unwrap();
        while ws.read().is_ok() {}
    });

    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    for p in &expected {
        let got = seen.recv_timeout(WAIT).expect("the server got no pong").expect("not a pong");
        assert_eq!(&got, p);
    }
    // Pings and pongs are not messages: the first message is the server's text.
    assert_eq!(next_message(&rx), Message::Text("pinged".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    drop(client);
    expect_no_more(&rx);
}
