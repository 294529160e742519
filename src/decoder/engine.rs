//! The chunk-assembly state machine shared by [`ChunkDecoder`] and
//! [`EventDecoder`]: bytes -> element headers -> tracks, tags, frames ->
//! chunk boundaries.
//!
//! The engine remembers where it is (`pos`, the stack of open elements), so
//! bytes already examined are never parsed again when more arrive: a call
//! costs O(1) plus the elements it completes.
//!
//! [`ChunkDecoder`]: crate::ChunkDecoder
//! [`EventDecoder`]: crate::EventDecoder

use std::collections::VecDeque;
use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem;

use crate::chunk::{ChunkInfo, Frame, Tag, TagPosition, TagValue, HAS_DURATION};
use crate::ebml::{self, element_header, Header, HeaderError};
use crate::error::{DecodeError, DecodeErrorKind, ElementId};
use crate::kvs::names;
use crate::matroska::block::parse_block;
use crate::matroska::ids::{self, may_contain};
use crate::matroska::{AudioSettings, Track, TrackType, VideoSettings};
use crate::text::{Text, TextArena};
use crate::Limits;

/// The four bytes that begin every chunk.
const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];
/// An EBML header is a few dozen bytes; anything larger is not one.
const MAX_EBML_HEADER: u64 = 4096;
const DEFAULT_TIMECODE_SCALE: u64 = 1_000_000;

/// How much of a chunk the engine keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Keep every byte until the chunk ends, then split it off once and hand
    /// out frames as views into it.
    WholeChunk,
    /// Hand out each frame as soon as its block is in; keep nothing after.
    Streaming,
}

/// What the engine produces.
#[derive(Debug)]
pub(crate) enum Output {
    /// Streaming: the first Cluster began (or the chunk ended without one).
    /// Boxed, like `End`'s, so that an `Output` is the size of a `Frame`:
    /// frames, the common case, are moved through the queue by value.
    Start(Box<ChunkInfo>),
    /// Streaming: a frame.
    Frame(Frame),
    /// The chunk ended. In whole-chunk mode, with its bytes and frames.
    End(Box<ChunkInfo>, Option<(Bytes, Vec<Frame>)>),
    /// Damaged or truncated input.
    Error(DecodeError),
}

enum Progress {
    Continue,
    Blocked,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    id: u32,
    /// Where the element ends, when its size is known.
    end: Option<u64>,
    /// Where it ends at the latest: its own end or its nearest known ancestor's.
    bound: Option<u64>,
}

#[derive(Debug)]
enum State {
    /// Between chunks: expecting an EBML header.
    Top,
    InChunk,
    /// After damage at `at`: looking for the next EBML header from `scan`.
    /// The error is reported when it is found (with the bytes skipped), or
    /// at end of input; unless `reported`, when it went out at once.
    Resync {
        kind: DecodeErrorKind,
        at: u64,
        scan: u64,
        reported: bool,
    },
}

/// A frame whose bytes are still in the buffer (whole-chunk mode), kept
/// to 32 bytes: the records of a chunk are written once and read once, and
/// at 1000 frames a chunk their size is what the cache sees. A BlockDuration
/// (BlockGroups only) waits in `Engine::durations`, the TimecodeScale in
/// `Engine::scales`.
#[derive(Debug, Clone, Copy)]
struct FrameRec {
    start: u64,
    len: usize,
    /// The track number (a block header's VINT: under 2^56) shifted left
    /// by 8, and the frame's flags in the low byte.
    track_flags: u64,
    timecode: i64,
}

impl FrameRec {
    fn flags(&self) -> u8 {
        self.track_flags as u8
    }
}

#[derive(Debug, Default)]
struct SimpleTagBuild {
    name: Option<Text>,
    value: Option<TagValue>,
    emitted: bool,
}

/// The chunk being assembled.
#[derive(Debug, Default)]
struct Build {
    info: ChunkInfo,
    /// A Cluster began (in streaming mode: `Start` was emitted).
    started: bool,
    /// A CONTINUATION_TOKEN was read after a Cluster began.
    token: bool,
    cluster_timecode: Option<u64>,
    track: Option<Track>,
    /// CodecPrivate ranges to turn into views once the bytes are split off:
    /// (track index, start, end).
    privates: Vec<(usize, u64, u64)>,
    private: Option<(u64, u64)>,
    simple_tags: Vec<SimpleTagBuild>,
    /// Whole-chunk mode: memory kept per frame until the chunk ends, counted
    /// against `max_chunk_size` with the chunk's bytes (a laced block can
    /// turn a few bytes into hundreds of frames).
    frame_cost: u64,
}

/// Whole-chunk mode, general block path: counts a frame and keeps its
/// record (and its scale) until the chunk is split off. (The SimpleBlock
/// run keeps its records itself, and counts them once per run.)
#[inline]
fn keep_frame(
    stats: &mut crate::FrameStats,
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
fn note_scale(scales: &mut Vec<(usize, u64)>, index: usize, scale: u64) {
    if scales.last().is_none_or(|&(_, s)| s != scale) {
        scales.push((index, scale));
    }
}

/// What the SimpleBlock fast path did.
enum Fast {
    /// Took one or more blocks; the next is not all in when `wait` says
    /// up to where it reaches.
    Took { wait: Option<u64> },
    /// The next block is not all in: nothing to do until the input reaches
    /// this offset.
    Wait(u64),
    /// Left the element at `pos` to the general path.
    No,
}

/// The chunk's frames, as views of its bytes `raw` (stream offset
/// `raw_base`), with the TimecodeScales noted in `scales` (see
/// [`note_scale`]; `chunk_scale` if none is). Out of line, so the loop
/// keeps its values in registers.
#[inline(never)]
fn build_frames(
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

/// What a run of SimpleBlocks is read against (see
/// [`Engine::simple_blocks`]): kept apart from the engine so the loop works
/// in registers.
struct Run {
    /// Stream offset of `data[0]`.
    base: u64,
    cluster_tc: i64,
    max_size: u64,
    /// Bytes the chunk may still take, counted from `data[0]`, with
    /// [`FRAME_COST`] per frame kept.
    room: u64,
}

impl Run {
    /// Records consecutive SimpleBlocks from `at` (no lacing, a one-byte
    /// track number, wholly within `data`, within the limits) and returns
    /// where the run stopped, with the end of the block there when that
    /// block would be taken but is not all in yet.
    fn scan(&self, data: &[u8], at: usize, recs: &mut Vec<FrameRec>) -> Scanned {
        // Relative timecodes are i16: with the Cluster's this far from the
        // ends of i64, no sum overflows (nearer, the general path decides).
        if !(i64::MIN + 0x8000..=i64::MAX - 0x7FFF).contains(&self.cluster_tc) || self.max_size < 4
        {
            return Scanned {
                at,
                ..Scanned::default()
            };
        }
        // A block takes 6 bytes at least: when even that many blocks up to
        // the end of `data` fit the room, the room needs no check per block.
        let most = data.len().saturating_sub(at) as u64 / 6 + 1;
        let spare = self.room.saturating_sub(most.saturating_mul(FRAME_COST));
        if data.len() as u64 <= spare {
            // (A block past the data then has room when it ends within
            // `spare`: that is all the wait for it checks.)
            self.scan_with::<false>(data, at, spare, recs)
        } else {
            self.scan_with::<true>(data, at, self.room, recs)
        }
    }

    /// The run itself. `room` bounds a block's end plus the records kept:
    /// checked per block when `ROOM`; otherwise it cannot bind within the
    /// data, and only the wait for a block past the data looks at it.
    #[inline(never)]
    fn scan_with<const ROOM: bool>(
        &self,
        data: &[u8],
        mut at: usize,
        mut room: u64,
        recs: &mut Vec<FrameRec>,
    ) -> Scanned {
        let (base, tc) = (self.base, self.cluster_tc);
        let (mut keyframes, mut bytes) = (0, 0);
        let max_body = self.max_size - 4;
        while let Some(h) = block_head(data, at) {
            // At least the 4 head bytes (a shorter body does not match: the
            // general path says why), and at most the element size limit.
            if h.size.wrapping_sub(4) > max_body {
                break;
            }
            // (No overflow: a VINT size is under 2^56.)
            let end = (at + h.body) as u64 + h.size;
            if ROOM && end.saturating_add(FRAME_COST) > room {
                break;
            }
            if end > data.len() as u64 {
                // Not all in: wait for it only when it would be taken.
                let waits = h.plain() && end.saturating_add(FRAME_COST) <= room;
                return Scanned {
                    at,
                    wait: waits.then_some(end),
                    keyframes,
                    bytes,
                };
            }
            if !h.plain() {
                break;
            }
            recs.push(FrameRec {
                start: base + (at + h.body + 4) as u64,
                len: (h.size - 4) as usize,
                track_flags: h.track_flags(),
                timecode: tc + i64::from(h.rel),
            });
            keyframes += u64::from(h.flags >> 7);
            bytes += h.size - 4;
            if ROOM {
                room -= FRAME_COST;
            }
            at = end as usize;
        }
        Scanned {
            at,
            wait: None,
            keyframes,
            bytes,
        }
    }
}

/// Where a run of SimpleBlocks stopped, and what it took.
#[derive(Default)]
struct Scanned {
    /// Buffer index of the element after the run.
    at: usize,
    /// The end of the block at `at` (a buffer index, kept in `u64`: it may
    /// lie beyond what `usize` holds) when that block would be taken but is
    /// not all in yet.
    wait: Option<u64>,
    /// Keyframes among the frames taken.
    keyframes: u64,
    /// Payload bytes of the frames taken.
    bytes: u64,
}

/// [`block_head`] for the rest: a SimpleBlock at `at` whose size takes
/// three bytes or more (or whose window is not all in): its size, where its
/// body starts (relative to the ID), and the body's first four bytes, when
/// all that is in and the size is not unknown.
#[cold]
fn wide_block(data: &[u8], at: usize) -> Option<(u64, usize, [u8; 4])> {
    let [SIMPLE_BLOCK_BYTE, rest @ ..] = data.get(at..)? else {
        return None;
    };
    let (after, size) = ebml::element_size(rest).ok()?;
    let head = *after.first_chunk::<4>()?;
    Some((size?, data.len() - at - after.len(), head))
}

/// The SimpleBlock ID, one byte on the wire.
const SIMPLE_BLOCK_BYTE: u8 = ids::SIMPLE_BLOCK as u8;

/// The head of a SimpleBlock as both fast paths read it: its size, where
/// its body starts (relative to the ID), and the body's first four bytes
/// decoded: track byte, relative timecode, flags.
#[derive(Clone, Copy)]
struct BlockHead {
    size: u64,
    body: usize,
    track: u8,
    rel: i16,
    flags: u8,
}

impl BlockHead {
    /// A one-byte track number and no lacing: what the fast paths take
    /// (when the size is at least the four head bytes and within limits).
    fn plain(&self) -> bool {
        self.track & 0x80 != 0 && self.flags & 0x06 == 0
    }

    /// The frame's track number and flags, as `Frame::track_flags` holds
    /// them.
    fn track_flags(&self) -> u64 {
        u64::from(self.track & 0x7F) << 8
            | u64::from(self.flags & (KEYFRAME | INVISIBLE | DISCARDABLE))
    }
}

/// Reads the head of the SimpleBlock at `data[at]`, if one is there: from
/// a seven-byte window (ID, a one- or two-byte size, four head bytes: one
/// bounds check) when the size takes one or two bytes, else through the
/// general VINT reader (cold). `None` when it is not a SimpleBlock, when
/// its size is unknown or invalid, or when its head is not all in.
#[inline(always)]
fn block_head(data: &[u8], at: usize) -> Option<BlockHead> {
    let head = |size, body, [track, hi, lo, flags]: [u8; 4]| BlockHead {
        size,
        body,
        track,
        rel: i16::from_be_bytes([hi, lo]),
        flags,
    };
    match data.get(at..).and_then(<[u8]>::first_chunk::<7>) {
        Some(&[SIMPLE_BLOCK_BYTE, s0, b2, b3, b4, b5, _]) if s0 & 0x80 != 0 => {
            // (0xFF: the unknown size.)
            (s0 != 0xFF).then(|| head(u64::from(s0 & 0x7F), 2, [b2, b3, b4, b5]))
        }
        Some(&[SIMPLE_BLOCK_BYTE, s0, b2, b3, b4, b5, b6]) if s0 & 0x40 != 0 => {
            let size = (u64::from(s0 & 0x3F) << 8) | u64::from(b2);
            (size != 0x3FFF).then(|| head(size, 3, [b3, b4, b5, b6]))
        }
        _ => wide_block(data, at).map(|(size, body, bytes)| head(size, body, bytes)),
    }
}

/// What the engine keeps per frame until a whole chunk is handed out.
/// (A BlockDuration's 16 bytes in `Engine::durations` and a TimecodeScale's
/// in `Engine::scales` included: a bound, as each has one at most.)
const FRAME_COST: u64 = (std::mem::size_of::<FrameRec>()
    + std::mem::size_of::<Frame>()
    + 2 * std::mem::size_of::<(usize, u64)>()) as u64;

pub(crate) struct Engine {
    mode: Mode,
    limits: Limits,
    /// Stream offset of `buf[0]`.
    base: u64,
    /// Stream offset of the next element header.
    pos: u64,
    state: State,
    stack: Vec<Open>,
    chunk: Option<Build>,
    /// Whole-chunk mode: frames of the current chunk (reused across chunks).
    frames: Vec<FrameRec>,
    /// Whole-chunk mode: BlockDurations of the current chunk's frames, by
    /// index into `frames`, in order.
    durations: Vec<(usize, u64)>,
    /// Whole-chunk mode: the TimecodeScale of `frames`, by first index
    /// (see [`note_scale`]).
    scales: Vec<(usize, u64)>,
    out: VecDeque<Output>,
    /// Streaming: the frame the fast path just read (it bypasses `out`,
    /// which is empty whenever the fast path runs).
    ready: Option<Frame>,
    finder: memmem::Finder<'static>,
    /// Where tag and track strings are packed (no allocation per string).
    arena: TextArena,
    /// After a chunk ended at its CONTINUATION_TOKEN: its tracks and
    /// TimecodeScale, in case its Segment goes on (as in a merged file).
    continuation: Option<(Vec<Track>, u64)>,
    /// The last header read and where: an element waiting for the rest of
    /// its bytes is not parsed again (offsets never change meaning, the
    /// input being append-only).
    header_at: Option<(u64, Header)>,
    /// The element at `.0` waits for the bytes up to `.1`: until they are
    /// in, there is nothing to do (with TCP-segment-sized pieces, a block
    /// is waited for over several calls; each checked everything again).
    wait: Option<(u64, u64)>,
    /// The fast paths (SimpleBlock runs, the streaming block, `wait`) are
    /// on; off only to test them against the general path.
    pub(crate) fast: bool,
}

type Step = Result<Progress, (DecodeErrorKind, u64, bool)>;

fn damage<T>(kind: DecodeErrorKind, at: u64) -> Result<T, (DecodeErrorKind, u64, bool)> {
    Err((kind, at, false))
}

impl Engine {
    pub(crate) fn new(mode: Mode, limits: Limits) -> Engine {
        Engine {
            mode,
            limits,
            base: 0,
            pos: 0,
            state: State::Top,
            stack: Vec::new(),
            chunk: None,
            frames: Vec::new(),
            durations: Vec::new(),
            scales: Vec::new(),
            out: VecDeque::new(),
            ready: None,
            finder: memmem::Finder::new(&EBML_MAGIC).into_owned(),
            arena: TextArena::default(),
            continuation: None,
            header_at: None,
            wait: None,
            fast: true,
        }
    }

    /// The next output, or `None` when more input is needed (or, at `eof`,
    /// when everything has been reported).
    pub(crate) fn poll(&mut self, buf: &mut BytesMut, eof: bool) -> Option<Output> {
        loop {
            if let Some(frame) = self.ready.take() {
                return Some(Output::Frame(frame));
            }
            if let Some(out) = self.out.pop_front() {
                return Some(out);
            }
            // Streaming's fast path, before the general checks (it makes
            // its own: it only takes a whole block inside an open Cluster,
            // which no pending state can coexist with). A block not all in
            // is waited for through `wait`, which advance() checks first.
            if self.mode == Mode::Streaming && self.fast {
                match self.stream_block(buf) {
                    Fast::Took { .. } => continue,
                    Fast::Wait(until) => self.wait = Some((self.pos, until)),
                    Fast::No => {}
                }
            }
            match self.advance(buf) {
                Ok(Progress::Continue) => {}
                Ok(Progress::Blocked) => {
                    if eof {
                        self.at_eof(buf);
                        return self.out.pop_front();
                    }
                    return None;
                }
                Err((kind, at, clean)) => self.damaged(buf, kind, at, clean),
            }
        }
    }

    fn data_end(&self, buf: &BytesMut) -> u64 {
        self.base + buf.len() as u64
    }

    /// Drops bytes that nothing will look at again.
    fn discard(&mut self, buf: &mut BytesMut) {
        let keep_from = match &self.chunk {
            Some(c) if self.mode == Mode::WholeChunk || !c.started => c.info.offset,
            _ => self.pos,
        };
        let upto = keep_from.min(self.data_end(buf));
        if upto > self.base {
            buf.advance((upto - self.base) as usize);
            self.base = upto;
        }
    }

    /// Whether the bytes before `pos` must still be in the buffer.
    fn retaining(&self) -> bool {
        matches!(&self.chunk, Some(c) if self.mode == Mode::WholeChunk || !c.started)
    }

    fn advance(&mut self, buf: &mut BytesMut) -> Step {
        if let State::Resync { .. } = self.state {
            return Ok(self.resync(buf));
        }
        self.discard(buf);
        let data_end = self.data_end(buf);
        if let Some((at, until)) = self.wait.filter(|_| self.fast) {
            if at == self.pos && data_end < until {
                return Ok(Progress::Blocked);
            }
        }
        if self.pos > data_end && self.retaining() {
            return Ok(Progress::Blocked);
        }
        if self.chunk.is_some() {
            if let Some(top) = self.stack.last() {
                if top.bound == Some(self.pos) {
                    self.close_top(buf);
                    return Ok(Progress::Continue);
                }
            }
            let token_done = self.chunk.as_ref().is_some_and(|c| c.token);
            if token_done && self.stack.iter().all(|o| o.end.is_none()) {
                // finish() keeps the tracks for a Segment that goes on.
                self.finish(buf, self.pos, true);
                return Ok(Progress::Continue);
            }
        }
        if self.pos >= data_end {
            return Ok(Progress::Blocked);
        }
        let fast = match self.mode {
            Mode::WholeChunk if self.fast => self.simple_blocks(buf),
            // (Streaming: poll() has run its fast path at this position.)
            _ => Fast::No,
        };
        match fast {
            Fast::Took { wait: None } => return Ok(Progress::Continue),
            // Took blocks up to one not all in: nothing more to do until it
            // is (saves a round per piece of input).
            Fast::Took { wait: Some(until) } | Fast::Wait(until) => {
                self.wait = Some((self.pos, until));
                return Ok(Progress::Blocked);
            }
            Fast::No => {}
        }
        let at = (self.pos - self.base) as usize;
        let header = match self.header_at {
            Some((pos, h)) if pos == self.pos => Ok((&[][..], h)),
            _ => element_header(&buf[at..]),
        };
        let header = match header {
            Ok((_, h)) => {
                self.header_at = Some((self.pos, h));
                h
            }
            Err(nom::Err::Incomplete(_)) => return Ok(Progress::Blocked),
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                let kind = match e {
                    HeaderError::InvalidId => DecodeErrorKind::InvalidElementId,
                    _ => DecodeErrorKind::InvalidElementSize,
                };
                // A bad header where an unknown-size element could end is a
                // clean end of the chunk before it.
                return Err((kind, self.pos, true));
            }
        };
        if self.chunk.is_none() {
            self.top_level(buf, header)
        } else {
            self.element(buf, header)
        }
    }

    /// The hot path of whole-chunk decoding: inside an open Cluster whose
    /// Timestamp is known, consecutive SimpleBlocks without lacing and with a
    /// one-byte track number are recorded directly. Anything else (another
    /// element, lacing, a limit or bound reached, bytes still missing) is
    /// left to the general path, which also reports every error, so this
    /// changes no result, only the cost (tests/fast_paths.rs compares the
    /// two on generated and damaged streams under random limits).
    fn simple_blocks(&mut self, buf: &BytesMut) -> Fast {
        let Some((bound, cluster_tc)) = self.open_cluster() else {
            return Fast::No;
        };
        let Some(chunk) = self.chunk.as_mut() else {
            return Fast::No;
        };
        let scale = chunk.info.timecode_scale;
        // Work in buffer indices: a block must end within the data and the
        // Cluster, and the chunk held so far (bytes and frame records) must
        // stay within `max_chunk_size`.
        let data_end = self.base + buf.len() as u64;
        let limit = bound.map_or(data_end, |b| b.min(data_end));
        let Some(data) = buf.get(..(limit.saturating_sub(self.base)) as usize) else {
            return Fast::No;
        };
        // Room left under `max_chunk_size` for bytes up to a block's end plus
        // the records kept per frame.
        let room = self
            .limits
            .max_chunk_size
            .saturating_sub(self.base - chunk.info.offset + chunk.frame_cost);
        let before = self.frames.len();
        let run = Run {
            base: self.base,
            cluster_tc,
            max_size: self.limits.max_element_size,
            room,
        };
        let scanned = run.scan(data, (self.pos - self.base) as usize, &mut self.frames);
        // A block not all in that this path would take: the general path
        // would only wait for it too. (Within the Cluster, hence `bound`.)
        let waiting = scanned
            .wait
            .map(|end| self.base + end)
            .filter(|&until| bound.is_none_or(|b| until <= b));
        let recs = &self.frames[before..];
        let (Some(first), Some(last)) = (recs.first(), recs.last()) else {
            return waiting.map_or(Fast::No, Fast::Wait);
        };
        let frames = recs.len() as u64;
        note_scale(&mut self.scales, before, scale);
        chunk.frame_cost += frames * FRAME_COST;
        chunk.info.stats.add_run(
            frames,
            scanned.keyframes,
            scanned.bytes,
            (first.timecode, last.timecode),
            scale,
        );
        self.pos = self.base + scanned.at as u64;
        Fast::Took { wait: waiting }
    }

    /// The hot path of streaming: inside an open Cluster whose Timestamp is
    /// known, a SimpleBlock without lacing and with a one-byte track number
    /// is split off the buffer and handed out as a frame directly, one per
    /// call (so frames are never queued: each is out before the next block
    /// is read). Anything else is left to the general path, as for
    /// [`simple_blocks`](Self::simple_blocks) (and tested the same way).
    fn stream_block(&mut self, buf: &mut BytesMut) -> Fast {
        let Some((bound, cluster_tc)) = self.open_cluster() else {
            return Fast::No;
        };
        let Some(chunk) = self.chunk.as_mut().filter(|c| c.started) else {
            return Fast::No;
        };
        let at = (self.pos - self.base) as usize;
        let Some(h) = block_head(buf, at) else {
            return Fast::No;
        };
        if h.size > self.limits.max_element_size || h.size < 4 {
            return Fast::No;
        }
        let end = self.pos + h.body as u64 + h.size;
        // Past the Cluster or the chunk limit: the general path says so.
        if bound.is_some_and(|b| end > b) || end - chunk.info.offset > self.limits.max_chunk_size {
            return Fast::No;
        }
        let data_end = self.base + buf.len() as u64;
        if end > data_end {
            // The general path would only wait for it too.
            return Fast::Wait(end);
        }
        if !h.plain() {
            return Fast::No;
        }
        let Some(timecode) = cluster_tc.checked_add(i64::from(h.rel)) else {
            return Fast::No;
        };
        let end_rel = (end - self.base) as usize;
        let mut data = buf.split_to(end_rel).freeze();
        data.advance(at + h.body + 4);
        self.base = end;
        self.pos = end;
        let frame = Frame {
            data,
            track_flags: h.track_flags(),
            timecode,
            timecode_scale: chunk.info.timecode_scale,
            duration: 0,
        };
        chunk.info.stats.add(&frame);
        debug_assert!(self.out.is_empty() && self.ready.is_none());
        self.ready = Some(frame);
        Fast::Took { wait: None }
    }

    /// What both fast paths require: an open Cluster whose Timestamp is
    /// known and fits an `i64`. Its bound and that Timestamp.
    fn open_cluster(&self) -> Option<(Option<u64>, i64)> {
        let &Open {
            id: ids::CLUSTER,
            bound,
            ..
        } = self.stack.last()?
        else {
            return None;
        };
        let timecode = self.chunk.as_ref()?.cluster_timecode?;
        Some((bound, i64::try_from(timecode).ok()?))
    }

    /// Outside a chunk: only an EBML header may come (or a Void or
    /// CRC-32, skipped as anywhere else; or what continues a Segment that
    /// went on after a token).
    fn top_level(&mut self, buf: &mut BytesMut, h: Header) -> Step {
        let start = self.pos;
        if matches!(h.id, ids::VOID | ids::CRC32) && h.size.is_some() {
            // Dropped from the buffer as it arrives (no chunk keeps it);
            // a Segment that goes on after a token still goes on after it.
            let end = element_end(h, start)?;
            return self.skip(h, start, end);
        }
        let continuation = self.continuation.take();
        if h.id != ids::EBML {
            if let Some((tracks, timecode_scale)) =
                continuation.filter(|_| may_contain(ids::SEGMENT, h.id))
            {
                // The Segment of a chunk that ended at its token goes on: a
                // new chunk begins here, with the same tracks.
                self.begin_chunk(start, tracks, timecode_scale);
                self.stack.push(Open {
                    id: ids::SEGMENT,
                    end: None,
                    bound: None,
                });
                return Ok(Progress::Continue);
            }
            return damage(
                DecodeErrorKind::ExpectedEbmlHeader {
                    found: ElementId(h.id),
                },
                start,
            );
        }
        let Some(size) = h.size else {
            return damage(
                DecodeErrorKind::UnsupportedHeader("EBML header of unknown size".into()),
                start,
            );
        };
        if size > MAX_EBML_HEADER {
            let kind = DecodeErrorKind::ElementTooLarge {
                id: ElementId(h.id),
                size,
                limit: MAX_EBML_HEADER,
            };
            return damage(kind, start);
        }
        let body_start = (start - self.base) as usize + usize::from(h.len);
        let body_end = body_start + size as usize;
        if body_end > buf.len() {
            self.wait = Some((start, self.base + body_end as u64));
            return Ok(Progress::Blocked);
        }
        check_ebml_header(&buf[body_start..body_end]).map_err(|k| (k, start, false))?;
        self.begin_chunk(start, Vec::new(), DEFAULT_TIMECODE_SCALE);
        self.pos = start + u64::from(h.len) + size;
        Ok(Progress::Continue)
    }

    fn begin_chunk(&mut self, offset: u64, tracks: Vec<Track>, timecode_scale: u64) {
        self.chunk = Some(Build {
            info: ChunkInfo {
                offset,
                timecode_scale,
                tracks,
                ..ChunkInfo::default()
            },
            ..Build::default()
        });
        self.state = State::InChunk;
        self.stack.clear();
        self.frames.clear();
        self.durations.clear();
        self.scales.clear();
    }

    /// Inside a chunk: one element header at `pos`.
    fn element(&mut self, buf: &mut BytesMut, h: Header) -> Step {
        let start = self.pos;
        // The unknown-size rule: an element that cannot be a child of an
        // open unknown-size element ends it.
        let mut fits = false; // may_contain(top, h) was found true
        while let Some(top) = self.stack.last() {
            if top.end.is_some() {
                break;
            }
            if may_contain(top.id, h.id) {
                fits = true;
                break;
            }
            self.close_top(buf);
            if self.chunk.is_none() {
                // The Segment ended: the element belongs to what follows.
                return Ok(Progress::Continue);
            }
        }
        let Some(parent) = self.stack.last().copied() else {
            return self.level_zero(buf, h, start);
        };
        if !fits && !may_contain(parent.id, h.id) {
            if h.id == ids::EBML {
                let inside = ElementId(parent.id);
                self.finish(buf, start, false);
                self.out.push_back(Output::Error(DecodeError {
                    offset: start,
                    skipped: 0,
                    kind: DecodeErrorKind::CutByNewChunk { inside },
                }));
                return Ok(Progress::Continue);
            }
            let kind = DecodeErrorKind::UnexpectedElement {
                id: ElementId(h.id),
                parent: ElementId(parent.id),
            };
            return damage(kind, start);
        }
        if let Some(bound) = parent.bound {
            let header_end = start + u64::from(h.len);
            if header_end > bound {
                let kind = DecodeErrorKind::Overrun {
                    id: ElementId(h.id),
                    end: header_end,
                    parent: ElementId(parent.id),
                    parent_end: bound,
                };
                return damage(kind, start);
            }
        }
        let end = match h.size {
            Some(size) => {
                let end = start
                    .checked_add(u64::from(h.len))
                    .and_then(|p| p.checked_add(size))
                    .ok_or((too_large(h.id, size, u64::MAX), start, false))?;
                if let Some(bound) = parent.bound {
                    if end > bound {
                        let kind = DecodeErrorKind::Overrun {
                            id: ElementId(h.id),
                            end,
                            parent: ElementId(parent.id),
                            parent_end: bound,
                        };
                        return damage(kind, start);
                    }
                }
                // Both modes: a chunk may not grow past the limit, even
                // where nothing of it is kept (streaming, after its head).
                let offset = self.chunk.as_ref().map_or(0, |c| c.info.offset);
                if end - offset > self.limits.max_chunk_size {
                    let limit = self.limits.max_chunk_size;
                    return damage(DecodeErrorKind::ChunkTooLarge { limit }, start);
                }
                Some(end)
            }
            None if ids::is_master(h.id) && h.id != ids::BLOCK_GROUP => None,
            None => {
                return damage(
                    DecodeErrorKind::UnknownSize {
                        id: ElementId(h.id),
                    },
                    start,
                )
            }
        };
        match h.id {
            ids::INFO
            | ids::TRACKS
            | ids::TRACK_ENTRY
            | ids::VIDEO
            | ids::AUDIO
            | ids::TAGS
            | ids::TAG
            | ids::SIMPLE_TAG
            | ids::CLUSTER => self.open(buf, h, start, end),
            ids::TIMECODE_SCALE
            | ids::TRACK_NUMBER
            | ids::TRACK_UID
            | ids::TRACK_TYPE
            | ids::CODEC_ID
            | ids::CODEC_PRIVATE
            | ids::NAME
            | ids::LANGUAGE
            | ids::DEFAULT_DURATION
            | ids::PIXEL_WIDTH
            | ids::PIXEL_HEIGHT
            | ids::SAMPLING_FREQUENCY
            | ids::CHANNELS
            | ids::BIT_DEPTH
            | ids::TAG_NAME
            | ids::TAG_STRING
            | ids::TAG_BINARY
            | ids::TIMECODE
            | ids::SIMPLE_BLOCK
            | ids::BLOCK_GROUP => self.leaf(buf, h, start),
            _ if end.is_none() => self.open(buf, h, start, None),
            _ => self.skip(h, start, end),
        }
    }

    /// Inside a chunk, after the EBML header, before (or instead of) the
    /// Segment: once a chunk, so out of [`element`](Self::element)'s way.
    #[inline(never)]
    fn level_zero(&mut self, buf: &mut BytesMut, h: Header, start: u64) -> Step {
        match h.id {
            ids::SEGMENT => {
                let end = element_end(h, start)?;
                self.open(buf, h, start, end)
            }
            // Skipped as anywhere else (and kept with the chunk).
            ids::VOID | ids::CRC32 => {
                let end = element_end(h, start)?;
                let offset = self.chunk.as_ref().map_or(0, |c| c.info.offset);
                if end.is_some_and(|end| end - offset > self.limits.max_chunk_size) {
                    let limit = self.limits.max_chunk_size;
                    return damage(DecodeErrorKind::ChunkTooLarge { limit }, start);
                }
                self.skip(h, start, end)
            }
            _ => {
                self.finish(buf, start, true);
                Ok(Progress::Continue)
            }
        }
    }

    fn open(&mut self, buf: &mut BytesMut, h: Header, start: u64, end: Option<u64>) -> Step {
        if self.stack.len() >= self.limits.max_depth {
            let limit = self.limits.max_depth;
            return damage(DecodeErrorKind::TooDeep { limit }, start);
        }
        let bound = end.or_else(|| self.stack.last().and_then(|o| o.bound));
        let chunk = self
            .chunk
            .as_mut()
            .expect("open is only called inside a chunk");
        match h.id {
            ids::TRACK_ENTRY => {
                if chunk.info.tracks.len() >= self.limits.max_tracks {
                    let limit = self.limits.max_tracks;
                    return damage(DecodeErrorKind::TooManyTracks { limit }, start);
                }
                chunk.track = Some(Track::default());
                chunk.private = None;
            }
            ids::VIDEO => {
                if let Some(t) = chunk.track.as_mut() {
                    t.video.get_or_insert_with(VideoSettings::default);
                }
            }
            ids::AUDIO => {
                if let Some(t) = chunk.track.as_mut() {
                    t.audio.get_or_insert_with(AudioSettings::default);
                }
            }
            ids::SIMPLE_TAG => {
                // A nested SimpleTag: its parent's name and value come first.
                let parent_tag = chunk
                    .simple_tags
                    .last_mut()
                    .filter(|p| p.name.is_some() && !p.emitted)
                    .map(take_tag);
                chunk.simple_tags.push(SimpleTagBuild::default());
                if let Some(tag) = parent_tag {
                    self.emit_tag(tag, start)?;
                }
            }
            ids::CLUSTER => {
                chunk.cluster_timecode = None;
                if !chunk.started {
                    chunk.started = true;
                    if self.mode == Mode::Streaming {
                        self.emit_start(buf, start);
                    }
                }
            }
            _ => {}
        }
        self.stack.push(Open {
            id: h.id,
            end,
            bound,
        });
        self.pos = start + u64::from(h.len);
        Ok(Progress::Continue)
    }

    /// Streaming mode: hands out the chunk's head (everything before `upto`)
    /// as `Start`, with CodecPrivate views into it.
    fn emit_start(&mut self, buf: &mut BytesMut, upto: u64) {
        let head_len = (upto.min(self.data_end(buf)) - self.base) as usize;
        let head = buf.split_to(head_len).freeze();
        let head_base = self.base;
        self.base += head_len as u64;
        let chunk = self.chunk.as_mut().expect("inside a chunk");
        resolve_privates(chunk, &head, head_base);
        self.out
            .push_back(Output::Start(Box::new(chunk.info.clone())));
    }

    fn skip(&mut self, h: Header, start: u64, end: Option<u64>) -> Step {
        match end {
            // Even unread, a skipped element may not be larger than a chunk
            // may be: a damaged size would otherwise swallow the rest of a
            // stream in streaming mode, where nothing else bounds it.
            Some(end) if end - start > self.limits.max_chunk_size => {
                let limit = self.limits.max_chunk_size;
                return damage(too_large(h.id, end - start, limit), start);
            }
            Some(end) => self.pos = end,
            None => {
                return damage(
                    DecodeErrorKind::UnknownSize {
                        id: ElementId(h.id),
                    },
                    start,
                )
            }
        }
        Ok(Progress::Continue)
    }

    /// An element read whole: waits until all of it is in the buffer.
    fn leaf(&mut self, buf: &mut BytesMut, h: Header, start: u64) -> Step {
        let id = ElementId(h.id);
        let Some(size) = h.size else {
            return damage(DecodeErrorKind::UnknownSize { id }, start);
        };
        if size > self.limits.max_element_size {
            return damage(too_large(h.id, size, self.limits.max_element_size), start);
        }
        let body_start = start + u64::from(h.len);
        let end = body_start + size;
        if end > self.data_end(buf) {
            self.wait = Some((start, end));
            return Ok(Progress::Blocked);
        }
        let body = (body_start - self.base) as usize..(end - self.base) as usize;
        if h.id == ids::SIMPLE_BLOCK || h.id == ids::BLOCK_GROUP {
            self.block(buf, h.id, start, body)?;
            return Ok(self.skipped_to(end));
        }
        let retaining = self.retaining();
        let chunk = self
            .chunk
            .as_mut()
            .expect("leaf is only called inside a chunk");
        let payload = &buf[body.clone()];
        let uint = || ebml::read_uint(payload).map_err(|e| ((id, e).into(), start, false));
        let float = || ebml::read_float(payload).map_err(|e| ((id, e).into(), start, false));
        match h.id {
            ids::TIMECODE_SCALE => {
                let v = uint()?;
                if v == 0 {
                    let reason = "TimestampScale of 0";
                    return damage(DecodeErrorKind::InvalidValue { id, reason }, start);
                }
                chunk.info.timecode_scale = v;
            }
            ids::TIMECODE => chunk.cluster_timecode = Some(uint()?),
            ids::TAG_NAME | ids::TAG_STRING | ids::TAG_BINARY => {
                let Some(st) = chunk.simple_tags.last_mut() else {
                    return Ok(self.skipped_to(end));
                };
                match h.id {
                    ids::TAG_NAME => st.name = Some(self.arena.text(ebml::strip_nuls(payload))),
                    ids::TAG_STRING => {
                        st.value =
                            Some(TagValue::String(self.arena.text(ebml::strip_nuls(payload))))
                    }
                    _ => st.value = Some(TagValue::Binary(Bytes::copy_from_slice(payload))),
                }
                if st.name.is_some() && st.value.is_some() && !st.emitted {
                    let tag = take_tag(st);
                    self.emit_tag(tag, start)?;
                }
            }
            _ => {
                let Some(track) = chunk.track.as_mut() else {
                    return Ok(self.skipped_to(end));
                };
                match h.id {
                    ids::TRACK_NUMBER => track.number = uint()?,
                    ids::TRACK_UID => track.uid = Some(uint()?),
                    ids::TRACK_TYPE => track.track_type = Some(TrackType::from_value(uint()?)),
                    ids::CODEC_ID => track.codec_id = self.arena.text(ebml::strip_nuls(payload)),
                    ids::NAME => track.name = Some(self.arena.text(ebml::strip_nuls(payload))),
                    ids::LANGUAGE => {
                        track.language = Some(self.arena.text(ebml::strip_nuls(payload)))
                    }
                    ids::DEFAULT_DURATION => track.default_duration_ns = Some(uint()?),
                    ids::PIXEL_WIDTH => {
                        track.video.get_or_insert_with(Default::default).pixel_width = Some(uint()?)
                    }
                    ids::PIXEL_HEIGHT => {
                        track
                            .video
                            .get_or_insert_with(Default::default)
                            .pixel_height = Some(uint()?)
                    }
                    ids::SAMPLING_FREQUENCY => {
                        track
                            .audio
                            .get_or_insert_with(Default::default)
                            .sampling_frequency = Some(float()?)
                    }
                    ids::CHANNELS => {
                        track.audio.get_or_insert_with(Default::default).channels = Some(uint()?)
                    }
                    ids::BIT_DEPTH => {
                        track.audio.get_or_insert_with(Default::default).bit_depth = Some(uint()?)
                    }
                    ids::CODEC_PRIVATE => {
                        if retaining {
                            chunk.private = Some((body_start, end));
                        } else {
                            // Tracks after the first Cluster, in streaming mode:
                            // the head is gone, so this one is copied.
                            track.codec_private = Some(Bytes::copy_from_slice(payload));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(self.skipped_to(end))
    }

    fn skipped_to(&mut self, end: u64) -> Progress {
        if self.pos < end {
            self.pos = end;
        }
        Progress::Continue
    }

    fn emit_tag(
        &mut self,
        (name, value): (Text, TagValue),
        at: u64,
    ) -> Result<(), (DecodeErrorKind, u64, bool)> {
        let limit = self.limits.max_tags_per_chunk;
        let chunk = self
            .chunk
            .as_mut()
            .expect("tags are only read inside a chunk");
        if chunk.info.tags.len() >= limit {
            return damage(DecodeErrorKind::TooManyTags { limit }, at);
        }
        if let TagValue::String(s) = &value {
            chunk.info.aws.apply_text(&name, s);
            if chunk.started && name == names::CONTINUATION_TOKEN {
                chunk.token = true;
            }
        }
        let position = if chunk.started {
            TagPosition::AfterCluster
        } else {
            TagPosition::BeforeCluster
        };
        if chunk.info.tags.capacity() == 0 {
            // A GetMedia chunk has five to eight tags: one allocation.
            chunk.info.tags.reserve(8.min(limit));
        }
        chunk.info.tags.push(Tag {
            name,
            value,
            position,
        });
        Ok(())
    }

    fn close_top(&mut self, buf: &mut BytesMut) {
        let Some(open) = self.stack.pop() else { return };
        if open.id == ids::SEGMENT {
            self.finish(buf, self.pos, true);
            return;
        }
        let Some(chunk) = self.chunk.as_mut() else {
            return;
        };
        match open.id {
            ids::TRACK_ENTRY => {
                if let Some(track) = chunk.track.take() {
                    if let Some((s, e)) = chunk.private.take() {
                        chunk.privates.push((chunk.info.tracks.len(), s, e));
                    }
                    chunk.info.tracks.push(track);
                }
            }
            ids::SIMPLE_TAG => {
                if let Some(mut st) = chunk.simple_tags.pop() {
                    if !st.emitted && (st.name.is_some() || st.value.is_some()) {
                        let tag = take_tag(&mut st);
                        // The tag limit was checked for every tag so far; a
                        // failure here is reported at the element's end.
                        if let Err((kind, at, _)) = self.emit_tag(tag, self.pos) {
                            self.damaged(buf, kind, at, false);
                        }
                    }
                }
            }
            ids::CLUSTER => chunk.cluster_timecode = None,
            _ => {}
        }
    }

    /// Ends the current chunk at `end` and queues it.
    fn finish(&mut self, buf: &mut BytesMut, end: u64, complete: bool) {
        let Some(mut chunk) = self.chunk.take() else {
            return;
        };
        self.stack.clear();
        self.state = State::Top;
        // Bytes between here and `end` belong to the chunk; `pos` moves on.
        let data_end = self.data_end(buf);
        let end = end.max(chunk.info.offset);
        if self.pos < end {
            self.pos = end;
        }
        if self.mode == Mode::Streaming && !chunk.started {
            // A chunk without a Cluster: its head is its whole self.
            chunk.started = true;
            self.chunk = Some(chunk);
            self.emit_start(buf, end);
            chunk = self.chunk.take().expect("just put back");
        }
        chunk.info.length = end - chunk.info.offset;
        chunk.info.complete = complete;
        let body = match self.mode {
            Mode::Streaming => None,
            Mode::WholeChunk => {
                let take = (end.min(data_end) - self.base) as usize;
                let raw = buf.split_to(take).freeze();
                let raw_base = self.base;
                self.base += take as u64;
                resolve_privates(&mut chunk, &raw, raw_base);
                let scale = chunk.info.timecode_scale;
                let mut frames = build_frames(&raw, raw_base, &self.frames, &self.scales, scale);
                for &(i, d) in &self.durations {
                    frames[i].duration = d;
                    frames[i].track_flags |= u64::from(HAS_DURATION);
                }
                self.frames.clear();
                self.durations.clear();
                self.scales.clear();
                Some((raw, frames))
            }
        };
        self.continuation = chunk
            .token
            .then(|| (chunk.info.tracks.clone(), chunk.info.timecode_scale));
        self.out.push_back(Output::End(Box::new(chunk.info), body));
    }

    /// Damage at `at`: the chunk so far is handed out (complete only when the
    /// damage stands where it could have ended cleanly), then the decoder
    /// looks for the next EBML header, dropping the bytes it passes over.
    ///
    /// The error is reported when that header is found, with the bytes
    /// skipped; but a chunk past `max_chunk_size` (an unknown-size Cluster
    /// that never ends) may be followed by no header at all, so
    /// `ChunkTooLarge` is reported at once, with nothing skipped yet.
    fn damaged(&mut self, buf: &mut BytesMut, kind: DecodeErrorKind, at: u64, clean: bool) {
        if self.chunk.is_some() {
            let complete = clean && self.stack.iter().all(|o| o.end.is_none());
            self.finish(buf, at, complete);
        }
        self.stack.clear();
        let reported = matches!(kind, DecodeErrorKind::ChunkTooLarge { .. });
        if reported {
            self.out.push_back(Output::Error(DecodeError {
                offset: at,
                skipped: 0,
                kind: kind.clone(),
            }));
        }
        self.state = State::Resync {
            kind,
            at,
            scan: at + 1,
            reported,
        };
    }

    fn resync(&mut self, buf: &mut BytesMut) -> Progress {
        let State::Resync {
            kind,
            at,
            scan,
            reported,
        } = &mut self.state
        else {
            return Progress::Continue;
        };
        let data_end = self.base + buf.len() as u64;
        let upto = (*scan).min(data_end);
        buf.advance((upto - self.base) as usize);
        self.base = upto;
        if *scan > data_end {
            return Progress::Blocked;
        }
        match self.finder.find(buf) {
            Some(i) => {
                buf.advance(i);
                self.base += i as u64;
                self.pos = self.base;
                if !*reported {
                    let error = DecodeError {
                        offset: *at,
                        skipped: self.base - *at,
                        kind: kind.clone(),
                    };
                    self.out.push_back(Output::Error(error));
                }
                self.state = State::Top;
                Progress::Continue
            }
            None => {
                // Keep the last three bytes: the magic may straddle reads.
                let keep = buf.len().min(EBML_MAGIC.len() - 1);
                let drop = buf.len() - keep;
                buf.advance(drop);
                self.base += drop as u64;
                *scan = self.base;
                Progress::Blocked
            }
        }
    }

    /// The input ended and nothing more can be decoded.
    fn at_eof(&mut self, buf: &mut BytesMut) {
        let data_end = self.data_end(buf);
        match std::mem::replace(&mut self.state, State::Top) {
            State::Resync {
                kind, at, reported, ..
            } => {
                if !reported {
                    self.out.push_back(Output::Error(DecodeError {
                        offset: at,
                        skipped: 0,
                        kind,
                    }));
                }
            }
            State::Top => {
                if data_end > self.pos {
                    self.out.push_back(Output::Error(DecodeError {
                        offset: self.pos,
                        skipped: 0,
                        kind: DecodeErrorKind::Truncated {
                            inside: ElementId(ids::EBML),
                        },
                    }));
                } else if let Some((_, h)) = self.header_at.filter(|_| self.pos > data_end) {
                    // Cut inside a Void or CRC-32 skipped between chunks,
                    // the last header read (once: it is forgotten below).
                    self.out.push_back(Output::Error(DecodeError {
                        offset: data_end,
                        skipped: 0,
                        kind: DecodeErrorKind::Truncated {
                            inside: ElementId(h.id),
                        },
                    }));
                }
            }
            State::InChunk => {
                let clean = self.pos == data_end && self.stack.iter().all(|o| o.end.is_none());
                let inside = if self.pos < data_end {
                    let at = (self.pos - self.base) as usize;
                    element_header(&buf[at..]).ok().map(|(_, h)| h.id)
                } else {
                    None
                }
                .or_else(|| {
                    self.stack
                        .iter()
                        .rev()
                        .find(|o| o.end.is_some())
                        .map(|o| o.id)
                })
                .or_else(|| {
                    // Before the Segment: cut inside the Void or CRC-32
                    // being skipped, the last header read.
                    let cut_skip = self.stack.is_empty() && self.pos > data_end;
                    self.header_at.filter(|_| cut_skip).map(|(_, h)| h.id)
                })
                .unwrap_or(ids::SEGMENT);
                let offset = self.pos.min(data_end);
                self.finish(buf, data_end, clean);
                if !clean {
                    self.out.push_back(Output::Error(DecodeError {
                        offset,
                        skipped: 0,
                        kind: DecodeErrorKind::Truncated {
                            inside: ElementId(inside),
                        },
                    }));
                }
            }
        }
        let rest = (self.data_end(buf) - self.base) as usize;
        buf.advance(rest);
        self.base += rest as u64;
        self.pos = self.pos.max(self.base);
        self.stack.clear();
        self.chunk = None;
        // (Nor is a cut reported twice when decode_eof is called again.)
        self.header_at = None;
    }
}

impl Engine {
    /// A SimpleBlock or BlockGroup whose payload is `body` (buffer indices).
    fn block(
        &mut self,
        buf: &mut BytesMut,
        id: u32,
        start: u64,
        body: Range<usize>,
    ) -> Result<(), (DecodeErrorKind, u64, bool)> {
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
            let (block, keyframe, duration) = read_group(&buf[body.clone()]).map_err(|reason| {
                let id = ElementId(ids::BLOCK_GROUP);
                (DecodeErrorKind::InvalidValue { id, reason }, start, false)
            })?;
            (
                body.start + block.start..body.start + block.end,
                Some((keyframe, duration)),
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
            (
                DecodeErrorKind::InvalidBlock {
                    id: block_id,
                    error,
                },
                start,
                false,
            )
        })?;
        let timecode = i64::try_from(cluster_tc)
            .ok()
            .and_then(|tc| tc.checked_add(i64::from(head.timecode)))
            .ok_or((DecodeErrorKind::TimecodeOutOfRange, start, false))?;
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
            let held = self.base + block.end as u64 - chunk.info.offset + chunk.frame_cost;
            if held > self.limits.max_chunk_size {
                let limit = self.limits.max_chunk_size;
                return damage(DecodeErrorKind::ChunkTooLarge { limit }, start);
            }
            for r in ranges {
                if let Some(d) = duration {
                    self.durations.push((self.frames.len(), d));
                }
                keep_frame(
                    &mut chunk.info.stats,
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
                chunk.info.stats.add(&frame);
                self.out.push_back(Output::Frame(frame));
            }
        }
        Ok(())
    }
}

const KEYFRAME: u8 = 0x80;
const INVISIBLE: u8 = 0x08;
const DISCARDABLE: u8 = 0x01;

/// Reads a BlockGroup's children: the Block's range (relative to `group`),
/// whether it is a keyframe (no ReferenceBlock), and BlockDuration.
fn read_group(group: &[u8]) -> Result<(Range<usize>, bool, Option<u64>), &'static str> {
    let mut block = None;
    let mut duration = None;
    let mut referenced = false;
    let mut at = 0;
    while at < group.len() {
        let (_, h) = element_header(&group[at..]).map_err(|_| "malformed child element")?;
        let child_start = at + usize::from(h.len);
        let size = h.size.ok_or("child of unknown size")?;
        let child_end = usize::try_from(size)
            .ok()
            .and_then(|s| child_start.checked_add(s))
            .filter(|&e| e <= group.len())
            .ok_or("child overruns the BlockGroup")?;
        match h.id {
            ids::BLOCK if block.is_none() => block = Some(child_start..child_end),
            ids::BLOCK_DURATION => {
                duration = Some(
                    ebml::read_uint(&group[child_start..child_end])
                        .map_err(|_| "bad BlockDuration")?,
                )
            }
            ids::REFERENCE_BLOCK => referenced = true,
            _ => {}
        }
        at = child_end;
    }
    Ok((block.ok_or("no Block inside")?, !referenced, duration))
}

/// Where an element that starts at `start` ends, when its size is known.
fn element_end(h: Header, start: u64) -> Result<Option<u64>, (DecodeErrorKind, u64, bool)> {
    let Some(size) = h.size else {
        return Ok(None);
    };
    start
        .checked_add(u64::from(h.len))
        .and_then(|p| p.checked_add(size))
        .map(Some)
        .ok_or((too_large(h.id, size, u64::MAX), start, false))
}

fn too_large(id: u32, size: u64, limit: u64) -> DecodeErrorKind {
    DecodeErrorKind::ElementTooLarge {
        id: ElementId(id),
        size,
        limit,
    }
}

fn take_tag(st: &mut SimpleTagBuild) -> (Text, TagValue) {
    st.emitted = true;
    (
        st.name.take().unwrap_or_default(),
        st.value.take().unwrap_or(TagValue::None),
    )
}

/// Turns recorded CodecPrivate ranges into views of `bytes` (which starts at
/// stream offset `base`).
fn resolve_privates(chunk: &mut Build, bytes: &Bytes, base: u64) {
    for (index, s, e) in chunk.privates.drain(..) {
        if let Some(track) = chunk.info.tracks.get_mut(index) {
            if s >= base && e <= base + bytes.len() as u64 {
                track.codec_private = Some(bytes.slice((s - base) as usize..(e - base) as usize));
            }
        }
    }
}

/// Checks the EBML header's fields: a Matroska (or WebM) document whose IDs
/// and sizes fit the limits this decoder reads.
fn check_ebml_header(mut body: &[u8]) -> Result<(), DecodeErrorKind> {
    let bad = |s: &str| DecodeErrorKind::UnsupportedHeader(s.to_string());
    while !body.is_empty() {
        let (rest, h) =
            element_header(body).map_err(|_| bad("malformed element inside the EBML header"))?;
        let size = h
            .size
            .ok_or_else(|| bad("element of unknown size inside the EBML header"))?;
        let size = usize::try_from(size).map_err(|_| bad("element overruns the EBML header"))?;
        let value = rest
            .get(..size)
            .ok_or_else(|| bad("element overruns the EBML header"))?;
        match h.id {
            ids::DOC_TYPE => {
                // Compared as bytes: no String for every chunk's header.
                let doc = ebml::strip_nuls(value);
                if doc != b"matroska" && doc != b"webm" {
                    let doc = String::from_utf8_lossy(doc);
                    return Err(DecodeErrorKind::UnsupportedHeader(format!(
                        "DocType {doc:?} is neither matroska nor webm"
                    )));
                }
            }
            ids::EBML_MAX_ID_LENGTH if ebml::read_uint(value).map_or(true, |v| v > 4) => {
                return Err(bad("EBMLMaxIDLength above 4"));
            }
            ids::EBML_MAX_SIZE_LENGTH if ebml::read_uint(value).map_or(true, |v| v > 8) => {
                return Err(bad("EBMLMaxSizeLength above 8"));
            }
            ids::EBML_READ_VERSION if ebml::read_uint(value).map_or(true, |v| v > 1) => {
                return Err(bad("EBMLReadVersion above 1"));
            }
            _ => {}
        }
        body = &rest[size..];
    }
    Ok(())
}
