//! The connection's state and the record of its end, as callers read them while the
//! connection thread changes them.

use std::sync::atomic::{AtomicU8, Ordering};

use parking_lot::Mutex;

use crate::close::CloseInfo;

/// The state of a client's connection, as [`WebSocketClient::state`](crate::WebSocketClient::state)
/// reports it.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
/// use wsthread::State;
/// assert_eq!(client.state(), State::Closed); // nothing connected yet
/// match client.state() {
///     State::Open => println!("open"),
///     State::Connecting | State::Closing => println!("on the way"),
///     State::Closed => println!("closed"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// `connect` is running: DNS, TCP, TLS or the upgrade.
    Connecting,
    /// The upgrade succeeded; messages flow both ways.
    Open,
    /// A Close frame was sent or received; the connection thread is finishing the close.
    Closing,
    /// No connection: never connected, or the last one ended.
    Closed,
}

/// A connection's state and the record of its end, shared between callers and the
/// connection thread. The state is stored as a number whose meaning is spelled out here, so
/// nothing depends on the order `State` declares its variants.
pub(crate) struct Status {
    state: AtomicU8,
    close_info: Mutex<Option<CloseInfo>>,
}

impl Status {
    pub(crate) fn new() -> Status {
        Status { state: AtomicU8::new(encode(State::Closed)), close_info: Mutex::new(None) }
    }

    pub(crate) fn get(&self) -> State {
        decode(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn set(&self, state: State) {
        self.state.store(encode(state), Ordering::Release);
    }

    /// `Open → Closing`, and nothing else: a close asked for before the connection opened,
    /// or after it ended, leaves the state alone.
    pub(crate) fn open_to_closing(&self) {
        let _ = self.state.compare_exchange(encode(State::Open), encode(State::Closing), Ordering::AcqRel, Ordering::Acquire);
    }

    /// A new connect starts: the last end is forgotten.
    pub(crate) fn connecting(&self) {
        *self.close_info.lock() = None;
        self.set(State::Connecting);
    }

    /// The connection ended: why, then `Closed` (before the sink hears of it).
    pub(crate) fn ended(&self, info: CloseInfo) {
        self.ended_then(info, State::Closed);
    }

    /// The connection ended, and the client goes on in `state` (`Connecting` when a
    /// reconnect follows).
    pub(crate) fn ended_then(&self, info: CloseInfo, state: State) {
        *self.close_info.lock() = Some(info);
        self.set(state);
    }

    pub(crate) fn close_info(&self) -> Option<CloseInfo> {
        self.close_info.lock().clone()
    }
}

fn encode(state: State) -> u8 {
    match state {
        State::Connecting => 1,
        State::Open => 2,
        State::Closing => 3,
        State::Closed => 4,
    }
}

fn decode(n: u8) -> State {
    match n {
        1 => State::Connecting,
        2 => State::Open,
        3 => State::Closing,
        _ => State::Closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips() {
        let cell = Status::new();
        for s in [State::Connecting, State::Open, State::Closing, State::Closed] {
            cell.set(s);
            assert_eq!(cell.get(), s);
        }
        cell.set(State::Connecting);
        cell.open_to_closing();
        assert_eq!(cell.get(), State::Connecting);
        cell.set(State::Open);
        cell.open_to_closing();
        assert_eq!(cell.get(), State::Closing);
    }
}
