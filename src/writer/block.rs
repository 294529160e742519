//! Frames into SimpleBlocks and BlockGroups, with the three lacing modes.
//! The block header and lace sizes are built in a small buffer; the frame
//! payloads follow as the [`Bytes`] they came in.

use std::ops::Range;

use bytes::{BufMut, BytesMut};

use super::element::{put_vint, vint_width, Element};
use crate::matroska::block::Lacing;
use crate::matroska::block::{DISCARDABLE, INVISIBLE, KEYFRAME};
use crate::matroska::ids;
use crate::Frame;

/// Most frames one laced block holds (the count is stored minus one in a byte).
const MAX_LACES: usize = 256;

fn lacing_bits(lacing: Lacing) -> u8 {
    match lacing {
        Lacing::None => 0x00,
        Lacing::Xiph => 0x02,
        Lacing::Fixed => 0x04,
        Lacing::Ebml => 0x06,
    }
}

/// Whether a frame is written in a BlockGroup (it has a BlockDuration).
pub(crate) fn needs_group(frame: &Frame) -> bool {
    frame.duration().is_some()
}

/// Splits `frames` into runs that can share one block: consecutive frames of
/// the same track, timecode and flags, without BlockDuration, at most 256,
/// and for fixed-size lacing of the same size. With [`Lacing::None`] every
/// run is one frame.
pub(crate) fn lace_runs(frames: &[Frame], lacing: Lacing) -> Vec<Range<usize>> {
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let joins = lacing != Lacing::None
            && !needs_group(f)
            && runs.last().is_some_and(|run| {
                let first = &frames[run.start];
                run.end == i
                    && run.len() < MAX_LACES
                    && !needs_group(first)
                    && first.track() == f.track()
                    && first.timecode() == f.timecode()
                    && flags(first) == flags(f)
                    && (lacing != Lacing::Fixed || first.data().len() == f.data().len())
            });
        match runs.last_mut() {
            Some(run) if joins => run.end = i + 1,
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

fn flags(f: &Frame) -> u8 {
    (if f.is_keyframe() { KEYFRAME } else { 0 })
        | (if f.is_invisible() { INVISIBLE } else { 0 })
        | (if f.is_discardable() { DISCARDABLE } else { 0 })
}

/// The block header: track number, relative timecode, flags.
fn header(track: u64, relative: i16, flags: u8) -> BytesMut {
    let mut head = BytesMut::with_capacity(16);
    put_vint(&mut head, track, vint_width(track));
    head.put_i16(relative);
    head.put_u8(flags);
    head
}

/// Puts the lace count and the sizes of all frames but the last.
fn put_lace_sizes(head: &mut BytesMut, frames: &[Frame], lacing: Lacing) {
    head.put_u8((frames.len() - 1) as u8);
    let sizes = frames[..frames.len() - 1]
        .iter()
        .map(|f| f.data().len() as u64);
    match lacing {
        Lacing::None | Lacing::Fixed => {}
        Lacing::Xiph => {
            for mut size in sizes {
                while size >= 255 {
                    head.put_u8(255);
                    size -= 255;
                }
                head.put_u8(size as u8);
            }
        }
        Lacing::Ebml => {
            let mut previous: Option<u64> = None;
            for size in sizes {
                match previous {
                    None => put_vint(head, size, vint_width(size)),
                    Some(p) => {
                        let delta = size as i64 - p as i64;
                        // Signed VINT: the value plus half the range of its width.
                        let width = (1..=8u8)
                            .find(|&w| {
                                let bias = (1i64 << (7 * u32::from(w) - 1)) - 1;
                                delta.abs() <= bias
                            })
                            .unwrap_or(8);
                        let bias = (1i64 << (7 * u32::from(width) - 1)) - 1;
                        put_vint(head, (delta + bias) as u64, width);
                    }
                }
                previous = Some(size);
            }
        }
    }
}

/// A SimpleBlock holding `frames` (one, or a run from [`lace_runs`]).
pub(crate) fn simple_block(frames: &[Frame], relative: i16, lacing: Lacing) -> Element {
    let first = &frames[0];
    let laced = frames.len() > 1;
    let lace_flags = if laced { lacing_bits(lacing) } else { 0 };
    let mut head = header(first.track(), relative, flags(first) | lace_flags);
    if laced {
        put_lace_sizes(&mut head, frames, lacing);
    }
    let mut parts = Vec::with_capacity(frames.len() + 1);
    parts.push(head.freeze());
    parts.extend(frames.iter().map(|f| f.data().clone()));
    Element::parts(ids::SIMPLE_BLOCK, parts)
}

/// A BlockGroup: Block, BlockDuration, and a ReferenceBlock (-1, the
/// previous tick) when the frame is not a keyframe. A Block has no
/// discardable flag, so that one is not written.
pub(crate) fn block_group(frame: &Frame, relative: i16) -> Element {
    let head = header(
        frame.track(),
        relative,
        if frame.is_invisible() { INVISIBLE } else { 0 },
    );
    let block = Element::parts(ids::BLOCK, vec![head.freeze(), frame.data().clone()]);
    let mut children = vec![block];
    if let Some(d) = frame.duration() {
        children.push(Element::uint(ids::BLOCK_DURATION, d));
    }
    if !frame.is_keyframe() {
        children.push(Element::int(ids::REFERENCE_BLOCK, -1));
    }
    Element::master(ids::BLOCK_GROUP, children)
}

/// Whether `track` fits a block header's VINT.
pub(crate) fn track_fits(track: u64) -> bool {
    track < (1u64 << 56) - 1
}

/// Bytes `frames` add to a block beyond their payloads (for tests).
#[cfg(test)]
fn encoded(frames: &[Frame], lacing: Lacing) -> Vec<u8> {
    let mut s = super::element::Segments::default();
    simple_block(frames, 0, lacing).write(&mut s);
    s.finish().concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matroska::block::parse_block;
    use bytes::Bytes;

    fn frame(len: usize, fill: u8) -> Frame {
        Frame::new(Bytes::from(vec![fill; len]), 1, 10, 1_000_000, true)
    }

    fn round_trip(sizes: &[usize], lacing: Lacing) -> Vec<usize> {
        let frames: Vec<Frame> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| frame(n, i as u8))
            .collect();
        let runs = lace_runs(&frames, lacing);
        assert_eq!(runs, vec![0..frames.len()], "{lacing:?}");
        let bytes = encoded(&frames, lacing);
        // Skip the SimpleBlock's ID and size.
        let (rest, h) = crate::ebml::element_header(&bytes).unwrap();
        assert_eq!(h.size, Some(rest.len() as u64));
        let mut out = Vec::new();
        let head = parse_block(rest, |r| out.push(r)).unwrap();
        assert_eq!(head.lacing(), lacing);
        for (i, r) in out.iter().enumerate() {
            assert!(rest[r.clone()].iter().all(|&b| b == i as u8));
        }
        out.iter().map(|r| r.len()).collect()
    }

    #[test]
    fn every_lacing_reads_back() {
        let sizes = [300, 0, 1, 700, 70_000, 5];
        assert_eq!(round_trip(&sizes, Lacing::Xiph), sizes);
        assert_eq!(round_trip(&sizes, Lacing::Ebml), sizes);
        assert_eq!(round_trip(&[4, 4, 4], Lacing::Fixed), vec![4, 4, 4]);
    }

    #[test]
    fn runs_break_where_frames_differ() {
        let a = frame(3, 0);
        let later = Frame::new(Bytes::new(), 1, 11, 1_000_000, true);
        let other_track = Frame::new(Bytes::new(), 2, 10, 1_000_000, true);
        let grouped = frame(3, 0).with_duration(Some(1));
        let frames = vec![
            a.clone(),
            a.clone(),
            later,
            other_track,
            grouped,
            a.clone(),
            frame(4, 0),
        ];
        assert_eq!(lace_runs(&frames, Lacing::None).len(), 7);
        assert_eq!(
            lace_runs(&frames, Lacing::Fixed),
            vec![0..2, 2..3, 3..4, 4..5, 5..6, 6..7]
        );
        assert_eq!(
            lace_runs(&frames, Lacing::Xiph),
            vec![0..2, 2..3, 3..4, 4..5, 5..7]
        );
        let many = vec![a; 300];
        assert_eq!(lace_runs(&many, Lacing::Ebml), vec![0..256, 256..300]);
    }
}
