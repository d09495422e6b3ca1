//! Test servers on 127.0.0.1:0, each on its own thread(s), stopped and joined when dropped.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use super::{secs, ws_url, wss_url};

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
