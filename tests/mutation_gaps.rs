//! Tests for what an outside mutation audit found untested (issue H, "tests
//! that would catch a broken move"): damage inside an unknown-size Cluster
//! (the `may_contain` rule), `FragmentNumber` ordering across lengths, a
//! Segment that goes on after a token, and the exact frame sizes of each
//! lacing mode. Expected values come from the fixtures' own sizes, a plain
//! element walk written here, or ffprobe and mkvinfo.

mod common;

use bytes::Bytes;
use common::ebml::*;
use common::oracle::{ffprobe_packet_sizes, mkvinfo_frame_sizes, temp_file};
use common::{decode_pieces, decode_pieces_with, decode_whole, events_pieces, testdata, Item};
use kvs_mkv::matroska::block::{parse_block, Lacing};
use kvs_mkv::matroska::AudioSettings;
use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout};
use kvs_mkv::{
    Chunk, ChunkDecoder, DecodeError, DecodeErrorKind, ElementId, Event, FragmentNumber, Frame,
    Limits, TagPosition, Track, TrackType,
};

// ------------------------------------------------------------ helpers

const EBML_ID: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];

/// Where each chunk of a body begins: a plain search for the EBML ID.
fn chunk_starts(body: &[u8]) -> Vec<usize> {
    (0..body.len().saturating_sub(3))
        .filter(|&i| body[i..i + 4] == EBML_ID)
        .collect()
}

/// The element header at `data[at]`, read here byte by byte: its ID, where
/// its body starts, and its size (`None` when unknown).
fn element_at(data: &[u8], at: usize) -> (u32, usize, Option<u64>) {
    let id_width = data[at].leading_zeros() as usize + 1;
    assert!(id_width <= 4, "bad ID at {at}");
    let id = data[at..at + id_width]
        .iter()
        .fold(0u32, |v, &b| v << 8 | u32::from(b));
    let s = at + id_width;
    let width = data[s].leading_zeros() as usize + 1;
    let mask = 0xFFu64 >> width;
    let mut size = u64::from(data[s]) & mask;
    let mut all_ones = size == mask;
    for &b in &data[s + 1..s + width] {
        size = size << 8 | u64::from(b);
        all_ones &= b == 0xFF;
    }
    (id, s + width, (!all_ones).then_some(size))
}

/// The SimpleBlocks of the chunk at `data[start..]`, as byte ranges of
/// whole elements, walking into unknown-size and known-size masters alike
/// (EBML header, Segment, Cluster) and over everything else.
fn simple_blocks(data: &[u8], start: usize, end: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let (id, body, size) = element_at(data, at);
        match id {
            SEGMENT | CLUSTER => at = body, // descend
            SIMPLE_BLOCK => {
                let e = body + size.unwrap() as usize;
                out.push(at..e);
                at = e;
            }
            _ => at = body + size.expect("only Segment and Cluster of unknown size") as usize,
        }
    }
    out
}

fn chunks(items: &[Item]) -> Vec<&Chunk> {
    items.iter().filter_map(Item::chunk).collect()
}

fn errors(items: &[Item]) -> Vec<&DecodeError> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Error(e) => Some(e),
            Item::Chunk(_) => None,
        })
        .collect()
}

fn sizes(c: &Chunk) -> Vec<u64> {
    c.frames().iter().map(|f| f.data().len() as u64).collect()
}

/// Decodes whole and in awkward pieces (both must agree), and checks that
/// the EventDecoder hands out the same frames, ends and errors.
fn decode(input: &[u8]) -> Vec<Item> {
    let whole = decode_whole(input);
    assert_eq!(decode_pieces(input, &[1]), whole, "byte by byte");
    assert_eq!(decode_pieces(input, &[1460, 7]), whole, "in pieces");
    let mut frames = Vec::new();
    let mut got = Vec::new();
    for e in events_pieces(input, &[333]) {
        match e {
            Ok(Event::Frame(f)) => frames.push(f),
            Ok(Event::End(info)) => got.push(Ok((
                std::sync::Arc::unwrap_or_clone(info),
                std::mem::take(&mut frames),
            ))),
            Ok(Event::Start(_)) => {}
            Err(e) => got.push(Err(e)),
        }
    }
    let want: Vec<_> = whole
        .iter()
        .map(|i| match i {
            Item::Chunk(c) => Ok((c.info().clone(), c.frames().to_vec())),
            Item::Error(e) => Err(e.clone()),
        })
        .collect();
    assert_eq!(got, want, "EventDecoder");
    whole
}

// ------------------------------- damage inside an unknown-size Cluster

/// Four junk bytes: to a reader, an element with the unknown ID 0x4A55
/// and a 2-byte size (0x4E4B: 3659 bytes).
const JUNK: [u8; 4] = *b"JUNK";

/// 4 junk bytes after the 5th SimpleBlock of the second chunk of the
/// producer-SDK sample (unknown-size Segment and Cluster). Inside an
/// unknown-size Cluster every child is known, so the junk is not a child:
/// it ends the Cluster and the Segment cleanly (the second chunk, complete,
/// with its first 5 frames), and is reported as damage where it stands;
/// decoding picks up at the third chunk. Taken as a child instead, its
/// size swallows frames and the next chunk's header.
#[test]
fn junk_inside_an_unknown_size_cluster_ends_the_chunk_there() {
    let data = testdata("producer_sdk.mkv");
    let starts = chunk_starts(&data);
    assert_eq!(starts.len(), 3);
    let ends = [starts[1], starts[2], data.len()];
    // ffprobe reads each chunk alone (cut by the byte search above).
    let oracle: Option<Vec<Vec<u64>>> = (common::tool("ffprobe")).then(|| {
        (0..3)
            .map(|i| {
                let path = temp_file(&format!("psdk-{i}.mkv"), &data[starts[i]..ends[i]]);
                let sizes = ffprobe_packet_sizes(&path);
                std::fs::remove_file(path).unwrap();
                sizes
            })
            .collect()
    });
    let blocks = simple_blocks(&data, starts[1], ends[1]);
    assert_eq!(blocks.len(), 15);
    let junk_at = blocks[4].end;
    let damaged = concat(&[
        data[..junk_at].to_vec(),
        JUNK.to_vec(),
        data[junk_at..].to_vec(),
    ]);

    let items = decode(&damaged);
    let c = chunks(&items);
    let e = errors(&items);
    assert_eq!(c.len(), 3, "{items:?}");
    let spans: Vec<(u64, u64, bool)> = c
        .iter()
        .map(|c| (c.info().offset, c.info().length, c.is_complete()))
        .collect();
    let third = (starts[2] + JUNK.len()) as u64;
    assert_eq!(
        spans,
        [
            (0, starts[1] as u64, true),
            (starts[1] as u64, (junk_at - starts[1]) as u64, true),
            (third, (data.len() - starts[2]) as u64, true),
        ]
    );
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].offset, junk_at as u64);
    assert_eq!(e[0].skipped, third - junk_at as u64);
    assert_eq!(
        e[0].kind,
        DecodeErrorKind::ExpectedEbmlHeader {
            found: ElementId(0x4A55)
        }
    );
    // The frames: all of the first and third chunks, the first 5 of the
    // second, as ffprobe reads the undamaged chunks.
    let got: Vec<Vec<u64>> = c.iter().map(|c| sizes(c)).collect();
    assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), [15, 5, 15]);
    if let Some(o) = oracle {
        assert_eq!(got, [o[0].clone(), o[1][..5].to_vec(), o[2].clone()]);
    }
    // The second chunk's trailing tags (after its Cluster) are lost with
    // the rest of it; its leading ones are there.
    assert!(c[1].info().continuation_token().is_none());
    assert_eq!(
        c[1].fragment_number().unwrap().as_str(),
        "91343852333181432392682062607743920146159169393"
    );
}

/// The same rule on a byte fixture, the wire in view: a whole element
/// with an ID the schema does not know, inside an unknown-size Cluster
/// (ends the chunk; reported as not an EBML header), and inside a Cluster
/// of known size (an unexpected element; the chunk is cut there).
#[test]
fn an_unknown_element_inside_a_cluster_is_damage_not_a_child() {
    let head = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        el(TRACKS, &video_track(1, "V_X", &[], 2, 2)),
    ]);
    let unknown = el(0x4A55, &[0; 6]);
    let blocks = |from: i16| {
        concat(&[
            simple_block(1, from, true, b"a"),
            simple_block(1, from + 1, false, b"b"),
        ])
    };

    // Unknown-size Cluster: the unknown element ends the Cluster and the
    // Segment; at the top level it is not an EBML header.
    let cluster = concat(&[open_unknown(CLUSTER, 1), uint(TIMECODE, 0), blocks(0)]);
    let input = concat(&[head.clone(), cluster.clone(), unknown.clone(), blocks(2)]);
    let items = decode(&input);
    let at = (head.len() + cluster.len()) as u64;
    let c = chunks(&items);
    assert_eq!(c.len(), 1);
    assert_eq!(sizes(c[0]), [1, 1]);
    assert_eq!((c[0].info().length, c[0].is_complete()), (at, true));
    let e = errors(&items);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].offset, at);
    assert_eq!(
        e[0].kind,
        DecodeErrorKind::ExpectedEbmlHeader {
            found: ElementId(0x4A55)
        }
    );

    // Known-size Cluster: an unexpected element, where it stands.
    let body = concat(&[uint(TIMECODE, 0), blocks(0), unknown.clone(), blocks(2)]);
    let input = concat(&[head.clone(), el(CLUSTER, &body)]);
    let items = decode(&input);
    let at = (head.len() + el(CLUSTER, &body).len() - body.len()
        + uint(TIMECODE, 0).len()
        + blocks(0).len()) as u64;
    let c = chunks(&items);
    assert_eq!(c.len(), 1);
    assert_eq!(sizes(c[0]), [1, 1]);
    assert_eq!((c[0].info().length, c[0].is_complete()), (at, false));
    let e = errors(&items);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].offset, at);
    assert_eq!(
        e[0].kind,
        DecodeErrorKind::UnexpectedElement {
            id: ElementId(0x4A55),
            parent: ElementId(CLUSTER)
        }
    );
}

// ------------------------------------------ FragmentNumber ordering

fn number(s: &str) -> FragmentNumber {
    s.parse().unwrap()
}

/// The service orders fragment numbers as numbers: a shorter one is
/// smaller, whatever its digits.
#[test]
fn fragment_numbers_order_by_length_then_digits() {
    assert!(number("999") < number("1000"));
    assert!(number("9") < number("10"));
    let nines_47 = "9".repeat(47);
    let one_48 = format!("1{}", "0".repeat(47));
    assert!(number(&nines_47) < number(&one_48));
    assert!(number(&one_48) > number(&nines_47));
    let a = "91343852333181432392682062607743920146159169392";
    let b = "91343852333181432392682062607743920146159169400";
    assert!(number(a) < number(b));
    assert_eq!(number(a).cmp(&number(a)), std::cmp::Ordering::Equal);

    // Sorting, the largest, and de-duplication, as a consumer does them.
    let mut list: Vec<FragmentNumber> = ["1000", "999", &one_48, "10", &nines_47, "999", "1"]
        .iter()
        .map(|s| number(s))
        .collect();
    list.sort();
    list.dedup();
    let got: Vec<&str> = list.iter().map(FragmentNumber::as_str).collect();
    assert_eq!(got, ["1", "10", "999", "1000", &nines_47, &one_48]);
    let set: std::collections::BTreeSet<FragmentNumber> = list.iter().copied().collect();
    assert_eq!(
        set.last().map(FragmentNumber::as_str),
        Some(one_48.as_str())
    );
}

/// Fragment numbers read by the decoder (from chunks that came in no
/// particular order) sort the same way: by value, not as text.
#[test]
fn decoded_fragment_numbers_sort_by_value() {
    let nines_47 = "9".repeat(47);
    let one_48 = format!("1{}", "0".repeat(47));
    let numbers = ["1000", &one_48, "999", &nines_47, "1000"];
    let body: Vec<u8> = numbers
        .iter()
        .flat_map(|n| {
            concat(&[
                ebml_header(),
                open_unknown(SEGMENT, 1),
                tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", n)], 1),
            ])
        })
        .collect();
    let items = decode(&body);
    let mut got: Vec<FragmentNumber> = chunks(&items)
        .iter()
        .map(|c| *c.fragment_number().unwrap())
        .collect();
    assert_eq!(got.len(), 5);
    got.sort();
    got.dedup();
    let got: Vec<&str> = got.iter().map(FragmentNumber::as_str).collect();
    assert_eq!(got, ["999", "1000", &nines_47, &one_48]);
}

// ---------------------------------- a Segment that goes on after a token

/// As AWS's parser writes a merged file: one EBML header, one unknown-size
/// Segment, and after each chunk's CONTINUATION_TOKEN the next fragment's
/// tags and Cluster in the same Segment. Each fragment is its own chunk,
/// beginning at its first element, with the Segment's tracks and
/// TimecodeScale.
#[test]
fn a_segment_that_goes_on_after_a_token_gives_one_chunk_per_fragment() {
    const N1: &str = "91343852333181432392682062607743920146159169392";
    const N2: &str = "91343852333181432392682062607743920146159169393";
    const N3: &str = "91343852333181432392682062607743920146159169394";
    let head = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1000), // microseconds: the continued chunks must keep it
        el(
            TRACKS,
            &concat(&[
                video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
                audio_track(2, "A_AAC", 48000.0, 1),
            ]),
        ),
    ]);
    let fragment = |n: &str, tc: u64, payloads: [&[u8]; 2]| {
        concat(&[
            tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", n)], 4),
            open_unknown(CLUSTER, 1),
            uint(TIMECODE, tc),
            simple_block(1, 0, true, payloads[0]),
            simple_block(2, 5, true, payloads[1]),
            tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", n)], 4),
        ])
    };
    let f1 = fragment(N1, 0, [b"v1", b"a1"]);
    let f2 = fragment(N2, 2_000_000, [b"v2", b"a2"]);
    let f3 = fragment(N3, 4_000_000, [b"v3", b"a3"]);
    let input = concat(&[head.clone(), f1.clone(), f2.clone(), f3.clone()]);

    let items = decode(&input);
    assert!(errors(&items).is_empty(), "{items:?}");
    let c = chunks(&items);
    let spans: Vec<(u64, u64)> = c
        .iter()
        .map(|c| (c.info().offset, c.info().length))
        .collect();
    let (h, l1, l2) = (head.len() as u64, f1.len() as u64, f2.len() as u64);
    assert_eq!(
        spans,
        [(0, h + l1), (h + l1, l2), (h + l1 + l2, f3.len() as u64)]
    );
    for (i, (c, n)) in c.iter().zip([N1, N2, N3]).enumerate() {
        assert!(c.is_complete(), "chunk {i}");
        assert_eq!(c.fragment_number().unwrap().as_str(), n);
        assert_eq!(c.continuation_token(), Some(n));
        let tracks: Vec<(u64, &str, Option<TrackType>)> = c
            .info()
            .tracks
            .iter()
            .map(|t| (t.number, &*t.codec_id, t.track_type))
            .collect();
        assert_eq!(
            tracks,
            [
                (1, "V_MPEG4/ISO/AVC", Some(TrackType::Video)),
                (2, "A_AAC", Some(TrackType::Audio))
            ],
            "chunk {i}"
        );
        assert_eq!(c.info().timecode_scale, 1000, "chunk {i}");
        let frames: Vec<(u64, &[u8], i128)> = c
            .frames()
            .iter()
            .map(|f| (f.track(), &f.data()[..], f.pts_ms()))
            .collect();
        let k = i as i64 + 1;
        let v = format!("v{k}");
        let a = format!("a{k}");
        // Cluster timecode 2 000 000 * i microseconds: 2 s apart.
        assert_eq!(
            frames,
            [
                (1, v.as_bytes(), 2000 * i as i128),
                (2, a.as_bytes(), 2000 * i as i128)
            ],
            "chunk {i}"
        );
    }
    // The CodecPrivate of a continued chunk is the Segment's.
    assert_eq!(
        c[2].info().tracks[0].codec_private.as_deref(),
        Some(&[1u8, 2, 3][..])
    );
}

// ------------------------------------------------- lacing: frame sizes

fn audio_model_track() -> Track {
    let mut audio = AudioSettings::default();
    audio.sampling_frequency = Some(48000.0);
    audio.channels = Some(1);
    let mut t = Track::default();
    t.number = 1;
    t.uid = Some(1);
    t.track_type = Some(TrackType::Audio);
    t.codec_id = "A_AAC".into();
    t.codec_private = Some(Bytes::from_static(&[0x11, 0x88]));
    t.default_duration_ns = Some(21_333_333);
    t.audio = Some(audio);
    t
}

/// Each lacing mode, written by the crate's writer with frame sizes at the
/// edges of its size encoding (Xiph: 254, 255, 256, 510, 765; EBML:
/// differences of each sign and 1, 2 and 3-byte VINTs; fixed: equal
/// sizes), one chunk per mode: the decoder gives exactly the sizes and
/// bytes written, and so do ffprobe and mkvinfo reading the same file.
#[test]
fn each_lacing_mode_gives_the_frame_sizes_written() {
    let modes: [(Lacing, &[usize]); 3] = [
        (Lacing::Xiph, &[254, 255, 256, 510, 1, 765, 37]),
        (Lacing::Ebml, &[300, 200, 201, 5000, 17000, 3, 64]),
        (Lacing::Fixed, &[96, 96, 96, 96, 96]),
    ];
    let mut body = Vec::new();
    let mut written: Vec<Vec<Vec<u8>>> = Vec::new();
    for (i, (lacing, sizes)) in modes.iter().enumerate() {
        let mut m = ChunkModel::new(vec![audio_model_track()]);
        m.aws.fragment_number = Some(number(&format!("{}", 100 + i)));
        let payloads: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(k, &n)| (0..n).map(|j| (j * 7 + k * 31 + i) as u8).collect())
            .collect();
        for p in &payloads {
            // One timecode: the frames share one laced block.
            let data = Bytes::from(p.clone());
            m.frames
                .push(Frame::new(data, 1, 40 * i as i64, 1_000_000, true));
        }
        ChunkWriter::new(Layout::Service)
            .with_lacing(*lacing)
            .write_to(&m, &mut body)
            .unwrap();
        written.push(payloads);
    }

    // The writer did lace: one block per chunk, in the mode asked for.
    let starts = chunk_starts(&body);
    assert_eq!(starts.len(), 3);
    for (i, (lacing, _)) in modes.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(body.len());
        let blocks = simple_blocks(&body, starts[i], end);
        assert_eq!(blocks.len(), 1, "chunk {i}");
        let b = &body[blocks[0].clone()];
        let (_, payload, _) = element_at(b, 0);
        assert_eq!(
            parse_block(&b[payload..], |_| {}).unwrap().lacing(),
            *lacing
        );
    }

    let items = decode(&body);
    assert!(errors(&items).is_empty());
    let c = chunks(&items);
    let got: Vec<Vec<Vec<u8>>> = c
        .iter()
        .map(|c| c.frames().iter().map(|f| f.data().to_vec()).collect())
        .collect();
    assert_eq!(got, written);

    let all: Vec<u64> = modes
        .iter()
        .flat_map(|(_, s)| s.iter().map(|&n| n as u64))
        .collect();
    if common::tool("mkvinfo") {
        let path = temp_file("laced-modes.mkv", &body);
        // mkvinfo lists each lace of a block: "Frame with size N".
        assert_eq!(mkvinfo_frame_sizes(&path).0, all, "mkvinfo");
        std::fs::remove_file(path).unwrap();
    }
    if common::tool("ffprobe") {
        // ffprobe reads one chunk at a time (each its own file).
        let mut packets = Vec::new();
        for i in 0..3 {
            let end = starts.get(i + 1).copied().unwrap_or(body.len());
            let path = temp_file(&format!("laced-mode-{i}.mkv"), &body[starts[i]..end]);
            packets.extend(ffprobe_packet_sizes(&path));
            std::fs::remove_file(path).unwrap();
        }
        assert_eq!(packets, all, "ffprobe");
    }
}

/// testdata/laced_audio.mkv (AAC, four frames to a Xiph- or EBML-laced
/// block): every frame's size as ffprobe's packets and mkvinfo's laces.
#[test]
fn laced_audio_frame_sizes_match_ffprobe_and_mkvinfo() {
    let data = testdata("laced_audio.mkv");
    let items = decode(&data);
    assert!(errors(&items).is_empty());
    let got: Vec<u64> = chunks(&items).iter().flat_map(|c| sizes(c)).collect();
    assert_eq!(got.len(), 142);
    let path = temp_file("laced_audio.mkv", &data);
    if common::tool("mkvinfo") {
        assert_eq!(mkvinfo_frame_sizes(&path).0, got, "mkvinfo");
    }
    if common::tool("ffprobe") {
        let starts = chunk_starts(&data);
        let mut packets = Vec::new();
        for (i, &s) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(data.len());
            let piece = temp_file(&format!("laced_audio-{i}.mkv"), &data[s..end]);
            packets.extend(ffprobe_packet_sizes(&piece));
            std::fs::remove_file(piece).unwrap();
        }
        assert_eq!(packets, got, "ffprobe");
    }
    std::fs::remove_file(path).unwrap();
}

// --- Gaps cargo-mutants found in src/kvs (issue H) ---------------------

/// `AwsTags::has_error` is true for each of the four error tags alone
/// (GetMedia's ERROR_ID / ERROR_CODE, GetMediaForFragmentList's
/// EXCEPTION_ERROR_CODE / EXCEPTION_MESSAGE: the service model's lists),
/// and false without them. Mutants `-> true` and `||` -> `&&` survived.
#[test]
fn each_error_tag_alone_is_an_error() {
    let none = kvs_mkv::AwsTags::default();
    assert!(!none.has_error());
    for name_value in [
        ("AWS_KINESISVIDEO_ERROR_ID", "4000"),
        (
            "AWS_KINESISVIDEO_ERROR_CODE",
            "requested fragment not found",
        ),
        ("AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE", "4000"),
        ("AWS_KINESISVIDEO_EXCEPTION_MESSAGE", "not found"),
    ] {
        let mut aws = kvs_mkv::AwsTags::default();
        assert!(aws.apply(name_value.0, name_value.1), "{name_value:?}");
        assert!(aws.has_error(), "{name_value:?}");
    }
    // Other AWS tags are not errors.
    let mut aws = kvs_mkv::AwsTags::default();
    assert!(aws.apply(
        "AWS_KINESISVIDEO_FRAGMENT_NUMBER",
        "91343852333181432392682062622220590765191907586"
    ));
    assert!(aws.apply("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "5"));
    assert!(!aws.has_error());
}

/// ErrorId's Display says what the service documents for each code
/// (../shared/api/kinesis-video-media service model, GetMedia), and
/// FragmentNumber's Debug shows the number. Mutants that made both print
/// nothing survived.
#[test]
fn error_ids_and_fragment_numbers_show_their_meaning() {
    use kvs_mkv::ErrorId;
    for (code, words) in [
        (3002, "writing to the stream"),
        (4000, "not found"),
        (4500, "access denied"),
        (4501, "disabled"),
        (5000, "internal error"),
    ] {
        let shown = ErrorId::from_code(code).to_string().to_lowercase();
        assert!(shown.contains(words), "{code}: {shown}");
    }
    let n: kvs_mkv::FragmentNumber = "91343852333181432392682062622220590765191907586"
        .parse()
        .unwrap();
    assert!(format!("{n:?}").contains("91343852333181432392682062622220590765191907586"));
}

// --- Gaps cargo-mutants found in src/decoder (issue H) -----------------
//
// Each test names the mutant it was written against (line numbers as of
// the mutation run, before the engine.rs split).

/// A cluster of `n` 3-byte keyframes of track 1, unknown size.
fn open_cluster(tc: u64, n: usize) -> Vec<u8> {
    let mut c = concat(&[open_unknown(CLUSTER, 1), uint(TIMECODE, tc)]);
    for i in 0..n {
        c.extend(simple_block(1, i as i16, true, &[0xAA, 0xBB, i as u8]));
    }
    c
}

/// A whole chunk: `head`, one unknown-size Cluster of `n` frames.
fn plain_chunk(tc: u64, n: usize) -> Vec<u8> {
    concat(&[head(8), open_cluster(tc, n)])
}

/// engine.rs:495, `None if is_master(id) && id != BLOCK_GROUP` -> `true`:
/// only a master may have the unknown size. FlagLacing (0x9C) written with
/// the unknown size inside a TrackEntry is `UnknownSize` damage where it
/// stands; the decoder picks up at the next chunk. The mutant opened it as
/// a master and went on without an error.
#[test]
fn an_unknown_size_leaf_is_damage() {
    let entry_body = concat(&[
        uint(TRACK_NUMBER, 1),
        uint(TRACK_UID, 1),
        uint(TRACK_TYPE, 1),
        string(CODEC_ID, "V_MPEG4/ISO/AVC"),
        vec![0x9C, 0xFF], // FlagLacing, unknown size
        uint(0x9C, 0),
    ]);
    let first = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1_000_000),
        el(TRACKS, &el(TRACK_ENTRY, &entry_body)),
        open_cluster(0, 2),
    ]);
    let flag_at = first.windows(2).position(|w| w == [0x9C, 0xFF]).unwrap() as u64;
    let input = concat(&[first.clone(), plain_chunk(1000, 3)]);
    let items = decode(&input);
    let errs = errors(&items);
    assert_eq!(errs.len(), 1, "{items:#?}");
    assert_eq!(
        errs[0].kind,
        DecodeErrorKind::UnknownSize {
            id: ElementId(0x9C)
        }
    );
    assert_eq!(errs[0].offset, flag_at);
    // The next chunk is whole.
    let last = *chunks(&items).last().unwrap();
    assert_eq!(last.info().offset, first.len() as u64);
    assert_eq!(sizes(last), [3, 3, 3]);
}

/// engine.rs:644, `end - start > max_chunk_size` -> `end / start` in the
/// skip of a Void: a Void between chunks (outside any chunk, so no chunk's
/// size bounds it) larger than `max_chunk_size` is `ElementTooLarge`, and
/// the decoder looks for the next EBML header. Passed over instead (the
/// mutant), its claimed size swallowed the next chunk.
#[test]
fn a_huge_void_between_chunks_is_damage() {
    // A chunk whose Segment has a known size: after it, no chunk is open.
    let cluster = concat(&[
        uint(TIMECODE, 0),
        simple_block(1, 0, true, &[1, 2, 3]),
        simple_block(1, 1, true, &[4, 5, 6]),
    ]);
    let first = concat(&[
        ebml_header(),
        el(
            SEGMENT,
            &concat(&[
                info(1_000_000),
                el(
                    TRACKS,
                    &video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
                ),
                el(CLUSTER, &cluster),
            ]),
        ),
    ]);
    // A Void claiming 2 MiB under a 1 MiB max_chunk_size (a claim that
    // is not a thousand times its offset: the mutant's quotient stays
    // under the limit), then the next chunk at once.
    let void = concat(&[id(VOID), size_w(2 << 20, 8)]);
    let second = plain_chunk(1000, 3);
    let input = concat(&[first.clone(), void, second]);
    let mut limits = Limits::default();
    limits.max_chunk_size = 1 << 20;
    let items = decode_pieces_with(&mut ChunkDecoder::with_limits(limits), &input, &[333]);
    let got = chunks(&items);
    assert_eq!(got.len(), 2, "{items:#?}");
    assert_eq!(sizes(got[0]), [3, 3]);
    assert_eq!(sizes(got[1]), [3, 3, 3]);
    assert_eq!(got[1].info().offset, first.len() as u64 + 9);
    let errs = errors(&items);
    assert_eq!(errs.len(), 1, "{items:#?}");
    assert!(
        matches!(
            errs[0].kind,
            DecodeErrorKind::ElementTooLarge { id: ElementId(VOID), size, .. } if size >= 2 << 20
        ),
        "{:?}",
        errs[0]
    );
    assert_eq!(errs[0].offset, first.len() as u64);
}

/// engine.rs:749, `chunk.started && name == CONTINUATION_TOKEN` -> `||`:
/// only a continuation token read after a Cluster began ends a GetMedia
/// chunk early. Producer tags after a Cluster (stream-layout.md: "producer
/// tags written after the fragment") followed by a second Cluster, and a
/// tag that is *named* like the token but stands before the first Cluster,
/// keep one chunk; the mutant split it at the tags.
#[test]
fn only_a_token_after_a_cluster_ends_the_chunk() {
    for (name, before) in [
        ("ENCODER", false),
        ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", true),
    ] {
        let tags = tags_w(&[(name, "x")], 1);
        let input = if before {
            concat(&[head(8), tags, open_cluster(0, 2), open_cluster(40, 2)])
        } else {
            concat(&[head(8), open_cluster(0, 2), tags, open_cluster(40, 2)])
        };
        let items = decode(&input);
        assert!(errors(&items).is_empty(), "{name}: {items:#?}");
        let got = chunks(&items);
        assert_eq!(got.len(), 1, "{name}: {items:#?}");
        assert_eq!(got[0].frames().len(), 4, "{name}");
        assert_eq!(got[0].info().length, input.len() as u64, "{name}");
        let tag = &got[0].info().tags[0];
        let want = if before {
            TagPosition::BeforeCluster
        } else {
            TagPosition::AfterCluster
        };
        assert_eq!(tag.position, want, "{name}");
    }
}

// --- Gaps cargo-mutants found in src/matroska (issue H) ----------------

/// `BlockHeader`'s flag accessors against the bits RFC 9559 gives the
/// SimpleBlock flags byte (section 10.1: 0x80 keyframe, 0x08 invisible,
/// 0x06 lacing, 0x01 discardable), for every flags byte. Mutants
/// `keyframe -> false` and `discardable -> false` (block.rs:44, :52) were
/// caught only by a doctest line.
#[test]
fn block_header_flags_are_the_rfc_bits() {
    for flags in 0..=255u8 {
        // Track 1, timecode 0, then 4 bytes of frame data: enough for any
        // lacing's count and sizes to be read or refused.
        let block = [0x81, 0x00, 0x00, flags, 0x00, 0x01, 0x01, 0x01];
        let head = match parse_block(&block, |_| {}) {
            Ok(h) => h,
            // Lacing that does not fit: still the header was read.
            Err(_) => {
                assert_ne!(flags & 0x06, 0, "{flags:#04x}: no lacing must parse");
                continue;
            }
        };
        assert_eq!(head.flags, flags);
        assert_eq!(head.keyframe(), flags & 0x80 != 0, "{flags:#04x}");
        assert_eq!(head.invisible(), flags & 0x08 != 0, "{flags:#04x}");
        assert_eq!(head.discardable(), flags & 0x01 != 0, "{flags:#04x}");
        let lacing = match flags & 0x06 {
            0x00 => Lacing::None,
            0x02 => Lacing::Xiph,
            0x04 => Lacing::Fixed,
            _ => Lacing::Ebml,
        };
        assert_eq!(head.lacing(), lacing, "{flags:#04x}");
    }
}

/// Schema entries against RFC 9559's element table (name, ID, parent,
/// master or not). Deleting the `info` match arms of WritingApp,
/// FlagLacing, BlockDuration, CueClusterPosition and TagTrackUID
/// (ids.rs:164, :175, :206, :217, :229) changed nothing a
/// decoder test sees (an unknown ID inside Info or a TrackEntry is skipped
/// the same way), only the name a `dump` prints; deleting Video's
/// (ids.rs:185) made it a leaf to the element reader, which the mkvinfo
/// comparison allows (mkvinfo knows more elements than the schema).
#[test]
fn schema_entries_match_the_rfc_table() {
    use kvs_mkv::matroska::ids;
    for (id, name, parent, master) in [
        (0x5741, "WritingApp", INFO, false),
        (0x4D80, "MuxingApp", INFO, false),
        (0x9C, "FlagLacing", TRACK_ENTRY, false),
        (0xE0, "Video", TRACK_ENTRY, true),
        (0xE1, "Audio", TRACK_ENTRY, true),
        (0x9B, "BlockDuration", BLOCK_GROUP, false),
        (0xFB, "ReferenceBlock", BLOCK_GROUP, false),
        (0xF1, "CueClusterPosition", 0xB7, false), // in CueTrackPositions
        (0xB7, "CueTrackPositions", 0xBB, true),   // in CuePoint
        (0x63C5, "TagTrackUID", 0x63C0, false),    // in Targets
        (0x63C0, "Targets", TAG, true),
    ] {
        let info = ids::info(id).unwrap_or_else(|| panic!("{name} unknown"));
        let want = (name, Some(parent), master);
        assert_eq!((info.name, info.parent, info.master), want);
        assert!(ids::may_contain(parent, id), "{name}");
        assert_eq!(ids::is_master(id), master, "{name}");
    }
}

/// The element reader reports Video as a master (Start, its children,
/// End), as mkvinfo shows it.
#[test]
fn the_reader_opens_video() {
    use kvs_mkv::matroska::{Element, ElementReader};
    let mut buf = bytes::BytesMut::from(&head(8)[..]);
    let mut reader = ElementReader::default();
    let mut seen = Vec::new();
    while let Some(e) = reader.next_eof(&mut buf).unwrap() {
        seen.push(e);
    }
    let video_at = seen
        .iter()
        .position(|e| matches!(e, Element::Start { id: VIDEO, .. }))
        .expect("Video is a Start");
    assert!(matches!(
        seen[video_at + 1],
        Element::Leaf {
            id: PIXEL_WIDTH,
            ..
        }
    ));
    assert!(seen.iter().any(|e| matches!(
        e,
        Element::End {
            id: VIDEO,
            complete: true,
            ..
        }
    )));
}

/// reader.rs:437, `end - self.pos <= max_chunk_size` -> `end / self.pos`
/// in `skip_contents`: a master whose (damaged) known size is larger than
/// `max_chunk_size` is still read, only not reported, so the next chunk's
/// EBML header inside its claimed size ends it (`CutByNewChunk`) and the
/// next chunk is read. Passed over unread instead (the mutant), the claimed
/// size hid the next chunk.
#[test]
fn skipping_a_master_larger_than_a_chunk_still_finds_the_next_chunk() {
    use kvs_mkv::matroska::{Element, ElementReader};
    // A Cluster that claims 1 GiB (default max_chunk_size: 256 MiB).
    let first = concat(&[
        head(8),
        id(CLUSTER),
        size_w(1 << 30, 8),
        uint(TIMECODE, 0),
        simple_block(1, 0, true, &[1, 2, 3]),
    ]);
    let input = concat(&[first.clone(), plain_chunk(1000, 2)]);
    let mut buf = bytes::BytesMut::from(&input[..]);
    let mut reader = ElementReader::default();
    let (mut seen, mut errs) = (Vec::new(), Vec::new());
    let mut skipped = false;
    for _ in 0..1000 {
        match reader.next_eof(&mut buf) {
            Ok(Some(e)) => {
                if !skipped && matches!(e, Element::Start { id: CLUSTER, .. }) {
                    // Only the first chunk's Cluster.
                    reader.skip_contents();
                    skipped = true;
                }
                seen.push(e);
            }
            Ok(None) => break,
            Err(e) => errs.push(e),
        }
    }
    let headers: Vec<u64> = seen
        .iter()
        .filter_map(|e| match *e {
            Element::Start {
                id: EBML, offset, ..
            } => Some(offset),
            _ => None,
        })
        .collect();
    assert_eq!(headers, [0, first.len() as u64], "{seen:#?}");
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].kind,
        DecodeErrorKind::CutByNewChunk {
            inside: ElementId(CLUSTER)
        }
    );
    // The skipped Cluster reports only its End, cut short where the new
    // header stands.
    let cluster_end = seen
        .iter()
        .find_map(|e| match *e {
            Element::End {
                id: CLUSTER,
                offset_end,
                complete,
                ..
            } => Some((offset_end, complete)),
            _ => None,
        })
        .unwrap();
    assert_eq!(cluster_end, (first.len() as u64, false));
}
