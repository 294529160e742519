//! The generated files of testdata/ hold what testdata/README.md says, read
//! with the decoder and, at the byte level, with plain searches.

mod common;

use common::{decode_whole, testdata, Item};
use kvs_mkv::kvs::names;
use kvs_mkv::{Chunk, ErrorId, TagPosition, TagValue, TrackType};

fn chunks(name: &str) -> (Vec<Chunk>, usize) {
    let items = decode_whole(&testdata(name));
    let errors = items.iter().filter(|i| matches!(i, Item::Error(_))).count();
    let chunks = items.into_iter().filter_map(|i| match i {
        Item::Chunk(c) => Some(c),
        Item::Error(_) => None,
    });
    (chunks.collect(), errors)
}

fn frames(chunks: &[Chunk]) -> usize {
    chunks.iter().map(|c| c.frames().len()).sum()
}

fn has_tag(c: &Chunk, name: &str) -> bool {
    c.info().tags.iter().any(|t| t.name == name)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn sample_is_a_service_get_media_body() {
    let (c, errors) = chunks("sample.mkv");
    assert_eq!((c.len(), frames(&c), errors), (3, 45, 0));
    let data = testdata("sample.mkv");
    // 8-byte unknown Segment size.
    assert!(contains(
        &data,
        &[0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF]
    ));
    for chunk in &c {
        assert!(chunk.is_complete() && chunk.continuation_token().is_some());
        assert_eq!(chunk.frames().iter().filter(|f| f.is_keyframe()).count(), 1);
    }
}

#[test]
fn producer_sdk_layout_and_custom_tags() {
    let (c, errors) = chunks("producer_sdk.mkv");
    assert_eq!((c.len(), frames(&c), errors), (3, 45, 0));
    let data = testdata("producer_sdk.mkv");
    assert!(contains(&data, &[0x18, 0x53, 0x80, 0x67, 0xFF])); // Segment, 1-byte unknown
    assert!(contains(&data, &[0x1F, 0x43, 0xB6, 0x75, 0xFF])); // Cluster, 1-byte unknown
    assert!(contains(&data, b"V_MPEG4/ISO/AVC\0")); // NUL-padded CodecID
    let info = c[0].info();
    assert_eq!(info.tracks[0].codec_id, "V_MPEG4/ISO/AVC");
    assert!(c[0].frames()[0].timecode() >= 1_700_000_000_000);
    let tag = |name: &str| info.tags.iter().find(|t| t.name == name).unwrap();
    assert_eq!(tag("DEVICE").value.as_str(), Some("Kamera Süd — 東京 📷"));
    assert_eq!(tag("NOTE").value.as_str(), Some(""));
    assert_eq!(
        tag("CALIBRATION").value,
        TagValue::Binary(bytes::Bytes::from_static(&[0, 1, 2, 0xFF]))
    );
    assert_eq!(tag("EVENT").position, TagPosition::AfterCluster);
    assert_eq!(tag("DEVICE").position, TagPosition::BeforeCluster);
}

#[test]
fn fragment_list_with_an_exception() {
    let (c, errors) = chunks("fragment_list.mkv");
    assert_eq!((c.len(), frames(&c), errors), (3, 30, 0));
    for chunk in &c {
        assert!(chunk.is_complete());
        assert!(!has_tag(chunk, names::CONTINUATION_TOKEN));
        assert!(!has_tag(chunk, names::SERVER_TIMESTAMP));
    }
    assert!(has_tag(&c[0], names::SERVER_SIDE_TIMESTAMP));
    assert!(has_tag(&c[0], names::PRODUCER_SIDE_TIMESTAMP));
    let failed = c[1].info();
    assert_eq!(failed.aws.exception_error_code, Some(404));
    assert!(failed
        .aws
        .exception_message
        .as_deref()
        .unwrap()
        .contains("does not exist"));
    assert!(failed.tracks.is_empty() && c[1].frames().is_empty());
}

#[test]
fn truncated_keeps_whole_frames() {
    let (c, errors) = chunks("truncated.mkv");
    assert_eq!((c.len(), errors), (3, 1));
    assert!(c[0].is_complete() && c[1].is_complete() && !c[2].is_complete());
    assert_eq!(c[2].frames().len(), 10);
    assert_eq!(c[2].continuation_token(), None);
}

#[test]
fn error_tag_chunk() {
    let (c, errors) = chunks("error_tag.mkv");
    assert_eq!((c.len(), errors), (2, 0));
    let aws = &c[1].info().aws;
    assert_eq!(aws.error_id, Some(ErrorId::FragmentNotFound));
    assert!(aws.error_code.is_some());
    assert!(c[1].frames().is_empty());
}

#[test]
fn two_tracks_interleaved() {
    let (c, errors) = chunks("two_track.mkv");
    assert_eq!((c.len(), frames(&c), errors), (3, 187, 0));
    let tracks = &c[0].info().tracks;
    assert_eq!(tracks.len(), 2);
    assert_eq!(tracks[0].track_type, Some(TrackType::Video));
    assert_eq!(tracks[1].track_type, Some(TrackType::Audio));
    assert_eq!(tracks[1].codec_id, "A_AAC");
    for chunk in &c {
        let tcs: Vec<i64> = chunk.frames().iter().map(|f| f.timecode()).collect();
        assert!(
            tcs.windows(2).all(|w| w[0] <= w[1]),
            "interleaved by timecode"
        );
        assert!(chunk.frames().iter().any(|f| f.track() == 2));
    }
}

/// The SimpleBlock payloads of a chunk whose only unknown-size element is
/// its Segment (the Service layout).
fn simple_blocks(raw: &[u8]) -> Vec<&[u8]> {
    use kvs_mkv::matroska::ids::{CLUSTER, SEGMENT, SIMPLE_BLOCK};
    let mut out = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        let (_, h) = kvs_mkv::ebml::element_header(&raw[at..]).unwrap();
        let body = at + usize::from(h.len);
        if h.id == SEGMENT || h.id == CLUSTER {
            at = body; // descend
            continue;
        }
        let end = body + h.size.unwrap() as usize;
        if h.id == SIMPLE_BLOCK {
            out.push(&raw[body..end]);
        }
        at = end;
    }
    out
}

#[test]
fn laced_audio_uses_xiph_and_ebml_lacing() {
    use kvs_mkv::matroska::block::{parse_block, Lacing};
    let (c, errors) = chunks("laced_audio.mkv");
    assert_eq!((c.len(), frames(&c), errors), (3, 142, 0));
    let lacings = |chunk: &Chunk| -> Vec<Lacing> {
        simple_blocks(chunk.raw())
            .iter()
            .map(|b| parse_block(b, |_| {}).unwrap().lacing())
            .collect()
    };
    for (chunk, expected) in c.iter().zip([Lacing::Xiph, Lacing::Ebml, Lacing::Xiph]) {
        let l = lacings(chunk);
        assert_eq!(l.len(), chunk.frames().len().div_ceil(4));
        // Every block of four is laced; a last block of one frame is not.
        assert!(
            l.iter().all(|&x| x == expected || x == Lacing::None),
            "{l:?}"
        );
        assert!(l.iter().filter(|&&x| x == expected).count() >= 11);
        for group in chunk.frames().chunks(4) {
            assert!(group.iter().all(|f| f.timecode() == group[0].timecode()));
        }
    }
}
