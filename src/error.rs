//! The one error type of the crate.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use crate::message::Message;
use crate::report::HttpResponse;

/// Everything that can go wrong in wsthread.
///
/// Errors from the calls you make (`connect`, `send`, `disconnect`, …) come back as this type.
/// Why a connection that was open ended is told by [`CloseInfo`](crate::CloseInfo) instead,
/// because that happens on the connection thread, not in a call of yours.
///
/// ```
/// use wsthread::{Error, Options};
/// let e = Options::new("http://127.0.0.1:9001/").unwrap_err();
/// assert!(matches!(e, Error::UnsupportedScheme(ref scheme) if scheme == "http"));
/// assert_eq!(e.to_string(), r#"unsupported url scheme "http" (use ws or wss)"#);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The URL could not be parsed, has no host, or carries a `#fragment` (RFC 6455 §3).
    InvalidUrl(String),
    /// The URL's scheme is neither `ws` nor `wss`.
    UnsupportedScheme(String),
    /// What was asked for needs a Cargo feature of wsthread that this build leaves out: a
    /// `wss://` URL without the `tls` feature. Add the feature in `Cargo.toml`.
    ///
    /// ```
    /// # #[cfg(not(feature = "tls"))] {
    /// let e = wsthread::Options::new("wss://example.org/").unwrap_err();
    /// assert!(matches!(e, wsthread::Error::FeatureNotEnabled { feature: "tls", .. }));
    /// # }
    /// ```
    FeatureNotEnabled {
        /// The feature to enable, as `Cargo.toml` names it (`"tls"`); the message says what
        /// needed it.
        feature: &'static str,
    },
    /// A header passed to `connect` is malformed, or is one the handshake sets itself
    /// (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key`, …).
    InvalidHeader(String),
    /// An option is unusable: an unreadable PEM file, a client key that does not parse, …
    InvalidOption(String),
    /// The host name could not be resolved.
    Dns(io::Error),
    /// `connect_timeout` passed before the connect finished. The text names the phase that
    /// was running (DNS lookup, TCP connect, proxy handshake, TLS handshake, WebSocket upgrade). A close that
    /// outlives `close_timeout` is not an error of a call: it is told by [`CloseInfo`](crate::CloseInfo).
    Timeout(&'static str),
    /// An I/O error on the socket: refused, reset, unreachable, …
    Io(io::Error),
    /// The server's certificate was refused: unknown issuer, wrong host name, expired, …
    Certificate(Box<dyn StdError + Send + Sync>),
    /// Another TLS failure: no common protocol version or cipher suite, a bad record, an alert.
    Tls(Box<dyn StdError + Send + Sync>),
    /// The server answered the upgrade request with something other than `101`
    /// (for example 401, 403 or 404). Status, headers and body are kept for the caller.
    Rejected(Box<HttpResponse>),
    /// The server answered `101` but the answer is not a valid WebSocket upgrade
    /// (wrong `Sec-WebSocket-Accept`, missing `Upgrade`, an extension or subprotocol that
    /// was not offered, …).
    Handshake(String),
    /// There is no open connection: never connected, closing, closed, or reconnecting.
    NotConnected,
    /// The send queue is full ([`Options::send_queue_limit`](crate::Options::send_queue_limit)):
    /// from `try_send` and `send_timeout` (as [`TrySendError::Full`]), and from a `send`
    /// made inside the callback, which cannot wait for room that only its own thread makes.
    QueueFull,
    /// A ping, pong or close payload is over the 125 bytes RFC 6455 allows for control frames
    /// (close: 123 bytes of reason after the 2-byte code). Carries the length given.
    PayloadTooLong(usize),
    /// The close code may not be sent on the wire (RFC 6455 §7.4): 1005, 1006, 1015,
    /// anything below 1000, 1004, or 1016–2999, or 5000 and up.
    InvalidCloseCode(u16),
    /// The connect was stopped by a `disconnect` or a drop from another thread.
    Aborted,
    /// `connect` was called from the connection's own callback, where it would wait for itself.
    InCallback,
    /// The HTTP proxy answered `CONNECT` with something other than `2xx`: 407 (proxy
    /// authentication required or wrong credentials), 403, 502, … Status, headers and body
    /// are kept for the caller, as for [`Error::Rejected`].
    ProxyRejected(Box<HttpResponse>),
    /// The SOCKS5 proxy refused to connect to the server; the RFC 1928 §6 reply code
    /// (1 general failure, 2 not allowed by ruleset, 3 network unreachable, 4 host
    /// unreachable, 5 connection refused, 6 TTL expired, 7 command not supported, 8 address
    /// type not supported). The message says which.
    SocksRejected(u8),
    /// The SOCKS5 proxy refused our authentication: it wants credentials the proxy URL does
    /// not carry, or refused the user name and password (RFC 1929).
    ProxyAuth(String),
    /// The proxy broke its protocol: an unreadable or overlong answer, a wrong SOCKS version,
    /// bytes past its answer, or it closed the connection before answering.
    Proxy(String),
    /// A frame, a fragment or a fragmented message was refused before anything of it was
    /// sent: it would have put an invalid sequence on the wire. The connection is unharmed.
    Frame(FrameError),
}

/// Why [`send_frame`](crate::Handle::send_frame), a fragment or a
/// [`MessageWriter`](crate::MessageWriter) was refused. Nothing of the refused frame was sent.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
/// use wsthread::{Error, FrameError, OpCode};
/// // Refused before anything is sent: control frames cannot be fragmented.
/// let refused = client.send_frame(OpCode::Ping, b"", false);
/// assert!(matches!(refused, Err(Error::Frame(FrameError::FragmentedControl))));
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// A continuation frame, and this thread has no fragmented message in progress.
    NothingToContinue,
    /// A new data frame while this thread's (or this writer's) own fragmented message is
    /// still in progress: finish it first. (Another thread's message is waited for instead.)
    MessageInProgress,
    /// A control frame that is not final (control frames cannot be fragmented).
    FragmentedControl,
    /// A control frame with a payload over 125 bytes; carries the length given.
    ControlTooLong(usize),
    /// A raw Close frame: use `disconnect`, which runs the close handshake.
    Close,
    /// A reserved opcode, which no peer would understand.
    ReservedOpCode(u8),
    /// Text that is not valid UTF-8 (a code point may be split between fragments, but the
    /// whole message must be valid). At the end of a message, the bytes of an unfinished
    /// code point that were already sent cannot be taken back: the connection is then
    /// closed with 1011, so that the server never takes a broken text for a whole one.
    InvalidUtf8,
}

/// Why [`try_send`](crate::Handle::try_send) or [`send_timeout`](crate::Handle::send_timeout)
/// did not queue a message, with the message handed back (crossbeam's `TrySendError` is the
/// model): keep it, send it later, or after a reconnect.
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// # let client = wsthread::WebSocketClient::new(|_| {}, wsthread::Options::new("ws://h/")?)?;
/// use wsthread::TrySendError;
/// let mut backlog = Vec::new();
/// match client.try_send("tick") {
///     Ok(()) => {}
///     Err(TrySendError::Full(message)) => backlog.push(message), // the server reads slowly
///     Err(TrySendError::NotConnected(message)) => backlog.push(message), // send it once reconnected
///     Err(other) => return Err(other.into()),
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TrySendError {
    /// The queue had no room for it (with `send_timeout`: not before the timeout).
    Full(Message),
    /// There is no open connection.
    NotConnected(Message),
    /// Refused for another reason (for example [`FrameError::MessageInProgress`]: this
    /// thread's own raw fragmented message is still open).
    Refused(Error, Message),
}

impl TrySendError {
    pub(crate) fn new(error: Error, message: Message) -> TrySendError {
        match error {
            Error::QueueFull => TrySendError::Full(message),
            Error::NotConnected => TrySendError::NotConnected(message),
            other => TrySendError::Refused(other, message),
        }
    }

    /// The message that was not sent.
    ///
    /// ```
    /// use wsthread::{Message, TrySendError};
    /// let refused = TrySendError::Full(Message::from("tick"));
    /// let message = refused.into_inner(); // to send again later
    /// assert_eq!(message, Message::from("tick"));
    /// ```
    pub fn into_inner(self) -> Message {
        match self {
            TrySendError::Full(m) | TrySendError::NotConnected(m) | TrySendError::Refused(_, m) => m,
        }
    }

    /// True when the queue was full.
    ///
    /// ```
    /// use wsthread::{Message, TrySendError};
    /// assert!(TrySendError::Full(Message::from("tick")).is_full());
    /// assert!(!TrySendError::NotConnected(Message::from("tick")).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
}

impl fmt::Display for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the send queue is full"),
            TrySendError::NotConnected(_) => f.write_str("not connected"),
            TrySendError::Refused(e, _) => e.fmt(f),
        }
    }
}

impl StdError for TrySendError {}

/// The error without the message: for `?` in functions returning [`Error`].
impl From<TrySendError> for Error {
    fn from(e: TrySendError) -> Self {
        match e {
            TrySendError::Full(_) => Error::QueueFull,
            TrySendError::NotConnected(_) => Error::NotConnected,
            TrySendError::Refused(e, _) => e,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::NothingToContinue => f.write_str("continuation frame without a fragmented message in progress"),
            FrameError::MessageInProgress => f.write_str("a fragmented message of this sender is still in progress"),
            FrameError::FragmentedControl => f.write_str("control frames cannot be fragmented"),
            FrameError::ControlTooLong(n) => write!(f, "control frame payload of {n} bytes is over the 125-byte limit"),
            FrameError::Close => f.write_str("raw Close frames are not sent: use disconnect"),
            FrameError::ReservedOpCode(code) => write!(f, "reserved opcode {code:#x}"),
            FrameError::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidUrl(why) => write!(f, "invalid url: {why}"),
            Error::UnsupportedScheme(s) => write!(f, "unsupported url scheme {s:?} (use ws or wss)"),
            Error::FeatureNotEnabled { feature } => {
                // One field, not two: `Error` stays at 32 bytes (see `error_stays_small`).
                let needed_for = match *feature {
                    "tls" => "a wss:// URL",
                    _ => "this",
                };
                write!(
                    f,
                    "{needed_for} needs wsthread's `{feature}` feature, which this build leaves out \
                     (add it to the features of wsthread in Cargo.toml)"
                )
            }
            Error::InvalidHeader(why) => write!(f, "invalid header: {why}"),
            Error::InvalidOption(why) => write!(f, "invalid option: {why}"),
            Error::Dns(e) => write!(f, "dns lookup failed: {e}"),
            Error::Timeout(phase) => write!(f, "timed out during {phase}"),
            Error::Io(e) => write!(f, "i/o error: {e}"),
            Error::Certificate(e) => write!(f, "server certificate refused: {e}"),
            Error::Tls(e) => write!(f, "tls error: {e}"),
            Error::Rejected(r) => {
                write!(f, "server refused the upgrade: {} {}", r.status, r.reason)
            }
            Error::Handshake(why) => write!(f, "invalid upgrade response: {why}"),
            Error::NotConnected => write!(f, "not connected"),
            Error::QueueFull => write!(f, "the send queue is full"),
            Error::PayloadTooLong(n) => {
                write!(f, "control frame payload of {n} bytes is over the 125-byte limit")
            }
            Error::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            Error::Aborted => write!(f, "connect aborted by disconnect"),
            Error::InCallback => {
                write!(f, "connect() cannot be called from the connection's own callback")
            }
            Error::Frame(e) => write!(f, "frame refused: {e}"),
            Error::ProxyRejected(r) => write!(f, "proxy refused the tunnel: {} {}", r.status, r.reason),
            Error::SocksRejected(code) => {
                write!(f, "socks5 proxy refused the connection: {} (reply {code})", socks_reply_text(*code))
            }
            Error::ProxyAuth(why) => write!(f, "proxy authentication failed: {why}"),
            Error::Proxy(why) => write!(f, "proxy error: {why}"),
        }
    }
}

/// What RFC 1928 §6 says a SOCKS5 reply code means.
fn socks_reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unassigned reply code",
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Dns(e) | Error::Io(e) => Some(e),
            Error::Certificate(e) | Error::Tls(e) => Some(&**e),
            _ => None,
        }
    }
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Self {
        Error::Frame(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stays_small() {
        // Errors travel through every Result in the crate; keep them at a String plus a tag.
        assert!(std::mem::size_of::<Error>() <= 32, "{}", std::mem::size_of::<Error>());
    }

    #[test]
    fn socks_reply_codes_are_told_in_words() {
        let text = Error::SocksRejected(5).to_string();
        assert_eq!(text, "socks5 proxy refused the connection: connection refused (reply 5)");
        assert!(Error::SocksRejected(200).to_string().contains("unassigned"));
    }

    #[test]
    fn error_is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
    }
}
