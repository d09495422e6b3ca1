//! `FaultProxy`: a TCP proxy on 127.0.0.1:0 that sits between the client and a test server
//! and misbehaves on demand: stalls, stops reading the client, kills (FIN) or resets (RST)
//! connections, trickles the server's bytes one at a time, or delays every chunk.
//!
//! The fault is switched at run time with [`FaultProxy::set`] and applies at once to the
//! live connections and to the ones accepted later; [`FaultProxy::set_after`] switches it
//! once exactly `n` bytes have gone to the clients, so that a test can break a connection in
//! the middle of a message deterministically.
//!
//! Each connection has two pump threads, one per direction. A pump never blocks for more
//! than `TICK`: its reads and writes have that timeout, and it looks at the fault again
//! after each of them. That is how a fault reaches a pump stuck in a read or a write without
//! touching its socket from another thread (which, for a reset, would have sent a FIN
//! first). Dropping the proxy stops accepting, ends every connection (FIN both ways) and
//! joins every thread it started.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::{Domain, SockRef, Socket, Type};

use wsthread::{Options, WebSocketClient};

use super::{collector, secs, ws_url, Events};

/// What the proxy does to the bytes and connections passing through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways as the bytes come; a FIN from one side is passed on to the other.
    Pass,
    /// Keep both sockets open and forward nothing, in either direction: read nothing, write
    /// nothing (a chunk already read stays held), pass on no FIN.
    Stall,
    /// Stop reading what the client sends, so that its writes back up, and forward none of
    /// it (a chunk read just before stays held); the server's bytes still reach the client.
    /// The proxy's client-side sockets have a small receive buffer ([`CLIENT_RECV_BUFFER`])
    /// for that backpressure to come early.
    StopReadingClient,
    /// Close both sides abruptly with a FIN, no Close frame: the connection is gone.
    Kill,
    /// Close the client side with a RST (SO_LINGER 0, no FIN before it); the server side
    /// gets a FIN.
    Reset,
    /// The server's bytes go to the client one byte per write (TCP_NODELAY is on), with this
    /// pause after each byte (zero for none). The client's bytes pass as they come.
    OneByteAtATime(Duration),
    /// Each chunk, in either direction, is forwarded this long after it was read, in order.
    Latency(Duration),
}

/// The receive buffer (SO_RCVBUF) asked for on the proxy's client-side sockets, set on the
/// listening socket before `listen` so that the accepted sockets start with it and the TCP
/// window is scaled for it. Linux doubles the value for its bookkeeping.
pub const CLIENT_RECV_BUFFER: usize = 4096;

/// How long a pump blocks at most before it looks at the fault again.
const TICK: Duration = Duration::from_millis(10);
/// The largest read of a pump: after [`Fault::StopReadingClient`] or [`Fault::Stall`], at
/// most one such chunk (read before the pump saw the fault) is taken from the sender, and
/// held.
const CHUNK: usize = 16 * 1024;
/// A pump stops reading while this much is held for later (latency, stall).
const MAX_HELD: usize = 1 << 20;

/// A fault-injecting TCP proxy on 127.0.0.1:0 in front of `upstream`. Stops, ends its
/// connections and joins its threads when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Arc<Threads>,
    accept: Option<JoinHandle<()>>,
}

/// Every pump thread started and not joined yet.
type Threads = Mutex<Vec<JoinHandle<()>>>;

struct Shared {
    state: Mutex<State>,
    /// Notified on every change of the state: fault, counts, stop.
    changed: Condvar,
}

struct State {
    fault: Fault,
    /// `(n, fault)`: switch to `fault` once `n` bytes in all have gone to the clients.
    trigger: Option<(u64, Fault)>,
    /// What went to the clients, all connections together.
    to_client: Count,
    /// What went to the upstream server, all connections together.
    to_server: Count,
    accepted: usize,
    /// Connections whose sockets are still open.
    live: usize,
    stop: bool,
}

/// Bytes forwarded in one direction.
#[derive(Default)]
struct Count {
    /// Bytes written so far.
    written: u64,
    /// Bytes handed to writes that have not returned yet. Counted before the write, so that
    /// `written + in_flight` is never less than what the receiver may have read (it can read
    /// before the writer has returned), and so that concurrent pumps stop exactly at a trigger.
    in_flight: u64,
    /// Writes that wrote something.
    writes: u64,
}

impl Count {
    /// Bytes written or being written: never less than what the receiver may have read.
    fn passed(&self) -> u64 {
        self.written + self.in_flight
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }

    /// Waits until `done` holds or `timeout` passes; true if it holds.
    fn wait_for(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        loop {
            if done(&state) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.changed.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

impl FaultProxy {
    /// A proxy forwarding every connection to `upstream`, starting with [`Fault::Pass`].
    /// When `upstream` cannot be reached, the client's connection is reset.
    pub fn new(upstream: SocketAddr) -> FaultProxy {
        let listener = small_buffer_listener();
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                fault: Fault::Pass,
                trigger: None,
                to_client: Count::default(),
                to_server: Count::default(),
                accepted: 0,
                live: 0,
                stop: false,
            }),
            changed: Condvar::new(),
        });
        let threads: Arc<Threads> = Arc::default();
        let accept = {
            let (shared, threads) = (shared.clone(), threads.clone());
            thread::Builder::new()
                .name("fault-proxy-accept".into())
                .spawn(move || accept_loop(listener, upstream, &shared, &threads))
                .expect("spawn fault proxy accept thread")
        };
        FaultProxy { addr, shared, threads, accept: Some(accept) }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://` URL of the proxy (the server behind it sees the proxy's Host).
    pub fn ws_url(&self, path: &str) -> String {
        ws_url(self.addr, path)
    }

    /// Switches to `fault` now, for the live connections and the next ones. Cancels a
    /// pending [`set_after`](Self::set_after).
    pub fn set(&self, fault: Fault) {
        self.shared.update(|s| {
            s.fault = fault;
            s.trigger = None;
        });
    }

    /// Switches to `fault` once `bytes_to_client` bytes in all (every connection together,
    /// counted from the proxy's start; see [`forwarded_to_client`](Self::forwarded_to_client))
    /// have been written to clients: not one byte more goes to a client before the switch.
    /// Immediately if that many have passed already (a write under way still finishes).
    pub fn set_after(&self, bytes_to_client: u64, fault: Fault) {
        self.shared.update(|s| {
            if s.to_client.passed() >= bytes_to_client {
                s.fault = fault;
                s.trigger = None;
            } else {
                s.trigger = Some((bytes_to_client, fault));
            }
        });
    }

    /// The fault in force now.
    pub fn fault(&self) -> Fault {
        self.shared.lock().fault
    }

    /// Bytes written to clients so far, all connections together, counting a write under
    /// way: never less than what the clients may have read. Right after `connect` returns it
    /// includes the whole 101 answer, a base to add "how far into what follows" to.
    pub fn forwarded_to_client(&self) -> u64 {
        self.shared.lock().to_client.passed()
    }

    /// Writes to clients so far (each of at least one byte), all connections together:
    /// equal to [`forwarded_to_client`](Self::forwarded_to_client) when every byte went alone.
    pub fn writes_to_client(&self) -> u64 {
        self.shared.lock().to_client.writes
    }

    /// Bytes written to the upstream server so far, all connections together, counting a
    /// write under way.
    pub fn forwarded_to_server(&self) -> u64 {
        self.shared.lock().to_server.passed()
    }

    /// Waits until at least `n` bytes in all have been written to clients (the writes have
    /// returned); false if that did not happen within `timeout`.
    pub fn wait_forwarded_to_client(&self, n: u64, timeout: Duration) -> bool {
        self.shared.wait_for(timeout, |s| s.to_client.written >= n)
    }

    /// Waits until at least `n` bytes in all have been written to the server.
    pub fn wait_forwarded_to_server(&self, n: u64, timeout: Duration) -> bool {
        self.shared.wait_for(timeout, |s| s.to_server.written >= n)
    }

    /// How many connections the proxy has accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.lock().accepted
    }

    /// Waits until at least `n` connections have been accepted.
    pub fn wait_accepted(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_for(timeout, |s| s.accepted >= n)
    }

    /// Connections whose sockets the proxy still holds open.
    pub fn live(&self) -> usize {
        self.shared.lock().live
    }

    /// Waits until the proxy holds at most `n` connections open.
    pub fn wait_live_at_most(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_for(timeout, |s| s.live <= n)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.update(|s| s.stop = true);
        // Wake the accept loop so that it sees the stop flag.
        let _ = TcpStream::connect_timeout(&self.addr, secs(5));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        // Pumps see the stop within a tick.
        let threads: Vec<_> = self.threads.lock().unwrap().drain(..).collect();
        for t in threads {
            let _ = t.join();
        }
    }
}

/// A listener whose accepted sockets inherit a receive buffer of [`CLIENT_RECV_BUFFER`].
fn small_buffer_listener() -> TcpListener {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(CLIENT_RECV_BUFFER).expect("SO_RCVBUF");
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&addr.into()).expect("bind 127.0.0.1:0");
    socket.listen(128).expect("listen");
    socket.into()
}

fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: &Arc<Shared>, threads: &Threads) {
    for client in listener.incoming() {
        if shared.lock().stop {
            break;
        }
        let Ok(client) = client else { continue };
        let (n, fault) = {
            let mut s = shared.lock();
            s.accepted += 1;
            (s.accepted - 1, s.fault)
        };
        shared.changed.notify_all();
        // Join the pumps of connections that have ended, so that threads do not pile up.
        {
            let mut threads = threads.lock().unwrap();
            let (done, running): (Vec<_>, Vec<_>) = threads.drain(..).partition(|t| t.is_finished());
            *threads = running;
            for t in done {
                let _ = t.join();
            }
        }
        let server = match TcpStream::connect_timeout(&upstream, secs(5)) {
            Ok(server) => server,
            Err(_) => {
                let _ = SockRef::from(&client).set_linger(Some(Duration::ZERO));
                continue;
            }
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        shared.update(|s| s.live += 1);
        let link = Arc::new(Link { client, server, ended: AtomicBool::new(false), shared: shared.clone() });
        if matches!(fault, Fault::Kill | Fault::Reset) {
            link.end(fault);
            continue;
        }
        let mut threads = threads.lock().unwrap();
        for dir in [Dir::ToServer, Dir::ToClient] {
            let (link, shared) = (link.clone(), shared.clone());
            let name = match dir {
                Dir::ToServer => format!("fault-proxy-c2s-{n}"),
                Dir::ToClient => format!("fault-proxy-s2c-{n}"),
            };
            let t = thread::Builder::new()
                .name(name)
                .spawn(move || Pump::new(&shared, &link, dir).run())
                .expect("spawn fault proxy pump");
            threads.push(t);
        }
    }
}

/// One proxied connection: both sockets, shared by its two pumps. Its sockets close when
/// both pumps are done with it.
struct Link {
    client: TcpStream,
    server: TcpStream,
    /// Set by a Kill or Reset: both pumps return.
    ended: AtomicBool,
    shared: Arc<Shared>,
}

impl Link {
    fn end(&self, fault: Fault) {
        self.ended.store(true, Ordering::Release);
        if fault == Fault::Reset {
            // No shutdown on the client side: that would send a FIN before the RST. The RST
            // goes out when the last pump drops the link and the socket is closed.
            let _ = SockRef::from(&self.client).set_linger(Some(Duration::ZERO));
        } else {
            let _ = self.client.shutdown(Shutdown::Both);
        }
        let _ = self.server.shutdown(Shutdown::Both);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.shared.update(|s| s.live -= 1);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    ToServer,
    ToClient,
}

/// One direction of a link: reads from one socket, holds chunks until they are due, writes
/// them to the other.
struct Pump<'a> {
    shared: &'a Shared,
    link: &'a Link,
    dir: Dir,
    src: &'a TcpStream,
    dst: &'a TcpStream,
    /// Chunks read and not yet written, each with the time it may go.
    held: VecDeque<(Instant, Vec<u8>)>,
    held_bytes: usize,
    /// The source has sent its FIN.
    eof: bool,
}

impl<'a> Pump<'a> {
    fn new(shared: &'a Shared, link: &'a Link, dir: Dir) -> Pump<'a> {
        let (src, dst) = match dir {
            Dir::ToServer => (&link.client, &link.server),
            Dir::ToClient => (&link.server, &link.client),
        };
        let _ = src.set_read_timeout(Some(TICK));
        let _ = dst.set_write_timeout(Some(TICK));
        Pump { shared, link, dir, src, dst, held: VecDeque::new(), held_bytes: 0, eof: false }
    }

    fn run(mut self) {
        let mut buf = vec![0u8; CHUNK];
        loop {
            if self.link.ended.load(Ordering::Acquire) {
                return;
            }
            let fault = {
                let s = self.shared.lock();
                if s.stop {
                    return;
                }
                s.fault
            };
            if matches!(fault, Fault::Kill | Fault::Reset) {
                self.link.end(fault);
                return;
            }
            let frozen = match fault {
                Fault::Stall => true,
                Fault::StopReadingClient => self.dir == Dir::ToServer,
                _ => false,
            };
            let may_write = !frozen;
            let may_read = !frozen && !self.eof && self.held_bytes < MAX_HELD;

            // Forward what is due, one write at a time, looking at the fault between writes.
            if may_write && self.held.front().is_some_and(|(due, _)| *due <= Instant::now()) {
                if !self.write_front(fault) {
                    self.link.end(Fault::Kill);
                    return;
                }
                continue;
            }
            if may_write && self.eof && self.held.is_empty() {
                // Pass the FIN on; the other direction carries on until its own end.
                let _ = self.dst.shutdown(Shutdown::Write);
                return;
            }

            // Sleep until input, the next chunk's time, or a tick.
            let mut wait = TICK;
            if let Some((due, _)) = self.held.front().filter(|_| may_write) {
                wait = wait.min(due.saturating_duration_since(Instant::now()));
            }
            let wait = wait.max(Duration::from_millis(1));
            if may_read {
                let _ = self.src.set_read_timeout(Some(wait));
                match self.src.read(&mut buf) {
                    Ok(0) => self.eof = true,
                    Ok(n) => {
                        let delay = match fault {
                            Fault::Latency(d) => d,
                            _ => Duration::ZERO,
                        };
                        self.held.push_back((Instant::now() + delay, buf[..n].to_vec()));
                        self.held_bytes += n;
                    }
                    Err(e) if is_timeout(&e) => {}
                    Err(_) => {
                        // A side broke (reset): the other side loses its connection too.
                        self.link.end(Fault::Kill);
                        return;
                    }
                }
            } else {
                let state = self.shared.lock();
                let _ = self.shared.changed.wait_timeout(state, wait);
            }
        }
    }

    /// One write of the first held chunk (one byte of it when trickling, never past the
    /// trigger). False when the destination is broken.
    fn write_front(&mut self, fault: Fault) -> bool {
        let to_client = self.dir == Dir::ToClient;
        let mut limit = self.held.front().map_or(0, |(_, c)| c.len());
        let mut pause = Duration::ZERO;
        if let (true, Fault::OneByteAtATime(p)) = (to_client, fault) {
            limit = 1;
            pause = p;
        }
        if !self.reserve(&mut limit) {
            return true; // the trigger fired: the loop applies the new fault
        }
        let chunk = &self.held.front().expect("a chunk is due").1;
        let result = self.dst.write(&chunk[..limit]);
        let written = match &result {
            Ok(n) => *n,
            Err(_) => 0,
        };
        self.shared.update(|s| {
            let count = if to_client { &mut s.to_client } else { &mut s.to_server };
            count.in_flight -= limit as u64;
            count.written += written as u64;
            count.writes += u64::from(written > 0);
        });
        match result {
            Ok(0) => false,
            Ok(n) => {
                let front = &mut self.held.front_mut().expect("a chunk is due").1;
                front.drain(..n);
                self.held_bytes -= n;
                if front.is_empty() {
                    self.held.pop_front();
                }
                if !pause.is_zero() {
                    thread::sleep(pause);
                }
                true
            }
            Err(e) => is_timeout(&e),
        }
    }

    /// Counts `limit` bytes as in flight before they are written; towards clients, shrinks
    /// `limit` to what the trigger still allows, and fires the trigger (returning false)
    /// when nothing is left. With one connection sending, exactly the trigger's count
    /// reaches the client; with several, a write of another connection that ends short of
    /// what it reserved can leave the count a little under it, never over.
    fn reserve(&self, limit: &mut usize) -> bool {
        let mut s = self.shared.lock();
        if self.dir == Dir::ToServer {
            s.to_server.in_flight += *limit as u64;
            return true;
        }
        if let Some((at, fault)) = s.trigger {
            let room = at.saturating_sub(s.to_client.passed());
            if room == 0 {
                s.fault = fault;
                s.trigger = None;
                drop(s);
                self.shared.changed.notify_all();
                return false;
            }
            *limit = (*limit).min(usize::try_from(room).unwrap_or(usize::MAX));
        }
        s.to_client.in_flight += *limit as u64;
        true
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted)
}

/// A client (the `Some`/`None` form) connected through `proxy` with this close timeout
/// (the connect bounded at 5 s): the start of the fault tests.
pub fn connected_through(proxy: &FaultProxy, close_timeout: Duration) -> (WebSocketClient, Events) {
    let (callback, rx) = collector();
    let options = Options::new(&proxy.ws_url("/")).unwrap().close_timeout(close_timeout).connect_timeout(secs(5));
    let client = WebSocketClient::new(callback, options).unwrap();
    client.connect(&[]).unwrap();
    (client, rx)
}

/// Disconnects from a peer that will never answer the Close, and checks that `disconnect`
/// returned with the one `None` once `close_timeout` had passed, and not much later.
/// Returns how long it took.
pub fn disconnect_after_close_timeout(client: &WebSocketClient, rx: &Events, close_timeout: Duration) -> Duration {
    let start = Instant::now();
    client.disconnect().unwrap();
    let took = start.elapsed();
    assert_eq!(rx.try_recv(), Ok(None), "the None when disconnect returns");
    eprintln!("disconnect took {took:?} (close_timeout {close_timeout:?})");
    assert!(took >= close_timeout, "gave up before close_timeout: {took:?}");
    assert!(took < close_timeout + secs(2), "disconnect took {took:?}");
    took
}
