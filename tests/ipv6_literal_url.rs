//! A URL with an IPv6 literal connects, over `ws://[::1]:port/` and over `wss://` to a server
//! whose certificate names `::1`: the Host header keeps the brackets, the handshake reports
//! the IPv6 peer, and echo works. The test needs an IPv6 loopback; on a machine without one
//! it fails, it does not skip.

mod support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crossbeam_channel::Receiver;
#[cfg(feature = "tls")]
use rustls::{ServerConnection, StreamOwned};
#[cfg(feature = "tls")]
use support::tls::{server_config, TestCa};
use support::*;
#[cfg(feature = "tls")]
use wsthread::RootCerts;
use wsthread::{Message, Options, WebSocketClient};

/// A server on [::1]:0 for one connection, on a thread of its own; dropping it stops it.
struct Ipv6Server {
    addr: SocketAddr,
    accepted: Arc<Mutex<Option<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl Ipv6Server {
    fn start(handler: impl FnOnce(TcpStream) + Send + 'static) -> Ipv6Server {
        let listener = TcpListener::bind("[::1]:0")
            .unwrap_or_else(|e| panic!("this machine has no IPv6 loopback (binding [::1]:0 failed: {e})"));
        let addr = listener.local_addr().unwrap();
        let accepted: Arc<Mutex<Option<TcpStream>>> = Arc::default();
        let slot = accepted.clone();
        let thread = thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else { return };
            // A safety net only: the drop's shutdown is what ends the handler.
            let _ = stream.set_read_timeout(Some(secs(30)));
            let _ = stream.set_nodelay(true);
            *slot.lock().unwrap() = stream.try_clone().ok();
            handler(stream);
            // The handler dropped its stream; the clone must not keep the connection open.
            if let Some(clone) = slot.lock().unwrap().take() {
                let _ = clone.shutdown(Shutdown::Both);
            }
        });
        Ipv6Server { addr, accepted, thread: Some(thread) }
    }
}

impl Drop for Ipv6Server {
    fn drop(&mut self) {
        // Ends a handler stuck in a read; wakes the accept if nobody came.
        if let Some(stream) = &*self.accepted.lock().unwrap() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let _ = TcpStream::connect_timeout(&self.addr, secs(5));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An echo server on [::1] that serves over the stream `wrap` makes of the TCP one (TLS or
/// not); reports the request's Host header.
fn echo_server_v6<S: Read + Write>(
    wrap: impl FnOnce(TcpStream) -> S + Send + 'static,
) -> (Ipv6Server, Receiver<Option<String>>, Receiver<Seen>) {
    let (host_tx, host) = crossbeam_channel::unbounded();
    let (seen_tx, seen) = crossbeam_channel::unbounded();
    let server = Ipv6Server::start(move |tcp| {
        let report_host = move |req: &tungstenite::handshake::server::Request| {
            let host = req.headers().get("host").map(|v| v.to_str().unwrap_or("?").to_owned());
            host_tx.send(host).unwrap();
        };
        if let Some(ws) = accept_inspecting(wrap(tcp), |req, _| report_host(req)) {
            echo_loop(ws, 0, &seen_tx);
        }
    });
    (server, host, seen)
}

fn echo_over_ipv6(server: &Ipv6Server, options: Options, host: &Receiver<Option<String>>, seen: &Receiver<Seen>) {
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options).unwrap();
    let handshake = client.connect(&[]).unwrap();
    assert_eq!(handshake.peer_addr, server.addr);
    assert_eq!(host.recv_timeout(WAIT).unwrap(), Some(format!("[::1]:{}", server.addr.port())));
    client.send("over IPv6").unwrap();
    assert_eq!(next_message(&rx), Message::Text("over IPv6".into()));
    client.disconnect().unwrap();
    expect_end(&rx);
    assert_eq!(wait_close(seen).1, Some(1001));
    drop(client);
    expect_no_more(&rx);
}

#[test]
fn ws_to_an_ipv6_literal() {
    let (server, host, seen) = echo_server_v6(|tcp| tcp);
    let url = format!("ws://[::1]:{}/", server.addr.port());
    echo_over_ipv6(&server, Options::new(&url).unwrap(), &host, &seen);
}

#[cfg(feature = "tls")]
#[test]
fn wss_to_an_ipv6_literal() {
    let ca = TestCa::new("wsthread IPv6 test CA");
    let config = server_config(ca.issue(&["::1"]));
    let (server, host, seen) =
        echo_server_v6(move |tcp| StreamOwned::new(ServerConnection::new(config).unwrap(), tcp));
    let url = format!("wss://[::1]:{}/", server.addr.port());
    let options = Options::new(&url).unwrap().root_certs(RootCerts::None).add_root_certificate_pem(ca.pem());
    echo_over_ipv6(&server, options, &host, &seen);
}
