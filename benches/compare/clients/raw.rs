//! raw tungstenite: blocking std sockets.

use std::net::{Shutdown, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use tungstenite::protocol::Role;
use tungstenite::{Message as TMessage, WebSocket};

use super::IO_TIMEOUT;
use crate::measure::{idle_period, latency_sample, many_blocking, Ctx, Sample};
use crate::sys::tasks;
use crate::Res;

/// Raw tungstenite's pipelining batch: `write` ×BATCH, `flush`, read the echoes.
const RAW_BATCH: usize = 100;

fn raw_connect(ctx: &Ctx) -> Res<WebSocket<TcpStream>> {
    let stream = TcpStream::connect_timeout(&ctx.ws_addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let (ws, _response) = tungstenite::client::client(ctx.url.as_str(), stream)
        .map_err(|e| format!("raw tungstenite handshake: {e}"))?;
    Ok(ws)
}

/// Reads until `count` binary echoes of `len` bytes arrived.
fn raw_expect(ws: &mut WebSocket<TcpStream>, count: usize, len: usize) -> Res<()> {
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
fn raw_close(ws: &mut WebSocket<TcpStream>) -> Res<()> {
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
    /// Writer on this thread, reader on another (for messages too big to batch).
    Split,
}

pub fn raw_pipelined(ctx: &Ctx, size: usize, n: usize, mode: RawMode) -> Res<Sample> {
    let mut ws = raw_connect(ctx)?;
    let payload = vec![0xa5u8; size];
    let usage = match mode {
        RawMode::Batch => {
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
            ctx.stop(p)
        }
        RawMode::Split => {
            let mut writer = WebSocket::from_raw_socket(ws.get_ref().try_clone()?, Role::Client, None);
            let p = ctx.start();
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
            ws = read?;
            usage
        }
    };
    raw_close(&mut ws)?;
    Ok(Sample { values: vec![], usage })
}

pub fn raw_round_trip(ctx: &Ctx, n: usize) -> Res<Sample> {
    let mut ws = raw_connect(ctx)?;
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
    let ws = raw_connect(ctx)?;
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

pub fn raw_many(ctx: &Ctx, n: usize) -> Res<Sample> {
    many_blocking(ctx, n, || raw_connect(ctx), raw_close)
}
