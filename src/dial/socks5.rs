//! A SOCKS5 proxy's tunnel (RFC 1928), with user name and password (RFC 1929) when the proxy
//! URL carries them. Sans I/O: each step is the bytes to send and a parser for the answer,
//! which says how many bytes it needs; the dialer does the reading and writing.

use std::net::IpAddr;

use crate::error::Error;

/// RFC 1928 §3: no authentication.
const NO_AUTH: u8 = 0x00;
/// RFC 1928 §3: user name and password (RFC 1929).
const USER_PASS: u8 = 0x02;
/// RFC 1928 §3: none of the offered methods is acceptable.
const NO_ACCEPTABLE: u8 = 0xFF;

/// The address we ask the proxy to connect to.
pub(crate) enum Target<'a> {
    Ip(IpAddr),
    /// Resolved by the proxy (`socks5h://`).
    Name(&'a str),
}

/// The greeting: version 5 and the methods we can do (RFC 1928 §3).
pub(crate) fn greeting(with_credentials: bool) -> Vec<u8> {
    if with_credentials {
        vec![5, 2, NO_AUTH, USER_PASS]
    } else {
        vec![5, 1, NO_AUTH]
    }
}

/// The method the proxy chose; `Ok(None)` until two bytes are there.
pub(crate) fn parse_choice(buf: &[u8], with_credentials: bool) -> Result<Option<Method>, Error> {
    match buf.first() {
        Some(5) => {}
        Some(version) => return Err(Error::Proxy(format!("not a SOCKS5 proxy (version byte {version})"))),
        None => return Ok(None),
    }
    let method = match buf {
        [_, m] => *m,
        [_, _, ..] => return Err(extra()),
        _ => return Ok(None),
    };
    match method {
        NO_AUTH => Ok(Some(Method::NoAuth)),
        USER_PASS if with_credentials => Ok(Some(Method::UserPass)),
        NO_ACCEPTABLE if with_credentials => {
            Err(Error::ProxyAuth("the SOCKS5 proxy accepts neither no authentication nor a user name and password".into()))
        }
        NO_ACCEPTABLE => Err(Error::ProxyAuth("the SOCKS5 proxy wants authentication; give user:password in the proxy URL".into())),
        other => Err(Error::Proxy(format!("the SOCKS5 proxy chose method {other:#04x}, which was not offered"))),
    }
}

/// What [`parse_choice`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Method {
    NoAuth,
    UserPass,
}

/// The user name and password request (RFC 1929 §2); both are at most 255 bytes, which
/// `Proxy::new` checked.
pub(crate) fn auth_request(user: &str, pass: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 + user.len() + pass.len());
    out.push(1);
    out.push(user.len() as u8);
    out.extend_from_slice(user.as_bytes());
    out.push(pass.len() as u8);
    out.extend_from_slice(pass.as_bytes());
    out
}

/// The answer to [`auth_request`]: `Ok(Some(()))` when accepted.
pub(crate) fn parse_auth(buf: &[u8]) -> Result<Option<()>, Error> {
    match buf {
        // RFC 1929 §2: status 0 is success, anything else failure. Version 1 is the
        // subnegotiation's, though some proxies answer 5 there; the status is what counts.
        [_, 0] => Ok(Some(())),
        [_, _] => Err(Error::ProxyAuth("the SOCKS5 proxy refused the user name and password".into())),
        [_, _, ..] => Err(extra()),
        _ => Ok(None),
    }
}

/// The CONNECT request (RFC 1928 §4). Fails for a name over 255 bytes.
pub(crate) fn connect_request(target: &Target<'_>, port: u16) -> Result<Vec<u8>, Error> {
    let mut out = vec![5, 1, 0];
    match target {
        Target::Ip(IpAddr::V4(ip)) => {
            out.push(1);
            out.extend_from_slice(&ip.octets());
        }
        Target::Ip(IpAddr::V6(ip)) => {
            out.push(4);
            out.extend_from_slice(&ip.octets());
        }
        Target::Name(name) => {
            let len = u8::try_from(name.len())
                .map_err(|_| Error::InvalidUrl(format!("host name of {} bytes is too long for SOCKS5", name.len())))?;
            out.push(3);
            out.push(len);
            out.extend_from_slice(name.as_bytes());
        }
    }
    out.extend_from_slice(&port.to_be_bytes());
    Ok(out)
}

/// The answer to [`connect_request`] (RFC 1928 §6); `Ok(Some(()))` once the tunnel is open.
pub(crate) fn parse_reply(buf: &[u8]) -> Result<Option<()>, Error> {
    let [version, reply, _reserved, atyp, ..] = *buf else { return Ok(None) };
    if version != 5 {
        return Err(Error::Proxy(format!("not a SOCKS5 reply (version byte {version})")));
    }
    if reply != 0 {
        return Err(Error::SocksRejected(reply));
    }
    let address = match atyp {
        1 => 4,
        4 => 16,
        3 => match buf.get(4) {
            Some(&len) => 1 + usize::from(len),
            None => return Ok(None),
        },
        other => return Err(Error::Proxy(format!("SOCKS5 reply with address type {other}"))),
    };
    let len = 4 + address + 2;
    match buf.len() {
        n if n < len => Ok(None),
        n if n == len => Ok(Some(())),
        _ => Err(extra()),
    }
}

/// The proxy spoke before its turn: the server behind it cannot have (it has not been
/// sent anything), so these bytes would corrupt the stream.
fn extra() -> Error {
    Error::Proxy("the SOCKS5 proxy sent more than its answer".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_choice() {
        assert_eq!(greeting(false), [5, 1, 0]);
        assert_eq!(greeting(true), [5, 2, 0, 2]);
        assert_eq!(parse_choice(&[5], false).unwrap(), None);
        assert_eq!(parse_choice(&[5, 0], true).unwrap(), Some(Method::NoAuth));
        assert_eq!(parse_choice(&[5, 2], true).unwrap(), Some(Method::UserPass));
        assert!(matches!(parse_choice(&[5, 2], false), Err(Error::Proxy(_))));
        assert!(matches!(parse_choice(&[5, 0xFF], false), Err(Error::ProxyAuth(_))));
        assert!(matches!(parse_choice(&[5, 0xFF], true), Err(Error::ProxyAuth(_))));
        assert!(matches!(parse_choice(&[4, 0], false), Err(Error::Proxy(_))));
        assert!(matches!(parse_choice(b"HTTP/1.1 400", false), Err(Error::Proxy(_))));
    }

    #[test]
    fn user_and_password() {
        assert_eq!(auth_request("al", "pw!"), [1, 2, b'a', b'l', 3, b'p', b'w', b'!']);
        assert_eq!(parse_auth(&[1]).unwrap(), None);
        assert_eq!(parse_auth(&[1, 0]).unwrap(), Some(()));
        assert!(matches!(parse_auth(&[1, 1]), Err(Error::ProxyAuth(_))));
        assert!(matches!(parse_auth(&[1, 0, 9]), Err(Error::Proxy(_))));
    }

    #[test]
    fn connect_request_address_types() {
        let v4 = connect_request(&Target::Ip("10.1.2.3".parse().unwrap()), 443).unwrap();
        assert_eq!(v4, [5, 1, 0, 1, 10, 1, 2, 3, 1, 187]);
        let v6 = connect_request(&Target::Ip("::1".parse().unwrap()), 80).unwrap();
        assert_eq!(v6.len(), 4 + 16 + 2);
        assert_eq!((v6[3], v6[19], v6[21]), (4, 1, 80));
        let name = connect_request(&Target::Name("ab.c"), 80).unwrap();
        assert_eq!(name, [5, 1, 0, 3, 4, b'a', b'b', b'.', b'c', 0, 80]);
        assert!(connect_request(&Target::Name(&"x".repeat(256)), 80).is_err());
    }

    #[test]
    fn replies_complete_by_address_type_and_codes_become_errors() {
        let v4 = [5, 0, 0, 1, 127, 0, 0, 1, 0, 80];
        for cut in 0..v4.len() {
            assert_eq!(parse_reply(&v4[..cut]).unwrap(), None, "{cut}");
        }
        assert_eq!(parse_reply(&v4).unwrap(), Some(()));
        let mut name = vec![5, 0, 0, 3, 3, b'a', b'b', b'c', 0];
        assert_eq!(parse_reply(&name).unwrap(), None);
        name.push(80);
        assert_eq!(parse_reply(&name).unwrap(), Some(()));
        let mut v6 = vec![5, 0, 0, 4];
        v6.extend([0; 18]);
        assert_eq!(parse_reply(&v6).unwrap(), Some(()));
        v6.push(1);
        assert!(matches!(parse_reply(&v6), Err(Error::Proxy(_))));
        for code in 1..=9u8 {
            assert!(matches!(parse_reply(&[5, code, 0, 1]), Err(Error::SocksRejected(c)) if c == code));
        }
        assert!(matches!(parse_reply(&[5, 0, 0, 7]), Err(Error::Proxy(_))));
    }
}
