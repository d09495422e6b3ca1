//! raw tungstenite: blocking std sockets, over TCP (`ws://`) or rustls's `StreamOwned`
//! (`wss://`, connected in `raw_tls.rs`); the workloads are written once for both.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use tungstenite::protocol::Role;
use tungstenite::{Message as TMessage, WebSocket};

use super::raw_tls::{raw_tls_bulk, raw_tls_connect};
use super::{Endpoint, IO_TIMEOUT};
use crate::measure::{fds_per_conn, idle_period, latency_sample, many_blocking, Ctx, Sample};
use crate::sys::tasks;
use crate::Res;

/// Raw tungstenite's pipelining batch: `write` ×BATCH, `flush`, read the echoes.
const RAW_BATCH: usize = 100;

/// A TCP connection to `ep` with the socket options every raw client uses: no Nagle, and
/// reads and writes bounded by IO_TIMEOUT.
pub fn raw_tcp(ep: &Endpoint) -> Res<TcpStream> {
    let stream = TcpStream::connect_timeout(&ep.addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

fn raw_connect(ep: &Endpoint) -> Res<WebSocket<TcpStream>> {
    let (ws, _response) = tungstenite::client::client(ep.url.as_str(), raw_tcp(ep)?)
        .map_err(|e| format!("raw tungstenite handshake: {e}"))?;
    Ok(ws)
}

/// Reads until `count` binary echoes of `len` bytes arrived.
pub fn raw_expect<S: Read + Write>(ws: &mut WebSocket<S>, count: usize, len: usize) -> Res<()> {
    let mut got = 0;
    while got < count {
        match ws.read()? {
            TMessage::Binary(b) if b.len() == len => got += 1,
            TMessage::Ping(_) | TMessage::Pong(_) => {}
            other => return Err(format!("unexpected echo: {other:?}").into()),
        }
    }
    Ok(())
}

/// Sends a Close and reads until the server's Close and the end of the stream.
pub fn raw_close<S: Read + Write>(ws: &mut WebSocket<S>) -> Res<()> {
    ws.close(None)?;
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) | Err(tungstenite::Error::AlreadyClosed) => return Ok(()),
            Err(e) => return Err(format!("raw tungstenite close: {e}").into()),
        }
    }
}

#[derive(Clone, Copy)]
pub enum RawMode {
    /// `write` ×RAW_BATCH, `flush`, read the batch's echoes: the blocking baseline.
    Batch,
    /// Writer on this thread, reader on another (for messages too big to batch). Over TLS,
    /// one `WebSocket` shared under a lock (`raw_tls_bulk`).
    Split,
}

pub fn raw_pipelined(ctx: &Ctx, ep: &Endpoint, size: usize, n: usize, mode: RawMode) -> Res<Sample> {
    match (&ep.tls, mode) {
        (None, RawMode::Batch) => raw_batch(ctx, raw_connect(ep)?, size, n),
        (Some(tls), RawMode::Batch) => raw_batch(ctx, raw_tls_connect(ep, tls)?, size, n),
        (None, RawMode::Split) => raw_split(ctx, raw_connect(ep)?, size, n),
        (Some(tls), RawMode::Split) => raw_tls_bulk(ctx, raw_tls_connect(ep, tls)?, size, n),
    }
}

fn raw_batch<S: Read + Write>(ctx: &Ctx, mut ws: WebSocket<S>, size: usize, n: usize) -> Res<Sample> {
    let payload = vec![0xa5u8; size];
    let p = ctx.start();
    let mut left = n;
    while left > 0 {
        let batch = left.min(RAW_BATCH);
        for _ in 0..batch {
            ws.write(TMessage::binary(payload.clone()))?;
        }
        ws.flush()?;
        raw_expect(&mut ws, batch, size)?;
        left -= batch;
    }
    let usage = ctx.stop(p);
    raw_close(&mut ws)?;
    Ok(Sample { values: vec![], usage })
}

/// The same socket split over two threads: a second `WebSocket` on a `try_clone` writes on
/// the caller's thread while the original reads on another.
fn raw_split(ctx: &Ctx, ws: WebSocket<TcpStream>, size: usize, n: usize) -> Res<Sample> {
    let payload = vec![0xa5u8; size];
    let mut writer = WebSocket::from_raw_socket(ws.get_ref().try_clone()?, Role::Client, None);
    let p = ctx.start();
    let mut ws = ws;
    let reader = thread::spawn(move || raw_expect(&mut ws, n, size).map(|()| ws));
    let written: Res<()> = (|| {
        for _ in 0..n {
            writer.write(TMessage::binary(payload.clone()))?;
        }
        writer.flush()?;
        Ok(())
    })();
    // The reader's socket reads time out, so this join is bounded.
    let read = reader.join().map_err(|_| "raw reader thread panicked")?;
    let usage = ctx.stop(p);
    written?;
    let mut ws = read?;
    raw_close(&mut ws)?;
    Ok(Sample { values: vec![], usage })
}

pub fn raw_round_trip(ctx: &Ctx, ep: &Endpoint, n: usize) -> Res<Sample> {
    match &ep.tls {
        None => round_trip(ctx, raw_connect(ep)?, n),
        Some(tls) => round_trip(ctx, raw_tls_connect(ep, tls)?, n),
    }
}

fn round_trip<S: Read + Write>(ctx: &Ctx, mut ws: WebSocket<S>, n: usize) -> Res<Sample> {
    let payload = vec![0xa5u8; 16];
    let mut lat = Vec::with_capacity(n);
    let p = ctx.start();
    for _ in 0..n {
        let t = Instant::now();
        ws.send(TMessage::binary(payload.clone()))?;
        raw_expect(&mut ws, 1, 16)?;
        lat.push(t.elapsed());
    }
    let usage = ctx.stop(p);
    raw_close(&mut ws)?;
    Ok(latency_sample(lat, usage))
}

pub fn raw_idle(ctx: &Ctx) -> Res<Sample> {
    let before = tasks();
    let ws = raw_connect(&ctx.ws)?;
    let stopper = ws.get_ref().try_clone()?;
    let (done_tx, done_rx) = bounded(1);
    let reader = thread::Builder::new().name("raw-reader".into()).spawn(move || {
        let mut ws = ws;
        let r = ws.read();
        let _ = done_tx.send(());
        r
    })?;
    thread::sleep(Duration::from_millis(50)); // the reader reaches its blocking read
    let sample = idle_period(ctx, before)?;
    stopper.shutdown(Shutdown::Both)?;
    done_rx
        .recv_timeout(IO_TIMEOUT)
        .map_err(|_| "raw reader thread did not end after shutdown")?;
    // An error is our shutdown ending the read, as intended; a message is not.
    if let Ok(m) = reader.join().map_err(|_| "raw reader thread panicked")? {
        return Err(format!("idle raw reader got a message: {m:?}").into());
    }
    Ok(sample)
}

/// Blocking sockets with nobody reading: what a raw tungstenite program that polls its
/// connections now and then holds. Idle, they cost nothing by construction.
pub fn raw_many(ctx: &Ctx, n: usize) -> Res<Sample> {
    many_blocking(ctx, n, || raw_connect(&ctx.ws), raw_close)
}

/// The open files one more `raw_many` connection holds.
pub fn raw_many_fds(ctx: &Ctx) -> Res<Option<u64>> {
    fds_per_conn(|| raw_connect(&ctx.ws))
}
