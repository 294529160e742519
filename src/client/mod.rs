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

mod archive;
pub use archive::{ChunkStream, FragmentPages};
mod config;
mod error;
mod media;
mod model;
#[cfg(test)]
mod model_tests;
mod retry;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Map, Value};

pub use archive::{ImagePages, Page};
pub use config::{ClientConfig, RetryPolicy};
pub use error::{ClientError, ServiceError, ServiceErrorKind};
pub use media::{GetMediaOptions, MediaEvents, MediaStream};
pub use model::{
    sort_fragments, system_time, timestamp_from_system_time, Fragment, FragmentOrder,
    FragmentSelector, GetImagesRequest, Image, ImageError, ImageFormat, Pagination, StartSelector,
    StreamId, TimestampKind,
};

use crate::sigv4;
use retry::{backoff, RateLimiter};

type HttpClient =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

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

    fn path(self) -> &'static str {
        match self {
            Api::GetMedia => "/getMedia",
            Api::ListFragments => "/listFragments",
            Api::GetMediaForFragmentList => "/getMediaForFragmentList",
            Api::GetImages => "/getImages",
        }
    }
}

/// The client. Cheap to clone; clones share connections, the endpoint cache
/// and the rate limits.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: ClientConfig,
    http: HttpClient,
    endpoints: Mutex<HashMap<(String, Api), (String, Instant)>>,
    limiter: RateLimiter,
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
        .map_err(|e| ClientError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(config.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http =
            hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
        Ok(Client {
            inner: Arc::new(Inner {
                limiter: RateLimiter::new(config.calls_per_second),
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

    /// GetDataEndpoint, cached per (stream, API) for
    /// [`endpoint_ttl`](ClientConfig::endpoint_ttl).
    pub async fn data_endpoint(&self, stream: &StreamId, api: Api) -> Result<String, ClientError> {
        stream.validate()?;
        let key = (stream.key(), api);
        if let Some((url, at)) = self.lock_endpoints().get(&key) {
            if at.elapsed() < self.inner.config.endpoint_ttl {
                return Ok(url.clone());
            }
        }
        let body = data_endpoint_body(stream, api);
        let control = self.inner.config.control_plane_url();
        let limit_key = format!("{}/GetDataEndpoint", stream.key());
        let answer = self
            .retrying(&limit_key, || {
                self.post_json(&control, "/getDataEndpoint", &body)
            })
            .await?;
        let url = answer
            .get("DataEndpoint")
            .and_then(Value::as_str)
            .ok_or_else(|| ClientError::Protocol {
                endpoint: control.clone(),
                detail: "no DataEndpoint in the answer".into(),
            })?
            .trim_end_matches('/')
            .to_string();
        self.lock_endpoints()
            .insert(key, (url.clone(), Instant::now()));
        Ok(url)
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

    /// Calls `f` until it succeeds, fails for good, or retries run out;
    /// every call waits its turn under the per-stream rate limit.
    async fn retrying<T, F, Fut>(&self, limit_key: &str, mut f: F) -> Result<T, ClientError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ClientError>>,
    {
        let policy = self.inner.config.retry;
        let mut attempt = 0;
        loop {
            self.inner.limiter.acquire(limit_key).await;
            attempt += 1;
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && attempt < policy.max_attempts => {
                    tokio::time::sleep(backoff(&policy, attempt)).await;
                }
                Err(e) if e.is_retryable() => {
                    return Err(ClientError::RetriesExhausted {
                        attempts: attempt,
                        last: Box::new(e),
                    })
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A data-plane JSON call: [`media_call`](Self::media_call), then the
    /// answer read as JSON.
    async fn data_call(
        &self,
        stream: &StreamId,
        api: Api,
        body: Map<String, Value>,
    ) -> Result<Value, ClientError> {
        let incoming = self.media_call(stream, api, body).await?;
        self.read_json(&format!("{} {stream}", api.name()), incoming)
            .await
    }

    /// A data-plane call with endpoint discovery, retries and the rate limit,
    /// returned once the response headers are in. `InvalidEndpointException`
    /// forgets the cached endpoint before the retry.
    async fn media_call(
        &self,
        stream: &StreamId,
        api: Api,
        body: Map<String, Value>,
    ) -> Result<Incoming, ClientError> {
        let body = self.with_stream(stream, body)?;
        let limit_key = format!("{}/{}", stream.key(), api.name());
        self.retrying(&limit_key, || async {
            let endpoint = self.data_endpoint(stream, api).await?;
            let r = self.post(&endpoint, api.path(), &body).await;
            if is_invalid_endpoint(&r) {
                self.forget_endpoint(stream, api);
            }
            r
        })
        .await
    }

    fn with_stream(
        &self,
        stream: &StreamId,
        mut body: Map<String, Value>,
    ) -> Result<Value, ClientError> {
        stream.validate()?;
        let (member, value) = stream.member();
        body.insert(member.into(), value.into());
        Ok(Value::Object(body))
    }

    async fn post_json(
        &self,
        endpoint: &str,
        path: &str,
        body: &Value,
    ) -> Result<Value, ClientError> {
        let incoming = self.post(endpoint, path, body).await?;
        self.read_json(&format!("{endpoint}{path}"), incoming).await
    }

    async fn read_json(&self, endpoint: &str, incoming: Incoming) -> Result<Value, ClientError> {
        let timeout = self.inner.config.call_timeout;
        let bytes = tokio::time::timeout(timeout, incoming.collect())
            .await
            .map_err(|_| ClientError::Timeout {
                after: timeout,
                what: "the answer's body",
            })?
            .map_err(|e| transport(endpoint, &e))?
            .to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            endpoint: endpoint.to_string(),
            detail: format!("invalid JSON: {e}"),
        })
    }

    /// Signs and sends one POST; an error status becomes a [`ServiceError`].
    async fn post(
        &self,
        endpoint: &str,
        path: &str,
        body: &Value,
    ) -> Result<Incoming, ClientError> {
        let config = &self.inner.config;
        let url = format!("{endpoint}{path}");
        let payload =
            serde_json::to_vec(body).map_err(|e| ClientError::InvalidRequest(e.to_string()))?;
        let signed = sigv4::sign_kinesis_video_post(
            &url,
            payload,
            &config.region,
            &config.credentials,
            SystemTime::now(),
        )
        .map_err(|e| ClientError::Config(format!("cannot sign a request to {url}: {e}")))?;
        let mut request = http::Request::builder().method("POST").uri(&url);
        for (name, value) in &signed.headers {
            if !name.eq_ignore_ascii_case("host") {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        let request = request
            .body(Full::new(Bytes::from(signed.body)))
            .map_err(|e| ClientError::Config(format!("bad request for {url}: {e}")))?;
        let response = tokio::time::timeout(config.call_timeout, self.inner.http.request(request))
            .await
            .map_err(|_| ClientError::Timeout {
                after: config.call_timeout,
                what: "the response headers",
            })?
            .map_err(|e| transport(&url, &e))?;
        if response.status().is_success() {
            return Ok(response.into_body());
        }
        Err(ClientError::Service(self.service_error(response).await))
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
        let request_id = header("x-amzn-requestid").or_else(|| header("x-amz-request-id"));
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

fn data_endpoint_body(stream: &StreamId, api: Api) -> Value {
    let (member, value) = stream.member();
    json!({ member: value, "APIName": api.name() })
}

fn is_invalid_endpoint<T>(r: &Result<T, ClientError>) -> bool {
    matches!(r, Err(ClientError::Service(e)) if e.kind == ServiceErrorKind::InvalidEndpoint)
}

fn transport(endpoint: &str, e: &dyn std::error::Error) -> ClientError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    ClientError::Transport {
        endpoint: endpoint.to_string(),
        message,
    }
}
