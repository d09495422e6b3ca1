//! An HTTP proxy's tunnel: `CONNECT host:port` (RFC 9110 §9.3.6), with Basic credentials
//! from the proxy URL (RFC 7617, sent as `Proxy-Authorization`, RFC 9110 §11.7.2). The
//! answer is read by the upgrade's own bounded parser (`handshake::parse_head`).

use crate::handshake::base64;
use crate::proxy::Proxy;

/// The CONNECT request for `host` (a name, an IPv4 address, or an IPv6 address with its
/// brackets, as `Url::host_str` gives it) and `port`.
pub(crate) fn request(proxy: &Proxy, host: &str, port: u16, user_agent: &str) -> Vec<u8> {
    // RFC 9110 §9.3.6: the request target is the authority form, host:port; Host repeats it.
    let authority = format!("{host}:{port}");
    let mut out = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some((user, pass)) = proxy.credentials() {
        out.push_str(&format!("Proxy-Authorization: Basic {}\r\n", base64(format!("{user}:{pass}").as_bytes())));
    }
    out.push_str(&format!("User-Agent: {user_agent}\r\n\r\n"));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_names_the_authority_and_carries_decoded_credentials() {
        let proxy = Proxy::new("http://al%3Aice:p%40ss@proxy:3128").unwrap();
        let text = String::from_utf8(request(&proxy, "[::1]", 443, "wsthread/1")).unwrap();
        assert_eq!(
            text,
            format!(
                "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\nProxy-Authorization: Basic {}\r\nUser-Agent: wsthread/1\r\n\r\n",
                base64(b"al:ice:p@ss")
            )
        );
        let plain = String::from_utf8(request(&Proxy::new("proxy").unwrap(), "example.org", 80, "x")).unwrap();
        assert!(!plain.contains("Proxy-Authorization"), "{plain}");
    }
}
