//! The byte stream under the WebSocket layer: plain TCP or TLS over TCP, both non-blocking.
//!
//! The WebSocket layer sees only `Read + Write`; a proxy tunnel will slot in here later
//! without the connection thread knowing.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;

use mio::net::TcpStream;
use parking_lot::Mutex;

use crate::tls::TlsStream;

/// A connection's byte stream. Cloning it gives another handle to the same stream: the
/// connection thread reads and writes it, and senders write to it themselves while the
/// thread sleeps or runs the callback (see `outbox.rs`; one writer at a time).
#[derive(Clone)]
pub(crate) enum Transport {
    Plain(Arc<TcpStream>),
    /// rustls keeps one state for both directions, so readers and writers take turns on it.
    /// The lock is held for one non-blocking call at a time, never across a wait.
    Tls(Arc<Mutex<TlsStream>>),
}

impl Transport {
    pub(crate) fn tls(stream: TlsStream) -> Transport {
        Transport::Tls(Arc::new(Mutex::new(stream)))
    }

    /// Ends our sending side: TLS close_notify, then a TCP FIN. The peer still gets to send.
    pub(crate) fn shutdown_write(&self) {
        match self {
            Transport::Plain(s) => {
                let _ = s.shutdown(Shutdown::Write);
            }
            Transport::Tls(t) => {
                let mut t = t.lock();
                t.close_notify();
                let _ = t.sock.shutdown(Shutdown::Write);
            }
        }
    }

    /// Reads and throws away raw bytes until the peer closes, the socket would block, or an
    /// error. Used while lingering after a failed connection, so that unread data does not
    /// make the kernel answer with a reset that could destroy our Close frame in flight.
    /// Returns true once the peer has closed (or the socket failed).
    pub(crate) fn discard_input(&self) -> bool {
        match self {
            Transport::Plain(s) => discard(&mut &**s),
            Transport::Tls(t) => discard(&mut &t.lock().sock),
        }
    }
}

fn discard(socket: &mut impl Read) -> bool {
    let mut scratch = [0u8; 4096];
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

impl Read for &Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).read(buf),
            Transport::Tls(t) => t.lock().read(buf),
        }
    }
}

/// No `write_vectored`: std does those with `writev`, which raises SIGPIPE on a reset
/// connection, where its `write` passes `MSG_NOSIGNAL` (see `tls::NoSigPipe`).
impl Write for &Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).write(buf),
            Transport::Tls(t) => t.lock().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => (&**s).flush(),
            Transport::Tls(t) => t.lock().flush(),
        }
    }
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self).flush()
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
        let mut transport = Transport::Plain(Arc::new(TcpStream::from_std(client)));
        let outbox = crate::outbox::tests::outbox_for_test();
        let mut broken = false;
        for _ in 0..1000 {
            outbox.0.send(crate::frame::OP_BINARY, &[7; 1024]).unwrap();
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
