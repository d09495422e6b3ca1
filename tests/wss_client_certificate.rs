//! A server that requires a client certificate accepts the one set with
//! `client_certificate_pem`, and a client without one fails with a TLS error.

#![cfg(feature = "tls")]

mod support;

use std::net::TcpStream;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use support::tls::TestCa;
use support::*;
use wsthread::{Error, Message, Options, RootCerts, WebSocketClient};

/// A wss echo server that demands a client certificate from `client_ca`; reports each
/// connection's client certificate subject count (1 when one was presented) or its failure.
fn mtls_server(server_ca: &TestCa, client_ca: &TestCa) -> (Server, crossbeam_channel::Receiver<Result<usize, String>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(client_ca.der()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let cert = server_ca.issue(&["127.0.0.1"]);
    let config = Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(cert.chain, cert.key)
            .unwrap(),
    );
    let (tx, rx) = crossbeam_channel::unbounded();
    let (seen_tx, _seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |tcp: TcpStream, conn| {
        let stream = StreamOwned::new(ServerConnection::new(config.clone()).unwrap(), tcp);
        match tungstenite::accept(stream) {
            Ok(ws) => {
                let certs = ws.get_ref().conn.peer_certificates().map_or(0, |c| c.len());
                tx.send(Ok(certs)).unwrap();
                echo_loop(ws, conn, &seen_tx);
            }
            Err(e) => tx.send(Err(e.to_string())).unwrap(),
        }
    });
    (server, rx)
}

#[test]
fn client_certificate_accepted() {
    let server_ca = TestCa::new("server CA");
    let client_ca = TestCa::new("client CA");
    let (server, accepted) = mtls_server(&server_ca, &client_ca);
    let (chain, key) = client_ca.issue_client_pem("test client");
    let options = Options::new(&server.wss_url("/"))
        .unwrap()
        .root_certs(RootCerts::None)
        .add_root_certificate_pem(server_ca.pem())
        .client_certificate_pem(chain, key);
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    let certs = accepted.recv_timeout(WAIT).unwrap().expect("server accepted the client");
    assert!(certs >= 1, "the client presented its certificate");
    client.send("mutual").unwrap();
    assert_eq!(next_message(&rx), Message::Text("mutual".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
}

#[test]
fn missing_client_certificate_refused() {
    let server_ca = TestCa::new("server CA");
    let client_ca = TestCa::new("client CA");
    let (server, accepted) = mtls_server(&server_ca, &client_ca);
    let options = Options::new(&server.wss_url("/"))
        .unwrap()
        .root_certs(RootCerts::None)
        .add_root_certificate_pem(server_ca.pem())
        .connect_timeout(secs(20));
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    // With TLS 1.3 the server's refusal (a certificate_required alert) arrives after the
    // client's side of the handshake, while it waits for the 101; it is still a TLS failure.
    match client.connect(&[]) {
        Err(Error::Tls(e)) | Err(Error::Certificate(e)) => eprintln!("refused as expected: {e}"),
        other => panic!("expected Error::Tls for the server's certificate_required alert, got {other:?}"),
    }
    assert!(accepted.recv_timeout(WAIT).unwrap().is_err());
    assert!(!client.is_open());
    drop(client);
    expect_no_more(&rx);
}
