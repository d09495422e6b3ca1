//! The outgoing side of a connection: one byte queue of whole frames, filled from any thread.
//!
//! A sender frames and masks its message on its own thread and appends it here, so the
//! connection thread never touches the payload and the message's memory is freed where it
//! was allocated. The connection thread's own frames (pongs, the Close) enter the same queue
//! through the same encoder ([`frame::encode`]), and every frame goes in whole under one
//! lock, so frames never interleave and leave in the order they were queued.
//!
//! Who writes the queue to the socket (one writer at a time, never under the queue's lock):
//! - while the connection thread is awake, it does, for everyone: a burst of sends leaves in
//!   one write, and senders pay no wake-up;
//! - while it sleeps, the first sender writes the queue itself: a lone message (a request,
//!   the next of a round trip) costs one syscall and no thread hop. Later senders in the same
//!   sleep wake the thread and leave theirs to it: a sending loop costs one wake-up, and the
//!   thread writes its messages in batches (one `sendto` per message otherwise: 23,374 for
//!   100,000 messages of 1 KiB, against tokio-tungstenite's 800);
//! - while it runs the callback (which may block for any time), senders write the queue
//!   themselves. Anything the socket does not take (or any error) is left for the connection
//!   thread, which is woken for it;
//! - while a sender waits for room (a sending loop ahead of the network), the connection
//!   thread hands the socket to it when the poller says it takes bytes again: the waiting
//!   sender writes the queue on its own thread while the connection thread goes on reading,
//!   so the two directions' copies run in parallel, as a blocking reader and writer would.
//!   It gives the socket back if it emptied the queue or met an error. Plain TCP only: over
//!   TLS both directions take turns on one rustls state, so a second writer only contends
//!   with the reader for its lock (measured: wss pipelined 1 KiB 0.81-0.91× tokio-tungstenite
//!   without the hand-over, 0.68-0.72× with it).
//!
//! The wake-up (a syscall) rings at most once per sleep.
//!
//! The queue is bounded in bytes (`Options::send_queue_limit`): a data frame that does not
//! fit waits for room, or is refused, as the sender chose ([`Wait`]); control frames always
//! fit. Senders that wait do so sooner, at `Options::send_high_water`, which keeps a sending
//! loop's data in flight small and warm; the rest of the limit is for those that cannot. Nothing is ever dropped for lack of room, and the connection is never closed for it.
//! Whole messages that never left are handed back when the connection ends
//! ([`Outbox::finish`]), read back from the queued frames themselves (unmasked), so that a
//! send keeps no copy of its message.

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use mio::Waker;
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::close::CloseCode;
use crate::error::{Error, FrameError};
use crate::frame::{self, Head, OP_BINARY, OP_CONTINUE, OP_TEXT};
use crate::message::Message;
use crate::protocol::{Encoder, FrameObserver, Utf8Stream};
use crate::raw::Direction;
use crate::transport::Transport;

thread_local! {
    /// The outbox whose callback this thread is running, if any (its address): a send
    /// from inside a callback only queues, and the connection thread writes it right after.
    static IN_CALLBACK_OF: Cell<usize> = const { Cell::new(0) };
    /// The owner of this thread's raw fragmented messages (`Owner::of_this_thread`).
    static THREAD_OWNER: Owner = Owner::new();
}

/// Who sends a fragmented message: a message writer, or a thread sending raw frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Owner(u64);

impl Owner {
    /// A new owner, unlike any other.
    pub(crate) fn new() -> Owner {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Owner(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The owner of the raw frames this thread sends.
    pub(crate) fn of_this_thread() -> Owner {
        THREAD_OWNER.with(|o| *o)
    }
}

/// A fragmented message on its way: until its final frame, no other data frame may enter
/// the queue (RFC 6455 §5.4); control frames may.
struct Stream {
    owner: Owner,
    /// The thread that sent its last fragment: a whole message sent by that thread now
    /// would wait for itself, and is refused instead.
    thread: ThreadId,
    /// For text: what the fragments so far leave unfinished.
    utf8: Option<Utf8Stream>,
    /// The extension transforms this message (its first frame carried RSV1).
    encoded: bool,
}

/// The outgoing queue of one connection, shared by its senders and its thread.
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    /// Signalled when a writer puts back what it took (see `Queue::writing`).
    writer_done: Condvar,
    /// Signalled when a fragmented message ends, or the queue closes: whole messages of
    /// other senders wait for it.
    stream_done: Condvar,
    /// Signalled when bytes leave and the queue is down to half its high water, or the
    /// queue closes: senders waiting for room wait on it.
    room: Condvar,
    /// `Options::send_queue_limit`.
    limit: usize,
    /// What a sender that can wait lets the queue hold: `Options::send_high_water`, at most
    /// `limit`.
    high_water: usize,
    /// Senders waiting on `room` right now (changed under the queue's lock; read without it
    /// by the thread, which hands the socket over only when someone waits).
    waiting: AtomicUsize,
    waker: Arc<Waker>,
    observer: Option<FrameObserver>,
    /// A [`Thread`]. Changed to and from the sleeping states only under the queue's lock (with the
    /// checks that decide it); entering and leaving the callback need no lock, because
    /// either way a sender that misreads it only queues for the thread, which flushes after
    /// the callback, or writes under `writing` like any writer. It is read per message.
    thread: AtomicU8,
}

/// What the connection thread is doing, as far as writing goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Thread {
    /// Working: it writes the queue for everyone before it sleeps.
    Awake,
    /// Running the callback, which may take any time: other threads' sends write for
    /// themselves (the callback's own are written by the thread when it returns).
    InCallback,
    /// Sleeping in the poller: the next sender writes for itself.
    Asleep,
    /// Sleeping, and a sender has written since it fell asleep: the next senders wake it
    /// and leave the writing to it. A lone message (a request, the next of a round trip)
    /// leaves at once on its sender's thread; a stream of sends costs one wake-up, and the
    /// thread writes them in batches (a `send` loop of 1 KiB messages made one syscall per
    /// message when every sender wrote for itself: 23,374 `sendto` for 100,000 messages,
    /// tokio-tungstenite 800).
    AsleepAfterWrite,
}

/// The socket's writability, handed by the connection thread to a sender waiting for room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handoff {
    /// The thread writes (or waits for the poller to say it may).
    None,
    /// The thread handed it over: the first waiting sender to wake writes the queue.
    Handed,
    /// A sender emptied the queue (or met an error): the thread may write again without
    /// waiting for the poller, which will not say so again.
    Returned,
}

/// What the connection thread may do instead of sleeping ([`Outbox::may_sleep`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sleep {
    /// Not sleep: there is work (a close request, bytes to write on a socket that takes
    /// them).
    Refused,
    /// Not sleep: a sender it handed the socket to gave it back; it may write again.
    WritableAgain,
    /// Sleep; the first sender writes for itself meanwhile, the next wake it. `spares`: more spare chunks are kept
    /// than an idle connection needs (see `trim_spares`).
    Granted { spares: bool },
}

/// How long a sender waits for room in a full queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Not at all: refused with `Error::QueueFull`.
    No,
    /// Until then, then refused with `Error::QueueFull`.
    Until(Instant),
    /// Until there is room or the connection ends.
    Forever,
}

/// A close asked for from another thread (or by the callback).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CloseRequest {
    pub code: CloseCode,
    pub reason: String,
    /// The close handshake's deadline, from when the thread acts on it (`None`: the close
    /// timeout).
    pub within: Option<Duration>,
}

/// While the connection thread runs the callback, nobody waits for the socket to drain: a
/// sender waiting for room writes the queue itself this often.
const RETRY_WRITE: Duration = Duration::from_millis(10);

/// Small frames are packed into chunks of this size, so that a burst leaves in few writes;
/// a larger frame is a chunk of its own.
const CHUNK: usize = 64 * 1024;
/// Emptied chunks are kept for reuse while the connection is busy, so that a steady stream
/// of sends allocates nothing and faults in no fresh pages: as many as the queue can hold
/// (`send_queue_limit`), within these bounds. Given back once the queue is idle.
const SPARE_BYTES_MIN: usize = 4 << 20;
const SPARE_BYTES_MAX: usize = 64 << 20;
/// Chunks a writer takes out of the queue at once.
const WRITE_CHUNKS: usize = 64;

struct Queue {
    /// Whole frames waiting to leave, oldest first; the first chunk's first `head_written`
    /// bytes have left already.
    chunks: VecDeque<Vec<u8>>,
    head_written: usize,
    /// Bytes in `chunks` not yet written.
    pending: usize,
    /// A writer (the thread or a sender) has taken chunks out and is writing them, without
    /// the lock held: nobody else writes until it has put back what the socket did not take.
    writing: bool,
    spare: Vec<Vec<u8>>,
    /// The capacity of `spare`, together.
    spare_bytes: usize,
    /// A writer's two lists, empty between writes: the chunks it took out, and those it
    /// wrote whole (see `Outbox::write`).
    lists: (VecDeque<Vec<u8>>, Vec<Vec<u8>>),
    /// Bytes ever queued and ever written: `ends` are counted in these.
    queued_total: u64,
    written_total: u64,
    /// Where each queued data message ends, to tell how many never left.
    ends: VecDeque<u64>,
    /// The original of each transformed (compressed) message not yet written, by where it
    /// ends: its frame cannot be read back into the message.
    originals: VecDeque<(u64, Message)>,
    /// No more data messages: a Close is on its way, or the connection is over.
    closed: bool,
    /// A disconnect asked for from another thread, for the connection thread to act on.
    close_request: Option<CloseRequest>,
    /// A wake-up was rung and the thread has not woken since.
    woken: bool,
    /// The last write stopped on a full socket: senders leave the rest to the thread, which
    /// waits for the socket to become writable, instead of each trying again.
    blocked: bool,
    /// Where the socket's writability stands between the thread and waiting senders.
    handoff: Handoff,
    /// While the connection lives: the stream senders may write to.
    writer: Option<Transport>,
    /// A negotiated extension's sending half: transforms data messages in queue order.
    encoder: Option<Box<dyn Encoder>>,
    /// The fragmented message in progress, if any.
    stream: Option<Stream>,
}

impl Outbox {
    /// An empty queue for frames to `writer` (`None` in tests: only the thread writes),
    /// holding at most `limit` bytes, and `high_water` for senders that wait.
    pub(crate) fn new(
        waker: Arc<Waker>,
        writer: Option<Transport>,
        encoder: Option<Box<dyn Encoder>>,
        observer: Option<FrameObserver>,
        (limit, high_water): (usize, usize),
    ) -> Outbox {
        let mut queue = Queue::new(writer);
        queue.encoder = encoder;
        // The thread starts awake: it looks at the queue before its first sleep.
        let thread = AtomicU8::new(Thread::Awake as u8);
        Outbox {
            queue: Mutex::new(queue),
            writer_done: Condvar::new(),
            stream_done: Condvar::new(),
            room: Condvar::new(),
            limit,
            high_water: high_water.min(limit),
            waiting: AtomicUsize::new(0),
            waker,
            observer,
            thread,
        }
    }

    // ---- senders' side ----

    /// Queues one frame with `payload` (a whole message, or a ping or pong of the user's).
    /// A data message waits, as `wait` says, while another sender's fragmented message is
    /// in progress and while the queue has no room for it. Fails once the connection is
    /// closing or over.
    pub(crate) fn send(&self, opcode: u8, payload: &[u8], wait: Wait) -> Result<(), Error> {
        let mut q = self.queue.lock();
        if q.closed {
            return Err(Error::NotConnected);
        }
        if opcode == OP_TEXT || opcode == OP_BINARY {
            q = self.wait_for_turn(q, true, payload.len(), wait)?;
            self.push_message(&mut q, opcode, payload);
        } else {
            self.push(&mut q, true, false, opcode, payload);
        }
        self.dispatch(q, wait);
        Ok(())
    }

    /// Queues one frame of `owner`'s fragmented message: `opcode` text or binary starts it
    /// (waiting while another sender's is in progress; with `fin`, it is a whole message),
    /// continuation carries on; `fin` ends it. Text is checked to be UTF-8 across the
    /// fragments. A refused fragment leaves nothing queued and the message as it was.
    pub(crate) fn fragment(&self, owner: Owner, opcode: u8, payload: &[u8], fin: bool, wait: Wait) -> Result<(), Error> {
        let mut q = self.queue.lock();
        if q.closed {
            return Err(Error::NotConnected);
        }
        let mine = q.stream.as_ref().is_some_and(|s| s.owner == owner);
        match opcode {
            OP_CONTINUE if !mine => return Err(FrameError::NothingToContinue.into()),
            OP_CONTINUE => {
                q = self.wait_for_turn(q, false, payload.len(), wait)?;
                if !q.stream.as_ref().is_some_and(|s| s.owner == owner) {
                    // Abandoned while we waited: the connection is closing.
                    return Err(Error::NotConnected);
                }
            }
            _ if mine => return Err(FrameError::MessageInProgress.into()),
            _ => {
                q = self.wait_for_turn(q, true, payload.len(), wait)?;
                let utf8 = (opcode == OP_TEXT).then(Utf8Stream::default);
                if fin {
                    if utf8.is_some_and(|u| u.after(payload, true).is_none()) {
                        return Err(FrameError::InvalidUtf8.into());
                    }
                    self.push_message(&mut q, opcode, payload);
                    self.dispatch(q, wait);
                    return Ok(());
                }
                let utf8 = match utf8.map(|u| u.after(payload, false)) {
                    Some(None) => return Err(FrameError::InvalidUtf8.into()),
                    Some(next) => next,
                    None => None,
                };
                let encoded = q.encoder.as_mut().is_some_and(|e| e.begin(None));
                q.stream = Some(Stream { owner, thread: thread::current().id(), utf8, encoded });
                self.push_piece(&mut q, opcode, payload, false);
                self.dispatch(q, wait);
                return Ok(());
            }
        }
        let stream = q.stream.as_mut().expect("checked above: the message is this owner's");
        if let Some(utf8) = &mut stream.utf8 {
            *utf8 = utf8.after(payload, fin).ok_or(FrameError::InvalidUtf8)?;
        }
        stream.thread = thread::current().id();
        self.push_piece(&mut q, OP_CONTINUE, payload, fin);
        if fin {
            q.stream = None;
            self.stream_done.notify_all();
        }
        self.dispatch(q, wait);
        Ok(())
    }

    /// `owner`'s fragmented message cannot be finished (its writer was dropped during a
    /// panic, or its text ended inside a code point): what left cannot be taken back, so
    /// the connection is closed with 1011 rather than let the server take a part for the
    /// whole.
    pub(crate) fn abandon(&self, owner: Owner, why: &str) {
        let mine = self.queue.lock().stream.as_ref().is_some_and(|s| s.owner == owner);
        if mine {
            log::error!("closing the connection: a fragmented message was abandoned ({why})");
            let reason = "message abandoned".to_owned();
            self.request_close(CloseRequest { code: CloseCode::INTERNAL_ERROR, reason, within: None });
        }
    }

    /// Waits, as `wait` says, until a data frame of `len` bytes may be queued: until no
    /// other sender's fragmented message is in progress (when it `starts` a message) and
    /// the queue has room for it. Fails when the connection closes meanwhile, when the
    /// message in progress was last fed by this very thread, and when waiting is not allowed
    /// or takes too long (`QueueFull`). The callback's own sends never wait for room: only
    /// its thread, busy running it, would make any.
    fn wait_for_turn<'a>(
        &'a self,
        mut q: MutexGuard<'a, Queue>,
        starts: bool,
        len: usize,
        wait: Wait,
    ) -> Result<MutexGuard<'a, Queue>, Error> {
        // Whether this sender wrote the queue itself since it last waited.
        let mut wrote = false;
        loop {
            if q.closed {
                return Err(Error::NotConnected);
            }
            let in_callback = IN_CALLBACK_OF.with(Cell::get) == self as *const Outbox as usize;
            // A sender whose wait is over takes what room the limit leaves, as `try_send` does.
            let waited_enough = match wait {
                Wait::No => true,
                Wait::Until(at) => Instant::now() >= at,
                Wait::Forever => false,
            };
            let bound = if waited_enough || in_callback { self.limit } else { self.high_water };
            let condvar = match &q.stream {
                Some(stream) if starts && stream.thread == thread::current().id() => {
                    return Err(FrameError::MessageInProgress.into())
                }
                Some(_) if starts => &self.stream_done,
                // Room: an empty queue takes any message, however large, so that none is
                // too large to send at all.
                _ if q.pending == 0 || q.pending.saturating_add(frame::encoded_len(len)) <= bound => return Ok(q),
                // A message larger than the high water goes in once the queue is down to half
                // of it (as a smaller one would), within the limit.
                _ if q.pending <= self.high_water / 2 && q.pending.saturating_add(frame::encoded_len(len)) <= self.limit => {
                    return Ok(q)
                }
                _ if in_callback => return Err(Error::QueueFull),
                _ => &self.room,
            };
            let mut until = match wait {
                Wait::No => return Err(Error::QueueFull),
                Wait::Until(at) if Instant::now() >= at => return Err(Error::QueueFull),
                Wait::Until(at) => Some(at),
                Wait::Forever => None,
            };
            if std::ptr::eq(condvar, &self.room) && self.thread_is(Thread::InCallback) {
                // The thread is busy in the callback: nobody waits for the socket to drain.
                until = Some(until.map_or(Instant::now() + RETRY_WRITE, |at| at.min(Instant::now() + RETRY_WRITE)));
                if !wrote && !q.writing {
                    if let Some(writer) = q.writer.clone() {
                        drop(q);
                        let _ = self.write(&mut &writer, false);
                        q = self.queue.lock();
                        wrote = true;
                        continue;
                    }
                }
            }
            wrote = false;
            let room = std::ptr::eq(condvar, &self.room);
            if room {
                self.waiting.fetch_add(1, Ordering::Relaxed);
            }
            match until {
                Some(at) => {
                    condvar.wait_until(&mut q, at);
                }
                None => condvar.wait(&mut q),
            }
            if room {
                self.waiting.fetch_sub(1, Ordering::Relaxed);
                q = self.take_handoff(q);
            }
        }
    }

    /// The thread may hand the socket to a sender waiting for room: true if it did. Only
    /// while data waits and nobody writes, on plain TCP (see the module's notes), and not
    /// once the queue is closing (the thread writes the Close itself).
    pub(crate) fn hand_over(&self) -> bool {
        // Without the lock, as the thread flushes every turn: a sender that starts waiting
        // just after this is handed the socket at the next writable turn.
        if self.waiting.load(Ordering::Relaxed) == 0 {
            return false;
        }
        let mut q = self.queue.lock();
        if q.pending == 0 || q.writing || q.closed || !matches!(q.writer, Some(Transport::Plain(_))) || q.handoff == Handoff::Handed {
            return false;
        }
        q.handoff = Handoff::Handed;
        // All: a sender waiting for room in `drain_during_callback` may be the one woken.
        self.room.notify_all();
        true
    }

    /// After a wait on `room`: if the thread handed over the socket, this sender writes the
    /// queue now. A full socket keeps it handed out: the poller tells the thread when it
    /// drains, and the thread hands it over again. An empty queue or an error gives it back.
    fn take_handoff<'a>(&'a self, mut q: MutexGuard<'a, Queue>) -> MutexGuard<'a, Queue> {
        if q.handoff != Handoff::Handed {
            return q;
        }
        q.handoff = Handoff::None;
        let result = match q.writer.clone() {
            Some(writer) => {
                drop(q);
                let result = self.write(&mut &writer, false);
                q = self.queue.lock();
                result
            }
            None => Err(io::ErrorKind::NotConnected.into()),
        };
        if !matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            q.handoff = Handoff::Returned;
            if self.is_asleep() {
                self.wake(&mut q);
            }
        }
        q
    }

    /// Queues a whole data message, through the extension if one is negotiated.
    fn push_message(&self, q: &mut Queue, opcode: u8, payload: &[u8]) {
        // A negotiated extension may transform the message (and then marks it with RSV1).
        let encoded = match &mut q.encoder {
            Some(encoder) => encoder.begin(Some(payload.len())).then(|| {
                let mut encoded = Vec::new();
                encoder.encode(payload, true, &mut encoded);
                encoded
            }),
            None => None,
        };
        match &encoded {
            Some(encoded) => self.push(q, true, true, opcode, encoded),
            None => self.push(q, true, false, opcode, payload),
        }
        let end = q.queued_total;
        q.ends.push_back(end);
        if encoded.is_some() {
            let original = match opcode {
                OP_TEXT => Message::Text(String::from_utf8_lossy(payload).into_owned()),
                _ => Message::Binary(payload.to_vec()),
            };
            q.originals.push_back((end, original));
        }
    }

    /// Queues one frame of the fragmented message in `q.stream`, through its extension.
    fn push_piece(&self, q: &mut Queue, opcode: u8, payload: &[u8], fin: bool) {
        let first = opcode != OP_CONTINUE;
        let encoded = q.stream.as_ref().is_some_and(|s| s.encoded);
        if encoded {
            let mut out = Vec::new();
            if let Some(encoder) = &mut q.encoder {
                encoder.encode(payload, fin, &mut out);
            }
            self.push(q, fin, first, opcode, &out);
        } else {
            self.push(q, fin, false, opcode, payload);
        }
        if fin {
            let end = q.queued_total;
            q.ends.push_back(end);
        }
    }

    /// After a frame is queued: leaves the writing to the thread, or writes it on this one.
    fn dispatch(&self, mut q: MutexGuard<'_, Queue>, wait: Wait) {
        // While the thread is awake it writes for everyone, in batches. (Letting a sender
        // write a full chunk itself was tried: no gain measured, on bulk or 1 KiB messages.)
        let leave_it = match self.thread.load(Ordering::Acquire) {
            t if t == Thread::Awake as u8 => true,
            // The callback's own sends are written by the thread as it returns. Others write,
            // even after a full socket, which the thread (busy in the callback) cannot wait
            // for: see `drain_during_callback`.
            t if t == Thread::InCallback as u8 => IN_CALLBACK_OF.with(Cell::get) == self as *const Outbox as usize,
            // Asleep: after a full socket, the thread waits for it to drain and writes then.
            _ => q.blocked,
        };
        if q.writing || leave_it {
            return;
        }
        if self.thread_is(Thread::AsleepAfterWrite) {
            self.wake(&mut q);
            return;
        }
        if self.thread_is(Thread::Asleep) {
            // Under the lock, as every change to and from the sleeping states.
            self.thread.store(Thread::AsleepAfterWrite as u8, Ordering::Release);
        }
        let Some(writer) = q.writer.clone() else {
            self.wake(&mut q);
            return;
        };
        drop(q);
        if self.write(&mut &writer, false).is_err() {
            // The socket is full (or failing): the thread takes over and meets the error itself.
            let mut q = self.queue.lock();
            if !self.thread_is(Thread::Awake) {
                self.wake(&mut q);
            }
            drop(q);
            if wait != Wait::No {
                self.drain_during_callback(&writer, wait);
            }
        }
    }

    /// While the thread runs the callback (which may block for any time) nobody waits for
    /// a full socket to drain: a sender that may wait writes what is left itself, looking
    /// again every `RETRY_WRITE`, until the queue is empty, the thread is back, the
    /// connection closes or its wait is over. (`try_send` leaves it to the next sender or
    /// to the thread's return.)
    fn drain_during_callback(&self, writer: &Transport, wait: Wait) {
        loop {
            let mut q = self.queue.lock();
            if q.pending == 0 || q.closed || !self.thread_is(Thread::InCallback) {
                return;
            }
            let next = Instant::now() + RETRY_WRITE;
            let at = match wait {
                Wait::Until(at) if at <= Instant::now() => return,
                Wait::Until(at) => at.min(next),
                _ => next,
            };
            self.waiting.fetch_add(1, Ordering::Relaxed);
            self.room.wait_until(&mut q, at);
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            let q = self.take_handoff(q);
            drop(q);
            if self.write(&mut { writer }, false).is_ok() {
                return;
            }
        }
    }

    /// Queues a control frame of the connection thread's own (a pong, our Close), even
    /// after data is refused. Returns where it ends in the stream: it has left once
    /// [`written`](Self::written) reaches that.
    pub(crate) fn push_control(&self, opcode: u8, payload: &[u8]) -> u64 {
        let mut q = self.queue.lock();
        self.push(&mut q, true, false, opcode, payload);
        q.queued_total
    }

    /// Bytes written to the socket so far.
    pub(crate) fn written(&self) -> u64 {
        self.queue.lock().written_total
    }

    fn push(&self, q: &mut Queue, fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) {
        if let Some(observe) = &self.observer {
            let head = Head { fin, rsv1, rsv2: false, rsv3: false, opcode, masked: true, len: payload.len() as u64 };
            observe(Direction::Outgoing, &head, payload);
        }
        let len = frame::encoded_len(payload.len());
        frame::encode(q.chunk_for(len), fin, rsv1, opcode, payload);
        q.pending += len;
        q.queued_total += len as u64;
    }

    /// Asks the connection thread to close, after everything queued. Later sends fail.
    /// Always wakes the thread: the close deadline starts now.
    pub(crate) fn request_close(&self, request: CloseRequest) {
        let mut q = self.queue.lock();
        self.close_locked(&mut q);
        q.close_request.get_or_insert(request);
        q.woken = true;
        let _ = self.waker.wake();
    }

    fn thread_is(&self, state: Thread) -> bool {
        self.thread.load(Ordering::Acquire) == state as u8
    }

    fn is_asleep(&self) -> bool {
        self.thread_is(Thread::Asleep) || self.thread_is(Thread::AsleepAfterWrite)
    }

    fn wake(&self, q: &mut Queue) {
        if !q.woken {
            q.woken = true;
            // A failed wake means the poller is gone, i.e. the thread has ended.
            let _ = self.waker.wake();
        }
    }

    /// Writes the queue to `out` until it is empty (Ok) or the socket would block. If another
    /// writer is at work, returns Ok at once (it takes care of the queue), or with `wait`
    /// waits for it to finish its non-blocking writes and carries on. The lock is not held
    /// during the writes themselves.
    fn write(&self, out: &mut impl Write, wait: bool) -> io::Result<()> {
        let mut q = self.queue.lock();
        loop {
            if q.writing {
                if !wait {
                    return Ok(());
                }
                self.writer_done.wait(&mut q);
                continue;
            }
            if q.pending == 0 {
                drop(q);
                // TLS may hold encrypted bytes the socket did not take yet.
                let flushed = out.flush();
                if matches!(&flushed, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
                    self.queue.lock().blocked = true;
                }
                return flushed;
            }
            q.writing = true;
            // The writer's lists are the queue's, kept for the next writer: a send allocates
            // nothing once the connection is warm.
            let (mut batch, mut done) = std::mem::take(&mut q.lists);
            let take = q.chunks.len().min(WRITE_CHUNKS);
            batch.extend(q.chunks.drain(..take));
            let mut skip = std::mem::take(&mut q.head_written);
            drop(q);

            let (wrote, result) = write_batch(out, &mut batch, &mut skip, &mut done);

            q = self.queue.lock();
            q.writing = false;
            self.writer_done.notify_all();
            q.pending -= wrote;
            q.written_total += wrote as u64;
            let written_total = q.written_total;
            while q.ends.front().is_some_and(|end| *end <= written_total) {
                q.ends.pop_front();
            }
            while q.originals.front().is_some_and(|(end, _)| *end <= written_total) {
                q.originals.pop_front();
            }
            // Senders waiting for room are woken once the queue is down to half its high
            // water (or empty), not by every write: fewer wake-ups, and each finds room for
            // more. (Only senders that can wait ever wait, and they wait for the high water.)
            if wrote > 0 && q.pending <= self.high_water / 2 {
                self.room.notify_all();
            }
            // What the socket did not take goes back in front, before anything queued since.
            while let Some(chunk) = batch.pop_back() {
                q.chunks.push_front(chunk);
            }
            q.head_written = skip;
            q.blocked = matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
            let keep = self.limit.clamp(SPARE_BYTES_MIN, SPARE_BYTES_MAX);
            for mut chunk in done.drain(..) {
                if q.spare_bytes + chunk.capacity() <= keep {
                    chunk.clear();
                    q.spare_bytes += chunk.capacity();
                    q.spare.push(chunk);
                }
            }
            q.lists = (batch, done);
            result?;
        }
    }

    // ---- the connection thread's side ----

    /// The thread is awake: senders leave the writing to it. `writable`: the poller said
    /// the socket takes bytes again.
    pub(crate) fn woke_up(&self, writable: bool) {
        let mut q = self.queue.lock();
        self.thread.store(Thread::Awake as u8, Ordering::Release);
        q.woken = false;
        if writable {
            q.blocked = false;
        }
    }

    /// The thread wants to sleep. Refused while it has work: a close request, bytes to
    /// write on a socket that takes them, or the socket given back by a sender. Otherwise
    /// senders write for themselves (or wake it) from now on.
    pub(crate) fn may_sleep(&self, can_write: bool) -> Sleep {
        let mut q = self.queue.lock();
        if q.handoff == Handoff::Returned {
            q.handoff = Handoff::None;
            return Sleep::WritableAgain;
        }
        // A sender writing at this moment finishes the job, or wakes us for what is left.
        if q.close_request.is_some() || (can_write && q.pending > 0 && !q.writing) {
            return Sleep::Refused;
        }
        self.thread.store(Thread::Asleep as u8, Ordering::Release);
        Sleep::Granted { spares: q.spare.len() > 1 }
    }

    /// True (once) if a sender the thread handed the socket to has given it back.
    pub(crate) fn take_returned(&self) -> bool {
        let mut q = self.queue.lock();
        let returned = q.handoff == Handoff::Returned;
        if returned {
            q.handoff = Handoff::None;
        }
        returned
    }

    /// The connection has been idle for a while: a burst's spare chunks go back to the
    /// allocator, one ordinary chunk stays for the next message. (Not at every sleep: a
    /// stream of sends that drains the queue now and then would fault in fresh pages for
    /// each chunk again.) False if the queue is busy again.
    pub(crate) fn trim_spares(&self) -> bool {
        let mut q = self.queue.lock();
        if q.pending > 0 {
            return false;
        }
        q.spare.retain(|c| c.capacity() == CHUNK);
        q.spare.truncate(1);
        q.spare_bytes = q.spare.iter().map(Vec::capacity).sum();
        true
    }

    /// The thread is about to run the callback: other threads' sends must not wait for it.
    pub(crate) fn enter_callback(&self) {
        IN_CALLBACK_OF.with(|c| c.set(self as *const Outbox as usize));
        self.thread.store(Thread::InCallback as u8, Ordering::Release);
    }

    /// The callback returned: the thread writes for everyone again.
    pub(crate) fn leave_callback(&self) {
        IN_CALLBACK_OF.with(|c| c.set(0));
        self.thread.store(Thread::Awake as u8, Ordering::Release);
    }

    /// True while bytes wait to be written.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending() > 0
    }

    /// Bytes queued and not yet written (`buffered_amount`).
    pub(crate) fn pending(&self) -> usize {
        self.queue.lock().pending
    }

    /// Bytes waiting to be written, and bytes written so far: a write that makes no
    /// progress for too long ends the connection.
    pub(crate) fn progress(&self) -> (usize, u64) {
        let q = self.queue.lock();
        (q.pending, q.written_total)
    }

    pub(crate) fn take_close_request(&self) -> Option<CloseRequest> {
        self.queue.lock().close_request.take()
    }

    /// No more data messages from now on (a Close is being sent or the connection failed).
    pub(crate) fn close(&self) {
        self.close_locked(&mut self.queue.lock());
    }

    /// Refuses data from now on, and wakes every sender waiting for its turn or for room:
    /// they fail with `NotConnected`.
    fn close_locked(&self, q: &mut Queue) {
        q.closed = true;
        self.stream_done.notify_all();
        self.room.notify_all();
    }

    /// Writes the queue to `out` (the transport), then flushes it. `WouldBlock` when the
    /// socket took only part. Ok means everything queued has left (a Close may follow it,
    /// then a FIN), so a sender's write in progress is waited for.
    pub(crate) fn flush_into(&self, out: &mut impl Write) -> io::Result<()> {
        self.write(out, true)
    }

    /// The connection is over: refuses further sends, lets go of the socket and reports
    /// what never left.
    pub(crate) fn finish(&self) -> Unsent {
        let mut q = self.queue.lock();
        // A sender's write in progress (one non-blocking write) puts its chunks back first.
        while q.writing {
            self.writer_done.wait(&mut q);
        }
        let unsent = Unsent {
            // A fragmented message cut short never left whole either.
            count: q.ends.len() + usize::from(q.stream.is_some()),
            bytes: q.queued_total - q.written_total,
            messages: unsent_messages(&mut q),
        };
        *q = Queue::new(None);
        self.close_locked(&mut q);
        unsent
    }
}

/// What never left when a connection ended.
#[derive(Debug, Default)]
pub(crate) struct Unsent {
    /// Data messages not (completely) written, fragmented ones included.
    pub count: usize,
    /// Queued bytes never written.
    pub bytes: u64,
    /// The whole messages among them, to hand back.
    pub messages: Vec<Message>,
}

/// The whole data messages in the queue that were not completely written, read back from
/// their frames (or, for transformed ones, from their originals). Frames go into a chunk
/// whole, and the first chunk starts `head_written` bytes before `written_total`.
fn unsent_messages(q: &mut Queue) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut at = q.written_total - q.head_written as u64;
    for chunk in &q.chunks {
        let mut pos = 0;
        while let Some((head, payload, used)) = frame::decode_sent(&chunk[pos..]) {
            pos += used;
            let end = at + pos as u64;
            let whole = head.fin && (head.opcode == OP_TEXT || head.opcode == OP_BINARY);
            if end <= q.written_total || !whole {
                continue;
            }
            if head.rsv1 {
                if let Some(i) = q.originals.iter().position(|(e, _)| *e == end) {
                    messages.extend(q.originals.remove(i).map(|(_, m)| m));
                }
            } else if head.opcode == OP_TEXT {
                messages.push(Message::Text(String::from_utf8(payload).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())));
            } else {
                messages.push(Message::Binary(payload));
            }
        }
        at += chunk.len() as u64;
    }
    messages
}

/// Writes `batch` (the first chunk from `skip` on) until done or an error; written chunks
/// move to `done`, and `skip` ends as the offset into the first unfinished one. Returns the
/// bytes written and how it ended. One `write` per chunk, not `writev`: see `Transport`.
fn write_batch(
    out: &mut impl Write,
    batch: &mut VecDeque<Vec<u8>>,
    skip: &mut usize,
    done: &mut Vec<Vec<u8>>,
) -> (usize, io::Result<()>) {
    let mut wrote = 0;
    while let Some(chunk) = batch.front() {
        match out.write(&chunk[*skip..]) {
            Ok(0) => return (wrote, Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                wrote += n;
                *skip += n;
                if *skip == chunk.len() {
                    *skip = 0;
                    done.extend(batch.pop_front());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (wrote, Err(e)),
        }
    }
    (wrote, Ok(()))
}

impl Queue {
    fn new(writer: Option<Transport>) -> Queue {
        Queue {
            chunks: VecDeque::new(),
            head_written: 0,
            pending: 0,
            writing: false,
            spare: Vec::new(),
            spare_bytes: 0,
            lists: (VecDeque::new(), Vec::new()),
            queued_total: 0,
            written_total: 0,
            ends: VecDeque::new(),
            originals: VecDeque::new(),
            closed: false,
            close_request: None,
            woken: false,
            blocked: false,
            handoff: Handoff::None,
            writer,
            encoder: None,
            stream: None,
        }
    }

    /// The chunk a frame of `len` bytes goes into: the last one if it has room (growing it
    /// would copy everything in it), else a spare or a new one.
    fn chunk_for(&mut self, len: usize) -> &mut Vec<u8> {
        let fits = self.chunks.back().is_some_and(|c| c.capacity() - c.len() >= len);
        if !fits {
            let chunk = match self.spare.iter().position(|c| c.capacity() >= len) {
                Some(i) => {
                    let chunk = self.spare.swap_remove(i);
                    self.spare_bytes -= chunk.capacity();
                    chunk
                }
                None => Vec::with_capacity(len.max(CHUNK)),
            };
            self.chunks.push_back(chunk);
        }
        self.chunks.back_mut().expect("a chunk was just ensured")
    }
}

#[cfg(test)]
mod tests;
