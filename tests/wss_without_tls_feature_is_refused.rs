//! In a build without the `tls` feature (a ws://-only client, no rustls), a `wss://` URL is
//! refused by `Options::new`, before any I/O, with `Error::FeatureNotEnabled` whose text names
//! the `tls` feature; `ws://` still connects and echoes.

#![cfg(not(feature = "tls"))]

mod support;

use support::*;
use wsthread::{Error, Message, Options};

#[test]
fn wss_url_is_refused_naming_the_tls_feature() {
    // Nothing listens on port 1: a refusal that came from a dial would be an I/O error.
    match Options::new("wss://127.0.0.1:1/") {
        Err(e @ Error::FeatureNotEnabled { feature: "tls", .. }) => {
            let text = e.to_string();
            assert!(text.contains("`tls`"), "the error does not name the `tls` feature: {text}");
            eprintln!("refused as expected: {text}");
        }
        Err(e) => panic!("expected Error::FeatureNotEnabled for tls, got {e:?}"),
        Ok(o) => panic!("a wss:// URL was accepted in a build without tls: {}", o.url()),
    }
}

#[test]
fn ws_still_connects_and_echoes() {
    let (_server, seen, client, rx) = connected_echo();
    client.send("no tls needed").unwrap();
    client.send(vec![1u8, 2, 3]).unwrap();
    assert_eq!(next_message(&rx), Message::Text("no tls needed".into()));
    assert_eq!(next_message(&rx), Message::Binary(vec![1, 2, 3]));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(wait_close(&seen).1, Some(1001));
    drop(client);
    expect_no_more(&rx);
}
