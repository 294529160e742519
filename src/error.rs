//! Errors. Decoding errors always carry the byte offset (from the start of
//! the input) where decoding failed.

use std::fmt;

use crate::ebml::ValueError;
use crate::matroska::block::BlockError;
use crate::matroska::ids;

/// The crate's error: a decoding error with its offset, or an I/O error from
/// an adapter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input could not be decoded at some offset.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Reading the input failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The decoding error, if this is one.
    pub fn as_decode(&self) -> Option<&DecodeError> {
        match self {
            Error::Decode(e) => Some(e),
            Error::Io(_) => None,
        }
    }
}

/// Input that could not be decoded: what, and where.
///
/// `offset` is where the problem was found. `skipped` is how many bytes from
/// there the decoder passed over before it picked up again at the next EBML
/// header (0 when the input ended first). The error is reported when that
/// header is found; except
/// [`ChunkTooLarge`](DecodeErrorKind::ChunkTooLarge), reported as soon as
/// the chunk passes the limit, before any byte is skipped (its `skipped` is
/// 0; the next chunk's offset says where decoding picked up again).
///
/// ```
/// let mut decoder = kvs_mkv::ChunkDecoder::default();
/// let mut buf = bytes::BytesMut::from(&b"garbage"[..]);
/// use tokio_util::codec::Decoder;
/// let err = decoder.decode_eof(&mut buf).unwrap_err();
/// assert_eq!(err.as_decode().unwrap().offset, 0);
/// assert!(err.to_string().contains("at byte 0"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}{}", skipped_note(*.skipped))]
pub struct DecodeError {
    /// Byte offset in the input where decoding failed.
    pub offset: u64,
    /// Bytes passed over before decoding resumed at the next EBML header
    /// (0 for `ChunkTooLarge`, reported before any were).
    pub skipped: u64,
    /// What was wrong.
    pub kind: DecodeErrorKind,
}

fn skipped_note(skipped: u64) -> String {
    if skipped == 0 {
        String::new()
    } else {
        format!(" ({skipped} bytes skipped)")
    }
}

/// Where an unexpected element stood: inside its parent, or at the top
/// level (parent 0).
fn place(parent: ElementId) -> String {
    if parent.0 == 0 {
        "at the top level".to_owned()
    } else {
        format!("inside {parent}")
    }
}

/// An element ID, displayed by name when the schema knows it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ElementId(pub u32);

impl fmt::Display for ElementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match ids::info(self.0) {
            Some(i) => write!(f, "{} (0x{:X})", i.name, self.0),
            None => write!(f, "element 0x{:X}", self.0),
        }
    }
}

impl fmt::Debug for ElementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// What kind of problem a [`DecodeError`] is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// An element ID with an invalid length marker (or a reserved value).
    #[error("invalid element ID")]
    InvalidElementId,
    /// An element size with an invalid length marker.
    #[error("invalid element size")]
    InvalidElementSize,
    /// Outside a chunk, something other than an EBML header.
    #[error("expected an EBML header, found {found}")]
    ExpectedEbmlHeader {
        /// What was found.
        found: ElementId,
    },
    /// An EBML header this crate cannot read (DocType, ID or size lengths).
    #[error("unsupported EBML header: {0}")]
    UnsupportedHeader(String),
    /// An element that may not stand where it was found.
    #[error("unexpected {id} {}", place(*.parent))]
    UnexpectedElement {
        /// The element.
        id: ElementId,
        /// Where it was found (0 for "outside any element", shown as "at the
        /// top level").
        parent: ElementId,
    },
    /// An element that must have a known size was written with the unknown size.
    #[error("{id} has unknown size, which only master elements may have")]
    UnknownSize {
        /// The element.
        id: ElementId,
    },
    /// An element larger than the limit on elements held in memory.
    #[error("{id} claims {size} bytes, over the limit of {limit}")]
    ElementTooLarge {
        /// The element.
        id: ElementId,
        /// Its claimed size.
        size: u64,
        /// [`Limits::max_element_size`](crate::Limits::max_element_size).
        limit: u64,
    },
    /// A chunk larger than the limit on chunks (for instance an
    /// unknown-size Cluster that never ends). Reported as soon as an element
    /// would take the chunk past the limit, with that element's offset, after
    /// the chunk so far; the bytes after it are dropped as they arrive, up to
    /// the next EBML header.
    #[error("chunk grows past the limit of {limit} bytes")]
    ChunkTooLarge {
        /// [`Limits::max_chunk_size`](crate::Limits::max_chunk_size).
        limit: u64,
    },
    /// A child element that ends after its parent does.
    #[error("{id} ends at byte {end}, after its parent {parent}, which ends at byte {parent_end}")]
    Overrun {
        /// The element.
        id: ElementId,
        /// Where it claims to end.
        end: u64,
        /// Its parent.
        parent: ElementId,
        /// Where the parent ends.
        parent_end: u64,
    },
    /// Master elements nested deeper than the limit.
    #[error("elements nested deeper than the limit of {limit}")]
    TooDeep {
        /// [`Limits::max_depth`](crate::Limits::max_depth).
        limit: usize,
    },
    /// More SimpleTags in a chunk than the limit.
    #[error("more than {limit} tags in one chunk")]
    TooManyTags {
        /// [`Limits::max_tags_per_chunk`](crate::Limits::max_tags_per_chunk).
        limit: usize,
    },
    /// More TrackEntries in a chunk than the limit.
    #[error("more than {limit} tracks in one chunk")]
    TooManyTracks {
        /// [`Limits::max_tracks`](crate::Limits::max_tracks).
        limit: usize,
    },
    /// A value of the wrong length for its type.
    #[error("invalid value in {id}: {reason}")]
    InvalidValue {
        /// The element.
        id: ElementId,
        /// What was wrong.
        reason: &'static str,
    },
    /// A SimpleBlock or Block that cannot be split into frames.
    #[error("invalid {id}: {error}")]
    InvalidBlock {
        /// SimpleBlock or Block.
        id: ElementId,
        /// What was wrong.
        error: BlockError,
    },
    /// A block before its Cluster's Timestamp element.
    #[error("block before the Cluster's Timestamp")]
    MissingClusterTimecode,
    /// A timecode outside the range of an `i64`.
    #[error("timecode out of range")]
    TimecodeOutOfRange,
    /// The input ended inside an element.
    #[error("input ended inside {inside}")]
    Truncated {
        /// The innermost element that was cut.
        inside: ElementId,
    },
    /// A new EBML header began before the current chunk's elements ended.
    #[error("chunk cut short by a new EBML header inside {inside}")]
    CutByNewChunk {
        /// The innermost element that was cut.
        inside: ElementId,
    },
}

impl From<(ElementId, ValueError)> for DecodeErrorKind {
    fn from((id, e): (ElementId, ValueError)) -> Self {
        let reason = match e {
            ValueError::IntegerTooLong => "integer longer than 8 bytes",
            ValueError::BadFloatLength => "float neither 4 nor 8 bytes long",
        };
        DecodeErrorKind::InvalidValue { id, reason }
    }
}
