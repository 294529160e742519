//! The emulator's limits, injected faults and live mode.

mod common;
mod emulator_support;

use std::path::Path;
use std::time::{Duration, Instant};

use emulator_support::{decode, recording, Client};
use http_body_util::BodyExt;
use kvs_mkv::emulator::{Emulator, EmulatorHandle, Fault, Operation, Options};
use serde_json::{json, Value};

const SAMPLE: &str = "testdata/sample.mkv";

fn options() -> Options {
    let mut options = Options::default();
    options.idle_timeout = Duration::from_millis(100);
    options.calls_per_second = None;
    options
}

async fn start_with(source: &Path, options: Options) -> EmulatorHandle {
    Emulator::builder()
        .stream("cam", source)
        .options(options)
        .start("127.0.0.1:0")
        .await
        .expect("start")
}

fn earliest() -> Value {
    json!({"StreamName": "cam", "StartSelector": {"StartSelectorType": "EARLIEST"}})
}

fn after(token: &str) -> Value {
    json!({"StreamName": "cam", "StartSelector":
        {"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": token}})
}

#[tokio::test]
async fn five_calls_per_second_per_stream() {
    let mut options = options();
    options.calls_per_second = Some(5);
    let emulator = start_with(Path::new(SAMPLE), options).await;
    let client = Client::new(&emulator);
    let list = client
        .call("/listFragments", json!({"StreamName": "cam"}))
        .await
        .json();
    let first = list["Fragments"][0]["FragmentNumber"].clone();
    let request = json!({"StreamName": "cam", "Fragments": [first]});
    let started = Instant::now();
    for _ in 0..5 {
        let reply = client
            .call("/getMediaForFragmentList", request.clone())
            .await;
        assert_eq!(reply.status, 200);
    }
    let sixth = client
        .call("/getMediaForFragmentList", request.clone())
        .await;
    if started.elapsed() < Duration::from_millis(900) {
        sixth.assert_error(400, "ClientLimitExceededException");
    }
    // GetMedia is counted on its own.
    assert_eq!(client.call("/getMedia", earliest()).await.status, 200);
    // ListFragments is not limited.
    for _ in 0..10 {
        let reply = client
            .call("/listFragments", json!({"StreamName": "cam"}))
            .await;
        assert_eq!(reply.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        client
            .call("/getMediaForFragmentList", request)
            .await
            .status,
        200
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn concurrent_get_media_sessions_are_limited() {
    let mut options = options();
    options.idle_timeout = Duration::from_secs(30);
    options.max_get_media_sessions = Some(1);
    let emulator = start_with(Path::new(SAMPLE), options).await;
    let client = Client::new(&emulator);
    let (status, _, open) = client.open("/getMedia", earliest()).await;
    assert_eq!(status, 200);
    client
        .call("/getMedia", earliest())
        .await
        .assert_error(400, "ConnectionLimitExceededException");
    // Closing the first response frees its place.
    drop(open);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, _, body) = client.open("/getMedia", earliest()).await;
        drop(body);
        if status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the session was never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn cut_in_a_chunk_breaks_the_transfer_there() {
    let mut options = options();
    options.faults = vec![Fault::cut_in_chunk(1).first(1)];
    let emulator = start_with(Path::new(SAMPLE), options).await;
    let client = Client::new(&emulator);
    let cut = client.call("/getMedia", earliest()).await;
    assert_eq!(cut.status, 200);
    assert!(cut.broken.is_some(), "the body must end in an error");
    let chunks = decode(&cut.body);
    assert_eq!(chunks.len(), 2);
    assert!(chunks[0].is_complete());
    assert!(!chunks[1].is_complete());
    // Only the first request: the next one is whole.
    let whole = client.call("/getMedia", earliest()).await;
    assert!(whole.broken.is_none());
    let chunks = decode(&whole.body);
    assert_eq!(chunks.len(), 3);
    assert!(chunks.iter().all(|c| c.is_complete()));
    emulator.shutdown().await;
}

#[tokio::test]
async fn cut_after_bytes_is_exact_for_both_media_operations() {
    let mut options = options();
    options.faults = vec![Fault::cut_after_bytes(1000)];
    let emulator = start_with(Path::new(SAMPLE), options).await;
    let client = Client::new(&emulator);
    let reply = client.call("/getMedia", earliest()).await;
    assert_eq!((reply.body.len(), reply.broken.is_some()), (1000, true));
    let list = client
        .call("/listFragments", json!({"StreamName": "cam"}))
        .await
        .json();
    let numbers: Vec<Value> = list["Fragments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["FragmentNumber"].clone())
        .collect();
    let reply = client
        .call(
            "/getMediaForFragmentList",
            json!({"StreamName": "cam", "Fragments": numbers}),
        )
        .await;
    assert_eq!((reply.body.len(), reply.broken.is_some()), (1000, true));
    emulator.shutdown().await;
}

/// A client that resumes with continuation tokens survives 120 cuts in one
/// session and sees every fragment once, in order.
#[tokio::test]
async fn a_hundred_and_twenty_cuts_resumed_with_continuation_tokens() {
    let Some(clusters) = recording("clusters.mkv") else {
        return;
    };
    let mut options = options();
    options.live = true;
    options.speed = 1000.0; // a 2 s fragment every 2 ms
    options.faults = vec![Fault::cut_in_chunk(1).first(120)];
    let emulator = start_with(&clusters, options).await;
    let client = Client::new(&emulator);
    let mut received: Vec<String> = Vec::new();
    let mut cuts = 0;
    let mut request = earliest();
    while cuts < 120 {
        let reply = client.call("/getMedia", request.clone()).await;
        assert_eq!(reply.status, 200);
        assert!(reply.broken.is_some(), "every session is cut");
        cuts += 1;
        let complete: Vec<_> = decode(&reply.body)
            .into_iter()
            .filter(|c| c.is_complete())
            .collect();
        assert_eq!(complete.len(), 1, "one whole chunk before the cut");
        let token = complete[0].continuation_token().unwrap().to_string();
        received.push(complete[0].fragment_number().unwrap().to_string());
        request = after(&token);
    }
    // The 121st session is not cut.
    let last = after(received.last().unwrap());
    let (status, _, mut body) = client.open("/getMedia", last).await;
    assert_eq!(status, 200);
    let frame = body.frame().await.unwrap().unwrap();
    assert!(frame.data_ref().is_some_and(|d| !d.is_empty()));
    drop(body);

    assert_eq!(received.len(), 120);
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "in order, none twice"
    );
    // Consecutive: 15 loops of the 8 fragments, numbered without gaps.
    let positions: Vec<u64> = received
        .iter()
        .map(|n| n[28..].parse::<u64>().unwrap())
        .collect();
    assert_eq!(positions, (0..120).collect::<Vec<_>>());
    emulator.shutdown().await;
}

#[tokio::test]
async fn stalls_pause_the_body() {
    let mut options = options();
    options.faults = vec![
        Fault::stall_in_chunk(1, Duration::from_millis(400)),
        Fault::stall_after_bytes(10, Duration::from_millis(200)).first(1),
    ];
    let emulator = start_with(Path::new(SAMPLE), options).await;
    let client = Client::new(&emulator);
    let started = Instant::now();
    let reply = client.call("/getMedia", earliest()).await;
    let elapsed = started.elapsed();
    assert!(reply.broken.is_none());
    assert_eq!(decode(&reply.body).len(), 3);
    assert!(elapsed >= Duration::from_millis(600), "{elapsed:?}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn answered_faults_throttle_error_not_authorized() {
    let mut options = options();
    options.faults = vec![
        Fault::throttle()
            .first(2)
            .operations(&[Operation::GetMedia]),
        Fault::server_error(503)
            .first(1)
            .operations(&[Operation::ListFragments]),
        Fault::server_error(500)
            .first(1)
            .operations(&[Operation::GetImages]),
        "not-authorized,times=1,op=GetDataEndpoint".parse().unwrap(),
    ];
    let emulator = start_with(Path::new(SAMPLE), options).await;
    let client = Client::new(&emulator);
    for _ in 0..2 {
        client
            .call("/getMedia", earliest())
            .await
            .assert_error(400, "ClientLimitExceededException");
    }
    assert_eq!(client.call("/getMedia", earliest()).await.status, 200);
    let list = json!({"StreamName": "cam"});
    client
        .call("/listFragments", list.clone())
        .await
        .assert_error(503, "ServiceUnavailableException");
    assert_eq!(client.call("/listFragments", list).await.status, 200);
    let images = json!({"StreamName": "cam", "ImageSelectorType": "SERVER_TIMESTAMP",
        "StartTimestamp": 1, "EndTimestamp": 2, "Format": "PNG"});
    client
        .call("/getImages", images.clone())
        .await
        .assert_error(500, "InternalFailure");
    assert_eq!(client.call("/getImages", images).await.status, 200);
    let endpoint = json!({"StreamName": "cam", "APIName": "GET_MEDIA"});
    client
        .call("/getDataEndpoint", endpoint.clone())
        .await
        .assert_error(401, "NotAuthorizedException");
    assert_eq!(client.call("/getDataEndpoint", endpoint).await.status, 200);
    emulator.shutdown().await;
}

#[tokio::test]
async fn live_mode_loops_with_new_numbers_and_ends_sessions() {
    let Some(clusters) = recording("clusters.mkv") else {
        return;
    };
    let mut options = options();
    options.live = true;
    options.speed = 50.0; // the 16 s recording loops every 0.32 s
    options.faults = vec![Fault::end_session_after(Duration::from_millis(800))];
    let emulator = start_with(&clusters, options).await;
    let client = Client::new(&emulator);
    let started = Instant::now();
    let reply = client.call("/getMedia", earliest()).await;
    let elapsed = started.elapsed();
    assert!(reply.broken.is_none(), "the session ends cleanly");
    assert!(elapsed >= Duration::from_millis(800), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let chunks = decode(&reply.body);
    assert!(chunks.len() > 16, "more than two loops: {}", chunks.len());
    assert!(chunks.iter().all(|c| c.is_complete()));
    let numbers: Vec<String> = chunks
        .iter()
        .map(|c| c.fragment_number().unwrap().to_string())
        .collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    let producer: Vec<u128> = chunks
        .iter()
        .map(|c| c.info().producer_timestamp().unwrap().as_millis())
        .collect();
    assert!(producer.windows(2).all(|w| w[0] < w[1]));
    // Loop 1 repeats loop 0's media one loop length later.
    assert_eq!(chunks[8].frames().len(), chunks[0].frames().len());
    assert_eq!(chunks[8].frames()[0].data(), chunks[0].frames()[0].data());
    // At the live edge a chunk is only a fragment (and a bit) behind.
    let behind = chunks.last().unwrap().info().millis_behind_now().unwrap();
    assert!(behind < 10_000, "{behind}");

    // NOW: the newest fragment, then what comes.
    let now = json!({"StreamName": "cam", "StartSelector": {"StartSelectorType": "NOW"}});
    let reply = client.call("/getMedia", now).await;
    let chunks = decode(&reply.body);
    assert!(chunks.len() >= 2);
    let first = chunks[0].fragment_number().unwrap().to_string();
    assert!(&first >= numbers.last().unwrap());
    // ListFragments sees the fragments made so far, and pages stay stable.
    let list = client
        .call(
            "/listFragments",
            json!({"StreamName": "cam", "MaxResults": 5}),
        )
        .await
        .json();
    assert!(list["NextToken"].is_string());
    emulator.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_open_media_responses() {
    let mut options = options();
    options.live = true;
    let emulator = start_with(Path::new(SAMPLE), options).await;
    let client = Client::new(&emulator);
    let (status, _, body) = client.open("/getMedia", earliest()).await;
    assert_eq!(status, 200);
    let reader = tokio::spawn(async move { body.collect().await.map(|b| b.to_bytes().len()) });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    emulator.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let got = tokio::time::timeout(Duration::from_secs(3), reader)
        .await
        .expect("the response ended")
        .unwrap();
    assert!(got.is_ok_and(|n| n > 0));
}
