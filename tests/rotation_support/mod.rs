//! The rotation rig of issue G, with real parts on loopback: a live
//! emulator that accepts only keys that have not expired, and a
//! container-credentials endpoint (as ECS and EKS serve
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI`) that hands out a new key pair with
//! a short expiry on every call and registers it with the emulator. Plus
//! the tail that must deliver every fragment once, in order, and the check
//! against the emulator's listing.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use kvs_mkv::client::{
    sort_fragments, Client, ClientConfig, CredentialsError, FragmentOrder, GetMediaOptions,
    Pagination, ProvideCredentials, ProvideFuture, ReconnectReason, StartSelector, StreamId,
};
use kvs_mkv::emulator::{Emulator, EmulatorHandle, Fault, KeyStore, Options};
use kvs_mkv::sigv4::{format_amz_date, parse_amz_date, Credentials};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How long each key handed out lives (whole seconds: `Expiration` has
/// no fraction, so a key lives between LIFE - 1 s and LIFE). The client
/// refreshes keys halfway through their life.
pub const LIFE_SECS: u64 = 3;
/// Live pace: fragments of 1 s arrive every 0.5 s.
pub const SPEED: f64 = 2.0;
/// The service ends GetMedia sessions; here every 4 s, longer than a key
/// lives: each session outlives the key that opened it, and each
/// reconnect needs a new key.
pub const SESSION_SECS: u64 = 4;
/// Fragments the tail reads: three at once (the archived repetition),
/// then about 15.5 s of live stream at `SPEED`: three reconnects, four
/// keys at least (three rotations).
pub const FRAGMENTS: u64 = 34;
/// The bearer token the endpoint requires (`AWS_CONTAINER_AUTHORIZATION_TOKEN`).
pub const AUTH_TOKEN: &str = "rotation-test-authorization";

/// `2024-02-29T23:59:30Z`, as ECS writes `Expiration`.
pub fn rfc3339(t: SystemTime) -> String {
    let a = format_amz_date(t); // 20240229T235930Z
    format!(
        "{}-{}-{}T{}:{}:{}Z",
        &a[0..4],
        &a[4..6],
        &a[6..8],
        &a[9..11],
        &a[11..13],
        &a[13..15]
    )
}

/// The inverse of [`rfc3339`] (whole seconds, `Z`).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let compact: String = s.chars().filter(|c| *c != '-' && *c != ':').collect();
    parse_amz_date(&compact)
}

/// The container-credentials endpoint: every GET gets a new key pair
/// (`ASIAROTATED<n>`), valid for [`LIFE_SECS`], inserted into the
/// emulator's key store before it is handed out.
pub struct CredentialsEndpoint {
    /// `http://127.0.0.1:PORT/creds`.
    pub url: String,
    /// Keys handed out.
    pub issued: Arc<AtomicU64>,
    /// Requests refused for a missing or wrong authorization token.
    pub refused: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CredentialsEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl CredentialsEndpoint {
    pub async fn start(keys: KeyStore) -> CredentialsEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/creds", listener.local_addr().unwrap());
        let issued = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let (n, r) = (issued.clone(), refused.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let (keys, n, r) = (keys.clone(), n.clone(), r.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(10),
                        answer(socket, &keys, &n, &r),
                    )
                    .await;
                });
            }
        });
        CredentialsEndpoint {
            url,
            issued,
            refused,
            task,
        }
    }
}

/// One request: a new key (or 401), then the connection closes.
async fn answer(
    mut socket: TcpStream,
    keys: &KeyStore,
    issued: &AtomicU64,
    refused: &AtomicU64,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await?;
        if n == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).to_lowercase();
    let authorized = head
        .lines()
        .any(|l| l.trim() == format!("authorization: {}", AUTH_TOKEN.to_lowercase()));
    let (status, body) = if !head.starts_with("get /creds ") || !authorized {
        refused.fetch_add(1, Ordering::SeqCst);
        (
            "401 Unauthorized",
            r#"{"message":"unauthorized"}"#.to_string(),
        )
    } else {
        let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let expires = UNIX_EPOCH + Duration::from_secs(now + LIFE_SECS);
        let key = Credentials::new(format!("ASIAROTATED{n:04}"), format!("rotated-secret-{n}"))
            .with_session_token(format!("rotated-token-{n}"))
            .with_expiry(expires);
        keys.insert(key.clone());
        let body = serde_json::json!({
            "AccessKeyId": key.access_key_id,
            "SecretAccessKey": key.secret_access_key,
            "Token": key.session_token,
            "Expiration": rfc3339(expires),
            "RoleArn": "arn:aws:iam::123456789012:role/rotation-test",
        });
        ("200 OK", body.to_string())
    };
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(reply.as_bytes()).await?;
    socket.shutdown().await
}

/// The emulator and the endpoint, sharing one key store.
pub struct Rig {
    pub emulator: EmulatorHandle,
    pub endpoint: CredentialsEndpoint,
    pub keys: KeyStore,
}

impl Rig {
    /// A live emulator of `testdata/sample.mkv` (three 1-second fragments,
    /// repeated) that accepts only the keys in the store, and the endpoint.
    pub async fn start() -> Rig {
        let keys = KeyStore::new();
        let mut options = Options::default();
        options.live = true;
        options.speed = SPEED;
        options.faults = vec![Fault::end_session_after(Duration::from_secs(SESSION_SECS))];
        // The library's tests and the CLI's (cli/) both use this rig.
        let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = match manifest.join("testdata").is_dir() {
            true => manifest,
            false => manifest.parent().unwrap(),
        };
        let emulator = Emulator::builder()
            .stream("cam", root.join("testdata/sample.mkv"))
            .key_store(keys.clone())
            .options(options)
            .start("127.0.0.1:0")
            .await
            .unwrap();
        let endpoint = CredentialsEndpoint::start(keys.clone()).await;
        Rig {
            emulator,
            endpoint,
            keys,
        }
    }
}

/// A provider written against the endpoint with no AWS SDK: one GET with
/// the authorization token, the JSON read as ECS writes it.
#[derive(Debug)]
pub struct ContainerEndpoint {
    pub url: String,
}

impl ProvideCredentials for ContainerEndpoint {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            let failed = |message: String| CredentialsError::Provider {
                provider: "container endpoint".into(),
                message,
                retryable: true,
                source: None,
            };
            let rest = self.url.trim_start_matches("http://");
            let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
            let mut socket = TcpStream::connect(host)
                .await
                .map_err(|e| failed(e.to_string()))?;
            let request = format!(
                "GET /{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {AUTH_TOKEN}\r\nConnection: close\r\n\r\n"
            );
            socket
                .write_all(request.as_bytes())
                .await
                .map_err(|e| failed(e.to_string()))?;
            let mut reply = Vec::new();
            (&mut socket)
                .take(64 * 1024)
                .read_to_end(&mut reply)
                .await
                .map_err(|e| failed(e.to_string()))?;
            let reply = String::from_utf8_lossy(&reply);
            let (head, body) = reply
                .split_once("\r\n\r\n")
                .ok_or_else(|| failed("no HTTP head".into()))?;
            if !head.starts_with("HTTP/1.1 200") {
                return Err(failed(head.lines().next().unwrap_or("").to_string()));
            }
            let json: serde_json::Value =
                serde_json::from_str(body).map_err(|e| failed(e.to_string()))?;
            let field = |name: &str| {
                json[name]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| failed(format!("no {name}")))
            };
            let expiration = field("Expiration")?;
            let expires = parse_rfc3339(&expiration)
                .ok_or_else(|| failed(format!("bad Expiration {expiration:?}")))?;
            Ok(
                Credentials::new(field("AccessKeyId")?, field("SecretAccessKey")?)
                    .with_session_token(field("Token")?)
                    .with_expiry(expires),
            )
        })
    }
}

/// What a tail saw.
#[derive(Debug)]
pub struct Tail {
    pub numbers: Vec<String>,
    pub reconnects: u64,
    pub failed_reconnects: Vec<String>,
}

/// Tails `cam` from the earliest fragment for [`FRAGMENTS`] chunks.
pub async fn tail(client: &Client) -> Tail {
    let mut options = GetMediaOptions::default();
    options.stop_after_empty_sessions = None;
    options.max_chunks = Some(FRAGMENTS);
    let mut media = client.get_media(
        StreamId::Name("cam".into()),
        StartSelector::Earliest,
        options,
    );
    let mut numbers = Vec::new();
    let mut failed_reconnects = Vec::new();
    let mut last_seen = 0;
    while let Some(chunk) = media.try_next().await.expect("the tail never fails") {
        numbers.push(chunk.fragment_number().unwrap().to_string());
        if media.reconnects() > last_seen {
            last_seen = media.reconnects();
            if let Some(r) = media.last_reconnect() {
                if let ReconnectReason::Failed(why) = &r.reason {
                    failed_reconnects.push(why.clone());
                }
            }
        }
    }
    Tail {
        numbers,
        reconnects: media.reconnects(),
        failed_reconnects,
    }
}

/// The emulator's listing of `cam`, by fragment number.
pub async fn listing(client: &Client) -> Vec<String> {
    let pages: Vec<_> = client
        .list_fragments(StreamId::Name("cam".into()), None, Pagination::default())
        .try_collect()
        .await
        .unwrap();
    let all = pages.into_iter().flat_map(|p| p.items).collect();
    sort_fragments(all, FragmentOrder::FragmentNumber)
        .into_iter()
        .map(|f| f.fragment_number.to_string())
        .collect()
}

/// Every fragment once, in order: the tail is the listing's first
/// [`FRAGMENTS`] fragments (it started at the earliest).
pub fn check_once_in_order(numbers: &[String], listing: &[String]) {
    assert_eq!(numbers.len() as u64, FRAGMENTS);
    assert!(listing.len() >= numbers.len(), "{} listed", listing.len());
    assert_eq!(
        numbers,
        &listing[..numbers.len()],
        "every fragment once, in order"
    );
}

/// A client of the emulator with `config`'s credentials.
pub fn client(rig: &Rig, config: ClientConfig) -> Client {
    Client::new(config.with_endpoint_url(rig.emulator.url())).unwrap()
}
