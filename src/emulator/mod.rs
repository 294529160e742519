//! A local Kinesis Video Streams emulator for testing consumers: the five
//! consumer operations over HTTP/1.1, signed with SigV4, served from
//! recordings (feature `emulator`; `kvs-mkv serve` on the command line).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::path::Path;
//! use kvs_mkv::emulator::{Emulator, Fault};
//! use kvs_mkv::sigv4::Credentials;
//!
//! let emulator = Emulator::builder()
//!     .stream("cam", Path::new("testdata/sample.mkv"))
//!     .credentials(Credentials::new("AKIDEXAMPLE", "secret"))
//!     .fault(Fault::cut_in_chunk(1).first(3)) // the first 3 media responses break
//!     .start("127.0.0.1:0")
//!     .await?;
//! println!("KVS emulator at {}", emulator.url()); // e.g. http://127.0.0.1:41234
//! // Point a client at emulator.url(), region "us-west-2", the credentials above.
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # What it serves
//!
//! `POST /getDataEndpoint`, `/getMedia`, `/listFragments`,
//! `/getMediaForFragmentList` and `/getImages` with the JSON members of the
//! service models; timestamps are epoch seconds with a fraction. Every
//! response carries `x-amzn-RequestId`, a UUID of its own (random, unless
//! [`Options::seed`] makes the sequence repeatable); errors carry
//! `x-amzn-ErrorType` and
//! a JSON body with `Message` (modeled errors) or `message` (signature
//! errors), with the models' statuses: InvalidArgumentException 400,
//! ResourceNotFoundException 404, ClientLimitExceededException 400,
//! ConnectionLimitExceededException 400, NotAuthorizedException 401, and 403
//! for a refused signature (UnrecognizedClientException,
//! InvalidSignatureException, MissingAuthenticationTokenException, ...).
//!
//! - **Signatures**: every request must be signed (SigV4, signing name
//!   `kinesisvideo`) with one of the emulator's key pairs (and its session
//!   token, when it has one) for the emulator's region ([`Options::region`],
//!   default `us-west-2`), within 15 minutes of the server clock. A request
//!   signed for another region is refused, as AWS refuses it. The key pairs
//!   are one given to [`EmulatorBuilder::credentials`] (or the default
//!   pair), or a [`KeyStore`] changed while the emulator runs, each key
//!   with an optional expiry (temporary credentials that rotate): a request
//!   signed with an expired key is refused with 403
//!   `ExpiredTokenException`, one signed with a key not in the set with 403
//!   `UnrecognizedClientException`, as AWS answers. The store may be a file
//!   read again when it changes ([`KeyStore::from_file`], `kvs-mkv serve
//!   --credentials-file`).
//! - **GetDataEndpoint** answers the emulator's own URL for every `APIName`.
//! - **Fragments**: a recording that carries the AWS tags (a saved GetMedia
//!   body) keeps its fragment numbers and timestamps, one fragment per
//!   chunk. A plain Matroska file gets one fragment per Cluster, with
//!   generated 48-digit fragment numbers, producer timestamps from the
//!   Cluster timecodes (counted from [`Options::base_time`], by default so
//!   that the recording ends at start-up) and server timestamps 250 ms
//!   later. Chunks that did not arrive whole are left out.
//! - **GetMedia** supports the six start selectors. FRAGMENT_NUMBER starts
//!   *with* `AfterFragmentNumber` (as that member's documentation says);
//!   a number the stream does not have gives one chunk with
//!   `AWS_KINESISVIDEO_ERROR_ID` 4000 and `AWS_KINESISVIDEO_ERROR_CODE`
//!   "Requested fragment is not found". CONTINUATION_TOKEN resumes *after*
//!   the chunk that carried the token (tokens are fragment numbers, as in
//!   every recording). NOW starts with the latest fragment, EARLIEST with the
//!   first, the timestamp selectors with the latest fragment that starts at
//!   or before the timestamp if it still runs then (else the next one). Each chunk ends with fresh
//!   `MILLIS_BEHIND_NOW` (behind the newest fragment: the live clock, or a
//!   static stream's latest server timestamp) and `CONTINUATION_TOKEN` tags;
//!   tags of that kind in the recording are replaced. A static stream's
//!   response ends [`Options::idle_timeout`] after its last chunk.
//! - **Live mode** ([`Options::live`]): the recording repeats forever, each
//!   repetition with new fragment numbers and later timestamps (generated
//!   as for a plain file, even for a recording that carries its own), and each
//!   fragment becomes available once its last frame is due (at
//!   [`Options::speed`] times real time). One repetition is already archived
//!   at start-up. GetMedia follows the live edge.
//! - **ListFragments** filters by producer or server timestamp range,
//!   pages with `MaxResults` (1 to 1000, default 1000) and `NextToken`, and
//!   lists in a shuffled order that is stable for the whole walk.
//! - **GetMediaForFragmentList** sends the listed fragments in request order
//!   without trailing tags (1 to 1000 per call); a number the stream does
//!   not have gets a chunk with `AWS_KINESISVIDEO_FRAGMENT_NUMBER`,
//!   `AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE` 4000 and
//!   `AWS_KINESISVIDEO_EXCEPTION_MESSAGE`.
//! - **GetImages** serves the files of an images directory
//!   ([`EmulatorBuilder::images`]): `<N>.jpg`, `<N>.jpeg` or `<N>.png`, `N`
//!   in milliseconds, absolute (since the epoch) from 10^12 up, else an
//!   offset from the start of the recording. For each sampled time that a
//!   fragment covers, the image is the latest of that fragment at or before
//!   the time (else its first); `MEDIA_ERROR` when the fragment has none in
//!   the requested format, `NO_MEDIA` when no fragment covers the time.
//!   Images are served as they are (no resizing or re-encoding). Checks: the
//!   range at most 300 s, `SamplingInterval` at least 200 ms (default
//!   3000), `MaxResults` 1 to 100 with pages of at most 25.
//! - **Limits**: GetMedia and GetMediaForFragmentList are limited to
//!   [`Options::calls_per_second`] calls per second per stream (default 5,
//!   a sliding one-second window; then ClientLimitExceededException), and
//!   GetMedia to [`Options::max_get_media_sessions`] concurrent responses
//!   per stream (default 10; then ConnectionLimitExceededException).
//! - **Faults** ([`Fault`]) cut, stall or end media bodies and answer
//!   throttling, server or authorization errors, for every request or for
//!   the first N.
//! - **Connections** (HTTP/1.1 with keep-alive) are bounded so that a client
//!   that stops reading, a slow or silent one, cannot hold the emulator:
//!   a response whose bytes the client does not take for
//!   [`Options::write_stall_timeout`] (default 30 s) is dropped and its
//!   connection closed, which frees its GetMedia session; a request head
//!   must arrive within [`Options::header_read_timeout`] (default 10 s)
//!   from its first byte (the first request: from the connection's start),
//!   and its body within the same time again (else 408
//!   `RequestTimeoutException`); a connection with no request in flight is
//!   closed after [`Options::keep_alive_timeout`] (default 60 s); and
//!   beyond [`Options::max_connections`] open connections (default 1024)
//!   a new one is closed as soon as it is accepted. A response that is
//!   being read, however long, is never cut by these.
//!
//! # Logging (`tracing`)
//!
//! With the [`tracing`](https://docs.rs/tracing) crate (part of the
//! `emulator` feature): INFO `emulator listening` (`url`, `region`), INFO
//! `throttled: ClientLimitExceededException` (`operation`, `stream`,
//! `limit`), INFO `signature refused` (`code`, `reason`: what the verifier
//! found, never a key or a header); DEBUG per request, `request` or
//! `request refused` (`operation`, `status`, `code`, `request_id`,
//! `duration_ms`), and `fault injected`.

mod conn;
mod faults;
mod files;
mod images;
mod keys;
mod media;
mod ops;
mod select;
mod server;
mod splice;
mod state;
mod store;
mod throttle;
mod wire;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::net::{TcpListener, TcpSocket, ToSocketAddrs};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::{Fault, FaultKind};
pub use keys::KeyStore;
pub use wire::Operation;

use crate::rate::RateLimiter;
use crate::sigv4::Credentials;
use images::ImageIndex;
use store::{Stream, Timeline};

/// The access key id the emulator accepts when none is configured (AWS's
/// documentation example).
pub const DEFAULT_ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret access key that goes with [`DEFAULT_ACCESS_KEY_ID`].
pub const DEFAULT_SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The account id in the emulator's stream ARNs.
pub const ACCOUNT_ID: &str = "123456789012";
/// The slowest live pace, [`Options::speed`]: a millionth of real time.
pub const MIN_SPEED: f64 = 1e-6;
/// The fastest live pace, [`Options::speed`]: a million times real time
/// (faster, the clock's milliseconds would overflow within years).
pub const MAX_SPEED: f64 = 1e6;
/// The latest [`Options::base_time`]: 9999-12-31T23:59:59Z, in seconds
/// since the epoch. Later, the timestamps could be no service's (boto3's
/// datetimes end with the year 9999, the models' epoch seconds soon
/// after) and their milliseconds would overflow.
pub const MAX_BASE_TIME_SECS: u64 = 253_402_300_799;
/// The default [`Options::max_recording_size`]: 4 GiB.
///
/// The emulator holds each recording in memory whole, so the cap is what a
/// mistaken path (a disk image, a pipe that never ends) may take before it
/// is refused. It is far above any recording a test serves (a GetMedia
/// body saved over an hour of 1080p video at 4 Mbit/s is under 2 GB), yet
/// within the memory of the machines that run tests. Lower it to bound the
/// emulator's memory.
pub const DEFAULT_MAX_RECORDING_SIZE: u64 = 4 << 30;
/// The largest image file read for GetImages ([`EmulatorBuilder::images`]):
/// 64 MiB. The service's images are small (a client refuses one of more
/// than a few MB: `ClientConfig::max_image_size`, 6 MiB of base64 by
/// default), so this only stops a huge file taken for an image, before it
/// is read.
pub const MAX_IMAGE_SIZE: u64 = 64 << 20;

/// How the emulator behaves. Start from `Options::default()` and change
/// fields.
///
/// ```
/// use std::time::Duration;
/// let mut options = kvs_mkv::emulator::Options::default();
/// options.idle_timeout = Duration::from_millis(200);
/// options.calls_per_second = None; // no throttling
/// assert_eq!(options.region, "us-west-2");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// The region requests must be signed for. Default `us-west-2`.
    pub region: String,
    /// How long a GetMedia response of a static stream stays open after its
    /// last chunk before it ends. Default 2 s.
    pub idle_timeout: Duration,
    /// Serve every stream live: repeat the recording forever, pacing
    /// fragments by their duration. Default off.
    pub live: bool,
    /// The pace of live mode: 1.0 is real time, 10.0 ten times faster
    /// (timestamps follow this clock), from [`MIN_SPEED`] to
    /// [`MAX_SPEED`]. Default 1.0.
    pub speed: f64,
    /// The producer timestamp of a generated timeline's first fragment,
    /// from the epoch to [`MAX_BASE_TIME_SECS`] (else the emulator does not
    /// start: [`ConfigError::BaseTime`]). Default: so that the recording
    /// (one repetition, live) ends at start-up.
    pub base_time: Option<SystemTime>,
    /// GetMedia and GetMediaForFragmentList calls per second per stream
    /// (each operation counted on its own); `None` for no limit. Default 5,
    /// as the service documents.
    pub calls_per_second: Option<u32>,
    /// Concurrent GetMedia responses per stream; `None` for no limit.
    /// Default 10.
    pub max_get_media_sessions: Option<usize>,
    /// Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD`. Default off.
    pub allow_unsigned_payload: bool,
    /// Faults to inject.
    pub faults: Vec<Fault>,
    /// Makes the emulator repeatable: the seed of the ListFragments order
    /// and of the `x-amzn-RequestId` sequence. `None` (the default): the
    /// order is seeded with 0 and the request ids come from the operating
    /// system's randomness, different in every emulator and every run, as
    /// the service's are.
    pub seed: Option<u64>,
    /// How long a response may wait for the client to take its bytes:
    /// when the socket accepts nothing for this long (the client does not
    /// read), the response is dropped and the connection closed, which
    /// frees a GetMedia session's place. A body that pauses on its own (a
    /// static stream's idle time, a stall fault) is not stalled. `None`:
    /// wait forever. Default 30 s.
    pub write_stall_timeout: Option<Duration>,
    /// How long a request may take to arrive: its head (request line and
    /// headers) counted from its first byte (a connection's first request:
    /// from the connection's start), then its body again from the end of
    /// the head. A late head closes the connection; a late body gets 408
    /// `RequestTimeoutException`. `None`: no limit. Default 10 s.
    pub header_read_timeout: Option<Duration>,
    /// How long a connection with no request in flight waits for the next
    /// one before it is closed. `None`: forever. Default 60 s.
    pub keep_alive_timeout: Option<Duration>,
    /// Open connections at most; one more is closed as soon as it is
    /// accepted. `None`: no limit. Default 1024.
    pub max_connections: Option<usize>,
    /// Live: the `k`-th of `n` streams (in the order they were added)
    /// starts `k / n` of one of its recording's fragments (their mean
    /// length: the recording's length over its fragment count) earlier, so
    /// streams of one recording do not all complete a fragment at the same
    /// instant (as independent cameras would not); with fragments of one
    /// length, the streams' fragments complete evenly spread over it.
    /// Where earlier would be before 1970 ([`base_time`](Self::base_time)
    /// at the epoch), the stream starts one repetition minus that later
    /// (if that is still before start-up). Off (the default), every live
    /// stream's first repetition ends at start-up, or all follow
    /// [`base_time`](Self::base_time) alike: the worst case for a consumer
    /// of many streams, whose fragments then all arrive at once.
    pub stagger: bool,
    /// The largest recording read from a file ([`StreamSource::File`]), in
    /// bytes; a larger one fails to start with
    /// [`EmulatorError::TooLarge`]. Default
    /// [`DEFAULT_MAX_RECORDING_SIZE`] (4 GiB, see there why). Whatever the
    /// cap, a path that is neither a regular file nor a pipe (a device such
    /// as `/dev/zero`, a directory) is refused with
    /// [`EmulatorError::NotAFile`] before anything is read.
    pub max_recording_size: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            region: "us-west-2".to_string(),
            idle_timeout: Duration::from_secs(2),
            live: false,
            speed: 1.0,
            base_time: None,
            calls_per_second: Some(5),
            max_get_media_sessions: Some(10),
            allow_unsigned_payload: false,
            faults: Vec::new(),
            seed: None,
            write_stall_timeout: Some(Duration::from_secs(30)),
            header_read_timeout: Some(Duration::from_secs(10)),
            keep_alive_timeout: Some(Duration::from_secs(60)),
            max_connections: Some(1024),
            stagger: false,
            max_recording_size: DEFAULT_MAX_RECORDING_SIZE,
        }
    }
}

/// Where a stream's recording comes from: bytes in memory or a file.
///
/// ```
/// use kvs_mkv::emulator::StreamSource;
/// let from_file: StreamSource = std::path::Path::new("testdata/sample.mkv").into();
/// let from_bytes: StreamSource = std::fs::read("testdata/sample.mkv").unwrap().into();
/// # let _ = (from_file, from_bytes);
/// ```
#[derive(Debug, Clone)]
pub enum StreamSource {
    /// The recording's bytes.
    Bytes(Bytes),
    /// A file to read at start.
    File(PathBuf),
}

impl From<Bytes> for StreamSource {
    fn from(b: Bytes) -> Self {
        StreamSource::Bytes(b)
    }
}

impl From<Vec<u8>> for StreamSource {
    fn from(b: Vec<u8>) -> Self {
        StreamSource::Bytes(b.into())
    }
}

impl From<&'static [u8]> for StreamSource {
    fn from(b: &'static [u8]) -> Self {
        StreamSource::Bytes(Bytes::from_static(b))
    }
}

impl From<PathBuf> for StreamSource {
    fn from(p: PathBuf) -> Self {
        StreamSource::File(p)
    }
}

impl From<&Path> for StreamSource {
    fn from(p: &Path) -> Self {
        StreamSource::File(p.to_path_buf())
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// A recording or an images directory could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A recording is not usable.
    #[error("stream {name}: {source}")]
    Recording {
        /// The stream.
        name: String,
        /// What is wrong.
        source: RecordingError,
    },
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A recording or an image file is larger than the emulator reads:
    /// [`Options::max_recording_size`] for a recording, [`MAX_IMAGE_SIZE`]
    /// for an image.
    #[error("cannot read {}: larger than {limit} bytes, the most the emulator reads from one file", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap, in bytes.
        limit: u64,
    },
    /// A recording or an image is neither a regular file nor a pipe: a
    /// device (`/dev/zero` never ends), a directory or a socket. It is
    /// refused before anything is read.
    #[error("cannot read {}: not a regular file or a pipe", path.display())]
    NotAFile {
        /// The path given.
        path: PathBuf,
    },
    /// The address could not be bound.
    #[error("cannot listen: {0}")]
    Bind(#[source] std::io::Error),
    /// A line of a key file ([`KeyStore::from_file`]) is not
    /// `ACCESS_KEY_ID SECRET [SESSION_TOKEN|- [EXPIRES]]`.
    #[error("{}: line {line}: {reason}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The line (from 1).
        line: usize,
        /// What is wrong with it (the line itself is not shown: it holds
        /// secrets).
        reason: &'static str,
    },
}

/// Why a recording cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordingError {
    /// A chunk's EBML header is not followed by a Segment.
    #[error("no Segment after the EBML header")]
    NoSegment,
    /// The first chunk has no EBML header.
    #[error("a chunk without an EBML header")]
    NoEbmlHeader,
    /// Nothing in it is a complete Matroska chunk or Cluster.
    #[error("no complete Matroska chunk or Cluster in the recording")]
    NoCompleteChunk,
}

/// A configuration the emulator cannot serve.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A stream name outside 1 to 256 characters of `[a-zA-Z0-9_.-]`.
    #[error("stream name {name:?} does not match [a-zA-Z0-9_.-]+ (1 to 256 characters)")]
    StreamName {
        /// The name given.
        name: String,
    },
    /// The same stream name twice.
    #[error("stream {name:?} given twice")]
    DuplicateStream {
        /// The name given twice.
        name: String,
    },
    /// Images for a name that is not one of the streams.
    #[error("images for {name:?}, which is not a stream")]
    ImagesWithoutStream {
        /// The name the images were given for.
        name: String,
    },
    /// [`Options::speed`] is outside [`MIN_SPEED`]..=[`MAX_SPEED`].
    #[error("speed {speed} must be a number from {MIN_SPEED} to {MAX_SPEED}")]
    Speed {
        /// The speed given.
        speed: f64,
    },
    /// [`Options::base_time`] is before the epoch or after
    /// [`MAX_BASE_TIME_SECS`].
    #[error("base time {secs} s since the epoch must be from 0 to {MAX_BASE_TIME_SECS} (9999-12-31T23:59:59Z)")]
    BaseTime {
        /// The base time given, in seconds since the epoch (negative:
        /// before it).
        secs: i128,
    },
}

/// The entry point: `Emulator::builder()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with no streams, the default credentials and options.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), kvs_mkv::emulator::EmulatorError> {
    /// use std::time::Duration;
    /// use kvs_mkv::emulator::{Emulator, Fault, Operation, DEFAULT_ACCESS_KEY_ID};
    ///
    /// let recording = std::fs::read("testdata/sample.mkv").unwrap();
    /// let emulator = Emulator::builder()
    ///     .stream("front-door", recording)
    ///     .region("eu-west-1")
    ///     .live(true) // loop the recording, paced in real time
    ///     .idle_timeout(Duration::from_millis(500))
    ///     .fault(Fault::throttle().first(2).operations(&[Operation::GetMedia]))
    ///     .start("127.0.0.1:0")
    ///     .await?;
    /// assert!(emulator.url().starts_with("http://127.0.0.1:"));
    /// assert_eq!(emulator.credentials().access_key_id, DEFAULT_ACCESS_KEY_ID);
    /// assert_eq!(emulator.streams()[0].fragments, 3);
    /// emulator.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures and starts an emulator.
#[derive(Debug, Default)]
pub struct EmulatorBuilder {
    streams: Vec<(String, StreamSource)>,
    images: Vec<(String, PathBuf)>,
    credentials: Option<Credentials>,
    keys: Option<KeyStore>,
    options: Options,
}

impl EmulatorBuilder {
    /// Serves a recording as stream `name` (a saved GetMedia body, or any
    /// Matroska file).
    pub fn stream(mut self, name: impl Into<String>, source: impl Into<StreamSource>) -> Self {
        self.streams.push((name.into(), source.into()));
        self
    }

    /// Images for GetImages on stream `name` (see the module documentation
    /// for the file names).
    pub fn images(mut self, name: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        self.images.push((name.into(), dir.into()));
        self
    }

    /// The key pair accepted (default [`DEFAULT_ACCESS_KEY_ID`] /
    /// [`DEFAULT_SECRET_ACCESS_KEY`]). With a session token, requests must
    /// carry that token; with an expiry, requests are refused after it.
    /// With a [`key_store`](Self::key_store) too, it is added to the store.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Accepts the keys of `keys`, as they are at each request: keys
    /// inserted or removed while the emulator runs (through this store, a
    /// clone of it, or [`EmulatorHandle::keys`]) are accepted or refused
    /// from then on. The default pair is then not accepted (unless given to
    /// [`credentials`](Self::credentials)).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), kvs_mkv::emulator::EmulatorError> {
    /// use std::time::{Duration, SystemTime};
    /// use kvs_mkv::emulator::{Emulator, KeyStore};
    /// use kvs_mkv::sigv4::Credentials;
    ///
    /// let keys = KeyStore::new();
    /// let emulator = Emulator::builder()
    ///     .stream("cam", std::path::Path::new("testdata/sample.mkv"))
    ///     .key_store(keys.clone())
    ///     .start("127.0.0.1:0")
    ///     .await?;
    /// // Later, as a credentials endpoint hands out a new temporary key:
    /// keys.insert(
    ///     Credentials::new("ASIAROTATED", "secret")
    ///         .with_session_token("token")
    ///         .with_expiry(SystemTime::now() + Duration::from_secs(900)),
    /// );
    /// assert_eq!(emulator.keys().access_key_ids(), ["ASIAROTATED"]);
    /// emulator.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn key_store(mut self, keys: KeyStore) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Replaces all options.
    pub fn options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// [`Options::region`].
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.options.region = region.into();
        self
    }

    /// [`Options::idle_timeout`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.options.idle_timeout = timeout;
        self
    }

    /// [`Options::live`].
    pub fn live(mut self, live: bool) -> Self {
        self.options.live = live;
        self
    }

    /// Adds a fault ([`Options::faults`]).
    pub fn fault(mut self, fault: Fault) -> Self {
        self.options.faults.push(fault);
        self
    }

    /// Reads the recordings and images, binds `addr` (port 0 picks a free
    /// port) and serves in the background on the current tokio runtime.
    pub async fn start(self, addr: impl ToSocketAddrs) -> Result<EmulatorHandle, EmulatorError> {
        let prepared = self.prepare()?;
        let listener = bind(addr).await.map_err(EmulatorError::Bind)?;
        let local_addr = listener.local_addr().map_err(EmulatorError::Bind)?;
        let url = format!("http://{}", reachable(local_addr));
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let summary = prepared
            .streams
            .values()
            .map(|s| StreamInfo {
                name: s.name.clone(),
                arn: s.arn.clone(),
                fragments: s.timeline.recording_len(),
                dropped_chunks: s.dropped_chunks,
                images: s.images.as_ref().map_or(0, |i| i.len()),
            })
            .collect();
        let credentials = prepared.credentials.clone();
        let keys = prepared.keys.clone();
        let region = prepared.options.region.clone();
        let state = prepared.into_state(url.clone(), shutdown_rx);
        tracing::info!(%url, region = %region, "emulator listening");
        let task = tokio::spawn(server::serve(listener, Arc::new(state)));
        Ok(EmulatorHandle {
            url,
            local_addr,
            credentials,
            keys,
            region,
            streams: summary,
            shutdown: shutdown_tx,
            task: Some(task),
        })
    }

    /// Checks the configuration and reads the recordings and images:
    /// everything the operations need but an address.
    fn prepare(self) -> Result<Prepared, EmulatorError> {
        let options = self.options;
        if !(MIN_SPEED..=MAX_SPEED).contains(&options.speed) {
            return Err(ConfigError::Speed {
                speed: options.speed,
            }
            .into());
        }
        if let Some(t) = options.base_time {
            let secs = match t.duration_since(UNIX_EPOCH) {
                Ok(d) => i128::from(d.as_secs()),
                Err(e) => {
                    -i128::from(e.duration().as_secs())
                        - i128::from(e.duration().subsec_nanos() > 0)
                }
            };
            if !(0..=i128::from(MAX_BASE_TIME_SECS)).contains(&secs) {
                return Err(ConfigError::BaseTime { secs }.into());
            }
        }
        let default_pair = || Credentials::new(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY);
        let (credentials, keys) = match (self.credentials, self.keys) {
            (Some(c), Some(keys)) => {
                keys.insert(c.clone());
                (c, keys)
            }
            (Some(c), None) => (c.clone(), KeyStore::with_keys([c])),
            (None, Some(keys)) => (default_pair(), keys),
            (None, None) => (default_pair(), KeyStore::with_keys([default_pair()])),
        };
        let clock = Clock::new(if options.live { options.speed } else { 1.0 });
        let now_ms = clock.now_ms();
        let base_ms = options.base_time.map(system_ms);

        let mut images: HashMap<String, ImageIndex> = HashMap::new();
        for (name, dir) in &self.images {
            if !self.streams.iter().any(|(n, _)| n == name) {
                return Err(ConfigError::ImagesWithoutStream { name: name.clone() }.into());
            }
            let index = ImageIndex::load(dir)?;
            images.insert(name.clone(), index);
        }

        let mut streams = HashMap::new();
        let mut recordings: HashMap<RecordingKey, (Bytes, splice::Split)> = HashMap::new();
        let count = self.streams.len() as u64;
        for (k, (name, source)) in (0u64..).zip(self.streams) {
            if !valid_stream_name(&name) {
                return Err(ConfigError::StreamName { name }.into());
            }
            if streams.contains_key(&name) {
                return Err(ConfigError::DuplicateStream { name }.into());
            }
            // Streams of one recording (the same file, or the same bytes)
            // share its split pieces: one copy in memory however many
            // streams serve it.
            let key = match &source {
                StreamSource::File(path) => RecordingKey::File(path.clone()),
                StreamSource::Bytes(b) => RecordingKey::Bytes(b.as_ptr() as usize, b.len()),
            };
            let split = match recordings.get(&key) {
                Some((_, split)) => split.clone(),
                None => {
                    let data = match source {
                        StreamSource::Bytes(b) => b,
                        StreamSource::File(path) => files::read_capped(
                            &path,
                            options.max_recording_size,
                            files::Pipes::Read,
                        )
                        .map(Bytes::from)?,
                    };
                    let split = splice::split_recording(&data).map_err(|source| {
                        EmulatorError::Recording {
                            name: name.clone(),
                            source,
                        }
                    })?;
                    // `data` is kept until the end of start-up so that its
                    // address (the key of given bytes) is not reused.
                    recordings.insert(key, (data, split.clone()));
                    split
                }
            };
            if split.pieces.is_empty() && split.incomplete + split.errors > 0 {
                return Err(EmulatorError::Recording {
                    name,
                    source: RecordingError::NoCompleteChunk,
                });
            }
            let dropped = split.incomplete;
            let mut timeline = Timeline::new(&name, split.pieces, options.live, base_ms, now_ms);
            if options.stagger {
                timeline = timeline.staggered(k, count, now_ms);
            }
            let arn = format!(
                "arn:aws:kinesisvideo:{}:{ACCOUNT_ID}:stream/{name}/{}",
                options.region,
                now_ms - now_ms % 1000
            );
            let stream = Stream {
                dropped_chunks: dropped,
                images: images.remove(&name),
                arn,
                timeline,
                get_media_calls: RateLimiter::new(options.calls_per_second),
                fragment_list_calls: RateLimiter::new(options.calls_per_second),
                sessions: Arc::new(AtomicUsize::new(0)),
                name: name.clone(),
            };
            streams.insert(name, Arc::new(stream));
        }

        Ok(Prepared {
            streams,
            credentials,
            keys,
            options,
            clock,
        })
    }
}

/// Which recording a stream serves, for sharing one split recording among
/// the streams that serve the same one: a file by its path, given bytes by
/// their address and length.
#[derive(Debug, PartialEq, Eq, Hash)]
enum RecordingKey {
    File(PathBuf),
    Bytes(usize, usize),
}

/// A configuration checked and its recordings read.
struct Prepared {
    streams: HashMap<String, Arc<Stream>>,
    credentials: Credentials,
    keys: KeyStore,
    options: Options,
    clock: Clock,
}

impl Prepared {
    /// The state the operations share, for a server at `url`.
    fn into_state(self, url: String, shutdown: watch::Receiver<bool>) -> state::State {
        state::State::new(
            self.streams,
            self.keys,
            self.options,
            self.clock,
            url,
            shutdown,
        )
    }
}

/// What a started emulator serves, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamInfo {
    /// The stream name.
    pub name: String,
    /// Its ARN (also accepted as `StreamARN`).
    pub arn: String,
    /// Fragments in the recording (one repetition, live).
    pub fragments: usize,
    /// Chunks of the recording left out because they were cut short or
    /// damaged.
    pub dropped_chunks: usize,
    /// Images for GetImages.
    pub images: usize,
}

/// A running emulator. Dropping it stops the server without waiting;
/// [`shutdown`](Self::shutdown) waits for it.
#[derive(Debug)]
pub struct EmulatorHandle {
    url: String,
    local_addr: SocketAddr,
    credentials: Credentials,
    keys: KeyStore,
    region: String,
    streams: Vec<StreamInfo>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// `http://HOST:PORT`: the endpoint for every operation (and the answer
    /// of GetDataEndpoint). An unspecified listen address (`0.0.0.0`, `::`)
    /// shows as the loopback address.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The key pair given to [`EmulatorBuilder::credentials`], else the
    /// default pair. It is accepted unless the builder was given a
    /// [`KeyStore`] and no `credentials` (then the store says which keys
    /// are: [`keys`](Self::keys)).
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// The keys accepted, changeable while the emulator runs.
    pub fn keys(&self) -> &KeyStore {
        &self.keys
    }

    /// Accepts one more key pair from now on (until its expiry, if it has
    /// one): [`KeyStore::insert`] on [`keys`](Self::keys).
    pub fn add_credentials(&self, credentials: Credentials) {
        self.keys.insert(credentials);
    }

    /// The region requests must be signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The streams, in no particular order.
    pub fn streams(&self) -> &[StreamInfo] {
        &self.streams
    }

    /// Stops accepting connections, ends media responses, and waits (a few
    /// seconds at most) for open connections to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// The emulator's clock, in milliseconds since the epoch; in live mode it
/// runs at [`Options::speed`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: Instant,
    origin_ms: u64,
    speed: f64,
}

impl Clock {
    fn new(speed: f64) -> Clock {
        Clock {
            origin: Instant::now(),
            origin_ms: system_ms(SystemTime::now()),
            speed,
        }
    }

    pub fn now_ms(&self) -> u64 {
        let elapsed = self.origin.elapsed().as_secs_f64() * 1000.0 * self.speed;
        self.origin_ms + elapsed as u64
    }

    /// The real time that `ms` of this clock take (rounded up).
    pub fn real_until(&self, ms: u64) -> Duration {
        Duration::from_secs_f64((ms as f64 + 1.0) / 1000.0 / self.speed)
    }
}

fn system_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn valid_stream_name(name: &str) -> bool {
    (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// SplitMix64: a small, good mixing function for seeds and shuffles.
pub(crate) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The accept queue the emulator's listener asks for. Clients that connect
/// at once (a test or a soak starting thousands of sessions) wait in it
/// until the accept loop takes them. tokio's `TcpListener::bind` asks for
/// 128, as std does (mio since 1.1), and a connection that finds the
/// queue full has its SYN dropped and retried by the client's kernel after
/// 1, 3, 7, 15 and 31 s: thousands of overflows when a soak starts its
/// sessions at once. The kernel caps the queue at `net.core.somaxconn`
/// (4096 since Linux 5.4).
const LISTEN_BACKLOG: u32 = 4096;

/// `TcpListener::bind` with an accept queue of [`LISTEN_BACKLOG`]: the
/// first of `addr`'s addresses that binds, as tokio's does.
async fn bind(addr: impl ToSocketAddrs) -> std::io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let listen = || {
            let socket = match addr {
                SocketAddr::V4(_) => TcpSocket::new_v4()?,
                SocketAddr::V6(_) => TcpSocket::new_v6()?,
            };
            // As tokio (mio) does: a restarted emulator can bind its port
            // again while old connections are in TIME_WAIT (not on
            // Windows, where it would let another socket take the port).
            #[cfg(not(windows))]
            socket.set_reuseaddr(true)?;
            socket.bind(addr)?;
            socket.listen(LISTEN_BACKLOG)
        };
        match listen() {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolved to no socket address",
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A number from a /proc file (`field` names a line of
    /// /proc/self/limits; none: the whole file is the number).
    fn proc_number(path: &str, field: Option<&str>) -> Option<usize> {
        let text = std::fs::read_to_string(path).ok()?;
        match field {
            None => text.trim().parse().ok(),
            Some(f) => text
                .lines()
                .find_map(|l| l.strip_prefix(f))?
                .split_whitespace()
                .next()?
                .parse()
                .ok(),
        }
    }

    /// 1500 clients connect at once to a listener that has not accepted
    /// yet (an accept loop that is behind): every connection completes,
    /// where tokio's `TcpListener::bind` (a queue of 128) leaves most of
    /// them retrying their SYN for seconds. It needs `net.core.somaxconn`
    /// of at least 1500 (4096 since Linux 5.4; below that the kernel caps
    /// any queue) and room for 1500 more open files in this process;
    /// without them the check cannot run: it says so, and fails under CI.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_listener_queues_1500_connections_at_once() {
        const CLIENTS: usize = 1500;
        let somaxconn = proc_number("/proc/sys/net/core/somaxconn", None).unwrap_or(0);
        let files = proc_number("/proc/self/limits", Some("Max open files")).unwrap_or(0);
        if somaxconn < CLIENTS || files < CLIENTS + 1000 {
            let why = format!(
                "net.core.somaxconn is {somaxconn} and the open-file limit {files}: \
                 this check needs {CLIENTS} and {}",
                CLIENTS + 1000
            );
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("skipped: {why}");
            return;
        }
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connects: Vec<_> = (0..CLIENTS)
            .map(|_| {
                tokio::spawn(tokio::time::timeout(
                    Duration::from_secs(3),
                    tokio::net::TcpStream::connect(addr),
                ))
            })
            .collect();
        let mut connected = Vec::new();
        let mut failed: HashMap<String, usize> = HashMap::new();
        for c in connects {
            match c.await.unwrap() {
                Ok(Ok(stream)) => connected.push(stream),
                Ok(Err(e)) => *failed.entry(e.kind().to_string()).or_default() += 1,
                Err(_) => *failed.entry("no answer in 3 s".into()).or_default() += 1,
            }
        }
        assert_eq!(
            connected.len(),
            CLIENTS,
            "connections that did not complete, by cause: {failed:?}"
        );
        drop(listener);
    }

    /// `bind` refuses a port that is in use, whichever form names it, as
    /// tokio's does: SO_REUSEADDR never lets two listeners share a port.
    #[tokio::test]
    async fn bind_refuses_a_port_in_use() {
        let held = bind("127.0.0.1:0").await.unwrap();
        let port = held.local_addr().unwrap().port();
        for again in [
            format!("127.0.0.1:{port}"),
            format!("0.0.0.0:{port}"),
            format!("localhost:{port}"),
        ] {
            let got = bind(again.as_str()).await.map(|l| l.local_addr());
            assert_eq!(
                got.unwrap_err().kind(),
                std::io::ErrorKind::AddrInUse,
                "{again}"
            );
        }
        for free in ["127.0.0.1:0", "localhost:0", "0.0.0.0:0"] {
            bind(free).await.unwrap();
        }
        let none = bind(&[][..] as &[SocketAddr]).await.unwrap_err();
        assert_eq!(none.kind(), std::io::ErrorKind::InvalidInput);
    }

    fn addresses(p: &Prepared, name: &str) -> Vec<(usize, usize)> {
        p.streams[name].timeline.addresses()
    }

    /// However many streams serve one recording (the same bytes, or the
    /// same file), their fragments are views of one copy: the same
    /// addresses. A recording given as other bytes (a copy) is a copy.
    #[test]
    fn streams_of_one_recording_share_one_copy() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/sample.mkv");
        let data = Bytes::from(std::fs::read(&path).expect("testdata/sample.mkv"));
        let mut builder = Emulator::builder().live(true);
        for i in 0..100 {
            builder = builder.stream(format!("bytes-{i}"), data.clone());
        }
        for i in 0..3 {
            builder = builder.stream(format!("file-{i}"), path.clone());
        }
        builder = builder.stream("copy", Bytes::copy_from_slice(&data));
        drop(data);
        let p = builder.prepare().expect("the configuration is good");

        let first = addresses(&p, "bytes-0");
        assert!(!first.is_empty());
        for i in 1..100 {
            assert_eq!(addresses(&p, &format!("bytes-{i}")), first, "stream {i}");
        }
        let file = addresses(&p, "file-0");
        assert_eq!(addresses(&p, "file-1"), file);
        assert_eq!(addresses(&p, "file-2"), file);
        // The checks can tell copies apart.
        assert_ne!(file, first);
        let copy = addresses(&p, "copy");
        assert_eq!(copy.len(), first.len());
        assert!(copy.iter().zip(&first).all(|(a, b)| a.1 != b.1));
    }

    /// `Options::stagger` moves the k-th of n live streams k/n of a
    /// fragment (the mean: one repetition over the fragment count)
    /// earlier, in the order the streams were added; without it every
    /// stream of one recording completes its fragments together.
    #[test]
    fn stagger_spreads_live_streams_over_one_fragment() {
        let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample.mkv"))
            .expect("testdata/sample.mkv");
        let data = Bytes::from(data);
        let prepare = |stagger: bool| {
            let options = Options {
                live: true,
                stagger,
                base_time: Some(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000)),
                ..Options::default()
            };
            let mut builder = Emulator::builder().options(options);
            for name in ["c0", "c1", "c2", "c3"] {
                builder = builder.stream(name, data.clone());
            }
            builder.prepare().expect("the configuration is good")
        };
        let due = |p: &Prepared, name: &str| p.streams[name].timeline.available_at(0);
        let together = prepare(false);
        let spread = prepare(true);
        let one = due(&together, "c0");
        // One repetition: the time between a fragment and its repeat.
        let n = together.streams["c0"].timeline.recording_len() as u64;
        let repetition =
            due(&together, "c0").abs_diff(together.streams["c0"].timeline.available_at(n));
        assert!(repetition > 0);
        for (k, name) in (0u64..).zip(["c0", "c1", "c2", "c3"]) {
            assert_eq!(due(&together, name), one, "{name} without stagger");
            assert_eq!(
                due(&spread, name),
                one - repetition * k / (4 * n),
                "{name} staggered"
            );
        }
    }
}
