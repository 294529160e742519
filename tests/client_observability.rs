//! What the client and the emulator tell a service that runs them (issue
//! G): the `tracing` events of calls, retries, reconnects and throttling,
//! captured with a subscriber of the test's own (never a secret in them),
//! and the counters of a GetMedia stream (`MediaStream::stats`).
//!
//! The tracing tests run on a current-thread runtime so that every task
//! (client, hostile server, emulator) runs on the thread whose subscriber
//! captures them.

mod hostile_support;
mod tracing_support;

use std::time::{Duration, SystemTime};

use futures::{StreamExt, TryStreamExt};
use hostile_support::{
    chunk, config, guarded, stream, Body, Piece, Reply, Request, Server, SECRET,
};
use kvs_mkv::client::{
    Client, ClientConfig, GetMediaOptions, MediaStats, Pagination, StartSelector,
};
use kvs_mkv::emulator::{Emulator, Fault, Operation, Options};
use kvs_mkv::sigv4::Credentials;
use kvs_mkv::{Event, Limits};
use tracing::Level;
use tracing_support::{Capture, Captured};

const SESSION_TOKEN: &str = "FQoGZXIvYXdzEJr//////////wEaDSESSIONTOKEN";

/// A client of the hostile server's `config`, with a session token.
fn client_with_token(url: &str) -> Client {
    let mut c = config(url);
    c.credentials = Credentials::new("AKIDEXAMPLE", SECRET)
        .with_session_token(SESSION_TOKEN)
        .into();
    Client::new(c).unwrap()
}

/// No secret, signature or Authorization header in any captured event.
fn no_secrets(events: &[Captured]) {
    assert!(!events.is_empty());
    for e in events {
        let text = e.text();
        for secret in [
            SECRET,
            SESSION_TOKEN,
            "wJalrXUtnFEMI",
            "FQoG",
            "AWS4-HMAC-SHA256",
            "Signature=",
            "uthorization",
        ] {
            assert!(!text.contains(secret), "{secret:?} logged: {text}");
        }
    }
}

fn selector_type(r: &Request) -> String {
    r.json()["StartSelector"]["StartSelectorType"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// A GetMedia call that fails, a session cut in its second chunk, then one
/// that ends cleanly, then an empty one: the failed call and the cut each
/// give exactly one WARN event (one line each in a CLI that shows
/// warnings), with the reason and the point it resumes from; the clean end
/// an INFO event; each call a DEBUG `call` event with the operation, the
/// status and the request id; no secret anywhere.
#[tokio::test]
async fn a_reconnect_logs_one_warning_with_its_reason_and_resume_point() {
    let (capture, _guard) = Capture::install();
    let c1 = chunk("1", Some("1"), 2);
    let c2 = chunk("2", Some("2"), 2);
    let c3 = chunk("3", Some("3"), 2);
    let server = Server::start(move |r: &Request| {
        let reply = match (r.path.as_str(), selector_type(r).as_str()) {
            ("/getDataEndpoint", _) => return Reply::endpoint_of(r),
            // The first call fails (nothing delivered: it counts against
            // the stream's retry budget).
            ("/getMedia", "EARLIEST") if r.index == 1 => Reply::error(500, "InternalFailure"),
            ("/getMedia", "EARLIEST") => {
                // Chunk 1 whole, chunk 2 cut short: the body ends before
                // its declared length.
                let declared = (c1.len() + c2.len()) as u64;
                Reply::with(
                    200,
                    Body::Declared(
                        declared,
                        vec![
                            Piece::Data(c1.clone()),
                            Piece::Data(c2[..c2.len() / 2].to_vec()),
                            Piece::Close,
                        ],
                    ),
                )
            }
            ("/getMedia", _) => {
                let token = r.json()["StartSelector"]["ContinuationToken"].clone();
                if token == "1" {
                    Reply::with(200, Body::Full([c2.clone(), c3.clone()].concat()))
                } else {
                    Reply::with(200, Body::Full(Vec::new()))
                }
            }
            _ => Reply::error(404, "UnknownOperationException"),
        };
        reply.header("x-amzn-RequestId", &format!("rid-{}", r.index))
    })
    .await;
    let client = client_with_token(&server.url);
    let mut media = client.get_media(
        stream(),
        StartSelector::Earliest,
        GetMediaOptions::default(),
    );
    let chunks: Vec<_> = guarded(60, async {
        let mut out = Vec::new();
        while let Some(c) = media.next().await {
            out.push(c.unwrap());
        }
        out
    })
    .await;
    let numbers: Vec<String> = chunks
        .iter()
        .map(|c| c.fragment_number().unwrap().to_string())
        .collect();
    assert_eq!(numbers, ["1", "2", "3"]);
    assert_eq!(media.reconnects(), 3);

    let events = capture.events();
    let warnings = capture.at(Level::WARN);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    for w in &warnings {
        assert_eq!(w.message, "GetMedia reconnecting");
        assert_eq!(w.target, "kvs_mkv::client::media");
    }
    let (failed, cut) = (&warnings[0], &warnings[1]);
    assert_eq!(failed.get("resume"), Some("earliest"));
    assert!(
        failed.get("reason").unwrap().contains("InternalFailure"),
        "{failed:?}"
    );
    assert_eq!(failed.get("failures"), Some("1"));
    assert_eq!(cut.get("resume"), Some("continuation token 1"));
    let reason = cut.get("reason").unwrap();
    assert!(reason.contains("transport error"), "{reason}");
    assert_eq!(cut.get("reconnect"), Some("2"));

    let reconnects = capture.named("GetMedia reconnecting");
    assert_eq!(reconnects.len(), 3, "one event per reconnect");
    let clean = &reconnects[2];
    assert_eq!(clean.level, Level::INFO);
    assert_eq!(clean.get("reason"), Some("the session ended"));
    assert_eq!(clean.get("resume"), Some("continuation token 3"));

    let calls: Vec<_> = capture
        .named("call")
        .into_iter()
        .filter(|e| e.get("operation") == Some("GetMedia"))
        .collect();
    assert_eq!(calls.len(), 4, "{calls:#?}");
    for (call, (id, status)) in calls.iter().zip([
        ("rid-1", "500"),
        ("rid-2", "200"),
        ("rid-3", "200"),
        ("rid-4", "200"),
    ]) {
        assert_eq!(call.level, Level::DEBUG);
        assert_eq!(call.get("stream"), Some("cam"));
        assert_eq!(call.get("status"), Some(status));
        assert_eq!(call.get("request_id"), Some(id));
        assert!(call.get("endpoint").unwrap().ends_with("/getMedia"));
        assert!(call.get("duration_ms").is_some());
    }
    // The endpoint was asked for once, then cached.
    let asked = capture.named("asking GetDataEndpoint");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].get("reason"), Some("not cached"));
    // No call waited for the client's own rate limit (1000 a second).
    assert!(capture.named("waited for the call-rate limit").is_empty());
    no_secrets(&events);
}

/// A ListFragments page answered 500, then 429, then 200: a DEBUG `call`
/// event for each (status, request id, error type) in the call's span
/// (operation, stream), and a WARN `retrying` event for each retry with its
/// cause, its delay and whether the service throttled.
#[tokio::test]
async fn calls_and_retries_carry_status_request_id_cause_and_delay() {
    let (capture, _guard) = Capture::install();
    let server = Server::start(|r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => match r.index {
            1 => Reply::error(500, "InternalFailure").header("x-amzn-RequestId", "rid-500"),
            2 => Reply::error(429, "ThrottlingException").header("x-amzn-RequestId", "rid-429"),
            _ => Reply::json(r#"{"Fragments":[]}"#).header("x-amzn-RequestId", "rid-200"),
        },
    })
    .await;
    // One call a second: the retries wait for the client's own limit.
    let mut c = config(&server.url);
    c.credentials = Credentials::new("AKIDEXAMPLE", SECRET)
        .with_session_token(SESSION_TOKEN)
        .into();
    c.calls_per_second = 1;
    let pages: Vec<_> = guarded(
        60,
        Client::new(c)
            .unwrap()
            .list_fragments(stream(), None, Pagination::default())
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(pages.len(), 1);
    let waits = capture.named("waited for the call-rate limit");
    assert!(!waits.is_empty());
    for w in &waits {
        assert_eq!(w.get("call"), Some("LIST_FRAGMENTS"));
        assert!(
            w.get("waited_ms").unwrap().parse::<u64>().unwrap() > 0,
            "{w:?}"
        );
    }

    let calls: Vec<_> = capture
        .named("call")
        .into_iter()
        .filter(|e| e.get("operation") == Some("ListFragments"))
        .collect();
    let seen: Vec<_> = calls
        .iter()
        .map(|c| {
            (
                c.get("status").unwrap(),
                c.get("request_id").unwrap(),
                c.get("error_type"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("500", "rid-500", Some("InternalFailure")),
            ("429", "rid-429", Some("ThrottlingException")),
            ("200", "rid-200", None),
        ]
    );
    for c in &calls {
        assert_eq!(c.spans.last().unwrap().0, "kvs_call");
        assert_eq!(c.get("stream"), Some("cam"));
    }
    let retries = capture.named("retrying after a failed call");
    assert_eq!(retries.len(), 2, "{retries:#?}");
    for (r, (attempt, throttled, cause)) in retries.iter().zip([
        ("1", "false", "InternalFailure"),
        ("2", "true", "ThrottlingException"),
    ]) {
        assert_eq!(r.level, Level::WARN);
        assert_eq!(r.get("operation"), Some("ListFragments for stream cam"));
        assert_eq!(r.get("attempt"), Some(attempt));
        assert_eq!(r.get("throttled"), Some(throttled));
        assert!(r.get("cause").unwrap().contains(cause), "{r:?}");
        assert!(r.get("delay_ms").is_some());
    }
    no_secrets(&capture.events());
}

/// The emulator throttles the second GetMediaForFragmentList call within a
/// second: it logs that at INFO, the client logs a throttled retry, and the
/// client's call events carry request ids the emulator logged.
#[tokio::test]
async fn throttling_is_logged_on_both_sides() {
    let (capture, _guard) = Capture::install();
    let emulator = Emulator::builder()
        .stream("cam", std::path::Path::new("testdata/sample.mkv"))
        .options({
            let mut o = Options::default();
            o.calls_per_second = Some(1);
            o
        })
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let mut c = ClientConfig::new(emulator.region(), emulator.credentials().clone())
        .with_endpoint_url(emulator.url());
    c.calls_per_second = 1000;
    c.retry.base_delay = Duration::from_millis(100);
    c.retry.max_delay = Duration::from_millis(400);
    c.retry.max_attempts = 30;
    let client = Client::new(c).unwrap();
    let listed: Vec<_> = client
        .list_fragments(stream(), None, Pagination::default())
        .try_collect()
        .await
        .unwrap();
    let first = listed[0].items[0].fragment_number;
    for _ in 0..2 {
        let got: Vec<_> = guarded(
            60,
            client
                .get_media_for_fragment_list(stream(), vec![first], Limits::default())
                .try_collect(),
        )
        .await
        .unwrap();
        assert_eq!(got.len(), 1);
    }
    let throttled = capture.named("throttled: ClientLimitExceededException");
    assert!(!throttled.is_empty());
    assert_eq!(throttled[0].level, Level::INFO);
    assert_eq!(
        throttled[0].get("operation"),
        Some("GetMediaForFragmentList")
    );
    assert_eq!(throttled[0].get("stream"), Some("cam"));
    let retries = capture.named("retrying after a failed call");
    assert!(
        retries.iter().any(|r| r.get("throttled") == Some("true")),
        "{retries:#?}"
    );
    let served: Vec<String> = capture
        .events()
        .into_iter()
        .filter(|e| e.message.starts_with("request"))
        .filter_map(|e| e.get("request_id").map(str::to_string))
        .collect();
    let asked = capture.named("call");
    assert!(!asked.is_empty());
    for call in &asked {
        let id = call.get("request_id").unwrap();
        assert!(served.iter().any(|s| s == id), "{id} not among {served:?}");
    }
    no_secrets(&capture.events());
    emulator.shutdown().await;
}

/// The counters of a GetMedia stream against the emulator: before the
/// first poll all zero; after a session cut in its second chunk and the
/// resumed one, chunks and frames as handed out, reconnects as counted,
/// more bytes than the chunks hold (the cut chunk came twice), the last
/// chunk's millis behind now, and the time it was handed out. Without a
/// cut, the bytes are exactly those of the chunks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_stats_count_what_the_stream_did() {
    for cut in [false, true] {
        let mut options = Options::default();
        options.idle_timeout = Duration::from_millis(200);
        if cut {
            options.faults = vec![Fault::cut_in_chunk(1)
                .first(1)
                .operations(&[Operation::GetMedia])];
        }
        let emulator = Emulator::builder()
            .stream("cam", std::path::Path::new("testdata/sample.mkv"))
            .options(options)
            .start("127.0.0.1:0")
            .await
            .unwrap();
        let mut c = ClientConfig::new(emulator.region(), emulator.credentials().clone())
            .with_endpoint_url(emulator.url());
        c.calls_per_second = 1000;
        c.retry.base_delay = Duration::from_millis(2);
        let client = Client::new(c).unwrap();
        let mut media = client.get_media(
            stream(),
            StartSelector::Earliest,
            GetMediaOptions::default(),
        );
        assert_eq!(media.stats(), MediaStats::default());
        let before = SystemTime::now();
        let chunks: Vec<_> = guarded(60, async {
            let mut out: Vec<kvs_mkv::Chunk> = Vec::new();
            while let Some(c) = media.next().await {
                out.push(c.unwrap());
                // Live counters: what was handed out so far.
                let now = media.stats();
                let raw: u64 = out.iter().map(|c| c.raw().len() as u64).sum();
                let frames: usize = out.iter().map(|c| c.frames().len()).sum();
                assert_eq!(now.chunks, out.len() as u64);
                assert_eq!(now.frames, frames as u64);
                assert!(now.bytes >= raw, "{now:?} vs {raw}");
            }
            out
        })
        .await;
        let after = SystemTime::now();
        let stats = media.stats();
        assert_eq!(chunks.len(), 3);
        assert_eq!(stats.chunks, 3);
        let frames: usize = chunks.iter().map(|c| c.frames().len()).sum();
        assert_eq!(stats.frames, frames as u64);
        assert_eq!(stats.reconnects, media.reconnects());
        let raw: u64 = chunks.iter().map(|c| c.raw().len() as u64).sum();
        if cut {
            assert!(stats.reconnects >= 2, "{stats:?}");
            assert!(stats.bytes > raw, "{stats:?} vs {raw}");
        } else {
            assert_eq!(stats.bytes, raw, "{stats:?}");
        }
        let last = chunks.last().unwrap().info().aws.millis_behind_now;
        assert!(last.is_some());
        assert_eq!(stats.millis_behind_now, last);
        let at = stats.last_chunk_at.unwrap();
        assert!(before <= at && at <= after, "{at:?}");
        emulator.shutdown().await;
    }
}

/// The frame-level stream counts the same: frames as handed out, chunks as
/// chunk ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_events_stats_count_frames_and_chunk_ends() {
    let emulator = Emulator::builder()
        .stream("cam", std::path::Path::new("testdata/sample.mkv"))
        .idle_timeout(Duration::from_millis(200))
        .fault(
            Fault::cut_in_chunk(1)
                .first(1)
                .operations(&[Operation::GetMedia]),
        )
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let mut c = ClientConfig::new(emulator.region(), emulator.credentials().clone())
        .with_endpoint_url(emulator.url());
    c.calls_per_second = 1000;
    c.retry.base_delay = Duration::from_millis(2);
    let client = Client::new(c).unwrap();
    let mut events = client.get_media_events(
        stream(),
        StartSelector::Earliest,
        GetMediaOptions::default(),
    );
    let (mut frames, mut ends) = (0u64, 0u64);
    guarded(60, async {
        while let Some(e) = events.next().await {
            match e.unwrap() {
                Event::Frame(_) => frames += 1,
                Event::End(_) => ends += 1,
                Event::Start(_) => {}
            }
        }
    })
    .await;
    let stats = events.stats();
    assert_eq!((stats.frames, stats.chunks), (frames, ends));
    assert_eq!(ends, 3);
    assert!(
        stats.reconnects >= 2 && stats.last_chunk_at.is_some(),
        "{stats:?}"
    );
    emulator.shutdown().await;
}
