//! TLS for `wss://`: the rustls configuration built from [`TlsOptions`], and a stream that
//! runs rustls over a non-blocking socket.
//!
//! `rustls::StreamOwned` is not used: on a non-blocking socket its `write` returns `Ok(0)`
//! when rustls's send buffer is full, which writers take for a reset connection
//! (rustls issue 2556; reproduced here, see shared/NOTES.md). [`TlsStream`] reports
//! "no progress" as `WouldBlock` instead, and only after the socket itself said so, so the
//! poller's edge-triggered readiness always comes back.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use mio::net::TcpStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::client::WebPkiServerVerifier;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::Error;
use crate::report::TlsInfo;
use crate::options::{RootCerts, TlsOptions};

/// Builds the client configuration once per client; connects share it (and its session cache).
pub(crate) fn client_config(opts: &TlsOptions) -> Result<Arc<ClientConfig>, Error> {
    // The ring provider, named explicitly: `ClientConfig::builder()` panics when a build
    // holds both providers or none.
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
            RootCerts::Platform => Arc::new(
                rustls_platform_verifier::Verifier::new_with_extra_roots(extra.clone(), provider.clone())
                    .map_err(|e| Error::InvalidOption(format!("platform trust store: {e}")))?,
            ),
            RootCerts::WebPki | RootCerts::None => {
                let mut store = RootCertStore::empty();
                if opts.roots == RootCerts::WebPki {
                    store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                }
                for cert in extra.iter().cloned() {
                    store.add(cert).map_err(|e| Error::InvalidOption(format!("CA certificate: {e}")))?;
                }
                if store.is_empty() {
                    return Err(Error::InvalidOption("no root certificates to trust".into()));
                }
                WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
                    .build()
                    .map_err(|e| Error::InvalidOption(format!("tls verifier: {e}")))?
            }
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

/// Verifies through the chain as usual, but also accepts a server certificate that is
/// byte for byte one the user added with `extra_roots_pem`, if it names the host and is
/// within its validity period. Without this, a self-signed certificate made by
/// `openssl req -x509` (which marks it as a CA) is refused by webpki as "CA used as end
/// entity", although the user trusted exactly it; OpenSSL-based clients accept it, and users
/// expect the same. Whatever the chained verifier said, names and dates are checked here again:
/// its error may be about either, or about neither (the CA mark).
#[derive(Debug)]
struct TrustedAsIs {
    chained: Arc<dyn ServerCertVerifier>,
    certs: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for TrustedAsIs {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.chained.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Ok(verified) => Ok(verified),
            Err(e) if self.certs.iter().any(|c| c.as_ref() == end_entity.as_ref()) => {
                let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|_| e.clone())?;
                check_validity(end_entity, now)?;
                cert.verify_is_valid_for_subject_name(server_name).map_err(name_error)?;
                log::debug!("server certificate trusted as is (it was added as a root): {e}");
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chained.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chained.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chained.supported_verify_schemes()
    }
}

/// The name error as rustls's own verifier reports it, with the names the certificate holds.
fn name_error(e: webpki::Error) -> rustls::Error {
    match e {
        webpki::Error::CertNotValidForName(webpki::InvalidNameContext { expected, presented }) => {
            CertificateError::NotValidForNameContext { expected, presented }.into()
        }
        _ => CertificateError::NotValidForName.into(),
    }
}

/// Refuses a certificate outside its validity period (RFC 5280 §4.1.2.5), with the errors
/// rustls's own verifier gives. webpki checks the period only while it builds a chain, and
/// keeps its parser to itself; a certificate trusted as is has no chain, so it is read here.
fn check_validity(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let (not_before, not_after) = validity(cert).ok_or(CertificateError::BadEncoding)?;
    if now < not_before {
        return Err(CertificateError::NotValidYetContext { time: now, not_before }.into());
    }
    if now > not_after {
        return Err(CertificateError::ExpiredContext { time: now, not_after }.into());
    }
    Ok(())
}

/// notBefore and notAfter of a DER certificate; `None` if it is not shaped as RFC 5280 says.
/// A time before 1970 counts as 1970: that is where `UnixTime` starts.
fn validity(cert: &[u8]) -> Option<(UnixTime, UnixTime)> {
    const SEQUENCE: u8 = 0x30;
    const VERSION: u8 = 0xA0; // [0] EXPLICIT, absent in v1 certificates
    let (SEQUENCE, cert, _) = der_element(cert)? else { return None };
    let (SEQUENCE, mut tbs, _) = der_element(cert)? else { return None };
    if tbs.first() == Some(&VERSION) {
        tbs = der_element(tbs)?.2;
    }
    for _ in ["serialNumber", "signature", "issuer"] {
        tbs = der_element(tbs)?.2;
    }
    let (SEQUENCE, period, _) = der_element(tbs)? else { return None };
    let (tag, not_before, rest) = der_element(period)?;
    let not_before = der_time(tag, not_before)?;
    let (tag, not_after, rest) = der_element(rest)?;
    let not_after = der_time(tag, not_after)?;
    rest.is_empty().then_some((not_before, not_after))
}

/// The first DER element of `input`: its tag, its contents, and what follows it.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7F => (usize::from(first), rest),
        0x81..=0x84 => {
            let (bytes, rest) = rest.split_at_checked(usize::from(first & 0x7F))?;
            (bytes.iter().fold(0, |len, &b| (len << 8) | usize::from(b)), rest)
        }
        _ => return None, // indefinite (not DER) or longer than any certificate
    };
    let (contents, rest) = rest.split_at_checked(len)?;
    Some((tag, contents, rest))
}

/// A UTCTime (`YYMMDDHHMMSSZ`, 50–99 meaning 19xx) or GeneralizedTime (`YYYYMMDDHHMMSSZ`),
/// the only forms RFC 5280 allows in a certificate.
fn der_time(tag: u8, text: &[u8]) -> Option<UnixTime> {
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;
    let two = |at: usize| -> Option<i64> {
        match text.get(at..at + 2)? {
            &[a @ b'0'..=b'9', b @ b'0'..=b'9'] => Some(i64::from(a - b'0') * 10 + i64::from(b - b'0')),
            _ => None,
        }
    };
    let (year, at) = match (tag, text.len()) {
        (UTC_TIME, 13) => (two(0).map(|y| if y >= 50 { 1900 + y } else { 2000 + y })?, 2),
        (GENERALIZED_TIME, 15) => (two(0)? * 100 + two(2)?, 4),
        _ => return None,
    };
    if text.last() != Some(&b'Z') {
        return None;
    }
    let (month, day) = (two(at)?, two(at + 2)?);
    let (hour, minute, second) = (two(at + 4)?, two(at + 6)?, two(at + 8)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=month_days).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds = days_since_1970(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    Some(UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(seconds).unwrap_or(0))))
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`), negative before 1970.
fn days_since_1970(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The `danger_accept_invalid_certs` verifier: any certificate, any name. Handshake
/// signatures are still checked, so the peer must at least hold the key it presents.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// rustls over a non-blocking mio socket.
pub(crate) struct TlsStream {
    pub(crate) conn: ClientConnection,
    pub(crate) sock: TcpStream,
}

/// What the TLS handshake needs before it can go on.
pub(crate) enum Need {
    Done,
    Io,
}

impl TlsStream {
    pub(crate) fn new(config: Arc<ClientConfig>, host: &str, sock: TcpStream) -> Result<Self, Error> {
        // An IPv6 literal comes bracketed from the URL; ServerName wants it bare.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_owned())
            .map_err(|e| Error::InvalidUrl(format!("{host:?} is not a valid TLS server name: {e}")))?;
        let conn = ClientConnection::new(config, name).map_err(|e| Error::Tls(Box::new(e)))?;
        Ok(TlsStream { conn, sock })
    }

    /// Moves the handshake on as far as the socket allows, without blocking.
    pub(crate) fn handshake_step(&mut self) -> Result<Need, Error> {
        loop {
            let mut progressed = false;
            while self.conn.wants_write() {
                match self.conn.write_tls(&mut NoSigPipe(&self.sock)) {
                    Ok(_) => progressed = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::Io(e)),
                }
            }
            if !self.conn.is_handshaking() {
                return Ok(Need::Done);
            }
            if self.conn.wants_read() {
                match self.conn.read_tls(&mut self.sock) {
                    Ok(0) => {
                        return Err(Error::Io(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "connection closed during the TLS handshake",
                        )))
                    }
                    Ok(_) => {
                        progressed = true;
                        if let Err(e) = self.conn.process_new_packets() {
                            // Tell the server why (the alert rustls queued), best effort.
                            let _ = self.conn.write_tls(&mut NoSigPipe(&self.sock));
                            return Err(tls_error(e));
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => progressed = true,
                    Err(e) => return Err(Error::Io(e)),
                }
            }
            if !progressed {
                return Ok(Need::Io);
            }
        }
    }

    pub(crate) fn info(&self) -> TlsInfo {
        TlsInfo {
            protocol_version: self.conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default(),
            cipher_suite: self
                .conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
        }
    }

    /// Writes out what rustls holds, until done or the socket would block.
    fn write_backlog(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut NoSigPipe(&self.sock)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends close_notify, as far as the socket takes it.
    pub(crate) fn close_notify(&mut self) {
        self.conn.send_close_notify();
        let _ = self.write_backlog();
    }
}

/// Sorts a rustls failure: certificate trouble is its own error, the caller may want to say so.
pub(crate) fn tls_error(e: rustls::Error) -> Error {
    match e {
        rustls::Error::InvalidCertificate(_) => Error::Certificate(Box::new(e)),
        _ => Error::Tls(Box::new(e)),
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // Plaintext first: rustls may already hold decrypted bytes.
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Then more records from the socket; WouldBlock from here is the socket's own.
            match self.conn.read_tls(&mut self.sock)? {
                0 => {} // EOF: the reader reports a clean or an unclean end next time round.
                _ => {
                    if let Err(e) = self.conn.process_new_packets() {
                        let _ = self.conn.write_tls(&mut NoSigPipe(&self.sock));
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
            }
            // A key update or alert may want an answer; never let it block a read.
            if self.conn.wants_write() {
                match self.write_backlog() {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Empty the backlog first so rustls has room; WouldBlock here means the socket is full.
        self.write_backlog()?;
        let n = self.conn.writer().write(buf)?;
        if n == 0 && !buf.is_empty() {
            // rustls's buffer is full although the socket took everything offered: cannot
            // happen with the backlog written above, but never report Ok(0) (see module doc).
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // Encrypt and send what we can now; a full socket leaves the rest for `flush`.
        match self.write_backlog() {
            Ok(()) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        self.write_backlog()
    }
}

/// The socket as rustls's TLS writer sees it: plain `write`s only. rustls would otherwise use
/// vectored writes, which std does with `writev`; on a connection the peer has reset that
/// raises SIGPIPE, killing a host program that does not ignore it (a C program loading a
/// plugin, say), where std's `send` passes `MSG_NOSIGNAL`. (mio sets `SO_NOSIGPIPE` on Apple
/// systems; Windows has no SIGPIPE.)
struct NoSigPipe<'a>(&'a TcpStream);

impl Write for NoSigPipe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(time: Option<UnixTime>) -> Option<u64> {
        time.map(|t| t.as_secs())
    }

    #[test]
    fn validity_read_from_a_certificate() {
        // rcgen's default period: 1975 is written as UTCTime, 4096 as GeneralizedTime.
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let cert = params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
        let (not_before, not_after) = validity(cert.der()).unwrap();
        assert_eq!((not_before.as_secs(), not_after.as_secs()), (157_766_400, 67_090_118_400));

        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        let cert = params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
        let (not_before, not_after) = validity(cert.der()).unwrap();
        assert_eq!((not_before.as_secs(), not_after.as_secs()), (946_684_800, 978_307_200));
        let at = |s| UnixTime::since_unix_epoch(Duration::from_secs(s));
        assert!(check_validity(cert.der(), at(946_684_800)).is_ok(), "the first second is inside");
        assert!(check_validity(cert.der(), at(978_307_200)).is_ok(), "the last second is inside");
        assert!(check_validity(cert.der(), at(946_684_799)).is_err());
        assert!(check_validity(cert.der(), at(978_307_201)).is_err());
    }

    #[test]
    fn times_in_both_forms() {
        assert_eq!(secs(der_time(0x17, b"491231235959Z")), Some(2_524_607_999)); // 49: 2049
        assert_eq!(secs(der_time(0x17, b"500101000000Z")), Some(0)); // 50: 1950, before 1970
        assert_eq!(secs(der_time(0x17, b"700101000001Z")), Some(1));
        assert_eq!(secs(der_time(0x18, b"20240229120000Z")), Some(1_709_208_000)); // a leap day
        assert_eq!(secs(der_time(0x18, b"40960101000000Z")), Some(67_090_118_400));
    }

    #[test]
    fn malformed_times_refused() {
        for (tag, text) in [
            (0x18, &b"20230229000000Z"[..]), // not a leap year
            (0x18, b"20241301000000Z"),      // month 13
            (0x18, b"20240100000000Z"),      // day 0
            (0x18, b"20240101240000Z"),      // hour 24
            (0x18, b"20240101000060Z"),      // second 60
            (0x18, b"20240101000000+0100"),  // not UTC
            (0x18, b"20240101000000.5Z"),    // fractions
            (0x18, b"240101000000Z"),        // UTCTime's length under the other tag
            (0x17, b"20240101000000Z"),      // and the other way round
            (0x17, b"2401010000 0Z"),
            (0x04, b"240101000000Z"), // not a time at all
        ] {
            assert!(der_time(tag, text).is_none(), "{tag:#x} {:?}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn malformed_certificates_refused() {
        assert!(validity(b"").is_none());
        assert!(validity(&[0x30, 0x82, 0xFF]).is_none()); // length beyond the input
        assert!(validity(&[0x30, 0x80, 0x00, 0x00]).is_none()); // indefinite length
        assert!(validity(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_none()); // no tbsCertificate
        assert!(check_validity(&CertificateDer::from(vec![0x04, 0x00]), UnixTime::now()).is_err());
    }
}
