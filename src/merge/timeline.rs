//! The re-basing rule, [`Timeline`]: where each chunk's frames land on the
//! merged file's timeline.

use std::collections::{BTreeMap, HashMap};

use crate::chunk::Frame;
use crate::matroska::Track;

/// How chunks are placed one after another: the re-basing rule.
///
/// Cluster timecodes are producer-relative: between chunks they may jump
/// ahead (a gap in the stream), stay put, or start again from zero. The
/// merged file needs one timeline that never goes backwards, so each chunk
/// gets an offset:
///
/// - The first chunk is moved so that its earliest frame is at 0.
/// - [`Contiguous`](Timeline::Contiguous) (the default, as AWS's own parser
///   library merges): every later chunk starts exactly where the previous
///   one ended. Gaps between fragments are closed; a reset is continued.
/// - [`KeepGaps`](Timeline::KeepGaps): a later chunk keeps the previous
///   chunk's offset when that leaves it at or after the previous end (so
///   gaps stay), and is moved up to the previous end otherwise (resets,
///   repeats, overlaps).
///
/// Where a chunk *ends*: the latest end of any of its tracks. A track ends
/// at its latest timecode plus the duration of the frames there (several
/// when they came laced, as laced frames share their block's timecode):
/// their BlockDuration, else the track's DefaultDuration per frame, else the
/// track's mean step between frames in this chunk (or in the last chunk
/// where it could be measured), else one tick.
///
/// Timecodes are first converted to the merged file's TimecodeScale (the
/// first chunk's), rounding to the nearest tick.
///
/// ```
/// use kvs_mkv::merge::{merge, MergeOptions, Timeline};
/// use kvs_mkv::writer::{ChunkModel, ChunkWriter};
/// use kvs_mkv::{Frame, Track};
///
/// // Two one-second chunks, the second starting at 10 s: a gap.
/// let mut track = Track::default();
/// track.number = 1;
/// track.default_duration_ns = Some(500_000_000);
/// let chunk = |start: i64| {
///     let mut m = ChunkModel::new(vec![track.clone()]);
///     for tc in [start, start + 500] {
///         m.frames.push(Frame::new(bytes::Bytes::from_static(b"f"), 1, tc, 1_000_000, true));
///     }
///     m
/// };
/// let mut body = Vec::new();
/// ChunkWriter::default().write_stream(&[chunk(0), chunk(10_000)], &mut body).unwrap();
///
/// let duration = |timeline| {
///     let mut options = MergeOptions::default();
///     options.timeline = timeline;
///     let mut out = std::io::Cursor::new(Vec::new());
///     merge(&body[..], &mut out, &options).unwrap().duration_ns / 1_000_000
/// };
/// assert_eq!(duration(Timeline::Contiguous), 2_000);
/// assert_eq!(duration(Timeline::KeepGaps), 11_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Timeline {
    /// Each chunk starts where the previous one ended.
    #[default]
    Contiguous,
    /// Forward gaps between chunks are kept; only chunks that would go
    /// backwards are moved.
    KeepGaps,
}

/// `value` ticks of `from` nanoseconds in ticks of `to` nanoseconds, rounded
/// to the nearest.
pub(crate) fn rescale(value: i128, from: u64, to: u64) -> i128 {
    if from == to {
        return value;
    }
    let ns = value * i128::from(from);
    let to = i128::from(to);
    (ns + to / 2).div_euclid(to)
}

/// The state carried from chunk to chunk.
#[derive(Debug)]
pub(crate) struct Placer {
    mode: Timeline,
    scale: u64,
    offset: i128,
    end: Option<i128>,
    /// Per track, the last known step between frames, in output ticks.
    steps: HashMap<u64, f64>,
}

impl Placer {
    pub(crate) fn new(mode: Timeline, scale: u64) -> Placer {
        Placer {
            mode,
            scale,
            offset: 0,
            end: None,
            steps: HashMap::new(),
        }
    }

    /// The end of everything placed so far, in output ticks (0 if nothing).
    pub(crate) fn end(&self) -> i128 {
        self.end.unwrap_or(0)
    }

    /// Output timecodes (in output ticks) for one chunk's frames, in order.
    pub(crate) fn place(&mut self, frames: &[Frame], scale: u64, tracks: &[Track]) -> Vec<i128> {
        let mut tcs: Vec<i128> = frames
            .iter()
            .map(|f| rescale(i128::from(f.timecode()), scale, self.scale))
            .collect();
        let Some(&min) = tcs.iter().min() else {
            return tcs;
        };
        let offset = match (self.mode, self.end) {
            (_, None) => -min,
            (Timeline::Contiguous, Some(end)) => end - min,
            (Timeline::KeepGaps, Some(end)) => self.offset.max(end - min),
        };
        self.offset = offset;
        for tc in &mut tcs {
            *tc += offset;
        }
        let end = self.chunk_end(frames, &tcs, scale, tracks);
        self.end = Some(self.end.map_or(end, |e| e.max(end)));
        tcs
    }

    /// Where a chunk ends: for each track, its latest timecode plus the
    /// duration of the frames there (several, when they came laced).
    fn chunk_end(&mut self, frames: &[Frame], tcs: &[i128], scale: u64, tracks: &[Track]) -> i128 {
        struct Span {
            first: i128,
            last: i128,
            frames: u64,
            at_last: u64,
            block: Option<i128>,
        }
        let mut spans: BTreeMap<u64, Span> = BTreeMap::new();
        for (f, &tc) in frames.iter().zip(tcs) {
            let s = spans.entry(f.track()).or_insert(Span {
                first: tc,
                last: tc,
                frames: 0,
                at_last: 0,
                block: None,
            });
            s.first = s.first.min(tc);
            s.frames += 1;
            if tc > s.last {
                (s.last, s.at_last, s.block) = (tc, 0, None);
            }
            if tc == s.last {
                s.at_last += 1;
                if let Some(d) = f.duration() {
                    let d = rescale(i128::from(d), scale, self.scale);
                    s.block = Some(s.block.map_or(d, |b| b.max(d)));
                }
            }
        }
        let mut end = None;
        for (track, s) in spans {
            // The mean step between the frames before the last timecode.
            let before_last = s.frames - s.at_last;
            let measured = (before_last > 0 && s.last > s.first)
                .then(|| (s.last - s.first) as f64 / before_last as f64);
            if let Some(m) = measured {
                self.steps.insert(track, m);
            }
            let default = tracks
                .iter()
                .find(|t| t.number == track)
                .and_then(|t| t.default_duration_ns)
                .filter(|&ns| ns > 0)
                .map(|ns| ns as f64 / self.scale as f64);
            let per_frame = default
                .or(measured)
                .or_else(|| self.steps.get(&track).copied())
                .unwrap_or(1.0);
            let tail = s
                .block
                .unwrap_or_else(|| (per_frame * s.at_last as f64).round() as i128);
            let track_end = s.last + tail.max(1);
            end = Some(end.map_or(track_end, |e: i128| e.max(track_end)));
        }
        end.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn frames(tcs: &[i64]) -> Vec<Frame> {
        tcs.iter()
            .map(|&tc| Frame::new(Bytes::new(), 1, tc, 1_000_000, tc == tcs[0]))
            .collect()
    }

    #[test]
    fn contiguous_closes_gaps_and_continues_resets() {
        let mut p = Placer::new(Timeline::Contiguous, 1_000_000);
        assert_eq!(
            p.place(&frames(&[500, 533, 566]), 1_000_000, &[]),
            [0, 33, 66]
        );
        assert_eq!(p.end(), 99);
        // A gap: 4000 follows 566.
        assert_eq!(p.place(&frames(&[4000, 4033]), 1_000_000, &[]), [99, 132]);
        // A reset to 0.
        assert_eq!(p.place(&frames(&[0, 33]), 1_000_000, &[]), [165, 198]);
    }

    #[test]
    fn keep_gaps_moves_only_what_would_go_back() {
        let mut p = Placer::new(Timeline::KeepGaps, 1_000_000);
        assert_eq!(p.place(&frames(&[1000, 1033]), 1_000_000, &[]), [0, 33]);
        assert_eq!(
            p.place(&frames(&[4000, 4033]), 1_000_000, &[]),
            [3000, 3033]
        );
        assert_eq!(p.place(&frames(&[0, 33]), 1_000_000, &[]), [3066, 3099]);
        // Continuing the reset sequence keeps its offset.
        assert_eq!(p.place(&frames(&[1000]), 1_000_000, &[]), [4066]);
    }

    #[test]
    fn durations_come_from_blocks_tracks_or_steps() {
        let track = Track {
            number: 1,
            default_duration_ns: Some(33_333_333),
            ..Track::default()
        };
        let mut p = Placer::new(Timeline::Contiguous, 1_000_000);
        p.place(&frames(&[0, 40]), 1_000_000, std::slice::from_ref(&track));
        assert_eq!(p.end(), 73);
        let mut p = Placer::new(Timeline::Contiguous, 1_000_000);
        let f = vec![Frame::new(Bytes::new(), 1, 0, 1_000_000, true).with_duration(Some(500))];
        p.place(&f, 1_000_000, &[]);
        assert_eq!(p.end(), 500);
        // One frame, nothing known: one tick; later the step learnt before.
        let mut p = Placer::new(Timeline::Contiguous, 1_000_000);
        p.place(&frames(&[0]), 1_000_000, &[]);
        assert_eq!(p.end(), 1);
        p.place(&frames(&[0, 20, 40]), 1_000_000, &[]);
        p.place(&frames(&[7]), 1_000_000, &[]);
        assert_eq!(p.end(), 61 + 20);
    }

    #[test]
    fn laced_frames_end_after_all_of_them() {
        let mut p = Placer::new(Timeline::Contiguous, 1_000_000);
        p.place(&frames(&[0, 0, 0, 0, 85, 85, 85, 85]), 1_000_000, &[]);
        assert_eq!(p.end(), 170);
    }

    #[test]
    fn rounded_timecodes_do_not_drift() {
        // 15 frames per second in milliseconds: 0, 67, 133, ... 933.
        let tcs: Vec<i64> = (0..15).map(|i| (i * 1000 + 7) / 15).collect();
        let mut p = Placer::new(Timeline::Contiguous, 1_000_000);
        p.place(&frames(&tcs), 1_000_000, &[]);
        assert_eq!(p.end(), 1000);
    }

    #[test]
    fn scales_are_converted() {
        assert_eq!(rescale(3, 1_000_000, 1_000_000), 3);
        assert_eq!(rescale(1500, 1_000, 1_000_000), 2); // 1.5 ms rounds up
        assert_eq!(rescale(33_333_333, 1, 1_000_000), 33);
        let mut p = Placer::new(Timeline::Contiguous, 1_000_000);
        let f: Vec<Frame> = [0i64, 33_000]
            .iter()
            .map(|&tc| Frame::new(Bytes::new(), 1, tc, 1000, true))
            .collect();
        assert_eq!(p.place(&f, 1000, &[]), [0, 33]);
    }
}
