//! Certificates with a chosen validity period, for the expiry tests: self-signed ones (marked
//! as a CA or not) and a CA of its own that issues them. The periods are fixed dates far from
//! today, so that no test depends on when it runs.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::tls::ServerCert;

/// When a certificate is valid, seen from today.
#[derive(Clone, Copy, Debug)]
pub enum Period {
    /// 1975 to 4096 (rcgen's default): valid now.
    Current,
    /// 2000 to 2001: expired long ago.
    Expired,
    /// 2090 to 2091: not valid yet.
    NotYetValid,
}

impl Period {
    fn apply(self, params: &mut CertificateParams) {
        let (from, to) = match self {
            Period::Current => return,
            Period::Expired => (2000, 2001),
            Period::NotYetValid => (2090, 2091),
        };
        params.not_before = rcgen::date_time_ymd(from, 1, 1);
        params.not_after = rcgen::date_time_ymd(to, 1, 1);
    }
}

/// A self-signed server certificate for `names` valid during `period`, marked as a CA if
/// `ca_marked` (as `openssl req -x509` makes them): the server's certificate and key, and
/// the same certificate in PEM for the client to trust.
pub fn self_signed(names: &[&str], ca_marked: bool, period: Period) -> (ServerCert, String) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, "wsthread self-signed test server");
    if ca_marked {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    period.apply(&mut params);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server = ServerCert {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    };
    (server, cert.pem())
}

/// A CA valid now that issues server certificates valid during a period of the test's choosing.
pub struct DatedCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
    der: rustls::pki_types::CertificateDer<'static>,
}

impl DatedCa {
    pub fn new(name: &str) -> DatedCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        DatedCa { pem: cert.pem(), der: cert.der().clone(), issuer: Issuer::new(params, key) }
    }

    /// The CA certificate, PEM.
    pub fn pem(&self) -> String {
        self.pem.clone()
    }

    /// A server certificate for `names`, valid during `period`, with this CA in its chain.
    pub fn issue(&self, names: &[&str], period: Period) -> ServerCert {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.push(DnType::CommonName, "wsthread test server");
        period.apply(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerCert {
            chain: vec![cert.der().clone(), self.der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }
}
