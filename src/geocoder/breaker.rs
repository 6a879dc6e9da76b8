//! A circuit breaker and the clock it (and the cache) reads.
//!
//! States: **closed** (calls go through; consecutive failures are counted), **open** (after
//! `failure_threshold` consecutive failures: no call goes out until `cooldown` has passed),
//! **half-open** (after the cooldown: exactly one probe call goes out; its success closes the
//! breaker, its failure opens it for another cooldown). A success in any state resets the
//! count. No I/O: the caller asks [`Breaker::allow`] before a call and reports the outcome.
//!
//! Hand-written because the maintained crate that offers one, `failsafe` (1.3.0, evaluated),
//! does not fit: its half-open state lets every call through until one reports, where this one
//! lets exactly one probe out; its only test clock is a thread-local one set around a closure,
//! which a multi-threaded runtime does not see and which cannot be given to one breaker; and it
//! probes only once strictly more than the cooldown has passed. The state machine is the few
//! lines below.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A source of the current instant, so that time-based behaviour can be tested without
/// waiting.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to; for tests and simulations.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Instant>>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self {
            now: Arc::new(Mutex::new(Instant::now())),
        }
    }
}

impl ManualClock {
    /// A clock standing at the real now.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The breaker's state, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// No calls until the cooldown ends.
    Open,
    /// One probe call is allowed (or is in flight).
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// A circuit breaker; see the module docs.
#[derive(Debug)]
pub struct Breaker {
    failure_threshold: u32,
    cooldown: Duration,
    inner: Mutex<Inner>,
}

impl Breaker {
    /// A closed breaker that opens after `failure_threshold` (at least 1) consecutive failures
    /// and stays open for `cooldown`.
    #[must_use]
    pub fn new(failure_threshold: u32, cooldown: Duration) -> Self {
        Self {
            failure_threshold: failure_threshold.max(1),
            cooldown,
            inner: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every state is whole after each assignment, so a poisoned lock holds a valid one.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a call may go out now. In half-open state the first caller gets the probe and
    /// later callers are refused until it reports.
    pub fn allow(&self, now: Instant) -> bool {
        let mut s = self.lock();
        match *s {
            Inner::Closed { .. } => true,
            Inner::Open { until } if now >= until => {
                *s = Inner::HalfOpen { probing: true };
                true
            }
            Inner::Open { .. } | Inner::HalfOpen { probing: true } => false,
            Inner::HalfOpen { probing: false } => {
                *s = Inner::HalfOpen { probing: true };
                true
            }
        }
    }

    /// Reports a successful call: the breaker closes.
    pub fn success(&self) {
        *self.lock() = Inner::Closed { failures: 0 };
    }

    /// Reports a failed call.
    pub fn failure(&self, now: Instant) {
        let mut s = self.lock();
        *s = match *s {
            Inner::Closed { failures } if failures + 1 < self.failure_threshold => Inner::Closed {
                failures: failures + 1,
            },
            Inner::Closed { .. } | Inner::HalfOpen { .. } => Inner::Open {
                until: now + self.cooldown,
            },
            // A call let through before the breaker opened: keep the current cooldown.
            Inner::Open { until } => Inner::Open { until },
        };
    }

    /// The state now (an open breaker whose cooldown has passed reports half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        match *self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if now >= until => BreakerState::HalfOpen,
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(30);

    #[test]
    fn it_opens_after_the_threshold_of_consecutive_failures() {
        let clock = ManualClock::new();
        let b = Breaker::new(3, COOL);
        for _ in 0..2 {
            assert!(b.allow(clock.now()));
            b.failure(clock.now());
        }
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        b.failure(clock.now());
        assert_eq!(b.state(clock.now()), BreakerState::Open);
        assert!(!b.allow(clock.now()));
    }

    #[test]
    fn a_success_resets_the_count() {
        let clock = ManualClock::new();
        let b = Breaker::new(2, COOL);
        b.failure(clock.now());
        b.success();
        b.failure(clock.now());
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
    }

    #[test]
    fn after_the_cooldown_one_probe_goes_out() {
        let clock = ManualClock::new();
        let b = Breaker::new(1, COOL);
        b.failure(clock.now());
        clock.advance(COOL.saturating_sub(Duration::from_millis(1)));
        assert!(!b.allow(clock.now()));
        clock.advance(Duration::from_millis(1));
        assert_eq!(b.state(clock.now()), BreakerState::HalfOpen);
        assert!(b.allow(clock.now()), "the probe");
        assert!(!b.allow(clock.now()), "only one probe at a time");
        b.success();
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        assert!(b.allow(clock.now()));
    }

    #[test]
    fn a_failed_probe_opens_it_for_another_cooldown() {
        let clock = ManualClock::new();
        let b = Breaker::new(1, COOL);
        b.failure(clock.now());
        clock.advance(COOL);
        assert!(b.allow(clock.now()));
        b.failure(clock.now());
        assert_eq!(b.state(clock.now()), BreakerState::Open);
        clock.advance(COOL.saturating_sub(Duration::from_secs(1)));
        assert!(!b.allow(clock.now()));
        clock.advance(Duration::from_secs(1));
        assert!(b.allow(clock.now()));
    }
}
