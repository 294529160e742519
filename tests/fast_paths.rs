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
//! `FUZZ_N=300000 cargo test --release --test fast_paths` runs longer.

mod common;

use bytes::BytesMut;
use common::ebml::*;
use kvs_mkv::{ChunkDecoder, DecodeError, Error, Event, EventDecoder, Limits};
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

fn block_payload(r: &mut Rng) -> Vec<u8> {
    let mut b = Vec::new();
    if r.chance(10) {
        // 2-byte track VINT
        let t = 1 + r.below(300);
        b.extend([0x40 | (t >> 8) as u8, t as u8]);
    } else {
        b.push(0x80 | (1 + r.below(126)) as u8);
    }
    let tc: i16 = match r.below(6) {
        0 => i16::MAX,
        1 => i16::MIN,
        _ => (r.below(200) as i16) - 50,
    };
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
        let body = cluster_body(r);
        match r.below(5) {
            0 | 1 => seg.extend([open_unknown(CLUSTER, 1 + r.below(8) as usize), body].concat()),
            2 => {
                // wrong size
                let n = (body.len() as i64 + r.below(9) as i64 - 4).max(0) as u64;
                seg.extend([id(CLUSTER), size(n), body].concat());
            }
            _ => seg.extend(el(CLUSTER, &body)),
        }
    }
    for _ in 0..r.below(3) {
        if r.chance(50) {
            seg.extend(tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "123")], 1));
        }
        for _ in 0..r.below(3) {
            let body = cluster_body(r);
            if r.chance(50) {
                seg.extend([open_unknown(CLUSTER, 1 + r.below(8) as usize), body].concat())
            } else {
                seg.extend(el(CLUSTER, &body))
            }
        }
    }
    let seg = match r.below(4) {
        0 | 3 => [open_unknown(SEGMENT, 8), seg].concat(),
        1 => {
            let n = (seg.len() as i64 + r.below(9) as i64 - 4).max(0) as u64;
            [id(SEGMENT), size(n), seg].concat()
        }
        _ => el(SEGMENT, &seg),
    };
    [ebml_header(), seg].concat()
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
    Chunk(Box<kvs_mkv::Chunk>),
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
    mut decoder: D,
    input: &[u8],
    sizes: &[usize],
) -> Vec<Result<D::Item, DecodeError>> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut step = |buf: &mut BytesMut, eof: bool| loop {
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
        step(&mut buf, false);
    }
    step(&mut buf, true);
    out
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

fn events(input: &[u8], sizes: &[usize], l: Limits, fast: bool) -> Vec<Result<Event, DecodeError>> {
    let decoder = if fast {
        EventDecoder::with_limits(l)
    } else {
        EventDecoder::general_path_only(l)
    };
    run(decoder, input, sizes)
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

#[test]
fn fast_paths_agree_with_the_general_path() {
    let n: u64 = std::env::var("FUZZ_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let (mut failures, mut total_frames, mut errors) = (Vec::new(), 0, 0);
    for seed in 1..=n {
        let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let input = stream(&mut r);
        let l = limits(&mut r);
        let sizes: Vec<usize> = (0..1 + r.below(5))
            .map(|_| match r.below(3) {
                0 => 1,
                1 => 1 + r.below(10) as usize,
                _ => 1 + r.below(500) as usize,
            })
            .collect();
        let whole = [input.len().max(1)];
        let reference = chunks(&input, &whole, l, false);
        total_frames += frames(&reference);
        errors += reference
            .iter()
            .filter(|i| matches!(i, Item::Error(_)))
            .count();
        let events_reference = events(&input, &whole, l, false);
        let mut why = Vec::new();
        if chunks(&input, &whole, l, true) != reference {
            why.push("ChunkDecoder whole");
        }
        if chunks(&input, &sizes, l, true) != reference {
            why.push("ChunkDecoder in pieces");
        }
        if chunks(&input, &sizes, l, false) != reference {
            why.push("ChunkDecoder in pieces, general path");
        }
        if events(&input, &whole, l, true) != events_reference {
            why.push("EventDecoder whole");
        }
        if events(&input, &sizes, l, true) != events_reference {
            why.push("EventDecoder in pieces");
        }
        if !why.is_empty() {
            failures.push(format!("seed {seed}: {why:?}, {l:?}, pieces {sizes:?}"));
        }
    }
    eprintln!("{n} streams: {total_frames} frames, {errors} errors in the reference");
    // The generator must exercise both frames and damage.
    assert!(total_frames > n as usize && errors > n as usize / 10);
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
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
                let mut l = Limits::default();
                l.max_chunk_size = max_chunk;
                l.max_element_size = max_element;
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
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

/// An Info after a Cluster changes the TimecodeScale of the frames after
/// it, not before: checked against the values written, for both decoders,
/// with and without the fast paths, whole and in pieces. (The frame records
/// of a whole chunk keep the scale apart from each frame, by first index.)
#[test]
fn a_timecode_scale_changed_inside_a_chunk_applies_from_there_on() {
    let cluster = |tc: u64, blocks: &[i16]| {
        let mut c = open_unknown(CLUSTER, 8);
        c.extend(uint(TIMECODE, tc));
        for &t in blocks {
            c.extend(simple_block(1, t, t == 0, &[0xAB; 9]));
        }
        c
    };
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
