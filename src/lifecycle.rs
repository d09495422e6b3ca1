//! The life of a client's connections: connect (dial, then spawn the connection thread with
//! what it needs), disconnect (ask the thread to close, join it, take the event sink back),
//! reconnect (the same thread waits, dials again and runs the next connection, as the policy
//! says), and the calls that reach the current connection's outgoing queue. A connection
//! (`connection/`) gets its parts when it starts and returns how it ended; it never reaches
//! up here.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use crate::close::{CloseCode, CloseInfo, ClosedBy, Reconnect, Reconnecting};
use crate::connection::{Connection, Parts};
use crate::dial::{dial, Abort, Dialed, Ticket};
use crate::error::{Error, TrySendError};
use crate::events::{Discard, EventSink, Interrupt};
use crate::frame::{Head, OP_BINARY, OP_TEXT};
use crate::message::Message;
use crate::options::Options;
use crate::outbox::{CloseRequest, Outbox, Wait};
use crate::reconnect::Backoff;
#[cfg(feature = "deflate")]
use crate::protocol::codec;
use crate::protocol::{FrameObserver, Limits, Protocol};
use crate::raw::{Direction, FrameHook};
use crate::report::Handshake;
use crate::state::{State, Status};
use crate::tls::Config as TlsConfig;

/// Why a reconnect stops when the user closes.
const DISCONNECTED: &str = "the client was disconnected";

/// What a client and its handles share.
pub(crate) struct Shared {
    pub(crate) options: Options,
    tls: Option<TlsConfig>,
    /// The state and the last end, shared with the connection thread.
    pub(crate) status: Arc<Status>,
    /// The current connection's outgoing queue and thread; `None` when there is none.
    /// Held for reading while a sender queues its frame (and perhaps writes it, without
    /// blocking: see `outbox.rs`): cheaper per message than cloning the queue's `Arc`, whose
    /// count shares a cache line with the queue the connection thread works on. Taken for
    /// writing only by connect and disconnect, to swap the connection.
    link: RwLock<Option<Link>>,
    /// Set once the client is dropped: no connection may start after that.
    dropped: AtomicBool,
    /// Serialises connect and disconnect. Held across a dial (which `abort` cuts short) and
    /// across the join of the connection thread (bounded by `close_timeout`, unless the
    /// callback blocks); every other lock is held for a few instructions.
    life: Mutex<Life>,
    /// Stops a connect in progress, or waiting for its turn, so that disconnect and drop
    /// never wait for a dial.
    abort: Abort,
    /// Stops the connection thread's reconnecting (its wait and its dial): raised with every
    /// close the user asks for.
    halt: Abort,
    /// Tells the event sink that the user asked to close (see `Interrupt`).
    interrupt: Interrupt,
    /// The reconnect attempt on its way, if any.
    next: Mutex<Option<Reconnecting>>,
}

/// The other threads' end of a connection.
struct Link {
    outbox: Arc<Outbox>,
    thread: ThreadId,
}

/// Where the event sink is: with the client between connections, or with the thread,
/// which hands it back when joined.
enum Life {
    Idle(Box<dyn EventSink>),
    Running(JoinHandle<Box<dyn EventSink>>),
}

impl Life {
    /// Waits for a running connection thread and takes the sink back from it. The thread
    /// catches every panic, so the sink comes back unless the sink's own drop panicked.
    fn join(&mut self) {
        *self = match std::mem::replace(self, Life::Idle(Box::new(Discard))) {
            Life::Running(thread) => Life::Idle(thread.join().unwrap_or_else(|_| Box::new(Discard))),
            idle => idle,
        };
    }

    /// Takes the sink out for a new connection thread (the last one has been joined).
    fn take_sink(&mut self) -> Box<dyn EventSink> {
        match std::mem::replace(self, Life::Idle(Box::new(Discard))) {
            Life::Idle(sink) => sink,
            running => {
                *self = running;
                Box::new(Discard)
            }
        }
    }
}

pub(crate) fn check_close(code: CloseCode, reason: &str) -> Result<(), Error> {
    if !code.is_sendable() {
        return Err(Error::InvalidCloseCode(code.0));
    }
    if reason.len() > 123 {
        return Err(Error::PayloadTooLong(reason.len() + 2));
    }
    Ok(())
}

impl Shared {
    /// A client's shared part; `sink` makes the event sink, given a handle to the client
    /// and the interrupt raised when the user asks to close.
    pub(crate) fn new<H>(
        options: Options,
        tls: Option<TlsConfig>,
        handle: impl FnOnce(Weak<Shared>, Arc<Status>) -> H,
        sink: impl FnOnce(H, Interrupt) -> Box<dyn EventSink>,
    ) -> Arc<Shared> {
        let status = Arc::new(Status::new());
        let interrupt = Interrupt::new();
        Arc::new_cyclic(|weak| Shared {
            options,
            tls,
            status: status.clone(),
            link: RwLock::new(None),
            dropped: AtomicBool::new(false),
            life: Mutex::new(Life::Idle(sink(handle(weak.clone(), status), interrupt.clone()))),
            abort: Abort::default(),
            halt: Abort::default(),
            interrupt,
            next: Mutex::new(None),
        })
    }

    /// The client is being dropped: no connection may start from now on.
    pub(crate) fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    /// Queues `message`, waiting for room as `wait` says; hands it back if it is not queued.
    pub(crate) fn send(&self, message: Message, wait: Wait) -> Result<(), TrySendError> {
        let queued = match &message {
            Message::Text(text) => self.queue(OP_TEXT, text.as_bytes(), wait),
            Message::Binary(bytes) => self.queue(OP_BINARY, bytes, wait),
        };
        queued.map_err(|e| TrySendError::new(e, message))
    }

    /// Frames `payload` on this thread and queues it (see [`Outbox`]).
    pub(crate) fn queue(&self, opcode: u8, payload: &[u8], wait: Wait) -> Result<(), Error> {
        if self.status.get() != State::Open {
            return Err(Error::NotConnected);
        }
        match &*self.link.read() {
            Some(link) => link.outbox.send(opcode, payload, wait),
            None => Err(Error::NotConnected),
        }
    }

    /// Bytes queued and not yet written on the open connection.
    pub(crate) fn buffered_amount(&self) -> usize {
        match &*self.link.read() {
            Some(link) if self.status.get() != State::Closed => link.outbox.pending(),
            _ => 0,
        }
    }

    /// The reconnect attempt on its way, if any.
    pub(crate) fn reconnecting(&self) -> Option<Reconnecting> {
        self.next.lock().clone()
    }

    /// The open connection's outgoing queue, for a message written over time: a later
    /// connection's queue is another, so the message cannot continue there.
    pub(crate) fn outbox(&self) -> Result<Arc<Outbox>, Error> {
        if self.status.get() != State::Open {
            return Err(Error::NotConnected);
        }
        self.link.read().as_ref().map(|link| link.outbox.clone()).ok_or(Error::NotConnected)
    }

    pub(crate) fn disconnect(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        check_close(code, reason)?;
        if self.on_connection_thread() {
            self.request_close(code, reason.to_owned());
        } else {
            self.shut_down(code, reason.to_owned());
        }
        Ok(())
    }

    pub(crate) fn on_connection_thread(&self) -> bool {
        let me = thread::current().id();
        self.link.read().as_ref().is_some_and(|l| l.thread == me)
    }

    /// Asks the connection to close within the close timeout; see `request_close_within`.
    pub(crate) fn request_close(&self, code: CloseCode, reason: String) {
        self.request_close_within(code, reason, self.options.close_timeout);
    }

    /// Asks the connection to close, the close handshake bounded by `within`, and stops
    /// any reconnecting: the user's close is final.
    fn request_close_within(&self, code: CloseCode, reason: String, within: Duration) {
        // Closing from now on: later sends fail instead of being dropped behind the Close.
        self.status.open_to_closing();
        // A connection thread waiting for room in a full event channel goes on to close.
        self.interrupt.raise();
        self.halt.request();
        if let Some(link) = &*self.link.read() {
            link.outbox.request_close(CloseRequest { code, reason, within: Some(within) });
        }
    }

    /// Closes the current connection, if any, and waits for its thread. A connect in
    /// progress on another thread, or waiting for its turn, is aborted first.
    pub(crate) fn shut_down(&self, code: CloseCode, reason: String) {
        self.abort.request();
        let mut life = self.life.lock();
        self.shut_down_locked(&mut life, code, reason, self.options.close_timeout);
    }

    fn shut_down_locked(&self, life: &mut Life, code: CloseCode, reason: String, within: Duration) {
        if let Life::Running(_) = life {
            self.request_close_within(code, reason, within);
        }
        // The thread ends within `within` unless the callback itself blocks.
        life.join();
        *self.link.write() = None;
    }

    pub(crate) fn connect(self: &Arc<Shared>, headers: &[(&str, &str)]) -> Result<Handshake, Error> {
        if self.on_connection_thread() {
            return Err(Error::InCallback);
        }
        // Taken before waiting for our turn: a disconnect from now on stops this connect too.
        let ticket = self.abort.ticket();
        let deadline = Instant::now() + self.options.connect_timeout;
        let mut life = self.life.lock();
        if self.dropped.load(Ordering::Acquire) {
            // Only a Handle outlives the client; a connection made now would have no owner
            // to close it and no drop to join its thread.
            return Err(Error::NotConnected);
        }
        if self.abort.stops(ticket) {
            return Err(Error::Aborted);
        }
        // `connect_timeout` bounds the whole connect: a connection still open gets at most
        // half of it to close, the dial at least the other half.
        let o = &self.options;
        self.shut_down_locked(&mut life, CloseCode::GOING_AWAY, String::new(), o.close_timeout.min(o.connect_timeout / 2));
        self.interrupt.clear();
        self.status.connecting();
        let headers: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        match self.start(headers, &mut life, ticket, deadline) {
            Ok(handshake) => Ok(handshake),
            Err(e) => {
                self.status.set(State::Closed);
                Err(e)
            }
        }
    }

    /// Dials, then spawns the connection thread with what it needs; it hands the sink
    /// back when joined.
    fn start(
        self: &Arc<Shared>,
        headers: Vec<(String, String)>,
        life: &mut Life,
        ticket: Ticket,
        deadline: Instant,
    ) -> Result<Handshake, Error> {
        let dialed = dial(&self.options, self.tls.as_ref(), &borrowed(&headers), (&self.abort, ticket), deadline)?;
        let (parts, outbox) = self.parts(dialed);
        let handshake = parts.handshake.clone();
        let halt = self.halt.ticket();
        let shared = Arc::downgrade(self);
        let status = self.status.clone();
        // The sink reaches the thread through a channel once it is running, so that a
        // failed spawn does not take the user's callback down with it.
        let (give, take) = crossbeam_channel::bounded::<Box<dyn EventSink>>(1);
        // Hold the link slot while the thread starts: a callback that sends at once waits
        // here for the link instead of finding none.
        let mut slot = self.link.write();
        self.status.set(State::Open);
        let spawned = thread::Builder::new().name("wsthread-connection".into()).stack_size(self.options.thread_stack_size).spawn(
            move || {
                let mut sink = take.recv().unwrap_or_else(|_| Box::new(Discard));
                run(&shared, &status, parts, &mut *sink, &headers, halt);
                sink
            },
        );
        let sink = life.take_sink();
        let thread = match spawned {
            Ok(thread) => thread,
            Err(e) => {
                *life = Life::Idle(sink);
                return Err(Error::Io(e));
            }
        };
        *slot = Some(Link { outbox, thread: thread.thread().id() });
        *life = Life::Running(thread);
        drop(slot);
        let _ = give.send(sink);
        Ok(handshake)
    }

    /// What a dialed connection's thread needs, and its outgoing queue.
    fn parts(&self, dialed: Dialed) -> (Parts, Arc<Outbox>) {
        let Dialed { poll, waker, transport, tail, handshake } = dialed;
        let o = &self.options;
        let limits = Limits { max_message: o.max_message_size, max_frame: o.max_frame_size };
        let observer = o.frame_hook.clone().map(observer);
        // A negotiated permessage-deflate: its decoder goes to the thread, its encoder to the queue.
        #[cfg(feature = "deflate")]
        let (decoder, encoder) = match (&handshake.deflate, &o.deflate) {
            (Some(params), Some(offer)) => {
                let (decoder, encoder) = codec(params, offer);
                (Some(decoder), Some(encoder))
            }
            _ => (None, None),
        };
        // Nothing was offered, so the handshake refused any extension the server named.
        #[cfg(not(feature = "deflate"))]
        let (decoder, encoder) = (None, None);
        let outbox = Arc::new(Outbox::new(waker, Some(transport.clone()), encoder, observer.clone(), (o.send_queue_limit, o.send_high_water)));
        let parts = Parts {
            transport,
            tail,
            poll,
            outbox: outbox.clone(),
            protocol: Protocol::new(limits, decoder, observer),
            status: self.status.clone(),
            close_timeout: o.close_timeout,
            ping_interval: o.ping_interval,
            busy_poll: o.busy_poll,
            pong_timeout: o.pong_timeout,
            write_timeout: o.write_timeout,
            handshake,
        };
        (parts, outbox)
    }
}

/// The connection thread's body: runs the connection, reports its end, and while the
/// reconnect policy says so waits, dials again (with the same headers) and runs the next.
/// Every wait and dial here ends as soon as the user closes (`halt`).
fn run(shared: &Weak<Shared>, status: &Status, mut parts: Parts, sink: &mut dyn EventSink, headers: &[(String, String)], halt: Ticket) {
    let mut backoff = Backoff::new();
    loop {
        let started = Instant::now();
        let (mut info, unsent) = Connection::new(parts).run(sink);
        if !unsent.is_empty() {
            guarded("the unsent messages", || sink.unsent(unsent));
        }
        info.undelivered_events = catch_unwind(AssertUnwindSafe(|| sink.undelivered())).unwrap_or(0);
        let Some(shared) = shared.upgrade() else {
            status.ended(info.clone());
            guarded("the end of the connection", || sink.closed(&info));
            return;
        };
        let mut next = None;
        if let Some(policy) = &shared.options.reconnect {
            let decided = if shared.halt.stops(halt) { Err(DISCONNECTED.to_owned()) } else { policy.after_close(&info) };
            if started.elapsed() >= policy.reset_after {
                backoff.reset();
            }
            info.reconnect = match decided.and_then(|()| backoff.next(policy, None).ok_or_else(|| gave_up(policy.max_attempts))) {
                Ok((attempt, delay)) => {
                    let why = info.to_string();
                    let r = Reconnecting { attempt, delay, why };
                    next = Some(r.clone());
                    Reconnect::Next(r)
                }
                Err(why) => Reconnect::Stopped(why),
            };
        }
        *shared.next.lock() = next.clone();
        status.ended_then(info.clone(), if next.is_some() { State::Connecting } else { State::Closed });
        guarded("the end of the connection", || sink.closed(&info));
        let Some(next) = next else { return };
        match reconnect(&shared, sink, headers, halt, &mut backoff, next) {
            Some(new) => parts = new,
            None => return,
        }
    }
}

/// Waits and dials until a connection opens (its parts), the policy gives up (its `Closed`
/// delivered) or the user closes.
fn reconnect(
    shared: &Arc<Shared>,
    sink: &mut dyn EventSink,
    headers: &[(String, String)],
    halt: Ticket,
    backoff: &mut Backoff,
    mut next: Reconnecting,
) -> Option<Parts> {
    let policy = shared.options.reconnect.as_ref()?;
    // The user closed: the last end's record says that no reconnect follows after all.
    let stopped = || {
        *shared.next.lock() = None;
        match shared.status.close_info() {
            Some(mut info) => {
                info.reconnect = Reconnect::Stopped(DISCONNECTED.to_owned());
                shared.status.ended(info);
            }
            None => shared.status.set(State::Closed),
        }
        None
    };
    loop {
        log::info!("reconnecting in {:?} (attempt {}): {}", next.delay, next.attempt, next.why);
        *shared.next.lock() = Some(next.clone());
        guarded("a reconnect event", || sink.reconnecting(&next));
        if shared.halt.sleep(halt, next.delay) {
            return stopped();
        }
        let deadline = Instant::now() + shared.options.connect_timeout;
        let error = match dial(&shared.options, shared.tls.as_ref(), &borrowed(headers), (&shared.halt, halt), deadline) {
            Ok(dialed) => {
                let (parts, outbox) = shared.parts(dialed);
                let mut link = shared.link.write();
                // Checked under the link's lock: a close asked for after this finds the new link.
                if shared.halt.stops(halt) {
                    return stopped();
                }
                *link = Some(Link { outbox, thread: thread::current().id() });
                *shared.next.lock() = None;
                shared.status.connecting();
                shared.status.set(State::Open);
                log::info!("reconnected (attempt {})", next.attempt);
                return Some(parts);
            }
            Err(e) => e,
        };
        if shared.halt.stops(halt) {
            return stopped();
        }
        let why = format!("attempt {} failed: {error}", next.attempt);
        log::warn!("reconnect {why}");
        let verdict = policy.after_failure(&error).and_then(|retry_after| backoff.next(policy, retry_after).ok_or_else(|| gave_up(policy.max_attempts)));
        match verdict {
            Ok((attempt, delay)) => next = Reconnecting { attempt, delay, why },
            Err(stop) => {
                // No connection opened, so no `Opened`; one `Closed` says why the policy stopped.
                let info = CloseInfo {
                    code: CloseCode::ABNORMAL,
                    reason: String::new(),
                    closed_by: ClosedBy::Local,
                    clean: false,
                    error: Some(why),
                    unsent_messages: 0,
                    unsent_bytes: 0,
                    undelivered_events: 0,
                    reconnect: Reconnect::Stopped(stop),
                };
                *shared.next.lock() = None;
                shared.status.ended(info.clone());
                guarded("the end of the connection", || sink.closed(&info));
                return None;
            }
        }
    }
}

fn gave_up(max_attempts: Option<u32>) -> String {
    format!("gave up after {} attempt(s)", max_attempts.unwrap_or(0))
}

/// Runs a sink call whose panic must not take the connection thread down.
fn guarded(what: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        log::error!("callback panicked while handling {what}");
    }
}

fn borrowed(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

/// The user's frame hook as the message layer's observer. A panic in the hook is caught
/// here: it must not fail a sender's `send`, nor the connection.
fn observer(hook: FrameHook) -> FrameObserver {
    Arc::new(move |direction: Direction, head: &Head, payload: &[u8]| {
        if catch_unwind(AssertUnwindSafe(|| (hook.0)(&head.show(direction, payload)))).is_err() {
            log::error!("the frame hook panicked (ignored)");
        }
    })
}
