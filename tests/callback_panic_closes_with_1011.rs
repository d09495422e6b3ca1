//! A panic in the callback closes the connection with 1011, is reported in
//! `close_info().error`, delivers no further messages, still delivers `None` once, and the
//! process goes on.

mod support;

use support::*;
use wsthread::{ClosedBy, Message, Options, WebSocketClient};

#[test]
fn callback_panic_closes_with_1011() {
    let (server, seen) = {
        let (tx, rx) = crossbeam_channel::unbounded();
        let server = Server::threaded(move |stream, conn| {
            let mut ws = tungstenite::accept(stream).unwrap();
            // Sent back to back: the second must not reach the callback after its panic.
            ws.send(WsMessage::text("fine")).unwrap();
            ws.send(WsMessage::text("boom")).unwrap();
            let _ = ws.send(WsMessage::text("after the panic"));
            echo_loop(ws, conn, &tx);
        });
        (server, rx)
    };

    let (forward, rx) = crossbeam_channel::unbounded();
    let client = WebSocketClient::new(
        move |msg: Option<Message>| {
            if let Some(Message::Text(t)) = &msg {
                if t == "boom" {
                    panic!("kaboom-42 from the test callback");
                }
            }
            forward.send(msg).unwrap();
        },
        Options::new(&server.ws_url("/")).unwrap(),
    )
    .unwrap();
    client.connect(&[]).unwrap();

    assert_eq!(next_message(&rx), Message::Text("fine".into()));
    expect_end(&rx);

    let (_, code, _) = wait_close(&seen);
    assert_eq!(code, Some(1011));

    let info = client.close_info().unwrap();
    assert_eq!(info.code.0, 1011);
    assert_eq!(info.closed_by, ClosedBy::Local);
    let error = info.error.as_deref().unwrap_or("");
    assert!(error.contains("kaboom-42"), "close_info().error should tell the panic: {info:?}");
    assert!(!client.is_open());

    // The client is still usable: a new connection works.
    client.connect(&[]).unwrap();
    assert_eq!(next_message(&rx), Message::Text("fine".into()));
    expect_end(&rx);

    drop(client);
    expect_no_more(&rx);
}
