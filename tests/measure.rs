//! Measured runs, not tests: each is `#[ignore]`d and run by hand in
//! release mode, under `/usr/bin/time -v` or callgrind. They assert only
//! what makes the figure meaningful (the run did what it claims).
//!
//! ```sh
//! cargo test --release --test measure --no-run   # prints the binary's path
//! # time and peak RSS when an endless Cluster passes the default chunk limit:
//! /usr/bin/time -v target/release/deps/measure-* --ignored --exact endless_cluster_chunks
//! /usr/bin/time -v target/release/deps/measure-* --ignored --exact endless_cluster_events
//! # (KVS_FRAME=100 for 100-byte frames instead of 1 KiB)
//! # instructions per frame and per chunk (run at N and 2N, take the difference):
//! KVS_PROBE=chunks,65536,small,12 valgrind --tool=callgrind --toggle-collect='*probe_decode*' \
//!     target/release/deps/measure-* --ignored --exact probe
//! ```

#[path = "common/ebml.rs"]
mod ebml;
#[path = "../benches/support/streams.rs"]
mod streams;

use std::io::Read;
use std::time::Instant;

use bytes::BytesMut;
use ebml::*;
use kvs_mkv::io::DecodeReader;
use kvs_mkv::{ChunkDecoder, DecodeErrorKind, Error, Event, EventDecoder, Limits};
use streams::{ClusterSize, Shape};
use tokio_util::codec::Decoder;

/// A GetMedia-style chunk head, then an unknown-size Cluster of SimpleBlocks
/// that never ends (frames of `KVS_FRAME` bytes, default 1024); the reader
/// stops after `total` bytes.
struct EndlessCluster {
    head: Vec<u8>,
    pattern: Vec<u8>,
    at: u64,
    total: u64,
}

impl EndlessCluster {
    fn new(total: u64) -> EndlessCluster {
        let head = concat(&[
            ebml_header(),
            open_unknown(SEGMENT, 8),
            info(1_000_000),
            el(TRACKS, &video_track(1, "V_MPEG4/ISO/AVC", &[1], 640, 480)),
            open_unknown(CLUSTER, 1),
            uint(TIMECODE, 0),
        ]);
        let frame: usize = std::env::var("KVS_FRAME").map_or(1024, |v| v.parse().unwrap());
        let block = simple_block(1, 0, true, &vec![0x55; frame]);
        let pattern = block.repeat((64 << 10) / block.len() + 1);
        EndlessCluster {
            head,
            pattern,
            at: 0,
            total,
        }
    }
}

impl Read for EndlessCluster {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let left = self.total.saturating_sub(self.at) as usize;
        let n = out.len().min(left);
        let mut done = 0;
        while done < n {
            let at = self.at as usize + done;
            let src: &[u8] = if at < self.head.len() {
                &self.head[at..]
            } else {
                let p = (at - self.head.len()) % self.pattern.len();
                &self.pattern[p..]
            };
            let k = src.len().min(n - done);
            out[done..done + k].copy_from_slice(&src[..k]);
            done += k;
        }
        self.at += n as u64;
        Ok(n)
    }
}

/// Decodes an endless Cluster with the default limits through the blocking
/// reader adapter (64 KiB reads), feeding twice the chunk limit, and prints
/// when the error came and what was handed out.
fn endless<D: Decoder<Error = Error>>(decoder: D, describe: impl Fn(&D::Item) -> String) {
    let limit = Limits::default().max_chunk_size;
    let total = 2 * limit;
    let started = Instant::now();
    let mut reader = DecodeReader::new(EndlessCluster::new(total), decoder);
    let mut error_at = None;
    for item in reader.by_ref() {
        match item {
            Ok(x) => println!(
                "{:8.3} s: {}",
                started.elapsed().as_secs_f64(),
                describe(&x)
            ),
            Err(e) => {
                println!("{:8.3} s: error: {e}", started.elapsed().as_secs_f64());
                let e = e.as_decode().expect("a decoding error").clone();
                assert!(matches!(e.kind, DecodeErrorKind::ChunkTooLarge { .. }));
                error_at.get_or_insert((started.elapsed(), e.offset));
            }
        }
    }
    let (when, offset) = error_at.expect("ChunkTooLarge was reported");
    println!(
        "ChunkTooLarge at byte {offset} ({:.1} MiB) after {:.3} s; {:.1} MiB fed in {:.3} s",
        offset as f64 / 1048576.0,
        when.as_secs_f64(),
        total as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
}

#[test]
#[ignore = "a measured run: see the module doc"]
fn endless_cluster_chunks() {
    endless(ChunkDecoder::default(), |c| {
        format!(
            "chunk at {}: {} bytes, {} frames, complete {}",
            c.info().offset,
            c.info().length,
            c.frames().len(),
            c.is_complete()
        )
    });
}

#[test]
#[ignore = "a measured run: see the module doc"]
fn endless_cluster_events() {
    let mut frames = 0u64;
    let mut decoder = EventDecoder::default();
    // Frames are counted, not printed.
    let mut buf = BytesMut::new();
    let limit = Limits::default().max_chunk_size;
    let mut reader = EndlessCluster::new(2 * limit);
    let started = Instant::now();
    let mut error_at = None;
    let mut piece = vec![0u8; 64 << 10];
    loop {
        let n = reader.read(&mut piece).unwrap();
        buf.extend_from_slice(&piece[..n]);
        loop {
            let r = if n == 0 {
                decoder.decode_eof(&mut buf)
            } else {
                decoder.decode(&mut buf)
            };
            match r {
                Ok(Some(Event::Frame(_))) => frames += 1,
                Ok(Some(e)) => println!(
                    "{:8.3} s: {}",
                    started.elapsed().as_secs_f64(),
                    match e {
                        Event::Start(i) => format!("start at {}", i.offset),
                        Event::End(i) => format!(
                            "end: {} bytes, {} frames, complete {}",
                            i.length, i.stats.frames, i.complete
                        ),
                        Event::Frame(_) => unreachable!(),
                    }
                ),
                Ok(None) => break,
                Err(e) => {
                    println!("{:8.3} s: error: {e}", started.elapsed().as_secs_f64());
                    let offset = e.as_decode().unwrap().offset;
                    error_at.get_or_insert((started.elapsed(), offset));
                }
            }
        }
        if n == 0 {
            break;
        }
    }
    println!("{frames} frames handed out");
    let (when, offset) = error_at.expect("an error was reported");
    println!(
        "error at byte {offset} ({:.1} MiB) after {:.3} s; {:.1} MiB fed in {:.3} s",
        offset as f64 / 1048576.0,
        when.as_secs_f64(),
        (2 * limit) as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
}

/// Decodes a synthetic body for callgrind: `KVS_PROBE=MODE,PIECE,SHAPE,N`
/// with MODE `chunks` or `events`, PIECE the bytes per piece, SHAPE `small`
/// (1000 frames of 100 bytes a chunk, unknown-size Clusters), `one`
/// (one 100-byte frame a chunk) or `tags` (no frame: the head, the five
/// AWS tags and an empty Cluster), N the chunks. The body is built before
/// decoding starts and fed without copying (as benches/decode.rs does);
/// run at N and 2N and divide the difference.
#[test]
#[ignore = "a measured run: see the module doc"]
fn probe() {
    let spec = std::env::var("KVS_PROBE").unwrap_or_else(|_| "chunks,65536,small,12".into());
    let parts: Vec<&str> = spec.split(',').collect();
    let [mode, piece, shape, n] = parts[..] else {
        panic!("KVS_PROBE=MODE,PIECE,SHAPE,N, not {spec}");
    };
    let piece: usize = piece.parse().unwrap();
    let n: usize = n.parse().unwrap();
    let shape = match shape {
        "small" => Shape::small_frames(n),
        "one" => Shape {
            chunks: n,
            frames_per_chunk: 1,
            min_frame: 100,
            max_frame: 100,
            cluster: ClusterSize::Unknown,
        },
        "tags" => Shape {
            chunks: n,
            frames_per_chunk: 0,
            min_frame: 100,
            max_frame: 100,
            cluster: ClusterSize::Unknown,
        },
        _ => panic!("shape small, one or tags"),
    };
    let input = BytesMut::from(&streams::stream(&shape)[..]);
    let frames = probe_decode(mode, piece, input);
    assert_eq!(frames, shape.frames());
    println!("{frames} frames");
}

/// The decoding the probe measures (callgrind: `--toggle-collect=*probe_decode*`).
#[inline(never)]
fn probe_decode(mode: &str, piece: usize, mut rest: BytesMut) -> u64 {
    let mut buf = BytesMut::new();
    let mut frames = 0u64;
    let mut chunks = ChunkDecoder::default();
    let mut events = EventDecoder::default();
    // (Decided once: a string comparison per call would be counted per
    // frame for events, once per chunk for chunks.)
    let whole = mode == "chunks";
    loop {
        let k = piece.min(rest.len());
        buf.unsplit(rest.split_to(k));
        let eof = rest.is_empty();
        loop {
            let got = if whole {
                let r = if eof {
                    chunks.decode_eof(&mut buf)
                } else {
                    chunks.decode(&mut buf)
                };
                r.unwrap().map(|c| c.frames().len() as u64)
            } else {
                let r = if eof {
                    events.decode_eof(&mut buf)
                } else {
                    events.decode(&mut buf)
                };
                r.unwrap().map(|e| u64::from(matches!(e, Event::Frame(_))))
            };
            match got {
                Some(f) => frames += f,
                None => break,
            }
        }
        if eof {
            return frames;
        }
    }
}
