//! Opening a connection: DNS, TCP connect, TLS, and the HTTP upgrade, all non-blocking under
//! one deadline (`connect_timeout`), on the caller's thread. The connection thread starts
//! only once this has succeeded, with the poller and socket made here.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use parking_lot::Mutex;
use rustls::ClientConfig;

use crate::error::Error;
use crate::handshake::{build_request, parse_head, Agreed, Head, Request, MAX_HEAD};
use crate::report::{Handshake, HttpResponse, Timings};
use crate::options::Options;
use crate::tls::{tls_error, Need, TlsStream};
use crate::transport::Transport;

/// The poller token of the socket.
pub(crate) const SOCKET: Token = Token(0);
/// The poller token of the waker that other threads use to rouse the connection thread.
pub(crate) const WAKER: Token = Token(1);

/// A connection past the upgrade, ready for the connection thread.
pub(crate) struct Dialed {
    pub poll: Poll,
    /// Registered with `poll` under [`WAKER`]; the connection thread keeps using it.
    pub waker: Arc<Waker>,
    pub transport: Transport,
    /// Bytes read after the 101 head: the server may already have sent frames.
    pub tail: Vec<u8>,
    pub handshake: Handshake,
}

/// Lets another thread stop a connect in progress (a `disconnect` or a drop while
/// connecting): it sets the flag and wakes the dialer's poller.
#[derive(Default)]
pub(crate) struct Abort {
    requested: AtomicBool,
    waker: Mutex<Option<Arc<Waker>>>,
}

impl Abort {
    pub(crate) fn request(&self) {
        self.requested.store(true, Ordering::Release);
        if let Some(waker) = &*self.waker.lock() {
            let _ = waker.wake();
        }
    }

    /// Clears an old request; called before each connect.
    pub(crate) fn reset(&self) {
        self.requested.store(false, Ordering::Release);
        *self.waker.lock() = None;
    }

    fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }
}

/// The caller's thread while it connects: one poller, one deadline, one way to be stopped.
struct Dialer<'a> {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    deadline: Instant,
    abort: &'a Abort,
}

pub(crate) fn dial(
    options: &Options,
    tls: Option<&Arc<ClientConfig>>,
    headers: &[(&str, &str)],
    abort: &Abort,
) -> Result<Dialed, Error> {
    // Everything that can be refused without I/O is refused first.
    let mut request = build_request(options.url(), headers, &options.subprotocols)?;
    if let Some(deflate) = &options.deflate {
        request.offer_deflate(deflate)?;
    }
    let start = Instant::now();
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    *abort.waker.lock() = Some(waker.clone());
    let mut d = Dialer {
        poll,
        events: Events::with_capacity(4),
        waker,
        deadline: start + options.connect_timeout,
        abort,
    };
    let result = d.run(options, tls, &request, start);
    *abort.waker.lock() = None;
    let (transport, tail, handshake) = result?;
    Ok(Dialed { poll: d.poll, waker: d.waker, transport, tail, handshake })
}

impl Dialer<'_> {
    fn run(
        &mut self,
        options: &Options,
        tls: Option<&Arc<ClientConfig>>,
        request: &Request,
        start: Instant,
    ) -> Result<(Transport, Vec<u8>, Handshake), Error> {
        let url = options.url();
        let port = url.port_or_known_default().unwrap_or(80);
        let addrs = self.resolve(url, port)?;
        let dns = start.elapsed();

        let t = Instant::now();
        let (mut sock, peer_addr) = self.connect_any(&addrs)?;
        if options.tcp_nodelay {
            sock.set_nodelay(true)?;
        }
        self.poll.registry().reregister(&mut sock, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
        let tcp_connect = t.elapsed();

        let (mut transport, tls_time, tls_info) = match tls {
            None => (Transport::Plain(Arc::new(sock)), None, None),
            Some(config) => {
                let t = Instant::now();
                let mut stream = TlsStream::new(config.clone(), url.host_str().unwrap_or_default(), sock)?;
                while let Need::Io = stream.handshake_step()? {
                    self.wait("the TLS handshake")?;
                }
                let info = stream.info();
                (Transport::tls(stream), Some(t.elapsed()), Some(info))
            }
        };

        let t = Instant::now();
        let (head, mut buf, agreed) = self.upgrade(&mut transport, request)?;
        let upgrade_time = t.elapsed();
        let tail = buf.split_off(head.len);
        log::info!("connected to {url} ({peer_addr}) in {:?}", start.elapsed());
        let extensions = head
            .headers
            .iter()
            .filter(|(name, value)| name.eq_ignore_ascii_case("sec-websocket-extensions") && !value.trim().is_empty())
            .map(|(_, value)| value.trim().to_owned())
            .collect();
        let handshake = Handshake {
            status: head.status,
            headers: head.headers,
            subprotocol: agreed.subprotocol,
            extensions,
            deflate: agreed.deflate,
            peer_addr,
            tls: tls_info,
            timings: Timings { dns, tcp_connect, tls: tls_time, upgrade: upgrade_time },
        };
        Ok((transport, tail, handshake))
    }

    /// Resolves the URL's host. IP literals need no lookup; a name is looked up on a helper
    /// thread because the system resolver cannot be given a deadline or be interrupted. If
    /// the connect gives up first, that thread ends by itself when the resolver returns.
    fn resolve(&mut self, url: &url::Url, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let name = match url.host() {
            Some(url::Host::Ipv4(ip)) => return Ok(vec![SocketAddr::from((ip, port))]),
            Some(url::Host::Ipv6(ip)) => return Ok(vec![SocketAddr::from((ip, port))]),
            Some(url::Host::Domain(name)) => name.to_owned(),
            None => return Err(Error::InvalidUrl("no host".into())),
        };
        let (tx, rx) = crossbeam_channel::bounded(1);
        let lookup = name.clone();
        let waker = self.waker.clone();
        std::thread::Builder::new()
            .name("wsthread-dns".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let _ = tx.send((lookup.as_str(), port).to_socket_addrs().map(Vec::from_iter));
                let _ = waker.wake();
            })?;
        loop {
            match rx.try_recv() {
                Ok(Ok(addrs)) if !addrs.is_empty() => return Ok(addrs),
                Ok(Ok(_)) => {
                    let why = format!("{name}: no addresses");
                    return Err(Error::Dns(io::Error::new(io::ErrorKind::NotFound, why)));
                }
                Ok(Err(e)) => return Err(Error::Dns(e)),
                Err(_) => self.wait("the DNS lookup")?,
            }
        }
    }

    /// Tries each address in turn until one accepts, within the deadline.
    fn connect_any(&mut self, addrs: &[SocketAddr]) -> Result<(TcpStream, SocketAddr), Error> {
        let mut last = None;
        for &addr in addrs {
            match self.connect_one(addr) {
                Ok(sock) => return Ok((sock, addr)),
                Err(e @ (Error::Timeout(_) | Error::Aborted)) => return Err(e),
                Err(e) => {
                    log::debug!("connect to {addr} failed: {e}");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or(Error::Dns(io::Error::new(io::ErrorKind::NotFound, "no addresses"))))
    }

    fn connect_one(&mut self, addr: SocketAddr) -> Result<TcpStream, Error> {
        let mut sock = TcpStream::connect(addr)?;
        self.poll.registry().register(&mut sock, SOCKET, Interest::WRITABLE)?;
        // mio's recipe for a non-blocking connect: wait for writable, then an error in
        // take_error means failure, a peer address means success, NotConnected means not yet.
        loop {
            if let Some(e) = sock.take_error()? {
                let _ = self.poll.registry().deregister(&mut sock);
                return Err(Error::Io(e));
            }
            match sock.peer_addr() {
                Ok(_) => return Ok(sock),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
                Err(e) => {
                    let _ = self.poll.registry().deregister(&mut sock);
                    return Err(Error::Io(e));
                }
            }
            if let Err(e) = self.wait("the TCP connect") {
                let _ = self.poll.registry().deregister(&mut sock);
                return Err(e);
            }
        }
    }

    /// Writes the request, reads the answer head, and for a refusal its body.
    fn upgrade(&mut self, transport: &mut Transport, request: &Request) -> Result<(Head, Vec<u8>, Agreed), Error> {
        const PHASE: &str = "the WebSocket upgrade";
        let mut sent = 0;
        while sent < request.bytes.len() {
            sent += self.retry(PHASE, || transport.write(&request.bytes[sent..]))?;
        }
        self.retry(PHASE, || transport.flush())?;

        let mut buf = Vec::with_capacity(1024);
        let mut eof = false;
        let head = loop {
            if eof {
                return Err(Error::Handshake("the server closed the connection before answering".into()));
            }
            let before = buf.len();
            eof = self.read_some(transport, &mut buf, PHASE)?;
            // A head ends with a line break: a read without one cannot complete it (and a
            // server trickling a byte at a time does not make us parse 64 KiB per byte).
            if buf[before..].contains(&b'\n') {
                if let Some(head) = parse_head(&buf)? {
                    break head;
                }
            } else if buf.len() > MAX_HEAD {
                parse_head(&buf)?; // refuses a head this long
            }
        };
        if head.status != 101 {
            let mut body = head.body();
            loop {
                if let Some(body) = body.complete(&buf[head.len..], eof) {
                    return Err(rejected(&head, body));
                }
                match self.read_some(transport, &mut buf, PHASE) {
                    Ok(end) => eof = end,
                    // The status is what matters: a slow or unframed body is cut at the deadline.
                    Err(Error::Timeout(_)) => return Err(rejected(&head, buf[head.len..].to_vec())),
                    Err(e) => return Err(e),
                }
            }
        }
        let agreed = head.verify_upgrade(request)?;
        Ok((head, buf, agreed))
    }

    /// Appends what the stream has to `buf`, waiting for it if need be. Returns true at EOF.
    fn read_some(&mut self, transport: &mut Transport, buf: &mut Vec<u8>, phase: &'static str) -> Result<bool, Error> {
        let mut chunk = [0u8; 4096];
        // A TLS peer that closes without close_notify is an end of input here like any other.
        let n = self.retry(phase, || match transport.read(&mut chunk) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            other => other,
        })?;
        buf.extend_from_slice(&chunk[..n]);
        Ok(n == 0)
    }

    /// Runs a non-blocking I/O step until it goes through: waits in the poller on
    /// `WouldBlock`, repeats on `Interrupted`, turns anything else into an `Error`.
    fn retry<T>(&mut self, phase: &'static str, mut step: impl FnMut() -> io::Result<T>) -> Result<T, Error> {
        loop {
            match step() {
                Ok(done) => return Ok(done),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(phase)?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e)),
            }
        }
    }

    /// Sleeps in the poller until the socket is ready, the waker rings, or the deadline.
    fn wait(&mut self, phase: &'static str) -> Result<(), Error> {
        loop {
            if self.abort.is_requested() {
                return Err(Error::Aborted);
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left == Duration::ZERO {
                return Err(Error::Timeout(phase));
            }
            match self.poll.poll(&mut self.events, Some(left)) {
                Ok(()) if !self.events.is_empty() => {
                    return if self.abort.is_requested() { Err(Error::Aborted) } else { Ok(()) };
                }
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e)),
            }
        }
    }
}

/// A TLS failure after the handshake (an alert such as "certificate required" while we
/// wait for the 101) reaches us wrapped in an `io::Error`; unwrap it into a TLS error.
fn io_error(e: io::Error) -> Error {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls) => tls_error(tls.clone()),
        None => Error::Io(e),
    }
}

fn rejected(head: &Head, body: Vec<u8>) -> Error {
    log::info!("server refused the upgrade: {} {}", head.status, head.reason);
    Error::Rejected(Box::new(HttpResponse {
        status: head.status,
        reason: head.reason.clone(),
        headers: head.headers.clone(),
        body,
    }))
}
