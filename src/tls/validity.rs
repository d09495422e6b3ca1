//! The validity period of a certificate, read from its DER (RFC 5280 §4.1.2.5).

use std::time::Duration;

use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::CertificateError;

/// Refuses a certificate outside its validity period (RFC 5280 §4.1.2.5), with the errors
/// rustls's own verifier gives. webpki checks the period only while it builds a chain, and
/// keeps its parser to itself; a certificate trusted as is has no chain, so it is read here.
pub(super) fn check_validity(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
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
