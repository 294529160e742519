//! Client configuration: region, credentials provider, endpoints,
//! timeouts, retries.
//!
//! With [`ClientConfig::from_env`], credentials come from the built-in chain
//! ([`CredentialsChain::default_chain`]): the profile named explicitly
//! (`--profile`); else the environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then the profile
//! `AWS_PROFILE` (or `default`) in the shared credentials file
//! (`AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/credentials`) and config file
//! (`AWS_CONFIG_FILE`, `~/.aws/config`); static keys only (see
//! [`credentials`](super::credentials) for what it does not cover, and the
//! `aws-config` feature's `ClientConfig::from_aws_config` for the AWS
//! CLI's whole chain). The region: given explicitly; `AWS_REGION`;
//! `AWS_DEFAULT_REGION`; the profile's `region`.

use std::time::Duration;

use super::cache::CredentialsRefresh;
use super::credentials::{
    ready_now, CredentialsChain, ProfileProvider, ProvideCredentials, SharedCredentialsProvider,
};
use super::{ClientError, ConfigError, Proxy};
use crate::sigv4::Credentials;

/// Backoff and retry limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Failed attempts of one operation before it gives up. The budget is
    /// shared by everything the operation does: finding the data endpoint
    /// (GetDataEndpoint), the call itself, and for GetMedia and
    /// GetMediaForFragmentList the sessions that broke before delivering
    /// anything new. A delivered chunk (or, frame-level, a frame) starts a
    /// new count. Each attempt is one call, so against a server that fails
    /// every call, `max_attempts` calls are made in all. Values below 1 count
    /// as 1.
    pub max_attempts: u32,
    /// First backoff ceiling; doubles each attempt ("full jitter" below it).
    pub base_delay: Duration,
    /// Largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        }
    }
}

/// Everything the [`Client`](super::Client) needs.
///
/// ```
/// use kvs_mkv::client::ClientConfig;
/// use kvs_mkv::sigv4::Credentials;
/// let creds = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG").with_session_token("FQoGZXIvYXdz");
/// let config = ClientConfig::new("us-west-2", creds).with_endpoint_url("http://127.0.0.1:8080");
/// assert_eq!(config.control_plane_url(), "http://127.0.0.1:8080");
/// let shown = format!("{config:?}");
/// assert!(shown.contains("AKIDEXAMPLE"));
/// assert!(!shown.contains("wJalr") && !shown.contains("FQoG"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The AWS region, e.g. `us-west-2`.
    pub region: String,
    /// Where the keys come from (static keys, the built-in chain, the AWS
    /// SDK's chain, your own [`ProvideCredentials`]). Each
    /// [`Client`](super::Client) keeps them in one cache
    /// ([`CredentialsCache`](super::CredentialsCache)). Its Debug output
    /// hides the secrets.
    pub credentials: SharedCredentialsProvider,
    /// When credentials that expire are refreshed, and the deadline of a
    /// refresh.
    pub credentials_refresh: CredentialsRefresh,
    /// Control-plane endpoint override (an emulator, a VPC endpoint); data
    /// endpoints always come from GetDataEndpoint.
    pub endpoint_url: Option<String>,
    /// Longest time to connect: the TCP connection and the TLS handshake
    /// together. Default 10 s.
    pub connect_timeout: Duration,
    /// Longest time for a JSON call, from sending the request to the last
    /// byte of its answer; for a media call, to its response headers.
    /// Default 30 s.
    pub call_timeout: Duration,
    /// Longest wait for the next bytes of a media body before the connection
    /// counts as broken. Default 30 s.
    pub read_timeout: Duration,
    /// Longest time a media body (GetMedia, GetMediaForFragmentList) may take
    /// to complete its next chunk, counted from the response headers and
    /// from each complete chunk. A body that keeps sending bytes without
    /// completing a chunk (a drip, which `read_timeout` never catches) then
    /// counts as a broken session. Default 60 s: three times the longest
    /// fragment the service takes (20 s), which a GetMedia at the tip of a
    /// live stream receives at the pace it was recorded. Raise it for
    /// fragments of tens of MB over a slow link.
    pub chunk_timeout: Duration,
    /// Largest JSON answer read (GetDataEndpoint, ListFragments, and the
    /// non-image part of GetImages); a larger one fails with
    /// [`ClientError::BodyTooLarge`] before anything past the limit is read,
    /// and at once when its `Content-Length` says so. Default 4 MiB: the
    /// largest ListFragments page (1000 fragments of at most 128-digit
    /// numbers, four numeric members each, and a NextToken of at most 4096
    /// characters) is under 0.5 MB.
    pub max_json_body: usize,
    /// Largest `ImageContent` of a GetImages image, in base64 characters.
    /// Default 6 MiB (6 291 456), the models' limit. A GetImages answer
    /// holds at most its page size of images, and never more than 25 (the
    /// service's documented page limit, whatever `MaxResults` asks), so it
    /// may be up to `max_json_body + min(page_size, 25) * (max_image_size +
    /// 1 KiB)`: about 154 MiB with the defaults, 34 MiB with a page size of
    /// 5. That is its cap: a legitimate page is never refused, and a smaller
    /// page size or `max_image_size` lowers it.
    pub max_image_size: usize,
    /// How long a data endpoint is used before it is asked for again.
    pub endpoint_ttl: Duration,
    /// Calls per second per stream and API (the service allows 5).
    pub calls_per_second: u32,
    /// Retries.
    pub retry: RetryPolicy,
    /// The HTTP proxy: by default the environment's (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `NO_PROXY`, read when the client is built), see
    /// [`Proxy`].
    pub proxy: Proxy,
}

impl ClientConfig {
    /// A configuration with the given region and static keys and defaults
    /// for the rest.
    pub fn new(region: impl Into<String>, credentials: Credentials) -> ClientConfig {
        ClientConfig::with_credentials_provider(region, credentials)
    }

    /// A configuration with the given region and credentials provider and
    /// defaults for the rest.
    ///
    /// ```
    /// use kvs_mkv::client::{ClientConfig, CredentialsChain, EnvironmentProvider};
    /// let config = ClientConfig::with_credentials_provider(
    ///     "eu-west-1",
    ///     CredentialsChain::new().or_else(EnvironmentProvider::new()),
    /// );
    /// assert_eq!(config.region, "eu-west-1");
    /// ```
    pub fn with_credentials_provider(
        region: impl Into<String>,
        provider: impl ProvideCredentials + 'static,
    ) -> ClientConfig {
        ClientConfig {
            region: region.into(),
            credentials: SharedCredentialsProvider::new(provider),
            credentials_refresh: CredentialsRefresh::default(),
            endpoint_url: None,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(30),
            chunk_timeout: Duration::from_secs(60),
            max_json_body: 4 << 20,
            max_image_size: 6 << 20,
            endpoint_ttl: Duration::from_secs(15 * 60),
            calls_per_second: 5,
            retry: RetryPolicy::default(),
            proxy: Proxy::default(),
        }
    }

    /// Sets the control-plane endpoint override.
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> ClientConfig {
        self.endpoint_url = Some(url.into().trim_end_matches('/').to_string());
        self
    }

    /// Sets the proxy (instead of the environment's).
    pub fn with_proxy(mut self, proxy: Proxy) -> ClientConfig {
        self.proxy = proxy;
        self
    }

    /// Region and credentials from the environment and the shared files
    /// (see the module docs), with an optional explicit profile and region.
    /// The credentials provider is the built-in chain
    /// ([`CredentialsChain::default_chain`]), asked once here so that
    /// missing credentials fail at once, and again by the client (which
    /// asks it again when the service refuses the keys, so keys changed in
    /// the files are picked up).
    ///
    /// ```no_run
    /// let config = kvs_mkv::client::ClientConfig::from_env(Some("camera-team"), None)?;
    /// println!("region {}", config.region);
    /// # Ok::<(), kvs_mkv::client::ClientError>(())
    /// ```
    pub fn from_env(
        profile: Option<&str>,
        region: Option<&str>,
    ) -> Result<ClientConfig, ClientError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let chain = CredentialsChain::default_chain(profile);
        // The built-in providers answer at once (they read the environment
        // and local files).
        if let Some(first) = ready_now(chain.provide()) {
            first?;
        }
        let profiles = ProfileProvider::new(profile);
        let profile_name = profiles.profile_name();
        let region = match region
            .map(str::to_string)
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
        {
            Some(region) => region,
            // A file that cannot be parsed is said as such, not as "no
            // region".
            None => profiles
                .files()
                .map_err(ConfigError::from)?
                .value(&profile_name, "region")
                .ok_or(ConfigError::NoRegion {
                    profile: profile_name,
                })?,
        };
        Ok(ClientConfig::with_credentials_provider(region, chain))
    }

    /// Sets the credentials provider.
    pub fn with_provider(mut self, provider: impl ProvideCredentials + 'static) -> ClientConfig {
        self.credentials = SharedCredentialsProvider::new(provider);
        self
    }

    /// The control-plane URL: the override, or the region's public endpoint.
    pub fn control_plane_url(&self) -> String {
        if let Some(url) = &self.endpoint_url {
            return url.clone();
        }
        let suffix = if self.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        format!("https://kinesisvideo.{}.{suffix}", self.region)
    }
}
