//! One standard, seekable Matroska file from a GetMedia or
//! GetMediaForFragmentList body: what players, editors and ffmpeg expect,
//! instead of a concatenation of one small document per fragment.
//!
//! ```
//! let body = std::fs::File::open("testdata/sample.mkv")?;
//! let mut out = std::io::Cursor::new(Vec::new());
//! let report = kvs_mkv::merge::merge(body, &mut out, &Default::default())?;
//! assert_eq!((report.chunks, report.frames), (3, 45));
//! assert_eq!(report.bytes_written as usize, out.get_ref().len());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The file: one EBML header; one Segment of known size holding a SeekHead
//! (Info, Tracks, Cues, Tags), Info (TimecodeScale of the first chunk,
//! Duration), Tracks (the first chunk's), the Clusters, Cues (every
//! keyframe of the video tracks; without video, the first keyframe of each
//! track in each Cluster) and Tags (one Tag per input chunk with all of its
//! SimpleTags, AWS ones included, in order).
//!
//! **Timeline.** Chunk timecodes are producer-relative and may jump, repeat
//! or reset; each chunk is shifted so that the file's timecodes never go
//! backwards from one chunk to the next. The rule is [`Timeline`]'s
//! (by default each chunk continues where the previous one ended, as AWS's
//! parser library merges). Within a chunk the frames keep their order and
//! their spacing; frames of a track that share a timecode (they came
//! laced) are laced again, so that players time them as they did the input.
//!
//! **Streaming.** Each chunk is read (with [`ChunkDecoder`]), written as
//! Clusters, and dropped: memory holds one chunk, plus the Cues index (a
//! few dozen bytes per keyframe) and the chunks' tags. Sizes, the SeekHead
//! (in space reserved at the start) and Duration are patched at the end,
//! hence `Write + Seek`.
//!
//! **To a pipe.** [`merge_streaming`] and [`Merger::streaming`] need only
//! `Write` and patch nothing, as ffmpeg's live mode writes: one EBML
//! header; one Segment of unknown size holding Info (no Duration) and
//! Tracks; then, chunk by chunk, its Clusters (of known size) followed by a
//! Tags element with its tags, and a flush. No SeekHead and no Cues, so
//! memory holds one chunk whatever the length of the stream, and a reader
//! (`ffprobe -`, `ffmpeg -i -`, GStreamer) sees each chunk as soon as it is
//! merged ([`OutputKind::Streaming`]).
//!
//! ```
//! let body = std::fs::File::open("testdata/sample.mkv")?;
//! let mut pipe = Vec::new(); // any `Write`: standard output, a socket
//! let report = kvs_mkv::merge::merge_streaming(body, &mut pipe, &Default::default())?;
//! assert_eq!((report.chunks, report.frames, report.cue_points), (3, 45, 0));
//! assert_eq!(report.bytes_written as usize, pipe.len());
//! // The Segment's size is unknown (all ones): nothing was patched.
//! assert_eq!(&pipe[..4], b"\x1a\x45\xdf\xa3");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Damage and cut input.** A chunk cut short (the input ended inside it,
//! or damage) keeps the frames that arrived whole and is listed in
//! [`MergeReport::incomplete`]. Undecodable bytes are passed over, as the
//! decoder does, and listed in [`MergeReport::decode_errors`].
//!
//! **Track changes are refused.** A merged file has one set of tracks, so a
//! chunk whose tracks differ from the first chunk's (a track added or gone,
//! another CodecID, TrackType or CodecPrivate: a resolution or encoder
//! change) ends the merge with [`MergeError::TracksChanged`]. Re-encoding or
//! starting a new file is the caller's choice to make, not a silent one. The
//! output is still finished: a valid file with the chunks before.
//! A chunk without a Tracks element uses the first chunk's tracks.

mod timeline;

use std::io::{Read, Seek, SeekFrom, Write};

use bytes::{Bytes, BytesMut};

pub use timeline::Timeline;

use crate::chunk::{Chunk, Frame, TagValue};
use crate::decoder::ChunkDecoder;
use crate::error::{DecodeError, DecodeErrorKind, Error};
use crate::io::DecodeReader;
use crate::limits::Limits;
use crate::matroska::ids;
use crate::matroska::{Track, TrackType};
use crate::text::Text;
use crate::writer::block::{block_group, lace_runs, simple_block};
use crate::writer::element::{put_id, put_unknown_size, put_vint, Element, Segments};
use crate::writer::{ebml_header, simple_tag, track_entry, Lacing};

/// How to merge.
///
/// ```
/// let mut options = kvs_mkv::merge::MergeOptions::default();
/// options.timeline = kvs_mkv::merge::Timeline::KeepGaps;
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MergeOptions {
    /// How chunks are placed on the timeline.
    pub timeline: Timeline,
    /// The decoder's limits (the largest chunk is what memory holds).
    pub limits: Limits,
}

/// A chunk that did not arrive whole.
///
/// ```
/// let body = std::fs::File::open("testdata/truncated.mkv")?;
/// let mut out = std::io::Cursor::new(Vec::new());
/// let report = kvs_mkv::merge::merge(body, &mut out, &Default::default())?;
/// assert!(report.truncated);
/// assert_eq!((report.incomplete[0].index, report.incomplete[0].frames_kept), (2, 10));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncompleteChunk {
    /// 0-based index of the chunk in the input.
    pub index: u64,
    /// Byte offset of its EBML header.
    pub offset: u64,
    /// The frames that arrived whole, which were kept.
    pub frames_kept: u64,
}

/// What a merge did.
///
/// ```
/// let body = std::fs::File::open("testdata/two_track.mkv")?;
/// let mut out = std::io::Cursor::new(Vec::new());
/// let report = kvs_mkv::merge::merge(body, &mut out, &Default::default())?;
/// assert_eq!((report.chunks, report.frames, report.decode_error_count), (3, 187, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeReport {
    /// Chunks merged (a refused chunk and those after it not counted).
    pub chunks: u64,
    /// Frames written.
    pub frames: u64,
    /// Their payload bytes.
    pub frame_bytes: u64,
    /// Clusters written.
    pub clusters: u64,
    /// CuePoints written.
    pub cue_points: u64,
    /// Size of the output.
    pub bytes_written: u64,
    /// Duration of the merged file in nanoseconds.
    pub duration_ns: u128,
    /// Chunks cut short, whose whole frames were kept.
    pub incomplete: Vec<IncompleteChunk>,
    /// The input ended inside a chunk (a cut connection, not damage).
    pub truncated: bool,
    /// Damage passed over (the first 100; [`decode_error_count`](Self::decode_error_count) counts all).
    pub decode_errors: Vec<DecodeError>,
    /// How many decoding errors there were, input cut short not counted.
    pub decode_error_count: u64,
    /// Frames left out because their track is not one of the file's.
    pub skipped_frames: u64,
}

const MAX_KEPT_ERRORS: usize = 100;

/// How a chunk's tracks differ from the merged file's.
///
/// ```
/// use kvs_mkv::merge::TrackChange;
/// let change = TrackChange::CodecId { before: "V_MPEG4/ISO/AVC".into(), after: "V_MPEGH/ISO/HEVC".into() };
/// assert_eq!(change.to_string(), r#"CodecID "V_MPEG4/ISO/AVC" became "V_MPEGH/ISO/HEVC""#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrackChange {
    /// A track the file does not have.
    #[error("the track is new")]
    Added,
    /// A track of the file is missing.
    #[error("the track is gone")]
    Removed,
    /// Another codec.
    #[error("CodecID {before:?} became {after:?}")]
    CodecId {
        /// The file's.
        before: String,
        /// The chunk's.
        after: String,
    },
    /// Other codec initialization data (e.g. new H.264 parameter sets).
    #[error("CodecPrivate differs")]
    CodecPrivate,
    /// Another TrackType.
    #[error("TrackType differs")]
    TrackType,
}

/// Why a merge failed.
///
/// ```
/// use kvs_mkv::merge::{merge, MergeError};
/// use kvs_mkv::writer::{ChunkModel, ChunkWriter};
/// let mut body = Vec::new();
/// ChunkWriter::default().write_to(&ChunkModel::default(), &mut body).unwrap();
/// let err = merge(&body[..], std::io::Cursor::new(Vec::new()), &Default::default()).unwrap_err();
/// assert!(matches!(err, MergeError::NoTracks { damage: None }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// Reading the input failed. The output was finished with what came before.
    #[error("read error: {0}")]
    Read(std::io::Error),
    /// Writing the output failed.
    #[error("write error: {0}")]
    Write(#[from] std::io::Error),
    /// A chunk's tracks differ from the file's: refused, see the
    /// [module docs](self). The output was finished with the chunks before.
    #[error(
        "chunk {chunk} (at byte {offset}) changes track {track}: {change}; \
         one file holds one set of tracks, so the merge stops before this chunk"
    )]
    TracksChanged {
        /// 0-based index of the chunk.
        chunk: u64,
        /// Byte offset of its EBML header.
        offset: u64,
        /// The track number.
        track: u64,
        /// What changed.
        change: TrackChange,
    },
    /// No chunk of the input declares a track: there is nothing to merge.
    /// Nothing was written. `damage` is the first of the decode errors met
    /// on the way, if any (what kept the tracks from being read, when the
    /// input has them), with the number of them.
    #[error("the input declares no track: nothing to merge{}", damage_note(.damage))]
    NoTracks {
        /// The first decode error and how many there were.
        damage: Option<(DecodeError, u64)>,
    },
}

/// What [`MergeError::NoTracks`] adds when the input was damaged.
fn damage_note(damage: &Option<(DecodeError, u64)>) -> String {
    match damage {
        None => String::new(),
        Some((first, 1)) => format!(" (the input was damaged: {first})"),
        Some((first, n)) => format!(
            " (the input was damaged: {first}, and {} more errors)",
            n - 1
        ),
    }
}

/// Merges the chunks of `input` into one seekable Matroska file written to
/// `output` (from its current position); see the [module docs](self). For a
/// pipe, see [`merge_streaming`].
///
/// ```no_run
/// use std::io::BufWriter;
/// let input = std::fs::File::open("get-media-body.mkv")?;
/// let output = BufWriter::new(std::fs::File::create("merged.mkv")?);
/// let report = kvs_mkv::merge::merge(input, output, &Default::default())?;
/// for cut in &report.incomplete {
///     eprintln!("chunk {} was cut short; {} frames kept", cut.index, cut.frames_kept);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn merge<R: Read, W: Write + Seek>(
    input: R,
    output: W,
    options: &MergeOptions,
) -> Result<MergeReport, MergeError> {
    merge_into(input, Merger::new(output, *options)?, options)
}

/// Merges the chunks of `input` into one streamable Matroska file written to
/// `output`, which needs no `Seek` (standard output, a pipe, a socket): each
/// chunk is written and flushed as soon as it is read, and nothing is
/// patched ([`OutputKind::Streaming`]; the [module docs](self) say what the
/// file holds).
///
/// ```no_run
/// // `kvs-mkv merge body.mkv -o - | ffplay -`, in Rust:
/// let input = std::fs::File::open("get-media-body.mkv")?;
/// let report = kvs_mkv::merge::merge_streaming(input, std::io::stdout().lock(), &Default::default())?;
/// eprintln!("{} frames piped", report.frames);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn merge_streaming<R: Read, W: Write>(
    input: R,
    output: W,
    options: &MergeOptions,
) -> Result<MergeReport, MergeError> {
    merge_into(input, Merger::streaming(output, *options), options)
}

fn merge_into<R: Read, W: Write>(
    input: R,
    mut merger: Merger<W>,
    options: &MergeOptions,
) -> Result<MergeReport, MergeError> {
    let chunks = DecodeReader::new(input, ChunkDecoder::with_limits(options.limits));
    for item in chunks {
        match item {
            Ok(chunk) => {
                if let Err(refused) = merger.push(chunk) {
                    if matches!(refused, MergeError::TracksChanged { .. }) && merger.started() {
                        merger.finish()?;
                    }
                    return Err(refused);
                }
            }
            Err(Error::Decode(e)) => merger.decode_error(e),
            Err(Error::Io(e)) => {
                if merger.started() {
                    merger.finish()?;
                }
                return Err(MergeError::Read(e));
            }
        }
    }
    merger.finish()
}

/// A `Write` that knows its position, and can go back to patch bytes when
/// it was made from a `Write + Seek`.
struct Out<W> {
    inner: W,
    pos: u64,
    /// `Some` for a seekable output ([`seek_to`], monomorphized where
    /// `W: Seek` is known).
    seek: Option<SeekFn<W>>,
}

type SeekFn<W> = fn(&mut W, u64) -> std::io::Result<()>;

fn seek_to<W: Seek>(w: &mut W, at: u64) -> std::io::Result<()> {
    w.seek(SeekFrom::Start(at)).map(drop)
}

impl<W: Write> Out<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.inner.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn element(&mut self, e: &Element) -> std::io::Result<()> {
        let mut segments = Segments::default();
        e.write(&mut segments);
        for s in segments.finish() {
            self.write(&s)?;
        }
        Ok(())
    }

    /// Overwrites bytes at `at`, then comes back. Only a seekable output
    /// is ever patched.
    fn patch(&mut self, at: u64, bytes: &[u8]) -> std::io::Result<()> {
        let seek = self.seek.expect("only a seekable output is patched");
        seek(&mut self.inner, at)?;
        self.inner.write_all(bytes)?;
        seek(&mut self.inner, self.pos)
    }
}

/// What kind of file a [`Merger`] writes.
///
/// ```
/// use kvs_mkv::merge::{Merger, OutputKind};
/// let merger = Merger::streaming(Vec::new(), Default::default());
/// assert_eq!(merger.kind(), OutputKind::Streaming);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputKind {
    /// A seekable file (`Write + Seek`): Segment of known size, SeekHead,
    /// Duration, Cues and all Tags at the end, patched by
    /// [`Merger::finish`].
    Seekable,
    /// A stream (`Write`): Segment of unknown size, no SeekHead, Duration
    /// or Cues; each chunk's Clusters then its Tags, flushed per chunk.
    Streaming,
}

/// Where the parts to patch are, once the head is written.
struct Head {
    segment_size_at: u64,
    data_start: u64,
    seek_head_at: u64,
    info_at: u64,
    tracks_at: u64,
    duration_at: u64,
    scale: u64,
}

/// Bytes kept for the SeekHead (four entries take 89).
const SEEK_HEAD_SPACE: u64 = 128;

struct Cue {
    time: u64,
    track: u64,
    cluster: u64,
    relative: u64,
}

/// The merge as a value, for chunks that come from elsewhere than a reader
/// (e.g. the GetMedia client): [`push`](Self::push) each chunk as it arrives,
/// then [`finish`](Self::finish). [`merge`] is this over a decoded reader.
///
/// ```
/// let out = std::io::Cursor::new(Vec::new());
/// let mut merger = kvs_mkv::merge::Merger::new(out, Default::default())?;
/// for chunk in kvs_mkv::io::read_chunks(std::fs::File::open("testdata/sample.mkv")?) {
///     merger.push(chunk?)?;
/// }
/// let report = merger.finish()?;
/// assert_eq!(report.frames, 45);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Merger<W> {
    out: Out<W>,
    start: u64,
    options: MergeOptions,
    report: MergeReport,
    head: Option<Head>,
    tracks: Vec<Track>,
    placer: Option<timeline::Placer>,
    last_cluster: u64,
    cues: Vec<Cue>,
    tags: Vec<Vec<(Text, TagValue)>>,
}

impl<W: Write + Seek> Merger<W> {
    /// Starts a seekable merge into `inner` at its current position
    /// ([`OutputKind::Seekable`]).
    pub fn new(mut inner: W, options: MergeOptions) -> Result<Self, MergeError> {
        let start = inner.stream_position()?;
        Ok(Merger::with_out(
            Out {
                inner,
                pos: start,
                seek: Some(seek_to::<W>),
            },
            options,
        ))
    }
}

impl<W: Write> Merger<W> {
    /// Starts a streaming merge into `inner` ([`OutputKind::Streaming`]):
    /// nothing is patched, each chunk is flushed once written.
    ///
    /// ```
    /// let mut merger = kvs_mkv::merge::Merger::streaming(Vec::new(), Default::default());
    /// for chunk in kvs_mkv::io::read_chunks(std::fs::File::open("testdata/sample.mkv")?) {
    ///     merger.push(chunk?)?; // written and flushed here
    /// }
    /// let report = merger.finish()?;
    /// assert_eq!((report.frames, report.cue_points), (45, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn streaming(inner: W, options: MergeOptions) -> Self {
        Merger::with_out(
            Out {
                inner,
                pos: 0,
                seek: None,
            },
            options,
        )
    }

    fn with_out(out: Out<W>, options: MergeOptions) -> Self {
        Merger {
            start: out.pos,
            out,
            options,
            report: MergeReport::default(),
            head: None,
            tracks: Vec::new(),
            placer: None,
            last_cluster: 0,
            cues: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// The kind of file being written.
    pub fn kind(&self) -> OutputKind {
        if self.out.seek.is_some() {
            OutputKind::Seekable
        } else {
            OutputKind::Streaming
        }
    }

    fn streams(&self) -> bool {
        self.kind() == OutputKind::Streaming
    }

    /// What was merged so far (chunks, frames, bytes written; the
    /// duration and Cues once finished).
    pub fn report(&self) -> &MergeReport {
        &self.report
    }

    /// Whether anything was written yet.
    pub fn started(&self) -> bool {
        self.head.is_some()
    }

    /// Records a decoding error of the input (for the report).
    pub fn decode_error(&mut self, e: DecodeError) {
        if matches!(e.kind, DecodeErrorKind::Truncated { .. }) {
            self.report.truncated = true;
            return;
        }
        self.report.decode_error_count += 1;
        if self.report.decode_errors.len() < MAX_KEPT_ERRORS {
            self.report.decode_errors.push(e);
        }
    }

    /// Adds a chunk. A change of tracks is refused with
    /// [`MergeError::TracksChanged`]; what was merged before stays valid once
    /// [`finish`](Self::finish) is called.
    pub fn push(&mut self, chunk: Chunk) -> Result<(), MergeError> {
        let index = self.report.chunks;
        let (info, frames, _) = chunk.into_parts();
        if !info.tracks.is_empty() {
            if self.head.is_none() {
                self.write_head(&info.tracks, info.timecode_scale)?;
            } else if let Err((track, change)) = compare(&self.tracks, &info.tracks) {
                return Err(MergeError::TracksChanged {
                    chunk: index,
                    offset: info.offset,
                    track,
                    change,
                });
            }
        }
        self.report.chunks += 1;
        if !info.complete {
            let frames_kept = frames.iter().filter(|f| self.has_track(f)).count() as u64;
            self.report.incomplete.push(IncompleteChunk {
                index,
                offset: info.offset,
                frames_kept,
            });
        }
        if !info.tags.is_empty() {
            self.tags
                .push(info.tags.into_iter().map(|t| (t.name, t.value)).collect());
        }
        let (known, unknown): (Vec<Frame>, Vec<Frame>) =
            frames.into_iter().partition(|f| self.has_track(f));
        self.report.skipped_frames += unknown.len() as u64;
        if !known.is_empty() {
            self.push_frames(known, info.timecode_scale)?;
        }
        if self.streams() && self.head.is_some() {
            // The chunk's tags after its Clusters, as the service sends
            // them; then the whole chunk goes out.
            self.write_tags()?;
            self.out.inner.flush()?;
        }
        self.report.bytes_written = self.out.pos - self.start;
        Ok(())
    }

    /// Places one chunk's frames of the file's tracks and writes them.
    fn push_frames(&mut self, known: Vec<Frame>, info_scale: u64) -> Result<(), MergeError> {
        let placer = self
            .placer
            .as_mut()
            .expect("tracks, hence a head and a placer");
        let tcs = placer.place(&known, info_scale, &self.tracks);
        let scale = self.head.as_ref().map_or(info_scale, |h| h.scale);
        let known = if info_scale == scale {
            known
        } else {
            // BlockDurations are in TimecodeScale units too.
            let rescale =
                |d: u64| timeline::rescale(i128::from(d), info_scale, scale).max(0) as u64;
            known
                .into_iter()
                .map(|f| {
                    let d = f.duration().map(rescale);
                    f.with_duration(d)
                })
                .collect()
        };
        self.write_clusters(&known, &tcs)?;
        Ok(())
    }

    fn has_track(&self, f: &Frame) -> bool {
        self.tracks.iter().any(|t| t.number == f.track())
    }

    /// EBML header, Segment (size to patch), room for the SeekHead, Info
    /// (Duration to patch), Tracks. Streaming: the Segment's size unknown,
    /// no SeekHead, no Duration.
    fn write_head(&mut self, tracks: &[Track], scale: u64) -> Result<(), MergeError> {
        self.tracks = tracks.to_vec();
        let streams = self.streams();
        self.out.element(&ebml_header(4))?;
        let mut segment = BytesMut::new();
        put_id(&mut segment, ids::SEGMENT);
        let segment_size_at = self.out.pos + segment.len() as u64;
        if streams {
            put_unknown_size(&mut segment, 8);
        } else {
            put_vint(&mut segment, 0, 8);
        }
        self.out.write(&segment)?;
        let data_start = self.out.pos;
        let seek_head_at = self.out.pos;
        if !streams {
            self.out.element(&void(SEEK_HEAD_SPACE))?;
        }

        let mut info = Vec::with_capacity(4);
        if !streams {
            info.push(Element::float(ids::DURATION, 0.0));
        }
        info.extend([
            Element::uint(ids::TIMECODE_SCALE, scale),
            Element::string(ids::MUXING_APP, "kvs-mkv", None),
            Element::string(
                ids::WRITING_APP,
                concat!("kvs-mkv ", env!("CARGO_PKG_VERSION")),
                None,
            ),
        ]);
        let info = Element::master(ids::INFO, info);
        let info_at = self.out.pos;
        // Duration is Info's first child: its ID (2 bytes) and size (1).
        let duration_at = info_at + (info.total_len() - info.body_len()) + 3;
        self.out.element(&info)?;

        let tracks_at = self.out.pos;
        let entries = self
            .tracks
            .iter()
            .map(|t| {
                let mut t = t.clone();
                t.uid = Some(t.uid.filter(|&u| u != 0).unwrap_or(t.number.max(1)));
                track_entry(&t, None)
            })
            .collect();
        self.out.element(&Element::master(ids::TRACKS, entries))?;

        self.placer = Some(timeline::Placer::new(self.options.timeline, scale));
        self.head = Some(Head {
            segment_size_at,
            data_start,
            seek_head_at,
            info_at,
            tracks_at,
            duration_at,
            scale,
        });
        Ok(())
    }

    /// Writes one chunk's frames as Clusters (a new one at each chunk, and
    /// when a block's offset would not fit an `i16`). Frames of a track
    /// that share a timecode (they came laced) are laced again, so players
    /// time them as they would have timed the input.
    fn write_clusters(&mut self, frames: &[Frame], tcs: &[i128]) -> Result<(), MergeError> {
        let data_start = self.head.as_ref().map_or(0, |h| h.data_start);
        let has_video = self
            .tracks
            .iter()
            .any(|t| t.track_type == Some(TrackType::Video));
        let cue_every_keyframe = |track: u64| {
            self.tracks
                .iter()
                .any(|t| t.number == track && t.track_type == Some(TrackType::Video))
        };
        let streams = self.streams();
        let runs = lace_runs(frames, Lacing::Ebml);
        let mut r = 0;
        while r < runs.len() {
            // Never before the previous Cluster, unless a frame is so far
            // back that no block offset can reach it.
            let at = |r: usize| tcs[runs[r].start];
            let first = u64::try_from(at(r)).unwrap_or(0);
            let mut cluster_tc = first.max(self.last_cluster);
            if !fits(at(r), cluster_tc) {
                cluster_tc = first;
            }
            let timecode = Element::uint(ids::TIMECODE, cluster_tc);
            let mut body_len = timecode.total_len();
            let mut children = vec![timecode];
            let mut cues = Vec::new();
            let mut cued: Vec<u64> = Vec::new();
            while r < runs.len() && fits(at(r), cluster_tc) {
                let run = &frames[runs[r].clone()];
                let f = &run[0];
                let rel = (at(r) - i128::from(cluster_tc)) as i16;
                let block = if f.duration().is_some() {
                    block_group(f, rel)
                } else {
                    simple_block(run, rel, Lacing::Ebml)
                };
                let cue = f.is_keyframe()
                    && if has_video {
                        cue_every_keyframe(f.track())
                    } else {
                        !cued.contains(&f.track())
                    };
                if cue && !streams {
                    cued.push(f.track());
                    cues.push(Cue {
                        time: at(r) as u64,
                        track: f.track(),
                        cluster: 0,
                        relative: body_len,
                    });
                }
                body_len += block.total_len();
                children.push(block);
                self.report.frames += run.len() as u64;
                self.report.frame_bytes += run.iter().map(|f| f.data().len() as u64).sum::<u64>();
                r += 1;
            }
            let cluster_at = self.out.pos - data_start;
            for mut c in cues {
                c.cluster = cluster_at;
                self.cues.push(c);
            }
            self.out.element(&Element::master(ids::CLUSTER, children))?;
            self.last_cluster = cluster_tc;
            self.report.clusters += 1;
        }
        Ok(())
    }

    /// One Tags element, one Tag per chunk, for the tags kept so far.
    fn write_tags(&mut self) -> Result<(), MergeError> {
        if self.tags.is_empty() {
            return Ok(());
        }
        let tags = self
            .tags
            .drain(..)
            .map(|chunk_tags| {
                let mut c = vec![Element::master(ids::TARGETS, Vec::new())];
                c.extend(chunk_tags.iter().map(|(n, v)| simple_tag(n, v, None)));
                Element::master(ids::TAG, c)
            })
            .collect();
        self.out.element(&Element::master(ids::TAGS, tags))?;
        Ok(())
    }

    /// Seekable: writes Cues and Tags, then the patches (Segment size,
    /// SeekHead, Duration). Streaming: writes the tags not yet written and
    /// flushes. Returns the report.
    ///
    /// Call it when the input ends, or when a caller stops early (e.g. on
    /// Ctrl-C): the file then holds every chunk pushed so far.
    pub fn finish(mut self) -> Result<MergeReport, MergeError> {
        let Some(head) = self.head.take() else {
            let first = self.report.decode_errors.first().cloned();
            let damage = first.map(|e| (e, self.report.decode_error_count));
            return Err(MergeError::NoTracks { damage });
        };
        let ticks = self.placer.as_ref().map_or(0, |p| p.end());
        self.report.duration_ns = u128::try_from(ticks).unwrap_or(0) * u128::from(head.scale);
        if self.streams() {
            self.write_tags()?;
            self.out.inner.flush()?;
            self.report.bytes_written = self.out.pos - self.start;
            return Ok(self.report);
        }
        let mut seeks = vec![(ids::INFO, head.info_at), (ids::TRACKS, head.tracks_at)];
        if !self.cues.is_empty() {
            self.cues.sort_by_key(|c| c.time);
            seeks.push((ids::CUES, self.out.pos));
            let points = self
                .cues
                .iter()
                .map(|c| {
                    Element::master(
                        ids::CUE_POINT,
                        vec![
                            Element::uint(ids::CUE_TIME, c.time),
                            Element::master(
                                ids::CUE_TRACK_POSITIONS,
                                vec![
                                    Element::uint(ids::CUE_TRACK, c.track),
                                    Element::uint(ids::CUE_CLUSTER_POSITION, c.cluster),
                                    Element::uint(ids::CUE_RELATIVE_POSITION, c.relative),
                                ],
                            ),
                        ],
                    )
                })
                .collect();
            self.out.element(&Element::master(ids::CUES, points))?;
            self.report.cue_points = self.cues.len() as u64;
        }
        if !self.tags.is_empty() {
            seeks.push((ids::TAGS, self.out.pos));
            self.write_tags()?;
        }
        let end = self.out.pos;

        let mut size = BytesMut::new();
        put_vint(&mut size, end - head.data_start, 8);
        self.out.patch(head.segment_size_at, &size)?;

        let seek_head = Element::master(
            ids::SEEK_HEAD,
            seeks
                .iter()
                .map(|&(id, at)| {
                    let mut id_bytes = BytesMut::new();
                    put_id(&mut id_bytes, id);
                    Element::master(
                        ids::SEEK,
                        vec![
                            Element::bytes(ids::SEEK_ID, id_bytes.freeze()),
                            Element::uint8(ids::SEEK_POSITION, at - head.data_start),
                        ],
                    )
                })
                .collect(),
        );
        let mut segments = Segments::default();
        seek_head.write(&mut segments);
        void(SEEK_HEAD_SPACE - seek_head.total_len()).write(&mut segments);
        self.out
            .patch(head.seek_head_at, &segments.finish().concat())?;

        self.out
            .patch(head.duration_at, &(ticks as f64).to_be_bytes())?;
        self.out.inner.flush()?;

        self.report.bytes_written = end - self.start;
        Ok(self.report)
    }
}

/// Whether a frame at `tc` can sit in a Cluster at `cluster`.
fn fits(tc: i128, cluster: u64) -> bool {
    i16::try_from(tc - i128::from(cluster)).is_ok()
}

/// A Void element of exactly `len` bytes (at least 2).
fn void(len: u64) -> Element {
    let payload = if len - 2 < 127 { len - 2 } else { len - 9 };
    let e = Element::bytes(ids::VOID, Bytes::from(vec![0u8; payload as usize]));
    if len - 2 < 127 {
        e
    } else {
        e.sized(crate::writer::element::Size::Width(8))
    }
}

/// The first difference between the file's tracks and a chunk's.
fn compare(file: &[Track], chunk: &[Track]) -> Result<(), (u64, TrackChange)> {
    for f in file {
        let Some(c) = chunk.iter().find(|c| c.number == f.number) else {
            return Err((f.number, TrackChange::Removed));
        };
        if c.codec_id != f.codec_id {
            return Err((
                f.number,
                TrackChange::CodecId {
                    before: f.codec_id.to_string(),
                    after: c.codec_id.to_string(),
                },
            ));
        }
        if c.codec_private != f.codec_private {
            return Err((f.number, TrackChange::CodecPrivate));
        }
        if c.track_type != f.track_type {
            return Err((f.number, TrackChange::TrackType));
        }
    }
    match chunk
        .iter()
        .find(|c| !file.iter().any(|f| f.number == c.number))
    {
        Some(c) => Err((c.number, TrackChange::Added)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voids_have_the_exact_length() {
        for len in [2u64, 3, 39, 128, 129, 200] {
            assert_eq!(void(len).total_len(), len, "{len}");
        }
    }

    #[test]
    fn track_changes() {
        let a = Track {
            number: 1,
            codec_id: "V_MPEG4/ISO/AVC".into(),
            ..Track::default()
        };
        let mut b = a.clone();
        assert_eq!(
            compare(std::slice::from_ref(&a), std::slice::from_ref(&b)),
            Ok(())
        );
        b.codec_private = Some(Bytes::from_static(b"\x01"));
        assert_eq!(
            compare(std::slice::from_ref(&a), std::slice::from_ref(&b)),
            Err((1, TrackChange::CodecPrivate))
        );
        b.number = 2;
        assert_eq!(
            compare(std::slice::from_ref(&a), &[b]),
            Err((1, TrackChange::Removed))
        );
        let mut c = a.clone();
        c.number = 2;
        assert_eq!(
            compare(std::slice::from_ref(&a), &[a.clone(), c]),
            Err((2, TrackChange::Added))
        );
    }
}
