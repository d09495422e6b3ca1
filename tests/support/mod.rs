//! Shared helpers for the integration tests: local servers on 127.0.0.1:0 that stop when
//! their guard is dropped, a collector that turns the client's callback into a channel, raw
//! WebSocket frame helpers for hand-made server bytes, and a test PKI for wss.
//!
//! Every wait here has a timeout: a bug fails the test instead of hanging it.

#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use wsthread::Message;

pub use tungstenite::Message as WsMessage;

pub mod dated_certs;

/// `n` seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// `ws://` URL for a local server.
pub fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// `wss://` URL for a local server.
pub fn wss_url(addr: SocketAddr, path: &str) -> String {
    format!("wss://{addr}{path}")
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

/// A server on 127.0.0.1:0 running on its own thread(s). Dropping it stops accepting, shuts
/// down every connection it accepted (which unblocks handlers stuck in a read), and joins
/// every thread it started.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// A clone of each accepted stream, by connection index, until its handler returns.
    conns: Conns,
    handlers: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Option<JoinHandle<()>>,
}

type Conns = Arc<Mutex<Vec<Option<TcpStream>>>>;

/// Ends a connection whose handler has returned: the guard's clone would otherwise keep the
/// socket open after the handler dropped its stream.
fn release(conns: &Conns, n: usize) {
    if let Some(s) = conns.lock().unwrap().get_mut(n).and_then(Option::take) {
        let _ = s.shutdown(Shutdown::Both);
    }
}

impl Server {
    /// Each accepted connection is handled on a thread of its own; `handler` gets the stream
    /// and the connection's index (0, 1, …).
    pub fn threaded<F>(handler: F) -> Server
    where
        F: Fn(TcpStream, usize) + Send + Sync + 'static,
    {
        let handler = Arc::new(handler);
        Self::start(move |stream, n, conns: &Conns, handlers: &Mutex<Vec<JoinHandle<()>>>| {
            let handler = handler.clone();
            let conns = conns.clone();
            let t = thread::Builder::new()
                .name(format!("test-server-conn-{n}"))
                .spawn(move || {
                    handler(stream, n);
                    release(&conns, n);
                })
                .expect("spawn server connection thread");
            handlers.lock().unwrap().push(t);
        })
    }

    /// Connections are handled one after the other on the accepting thread itself: the
    /// server uses exactly one thread, whatever the clients do.
    pub fn sequential<F>(mut handler: F) -> Server
    where
        F: FnMut(TcpStream, usize) + Send + 'static,
    {
        Self::start(move |stream, n, conns: &Conns, _: &Mutex<Vec<JoinHandle<()>>>| {
            handler(stream, n);
            release(conns, n);
        })
    }

    fn start<F>(mut on_accept: F) -> Server
    where
        F: FnMut(TcpStream, usize, &Conns, &Mutex<Vec<JoinHandle<()>>>) + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Conns = Arc::default();
        let handlers: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = {
            let (stop, conns, handlers) = (stop.clone(), conns.clone(), handlers.clone());
            thread::Builder::new()
                .name("test-server-accept".into())
                .spawn(move || {
                    let mut n = 0;
                    for stream in listener.incoming() {
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        // Nagle on the server against the client's delayed ACK costs 40 ms
                        // per TLS upgrade (tickets, then the 101); real servers turn it off.
                        let _ = stream.set_nodelay(true);
                        // A safety net only: the guard's shutdown is what ends handlers.
                        let _ = stream.set_read_timeout(Some(secs(30)));
                        let _ = stream.set_write_timeout(Some(secs(30)));
                        conns.lock().unwrap().push(stream.try_clone().ok());
                        on_accept(stream, n, &conns, &handlers);
                        n += 1;
                    }
                })
                .expect("spawn accept thread")
        };
        Server { addr, stop, conns, handlers, accept: Some(accept) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn ws_url(&self, path: &str) -> String {
        ws_url(self.addr, path)
    }

    pub fn wss_url(&self, path: &str) -> String {
        wss_url(self.addr, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Shut down first: a sequential handler blocks the accept loop until its read fails.
        for c in self.conns.lock().unwrap().iter().flatten() {
            let _ = c.shutdown(Shutdown::Both);
        }
        // Wake the accept loop so that it sees the stop flag.
        let _ = TcpStream::connect_timeout(&self.addr, secs(5));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for c in self.conns.lock().unwrap().iter().flatten() {
            let _ = c.shutdown(Shutdown::Both);
        }
        let handlers: Vec<_> = self.handlers.lock().unwrap().drain(..).collect();
        for t in handlers {
            let _ = t.join();
        }
    }
}

/// What a test server saw from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The client's Close frame: its code (None when it had none) and reason.
    Close { conn: usize, code: Option<u16>, reason: String },
    /// A pong and its payload.
    Pong { conn: usize, payload: Vec<u8> },
    /// The connection ended (the server dropped it).
    End { conn: usize },
}

/// Serves an accepted WebSocket: echoes text and binary, reports Close frames and pongs,
/// completes the close handshake (tungstenite answers the Close), then drops the stream.
pub fn echo_loop<S: Read + Write>(mut ws: tungstenite::WebSocket<S>, conn: usize, seen: &Sender<Seen>) {
    loop {
        match ws.read() {
            Ok(m @ (WsMessage::Text(_) | WsMessage::Binary(_))) => {
                if ws.send(m).is_err() {
                    break;
                }
            }
            Ok(WsMessage::Close(frame)) => {
                let (code, reason) = match frame {
                    Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
                    None => (None, String::new()),
                };
                let _ = seen.send(Seen::Close { conn, code, reason });
            }
            Ok(WsMessage::Pong(p)) => {
                let _ = seen.send(Seen::Pong { conn, payload: p.to_vec() });
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = seen.send(Seen::End { conn });
}

/// Accepts a WebSocket upgrade, letting `inspect` look at the request and add to the 101
/// response (tungstenite's callback, whose error type is dictated by tungstenite).
#[allow(clippy::result_large_err)]
pub fn accept_inspecting<S: Read + Write>(
    stream: S,
    inspect: impl FnOnce(&tungstenite::handshake::server::Request, &mut tungstenite::handshake::server::Response),
) -> Option<tungstenite::WebSocket<S>> {
    tungstenite::accept_hdr(stream, |req: &tungstenite::handshake::server::Request, mut resp| {
        inspect(req, &mut resp);
        Ok(resp)
    })
    .ok()
}

/// A plain `ws://` echo server, one thread per connection.
pub fn echo_server() -> (Server, Receiver<Seen>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, conn| {
        if let Ok(ws) = tungstenite::accept(stream) {
            echo_loop(ws, conn, &tx);
        }
    });
    (server, rx)
}

/// Waits for the next Close the server saw, skipping other events.
pub fn wait_close(seen: &Receiver<Seen>) -> (usize, Option<u16>, String) {
    loop {
        match seen.recv_timeout(WAIT) {
            Ok(Seen::Close { conn, code, reason }) => return (conn, code, reason),
            Ok(_) => {}
            Err(e) => panic!("the server saw no Close frame: {e:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Collector: the client's callback as a channel
// ---------------------------------------------------------------------------------------------

pub type Events = Receiver<Option<Message>>;

/// A callback that forwards everything it gets into a channel.
pub fn collector() -> (impl FnMut(Option<Message>) + Send + 'static, Events) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (move |m: Option<Message>| drop(tx.send(m)), rx)
}

/// The next message; fails on the end of the connection or after `WAIT`.
pub fn next_message(rx: &Events) -> Message {
    match rx.recv_timeout(WAIT) {
        Ok(Some(m)) => m,
        Ok(None) => panic!("expected a message, the connection ended"),
        Err(e) => panic!("expected a message: {e:?}"),
    }
}

/// The next event must be the end of the connection (`None`).
pub fn expect_end(rx: &Events) {
    match rx.recv_timeout(WAIT) {
        Ok(None) => {}
        Ok(Some(m)) => panic!("expected the end of the connection, got {m:?}"),
        Err(e) => panic!("expected the end of the connection: {e:?}"),
    }
}

/// Once the client is dropped, its callback is gone: the channel must be empty and closed.
/// Proves that nothing (a second `None`, a late message) came after what was already read.
pub fn expect_no_more(rx: &Events) {
    match rx.recv_timeout(WAIT) {
        Err(RecvTimeoutError::Disconnected) => {}
        Ok(m) => panic!("nothing more was expected, got {m:?}"),
        Err(RecvTimeoutError::Timeout) => panic!("the callback is still alive after the client was dropped"),
    }
}

// ---------------------------------------------------------------------------------------------
// Raw WebSocket server side: hand-made bytes
// ---------------------------------------------------------------------------------------------

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

/// The server's side of a connection driven by hand.
pub struct RawConn {
    pub stream: TcpStream,
    /// Bytes read past what was consumed.
    buf: Vec<u8>,
}

impl RawConn {
    pub fn new(stream: TcpStream) -> RawConn {
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
        self.stream.write_all(response.as_bytes())?;
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
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push((u8::from(fin) << 7) | (u8::from(rsv1) << 6) | (opcode & 0x0F));
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= 0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
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

// ---------------------------------------------------------------------------------------------
// Process threads
// ---------------------------------------------------------------------------------------------

/// The number of threads of this process, where the OS tells it (Linux: /proc/self/task).
pub fn thread_count() -> Option<usize> {
    if cfg!(target_os = "linux") {
        std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// TLS: a test PKI and wss servers
// ---------------------------------------------------------------------------------------------

pub mod tls {
    use std::net::TcpStream;
    use std::sync::Arc;

    use crossbeam_channel::{Receiver, Sender};
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{ServerConfig, ServerConnection, StreamOwned};

    use super::{echo_loop, Seen, Server};

    /// A certificate authority made at test time.
    pub struct TestCa {
        issuer: Issuer<'static, KeyPair>,
        pem: String,
        der: CertificateDer<'static>,
    }

    /// A server certificate chain and its key.
    pub struct ServerCert {
        pub chain: Vec<CertificateDer<'static>>,
        pub key: PrivateKeyDer<'static>,
    }

    impl TestCa {
        pub fn new(name: &str) -> TestCa {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages =
                vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
            let key = KeyPair::generate().unwrap();
            let cert = params.self_signed(&key).unwrap();
            TestCa { pem: cert.pem(), der: cert.der().clone(), issuer: Issuer::new(params, key) }
        }

        /// The CA certificate, PEM.
        pub fn pem(&self) -> String {
            self.pem.clone()
        }

        /// A server certificate for `names` (DNS names or IP addresses), signed by this CA.
        pub fn issue(&self, names: &[&str]) -> ServerCert {
            let (cert, key) = self.sign_server(names);
            ServerCert {
                chain: vec![cert.der().clone(), self.der.clone()],
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            }
        }

        /// The same as [`issue`](Self::issue), PEM (chain, key): for servers in other
        /// languages that read files.
        pub fn issue_pem(&self, names: &[&str]) -> (String, String) {
            let (cert, key) = self.sign_server(names);
            (format!("{}{}", cert.pem(), self.pem), key.serialize_pem())
        }

        fn sign_server(&self, names: &[&str]) -> (rcgen::Certificate, KeyPair) {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, "wsthread test server");
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            (cert, key)
        }
    }

    impl TestCa {
        /// A client certificate chain and key, PEM, signed by this CA.
        pub fn issue_client_pem(&self, name: &str) -> (String, String) {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            (format!("{}{}", cert.pem(), self.pem), key.serialize_pem())
        }

        /// The CA certificate, DER.
        pub fn der(&self) -> CertificateDer<'static> {
            self.der.clone()
        }
    }

    pub fn server_config(cert: ServerCert) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(cert.chain, cert.key)
            .unwrap();
        Arc::new(config)
    }

    /// A `wss://` echo server presenting `cert`. `Seen::End` is also sent when the TLS or
    /// WebSocket handshake fails.
    pub fn wss_echo_server(cert: ServerCert) -> (Server, Receiver<Seen>) {
        let config = server_config(cert);
        let (tx, rx): (Sender<Seen>, Receiver<Seen>) = crossbeam_channel::unbounded();
        let server = Server::threaded(move |tcp: TcpStream, conn| {
            let Ok(tls) = ServerConnection::new(config.clone()) else { return };
            let stream = StreamOwned::new(tls, tcp);
            match tungstenite::accept(stream) {
                Ok(ws) => echo_loop(ws, conn, &tx),
                Err(_) => drop(tx.send(Seen::End { conn })),
            }
        });
        (server, rx)
    }
}

/// The client's Close as a raw server read it (code, reason), or why it could not.
pub type CloseReport = Result<(Option<u16>, String), String>;

/// A raw server for protocol-violation tests: after the upgrade it writes `bytes`, then
/// reports the client's Close (code, reason) or the read error, answers with a Close, and
/// ends the connection.
pub fn violating_server(bytes: Vec<u8>) -> (Server, Receiver<CloseReport>) {
    let (tx, rx) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, _| {
        let mut c = RawConn::new(stream);
        if c.accept(&[]).is_err() {
            return;
        }
        let _ = c.write_all(&bytes);
        match c.read_close() {
            Ok((code, reason, _)) => {
                let _ = tx.send(Ok((code, reason)));
                let _ = c.write_close(code.unwrap_or(1000), "");
            }
            Err(e) => drop(tx.send(Err(format!("no Close from the client: {e}")))),
        }
    });
    (server, rx)
}
