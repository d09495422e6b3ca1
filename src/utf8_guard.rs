//! Fail-fast UTF-8 checking of text frames while they are still arriving.
//!
//! RFC 6455 §8.1: an endpoint receiving invalid UTF-8 in a text message must fail the
//! connection, and Autobahn's cases 6.4.3/6.4.4 check that a client does so as soon as the
//! bad bytes arrive, not once the whole frame is in. tungstenite only looks at complete
//! frames (it already checks each fragment of a fragmented message as it completes), so a
//! large text frame sent slowly would be accepted byte by byte until its end.
//!
//! [`WsStream`](crate::stream::WsStream) shows [`Utf8Guard`] every byte tungstenite reads.
//! The guard follows the frame headers (server frames are unmasked, RFC 6455 §5.1) and feeds
//! the payload of text messages to a streaming UTF-8 check. It never changes or holds back a
//! byte; it only raises a flag the connection thread looks at when tungstenite has nothing
//! complete to return. Anything it does not understand (a masked frame, a reserved opcode or
//! bit) it stops watching: tungstenite refuses those frames itself.

/// Where the scan is in the incoming byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Scan {
    /// Collecting a frame header (2 to 10 bytes for an unmasked frame).
    #[default]
    Header,
    /// Inside a payload: `left` bytes to go, which are text if `text`; `ends_text` when this
    /// is the final frame of a text message.
    Payload { left: u64, text: bool, ends_text: bool },
    /// Stopped watching: the stream holds something tungstenite will refuse.
    Off,
}

/// Follows server frames and checks the UTF-8 of text messages as their bytes arrive.
#[derive(Debug, Default)]
pub(crate) struct Utf8Guard {
    scan: Scan,
    header: [u8; 10],
    header_len: usize,
    /// Inside a fragmented text message (its continuation frames are text too).
    in_text: bool,
    utf8: Utf8Stream,
    invalid: bool,
}

impl Utf8Guard {
    /// True once a text message is known to hold invalid UTF-8.
    pub(crate) fn invalid(&self) -> bool {
        self.invalid
    }

    /// Follows `bytes`, the next bytes of the stream.
    pub(crate) fn scan(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.invalid {
            match self.scan {
                Scan::Off => return,
                Scan::Header => {
                    let take = (self.header_need() - self.header_len).min(bytes.len());
                    self.header[self.header_len..self.header_len + take].copy_from_slice(&bytes[..take]);
                    self.header_len += take;
                    bytes = &bytes[take..];
                    if self.header_len == self.header_need() {
                        self.start_frame();
                    }
                }
                Scan::Payload { left, text, ends_text } => {
                    let take = left.min(bytes.len() as u64) as usize;
                    if text && !self.utf8.feed(&bytes[..take]) {
                        self.invalid = true;
                        return;
                    }
                    bytes = &bytes[take..];
                    let left = left - take as u64;
                    self.scan = Scan::Payload { left, text, ends_text };
                    if left == 0 {
                        self.end_frame();
                    }
                }
            }
        }
    }

    /// How many header bytes this frame has, as far as the bytes so far tell.
    fn header_need(&self) -> usize {
        if self.header_len < 2 {
            return 2;
        }
        match self.header[1] & 0x7F {
            126 => 4,
            127 => 10,
            _ => 2,
        }
    }

    fn start_frame(&mut self) {
        let (b0, b1) = (self.header[0], self.header[1]);
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0F;
        // A masked server frame or a reserved bit: tungstenite fails the connection on it.
        // (permessage-deflate will set RSV1; its text must then be checked after inflating.)
        if b1 & 0x80 != 0 || b0 & 0x70 != 0 {
            self.scan = Scan::Off;
            return;
        }
        let len = match b1 & 0x7F {
            126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
            127 => u64::from_be_bytes(self.header[2..10].try_into().expect("8 bytes")),
            n => u64::from(n),
        };
        self.header_len = 0;
        let (text, ends_text) = match opcode {
            0x1 => {
                self.utf8 = Utf8Stream::default();
                self.in_text = !fin;
                (true, fin)
            }
            0x0 => {
                let text = self.in_text;
                if fin {
                    self.in_text = false;
                }
                (text, text && fin)
            }
            0x2 => {
                self.in_text = false;
                (false, false)
            }
            // Control frames may come between fragments and leave the message alone.
            0x8..=0xA => (false, false),
            _ => {
                self.scan = Scan::Off;
                return;
            }
        };
        self.scan = Scan::Payload { left: len, text, ends_text };
        if len == 0 {
            self.end_frame();
        }
    }

    fn end_frame(&mut self) {
        if let Scan::Payload { ends_text: true, .. } = self.scan {
            // A code point cut off by the end of the message is invalid too, but the message
            // is complete now and tungstenite reports that itself.
            self.utf8 = Utf8Stream::default();
        }
        self.scan = Scan::Header;
    }
}

/// UTF-8 validation of a byte stream fed in arbitrary pieces.
#[derive(Debug, Default)]
struct Utf8Stream {
    /// The start of a code point cut by the end of the previous piece (at most 3 bytes).
    pending: [u8; 4],
    pending_len: usize,
}

impl Utf8Stream {
    /// Feeds the next piece; false once the stream so far cannot be the start of valid UTF-8.
    fn feed(&mut self, mut piece: &[u8]) -> bool {
        if self.pending_len > 0 {
            let width = match self.pending[0] {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                _ => 4,
            };
            let take = (width - self.pending_len).min(piece.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&piece[..take]);
            self.pending_len += take;
            piece = &piece[take..];
            match std::str::from_utf8(&self.pending[..self.pending_len]) {
                Ok(_) => self.pending_len = 0,
                // Still cut short: `piece` was used up.
                Err(e) if e.error_len().is_none() => return true,
                Err(_) => return false,
            }
        }
        match std::str::from_utf8(piece) {
            Ok(_) => true,
            Err(e) if e.error_len().is_some() => false,
            Err(e) => {
                let rest = &piece[e.valid_up_to()..];
                self.pending[..rest.len()].copy_from_slice(rest);
                self.pending_len = rest.len();
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(u8::from(fin) << 7) | opcode];
        match payload.len() {
            n if n < 126 => out.push(n as u8),
            n if n <= 0xFFFF => {
                out.push(126);
                out.extend((n as u16).to_be_bytes());
            }
            n => {
                out.push(127);
                out.extend((n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    /// Scans `stream` in pieces of every size from 1 to 17 bytes; all must agree.
    fn verdict(stream: &[u8]) -> bool {
        let mut verdicts = Vec::new();
        for piece in 1..=17 {
            let mut g = Utf8Guard::default();
            for chunk in stream.chunks(piece) {
                g.scan(chunk);
            }
            verdicts.push(g.invalid());
        }
        assert!(verdicts.iter().all(|v| *v == verdicts[0]), "{verdicts:?}");
        verdicts[0]
    }

    #[test]
    fn valid_text_and_binary_pass() {
        let mut s = frame(true, 1, "héllo wörld €𝄞".as_bytes());
        s.extend(frame(true, 2, &[0xFF; 300]));
        s.extend(frame(true, 1, &"€".repeat(30_000).into_bytes()));
        s.extend(frame(true, 1, b""));
        assert!(!verdict(&s));
    }

    #[test]
    fn invalid_text_is_caught_before_the_frame_ends() {
        // The header promises 1,000 bytes; only the bad start has arrived.
        let mut s = frame(true, 1, &[b'a'; 1000]);
        s.truncate(4 + 10);
        s.extend([0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xF4, 0x90, 0x80, 0x80]);
        assert!(verdict(&s));
    }

    #[test]
    fn code_points_split_across_fragments_and_control_frames() {
        let snowman = "☃".as_bytes();
        let mut s = frame(false, 1, &snowman[..1]);
        s.extend(frame(true, 9, b"ping"));
        s.extend(frame(false, 0, &snowman[1..2]));
        s.extend(frame(true, 0, &snowman[2..]));
        assert!(!verdict(&s));

        let mut bad = frame(false, 1, &snowman[..2]);
        bad.extend(frame(true, 0, b"x"));
        assert!(verdict(&bad));
    }

    #[test]
    fn binary_continuations_are_not_text() {
        let mut s = frame(false, 2, &[0xFF]);
        s.extend(frame(true, 0, &[0xFE]));
        s.extend(frame(true, 1, b"ok"));
        assert!(!verdict(&s));
    }

    #[test]
    fn masked_or_reserved_frames_stop_the_watch() {
        let mut s = frame(true, 1, b"ok");
        s[1] |= 0x80;
        s.extend([0; 4]);
        s.extend(frame(true, 1, &[0xFF]));
        let mut g = Utf8Guard::default();
        g.scan(&s);
        assert!(!g.invalid());
        assert_eq!(g.scan, Scan::Off);
    }

    #[test]
    fn streaming_check_agrees_with_std() {
        // Every 1-, 2- and 3-byte sequence, fed a byte at a time.
        let mut seq = Vec::new();
        for a in 0..=255u8 {
            for b in [0x00, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF] {
                for c in [0x80, 0xBF, 0x41] {
                    seq.push(vec![a, b, c]);
                }
            }
        }
        for bytes in seq {
            let mut u = Utf8Stream::default();
            let mut ok = true;
            for b in &bytes {
                if ok {
                    ok = u.feed(std::slice::from_ref(b));
                }
            }
            // Valid so far = valid, or a valid prefix cut short.
            let std_ok = match std::str::from_utf8(&bytes) {
                Ok(_) => true,
                Err(e) => e.error_len().is_none(),
            };
            assert_eq!(ok, std_ok, "{bytes:02X?}");
        }
    }
}
