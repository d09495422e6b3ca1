//! Where a connection's events go. The connection thread talks to one `EventSink`; the
//! closures given to `WebSocketClient::new` and `with_handle` are implementations of it (in
//! `client.rs`), so other forms (a handler with every event, a channel to block or
//! `select!` on) can be added beside them without touching the connection thread.

use crate::close::CloseInfo;
use crate::message::Message;

/// Receives a connection's events, on the connection thread, in the order they happened.
pub(crate) trait EventSink: Send {
    /// A complete data message arrived.
    fn message(&mut self, message: Message);
    /// The server pinged us (the pong is sent by the connection thread).
    fn ping(&mut self, _payload: &[u8]) {}
    /// A pong arrived.
    fn pong(&mut self, _payload: &[u8]) {}
    /// The connection ended; called exactly once per connection, last.
    fn closed(&mut self, info: &CloseInfo);
}

/// Stands in for the sink when none is there (the client was dropped before its thread
/// started).
pub(crate) struct Discard;

impl EventSink for Discard {
    fn message(&mut self, _: Message) {}
    fn closed(&mut self, _: &CloseInfo) {}
}
