//! Void and CRC-32 of known size at level 0 (issue F.7): between the EBML
//! header and the Segment, or between chunks, they are skipped as anywhere
//! else, and the chunk around them is decoded whole. ffprobe and mkvinfo,
//! reading such files, find the same frames (mkvinfo calls the element
//! "invalid at this position" and reads on, as this decoder now does).

mod common;

use common::ebml::*;
use common::oracle::{ffprobe_packet_sizes, mkvinfo_frame_sizes, temp_file};
use common::{decode_pieces, decode_whole, events_pieces, testdata, Item};
use kvs_mkv::{DecodeError, DecodeErrorKind, Event};

const FRAG: &str = "91343852333181432392682062607743920146159169392";

fn segment_body(frames: &[&[u8]]) -> Vec<u8> {
    let mut cluster = uint(TIMECODE, 0);
    for (i, f) in frames.iter().enumerate() {
        cluster.extend(simple_block(1, 33 * i as i16, i == 0, f));
    }
    concat(&[
        info(1_000_000),
        el(TRACKS, &video_track(1, "V_MPEG4/ISO/AVC", &[1], 640, 480)),
        el(CLUSTER, &cluster),
    ])
}

/// A chunk with an unknown-size Segment, `before` between its EBML header
/// and its Segment.
fn chunk_with(before: &[u8], frames: &[&[u8]]) -> Vec<u8> {
    concat(&[
        ebml_header(),
        before.to_vec(),
        open_unknown(SEGMENT, 8),
        segment_body(frames),
    ])
}

/// A chunk whose Segment has a known size.
fn known_size_chunk(frames: &[&[u8]]) -> Vec<u8> {
    concat(&[ebml_header(), el(SEGMENT, &segment_body(frames))])
}

/// A GetMedia chunk: unknown-size Segment, ended by its token.
fn token_chunk(frames: &[&[u8]]) -> Vec<u8> {
    concat(&[
        chunk_with(&[], frames),
        tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", FRAG)], 1),
    ])
}

fn padding() -> Vec<u8> {
    concat(&[el(VOID, &[0; 10]), el(CRC32, &[0xDE, 0xAD, 0xBE, 0xEF])])
}

/// Chunks as (offset, length, frames' bytes, complete), and the errors.
type Chunks = Vec<(u64, u64, Vec<Vec<u8>>, bool)>;

fn summary(items: &[Item]) -> (Chunks, Vec<DecodeError>) {
    let mut chunks = Vec::new();
    let mut errors = Vec::new();
    for i in items {
        match i {
            Item::Chunk(c) => chunks.push((
                c.info().offset,
                c.info().length,
                c.frames().iter().map(|f| f.data().to_vec()).collect(),
                c.is_complete(),
            )),
            Item::Error(e) => errors.push(e.clone()),
        }
    }
    (chunks, errors)
}

/// Decodes whole, byte by byte and with the EventDecoder: all must agree.
fn decode(input: &[u8]) -> (Chunks, Vec<DecodeError>) {
    let whole = decode_whole(input);
    assert_eq!(decode_pieces(input, &[1]), whole, "split invariance");
    let (chunks, errors) = summary(&whole);
    // The EventDecoder: the same frames and ends, the same errors.
    let mut streamed: Chunks = Vec::new();
    let mut frames = Vec::new();
    let mut stream_errors = Vec::new();
    for e in events_pieces(input, &[7]) {
        match e {
            Ok(Event::Frame(f)) => frames.push(f.data().to_vec()),
            Ok(Event::End(i)) => {
                streamed.push((i.offset, i.length, std::mem::take(&mut frames), i.complete))
            }
            Ok(Event::Start(_)) => {}
            Err(e) => stream_errors.push(e),
        }
    }
    assert_eq!(streamed, chunks, "EventDecoder");
    assert_eq!(stream_errors, errors, "EventDecoder");
    (chunks, errors)
}

fn frames(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|f| f.to_vec()).collect()
}

#[test]
fn void_and_crc32_between_the_ebml_header_and_the_segment_are_skipped() {
    let a = chunk_with(&padding(), &[b"key", b"delta"]);
    let b = chunk_with(&el(VOID, &[]), &[b"next"]);
    let input = concat(&[a.clone(), b.clone()]);
    let (chunks, errors) = decode(&input);
    assert_eq!(errors, []);
    assert_eq!(
        chunks,
        [
            (0, a.len() as u64, frames(&[b"key", b"delta"]), true),
            (a.len() as u64, b.len() as u64, frames(&[b"next"]), true),
        ]
    );
}

#[test]
fn void_and_crc32_between_chunks_are_skipped() {
    // After a Segment of known size, and after a GetMedia chunk's token
    // (where a Segment could go on: a Void continues nothing).
    for first in [known_size_chunk(&[b"one"]), token_chunk(&[b"one"])] {
        let second = token_chunk(&[b"two", b"three"]);
        let input = concat(&[first.clone(), padding(), second.clone()]);
        let (chunks, errors) = decode(&input);
        assert_eq!(errors, []);
        let at = (first.len() + padding().len()) as u64;
        assert_eq!(
            chunks,
            [
                (0, first.len() as u64, frames(&[b"one"]), true),
                (at, second.len() as u64, frames(&[b"two", b"three"]), true),
            ]
        );
    }
}

/// A Segment that goes on after a token still goes on after a Void.
#[test]
fn a_segment_goes_on_after_a_token_and_a_void() {
    let first = token_chunk(&[b"one"]);
    let more = el(
        CLUSTER,
        &concat(&[uint(TIMECODE, 1000), simple_block(1, 0, true, b"two")]),
    );
    let input = concat(&[first.clone(), el(VOID, &[0; 3]), more.clone()]);
    let (chunks, errors) = decode(&input);
    assert_eq!(errors, []);
    let at = first.len() as u64 + 5;
    assert_eq!(
        chunks,
        [
            (0, first.len() as u64, frames(&[b"one"]), true),
            (at, more.len() as u64, frames(&[b"two"]), true),
        ]
    );
}

#[test]
fn input_cut_inside_a_level0_void() {
    let void = el(VOID, &[0; 100]);
    let truncated = |offset: usize| DecodeError {
        offset: offset as u64,
        skipped: 0,
        kind: DecodeErrorKind::Truncated {
            inside: kvs_mkv::ElementId(VOID),
        },
    };
    // Between chunks: the chunk before is whole.
    let first = known_size_chunk(&[b"one"]);
    let input = concat(&[first.clone(), void.clone()]);
    let cut = &input[..first.len() + 50];
    let (chunks, errors) = decode(cut);
    assert_eq!(chunks, [(0, first.len() as u64, frames(&[b"one"]), true)]);
    assert_eq!(errors, [truncated(cut.len())]);
    // Before the Segment: the chunk so far, incomplete.
    let input = concat(&[ebml_header(), void]);
    let cut = &input[..ebml_header().len() + 50];
    let (chunks, errors) = decode(cut);
    assert_eq!(chunks, [(0, cut.len() as u64, vec![], false)]);
    assert_eq!(errors, [truncated(cut.len())]);
}

/// What stays an error: a Void of unknown size, and one larger than a
/// chunk may be. Decoding goes on at the next chunk.
#[test]
fn unknown_size_and_oversized_level0_voids_are_errors() {
    let next = token_chunk(&[b"next"]);
    let unknown = concat(&[ebml_header(), open_unknown(VOID, 1), next.clone()]);
    let (chunks, errors) = decode(&unknown);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].offset, ebml_header().len() as u64);
    assert_eq!(
        errors[0].kind,
        DecodeErrorKind::UnknownSize {
            id: kvs_mkv::ElementId(VOID)
        }
    );
    assert_eq!(chunks.last().unwrap().2, frames(&[b"next"]));

    let huge = [id(VOID), size_w(1 << 40, 8)].concat();
    let before_segment = concat(&[ebml_header(), huge.clone(), next.clone()]);
    let (chunks, errors) = decode(&before_segment);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].offset, ebml_header().len() as u64);
    assert!(
        matches!(errors[0].kind, DecodeErrorKind::ChunkTooLarge { .. }),
        "{}",
        errors[0]
    );
    assert_eq!(chunks.last().unwrap().2, frames(&[b"next"]));

    let first = known_size_chunk(&[b"one"]);
    let between = concat(&[first.clone(), huge, next.clone()]);
    let (chunks, errors) = decode(&between);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].offset, first.len() as u64);
    assert!(
        matches!(errors[0].kind, DecodeErrorKind::ElementTooLarge { .. }),
        "{}",
        errors[0]
    );
    let got: Vec<_> = chunks.iter().map(|c| c.2.clone()).collect();
    assert_eq!(got, [frames(&[b"one"]), frames(&[b"next"])]);
}

/// The length of the EBML header at the start of `chunk`, read from its
/// size field here (not by the crate).
fn ebml_header_len(chunk: &[u8]) -> usize {
    assert_eq!(&chunk[..4], [0x1A, 0x45, 0xDF, 0xA3]);
    let width = chunk[4].leading_zeros() as usize + 1;
    let mut size = u64::from(chunk[4]) & (0xFFu64 >> width);
    for &b in &chunk[5..4 + width] {
        size = size << 8 | u64::from(b);
    }
    4 + width + size as usize
}

/// Where each chunk of a body begins: a plain search for the EBML ID.
fn chunk_starts(body: &[u8]) -> Vec<usize> {
    (0..body.len().saturating_sub(3))
        .filter(|&i| body[i..i + 4] == [0x1A, 0x45, 0xDF, 0xA3])
        .collect()
}

/// testdata/sample.mkv with a Void and a CRC-32 after the first chunk's
/// EBML header, and with them between the first and second chunks: the
/// decoder's frames are ffprobe's packets and mkvinfo's frames, and the
/// frames of the unpadded file.
#[test]
fn padded_sample_reads_the_same_in_ffprobe_and_mkvinfo() {
    let sample = testdata("sample.mkv");
    let starts = chunk_starts(&sample);
    assert_eq!(starts.len(), 3);
    let first = &sample[..starts[1]];
    let h = ebml_header_len(first);
    let variants = [
        (
            "level0-first-chunk.mkv",
            concat(&[first[..h].to_vec(), padding(), first[h..].to_vec()]),
            first.to_vec(),
        ),
        (
            "level0-between-chunks.mkv",
            concat(&[first.to_vec(), padding(), sample[starts[1]..].to_vec()]),
            sample.clone(),
        ),
    ];
    let tools = common::tool("ffprobe") && common::tool("mkvinfo");
    for (name, padded, plain) in variants {
        let (chunks, errors) = summary(&decode_whole(&padded));
        assert_eq!(errors, [], "{name}");
        assert!(chunks.iter().all(|c| c.3), "{name}: all complete");
        let sizes: Vec<u64> = chunks
            .iter()
            .flat_map(|c| c.2.iter().map(|f| f.len() as u64))
            .collect();
        let (plain_chunks, _) = summary(&decode_whole(&plain));
        let plain_frames: Vec<_> = plain_chunks.iter().flat_map(|c| c.2.clone()).collect();
        let padded_frames: Vec<_> = chunks.iter().flat_map(|c| c.2.clone()).collect();
        assert_eq!(padded_frames, plain_frames, "{name}");
        if !tools {
            continue;
        }
        let path = temp_file(name, &padded);
        assert_eq!(sizes, ffprobe_packet_sizes(&path), "{name}: ffprobe");
        let (mkvinfo_sizes, text) = mkvinfo_frame_sizes(&path);
        assert_eq!(sizes, mkvinfo_sizes, "{name}: mkvinfo");
        assert!(text.contains("EBML void"), "{name}: mkvinfo saw the Void");
        std::fs::remove_file(path).unwrap();
    }
}
