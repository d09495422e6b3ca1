//! Proxies as plain data: a [`Proxy`], the [`ProxySetting`] option, and the [`ProxyChoice`]
//! a connect reports. A proxy URL is parsed in `options.rs` (with the other user input, and
//! so that this file stays below `error.rs`); the choice is made in `dial/env.rs`, tunnels
//! are opened in `dial/http_connect.rs` and `dial/socks5.rs`.

use std::fmt;

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
    pub(crate) kind: ProxyKind,
    /// Without brackets for an IPv6 address.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// User and password, percent-decoded.
    pub(crate) credentials: Option<(String, String)>,
}

/// The protocol spoken to a proxy.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Proxy, ProxyKind};
/// assert_eq!(Proxy::new("socks5://127.0.0.1:1080")?.kind(), ProxyKind::Socks5);
/// assert_eq!(Proxy::new("socks5h://127.0.0.1:1080")?.kind(), ProxyKind::Socks5h);
/// # Ok(()) }
/// ```
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
    /// The protocol spoken to the proxy.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Proxy, ProxyKind};
    /// assert_eq!(Proxy::new("http://proxy.corp:3128")?.kind(), ProxyKind::Http);
    /// # Ok(()) }
    /// ```
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host name or IP address (an IPv6 address without brackets).
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// assert_eq!(wsthread::Proxy::new("socks5://[::1]:9050")?.host(), "::1");
    /// # Ok(()) }
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// assert_eq!(wsthread::Proxy::new("http://proxy.corp:3128")?.port(), 3128);
    /// # Ok(()) }
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name from the URL, percent-decoded.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::Proxy;
    /// assert_eq!(Proxy::new("http://j%20doe:pw@proxy.corp:3128")?.username(), Some("j doe"));
    /// assert_eq!(Proxy::new("http://proxy.corp:3128")?.username(), None);
    /// # Ok(()) }
    /// ```
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
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Options, ProxySetting};
/// let options = Options::new("ws://127.0.0.1:9001/")?;
/// assert_eq!(options.proxy, ProxySetting::FromEnvironment);
/// let direct = options.proxy(ProxySetting::Direct); // whatever the environment says
/// # Ok(()) }
/// ```
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

/// The bytes a user name must escape to stay one piece of a URL's user info.
const USERINFO: &percent_encoding::AsciiSet =
    &percent_encoding::CONTROLS.add(b' ').add(b':').add(b'@').add(b'/').add(b'%').add(b'?').add(b'#');
