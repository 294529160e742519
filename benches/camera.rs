//! Camera-shaped streams (issue I): `cargo bench --bench camera`.
//!
//! Two GetMedia bodies made by the crate's writer (benches/support/camera.rs):
//! 2 s fragments of 30 fps video (keyframe first, 2-60 KB frames) and
//! ~47 fps audio (~300 B frames), the five AWS tags per chunk, at about
//! 1 Mbit/s and 6 Mbit/s. Each is decoded by
//!
//! - `walker`: a hand-written push walker, the floor: it finds each
//!   SimpleBlock and splits it off the buffer, nothing more;
//! - `chunk-floor+copy`: the floor for a decoder that hands out whole
//!   chunks, each one contiguous view: the body copied into a buffer of each
//!   chunk's exact size, known in advance, nothing parsed (see
//!   `chunk_floor_copy`);
//! - `ChunkDecoder` and `EventDecoder` (`tokio_util::codec::Decoder`);
//!
//! fed in 1460-byte (one TCP segment) and 16 KiB reads, each either copied
//! into a `BytesMut` as a socket read does (`+copy`, `extend_from_slice`),
//! or joined without copying (`BytesMut::unsplit` of a buffer that already
//! holds the input; the decoder's cost alone). Throughput is bytes; the
//! frame count of each stream is printed so ns/frame = time / frames.
//!
//! Short runs on a busy machine:
//! `cargo bench --bench camera -- --warm-up-time 1 --measurement-time 3`;
//! CI smoke (each routine once, no timing): `cargo bench --bench camera -- --test`.

#[path = "support/camera.rs"]
mod camera;

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use kvs_mkv::{ChunkDecoder, Error, Event, EventDecoder};
use tokio_util::codec::Decoder;

const PIECES: [usize; 2] = [1460, 16 << 10];

fn piece_name(piece: usize) -> String {
    if piece % 1024 == 0 {
        format!("{}KiB", piece >> 10)
    } else {
        format!("{piece}B")
    }
}

/// A push consumer of the body: called after each read with the buffer and
/// whether the input is over; returns the frames it found so far.
trait Consumer: Default {
    fn step(&mut self, buf: &mut BytesMut, eof: bool);
    fn frames(&self) -> u64;
}

// ---------------------------------------------------------------------------
// The floor: a push walker.

const SEGMENT: u32 = 0x1853_8067;
const CLUSTER: u32 = 0x1F43_B675;
const SIMPLE_BLOCK: u32 = 0xA3;

/// An EBML variable-length integer at the start of `b`: (length, value with
/// the marker removed for sizes / kept for IDs). `None` when incomplete.
#[inline]
fn vint(b: &[u8], keep_marker: bool) -> Option<(usize, u64)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let mut v = if keep_marker {
        u64::from(first)
    } else {
        u64::from(first) & (0xFF >> len)
    };
    for &x in &b[1..len] {
        v = (v << 8) | u64::from(x);
    }
    Some((len, v))
}

/// Finds each SimpleBlock and splits it off the buffer; enters Segment and
/// Cluster, passes over everything else (as bytes arrive, without waiting
/// for the whole element). Assumes well-formed input.
#[derive(Default)]
struct Walker {
    skip: usize,
    frames: u64,
}

impl Consumer for Walker {
    #[inline]
    fn step(&mut self, buf: &mut BytesMut, _eof: bool) {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(buf.len());
                bytes::Buf::advance(buf, n);
                self.skip -= n;
                if self.skip > 0 {
                    return;
                }
            }
            let Some((il, id)) = vint(buf, true) else {
                return;
            };
            let Some((sl, size)) = vint(&buf[il..], false) else {
                return;
            };
            let head = il + sl;
            let unknown = size == (1u64 << (7 * sl)) - 1;
            match id as u32 {
                SEGMENT | CLUSTER => bytes::Buf::advance(buf, head),
                SIMPLE_BLOCK if !unknown => {
                    let total = head + size as usize;
                    if buf.len() < total {
                        return;
                    }
                    let block = buf.split_to(total);
                    black_box(block);
                    self.frames += 1;
                }
                _ => {
                    bytes::Buf::advance(buf, head);
                    self.skip = size as usize;
                }
            }
        }
    }

    fn frames(&self) -> u64 {
        self.frames
    }
}

// ---------------------------------------------------------------------------
// The decoders.

/// Drains a decoder: `decode` until it needs more, at EOF `decode_eof`
/// until it is done.
fn drain<D: Decoder<Error = Error>>(
    decoder: &mut D,
    buf: &mut BytesMut,
    eof: bool,
    mut item: impl FnMut(D::Item),
) {
    loop {
        let r = if eof {
            decoder.decode_eof(buf)
        } else {
            decoder.decode(buf)
        };
        match r.expect("the camera stream decodes") {
            Some(x) => item(x),
            None => return,
        }
    }
}

#[derive(Default)]
struct Chunks {
    decoder: ChunkDecoder,
    frames: u64,
}

impl Consumer for Chunks {
    fn step(&mut self, buf: &mut BytesMut, eof: bool) {
        let frames = &mut self.frames;
        drain(&mut self.decoder, buf, eof, |c| {
            *frames += c.frames().len() as u64;
            black_box(c);
        })
    }
    fn frames(&self) -> u64 {
        self.frames
    }
}

#[derive(Default)]
struct Events {
    decoder: EventDecoder,
    frames: u64,
}

impl Consumer for Events {
    fn step(&mut self, buf: &mut BytesMut, eof: bool) {
        let frames = &mut self.frames;
        drain(&mut self.decoder, buf, eof, |e| {
            *frames += u64::from(matches!(e, Event::Frame(_)));
            black_box(e);
        })
    }
    fn frames(&self) -> u64 {
        self.frames
    }
}

// ---------------------------------------------------------------------------
// Feeding.

/// Without copying: each piece is split off a buffer that holds the whole
/// input and joined (O(1)) to the consumer's buffer. Returns an empty handle
/// on the input's allocation, so that criterion frees it off the clock.
fn feed_nocopy<C: Consumer>(input: BytesMut, piece: usize) -> (u64, BytesMut) {
    let mut rest = input;
    let keep = rest.split_to(0);
    let mut buf = BytesMut::new();
    let mut c = C::default();
    loop {
        let n = piece.min(rest.len());
        buf.unsplit(rest.split_to(n));
        let eof = rest.is_empty();
        c.step(&mut buf, eof);
        if eof {
            return (c.frames(), keep);
        }
    }
}

/// As a socket read does: each piece copied into the consumer's `BytesMut`.
fn feed_copy<C: Consumer>(input: &[u8], piece: usize) -> u64 {
    let mut buf = BytesMut::with_capacity(piece);
    let mut c = C::default();
    let mut pieces = input.chunks(piece).peekable();
    while let Some(p) = pieces.next() {
        buf.extend_from_slice(p);
        c.step(&mut buf, pieces.peek().is_none());
    }
    c.frames()
}

/// The floor for a decoder that hands out each chunk as one contiguous view
/// (`ChunkDecoder`'s contract): each chunk's bytes copied, `piece` bytes at
/// a time, into a buffer allocated at the chunk's exact size, and handed out
/// whole. It parses nothing and knows each size in advance, which no decoder
/// does (a KVS chunk is a Segment and a Cluster of unknown size): a decoder
/// that keeps whole chunks cannot be faster. The walker, like
/// `EventDecoder`, keeps only blocks, and copies into a buffer that stays in
/// the cache; the chunk's buffer is megabytes of memory written once.
fn chunk_floor_copy(input: &[u8], lengths: &[usize], piece: usize) -> usize {
    let mut rest = input;
    for &len in lengths {
        let (chunk, next) = rest.split_at(len);
        let mut buf = BytesMut::with_capacity(len);
        for p in chunk.chunks(piece) {
            buf.extend_from_slice(p);
        }
        black_box(buf.freeze());
        rest = next;
    }
    assert!(rest.is_empty());
    lengths.len()
}

fn bench_one<C: Consumer>(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    input: &[u8],
    frames: u64,
) {
    for piece in PIECES {
        let id = BenchmarkId::new(format!("{name}+copy"), piece_name(piece));
        g.bench_with_input(id, input, |b, input| {
            b.iter(|| assert_eq!(feed_copy::<C>(input, piece), frames))
        });
        let id = BenchmarkId::new(name, piece_name(piece));
        g.bench_with_input(id, input, |b, input| {
            b.iter_batched(
                || BytesMut::from(input),
                |buf| {
                    let (found, keep) = feed_nocopy::<C>(buf, piece);
                    assert_eq!(found, frames);
                    keep
                },
                BatchSize::LargeInput,
            )
        });
    }
}

fn camera(c: &mut Criterion) {
    for (label, cam) in [
        ("1mbit", camera::Camera::mbit1(30)),
        ("6mbit", camera::Camera::mbit6(10)),
    ] {
        let (input, frames, lengths) = camera::stream_with_lengths(&cam);
        let secs = 2.0 * cam.fragments as f64;
        eprintln!(
            "camera/{label}: {} bytes, {frames} frames, {} chunks, {:.2} Mbit/s",
            input.len(),
            cam.fragments,
            input.len() as f64 * 8.0 / secs / 1e6
        );
        let mut g = c.benchmark_group(format!("camera/{label}"));
        g.sample_size(10)
            .throughput(Throughput::Bytes(input.len() as u64));
        bench_one::<Walker>(&mut g, "walker", &input, frames);
        for piece in PIECES {
            let id = BenchmarkId::new("chunk-floor+copy", piece_name(piece));
            g.bench_with_input(id, &input, |b, input| {
                b.iter(|| assert_eq!(chunk_floor_copy(input, &lengths, piece), cam.fragments))
            });
        }
        bench_one::<Chunks>(&mut g, "ChunkDecoder", &input, frames);
        bench_one::<Events>(&mut g, "EventDecoder", &input, frames);
        g.finish();
    }
}

criterion_group!(benches, camera);
criterion_main!(benches);
