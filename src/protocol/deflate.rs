//! permessage-deflate's codec (RFC 7692 §7.2): the message layer's extension for RSV1.
//!
//! The sending half compresses a message in pieces (a whole message is one piece) and ends
//! it with a sync flush whose trailing `00 00 ff ff` is removed (§7.2.1); the receiving half
//! puts those four bytes back after a message's last piece and inflates (§7.2.2). Without
//! context takeover, each side's state is reset after every message.
//!
//! Decompression is bomb-safe: output grows in bounded steps, never past the message limit
//! plus one byte, so a few KiB that would inflate to gigabytes cost about the limit and end
//! the connection with 1009.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use crate::close::CloseCode;
use crate::deflate::{DeflateOptions, DeflateParams};
use crate::protocol::{Decoder, Encoder, Violation};

/// The tail a sync flush ends with, removed by the sender and put back by the receiver.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// The inflated output grows by at most this much at a time beyond what it holds (it
/// doubles while small), so memory follows the output actually produced.
const STEP: usize = 256 * 1024;

/// The two halves of a negotiated permessage-deflate: the decoder for the connection
/// thread, the encoder for the outgoing queue.
pub(crate) fn codec(params: &DeflateParams, options: &DeflateOptions) -> (Box<dyn Decoder>, Box<dyn Encoder>) {
    (Box::new(Inflater::new(params)), Box::new(Deflater::new(params, options)))
}

/// Compresses outgoing messages.
pub(crate) struct Deflater {
    /// Made with the first message compressed: zlib's compression state is most of the
    /// extension's memory (about 256 KiB at 15 bits), which a client that only listens
    /// never needs.
    compress: Option<Compress>,
    level: Compression,
    window_bits: u8,
    /// No context takeover: a fresh state for every message.
    reset_each: bool,
    /// Messages shorter than this are sent as they are.
    min_size: usize,
    /// Bytes of the current message fed to `compress` so far.
    fed: usize,
}

impl Deflater {
    pub(crate) fn new(params: &DeflateParams, options: &DeflateOptions) -> Deflater {
        // zlib refuses a raw window of 8; with 9 its matches never reach back more than
        // 2^9 - 262 = 250 bytes, inside the 256 a negotiated 8 allows (RFC 7692 §7.1.2.2).
        Deflater {
            compress: None,
            level: Compression::new(options.level.min(9)),
            window_bits: params.client_max_window_bits.clamp(9, 15),
            reset_each: params.client_no_context_takeover,
            min_size: options.min_size,
            fed: 0,
        }
    }
}

impl Encoder for Deflater {
    fn begin(&mut self, len: Option<usize>) -> bool {
        self.fed = 0;
        len.is_none_or(|len| len >= self.min_size)
    }

    fn encode(&mut self, input: &[u8], last: bool, out: &mut Vec<u8>) {
        self.fed += input.len();
        if last && self.fed == 0 {
            // An empty message: zlib has nothing to flush after a flush (it would emit
            // nothing), so write the empty stored block RFC 7692 §7.2.3.6 shows, tail removed.
            out.push(0x00);
            return;
        }
        let (level, bits) = (self.level, self.window_bits);
        let compress = self.compress.get_or_insert_with(|| Compress::new_with_window_bits(level, false, bits));
        let flush = if last { FlushCompress::Sync } else { FlushCompress::None };
        let start = out.len();
        let mut input = input;
        loop {
            out.reserve(input.len() / 2 + 64);
            let before = (compress.total_in(), compress.total_out());
            // Errors are for misuse of the stream (a bad flush sequence), which this
            // loop does not do: stop rather than spin.
            let status = compress.compress_vec(input, out, flush);
            let used = (compress.total_in() - before.0) as usize;
            let made = compress.total_out() - before.1;
            input = &input[used..];
            // Done once the input is in and the output was not filled up (zlib has no more).
            let done = input.is_empty() && out.len() < out.capacity();
            if done || status.is_err() || matches!(status, Ok(Status::BufError)) || (used == 0 && made == 0) {
                break;
            }
        }
        if last {
            // A sync flush ends with an empty stored block: its 00 00 ff ff goes (§7.2.1).
            if out[start..].ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if self.reset_each {
                compress.reset();
            }
        }
    }
}

/// Inflates incoming messages.
pub(crate) struct Inflater {
    decompress: Decompress,
    /// The server compresses each message on its own: our state is reset after each.
    reset_each: bool,
}

impl Inflater {
    pub(crate) fn new(params: &DeflateParams) -> Inflater {
        // Always a 15-bit window: it reads any smaller one, and an 8 is no zlib window.
        Inflater { decompress: Decompress::new(false), reset_each: params.server_no_context_takeover }
    }

    /// Inflates all of `input` into `out`, never letting `out` pass `limit` by more than
    /// a byte (which is how going over is noticed).
    fn inflate(&mut self, mut input: &[u8], out: &mut Vec<u8>, limit: Option<usize>) -> Result<(), Violation> {
        loop {
            let cap = limit.map_or(usize::MAX, |l| l.saturating_add(1));
            if out.len() == out.capacity() {
                // Grow geometrically while small, then in steps; never past the limit + 1.
                let step = out.len().clamp(1024, STEP).min(cap.saturating_sub(out.len()));
                out.reserve_exact(step.max(1));
            }
            let before = (self.decompress.total_in(), self.decompress.total_out());
            let status = self
                .decompress
                .decompress_vec(input, out, FlushDecompress::None)
                .map_err(|e| Violation::new(CloseCode::INVALID_PAYLOAD, format!("corrupt compressed message: {e}")))?;
            let used = (self.decompress.total_in() - before.0) as usize;
            let made = self.decompress.total_out() - before.1;
            input = &input[used..];
            if let Some(max) = limit {
                if out.len() > max {
                    return Err(Violation::new(
                        CloseCode::MESSAGE_TOO_BIG,
                        format!("compressed message inflates to over the limit of {max} bytes"),
                    ));
                }
            }
            if status == Status::StreamEnd {
                // A final block (BFINAL) ended the stream: what follows starts a new one.
                self.decompress.reset(false);
            }
            // Done once the input is in and the output was not filled up (nothing pending).
            if input.is_empty() && out.len() < out.capacity() {
                return Ok(());
            }
            if used == 0 && made == 0 && status != Status::StreamEnd {
                if input.is_empty() {
                    return Ok(());
                }
                return Err(Violation::new(CloseCode::INVALID_PAYLOAD, "corrupt compressed message: no progress"));
            }
        }
    }
}

impl Decoder for Inflater {
    fn decode(&mut self, input: &[u8], last: bool, out: &mut Vec<u8>, limit: Option<usize>) -> Result<(), Violation> {
        self.inflate(input, out, limit)?;
        if last {
            self.inflate(&TAIL, out, limit)?;
            if self.reset_each {
                self.decompress.reset(false);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
