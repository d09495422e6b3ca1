//! # wsthread
//!
//! A WebSocket client for programs that run on threads, not on an async runtime: desktop
//! apps, tools, embedded controllers, plugins, test rigs. Shaped after Qore's
//! `WebSocketClient`: create a client with a callback and [`Options`], [`connect`] performs
//! the handshake and returns what the server answered, and a background thread hands every
//! received message to the callback as `Some(msg)`, then `None` once when the connection ends.
//!
//! ## Pick how you receive
//!
//! **A callback** for messages and the end, Qore's shape ([`WebSocketClient::new`];
//! [`with_handle`](WebSocketClient::with_handle) also passes a [`Handle`] to reply from inside):
//!
//! ```no_run
//! # use wsthread::{Message, Options, WebSocketClient};
//! # fn main() -> Result<(), wsthread::Error> {
//! let client = WebSocketClient::new(|msg: Option<Message>| match msg {
//!     Some(m) => println!("got {m:?}"),
//!     None => println!("connection ended"),
//! }, Options::new("ws://127.0.0.1:9001/")?)?;
//! client.connect(&[("Authorization", "Bearer abc")])?;
//! client.send("hello")?; // from any thread
//! # Ok(()) }
//! ```
//!
//! **An event handler** for every [`Event`]: opened, message, ping, pong, unsent messages,
//! reconnecting, closed ([`WebSocketClient::with_events`]):
//!
//! ```no_run
//! # use wsthread::{Event, Options, WebSocketClient};
//! # fn main() -> Result<(), wsthread::Error> {
//! let client = WebSocketClient::with_events(|ws, event| match event {
//!     Event::Opened(handshake) => println!("open: {}", handshake.status),
//!     Event::Message(m) => { let _ = ws.send(m); } // echo it back
//!     Event::Closed(info) => println!("closed: {info}"),
//!     _ => {}
//! }, Options::new("ws://127.0.0.1:9001/")?)?;
//! client.connect(&[])?;
//! # Ok(()) }
//! ```
//!
//! **A channel** of the same events, no callback: block on it, `recv_timeout`, or `select!`
//! it with your other channels; when it is full the server meets TCP backpressure
//! ([`WebSocketClient::channel`]):
//!
//! ```no_run
//! # use wsthread::{Event, Options, WebSocketClient};
//! # fn main() -> Result<(), wsthread::Error> {
//! let (client, events) = WebSocketClient::channel(Options::new("ws://127.0.0.1:9001/")?)?;
//! client.connect(&[])?;
//! for event in events.iter() {
//!     if let Event::Message(m) = event { println!("got {m:?}") }
//! }
//! # Ok(()) }
//! ```
//!
//! Each returns from [`connect`] with the server's answer ([`Handshake`]: status, headers,
//! subprotocol, TLS version, timings); [`disconnect`](WebSocketClient::disconnect) closes
//! with 1001 and waits for the server's Close; [`is_open`](WebSocketClient::is_open) tells
//! the state. Messages can also be sent in pieces ([`Handle::send_fragments`],
//! [`Handle::writer`]) or as raw frames ([`Handle::send_frame`]), and
//! [`Options::frame_hook`] sees every frame.
//!
//! ## TLS
//!
//! `wss://` runs rustls (ring provider) and verifies the server against the operating
//! system's trust store, as browsers do on that machine (`RootCerts::Platform`, see [`RootCerts`]). Mozilla's
//! roots can be compiled in instead (feature `webpki-roots`), and a private CA added
//! ([`Options::add_root_certificate_pem`]); a client certificate is
//! [`Options::client_certificate_pem`]. [`Handshake::tls`] tells the version and cipher
//! suite. Without the `tls` feature the crate is `ws://` only, with no C compiler needed.
//!
//! ```no_run
//! # fn main() -> Result<(), wsthread::Error> {
//! let ca = std::fs::read("company-ca.pem").expect("the CA file");
//! let options = wsthread::Options::new("wss://feed.internal/")?.add_root_certificate_pem(ca);
//! # Ok(()) }
//! ```
//!
//! ## Proxies
//!
//! By default a connect reads the proxy from the environment, as curl does: for `wss://`
//! `https_proxy`/`HTTPS_PROXY`, for `ws://` `http_proxy`/`HTTP_PROXY`, else
//! `all_proxy`/`ALL_PROXY`; a host in `no_proxy`/`NO_PROXY` (names, domain suffixes, IP
//! addresses, CIDR ranges, `host:port`, `*`) is reached directly, and so is a loopback host.
//! [`Options::proxy`] sets a
//! [`Proxy`] instead or turns proxies off. `http://` proxies are asked for a tunnel with
//! `CONNECT` (TLS runs end to end through it), `socks5://` and `socks5h://` (the proxy
//! resolves the name) speak SOCKS5; credentials come from the proxy URL. `https://` proxies
//! are not supported. [`Handshake::proxy`] tells which proxy was used and why.
//!
//! ```no_run
//! use wsthread::{Message, Options, Proxy, WebSocketClient};
//!
//! # fn main() -> Result<(), wsthread::Error> {
//! let options = Options::new("wss://example.org/feed")?
//!     .proxy(Proxy::new("http://user:secret@proxy.corp:3128")?);
//! let client = WebSocketClient::new(|_: Option<Message>| {}, options)?;
//! let handshake = client.connect(&[])?;
//! println!("{}", handshake.proxy); // proxy http://user:***@proxy.corp:3128 (set in the options)
//! # Ok(()) }
//! ```
//!
//! ## Reconnect and heartbeats
//!
//! A ping every [`Options::ping_interval`] (20 s) keeps proxies from dropping an idle
//! connection, and a server that sends nothing at all for [`Options::pong_timeout`] (20 s)
//! after a ping is declared dead; data that the socket takes none of for
//! [`Options::write_timeout`] (30 s) ends the connection too. [`Options::reconnect`] with a
//! [`ReconnectPolicy`] reconnects a lost connection with backoff and jitter, with the same
//! URL, headers and options, and stops where trying again is pointless (a 401, a refused
//! certificate, a Close 1000, your own `disconnect`). Messages that never left are counted
//! in [`CloseInfo`] and handed back by the event forms in [`Event::Unsent`], to send again.
//!
//! ```no_run
//! use wsthread::{Event, Options, ReconnectPolicy, WebSocketClient};
//!
//! # fn main() -> Result<(), wsthread::Error> {
//! let options = Options::new("wss://example.org/feed")?.reconnect(ReconnectPolicy::default());
//! let client = WebSocketClient::with_events(
//!     |_, event| match event {
//!         Event::Reconnecting(next) => eprintln!("reconnecting in {:?}: {}", next.delay, next.why),
//!         Event::Opened(_) => eprintln!("connected"),
//!         _ => {}
//!     },
//!     options,
//! )?;
//! client.connect(&[("Authorization", "Bearer t0ken")])?; // sent again on each reconnect
//! # Ok(()) }
//! ```
//!
//! ## Compression
//!
//! `Options::deflate` offers permessage-deflate (RFC 7692, `DeflateOptions`; feature
//! `deflate`, on by default); what the server agreed to is [`Handshake::deflate`]. A sender
//! compresses its message on its own thread; the connection thread inflates, in bounded
//! steps, with `max_message_size` applied to the inflated size. It is not offered unless
//! asked: it pays on text that repeats itself (a JSON feed halves at level 1) and costs CPU
//! and memory on anything else.
//!
//! ```no_run
//! # fn main() -> Result<(), wsthread::Error> {
//! # #[cfg(feature = "deflate")] {
//! use wsthread::{DeflateOptions, Options};
//! let options = Options::new("wss://example.org/feed")?.deflate(Some(DeflateOptions::default()));
//! # }
//! # Ok(()) }
//! ```
//!
//! ## Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `tls` | on | `wss://` through rustls with the ring provider (needs a C compiler for the target). Alone, it trusts only the CAs you add. |
//! | `platform-verifier` | on | `RootCerts::Platform`: the OS trust store and verifier; the default roots. Implies `tls`. |
//! | `webpki-roots` | off | `RootCerts::WebPki`: Mozilla's roots compiled in, the same on every machine; the default roots without `platform-verifier`. Implies `tls`. |
//! | `deflate` | on | permessage-deflate (`Options::deflate`), through flate2 with zlib-rs (pure Rust). |
//!
//! `default-features = false` gives a `ws://`-only client without rustls, ring or zlib;
//! there a `wss://` URL fails at [`Options::new`] with [`Error::FeatureNotEnabled`].
//! Proxies need no dependency of their own and are always built. (`interop` and `fuzzing`
//! serve this crate's own tests.)
//!
//! ## Threads
//!
//! ```text
//!  your threads ── send / ping ──▶ outgoing queue (framed bytes) ──▶ socket (TCP or TLS)
//!               ── disconnect ───▶ close request                          │ incoming
//!                                        │                                ▼
//!                                        └──────────────────────▶ connection thread
//!                                                                         │
//!                                                   callback(Some(msg)) … callback(None)
//! ```
//!
//! Each connection has one thread. It owns the reading side of the non-blocking socket and
//! all protocol state, and sleeps in the operating system's poller (epoll, kqueue, IOCP
//! through `mio`) until the socket is ready, it is woken, or it is time for a heartbeat
//! ping: an idle connection costs no CPU between pings. A `send` frames the message on the
//! caller's thread and queues it (waiting for the queue to drain once
//! [`Options::send_high_water`] bytes are queued; [`Handle::try_send`] hands the message
//! back only at [`Options::send_queue_limit`]); it goes out at
//! once, written by the connection thread in one batch with others if it is awake, or by
//! the caller itself while the thread sleeps or runs the callback (or, on `ws://`, while
//! the caller waits for the queue to drain: the thread hands it the socket and goes on
//! reading). The callback runs on
//! the connection thread; from inside it, use the [`Handle`] given by
//! [`WebSocketClient::with_handle`] to reply or disconnect.
//!
//! ## States
//!
//! [`WebSocketClient::state`] moves `Closed → Connecting` when `connect` starts, `→ Open`
//! once the server's 101 is verified (before `connect` returns and before the first
//! callback), `→ Closing` as soon as a Close is requested, sent or received, and `→ Closed`
//! just before the callback's `None`. [`is_open`](WebSocketClient::is_open) is true only in
//! `Open`; `send` works only then. [`close_info`](WebSocketClient::close_info) tells why the
//! last connection ended: code, reason, which side closed, whether it was clean, what failed.
//! Under a reconnect policy, a lost connection's state goes to `Connecting` (not `Closed`)
//! while the client waits and dials again, and back to `Open` once it is connected.
//!
//! ## Logging
//!
//! Through the [`log`](https://docs.rs/log) facade, never to stdout: `info` for connects and
//! closes, `warn` for protocol trouble and lost connections, `debug` for each message.
//!
//! [`connect`]: WebSocketClient::connect

#![deny(missing_docs)]
// docs.rs (nightly, `--cfg docsrs`) labels each item with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

// The layers, top to bottom: a file uses files of its own group or of groups below it,
// never above (`farm-studio look` finds no circles).
// The API callers hold: the client and its handle, the event channel, the message writer.
mod client;
// Connect and disconnect; the connection thread, and what it reports to.
mod lifecycle;
mod connection;
mod events;
// The message layer (frames to messages, the close handshake) and the outgoing queue.
mod outbox;
mod protocol;
// The frame codec, the byte stream under it, and how a connection is made (proxies too).
mod dial;
mod frame;
mod handshake;
mod tls;
mod transport;
// The public API's plain data, used at every layer.
mod close;
mod deflate;
mod error;
mod event;
mod message;
mod options;
mod proxy;
mod raw;
mod reconnect;
mod report;
mod state;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzz;

pub use client::{Handle, MessageWriter, WebSocketClient};
pub use close::{CloseCode, CloseInfo, ClosedBy, Reconnect, Reconnecting};
pub use crossbeam_channel;
#[cfg(feature = "deflate")]
pub use deflate::DeflateOptions;
pub use deflate::DeflateParams;
pub use error::{Error, FrameError, TrySendError};
pub use event::Event;
pub use message::{Message, MessageKind};
pub use options::{Options, RootCerts, TlsOptions};
pub use proxy::{Proxy, ProxyChoice, ProxyKind, ProxySetting};
pub use raw::{Direction, Frame, FrameHook, OpCode};
pub use reconnect::ReconnectPolicy;
pub use report::{Handshake, HttpResponse, Timings, TlsInfo};
pub use state::State;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<WebSocketClient>();
        check::<Handle>();
        check::<Options>();
        check::<Handshake>();
        check::<CloseInfo>();
        check::<Event>();
        check::<TrySendError>();
        check::<ReconnectPolicy>();
    }
}
