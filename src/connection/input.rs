//! The connection thread's read buffer: received bytes not yet fed to the message layer.
//!
//! It starts small, so that a quiet connection holds little (10,000 idle connections hold
//! 4 KiB each), doubles whenever a read fills it, so that a busy one reads in few syscalls
//! (tungstenite and tokio-tungstenite read up to 128 KiB at a time too), and goes back to the
//! smallest size when the connection has been quiet for a while (`shrink`). A server
//! trickling bytes never fills it, so never makes it grow.

use std::io;

/// The read buffer's smallest and largest sizes.
pub(super) const MIN: usize = 4 * 1024;
pub(super) const MAX: usize = 128 * 1024;

pub(super) struct Input {
    /// Received bytes not yet fed: `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The last read filled `buf`: the next one gets one twice as large.
    filled: bool,
}

impl Input {
    /// A buffer holding `tail`, the bytes that arrived with the upgrade answer.
    pub(super) fn new(tail: &[u8]) -> Input {
        let mut buf = vec![0; MIN.max(tail.len())];
        buf[..tail.len()].copy_from_slice(tail);
        Input { buf, start: 0, end: tail.len(), filled: false }
    }

    /// The bytes not yet fed.
    pub(super) fn unread(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub(super) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// `n` bytes of [`unread`](Self::unread) were fed.
    pub(super) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Forgets the unread bytes (while lingering, input is thrown away).
    pub(super) fn clear(&mut self) {
        self.start = self.end;
    }

    /// Reads with `read` into the buffer, which must hold nothing unread; grows it first if
    /// the last read filled it.
    pub(super) fn read_with(&mut self, read: impl FnOnce(&mut [u8]) -> io::Result<usize>) -> io::Result<usize> {
        debug_assert!(self.is_empty(), "a read would overwrite unread input");
        if self.filled && self.buf.len() < MAX {
            // Nothing unread is in it: a fresh one will do, no copy.
            self.buf = vec![0; (self.buf.len() * 2).min(MAX)];
        }
        let n = read(&mut self.buf)?;
        (self.start, self.end) = (0, n);
        self.filled = n == self.buf.len();
        Ok(n)
    }

    /// The last read filled the buffer: the socket may hold more.
    pub(super) fn filled(&self) -> bool {
        self.filled
    }

    /// Larger than an idle connection needs.
    pub(super) fn is_grown(&self) -> bool {
        self.buf.len() > MIN
    }

    /// Back to the smallest size, unless it holds bytes not yet fed.
    pub(super) fn shrink(&mut self) {
        if self.is_empty() && self.is_grown() {
            *self = Input::new(&[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `n` bytes (or as many as fit) of `byte`.
    fn fill(input: &mut Input, n: usize, byte: u8) -> usize {
        input
            .read_with(|room| {
                let n = n.min(room.len());
                room[..n].fill(byte);
                Ok(n)
            })
            .unwrap()
    }

    #[test]
    fn grows_while_reads_fill_it_up_to_its_largest() {
        let mut input = Input::new(&[]);
        let mut sizes = Vec::new();
        for _ in 0..8 {
            sizes.push(fill(&mut input, usize::MAX, 7));
            input.consume(usize::MAX);
        }
        assert_eq!(sizes, [MIN, 2 * MIN, 4 * MIN, 8 * MIN, 16 * MIN, MAX, MAX, MAX]);
    }

    #[test]
    fn a_trickle_never_grows_it() {
        let mut input = Input::new(&[]);
        for _ in 0..1000 {
            assert_eq!(fill(&mut input, 1, 1), 1);
            assert_eq!(input.unread(), [1]);
            input.consume(1);
        }
        assert!(!input.is_grown());
    }

    #[test]
    fn shrinks_only_when_nothing_is_unread() {
        let mut input = Input::new(&[]);
        fill(&mut input, usize::MAX, 1);
        input.consume(MIN);
        fill(&mut input, usize::MAX, 2); // grown to 2 × MIN, all of it unread
        input.consume(10);
        input.shrink();
        assert_eq!(input.unread().len(), 2 * MIN - 10, "unread bytes are kept");
        input.clear();
        input.shrink();
        assert!(!input.is_grown() && input.is_empty());
        assert_eq!(fill(&mut input, usize::MAX, 3), MIN, "and it starts small again");
    }

    #[test]
    fn starts_with_the_tail_however_long() {
        let tail = vec![9u8; 3 * MIN];
        let input = Input::new(&tail);
        assert_eq!(input.unread(), &tail[..]);
    }
}
