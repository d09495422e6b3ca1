//! The frame codec (RFC 6455 §5.2): tungstenite's header parser and formatter, and the
//! masking of client frames (§5.3). Payloads never pass through here whole: the message
//! layer streams incoming ones, and senders append outgoing ones straight into the queue.
//!
//! tungstenite's `FrameCodec` is not used: it returns only whole frames and reserves the
//! length a header announces before the payload arrives, which lets one header make us
//! allocate anything. Its `FrameHeader` parses and formats the header alone, which is all
//! we take from it.

use std::io::Cursor;

use tungstenite::protocol::frame::coding::OpCode as WireOpCode;
use tungstenite::protocol::frame::FrameHeader;

use crate::raw::{Direction, Frame, OpCode};

/// Opcodes (RFC 6455 §5.2).
pub(crate) const OP_CONTINUE: u8 = 0x0;
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xA;

/// The longest header: 2 bytes, an 8-byte length, a 4-byte mask.
pub(crate) const MAX_HEADER: usize = 14;

/// A frame header, as the layers above look at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    pub fin: bool,
    pub rsv1: bool,
    /// No extension we know uses RSV2 or RSV3.
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: u8,
    pub masked: bool,
    /// The payload length the header announces (not yet arrived, and not trusted).
    pub len: u64,
}

impl Head {
    pub(crate) fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }

    /// The frame as the public frame hook shows it.
    pub(crate) fn show<'a>(&self, direction: Direction, payload: &'a [u8]) -> Frame<'a> {
        Frame {
            direction,
            opcode: OpCode::from_code(self.opcode),
            fin: self.fin,
            rsv1: self.rsv1,
            rsv2: self.rsv2,
            rsv3: self.rsv3,
            len: self.len,
            payload,
        }
    }
}

/// What the start of a byte stream holds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Not a whole header yet.
    Incomplete,
    /// A header of `.1` bytes.
    Header(Head, usize),
    /// A reserved opcode.
    Invalid(String),
}

/// Parses the frame header at the start of `bytes`.
pub(crate) fn parse_header(bytes: &[u8]) -> Parsed {
    let mut cursor = Cursor::new(bytes);
    match FrameHeader::parse(&mut cursor) {
        Ok(None) => Parsed::Incomplete,
        Ok(Some((h, len))) => {
            let head = Head {
                fin: h.is_final,
                rsv1: h.rsv1,
                rsv2: h.rsv2,
                rsv3: h.rsv3,
                opcode: u8::from(h.opcode),
                masked: h.mask.is_some(),
                len,
            };
            Parsed::Header(head, cursor.position() as usize)
        }
        Err(e) => Parsed::Invalid(e.to_string()),
    }
}

/// The size of a masked client frame with a payload of `len` bytes.
pub(crate) fn encoded_len(len: usize) -> usize {
    let extra = match len {
        0..=125 => 0,
        126..=0xFFFF => 2,
        _ => 8,
    };
    2 + extra + 4 + len
}

/// Appends a masked client frame to `out`: the one encoder of every frame we send, data
/// frames from senders' threads and pongs and Close frames from the connection thread.
pub(crate) fn encode(out: &mut Vec<u8>, fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) {
    // The mask must be unpredictable to the page's scripts (§10.3): rand's thread-local
    // generator is a CSPRNG seeded from the OS, the same source tungstenite uses.
    let mask: [u8; 4] = rand::random();
    let header = FrameHeader { is_final: fin, rsv1, rsv2: false, rsv3: false, opcode: WireOpCode::from(opcode), mask: Some(mask) };
    // Formatting into a Vec cannot fail: its writes never do.
    let _ = header.format(payload.len() as u64, out);
    let body = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[body..], mask);
}

/// XORs `data` with the repeating `mask`. (tungstenite's own is private.)
pub(crate) fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    // The mask repeated over a block: the loop over whole blocks compiles to a few vector
    // XORs per block (eight bytes at a time took 5 % of a 1 KiB stream's client profile).
    let mut block = [0u8; 32];
    for (i, b) in block.iter_mut().enumerate() {
        *b = mask[i % 4];
    }
    let mut chunks = data.chunks_exact_mut(block.len());
    for chunk in &mut chunks {
        for (byte, m) in chunk.iter_mut().zip(&block) {
            *byte ^= m;
        }
    }
    // The tail starts at a multiple of the block, hence of 4: the mask restarts there.
    for (byte, m) in chunks.into_remainder().iter_mut().zip(&block) {
        *byte ^= m;
    }
}

/// Decodes one whole masked frame of ours at the start of `bytes`: (head, unmasked payload,
/// bytes used). For handing back messages that never left, and for tests.
pub(crate) fn decode_sent(bytes: &[u8]) -> Option<(Head, Vec<u8>, usize)> {
    let Parsed::Header(head, at) = parse_header(bytes) else { return None };
    let end = at.checked_add(usize::try_from(head.len).ok()?)?;
    if !head.masked || bytes.len() < end {
        return None;
    }
    let mask: [u8; 4] = bytes[at - 4..at].try_into().ok()?;
    let mut payload = bytes[at..end].to_vec();
    apply_mask(&mut payload, mask);
    Some((head, payload, end))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Decodes one masked client frame: (head, unmasked payload, bytes used).
    pub(crate) fn decode(bytes: &[u8]) -> (Head, Vec<u8>, usize) {
        decode_sent(bytes).expect("a whole masked frame")
    }

    #[test]
    fn frames_round_trip_at_every_length_class() {
        for len in [0, 1, 7, 8, 9, 125, 126, 127, 65535, 65536, 70_001] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut out = Vec::new();
            encode(&mut out, true, false, OP_BINARY, &payload);
            assert_eq!(out.len(), encoded_len(len));
            let (head, got, used) = decode(&out);
            assert!(head.fin && !head.rsv1 && head.opcode == OP_BINARY);
            assert_eq!(got, payload, "length {len}");
            assert_eq!(used, out.len());
        }
    }

    /// Byte i is XORed with mask byte i mod 4 (RFC 6455 §5.3), across block boundaries.
    #[test]
    fn the_mask_is_applied_as_the_rfc_defines_it() {
        let mask = [0x12, 0x34, 0x56, 0x78];
        for len in 0..100 {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
            let mut masked = data.clone();
            apply_mask(&mut masked, mask);
            let expected: Vec<u8> = data.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
            assert_eq!(masked, expected, "length {len}");
        }
    }

    #[test]
    fn headers_parse_only_when_whole() {
        let mut out = Vec::new();
        encode(&mut out, false, true, OP_TEXT, &[b'x'; 300]);
        for cut in 0..8 {
            assert_eq!(parse_header(&out[..cut]), Parsed::Incomplete, "{cut}");
        }
        let Parsed::Header(head, 8) = parse_header(&out) else { panic!() };
        assert_eq!((head.fin, head.rsv1, head.opcode, head.len), (false, true, OP_TEXT, 300));
        assert!(matches!(parse_header(&[0x83, 0]), Parsed::Invalid(_)), "reserved opcode");
    }
}
