//! Connection options: one struct, one place where the defaults live.

use std::time::Duration;

use url::Url;

#[cfg(feature = "deflate")]
use crate::deflate::DeflateOptions;
use crate::error::Error;
use crate::raw::{Frame, FrameHook};
use crate::reconnect::ReconnectPolicy;
use crate::proxy::{Proxy, ProxyKind, ProxySetting};

/// Everything that shapes a client's connections. Build it with [`Options::new`], then set
/// fields directly or chain the setters of the same names.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// use std::time::Duration;
/// let options = wsthread::Options::new("ws://example.org/feed")?
///     .connect_timeout(Duration::from_secs(5))
///     .subprotocol("v2.feed");
/// assert_eq!(options.url().host_str(), Some("example.org"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    url: Url,
    /// Bounds the whole of `connect`: closing a connection that is still open (which gets at
    /// most half of this, and at most `close_timeout`), DNS, TCP connect, a proxy's tunnel,
    /// TLS and the upgrade; and each reconnect attempt's dial. Defaults to 30 seconds.
    pub connect_timeout: Duration,
    /// Bounds a disconnect: how long to wait for the server's Close reply and for the server
    /// to close TCP after it. Dropping the client waits at most this long too.
    /// Defaults to 5 seconds.
    pub close_timeout: Duration,
    /// Subprotocols offered in `Sec-WebSocket-Protocol`, in order of preference. The server's
    /// choice is in [`Handshake::subprotocol`](crate::Handshake::subprotocol); a choice that
    /// was not offered fails the connect. Defaults to none.
    pub subprotocols: Vec<String>,
    /// The largest message accepted from the server, reassembled; a larger one closes the
    /// connection with 1009. `None` means no limit. Defaults to 64 MiB.
    pub max_message_size: Option<usize>,
    /// The largest single frame accepted from the server; a larger one closes the
    /// connection with 1009. `None` means no limit. Defaults to 16 MiB.
    pub max_frame_size: Option<usize>,
    /// Sets `TCP_NODELAY`, so that small messages leave at once instead of waiting for
    /// Nagle's algorithm. Defaults to `true`.
    pub tcp_nodelay: bool,
    /// Stack size of the connection thread, which also runs the callback. Resident memory
    /// grows only with the pages actually used, so this bounds address space rather than
    /// costing memory; raise it if the callback recurses deeply. Defaults to 512 KiB.
    pub thread_stack_size: usize,
    /// TLS settings for `wss://` URLs.
    pub tls: TlsOptions,
    /// How many events the channel of [`WebSocketClient::channel`](crate::WebSocketClient::channel)
    /// holds. When it is full, the connection thread stops reading until there is room, so
    /// the server meets TCP backpressure and nothing is dropped: what the channel holds is at
    /// most this many messages of at most `max_message_size`. Defaults to 64.
    ///
    /// A full channel gives its receiver a few turns (`yield_now`) to take half of it
    /// before the connection thread waits for room, so that a receiver catching up with a
    /// fast stream does not wake the thread for each event it takes (measured with
    /// `benches/compare.rs`, pipelined 1 KiB echoes at 64: 0.32–0.39 M messages/s without
    /// the turns, 0.80–1.12 M with them).
    pub channel_capacity: usize,
    /// Shown every frame in and out (see [`FrameHook`]), for debugging and custom protocols.
    /// Defaults to none.
    pub frame_hook: Option<FrameHook>,
    /// The proxy connections go through: read from the environment as curl reads it (see
    /// [`ProxySetting::FromEnvironment`]), a given [`Proxy`](crate::Proxy), or none. Which
    /// was used, and why, is in [`Handshake::proxy`](crate::Handshake::proxy) and logged at
    /// debug level. Defaults to [`ProxySetting::FromEnvironment`].
    pub proxy: ProxySetting,
    /// The `Origin` header of the upgrade request (RFC 6455 §4.1; browsers always send one
    /// and some servers check it), for example `https://app.example`. An `Origin` header
    /// given to `connect` takes its place. Defaults to none.
    pub origin: Option<String>,
    /// Offers permessage-deflate (RFC 7692) with these settings; what the server agreed to
    /// is in [`Handshake::deflate`](crate::Handshake::deflate). Compression pays on text
    /// that repeats itself (a JSON feed halves at level 1) and costs CPU, and about
    /// 300 KiB of memory per connection once it has compressed a message. Defaults to
    /// `None`: not offered (the README's measurements say why). Feature `deflate`.
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateOptions>,
    /// How often to ping the server, so that a dead connection is noticed (a laptop that
    /// slept, a network that changed under a connection that looks open) and so that proxies
    /// and NATs that drop idle connections see traffic. `None` never pings: an idle
    /// connection then costs no wake-up at all. Defaults to 20 seconds, under the 55-60 s
    /// idle timeouts of common proxies and load balancers (nginx, AWS ALB, Heroku).
    pub ping_interval: Option<Duration>,
    /// After a ping, how long the server may stay silent before the connection is declared
    /// dead: any frame counts as life, not only the pong, and time the connection thread
    /// spends in your callback (or waiting for room in the event channel) does not count
    /// against the server. A stalled server is noticed within `ping_interval + pong_timeout`.
    /// Defaults to 20 seconds: a slow mobile link or a busy server answers well within that.
    pub pong_timeout: Duration,
    /// How long queued data may wait without a single byte being taken by the socket
    /// before the connection is declared dead (a server that stopped reading).
    /// `None` waits for ever. Defaults to 30 seconds.
    pub write_timeout: Option<Duration>,
    /// Bytes of frames the outgoing queue holds at most: beyond it `try_send` hands the
    /// message back and a send from inside the callback fails with `QueueFull`; the queue is
    /// never closed for being full. A single message larger than this is still accepted when
    /// the queue is empty. Senders that can wait (`send`, `send_timeout`) wait for room
    /// sooner, at [`send_high_water`](Self::send_high_water). Defaults to 16 MiB.
    pub send_queue_limit: usize,
    /// Bytes queued past which senders that can wait (`send`, and `send_timeout` until its
    /// time is up) wait for the queue to drain to half this before they queue more; capped
    /// at `send_queue_limit`. A sending loop then runs at the network's pace with about this
    /// much in flight, as a blocking socket write would: running further ahead gains it
    /// nothing, and every byte beyond touches fresh, cold memory (measured in the README).
    /// The rest of `send_queue_limit` is headroom for those that cannot wait: `try_send`,
    /// and sends from inside the callback. Set it to `send_queue_limit` to let `send` fill
    /// the whole queue. Defaults to 1 MiB (Python websockets' `write_limit` is 32 KiB).
    pub send_high_water: usize,
    /// How long the connection thread polls the socket without blocking before it sleeps,
    /// so that an answer arriving within that time costs no wake-up: a request/response
    /// exchange gets faster than a blocking read (measured in the README). Only while it
    /// pays: after a few polls in a row that catch nothing, the thread sleeps at once (it
    /// polls again in one sleep of up to 64), so an idle connection or a slow feed costs no
    /// CPU for it. `Duration::ZERO` never polls. Defaults to 50 µs: answers from the same
    /// machine or rack come within it; from farther away they do not, and it backs off.
    pub busy_poll: Duration,
    /// Reconnects after the connection is lost, as the policy says. Defaults to `None`:
    /// a lost connection stays closed.
    pub reconnect: Option<ReconnectPolicy>,
}

/// Which root certificates verify a `wss://` server.
///
/// Each source of roots is a Cargo feature: `Platform` needs `platform-verifier` (on by
/// default), `WebPki` needs `webpki-roots`. The
/// default is the first of `Platform`, `WebPki` and `None` that the build has.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// # #[cfg(feature = "webpki-roots")] {
/// // The same roots on every machine, whatever its store holds (a container, a board).
/// let options = wsthread::Options::new("ws://example.org/feed")?
///     .root_certs(wsthread::RootCerts::WebPki);
/// # }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootCerts {
    /// The operating system's trust store and verifier (through `rustls-platform-verifier`):
    /// what users and their IT departments configure. Feature `platform-verifier`.
    #[cfg(feature = "platform-verifier")]
    Platform,
    /// Mozilla's root certificates bundled into the program (`webpki-roots`): the same on every
    /// machine, whatever its store holds. Feature `webpki-roots`.
    #[cfg(feature = "webpki-roots")]
    WebPki,
    /// Only the certificates added with [`TlsOptions::extra_roots_pem`].
    None,
}

impl Default for RootCerts {
    /// `Platform` when the build has it, else `WebPki`, else `None`.
    fn default() -> RootCerts {
        #[cfg(feature = "platform-verifier")]
        return RootCerts::Platform;
        #[cfg(all(feature = "webpki-roots", not(feature = "platform-verifier")))]
        return RootCerts::WebPki;
        #[cfg(not(any(feature = "webpki-roots", feature = "platform-verifier")))]
        return RootCerts::None;
    }
}

/// TLS settings, used only for `wss://` URLs.
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Options, RootCerts};
/// let mut options = Options::new("wss://example.org/feed")?;
/// // Trust only a private CA, not the system's roots.
/// options.tls.roots = RootCerts::None;
/// options.tls.extra_roots_pem.push(std::fs::read("private-ca.pem")?);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct TlsOptions {
    /// The trust anchors. Defaults to the OS store, `RootCerts::Platform`, in a build with
    /// the `platform-verifier` feature (see [`RootCerts`]'s default).
    pub roots: RootCerts,
    /// Extra CA certificates in PEM form, trusted besides `roots` (for a private CA or a
    /// self-signed server). A certificate given here that the server presents as its own is
    /// trusted as is for the names it carries and within its validity period, even when it
    /// is marked as a CA (as `openssl req -x509` makes them). Defaults to none.
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// A client certificate chain and its private key, both PEM, presented when the server
    /// asks for one. Defaults to none.
    pub client_cert_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// Accept any server certificate, for any host name. Encryption stays, authentication is
    /// gone: anyone on the path can read and change the traffic. For tests only.
    /// Defaults to `false`.
    pub danger_accept_invalid_certs: bool,
}

impl Options {
    /// Options for `url` (`ws://` or `wss://`), every other field at its default.
    ///
    /// Fails with [`Error::InvalidUrl`] or [`Error::UnsupportedScheme`] before any I/O, and
    /// with [`Error::FeatureNotEnabled`] for a `wss://` URL in a build without the `tls`
    /// feature.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Error, Options};
    /// let options = Options::new("ws://127.0.0.1:9001/chat")?;
    /// assert_eq!(options.url().port(), Some(9001));
    /// assert!(matches!(Options::new("http://127.0.0.1:9001/"), Err(Error::UnsupportedScheme(_))));
    /// # Ok(()) }
    /// ```
    pub fn new(url: &str) -> Result<Options, Error> {
        Ok(Options {
            url: parse_url(url)?,
            connect_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(5),
            subprotocols: Vec::new(),
            max_message_size: Some(64 << 20),
            max_frame_size: Some(16 << 20),
            tcp_nodelay: true,
            thread_stack_size: 512 << 10,
            tls: TlsOptions::default(),
            channel_capacity: 64,
            frame_hook: None,
            proxy: ProxySetting::FromEnvironment,
            origin: None,
            #[cfg(feature = "deflate")]
            deflate: None,
            ping_interval: Some(Duration::from_secs(20)),
            pong_timeout: Duration::from_secs(20),
            write_timeout: Some(Duration::from_secs(30)),
            send_queue_limit: 16 << 20,
            send_high_water: 1 << 20,
            busy_poll: Duration::from_micros(50),
            reconnect: None,
        })
    }

    /// The URL connections go to.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/chat?room=7")?;
    /// assert_eq!(options.url().path(), "/chat");
    /// assert_eq!(options.url().query(), Some("room=7"));
    /// # Ok(()) }
    /// ```
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Sets [`Options::connect_timeout`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use std::time::Duration;
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.connect_timeout(Duration::from_secs(5));
    /// assert_eq!(options.connect_timeout, Duration::from_secs(5));
    /// # Ok(()) }
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`Options::close_timeout`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use std::time::Duration;
    /// // Give up on a server that does not answer our Close within a second.
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.close_timeout(Duration::from_secs(1));
    /// assert_eq!(options.close_timeout, Duration::from_secs(1));
    /// # Ok(()) }
    /// ```
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Adds one subprotocol to [`Options::subprotocols`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?
    ///     .subprotocol("v2.json") // preferred
    ///     .subprotocol("v1.json");
    /// assert_eq!(options.subprotocols, ["v2.json", "v1.json"]);
    /// # Ok(()) }
    /// ```
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Sets [`Options::max_message_size`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// // A feed of small updates: a message over 1 MiB is a fault, closed with 1009.
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.max_message_size(Some(1 << 20));
    /// assert_eq!(options.max_message_size, Some(1 << 20));
    /// # Ok(()) }
    /// ```
    pub fn max_message_size(mut self, limit: Option<usize>) -> Self {
        self.max_message_size = limit;
        self
    }

    /// Sets [`Options::max_frame_size`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.max_frame_size(Some(64 << 10));
    /// assert_eq!(options.max_frame_size, Some(64 << 10));
    /// # Ok(()) }
    /// ```
    pub fn max_frame_size(mut self, limit: Option<usize>) -> Self {
        self.max_frame_size = limit;
        self
    }

    /// Sets [`Options::tcp_nodelay`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// // Many tiny messages, no hurry: let Nagle's algorithm gather them into fewer packets.
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.tcp_nodelay(false);
    /// assert!(!options.tcp_nodelay);
    /// # Ok(()) }
    /// ```
    pub fn tcp_nodelay(mut self, on: bool) -> Self {
        self.tcp_nodelay = on;
        self
    }

    /// Sets [`Options::thread_stack_size`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// // A callback that recurses deeply (a recursive-descent parser, say).
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.thread_stack_size(4 << 20);
    /// assert_eq!(options.thread_stack_size, 4 << 20);
    /// # Ok(()) }
    /// ```
    pub fn thread_stack_size(mut self, bytes: usize) -> Self {
        self.thread_stack_size = bytes;
        self
    }

    /// Sets [`Options::channel_capacity`] (at least 1).
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Options, WebSocketClient};
    /// // Room for bursts of up to 1024 events before the server meets backpressure.
    /// let options = Options::new("ws://127.0.0.1:9001/")?.channel_capacity(1024);
    /// let (client, events) = WebSocketClient::channel(options)?;
    /// assert_eq!(events.capacity(), Some(1024));
    /// # Ok(()) }
    /// ```
    pub fn channel_capacity(mut self, events: usize) -> Self {
        self.channel_capacity = events;
        self
    }

    /// Sets [`Options::frame_hook`] to `hook`.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use wsthread::{Direction, Frame, OpCode, Options};
    /// let pings = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&pings);
    /// let options = Options::new("ws://127.0.0.1:9001/")?.frame_hook(move |frame: &Frame| {
    ///     if frame.direction == Direction::Incoming && frame.opcode == OpCode::Ping {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     }
    /// });
    /// # Ok(()) }
    /// ```
    pub fn frame_hook(mut self, hook: impl Fn(&Frame<'_>) + Send + Sync + 'static) -> Self {
        self.frame_hook = Some(FrameHook::new(hook));
        self
    }

    /// Sets [`TlsOptions::roots`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # #[cfg(feature = "tls")] {
    /// use wsthread::{Options, RootCerts};
    /// // Only the CAs given with `add_root_certificate_pem`: a closed network with its own CA.
    /// let options = Options::new("wss://example.org/feed")?.root_certs(RootCerts::None);
    /// assert_eq!(options.tls.roots, RootCerts::None);
    /// # }
    /// # Ok(()) }
    /// ```
    pub fn root_certs(mut self, roots: RootCerts) -> Self {
        self.tls.roots = roots;
        self
    }

    /// Adds a CA certificate (PEM; several may be in one text) to [`TlsOptions::extra_roots_pem`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// let options = wsthread::Options::new("wss://example.org/feed")?
    ///     .add_root_certificate_pem(std::fs::read("private-ca.pem")?);
    /// # Ok(()) }
    /// ```
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.extra_roots_pem.push(pem.into());
        self
    }

    /// Sets [`TlsOptions::client_cert_pem`]: a certificate chain and its private key, PEM.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// let options = wsthread::Options::new("wss://example.org/feed")?
    ///     .client_certificate_pem(std::fs::read("client-chain.pem")?, std::fs::read("client-key.pem")?);
    /// # Ok(()) }
    /// ```
    pub fn client_certificate_pem(
        mut self,
        chain: impl Into<Vec<u8>>,
        key: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client_cert_pem = Some((chain.into(), key.into()));
        self
    }

    /// Sets [`TlsOptions::danger_accept_invalid_certs`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # #[cfg(feature = "tls")] {
    /// // A test server with a throwaway certificate; never in production.
    /// let options = wsthread::Options::new("wss://localhost:9443/")?.danger_accept_invalid_certs(true);
    /// assert!(options.tls.danger_accept_invalid_certs);
    /// # }
    /// # Ok(()) }
    /// ```
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.tls.danger_accept_invalid_certs = accept;
        self
    }

    /// Sets [`Options::proxy`]: a [`Proxy`](crate::Proxy) to use it, or a [`ProxySetting`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Options, Proxy, ProxySetting};
    /// let through = Options::new("ws://example.org/")?.proxy(Proxy::new("http://proxy.corp:3128")?);
    /// let direct = Options::new("ws://example.org/")?.proxy(ProxySetting::Direct);
    /// # Ok(()) }
    /// ```
    pub fn proxy(mut self, proxy: impl Into<ProxySetting>) -> Self {
        self.proxy = proxy.into();
        self
    }

    /// Sets [`Options::origin`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// // For a server that checks where a browser page would have come from.
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.origin("https://app.example");
    /// assert_eq!(options.origin.as_deref(), Some("https://app.example"));
    /// # Ok(()) }
    /// ```
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Sets [`Options::deflate`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # #[cfg(feature = "deflate")] {
    /// use wsthread::{DeflateOptions, Options};
    /// let options = Options::new("ws://127.0.0.1:9001/")?.deflate(Some(DeflateOptions::default()));
    /// assert!(options.deflate.is_some());
    /// # }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, deflate: Option<DeflateOptions>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Sets [`Options::ping_interval`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// // Never ping: an idle connection costs no wake-up (and a dead one goes unnoticed).
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.ping_interval(None);
    /// assert_eq!(options.ping_interval, None);
    /// # Ok(()) }
    /// ```
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Self {
        self.ping_interval = interval;
        self
    }

    /// Sets [`Options::pong_timeout`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use std::time::Duration;
    /// // Notice a dead server within about 10 seconds.
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?
    ///     .ping_interval(Some(Duration::from_secs(5)))
    ///     .pong_timeout(Duration::from_secs(5));
    /// # Ok(()) }
    /// ```
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// Sets [`Options::write_timeout`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use std::time::Duration;
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.write_timeout(Some(Duration::from_secs(10)));
    /// assert_eq!(options.write_timeout, Some(Duration::from_secs(10)));
    /// # Ok(()) }
    /// ```
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`Options::send_queue_limit`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// // `try_send` hands messages back once 256 KiB wait in the queue.
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?.send_queue_limit(256 << 10);
    /// assert_eq!(options.send_queue_limit, 256 << 10);
    /// # Ok(()) }
    /// ```
    pub fn send_queue_limit(mut self, bytes: usize) -> Self {
        self.send_queue_limit = bytes;
        self
    }

    /// Sets [`Options::send_high_water`].
    ///
    /// ```
    /// // Let `send` queue up to the whole 64 MiB before it waits (for a program that sends
    /// // bursts larger than 1 MiB and must not be held up by the network).
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001")?
    ///     .send_queue_limit(64 << 20)
    ///     .send_high_water(64 << 20);
    /// # Ok::<(), wsthread::Error>(())
    /// ```
    pub fn send_high_water(mut self, bytes: usize) -> Self {
        self.send_high_water = bytes;
        self
    }

    /// Sets [`Options::busy_poll`].
    ///
    /// ```
    /// # use std::time::Duration;
    /// // Never poll: the thread sleeps as soon as it has nothing to do.
    /// let options = wsthread::Options::new("ws://127.0.0.1:9001")?.busy_poll(Duration::ZERO);
    /// # Ok::<(), wsthread::Error>(())
    /// ```
    pub fn busy_poll(mut self, window: Duration) -> Self {
        self.busy_poll = window;
        self
    }

    /// Sets [`Options::reconnect`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Options, ReconnectPolicy};
    /// let options = Options::new("ws://example.org/feed")?
    ///     .reconnect(ReconnectPolicy::default().max_attempts(Some(10)));
    /// # Ok(()) }
    /// ```
    pub fn reconnect(mut self, policy: impl Into<Option<ReconnectPolicy>>) -> Self {
        self.reconnect = policy.into();
        self
    }

    /// True for `wss://`.
    pub(crate) fn is_tls(&self) -> bool {
        self.url.scheme() == "wss"
    }
}

/// Parse, don't validate: after this the URL has a ws/wss scheme, a host and no fragment.
fn parse_url(text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|e| Error::InvalidUrl(format!("{text:?}: {e}")))?;
    match url.scheme() {
        "ws" => {}
        "wss" if cfg!(feature = "tls") => {}
        "wss" => return Err(Error::FeatureNotEnabled { feature: "tls" }),
        other => return Err(Error::UnsupportedScheme(other.to_owned())),
    }
    match url.host_str() {
        None | Some("") => return Err(Error::InvalidUrl(format!("{text:?} has no host"))),
        Some(_) => {}
    }
    // RFC 6455 §3: fragment identifiers are meaningless in WebSocket URIs and MUST NOT be used.
    if url.fragment().is_some() {
        return Err(Error::InvalidUrl(format!("{text:?} has a #fragment")));
    }
    Ok(url)
}

/// Proxy URLs are user input like the server's URL: parsed here, into the plain `Proxy`.
impl Proxy {
    /// Parses a proxy URL: `http://`, `socks5://` or `socks5h://`, with an optional
    /// `user:password@` (percent-encoded) and port. A URL without a scheme is taken as
    /// `http://`, and one without a port gets 1080, as curl does.
    ///
    /// Fails with [`Error::InvalidOption`] for anything else; `https://` proxies (TLS to the
    /// proxy itself) are not supported.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Proxy, ProxyKind};
    /// let proxy = Proxy::new("proxy.corp")?; // as curl reads it: http://, port 1080
    /// assert_eq!((proxy.kind(), proxy.host(), proxy.port()), (ProxyKind::Http, "proxy.corp", 1080));
    /// assert!(Proxy::new("https://proxy.corp:443").is_err()); // TLS to the proxy: not supported
    /// # Ok(()) }
    /// ```
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
    fn accepts_ws_and_wss_only() {
        assert!(Options::new("ws://localhost:1/a?b=c").is_ok());
        #[cfg(feature = "tls")]
        assert!(Options::new("wss://example.org").is_ok());
        // Without TLS, wss:// is refused up front, naming the feature, not at connect.
        #[cfg(not(feature = "tls"))]
        assert!(matches!(
            Options::new("wss://example.org"),
            Err(Error::FeatureNotEnabled { feature: "tls", .. })
        ));
        assert!(matches!(Options::new("http://example.org"), Err(Error::UnsupportedScheme(s)) if s == "http"));
        assert!(matches!(Options::new("not a url"), Err(Error::InvalidUrl(_))));
        assert!(matches!(Options::new("ws://example.org/#frag"), Err(Error::InvalidUrl(_))));
    }

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
