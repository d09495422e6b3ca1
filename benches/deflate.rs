//! permessage-deflate's price and gain (issue 17): wsthread with and without compression, side
//! by side in one run, on a compressible JSON feed, on incompressible bytes and on small
//! messages.
//!
//! ```text
//! cargo bench --bench deflate                 # 7 rounds per workload
//! cargo bench --bench deflate -- --quick      # 2 rounds, fewer messages
//! ```
//!
//! The echo server is a thread of this process: it agrees to `permessage-deflate` (plain, so
//! 15-bit windows and context takeover both ways) when offered, and echoes every frame as it
//! came, RSV1 included, only unmasked. The compressed stream it sends back is then the very
//! stream the client compressed, which the client's inflater reads as it would a server's:
//! each message is compressed once and inflated once, on the client's side, which is what a
//! client pays against a real server. It counts the bytes it reads: the client's bytes on the
//! wire, headers and masks included.
//!
//! Each round sends N messages pipelined (as fast as `send` takes them) and waits for their N
//! echoes; rounds alternate between the variants, and the table shows medians over rounds,
//! as ratios to the plain variant of the same workload.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver};
use wsthread::{DeflateOptions, Message, Options, WebSocketClient};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// One workload: its name and N messages to cycle through.
struct Workload {
    name: &'static str,
    messages: Vec<Message>,
}

/// A client configuration compared.
#[derive(Clone, Copy)]
enum Variant {
    Plain,
    /// Deflate offered and agreed at zlib level `level`, messages under `min_size` bytes sent plain.
    Deflate { min_size: usize, level: u32 },
}

impl Variant {
    fn name(self) -> String {
        match self {
            Variant::Plain => "plain".into(),
            Variant::Deflate { min_size, level } => format!("deflate level {level}, min_size {min_size}"),
        }
    }
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    // `cargo test --benches` runs this without `--bench`: a smoke run.
    let smoke = !args.iter().any(|a| a == "--bench");
    let quick = args.iter().any(|a| a == "--quick");
    let (rounds, count) = match (smoke, quick) {
        (true, _) => (1, 200),
        (false, true) => (2, 5_000),
        (false, false) => (7, 20_000),
    };
    let server = EchoServer::start()?;
    let url = format!("ws://{}/", server.addr);
    let workloads = [
        Workload { name: "json 2 KiB", messages: json_feed(2048, 1000) },
        Workload { name: "random 1 KiB", messages: random(1024, 1000) },
        Workload { name: "json 256 B", messages: json_feed(256, 1000) },
        Workload { name: "json 64 B", messages: json_feed(64, 1000) },
        Workload { name: "json 32 B", messages: json_feed(32, 1000) },
        Workload { name: "json 16 B", messages: json_feed(16, 1000) },
        // Enough of them that none repeats within the 32 KiB window.
        Workload { name: "random 16 B", messages: random(16, count.max(4096)) },
    ];
    let default = DeflateOptions::default();
    let variants = [
        Variant::Plain,
        Variant::Deflate { min_size: 0, level: default.level },
        Variant::Deflate { min_size: 0, level: 2 },
        Variant::Deflate { min_size: 0, level: 6 },
        Variant::Deflate { min_size: default.min_size, level: default.level },
    ];
    println!("# wsthread permessage-deflate: {rounds} rounds × {count} messages pipelined; medians, ratios to plain");
    println!("| workload | variant | msg/s | ratio | wire bytes/msg | ratio |");
    println!("|---|---|---|---|---|---|");
    for w in &workloads {
        let mut rates = vec![Vec::new(); variants.len()];
        let mut wire = vec![Vec::new(); variants.len()];
        for round in 0..rounds {
            for i in 0..variants.len() {
                let v = (i + round) % variants.len();
                let (rate, bytes) = run(&url, &server, w, variants[v], count)?;
                rates[v].push(rate);
                wire[v].push(bytes);
            }
        }
        let base = (median(&mut rates[0].clone()), median(&mut wire[0].clone()));
        for (v, variant) in variants.iter().enumerate() {
            let (r, b) = (median(&mut rates[v]), median(&mut wire[v]));
            println!("| {} | {} | {:.0} | {:.2} | {:.1} | {:.3} |", w.name, variant.name(), r, r / base.0, b, b / base.1);
        }
    }
    memory(&url, if smoke { 10 } else { 200 })?;
    Ok(())
}

/// Resident memory per connection, plain and with deflate: `n` clients connected at once,
/// idle, then each having sent one 2 KiB message and had its echo (so both halves of the
/// codec ran).
fn memory(url: &str, n: usize) -> Res<()> {
    let message = json_feed(2048, 1).remove(0);
    let mut lines = Vec::new();
    for deflate in [false, true, false, true] {
        let before = rss();
        let mut clients = Vec::new();
        for _ in 0..n {
            let (tx, rx) = unbounded();
            let mut options = Options::new(url)?;
            if deflate {
                options = options.deflate(Some(DeflateOptions::default()));
            }
            let client = WebSocketClient::new(
                move |m: Option<Message>| {
                    let _ = tx.send(m.is_some());
                },
                options,
            )?;
            client.connect(&[])?;
            clients.push((client, rx));
        }
        let idle = rss();
        for (client, rx) in &clients {
            client.send(message.clone())?;
            wait(rx)?;
        }
        let used = rss();
        drop(clients);
        if let (Some(b), Some(i), Some(u)) = (before, idle, used) {
            let per = |x: u64| x.saturating_sub(b) as f64 / n as f64 / 1024.0;
            lines.push(format!(
                "# memory: {n} connections, {}: {:.0} KiB resident per connection idle, {:.0} KiB after one message each (client and server side)",
                if deflate { "deflate" } else { "plain" },
                per(i),
                per(u)
            ));
        }
    }
    // The echo server's threads and buffers are in the figures too, the same for both.
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// Resident memory of this process (Linux: /proc/self/statm; 4 KiB pages assumed).
fn rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    Some(statm.split_whitespace().nth(1)?.parse::<u64>().ok()? * 4096)
}

/// One round: `count` messages of `w` pipelined through a fresh connection. Returns msg/s
/// and the client's bytes on the wire per message.
fn run(url: &str, server: &EchoServer, w: &Workload, variant: Variant, count: usize) -> Res<(f64, f64)> {
    let (tx, rx) = unbounded();
    let mut echoed = 0usize;
    let mut options = Options::new(url)?;
    if let Variant::Deflate { min_size, level } = variant {
        options = options.deflate(Some(DeflateOptions::default().min_size(min_size).level(level)));
    }
    let client = WebSocketClient::new(
        move |m: Option<Message>| {
            if m.is_some() {
                echoed += 1;
                if echoed == count {
                    let _ = tx.send(true);
                }
            } else {
                let _ = tx.send(false);
            }
        },
        options,
    )?;
    let hs = client.connect(&[])?;
    assert_eq!(hs.deflate.is_some(), matches!(variant, Variant::Deflate { .. }), "{hs:?}");
    let before = server.read.load(Ordering::Relaxed);
    let start = Instant::now();
    for m in w.messages.iter().cycle().take(count) {
        client.send(m.clone())?;
    }
    wait(&rx)?;
    let secs = start.elapsed().as_secs_f64();
    let bytes = server.read.load(Ordering::Relaxed) - before;
    client.disconnect()?;
    Ok((count as f64 / secs, bytes as f64 / count as f64))
}

fn wait(rx: &Receiver<bool>) -> Res<()> {
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the connection ended early".into()),
        Err(e) => Err(format!("no echoes: {e}").into()),
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Market-data-like JSON text of `len` bytes each (cut short: only the length matters), `n` different ones: the same keys,
/// changing numbers (a feed's messages resemble each other, which context takeover uses).
fn json_feed(len: usize, n: usize) -> Vec<Message> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    (0..n)
        .map(|k| {
            if len <= 64 {
                // A trade: price and size change, keys stay.
                let mut s = format!(
                    r#"{{"p":{}.{:02},"q":{}.{:04},"s":"{}","t":{}}}"#,
                    60_000 + rng.next() % 500,
                    rng.next() % 100,
                    rng.next() % 10,
                    rng.next() % 10_000,
                    ["BTCUSDT", "ETHUSDT"][k % 2],
                    1_700_000_000_000u64 + k as u64 * 13
                );
                s.truncate(len);
                return Message::Text(s);
            }
            let mut s = format!(
                r#"{{"e":"depth","s":"{}","t":{},"u":{}"#,
                ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"][k % 4],
                1_700_000_000_000u64 + k as u64 * 13,
                rng.next() % 1_000_000
            );
            s.push_str(r#","b":["#);
            while s.len() + 40 < len {
                s.push_str(&format!(r#"["{}.{:02}","{}.{:04}"],"#, 60_000 + rng.next() % 500, rng.next() % 100, rng.next() % 10, rng.next() % 10_000));
            }
            s.push_str("[]]}");
            s.truncate(len.max(2));
            Message::Text(s)
        })
        .collect()
}

fn random(len: usize, n: usize) -> Vec<Message> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..n).map(|_| Message::Binary((0..len).map(|_| rng.next() as u8).collect())).collect()
}

/// xorshift64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The echo server: a thread per connection, frames echoed as they came, unmasked.
struct EchoServer {
    addr: std::net::SocketAddr,
    /// Bytes read from clients, upgrade requests included.
    read: Arc<AtomicU64>,
}

impl EchoServer {
    fn start() -> Res<EchoServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let read = Arc::new(AtomicU64::new(0));
        let counter = read.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counter = counter.clone();
                thread::spawn(move || {
                    let _ = echo(stream, &counter);
                });
            }
        });
        Ok(EchoServer { addr, read })
    }
}

/// Counts the bytes read through it.
struct Counted<'a> {
    inner: TcpStream,
    count: &'a AtomicU64,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn echo(stream: TcpStream, count: &AtomicU64) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut out = std::io::BufWriter::with_capacity(256 << 10, stream.try_clone()?);
    let mut input = BufReader::with_capacity(256 << 10, Counted { inner: stream, count });
    let mut key = String::new();
    let mut deflate = false;
    loop {
        let mut line = String::new();
        input.read_line(&mut line)?;
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("sec-websocket-key:") {
            key = line[line.len() - v.len()..].trim().to_owned();
        }
        deflate |= lower.starts_with("sec-websocket-extensions:") && lower.contains("permessage-deflate");
        if line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let ext = if deflate { "Sec-WebSocket-Extensions: permessage-deflate\r\n" } else { "" };
    write!(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{ext}\r\n")?;
    out.flush()?;
    let mut payload = Vec::new();
    loop {
        let mut head = [0u8; 2];
        input.read_exact(&mut head)?;
        let len = match head[1] & 0x7f {
            126 => {
                let mut b = [0u8; 2];
                input.read_exact(&mut b)?;
                u64::from(u16::from_be_bytes(b))
            }
            127 => {
                let mut b = [0u8; 8];
                input.read_exact(&mut b)?;
                u64::from_be_bytes(b)
            }
            n => u64::from(n),
        };
        let mut mask = [0u8; 4];
        input.read_exact(&mut mask)?;
        payload.resize(len as usize, 0);
        input.read_exact(&mut payload)?;
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= mask[i % 4];
        }
        out.write_all(&[head[0]])?;
        match len {
            0..=125 => out.write_all(&[len as u8])?,
            126..=0xffff => {
                out.write_all(&[126])?;
                out.write_all(&(len as u16).to_be_bytes())?;
            }
            _ => {
                out.write_all(&[127])?;
                out.write_all(&len.to_be_bytes())?;
            }
        }
        out.write_all(&payload)?;
        // Flush when nothing more is waiting to be read: a burst leaves in few writes.
        if input.buffer().is_empty() {
            out.flush()?;
        }
        if head[0] & 0x0f == 0x8 {
            out.flush()?;
            return Ok(());
        }
    }
}
