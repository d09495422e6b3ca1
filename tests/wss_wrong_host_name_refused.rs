//! A certificate that does not name the host connected to is refused with
//! `Error::Certificate` for its name (the error says which name it is not valid for), even
//! though its CA is trusted.

#![cfg(feature = "tls")]

mod support;

use support::tls::{wss_echo_server, TestCa};
use support::*;
use wsthread::{Error, Options, RootCerts, State, WebSocketClient};

fn expect_name_error(url: &str, host: &str, ca: &TestCa) {
    let options = Options::new(url)
        .unwrap()
        .root_certs(RootCerts::None)
        .add_root_certificate_pem(ca.pem())
        .connect_timeout(secs(20));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    match client.connect(&[]) {
        // Another certificate error (an unknown issuer, say) would be a refusal for the wrong
        // reason: the name must be what is refused.
        Err(Error::Certificate(e)) => {
            let text = e.to_string();
            let name_error = format!("certificate not valid for name {host:?}");
            assert!(text.contains(&name_error), "{url}: refused, but not for its name: {text}");
            eprintln!("refused as expected: {text}");
        }
        other => panic!("{url}: expected Error::Certificate, got {other:?}"),
    }
    assert_eq!(client.state(), State::Closed);
    assert!(matches!(client.send("x"), Err(Error::NotConnected)));
    drop(client);
    expect_no_more(&rx); // a failed connect delivers nothing, not even None
}

#[test]
fn certificate_for_localhost_refused_at_127_0_0_1() {
    let ca = TestCa::new("wsthread test CA");
    let (server, _seen) = wss_echo_server(ca.issue(&["localhost"]));
    expect_name_error(&server.wss_url("/"), "127.0.0.1", &ca);
}

#[test]
fn certificate_for_another_name_refused_at_localhost() {
    let ca = TestCa::new("wsthread test CA");
    let (server, _seen) = wss_echo_server(ca.issue(&["other.example"]));
    let url = format!("wss://localhost:{}/", server.addr().port());
    expect_name_error(&url, "localhost", &ca);
}
