//! The credentials cache every call of a [`Client`](super::Client) (and of
//! its clones) shares: refreshed ahead of expiry, one refresh at a time,
//! each under a deadline.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use super::credentials::{CredentialsError, ProvideCredentials, SharedCredentialsProvider};
use crate::sigv4::Credentials;

/// When the client refreshes credentials that expire, and how long a
/// refresh may take.
///
/// Credentials fetched at `t` that expire at `e` are refreshed from
/// `e - min(margin, (e - t) / 2)` on: `margin` before expiry, but for
/// short-lived keys no later than halfway through their life. Credentials
/// without an expiry are never refreshed ahead of time; they are fetched
/// again only when the service refuses them.
///
/// ```
/// use std::time::Duration;
/// use kvs_mkv::client::CredentialsRefresh;
/// let refresh = CredentialsRefresh::default();
/// assert_eq!(refresh.margin, Duration::from_secs(300));
/// assert_eq!(refresh.timeout, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialsRefresh {
    /// How long before expiry credentials are refreshed (capped at half
    /// their remaining life when fetched). Default 5 minutes.
    pub margin: Duration,
    /// The longest a provider may take to answer; then the refresh fails
    /// with [`CredentialsError::Timeout`]. Default 30 s.
    pub timeout: Duration,
    /// After a failed refresh, while the credentials held are still valid,
    /// they are used without asking the provider again for this long.
    /// Default 10 s.
    pub retry_after: Duration,
}

impl Default for CredentialsRefresh {
    fn default() -> Self {
        CredentialsRefresh {
            margin: Duration::from_secs(5 * 60),
            timeout: Duration::from_secs(30),
            retry_after: Duration::from_secs(10),
        }
    }
}

/// What a cache did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialsStats {
    /// Successful fetches from the provider (the first one included).
    pub refreshes: u64,
    /// Failed fetches (errors, timeouts, credentials expired on arrival).
    pub failures: u64,
    /// Fetches forced by the service refusing the credentials held as
    /// expired or unknown (counted in `refreshes` or `failures` too).
    pub forced: u64,
}

/// Keys and the generation of the cache that handed them out.
#[derive(Clone)]
pub(crate) struct Keys {
    pub(crate) credentials: Credentials,
    generation: u64,
}

struct Held {
    keys: Keys,
    /// From when the keys are refreshed (`None`: never ahead of time).
    refresh_at: Option<SystemTime>,
}

#[derive(Default)]
struct State {
    held: Option<Held>,
    generation: u64,
    /// Fetches finished, successful or not.
    attempts: u64,
    stats: CredentialsStats,
    last_error: Option<CredentialsError>,
    /// After a failure: no new attempt before then while the keys held
    /// are valid.
    quiet_until: Option<SystemTime>,
}

type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Credentials from a provider, cached and shared by every call of a
/// [`Client`](super::Client) and its clones ([`Client::credentials`](super::Client::credentials)).
///
/// - The first call fetches them; later calls use them until their refresh
///   time ([`CredentialsRefresh`]); the call that finds them due fetches
///   new ones.
/// - At most one fetch is in flight: callers that need credentials meanwhile
///   wait for it and share its outcome.
/// - A fetch has a deadline ([`CredentialsRefresh::timeout`]).
/// - A failed fetch while the credentials held are still valid keeps them
///   (the failure is kept in [`last_error`](Self::last_error)); it is an
///   error ([`CredentialsError::Expired`]) only once they have expired.
/// - When the service refuses a call's credentials as expired or unknown,
///   the client fetches new ones at once and sends the call again, once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), kvs_mkv::client::CredentialsError> {
/// use kvs_mkv::client::{CredentialsCache, CredentialsRefresh};
/// use kvs_mkv::sigv4::Credentials;
///
/// let cache = CredentialsCache::new(Credentials::new("AKIDEXAMPLE", "secret"), CredentialsRefresh::default());
/// assert_eq!(cache.credentials().await?.access_key_id, "AKIDEXAMPLE");
/// assert_eq!(cache.credentials().await?.access_key_id, "AKIDEXAMPLE");
/// assert_eq!(cache.stats().refreshes, 1);
/// # Ok(()) }
/// ```
pub struct CredentialsCache {
    provider: SharedCredentialsProvider,
    settings: CredentialsRefresh,
    state: Mutex<State>,
    /// Held by the one fetch in flight; waiters queue on it.
    fetching: tokio::sync::Mutex<()>,
    clock: Clock,
}

impl fmt::Debug for CredentialsCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("CredentialsCache")
            .field("provider", &self.provider)
            .field("settings", &self.settings)
            .field(
                "held",
                &state
                    .held
                    .as_ref()
                    .map(|h| &h.keys.credentials.access_key_id),
            )
            .field("stats", &state.stats)
            .finish()
    }
}

impl CredentialsCache {
    /// An empty cache in front of `provider`.
    pub fn new(
        provider: impl Into<SharedCredentialsProvider>,
        settings: CredentialsRefresh,
    ) -> CredentialsCache {
        CredentialsCache {
            provider: provider.into(),
            settings,
            state: Mutex::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
            clock: Arc::new(SystemTime::now),
        }
    }

    /// The same cache reading the time from `clock` (tests).
    #[cfg(test)]
    fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The credentials to sign with now, fetched if none are held or they
    /// are due for refresh.
    pub async fn credentials(&self) -> Result<Credentials, CredentialsError> {
        self.current().await.map(|k| k.credentials)
    }

    /// What the cache did so far.
    pub fn stats(&self) -> CredentialsStats {
        self.lock().stats
    }

    /// The error of the last fetch, if it failed (cleared by a successful
    /// one). A failure while valid credentials are held shows only here.
    pub fn last_error(&self) -> Option<CredentialsError> {
        self.lock().last_error.clone()
    }

    /// The keys held, if they can be used at `now` without a fetch.
    fn usable(state: &State, now: SystemTime) -> Option<Keys> {
        let held = state.held.as_ref()?;
        let due = held.refresh_at.is_some_and(|at| now >= at);
        let quiet = state.quiet_until.is_some_and(|until| now < until);
        let valid = !held.keys.credentials.is_expired_at(now);
        (!due || (quiet && valid)).then(|| held.keys.clone())
    }

    /// The keys to sign with now.
    pub(crate) async fn current(&self) -> Result<Keys, CredentialsError> {
        let seen = {
            let state = self.lock();
            if let Some(keys) = Self::usable(&state, (self.clock)()) {
                return Ok(keys);
            }
            state.attempts
        };
        let _fetching = self.fetching.lock().await;
        {
            let state = self.lock();
            let now = (self.clock)();
            if state.attempts != seen {
                // A fetch ended while this call waited: its outcome is ours.
                return Self::outcome(&state, now, false);
            }
            if let Some(keys) = Self::usable(&state, now) {
                return Ok(keys);
            }
        }
        self.fetch(false).await
    }

    /// The service refused `rejected` as expired or unknown: new keys
    /// (fetched now, unless another call already replaced them), or `None`
    /// when the provider gives the same key again.
    pub(crate) async fn replace(&self, rejected: &Keys) -> Result<Option<Keys>, CredentialsError> {
        let _fetching = self.fetching.lock().await;
        let replaced = {
            let state = self.lock();
            state.held.as_ref().and_then(|h| {
                let newer = h.keys.generation != rejected.generation
                    && !h.keys.credentials.same_key(&rejected.credentials)
                    && !h.keys.credentials.is_expired_at((self.clock)());
                newer.then(|| h.keys.clone())
            })
        };
        if let Some(keys) = replaced {
            return Ok(Some(keys));
        }
        self.lock().stats.forced += 1;
        let keys = self.fetch(true).await?;
        Ok((!keys.credentials.same_key(&rejected.credentials)).then_some(keys))
    }

    /// What a caller gets after a fetch: the keys held when it succeeded;
    /// after a failure, the keys held while still valid (not for a forced
    /// fetch, which needs new ones), else the error.
    fn outcome(state: &State, now: SystemTime, forced: bool) -> Result<Keys, CredentialsError> {
        let held = state.held.as_ref().map(|h| &h.keys);
        match (&state.last_error, held) {
            (None, Some(keys)) => Ok(keys.clone()),
            (None, None) => Err(CredentialsError::NotFound(
                "the provider gave nothing".into(),
            )),
            (Some(_), Some(keys)) if !forced && !keys.credentials.is_expired_at(now) => {
                Ok(keys.clone())
            }
            (Some(e), Some(keys)) if keys.credentials.is_expired_at(now) => {
                Err(CredentialsError::Expired {
                    access_key_id: keys.credentials.access_key_id.clone(),
                    expired_at: keys.credentials.expires_at.unwrap_or(now),
                    last: Box::new(e.clone()),
                })
            }
            (Some(e), _) => Err(e.clone()),
        }
    }

    /// One fetch from the provider, under the deadline. The caller holds
    /// `fetching`.
    async fn fetch(&self, forced: bool) -> Result<Keys, CredentialsError> {
        let timeout = self.settings.timeout;
        let fetched = match tokio::time::timeout(timeout, self.provider.provide()).await {
            Ok(result) => result,
            Err(_) => Err(CredentialsError::Timeout(timeout)),
        };
        let now = (self.clock)();
        let fetched = fetched.and_then(|c| match c.expires_at {
            Some(expired_at) if now >= expired_at => Err(CredentialsError::ExpiredOnArrival {
                access_key_id: c.access_key_id,
                expired_at,
            }),
            _ => Ok(c),
        });
        let mut state = self.lock();
        state.attempts += 1;
        match fetched {
            Ok(credentials) => {
                state.generation += 1;
                state.stats.refreshes += 1;
                state.last_error = None;
                state.quiet_until = None;
                let refresh_at = credentials.expires_at.map(|expires| {
                    let life = expires.duration_since(now).unwrap_or_default();
                    expires - self.settings.margin.min(life / 2)
                });
                let keys = Keys {
                    credentials,
                    generation: state.generation,
                };
                state.held = Some(Held {
                    keys: keys.clone(),
                    refresh_at,
                });
                Ok(keys)
            }
            Err(e) => {
                state.stats.failures += 1;
                state.last_error = Some(e);
                state.quiet_until = now.checked_add(self.settings.retry_after);
                Self::outcome(&state, now, forced)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::credentials::ProvideFuture;
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A clock the test moves.
    #[derive(Clone)]
    struct TestClock(Arc<Mutex<SystemTime>>);

    impl TestClock {
        fn new() -> TestClock {
            TestClock(Arc::new(Mutex::new(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            )))
        }
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
        fn advance(&self, d: Duration) {
            *self.0.lock().unwrap() += d;
        }
    }

    /// Hands out key N on its Nth call, valid for `life` from the test
    /// clock, after `delay`; fails while `failing` is set.
    #[derive(Debug)]
    struct Counter {
        calls: AtomicU64,
        life: Option<Duration>,
        delay: Duration,
        failing: std::sync::atomic::AtomicBool,
        clock: ClockRef,
    }

    struct ClockRef(TestClock);
    impl fmt::Debug for ClockRef {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("clock")
        }
    }

    impl Counter {
        fn new(clock: &TestClock, life: Option<Duration>) -> Counter {
            Counter {
                calls: AtomicU64::new(0),
                life,
                delay: Duration::ZERO,
                failing: false.into(),
                clock: ClockRef(clock.clone()),
            }
        }
    }

    impl ProvideCredentials for Arc<Counter> {
        fn provide(&self) -> ProvideFuture<'_> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(self.delay).await;
                if self.failing.load(Ordering::SeqCst) {
                    return Err(CredentialsError::Provider {
                        provider: "test".into(),
                        message: format!("call {n} failed"),
                        retryable: true,
                        source: None,
                    });
                }
                let c = Credentials::new(format!("ASIA{n}"), format!("secret{n}"));
                Ok(match self.life {
                    Some(life) => c.with_expiry(self.clock.0.now() + life),
                    None => c,
                })
            })
        }
    }

    fn cache(provider: &Arc<Counter>, clock: &TestClock) -> CredentialsCache {
        let clock = clock.clone();
        CredentialsCache::new(
            SharedCredentialsProvider::new(provider.clone()),
            CredentialsRefresh::default(),
        )
        .with_clock(move || clock.now())
    }

    async fn id(cache: &CredentialsCache) -> String {
        cache.credentials().await.unwrap().access_key_id
    }

    #[tokio::test]
    async fn refreshed_margin_before_expiry() {
        let clock = TestClock::new();
        let p = Arc::new(Counter::new(&clock, Some(Duration::from_secs(3600))));
        let cache = cache(&p, &clock);
        assert_eq!(id(&cache).await, "ASIA1");
        clock.advance(Duration::from_secs(3600 - 301));
        assert_eq!(id(&cache).await, "ASIA1", "5 min 1 s before expiry");
        clock.advance(Duration::from_secs(1));
        assert_eq!(id(&cache).await, "ASIA2", "5 min before expiry");
        assert_eq!(cache.stats().refreshes, 2);
    }

    #[tokio::test]
    async fn short_lived_keys_refreshed_halfway() {
        let clock = TestClock::new();
        let p = Arc::new(Counter::new(&clock, Some(Duration::from_secs(4))));
        let cache = cache(&p, &clock);
        assert_eq!(id(&cache).await, "ASIA1");
        clock.advance(Duration::from_millis(1999));
        assert_eq!(id(&cache).await, "ASIA1");
        clock.advance(Duration::from_millis(1));
        assert_eq!(id(&cache).await, "ASIA2");
    }

    #[tokio::test]
    async fn keys_without_expiry_are_kept() {
        let clock = TestClock::new();
        let p = Arc::new(Counter::new(&clock, None));
        let cache = cache(&p, &clock);
        assert_eq!(id(&cache).await, "ASIA1");
        clock.advance(Duration::from_secs(365 * 86400));
        assert_eq!(id(&cache).await, "ASIA1");
        assert_eq!(p.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_fetch() {
        let clock = TestClock::new();
        let mut counter = Counter::new(&clock, Some(Duration::from_secs(3600)));
        counter.delay = Duration::from_millis(200);
        let p = Arc::new(counter);
        let cache = Arc::new(cache(&p, &clock));
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { id(&cache).await })
            })
            .collect();
        for c in callers {
            assert_eq!(c.await.unwrap(), "ASIA1");
        }
        assert_eq!(p.calls.load(Ordering::SeqCst), 1);
        // Due again: 50 callers, one more fetch.
        clock.advance(Duration::from_secs(3300));
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { id(&cache).await })
            })
            .collect();
        for c in callers {
            assert_eq!(c.await.unwrap(), "ASIA2");
        }
        assert_eq!(p.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn failed_refresh_keeps_valid_keys_until_they_expire() {
        let clock = TestClock::new();
        let p = Arc::new(Counter::new(&clock, Some(Duration::from_secs(3600))));
        let cache = cache(&p, &clock);
        assert_eq!(id(&cache).await, "ASIA1");
        p.failing.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(3400));
        // Due; the fetch fails; the keys held are still valid.
        assert_eq!(id(&cache).await, "ASIA1");
        assert!(cache.last_error().is_some());
        assert_eq!(p.calls.load(Ordering::SeqCst), 2);
        // Within retry_after the provider is not asked again.
        clock.advance(Duration::from_secs(5));
        assert_eq!(id(&cache).await, "ASIA1");
        assert_eq!(p.calls.load(Ordering::SeqCst), 2);
        // After it, it is.
        clock.advance(Duration::from_secs(5));
        assert_eq!(id(&cache).await, "ASIA1");
        assert_eq!(p.calls.load(Ordering::SeqCst), 3);
        // Expired: the error, typed, with the refresh's cause.
        clock.advance(Duration::from_secs(200));
        let err = cache.credentials().await.unwrap_err();
        match &err {
            CredentialsError::Expired {
                access_key_id,
                last,
                ..
            } => {
                assert_eq!(access_key_id, "ASIA1");
                assert!(last.to_string().contains("failed"), "{last}");
            }
            e => panic!("{e:?}"),
        }
        assert!(err.is_retryable());
        assert!(!format!("{err} {err:?}").contains("secret1"));
        // The provider recovers: new keys.
        p.failing.store(false, Ordering::SeqCst);
        assert_eq!(id(&cache).await, "ASIA5");
        assert_eq!(cache.last_error().map(|e| e.to_string()), None);
        assert_eq!(
            cache.stats(),
            CredentialsStats {
                refreshes: 2,
                failures: 3,
                forced: 0
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_has_a_deadline() {
        let clock = TestClock::new();
        let mut counter = Counter::new(&clock, None);
        counter.delay = Duration::from_secs(3600);
        let p = Arc::new(counter);
        let cache = cache(&p, &clock);
        let err = cache.credentials().await.unwrap_err();
        assert!(
            matches!(err, CredentialsError::Timeout(d) if d == Duration::from_secs(30)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn keys_expired_on_arrival_are_refused() {
        let clock = TestClock::new();
        let p = Arc::new(Counter::new(&clock, Some(Duration::ZERO)));
        let cache = cache(&p, &clock);
        let err = cache.credentials().await.unwrap_err();
        assert!(
            matches!(err, CredentialsError::ExpiredOnArrival { .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_refused_key_is_replaced_once() {
        let clock = TestClock::new();
        let p = Arc::new(Counter::new(&clock, Some(Duration::from_secs(3600))));
        let cache = cache(&p, &clock);
        let first = cache.current().await.unwrap();
        let second = cache.replace(&first).await.unwrap().unwrap();
        assert_eq!(second.credentials.access_key_id, "ASIA2");
        // Another call refused the first key too: it gets the second
        // without a third fetch.
        let again = cache.replace(&first).await.unwrap().unwrap();
        assert_eq!(again.credentials.access_key_id, "ASIA2");
        assert_eq!(p.calls.load(Ordering::SeqCst), 2);
        assert_eq!(cache.stats().forced, 1);
        // Static keys: the same key again is no replacement.
        let fixed =
            CredentialsCache::new(Credentials::new("AKID", "s"), CredentialsRefresh::default());
        let keys = fixed.current().await.unwrap();
        assert!(fixed.replace(&keys).await.unwrap().is_none());
    }
}
