//! Attack 53: an outsider's odd values for the client's configuration and
//! the emulator's options.
//!
//! - An endpoint override with user info (`http://user:password@host`) is
//!   a configuration error found when the client is built, as any other
//!   endpoint URL the calls cannot use, with the password not shown; it
//!   was accepted, and every call then failed to sign with the URL,
//!   password included, in the error.
//! - An emulator `base_time` whose timestamps the service could not have
//!   (past the year 9999, where boto3's datetimes end and the models'
//!   epoch seconds are long out of range) is refused at start-up; it was
//!   served, its milliseconds cut to 64 bits, so that ListFragments
//!   answered timestamps that were neither the base time asked for nor
//!   within the models (the crate's own client refused them).
//! - A GetImages time range longer than 300 seconds (the service's
//!   documented limit, which the emulator enforces: IllegalArgument) is
//!   refused before anything is sent, as `get_images` promises for every
//!   request the service would refuse; it was sent.
//! - Emulator time limits too long for an `Instant` (`Duration::MAX`, or
//!   `serve --header-read-timeout 1e19`, when 0 is the documented "no
//!   limit" and a huge number reads as "practically none") panicked in the
//!   connection's task (`since + d`): with the header read timeout every
//!   call failed, with the keep-alive timeout every connection died after
//!   its first answer, and `end-session-after` ended every GetMedia
//!   session before its first chunk. They are no limit now.
//! - A FIFO named like an image in an `images` directory: start-up opened
//!   it and waited for a writer forever. It is an error naming the file.

mod common;
mod hostile_support;

use std::time::{Duration, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use hostile_support::{Reply, Request, Server};
use kvs_mkv::client::{
    Client, ClientConfig, ClientError, ConfigError, GetImagesRequest, Pagination, StreamId,
    TimestampKind,
};
use kvs_mkv::emulator::Emulator;
use kvs_mkv::sigv4::Credentials;

const PASSWORD: &str = "hunter2-endpoint";

#[tokio::test]
async fn an_endpoint_url_with_user_info_is_a_configuration_error() {
    for url in [
        format!("http://user:{PASSWORD}@127.0.0.1:1"),
        format!("https://user:{PASSWORD}@example.com/"),
        "http://someone@127.0.0.1:1/".to_string(),
    ] {
        let config = ClientConfig::new("us-west-2", Credentials::new("AKIDEXAMPLE", "secret"))
            .with_endpoint_url(&url);
        match Client::new(config) {
            Err(ClientError::Config(ConfigError::EndpointUrl { url: shown })) => {
                assert!(!shown.contains(PASSWORD), "{url}: shown as {shown}");
            }
            Err(other) => panic!("{url}: not an endpoint URL error: {other:?}"),
            Ok(client) => {
                // What the caller got instead: a call that cannot be made.
                let e = client
                    .list_fragments(StreamId::Name("cam".into()), None, Pagination::default())
                    .try_collect::<Vec<_>>()
                    .await
                    .unwrap_err();
                panic!(
                    "{url} was accepted; a call then failed with {e} (password shown: {})",
                    e.to_string().contains(PASSWORD)
                );
            }
        }
    }
}

/// The generated timeline of a plain Matroska file, from `base`: refused
/// at start-up, or served with the first fragment at `base` and answers
/// the client takes.
async fn serve_from(base: Duration) -> Result<u64, String> {
    let clip = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/source/clip-h264.mkv"
    ))
    .unwrap();
    let mut options = kvs_mkv::emulator::Options::default();
    options.base_time = Some(UNIX_EPOCH + base);
    let emulator = match Emulator::builder()
        .stream("plain", clip)
        .options(options)
        .start("127.0.0.1:0")
        .await
    {
        Ok(e) => e,
        Err(e) => return Err(e.to_string()),
    };
    let config = ClientConfig::new(emulator.region(), emulator.credentials().clone())
        .with_endpoint_url(emulator.url());
    let client = Client::new(config).unwrap();
    let pages = tokio::time::timeout(
        Duration::from_secs(60),
        client
            .list_fragments(StreamId::Name("plain".into()), None, Pagination::default())
            .try_collect::<Vec<_>>(),
    )
    .await
    .expect("ListFragments within 60 s");
    emulator.shutdown().await;
    let pages = pages
        .unwrap_or_else(|e| panic!("base time {base:?} was served, but its listing fails: {e}"));
    let first = pages
        .iter()
        .flat_map(|p| &p.items)
        .filter_map(|f| f.producer_timestamp)
        .map(|t| t.as_millis())
        .min()
        .expect("fragments with producer timestamps");
    Ok(first as u64)
}

#[tokio::test]
async fn a_base_time_past_the_year_9999_is_refused() {
    // The last second of 9999 is served as asked.
    let last = 253_402_300_799;
    let first = serve_from(Duration::from_secs(last)).await.unwrap();
    assert!(
        (last * 1000..last * 1000 + 10_000).contains(&first),
        "first fragment at {first} ms"
    );
    for secs in [1_000_000_000_000_000, 18_446_744_073_709_551, last + 1] {
        match serve_from(Duration::from_secs(secs)).await {
            Err(message) => assert!(
                message.contains("base time"),
                "{secs}: refused, but the message does not say why: {message}"
            ),
            Ok(first) => panic!("base time {secs} s served with its first fragment at {first} ms"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_images_range_over_300_seconds_is_not_sent() {
    let server = Server::start(|r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::json(r#"{"Images":[]}"#),
    })
    .await;
    let client = hostile_support::client(&server.url);
    let ts = |ms: u64| kvs_mkv::Timestamp::new(ms / 1000, (ms % 1000) as u32 * 1_000_000).unwrap();
    let images = |start: u64, end: u64| {
        let request = GetImagesRequest::new(TimestampKind::Server, ts(start), ts(end), 3000);
        client
            .get_images(hostile_support::stream(), &request, Pagination::default())
            .try_collect::<Vec<_>>()
    };
    let base = 1_700_000_000_000;
    // 300 s exactly: the service's limit, sent.
    let pages = hostile_support::guarded(60, images(base, base + 300_000))
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    let sent = server.total();
    assert!(sent >= 1, "{sent}");
    // A millisecond more, and an hour: refused here, not sent.
    for end in [base + 300_001, base + 3_600_000] {
        match hostile_support::guarded(60, images(base, end)).await {
            Err(ClientError::InvalidRequest(e)) => {
                assert!(e.to_string().contains("300"), "{e}");
            }
            other => panic!("{} ms range: {other:?}", end - base),
        }
        assert_eq!(
            server.total(),
            sent,
            "a call was made for a {} ms range",
            end - base
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_limits_too_long_for_an_instant_are_no_limits() {
    use kvs_mkv::client::{GetMediaOptions, StartSelector};
    use kvs_mkv::emulator::{Fault, Operation};
    let sample =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample.mkv")).unwrap();
    let mut options = kvs_mkv::emulator::Options::default();
    options.header_read_timeout = Some(Duration::MAX);
    options.keep_alive_timeout = Some(Duration::MAX);
    options.write_stall_timeout = Some(Duration::MAX);
    options.idle_timeout = Duration::from_millis(200);
    options.faults =
        vec![Fault::end_session_after(Duration::MAX).operations(&[Operation::GetMedia])];
    let emulator = Emulator::builder()
        .stream("cam", sample)
        .options(options)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let config = ClientConfig::new(emulator.region(), emulator.credentials().clone())
        .with_endpoint_url(emulator.url());
    let client = Client::new(config).unwrap();
    let cam = || StreamId::Name("cam".into());
    // Twice: the second call on a connection kept alive.
    for call in 0..2 {
        let pages = hostile_support::guarded(
            120,
            client
                .list_fragments(cam(), None, Pagination::default())
                .try_collect::<Vec<_>>(),
        )
        .await
        .unwrap_or_else(|e| panic!("ListFragments {call}: {e}"));
        assert_eq!(pages.iter().map(|p| p.items.len()).sum::<usize>(), 3);
    }
    let chunks: Vec<_> = hostile_support::guarded(
        120,
        client
            .get_media(cam(), StartSelector::Earliest, GetMediaOptions::default())
            .collect::<Vec<_>>(),
    )
    .await;
    let ok = chunks.iter().filter(|c| c.is_ok()).count();
    assert_eq!(ok, 3, "{chunks:?}");
    emulator.shutdown().await;
}

#[test]
fn a_fifo_among_the_images_is_an_error_not_a_hang() {
    let dir = common::scratch_dir("attack53-images-fifo");
    std::fs::write(dir.join("0.png"), "png at 0").unwrap();
    let fifo = dir.join("1000.jpg");
    common::mkfifo(&fifo);
    let (tx, rx) = std::sync::mpsc::channel();
    let images = dir.clone();
    // A thread of its own: a blocked open cannot be timed out from its task.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = rt.block_on(async {
            let sample =
                std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample.mkv")).unwrap();
            match Emulator::builder()
                .stream("cam", sample)
                .images("cam", &images)
                .start("127.0.0.1:0")
                .await
            {
                Ok(e) => {
                    e.shutdown().await;
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        });
        let _ = tx.send(started);
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Err(message)) => assert!(message.contains("1000.jpg"), "{message}"),
        Ok(Ok(())) => panic!("started with a FIFO among its images"),
        Err(_) => panic!("start-up still waiting on the FIFO after 60 s"),
    }
}
