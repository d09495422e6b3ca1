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

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).write(buf),
            Transport::Tls(t) => t.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(s) => (&**s).write_vectored(bufs),
            Transport::Tls(t) => t.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(s) => (&**s).flush(),
            Transport::Tls(t) => t.flush(),
        }
    }
}
