//! The client and its handle: what callers hold, and the state they share with the
//! connection thread.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use parking_lot::{Mutex, RwLock};
use rustls::ClientConfig;
use tungstenite::protocol::{Role, WebSocket, WebSocketConfig};

use crate::callback::{Callback, EventSink, HandleCallback};
use crate::close::{CloseCode, CloseInfo, State};
use crate::connection::Connection;
use crate::link::Link;
use crate::outbox::{Outbox, OP_BINARY, OP_PING, OP_PONG, OP_TEXT};
use crate::stream::WsStream;
use crate::transport::Transport;
use crate::dial::{dial, Abort, Dialed};
use crate::error::Error;
use crate::handshake::Handshake;
use crate::message::Message;
use crate::options::Options;

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
    handle: Handle,
}

/// A cheap, cloneable reference to a client's connection, for sending or disconnecting from
/// other threads or from inside the callback.
///
/// A handle does not keep the connection alive: once its [`WebSocketClient`] is dropped,
/// every call returns [`Error::NotConnected`] (or does nothing, for `disconnect`).
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

/// What the caller's side and the connection thread share. Every lock here is held only
/// for a few instructions, never across socket I/O.
pub(crate) struct Shared {
    pub(crate) options: Options,
    tls: Option<Arc<ClientConfig>>,
    state: AtomicU8,
    /// The current connection's command queue; `None` when there is none.
    link: RwLock<Option<Link>>,
    close_info: Mutex<Option<CloseInfo>>,
    /// The event sink, while no connection thread holds it.
    sink: Mutex<Option<Box<dyn EventSink>>>,
    /// Set once the client is dropped: the sink is then not put back (it may hold a Handle,
    /// and keeping it would keep `Shared` alive forever).
    dropped: AtomicBool,
    /// Serialises connect and disconnect; holds the connection thread to join.
    lifecycle: Mutex<Option<JoinHandle<()>>>,
    /// Stops a connect in progress, so that disconnect and drop never wait for a dial.
    abort: Abort,
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
        Self::with_sink(Box::new(Callback(callback)), options)
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
        Self::with_sink(Box::new(HandleCallback(callback)), options)
    }

    fn with_sink(sink: Box<dyn EventSink>, options: Options) -> Result<WebSocketClient, Error> {
        let tls = if options.is_tls() { Some(crate::tls::client_config(&options.tls)?) } else { None };
        let shared = Arc::new(Shared {
            options,
            tls,
            state: AtomicU8::new(State::Closed as u8),
            link: RwLock::new(None),
            close_info: Mutex::new(None),
            sink: Mutex::new(Some(sink)),
            dropped: AtomicBool::new(false),
            lifecycle: Mutex::new(None),
            abort: Abort::default(),
        });
        Ok(WebSocketClient { handle: Handle { shared } })
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
        self.handle.connect(headers)
    }

    /// A handle to this client, for other threads.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Queues a message; see [`Handle::send`].
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        self.handle.send(message)
    }

    /// Sends a ping; see [`Handle::ping`].
    pub fn ping(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.handle.ping(payload)
    }

    /// Sends an unsolicited pong; see [`Handle::pong`].
    pub fn pong(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        self.handle.pong(payload)
    }

    /// Closes with 1001 Going Away; see [`Handle::disconnect`].
    pub fn disconnect(&self) -> Result<(), Error> {
        self.handle.disconnect()
    }

    /// Closes with any code and reason; see [`Handle::disconnect_with`].
    pub fn disconnect_with(&self, code: impl Into<CloseCode>, reason: &str) -> Result<(), Error> {
        self.handle.disconnect_with(code, reason)
    }

    /// True while the connection is open (after `connect`, before any Close).
    pub fn is_open(&self) -> bool {
        self.handle.is_open()
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.handle.state()
    }

    /// Why the last connection ended; `None` while connected or before the first connect.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.handle.close_info()
    }

    /// The options this client was made with.
    pub fn options(&self) -> &Options {
        &self.handle.shared.options
    }
}

impl Drop for WebSocketClient {
    fn drop(&mut self) {
        let shared = &self.handle.shared;
        // First, so that no Handle can start a connection after the one closed below.
        shared.dropped.store(true, Ordering::Release);
        if shared.on_connection_thread() {
            // Dropped from inside the callback: the thread cannot join itself. Ask it to
            // close; it ends by itself within the close timeout.
            shared.request_close(CloseCode::GOING_AWAY, String::new());
        } else {
            shared.shut_down(CloseCode::GOING_AWAY, String::new());
        }
        // The connection thread puts the sink back only while `dropped` is false, under this
        // same lock, so after this no sink (and no Handle it holds) keeps `Shared` alive.
        *shared.sink.lock() = None;
    }
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// Connects; see [`WebSocketClient::connect`].
    pub fn connect(&self, headers: &[(&str, &str)]) -> Result<Handshake, Error> {
        Shared::connect(&self.shared, headers)
    }

    /// Frames a text or binary message on this thread, queues it and returns at once; it
    /// goes out in order with every other message sent through this client. (On a `ws://`
    /// connection whose thread is asleep, this thread writes it to the socket itself.)
    ///
    /// Fails with [`Error::NotConnected`] unless the connection is open. A message accepted
    /// here can still fail to leave if the connection breaks first; the end is then reported
    /// through `None` and [`CloseInfo`].
    pub fn send(&self, message: impl Into<Message>) -> Result<(), Error> {
        match message.into() {
            Message::Text(text) => self.queue(OP_TEXT, text.as_bytes(), true),
            Message::Binary(bytes) => self.queue(OP_BINARY, &bytes, true),
        }
    }

    /// Sends a ping with `payload` (at most 125 bytes). The server's pong is consumed by the
    /// connection thread.
    pub fn ping(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        let payload = control_payload(payload.into())?;
        self.queue(OP_PING, &payload, false)
    }

    /// Sends an unsolicited pong with `payload` (at most 125 bytes): a one-way heartbeat.
    /// Pings from the server are answered automatically; there is no need to call this.
    pub fn pong(&self, payload: impl Into<Vec<u8>>) -> Result<(), Error> {
        let payload = control_payload(payload.into())?;
        self.queue(OP_PONG, &payload, false)
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
    /// Disconnecting a client that is not connected does nothing.
    pub fn disconnect_with(&self, code: impl Into<CloseCode>, reason: &str) -> Result<(), Error> {
        let code = code.into();
        if !code.is_sendable() {
            return Err(Error::InvalidCloseCode(code.0));
        }
        if reason.len() > 123 {
            return Err(Error::PayloadTooLong(reason.len() + 2));
        }
        if self.shared.on_connection_thread() {
            self.shared.request_close(code, reason.to_owned());
        } else {
            self.shared.shut_down(code, reason.to_owned());
        }
        Ok(())
    }

    /// True while the connection is open (after `connect`, before any Close).
    pub fn is_open(&self) -> bool {
        self.state() == State::Open
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        match self.shared.state.load(Ordering::Acquire) {
            0 => State::Connecting,
            1 => State::Open,
            2 => State::Closing,
            _ => State::Closed,
        }
    }

    /// Why the last connection ended; `None` while connected or before the first connect.
    pub fn close_info(&self) -> Option<CloseInfo> {
        self.shared.close_info.lock().clone()
    }

    /// Frames `payload` on this thread and queues it (see [`Outbox`]).
    fn queue(&self, opcode: u8, payload: &[u8], data: bool) -> Result<(), Error> {
        if !self.is_open() {
            return Err(Error::NotConnected);
        }
        match &*self.shared.link.read() {
            Some(link) => link.outbox.send(opcode, payload, data).map_err(|()| Error::NotConnected),
            None => Err(Error::NotConnected),
        }
    }
}

fn control_payload(payload: Vec<u8>) -> Result<Vec<u8>, Error> {
    if payload.len() > 125 {
        return Err(Error::PayloadTooLong(payload.len()));
    }
    Ok(payload)
}

impl Shared {
    pub(crate) fn set_state(&self, state: State) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// Called by the connection thread when it ends, before the sink hears of it.
    pub(crate) fn record_end(&self, info: CloseInfo) {
        *self.close_info.lock() = Some(info);
        self.set_state(State::Closed);
    }

    /// Called by the connection thread first: it holds the sink while it runs. (The previous
    /// connection's thread has put it back: connect joins that thread before starting this one.)
    pub(crate) fn take_sink(&self) -> Option<Box<dyn EventSink>> {
        self.sink.lock().take()
    }

    /// Called by the connection thread last: the sink goes back for the next connect.
    pub(crate) fn return_sink(&self, sink: Box<dyn EventSink>) {
        let mut slot = self.sink.lock();
        if !self.dropped.load(Ordering::Acquire) {
            *slot = Some(sink);
        }
    }

    fn on_connection_thread(&self) -> bool {
        let me = thread::current().id();
        self.link.read().as_ref().is_some_and(|l| l.thread == me)
    }

    fn request_close(&self, code: CloseCode, reason: String) {
        // Closing from now on: later sends fail instead of being dropped behind the Close.
        let _ = self.state.compare_exchange(
            State::Open as u8,
            State::Closing as u8,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if let Some(link) = &*self.link.read() {
            link.outbox.request_close(code, reason);
        }
    }

    /// Closes the current connection, if any, and waits for its thread. A connect in
    /// progress on another thread is aborted first.
    fn shut_down(&self, code: CloseCode, reason: String) {
        self.abort.request();
        let mut life = self.lifecycle.lock();
        self.shut_down_locked(&mut life, code, reason);
    }

    fn shut_down_locked(&self, life: &mut Option<JoinHandle<()>>, code: CloseCode, reason: String) {
        if let Some(thread) = life.take() {
            self.request_close(code, reason);
            // The thread ends within the close timeout unless the callback itself blocks.
            let _ = thread.join();
        }
        *self.link.write() = None;
    }

    fn connect(this: &Arc<Shared>, headers: &[(&str, &str)]) -> Result<Handshake, Error> {
        if this.on_connection_thread() {
            return Err(Error::InCallback);
        }
        let mut life = this.lifecycle.lock();
        if this.dropped.load(Ordering::Acquire) {
            // Only a Handle outlives the client; a connection made now would have no owner
            // to close it and no drop to join its thread.
            return Err(Error::NotConnected);
        }
        this.abort.reset();
        this.shut_down_locked(&mut life, CloseCode::GOING_AWAY, String::new());
        *this.close_info.lock() = None;
        this.set_state(State::Connecting);
        match Self::start(this, headers, &mut life) {
            Ok(handshake) => Ok(handshake),
            Err(e) => {
                this.set_state(State::Closed);
                Err(e)
            }
        }
    }

    fn start(this: &Arc<Shared>, headers: &[(&str, &str)], life: &mut Option<JoinHandle<()>>) -> Result<Handshake, Error> {
        let Dialed { poll, waker, transport, tail, handshake } =
            dial(&this.options, this.tls.as_ref(), headers, &this.abort)?;
        let o = &this.options;
        let config = WebSocketConfig::default()
            .read_buffer_size(16 * 1024)
            .write_buffer_size(64 * 1024)
            .max_message_size(o.max_message_size)
            .max_frame_size(o.max_frame_size);
        // Plain TCP senders may write to the socket themselves; TLS state stays on the thread.
        let socket = match &transport {
            Transport::Plain(socket) => Some(socket.clone()),
            Transport::Tls(_) => None,
        };
        let outbox = Arc::new(Outbox::new(waker, socket));
        let stream = WsStream::new(transport, &tail, outbox.clone());
        let ws = WebSocket::from_partially_read(stream, tail, Role::Client, Some(config));
        let conn = Connection::new(ws, poll, outbox.clone(), this.clone());

        // Hold the link slot while the thread starts: a callback that sends at once waits
        // here for the link instead of finding none.
        let mut slot = this.link.write();
        this.set_state(State::Open);
        let thread = thread::Builder::new()
            .name("wsthread-connection".into())
            .stack_size(o.thread_stack_size)
            .spawn(move || conn.run());
        let thread = match thread {
            Ok(t) => t,
            Err(e) => return Err(Error::Io(e)),
        };
        *slot = Some(Link { outbox, thread: thread.thread().id() });
        drop(slot);
        *life = Some(thread);
        Ok(handshake)
    }
}
