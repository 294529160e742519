//! The retry budget of an operation and backoff with jitter (the call-rate
//! limit is `crate::rate`, shared with the emulator).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::config::RetryPolicy;
use super::{ClientError, ServiceError};

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
    /// Whether [`Budget::failed`] logs each retry (a GetMedia stream logs
    /// its reconnects instead: one event each).
    log_retries: bool,
}

impl Budget {
    pub(crate) fn new(operation: String, policy: RetryPolicy) -> Budget {
        Budget {
            operation,
            policy,
            failures: 0,
            log_retries: true,
        }
    }

    /// The same, for a caller that logs its retries itself.
    pub(crate) fn without_retry_log(self) -> Budget {
        Budget {
            log_retries: false,
            ..self
        }
    }

    /// The operation, e.g. `GetMedia for stream cam`.
    pub(crate) fn operation(&self) -> &str {
        &self.operation
    }

    /// Failed attempts in a row so far.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// Something new was delivered: the next failure starts a new count.
    pub(crate) fn progressed(&mut self) {
        self.failures = 0;
    }

    /// The pause before calling again after a session that made progress.
    pub(crate) fn pause(&self) -> Duration {
        backoff(&self.policy, self.failures)
    }

    /// A failed attempt: the pause before the next one (logged at WARN:
    /// the operation, the attempt, the cause and the pause), or the error
    /// to give up with (the failure itself when it is not worth retrying).
    pub(crate) fn failed(&mut self, f: Failure) -> Result<Duration, ClientError> {
        if !f.retryable {
            return Err(f.error);
        }
        self.failures = self.failures.saturating_add(1);
        let max_attempts = self.policy.max_attempts.max(1);
        if self.failures >= max_attempts {
            tracing::debug!(
                operation = %self.operation,
                attempts = self.failures,
                endpoint = %f.url,
                "giving up: retries exhausted"
            );
            return Err(ClientError::RetriesExhausted {
                operation: self.operation.clone(),
                endpoint: f.url,
                attempts: self.failures,
                last: Box::new(f.error),
            });
        }
        let delay = backoff(&self.policy, self.failures);
        if self.log_retries {
            tracing::warn!(
                operation = %self.operation,
                attempt = self.failures,
                max_attempts,
                delay_ms = delay.as_millis() as u64,
                endpoint = %f.url,
                throttled = f.error.service().is_some_and(ServiceError::is_throttling),
                cause = %f.error,
                "retrying after a failed call"
            );
        }
        Ok(delay)
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
}
