//! tokio-tungstenite on a current-thread runtime.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tungstenite::Message as TMessage;

use super::{IO_TIMEOUT, ROUND_TIMEOUT};
use crate::measure::{baseline, idle_end, idle_start, latency_sample, many_sample, resident, Ctx, Sample};
use crate::sys::tasks;
use crate::{BoxError, Res};

type TokioWs = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn tokio_connect(ctx_addr: SocketAddr, url: &str) -> Res<TokioWs> {
    let tcp = tokio::time::timeout(IO_TIMEOUT, tokio::net::TcpStream::connect(ctx_addr))
        .await
        .map_err(|_| "tokio TCP connect timed out")??;
    tcp.set_nodelay(true)?;
    let (ws, _response) = tokio::time::timeout(IO_TIMEOUT, tokio_tungstenite::client_async(url, tcp))
        .await
        .map_err(|_| "tokio-tungstenite handshake timed out")??;
    Ok(ws)
}

/// Checks one item of the stream: a binary echo of `len` bytes (true), a control frame (false).
fn tokio_check(item: Option<Result<TMessage, tungstenite::Error>>, len: usize) -> Res<bool> {
    match item {
        Some(Ok(TMessage::Binary(b))) if b.len() == len => Ok(true),
        Some(Ok(TMessage::Ping(_) | TMessage::Pong(_))) => Ok(false),
        Some(Ok(other)) => Err(format!("unexpected echo: {other:?}").into()),
        Some(Err(e)) => Err(format!("tokio-tungstenite read: {e}").into()),
        None => Err("tokio-tungstenite stream ended early".into()),
    }
}

/// Sends a Close and reads until the stream ends, within IO_TIMEOUT.
async fn tokio_close<S>(mut ws: S) -> Res<()>
where
    S: futures_util::Sink<TMessage, Error = tungstenite::Error>
        + futures_util::Stream<Item = Result<TMessage, tungstenite::Error>>
        + Unpin,
{
    tokio::time::timeout(IO_TIMEOUT, async {
        ws.close().await?;
        while let Some(item) = ws.next().await {
            match item {
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
                Err(e) => return Err(BoxError::from(format!("tokio-tungstenite close: {e}"))),
            }
        }
        Ok(())
    })
    .await
    .map_err(|_| "tokio-tungstenite close timed out")?
}

pub fn tokio_pipelined(ctx: &Ctx, size: usize, n: usize) -> Res<Sample> {
    ctx.rt.block_on(async {
        let ws = tokio_connect(ctx.ws_addr, &ctx.url).await?;
        let (mut sink, mut stream) = ws.split();
        let payload = vec![0xa5u8; size];
        let p = ctx.start();
        let sender = tokio::spawn(async move {
            for _ in 0..n {
                sink.feed(TMessage::binary(payload.clone())).await?;
            }
            sink.flush().await?;
            Ok::<_, tungstenite::Error>(sink)
        });
        tokio::time::timeout(ROUND_TIMEOUT, async {
            let mut got = 0;
            while got < n {
                if tokio_check(stream.next().await, size)? {
                    got += 1;
                }
            }
            Ok::<_, BoxError>(())
        })
        .await
        .map_err(|_| "timed out waiting for echoes")??;
        let sink = tokio::time::timeout(IO_TIMEOUT, sender)
            .await
            .map_err(|_| "sender task did not finish")?
            .map_err(|e| format!("sender task: {e}"))??;
        let usage = ctx.stop(p);
        let ws = sink.reunite(stream).map_err(|_| "reunite: halves of different streams")?;
        tokio_close(ws).await?;
        Ok(Sample { values: vec![], usage })
    })
}

pub fn tokio_round_trip(ctx: &Ctx, n: usize) -> Res<Sample> {
    ctx.rt.block_on(async {
        let mut ws = tokio_connect(ctx.ws_addr, &ctx.url).await?;
        let payload = vec![0xa5u8; 16];
        let mut lat = Vec::with_capacity(n);
        let p = ctx.start();
        tokio::time::timeout(ROUND_TIMEOUT, async {
            for _ in 0..n {
                let t = Instant::now();
                ws.send(TMessage::binary(payload.clone())).await?;
                while !tokio_check(ws.next().await, 16)? {}
                lat.push(t.elapsed());
            }
            Ok::<_, BoxError>(())
        })
        .await
        .map_err(|_| "round trips timed out")??;
        let usage = ctx.stop(p);
        tokio_close(ws).await?;
        Ok(latency_sample(lat, usage))
    })
}

pub fn tokio_idle(ctx: &Ctx) -> Res<Sample> {
    let before = tasks();
    ctx.rt.block_on(async {
        let ws = tokio_connect(ctx.ws_addr, &ctx.url).await?;
        let (mut sink, mut stream) = ws.split();
        // The connection's reader, as an application would have it: a task waiting on next().
        let reader = tokio::spawn(async move {
            let first = stream.next().await;
            (first, stream)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let p = idle_start(ctx, before);
        tokio::time::sleep(ctx.plan.idle).await;
        let sample = idle_end(ctx, p)?;
        tokio::time::timeout(IO_TIMEOUT, sink.send(TMessage::Close(None)))
            .await
            .map_err(|_| "sending the Close timed out")??;
        let (first, stream) = tokio::time::timeout(IO_TIMEOUT, reader)
            .await
            .map_err(|_| "reader task did not see the Close")?
            .map_err(|e| format!("reader task: {e}"))?;
        match first {
            Some(Ok(TMessage::Close(_))) => {}
            other => return Err(format!("idle tokio reader got {other:?} instead of the Close").into()),
        }
        // Let the stream see the end of TCP after the Close exchange.
        let ws = sink.reunite(stream).map_err(|_| "reunite: halves of different streams")?;
        let mut ws = ws;
        tokio::time::timeout(IO_TIMEOUT, async { while ws.next().await.is_some() {} })
            .await
            .map_err(|_| "tokio-tungstenite close timed out")?;
        Ok(sample)
    })
}

pub fn tokio_many(ctx: &Ctx, n: usize) -> Res<Sample> {
    ctx.rt.block_on(async {
        let before = baseline();
        let p = ctx.start();
        let mut sinks = Vec::with_capacity(n);
        let mut readers = Vec::with_capacity(n);
        for _ in 0..n {
            let ws = tokio_connect(ctx.ws_addr, &ctx.url).await?;
            let (sink, mut stream) = ws.split();
            sinks.push(sink);
            readers.push(tokio::spawn(async move {
                while let Some(item) = stream.next().await {
                    if item.is_err() {
                        break;
                    }
                }
            }));
        }
        let connect = p.wall.elapsed();
        tokio::task::yield_now().await; // every reader task has polled its stream once
        let after = resident();
        let t = Instant::now();
        tokio::time::timeout(IO_TIMEOUT, async {
            for sink in &mut sinks {
                sink.close().await?;
            }
            for r in readers {
                r.await.map_err(|e| format!("reader task: {e}"))?;
            }
            Ok::<_, BoxError>(())
        })
        .await
        .map_err(|_| "closing the connections timed out")??;
        drop(sinks);
        let close = t.elapsed();
        Ok(many_sample(n, connect, close, before, after, ctx.stop(p)))
    })
}
