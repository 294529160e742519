//! The one place where the emulator handles Matroska bytes: cutting a
//! recording into fragments, and writing the chunks it serves.
//!
//! A served chunk is spliced from raw pieces, never re-encoded:
//!
//! ```text
//! head:  EBML header + Segment (unknown size, 01 FF FF FF FF FF FF FF)
//!        + the Segment children the fragment keeps before its Cluster
//! tags:  Tags with FRAGMENT_NUMBER, SERVER_TIMESTAMP, PRODUCER_TIMESTAMP (written here)
//! media: the Cluster as recorded [+ what the recording kept after it, e.g. Cues]
//! [tags: Tags with MILLIS_BEHIND_NOW, CONTINUATION_TOKEN]    GetMedia only
//! ```
//!
//! Tags are written with the crate's writer as the service writes them:
//! Tags > Tag > SimpleTag > TagName + TagString, every size field 4 bytes
//! wide; the EBML header of a chunk with no recording behind it is the
//! writer's.

use bytes::{BufMut, Bytes, BytesMut};
use memchr::memmem;
use tokio_util::codec::Decoder;

use super::RecordingError;
use crate::chunk::{Chunk, Frame, TagValue};
use crate::decoder::ChunkDecoder;
use crate::ebml::read_uint;
use crate::kvs::{FragmentNumber, Timestamp};
use crate::matroska::{ids, Element as Found, ElementReader};
use crate::writer::element::{Element, Segments, Size};
use crate::writer::{ebml_header, simple_tag};

/// The Segment's size field as the service writes it: unknown, 8 bytes.
const SEGMENT_SIZE: Size = Size::Unknown(8);

/// The width of every size field in the tags the service writes.
const TAG_SIZE: Size = Size::Width(4);

/// Serializes one element the writer built.
fn to_bytes(element: &Element) -> Bytes {
    let mut out = Segments::default();
    element.write(&mut out);
    match out.finish().as_slice() {
        [one] => one.clone(),
        parts => Bytes::from(parts.concat()),
    }
}

/// One fragment cut out of a recording, before the store gives it a number
/// and timestamps.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    /// EBML header, Segment header (unknown size) and the kept children
    /// before the Cluster.
    pub head: Bytes,
    /// The Cluster and what follows it in the fragment (AWS tags removed).
    pub media: Bytes,
    /// The AWS tags the recording carried, if any.
    pub recorded: Option<RecordedTags>,
    /// Where the fragment starts on the recording's own clock, in ms: the
    /// Cluster Timecode (plain recordings) or the first frame.
    pub start_ms: i128,
    /// Where its last frame ends, in ms on the same clock (start when it
    /// has no frames).
    pub end_ms: i128,
}

/// The leading AWS tags of a recorded GetMedia chunk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordedTags {
    pub number: FragmentNumber,
    pub server_ms: u64,
    pub producer_ms: u64,
}

/// A recording cut into fragments.
#[derive(Debug, Clone)]
pub(crate) struct Split {
    pub pieces: Vec<Piece>,
    /// Chunks left out because they did not arrive whole.
    pub incomplete: usize,
    /// Decoding errors (damage) met on the way.
    pub errors: usize,
}

/// Cuts a recording into fragments. A chunk that carries
/// `AWS_KINESISVIDEO_FRAGMENT_NUMBER` is one fragment; a plain Matroska
/// document gives one fragment per Cluster. Chunks that did not arrive
/// whole are left out.
pub(crate) fn split_recording(data: &[u8]) -> Result<Split, RecordingError> {
    let mut decoder = ChunkDecoder::default();
    let mut buf = BytesMut::from(data);
    let mut chunks = Vec::new();
    let mut errors = 0;
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(chunk)) => chunks.push(chunk),
            Ok(None) => break,
            Err(_) => errors += 1,
        }
    }
    let mut pieces = Vec::new();
    let mut incomplete = 0;
    let mut last_head: Option<(Bytes, Vec<u8>)> = None;
    for chunk in &chunks {
        if !chunk.is_complete() {
            incomplete += 1;
            continue;
        }
        split_chunk(chunk, &mut last_head, &mut pieces)?;
    }
    Ok(Split {
        pieces,
        incomplete,
        errors,
    })
}

/// An element of a Segment: where it starts and ends in the chunk.
struct Child {
    id: u32,
    start: usize,
    end: usize,
    /// A Cluster's Timestamp, when it comes before the Cluster's first block.
    timecode: Option<u64>,
}

fn split_chunk(
    chunk: &Chunk,
    last_head: &mut Option<(Bytes, Vec<u8>)>,
    out: &mut Vec<Piece>,
) -> Result<(), RecordingError> {
    let raw = chunk.raw();
    let info = chunk.info();
    // The EBML header, then the Segment; a chunk that continues a Segment
    // (merged files) starts directly with Segment children and reuses the
    // previous chunk's EBML header.
    let continued = !raw.starts_with(&ids::EBML.to_be_bytes());
    if continued && last_head.is_none() {
        return Err(RecordingError::NoEbmlHeader);
    }
    let layout = layout(raw, continued)?;
    let ebml = match (layout.ebml_end, &*last_head) {
        (Some(end), _) => raw.slice(..end.min(raw.len())),
        (None, Some((ebml, _))) => ebml.clone(),
        (None, None) => return Err(RecordingError::NoEbmlHeader),
    };
    let children = layout.children;
    let first_cluster = children.iter().position(|c| c.id == ids::CLUSTER);
    let before = &children[..first_cluster.unwrap_or(children.len())];
    let after = &children[first_cluster.unwrap_or(children.len())..];
    let scale = i128::from(info.timecode_scale.max(1));
    let to_ms = |tc: i128| tc * scale / 1_000_000;

    if let Some(number) = info.fragment_number() {
        // A recorded GetMedia chunk: one fragment, its own tags.
        let mut kept = Vec::new();
        for c in before {
            if !is_aws_tags(c, raw) {
                kept.extend_from_slice(&raw[c.start..c.end]);
            }
        }
        if continued {
            if let Some((_, head_children)) = last_head {
                if kept.is_empty() {
                    kept = head_children.clone();
                }
            }
        }
        let mut media = Vec::new();
        for c in after {
            if !is_aws_tags(c, raw) {
                media.extend_from_slice(&raw[c.start..c.end]);
            }
        }
        let (start_ms, end_ms) = frame_span(chunk, None);
        let ms = |t: Option<Timestamp>| t.map_or(0, |t| t.as_millis() as u64);
        out.push(Piece {
            head: head_bytes(&ebml, &kept),
            media: Bytes::from(media),
            recorded: Some(RecordedTags {
                number: *number,
                server_ms: ms(info.server_timestamp()),
                producer_ms: ms(info.producer_timestamp()),
            }),
            start_ms: start_ms.map_or(0, to_ms),
            end_ms: end_ms.map_or(0, to_ms),
        });
        *last_head = Some((ebml, kept));
        return Ok(());
    }

    // A plain Matroska document: Info and Tracks, then one fragment per
    // Cluster.
    let mut kept = Vec::new();
    for c in before {
        if c.id == ids::INFO || c.id == ids::TRACKS {
            kept.extend_from_slice(&raw[c.start..c.end]);
        }
    }
    let head = head_bytes(&ebml, &kept);
    for c in after.iter().filter(|c| c.id == ids::CLUSTER) {
        let timecode = c.timecode;
        let media = raw.slice(c.start..c.end);
        let (first, end) = frame_span(chunk, Some((c.start, c.end)));
        let start = timecode.map(i128::from).or(first).unwrap_or(0);
        out.push(Piece {
            head: head.clone(),
            media,
            recorded: None,
            start_ms: to_ms(start),
            end_ms: to_ms(end.unwrap_or(start).max(start)),
        });
    }
    *last_head = Some((ebml, kept));
    Ok(())
}

/// The first and the end timecode of the frames of a chunk (or of those
/// inside one byte range of it), in TimecodeScale units. The end is the last
/// frame's timecode plus the typical gap between frames of its track.
fn frame_span(chunk: &Chunk, range: Option<(usize, usize)>) -> (Option<i128>, Option<i128>) {
    let raw = chunk.raw().as_ptr() as usize;
    let inside = |f: &Frame| match range {
        None => true,
        Some((a, b)) => {
            let at = (f.data().as_ptr() as usize).wrapping_sub(raw);
            at >= a && at < b
        }
    };
    let mut first: Option<i128> = None;
    let mut end: Option<i128> = None;
    // Per track: first timecode, last timecode, count.
    let mut tracks: Vec<(u64, i128, i128, i128)> = Vec::new();
    for f in chunk.frames().iter().filter(|f| inside(f)) {
        let tc = i128::from(f.timecode());
        first = Some(first.map_or(tc, |v| v.min(tc)));
        match tracks.iter_mut().find(|t| t.0 == f.track()) {
            Some(t) => {
                t.2 = t.2.max(tc);
                t.3 += 1;
            }
            None => tracks.push((f.track(), tc, tc, 1)),
        }
        if let Some(d) = f.duration() {
            end = Some(end.map_or(tc + i128::from(d), |e| e.max(tc + i128::from(d))));
        }
    }
    for (_, lo, hi, n) in tracks {
        let gap = if n > 1 { (hi - lo) / (n - 1) } else { 0 };
        end = Some(end.map_or(hi + gap, |e| e.max(hi + gap)));
    }
    (first, end)
}

/// Where a chunk's EBML header ends, and the children of its Segment.
struct Layout {
    /// `None` when the chunk continues a Segment.
    ebml_end: Option<usize>,
    children: Vec<Child>,
}

/// Reads a chunk's layout with the crate's element reader (the unknown-size
/// rule included): the EBML header, then the Segment's children, each with
/// where it starts and ends, and each Cluster's Timestamp. A chunk that
/// `continued` a Segment starts with its children: the reader is given a
/// Segment header first. Damage ends the walk there.
fn layout(raw: &[u8], continued: bool) -> Result<Layout, RecordingError> {
    let lead = if continued {
        segment_header()
    } else {
        Bytes::new()
    };
    // The reader counts offsets from the first byte of `lead`.
    let at = |offset: u64| (offset as usize).saturating_sub(lead.len()).min(raw.len());
    let mut reader = ElementReader::new();
    let next = |reader: &mut ElementReader| {
        let pos = reader.position() as usize;
        let step = match pos.checked_sub(lead.len()) {
            None => reader.read(&lead[pos..], false),
            Some(pos) => reader.read(&raw[pos..], true),
        };
        step.item?.ok()
    };
    let mut layout = Layout {
        ebml_end: None,
        children: Vec::new(),
    };
    let mut segment = false;
    // The Segment child being read, and whether its Timestamp is still
    // looked for (a Cluster, before its first block).
    let mut open: Option<(Child, bool)> = None;
    while let Some(element) = next(&mut reader) {
        match element {
            Found::Start {
                id: ids::EBML,
                depth: 0,
                ..
            } if !continued && layout.ebml_end.is_none() => {
                reader.skip_contents();
            }
            Found::End {
                id: ids::EBML,
                depth: 0,
                offset_end,
                ..
            } if !continued && !segment => {
                layout.ebml_end = Some(at(offset_end));
            }
            Found::Start {
                id: ids::SEGMENT,
                depth: 0,
                ..
            } if !segment && (continued || layout.ebml_end.is_some()) => {
                segment = true;
            }
            // The Segment ended (or, before it, something else came).
            Found::Start { depth: 0, .. }
            | Found::Leaf { depth: 0, .. }
            | Found::End { depth: 0, .. } => break,
            Found::Leaf {
                id,
                offset,
                depth: 1,
                ..
            } => layout.children.push(Child {
                id,
                start: at(offset),
                end: at(element.end().unwrap_or(offset)),
                timecode: None,
            }),
            Found::Start {
                id,
                offset,
                depth: 1,
                ..
            } => {
                let child = Child {
                    id,
                    start: at(offset),
                    end: at(offset),
                    timecode: None,
                };
                open = Some((child, id == ids::CLUSTER));
                if id != ids::CLUSTER {
                    reader.skip_contents();
                }
            }
            Found::End {
                depth: 1,
                offset_end,
                ..
            } => {
                if let Some((mut child, _)) = open.take() {
                    child.end = at(offset_end);
                    layout.children.push(child);
                }
            }
            // Inside a Cluster: its Timestamp, unless a block comes first;
            // once either is read, the rest of the Cluster is passed over.
            Found::Leaf { id, depth: 2, .. } => {
                let Some((cluster, looking)) = open.as_mut() else {
                    continue;
                };
                if id == ids::TIMECODE {
                    let lead = lead.len() as u64;
                    cluster.timecode = reader
                        .pending_payload()
                        .and_then(|r| raw.get((r.start - lead) as usize..(r.end - lead) as usize))
                        .and_then(|payload| read_uint(payload).ok());
                }
                if matches!(id, ids::TIMECODE | ids::SIMPLE_BLOCK) {
                    *looking = false;
                    reader.skip_contents();
                }
            }
            Found::Start { id, depth: 2, .. } => {
                if id == ids::BLOCK_GROUP {
                    if let Some((_, looking)) = open.as_mut() {
                        *looking = false;
                    }
                }
                reader.skip_contents();
            }
            Found::End { depth: 2, .. } => {
                if matches!(open, Some((_, false))) {
                    reader.skip_contents();
                }
            }
            _ => {}
        }
    }
    if !segment {
        return Err(RecordingError::NoSegment);
    }
    Ok(layout)
}

/// Whether a Segment child is a Tags element written by the service.
fn is_aws_tags(child: &Child, raw: &[u8]) -> bool {
    child.id == ids::TAGS
        && memmem::find(&raw[child.start..child.end], b"AWS_KINESISVIDEO_").is_some()
}

fn head_bytes(ebml: &[u8], children: &[u8]) -> Bytes {
    let mut head = BytesMut::with_capacity(ebml.len() + 12 + children.len());
    head.put_slice(ebml);
    head.put_slice(&segment_header());
    head.put_slice(children);
    head.freeze()
}

/// A Segment's ID and size field (unknown, 8 bytes), as the service
/// writes them.
fn segment_header() -> Bytes {
    to_bytes(&Element::master(ids::SEGMENT, Vec::new()).sized(SEGMENT_SIZE))
}

/// A Tags element holding one Tag with one SimpleTag per `(name, value)`,
/// every size field 4 bytes wide, as the service writes them.
pub(crate) fn tags(pairs: &[(&str, &str)]) -> Bytes {
    let simple = pairs
        .iter()
        .map(|(name, value)| simple_tag(name, &TagValue::String((*value).into()), None))
        .collect();
    let tag = Element::master(ids::TAG, simple);
    to_bytes(&Element::master(ids::TAGS, vec![tag]).sized_deep(TAG_SIZE))
}

/// A chunk of nothing but tags (an error report): the writer's EBML header,
/// a Segment of unknown size, the tags.
pub(crate) fn tags_only_chunk(pairs: &[(&str, &str)]) -> Bytes {
    let ebml = to_bytes(&ebml_header(2));
    let tags = tags(pairs);
    let segment = segment_header();
    let mut out = BytesMut::with_capacity(ebml.len() + segment.len() + tags.len());
    out.put_slice(&ebml);
    out.put_slice(&segment);
    out.put_slice(&tags);
    out.freeze()
}

/// `secs.mmm`, as the service writes timestamps in tags.
pub(crate) fn tag_timestamp(ms: u64) -> String {
    // The sub-second part is below 10^9 nanoseconds: always a Timestamp.
    Timestamp::new(ms / 1000, (ms % 1000) as u32 * 1_000_000)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_match_the_service_layout() {
        let t = tags(&[("AWS_KINESISVIDEO_SERVER_TIMESTAMP", "1511852109.126")]);
        // Tags, size 4 bytes wide; Tag; SimpleTag; TagName; TagString.
        assert_eq!(&t[..4], &[0x12, 0x54, 0xC3, 0x67]);
        assert_eq!(t[4] & 0xF0, 0x10);
        assert_eq!(&t[8..10], &[0x73, 0x73]);
        assert_eq!(&t[14..16], &[0x67, 0xC8]);
        assert_eq!(&t[20..22], &[0x45, 0xA3]);
    }

    #[test]
    fn a_tags_only_chunk_decodes() {
        let chunk = tags_only_chunk(&[
            ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "123"),
            ("AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE", "4000"),
            ("AWS_KINESISVIDEO_EXCEPTION_MESSAGE", "not found"),
        ]);
        let mut buf = BytesMut::from(&chunk[..]);
        let decoded = ChunkDecoder::default()
            .decode_eof(&mut buf)
            .unwrap()
            .unwrap();
        assert!(decoded.is_complete());
        assert_eq!(decoded.fragment_number().unwrap().as_str(), "123");
        assert_eq!(decoded.info().aws.exception_error_code, Some(4000));
        assert_eq!(decoded.info().tags.len(), 3);
    }

    #[test]
    fn recordings_are_cut_into_fragments() {
        let sample = std::fs::read("testdata/sample.mkv").unwrap();
        let split = split_recording(&sample).unwrap();
        assert_eq!(
            (split.pieces.len(), split.incomplete, split.errors),
            (3, 0, 0)
        );
        assert!(split.pieces.iter().all(|p| p.recorded.is_some()));
        // No AWS tags are left in what is served around the new ones.
        for p in &split.pieces {
            assert!(memmem::find(&p.head, b"AWS_KINESISVIDEO_").is_none());
            assert!(memmem::find(&p.media, b"AWS_KINESISVIDEO_").is_none());
            assert_eq!(&p.head[..4], &[0x1A, 0x45, 0xDF, 0xA3]);
        }
        // A chunk cut short is left out.
        let split = split_recording(&sample[..sample.len() - 10]).unwrap();
        assert_eq!((split.pieces.len(), split.incomplete), (2, 1));
        let split = split_recording(b"not matroska at all").unwrap();
        assert!(split.pieces.is_empty() && split.errors > 0);
    }

    #[test]
    fn timestamps_have_three_fraction_digits() {
        assert_eq!(tag_timestamp(1_511_852_109_006), "1511852109.006");
        assert_eq!(tag_timestamp(0), "0.000");
    }
}
