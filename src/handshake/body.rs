//! A refusal's body (RFC 9112 §6.3), read as it arrives: by length, by chunks, or to the end
//! of the connection, and never more than `MAX_BODY` of it.

use super::MAX_BODY;

/// A refusal's body, read as it arrives.
pub(crate) enum Body {
    /// 1xx, 204 and 304 answers have none.
    Empty,
    /// Content-Length (at most `MAX_BODY` of it is kept).
    Length(usize),
    Chunked(Chunked),
    /// Neither: the body runs to the end of the connection.
    UntilEof,
}

impl Body {
    /// The body, once `data` (every byte after the head so far, growing between calls)
    /// holds all of it; `None` to read more. Whatever the framing, at most `MAX_BODY` bytes
    /// are waited for: then the body is what arrived.
    pub(crate) fn complete(&mut self, data: &[u8], eof: bool) -> Option<Vec<u8>> {
        let full = eof || data.len() >= MAX_BODY;
        match self {
            Body::Empty => Some(Vec::new()),
            Body::Length(len) => (data.len() >= *len || eof).then(|| data[..(*len).min(data.len())].to_vec()),
            Body::Chunked(chunked) => match chunked.advance(data) {
                Chunks::Done => Some(std::mem::take(&mut chunked.body)),
                // Not chunked after all: the raw bytes say more than nothing.
                Chunks::Malformed => Some(data[..data.len().min(MAX_BODY)].to_vec()),
                Chunks::More if full => Some(std::mem::take(&mut chunked.body)),
                Chunks::More => None,
            },
            Body::UntilEof => full.then(|| data[..data.len().min(MAX_BODY)].to_vec()),
        }
    }
}

/// A chunked body (RFC 9112 §7.1) decoded as its bytes arrive: it remembers how far it got,
/// so a body that trickles in costs linear time, not a decode from the start per read.
#[derive(Default)]
pub(crate) struct Chunked {
    /// Bytes of the input used so far.
    at: usize,
    stage: ChunkStage,
    body: Vec<u8>,
}

#[derive(Default, Clone, Copy)]
enum ChunkStage {
    /// A chunk-size line (with extensions) is next.
    #[default]
    Size,
    /// This many bytes of chunk data, then its CRLF.
    Data(usize),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer fields after the last chunk, until an empty line.
    Trailer,
}

/// Where [`Chunked::advance`] stopped.
#[derive(Debug, PartialEq, Eq)]
enum Chunks {
    Done,
    More,
    Malformed,
}

/// The longest chunk-size or trailer line we wait for.
const MAX_LINE: usize = 4096;

impl Chunked {
    /// Goes on decoding `data`, every byte of the body so far (a longer copy of what the last
    /// call saw).
    fn advance(&mut self, data: &[u8]) -> Chunks {
        loop {
            let rest = &data[self.at.min(data.len())..];
            match self.stage {
                ChunkStage::Size | ChunkStage::Trailer => {
                    let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                        return if rest.len() > MAX_LINE { Chunks::Malformed } else { Chunks::More };
                    };
                    let line = &rest[..end];
                    self.at += end + 2;
                    if let ChunkStage::Trailer = self.stage {
                        if line.is_empty() {
                            return Chunks::Done;
                        }
                        continue;
                    }
                    let size = std::str::from_utf8(line)
                        .ok()
                        .and_then(|l| l.split(';').next())
                        .and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
                    self.stage = match size {
                        None => return Chunks::Malformed,
                        Some(0) => ChunkStage::Trailer,
                        Some(n) => ChunkStage::Data(n),
                    };
                }
                ChunkStage::Data(left) => {
                    if rest.is_empty() {
                        return Chunks::More;
                    }
                    let take = left.min(rest.len());
                    let room = MAX_BODY.saturating_sub(self.body.len());
                    self.body.extend_from_slice(&rest[..take.min(room)]);
                    self.at += take;
                    self.stage = if take == left { ChunkStage::DataEnd } else { ChunkStage::Data(left - take) };
                }
                ChunkStage::DataEnd => match rest.get(..2) {
                    None => return Chunks::More,
                    Some(b"\r\n") => {
                        self.at += 2;
                        self.stage = ChunkStage::Size;
                    }
                    Some(_) => return Chunks::Malformed,
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_head;

    #[test]
    fn refusal_bodies_are_framed() {
        let body = |head: &[u8]| parse_head(head).unwrap().unwrap().body();
        let mut b = body(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(b.complete(b"den", false), None);
        assert_eq!(b.complete(b"denied", false).unwrap(), b"denie");
        // A length that is not all digits frames nothing: the body runs to the end.
        let mut b = body(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: +5\r\n\r\n");
        assert_eq!(b.complete(b"denied", false), None);
        assert_eq!(b.complete(b"denied", true).unwrap(), b"denied");
        let mut b = body(b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(b.complete(b"3\r\nabc\r\n", false), None);
        assert_eq!(b.complete(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nX-T: 1\r\n\r\n", false).unwrap(), b"abcde");
        // Chunked only as the last coding; a chunk not followed by CRLF is not chunked.
        let mut b = body(b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
        assert_eq!(b.complete(b"3\r\nabc\r\n0\r\n\r\n", false), None);
        let mut b = body(b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(b.complete(b"3\r\nabcXY0\r\n\r\n", false).unwrap(), b"3\r\nabcXY0\r\n\r\n");
        let mut b = body(b"HTTP/1.1 404 Not Found\r\n\r\n");
        assert_eq!(b.complete(b"gone", false), None);
        assert_eq!(b.complete(b"gone", true).unwrap(), b"gone");
    }

    /// The same body whatever the pieces it arrives in (the decoder keeps its place between
    /// calls, so a trickle is not decoded from the start per read).
    #[test]
    fn chunked_bodies_decode_as_they_arrive() {
        let mut data = Vec::new();
        for i in 0..2000 {
            data.extend_from_slice(format!("{:x}\r\n", i % 7 + 1).as_bytes());
            data.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, i % 7 + 1));
            data.extend_from_slice(b"\r\n");
        }
        data.extend_from_slice(b"0\r\n\r\n");
        let head = parse_head(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap().unwrap();
        let whole = head.body().complete(&data, false).unwrap();
        for step in [1, 2, 3, 5, 64, 1000] {
            let mut b = head.body();
            let mut got = None;
            for end in (step..data.len() + step).step_by(step) {
                got = b.complete(&data[..end.min(data.len())], false);
                if got.is_some() {
                    assert_eq!(end.min(data.len()), data.len(), "done before the last chunk");
                    break;
                }
            }
            assert_eq!(got.as_ref(), Some(&whole), "step {step}");
        }
    }

    #[test]
    fn a_body_is_waited_for_up_to_max_body_whatever_its_framing() {
        let head = parse_head(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap().unwrap();
        // Endless trailer fields: the raw bytes stop counting at MAX_BODY.
        let mut data = b"1\r\nx\r\n0\r\n".to_vec();
        data.extend(b"X-Pad: y\r\n".repeat(MAX_BODY / 10 + 1));
        assert_eq!(head.body().complete(&data, false).unwrap(), b"x");
    }
}
