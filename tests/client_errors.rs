//! Typed client errors (issue G): a request the service would refuse, a
//! configuration that cannot work and a request that cannot be signed each
//! have their own variant, found before anything is sent; the causes of
//! transport errors are kept as `source()`; no secret appears in any of
//! them.

mod hostile_support;

use std::error::Error as _;

use futures::TryStreamExt;
use hostile_support::{config, guarded, stream, Reply, Request, Server, SECRET};
use kvs_mkv::client::{
    Api, Client, ClientConfig, ClientError, ConfigError, FragmentSelector, GetImagesRequest,
    GetMediaOptions, InvalidRequest, Pagination, StartSelector, StreamId, TimestampKind,
};
use kvs_mkv::sigv4::{Credentials, SigningError};
use kvs_mkv::{Limits, Timestamp};

/// A server that answers nothing useful: the tests check it is never called.
async fn idle_server() -> Server {
    Server::start(|_: &Request| Reply::error(500, "InternalFailure")).await
}

fn ts(secs: u64) -> Timestamp {
    Timestamp::new(secs, 0).unwrap()
}

fn invalid(e: ClientError) -> InvalidRequest {
    match e {
        ClientError::InvalidRequest(i) => i,
        other => panic!("not an invalid request: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_are_typed_and_not_sent() {
    let server = idle_server().await;
    let client = Client::new(config(&server.url)).unwrap();
    let pages =
        |s: StreamId, p: Pagination| client.list_fragments(s, None, p).try_collect::<Vec<_>>();

    let e = pages(StreamId::Name("no spaces".into()), Pagination::default())
        .await
        .unwrap_err();
    assert_eq!(
        invalid(e),
        InvalidRequest::StreamName {
            name: "no spaces".into()
        }
    );

    let e = pages(
        StreamId::Arn("arn:aws:s3:::bucket".into()),
        Pagination::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(invalid(e), InvalidRequest::StreamArn { .. }));

    let page = Pagination {
        page_size: Some(1001),
        ..Pagination::default()
    };
    let e = pages(stream(), page).await.unwrap_err();
    assert_eq!(
        invalid(e),
        InvalidRequest::PageSize {
            size: 1001,
            max: 1000
        }
    );

    let none = Pagination {
        max_items: Some(0),
        ..Pagination::default()
    };
    assert_eq!(
        invalid(pages(stream(), none).await.unwrap_err()),
        InvalidRequest::MaxItems
    );

    let backwards = FragmentSelector {
        kind: TimestampKind::Server,
        start: ts(20),
        end: ts(10),
    };
    let e = client
        .list_fragments(stream(), Some(backwards), Pagination::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(
        invalid(e),
        InvalidRequest::TimeRange {
            start: ts(20),
            end: ts(10)
        }
    );

    let list = |f: Vec<kvs_mkv::FragmentNumber>| {
        client
            .get_media_for_fragment_list(stream(), f, Limits::default())
            .try_collect::<Vec<_>>()
    };
    assert_eq!(
        invalid(list(vec![]).await.unwrap_err()),
        InvalidRequest::NoFragments
    );

    let mut media = client.get_media(
        stream(),
        StartSelector::ContinuationToken("bad token".into()),
        GetMediaOptions::default(),
    );
    let e = futures::StreamExt::next(&mut media)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(
        invalid(e),
        InvalidRequest::ContinuationToken {
            token: "bad token".into()
        }
    );

    let mut images = GetImagesRequest::new(TimestampKind::Server, ts(10), ts(20), 3000);
    images.width = Some(640);
    let e = client
        .get_images(stream(), &images, Pagination::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(invalid(e), InvalidRequest::WidthWithoutHeight);
    images.width = None;
    images.sampling_interval_ms = 100;
    let e = client
        .get_images(stream(), &images, Pagination::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(invalid(e), InvalidRequest::SamplingInterval { ms: 100 });

    assert_eq!(server.total(), 0, "a refused request was sent");
}

#[test]
fn configuration_errors_are_found_when_the_client_is_built() {
    let creds = || Credentials::new("AKIDEXAMPLE", SECRET);
    let bad_region = Client::new(ClientConfig::new("us west 2", creds())).unwrap_err();
    assert!(
        matches!(&bad_region, ClientError::Config(ConfigError::Region { region }) if region == "us west 2"),
        "{bad_region:?}"
    );
    let bad_url =
        ClientConfig::new("us-west-2", creds()).with_endpoint_url("ftp://user:hunter2@127.0.0.1:1");
    let e = Client::new(bad_url).unwrap_err();
    assert!(
        matches!(&e, ClientError::Config(ConfigError::EndpointUrl { .. })),
        "{e:?}"
    );
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("user:***@127.0.0.1"), "{shown}");
    for url in ["127.0.0.1:8080", "http://", "http://h/?a=1"] {
        let c = ClientConfig::new("us-west-2", creds()).with_endpoint_url(url);
        assert!(
            matches!(
                Client::new(c),
                Err(ClientError::Config(ConfigError::EndpointUrl { .. }))
            ),
            "{url}"
        );
    }
}

/// Credentials that cannot be put into a signature (a session token with a
/// space): a signing error, with the signer's error as its source, not a
/// configuration error; not retried, not sent, and the token is not shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_failure_is_its_own_error() {
    let server = idle_server().await;
    let mut c = config(&server.url);
    c.credentials = Credentials::new("AKIDEXAMPLE", SECRET)
        .with_session_token("FQoG token")
        .into();
    let e = guarded(
        60,
        Client::new(c)
            .unwrap()
            .data_endpoint(&stream(), Api::GetMedia),
    )
    .await
    .unwrap_err();
    match &e {
        ClientError::Signing { endpoint, source } => {
            assert!(endpoint.ends_with("/getDataEndpoint"), "{endpoint}");
            assert!(matches!(source, SigningError::InvalidParameter { .. }));
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_retryable());
    assert!(e.source().is_some_and(|s| s.is::<SigningError>()));
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains("FQoG") && !shown.contains(SECRET),
        "{shown}"
    );
    assert_eq!(server.total(), 0);
}

/// A refused connection: a transport error whose source chain ends in the
/// I/O error, and whose one-line Display names it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_errors_keep_their_cause() {
    // A port nobody listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut c = config(&format!("http://127.0.0.1:{port}"));
    c.retry.max_attempts = 1;
    let e = guarded(
        60,
        Client::new(c)
            .unwrap()
            .data_endpoint(&stream(), Api::GetMedia),
    )
    .await
    .unwrap_err();
    let ClientError::RetriesExhausted { last, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(matches!(**last, ClientError::Transport { .. }), "{last:?}");
    assert!(last.is_retryable());
    let mut io = None;
    let mut source = last.source();
    while let Some(s) = source {
        if let Some(i) = s.downcast_ref::<std::io::Error>() {
            io = Some(i.kind());
        }
        source = s.source();
    }
    assert_eq!(io, Some(std::io::ErrorKind::ConnectionRefused), "{last:?}");
    let line = last.to_string();
    assert!(!line.contains('\n'), "{line}");
    assert!(line.to_lowercase().contains("refused"), "{line}");
}
