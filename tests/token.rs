//! Which tag ends a GetMedia chunk whose Segment has an unknown size: an
//! `AWS_KINESISVIDEO_CONTINUATION_TOKEN` after the chunk's first Cluster,
//! and nothing else: not the token before the Cluster, not another AWS tag
//! after it. (cargo-mutants found that no test told these apart: the
//! streams of testdata and ../shared have the token last, after the
//! Cluster, in the same Tags as MILLIS_BEHIND_NOW.) Each case is read with
//! its Tags of known size (read whole) and of unknown size (walked), by
//! both decoders, whole and in 1-byte pieces.

mod common;

use common::ebml::*;
use common::{decode_pieces, decode_whole, events_pieces, Item};
use kvs_mkv::Event;

const TOKEN: &str = "AWS_KINESISVIDEO_CONTINUATION_TOKEN";
const NUMBER: &str = "AWS_KINESISVIDEO_FRAGMENT_NUMBER";
const BEHIND: &str = "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW";

/// Tags > Tag > SimpleTag*, of known sizes or (`open`) unknown ones.
fn tags(pairs: &[(&str, &str)], open: bool) -> Vec<u8> {
    if !open {
        return tags_w(pairs, 1);
    }
    let mut out = concat(&[open_unknown(TAGS, 1), open_unknown(TAG, 1)]);
    for (n, v) in pairs {
        out.extend(simple_tag_w(n.as_bytes(), v.as_bytes(), 1));
    }
    out
}

/// An unknown-size Cluster with one keyframe.
fn cluster(tc: u64, frame: &[u8]) -> Vec<u8> {
    concat(&[
        open_unknown(CLUSTER, 1),
        uint(TIMECODE, tc),
        simple_block(1, 0, true, frame),
    ])
}

/// Each chunk as (its frames, its tags' names), from both decoders, whole
/// and byte by byte: all four must agree.
fn chunks(input: &[u8]) -> Vec<(Vec<Vec<u8>>, Vec<String>)> {
    let summary = |items: Vec<Item>| -> Vec<(Vec<Vec<u8>>, Vec<String>)> {
        items
            .into_iter()
            .filter_map(|i| i.chunk().cloned())
            .map(|c| {
                let frames = c.frames().iter().map(|f| f.data().to_vec()).collect();
                let names = c.info().tags.iter().map(|t| t.name.to_string());
                (frames, names.collect())
            })
            .collect()
    };
    let whole = summary(decode_whole(input));
    assert_eq!(summary(decode_pieces(input, &[1])), whole);
    let mut streamed = Vec::new();
    let mut frames = Vec::new();
    for e in events_pieces(input, &[1]).into_iter().flatten() {
        match e {
            Event::Frame(f) => frames.push(f.data().to_vec()),
            Event::End(i) => {
                let names = i.tags.iter().map(|t| t.name.to_string()).collect();
                streamed.push((std::mem::take(&mut frames), names));
            }
            Event::Start(_) => {}
        }
    }
    assert_eq!(streamed, whole, "EventDecoder");
    whole
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

/// A token before the Cluster does not end the chunk: its Cluster and the
/// Tags after it are the chunk's.
#[test]
fn a_token_before_the_cluster_does_not_end_the_chunk() {
    for open in [false, true] {
        let input = concat(&[
            head(1),
            tags(&[(NUMBER, "1"), (TOKEN, "early")], open),
            cluster(0, b"one"),
            tags(&[(BEHIND, "5")], open),
        ]);
        let got = chunks(&input);
        assert_eq!(
            got,
            [(vec![b"one".to_vec()], names(&[NUMBER, TOKEN, BEHIND]))],
            "open {open}"
        );
    }
}

/// Another AWS tag after the Cluster does not end the chunk either: a
/// second Cluster after it is the same chunk's, up to the token; the next
/// chunk is the one after the token.
#[test]
fn only_the_token_after_the_cluster_ends_the_chunk() {
    for open in [false, true] {
        let input = concat(&[
            head(1),
            tags(&[(NUMBER, "1")], open),
            cluster(0, b"one"),
            tags(&[(BEHIND, "5")], open),
            cluster(1, b"two"),
            tags(&[(TOKEN, "1")], open),
            head(1),
            tags(&[(NUMBER, "2")], open),
            cluster(2, b"three"),
            tags(&[(BEHIND, "0"), (TOKEN, "2")], open),
        ]);
        let got = chunks(&input);
        assert_eq!(
            got,
            [
                (
                    vec![b"one".to_vec(), b"two".to_vec()],
                    names(&[NUMBER, BEHIND, TOKEN])
                ),
                (vec![b"three".to_vec()], names(&[NUMBER, BEHIND, TOKEN])),
            ],
            "open {open}"
        );
    }
}
