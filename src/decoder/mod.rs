//! The decoders: [`ChunkDecoder`] hands out whole chunks, [`EventDecoder`]
//! hands out each frame as soon as its bytes are in. Both are
//! `tokio_util::codec::Decoder`s over one sans-IO engine and can be driven by
//! hand with any `BytesMut`.

mod engine;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use crate::chunk::{Chunk, ChunkInfo, Frame};
use crate::error::Error;
use crate::limits::Limits;
use engine::{Engine, Mode, Output};

/// Turns the bytes of a GetMedia or GetMediaForFragmentList body into
/// [`Chunk`]s, whatever pieces they arrive in.
///
/// A chunk is returned as soon as it is known to be complete: at its
/// `AWS_KINESISVIDEO_CONTINUATION_TOKEN` tag (GetMedia), at the next EBML
/// header, at the end of a Segment of known size, or at end of input. Each
/// complete chunk is split off the buffer once; its frames are views into it.
///
/// Errors carry the byte offset. After an error the decoder has already
/// handed out the chunk the damage was found in (marked incomplete) and
/// resynchronized at the next EBML header: keep calling `decode` to go on.
/// (A chunk past [`Limits::max_chunk_size`] is reported as soon as it passes
/// it; the decoder then drops the bytes that follow as they arrive, until the
/// next EBML header.)
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
///
/// let body = std::fs::read("testdata/sample.mkv").unwrap();
/// let mut decoder = kvs_mkv::ChunkDecoder::default();
/// let mut buf = BytesMut::new();
/// let mut chunks = Vec::new();
/// for piece in body.chunks(1000) {
///     buf.extend_from_slice(piece);
///     while let Some(chunk) = decoder.decode(&mut buf).unwrap() {
///         chunks.push(chunk);
///     }
/// }
/// while let Some(chunk) = decoder.decode_eof(&mut buf).unwrap() {
///     chunks.push(chunk);
/// }
/// assert!(chunks.iter().all(|c| c.is_complete()));
/// assert!(chunks[0].frames().len() > 0);
/// ```
pub struct ChunkDecoder {
    engine: Engine,
}

impl ChunkDecoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> ChunkDecoder {
        ChunkDecoder::with_limits(Limits::default())
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> ChunkDecoder {
        ChunkDecoder {
            engine: Engine::new(Mode::WholeChunk, limits),
        }
    }

    /// The decoder, making room past what it awaits for reads of at most
    /// `room` bytes (64 KiB by default): the client's reads are smaller,
    /// and a session's buffer need not keep room it never uses.
    #[cfg(feature = "client")]
    pub(crate) fn with_read_room(mut self, room: usize) -> ChunkDecoder {
        self.engine.set_read_room(room as u64);
        self
    }

    /// Offsets count from `offset` (see `Engine::start_at`); only before
    /// any input.
    #[cfg(feature = "client")]
    pub(crate) fn start_at(&mut self, offset: u64) {
        self.engine.start_at(offset);
    }

    /// The decoder without its fast paths: every element goes through the
    /// general path. Only for the tests that compare the two (the fast
    /// paths must change nothing but the cost; see `tests/`).
    #[cfg(test)]
    pub(crate) fn general_path_only(limits: Limits) -> ChunkDecoder {
        let mut engine = Engine::new(Mode::WholeChunk, limits);
        engine.fast = false;
        ChunkDecoder { engine }
    }

    fn next(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Chunk>, Error> {
        loop {
            return match self.engine.poll(buf, eof) {
                None => Ok(None),
                Some(Output::Chunk(info, raw, frames)) => Ok(Some(Chunk { info, frames, raw })),
                Some(Output::Error(e)) => Err(e.into()),
                // Streaming outputs never occur in whole-chunk mode.
                Some(other @ (Output::Start(_) | Output::Frame(_) | Output::End(_))) => {
                    never_here(other);
                    continue;
                }
            };
        }
    }
}

/// Drops an output the mode never makes, out of line: dropped in place,
/// it cost every `ChunkDecoder` call two or three instructions (measured).
#[cold]
#[inline(never)]
fn never_here(_: Output) {}

impl Default for ChunkDecoder {
    fn default() -> Self {
        ChunkDecoder::new()
    }
}

impl std::fmt::Debug for ChunkDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkDecoder").finish_non_exhaustive()
    }
}

impl Decoder for ChunkDecoder {
    type Item = Chunk;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Chunk>, Error> {
        self.next(buf, false)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Chunk>, Error> {
        self.next(buf, true)
    }
}

/// What an [`EventDecoder`] hands out.
///
/// `Start` and `End` share the decoder's [`ChunkInfo`] rather than copy it:
/// `Start` hands out the chunk's head without copying its tracks and tags,
/// and when the caller has dropped it by the time the chunk's later tags
/// come in (as a loop that handles each event in turn does), `End` is the
/// same `ChunkInfo`, completed. A `Start` the caller keeps still shows the
/// head as it was: the decoder then completes a copy for `End`. To own or
/// change one, use [`Arc::unwrap_or_clone`] or [`Arc::make_mut`].
///
/// ```
/// use std::sync::Arc;
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use kvs_mkv::{Event, EventDecoder};
///
/// let body = std::fs::read("testdata/sample.mkv").unwrap();
/// let mut buf = BytesMut::from(&body[..]);
/// let mut decoder = EventDecoder::default();
/// let mut kept = Vec::new();
/// while let Some(event) = decoder.decode_eof(&mut buf).unwrap() {
///     match event {
///         Event::Start(head) => kept.push(head),
///         Event::Frame(_) => {}
///         Event::End(info) => {
///             let head = kept.last().unwrap();
///             // The head kept is as it was: no stats, no length yet.
///             assert!(info.length > 0 && head.length == 0);
///             assert_eq!((head.offset, &head.tracks), (info.offset, &info.tracks));
///             let owned: kvs_mkv::ChunkInfo = Arc::unwrap_or_clone(info);
///             assert!(owned.stats.frames > 0);
///         }
///     }
/// }
/// assert_eq!(kept.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A chunk's first Cluster began (or the chunk ended without one): its
    /// offset, tracks, and the tags before the Cluster. `length`,
    /// `complete` and `stats` are not known yet.
    Start(Arc<ChunkInfo>),
    /// A frame, as soon as its block is in. Its data is a view of the input.
    Frame(Frame),
    /// The chunk ended: everything in [`ChunkInfo`], all tags included.
    End(Arc<ChunkInfo>),
}

/// Frame-level decoding for consumers that cannot wait for a fragment to end
/// (a live camera with 10 s fragments): each frame is handed out as soon as
/// its block is in, and nothing is kept after that, so memory stays at one
/// block plus the chunk's head, whatever the fragment size. (The complete
/// blocks of a read are split off the buffer together and their frames
/// handed out one per call: until the last is out, the decoder keeps what
/// the buffer held, never more.) A chunk still
/// may not grow past [`Limits::max_chunk_size`] (an unknown-size Cluster
/// that never ends is reported there, as by a [`ChunkDecoder`]).
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::Decoder;
/// use kvs_mkv::{Event, EventDecoder};
///
/// let body = std::fs::read("testdata/sample.mkv").unwrap();
/// let mut decoder = EventDecoder::default();
/// let mut buf = BytesMut::from(&body[..]);
/// let (mut starts, mut frames, mut ends) = (0, 0, 0);
/// while let Some(event) = decoder.decode_eof(&mut buf).unwrap() {
///     match event {
///         Event::Start(_) => starts += 1,
///         Event::Frame(_) => frames += 1,
///         Event::End(info) => { ends += 1; assert_eq!(info.stats.frames > 0, true); }
///     }
/// }
/// assert!(starts == ends && frames > 0);
/// ```
pub struct EventDecoder {
    engine: Engine,
}

impl EventDecoder {
    /// A decoder with the default [`Limits`].
    pub fn new() -> EventDecoder {
        EventDecoder::with_limits(Limits::default())
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> EventDecoder {
        EventDecoder {
            engine: Engine::new(Mode::Streaming, limits),
        }
    }

    /// The decoder, making room past what it awaits for reads of at most
    /// `room` bytes (64 KiB by default): the client's reads are smaller,
    /// and a session's buffer need not keep room it never uses.
    #[cfg(feature = "client")]
    pub(crate) fn with_read_room(mut self, room: usize) -> EventDecoder {
        self.engine.set_read_room(room as u64);
        self
    }

    /// Offsets count from `offset` (see `Engine::start_at`); only before
    /// any input.
    #[cfg(feature = "client")]
    pub(crate) fn start_at(&mut self, offset: u64) {
        self.engine.start_at(offset);
    }

    /// As [`ChunkDecoder::general_path_only`].
    #[cfg(test)]
    pub(crate) fn general_path_only(limits: Limits) -> EventDecoder {
        let mut engine = Engine::new(Mode::Streaming, limits);
        engine.fast = false;
        EventDecoder { engine }
    }

    /// The next frame of the blocks the engine's fast path split off goes
    /// straight out; anything else through
    /// [`next_general`](Self::next_general).
    #[inline(always)]
    fn next(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Event>, Error> {
        match self.engine.batched() {
            Some(frame) => Ok(Some(Event::Frame(frame))),
            None => self.next_general(buf, eof),
        }
    }

    /// Past the batch: nothing to hand out while the block at hand is
    /// still not all in (the common end of a read; see
    /// `Engine::still_waiting`), else the general path.
    #[inline(never)]
    fn next_general(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Event>, Error> {
        if !eof && self.engine.still_waiting(buf) {
            return Ok(None);
        }
        match self.engine.poll_general(buf, eof) {
            None => Ok(None),
            Some(Output::Start(info)) => Ok(Some(Event::Start(info))),
            Some(Output::Frame(frame)) => Ok(Some(Event::Frame(frame))),
            Some(Output::End(info)) => Ok(Some(Event::End(info))),
            // Whole-chunk outputs never occur in streaming mode.
            Some(Output::Chunk(..)) => Ok(None),
            Some(Output::Error(e)) => Err(e.into()),
        }
    }
}

impl Default for EventDecoder {
    fn default() -> Self {
        EventDecoder::new()
    }
}

impl std::fmt::Debug for EventDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDecoder").finish_non_exhaustive()
    }
}

// Inlinable into the caller (a codec loop is generic and compiled in the
// caller's crate): the next frame of a batch is then built where the caller
// reads it, without a call or a copy of the 72-byte result; everything else
// goes through the out-of-line `next_general`.
impl Decoder for EventDecoder {
    type Item = Event;
    type Error = Error;

    #[inline]
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, Error> {
        self.next(buf, false)
    }

    #[inline]
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, Error> {
        self.next(buf, true)
    }
}
