//! Headers given to `connect` reach the server with the URL's path and query and a correct
//! Host; the server's own response headers come back in the `Handshake`. Headers that the
//! handshake sets itself, or values with CR/LF, are refused before any I/O.

mod support;

use tungstenite::handshake::server::{Request, Response};
use tungstenite::http::HeaderValue;

use support::*;
use wsthread::{Error, Message, Options, WebSocketClient};

#[test]
fn request_headers_reach_the_server() {
    let (tx, requests) = crossbeam_channel::unbounded();
    let (seen_tx, _seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, conn| {
        let tx = tx.clone();
        let ws = accept_inspecting(stream, move |req: &Request, resp: &mut Response| {
            let h = |n: &str| req.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
            tx.send((req.uri().to_string(), h("authorization"), h("x-trace-id"), h("host"))).unwrap();
            resp.headers_mut().insert("x-served-by", HeaderValue::from_static("test-server"));
        })
        .unwrap();
        echo_loop(ws, conn, &seen_tx);
    });

    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/feed?room=7")).unwrap()).unwrap();
    let hs = client.connect(&[("Authorization", "Bearer abc.def"), ("X-Trace-Id", "42")]).unwrap();
    let (uri, auth, trace, host) = requests.recv_timeout(WAIT).unwrap();
    assert_eq!(uri, "/feed?room=7");
    assert_eq!(auth.as_deref(), Some("Bearer abc.def"));
    assert_eq!(trace.as_deref(), Some("42"));
    assert_eq!(host, Some(server.addr().to_string()));

    assert_eq!(hs.status, 101);
    assert_eq!(hs.header("X-Served-By"), Some("test-server"));
    assert_eq!(hs.subprotocol, None);
    assert!(hs.extensions.is_empty());

    client.send("through").unwrap();
    assert_eq!(next_message(&rx), Message::Text("through".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
}

#[test]
fn reserved_request_headers_are_refused_before_any_io() {
    let (server, _seen) = echo_server();
    let (callback, _rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    for (name, value) in [("Host", "evil"), ("Sec-WebSocket-Key", "x"), ("X-Bad", "a\r\nInjected: 1")] {
        match client.connect(&[(name, value)]) {
            Err(Error::InvalidHeader(_)) => {}
            other => panic!("{name}: expected InvalidHeader, got {other:?}"),
        }
    }
}

#[test]
fn credentials_in_the_url_become_basic_authorization() {
    let (tx, auths) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if let Ok(request) = c.accept(&[]) {
            tx.send(header_value(&request, "authorization")).unwrap();
            let _ = c.read_close();
            let _ = c.write_close(1000, "");
        }
    });
    let url = format!("ws://alice:s3cr%40t@{}/", server.addr());
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, Options::new(&url).unwrap()).unwrap();
    client.connect(&[]).unwrap();
    // base64("alice:s3cr@t")
    assert_eq!(auths.recv_timeout(WAIT).unwrap().as_deref(), Some("Basic YWxpY2U6czNjckB0"));
    client.disconnect().unwrap();
    expect_end(&rx);
}
