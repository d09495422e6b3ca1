//! The client's callback as a channel, and the waits on it.

use crossbeam_channel::{Receiver, RecvTimeoutError};
use wsthread::Message;

use super::WAIT;

pub type Events = Receiver<Option<Message>>;

/// A callback that forwards everything it gets into a channel.
pub fn collector() -> (impl FnMut(Option<Message>) + Send + 'static, Events) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (move |m: Option<Message>| drop(tx.send(m)), rx)
}

/// The next message; fails on the end of the connection or after `WAIT`.
pub fn next_message(rx: &Events) -> Message {
    match rx.recv_timeout(WAIT) {
        Ok(Some(m)) => m,
        Ok(None) => panic!("expected a message, the connection ended"),
        Err(e) => panic!("expected a message: {e:?}"),
    }
}

/// The next event must be the end of the connection (`None`).
pub fn expect_end(rx: &Events) {
    match rx.recv_timeout(WAIT) {
        Ok(None) => {}
        Ok(Some(m)) => panic!("expected the end of the connection, got {m:?}"),
        Err(e) => panic!("expected the end of the connection: {e:?}"),
    }
}

/// Once the client is dropped, its callback is gone: the channel must be empty and closed.
/// Proves that nothing (a second `None`, a late message) came after what was already read.
pub fn expect_no_more(rx: &Events) {
    match rx.recv_timeout(WAIT) {
        Err(RecvTimeoutError::Disconnected) => {}
        Ok(m) => panic!("nothing more was expected, got {m:?}"),
        Err(RecvTimeoutError::Timeout) => panic!("the callback is still alive after the client was dropped"),
    }
}
