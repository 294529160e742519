//! The fast paths (the whole-chunk SimpleBlock run, the streaming block,
//! the wait for a block's bytes) must change nothing but the cost. Each
//! generated stream - every Cluster and Segment form, sizes of every width,
//! lacing and odd flags, BlockGroups with durations, timecodes at the i64
//! edge, damaged and truncated bytes, random limits - is decoded by both
//! decoders with and without the fast paths, whole and in pieces, and the
//! results must be equal. The general path (`general_path_only`) is the
//! reference.
//!
//! Written by the review of the fast paths, which found that the other
//! tests compare a fast path with itself: with it, a dropped per-frame cost
//! or an ignored Cluster bound is caught within the first 30 streams.
//! `FUZZ_N=300000 cargo test --release --lib decoder::tests::fast_paths`
//! runs longer.

use super::ebml::*;
use crate::chunk::Chunk;
use crate::decoder::{ChunkDecoder, Event, EventDecoder};
use crate::error::{DecodeError, Error};
use crate::limits::Limits;
use bytes::BytesMut;
use tokio_util::codec::Decoder;

/// xorshift64: deterministic streams, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

fn sized(r: &mut Rng, i: u32, payload: &[u8]) -> Vec<u8> {
    let n = payload.len() as u64;
    let min = (1..=8).find(|&w| n < (1u64 << (7 * w)) - 1).unwrap();
    let w = match r.below(10) {
        0 => min.max(2),
        1 => min.max(3),
        2 => min.max(1 + r.below(8) as usize),
        _ => min,
    };
    [id(i), size_w(n, w), payload.to_vec()].concat()
}

/// A block's relative timecode: i16::MAX or MIN once in `one_in` each,
/// else from -50 to 149.
fn block_timecode(r: &mut Rng, one_in: u64) -> i16 {
    match r.below(one_in) {
        0 => i16::MAX,
        1 => i16::MIN,
        _ => (r.below(200) as i16) - 50,
    }
}

fn block_payload(r: &mut Rng) -> Vec<u8> {
    let mut b = Vec::new();
    if r.chance(10) {
        // 2-byte track VINT
        let t = 1 + r.below(300);
        b.extend([0x40 | (t >> 8) as u8, t as u8]);
    } else if r.chance(5) {
        b.push([0x80, 0xFF][r.below(2) as usize]);
    } else {
        b.push(0x80 | (1 + r.below(126)) as u8);
    }
    let tc = block_timecode(r, 6);
    b.extend(tc.to_be_bytes());
    let flags = match r.below(8) {
        0 => r.below(256) as u8,
        1 => 0x02 | 0x80,
        2 => 0x06,
        3 => 0x09,
        4 => 0x81,
        _ => 0x80 * r.below(2) as u8,
    };
    b.push(flags);
    if flags & 0x06 != 0 && r.chance(70) {
        let n = r.below(4) as u8;
        b.push(n);
        for _ in 0..n {
            b.push(r.below(6) as u8);
        }
    }
    let len = match r.below(10) {
        0 => 0,
        1 => 200 + r.below(300) as usize,
        _ => r.below(40) as usize,
    };
    b.extend((0..len).map(|i| i as u8));
    if r.chance(5) {
        b.truncate(r.below(4) as usize);
    }
    b
}

fn cluster_body(r: &mut Rng) -> Vec<u8> {
    let mut c = Vec::new();
    if !r.chance(5) {
        let tc = match r.below(8) {
            0 => i64::MAX as u64,
            1 => i64::MAX as u64 - 5,
            2 => u64::MAX - 3,
            3 => (i64::MAX as u64) + 1,
            4 if r.chance(50) => i64::MAX as u64 - 0x7FFF + r.below(3) - 1,
            _ => r.below(100_000),
        };
        c.extend(uint(TIMECODE, tc));
    }
    for _ in 0..r.below(12) {
        match r.below(12) {
            0..=6 => {
                let p = block_payload(r);
                c.extend(sized(r, SIMPLE_BLOCK, &p))
            }
            7 | 8 => {
                let p = block_payload(r);
                let mut g = sized(r, BLOCK, &p);
                if r.chance(60) {
                    g.extend(uint(BLOCK_DURATION, r.below(1000)));
                }
                if r.chance(30) {
                    g.extend(uint(REFERENCE_BLOCK, 1));
                }
                c.extend(sized(r, BLOCK_GROUP, &g));
            }
            9 => {
                if r.chance(50) {
                    c.extend(el(VOID, &[0; 3]))
                } else {
                    // unknown-size unknown master, then stuff
                    c.extend(open_unknown(0x4F4F, 1 + r.below(2) as usize));
                    c.extend(el(VOID, &[0; 2]));
                }
            }
            10 => c.extend(uint(TIMECODE, r.below(1000))),
            11 if r.chance(30) => {
                // a SimpleBlock of unknown size, in any width
                let p = block_payload(r);
                c.extend([id(SIMPLE_BLOCK), unknown_w(1 + r.below(8) as usize), p].concat())
            }
            _ => {
                // a raw SimpleBlock ID with a random byte after
                c.extend([0xA3, r.below(256) as u8]);
            }
        }
    }
    c
}

fn chunk(r: &mut Rng) -> Vec<u8> {
    let mut seg = Vec::new();
    if r.chance(70) {
        let scale = match r.below(4) {
            0 => 1,
            1 => u64::MAX / 3,
            _ => 1_000_000,
        };
        seg.extend(info(scale));
    }
    seg.extend(el(TRACKS, &video_track(1, "V_X", b"pp", 2, 2)));
    if r.chance(40) {
        seg.extend(tags_w(&[("A", "b")], 1));
    }
    for _ in 0..1 + r.below(3) {
        if r.chance(20) {
            seg.extend(info([0, 1, 7, 1_000, u64::MAX / 3][r.below(5) as usize]));
        }
        let body = cluster_body(r);
        let form = [
            Form::Unknown,
            Form::Unknown,
            Form::Wrong,
            Form::Exact,
            Form::Exact,
        ];
        seg.extend(master(r, CLUSTER, body, &form));
    }
    for _ in 0..r.below(3) {
        if r.chance(50) {
            seg.extend(tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "123")], 1));
        }
        for _ in 0..r.below(3) {
            if r.chance(20) {
                seg.extend(info([1, 7, 1_000][r.below(3) as usize]));
            }
            let body = cluster_body(r);
            if r.chance(50) {
                seg.extend([open_unknown(CLUSTER, 1 + r.below(8) as usize), body].concat())
            } else {
                seg.extend(el(CLUSTER, &body))
            }
        }
    }
    let form = [Form::Unknown, Form::Wrong, Form::Exact, Form::Unknown];
    [ebml_header(), master(r, SEGMENT, seg, &form)].concat()
}

/// How [`master`] writes an element's size.
#[derive(Clone, Copy)]
enum Form {
    /// Unknown, in a random width.
    Unknown,
    /// Off by -4 to +4 (never below 0).
    Wrong,
    /// Exact, in a random width (mostly the shortest).
    Exact,
}

/// Master element `i` around `body`, its size written in one of `forms`.
fn master(r: &mut Rng, i: u32, body: Vec<u8>, forms: &[Form]) -> Vec<u8> {
    match forms[r.below(forms.len() as u64) as usize] {
        Form::Unknown => [open_unknown(i, 1 + r.below(8) as usize), body].concat(),
        Form::Wrong => {
            let n = (body.len() as i64 + r.below(9) as i64 - 4).max(0) as u64;
            [id(i), size(n), body].concat()
        }
        Form::Exact => sized(r, i, &body),
    }
}

fn stream(r: &mut Rng) -> Vec<u8> {
    let mut s = Vec::new();
    for _ in 0..1 + r.below(3) {
        s.extend(chunk(r));
    }
    let flips = if r.chance(20) { 1 + r.below(4) } else { 0 };
    for _ in 0..flips {
        if s.is_empty() {
            break;
        }
        let i = r.below(s.len() as u64) as usize;
        s[i] = r.below(256) as u8;
    }
    if r.chance(10) {
        let n = r.below(s.len() as u64) as usize;
        s.truncate(n);
    }
    s
}

fn limits(r: &mut Rng) -> Limits {
    let mut l = Limits::default();
    if r.chance(15) {
        l.max_element_size = [0, 3, 4, 5, 10, 30, 100][r.below(7) as usize];
    }
    if r.chance(30) {
        l.max_chunk_size = 50 + r.below(3000);
    }
    if r.chance(5) {
        l.max_element_size = u64::MAX;
        l.max_chunk_size = u64::MAX - r.below(2000);
    }
    if r.chance(10) {
        l.max_depth = r.below(6) as usize;
    }
    if r.chance(10) {
        l.max_tags_per_chunk = r.below(3) as usize;
    }
    l
}

#[derive(Debug, PartialEq)]
enum Item {
    Chunk(Box<crate::chunk::Chunk>),
    Error(DecodeError),
}

fn pieces_of(len: usize, sizes: &[usize]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < len {
        let n = sizes[i % sizes.len()].max(1).min(len - at);
        v.push((at, at + n));
        at += n;
        i += 1;
    }
    v
}

/// Feeds `input` in pieces of `sizes` (cycled) to `decoder`, then ends it;
/// decoding errors are items.
fn run<D: Decoder<Error = Error>>(
    decoder: D,
    input: &[u8],
    sizes: &[usize],
) -> Vec<Result<D::Item, DecodeError>> {
    run_counted(decoder, input, sizes).0
}

/// [`run`], with how many items were out after each piece: a path may not
/// hold back what another hands out as soon as it is in.
fn run_counted<D: Decoder<Error = Error>>(
    mut decoder: D,
    input: &[u8],
    sizes: &[usize],
) -> (Vec<Result<D::Item, DecodeError>>, Vec<usize>) {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut counts = Vec::new();
    let mut step = |buf: &mut BytesMut, out: &mut Vec<_>, eof: bool| loop {
        let r = if eof {
            decoder.decode_eof(buf)
        } else {
            decoder.decode(buf)
        };
        match r {
            Ok(Some(x)) => out.push(Ok(x)),
            Ok(None) => break,
            Err(Error::Decode(e)) => out.push(Err(e)),
            Err(e) => panic!("{e}"),
        }
    };
    for (a, b) in pieces_of(input.len(), sizes) {
        buf.extend_from_slice(&input[a..b]);
        step(&mut buf, &mut out, false);
        counts.push(out.len());
    }
    step(&mut buf, &mut out, true);
    (out, counts)
}

fn chunks(input: &[u8], sizes: &[usize], l: Limits, fast: bool) -> Vec<Item> {
    let decoder = if fast {
        ChunkDecoder::with_limits(l)
    } else {
        ChunkDecoder::general_path_only(l)
    };
    run(decoder, input, sizes)
        .into_iter()
        .map(|r| r.map_or_else(Item::Error, |c| Item::Chunk(Box::new(c))))
        .collect()
}

/// How many chunks and errors a ChunkDecoder has handed out after each
/// piece (see [`run_counted`]).
fn chunks_counted(input: &[u8], sizes: &[usize], l: Limits, fast: bool) -> Vec<usize> {
    let decoder = if fast {
        ChunkDecoder::with_limits(l)
    } else {
        ChunkDecoder::general_path_only(l)
    };
    run_counted(decoder, input, sizes).1
}

fn events(input: &[u8], sizes: &[usize], l: Limits, fast: bool) -> Vec<Result<Event, DecodeError>> {
    let decoder = if fast {
        EventDecoder::with_limits(l)
    } else {
        EventDecoder::general_path_only(l)
    };
    run(decoder, input, sizes)
}

/// [`events`] with [`run_counted`]'s counts.
type Counted = (Vec<Result<Event, DecodeError>>, Vec<usize>);

fn events_counted(input: &[u8], sizes: &[usize], l: Limits, fast: bool) -> Counted {
    let decoder = if fast {
        EventDecoder::with_limits(l)
    } else {
        EventDecoder::general_path_only(l)
    };
    run_counted(decoder, input, sizes)
}

fn frames(items: &[Item]) -> usize {
    items
        .iter()
        .map(|i| match i {
            Item::Chunk(c) => c.frames().len(),
            Item::Error(_) => 0,
        })
        .sum()
}

/// Decodes `input` with and without the fast paths, by both decoders,
/// whole and in `sizes` pieces: the general path's chunks, and what differs.
fn compare(input: &[u8], l: Limits, sizes: &[usize]) -> (Vec<Item>, Vec<&'static str>) {
    let whole = [input.len().max(1)];
    let reference = chunks(input, &whole, l, false);
    let events_reference = events(input, &whole, l, false);
    let mut why = Vec::new();
    if chunks(input, &whole, l, true) != reference {
        why.push("ChunkDecoder whole");
    }
    if chunks(input, sizes, l, true) != reference {
        why.push("ChunkDecoder in pieces");
    }
    if chunks(input, sizes, l, false) != reference {
        why.push("ChunkDecoder in pieces, general path");
    }
    if chunks_counted(input, sizes, l, true) != chunks_counted(input, sizes, l, false) {
        why.push("ChunkDecoder in pieces, chunks out per piece");
    }
    if events(input, &whole, l, true) != events_reference {
        why.push("EventDecoder whole");
    }
    let in_pieces = events_counted(input, sizes, l, true);
    if in_pieces.0 != events_reference {
        why.push("EventDecoder in pieces");
    }
    if in_pieces.1 != events_counted(input, sizes, l, false).1 {
        why.push("EventDecoder in pieces, events out per piece");
    }
    (reference, why)
}

/// Fails listing the first ten of `failures`, if any.
fn assert_none_differ(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

/// An unknown-size Cluster with Timestamp `tc` and a 9-byte keyframe on
/// track 1 at each of `blocks` (relative timecodes; keyframe when 0).
fn cluster(tc: u64, blocks: &[i16]) -> Vec<u8> {
    let mut c = open_unknown(CLUSTER, 8);
    c.extend(uint(TIMECODE, tc));
    for &t in blocks {
        c.extend(simple_block(1, t, t == 0, &[0xAB; 9]));
    }
    c
}

/// How many streams the differential tests decode (`FUZZ_N`, else `default`).
fn streams_to_run(default: u64) -> u64 {
    std::env::var("FUZZ_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// [`compare`]s `n` inputs, each made by `make` (stream, limits, piece
/// sizes) from its own seeded generator: the frames and errors the general
/// path found, and the seeds whose results differ.
fn differential(
    n: u64,
    make: impl Fn(&mut Rng) -> (Vec<u8>, Limits, Vec<usize>),
) -> (usize, usize, Vec<String>) {
    let (mut total_frames, mut errors, mut failures) = (0, 0, Vec::new());
    for seed in 1..=n {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let (input, l, sizes) = make(&mut r);
        let (reference, why) = compare(&input, l, &sizes);
        total_frames += frames(&reference);
        errors += reference
            .iter()
            .filter(|i| matches!(i, Item::Error(_)))
            .count();
        if !why.is_empty() {
            failures.push(format!("seed {seed}: {why:?}, {l:?}, pieces {sizes:?}"));
        }
    }
    (total_frames, errors, failures)
}

/// Up to `count` piece sizes (fed in turn), each from 1 to one of `most`.
fn piece_sizes(r: &mut Rng, count: u64, most: [u64; 4]) -> Vec<usize> {
    (0..1 + r.below(count))
        .map(|_| {
            let upto = most[r.below(4) as usize];
            1 + r.below(upto) as usize
        })
        .collect()
}

/// With a chance of `flip` in 100, one to three bytes of `input` replaced;
/// with a chance of 10, `input` cut short.
fn flip_and_cut(r: &mut Rng, input: &mut Vec<u8>, flip: u64) {
    if r.chance(flip) {
        for _ in 0..1 + r.below(3) {
            let i = r.below(input.len() as u64) as usize;
            input[i] = r.below(256) as u8;
        }
    }
    if r.chance(10) {
        input.truncate(r.below(input.len() as u64) as usize);
    }
}

/// Pieces of 1 byte, of 1460, of 64 KiB, or a few of mixed sizes.
fn some_pieces(r: &mut Rng) -> Vec<usize> {
    match r.below(4) {
        0 => vec![1],
        1 => vec![1460],
        2 => vec![65536],
        _ => piece_sizes(r, 5, [1, 10, 60, 1460]),
    }
}

#[test]
fn fast_paths_agree_with_the_general_path() {
    let n = streams_to_run(2000);
    let (total_frames, errors, failures) = differential(n, |r| {
        let input = stream(r);
        let l = limits(r);
        // (Up to 8 bytes: pieces that split a block's head.)
        let sizes = piece_sizes(r, 5, [1, 10, 8, 500]);
        (input, l, sizes)
    });
    eprintln!("{n} streams: {total_frames} frames, {errors} errors in the reference");
    // The generator must exercise both frames and damage.
    assert!(total_frames > n as usize && errors > n as usize / 10);
    assert_none_differ(&failures);
}

/// Every `max_chunk_size` around the sizes of a few streams, with element
/// size limits around a block's: where a limit bites must not depend on the
/// path.
#[test]
fn limits_bite_at_the_same_place() {
    let mut failures = Vec::new();
    for seed in 1..40u64 {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let input = loop {
            let s = stream(&mut r);
            if frames(&chunks(&s, &[s.len().max(1)], Limits::default(), false)) >= 3 {
                break s;
            }
        };
        let top = input.len() as u64 + 40 * 130;
        let mut max_chunk = 0;
        while max_chunk < top {
            for max_element in [0u64, 4, 5, 6, 20, 64 << 20] {
                let l = Limits {
                    max_chunk_size: max_chunk,
                    max_element_size: max_element,
                    ..Limits::default()
                };
                let whole = [input.len().max(1)];
                let reference = chunks(&input, &whole, l, false);
                let events_reference = events(&input, &whole, l, false);
                for sizes in [&whole[..], &[1], &[3, 7]] {
                    if chunks(&input, sizes, l, true) != reference {
                        failures.push(format!(
                            "chunks: seed {seed} {max_chunk} {max_element} {sizes:?}"
                        ));
                    }
                    if events(&input, sizes, l, true) != events_reference {
                        failures.push(format!(
                            "events: seed {seed} {max_chunk} {max_element} {sizes:?}"
                        ));
                    }
                }
            }
            max_chunk += 1 + max_chunk / 16;
        }
    }
    assert_none_differ(&failures);
}

/// An Info after a Cluster changes the TimecodeScale of the frames after
/// it, not before: checked against the values written, for both decoders,
/// with and without the fast paths, whole and in pieces. (The frame records
/// of a whole chunk keep the scale apart from each frame, by first index.)
#[test]
fn a_timecode_scale_changed_inside_a_chunk_applies_from_there_on() {
    let seg = concat(&[
        info(1_000_000),
        el(TRACKS, &video_track(1, "V_X", b"", 2, 2)),
        cluster(10, &[0, 1, 2]),
        info(1_000),
        cluster(20, &[0, 5]),
        info(1_000),
        cluster(30, &[1]),
        info(7),
        cluster(40, &[2, 3]),
    ]);
    let input = [ebml_header(), open_unknown(SEGMENT, 8), seg].concat();
    let want: Vec<(i64, u64)> = vec![
        (10, 1_000_000),
        (11, 1_000_000),
        (12, 1_000_000),
        (20, 1_000),
        (25, 1_000),
        (31, 1_000),
        (42, 7),
        (43, 7),
    ];
    for sizes in [&[usize::MAX][..], &[1][..], &[7, 3][..], &[40][..]] {
        for fast in [true, false] {
            let items = chunks(&input, sizes, Limits::default(), fast);
            let got: Vec<(i64, u64)> = items
                .iter()
                .flat_map(|i| match i {
                    Item::Chunk(c) => c.frames().to_vec(),
                    Item::Error(e) => panic!("{e}"),
                })
                .map(|f| (f.timecode(), f.timecode_scale()))
                .collect();
            assert_eq!(got, want, "ChunkDecoder, pieces {sizes:?}, fast {fast}");
            let got: Vec<(i64, u64)> = events(&input, sizes, Limits::default(), fast)
                .into_iter()
                .filter_map(|e| match e.expect("no error") {
                    Event::Frame(f) => Some((f.timecode(), f.timecode_scale())),
                    _ => None,
                })
                .collect();
            assert_eq!(got, want, "EventDecoder, pieces {sizes:?}, fast {fast}");
        }
    }
}

// Written by the review of the reworked SimpleBlock run: long runs of
// small clean blocks, which the generator above rarely makes, with limits
// around the stream's own sizes.

fn run_block(r: &mut Rng) -> Vec<u8> {
    let mut b = Vec::new();
    match r.below(40) {
        0 => b.extend([0x40, 0x81]),
        1 => b.push(0x80),
        2 => b.push(0xFF),
        _ => b.push(0x81 + r.below(3) as u8),
    }
    let tc = block_timecode(r, 10);
    b.extend(tc.to_be_bytes());
    let flags = match r.below(30) {
        0 => 0x02,
        1 => r.below(256) as u8,
        2 => 0x89,
        _ => 0x80 * r.below(2) as u8,
    };
    b.push(flags);
    if flags & 0x06 != 0 {
        b.extend([1, 3]);
    }
    let len = match r.below(20) {
        0 => 0,
        1 => 120 + r.below(20) as usize,
        2 => 16_380 + r.below(10) as usize,
        _ => r.below(30) as usize,
    };
    b.extend((0..len).map(|i| i as u8));
    if r.chance(1) {
        b.truncate(r.below(4) as usize);
    }
    match r.below(200) {
        0 => [id(SIMPLE_BLOCK), unknown_w(1 + r.below(8) as usize), b].concat(),
        1 => {
            let g = [sized(r, BLOCK, &b), uint(BLOCK_DURATION, 5)].concat();
            el(BLOCK_GROUP, &g)
        }
        _ => sized(r, SIMPLE_BLOCK, &b),
    }
}

fn run_chunk(r: &mut Rng) -> Vec<u8> {
    let mut seg = Vec::new();
    seg.extend(info([1, 1_000_000, u64::MAX / 3][r.below(3) as usize]));
    seg.extend(el(TRACKS, &video_track(1, "V_X", b"pp", 2, 2)));
    for _ in 0..1 + r.below(4) {
        if r.chance(15) {
            seg.extend(info([7, 1_000, 1_000_000][r.below(3) as usize]));
        }
        let mut c = Vec::new();
        let tc = match r.below(10) {
            0 => i64::MAX as u64 - 0x7FFF,
            1 => i64::MAX as u64 - 0x8000,
            2 => i64::MAX as u64 - 0x7FFE,
            3 => i64::MAX as u64,
            _ => r.below(100_000),
        };
        c.extend(uint(TIMECODE, tc));
        for _ in 0..r.below(60) {
            c.extend(run_block(r));
        }
        let form = [Form::Unknown, Form::Unknown, Form::Wrong, Form::Exact];
        seg.extend(master(r, CLUSTER, c, &form));
    }
    let form = [Form::Unknown, Form::Wrong, Form::Exact];
    [ebml_header(), master(r, SEGMENT, seg, &form)].concat()
}

fn run_stream(r: &mut Rng) -> Vec<u8> {
    let mut s = Vec::new();
    for _ in 0..1 + r.below(2) {
        s.extend(run_chunk(r));
    }
    if r.chance(20) {
        let i = r.below(s.len() as u64) as usize;
        s[i] = r.below(256) as u8;
    }
    if r.chance(10) {
        let n = r.below(s.len() as u64) as usize;
        s.truncate(n);
    }
    s
}

#[test]
fn long_clean_runs_agree() {
    let n = streams_to_run(3000);
    let (frames_seen, errors, failures) = differential(n, |r| {
        let input = run_stream(r);
        let mut l = Limits::default();
        match r.below(4) {
            0 => l.max_chunk_size = r.below(input.len() as u64 + 200 * 130),
            1 => {
                l.max_chunk_size = u64::MAX - r.below(3000);
                l.max_element_size = u64::MAX - r.below(2);
            }
            _ => {}
        }
        if r.chance(15) {
            l.max_element_size = [3, 4, 5, 6, 20, 140, 16_390][r.below(7) as usize];
        }
        let sizes = piece_sizes(r, 4, [8, 40, 2000, 20000]);
        (input, l, sizes)
    });
    eprintln!("{n} streams, {frames_seen} frames, {errors} errors");
    assert_none_differ(&failures);
}

/// Runs of the smallest SimpleBlocks (6 bytes: an empty frame) under every
/// `max_chunk_size` around where the per-frame cost bites: the room-free
/// variant of the run may only be chosen when no block could meet the limit,
/// and the streaming block must stop at the limit where the general path does.
#[test]
fn smallest_blocks_meet_the_chunk_limit_at_the_same_place() {
    let mut failures = Vec::new();
    for n in [1usize, 2, 3, 5, 8, 13, 30] {
        let mut c = open_unknown(CLUSTER, 8);
        c.extend(uint(TIMECODE, 1000));
        for i in 0..n {
            c.extend(simple_block(1, i as i16, i % 3 == 0, &[]));
        }
        let input = concat(&[
            ebml_header(),
            open_unknown(SEGMENT, 8),
            info(1_000_000),
            el(TRACKS, &video_track(1, "V_X", b"", 2, 2)),
            c,
        ]);
        let top = input.len() as u64 + (n as u64 + 2) * 130;
        for max in 0..top {
            let l = Limits {
                max_chunk_size: max,
                ..Limits::default()
            };
            let whole = [input.len()];
            let reference = chunks(&input, &whole, l, false);
            let events_reference = events(&input, &whole, l, false);
            for sizes in [&whole[..], &[1][..], &[7][..], &[50][..]] {
                if chunks(&input, sizes, l, true) != reference {
                    failures.push(format!(
                        "{n} blocks, max_chunk_size {max}, pieces {sizes:?}"
                    ));
                }
                // The streaming block meets the same limit (bytes only).
                if events(&input, sizes, l, true) != events_reference {
                    failures.push(format!(
                        "events: {n} blocks, max_chunk_size {max}, pieces {sizes:?}"
                    ));
                }
            }
        }
    }
    assert_none_differ(&failures);
}

/// The TimecodeScale side list starts anew with each chunk: a chunk whose
/// scale changed inside it must not lend its first scale to the next
/// chunk's frames. (Both paths share the list, so only values written in
/// the test can catch this, not a comparison of the two paths.)
#[test]
fn the_next_chunk_does_not_inherit_the_scale_list() {
    let chunk =
        |parts: &[Vec<u8>]| [ebml_header(), open_unknown(SEGMENT, 8), concat(parts)].concat();
    let tracks = el(TRACKS, &video_track(1, "V_X", b"", 2, 2));
    let input = [
        chunk(&[
            info(1_000_000),
            tracks.clone(),
            cluster(10, &[0, 1, 2]),
            info(1_000),
            cluster(20, &[0]),
        ]),
        chunk(&[info(1_000), tracks, cluster(30, &[0, 1, 2, 3])]),
    ]
    .concat();
    let want: Vec<Vec<(i64, u64)>> = vec![
        vec![
            (10, 1_000_000),
            (11, 1_000_000),
            (12, 1_000_000),
            (20, 1_000),
        ],
        vec![(30, 1_000), (31, 1_000), (32, 1_000), (33, 1_000)],
    ];
    for fast in [true, false] {
        for sizes in [&[input.len()][..], &[1][..], &[13][..]] {
            let got: Vec<Vec<(i64, u64)>> = chunks(&input, sizes, Limits::default(), fast)
                .into_iter()
                .map(|i| match i {
                    Item::Chunk(c) => c
                        .frames()
                        .iter()
                        .map(|f| (f.timecode(), f.timecode_scale()))
                        .collect(),
                    Item::Error(e) => panic!("{e}"),
                })
                .collect();
            assert_eq!(got, want, "fast {fast}, pieces {sizes:?}");
        }
    }
}

/// A SimpleBlock that claims 2^32 bytes inside a sized Cluster, under
/// limits that allow it: the general path reports the Overrun at once. On a
/// 32-bit target the run's wait hint (`end as usize`) wraps to the block's
/// own body, passes the Cluster-bound filter, and the fast path waits
/// instead (then reports something else at the end of input).
#[test]
fn a_block_past_the_cluster_by_4_gib_is_an_overrun_on_every_target() {
    let input: Vec<u8> = [
        &[
            0x1A, 0x45, 0xDF, 0xA3, 0x87, 0x42, 0x82, 0x84, b'w', b'e', b'b', b'm',
        ][..], // EBML, DocType
        &[
            0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ], // Segment, unknown
        &[0x1F, 0x43, 0xB6, 0x75, 0x94], // Cluster, 20 bytes
        &[0xE7, 0x81, 0x0A],             // Timestamp 10
        &[0xA3, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00], // SimpleBlock, 2^32 bytes
        &[0x81, 0x00, 0x00, 0x80, 0xAA, 0xBB, 0xCC, 0xDD], // track 1, +0, key; 4 bytes in
    ]
    .concat();
    let l = Limits {
        max_element_size: u64::MAX,
        max_chunk_size: u64::MAX,
        ..Limits::default()
    };
    let reference = chunks(&input, &[input.len()], l, false);
    assert!(
        reference.iter().any(
            |r| matches!(r, Item::Error(e) if matches!(e.kind, crate::error::DecodeErrorKind::Overrun { .. }))
        ),
        "{reference:?}"
    );
    for sizes in [&[input.len()][..], &[1][..]] {
        assert_eq!(
            chunks(&input, sizes, l, true),
            reference,
            "pieces {sizes:?}"
        );
    }
}

/// A SimpleTag in one of several forms: plain, nested, binary, value
/// before name, empty, with an unknown child.
fn head_simple_tag(r: &mut Rng) -> Vec<u8> {
    let names: [&[u8]; 5] = [
        b"AWS_KINESISVIDEO_FRAGMENT_NUMBER",
        b"AWS_KINESISVIDEO_SERVER_TIMESTAMP",
        b"AWS_KINESISVIDEO_PRODUCER_TIMESTAMP",
        b"AWS_KINESISVIDEO_CONTINUATION_TOKEN",
        b"X",
    ];
    let values: [&[u8]; 4] = [
        b"91343852333181432392682062607743920146264",
        b"1549484021.735",
        b"12x",
        b"",
    ];
    let name = names[r.below(5) as usize];
    let value = values[r.below(4) as usize];
    let mut body = Vec::new();
    match r.below(6) {
        0 => {
            body.extend(el(TAG_STRING, value));
            body.extend(el(TAG_NAME, name));
        }
        1 => {
            body.extend(el(TAG_NAME, name));
            body.extend(el(TAG_BINARY, value));
        }
        2 => {
            body.extend(el(TAG_NAME, name));
            body.extend(el(TAG_STRING, value));
            body.extend(head_simple_tag(r));
        }
        3 => body.extend(el(TAG_NAME, name)),
        4 => {
            body.extend(el(TAG_NAME, name));
            body.extend(el(0x447A, b"und"));
            body.extend(el(TAG_STRING, value));
        }
        _ => {
            body.extend(el(TAG_NAME, name));
            body.extend(el(TAG_STRING, value));
        }
    }
    master(
        r,
        SIMPLE_TAG,
        body,
        &[Form::Exact, Form::Exact, Form::Unknown, Form::Wrong],
    )
}

/// A TrackEntry with its fields in a random order, some repeated, some
/// unknown.
fn head_track(r: &mut Rng) -> Vec<u8> {
    let mut fields = vec![
        uint(TRACK_NUMBER, 1 + r.below(3)),
        uint(TRACK_UID, r.next() >> 8),
        uint(TRACK_TYPE, 1 + r.below(2)),
        string(
            CODEC_ID,
            ["V_MPEG4/ISO/AVC", "A_AAC", ""][r.below(3) as usize],
        ),
        el(CODEC_PRIVATE, &[7; 5][..r.below(6) as usize]),
        master(
            r,
            VIDEO,
            [uint(PIXEL_WIDTH, 640), uint(PIXEL_HEIGHT, 480)].concat(),
            &[Form::Exact, Form::Unknown, Form::Wrong],
        ),
        el(
            AUDIO,
            &[
                uint(CHANNELS, 2),
                el(SAMPLING_FREQUENCY, &8000f32.to_be_bytes()),
            ]
            .concat(),
        ),
        uint(0x55AA, 1),
        el(0x7670, b"unknown"),
    ];
    if r.chance(30) {
        fields.push(uint(TRACK_NUMBER, 9));
    }
    for i in (1..fields.len()).rev() {
        fields.swap(i, r.below(i as u64 + 1) as usize);
    }
    let keep = 1 + r.below(fields.len() as u64) as usize;
    let body = fields[..keep].concat();
    master(
        r,
        TRACK_ENTRY,
        body,
        &[Form::Exact, Form::Exact, Form::Unknown, Form::Wrong],
    )
}

/// A chunk's head in every order and form: Info, Tracks, Tags (nested
/// SimpleTags, value before name, binary values), Voids, CRC-32s and
/// unknown elements, repeated, their sizes exact, unknown or wrong; then
/// (mostly) a Cluster.
fn head_chunk(r: &mut Rng) -> Vec<u8> {
    let mut seg = Vec::new();
    for _ in 0..r.below(9) {
        let part = match r.below(9) {
            0 => info([1, 1_000_000, 0][r.below(3) as usize]),
            1 | 2 => {
                let body: Vec<u8> = (0..r.below(4)).flat_map(|_| head_track(r)).collect();
                master(
                    r,
                    TRACKS,
                    body,
                    &[Form::Exact, Form::Exact, Form::Unknown, Form::Wrong],
                )
            }
            3..=5 => {
                let tags: Vec<u8> = (0..r.below(4))
                    .flat_map(|_| {
                        let body: Vec<u8> =
                            (0..r.below(4)).flat_map(|_| head_simple_tag(r)).collect();
                        master(r, TAG, body, &[Form::Exact, Form::Exact, Form::Unknown])
                    })
                    .collect();
                master(
                    r,
                    TAGS,
                    tags,
                    &[Form::Exact, Form::Exact, Form::Unknown, Form::Wrong],
                )
            }
            6 => el(VOID, &[0; 3][..r.below(4) as usize]),
            7 => el(CRC32, &[1, 2, 3, 4]),
            _ => el(
                [0x114D9B74, 0x1C53BB6B, 0x4DBB, 0x1F000000][r.below(4) as usize],
                b"zz",
            ),
        };
        seg.extend(part);
    }
    if r.chance(80) {
        seg.extend(cluster(r.below(100), &[0, 1]));
    }
    let form = [Form::Unknown, Form::Unknown, Form::Wrong, Form::Exact];
    [ebml_header(), master(r, SEGMENT, seg, &form)].concat()
}

/// The chunk's head walked in one loop (`Engine::head`) against the
/// general path: odd orders, duplicates, unknown elements, damaged and cut
/// bytes, low limits (tags, tracks, depth, sizes), both decoders, in
/// pieces from 1 byte to 1460.
#[test]
fn the_head_loop_agrees_with_the_general_path() {
    let n = streams_to_run(3000);
    let (_, errors, failures) = differential(n, |r| {
        let mut input: Vec<u8> = (0..1 + r.below(3)).flat_map(|_| head_chunk(r)).collect();
        flip_and_cut(r, &mut input, 25);
        let mut l = limits(r);
        if r.chance(15) {
            l.max_tracks = r.below(3) as usize;
        }
        if r.chance(15) {
            l.max_tags_per_chunk = r.below(6) as usize;
        }
        let sizes = some_pieces(r);
        (input, l, sizes)
    });
    eprintln!("{n} streams: {errors} errors in the reference");
    assert!(errors > n as usize / 10);
    assert_none_differ(&failures);
}

/// The recordings, in pieces of 1 byte, 1460 and 64 KiB: the head loop
/// changes nothing.
#[test]
fn recordings_agree_with_the_general_path() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/kvs-recordings"
    );
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(_) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but {dir} is missing")
        }
        Err(_) => {
            eprintln!("skipped: no {dir}");
            return;
        }
    };
    let mut names: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mkv"))
        .collect();
    names.sort();
    assert!(!names.is_empty());
    let mut failures = Vec::new();
    for path in &names {
        let input = std::fs::read(path).unwrap();
        for sizes in [&[1][..], &[1460], &[65536]] {
            let (reference, why) = compare(&input, Limits::default(), sizes);
            assert!(!reference.is_empty());
            if !why.is_empty() {
                failures.push(format!("{}: {why:?}, pieces {sizes:?}", path.display()));
            }
        }
    }
    assert_none_differ(&failures);
}

// ---------------------------------------------------------------------
// Attack on the head-only element handler and the whole-read SimpleTag
// (`Engine::head_fits`, `Engine::whole_simple_tag`) and on the
// batch-relative frame records: hand-made bad inputs, each compared with
// the general path (every error, offset included, must be equal), whole,
// in 1-byte pieces, 1460-byte pieces and odd pieces, and cut at every
// byte of the SimpleTag (decode_eof).
// ---------------------------------------------------------------------

/// `i` around `body`, its size `body.len() + delta` (never below 0).
fn sized_off(i: u32, body: &[u8], delta: i64) -> Vec<u8> {
    let n = (body.len() as i64 + delta).max(0) as u64;
    [id(i), size(n), body.to_vec()].concat()
}

/// A chunk: EBML header, unknown-size Segment, Info, a video track,
/// (optionally a Cluster first, so the Tags come after it), Tags > Tag >
/// (`before` plain SimpleTags, then `st`), the Tag's and Tags' sizes off by
/// `tag_delta` / `tags_delta` (`None`: unknown size), then a Cluster of
/// two frames. Also: where `st` begins.
fn attack_chunk(
    before: usize,
    st: &[u8],
    tag_delta: Option<i64>,
    tags_delta: Option<i64>,
    after_cluster: bool,
) -> (Vec<u8>, usize) {
    // (The track after the Tags: its Video, as deep as a SimpleTag, would
    // meet a depth limit first.)
    let mut seg = info(1_000_000);
    if after_cluster {
        seg.extend(cluster(0, &[0]));
    }
    let mut tag_body = Vec::new();
    for k in 0..before {
        tag_body.extend(simple_tag_w(format!("P{k}").as_bytes(), b"v", 1));
    }
    let st_in_tag = tag_body.len();
    tag_body.extend_from_slice(st);
    let (tag, tag_head) = match tag_delta {
        Some(d) => {
            let t = sized_off(TAG, &tag_body, d);
            let h = t.len() - tag_body.len();
            (t, h)
        }
        None => ([open_unknown(TAG, 1), tag_body].concat(), 2 + 1),
    };
    let tags = match tags_delta {
        Some(d) => sized_off(TAGS, &tag, d),
        None => [open_unknown(TAGS, 1), tag.clone()].concat(),
    };
    let tags_head = tags.len() - tag.len();
    let head = [ebml_header(), open_unknown(SEGMENT, 1)].concat();
    let st_at = head.len() + seg.len() + tags_head + tag_head + st_in_tag;
    seg.extend(tags);
    seg.extend(el(
        TRACKS,
        &video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
    ));
    seg.extend(cluster(5, &[0, 1]));
    ([head, seg].concat(), st_at)
}

/// The SimpleTags to attack with, by name.
fn attack_simple_tags() -> Vec<(&'static str, Vec<u8>)> {
    let fragment = b"AWS_KINESISVIDEO_FRAGMENT_NUMBER";
    let server = b"AWS_KINESISVIDEO_SERVER_TIMESTAMP";
    let producer = b"AWS_KINESISVIDEO_PRODUCER_TIMESTAMP";
    let token = b"AWS_KINESISVIDEO_CONTINUATION_TOKEN";
    let pair = |n: &[u8], v: &[u8]| el(SIMPLE_TAG, &[el(TAG_NAME, n), el(TAG_STRING, v)].concat());
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "plain",
            pair(fragment, b"91343852333181432392682062607743920146264"),
        ),
        ("zero-length name", pair(b"", b"x")),
        ("zero-length value", pair(b"N", b"")),
        ("zero-length both", pair(b"", b"")),
        (
            "invalid UTF-8 value",
            pair(b"N", &[0xFF, 0xFE, 0xC0, 0x80, b'a']),
        ),
        ("invalid UTF-8 name", pair(&[0xC3, 0x28], b"v")),
        ("NULs in value", pair(b"N", b"ab\0\0")),
        ("NULs only", pair(b"\0", b"\0\0")),
        ("fragment number not a number", pair(fragment, b"abc")),
        ("fragment number empty", pair(fragment, b"")),
        ("fragment number negative", pair(fragment, b"-1")),
        ("fragment number huge", pair(fragment, &[b'9'; 200])),
        ("server timestamp 1e400", pair(server, b"1e400")),
        ("server timestamp nan", pair(server, b"nan")),
        ("server timestamp inf", pair(server, b"inf")),
        (
            "server timestamp negative",
            pair(server, b"-1549484021.735"),
        ),
        (
            "server timestamp two dots",
            pair(server, b"1549484021.735.1"),
        ),
        ("producer timestamp spaced", pair(producer, b" 12 ")),
        (
            "producer timestamp invalid UTF-8",
            pair(producer, &[0x31, 0xFF]),
        ),
        ("token empty", pair(token, b"")),
        (
            "token",
            pair(token, b"91343852333181432392682062607743920146264"),
        ),
        (
            "name then binary",
            el(
                SIMPLE_TAG,
                &[el(TAG_NAME, b"N"), el(TAG_BINARY, b"\x01\x02")].concat(),
            ),
        ),
        (
            "name twice",
            el(
                SIMPLE_TAG,
                &[el(TAG_NAME, b"A"), el(TAG_NAME, b"B")].concat(),
            ),
        ),
        (
            "name twice then string",
            el(
                SIMPLE_TAG,
                &[el(TAG_NAME, b"A"), el(TAG_NAME, b"B"), el(TAG_STRING, b"v")].concat(),
            ),
        ),
        (
            "string twice",
            el(
                SIMPLE_TAG,
                &[
                    el(TAG_NAME, b"A"),
                    el(TAG_STRING, b"1"),
                    el(TAG_STRING, b"2"),
                ]
                .concat(),
            ),
        ),
        (
            "nested after the string",
            el(
                SIMPLE_TAG,
                &[el(TAG_NAME, b"A"), el(TAG_STRING, b"1"), pair(b"B", b"2")].concat(),
            ),
        ),
        (
            "nested, its own nested",
            el(
                SIMPLE_TAG,
                &[
                    el(TAG_NAME, b"A"),
                    el(TAG_STRING, b"1"),
                    el(
                        SIMPLE_TAG,
                        &[el(TAG_NAME, b"B"), el(TAG_STRING, b"2"), pair(b"C", b"3")].concat(),
                    ),
                ]
                .concat(),
            ),
        ),
        (
            "nested after the name alone",
            el(SIMPLE_TAG, &[el(TAG_NAME, b"A"), pair(b"B", b"2")].concat()),
        ),
        (
            "nested between name and string",
            el(
                SIMPLE_TAG,
                &[el(TAG_NAME, b"A"), pair(b"B", b"2"), el(TAG_STRING, b"1")].concat(),
            ),
        ),
        ("nested alone", el(SIMPLE_TAG, &pair(b"B", b"2"))),
        (
            "string then name",
            el(
                SIMPLE_TAG,
                &[el(TAG_STRING, b"v"), el(TAG_NAME, b"N")].concat(),
            ),
        ),
        (
            "padding after the string",
            el(
                SIMPLE_TAG,
                &[el(TAG_NAME, b"N"), el(TAG_STRING, b"v"), el(VOID, b"")].concat(),
            ),
        ),
        (
            "8-byte sizes",
            el_w(
                SIMPLE_TAG,
                &[el_w(TAG_NAME, b"N", 8), el_w(TAG_STRING, b"v", 8)].concat(),
                8,
            ),
        ),
        (
            "name of unknown size",
            el(
                SIMPLE_TAG,
                &[
                    open_unknown(TAG_NAME, 1),
                    b"N".to_vec(),
                    el(TAG_STRING, b"v"),
                ]
                .concat(),
            ),
        ),
        (
            "string of unknown size",
            el(
                SIMPLE_TAG,
                &[
                    el(TAG_NAME, b"N"),
                    open_unknown(TAG_STRING, 1),
                    b"v".to_vec(),
                ]
                .concat(),
            ),
        ),
        (
            "SimpleTag of unknown size",
            [
                open_unknown(SIMPLE_TAG, 1),
                el(TAG_NAME, b"N"),
                el(TAG_STRING, b"v"),
            ]
            .concat(),
        ),
    ];
    // The TagString's (or TagName's) size off by -2 to +3, the SimpleTag's
    // size its real length: a value that runs past the SimpleTag's end, or
    // stops short of it.
    for d in [-2i64, -1, 1, 2, 3] {
        let body = [el(TAG_NAME, b"NAME"), sized_off(TAG_STRING, b"value", d)].concat();
        v.push(("string size off", el(SIMPLE_TAG, &body)));
        let body = [sized_off(TAG_NAME, b"NAME", d), el(TAG_STRING, b"value")].concat();
        v.push(("name size off", el(SIMPLE_TAG, &body)));
        // The SimpleTag's own size off: the pair ends before or after it.
        let body = [el(TAG_NAME, b"NAME"), el(TAG_STRING, b"value")].concat();
        v.push(("SimpleTag size off", sized_off(SIMPLE_TAG, &body, d)));
    }
    v
}

/// The limits to attack `st` with: the defaults; element size exactly at
/// and one under each of its payloads' sizes; the tag limit reached
/// exactly at it (`before` tags come first) and one later; the depth limit
/// at each level around the SimpleTag (Segment 1, Tags 2, Tag 3,
/// SimpleTag 4).
fn attack_limits(before: usize) -> Vec<Limits> {
    let mut v = vec![Limits::default()];
    for m in [0u64, 1, 4, 5, 6, 31, 32, 33, 41, 200] {
        let l = Limits {
            max_element_size: m,
            ..Limits::default()
        };
        v.push(l);
    }
    for t in [0, 1, 5, before, before + 1] {
        let l = Limits {
            max_tags_per_chunk: t,
            ..Limits::default()
        };
        v.push(l);
    }
    for d in 2..=6 {
        let l = Limits {
            max_depth: d,
            ..Limits::default()
        };
        v.push(l);
    }
    v
}

#[test]
fn attack_whole_simple_tag_agrees_with_the_general_path() {
    let mut failures = Vec::new();
    let (mut cases, mut errors) = (0, 0);
    for (name, st) in attack_simple_tags() {
        for before in [0, 1, 5] {
            for (tag_delta, tags_delta) in [
                (Some(0), Some(0)),
                (Some(0), None),
                (None, None),
                (None, Some(0)),
                (Some(-1), Some(0)),
                (Some(0), Some(-1)),
                (Some(1), Some(0)),
                (Some(0), Some(1)),
                (Some(1), Some(1)),
            ] {
                for after_cluster in [false, true] {
                    let (input, _) =
                        attack_chunk(before, &st, tag_delta, tags_delta, after_cluster);
                    for l in attack_limits(before) {
                        for sizes in [vec![1], vec![1460], vec![7, 3, 1, 12]] {
                            cases += 1;
                            let (reference, why) = compare(&input, l, &sizes);
                            errors += reference
                                .iter()
                                .filter(|i| matches!(i, Item::Error(_)))
                                .count();
                            if !why.is_empty() {
                                failures.push(format!(
                                    "{name} (before {before}, tag {tag_delta:?}, tags {tags_delta:?}, after cluster {after_cluster}): {why:?}, {l:?}, pieces {sizes:?}"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    eprintln!("{cases} cases, {errors} errors in the reference");
    assert!(errors > cases / 10);
    assert_none_differ(&failures);
}

/// Each attack SimpleTag cut at every byte from its start to its end (and
/// a few bytes past), ended with decode_eof, fed whole and 1 byte at a time.
#[test]
fn attack_simple_tag_cut_by_the_end_of_input() {
    let mut failures = Vec::new();
    for (name, st) in attack_simple_tags() {
        for after_cluster in [false, true] {
            let (input, at) = attack_chunk(1, &st, Some(0), Some(0), after_cluster);
            for cut in at..(at + st.len() + 4).min(input.len()) {
                for l in [
                    Limits::default(),
                    Limits {
                        max_tags_per_chunk: 1,
                        ..Limits::default()
                    },
                ] {
                    let (_, why) = compare(&input[..cut], l, &[1]);
                    if !why.is_empty() {
                        failures.push(format!("{name} cut at {cut} (st at {at}): {why:?}, {l:?}"));
                    }
                }
            }
        }
    }
    assert_none_differ(&failures);
}

/// Independent of the general path: the offsets built into the input. A
/// TagName one byte over `max_element_size` is refused at its own start;
/// the tag one over `max_tags_per_chunk` at its TagString's start (where
/// the pair is complete); a SimpleTag one level too deep at its start.
#[test]
fn attack_simple_tag_errors_at_the_built_offsets() {
    use crate::error::DecodeErrorKind;
    let name = b"AWS_KINESISVIDEO_FRAGMENT_NUMBER";
    let st = el(
        SIMPLE_TAG,
        &[el(TAG_NAME, name), el(TAG_STRING, b"12")].concat(),
    );
    let (input, at) = attack_chunk(2, &st, Some(0), Some(0), false);
    let name_at = (at + 2) as u64; // SimpleTag: 2-byte ID, 1-byte size
    let name_at = name_at + 1;
    let value_at = name_at + 2 + 1 + name.len() as u64;
    let first_error = |l: Limits, fast: bool| {
        chunks(&input, &[input.len()], l, fast)
            .into_iter()
            .find_map(|i| match i {
                Item::Error(e) => Some(e),
                Item::Chunk(_) => None,
            })
            .expect("an error")
    };
    for fast in [true, false] {
        let l = Limits {
            max_element_size: name.len() as u64 - 1,
            ..Limits::default()
        };
        let e = first_error(l, fast);
        assert_eq!(e.offset, name_at, "{e:?}");
        assert!(
            matches!(e.kind, DecodeErrorKind::ElementTooLarge { .. }),
            "{e:?}"
        );

        let l = Limits {
            max_tags_per_chunk: 2,
            ..Limits::default()
        };
        let e = first_error(l, fast);
        assert_eq!(e.offset, value_at, "{e:?}");
        assert_eq!(e.kind, DecodeErrorKind::TooManyTags { limit: 2 });
    }
    // Segment, Tags, Tag open: a fourth level is refused at the
    // SimpleTag (a chunk of Tags only: a track's Video is as deep).
    let tag = el(TAG, &st);
    let prefix = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 1),
        id(TAGS),
        size(tag.len() as u64),
        id(TAG),
        size(st.len() as u64),
    ]);
    // (A Cluster after it: the whole read looks for twelve bytes past each
    // header.)
    let shallow = [prefix.clone(), st.clone(), cluster(0, &[0])].concat();
    for fast in [true, false] {
        let l = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let items = chunks(&shallow, &[shallow.len()], l, fast);
        // (The chunk's bytes before the damage come out first.)
        let Some(e) = items.iter().find_map(|i| match i {
            Item::Error(e) => Some(e),
            Item::Chunk(_) => None,
        }) else {
            panic!("{items:?}")
        };
        assert_eq!(e.offset, prefix.len() as u64, "{e:?}");
        assert!(
            matches!(e.kind, DecodeErrorKind::TooDeep { limit: 3 }),
            "{e:?}"
        );
    }
    // At the limits exactly: no error, the tag read.
    let l = Limits {
        max_element_size: name.len() as u64,
        max_tags_per_chunk: 3,
        max_depth: 4,
        ..Limits::default()
    };
    for fast in [true, false] {
        let items = chunks(&input, &[input.len()], l, fast);
        let Item::Chunk(c) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(c.info().tags.len(), 3);
    }
}

/// The batch records (a frame's index in the batch's bytes): batches that
/// begin at a non-zero stream offset (garbage before the chunk, a chunk
/// after another), after a resync from damage, frames cut by 1460-byte
/// pieces, more than MAX_BATCH (256) frames in a row.
#[test]
fn attack_batches_at_odd_offsets_agree_with_the_general_path() {
    let mut failures = Vec::new();
    let body = |n: usize, len: usize| {
        let mut c = open_unknown(CLUSTER, 8);
        c.extend(uint(TIMECODE, 7));
        for k in 0..n {
            let t = (k % 1000) as i16;
            c.extend(simple_block(1, t, k % 30 == 0, &vec![k as u8; len + k % 5]));
        }
        c
    };
    let chunk = |n: usize, len: usize| concat(&[head(1), body(n, len)]);
    for (n, len) in [
        (255, 3),
        (256, 3),
        (257, 3),
        (300, 1),
        (513, 40),
        (600, 1500),
        (3, 3000),
    ] {
        for prefix in [0usize, 1, 13, 1459, 1461] {
            let mut input = vec![0x42u8; prefix];
            input.extend(chunk(n, len));
            input.extend(chunk(n / 2 + 1, len));
            // Damage: a bad byte where the next element's ID goes, then
            // a chunk after the resync.
            input.extend([0x00, 0x00, 0xFF]);
            input.extend(chunk(n, len));
            for sizes in [
                vec![1460],
                vec![1],
                vec![1459, 1461, 3],
                vec![65536],
                vec![256 * 4 + 1],
            ] {
                if sizes == [1] && input.len() > 200_000 {
                    continue;
                }
                // The chunk limit biting inside a batch, too.
                for l in [
                    Limits::default(),
                    Limits {
                        max_chunk_size: (chunk(n, len).len() - 50) as u64,
                        ..Limits::default()
                    },
                ] {
                    let (_, why) = compare(&input, l, &sizes);
                    if !why.is_empty() {
                        failures.push(format!(
                            "n {n} len {len} prefix {prefix}: {why:?}, {l:?}, pieces {sizes:?}"
                        ));
                    }
                }
            }
        }
    }
    assert_none_differ(&failures);
}

/// Chunks that begin with the same bytes up to the end of their Tracks,
/// as a producer's do, then differ: the head memo (`engine/memo.rs`)
/// against the general path. The head is drawn once a stream (Info,
/// Voids and unknown elements, Tracks of every form, CodecPrivates,
/// sometimes a Tags before the Tracks, which the memo must not take);
/// each chunk then has its own tags and Clusters; some chunks get
/// another head, some bytes are flipped (in a head too: the memo must
/// not match), some streams cut, with low limits and pieces from 1 byte
/// to 64 KiB. The memo must be used on a good part of the streams, or
/// the comparison proves nothing.
#[test]
fn repeated_heads_agree_with_the_general_path() {
    fn shared_head(r: &mut Rng) -> Vec<u8> {
        let mut seg = Vec::new();
        if r.chance(70) {
            seg.extend(info([1, 1_000_000, 7][r.below(3) as usize]));
        }
        if r.chance(20) {
            seg.extend(el(VOID, &[0; 2]));
        }
        // Before the Tracks, what the memo must not skip: tags, and a
        // Cluster (empty or not) that starts the chunk's frames.
        match r.below(10) {
            0 => seg.extend(tags_w(&[("A", "b")], 1)),
            1 => seg.extend(el(CLUSTER, &uint(TIMECODE, 5))),
            2 => seg.extend(el(CLUSTER, &cluster(5, &[0])[12..])),
            _ => {}
        }
        for _ in 0..1 + r.below(2) {
            let body: Vec<u8> = if r.chance(50) {
                // A camera's: clean, with a CodecPrivate.
                let private = &[9; 40][..r.below(41) as usize];
                [
                    video_track(1, "V_MPEG4/ISO/AVC", private, 1280, 720),
                    audio_track(2, "A_AAC", 48000.0, 2),
                ]
                .concat()
            } else {
                (0..1 + r.below(3)).flat_map(|_| head_track(r)).collect()
            };
            seg.extend(master(
                r,
                TRACKS,
                body,
                &[Form::Exact, Form::Exact, Form::Exact, Form::Unknown],
            ));
        }
        seg
    }
    let n = streams_to_run(2000);
    let replays = std::cell::Cell::new(0u64);
    let used = std::cell::Cell::new(0u64);
    let (_, errors, failures) = differential(n, |r| {
        let mut head = shared_head(r);
        let segment_unknown = r.chance(80);
        let mut input = Vec::new();
        for k in 0..2 + r.below(4) {
            if r.chance(10) {
                head = shared_head(r);
            }
            let mut tail = Vec::new();
            let number = format!("{:020}", 1000 + k);
            tail.extend(tags_w(
                &[
                    ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number.as_str()),
                    ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1549484021.735"),
                ],
                1,
            ));
            tail.extend(cluster(k * 2000, &[0, 33, 66]));
            let segment = if segment_unknown {
                [open_unknown(SEGMENT, 8), head.clone(), tail].concat()
            } else {
                sized(r, SEGMENT, &[head.clone(), tail].concat())
            };
            input.extend([ebml_header(), segment].concat());
        }
        flip_and_cut(r, &mut input, 20);
        let mut l = limits(r);
        if r.chance(10) {
            l.max_tracks = r.below(3) as usize;
        }
        let sizes = some_pieces(r);
        let mut d = ChunkDecoder::with_limits(l);
        let mut general = ChunkDecoder::general_path_only(l);
        let mut buf = BytesMut::from(&input[..]);
        while let Ok(Some(_)) | Err(_) = d.decode_eof(&mut buf) {}
        let mut buf = BytesMut::from(&input[..]);
        while let Ok(Some(_)) | Err(_) = general.decode_eof(&mut buf) {}
        assert_eq!(general.engine.memo_replays, 0, "the general path replayed");
        replays.set(replays.get() + d.engine.memo_replays);
        used.set(used.get() + u64::from(d.engine.memo_replays > 0));
        (input, l, sizes)
    });
    eprintln!(
        "{n} streams: {errors} errors in the reference; the memo replayed {} heads, in {} streams",
        replays.get(),
        used.get()
    );
    assert!(
        used.get() > n / 4,
        "the memo was used in {} of {n} streams",
        used.get()
    );
    assert!(errors > 0);
    assert_none_differ(&failures);
}

// ---- Review of the head memo (`engine/memo.rs`): attacks from outside. ----

/// How many heads the fast ChunkDecoder and EventDecoder replayed on
/// `input` in `sizes` pieces (the general path must replay none).
fn memo_replays(input: &[u8], l: Limits, sizes: &[usize]) -> (u64, u64) {
    /// Decodes what `buf` holds, errors and all.
    fn drain<D: Decoder<Error = Error>>(d: &mut D, buf: &mut BytesMut, eof: bool) {
        loop {
            let r = if eof {
                d.decode_eof(buf)
            } else {
                d.decode(buf)
            };
            if let Ok(None) = r {
                break;
            }
        }
    }
    let mut c = ChunkDecoder::with_limits(l);
    let mut e = EventDecoder::with_limits(l);
    let mut g = ChunkDecoder::general_path_only(l);
    let (mut bc, mut be, mut bg) = (BytesMut::new(), BytesMut::new(), BytesMut::new());
    for (a, b) in pieces_of(input.len(), sizes) {
        bc.extend_from_slice(&input[a..b]);
        be.extend_from_slice(&input[a..b]);
        bg.extend_from_slice(&input[a..b]);
        drain(&mut c, &mut bc, false);
        drain(&mut e, &mut be, false);
        drain(&mut g, &mut bg, false);
    }
    drain(&mut c, &mut bc, true);
    drain(&mut e, &mut be, true);
    drain(&mut g, &mut bg, true);
    assert_eq!(g.engine.memo_replays, 0, "the general path replayed");
    (c.engine.memo_replays, e.engine.memo_replays)
}

/// A chunk's head and its Tags cut by the end of a read are waited for,
/// not walked element by element: however the stream is cut, every head
/// after the first is replayed from the memo and every Tags is read whole
/// (`Engine::awaits_memo`, `Engine::awaits_whole`), and what comes out is
/// the general path's. Not at end of input: a stream cut inside a head or
/// a Tags still gives what is in.
#[test]
fn heads_and_tags_cut_by_a_read_are_waited_for() {
    let head_tags = el(
        TAG,
        &[
            simple_tag_w(
                b"AWS_KINESISVIDEO_FRAGMENT_NUMBER",
                b"91343852333181432392682062607743920146159000001",
                1,
            ),
            simple_tag_w(b"AWS_KINESISVIDEO_SERVER_TIMESTAMP", b"1549484021.735", 1),
            simple_tag_w(b"AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", b"1549484021.000", 1),
        ]
        .concat(),
    );
    // A GetMedia chunk's shape: the head, its Tags, a Cluster, the Tags
    // that end it.
    let chunk = [
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1_000_000),
        el(
            TRACKS,
            &video_track(1, "V_MPEG4/ISO/AVC", &[7; 40], 1280, 720),
        ),
        el(TAGS, &head_tags),
        cluster(2000, &[0, 33]),
        tags_w(
            &[
                ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "1234"),
                (
                    "AWS_KINESISVIDEO_CONTINUATION_TOKEN",
                    "91343852333181432392682062607743920146159000001",
                ),
            ],
            2,
        ),
    ]
    .concat();
    let n = 20;
    let input = chunk.repeat(n);
    for sizes in [&[1][..], &[2, 3], &[7, 1, 13], &[61], &[1460]] {
        let (reference, why) = compare(&input, Limits::default(), sizes);
        assert!(why.is_empty(), "{why:?}, pieces {sizes:?}");
        assert_eq!(reference.len(), n);
        let mut c = ChunkDecoder::default();
        let mut e = EventDecoder::default();
        let mut buf = (BytesMut::new(), BytesMut::new());
        for (a, b) in pieces_of(input.len(), sizes) {
            buf.0.extend_from_slice(&input[a..b]);
            buf.1.extend_from_slice(&input[a..b]);
            while c.decode(&mut buf.0).unwrap().is_some() {}
            while e.decode(&mut buf.1).unwrap().is_some() {}
        }
        while c.decode_eof(&mut buf.0).unwrap().is_some() {}
        while e.decode_eof(&mut buf.1).unwrap().is_some() {}
        for (name, engine) in [("chunks", &c.engine), ("events", &e.engine)] {
            let got = (engine.memo_replays, engine.whole_tags_read);
            assert_eq!(
                got,
                (n as u64 - 1, 2 * n as u64),
                "{name}, pieces {sizes:?}"
            );
        }
    }
    // Cut inside the second chunk's head, and inside its Tags: what is in
    // is read at the end of input, as the general path reads it.
    let tags_at = chunk.len()
        + chunk
            .windows(4)
            .position(|w| w == [0x12, 0x54, 0xC3, 0x67])
            .unwrap();
    for (cut, tags) in [
        (chunk.len() + 100, 0),
        (tags_at + 40, 0),
        (tags_at + 120, 1),
    ] {
        let (reference, why) = compare(&input[..cut], Limits::default(), &[1460]);
        assert!(why.is_empty(), "{why:?}, cut at {cut}");
        // (The first chunk; the cut one with the tags that are in; the
        // error saying where it was cut.)
        let Item::Chunk(cut_one) = &reference[1] else {
            panic!("cut at {cut}: {reference:?}")
        };
        assert!(!cut_one.is_complete());
        assert_eq!(cut_one.info().tags.len(), tags, "cut at {cut}");
        assert!(matches!(reference[2], Item::Error(_)) && reference.len() == 3);
    }
}

/// Piece sizes the attacks use: whole, 1 byte, odd sizes, a TCP segment.
const ATTACK_SIZES: [&[usize]; 6] = [&[1 << 20], &[1], &[2, 3], &[7, 1, 13], &[61], &[1460]];

/// `compare`s `input` under each of `ATTACK_SIZES`, collecting failures.
fn attack_compare(name: &str, input: &[u8], l: Limits, failures: &mut Vec<String>) {
    for sizes in ATTACK_SIZES {
        let (_, why) = compare(input, l, sizes);
        if !why.is_empty() {
            failures.push(format!("{name}: {why:?}, {l:?}, pieces {sizes:?}"));
        }
    }
}

/// [`attack_compare`]s each named case with the default limits: how many
/// heads the fast ChunkDecoder replayed over all of them (fed whole), and
/// the failures.
fn attack_cases(cases: &[(&str, Vec<u8>)]) -> (u64, Vec<String>) {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, input) in cases {
        attack_compare(name, input, Limits::default(), &mut failures);
        replayed += memo_replays(input, Limits::default(), &[1 << 20]).0;
    }
    (replayed, failures)
}

/// A camera's head body (inside the Segment): Info, then Tracks of known
/// size with a CodecPrivate.
fn attack_head_body(private: &[u8]) -> Vec<u8> {
    concat(&[
        info(1_000_000),
        el(
            TRACKS,
            &concat(&[
                video_track(1, "V_MPEG4/ISO/AVC", private, 1280, 720),
                audio_track(2, "A_AAC", 48000.0, 2),
            ]),
        ),
    ])
}

/// A KVS-like chunk: EBML header, unknown-size Segment, `head_body`, tags,
/// one Cluster.
fn attack_kvs_chunk(head_body: &[u8], k: u64) -> Vec<u8> {
    let number = format!("{:020}", 1000 + k);
    concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        head_body.to_vec(),
        tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", number.as_str())], 1),
        cluster(k * 2000, &[0, 33]),
    ])
}

/// Segments of known size that end exactly at the Tracks' end (a chunk
/// that is only its head), or a few bytes after, with Voids: the replayed
/// Segment must close where the walked one does.
#[test]
fn attack_memo_known_segment_ending_at_the_tracks_end() {
    let body = attack_head_body(&[1, 2, 3, 4]);
    let mut failures = Vec::new();
    let mut replayed = 0;
    for extra in [0usize, 2, 3, 10] {
        let mut seg_body = body.clone();
        if extra > 0 {
            seg_body.extend(el(VOID, &vec![0; extra - 2]));
        }
        for width in [1usize, 2, 8] {
            let chunk = concat(&[ebml_header(), el_w(SEGMENT, &seg_body, width)]);
            let input = [chunk.clone(), chunk.clone(), chunk.clone()].concat();
            attack_compare(
                &format!("extra {extra} width {width}"),
                &input,
                Limits::default(),
                &mut failures,
            );
            replayed += memo_replays(&input, Limits::default(), &[1 << 20]).0;
            // Cut at each byte of the last chunk's head end.
            let head_end = 2 * chunk.len() + chunk.len() - extra;
            for cut in head_end.saturating_sub(4)..input.len() {
                attack_compare(
                    &format!("extra {extra} width {width} cut {cut}"),
                    &input[..cut],
                    Limits::default(),
                    &mut failures,
                );
            }
        }
    }
    assert!(replayed > 0, "the memo was never replayed");
    assert_none_differ(&failures);
}

/// The head repeats, but what comes before the EBML header differs: damage
/// and resync, garbage, a chunk cut in its head, a chunk that ended at a
/// CONTINUATION_TOKEN whose Segment goes on (with its own Tracks, a memo
/// that must never match), a flipped byte just inside or after the head.
#[test]
fn attack_memo_state_before_the_header_differs() {
    let body = attack_head_body(&[7; 20]);
    let good = |k| attack_kvs_chunk(&body, k);
    let head_len = ebml_header().len() + 8 + 4 + body.len();
    let token = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        body.clone(),
        cluster(0, &[0]),
        tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "123")], 1),
        // The Segment goes on: Tracks of known size, then a Cluster.
        el(TRACKS, &video_track(1, "V_X", &[5; 9], 1, 1)),
        cluster(10, &[0]),
    ]);
    let mut flipped_in = good(3);
    flipped_in[head_len - 1] ^= 0x40;
    let mut flipped_after = good(4);
    flipped_after[head_len] ^= 0xFF;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "garbage between",
            [good(0), vec![0x55; 37], good(1), good(2)].concat(),
        ),
        (
            "cut head then repeat",
            [good(0), good(1)[..head_len - 5].to_vec(), good(2)].concat(),
        ),
        (
            "cut at head end",
            [good(0), good(1)[..head_len].to_vec(), good(2)].concat(),
        ),
        (
            "token then repeat",
            [good(0), token.clone(), good(1), token.clone(), good(2)].concat(),
        ),
        ("token first", [token.clone(), good(1), good(2)].concat()),
        (
            "flipped in head",
            [good(0), flipped_in.clone(), good(1)].concat(),
        ),
        (
            "flipped after head",
            [good(0), flipped_after.clone(), good(1)].concat(),
        ),
        (
            "truncated chunk mid-cluster",
            [good(0), good(1)[..head_len + 30].to_vec(), good(2)].concat(),
        ),
        (
            "repeat then cut",
            [good(0), good(1), good(2)[..head_len].to_vec()].concat(),
        ),
        (
            "repeat then cut -1",
            [good(0), good(1), good(2)[..head_len - 1].to_vec()].concat(),
        ),
        (
            "repeat then cut +1",
            [good(0), good(1), good(2)[..head_len + 1].to_vec()].concat(),
        ),
    ];
    let (replayed, failures) = attack_cases(&cases);
    assert!(replayed > 5, "the memo was replayed {replayed} times");
    assert_none_differ(&failures);
}

/// Limits that bite inside the head or right after it: each chunk must meet
/// them where the walked head does.
#[test]
fn attack_memo_limits_bite_the_same() {
    let body = attack_head_body(&[7; 40]);
    let input: Vec<u8> = (0..4).flat_map(|k| attack_kvs_chunk(&body, k)).collect();
    let head_len = (ebml_header().len() + 8 + 4 + body.len()) as u64;
    let mut all = Vec::new();
    for t in 0..4 {
        all.push(Limits {
            max_tracks: t,
            ..Limits::default()
        });
    }
    for s in [0, 1, 8, 39, 40, 41, 100] {
        all.push(Limits {
            max_element_size: s,
            ..Limits::default()
        });
    }
    for c in head_len.saturating_sub(3)..head_len + 60 {
        all.push(Limits {
            max_chunk_size: c,
            ..Limits::default()
        });
    }
    for d in 0..6 {
        all.push(Limits {
            max_depth: d,
            ..Limits::default()
        });
    }
    for t in 0..3 {
        all.push(Limits {
            max_tags_per_chunk: t,
            ..Limits::default()
        });
    }
    let mut failures = Vec::new();
    let mut replayed = 0;
    for l in all {
        attack_compare("limits", &input, l, &mut failures);
        replayed += memo_replays(&input, l, &[1 << 20]).0;
    }
    assert!(replayed > 0);
    assert_none_differ(&failures);
}

/// Tracks forms around the memo: two Tracks, unknown-size Tracks, Tracks
/// after a Cluster, Tags before the Tracks, Tracks in an unknown element,
/// a level-0 Void before the Segment, the EBML header varying.
#[test]
fn attack_memo_tracks_forms() {
    let t1 = el(TRACKS, &video_track(1, "V_A", &[1; 5], 2, 2));
    let t2 = el(TRACKS, &audio_track(2, "A_B", 8000.0, 1));
    let unknown_tracks = [
        open_unknown(TRACKS, 8),
        video_track(1, "V_A", &[1; 5], 2, 2),
    ]
    .concat();
    let mut other_header = ebml_header();
    let last = other_header.len() - 1;
    other_header[last] = 3; // DocTypeReadVersion 3
    let chunk = |pre: &[u8], seg: Vec<u8>, k: u64| {
        concat(&[
            pre.to_vec(),
            open_unknown(SEGMENT, 8),
            seg,
            tags_w(&[("N", &format!("{k}"))], 1),
            cluster(k, &[0]),
        ])
    };
    let h = ebml_header();
    let void_pre = [ebml_header(), el(VOID, &[0; 3])].concat();
    let forms: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("two tracks", vec![[t1.clone(), t2.clone()].concat()]),
        (
            "two then one",
            vec![
                [t1.clone(), t2.clone()].concat(),
                t1.clone(),
                [t1.clone(), t2.clone()].concat(),
            ],
        ),
        (
            "one then two",
            vec![t1.clone(), [t1.clone(), t2.clone()].concat(), t1.clone()],
        ),
        ("unknown tracks", vec![unknown_tracks.clone()]),
        (
            "unknown then known",
            vec![unknown_tracks.clone(), t1.clone(), unknown_tracks.clone()],
        ),
        (
            "tags first",
            vec![[tags_w(&[("A", "b")], 1), t1.clone()].concat(), t1.clone()],
        ),
        (
            "tracks after cluster",
            vec![[cluster(1, &[0]), t1.clone()].concat(), t1.clone()],
        ),
        (
            "in unknown element",
            vec![[open_unknown(0x4DBB, 8), t1.clone()].concat(), t1.clone()],
        ),
        (
            "void inside tracks",
            vec![el(
                TRACKS,
                &[video_track(1, "V", &[], 1, 1), el(VOID, &[0; 4])].concat(),
            )],
        ),
    ];
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, segs) in &forms {
        for pre in [&h, &void_pre, &other_header] {
            let mut input = Vec::new();
            for k in 0..5u64 {
                let seg = segs[k as usize % segs.len()].clone();
                // Every other chunk with the other EBML header.
                let p = if k == 3 { &other_header } else { pre };
                input.extend(chunk(p, seg, k));
            }
            attack_compare(name, &input, Limits::default(), &mut failures);
            replayed += memo_replays(&input, Limits::default(), &[1 << 20]).0;
        }
    }
    assert!(replayed > 0);
    assert_none_differ(&failures);
}

/// A replayed chunk's CodecPrivates are views of its own bytes, not of the
/// chunk the memo was taken from (which must not be kept alive).
#[test]
fn attack_memo_codec_private_views_point_into_their_own_chunk() {
    let body = attack_head_body(&[0x42; 33]);
    let input: Vec<u8> = (0..4).flat_map(|k| attack_kvs_chunk(&body, k)).collect();
    let mut d = ChunkDecoder::with_limits(Limits::default());
    let mut buf = BytesMut::from(&input[..]);
    let mut n = 0;
    while let Ok(Some(c)) = d.decode_eof(&mut buf) {
        let raw = c.raw().as_ptr_range();
        let p = c.info().tracks[0]
            .codec_private
            .as_ref()
            .expect("a CodecPrivate");
        assert_eq!(&p[..], &[0x42; 33][..]);
        let pr = p.as_ptr_range();
        assert!(
            raw.start <= pr.start && pr.end <= raw.end,
            "chunk {n}: the CodecPrivate is not a view of the chunk"
        );
        n += 1;
    }
    assert_eq!(n, 4);
    assert_eq!(d.engine.memo_replays, 3);
    // Streaming: the Start's CodecPrivate is right too, for each chunk.
    let mut e = EventDecoder::with_limits(Limits::default());
    let mut buf = BytesMut::from(&input[..]);
    let mut starts = 0;
    while let Ok(Some(ev)) = e.decode_eof(&mut buf) {
        if let Event::Start(info) = ev {
            assert_eq!(
                info.tracks[0].codec_private.as_deref(),
                Some(&[0x42; 33][..])
            );
            assert_eq!(info.tracks.len(), 2);
            starts += 1;
        }
    }
    assert_eq!(starts, 4);
    assert_eq!(e.engine.memo_replays, 3);
}

/// Random heads of every form (`head_chunk`: Tracks exact, unknown or
/// wrong, TrackEntries of unknown size, Tags with half SimpleTags, Voids,
/// CRC-32s, unknown elements; Segments exact, wrong or unknown) repeated
/// byte for byte, between them garbage, another chunk, a chunk whose
/// Segment goes on after a CONTINUATION_TOKEN; a byte flipped in one copy;
/// cuts; low limits; pieces from 1 byte.
#[test]
fn attack_memo_random_heads_repeated() {
    let n = streams_to_run(3000);
    let used = std::cell::Cell::new(0u64);
    let (_, _, failures) = differential(n, |r| {
        let c = head_chunk(r);
        let mut input = Vec::new();
        for _ in 0..2 + r.below(4) {
            match r.below(12) {
                0 => input.extend(vec![0x1A; 1 + r.below(6) as usize]),
                1 => input.extend(head_chunk(r)),
                2 => {
                    let mut seg = vec![];
                    seg.extend(cluster(1, &[0]));
                    seg.extend(tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "9")], 1));
                    input.extend([ebml_header(), open_unknown(SEGMENT, 8), seg].concat());
                    // The Segment goes on with the repeated chunk's body.
                    input.extend(&c[ebml_header().len()..]);
                }
                3 => {
                    let mut m = c.clone();
                    let i = r.below(m.len() as u64) as usize;
                    m[i] ^= 1 << r.below(8);
                    input.extend(m);
                }
                4 => input.extend(&c[..r.below(c.len() as u64) as usize]),
                _ => {}
            }
            input.extend(&c);
        }
        if r.chance(15) {
            input.truncate(r.below(input.len() as u64 + 1) as usize);
        }
        let l = limits(r);
        let sizes = some_pieces(r);
        let (replays, _) = memo_replays(&input, l, &[1 << 20]);
        used.set(used.get() + u64::from(replays > 0));
        (input, l, sizes)
    });
    eprintln!("{n} streams, the memo replayed in {}", used.get());
    // (head_chunk makes a clean head in about one stream in ten.)
    assert!(
        used.get() > n / 20,
        "the memo was used in {} of {n} streams",
        used.get()
    );
    assert_none_differ(&failures);
}

/// Heads around the memo's 4 KiB bound (taken up to 4096 bytes, not past),
/// empty CodecPrivates, and two heads alternating (the memo changes at
/// every chunk) or in runs.
#[test]
fn attack_memo_size_bound_and_alternating_heads() {
    let base_len = ebml_header().len() + 8 + 4 + attack_head_body(&[]).len();
    let mut failures = Vec::new();
    for target in [4094usize, 4095, 4096, 4097, 4098] {
        // A CodecPrivate of p bytes adds p plus its header (2-byte ID, size
        // of 2 bytes past 126) and grows the TrackEntry's and the Tracks'
        // size fields: search the p that makes the head `target` long.
        let Some((p, body)) = (3000..4096).find_map(|p| {
            let body = attack_head_body(&vec![3; p]);
            (ebml_header().len() + 8 + 4 + body.len() == target).then_some((p, body))
        }) else {
            panic!("no head of {target} bytes");
        };
        let input: Vec<u8> = (0..3).flat_map(|k| attack_kvs_chunk(&body, k)).collect();
        attack_compare(
            &format!("head {target} (private {p})"),
            &input,
            Limits::default(),
            &mut failures,
        );
        let (c, e) = memo_replays(&input, Limits::default(), &[1 << 20]);
        let expect = if target <= 4096 { 2 } else { 0 };
        assert_eq!((c, e), (expect, expect), "head of {target} bytes");
    }
    assert!(base_len < 4094);
    let a = attack_head_body(&[]);
    let b = attack_head_body(&[1]);
    let e0 = concat(&[
        info(1_000_000),
        el(TRACKS, &video_track(1, "V", &el(CODEC_PRIVATE, &[]), 1, 1)),
    ]);
    for order in [&[0, 1, 0, 1, 0][..], &[0, 0, 1, 1, 0, 0], &[2, 2, 0, 2]] {
        let heads = [&a, &b, &e0];
        let input: Vec<u8> = order
            .iter()
            .enumerate()
            .flat_map(|(k, &h)| attack_kvs_chunk(heads[h], k as u64))
            .collect();
        attack_compare(
            &format!("order {order:?}"),
            &input,
            Limits::default(),
            &mut failures,
        );
    }
    assert_none_differ(&failures);
}

/// A head whose CodecPrivate holds a whole chunk (the EBML magic inside a
/// chunk): damage before it makes the resync find the inner header, whose
/// head is remembered and then met again, inside and outside CodecPrivates;
/// top-level Voids before the headers.
#[test]
fn attack_memo_heads_nested_in_codec_privates() {
    let inner = attack_kvs_chunk(&attack_head_body(&[5; 8]), 7);
    let outer_body = attack_head_body(&inner);
    let outer = attack_kvs_chunk(&outer_body, 1);
    let mut damaged = outer.clone();
    // Damage in the Info (right after the Segment header): the resync finds
    // the inner chunk's header in the CodecPrivate.
    let at = ebml_header().len() + 8 + 4;
    damaged[at] = 0xFF;
    let void = el(VOID, &[0; 5]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "outer twice",
            [outer.clone(), outer.clone(), inner.clone()].concat(),
        ),
        (
            "damaged then inner",
            [damaged.clone(), inner.clone(), outer.clone(), inner.clone()].concat(),
        ),
        (
            "inner then damaged",
            [
                inner.clone(),
                damaged.clone(),
                damaged.clone(),
                inner.clone(),
            ]
            .concat(),
        ),
        (
            "voids",
            [
                void.clone(),
                inner.clone(),
                void.clone(),
                inner.clone(),
                void.clone(),
                damaged,
                inner.clone(),
            ]
            .concat(),
        ),
    ];
    let (replayed, failures) = attack_cases(&cases);
    assert!(replayed > 3, "the memo was replayed {replayed} times");
    assert_none_differ(&failures);
}

/// `input`'s chunks, decoded whole by a default `ChunkDecoder` (no error
/// expected), and how many of them started from the memo.
fn whole_chunks(input: &[u8]) -> (Vec<Chunk>, u64) {
    let mut d = ChunkDecoder::new();
    let mut buf = BytesMut::from(input);
    let mut chunks = Vec::new();
    while let Some(c) = d.decode_eof(&mut buf).unwrap() {
        chunks.push(c);
    }
    (chunks, d.engine.memo_replays)
}

/// A chunk that starts from the memo gets its tracks' strings from the
/// memo's own copies, not from the arena block of the chunk the memo was
/// taken from (which also holds that chunk's tags): otherwise every later
/// chunk, and the memo, would keep that block alive. (Found by the
/// attack review of the memo.)
#[test]
fn replayed_tracks_do_not_share_the_first_chunks_strings() {
    let head = [
        ebml_header(),
        open_unknown(SEGMENT, 8),
        el(TRACKS, &video_track(1, "V_MPEG4/ISO/AVC", b"pp", 2, 2)),
    ]
    .concat();
    let input: Vec<u8> = (0..3)
        .flat_map(|k| {
            let tags = tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "12")], 1);
            [head.clone(), tags, cluster(k * 2000, &[0])].concat()
        })
        .collect();
    let (chunks, replays) = whole_chunks(&input);
    assert_eq!(chunks.len(), 3);
    assert_eq!(replays, 2);
    let first = &chunks[0].info.tracks[0].codec_id;
    for c in &chunks[1..] {
        let codec = &c.info.tracks[0].codec_id;
        assert_eq!(codec, "V_MPEG4/ISO/AVC");
        assert_ne!(
            codec.as_ptr(),
            first.as_ptr(),
            "shares the first chunk's block"
        );
    }
}

/// A chunk that continues its Segment after a CONTINUATION_TOKEN, with
/// Tracks of its own, does not take the memo's place: it does not begin
/// with an EBML header, so its head could never be replayed, and the
/// next chunks with the first head still start from the memo. (Found by
/// the attack review of the memo.)
#[test]
fn a_continued_segment_does_not_replace_the_memo() {
    let token = || tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "123")], 1);
    let chunk = [
        ebml_header(),
        open_unknown(SEGMENT, 8),
        el(TRACKS, &video_track(1, "V_A", b"pp", 2, 2)),
        cluster(0, &[0]),
        token(),
    ]
    .concat();
    let goes_on = [
        el(TRACKS, &video_track(1, "V_B", b"qq", 4, 4)),
        cluster(2000, &[0]),
        token(),
    ]
    .concat();
    let input = [chunk.clone(), goes_on, chunk.clone(), chunk].concat();
    let (chunks, replays) = whole_chunks(&input);
    assert_eq!(chunks.len(), 4);
    assert_eq!(
        chunks[1].info.tracks.len(),
        2,
        "the continued Segment's tracks"
    );
    assert_eq!(replays, 2);
    let (reference, why) = compare(&input, Limits::default(), &[1, 7, 1460]);
    assert_eq!(reference.len(), 4);
    assert!(why.is_empty(), "{why:?}");
}

/// A chunk that began from the memo, then read tracks of its own (Tracks
/// after its tags, where no memo is taken), leaves all its tracks to a
/// Segment that goes on after its token, not only the memo's. (The carried
/// tracks are taken from the memo only while the chunk's are the memo's:
/// found by a mutant that left that flag set when a track was added.)
#[test]
fn a_continued_segment_keeps_the_tracks_read_after_the_memo() {
    let token = || tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "123")], 1);
    let chunk = |extra: bool| {
        let mut c = [
            ebml_header(),
            open_unknown(SEGMENT, 8),
            el(TRACKS, &video_track(1, "V_A", b"pp", 2, 2)),
            tags_w(&[("PRODUCER", "x")], 1),
        ]
        .concat();
        if extra {
            c.extend(el(TRACKS, &audio_track(2, "A_B", 8000.0, 1)));
        }
        c.extend([cluster(0, &[0]), token()].concat());
        c
    };
    let goes_on = [cluster(2000, &[0]), token()].concat();
    let input = [chunk(false), chunk(true), goes_on].concat();
    let (chunks, replays) = whole_chunks(&input);
    assert_eq!(chunks.len(), 3);
    assert_eq!(replays, 1, "the second chunk began from the memo");
    let codecs: Vec<_> = chunks[2]
        .info
        .tracks
        .iter()
        .map(|t| t.codec_id.as_str())
        .collect();
    assert_eq!(codecs, ["V_A", "A_B"], "the continued Segment's tracks");
    assert_eq!(
        chunks[2].info.tracks[0].codec_private.as_deref(),
        Some(&b"pp"[..])
    );
    let (reference, why) = compare(&input, Limits::default(), &[1, 7, 1460, 1 << 20]);
    assert_eq!(reference.len(), 3);
    assert!(why.is_empty(), "{why:?}");
}

/// A head that changes deep in a stream is remembered there too: the
/// memo's size bound counts the head's own bytes, not its offset in the
/// stream. (Found by cargo-mutants: `pos - offset` read as `pos + offset`
/// went unnoticed, every other test's heads being remembered near the
/// start.)
#[test]
fn a_head_that_changes_far_into_the_stream_is_remembered() {
    let chunk = |codec: &str, frame: usize, k: u64| {
        [
            ebml_header(),
            open_unknown(SEGMENT, 8),
            el(TRACKS, &video_track(1, codec, b"pp", 2, 2)),
            open_unknown(CLUSTER, 8),
            uint(TIMECODE, k * 2000),
            simple_block(1, 0, true, &vec![0xAB; frame]),
        ]
        .concat()
    };
    // 20 KB into the stream before the second head first comes.
    let input = [
        chunk("V_A", 20_000, 0),
        chunk("V_B", 10, 1),
        chunk("V_B", 10, 2),
        chunk("V_B", 10, 3),
    ]
    .concat();
    assert_eq!(memo_replays(&input, Limits::default(), &[1 << 20]), (2, 2));
    let (reference, why) = compare(&input, Limits::default(), &[1460]);
    assert_eq!(reference.len(), 4);
    assert!(why.is_empty(), "{why:?}");
}

/// Streaming (EventDecoder): a chunk that began from the memo, then read a
/// track of its own in Tracks after its first Cluster, leaves all its
/// tracks to a Segment that goes on after its token. The head kept for
/// the memo's tracks at `Start` must not stand for the tracks at the end.
/// (Found by the attack review of the lazy continuation tracks.)
#[test]
fn attack_continued_segment_after_tracks_read_past_the_cluster() {
    let token = || tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "123")], 1);
    let chunk = |extra: bool| {
        let mut c = [
            ebml_header(),
            open_unknown(SEGMENT, 8),
            el(TRACKS, &video_track(1, "V_A", b"pp", 2, 2)),
            cluster(0, &[0]),
        ]
        .concat();
        if extra {
            c.extend(el(TRACKS, &audio_track(2, "A_B", 8000.0, 1)));
            c.extend(cluster(1000, &[0]));
        }
        c.extend(token());
        c
    };
    let goes_on = [cluster(2000, &[0]), token()].concat();
    let input = [chunk(false), chunk(true), goes_on].concat();
    let replays = memo_replays(&input, Limits::default(), &[1 << 20]);
    assert_eq!(replays, (1, 1), "the second chunk began from the memo");
    let mut failures = Vec::new();
    attack_compare(
        "tracks after the cluster",
        &input,
        Limits::default(),
        &mut failures,
    );
    assert_none_differ(&failures);
}

/// Tags bodies (Tag elements) to attack `whole_tags` with, by name.
fn attack_tags_bodies() -> Vec<(String, Vec<u8>)> {
    let st = |k: usize| simple_tag_w(format!("N{k}").as_bytes(), b"12", 1);
    let tag_of = |sts: &[Vec<u8>]| el(TAG, &sts.concat());
    let token = simple_tag_w(b"AWS_KINESISVIDEO_CONTINUATION_TOKEN", b"91", 1);
    let mut v: Vec<(String, Vec<u8>)> = Vec::new();
    for n in [0usize, 1, 2, 15, 16, 17] {
        let one_tag: Vec<Vec<u8>> = (0..n).map(st).collect();
        v.push((format!("{n} SimpleTags in one Tag"), tag_of(&one_tag)));
        let tags: Vec<u8> = (0..n).flat_map(|k| tag_of(&[st(k)])).collect();
        v.push((format!("{n} Tags of one SimpleTag"), tags));
        let tags: Vec<u8> = (0..n).flat_map(|_| el(TAG, &[])).collect();
        v.push((format!("{n} empty Tags"), tags));
    }
    v.push((
        "token among tags".into(),
        tag_of(&[st(0), token.clone(), st(1), st(2)]),
    ));
    v.push((
        "token in a second Tag".into(),
        [tag_of(&[st(0)]), tag_of(&[token.clone(), st(1)])].concat(),
    ));
    for d in [-2i64, -1, 1, 2] {
        v.push((
            format!("Tag size off {d}"),
            [
                sized_off(TAG, &[st(0), st(1)].concat(), d),
                tag_of(&[st(2)]),
            ]
            .concat(),
        ));
        let sts = [st(0), sized_off(SIMPLE_TAG, &st(1)[3..], d), st(2)].concat();
        v.push((format!("SimpleTag size off {d}"), tag_of(&[sts])));
    }
    v.push((
        "unknown-size Tag".into(),
        [open_unknown(TAG, 1), st(0), st(1)].concat(),
    ));
    v.push((
        "unknown-size SimpleTag".into(),
        tag_of(&[
            st(0),
            open_unknown(SIMPLE_TAG, 1),
            el(TAG_NAME, b"x"),
            el(TAG_STRING, b"y"),
        ]),
    ));
    let nested = el(
        SIMPLE_TAG,
        &[el(TAG_NAME, b"A"), el(TAG_STRING, b"1"), st(5)].concat(),
    );
    v.push(("nested SimpleTag".into(), tag_of(&[st(0), nested])));
    v.push((
        "TagBinary".into(),
        tag_of(&[
            st(0),
            el(
                SIMPLE_TAG,
                &[el(TAG_NAME, b"B"), el(TAG_BINARY, b"\0\x01")].concat(),
            ),
        ]),
    ));
    v.push((
        "TagString before TagName".into(),
        tag_of(&[el(
            SIMPLE_TAG,
            &[el(TAG_STRING, b"1"), el(TAG_NAME, b"A")].concat(),
        )]),
    ));
    v.push((
        "name only".into(),
        tag_of(&[st(0), el(SIMPLE_TAG, &el(TAG_NAME, b"A"))]),
    ));
    v.push((
        "empty SimpleTag".into(),
        tag_of(&[st(0), el(SIMPLE_TAG, &[])]),
    ));
    v.push((
        "Targets in Tag".into(),
        tag_of(&[el(0x63C0, &uint(0x68CA, 50)), st(0)]),
    ));
    let pair = [el(TAG_NAME, b"A"), el(TAG_STRING, b"1")].concat();
    v.push((
        "Void around a pair in Tag".into(),
        tag_of(&[st(0), el(VOID, &pair)]),
    ));
    v.push((
        "Void around a SimpleTag in Tags".into(),
        [tag_of(&[st(0)]), el(VOID, &st(1))].concat(),
    ));
    v.push((
        "SimpleTag in Tags".into(),
        [tag_of(&[st(0)]), st(1)].concat(),
    ));
    v.push(("Void in Tag".into(), tag_of(&[st(0), el(VOID, &[0; 3])])));
    v.push((
        "Void in Tags".into(),
        [tag_of(&[st(0)]), el(VOID, &[0; 2])].concat(),
    ));
    v.push((
        "Tags in Tags".into(),
        [tag_of(&[st(0)]), el(TAGS, &tag_of(&[st(1)]))].concat(),
    ));
    v.push((
        "wide sizes".into(),
        el_w(TAG, &simple_tag_w(b"W", b"7", 8), 8),
    ));
    v.push((
        "empty name and value".into(),
        tag_of(&[el(
            SIMPLE_TAG,
            &[el(TAG_NAME, &[]), el(TAG_STRING, &[])].concat(),
        )]),
    ));
    v
}

/// A chunk with `tags_body` in known-size Tags (or unknown-size), before
/// the Tracks (so that a depth limit meets the Tags first), or after the
/// first Cluster (without Tracks when not `with_tracks`, for the same
/// reason), then more tags with a CONTINUATION_TOKEN and a Cluster.
fn attack_tags_chunk(
    tags_body: &[u8],
    known: bool,
    after_cluster: bool,
    with_tracks: bool,
) -> Vec<u8> {
    let tags = if known {
        el(TAGS, tags_body)
    } else {
        [open_unknown(TAGS, 1), tags_body.to_vec()].concat()
    };
    let mut c = [ebml_header(), open_unknown(SEGMENT, 8), info(1_000_000)].concat();
    if !after_cluster {
        c.extend(tags.clone());
    }
    if with_tracks {
        c.extend(el(TRACKS, &video_track(1, "V_A", b"pp", 2, 2)));
    }
    if after_cluster {
        c.extend(cluster(0, &[0, 1]));
        c.extend(tags);
    }
    c.extend(cluster(2000, &[0]));
    c.extend(tags_w(
        &[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "5"), ("Z", "z")],
        1,
    ));
    c.extend(cluster(4000, &[0]));
    c
}

#[test]
fn attack_whole_tags_agrees_with_the_general_path() {
    let mut failures = Vec::new();
    let mut cases = 0;
    for (name, body) in attack_tags_bodies() {
        for (known, after_cluster, with_tracks) in [
            (true, false, true),
            (false, false, true),
            (true, true, true),
            (false, true, true),
            (true, true, false),
        ] {
            {
                let input = attack_tags_chunk(&body, known, after_cluster, with_tracks);
                let two = [input.clone(), input.clone()].concat();
                let mut ls = attack_limits(0);
                for t in [2usize, 3, 4, 6, 16, 17] {
                    ls.push(Limits {
                        max_tags_per_chunk: t,
                        ..Limits::default()
                    });
                }
                for m in [100u64, 120, 150, 200, 300] {
                    ls.push(Limits {
                        max_chunk_size: m,
                        ..Limits::default()
                    });
                }
                for l in ls {
                    for sizes in [vec![1 << 20], vec![1], vec![7, 3, 1, 12]] {
                        cases += 1;
                        let (_, why) = compare(&two, l, &sizes);
                        if !why.is_empty() {
                            failures.push(format!(
                                "{name} (known {known}, after cluster {after_cluster}, tracks {with_tracks}): {why:?}, {l:?}, pieces {sizes:?}"
                            ));
                        }
                    }
                }
            }
        }
    }
    eprintln!("{cases} cases");
    assert_none_differ(&failures);
}

/// Bit flips and cuts anywhere in a chunk's whole Tags, before and after
/// the Cluster.
#[test]
fn attack_whole_tags_damaged() {
    let mut failures = Vec::new();
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let bodies = attack_tags_bodies();
    for round in 0..20000 {
        let (name, body) = &bodies[r.below(bodies.len() as u64) as usize];
        let after = r.chance(50);
        let mut input = attack_tags_chunk(body, true, after, r.chance(70));
        let at = input.len() - 150;
        for _ in 0..1 + r.below(3) {
            let i = (r.below(at as u64) as usize).max(60);
            input[i] ^= 1 << r.below(8);
        }
        let l = if r.chance(30) {
            {
                let ls = attack_limits(0);
                ls[r.below(ls.len() as u64) as usize]
            }
        } else {
            Limits::default()
        };
        let sizes = some_pieces(&mut r);
        let (_, why) = compare(&input, l, &sizes);
        if !why.is_empty() {
            failures.push(format!(
                "round {round} {name} after {after}: {why:?}, {l:?}, pieces {sizes:?}"
            ));
        }
    }
    assert_none_differ(&failures);
}

/// Random streams of chunks that end at their CONTINUATION_TOKEN and
/// Segments that go on after it (Clusters, Tracks with CodecPrivates,
/// Tags), with heads that repeat (replayed from the memo), tracks added
/// before and after the first Cluster, known-size Segments and
/// occasional damage: both decoders against the general path.
#[test]
fn attack_continued_segments_random() {
    let token = |k: u64| {
        tags_w(
            &[
                ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", &format!("{k}")),
                ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "12"),
            ],
            1,
        )
    };
    let heads: Vec<Vec<u8>> = vec![
        attack_head_body(&[1, 2, 3, 4]),
        attack_head_body(&[9; 40]),
        concat(&[
            info(1_000_000),
            el(
                TRACKS,
                &concat(&[
                    video_track(1, "V_X", b"aa", 2, 2),
                    video_track(2, "V_Y", b"bbb", 4, 4),
                    video_track(3, "V_Z", b"", 4, 4),
                ]),
            ),
        ]),
        concat(&[
            info(1_000_000),
            el(TRACKS, &audio_track(1, "A_OPUS", 48000.0, 2)),
        ]),
    ];
    let mut r = Rng(0xC0FF_EE12_3456_789B);
    let mut failures = Vec::new();
    let mut cases = 0;
    for round in 0..5000 {
        let mut input = Vec::new();
        let mut k = 0u64;
        for _ in 0..1 + r.below(5) {
            k += 1;
            let mut c = if r.chance(85) || input.is_empty() {
                let head = &heads[r.below(heads.len() as u64) as usize];
                let mut c = [ebml_header(), open_unknown(SEGMENT, 8), head.clone()].concat();
                if r.chance(20) {
                    c.extend(el(TRACKS, &video_track(7, "V_E", b"ee", 2, 2)));
                }
                c
            } else {
                Vec::new()
            };
            if r.chance(50) {
                c.extend(tags_w(
                    &[(
                        "AWS_KINESISVIDEO_FRAGMENT_NUMBER",
                        "91343852333181432392682062607743920146264436362",
                    )],
                    1,
                ));
            }
            c.extend(cluster(k * 2000, &[0, 33]));
            if r.chance(25) {
                let codec = format!("A_{k}");
                c.extend(el(TRACKS, &audio_track(8 + k, &codec, 8000.0, 1)));
                c.extend(cluster(k * 2000 + 1000, &[0]));
            }
            if r.chance(80) {
                c.extend(token(k));
            }
            input.extend(c);
        }
        if r.chance(20) {
            let i = r.below(input.len() as u64) as usize;
            input[i] ^= 1 << r.below(8);
        }
        let sizes = some_pieces(&mut r);
        let l = if r.chance(20) {
            let mut ls = attack_limits(2);
            ls.extend([1, 2, 3].map(|t| Limits {
                max_tracks: t,
                ..Limits::default()
            }));
            ls[r.below(ls.len() as u64) as usize]
        } else {
            Limits::default()
        };
        cases += 1;
        let (_, why) = compare(&input, l, &sizes);
        if !why.is_empty() {
            failures.push(format!("round {round}: {why:?}, {l:?}, pieces {sizes:?}"));
        }
    }
    eprintln!("{cases} cases");
    assert_none_differ(&failures);
}

/// A chunk that ends at its token, with tracks that are the memo's and no
/// CodecPrivate, leaves nothing of its bytes alive in the decoder once it
/// is handed out: as the general path (which carries a copy of the
/// tracks, with no view into them), the chunk's bytes are the caller's
/// alone while the decoder waits to see whether the Segment goes on.
/// (Found by the attack review of the lazy continuation tracks: the memo
/// carry kept the whole chunk, frames and all, for its CodecPrivates,
/// even where there were none.)
#[test]
fn attack_continuation_keeps_no_bytes_of_a_chunk_without_codec_privates() {
    let input = [
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1_000_000),
        el(TRACKS, &audio_track(1, "A_OPUS", 48000.0, 2)),
        cluster(0, &[0, 20]),
        tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "1")], 1),
    ]
    .concat();
    for fast in [false, true] {
        let mut d = if fast {
            ChunkDecoder::new()
        } else {
            ChunkDecoder::general_path_only(Limits::default())
        };
        let mut buf = BytesMut::from(&input[..]);
        let chunk = d
            .decode(&mut buf)
            .unwrap()
            .expect("the chunk ends at its token");
        drop(buf);
        let Chunk { raw, info, frames } = chunk;
        drop((info, frames));
        assert!(
            raw.is_unique(),
            "fast {fast}: the decoder keeps the chunk's bytes"
        );
        drop(d);
    }
}

/// Chunks with whole Tags (16 and 17 tags, a token among them) before
/// and after the Cluster, split in two at every byte, and cut short at
/// every byte (the end of input inside the Tags).
#[test]
fn attack_whole_tags_split_and_cut_at_every_byte() {
    let bodies = attack_tags_bodies();
    let pick = [
        "16 SimpleTags in one Tag",
        "17 Tags of one SimpleTag",
        "token among tags",
    ];
    let mut failures = Vec::new();
    let picked = bodies.iter().filter(|(n, _)| pick.contains(&n.as_str()));
    assert_eq!(picked.clone().count(), pick.len());
    for (name, body) in picked {
        for after_cluster in [false, true] {
            let input = attack_tags_chunk(body, true, after_cluster, true);
            for k in 1..input.len() {
                let (_, why) = compare(&input, Limits::default(), &[k, 1 << 20]);
                if !why.is_empty() {
                    failures.push(format!(
                        "{name} after {after_cluster} split at {k}: {why:?}"
                    ));
                }
                let (_, why) = compare(&input[..k], Limits::default(), &[1 << 20]);
                if !why.is_empty() {
                    failures.push(format!("{name} after {after_cluster} cut at {k}: {why:?}"));
                }
            }
        }
    }
    assert_none_differ(&failures);
}

/// Whole Tags in a Segment of known size that ends inside them, exactly
/// at their end or just after, before and after the Cluster: the
/// Segment's bound must stop the fast path where it stops the general.
#[test]
fn attack_whole_tags_in_a_known_size_segment() {
    let tags = tags_w(
        &[
            ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "12"),
            ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "3"),
            ("X", "y"),
        ],
        1,
    );
    let mut failures = Vec::new();
    for after_cluster in [false, true] {
        let mut body = [
            info(1_000_000),
            el(TRACKS, &video_track(1, "V_A", b"pp", 2, 2)),
        ]
        .concat();
        if after_cluster {
            body.extend(el(
                CLUSTER,
                &[uint(TIMECODE, 0), simple_block(1, 0, true, &[1; 9])].concat(),
            ));
        }
        body.extend(tags.clone());
        for d in -30i64..=3 {
            let n = (body.len() as i64 + d) as u64;
            let input = [
                ebml_header(),
                id(SEGMENT),
                size_w(n, 8),
                body.clone(),
                cluster(2000, &[0]),
                ebml_header(),
                open_unknown(SEGMENT, 8),
                body.clone(),
            ]
            .concat();
            attack_compare(
                &format!("after {after_cluster}, Segment size off {d}"),
                &input,
                Limits::default(),
                &mut failures,
            );
        }
    }
    assert_none_differ(&failures);
}

/// A chunk replayed from the memo ends at its token; then junk, or a
/// Void, or a damaged element, before what would continue its Segment (a
/// Cluster, Tracks, Tags): whatever resync makes of it, the same as the
/// general path.
#[test]
fn attack_continuation_after_damage() {
    let token = || tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "7")], 1);
    let chunk = [
        ebml_header(),
        open_unknown(SEGMENT, 8),
        attack_head_body(&[5, 6, 7]),
        cluster(0, &[0]),
        token(),
    ]
    .concat();
    let mut failures = Vec::new();
    let junk: Vec<(&str, Vec<u8>)> = vec![
        ("nothing", vec![]),
        ("zeros", vec![0; 9]),
        ("0xFF", vec![0xFF; 5]),
        ("Void", el(VOID, &[0; 4])),
        ("unknown-size Void", open_unknown(VOID, 1)),
        (
            "SimpleBlock at the top",
            el(SIMPLE_BLOCK, &block_body(1, 0, 0x80, &[1])),
        ),
        ("Tag at the top", el(TAG, &simple_tag_w(b"A", b"1", 1))),
    ];
    let goes_on: Vec<(&str, Vec<u8>)> = vec![
        ("Cluster", [cluster(2000, &[0]), token()].concat()),
        (
            "Tracks",
            [
                el(TRACKS, &audio_track(3, "A_C", 8000.0, 1)),
                cluster(2000, &[0]),
            ]
            .concat(),
        ),
        (
            "Tags",
            [tags_w(&[("B", "2")], 1), cluster(2000, &[0])].concat(),
        ),
    ];
    for (j, junk) in &junk {
        for (g, more) in &goes_on {
            let input = [
                chunk.clone(),
                chunk.clone(),
                junk.clone(),
                more.clone(),
                chunk.clone(),
            ]
            .concat();
            attack_compare(
                &format!("{j} then {g}"),
                &input,
                Limits::default(),
                &mut failures,
            );
        }
    }
    assert_none_differ(&failures);
}

mod attack41;
