//! What `Event::Start` and `Event::End` carry, and that they share one
//! `ChunkInfo` instead of copying it: a caller that lets each `Start` go
//! gets, at `End`, the very allocation `Start` pointed to, completed; a
//! caller that keeps its `Start`s still sees each head as it was. Both
//! give the `End`s a `ChunkDecoder` gives as chunks, whatever the pieces.
//!
//! Inputs: the files in testdata/ (GetMedia-shaped, with tags before and
//! after the Cluster, an error chunk, a cut one, producer-SDK chunks with
//! unknown sizes) and, when ../shared is there, the recordings.

mod common;

use std::sync::Arc;

use bytes::BytesMut;
use kvs_mkv::{ChunkInfo, Event, EventDecoder, TagPosition};
use tokio_util::codec::Decoder;

/// The inputs: testdata's files, and the recordings when present.
fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for name in [
        "sample.mkv",
        "error_tag.mkv",
        "producer_sdk.mkv",
        "truncated.mkv",
        "two_track.mkv",
        "laced_audio.mkv",
    ] {
        out.push((name.to_owned(), common::testdata(name)));
    }
    for path in common::recordings() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, std::fs::read(&path).unwrap()));
    }
    out
}

/// A chunk's infos as a `ChunkDecoder` gives them (errors dropped), and
/// whether each chunk's bytes hold a Cluster ID.
fn chunk_infos(input: &[u8], piece: usize) -> (Vec<ChunkInfo>, Vec<bool>) {
    common::decode_pieces(input, &[piece])
        .into_iter()
        .filter_map(|item| match item {
            common::Item::Chunk(c) => {
                let (info, _, raw) = c.into_parts();
                Some((info, raw.windows(4).any(|w| w == CLUSTER)))
            }
            common::Item::Error(_) => None,
        })
        .unzip()
}

const CLUSTER: [u8; 4] = [0x1F, 0x43, 0xB6, 0x75];

/// What an `EventDecoder` gives, read by a caller that keeps its `Start`s
/// or lets each go as it comes: (the `Start`s kept, the `End`s, and for
/// each `End` whether it is the allocation its `Start` pointed to).
fn event_infos(
    input: &[u8],
    piece: usize,
    keep: bool,
) -> (Vec<Arc<ChunkInfo>>, Vec<ChunkInfo>, Vec<bool>) {
    let mut decoder = EventDecoder::default();
    let mut buf = BytesMut::new();
    let (mut starts, mut ends, mut same) = (Vec::new(), Vec::new(), Vec::new());
    // Only an address, compared: never read through.
    let mut start_at: Option<usize> = None;
    let mut pieces = input.chunks(piece).peekable();
    loop {
        let eof = pieces.peek().is_none();
        buf.extend_from_slice(pieces.next().unwrap_or_default());
        loop {
            let r = if eof {
                decoder.decode_eof(&mut buf)
            } else {
                decoder.decode(&mut buf)
            };
            match r {
                Ok(Some(Event::Start(head))) => {
                    start_at = Some(Arc::as_ptr(&head) as usize);
                    if keep {
                        starts.push(head);
                    }
                }
                Ok(Some(Event::Frame(_))) => {}
                Ok(Some(Event::End(info))) => {
                    same.push(start_at.take() == Some(Arc::as_ptr(&info) as usize));
                    // Nobody else holds the `End`'s.
                    assert_eq!(Arc::strong_count(&info), 1);
                    ends.push(Arc::unwrap_or_clone(info));
                }
                Ok(None) => break,
                Err(_) => {}
            }
        }
        if eof {
            return (starts, ends, same);
        }
    }
}

#[test]
fn start_and_end_share_one_info_unless_the_start_is_kept() {
    let inputs = inputs();
    assert!(inputs.len() >= 6);
    let mut shared = 0;
    for (name, input) in &inputs {
        for piece in [1, 7, 61, 1460, 16 * 1024, 1 << 20] {
            let (whole, clusters) = chunk_infos(input, piece);
            assert!(!whole.is_empty(), "{name}");
            let (_, ends, same) = event_infos(input, piece, false);
            assert_eq!(ends, whole, "{name}, piece {piece}, Starts dropped");
            // Each `End` is its `Start`'s allocation: nothing was copied.
            // (But for a chunk without a Cluster: its `Start` and `End`
            // are made at once, at its end, and differ.)
            assert_eq!(same, clusters, "{name}, piece {piece}");
            shared += same.iter().filter(|&&s| s).count();
            let (starts, ends, same) = event_infos(input, piece, true);
            assert_eq!(ends, whole, "{name}, piece {piece}, Starts kept");
            assert_eq!(starts.len(), ends.len(), "{name}");
            for ((head, end), same) in starts.iter().zip(&ends).zip(&same) {
                // The kept head is as it was at `Start`.
                assert_eq!((head.length, head.complete), (0, false), "{name}");
                assert_eq!(head.stats, Default::default(), "{name}");
                assert_eq!((head.offset, &head.tracks), (end.offset, &end.tracks));
                let before: Vec<_> = end
                    .tags
                    .iter()
                    .filter(|t| t.position == TagPosition::BeforeCluster)
                    .collect();
                assert_eq!(head.tags.iter().collect::<Vec<_>>(), before, "{name}");
                // The `End` is the decoder's own copy when anything came
                // after the `Start`, which every chunk's length does.
                assert!(!same, "{name}, piece {piece}");
            }
        }
    }
    assert!(shared > 6 * 15, "{shared}");
}

/// The GetMedia chunks of testdata/sample.mkv have tags on both sides of
/// the Cluster: the `Start` shows the three before (the fragment number
/// and the timestamps) and the `End` all five, whether the `Start` was
/// kept or not.
#[test]
fn the_end_has_the_tags_after_the_cluster_and_the_start_does_not() {
    let input = common::testdata("sample.mkv");
    let (starts, ends, _) = event_infos(&input, 1460, true);
    assert_eq!(ends.len(), 3);
    for (head, end) in starts.iter().zip(&ends) {
        assert!(head.fragment_number().is_some() && head.server_timestamp().is_some());
        assert_eq!((head.tags.len(), end.tags.len()), (3, 5));
        assert_eq!(head.millis_behind_now(), None);
        assert!(end.millis_behind_now().is_some() && end.continuation_token().is_some());
    }
    let (_, dropped, _) = event_infos(&input, 1460, false);
    assert_eq!(dropped, ends);
}
