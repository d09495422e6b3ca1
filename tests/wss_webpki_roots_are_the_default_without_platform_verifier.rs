//! With `webpki-roots` and without `platform-verifier`, the default roots are
//! `RootCerts::WebPki` (Mozilla's roots compiled in), and a CA added with
//! `add_root_certificate_pem` is trusted besides them: a server certificate it issued is
//! accepted, with no network needed.

#![cfg(all(feature = "webpki-roots", not(feature = "platform-verifier")))]

mod support;

use support::tls::{wss_echo_server, TestCa};
use support::*;
use wsthread::{Message, Options, RootCerts, TlsOptions, WebSocketClient};

#[test]
fn webpki_roots_are_the_default() {
    assert_eq!(RootCerts::default(), RootCerts::WebPki);
    assert_eq!(TlsOptions::default().roots, RootCerts::WebPki);

    let ca = TestCa::new("wsthread private CA");
    let (server, seen) = wss_echo_server(ca.issue(&["localhost", "127.0.0.1"]));
    let options = Options::new(&server.wss_url("/")).unwrap().add_root_certificate_pem(ca.pem());
    assert_eq!(options.tls.roots, RootCerts::WebPki, "the default roots without platform-verifier");
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let handshake = client.connect(&[]).unwrap();
    assert!(handshake.tls.is_some());
    client.send("bundled roots and a private CA").unwrap();
    assert_eq!(next_message(&rx), Message::Text("bundled roots and a private CA".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(wait_close(&seen).1, Some(1001));
    drop(client);
    expect_no_more(&rx);
}
