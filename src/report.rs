//! What a connect reports: the server's answer to a successful upgrade with what it took to
//! get there, and a refused upgrade's answer. Plain data, filled in by the dialer.

use std::net::SocketAddr;
use std::time::Duration;

use crate::proxy::ProxyChoice;
use crate::deflate::DeflateParams;

/// What the server answered to a successful upgrade, and what it took to get there.
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
/// let handshake = client.connect(&[])?;
/// println!("{} from {} in {:?}", handshake.status, handshake.peer_addr, handshake.timings.total());
/// println!("subprotocol {:?}, extensions {:?}", handshake.subprotocol, handshake.extensions);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Handshake {
    /// The HTTP status: always 101.
    pub status: u16,
    /// Every response header in the order received, names as the server spelled them.
    pub headers: Vec<(String, String)>,
    /// The subprotocol the server chose from [`Options::subprotocols`](crate::Options::subprotocols).
    pub subprotocol: Option<String>,
    /// The extensions the server agreed to, as it wrote them (`Sec-WebSocket-Extensions`).
    pub extensions: Vec<String>,
    /// The permessage-deflate parameters agreed to, when `Options::deflate` (feature
    /// `deflate`) offered it and the server accepted. Always `None` without the feature.
    pub deflate: Option<DeflateParams>,
    /// The address actually connected to: the server's, or the proxy's through a proxy.
    pub peer_addr: SocketAddr,
    /// For `wss://`: the negotiated TLS version and cipher suite.
    pub tls: Option<TlsInfo>,
    /// The proxy the connection went through, or none, and why.
    pub proxy: ProxyChoice,
    /// How long each phase of the connect took.
    pub timings: Timings,
}

impl Handshake {
    /// The first value of the header `name` (case-insensitive).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// let handshake = client.connect(&[])?;
    /// if let Some(server) = handshake.header("server") { // any case: "Server" matches too
    ///     println!("server: {server}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The negotiated TLS parameters of a `wss://` connection.
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Message, Options, WebSocketClient};
/// let client = WebSocketClient::new(|_: Option<Message>| {}, Options::new("wss://example.org/feed")?)?;
/// if let Some(tls) = client.connect(&[])?.tls {
///     println!("{} with {}", tls.protocol_version, tls.cipher_suite);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// For example `TLSv1_3`.
    pub protocol_version: String,
    /// For example `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
}

/// How long each phase of a connect took.
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
/// let t = client.connect(&[])?.timings;
/// println!("dns {:?}, tcp {:?}, tls {:?}, upgrade {:?}", t.dns, t.tcp_connect, t.tls, t.upgrade);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// Resolving the host name (zero for an IP address); through a proxy, the proxy's name
    /// (and for `socks5://` the server's too).
    pub dns: Duration,
    /// The TCP connect, over every address tried (to the proxy, through one).
    pub tcp_connect: Duration,
    /// Opening the proxy's tunnel (CONNECT or the SOCKS5 exchange); `None` without a proxy.
    pub proxy: Option<Duration>,
    /// The TLS handshake; `None` for `ws://`.
    pub tls: Option<Duration>,
    /// Writing the upgrade request and reading the 101 answer.
    pub upgrade: Duration,
}

impl Timings {
    /// The sum of all phases.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut timings = wsthread::Timings::default();
    /// timings.tcp_connect = Duration::from_millis(20);
    /// timings.tls = Some(Duration::from_millis(30));
    /// assert_eq!(timings.total(), Duration::from_millis(50));
    /// ```
    pub fn total(&self) -> Duration {
        self.dns + self.tcp_connect + self.proxy.unwrap_or_default() + self.tls.unwrap_or_default() + self.upgrade
    }
}

/// A non-101 answer to the upgrade request, carried by [`Error::Rejected`](crate::Error::Rejected).
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
/// if let Err(wsthread::Error::Rejected(answer)) = client.connect(&[]) {
///     println!("{} {}: {}", answer.status, answer.reason, answer.body_text());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The HTTP status, for example 401.
    pub status: u16,
    /// The reason phrase, for example `Unauthorized`.
    pub reason: String,
    /// Every header in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, as far as it arrived before the connect deadline (at most 1 MiB).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of the header `name` (case-insensitive).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// if let Err(wsthread::Error::Rejected(answer)) = client.connect(&[]) {
    ///     if let Some(seconds) = answer.header("retry-after") { // any case
    ///         println!("come back in {seconds} s");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body as text (invalid UTF-8 replaced).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// if let Err(wsthread::Error::Rejected(answer)) = client.connect(&[("Authorization", "Bearer expired")]) {
    ///     eprintln!("refused: {}", answer.body_text()); // for example {"error":"token expired"}
    /// }
    /// # Ok(()) }
    /// ```
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}
