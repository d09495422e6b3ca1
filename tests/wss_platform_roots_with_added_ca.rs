//! With the default roots (`RootCerts::Platform`, the OS trust store), a CA added with
//! `add_root_certificate_pem` is trusted too: a server certificate it issued is accepted, with
//! no network needed. Without it, the same server is refused.

#![cfg(feature = "platform-verifier")]

mod support;

use support::tls::{echo_with_a_ca_added_to_the_default_roots, wss_echo_server, TestCa};
use support::*;
use wsthread::{Error, Options, RootCerts, WebSocketClient};

#[test]
fn platform_roots_with_added_ca_accept_its_certificate() {
    echo_with_a_ca_added_to_the_default_roots(RootCerts::Platform, "private CA");
}

#[test]
fn platform_roots_alone_refuse_a_private_ca() {
    let ca = TestCa::new("wsthread private CA");
    let (server, _seen) = wss_echo_server(ca.issue(&["localhost", "127.0.0.1"]));
    let options = Options::new(&server.wss_url("/")).unwrap().connect_timeout(secs(20));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    match client.connect(&[]) {
        Err(Error::Certificate(e)) => eprintln!("refused as expected: {e}"),
        other => panic!("expected Error::Certificate, got {other:?}"),
    }
    drop(client);
    expect_no_more(&rx);
}
