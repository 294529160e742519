//! The emulator's five operations, started in-process on 127.0.0.1:0 and
//! called with requests signed by the crate's own signer.

mod common;
mod emulator_support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use emulator_support::{assert_get_media_chunks, get_media};
use emulator_support::{decode, recording, Client};
use kvs_mkv::emulator::{Emulator, EmulatorHandle, Options};
use kvs_mkv::kvs::names;
use kvs_mkv::sigv4::Credentials;
use kvs_mkv::Chunk;
use serde_json::{json, Value};

const IDLE: Duration = Duration::from_millis(100);

fn options() -> Options {
    let mut options = Options::default();
    options.idle_timeout = IDLE;
    options.calls_per_second = None;
    options
}

/// An emulator with the recorded GetMedia body as `cam` and the plain MKV
/// as `plain`.
async fn start(options: Options) -> Option<EmulatorHandle> {
    let recorded = recording("output_get_media.mkv")?;
    let plain = recording("clusters.mkv")?;
    Some(
        Emulator::builder()
            .stream("cam", recorded)
            .stream("plain", plain)
            .options(options)
            .start("127.0.0.1:0")
            .await
            .expect("start"),
    )
}

fn file_chunks(path: &Path) -> Vec<Chunk> {
    decode(&std::fs::read(path).unwrap())
}

fn tag<'a>(chunk: &'a Chunk, name: &str) -> Option<&'a str> {
    chunk
        .info()
        .tags
        .iter()
        .find(|t| t.name == name)
        .and_then(|t| t.value.as_str())
}

fn numbers(chunks: &[Chunk]) -> Vec<String> {
    chunks
        .iter()
        .map(|c| c.fragment_number().unwrap().to_string())
        .collect()
}

fn frames(chunks: &[Chunk]) -> Vec<(u64, bytes::Bytes)> {
    chunks
        .iter()
        .flat_map(|c| c.frames().iter().map(|f| (f.track(), f.data().clone())))
        .collect()
}

#[tokio::test]
async fn get_data_endpoint_answers_its_own_url() {
    let Some(emulator) = start(options()).await else {
        return;
    };
    let client = Client::new(&emulator);
    for api in [
        "GET_MEDIA",
        "LIST_FRAGMENTS",
        "GET_MEDIA_FOR_FRAGMENT_LIST",
        "GET_IMAGES",
        "PUT_MEDIA",
    ] {
        let reply = client
            .call(
                "/getDataEndpoint",
                json!({"StreamName": "cam", "APIName": api}),
            )
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["DataEndpoint"], emulator.url());
        assert!(reply.header("x-amzn-requestid").is_some());
    }
    let arn = &emulator
        .streams()
        .iter()
        .find(|s| s.name == "cam")
        .unwrap()
        .arn;
    let reply = client
        .call(
            "/getDataEndpoint",
            json!({"StreamARN": arn, "APIName": "GET_MEDIA"}),
        )
        .await;
    assert_eq!(reply.status, 200);

    client
        .call(
            "/getDataEndpoint",
            json!({"StreamName": "nope", "APIName": "GET_MEDIA"}),
        )
        .await
        .assert_error(404, "ResourceNotFoundException");
    client
        .call(
            "/getDataEndpoint",
            json!({"StreamName": "cam", "APIName": "GET_SOMETHING"}),
        )
        .await
        .assert_error(400, "InvalidArgumentException");
    client
        .call("/getDataEndpoint", json!({"APIName": "GET_MEDIA"}))
        .await
        .assert_error(400, "InvalidArgumentException");
    // Modeled errors spell the member as the models do.
    let reply = client
        .call(
            "/getMedia",
            get_media("nope", json!({"StartSelectorType": "EARLIEST"})),
        )
        .await;
    reply.assert_error(404, "ResourceNotFoundException");
    assert!(reply.json()["Message"].is_string());
    emulator.shutdown().await;
}

#[tokio::test]
async fn get_media_serves_a_recording_as_recorded() {
    let Some(emulator) = start(options()).await else {
        return;
    };
    let client = Client::new(&emulator);
    let started = Instant::now();
    let reply = client
        .call(
            "/getMedia",
            get_media("cam", json!({"StartSelectorType": "EARLIEST"})),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("video/webm"));
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert!(reply.broken.is_none());
    // The response ends once the stream has been idle for IDLE.
    assert!(started.elapsed() >= IDLE);

    let served = reply.chunks();
    let original = file_chunks(&recording("output_get_media.mkv").unwrap());
    assert_eq!(served.len(), 5);
    assert_eq!(numbers(&served), numbers(&original));
    assert_get_media_chunks(&served);
    for (s, o) in served.iter().zip(&original) {
        assert_eq!(s.info().server_timestamp(), o.info().server_timestamp());
        assert_eq!(s.info().producer_timestamp(), o.info().producer_timestamp());
        assert_eq!(s.info().tracks, o.info().tracks);
        assert_eq!(s.info().stats, o.info().stats);
    }
    assert_eq!(frames(&served), frames(&original));
    // Behind the newest fragment: the last one is not behind at all.
    let behind: Vec<u64> = served
        .iter()
        .map(|c| c.info().millis_behind_now().unwrap())
        .collect();
    assert_eq!(behind.last(), Some(&0));
    assert!(behind[0] > 0);
    emulator.shutdown().await;
}

#[tokio::test]
async fn get_media_cuts_a_plain_mkv_into_one_fragment_per_cluster() {
    let Some(emulator) = start(options()).await else {
        return;
    };
    let client = Client::new(&emulator);
    let reply = client
        .call(
            "/getMedia",
            get_media("plain", json!({"StartSelectorType": "EARLIEST"})),
        )
        .await;
    assert_eq!(reply.status, 200);
    let served = reply.chunks();
    let original = file_chunks(&recording("clusters.mkv").unwrap());
    assert_eq!(original.len(), 1, "a plain MKV is one document");
    assert_eq!(served.len(), 8, "one fragment per Cluster");
    assert_get_media_chunks(&served);
    assert_eq!(frames(&served), frames(&original));
    assert_eq!(served.iter().map(|c| c.frames().len()).sum::<usize>(), 444);
    let numbers = numbers(&served);
    assert!(numbers.iter().all(|n| n.len() == 48));
    assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    let producer: Vec<u128> = served
        .iter()
        .map(|c| c.info().producer_timestamp().unwrap().as_millis())
        .collect();
    assert!(producer.windows(2).all(|w| w[0] < w[1]));
    for c in &served {
        let p = c.info().producer_timestamp().unwrap().as_millis();
        let s = c.info().server_timestamp().unwrap().as_millis();
        assert_eq!(s, p + 250);
        assert_eq!(c.info().tracks, original[0].info().tracks);
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn get_media_start_selectors() {
    let Some(emulator) = start(options()).await else {
        return;
    };
    let client = Client::new(&emulator);
    let original = file_chunks(&recording("output_get_media.mkv").unwrap());
    let all = numbers(&original);
    let fetch = |selector: Value| {
        let client = client.clone();
        async move {
            let reply = client.call("/getMedia", get_media("cam", selector)).await;
            assert_eq!(
                reply.status,
                200,
                "{:?}",
                String::from_utf8_lossy(&reply.body)
            );
            reply.chunks()
        }
    };

    let earliest = fetch(json!({"StartSelectorType": "EARLIEST"})).await;
    assert_eq!(numbers(&earliest), all);
    let now = fetch(json!({"StartSelectorType": "NOW"})).await;
    assert_eq!(numbers(&now), all[4..]);
    // FRAGMENT_NUMBER starts with the fragment named.
    let from_2 =
        fetch(json!({"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": all[2]})).await;
    assert_eq!(numbers(&from_2), all[2..]);
    // CONTINUATION_TOKEN resumes after the chunk that carried it.
    let token = earliest[1].continuation_token().unwrap();
    let resumed =
        fetch(json!({"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": token})).await;
    assert_eq!(numbers(&resumed), all[2..]);
    // Timestamps: the fragment that contains the time.
    let p3 = original[3].info().producer_timestamp().unwrap().as_millis() as f64 / 1000.0;
    let by_producer =
        fetch(json!({"StartSelectorType": "PRODUCER_TIMESTAMP", "StartTimestamp": p3 + 0.5})).await;
    assert_eq!(numbers(&by_producer), all[3..]);
    let s1 = original[1].info().server_timestamp().unwrap().as_millis() as f64 / 1000.0;
    let by_server =
        fetch(json!({"StartSelectorType": "SERVER_TIMESTAMP", "StartTimestamp": s1})).await;
    assert_eq!(numbers(&by_server), all[1..]);
    let before_all =
        fetch(json!({"StartSelectorType": "SERVER_TIMESTAMP", "StartTimestamp": 1000})).await;
    assert_eq!(numbers(&before_all), all);
    let after_all =
        fetch(json!({"StartSelectorType": "SERVER_TIMESTAMP", "StartTimestamp": 2e9})).await;
    assert!(after_all.is_empty());

    // A fragment the stream does not have: one error chunk.
    let missing =
        fetch(json!({"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": "123"})).await;
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].info().aws.error_id.map(|e| e.code()), Some(4000));
    assert!(missing[0].info().aws.error_code.is_some());

    for bad in [
        json!({"StartSelectorType": "FRAGMENT_NUMBER"}),
        json!({"StartSelectorType": "FRAGMENT_NUMBER", "AfterFragmentNumber": "12x"}),
        json!({"StartSelectorType": "SERVER_TIMESTAMP"}),
        json!({"StartSelectorType": "PRODUCER_TIMESTAMP"}),
        json!({"StartSelectorType": "CONTINUATION_TOKEN"}),
        json!({"StartSelectorType": "CONTINUATION_TOKEN", "ContinuationToken": "999"}),
        json!({"StartSelectorType": "LATEST"}),
        json!({}),
    ] {
        client
            .call("/getMedia", get_media("cam", bad.clone()))
            .await
            .assert_error(400, "InvalidArgumentException");
    }
    client
        .call("/getMedia", json!({"StreamName": "cam"}))
        .await
        .assert_error(400, "InvalidArgumentException");
    emulator.shutdown().await;
}

async fn list_all(client: &Client, request: Value) -> (Vec<Value>, usize) {
    let mut all = Vec::new();
    let mut pages = 0;
    let mut request = request;
    loop {
        let reply = client.call("/listFragments", request.clone()).await;
        assert_eq!(
            reply.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&reply.body)
        );
        let page = reply.json();
        pages += 1;
        all.extend(page["Fragments"].as_array().unwrap().iter().cloned());
        match page.get("NextToken").and_then(Value::as_str) {
            Some(token) => request["NextToken"] = json!(token),
            None => return (all, pages),
        }
    }
}

#[tokio::test]
async fn list_fragments_pages_and_selectors() {
    let Some(emulator) = start(options()).await else {
        return;
    };
    let client = Client::new(&emulator);
    let original = file_chunks(&recording("output_get_media.mkv").unwrap());
    let all: BTreeSet<String> = numbers(&original).into_iter().collect();

    let (listed, pages) = list_all(&client, json!({"StreamName": "cam", "MaxResults": 2})).await;
    assert_eq!(pages, 3);
    let listed_numbers: Vec<String> = listed
        .iter()
        .map(|f| f["FragmentNumber"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(listed_numbers.len(), 5, "no fragment twice");
    assert_eq!(listed_numbers.iter().cloned().collect::<BTreeSet<_>>(), all);

    // The fields, checked against the media itself.
    let gmffl = client
        .call(
            "/getMediaForFragmentList",
            json!({"StreamName": "cam", "Fragments": listed_numbers}),
        )
        .await;
    let chunks = gmffl.chunks();
    for (fragment, chunk) in listed.iter().zip(&chunks) {
        assert_eq!(
            fragment["FragmentSizeInBytes"].as_u64().unwrap(),
            chunk.raw().len() as u64
        );
        let ms = |v: &Value| (v.as_f64().unwrap() * 1000.0).round() as u128;
        assert_eq!(
            ms(&fragment["ProducerTimestamp"]),
            chunk.info().producer_timestamp().unwrap().as_millis()
        );
        assert_eq!(
            ms(&fragment["ServerTimestamp"]),
            chunk.info().server_timestamp().unwrap().as_millis()
        );
        assert_eq!(fragment["FragmentLengthInMilliseconds"], 2000);
    }

    // A walk is stable, and the plain stream's 8 fragments come shuffled.
    let (plain, _) = list_all(&client, json!({"StreamName": "plain", "MaxResults": 3})).await;
    let (again, _) = list_all(&client, json!({"StreamName": "plain", "MaxResults": 3})).await;
    assert_eq!(plain, again);
    let order: Vec<&str> = plain
        .iter()
        .map(|f| f["FragmentNumber"].as_str().unwrap())
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_ne!(order, sorted, "no particular order");

    // Selectors: inclusive ranges of start timestamps.
    let p = |i: usize| original[i].info().producer_timestamp().unwrap().as_millis() as f64 / 1000.0;
    let (range, _) = list_all(
        &client,
        json!({"StreamName": "cam", "FragmentSelector": {
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {"StartTimestamp": p(1), "EndTimestamp": p(3)}}}),
    )
    .await;
    let got: BTreeSet<String> = range
        .iter()
        .map(|f| f["FragmentNumber"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = numbers(&original[1..4]).into_iter().collect();
    assert_eq!(got, want);
    let s = |i: usize| original[i].info().server_timestamp().unwrap().as_millis() as f64 / 1000.0;
    let (range, _) = list_all(
        &client,
        json!({"StreamName": "cam", "MaxResults": 1, "FragmentSelector": {
            "FragmentSelectorType": "SERVER_TIMESTAMP",
            "TimestampRange": {"StartTimestamp": s(4) - 0.001, "EndTimestamp": 2e9}}}),
    )
    .await;
    assert_eq!(range.len(), 1);

    for bad in [
        json!({"StreamName": "cam", "MaxResults": 0}),
        json!({"StreamName": "cam", "MaxResults": 1001}),
        json!({"StreamName": "cam", "NextToken": "bm90IGEgdG9rZW4="}),
        json!({"StreamName": "cam", "FragmentSelector": {"FragmentSelectorType": "PRODUCER_TIMESTAMP"}}),
        json!({"StreamName": "cam", "FragmentSelector": {"FragmentSelectorType": "X",
            "TimestampRange": {"StartTimestamp": 1, "EndTimestamp": 2}}}),
        json!({"StreamName": "cam", "FragmentSelector": {"FragmentSelectorType": "SERVER_TIMESTAMP",
            "TimestampRange": {"StartTimestamp": 3, "EndTimestamp": 2}}}),
    ] {
        client
            .call("/listFragments", bad)
            .await
            .assert_error(400, "InvalidArgumentException");
    }
    client
        .call("/listFragments", json!({"StreamName": "nope"}))
        .await
        .assert_error(404, "ResourceNotFoundException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn get_media_for_fragment_list_in_request_order() {
    let Some(emulator) = start(options()).await else {
        return;
    };
    let client = Client::new(&emulator);
    let original = file_chunks(&recording("output_get_media.mkv").unwrap());
    let all = numbers(&original);
    let missing = "91343852333181432392682062607743920146159169393";
    let reply = client
        .call(
            "/getMediaForFragmentList",
            json!({"StreamName": "cam", "Fragments": [all[3], all[0], missing, all[1]]}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("video/webm"));
    let chunks = reply.chunks();
    assert_eq!(chunks.len(), 4);
    assert_eq!(
        chunks
            .iter()
            .map(|c| c.fragment_number().unwrap().to_string())
            .collect::<Vec<_>>(),
        [&all[3], &all[0], missing, &all[1]]
    );
    for (chunk, i) in [(&chunks[0], 3), (&chunks[1], 0), (&chunks[3], 1)] {
        assert!(chunk.is_complete());
        assert_eq!(chunk.continuation_token(), None, "no trailing tags");
        assert_eq!(chunk.info().millis_behind_now(), None);
        assert_eq!(
            frames(std::slice::from_ref(chunk)),
            frames(&original[i..=i])
        );
        assert_eq!(
            chunk.info().server_timestamp(),
            original[i].info().server_timestamp()
        );
    }
    let failed = chunks[2].info();
    assert_eq!(failed.aws.exception_error_code, Some(4000));
    assert!(failed.aws.exception_message.is_some());
    assert_eq!(tag(&chunks[2], names::FRAGMENT_NUMBER), Some(missing));

    // The plain stream's generated numbers work the same way.
    let (plain, _) = list_all(&client, json!({"StreamName": "plain"})).await;
    let numbers: Vec<&str> = plain
        .iter()
        .map(|f| f["FragmentNumber"].as_str().unwrap())
        .collect();
    let reply = client
        .call(
            "/getMediaForFragmentList",
            json!({"StreamName": "plain", "Fragments": numbers}),
        )
        .await;
    let chunks = reply.chunks();
    assert_eq!(chunks.len(), 8);
    assert_eq!(chunks.iter().map(|c| c.frames().len()).sum::<usize>(), 444);

    let too_many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    for bad in [
        json!({"StreamName": "cam", "Fragments": []}),
        json!({"StreamName": "cam", "Fragments": too_many}),
        json!({"StreamName": "cam", "Fragments": ["12a"]}),
        json!({"StreamName": "cam"}),
    ] {
        client
            .call("/getMediaForFragmentList", bad)
            .await
            .assert_error(400, "InvalidArgumentException");
    }
    let max: Vec<String> = vec![all[0].clone(); 1000];
    let reply = client
        .call(
            "/getMediaForFragmentList",
            json!({"StreamName": "cam", "Fragments": &max[..3]}),
        )
        .await;
    assert_eq!(reply.chunks().len(), 3);
    emulator.shutdown().await;
}

#[tokio::test]
async fn get_images_samples_pages_and_errors() {
    let Some(clusters) = recording("clusters.mkv") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("kvs-emulator-images-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Offsets into the recording: 0 s, 1 s, 2.5 s, and one JPEG at 4 s.
    for (name, content) in [
        ("0.png", "png at 0"),
        ("1000.png", "png at 1000"),
        ("2500.png", "png at 2500"),
        ("4000.jpg", "jpeg at 4000"),
        ("notes.txt", "ignored"),
    ] {
        std::fs::write(dir.join(name), content).unwrap();
    }
    let base = 1_700_000_000_000u64;
    let mut options = options();
    options.base_time = Some(std::time::UNIX_EPOCH + Duration::from_millis(base));
    let emulator = Emulator::builder()
        .stream("plain", clusters)
        .images("plain", &dir)
        .options(options)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::new(&emulator);
    let secs = |ms: u64| (base + ms) as f64 / 1000.0;
    let request = |start: u64, end: u64, format: &str| {
        json!({"StreamName": "plain", "ImageSelectorType": "PRODUCER_TIMESTAMP",
               "StartTimestamp": secs(start), "EndTimestamp": secs(end),
               "SamplingInterval": 500, "Format": format, "MaxResults": 4})
    };
    // Pages of 4 over 0..=3000 ms every 500 ms: 7 images.
    let mut images = Vec::new();
    let mut body = request(0, 3000, "PNG");
    loop {
        let reply = client.call("/getImages", body.clone()).await;
        assert_eq!(
            reply.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&reply.body)
        );
        let page = reply.json();
        let list = page["Images"].as_array().unwrap();
        assert!(list.len() <= 4);
        images.extend(list.iter().cloned());
        match page.get("NextToken").and_then(Value::as_str) {
            Some(token) => body["NextToken"] = json!(token),
            None => break,
        }
    }
    let content = |v: &Value| {
        v.get("ImageContent").map(|c| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(c.as_str().unwrap())
                .unwrap();
            String::from_utf8(bytes).unwrap()
        })
    };
    let got: Vec<Option<String>> = images.iter().map(content).collect();
    let want = |s: &str| Some(s.to_string());
    // The first Cluster runs 0..~2 s, the second from ~2 s: images stay
    // within their fragment.
    assert_eq!(
        got,
        [
            want("png at 0"),
            want("png at 0"),
            want("png at 1000"),
            want("png at 1000"),
            want("png at 2500"),
            want("png at 2500"),
            want("png at 2500"),
        ]
    );
    let stamps: Vec<f64> = images
        .iter()
        .map(|i| i["TimeStamp"].as_f64().unwrap())
        .collect();
    assert_eq!(stamps[1], secs(500));

    // Before the stream: NO_MEDIA; a fragment without a PNG: MEDIA_ERROR.
    let reply = client.call("/getImages", request(0, 100_000, "PNG")).await;
    let reply = reply.json();
    assert_eq!(reply["Images"].as_array().unwrap().len(), 4);
    let early = json!({"StreamName": "plain", "ImageSelectorType": "SERVER_TIMESTAMP",
        "StartTimestamp": secs(0) - 100.0, "EndTimestamp": secs(0) - 99.0, "SamplingInterval": 3000,
        "Format": "PNG"});
    let reply = client.call("/getImages", early).await.json();
    assert_eq!(reply["Images"][0]["Error"], "NO_MEDIA");
    let reply = client
        .call("/getImages", request(6000, 6000, "PNG"))
        .await
        .json();
    assert_eq!(reply["Images"][0]["Error"], "MEDIA_ERROR");
    let reply = client
        .call("/getImages", request(4100, 4100, "JPEG"))
        .await
        .json();
    assert_eq!(content(&reply["Images"][0]), want("jpeg at 4000"));

    for bad in [
        request(0, 301_000, "PNG"),
        request(3000, 0, "PNG"),
        json!({"StreamName": "plain", "ImageSelectorType": "PRODUCER_TIMESTAMP",
               "StartTimestamp": secs(0), "EndTimestamp": secs(1000), "SamplingInterval": 100, "Format": "PNG"}),
        json!({"StreamName": "plain", "ImageSelectorType": "PRODUCER_TIMESTAMP",
               "StartTimestamp": secs(0), "EndTimestamp": secs(1000), "Format": "BMP"}),
    ] {
        client
            .call("/getImages", bad)
            .await
            .assert_error(400, "InvalidArgumentException");
    }
    emulator.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn signatures_are_checked() {
    let emulator = Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .credentials(Credentials::new("AKIDEMULATOR", "right-secret").with_session_token("tok"))
        .options(options())
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::new(&emulator);
    let body = json!({"StreamName": "cam", "APIName": "GET_MEDIA"});
    assert_eq!(
        client.call("/getDataEndpoint", body.clone()).await.status,
        200
    );

    let wrong_secret = client.with_credentials(
        Credentials::new("AKIDEMULATOR", "wrong-secret").with_session_token("tok"),
    );
    let reply = wrong_secret.call("/getDataEndpoint", body.clone()).await;
    reply.assert_error(403, "InvalidSignatureException");
    assert!(
        reply.json()["message"].is_string(),
        "front-end errors say `message`"
    );

    let wrong_key = client.with_credentials(Credentials::new("AKIDOTHER", "right-secret"));
    wrong_key
        .call("/getDataEndpoint", body.clone())
        .await
        .assert_error(403, "UnrecognizedClientException");
    let no_token = client.with_credentials(Credentials::new("AKIDEMULATOR", "right-secret"));
    no_token
        .call("/getDataEndpoint", body.clone())
        .await
        .assert_error(403, "UnrecognizedClientException");
    client
        .with_region("eu-west-1")
        .call("/getDataEndpoint", body.clone())
        .await
        .assert_error(403, "InvalidSignatureException");

    // Unsigned, and tampered with after signing.
    let mut unsigned = kvs_mkv::sigv4::Request::new("POST", "/getDataEndpoint")
        .with_header("host", client.url.trim_start_matches("http://"))
        .with_body(serde_json::to_vec(&body).unwrap());
    unsigned
        .headers
        .push(("content-type".into(), "application/json".into()));
    client
        .send(unsigned)
        .await
        .assert_error(403, "MissingAuthenticationTokenException");
    let mut tampered = client.signed("/getDataEndpoint", &body);
    tampered.body = br#"{"StreamName":"cam","APIName":"GET_IMAGES"}"#.to_vec();
    client
        .send(tampered)
        .await
        .assert_error(403, "InvalidSignatureException");

    // Signed, but no such operation.
    client
        .call("/putMedia", body.clone())
        .await
        .assert_error(404, "UnknownOperationException");
    // Signed, but not JSON.
    let garbage = kvs_mkv::sigv4::sign_kinesis_video_post(
        &format!("{}/getDataEndpoint", client.url),
        b"{".to_vec(),
        &client.region,
        &client.credentials,
        std::time::SystemTime::now(),
    )
    .unwrap();
    client
        .send(garbage)
        .await
        .assert_error(400, "SerializationException");
    emulator.shutdown().await;
}

#[tokio::test]
async fn start_refuses_what_it_cannot_serve() {
    use kvs_mkv::emulator::{ConfigError, EmulatorError, RecordingError};
    let garbage = Emulator::builder()
        .stream("cam", b"not matroska".to_vec())
        .start("127.0.0.1:0")
        .await;
    assert!(matches!(
        garbage,
        Err(EmulatorError::Recording {
            source: RecordingError::NoCompleteChunk,
            ..
        })
    ));
    let bad_name = Emulator::builder()
        .stream("no spaces", Path::new("testdata/sample.mkv"))
        .start("127.0.0.1:0")
        .await;
    assert!(matches!(
        bad_name,
        Err(EmulatorError::Config(ConfigError::StreamName { .. }))
    ));
    let stray_images = Emulator::builder()
        .stream("cam", Path::new("testdata/sample.mkv"))
        .images("other", "testdata")
        .start("127.0.0.1:0")
        .await;
    assert!(matches!(
        stray_images,
        Err(EmulatorError::Config(
            ConfigError::ImagesWithoutStream { .. }
        ))
    ));
    let missing = Emulator::builder()
        .stream("cam", Path::new("/nonexistent.mkv"))
        .start("127.0.0.1:0")
        .await;
    assert!(matches!(missing, Err(EmulatorError::Read { .. })));
    // A recording file past Options::max_recording_size, refused with the
    // path and the cap; the default cap reads it.
    let mut small = Options::default();
    assert_eq!(
        small.max_recording_size,
        kvs_mkv::emulator::DEFAULT_MAX_RECORDING_SIZE
    );
    small.max_recording_size = 1000;
    let too_large = Emulator::builder()
        .options(small)
        .stream("cam", Path::new("testdata/sample.mkv"))
        .start("127.0.0.1:0")
        .await;
    let Err(too_large) = too_large else {
        panic!("started past the cap")
    };
    assert!(
        matches!(&too_large, EmulatorError::TooLarge { path, limit: 1000 }
            if path == Path::new("testdata/sample.mkv")),
        "{too_large}"
    );
    assert!(too_large.to_string().contains("1000 bytes"), "{too_large}");
    let first = Emulator::builder().start("127.0.0.1:0").await.unwrap();
    let taken = Emulator::builder().start(first.local_addr()).await;
    let Err(taken) = taken else {
        panic!("bound twice")
    };
    assert!(matches!(taken, EmulatorError::Bind(_)));
    // The I/O error is kept as the source.
    let io = std::error::Error::source(&taken).and_then(|s| s.downcast_ref::<std::io::Error>());
    assert_eq!(io.map(|e| e.kind()), Some(std::io::ErrorKind::AddrInUse));
    // An emulator with no streams still answers, with 404s.
    let client = Client::new(&first);
    client
        .call("/listFragments", json!({"StreamName": "cam"}))
        .await
        .assert_error(404, "ResourceNotFoundException");
    first.shutdown().await;
}
