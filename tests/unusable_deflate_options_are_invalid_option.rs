//! Deflate options outside RFC 7692's ranges are refused by `WebSocketClient::new` with
//! `Error::InvalidOption` (as unusable TLS input is), before any connect.

#![cfg(feature = "deflate")]

use wsthread::{DeflateOptions, Error, Options, WebSocketClient};

#[test]
fn unusable_deflate_options_are_invalid_option() {
    let bad = [
        ("client window 7", DeflateOptions::default().client_max_window_bits(Some(7))),
        ("server window 16", DeflateOptions::default().server_max_window_bits(Some(16))),
        ("level 10", DeflateOptions::default().level(10)),
    ];
    for (what, deflate) in bad {
        let options = Options::new("ws://127.0.0.1:1/").unwrap().deflate(Some(deflate));
        match WebSocketClient::new(|_| {}, options) {
            Err(Error::InvalidOption(why)) => eprintln!("{what}: {why}"),
            Err(e) => panic!("{what}: expected Error::InvalidOption, got {e:?}"),
            Ok(_) => panic!("{what}: the client was made"),
        }
    }
    let fine = Options::new("ws://127.0.0.1:1/").unwrap().deflate(Some(DeflateOptions::default().client_max_window_bits(Some(8))));
    assert!(WebSocketClient::new(|_| {}, fine).is_ok());
}
