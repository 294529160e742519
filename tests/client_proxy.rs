//! The client through an HTTP proxy (issue G): a small proxy started by
//! the test on loopback that logs what it is asked (absolute-form requests,
//! `CONNECT` lines, `Proxy-Authorization`) and forwards everything to a
//! port on 127.0.0.1. Endpoints are named `*.test` (which nothing
//! resolves), so a call that reaches its server went through the proxy.
//! Loopback endpoints go direct; `NO_PROXY` is honoured; the real binary
//! takes `HTTP_PROXY` from its environment (the test process's own
//! environment is never changed).

mod hostile_support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use hostile_support::{guarded, Reply, Request, Server, SECRET};
use kvs_mkv::client::{
    Api, Client, ClientConfig, ClientError, GetMediaOptions, Pagination, Proxy, ProxySettings,
    StartSelector, StreamId,
};
use kvs_mkv::emulator::{Emulator, EmulatorHandle};
use kvs_mkv::sigv4::Credentials;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy was asked: the request line and the headers (names in
/// lower case) of each request or `CONNECT`.
#[derive(Debug, Clone)]
struct Asked {
    line: String,
    headers: Vec<(String, String)>,
}

impl Asked {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A forwarding HTTP proxy on 127.0.0.1: absolute-form requests and
/// `CONNECT` tunnels, to `127.0.0.1:PORT` for any `NAME.test:PORT`, or to
/// `tunnel_to` for a `CONNECT` to any other host.
struct TestProxy {
    url: String,
    asked: Arc<Mutex<Vec<Asked>>>,
    connections: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestProxy {
    async fn start(tunnel_to: Option<SocketAddr>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (a, c) = (asked.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                *c.lock().unwrap() += 1;
                tokio::spawn(serve(socket, a.clone(), tunnel_to));
            }
        });
        TestProxy {
            url,
            asked,
            connections,
            task,
        }
    }

    fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }

    fn connections(&self) -> usize {
        *self.connections.lock().unwrap()
    }
}

/// Reads one request head (at most 64 KiB): the head's text, and the bytes
/// read past it.
async fn read_head(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = data.split_off(i + 4);
            return Some((String::from_utf8_lossy(&data).into_owned(), rest));
        }
        if data.len() > 64 * 1024 {
            return None;
        }
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&tmp[..n]);
    }
}

fn parse(head: &str) -> Asked {
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    Asked { line, headers }
}

/// Where `host:port` is reached: any `*.test` host at 127.0.0.1:port.
fn route(authority: &str, tunnel_to: Option<SocketAddr>) -> Option<SocketAddr> {
    let (host, port) = authority.rsplit_once(':')?;
    if host.ends_with(".test") {
        return Some(SocketAddr::from(([127, 0, 0, 1], port.parse().ok()?)));
    }
    tunnel_to
}

async fn serve(
    mut client: TcpStream,
    asked: Arc<Mutex<Vec<Asked>>>,
    tunnel_to: Option<SocketAddr>,
) {
    let Some((head, rest)) = read_head(&mut client).await else {
        return;
    };
    let first = parse(&head);
    asked.lock().unwrap().push(first.clone());
    let mut parts = first.line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let Some(to) = route(target, tunnel_to) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            return;
        };
        let Ok(mut upstream) = TcpStream::connect(to).await else {
            return;
        };
        let _ = client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        let _ = upstream.write_all(&rest).await;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return;
    }
    // Absolute-form: `POST http://host:port/path HTTP/1.1`.
    let authority = target
        .strip_prefix("http://")
        .and_then(|t| t.split('/').next())
        .unwrap_or("");
    let Some(to) = route(authority, None) else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    let Ok(upstream) = TcpStream::connect(to).await else {
        return;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_upstream, mut to_upstream) = upstream.into_split();
    // Answers go back as they come; requests are read one by one to log
    // each (hyper accepts absolute-form targets: they are passed on as
    // they are).
    let answers = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_upstream, &mut to_client).await;
    });
    let mut head = head;
    let mut rest = rest;
    loop {
        let asked_now = parse(&head);
        let len: usize = asked_now
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = rest;
        while body.len() < len {
            let mut tmp = vec![0u8; len - body.len()];
            match from_client.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => body.extend_from_slice(&tmp[..n]),
            }
        }
        let extra = body.split_off(len);
        if to_upstream.write_all(head.as_bytes()).await.is_err()
            || to_upstream.write_all(&body).await.is_err()
        {
            break;
        }
        // The next request on this connection.
        let mut data = extra;
        let mut tmp = [0u8; 4096];
        let next = loop {
            if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                let r = data.split_off(i + 4);
                break Some((String::from_utf8_lossy(&data).into_owned(), r));
            }
            match from_client.read(&mut tmp).await {
                Ok(0) | Err(_) => break None,
                Ok(n) => data.extend_from_slice(&tmp[..n]),
            }
        };
        let Some((h, r)) = next else { break };
        asked.lock().unwrap().push(parse(&h));
        head = h;
        rest = r;
    }
    let _ = to_upstream.shutdown().await;
    let _ = answers.await;
}

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

/// The real binary reads the proxy from its environment: `HTTP_PROXY`
/// (and the lower-case form) sends its calls through the proxy, and
/// `NO_PROXY` takes them out again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_takes_the_proxy_from_its_environment() {
    let emulator = emulator().await;
    let control = control_plane(&emulator).await;
    let proxy = TestProxy::start(None).await;
    let endpoint = format!("http://ctl.test:{}", control.addr.port());
    let run = |vars: Vec<(&'static str, String)>| {
        let endpoint = endpoint.clone();
        async move {
            let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kvs-mkv"));
            cmd.args(["list-fragments", "--json", "--stream", "cam"])
                .args(["--region", "us-west-2", "--endpoint-url", &endpoint])
                .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", SECRET)
                .env_remove("AWS_SESSION_TOKEN")
                .env_remove("AWS_PROFILE");
            for name in [
                "HTTP_PROXY",
                "http_proxy",
                "HTTPS_PROXY",
                "https_proxy",
                "NO_PROXY",
                "no_proxy",
                "ALL_PROXY",
                "all_proxy",
                "REQUEST_METHOD",
            ] {
                cmd.env_remove(name);
            }
            for (k, v) in vars {
                cmd.env(k, v);
            }
            guarded(60, cmd.output()).await.unwrap()
        }
    };
    for var in ["HTTP_PROXY", "http_proxy"] {
        let before = proxy.asked().len();
        let out = run(vec![(var, proxy.url.clone())]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{var}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);
        let asked = proxy.asked();
        assert!(asked.len() >= before + 2, "{asked:?}");
        assert!(asked[before].line.starts_with("POST http://ctl.test:"));
        assert!(asked[before + 1].line.starts_with("POST http://kvs.test:"));
    }
    let before = proxy.asked().len();
    let out = run(vec![
        ("HTTP_PROXY", proxy.url.clone()),
        ("NO_PROXY", "ctl.test".into()),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(proxy.asked().len(), before, "NO_PROXY was not honoured");
    emulator.shutdown().await;
}
