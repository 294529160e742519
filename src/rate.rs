//! The one call-rate limit of the client and the emulator: at most `N`
//! calls in any one-second window (a sliding window, as the service
//! documents its "5 calls per second per stream"), counted per key. The
//! client waits for its turn ([`RateLimiter::acquire`]); the emulator
//! refuses a call that is one too many ([`RateLimiter::try_acquire`]).
//! Time is tokio's clock, so tests with a paused clock see the waits.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

const WINDOW: Duration = Duration::from_secs(1);

/// At most `limit` calls per key in any one-second window.
#[derive(Debug)]
pub(crate) struct RateLimiter<K = ()> {
    limit: Option<u32>,
    windows: Mutex<HashMap<K, VecDeque<Instant>>>,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// `None`: no limit. `Some(0)` refuses every call.
    pub(crate) fn new(limit: Option<u32>) -> Self {
        RateLimiter {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// The most calls per second per key (`None`: no limit).
    #[cfg_attr(not(feature = "emulator"), allow(dead_code))]
    pub(crate) fn limit(&self) -> Option<u32> {
        self.limit
    }

    /// Counts a call for `key` made at `now`, or says how long until one
    /// is allowed (a refused call does not count).
    pub(crate) fn try_acquire(&self, key: &K, now: Instant) -> Result<(), Duration> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = match windows.get_mut(key) {
            Some(w) => w,
            None => windows.entry(key.clone()).or_default(),
        };
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            window.pop_front();
        }
        if window.len() < limit as usize {
            window.push_back(now);
            return Ok(());
        }
        // With a limit of 0 nothing is ever allowed: wait a whole window.
        let wait = window.front().map_or(WINDOW, |first| {
            WINDOW.saturating_sub(now.saturating_duration_since(*first))
        });
        Err(wait)
    }

    /// Waits until a call for `key` is allowed and counts it; how long it
    /// waited. Never returns with a limit of 0.
    #[cfg_attr(not(feature = "client"), allow(dead_code))]
    pub(crate) async fn acquire(&self, key: &K) -> Duration {
        let start = Instant::now();
        let mut waited = false;
        loop {
            match self.try_acquire(key, Instant::now()) {
                Ok(()) if waited => return start.elapsed(),
                Ok(()) => return Duration::ZERO,
                Err(wait) => {
                    waited = true;
                    tokio::time::sleep(wait + Duration::from_millis(1)).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window() {
        let limiter = RateLimiter::new(Some(5));
        let t = Instant::now();
        for i in 0..5 {
            assert_eq!(
                limiter.try_acquire(&(), t + Duration::from_millis(i * 10)),
                Ok(())
            );
        }
        // The sixth waits for the first to leave the window.
        assert_eq!(
            limiter.try_acquire(&(), t + Duration::from_millis(500)),
            Err(Duration::from_millis(500))
        );
        assert_eq!(
            limiter.try_acquire(&(), t + Duration::from_millis(999)),
            Err(Duration::from_millis(1))
        );
        assert_eq!(
            limiter.try_acquire(&(), t + Duration::from_millis(1000)),
            Ok(())
        );
        // Refused calls did not count: the second call of the first
        // window leaves at 1010 ms, and one more fits then.
        assert!(limiter
            .try_acquire(&(), t + Duration::from_millis(1005))
            .is_err());
        assert_eq!(
            limiter.try_acquire(&(), t + Duration::from_millis(1010)),
            Ok(())
        );
        assert_eq!(RateLimiter::new(None).try_acquire(&(), t), Ok(()));
        assert!(RateLimiter::new(Some(0)).try_acquire(&(), t).is_err());
    }

    #[test]
    fn keys_are_counted_apart() {
        let limiter = RateLimiter::new(Some(1));
        let t = Instant::now();
        assert_eq!(limiter.try_acquire(&"a", t), Ok(()));
        assert!(limiter.try_acquire(&"a", t).is_err());
        assert_eq!(limiter.try_acquire(&"b", t), Ok(()));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_its_turn() {
        let limiter = RateLimiter::new(Some(5));
        let start = Instant::now();
        let mut waited = Duration::ZERO;
        for _ in 0..11 {
            waited += limiter.acquire(&"s").await;
        }
        // Calls 6-10 wait for the first second, 11 for the second.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(2100), "{elapsed:?}");
        assert!(waited >= Duration::from_secs(2), "{waited:?}");
        assert_eq!(limiter.acquire(&"other").await, Duration::ZERO);
    }
}
