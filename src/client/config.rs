//! Client configuration: region, credentials, endpoints, timeouts, retries.
//!
//! Credentials are looked for, in order: given explicitly; the profile named
//! explicitly (`--profile`); the environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`); the profile `AWS_PROFILE`
//! (or `default`) in the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`,
//! `~/.aws/credentials`) and config file (`AWS_CONFIG_FILE`, `~/.aws/config`).
//! The region: given explicitly; `AWS_REGION`; `AWS_DEFAULT_REGION`; the
//! profile's `region`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

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
/// assert!(!shown.contains("wJalr") && !shown.contains("FQoG"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The AWS region, e.g. `us-west-2`.
    pub region: String,
    /// The key pair (its Debug output hides the secrets).
    pub credentials: Credentials,
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
    /// Default 6 MiB (6 291 456), the models' limit. A GetImages page may
    /// hold up to its page size of images (100, the models' limit, when no
    /// page size is given), so its answer may be up to `max_json_body +
    /// page_size * (max_image_size + 1 KiB)`: 600 MiB with no page size, 30
    /// MiB with a page size of 5. That is its cap: a legitimate page is never
    /// refused, and a smaller page size lowers it.
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
    /// A configuration with the given region and credentials and defaults for
    /// the rest.
    pub fn new(region: impl Into<String>, credentials: Credentials) -> ClientConfig {
        ClientConfig {
            region: region.into(),
            credentials,
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
        let files = SharedFiles::load();
        let profile_name = profile
            .map(str::to_string)
            .or_else(|| env("AWS_PROFILE"))
            .unwrap_or_else(|| "default".into());
        let from_profile = |name: &str| files.credentials(name);
        let credentials = if let Some(p) = profile {
            from_profile(p)?.ok_or_else(|| {
                ClientError::Credentials(format!(
                    "profile {p:?} has no credentials in {}",
                    files.describe()
                ))
            })?
        } else if let Some(id) = env("AWS_ACCESS_KEY_ID") {
            let secret = env("AWS_SECRET_ACCESS_KEY").ok_or_else(|| {
                ClientError::Credentials(
                    "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
                )
            })?;
            let c = Credentials::new(id, secret);
            match env("AWS_SESSION_TOKEN") {
                Some(t) => c.with_session_token(t),
                None => c,
            }
        } else {
            from_profile(&profile_name)?.ok_or_else(|| {
                ClientError::Credentials(format!(
                    "no credentials: AWS_ACCESS_KEY_ID is not set and profile {profile_name:?} has none in {}",
                    files.describe()
                ))
            })?
        };
        let region = region
            .map(str::to_string)
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| files.value(&profile_name, "region"))
            .ok_or(ConfigError::NoRegion {
                profile: profile_name,
            })?;
        Ok(ClientConfig::new(region, credentials))
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

/// The shared credentials and config files, parsed as INI.
struct SharedFiles {
    credentials_path: PathBuf,
    config_path: PathBuf,
    credentials: HashMap<String, HashMap<String, String>>,
    config: HashMap<String, HashMap<String, String>>,
}

impl SharedFiles {
    fn load() -> SharedFiles {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let path = |var: &str, default: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".aws").join(default))
        };
        let credentials_path = path("AWS_SHARED_CREDENTIALS_FILE", "credentials");
        let config_path = path("AWS_CONFIG_FILE", "config");
        let read = |p: &PathBuf| {
            std::fs::read_to_string(p)
                .map(|t| parse_ini(&t))
                .unwrap_or_default()
        };
        SharedFiles {
            credentials: read(&credentials_path),
            config: read(&config_path),
            credentials_path,
            config_path,
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} or {}",
            self.credentials_path.display(),
            self.config_path.display()
        )
    }

    /// A key of a profile: the credentials file's `[name]` first, then the
    /// config file's `[profile name]` (or `[default]`).
    fn value(&self, profile: &str, key: &str) -> Option<String> {
        let config_section = if profile == "default" {
            "default".to_string()
        } else {
            format!("profile {profile}")
        };
        self.credentials
            .get(profile)
            .and_then(|s| s.get(key))
            .or_else(|| self.config.get(&config_section).and_then(|s| s.get(key)))
            .cloned()
    }

    fn credentials(&self, profile: &str) -> Result<Option<Credentials>, ClientError> {
        let id = self.value(profile, "aws_access_key_id");
        let secret = self.value(profile, "aws_secret_access_key");
        match (id, secret) {
            (Some(id), Some(secret)) => {
                let c = Credentials::new(id, secret);
                Ok(Some(match self.value(profile, "aws_session_token") {
                    Some(t) => c.with_session_token(t),
                    None => c,
                }))
            }
            (Some(_), None) => Err(ClientError::Credentials(format!(
                "profile {profile:?} has aws_access_key_id but no aws_secret_access_key ({})",
                self.describe()
            ))),
            _ => Ok(None),
        }
    }
}

fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_lowercase(), v.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections() {
        let ini =
            parse_ini("[default]\naws_access_key_id = A\n# c\n[profile cam]\nregion=eu-west-1\n");
        assert_eq!(ini["default"]["aws_access_key_id"], "A");
        assert_eq!(ini["profile cam"]["region"], "eu-west-1");
    }
}
