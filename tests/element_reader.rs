//! The element reader (`kvs_mkv::matroska::ElementReader`) against
//! independent readers of the same files (mkvinfo, ebml-iterable), fed in
//! pieces of every size, and on damaged input built byte by byte.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::BytesMut;
use common::ebml::*;
use kvs_mkv::matroska::{Element, ElementReader};
use kvs_mkv::{DecodeError, DecodeErrorKind, ElementId, Limits};
use proptest::prelude::*;

type Items = Vec<Result<Element, DecodeError>>;

/// A bound on items: each one consumes input or ends an element, so a
/// reader that reports more than this is looping.
fn max_items(input: &[u8]) -> usize {
    4 * input.len() + 16
}

/// Everything `reader` reports on `input` fed in pieces of `sizes`
/// (cycled), through the `BytesMut` interface.
fn read_with(reader: &mut ElementReader, input: &[u8], sizes: &[usize]) -> Items {
    let limit = max_items(input);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let (mut at, mut i) = (0, 0);
    loop {
        let eof = at == input.len();
        if !eof {
            let n = sizes[i % sizes.len()].max(1).min(input.len() - at);
            i += 1;
            buf.extend_from_slice(&input[at..at + n]);
            at += n;
        }
        loop {
            let r = if eof {
                reader.next_eof(&mut buf)
            } else {
                reader.next(&mut buf)
            };
            match r.transpose() {
                Some(item) => out.push(item),
                None => break,
            }
            assert!(out.len() <= limit, "the reader keeps reporting");
        }
        if eof {
            assert!(buf.is_empty(), "bytes left after the end");
            return out;
        }
    }
}

fn read_pieces(input: &[u8], sizes: &[usize]) -> Items {
    read_with(&mut ElementReader::default(), input, sizes)
}

fn read_whole(input: &[u8]) -> Items {
    read_pieces(input, &[input.len().max(1)])
}

/// The same through the slice interface: the caller keeps what the reader
/// has not consumed and appends each piece to it.
fn read_slices(input: &[u8], sizes: &[usize]) -> Items {
    let mut reader = ElementReader::default();
    let limit = max_items(input);
    let mut window: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let (mut at, mut i) = (0, 0);
    loop {
        let eof = at == input.len();
        if !eof {
            let n = sizes[i % sizes.len()].max(1).min(input.len() - at);
            i += 1;
            window.extend_from_slice(&input[at..at + n]);
            at += n;
        }
        loop {
            let before = reader.position();
            let step = reader.read(&window, eof);
            assert_eq!(reader.position() - before, step.consumed as u64);
            window.drain(..step.consumed);
            match step.item {
                Some(item) => out.push(item),
                None => break,
            }
            assert!(out.len() <= limit, "the reader keeps reporting");
        }
        if eof {
            assert!(window.is_empty(), "bytes left after the end");
            return out;
        }
    }
}

/// Checks what every report must satisfy: `Start`s and `End`s pair up with
/// matching IDs and depths, depths follow the nesting, offsets never go
/// back, and every element lies inside its parent's declared size.
fn check_structure(items: &Items) {
    // (id, start, declared end)
    let mut open: Vec<(u32, u64, Option<u64>)> = Vec::new();
    let mut last = 0u64;
    for item in items {
        let Ok(e) = item else { continue };
        match *e {
            Element::Start {
                id,
                offset,
                header_len,
                size,
                depth,
            } => {
                assert_eq!(depth, open.len(), "{e:?}");
                assert!(offset >= last, "{e:?} goes back from {last}");
                let end = size.map(|s| offset + u64::from(header_len) + s);
                if let (Some(end), Some(&(_, _, Some(parent_end)))) = (end, open.last()) {
                    assert!(end <= parent_end, "{e:?} overruns its parent");
                }
                last = offset + u64::from(header_len);
                open.push((id, offset, end));
            }
            Element::Leaf {
                offset,
                header_len,
                size,
                depth,
                ..
            } => {
                assert_eq!(depth, open.len(), "{e:?}");
                assert!(offset >= last, "{e:?} goes back from {last}");
                let end = offset + u64::from(header_len) + size;
                if let Some(&(_, _, Some(parent_end))) = open.last() {
                    assert!(end <= parent_end, "{e:?} overruns its parent");
                }
                last = offset + u64::from(header_len);
            }
            Element::End {
                id,
                offset_end,
                depth,
                complete,
            } => {
                let (open_id, start, end) = open.pop().expect("End without Start");
                assert_eq!((id, depth), (open_id, open.len()), "{e:?}");
                assert!(offset_end >= start && offset_end >= last, "{e:?}");
                if let Some(end) = end {
                    // Complete at its declared end; cut before it.
                    assert_eq!(complete, offset_end == end, "{e:?}, declared end {end}");
                }
                last = offset_end;
            }
        }
    }
    assert!(open.is_empty(), "Starts without End: {open:?}");
}

fn elements(items: &Items) -> Vec<Element> {
    items
        .iter()
        .filter_map(|i| i.as_ref().ok().copied())
        .collect()
}

fn errors(items: &Items) -> Vec<DecodeError> {
    items
        .iter()
        .filter_map(|i| i.as_ref().err().cloned())
        .collect()
}

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mkv"))
        .collect();
    files.sort();
    files.extend(common::recordings());
    files
}

// ---------------------------------------------------------------------------
// mkvinfo

/// One element line of `mkvinfo -a -v -v -z`: depth (the column of `+`),
/// offset, total size and data size (`None`: unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line {
    depth: usize,
    offset: u64,
    size: Option<(u64, u64)>,
}

/// Parses mkvinfo's element lines; `Frame` lines (the frames of a block,
/// not elements) and warnings are left out. Lines end in
/// `at OFFSET size TOTAL data size DATA` or `at OFFSET size is unknown`.
fn mkvinfo(path: &Path) -> Vec<Line> {
    let out = Command::new("mkvinfo")
        .args(["-a", "-v", "-v", "-z"])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = Vec::new();
    for line in text.lines() {
        let Some(depth) = line.find('+') else {
            continue;
        };
        if !line[..depth].chars().all(|c| c == '|' || c == ' ') {
            continue;
        }
        let item = &line[depth + 2..];
        if item.starts_with("Frame at ") {
            continue;
        }
        let words: Vec<&str> = item.split(' ').collect();
        let n = words.len();
        let (offset, size) = if item.ends_with(" size is unknown") {
            assert_eq!(words[n - 5], "at", "{line}");
            (words[n - 4], None)
        } else {
            assert_eq!(words[n - 7..n - 5], ["at", words[n - 6]], "{line}");
            assert_eq!(words[n - 5..n - 3], ["size", words[n - 4]], "{line}");
            assert_eq!(words[n - 3..n - 1], ["data", "size"], "{line}");
            let total: u64 = words[n - 4].parse().unwrap();
            let data: u64 = words[n - 1].parse().unwrap();
            (words[n - 6], Some((total, data)))
        };
        lines.push(Line {
            depth,
            offset: offset.parse().unwrap(),
            size,
        });
    }
    lines
}

/// The reader's elements as mkvinfo lines, with the payload range of each
/// leaf (mkvinfo looks inside masters the crate's schema does not know,
/// which the reader reports as leaves).
fn as_lines(items: &[Element], base: u64) -> Vec<(Line, Option<(u64, u64)>)> {
    items
        .iter()
        .filter_map(|e| match *e {
            Element::Start {
                offset,
                header_len,
                size,
                depth,
                ..
            } => Some((
                Line {
                    depth,
                    offset: offset - base,
                    size: size.map(|s| (u64::from(header_len) + s, s)),
                },
                None,
            )),
            // mkvinfo checks CRC-32 elements and does not list them.
            Element::Leaf { id: 0xBF, .. } => None,
            Element::Leaf {
                offset,
                header_len,
                size,
                depth,
                ..
            } => {
                let total = u64::from(header_len) + size;
                Some((
                    Line {
                        depth,
                        offset: offset - base,
                        size: Some((total, size)),
                    },
                    Some((offset - base, offset - base + total)),
                ))
            }
            Element::End { .. } => None,
        })
        .collect()
}

/// Every element of every file, with the offset, depth, header and data size
/// mkvinfo gives. mkvinfo reads one EBML document and resynchronizes at the
/// next chunk's header as if it were damage, so each chunk (from one EBML
/// header to the next) is given to it as a file of its own.
#[test]
fn elements_agree_with_mkvinfo() {
    if !common::tool("mkvinfo") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("kvs-mkv-element-reader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut compared = 0;
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let items = read_whole(&bytes);
        // Files cut short (a dropped connection) end in a truncation.
        for e in errors(&items) {
            assert!(
                matches!(e.kind, DecodeErrorKind::Truncated { .. }),
                "{}: {e}",
                file.display()
            );
        }
        let all = elements(&items);
        let starts: Vec<u64> = all
            .iter()
            .filter_map(|e| match *e {
                Element::Start {
                    id: 0x1A45_DFA3,
                    offset,
                    depth: 0,
                    ..
                } => Some(offset),
                _ => None,
            })
            .chain([bytes.len() as u64])
            .collect();
        assert!(starts.len() > 1, "{}: no EBML header", file.display());
        for w in starts.windows(2) {
            let (from, to) = (w[0], w[1]);
            let piece = dir.join("piece.mkv");
            std::fs::write(&piece, &bytes[from as usize..to as usize]).unwrap();
            let theirs = mkvinfo(&piece);
            let inside: Vec<Element> = all
                .iter()
                .copied()
                .filter(|e| {
                    matches!(*e, Element::Start { offset, .. } | Element::Leaf { offset, .. }
                        if (from..to).contains(&offset))
                })
                .collect();
            let mut mine = as_lines(&inside, from);
            // mkvinfo leaves out a leaf cut short by the end of the file.
            if let Some(&(_, Some((_, end)))) = mine.last() {
                if end > to - from {
                    assert!(matches!(
                        errors(&items).last().map(|e| &e.kind),
                        Some(DecodeErrorKind::Truncated { .. })
                    ));
                    mine.pop();
                }
            }
            // Lines inside an element read as a leaf are mkvinfo's
            // knowledge of more of the schema, not a disagreement.
            let leaves: Vec<(u64, u64)> = mine.iter().filter_map(|m| m.1).collect();
            let theirs: Vec<Line> = theirs
                .into_iter()
                .filter(|l| !leaves.iter().any(|&(s, e)| l.offset > s && l.offset < e))
                .collect();
            let mine: Vec<Line> = mine.into_iter().map(|m| m.0).collect();
            let ctx = format!("{} bytes {from}..{to}", file.display());
            for (i, (a, b)) in mine.iter().zip(&theirs).enumerate() {
                assert_eq!(a, b, "{ctx}: element {i}");
            }
            assert_eq!(mine.len(), theirs.len(), "{ctx}");
            compared += mine.len();
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(compared > 1000, "only {compared} elements compared");
    eprintln!("{compared} elements agree with mkvinfo");
}

// ---------------------------------------------------------------------------
// ebml-iterable

/// What ebml-iterable reports, as the reader reports it: kind, ID, where
/// the element begins (for an end, where its start was), and for binary
/// leaves the payload size (the only type whose size it keeps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Start(u32, u64),
    Leaf(u32, u64, Option<u64>),
    End(u32, u64),
}

fn ebml_iterable(bytes: &[u8]) -> (Vec<Tag>, bool) {
    use ebml_iterable::specs::{EbmlTag, Master};
    use ebml_iterable::TagIterator;
    use webm_iterable::matroska_spec::MatroskaSpec;

    let mut tags = TagIterator::<_, MatroskaSpec>::new(bytes, &[]);
    let mut out = Vec::new();
    let mut failed = false;
    while let Some(tag) = tags.next() {
        let Ok(tag) = tag else {
            failed = true;
            break;
        };
        let at = tags.last_emitted_tag_offset() as u64;
        let id = tag.get_id() as u32;
        out.push(match tag.as_master() {
            Some(Master::Start) => Tag::Start(id, at),
            Some(Master::End) => Tag::End(id, at),
            Some(Master::Full(_)) => unreachable!("nothing is buffered"),
            None => Tag::Leaf(id, at, tag.as_binary().map(|b| b.len() as u64)),
        });
    }
    (out, failed)
}

/// The reader's elements as ebml-iterable tags; the sizes of binary leaves
/// are looked up in ebml-iterable's answer (which knows the types).
fn as_tags(items: &[Element], theirs: &[Tag]) -> Vec<Tag> {
    let mut starts = Vec::new();
    items
        .iter()
        .map(|e| match *e {
            Element::Start { id, offset, .. } => {
                starts.push(offset);
                Tag::Start(id, offset)
            }
            Element::Leaf {
                id, offset, size, ..
            } => {
                let binary = theirs
                    .iter()
                    .any(|t| matches!(*t, Tag::Leaf(i, o, Some(_)) if (i, o) == (id, offset)));
                Tag::Leaf(id, offset, binary.then_some(size))
            }
            Element::End { id, .. } => Tag::End(id, starts.pop().unwrap()),
        })
        .collect()
}

/// Every element of every file, with the ID, offset and nesting (and the
/// size of binary ones) ebml-iterable with webm-iterable's Matroska schema
/// gives, fed the whole file: its reader goes on from chunk to chunk.
#[test]
fn elements_agree_with_ebml_iterable() {
    let mut compared = 0;
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let items = read_whole(&bytes);
        let (theirs, failed) = ebml_iterable(&bytes);
        let mut mine = as_tags(&elements(&items), &theirs);
        let truncated = matches!(
            errors(&items).last().map(|e| &e.kind),
            Some(DecodeErrorKind::Truncated { .. })
        );
        // Cut short, ebml-iterable stops with an error at the element that
        // was cut, which the reader reports, with the open elements' ends.
        assert_eq!(failed, truncated, "{}", file.display());
        if truncated {
            while matches!(mine.last(), Some(Tag::End(..))) {
                mine.pop();
            }
            mine.pop();
        }
        // Elements the crate's schema reads as leaves (masters it does not
        // know) and webm-iterable's as masters: their insides are left out.
        let mut theirs_kept = Vec::new();
        let mut inside: Option<(u32, u64)> = None;
        for t in &theirs {
            match (inside, *t) {
                (Some(open), Tag::End(id, at)) if (id, at) == open => inside = None,
                (Some(_), _) => {}
                (None, Tag::Start(id, at))
                    if mine
                        .iter()
                        .any(|m| matches!(*m, Tag::Leaf(i, o, _) if (i, o) == (id, at))) =>
                {
                    inside = Some((id, at));
                    theirs_kept.push(Tag::Leaf(id, at, None));
                }
                (None, t) => theirs_kept.push(t),
            }
        }
        for (i, (a, b)) in mine.iter().zip(&theirs_kept).enumerate() {
            assert_eq!(a, b, "{}: element {i}", file.display());
        }
        assert_eq!(mine.len(), theirs_kept.len(), "{}", file.display());
        compared += mine.len();
    }
    assert!(compared > 1000, "only {compared} compared");
    eprintln!("{compared} starts, leaves and ends agree with ebml-iterable");
}

// ---------------------------------------------------------------------------
// Pieces

/// Every file fed one byte at a time, through both interfaces, reports
/// what it reports fed whole; and what it reports holds together.
#[test]
fn one_byte_pieces_change_nothing() {
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        if bytes.len() > 64 << 10 {
            continue; // the recordings: in random pieces below
        }
        let whole = read_whole(&bytes);
        check_structure(&whole);
        assert_eq!(read_pieces(&bytes, &[1]), whole, "{}", file.display());
        assert_eq!(read_slices(&bytes, &[1]), whole, "{}", file.display());
    }
}

/// Inputs for the proptests: the files, each cut or damaged a little.
fn inputs() -> Vec<Vec<u8>> {
    files()
        .iter()
        .map(|f| {
            let mut bytes = std::fs::read(f).unwrap();
            bytes.truncate(256 << 10);
            bytes
        })
        .collect()
}

/// A random edit: bytes overwritten, inserted or removed at a random place.
#[derive(Debug, Clone)]
enum Edit {
    None,
    Overwrite(usize, Vec<u8>),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn apply(mut bytes: Vec<u8>, edit: &Edit) -> Vec<u8> {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match edit {
        Edit::None => {}
        Edit::Overwrite(i, junk) => {
            let i = at(*i, bytes.len());
            for (k, b) in junk.iter().enumerate() {
                if let Some(x) = bytes.get_mut(i + k) {
                    *x = *b;
                }
            }
        }
        Edit::Insert(i, junk) => {
            let i = at(*i, bytes.len());
            bytes.splice(i..i, junk.iter().copied());
        }
        Edit::Remove(i, n) => {
            let i = at(*i, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
    }
    bytes
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        Just(Edit::None),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, j)| Edit::Overwrite(i, j)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, j)| Edit::Insert(i, j)),
        (any::<usize>(), 1..64usize).prop_map(|(i, n)| Edit::Remove(i, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random pieces, on every file with a random edit (damage, cuts):
    /// the same reports as fed whole, through both interfaces; no panic,
    /// and the reports hold together.
    #[test]
    fn random_pieces_change_nothing(
        file in 0..64usize,
        edit in edit(),
        cut in any::<usize>(),
        sizes in prop::collection::vec(1..3000usize, 1..16),
    ) {
        let inputs = inputs();
        let mut input = apply(inputs[file % inputs.len()].clone(), &edit);
        if cut % 4 == 0 {
            input.truncate(cut / 4 % (input.len() + 1));
        }
        let whole = read_whole(&input);
        check_structure(&whole);
        prop_assert_eq!(&read_pieces(&input, &sizes), &whole);
        prop_assert_eq!(&read_slices(&input, &sizes), &whole);
    }
}

// ---------------------------------------------------------------------------
// Payloads and skipping

/// Reads `input` in pieces, asking for the payload of every leaf: each is
/// the input's bytes at the leaf's data offsets.
fn read_payloads(input: &[u8], sizes: &[usize]) -> (Items, Vec<(u64, bytes::Bytes)>) {
    let mut reader = ElementReader::default();
    let mut buf = BytesMut::new();
    let (mut items, mut payloads) = (Vec::new(), Vec::new());
    let mut want: Option<u64> = None;
    let (mut at, mut i) = (0, 0);
    loop {
        let eof = at == input.len();
        if !eof {
            let n = sizes[i % sizes.len()].min(input.len() - at);
            i += 1;
            buf.extend_from_slice(&input[at..at + n]);
            at += n;
        }
        loop {
            if let Some(offset) = want {
                match reader.payload(&mut buf).unwrap() {
                    Some(data) => {
                        payloads.push((offset, data));
                        want = None;
                    }
                    None if eof => want = None, // cut short
                    None => break,
                }
            }
            let r = if eof {
                reader.next_eof(&mut buf)
            } else {
                reader.next(&mut buf)
            };
            match r.transpose() {
                Some(item) => {
                    if let Ok(Element::Leaf { .. }) = item {
                        want = reader.pending_payload().map(|r| r.start);
                    }
                    items.push(item);
                }
                None => break,
            }
        }
        if eof {
            return (items, payloads);
        }
    }
}

#[test]
fn payloads_are_the_bytes_at_their_offsets() {
    for file in files() {
        let bytes = std::fs::read(&file).unwrap();
        let whole = read_whole(&bytes);
        for sizes in [&[bytes.len()][..], &[1460], &[7, 1, 300]] {
            let (items, payloads) = read_payloads(&bytes, sizes);
            // Taking payloads changes no report.
            assert_eq!(items, whole, "{}", file.display());
            let leaves: Vec<(u64, u64)> = elements(&items)
                .iter()
                .filter(|e| matches!(e, Element::Leaf { .. }))
                .map(|e| (e.data_offset().unwrap(), e.end().unwrap()))
                .collect();
            let cut = usize::from(matches!(
                errors(&items).last().map(|e| &e.kind),
                Some(DecodeErrorKind::Truncated { .. })
            ));
            assert_eq!(payloads.len() + cut, leaves.len(), "{}", file.display());
            for ((offset, data), (start, end)) in payloads.iter().zip(&leaves) {
                assert_eq!(offset, start);
                assert_eq!(&data[..], &bytes[*start as usize..*end as usize]);
            }
        }
    }
}

/// Fed whole, a payload is a view of the caller's buffer, not a copy.
#[test]
fn payloads_are_views_of_the_buffer() {
    let bytes = common::testdata("sample.mkv");
    let mut buf = BytesMut::from(&bytes[..]);
    let fed = buf.as_ptr_range();
    let mut reader = ElementReader::default();
    let mut n = 0;
    while let Some(e) = reader.next_eof(&mut buf).unwrap() {
        if let Element::Leaf {
            id: SIMPLE_BLOCK, ..
        } = e
        {
            let data = reader.payload(&mut buf).unwrap().unwrap();
            let view = data.as_ptr_range();
            assert!(fed.start <= view.start && view.end <= fed.end, "copied");
            n += 1;
        }
    }
    assert_eq!(n, 45);
}

/// `skip_contents` after a Start: its children are not reported, its End
/// is, at its end; the rest is as without skipping, in any pieces.
#[test]
fn skipped_masters_report_only_their_end() {
    for name in [
        "sample.mkv",
        "producer_sdk.mkv",
        "two_track.mkv",
        "truncated.mkv",
    ] {
        let bytes = common::testdata(name);
        let whole = read_whole(&bytes);
        // Without the children of every Cluster and every Tracks.
        let mut expected = Vec::new();
        let mut skipping: Option<usize> = None;
        for item in &whole {
            match (skipping, item) {
                (Some(d), Ok(Element::End { depth, .. })) if *depth == d => {
                    skipping = None;
                    expected.push(item.clone());
                }
                (Some(_), Ok(_)) => {}
                (
                    None,
                    Ok(Element::Start {
                        id: CLUSTER | TRACKS,
                        depth,
                        ..
                    }),
                ) => {
                    skipping = Some(*depth);
                    expected.push(item.clone());
                }
                _ => expected.push(item.clone()),
            }
        }
        if name == "truncated.mkv" {
            // Cut inside a skipped Cluster: the reader did not look inside,
            // so it is the Cluster that was cut, where the input ends.
            let last = expected.last_mut().unwrap();
            assert_eq!(
                *last,
                Err(DecodeError {
                    offset: 17908,
                    skipped: 0,
                    kind: DecodeErrorKind::Truncated {
                        inside: ElementId(SIMPLE_BLOCK)
                    }
                })
            );
            *last = Err(DecodeError {
                offset: bytes.len() as u64,
                skipped: 0,
                kind: DecodeErrorKind::Truncated {
                    inside: ElementId(CLUSTER),
                },
            });
        }
        for sizes in [&[bytes.len()][..], &[1], &[100, 3]] {
            let mut reader = ElementReader::default();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let (mut at, mut i) = (0, 0);
            loop {
                let eof = at == bytes.len();
                if !eof {
                    let n = sizes[i % sizes.len()].min(bytes.len() - at);
                    i += 1;
                    buf.extend_from_slice(&bytes[at..at + n]);
                    at += n;
                }
                loop {
                    let r = if eof {
                        reader.next_eof(&mut buf)
                    } else {
                        reader.next(&mut buf)
                    };
                    match r.transpose() {
                        Some(item) => {
                            if let Ok(Element::Start {
                                id: CLUSTER | TRACKS,
                                ..
                            }) = item
                            {
                                reader.skip_contents();
                            }
                            got.push(item);
                        }
                        None => break,
                    }
                }
                if eof {
                    break;
                }
            }
            assert_eq!(got, expected, "{name} in pieces of {sizes:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// Damage

const CRC32: u32 = 0xBF;

/// The reports for `items` read `delta` bytes further into a stream.
fn shifted(items: &Items, delta: u64) -> Items {
    items
        .iter()
        .map(|item| match item {
            Ok(e) => Ok(match *e {
                Element::Start {
                    id,
                    offset,
                    header_len,
                    size,
                    depth,
                } => Element::Start {
                    id,
                    offset: offset + delta,
                    header_len,
                    size,
                    depth,
                },
                Element::Leaf {
                    id,
                    offset,
                    header_len,
                    size,
                    depth,
                } => Element::Leaf {
                    id,
                    offset: offset + delta,
                    header_len,
                    size,
                    depth,
                },
                Element::End {
                    id,
                    offset_end,
                    depth,
                    complete,
                } => Element::End {
                    id,
                    offset_end: offset_end + delta,
                    depth,
                    complete,
                },
            }),
            Err(e) => Err(DecodeError {
                offset: e.offset + delta,
                ..e.clone()
            }),
        })
        .collect()
}

/// The head of a chunk as the producer SDKs write it: EBML header, Segment
/// and Cluster of unknown size (1-byte size fields), Info, the Cluster's
/// Timestamp and one SimpleBlock.
fn producer_head() -> Vec<u8> {
    concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 1),
        info(1_000_000),
        open_unknown(CLUSTER, 1),
        uint(TIMECODE, 0),
        simple_block(1, 0, true, &[0xAA; 10]),
    ])
}

/// A whole, good chunk to follow the damage: the reader must read it as it
/// reads it alone.
fn good_chunk() -> Vec<u8> {
    concat(&[
        producer_head(),
        simple_block(1, 33, false, &[0xBB; 20]),
        tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "7")], 4),
    ])
}

/// `damaged` then a good chunk: the reports up to the damage's error, and
/// checks that what follows the error is the good chunk's reports.
fn until_error(damaged: &[u8]) -> Items {
    let good = good_chunk();
    let input = [damaged, &good[..]].concat();
    let items = read_whole(&input);
    check_structure(&items);
    for sizes in [&[1][..], &[3, 50]] {
        assert_eq!(read_pieces(&input, sizes), items, "pieces of {sizes:?}");
    }
    let after = shifted(&read_whole(&good), damaged.len() as u64);
    assert_eq!(errors(&after), []);
    let n = items.len() - after.len();
    assert_eq!(items[n..], after[..], "the chunk after the damage");
    items[..n].to_vec()
}

/// An element's end, complete (by its size or the unknown-size rule).
fn end(id: u32, offset_end: usize, depth: usize) -> Result<Element, DecodeError> {
    Ok(Element::End {
        id,
        offset_end: offset_end as u64,
        depth,
        complete: true,
    })
}

/// An element's end where damage or the end of the input cut it short.
fn cut(id: u32, offset_end: usize, depth: usize) -> Result<Element, DecodeError> {
    Ok(Element::End {
        id,
        offset_end: offset_end as u64,
        depth,
        complete: false,
    })
}

fn error(offset: usize, skipped: usize, kind: DecodeErrorKind) -> Result<Element, DecodeError> {
    Err(DecodeError {
        offset: offset as u64,
        skipped: skipped as u64,
        kind,
    })
}

/// The case of issue H: junk inside a producer-SDK Cluster (unknown size).
/// The Cluster and Segment end at the junk, which is reported there, and
/// the next chunk is read.
#[test]
fn junk_inside_an_unknown_size_cluster() {
    let head = producer_head();
    let at = head.len();
    // Four zero bytes: no valid ID begins with 0x00.
    let damaged = [
        &head[..],
        &[0, 0, 0, 0],
        &simple_block(1, 33, false, &[1; 9]),
    ]
    .concat();
    let items = until_error(&damaged);
    assert_eq!(
        items[items.len() - 3..],
        [
            end(CLUSTER, at, 1),
            end(SEGMENT, at, 0),
            error(at, damaged.len() - at, DecodeErrorKind::InvalidElementId),
        ]
    );
    // The elements before it, as the chunk's head alone reports them.
    let mut alone = read_whole(&head);
    alone.truncate(alone.len() - 2); // its clean End of Cluster, Segment
    assert_eq!(items[..items.len() - 3], alone[..]);

    // Junk that reads as an element the schema does not know (ID 0x4200,
    // size 1): it cannot stand in a Cluster or a Segment, so both end, and
    // at the top level it is damage.
    let damaged = [&head[..], &[0x42, 0x00, 0x81, 0x00], &[0xA3, 0x85][..]].concat();
    let items = until_error(&damaged);
    assert_eq!(
        items[items.len() - 3..],
        [
            end(CLUSTER, at, 1),
            end(SEGMENT, at, 0),
            error(
                at,
                damaged.len() - at,
                DecodeErrorKind::UnexpectedElement {
                    id: ElementId(0x4200),
                    parent: ElementId(0),
                }
            ),
        ]
    );
}

/// Invalid bytes inside a Cluster of known size cut it, and the Segment
/// around it, though that has an unknown size.
#[test]
fn junk_inside_a_known_size_cluster() {
    let block = simple_block(1, 0, true, &[6; 5]);
    let (chunk, children, _) =
        known_cluster_chunk(&[&block[..], &[0, 0, 0, 0]].concat(), 3 + block.len() + 4);
    let at = children + 3 + block.len();
    let items = until_error(&chunk);
    assert_eq!(
        items[items.len() - 3..],
        [
            cut(CLUSTER, at, 1),
            cut(SEGMENT, at, 0),
            error(at, chunk.len() - at, DecodeErrorKind::InvalidElementId),
        ]
    );
}

#[test]
fn junk_before_the_first_chunk() {
    // 'g' (0x67) begins a 2-byte ID, 0x6761 ("ga"), which the schema does
    // not know; 'r' (0x72) a 2-byte size. Not an element of the top level.
    let items = until_error(b"garbage");
    let kind = DecodeErrorKind::UnexpectedElement {
        id: ElementId(0x6761),
        parent: ElementId(0),
    };
    assert_eq!(items, [error(0, 7, kind.clone())]);
    // Said as a place, not as a parent "element 0x0".
    assert_eq!(
        kind.to_string(),
        "unexpected element 0x6761 at the top level"
    );
    // A byte no ID begins with.
    let items = until_error(b"\x00garbage");
    assert_eq!(items, [error(0, 8, DecodeErrorKind::InvalidElementId)]);
}

/// Void and CRC-32 close nothing; an EBML header closes everything open
/// (all of unknown size here): no error.
#[test]
fn void_and_crc_close_nothing_and_ebml_closes_all() {
    let head = producer_head();
    let void_at = head.len();
    let chunk = concat(&[
        head,
        el(VOID, &[0; 3]),
        el(CRC32, &[1, 2, 3, 4]),
        simple_block(1, 33, false, &[2; 5]),
    ]);
    let items = until_error(&chunk);
    assert_eq!(errors(&items), []);
    let tail: Vec<Element> = elements(&items)[elements(&items).len() - 5..].to_vec();
    assert_eq!(
        tail,
        [
            Element::Leaf {
                id: VOID,
                offset: void_at as u64,
                header_len: 2,
                size: 3,
                depth: 2
            },
            Element::Leaf {
                id: CRC32,
                offset: void_at as u64 + 5,
                header_len: 2,
                size: 4,
                depth: 2
            },
            Element::Leaf {
                id: SIMPLE_BLOCK,
                offset: void_at as u64 + 11,
                header_len: 2,
                size: 9,
                depth: 2
            },
            Element::End {
                id: CLUSTER,
                offset_end: chunk.len() as u64,
                depth: 1,
                complete: true,
            },
            Element::End {
                id: SEGMENT,
                offset_end: chunk.len() as u64,
                depth: 0,
                complete: true,
            },
        ]
    );
}

/// A chunk with a Cluster of known size holding `cluster` (after its
/// Timestamp), the offset where the Cluster's children begin, and the
/// Cluster's end.
fn known_cluster_chunk(cluster: &[u8], claimed: usize) -> (Vec<u8>, usize, usize) {
    let head = concat(&[ebml_header(), open_unknown(SEGMENT, 1), info(1_000_000)]);
    let body = concat(&[uint(TIMECODE, 0), cluster.to_vec()]);
    // A 4-byte size field, so the header length does not depend on `claimed`.
    let cluster_el = [id(CLUSTER), size_w(claimed as u64, 4), body].concat();
    let children = head.len() + 8;
    let chunk = [head, cluster_el].concat();
    (chunk, children, children + claimed)
}

/// An element that ends after its parent: an Overrun at the element, with
/// both ends; the open elements end there and the next chunk is read.
#[test]
fn an_element_larger_than_its_parent() {
    let block = simple_block(1, 0, true, &[3; 20]); // 24 bytes
                                                    // The Cluster claims its Timestamp and 10 bytes of the 24.
    let (chunk, children, cluster_end) = known_cluster_chunk(&block, 3 + 10);
    let block_at = children + 3;
    let items = until_error(&chunk);
    assert_eq!(
        items[items.len() - 3..],
        [
            cut(CLUSTER, block_at, 1),
            cut(SEGMENT, block_at, 0),
            error(
                block_at,
                chunk.len() - block_at,
                DecodeErrorKind::Overrun {
                    id: ElementId(SIMPLE_BLOCK),
                    end: (block_at + block.len()) as u64,
                    parent: ElementId(CLUSTER),
                    parent_end: cluster_end as u64,
                }
            ),
        ]
    );
    // The header alone overruns: the Cluster claims 1 byte of it.
    let (chunk, children, cluster_end) = known_cluster_chunk(&block, 3 + 1);
    let items = until_error(&chunk);
    assert_eq!(
        items.last().unwrap(),
        &error(
            children + 3,
            chunk.len() - children - 3,
            DecodeErrorKind::Overrun {
                id: ElementId(SIMPLE_BLOCK),
                end: (children + 3 + block.len()) as u64,
                parent: ElementId(CLUSTER),
                parent_end: cluster_end as u64,
            }
        )
    );
}

/// A master of unknown size whose header alone crosses the end of its
/// parent (a Segment of known size) overruns it too.
#[test]
fn an_unknown_size_header_across_its_parents_end() {
    let head = ebml_header();
    let segment_at = head.len();
    // The Segment claims 3 bytes; the Cluster header in it takes 5.
    let chunk = concat(&[head, id(SEGMENT), size_w(3, 1), open_unknown(CLUSTER, 1)]);
    let cluster_at = segment_at + 5;
    let items = until_error(&chunk);
    assert_eq!(
        items[items.len() - 2..],
        [
            cut(SEGMENT, cluster_at, 0),
            error(
                cluster_at,
                chunk.len() - cluster_at,
                DecodeErrorKind::Overrun {
                    id: ElementId(CLUSTER),
                    end: (cluster_at + 5) as u64,
                    parent: ElementId(SEGMENT),
                    parent_end: (cluster_at + 3) as u64,
                }
            ),
        ]
    );
}

/// SimpleTags nested 40 deep: the master that would be the 33rd open one
/// is TooDeep, at its offset; with a limit of 4, the fifth.
#[test]
fn nesting_deeper_than_the_limit() {
    let mut tag = el_w(TAG_NAME, b"x", 8);
    for _ in 0..40 {
        tag = el_w(SIMPLE_TAG, &tag, 8);
    }
    let head = concat(&[ebml_header(), open_unknown(SEGMENT, 1)]);
    let tags_at = head.len();
    let chunk = concat(&[head, el_w(TAGS, &el_w(TAG, &tag, 8), 8)]);
    // Segment, Tags, Tag are open; each SimpleTag header is 2 + 8 bytes.
    let nth_simple_tag = |n: usize| tags_at + 12 + 10 + 10 * (n - 1);
    let items = until_error(&chunk);
    let at = nth_simple_tag(32 - 3 + 1);
    assert_eq!(
        items.last().unwrap(),
        &error(at, chunk.len() - at, DecodeErrorKind::TooDeep { limit: 32 })
    );
    assert_eq!(elements(&items).iter().map(|e| e.depth()).max(), Some(31));
    let ends = |complete| {
        let end = |i: &&Result<Element, DecodeError>| matches!(i, Ok(Element::End { complete: c, .. }) if *c == complete);
        items.iter().filter(end).count()
    };
    assert_eq!(ends(true), 1, "the EBML header's");
    assert_eq!(ends(false), 32, "every open one, cut");

    let mut limits = Limits::default();
    limits.max_depth = 4;
    let mut reader = ElementReader::with_limits(limits);
    let items = read_with(&mut reader, &chunk, &[chunk.len()]);
    let at = nth_simple_tag(2);
    assert_eq!(
        items.last().unwrap(),
        &error(at, 0, DecodeErrorKind::TooDeep { limit: 4 })
    );
}

/// The largest sizes a size field holds (2^56 - 2; 2^56 - 1 is "unknown"):
/// a leaf that claims it is too large to pass over; a Cluster that claims
/// it, in a Segment of unknown size, is cut by the next EBML header; in a
/// Cluster of known size, a leaf that claims it overruns.
#[test]
fn sizes_of_two_to_the_56() {
    const HUGE: u64 = (1 << 56) - 2;
    let huge = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE];
    let head = producer_head();
    let at = head.len();
    let damaged = [&head[..], &[0xA3], &huge, &[0; 16]].concat();
    let items = until_error(&damaged);
    assert_eq!(
        items[items.len() - 3..],
        [
            cut(CLUSTER, at, 1),
            cut(SEGMENT, at, 0),
            error(
                at,
                damaged.len() - at,
                DecodeErrorKind::ElementTooLarge {
                    id: ElementId(SIMPLE_BLOCK),
                    size: HUGE,
                    limit: Limits::default().max_chunk_size,
                }
            ),
        ]
    );

    // A Cluster that claims 2^56 - 2 bytes: the next chunk's EBML header
    // cuts it, and is read as the start of that chunk.
    let head = concat(&[ebml_header(), open_unknown(SEGMENT, 1), info(1_000_000)]);
    let cluster_at = head.len();
    let damaged = [&head[..], &id(CLUSTER), &huge, &uint(TIMECODE, 0)].concat();
    let good = good_chunk();
    let input = [&damaged[..], &good].concat();
    let items = read_whole(&input);
    check_structure(&items);
    let cut = damaged.len();
    let n = items
        .iter()
        .position(|i| i.is_err())
        .expect("the cut is reported");
    assert_eq!(
        items[n - 3..=n],
        [
            Ok(Element::Leaf {
                id: TIMECODE,
                offset: cluster_at as u64 + 12,
                header_len: 2,
                size: 1,
                depth: 2
            }),
            self::cut(CLUSTER, cut, 1),
            self::cut(SEGMENT, cut, 0),
            error(
                cut,
                0,
                DecodeErrorKind::CutByNewChunk {
                    inside: ElementId(CLUSTER)
                }
            ),
        ]
    );
    assert_eq!(items[n + 1..], shifted(&read_whole(&good), cut as u64)[..]);
    // Skipped, it is still read (silently) past 256 MiB, the limit on what
    // is passed over unread: the cut and the next chunk are all there.
    let mut reader = ElementReader::default();
    let mut buf = BytesMut::from(&input[..]);
    let mut skipped = Vec::new();
    while let Some(item) = reader.next_eof(&mut buf).transpose() {
        if let Ok(Element::Start {
            id: CLUSTER,
            offset,
            ..
        }) = item
        {
            if offset == cluster_at as u64 {
                reader.skip_contents();
            }
        }
        skipped.push(item);
    }
    let mut expected = items.clone();
    // The Cluster's Timestamp is not reported.
    let timestamp = expected.remove(n - 3);
    assert!(matches!(timestamp, Ok(Element::Leaf { id: TIMECODE, .. })));
    assert_eq!(skipped, expected);

    // In a Cluster of known size.
    let (chunk, children, cluster_end) = known_cluster_chunk(&[0xA3], 3 + 9);
    let chunk = [&chunk[..], &huge].concat();
    let items = until_error(&chunk);
    assert_eq!(
        items.last().unwrap(),
        &error(
            children + 3,
            chunk.len() - children - 3,
            DecodeErrorKind::Overrun {
                id: ElementId(SIMPLE_BLOCK),
                end: (children + 3 + 9) as u64 + HUGE,
                parent: ElementId(CLUSTER),
                parent_end: cluster_end as u64,
            }
        )
    );
}

/// A SimpleBlock of unknown size: only masters may have one.
#[test]
fn a_leaf_of_unknown_size() {
    let head = producer_head();
    let at = head.len();
    let damaged = [&head[..], &[0xA3, 0xFF, 0x81, 0, 0, 0x80]].concat();
    let items = until_error(&damaged);
    // Not invalid bytes: the Cluster and Segment (unknown sizes) are cut.
    assert_eq!(
        items[items.len() - 3..],
        [
            cut(CLUSTER, at, 1),
            cut(SEGMENT, at, 0),
            error(
                at,
                damaged.len() - at,
                DecodeErrorKind::UnknownSize {
                    id: ElementId(SIMPLE_BLOCK)
                }
            ),
        ]
    );
}

/// Input that ends inside a leaf, inside a header, or between the children
/// of an element of known size is truncated; between elements of unknown
/// size it is not.
#[test]
fn truncated_input() {
    let block = simple_block(1, 0, true, &[4; 20]);
    let (chunk, children, _) = known_cluster_chunk(&block, 3 + block.len());
    let block_at = children + 3;
    let truncated = |inside: u32, offset: usize| {
        error(
            offset,
            0,
            DecodeErrorKind::Truncated {
                inside: ElementId(inside),
            },
        )
    };
    for (cut, expected) in [
        // Inside the block's payload.
        (block_at + 10, truncated(SIMPLE_BLOCK, block_at)),
        // Inside its header (the ID is in, the size is not).
        (block_at + 1, truncated(CLUSTER, block_at)),
        // Between the Cluster's Timestamp and the block.
        (block_at, truncated(CLUSTER, block_at)),
    ] {
        let input = &chunk[..cut];
        let items = read_whole(input);
        check_structure(&items);
        assert_eq!(
            items[items.len() - 3..],
            [
                self::cut(CLUSTER, cut, 1),
                self::cut(SEGMENT, cut, 0),
                expected
            ],
            "cut at {cut}"
        );
        assert_eq!(read_pieces(input, &[1]), items);
    }
    // The whole chunk, and a producer chunk cut after a block: clean ends.
    for input in [chunk.clone(), producer_head()] {
        let items = read_whole(&input);
        assert_eq!(errors(&items), []);
        assert_eq!(
            items[items.len() - 2..],
            [end(CLUSTER, input.len(), 1), end(SEGMENT, input.len(), 0)]
        );
    }
    // Nothing at all, and a lone partial header.
    assert_eq!(read_whole(&[]), []);
    assert_eq!(read_whole(&[0x1A, 0x45]), [truncated(EBML, 0)]);
}

/// A 200 MB SimpleBlock (under the 256 MiB limit on what is passed over)
/// fed in 64 KiB pieces: the buffer never holds more than the piece just
/// appended, and asking for the payload (over the 64 MiB limit on what is
/// handed out) is an error that leaves the reader passing over it.
#[test]
fn large_payloads_are_passed_over_in_pieces() {
    const SIZE: u64 = 200_000_000;
    let head = producer_head();
    let big_at = head.len() as u64;
    let mut input = [&head[..], &[0xA3], &size_w(SIZE, 8)].concat();
    let data_at = input.len() as u64;
    let tail = simple_block(1, 66, false, &[5; 7]);
    let piece = vec![0u8; 64 << 10];

    let mut reader = ElementReader::default();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&input);
    let mut items = Vec::new();
    while let Some(e) = reader.next(&mut buf).unwrap() {
        items.push(e);
    }
    assert_eq!(
        items.last(),
        Some(&Element::Leaf {
            id: SIMPLE_BLOCK,
            offset: big_at,
            header_len: 9,
            size: SIZE,
            depth: 2
        })
    );
    assert_eq!(reader.pending_payload(), Some(data_at..data_at + SIZE));
    let err = reader.payload(&mut buf).unwrap_err();
    assert_eq!(
        err,
        DecodeError {
            offset: big_at,
            skipped: 0,
            kind: DecodeErrorKind::ElementTooLarge {
                id: ElementId(SIMPLE_BLOCK),
                size: SIZE,
                limit: 64 << 20
            }
        }
    );
    let mut left = SIZE as usize;
    let mut most = 0;
    while left > 0 {
        let n = left.min(piece.len());
        buf.extend_from_slice(&piece[..n]);
        left -= n;
        assert_eq!(reader.next(&mut buf).unwrap(), None);
        most = most.max(buf.len());
    }
    assert_eq!(most, 0, "payload bytes kept");
    assert!(buf.capacity() <= 2 * piece.len(), "{}", buf.capacity());
    input.clear();
    buf.extend_from_slice(&tail);
    let mut rest = Vec::new();
    while let Some(e) = reader.next_eof(&mut buf).unwrap() {
        rest.push(e);
    }
    let tail_at = data_at + SIZE;
    assert_eq!(
        rest,
        [
            Element::Leaf {
                id: SIMPLE_BLOCK,
                offset: tail_at,
                header_len: 2,
                size: tail.len() as u64 - 2,
                depth: 2,
            },
            Element::End {
                id: CLUSTER,
                offset_end: tail_at + tail.len() as u64,
                depth: 1,
                complete: true,
            },
            Element::End {
                id: SEGMENT,
                offset_end: tail_at + tail.len() as u64,
                depth: 0,
                complete: true,
            },
        ]
    );
}

/// Found by the fuzz smoke (element_reader): the input ends inside a
/// header that is also cut by the end of its parent (a TrackEntry whose
/// declared size ends exactly where the input does). The TrackEntry was
/// reported as ending at its declared end yet incomplete; it is read only up
/// to the header that could never fit in it, then the cut is reported.
#[test]
fn a_header_cut_by_its_parents_end_at_the_end_of_input() {
    // The last three bytes of the TrackEntry: ID 0x81, then the first two
    // bytes of an 8-byte size.
    let entry = el(TRACK_ENTRY, &[0xD7, 0x81, 0x01, 0x81, 0x01, 0x4A]);
    let input = concat(&[ebml_header(), open_unknown(SEGMENT, 8), el(TRACKS, &entry)]);
    let cut_at = (input.len() - 3) as u64;
    for items in [
        read_whole(&input),
        read_pieces(&input, &[1]),
        read_slices(&input, &[7]),
    ] {
        check_structure(&items);
        let ends: Vec<_> = elements(&items)
            .into_iter()
            .filter(|e| matches!(e, Element::End { id, .. } if *id == TRACK_ENTRY))
            .collect();
        assert_eq!(
            ends,
            [Element::End {
                id: TRACK_ENTRY,
                offset_end: cut_at,
                depth: 2,
                complete: false
            }]
        );
        let errs = errors(&items);
        assert_eq!(errs.len(), 1, "{items:?}");
        assert_eq!(errs[0].offset, cut_at, "{items:?}");
        assert!(
            matches!(errs[0].kind, DecodeErrorKind::Truncated { .. }),
            "{items:?}"
        );
    }
}

/// A Cluster of unknown size, last in a Segment of known size, ends with
/// the Segment (its bound): whether the input ends there or a Void follows
/// at the top level. (It was reported as a Segment cut short, and the Void
/// as overrunning the Segment.) mkvinfo reads both files without an error,
/// and so does the ChunkDecoder.
#[test]
fn an_unknown_size_cluster_ends_with_its_known_size_segment() {
    let block = simple_block(1, 0, true, &[7; 10]);
    let cluster = concat(&[open_unknown(CLUSTER, 8), uint(TIMECODE, 0), block]);
    let head = ebml_header();
    let segment = el(SEGMENT, &cluster);
    let end_at = head.len() + segment.len();
    let void = el(VOID, &[0, 0]);
    for tail in [Vec::new(), void.clone()] {
        let input = concat(&[head.clone(), segment.clone(), tail.clone()]);
        let items = read_whole(&input);
        check_structure(&items);
        assert_eq!(errors(&items), [], "{items:?}");
        let ends: Vec<_> = items
            .iter()
            .filter(|i| matches!(i, Ok(Element::End { .. })))
            .cloned()
            .collect();
        assert_eq!(
            ends[ends.len() - 2..],
            [end(CLUSTER, end_at, 1), end(SEGMENT, end_at, 0)],
            "tail {tail:?}"
        );
        for sizes in [&[1][..], &[5, 7]] {
            assert_eq!(read_pieces(&input, sizes), items, "pieces of {sizes:?}");
        }
        // The decoder, which closes at the inherited end, agrees.
        let mut buf = BytesMut::from(&input[..]);
        let mut decoder = kvs_mkv::ChunkDecoder::default();
        use tokio_util::codec::Decoder;
        while let Some(chunk) = decoder.decode_eof(&mut buf).unwrap() {
            assert!(chunk.is_complete());
            assert_eq!(chunk.frames().len(), 1);
        }
    }
}
