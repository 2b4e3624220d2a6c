//! The connection's fixed timer table: one deadline per timer kind, no heap.

use std::time::Instant;

/// The timers a connection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// The closing handshake must finish by then (close timeout).
    Close = 0,
    /// The next keepalive ping is due.
    Keepalive = 1,
    /// The pong for the last keepalive ping is due.
    Pong = 2,
}

const ALL: [Timer; 3] = [Timer::Close, Timer::Keepalive, Timer::Pong];

/// Deadlines indexed by [`Timer`].
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; 3],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.deadlines[timer as usize].is_some()
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [None; 3];
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Removes and returns the earliest timer whose deadline is at or before `now`.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = ALL
            .into_iter()
            .filter(|t| self.deadlines[*t as usize].is_some_and(|d| d <= now))
            .min_by_key(|t| self.deadlines[*t as usize])?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expired_timers_pop_in_deadline_order() {
        #[allow(clippy::disallowed_methods)] // a test needs some instant to start from
        let t0 = Instant::now();
        let mut t = TimerTable::default();
        t.set(Timer::Pong, t0 + Duration::from_secs(1));
        t.set(Timer::Close, t0 + Duration::from_secs(2));
        t.set(Timer::Keepalive, t0 + Duration::from_secs(5));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(1)));
        let now = t0 + Duration::from_secs(3);
        assert_eq!(t.pop_expired(now), Some(Timer::Pong));
        assert_eq!(t.pop_expired(now), Some(Timer::Close));
        assert_eq!(t.pop_expired(now), None);
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(5)));
    }
}
