//! Unusable TLS input is refused by `WebSocketClient::new` with `Error::InvalidOption` naming
//! the input, before any connect: a client certificate chain or key PEM that does not parse,
//! a key that is not the certificate's, a CA PEM without a certificate.

#![cfg(feature = "tls")]

mod support;

use support::tls::TestCa;
use support::*;
use wsthread::{Error, Options, WebSocketClient};

const NOT_PEM: &str = "this is not PEM at all\n";
const BAD_CERT_PEM: &str = "-----BEGIN CERTIFICATE-----\n!!! not base64 !!!\n-----END CERTIFICATE-----\n";
const BAD_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";

fn expect_invalid_option(what: &str, options: Options, names: &str) {
    let (callback, rx) = collector();
    match WebSocketClient::new(callback, options) {
        Err(Error::InvalidOption(why)) => {
            assert!(why.contains(names), "{what}: the error does not name {names:?}: {why}");
            eprintln!("{what}: refused as expected: {why}");
        }
        Err(e) => panic!("{what}: expected Error::InvalidOption, got {e:?}"),
        Ok(_) => panic!("{what}: expected Error::InvalidOption, the client was made"),
    }
    expect_no_more(&rx);
}

#[test]
fn unusable_tls_input_is_invalid_option() {
    // Never connected to: the refusal comes before any I/O.
    let url = "wss://127.0.0.1:9/";
    let ca = TestCa::new("wsthread test CA");
    let (chain, key) = ca.issue_client_pem("test client");
    let (_other_chain, other_key) = ca.issue_client_pem("another client");
    // The test CA added, so that every build has roots to trust (with `tls` alone the default
    // roots are none, and a client without any is refused for that first).
    let base = || Options::new(url).unwrap().add_root_certificate_pem(ca.pem());

    for (what, chain, key, names) in [
        ("chain that is not PEM", NOT_PEM, key.as_str(), "client certificate"),
        ("chain PEM that does not decode", BAD_CERT_PEM, key.as_str(), "client certificate"),
        ("key that is not PEM", chain.as_str(), NOT_PEM, "client key"),
        ("key PEM that is not a key", chain.as_str(), BAD_KEY_PEM, "client"),
        ("key of another certificate", chain.as_str(), other_key.as_str(), "client"),
    ] {
        expect_invalid_option(what, base().client_certificate_pem(chain, key), names);
    }
    expect_invalid_option("CA PEM without a certificate", base().add_root_certificate_pem(NOT_PEM), "CA certificate");
    expect_invalid_option("CA PEM that does not decode", base().add_root_certificate_pem(BAD_CERT_PEM), "CA certificate");

    // The same inputs, well formed, make a client.
    let (callback, _rx) = collector();
    let options = base().client_certificate_pem(chain, key);
    WebSocketClient::new(callback, options).expect("well-formed TLS input accepted");
}
