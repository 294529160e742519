//! The service's limits on clients: calls per second per stream (a sliding
//! window of one second) and concurrent GetMedia sessions per stream.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// At most `limit` calls in any one-second window.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: Option<u32>,
    calls: Mutex<VecDeque<Instant>>,
}

impl RateLimiter {
    /// `None`: no limit.
    pub fn new(limit: Option<u32>) -> Self {
        RateLimiter {
            limit,
            calls: Mutex::new(VecDeque::new()),
        }
    }

    /// The most calls per second (`None`: no limit).
    pub fn limit(&self) -> Option<u32> {
        self.limit
    }

    /// Counts a call; `false` when it is one too many (a refused call does
    /// not count).
    pub fn try_acquire(&self, now: Instant) -> bool {
        let Some(limit) = self.limit else {
            return true;
        };
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        while calls
            .front()
            .is_some_and(|&t| now.duration_since(t) >= Duration::from_secs(1))
        {
            calls.pop_front();
        }
        if calls.len() >= limit as usize {
            return false;
        }
        calls.push_back(now);
        true
    }
}

/// One open GetMedia session; closing it (dropping the guard) frees its
/// place.
#[derive(Debug)]
pub(crate) struct SessionGuard(Arc<AtomicUsize>);

impl SessionGuard {
    /// A place among at most `max` sessions, or `None` when all are taken.
    pub fn open(counter: &Arc<AtomicUsize>, max: Option<usize>) -> Option<SessionGuard> {
        let taken = counter.fetch_add(1, Ordering::SeqCst);
        if max.is_some_and(|m| taken >= m) {
            counter.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(SessionGuard(counter.clone()))
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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
            assert!(limiter.try_acquire(t + Duration::from_millis(i * 10)));
        }
        assert!(!limiter.try_acquire(t + Duration::from_millis(500)));
        assert!(!limiter.try_acquire(t + Duration::from_millis(999)));
        assert!(limiter.try_acquire(t + Duration::from_millis(1000)));
        assert!(RateLimiter::new(None).try_acquire(t));
    }

    #[test]
    fn sessions() {
        let counter = Arc::new(AtomicUsize::new(0));
        let a = SessionGuard::open(&counter, Some(1)).unwrap();
        assert!(SessionGuard::open(&counter, Some(1)).is_none());
        drop(a);
        assert!(SessionGuard::open(&counter, Some(1)).is_some());
    }
}
