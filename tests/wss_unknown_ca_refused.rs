//! A server certificate from a CA the client does not trust is refused with
//! `Error::Certificate`.

#![cfg(feature = "tls")]

mod support;

use support::tls::{wss_echo_server, TestCa};
use support::*;
use wsthread::{Error, Options, RootCerts, WebSocketClient};

#[test]
fn wss_unknown_ca_refused() {
    let trusted = TestCa::new("trusted test CA");
    let unknown = TestCa::new("unknown test CA");
    let (server, _seen) = wss_echo_server(unknown.issue(&["localhost", "127.0.0.1"]));
    let options = Options::new(&server.wss_url("/"))
        .unwrap()
        .root_certs(RootCerts::None)
        .add_root_certificate_pem(trusted.pem())
        .connect_timeout(secs(20));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    match client.connect(&[]) {
        Err(Error::Certificate(e)) => eprintln!("refused as expected: {e}"),
        other => panic!("expected Error::Certificate, got {other:?}"),
    }
    assert!(!client.is_open());
    drop(client);
    expect_no_more(&rx);
}
