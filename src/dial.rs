//! Opening a connection: DNS, TCP connect, TLS, and the HTTP upgrade, all non-blocking under
//! one deadline (`connect_timeout`), on the caller's thread. The connection thread starts
//! only once this has succeeded, with the poller and socket made here.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::ClientConfig;

use crate::error::Error;
use crate::handshake::{build_request, parse_head, Handshake, HttpResponse, Request, Timings};
use crate::options::Options;
use crate::tls::{Need, TlsStream};
use crate::transport::Transport;

/// The poller token of the socket.
pub(crate) const SOCKET: Token = Token(0);
/// The poller token of the waker that other threads use to rouse the connection thread.
pub(crate) const WAKER: Token = Token(1);

/// A connection past the upgrade, ready for the connection thread.
pub(crate) struct Dialed {
    pub poll: Poll,
    pub transport: Transport,
    /// Bytes read after the 101 head: the server may already have sent frames.
    pub tail: Vec<u8>,
    pub handshake: Handshake,
}

pub(crate) fn dial(
    options: &Options,
    tls: Option<&Arc<ClientConfig>>,
    headers: &[(&str, &str)],
) -> Result<Dialed, Error> {
    // Everything that can be refused without I/O is refused first.
    let request = build_request(options.url(), headers, &options.subprotocols)?;
    let start = Instant::now();
    let deadline = start + options.connect_timeout;
    let url = options.url();
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().unwrap_or(80);

    let addrs = resolve(url, port, deadline)?;
    let dns = start.elapsed();

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4);
    let t = Instant::now();
    let (mut sock, peer_addr) = connect_any(&mut poll, &mut events, &addrs, deadline)?;
    if options.tcp_nodelay {
        sock.set_nodelay(true)?;
    }
    poll.registry().reregister(&mut sock, SOCKET, Interest::READABLE | Interest::WRITABLE)?;
    let tcp_connect = t.elapsed();

    let (mut transport, tls_time, tls_info) = match tls {
        None => (Transport::Plain(sock), None, None),
        Some(config) => {
            let t = Instant::now();
            let mut stream = TlsStream::new(config.clone(), &host, sock)?;
            while let Need::Io = stream.handshake_step()? {
                wait(&mut poll, &mut events, deadline, "the TLS handshake")?;
            }
            let info = stream.info();
            (Transport::Tls(Box::new(stream)), Some(t.elapsed()), Some(info))
        }
    };

    let t = Instant::now();
    let (head, mut buf, subprotocol) = upgrade(&mut transport, &request, &mut poll, &mut events, deadline)?;
    let upgrade_time = t.elapsed();
    let tail = buf.split_off(head.len);
    log::info!("connected to {url} ({peer_addr}) in {:?}", start.elapsed());
    Ok(Dialed {
        poll,
        transport,
        tail,
        handshake: Handshake {
            status: head.status,
            headers: head.headers,
            subprotocol,
            extensions: Vec::new(),
            peer_addr,
            tls: tls_info,
            timings: Timings { dns, tcp_connect, tls: tls_time, upgrade: upgrade_time },
        },
    })
}

/// Resolves the URL's host. IP literals need no lookup; a name is looked up on a helper
/// thread because the system resolver cannot be given a deadline. If the deadline passes
/// first, that thread ends by itself when the resolver returns.
fn resolve(url: &url::Url, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, Error> {
    let name = match url.host() {
        Some(url::Host::Ipv4(ip)) => return Ok(vec![SocketAddr::from((ip, port))]),
        Some(url::Host::Ipv6(ip)) => return Ok(vec![SocketAddr::from((ip, port))]),
        Some(url::Host::Domain(name)) => name.to_owned(),
        None => return Err(Error::InvalidUrl("no host".into())),
    };
    let (tx, rx) = crossbeam_channel::bounded(1);
    let lookup = name.clone();
    std::thread::Builder::new()
        .name("wsthread-dns".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = tx.send((lookup.as_str(), port).to_socket_addrs().map(Vec::from_iter));
        })?;
    match rx.recv_deadline(deadline) {
        Ok(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Ok(Ok(_)) => Err(Error::Dns(io::Error::new(io::ErrorKind::NotFound, format!("{name}: no addresses")))),
        Ok(Err(e)) => Err(Error::Dns(e)),
        Err(_) => Err(Error::Timeout("the DNS lookup")),
    }
}

/// Tries each address in turn until one accepts, within the deadline.
fn connect_any(
    poll: &mut Poll,
    events: &mut Events,
    addrs: &[SocketAddr],
    deadline: Instant,
) -> Result<(TcpStream, SocketAddr), Error> {
    let mut last = None;
    for &addr in addrs {
        match connect_one(poll, events, addr, deadline) {
            Ok(sock) => return Ok((sock, addr)),
            Err(e @ Error::Timeout(_)) => return Err(e),
            Err(e) => {
                log::debug!("connect to {addr} failed: {e}");
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or(Error::Dns(io::Error::new(io::ErrorKind::NotFound, "no addresses"))))
}

fn connect_one(poll: &mut Poll, events: &mut Events, addr: SocketAddr, deadline: Instant) -> Result<TcpStream, Error> {
    let mut sock = TcpStream::connect(addr)?;
    poll.registry().register(&mut sock, SOCKET, Interest::WRITABLE)?;
    // mio's recipe for a non-blocking connect: wait for writable, then an error in
    // take_error means failure, a peer address means success, NotConnected means not yet.
    loop {
        if let Some(e) = sock.take_error()? {
            let _ = poll.registry().deregister(&mut sock);
            return Err(Error::Io(e));
        }
        match sock.peer_addr() {
            Ok(_) => return Ok(sock),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => {}
            Err(e) => {
                let _ = poll.registry().deregister(&mut sock);
                return Err(Error::Io(e));
            }
        }
        wait(poll, events, deadline, "the TCP connect")?;
    }
}

/// Writes the request, reads the answer head, and for a refusal its body.
fn upgrade(
    transport: &mut Transport,
    request: &Request,
    poll: &mut Poll,
    events: &mut Events,
    deadline: Instant,
) -> Result<(crate::handshake::Head, Vec<u8>, Option<String>), Error> {
    const PHASE: &str = "the WebSocket upgrade";
    let mut sent = 0;
    while sent < request.bytes.len() {
        match transport.write(&request.bytes[sent..]) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(poll, events, deadline, PHASE)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
    loop {
        match transport.flush() {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(poll, events, deadline, PHASE)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }

    let mut buf = Vec::with_capacity(1024);
    let mut eof = false;
    let head = loop {
        if let Some(head) = parse_head(&buf)? {
            break head;
        }
        if eof {
            return Err(Error::Handshake("the server closed the connection before answering".into()));
        }
        eof = read_some(transport, &mut buf, poll, events, deadline, PHASE)?;
    };
    if head.status != 101 {
        loop {
            let data = &buf[head.len..];
            if let Some(body) = head.complete_body(data, eof) {
                return Err(rejected(&head, body));
            }
            match read_some(transport, &mut buf, poll, events, deadline, PHASE) {
                Ok(end) => eof = end,
                // The status is what matters: a slow or unframed body is cut at the deadline.
                Err(Error::Timeout(_)) => return Err(rejected(&head, buf[head.len..].to_vec())),
                Err(e) => return Err(e),
            }
        }
    }
    let subprotocol = head.verify_upgrade(request)?;
    Ok((head, buf, subprotocol))
}

fn rejected(head: &crate::handshake::Head, body: Vec<u8>) -> Error {
    log::info!("server refused the upgrade: {} {}", head.status, head.reason);
    Error::Rejected(Box::new(HttpResponse {
        status: head.status,
        reason: head.reason.clone(),
        headers: head.headers.clone(),
        body,
    }))
}

/// Appends what the stream has to `buf`, waiting for it if need be. Returns true at EOF.
fn read_some(
    transport: &mut Transport,
    buf: &mut Vec<u8>,
    poll: &mut Poll,
    events: &mut Events,
    deadline: Instant,
    phase: &'static str,
) -> Result<bool, Error> {
    let mut chunk = [0u8; 4096];
    loop {
        match transport.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(false);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(poll, events, deadline, phase)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(true),
            Err(e) => return Err(Error::Io(e)),
        }
    }
}

/// Sleeps in the poller until the socket is ready or the deadline passes.
fn wait(poll: &mut Poll, events: &mut Events, deadline: Instant, phase: &'static str) -> Result<(), Error> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left == Duration::ZERO {
            return Err(Error::Timeout(phase));
        }
        match poll.poll(events, Some(left)) {
            Ok(()) if !events.is_empty() => return Ok(()),
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(e)),
        }
    }
}
