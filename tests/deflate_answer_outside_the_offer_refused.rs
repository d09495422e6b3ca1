//! RFC 7692 §7.1: a server's permessage-deflate answer that our offer did not allow fails the
//! connect with `Error::Handshake`: an unknown or repeated parameter, a window outside 8-15 or
//! over what we offered, a value where none belongs, or more than one extension.

#![cfg(feature = "deflate")]

mod support;

use support::*;
use wsthread::{DeflateOptions, Options};

#[test]
fn answers_outside_the_offer_are_refused() {
    const ANSWERS: [&[&str]; 7] = [
        &["Sec-WebSocket-Extensions: permessage-deflate; mystery=1"],
        &["Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_no_context_takeover"],
        &["Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16"],
        &["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7"],
        &["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12"],
        &["Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover=yes"],
        &["Sec-WebSocket-Extensions: permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate"],
    ];
    for answer in ANSWERS {
        let server = raw_101_server(answer);
        // We allow the server to limit our window to 10 bits at most.
        let offer = DeflateOptions::default().client_max_window_bits(Some(10));
        let options = Options::new(&server.ws_url("/")).unwrap().deflate(Some(offer));
        expect_handshake_error(options, answer.join(" / ").as_str());
    }
}

#[test]
fn an_answer_within_the_offer_is_reported_in_the_handshake() {
    let server = raw_101_server(&["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=9; server_no_context_takeover"]);
    let options = Options::new(&server.ws_url("/")).unwrap().deflate(Some(DeflateOptions::default()));
    let (callback, _rx) = collector();
    let client = wsthread::WebSocketClient::new(callback, options).unwrap();
    let hs = client.connect(&[]).unwrap();
    let params = hs.deflate.expect("agreed");
    assert_eq!(params.client_max_window_bits, 9);
    assert!(params.server_no_context_takeover && !params.client_no_context_takeover);
    assert_eq!(hs.extensions, ["permessage-deflate; client_max_window_bits=9; server_no_context_takeover"]);
}
