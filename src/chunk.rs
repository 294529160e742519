//! What the decoder produces: [`Chunk`]s (one per fragment) made of
//! [`ChunkInfo`], [`Tag`]s and [`Frame`]s whose payloads are views of the
//! input.

use bytes::Bytes;

use crate::kvs::{AwsTags, FragmentNumber, Timestamp};
use crate::matroska::block::{DISCARDABLE, INVISIBLE, KEYFRAME};
use crate::matroska::Track;
use crate::text::Text;

/// One frame: a SimpleBlock or Block, or one lace of a laced block.
///
/// `data()` is a view into the bytes the decoder was given, never a copy.
///
/// A frame is 64 bytes, one cache line: a chunk of 1000 small frames hands
/// out 64 KB of them, and their size shows in the per-frame cost.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub(crate) data: Bytes,
    /// The track number (below 2^56, as a block header's VINT holds) in
    /// the high 56 bits, the flags in the low 8.
    pub(crate) track_flags: u64,
    pub(crate) timecode: i64,
    pub(crate) timecode_scale: u64,
    /// BlockDuration when the flags have [`HAS_DURATION`], else 0.
    pub(crate) duration: u64,
}

/// Not a block flag: `Frame::duration` is present.
pub(crate) const HAS_DURATION: u8 = 0x02;

// Kept at one cache line (see above).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(std::mem::size_of::<Frame>() == 64);

/// The largest track number a block header can hold: an 8-byte VINT's
/// value (the decoder reads the all-ones value too, so a decoded frame can
/// always be rebuilt; the writer refuses it, as the reserved value).
pub(crate) const MAX_TRACK: u64 = (1 << 56) - 1;

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("data", &self.data)
            .field("track", &self.track())
            .field("timecode", &self.timecode)
            .field("timecode_scale", &self.timecode_scale)
            .field("duration", &self.duration())
            .field("keyframe", &self.is_keyframe())
            .field("invisible", &self.is_invisible())
            .field("discardable", &self.is_discardable())
            .finish()
    }
}

impl Frame {
    /// A frame built by hand (for writers and tests). `timecode` is absolute
    /// (Cluster timecode plus block timecode), in `timecode_scale` units.
    ///
    /// # Panics
    ///
    /// If `track` is above 2^56 - 1, the largest track number a block
    /// header can hold.
    ///
    /// ```
    /// let f = kvs_mkv::Frame::new(bytes::Bytes::from_static(b"abc"), 1, 1500, 1_000_000, true);
    /// assert_eq!((f.pts_ms(), f.is_keyframe(), f.data().len()), (1500, true, 3));
    /// ```
    pub fn new(
        data: Bytes,
        track: u64,
        timecode: i64,
        timecode_scale: u64,
        keyframe: bool,
    ) -> Frame {
        assert!(
            track <= MAX_TRACK,
            "track number {track} does not fit a block header (at most 2^56 - 1)"
        );
        Frame {
            data,
            track_flags: track << 8 | u64::from(if keyframe { KEYFRAME } else { 0 }),
            timecode,
            timecode_scale,
            duration: 0,
        }
    }

    /// The same frame with a BlockDuration (TimecodeScale units), as a frame
    /// from a BlockGroup has. `None` removes it.
    ///
    /// ```
    /// let f = kvs_mkv::Frame::new(bytes::Bytes::new(), 1, 0, 1_000_000, true).with_duration(Some(33));
    /// assert_eq!(f.duration(), Some(33));
    /// ```
    pub fn with_duration(mut self, duration: Option<u64>) -> Frame {
        self.duration = duration.unwrap_or(0);
        self.set_flag(HAS_DURATION, duration.is_some());
        self
    }

    /// The same frame with the invisible flag set or cleared.
    ///
    /// ```
    /// let f = kvs_mkv::Frame::new(bytes::Bytes::new(), 1, 0, 1_000_000, false).with_invisible(true);
    /// assert!(f.is_invisible() && !f.is_keyframe());
    /// ```
    pub fn with_invisible(mut self, invisible: bool) -> Frame {
        self.set_flag(INVISIBLE, invisible);
        self
    }

    /// The same frame with the discardable flag set or cleared.
    ///
    /// ```
    /// let f = kvs_mkv::Frame::new(bytes::Bytes::new(), 1, 0, 1_000_000, false).with_discardable(true);
    /// assert!(f.is_discardable());
    /// ```
    pub fn with_discardable(mut self, discardable: bool) -> Frame {
        self.set_flag(DISCARDABLE, discardable);
        self
    }

    fn set_flag(&mut self, flag: u8, on: bool) {
        if on {
            self.track_flags |= u64::from(flag);
        } else {
            self.track_flags &= !u64::from(flag);
        }
    }

    fn flags(&self) -> u8 {
        self.track_flags as u8
    }

    /// The payload, block and lacing headers excluded.
    pub fn data(&self) -> &Bytes {
        &self.data
    }
    /// The track number.
    pub fn track(&self) -> u64 {
        self.track_flags >> 8
    }
    /// Absolute timecode (Cluster timecode + block timecode), in
    /// TimecodeScale units.
    pub fn timecode(&self) -> i64 {
        self.timecode
    }
    /// The chunk's TimecodeScale (nanoseconds per timecode unit).
    pub fn timecode_scale(&self) -> u64 {
        self.timecode_scale
    }
    /// Presentation time in nanoseconds.
    pub fn pts_ns(&self) -> i128 {
        i128::from(self.timecode) * i128::from(self.timecode_scale)
    }
    /// Presentation time in milliseconds, rounded down.
    pub fn pts_ms(&self) -> i128 {
        self.pts_ns().div_euclid(1_000_000)
    }
    /// BlockDuration (TimecodeScale units), for frames from a BlockGroup.
    pub fn duration(&self) -> Option<u64> {
        (self.flags() & HAS_DURATION != 0).then_some(self.duration)
    }
    /// A keyframe: the SimpleBlock keyframe flag, or for a BlockGroup, no
    /// ReferenceBlock.
    pub fn is_keyframe(&self) -> bool {
        self.flags() & KEYFRAME != 0
    }
    /// Decoded but not shown.
    pub fn is_invisible(&self) -> bool {
        self.flags() & INVISIBLE != 0
    }
    /// May be dropped by a player that is behind.
    pub fn is_discardable(&self) -> bool {
        self.flags() & DISCARDABLE != 0
    }
}

/// Where a SimpleTag stood relative to the chunk's (first) Cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagPosition {
    /// Before the first Cluster (e.g. FRAGMENT_NUMBER, timestamps).
    BeforeCluster,
    /// After a Cluster began (e.g. MILLIS_BEHIND_NOW, CONTINUATION_TOKEN).
    AfterCluster,
}

/// The value of a SimpleTag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TagValue {
    /// TagString, trailing NULs removed.
    String(Text),
    /// TagBinary.
    Binary(Bytes),
    /// Neither was present.
    None,
}

impl TagValue {
    /// The string value, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            TagValue::String(s) => Some(s),
            _ => None,
        }
    }
}

/// One SimpleTag, in document order (nested SimpleTags are flattened).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag {
    /// TagName, trailing NULs removed.
    pub name: Text,
    /// TagString or TagBinary.
    pub value: TagValue,
    /// Before or after the Cluster.
    pub position: TagPosition,
}

/// Counts over a chunk's frames, kept as they are decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FrameStats {
    /// Frames fully received (each lace counts).
    pub frames: u64,
    /// Of those, keyframes: SimpleBlocks with the keyframe flag, and
    /// frames of BlockGroups without a ReferenceBlock (as ffprobe counts).
    pub keyframes: u64,
    /// Of the keyframes, those of BlockGroups (each lace counts).
    /// `keyframes - block_group_keyframes` counts SimpleBlock keyframe
    /// flags alone, as `kvs-mkv inspect` reports them (its `--json`
    /// contract's definition). 0 for KVS streams, made of SimpleBlocks.
    pub block_group_keyframes: u64,
    /// Sum of the payload sizes.
    pub frame_bytes: u64,
    /// Presentation time of the first frame, ms, rounded down.
    pub first_pts_ms: Option<i128>,
    /// Presentation time of the last frame, ms, rounded down.
    pub last_pts_ms: Option<i128>,
}

impl FrameStats {
    pub(crate) fn add(&mut self, frame: &Frame) {
        self.add_raw(
            frame.data.len(),
            frame.is_keyframe(),
            frame.timecode,
            frame.timecode_scale,
        );
    }

    /// Counts a run of `frames` frames at once: their keyframes and bytes,
    /// the timecodes of the first and last, all at one scale.
    #[inline]
    pub(crate) fn add_run(
        &mut self,
        frames: u64,
        keyframes: u64,
        bytes: u64,
        (first, last): (i64, i64),
        scale: u64,
    ) {
        self.frames += frames;
        self.keyframes += keyframes;
        self.frame_bytes += bytes;
        self.first_pts_ms
            .get_or_insert_with(|| pts_ms(first, scale));
        self.last_pts_ms = Some(pts_ms(last, scale));
    }

    #[inline]
    pub(crate) fn add_raw(&mut self, len: usize, keyframe: bool, timecode: i64, scale: u64) {
        self.frames += 1;
        self.keyframes += u64::from(keyframe);
        self.frame_bytes += len as u64;
        let pts = pts_ms(timecode, scale);
        self.first_pts_ms.get_or_insert(pts);
        self.last_pts_ms = Some(pts);
    }
}

/// Presentation time in ms, rounded down. Computed per frame, so the product
/// is taken in `i64` when it fits (a division by a constant the compiler
/// turns into a multiplication) and in `i128` only when it does not.
fn pts_ms(timecode: i64, scale: u64) -> i128 {
    match i64::try_from(scale)
        .ok()
        .and_then(|s| timecode.checked_mul(s))
    {
        Some(ns) => i128::from(ns.div_euclid(1_000_000)),
        None => (i128::from(timecode) * i128::from(scale)).div_euclid(1_000_000),
    }
}

/// Everything about a chunk except its frames: where it is in the input,
/// whether it arrived whole, its tracks and tags.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ChunkInfo {
    /// Byte offset of the chunk's EBML header in the input.
    pub offset: u64,
    /// Bytes of input that belong to the chunk.
    pub length: u64,
    /// `false` when the input ended, was cut, or was damaged inside the chunk.
    pub complete: bool,
    /// TimecodeScale from Info (1 000 000 ns when absent).
    pub timecode_scale: u64,
    /// The tracks.
    pub tracks: Vec<Track>,
    /// Every SimpleTag in document order, AWS ones included.
    pub tags: Vec<Tag>,
    /// The AWS tags, typed.
    pub aws: AwsTags,
    /// Counts over the frames.
    pub stats: FrameStats,
}

impl ChunkInfo {
    /// `AWS_KINESISVIDEO_FRAGMENT_NUMBER`.
    pub fn fragment_number(&self) -> Option<&FragmentNumber> {
        self.aws.fragment_number.as_ref()
    }
    /// Server timestamp (either spelling).
    pub fn server_timestamp(&self) -> Option<Timestamp> {
        self.aws.server_timestamp
    }
    /// Producer timestamp (either spelling).
    pub fn producer_timestamp(&self) -> Option<Timestamp> {
        self.aws.producer_timestamp
    }
    /// `AWS_KINESISVIDEO_MILLIS_BEHIND_NOW`.
    pub fn millis_behind_now(&self) -> Option<u64> {
        self.aws.millis_behind_now
    }
    /// `AWS_KINESISVIDEO_CONTINUATION_TOKEN`.
    pub fn continuation_token(&self) -> Option<&str> {
        self.aws.continuation_token.as_deref()
    }
    /// The track with this number.
    pub fn track(&self, number: u64) -> Option<&Track> {
        self.tracks.iter().find(|t| t.number == number)
    }
}

/// One chunk of a GetMedia or GetMediaForFragmentList body (one fragment),
/// or one whole Matroska document.
///
/// ```
/// # fn show(chunk: &kvs_mkv::Chunk) {
/// if let Some(n) = chunk.info().fragment_number() {
///     println!("fragment {n}: {} frames", chunk.frames().len());
/// }
/// for frame in chunk.frames() {
///     let _payload: &[u8] = frame.data();
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    // (Boxed as the decoder makes it: a chunk moves cheaply.)
    pub(crate) info: Box<ChunkInfo>,
    pub(crate) frames: Vec<Frame>,
    pub(crate) raw: Bytes,
}

impl Chunk {
    /// Position, tracks, tags and counts.
    pub fn info(&self) -> &ChunkInfo {
        &self.info
    }
    /// The frames in document order. Their data are views into [`raw`](Self::raw).
    pub fn frames(&self) -> &[Frame] {
        &self.frames
    }
    /// The chunk's bytes as they came in (EBML header to the chunk's end).
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }
    /// Whether the chunk arrived whole.
    pub fn is_complete(&self) -> bool {
        self.info.complete
    }
    /// Shortcut for `info().fragment_number()`.
    pub fn fragment_number(&self) -> Option<&FragmentNumber> {
        self.info.fragment_number()
    }
    /// Shortcut for `info().continuation_token()`.
    pub fn continuation_token(&self) -> Option<&str> {
        self.info.continuation_token()
    }
    /// Takes the chunk apart.
    pub fn into_parts(self) -> (ChunkInfo, Vec<Frame>, Bytes) {
        (*self.info, self.frames, self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_fields_read_back() {
        let f = Frame::new(Bytes::from_static(b"x"), MAX_TRACK, -5, 7, true)
            .with_duration(Some(u64::MAX))
            .with_invisible(true)
            .with_discardable(true);
        assert_eq!(f.track(), MAX_TRACK);
        assert_eq!((f.timecode(), f.timecode_scale()), (-5, 7));
        assert_eq!(f.duration(), Some(u64::MAX));
        assert!(f.is_keyframe() && f.is_invisible() && f.is_discardable());
        let g = f.clone().with_duration(None).with_invisible(false);
        assert_eq!(
            (g.duration(), g.is_invisible(), g.track()),
            (None, false, MAX_TRACK)
        );
        // No duration compares equal however it was reached.
        assert_eq!(g.with_discardable(false), {
            Frame::new(Bytes::from_static(b"x"), MAX_TRACK, -5, 7, true)
        });
        assert!(format!("{f:?}").contains("track: 72057594037927935"));
    }

    #[test]
    #[should_panic(expected = "does not fit a block header")]
    fn a_track_past_the_vint_range_is_refused() {
        let _ = Frame::new(Bytes::new(), MAX_TRACK + 1, 0, 1, false);
    }
}
