//! The rustls client configuration built from [`TlsOptions`]: the ring provider, the roots
//! (the OS verifier, the bundled Mozilla roots or none), extra CAs, a client certificate.

use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::client::WebPkiServerVerifier;
use rustls::{ClientConfig, RootCertStore};

use crate::error::Error;
use crate::options::{RootCerts, TlsOptions};
use super::verify::{AcceptAnyCert, TrustedAsIs};

/// What a client's connects share for TLS: rustls's configuration (and its session cache).
pub(crate) type Config = Arc<ClientConfig>;

/// Builds the client configuration once per client; connects share it (and its session cache).
pub(crate) fn client_config(opts: &TlsOptions) -> Result<Config, Error> {
    // The ring provider, named explicitly: `ClientConfig::builder()` panics when a build
    // holds both providers or none. rustls 0.23.48 deprecates it for lacking post-quantum
    // key exchange; it stays our choice (aws-lc-rs compiles far more C: the slowest build
    // in the README's build-cost table), and the `allow` keeps a newer lockfile building
    // with warnings denied.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::InvalidOption(format!("tls: {e}")))?;

    let mut extra = Vec::new();
    for pem in &opts.extra_roots_pem {
        let before = extra.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            extra.push(cert.map_err(|e| Error::InvalidOption(format!("CA certificate: {e}")))?);
        }
        if extra.len() == before {
            return Err(Error::InvalidOption("CA certificate: no certificate in the PEM".into()));
        }
    }

    let verifier: Arc<dyn ServerCertVerifier> = if opts.danger_accept_invalid_certs {
        Arc::new(AcceptAnyCert(provider))
    } else {
        let chained: Arc<dyn ServerCertVerifier> = match opts.roots {
            #[cfg(feature = "platform-verifier")]
            RootCerts::Platform => Arc::new(
                rustls_platform_verifier::Verifier::new_with_extra_roots(extra.clone(), provider.clone())
                    .map_err(|e| Error::InvalidOption(format!("platform trust store: {e}")))?,
            ),
            #[cfg(feature = "webpki-roots")]
            RootCerts::WebPki => webpki_verifier(webpki_roots::TLS_SERVER_ROOTS.iter().cloned(), &extra, provider)?,
            RootCerts::None => webpki_verifier(std::iter::empty(), &extra, provider)?,
        };
        if extra.is_empty() {
            chained
        } else {
            Arc::new(TrustedAsIs { chained, certs: extra })
        }
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);

    let config = match &opts.client_cert_pem {
        None => builder.with_no_client_auth(),
        Some((chain_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(chain_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::InvalidOption(format!("client certificate: {e}")))?;
            if chain.is_empty() {
                return Err(Error::InvalidOption("client certificate: no certificate in the PEM".into()));
            }
            let key = PrivateKeyDer::from_pem_slice(key_pem)
                .map_err(|e| Error::InvalidOption(format!("client key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::InvalidOption(format!("client certificate: {e}")))?
        }
    };
    Ok(Arc::new(config))
}

/// A verifier of chains up to `roots` and the `extra` certificates, as webpki checks them.
fn webpki_verifier(
    roots: impl Iterator<Item = rustls::pki_types::TrustAnchor<'static>>,
    extra: &[CertificateDer<'static>],
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, Error> {
    let mut store = RootCertStore::empty();
    store.extend(roots);
    for cert in extra.iter().cloned() {
        store.add(cert).map_err(|e| Error::InvalidOption(format!("CA certificate: {e}")))?;
    }
    if store.is_empty() {
        return Err(Error::InvalidOption("no root certificates to trust".into()));
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
        .build()
        .map_err(|e| Error::InvalidOption(format!("tls verifier: {e}")))?;
    Ok(verifier)
}

/// Sorts a rustls failure: certificate trouble is its own error, the caller may want to say so.
pub(crate) fn tls_error(e: rustls::Error) -> Error {
    match e {
        rustls::Error::InvalidCertificate(_) => Error::Certificate(Box::new(e)),
        _ => Error::Tls(Box::new(e)),
    }
}
