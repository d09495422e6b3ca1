//! Polling before sleeping, while it pays: the wake-up a request/response exchange saves.
//!
//! A thread asleep in the poller that is woken when the answer arrives pays for the wake-up:
//! a few µs on bare metal, tens of µs on a virtual machine whose idle CPU halted (measured
//! on the 2-vCPU VM of `benches/compare.rs`: a 16 B round trip through the connection
//! thread took 58 µs sleeping at once and 36 µs polling for 30 µs first, raw tungstenite's
//! blocking read 54 µs). So before it sleeps, the thread first polls without blocking for
//! up to `Options::busy_poll`, as Linux's `SO_BUSY_POLL` does in the kernel.
//!
//! Only while it pays: polls that catch nothing several times in a row mean the traffic is
//! not that quick, and the next sleeps skip the poll, 1, 3, 7, … up to 63 of them; one that
//! catches something starts polling every time again. (A miss now and then, an answer a bit
//! late, costs only its window, not the skipped polls after it.) A connection that goes
//! quiet polls a few times after its last message, then sleeps at once: idle costs nothing.
//! A feed whose messages come further apart than the window polls in one sleep of 64.

use std::time::Duration;

/// Misses in a row before polls are skipped.
const TOLERATED_MISSES: u32 = 2;
/// Sleeps skipped after so many misses in a row beyond those tolerated, at most:
/// `2^MAX_BACKOFF - 1`.
const MAX_BACKOFF: u32 = 6;

pub(super) struct BusyPoll {
    /// `Options::busy_poll`; zero never polls.
    window: Duration,
    /// Polls in a row that caught nothing.
    misses: u32,
    /// Sleeps still to go without polling.
    skip: u32,
}

impl BusyPoll {
    pub(super) fn new(window: Duration) -> BusyPoll {
        BusyPoll { window, misses: 0, skip: 0 }
    }

    /// How long the coming sleep polls first (zero: none).
    pub(super) fn next(&mut self) -> Duration {
        if self.skip > 0 {
            self.skip -= 1;
            return Duration::ZERO;
        }
        self.window
    }

    /// The poll of the last sleep caught an event, or not.
    pub(super) fn polled(&mut self, caught: bool) {
        if caught {
            self.misses = 0;
        } else {
            self.misses = (self.misses + 1).min(TOLERATED_MISSES + MAX_BACKOFF);
            self.skip = (1 << self.misses.saturating_sub(TOLERATED_MISSES)) - 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Duration = Duration::from_micros(50);

    /// Which of the next `n` sleeps poll, each poll missing.
    fn pattern(b: &mut BusyPoll, n: usize) -> String {
        (0..n)
            .map(|_| {
                if b.next().is_zero() {
                    '.'
                } else {
                    b.polled(false);
                    'P'
                }
            })
            .collect()
    }

    #[test]
    fn misses_back_off_exponentially_and_a_catch_resets() {
        let mut b = BusyPoll::new(W);
        assert_eq!(pattern(&mut b, 18), "PPP.P...P.......P.");
        // The gaps between polls double up to 64 sleeps, then stay there.
        let mut b = BusyPoll::new(W);
        let polls: Vec<usize> = pattern(&mut b, 600).match_indices('P').map(|(i, _)| i).collect();
        let gaps: Vec<usize> = polls.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps[..9], [1, 1, 2, 4, 8, 16, 32, 64, 64]);
        // A catch: every sleep polls again.
        while b.next().is_zero() {}
        b.polled(true);
        for _ in 0..10 {
            assert_eq!(b.next(), W);
            b.polled(true);
        }
    }

    #[test]
    fn zero_never_polls() {
        let mut b = BusyPoll::new(Duration::ZERO);
        assert!((0..100).all(|_| b.next().is_zero()));
    }
}
