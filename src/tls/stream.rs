//! rustls over a non-blocking socket.
//!
//! `rustls::StreamOwned` is not used: on a non-blocking socket its `write` returns `Ok(0)`
//! when rustls's send buffer is full, which writers take for a reset connection
//! (rustls issue 2556; reproduced here, see shared/NOTES.md). [`TlsStream`] reports
//! "no progress" as `WouldBlock` instead, and only after the socket itself said so, so the
//! poller's edge-triggered readiness always comes back.

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::tls_error;
use crate::error::Error;
use crate::report::TlsInfo;

/// rustls over a non-blocking mio socket.
pub(crate) struct TlsStream {
    pub(crate) conn: ClientConnection,
    pub(crate) sock: TcpStream,
}

/// What the TLS handshake needs before it can go on.
pub(crate) enum Need {
    Done,
    Io,
}

impl TlsStream {
    pub(crate) fn new(config: Arc<ClientConfig>, host: &str, sock: TcpStream) -> Result<Self, Error> {
        // An IPv6 literal comes bracketed from the URL; ServerName wants it bare.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_owned())
            .map_err(|e| Error::InvalidUrl(format!("{host:?} is not a valid TLS server name: {e}")))?;
        let conn = ClientConnection::new(config, name).map_err(|e| Error::Tls(Box::new(e)))?;
        Ok(TlsStream { conn, sock })
    }

    /// Moves the handshake on as far as the socket allows, without blocking.
    pub(crate) fn handshake_step(&mut self) -> Result<Need, Error> {
        loop {
            let mut progressed = false;
            while self.conn.wants_write() {
                match self.conn.write_tls(&mut NoSigPipe(&self.sock)) {
                    Ok(_) => progressed = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Error::Io(e)),
                }
            }
            if !self.conn.is_handshaking() {
                return Ok(Need::Done);
            }
            if self.conn.wants_read() {
                match self.conn.read_tls(&mut self.sock) {
                    Ok(0) => {
                        return Err(Error::Io(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "connection closed during the TLS handshake",
                        )))
                    }
                    Ok(_) => {
                        progressed = true;
                        if let Err(e) = self.conn.process_new_packets() {
                            // Tell the server why (the alert rustls queued), best effort.
                            let _ = self.conn.write_tls(&mut NoSigPipe(&self.sock));
                            return Err(tls_error(e));
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => progressed = true,
                    Err(e) => return Err(Error::Io(e)),
                }
            }
            if !progressed {
                return Ok(Need::Io);
            }
        }
    }

    pub(crate) fn info(&self) -> TlsInfo {
        TlsInfo {
            protocol_version: self.conn.protocol_version().map(|v| format!("{v:?}")).unwrap_or_default(),
            cipher_suite: self
                .conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
        }
    }

    /// Writes out what rustls holds, until done or the socket would block.
    fn write_backlog(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut NoSigPipe(&self.sock)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends close_notify, as far as the socket takes it.
    pub(crate) fn close_notify(&mut self) {
        self.conn.send_close_notify();
        let _ = self.write_backlog();
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // Plaintext first: rustls may already hold decrypted bytes.
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            // Then more records from the socket; WouldBlock from here is the socket's own.
            match self.conn.read_tls(&mut self.sock)? {
                0 => {} // EOF: the reader reports a clean or an unclean end next time round.
                _ => {
                    if let Err(e) = self.conn.process_new_packets() {
                        let _ = self.conn.write_tls(&mut NoSigPipe(&self.sock));
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
            }
            // A key update or alert may want an answer; never let it block a read.
            if self.conn.wants_write() {
                match self.write_backlog() {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Empty the backlog first so rustls has room; WouldBlock here means the socket is full.
        self.write_backlog()?;
        let n = self.conn.writer().write(buf)?;
        if n == 0 && !buf.is_empty() {
            // rustls's buffer is full although the socket took everything offered: cannot
            // happen with the backlog written above, but never report Ok(0) (see module doc).
            return Err(io::ErrorKind::WouldBlock.into());
        }
        // Encrypt and send what we can now; a full socket leaves the rest for `flush`.
        match self.write_backlog() {
            Ok(()) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(n),
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        self.write_backlog()
    }
}

/// The socket as rustls's TLS writer sees it: plain `write`s only. rustls would otherwise use
/// vectored writes, which std does with `writev`; on a connection the peer has reset that
/// raises SIGPIPE, killing a host program that does not ignore it (a C program loading a
/// plugin, say), where std's `send` passes `MSG_NOSIGNAL`. (mio sets `SO_NOSIGPIPE` on Apple
/// systems; Windows has no SIGPIPE.)
struct NoSigPipe<'a>(&'a TcpStream);

impl Write for NoSigPipe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
