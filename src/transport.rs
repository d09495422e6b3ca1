//! The byte stream under the WebSocket layer: plain TCP or TLS over TCP, both non-blocking.
//!
//! The WebSocket layer sees only `Read + Write`; a proxy tunnel will slot in here later
//! without the connection thread knowing.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;

use mio::net::TcpStream;

use crate::tls::TlsStream;

pub(crate) enum Transport {
    /// Shared with the [`Outbox`](crate::outbox::Outbox), whose senders may write to it.
    Plain(Arc<TcpStream>),
    Tls(Box<TlsStream>),
}

impl Transport {
    /// The socket under any TLS.
    pub(crate) fn socket(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(t) => &t.sock,
        }
    }

    /// Ends our sending side: TLS close_notify, then a TCP FIN. The peer still gets to send.
    pub(crate) fn shutdown_write(&mut self) {
        if let Transport::Tls(t) = self {
            t.close_notify();
        }
        let _ = self.socket().shutdown(Shutdown::Write);
    }

    /// Reads and throws away raw bytes until the peer closes, the socket would block, or an
    /// error. Used while lingering after a failed connection, so that unread data does not
    /// make the kernel answer with a reset that could destroy our Close frame in flight.
    /// Returns true once the peer has closed (or the socket failed).
    pub(crate) fn discard_input(&self) -> bool {
        let mut scratch = [0u8; 4096];
        let mut socket = self.socket();
        loop {
            match socket.read(&mut scratch) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).read(buf),
            Transport::Tls(t) => t.read(buf),
        }
    }
}

/// No `write_vectored`: std does those with `writev`, which raises SIGPIPE on a reset
/// connection, where its `write` passes `MSG_NOSIGNAL` (see `tls::NoSigPipe`).
impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).write(buf),
            Transport::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => (&**s).flush(),
            Transport::Tls(t) => t.flush(),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// Writes to a connection the peer has closed end in `BrokenPipe`, not in a SIGPIPE that
    /// would kill a host program that leaves the signal at its default (as C programs do).
    #[test]
    fn writes_to_a_closed_peer_do_not_raise_sigpipe() {
        // The Rust runtime ignores SIGPIPE; put the default back, as a C host would have it.
        // SAFETY: `signal` with a valid signal number and disposition; restored below.
        let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        drop(listener.accept().unwrap()); // the peer closes: our writes meet a reset, then EPIPE
        client.set_nonblocking(true).unwrap();
        let transport = Transport::Plain(Arc::new(TcpStream::from_std(client)));
        let outbox = crate::outbox::tests::outbox_for_test();
        let mut transport = transport;
        let mut broken = false;
        for _ in 0..1000 {
            outbox.0.send(crate::outbox::OP_BINARY, &[7; 1024], true).unwrap();
            match outbox.0.flush_into(&mut transport) {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe || e.kind() == io::ErrorKind::ConnectionReset => {
                    broken = true;
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        break;
                    }
                }
                _ => std::thread::yield_now(),
            }
        }
        // SAFETY: as above.
        unsafe { libc::signal(libc::SIGPIPE, previous) };
        assert!(broken, "writes to a closed peer never failed");
    }
}
