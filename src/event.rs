//! Every event of a connection, as one value: what the event forms
//! ([`WebSocketClient::with_events`](crate::WebSocketClient::with_events) and
//! [`WebSocketClient::channel`](crate::WebSocketClient::channel)) deliver.

use crate::close::{CloseInfo, Reconnecting};
use crate::message::Message;
use crate::report::Handshake;

/// One event of a connection. Each connection delivers `Opened` first, then messages, pings
/// and pongs in the order they arrived, then `Unsent` if messages you sent never left, then
/// `Closed` exactly once, last. Under a reconnect policy, `Reconnecting` comes before each
/// attempt, and a new connection starts again with `Opened`; if the policy stops after a
/// failed attempt, one more `Closed` says why, and nothing follows it.
///
/// The enum is `#[non_exhaustive]`: later versions may add events, so a `match` needs a
/// `_` arm.
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Event, Options, WebSocketClient};
/// let (client, events) = WebSocketClient::channel(Options::new("ws://127.0.0.1:9001/")?)?;
/// client.connect(&[])?;
/// for event in events.iter() {
///     match event {
///         Event::Opened(handshake) => println!("open: {}", handshake.status),
///         Event::Message(m) => println!("got {m:?}"),
///         Event::Closed(info) => {
///             println!("closed: {info}");
///             break;
///         }
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event {
    /// The connection is open: what the server answered to the upgrade (the same value
    /// `connect` returns), boxed: it is large and comes once.
    Opened(Box<Handshake>),
    /// A complete text or binary message.
    Message(Message),
    /// The server pinged us, with this payload. The pong has already been queued.
    Ping(Vec<u8>),
    /// A pong arrived, with this payload.
    Pong(Vec<u8>),
    /// Messages accepted by `send` that never left before the connection ended, in the
    /// order they were sent, for you to send again (after a reconnect, say). Messages sent
    /// as fragments or through a writer are only counted, in
    /// [`CloseInfo::unsent_messages`]: what left of them cannot be taken back.
    Unsent(Vec<Message>),
    /// A reconnect attempt will start after `delay`: the number of the attempt, and why.
    Reconnecting(Reconnecting),
    /// The connection ended: code, reason, who closed, whether it was clean, what failed,
    /// and what follows ([`CloseInfo::reconnect`]).
    Closed(CloseInfo),
}
