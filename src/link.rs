//! How other threads reach a connection thread: a command queue plus a poller waker.
//!
//! A send costs one channel push; the waker (a syscall) rings only when the queue goes from
//! idle to busy, so a burst of sends wakes the connection thread once, not once each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use mio::Waker;

use crate::close::CloseCode;
use crate::message::Message;

/// What other threads ask of the connection thread.
pub(crate) enum Command {
    Send(Message),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(CloseCode, String),
}

/// The other threads' end of a connection: the command queue and the waker.
pub(crate) struct Link {
    tx: Sender<Command>,
    waker: Arc<Waker>,
    /// Set while a wake-up is already due (or the thread is busy and will look anyway), so
    /// that a burst of sends costs one wake-up, not one each.
    wake_pending: Arc<AtomicBool>,
    /// Set by a disconnect: the close deadline starts now, even if the Close frame must wait
    /// behind queued messages for a socket that will not take them.
    close_requested: Arc<AtomicBool>,
    pub(crate) thread: std::thread::ThreadId,
}

impl Link {
    /// Queues a command; gives it back if the connection thread is gone.
    pub(crate) fn send(&self, cmd: Command) -> Result<(), Command> {
        self.tx.send(cmd).map_err(|e| e.0)?;
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            // A failed wake means the poller is gone, i.e. the thread has ended.
            let _ = self.waker.wake();
        }
        Ok(())
    }

    /// Queues a Close and always wakes the thread, so its deadline starts now.
    pub(crate) fn request_close(&self, code: CloseCode, reason: String) {
        self.close_requested.store(true, Ordering::Release);
        if self.tx.send(Command::Close(code, reason)).is_ok() {
            let _ = self.waker.wake();
        }
    }
}

/// The connection thread's end of a [`Link`].
pub(crate) struct Inbox {
    pub(crate) rx: Receiver<Command>,
    /// See [`Link`]: the thread clears it before it looks at the queue, and sets it when it
    /// stops looking with commands left (it will come back by itself).
    pub(crate) wake_pending: Arc<AtomicBool>,
    pub(crate) close_requested: Arc<AtomicBool>,
}

/// A new link for the connection whose poller `waker` rings.
pub(crate) fn link(waker: Arc<Waker>) -> (Link, Inbox) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let wake_pending = Arc::new(AtomicBool::new(false));
    let close_requested = Arc::new(AtomicBool::new(false));
    let link = Link {
        tx,
        waker,
        wake_pending: wake_pending.clone(),
        close_requested: close_requested.clone(),
        // Replaced by the connection thread's id as soon as it is spawned.
        thread: std::thread::current().id(),
    };
    (link, Inbox { rx, wake_pending, close_requested })
}
