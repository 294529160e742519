//! Decoding throughput: `cargo bench --bench decode [-- FILTER]`.
//!
//! Groups:
//! - `big_frames`: a GetMedia body of 20 camera fragments (60 frames of 30 to
//!   60 KB each, ~54 MB), bytes per second;
//! - `small_frames/N` and `small_frames/2N`: 12 and 24 chunks of 1000
//!   100-byte frames, frames per second; the two sizes show whether the cost
//!   is linear in the input at every piece size;
//! - `recordings`: the real GetMedia recordings of ../shared (skipped when
//!   absent);
//! - `peers`: ebml-iterable's push `TagDecoder` (with webm-iterable's
//!   Matroska spec) and matroska-demuxer on the same bytes;
//! - `elements`: the element reader (`matroska::ElementReader`) on the
//!   small-frame body and the recordings, elements per second.
//!
//! Every input is fed whole, in 64 KiB pieces and in 1460-byte pieces (one
//! TCP segment); the small inputs also one byte at a time. The pieces are
//! handed over without copying (`BytesMut::unsplit` of a buffer that already
//! holds the input, as a socket read into the buffer's spare room does), so
//! the numbers are the decoder's cost; `+copy` variants add the caller's
//! `extend_from_slice`. Each routine counts the frames it found and checks
//! the count, so nothing is optimised away and every decoder did the work.
//!
//! Short runs on a busy machine:
//! `cargo bench --bench decode -- --warm-up-time 1 --measurement-time 3`

#[path = "../tests/common/ebml.rs"]
mod ebml;
#[path = "support/streams.rs"]
mod streams;

use std::hint::black_box;
use std::io::Cursor;
use std::path::PathBuf;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use kvs_mkv::matroska::{Element, ElementReader};
use kvs_mkv::{Chunk, ChunkDecoder, Error, Event, EventDecoder};
use streams::Shape;
use tokio_util::codec::Decoder;

/// Piece sizes: `None` is the whole input at once.
const WHOLE: Option<usize> = None;
const KIB64: Option<usize> = Some(64 << 10);
const TCP: Option<usize> = Some(1460);
const BYTE: Option<usize> = Some(1);

fn piece_name(piece: Option<usize>) -> String {
    match piece {
        None => "whole".into(),
        Some(n) if n % 1024 == 0 => format!("{}KiB", n >> 10),
        Some(n) => format!("{n}B"),
    }
}

/// Hands `input` to `step` in pieces, without copying: each piece is split
/// off a buffer that holds the whole input and joined (O(1)) to the end of
/// the decoder's buffer. `step` is called after each piece with `eof`
/// telling whether it was the last.
///
/// Returns an empty handle on the input's allocation, for the routine to
/// return: freeing tens of MB (munmap) is the harness's cost, not the
/// decoder's (a real reader reuses its buffer), so criterion drops it after
/// the clock stops.
fn feed(
    input: BytesMut,
    piece: Option<usize>,
    mut step: impl FnMut(&mut BytesMut, bool),
) -> BytesMut {
    let mut rest = input;
    let keep = rest.split_to(0);
    let mut buf = BytesMut::new();
    let piece = piece.unwrap_or(usize::MAX).max(1);
    loop {
        let n = piece.min(rest.len());
        buf.unsplit(rest.split_to(n));
        let eof = rest.is_empty();
        step(&mut buf, eof);
        if eof {
            return keep;
        }
    }
}

/// What a routine returns: the frames it found, and the input's allocation.
type Run = (u64, BytesMut);

/// As [`feed`], but copying each piece into the buffer as a reader that
/// reads into its own scratch space does.
fn feed_copy(input: &[u8], piece: usize, mut step: impl FnMut(&mut BytesMut, bool)) {
    let mut buf = BytesMut::new();
    let mut pieces = input.chunks(piece).peekable();
    while let Some(p) = pieces.next() {
        buf.extend_from_slice(p);
        step(&mut buf, pieces.peek().is_none());
    }
}

/// Drains a decoder: `decode` until it needs more, and at EOF `decode_eof`
/// until it is done. Errors (recordings cut short) are counted, not fatal.
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
        match r {
            Ok(Some(x)) => item(x),
            Ok(None) => return,
            Err(e) => {
                black_box(e);
            }
        }
    }
}

fn chunk_frames(chunk: Chunk) -> u64 {
    let n = chunk.frames().len() as u64;
    black_box(chunk);
    n
}

/// Frames found by a `ChunkDecoder`.
fn kvs_chunks(input: BytesMut, piece: Option<usize>) -> Run {
    let mut decoder = ChunkDecoder::default();
    let mut frames = 0;
    let keep = feed(input, piece, |buf, eof| {
        drain(&mut decoder, buf, eof, |c| frames += chunk_frames(c))
    });
    (frames, keep)
}

/// Frames found by an `EventDecoder`.
fn kvs_events(input: BytesMut, piece: Option<usize>) -> Run {
    let mut decoder = EventDecoder::default();
    let mut frames = 0;
    let keep = feed(input, piece, |buf, eof| {
        drain(&mut decoder, buf, eof, |e| {
            frames += u64::from(matches!(e, Event::Frame(_)));
            black_box(e);
        })
    });
    (frames, keep)
}

/// Elements (starts and leaves) found by an `ElementReader`, every payload
/// passed over.
fn kvs_elements(input: BytesMut, piece: Option<usize>) -> Run {
    let mut reader = ElementReader::default();
    let mut elements = 0;
    let keep = feed(input, piece, |buf, eof| loop {
        let r = if eof {
            reader.next_eof(buf)
        } else {
            reader.next(buf)
        };
        match r {
            Ok(Some(e)) => {
                elements += u64::from(!matches!(e, Element::End { .. }));
                black_box(e);
            }
            Ok(None) => return,
            Err(e) => {
                black_box(e);
            }
        }
    });
    (elements, keep)
}

/// Benchmarks one decoder over one input at one piece size.
fn bench(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    piece: Option<usize>,
    input: &[u8],
    frames: u64,
    run: fn(BytesMut, Option<usize>) -> Run,
) {
    let id = BenchmarkId::new(name, piece_name(piece));
    c.bench_with_input(id, input, |b, input| {
        b.iter_batched(
            || BytesMut::from(input),
            |buf| {
                let (found, keep) = run(buf, piece);
                assert_eq!(found, frames);
                keep
            },
            BatchSize::LargeInput,
        )
    });
}

fn big_frames(c: &mut Criterion) {
    let shape = Shape::big_frames(20);
    let input = streams::stream(&shape);
    let frames = shape.frames();
    let mut g = c.benchmark_group("big_frames");
    g.sample_size(10)
        .throughput(Throughput::Bytes(input.len() as u64));
    for piece in [WHOLE, KIB64, TCP] {
        bench(&mut g, "ChunkDecoder", piece, &input, frames, kvs_chunks);
        bench(&mut g, "EventDecoder", piece, &input, frames, kvs_events);
    }
    for piece in [64 << 10, 1460] {
        let id = BenchmarkId::new("ChunkDecoder+copy", piece_name(Some(piece)));
        g.bench_with_input(id, &input[..], |b, input| {
            b.iter(|| {
                let mut decoder = ChunkDecoder::default();
                let mut n = 0;
                feed_copy(input, piece, |buf, eof| {
                    drain(&mut decoder, buf, eof, |c| n += chunk_frames(c))
                });
                assert_eq!(n, frames);
            })
        });
    }
    g.finish();
}

fn small_frames(c: &mut Criterion) {
    for (label, chunks) in [("N", 12), ("2N", 24)] {
        let shape = Shape::small_frames(chunks);
        let input = streams::stream(&shape);
        let frames = shape.frames();
        let mut g = c.benchmark_group(format!("small_frames/{label}"));
        g.sample_size(20).throughput(Throughput::Elements(frames));
        for piece in [WHOLE, KIB64, TCP, BYTE] {
            bench(&mut g, "ChunkDecoder", piece, &input, frames, kvs_chunks);
            bench(&mut g, "EventDecoder", piece, &input, frames, kvs_events);
        }
        g.finish();
    }
}

fn recordings(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/kvs-recordings");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} not found", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "mkv"))
        .collect();
    files.sort();
    let mut g = c.benchmark_group("recordings");
    g.sample_size(20);
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        let frames = kvs_chunks(BytesMut::from(&input[..]), WHOLE).0;
        g.throughput(Throughput::Bytes(input.len() as u64));
        let mut pieces = vec![WHOLE, KIB64, TCP];
        if input.len() <= 64 << 10 {
            pieces.push(BYTE);
        }
        for piece in pieces {
            bench(
                &mut g,
                &format!("{name}/ChunkDecoder"),
                piece,
                &input,
                frames,
                kvs_chunks,
            );
        }
        bench(
            &mut g,
            &format!("{name}/EventDecoder"),
            TCP,
            &input,
            frames,
            kvs_events,
        );
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// Peers, on the same bytes.

mod peers {
    use super::*;
    use ebml_iterable::TagDecoder;
    use webm_iterable::matroska_spec::{MatroskaSpec, SimpleBlock};

    /// ebml-iterable's push decoder with webm-iterable's Matroska spec, fed
    /// exactly as kvs-mkv is. Each SimpleBlock is parsed (track, timecode,
    /// flags, lacing), as kvs-mkv parses it; returns the frames found.
    pub fn ebml_iterable(input: BytesMut, piece: Option<usize>) -> Run {
        let mut decoder: TagDecoder<MatroskaSpec> = TagDecoder::new(&[]);
        let mut frames = 0u64;
        let keep = feed(input, piece, |buf, eof| loop {
            let r = if eof {
                decoder.decode_eof(buf)
            } else {
                decoder.decode(buf)
            };
            match r.expect("ebml-iterable decodes the stream") {
                Some(t) => {
                    if let MatroskaSpec::SimpleBlock(_) = &t.tag {
                        let block = SimpleBlock::try_from(&t.tag).expect("a valid block");
                        frames += block.read_frame_data().map_or(1, |f| f.len() as u64);
                        black_box(block);
                    }
                    black_box(t);
                }
                None => return,
            }
        });
        (frames, keep)
    }

    /// matroska-demuxer reads one seekable Matroska file, so it is given
    /// each chunk whole (it cannot take pieces), every frame read into one
    /// reused `Frame`.
    pub fn matroska_demuxer(chunks: &[Vec<u8>]) -> u64 {
        let mut frames = 0;
        let mut frame = matroska_demuxer::Frame::default();
        for chunk in chunks {
            let mut file = matroska_demuxer::MatroskaFile::open(Cursor::new(&chunk[..]))
                .expect("matroska-demuxer opens the chunk");
            while file.next_frame(&mut frame).expect("a frame") {
                frames += 1;
                black_box(&frame.data);
            }
        }
        frames
    }
}

fn peers(c: &mut Criterion) {
    let cases = [
        ("small_frames", Shape::small_frames(12)),
        ("big_frames", Shape::big_frames(5)),
    ];
    for (label, shape) in cases {
        let input = streams::stream(&shape);
        let chunks: Vec<Vec<u8>> = (0..shape.chunks)
            .map(|i| streams::chunk(&shape, i))
            .collect();
        let frames = shape.frames();
        let mut g = c.benchmark_group(format!("peers/{label}"));
        g.sample_size(10);
        g.throughput(if label == "small_frames" {
            Throughput::Elements(frames)
        } else {
            Throughput::Bytes(input.len() as u64)
        });
        for piece in [WHOLE, KIB64, TCP] {
            bench(
                &mut g,
                "kvs-mkv ChunkDecoder",
                piece,
                &input,
                frames,
                kvs_chunks,
            );
            bench(
                &mut g,
                "kvs-mkv EventDecoder",
                piece,
                &input,
                frames,
                kvs_events,
            );
            bench(
                &mut g,
                "ebml-iterable TagDecoder",
                piece,
                &input,
                frames,
                peers::ebml_iterable,
            );
        }
        let id = BenchmarkId::new("matroska-demuxer", "whole chunks");
        g.bench_with_input(id, &chunks, |b, chunks| {
            b.iter(|| assert_eq!(peers::matroska_demuxer(chunks), frames))
        });
        g.finish();
    }
}

fn elements(c: &mut Criterion) {
    let mut inputs = vec![(
        "small_frames".to_string(),
        streams::stream(&Shape::small_frames(12)),
    )];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/kvs-recordings");
    for name in ["output_get_media", "vogels_480"] {
        match std::fs::read(dir.join(format!("{name}.mkv"))) {
            Ok(bytes) => inputs.push((name.to_string(), bytes)),
            Err(_) => eprintln!("skipped: {name}.mkv not found in {}", dir.display()),
        }
    }
    let mut g = c.benchmark_group("elements");
    g.sample_size(20);
    for (name, input) in inputs {
        let count = kvs_elements(BytesMut::from(&input[..]), WHOLE).0;
        g.throughput(Throughput::Elements(count));
        for piece in [WHOLE, TCP] {
            bench(
                &mut g,
                &format!("{name}/ElementReader"),
                piece,
                &input,
                count,
                kvs_elements,
            );
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    big_frames,
    small_frames,
    recordings,
    peers,
    elements
);
criterion_main!(benches);
