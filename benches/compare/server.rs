//! The echo server, in a child process: this binary re-executed with `--serve`, so that the
//! client process's RSS, threads and CPU are the client's alone. Three ports: WebSocket
//! echo, plain TCP byte echo, and the same WebSocket echo over TLS (rustls, the one suite of
//! `tls.rs`, the certificate handed over in `SERVER_PEM_VAR`).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::bounded;
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::tls::{server_config, SERVER_PEM_VAR};
use crate::Res;

/// Server threads: one per connection, cheap enough for the 10,000 of `many` (with the
/// bench's 10,000 wsthread threads, well inside pid_max 32,768 on the machine this was
/// written on; `many` checks the room left before it starts).
const SERVER_STACK: usize = 64 * 1024;
/// The server's read buffer per connection (zeroed lazily by the OS: untouched pages cost nothing).
const SERVER_BUF: usize = 256 * 1024;

pub struct Server {
    child: Child,
    /// Closing it tells the server to exit, should the kill below never come.
    _stdin: ChildStdin,
    pub ws_addr: SocketAddr,
    pub tcp_addr: SocketAddr,
    pub wss_addr: SocketAddr,
}

impl Server {
    /// Starts the child; `server_pem` is its certificate chain and key for the TLS port.
    pub fn spawn(server_pem: &str) -> Res<Server> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut child = Command::new(exe)
            .arg("--serve")
            // Not argv: the key would show in `ps`.
            .env(SERVER_PEM_VAR, server_pem)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the echo server process: {e}"))?;
        let stdin = child.stdin.take().expect("stdin was piped");
        let stdout = child.stdout.take().expect("stdout was piped");
        let (tx, rx) = bounded(1);
        thread::spawn(move || {
            let mut line = String::new();
            let r = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(r);
        });
        let line = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => {
                let _ = child.kill();
                return Err(format!("reading the server's ports: {e}").into());
            }
            Err(_) => {
                let _ = child.kill();
                return Err("the echo server did not print its ports within 10 s".into());
            }
        };
        let mut server = Server {
            child,
            _stdin: stdin,
            ws_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tcp_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            wss_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let ports: Vec<u16> = line.split_whitespace().skip(1).filter_map(|p| p.parse().ok()).collect();
        match (line.starts_with("PORTS "), ports.as_slice()) {
            (true, [ws, tcp, wss]) => {
                server.ws_addr.set_port(*ws);
                server.tcp_addr.set_port(*tcp);
                server.wss_addr.set_port(*wss);
                Ok(server)
            }
            _ => Err(format!("unexpected line from the echo server: {line:?}").into()),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn serve() -> Res<()> {
    let pem = std::env::var(SERVER_PEM_VAR).map_err(|e| format!("{SERVER_PEM_VAR}: {e}"))?;
    let config = server_config(&pem)?;
    let ws = TcpListener::bind("127.0.0.1:0")?;
    let tcp = TcpListener::bind("127.0.0.1:0")?;
    let wss = TcpListener::bind("127.0.0.1:0")?;
    {
        let mut out = io::stdout().lock();
        let port = |l: &TcpListener| l.local_addr().map(|a| a.port());
        writeln!(out, "PORTS {} {} {}", port(&ws)?, port(&tcp)?, port(&wss)?)?;
        out.flush()?;
    }
    // The bench holds our stdin: when it closes (the bench ended or died), so do we.
    thread::spawn(|| {
        let mut buf = [0u8; 64];
        let mut stdin = io::stdin();
        while let Ok(1..) = stdin.read(&mut buf) {}
        std::process::exit(0);
    });
    thread::spawn(move || accept_loop(tcp, serve_tcp));
    thread::spawn(move || accept_loop(wss, move |s| serve_wss(s, &config)));
    accept_loop(ws, |s| {
        s.set_nodelay(true)?;
        serve_ws(s)
    });
    Ok(())
}

fn accept_loop(listener: TcpListener, handler: impl Fn(TcpStream) -> io::Result<()> + Clone + Send + 'static) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let handler = handler.clone();
        let spawned = thread::Builder::new().stack_size(SERVER_STACK).spawn(move || {
            // Clients that drop without a close (reset; over TLS, without close_notify) are
            // no news; anything else is.
            if let Err(e) = handler(stream) {
                use io::ErrorKind::*;
                if !matches!(e.kind(), ConnectionReset | BrokenPipe | UnexpectedEof) {
                    eprintln!("compare --serve: connection: {e}");
                }
            }
        });
        if let Err(e) = spawned {
            eprintln!("compare --serve: cannot spawn a connection thread: {e}");
        }
    }
}

fn serve_tcp(mut s: TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; SERVER_BUF];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&buf[..n])?;
    }
}

fn bad(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_owned())
}

/// What the WebSocket echo runs over: TCP, or TLS over TCP.
trait EchoStream: Read + Write {
    /// Ends our direction after the Close echo: TCP's FIN (over TLS, close_notify first).
    fn finish(&mut self) -> io::Result<()>;
    /// The TCP socket underneath.
    fn tcp(&self) -> &TcpStream;
}

impl EchoStream for TcpStream {
    fn finish(&mut self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl EchoStream for StreamOwned<ServerConnection, TcpStream> {
    fn finish(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.flush()?;
        self.sock.shutdown(Shutdown::Write)
    }
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

/// The TLS port: the handshake happens on the first read, inside `serve_ws`, as rustls's
/// `StreamOwned` does it (blocking: the thread has nothing else to do).
fn serve_wss(s: TcpStream, config: &Arc<ServerConfig>) -> io::Result<()> {
    s.set_nodelay(true)?;
    let conn = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
    serve_ws(StreamOwned::new(conn, s))
}

fn serve_ws(mut s: impl EchoStream) -> io::Result<()> {
    let mut buf = vec![0u8; SERVER_BUF];
    let mut filled = 0;
    // The upgrade request: read up to the blank line.
    let head_end = loop {
        if filled == buf.len() {
            return Err(bad("request head too long"));
        }
        let n = s.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
        if let Some(p) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("request head not UTF-8"))?;
    let key = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-key"))
        .map(|(_, v)| v.trim())
        .ok_or_else(|| bad("no Sec-WebSocket-Key"))?;
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    s.write_all(answer.as_bytes())?;
    buf.copy_within(head_end..filled, 0);
    filled -= head_end;

    let mut echo = Echo::default();
    let mut out = Vec::with_capacity(SERVER_BUF + 1024);
    loop {
        let (used, closing) = echo.process(&buf[..filled], &mut out)?;
        buf.copy_within(used..filled, 0);
        filled -= used;
        // One write per read: everything this read completed goes out together.
        if !out.is_empty() {
            s.write_all(&out)?;
            out.clear();
        }
        if closing {
            s.finish()?;
            s.tcp().set_read_timeout(Some(Duration::from_secs(5)))?;
            while s.read(&mut buf)? > 0 {}
            return Ok(());
        }
        let n = s.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
    }
}

/// The server's frame echo: data frames are streamed (header first, then the payload
/// unmasked as it arrives), control frames are handled whole.
#[derive(Default)]
struct Echo {
    /// Payload bytes of the current data frame still to pass through.
    left: u64,
    mask: [u8; 4],
    /// Offset into the current payload, modulo 4.
    phase: usize,
}

impl Echo {
    /// Echoes what `data` completes into `out`; returns the bytes consumed (the rest is a
    /// partial header or control frame, to be offered again with more) and whether a Close
    /// was echoed.
    fn process(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> io::Result<(usize, bool)> {
        let total = data.len();
        loop {
            if self.left > 0 {
                let n = self.left.min(data.len() as u64) as usize;
                if n == 0 {
                    break;
                }
                let start = out.len();
                out.extend_from_slice(&data[..n]);
                unmask(&mut out[start..], self.mask, self.phase);
                self.phase = (self.phase + n) % 4;
                self.left -= n as u64;
                data = &data[n..];
                continue;
            }
            if data.len() < 2 {
                break;
            }
            let (b0, b1) = (data[0], data[1]);
            if b1 & 0x80 == 0 {
                return Err(bad("unmasked client frame"));
            }
            let (len, mut at) = match b1 & 0x7f {
                126 if data.len() >= 4 => (u16::from_be_bytes([data[2], data[3]]) as u64, 4),
                127 if data.len() >= 10 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&data[2..10]);
                    (u64::from_be_bytes(b), 10)
                }
                126 | 127 => break,
                l => (l as u64, 2),
            };
            if data.len() < at + 4 {
                break;
            }
            let mask = [data[at], data[at + 1], data[at + 2], data[at + 3]];
            at += 4;
            let opcode = b0 & 0x0f;
            if opcode >= 8 {
                if len > 125 {
                    return Err(bad("control frame over 125 bytes"));
                }
                let len = len as usize;
                if data.len() < at + len {
                    break;
                }
                let mut payload = data[at..at + len].to_vec();
                unmask(&mut payload, mask, 0);
                data = &data[at + len..];
                match opcode {
                    0x9 => push_frame(out, 0x8a, &payload),
                    0x8 => {
                        push_frame(out, 0x88, &payload);
                        return Ok((total - data.len(), true));
                    }
                    _ => {} // pong
                }
                continue;
            }
            out.push(b0);
            push_len(out, len);
            self.left = len;
            self.mask = mask;
            self.phase = 0;
            data = &data[at..];
        }
        Ok((total - data.len(), false))
    }
}

fn push_len(out: &mut Vec<u8>, len: u64) {
    if len < 126 {
        out.push(len as u8);
    } else if len <= 0xffff {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

fn push_frame(out: &mut Vec<u8>, b0: u8, payload: &[u8]) {
    out.push(b0);
    push_len(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// XORs `data` with the mask, `data[0]` being payload byte `phase` (mod 4). Eight bytes at a
/// time so the server keeps up with bulk transfers.
fn unmask(data: &mut [u8], mask: [u8; 4], phase: usize) {
    let key: [u8; 4] = std::array::from_fn(|i| mask[(phase + i) % 4]);
    let wide = u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]]);
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes(c.try_into().expect("chunks of 8")) ^ wide;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}
