//! A server certificate that expired, issued by a CA the client trusts (added with
//! `add_root_certificate_pem`), is refused with `Error::Certificate` saying it expired, under
//! each kind of roots the build has (`None`, and `Platform` and `WebPki` with their features);
//! the same CA's current certificate is accepted.

#![cfg(feature = "tls")]

mod support;

use support::dated_certs::{DatedCa, Period};
use support::tls::{wss_echo_server, ROOT_KINDS};
use support::*;
use wsthread::{Error, Options, RootCerts, State, WebSocketClient};

fn connect(ca: &DatedCa, period: Period, roots: RootCerts) -> Result<(), Error> {
    let (server, _seen) = wss_echo_server(ca.issue(&["127.0.0.1"], period));
    let options = Options::new(&server.wss_url("/"))
        .unwrap()
        .root_certs(roots)
        .add_root_certificate_pem(ca.pem())
        .connect_timeout(secs(20));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let result = client.connect(&[]).map(drop);
    if result.is_err() {
        assert_eq!(client.state(), State::Closed);
    }
    drop(client);
    if result.is_ok() {
        expect_end(&rx);
    }
    expect_no_more(&rx);
    result
}

#[test]
fn expired_leaf_under_trusted_ca_refused() {
    let ca = DatedCa::new("wsthread dated test CA");
    for &roots in ROOT_KINDS {
        match connect(&ca, Period::Expired, roots) {
            Err(Error::Certificate(e)) => {
                let text = e.to_string().to_lowercase(); // a platform verifier may say just "Expired"
                assert!(text.contains("expired"), "roots {roots:?}: refused, but not for expiry: {text}");
                eprintln!("roots {roots:?}: refused as expected: {text}");
            }
            other => panic!("roots {roots:?}: expected Error::Certificate, got {other:?}"),
        }
        if let Err(e) = connect(&ca, Period::Current, roots) {
            panic!("roots {roots:?}: the same CA's current certificate was refused: {e}");
        }
    }
}
