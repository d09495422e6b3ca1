//! TLS for the wss groups: a CA and a server certificate for 127.0.0.1 made at run time
//! (rcgen), the echo server's rustls config with its one cipher suite, and the client config
//! raw tungstenite and tokio-tungstenite share.
//!
//! The server offers a single cipher suite so that every client negotiates the same one
//! whatever its own preference order: the wss figures then compare the clients, not AES-256
//! against AES-128 or ChaCha20. Each client checks what it negotiated (`check_suite`).

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};

use crate::Res;

/// The one suite the server accepts: TLS 1.3, AES-128-GCM (AES-NI makes it the cheapest on
/// x86-64, and it is the first that browsers and rustls's servers pick there).
pub const SUITE: SupportedCipherSuite = ring::cipher_suite::TLS13_AES_128_GCM_SHA256;

/// How the suite is printed in the header and checked against wsthread's `TlsInfo`.
pub fn suite_name() -> String {
    format!("{:?}", SUITE.suite())
}

/// The environment variable that hands the server child its certificate chain and key (PEM).
pub const SERVER_PEM_VAR: &str = "WSTHREAD_COMPARE_SERVER_PEM";

/// The run's certificates: the CA the clients trust, and the server's chain and key.
pub struct Pki {
    /// The CA certificate, PEM: what wsthread is given with `add_root_certificate_pem`.
    pub ca_pem: String,
    ca_der: CertificateDer<'static>,
    /// The server's certificate (IP SAN 127.0.0.1), the CA, and the server's key, PEM: what
    /// the server child reads from `SERVER_PEM_VAR`.
    pub server_pem: String,
}

impl Pki {
    pub fn new() -> Res<Pki> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, "wsthread compare CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca_key = KeyPair::generate()?;
        let ca = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca_params, ca_key);
        // "127.0.0.1" becomes an IP address SAN, which is what a client dialling
        // wss://127.0.0.1 checks.
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()])?;
        params.distinguished_name.push(DnType::CommonName, "wsthread compare echo server");
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Pki {
            server_pem: format!("{}{}{}", cert.pem(), ca.pem(), key.serialize_pem()),
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
        })
    }

    /// The client side for raw tungstenite and tokio-tungstenite: ring, this CA only (the
    /// same trust anchors wsthread is given), every suite ring offers.
    pub fn client_config(&self) -> Res<Arc<ClientConfig>> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// The server side, in the child: the chain and key from `pem`, TLS 1.3 and `SUITE` only.
pub fn server_config(pem: &str) -> Res<Arc<ServerConfig>> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(pem.as_bytes()).collect::<Result<_, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(pem.as_bytes())?;
    let provider = CryptoProvider { cipher_suites: vec![SUITE], ..ring::default_provider() };
    let config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(Arc::new(config))
}

/// The name the clients verify: the server's IP address.
pub fn server_name() -> ServerName<'static> {
    ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into())
}

/// Fails unless a connection negotiated `SUITE` (`negotiated` as rustls reports it).
pub fn check_suite(client: &str, negotiated: Option<SupportedCipherSuite>) -> Res<()> {
    match negotiated {
        Some(s) if s.suite() == SUITE.suite() => Ok(()),
        other => Err(format!("{client} negotiated {:?}, not {}", other.map(|s| s.suite()), suite_name()).into()),
    }
}
