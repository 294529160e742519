//! The rules of walking EBML elements, written once for the two walkers:
//! the decoders' chunk engine (`decoder::engine`) and the public
//! [`ElementReader`](super::ElementReader).
//!
//! - what a bad element header is ([`header_damage`]);
//! - where an element ends, and a size that overflows ([`element_end`]);
//! - an element larger than a limit ([`too_large`], [`check_passable`]);
//! - the open masters: each with the bound it inherits from its nearest
//!   ancestor of known size ([`Open`]), how deep they may nest
//!   ([`check_depth`]), an element that ends after its bound
//!   ([`check_within`]);
//! - the unknown-size rule: which open element an element ends
//!   ([`Open::ended_by`]) or may not stand in ([`Open::refuses`]), with
//!   [`ids::may_contain`];
//! - the EBML magic that resynchronization looks for ([`magic_finder`]).
//!
//! What the walkers do with these stays with each, and differs on purpose:
//! the engine reads the elements it needs whole and names the parent in an
//! `Overrun`, the reader names the ancestor whose size bounds the element;
//! the engine ends a chunk (and reports damage) where the reader ends
//! elements one by one.
//!
//! Every function here is small and inlined: the engine's per-element path
//! costs what it did when it had its own copies.

use memchr::memmem;

use crate::ebml::{Header, HeaderError};
use crate::error::{DecodeErrorKind, ElementId};
use crate::limits::Limits;
use crate::matroska::ids;

/// The four bytes that begin every EBML header (and every KVS chunk).
pub(crate) const EBML_MAGIC: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA3];

/// A searcher for [`EBML_MAGIC`], where resynchronization looks for the
/// next chunk.
pub(crate) fn magic_finder() -> memmem::Finder<'static> {
    memmem::Finder::new(&EBML_MAGIC).into_owned()
}

/// What a header that could not be read is: damage (an invalid ID or
/// size), or `None` when not all of it is in yet.
#[inline(always)]
pub(crate) fn header_damage(e: HeaderError) -> Option<DecodeErrorKind> {
    match e {
        HeaderError::Incomplete { .. } => None,
        HeaderError::InvalidId => Some(DecodeErrorKind::InvalidElementId),
        _ => Some(DecodeErrorKind::InvalidElementSize),
    }
}

/// A rule broken, as small as it can be: the checks below return it on
/// their hot paths, and it becomes a [`DecodeErrorKind`] (which may own a
/// string, and so costs every caller its drop) only where it is reported.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Broken {
    /// An element of `size` bytes where at most `limit` may be.
    TooLarge { id: u32, size: u64, limit: u64 },
    /// More masters open than `limit`.
    TooDeep { limit: usize },
    /// An element `id` reaching `end`, past `parent_end`, where `parent`
    /// bounds it.
    Overrun {
        id: u32,
        end: u64,
        parent: u32,
        parent_end: u64,
    },
}

impl From<Broken> for DecodeErrorKind {
    #[cold]
    fn from(b: Broken) -> DecodeErrorKind {
        match b {
            Broken::TooLarge { id, size, limit } => too_large(id, size, limit),
            Broken::TooDeep { limit } => DecodeErrorKind::TooDeep { limit },
            Broken::Overrun {
                id,
                end,
                parent,
                parent_end,
            } => DecodeErrorKind::Overrun {
                id: ElementId(id),
                end,
                parent: ElementId(parent),
                parent_end,
            },
        }
    }
}

/// Where an element whose header `h` begins at `start` ends: `None` for the
/// unknown size; a size that would end past the last offset is too large.
#[inline(always)]
pub(crate) fn element_end(h: Header, start: u64) -> Result<Option<u64>, Broken> {
    let Some(size) = h.size else {
        return Ok(None);
    };
    match start
        .checked_add(u64::from(h.len))
        .and_then(|p| p.checked_add(size))
    {
        Some(end) => Ok(Some(end)),
        None => Err(Broken::TooLarge {
            id: h.id,
            size,
            limit: u64::MAX,
        }),
    }
}

/// An element of `size` bytes where at most `limit` may be.
pub(crate) fn too_large(id: u32, size: u64, limit: u64) -> DecodeErrorKind {
    DecodeErrorKind::ElementTooLarge {
        id: ElementId(id),
        size,
        limit,
    }
}

/// An element passed over unread may not be larger than a chunk may be: a
/// damaged size would otherwise swallow the rest of a stream. (`size` is
/// what the walker counts: the engine the whole element, the reader its
/// payload.)
#[inline(always)]
pub(crate) fn check_passable(id: u32, size: u64, limits: &Limits) -> Result<(), Broken> {
    if size > limits.max_chunk_size {
        let limit = limits.max_chunk_size;
        return Err(Broken::TooLarge { id, size, limit });
    }
    Ok(())
}

/// `depth` masters are open: may one more be?
#[inline(always)]
pub(crate) fn check_depth(depth: usize, limits: &Limits) -> Result<(), Broken> {
    if depth >= limits.max_depth {
        let limit = limits.max_depth;
        return Err(Broken::TooDeep { limit });
    }
    Ok(())
}

/// An element `id` that reaches `reach`, inside an open element that ends at
/// `bound` at the latest (`parent` is the element named for it).
#[inline(always)]
pub(crate) fn check_within(id: u32, reach: u64, bound: u64, parent: u32) -> Result<(), Broken> {
    if reach > bound {
        return Err(Broken::Overrun {
            id,
            end: reach,
            parent,
            parent_end: bound,
        });
    }
    Ok(())
}

/// A master element being read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Open {
    pub(crate) id: u32,
    /// The element whose end is `bound`: this one, or the nearest ancestor
    /// of known size. (Next to `id`, where it takes no room.)
    pub(crate) owner: u32,
    /// Where it ends, when its size is known.
    pub(crate) end: Option<u64>,
    /// Where it ends at the latest: its own end or its nearest known
    /// ancestor's (a Cluster of unknown size, last in a Segment of known
    /// size, ends with the Segment).
    pub(crate) bound: Option<u64>,
}

impl Open {
    /// A master `id` ending at `end`, opened inside `parent`.
    #[inline(always)]
    pub(crate) fn new(id: u32, end: Option<u64>, parent: Option<&Open>) -> Open {
        match (end, parent) {
            (Some(_), _) => Open {
                id,
                owner: id,
                end,
                bound: end,
            },
            (None, Some(p)) => Open {
                id,
                owner: p.owner,
                end,
                bound: p.bound,
            },
            (None, None) => Open {
                id,
                owner: id,
                end,
                bound: None,
            },
        }
    }

    /// It ends at `pos` (by its own size or its bound's).
    #[inline(always)]
    pub(crate) fn ends_at(&self, pos: u64) -> bool {
        self.bound == Some(pos)
    }

    /// The unknown-size rule: an element `child` that cannot be its child
    /// ends it, when its size is unknown.
    #[inline(always)]
    pub(crate) fn ended_by(&self, child: u32, schema: &mut Parents) -> bool {
        self.end.is_none() && !schema.may_contain(self.id, child)
    }

    /// An element `child` that cannot be its child may not stand in it, when
    /// its size is known (it is damage, or a new EBML header cutting it).
    #[inline(always)]
    pub(crate) fn refuses(&self, child: u32, schema: &mut Parents) -> bool {
        self.end.is_some() && !schema.may_contain(self.id, child)
    }
}

/// [`ids::may_contain`] with what the schema says of each child's parent
/// remembered for the IDs seen last: a direct-mapped cache of
/// `ids::info(id).map(|i| i.parent)`, a pure function, so it changes no
/// answer. (A chunk has a few dozen elements of a score of IDs; each
/// lookup in the schema's match cost about 60 instructions.)
#[derive(Debug, Clone)]
pub(crate) struct Parents {
    /// (ID, its parent in the schema: [`UNKNOWN`], [`TOP`] or the ID). ID 0
    /// is never read (no valid ID is 0): an empty slot.
    slots: [(u32, u32); 64],
}

/// An ID the schema does not know.
const UNKNOWN: u32 = 0;
/// A top-level or global element (no parent in the schema).
const TOP: u32 = 1;

impl Default for Parents {
    fn default() -> Parents {
        Parents {
            slots: [(0, UNKNOWN); 64],
        }
    }
}

impl Parents {
    /// Whether an element `child` may stand inside `parent`
    /// ([`ids::may_contain`]).
    #[inline(always)]
    pub(crate) fn may_contain(&mut self, parent: u32, child: u32) -> bool {
        let folded = child ^ (child >> 8) ^ (child >> 16) ^ (child >> 24);
        let slot = &mut self.slots[folded as usize % 64];
        if slot.0 != child {
            let code = match ids::info(child).map(|i| i.parent) {
                None => UNKNOWN,
                Some(None) => TOP,
                Some(Some(p)) => p,
            };
            *slot = (child, code);
        }
        let schema = match slot.1 {
            UNKNOWN => None,
            TOP => Some(None),
            p => Some(Some(p)),
        };
        ids::may_contain_known(parent, child, schema)
    }
}

/// The innermost open element of known size: what a cut input cuts.
#[inline]
pub(crate) fn innermost_known(stack: &[Open]) -> Option<&Open> {
    stack.iter().rev().find(|o| o.end.is_some())
}

/// No open element has a known size: input may end here cleanly.
#[inline]
pub(crate) fn all_unknown(stack: &[Open]) -> bool {
    stack.iter().all(|o| o.end.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every ID of the schema, some it does not know, and a few that fold
    /// onto the same slot, asked in two orders: the cache answers as
    /// `ids::may_contain` does, whatever was asked before.
    #[test]
    fn parents_answer_as_the_schema() {
        let mut all: Vec<u32> = (0x80..=0xFE).collect();
        all.extend((0x4000..0x4100).chain(0x7300..0x7400));
        all.extend([
            ids::EBML,
            ids::SEGMENT,
            ids::INFO,
            ids::TRACKS,
            ids::CLUSTER,
            ids::TAGS,
            ids::CUES,
            ids::TIMECODE_SCALE,
            ids::DEFAULT_DURATION,
            ids::LANGUAGE,
            0x1F43_B676,
            0x2A_D7B2,
        ]);
        let parents: Vec<u32> = all.iter().copied().filter(|&i| ids::is_master(i)).collect();
        let mut schema = Parents::default();
        for round in 0..2 {
            for (n, &child) in all.iter().enumerate() {
                // (The second round in another order: other collisions.)
                let child = if round == 0 {
                    child
                } else {
                    all[all.len() - 1 - n]
                };
                for &parent in &parents {
                    assert_eq!(
                        schema.may_contain(parent, child),
                        ids::may_contain(parent, child),
                        "{child:#x} in {parent:#x}"
                    );
                }
            }
        }
    }
}
