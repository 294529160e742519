//! The decoder reads the `AWS_KINESISVIDEO_*` tags on a path of its own:
//! the TagName is recognised once, when it is read, and the value goes
//! straight to the typed field. This checks that path against the public,
//! general one: for every chunk, `AwsTags::apply` over the chunk's own tag
//! list (in order, string values only, as the decoder documents) must give
//! exactly the decoder's `info().aws`; and the tag list must hold what was
//! written. Inputs: the service's recordings, and generated chunks with
//! odd tag orders, duplicate and near-miss names, nested SimpleTags,
//! TagLanguage / TagDefault children, name after value, two names in one
//! SimpleTag, binary, empty, non-ASCII and invalid UTF-8 values, trailing
//! NULs, tags before and after the Cluster.

mod common;

use bytes::BytesMut;
use common::ebml::*;
use kvs_mkv::{AwsTags, ChunkDecoder, ChunkInfo, Event, EventDecoder, TagValue};
use tokio_util::codec::Decoder;

const TAG_LANGUAGE: u32 = 0x447A;
const TAG_DEFAULT: u32 = 0x4484;

/// The typed AWS tags as the public `AwsTags::apply` makes them from the
/// chunk's tag list.
fn reference(info: &ChunkInfo) -> AwsTags {
    let mut aws = AwsTags::default();
    for tag in &info.tags {
        if let TagValue::String(v) = &tag.value {
            aws.apply(tag.name.as_str(), v.as_str());
        }
    }
    aws
}

fn check(info: &ChunkInfo, what: &str) {
    assert_eq!(info.aws, reference(info), "{what}: typed AWS tags differ");
}

/// Every chunk's info, through the ChunkDecoder in pieces of `piece`
/// bytes (errors, as at a recording's truncated end, are passed over).
fn chunks(input: &[u8], piece: usize) -> Vec<ChunkInfo> {
    let mut d = ChunkDecoder::default();
    let mut out = Vec::new();
    drive(&mut d, input, piece, |c| out.push(c.info().clone()));
    out
}

/// Every chunk's info at its `End`, through the EventDecoder.
fn events(input: &[u8], piece: usize) -> Vec<ChunkInfo> {
    let mut d = EventDecoder::default();
    let mut out = Vec::new();
    drive(&mut d, input, piece, |e| {
        if let Event::End(info) = e {
            out.push(std::sync::Arc::unwrap_or_clone(info));
        }
    });
    out
}

fn drive<D: Decoder>(d: &mut D, input: &[u8], piece: usize, mut take: impl FnMut(D::Item)) {
    let mut buf = BytesMut::new();
    let mut pieces = input.chunks(piece);
    loop {
        let next = pieces.next();
        if let Some(p) = next {
            buf.extend_from_slice(p);
        }
        loop {
            let got = match next {
                Some(_) => d.decode(&mut buf),
                None => d.decode_eof(&mut buf),
            };
            match got {
                Ok(Some(item)) => take(item),
                Ok(None) => break,
                Err(_) => {}
            }
        }
        if next.is_none() {
            return;
        }
    }
}

#[test]
fn recordings_agree_with_the_general_path() {
    let names = [
        "output_get_media.mkv",
        "output_get_media_sparse_fragments.mkv",
        "output-get-media-equal-timecode.mkv",
        "test_tags_empty_cluster.mkv",
        "empty-mkv-with-tags.mkv",
        "clusters.mkv",
    ];
    let mut typed = 0;
    for name in names {
        let Some(path) = common::shared(&format!("corpus/kvs-recordings/{name}")) else {
            continue;
        };
        let input = std::fs::read(path).unwrap();
        let (a, b) = (chunks(&input, 1 << 16), events(&input, 1460));
        assert_eq!(a.len(), b.len(), "{name}");
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            check(x, &format!("{name} chunk {i}"));
            check(y, &format!("{name} chunk {i} (events)"));
            assert_eq!(x.aws, y.aws, "{name} chunk {i}");
            typed += usize::from(x.aws.fragment_number.is_some());
        }
    }
    // The recordings carry fragment numbers: the check compared something.
    if common::shared("corpus/kvs-recordings/output_get_media.mkv").is_some() {
        assert!(typed > 0);
    }
}

/// xorshift64: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a [u8]]) -> &'a [u8] {
        from[self.below(from.len() as u64)]
    }
}

const NAMES: &[&[u8]] = &[
    b"AWS_KINESISVIDEO_FRAGMENT_NUMBER",
    b"AWS_KINESISVIDEO_SERVER_TIMESTAMP",
    b"AWS_KINESISVIDEO_PRODUCER_TIMESTAMP",
    b"AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP",
    b"AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP",
    b"AWS_KINESISVIDEO_MILLIS_BEHIND_NOW",
    b"AWS_KINESISVIDEO_CONTINUATION_TOKEN",
    b"AWS_KINESISVIDEO_ERROR_CODE",
    b"AWS_KINESISVIDEO_ERROR_ID",
    b"AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE",
    b"AWS_KINESISVIDEO_EXCEPTION_MESSAGE",
    // Near misses: same length and first letter after the prefix, case,
    // cut, longer, prefix alone, trailing NUL (stripped: a match).
    b"AWS_KINESISVIDEO_FRAGMENT_NUMBEX",
    b"AWS_KINESISVIDEO_SERVER_TIMESTAMQ",
    b"AWS_KINESISVIDEO_EXCEPTION_MESSAGF",
    b"AWS_KINESISVIDEO_ERROR_IE",
    b"aws_kinesisvideo_fragment_number",
    b"AWS_KINESISVIDEO_FRAGMENT_NUMBE",
    b"AWS_KINESISVIDEO_FRAGMENT_NUMBER_",
    b"AWS_KINESISVIDEO_",
    b"AWS_KINESISVIDEO_MILLIS_BEHIND_NOW\0",
    b"BWS_KINESISVIDEO_FRAGMENT_NUMBER",
    b"ENCODER",
    b"",
    "AWS_KINESISVIDEO_\u{e9}RROR_ID".as_bytes(),
    b"AWS_KINESISVIDEO_ERROR_\xff\xfe",
];

const VALUES: &[&[u8]] = &[
    b"91343852333181432392682062607743920146159000001",
    b"1700000000.250",
    b"1700000000",
    b"1500",
    b"+7",
    b"4000",
    b"99999999999",
    b"1.2.3",
    b"",
    b"soon",
    b"12\0\0",
    "caf\u{e9} \u{6771}\u{4eac}".as_bytes(),
    b"\xff\xfe1500",
    b"-1",
];

/// One SimpleTag, with its children in a random order and form.
fn simple_tag(r: &mut Rng, depth: u32) -> Vec<u8> {
    let mut kids: Vec<Vec<u8>> = Vec::new();
    let name = r.pick(NAMES);
    let value = r.pick(VALUES);
    match r.below(10) {
        0 => {}
        _ => kids.push(el(TAG_NAME, name)),
    }
    match r.below(12) {
        0 => {}
        1 => kids.push(el(TAG_BINARY, value)),
        _ => kids.push(el(TAG_STRING, value)),
    }
    if r.below(4) == 0 {
        kids.push(el(TAG_LANGUAGE, b"und"));
    }
    if r.below(4) == 0 {
        kids.push(uint(TAG_DEFAULT, 1));
    }
    if r.below(8) == 0 {
        // A second name (the last one read counts as the tag's name).
        kids.push(el(TAG_NAME, r.pick(NAMES)));
    }
    if r.below(3) == 0 {
        let a = r.below(kids.len() as u64 + 1);
        let b = r.below(kids.len() as u64 + 1);
        if a < kids.len() && b < kids.len() {
            kids.swap(a, b);
        }
    }
    if depth < 2 && r.below(6) == 0 {
        let at = r.below(kids.len() as u64 + 1);
        kids.insert(at, simple_tag(r, depth + 1));
    }
    el(SIMPLE_TAG, &kids.concat())
}

fn tags(r: &mut Rng) -> Vec<u8> {
    let body: Vec<u8> = (0..1 + r.below(6)).flat_map(|_| simple_tag(r, 0)).collect();
    el(TAGS, &el(TAG, &body))
}

fn chunk(r: &mut Rng) -> Vec<u8> {
    let mut out = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1_000_000),
        el(TRACKS, &video_track(1, "V_MPEG4/ISO/AVC", &[1, 2], 64, 48)),
    ]);
    for _ in 0..r.below(3) {
        out.extend(tags(r));
    }
    out.extend(open_unknown(CLUSTER, 1));
    out.extend(uint(TIMECODE, 0));
    out.extend(simple_block(1, 0, true, b"frame"));
    for _ in 0..r.below(3) {
        out.extend(tags(r));
    }
    out
}

#[test]
fn generated_chunks_agree_with_the_general_path() {
    let n: u64 = std::env::var("AWS_TAGS_N").map_or(400, |v| v.parse().unwrap());
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut seen_typed = 0;
    for i in 0..n {
        let input: Vec<u8> = (0..1 + r.below(3)).flat_map(|_| chunk(&mut r)).collect();
        let piece = [1 << 16, 1460, 7][r.below(3)];
        let (a, b) = (chunks(&input, piece), events(&input, piece));
        assert_eq!(a.len(), b.len(), "stream {i}");
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            check(x, &format!("stream {i} chunk {k}"));
            check(y, &format!("stream {i} chunk {k} (events)"));
            assert_eq!(x.tags, y.tags, "stream {i} chunk {k}");
            seen_typed += usize::from(x.aws != AwsTags::default());
        }
    }
    assert!(seen_typed > (n / 2) as usize, "{seen_typed}");
}

/// The tag list holds what was written, AWS names included, in order.
#[test]
fn the_tag_list_keeps_every_tag_as_written() {
    let pairs = [
        ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "123"),
        ("ENCODER", "caf\u{e9}"),
        ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", "456"),
        ("AWS_KINESISVIDEO_FRAGMENT_NUMBEX", "789"),
        ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", ""),
        ("AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP", "10.5"),
        ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", "tok"),
    ];
    let input = concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(1_000_000),
        tags_w(&pairs, 2),
    ]);
    let got = chunks(&input, 1 << 16);
    assert_eq!(got.len(), 1);
    let info = &got[0];
    let listed: Vec<(&str, String)> = info
        .tags
        .iter()
        .map(|t| match &t.value {
            TagValue::String(v) => (t.name.as_str(), v.to_string()),
            other => panic!("{other:?}"),
        })
        .collect();
    let want: Vec<(&str, String)> = pairs.iter().map(|(n, v)| (*n, v.to_string())).collect();
    assert_eq!(listed, want);
    assert_eq!(
        info.fragment_number().map(|f| f.to_string()),
        Some("123".into())
    );
    assert_eq!(info.server_timestamp().map(|t| t.as_millis()), Some(10_500));
    assert_eq!(info.millis_behind_now(), None);
    assert_eq!(info.continuation_token(), Some("tok"));
    assert_eq!(info.aws.invalid.len(), 1);
    assert_eq!(
        info.aws.invalid[0].name,
        "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW"
    );
}
