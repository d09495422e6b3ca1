//! The connection thread: it owns the socket and all protocol state, sleeps in the poller,
//! and is the only thread that touches tungstenite.
//!
//! ```text
//!  caller threads ──send/ping──▶ Outbox (framed bytes) ──▶ socket (see outbox.rs for who writes)
//!                 ──disconnect──▶ close request + mio Waker
//!                        socket ──▶ connection thread ── callback(Some(msg)) … callback(None)
//! ```
//!
//! One loop iteration does all the work that is possible without waiting, then sleeps:
//! act on a close request, write the queue, read messages until the socket would block,
//! write again (replies and pongs). mio is edge-triggered, so the loop tracks "may be
//! readable" / "may be writable" itself and only clears them on `WouldBlock`.

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll};
use tungstenite::error::{Error as WsError, ProtocolError};
use tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tungstenite::protocol::{CloseFrame, WebSocket};
use tungstenite::Message as WsMessage;

use crate::callback::EventSink;
use crate::client::{Handle, Shared};
use crate::close::{CloseCode, CloseInfo, ClosedBy, State};
use crate::dial::SOCKET;
use crate::message::Message;
use crate::outbox::Outbox;
use crate::stream::WsStream;

/// How many messages one loop iteration reads before writing: keeps a flood of incoming
/// messages from starving the outgoing queue.
const BATCH: usize = 256;

/// Outcome of a step of the loop.
enum Step {
    /// Stopped on `WouldBlock`: nothing more to do until the poller says so.
    Idle,
    /// Stopped on the batch limit: go round again without sleeping.
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

pub(crate) struct Connection {
    ws: WebSocket<WsStream>,
    poll: Poll,
    outbox: Arc<Outbox>,
    shared: Arc<Shared>,
    handle: Handle,
    close_timeout: Duration,

    readable: bool,
    writable: bool,
    /// Set when the close has to finish by then (close timeout).
    deadline: Option<Instant>,
    /// The Close frame we sent (or queued), and the one we received.
    sent_close: Option<(CloseCode, String)>,
    got_close: Option<(CloseCode, String)>,
    closed_by: Option<ClosedBy>,
    error: Option<String>,
    /// After a failure: no more frames are parsed; flush our Close, send FIN, wait for EOF.
    lingering: bool,
    write_shut: bool,
    /// The callback panicked: it gets no more messages, only the final `None`.
    sink_broken: bool,
}

impl Connection {
    /// Builds the thread's state; `outbox` is the queue `ws` writes into.
    pub(crate) fn new(ws: WebSocket<WsStream>, poll: Poll, outbox: Arc<Outbox>, shared: Arc<Shared>) -> Connection {
        let close_timeout = shared.options.close_timeout;
        let handle = Handle::new(shared.clone());
        Connection {
            ws,
            poll,
            outbox,
            shared,
            handle,
            close_timeout,
            // The handshake may have consumed the readiness edges: start by trying both.
            readable: true,
            writable: true,
            deadline: None,
            sent_close: None,
            got_close: None,
            closed_by: None,
            error: None,
            lingering: false,
            write_shut: false,
            sink_broken: false,
        }
    }

    /// The thread's body: runs the connection to its end, then reports it.
    pub(crate) fn run(mut self) {
        let mut sink = self.shared.take_sink().unwrap_or_else(|| Box::new(Discard));
        // The callback's panics are caught where it is called. This catches our own (or a
        // dependency's) on input nobody foresaw: the connection still ends in order, with
        // `None` delivered and the client marked closed, instead of a state left dangling.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| self.drive(&mut *sink))) {
            let why = format!("internal error: {}", panic_text(&*panic));
            log::error!("{why}");
            self.closed_by.get_or_insert(ClosedBy::Local);
            self.error.get_or_insert(why);
        }
        self.finish(sink);
    }

    /// The loop: work, then sleep, until the connection is over.
    fn drive(&mut self, sink: &mut dyn EventSink) {
        let mut events = Events::with_capacity(16);
        loop {
            let step = self.turn(sink);
            if let Step::End = step {
                break;
            }
            // Checked even while busy: a server that floods us must not stretch a close
            // past its deadline.
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                self.on_deadline();
                break;
            }
            if let Step::Idle = step {
                if !self.sleep(&mut events) {
                    break;
                }
            }
        }
    }

    /// Does everything possible without waiting.
    fn turn(&mut self, sink: &mut dyn EventSink) -> Step {
        let mut step = Step::Idle;
        if let Some((code, reason)) = self.outbox.take_close_request() {
            step = self.start_close(code, reason);
        }
        if self.writable && !step.is_end() {
            step = step.and(self.flush());
        }
        if self.readable && !step.is_end() {
            step = step.and(if self.lingering { self.discard() } else { self.read_messages(sink) });
        }
        if self.writable && !step.is_end() {
            step = step.and(self.flush());
        }
        step
    }

    /// Sleeps in the poller until the socket is ready, a command arrives, or the close
    /// deadline. Returns false when the deadline has passed.
    fn sleep(&mut self, events: &mut Events) -> bool {
        let timeout = match self.deadline {
            None => None,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    self.on_deadline();
                    return false;
                }
                Some(left)
            }
        };
        // Senders take over the writing while we sleep; refused while there is work left.
        if !self.outbox.may_sleep(self.writable && !self.write_shut) {
            return true;
        }
        let polled = self.poll.poll(events, timeout);
        let writable = events.iter().any(|e| e.token() == SOCKET && e.is_writable());
        self.outbox.woke_up(writable);
        match polled {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return true,
            Err(e) => {
                self.error.get_or_insert_with(|| format!("poller failed: {e}"));
                self.closed_by.get_or_insert(ClosedBy::Local);
                return false;
            }
        }
        for event in events.iter() {
            if event.token() == SOCKET {
                // Errors and hang-ups surface through the next read or write.
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    self.readable = true;
                }
                if event.is_writable() || event.is_write_closed() || event.is_error() {
                    self.writable = true;
                }
            }
            // WAKER: commands are taken at the top of the next turn.
        }
        true
    }

    /// Sends our Close frame (at most once) and starts the close deadline.
    fn start_close(&mut self, code: CloseCode, reason: String) -> Step {
        self.deadline.get_or_insert_with(|| Instant::now() + self.close_timeout);
        if !self.ws.can_write() {
            return Step::Idle; // a Close was already sent or received
        }
        log::info!("closing with {code} {reason:?}");
        self.outbox.close();
        self.closed_by.get_or_insert(ClosedBy::Local);
        self.sent_close = Some((code, reason.clone()));
        self.shared.set_state(State::Closing);
        let frame = CloseFrame { code: WsCloseCode::from(code.0), reason: reason.into() };
        match self.ws.close(Some(frame)) {
            Ok(()) => Step::Idle,
            Err(e) => self.on_write_error(e),
        }
    }

    fn read_messages(&mut self, sink: &mut dyn EventSink) -> Step {
        for i in 0..BATCH {
            let message = match self.ws.read() {
                Ok(WsMessage::Text(t)) => Message::Text(t.as_str().to_owned()),
                Ok(WsMessage::Binary(b)) => Message::Binary(Vec::from(b)),
                Ok(WsMessage::Ping(_)) | Ok(WsMessage::Pong(_)) | Ok(WsMessage::Frame(_)) => continue,
                Ok(WsMessage::Close(frame)) => {
                    self.on_close_frame(frame);
                    continue;
                }
                Err(e) => return self.on_read_error(e),
            };
            // What the callback queues (a reply) joins the outbox before the next frame is
            // parsed, so it leaves ahead of any Close that a later frame brings about.
            self.deliver(sink, message);
            // A reply to the first message read in this turn leaves at once, before the read
            // that finds the socket empty: request/response pays no extra syscall of latency.
            // Replies to the rest of a burst wait for the flush after it, in one write.
            if i == 0 && self.writable && self.outbox.has_pending() {
                if let Step::End = self.flush() {
                    return Step::End;
                }
            }
        }
        Step::Busy
    }

    fn deliver(&mut self, sink: &mut dyn EventSink, message: Message) {
        if self.sink_broken {
            log::debug!("dropped {message:?}: the callback panicked earlier");
            return;
        }
        log::debug!("received {message:?}");
        let handle = &self.handle;
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| sink.message(handle, message))) {
            self.sink_broken = true;
            let why = format!("callback panicked: {}", panic_text(&*panic));
            log::error!("{why}");
            self.error.get_or_insert(why);
            self.start_close(CloseCode::INTERNAL_ERROR, "callback panicked".into());
        }
    }

    fn on_close_frame(&mut self, frame: Option<CloseFrame>) {
        let (code, reason) = match frame {
            Some(f) => (CloseCode(u16::from(f.code)), f.reason.as_str().to_owned()),
            None => (CloseCode::NO_STATUS, String::new()),
        };
        log::info!("server sent Close {code} {reason:?}");
        if self.sent_close.is_none() {
            // The server closed first; tungstenite has queued the echo of its code.
            self.outbox.close();
            self.closed_by.get_or_insert(ClosedBy::Remote);
            self.shared.set_state(State::Closing);
            self.deadline.get_or_insert_with(|| Instant::now() + self.close_timeout);
        }
        self.got_close = Some((code, reason));
    }

    fn on_read_error(&mut self, e: WsError) -> Step {
        match e {
            // Nothing complete to return. A text frame still arriving may already be known
            // to be invalid: fail now rather than wait for the rest of it (fail-fast).
            WsError::Io(e) if e.kind() == io::ErrorKind::WouldBlock && self.ws.get_ref().guard.invalid() => {
                self.fail(CloseCode::INVALID_PAYLOAD, "invalid UTF-8 in a text message".into())
            }
            WsError::Io(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.readable = false;
                Step::Idle
            }
            WsError::Io(e) if e.kind() == io::ErrorKind::Interrupted => Step::Busy,
            WsError::ConnectionClosed | WsError::AlreadyClosed => Step::End,
            // The peer went away after its Close: the end we were waiting for, however it came.
            WsError::Io(_) if self.got_close.is_some() => Step::End,
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
                self.abnormal(ClosedBy::Remote, "connection closed without a Close frame".into())
            }
            WsError::Io(e) => self.abnormal(ClosedBy::Remote, format!("read failed: {e}")),
            WsError::Utf8(why) => self.fail(CloseCode::INVALID_PAYLOAD, format!("invalid UTF-8: {why}")),
            WsError::Capacity(why) => self.fail(CloseCode::MESSAGE_TOO_BIG, why.to_string()),
            WsError::Protocol(why) => self.fail(CloseCode::PROTOCOL_ERROR, why.to_string()),
            other => self.fail(CloseCode::PROTOCOL_ERROR, other.to_string()),
        }
    }

    fn on_write_error(&mut self, e: WsError) -> Step {
        match e {
            // Queued in tungstenite's buffer; it goes out when the socket is writable again.
            WsError::Io(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.writable = false;
                Step::Idle
            }
            WsError::Io(e) if e.kind() == io::ErrorKind::Interrupted => Step::Busy,
            WsError::ConnectionClosed | WsError::AlreadyClosed => Step::End,
            WsError::Io(_) if self.got_close.is_some() => Step::End,
            WsError::Io(e) => self.abnormal(ClosedBy::Remote, format!("write failed: {e}")),
            other => self.abnormal(ClosedBy::Local, format!("write failed: {other}")),
        }
    }

    /// The connection is unusable (reset, I/O error): no Close frame can be exchanged.
    fn abnormal(&mut self, by: ClosedBy, why: String) -> Step {
        log::warn!("connection lost: {why}");
        self.closed_by.get_or_insert(by);
        self.error.get_or_insert(why);
        Step::End
    }

    /// _Fail the WebSocket Connection_ (RFC 6455 §7.1.7): the server broke the protocol.
    /// tungstenite only reports it; we send the Close frame with the right code, then
    /// linger: flush it, send FIN, and read until the server closes or the deadline.
    fn fail(&mut self, code: CloseCode, why: String) -> Step {
        log::warn!("failing the connection with {code}: {why}");
        self.closed_by.get_or_insert(ClosedBy::Local);
        self.error.get_or_insert_with(|| why.clone());
        self.deadline.get_or_insert_with(|| Instant::now() + self.close_timeout);
        self.shared.set_state(State::Closing);
        self.lingering = true;
        self.outbox.close();
        if self.ws.can_write() {
            // The reason on the wire (and so in CloseInfo) is cut to what a Close frame holds;
            // the whole text stays in CloseInfo::error.
            let reason = truncate_reason(&why).to_owned();
            self.sent_close = Some((code, reason.clone()));
            let frame = CloseFrame { code: WsCloseCode::from(code.0), reason: reason.into() };
            if let Err(e) = self.ws.close(Some(frame)) {
                if !matches!(&e, WsError::Io(io) if io.kind() == io::ErrorKind::WouldBlock) {
                    return Step::End;
                }
                self.writable = false;
            }
        }
        Step::Idle
    }

    fn flush(&mut self) -> Step {
        match self.ws.flush() {
            Ok(()) => {
                if self.lingering && !self.write_shut {
                    self.write_shut = true;
                    self.ws.get_mut().transport.shutdown_write();
                }
                Step::Idle
            }
            Err(e) if self.lingering => {
                if matches!(&e, WsError::Io(io) if io.kind() == io::ErrorKind::WouldBlock) {
                    self.writable = false;
                    Step::Idle
                } else {
                    Step::End
                }
            }
            Err(e) => self.on_write_error(e),
        }
    }

    /// Lingering: throw input away until the server closes.
    fn discard(&mut self) -> Step {
        if self.ws.get_ref().transport.discard_input() {
            Step::End
        } else {
            self.readable = false;
            Step::Idle
        }
    }

    fn on_deadline(&mut self) {
        if self.lingering || self.got_close.is_some() {
            // Our part is done; the server just did not close TCP in time.
            return;
        }
        let why = if self.sent_close.is_some() {
            "no Close reply from the server within the close timeout"
        } else {
            "the Close frame could not be sent within the close timeout"
        };
        log::warn!("{why}");
        self.closed_by.get_or_insert(ClosedBy::Local);
        self.error.get_or_insert_with(|| why.to_owned());
    }

    /// Reports the end: records why, marks the client closed, then calls the sink once.
    fn finish(mut self, mut sink: Box<dyn EventSink>) {
        let (unsent_messages, unsent_bytes) = self.outbox.finish();
        if unsent_messages > 0 {
            log::warn!("{unsent_messages} queued message(s) were not sent before the connection ended");
        }
        let closed_by = self.closed_by.unwrap_or(ClosedBy::Remote);
        let (code, reason) = match (closed_by, &self.sent_close, &self.got_close) {
            (ClosedBy::Local, Some(sent), _) => sent.clone(),
            (_, _, Some(got)) => got.clone(),
            (_, Some(sent), None) => sent.clone(),
            _ => (CloseCode::ABNORMAL, String::new()),
        };
        let clean = self.error.is_none() && self.got_close.is_some();
        let info = CloseInfo { code, reason, closed_by, clean, error: self.error.take(), unsent_messages, unsent_bytes };
        log::info!("connection ended: {info}");
        // Close the socket before telling anyone, so that a reconnect from the callback's
        // caller never overlaps with this one. For TLS, say goodbye with close_notify.
        if !self.write_shut {
            self.ws.get_mut().transport.shutdown_write();
        }
        drop(self.ws);
        drop(self.poll);
        self.shared.record_end(info.clone());
        let handle = &self.handle;
        if catch_unwind(AssertUnwindSafe(|| sink.closed(handle, &info))).is_err() {
            log::error!("callback panicked while handling the end of the connection");
        }
        self.shared.return_sink(sink);
    }
}

/// Stands in for the sink when the client was dropped before its thread started.
struct Discard;

impl EventSink for Discard {
    fn message(&mut self, _: &Handle, _: Message) {}
    fn closed(&mut self, _: &Handle, _: &CloseInfo) {}
}

/// A close reason may hold at most 123 bytes (125 minus the code); cut on a char boundary.
pub(crate) fn truncate_reason(text: &str) -> &str {
    let mut end = text.len().min(123);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
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
