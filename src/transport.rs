//! The byte stream under the WebSocket layer: plain TCP or TLS over TCP, both non-blocking.
//!
//! The WebSocket layer sees only `Read + Write`. A proxy's tunnel is opened on the TCP
//! stream before TLS (see `dial/`), so nothing here or above knows about proxies.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;

use mio::net::TcpStream;
#[cfg(feature = "tls")]
use parking_lot::Mutex;

#[cfg(feature = "tls")]
use crate::tls::TlsStream;

/// A connection's byte stream. Cloning it gives another handle to the same stream: the
/// connection thread reads and writes it, and senders write to it themselves while the
/// thread sleeps or runs the callback (see `outbox.rs`; one writer at a time).
#[derive(Clone)]
pub(crate) enum Transport {
    Plain(Arc<TcpStream>),
    /// rustls keeps one state for both directions, so readers and writers take turns on it.
    /// The lock is held for one non-blocking call at a time, never across a wait.
    #[cfg(feature = "tls")]
    Tls(Arc<Mutex<TlsStream>>),
}

impl Transport {
    #[cfg(feature = "tls")]
    pub(crate) fn tls(stream: TlsStream) -> Transport {
        Transport::Tls(Arc::new(Mutex::new(stream)))
    }

    /// Ends our sending side: TLS close_notify, then a TCP FIN. The peer still gets to send.
    pub(crate) fn shutdown_write(&self) {
        match self {
            Transport::Plain(s) => {
                let _ = s.shutdown(Shutdown::Write);
            }
            #[cfg(feature = "tls")]
            Transport::Tls(t) => {
                let mut t = t.lock();
                t.close_notify();
                let _ = t.sock.shutdown(Shutdown::Write);
            }
        }
    }

    /// Reads into `buf`, as `Read::read` does (for callers holding a shared reference).
    pub(crate) fn read_into(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut this = self;
        this.read(buf)
    }

    /// Reads and throws away raw bytes, at most `limit` of them, until the peer closes,
    /// the socket would block, or an error. Used while lingering after a failed connection
    /// or the server's Close, so that unread data does not make the kernel answer with a
    /// reset that could destroy our Close frame in flight. The limit keeps a peer that floods
    /// us from holding the caller here past its deadlines.
    pub(crate) fn discard_input(&self, limit: usize) -> Discarded {
        match self {
            Transport::Plain(s) => discard(&mut &**s, limit),
            #[cfg(feature = "tls")]
            Transport::Tls(t) => discard(&mut &t.lock().sock, limit),
        }
    }
}

/// How [`Transport::discard_input`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Discarded {
    /// The peer closed (or the socket failed): nothing more will come.
    Closed,
    /// Nothing more to read for now.
    Drained,
    /// The limit was reached; more may be waiting.
    Limit,
}

fn discard(socket: &mut impl Read, limit: usize) -> Discarded {
    let mut scratch = [0u8; 4096];
    let mut left = limit;
    while left > 0 {
        match socket.read(&mut scratch[..left.min(4096)]) {
            Ok(0) => return Discarded::Closed,
            Ok(n) => left -= n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Discarded::Drained,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Discarded::Closed,
        }
    }
    Discarded::Limit
}

impl Read for &Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).read(buf),
            #[cfg(feature = "tls")]
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
            #[cfg(feature = "tls")]
            Transport::Tls(t) => t.lock().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => (&**s).flush(),
            #[cfg(feature = "tls")]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer that never stops sending.
    struct Endless;

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(0x5A);
            Ok(buf.len())
        }
    }

    #[test]
    fn discarding_stops_at_its_limit_however_much_comes() {
        assert_eq!(discard(&mut Endless, 10_000), Discarded::Limit);
        assert_eq!(discard(&mut &[1u8; 100][..], 10_000), Discarded::Closed);
    }
}
