//! Frames of a chunk: the records kept per frame in whole-chunk mode, and
//! the general path for a SimpleBlock or BlockGroup (lacing, durations,
//! anything the fast paths leave).

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::{damage, Damage, Engine, Output};
use crate::chunk::{Frame, FrameStats};
use crate::error::{DecodeErrorKind, ElementId};
use crate::matroska::block::{parse_block, read_group, DISCARDABLE, INVISIBLE, KEYFRAME};
use crate::matroska::ids;

/// A frame whose bytes are still in the buffer (whole-chunk mode), kept
/// to 32 bytes: the records of a chunk are written once and read once, and
/// at 1000 frames a chunk their size is what the cache sees. A BlockDuration
/// (BlockGroups only) waits in `Engine::durations`, the TimecodeScale in
/// `Engine::scales`.
#[derive(Debug, Clone, Copy)]
pub(super) struct FrameRec {
    pub(super) start: u64,
    pub(super) len: usize,
    /// The track number (a block header's VINT: under 2^56) shifted left
    /// by 8, and the frame's flags in the low byte.
    pub(super) track_flags: u64,
    pub(super) timecode: i64,
}

impl FrameRec {
    fn flags(&self) -> u8 {
        self.track_flags as u8
    }
}

/// What the engine keeps per frame until a whole chunk is handed out.
/// (A BlockDuration's 16 bytes in `Engine::durations` and a TimecodeScale's
/// in `Engine::scales` included: a bound, as each has one at most.)
pub(super) const FRAME_COST: u64 = (std::mem::size_of::<FrameRec>()
    + std::mem::size_of::<Frame>()
    + 2 * std::mem::size_of::<(usize, u64)>()) as u64;

/// Whole-chunk mode, general block path: counts a frame and keeps its
/// record (and its scale) until the chunk is split off. (The SimpleBlock
/// run keeps its records itself, and counts them once per run.)
#[inline]
fn keep_frame(
    stats: &mut FrameStats,
    (frames, scales): (&mut Vec<FrameRec>, &mut Vec<(usize, u64)>),
    rec: FrameRec,
    scale: u64,
) {
    stats.add_raw(rec.len, rec.flags() & KEYFRAME != 0, rec.timecode, scale);
    note_scale(scales, frames.len(), scale);
    frames.push(rec);
}

/// Records that the frame records from `index` on have the TimecodeScale
/// `scale`, unless the last of them already has it. (A chunk has one
/// scale, except when an Info comes after a Cluster.)
#[inline]
pub(super) fn note_scale(scales: &mut Vec<(usize, u64)>, index: usize, scale: u64) {
    if scales.last().is_none_or(|&(_, s)| s != scale) {
        scales.push((index, scale));
    }
}

/// The chunk's frames, as views of its bytes `raw` (stream offset
/// `raw_base`), with the TimecodeScales noted in `scales` (see
/// [`note_scale`]; `chunk_scale` if none is). Out of line, so the loop
/// keeps its values in registers.
#[inline(never)]
pub(super) fn build_frames(
    raw: &Bytes,
    raw_base: u64,
    recs: &[FrameRec],
    scales: &[(usize, u64)],
    chunk_scale: u64,
) -> Vec<Frame> {
    let mut frames = Vec::with_capacity(recs.len());
    // Each scale's records run up to where the next scale's begin; the
    // first from 0, the last to the end: every record makes a frame.
    let mut from = 0;
    for k in 0..scales.len().max(1) {
        let scale = scales.get(k).map_or(chunk_scale, |&(_, s)| s);
        let to = scales
            .get(k + 1)
            .map_or(recs.len(), |&(i, _)| i.clamp(from, recs.len()));
        for f in &recs[from..to] {
            let at = (f.start - raw_base) as usize;
            frames.push(Frame {
                data: raw.slice(at..at + f.len),
                track_flags: f.track_flags,
                timecode: f.timecode,
                timecode_scale: scale,
                duration: 0,
            });
        }
        from = to;
    }
    frames
}

impl Engine {
    /// A SimpleBlock or BlockGroup whose payload is `body` (buffer indices).
    pub(super) fn block(
        &mut self,
        buf: &mut BytesMut,
        id: u32,
        start: u64,
        body: Range<usize>,
    ) -> Result<(), Damage> {
        let chunk = self
            .chunk
            .as_ref()
            .expect("blocks are only read inside a chunk");
        let Some(cluster_tc) = chunk.cluster_timecode else {
            return damage(DecodeErrorKind::MissingClusterTimecode, start);
        };
        let scale = chunk.info.timecode_scale;
        let (block, group) = if id == ids::SIMPLE_BLOCK {
            (body, None)
        } else {
            let g = read_group(&buf[body.clone()]).map_err(|reason| {
                let id = ElementId(ids::BLOCK_GROUP);
                Damage::new(DecodeErrorKind::InvalidValue { id, reason }, start)
            })?;
            (
                body.start + g.block.start..body.start + g.block.end,
                Some((g.keyframe, g.duration)),
            )
        };
        let block_id = ElementId(if group.is_some() {
            ids::BLOCK
        } else {
            ids::SIMPLE_BLOCK
        });
        let mut first = 0..0;
        let mut laces: Vec<Range<usize>> = Vec::new();
        let mut count = 0usize;
        let head = parse_block(&buf[block.clone()], |r| {
            match count {
                0 => first = r,
                1 => laces.extend([first.clone(), r]),
                _ => laces.push(r),
            }
            count += 1;
        })
        .map_err(|error| {
            let kind = DecodeErrorKind::InvalidBlock {
                id: block_id,
                error,
            };
            Damage::new(kind, start)
        })?;
        let timecode = i64::try_from(cluster_tc)
            .ok()
            .and_then(|tc| tc.checked_add(i64::from(head.timecode)))
            .ok_or_else(|| Damage::new(DecodeErrorKind::TimecodeOutOfRange, start))?;
        let (flags, duration) = match group {
            None => (head.flags & (KEYFRAME | INVISIBLE | DISCARDABLE), None),
            Some((key, duration)) => (
                (head.flags & INVISIBLE) | if key { KEYFRAME } else { 0 },
                duration,
            ),
        };
        let ranges = if count > 1 {
            &laces[..]
        } else {
            std::slice::from_ref(&first)
        };
        let retaining = self.retaining();
        let chunk = self
            .chunk
            .as_mut()
            .expect("blocks are only read inside a chunk");
        if retaining {
            chunk.frame_cost += ranges.len() as u64 * FRAME_COST;
            let held = self.base + block.end as u64 - chunk.offset + chunk.frame_cost;
            if held > self.limits.max_chunk_size {
                let limit = self.limits.max_chunk_size;
                return damage(DecodeErrorKind::ChunkTooLarge { limit }, start);
            }
            for r in ranges {
                if let Some(d) = duration {
                    self.durations.push((self.frames.len(), d));
                }
                keep_frame(
                    &mut self.stats,
                    (&mut self.frames, &mut self.scales),
                    FrameRec {
                        start: self.base + (block.start + r.start) as u64,
                        len: r.len(),
                        track_flags: head.track << 8 | u64::from(flags),
                        timecode,
                    },
                    scale,
                );
            }
        } else {
            // Streaming: split the block off the buffer and hand out views.
            let taken = buf.split_to(block.end).freeze();
            self.base += block.end as u64;
            for r in ranges {
                let frame = Frame {
                    data: taken.slice(block.start + r.start..block.start + r.end),
                    track_flags: head.track << 8 | u64::from(flags),
                    timecode,
                    timecode_scale: scale,
                    duration: duration.unwrap_or(0),
                }
                .with_duration(duration);
                self.stats.add(&frame);
                self.out.push_back(Output::Frame(frame));
            }
        }
        if let Some((true, _)) = group {
            self.stats.block_group_keyframes += ranges.len() as u64;
        }
        Ok(())
    }
}
