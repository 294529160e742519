//! Regression tests for the findings of a code review (each failed before
//! its fix): lacing amplification, huge skipped elements in streaming mode,
//! known-size Segments, and the GetMedia / GetMediaForFragmentList /
//! pagination client against a small fake service.
mod common;

use bytes::BytesMut;
use common::ebml::*;
use kvs_mkv::{ChunkDecoder, Event, EventDecoder};
use tokio_util::codec::Decoder;

fn head() -> Vec<u8> {
    concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1_000_000),
        el(
            TRACKS,
            &video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
        ),
    ])
}

fn tagged_head(fragment: &str) -> Vec<u8> {
    concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1_000_000),
        el(
            TRACKS,
            &video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
        ),
        tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", fragment)], 4),
    ])
}

fn chunks_of(input: &[u8]) -> (Vec<kvs_mkv::Chunk>, Vec<String>) {
    let mut d = ChunkDecoder::default();
    let mut buf = BytesMut::from(input);
    let (mut chunks, mut errors) = (Vec::new(), Vec::new());
    loop {
        match d.decode_eof(&mut buf) {
            Ok(Some(c)) => chunks.push(c),
            Ok(None) => break,
            Err(e) => errors.push(e.to_string()),
        }
    }
    (chunks, errors)
}

fn events_of(input: &[u8], piece: usize) -> (Vec<Event>, Vec<String>) {
    let mut d = EventDecoder::default();
    let mut buf = BytesMut::new();
    let (mut events, mut errors) = (Vec::new(), Vec::new());
    for p in input.chunks(piece) {
        buf.extend_from_slice(p);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(e)) => events.push(e),
                Ok(None) => break,
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    loop {
        match d.decode_eof(&mut buf) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => break,
            Err(e) => errors.push(e.to_string()),
        }
    }
    (events, errors)
}

/// R1: a 7-byte SimpleBlock with fixed lacing and a lace count of 256 is
/// 256 empty frames. What the decoder keeps per frame is counted against
/// `max_chunk_size`, so the amplification ends in ChunkTooLarge within it.
#[test]
fn r1_lacing_bomb_is_bounded_by_the_chunk_limit() {
    let bomb = el(SIMPLE_BLOCK, &[0x81, 0x00, 0x00, 0x04, 0xFF]); // 7 bytes
    let mut input = concat(&[head(), open_unknown(CLUSTER, 1), uint(TIMECODE, 0)]);
    for _ in 0..40_000 {
        input.extend_from_slice(&bomb);
    }
    let mut limits = kvs_mkv::Limits::default();
    limits.max_chunk_size = 1 << 20;
    let mut d = ChunkDecoder::with_limits(limits);
    let mut buf = BytesMut::from(&input[..]);
    let (mut chunks, mut errors) = (Vec::new(), Vec::new());
    loop {
        match d.decode_eof(&mut buf) {
            Ok(Some(c)) => chunks.push(c),
            Ok(None) => break,
            Err(e) => errors.push(e),
        }
    }
    assert!(
        errors.iter().any(|e| matches!(
            e.as_decode().unwrap().kind,
            kvs_mkv::DecodeErrorKind::ChunkTooLarge { .. }
        )),
        "{errors:?}"
    );
    let held = chunks.iter().map(|c| c.frames().len()).sum::<usize>()
        * std::mem::size_of::<kvs_mkv::Frame>();
    assert!(held <= 1 << 20, "held {held} bytes of frames");
}

/// R2: in streaming mode (EventDecoder) max_chunk_size is not applied once
/// the first Cluster began, so a Void (or Cues, SeekHead, ...) whose size
/// field says 2^40 silently swallows every following chunk. ChunkDecoder
/// reports ChunkTooLarge and recovers the next chunk.
#[test]
fn r2_streaming_huge_skip_swallows_next_chunks() {
    let chunk1 = concat(&[
        tagged_head("1"),
        open_unknown(CLUSTER, 1),
        uint(TIMECODE, 0),
        simple_block(1, 0, true, b"frame-1"),
        [id(VOID), size_w(1 << 40, 8)].concat(), // damaged size
    ]);
    let chunk2 = concat(&[
        tagged_head("2"),
        open_unknown(CLUSTER, 1),
        uint(TIMECODE, 0),
        simple_block(1, 0, true, b"frame-2"),
    ]);
    let input = concat(&[chunk1, chunk2]);

    let (chunks, _) = chunks_of(&input);
    let whole: Vec<_> = chunks
        .iter()
        .filter_map(|c| c.fragment_number().map(|f| f.to_string()))
        .collect();
    assert_eq!(whole, ["1", "2"], "ChunkDecoder recovers fragment 2");

    let (events, errors) = events_of(&input, 4096);
    let starts: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Start(i) => i.fragment_number().map(|f| f.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        starts,
        ["1", "2"],
        "EventDecoder lost fragment 2; errors: {errors:?}"
    );
}

/// R3: a Segment's known size is ignored (engine.rs:349 opens it with
/// `end: None`), so a known-size Segment cut at an element boundary is
/// reported complete, with no Truncated error.
#[test]
fn r3_known_size_segment_cut_between_clusters_is_not_complete() {
    let cluster = |tc: u64| {
        el(
            CLUSTER,
            &concat(&[uint(TIMECODE, tc), simple_block(1, 0, true, b"abcd")]),
        )
    };
    let segment_body = concat(&[
        info(1_000_000),
        el(TRACKS, &video_track(1, "V_MPEG4/ISO/AVC", &[1], 640, 480)),
        cluster(0),
        cluster(1000),
    ]);
    let full = concat(&[ebml_header(), el(SEGMENT, &segment_body)]);
    let cut = &full[..full.len() - cluster(1000).len()]; // the second Cluster never came
    let (chunks, errors) = chunks_of(cut);
    assert_eq!(chunks.len(), 1);
    assert!(
        !chunks[0].is_complete() || !errors.is_empty(),
        "a Segment missing {} of its declared bytes came out complete, no error",
        cluster(1000).len()
    );
}

// ---------------------------------------------------------------------
// Client findings, against a 60-line fake service (std TcpListener).
// ---------------------------------------------------------------------
#[cfg(feature = "client")]
mod client {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use base64::Engine;
    use bytes::Bytes;
    use futures::{StreamExt, TryStreamExt};
    use kvs_mkv::client::{
        Client, ClientConfig, GetMediaOptions, Pagination, StartSelector, StreamId,
    };
    use kvs_mkv::sigv4::Credentials;
    use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout};
    use kvs_mkv::{Event, Frame, Limits};

    /// What the fake answers: (status, body, bytes of the body actually sent
    /// before the connection is closed).
    type Reply = (u16, Vec<u8>, Option<usize>);
    type Handler = Arc<dyn Fn(&str, &[u8]) -> Reply + Send + Sync>;

    fn serve(make: impl FnOnce(String) -> Handler) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let handler = make(url.clone());
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(mut s) = s else { continue };
                let h = handler.clone();
                std::thread::spawn(move || {
                    let mut data = Vec::new();
                    let mut tmp = [0u8; 8192];
                    let (head_end, len) = loop {
                        let n = s.read(&mut tmp).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        data.extend_from_slice(&tmp[..n]);
                        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&data[..i]).to_lowercase();
                            let len = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map_or(0, |v| v.trim().parse().unwrap());
                            break (i + 4, len);
                        }
                    };
                    while data.len() < head_end + len {
                        let n = s.read(&mut tmp).unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        data.extend_from_slice(&tmp[..n]);
                    }
                    let line = String::from_utf8_lossy(&data[..head_end]).to_string();
                    let path = line.split(' ').nth(1).unwrap_or("").to_string();
                    let (status, body, cut) = h(&path, &data[head_end..head_end + len]);
                    let _ = write!(
                        s,
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = s.write_all(&body[..cut.unwrap_or(body.len())]);
                });
            }
        });
        url
    }

    fn client(url: &str) -> Client {
        let mut c = ClientConfig::new("us-west-2", Credentials::new("AKID", "secret"))
            .with_endpoint_url(url);
        c.retry.base_delay = Duration::from_millis(2);
        c.retry.max_delay = Duration::from_millis(20);
        c.read_timeout = Duration::from_secs(2);
        Client::new(c).unwrap()
    }

    fn endpoint(url: &str) -> Reply {
        (
            200,
            format!(r#"{{"DataEndpoint":"{url}"}}"#).into_bytes(),
            None,
        )
    }

    /// Where the first chunk's second frame ends in `media`: a cut there
    /// leaves that chunk with two whole frames and the rest missing.
    fn end_of_second_frame(media: &[u8]) -> usize {
        let chunk = kvs_mkv::io::read_chunks(media).next().unwrap().unwrap();
        let f = &chunk.frames()[1];
        f.data().as_ptr() as usize - chunk.raw().as_ptr() as usize + f.data().len()
    }

    /// GetMedia-shaped chunks with `frames` tiny frames each.
    fn body(fragments: &[u64], frames: usize) -> Vec<u8> {
        body_in(Layout::Service, fragments, frames)
    }

    fn body_in(layout: Layout, fragments: &[u64], frames: usize) -> Vec<u8> {
        let sample =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/sample.mkv")).unwrap();
        let first = kvs_mkv::io::read_chunks(&sample[..])
            .next()
            .unwrap()
            .unwrap();
        let mut out = Vec::new();
        for &n in fragments {
            let mut m = ChunkModel::default();
            m.tracks = first.info().tracks.clone();
            m.aws.fragment_number = Some(format!("{}", 1000 + n).parse().unwrap());
            m.aws.continuation_token = Some(format!("{}", 1000 + n).into());
            for k in 0..frames {
                let data = Bytes::from(format!("frag{n}-frame{k}-{}", "x".repeat(40)));
                m.frames
                    .push(Frame::new(data, 1, (k * 33) as i64, 1_000_000, k == 0));
            }
            out.extend_from_slice(&ChunkWriter::new(layout).to_bytes(&m).unwrap());
        }
        out
    }

    fn stream() -> StreamId {
        StreamId::Name("cam".into())
    }

    /// R4: max_chunks=1, but one body read holds 3 complete chunks: all 3
    /// come out (media.rs:484 only checks `delivered >= m` once `out` is
    /// empty; Chunks::feed queues every chunk of the read).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r4_max_chunks_is_exceeded() {
        let media = body(&[1, 2, 3], 2);
        let url = serve(move |url| {
            Arc::new(move |path: &str, _: &[u8]| match path {
                "/getDataEndpoint" => endpoint(&url),
                _ => (200, media.clone(), None),
            })
        });
        let mut opts = GetMediaOptions::default();
        opts.max_chunks = Some(1);
        let got: Vec<_> = client(&url)
            .get_media(stream(), StartSelector::Earliest, opts)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "max_chunks = 1");
    }

    /// R5a: frame-level GetMedia, fragment cut twice: media.rs:228 resets the
    /// count of frames out to 0 after a re-fetch, so the third session hands
    /// out again the frames of the first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r5a_events_duplicate_frames_after_two_cuts() {
        let media = body(&[1], 4);
        // Cut right after the second frame's block.
        let cut = end_of_second_frame(&media);
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let url = serve(move |url| {
            Arc::new(move |path: &str, _: &[u8]| match path {
                "/getDataEndpoint" => endpoint(&url),
                _ => {
                    let n = c2.fetch_add(1, Ordering::SeqCst);
                    (200, media.clone(), (n < 2).then_some(cut))
                }
            })
        });
        let mut st = client(&url).get_media_events(
            stream(),
            StartSelector::Earliest,
            GetMediaOptions::default(),
        );
        let mut frames = Vec::new();
        while let Some(e) = st.next().await {
            match e.unwrap() {
                Event::Frame(f) => {
                    frames.push(String::from_utf8_lossy(&f.data()[..12]).to_string())
                }
                Event::End(_) => break, // the fragment is done
                Event::Start(_) => {}
            }
        }
        assert_eq!(frames.len(), 4, "every frame once: {frames:?}");
    }

    /// R5b: frame-level GetMedia, a session that starts with a fragment
    /// already delivered (resume by FragmentNumber, or any service replay):
    /// `skipping = Some(u64::MAX)` is decremented by each skipped frame, so
    /// `skipped_whole` (media.rs:244) is false and the old End is handed out
    /// again, counted as progress: with stop_after_empty_sessions the stream
    /// never ends and repeats the End forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r5b_events_replayed_fragment_end_repeats_forever() {
        let media = body(&[1], 2);
        let url = serve(move |url| {
            Arc::new(move |path: &str, _: &[u8]| match path {
                "/getDataEndpoint" => endpoint(&url),
                _ => (200, media.clone(), None),
            })
        });
        let mut st = client(&url).get_media_events(
            stream(),
            StartSelector::Earliest,
            GetMediaOptions::default(),
        );
        let mut ends = 0;
        while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), st.next()).await {
            if let Event::End(_) = e.unwrap() {
                ends += 1;
                if ends > 5 {
                    break;
                }
            }
        }
        assert_eq!(ends, 1, "fragment 1001 ended {ends}+ times");
    }

    /// R8: a connection cut between two blocks of an unknown-size Cluster
    /// (producer-SDK layout; on a live stream the body idles between frames,
    /// so that is where cuts land) decodes as a *complete* chunk
    /// (engine.rs:839). GetMedia hands it out with half its frames, records
    /// its fragment number as delivered, and then drops the full re-fetch as
    /// already seen (media.rs:180).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r8_get_media_delivers_cut_fragment_as_complete() {
        let media = body_in(Layout::ProducerSdk, &[1], 4);
        let cut = end_of_second_frame(&media);
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let url = serve(move |url| {
            Arc::new(move |path: &str, _: &[u8]| match path {
                "/getDataEndpoint" => endpoint(&url),
                _ => {
                    let n = c2.fetch_add(1, Ordering::SeqCst);
                    (200, media.clone(), (n == 0).then_some(cut))
                }
            })
        });
        let got: Vec<_> = tokio::time::timeout(
            Duration::from_secs(10),
            client(&url)
                .get_media(
                    stream(),
                    StartSelector::Earliest,
                    GetMediaOptions::default(),
                )
                .try_collect::<Vec<_>>(),
        )
        .await
        .unwrap()
        .unwrap();
        let frames: Vec<usize> = got.iter().map(|c| c.frames().len()).collect();
        assert_eq!(frames, [4], "fragment 1001 delivered once, whole");
    }

    /// R6: GetMediaForFragmentList whose body ends cleanly without the chunk
    /// asked for (a proxy cap, an omitted fragment): archive.rs:407 drops the
    /// body and asks again, forever, with no failure count and no backoff.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r6_fragment_list_loops_forever_on_empty_bodies() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c2 = calls.clone();
        let url = serve(move |url| {
            Arc::new(move |path: &str, _: &[u8]| match path {
                "/getDataEndpoint" => endpoint(&url),
                _ => {
                    c2.fetch_add(1, Ordering::SeqCst);
                    (200, Vec::new(), None)
                }
            })
        });
        let mut s = client(&url).get_media_for_fragment_list(
            stream(),
            vec!["1001".parse().unwrap()],
            Limits::default(),
        );
        let r = tokio::time::timeout(Duration::from_secs(3), s.next()).await;
        assert!(
            r.is_ok(),
            "still looping after 3 s: {} GetMediaForFragmentList calls",
            calls.load(Ordering::SeqCst)
        );
    }

    /// R7: a boto3 resume token cut on a page boundary is
    /// base64({"NextToken": ...}) without boto_truncate_amount
    /// (botocore PageIterator: `self.resume_token = next_token`);
    /// archive.rs:60 sends the whole base64 string as NextToken.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r7_boto3_page_boundary_token() {
        let seen = Arc::new(Mutex::new(None::<String>));
        let s2 = seen.clone();
        let url = serve(move |url| {
            Arc::new(move |path: &str, req: &[u8]| match path {
                "/getDataEndpoint" => endpoint(&url),
                _ => {
                    let v: serde_json::Value = serde_json::from_slice(req).unwrap();
                    *s2.lock().unwrap() = v["NextToken"].as_str().map(String::from);
                    (200, br#"{"Fragments":[]}"#.to_vec(), None)
                }
            })
        });
        let boto3 =
            base64::engine::general_purpose::STANDARD.encode(r#"{"NextToken": "svc-token"}"#);
        let p = Pagination {
            starting_token: Some(boto3),
            ..Default::default()
        };
        let _ = client(&url)
            .list_fragments(stream(), None, p)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        assert_eq!(seen.lock().unwrap().as_deref(), Some("svc-token"));
    }
}

/// (Second review.) A block header whose track VINT is the 8-byte all-ones
/// value decodes to track 2^56 - 1; rebuilding that frame (to re-time it)
/// must not panic.
#[test]
fn a_decoded_frame_can_be_rebuilt_with_frame_new() {
    let mut body = vec![0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    body.extend([0x00, 0x00, 0x80, 0xAA]); // timecode 0, keyframe, 1 byte
    let input = concat(&[
        ebml_header(),
        el(
            SEGMENT,
            &el(
                CLUSTER,
                &concat(&[uint(TIMECODE, 0), el(SIMPLE_BLOCK, &body)]),
            ),
        ),
    ]);
    let mut buf = BytesMut::from(&input[..]);
    let chunk = ChunkDecoder::default()
        .decode_eof(&mut buf)
        .unwrap()
        .unwrap();
    let f = &chunk.frames()[0];
    assert_eq!(f.track(), (1u64 << 56) - 1);
    let g = kvs_mkv::Frame::new(
        f.data().clone(),
        f.track(),
        f.timecode() + 1,
        f.timecode_scale(),
        f.is_keyframe(),
    );
    assert_eq!((g.track(), g.timecode()), (f.track(), 1));
}
