//! The client against hostile servers (issue F): bodies that never end or
//! claim to be huge, paginators fed the same token, servers that fail every
//! call or never answer, bodies dripped a byte at a time, answers that break
//! the service models, broken chunked encoding, a TLS handshake that stalls,
//! response heads that never end;
//! and the client's use of the resume selector and of fragment-number order.

mod hostile_support;

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use hostile_support::{
    chunk, client, config, guarded, stream, Body, Piece, Reply, Request, Server, SECRET,
};
use kvs_mkv::client::{
    sort_fragments, Api, Client, ClientError, Fragment, FragmentOrder, GetImagesRequest,
    GetMediaOptions, Pagination, ReconnectReason, StartSelector, TimestampKind,
};
use kvs_mkv::{Chunk, Limits, Timestamp};

/// The error inside `RetriesExhausted`, or the error itself.
fn cause(e: &ClientError) -> &ClientError {
    match e {
        ClientError::RetriesExhausted { last, .. } => last,
        e => e,
    }
}

/// Neither the secret nor a control character in an error, shown or
/// debugged.
fn clean(e: &ClientError) {
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(!e.to_string().chars().any(|c| c.is_control()), "{e:?}");
}

fn numbers(chunks: &[Chunk]) -> Vec<String> {
    chunks
        .iter()
        .map(|c| c.fragment_number().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------------
// F.2: every JSON body is capped.
// ---------------------------------------------------------------------

/// A 200 answer to ListFragments whose body never ends: the client stops
/// at the limit (4 MiB by default) with a typed error naming it, and does
/// not retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_list_fragments_answer_stops_at_the_limit() {
    let server = Server::start(|r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::with(
            200,
            Body::Chunked(vec![
                Piece::Data(br#"{"Fragments":["#.to_vec()),
                Piece::Forever(br#"{"FragmentNumber":"1"},"#.repeat(1000), Duration::ZERO),
            ]),
        ),
    })
    .await;
    let err = guarded(60, async {
        client(&server.url)
            .list_fragments(stream(), None, Pagination::default())
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err()
    })
    .await;
    match &err {
        ClientError::BodyTooLarge {
            endpoint,
            limit,
            declared,
        } => {
            assert_eq!(*limit, 4 << 20);
            assert_eq!(*declared, None);
            assert!(endpoint.ends_with("/listFragments"), "{endpoint}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("4194304 bytes"), "{err}");
    assert_eq!(server.count("/listFragments"), 1, "not retried");
    clean(&err);
}

/// A GetDataEndpoint answer of 1 GiB: refused from its Content-Length,
/// before reading (here the body never comes: a client that waited for it
/// would time out instead); the same answer streamed without a length is
/// refused at the limit. The server streams it; the test never holds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_get_data_endpoint_answer_is_refused() {
    let declared = Server::start(|_: &Request| {
        Reply::with(
            200,
            Body::Declared(1 << 30, vec![Piece::Wait(Duration::from_secs(600))]),
        )
    })
    .await;
    let mut c = config(&declared.url);
    c.max_json_body = 1 << 20;
    c.call_timeout = Duration::from_secs(5);
    c.retry.max_attempts = 1;
    let err = guarded(
        60,
        Client::new(c)
            .unwrap()
            .data_endpoint(&stream(), Api::GetMedia),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::BodyTooLarge {
                limit: 1048576,
                declared: Some(1073741824),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("declares 1073741824"), "{err}");
    assert_eq!(declared.total(), 1, "not retried");

    let started = Instant::now();
    let streamed = Server::start(|_: &Request| {
        let filler = Piece::Forever(vec![b' '; 64 * 1024], Duration::ZERO);
        Reply::with(200, Body::Chunked(vec![filler]))
    })
    .await;
    let err = guarded(
        60,
        client(&streamed.url).data_endpoint(&stream(), Api::GetMedia),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::BodyTooLarge {
                limit: 4194304,
                declared: None,
                ..
            }
        ),
        "{err:?}"
    );
    eprintln!(
        "endless GetDataEndpoint answer refused in {:?}",
        started.elapsed()
    );
}

/// GetImages pages carry base64 images of up to 6 MiB each: a page larger
/// than the JSON cap is accepted when its images are within the models'
/// limits, and an image over `max_image_size` is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_images_pages_have_their_own_cap() {
    let image = "QUFB".repeat(1 << 20); // 4 MiB of base64
    let page = format!(
        r#"{{"Images":[{{"TimeStamp":10,"ImageContent":"{image}"}},{{"TimeStamp":13,"ImageContent":"{image}"}}]}}"#
    );
    let server = Server::start(move |r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::json(page.clone()),
    })
    .await;
    let ts = |s: u64| Timestamp::new(s, 0).unwrap();
    let request = GetImagesRequest::new(TimestampKind::Server, ts(10), ts(16), 3000);
    let two = Pagination {
        page_size: Some(2),
        ..Pagination::default()
    };
    let pages: Vec<_> = guarded(
        60,
        client(&server.url)
            .get_images(stream(), &request, two.clone())
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(pages[0].items.len(), 2, "an 8 MiB page is legitimate");
    assert_eq!(pages[0].items[0].content.as_ref().unwrap().len(), 3 << 20);

    let mut c = config(&server.url);
    c.max_image_size = 1 << 20;
    let err = guarded(
        60,
        Client::new(c)
            .unwrap()
            .get_images(stream(), &request, two)
            .try_collect::<Vec<_>>(),
    )
    .await
    .unwrap_err();
    // 8 MiB is more than this page may be: 4 MiB + 2 x (1 MiB + 1 KiB).
    assert!(matches!(err, ClientError::BodyTooLarge { .. }), "{err:?}");
}

// ---------------------------------------------------------------------
// F.3: a repeated NextToken is an error.
// ---------------------------------------------------------------------

/// The same NextToken again (and a cycle of two): an error naming the
/// endpoint, after as many calls as it takes to see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_next_token_is_an_error() {
    for (tokens, calls) in [(vec!["QUJD"], 2), (vec!["QUJD", "REVG"], 3)] {
        let server = Server::start(move |r: &Request| match r.path.as_str() {
            "/getDataEndpoint" => Reply::endpoint_of(r),
            _ => {
                let n = r.index - 1;
                Reply::json(format!(
                    r#"{{"Fragments":[{{"FragmentNumber":"{n}"}}],"NextToken":"{}"}}"#,
                    tokens[n % tokens.len()]
                ))
            }
        })
        .await;
        let err = guarded(
            60,
            client(&server.url)
                .list_fragments(stream(), None, Pagination::default())
                .try_collect::<Vec<_>>(),
        )
        .await
        .unwrap_err();
        match &err {
            ClientError::RepeatedNextToken { endpoint, token } => {
                assert!(endpoint.ends_with("/listFragments"));
                assert_eq!(token, "QUJD");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string()
                .contains("the same next token was received twice"),
            "{err}"
        );
        assert_eq!(server.count("/listFragments"), calls);
    }

    // GetImages, and a starting token given back at once.
    let server = Server::start(|r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::json(r#"{"Images":[],"NextToken":"U1RBUlQ="}"#),
    })
    .await;
    let ts = |s: u64| Timestamp::new(s, 0).unwrap();
    let request = GetImagesRequest::new(TimestampKind::Server, ts(10), ts(16), 3000);
    let start = Pagination {
        starting_token: Some("U1RBUlQ=".into()),
        ..Pagination::default()
    };
    let err = guarded(
        60,
        client(&server.url)
            .get_images(stream(), &request, start)
            .try_collect::<Vec<_>>(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ClientError::RepeatedNextToken { .. }),
        "{err:?}"
    );
    assert_eq!(server.count("/getImages"), 1);
}

// ---------------------------------------------------------------------
// F.4: one retry layer, one budget.
// ---------------------------------------------------------------------

fn policy(url: &str, attempts: u32) -> Client {
    let mut c = config(url);
    c.retry.max_attempts = attempts;
    Client::new(c).unwrap()
}

/// Against a server that answers 503 to every call, each operation makes
/// exactly `max_attempts` calls in all (endpoint discovery included), and
/// says so once: operation, attempts, last endpoint, cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_failing_server_gets_max_attempts_calls() {
    let server = Server::start(|_: &Request| Reply::error(503, "ServiceUnavailable")).await;
    let c = policy(&server.url, 4);

    let got: Vec<_> = guarded(
        60,
        c.get_media(stream(), StartSelector::Now, GetMediaOptions::default())
            .collect(),
    )
    .await;
    assert_eq!(got.len(), 1);
    let err = got[0].as_ref().unwrap_err();
    assert_eq!(server.total(), 4, "GetMedia: {:?}", server.requests());
    let shown = err.to_string();
    assert!(
        shown.starts_with(
            "GetMedia for stream cam: gave up after 4 failed attempts; last call http://127.0.0.1:"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("/getDataEndpoint: ServiceUnavailable (HTTP 503)"),
        "{shown}"
    );
    assert_eq!(shown.matches("gave up").count(), 1, "{shown}");
    assert!(matches!(cause(err), ClientError::Service(_)), "{err:?}");
    clean(err);

    let before = server.total();
    let err = guarded(
        60,
        c.list_fragments(stream(), None, Pagination::default())
            .try_collect::<Vec<_>>(),
    )
    .await
    .unwrap_err();
    assert_eq!(server.total() - before, 4, "ListFragments");
    assert!(err
        .to_string()
        .starts_with("ListFragments for stream cam: gave up after 4"));

    let before = server.total();
    let got: Vec<_> = guarded(
        60,
        c.get_media_for_fragment_list(stream(), vec!["1".parse().unwrap()], Limits::default())
            .collect(),
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(server.total() - before, 4, "GetMediaForFragmentList");
    assert!(got[0]
        .as_ref()
        .unwrap_err()
        .to_string()
        .starts_with("GetMediaForFragmentList for stream cam: gave up after 4"));

    // Discovery works, the call fails: one GetDataEndpoint (cached), then
    // GetMedia until the budget is spent.
    let server = Server::start(|r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::error(503, "ServiceUnavailable"),
    })
    .await;
    let got: Vec<_> = guarded(
        60,
        policy(&server.url, 4)
            .get_media(stream(), StartSelector::Now, GetMediaOptions::default())
            .collect(),
    )
    .await;
    assert_eq!(
        (server.count("/getDataEndpoint"), server.count("/getMedia")),
        (1, 4)
    );
    let shown = got[0].as_ref().unwrap_err().to_string();
    assert!(shown.contains("/getMedia: ServiceUnavailable"), "{shown}");
}

/// A server that accepts and never answers: `max_attempts` calls, each
/// ended by the call timeout; the error says what was waited for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_gets_max_attempts_calls() {
    let server = Server::start(|_: &Request| Reply::Silence).await;
    let mut c = config(&server.url);
    c.retry.max_attempts = 3;
    c.call_timeout = Duration::from_millis(300);
    let got: Vec<_> = guarded(
        60,
        Client::new(c)
            .unwrap()
            .get_media(stream(), StartSelector::Now, GetMediaOptions::default())
            .collect(),
    )
    .await;
    assert_eq!(got.len(), 1);
    assert_eq!(server.total(), 3);
    let err = got[0].as_ref().unwrap_err();
    assert!(
        matches!(cause(err), ClientError::Timeout { what, .. } if *what == "the response headers"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("GetMedia for stream cam: gave up after 3"),
        "{err}"
    );
}

// ---------------------------------------------------------------------
// F.6: a dripped body.
// ---------------------------------------------------------------------

/// A GetMedia server that drips a chunk's bytes (never completing it in
/// time) to every call.
async fn dripping() -> Server {
    let media = chunk("1001", Some("1001"), 3);
    Server::start(move |r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::with(
            200,
            Body::Chunked(vec![Piece::Drip(media.clone(), Duration::from_millis(100))]),
        ),
    })
    .await
}

/// With `idle_timeout`, a stream fed a drip ends (without error) once no
/// new chunk came for that long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_timeout_ends_a_dripped_stream() {
    let server = dripping().await;
    let mut options = GetMediaOptions::default();
    options.idle_timeout = Some(Duration::from_millis(700));
    let started = Instant::now();
    let got: Vec<_> = guarded(
        30,
        client(&server.url)
            .get_media(stream(), StartSelector::Now, options)
            .collect(),
    )
    .await;
    assert!(got.is_empty(), "{got:?}");
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert_eq!(server.count("/getMedia"), 1);
}

/// Without an idle timeout, the chunk timeout bounds each dripped session;
/// each counts against the retry budget, and the stream ends with the cause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunk_timeout_ends_dripped_sessions() {
    let server = dripping().await;
    let mut c = config(&server.url);
    c.chunk_timeout = Duration::from_millis(500);
    c.retry.max_attempts = 3;
    let got: Vec<_> = guarded(
        60,
        Client::new(c)
            .unwrap()
            .get_media(stream(), StartSelector::Now, GetMediaOptions::default())
            .collect(),
    )
    .await;
    assert_eq!(got.len(), 1, "{got:?}");
    let err = got[0].as_ref().unwrap_err();
    assert!(
        matches!(cause(err), ClientError::Timeout { what, after } if *what == "a complete chunk" && *after == Duration::from_millis(500)),
        "{err:?}"
    );
    assert_eq!(server.count("/getMedia"), 3);

    // The same for GetMediaForFragmentList.
    let mut c = config(&server.url);
    c.chunk_timeout = Duration::from_millis(500);
    c.retry.max_attempts = 2;
    let got: Vec<_> = guarded(
        60,
        Client::new(c)
            .unwrap()
            .get_media_for_fragment_list(stream(), vec!["1001".parse().unwrap()], Limits::default())
            .collect(),
    )
    .await;
    assert_eq!(got.len(), 1, "{got:?}");
    let err = got[0].as_ref().unwrap_err();
    assert!(
        matches!(cause(err), ClientError::Timeout { what, .. } if *what == "a complete chunk"),
        "{err:?}"
    );
    assert_eq!(server.count("/getMediaForFragmentList"), 2);
}

/// The idle and chunk timeouts count the time the stream waits for the
/// server, not the time the caller spends with an item: a caller slower
/// than both still gets every chunk from one session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_caller_is_not_a_slow_server() {
    let a = chunk("1001", Some("tok-1001"), 2);
    let b = chunk("1002", Some("tok-1002"), 2);
    let server = Server::start(move |r: &Request| match (r.path.as_str(), r.index) {
        ("/getDataEndpoint", _) => Reply::endpoint_of(r),
        (_, 1) => Reply::with(
            200,
            Body::Chunked(vec![
                Piece::Data(a.clone()),
                Piece::Wait(Duration::from_millis(200)),
                Piece::Data(b.clone()),
            ]),
        ),
        _ => Reply::with(200, Body::Full(Vec::new())),
    })
    .await;
    let mut c = config(&server.url);
    c.chunk_timeout = Duration::from_millis(500);
    let mut options = GetMediaOptions::default();
    options.idle_timeout = Some(Duration::from_millis(500));
    let mut media = Client::new(c)
        .unwrap()
        .get_media(stream(), StartSelector::Earliest, options);
    let mut got = Vec::new();
    while let Some(item) = guarded(30, media.next()).await {
        got.push(item.unwrap());
        // The caller works longer than either timeout.
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    assert_eq!(numbers(&got), ["1001", "1002"]);
    assert_eq!(
        media.last_reconnect().map(|r| &r.reason),
        Some(&ReconnectReason::SessionEnded),
        "no session broke"
    );
    assert_eq!(server.count("/getMedia"), 2);
}

/// The defaults that bound a session, as the module docs state them.
#[test]
fn default_bounds() {
    let c = config("http://127.0.0.1:1");
    assert_eq!(c.connect_timeout, Duration::from_secs(10));
    assert_eq!(c.call_timeout, Duration::from_secs(30));
    assert_eq!(c.read_timeout, Duration::from_secs(30));
    assert_eq!(c.chunk_timeout, Duration::from_secs(60));
    assert_eq!(c.max_json_body, 4 << 20);
    assert_eq!(c.max_image_size, 6291456);
    assert_eq!(c.retry.max_attempts, 8);
    assert_eq!(GetMediaOptions::default().idle_timeout, None);
}

// ---------------------------------------------------------------------
// F.10: answers that break the models.
// ---------------------------------------------------------------------

/// Each answer gives `InvalidResponse` naming the member, after one call,
/// and nothing of the server's text reaches the message raw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_break_the_models_are_typed_errors() {
    let long = "1".repeat(129);
    let token = "A".repeat(4097);
    let fragments: Vec<(String, &str)> = vec![
        (r#"{"Fragments":"notalist"}"#.into(), "Fragments"),
        (r#"{"Fragments":{}}"#.into(), "Fragments"),
        ("[]".into(), "$"),
        (r#""Fragments""#.into(), "$"),
        (r#"{"Fragments":[3]}"#.into(), "Fragments[0]"),
        (
            r#"{"Fragments":[{}]}"#.into(),
            "Fragments[0].FragmentNumber",
        ),
        (
            r#"{"Fragments":[{"FragmentNumber":"1"},{"FragmentNumber":5}]}"#.into(),
            "Fragments[1].FragmentNumber",
        ),
        (
            r#"{"Fragments":[{"FragmentNumber":"12a"}]}"#.into(),
            "Fragments[0].FragmentNumber",
        ),
        (
            r#"{"Fragments":[{"FragmentNumber":""}]}"#.into(),
            "Fragments[0].FragmentNumber",
        ),
        (
            format!(r#"{{"Fragments":[{{"FragmentNumber":"{long}"}}]}}"#),
            "Fragments[0].FragmentNumber",
        ),
        (
            r#"{"Fragments":[{"FragmentNumber":"1\u001b[2J\u0007"}]}"#.into(),
            "Fragments[0].FragmentNumber",
        ),
        (
            r#"{"Fragments":[{"FragmentNumber":"1","FragmentSizeInBytes":"10"}]}"#.into(),
            "Fragments[0].FragmentSizeInBytes",
        ),
        (
            r#"{"Fragments":[{"FragmentNumber":"1","FragmentLengthInMilliseconds":-5}]}"#.into(),
            "Fragments[0].FragmentLengthInMilliseconds",
        ),
        (
            r#"{"Fragments":[{"FragmentNumber":"1","ProducerTimestamp":"yesterday"}]}"#.into(),
            "Fragments[0].ProducerTimestamp",
        ),
        (r#"{"Fragments":[],"NextToken":5}"#.into(), "NextToken"),
        (r#"{"Fragments":[],"NextToken":""}"#.into(), "NextToken"),
        (r#"{"Fragments":[],"NextToken":"a b"}"#.into(), "NextToken"),
        (
            r#"{"Fragments":[],"NextToken":"abc==="}"#.into(),
            "NextToken",
        ),
        (
            format!(r#"{{"Fragments":[],"NextToken":"{token}"}}"#),
            "NextToken",
        ),
    ];
    for (answer, member) in fragments {
        let a = answer.clone();
        let server = Server::start(move |r: &Request| match r.path.as_str() {
            "/getDataEndpoint" => Reply::endpoint_of(r),
            _ => Reply::json(a.clone()),
        })
        .await;
        let err = guarded(
            60,
            client(&server.url)
                .list_fragments(stream(), None, Pagination::default())
                .try_collect::<Vec<_>>(),
        )
        .await
        .unwrap_err();
        match &err {
            ClientError::InvalidResponse {
                endpoint,
                member: m,
                ..
            } => {
                assert_eq!(m, member, "{answer}: {err}");
                assert!(endpoint.ends_with("/listFragments"), "{endpoint}");
            }
            other => panic!("{answer}: {other:?}"),
        }
        clean(&err);
        assert_eq!(server.count("/listFragments"), 1, "{answer}: not retried");
    }

    let endpoints = [
        ("{}", "DataEndpoint"),
        ("[]", "$"),
        (r#"{"DataEndpoint":5}"#, "DataEndpoint"),
        (r#"{"DataEndpoint":"ftp://example.com"}"#, "DataEndpoint"),
        (r#"{"DataEndpoint":"not a url"}"#, "DataEndpoint"),
    ];
    for (answer, member) in endpoints {
        let server = Server::start(move |_: &Request| Reply::json(answer)).await;
        let err = guarded(
            60,
            client(&server.url).data_endpoint(&stream(), Api::GetMedia),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, ClientError::InvalidResponse { member: m, endpoint, .. }
                if m == member && endpoint.ends_with("/getDataEndpoint")),
            "{answer}: {err:?}"
        );
        assert_eq!(server.total(), 1);
    }

    let images = [
        (r#"{"Images":"x"}"#, "Images"),
        (
            r#"{"Images":[{"TimeStamp":"x","Error":"NO_MEDIA"}]}"#,
            "Images[0].TimeStamp",
        ),
        (
            r#"{"Images":[{"ImageContent":5}]}"#,
            "Images[0].ImageContent",
        ),
        (
            r#"{"Images":[{"ImageContent":"!!!"}]}"#,
            "Images[0].ImageContent",
        ),
        (r#"{"Images":[{"Error":7}]}"#, "Images[0].Error"),
    ];
    let ts = |s: u64| Timestamp::new(s, 0).unwrap();
    let request = GetImagesRequest::new(TimestampKind::Server, ts(10), ts(16), 3000);
    for (answer, member) in images {
        let server = Server::start(move |r: &Request| match r.path.as_str() {
            "/getDataEndpoint" => Reply::endpoint_of(r),
            _ => Reply::json(answer),
        })
        .await;
        let err = guarded(
            60,
            client(&server.url)
                .get_images(stream(), &request, Pagination::default())
                .try_collect::<Vec<_>>(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, ClientError::InvalidResponse { member: m, .. } if m == member),
            "{answer}: {err:?}"
        );
    }
}

/// What the models allow is read: null members, unknown members, no
/// result list at all, a token with padding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_within_the_models_are_read() {
    let server = Server::start(|r: &Request| match (r.path.as_str(), r.index) {
        ("/getDataEndpoint", _) => Reply::endpoint_of(r),
        (_, 1) => Reply::json(
            r#"{"Fragments":[{"FragmentNumber":"91343852333181432392682062607743920146159169392","FragmentSizeInBytes":null,"ServerTimestamp":1511852109.126,"Extra":[1]}],"NextToken":"YWI+/w==","Other":true}"#,
        ),
        _ => Reply::json(r#"{"NextToken":null}"#),
    })
    .await;
    let pages: Vec<_> = guarded(
        60,
        client(&server.url)
            .list_fragments(stream(), None, Pagination::default())
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].items[0].size_bytes, None);
    assert_eq!(
        pages[0].items[0].fragment_number.as_str(),
        "91343852333181432392682062607743920146159169392"
    );
    assert_eq!(pages[0].next_token.as_deref(), Some("YWI+/w=="));
    assert!(pages[1].items.is_empty());
    assert_eq!(server.requests()[2].json()["NextToken"], "YWI+/w==");
}

// ---------------------------------------------------------------------
// F.11: errors that say what happened.
// ---------------------------------------------------------------------

/// Broken chunked encoding in a GetMediaForFragmentList body is a
/// transport error (what hyper said), not a timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_chunked_encoding_is_reported_as_such() {
    let server = Server::start(|r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::with(
            200,
            Body::Raw(vec![Piece::Data(b"zz\r\nnot a chunk\r\n".to_vec())]),
        )
        .header("Transfer-Encoding", "chunked"),
    })
    .await;
    let got: Vec<_> = guarded(
        60,
        policy(&server.url, 2)
            .get_media_for_fragment_list(stream(), vec!["1".parse().unwrap()], Limits::default())
            .collect(),
    )
    .await;
    assert_eq!(got.len(), 1);
    let err = got[0].as_ref().unwrap_err();
    match cause(err) {
        e @ ClientError::Transport { endpoint, source } => {
            assert!(endpoint.ends_with("/getMediaForFragmentList"), "{endpoint}");
            // Display names the cause on one line...
            let message = e.to_string();
            assert!(message.to_lowercase().contains("chunk"), "{message}");
            // ...and the cause itself is kept: hyper's error, as the source.
            let kept = std::error::Error::source(e).and_then(|s| s.downcast_ref::<hyper::Error>());
            assert!(kept.is_some(), "no hyper::Error source: {e:?}");
            assert!(source.is::<hyper::Error>());
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.to_string().contains("timed out"), "{err}");
    assert_eq!(server.count("/getMediaForFragmentList"), 2);
}

/// A TLS handshake that stalls is ended by the connect timeout (which
/// covers TCP and TLS), not by the much longer call timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_tls_handshake_hits_the_connect_timeout() {
    let server = Server::mute().await;
    let https = format!("https://{}", server.addr);
    let mut c = config(&https);
    c.connect_timeout = Duration::from_millis(300);
    c.call_timeout = Duration::from_secs(120);
    c.retry.max_attempts = 2;
    let err = guarded(
        60,
        Client::new(c)
            .unwrap()
            .data_endpoint(&stream(), Api::GetMedia),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(cause(&err), ClientError::ConnectTimeout { after, .. } if *after == Duration::from_millis(300)),
        "{err:?}"
    );
    let expected = format!("connect (TCP+TLS) to {} timed out after 300ms", server.addr);
    assert!(err.to_string().contains(&expected), "{err}");
    assert_eq!(server.connections(), 2);
}

// ---------------------------------------------------------------------
// F rough edge: cumulative offsets and the reconnect view.
// ---------------------------------------------------------------------

/// A server whose first GetMedia body is `first`, cut (it claims 100
/// bytes more than it sends, then closes), whose second is `second`
/// whole, and whose later ones are empty.
async fn cut_then_whole(first: &[u8], second: &[u8]) -> Server {
    let (first, second) = (first.to_vec(), second.to_vec());
    Server::start(move |r: &Request| match (r.path.as_str(), r.index) {
        ("/getDataEndpoint", _) => Reply::endpoint_of(r),
        (_, 1) => Reply::with(
            200,
            Body::Declared(
                (first.len() + 100) as u64,
                vec![Piece::Data(first.clone()), Piece::Close],
            ),
        ),
        (_, 2) => Reply::with(200, Body::Full(second.clone())),
        _ => Reply::with(200, Body::Full(Vec::new())),
    })
    .await
}

/// Offsets count every byte of every session; `reconnects` and
/// `last_reconnect` say how often, why and from where.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offsets_are_cumulative_and_reconnects_are_visible() {
    let a = chunk("1001", Some("tok-1001"), 2);
    let b = chunk("1002", Some("tok-1002"), 2);
    let c = chunk("1003", Some("tok-1003"), 2);
    let cut = b.len() / 2;
    let first: Vec<u8> = [&a[..], &b[..cut]].concat();
    let second: Vec<u8> = [&b[..], &c[..]].concat();
    let server = cut_then_whole(&first, &second).await;
    let mut media = client(&server.url).get_media(
        stream(),
        StartSelector::Earliest,
        GetMediaOptions::default(),
    );
    assert_eq!(media.reconnects(), 0);
    let one = guarded(30, media.next()).await.unwrap().unwrap();
    assert_eq!((one.info().offset, media.reconnects()), (0, 0));
    assert!(media.last_reconnect().is_none());
    let two = guarded(30, media.next()).await.unwrap().unwrap();
    assert_eq!(two.info().offset, first.len() as u64);
    assert_eq!(two.info().length, b.len() as u64);
    assert_eq!(media.reconnects(), 1);
    let r = media.last_reconnect().unwrap();
    assert_eq!(
        r.selector,
        StartSelector::ContinuationToken("tok-1001".into())
    );
    assert!(
        matches!(&r.reason, ReconnectReason::Failed(e) if e.contains("/getMedia")),
        "{r:?}"
    );
    let three = guarded(30, media.next()).await.unwrap().unwrap();
    assert_eq!(three.info().offset, (first.len() + b.len()) as u64);
    assert!(guarded(30, media.next()).await.is_none());
    assert_eq!(media.reconnects(), 2);
    let r = media.last_reconnect().unwrap();
    assert_eq!(r.reason, ReconnectReason::SessionEnded);
    assert_eq!(
        r.selector,
        StartSelector::ContinuationToken("tok-1003".into())
    );
    assert_eq!(numbers(&[one, two, three]), ["1001", "1002", "1003"]);
}

/// The same with the frame-level stream: `Start` and `End` count every
/// byte of every session, and so does a decode error's offset (the second
/// session's third chunk is damaged). The expected offsets come from the
/// bodies as sent: an `EventDecoder` on the second body alone, moved by the
/// first body's length.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_and_error_offsets_are_cumulative() {
    use kvs_mkv::{Event, EventDecoder};
    use tokio_util::codec::Decoder;
    let a = chunk("1001", Some("tok-1001"), 2);
    let b = chunk("1002", Some("tok-1002"), 2);
    let mut c = chunk("1003", Some("tok-1003"), 2);
    // An EBML header ID where c's Segment begins: damage inside the chunk.
    let seg = c
        .windows(4)
        .position(|w| w == [0x18, 0x53, 0x80, 0x67])
        .unwrap();
    c[seg..seg + 4].copy_from_slice(&[0x1A, 0x45, 0xDF, 0xA4]);
    let cut = b.len() / 2;
    let first: Vec<u8> = [&a[..], &b[..cut]].concat();
    let second: Vec<u8> = [&b[..], &c[..]].concat();
    // What the second body decodes to alone: (starts, ends, error offsets).
    let mut alone = (Vec::new(), Vec::new(), Vec::new());
    let mut decoder = EventDecoder::default();
    let mut buf = bytes::BytesMut::from(&second[..]);
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(Event::Start(i))) => alone.0.push(i.offset),
            Ok(Some(Event::End(i))) => alone.1.push((i.offset, i.length)),
            Ok(Some(Event::Frame(_))) => {}
            Ok(None) => break,
            Err(kvs_mkv::Error::Decode(d)) => alone.2.push(d.offset),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(!alone.2.is_empty(), "the damage is found");
    let server = cut_then_whole(&first, &second).await;
    let mut events = client(&server.url).get_media_events(
        stream(),
        StartSelector::Earliest,
        GetMediaOptions::default(),
    );
    let (mut starts, mut ends, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(item) = guarded(30, events.next()).await {
        match item {
            Ok(Event::Start(i)) => starts.push(i.offset),
            Ok(Event::End(i)) => ends.push((i.offset, i.length)),
            Ok(Event::Frame(_)) => {}
            Err(ClientError::Decode(d)) => errors.push(d.offset),
            Err(e) => {
                clean(&e);
                break;
            }
        }
    }
    let base = first.len() as u64;
    // The first session gave a's events; b's cut half gave nothing whole.
    assert_eq!(starts[0], 0);
    assert_eq!(ends[0], (0, a.len() as u64));
    assert_eq!(
        starts[1..],
        alone.0.iter().map(|o| o + base).collect::<Vec<_>>()[..]
    );
    // (The client hands out only the chunks it counts as done: here b's,
    // not the 40 bytes of c before the damage.)
    let moved: Vec<_> = alone.1.iter().map(|&(o, l)| (o + base, l)).collect();
    assert_eq!(ends[1..], moved[..1]);
    let moved: Vec<_> = alone.2.iter().map(|o| o + base).collect();
    assert_eq!(errors, moved);
}

// ---------------------------------------------------------------------
// Issue H (client side): fragment-number order and the resume selector.
// ---------------------------------------------------------------------

/// After a cut, GetMedia resumes from the last complete chunk's
/// continuation token, preferred over its fragment number: the exact body
/// sent on reconnect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_sends_the_last_continuation_token() {
    let a = chunk("1001", Some("tok-1001.x_y"), 2);
    let b = chunk("1002", Some("tok-1002"), 2);
    let first: Vec<u8> = [&a[..], &b[..b.len() / 2]].concat();
    let server = Server::start(move |r: &Request| match (r.path.as_str(), r.index) {
        ("/getDataEndpoint", _) => Reply::endpoint_of(r),
        (_, 1) => Reply::with(
            200,
            Body::Chunked(vec![Piece::Data(first.clone()), Piece::Close]),
        ),
        (_, 2) => Reply::with(200, Body::Full(b.clone())),
        _ => Reply::with(200, Body::Full(Vec::new())),
    })
    .await;
    let got: Vec<Chunk> = guarded(
        30,
        client(&server.url)
            .get_media(
                stream(),
                StartSelector::Earliest,
                GetMediaOptions::default(),
            )
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(numbers(&got), ["1001", "1002"]);
    let media: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/getMedia")
        .map(Request::text)
        .collect();
    assert_eq!(
        media[0],
        r#"{"StartSelector":{"StartSelectorType":"EARLIEST"},"StreamName":"cam"}"#
    );
    assert_eq!(
        media[1],
        r#"{"StartSelector":{"StartSelectorType":"CONTINUATION_TOKEN","ContinuationToken":"tok-1001.x_y"},"StreamName":"cam"}"#
    );
}

/// A continuation token the models do not allow (here with a `/` and a
/// control character) is not sent back: the resume goes by fragment
/// number, instead of failing as an invalid request of the caller's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_outside_the_models_is_not_sent_back() {
    let a = chunk("1001", Some("bad/token\u{1b}"), 2);
    let b = chunk("1002", Some("tok-1002"), 2);
    let first: Vec<u8> = [&a[..], &b[..b.len() / 2]].concat();
    let server = Server::start(move |r: &Request| match (r.path.as_str(), r.index) {
        ("/getDataEndpoint", _) => Reply::endpoint_of(r),
        (_, 1) => Reply::with(
            200,
            Body::Chunked(vec![Piece::Data(first.clone()), Piece::Close]),
        ),
        (_, 2) => Reply::with(200, Body::Full(b.clone())),
        _ => Reply::with(200, Body::Full(Vec::new())),
    })
    .await;
    let got: Vec<Chunk> = guarded(
        30,
        client(&server.url)
            .get_media(
                stream(),
                StartSelector::Earliest,
                GetMediaOptions::default(),
            )
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(numbers(&got), ["1001", "1002"]);
    let resumed = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/getMedia")
        .nth(1)
        .unwrap()
        .text();
    assert_eq!(
        resumed,
        r#"{"StartSelector":{"StartSelectorType":"FRAGMENT_NUMBER","AfterFragmentNumber":"1001"},"StreamName":"cam"}"#
    );
}

/// A session that starts again with fragments already delivered (a replay
/// after a cut) skips exactly those, comparing fragment numbers by length
/// first: "1000" comes after "999", a 48-digit number after a 47-digit one,
/// a 128-digit one (the models' longest) after a 127-digit one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_fragments_are_skipped_by_numeric_order() {
    for (x, y, z) in [
        ("999".to_string(), "1000".to_string(), "1001".to_string()),
        (
            "9".repeat(47),
            format!("1{}", "0".repeat(47)),
            format!("1{}1", "0".repeat(46)),
        ),
        (
            "9".repeat(127),
            format!("1{}", "0".repeat(127)),
            format!("1{}1", "0".repeat(126)),
        ),
    ] {
        // GetMedia hands out a chunk only once its trailing tags (the
        // continuation token) are in.
        let token = |n: &str| format!("t{}", &n[n.len() - 3..]);
        let (cx, cy, cz) = (
            chunk(&x, Some(&token(&x)), 2),
            chunk(&y, Some(&token(&y)), 2),
            chunk(&z, Some(&token(&z)), 2),
        );
        let first: Vec<u8> = [&cx[..], &cy[..cy.len() / 2]].concat();
        let replay: Vec<u8> = [&cx[..], &cy[..], &cz[..]].concat();
        let server = Server::start(move |r: &Request| match (r.path.as_str(), r.index) {
            ("/getDataEndpoint", _) => Reply::endpoint_of(r),
            (_, 1) => Reply::with(
                200,
                Body::Chunked(vec![Piece::Data(first.clone()), Piece::Close]),
            ),
            (_, 2) => Reply::with(200, Body::Full(replay.clone())),
            _ => Reply::with(200, Body::Full(Vec::new())),
        })
        .await;
        let got: Vec<Chunk> = guarded(
            30,
            client(&server.url)
                .get_media(
                    stream(),
                    StartSelector::Earliest,
                    GetMediaOptions::default(),
                )
                .try_collect(),
        )
        .await
        .unwrap();
        assert_eq!(numbers(&got), [x.clone(), y.clone(), z.clone()]);
        let resumed = server
            .requests()
            .into_iter()
            .filter(|r| r.path == "/getMedia")
            .nth(1)
            .unwrap()
            .json();
        assert_eq!(resumed["StartSelector"]["ContinuationToken"], token(&x));
    }
}

/// `sort_fragments` orders by numeric value (length first) and drops
/// duplicates, up to the models' 128 digits; by producer timestamp, equal
/// times go by fragment number.
#[test]
fn sort_fragments_compares_lengths_first() {
    let n47 = "9".repeat(47);
    let n48 = format!("1{}", "0".repeat(47));
    let n127 = "9".repeat(127);
    let n128 = format!("1{}", "0".repeat(127));
    let input: Vec<Fragment> = [
        "1000", &n128, &n48, "999", &n127, &n47, "1000", "5", &n128, "999",
    ]
    .iter()
    .map(|n| Fragment::new(n.parse().unwrap()))
    .collect();
    let sorted = sort_fragments(input.clone(), FragmentOrder::FragmentNumber);
    let got: Vec<&str> = sorted.iter().map(|f| f.fragment_number.as_str()).collect();
    let want = ["5", "999", "1000", &n47, &n48, &n127, &n128];
    assert_eq!(got, want);

    let same_time = input
        .into_iter()
        .map(|mut f| {
            f.producer_timestamp = Timestamp::new(7, 0);
            f
        })
        .collect();
    let sorted = sort_fragments(same_time, FragmentOrder::ProducerTimestamp);
    let got: Vec<&str> = sorted.iter().map(|f| f.fragment_number.as_str()).collect();
    assert_eq!(got, want);
}

/// A GetImages answer that never ends is cut at the most a legitimate page
/// can hold: at most 25 images (the service's page limit, whatever
/// MaxResults says) of at most 6 MiB each, plus the JSON cap. With no page
/// size, the models' MaxResults maximum (100) must not make the cap 600 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_get_images_answer_stops_at_25_images() {
    let server = Server::start(|r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::with(
            200,
            Body::Chunked(vec![
                Piece::Data(br#"{"Images":[{"TimeStamp":10,"ImageContent":""#.to_vec()),
                Piece::Forever(b"QUFB".repeat(1 << 16), Duration::ZERO),
            ]),
        ),
    })
    .await;
    let ts = |s: u64| Timestamp::new(s, 0).unwrap();
    let request = GetImagesRequest::new(TimestampKind::Server, ts(10), ts(16), 3000);
    let err = guarded(120, async {
        client(&server.url)
            .get_images(stream(), &request, Pagination::default())
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err()
    })
    .await;
    match &err {
        ClientError::BodyTooLarge { limit, .. } => {
            assert_eq!(*limit, (4 << 20) + 25 * ((6 << 20) + 1024));
        }
        other => panic!("expected BodyTooLarge, got {other:?}"),
    }
}

// ---------------------------------------------------------------------
// A response head is capped too.
// ---------------------------------------------------------------------

/// hyper's reads are capped at 32 KiB (src/client/mod.rs), which also
/// caps a response's head: hyper stops once it holds 32 KiB with no end
/// of the head in it, so a head that the read crossing 32 KiB completes
/// still passes (40 KB did here, 60 KB did not). A head of 20 KB is
/// read; one of 100 KB, which hyper's
/// default limit (about 400 KiB) lets through, or of 8 MiB (a server
/// that never ends its headers) is a transport error, not a buffer grown
/// to whatever the server sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_response_head_is_refused() {
    async fn ask(filler: usize) -> (Result<String, ClientError>, usize) {
        let server = Server::start(move |req: &Request| {
            Reply::endpoint_of(req).header("X-Filler", &"a".repeat(filler))
        })
        .await;
        let mut c = config(&server.url);
        c.retry.max_attempts = 1;
        let got = guarded(
            60,
            Client::new(c)
                .unwrap()
                .data_endpoint(&stream(), Api::GetMedia),
        )
        .await;
        (got, server.total())
    }

    let (small, calls) = ask(20_000).await;
    assert!(small.is_ok(), "{small:?}");
    assert_eq!(calls, 1);
    for filler in [100_000, 8 << 20] {
        let started = Instant::now();
        let (got, calls) = ask(filler).await;
        let err = got.unwrap_err();
        clean(&err);
        assert!(
            matches!(cause(&err), ClientError::Transport { .. }),
            "{filler}: {err:?}"
        );
        assert!(err.to_string().contains("too large"), "{filler}: {err}");
        assert_eq!(calls, 1, "{filler}");
        eprintln!("a {filler}-byte header refused in {:?}", started.elapsed());
    }
}
