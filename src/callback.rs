//! Where a connection's events go. The connection thread talks to one `EventSink`; the
//! closure given to `WebSocketClient::new` is one implementation, so other forms (a handler
//! with every event, a channel to block or `select!` on) can be added beside it without
//! touching the connection thread.

use crate::client::Handle;
use crate::close::CloseInfo;
use crate::message::Message;

/// Receives a connection's events, on the connection thread.
pub(crate) trait EventSink: Send {
    /// A complete data message arrived.
    fn message(&mut self, handle: &Handle, message: Message);
    /// The connection ended; called exactly once per connection, last.
    fn closed(&mut self, handle: &Handle, info: &CloseInfo);
}

/// Qore's form: `Some(message)` for each message, `None` once at the end.
pub(crate) struct Callback<F>(pub F);

impl<F: FnMut(Option<Message>) + Send> EventSink for Callback<F> {
    fn message(&mut self, _: &Handle, message: Message) {
        (self.0)(Some(message))
    }
    fn closed(&mut self, _: &Handle, _: &CloseInfo) {
        (self.0)(None)
    }
}

/// The same, with a handle to the connection for replying or disconnecting from inside.
pub(crate) struct HandleCallback<F>(pub F);

impl<F: FnMut(&Handle, Option<Message>) + Send> EventSink for HandleCallback<F> {
    fn message(&mut self, handle: &Handle, message: Message) {
        (self.0)(handle, Some(message))
    }
    fn closed(&mut self, handle: &Handle, _: &CloseInfo) {
        (self.0)(handle, None)
    }
}
