//! The chunk-assembly state machine shared by [`ChunkDecoder`] and
//! [`EventDecoder`]: bytes -> element headers -> tracks, tags, frames ->
//! chunk boundaries.
//!
//! The engine remembers where it is (`pos`, the stack of open elements), so
//! bytes already examined are never parsed again when more arrive: a call
//! costs O(1) plus the elements it completes.
//!
//! [`ChunkDecoder`]: super::ChunkDecoder
//! [`EventDecoder`]: super::EventDecoder

mod boundary;
mod fast;
mod frames;
mod memo;
mod resync;

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem;

use crate::chunk::{ChunkInfo, Frame, FrameStats, Tag, TagPosition, TagValue};
use crate::ebml::{self, element_header, Header};
use crate::error::{DecodeError, DecodeErrorKind, ElementId};
use crate::kvs::AwsTag;
use crate::limits::Limits;
use crate::matroska::header::HeaderCheck;
use crate::matroska::ids;
use crate::matroska::tags::{ReadTag, SimpleTagBuild, SimpleTagStack};
use crate::matroska::walk::{self, check_depth, check_passable, check_within, header_damage};
use crate::matroska::walk::{too_large, Broken, Open, Parents};
use crate::matroska::Track;
use crate::text::TextArena;
use fast::{Batch, Fast};
use frames::FrameRec;
use memo::HeadMemo;
use resync::{damage, Damage};

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
    /// Behind a pointer, like `End`'s, so that an `Output` is the size of a
    /// `Frame`: frames, the common case, are moved through the queue by
    /// value. Shared with the engine's `Build` (see [`Held`]).
    Start(Arc<ChunkInfo>),
    /// Streaming: a frame.
    Frame(Frame),
    /// Whole-chunk mode: the chunk ended; with its bytes and frames.
    Chunk(Box<ChunkInfo>, Bytes, Vec<Frame>),
    /// Streaming: the chunk ended.
    End(Arc<ChunkInfo>),
    /// Damaged or truncated input.
    Error(DecodeError),
}

enum Progress {
    Continue,
    Blocked,
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

/// The chunk being assembled.
#[derive(Debug)]
struct Build {
    /// On the heap from the start: handed out as it is when the chunk ends
    /// (no copy into a new allocation), and `Build` moves cheaply. Read
    /// through `Deref`, changed through [`Held::get_mut`].
    info: Held,
    /// `info.offset`, read often: here without going through [`Held`].
    offset: u64,
    /// A Cluster began (in streaming mode: `Start` was emitted).
    started: bool,
    /// A CONTINUATION_TOKEN was read after a Cluster began.
    token: bool,
    cluster_timecode: Option<u64>,
    private: Option<(u64, u64)>,
    /// Whole-chunk mode: memory kept per frame until the chunk ends, counted
    /// against `max_chunk_size` with the chunk's bytes (a laced block can
    /// turn a few bytes into hundreds of frames).
    frame_cost: u64,
    /// The tracks and `privates` are the memo's, counted from the chunk's
    /// start (see [`memo`]): it began from the memo or gave it its state,
    /// and no track was added since.
    tracks_as_memo: bool,
    /// With `tracks_as_memo`, once the CodecPrivates are views: the bytes
    /// they view (the head handed out with `Start` when streaming, the
    /// chunk's bytes when whole; empty when there is no CodecPrivate) and
    /// their stream offset, for a Segment that goes on.
    head: Option<(Bytes, u64)>,
}

/// A chunk's [`ChunkInfo`] as the engine holds it.
#[derive(Debug)]
enum Held {
    /// Whole-chunk mode: the chunk's own, handed out in its `Chunk`.
    Own(Box<ChunkInfo>),
    /// Streaming: shared with the `Start` handed out, rather than copied
    /// into it. Every change goes through [`Held::get_mut`], which (as
    /// `Arc::make_mut` does) copies it only if the caller still holds that
    /// `Start` (so that what `Start` showed stays as it was); `End` then
    /// hands out the engine's, alone.
    Shared(Arc<ChunkInfo>),
}

impl Held {
    /// A new chunk's, at `offset`, with its `timecode_scale` and `tracks`
    /// so far. Shared from the start when streaming: moving it into an
    /// `Arc` at `Start` costs more than the changes made through `get_mut`
    /// before (measured). Made as a default allocation whose three fields
    /// are then set, rather than moved into one from the stack, which
    /// copies the whole `ChunkInfo` (twice for an `Arc`): measured, 205
    /// instructions a chunk less streaming, 143 whole.
    fn new(mode: Mode, offset: u64, timecode_scale: u64, tracks: Vec<Track>) -> Held {
        let mut held = match mode {
            Mode::WholeChunk => Held::Own(Box::default()),
            Mode::Streaming => Held::Shared(Arc::default()),
        };
        let info = held.get_mut();
        info.offset = offset;
        info.timecode_scale = timecode_scale;
        info.tracks = tracks;
        held
    }

    /// The info, to change (see [`Held::Shared`]).
    #[inline(always)]
    fn get_mut(&mut self) -> &mut ChunkInfo {
        match self {
            Held::Own(info) => info,
            Held::Shared(info) => {
                // `Arc::make_mut`, with its common case inlined (measured:
                // 75 instructions a chunk less). (Not `if let` on one
                // `get_mut`: the borrow checker refuses to let the other
                // branch use `info`.)
                if Arc::get_mut(info).is_none() {
                    unshare(info);
                }
                Arc::get_mut(info).expect("unique: nothing else holds it, or a copy now")
            }
        }
    }

    /// `Start`'s: the engine's, shared (streaming only).
    fn share(&self) -> Arc<ChunkInfo> {
        match self {
            Held::Shared(info) => Arc::clone(info),
            Held::Own(info) => Arc::new(ChunkInfo::clone(info)),
        }
    }

    /// A `Chunk`'s (whole-chunk mode: its own box, moved).
    fn into_box(self) -> Box<ChunkInfo> {
        match self {
            Held::Own(info) => info,
            Held::Shared(info) => Box::new(Arc::unwrap_or_clone(info)),
        }
    }

    /// `End`'s (streaming: the engine's, shared with no one unless the
    /// caller kept the `Start` and nothing changed after it).
    fn into_arc(self) -> Arc<ChunkInfo> {
        match self {
            Held::Shared(info) => info,
            Held::Own(info) => Arc::new(*info),
        }
    }
}

/// Makes `info` the engine's alone (a copy: the caller holds the `Start`
/// that shares it, or a `Weak` of it, which `Arc::get_mut` counts too, as
/// `Arc::make_mut` does: a `Weak` upgraded later must still see the head
/// as it was; tests/attack51.rs).
#[cold]
#[inline(never)]
fn unshare(info: &mut Arc<ChunkInfo>) {
    *info = Arc::new(ChunkInfo::clone(info));
}

impl std::ops::Deref for Held {
    type Target = ChunkInfo;
    #[inline(always)]
    fn deref(&self) -> &ChunkInfo {
        match self {
            Held::Own(info) => info,
            Held::Shared(info) => info,
        }
    }
}

/// Keeps a tag read at `at` in the chunk's `info` (a chunk whose first
/// Cluster `started`; `token` is set at a CONTINUATION_TOKEN after it), or
/// the error of one tag past `limit`.
#[inline(always)]
fn push_tag(
    info: &mut ChunkInfo,
    started: bool,
    token: &mut bool,
    (name, value, aws): ReadTag,
    limit: usize,
    at: u64,
) -> Result<(), Damage> {
    if info.tags.len() >= limit {
        return damage(DecodeErrorKind::TooManyTags { limit }, at);
    }
    if let (Some(tag), TagValue::String(s)) = (aws, &value) {
        info.aws.apply_known(tag, &name, s);
        if started && tag == AwsTag::ContinuationToken {
            *token = true;
        }
    }
    let position = if started {
        TagPosition::AfterCluster
    } else {
        TagPosition::BeforeCluster
    };
    if info.tags.capacity() == 0 {
        // A GetMedia chunk has five to eight tags: one allocation (made
        // as a new vector: growing the empty one costs more).
        info.tags = Vec::with_capacity(8.min(limit));
    }
    info.tags.push(Tag {
        name,
        value,
        position,
    });
    Ok(())
}

/// The tracks a chunk that ended at its CONTINUATION_TOKEN leaves to what
/// continues its Segment, if anything does (rarely: a merged file).
#[derive(Debug)]
enum Carried {
    /// A copy of them.
    Tracks(Vec<Track>),
    /// They are the memo's, with their CodecPrivates in `bytes` (which
    /// begin at stream offset `base`), the chunk having begun at `offset`:
    /// copied only if the Segment does go on.
    Memo {
        bytes: Bytes,
        base: u64,
        offset: u64,
    },
}

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
    /// The current chunk's counts over its frames, put into its info when
    /// it ends: kept here, not in the info, which streaming shares (see
    /// [`Held`]), nor in `Build`, which moves.
    stats: FrameStats,
    /// Whole-chunk mode: frames of the current chunk (reused across chunks).
    frames: Vec<FrameRec>,
    /// Whole-chunk mode: BlockDurations of the current chunk's frames, by
    /// index into `frames`, in order.
    durations: Vec<(usize, u64)>,
    /// Whole-chunk mode: the TimecodeScale of `frames`, by first index
    /// (see [`note_scale`]).
    scales: Vec<(usize, u64)>,
    out: VecDeque<Output>,
    /// Streaming: the blocks the fast path split off at once, whose frames
    /// are not all out yet.
    batch: Batch,
    finder: memmem::Finder<'static>,
    /// Where tag and track strings are packed (no allocation per string).
    arena: TextArena,
    /// The EBML header check, which remembers the last header accepted.
    header_check: HeaderCheck,
    /// After a chunk ended at its CONTINUATION_TOKEN: its tracks and
    /// TimecodeScale, in case its Segment goes on (as in a merged file).
    continuation: Option<(Carried, u64)>,
    /// The allocation of the last `continuation` not taken up, for the
    /// next (one allocation and free less per chunk).
    spare_tracks: Vec<Track>,
    /// The schema's parents of the IDs seen last.
    schema: Parents,
    /// CodecPrivate ranges of the current chunk to turn into views once the
    /// bytes are split off: (track index, start, end). (Here, not in
    /// `Build`: its allocation is kept from chunk to chunk.)
    privates: Vec<(usize, u64, u64)>,
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
    pub(super) fast: bool,
    /// The caller said the input has ended (`decode_eof`) and the engine
    /// found itself blocked: nothing more will come, so nothing is waited
    /// for that the general path could read part of (see
    /// [`awaits_whole`](Self::awaits_whole)). It stays set: a caller that
    /// feeds more after `decode_eof` only loses the waits, which change
    /// nothing but the cost.
    eof: bool,
    /// Whole-chunk mode: the lengths of the last chunks (see
    /// [`make_room`](Self::make_room)), `recent_at` the next slot.
    recent: [u64; boundary::RECENT],
    recent_at: usize,
    /// Room made past what is awaited for the read that completes it (see
    /// [`fast::ROOM_FOR_A_READ`]).
    read_room: u64,
    /// The last chunk's head up to the end of its Tracks, and the state
    /// reached there (see [`memo`]).
    memo: HeadMemo,
    /// [`whole_tags`](Self::whole_tags)' list (kept for its allocation).
    tag_pairs: Vec<TagPair>,
    /// While [`awaits_memo`](Self::awaits_memo) waits at an EBML header:
    /// where, and how many of the bytes there were found to match the
    /// memo, so that each call compares only the bytes new since.
    memo_matched: (u64, usize),
    /// The current chunk's TrackEntry being read. (Here, not in `Build`,
    /// which is moved in and out of `chunk` at each chunk: a `Track` is
    /// most of its size.)
    track: Option<Track>,
    /// The current chunk's SimpleTags open (here for the same reason).
    simple_tags: SimpleTagStack,
    /// How many chunks began from the memo (for the tests that compare
    /// it with the general path: they must see it used).
    #[cfg(test)]
    pub(super) memo_replays: u64,
    /// How many Tags were read whole (for the tests that check the wait
    /// for one cut by the end of a read: see `awaits_whole`).
    #[cfg(test)]
    pub(super) whole_tags_read: u64,
}

type Step = Result<Progress, Damage>;

/// What [`Engine::head_fits`] found an element to be.
enum HeadFit {
    /// A master ending at this offset: to open.
    Master(u64),
    /// A leaf: to read.
    Leaf,
    /// A master of unknown size: to open.
    Unknown,
}

/// The largest Tags or SimpleTag that [`Engine::awaits_whole`] waits for
/// (a GetMedia chunk's are 100 to 300 bytes). Small, because the part
/// that is in is checked again at each call while it waits: with reads of
/// a byte, a Tags of `n` bytes costs of the order of `n * n / 50` header
/// reads, a few hundred thousand instructions at this size.
const WAIT_WHOLE: u64 = 1024;

/// The levels a Tags read whole opens below it (Tag, then SimpleTag),
/// which must be within `max_depth`, as opening each would check.
const LEVELS_IN_TAGS: usize = 2;

/// The most tags [`Engine::whole_tags`] reads in one Tags (a GetMedia
/// chunk's Tags hold two or three; more are walked element by element).
const WHOLE_TAGS: usize = 16;

/// Where a SimpleTag's TagName body (`name`), TagString (`value_at`) and
/// its body (`value`) begin, and where the SimpleTag ends: stream offsets.
#[derive(Debug, Clone, Copy)]
struct TagPair {
    name: u64,
    value_at: u64,
    value: u64,
    end: u64,
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
            stats: FrameStats::default(),
            frames: Vec::new(),
            durations: Vec::new(),
            scales: Vec::new(),
            out: VecDeque::new(),
            batch: Batch::default(),
            finder: walk::magic_finder(),
            arena: TextArena::default(),
            header_check: HeaderCheck::default(),
            continuation: None,
            spare_tracks: Vec::new(),
            schema: Parents::default(),
            privates: Vec::new(),
            header_at: None,
            wait: None,
            fast: true,
            eof: false,
            recent: [0; boundary::RECENT],
            recent_at: 0,
            read_room: fast::ROOM_FOR_A_READ,
            memo: HeadMemo::default(),
            memo_matched: (0, 0),
            tag_pairs: Vec::new(),
            track: None,
            simple_tags: SimpleTagStack::default(),
            #[cfg(test)]
            memo_replays: 0,
            #[cfg(test)]
            whole_tags_read: 0,
        }
    }

    /// Makes the offsets the engine reports (chunks' and errors') count
    /// from `offset`: the bytes of the stream that came before this
    /// engine's input (a resumed session's). Only before any input.
    #[cfg(feature = "client")]
    pub(crate) fn start_at(&mut self, offset: u64) {
        debug_assert!(self.base == self.pos && self.chunk.is_none() && self.out.is_empty());
        self.base = offset;
        self.pos = offset;
    }

    /// Sets the room made past what is awaited for the read that completes
    /// it ([`fast::ROOM_FOR_A_READ`] by default): the largest read the
    /// caller adds to the buffer at once.
    #[cfg(feature = "client")]
    pub(crate) fn set_read_room(&mut self, room: u64) {
        self.read_room = room;
    }

    /// The next output, or `None` when more input is needed (or, at `eof`,
    /// when everything has been reported).
    #[inline]
    pub(crate) fn poll(&mut self, buf: &mut BytesMut, eof: bool) -> Option<Output> {
        if !eof && self.waiting_whole(buf) {
            return None;
        }
        match self.batched() {
            Some(frame) => Some(Output::Frame(frame)),
            None => self.poll_general(buf, eof),
        }
    }

    /// Whole-chunk mode: whether the element at `pos` is still not all in
    /// (as `wait` says), with nothing queued and no bytes before the chunk
    /// to drop, so that the general path would only find itself blocked
    /// (its first steps: `advance` drops nothing, then returns at `wait`).
    /// When reads end inside blocks, most calls end so; checked here, they
    /// cost no call and none of the general path's setup.
    /// ([`still_waiting`](Self::still_waiting) is streaming's.)
    #[inline(always)]
    fn waiting_whole(&self, buf: &BytesMut) -> bool {
        let Some((at, until)) = self.wait else {
            return false;
        };
        at == self.pos
            && self.base + (buf.len() as u64) < until
            && self.mode == Mode::WholeChunk
            && self.fast
            && self.out.is_empty()
            && matches!(self.state, State::InChunk)
            && matches!(&self.chunk, Some(c) if c.offset == self.base)
    }

    /// Streaming's fast path: the frame at `pos`, or `None` when the
    /// general path must go on. A block not all in is waited for through
    /// `wait`, which advance() checks first. (The next frame of a batch
    /// already split off is taken by the caller, inlined: see
    /// [`batched`](Self::batched).)
    fn poll_frame(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        // (It makes its own checks: it only takes whole blocks inside an
        // open Cluster, which no pending state can coexist with.)
        if self.mode == Mode::Streaming && self.fast && self.out.is_empty() {
            return self.stream_block(buf);
        }
        None
    }

    /// [`poll`](Self::poll) past the next frame of a batch: the streaming
    /// fast path first, then the general path, running the fast path again
    /// after each general step.
    #[inline(never)]
    pub(crate) fn poll_general(&mut self, buf: &mut BytesMut, eof: bool) -> Option<Output> {
        loop {
            if let Some(frame) = self.poll_frame(buf) {
                return Some(Output::Frame(frame));
            }
            if let Some(out) = self.out.pop_front() {
                return Some(out);
            }
            match self.advance(buf) {
                Ok(Progress::Continue) => {}
                Ok(Progress::Blocked) => {
                    if eof {
                        if !self.eof {
                            // What is in is all there is: nothing is
                            // waited for any more (set here, not at each
                            // call: most calls end blocked by a read
                            // that ends inside a block).
                            self.eof = true;
                            continue;
                        }
                        self.at_eof(buf);
                        return self.out.pop_front();
                    }
                    return None;
                }
                Err(d) => self.damaged(buf, d),
            }
        }
    }

    fn data_end(&self, buf: &BytesMut) -> u64 {
        self.base + buf.len() as u64
    }

    /// Drops bytes that nothing will look at again.
    fn discard(&mut self, buf: &mut BytesMut) {
        let keep_from = match &self.chunk {
            Some(c) if self.mode == Mode::WholeChunk || !c.started => c.offset,
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
                if top.ends_at(self.pos) {
                    self.close_top(buf);
                    return Ok(Progress::Continue);
                }
            }
            let token_done = self.chunk.as_ref().is_some_and(|c| c.token);
            if token_done && walk::all_unknown(&self.stack) {
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
            Some((pos, h)) if pos == self.pos => h,
            _ => {
                // (The common case first: `element_header`'s result, with
                // its error type, costs twice as much to hand back.)
                let read = match ebml::header_in_full(&buf[at..]) {
                    Some(h) => Ok(h),
                    None => element_header(&buf[at..]).map(|(_, h)| h),
                };
                match read {
                    Ok(h) => {
                        self.header_at = Some((self.pos, h));
                        h
                    }
                    Err(e) => {
                        let Some(kind) = header_damage(e) else {
                            return Ok(Progress::Blocked);
                        };
                        // A bad header where an unknown-size element could
                        // end is a clean end of the chunk before it.
                        return Err(Damage::at(kind, self.pos, true));
                    }
                }
            }
        };
        if self.chunk.is_none() {
            let step = self.top_level(buf, header)?;
            // (A chunk begun: its head goes on in the same round.)
            return match step {
                Progress::Continue if self.fast && self.chunk.is_some() => self.head(buf),
                done => Ok(done),
            };
        }
        // (The head's elements after a Cluster, too: Tags of the chunk's
        // end. Not in a Cluster, whose blocks have their own fast paths.)
        // (In a Cluster, only its Timestamp: the blocks have their own
        // fast paths, and anything else may end a Cluster of unknown size.)
        let fits = match self.stack.last() {
            Some(top) if self.fast && (top.id != ids::CLUSTER || header.id == ids::TIMECODE) => {
                self.head_fits(header)
            }
            // The Tags that end a GetMedia chunk, after its Cluster of
            // unknown size, which they end (the unknown-size rule, as
            // `element` applies it: Tags are no child of a Cluster); then
            // as in the head.
            Some(top)
                if self.fast
                    && top.id == ids::CLUSTER
                    && top.end.is_none()
                    && header.id == ids::TAGS =>
            {
                self.close_top(buf);
                self.head_fits(header)
            }
            _ => None,
        };
        let step = match fits {
            Some(HeadFit::Master(end)) => self.head_master(buf, header, end),
            Some(HeadFit::Leaf) => self.leaf(buf, header, self.pos),
            Some(HeadFit::Unknown) => self.open(buf, header, self.pos, None),
            None => self.element(buf, header),
        };
        match step? {
            // (Checked here too: after the head, the general path pays
            // no call for it.)
            Progress::Continue if self.fast && self.chunk.as_ref().is_some_and(|c| !c.started) => {
                self.head(buf)
            }
            done => Ok(done),
        }
    }

    /// The chunk's head (from its EBML header to its first Cluster): the
    /// elements after one handled by [`advance`](Self::advance), walked in
    /// one loop while they are in the buffer, with only the checks that can
    /// matter there. Before the first Cluster nothing is dropped from the
    /// buffer (whole-chunk mode keeps the chunk, streaming its head), no
    /// block fast path applies (they need an open Cluster, whose opening
    /// ends the head) and no CONTINUATION_TOKEN ends the chunk (one ends it
    /// only after a Cluster): `advance` would do, round by round, what this
    /// does. At anything else (an output queued, the chunk ended or
    /// damaged, a Cluster begun, the end of the bytes in, a header less than
    /// twelve bytes from that end or invalid) it hands back to `advance`,
    /// which then decides as it always did. Off with the other fast paths (`general_path_only`), so
    /// the tests compare the two (decoder/tests/fast_paths.rs).
    fn head(&mut self, buf: &mut BytesMut) -> Step {
        let data_end = self.data_end(buf);
        loop {
            let in_head = matches!(self.state, State::InChunk)
                && self.chunk.as_ref().is_some_and(|c| !c.started)
                && self.out.is_empty();
            // (Past the bytes in: an element skipped whose end is not in
            // yet, where nothing may end before the bytes do.)
            if !in_head || self.pos > data_end {
                return Ok(Progress::Continue);
            }
            if let Some(top) = self.stack.last() {
                if top.ends_at(self.pos) {
                    self.close_top(buf);
                    continue;
                }
            }
            if self.pos >= data_end || self.wait.is_some_and(|(at, _)| at == self.pos) {
                return Ok(Progress::Continue);
            }
            let at = (self.pos - self.base) as usize;
            let Some(header) = ebml::header_in_full(&buf[at..]) else {
                return Ok(Progress::Continue);
            };
            self.header_at = Some((self.pos, header));
            let step = match self.head_fits(header) {
                Some(HeadFit::Master(end)) => self.head_master(buf, header, end),
                Some(HeadFit::Leaf) => self.leaf(buf, header, self.pos),
                Some(HeadFit::Unknown) => self.open(buf, header, self.pos, None),
                None => self.element(buf, header),
            };
            if let Progress::Blocked = step? {
                return Ok(Progress::Blocked);
            }
        }
    }

    /// [`element`](Self::element) for what a chunk's head is made of: an
    /// element of known size that the schema puts in its open parent
    /// (Info, Tracks, Tags, a Cluster in the Segment; a TrackEntry's
    /// fields; a SimpleTag's name and value; a Cluster's Timestamp ...),
    /// which ends inside its parent's bound and within the chunk size
    /// limit; or a Cluster of unknown size in the Segment, whose header
    /// ends inside its bound. There `element`'s checks all
    /// pass (the unknown-size rule ends nothing, the parent does not refuse
    /// it, no overrun, no size overflow, the chunk not too large), so it
    /// goes straight to [`open`](Self::open) or [`leaf`](Self::leaf), which
    /// make their own checks (depth, tracks, element size, a leaf not all
    /// in). Anything else, `None`: `element` decides, as it always did.
    /// (The caller calls them: a `Step` handed back in an `Option` cost
    /// more than the checks saved.)
    #[inline(always)]
    fn head_fits(&self, h: Header) -> Option<HeadFit> {
        let parent = *self.stack.last()?;
        let Some(size) = h.size else {
            // A live stream's Cluster, of unknown size, in the Segment:
            // `element` would open it once its header is found to end
            // inside the Segment's bound.
            let header_end = self.pos.checked_add(u64::from(h.len))?;
            let opens = parent.id == ids::SEGMENT
                && h.id == ids::CLUSTER
                && parent.bound.is_none_or(|bound| header_end <= bound);
            return opens.then_some(HeadFit::Unknown);
        };
        // The schema's answer, fixed per parent: `ids::info(child).parent`
        // is `parent` for each pair below (so `may_contain` holds).
        let master = match (parent.id, h.id) {
            (ids::SEGMENT, ids::INFO | ids::TRACKS | ids::TAGS | ids::CLUSTER)
            | (ids::TRACKS, ids::TRACK_ENTRY)
            | (ids::TRACK_ENTRY, ids::VIDEO | ids::AUDIO)
            | (ids::TAGS, ids::TAG)
            | (ids::TAG, ids::SIMPLE_TAG) => true,
            (ids::INFO, ids::TIMECODE_SCALE)
            | (ids::CLUSTER, ids::TIMECODE)
            | (
                ids::TRACK_ENTRY,
                ids::TRACK_NUMBER
                | ids::TRACK_UID
                | ids::TRACK_TYPE
                | ids::CODEC_ID
                | ids::CODEC_PRIVATE
                | ids::NAME
                | ids::LANGUAGE
                | ids::DEFAULT_DURATION,
            )
            | (ids::VIDEO, ids::PIXEL_WIDTH | ids::PIXEL_HEIGHT)
            | (ids::AUDIO, ids::SAMPLING_FREQUENCY | ids::CHANNELS | ids::BIT_DEPTH)
            | (ids::SIMPLE_TAG, ids::TAG_NAME | ids::TAG_STRING | ids::TAG_BINARY) => false,
            _ => return None,
        };
        let start = self.pos;
        let end = start.checked_add(u64::from(h.len))?.checked_add(size)?;
        // (The header ends before the element does: one check for both.)
        if parent.bound.is_some_and(|bound| end > bound) {
            return None;
        }
        let offset = self.chunk.as_ref()?.offset;
        if end - offset > self.limits.max_chunk_size {
            return None;
        }
        Some(if master {
            HeadFit::Master(end)
        } else {
            HeadFit::Leaf
        })
    }

    /// Inside a chunk: one element header at `pos`.
    fn element(&mut self, buf: &mut BytesMut, h: Header) -> Step {
        let start = self.pos;
        // The unknown-size rule: an element that cannot be a child of an
        // open unknown-size element ends it.
        while self
            .stack
            .last()
            .is_some_and(|top| top.ended_by(h.id, &mut self.schema))
        {
            self.close_top(buf);
            if self.chunk.is_none() {
                // The Segment ended: the element belongs to what follows.
                return Ok(Progress::Continue);
            }
        }
        let Some(parent) = self.stack.last().copied() else {
            return self.level_zero(buf, h, start);
        };
        // The Tags after a chunk's Cluster (which they end, when its size
        // is unknown): read whole where they can be, as in the head.
        if self.fast && h.id == ids::TAGS {
            if let Some(HeadFit::Master(end)) = self.head_fits(h) {
                return self.head_master(buf, h, end);
            }
        }
        // (A parent of unknown size may contain it: it is still open.)
        if parent.refuses(h.id, &mut self.schema) {
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
            check_within(h.id, header_end, bound, parent.id).map_err(broken(start))?;
        }
        let end = match element_end(h, start)? {
            Some(end) => {
                if let Some(bound) = parent.bound {
                    check_within(h.id, end, bound, parent.id).map_err(broken(start))?;
                }
                // Both modes: a chunk may not grow past the limit, even
                // where nothing of it is kept (streaming, after its head).
                let offset = self.chunk.as_ref().map_or(0, |c| c.offset);
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

    /// A master that [`head_fits`](Self::head_fits) passed, ending at
    /// `end`: Tags or a SimpleTag read whole when they can be
    /// ([`whole_tags`](Self::whole_tags),
    /// [`whole_simple_tag`](Self::whole_simple_tag)), else opened.
    #[inline(always)]
    fn head_master(&mut self, buf: &mut BytesMut, h: Header, end: u64) -> Step {
        let whole = match h.id {
            ids::TAGS => self.whole_tags(buf, h, end),
            ids::SIMPLE_TAG => self.whole_simple_tag(buf, h, end),
            _ => None,
        };
        match whole {
            Some(read) => read.map(|()| Progress::Continue),
            None if self.awaits_whole(buf, h, end) => Ok(Progress::Blocked),
            None => self.open(buf, h, self.pos, Some(end)),
        }
    }

    /// Whether the Tags or SimpleTag at `pos` (header `h`), ending at
    /// `end`, is waited for whole rather than opened: it is not all in
    /// yet, it will be read in one step once it is
    /// ([`whole_tags`](Self::whole_tags),
    /// [`whole_simple_tag`](Self::whole_simple_tag)), it is small (at most
    /// [`WAIT_WHOLE`] bytes), and the part that is in is of the form they
    /// read ([`tags_in_part`](Self::tags_in_part)). Walking that part
    /// element by element now, and the rest after the next read, would
    /// come to the same and cost more: with reads the size of a TCP
    /// segment, a chunk's Tags are often cut in two. Because the general
    /// path would find nothing to report in that part, the wait changes
    /// when the tags are read, never what is handed out or when (the
    /// tests that compare the fast paths with the general path count
    /// what comes out after every piece). Not at end of input, where what
    /// is in is all there is.
    fn awaits_whole(&mut self, buf: &BytesMut, h: Header, end: u64) -> bool {
        let levels = match h.id {
            ids::TAGS => LEVELS_IN_TAGS,
            ids::SIMPLE_TAG => 0,
            _ => return false,
        };
        if self.eof
            || end <= self.data_end(buf)
            || end - self.pos > WAIT_WHOLE
            || !self.whole_room(levels)
        {
            return false;
        }
        let Some(chunk) = self.chunk.as_ref() else {
            return false;
        };
        let body = self.pos + u64::from(h.len);
        let read = match h.id {
            ids::TAGS => self.tags_in_part(buf, body, end),
            _ => self.pair_in_part(buf, body, end).map(usize::from),
        };
        // (The tags that are in would be kept by the general path now:
        // one past the limit would be reported now.)
        read.is_some_and(|n| chunk.info.tags.len() + n <= self.limits.max_tags_per_chunk)
    }

    /// The part that is in of the Tags body from `at` to `end`, when it
    /// is of [`whole_tags`](Self::whole_tags)' form so far (its last
    /// element may be cut anywhere): how many of its tags are in whole.
    /// `None` when anything in it is not of that form.
    fn tags_in_part(&self, buf: &BytesMut, mut at: u64, end: u64) -> Option<usize> {
        let mut tags = 0;
        while at < end {
            let Some((body, tag_end)) = self.part_child(buf, ids::TAG, at, end)? else {
                return Some(tags);
            };
            let mut st = body;
            while st < tag_end {
                let Some((st_body, st_end)) = self.part_child(buf, ids::SIMPLE_TAG, st, tag_end)?
                else {
                    return Some(tags);
                };
                if tags == WHOLE_TAGS {
                    return None;
                }
                if !self.pair_in_part(buf, st_body, st_end)? {
                    return Some(tags);
                }
                tags += 1;
                st = st_end;
            }
            at = tag_end;
        }
        Some(tags)
    }

    /// The part that is in of the SimpleTag body from `at` to `end`, as
    /// [`tags_in_part`](Self::tags_in_part) sees it: `Some(true)` when it
    /// is all in and of [`tag_pair`](Self::tag_pair)'s form, `Some(false)`
    /// when it is of that form so far and cut, `None` when it is not.
    fn pair_in_part(&self, buf: &BytesMut, at: u64, end: u64) -> Option<bool> {
        let max = self.limits.max_element_size;
        let Some((name, value_at)) = self.part_child(buf, ids::TAG_NAME, at, end)? else {
            return Some(false);
        };
        if value_at - name > max {
            return None;
        }
        let Some((value, value_end)) = self.part_child(buf, ids::TAG_STRING, value_at, end)? else {
            return Some(false);
        };
        if value_end - value > max || value_end != end {
            return None;
        }
        Some(value_end <= self.data_end(buf))
    }

    /// The element at `at` when it should be an `id` of known size ending
    /// at `bound` at the latest: `Some(Some((body, end)))` when its header
    /// is in and is that, `Some(None)` when its header is not all in yet
    /// (nothing to say), `None` when it is anything else.
    fn part_child(
        &self,
        buf: &BytesMut,
        id: u32,
        at: u64,
        bound: u64,
    ) -> Option<Option<(u64, u64)>> {
        if at >= bound {
            // (No room for it: its parent ends here.)
            return None;
        }
        // (Past the bytes in: the element before it is cut.)
        let Some(bytes) = buf.get((at - self.base) as usize..) else {
            return Some(None);
        };
        let h = match ebml::header_of(bytes, id) {
            Some(h) => h,
            None if bytes.len() >= 12 => return None,
            // (Fewer than twelve bytes in: the header may still be cut.)
            None => match element_header(bytes) {
                Ok((_, h)) if h.id == id => h,
                Err(e) if header_damage(e).is_none() => return Some(None),
                _ => return None,
            },
        };
        let body = at + u64::from(h.len);
        let end = body.checked_add(h.size?)?;
        (end <= bound).then_some(Some((body, end)))
    }

    /// The common SimpleTag (what a GetMedia chunk's tags all are): a
    /// TagName then a TagString, of known sizes, filling it exactly, all in
    /// the buffer, not nested in another SimpleTag, with room for one more
    /// open element. Its tag is read and emitted as opening it, reading its
    /// two leaves and closing it would (the same reads, the tag emitted at
    /// the TagString's offset, its limits met), and `pos` moves past it.
    /// Anything else, `None`: it is opened and walked element by element.
    /// (`end`: where it ends, checked by `head_fits`.)
    fn whole_simple_tag(
        &mut self,
        buf: &BytesMut,
        h: Header,
        end: u64,
    ) -> Option<Result<(), Damage>> {
        if !self.whole_fits(buf, end, 0) {
            return None;
        }
        let pair = self.tag_pair(buf, self.pos + u64::from(h.len), end)?;
        if let Err(d) = self.emit_pairs(buf, &[pair]) {
            return Some(Err(d));
        }
        self.pos = end;
        Some(Ok(()))
    }

    /// The common Tags (what a GetMedia chunk's two Tags are): Tags >
    /// Tag > SimpleTags each of [`whole_simple_tag`]'s form, every size
    /// known and each element filling its parent exactly, all in the
    /// buffer, at most [`WHOLE_TAGS`] tags, with room for the two levels
    /// below it and a SimpleTag. Checked whole first, so that nothing is
    /// read of one that is not; then its tags are emitted in order, as
    /// opening each element, reading the leaves and closing each would
    /// (an error, such as too many tags, at the same TagString), and `pos`
    /// moves past it. Anything else, `None`: opened and walked element by
    /// element. (`end`: where it ends, checked by `head_fits`.)
    ///
    /// [`whole_simple_tag`]: Self::whole_simple_tag
    fn whole_tags(&mut self, buf: &BytesMut, h: Header, end: u64) -> Option<Result<(), Damage>> {
        if !self.whole_fits(buf, end, LEVELS_IN_TAGS) {
            return None;
        }
        // (Kept from call to call: no allocation, nothing to zero.)
        let mut pairs = std::mem::take(&mut self.tag_pairs);
        pairs.clear();
        let read = self.tag_pairs_in(buf, self.pos + u64::from(h.len), end, &mut pairs);
        let emitted = read.map(|()| {
            self.emit_pairs(buf, &pairs)?;
            #[cfg(test)]
            {
                self.whole_tags_read += 1;
            }
            self.pos = end;
            Ok(())
        });
        self.tag_pairs = pairs;
        emitted
    }

    /// What [`whole_simple_tag`](Self::whole_simple_tag) and
    /// [`whole_tags`](Self::whole_tags) need before they look inside an
    /// element ending at `end`: a chunk, the element all in the buffer, no
    /// SimpleTag open around it, and room for `levels` more open elements
    /// above a SimpleTag (as opening each would check).
    #[inline(always)]
    fn whole_fits(&mut self, buf: &BytesMut, end: u64, levels: usize) -> bool {
        end <= self.data_end(buf) && self.whole_room(levels)
    }

    /// What [`whole_fits`](Self::whole_fits) checks besides the bytes: a
    /// chunk, no SimpleTag open, room for `levels` more open elements
    /// above a SimpleTag (also what [`awaits_whole`](Self::awaits_whole)
    /// needs of what it waits for).
    #[inline(always)]
    fn whole_room(&mut self, levels: usize) -> bool {
        self.stack.len() + levels < self.limits.max_depth
            && self.chunk.is_some()
            && self.simple_tags.last_mut().is_none()
    }

    /// [`whole_tags`](Self::whole_tags)' check: the tags of the Tags body
    /// from `at` to `end`, into `pairs`, or `None`.
    fn tag_pairs_in(
        &self,
        buf: &BytesMut,
        mut at: u64,
        end: u64,
        pairs: &mut Vec<TagPair>,
    ) -> Option<()> {
        while at < end {
            let (tag_body, tag_end) = self.child_within(buf, ids::TAG, at, end)?;
            let mut st = tag_body;
            while st < tag_end {
                let (st_body, st_end) = self.child_within(buf, ids::SIMPLE_TAG, st, tag_end)?;
                if pairs.len() == WHOLE_TAGS {
                    return None;
                }
                pairs.push(self.tag_pair(buf, st_body, st_end)?);
                st = st_end;
            }
            at = tag_end;
        }
        Some(())
    }

    /// The element at `at`, all in the buffer, when it is an `id` of known
    /// size ending at `bound` at the latest: where its body begins and
    /// where it ends.
    #[inline(always)]
    fn child_within(&self, buf: &BytesMut, id: u32, at: u64, bound: u64) -> Option<(u64, u64)> {
        let h = ebml::header_of(&buf[(at - self.base) as usize..], id)?;
        let body = at + u64::from(h.len);
        let end = body.checked_add(h.size?)?;
        (end <= bound).then_some((body, end))
    }

    /// The TagName and TagString filling the SimpleTag body from `at` to
    /// `end` (both in the buffer), of sizes within `max_element_size`.
    #[inline(always)]
    fn tag_pair(&self, buf: &BytesMut, at: u64, end: u64) -> Option<TagPair> {
        let max = self.limits.max_element_size;
        let name_h = ebml::header_of(&buf[(at - self.base) as usize..], ids::TAG_NAME)?;
        let name_size = name_h.size.filter(|&n| n <= max)?;
        let name = at + u64::from(name_h.len);
        let value_at = name.checked_add(name_size)?;
        if value_at > end {
            return None;
        }
        let value_h = ebml::header_of(&buf[(value_at - self.base) as usize..], ids::TAG_STRING)?;
        let value_size = value_h.size.filter(|&n| n <= max)?;
        let value = value_at + u64::from(value_h.len);
        if value.checked_add(value_size)? != end {
            return None;
        }
        Some(TagPair {
            name,
            value_at,
            value,
            end,
        })
    }

    /// Reads and emits the tags of [`TagPair`]s (each at its TagString),
    /// with one look at the chunk's info for all of them (a streaming
    /// chunk's goes through [`Held::get_mut`]).
    #[inline(always)]
    fn emit_pairs(&mut self, buf: &BytesMut, pairs: &[TagPair]) -> Result<(), Damage> {
        let limit = self.limits.max_tags_per_chunk;
        let base = self.base;
        let chunk = self
            .chunk
            .as_mut()
            .expect("tags are only read inside a chunk");
        let info = chunk.info.get_mut();
        for p in pairs {
            let name = &buf[(p.name - base) as usize..(p.value_at - base) as usize];
            let value = &buf[(p.value - base) as usize..(p.end - base) as usize];
            let tag = SimpleTagBuild::read_pair(name, value, &mut self.arena);
            push_tag(
                info,
                chunk.started,
                &mut chunk.token,
                tag,
                limit,
                p.value_at,
            )?;
        }
        Ok(())
    }

    fn open(&mut self, buf: &mut BytesMut, h: Header, start: u64, end: Option<u64>) -> Step {
        check_depth(self.stack.len(), &self.limits).map_err(broken(start))?;
        let open = Open::new(h.id, end, self.stack.last());
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
                self.track = Some(Track::default());
                chunk.private = None;
            }
            ids::VIDEO => {
                if let Some(t) = self.track.as_mut() {
                    t.video_mut();
                }
            }
            ids::AUDIO => {
                if let Some(t) = self.track.as_mut() {
                    t.audio_mut();
                }
            }
            ids::SIMPLE_TAG => {
                // A nested SimpleTag: its parent's name and value come first.
                let parent = self.simple_tags.last_mut();
                let parent_tag = parent.and_then(SimpleTagBuild::before_child);
                self.simple_tags.push(SimpleTagBuild::default());
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
        self.stack.push(open);
        self.pos = start + u64::from(h.len);
        Ok(Progress::Continue)
    }

    fn skip(&mut self, h: Header, start: u64, end: Option<u64>) -> Step {
        match end {
            // Even unread, a skipped element may not be larger than a chunk
            // may be: a damaged size would otherwise swallow the rest of a
            // stream in streaming mode, where nothing else bounds it.
            Some(end) => {
                check_passable(h.id, end - start, &self.limits).map_err(broken(start))?;
                self.pos = end;
            }
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
        let data_end = self.data_end(buf);
        if end > data_end {
            self.wait = Some((start, end));
            if self.mode == Mode::Streaming {
                // As the fast path does (see `RESERVE_AHEAD`); whole-chunk
                // mode made room for the chunk when it began.
                fast::make_room_for(buf, end - data_end, self.read_room);
            }
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
        let value = |e| Damage::new((id, e).into(), start);
        match h.id {
            ids::TIMECODE_SCALE => {
                let v = ebml::read_uint(payload).map_err(value)?;
                if v == 0 {
                    let reason = "TimestampScale of 0";
                    return damage(DecodeErrorKind::InvalidValue { id, reason }, start);
                }
                chunk.info.get_mut().timecode_scale = v;
            }
            ids::TIMECODE => {
                chunk.cluster_timecode = Some(ebml::read_uint(payload).map_err(value)?)
            }
            ids::TAG_NAME | ids::TAG_STRING | ids::TAG_BINARY => {
                let Some(st) = self.simple_tags.last_mut() else {
                    return Ok(self.skipped_to(end));
                };
                if let Some(tag) = st.read(h.id, payload, &mut self.arena) {
                    self.emit_tag(tag, start)?;
                }
            }
            _ => {
                let Some(track) = self.track.as_mut() else {
                    return Ok(self.skipped_to(end));
                };
                match h.id {
                    ids::CODEC_PRIVATE => {
                        if retaining {
                            chunk.private = Some((body_start, end));
                        } else {
                            // Tracks after the first Cluster, in streaming mode:
                            // the head is gone, so this one is copied.
                            track.codec_private = Some(Bytes::copy_from_slice(payload));
                        }
                    }
                    _ => track
                        .read_field(h.id, payload, &mut self.arena)
                        .map_err(value)?,
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

    fn emit_tag(&mut self, tag: ReadTag, at: u64) -> Result<(), Damage> {
        let limit = self.limits.max_tags_per_chunk;
        let chunk = self
            .chunk
            .as_mut()
            .expect("tags are only read inside a chunk");
        let info = chunk.info.get_mut();
        push_tag(info, chunk.started, &mut chunk.token, tag, limit, at)
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
                if let Some(track) = self.track.take() {
                    if let Some((s, e)) = chunk.private.take() {
                        self.privates.push((chunk.info.tracks.len(), s, e));
                    }
                    chunk.info.get_mut().tracks.push(track);
                    chunk.tracks_as_memo = false;
                }
            }
            ids::SIMPLE_TAG => {
                if let Some(tag) = self.simple_tags.pop().and_then(|mut st| st.at_end()) {
                    // The tag limit was checked for every tag so far; a
                    // failure here is reported at the element's end.
                    if let Err(d) = self.emit_tag(tag, self.pos) {
                        self.damaged(buf, d);
                    }
                }
            }
            ids::CLUSTER => chunk.cluster_timecode = None,
            ids::TRACKS if open.end == Some(self.pos) => self.remember_head(buf),
            _ => {}
        }
    }
}

/// Where an element that starts at `start` ends, when its size is known
/// ([`walk::element_end`], as damage at `start`).
fn element_end(h: Header, start: u64) -> Result<Option<u64>, Damage> {
    walk::element_end(h, start).map_err(broken(start))
}

/// A walking rule broken by the element at `at`, as damage.
fn broken(at: u64) -> impl Fn(Broken) -> Damage {
    move |b| Damage::new(b.into(), at)
}
