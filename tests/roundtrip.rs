//! Round trip: arbitrary chunk models, written in every layout and lacing
//! mode, decoded whole and in random pieces (1-byte pieces included), give
//! the models back.
//!
//! What decoding is expected to change, and nothing else (see
//! `expected` below):
//! - strings (CodecID, Name, Language, TagName, TagString, and the AWS
//!   string values) lose their trailing NULs: the decoder takes them for
//!   padding, as the producer SDKs write it;
//! - in the FragmentList layout, MILLIS_BEHIND_NOW and CONTINUATION_TOKEN
//!   are absent (that API has no trailer);
//! - a frame with a BlockDuration is a BlockGroup, whose Block has no
//!   discardable flag;
//! - producer tags come back grouped by position, `BeforeCluster` ones
//!   first, each group in model order (they are written before and after
//!   the Clusters).

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use kvs_mkv::kvs::names;
use kvs_mkv::matroska::{AudioSettings, VideoSettings};
use kvs_mkv::writer::{ChunkModel, ChunkWriter, Lacing, Layout, TimestampSpelling};
use kvs_mkv::{
    AwsTags, Chunk, ChunkDecoder, ChunkInfo, ErrorId, Event, EventDecoder, Frame, Tag, TagPosition,
    TagValue, Timestamp, Track, TrackType,
};

const AWS_NAMES: [&str; 11] = [
    names::FRAGMENT_NUMBER,
    names::SERVER_TIMESTAMP,
    names::PRODUCER_TIMESTAMP,
    names::SERVER_SIDE_TIMESTAMP,
    names::PRODUCER_SIDE_TIMESTAMP,
    names::MILLIS_BEHIND_NOW,
    names::CONTINUATION_TOKEN,
    names::ERROR_CODE,
    names::ERROR_ID,
    names::EXCEPTION_ERROR_CODE,
    names::EXCEPTION_MESSAGE,
];

fn strip(s: &str) -> String {
    s.trim_end_matches('\0').to_string()
}

// ---------------------------------------------------------------- strategies

/// Short strings of any Unicode, with NULs (also trailing) and empty ones.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![3 => any::<char>(), 1 => Just('\0'), 1 => Just('é'), 1 => Just('a')],
        0..10,
    )
    .prop_map(|c| c.into_iter().collect())
}

fn payload(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn track(number: u64) -> impl Strategy<Value = Track> {
    let video = prop::option::of((prop::option::of(0u64..5000), prop::option::of(0u64..5000)));
    let audio = prop::option::of((
        prop::option::of(prop_oneof![Just(48000.0), Just(44100.0), 1.0f64..200_000.0]),
        prop::option::of(1u64..9),
        prop::option::of(prop_oneof![Just(16u64), Just(24)]),
    ));
    (
        prop::option::of(any::<u64>()),
        prop::option::of(prop_oneof![
            Just(TrackType::Video),
            Just(TrackType::Audio),
            (0u64..300).prop_map(TrackType::from_value)
        ]),
        text(),
        prop::option::of(payload(40)),
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(any::<u64>()),
        video,
        audio,
    )
        .prop_map(
            move |(uid, kind, codec, private, name, language, dd, video, audio)| {
                let mut t = Track::default();
                t.number = number;
                t.uid = uid;
                t.track_type = kind;
                t.codec_id = codec.into();
                t.codec_private = private;
                t.name = name.map(Into::into);
                t.language = language.map(Into::into);
                t.default_duration_ns = dd;
                t.video = video.map(|(w, h)| {
                    let mut v = VideoSettings::default();
                    v.pixel_width = w;
                    v.pixel_height = h;
                    v
                });
                t.audio = audio.map(|(f, c, b)| {
                    let mut a = AudioSettings::default();
                    a.sampling_frequency = f;
                    a.channels = c;
                    a.bit_depth = b;
                    a
                });
                t
            },
        )
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0u64..4_000_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| Timestamp::new(s, n).unwrap())
}

fn aws() -> impl Strategy<Value = AwsTags> {
    (
        prop::option::of("[0-9]{1,48}"),
        prop::option::of(timestamp()),
        prop::option::of(timestamp()),
        prop::option::of(any::<u64>()),
        prop::option::of(text()),
        prop::option::of(prop_oneof![Just(4000u32), Just(3002), any::<u32>()]),
        prop::option::of(text()),
        prop::option::of(any::<u32>()),
        prop::option::of(text()),
    )
        .prop_map(
            |(fragment, server, producer, millis, token, error_id, error_code, exc, msg)| {
                let mut a = AwsTags::default();
                a.fragment_number = fragment.map(|f| f.parse().unwrap());
                a.server_timestamp = server;
                a.producer_timestamp = producer;
                a.millis_behind_now = millis;
                a.continuation_token = token.map(Into::into);
                a.error_id = error_id.map(ErrorId::from_code);
                a.error_code = error_code.map(Into::into);
                a.exception_error_code = exc;
                a.exception_message = msg.map(Into::into);
                a
            },
        )
}

fn producer_tag() -> impl Strategy<Value = Tag> {
    (
        text().prop_filter("not an AWS name", |n| {
            !AWS_NAMES.contains(&strip(n).as_str())
        }),
        prop_oneof![
            3 => text().prop_map(|t| TagValue::String(t.into())),
            1 => Just(TagValue::String(kvs_mkv::Text::default())),
            1 => payload(20).prop_map(TagValue::Binary),
            1 => Just(TagValue::None),
        ],
        prop_oneof![
            Just(TagPosition::BeforeCluster),
            Just(TagPosition::AfterCluster)
        ],
    )
        .prop_map(|(name, value, position)| Tag {
            name: name.into(),
            value,
            position,
        })
}

/// A run of frames that share track, timecode and flags (what lacing can
/// put in one block), or a single frame.
#[derive(Debug, Clone)]
struct Run {
    track: usize,
    timecode: i64,
    keyframe: bool,
    invisible: bool,
    discardable: bool,
    duration: Option<u64>,
    equal_sizes: bool,
    payloads: Vec<Bytes>,
}

fn run() -> impl Strategy<Value = Run> {
    (
        any::<prop::sample::Index>(),
        // Wide enough for several Clusters (a block's offset is an i16).
        prop_oneof![3 => -300i64..3000, 1 => -32768i64..200_000],
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop::option::weighted(0.2, 0u64..5000),
        any::<bool>(),
        // Mostly small; sometimes large enough for multi-byte sizes, Xiph
        // runs of 255 and payloads passed on without a copy.
        prop::collection::vec(prop_oneof![6 => payload(48), 1 => payload(700)], 1..5),
    )
        .prop_map(
            |(track, timecode, (k, i, d), duration, equal_sizes, payloads)| Run {
                track: track.index(usize::MAX),
                timecode,
                keyframe: k,
                invisible: i,
                discardable: d,
                duration,
                equal_sizes,
                payloads,
            },
        )
}

fn chunk_model() -> impl Strategy<Value = ChunkModel> {
    (
        prop_oneof![3 => Just(1_000_000u64), 1 => 1u64..2_000_000_000],
        prop::collection::btree_set(1u64..140, 0..4),
        aws(),
        prop::collection::vec(producer_tag(), 0..5),
        prop::collection::vec(run(), 0..8),
    )
        .prop_flat_map(|(scale, numbers, aws, tags, runs)| {
            let tracks: Vec<_> = numbers.into_iter().map(track).collect();
            (Just(scale), tracks, Just(aws), Just(tags), Just(runs))
        })
        .prop_map(|(scale, tracks, aws, tags, runs)| {
            let mut m = ChunkModel::new(tracks);
            m.timecode_scale = scale;
            m.aws = aws;
            m.tags = tags;
            if !m.tracks.is_empty() {
                for r in runs {
                    let track = m.tracks[r.track % m.tracks.len()].number;
                    let len = r.payloads[0].len();
                    for p in r.payloads {
                        let data = if r.equal_sizes {
                            let mut v = p.to_vec();
                            v.resize(len, 0xAB);
                            Bytes::from(v)
                        } else {
                            p
                        };
                        m.frames.push(
                            Frame::new(data, track, r.timecode, scale, r.keyframe)
                                .with_invisible(r.invisible)
                                .with_discardable(r.discardable)
                                .with_duration(r.duration),
                        );
                    }
                }
            }
            m
        })
}

fn layout() -> impl Strategy<Value = Layout> {
    prop_oneof![
        Just(Layout::Service),
        Just(Layout::ProducerSdk),
        Just(Layout::FragmentList(TimestampSpelling::Plain)),
        Just(Layout::FragmentList(TimestampSpelling::Side)),
    ]
}

fn lacing() -> impl Strategy<Value = Lacing> {
    prop_oneof![
        Just(Lacing::None),
        Just(Lacing::Xiph),
        Just(Lacing::Ebml),
        Just(Lacing::Fixed)
    ]
}

// --------------------------------------------------------------- expectation

/// What a decoder reads back from `model` written in `layout`.
#[derive(Debug, PartialEq)]
struct Expected {
    timecode_scale: u64,
    tracks: Vec<Track>,
    aws: AwsTags,
    tags: Vec<Tag>,
    frames: Vec<Frame>,
}

fn expected(model: &ChunkModel, layout: Layout) -> Expected {
    let tracks = model
        .tracks
        .iter()
        .map(|t| {
            let mut t = t.clone();
            t.codec_id = strip(&t.codec_id).into();
            t.name = t.name.as_deref().map(|n| strip(n).into());
            t.language = t.language.as_deref().map(|l| strip(l).into());
            t
        })
        .collect();
    let mut aws = model.aws.clone();
    aws.continuation_token = aws.continuation_token.as_deref().map(|t| strip(t).into());
    aws.error_code = aws.error_code.as_deref().map(|t| strip(t).into());
    aws.exception_message = aws.exception_message.as_deref().map(|t| strip(t).into());
    if let Layout::FragmentList(_) = layout {
        aws.millis_behind_now = None;
        aws.continuation_token = None;
    }
    let mut tags: Vec<Tag> = model
        .tags
        .iter()
        .map(|t| Tag {
            name: strip(&t.name).into(),
            value: match &t.value {
                TagValue::String(s) => TagValue::String(strip(s).into()),
                other => other.clone(),
            },
            position: t.position,
        })
        .collect();
    tags.sort_by_key(|t| t.position == TagPosition::AfterCluster);
    let frames = model
        .frames
        .iter()
        .map(|f| {
            let grouped = f.duration().is_some();
            f.clone().with_discardable(f.is_discardable() && !grouped)
        })
        .collect();
    Expected {
        timecode_scale: model.timecode_scale,
        tracks,
        aws,
        tags,
        frames,
    }
}

fn actual(chunk: &Chunk) -> Expected {
    let info = chunk.info();
    Expected {
        timecode_scale: info.timecode_scale,
        tracks: info.tracks.clone(),
        aws: info.aws.clone(),
        tags: info
            .tags
            .iter()
            .filter(|t| !AWS_NAMES.contains(&t.name.as_str()))
            .cloned()
            .collect(),
        frames: chunk.frames().to_vec(),
    }
}

// ------------------------------------------------------------------ decoding

fn decode_in_pieces(body: &[u8], sizes: &[usize]) -> Vec<Chunk> {
    let mut decoder = ChunkDecoder::default();
    let mut buf = BytesMut::new();
    let mut chunks = Vec::new();
    let mut at = 0;
    for &n in sizes.iter().cycle() {
        if at >= body.len() {
            break;
        }
        let end = (at + n).min(body.len());
        buf.extend_from_slice(&body[at..end]);
        at = end;
        while let Some(c) = decoder.decode(&mut buf).expect("no decoding error") {
            chunks.push(c);
        }
    }
    while let Some(c) = decoder.decode_eof(&mut buf).expect("no decoding error") {
        chunks.push(c);
    }
    chunks
}

/// Per chunk, the frames and the final `ChunkInfo` from the frame-level
/// decoder fed in pieces.
fn events_in_pieces(body: &[u8], sizes: &[usize]) -> Vec<(Vec<Frame>, ChunkInfo)> {
    let mut decoder = EventDecoder::default();
    let mut buf = BytesMut::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut chunks = Vec::new();
    let mut started = false;
    let mut take = |e: Event| match e {
        Event::Start(_) => {
            assert!(!started, "Start twice");
            started = true;
        }
        Event::Frame(f) => {
            assert!(started, "frame before Start");
            frames.push(f);
        }
        Event::End(info) => {
            assert!(started, "End before Start");
            started = false;
            chunks.push((
                std::mem::take(&mut frames),
                std::sync::Arc::unwrap_or_clone(info),
            ));
        }
    };
    let mut at = 0;
    for &n in sizes.iter().cycle() {
        if at >= body.len() {
            break;
        }
        let end = (at + n).min(body.len());
        buf.extend_from_slice(&body[at..end]);
        at = end;
        while let Some(e) = decoder.decode(&mut buf).expect("no decoding error") {
            take(e);
        }
    }
    while let Some(e) = decoder.decode_eof(&mut buf).expect("no decoding error") {
        take(e);
    }
    chunks
}

fn check(models: &[ChunkModel], layout: Layout, chunks: &[Chunk]) {
    assert_eq!(chunks.len(), models.len(), "number of chunks");
    for (i, (m, c)) in models.iter().zip(chunks).enumerate() {
        assert!(c.is_complete(), "chunk {i} incomplete");
        assert_eq!(actual(c), expected(m, layout), "chunk {i}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn written_chunks_decode_to_their_models(
        models in prop::collection::vec(chunk_model(), 1..4),
        layout in layout(),
        lacing in lacing(),
        pieces in prop::collection::vec(1usize..200, 1..20),
    ) {
        let writer = ChunkWriter::new(layout).with_lacing(lacing);
        let mut body = Vec::new();
        writer.write_stream(&models, &mut body).unwrap();

        let whole = decode_in_pieces(&body, &[body.len().max(1)]);
        check(&models, layout, &whole);
        check(&models, layout, &decode_in_pieces(&body, &pieces));
        check(&models, layout, &decode_in_pieces(&body, &[1]));

        // The frame-level decoder agrees: same frames, same final info.
        let events = events_in_pieces(&body, &pieces);
        prop_assert_eq!(events.len(), whole.len());
        for ((frames, info), chunk) in events.iter().zip(&whole) {
            prop_assert_eq!(frames.as_slice(), chunk.frames());
            prop_assert_eq!(info, chunk.info());
        }

        // A decoded chunk, turned back into a model and written again,
        // decodes the same.
        let again: Vec<ChunkModel> = whole.iter().map(ChunkModel::from).collect();
        let mut body2 = Vec::new();
        writer.write_stream(&again, &mut body2).unwrap();
        let twice = decode_in_pieces(&body2, &pieces);
        prop_assert_eq!(twice.len(), whole.len());
        for (a, b) in whole.iter().zip(&twice) {
            prop_assert_eq!(actual(a), actual(b));
            prop_assert_eq!(&a.info().tags, &b.info().tags);
        }
    }
}

/// Decodes `body` whole, errors allowed; returns the chunks.
fn decode_lenient(body: &[u8]) -> Vec<Chunk> {
    let mut decoder = ChunkDecoder::default();
    let mut buf = BytesMut::from(body);
    let mut chunks = Vec::new();
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(c)) => chunks.push(c),
            Ok(None) => break,
            Err(_) => {}
        }
    }
    chunks
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A body cut anywhere (a dropped connection) gives a prefix of the
    /// frames: every frame that arrived whole, nothing else, nothing changed.
    #[test]
    fn a_cut_body_gives_the_frames_that_arrived(
        models in prop::collection::vec(chunk_model(), 1..4),
        layout in layout(),
        lacing in lacing(),
        cut in any::<prop::sample::Index>(),
    ) {
        let writer = ChunkWriter::new(layout).with_lacing(lacing);
        let mut body = Vec::new();
        writer.write_stream(&models, &mut body).unwrap();
        let whole = decode_lenient(&body);
        let all: Vec<Frame> = whole.iter().flat_map(|c| c.frames().to_vec()).collect();
        let cut = cut.index(body.len() + 1);
        let kept: Vec<Frame> = decode_lenient(&body[..cut])
            .iter()
            .flat_map(|c| c.frames().to_vec())
            .collect();
        prop_assert!(kept.len() <= all.len());
        prop_assert_eq!(&kept[..], &all[..kept.len()]);

        // Where each frame's bytes are in the body; laces of one block are
        // contiguous, separate blocks have headers between them.
        let spans: Vec<(usize, usize)> = whole
            .iter()
            .flat_map(|c| {
                let raw = c.raw().as_ptr() as usize;
                let offset = c.info().offset as usize;
                c.frames().iter().map(move |f| {
                    let start = offset + (f.data().as_ptr() as usize - raw);
                    (start, start + f.data().len())
                })
            })
            .collect();
        let mut blocks: Vec<std::ops::Range<usize>> = Vec::new(); // frame indices
        for (i, span) in spans.iter().enumerate() {
            match blocks.last_mut() {
                Some(b) if spans[b.end - 1].1 == span.0 => b.end = i + 1,
                _ => blocks.push(i..i + 1),
            }
        }
        // A block is surely in once the next block's data has begun (or the
        // body is whole), surely not before its last byte.
        let mut at_least = 0;
        let mut at_most = 0;
        for (n, b) in blocks.iter().enumerate() {
            let next_start = blocks.get(n + 1).map_or(body.len(), |nb| spans[nb.start].0);
            if cut >= next_start {
                at_least = b.end;
            }
            if cut >= spans[b.end - 1].1 {
                at_most = b.end;
            } else {
                break;
            }
        }
        prop_assert!(
            (at_least..=at_most).contains(&kept.len()),
            "cut at {} of {}: kept {}, expected {}..={}",
            cut, body.len(), kept.len(), at_least, at_most
        );
    }
}

#[test]
fn frames_of_unknown_tracks_are_refused() {
    let mut m = ChunkModel::default();
    m.frames
        .push(Frame::new(Bytes::new(), 3, 0, 1_000_000, true));
    let err = ChunkWriter::default().to_bytes(&m).unwrap_err();
    assert!(err.to_string().contains("track 3"), "{err}");
}

#[test]
fn timecodes_below_an_i16_are_refused() {
    let mut t = Track::default();
    t.number = 1;
    let mut m = ChunkModel::new(vec![t]);
    m.frames
        .push(Frame::new(Bytes::new(), 1, -40_000, 1_000_000, true));
    assert!(ChunkWriter::default().to_bytes(&m).is_err());
}
