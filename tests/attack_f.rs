//! Issue F attacked from outside, after the fixes: a hostile server against
//! the client and the service commands, bad input to the command line and
//! the decoders. Each test that names a bug failed on the code before its
//! fix; the others are the strongest attacks that held, kept as guards.

mod common;
mod hostile_support;

use std::time::Duration;

use bytes::BytesMut;
use common::ebml::*;
use futures::{StreamExt, TryStreamExt};
use hostile_support::{
    chunk, client, config, guarded, stream, Body, Piece, Reply, Request, Server,
};
use kvs_mkv::client::{Api, Client, ClientError, GetMediaOptions, Pagination, StartSelector};
use kvs_mkv::{ChunkDecoder, DecodeErrorKind, Error, Event, EventDecoder, FragmentNumber, Limits};
use tokio_util::codec::Decoder;

// ---------------------------------------------------------------------
// A hostile server against the client.
// ---------------------------------------------------------------------

/// BUG (fixed): GetMediaForFragmentList handed out every chunk the body
/// held, however many fragments were asked for: a server answering one
/// fragment with an endless run of chunks made the stream (and
/// `get-media-for-fragment-list --save`) go on forever. A call's answer
/// holds at most the fragments it asked for; the stream ends with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragment_list_ends_with_the_fragments_asked_for() {
    let one = chunk("1001", None, 2);
    let server = Server::start(move |r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        _ => Reply::with(
            200,
            Body::Chunked(vec![Piece::Forever(one.clone(), Duration::from_millis(1))]),
        ),
    })
    .await;
    for asked in [vec!["1001"], vec!["1001", "1001", "1001"]] {
        let asked: Vec<FragmentNumber> = asked.into_iter().map(|n| n.parse().unwrap()).collect();
        let n = asked.len();
        let got: Vec<_> = guarded(
            60,
            client(&server.url)
                .get_media_for_fragment_list(stream(), asked, Limits::default())
                // Far more than asked: what an unbounded answer gives.
                .take(50)
                .collect(),
        )
        .await;
        assert_eq!(got.len(), n, "{n} fragments asked for");
        assert!(got.iter().all(Result::is_ok));
    }
    assert_eq!(server.count("/getMediaForFragmentList"), 2);
}

/// BUG (fixed): a timeout of `Duration::MAX` (the natural way to say "no
/// timeout") panicked with "overflow when adding duration to instant" in
/// every call (`call_timeout`), in GetMedia sessions (`chunk_timeout`,
/// `idle_timeout`) and in GetMediaForFragmentList (`read_timeout`,
/// `chunk_timeout`). It now means "no deadline".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_of_duration_max_mean_no_deadline() {
    let media = [
        chunk("1001", Some("1001"), 2),
        chunk("1002", Some("1002"), 2),
    ]
    .concat();
    let server = Server::start(move |r: &Request| match r.path.as_str() {
        "/getDataEndpoint" => Reply::endpoint_of(r),
        "/listFragments" => Reply::json(r#"{"Fragments":[{"FragmentNumber":"1001"}]}"#),
        _ => Reply::with(200, Body::Full(media.clone())),
    })
    .await;
    let mut c = config(&server.url);
    c.call_timeout = Duration::MAX;
    c.read_timeout = Duration::MAX;
    c.chunk_timeout = Duration::MAX;
    let client = Client::new(c).unwrap();

    let pages: Vec<_> = guarded(
        60,
        client
            .list_fragments(stream(), None, Pagination::default())
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(pages[0].items.len(), 1);

    let mut options = GetMediaOptions::default();
    options.idle_timeout = Some(Duration::MAX);
    let chunks: Vec<_> = guarded(
        60,
        client
            .get_media(stream(), StartSelector::Earliest, options)
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(chunks.len(), 2);

    let listed: Vec<_> = guarded(
        60,
        client
            .get_media_for_fragment_list(
                stream(),
                vec!["1001".parse().unwrap(), "1002".parse().unwrap()],
                Limits::default(),
            )
            .try_collect(),
    )
    .await
    .unwrap();
    assert_eq!(listed.len(), 2);
}

/// BUG (fixed): a DataEndpoint with a `#fragment` passed the model check,
/// and since the call's path is appended after it, every call went to `/`
/// (the path fell into the fragment); one with user info in it
/// (`http://user:pass@host`) passed too, then failed as a *configuration*
/// error ("cannot sign a request", exit status 2) instead of a bad answer.
/// Both are answers outside the models: `InvalidResponse` naming
/// `DataEndpoint`, no data-plane call made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_endpoint_with_a_fragment_or_user_info_is_refused() {
    for shape in ["{url}/#x", "{url}#x", "http://user:secret@{host}"] {
        let server = Server::start(move |r: &Request| {
            let url = shape
                .replace("{url}", &r.server)
                .replace("{host}", r.server.trim_start_matches("http://"));
            Reply::json(format!(r#"{{"DataEndpoint":"{url}"}}"#))
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
        assert!(
            matches!(&err, ClientError::InvalidResponse { member, endpoint, .. }
                if member == "DataEndpoint" && endpoint.ends_with("/getDataEndpoint")),
            "{shape}: {err:?}"
        );
        assert_eq!(
            server.total(),
            1,
            "{shape}: only GetDataEndpoint was called"
        );
        let err = guarded(
            60,
            client(&server.url).data_endpoint(&stream(), Api::GetMedia),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, ClientError::InvalidResponse { .. }),
            "{err:?}"
        );
    }
}

/// Held: response heads that never settle. An endless run of `100
/// Continue` heads, 5000 headers, a 1 MB header: each attempt ends (the
/// call timeout, or hyper's limit on a head), each attempt is one call,
/// and the operation gives up after its budget with one error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_of_heads_end_within_one_budget() {
    let flood: Vec<(String, String)> = (0..5000)
        .map(|i| (format!("x-flood-{i}"), "v".to_string()))
        .collect();
    let replies = [
        Reply::with(
            100,
            Body::Raw(vec![Piece::Forever(
                b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
                Duration::ZERO,
            )]),
        ),
        Reply::Answer {
            status: 200,
            headers: flood,
            body: Body::Full(b"{}".to_vec()),
        },
        Reply::json("{}").header("x-big", &"a".repeat(1 << 20)),
    ];
    for reply in replies {
        let server = Server::start(move |r: &Request| match r.path.as_str() {
            "/getDataEndpoint" => Reply::endpoint_of(r),
            _ => reply.clone(),
        })
        .await;
        let mut c = config(&server.url);
        c.call_timeout = Duration::from_secs(2);
        c.retry.max_attempts = 3;
        let err = guarded(
            120,
            Client::new(c)
                .unwrap()
                .list_fragments(stream(), None, Pagination::default())
                .try_collect::<Vec<_>>(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, ClientError::RetriesExhausted { attempts: 3, last, .. }
                if !matches!(**last, ClientError::RetriesExhausted { .. })),
            "{err:?}"
        );
        assert_eq!(server.count("/listFragments"), 3, "{err}");
    }
}

// ---------------------------------------------------------------------
// The decoders at small limits, a byte at a time.
// ---------------------------------------------------------------------

const SMALL: u64 = 4096;

fn small_limits() -> Limits {
    let mut l = Limits::default();
    l.max_chunk_size = SMALL;
    l.max_element_size = SMALL;
    l
}

fn track_head() -> Vec<u8> {
    concat(&[
        open_unknown(SEGMENT, 1),
        info(1_000_000),
        el(TRACKS, &video_track(1, "V_MPEG4/ISO/AVC", &[1], 64, 48)),
    ])
}

/// A whole chunk: a Segment and a Cluster of known size, these frames.
fn whole_chunk(frames: &[&[u8]]) -> Vec<u8> {
    let blocks: Vec<Vec<u8>> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| simple_block(1, i as i16, i == 0, f))
        .collect();
    let cluster = el(
        CLUSTER,
        &concat(&[vec![uint(TIMECODE, 0)], blocks].concat()),
    );
    concat(&[
        ebml_header(),
        el(
            SEGMENT,
            &concat(&[
                info(1_000_000),
                el(TRACKS, &video_track(1, "V_MPEG4/ISO/AVC", &[1], 64, 48)),
                cluster,
            ]),
        ),
    ])
}

/// What came out: frames of complete and incomplete chunks, and errors.
#[derive(Debug, Default, PartialEq)]
struct Seen {
    chunks: Vec<(bool, Vec<Vec<u8>>)>,
    errors: Vec<DecodeErrorKind>,
    most_buffered: usize,
}

fn feed_bytes<D: Decoder<Error = Error>>(
    input: &[u8],
    decoder: &mut D,
    mut take: impl FnMut(D::Item, &mut Seen),
) -> Seen {
    let mut seen = Seen::default();
    let mut buf = BytesMut::new();
    for (i, byte) in input.iter().enumerate() {
        buf.extend_from_slice(&[*byte]);
        let eof = i + 1 == input.len();
        loop {
            let r = if eof {
                decoder.decode_eof(&mut buf)
            } else {
                decoder.decode(&mut buf)
            };
            seen.most_buffered = seen.most_buffered.max(buf.len());
            match r {
                Ok(Some(item)) => take(item, &mut seen),
                Ok(None) => break,
                Err(Error::Decode(e)) => seen.errors.push(e.kind),
                Err(e) => panic!("{e}"),
            }
        }
    }
    seen
}

fn chunks_bytewise(input: &[u8]) -> Seen {
    feed_bytes(
        input,
        &mut ChunkDecoder::with_limits(small_limits()),
        |c, s| {
            let frames = c.frames().iter().map(|f| f.data().to_vec()).collect();
            s.chunks.push((c.is_complete(), frames));
        },
    )
}

fn events_bytewise(input: &[u8]) -> Seen {
    let mut frames = Vec::new();
    feed_bytes(
        input,
        &mut EventDecoder::with_limits(small_limits()),
        |e, s| match e {
            Event::Frame(f) => frames.push(f.data().to_vec()),
            Event::End(info) => s.chunks.push((info.complete, std::mem::take(&mut frames))),
            Event::Start(_) => {}
        },
    )
}

/// Held: at a 4 KiB chunk limit, fed one byte at a time: level-0 Voids and
/// CRC-32s of known size before the Segment and between chunks (200 KB
/// of them, fifty times the limit) are skipped and never buffered; an
/// endless Cluster of tiny blocks is cut at the limit with one
/// `ChunkTooLarge`, its tail dropped as it comes; the chunk after it is
/// whole. Both decoders see the same, and neither ever holds more than
/// the limit plus the byte just fed.
#[test]
fn level0_padding_and_endless_clusters_bytewise_at_small_limits() {
    let void = el(VOID, &[]);
    let crc = el(CRC32, &[1, 2, 3, 4]);
    let padding: Vec<u8> = (0..40_000)
        .flat_map(|i| {
            if i % 2 == 0 {
                void.clone()
            } else {
                crc.clone()
            }
        })
        .collect();
    let first = whole_chunk(&[b"first", b"chunk"]);
    let padded_head = concat(&[
        ebml_header(),
        el(VOID, &[0; 100]),
        el(CRC32, &[9; 4]),
        track_head(),
    ]);
    let endless_cluster = {
        let mut c = concat(&[padded_head, open_unknown(CLUSTER, 1), uint(TIMECODE, 0)]);
        while c.len() < 12 * SMALL as usize {
            c.extend(simple_block(1, 0, false, b"z"));
        }
        c
    };
    let last = whole_chunk(&[b"last", b"one"]);
    let input = concat(&[
        first.clone(),
        padding.clone(),
        endless_cluster,
        padding,
        last,
    ]);

    let chunks = chunks_bytewise(&input);
    let events = events_bytewise(&input);
    for (name, seen) in [("ChunkDecoder", &chunks), ("EventDecoder", &events)] {
        assert_eq!(
            seen.errors.len(),
            1,
            "{name}: one error, for the endless Cluster: {:?}",
            seen.errors
        );
        assert!(
            matches!(seen.errors[0], DecodeErrorKind::ChunkTooLarge { .. }),
            "{name}: {:?}",
            seen.errors
        );
        assert!(
            seen.most_buffered <= SMALL as usize + 1,
            "{name}: {} bytes buffered",
            seen.most_buffered
        );
        let whole: Vec<_> = seen.chunks.iter().filter(|c| c.0).collect();
        assert_eq!(
            whole,
            [
                &(true, vec![b"first".to_vec(), b"chunk".to_vec()]),
                &(true, vec![b"last".to_vec(), b"one".to_vec()])
            ],
            "{name}"
        );
        assert_eq!(seen.chunks.len(), 3, "{name}: the cut chunk between");
        assert!(!seen.chunks[1].0 && !seen.chunks[1].1.is_empty(), "{name}");
    }
    // (The cut chunk's frames differ: a ChunkDecoder also counts 128 bytes
    // for each frame it keeps, an EventDecoder keeps none.)
}
