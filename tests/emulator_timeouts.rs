//! The emulator's connection timeouts against clients that hold it: GetMedia
//! responses nobody reads, a slowloris dripping request heads, idle
//! keep-alive connections, a request body that never ends, too many
//! connections. Each attack uses raw TCP sockets and signed requests; the
//! timeouts are small, and every wait has a generous hang guard that only
//! fails the test when the emulator never lets go.
#![cfg(all(feature = "emulator", feature = "client"))]

mod common;
mod emulator_support;

use std::path::Path;
use std::time::{Duration, Instant};

use emulator_support::{
    closed_by_server, decode, earliest, raw_request, read_response, small_window, Client,
};
use futures::TryStreamExt;
use kvs_mkv::client::{
    ClientConfig, ClientError, GetMediaOptions, ServiceErrorKind, StartSelector, StreamId,
};
use kvs_mkv::emulator::{Emulator, EmulatorHandle, Options};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SAMPLE: &str = "testdata/sample.mkv";
/// The longest any test waits for the emulator to let go: a hang guard,
/// far above the timeouts under test.
const GUARD: Duration = Duration::from_secs(60);

/// Options with every connection timeout off; each test turns on its own.
fn options() -> Options {
    let mut options = Options::default();
    options.calls_per_second = None;
    options.idle_timeout = Duration::from_millis(100);
    options.write_stall_timeout = None;
    options.header_read_timeout = None;
    options.keep_alive_timeout = None;
    options.max_connections = None;
    options
}

async fn start(options: Options) -> EmulatorHandle {
    Emulator::builder()
        .stream("cam", Path::new(SAMPLE))
        .options(options)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

fn limited(e: &ClientError) -> bool {
    e.service()
        .is_some_and(|s| s.kind == ServiceErrorKind::ConnectionLimitExceeded)
}

/// (a) Ten GetMedia responses that nobody reads hold the ten session
/// places; once their bytes have not been taken for the write-stall
/// timeout, the emulator drops them and an eleventh GetMedia, through the
/// crate's client, succeeds. Before the timeout existed the places were
/// held for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_get_media_responses_free_their_sessions_after_the_write_stall_timeout() {
    let mut options = options();
    options.live = true; // an endless body, made fast
    options.speed = 100_000.0;
    options.max_get_media_sessions = Some(10);
    options.write_stall_timeout = Some(Duration::from_secs(1));
    let emulator = start(options).await;
    let client = Client::new(&emulator);

    let request = raw_request(&client, "/getMedia", &earliest());
    let mut unread = Vec::new();
    for _ in 0..10 {
        let mut socket = small_window(emulator.local_addr()).await;
        socket.write_all(&request).await.unwrap();
        unread.push(socket);
    }
    // Each has its answer started (seen without taking it off the socket).
    for socket in &unread {
        let mut head = [0u8; 12];
        let n = tokio::time::timeout(GUARD, socket.peek(&mut head))
            .await
            .expect("an answer")
            .unwrap();
        assert_eq!(
            &head[..n],
            b"HTTP/1.1 200",
            "each unread call got a session"
        );
    }
    // All ten places are taken.
    let (status, headers, _) = client.open("/getMedia", earliest()).await;
    assert_eq!(
        (
            status,
            headers.get("x-amzn-errortype").unwrap().to_str().unwrap()
        ),
        (400, "ConnectionLimitExceededException")
    );

    // The crate's client, without retries: each call either gets a session
    // or fails at once with ConnectionLimitExceeded.
    let mut config = ClientConfig::new(emulator.region(), emulator.credentials().clone())
        .with_endpoint_url(emulator.url());
    config.retry.max_attempts = 1;
    let kvs = kvs_mkv::client::Client::new(config).unwrap();
    let mut get_media = GetMediaOptions::default();
    get_media.max_chunks = Some(3);
    let started = Instant::now();
    let chunks = loop {
        let call = kvs
            .get_media(
                StreamId::Name("cam".into()),
                StartSelector::Earliest,
                get_media.clone(),
            )
            .try_collect::<Vec<_>>();
        match tokio::time::timeout(GUARD, call).await.expect("an answer") {
            Ok(chunks) => break chunks,
            Err(e) if limited(&e) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
        assert!(
            started.elapsed() < GUARD,
            "the unread responses still hold every GetMedia session"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(chunks.len(), 3);
    assert!(chunks.iter().all(|c| c.is_complete()));

    // All ten places are free again: ten sessions at once.
    let deadline = Instant::now() + GUARD;
    let mut held = Vec::new();
    while held.len() < 10 {
        let (status, _, body) = client.open("/getMedia", earliest()).await;
        if status == 200 {
            held.push(body);
        } else {
            assert!(
                Instant::now() < deadline,
                "only {} places came free",
                held.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    drop(held);
    drop(unread);
    emulator.shutdown().await;
}

/// (b) 500 connections that drip a request head one byte at a time are
/// all closed by the server once the header timeout has passed (each
/// socket sees end of file or a reset), and a normal request is served
/// while they drip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_of_500_connections_is_closed_after_the_header_timeout() {
    let mut options = options();
    options.header_read_timeout = Some(Duration::from_secs(3));
    let emulator = start(options).await;
    let client = Client::new(&emulator);
    let addr = emulator.local_addr();

    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(500);
    let mut drippers = tokio::task::JoinSet::new();
    for _ in 0..500 {
        let ready = ready_tx.clone();
        drippers.spawn(async move {
            let mut socket = TcpStream::connect(addr).await.expect("connect");
            let first = socket
                .write_all(b"POST /getDataEndpoint HTTP/1.1\r\nx-drip: ")
                .await;
            let _ = ready.send(()).await;
            if first.is_err() {
                return true; // already closed (a very slow machine)
            }
            let mut buf = [0u8; 1024];
            loop {
                tokio::select! {
                    read = socket.read(&mut buf) => match read {
                        Ok(0) | Err(_) => return true,
                        Ok(_) => {} // an error answer, then the close
                    },
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {
                        if socket.write_all(b"a").await.is_err() {
                            return true; // reset by the server
                        }
                    }
                }
            }
        });
    }
    drop(ready_tx);
    for _ in 0..500 {
        ready_rx.recv().await.expect("every dripper connected");
    }
    // Meanwhile a normal request is served.
    let reply = client
        .call(
            "/getDataEndpoint",
            json!({"StreamName": "cam", "APIName": "GET_MEDIA"}),
        )
        .await;
    assert_eq!(reply.status, 200);

    let all_closed = async {
        let mut closed = 0;
        while let Some(done) = drippers.join_next().await {
            assert!(done.unwrap());
            closed += 1;
        }
        closed
    };
    let closed = tokio::time::timeout(GUARD, all_closed).await;
    assert_eq!(
        closed.ok(),
        Some(500),
        "the server still holds dripping connections"
    );
    // And it still serves.
    let reply = client
        .call(
            "/getDataEndpoint",
            json!({"StreamName": "cam", "APIName": "GET_MEDIA"}),
        )
        .await;
    assert_eq!(reply.status, 200);
    emulator.shutdown().await;
}

/// (c) A keep-alive connection with no request in flight is closed after
/// the idle timeout (far shorter than the header timeout and the guard);
/// a connection that never sends anything is closed after the header
/// timeout.
#[tokio::test]
async fn idle_keep_alive_and_silent_connections_are_closed() {
    let mut options = options();
    options.keep_alive_timeout = Some(Duration::from_millis(500));
    options.header_read_timeout = Some(Duration::from_secs(3600));
    let emulator = start(options).await;
    let client = Client::new(&emulator);
    let body = json!({"StreamName": "cam", "APIName": "GET_MEDIA"});
    let mut socket = TcpStream::connect(emulator.local_addr()).await.unwrap();
    // Two requests on the connection: it is kept alive between them.
    for _ in 0..2 {
        socket
            .write_all(&raw_request(&client, "/getDataEndpoint", &body))
            .await
            .unwrap();
        let (status, _) = read_response(&mut socket).await;
        assert_eq!(status, 200);
    }
    assert!(
        closed_by_server(&mut socket, GUARD).await,
        "the idle connection was never closed"
    );
    emulator.shutdown().await;

    let mut options = self::options();
    options.header_read_timeout = Some(Duration::from_millis(500));
    options.keep_alive_timeout = Some(Duration::from_secs(3600));
    let emulator = start(options).await;
    let mut silent = TcpStream::connect(emulator.local_addr()).await.unwrap();
    assert!(
        closed_by_server(&mut silent, GUARD).await,
        "the silent connection was never closed"
    );
    emulator.shutdown().await;
}

/// A request whose head is in but whose body never ends gets 408 once the
/// header timeout has passed again, and its connection is closed.
#[tokio::test]
async fn a_request_body_that_never_ends_gets_a_408() {
    let mut options = options();
    options.header_read_timeout = Some(Duration::from_millis(500));
    let emulator = start(options).await;
    let client = Client::new(&emulator);
    let mut request = raw_request(
        &client,
        "/getDataEndpoint",
        &json!({"StreamName": "cam", "APIName": "GET_MEDIA"}),
    );
    request.pop(); // the body's last byte never comes
    let mut socket = TcpStream::connect(emulator.local_addr()).await.unwrap();
    socket.write_all(&request).await.unwrap();
    let (status, body) = read_response(&mut socket).await;
    assert_eq!(status, 408, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("did not arrive"));
    assert!(closed_by_server(&mut socket, GUARD).await);
    emulator.shutdown().await;
}

/// Beyond the connection cap a new connection is closed at once; when one
/// closes, a new one is served again.
#[tokio::test]
async fn connections_beyond_the_cap_are_closed_at_once() {
    let mut options = options();
    options.max_connections = Some(3);
    let emulator = start(options).await;
    let client = Client::new(&emulator);
    let addr = emulator.local_addr();
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(TcpStream::connect(addr).await.unwrap());
    }
    // Give the server time to count them: a fourth may be accepted only
    // while the server has not yet seen all three, so try until refused.
    let deadline = Instant::now() + GUARD;
    loop {
        let mut extra = TcpStream::connect(addr).await.unwrap();
        if closed_by_server(&mut extra, Duration::from_millis(500)).await {
            break;
        }
        assert!(Instant::now() < deadline, "a fourth connection stays open");
    }
    // The three are served.
    let body = json!({"StreamName": "cam", "APIName": "GET_MEDIA"});
    let request = raw_request(&client, "/getDataEndpoint", &body);
    open[0].write_all(&request).await.unwrap();
    assert_eq!(read_response(&mut open[0]).await.0, 200);
    // One closes: a new connection is served again.
    open.pop();
    let deadline = Instant::now() + GUARD;
    loop {
        let mut socket = TcpStream::connect(addr).await.unwrap();
        if socket.write_all(&request).await.is_ok() {
            let mut first = [0u8; 1];
            let answered =
                tokio::time::timeout(Duration::from_secs(5), socket.peek(&mut first)).await;
            if matches!(answered, Ok(Ok(1))) {
                assert_eq!(read_response(&mut socket).await.0, 200);
                break;
            }
        }
        assert!(Instant::now() < deadline, "no place came free");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    emulator.shutdown().await;
}

/// The timeouts never cut a response that is being read, nor one that
/// pauses on its own: a static GetMedia stays open for its idle time
/// (1.5 s, with nothing to send) with every timeout at 0.2 s.
#[tokio::test]
async fn a_response_being_read_is_never_cut() {
    let mut options = options();
    options.idle_timeout = Duration::from_millis(1500);
    options.write_stall_timeout = Some(Duration::from_millis(200));
    options.header_read_timeout = Some(Duration::from_millis(200));
    options.keep_alive_timeout = Some(Duration::from_millis(200));
    let emulator = start(options).await;
    let client = Client::new(&emulator);
    let started = Instant::now();
    let reply = client.call("/getMedia", earliest()).await;
    assert_eq!(reply.status, 200);
    assert!(reply.broken.is_none(), "{:?}", reply.broken);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let chunks = decode(&reply.body);
    assert_eq!(chunks.len(), 3);
    assert!(chunks.iter().all(|c| c.is_complete()));
    emulator.shutdown().await;
}
