//! The server's side of a connection driven by hand: raw frames and bytes, for behaviour no
//! well-behaved server library would produce.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use super::{collector, expect_no_more, secs, Server};

pub const OP_CONT: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// A frame read from the client, unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

/// The server's side of a connection driven by hand, over TCP or anything else that reads
/// and writes (a TLS stream, a deliberately slow reader).
pub struct RawConn<S = TcpStream> {
    pub stream: S,
    /// Bytes read past what was consumed.
    buf: Vec<u8>,
}

impl<S: Read + Write> RawConn<S> {
    pub fn new(stream: S) -> RawConn<S> {
        RawConn { stream, buf: Vec::new() }
    }

    /// Reads the HTTP request head (up to the blank line) and returns it as text.
    pub fn read_request(&mut self) -> io::Result<String> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                return Ok(String::from_utf8_lossy(&head).into_owned());
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads the upgrade request and answers 101 with `extra_headers` (each a full
    /// `Name: value` line without CRLF). Returns the request head.
    pub fn accept(&mut self, extra_headers: &[&str]) -> io::Result<String> {
        self.accept_then(extra_headers, &[])
    }

    /// Like [`accept`](Self::accept), with `bytes` (frames) right behind the 101 answer, in the
    /// same write: they reach the client in the same packet as the handshake.
    pub fn accept_then(&mut self, extra_headers: &[&str], bytes: &[u8]) -> io::Result<String> {
        let request = self.read_request()?;
        let key = header_value(&request, "sec-websocket-key")
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Sec-WebSocket-Key"))?;
        let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
        let mut response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
        );
        for h in extra_headers {
            response.push_str(h);
            response.push_str("\r\n");
        }
        response.push_str("\r\n");
        let mut out = response.into_bytes();
        out.extend_from_slice(bytes);
        self.stream.write_all(&out)?;
        Ok(request)
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Writes one unmasked server frame.
    pub fn write_frame(&mut self, fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> io::Result<()> {
        self.stream.write_all(&frame(fin, rsv1, opcode, payload))
    }

    /// Writes a Close frame with `code` and `reason`.
    pub fn write_close(&mut self, code: u16, reason: &str) -> io::Result<()> {
        self.write_frame(true, false, OP_CLOSE, &close_payload(code, reason))
    }

    fn fill(&mut self, n: usize) -> io::Result<()> {
        while self.buf.len() < n {
            let mut chunk = [0u8; 8192];
            let got = self.stream.read(&mut chunk)?;
            if got == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..got]);
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        self.fill(n)?;
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads one frame from the client and unmasks its payload.
    pub fn read_frame(&mut self) -> io::Result<RawFrame> {
        self.read_frame_at_most(usize::MAX)
    }

    /// Like [`read_frame`](Self::read_frame), but fails (`InvalidData`) without reading the
    /// payload when the header announces more than `max_len` bytes: a corrupted stream cannot
    /// make the server wait for bytes that never come.
    pub fn read_frame_at_most(&mut self, max_len: usize) -> io::Result<RawFrame> {
        let h = self.take(2)?;
        let fin = h[0] & 0x80 != 0;
        let rsv = (h[0] >> 4) & 0x7;
        let opcode = h[0] & 0x0F;
        let masked = h[1] & 0x80 != 0;
        let len = match h[1] & 0x7F {
            126 => {
                let b = self.take(2)?;
                u16::from_be_bytes([b[0], b[1]]) as usize
            }
            127 => {
                let b = self.take(8)?;
                u64::from_be_bytes(b.try_into().unwrap()) as usize
            }
            n => n as usize,
        };
        if len > max_len {
            let head = format!("fin {fin}, rsv {rsv}, opcode {opcode}, masked {masked}");
            let why = format!("a frame of {len} bytes ({head}), more than the {max_len} expected");
            return Err(io::Error::new(io::ErrorKind::InvalidData, why));
        }
        let mask = if masked { Some(self.take(4)?) } else { None };
        let mut payload = self.take(len)?;
        if let Some(mask) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        Ok(RawFrame { fin, rsv, opcode, masked, payload })
    }

    /// Reads frames until the client's Close; returns its code (None when empty) and reason,
    /// and every frame skipped on the way.
    pub fn read_close(&mut self) -> io::Result<(Option<u16>, String, Vec<RawFrame>)> {
        let mut skipped = Vec::new();
        loop {
            let f = self.read_frame()?;
            if f.opcode == OP_CLOSE {
                if !f.masked {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "unmasked client Close"));
                }
                let (code, reason) = parse_close(&f.payload);
                return Ok((code, reason, skipped));
            }
            skipped.push(f);
        }
    }

    /// Reads until the client closes TCP (or the read fails).
    pub fn drain_until_eof(&mut self) {
        let mut chunk = [0u8; 4096];
        while matches!(self.stream.read(&mut chunk), Ok(n) if n > 0) {}
    }
}

/// The client's Close code and every frame it sent before it.
pub type Recorded = (Option<u16>, Vec<RawFrame>);

/// A raw server that records every frame the client sends up to its Close, answers the
/// Close with the same code, and reports the code and the frames before it (one connection).
pub fn recording_server() -> (Server, crossbeam_channel::Receiver<Recorded>) {
    let (tx, rx) = crossbeam_channel::bounded(1);
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        c.accept(&[]).unwrap();
        let (code, _, frames) = c.read_close().unwrap();
        c.write_close(code.unwrap_or(1000), "").unwrap();
        let _ = tx.send((code, frames));
    });
    (server, rx)
}

/// A raw server that answers 101 with `extra` headers, then waits for the client to go.
pub fn raw_101_server(extra: &'static [&'static str]) -> Server {
    Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if c.accept(extra).is_ok() {
            c.drain_until_eof();
        }
    })
}

/// Connects with `options` and expects the 101 answer to be refused with `Error::Handshake`,
/// leaving the client closed and the callback silent.
pub fn expect_handshake_error(options: wsthread::Options, what: &str) {
    let (callback, rx) = collector();
    let client = wsthread::WebSocketClient::new(callback, options.connect_timeout(secs(20))).unwrap();
    match client.connect(&[]) {
        Err(wsthread::Error::Handshake(why)) => eprintln!("{what}: refused as expected: {why}"),
        other => panic!("{what}: expected Error::Handshake, got {other:?}"),
    }
    assert_eq!(client.state(), wsthread::State::Closed);
    drop(client);
    expect_no_more(&rx);
}

/// An unmasked (server) frame.
pub fn frame(fin: bool, rsv1: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = frame_head(fin, rsv1, opcode, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

/// The header alone of an unmasked (server) frame announcing `len` payload bytes, in the
/// shortest form: for a frame whose payload a test sends only in part. Any `u64` goes, even
/// those RFC 6455 §5.2 forbids (most significant bit set).
pub fn frame_head(fin: bool, rsv1: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(14);
    out.push((u8::from(fin) << 7) | (u8::from(rsv1) << 6) | (opcode & 0x0F));
    match len {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
    out
}

/// A server Close frame with `code` and `reason`.
pub fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    frame(true, false, OP_CLOSE, &close_payload(code, reason))
}

pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

pub fn parse_close(payload: &[u8]) -> (Option<u16>, String) {
    if payload.len() < 2 {
        return (None, String::new());
    }
    (Some(u16::from_be_bytes([payload[0], payload[1]])), String::from_utf8_lossy(&payload[2..]).into_owned())
}

/// The value of header `name` (case-insensitive) in an HTTP head.
pub fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}
