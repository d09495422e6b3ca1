//! Frames as the caller sees them: the opcodes of [`send_frame`](crate::Handle::send_frame)
//! and what the frame hook ([`Options::frame_hook`](crate::Options::frame_hook)) is shown.

use std::fmt;
use std::sync::Arc;

/// A frame's opcode (RFC 6455 §5.2).
///
/// ```
/// use wsthread::OpCode;
/// assert_eq!(OpCode::from_code(0x9), OpCode::Ping);
/// assert!(OpCode::Ping.is_control());
/// assert_eq!(OpCode::Text.to_string(), "text");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OpCode {
    /// The continuation of a fragmented message (0x0).
    Continue,
    /// The first frame of a text message (0x1).
    Text,
    /// The first frame of a binary message (0x2).
    Binary,
    /// Close (0x8).
    Close,
    /// Ping (0x9).
    Ping,
    /// Pong (0xA).
    Pong,
    /// A reserved opcode, as a hostile or broken server may send one (the connection then
    /// fails with 1002).
    Reserved(u8),
}

impl OpCode {
    /// The opcode's value on the wire.
    ///
    /// ```
    /// use wsthread::OpCode;
    /// assert_eq!(OpCode::Binary.code(), 0x2);
    /// assert_eq!(OpCode::Reserved(0x3).code(), 0x3);
    /// ```
    pub fn code(self) -> u8 {
        match self {
            OpCode::Continue => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
            OpCode::Reserved(code) => code,
        }
    }

    /// The opcode of a wire value (only its low four bits count).
    ///
    /// ```
    /// use wsthread::OpCode;
    /// assert_eq!(OpCode::from_code(0x1), OpCode::Text);
    /// assert_eq!(OpCode::from_code(0x3), OpCode::Reserved(0x3));
    /// assert_eq!(OpCode::from_code(0x81), OpCode::Text); // a first header byte with FIN set
    /// ```
    pub fn from_code(code: u8) -> OpCode {
        match code & 0xF {
            0x0 => OpCode::Continue,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    /// True for Close, Ping and Pong (and the reserved control opcodes 0xB–0xF).
    ///
    /// ```
    /// use wsthread::OpCode;
    /// assert!(OpCode::Pong.is_control());
    /// assert!(OpCode::Reserved(0xB).is_control());
    /// assert!(!OpCode::Continue.is_control());
    /// ```
    pub fn is_control(self) -> bool {
        self.code() & 0x8 != 0
    }
}

impl fmt::Display for OpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpCode::Continue => f.write_str("continue"),
            OpCode::Text => f.write_str("text"),
            OpCode::Binary => f.write_str("binary"),
            OpCode::Close => f.write_str("close"),
            OpCode::Ping => f.write_str("ping"),
            OpCode::Pong => f.write_str("pong"),
            OpCode::Reserved(code) => write!(f, "reserved-{code:#x}"),
        }
    }
}

/// Which way a frame went.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Direction, Frame, Options};
/// // Log only what the server sends.
/// let options = Options::new("ws://127.0.0.1:9001/")?.frame_hook(|frame: &Frame| {
///     if frame.direction == Direction::Incoming {
///         eprintln!("{frame}");
///     }
/// });
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the server to us.
    Incoming,
    /// From us to the server.
    Outgoing,
}

/// One frame, as the frame hook sees it.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// use wsthread::{Frame, OpCode, Options};
/// let options = Options::new("ws://127.0.0.1:9001/")?.frame_hook(|frame: &Frame| {
///     if frame.opcode == OpCode::Text && frame.rsv1 {
///         eprintln!("compressed text frame, {} bytes on the wire", frame.len);
///     }
/// });
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Frame<'a> {
    /// Which way it went.
    pub direction: Direction,
    /// Its opcode.
    pub opcode: OpCode,
    /// The FIN bit: the last frame of its message.
    pub fin: bool,
    /// The reserved bits; RSV1 marks a message compressed by permessage-deflate.
    pub rsv1: bool,
    /// See `rsv1`.
    pub rsv2: bool,
    /// See `rsv1`.
    pub rsv3: bool,
    /// The payload length the header announced.
    pub len: u64,
    /// The payload as it is on the wire, unmasked (still compressed, when RSV1 says so).
    /// All `len` bytes of it, except for an incoming frame the connection failed for: then
    /// what arrived before the failure (nothing, when the header itself was refused).
    pub payload: &'a [u8],
}

impl fmt::Display for Frame<'_> {
    /// One line: `<` incoming or `>` outgoing, the opcode, `fin` or `more`, the RSV bits that
    /// are set, and the payload length, for example `< text fin len=5`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let arrow = match self.direction {
            Direction::Incoming => '<',
            Direction::Outgoing => '>',
        };
        write!(f, "{arrow} {} {}", self.opcode, if self.fin { "fin" } else { "more" })?;
        for (set, name) in [(self.rsv1, "rsv1"), (self.rsv2, "rsv2"), (self.rsv3, "rsv3")] {
            if set {
                write!(f, " {name}")?;
            }
        }
        write!(f, " len={}", self.len)
    }
}

/// A function shown every frame: incoming ones once their payload is complete, before the
/// connection acts on them (and the one the connection fails for, if any, as far as it
/// came); outgoing ones as they are queued. It runs on whichever thread
/// handles the frame (the connection thread, or the sender's) while that frame's queue or
/// parser waits, so keep it quick. It only looks: it cannot change a frame or the protocol's
/// state, and a panic in it is caught and logged.
///
/// ```
/// # fn main() -> Result<(), wsthread::Error> {
/// let options = wsthread::Options::new("ws://127.0.0.1:9001/")?
///     .frame_hook(|frame: &wsthread::Frame| eprintln!("{frame}"));
/// # let _ = options; Ok(()) }
/// ```
#[derive(Clone)]
pub struct FrameHook(pub(crate) Arc<dyn Fn(&Frame<'_>) + Send + Sync>);

impl FrameHook {
    /// Wraps `hook`.
    ///
    /// ```
    /// # fn main() -> Result<(), wsthread::Error> {
    /// use wsthread::{Frame, FrameHook, Options};
    /// // The field, set directly: the hook of `Options::frame_hook`.
    /// let mut options = Options::new("ws://127.0.0.1:9001/")?;
    /// options.frame_hook = Some(FrameHook::new(|frame: &Frame| eprintln!("{frame}")));
    /// # Ok(()) }
    /// ```
    pub fn new(hook: impl Fn(&Frame<'_>) + Send + Sync + 'static) -> FrameHook {
        FrameHook(Arc::new(hook))
    }
}

impl fmt::Debug for FrameHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FrameHook(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcodes_round_trip_and_frames_print_on_one_line() {
        for code in 0..16 {
            assert_eq!(OpCode::from_code(code).code(), code);
        }
        let frame = Frame {
            direction: Direction::Incoming,
            opcode: OpCode::Text,
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            len: 5,
            payload: b"hello",
        };
        assert_eq!(frame.to_string(), "< text fin len=5");
        let ping = Frame { direction: Direction::Outgoing, opcode: OpCode::Ping, len: 0, payload: b"", ..frame };
        assert_eq!(ping.to_string(), "> ping fin len=0");
    }
}
