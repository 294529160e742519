//! Split invariance: however the input is cut into pieces, the decoders
//! produce exactly what they produce when fed it whole.

mod common;

use common::{decode_pieces, decode_whole, events_pieces, testdata, Item};
use kvs_mkv::Event;
use proptest::prelude::*;

/// Every generated stream in testdata/ and every recording.
fn inputs() -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut generated: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mkv"))
        .collect();
    generated.sort();
    assert!(!generated.is_empty());
    let mut v = Vec::new();
    for p in generated.into_iter().chain(common::recordings()) {
        v.push((
            p.file_name().unwrap().to_string_lossy().into(),
            std::fs::read(&p).unwrap(),
        ));
    }
    v
}

/// Frames are views into their chunk's bytes: no payload was copied.
fn assert_zero_copy(items: &[Item]) {
    for c in items.iter().filter_map(Item::chunk) {
        let raw = c.raw().as_ptr_range();
        for f in c.frames() {
            let d = f.data().as_ptr_range();
            assert!(
                raw.start <= d.start && d.end <= raw.end,
                "frame data outside its chunk"
            );
        }
        assert_eq!(c.raw().len() as u64, c.info().length);
    }
}

#[test]
fn one_byte_pieces_equal_whole() {
    for (name, data) in inputs() {
        let whole = decode_whole(&data);
        assert!(!whole.is_empty(), "{name}");
        assert_zero_copy(&whole);
        assert_eq!(decode_pieces(&data, &[1]), whole, "{name}");
        assert_eq!(
            events_pieces(&data, &[1]),
            events_pieces(&data, &[data.len()]),
            "{name}: events"
        );
    }
}

#[test]
fn events_agree_with_chunks() {
    for (name, data) in inputs() {
        let chunks: Vec<_> = decode_whole(&data)
            .into_iter()
            .filter_map(|i| match i {
                Item::Chunk(c) => Some(c),
                Item::Error(_) => None,
            })
            .collect();
        let events = events_pieces(&data, &[1460]);
        let mut ends = Vec::new();
        let mut frames = Vec::new();
        let mut chunk_frames = Vec::new();
        for e in events.into_iter().flatten() {
            match e {
                Event::Start(info) => {
                    assert!(frames.is_empty(), "{name}: Start inside a chunk");
                    assert_eq!(info.stats.frames, 0);
                }
                Event::Frame(f) => frames.push(f),
                Event::End(info) => {
                    chunk_frames.push(std::mem::take(&mut frames));
                    ends.push(info);
                }
            }
        }
        assert_eq!(ends.len(), chunks.len(), "{name}");
        for ((info, frames), chunk) in ends.iter().zip(&chunk_frames).zip(&chunks) {
            assert_eq!(info.as_ref(), chunk.info(), "{name}");
            assert_eq!(frames.as_slice(), chunk.frames(), "{name}");
        }
    }
}

/// A frame reaches an EventDecoder's consumer before its fragment ends.
#[test]
fn frames_arrive_before_the_chunk_ends() {
    use bytes::BytesMut;
    use tokio_util::codec::Decoder;
    let data = testdata("sample.mkv");
    let first = &decode_whole(&data)[0];
    let chunk = first.chunk().unwrap();
    // Feed up to the end of the second frame of the first chunk.
    let second = &chunk.frames()[1];
    let end = second.data().as_ptr() as usize - chunk.raw().as_ptr() as usize + second.data().len();
    let mut events = kvs_mkv::EventDecoder::default();
    let mut chunks = kvs_mkv::ChunkDecoder::default();
    let mut buf = BytesMut::from(&data[..end]);
    let mut got = Vec::new();
    while let Some(e) = events.decode(&mut buf).unwrap() {
        got.push(e);
    }
    assert!(matches!(got[0], Event::Start(_)));
    let frames: Vec<_> = got
        .iter()
        .filter(|e| matches!(e, Event::Frame(_)))
        .collect();
    assert_eq!(frames.len(), 2);
    let mut buf = BytesMut::from(&data[..end]);
    assert_eq!(
        chunks.decode(&mut buf).unwrap(),
        None,
        "the chunk is not complete yet"
    );
}

fn piece_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(
        prop_oneof![1usize..8, 8usize..2000, 2000usize..200_000],
        1..24,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_pieces_equal_whole(sizes in piece_sizes()) {
        for (name, data) in inputs() {
            let whole = decode_whole(&data);
            prop_assert_eq!(decode_pieces(&data, &sizes), whole, "{}", name);
        }
    }

    #[test]
    fn random_pieces_equal_whole_events(sizes in piece_sizes()) {
        let data = testdata("sample.mkv");
        prop_assert_eq!(events_pieces(&data, &sizes), events_pieces(&data, &[data.len()]));
    }
}
