//! A Close from the server (4001 "bye") ends the connection: the callback gets `None` exactly
//! once, `close_info` tells who closed and why, and the client echoes the code.

mod support;

use support::*;
use tungstenite::protocol::frame::coding::CloseCode as WsCode;
use tungstenite::protocol::CloseFrame;
use wsthread::{CloseCode, ClosedBy, Message, Options, State, WebSocketClient};

#[test]
fn server_close_delivers_one_none() {
    let (tx, seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut ws = tungstenite::accept(stream).unwrap();
        ws.send(WsMessage::text("hello")).unwrap();
        ws.close(Some(CloseFrame { code: WsCode::from(4001), reason: "bye".into() })).unwrap();
        loop {
            match ws.read() {
                Ok(WsMessage::Close(f)) => {
                    tx.send(f.map(|f| (u16::from(f.code), f.reason.as_str().to_owned()))).unwrap()
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });

    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    assert_eq!(next_message(&rx), Message::Text("hello".into()));
    expect_end(&rx);

    let echoed = seen.recv_timeout(WAIT).expect("the server got no Close reply");
    assert_eq!(echoed.map(|e| e.0), Some(4001), "the client echoes the server's code");

    let info = client.close_info().expect("close_info after the end");
    assert_eq!(info.code, CloseCode(4001));
    assert_eq!(info.reason, "bye");
    assert_eq!(info.closed_by, ClosedBy::Remote);
    assert!(info.clean, "{info:?}");
    assert_eq!(info.error, None);
    assert_eq!(client.state(), State::Closed);
    assert!(!client.is_open());

    drop(client);
    expect_no_more(&rx); // exactly one None
}
