//! A message written over time: `std::io::Write` on one text or binary message that goes
//! out as fragments (RFC 6455 §5.4), for payloads too large to hold whole.

use std::io::{self, Write};
use std::sync::Arc;
use std::thread;

use crate::error::{Error, FrameError};
use crate::frame::{OP_BINARY, OP_CONTINUE, OP_TEXT};
use crate::message::MessageKind;
use crate::outbox::{Outbox, Owner, Wait};
use crate::protocol::Utf8Stream;

/// Bytes gathered before a fragment leaves: large enough that the frame header is noise,
/// small enough to stream.
const FRAGMENT: usize = 64 * 1024;

/// One message, written in pieces with [`std::io::Write`], sent as fragments of up to 64 KiB
/// as they fill (or at each `flush`), and ended by [`finish`](Self::finish) or by dropping
/// the writer. Made by [`Handle::writer`](crate::Handle::writer) or
/// [`WebSocketClient::writer`](crate::WebSocketClient::writer).
///
/// From its first fragment to its last, data messages of other threads wait (their `send`
/// blocks); pings and pongs still go. So finish it promptly, and do not `send` from the
/// thread that holds an unfinished writer: that is refused with
/// [`FrameError::MessageInProgress`] rather than wait for itself.
///
/// For text, each `write` must keep the text valid UTF-8; a code point may be split between
/// writes. A write that breaks it is refused (`io::ErrorKind::InvalidData`) and nothing of
/// it is taken. A message that ends inside a code point, or a writer dropped while its
/// thread panics, cannot be finished honestly: the connection is then closed with 1011, so
/// that the server never takes a part for the whole.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::io::Write;
/// use wsthread::{MessageKind, Options, WebSocketClient};
/// let client = WebSocketClient::new(|_| {}, Options::new("ws://127.0.0.1:9001/")?)?;
/// client.connect(&[])?;
/// let mut message = client.writer(MessageKind::Binary)?;
/// std::io::copy(&mut std::fs::File::open("big.bin")?, &mut message)?;
/// message.finish()?;
/// # Ok(()) }
/// ```
pub struct MessageWriter {
    outbox: Arc<Outbox>,
    owner: Owner,
    opcode: u8,
    buffer: Vec<u8>,
    /// For text: what the bytes taken so far leave unfinished.
    utf8: Option<Utf8Stream>,
    state: Progress,
}

/// How far the message has gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    /// Nothing sent yet: other senders are not held up.
    Unsent,
    /// Fragments have left; the rest must follow.
    Sending,
    /// The final fragment left (or the message was given up).
    Done,
}

impl MessageWriter {
    pub(crate) fn new(outbox: Arc<Outbox>, kind: MessageKind) -> MessageWriter {
        let (opcode, utf8) = match kind {
            MessageKind::Text => (OP_TEXT, Some(Utf8Stream::default())),
            MessageKind::Binary => (OP_BINARY, None),
        };
        MessageWriter { outbox, owner: Owner::new(), opcode, buffer: Vec::new(), utf8, state: Progress::Unsent }
    }

    /// Sends what is buffered as the final fragment, ending the message. A message that
    /// never filled a fragment leaves as one ordinary frame.
    ///
    /// Fails with [`Error::NotConnected`] when the connection closed meanwhile, and with
    /// [`FrameError::InvalidUtf8`] when a text ends inside a code point (the connection is
    /// then closed with 1011, unless nothing had been sent).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), wsthread::Error> {
    /// # let client = wsthread::WebSocketClient::new(|_: Option<wsthread::Message>| {}, wsthread::Options::new("ws://127.0.0.1:9001/")?)?;
    /// use std::io::Write;
    /// client.connect(&[])?;
    /// let mut message = client.writer(wsthread::MessageKind::Text)?;
    /// message.write_all("héllo".as_bytes())?;
    /// message.finish()?; // dropping the writer would end it too, but without the Result
    /// # Ok(()) }
    /// ```
    pub fn finish(mut self) -> Result<(), Error> {
        self.end()
    }

    fn end(&mut self) -> Result<(), Error> {
        if self.state == Progress::Done {
            return Ok(());
        }
        if self.utf8.is_some_and(|u| !u.is_whole()) {
            self.give_up("the text ends inside a code point");
            return Err(FrameError::InvalidUtf8.into());
        }
        // Done either way: `send` marks it so, `give_up` too.
        let result = self.send(true);
        if result.is_err() {
            self.give_up("its last fragment could not be sent");
        }
        result
    }

    /// Sends the buffer as one fragment (the final one with `fin`).
    fn send(&mut self, fin: bool) -> Result<(), Error> {
        let buffer = std::mem::take(&mut self.buffer);
        let sent = self.send_piece(&buffer, fin);
        self.buffer = buffer;
        if sent.is_ok() {
            self.buffer.clear();
        }
        sent
    }

    /// Sends `piece` as the next fragment (the final one with `fin`).
    fn send_piece(&mut self, piece: &[u8], fin: bool) -> Result<(), Error> {
        let opcode = if self.state == Progress::Unsent { self.opcode } else { OP_CONTINUE };
        self.outbox.fragment(self.owner, opcode, piece, fin, Wait::Forever)?;
        self.state = if fin { Progress::Done } else { Progress::Sending };
        Ok(())
    }

    fn give_up(&mut self, why: &str) {
        if self.state == Progress::Sending {
            self.outbox.abandon(self.owner, why);
        }
        self.state = Progress::Done;
    }
}

impl Write for MessageWriter {
    /// Takes bytes up to the next fragment boundary; a full fragment leaves at once. (A
    /// large write goes out in fragments of 64 KiB, never as one huge frame that a server's
    /// frame limit might refuse, and without a copy when nothing is buffered.)
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        if self.state == Progress::Done {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "the message is already finished"));
        }
        if self.buffer.len() == FRAGMENT {
            self.send(false).map_err(to_io)?; // what an earlier write could not send
        }
        let take = bytes.len().min(FRAGMENT - self.buffer.len());
        let piece = &bytes[..take];
        let utf8 = match self.utf8.map(|u| u.after(piece, false)) {
            Some(None) => return Err(io::Error::new(io::ErrorKind::InvalidData, Error::Frame(FrameError::InvalidUtf8))),
            checked => checked.flatten(),
        };
        if self.buffer.is_empty() && take == FRAGMENT {
            // Fails without taking anything.
            self.send_piece(piece, false).map_err(to_io)?;
        } else {
            self.buffer.extend_from_slice(piece);
            if self.buffer.len() == FRAGMENT {
                // Taken either way: a failure to send stays with the buffer, and the next
                // write, flush or finish reports it.
                let _ = self.send(false);
            }
        }
        if utf8.is_some() {
            self.utf8 = utf8;
        }
        Ok(take)
    }

    /// Sends what is buffered as a fragment now.
    fn flush(&mut self) -> io::Result<()> {
        if self.state == Progress::Done || self.buffer.is_empty() {
            return Ok(());
        }
        self.send(false).map_err(to_io)
    }
}

impl Drop for MessageWriter {
    /// Finishes the message; see the type's documentation for a drop during a panic.
    fn drop(&mut self) {
        if thread::panicking() {
            self.give_up("its writer was dropped during a panic");
        } else if let Err(e) = self.end() {
            log::warn!("a message writer dropped unfinished could not end its message: {e}");
        }
    }
}

fn to_io(e: Error) -> io::Error {
    let kind = match e {
        Error::NotConnected => io::ErrorKind::NotConnected,
        _ => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e)
}

impl std::fmt::Debug for MessageWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageWriter").field("buffered", &self.buffer.len()).field("state", &self.state).finish()
    }
}
