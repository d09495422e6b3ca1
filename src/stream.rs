//! The byte stream tungstenite sees: reads come from the transport, watched by the UTF-8
//! guard; writes go into the connection's [`Outbox`], the one queue every frame leaves by.

use std::io::{self, Read, Write};
use std::sync::Arc;

use crate::outbox::Outbox;
use crate::transport::Transport;
use crate::utf8_guard::Utf8Guard;

pub(crate) struct WsStream {
    pub(crate) transport: Transport,
    pub(crate) guard: Utf8Guard,
    pub(crate) outbox: Arc<Outbox>,
}

impl WsStream {
    /// `tail` is what was read past the handshake, which tungstenite gets without reading
    /// it through us: the guard must see it first.
    pub(crate) fn new(transport: Transport, tail: &[u8], outbox: Arc<Outbox>) -> WsStream {
        let mut guard = Utf8Guard::default();
        guard.scan(tail);
        WsStream { transport, guard, outbox }
    }
}

impl Read for WsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.transport.read(buf)?;
        self.guard.scan(&buf[..n]);
        Ok(n)
    }
}

impl Write for WsStream {
    /// tungstenite writes whole frames (its whole buffer at once); they join the queue
    /// behind what senders queued, and leave with the next flush.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outbox.push_raw(buf);
        Ok(buf.len())
    }

    /// Writes the queue to the transport; `WouldBlock` while the socket is full.
    fn flush(&mut self) -> io::Result<()> {
        self.outbox.flush_into(&mut self.transport)
    }
}
