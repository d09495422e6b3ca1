//! tokio-tungstenite on a current-thread runtime, over tokio's TCP (`ws://`) or tokio-rustls
//! (`wss://`, ring); the workloads are written once for both.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tungstenite::Message as TMessage;

use super::{Endpoint, TlsClient, IO_TIMEOUT, ROUND_TIMEOUT};
use crate::measure::{baseline, fds_per_conn, idle_end, idle_start, latency_sample, many_sample, resident, Ctx, QuietProbe, Sample};
use crate::sys::tasks;
use crate::tls::{check_suite, server_name};
use crate::{BoxError, Res};

type TokioWs<S = tokio::net::TcpStream> = tokio_tungstenite::WebSocketStream<S>;

/// What the workloads need of the stream under the WebSocket (the sender is a spawned task).
trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for S {}

async fn tokio_tcp(ep: &Endpoint) -> Res<tokio::net::TcpStream> {
    let tcp = tokio::time::timeout(IO_TIMEOUT, tokio::net::TcpStream::connect(ep.addr))
        .await
        .map_err(|_| "tokio TCP connect timed out")??;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

async fn upgrade<S: Io>(url: &str, stream: S) -> Res<TokioWs<S>> {
    let (ws, _response) = tokio::time::timeout(IO_TIMEOUT, tokio_tungstenite::client_async(url, stream))
        .await
        .map_err(|_| "tokio-tungstenite handshake timed out")??;
    Ok(ws)
}

async fn tokio_connect(ep: &Endpoint) -> Res<TokioWs> {
    upgrade(&ep.url, tokio_tcp(ep).await?).await
}

type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// TCP, the TLS handshake through tokio-rustls (its suite checked), then the upgrade.
async fn tokio_tls_connect(ep: &Endpoint, tls: &TlsClient) -> Res<TokioWs<TlsStream>> {
    let tcp = tokio_tcp(ep).await?;
    let stream = tokio::time::timeout(IO_TIMEOUT, TlsConnector::from(tls.config.clone()).connect(server_name(), tcp))
        .await
        .map_err(|_| "tokio-rustls handshake timed out")??;
    check_suite("tokio-tungstenite", stream.get_ref().1.negotiated_cipher_suite())?;
    upgrade(&ep.url, stream).await
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

pub fn tokio_pipelined(ctx: &Ctx, ep: &Endpoint, size: usize, n: usize) -> Res<Sample> {
    ctx.rt.block_on(async {
        match &ep.tls {
            None => pipelined(ctx, tokio_connect(ep).await?, size, n).await,
            Some(tls) => pipelined(ctx, tokio_tls_connect(ep, tls).await?, size, n).await,
        }
    })
}

async fn pipelined<S: Io>(ctx: &Ctx, ws: TokioWs<S>, size: usize, n: usize) -> Res<Sample> {
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
}

pub fn tokio_round_trip(ctx: &Ctx, ep: &Endpoint, n: usize) -> Res<Sample> {
    ctx.rt.block_on(async {
        match &ep.tls {
            None => round_trip(ctx, tokio_connect(ep).await?, n).await,
            Some(tls) => round_trip(ctx, tokio_tls_connect(ep, tls).await?, n).await,
        }
    })
}

async fn round_trip<S: Io>(ctx: &Ctx, mut ws: TokioWs<S>, n: usize) -> Res<Sample> {
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
}

pub fn tokio_idle(ctx: &Ctx) -> Res<Sample> {
    let before = tasks();
    ctx.rt.block_on(async {
        let ws = tokio_connect(&ctx.ws).await?;
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

/// The open files one more `tokio_many` connection holds.
pub fn tokio_many_fds(ctx: &Ctx) -> Res<Option<u64>> {
    fds_per_conn(|| ctx.rt.block_on(tokio_connect(&ctx.ws)))
}

pub fn tokio_many(ctx: &Ctx, n: usize) -> Res<Sample> {
    ctx.rt.block_on(async {
        let before = baseline();
        let p = ctx.start();
        let mut sinks = Vec::with_capacity(n);
        let mut readers = Vec::with_capacity(n);
        for _ in 0..n {
            let ws = tokio_connect(&ctx.ws).await?;
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
        // The runtime waits in its poller with every reader task parked, as an idle
        // application's would.
        let quiet = QuietProbe::start();
        tokio::time::sleep(ctx.plan.many_idle).await;
        let quiet = quiet.end();
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
        Ok(many_sample(n, connect, close, before, after, quiet, ctx.stop(p)))
    })
}
