//! A callback that blocks holds back only the messages it would receive: a message sent
//! from another thread meanwhile reaches the server while the callback is still blocked,
//! over ws:// and over wss:// alike.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use support::*;
use wsthread::{Message, Options, WebSocketClient};

/// Sends one message to start the callback, then reports every text the client sends
/// (with when it arrived) until the connection ends.
fn serve<S: Read + Write>(mut ws: tungstenite::WebSocket<S>, got: &Sender<(String, Instant)>) {
    if ws.send(WsMessage::text("first")).is_err() {
        return;
    }
    loop {
        match ws.read() {
            Ok(WsMessage::Text(t)) => drop(got.send((t.as_str().to_owned(), Instant::now()))),
            Ok(_) => {}
            Err(_) => break,
        }
    }
}

fn check(url: &str, options: impl FnOnce(Options) -> Options, got: Receiver<(String, Instant)>) {
    let (entered_tx, entered) = crossbeam_channel::bounded(1);
    let (release, released) = crossbeam_channel::bounded::<()>(1);
    let (forward, rx) = collector();
    let mut forward = forward;
    let callback = move |msg: Option<Message>| {
        if msg.is_some() && entered_tx.try_send(()).is_ok() {
            // Blocks until the test lets go; bounded, so that nothing hangs for good.
            let _ = released.recv_timeout(secs(30));
        }
        forward(msg)
    };
    let client = WebSocketClient::new(callback, options(Options::new(url).unwrap())).unwrap();
    client.connect(&[]).unwrap();
    entered.recv_timeout(WAIT).expect("the callback never got the server's first message");

    let sent = Instant::now();
    client.send("ping-through").unwrap();
    let through = got.recv_timeout(secs(5));
    let released_at = Instant::now();
    release.send(()).unwrap();
    match through {
        Ok((text, _)) => assert_eq!(text, "ping-through"),
        Err(_) => {
            let late = got.recv_timeout(WAIT);
            panic!(
                "the server did not get the message within 5 s of the send while the callback was blocked; \
                 it came {:?} after the send, {:?} after the callback was released",
                late.as_ref().ok().map(|(_, at)| *at - sent),
                late.as_ref().ok().map(|(_, at)| at.saturating_duration_since(released_at)),
            );
        }
    }
    assert_eq!(next_message(&rx), Message::Text("first".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn blocked_callback_does_not_hold_back_sends() {
    let (got_tx, got) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream: TcpStream, _| {
        if let Ok(ws) = tungstenite::accept(stream) {
            serve(ws, &got_tx);
        }
    });
    check(&server.ws_url("/"), |o| o, got);
}

/// Over wss:// the connection thread holds the TLS state; a sender must still not wait
/// for the callback.
#[cfg(feature = "tls")]
#[test]
fn wss_blocked_callback_does_not_hold_back_sends() {
    use rustls::{ServerConnection, StreamOwned};
    use support::tls::{server_config, TestCa};
    use wsthread::RootCerts;

    let ca = TestCa::new("wsthread test CA");
    let config = server_config(ca.issue(&["127.0.0.1"]));
    let (got_tx, got) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |tcp: TcpStream, _| {
        let Ok(tls) = ServerConnection::new(config.clone()) else { return };
        if let Ok(ws) = tungstenite::accept(StreamOwned::new(tls, tcp)) {
            serve(ws, &got_tx);
        }
    });
    let pem = ca.pem();
    check(&server.wss_url("/"), move |o| o.root_certs(RootCerts::None).add_root_certificate_pem(pem), got);
}
