//! A server that answers 101 with an extension the client did not offer (here
//! permessage-deflate) is refused with `Error::Handshake`.

mod support;

use support::*;
use wsthread::{Error, Options, State, WebSocketClient};

/// A raw server that answers 101 with `extra` headers, then waits for the client to go.
fn raw_101_server(extra: &'static [&'static str]) -> Server {
    Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if c.accept(extra).is_ok() {
            c.drain_until_eof();
        }
    })
}

fn expect_handshake_error(options: Options, what: &str) {
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options.connect_timeout(secs(20))).unwrap();
    match client.connect(&[]) {
        Err(Error::Handshake(why)) => eprintln!("{what}: refused as expected: {why}"),
        other => panic!("{what}: expected Error::Handshake, got {other:?}"),
    }
    assert_eq!(client.state(), State::Closed);
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn extension_not_offered_is_refused() {
    let server = raw_101_server(&["Sec-WebSocket-Extensions: permessage-deflate"]);
    let options = Options::new(&server.ws_url("/")).unwrap();
    expect_handshake_error(options, "extension");
}
