//! Proxies as plain data: a proxy URL parsed into a [`Proxy`], the [`ProxySetting`] option,
//! and the [`ProxyChoice`] a connect reports. How the choice is made is in `dial/env.rs`,
//! how a tunnel is opened in `dial/http_connect.rs` and `dial/socks5.rs`.

use std::fmt;

use url::Url;

use crate::error::Error;

/// A proxy server, parsed from a URL such as `http://user:pass@proxy.corp:3128`.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Proxy, ProxyKind};
/// let proxy = Proxy::new("socks5h://me:s%3Acret@127.0.0.1:1080")?;
/// assert_eq!(proxy.kind(), ProxyKind::Socks5h);
/// assert_eq!(proxy.username(), Some("me"));
/// // The password is never shown.
/// assert_eq!(proxy.to_string(), "socks5h://me:***@127.0.0.1:1080");
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    kind: ProxyKind,
    /// Without brackets for an IPv6 address.
    host: String,
    port: u16,
    /// User and password, percent-decoded.
    credentials: Option<(String, String)>,
}

/// The protocol spoken to a proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyKind {
    /// `http://`: an HTTP proxy, asked with `CONNECT host:port` for a tunnel (RFC 9110 §9.3.6),
    /// for `ws://` and `wss://` alike. TLS to the server runs end to end through the tunnel.
    Http,
    /// `socks5://`: SOCKS5 (RFC 1928); the server's name is resolved here, the proxy gets
    /// its address.
    Socks5,
    /// `socks5h://`: SOCKS5 with the server's name resolved by the proxy.
    Socks5h,
}

impl Proxy {
    /// Parses a proxy URL: `http://`, `socks5://` or `socks5h://`, with an optional
    /// `user:password@` (percent-encoded) and port. A URL without a scheme is taken as
    /// `http://`, and one without a port gets 1080, as curl does.
    ///
    /// Fails with [`Error::InvalidOption`] for anything else; `https://` proxies (TLS to the
    /// proxy itself) are not supported.
    pub fn new(url: &str) -> Result<Proxy, Error> {
        let bad = |why: &str| Error::InvalidOption(format!("proxy {:?}: {why}", redact(url)));
        let text = url.trim();
        let with_scheme = if text.contains("://") { text.to_owned() } else { format!("http://{text}") };
        let parsed = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
        let kind = match parsed.scheme() {
            "http" => ProxyKind::Http,
            "socks5" => ProxyKind::Socks5,
            "socks5h" => ProxyKind::Socks5h,
            "https" => return Err(bad("https:// proxies (TLS to the proxy) are not supported")),
            other => return Err(bad(&format!("unsupported scheme {other:?} (use http, socks5 or socks5h)"))),
        };
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(bad("no host")),
        };
        // `Url` drops the port when it is the scheme's default (80 for http); the text knows.
        let port = parsed.port().or_else(|| explicit_default_port(&with_scheme, &parsed)).unwrap_or(1080);
        let credentials = if parsed.username().is_empty() && parsed.password().is_none() {
            None
        } else {
            let user = percent_decode(parsed.username());
            let pass = percent_decode(parsed.password().unwrap_or(""));
            if kind != ProxyKind::Http && (user.len() > 255 || pass.len() > 255) {
                // RFC 1929 §2: one length byte each.
                return Err(bad("a SOCKS5 user name or password is over 255 bytes"));
            }
            Some((user, pass))
        };
        Ok(Proxy { kind, host, port, credentials })
    }

    /// The protocol spoken to the proxy.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host name or IP address (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name from the URL, percent-decoded.
    pub fn username(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(user, _)| user.as_str())
    }

    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
    }
}

/// The URL again, with `***` for the password.
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks5h => "socks5h",
        };
        write!(f, "{scheme}://")?;
        if let Some((user, _)) = &self.credentials {
            let user = percent_encoding::utf8_percent_encode(user, USERINFO);
            write!(f, "{user}:***@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Like `Display`: the password never shows, not even in a `{:?}` of the options.
impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self})")
    }
}

/// Which proxy connections use: [`Options::proxy`](crate::Options::proxy).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxySetting {
    /// From the environment, as curl reads it: for `wss://` `https_proxy` or `HTTPS_PROXY`,
    /// for `ws://` `http_proxy` or `HTTP_PROXY` (the upper-case one is ignored when
    /// `REQUEST_METHOD` is set, in a CGI program, where a request's `Proxy:` header would
    /// arrive as `HTTP_PROXY`), then `all_proxy` or `ALL_PROXY`; lower case first. A host
    /// matched by `no_proxy` or `NO_PROXY` (host names, domain suffixes with or without a
    /// leading dot, IP addresses, CIDR ranges, `host:port`, or `*`) is connected to directly.
    /// So is a loopback host (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`), which a proxy
    /// elsewhere could not reach: there, unlike curl and like Go, the environment is ignored.
    #[default]
    FromEnvironment,
    /// This proxy for every connection; the environment is not read.
    Use(Proxy),
    /// No proxy; the environment is not read.
    Direct,
}

impl From<Proxy> for ProxySetting {
    fn from(proxy: Proxy) -> Self {
        ProxySetting::Use(proxy)
    }
}

/// The proxy a connect used, or none, and why: [`Handshake::proxy`](crate::Handshake::proxy).
///
/// ```
/// # fn show(handshake: &wsthread::Handshake) {
/// match &handshake.proxy.proxy {
///     Some(p) => println!("through {p} ({})", handshake.proxy.reason),
///     None => println!("direct ({})", handshake.proxy.reason),
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyChoice {
    /// The proxy used; `None` for a direct connection.
    pub proxy: Option<Proxy>,
    /// Why, for people: `"from HTTPS_PROXY"`, `"NO_PROXY matches .corp.example"`,
    /// `"set in the options"`, `"no proxy variable set"`, …
    pub reason: String,
}

impl fmt::Display for ProxyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.proxy {
            Some(p) => write!(f, "proxy {p} ({})", self.reason),
            None => write!(f, "no proxy ({})", self.reason),
        }
    }
}

/// An explicit `:80` that `Url` folded away for `http://`.
fn explicit_default_port(text: &str, url: &Url) -> Option<u16> {
    let default = url.port_or_known_default()?;
    let after_scheme = text.split_once("://").map(|(_, rest)| rest)?;
    let authority = after_scheme.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    host_port.strip_suffix(&format!(":{default}")).map(|_| default)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The bytes a user name must escape to stay one piece of a URL's user info.
const USERINFO: &percent_encoding::AsciiSet =
    &percent_encoding::CONTROLS.add(b' ').add(b':').add(b'@').add(b'/').add(b'%').add(b'?').add(b'#');

/// A proxy URL for an error message: the password replaced.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((info, tail)) if info.contains(':') => {
                let user = info.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:***@{tail}")
            }
            _ => url.to_owned(),
        },
        None => match url.split_once('@') {
            Some((info, tail)) if info.contains(':') => format!("{}:***@{tail}", info.split(':').next().unwrap_or("")),
            _ => url.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_schemes_ports_and_credentials() {
        let p = Proxy::new("http://us%20er:p%40ss@proxy.corp:3128").unwrap();
        assert_eq!((p.kind(), p.host(), p.port()), (ProxyKind::Http, "proxy.corp", 3128));
        assert_eq!(p.credentials(), Some(("us er", "p@ss")));
        assert_eq!(p.to_string(), "http://us%20er:***@proxy.corp:3128");
        assert!(!format!("{p:?}").contains("p@ss"));

        // curl's defaults: no scheme means http, no port means 1080.
        let p = Proxy::new("proxy.corp").unwrap();
        assert_eq!((p.kind(), p.port(), p.credentials()), (ProxyKind::Http, 1080, None));
        // An explicit :80 stays 80 although it is http's default.
        assert_eq!(Proxy::new("http://proxy.corp:80/").unwrap().port(), 80);
        let p = Proxy::new("socks5://[::1]:9050").unwrap();
        assert_eq!((p.kind(), p.host(), p.port()), (ProxyKind::Socks5, "::1", 9050));
        assert_eq!(p.to_string(), "socks5://[::1]:9050");
        assert_eq!(Proxy::new("socks5h://10.0.0.1").unwrap().kind(), ProxyKind::Socks5h);
    }

    #[test]
    fn refuses_what_it_cannot_speak_without_showing_passwords() {
        for url in ["https://u:secret@proxy:443", "socks4://proxy", "ftp://proxy", "http://", "http://u:secret@[::1"] {
            match Proxy::new(url) {
                Err(Error::InvalidOption(why)) => assert!(!why.contains("secret"), "{why}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        let long = "x".repeat(256);
        assert!(Proxy::new(&format!("socks5://{long}:p@h")).is_err());
        assert!(Proxy::new(&format!("http://{long}:p@h")).is_ok());
    }
}
