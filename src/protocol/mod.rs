//! The message layer: the server's bytes in, events out, with no I/O of its own (like
//! tungstenite's `WebSocketContext`, which we no longer use: it refuses RSV1, hides frames
//! and keeps the close state to itself).
//!
//! It checks every frame header (reserved bits unless an extension claims RSV1, masked
//! server frames, control frame size and fragmentation, the 64-bit length's top bit),
//! applies the frame and message limits to announced lengths before any byte of payload
//! arrives, streams payloads into the message as they arrive (memory grows with bytes
//! received, never with bytes announced), checks UTF-8 as text arrives (failing inside a
//! frame, not at its end: Autobahn 6.4.x), and keeps the close handshake's state. What to
//! send back (pongs, Close frames) it hands to the caller, which owns the outgoing queue.

mod closing;
#[cfg(feature = "deflate")]
mod deflate;
mod extension;
mod utf8;

pub(crate) use closing::{CloseFrame, CloseState};
#[cfg(feature = "deflate")]
pub(crate) use deflate::codec;
#[cfg(feature = "fuzzing")]
pub(crate) use deflate::{Deflater, Inflater};
pub(crate) use extension::{Decoder, Encoder, FrameObserver};
pub(crate) use utf8::Utf8Stream;

use std::io;

use crate::close::CloseCode;
use crate::raw::Direction;
use crate::frame::{self, Head, Parsed, MAX_HEADER, OP_BINARY, OP_CLOSE, OP_CONTINUE, OP_PING, OP_PONG, OP_TEXT};
use crate::message::Message;

/// Up to this much of a data frame's announced length is reserved when its header
/// arrives, so a common message is one allocation; beyond it, memory follows the bytes.
const RESERVE_AHEAD: u64 = 1 << 20;
/// [`Protocol::read_payload`] reads straight into a message when at least this much of a
/// frame is still to come, and at most `DIRECT_MAX` at once: the room offered starts at
/// `DIRECT_MIN` and doubles while reads fill it, so a server trickling bytes makes us zero
/// 16 KiB per read at most, not 256.
const DIRECT_MIN: u64 = 16 * 1024;
const DIRECT_MAX: u64 = 256 * 1024;

/// The limits of [`Options`](crate::Options), applied as frames arrive.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Limits {
    pub max_message: Option<usize>,
    pub max_frame: Option<usize>,
}

/// What the server's bytes amounted to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// A whole text or binary message.
    Message(Message),
    /// A ping: a pong with this payload is owed (§5.5.2).
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// The server's valid Close frame; `reply` is the Close to queue, if one is owed.
    Close { frame: CloseFrame, reply: Option<CloseFrame> },
}

/// The server broke the protocol (or a limit): fail the connection with `code`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    pub code: CloseCode,
    pub why: String,
}

impl Violation {
    pub(crate) fn new(code: CloseCode, why: impl Into<String>) -> Violation {
        Violation { code, why: why.into() }
    }

    fn protocol(why: impl Into<String>) -> Violation {
        Violation::new(CloseCode::PROTOCOL_ERROR, why)
    }
}

/// Where the parser stands in the byte stream.
enum Stage {
    /// Collecting a header; `have` bytes of it are in `Protocol::header` (a header cut by
    /// the end of a read).
    Header { have: usize },
    /// Inside a payload, `left` bytes to go.
    Payload { head: Head, left: u64 },
}

/// A data message being assembled from its frames.
struct Assembly {
    text: bool,
    /// The first frame had RSV1 set: the payload goes through the extension's decoder.
    encoded: bool,
    data: Vec<u8>,
    /// Text: `data[..checked]` is known to be valid UTF-8 (whole code points).
    checked: usize,
}

/// One connection's receiving side and close handshake.
pub(crate) struct Protocol {
    limits: Limits,
    stage: Stage,
    header: [u8; MAX_HEADER],
    message: Option<Assembly>,
    control: Vec<u8>,
    decoder: Option<Box<dyn Decoder>>,
    observer: Option<FrameObserver>,
    /// The current frame's payload as it arrived, kept for the observer (only with one).
    observed: Vec<u8>,
    close: CloseState,
    /// The room the next [`read_payload`](Self::read_payload) offers.
    direct_room: u64,
}

/// The result of [`Protocol::feed`].
pub(crate) type Fed = (usize, Result<Option<Event>, Violation>);

impl Protocol {
    pub(crate) fn new(limits: Limits, decoder: Option<Box<dyn Decoder>>, observer: Option<FrameObserver>) -> Protocol {
        Protocol {
            limits,
            stage: Stage::Header { have: 0 },
            header: [0; MAX_HEADER],
            message: None,
            control: Vec::new(),
            decoder,
            observer,
            observed: Vec::new(),
            close: CloseState::Open,
            direct_room: DIRECT_MIN,
        }
    }

    /// The close handshake's state.
    pub(crate) fn state(&self) -> &CloseState {
        &self.close
    }

    /// A local close: the Close frame to queue, if one is due.
    pub(crate) fn close(&mut self, code: CloseCode, reason: &str) -> Option<CloseFrame> {
        self.close.close(CloseFrame::new(code, reason))
    }

    /// Fails the connection (a violation, a local fault): the Close to queue, if one is due.
    pub(crate) fn fail(&mut self, code: CloseCode, why: String) -> Option<CloseFrame> {
        self.message = None;
        self.close.fail(code, why)
    }

    /// Consumes a prefix of `bytes`: returns how many bytes were used and the event they
    /// completed, if any (call again with the rest). A violation ends the parsing: the
    /// caller fails the connection. Once the server's Close has arrived or the connection
    /// has failed, bytes are consumed and ignored (nothing may follow a Close, §5.5.1).
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Fed {
        let mut used = 0;
        while used < bytes.len() {
            if !self.close.reads() {
                return (bytes.len(), Ok(None));
            }
            let step = match self.stage {
                Stage::Header { have } => self.header_step(have, &bytes[used..]),
                Stage::Payload { head, left } => self.payload_step(head, left, &bytes[used..]),
            };
            used += step.0;
            match step.1 {
                Ok(None) => {}
                done => return (used, done),
            }
        }
        (used, Ok(None))
    }

    /// Collects and checks a header; a frame with an empty payload completes at once.
    fn header_step(&mut self, have: usize, bytes: &[u8]) -> Fed {
        let (head, used) = if have == 0 {
            match frame::parse_header(bytes) {
                Parsed::Header(head, len) => (head, len),
                Parsed::Incomplete => return self.keep_partial_header(0, bytes),
                Parsed::Invalid(why) => return (0, Err(Violation::protocol(why))),
            }
        } else {
            let take = (MAX_HEADER - have).min(bytes.len());
            self.header[have..have + take].copy_from_slice(&bytes[..take]);
            match frame::parse_header(&self.header[..have + take]) {
                Parsed::Header(head, len) => (head, len - have),
                Parsed::Incomplete => return self.keep_partial_header(have, &bytes[..take]),
                Parsed::Invalid(why) => return (0, Err(Violation::protocol(why))),
            }
        };
        if let Err(v) = self.check(&head) {
            self.observe(&head); // the frame the connection fails for, without its payload
            return (used, Err(v));
        }
        self.stage = Stage::Payload { head, left: head.len };
        if head.len == 0 {
            self.stage = Stage::Header { have: 0 };
            return (used, self.end_frame(&head));
        }
        (used, Ok(None))
    }

    fn keep_partial_header(&mut self, have: usize, bytes: &[u8]) -> Fed {
        // A header is at most MAX_HEADER bytes, so an incomplete one fits.
        let n = bytes.len().min(MAX_HEADER - have);
        self.header[have..have + n].copy_from_slice(&bytes[..n]);
        self.stage = Stage::Header { have: have + n };
        (n, Ok(None))
    }

    /// The header checks of RFC 6455 §5.2–§5.5 and the limits, before any payload.
    fn check(&mut self, head: &Head) -> Result<(), Violation> {
        if head.masked {
            return Err(Violation::protocol("the server sent a masked frame"));
        }
        if head.rsv2 || head.rsv3 || (head.rsv1 && self.decoder.is_none()) {
            return Err(Violation::protocol("a reserved bit is set and no extension claims it"));
        }
        if head.len >> 63 != 0 {
            return Err(Violation::protocol("the frame length has its most significant bit set"));
        }
        if head.is_control() {
            if !head.fin {
                return Err(Violation::protocol("fragmented control frame"));
            }
            if head.len > 125 {
                return Err(Violation::protocol(format!("control frame of {} bytes (at most 125)", head.len)));
            }
            if head.rsv1 {
                return Err(Violation::protocol("RSV1 set on a control frame"));
            }
            self.control.clear();
            return Ok(());
        }
        if let Some(max) = self.limits.max_frame {
            if head.len > max as u64 {
                return Err(too_big("frame", head.len, max));
            }
        }
        match (head.opcode, &mut self.message) {
            (OP_CONTINUE, None) => Err(Violation::protocol("continuation frame without a message to continue")),
            (OP_CONTINUE, Some(_)) if head.rsv1 => Err(Violation::protocol("RSV1 set on a continuation frame")),
            (OP_TEXT | OP_BINARY, Some(_)) => Err(Violation::protocol("new data frame inside a fragmented message")),
            (OP_CONTINUE, Some(m)) => reserve(m, head.len, self.limits.max_message),
            (OP_TEXT | OP_BINARY, None) => {
                let opcode = head.opcode;
                let mut m = Assembly { text: opcode == OP_TEXT, encoded: head.rsv1, data: Vec::new(), checked: 0 };
                let result = reserve(&mut m, head.len, self.limits.max_message);
                self.message = Some(m);
                result
            }
            // The header parser refuses reserved opcodes, and control frames returned above.
            (opcode, _) => Err(Violation::protocol(format!("unexpected opcode {opcode}"))),
        }
    }

    /// Takes payload bytes into the message (or control payload) as they arrive.
    fn payload_step(&mut self, head: Head, left: u64, bytes: &[u8]) -> Fed {
        let take = left.min(bytes.len() as u64) as usize;
        let left = left - take as u64;
        let chunk = &bytes[..take];
        let last = left == 0;
        if self.observer.is_some() {
            self.observed.extend_from_slice(chunk);
        }
        if head.is_control() {
            self.control.extend_from_slice(chunk);
        } else if let Err(v) = self.take_data(chunk, last && head.fin) {
            self.observe(&head); // the frame the connection fails for, as far as it came
            return (take, Err(v));
        }
        self.payload_taken(head, left, take)
    }

    /// `used` bytes of the payload were taken in and `left` remain.
    fn payload_taken(&mut self, head: Head, left: u64, used: usize) -> Fed {
        if left > 0 {
            self.stage = Stage::Payload { head, left };
            return (used, Ok(None));
        }
        self.stage = Stage::Header { have: 0 };
        (used, self.end_frame(&head))
    }

    /// Inside a large plain data payload (at least `DIRECT_MIN` bytes to go), lets `read`
    /// put the next bytes straight into the message, saving the copy through the caller's
    /// read buffer; `None` anywhere else (the caller reads and [`feed`](Self::feed)s). On
    /// success, `.0` of the result is how many bytes `read` gave (0: the end of the stream).
    pub(crate) fn read_payload(&mut self, read: impl FnOnce(&mut [u8]) -> io::Result<usize>) -> Option<io::Result<Fed>> {
        let Stage::Payload { head, left } = self.stage else { return None };
        let m = self.message.as_mut()?;
        // The observer is shown each frame's payload whole: collected in `payload_step`.
        if head.is_control() || m.encoded || left < DIRECT_MIN || !self.close.reads() || self.observer.is_some() {
            return None;
        }
        let before = m.data.len();
        // Zeroing the room costs less than copying into it, and memory still follows the
        // bytes: the room is at most DIRECT_MAX, and what stays is what arrived.
        let room = left.min(self.direct_room) as usize;
        m.data.resize(before + room, 0);
        let got = read(&mut m.data[before..]);
        m.data.truncate(before + *got.as_ref().unwrap_or(&0));
        let filled = matches!(got, Ok(n) if n == room);
        self.direct_room = if filled { (self.direct_room * 2).min(DIRECT_MAX) } else { DIRECT_MIN };
        let got = match got {
            Ok(0) => return Some(Ok((0, Ok(None)))),
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        let left = left - got as u64;
        if let Err(v) = check_text_so_far(m, left == 0 && head.fin) {
            return Some(Ok((got, Err(v))));
        }
        Some(Ok(self.payload_taken(head, left, got)))
    }

    fn take_data(&mut self, chunk: &[u8], ends_message: bool) -> Result<(), Violation> {
        let Some(m) = &mut self.message else { return Ok(()) };
        match (&mut self.decoder, m.encoded) {
            (Some(decoder), true) => decoder.decode(chunk, ends_message, &mut m.data, self.limits.max_message)?,
            _ => m.data.extend_from_slice(chunk),
        }
        check_text_so_far(m, ends_message)
    }

    /// Shows the observer the frame with what arrived of its payload.
    fn observe(&mut self, head: &Head) {
        if let Some(observe) = &self.observer {
            observe(Direction::Incoming, head, &self.observed);
            self.observed.clear();
        }
    }

    /// A frame's payload is complete.
    fn end_frame(&mut self, head: &Head) -> Result<Option<Event>, Violation> {
        self.observe(head);
        match head.opcode {
            OP_PING => Ok(Some(Event::Ping(std::mem::take(&mut self.control)))),
            OP_PONG => Ok(Some(Event::Pong(std::mem::take(&mut self.control)))),
            OP_CLOSE => self.end_close(),
            _ if !head.fin => Ok(None),
            _ => {
                if head.len == 0 {
                    // An empty final frame: its data step never ran (a decoder may still
                    // have to finish the message).
                    self.take_data(&[], true)?;
                }
                let Some(m) = self.message.take() else { return Ok(None) };
                let message = if m.text {
                    let text = String::from_utf8(m.data)
                        .map_err(|_| Violation::new(CloseCode::INVALID_PAYLOAD, "invalid UTF-8 in a text message"))?;
                    Message::Text(text)
                } else {
                    Message::Binary(m.data)
                };
                Ok(Some(Event::Message(message)))
            }
        }
    }

    /// The server's Close: checks its code and reason (§5.5.1, §7.4).
    fn end_close(&mut self) -> Result<Option<Event>, Violation> {
        let payload = std::mem::take(&mut self.control);
        let frame = match payload.len() {
            0 => CloseFrame { code: CloseCode::NO_STATUS, reason: String::new() },
            1 => return Err(Violation::protocol("Close frame with a 1-byte payload")),
            _ => {
                let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
                if !code.is_sendable() {
                    return Err(Violation::protocol(format!("the server sent Close with the invalid code {code}")));
                }
                let reason = String::from_utf8(payload[2..].to_vec())
                    .map_err(|_| Violation::new(CloseCode::INVALID_PAYLOAD, "invalid UTF-8 in a Close reason"))?;
                CloseFrame { code, reason }
            }
        };
        // A message cut short by the Close is not delivered.
        self.message = None;
        let reply = self.close.received(frame.clone());
        Ok(Some(Event::Close { frame, reply }))
    }
}

/// Checks the message limit against a frame's announced length, then reserves room for
/// it, at most [`RESERVE_AHEAD`]: the rest comes as the bytes do.
fn reserve(m: &mut Assembly, len: u64, max_message: Option<usize>) -> Result<(), Violation> {
    // An encoded payload's size says nothing about the decoded one: the decoder checks that.
    let total = m.data.len() as u64 + len;
    if let (Some(max), false) = (max_message, m.encoded) {
        if total > max as u64 {
            return Err(too_big("message", total, max));
        }
    }
    if !m.encoded {
        m.data.reserve(len.min(RESERVE_AHEAD) as usize);
    }
    Ok(())
}

fn too_big(what: &str, len: u64, max: usize) -> Violation {
    Violation::new(CloseCode::MESSAGE_TOO_BIG, format!("{what} of {len} bytes is over the limit of {max}"))
}

/// Fail fast: extends the valid prefix of a text message over the bytes that arrived, not
/// once it is complete. A code point cut by the end of the bytes so far is fine as long as it
/// can still be completed. (A message that `ends` here is checked whole by `String::from_utf8`
/// at its end instead.)
fn check_text_so_far(m: &mut Assembly, ends: bool) -> Result<(), Violation> {
    if !m.text || ends {
        return Ok(());
    }
    match std::str::from_utf8(&m.data[m.checked..]) {
        Ok(_) => m.checked = m.data.len(),
        Err(e) if e.error_len().is_none() => m.checked += e.valid_up_to(),
        Err(_) => return Err(Violation::new(CloseCode::INVALID_PAYLOAD, "invalid UTF-8 in a text message")),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
