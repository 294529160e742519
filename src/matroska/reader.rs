//! A sans-IO element reader: each element's ID, offset, header and data size
//! and depth, the start and end of every master element (unknown sizes
//! included), whatever pieces the bytes arrive in. What AWS's Java parser
//! library offers as `StreamingMkvReader`, and the ground a `dump` of the
//! element tree, a chunk splitter or a re-muxer can stand on.
//!
//! ```
//! use bytes::BytesMut;
//! use kvs_mkv::matroska::{ids, Element, ElementReader};
//!
//! let body = std::fs::read("testdata/sample.mkv").unwrap();
//! let mut reader = ElementReader::default();
//! let mut buf = BytesMut::new();
//! let (mut names, mut want_name) = (Vec::new(), false);
//! for piece in body.chunks(1000) {
//!     buf.extend_from_slice(piece); // bytes as they arrive
//!     loop {
//!         if want_name {
//!             // A leaf's payload, when asked for: a view of the buffer.
//!             let Some(name) = reader.payload(&mut buf)? else {
//!                 break; // not all in yet
//!             };
//!             names.push(name);
//!             want_name = false;
//!         }
//!         match reader.next(&mut buf)? {
//!             Some(Element::Leaf { id: ids::TAG_NAME, .. }) => want_name = true,
//!             // A master's contents can be passed over whole (other
//!             // leaves' payloads, frames too, are passed over anyway).
//!             Some(Element::Start { id: ids::CLUSTER, .. }) => reader.skip_contents(),
//!             Some(_) => {}
//!             None => break, // more bytes needed
//!         }
//!     }
//! }
//! while let Some(element) = reader.next_eof(&mut buf)? {
//!     // The last Segment has an unknown size: it ends with the input.
//!     assert!(matches!(element, Element::End { id: ids::SEGMENT, depth: 0, .. }));
//! }
//! assert_eq!(names.len(), 15); // 5 AWS tags in each of 3 chunks
//! assert_eq!(&names[0][..], b"AWS_KINESISVIDEO_FRAGMENT_NUMBER");
//! # Ok::<(), kvs_mkv::DecodeError>(())
//! ```
//!
//! # What it reports
//!
//! [`Element::Start`] and [`Element::End`] bracket every master element
//! ([`ids::is_master`]); [`Element::Leaf`] is any other element, reported as
//! soon as its header is in. Every `Start` is followed by exactly one `End`,
//! also when the input is damaged or ends early (`End` then says where the
//! reader stopped reading the element, and that it is not `complete`).
//! Depth counts the open masters
//! around an element: the EBML header and the Segment are at depth 0.
//!
//! An element of **unknown size** ends where an element appears that cannot
//! be its child ([`ids::may_contain`], the unknown-size rule), or at the end
//! of the input. Void and CRC-32 close nothing; an EBML header closes
//! everything.
//!
//! After a `Leaf`, its payload is passed over as it arrives (memory stays at
//! what the caller appends, whatever the element's size) unless the caller
//! asks for it with [`payload`](ElementReader::payload) (a `Bytes` view split
//! off the buffer, up to [`Limits::max_element_size`]) or, reading from a
//! slice, [`pending_payload`](ElementReader::pending_payload) (its range).
//! After a `Start`, [`skip_contents`](ElementReader::skip_contents) passes
//! over the master's children unreported.
//!
//! # Damage
//!
//! Damage is a [`DecodeError`] with the byte offset of the element where it
//! was found: an invalid ID or size ([`InvalidElementId`],
//! [`InvalidElementSize`]), an element that ends after its parent
//! ([`Overrun`]), an element that may not stand in its (known-size) parent
//! or at the top level ([`UnexpectedElement`]), a non-master of unknown
//! size ([`UnknownSize`]), masters nested deeper than
//! [`Limits::max_depth`] ([`TooDeep`]), a leaf larger than
//! [`Limits::max_chunk_size`], the largest element passed over unread
//! ([`ElementTooLarge`]: a damaged size would otherwise swallow the rest of
//! a stream). The open elements then end there (their `End`s come first,
//! not `complete`: invalid bytes alone end elements of unknown size
//! completely, as the unknown-size rule says), and the reader **resynchronizes at the next EBML header** (found with
//! `memchr::memmem`, at least one byte on); the error is reported when it is
//! found, with the bytes passed over in [`DecodeError::skipped`], or at the
//! end of the input (`skipped` 0). In a Kinesis Video stream every chunk
//! (fragment) begins with an EBML header, so damage costs the rest of its
//! chunk and nothing more, as in the decoders. The reader does not resume
//! at the next Cluster ID: four bytes that also occur in frame data, with
//! no Segment around them that could be checked, would give a tree that is
//! not in the input.
//!
//! An EBML header inside an element of known size ends that element early:
//! the open elements end, a [`CutByNewChunk`] error follows, and the new
//! header is read normally. Input that ends inside an element (or inside a
//! header) is [`Truncated`]; input that ends between elements of unknown
//! size is a clean end.
//!
//! [`InvalidElementId`]: DecodeErrorKind::InvalidElementId
//! [`InvalidElementSize`]: DecodeErrorKind::InvalidElementSize
//! [`Overrun`]: DecodeErrorKind::Overrun
//! [`UnexpectedElement`]: DecodeErrorKind::UnexpectedElement
//! [`UnknownSize`]: DecodeErrorKind::UnknownSize
//! [`TooDeep`]: DecodeErrorKind::TooDeep
//! [`ElementTooLarge`]: DecodeErrorKind::ElementTooLarge
//! [`CutByNewChunk`]: DecodeErrorKind::CutByNewChunk
//! [`Truncated`]: DecodeErrorKind::Truncated

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};
use memchr::memmem;

use crate::ebml::{element_header, Header};
use crate::error::{DecodeError, DecodeErrorKind, ElementId};
use crate::limits::Limits;
use crate::matroska::ids;
use crate::matroska::walk::{
    self, check_depth, check_passable, check_within, element_end, header_damage, innermost_known,
    too_large, Open, Parents,
};

/// One thing an [`ElementReader`] read. Offsets count bytes from the first
/// byte the reader was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Element {
    /// A master element began; its children follow, then its [`End`].
    ///
    /// [`End`]: Element::End
    Start {
        /// The ID as written, length marker included (e.g. `0x1F43_B675`).
        id: u32,
        /// Where its header begins.
        offset: u64,
        /// Bytes taken by its ID and size fields (2 to 12).
        header_len: u8,
        /// Its data size; `None` for the unknown size.
        size: Option<u64>,
        /// Open masters around it (0 for the EBML header and the Segment).
        depth: usize,
    },
    /// An element that is not a master. Its payload (`size` bytes after the
    /// header) is passed over unless asked for before the next call.
    Leaf {
        /// The ID as written.
        id: u32,
        /// Where its header begins.
        offset: u64,
        /// Bytes taken by its ID and size fields.
        header_len: u8,
        /// Its data size.
        size: u64,
        /// Open masters around it.
        depth: usize,
    },
    /// A master element ended.
    End {
        /// The ID of the element that ended.
        id: u32,
        /// Where it ended: its declared end; for an unknown size, where the
        /// element that cannot be its child begins (or the end of the
        /// input); after damage, where the damage was found.
        offset_end: u64,
        /// The depth of its `Start`.
        depth: usize,
        /// It ended by its size or by the unknown-size rule. `false` when
        /// damage, the end of the input or a new EBML header cut it short
        /// (and so everything around it). Invalid bytes cannot be a child:
        /// where they stand, elements of unknown size end completely, as
        /// they do before an element that cannot be their child.
        complete: bool,
    },
}

impl Element {
    /// The element's ID.
    pub fn id(&self) -> u32 {
        match *self {
            Element::Start { id, .. } | Element::Leaf { id, .. } | Element::End { id, .. } => id,
        }
    }

    /// Open masters around the element.
    pub fn depth(&self) -> usize {
        match *self {
            Element::Start { depth, .. }
            | Element::Leaf { depth, .. }
            | Element::End { depth, .. } => depth,
        }
    }

    /// The Matroska name of the element (`"Cluster"`), when the schema in
    /// [`ids`] knows its ID.
    pub fn name(&self) -> Option<&'static str> {
        ids::info(self.id()).map(|i| i.name)
    }

    /// Where the payload of a `Start` or `Leaf` begins (right after its
    /// header); `None` for an `End`.
    pub fn data_offset(&self) -> Option<u64> {
        match *self {
            Element::Start {
                offset, header_len, ..
            }
            | Element::Leaf {
                offset, header_len, ..
            } => Some(offset + u64::from(header_len)),
            Element::End { .. } => None,
        }
    }

    /// Where a `Start` or `Leaf` ends by its size (`None` for the unknown
    /// size); for an `End`, its `offset_end`.
    pub fn end(&self) -> Option<u64> {
        match *self {
            Element::Start { size, .. } => Some(self.data_offset()? + size?),
            Element::Leaf { size, .. } => Some(self.data_offset()? + size),
            Element::End { offset_end, .. } => Some(offset_end),
        }
    }
}

/// What one [`ElementReader::read`] call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Bytes at the front of the input the reader is done with. The next
    /// call's input must begin right after them.
    pub consumed: usize,
    /// The next element, or damage; `None` when more input is needed (at the
    /// end of the input: when everything has been reported).
    pub item: Option<Result<Element, DecodeError>>,
}

/// A leaf whose payload is being passed over.
#[derive(Debug, Clone, Copy)]
struct LeafAt {
    id: u32,
    offset: u64,
    /// Where its payload begins.
    data: u64,
}

#[derive(Debug, Clone)]
enum State {
    /// Expecting an element header at `pos`.
    Header,
    /// Passing over the bytes up to `end`: a leaf's payload, or the rest of
    /// a master of known size.
    Skip { end: u64, leaf: Option<LeafAt> },
    /// Ending every open element at `at` (one `End` per call), then `then`.
    /// The `End`s are complete until an element of known size is closed,
    /// when `complete`; never otherwise.
    Closing { at: u64, then: Then, complete: bool },
    /// After damage at `at`: looking for the next EBML header.
    Resync { kind: DecodeErrorKind, at: u64 },
}

#[derive(Debug, Clone)]
enum Then {
    /// Read on.
    Nothing,
    /// Report this error, then read on.
    Report(DecodeError),
    /// Look for the next EBML header, then report the damage.
    Resync(DecodeErrorKind),
}

/// Reads EBML elements from bytes fed in pieces of any size, with the
/// Matroska schema of [`ids`] for which elements are masters and where an
/// element of unknown size ends. See the [module documentation](self).
///
/// Two ways to feed it, both sans-IO:
/// - a `BytesMut` the caller appends to: [`next`](Self::next),
///   [`next_eof`](Self::next_eof), [`payload`](Self::payload); the reader
///   splits off what it is done with;
/// - slices: [`read`](Self::read) takes the input from
///   [`position`](Self::position) on and says how much of it it consumed;
///   the caller keeps or drops those bytes.
///
/// The reader allocates nothing per element: its only memory is the stack
/// of open masters (at most [`Limits::max_depth`] entries).
#[derive(Debug, Clone)]
pub struct ElementReader {
    limits: Limits,
    /// Offset of the next byte to read.
    pos: u64,
    state: State,
    stack: Vec<Open>,
    /// Masters from this depth on are passed over unreported
    /// ([`skip_contents`](Self::skip_contents) of one of unknown size):
    /// only the `End` of the master at this depth is reported.
    silent: Option<usize>,
    finder: memmem::Finder<'static>,
    /// The schema's parents of the IDs seen last.
    schema: Parents,
}

/// The most [`ElementReader::payload`] reserves ahead of the bytes that
/// have arrived (as the decoders' `RESERVE_AHEAD`).
const PAYLOAD_RESERVE: usize = 1 << 20;

impl Default for ElementReader {
    fn default() -> Self {
        ElementReader::new()
    }
}

impl ElementReader {
    /// A reader with the default [`Limits`].
    pub fn new() -> ElementReader {
        ElementReader::with_limits(Limits::default())
    }

    /// A reader with the given limits: `max_depth` (open masters),
    /// `max_chunk_size` (the largest leaf passed over) and
    /// `max_element_size` (the largest payload handed out).
    pub fn with_limits(limits: Limits) -> ElementReader {
        ElementReader {
            limits,
            pos: 0,
            state: State::Header,
            stack: Vec::new(),
            silent: None,
            finder: walk::magic_finder(),
            schema: Parents::default(),
        }
    }

    /// Offset of the next byte the reader needs: the input of the next
    /// [`read`](Self::read) begins here.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// How many master elements are open.
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// The next element from `buf`, which holds the input from
    /// [`position`](Self::position) on; what the reader is done with is
    /// split off its front. `Ok(None)`: append more bytes and call again.
    ///
    /// After an error, call again: the reader goes on at the next EBML
    /// header.
    pub fn next(&mut self, buf: &mut BytesMut) -> Result<Option<Element>, DecodeError> {
        let step = self.read(buf, false);
        buf.advance(step.consumed);
        step.item.transpose()
    }

    /// As [`next`](Self::next), when no more bytes will come: reports the
    /// ends of the open elements and a truncation. `Ok(None)` when all is
    /// reported.
    pub fn next_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Element>, DecodeError> {
        let step = self.read(buf, true);
        buf.advance(step.consumed);
        step.item.transpose()
    }

    /// Right after a [`Element::Leaf`]: its payload, split off the front of
    /// `buf` (a view of the buffer, not a copy), once all of it is in
    /// (until then `Ok(None)`, with room reserved in `buf` for the rest,
    /// 1 MiB at most: an announced size never becomes an allocation).
    /// `Ok(None)` too when no leaf's payload waits unread (see
    /// [`pending_payload`](Self::pending_payload)).
    ///
    /// A payload larger than [`Limits::max_element_size`] is an
    /// [`ElementTooLarge`](DecodeErrorKind::ElementTooLarge) error; the
    /// reader is unchanged by it and passes over the payload on the next
    /// call.
    pub fn payload(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
        let State::Skip {
            end,
            leaf: Some(leaf),
        } = self.state
        else {
            return Ok(None);
        };
        if self.pos != leaf.data {
            return Ok(None);
        }
        let size = end - leaf.data;
        if size > self.limits.max_element_size {
            return Err(DecodeError {
                offset: leaf.offset,
                skipped: 0,
                kind: too_large(leaf.id, size, self.limits.max_element_size),
            });
        }
        // (Within max_element_size: fits a usize wherever the limit does.)
        let Ok(len) = usize::try_from(size) else {
            return Ok(None);
        };
        if buf.len() < len {
            // Room for what is missing, at most PAYLOAD_RESERVE at a time:
            // the size is the input's word, and a few bytes announcing
            // max_element_size must not make the caller allocate it (the
            // decoders' rule too). What arrives beyond grows the buffer.
            buf.reserve((len - buf.len()).min(PAYLOAD_RESERVE));
            return Ok(None);
        }
        let data = buf.split_to(len).freeze();
        self.pos = end;
        self.state = State::Header;
        Ok(Some(data))
    }

    /// Right after a [`Element::Leaf`]: the offsets of its payload, while
    /// none of it has been passed over. (Reading slices, the payload is the
    /// front of the next input, once that holds it.)
    pub fn pending_payload(&self) -> Option<Range<u64>> {
        match self.state {
            State::Skip {
                end,
                leaf: Some(leaf),
            } if self.pos == leaf.data => Some(leaf.data..end),
            _ => None,
        }
    }

    /// Passes over the rest of the innermost open master (right after its
    /// `Start`: all its children) without reporting it; its `End` comes
    /// next. An element of known size is passed over unread as its bytes
    /// arrive, up to [`Limits::max_chunk_size`] (a damaged size must not
    /// hide the chunks after it); one of unknown size, or larger, is still
    /// read (its end is where an element appears that cannot be its child,
    /// or a new EBML header), only not reported. Damage inside is reported
    /// all the same. Does nothing when no master is open or after damage.
    pub fn skip_contents(&mut self) {
        let Some(top) = self.stack.len().checked_sub(1) else {
            return;
        };
        if !matches!(
            self.state,
            State::Header | State::Skip { leaf: Some(_), .. }
        ) {
            return;
        }
        match self.stack[top].end {
            Some(end) if end - self.pos <= self.limits.max_chunk_size => {
                self.state = State::Skip { end, leaf: None }
            }
            _ => self.silent = Some(self.silent.map_or(top, |d| d.min(top))),
        }
    }

    /// One step over a slice: `input` holds the bytes from
    /// [`position`](Self::position) on (`eof`: and no more will come). The
    /// reader reads on until it has something to report or needs more
    /// input, and says how many bytes of `input` it is done with.
    pub fn read(&mut self, input: &[u8], eof: bool) -> Step {
        let start = self.pos;
        let item = self.step(input, eof);
        Step {
            consumed: (self.pos - start) as usize,
            item,
        }
    }

    fn step(&mut self, input: &[u8], eof: bool) -> Option<Result<Element, DecodeError>> {
        let base = self.pos;
        let data_end = base + input.len() as u64;
        loop {
            match self.state {
                State::Header => match self.header(input, base, eof) {
                    Next::Report(item) => return Some(item),
                    Next::Wait => return None,
                    Next::Go => {}
                },
                State::Skip { end, leaf } => {
                    if end <= data_end {
                        self.pos = end;
                        self.state = State::Header;
                        continue;
                    }
                    self.pos = data_end;
                    if !eof {
                        return None;
                    }
                    let (inside, offset) = match leaf {
                        Some(leaf) => (leaf.id, leaf.offset),
                        None => (self.cut_inside(), data_end),
                    };
                    self.truncated(inside, offset);
                }
                State::Closing {
                    at,
                    ref mut complete,
                    ..
                } => {
                    if let Some(top) = self.stack.last() {
                        // Cut before its end: it and all around it.
                        *complete &= top.end.is_none();
                        let complete = *complete;
                        if let Next::Report(end) = self.close_top(at, complete) {
                            return Some(end);
                        }
                        continue;
                    }
                    self.silent = None;
                    let State::Closing { then, .. } =
                        std::mem::replace(&mut self.state, State::Header)
                    else {
                        unreachable!("matched above")
                    };
                    match then {
                        Then::Nothing => {}
                        Then::Report(e) => return Some(Err(e)),
                        Then::Resync(kind) => self.state = State::Resync { kind, at },
                    }
                }
                State::Resync { at, .. } => {
                    // At least one byte on from the damage.
                    let from = (at + 1).max(self.pos);
                    let found = if from <= data_end {
                        let hay = &input[(from - base) as usize..];
                        match self.finder.find(hay) {
                            Some(i) => Some(from + i as u64),
                            None => {
                                // The magic may straddle pieces: keep the
                                // last three bytes.
                                self.pos = from.max(data_end.saturating_sub(3));
                                None
                            }
                        }
                    } else {
                        None
                    };
                    if found.is_none() && !eof {
                        return None;
                    }
                    let State::Resync { kind, at } =
                        std::mem::replace(&mut self.state, State::Header)
                    else {
                        unreachable!("matched above")
                    };
                    let skipped = match found {
                        Some(next) => {
                            self.pos = next;
                            next - at
                        }
                        None => {
                            self.pos = data_end;
                            0
                        }
                    };
                    return Some(Err(DecodeError {
                        offset: at,
                        skipped,
                        kind,
                    }));
                }
            }
        }
    }

    /// In [`State::Header`]: reads the header at `pos`.
    fn header(&mut self, input: &[u8], base: u64, eof: bool) -> Next {
        let pos = self.pos;
        let data_end = base + input.len() as u64;
        // A master of known size ends here, and with it any of unknown
        // size inside it (their bound is its end: a Cluster of unknown
        // size, last in a Segment of known size, ends with the Segment).
        if self.stack.last().is_some_and(|top| top.ends_at(pos)) {
            return self.close_top(pos, true);
        }
        let rest = &input[(pos - base) as usize..];
        let h = match read_header(rest) {
            Read::Header(h) => h,
            Read::Incomplete => {
                if !eof {
                    return Next::Wait;
                }
                if rest.is_empty() {
                    // The input ended between elements: cleanly unless an
                    // element of known size was cut.
                    match innermost_known(&self.stack) {
                        Some(cut) => self.truncated(cut.id, pos),
                        None if self.stack.is_empty() => return Next::Wait,
                        None => {
                            self.state = State::Closing {
                                at: pos,
                                then: Then::Nothing,
                                complete: true,
                            }
                        }
                    }
                } else {
                    // Inside a header.
                    let inside = self.cut_inside();
                    self.pos = data_end;
                    self.truncated(inside, pos);
                    // A header cut by the end of an open element (not only
                    // by the end of the input) could never have fit in it:
                    // that element is read up to the header, not to its end.
                    if self
                        .stack
                        .iter()
                        .any(|o| o.end.is_some_and(|end| end <= data_end))
                    {
                        if let State::Closing { at, .. } = &mut self.state {
                            *at = pos;
                        }
                    }
                }
                return Next::Go;
            }
            Read::Invalid(kind) => return self.damage(kind),
        };
        // The unknown-size rule: an element that cannot be a child of an
        // open element of unknown size ends it.
        if self
            .stack
            .last()
            .is_some_and(|top| top.ended_by(h.id, &mut self.schema))
        {
            return self.close_top(pos, true);
        }
        let parent = self.stack.last().copied();
        match parent {
            None if !matches!(h.id, ids::EBML | ids::SEGMENT | ids::VOID | ids::CRC32) => {
                return self.damage(DecodeErrorKind::UnexpectedElement {
                    id: ElementId(h.id),
                    parent: ElementId(0),
                });
            }
            None => {}
            // (A parent of unknown size may contain it: it is still open.)
            Some(p) if p.refuses(h.id, &mut self.schema) => {
                if h.id == ids::EBML {
                    // A new document: whatever is open ends here.
                    let error = DecodeError {
                        offset: pos,
                        skipped: 0,
                        kind: DecodeErrorKind::CutByNewChunk {
                            inside: ElementId(p.id),
                        },
                    };
                    self.state = State::Closing {
                        at: pos,
                        then: Then::Report(error),
                        complete: false,
                    };
                    return Next::Go;
                }
                return self.damage(DecodeErrorKind::UnexpectedElement {
                    id: ElementId(h.id),
                    parent: ElementId(p.id),
                });
            }
            Some(_) => {}
        }
        let header_end = pos + u64::from(h.len);
        let end = match element_end(h, pos) {
            Ok(end) => end,
            Err(b) => return self.damage(b.into()),
        };
        if let Some(p) = parent {
            if let Some(bound) = p.bound {
                let reach = end.unwrap_or(header_end);
                if let Err(b) = check_within(h.id, reach, bound, p.owner) {
                    return self.damage(b.into());
                }
            }
        }
        let depth = self.stack.len();
        let silent = self.silent.is_some();
        if ids::is_master(h.id) {
            if let (true, Some(size), Some(end)) = (silent, h.size, end) {
                if size <= self.limits.max_chunk_size {
                    // Passed over unreported: no need to look inside.
                    self.pos = header_end;
                    self.state = State::Skip { end, leaf: None };
                    return Next::Go;
                }
            }
            if let Err(b) = check_depth(depth, &self.limits) {
                return self.damage(b.into());
            }
            self.stack.push(Open::new(h.id, end, parent.as_ref()));
            self.pos = header_end;
            return Next::report(
                !silent,
                Element::Start {
                    id: h.id,
                    offset: pos,
                    header_len: h.len,
                    size: h.size,
                    depth,
                },
            );
        }
        let (Some(size), Some(end)) = (h.size, end) else {
            return self.damage(DecodeErrorKind::UnknownSize {
                id: ElementId(h.id),
            });
        };
        if let Err(b) = check_passable(h.id, size, &self.limits) {
            return self.damage(b.into());
        }
        self.pos = header_end;
        self.state = State::Skip {
            end,
            leaf: Some(LeafAt {
                id: h.id,
                offset: pos,
                data: header_end,
            }),
        };
        Next::report(
            !silent,
            Element::Leaf {
                id: h.id,
                offset: pos,
                header_len: h.len,
                size,
                depth,
            },
        )
    }

    /// Damage at `pos` (the header there is not consumed): the open
    /// elements end there, then the reader looks for the next EBML header.
    /// Invalid bytes end the open elements of unknown size completely (they
    /// cannot be their child); anything else cuts them.
    fn damage(&mut self, kind: DecodeErrorKind) -> Next {
        let complete = matches!(
            kind,
            DecodeErrorKind::InvalidElementId | DecodeErrorKind::InvalidElementSize
        );
        self.state = State::Closing {
            at: self.pos,
            then: Then::Resync(kind),
            complete,
        };
        Next::Go
    }

    /// The input ended inside `inside`: the open elements end at `pos`,
    /// then a truncation at `offset` is reported.
    fn truncated(&mut self, inside: u32, offset: u64) {
        self.state = State::Closing {
            at: self.pos,
            complete: false,
            then: Then::Report(DecodeError {
                offset,
                skipped: 0,
                kind: DecodeErrorKind::Truncated {
                    inside: ElementId(inside),
                },
            }),
        };
    }

    /// The element a cut between or inside headers cuts: the innermost open
    /// element of known size, else the innermost open one, else (nothing
    /// open) an EBML header.
    fn cut_inside(&self) -> u32 {
        innermost_known(&self.stack)
            .or(self.stack.last())
            .map_or(ids::EBML, |o| o.id)
    }

    /// Ends the innermost open master at `at`; its `End`, unless it was
    /// passed over unreported.
    fn close_top(&mut self, at: u64, complete: bool) -> Next {
        let Some(open) = self.stack.pop() else {
            return Next::Go;
        };
        let depth = self.stack.len();
        let reported = match self.silent {
            Some(d) if depth > d => false,
            Some(_) => {
                self.silent = None;
                true
            }
            None => true,
        };
        let end = Element::End {
            id: open.id,
            offset_end: at,
            depth,
            complete,
        };
        Next::report(reported, end)
    }
}

/// What reading at the current state came to.
enum Next {
    /// Report this.
    Report(Result<Element, DecodeError>),
    /// More input is needed (at the end of the input: all is reported).
    Wait,
    /// The state changed: go on.
    Go,
}

impl Next {
    fn report(reported: bool, element: Element) -> Next {
        if reported {
            Next::Report(Ok(element))
        } else {
            Next::Go
        }
    }
}

enum Read {
    Header(Header),
    Incomplete,
    Invalid(DecodeErrorKind),
}

fn read_header(input: &[u8]) -> Read {
    match element_header(input) {
        Ok((_, h)) => Read::Header(h),
        Err(e) => match header_damage(e) {
            None => Read::Incomplete,
            Some(kind) => Read::Invalid(kind),
        },
    }
}
