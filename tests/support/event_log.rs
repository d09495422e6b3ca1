//! The event forms (`with_events`, `channel`): waits on an event channel, and events
//! written as short names for comparing sequences.

use crossbeam_channel::{Receiver, RecvTimeoutError};
use wsthread::{CloseInfo, Event, Handle, Message};

use super::WAIT;

/// A `with_events` callback that forwards every event into a channel.
pub fn event_collector() -> (impl FnMut(&Handle, Event) + Send + 'static, Receiver<Event>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (move |_: &Handle, e: Event| drop(tx.send(e)), rx)
}

/// The next event, within `WAIT`.
pub fn next_event(rx: &Receiver<Event>) -> Event {
    rx.recv_timeout(WAIT).unwrap_or_else(|e| panic!("expected an event: {e:?}"))
}

/// Events up to and including `Closed`; returns their names and the `CloseInfo`.
pub fn events_until_closed(rx: &Receiver<Event>) -> (Vec<String>, CloseInfo) {
    let mut names = Vec::new();
    loop {
        let event = next_event(rx);
        names.push(name(&event));
        if let Event::Closed(info) = event {
            return (names, info);
        }
    }
}

/// After `Closed` (and the client dropped): nothing more may come, and the channel ends.
pub fn expect_no_more_events(rx: &Receiver<Event>) {
    match rx.recv_timeout(WAIT) {
        Err(RecvTimeoutError::Disconnected) => {}
        Ok(e) => panic!("nothing more was expected, got {e:?}"),
        Err(RecvTimeoutError::Timeout) => panic!("the event sender is still alive after the client was dropped"),
    }
}

/// A short name: `opened`, `text:abc`, `binary:3`, `ping:abc`, `pong:abc`, `closed:1000`.
pub fn name(event: &Event) -> String {
    match event {
        Event::Opened(h) => format!("opened:{}", h.status),
        Event::Message(Message::Text(t)) => format!("text:{t}"),
        Event::Message(Message::Binary(b)) => format!("binary:{}", b.len()),
        Event::Ping(p) => format!("ping:{}", String::from_utf8_lossy(p)),
        Event::Pong(p) => format!("pong:{}", String::from_utf8_lossy(p)),
        Event::Closed(info) => format!("closed:{}", info.code),
        other => format!("{other:?}"),
    }
}
