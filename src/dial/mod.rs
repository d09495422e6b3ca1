//! Opening a connection: DNS, TCP connect, a proxy's tunnel, TLS, and the HTTP upgrade, all
//! non-blocking under one deadline (`connect_timeout`), on the caller's thread. The
//! connection thread starts only once this has succeeded, with the poller and socket made
//! here. Which proxy is used is decided in `env.rs`; the tunnels are `http_connect.rs` and
//! `socks5.rs`.

mod env;
mod http_connect;
mod socks5;

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token, Waker};
use parking_lot::{Condvar, Mutex};

use crate::error::Error;
use crate::handshake::{build_request, parse_head, Agreed, Head, Request, MAX_HEAD};
use crate::report::{Handshake, HttpResponse, Timings};
use crate::options::Options;
use crate::proxy::{Proxy, ProxyChoice, ProxyKind};
use crate::tls::Config as TlsConfig;
#[cfg(feature = "tls")]
use crate::tls::{tls_error, Need, TlsStream};
use crate::transport::Transport;

/// The `User-Agent` sent when the caller gives none, on the upgrade and to an HTTP proxy.
const USER_AGENT: &str = concat!("wsthread/", env!("CARGO_PKG_VERSION"));

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
/// connecting) or a reconnect's wait: each request stops every dial and wait that took its
/// [`Ticket`] before it, and wakes the dialer's poller. A ticket taken after a request is not
/// stopped by it, so nothing has to be reset (a reset could undo a request meant for a
/// connect still waiting its turn).
#[derive(Default)]
pub(crate) struct Abort {
    /// How many requests were made; a ticket is this count when it was taken.
    requests: Mutex<u64>,
    /// Signalled on each request, for `sleep`.
    requested: Condvar,
    waker: Mutex<Option<Arc<Waker>>>,
}

/// What a dial or a wait is stopped by: any abort request made after it was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

impl Abort {
    /// A ticket for a dial or wait starting now.
    pub(crate) fn ticket(&self) -> Ticket {
        Ticket(*self.requests.lock())
    }

    pub(crate) fn request(&self) {
        *self.requests.lock() += 1;
        self.requested.notify_all();
        if let Some(waker) = &*self.waker.lock() {
            let _ = waker.wake();
        }
    }

    /// True once a request came after `ticket` was taken.
    pub(crate) fn stops(&self, ticket: Ticket) -> bool {
        *self.requests.lock() != ticket.0
    }

    /// Waits for `time`, or less if a request comes after `ticket`; true if one did.
    pub(crate) fn sleep(&self, ticket: Ticket, time: Duration) -> bool {
        let until = Instant::now() + time;
        let mut requests = self.requests.lock();
        while *requests == ticket.0 {
            if self.requested.wait_until(&mut requests, until).timed_out() {
                return *requests != ticket.0;
            }
        }
        true
    }
}

/// The caller's thread while it connects: one poller, one deadline, one way to be stopped.
struct Dialer<'a> {
    poll: Poll,
    events: Events,
    waker: Arc<Waker>,
    deadline: Instant,
    abort: &'a Abort,
    ticket: Ticket,
}

pub(crate) fn dial(
    options: &Options,
    tls: Option<&TlsConfig>,
    headers: &[(&str, &str)],
    (abort, ticket): (&Abort, Ticket),
    deadline: Instant,
) -> Result<Dialed, Error> {
    // Everything that can be refused without I/O is refused first.
    let headers = with_defaults(options, headers);
    #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
    let mut request = build_request(options.url(), &headers, &options.subprotocols)?;
    #[cfg(feature = "deflate")]
    if let Some(deflate) = &options.deflate {
        request.offer_deflate(deflate)?;
    }
    let user_agent = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("user-agent")).map_or(USER_AGENT, |(_, v)| v);
    let route = env::choose(&options.proxy, options.url(), |name| std::env::var(name).ok())?;
    log::debug!("{}: {route}", options.url());
    let start = Instant::now();
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    *abort.waker.lock() = Some(waker.clone());
    let mut d = Dialer {
        poll,
        events: Events::with_capacity(4),
        waker,
        deadline,
        abort,
        ticket,
    };
    let result = d.run(options, tls, &request, route, user_agent, start);
    *abort.waker.lock() = None;
    let (transport, tail, handshake) = result?;
    Ok(Dialed { poll: d.poll, waker: d.waker, transport, tail, handshake })
}

impl Dialer<'_> {
    fn run(
        &mut self,
        options: &Options,
        tls: Option<&TlsConfig>,
        request: &Request,
        route: ProxyChoice,
        user_agent: &str,
        start: Instant,
    ) -> Result<(Transport, Vec<u8>, Handshake), Error> {
        let url = options.url();
        let host = url.host_str().ok_or_else(|| Error::InvalidUrl("no host".into()))?;
        let port = url.port_or_known_default().unwrap_or(80);
        // Where the TCP connection goes: the server, or the proxy (and, for socks5://, the
        // server's address looked up here to be handed to it).
        let (addrs, socks_ip) = match &route.proxy {
            None => (self.resolve(host, port)?, None),
            Some(proxy) => {
                let addrs = self.resolve(proxy.host(), proxy.port())?;
                let ip = match proxy.kind() {
                    ProxyKind::Socks5 => Some(self.resolve(host, port)?[0].ip()),
                    _ => None,
                };
                (addrs, ip)
            }
        };
        let dns = start.elapsed();

        let t = Instant::now();
        let (mut sock, peer_addr) = self.connect_any(&addrs).map_err(|e| match (e, &route.proxy) {
            // "Connection refused" alone would blame the server.
            (Error::Io(e), Some(proxy)) => Error::Io(io::Error::new(e.kind(), format!("proxy {proxy}: {e}"))),
            (e, _) => e,
        })?;
        if options.tcp_nodelay {
            sock.set_nodelay(true)?;
        }
        self.poll.registry().reregister(&mut sock, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
        let tcp_connect = t.elapsed();

        let proxy_time = match &route.proxy {
            None => None,
            Some(proxy) => {
                let t = Instant::now();
                match proxy.kind() {
                    ProxyKind::Http => self.http_tunnel(&mut sock, proxy, host, port, user_agent)?,
                    ProxyKind::Socks5 | ProxyKind::Socks5h => {
                        let bare = host.trim_start_matches('[').trim_end_matches(']');
                        let target = match (socks_ip, bare.parse::<IpAddr>()) {
                            (Some(ip), _) | (None, Ok(ip)) => socks5::Target::Ip(ip),
                            (None, Err(_)) => socks5::Target::Name(bare),
                        };
                        self.socks_tunnel(&mut sock, proxy, &target, port)?;
                    }
                }
                log::debug!("tunnel to {host}:{port} open through {proxy} ({peer_addr})");
                Some(t.elapsed())
            }
        };

        let (mut transport, tls_time, tls_info) = match tls {
            None => (Transport::Plain(Arc::new(sock)), None, None),
            #[cfg(not(feature = "tls"))]
            Some(never) => match *never {},
            #[cfg(feature = "tls")]
            Some(config) => {
                let t = Instant::now();
                let mut stream = TlsStream::new(config.clone(), host, sock)?;
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
        match &route.proxy {
            None => log::info!("connected to {url} ({peer_addr}) in {:?}", start.elapsed()),
            Some(proxy) => log::info!("connected to {url} through {proxy} ({peer_addr}) in {:?}", start.elapsed()),
        }
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
            proxy: route,
            timings: Timings { dns, tcp_connect, proxy: proxy_time, tls: tls_time, upgrade: upgrade_time },
        };
        Ok((transport, tail, handshake))
    }

    /// Resolves the URL's host. IP literals need no lookup; a name is looked up on a helper
    /// thread because the system resolver cannot be given a deadline or be interrupted. If
    /// the connect gives up first, that thread ends by itself when the resolver returns.
    fn resolve(&mut self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        // A URL's IPv6 literal comes with brackets, a proxy's without.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let name = host.to_owned();
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
        self.write_all(transport, &request.bytes, PHASE)?;
        let early = || Error::Handshake("the server closed the connection before answering".into());
        let (head, mut buf, eof) = self.read_head(transport, PHASE, early)?;
        if head.status != 101 {
            let body = self.read_body(transport, &head, &mut buf, eof, PHASE)?;
            log::info!("server refused the upgrade: {} {}", head.status, head.reason);
            return Err(Error::Rejected(response(&head, body)));
        }
        let agreed = head.verify_upgrade(request)?;
        Ok((head, buf, agreed))
    }

    /// Opens an HTTP proxy's tunnel to `host:port` with `CONNECT`. Its answer is read with
    /// the upgrade's limits; a refusal keeps its body, as a refused upgrade does.
    fn http_tunnel(&mut self, sock: &mut TcpStream, proxy: &Proxy, host: &str, port: u16, user_agent: &str) -> Result<(), Error> {
        self.write_all(sock, &http_connect::request(proxy, host, port, user_agent), PROXY_PHASE)?;
        let early = || Error::Proxy("the proxy closed the connection before answering CONNECT".into());
        let (head, mut buf, eof) = self.read_head(sock, PROXY_PHASE, early).map_err(|e| match e {
            Error::Handshake(why) => Error::Proxy(why),
            other => other,
        })?;
        if head.status / 100 != 2 {
            let body = self.read_body(sock, &head, &mut buf, eof, PROXY_PHASE)?;
            log::info!("proxy {proxy} refused CONNECT {host}:{port}: {} {}", head.status, head.reason);
            return Err(Error::ProxyRejected(response(&head, body)));
        }
        // RFC 9110 §9.3.6: after a 2xx the connection is the tunnel, and the server has not
        // been sent anything it could answer yet.
        if buf.len() > head.len {
            return Err(Error::Proxy("the proxy sent data after its 2xx answer to CONNECT".into()));
        }
        Ok(())
    }

    /// Opens a SOCKS5 proxy's tunnel (RFC 1928), authenticating per RFC 1929 if the proxy
    /// URL carries credentials.
    fn socks_tunnel(&mut self, sock: &mut TcpStream, proxy: &Proxy, target: &socks5::Target<'_>, port: u16) -> Result<(), Error> {
        let creds = proxy.credentials();
        let method = self.exchange(sock, &socks5::greeting(creds.is_some()), |b| socks5::parse_choice(b, creds.is_some()))?;
        if let (socks5::Method::UserPass, Some((user, pass))) = (method, creds) {
            self.exchange(sock, &socks5::auth_request(user, pass), socks5::parse_auth)?;
        }
        self.exchange(sock, &socks5::connect_request(target, port)?, socks5::parse_reply)
    }

    /// Sends `request` and reads until `parse` has the whole answer (a SOCKS5 step).
    fn exchange<T>(
        &mut self,
        sock: &mut TcpStream,
        request: &[u8],
        mut parse: impl FnMut(&[u8]) -> Result<Option<T>, Error>,
    ) -> Result<T, Error> {
        self.write_all(sock, request, PROXY_PHASE)?;
        let mut buf = Vec::with_capacity(64);
        loop {
            let eof = self.read_some(sock, &mut buf, PROXY_PHASE)?;
            if let Some(answer) = parse(&buf)? {
                return Ok(answer);
            }
            if eof {
                return Err(Error::Proxy("the SOCKS5 proxy closed the connection in mid-answer".into()));
            }
        }
    }

    fn write_all(&mut self, stream: &mut impl Write, bytes: &[u8], phase: &'static str) -> Result<(), Error> {
        let mut sent = 0;
        while sent < bytes.len() {
            sent += self.retry(phase, || stream.write(&bytes[sent..]))?;
        }
        self.retry(phase, || stream.flush())
    }

    /// Reads an HTTP response head, never more than `MAX_HEAD` of it. Returns the head,
    /// every byte read (head included), and whether the stream ended.
    fn read_head(
        &mut self,
        stream: &mut impl Read,
        phase: &'static str,
        closed_early: impl Fn() -> Error,
    ) -> Result<(Head, Vec<u8>, bool), Error> {
        let mut buf = Vec::with_capacity(1024);
        let mut eof = false;
        loop {
            if eof {
                return Err(closed_early());
            }
            let before = buf.len();
            eof = self.read_some(stream, &mut buf, phase)?;
            // A head ends with a line break: a read without one cannot complete it (and a
            // server trickling a byte at a time does not make us parse 64 KiB per byte).
            if buf[before..].contains(&b'\n') {
                if let Some(head) = parse_head(&buf)? {
                    return Ok((head, buf, eof));
                }
            } else if buf.len() > MAX_HEAD {
                parse_head(&buf)?; // refuses a head this long
            }
        }
    }

    /// Reads the body of a refusal (`buf` holds the head and what followed it).
    fn read_body(
        &mut self,
        stream: &mut impl Read,
        head: &Head,
        buf: &mut Vec<u8>,
        mut eof: bool,
        phase: &'static str,
    ) -> Result<Vec<u8>, Error> {
        let mut body = head.body();
        loop {
            if let Some(body) = body.complete(&buf[head.len..], eof) {
                return Ok(body);
            }
            match self.read_some(stream, buf, phase) {
                Ok(end) => eof = end,
                // The status is what matters: a slow or unframed body is cut at the deadline.
                Err(Error::Timeout(_)) => return Ok(buf[head.len..].to_vec()),
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends what the stream has to `buf`, waiting for it if need be. Returns true at EOF.
    fn read_some(&mut self, stream: &mut impl Read, buf: &mut Vec<u8>, phase: &'static str) -> Result<bool, Error> {
        let mut chunk = [0u8; 4096];
        // A TLS peer that closes without close_notify is an end of input here like any other.
        let n = self.retry(phase, || match stream.read(&mut chunk) {
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
            if self.abort.stops(self.ticket) {
                return Err(Error::Aborted);
            }
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left == Duration::ZERO {
                return Err(Error::Timeout(phase));
            }
            match self.poll.poll(&mut self.events, Some(left)) {
                Ok(()) if !self.events.is_empty() => {
                    return if self.abort.stops(self.ticket) { Err(Error::Aborted) } else { Ok(()) };
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
    #[cfg(feature = "tls")]
    if let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        return tls_error(tls.clone());
    }
    Error::Io(e)
}

fn response(head: &Head, body: Vec<u8>) -> Box<HttpResponse> {
    Box::new(HttpResponse { status: head.status, reason: head.reason.clone(), headers: head.headers.clone(), body })
}

/// The phase named by a timeout while a proxy opens its tunnel.
const PROXY_PHASE: &str = "the proxy handshake";

/// The caller's headers, then the options' `Origin` and our `User-Agent` unless the caller
/// gave those headers itself.
fn with_defaults<'a>(options: &'a Options, headers: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let given = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut all = headers.to_vec();
    if let Some(origin) = options.origin.as_deref().filter(|_| !given("origin")) {
        all.push(("Origin", origin));
    }
    if !given("user-agent") {
        all.push(("User-Agent", USER_AGENT));
    }
    all
}
