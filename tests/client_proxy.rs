//! The client through an HTTP proxy (issue G): a small proxy started by
//! the test on loopback that logs what it is asked (absolute-form requests,
//! `CONNECT` lines, `Proxy-Authorization`) and forwards everything to a
//! port on 127.0.0.1. Endpoints are named `*.test` (which nothing
//! resolves), so a call that reaches its server went through the proxy.
//! Loopback endpoints go direct; `NO_PROXY` is honoured. (The real binary's
//! `HTTP_PROXY`: cli/tests/cli_proxy.rs.)

mod hostile_support;
mod proxy_support;

use std::path::Path;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use hostile_support::{guarded, Reply, Request, Server, SECRET};
use kvs_mkv::client::{
    Api, Client, ClientConfig, ClientError, GetMediaOptions, Pagination, Proxy, ProxySettings,
    StartSelector, StreamId,
};
use kvs_mkv::emulator::{Emulator, EmulatorHandle};
use kvs_mkv::sigv4::Credentials;
use proxy_support::TestProxy;

/// The rustls error in an error's chain, looking inside I/O errors too
/// (whose `source()` skips the error they wrap).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut source = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(inner) = s
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(r) = rustls_error(inner) {
                return Some(r);
            }
        }
        source = s.source();
    }
    None
}

fn credentials() -> Credentials {
    Credentials::new("AKIDEXAMPLE", SECRET)
}

async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .credentials(credentials())
        .idle_timeout(Duration::from_millis(200))
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

/// A control plane on loopback whose GetDataEndpoint names the emulator's
/// port under a `.test` name, so that data calls go through the proxy.
async fn control_plane(emulator: &EmulatorHandle) -> Server {
    let port = emulator.local_addr().port();
    Server::start(move |_: &Request| {
        Reply::json(format!(r#"{{"DataEndpoint":"http://kvs.test:{port}"}}"#))
    })
    .await
}

fn config(endpoint: &str, proxy: Proxy) -> ClientConfig {
    let mut c = ClientConfig::new("us-west-2", credentials())
        .with_endpoint_url(endpoint)
        .with_proxy(proxy);
    c.calls_per_second = 1000;
    c.retry.base_delay = Duration::from_millis(2);
    c.retry.max_delay = Duration::from_millis(20);
    c.connect_timeout = Duration::from_secs(10);
    c
}

fn stream() -> StreamId {
    StreamId::Name("cam".into())
}

async fn get_media(client: &Client) -> Vec<String> {
    guarded(
        60,
        client
            .get_media(
                stream(),
                StartSelector::Earliest,
                GetMediaOptions::default(),
            )
            .map(|c| c.unwrap().fragment_number().unwrap().to_string())
            .collect::<Vec<_>>(),
    )
    .await
}

/// `http://` endpoints through an HTTP proxy: GetDataEndpoint and GetMedia
/// as absolute-form requests with the proxy's basic credentials, and the
/// emulator delivers every chunk through it, the same as directly. The
/// proxy's password shows in no Debug output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_endpoints_go_through_the_proxy_in_absolute_form() {
    let emulator = emulator().await;
    let direct = get_media(
        &Client::new(
            ClientConfig::new("us-west-2", credentials())
                .with_endpoint_url(emulator.url())
                .with_proxy(Proxy::Disabled),
        )
        .unwrap(),
    )
    .await;
    assert_eq!(direct.len(), 3);

    let control = control_plane(&emulator).await;
    let proxy = TestProxy::start(None).await;
    let with_auth = proxy.url.replace("http://", "http://user:pa55word@");
    let settings = ProxySettings::default().with_http(&with_auth);
    let c = config(
        &format!("http://ctl.test:{}", control.addr.port()),
        Proxy::Explicit(settings),
    );
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("pa55word") && shown.contains("user:***@"),
        "{shown}"
    );
    let client = Client::new(c).unwrap();
    assert_eq!(get_media(&client).await, direct);

    let asked = proxy.asked();
    let lines: Vec<&str> = asked.iter().map(|a| a.line.as_str()).collect();
    let control_line = format!(
        "POST http://ctl.test:{}/getDataEndpoint HTTP/1.1",
        control.addr.port()
    );
    let media_line = format!(
        "POST http://kvs.test:{}/getMedia HTTP/1.1",
        emulator.local_addr().port()
    );
    assert_eq!(lines[0], control_line, "{lines:?}");
    assert!(
        lines.iter().filter(|l| **l == media_line).count() >= 1,
        "{lines:?}"
    );
    assert!(lines.iter().all(|l| !l.starts_with("CONNECT")), "{lines:?}");
    for a in &asked {
        // base64("user:pa55word")
        assert_eq!(
            a.header("proxy-authorization"),
            Some("Basic dXNlcjpwYTU1d29yZA==")
        );
    }
    // The control plane saw the request the proxy passed on.
    let host = format!("ctl.test:{}", control.addr.port());
    assert_eq!(control.requests()[0].header("host"), Some(host.as_str()));
    emulator.shutdown().await;
}

/// An `https://` endpoint through the proxy: a `CONNECT host:443` tunnel
/// with the proxy's credentials in the CONNECT request, and TLS inside it
/// (here it fails: the far end of the tunnel is a plain-HTTP emulator, and
/// no certificate on loopback would be trusted). The endpoint's name is
/// never resolved by the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_endpoints_go_through_a_connect_tunnel() {
    let emulator = emulator().await;
    let proxy = TestProxy::start(Some(emulator.local_addr())).await;
    let with_auth = proxy.url.replace("http://", "http://user:pa55word@");
    let mut c = config(
        "https://kinesisvideo.us-west-2.amazonaws.com",
        Proxy::Explicit(ProxySettings::default().with_https(&with_auth)),
    );
    c.retry.max_attempts = 1;
    let e = guarded(
        60,
        Client::new(c)
            .unwrap()
            .data_endpoint(&stream(), Api::GetMedia),
    )
    .await
    .unwrap_err();
    let asked = proxy.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(
        asked[0].line,
        "CONNECT kinesisvideo.us-west-2.amazonaws.com:443 HTTP/1.1"
    );
    assert_eq!(
        asked[0].header("proxy-authorization"),
        Some("Basic dXNlcjpwYTU1d29yZA==")
    );
    let ClientError::RetriesExhausted { last, .. } = &e else {
        panic!("{e:?}")
    };
    // The tunnel was made; TLS inside it is what failed: rustls' error is
    // in the chain (inside the I/O errors that carry it).
    assert!(matches!(**last, ClientError::Transport { .. }), "{last:?}");
    assert!(
        matches!(
            rustls_error(&**last),
            Some(rustls::Error::InvalidMessage(_))
        ),
        "{last:?}"
    );
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("pa55word"), "{shown}");
    emulator.shutdown().await;
}

/// A proxy that refuses the tunnel (502): the error says it came through
/// the proxy, names the proxy without its user or password, and keeps the
/// cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_tunnel_names_the_proxy_without_its_password() {
    // CONNECT to a host that is not `*.test` and no tunnel target: 502.
    let proxy = TestProxy::start(None).await;
    let with_auth = proxy.url.replace("http://", "http://user:pa55word@");
    let mut c = config(
        "https://kinesisvideo.us-west-2.amazonaws.com",
        Proxy::Explicit(ProxySettings::default().with_https(&with_auth)),
    );
    c.retry.max_attempts = 1;
    let e = guarded(
        60,
        Client::new(c)
            .unwrap()
            .data_endpoint(&stream(), Api::GetMedia),
    )
    .await
    .unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains(&format!("through proxy {}: ", proxy.url)),
        "{shown}"
    );
    assert!(shown.contains("unsuccessful"), "{shown}");
    let all = format!("{e} {e:?}");
    assert!(!all.contains("pa55word") && !all.contains("user:"), "{all}");
    assert_eq!(proxy.connections(), 1);
}

/// Hosts in `no_proxy` and loopback endpoints are reached directly: the
/// proxy is never asked (a `.test` name then does not resolve), and a
/// local emulator works as if there were no proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_and_loopback_go_direct() {
    let emulator = emulator().await;
    let proxy = TestProxy::start(None).await;
    let settings = ProxySettings::default()
        .with_http(&proxy.url)
        .with_https(&proxy.url)
        .with_no_proxy("direct.test, 192.0.2.0/24");
    // Through the proxy, for comparison.
    let control = control_plane(&emulator).await;
    let through = Client::new(config(
        &format!("http://ctl.test:{}", control.addr.port()),
        Proxy::Explicit(settings.clone()),
    ))
    .unwrap();
    through
        .data_endpoint(&stream(), Api::GetMedia)
        .await
        .unwrap();
    let asked_before = proxy.asked().len();
    assert_eq!(asked_before, 1);

    // In no_proxy: resolved by the client itself, which fails.
    let mut c = config("http://direct.test:9", Proxy::Explicit(settings.clone()));
    c.retry.max_attempts = 1;
    c.connect_timeout = Duration::from_secs(5);
    let e = guarded(
        60,
        Client::new(c)
            .unwrap()
            .data_endpoint(&stream(), Api::GetMedia),
    )
    .await
    .unwrap_err();
    assert!(!e.to_string().contains("through proxy"), "{e}");
    // Loopback: direct, and it works.
    let local = Client::new(config(emulator.url(), Proxy::Explicit(settings))).unwrap();
    let pages: Vec<_> = local
        .list_fragments(stream(), None, Pagination::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages[0].items.len(), 3);
    assert_eq!(get_media(&local).await.len(), 3);
    assert_eq!(proxy.asked().len(), asked_before, "{:?}", proxy.asked());
    emulator.shutdown().await;
}

/// A proxy URL the client cannot use is refused when the client is built,
/// without its password.
#[test]
fn unusable_proxies_are_refused_up_front() {
    for url in ["https://user:hunter2@proxy:3128", "socks5h://proxy:1080"] {
        let c = ClientConfig::new("us-west-2", credentials())
            .with_proxy(Proxy::Explicit(ProxySettings::default().with_https(url)));
        let e = Client::new(c).unwrap_err();
        assert!(
            matches!(
                e,
                ClientError::Config(kvs_mkv::client::ConfigError::Proxy { .. })
            ),
            "{e:?}"
        );
        assert!(!format!("{e} {e:?}").contains("hunter2"), "{e}");
    }
}
