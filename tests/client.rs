//! The client against the emulator over loopback, with fault injection:
//! resuming GetMedia through 100+ cuts, backoff on throttling, the rate
//! limit, pagination, GetMediaForFragmentList and GetImages, credentials.

mod client_support;
mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use client_support::{client, credentials, emulator, numbers, recording, stream, SECRET};
use futures::{StreamExt, TryStreamExt};
use kvs_mkv::client::{
    sort_fragments, Client, ClientConfig, ClientError, FragmentOrder, GetImagesRequest,
    GetMediaOptions, ImageError, Pagination, ServiceErrorKind, StartSelector, StreamId,
    TimestampKind,
};
use kvs_mkv::emulator::{Emulator, Fault, Operation, Options};
use kvs_mkv::sigv4::Credentials;
use kvs_mkv::{Chunk, Event, Limits, Timestamp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_media_survives_over_100_cuts() {
    let (body, expected) = recording(130);
    let mut options = Options::default();
    options.calls_per_second = None;
    options.faults = vec![Fault::cut_in_chunk(1)
        .first(120)
        .operations(&[Operation::GetMedia])];
    let e = emulator(body, options).await;
    let got: Vec<Chunk> = client(&e, true)
        .get_media(
            stream(),
            StartSelector::Earliest,
            GetMediaOptions::default(),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        numbers(&got),
        numbers(&expected),
        "every fragment once, in order"
    );
    for (a, b) in got.iter().zip(&expected) {
        assert_eq!(a.frames(), b.frames());
    }
    e.shutdown().await;
}

/// The frame-level variant: a fragment cut mid-way is fetched again and the
/// frames already handed out are not handed out twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_media_events_exactly_once_across_cuts() {
    let (body, expected) = recording(20);
    let mut options = Options::default();
    options.calls_per_second = None;
    // Cut inside the second chunk of each of the first 30 responses: some
    // of its frames are out before the cut, and it is fetched again.
    options.faults = vec![Fault::cut_in_chunk(1)
        .first(30)
        .operations(&[Operation::GetMedia])];
    let e = emulator(body, options).await;
    let events: Vec<Event> = client(&e, true)
        .get_media_events(
            stream(),
            StartSelector::Earliest,
            GetMediaOptions::default(),
        )
        .try_collect()
        .await
        .unwrap();
    let frames: Vec<Bytes> = events
        .iter()
        .filter_map(|e| {
            if let Event::Frame(f) = e {
                Some(f.data().clone())
            } else {
                None
            }
        })
        .collect();
    let want: Vec<Bytes> = expected
        .iter()
        .flat_map(|c| c.frames().iter().map(|f| f.data().clone()))
        .collect();
    assert_eq!(frames, want);
    let ends = events.iter().filter(|e| matches!(e, Event::End(_))).count();
    let starts = events
        .iter()
        .filter(|e| matches!(e, Event::Start(_)))
        .count();
    assert_eq!((starts, ends), (20, 20));
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_selectors_and_error_chunks() {
    let (body, expected) = recording(6);
    let e = emulator(body, Options::default()).await;
    let c = client(&e, false);
    let fetch = |sel: StartSelector| {
        let c = c.clone();
        async move {
            c.get_media(stream(), sel, GetMediaOptions::default())
                .collect::<Vec<_>>()
                .await
        }
    };
    let all = numbers(&expected);
    let ok = |v: Vec<Result<Chunk, ClientError>>| {
        numbers(&v.into_iter().collect::<Result<Vec<_>, _>>().unwrap())
    };
    assert_eq!(ok(fetch(StartSelector::Earliest).await), all);
    assert_eq!(
        ok(fetch(StartSelector::FragmentNumber(all[2].parse().unwrap())).await),
        all[2..]
    );
    assert_eq!(
        ok(fetch(StartSelector::ContinuationToken(all[2].clone())).await),
        all[3..]
    );
    let ts = expected[4].info().server_timestamp().unwrap();
    assert_eq!(
        ok(fetch(StartSelector::ServerTimestamp(ts)).await),
        all[4..]
    );
    assert_eq!(
        ok(fetch(StartSelector::ProducerTimestamp(ts)).await),
        all[4..]
    );
    // A fragment that does not exist: the error chunk is a typed error.
    let r = fetch(StartSelector::FragmentNumber(
        "1".repeat(47).parse().unwrap(),
    ))
    .await;
    match r.last() {
        Some(Err(ClientError::StreamError { id, .. })) => {
            assert_eq!(*id, Some(kvs_mkv::ErrorId::FragmentNotFound))
        }
        other => panic!("{other:?}"),
    }
    e.shutdown().await;
}

/// With the default policy the client stays under the emulator's limit of
/// 5 calls per second per stream: no throttling even with retries off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_keeps_under_five_calls_per_second() {
    let (body, _) = recording(3);
    let e = emulator(body, Options::default()).await;
    let mut config = ClientConfig::new(e.region(), credentials()).with_endpoint_url(e.url());
    config.retry.max_attempts = 1;
    let c = Client::new(config).unwrap();
    let start = Instant::now();
    for _ in 0..12 {
        let pages: Vec<_> = c
            .list_fragments(stream(), None, Pagination::default())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(pages.iter().map(|p| p.items.len()).sum::<usize>(), 3);
    }
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "12 calls take at least 2 s at 5 per second"
    );
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_answered_by_backoff() {
    let (body, _) = recording(3);
    let mut options = Options::default();
    options.faults = vec![Fault::throttle()
        .first(3)
        .operations(&[Operation::ListFragments])];
    let e = emulator(body.clone(), options).await;
    let pages: Vec<_> = client(&e, true)
        .list_fragments(stream(), None, Pagination::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages[0].items.len(), 3);
    e.shutdown().await;

    // Retries run out: the last error is kept, typed.
    let mut options = Options::default();
    options.faults = vec![Fault::throttle().operations(&[Operation::ListFragments])];
    let e = emulator(body, options).await;
    let mut config = ClientConfig::new(e.region(), credentials()).with_endpoint_url(e.url());
    config.retry.max_attempts = 3;
    config.retry.base_delay = Duration::from_millis(1);
    let err = Client::new(config)
        .unwrap()
        .list_fragments(stream(), None, Pagination::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::RetriesExhausted { attempts: 3, .. }),
        "{err}"
    );
    assert_eq!(
        err.service().unwrap().kind,
        ServiceErrorKind::ClientLimitExceeded
    );
    assert_eq!(err.service().unwrap().status, 400);
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_walks_every_page_and_resumes() {
    let (body, expected) = recording(23);
    let e = emulator(body, Options::default()).await;
    let c = client(&e, false);
    let page = |size: u64| Pagination {
        page_size: Some(size),
        ..Pagination::default()
    };
    let pages: Vec<_> = c
        .list_fragments(stream(), None, page(5))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 5);
    assert!(pages.iter().all(|p| p.items.len() <= 5));
    let all = sort_fragments(
        pages.into_iter().flat_map(|p| p.items).collect(),
        FragmentOrder::FragmentNumber,
    );
    let listed: Vec<String> = all.iter().map(|f| f.fragment_number.to_string()).collect();
    assert_eq!(listed, numbers(&expected));

    // max_items cuts the listing mid-page; the resume token carries on.
    let first: Vec<_> = c
        .list_fragments(
            stream(),
            None,
            Pagination {
                max_items: Some(7),
                page_size: Some(5),
                starting_token: None,
            },
        )
        .try_collect()
        .await
        .unwrap();
    let got: usize = first.iter().map(|p| p.items.len()).sum();
    assert_eq!(got, 7);
    let token = first
        .last()
        .unwrap()
        .next_token
        .clone()
        .expect("a resume token");
    let rest: Vec<_> = c
        .list_fragments(
            stream(),
            None,
            Pagination {
                starting_token: Some(token),
                page_size: Some(5),
                max_items: None,
            },
        )
        .try_collect()
        .await
        .unwrap();
    let mut union: Vec<_> = first
        .into_iter()
        .chain(rest)
        .flat_map(|p| p.items)
        .collect();
    assert_eq!(
        union.len(),
        23,
        "nothing lost or repeated across the resume"
    );
    union = sort_fragments(union, FragmentOrder::FragmentNumber);
    assert_eq!(union.len(), 23);
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragment_list_in_order_with_exceptions_and_splitting() {
    let (body, expected) = recording(5);
    let e = emulator(body, Options::default()).await;
    let c = client(&e, false);
    let all = numbers(&expected);
    let asked = [
        all[3].clone(),
        "1".repeat(47),
        all[0].clone(),
        all[4].clone(),
    ]
    .map(|n| n.parse().unwrap())
    .to_vec();
    let got: Vec<_> = c
        .get_media_for_fragment_list(stream(), asked, Limits::default())
        .collect()
        .await;
    assert_eq!(got.len(), 4);
    assert_eq!(
        got[0]
            .as_ref()
            .unwrap()
            .fragment_number()
            .unwrap()
            .to_string(),
        all[3]
    );
    assert!(
        matches!(
            &got[1],
            Err(ClientError::FragmentException { code: Some(_), .. })
        ),
        "{:?}",
        got[1]
    );
    assert_eq!(
        got[2]
            .as_ref()
            .unwrap()
            .fragment_number()
            .unwrap()
            .to_string(),
        all[0]
    );
    assert_eq!(got[3].as_ref().unwrap().frames(), expected[4].frames());

    // More than one call takes: split into calls of at most 1000.
    let many: Vec<String> = (0..1203).map(|i| all[i % 5].clone()).collect();
    let many_numbers = many.iter().map(|n| n.parse().unwrap()).collect();
    let got: Vec<Chunk> = c
        .get_media_for_fragment_list(stream(), many_numbers, Limits::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(numbers(&got), many);
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_images_pages_and_no_media() {
    let (body, expected) = recording(10);
    let dir = std::env::temp_dir().join(format!("kvs-mkv-images-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Images at the server timestamps of fragments 0, 3 and 6.
    let ms = |i: usize| expected[i].info().server_timestamp().unwrap().as_millis();
    for i in [0, 3, 6] {
        std::fs::write(dir.join(format!("{}.jpg", ms(i))), format!("image {i}")).unwrap();
    }
    let e = Emulator::builder()
        .stream("cam", body)
        .images("cam", &dir)
        .credentials(credentials())
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let c = client(&e, false);
    let start = expected[0].info().server_timestamp().unwrap();
    let end = Timestamp::new(expected[9].info().server_timestamp().unwrap().secs() + 3, 0).unwrap();
    let request = GetImagesRequest::new(TimestampKind::Server, start, end, 3000);
    let pages: Vec<_> = c
        .get_images(
            stream(),
            &request,
            Pagination {
                page_size: Some(2),
                ..Pagination::default()
            },
        )
        .try_collect()
        .await
        .unwrap();
    let images: Vec<_> = pages.into_iter().flat_map(|p| p.items).collect();
    assert_eq!(images.len(), 5, "samples at 0, 3, 6, 9 and 12 s");
    for (k, image) in images.iter().enumerate() {
        assert_eq!(
            image.timestamp.unwrap().as_millis(),
            ms(0) + 3000 * k as u128
        );
        match k {
            // A fragment without an image file; then no fragment at all.
            3 => assert_eq!(image.content, Err(ImageError::MediaError)),
            4 => assert_eq!(image.content, Err(ImageError::NoMedia)),
            _ => assert_eq!(
                image.content.as_ref().unwrap(),
                &Bytes::from(format!("image {}", 3 * k))
            ),
        }
    }
    // A request the service would refuse is refused before sending.
    let mut bad = request.clone();
    bad.width = Some(640);
    let err = c
        .get_images(stream(), &bad, Pagination::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidRequest(_)), "{err}");
    e.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_give_a_clear_error_without_the_secret() {
    let (body, _) = recording(2);
    let e = emulator(body, Options::default()).await;
    let wrong = Credentials::new("AKIDEXAMPLE", "not-the-secret-XYZZY");
    let config = ClientConfig::new(e.region(), wrong).with_endpoint_url(e.url());
    let err = Client::new(config)
        .unwrap()
        .list_fragments(stream(), None, Pagination::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    let service = err.service().expect("a service error");
    assert_eq!(service.status, 403);
    assert!(
        matches!(
            service.kind,
            ServiceErrorKind::InvalidSignature | ServiceErrorKind::UnrecognizedClient
        ),
        "{err}"
    );
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("XYZZY") && !shown.contains(SECRET),
        "{shown}"
    );

    let unknown = client(&e, false)
        .list_fragments(StreamId::Name("nope".into()), None, Pagination::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(
        unknown.service().unwrap().kind,
        ServiceErrorKind::ResourceNotFound
    );
    assert_eq!(unknown.service().unwrap().status, 404);
    assert!(unknown.service().unwrap().request_id.is_some());
    e.shutdown().await;
}

/// When GetMedia gives up, the error says why (here: nothing listens),
/// rather than only that retries ran out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_media_gives_up_with_the_cause() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut config = ClientConfig::new("us-west-2", credentials()).with_endpoint_url(url);
    config.retry.max_attempts = 2;
    config.retry.base_delay = Duration::from_millis(1);
    config.retry.max_delay = Duration::from_millis(5);
    let got: Vec<_> = Client::new(config)
        .unwrap()
        .get_media(stream(), StartSelector::Now, GetMediaOptions::default())
        .collect()
        .await;
    assert_eq!(got.len(), 1);
    let mut err = got[0].as_ref().unwrap_err();
    while let ClientError::RetriesExhausted { last, .. } = err {
        err = last;
    }
    assert!(matches!(err, ClientError::Transport { .. }), "{err}");
    assert!(
        got[0].as_ref().unwrap_err().to_string().contains("onnect"),
        "{}",
        got[0].as_ref().unwrap_err()
    );
}

/// Building a `MediaStream` (with an idle timeout) needs no runtime; only
/// polling it does. It used to create a tokio timer in the constructor and
/// panic with "there is no reactor running" (issue F.1).
#[test]
fn media_stream_is_built_outside_a_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (body, chunks) = recording(3);
    let e = runtime.block_on(emulator(body, Options::default()));
    let client = client(&e, false);
    let mut options = GetMediaOptions::default();
    options.idle_timeout = Some(Duration::from_secs(30));
    // Outside any runtime: this line panicked.
    let media = client.get_media(stream(), StartSelector::Earliest, options);
    let got: Vec<Chunk> = runtime.block_on(media.try_collect()).unwrap();
    assert_eq!(numbers(&got), numbers(&chunks));
    runtime.block_on(e.shutdown());
}
