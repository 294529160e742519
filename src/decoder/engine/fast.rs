//! The SimpleBlock fast paths: inside an open Cluster whose Timestamp is
//! known, runs of plain SimpleBlocks (no lacing, a one-byte track number)
//! are read from a seven-byte window without going through the general
//! element path. They change no result, only the cost: anything else is
//! left to the general path, which also reports every error
//! (decoder/tests/fast_paths.rs compares the two).

use bytes::{Buf, Bytes, BytesMut};

use super::frames::{note_scale, FrameRec, FRAME_COST};
use super::{Engine, Mode, Open, State};
use crate::chunk::Frame;
use crate::ebml;
use crate::matroska::block::{DISCARDABLE, INVISIBLE, KEYFRAME, LACING_MASK};
use crate::matroska::ids;

/// The most room made in the caller's buffer for bytes announced but not yet
/// in (see [`Engine::stream_block`] and [`Engine::top_level`]): what a
/// server can make the decoder allocate ahead of sending.
pub(super) const RESERVE_AHEAD: u64 = 1 << 20;

/// Room beyond what is awaited for the read that completes it (which brings
/// the start of what follows too): without it, that read would move
/// everything awaited so far. The default of [`Engine::read_room`]; a caller
/// whose reads are smaller sets its own (the client: hyper's reads).
pub(super) const ROOM_FOR_A_READ: u64 = 64 << 10;

/// Makes room in `buf` for `missing` bytes awaited, where it has none: then
/// for the read that brings the last of them too (`room`, see
/// [`ROOM_FOR_A_READ`]), at most [`RESERVE_AHEAD`]
/// in all. Left alone: a buffer with room enough (one sized by its caller is
/// never reallocated for what would fit), and one with no spare capacity
/// at all ([`is_joined`]).
pub(super) fn make_room_for(buf: &mut BytesMut, missing: u64, room: u64) {
    let spare = (buf.capacity() - buf.len()) as u64;
    if spare < missing && !is_joined(buf) {
        buf.reserve((missing + room).min(RESERVE_AHEAD) as usize);
    }
}

/// Whether `buf` has no spare capacity at all: what a caller gets who joins
/// pieces of a larger buffer with `BytesMut::unsplit` (zero-copy feeding,
/// as from a memory-mapped or already-received body). Growing it would
/// allocate and copy, and make every later `unsplit` copy too; a buffer a
/// read fills grows by doubling and has spare capacity but for moments.
pub(super) fn is_joined(buf: &BytesMut) -> bool {
    buf.capacity() == buf.len()
}

/// Streaming: the most blocks split off the buffer at once (see
/// [`Engine::stream_block`]). Their records are kept until their frames
/// are out: at most this many times 32 bytes (8 KiB, allocated once). With
/// 64 KiB reads of small frames, 128 cost a batch's setup (the general
/// path's call, the split, the scan's start) about 2.8 instructions a frame.
const MAX_BATCH: usize = 256;

/// Streaming: the complete SimpleBlocks one call found in the buffer, split
/// off it at once; their frames are handed out one per call, as views of
/// `bytes` (one split and one freeze per batch instead of per frame). The
/// batch holds nothing but bytes the caller already gave, and is empty
/// (holding no bytes) once its last frame is out.
#[derive(Debug, Default)]
pub(super) struct Batch {
    /// The bytes split off: from the buffer's start up to the last block's
    /// end.
    bytes: Bytes,
    /// The TimecodeScale of every frame in the batch.
    scale: u64,
    /// The frames, in order (reused from batch to batch); their `start`
    /// is an index into `bytes`, not a stream offset.
    recs: Vec<FrameRec>,
    /// The next record to hand out.
    next: usize,
}

/// What the SimpleBlock fast path did.
pub(super) enum Fast {
    /// Took one or more blocks; the next is not all in when `wait` says
    /// up to where it reaches.
    Took { wait: Option<u64> },
    /// The next block is not all in: nothing to do until the input reaches
    /// this offset.
    Wait(u64),
    /// Left the element at `pos` to the general path.
    No,
}

/// What a run of SimpleBlocks is read against (see
/// [`Engine::simple_blocks`] and [`Engine::stream_blocks`]): kept apart
/// from the engine so the loop works in registers.
struct Run {
    /// Stream offset of `data[0]` (streaming: 0, so that the records'
    /// `start` is an index into the batch's bytes).
    base: u64,
    cluster_tc: i64,
    max_size: u64,
    /// Bytes the chunk may still take, counted from `data[0]`, with
    /// [`FRAME_COST`] per frame kept in whole-chunk mode (none streaming:
    /// a frame handed out is not kept).
    room: u64,
}

impl Run {
    /// Records consecutive SimpleBlocks from `at` (no lacing, a one-byte
    /// track number, wholly within `data`, within the limits) and returns
    /// where the run stopped, with the end of the block there when that
    /// block would be taken but is not all in yet. `STREAM`: no cost per
    /// frame, and [`MAX_BATCH`] frames at most.
    #[inline(always)]
    fn scan<const STREAM: bool>(
        &self,
        data: &[u8],
        at: usize,
        recs: &mut Vec<FrameRec>,
    ) -> Scanned {
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
        let spare = self
            .room
            .saturating_sub(most.saturating_mul(Self::cost::<STREAM>()));
        if data.len() as u64 <= spare {
            // (A block past the data then has room when it ends within
            // `spare`: that is all the wait for it checks.)
            self.scan_with::<false, STREAM>(data, at, spare, recs)
        } else {
            self.scan_with::<true, STREAM>(data, at, self.room, recs)
        }
    }

    /// What a frame taken costs against the room.
    const fn cost<const STREAM: bool>() -> u64 {
        if STREAM {
            0
        } else {
            FRAME_COST
        }
    }

    /// The run itself. `room` bounds a block's end plus the records kept:
    /// checked per block when `ROOM`; otherwise it cannot bind within the
    /// data, and only the wait for a block past the data looks at it.
    #[inline(never)]
    fn scan_with<const ROOM: bool, const STREAM: bool>(
        &self,
        data: &[u8],
        mut at: usize,
        mut room: u64,
        recs: &mut Vec<FrameRec>,
    ) -> Scanned {
        let (base, tc) = (self.base, self.cluster_tc);
        let cost = Self::cost::<STREAM>();
        let (mut keyframes, mut bytes) = (0, 0);
        let max_body = self.max_size - 4;
        while !STREAM || recs.len() < MAX_BATCH {
            let Some(h) = block_head(data, at) else {
                break;
            };
            // At least the 4 head bytes (a shorter body does not match: the
            // general path says why), and at most the element size limit.
            if h.size.wrapping_sub(4) > max_body {
                break;
            }
            // (No overflow: a VINT size is under 2^56.)
            let end = (at + h.body) as u64 + h.size;
            if ROOM && end.saturating_add(cost) > room {
                break;
            }
            if end > data.len() as u64 {
                // Not all in: wait for it only when it would be taken.
                let waits = h.plain() && end.saturating_add(cost) <= room;
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
                room -= cost;
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
        self.track & 0x80 != 0 && self.flags & LACING_MASK == 0
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

impl Engine {
    /// The hot path of whole-chunk decoding: inside an open Cluster whose
    /// Timestamp is known, consecutive SimpleBlocks without lacing and with a
    /// one-byte track number are recorded directly. Anything else (another
    /// element, lacing, a limit or bound reached, bytes still missing) is
    /// left to the general path, which also reports every error, so this
    /// changes no result, only the cost (decoder/tests/fast_paths.rs compares
    /// the two on generated and damaged streams under random limits).
    pub(super) fn simple_blocks(&mut self, buf: &BytesMut) -> Fast {
        // (Not a SimpleBlock here, the common case once a run ended, or
        // when a chunk's Cluster holds none: nothing to set up.)
        if buf.get((self.pos - self.base) as usize) != Some(&SIMPLE_BLOCK_BYTE) {
            return Fast::No;
        }
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
            .saturating_sub(self.base - chunk.offset + chunk.frame_cost);
        let before = self.frames.len();
        let run = Run {
            base: self.base,
            cluster_tc,
            max_size: self.limits.max_element_size,
            room,
        };
        let scanned = run.scan::<false>(data, (self.pos - self.base) as usize, &mut self.frames);
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
        self.stats.add_run(
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
    /// known, the complete SimpleBlocks without lacing and with a one-byte
    /// track number are split off the buffer at once ([`Batch`]), and
    /// their frames handed out directly, one per call (never through the
    /// output queue). Anything else is left to the general path, as for
    /// [`simple_blocks`](Self::simple_blocks) (and tested the same way).
    /// The general path runs only once the batch is out, so its frames are
    /// out before anything that follows them.
    #[inline]
    pub(super) fn stream_block(&mut self, buf: &mut BytesMut) -> Option<Frame> {
        if self.batch.next >= self.batch.recs.len() {
            // (Checked here, not in the call: after each general step.)
            let (bound, cluster_tc) = self.open_cluster()?;
            if let Some((_, until)) = self.wait.filter(|&(at, _)| at == self.pos) {
                // The element here is not all in yet (a block found so
                // before, or any element the general path waits for): room
                // is made for the rest, as both did, and nothing else to do.
                let data_end = self.base + buf.len() as u64;
                if data_end < until {
                    make_room_for(buf, until - data_end, self.read_room);
                    return None;
                }
            }
            if !self.stream_blocks(buf, bound, cluster_tc) {
                return None;
            }
        }
        self.batched()
    }

    /// The next frame of the [`Batch`], if any. (Inlined into the
    /// decoder's call: the frame is built where the caller's result goes.)
    /// Needs no other check: the batch is filled only when the output
    /// queue is empty, and the general path, the only one to queue
    /// anything, runs only once the batch is out.
    #[inline(always)]
    pub(crate) fn batched(&mut self) -> Option<Frame> {
        let b = &mut self.batch;
        let &rec = b.recs.get(b.next)?;
        b.next += 1;
        let at = rec.start as usize;
        // (Not `Bytes::slice`: its empty-range branch builds the view
        // apart, to be copied once more.)
        let mut data = if b.next < b.recs.len() {
            b.bytes.clone()
        } else {
            // The last frame takes the bytes: the batch keeps none.
            std::mem::take(&mut b.bytes)
        };
        data.advance(at);
        data.truncate(rec.len);
        Some(Frame {
            data,
            track_flags: rec.track_flags,
            timecode: rec.timecode,
            timecode_scale: b.scale,
            duration: 0,
        })
    }

    /// Streaming, once the batch is out: whether the block at `pos` is still
    /// not all in, so that the general path would only make room for the
    /// rest of it (done here, as it does) and return nothing. Checked before
    /// it: when reads end inside blocks, most calls that return nothing
    /// end here, without the general path's setup. (Only in an open
    /// Cluster with nothing queued and no bytes before `pos` left to drop:
    /// then the general path does exactly this; anything else goes to it.)
    #[inline]
    pub(crate) fn still_waiting(&mut self, buf: &mut BytesMut) -> bool {
        let Some((at, until)) = self.wait else {
            return false;
        };
        let data_end = self.base + buf.len() as u64;
        if at != self.pos
            || self.pos != self.base
            || data_end >= until
            || !self.fast
            || self.mode != Mode::Streaming
            || !self.out.is_empty()
            || !matches!(self.state, State::InChunk)
            || self.batch.next < self.batch.recs.len()
            || self.open_cluster().is_none()
        {
            return false;
        }
        make_room_for(buf, until - data_end, self.read_room);
        true
    }

    /// Inside an open Cluster (with this bound and Timestamp), fills the
    /// [`Batch`] from the buffer at `pos` (true), or leaves the element
    /// there to the general path (false; when it is a block this path
    /// would take but not all in, through `wait`). The blocks are read as
    /// whole-chunk mode reads them ([`Run`]), with these differences: a
    /// block must end within the chunk limit (bytes only: nothing is kept
    /// per frame), a batch holds [`MAX_BATCH`] frames at most, and a block
    /// not all in is waited for only when it is the first (the frames
    /// before it go out first).
    #[inline(never)]
    fn stream_blocks(&mut self, buf: &mut BytesMut, bound: Option<u64>, cluster_tc: i64) -> bool {
        // Not a SimpleBlock (the Cluster's end, the next chunk): the scan
        // would take nothing; left to the general path at once.
        if buf.get((self.pos - self.base) as usize) != Some(&SIMPLE_BLOCK_BYTE) {
            return false;
        }
        let Some(chunk) = self.chunk.as_mut().filter(|c| c.started) else {
            return false;
        };
        let base = self.base;
        // In buffer indices: a block is all in when it ends within `data`
        // (up to the Cluster's end), and may end at the chunk limit at most.
        let chunk_end = chunk.offset.saturating_add(self.limits.max_chunk_size);
        let data_end = bound.map_or(buf.len() as u64, |b| {
            b.saturating_sub(base).min(buf.len() as u64)
        });
        // (The batch's bytes begin at `buf[0]`: its records' starts are
        // buffer indices.)
        let run = Run {
            base: 0,
            cluster_tc,
            max_size: self.limits.max_element_size,
            room: chunk_end.saturating_sub(base),
        };
        let recs = &mut self.batch.recs;
        recs.clear();
        recs.reserve(MAX_BATCH);
        let scanned = run.scan::<true>(&buf[..data_end as usize], (self.pos - base) as usize, recs);
        // Within the Cluster, hence `bound`: the general path would only
        // wait for it too.
        let wait = scanned
            .wait
            .filter(|&end| bound.is_none_or(|b| base + end <= b));
        let (Some(first), Some(last)) = (recs.first(), recs.last()) else {
            let Some(end) = wait else {
                return false;
            };
            self.wait = Some((self.pos, base + end));
            // Room for the rest of the block, made now, once, as a
            // length-prefixed codec does: a buffer left to grow by doubling
            // would move the bytes already in (a frame of tens of KB in
            // TCP-segment reads, several times).
            make_room_for(buf, end - buf.len() as u64, self.read_room);
            return false;
        };
        let scale = chunk.info.timecode_scale;
        let tc = (first.timecode, last.timecode);
        let frames = recs.len() as u64;
        self.stats
            .add_run(frames, scanned.keyframes, scanned.bytes, tc, scale);
        self.batch.bytes = buf.split_to(scanned.at).freeze();
        self.batch.scale = scale;
        self.batch.next = 0;
        self.base = base + scanned.at as u64;
        self.pos = self.base;
        // The block after the batch, not all in: waited for once the batch
        // is out (see `stream_block`), without reading it again.
        if let Some(end) = wait {
            self.wait = Some((self.pos, base + end));
        }
        debug_assert!(self.out.is_empty());
        true
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
}
