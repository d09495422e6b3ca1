//! wsthread's channel form (`WebSocketClient::channel`, default options: 64 events), through
//! its public API: what a program that blocks on the event receiver pays against the callback
//! form in `ws.rs`, on the same workloads.

use std::thread;
use std::time::Instant;

use crossbeam_channel::Receiver;
use wsthread::{Event, Message, WebSocketClient};

use super::{Endpoint, ROUND_TIMEOUT};
use crate::measure::{latency_sample, Ctx, Sample};
use crate::Res;

/// A connected channel-form client, its `Opened` event taken.
fn ch_connect(ep: &Endpoint) -> Res<(WebSocketClient, Receiver<Event>)> {
    let (client, events) = WebSocketClient::channel(ep.options()?)?;
    let handshake = client.connect(&[])?;
    ep.check_handshake(&handshake)?;
    match events.recv_deadline(Instant::now() + ROUND_TIMEOUT) {
        Ok(Event::Opened(_)) => Ok((client, events)),
        other => Err(format!("expected Opened first, got {other:?}").into()),
    }
}

/// Takes events until `target` binary echoes of `len` bytes have arrived.
fn ch_wait(events: &Receiver<Event>, len: usize, target: u64, deadline: Instant) -> Res<()> {
    let mut count = 0;
    while count < target {
        match events.recv_deadline(deadline) {
            Ok(Event::Message(Message::Binary(b))) if b.len() == len => count += 1,
            Ok(Event::Closed(info)) => return Err(format!("connection ended early: {info}").into()),
            Ok(Event::Message(other)) => return Err(format!("unexpected echo: {other:?}").into()),
            Ok(_) => {}
            Err(_) => return Err(format!("timed out waiting for echo {} of {target}", count + 1).into()),
        }
    }
    Ok(())
}

/// The caller's thread sends; another thread blocks on the receiver and counts the echoes
/// (the callback form counts them on the connection thread).
pub fn ch_pipelined(ctx: &Ctx, ep: &Endpoint, size: usize, n: usize) -> Res<Sample> {
    let (client, events) = ch_connect(ep)?;
    let payload = vec![0xa5u8; size];
    let deadline = Instant::now() + ROUND_TIMEOUT;
    // Started before the clock: it blocks on the receiver until the first echo.
    let counter = thread::spawn(move || ch_wait(&events, size, n as u64, deadline).map_err(|e| e.to_string()));
    let p = ctx.start();
    for _ in 0..n {
        client.send(payload.clone())?;
    }
    counter.join().map_err(|_| "the counting thread panicked")??;
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(Sample { values: vec![], usage })
}

/// Send 16 B, block on the receiver for its echo: HTTP.jl's `receive`, arsd's
/// `waitForNextMessage`.
pub fn ch_round_trip(ctx: &Ctx, ep: &Endpoint, n: usize) -> Res<Sample> {
    let (client, events) = ch_connect(ep)?;
    let payload = vec![0xa5u8; 16];
    let mut lat = Vec::with_capacity(n);
    let deadline = Instant::now() + ROUND_TIMEOUT;
    let p = ctx.start();
    for _ in 0..n {
        let t = Instant::now();
        client.send(payload.clone())?;
        ch_wait(&events, 16, 1, deadline)?;
        lat.push(t.elapsed());
    }
    let usage = ctx.stop(p);
    client.disconnect()?;
    Ok(latency_sample(lat, usage))
}
