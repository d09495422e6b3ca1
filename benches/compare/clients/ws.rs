//! wsthread, through its public API, over `ws://` or `wss://` (the endpoint's options).

use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver};
use wsthread::{Message, WebSocketClient};

use super::{Endpoint, ROUND_TIMEOUT};
use crate::measure::{fds_per_conn, idle_period, latency_sample, many_blocking, Ctx, Sample};
use crate::sys::tasks;
use crate::Res;

enum Event {
    /// So many echoes of the expected size so far.
    Count(u64),
    Bad(String),
    Ended,
}

/// A connected client whose callback counts binary echoes of `len` bytes and reports the
/// count every `every` messages.
fn ws_connect(ep: &Endpoint, len: usize, every: u64) -> Res<(WebSocketClient, Receiver<Event>)> {
    let (tx, rx) = unbounded();
    let mut count = 0u64;
    let client = WebSocketClient::new(
        move |msg: Option<Message>| match msg {
            Some(Message::Binary(b)) if b.len() == len => {
                count += 1;
                if count.is_multiple_of(every) {
                    let _ = tx.send(Event::Count(count));
                }
            }
            Some(other) => {
                let _ = tx.send(Event::Bad(format!("unexpected echo: {other:?}")));
            }
            None => {
                let _ = tx.send(Event::Ended);
            }
        },
        ep.options()?,
    )?;
    let handshake = client.connect(&[])?;
    ep.check_handshake(&handshake)?;
    Ok((client, rx))
}

/// Waits until the callback has counted `target` echoes.
fn ws_wait(rx: &Receiver<Event>, target: u64, deadline: Instant) -> Res<()> {
    loop {
        match rx.recv_deadline(deadline) {
            Ok(Event::Count(c)) if c >= target => return Ok(()),
            Ok(Event::Count(_)) => {}
            Ok(Event::Bad(why)) => return Err(why.into()),
            Ok(Event::Ended) => return Err("connection ended early".into()),
            Err(_) => return Err(format!("timed out waiting for echo {target}").into()),
        }
    }
}

pub fn ws_pipelined(ctx: &Ctx, ep: &Endpoint, size: usize, n: usize) -> Res<Sample> {
    let (client, rx) = ws_connect(ep, size, n as u64)?;
    let payload = vec![0xa5u8; size];
    let p = ctx.start();
    for _ in 0..n {
        client.send(payload.clone())?;
    }
    ws_wait(&rx, n as u64, Instant::now() + ROUND_TIMEOUT)?;
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(Sample { values: vec![], usage })
}

/// Pipelined with application flow control: at most `window` messages sent and not yet
/// echoed: kept beside `bulk` to show what the application's own window still adds, now
/// that wsthread's `send` waits once `send_queue_limit` (16 MiB) is queued, as raw
/// tungstenite's blocking write and tokio's `feed` hold their senders back.
pub fn ws_windowed(ctx: &Ctx, size: usize, n: usize, window: u64) -> Res<Sample> {
    let (client, rx) = ws_connect(&ctx.ws, size, 1)?;
    let payload = vec![0xa5u8; size];
    let p = ctx.start();
    let deadline = Instant::now() + ROUND_TIMEOUT;
    let mut echoed = 0u64;
    for sent in 0..n as u64 {
        while sent >= echoed + window {
            echoed += 1;
            ws_wait(&rx, echoed, deadline)?;
        }
        client.send(payload.clone())?;
    }
    ws_wait(&rx, n as u64, deadline)?;
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(Sample { values: vec![], usage })
}

pub fn ws_round_trip(ctx: &Ctx, ep: &Endpoint, n: usize) -> Res<Sample> {
    let (client, rx) = ws_connect(ep, 16, 1)?;
    let payload = vec![0xa5u8; 16];
    let mut lat = Vec::with_capacity(n);
    let deadline = Instant::now() + ROUND_TIMEOUT;
    let p = ctx.start();
    for i in 1..=n as u64 {
        let t = Instant::now();
        client.send(payload.clone())?;
        ws_wait(&rx, i, deadline)?;
        lat.push(t.elapsed());
    }
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(latency_sample(lat, usage))
}

/// The round trip as an event-driven program writes it: the callback that receives an echo
/// sends the next message (from the connection thread, through its `Handle`).
pub fn ws_round_trip_event(ctx: &Ctx, n: usize) -> Res<Sample> {
    let (tx, rx) = unbounded::<Result<Vec<Duration>, String>>();
    let payload = vec![0xa5u8; 16];
    let mut lat = Vec::with_capacity(n);
    let mut last: Option<Instant> = None;
    let reply = payload.clone();
    let client = WebSocketClient::with_handle(
        move |h: &wsthread::Handle, msg: Option<Message>| match msg {
            Some(Message::Binary(b)) if b.len() == 16 => {
                // The first echo only starts the clock: its send was timed by nobody.
                if let Some(t) = last {
                    lat.push(t.elapsed());
                }
                if lat.len() == n {
                    let _ = tx.send(Ok(std::mem::take(&mut lat)));
                    return;
                }
                last = Some(Instant::now());
                if let Err(e) = h.send(reply.as_slice()) {
                    let _ = tx.send(Err(format!("send from the callback failed: {e}")));
                }
            }
            Some(other) => drop(tx.send(Err(format!("unexpected echo: {other:?}")))),
            None => drop(tx.send(Err("connection ended early".to_owned()))),
        },
        ctx.ws.options()?,
    )?;
    client.connect(&[])?;
    let p = ctx.start();
    client.send(payload)?;
    let lat = match rx.recv_deadline(Instant::now() + ROUND_TIMEOUT) {
        Ok(Ok(lat)) => lat,
        Ok(Err(why)) => return Err(why.into()),
        Err(_) => return Err("timed out waiting for the event-driven round trips".into()),
    };
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(latency_sample(lat, usage))
}

pub fn ws_idle(ctx: &Ctx) -> Res<Sample> {
    let before = tasks();
    let (client, rx) = ws_connect(&ctx.ws, 0, 1)?;
    thread::sleep(Duration::from_millis(50));
    let sample = idle_period(ctx, before)?;
    if let Ok(ev) = rx.try_recv() {
        let why = match ev {
            Event::Ended => "idle wsthread connection ended".to_owned(),
            Event::Bad(why) => why,
            Event::Count(_) => "idle wsthread client received a message".to_owned(),
        };
        return Err(why.into());
    }
    client.disconnect()?;
    Ok(sample)
}

/// A `many` connection: a client that ignores what it receives.
fn ws_many_one(ctx: &Ctx) -> Res<WebSocketClient> {
    let client = WebSocketClient::new(|_: Option<Message>| {}, ctx.ws.options()?)?;
    client.connect(&[])?;
    Ok(client)
}

pub fn ws_many(ctx: &Ctx, n: usize) -> Res<Sample> {
    many_blocking(ctx, n, || ws_many_one(ctx), |client| Ok(client.disconnect()?))
}

/// The open files one more `ws_many` connection holds.
pub fn ws_many_fds(ctx: &Ctx) -> Res<Option<u64>> {
    fds_per_conn(|| ws_many_one(ctx))
}
