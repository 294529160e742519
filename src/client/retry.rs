//! The retry budget of an operation, backoff with jitter, and the
//! per-stream call-rate limit.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::RetryPolicy;
use super::ClientError;

/// One failed attempt: the URL called and what went wrong.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) url: String,
    pub(crate) error: ClientError,
    /// Whether another attempt may succeed.
    pub(crate) retryable: bool,
}

impl Failure {
    /// A failure, worth another attempt when the error is retryable.
    pub(crate) fn new(url: impl Into<String>, error: ClientError) -> Failure {
        let retryable = error.is_retryable();
        Failure {
            url: url.into(),
            error,
            retryable,
        }
    }

    /// A failure worth another attempt whatever its kind (a media body that
    /// ended without what was asked for).
    pub(crate) fn retry(url: impl Into<String>, error: ClientError) -> Failure {
        Failure {
            url: url.into(),
            error,
            retryable: true,
        }
    }
}

/// The one retry budget of one user-visible operation: every failed
/// attempt of it (endpoint discovery, the call, a media session broken
/// before progress) counts here, and nowhere else.
#[derive(Debug)]
pub(crate) struct Budget {
    operation: String,
    policy: RetryPolicy,
    failures: u32,
}

impl Budget {
    pub(crate) fn new(operation: String, policy: RetryPolicy) -> Budget {
        Budget {
            operation,
            policy,
            failures: 0,
        }
    }

    /// Something new was delivered: the next failure starts a new count.
    pub(crate) fn progressed(&mut self) {
        self.failures = 0;
    }

    /// The pause before calling again after a session that made progress.
    pub(crate) fn pause(&self) -> Duration {
        backoff(&self.policy, self.failures)
    }

    /// A failed attempt: the pause before the next one, or the error to give
    /// up with (the failure itself when it is not worth retrying).
    pub(crate) fn failed(&mut self, f: Failure) -> Result<Duration, ClientError> {
        if !f.retryable {
            return Err(f.error);
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.policy.max_attempts.max(1) {
            return Err(ClientError::RetriesExhausted {
                operation: self.operation.clone(),
                endpoint: f.url,
                attempts: self.failures,
                last: Box::new(f.error),
            });
        }
        Ok(backoff(&self.policy, self.failures))
    }
}

static SEED: AtomicU64 = AtomicU64::new(0);

/// A uniformly random fraction in [0, 1) (xorshift; jitter needs no more).
fn random_fraction() -> f64 {
    let mut x = SEED.load(Ordering::Relaxed);
    if x == 0 {
        x = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15)
            | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    SEED.store(x, Ordering::Relaxed);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// "Full jitter" backoff: a random delay below `min(max, base * 2^attempt)`.
pub(crate) fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy
        .base_delay
        .saturating_mul(1u32 << attempt.min(20))
        .min(policy.max_delay);
    ceiling.mul_f64(random_fraction())
}

/// At most `per_second` calls in any one-second window, per key (stream and
/// API). Callers wait their turn.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_second: usize,
    calls: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            per_second: per_second.max(1) as usize,
            calls: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until a call for `key` is allowed, and records it.
    pub(crate) async fn acquire(&self, key: &str) {
        loop {
            let wait = {
                let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
                let window = calls.entry(key.to_string()).or_default();
                let now = Instant::now();
                while window
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
                {
                    window.pop_front();
                }
                if window.len() < self.per_second {
                    window.push_back(now);
                    return;
                }
                Duration::from_secs(1) - now.duration_since(window[0])
            };
            tokio::time::sleep(wait + Duration::from_millis(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let p = RetryPolicy::default();
        for attempt in 0..30 {
            let d = backoff(&p, attempt);
            assert!(d <= p.max_delay && d <= p.base_delay * 2u32.saturating_pow(attempt.min(20)));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn five_calls_per_second() {
        let limiter = RateLimiter::new(5);
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire("s").await;
        }
        // Calls 6-10 wait for the first second, 11 for the second.
        assert!(start.elapsed() >= Duration::from_secs(2));
        limiter.acquire("other").await;
    }
}
