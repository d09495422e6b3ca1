//! raw tungstenite over TLS: a blocking `rustls::StreamOwned<ClientConnection, TcpStream>`
//! (ring provider), and its bulk transfer, which cannot split the socket over two threads.
//!
//! Over TCP the bulk writer and reader each have their own `WebSocket` on a `try_clone` of
//! the socket. Over TLS both directions live in one rustls state. A blocking writer and
//! reader would deadlock on it as soon as both directions' socket buffers fill (the writer
//! blocked in `write`, the echoes it waits on unread); sharing the `WebSocket` under a lock
//! needs socket timeouts to release it, and a socket timeout is rounded up to whole kernel
//! ticks (1 ms asked, 8 ms taken on the machine this was written on: rounds of that design
//! ran at 12 to 470 MiB/s). So the raw client does what tungstenite documents for
//! non-blocking use: one thread, the socket non-blocking, each `read`, `write` and `flush`
//! resumed after `WouldBlock`, and a poller (mio, already in wsthread's tree) to sleep in when
//! neither direction can move. No timer, no lock: the strongest baseline raw tungstenite has.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::Instant;

use rustls::{ClientConnection, StreamOwned};
use tungstenite::{Message as TMessage, WebSocket};

use super::raw::{raw_close, raw_tcp};
use super::{Endpoint, TlsClient, ROUND_TIMEOUT};
use crate::measure::{Ctx, Sample};
use crate::tls::{check_suite, server_name};
use crate::Res;

pub type TlsWs = WebSocket<StreamOwned<ClientConnection, TcpStream>>;

/// TCP, then the TLS handshake (so that its suite is checked and no timed part includes
/// it), then the WebSocket upgrade through the TLS stream.
pub fn raw_tls_connect(ep: &Endpoint, tls: &TlsClient) -> Res<TlsWs> {
    let conn = ClientConnection::new(tls.config.clone(), server_name())?;
    let mut stream = StreamOwned::new(conn, raw_tcp(ep)?);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).map_err(|e| format!("raw TLS handshake: {e}"))?;
    }
    check_suite("raw tungstenite", stream.conn.negotiated_cipher_suite())?;
    let (ws, _response) = tungstenite::client::client(ep.url.as_str(), stream)
        .map_err(|e| format!("raw tungstenite handshake over TLS: {e}"))?;
    Ok(ws)
}

/// `n` messages of `size` bytes, written and read on this thread: the socket non-blocking,
/// each direction driven until it would block, and mio's poller slept in when neither can
/// go on. One message at a time sits in tungstenite's and rustls's buffers; the socket
/// buffers and the server hold the rest in flight.
pub fn raw_tls_bulk(ctx: &Ctx, mut ws: TlsWs, size: usize, n: usize) -> Res<Sample> {
    // rustls's default limit on its outgoing buffer makes `StreamOwned::write` return Ok(0)
    // when the buffer is full and a read came in meanwhile, which tungstenite takes for a
    // reset connection (rustls issue 2556). Unlimited, it holds at most the one message
    // being flushed: the next is written only once it is out.
    ws.get_mut().conn.set_buffer_limit(None);
    ws.get_ref().sock.set_nonblocking(true)?;
    // The poller watches a clone of the socket: the same socket, so the same readiness.
    let mut watched = mio::net::TcpStream::from_std(ws.get_ref().sock.try_clone()?);
    let mut poll = mio::Poll::new()?;
    poll.registry().register(&mut watched, mio::Token(0), mio::Interest::READABLE | mio::Interest::WRITABLE)?;
    let mut events = mio::Events::with_capacity(4);
    let payload = vec![0xa5u8; size];
    let deadline = Instant::now() + ROUND_TIMEOUT;
    let p = ctx.start();
    let (mut sent, mut got) = (0, 0);
    // A message handed to tungstenite and not yet all on the wire.
    let mut queued = false;
    while got < n {
        if !queued && sent < n {
            // Queued even when it reports WouldBlock.
            if let Err(e) = ws.write(TMessage::binary(payload.clone())) {
                would_block(e, "raw TLS write")?;
            }
            sent += 1;
            queued = true;
        }
        if queued {
            match ws.flush() {
                // rustls may have answered Ok after reading instead of writing.
                Ok(()) => queued = ws.get_ref().conn.wants_write(),
                Err(e) => would_block(e, "raw TLS flush")?,
            }
        }
        loop {
            match ws.read() {
                Ok(TMessage::Binary(b)) if b.len() == size => got += 1,
                Ok(TMessage::Ping(_) | TMessage::Pong(_)) => {}
                Ok(other) => return Err(format!("unexpected echo: {other:?}").into()),
                Err(e) => {
                    would_block(e, "raw TLS read")?;
                    break;
                }
            }
        }
        // The poller is edge-triggered: sleep only once both directions have hit
        // WouldBlock (the writer is stuck or done, the reader drained the socket).
        if got < n && (queued || sent == n) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("raw TLS bulk: {got} of {n} echoes, {sent} sent, in time").into());
            }
            poll.poll(&mut events, Some(left))?;
        }
    }
    let usage = ctx.stop(p);
    poll.registry().deregister(&mut watched)?;
    drop(watched);
    let sock = &ws.get_ref().sock;
    sock.set_nonblocking(false)?;
    raw_close(&mut ws)?;
    Ok(Sample { values: vec![], usage })
}

/// Passes a WouldBlock (the direction can go no further now), fails on anything else.
fn would_block(e: tungstenite::Error, what: &str) -> Res<()> {
    match e {
        tungstenite::Error::Io(e) if e.kind() == ErrorKind::WouldBlock => Ok(()),
        e => Err(format!("{what}: {e}").into()),
    }
}
