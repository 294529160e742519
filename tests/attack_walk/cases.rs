//! Inputs of the walk attack, shared with the differential harness that
//! checked the expected outputs against the crate before the walk change
//! (fb2ebf7). Built with `common/ebml.rs` only.

use super::ebml::*;

/// Unknown 3-byte IDs (not in the schema, none of Colour's).
fn unknown_id(k: u32) -> u32 {
    0x3E_0000 + k * 257
}

/// Unknown-size Segment > Tracks > TrackEntry holding far more distinct IDs
/// than walk::Parents has slots (known ones between them, so that every
/// slot is taken over and back), then Video of unknown size, then Info
/// (ends Video, TrackEntry, Tracks), an unknown-size Cluster that an
/// unknown ID ends, and Tags with SimpleTags nested 40 deep, unknown size.
pub fn parents_thrash() -> Vec<u8> {
    let mut v = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        open_unknown(TRACKS, 8),
        open_unknown(TRACK_ENTRY, 8),
        uint(TRACK_NUMBER, 1),
    ]);
    let known = [TRACK_NUMBER, CODEC_ID, VOID, TRACK_UID, TRACK_TYPE, CRC32];
    for k in 0..130 {
        v.extend(uint(unknown_id(k), k as u64));
        if k % 5 == 0 {
            let i = known[(k as usize / 5) % known.len()];
            v.extend(if i == CODEC_ID {
                string(i, "V_X")
            } else {
                uint(i, 7)
            });
        }
    }
    v.extend(open_unknown(VIDEO, 8));
    v.extend(uint(PIXEL_WIDTH, 640));
    v.extend(uint(unknown_id(3), 3));
    v.extend(uint(PIXEL_HEIGHT, 480));
    v.extend(info(1_000_000));
    v.extend(open_unknown(CLUSTER, 8));
    v.extend(uint(TIMECODE, 5));
    v.extend(simple_block(1, 0, true, b"abc"));
    v.extend(uint(unknown_id(1), 1)); // cannot stand in a Cluster
    v.extend(open_unknown(TAGS, 8));
    v.extend(open_unknown(TAG, 8));
    for d in 0..40 {
        v.extend(open_unknown(SIMPLE_TAG, 8));
        v.extend(el(TAG_NAME, format!("N{d}").as_bytes()));
    }
    v.extend(el(TAG_STRING, b"deep"));
    v.extend(uint(unknown_id(2), 2));
    v.extend(open_unknown(CLUSTER, 8)); // ends everything but the Segment
    v.extend(uint(TIMECODE, 9));
    v.extend(simple_block(1, 1, false, b"de"));
    v.extend(ebml_header()); // a new chunk cuts the Segment
    v
}

/// One chunk whose Cluster holds `n` small SimpleBlocks (more than a batch
/// of 128), the block at `bad` damaged (too short for a block header).
pub fn many_blocks(n: usize, bad: Option<usize>) -> Vec<u8> {
    let mut v = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1_000_000),
        el(
            TRACKS,
            &video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
        ),
        open_unknown(CLUSTER, 8),
        uint(TIMECODE, 1000),
    ]);
    for i in 0..n {
        if Some(i) == bad {
            v.extend(el(SIMPLE_BLOCK, &[0x81, 0]));
        } else {
            let data = vec![i as u8; 1 + i % 50];
            v.extend(simple_block(1, i as i16, i % 30 == 0, &data));
        }
    }
    v.extend(tags_w(
        &[(
            "AWS_KINESISVIDEO_FRAGMENT_NUMBER",
            "91343852333181432392682062600000000000000000000",
        )],
        1,
    ));
    v
}

/// Tags > Tag > SimpleTag nested `n` deep, all of unknown size, `2 n`
/// distinct unknown IDs among them, then a Cluster that ends all of them.
pub fn deep_tags(n: u32) -> Vec<u8> {
    let mut v = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1_000_000),
        open_unknown(TAGS, 8),
        open_unknown(TAG, 8),
    ]);
    for d in 0..n {
        v.extend(open_unknown(SIMPLE_TAG, 8));
        v.extend(el(TAG_NAME, format!("N{d}").as_bytes()));
        v.extend(uint(unknown_id(d), 1));
        v.extend(uint(unknown_id(d + 40), 1));
    }
    v.extend(el(TAG_STRING, b"deep"));
    v.extend(open_unknown(CLUSTER, 8));
    v.extend(uint(TIMECODE, 9));
    v.extend(simple_block(1, 1, true, b"de"));
    v
}

/// The cases: name and bytes.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    let two = [many_blocks(300, None), many_blocks(10, None)].concat();
    vec![
        ("parents_thrash", parents_thrash()),
        ("deep_tags_28", deep_tags(28)),
        ("deep_tags_40", deep_tags(40)),
        ("many_blocks", many_blocks(300, None)),
        ("many_blocks_bad_200", many_blocks(300, Some(200))),
        ("many_blocks_bad_5", many_blocks(300, Some(5))),
        ("two_chunks", two),
    ]
}
