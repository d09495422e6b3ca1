//! How a connection ends: a local close, a failure (RFC 6455 §7.1.7), a loss, a deadline,
//! and the report of it all, computed from the close handshake's state and what reached
//! the wire.

use std::io;
use std::time::{Duration, Instant};

use super::{Connection, Heartbeat, Step};
use crate::frame::OP_PING;
use crate::message::Message;
use crate::close::{CloseCode, CloseInfo, ClosedBy, Reconnect};
use crate::protocol::CloseState;
use super::timers::Timer;

impl Connection {
    /// A local close: queues our Close (at most once) and starts the close deadline
    /// (`within`, or the close timeout).
    pub(super) fn start_close(&mut self, code: CloseCode, reason: &str, within: Option<Duration>) {
        self.closing(within);
        if let Some(frame) = self.protocol.close(code, reason) {
            log::info!("closing with {code} {reason:?}");
            self.queue_close(&frame);
        }
    }

    /// _Fail the WebSocket Connection_ (RFC 6455 §7.1.7): queue our Close with `code`, then
    /// linger: flush it, send FIN, and discard input until the server closes or the deadline.
    pub(super) fn fail(&mut self, code: CloseCode, why: String) -> Step {
        log::warn!("failing the connection with {code}: {why}");
        self.error.get_or_insert_with(|| why.clone());
        self.closing(None);
        if let Some(frame) = self.protocol.fail(code, why) {
            self.queue_close(&frame);
        }
        Step::Busy
    }

    /// The connection broke without a close handshake (reset, I/O error).
    pub(super) fn lost(&mut self, by: ClosedBy, why: String) -> Step {
        log::warn!("connection lost: {why}");
        self.lost_by.get_or_insert(by);
        self.error.get_or_insert(why);
        Step::End
    }

    pub(super) fn on_eof(&mut self) -> Step {
        self.readable = false;
        match self.protocol.state() {
            // The server closed TCP after the Close handshake, as RFC 6455 §7.1.1 has it.
            s if s.is_complete() => Step::End,
            CloseState::Failed { .. } => Step::End,
            _ => self.lost(ClosedBy::Remote, "connection closed without a Close frame".into()),
        }
    }

    pub(super) fn on_read_error(&mut self, e: io::Error) -> Step {
        if self.protocol.state().is_complete() {
            return Step::End; // the end we were waiting for, however it came
        }
        self.lost(ClosedBy::Remote, format!("read failed: {e}"))
    }

    /// A deadline passed: true if the connection is over.
    pub(super) fn on_timer(&mut self, timer: Timer) -> bool {
        let now = Instant::now();
        match timer {
            Timer::Close => {
                self.on_close_timeout();
                true
            }
            Timer::Ping => {
                match self.ping_interval {
                    Some(interval) => self.timers.set(Timer::Ping, now + interval),
                    None => self.timers.clear(Timer::Ping),
                }
                if self.protocol.state().is_open() {
                    self.outbox.push_control(OP_PING, b"");
                    if let Heartbeat::Alive = self.heartbeat {
                        self.heartbeat = Heartbeat::Awaiting { since: now, in_callback: Duration::ZERO };
                        self.timers.set(Timer::Pong, now + self.pong_timeout);
                    }
                }
                false
            }
            Timer::Pong => match self.heartbeat {
                Heartbeat::Awaiting { since, in_callback } => {
                    let deadline = since + self.pong_timeout + in_callback;
                    if now < deadline {
                        self.timers.set(Timer::Pong, deadline);
                        return false;
                    }
                    let why = format!("no data from the server for {:.1} s after a ping (pong timeout)", (now - since).as_secs_f64());
                    self.dead(why)
                }
                Heartbeat::Alive => {
                    self.timers.clear(Timer::Pong);
                    false
                }
            },
            Timer::Trim => {
                if self.outbox.trim_spares() {
                    self.input.shrink();
                    self.timers.clear(Timer::Trim);
                } else {
                    self.timers.set(Timer::Trim, now + super::SPARES_KEPT);
                }
                false
            }
            Timer::Write => {
                let (pending, written) = self.outbox.progress();
                let timeout = self.write_timeout.unwrap_or(Duration::MAX);
                if pending == 0 || written != self.last_written {
                    self.last_written = written;
                    self.timers.clear(Timer::Write);
                    return false;
                }
                let why = format!(
                    "write timeout: the server took none of {pending} queued bytes for {:.1} s (it stopped reading)",
                    timeout.as_secs_f64()
                );
                self.dead(why)
            }
        }
    }

    /// The server is gone or stuck (a heartbeat or write deadline): our Close goes out if
    /// the socket takes it at once (1011, as a server that is merely slow should hear it),
    /// and the connection ends now, without waiting for a reply that will not come.
    fn dead(&mut self, why: String) -> bool {
        log::warn!("{why}");
        self.error.get_or_insert(why);
        self.lost_by.get_or_insert(ClosedBy::Local);
        if self.protocol.state().is_open() {
            self.start_close(CloseCode::INTERNAL_ERROR, "", None);
            let _ = self.outbox.flush_into(&mut &self.transport);
        }
        true
    }

    pub(super) fn on_close_timeout(&mut self) {
        let why = match self.protocol.state() {
            CloseState::Failed { .. } | CloseState::Open => return,
            // Our part is done; the server just did not close TCP in time.
            s if s.is_complete() && self.close_left() => return,
            CloseState::Closing { by: ClosedBy::Remote, .. } => "our Close reply could not be sent within the close timeout",
            CloseState::Closing { .. } if self.close_left() => "no Close reply from the server within the close timeout",
            CloseState::Closing { .. } => "the Close frame could not be sent within the close timeout",
        };
        log::warn!("{why}");
        self.error.get_or_insert_with(|| why.to_owned());
    }

    /// Our Close (or echo) has been written to the socket.
    pub(super) fn close_left(&self) -> bool {
        self.close_end.is_some_and(|end| self.outbox.written() >= end)
    }

    /// Reports the end from the close state and the wire's facts, and closes the socket.
    pub(super) fn finish(self) -> (CloseInfo, Vec<Message>) {
        let close_left = self.close_left();
        let unsent = self.outbox.finish();
        let (unsent_messages, unsent_bytes) = (unsent.count, unsent.bytes);
        if unsent_messages > 0 {
            log::warn!("{unsent_messages} queued message(s) ({unsent_bytes} bytes) were not sent before the connection ended");
        }
        let mut error = self.error;
        let (code, reason, closed_by) = match self.protocol.state() {
            CloseState::Open => (CloseCode::ABNORMAL, String::new(), self.lost_by.unwrap_or(ClosedBy::Remote)),
            CloseState::Closing { by: ClosedBy::Remote, received: Some(frame), .. } => {
                (frame.code, frame.reason.clone(), ClosedBy::Remote)
            }
            CloseState::Closing { sent: Some(frame), .. } | CloseState::Failed { sent: Some(frame), .. } => {
                if close_left {
                    (frame.code, frame.reason.clone(), ClosedBy::Local)
                } else {
                    // It never reached the wire: say so rather than report a close that
                    // the server never saw.
                    let why = format!("our Close {} was never sent", frame.code);
                    error = Some(error.map_or(why.clone(), |e| format!("{e}; {why}")));
                    (CloseCode::ABNORMAL, String::new(), ClosedBy::Local)
                }
            }
            CloseState::Closing { .. } | CloseState::Failed { .. } => (CloseCode::ABNORMAL, String::new(), ClosedBy::Local),
        };
        let clean = error.is_none() && close_left && self.protocol.state().is_complete();
        let info = CloseInfo { code, reason, closed_by, clean, error, unsent_messages, unsent_bytes, undelivered_events: 0, reconnect: Reconnect::Off };
        log::info!("connection ended: {info}");
        // Close the socket before anyone hears of the end, so that a reconnect never
        // overlaps with this connection. For TLS, say goodbye with close_notify.
        if !self.write_shut {
            self.transport.shutdown_write();
        }
        drop(self.transport);
        drop(self.poll);
        (info, unsent.messages)
    }
}
