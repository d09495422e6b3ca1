//! The outgoing side of a connection: one byte queue of whole frames, filled from any thread.
//!
//! A sender frames and masks its message on its own thread and appends it here, so the
//! connection thread never touches the payload and the message's memory is freed where it
//! was allocated. tungstenite's own frames (pongs, the Close) enter the same queue through
//! [`WsStream`](crate::stream::WsStream), and every frame goes in whole under one lock, so
//! frames never interleave and leave in the order they were queued.
//!
//! Who writes the queue to the socket (one writer at a time, never under the lock):
//! - while the connection thread is awake, it does, for everyone: a burst of sends leaves in
//!   one write, and senders pay no wake-up;
//! - while it sleeps, a sender on a plain TCP connection writes the queue itself: one send,
//!   one syscall, no thread hop. Anything the socket does not take (or any error) is left for
//!   the connection thread, which is woken for it. TLS state lives on the connection thread,
//!   so on `wss://` the sender wakes it instead.
//!
//! The wake-up (a syscall) rings at most once per sleep.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use mio::Waker;
use parking_lot::{Condvar, Mutex};

use crate::close::CloseCode;

/// WebSocket opcodes of the frames senders queue (RFC 6455 §5.2).
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xA;

/// The outgoing queue of one connection, shared by its senders and its thread.
pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    /// Signalled when a writer puts back what it took (see `Queue::writing`).
    writer_done: Condvar,
    waker: Arc<Waker>,
}

/// Small frames are packed into chunks of this size, so that a burst leaves in few writes;
/// a larger frame is a chunk of its own.
const CHUNK: usize = 64 * 1024;
/// Emptied chunks kept for reuse, so a steady stream of sends allocates nothing (and a
/// stream of large messages does not fault in fresh pages for each): at most this many, of
/// at most `SPARE_BYTES` together.
const SPARE_CHUNKS: usize = 4;
const SPARE_BYTES: usize = 4 << 20;
/// Chunks a writer takes out of the queue at once.
const WRITE_CHUNKS: usize = 64;

struct Queue {
    /// Whole frames waiting to leave, oldest first; the first chunk's first `head_written`
    /// bytes have left already.
    chunks: VecDeque<Vec<u8>>,
    head_written: usize,
    /// Bytes in `chunks` not yet written.
    pending: usize,
    /// A writer (the thread or a sender) has taken chunks out and is writing them, without
    /// the lock held: nobody else writes until it has put back what the socket did not take.
    writing: bool,
    spare: Vec<Vec<u8>>,
    /// Bytes ever queued and ever written: `ends` are counted in these.
    queued_total: u64,
    written_total: u64,
    /// Where each queued data message ends, to tell how many never left.
    ends: VecDeque<u64>,
    /// No more data messages: a Close is on its way, or the connection is over.
    closed: bool,
    /// A disconnect asked for from another thread, for the connection thread to act on.
    close_request: Option<(CloseCode, String)>,
    /// The connection thread is awake and will look at the queue before it sleeps.
    awake: bool,
    /// A wake-up was rung and the thread has not woken since.
    woken: bool,
    /// The last write stopped on a full socket: senders leave the rest to the thread, which
    /// waits for the socket to become writable, instead of each trying again.
    blocked: bool,
    /// Plain TCP only, while the connection lives: the socket senders may write to.
    socket: Option<Arc<TcpStream>>,
}

impl Outbox {
    /// An empty queue; `socket` is given for plain TCP, whose senders may write themselves.
    pub(crate) fn new(waker: Arc<Waker>, socket: Option<Arc<TcpStream>>) -> Outbox {
        Outbox { queue: Mutex::new(Queue::new(socket)), writer_done: Condvar::new(), waker }
    }

    // ---- senders' side ----

    /// Queues one frame with `payload`; `data` for text and binary messages. Fails once the
    /// connection is closing or over.
    pub(crate) fn send(&self, opcode: u8, payload: &[u8], data: bool) -> Result<(), ()> {
        let mut q = self.queue.lock();
        if q.closed {
            return Err(());
        }
        q.push_frame(opcode, payload);
        if data {
            let end = q.queued_total;
            q.ends.push_back(end);
        }
        // While the thread is awake it writes for everyone, in batches. (Letting a sender
        // write a full chunk itself was tried: no gain measured, on bulk or 1 KiB messages.)
        if q.writing || q.blocked || q.awake {
            return Ok(());
        }
        let Some(socket) = q.socket.clone() else {
            self.wake(&mut q); // TLS: only the (sleeping) thread can write
            return Ok(());
        };
        drop(q);
        if self.write(&mut &*socket, false).is_err() {
            // The socket is full (or failing): the thread takes over and meets the error itself.
            let mut q = self.queue.lock();
            if !q.awake {
                self.wake(&mut q);
            }
        }
        Ok(())
    }

    /// Asks the connection thread to close with `code` and `reason`, after everything queued.
    /// Later sends fail. Always wakes the thread: the close deadline starts now.
    pub(crate) fn request_close(&self, code: CloseCode, reason: String) {
        let mut q = self.queue.lock();
        q.closed = true;
        q.close_request.get_or_insert((code, reason));
        q.woken = true;
        let _ = self.waker.wake();
    }

    fn wake(&self, q: &mut Queue) {
        if !q.woken {
            q.woken = true;
            // A failed wake means the poller is gone, i.e. the thread has ended.
            let _ = self.waker.wake();
        }
    }

    /// Writes the queue to `out` until it is empty (Ok) or the socket would block. If another
    /// writer is at work, returns Ok at once (it takes care of the queue), or with `wait`
    /// waits for it to finish its non-blocking writes and carries on. The lock is not held
    /// during the writes themselves.
    fn write(&self, out: &mut impl Write, wait: bool) -> io::Result<()> {
        let mut batch: VecDeque<Vec<u8>> = VecDeque::new();
        let mut done: Vec<Vec<u8>> = Vec::new();
        let mut q = self.queue.lock();
        loop {
            if q.writing {
                if !wait {
                    return Ok(());
                }
                self.writer_done.wait(&mut q);
                continue;
            }
            if q.pending == 0 {
                return Ok(());
            }
            q.writing = true;
            let take = q.chunks.len().min(WRITE_CHUNKS);
            batch.extend(q.chunks.drain(..take));
            let mut skip = std::mem::take(&mut q.head_written);
            drop(q);

            let (wrote, result) = write_batch(out, &mut batch, &mut skip, &mut done);

            q = self.queue.lock();
            q.writing = false;
            self.writer_done.notify_all();
            q.pending -= wrote;
            q.written_total += wrote as u64;
            let written_total = q.written_total;
            while q.ends.front().is_some_and(|end| *end <= written_total) {
                q.ends.pop_front();
            }
            // What the socket did not take goes back in front, before anything queued since.
            while let Some(chunk) = batch.pop_back() {
                q.chunks.push_front(chunk);
            }
            q.head_written = skip;
            q.blocked = matches!(&result, Err(e) if e.kind() == io::ErrorKind::WouldBlock);
            for mut chunk in done.drain(..) {
                let kept: usize = q.spare.iter().map(Vec::capacity).sum();
                if q.spare.len() < SPARE_CHUNKS && kept + chunk.capacity() <= SPARE_BYTES {
                    chunk.clear();
                    q.spare.push(chunk);
                }
            }
            result?;
        }
    }

    // ---- the connection thread's side ----

    /// The thread is awake: senders leave the writing to it. `writable`: the poller said
    /// the socket takes bytes again.
    pub(crate) fn woke_up(&self, writable: bool) {
        let mut q = self.queue.lock();
        q.awake = true;
        q.woken = false;
        if writable {
            q.blocked = false;
        }
    }

    /// The thread wants to sleep. Refused (false) while it has work: a close request, or
    /// bytes to write on a socket that takes them. Otherwise senders write for themselves
    /// (or wake it) from now on.
    pub(crate) fn may_sleep(&self, can_write: bool) -> bool {
        let mut q = self.queue.lock();
        // A sender writing at this moment finishes the job, or wakes us for what is left.
        if q.close_request.is_some() || (can_write && q.pending > 0 && !q.writing) {
            return false;
        }
        if q.pending == 0 && q.spare.len() > 1 {
            // Idle: a burst's spare chunks (up to SPARE_BYTES) go back to the allocator; one
            // ordinary chunk stays for the next message.
            q.spare.retain(|c| c.capacity() == CHUNK);
            q.spare.truncate(1);
        }
        q.awake = false;
        true
    }

    /// True while bytes wait to be written.
    pub(crate) fn has_pending(&self) -> bool {
        self.queue.lock().pending > 0
    }

    pub(crate) fn take_close_request(&self) -> Option<(CloseCode, String)> {
        self.queue.lock().close_request.take()
    }

    /// No more data messages from now on (a Close is being sent or the connection failed).
    pub(crate) fn close(&self) {
        self.queue.lock().closed = true;
    }

    /// Appends bytes tungstenite wrote: always whole frames (it writes its buffer at once).
    pub(crate) fn push_raw(&self, bytes: &[u8]) {
        let mut q = self.queue.lock();
        q.chunk_for(bytes.len()).extend_from_slice(bytes);
        q.pending += bytes.len();
        q.queued_total += bytes.len() as u64;
    }

    /// Writes the queue to `out` (the transport), then flushes it. `WouldBlock` when the
    /// socket took only part. Ok means everything queued has left (a Close may follow it,
    /// then a FIN), so a sender's write in progress is waited for.
    pub(crate) fn flush_into(&self, out: &mut impl Write) -> io::Result<()> {
        self.write(out, true)?;
        out.flush()
    }

    /// The connection is over: refuses further sends, lets go of the socket and returns how
    /// many data messages never left, and how many queued bytes were never written.
    pub(crate) fn finish(&self) -> (usize, u64) {
        let mut q = self.queue.lock();
        // A sender's write in progress (one non-blocking write) puts its chunks back first.
        while q.writing {
            self.writer_done.wait(&mut q);
        }
        let unsent = (q.ends.len(), q.queued_total - q.written_total);
        *q = Queue::new(None);
        q.closed = true;
        unsent
    }
}

/// Writes `batch` (the first chunk from `skip` on) until done or an error; written chunks
/// move to `done`, and `skip` ends as the offset into the first unfinished one. Returns the
/// bytes written and how it ended. One `write` per chunk, not `writev`: see `Transport`.
fn write_batch(
    out: &mut impl Write,
    batch: &mut VecDeque<Vec<u8>>,
    skip: &mut usize,
    done: &mut Vec<Vec<u8>>,
) -> (usize, io::Result<()>) {
    let mut wrote = 0;
    while let Some(chunk) = batch.front() {
        match out.write(&chunk[*skip..]) {
            Ok(0) => return (wrote, Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                wrote += n;
                *skip += n;
                if *skip == chunk.len() {
                    *skip = 0;
                    done.extend(batch.pop_front());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (wrote, Err(e)),
        }
    }
    (wrote, Ok(()))
}

impl Queue {
    fn new(socket: Option<Arc<TcpStream>>) -> Queue {
        Queue {
            chunks: VecDeque::new(),
            head_written: 0,
            pending: 0,
            writing: false,
            spare: Vec::new(),
            queued_total: 0,
            written_total: 0,
            ends: VecDeque::new(),
            closed: false,
            close_request: None,
            // The thread starts awake: it looks at the queue before its first sleep.
            awake: true,
            woken: false,
            blocked: false,
            socket,
        }
    }

    /// The chunk a frame of `len` bytes goes into: the last one if it has room (growing it
    /// would copy everything in it), else a spare or a new one.
    fn chunk_for(&mut self, len: usize) -> &mut Vec<u8> {
        let fits = self.chunks.back().is_some_and(|c| c.capacity() - c.len() >= len);
        if !fits {
            let chunk = match self.spare.iter().position(|c| c.capacity() >= len) {
                Some(i) => self.spare.swap_remove(i),
                None => Vec::with_capacity(len.max(CHUNK)),
            };
            self.chunks.push_back(chunk);
        }
        self.chunks.back_mut().expect("a chunk was just ensured")
    }

    /// Appends a masked client frame (RFC 6455 §5.2, §5.3) with FIN set.
    fn push_frame(&mut self, opcode: u8, payload: &[u8]) {
        let len = payload.len();
        let mut header = [0u8; 14];
        header[0] = 0x80 | opcode;
        let mut at = 2;
        if len < 126 {
            header[1] = 0x80 | len as u8;
        } else if len <= 0xFFFF {
            header[1] = 0x80 | 126;
            header[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            at = 4;
        } else {
            header[1] = 0x80 | 127;
            header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            at = 10;
        }
        // The mask must be unpredictable to the page's scripts (§10.3): rand's thread-local
        // generator is a CSPRNG seeded from the OS, the same source tungstenite uses.
        let mask: [u8; 4] = rand::random();
        header[at..at + 4].copy_from_slice(&mask);
        at += 4;
        let chunk = self.chunk_for(at + len);
        chunk.extend_from_slice(&header[..at]);
        let body = chunk.len();
        chunk.extend_from_slice(payload);
        apply_mask(&mut chunk[body..], mask);
        self.pending += at + len;
        self.queued_total += (at + len) as u64;
    }
}

/// XORs `data` with the repeating `mask`, eight bytes at a time where possible.
fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3]]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes((&*chunk).try_into().expect("8 bytes")) ^ wide;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    // The tail starts at a multiple of 8, hence of 4: the mask restarts at its first byte.
    for (byte, m) in chunks.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *byte ^= m;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An outbox (and the poll its waker belongs to) for other modules' tests.
    pub(crate) fn outbox_for_test() -> (Outbox, mio::Poll) {
        outbox()
    }

    /// Parses one masked client frame: (fin, opcode, unmasked payload, bytes used).
    fn parse(bytes: &[u8]) -> (bool, u8, Vec<u8>, usize) {
        let fin = bytes[0] & 0x80 != 0;
        let opcode = bytes[0] & 0x0F;
        assert!(bytes[1] & 0x80 != 0, "client frames are masked");
        let (len, mut at) = match bytes[1] & 0x7F {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize, 10),
            n => (n as usize, 2),
        };
        let mask = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        at += 4;
        let payload = bytes[at..at + len].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
        (fin, opcode, payload, at + len)
    }

    fn outbox() -> (Outbox, mio::Poll) {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(Waker::new(poll.registry(), mio::Token(1)).unwrap());
        (Outbox::new(waker, None), poll)
    }

    /// A writer that takes at most `step` bytes per call, and blocks once `budget` is spent.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
        budget: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.budget);
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.budget -= n;
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn frames_round_trip_at_every_length_class() {
        for len in [0, 1, 7, 8, 9, 125, 126, 127, 65535, 65536, 70_001] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let (outbox, _poll) = outbox();
            outbox.send(OP_BINARY, &payload, true).unwrap();
            let mut out = Trickle { out: Vec::new(), step: usize::MAX, budget: usize::MAX };
            outbox.flush_into(&mut out).unwrap();
            let (fin, opcode, got, used) = parse(&out.out);
            assert!(fin);
            assert_eq!(opcode, OP_BINARY);
            assert_eq!(got, payload, "length {len}");
            assert_eq!(used, out.out.len());
        }
    }

    #[test]
    fn partial_writes_keep_order_and_count_unsent_messages() {
        let (outbox, _poll) = outbox();
        let mut expected = Vec::new();
        let mut out = Trickle { out: Vec::new(), step: 5, budget: 0 };
        for i in 0..300u32 {
            // Small frames share chunks; every 50th is larger than a chunk.
            let len = if i % 50 == 49 { CHUNK + 3 } else { (i as usize * 13) % 300 };
            let payload = vec![i as u8; len];
            outbox.send(OP_BINARY, &payload, true).unwrap();
            expected.push((OP_BINARY, payload));
            if i % 7 == 0 {
                outbox.push_raw(&[0x8A, 0x80, 0, 0, 0, 0]); // an empty pong, as tungstenite writes it
                expected.push((OP_PONG, Vec::new()));
            }
            out.budget = 997;
            if let Err(e) = outbox.flush_into(&mut out) {
                assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
            }
        }
        let unsent = outbox.queue.lock().ends.len();
        assert!(unsent > 0 && unsent < 300, "{unsent}");
        out.budget = usize::MAX;
        outbox.flush_into(&mut out).unwrap();
        assert_eq!(outbox.queue.lock().pending, 0);
        assert_eq!(outbox.finish(), (0, 0));
        let mut at = 0;
        for (opcode, payload) in expected {
            let (_, got_opcode, got, used) = parse(&out.out[at..]);
            assert_eq!((got_opcode, got.len()), (opcode, payload.len()));
            assert_eq!(got, payload);
            at += used;
        }
        assert_eq!(at, out.out.len());
    }

    #[test]
    fn closed_outbox_refuses_data_and_counts_what_never_left() {
        let (outbox, _poll) = outbox();
        outbox.send(OP_TEXT, b"one", true).unwrap();
        outbox.send(OP_PING, b"", false).unwrap();
        outbox.send(OP_TEXT, b"two", true).unwrap();
        outbox.close();
        assert!(outbox.send(OP_TEXT, b"three", true).is_err());
        assert_eq!(outbox.finish().0, 2);
    }
}
