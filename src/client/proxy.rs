//! HTTP proxies, as the AWS CLI uses them: `HTTPS_PROXY` for `https://`
//! endpoints (a `CONNECT` tunnel, TLS end to end through it), `HTTP_PROXY`
//! for `http://` endpoints (absolute-form requests to the proxy), hosts in
//! `NO_PROXY` reached directly. hyper-util's proxy support does the
//! matching (`Matcher`, curl's `NO_PROXY` rules) and the tunnel (`Tunnel`);
//! this module reads the settings, checks them, and puts them in the
//! connector.
//!
//! One difference from the AWS CLI: loopback endpoints (`localhost`,
//! `127.0.0.0/8`, `::1`) are always reached directly, as Go's `net/http`
//! does. A proxy elsewhere cannot reach this machine's loopback, so a
//! local emulator behind a corporate `HTTP_PROXY` would otherwise fail for
//! a reason that is hard to see.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Uri};
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

use super::error::BoxError;
use super::ConfigError;
use crate::sigv4::redact;

/// How the client reaches the service: directly, or through an HTTP proxy
/// ([`ClientConfig::proxy`](super::ClientConfig::proxy)).
///
/// ```
/// use kvs_mkv::client::{ClientConfig, Proxy, ProxySettings};
/// use kvs_mkv::sigv4::Credentials;
///
/// let proxy = ProxySettings::default()
///     .with_https("http://user:hunter2@proxy.example.com:3128")
///     .with_no_proxy("169.254.169.254, .internal.example.com");
/// let config = ClientConfig::new("us-west-2", Credentials::new("AKID", "key"))
///     .with_proxy(Proxy::Explicit(proxy));
/// let shown = format!("{config:?}");
/// assert!(shown.contains("user:***@proxy.example.com:3128") && !shown.contains("hunter2"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proxy {
    /// The environment, read when the [`Client`](super::Client) is built
    /// (the default): see [`ProxySettings::from_env`].
    #[default]
    FromEnv,
    /// No proxy, whatever the environment says.
    Disabled,
    /// These settings (the environment is not read).
    Explicit(ProxySettings),
}

/// Which proxy for which endpoints.
///
/// A proxy is an `http://[user:password@]host[:port]` URL (the scheme may
/// be left out; the port defaults to 80); HTTPS and SOCKS proxies are not
/// supported. A user and password are sent as `Proxy-Authorization: Basic`
/// (in the `CONNECT` request for an `https://` endpoint, with each request
/// for an `http://` one) and never shown: `Debug` and errors print
/// `user:***@`.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxySettings {
    /// The proxy for `http://` endpoints (`HTTP_PROXY`).
    pub http: Option<String>,
    /// The proxy for `https://` endpoints (`HTTPS_PROXY`): the service's
    /// own endpoints are all `https://`.
    pub https: Option<String>,
    /// Hosts reached directly (`NO_PROXY`), comma-separated, with curl's
    /// rules: a domain matches itself and its subdomains (`example.com`
    /// and `.example.com` alike), an IP address or CIDR block matches
    /// addresses, `*` matches everything. Loopback endpoints are always
    /// reached directly.
    pub no_proxy: String,
}

impl std::fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxySettings")
            .field("http", &self.http.as_deref().map(redact::url))
            .field("https", &self.https.as_deref().map(redact::url))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl ProxySettings {
    /// Sets the proxy for `http://` endpoints.
    pub fn with_http(mut self, url: impl Into<String>) -> Self {
        self.http = Some(url.into());
        self
    }

    /// Sets the proxy for `https://` endpoints.
    pub fn with_https(mut self, url: impl Into<String>) -> Self {
        self.https = Some(url.into());
        self
    }

    /// Sets the hosts reached directly.
    pub fn with_no_proxy(mut self, hosts: impl Into<String>) -> Self {
        self.no_proxy = hosts.into();
        self
    }

    /// The settings of the environment, read as the AWS CLI (Python's
    /// `urllib`) reads them: `https_proxy` or `HTTPS_PROXY`, `http_proxy`
    /// or `HTTP_PROXY`, `no_proxy` or `NO_PROXY`, the lower-case name first;
    /// empty values count as unset. In a CGI program (`REQUEST_METHOD` set)
    /// `HTTP_PROXY` is ignored: a request's `Proxy:` header arrives there
    /// under that name ("httpoxy").
    pub fn from_env() -> ProxySettings {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) with `var` for the environment.
    pub(crate) fn from_vars(var: impl Fn(&str) -> Option<String>) -> ProxySettings {
        let get = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| var(n).filter(|v| !v.trim().is_empty()))
        };
        let cgi = var("REQUEST_METHOD").is_some();
        let http_names: &[&str] = if cgi {
            &["http_proxy"]
        } else {
            &["http_proxy", "HTTP_PROXY"]
        };
        ProxySettings {
            http: get(http_names),
            https: get(&["https_proxy", "HTTPS_PROXY"]),
            no_proxy: get(&["no_proxy", "NO_PROXY"]).unwrap_or_default(),
        }
    }
}

/// The proxy settings, checked and ready for the connector.
#[derive(Debug)]
pub(crate) struct Proxies {
    matcher: Matcher,
}

impl Proxies {
    /// `None` when no proxy is set; an error for a proxy URL that cannot
    /// be used.
    pub(crate) fn new(proxy: &Proxy) -> Result<Option<Proxies>, ConfigError> {
        let (settings, from_env) = match proxy {
            Proxy::Disabled => return Ok(None),
            Proxy::FromEnv => (ProxySettings::from_env(), true),
            Proxy::Explicit(s) => (s.clone(), false),
        };
        let variable = |which: &str| {
            if from_env {
                format!("{which}_PROXY")
            } else {
                format!("ClientConfig::proxy ({})", which.to_lowercase())
            }
        };
        let http = check(settings.http.as_deref(), || variable("HTTP"))?;
        let https = check(settings.https.as_deref(), || variable("HTTPS"))?;
        if http.is_none() && https.is_none() {
            return Ok(None);
        }
        let matcher = Matcher::builder()
            .http(http.unwrap_or_default())
            .https(https.unwrap_or_default())
            .no(settings.no_proxy)
            .build();
        Ok(Some(Proxies { matcher }))
    }

    /// The proxy for `dst`, if it goes through one.
    fn intercept(&self, dst: &Uri) -> Option<hyper_util::client::proxy::matcher::Intercept> {
        if dst.host().is_none_or(is_loopback) {
            return None;
        }
        self.matcher.intercept(dst)
    }

    /// The `Proxy-Authorization` value to send with a request to `dst`
    /// when it goes through a proxy as an absolute-form request (an
    /// `http://` endpoint); `None` for `https://` endpoints, whose proxy
    /// credentials go in the `CONNECT` request only.
    pub(crate) fn http_auth(&self, dst: &Uri) -> Option<HeaderValue> {
        if dst.scheme_str() != Some("http") {
            return None;
        }
        self.intercept(dst)?.basic_auth().cloned()
    }
}

/// A proxy URL, checked: `Some` normalized URL, or `None` when unset.
fn check(url: Option<&str>, variable: impl Fn() -> String) -> Result<Option<String>, ConfigError> {
    let Some(raw) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    let bad = |reason| ConfigError::Proxy {
        variable: variable(),
        url: redact::url(raw),
        reason,
    };
    // No scheme means http, as curl and urllib take it.
    let full = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let uri: Uri = full
        .parse()
        .map_err(|_| bad("not a URL (http://[user:password@]host[:port])"))?;
    if uri.scheme_str() != Some("http") {
        return Err(bad(
            "only http:// proxies are supported (not HTTPS or SOCKS proxies)",
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    Ok(Some(full))
}

/// `localhost` or a loopback address (IPv6 in brackets or not).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The client's TCP connector with proxies: a direct connection, a
/// connection to an HTTP proxy (marked as proxied, so that hyper sends
/// absolute-form requests), or a `CONNECT` tunnel through one (over which
/// the TLS connector then speaks to the endpoint itself).
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    pub(crate) tcp: HttpConnector,
    pub(crate) proxies: Option<Arc<Proxies>>,
}

/// A connection made by [`ProxyConnector`].
pub(crate) struct ProxyStream {
    io: TokioIo<TcpStream>,
    /// Connected to an HTTP proxy that takes absolute-form requests.
    proxied: bool,
}

/// A failure to reach an endpoint through a proxy: which proxy (its
/// `scheme://host:port`, never its user or password), and hyper-util's
/// error as the source.
#[derive(Debug)]
struct ProxyFailed {
    proxy: String,
    source: BoxError,
}

impl std::fmt::Display for ProxyFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "through proxy {}", self.proxy)
    }
}

impl std::error::Error for ProxyFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

type Connecting = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

impl Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Connecting {
        let intercept = self.proxies.as_ref().and_then(|p| p.intercept(&dst));
        let Some(intercept) = intercept else {
            let connecting = self.tcp.call(dst);
            return Box::pin(async move {
                let io = connecting.await?;
                Ok(ProxyStream { io, proxied: false })
            });
        };
        // The intercept's URI has no user or password.
        let proxy = intercept.uri();
        let proxy = format!(
            "{}://{}",
            proxy.scheme_str().unwrap_or("http"),
            proxy.authority().map_or("", |a| a.as_str())
        );
        let failed =
            move |source: BoxError| -> BoxError { Box::new(ProxyFailed { proxy, source }) };
        if dst.scheme_str() == Some("https") {
            let mut tunnel = Tunnel::new(intercept.uri().clone(), self.tcp.clone());
            if let Some(auth) = intercept.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            let connecting = tunnel.call(dst);
            Box::pin(async move {
                let io = connecting.await.map_err(|e| failed(Box::new(e)))?;
                Ok(ProxyStream { io, proxied: false })
            })
        } else {
            let connecting = self.tcp.call(intercept.uri().clone());
            Box::pin(async move {
                let io = connecting.await.map_err(|e| failed(Box::new(e)))?;
                Ok(ProxyStream { io, proxied: true })
            })
        }
    }
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_environment_as_the_aws_cli_reads_it() {
        let s = ProxySettings::from_vars(vars(&[
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "http://lower:3128"),
            ("HTTP_PROXY", "http://plain:8080"),
            ("NO_PROXY", ".internal"),
        ]));
        assert_eq!(s.https.as_deref(), Some("http://lower:3128"));
        assert_eq!(s.http.as_deref(), Some("http://plain:8080"));
        assert_eq!(s.no_proxy, ".internal");
        // Empty counts as unset; CGI ignores HTTP_PROXY.
        let s = ProxySettings::from_vars(vars(&[
            ("https_proxy", ""),
            ("HTTPS_PROXY", "http://upper:3128"),
            ("HTTP_PROXY", "http://injected:80"),
            ("REQUEST_METHOD", "GET"),
        ]));
        assert_eq!(s.https.as_deref(), Some("http://upper:3128"));
        assert_eq!(s.http, None);
        assert_eq!(
            ProxySettings::from_vars(vars(&[])),
            ProxySettings::default()
        );
    }

    #[test]
    fn proxy_urls_are_checked() {
        let explicit =
            |url: &str| Proxies::new(&Proxy::Explicit(ProxySettings::default().with_https(url)));
        assert!(explicit("http://proxy:3128").unwrap().is_some());
        assert!(explicit("proxy:3128").unwrap().is_some());
        assert!(Proxies::new(&Proxy::Explicit(ProxySettings::default()))
            .unwrap()
            .is_none());
        for bad in [
            "https://u:hunter2@proxy:3128",
            "socks5://proxy:1080",
            "http://",
            "http://a b",
        ] {
            let e = explicit(bad).unwrap_err();
            assert!(matches!(e, ConfigError::Proxy { .. }), "{bad}: {e:?}");
            assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn loopback_goes_direct_and_no_proxy_is_honoured() {
        let p = Proxies::new(&Proxy::Explicit(
            ProxySettings::default()
                .with_http("http://u:p@proxy:3128")
                .with_https("http://proxy:3128")
                .with_no_proxy("direct.example, 10.0.0.0/8"),
        ))
        .unwrap()
        .unwrap();
        let through = |url: &str| p.intercept(&url.parse().unwrap()).is_some();
        assert!(through("https://kinesisvideo.us-west-2.amazonaws.com"));
        assert!(through("http://kvs.test:4566"));
        for direct in [
            "http://127.0.0.1:4566",
            "http://127.1.2.3:80",
            "http://[::1]:4566",
            "http://localhost:4566",
            "http://LOCALHOST",
            "https://direct.example",
            "https://a.direct.example",
            "http://10.1.2.3",
        ] {
            assert!(!through(direct), "{direct}");
        }
        // Proxy credentials ride with http:// requests only.
        assert!(p
            .http_auth(&"http://kvs.test:4566/getMedia".parse().unwrap())
            .is_some());
        assert!(p
            .http_auth(&"https://kvs.test/getMedia".parse().unwrap())
            .is_none());
        assert!(p
            .http_auth(&"http://127.0.0.1:4566/".parse().unwrap())
            .is_none());
    }
}
