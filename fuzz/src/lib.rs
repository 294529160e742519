//! Helpers shared by the fuzz targets: drive both decoders over an input
//! fed in given piece sizes, checking the invariants every output must
//! keep whatever the input.

use bytes::BytesMut;
use kvs_mkv::{Chunk, ChunkDecoder, DecodeError, Error, Event, EventDecoder, Limits};
use tokio_util::codec::Decoder;

/// What one decoder produced, in order.
pub type Items<T> = Vec<Result<T, DecodeError>>;

/// A bound on outputs: every output consumes input or ends a chunk, so a
/// decoder that produces more than this is looping.
fn max_outputs(input: &[u8]) -> usize {
    4 * input.len() + 16
}

fn push<T>(out: &mut Items<T>, r: Result<Option<T>, Error>, limit: usize) -> bool {
    assert!(out.len() <= limit, "decoder keeps producing outputs");
    match r {
        Ok(Some(x)) => out.push(Ok(x)),
        Ok(None) => return false,
        Err(Error::Decode(e)) => out.push(Err(e)),
        Err(Error::Io(e)) => panic!("an I/O error without I/O: {e}"),
    }
    true
}

/// Feeds `input` in pieces of `sizes` (cycled; 0 counts as 1), then EOF.
fn feed<D, T>(decoder: &mut D, input: &[u8], sizes: &[usize]) -> Items<T>
where
    D: Decoder<Item = T, Error = Error>,
{
    let limit = max_outputs(input);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < input.len() {
        let n = sizes[i % sizes.len()].max(1).min(input.len() - at);
        i += 1;
        buf.extend_from_slice(&input[at..at + n]);
        at += n;
        while push(&mut out, decoder.decode(&mut buf), limit) {}
    }
    while push(&mut out, decoder.decode_eof(&mut buf), limit) {}
    assert!(buf.is_empty(), "bytes left in the buffer after EOF");
    out
}

/// The chunks and errors of a [`ChunkDecoder`], each chunk checked.
pub fn chunks(input: &[u8], sizes: &[usize]) -> Items<Chunk> {
    let out = feed(&mut ChunkDecoder::default(), input, sizes);
    for chunk in out.iter().flatten() {
        check_chunk(chunk);
    }
    out
}

/// Frames lie inside the chunk's bytes, and the counts agree.
pub fn check_chunk(chunk: &Chunk) {
    let raw = chunk.raw().as_ptr_range();
    assert_eq!(chunk.raw().len() as u64, chunk.info().length);
    assert_eq!(chunk.info().stats.frames, chunk.frames().len() as u64);
    let mut bytes = 0u64;
    for frame in chunk.frames() {
        let data = frame.data().as_ptr_range();
        assert!(
            raw.start <= data.start && data.end <= raw.end,
            "frame outside its chunk"
        );
        bytes += frame.data().len() as u64;
    }
    assert_eq!(chunk.info().stats.frame_bytes, bytes);
}

/// The events and errors of an [`EventDecoder`], checked: each chunk is
/// `Start Frame* End`, and `End`'s counts are the frames handed out.
pub fn events(input: &[u8], sizes: &[usize]) -> Items<Event> {
    let out = feed(&mut EventDecoder::default(), input, sizes);
    let mut frames: Option<u64> = None;
    for event in out.iter().flatten() {
        match event {
            Event::Start(_) => {
                assert!(frames.is_none(), "Start inside a chunk");
                frames = Some(0);
            }
            Event::Frame(_) => *frames.as_mut().expect("Frame outside a chunk") += 1,
            Event::End(info) => {
                let n = frames.take().expect("End without Start");
                assert_eq!(info.stats.frames, n, "End counts other frames");
            }
        }
    }
    assert!(frames.is_none(), "a chunk without End");
    out
}

/// Fed whole, every EventDecoder frame is a view of the bytes fed.
pub fn events_zero_copy(input: &[u8]) {
    let mut decoder = EventDecoder::default();
    let mut buf = BytesMut::from(input);
    let fed = buf.as_ptr_range();
    let limit = max_outputs(input);
    let mut n = 0;
    loop {
        n += 1;
        assert!(n <= limit, "decoder keeps producing outputs");
        match decoder.decode_eof(&mut buf) {
            Ok(Some(Event::Frame(f))) => {
                let d = f.data().as_ptr_range();
                assert!(fed.start <= d.start && d.end <= fed.end, "frame copied");
            }
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => break,
        }
    }
}

/// What an [`ElementReader`](kvs_mkv::matroska::ElementReader) reported, in
/// order, with the payloads it was asked for (offset, bytes).
pub type Elements = (
    Vec<Result<kvs_mkv::matroska::Element, DecodeError>>,
    Vec<(u64, bytes::Bytes)>,
);

/// Feeds `input` to an element reader in pieces of `sizes` (cycled; 0 counts
/// as 1), then EOF, through its `BytesMut` interface, asking for the payload
/// of every leaf when `payloads`; checks that every payload is the input's
/// bytes at its offsets and that what it reports holds together.
pub fn elements(input: &[u8], sizes: &[usize], limits: Limits, payloads: bool) -> Elements {
    use kvs_mkv::matroska::{Element, ElementReader};
    let limit = max_outputs(input);
    let mut reader = ElementReader::with_limits(limits);
    let mut buf = BytesMut::new();
    let (mut items, mut taken) = (Vec::new(), Vec::new());
    let mut want = false;
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
            if want {
                let offset = reader.pending_payload().map(|r| r.start);
                match reader.payload(&mut buf) {
                    Ok(Some(data)) => {
                        let start = offset.expect("a payload was pending") as usize;
                        assert_eq!(&data[..], &input[start..start + data.len()]);
                        taken.push((start as u64, data));
                        want = false;
                    }
                    // Too large: passed over; or cut short by the end.
                    Err(_) => want = false,
                    Ok(None) if eof => want = false,
                    Ok(None) => break,
                }
            }
            let r = if eof {
                reader.next_eof(&mut buf)
            } else {
                reader.next(&mut buf)
            };
            let Some(item) = r.transpose() else { break };
            want = payloads && matches!(item, Ok(Element::Leaf { .. }));
            items.push(item);
            assert!(items.len() <= limit, "the reader keeps reporting");
        }
        if eof {
            assert!(buf.is_empty(), "bytes left in the buffer after EOF");
            check_elements(&items, input.len() as u64);
            return (items, taken);
        }
    }
}

/// The same through the slice interface (`ElementReader::read`), without
/// payloads.
pub fn elements_from_slices(
    input: &[u8],
    sizes: &[usize],
    limits: Limits,
) -> Vec<Result<kvs_mkv::matroska::Element, DecodeError>> {
    let limit = max_outputs(input);
    let mut reader = kvs_mkv::matroska::ElementReader::with_limits(limits);
    let mut window: Vec<u8> = Vec::new();
    let mut items = Vec::new();
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
            let step = reader.read(&window, eof);
            window.drain(..step.consumed);
            let Some(item) = step.item else { break };
            items.push(item);
            assert!(items.len() <= limit, "the reader keeps reporting");
        }
        if eof {
            assert!(window.is_empty(), "bytes left after EOF");
            return items;
        }
    }
}

/// `Start`s and `End`s pair up with the same IDs and depths, depths follow
/// the nesting, offsets never go back or past the input, no element claims
/// to end after its parent, and an element of known size is complete
/// exactly when it ends at its size.
pub fn check_elements(items: &[Result<kvs_mkv::matroska::Element, DecodeError>], len: u64) {
    use kvs_mkv::matroska::Element;
    let mut open: Vec<(u32, Option<u64>)> = Vec::new();
    let mut last = 0u64;
    for item in items {
        let e = match item {
            Ok(e) => *e,
            Err(e) => {
                assert!(e.offset <= len && e.offset + e.skipped <= len, "{e:?}");
                continue;
            }
        };
        match e {
            Element::Start { offset, .. } | Element::Leaf { offset, .. } => {
                assert_eq!(e.depth(), open.len(), "{e:?}");
                let end = e.end();
                assert!(offset >= last && offset <= len, "{e:?} after {last}");
                if let (Some(end), Some(&(_, Some(parent)))) = (end, open.last()) {
                    assert!(end <= parent, "{e:?} overruns its parent");
                }
                last = e.data_offset().expect("a Start or Leaf");
                if let Element::Start { id, .. } = e {
                    open.push((id, end));
                }
            }
            Element::End {
                id,
                offset_end,
                complete,
                ..
            } => {
                let (open_id, end) = open.pop().expect("End without Start");
                assert_eq!((id, e.depth()), (open_id, open.len()), "{e:?}");
                assert!(offset_end >= last && offset_end <= len, "{e:?}");
                // Complete at its declared end, cut before it.
                assert!(
                    end.is_none_or(|end| complete == (offset_end == end) && offset_end <= end),
                    "{e:?}"
                );
                last = offset_end;
            }
        }
    }
    assert!(open.is_empty(), "Start without End");
}
