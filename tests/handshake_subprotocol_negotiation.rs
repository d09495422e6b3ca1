//! Subprotocols: the ones offered in `Options` go out in order, the server's choice comes
//! back in `Handshake::subprotocol`, and a choice that was not offered fails with
//! `Error::Handshake`.

mod support;

use tungstenite::handshake::server::{Request, Response};
use tungstenite::http::HeaderValue;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

#[test]
fn subprotocol_chosen_by_the_server() {
    let (tx, offers) = crossbeam_channel::unbounded();
    let (seen_tx, _seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, conn| {
        let tx = tx.clone();
        let ws = accept_inspecting(stream, move |req: &Request, resp: &mut Response| {
            let offered = req.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap().to_owned());
            tx.send(offered).unwrap();
            resp.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("v2.chat"));
        })
        .unwrap();
        echo_loop(ws, conn, &seen_tx);
    });

    let options = Options::new(&server.ws_url("/")).unwrap().subprotocol("v1.chat").subprotocol("v2.chat");
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let hs = client.connect(&[]).unwrap();
    let offered = offers.recv_timeout(WAIT).unwrap().expect("Sec-WebSocket-Protocol offered");
    let offered: Vec<&str> = offered.split(',').map(str::trim).collect();
    assert_eq!(offered, ["v1.chat", "v2.chat"]);
    assert_eq!(hs.subprotocol.as_deref(), Some("v2.chat"));
    client.send("chat").unwrap();
    assert_eq!(next_message(&rx), Message::Text("chat".into()));
    client.disconnect().unwrap();
}

#[test]
fn subprotocol_not_offered_is_refused() {
    let server = raw_101_server(&["Sec-WebSocket-Protocol: v9.other"]);
    let options = Options::new(&server.ws_url("/")).unwrap().subprotocol("v1.chat");
    expect_handshake_error(options, "subprotocol");
}

#[test]
fn subprotocol_when_none_offered_is_refused() {
    let server = raw_101_server(&["Sec-WebSocket-Protocol: v1.chat"]);
    let options = Options::new(&server.ws_url("/")).unwrap();
    expect_handshake_error(options, "unrequested subprotocol");
}
