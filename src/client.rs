//! The client and its handle: what callers hold. The connect and disconnect lifecycle
//! behind them is in `lifecycle.rs`.

use std::sync::{Arc, Weak};

use crate::close::{CloseCode, CloseInfo};
use crate::error::Error;
use crate::events::EventSink;
use crate::frame::{OP_PING, OP_PONG};
use crate::lifecycle::{check_close, Shared};
use crate::message::Message;
use crate::options::Options;
use crate::report::Handshake;
use crate::state::{State, Status};

/// A WebSocket client: one connection at a time, run by its own background thread, with
/// every received message handed to a callback.
///
/// Create it with [`new`](Self::new) (or [`with_handle`](Self::with_handle)), then call
/// [`connect`](Self::connect). The callback runs on the connection thread: it receives
/// `Some(message)` for each complete text or binary message, then `None` exactly once when
/// that connection ends, for whatever reason; nothing after that `None`. A callback that
/// blocks stops reading from the socket (the server then sees backpressure); one that panics
/// has the connection closed with 1011, and the panic is reported in [`CloseInfo::error`].
///
/// The client is `Send + Sync`: share it (for example in an `Arc`) and send from any number
/// of threads; each message goes out whole. Dropping it disconnects with 1001 Going Away and
/// joins the connection thread, waiting at most about `close_timeout`.
pub struct WebSocketClient {
    shared: Arc<Shared>,
}

/// A cheap, cloneable reference to a client's connection, for sending or disconnecting from
/// other threads or from inside the callback.
///
/// A handle does not keep the connection alive: once its [`WebSocketClient`] is dropped,
/// every call returns [`Error::NotConnected`] (or does nothing, for `disconnect`).
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
    /// checked) here, once for all later connects.
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
        Self::with_sink(|_| Box::new(Callback(callback)), options)
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
        Self::with_sink(|handle| Box::new(HandleCallback(callback, handle)), options)
    }

    fn with_sink(sink: impl FnOnce(Handle) -> Box<dyn EventSink>, options: Options) -> Result<WebSocketClient, Error> {
        let tls = if options.is_tls() { Some(crate::tls::client_config(&options.tls)?) } else { None };
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
    pub fn connect(&self, headers: &[(&str, &str)]) -> Result<Handshake, Error> {
        self.shared.connect(headers)
    }

    /// A handle to this client, for other threads.
    pub fn handle(&self) -> Handle {
        Handle { shared: Arc::downgrade(&self.shared), status: self.shared.status.clone() }
    }

    /// Queues a message; see [`Handle::send`].
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        self.shared.send(message.into())
    }

    /// Sends a ping; see [`Handle::ping`].
    pub fn ping(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.shared.queue(OP_PING, &control_payload(payload.into())?)
    }

    /// Sends an unsolicited pong; see [`Handle::pong`].
    pub fn pong(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.shared.queue(OP_PONG, &control_payload(payload.into())?)
    }

    /// Closes with 1001 Going Away; see [`Handle::disconnect`].
    pub fn disconnect(&self) -> Result<(), Error> {
        self.shared.disconnect(CloseCode::GOING_AWAY, "")
    }

    /// Closes with any code and reason; see [`Handle::disconnect_with`].
    pub fn disconnect_with(&self, code: impl Into<CloseCode>, reason: &str) -> Result<(), Error> {
        self.shared.disconnect(code.into(), reason)
    }

    /// True while the connection is open (after `connect`, before any Close).
    pub fn is_open(&self) -> bool {
        self.state() == State::Open
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.shared.status.get()
    }

    /// Why the last connection ended; `None` while connected or before the first connect.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.shared.status.close_info()
    }

    /// The options this client was made with.
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
    pub fn connect(&self, headers: &[(&str, &str)]) -> Result<Handshake, Error> {
        self.shared()?.connect(headers)
    }

    /// Frames a text or binary message on this thread, queues it and returns at once; it
    /// goes out in order with every other message sent through this client. (On a `ws://`
    /// connection whose thread is asleep, this thread writes it to the socket itself.)
    ///
    /// Fails with [`Error::NotConnected`] unless the connection is open. A message accepted
    /// here can still fail to leave if the connection breaks first; the end is then reported
    /// through `None` and [`CloseInfo`].
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        self.shared()?.send(message.into())
    }

    /// Sends a ping with `payload` (at most 125 bytes). The server's pong is consumed by the
    /// connection thread.
    pub fn ping(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.shared()?.queue(OP_PING, &control_payload(payload.into())?)
    }

    /// Sends an unsolicited pong with `payload` (at most 125 bytes): a one-way heartbeat.
    /// Pings from the server are answered automatically; there is no need to call this.
    pub fn pong(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.shared()?.queue(OP_PONG, &control_payload(payload.into())?)
    }

    /// Closes with 1001 Going Away. See [`disconnect_with`](Self::disconnect_with).
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
    pub fn disconnect_with(&self, code: impl Into<CloseCode>, reason: &str) -> Result<(), Error> {
        match self.shared.upgrade() {
            Some(shared) => shared.disconnect(code.into(), reason),
            None => check_close(code.into(), reason),
        }
    }

    /// True while the connection is open (after `connect`, before any Close).
    pub fn is_open(&self) -> bool {
        self.state() == State::Open
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.status.get()
    }

    /// Why the last connection ended (also once the client is dropped); `None` while
    /// connected or before the first connect.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.status.close_info()
    }
}


fn control_payload(payload: Vec<u8>) -> Result<Vec<u8>, Error> {
    if payload.len() > 125 {
        return Err(Error::PayloadTooLong(payload.len()));
    }
    Ok(payload)
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
