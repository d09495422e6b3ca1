//! TLS: a test PKI (a CA made at test time, server and client certificates) and wss servers.

use std::net::TcpStream;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use super::{echo_loop, Seen, Server};

/// A certificate authority made at test time.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: CertificateDer<'static>,
}

/// A server certificate chain and its key.
pub struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        TestCa { pem: cert.pem(), der: cert.der().clone(), issuer: Issuer::new(params, key) }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.pem.clone()
    }

    /// A server certificate for `names` (DNS names or IP addresses), signed by this CA.
    pub fn issue(&self, names: &[&str]) -> ServerCert {
        let (cert, key) = self.sign_server(names);
        ServerCert {
            chain: vec![cert.der().clone(), self.der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    /// The same as [`issue`](Self::issue), PEM (chain, key): for servers in other
    /// languages that read files.
    pub fn issue_pem(&self, names: &[&str]) -> (String, String) {
        let (cert, key) = self.sign_server(names);
        (format!("{}{}", cert.pem(), self.pem), key.serialize_pem())
    }

    fn sign_server(&self, names: &[&str]) -> (rcgen::Certificate, KeyPair) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, "wsthread test server");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert, key)
    }
}

impl TestCa {
    /// A client certificate chain and key, PEM, signed by this CA.
    pub fn issue_client_pem(&self, name: &str) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (format!("{}{}", cert.pem(), self.pem), key.serialize_pem())
    }

    /// The CA certificate, DER.
    pub fn der(&self) -> CertificateDer<'static> {
        self.der.clone()
    }
}

pub fn server_config(cert: ServerCert) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(cert.chain, cert.key)
        .unwrap();
    Arc::new(config)
}

/// Each kind of roots this build has: `None` always, `Platform` and `WebPki` with their features.
pub const ROOT_KINDS: &[wsthread::RootCerts] = &[
    wsthread::RootCerts::None,
    #[cfg(feature = "platform-verifier")]
    wsthread::RootCerts::Platform,
    #[cfg(feature = "webpki-roots")]
    wsthread::RootCerts::WebPki,
];

/// A `wss://` echo server presenting `cert`. `Seen::End` is also sent when the TLS or
/// WebSocket handshake fails.
pub fn wss_echo_server(cert: ServerCert) -> (Server, Receiver<Seen>) {
    let config = server_config(cert);
    let (tx, rx): (Sender<Seen>, Receiver<Seen>) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |tcp: TcpStream, conn| {
        let Ok(tls) = ServerConnection::new(config.clone()) else { return };
        let stream = StreamOwned::new(tls, tcp);
        match tungstenite::accept(stream) {
            Ok(ws) => echo_loop(ws, conn, &tx),
            Err(_) => drop(tx.send(Seen::End { conn })),
        }
    });
    (server, rx)
}

/// A `wss://` echo of `text` to a server whose certificate a fresh private CA issued, with
/// that CA added to the build's default roots, after checking that those roots are
/// `expected` (in `RootCerts::default()`, `TlsOptions::default()` and `Options::new`); the
/// client closes with 1001 and the server sees it.
pub fn echo_with_a_ca_added_to_the_default_roots(expected: wsthread::RootCerts, text: &str) {
    use wsthread::{Message, Options, TlsOptions, WebSocketClient};
    assert_eq!(wsthread::RootCerts::default(), expected);
    assert_eq!(TlsOptions::default().roots, expected);
    let ca = TestCa::new("wsthread private CA");
    let (server, seen) = wss_echo_server(ca.issue(&["localhost", "127.0.0.1"]));
    let options = Options::new(&server.wss_url("/")).unwrap().add_root_certificate_pem(ca.pem());
    assert_eq!(options.tls.roots, expected, "the default roots of this build");
    let (callback, rx) = super::collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let handshake = client.connect(&[]).unwrap();
    assert!(handshake.tls.is_some());
    client.send(text).unwrap();
    assert_eq!(super::next_message(&rx), Message::Text(text.into()));
    client.disconnect().unwrap();
    super::expect_end(&rx);
    assert_eq!(super::wait_close(&seen).1, Some(1001));
    drop(client);
    super::expect_no_more(&rx);
}
