//! The head memo: a stream's chunks nearly always begin with the same
//! bytes. A KVS producer writes the same EBML header, Segment header,
//! Info and Tracks into every fragment; only the tags after them (the
//! fragment number, the timestamps) and the Clusters differ. The engine
//! remembers the bytes of the last chunk's head from its EBML header to
//! the end of its Tracks, and the state it had reached there (the open
//! Segment, the TimecodeScale, the tracks, where their CodecPrivates
//! are); a chunk that begins with the same bytes starts from that state
//! instead of walking some twenty elements again.
//!
//! The same bytes walked from the same state give the same result, and
//! that is all the memo relies on. A chunk's state at its EBML header is
//! always the same (`begin_chunk`: no tracks, the default scale), and
//! what the walk up to the end of Tracks reads depends only on those
//! bytes' offsets from the chunk's start (the chunk limit counts from
//! it), on the limits and on the mode, none of which change. So the memo
//! is taken only where nothing but the Segment is open and nothing was
//! read that the state kept here leaves out (no tag, no Cluster), and it
//! is replayed only at an EBML header that the header check accepted,
//! when the remembered bytes, EBML header first, are all in the buffer.
//! (A chunk that continues a Segment after a CONTINUATION_TOKEN begins
//! with the carried tracks, but at an element inside the Segment, never
//! at an EBML header: a memo taken from one never matches.) Damage ends
//! a chunk, so a head that reached the end of its Tracks was read
//! without any. A chunk whose tracks are still the memo's when it ends at
//! its CONTINUATION_TOKEN leaves a Segment that goes on the memo's tracks
//! (copied only if it does go on, which in GetMedia it never does) rather
//! than a copy of its own. The memo is off with the other fast paths
//! (`general_path_only`), so that `decoder/tests/fast_paths.rs` compares
//! the two.

use bytes::BytesMut;

use super::Engine;
use crate::matroska::ids;
use crate::matroska::walk::Open;
use crate::matroska::Track;
use crate::text::Text;

/// The most head bytes remembered: a camera's head (EBML header to the
/// end of Tracks, CodecPrivates included) is a few hundred bytes; a
/// larger one is walked each time rather than kept.
const MAX_MEMO: usize = 4096;

/// A chunk's head up to the end of its Tracks, and the state the walk
/// had reached there, its offsets counted from the chunk's start.
#[derive(Debug, Default)]
pub(super) struct HeadMemo {
    /// The bytes, from the EBML header on.
    bytes: Vec<u8>,
    /// The Segment, open (its `end` and `bound` from the chunk's start).
    segment: Option<Open>,
    timecode_scale: u64,
    pub(super) tracks: Vec<Track>,
    /// As [`Engine::privates`], from the chunk's start.
    pub(super) privates: Vec<(usize, u64, u64)>,
}

impl Engine {
    /// At a chunk's start (its EBML header accepted, `begin_chunk` done):
    /// when the remembered head is in the buffer here, byte for byte,
    /// takes up its state and goes on from its end; else nothing.
    pub(super) fn replay_head(&mut self, buf: &BytesMut) {
        let Some(chunk) = self.chunk.as_mut() else {
            return;
        };
        let memo = &self.memo;
        // (Only the fast paths take a memo: `remember_head`.)
        let Some(segment) = memo.segment else {
            return;
        };
        let offset = chunk.offset;
        let at = (offset - self.base) as usize;
        if buf.get(at..at + memo.bytes.len()) != Some(&memo.bytes[..]) {
            return;
        }
        let shift = |v: Option<u64>| v.map(|v| v + offset);
        self.stack.push(Open {
            end: shift(segment.end),
            bound: shift(segment.bound),
            ..segment
        });
        let info = chunk.info.get_mut();
        info.timecode_scale = memo.timecode_scale;
        // (`begin_chunk` gave it no tracks: cloned, not grown.)
        info.tracks = memo.tracks.clone();
        chunk.tracks_as_memo = true;
        let privates = memo.privates.iter();
        self.privates
            .extend(privates.map(|&(i, s, e)| (i, s + offset, e + offset)));
        self.pos = offset + memo.bytes.len() as u64;
        self.header_at = None;
        self.wait = None;
        #[cfg(test)]
        {
            self.memo_replays += 1;
        }
    }

    /// At an EBML header at `pos`, before it is read: whether to wait for
    /// the rest of the remembered head, because the bytes in from here are
    /// a proper beginning of it. Once they are all in, the chunk starts
    /// from the memo's state ([`replay_head`](Self::replay_head)); read now,
    /// the head would be walked element by element, part now and the rest
    /// after the next read (with reads the size of a TCP segment, one
    /// chunk in two or three). Not at end of input, and only for what the
    /// memo holds (at most [`MAX_MEMO`] bytes). Nothing is handed out
    /// from a chunk's head before its first Cluster, so the wait changes
    /// when the head is read, not what is read or handed out.
    /// (The bytes found to match at an earlier call are not compared
    /// again: with reads of a byte, a head of `n` bytes would otherwise
    /// cost `n * n / 2` compares. The bytes at a stream offset never
    /// change, nor does the memo between chunks.)
    pub(super) fn awaits_memo(&mut self, buf: &BytesMut) -> bool {
        if self.eof || self.memo.segment.is_none() {
            return false;
        }
        let have = &buf[(self.pos - self.base) as usize..];
        let memo = &self.memo.bytes;
        if have.len() >= memo.len() {
            return false;
        }
        let from = match self.memo_matched {
            (at, matched) if at == self.pos => matched.min(have.len()),
            _ => 0,
        };
        if have[from..] != memo[from..have.len()] {
            return false;
        }
        self.memo_matched = (self.pos, have.len());
        true
    }

    /// A Tracks element of known size just ended at `pos`: remembers the
    /// head up to here, when the state is one [`replay_head`] can restore
    /// (see the module doc) and differs from what is remembered.
    ///
    /// [`replay_head`]: Self::replay_head
    pub(super) fn remember_head(&mut self, buf: &BytesMut) {
        let Some(chunk) = self.chunk.as_ref() else {
            return;
        };
        let offset = chunk.offset;
        // (Only the Segment is open, so no track, CodecPrivate or SimpleTag
        // is half read; no Cluster began, so no frame, timecode or token
        // was read, and the buffer still holds the chunk from its start.)
        let [segment] = self.stack[..] else {
            return;
        };
        let clean = self.fast
            && !chunk.started
            && chunk.info.tags.is_empty()
            && self.pos - offset <= MAX_MEMO as u64;
        if !clean {
            return;
        }
        let bytes = &buf[(offset - self.base) as usize..(self.pos - self.base) as usize];
        let memo = &mut self.memo;
        // (A chunk that continues a Segment does not begin with an EBML
        // header: its head could never be replayed, so it does not take
        // the place of one that can.)
        if memo.bytes == bytes || !bytes.starts_with(&ids::EBML.to_be_bytes()) {
            return;
        }
        let back = |v: Option<u64>| v.map(|v| v - offset);
        memo.segment = Some(Open {
            end: back(segment.end),
            bound: back(segment.bound),
            ..segment
        });
        memo.bytes.clear();
        memo.bytes.extend_from_slice(bytes);
        memo.timecode_scale = chunk.info.timecode_scale;
        memo.tracks.clone_from(&chunk.info.tracks);
        // The strings in copies of their own: the tracks' strings sit in
        // the arena block of the chunk read (with its tags), which every
        // replayed chunk would otherwise keep alive, and the memo for as
        // long as the stream's head does not change.
        for t in &mut memo.tracks {
            t.codec_id = t.codec_id.compact();
            t.name = t.name.as_ref().map(Text::compact);
            t.language = t.language.as_ref().map(Text::compact);
        }
        memo.privates.clear();
        let privates = self.privates.iter();
        memo.privates
            .extend(privates.map(|&(i, s, e)| (i, s - offset, e - offset)));
        if let Some(chunk) = self.chunk.as_mut() {
            chunk.tracks_as_memo = true;
        }
    }
}
