//! A self-signed server certificate marked as a CA (what `openssl req -x509` makes by
//! default), added with `add_root_certificate_pem`, is trusted as is for the names it
//! carries, as OpenSSL-based clients do; for another name it is still refused.

#![cfg(feature = "tls")]

mod support;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use support::tls::{wss_echo_server, ServerCert};
use support::*;
use wsthread::{Error, Message, Options, RootCerts, WebSocketClient};

#[test]
fn wss_self_signed_ca_marked_cert_trusted_as_is() {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server_cert = ServerCert {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    };
    let (server, _seen) = wss_echo_server(server_cert);
    let options = |url: String| {
        Options::new(&url).unwrap().root_certs(RootCerts::None).add_root_certificate_pem(cert.pem())
    };

    let (callback, rx) = collector();
    let url = format!("wss://localhost:{}/", server.addr().port());
    let client = WebSocketClient::new(callback, options(url)).unwrap();
    client.connect(&[]).unwrap();
    client.send("pinned").unwrap();
    assert_eq!(next_message(&rx), Message::Text("pinned".into()));
    drop(client);
    expect_end(&rx);

    // The same certificate does not vouch for a name it does not carry.
    let url = format!("wss://127.0.0.1:{}/", server.addr().port());
    let (callback, _rx) = collector();
    let client = WebSocketClient::new(callback, options(url)).unwrap();
    match client.connect(&[]) {
        Err(Error::Certificate(e)) => assert!(e.to_string().to_lowercase().contains("name"), "{e}"),
        other => panic!("expected a certificate error, got {other:?}"),
    }
}
