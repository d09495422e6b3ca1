//! The connection thread: it owns the reading side of the socket, the message layer and
//! the close handshake, sleeps in the poller, and returns what happened when it ends.
//!
//! ```text
//!  caller threads ──send/ping──▶ Outbox (framed bytes) ──▶ socket (see outbox.rs for who writes)
//!                 ──disconnect──▶ close request + mio Waker
//!                        socket ──▶ connection thread ── Protocol ── sink.message(…)
//! ```
//!
//! One turn of the loop does all the work that is possible without waiting, then sleeps:
//! act on a close request, write the queue, read and handle a bounded amount of input,
//! write again (replies and pongs). A turn is bounded in bytes, not in messages, so a
//! server streaming one endless message cannot keep the loop from close requests and
//! deadlines. mio is edge-triggered, so the loop tracks "may be readable" / "may be
//! writable" itself and only clears them on `WouldBlock`.

use std::collections::VecDeque;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll};

use crate::close::{CloseCode, CloseInfo, ClosedBy};
use crate::dial::SOCKET;
use crate::events::EventSink;
use crate::frame::{OP_CLOSE, OP_PONG};
use crate::message::Message;
use crate::outbox::{Outbox, Sleep};
use crate::protocol::{CloseFrame, CloseState, Event, Protocol, Violation};
use crate::report::Handshake;
use crate::state::{State, Status};
use crate::transport::{Discarded, Transport};
use busy_poll::BusyPoll;
use input::Input;
use timers::{Timer, Timers};

mod busy_poll;
mod ending;
mod input;
mod timers;

/// Reads per turn before the loop looks at close requests, deadlines and the queue again.
const READS_PER_TURN: usize = 32;
/// Bytes thrown away per turn while lingering, at most (see `discard`).
const DISCARD_PER_TURN: usize = 512 * 1024;
/// Pongs queued and not yet written, at most. Beyond that, only the latest ping is
/// answered once they have left (RFC 6455 §5.5.3 allows that): a burst of pings still gets
/// a pong each (Autobahn 2.10 checks it), a server that pings and never reads gets TCP
/// backpressure instead of our memory.
const PONGS_IN_FLIGHT: usize = 32;
/// How long the outgoing queue's spare chunks outlive the last burst of sends, and a grown
/// read buffer the last burst of input.
const SPARES_KEPT: Duration = Duration::from_secs(1);

/// Outcome of a step of the loop.
enum Step {
    /// Stopped on `WouldBlock`: nothing more to do until the poller says so.
    Idle,
    /// Stopped on a bound: go round again without sleeping.
    Busy,
    /// The connection is over.
    End,
}

impl Step {
    /// The combined outcome of two steps: over if either ended, busy if either was.
    fn and(self, next: Step) -> Step {
        match (self, next) {
            (Step::End, _) | (_, Step::End) => Step::End,
            (Step::Busy, _) | (_, Step::Busy) => Step::Busy,
            _ => Step::Idle,
        }
    }

    fn is_end(&self) -> bool {
        matches!(self, Step::End)
    }
}

/// What the connection thread is given when it is spawned.
pub(crate) struct Parts {
    pub transport: Transport,
    /// Bytes read past the upgrade answer: the first frames.
    pub tail: Vec<u8>,
    pub poll: Poll,
    pub outbox: Arc<Outbox>,
    pub protocol: Protocol,
    pub status: Arc<Status>,
    pub close_timeout: Duration,
    pub ping_interval: Option<Duration>,
    pub pong_timeout: Duration,
    pub write_timeout: Option<Duration>,
    pub busy_poll: Duration,
    /// What the server answered, for the sink's first event.
    pub handshake: Handshake,
}

/// What the poller's edges have told this thread about the socket (see `short_read_drains`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Edges {
    /// Nothing yet: the dial's poll took the edges until the thread first slept.
    NotYet,
    /// Every arrival since shows as an edge.
    Seen,
    /// The server's FIN or an error was reported: the stream's end is only seen by reading.
    Ended,
}

/// Whether the server has shown life since our last ping.
#[derive(Clone, Copy, Debug)]
enum Heartbeat {
    /// Something arrived since (or no ping was sent yet).
    Alive,
    /// Nothing has arrived since the ping sent then; the time the thread spent in the
    /// callback since then does not count against the server.
    Awaiting { since: Instant, in_callback: Duration },
}

pub(crate) struct Connection {
    transport: Transport,
    poll: Poll,
    outbox: Arc<Outbox>,
    protocol: Protocol,
    status: Arc<Status>,
    close_timeout: Duration,
    ping_interval: Option<Duration>,
    pong_timeout: Duration,
    write_timeout: Option<Duration>,
    heartbeat: Heartbeat,
    busy_poll: BusyPoll,
    edges: Edges,
    /// Bytes written when the queue last made progress (for `write_timeout`).
    last_written: u64,
    /// Taken by the first event.
    handshake: Option<Handshake>,
    timers: Timers,
    /// Received bytes not yet fed to the protocol.
    input: Input,
    readable: bool,
    writable: Writable,
    /// Where our Close frame ends in the outgoing stream, once queued.
    close_end: Option<u64>,
    /// The latest ping's payload, while its pong waits for earlier ones to leave.
    pong_pending: Option<Vec<u8>>,
    /// Where each pong queued and not yet written ends in the outgoing stream.
    pongs_queued: VecDeque<u64>,
    /// Who broke the connection, when it broke without a Close handshake.
    lost_by: Option<ClosedBy>,
    error: Option<String>,
    write_shut: bool,
    /// The callback panicked: it gets no more messages, only the final `None`.
    sink_broken: bool,
}

/// Whether the connection thread may write to the socket now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writable {
    /// It takes bytes, as far as we know.
    Yes,
    /// It took none the last time: the poller says when it drains.
    No,
    /// Handed to a sender waiting for room, which writes on its own thread: the poller says
    /// when the socket drains again, or the sender gives it back.
    Handed,
}

impl Connection {
    pub(crate) fn new(parts: Parts) -> Connection {
        let Parts {
            transport,
            tail,
            poll,
            outbox,
            protocol,
            status,
            close_timeout,
            ping_interval,
            pong_timeout,
            write_timeout,
            busy_poll,
            handshake,
        } = parts;
        let mut timers = Timers::default();
        if let Some(interval) = ping_interval {
            timers.set(Timer::Ping, Instant::now() + interval);
        }
        Connection {
            transport,
            poll,
            outbox,
            protocol,
            status,
            close_timeout,
            ping_interval,
            pong_timeout,
            write_timeout,
            heartbeat: Heartbeat::Alive,
            busy_poll: BusyPoll::new(busy_poll),
            edges: Edges::NotYet,
            last_written: 0,
            handshake: Some(handshake),
            timers,
            input: Input::new(&tail),
            // The handshake may have consumed the readiness edges: start by trying both.
            readable: true,
            writable: Writable::Yes,
            close_end: None,
            pong_pending: None,
            pongs_queued: VecDeque::new(),
            lost_by: None,
            error: None,
            write_shut: false,
            sink_broken: false,
        }
    }

    /// The thread's body: runs the connection to its end, closes the socket, and returns
    /// why it ended, with the whole messages that never left. The sink's `unsent` and
    /// `closed` are the caller's to call (after recording this).
    pub(crate) fn run(mut self, sink: &mut dyn EventSink) -> (CloseInfo, Vec<Message>) {
        // The callback's panics are caught where it is called. This catches our own (or a
        // dependency's) on input nobody foresaw: the connection is failed with 1011 and
        // still ends in order.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.drive(sink))) {
            let why = format!("internal error: {}", panic_text(&*panic));
            log::error!("{why}");
            self.fail(CloseCode::INTERNAL_ERROR, why);
            self.sink_broken = true;
            // Once more, to send the Close and linger; a second panic gives up.
            if catch_unwind(AssertUnwindSafe(|| self.drive(sink))).is_err() {
                log::error!("internal error again while closing: giving up on the close");
            }
        }
        self.finish()
    }

    /// The loop: work, then sleep, until the connection is over.
    fn drive(&mut self, sink: &mut dyn EventSink) {
        if let Some(handshake) = self.handshake.take() {
            self.call(sink, |s| s.opened(&handshake));
        }
        let mut events = Events::with_capacity(16);
        loop {
            let step = self.turn(sink);
            if step.is_end() {
                return;
            }
            // Every turn, not only before sleeping: a server that floods us while it reads
            // nothing keeps us awake, and must still meet the write deadline.
            self.watch_writes();
            // Checked every turn, busy or not: a server that floods us must not stretch a
            // close past its deadline. A timer that does not end the connection is set
            // again (or cleared) by its handler.
            // One clock read per turn, for the deadlines and the sleep's timeout alike.
            let now = Instant::now();
            if let Some(timer) = self.timers.due(now) {
                if self.on_timer(timer) {
                    return;
                }
                continue;
            }
            if matches!(step, Step::Idle) && !self.sleep(&mut events, now) {
                return;
            }
        }
    }

    /// Does everything possible without waiting. `Busy` means: go round without sleeping.
    fn turn(&mut self, sink: &mut dyn EventSink) -> Step {
        let mut step = Step::Idle;
        if let Some(request) = self.outbox.take_close_request() {
            self.start_close(request.code, &request.reason, request.within);
        }
        if self.writable == Writable::Handed && self.outbox.take_returned() {
            self.writable = Writable::Yes;
        }
        if self.writable == Writable::Yes {
            step = step.and(self.flush());
        }
        if self.readable && !step.is_end() {
            step = step.and(if self.protocol.state().reads() { self.read(sink) } else { self.discard() });
        }
        if self.writable == Writable::Yes && !step.is_end() {
            step = step.and(self.flush());
        }
        step
    }

    /// Sleeps in the poller until the socket is ready, a wake-up, or the next deadline.
    /// Returns false when the poller failed.
    fn sleep(&mut self, events: &mut Events, now: Instant) -> bool {
        // Senders take over the writing while we sleep; refused while there is work left.
        let spares = match self.outbox.may_sleep(self.writable == Writable::Yes && !self.write_shut) {
            Sleep::Granted { spares } => spares,
            Sleep::Refused => return true,
            Sleep::WritableAgain => {
                self.writable = Writable::Yes;
                return true;
            }
        };
        if (spares || self.input.is_grown()) && self.timers.get(Timer::Trim).is_none() {
            self.timers.set(Timer::Trim, now + SPARES_KEPT);
        }
        let timeout = self.timers.next().map(|at| at.saturating_duration_since(now));
        let polled = match self.poll_first(events, timeout) {
            Some(polled) => polled,
            None => self.poll.poll(events, timeout),
        };
        let writable = events.iter().any(|e| e.token() == SOCKET && e.is_writable());
        self.outbox.woke_up(writable);
        match polled {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return true,
            Err(e) => {
                self.lost(ClosedBy::Local, format!("poller failed: {e}"));
                return false;
            }
        }
        if self.edges == Edges::NotYet {
            self.edges = Edges::Seen;
        }
        for event in events.iter() {
            if event.token() == SOCKET {
                // Errors and hang-ups surface through the next read or write.
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.readable = true;
                }
                if event.is_read_closed() || event.is_error() {
                    self.edges = Edges::Ended;
                }
                if event.is_writable() || event.is_write_closed() || event.is_error() {
                    self.writable = Writable::Yes;
                }
            }
            // WAKER: requests are taken at the top of the next turn.
        }
        true
    }

    /// Polls without blocking for as long as `busy_poll` says (and no deadline is due
    /// sooner), before the thread sleeps; `Some` once something happened, or the poller
    /// failed. Senders write (or wake the thread) meanwhile, as during any sleep.
    fn poll_first(&mut self, events: &mut Events, timeout: Option<Duration>) -> Option<io::Result<()>> {
        let window = self.busy_poll.next().min(timeout.unwrap_or(Duration::MAX));
        if window.is_zero() {
            return None;
        }
        let until = Instant::now() + window;
        loop {
            match self.poll.poll(events, Some(Duration::ZERO)) {
                Ok(()) if events.is_empty() => {}
                polled => {
                    self.busy_poll.polled(true);
                    return Some(polled);
                }
            }
            if Instant::now() >= until {
                self.busy_poll.polled(false);
                return None;
            }
            std::hint::spin_loop();
        }
    }

    /// Reads and handles input: at most `READS_PER_TURN` reads.
    fn read(&mut self, sink: &mut dyn EventSink) -> Step {
        let mut delivered = 0;
        for reads in 0..READS_PER_TURN {
            // Between reads, what the socket takes is written: both directions keep moving
            // while the server streams to us (a bulk echo would otherwise go half-duplex).
            if reads > 0 && self.flush_pending() {
                return Step::End;
            }
            // The last read took less than it could: the socket had no more (see below).
            let mut drained = false;
            if self.input.is_empty() {
                // Deep inside a large payload the bytes go straight into the message;
                // anywhere else into the read buffer, to be fed below.
                let transport = &self.transport;
                let read = match self.protocol.read_payload(|room| transport.read_into(room)) {
                    Some(fed) => fed,
                    None => self.input.read_with(|buf| transport.read_into(buf)).map(|n| {
                        drained = !self.input.filled() && self.short_read_drains();
                        (n, Ok(None))
                    }),
                };
                let out = match read {
                    Ok((0, _)) => return self.on_eof(),
                    Ok((_, out)) => {
                        self.alive();
                        out
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.readable = false;
                        return Step::Idle;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return self.on_read_error(e),
                };
                if let Some(step) = self.handle(sink, out, &mut delivered) {
                    return step;
                }
            }
            while !self.input.is_empty() {
                let (used, out) = self.protocol.feed(self.input.unread());
                self.input.consume(used);
                if let Some(step) = self.handle(sink, out, &mut delivered) {
                    return step;
                }
            }
            if drained {
                // No read that would only say WouldBlock: one syscall less per wake-up.
                self.readable = false;
                return Step::Idle;
            }
        }
        Step::Busy
    }

    /// Whether a read that did not fill the buffer proves the socket empty for now, so that
    /// the poller reports the next bytes as a new edge without a read to WouldBlock first:
    /// true of plain TCP under epoll and kqueue, where every arrival wakes the poller (tokio
    /// relies on the same, in `PollEvented::poll_read`, on the same systems). Not of mio's
    /// Windows poller, which arms again only after WouldBlock, nor of TLS, whose reads end
    /// at a record however much the socket holds. Nor once the server's FIN (or an error)
    /// was reported, or before the thread has seen the poller's edges itself (the dial's
    /// poll consumed those before): the end of the stream shows only in a read of its own,
    /// and no new edge announces it.
    fn short_read_drains(&self) -> bool {
        if self.edges != Edges::Seen {
            return false;
        }
        let edge_per_arrival = cfg!(any(
            target_os = "linux",
            target_os = "android",
            target_os = "illumos",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly",
        ));
        edge_per_arrival && matches!(self.transport, Transport::Plain(_))
    }

    /// Acts on what the message layer made of some input; `Some` ends the reading.
    fn handle(&mut self, sink: &mut dyn EventSink, out: Result<Option<Event>, Violation>, delivered: &mut usize) -> Option<Step> {
        let event = match out {
            Ok(Some(event)) => event,
            Ok(None) => return None,
            Err(v) => return Some(self.fail(v.code, v.why)),
        };
        let is_message = matches!(event, Event::Message(_));
        self.on_event(sink, event);
        if is_message {
            *delivered += 1;
            // A reply to the first message of a turn leaves at once, before the read that
            // finds the socket empty: request/response pays no extra syscall of latency.
            // Replies to the rest of a burst leave together.
            if *delivered == 1 && self.flush_pending() {
                return Some(Step::End);
            }
        }
        None
    }

    fn on_event(&mut self, sink: &mut dyn EventSink, event: Event) {
        match event {
            Event::Message(message) => {
                log::debug!("received {message:?}");
                if self.sink_broken {
                    return;
                }
                // Not as a callback if the sink can take it at once (a channel with room):
                // senders meanwhile leave their frames to this thread, which writes them in
                // batches, rather than each make a syscall.
                if let Err(message) = sink.try_message(message) {
                    self.call(sink, |s| s.message(message));
                }
            }
            Event::Ping(payload) => {
                // The pong first: a callback that blocks must not hold it back.
                self.pong_pending = Some(payload.clone());
                self.queue_pong();
                self.call(sink, |s| s.ping(&payload));
            }
            Event::Pong(payload) => self.call(sink, |s| s.pong(&payload)),
            Event::Close { frame, reply } => {
                log::info!("server sent Close {} {:?}", frame.code, frame.reason);
                self.closing(None);
                if let Some(reply) = reply {
                    self.queue_close(&reply);
                }
            }
        }
    }

    /// Runs the sink on this thread; other threads' sends meanwhile write for themselves.
    fn call(&mut self, sink: &mut dyn EventSink, f: impl FnOnce(&mut dyn EventSink)) {
        if self.sink_broken {
            return;
        }
        self.outbox.enter_callback();
        // Timed only while a pong is awaited: reading the clock twice per message is a cost
        // the other times.
        let entered = matches!(self.heartbeat, Heartbeat::Awaiting { .. }).then(Instant::now);
        let result = catch_unwind(AssertUnwindSafe(|| f(sink)));
        if let (Heartbeat::Awaiting { in_callback, .. }, Some(entered)) = (&mut self.heartbeat, entered) {
            *in_callback += entered.elapsed();
        }
        self.outbox.leave_callback();
        if let Err(panic) = result {
            self.sink_broken = true;
            let why = format!("callback panicked: {}", panic_text(&*panic));
            log::error!("{why}");
            self.error.get_or_insert(why);
            self.start_close(CloseCode::INTERNAL_ERROR, "callback panicked", None);
        }
    }

    /// Queues the pending pong, unless `PONGS_IN_FLIGHT` are still waiting to leave.
    fn queue_pong(&mut self) {
        if self.pong_pending.is_none() || !self.protocol.state().is_open() {
            return;
        }
        let written = self.outbox.written();
        while self.pongs_queued.front().is_some_and(|end| *end <= written) {
            self.pongs_queued.pop_front();
        }
        if self.pongs_queued.len() < PONGS_IN_FLIGHT {
            if let Some(payload) = self.pong_pending.take() {
                self.pongs_queued.push_back(self.outbox.push_control(OP_PONG, &payload));
            }
        }
    }

    /// No more data from us, and the close deadline runs (`within`, or the close timeout).
    /// No more pings either: the close deadline bounds what is left.
    fn closing(&mut self, within: Option<Duration>) {
        self.outbox.close();
        self.status.set(State::Closing);
        self.timers.start(Timer::Close, Instant::now() + within.unwrap_or(self.close_timeout));
        self.timers.clear(Timer::Ping);
        self.timers.clear(Timer::Pong);
    }

    /// Bytes arrived: the server is alive.
    fn alive(&mut self) {
        if let Heartbeat::Awaiting { .. } = self.heartbeat {
            self.heartbeat = Heartbeat::Alive;
            self.timers.clear(Timer::Pong);
        }
    }

    /// While bytes wait to be written on a socket that takes none, the write deadline runs
    /// from the last progress.
    fn watch_writes(&mut self) {
        let Some(timeout) = self.write_timeout else { return };
        if self.writable == Writable::Yes {
            // The last write was taken whole (or the socket said it takes more): no stall,
            // and no lock to take.
            self.timers.clear(Timer::Write);
            return;
        }
        let (pending, written) = self.outbox.progress();
        if pending == 0 {
            self.timers.clear(Timer::Write);
        } else if written != self.last_written || self.timers.get(Timer::Write).is_none() {
            self.last_written = written;
            self.timers.set(Timer::Write, Instant::now() + timeout);
        }
    }

    fn queue_close(&mut self, frame: &CloseFrame) {
        self.close_end = Some(self.outbox.push_control(OP_CLOSE, &frame.payload()));
    }

    /// In the middle of reading: writes what is queued, if anything is and the socket takes
    /// bytes. True when the connection ended.
    fn flush_pending(&mut self) -> bool {
        self.writable == Writable::Yes && self.outbox.has_pending() && self.flush().is_end()
    }

    fn flush(&mut self) -> Step {
        // A sender waiting for room (a sending loop ahead of the network) writes the queue on
        // its own thread while this one reads: a bulk echo's two copies run in parallel.
        if self.outbox.hand_over() {
            self.writable = Writable::Handed;
            return Step::Idle;
        }
        match self.outbox.flush_into(&mut &self.transport) {
            Ok(()) => {
                self.queue_pong();
                if self.outbox.has_pending() {
                    return Step::Busy; // a pong (or a sender's message) just joined
                }
                self.shut_write_when_failed();
                Step::Idle
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.writable = Writable::No;
                Step::Idle
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Step::Busy,
            Err(_) if !self.protocol.state().is_open() && !self.protocol.state().reads() => Step::End,
            Err(e) => self.lost(ClosedBy::Remote, format!("write failed: {e}")),
        }
    }

    /// After a failure, once our Close has left: FIN, so the server sees the end.
    fn shut_write_when_failed(&mut self) {
        if matches!(self.protocol.state(), CloseState::Failed { .. }) && !self.write_shut {
            self.write_shut = true;
            self.transport.shutdown_write();
        }
    }

    /// Lingering after a failure or after the server's Close: throw input away until the
    /// server closes TCP.
    fn discard(&mut self) -> Step {
        self.input.clear();
        match self.transport.discard_input(DISCARD_PER_TURN) {
            Discarded::Closed => Step::End,
            Discarded::Drained => {
                self.readable = false;
                Step::Idle
            }
            Discarded::Limit => Step::Busy,
        }
    }

}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string payload)".to_owned()
    }
}

#[cfg(test)]
mod tests;
