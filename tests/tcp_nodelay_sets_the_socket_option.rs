//! `tcp_nodelay` sets `TCP_NODELAY` on the connection's socket: on by default, off when the
//! option says so. Nagle's algorithm has no effect on loopback that a test could time
//! reliably, so the test reads the option itself: it finds the client's socket among this
//! process's file descriptors by its two addresses and asks `getsockopt`. Unix only (libc).

#![cfg(unix)]

mod support;

use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::raw::c_int;

use support::*;
use wsthread::{Message, Options, WebSocketClient};

/// The local (or, with `peer`, the remote) IPv4 address of socket `fd`; `None` for anything
/// else, closed descriptors included.
fn address(fd: c_int, peer: bool) -> Option<SocketAddr> {
    // SAFETY: the buffer is a zeroed sockaddr_storage and `len` says its size, as
    // getsockname/getpeername require; any descriptor number may be asked about.
    unsafe {
        let mut storage: libc::sockaddr_storage = zeroed();
        let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let out = &mut storage as *mut libc::sockaddr_storage as *mut libc::sockaddr;
        let rc = if peer { libc::getpeername(fd, out, &mut len) } else { libc::getsockname(fd, out, &mut len) };
        if rc != 0 || c_int::from(storage.ss_family) != libc::AF_INET {
            return None;
        }
        let sin = &*(&storage as *const libc::sockaddr_storage as *const libc::sockaddr_in);
        Some(SocketAddr::from((Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)), u16::from_be(sin.sin_port))))
    }
}

/// TCP_NODELAY of this process's socket from `local` to `peer`.
fn nodelay_of(local: SocketAddr, peer: SocketAddr) -> bool {
    for fd in 0..65_536 {
        if address(fd, false) != Some(local) || address(fd, true) != Some(peer) {
            continue;
        }
        let mut on: c_int = 0;
        let mut len = size_of::<c_int>() as libc::socklen_t;
        // SAFETY: `on` is a c_int and `len` its size, what TCP_NODELAY reads into.
        let rc = unsafe {
            libc::getsockopt(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, &mut on as *mut c_int as *mut _, &mut len)
        };
        assert_eq!(rc, 0, "getsockopt(TCP_NODELAY): {}", std::io::Error::last_os_error());
        return on != 0;
    }
    panic!("no socket from {local} to {peer} in this process");
}

/// Connects with `options`, reads TCP_NODELAY of the client's socket while it is open.
fn nodelay_with(options: impl FnOnce(Options) -> Options) -> bool {
    // The server reports each client's address: the client socket's local address.
    let (tx, clients) = crossbeam_channel::unbounded();
    let (seen_tx, _seen) = crossbeam_channel::unbounded();
    let server = Server::threaded(move |stream, conn| {
        tx.send(stream.peer_addr().unwrap()).unwrap();
        if let Ok(ws) = tungstenite::accept(stream) {
            echo_loop(ws, conn, &seen_tx);
        }
    });
    let (callback, rx) = collector();
    let client = WebSocketClient::new(callback, options(Options::new(&server.ws_url("/")).unwrap())).unwrap();
    client.connect(&[]).unwrap();
    client.send("open").unwrap();
    assert_eq!(next_message(&rx), Message::Text("open".into()));
    let local = clients.recv_timeout(WAIT).unwrap();
    let on = nodelay_of(local, server.addr());
    client.disconnect().unwrap();
    expect_end(&rx);
    on
}

#[test]
fn tcp_nodelay_on_by_default() {
    assert!(nodelay_with(|o| o), "TCP_NODELAY is off on the client's socket");
}

#[test]
fn tcp_nodelay_off_when_asked() {
    assert!(!nodelay_with(|o| o.tcp_nodelay(false)), "TCP_NODELAY is on on the client's socket");
}
