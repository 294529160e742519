//! Credentials that refresh (issue G), against a scripted server on
//! loopback that records which key signed each request: every call and
//! every GetMedia reconnect is signed with keys that are current when sent;
//! a call refused with ExpiredTokenException / UnrecognizedClientException
//! is sent again once with freshly fetched keys, outside the retry budget;
//! a provider that fails, or hangs past its deadline, is a typed error; and
//! the built-in chain says, through the real binary, what it does not read.

mod hostile_support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use hostile_support::{chunk, config, guarded, stream, Reply, Request, Server};
use kvs_mkv::client::{
    Api, Client, ClientConfig, ClientError, CredentialsError, GetMediaOptions, ProfileProvider,
    ProvideCredentials, ProvideFuture, ServiceErrorKind, StartSelector,
};
use kvs_mkv::sigv4::Credentials;
use kvs_mkv::Chunk;

/// Hands out key `ASIAn` on its nth call, valid for `life` (or with no
/// expiry), and remembers each key's expiry.
#[derive(Debug)]
struct Rotating {
    life: Option<Duration>,
    calls: AtomicU64,
    issued: Mutex<Vec<(String, Option<SystemTime>)>>,
    /// Fail every call with this (retryable?) error instead.
    failing: Option<bool>,
    /// Answer after this long.
    delay: Duration,
}

impl Rotating {
    fn new(life: Option<Duration>) -> Arc<Rotating> {
        Rotating::with(life, None, Duration::ZERO)
    }

    fn with(life: Option<Duration>, failing: Option<bool>, delay: Duration) -> Arc<Rotating> {
        Arc::new(Rotating {
            life,
            calls: AtomicU64::new(0),
            issued: Mutex::new(Vec::new()),
            failing,
            delay,
        })
    }

    fn expiry_of(&self, id: &str) -> Option<SystemTime> {
        self.issued
            .lock()
            .unwrap()
            .iter()
            .find(|(i, _)| i == id)
            .and_then(|(_, e)| *e)
    }
}

/// The provider as the client holds it (a newtype: the trait and `Arc`
/// are both foreign here).
#[derive(Debug, Clone)]
struct Shared(Arc<Rotating>);

impl ProvideCredentials for Shared {
    fn provide(&self) -> ProvideFuture<'_> {
        Box::pin(async move {
            let p = &self.0;
            let n = p.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(p.delay).await;
            if let Some(retryable) = p.failing {
                return Err(CredentialsError::Provider {
                    provider: "test".into(),
                    message: format!("call {n} failed"),
                    retryable,
                    source: None,
                });
            }
            let id = format!("ASIA{n}");
            let mut c = Credentials::new(&id, format!("secret-{n}"))
                .with_session_token(format!("token-{n}"));
            if let Some(life) = p.life {
                c = c.with_expiry(SystemTime::now() + life);
            }
            p.issued.lock().unwrap().push((id, c.expires_at));
            Ok(c)
        })
    }
}

/// The access key id a request was signed with.
fn key_of(r: &Request) -> String {
    let auth = r.header("authorization").expect("a signed request");
    let credential = auth.split("Credential=").nth(1).unwrap();
    credential.split('/').next().unwrap().to_string()
}

fn client_with(server: &Server, provider: &Arc<Rotating>) -> Client {
    let base = config(&server.url);
    let mut c = ClientConfig::with_credentials_provider("us-west-2", Shared(provider.clone()))
        .with_endpoint_url(&server.url);
    c.calls_per_second = base.calls_per_second;
    c.retry = base.retry;
    Client::new(c).unwrap()
}

/// A live stream that ends each GetMedia session after one new chunk (as a
/// server ends sessions): each chunk needs a reconnect. Keys live 4 s and
/// are refreshed halfway; the calls span about 7 s. Every request must be
/// signed with a key that has not expired when the server receives it,
/// and the keys must change along the stream (3 or more).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_and_reconnect_signs_with_current_keys() {
    let seen: Arc<Mutex<Vec<(String, SystemTime, String)>>> = Arc::default();
    let log = seen.clone();
    let server = Server::start(move |r: &Request| {
        log.lock()
            .unwrap()
            .push((key_of(r), SystemTime::now(), r.path.clone()));
        match r.path.as_str() {
            "/getDataEndpoint" => Reply::endpoint_of(r),
            _ => {
                // The next fragment after the continuation token, if any.
                let selector = &r.json()["StartSelector"];
                let next = selector["ContinuationToken"]
                    .as_str()
                    .map_or(1001, |t| t.parse::<u64>().unwrap() + 1);
                let n = next.to_string();
                Reply::with(
                    200,
                    hostile_support::Body::Chunked(vec![
                        hostile_support::Piece::Wait(Duration::from_millis(300)),
                        hostile_support::Piece::Data(chunk(&n, Some(&n), 2)),
                    ]),
                )
            }
        }
    })
    .await;
    let provider = Rotating::new(Some(Duration::from_secs(4)));
    let client = client_with(&server, &provider);
    let mut options = GetMediaOptions::default();
    options.stop_after_empty_sessions = None;
    options.max_chunks = Some(20);
    let mut media = client.get_media(stream(), StartSelector::Now, options);
    let mut got: Vec<Chunk> = Vec::new();
    guarded(120, async {
        while let Some(c) = media.try_next().await.unwrap() {
            got.push(c);
        }
    })
    .await;
    let numbers: Vec<String> = got
        .iter()
        .map(|c| c.fragment_number().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (1001..1021).map(|n| n.to_string()).collect();
    assert_eq!(numbers, expected, "every fragment once, in order");
    assert!(media.reconnects() >= 19, "{}", media.reconnects());

    let seen = seen.lock().unwrap().clone();
    let mut keys: Vec<&str> = Vec::new();
    for (key, at, path) in &seen {
        let expires = provider.expiry_of(key).expect("a key the provider issued");
        assert!(
            *at < expires,
            "{path} signed with {key}, which expired {:?} before the server got it",
            at.duration_since(expires).unwrap_or_default()
        );
        if keys.last() != Some(&key.as_str()) {
            keys.push(key);
        }
    }
    let issued: Vec<String> = provider
        .issued
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert!(keys.len() >= 3, "keys used in turn: {keys:?}");
    assert_eq!(
        keys, issued,
        "each key used as issued, none used again after the next"
    );
    let stats = client.credentials().stats();
    assert_eq!(stats.refreshes as usize, issued.len());
    assert_eq!((stats.failures, stats.forced), (0, 0));
    eprintln!(
        "{} requests, {} GetMedia calls, keys in turn: {keys:?}",
        seen.len(),
        server.count("/getMedia")
    );
}

/// GetDataEndpoint refused with ExpiredTokenException for the first key:
/// the client fetches a new key at once and sends the call again, once,
/// within the same attempt: with a retry budget of one attempt, it
/// succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_is_sent_again_once_with_fresh_keys() {
    for refusal in ["ExpiredTokenException", "UnrecognizedClientException"] {
        let server = Server::start(move |r: &Request| {
            if key_of(r) == "ASIA1" {
                Reply::error(403, refusal)
            } else {
                Reply::endpoint_of(r)
            }
        })
        .await;
        let provider = Rotating::new(Some(Duration::from_secs(3600)));
        let client = client_with(&server, &provider);
        let mut config = client.config().clone();
        config.retry.max_attempts = 1;
        let client = Client::new(config).unwrap();
        let url = guarded(60, client.data_endpoint(&stream(), Api::GetMedia))
            .await
            .unwrap();
        assert_eq!(url, server.url);
        let keys: Vec<String> = server.requests().iter().map(key_of).collect();
        assert_eq!(keys, ["ASIA1", "ASIA2"], "{refusal}");
        assert_eq!(client.credentials().stats().forced, 1);
    }
}

/// A server that refuses every key: each call is sent twice (the key held,
/// then one fresh key) and the service's error comes back; static keys are
/// not sent again at all (the provider gives the same key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_retried_only_once() {
    let server = Server::start(|_: &Request| Reply::error(403, "ExpiredTokenException")).await;
    let provider = Rotating::new(Some(Duration::from_secs(3600)));
    let client = client_with(&server, &provider);
    let err = guarded(60, client.data_endpoint(&stream(), Api::GetMedia))
        .await
        .unwrap_err();
    assert_eq!(
        err.service().map(|s| s.kind.clone()),
        Some(ServiceErrorKind::ExpiredToken),
        "{err}"
    );
    let keys: Vec<String> = server.requests().iter().map(key_of).collect();
    assert_eq!(keys, ["ASIA1", "ASIA2"]);

    let fixed = hostile_support::client(&server.url);
    let before = server.total();
    let err = guarded(60, fixed.data_endpoint(&stream(), Api::GetMedia))
        .await
        .unwrap_err();
    assert!(err.service().is_some(), "{err}");
    assert_eq!(server.total() - before, 1, "static keys: no second send");
}

/// A provider that fails: not retryable, the call is never made and the
/// error is ClientError::Credentials; retryable, the operation's budget
/// retries and gives up with RetriesExhausted around it. A provider that
/// hangs fails at its deadline, and counts as a retryable failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_hanging_provider_is_a_typed_error() {
    let server = Server::start(Reply::endpoint_of).await;
    for retryable in [false, true] {
        let provider = Rotating::with(None, Some(retryable), Duration::ZERO);
        let client = client_with(&server, &provider);
        let err = guarded(60, client.data_endpoint(&stream(), Api::GetMedia))
            .await
            .unwrap_err();
        let cause = match &err {
            ClientError::RetriesExhausted { last, attempts, .. } => {
                assert!(retryable);
                assert_eq!(*attempts, 8);
                last.as_ref()
            }
            e => {
                assert!(!retryable, "{e}");
                e
            }
        };
        assert!(
            matches!(
                cause,
                ClientError::Credentials(CredentialsError::Provider { .. })
            ),
            "{err}"
        );
        let calls = provider.calls.load(Ordering::SeqCst);
        assert_eq!(calls, if retryable { 8 } else { 1 });
    }
    assert_eq!(server.total(), 0, "no call without credentials");

    let provider = Rotating::with(None, None, Duration::from_secs(3600));
    let mut c = client_with(&server, &provider).config().clone();
    c.credentials_refresh.timeout = Duration::from_millis(200);
    c.retry.max_attempts = 2;
    let err = guarded(
        60,
        Client::new(c)
            .unwrap()
            .data_endpoint(&stream(), Api::GetMedia),
    )
    .await
    .unwrap_err();
    let ClientError::RetriesExhausted { last, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        matches!(
            last.as_ref(),
            ClientError::Credentials(CredentialsError::Timeout(t)) if *t == Duration::from_millis(200)
        ),
        "{err}"
    );
}

/// The cache is shared by a stream's calls and by the client's clones:
/// while its keys are valid, the provider is asked once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_share_one_cache() {
    let server = Server::start(|r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::with(
            200,
            hostile_support::Body::Full(chunk("1001", Some("1001"), 2)),
        ),
    })
    .await;
    let provider = Rotating::new(Some(Duration::from_secs(3600)));
    let client = client_with(&server, &provider);
    let clone = client.clone();
    for c in [&client, &clone] {
        let got: Vec<Chunk> = guarded(
            60,
            c.get_media(stream(), StartSelector::Now, GetMediaOptions::default())
                .try_collect(),
        )
        .await
        .unwrap();
        assert_eq!(got.len(), 1);
    }
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    assert!(server.count("/getMedia") >= 2);
    assert!(server.requests().iter().all(|r| key_of(r) == "ASIA1"));
}

/// The built-in chain reads static keys only: a profile that assumes a role
/// is refused with an error naming the setting and the `aws-config`
/// feature, never taken as "no credentials".
#[test]
fn the_builtin_chain_names_what_it_does_not_read() {
    let dir =
        std::env::temp_dir().join(format!("kvs-mkv-credentials-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    std::fs::write(
        &config,
        "[profile assumed]\nrole_arn = arn:aws:iam::123456789012:role/reader\nsource_profile = base\nregion = us-west-2\n",
    )
    .unwrap();
    let err = ProfileProvider::new(Some("assumed"))
        .with_files(dir.join("none"), &config)
        .load()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("role_arn") && err.contains("aws-config"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
