//! With the `tls` feature alone (neither `platform-verifier` nor `webpki-roots`), the default
//! roots are `RootCerts::None`: a CA added with `add_root_certificate_pem` is all a wss://
//! client trusts, and a server certificate it issued is accepted; with nothing added, the
//! client is refused by `WebSocketClient::new` with `Error::InvalidOption`, before any connect.

#![cfg(all(feature = "tls", not(feature = "platform-verifier"), not(feature = "webpki-roots")))]

mod support;

use support::tls::echo_with_a_ca_added_to_the_default_roots;
use support::*;
use wsthread::{Error, Options, RootCerts, WebSocketClient};

#[test]
fn default_roots_are_none_and_an_added_ca_is_trusted() {
    echo_with_a_ca_added_to_the_default_roots(RootCerts::None, "added CA only");
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
