//! A self-signed server certificate added with `add_root_certificate_pem` is trusted as is
//! only within its validity period: expired, or not valid yet, it is refused with
//! `Error::Certificate` saying so, whether or not it is marked as a CA, under each kind of
//! roots the build has (`None`, and `Platform` and `WebPki` with their features).

#![cfg(feature = "tls")]

mod support;

use support::dated_certs::{self_signed, Period};
use support::tls::{wss_echo_server, ROOT_KINDS};
use support::*;
use wsthread::{Error, Message, Options, RootCerts, State, WebSocketClient};

/// Serves a self-signed certificate for localhost valid during `period` and connects to it
/// with that certificate added as a root, under `roots`.
fn connect(ca_marked: bool, period: Period, roots: RootCerts) -> Result<(), Error> {
    let (cert, pem) = self_signed(&["localhost"], ca_marked, period);
    let (server, _seen) = wss_echo_server(cert);
    let url = format!("wss://localhost:{}/", server.addr().port());
    let options = Options::new(&url).unwrap().root_certs(roots).add_root_certificate_pem(pem).connect_timeout(secs(20));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    match client.connect(&[]) {
        Ok(_) => {
            client.send("within its period").unwrap();
            assert_eq!(next_message(&rx), Message::Text("within its period".into()));
            client.disconnect().unwrap();
            expect_end(&rx);
            Ok(())
        }
        Err(e) => {
            assert_eq!(client.state(), State::Closed);
            drop(client);
            expect_no_more(&rx); // a failed connect delivers nothing, not even None
            Err(e)
        }
    }
}

fn expect_refused(ca_marked: bool, period: Period, says: &str) {
    for &roots in ROOT_KINDS {
        let what = format!("{period:?} certificate, CA-marked: {ca_marked}, roots {roots:?}");
        match connect(ca_marked, period, roots) {
            Err(Error::Certificate(e)) => {
                let text = e.to_string();
                assert!(text.contains(says), "{what}: refused, but the error does not say {says:?}: {text}");
                eprintln!("{what}: refused as expected: {text}");
            }
            other => panic!("{what}: expected Error::Certificate, got {other:?}"),
        }
    }
}

#[test]
fn expired_ca_marked_self_signed_refused() {
    expect_refused(true, Period::Expired, "expired");
}

#[test]
fn expired_self_signed_not_ca_marked_refused() {
    expect_refused(false, Period::Expired, "expired");
}

#[test]
fn not_yet_valid_self_signed_refused() {
    expect_refused(true, Period::NotYetValid, "not valid yet");
    expect_refused(false, Period::NotYetValid, "not valid yet");
}

/// The same certificates within their period are trusted: the refusals above are for the
/// dates alone.
#[test]
fn current_self_signed_trusted() {
    for ca_marked in [true, false] {
        for &roots in ROOT_KINDS {
            if let Err(e) = connect(ca_marked, Period::Current, roots) {
                panic!("current certificate, CA-marked: {ca_marked}, roots {roots:?}: refused: {e}");
            }
        }
    }
}
