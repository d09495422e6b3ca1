//! How a connection ends: a local close, a failure (RFC 6455 §7.1.7), a loss, a deadline,
//! and the report of it all, computed from the close handshake's state and what reached
//! the wire.

use std::io;

use super::{Connection, Step};
use crate::close::{CloseCode, CloseInfo, ClosedBy};
use crate::protocol::CloseState;
use super::timers::Timer;

impl Connection {
    /// A local close: queues our Close (at most once) and starts the close deadline.
    pub(super) fn start_close(&mut self, code: CloseCode, reason: &str) {
        self.closing();
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
        self.closing();
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

    pub(super) fn on_timer(&mut self, timer: Timer) {
        match timer {
            Timer::Close => self.on_close_timeout(),
        }
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
    pub(super) fn finish(self) -> CloseInfo {
        let close_left = self.close_left();
        let (unsent_messages, unsent_bytes) = self.outbox.finish();
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
        let info = CloseInfo { code, reason, closed_by, clean, error, unsent_messages, unsent_bytes, undelivered_events: 0 };
        log::info!("connection ended: {info}");
        // Close the socket before anyone hears of the end, so that a reconnect never
        // overlaps with this connection. For TLS, say goodbye with close_notify.
        if !self.write_shut {
            self.transport.shutdown_write();
        }
        drop(self.transport);
        drop(self.poll);
        info
    }
}
