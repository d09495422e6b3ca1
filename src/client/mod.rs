//! The client and its handle: what callers hold. The connect and disconnect lifecycle
//! behind them is in `lifecycle.rs`; the channel form's event sink is in `channel.rs`, a
//! message written over time in `writer.rs`.

mod channel;
mod writer;

use std::cell::RefCell;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use crate::close::{CloseCode, CloseInfo, Reconnecting};
use crate::error::{Error, FrameError, TrySendError};
use crate::event::Event;
use crate::events::{EventSink, Interrupt};
use crate::frame::{OP_BINARY, OP_CONTINUE, OP_PING, OP_PONG, OP_TEXT};
use crate::lifecycle::{check_close, Shared};
use crate::message::{Message, MessageKind};
use crate::options::Options;
use crate::outbox::{Outbox, Owner, Wait};
use crate::raw::OpCode;
use crate::report::Handshake;
use crate::state::{State, Status};

use channel::ChannelSink;
pub use writer::MessageWriter;

/// A WebSocket client: one connection at a time, run by its own background thread, with
/// every received message handed to a callback.
///
/// Create it with [`new`](Self::new) (or [`with_handle`](Self::with_handle)), then call
/// [`connect`](Self::connect). The callback runs on the connection thread: it receives
/// `Some(message)` for each complete text or binary message, then `None` exactly once when
/// that connection ends, for whatever reason; nothing after that `None`. (Under
/// [`Options::reconnect`](crate::Options::reconnect), each new connection starts again with
/// messages and ends with its own `None`; if the policy gives up after a failed attempt,
/// one more `None` says so, and [`close_info`](Self::close_info) tells why.) A callback that
/// blocks stops reading from the socket (the server then sees backpressure); one that panics
/// has the connection closed with 1011, and the panic is reported in [`CloseInfo::error`].
///
/// The client is `Send + Sync`: share it (for example in an `Arc`) and send from any number
/// of threads; each message goes out whole. Dropping it disconnects with 1001 Going Away and
/// joins the connection thread, waiting at most about `close_timeout`.
///
/// ```no_run
/// # fn main() -> Result<(), wsthread::Error> {
/// use std::sync::Arc;
/// use wsthread::{Message, Options, WebSocketClient};
/// let client = WebSocketClient::new(|msg: Option<Message>| println!("{msg:?}"), Options::new("ws://127.0.0.1:9001/")?)?;
/// let client = Arc::new(client);
/// client.connect(&[])?;
/// let sender = Arc::clone(&client);
/// std::thread::spawn(move || sender.send("from another thread")).join().unwrap()?;
/// # Ok(()) }
/// ```
pub struct WebSocketClient {
    shared: Arc<Shared>,
}

/// A cheap, cloneable reference to a client's connection, for sending or disconnecting from
/// other threads or from inside the callback.
///
/// A handle does not keep the connection alive: once its [`WebSocketClient`] is dropped,
/// every call returns [`Error::NotConnected`] (or does nothing, for `disconnect`), after
/// the checks of its arguments (a `disconnect_with` code that may not be sent is still
/// [`Error::InvalidCloseCode`]).
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Error, Message, Options, WebSocketClient};
/// let client = WebSocketClient::new(|_: Option<Message>| {}, Options::new("ws://127.0.0.1:9001/")?)?;
/// let handle = client.handle();
/// drop(client);
/// assert!(matches!(handle.send("too late"), Err(Error::NotConnected)));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Handle {
    /// Weak: the event sink holds a handle (for `with_handle`), and a strong one would keep
    /// the client alive from inside itself.
    shared: Weak<Shared>,
    /// The state and the last end stay readable after the client is gone.
    status: Arc<Status>,
}


impl WebSocketClient {
    /// Creates a client that will connect as `options` say and hand messages to `callback`.
    /// No I/O happens yet; for `wss://` the TLS configuration is built (and its PEM inputs
    /// checked) here, once for all later connects, and unusable `DeflateOptions` (feature
    /// `deflate`) are refused here too ([`Error::InvalidOption`]).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Message, Options, WebSocketClient};
    /// let client = WebSocketClient::new(
    ///     |msg: Option<Message>| match msg {
    ///         Some(m) => println!("got {m:?}"),
    ///         None => println!("connection ended"),
    ///     },
    ///     Options::new("ws://127.0.0.1:9001/")?,
    /// )?;
    /// client.connect(&[])?;
    /// client.send("hello")?;
    /// # Ok(()) }
    /// ```
    pub fn new<F>(callback: F, options: Options) -> Result<WebSocketClient, Error>
    where
        F: FnMut(Option<Message>) + Send + 'static,
    {
        Self::with_sink(|_, _| Box::new(Callback(callback)), options)
    }

    /// Like [`new`](Self::new), but the callback also gets a [`Handle`] to its own
    /// connection, to reply or disconnect from inside without any plumbing. Calls on the
    /// handle from the callback never wait for the connection thread (which is the caller).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Handle, Message, Options, WebSocketClient};
    /// let client = WebSocketClient::with_handle(
    ///     |ws: &Handle, msg: Option<Message>| {
    ///         if let Some(Message::Text(t)) = msg {
    ///             if t == "bye" {
    ///                 let _ = ws.disconnect();
    ///             } else {
    ///                 let _ = ws.send(format!("echo: {t}"));
    ///             }
    ///         }
    ///     },
    ///     Options::new("ws://127.0.0.1:9001/")?,
    /// )?;
    /// client.connect(&[])?;
    /// # Ok(()) }
    /// ```
    pub fn with_handle<F>(callback: F, options: Options) -> Result<WebSocketClient, Error>
    where
        F: FnMut(&Handle, Option<Message>) + Send + 'static,
    {
        Self::with_sink(|handle, _| Box::new(HandleCallback(callback, handle)), options)
    }

    /// Like [`with_handle`](Self::with_handle), but the callback gets every [`Event`] of
    /// each connection, in order: `Opened` (with what the server answered), messages, pings,
    /// pongs, and `Closed` (code, reason, who closed, whether clean, what failed) once, last.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Event, Handle, Options, WebSocketClient};
    /// let client = WebSocketClient::with_events(
    ///     |ws: &Handle, event: Event| match event {
    ///         Event::Opened(handshake) => println!("open via {:?}", handshake.peer_addr),
    ///         Event::Message(m) => { let _ = ws.send(m); }
    ///         Event::Pong(payload) => println!("pong {payload:?}"),
    ///         Event::Closed(info) => println!("closed: {info}"),
    ///         _ => {}
    ///     },
    ///     Options::new("ws://127.0.0.1:9001/")?,
    /// )?;
    /// client.connect(&[])?;
    /// # Ok(()) }
    /// ```
    pub fn with_events<F>(callback: F, options: Options) -> Result<WebSocketClient, Error>
    where
        F: FnMut(&Handle, Event) + Send + 'static,
    {
        Self::with_sink(|handle, _| Box::new(EventCallback(callback, handle)), options)
    }

    /// A client whose events arrive on a bounded channel instead of a callback: block on
    /// it, use `recv_timeout`, or `select!` it with your other channels. The events are
    /// those of [`with_events`](Self::with_events), in the same order.
    ///
    /// The channel holds [`Options::channel_capacity`] events. When it is full, the
    /// connection thread stops reading until there is room, so the server meets TCP
    /// backpressure: nothing is dropped, and memory stays bounded whatever the server sends.
    /// Dropping the receiver disconnects (1001), once the next event finds it gone. After
    /// you ask to close (`disconnect`, or dropping the client), events that find the channel
    /// full are no longer waited for: they are dropped and counted in
    /// [`CloseInfo::undelivered_events`], and `Closed` still comes, last. So `disconnect`
    /// may be called from the thread that reads the channel.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use std::time::Duration;
    /// use wsthread::crossbeam_channel::{select, tick};
    /// use wsthread::{Event, Options, WebSocketClient};
    /// let (client, events) = WebSocketClient::channel(Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// let ticker = tick(Duration::from_secs(1));
    /// loop {
    ///     select! {
    ///         recv(events) -> event => match event {
    ///             Ok(Event::Message(m)) => println!("got {m:?}"),
    ///             Ok(Event::Closed(info)) => { println!("closed: {info}"); break }
    ///             Ok(_) => {}
    ///             Err(_) => break,
    ///         },
    ///         recv(ticker) -> _ => client.send("tick")?,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn channel(options: Options) -> Result<(WebSocketClient, Receiver<Event>), Error> {
        Self::channel_with(options, None)
    }

    /// Like [`channel`](Self::channel), and `notify` is called (on the connection thread)
    /// after each event is queued: to wake a loop that does not block on the receiver, such
    /// as a GUI's repaint request or a winit event-loop proxy. Keep it quick and
    /// non-blocking.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Options, WebSocketClient};
    /// let (client, events) = WebSocketClient::channel_with_notify(
    ///     Options::new("ws://127.0.0.1:9001/")?,
    ///     || { /* e.g. egui_ctx.request_repaint() */ },
    /// )?;
    /// client.connect(&[])?;
    /// // in the frame loop:
    /// while let Ok(event) = events.try_recv() {
    ///     println!("{event:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn channel_with_notify(
        options: Options,
        notify: impl Fn() + Send + Sync + 'static,
    ) -> Result<(WebSocketClient, Receiver<Event>), Error> {
        Self::channel_with(options, Some(Arc::new(notify)))
    }

    fn channel_with(
        options: Options,
        notify: Option<channel::Notify>,
    ) -> Result<(WebSocketClient, Receiver<Event>), Error> {
        let (events, receiver) = crossbeam_channel::bounded(options.channel_capacity.max(1));
        let sink = |handle: Handle, interrupt| {
            let disconnect = Box::new(move || {
                let _ = handle.disconnect();
            });
            Box::new(ChannelSink::new(events, notify, interrupt, disconnect)) as Box<dyn EventSink>
        };
        let client = Self::with_sink(sink, options)?;
        Ok((client, receiver))
    }

    fn with_sink(
        sink: impl FnOnce(Handle, Interrupt) -> Box<dyn EventSink>,
        options: Options,
    ) -> Result<WebSocketClient, Error> {
        let tls = if options.is_tls() { Some(crate::tls::client_config(&options.tls)?) } else { None };
        // Refused here, like unusable TLS input, rather than at every connect.
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &options.deflate {
            deflate.check().map_err(Error::InvalidOption)?;
        }
        let shared = Shared::new(options, tls, |shared, status| Handle { shared, status }, sink);
        Ok(WebSocketClient { shared })
    }

    /// Connects: TCP, TLS for `wss://`, and the upgrade with `headers` added to the request,
    /// all within `connect_timeout`. On success returns what the server answered and starts
    /// the connection thread. If a connection is open, it is first closed with 1001 Going Away.
    ///
    /// Fails with [`Error::Rejected`] (status, headers and body) when the server refuses the
    /// upgrade, [`Error::Timeout`] when the deadline passes, [`Error::Aborted`] when another
    /// thread disconnects or drops the client meanwhile, [`Error::InCallback`] when called
    /// from this client's callback.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Error, Message, Options, WebSocketClient};
    /// let client = WebSocketClient::new(|_: Option<Message>| {}, Options::new("ws://127.0.0.1:9001/")?)?;
    /// match client.connect(&[("Authorization", "Bearer t0ken")]) {
    ///     Ok(handshake) => println!("open, subprotocol {:?}", handshake.subprotocol),
    ///     Err(Error::Rejected(answer)) => println!("refused: {} {}", answer.status, answer.body_text()),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn connect(&self, headers: &[(&str, &str)]) -> Result<Handshake, Error> {
        self.shared.connect(headers)
    }

    /// A handle to this client, for other threads.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// let handle = client.handle();
    /// std::thread::spawn(move || handle.send("from a worker")).join().unwrap()?;
    /// # Ok(()) }
    /// ```
    pub fn handle(&self) -> Handle {
        Handle { shared: Arc::downgrade(&self.shared), status: self.shared.status.clone() }
    }

    /// Queues a message, waiting for room; see [`Handle::send`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// client.send("hello")?; // text
    /// client.send(vec![0x01, 0x02])?; // binary
    /// # Ok(()) }
    /// ```
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        Ok(self.shared.send(message.into(), Wait::Forever)?)
    }

    /// Queues a message if there is room; see [`Handle::try_send`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// // Not connected yet: the message comes back instead of being queued.
    /// let refused = client.try_send("hello").unwrap_err();
    /// assert!(!refused.is_full());
    /// assert_eq!(refused.into_inner(), wsthread::Message::from("hello"));
    /// # Ok(()) }
    /// ```
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), TrySendError> {
        self.shared.send(message.into(), Wait::No)
    }

    /// Queues a message, waiting at most `timeout` for room; see [`Handle::send_timeout`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use std::time::Duration;
    /// client.connect(&[])?;
    /// if let Err(e) = client.send_timeout("frame 17", Duration::from_millis(100)) {
    ///     println!("dropped: {e}"); // the server reads too slowly for this rate
    /// }
    /// # Ok(()) }
    /// ```
    pub fn send_timeout(&self, message: impl Into<Message>, timeout: Duration) -> Result<(), TrySendError> {
        self.shared.send(message.into(), until(timeout))
    }

    /// Bytes queued and not yet written; see [`Handle::buffered_amount`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// assert_eq!(client.buffered_amount(), 0); // nothing queued without a connection
    /// # Ok(()) }
    /// ```
    pub fn buffered_amount(&self) -> usize {
        self.shared.buffered_amount()
    }

    /// The reconnect attempt on its way; see [`Handle::reconnecting`].
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// if let Some(next) = client.reconnecting() {
    ///     println!("attempt {} in {:?}: {}", next.attempt, next.delay, next.why);
    /// }
    /// assert!(client.reconnecting().is_none()); // no connection was ever lost
    /// # Ok(()) }
    /// ```
    pub fn reconnecting(&self) -> Option<Reconnecting> {
        self.shared.reconnecting()
    }

    /// Sends a ping; see [`Handle::ping`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// client.ping(b"are you there?")?;
    /// # Ok(()) }
    /// ```
    pub fn ping(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.shared.queue(OP_PING, &control_payload(payload.into())?, Wait::No)
    }

    /// Sends an unsolicited pong; see [`Handle::pong`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// client.pong(Vec::new())?; // a heartbeat the server need not answer
    /// # Ok(()) }
    /// ```
    pub fn pong(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.shared.queue(OP_PONG, &control_payload(payload.into())?, Wait::No)
    }

    /// Sends one message as fragments; see [`Handle::send_fragments`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// client.send_fragments(wsthread::MessageKind::Text, ["Hel", "lo"])?; // one message, "Hello"
    /// # Ok(()) }
    /// ```
    pub fn send_fragments<I>(&self, kind: MessageKind, fragments: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        send_fragments(&*self.shared.outbox()?, kind, fragments)
    }

    /// Starts a message written over time; see [`Handle::writer`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use std::io::Write;
    /// client.connect(&[])?;
    /// let mut message = client.writer(wsthread::MessageKind::Text)?;
    /// write!(message, "{{\"rows\": {}}}", 3)?;
    /// message.finish()?;
    /// # Ok(()) }
    /// ```
    pub fn writer(&self, kind: MessageKind) -> Result<MessageWriter, Error> {
        Ok(MessageWriter::new(self.shared.outbox()?, kind))
    }

    /// Sends one raw frame; see [`Handle::send_frame`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use wsthread::OpCode;
    /// client.connect(&[])?;
    /// client.send_frame(OpCode::Binary, &[1, 2], false)?;
    /// client.send_frame(OpCode::Continue, &[3], true)?; // the server receives [1, 2, 3]
    /// # Ok(()) }
    /// ```
    pub fn send_frame(&self, opcode: OpCode, payload: &[u8], fin: bool) -> Result<(), Error> {
        send_frame(&self.shared, opcode, payload, fin)
    }

    /// Closes with 1001 Going Away; see [`Handle::disconnect`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// client.send("bye")?;
    /// client.disconnect()?; // sends "bye" first, then the Close
    /// assert!(!client.is_open());
    /// # Ok(()) }
    /// ```
    pub fn disconnect(&self) -> Result<(), Error> {
        self.shared.disconnect(CloseCode::GOING_AWAY, "")
    }

    /// Closes with any code and reason; see [`Handle::disconnect_with`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use wsthread::CloseCode;
    /// client.connect(&[])?;
    /// client.disconnect_with(CloseCode::NORMAL, "job done")?;
    /// # Ok(()) }
    /// ```
    pub fn disconnect_with(&self, code: impl Into<CloseCode>, reason: &str) -> Result<(), Error> {
        self.shared.disconnect(code.into(), reason)
    }

    /// True while the connection is open (after `connect`, before any Close).
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// assert!(!client.is_open()); // not connected yet
    /// # Ok(()) }
    /// ```
    pub fn is_open(&self) -> bool {
        self.state() == State::Open
    }

    /// The connection's state.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use wsthread::State;
    /// assert_eq!(client.state(), State::Closed); // not connected yet
    /// # Ok(()) }
    /// ```
    pub fn state(&self) -> State {
        self.shared.status.get()
    }

    /// Why the last connection ended; `None` while connected or before the first connect.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// match client.close_info() {
    ///     Some(info) => println!("the last connection ended: {info}"),
    ///     None => println!("connected, or never connected"),
    /// }
    /// assert!(client.close_info().is_none());
    /// # Ok(()) }
    /// ```
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.shared.status.close_info()
    }

    /// The options this client was made with.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// assert_eq!(client.options().url().as_str(), "ws://127.0.0.1:9001/");
    /// # Ok(()) }
    /// ```
    pub fn options(&self) -> &Options {
        &self.shared.options
    }
}

impl Drop for WebSocketClient {
    fn drop(&mut self) {
        let shared = &self.shared;
        // First, so that no Handle can start a connection after the one closed below.
        shared.mark_dropped();
        if shared.on_connection_thread() {
            // Dropped from inside the callback: the thread cannot join itself. Ask it to
            // close; it ends by itself within the close timeout, and its JoinHandle (freed
            // with `Shared`) no longer holds it.
            shared.request_close(CloseCode::GOING_AWAY, String::new());
        } else {
            shared.shut_down(CloseCode::GOING_AWAY, String::new());
        }
    }
}

impl Handle {
    fn shared(&self) -> Result<Arc<Shared>, Error> {
        self.shared.upgrade().ok_or(Error::NotConnected)
    }

    /// Connects; see [`WebSocketClient::connect`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// let handle = client.handle();
    /// let dialer = std::thread::spawn(move || handle.connect(&[]));
    /// let handshake = dialer.join().unwrap()?;
    /// println!("connected to {}", handshake.peer_addr);
    /// # Ok(()) }
    /// ```
    pub fn connect(&self, headers: &[(&str, &str)]) -> Result<Handshake, Error> {
        self.shared()?.connect(headers)
    }

    /// Frames a text or binary message on this thread, queues it and returns; it goes out
    /// in order with every other message sent through this client. (On a `ws://`
    /// connection whose thread is asleep, this thread writes it to the socket itself.)
    ///
    /// Once [`Options::send_high_water`](crate::Options::send_high_water) bytes (1 MiB) are
    /// queued, waits for the queue to drain to half that: a sending loop moves at the
    /// network's pace, a server that reads slowly slows the sender down, and memory stays
    /// bounded. The wait ends when the connection does (a server that stopped reading is
    /// caught by `write_timeout`). From inside the callback, whose thread is the one that
    /// would make room, it fails with [`Error::QueueFull`] instead of waiting for itself.
    ///
    /// Fails with [`Error::NotConnected`] unless the connection is open. A message accepted
    /// here can still fail to leave if the connection breaks first: [`CloseInfo`] counts it,
    /// and the event forms hand it back in [`Event::Unsent`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// let ws = client.handle();
    /// let worker = std::thread::spawn(move || -> Result<(), wsthread::Error> {
    ///     for i in 0..10 {
    ///         ws.send(format!("update {i}"))?;
    ///     }
    ///     Ok(())
    /// });
    /// worker.join().unwrap()?;
    /// # Ok(()) }
    /// ```
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        Ok(self.shared()?.send(message.into(), Wait::Forever)?)
    }

    /// Queues a message only if the queue has room for it now; otherwise hands it back in
    /// the error ([`TrySendError::Full`], or [`TrySendError::NotConnected`] when there is no
    /// open connection, while reconnecting for example). Never waits, not even for another
    /// thread's fragmented message. (While the callback blocks and the socket is full, what
    /// a `try_send` queued leaves with the next `send`, or when the callback returns.)
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_| {}, wsthread::Options::new("ws://h/")?)?;
    /// let ws = client.handle();
    /// if let Err(e) = ws.try_send("position 12,40") {
    ///     // A newer position will follow: drop this one rather than queue behind it.
    ///     println!("skipped: {e}");
    ///     let _position = e.into_inner();
    /// }
    /// # Ok(()) }
    /// ```
    pub fn try_send(&self, message: impl Into<Message>) -> Result<(), TrySendError> {
        let message = message.into();
        match self.shared.upgrade() {
            Some(shared) => shared.send(message, Wait::No),
            None => Err(TrySendError::NotConnected(message)),
        }
    }

    /// Like [`send`](Self::send), but waits at most `timeout` for the queue to drain; then
    /// it takes what room [`Options::send_queue_limit`](crate::Options::send_queue_limit)
    /// leaves, as [`try_send`](Self::try_send) does, or hands the message back in
    /// [`TrySendError::Full`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_| {}, wsthread::Options::new("ws://h/")?)?;
    /// use std::time::Duration;
    /// client.handle().send_timeout(vec![0u8; 1 << 20], Duration::from_secs(2))?;
    /// # Ok(()) }
    /// ```
    pub fn send_timeout(&self, message: impl Into<Message>, timeout: Duration) -> Result<(), TrySendError> {
        let message = message.into();
        match self.shared.upgrade() {
            Some(shared) => shared.send(message, until(timeout)),
            None => Err(TrySendError::NotConnected(message)),
        }
    }

    /// Bytes queued and not yet written to the socket (frames, headers included), like the
    /// browser's `bufferedAmount`: 0 when nothing waits, or there is no connection.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// let ws = client.handle();
    /// assert_eq!(ws.buffered_amount(), 0); // nothing queued without a connection
    /// # Ok(()) }
    /// ```
    pub fn buffered_amount(&self) -> usize {
        self.shared().map_or(0, |s| s.buffered_amount())
    }

    /// The reconnect attempt on its way, while the client waits or dials under
    /// [`Options::reconnect`](crate::Options::reconnect): its number, its delay, and why.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// let ws = client.handle();
    /// assert!(ws.reconnecting().is_none()); // no reconnect policy, nothing lost
    /// # Ok(()) }
    /// ```
    pub fn reconnecting(&self) -> Option<Reconnecting> {
        self.shared().ok()?.reconnecting()
    }

    /// Sends a ping with `payload` (at most 125 bytes). The server's pong reaches the event
    /// forms as [`Event::Pong`](crate::Event::Pong) (the `new` callback never sees it), and
    /// any byte from the server counts as life for the heartbeat. Control frames never wait
    /// for room in the queue.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// let ws = client.handle();
    /// ws.ping(b"hb-1")?;
    /// assert!(matches!(ws.ping(vec![0; 126]), Err(wsthread::Error::PayloadTooLong(126))));
    /// # Ok(()) }
    /// ```
    pub fn ping(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.shared()?.queue(OP_PING, &control_payload(payload.into())?, Wait::No)
    }

    /// Sends an unsolicited pong with `payload` (at most 125 bytes): a one-way heartbeat.
    /// Pings from the server are answered automatically; there is no need to call this.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// client.connect(&[])?;
    /// client.handle().pong(b"still here")?;
    /// # Ok(()) }
    /// ```
    pub fn pong(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.shared()?.queue(OP_PONG, &control_payload(payload.into())?, Wait::No)
    }

    /// Sends one text or binary message as several frames, one per item of `fragments`
    /// (HTTP.jl's `send` of an iterable): for a message produced piece by piece, or to
    /// control the framing. No items send an empty message. Data messages of other threads
    /// wait until the last fragment has left; pings and pongs may go in between.
    ///
    /// For text, the whole must be valid UTF-8, though an item may end inside a code point
    /// that the next completes. Fails with [`FrameError::InvalidUtf8`] otherwise: nothing is
    /// sent if the first item is at fault; after that, what left cannot be taken back and
    /// the connection is closed with 1011. An iterator that panics midway closes it too.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_| {}, wsthread::Options::new("ws://h/")?)?;
    /// use wsthread::MessageKind;
    /// let ws = client.handle();
    /// // "é" is split between the first two frames; the server receives "héllo".
    /// ws.send_fragments(MessageKind::Text, [&b"h\xc3"[..], b"\xa9l", b"lo"])?;
    /// ws.send_fragments(MessageKind::Binary, (0..4u8).map(|i| vec![i; 1024]))?;
    /// # Ok(()) }
    /// ```
    pub fn send_fragments<I>(&self, kind: MessageKind, fragments: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        send_fragments(&*self.shared()?.outbox()?, kind, fragments)
    }

    /// Starts one text or binary message to be written over time through
    /// [`std::io::Write`], sent as fragments as it fills; see [`MessageWriter`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let client = wsthread::WebSocketClient::new(|_| {}, wsthread::Options::new("ws://h/")?)?;
    /// use std::io::Write;
    /// let mut message = client.handle().writer(wsthread::MessageKind::Text)?;
    /// for i in 0..100_000 {
    ///     write!(message, "{i},")?;
    /// }
    /// message.finish()?;
    /// # Ok(()) }
    /// ```
    pub fn writer(&self, kind: MessageKind) -> Result<MessageWriter, Error> {
        Ok(MessageWriter::new(self.shared()?.outbox()?, kind))
    }

    /// Sends one frame with the opcode and FIN bit chosen here (Qore's
    /// `send(data, op, fin)`): a text or binary frame with `fin` false starts a fragmented
    /// message of this thread, [`OpCode::Continue`] frames carry it on, and the one with
    /// `fin` ends it; pings and pongs may go between them. A thread that starts a message
    /// must finish it: other threads' data messages wait for it meanwhile (a thread that
    /// ends with its message unfinished has the connection closed with 1011).
    ///
    /// Every sequence that would break RFC 6455 is refused with [`Error::Frame`] before
    /// anything is sent: a continuation with no message of this thread in progress
    /// ([`FrameError::NothingToContinue`]), a new text or binary frame inside this thread's
    /// message ([`FrameError::MessageInProgress`]; another thread's is waited for instead),
    /// a fragmented or over-long control frame, a Close (use `disconnect`), a reserved
    /// opcode, text that cannot be valid UTF-8.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_| {}, wsthread::Options::new("ws://h/")?)?;
    /// use wsthread::OpCode;
    /// client.send_frame(OpCode::Text, b"Hel", false)?;
    /// client.send_frame(OpCode::Ping, b"", true)?;
    /// client.send_frame(OpCode::Continue, b"lo", true)?; // the server receives "Hello"
    /// # Ok(()) }
    /// ```
    pub fn send_frame(&self, opcode: OpCode, payload: &[u8], fin: bool) -> Result<(), Error> {
        send_frame(&*self.shared()?, opcode, payload, fin)
    }

    /// Closes with 1001 Going Away. See [`disconnect_with`](Self::disconnect_with).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use std::time::Duration;
    /// client.connect(&[])?;
    /// let ws = client.handle();
    /// std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_secs(60));
    ///     let _ = ws.disconnect(); // the session's time is up
    /// });
    /// # Ok(()) }
    /// ```
    pub fn disconnect(&self) -> Result<(), Error> {
        self.disconnect_with(CloseCode::GOING_AWAY, "")
    }

    /// Closes with `code` and `reason` (at most 123 bytes of UTF-8).
    ///
    /// From any thread but the connection's own, this sends the Close frame after every
    /// message queued before it, waits for the server's Close and for the connection thread
    /// to end (at most `close_timeout` for the close), and returns with the callback's `None`
    /// delivered. From inside the callback it only starts the close and returns at once.
    /// A connect in progress on another thread is stopped: it returns [`Error::Aborted`].
    /// Disconnecting a client that is not connected (or was dropped) does nothing.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use wsthread::{CloseCode, Error};
    /// let ws = client.handle();
    /// // 1006 only reports a connection lost without a Close frame: it is never sent.
    /// assert!(matches!(ws.disconnect_with(CloseCode::ABNORMAL, ""), Err(Error::InvalidCloseCode(1006))));
    /// ws.disconnect_with(CloseCode::NORMAL, "done")?; // not connected: does nothing
    /// # Ok(()) }
    /// ```
    pub fn disconnect_with(&self, code: impl Into<CloseCode>, reason: &str) -> Result<(), Error> {
        match self.shared.upgrade() {
            Some(shared) => shared.disconnect(code.into(), reason),
            None => check_close(code.into(), reason),
        }
    }

    /// True while the connection is open (after `connect`, before any Close).
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// let ws = client.handle();
    /// assert!(!ws.is_open()); // not connected yet
    /// # Ok(()) }
    /// ```
    pub fn is_open(&self) -> bool {
        self.state() == State::Open
    }

    /// The connection's state.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use wsthread::State;
    /// let ws = client.handle();
    /// drop(client);
    /// assert_eq!(ws.state(), State::Closed); // still readable once the client is gone
    /// # Ok(()) }
    /// ```
    pub fn state(&self) -> State {
        self.status.get()
    }

    /// Why the last connection ended (also once the client is dropped); `None` while
    /// connected or before the first connect.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// let ws = client.handle();
    /// drop(client);
    /// assert!(ws.close_info().is_none()); // it never connected
    /// # Ok(()) }
    /// ```
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.status.close_info()
    }
}


/// A wait of `timeout` from now (for ever, if that is past what an `Instant` holds).
fn until(timeout: Duration) -> Wait {
    Instant::now().checked_add(timeout).map_or(Wait::Forever, Wait::Until)
}

fn control_payload(payload: Vec<u8>) -> Result<Vec<u8>, Error> {
    if payload.len() > 125 {
        return Err(Error::PayloadTooLong(payload.len()));
    }
    Ok(payload)
}

fn send_frame(shared: &Shared, opcode: OpCode, payload: &[u8], fin: bool) -> Result<(), Error> {
    match opcode {
        OpCode::Ping | OpCode::Pong if !fin => Err(FrameError::FragmentedControl.into()),
        OpCode::Ping | OpCode::Pong if payload.len() > 125 => Err(FrameError::ControlTooLong(payload.len()).into()),
        OpCode::Ping | OpCode::Pong => shared.queue(opcode.code(), payload, Wait::No),
        OpCode::Close => Err(FrameError::Close.into()),
        OpCode::Text | OpCode::Binary | OpCode::Continue => {
            let outbox = shared.outbox()?;
            let owner = Owner::of_this_thread();
            outbox.fragment(owner, opcode.code(), payload, fin, Wait::Forever)?;
            if opcode != OpCode::Continue && !fin {
                OPEN_RAW.with(|open| open.started(owner, &outbox));
            }
            Ok(())
        }
        OpCode::Reserved(code) => Err(FrameError::ReservedOpCode(code).into()),
    }
}

thread_local! {
    static OPEN_RAW: OpenRaw = const { OpenRaw(RefCell::new(Vec::new())) };
}

/// The connections where this thread started raw fragmented messages. A thread that ends
/// with one unfinished would hold back every other sender of that connection for ever:
/// the connection is closed with 1011 instead (`Outbox::abandon`, which does nothing for a
/// message that was finished).
struct OpenRaw(RefCell<Vec<(Owner, Weak<Outbox>)>>);

impl OpenRaw {
    fn started(&self, owner: Owner, outbox: &Arc<Outbox>) {
        let mut open = self.0.borrow_mut();
        open.retain(|(_, o)| o.strong_count() > 0 && !std::ptr::eq(o.as_ptr(), Arc::as_ptr(outbox)));
        open.push((owner, Arc::downgrade(outbox)));
    }
}

impl Drop for OpenRaw {
    fn drop(&mut self) {
        for (owner, outbox) in self.0.get_mut().drain(..) {
            if let Some(outbox) = outbox.upgrade() {
                outbox.abandon(owner, "its thread ended before the final frame");
            }
        }
    }
}

fn send_fragments<I>(outbox: &Outbox, kind: MessageKind, fragments: I) -> Result<(), Error>
where
    I: IntoIterator,
    I::Item: AsRef<[u8]>,
{
    /// Closes the connection if the message is left unfinished (an error, or a panic in
    /// the iterator): see `Outbox::abandon`.
    struct Unfinished<'a>(&'a Outbox, Owner, bool);
    impl Drop for Unfinished<'_> {
        fn drop(&mut self) {
            if self.2 {
                self.0.abandon(self.1, "send_fragments stopped midway");
            }
        }
    }
    let owner = Owner::new();
    let mut guard = Unfinished(outbox, owner, false);
    let mut opcode = match kind {
        MessageKind::Text => OP_TEXT,
        MessageKind::Binary => OP_BINARY,
    };
    let mut items = fragments.into_iter();
    let mut current = items.next();
    loop {
        // One item ahead, to know which fragment is the last.
        let next = items.next();
        let fin = next.is_none();
        outbox.fragment(owner, opcode, current.as_ref().map_or(&[][..], |c| c.as_ref()), fin, Wait::Forever)?;
        guard.2 = !fin;
        if fin {
            return Ok(());
        }
        opcode = OP_CONTINUE;
        current = next;
    }
}


/// Qore's form: `Some(message)` for each message, `None` once at the end.
struct Callback<F>(F);

impl<F: FnMut(Option<Message>) + Send> EventSink for Callback<F> {
    fn message(&mut self, message: Message) {
        (self.0)(Some(message))
    }
    fn closed(&mut self, _: &CloseInfo) {
        (self.0)(None)
    }
}

/// Every event, with a handle.
struct EventCallback<F>(F, Handle);

impl<F: FnMut(&Handle, Event) + Send> EventSink for EventCallback<F> {
    fn opened(&mut self, handshake: &Handshake) {
        (self.0)(&self.1, Event::Opened(Box::new(handshake.clone())))
    }
    fn message(&mut self, message: Message) {
        (self.0)(&self.1, Event::Message(message))
    }
    fn ping(&mut self, payload: &[u8]) {
        (self.0)(&self.1, Event::Ping(payload.to_vec()))
    }
    fn pong(&mut self, payload: &[u8]) {
        (self.0)(&self.1, Event::Pong(payload.to_vec()))
    }
    fn unsent(&mut self, messages: Vec<Message>) {
        (self.0)(&self.1, Event::Unsent(messages))
    }
    fn reconnecting(&mut self, next: &Reconnecting) {
        (self.0)(&self.1, Event::Reconnecting(next.clone()))
    }
    fn closed(&mut self, info: &CloseInfo) {
        (self.0)(&self.1, Event::Closed(info.clone()))
    }
}

/// The same, with a handle to the connection for replying or disconnecting from inside.
struct HandleCallback<F>(F, Handle);

impl<F: FnMut(&Handle, Option<Message>) + Send> EventSink for HandleCallback<F> {
    fn message(&mut self, message: Message) {
        (self.0)(&self.1, Some(message))
    }
    fn closed(&mut self, _: &CloseInfo) {
        (self.0)(&self.1, None)
    }
}
