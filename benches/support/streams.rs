//! Synthetic GetMedia bodies for the benchmarks and the allocation tests,
//! laid out as the service writes them (../shared/spec/stream-layout.md):
//! EBML header, unknown-size Segment, Info, Tracks, the leading AWS tags,
//! a Cluster, then MILLIS_BEHIND_NOW and CONTINUATION_TOKEN.
//!
//! Built on the byte-level fixture helpers of tests/common/ebml.rs, which the
//! including file brings in as the sibling module `ebml`.
#![allow(dead_code)]

use super::ebml::*;

/// How a chunk's Cluster is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterSize {
    /// Known size in an 8-byte field (the service's recordings).
    Known,
    /// Unknown size, 1-byte `FF` (the producer SDKs).
    Unknown,
}

/// The shape of a synthetic stream.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub chunks: usize,
    pub frames_per_chunk: usize,
    /// Frame sizes are drawn from `min_frame..=max_frame`.
    pub min_frame: usize,
    pub max_frame: usize,
    pub cluster: ClusterSize,
}

impl Shape {
    /// A camera: 2 s fragments at 30 fps, frames of 30 to 60 KB.
    pub fn big_frames(chunks: usize) -> Shape {
        Shape {
            chunks,
            frames_per_chunk: 60,
            min_frame: 30_000,
            max_frame: 60_000,
            cluster: ClusterSize::Known,
        }
    }

    /// Many tiny frames (per-frame cost): 100-byte frames, 1000 per chunk,
    /// producer-style unknown-size Clusters.
    pub fn small_frames(chunks: usize) -> Shape {
        Shape {
            chunks,
            frames_per_chunk: 1000,
            min_frame: 100,
            max_frame: 100,
            cluster: ClusterSize::Unknown,
        }
    }

    pub fn frames(&self) -> u64 {
        (self.chunks * self.frames_per_chunk) as u64
    }
}

/// A deterministic frame size for frame `n`.
fn frame_size(shape: &Shape, n: usize) -> usize {
    let span = shape.max_frame - shape.min_frame + 1;
    shape.min_frame + (n.wrapping_mul(7919) % span)
}

/// The bytes of one fragment's chunk.
pub fn chunk(shape: &Shape, index: usize) -> Vec<u8> {
    let fragment = format!("91343852333181432392682062607743920146159{:07}", index);
    let ms = 1_700_000_000_000u64 + 2000 * index as u64;
    let ts = |ms: u64| format!("{}.{:03}", ms / 1000, ms % 1000);
    let mut cluster = uint(TIMECODE, 2000 * index as u64);
    for i in 0..shape.frames_per_chunk {
        let n = index * shape.frames_per_chunk + i;
        let data: Vec<u8> = (0..frame_size(shape, n))
            .map(|j| (j as u8).wrapping_mul(31) ^ n as u8)
            .collect();
        let rel = (i * 33 % 32_000) as i16;
        cluster.extend(simple_block(1, rel, i == 0, &data));
    }
    let mut out = ebml_header();
    out.extend(open_unknown(SEGMENT, 8));
    // Info with the two mandatory strings (matroska-demuxer insists on them).
    out.extend(el(
        INFO,
        &concat(&[
            uint(TIMECODE_SCALE, 1_000_000),
            string(0x4D80, "kvs-mkv bench"),
            string(0x5741, "kvs-mkv bench"),
        ]),
    ));
    out.extend(el(
        TRACKS,
        &video_track(
            1,
            "V_MPEG4/ISO/AVC",
            &[0x01, 0x64, 0x00, 0x1F, 0xFF],
            1280,
            720,
        ),
    ));
    out.extend(tags_w(
        &[
            ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", &fragment),
            ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", &ts(ms + 250)),
            ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", &ts(ms)),
        ],
        4,
    ));
    match shape.cluster {
        ClusterSize::Known => out.extend(el_w(CLUSTER, &cluster, 8)),
        ClusterSize::Unknown => {
            out.extend(open_unknown(CLUSTER, 1));
            out.extend(cluster);
        }
    }
    out.extend(tags_w(
        &[
            ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "1500"),
            ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", &fragment),
        ],
        4,
    ));
    out
}

/// A whole GetMedia body: `shape.chunks` chunks back to back.
pub fn stream(shape: &Shape) -> Vec<u8> {
    (0..shape.chunks).flat_map(|i| chunk(shape, i)).collect()
}
