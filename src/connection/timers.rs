//! The connection thread's deadlines. It sleeps until the earliest one, so a new kind of
//! deadline (the ping interval, the pong deadline, a stalled write) is a new variant here,
//! not another special case in the loop.

use std::time::Instant;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The close handshake (and the TCP close after it) must be over by then.
    Close,
    /// Time to send a ping (`ping_interval`).
    Ping,
    /// Something must have arrived by then since our ping (`pong_timeout`).
    Pong,
    /// Queued bytes must have made some progress by then (`write_timeout`).
    Write,
    /// Spare chunks of the outgoing queue go back to the allocator if it is idle by then.
    Trim,
}

const ALL: [Timer; 5] = [Timer::Close, Timer::Ping, Timer::Pong, Timer::Write, Timer::Trim];

/// One optional deadline per [`Timer`].
#[derive(Debug, Default)]
pub(crate) struct Timers {
    at: [Option<Instant>; ALL.len()],
}

impl Timers {
    /// Sets `timer` unless it is already set: a deadline, once started, is not pushed back.
    pub(crate) fn start(&mut self, timer: Timer, at: Instant) {
        self.at[timer as usize].get_or_insert(at);
    }

    /// Sets `timer` to `at`, replacing any deadline it had.
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer as usize] = Some(at);
    }

    /// Unsets `timer`.
    pub(crate) fn clear(&mut self, timer: Timer) {
        self.at[timer as usize] = None;
    }

    /// The deadline of `timer`, if set.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer as usize]
    }

    /// The earliest deadline, if any.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }

    /// A timer whose deadline has passed, if any (it stays set).
    pub(crate) fn due(&self, now: Instant) -> Option<Timer> {
        ALL.into_iter().find(|t| self.at[*t as usize].is_some_and(|at| at <= now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_started_deadline_is_not_pushed_back() {
        let now = Instant::now();
        let mut timers = Timers::default();
        assert_eq!((timers.next(), timers.due(now)), (None, None));
        timers.start(Timer::Close, now + Duration::from_secs(1));
        timers.start(Timer::Close, now + Duration::from_secs(5));
        assert_eq!(timers.next(), Some(now + Duration::from_secs(1)));
        assert_eq!(timers.due(now), None);
        assert_eq!(timers.due(now + Duration::from_secs(1)), Some(Timer::Close));
    }
}
