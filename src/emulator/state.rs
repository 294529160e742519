//! What every request shares: the streams, the keys and settings,
//! the fault counters, the clock, and the request ids. No HTTP here: the
//! operations ([`ops`](super::ops)) take a `State` and answer plain values.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

use super::faults::Faults;
use super::keys::KeyStore;
use super::store::Stream;
use super::{splitmix, Clock, Options};
use crate::sigv4::{self, VerifySettings};

/// Everything the handlers share.
pub(crate) struct State {
    pub streams: HashMap<String, Arc<Stream>>,
    /// The keys accepted, as they are at each request.
    pub keys: KeyStore,
    pub verify: VerifySettings,
    pub options: Options,
    pub faults: Faults,
    pub clock: Clock,
    /// The URL GetDataEndpoint answers with.
    pub url: String,
    /// The seed of the ListFragments order.
    pub list_seed: u64,
    /// The seed of the request ids.
    request_seed: u64,
    pub shutdown: watch::Receiver<bool>,
    requests: AtomicU64,
}

impl State {
    pub fn new(
        streams: HashMap<String, Arc<Stream>>,
        keys: KeyStore,
        options: Options,
        clock: Clock,
        url: String,
        shutdown: watch::Receiver<bool>,
    ) -> State {
        let mut verify =
            VerifySettings::new(options.region.clone(), sigv4::KINESIS_VIDEO_SIGNING_NAME);
        verify.allow_unsigned_payload = options.allow_unsigned_payload;
        State {
            streams,
            keys,
            verify,
            faults: Faults::new(&options.faults),
            list_seed: options.seed.unwrap_or(0),
            request_seed: options.seed.unwrap_or_else(random_seed),
            options,
            clock,
            url,
            shutdown,
            requests: AtomicU64::new(0),
        }
    }

    /// A fresh request id, formatted like the service's (a UUID).
    pub fn request_id(&self) -> String {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let a = splitmix(self.request_seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let b = splitmix(a);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFF,
            0x8000 | (b >> 48) & 0x3FFF,
            b & 0xFFFF_FFFF_FFFF
        )
    }
}

/// A seed that differs in every call, process and run: std's `RandomState`
/// draws its keys from the operating system's randomness once per thread
/// and steps them for every new instance; the clock and the process id are
/// hashed in as well.
fn random_seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(now);
    hasher.write_u32(std::process::id());
    hasher.finish()
}
