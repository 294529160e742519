//! SimpleBlock and Block payloads: the block header (track number, relative
//! timecode, flags) and the three lacing modes, split into frame ranges
//! without copying a byte.
//!
//! ```
//! use kvs_mkv::matroska::block::parse_block;
//! // Track 1, timecode +33, keyframe, no lacing, then a 3-byte frame.
//! let block = [0x81, 0x00, 0x21, 0x80, 0xAA, 0xBB, 0xCC];
//! let mut frames = Vec::new();
//! let header = parse_block(&block, |range| frames.push(range)).unwrap();
//! assert_eq!((header.track, header.timecode, header.keyframe()), (1, 33, true));
//! assert_eq!(frames, vec![4..7]);
//! ```

use std::ops::Range;

use crate::ebml::{self, element_header, vint};
use crate::matroska::ids;

/// Block flag: a keyframe (SimpleBlock only; a BlockGroup says it by having
/// no ReferenceBlock).
pub(crate) const KEYFRAME: u8 = 0x80;
/// Block flag: decoded but not shown.
pub(crate) const INVISIBLE: u8 = 0x08;
/// Block flag: may be dropped (SimpleBlock only).
pub(crate) const DISCARDABLE: u8 = 0x01;
/// Block flags: the two lacing bits (see [`Lacing`]).
pub(crate) const LACING_MASK: u8 = 0x06;

/// The fixed part of a block: what comes before the frame data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    /// The track the block belongs to.
    pub track: u64,
    /// Timecode relative to the Cluster's, in TimecodeScale units.
    pub timecode: i16,
    /// The flags byte as written.
    pub flags: u8,
}

impl BlockHeader {
    /// SimpleBlock keyframe flag (meaningless on a Block inside a BlockGroup).
    pub fn keyframe(&self) -> bool {
        self.flags & KEYFRAME != 0
    }
    /// The frame must be decoded but not shown.
    pub fn invisible(&self) -> bool {
        self.flags & INVISIBLE != 0
    }
    /// SimpleBlock discardable flag.
    pub fn discardable(&self) -> bool {
        self.flags & DISCARDABLE != 0
    }
    /// The lacing mode written in the flags.
    pub fn lacing(&self) -> Lacing {
        match (self.flags & LACING_MASK) >> 1 {
            0 => Lacing::None,
            1 => Lacing::Xiph,
            2 => Lacing::Fixed,
            _ => Lacing::Ebml,
        }
    }
}

/// How several frames share one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lacing {
    /// One frame.
    None,
    /// Sizes as runs of 255-valued bytes.
    Xiph,
    /// All frames of equal size.
    Fixed,
    /// First size as a VINT, the others as signed VINT differences.
    Ebml,
}

/// Why a block could not be split into frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The block ends inside its header.
    #[error("block header is cut short")]
    ShortHeader,
    /// The track number is not a valid VINT.
    #[error("invalid track number")]
    BadTrackNumber,
    /// The lace sizes add up to more than the block holds, or are malformed.
    #[error("lace sizes do not fit the block")]
    BadLacing,
    /// Fixed-size lacing whose data does not divide evenly among the frames.
    #[error("fixed-size lacing does not divide the data evenly")]
    UnevenFixedLacing,
}

fn header(input: &[u8]) -> Result<(usize, BlockHeader), BlockError> {
    let (rest, (track, _)) = vint(input).map_err(|e| match e {
        ebml::HeaderError::Incomplete { .. } => BlockError::ShortHeader,
        _ => BlockError::BadTrackNumber,
    })?;
    // Read directly: this runs once per frame.
    let &[t0, t1, flags, ..] = rest else {
        return Err(BlockError::ShortHeader);
    };
    let timecode = i16::from_be_bytes([t0, t1]);
    Ok((
        input.len() - rest.len() + 3,
        BlockHeader {
            track,
            timecode,
            flags,
        },
    ))
}

/// Parses a block payload and reports each frame's byte range (relative to
/// `block`) to `frame`, in order. No frame data is copied.
pub fn parse_block(
    block: &[u8],
    mut frame: impl FnMut(Range<usize>),
) -> Result<BlockHeader, BlockError> {
    let (start, head) = header(block)?;
    let lacing = head.lacing();
    if lacing == Lacing::None {
        frame(start..block.len());
        return Ok(head);
    }
    let count = usize::from(*block.get(start).ok_or(BlockError::ShortHeader)?) + 1;
    let mut pos = start + 1;
    let data_len = |pos: usize| block.len().checked_sub(pos).ok_or(BlockError::BadLacing);
    match lacing {
        Lacing::Fixed => {
            let len = data_len(pos)?;
            if len % count != 0 {
                return Err(BlockError::UnevenFixedLacing);
            }
            let each = len / count;
            for i in 0..count {
                frame(pos + i * each..pos + (i + 1) * each);
            }
        }
        Lacing::Xiph | Lacing::Ebml => {
            // Sizes of all frames but the last come first; they are read
            // twice (once to find where the data starts) rather than stored,
            // so a block costs no allocation.
            let sizes_start = pos;
            let mut total = 0usize;
            each_lace_size(block, &mut pos, count - 1, lacing, |size| {
                total = total.checked_add(size).ok_or(BlockError::BadLacing)?;
                Ok(())
            })?;
            let data_start = pos;
            let last = data_len(data_start)?
                .checked_sub(total)
                .ok_or(BlockError::BadLacing)?;
            let mut at = data_start;
            let mut sizes = sizes_start;
            each_lace_size(block, &mut sizes, count - 1, lacing, |size| {
                frame(at..at + size);
                at += size;
                Ok(())
            })?;
            frame(at..at + last);
        }
        Lacing::None => unreachable!("handled above"),
    }
    Ok(head)
}

/// Reads `n` lace sizes starting at `*pos`, advancing it.
fn each_lace_size(
    block: &[u8],
    pos: &mut usize,
    n: usize,
    lacing: Lacing,
    mut f: impl FnMut(usize) -> Result<(), BlockError>,
) -> Result<(), BlockError> {
    let mut previous: i64 = 0;
    for i in 0..n {
        let size = if lacing == Lacing::Xiph {
            let mut size = 0usize;
            loop {
                let b = *block.get(*pos).ok_or(BlockError::BadLacing)?;
                *pos += 1;
                size += usize::from(b);
                if b != 255 {
                    break size;
                }
            }
        } else {
            let rest = block.get(*pos..).ok_or(BlockError::BadLacing)?;
            let (after, (raw, width)) = vint(rest).map_err(|_| BlockError::BadLacing)?;
            *pos += rest.len() - after.len();
            let value = if i == 0 {
                i64::try_from(raw).map_err(|_| BlockError::BadLacing)?
            } else {
                // Signed difference: subtract half the range of this width.
                let bias = (1i64 << (7 * width - 1)) - 1;
                let delta = raw as i64 - bias;
                previous.checked_add(delta).ok_or(BlockError::BadLacing)?
            };
            if value < 0 {
                return Err(BlockError::BadLacing);
            }
            previous = value;
            usize::try_from(value).map_err(|_| BlockError::BadLacing)?
        };
        f(size)?;
    }
    Ok(())
}

/// What a BlockGroup says about its Block (see [`read_group`]).
pub(crate) struct Group {
    /// The Block's payload, relative to the BlockGroup's.
    pub(crate) block: Range<usize>,
    /// No ReferenceBlock: the frame is a keyframe.
    pub(crate) keyframe: bool,
    /// BlockDuration, when written.
    pub(crate) duration: Option<u64>,
}

/// Reads a BlockGroup's children: the Block's range (relative to `group`),
/// whether it is a keyframe (no ReferenceBlock), and BlockDuration.
pub(crate) fn read_group(group: &[u8]) -> Result<Group, &'static str> {
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
    Ok(Group {
        block: block.ok_or("no Block inside")?,
        keyframe: !referenced,
        duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(block: &[u8]) -> Result<Vec<Range<usize>>, BlockError> {
        let mut out = Vec::new();
        parse_block(block, |r| out.push(r)).map(|_| out)
    }

    #[test]
    fn xiph_lacing() {
        // 3 frames: 300, 2, rest (1). 300 = 255 + 45.
        let mut b = vec![0x81, 0, 0, 0x02, 2, 255, 45, 2];
        let data_start = b.len();
        b.extend(std::iter::repeat_n(7u8, 303));
        let f = frames(&b).unwrap();
        let s = data_start;
        assert_eq!(f, vec![s..s + 300, s + 300..s + 302, s + 302..s + 303]);
    }

    #[test]
    fn ebml_lacing() {
        // 3 frames: 10, 12 (+2), rest (5). +2 in a 1-byte signed VINT: 63+2=65 -> 0xC1.
        let mut b = vec![0x81, 0, 0, 0x06, 2, 0x8A, 0xC1];
        let s = b.len();
        b.extend([0u8; 27]);
        assert_eq!(
            frames(&b).unwrap(),
            vec![s..s + 10, s + 10..s + 22, s + 22..s + 27]
        );
    }

    #[test]
    fn fixed_lacing() {
        let mut b = vec![0x81, 0, 0, 0x04, 3];
        b.extend([0u8; 8]);
        assert_eq!(frames(&b).unwrap(), vec![5..7, 7..9, 9..11, 11..13]);
        b.push(0);
        assert_eq!(frames(&b), Err(BlockError::UnevenFixedLacing));
    }

    #[test]
    fn malformed() {
        assert_eq!(frames(&[0x81, 0]), Err(BlockError::ShortHeader));
        assert_eq!(frames(&[0x00, 0, 0, 0]), Err(BlockError::BadTrackNumber));
        assert_eq!(
            frames(&[0x81, 0, 0, 0x02, 1, 200, 1]),
            Err(BlockError::BadLacing)
        );
        assert_eq!(
            frames(&[0x81, 0, 0, 0x06, 1, 0x40]),
            Err(BlockError::BadLacing)
        );
    }
}
