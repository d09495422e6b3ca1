//! With the `tls` feature alone (neither `platform-verifier` nor `webpki-roots`), the default
//! roots are `RootCerts::None`: a CA added with `add_root_certificate_pem` is all a wss://
//! client trusts, and a server certificate it issued is accepted; with nothing added, the
//! client is refused by `WebSocketClient::new` with `Error::InvalidOption`, before any connect.

#![cfg(all(feature = "tls", not(feature = "platform-verifier"), not(feature = "webpki-roots")))]

mod support;

use support::tls::{wss_echo_server, TestCa};
use support::*;
use wsthread::{Error, Message, Options, RootCerts, TlsOptions, WebSocketClient};

#[test]
fn default_roots_are_none_and_an_added_ca_is_trusted() {
    assert_eq!(RootCerts::default(), RootCerts::None);
    assert_eq!(TlsOptions::default().roots, RootCerts::None);

    let ca = TestCa::new("wsthread private CA");
    let (server, seen) = wss_echo_server(ca.issue(&["localhost", "127.0.0.1"]));
    let options = Options::new(&server.wss_url("/")).unwrap().add_root_certificate_pem(ca.pem());
    assert_eq!(options.tls.roots, RootCerts::None, "the default roots of a tls-only build");
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let handshake = client.connect(&[]).unwrap();
    assert!(handshake.tls.is_some());
    client.send("added CA only").unwrap();
    assert_eq!(next_message(&rx), Message::Text("added CA only".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(wait_close(&seen).1, Some(1001));
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn default_roots_with_nothing_added_are_refused_up_front() {
    // Never connected to: the refusal comes before any I/O.
    let options = Options::new("wss://127.0.0.1:9/").unwrap();
    let (callback, rx) = collector();
    match WebSocketClient::new(callback, options) {
        Err(Error::InvalidOption(why)) => eprintln!("refused as expected: {why}"),
        Err(e) => panic!("expected Error::InvalidOption, got {e:?}"),
        Ok(_) => panic!("a wss:// client with no roots at all was made"),
    }
    expect_no_more(&rx);
}
