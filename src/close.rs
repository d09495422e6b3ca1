//! Close codes, and the record of why a connection ended.

use std::fmt;
use std::time::Duration;

/// A WebSocket close status code (RFC 6455 §7.4).
///
/// Any `u16` converts into a `CloseCode`; whether it may be *sent* is checked by
/// [`CloseCode::is_sendable`] when you disconnect with it.
///
/// ```
/// use wsthread::CloseCode;
/// let code = CloseCode(4000); // 3000-4999: for libraries and applications
/// assert!(code.is_sendable());
/// assert_eq!(u16::from(CloseCode::GOING_AWAY), 1001);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use wsthread::CloseCode;
    /// client.connect(&[])?;
    /// client.disconnect_with(CloseCode::NORMAL, "finished")?;
    /// # Ok(()) }
    /// ```
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (the default of `disconnect`).
    ///
    /// ```
    /// use wsthread::CloseCode;
    /// assert_eq!(CloseCode::GOING_AWAY, CloseCode(1001)); // what `disconnect` and a drop send
    /// ```
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    ///
    /// ```
    /// # fn on_close(info: &wsthread::CloseInfo) {
    /// if info.code == wsthread::CloseCode::PROTOCOL_ERROR {
    ///     eprintln!("one side broke RFC 6455: {:?}", info.error);
    /// }
    /// # }
    /// ```
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a data type the endpoint cannot accept.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{CloseCode, Handle, Message, Options, WebSocketClient};
    /// let client = WebSocketClient::with_handle(|ws: &Handle, msg: Option<Message>| {
    ///     if let Some(Message::Binary(_)) = msg {
    ///         let _ = ws.disconnect_with(CloseCode::UNSUPPORTED_DATA, "text only");
    ///     }
    /// }, Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// # Ok(()) }
    /// ```
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no code was present in the peer's Close frame. Never sent on the wire.
    ///
    /// ```
    /// use wsthread::CloseCode;
    /// assert!(!CloseCode::NO_STATUS.is_sendable()); // it only reports a Close frame without a code
    /// ```
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: the connection ended without a Close frame. Never sent on the wire.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use wsthread::{CloseCode, Error};
    /// let refused = client.disconnect_with(CloseCode::ABNORMAL, "");
    /// assert!(matches!(refused, Err(Error::InvalidCloseCode(1006))));
    /// # Ok(()) }
    /// ```
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: a text message was not valid UTF-8, or similar inconsistent data.
    ///
    /// ```
    /// # fn on_close(info: &wsthread::CloseInfo) {
    /// use wsthread::{ClosedBy, CloseCode};
    /// if info.code == CloseCode::INVALID_PAYLOAD && info.closed_by == ClosedBy::Local {
    ///     eprintln!("bad data from the server (text not UTF-8, a corrupt compressed message): {:?}", info.error);
    /// }
    /// # }
    /// ```
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use wsthread::CloseCode;
    /// client.connect(&[])?;
    /// client.disconnect_with(CloseCode::POLICY_VIOLATION, "log in first")?;
    /// # Ok(()) }
    /// ```
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message was too big to process.
    ///
    /// ```
    /// # fn on_close(info: &wsthread::CloseInfo) {
    /// if info.code == wsthread::CloseCode::MESSAGE_TOO_BIG {
    ///     eprintln!("a message or frame was over a size limit: {info}");
    /// }
    /// # }
    /// ```
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected an extension the server did not negotiate.
    ///
    /// ```
    /// use wsthread::CloseCode;
    /// assert_eq!(CloseCode::MANDATORY_EXTENSION.to_string(), "1010");
    /// ```
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the endpoint hit an unexpected condition (used when the callback panics).
    ///
    /// ```
    /// # fn on_close(info: &wsthread::CloseInfo) {
    /// use wsthread::{ClosedBy, CloseCode};
    /// if info.code == CloseCode::INTERNAL_ERROR && info.closed_by == ClosedBy::Local {
    ///     eprintln!("failed on our side (a panicking callback?): {:?}", info.error);
    /// }
    /// # }
    /// ```
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting.
    ///
    /// ```
    /// use wsthread::{CloseCode, ReconnectPolicy};
    /// assert!(ReconnectPolicy::default_retry_close(CloseCode::SERVICE_RESTART)); // retried by default
    /// ```
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later.
    ///
    /// ```
    /// # fn on_close(info: &wsthread::CloseInfo) {
    /// use wsthread::CloseCode;
    /// match info.code {
    ///     CloseCode::TRY_AGAIN_LATER => println!("the server is busy: back off"),
    ///     CloseCode::NORMAL => println!("done"),
    ///     other => println!("closed with {other}"),
    /// }
    /// # }
    /// ```
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway received an invalid response.
    ///
    /// ```
    /// use wsthread::CloseCode;
    /// assert_eq!(u16::from(CloseCode::BAD_GATEWAY), 1014);
    /// ```
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed. Never sent on the wire, and never reported by this
    /// crate: a TLS failure is an error of `connect` ([`Error::Tls`](crate::Error::Tls),
    /// [`Error::Certificate`](crate::Error::Certificate)).
    ///
    /// ```
    /// use wsthread::CloseCode;
    /// assert!(!CloseCode::TLS_HANDSHAKE.is_sendable());
    /// ```
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// True when this code may appear in a Close frame: 1000–1003, 1007–1014 (the registered
    /// codes) and 3000–4999 (libraries and applications).
    ///
    /// ```
    /// use wsthread::CloseCode;
    /// assert!(CloseCode(4001).is_sendable());
    /// assert!(!CloseCode::ABNORMAL.is_sendable()); // reported, never sent
    /// assert!(!CloseCode(1004).is_sendable()); // reserved
    /// ```
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloseCode({})", self.0)
    }
}

/// Which side ended a connection.
///
/// ```
/// # fn on_close(info: &wsthread::CloseInfo) {
/// use wsthread::ClosedBy;
/// match info.closed_by {
///     ClosedBy::Local => println!("we closed: {info}"),
///     ClosedBy::Remote => println!("the server closed: {info}"),
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClosedBy {
    /// This client: `disconnect`, drop, a protocol error we detected, a callback panic.
    Local,
    /// The server: its Close frame, or the TCP connection dropping under us.
    Remote,
}

/// Why a connection ended, as read by [`WebSocketClient::close_info`](crate::WebSocketClient::close_info).
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
/// use wsthread::ClosedBy;
/// client.connect(&[])?;
/// client.disconnect()?;
/// let info = client.close_info().expect("the connection ended");
/// println!("{info}"); // for example: 1001 "" closed by client
/// assert_eq!(info.closed_by, ClosedBy::Local);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CloseInfo {
    /// The code of the Close frame that ended the connection: the server's when it closed
    /// first, ours when we did. [`CloseCode::NO_STATUS`] (1005) when the Close frame had no
    /// code, [`CloseCode::ABNORMAL`] (1006) when the connection ended without one on the
    /// wire (a Close of ours that could not be sent counts as none; `error` says so).
    pub code: CloseCode,
    /// The reason text of that Close frame (may be empty).
    pub reason: String,
    /// Who started the end.
    pub closed_by: ClosedBy,
    /// True when both Close frames were exchanged before the TCP connection ended.
    pub clean: bool,
    /// What went wrong, when something did: an I/O error, a protocol violation, a panic in the
    /// callback, a close timeout. `None` for an orderly close.
    pub error: Option<String>,
    /// Data messages accepted by `send` that never left in whole: they were still queued (or
    /// half written) when the connection ended. 0 when everything sent went out.
    pub unsent_messages: usize,
    /// The bytes of frames (headers included) that were queued and never written.
    pub unsent_bytes: u64,
    /// Channel form only: events that arrived after you asked to close (with `disconnect`,
    /// or by dropping the client) while the event channel was full, and were dropped
    /// instead of waiting for room. 0 in every other case: until you ask to close, a full
    /// channel makes the connection wait, and nothing is dropped.
    pub undelivered_events: usize,
    /// What follows this end under [`Options::reconnect`](crate::Options::reconnect).
    pub reconnect: Reconnect,
}

/// What follows a connection's end.
///
/// ```
/// # fn on_close(info: &wsthread::CloseInfo) {
/// use wsthread::Reconnect;
/// match &info.reconnect {
///     Reconnect::Next(next) => println!("back in {:?} (attempt {})", next.delay, next.attempt),
///     Reconnect::Stopped(why) => println!("giving up: {why}"),
///     _ => println!("closed for good"),
/// }
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reconnect {
    /// No reconnect policy: the client stays closed.
    Off,
    /// The policy tries again.
    Next(Reconnecting),
    /// The policy stops here, for the reason given (a Close code it does not retry, a
    /// refused upgrade such as 401, a refused certificate, the last attempt, or your own
    /// `disconnect`).
    Stopped(String),
}

/// A reconnect attempt on its way: [`Event::Reconnecting`](crate::Event::Reconnecting),
/// [`Reconnect::Next`], and [`WebSocketClient::reconnecting`](crate::WebSocketClient::reconnecting).
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Event, Options, ReconnectPolicy, WebSocketClient};
/// let options = Options::new("ws://127.0.0.1:9001/")?.reconnect(ReconnectPolicy::default());
/// let client = WebSocketClient::with_events(|_, event| {
///     if let Event::Reconnecting(next) = event {
///         eprintln!("attempt {} in {:?}: {}", next.attempt, next.delay, next.why);
///     }
/// }, options)?;
/// client.connect(&[])?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnecting {
    /// 1 for the first attempt after a connection that had stayed up for the policy's
    /// `reset_after` is lost; counting up while attempts fail, or their connections are
    /// lost again sooner.
    pub attempt: u32,
    /// The wait before it starts.
    pub delay: Duration,
    /// Why: how the connection ended, or how the last attempt failed.
    pub why: String,
}


impl fmt::Display for CloseInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = match self.closed_by {
            ClosedBy::Local => "client",
            ClosedBy::Remote => "server",
        };
        write!(f, "{} {:?} closed by {by}", self.code, self.reason)?;
        if !self.clean {
            f.write_str(" (not clean)")?;
        }
        if let Some(e) = &self.error {
            write!(f, ": {e}")?;
        }
        if self.unsent_messages > 0 {
            write!(f, " ({} message(s), {} bytes never sent)", self.unsent_messages, self.unsent_bytes)?;
        }
        if self.undelivered_events > 0 {
            write!(f, " ({} event(s) dropped after the disconnect: channel full)", self.undelivered_events)?;
        }
        match &self.reconnect {
            Reconnect::Off => {}
            Reconnect::Next(next) => write!(f, "; reconnecting in {:.1} s (attempt {})", next.delay.as_secs_f64(), next.attempt)?,
            Reconnect::Stopped(why) => write!(f, "; not reconnecting: {why}")?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_follow_rfc_6455() {
        for ok in [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999] {
            assert!(CloseCode(ok).is_sendable(), "{ok}");
        }
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            assert!(!CloseCode(bad).is_sendable(), "{bad}");
        }
    }
}
