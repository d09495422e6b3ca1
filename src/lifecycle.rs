//! The life of a client's connections: connect (dial, then spawn the connection thread with
//! what it needs), disconnect (ask the thread to close, join it, take the event sink back),
//! and the calls that reach the current connection's outgoing queue. The connection thread
//! gets its parts when spawned and returns how the connection ended; it never reaches up here.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle, ThreadId};

use parking_lot::{Mutex, RwLock};
use rustls::ClientConfig;

use crate::close::CloseCode;
use crate::connection::{Connection, Parts};
use crate::dial::{dial, Abort, Dialed};
use crate::error::Error;
use crate::events::{Discard, EventSink, Interrupt};
use crate::frame::{Head, OP_BINARY, OP_TEXT};
use crate::message::Message;
use crate::options::Options;
use crate::outbox::Outbox;
use crate::protocol::{codec, FrameObserver, Limits, Protocol};
use crate::raw::{Direction, FrameHook};
use crate::report::Handshake;
use crate::state::{State, Status};

/// What a client and its handles share.
pub(crate) struct Shared {
    pub(crate) options: Options,
    tls: Option<Arc<ClientConfig>>,
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
    /// Stops a connect in progress, so that disconnect and drop never wait for a dial.
    abort: Abort,
    /// Tells the event sink that the user asked to close (see `Interrupt`).
    interrupt: Interrupt,
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
        tls: Option<Arc<ClientConfig>>,
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
            interrupt,
        })
    }

    /// The client is being dropped: no connection may start from now on.
    pub(crate) fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
    }

    pub(crate) fn send(&self, message: Message) -> Result<(), Error> {
        match message {
            Message::Text(text) => self.queue(OP_TEXT, text.as_bytes()),
            Message::Binary(bytes) => self.queue(OP_BINARY, &bytes),
        }
    }

    /// Frames `payload` on this thread and queues it (see [`Outbox`]).
    pub(crate) fn queue(&self, opcode: u8, payload: &[u8]) -> Result<(), Error> {
        if self.status.get() != State::Open {
            return Err(Error::NotConnected);
        }
        match &*self.link.read() {
            Some(link) => link.outbox.send(opcode, payload),
            None => Err(Error::NotConnected),
        }
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

    pub(crate) fn request_close(&self, code: CloseCode, reason: String) {
        // Closing from now on: later sends fail instead of being dropped behind the Close.
        self.status.open_to_closing();
        // A connection thread waiting for room in a full event channel goes on to close.
        self.interrupt.raise();
        if let Some(link) = &*self.link.read() {
            link.outbox.request_close(code, reason);
        }
    }

    /// Closes the current connection, if any, and waits for its thread. A connect in
    /// progress on another thread is aborted first.
    pub(crate) fn shut_down(&self, code: CloseCode, reason: String) {
        self.abort.request();
        let mut life = self.life.lock();
        self.shut_down_locked(&mut life, code, reason);
    }

    fn shut_down_locked(&self, life: &mut Life, code: CloseCode, reason: String) {
        if let Life::Running(_) = life {
            self.request_close(code, reason);
        }
        // The thread ends within the close timeout unless the callback itself blocks.
        life.join();
        *self.link.write() = None;
    }

    pub(crate) fn connect(self: &Arc<Shared>, headers: &[(&str, &str)]) -> Result<Handshake, Error> {
        if self.on_connection_thread() {
            return Err(Error::InCallback);
        }
        let mut life = self.life.lock();
        if self.dropped.load(Ordering::Acquire) {
            // Only a Handle outlives the client; a connection made now would have no owner
            // to close it and no drop to join its thread.
            return Err(Error::NotConnected);
        }
        self.abort.reset();
        self.shut_down_locked(&mut life, CloseCode::GOING_AWAY, String::new());
        self.interrupt.clear();
        self.status.connecting();
        match self.start(headers, &mut life) {
            Ok(handshake) => Ok(handshake),
            Err(e) => {
                self.status.set(State::Closed);
                Err(e)
            }
        }
    }

    /// Dials, then spawns the connection thread with what it needs; it hands the sink
    /// back when joined.
    fn start(&self, headers: &[(&str, &str)], life: &mut Life) -> Result<Handshake, Error> {
        let Dialed { poll, waker, transport, tail, handshake } = dial(&self.options, self.tls.as_ref(), headers, &self.abort)?;
        let o = &self.options;
        let limits = Limits { max_message: o.max_message_size, max_frame: o.max_frame_size };
        let observer = o.frame_hook.clone().map(observer);
        // A negotiated permessage-deflate: its decoder goes to the thread, its encoder to the queue.
        let (decoder, encoder) = match (&handshake.deflate, &o.deflate) {
            (Some(params), Some(offer)) => {
                let (decoder, encoder) = codec(params, offer);
                (Some(decoder), Some(encoder))
            }
            _ => (None, None),
        };
        let outbox = Arc::new(Outbox::new(waker, Some(transport.clone()), encoder, observer.clone()));
        let parts = Parts {
            transport,
            tail,
            poll,
            outbox: outbox.clone(),
            protocol: Protocol::new(limits, decoder, observer),
            status: self.status.clone(),
            close_timeout: o.close_timeout,
            handshake: handshake.clone(),
        };
        let status = self.status.clone();
        // The sink reaches the thread through a channel once it is running, so that a
        // failed spawn does not take the user's callback down with it.
        let (give, take) = crossbeam_channel::bounded::<Box<dyn EventSink>>(1);
        // Hold the link slot while the thread starts: a callback that sends at once waits
        // here for the link instead of finding none.
        let mut slot = self.link.write();
        self.status.set(State::Open);
        let spawned = thread::Builder::new().name("wsthread-connection".into()).stack_size(o.thread_stack_size).spawn(
            move || {
                let mut sink = take.recv().unwrap_or_else(|_| Box::new(Discard));
                let mut info = Connection::new(parts).run(&mut *sink);
                info.undelivered_events = catch_unwind(AssertUnwindSafe(|| sink.undelivered())).unwrap_or(0);
                status.ended(info.clone());
                if catch_unwind(AssertUnwindSafe(|| sink.closed(&info))).is_err() {
                    log::error!("callback panicked while handling the end of the connection");
                }
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
