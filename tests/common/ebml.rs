//! Byte-level builders for EBML/Matroska fixtures, so a test shows the wire.
//! Deliberately independent of the crate's own code (no decoder types).
#![allow(dead_code)]

/// A size field of exactly `width` bytes (1..=8).
pub fn size_w(n: u64, width: usize) -> Vec<u8> {
    assert!(
        (1..=8).contains(&width) && n < (1u64 << (7 * width)) - 1,
        "size {n} does not fit {width} bytes"
    );
    let mut out = vec![0u8; width];
    for (i, b) in out.iter_mut().enumerate() {
        *b = (n >> (8 * (width - 1 - i))) as u8;
    }
    out[0] |= 0x80 >> (width - 1);
    out
}

/// The unknown size in `width` bytes.
pub fn unknown_w(width: usize) -> Vec<u8> {
    let mut out = vec![0xFFu8; width];
    out[0] = 0xFF >> (width - 1);
    out
}

/// The shortest size field for `n`.
pub fn size(n: u64) -> Vec<u8> {
    let width = (1..=8)
        .find(|&w| n < (1u64 << (7 * w)) - 1)
        .expect("size too large");
    size_w(n, width)
}

/// The ID bytes as Matroska writes them.
pub fn id(id: u32) -> Vec<u8> {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().position(|&b| b != 0).unwrap_or(3);
    bytes[skip..].to_vec()
}

/// An element with the shortest size field.
pub fn el(i: u32, payload: &[u8]) -> Vec<u8> {
    [id(i), size(payload.len() as u64), payload.to_vec()].concat()
}

/// An element with a size field of `width` bytes.
pub fn el_w(i: u32, payload: &[u8], width: usize) -> Vec<u8> {
    [id(i), size_w(payload.len() as u64, width), payload.to_vec()].concat()
}

/// An element header of unknown size, `width` bytes wide (content follows).
pub fn open_unknown(i: u32, width: usize) -> Vec<u8> {
    [id(i), unknown_w(width)].concat()
}

pub fn uint(i: u32, v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().position(|&b| b != 0).unwrap_or(7);
    el(i, &bytes[skip..])
}

pub fn string(i: u32, s: &str) -> Vec<u8> {
    el(i, s.as_bytes())
}

pub fn concat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

// IDs used by fixtures, written out here rather than taken from the crate.
pub const EBML: u32 = 0x1A45DFA3;
pub const DOC_TYPE: u32 = 0x4282;
pub const SEGMENT: u32 = 0x18538067;
pub const INFO: u32 = 0x1549A966;
pub const TIMECODE_SCALE: u32 = 0x2AD7B1;
pub const TRACKS: u32 = 0x1654AE6B;
pub const TRACK_ENTRY: u32 = 0xAE;
pub const TRACK_NUMBER: u32 = 0xD7;
pub const TRACK_UID: u32 = 0x73C5;
pub const TRACK_TYPE: u32 = 0x83;
pub const CODEC_ID: u32 = 0x86;
pub const CODEC_PRIVATE: u32 = 0x63A2;
pub const VIDEO: u32 = 0xE0;
pub const PIXEL_WIDTH: u32 = 0xB0;
pub const PIXEL_HEIGHT: u32 = 0xBA;
pub const AUDIO: u32 = 0xE1;
pub const SAMPLING_FREQUENCY: u32 = 0xB5;
pub const CHANNELS: u32 = 0x9F;
pub const CLUSTER: u32 = 0x1F43B675;
pub const TIMECODE: u32 = 0xE7;
pub const SIMPLE_BLOCK: u32 = 0xA3;
pub const BLOCK_GROUP: u32 = 0xA0;
pub const BLOCK: u32 = 0xA1;
pub const BLOCK_DURATION: u32 = 0x9B;
pub const REFERENCE_BLOCK: u32 = 0xFB;
pub const TAGS: u32 = 0x1254C367;
pub const TAG: u32 = 0x7373;
pub const SIMPLE_TAG: u32 = 0x67C8;
pub const TAG_NAME: u32 = 0x45A3;
pub const TAG_STRING: u32 = 0x4487;
pub const TAG_BINARY: u32 = 0x4485;
pub const VOID: u32 = 0xEC;
pub const CRC32: u32 = 0xBF;

/// EBML header: version 1, max ID length 4, max size length 8, DocType matroska.
pub fn ebml_header() -> Vec<u8> {
    el(
        EBML,
        &concat(&[
            uint(0x4286, 1),
            uint(0x42F7, 1),
            uint(0x42F2, 4),
            uint(0x42F3, 8),
            string(DOC_TYPE, "matroska"),
            uint(0x4287, 4),
            uint(0x4285, 2),
        ]),
    )
}

pub fn info(timecode_scale: u64) -> Vec<u8> {
    el(INFO, &uint(TIMECODE_SCALE, timecode_scale))
}

/// A video TrackEntry.
pub fn video_track(number: u64, codec: &str, private: &[u8], w: u64, h: u64) -> Vec<u8> {
    let mut body = concat(&[
        uint(TRACK_NUMBER, number),
        uint(TRACK_UID, number),
        uint(TRACK_TYPE, 1),
        string(CODEC_ID, codec),
    ]);
    if !private.is_empty() {
        body.extend(el(CODEC_PRIVATE, private));
    }
    body.extend(el(
        VIDEO,
        &concat(&[uint(PIXEL_WIDTH, w), uint(PIXEL_HEIGHT, h)]),
    ));
    el(TRACK_ENTRY, &body)
}

/// An audio TrackEntry (8-byte float sampling frequency).
pub fn audio_track(number: u64, codec: &str, rate: f64, channels: u64) -> Vec<u8> {
    let body = concat(&[
        uint(TRACK_NUMBER, number),
        uint(TRACK_UID, number),
        uint(TRACK_TYPE, 2),
        string(CODEC_ID, codec),
        el(
            AUDIO,
            &concat(&[
                el(SAMPLING_FREQUENCY, &rate.to_be_bytes()),
                uint(CHANNELS, channels),
            ]),
        ),
    ]);
    el(TRACK_ENTRY, &body)
}

/// A SimpleTag with a string value, size fields `width` bytes wide.
pub fn simple_tag_w(name: &[u8], value: &[u8], width: usize) -> Vec<u8> {
    el_w(
        SIMPLE_TAG,
        &concat(&[el_w(TAG_NAME, name, width), el_w(TAG_STRING, value, width)]),
        width,
    )
}

/// Tags > Tag > SimpleTag*, every size field `width` bytes wide.
pub fn tags_w(pairs: &[(&str, &str)], width: usize) -> Vec<u8> {
    let body: Vec<u8> = pairs
        .iter()
        .flat_map(|(n, v)| simple_tag_w(n.as_bytes(), v.as_bytes(), width))
        .collect();
    el_w(TAGS, &el_w(TAG, &body, width), width)
}

/// A SimpleBlock payload header + data: track (1-byte VINT), relative
/// timecode, flags.
pub fn block_body(track: u8, tc: i16, flags: u8, data: &[u8]) -> Vec<u8> {
    assert!(track < 127);
    let mut b = vec![0x80 | track];
    b.extend(tc.to_be_bytes());
    b.push(flags);
    b.extend(data);
    b
}

pub fn simple_block(track: u8, tc: i16, keyframe: bool, data: &[u8]) -> Vec<u8> {
    el(
        SIMPLE_BLOCK,
        &block_body(track, tc, if keyframe { 0x80 } else { 0 }, data),
    )
}

/// An EBML header, an unknown-size Segment (size field `segment_width`
/// bytes), Info and one H.264 video track.
pub fn head(segment_width: usize) -> Vec<u8> {
    concat(&[
        ebml_header(),
        open_unknown(SEGMENT, segment_width),
        info(1_000_000),
        el(
            TRACKS,
            &video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
        ),
    ])
}
