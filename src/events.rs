//! Where a connection's events go. The connection thread talks to one `EventSink`; the
//! closures given to `WebSocketClient::new`, `with_handle` and `with_events`, and the event
//! channel, are implementations of it (in `client/`).

use crossbeam_channel::{Receiver, Sender};

use crate::close::{CloseInfo, Reconnecting};
use crate::message::Message;
use crate::report::Handshake;

/// Receives a connection's events, on the connection thread, in the order they happened.
pub(crate) trait EventSink: Send {
    /// The connection is open; called first.
    fn opened(&mut self, _handshake: &Handshake) {}
    /// A complete data message arrived.
    fn message(&mut self, message: Message);
    /// Takes a message only if that neither blocks nor runs the user's code (a channel with
    /// room): the thread then goes on writing for senders, who leave their frames to it and
    /// leave in batches. Hands it back otherwise, and `message` is called as a callback,
    /// during which senders write for themselves (the thread may be held up for any time).
    fn try_message(&mut self, message: Message) -> Result<(), Message> {
        Err(message)
    }
    /// The server pinged us (the pong is sent by the connection thread).
    fn ping(&mut self, _payload: &[u8]) {}
    /// A pong arrived.
    fn pong(&mut self, _payload: &[u8]) {}
    /// Messages that never left, handed back (see `Event::Unsent`); called before `closed`,
    /// only when there are some.
    fn unsent(&mut self, _messages: Vec<Message>) {}
    /// A reconnect attempt will follow after its delay; called after `closed`.
    fn reconnecting(&mut self, _next: &Reconnecting) {}
    /// How many events this connection dropped (see `CloseInfo::undelivered_events`);
    /// asked once, just before `closed`.
    fn undelivered(&mut self) -> usize {
        0
    }
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

/// Raised when the user asks to close (`disconnect`, or dropping the client): a sink that
/// waits for room in a full channel stops waiting, so that the close goes ahead.
#[derive(Clone)]
pub(crate) struct Interrupt {
    raise: Sender<()>,
    raised: Receiver<()>,
}

impl Interrupt {
    pub(crate) fn new() -> Interrupt {
        let (raise, raised) = crossbeam_channel::bounded(1);
        Interrupt { raise, raised }
    }

    pub(crate) fn raise(&self) {
        let _ = self.raise.try_send(());
    }

    /// Forgets a raise of an earlier connection's.
    pub(crate) fn clear(&self) {
        while self.raised.try_recv().is_ok() {}
    }

    /// Ready (for `select!`) once raised.
    pub(crate) fn raised(&self) -> &Receiver<()> {
        &self.raised
    }
}
