//! Byte fixtures for layouts the recordings lack, built with the small
//! helpers of tests/common/ebml.rs so the wire is visible in the test.

mod common;

use common::ebml::*;
use common::{decode_pieces, decode_whole, Item};
use kvs_mkv::{Chunk, DecodeErrorKind, ErrorId, TagPosition, TagValue, TrackType};

const FRAG: &str = "91343852333181432392682062607743920146159169392";

fn chunks(items: &[Item]) -> Vec<&Chunk> {
    items.iter().filter_map(Item::chunk).collect()
}

fn no_errors(items: &[Item]) {
    for i in items {
        assert!(matches!(i, Item::Chunk(_)), "unexpected {i:?}");
    }
}

/// Decodes whole and byte by byte; both must agree. Returns the items.
fn decode(bytes: &[u8]) -> Vec<Item> {
    let whole = decode_whole(bytes);
    assert_eq!(decode_pieces(bytes, &[1]), whole, "split invariance");
    whole
}

/// Producer-SDK layout: 1-byte unknown Segment and Cluster, 8-byte size fields.
#[test]
fn unknown_size_cluster_one_byte_form() {
    let bytes = concat(&[
        head(1),
        tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", FRAG)], 8),
        open_unknown(CLUSTER, 1),
        uint(TIMECODE, 1000),
        simple_block(1, 0, true, b"key"),
        el(VOID, &[0; 3]), // Void closes nothing
        simple_block(1, 33, false, b"delta"),
        tags_w(
            &[
                ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "7"),
                ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", FRAG),
            ],
            8,
        ),
    ]);
    let items = decode(&bytes);
    no_errors(&items);
    let c = chunks(&items);
    assert_eq!(c.len(), 1);
    let f = c[0].frames();
    assert_eq!(f.len(), 2);
    assert_eq!(
        (&f[0].data()[..], f[0].is_keyframe(), f[0].pts_ms()),
        (&b"key"[..], true, 1000)
    );
    assert_eq!(
        (&f[1].data()[..], f[1].is_keyframe(), f[1].pts_ms()),
        (&b"delta"[..], false, 1033)
    );
    let info = c[0].info();
    assert!(info.complete);
    assert_eq!(info.millis_behind_now(), Some(7));
    assert_eq!(info.continuation_token(), Some(FRAG));
    let pos: Vec<_> = info.tags.iter().map(|t| t.position).collect();
    assert_eq!(
        pos,
        [
            TagPosition::BeforeCluster,
            TagPosition::AfterCluster,
            TagPosition::AfterCluster
        ]
    );
    assert_eq!(info.length, bytes.len() as u64);
}

#[test]
fn unknown_size_cluster_eight_byte_form() {
    let bytes = concat(&[
        head(8),
        open_unknown(CLUSTER, 8),
        uint(TIMECODE, 0),
        simple_block(1, 0, true, b"a"),
        simple_block(1, 40, false, b"bb"),
        tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "tok")], 4),
    ]);
    let items = decode(&bytes);
    no_errors(&items);
    assert_eq!(chunks(&items)[0].frames().len(), 2);
    assert_eq!(chunks(&items)[0].continuation_token(), Some("tok"));
}

/// Every width of the unknown size, on the Segment.
#[test]
fn unknown_segment_size_in_every_width() {
    for w in 1..=8 {
        let bytes = concat(&[
            head(w),
            el(
                CLUSTER,
                &concat(&[uint(TIMECODE, 5), simple_block(1, 0, true, b"x")]),
            ),
        ]);
        let items = decode(&bytes);
        no_errors(&items);
        assert_eq!(chunks(&items)[0].frames().len(), 1, "width {w}");
    }
}

#[test]
fn nul_padded_strings_are_stripped() {
    let track = el(
        TRACK_ENTRY,
        &concat(&[
            uint(TRACK_NUMBER, 1),
            uint(TRACK_TYPE, 1),
            el(CODEC_ID, b"V_MS/VFW/FOURCC\0\0\0\0"),
        ]),
    );
    let bytes = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 1),
        el(TRACKS, &track),
        el_w(
            TAGS,
            &el_w(TAG, &simple_tag_w(b"NAME\0\0", b"value\0\0\0", 8), 8),
            8,
        ),
    ]);
    let items = decode(&bytes);
    no_errors(&items);
    let info = chunks(&items)[0].info();
    assert_eq!(info.tracks[0].codec_id, "V_MS/VFW/FOURCC");
    assert_eq!(info.tags[0].name, "NAME");
    assert_eq!(info.tags[0].value, TagValue::String("value".into()));
}

/// A chunk with leading tags and no Cluster, then another chunk: the first
/// ends at the second's EBML header; the last at end of input.
#[test]
fn chunk_without_cluster() {
    let one = concat(&[
        head(8),
        tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "1")], 4),
    ]);
    let two = concat(&[
        head(8),
        tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "2")], 4),
    ]);
    let items = decode(&concat(&[one.clone(), two.clone()]));
    no_errors(&items);
    let c = chunks(&items);
    assert_eq!(c.len(), 2);
    assert_eq!(
        (c[0].info().offset, c[0].info().length),
        (0, one.len() as u64)
    );
    assert_eq!(
        (c[1].info().offset, c[1].info().length),
        (one.len() as u64, two.len() as u64)
    );
    assert!(c.iter().all(|c| c.is_complete() && c.frames().is_empty()));
    assert_eq!(c[1].fragment_number().unwrap().as_str(), "2");
}

#[test]
fn error_tags() {
    for (id, expected) in [
        ("4000", ErrorId::FragmentNotFound),
        ("3002", ErrorId::StreamWriteError),
        ("4506", ErrorId::KmsKeyNotFound),
        ("5000", ErrorId::InternalError),
        ("1234", ErrorId::Other(1234)),
    ] {
        let bytes = concat(&[
            head(8),
            tags_w(
                &[
                    ("AWS_KINESISVIDEO_ERROR_CODE", "FragmentNotFound"),
                    ("AWS_KINESISVIDEO_ERROR_ID", id),
                ],
                4,
            ),
        ]);
        let items = decode(&bytes);
        no_errors(&items);
        let aws = &chunks(&items)[0].info().aws;
        assert_eq!(aws.error_id, Some(expected));
        assert_eq!(aws.error_code.as_deref(), Some("FragmentNotFound"));
        assert!(aws.has_error());
    }
}

/// GetMediaForFragmentList: no trailing tags, both timestamp spellings,
/// exception tags; chunks end at the next EBML header and at end of input.
#[test]
fn fragment_list_tags_in_both_spellings() {
    let k = "AWS_KINESISVIDEO_";
    let cluster = el(
        CLUSTER,
        &concat(&[uint(TIMECODE, 0), simple_block(1, 0, true, b"f")]),
    );
    let one = concat(&[
        head(8),
        tags_w(
            &[
                (&format!("{k}FRAGMENT_NUMBER"), "10"),
                (&format!("{k}SERVER_SIDE_TIMESTAMP"), "1511852109.126"),
                (&format!("{k}PRODUCER_SIDE_TIMESTAMP"), "0.000"),
            ],
            4,
        ),
        cluster.clone(),
    ]);
    let two = concat(&[
        head(8),
        tags_w(
            &[
                (&format!("{k}FRAGMENT_NUMBER"), "11"),
                (&format!("{k}SERVER_TIMESTAMP"), "1511852110.5"),
                (&format!("{k}PRODUCER_TIMESTAMP"), "1.25"),
            ],
            4,
        ),
        cluster,
    ]);
    let three = concat(&[
        head(8),
        tags_w(
            &[
                (&format!("{k}EXCEPTION_ERROR_CODE"), "404"),
                (&format!("{k}EXCEPTION_MESSAGE"), "Fragment 12 not found"),
            ],
            4,
        ),
    ]);
    let items = decode(&concat(&[one, two, three]));
    no_errors(&items);
    let c = chunks(&items);
    assert_eq!(c.len(), 3);
    assert_eq!(
        c[0].info().server_timestamp().unwrap().as_millis(),
        1_511_852_109_126
    );
    assert_eq!(c[0].info().producer_timestamp().unwrap().as_millis(), 0);
    assert_eq!(
        c[1].info().server_timestamp().unwrap().as_millis(),
        1_511_852_110_500
    );
    assert_eq!(c[1].info().producer_timestamp().unwrap().as_millis(), 1_250);
    assert_eq!(c[2].info().aws.exception_error_code, Some(404));
    assert_eq!(
        c[2].info().aws.exception_message.as_deref(),
        Some("Fragment 12 not found")
    );
    assert!(c.iter().all(|c| c.is_complete()));
}

fn laced(flags: u8, lace_header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut body = vec![0x82, 0, 0, flags];
    body.extend(lace_header);
    body.extend(data);
    el(SIMPLE_BLOCK, &body)
}

#[test]
fn each_lacing_mode() {
    let data: Vec<u8> = (0..=255u8).cycle().take(600).collect();
    // Xiph: 3 frames of 300, 200, 100: 300 = 255 + 45.
    let xiph = laced(0x80 | 0x02, &[2, 255, 45, 200], &data);
    // EBML: 300 as a 2-byte VINT (0x412C), then 200 as a signed difference
    // of -100 in 2 bytes: -100 + 8191 = 8091 = 0x1F9B -> 0x5F 0x9B.
    let ebml = laced(0x80 | 0x06, &[2, 0x41, 0x2C, 0x5F, 0x9B], &data);
    // Fixed: 3 frames of 200.
    let fixed = laced(0x80 | 0x04, &[2], &data);
    let bytes = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        el(TRACKS, &audio_track(2, "A_OPUS", 48000.0, 2)),
        el(CLUSTER, &concat(&[uint(TIMECODE, 100), xiph, ebml, fixed])),
    ]);
    let items = decode(&bytes);
    no_errors(&items);
    let f = chunks(&items)[0].frames();
    let sizes: Vec<usize> = f.iter().map(|f| f.data().len()).collect();
    assert_eq!(sizes, [300, 200, 100, 300, 200, 100, 200, 200, 200]);
    assert_eq!(&f[1].data()[..], &data[300..500]);
    assert_eq!(&f[8].data()[..], &data[400..600]);
    assert!(f
        .iter()
        .all(|f| f.track() == 2 && f.pts_ms() == 100 && f.is_keyframe()));
    let t = &chunks(&items)[0].info().tracks[0];
    assert_eq!(t.track_type, Some(TrackType::Audio));
    assert_eq!(t.audio.unwrap().sampling_frequency, Some(48000.0));
    assert_eq!(t.audio.unwrap().channels, Some(2));
}

#[test]
fn block_group_keyframes_and_duration() {
    let group = |reference: bool| {
        let mut body = concat(&[
            el(BLOCK, &block_body(1, 10, 0, b"g")),
            uint(BLOCK_DURATION, 40),
        ]);
        if reference {
            body.extend(el(REFERENCE_BLOCK, &[0xF6]));
        }
        el(BLOCK_GROUP, &body)
    };
    let bytes = concat(&[
        head(8),
        el(
            CLUSTER,
            &concat(&[uint(TIMECODE, 0), group(false), group(true)]),
        ),
    ]);
    let items = decode(&bytes);
    no_errors(&items);
    let f = chunks(&items)[0].frames();
    assert_eq!(
        (f[0].is_keyframe(), f[0].duration(), f[0].pts_ms()),
        (true, Some(40), 10)
    );
    assert!(!f[1].is_keyframe());
    let stats = chunks(&items)[0].info().stats;
    assert_eq!((stats.keyframes, stats.block_group_keyframes), (1, 1));
    // Frame by frame, the End's counts are the same.
    let mut decoder = kvs_mkv::EventDecoder::default();
    let mut buf = bytes::BytesMut::from(&bytes[..]);
    let mut end = None;
    while let Some(e) = tokio_util::codec::Decoder::decode_eof(&mut decoder, &mut buf).unwrap() {
        if let kvs_mkv::Event::End(info) = e {
            end = Some(info.stats);
        }
    }
    assert_eq!(end, Some(stats));
}

#[test]
fn empty_tags_element() {
    let bytes = concat(&[
        head(8),
        el(TAGS, &[]),
        el(TAGS, &el(TAG, &[])),
        el(CLUSTER, &uint(TIMECODE, 0)),
    ]);
    let items = decode(&bytes);
    no_errors(&items);
    assert!(chunks(&items)[0].info().tags.is_empty());
}

/// The service models allow 1 to 128 digits (`FragmentNumberString`);
/// recordings show 47 or 48.
#[test]
fn fragment_number_of_128_digits() {
    let n128 = "1234567890".repeat(13)[..128].to_string();
    let bytes = concat(&[
        head(8),
        tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", &n128)], 4),
    ]);
    let items = decode(&bytes);
    no_errors(&items);
    assert_eq!(
        chunks(&items)[0].fragment_number().unwrap().to_string(),
        n128
    );
    // 129 digits is not a fragment number: kept as a tag, reported as invalid.
    let n129 = format!("{n128}9");
    let bytes = concat(&[
        head(8),
        tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", &n129)], 4),
    ]);
    let items = decode(&bytes);
    let info = chunks(&items)[0].info();
    assert_eq!(info.fragment_number(), None);
    assert_eq!(info.aws.invalid.len(), 1);
    assert_eq!(info.tags[0].value.as_str(), Some(n129.as_str()));
}

/// Nested SimpleTags are flattened in document order; TagBinary kept.
#[test]
fn nested_and_binary_tags() {
    let inner = el(
        SIMPLE_TAG,
        &concat(&[string(TAG_NAME, "CHILD"), string(TAG_STRING, "c")]),
    );
    let outer = el(
        SIMPLE_TAG,
        &concat(&[string(TAG_NAME, "PARENT"), string(TAG_STRING, "p"), inner]),
    );
    let binary = el(
        SIMPLE_TAG,
        &concat(&[string(TAG_NAME, "BIN"), el(TAG_BINARY, &[0xDE, 0xAD])]),
    );
    let bytes = concat(&[head(8), el(TAGS, &el(TAG, &concat(&[outer, binary])))]);
    let items = decode(&bytes);
    no_errors(&items);
    let tags = &chunks(&items)[0].info().tags;
    let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["PARENT", "CHILD", "BIN"]);
    assert_eq!(
        tags[2].value,
        TagValue::Binary(bytes::Bytes::from_static(&[0xDE, 0xAD]))
    );
}

/// A GetMedia chunk comes out at its token, before any further byte.
#[test]
fn chunk_returned_at_token_without_next_header() {
    use tokio_util::codec::Decoder;
    let bytes = concat(&[
        head(8),
        el(
            CLUSTER,
            &concat(&[uint(TIMECODE, 0), simple_block(1, 0, true, b"x")]),
        ),
        tags_w(&[("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "t")], 4),
    ]);
    let mut d = kvs_mkv::ChunkDecoder::default();
    let mut buf = bytes::BytesMut::from(&bytes[..bytes.len() - 1]);
    assert_eq!(d.decode(&mut buf).unwrap(), None);
    buf.extend_from_slice(&bytes[bytes.len() - 1..]);
    let c = d.decode(&mut buf).unwrap().expect("chunk at its token");
    assert!(c.is_complete());
    assert_eq!(c.info().length, bytes.len() as u64);
}

/// Producer tags of unknown size: the token's SimpleTag still ends the chunk.
#[test]
fn token_in_unknown_size_tags() {
    let bytes = concat(&[
        head(1),
        open_unknown(CLUSTER, 1),
        uint(TIMECODE, 0),
        simple_block(1, 0, true, b"x"),
        open_unknown(TAGS, 1),
        open_unknown(TAG, 1),
        simple_tag_w(b"AWS_KINESISVIDEO_CONTINUATION_TOKEN", b"t", 8),
    ]);
    use tokio_util::codec::Decoder;
    let mut d = kvs_mkv::ChunkDecoder::default();
    let mut buf = bytes::BytesMut::from(&bytes[..]);
    assert!(
        d.decode(&mut buf).unwrap().is_some(),
        "no need to wait for end of input"
    );
}

/// A chunk whose known-size Cluster is cut by a new EBML header (a resumed
/// connection written naively after a broken one): the cut chunk comes out
/// incomplete, one error, and the next chunk whole.
#[test]
fn chunk_cut_by_new_header() {
    let block2 = simple_block(1, 1, false, b"def");
    let cluster = el(
        CLUSTER,
        &concat(&[
            uint(TIMECODE, 0),
            simple_block(1, 0, true, b"abc"),
            block2.clone(),
        ]),
    );
    let full = concat(&[head(8), cluster]);

    // Cut at an element boundary: the header is seen where an element of
    // the Cluster should start.
    let cut = &full[..full.len() - block2.len()];
    let items = decode(&concat(&[cut.to_vec(), full.clone()]));
    assert_eq!(items.len(), 3, "{items:?}");
    let first = items[0].chunk().unwrap();
    assert!(!first.is_complete());
    assert_eq!(first.frames().len(), 1);
    match &items[1] {
        Item::Error(e) => {
            assert_eq!((e.offset, e.skipped), (cut.len() as u64, 0));
            assert!(
                matches!(e.kind, DecodeErrorKind::CutByNewChunk { .. }),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(items[2].chunk().unwrap().frames().len(), 2);
    assert_eq!(items[2].chunk().unwrap().info().offset, cut.len() as u64);

    // Cut inside an element: its size reaches into the next chunk's header,
    // so it is rejected where it starts, and decoding resumes at the header.
    let cut = &full[..full.len() - 5];
    let block2_at = (full.len() - block2.len()) as u64;
    let items = decode(&concat(&[cut.to_vec(), full.clone()]));
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(!items[0].chunk().unwrap().is_complete());
    match &items[1] {
        Item::Error(e) => assert_eq!(
            (e.offset, e.skipped),
            (block2_at, cut.len() as u64 - block2_at)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(items[2].chunk().unwrap().frames().len(), 2);
}

/// A video TrackEntry whose Video holds a Colour (with MasteringMetadata)
/// between PixelWidth and PixelHeight, as ffmpeg and mkvmerge write HDR
/// tracks. The IDs are the Matroska specification's (RFC 9559 5.1.4.1.28.*),
/// written out here. `colour_size` is the Colour's size field: its real
/// size, or `None` for an unknown size (then PixelHeight, a Video child,
/// ends it).
fn colour_track(colour_size: Option<usize>) -> Vec<u8> {
    const COLOUR: u32 = 0x55B0;
    const MATRIX_COEFFICIENTS: u32 = 0x55B1;
    const RANGE: u32 = 0x55B9;
    const MAX_CLL: u32 = 0x55BC;
    const MASTERING_METADATA: u32 = 0x55D0;
    const LUMINANCE_MAX: u32 = 0x55D9;
    const LUMINANCE_MIN: u32 = 0x55DA;
    let colour_body = concat(&[
        uint(MATRIX_COEFFICIENTS, 9),
        uint(RANGE, 1),
        uint(MAX_CLL, 1000),
        el(
            MASTERING_METADATA,
            &concat(&[
                el(LUMINANCE_MAX, &1000f32.to_be_bytes()),
                el(LUMINANCE_MIN, &0.005f32.to_be_bytes()),
            ]),
        ),
    ]);
    let colour = match colour_size {
        Some(width) => el_w(COLOUR, &colour_body, width),
        None => concat(&[open_unknown(COLOUR, 1), colour_body]),
    };
    let video = concat(&[uint(PIXEL_WIDTH, 640), colour, uint(PIXEL_HEIGHT, 480)]);
    el(
        TRACK_ENTRY,
        &concat(&[
            uint(TRACK_NUMBER, 1),
            uint(TRACK_UID, 1),
            uint(TRACK_TYPE, 1),
            string(CODEC_ID, "V_MPEG4/ISO/AVC"),
            el(VIDEO, &video),
        ]),
    )
}

/// A Colour inside Video is passed over, and the Video read on after it:
/// the track has both pixel sizes and the frames are all there, whole, in
/// pieces, and frame by frame. The Colour's size field is 1 or 8 bytes
/// wide, or unknown (a master of the schema: PixelHeight ends it).
#[test]
fn colour_inside_video_is_skipped_and_video_read_on() {
    for colour_size in [Some(1), Some(8), None] {
        let bytes = concat(&[
            ebml_header(),
            open_unknown(SEGMENT, 8),
            info(1_000_000),
            el(TRACKS, &colour_track(colour_size)),
            tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", FRAG)], 1),
            open_unknown(CLUSTER, 8),
            uint(TIMECODE, 1000),
            simple_block(1, 0, true, b"key"),
            simple_block(1, 33, false, b"delta"),
        ]);
        let items = decode(&bytes);
        no_errors(&items);
        let c = chunks(&items);
        assert_eq!(c.len(), 1, "{colour_size:?}");
        let track = &c[0].info().tracks[0];
        let video = track.video.as_ref().expect("video settings");
        assert_eq!(
            (video.pixel_width, video.pixel_height),
            (Some(640), Some(480)),
            "{colour_size:?}"
        );
        assert_eq!(c[0].fragment_number().unwrap().as_str(), FRAG);
        let frames: Vec<&[u8]> = c[0].frames().iter().map(|f| &f.data()[..]).collect();
        assert_eq!(frames, [&b"key"[..], b"delta"], "{colour_size:?}");

        let events = common::events_pieces(&bytes, &[1]);
        let mut data = Vec::new();
        for e in events {
            match e.unwrap_or_else(|e| panic!("{colour_size:?}: {e}")) {
                kvs_mkv::Event::Start(info) => {
                    let v = info.tracks[0].video.as_ref().unwrap();
                    assert_eq!((v.pixel_width, v.pixel_height), (Some(640), Some(480)));
                }
                kvs_mkv::Event::Frame(f) => data.push(f.data().to_vec()),
                kvs_mkv::Event::End(_) => {}
            }
        }
        assert_eq!(
            data,
            [b"key".to_vec(), b"delta".to_vec()],
            "{colour_size:?}"
        );
    }
}
