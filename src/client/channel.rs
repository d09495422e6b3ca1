//! The channel form: a connection's events on a bounded `crossbeam_channel`, for programs
//! that block on a receiver, use `recv_timeout`, or `select!` it with their other channels.
//!
//! When the channel is full the connection thread waits for room (after giving the
//! receiver a few turns to take half of it: see `let_it_drain`), so it stops reading and
//! the server meets TCP backpressure: nothing is dropped, and what the channel holds stays
//! bounded. Two things end the wait: the receiver being dropped (the client then disconnects
//! with 1001), and the user asking to close (`disconnect`, or dropping the client) — from
//! then on, events of that connection that find no room are counted in
//! `CloseInfo::undelivered_events` instead of waiting, and the final `Closed` waits for room
//! on a small thread of its own, so that a `disconnect` called by the very thread that reads
//! the channel cannot wait for itself, and `Closed` still comes, last.

use std::sync::Arc;
use std::thread;

use crossbeam_channel::{Receiver, Select, Sender, TryRecvError, TrySendError};

use crate::close::{CloseInfo, Reconnecting};
use crate::event::Event;
use crate::events::{EventSink, Interrupt};
use crate::message::Message;
use crate::report::Handshake;

/// Turns (`yield_now`) a full channel gives its receiver before the thread waits in it
/// (`let_it_drain`).
const DRAIN_TURNS: usize = 4;

/// Called after each event is queued, to wake a loop that does not block on the receiver.
pub(crate) type Notify = Arc<dyn Fn() + Send + Sync>;

pub(crate) struct ChannelSink {
    events: Sender<Event>,
    notify: Option<Notify>,
    interrupt: Interrupt,
    /// Disconnects (1001): called when the receiver is found gone.
    disconnect: Box<dyn Fn() + Send>,
    /// The user asked this connection to close: events no longer wait for room.
    interrupted: bool,
    /// The receiver was dropped.
    gone: bool,
    /// Events this connection dropped after `interrupted`.
    undelivered: usize,
    /// Disconnected once an earlier `Closed`, waiting for room on its own thread, is queued.
    lingering: Option<Receiver<()>>,
}

impl ChannelSink {
    pub(crate) fn new(
        events: Sender<Event>,
        notify: Option<Notify>,
        interrupt: Interrupt,
        disconnect: Box<dyn Fn() + Send>,
    ) -> ChannelSink {
        ChannelSink { events, notify, interrupt, disconnect, interrupted: false, gone: false, undelivered: 0, lingering: None }
    }

    /// Queues `event`, waiting for room unless the user asked to close. `last`: the
    /// connection's `Closed`, which is never dropped.
    fn deliver(&mut self, event: Event, last: bool) {
        if self.gone {
            return;
        }
        // An earlier connection's `Closed` goes first: waited for, or (after the user's
        // close) only looked at, so that one delivered meanwhile no longer counts.
        if let Some(lingering) = self.lingering.clone() {
            let delivered = if self.interrupted {
                matches!(lingering.try_recv(), Err(TryRecvError::Disconnected))
            } else {
                self.wait(lingering)
            };
            if delivered {
                self.lingering = None;
            }
        }
        if self.lingering.is_some() {
            return self.cannot_wait(event, last);
        }
        let mut event = event;
        let mut drained = false;
        loop {
            match self.events.try_send(event) {
                Ok(()) => return self.queued(),
                Err(TrySendError::Disconnected(_)) => return self.receiver_gone(),
                Err(TrySendError::Full(full)) if self.interrupted => return self.cannot_wait(full, last),
                Err(TrySendError::Full(full)) if !drained => {
                    self.let_it_drain();
                    drained = true;
                    event = full;
                }
                Err(TrySendError::Full(full)) => return self.wait_for_room(full, last),
            }
        }
    }

    /// Gives the receiver a few turns to take half the channel before waiting for room. A
    /// sender waiting in a crossbeam channel is woken at the first free slot, so once one
    /// socket read's worth of messages filled it, every event the receiver took woke this
    /// thread for one more (pipelined 1 KiB through the 64-event channel: 0.45 context
    /// switches per message; 0.32-0.39 M msg/s before, 0.80-1.12 M after, four interleaved
    /// quick runs; 1 to 64 turns measured alike). Bounded: then it waits as before.
    fn let_it_drain(&self) {
        let half = self.events.capacity().unwrap_or(1) / 2;
        for _ in 0..DRAIN_TURNS {
            thread::yield_now();
            if self.events.len() <= half {
                break;
            }
        }
    }

    /// Waits for room or for the user's close, whichever comes first.
    fn wait_for_room(&mut self, event: Event, last: bool) {
        let mut select = Select::new();
        let room = select.send(&self.events);
        select.recv(self.interrupt.raised());
        let op = select.select();
        if op.index() == room {
            match op.send(&self.events, event) {
                Ok(()) => self.queued(),
                Err(_) => self.receiver_gone(),
            }
        } else {
            let _ = op.recv(self.interrupt.raised());
            self.interrupted = true;
            self.cannot_wait(event, last)
        }
    }

    /// Waits for `signal` to be disconnected (true) or for the user's close (false).
    fn wait(&mut self, signal: Receiver<()>) -> bool {
        crossbeam_channel::select! {
            recv(signal) -> _ => true,
            recv(self.interrupt.raised()) -> _ => {
                self.interrupted = true;
                false
            }
        }
    }

    /// After the user's close, with no room: drop a plain event (counted), or leave the
    /// `Closed` to a thread that waits for room.
    fn cannot_wait(&mut self, event: Event, last: bool) {
        if !last {
            self.undelivered += 1;
            return;
        }
        let (done, signal) = crossbeam_channel::bounded::<()>(0);
        let before = self.lingering.take();
        let events = self.events.clone();
        let notify = self.notify.clone();
        let spawned = thread::Builder::new().name("wsthread-closed-event".into()).stack_size(64 << 10).spawn(move || {
            if let Some(before) = before {
                let _ = before.recv();
            }
            if events.send(event).is_ok() {
                if let Some(notify) = notify {
                    notify();
                }
            }
            drop(done);
        });
        match spawned {
            Ok(_) => self.lingering = Some(signal),
            Err(e) => log::error!("the Closed event is lost: no thread to deliver it ({e})"),
        }
    }

    fn queued(&self) {
        if let Some(notify) = &self.notify {
            notify();
        }
    }

    fn receiver_gone(&mut self) {
        self.gone = true;
        log::info!("the event receiver was dropped: disconnecting");
        (self.disconnect)();
    }
}

impl EventSink for ChannelSink {
    fn opened(&mut self, handshake: &Handshake) {
        self.interrupted = false;
        self.deliver(Event::Opened(Box::new(handshake.clone())), false);
    }
    fn message(&mut self, message: Message) {
        self.deliver(Event::Message(message), false);
    }
    fn try_message(&mut self, message: Message) -> Result<(), Message> {
        // `notify` is the user's code; an earlier `Closed` still waiting goes first.
        if self.gone || self.notify.is_some() || self.lingering.is_some() {
            return Err(message);
        }
        // Full, or the receiver gone: `message` deals with either.
        match self.events.try_send(Event::Message(message)).map_err(TrySendError::into_inner) {
            Ok(()) => Ok(()),
            Err(Event::Message(message)) => Err(message),
            Err(other) => {
                self.deliver(other, false);
                Ok(())
            }
        }
    }
    fn ping(&mut self, payload: &[u8]) {
        self.deliver(Event::Ping(payload.to_vec()), false);
    }
    fn pong(&mut self, payload: &[u8]) {
        self.deliver(Event::Pong(payload.to_vec()), false);
    }
    fn unsent(&mut self, messages: Vec<Message>) {
        self.deliver(Event::Unsent(messages), false);
    }
    fn reconnecting(&mut self, next: &Reconnecting) {
        self.deliver(Event::Reconnecting(next.clone()), false);
    }
    fn undelivered(&mut self) -> usize {
        std::mem::take(&mut self.undelivered)
    }
    fn closed(&mut self, info: &CloseInfo) {
        self.deliver(Event::Closed(info.clone()), true);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn text(s: &str) -> Message {
        Message::Text(s.to_owned())
    }

    #[test]
    fn a_message_is_taken_at_once_only_while_the_channel_has_room() {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let mut sink = ChannelSink::new(tx, None, Interrupt::new(), Box::new(|| {}));
        assert_eq!(sink.try_message(text("a")), Ok(()));
        // Full: handed back, for `message` to wait for room as a callback would.
        assert_eq!(sink.try_message(text("b")), Err(text("b")));
        assert!(matches!(rx.try_recv(), Ok(Event::Message(m)) if m == text("a")));
        assert!(rx.try_recv().is_err());
        assert_eq!(sink.try_message(text("c")), Ok(()));
        assert!(matches!(rx.try_recv(), Ok(Event::Message(m)) if m == text("c")));
    }

    #[test]
    fn with_a_notify_every_message_goes_the_way_of_a_callback() {
        let (tx, rx) = crossbeam_channel::bounded(4);
        let notified = Arc::new(AtomicUsize::new(0));
        let counter = notified.clone();
        let notify: Notify = Arc::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let mut sink = ChannelSink::new(tx, Some(notify), Interrupt::new(), Box::new(|| {}));
        assert_eq!(sink.try_message(text("a")), Err(text("a")));
        sink.message(text("a"));
        assert_eq!(notified.load(Ordering::Relaxed), 1);
        assert!(matches!(rx.try_recv(), Ok(Event::Message(m)) if m == text("a")));
    }

    #[test]
    fn a_full_channel_is_waited_for_and_nothing_is_lost() {
        let (tx, rx) = crossbeam_channel::bounded(2);
        let mut sink = ChannelSink::new(tx, None, Interrupt::new(), Box::new(|| {}));
        sink.message(text("a"));
        sink.message(text("b"));
        let reader = thread::spawn(move || {
            (0..3)
                .map(|_| match rx.recv_timeout(std::time::Duration::from_secs(10)) {
                    Ok(Event::Message(m)) => Some(m),
                    _ => None,
                })
                .collect::<Vec<_>>()
        });
        // Full: the thread gives the reader its turns, then waits for room.
        sink.message(text("c"));
        let got = reader.join().expect("the reader does not panic");
        assert_eq!(got, [Some(text("a")), Some(text("b")), Some(text("c"))]);
    }

    #[test]
    fn a_receiver_found_gone_disconnects_once() {
        let (tx, rx) = crossbeam_channel::bounded(4);
        drop(rx);
        let disconnects = Arc::new(AtomicUsize::new(0));
        let counter = disconnects.clone();
        let disconnect = Box::new(move || {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        let mut sink = ChannelSink::new(tx, None, Interrupt::new(), disconnect);
        for _ in 0..3 {
            match sink.try_message(text("a")) {
                Ok(()) => {}
                Err(m) => sink.message(m),
            }
        }
        assert_eq!(disconnects.load(Ordering::Relaxed), 1);
    }
}
