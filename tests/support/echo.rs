//! The echo server most tests talk to, and what it reports of the client's control frames.

use std::io::{Read, Write};

use crossbeam_channel::{Receiver, Sender};
use wsthread::{Options, WebSocketClient};

use super::{collector, Events, Server, WsMessage, WAIT};

/// What a test server saw from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The client's Close frame: its code (None when it had none) and reason.
    Close { conn: usize, code: Option<u16>, reason: String },
    /// A pong and its payload.
    Pong { conn: usize, payload: Vec<u8> },
    /// The connection ended (the server dropped it).
    End { conn: usize },
}

/// Serves an accepted WebSocket: echoes text and binary, reports Close frames and pongs,
/// completes the close handshake (tungstenite answers the Close), then drops the stream.
pub fn echo_loop<S: Read + Write>(mut ws: tungstenite::WebSocket<S>, conn: usize, seen: &Sender<Seen>) {
    loop {
        match ws.read() {
            Ok(m @ (WsMessage::Text(_) | WsMessage::Binary(_))) => {
                if ws.send(m).is_err() {
                    break;
                }
            }
            Ok(WsMessage::Close(frame)) => {
                let (code, reason) = match frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                    None => (None, String::new()),
                };
                let _ = seen.send(Seen::Close { conn, code, reason });
            }
            Ok(WsMessage::Pong(p)) => {
                let _ = seen.send(Seen::Pong { conn, payload: p.to_vec() });
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = seen.send(Seen::End { conn });
}

/// Accepts a WebSocket upgrade, letting `inspect` look at the request and add to the 101
/// response (tungstenite's callback, whose error type is dictated by tungstenite).
#[allow(clippy::result_large_err)]
pub fn accept_inspecting<S: Read + Write>(
    stream: S,
    inspect: impl FnOnce(&tungstenite::handshake::server::Request, &mut tungstenite::handshake::server::Response),
) -> Option<tungstenite::WebSocket<S>> {
    tungstenite::accept_hdr(stream, |req: &tungstenite::handshake::server::Request, mut resp| {
        inspect(req, &mut resp);
        Ok(resp)
    })
    .ok()
}

/// A plain `ws://` echo server, one thread per connection.
pub fn echo_server() -> (Server, Receiver<Seen>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, conn| {
        if let Ok(ws) = tungstenite::accept(stream) {
            echo_loop(ws, conn, &tx);
        }
    });
    (server, rx)
}

/// Waits for the next Close the server saw, skipping other events.
pub fn wait_close(seen: &Receiver<Seen>) -> (usize, Option<u16>, String) {
    loop {
        match seen.recv_timeout(WAIT) {
            Ok(Seen::Close { conn, code, reason }) => return (conn, code, reason),
            Ok(_) => {}
            Err(e) => panic!("the server saw no Close frame: {e:?}"),
        }
    }
}

/// An echo server, what it sees, and a client of it (not connected yet) with its events.
pub fn echo_client() -> (Server, Receiver<Seen>, WebSocketClient, Events) {
    let (server, seen) = echo_server();
    let (callback, events) = collector();
    let client = WebSocketClient::new(callback, Options::new(&server.ws_url("/")).unwrap()).unwrap();
    (server, seen, client, events)
}

/// [`echo_client`], connected: the start of most tests.
pub fn connected_echo() -> (Server, Receiver<Seen>, WebSocketClient, Events) {
    let (server, seen, client, events) = echo_client();
    client.connect(&[]).unwrap();
    (server, seen, client, events)
}
