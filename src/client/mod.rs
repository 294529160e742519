//! A minimal SigV4-signed HTTPS client for the Kinesis Video Streams calls a
//! consumer needs: GetDataEndpoint, GetMedia (with sessions that resume by
//! themselves), ListFragments, GetMediaForFragmentList and GetImages.
//!
//! HTTP/1.1 over hyper with pooled connections; HTTPS with rustls, whose
//! certificate checks are always on (plain `http://` is used only when an
//! endpoint says so, e.g. a local emulator). Data endpoints come from
//! GetDataEndpoint, cached per stream and API, asked again on
//! `InvalidEndpointException` and after [`ClientConfig::endpoint_ttl`].
//!
//! Every byte from the network is treated as hostile. Each user-visible
//! operation (a GetDataEndpoint, a page of a listing, a GetMedia stream, a
//! GetMediaForFragmentList stream) has one retry loop and one budget,
//! [`RetryPolicy::max_attempts`], shared by endpoint discovery, the call and
//! broken media sessions; giving up is one [`ClientError::RetriesExhausted`]
//! naming the operation, the attempts, the last URL called and the last
//! error. Every wait has a deadline (below); every JSON answer is capped
//! ([`ClientConfig::max_json_body`]) and checked against the service models
//! ([`ClientError::InvalidResponse`]); text from the server is shown escaped
//! in errors.
//!
//! # GetMedia sessions
//!
//! [`Client::get_media`] resumes by itself: when a body ends or breaks, the
//! chunk cut short is dropped and GetMedia is called again from the last
//! complete chunk's continuation token. [`MediaStream::reconnects`] and
//! [`MediaStream::last_reconnect`] say how often and why, and
//! [`MediaStream::stats`] gives the counters a service exports (chunks,
//! frames, bytes, reconnects, millis behind now, time of the last chunk).
//! [`ChunkInfo::offset`](crate::ChunkInfo::offset) of the chunks of a
//! [`MediaStream`] or [`MediaEvents`] (and of a GetMediaForFragmentList
//! stream) counts every byte the stream's sessions received: offsets keep
//! growing across reconnects, and the bytes of a chunk cut short and
//! fetched again count twice.
//!
//! # Resuming after a restart (checkpoints)
//!
//! A consumer that must survive its own restarts keeps, after each chunk it
//! has fully handled, that chunk's
//! [`continuation_token`](crate::Chunk::continuation_token) somewhere
//! durable (a file replaced atomically: write elsewhere, sync, rename), and
//! starts the next process with [`StartSelector::ContinuationToken`], which
//! resumes *after* that chunk's fragment. Nothing is lost; a process that
//! dies between handling a chunk and saving its token sees that one chunk
//! again. (`kvs-mkv get-media --checkpoint FILE` does this.)
//!
//! ```no_run
//! use futures::StreamExt;
//! use kvs_mkv::client::{Client, ClientConfig, GetMediaOptions, StartSelector, StreamId};
//!
//! # fn handle(_: &kvs_mkv::Chunk) {}
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::new(ClientConfig::from_env(None, None)?)?;
//! let stream = StreamId::Name("front-door".into());
//! let (path, tmp) = ("front-door.checkpoint", "front-door.checkpoint.tmp");
//! let start = match std::fs::read_to_string(path) {
//!     Ok(token) => StartSelector::ContinuationToken(token.trim().to_string()),
//!     Err(e) if e.kind() == std::io::ErrorKind::NotFound => StartSelector::Earliest,
//!     Err(e) => return Err(e.into()),
//! };
//! let mut chunks = client.get_media(stream, start, GetMediaOptions::default());
//! while let Some(chunk) = chunks.next().await {
//!     let chunk = chunk?;
//!     handle(&chunk);
//!     if let Some(token) = chunk.continuation_token() {
//!         let mut f = std::fs::File::create(tmp)?;
//!         std::io::Write::write_all(&mut f, token.as_bytes())?;
//!         f.sync_all()?;
//!         std::fs::rename(tmp, path)?;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # What bounds a session
//!
//! Every wait has a deadline; the defaults (of [`ClientConfig`] and
//! [`GetMediaOptions`]):
//!
//! - `connect_timeout` (10 s): TCP connect and TLS handshake together.
//! - `call_timeout` (30 s): from the request to the last byte of a JSON
//!   answer; for a media call, to its response headers.
//! - `read_timeout` (30 s): the longest silence inside a media body.
//! - `chunk_timeout` (60 s): the longest a media body (GetMedia,
//!   GetMediaForFragmentList) may take to complete its next chunk, from the
//!   response headers and from each complete chunk. A body that drips bytes
//!   without ever completing a chunk (which the read timeout never catches:
//!   each byte restarts it) ends there as a broken session. The time the
//!   caller spends with an item does not count.
//! - `GetMediaOptions::idle_timeout` (off): the longest a GetMedia stream
//!   goes without a new item, across reconnects; it then ends without
//!   error. The time the caller spends with an item does not count.
//!
//! A timeout of `Duration::MAX` is no deadline at all.
//!
//! A call that fails, and a session that breaks (any of the timeouts above,
//! a cut connection) before delivering anything new, counts against the
//! stream's one retry budget, [`RetryPolicy::max_attempts`] (8) failed
//! attempts in a row, endpoint discovery included; the stream then ends
//! with [`ClientError::RetriesExhausted`]. Against a server that fails every
//! call that is 8 calls (a few seconds of backoff); against one that accepts
//! and never answers, 8 call timeouts (4 minutes). Sessions that end cleanly
//! without anything new stop the stream after
//! [`GetMediaOptions::stop_after_empty_sessions`] (1); with `None` (tailing a
//! live stream) GetMedia is called again, at most 5 times a second.
//!
//! # Listings
//!
//! What a server can make a paginator do: each page is one call (with its
//! own retry budget), made only when the caller asks for the next page, so
//! an answer cannot make the paginator loop by itself. A `NextToken` that
//! was already sent in this listing is [`ClientError::RepeatedNextToken`]
//! (botocore only compares with the previous token; this also ends cycles).
//! Empty pages that carry new tokens are handed out as they come, as
//! botocore does: the service may page through a range with nothing in it,
//! and a caller that collects every page bounds the listing with
//! `max_items` (or stops). Every answer is checked against the models
//! ([`ClientError::InvalidResponse`]) and capped in size
//! ([`ClientError::BodyTooLarge`]).
//!
//! GetMediaForFragmentList: one retry budget per stream of chunks; a call
//! that fails, a body that breaks or stalls (read and chunk timeouts), and a
//! body that ends without the fragment asked for next all count against
//! it, and a delivered fragment starts a new count. A call's answer is read
//! up to the fragments it asked for and no further, so a body that goes on
//! (an endless run of chunks) cannot make the stream endless. Chunk offsets
//! count every byte received by the stream's calls.
//!
//! # Credentials
//!
//! [`ClientConfig::credentials`] is a provider ([`ProvideCredentials`]):
//! static keys, the built-in chain of environment and shared files
//! ([`credentials`]), with the `aws-config` feature the AWS SDK's own
//! default chain (`AwsSdkCredentials`, `ClientConfig::from_aws_config`),
//! or your own. Each client keeps one [`CredentialsCache`]: every request,
//! every GetMedia reconnect and every page is signed with its current
//! keys, which it refreshes ahead of their expiry
//! ([`CredentialsRefresh`]), one refresh at a time. A GetMedia session
//! opened with keys that expire since keeps streaming (SigV4 signs the
//! request, not the connection). A call refused with
//! `ExpiredTokenException` or `UnrecognizedClientException` is sent again
//! once with freshly fetched keys, within the same attempt.
//!
//! # Logging (`tracing`)
//!
//! The client logs with the [`tracing`](https://docs.rs/tracing) crate
//! (part of the `client` feature); install any subscriber to see it
//! (without one, each call site costs a check of a global flag). Targets
//! are the module paths (`kvs_mkv::client`, `kvs_mkv::client::media`,
//! `kvs_mkv::client::retry`). What is logged, by level:
//!
//! - **WARN**, one event per retry, so that an application showing
//!   warnings prints one line per retry or reconnect:
//!   - `retrying after a failed call` (target `kvs_mkv::client::retry`):
//!     `operation` (e.g. `ListFragments for stream cam`), `attempt`,
//!     `max_attempts`, `delay_ms`, `endpoint`, `throttled` (the service
//!     asked to slow down: `ThrottlingException`,
//!     `ClientLimitExceededException`, 429) and `cause`.
//!   - `GetMedia reconnecting` after a failed call or a broken session
//!     (target `kvs_mkv::client::media`): `operation`, `reconnect` (its
//!     number), `reason`, `resume` (the start selector of the new call,
//!     e.g. `continuation token 9134...`), `delay_ms` and `failures` (in a
//!     row, without progress). A GetMedia stream's retries are its
//!     reconnects: this is their only event.
//! - **INFO**: `GetMedia reconnecting` after a session the service ended
//!   cleanly (same fields but `failures`); `InvalidEndpointException: the
//!   data endpoint is asked for again` (`stream`, `api`, `endpoint`).
//! - **DEBUG**: each call, in a span `kvs_call` with `operation` and
//!   `stream`, ends with an event `call` (`endpoint`, `status`,
//!   `request_id`, `error_type` of an error answer, `duration_ms` to the
//!   response headers) or `call failed` (`endpoint`, `duration_ms`,
//!   `error`); `asking GetDataEndpoint` (`stream`, `api`, `reason`: `not
//!   cached` or `expired`) and `data endpoint` (`endpoint`); `waited for
//!   the call-rate limit` (`stream`, `call`, `waited_ms`); `giving up:
//!   retries exhausted`.
//!
//! Credential providers log on target `kvs_mkv::client::credentials`:
//! INFO `credentials refreshed` with `source` (e.g. `container`,
//! `profile`), `access_key_id` and `expires_at` (RFC 3339), and WARN
//! `credential refresh failed` with `source`, `error` and `retry_in_ms`.
//!
//! Never logged: secret access keys, session tokens, signatures, the
//! `Authorization`, `X-Amz-Security-Token` and `Proxy-Authorization`
//! headers (no header is logged), proxy passwords (proxy URLs show
//! `user:***@`), request and response bodies. Text that came from the
//! server (messages, request ids) is logged escaped.
//!
//! ```no_run
//! use futures::StreamExt;
//! use kvs_mkv::client::{Client, ClientConfig, GetMediaOptions, StartSelector, StreamId};
//!
//! # async fn run() -> Result<(), kvs_mkv::client::ClientError> {
//! let client = Client::new(ClientConfig::from_env(None, None)?)?;
//! let stream = StreamId::Name("front-door".into());
//! let mut chunks = client.get_media(stream, StartSelector::Now, GetMediaOptions::default());
//! while let Some(chunk) = chunks.next().await {
//!     let chunk = chunk?;
//!     println!("{:?}: {} frames", chunk.fragment_number(), chunk.frames().len());
//! }
//! # Ok(()) }
//! ```

// `ClientError` carries a `FragmentNumber` (129 bytes, `Copy`: the service
// models allow 128 digits), which puts it past clippy's 128-byte line for
// `Result::Err`. Every call here is a network round trip; moving ~200 bytes
// on the error path costs nothing measurable, and boxing would make every
// matcher of the error dereference.
#![allow(clippy::result_large_err)]

mod archive;
pub use archive::{ChunkStream, FragmentPages};
#[cfg(feature = "aws-config")]
mod aws_sdk;
mod cache;
mod config;
pub mod credentials;
mod error;
mod media;
mod model;
#[cfg(test)]
mod model_tests;
mod proxy;
mod retry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};
use tracing::Instrument;

pub use archive::{ImagePages, Page};
#[cfg(feature = "aws-config")]
pub use aws_sdk::AwsSdkCredentials;
pub use cache::{CredentialsCache, CredentialsRefresh, CredentialsStats};
pub use config::{ClientConfig, RetryPolicy};
pub use credentials::{
    CredentialsChain, CredentialsError, EnvironmentProvider, ProfileFileError, ProfileProvider,
    ProvideCredentials, ProvideFuture, SharedCredentialsProvider, MAX_SHARED_FILE,
};
pub use error::{
    BoxError, ClientError, ConfigError, InvalidRequest, ServiceError, ServiceErrorKind,
};
pub use media::{
    GetMediaOptions, MediaEvents, MediaStats, MediaStream, Reconnect, ReconnectReason,
};
pub use model::{
    sort_fragments, Fragment, FragmentOrder, FragmentSelector, GetImagesRequest, Image, ImageError,
    ImageFormat, Pagination, StartSelector, StreamId, TimestampKind,
};
pub use proxy::{Proxy, ProxySettings};

use crate::rate::RateLimiter;
use crate::sigv4;
use proxy::{Proxies, ProxyConnector};
use retry::{Budget, Failure};

type HttpClient = hyper_util::client::legacy::Client<
    ConnectWithin<hyper_rustls::HttpsConnector<ProxyConnector>>,
    Full<Bytes>,
>;

/// The data-plane APIs, as GetDataEndpoint names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `GET_MEDIA`
    GetMedia,
    /// `LIST_FRAGMENTS`
    ListFragments,
    /// `GET_MEDIA_FOR_FRAGMENT_LIST`
    GetMediaForFragmentList,
    /// `GET_IMAGES`
    GetImages,
}

impl Api {
    /// The `APIName` value.
    pub fn name(self) -> &'static str {
        match self {
            Api::GetMedia => "GET_MEDIA",
            Api::ListFragments => "LIST_FRAGMENTS",
            Api::GetMediaForFragmentList => "GET_MEDIA_FOR_FRAGMENT_LIST",
            Api::GetImages => "GET_IMAGES",
        }
    }

    /// The operation's name, as the API reference spells it.
    pub fn operation(self) -> &'static str {
        match self {
            Api::GetMedia => "GetMedia",
            Api::ListFragments => "ListFragments",
            Api::GetMediaForFragmentList => "GetMediaForFragmentList",
            Api::GetImages => "GetImages",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Api::GetMedia => "/getMedia",
            Api::ListFragments => "/listFragments",
            Api::GetMediaForFragmentList => "/getMediaForFragmentList",
            Api::GetImages => "/getImages",
        }
    }
}

/// The client. Cheap to clone; clones share connections, the endpoint cache,
/// the credentials cache and the rate limits.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    credentials: CredentialsCache,
    http: HttpClient,
    endpoints: Mutex<HashMap<(String, Api), (String, Instant)>>,
    /// Calls per (stream, API).
    limiter: RateLimiter<String>,
    /// The proxies, if any.
    proxies: Option<Arc<Proxies>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with this configuration. Builds the TLS configuration (the
    /// platform's roots plus Mozilla's, always verified); makes no call.
    pub fn new(config: ClientConfig) -> Result<Client, ClientError> {
        check_region(&config.region)?;
        if let Some(url) = &config.endpoint_url {
            check_endpoint_url(url)?;
        }
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(ConfigError::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let proxies = Proxies::new(&config.proxy)?.map(Arc::new);
        // No TCP-only timeout: `ConnectWithin` bounds TCP, a proxy's
        // CONNECT and TLS together.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(ProxyConnector {
                tcp,
                proxies: proxies.clone(),
            });
        let connector = ConnectWithin {
            inner: https,
            timeout: config.connect_timeout,
        };
        // hyper's read buffer grows to about 400 KB (a 512 KiB allocation)
        // on a fast body and keeps that size for the connection's life: for
        // a GetMedia session that waits for its next fragment, memory held
        // for nothing (media.rs copies what it reads into its own buffer).
        // Reads of at most 32 KiB (an allocation of about 64 KiB) cost a
        // few more calls on big chunks. It also caps a response head.
        let http = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .http1_max_buf_size(32 * 1024)
            .build(connector);
        Ok(Client {
            inner: Arc::new(Inner {
                limiter: RateLimiter::new(Some(config.calls_per_second.max(1))),
                proxies,
                credentials: CredentialsCache::new(
                    config.credentials.clone(),
                    config.credentials_refresh,
                ),
                config,
                http,
                endpoints: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The credentials cache every call of this client and its clones
    /// signs from: its [`stats`](CredentialsCache::stats) and the
    /// [`last_error`](CredentialsCache::last_error) of a refresh.
    pub fn credentials(&self) -> &CredentialsCache {
        &self.inner.credentials
    }

    /// GetDataEndpoint, cached per (stream, API) for
    /// [`endpoint_ttl`](ClientConfig::endpoint_ttl), with its own retries.
    pub async fn data_endpoint(&self, stream: &StreamId, api: Api) -> Result<String, ClientError> {
        stream.validate()?;
        let mut budget = self.budget(format!(
            "GetDataEndpoint ({}) for stream {stream}",
            api.name()
        ));
        loop {
            match self.endpoint_attempt(stream, api).await {
                Ok(url) => return Ok(url),
                Err(f) => tokio::time::sleep(budget.failed(f)?).await,
            }
        }
    }

    /// A retry budget for `operation` under the configured policy.
    pub(crate) fn budget(&self, operation: String) -> Budget {
        Budget::new(operation, self.inner.config.retry)
    }

    /// The cached data endpoint, or one GetDataEndpoint call: one attempt.
    async fn endpoint_attempt(&self, stream: &StreamId, api: Api) -> Result<String, Failure> {
        let key = (stream.key(), api);
        let cached = self.lock_endpoints().get(&key).cloned();
        let reason = match cached {
            Some((url, at)) if at.elapsed() < self.inner.config.endpoint_ttl => return Ok(url),
            Some(_) => "expired",
            None => "not cached",
        };
        tracing::debug!(%stream, api = api.name(), reason, "asking GetDataEndpoint");
        let url = format!("{}/getDataEndpoint", self.inner.config.control_plane_url());
        self.rate_limit(stream, "GetDataEndpoint").await;
        let span = call_span("GetDataEndpoint", stream);
        let deadline = self.deadline();
        let answer = async {
            let body = self
                .post(&url, &data_endpoint_body(stream, api), deadline)
                .await?;
            let answer = self
                .read_json(&url, body, self.inner.config.max_json_body, deadline)
                .await?;
            model::data_endpoint(&answer).map_err(|bad| bad.at(&url))
        };
        let endpoint = answer
            .instrument(span)
            .await
            .map_err(|e| Failure::new(&url, e))?;
        tracing::debug!(%stream, api = api.name(), %endpoint, "data endpoint");
        self.lock_endpoints()
            .insert(key, (endpoint.clone(), Instant::now()));
        Ok(endpoint)
    }

    fn lock_endpoints(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(String, Api), (String, Instant)>> {
        self.inner
            .endpoints
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn forget_endpoint(&self, stream: &StreamId, api: Api) {
        self.lock_endpoints().remove(&(stream.key(), api));
    }

    /// The `Proxy-Authorization` of a request to `url` that goes to an
    /// HTTP proxy as an absolute-form request.
    fn proxy_auth(&self, url: &str) -> Option<http::HeaderValue> {
        let uri = url.parse().ok()?;
        self.inner.proxies.as_ref()?.http_auth(&uri)
    }

    /// Waits for the per-stream call-rate limit; a wait is logged.
    async fn rate_limit(&self, stream: &StreamId, what: &str) {
        let waited = self
            .inner
            .limiter
            .acquire(&format!("{}/{what}", stream.key()))
            .await;
        if !waited.is_zero() {
            tracing::debug!(
                %stream,
                call = what,
                waited_ms = waited.as_millis() as u64,
                "waited for the call-rate limit"
            );
        }
    }

    /// When a call started now must be answered.
    fn deadline(&self) -> tokio::time::Instant {
        after(self.inner.config.call_timeout)
    }

    /// One attempt of a data-plane call: the data endpoint (cached, or one
    /// GetDataEndpoint call), then the call under the per-stream rate limit,
    /// returned once its response headers are in. `InvalidEndpointException`
    /// forgets the cached endpoint, so that the next attempt asks again.
    pub(crate) async fn data_attempt(
        &self,
        stream: &StreamId,
        api: Api,
        body: &Value,
    ) -> Result<Answer, Failure> {
        let endpoint = self.endpoint_attempt(stream, api).await?;
        let url = format!("{endpoint}{}", api.path());
        self.rate_limit(stream, api.name()).await;
        let deadline = self.deadline();
        let call = self.post(&url, body, deadline);
        match call.instrument(call_span(api.operation(), stream)).await {
            Ok(body) => Ok(Answer {
                url,
                body,
                deadline,
            }),
            Err(e) => {
                if matches!(&e, ClientError::Service(s) if s.kind == ServiceErrorKind::InvalidEndpoint)
                {
                    tracing::info!(
                        %stream,
                        api = api.name(),
                        %endpoint,
                        "InvalidEndpointException: the data endpoint is asked for again"
                    );
                    self.forget_endpoint(stream, api);
                }
                Err(Failure::new(url, e))
            }
        }
    }

    /// A data-plane JSON call, with the one retry loop of its operation:
    /// the URL that answered, and the answer (at most `limit` bytes).
    pub(crate) async fn data_json(
        &self,
        stream: &StreamId,
        api: Api,
        body: Map<String, Value>,
        limit: usize,
    ) -> Result<(String, Value), ClientError> {
        let body = self.with_stream(stream, body)?;
        let mut budget = self.budget(operation(api, stream));
        loop {
            let attempt = async {
                let a = self.data_attempt(stream, api, &body).await?;
                match self.read_json(&a.url, a.body, limit, a.deadline).await {
                    Ok(v) => Ok((a.url, v)),
                    Err(e) => Err(Failure::new(a.url, e)),
                }
            };
            match attempt.await {
                Ok(answer) => return Ok(answer),
                Err(f) => tokio::time::sleep(budget.failed(f)?).await,
            }
        }
    }

    pub(crate) fn with_stream(
        &self,
        stream: &StreamId,
        mut body: Map<String, Value>,
    ) -> Result<Value, ClientError> {
        stream.validate()?;
        let (member, value) = stream.member();
        body.insert(member.into(), value.into());
        Ok(Value::Object(body))
    }

    /// Reads a JSON answer of at most `limit` bytes by `deadline`. A
    /// `Content-Length` above the limit fails before reading; a body that
    /// grows past it fails with nothing past the limit kept (at most one
    /// read of the connection beyond it is ever in memory).
    async fn read_json(
        &self,
        url: &str,
        mut body: Incoming,
        limit: usize,
        deadline: tokio::time::Instant,
    ) -> Result<Value, ClientError> {
        let too_large = |declared| ClientError::BodyTooLarge {
            endpoint: url.to_string(),
            limit: limit as u64,
            declared,
        };
        let declared = body.size_hint().exact();
        if body.size_hint().lower() > limit as u64 {
            return Err(too_large(declared));
        }
        // Room for what was declared, up to 1 MiB: a declared size is a
        // claim, and memory follows the bytes that actually come.
        let mut bytes = Vec::with_capacity(declared.map_or(0, |d| d.min(1 << 20) as usize));
        loop {
            let frame = tokio::time::timeout_at(deadline, body.frame())
                .await
                .map_err(|_| ClientError::Timeout {
                    after: self.inner.config.call_timeout,
                    what: "the answer's body",
                })?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| transport(url, e))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > limit {
                    return Err(too_large(declared));
                }
                bytes.extend_from_slice(&data);
            }
        }
        serde_json::from_slice(&bytes).map_err(|source| ClientError::InvalidJson {
            endpoint: url.to_string(),
            source,
        })
    }

    /// Signs and sends one POST with the current credentials, answered
    /// (headers) by `deadline`; an error status becomes a [`ServiceError`].
    /// Credentials the service refuses as expired or unknown are replaced
    /// by freshly fetched ones and the request is sent again, once, within
    /// the same attempt (and deadline).
    async fn post(
        &self,
        url: &str,
        body: &Value,
        deadline: tokio::time::Instant,
    ) -> Result<Incoming, ClientError> {
        let payload = body.to_string().into_bytes();
        let cache = &self.inner.credentials;
        let keys = cache.current().await?;
        match self
            .send(url, payload.clone(), &keys.credentials, deadline)
            .await
        {
            Err(ClientError::Service(e)) if e.refuses_credentials() => {
                match cache.replace(&keys).await {
                    Ok(Some(fresh)) => self.send(url, payload, &fresh.credentials, deadline).await,
                    // The same key again, or no new one: the service's answer.
                    Ok(None) | Err(_) => Err(ClientError::Service(e)),
                }
            }
            answer => answer,
        }
    }

    /// Signs `payload` with `credentials` and sends it.
    async fn send(
        &self,
        url: &str,
        payload: Vec<u8>,
        credentials: &sigv4::Credentials,
        deadline: tokio::time::Instant,
    ) -> Result<Incoming, ClientError> {
        let config = &self.inner.config;
        let signed = sigv4::sign_kinesis_video_post(
            url,
            payload,
            &config.region,
            credentials,
            SystemTime::now(),
        )
        .map_err(|source| ClientError::Signing {
            endpoint: url.to_string(),
            source,
        })?;
        let mut request = http::Request::builder().method("POST").uri(url);
        for (name, value) in &signed.headers {
            if !name.eq_ignore_ascii_case("host") {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        if let Some(auth) = self.proxy_auth(url) {
            request = request.header(http::header::PROXY_AUTHORIZATION, auth);
        }
        let started = Instant::now();
        let request = request
            .body(Full::new(Bytes::from(signed.body)))
            .map_err(|_| ConfigError::EndpointUrl {
                url: sigv4::redact::url(url),
            })?;
        let response = tokio::time::timeout_at(deadline, self.inner.http.request(request))
            .await
            .map_err(|_| ClientError::Timeout {
                after: config.call_timeout,
                what: "the response headers",
            })
            .and_then(|r| r.map_err(|e| call_error(url, e)))
            .inspect_err(|e| log_call_failed(url, started, e))?;
        if response.status().is_success() {
            log_call(
                url,
                started,
                response.status().as_u16(),
                request_id(&response),
                None,
            );
            return Ok(response.into_body());
        }
        let e = self.service_error(response).await;
        log_call(
            url,
            started,
            e.status,
            e.request_id.as_deref(),
            Some(&e.kind),
        );
        Err(ClientError::Service(e))
    }

    async fn service_error(&self, response: http::Response<Incoming>) -> ServiceError {
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let error_type = header("x-amzn-errortype").or_else(|| header("x-amz-errortype"));
        let request_id = request_id(&response).map(str::to_string);
        let limit = http_body_util::Limited::new(response.into_body(), 64 * 1024);
        let body = tokio::time::timeout(self.inner.config.call_timeout, limit.collect()).await;
        let json: Value = body
            .ok()
            .and_then(|b| b.ok())
            .and_then(|b| serde_json::from_slice(&b.to_bytes()).ok())
            .unwrap_or(Value::Null);
        let message = ["message", "Message"]
            .iter()
            .find_map(|k| json.get(*k).and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        let kind = match error_type.or_else(|| {
            json.get("__type")
                .and_then(Value::as_str)
                .map(str::to_string)
        }) {
            Some(t) => ServiceErrorKind::from_type(&t),
            None if status == 429 => ServiceErrorKind::Throttling,
            None => ServiceErrorKind::Other(format!("HTTP {status}")),
        };
        ServiceError {
            kind,
            status,
            message,
            request_id,
        }
    }
}

/// A region is 1 to 64 characters of `[a-z0-9-]` (it becomes part of a
/// host name and of every signature's scope).
fn check_region(region: &str) -> Result<(), ConfigError> {
    let ok = (1..=64).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Region {
            region: region.to_string(),
        })
    }
}

/// An endpoint override is an absolute `http(s)://host[:port][/path]` URL
/// without user info or a query. (User info cannot be signed: accepted,
/// it failed every call at signing, with the URL, password included, in
/// the error.)
fn check_endpoint_url(url: &str) -> Result<(), ConfigError> {
    let ok = url.parse::<http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.host().is_some_and(|h| !h.is_empty())
            && !uri.authority().is_some_and(|a| a.as_str().contains('@'))
            && uri.query().is_none()
    });
    if ok {
        Ok(())
    } else {
        Err(ConfigError::EndpointUrl {
            url: sigv4::redact::url(url),
        })
    }
}

/// The span of one call: the operation and the stream (the call's events
/// add the endpoint, status, request id and duration).
fn call_span(operation: &'static str, stream: &StreamId) -> tracing::Span {
    tracing::debug_span!("kvs_call", operation, %stream)
}

/// The request id of a response (`x-amzn-RequestId`, or S3-style
/// `x-amz-request-id`).
fn request_id<B>(response: &http::Response<B>) -> Option<&str> {
    ["x-amzn-requestid", "x-amz-request-id"]
        .iter()
        .find_map(|name| response.headers().get(*name))
        .and_then(|v| v.to_str().ok())
}

/// One call answered: DEBUG, with the status, the request id, the error
/// type of an error answer, and the time to the response headers. Server
/// text is shown escaped.
fn log_call(
    url: &str,
    started: Instant,
    status: u16,
    request_id: Option<&str>,
    error: Option<&ServiceErrorKind>,
) {
    tracing::debug!(
        endpoint = %url,
        status,
        request_id = request_id.map(error::shown),
        error_type = error.map(|k| error::shown(k.as_str())),
        duration_ms = started.elapsed().as_millis() as u64,
        "call"
    );
}

/// One call not answered (transport error, timeout): DEBUG.
fn log_call_failed(url: &str, started: Instant, e: &ClientError) {
    tracing::debug!(
        endpoint = %url,
        duration_ms = started.elapsed().as_millis() as u64,
        error = %e,
        "call failed"
    );
}

/// The deadline of a wait of `d` from now. A timeout too long to be an
/// instant (`Duration::MAX`, "no timeout") waits decades, as
/// `tokio::time::sleep` does for such durations, instead of overflowing.
pub(crate) fn after(d: std::time::Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(d)
        .unwrap_or_else(|| now + std::time::Duration::from_secs(30 * 365 * 86_400))
}

fn data_endpoint_body(stream: &StreamId, api: Api) -> Value {
    let (member, value) = stream.member();
    json!({ member: value, "APIName": api.name() })
}

/// The operation's name in errors: `ListFragments for stream cam`.
pub(crate) fn operation(api: Api, stream: &StreamId) -> String {
    format!("{} for stream {stream}", api.operation())
}

/// A call's response headers are in: the URL called, the body, and the
/// call's deadline (for a JSON answer's body).
pub(crate) struct Answer {
    pub(crate) url: String,
    pub(crate) body: Incoming,
    pub(crate) deadline: tokio::time::Instant,
}

/// A failed call: a connect timeout (found anywhere in the error's chain)
/// as [`ClientError::ConnectTimeout`], anything else as a transport error.
fn call_error(url: &str, e: hyper_util::client::legacy::Error) -> ClientError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(t) = s.downcast_ref::<ConnectTimedOut>() {
            return ClientError::ConnectTimeout {
                host: t.host.clone(),
                after: t.after,
            };
        }
        source = s.source();
    }
    transport(url, e)
}

/// The connector with one timeout over the whole connect: TCP and TLS
/// (hyper's `HttpConnector::set_connect_timeout` covers TCP only, leaving a
/// stalled TLS handshake to the call timeout).
#[derive(Clone)]
struct ConnectWithin<C> {
    inner: C,
    timeout: std::time::Duration,
}

/// The error of a connect that took longer than the connect timeout.
#[derive(Debug)]
struct ConnectTimedOut {
    host: String,
    after: std::time::Duration,
}

impl std::fmt::Display for ConnectTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "connect (TCP+TLS) to {} timed out after {:?}",
            self.host, self.after
        )
    }
}

impl std::error::Error for ConnectTimedOut {}

impl<C> tower_service::Service<http::Uri> for ConnectWithin<C>
where
    C: tower_service::Service<http::Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: http::Uri) -> Self::Future {
        let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let after = self.timeout;
        let connecting = self.inner.call(uri);
        Box::pin(async move {
            match tokio::time::timeout(after, connecting).await {
                Ok(done) => done.map_err(Into::into),
                Err(_) => Err(Box::new(ConnectTimedOut { host, after }) as BoxError),
            }
        })
    }
}

/// A transport error: the cause is kept as the error's source.
fn transport(endpoint: &str, e: impl Into<BoxError>) -> ClientError {
    ClientError::Transport {
        endpoint: endpoint.to_string(),
        source: e.into(),
    }
}
