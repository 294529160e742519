//! An unknown-size Cluster that never ends (issue F.5): the chunk is
//! reported as soon as it passes `Limits::max_chunk_size`, the caller's
//! buffer never holds more than the limit plus one piece, the bytes after
//! it are dropped as they arrive, and decoding picks up again at the next
//! EBML header. For both decoders, with and without their fast paths.
//!
//! The expected offsets come from the rule `Limits` documents (a chunk's
//! bytes plus, for a `ChunkDecoder`, 128 bytes per frame kept), applied to
//! the sizes the fixture writes, not from a run of the decoder.
//! (tests/measure.rs measures the same with the default 256 MiB limit.)

use super::ebml::*;
use crate::decoder::{ChunkDecoder, Event, EventDecoder};
use crate::error::{DecodeError, DecodeErrorKind, Error};
use crate::limits::Limits;
use bytes::BytesMut;
use tokio_util::codec::Decoder;

const LIMIT: u64 = 1 << 20;
const PIECE: usize = 64 << 10;
/// What a `ChunkDecoder` counts per frame it keeps (documented on `Limits`).
const FRAME_COST: u64 = 128;
/// After the error, the decoder keeps at most the 3 bytes that could begin
/// an EBML header's 4-byte ID split across reads.
const MAGIC_KEPT: usize = 3;

fn head() -> Vec<u8> {
    concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 1),
        info(1_000_000),
        el(TRACKS, &video_track(1, "V_MPEG4/ISO/AVC", &[1], 640, 480)),
        open_unknown(CLUSTER, 1),
        uint(TIMECODE, 0),
    ])
}

fn block() -> Vec<u8> {
    simple_block(1, 0, true, &[0x55; 1000])
}

/// `total` bytes of an endless Cluster: the head, then blocks forever.
fn endless(total: usize) -> Vec<u8> {
    let mut s = head();
    let b = block();
    while s.len() < total {
        s.extend(&b);
    }
    s.truncate(total);
    s
}

/// A whole, valid chunk: a known-size Cluster with two frames.
fn valid_chunk() -> Vec<u8> {
    concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 1),
        el(TRACKS, &video_track(1, "V_MPEG4/ISO/AVC", &[1], 640, 480)),
        el(
            CLUSTER,
            &concat(&[
                uint(TIMECODE, 5),
                simple_block(1, 0, true, b"after"),
                simple_block(1, 1, false, b"the garbage"),
            ]),
        ),
    ])
}

/// What came out, in order, with the input fed so far.
#[derive(Debug, Clone, PartialEq)]
enum Out {
    /// A chunk (or a streaming chunk's End): offset, length, frames, complete.
    Chunk(u64, u64, u64, bool),
    Error(DecodeError),
}

/// Feeds the endless Cluster (`garbage` bytes of it), then a valid chunk,
/// in pieces of `PIECE`, checking the caller's buffer after every call.
/// Returns what came out, each with the input fed when it came.
fn feed<D: Decoder<Error = Error>>(
    decoder: &mut D,
    garbage: usize,
    mut summarize: impl FnMut(D::Item) -> Option<Out>,
    mut bound: impl FnMut(&[(usize, Out)]) -> usize,
) -> Vec<(usize, Out)> {
    let input = [endless(garbage), valid_chunk()].concat();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut pieces = input.chunks(PIECE).peekable();
    while let Some(piece) = pieces.next() {
        buf.extend_from_slice(piece);
        fed += piece.len();
        let eof = pieces.peek().is_none();
        loop {
            let r = if eof {
                decoder.decode_eof(&mut buf)
            } else {
                decoder.decode(&mut buf)
            };
            let most = bound(&out);
            assert!(
                buf.len() <= most,
                "after {fed} bytes fed the buffer holds {} bytes, more than {most}",
                buf.len()
            );
            match r {
                Ok(Some(item)) => out.extend(summarize(item).map(|o| (fed, o))),
                Ok(None) => break,
                Err(Error::Decode(e)) => out.push((fed, Out::Error(e))),
                Err(e) => panic!("{e}"),
            }
        }
    }
    out
}

/// The offset of the first block that takes the chunk past `LIMIT`, when
/// `per_frame` bytes are counted for each frame kept.
fn first_refused_block(per_frame: u64) -> u64 {
    let (h, b) = (head().len() as u64, block().len() as u64);
    let k = (0..).find(|k| h + (k + 1) * b + (k + 1) * per_frame > LIMIT);
    h + k.unwrap() * b
}

/// Checks what came out for an endless Cluster of `garbage` bytes: the
/// chunk cut where the limit is passed (`refused`, with `frames` frames
/// before it), the error right after it, then the valid chunk.
fn check(out: &[(usize, Out)], garbage: usize, refused: u64, frames: u64) {
    let want_error = DecodeError {
        offset: refused,
        skipped: 0,
        kind: DecodeErrorKind::ChunkTooLarge { limit: LIMIT },
    };
    let after = valid_chunk();
    let want = [
        Out::Chunk(0, refused, frames, false),
        Out::Error(want_error),
        Out::Chunk(garbage as u64, after.len() as u64, 2, true),
    ];
    let got: Vec<Out> = out.iter().map(|(_, o)| o.clone()).collect();
    assert_eq!(got, want);
    // The error came as soon as the refused block's 3-byte header was in:
    // within the piece that brought it, not at the next EBML header.
    let refused_header_in = refused as usize + 3;
    let fed_at_error = out[1].0;
    assert!(
        fed_at_error < refused_header_in + PIECE,
        "ChunkTooLarge came after {fed_at_error} bytes fed, its block's header at {refused_header_in}"
    );
    assert!(fed_at_error < garbage, "before the garbage ended");
}

fn chunk_summary(c: crate::chunk::Chunk) -> Option<Out> {
    let i = c.info();
    Some(Out::Chunk(
        i.offset,
        i.length,
        c.frames().len() as u64,
        i.complete,
    ))
}

fn event_summary(e: Event) -> Option<Out> {
    match e {
        Event::End(i) => Some(Out::Chunk(i.offset, i.length, i.stats.frames, i.complete)),
        Event::Start(_) | Event::Frame(_) => None,
    }
}

fn limits() -> Limits {
    Limits {
        max_chunk_size: LIMIT,
        ..Limits::default()
    }
}

/// Up to the error, the buffer holds the chunk so far (under the limit)
/// and one piece; after it, only the last piece and the 3 bytes kept for
/// an EBML ID split across reads.
fn chunk_bound(out: &[(usize, Out)]) -> usize {
    if out.iter().any(|(_, o)| matches!(o, Out::Error(_))) {
        PIECE + MAGIC_KEPT
    } else {
        LIMIT as usize + PIECE
    }
}

#[test]
fn chunk_decoder_reports_an_endless_cluster_at_the_limit() {
    let garbage = 6 * LIMIT as usize + 12_345;
    let refused = first_refused_block(FRAME_COST);
    let frames = (refused - head().len() as u64) / block().len() as u64;
    for fast in [true, false] {
        let mut d = if fast {
            ChunkDecoder::with_limits(limits())
        } else {
            ChunkDecoder::general_path_only(limits())
        };
        let out = feed(&mut d, garbage, chunk_summary, chunk_bound);
        check(&out, garbage, refused, frames);
    }
}

#[test]
fn event_decoder_reports_an_endless_cluster_at_the_limit() {
    let garbage = 6 * LIMIT as usize + 12_345;
    // Nothing is kept per frame: only the chunk's bytes count.
    let refused = first_refused_block(0);
    let frames = (refused - head().len() as u64) / block().len() as u64;
    // An EventDecoder keeps one block and the head, whatever the limit.
    let most = PIECE + block().len() + head().len();
    for fast in [true, false] {
        let mut d = if fast {
            EventDecoder::with_limits(limits())
        } else {
            EventDecoder::general_path_only(limits())
        };
        let out = feed(&mut d, garbage, event_summary, |_| most);
        check(&out, garbage, refused, frames);
    }
}

/// A Cluster of known size that would take the chunk past the limit is
/// refused at its header, and the error comes at once there too, before
/// any byte of it is read.
#[test]
fn a_known_size_cluster_past_the_limit_is_reported_at_its_header() {
    let open = open_unknown(CLUSTER, 1).len() + uint(TIMECODE, 0).len();
    let cluster_at = head().len() - open;
    let body = [uint(TIMECODE, 0), block().repeat(2000)].concat();
    let input = [head()[..cluster_at].to_vec(), el(CLUSTER, &body)].concat();
    let want = [
        Out::Chunk(0, cluster_at as u64, 0, false),
        Out::Error(DecodeError {
            offset: cluster_at as u64,
            skipped: 0,
            kind: DecodeErrorKind::ChunkTooLarge { limit: LIMIT },
        }),
    ];
    // Only the Cluster's header and a few bytes are in.
    let fed = &input[..cluster_at + 20];
    let mut out = Vec::new();
    let mut d = ChunkDecoder::with_limits(limits());
    let mut buf = BytesMut::from(fed);
    while let Some(o) = next(d.decode(&mut buf), chunk_summary) {
        out.extend(o);
    }
    assert_eq!(out, want, "ChunkDecoder");
    let mut out = Vec::new();
    let mut d = EventDecoder::with_limits(limits());
    let mut buf = BytesMut::from(fed);
    while let Some(o) = next(d.decode(&mut buf), event_summary) {
        out.extend(o);
    }
    assert_eq!(out, want, "EventDecoder");
}

/// One decode result as an `Out` (`Some(None)` for an event not summed up).
fn next<T>(
    r: Result<Option<T>, Error>,
    summarize: impl Fn(T) -> Option<Out>,
) -> Option<Option<Out>> {
    match r {
        Ok(Some(x)) => Some(summarize(x)),
        Ok(None) => None,
        Err(e) => Some(Some(Out::Error(e.as_decode().unwrap().clone()))),
    }
}
