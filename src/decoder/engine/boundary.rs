//! Where a chunk begins and ends: the EBML header between chunks (or what
//! continues a Segment after a CONTINUATION_TOKEN), the level-0 elements
//! before the Segment, and the chunk handed out when it ends (whole, or in
//! streaming mode its head as `Start` and its `End`).

use bytes::{Bytes, BytesMut};

use super::fast::is_joined;
use super::frames::build_frames;
use super::{damage, element_end, Build, Carried, Damage, Engine, Held, Mode, Output, Progress};
use super::{State, Step};
use crate::chunk::{FrameStats, HAS_DURATION};
use crate::ebml::Header;
use crate::error::{DecodeErrorKind, ElementId};
use crate::matroska::ids::{self, may_contain};
use crate::matroska::walk::Open;
use crate::matroska::Track;

/// An EBML header is a few dozen bytes; anything larger is not one.
const MAX_EBML_HEADER: u64 = 4096;
const DEFAULT_TIMECODE_SCALE: u64 = 1_000_000;
/// How many chunk lengths [`Engine::make_room`] looks back on.
pub(super) const RECENT: usize = 8;

impl Engine {
    /// Outside a chunk: only an EBML header may come (or a Void or
    /// CRC-32, skipped as anywhere else; or what continues a Segment that
    /// went on after a token).
    pub(super) fn top_level(&mut self, buf: &mut BytesMut, h: Header) -> Step {
        let start = self.pos;
        if matches!(h.id, ids::VOID | ids::CRC32) && h.size.is_some() {
            // Dropped from the buffer as it arrives (no chunk keeps it);
            // a Segment that goes on after a token still goes on after it.
            let end = element_end(h, start)?;
            return self.skip(h, start, end);
        }
        if h.id == ids::EBML && self.awaits_memo(buf) {
            return Ok(Progress::Blocked);
        }
        let continuation = self.continuation.take();
        if h.id != ids::EBML {
            match continuation {
                Some((carried, timecode_scale)) if may_contain(ids::SEGMENT, h.id) => {
                    // The Segment of a chunk that ended at its token goes
                    // on: a new chunk begins here, with the same tracks.
                    let tracks = self.carried_tracks(carried);
                    self.begin_chunk(start, tracks, timecode_scale);
                    self.stack.push(Open::new(ids::SEGMENT, None, None));
                    return Ok(Progress::Continue);
                }
                other => self.keep_spare(other),
            }
            return damage(
                DecodeErrorKind::ExpectedEbmlHeader {
                    found: ElementId(h.id),
                },
                start,
            );
        }
        self.keep_spare(continuation);
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
        self.header_check
            .check(&buf[body_start..body_end])
            .map_err(|k| Damage::new(k, start))?;
        self.begin_chunk(start, Vec::new(), DEFAULT_TIMECODE_SCALE);
        self.pos = start + u64::from(h.len) + size;
        if self.mode == Mode::WholeChunk {
            // (keep_spare let the last chunk's tracks go: they held views
            // of its bytes, which would keep its allocation from reuse.)
            self.make_room(buf, start);
        }
        self.replay_head(buf);
        Ok(Progress::Continue)
    }

    /// Whole-chunk mode, a chunk beginning at `start`: makes room in the
    /// caller's buffer for a chunk as large as the largest of the last few,
    /// plus one read, while little of it is in. A buffer left to grow by
    /// doubling moves the part of the chunk already in each time it grows,
    /// or when it wraps around its allocation in the middle of a chunk
    /// (megabytes per chunk at camera rates); here at most the bytes after
    /// the EBML header move, once. Never more than `max_chunk_size`, and
    /// only sizes of chunks that came whole: nothing announced ahead.
    fn make_room(&mut self, buf: &mut BytesMut, start: u64) {
        let expect = self.recent.iter().copied().max().unwrap_or(0);
        if expect == 0 || is_joined(buf) {
            // The first chunk (nothing known yet), or a buffer joined
            // without copying (see `is_joined`).
            return;
        }
        let expect = expect.min(self.limits.max_chunk_size) + self.read_room;
        let have = self.data_end(buf) - start;
        if expect > have {
            buf.reserve((expect - have) as usize);
        }
    }

    /// A continuation not taken up: its tracks go, their allocation stays.
    fn keep_spare(&mut self, continuation: Option<(Carried, u64)>) {
        if let Some((Carried::Tracks(mut tracks), _)) = continuation {
            tracks.clear();
            self.spare_tracks = tracks;
        }
    }

    /// The tracks a continued Segment goes on with.
    fn carried_tracks(&mut self, carried: Carried) -> Vec<Track> {
        match carried {
            Carried::Tracks(tracks) => tracks,
            Carried::Memo {
                bytes,
                base,
                offset,
            } => {
                let mut tracks = std::mem::take(&mut self.spare_tracks);
                tracks.clone_from(&self.memo.tracks);
                let privates = self.memo.privates.iter();
                let privates = privates.map(|&(i, s, e)| (i, s + offset, e + offset));
                resolve_privates(&mut tracks, privates, &bytes, base);
                tracks
            }
        }
    }

    fn begin_chunk(&mut self, offset: u64, tracks: Vec<Track>, timecode_scale: u64) {
        // (Every field named: `..Build::default()` would allocate a
        // default box for `info` only to drop it.)
        self.chunk = Some(Build {
            info: Held::new(self.mode, offset, timecode_scale, tracks),
            offset,
            started: false,
            token: false,
            cluster_timecode: None,
            private: None,
            frame_cost: 0,
            tracks_as_memo: false,
            head: None,
        });
        self.state = State::InChunk;
        // (A chunk dropped by a resynchronization left its counts here.)
        self.stats = FrameStats::default();
        self.track = None;
        self.simple_tags.clear();
        self.stack.clear();
        self.privates.clear();
        self.frames.clear();
        self.durations.clear();
        self.scales.clear();
    }
    /// Inside a chunk, after the EBML header, before (or instead of) the
    /// Segment: once a chunk, so out of [`element`](Self::element)'s way.
    #[inline(never)]
    pub(super) fn level_zero(&mut self, buf: &mut BytesMut, h: Header, start: u64) -> Step {
        match h.id {
            ids::SEGMENT => {
                let end = element_end(h, start)?;
                self.open(buf, h, start, end)
            }
            // Skipped as anywhere else (and kept with the chunk).
            ids::VOID | ids::CRC32 => {
                let end = element_end(h, start)?;
                let offset = self.chunk.as_ref().map_or(0, |c| c.offset);
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
    /// Streaming mode: hands out the chunk's head (everything before `upto`)
    /// as `Start`, with CodecPrivate views into it.
    pub(super) fn emit_start(&mut self, buf: &mut BytesMut, upto: u64) {
        let head_len = (upto.min(self.data_end(buf)) - self.base) as usize;
        let head = buf.split_to(head_len).freeze();
        let head_base = self.base;
        self.base += head_len as u64;
        let chunk = self.chunk.as_mut().expect("inside a chunk");
        let privates = self.privates.drain(..);
        let info = chunk.info.get_mut();
        resolve_privates(&mut info.tracks, privates, &head, head_base);
        if chunk.tracks_as_memo {
            chunk.head = Some((views_for(&self.memo.privates, &head), head_base));
        }
        // Shared, not copied: see `Held`.
        self.out.push_back(Output::Start(chunk.info.share()));
    }

    /// Ends the current chunk at `end` and queues it.
    pub(super) fn finish(&mut self, buf: &mut BytesMut, end: u64, complete: bool) {
        let Some(mut chunk) = self.chunk.take() else {
            return;
        };
        self.stack.clear();
        self.state = State::Top;
        // Bytes between here and `end` belong to the chunk; `pos` moves on.
        let data_end = self.data_end(buf);
        let end = end.max(chunk.offset);
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
        let info = chunk.info.get_mut();
        info.length = end - info.offset;
        if self.mode == Mode::WholeChunk {
            self.recent[self.recent_at % RECENT] = info.length;
            self.recent_at = self.recent_at.wrapping_add(1);
        }
        info.complete = complete;
        info.stats = self.stats;
        let body = match self.mode {
            Mode::Streaming => None,
            Mode::WholeChunk => {
                let take = (end.min(data_end) - self.base) as usize;
                let raw = buf.split_to(take).freeze();
                let raw_base = self.base;
                self.base += take as u64;
                let privates = self.privates.drain(..);
                resolve_privates(&mut info.tracks, privates, &raw, raw_base);
                if chunk.tracks_as_memo {
                    chunk.head = Some((views_for(&self.memo.privates, &raw), raw_base));
                }
                let scale = info.timecode_scale;
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
        // (Tracks that are the memo's are copied only if the Segment goes
        // on, from the memo. Streaming keeps the head at `Start`: a track
        // read after it, past the first Cluster, makes the tracks the
        // chunk's own again.)
        let carried = match chunk.head.take() {
            Some((bytes, base)) if chunk.token && chunk.tracks_as_memo => Some(Carried::Memo {
                bytes,
                base,
                offset: chunk.offset,
            }),
            _ if chunk.token => {
                let mut tracks = std::mem::take(&mut self.spare_tracks);
                tracks.clone_from(&chunk.info.tracks);
                Some(Carried::Tracks(tracks))
            }
            _ => None,
        };
        self.continuation = carried.map(|c| (c, chunk.info.timecode_scale));
        self.out.push_back(match body {
            Some((raw, frames)) => Output::Chunk(chunk.info.into_box(), raw, frames),
            None => Output::End(chunk.info.into_arc()),
        });
    }
}

/// What a chunk whose tracks are the memo's keeps of `bytes` for a
/// Segment that may go on: them, when the memo's tracks have CodecPrivates
/// to view in them (as a copy of the tracks would, through its views);
/// else nothing, rather than keep the chunk's bytes (frames and all) alive
/// for no view at all.
fn views_for(privates: &[(usize, u64, u64)], bytes: &Bytes) -> Bytes {
    if privates.is_empty() {
        Bytes::new()
    } else {
        bytes.clone()
    }
}

/// Turns recorded CodecPrivate ranges into views of `bytes` (which starts at
/// stream offset `base`).
fn resolve_privates(
    tracks: &mut [Track],
    privates: impl Iterator<Item = (usize, u64, u64)>,
    bytes: &Bytes,
    base: u64,
) {
    for (index, s, e) in privates {
        if let Some(track) = tracks.get_mut(index) {
            if s >= base && e <= base + bytes.len() as u64 {
                track.codec_private = Some(bytes.slice((s - base) as usize..(e - base) as usize));
            }
        }
    }
}
