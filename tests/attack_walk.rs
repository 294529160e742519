//! The walk change (shared walk core with `walk::Parents`, EventDecoder's
//! batches, room made in the caller's buffer) attacked from outside. It
//! claims no behaviour change: a differential harness fed the crate before
//! it (fb2ebf7) and after it the same inputs (the recordings, testdata and
//! thousands of mutations of them, in pieces of 1, 7, 1460 and 65536 bytes)
//! and compared everything the three readers show; apart from Colour (now
//! in the schema, on purpose) they agreed. The cases kept here are the ones
//! aimed at the change; their expected outputs were produced by fb2ebf7,
//! and the new code gives the same.

mod common;

#[path = "attack_walk/cases.rs"]
mod cases;
use common::ebml;

mod summary {
    use kvs_mkv as K;
    include!("attack_walk/summary.rs");
}

use bytes::BytesMut;
use kvs_mkv::{Event, EventDecoder};
use tokio_util::codec::Decoder;

/// What fb2ebf7 gives for each case and piece size (see `summary.rs`).
const EXPECTED: &[(&str, usize, &str)] = &[
    ("parents_thrash", 7, "C0/1/true Eexpected an EBML header, found element 0x3E0101 at byte 876 (692 bytes skipped) C1568/0/true C#f2d56f08330920e0 S0 F1/End0/876 F1/Eexpected an EBML header, found element 0x3E0101 at byte 876 (692 bytes skipped) S1568 F1/End1568/40 F1/V#6f8f84da0a3cbff4 End1a45dfa3@40/0/true Endae@840/2/true End1654ae6b@840/1/true End1549a966@852/1/true End1f43b675@876/1/true End18538067@876/0/true Eunexpected element 0x3E0101 at the top level at byte 876 (692 bytes skipped) End1a45dfa3@1608/0/true L193#176503ae2eca8906"),
    ("parents_thrash", 1460, "C0/1/true Eexpected an EBML header, found element 0x3E0101 at byte 876 (692 bytes skipped) C1568/0/true C#f2d56f08330920e0 S0 F1/End0/876 F1/Eexpected an EBML header, found element 0x3E0101 at byte 876 (692 bytes skipped) S1568 F1/End1568/40 F1/V#6f8f84da0a3cbff4 End1a45dfa3@40/0/true Endae@840/2/true End1654ae6b@840/1/true End1549a966@852/1/true End1f43b675@876/1/true End18538067@876/0/true Eunexpected element 0x3E0101 at the top level at byte 876 (692 bytes skipped) End1a45dfa3@1608/0/true L193#176503ae2eca8906"),
    ("parents_thrash", 65536, "C0/1/true Eexpected an EBML header, found element 0x3E0101 at byte 876 (692 bytes skipped) C1568/0/true C#f2d56f08330920e0 S0 F1/End0/876 F1/Eexpected an EBML header, found element 0x3E0101 at byte 876 (692 bytes skipped) S1568 F1/End1568/40 F1/V#6f8f84da0a3cbff4 End1a45dfa3@40/0/true Endae@840/2/true End1654ae6b@840/1/true End1549a966@852/1/true End1f43b675@876/1/true End18538067@876/0/true Eunexpected element 0x3E0101 at the top level at byte 876 (692 bytes skipped) End1a45dfa3@1608/0/true L193#176503ae2eca8906"),
    ("deep_tags_28", 7, "C0/1/true C#6ebeae2dd4ce3d88 S0 F1/End0/834 F1/V#1334bd84a306671e End1a45dfa3@40/0/true End1549a966@64/1/true End7373@811/2/true End1254c367@811/1/true End1f43b675@834/1/true End18538067@834/0/true L163#d8fdf0b5d964728c"),
    ("deep_tags_28", 1460, "C0/1/true C#6ebeae2dd4ce3d88 S0 F1/End0/834 F1/V#1334bd84a306671e End1a45dfa3@40/0/true End1549a966@64/1/true End7373@811/2/true End1254c367@811/1/true End1f43b675@834/1/true End18538067@834/0/true L163#d8fdf0b5d964728c"),
    ("deep_tags_28", 65536, "C0/1/true C#6ebeae2dd4ce3d88 S0 F1/End0/834 F1/V#1334bd84a306671e End1a45dfa3@40/0/true End1549a966@64/1/true End7373@811/2/true End1254c367@811/1/true End1f43b675@834/1/true End18538067@834/0/true L163#d8fdf0b5d964728c"),
    ("deep_tags_40", 7, "C0/0/false Eelements nested deeper than the limit of 32 at byte 830 C#90062798479e8753 S0 F0/End0/830 F0/Eelements nested deeper than the limit of 32 at byte 830 F0/V#6f77bb51fd6ef53d End1a45dfa3@40/0/true End1549a966@64/1/true End67c8@830/31/false End67c8@830/30/false End67c8@830/29/false End67c8@830/28/false End67c8@830/27/false End67c8@830/26/false End67c8@830/25/false End67c8@830/24/false End67c8@830/23/false End67c8@830/22/false End67c8@830/21/false End67c8@830/20/false End67c8@830/19/false End67c8@830/18/false End67c8@830/17/false End67c8@830/16/false End67c8@830/15/false End67c8@830/14/false End67c8@830/13/false End67c8@830/12/false End67c8@830/11/false End67c8@830/10/false End67c8@830/9/false End67c8@830/8/false End67c8@830/7/false End67c8@830/6/false End67c8@830/5/false End67c8@830/4/false End67c8@830/3/false End7373@830/2/false End1254c367@830/1/false End18538067@830/0/false Eelements nested deeper than the limit of 32 at byte 830 L163#8e4c677ddf9de28d"),
    ("deep_tags_40", 1460, "C0/0/false Eelements nested deeper than the limit of 32 at byte 830 C#90062798479e8753 S0 F0/End0/830 F0/Eelements nested deeper than the limit of 32 at byte 830 F0/V#6f77bb51fd6ef53d End1a45dfa3@40/0/true End1549a966@64/1/true End67c8@830/31/false End67c8@830/30/false End67c8@830/29/false End67c8@830/28/false End67c8@830/27/false End67c8@830/26/false End67c8@830/25/false End67c8@830/24/false End67c8@830/23/false End67c8@830/22/false End67c8@830/21/false End67c8@830/20/false End67c8@830/19/false End67c8@830/18/false End67c8@830/17/false End67c8@830/16/false End67c8@830/15/false End67c8@830/14/false End67c8@830/13/false End67c8@830/12/false End67c8@830/11/false End67c8@830/10/false End67c8@830/9/false End67c8@830/8/false End67c8@830/7/false End67c8@830/6/false End67c8@830/5/false End67c8@830/4/false End67c8@830/3/false End7373@830/2/false End1254c367@830/1/false End18538067@830/0/false Eelements nested deeper than the limit of 32 at byte 830 L163#8e4c677ddf9de28d"),
    ("deep_tags_40", 65536, "C0/0/false Eelements nested deeper than the limit of 32 at byte 830 C#90062798479e8753 S0 F0/End0/830 F0/Eelements nested deeper than the limit of 32 at byte 830 F0/V#6f77bb51fd6ef53d End1a45dfa3@40/0/true End1549a966@64/1/true End67c8@830/31/false End67c8@830/30/false End67c8@830/29/false End67c8@830/28/false End67c8@830/27/false End67c8@830/26/false End67c8@830/25/false End67c8@830/24/false End67c8@830/23/false End67c8@830/22/false End67c8@830/21/false End67c8@830/20/false End67c8@830/19/false End67c8@830/18/false End67c8@830/17/false End67c8@830/16/false End67c8@830/15/false End67c8@830/14/false End67c8@830/13/false End67c8@830/12/false End67c8@830/11/false End67c8@830/10/false End67c8@830/9/false End67c8@830/8/false End67c8@830/7/false End67c8@830/6/false End67c8@830/5/false End67c8@830/4/false End67c8@830/3/false End7373@830/2/false End1254c367@830/1/false End18538067@830/0/false Eelements nested deeper than the limit of 32 at byte 830 L163#8e4c677ddf9de28d"),
    ("many_blocks", 7, "C0/300/true C#2e12c58413db6c44 S0 F300/End0/9676 F300/V#de8984f31d7879b End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9580/1/true End7373@9676/2/true End1254c367@9676/1/true End18538067@9676/0/true L338#52831b96c06da3d7"),
    ("many_blocks", 1460, "C0/300/true C#2e12c58413db6c44 S0 F300/End0/9676 F300/V#de8984f31d7879b End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9580/1/true End7373@9676/2/true End1254c367@9676/1/true End18538067@9676/0/true L338#52831b96c06da3d7"),
    ("many_blocks", 65536, "C0/300/true C#2e12c58413db6c44 S0 F300/End0/9676 F300/V#de8984f31d7879b End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9580/1/true End7373@9676/2/true End1254c367@9676/1/true End18538067@9676/0/true L338#52831b96c06da3d7"),
    ("many_blocks_bad_200", 7, "C0/200/false Einvalid SimpleBlock (0xA3): block header is cut short at byte 6430 C#58b033658ab71f2f S0 F200/End0/6430 F200/Einvalid SimpleBlock (0xA3): block header is cut short at byte 6430 F200/V#216e6a3a970aa2c7 End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9577/1/true End7373@9673/2/true End1254c367@9673/1/true End18538067@9673/0/true L338#ff8f2d7049b7c006"),
    ("many_blocks_bad_200", 1460, "C0/200/false Einvalid SimpleBlock (0xA3): block header is cut short at byte 6430 C#58b033658ab71f2f S0 F200/End0/6430 F200/Einvalid SimpleBlock (0xA3): block header is cut short at byte 6430 F200/V#216e6a3a970aa2c7 End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9577/1/true End7373@9673/2/true End1254c367@9673/1/true End18538067@9673/0/true L338#ff8f2d7049b7c006"),
    ("many_blocks_bad_200", 65536, "C0/200/false Einvalid SimpleBlock (0xA3): block header is cut short at byte 6430 C#58b033658ab71f2f S0 F200/End0/6430 F200/Einvalid SimpleBlock (0xA3): block header is cut short at byte 6430 F200/V#216e6a3a970aa2c7 End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9577/1/true End7373@9673/2/true End1254c367@9673/1/true End18538067@9673/0/true L338#ff8f2d7049b7c006"),
    ("many_blocks_bad_5", 7, "C0/5/false Einvalid SimpleBlock (0xA3): block header is cut short at byte 175 C#57d16684e213c1cb S0 F5/End0/175 F5/Einvalid SimpleBlock (0xA3): block header is cut short at byte 175 F5/V#b101a8bbcdec08e6 End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9572/1/true End7373@9668/2/true End1254c367@9668/1/true End18538067@9668/0/true L338#7fc23d10e3acf3d"),
    ("many_blocks_bad_5", 1460, "C0/5/false Einvalid SimpleBlock (0xA3): block header is cut short at byte 175 C#57d16684e213c1cb S0 F5/End0/175 F5/Einvalid SimpleBlock (0xA3): block header is cut short at byte 175 F5/V#b101a8bbcdec08e6 End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9572/1/true End7373@9668/2/true End1254c367@9668/1/true End18538067@9668/0/true L338#7fc23d10e3acf3d"),
    ("many_blocks_bad_5", 65536, "C0/5/false Einvalid SimpleBlock (0xA3): block header is cut short at byte 175 C#57d16684e213c1cb S0 F5/End0/175 F5/Einvalid SimpleBlock (0xA3): block header is cut short at byte 175 F5/V#b101a8bbcdec08e6 End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9572/1/true End7373@9668/2/true End1254c367@9668/1/true End18538067@9668/0/true L338#7fc23d10e3acf3d"),
    ("two_chunks", 7, "C0/300/true C9676/10/true C#901b3fa0dddb7102 S0 F300/End0/9676 S9676 F310/End9676/341 F310/V#3097024bee433f6 End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9580/1/true End7373@9676/2/true End1254c367@9676/1/true End18538067@9676/0/true End1a45dfa3@9716/0/true End1549a966@9740/1/true Endae@9790/2/true End1654ae6b@9790/1/true End1f43b675@9921/1/true End7373@10017/2/true End1254c367@10017/1/true End18538067@10017/0/true L386#be0436959d865802"),
    ("two_chunks", 1460, "C0/300/true C9676/10/true C#901b3fa0dddb7102 S0 F300/End0/9676 S9676 F310/End9676/341 F310/V#3097024bee433f6 End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9580/1/true End7373@9676/2/true End1254c367@9676/1/true End18538067@9676/0/true End1a45dfa3@9716/0/true End1549a966@9740/1/true Endae@9790/2/true End1654ae6b@9790/1/true End1f43b675@9921/1/true End7373@10017/2/true End1254c367@10017/1/true End18538067@10017/0/true L386#be0436959d865802"),
    ("two_chunks", 65536, "C0/300/true C9676/10/true C#901b3fa0dddb7102 S0 F300/End0/9676 S9676 F310/End9676/341 F310/V#3097024bee433f6 End1a45dfa3@40/0/true End1549a966@64/1/true Endae@114/2/true End1654ae6b@114/1/true End1f43b675@9580/1/true End7373@9676/2/true End1254c367@9676/1/true End18538067@9676/0/true End1a45dfa3@9716/0/true End1549a966@9740/1/true Endae@9790/2/true End1654ae6b@9790/1/true End1f43b675@9921/1/true End7373@10017/2/true End1254c367@10017/1/true End18538067@10017/0/true L386#be0436959d865802"),
];

#[test]
fn the_readers_agree_with_the_code_before_the_walk_change() {
    let cases = cases::all();
    let mut checked = 0;
    for &(name, piece, expected) in EXPECTED {
        let input = &cases.iter().find(|(n, _)| *n == name).unwrap().1;
        assert_eq!(
            summary::all(input, piece),
            expected,
            "{name}, pieces of {piece}"
        );
        checked += 1;
    }
    assert_eq!(checked, cases.len() * 3);
}

/// A read loop as tokio's `FramedRead` runs it: 8 KiB more room when the
/// buffer is full, pieces of at most 1460 bytes. Returns the most capacity
/// the buffer had, and what came out.
fn framed_read(input: &[u8]) -> (usize, Vec<Result<Event, String>>) {
    let mut d = EventDecoder::new();
    let mut buf = BytesMut::with_capacity(8192);
    let mut most = 0;
    let mut out = Vec::new();
    for p in input.chunks(1460) {
        if buf.capacity() - buf.len() < p.len() {
            buf.reserve(8192);
        }
        buf.extend_from_slice(p);
        loop {
            match d.decode(&mut buf) {
                Ok(Some(e)) => out.push(Ok(e)),
                Ok(None) => break,
                Err(e) => {
                    out.push(Err(e.to_string()));
                    break;
                }
            }
        }
        most = most.max(buf.capacity());
    }
    (most, out)
}

/// A SimpleBlock (or BlockGroup) announcing 60 MiB, then 100 bytes and
/// nothing more: the room made for it stays within RESERVE_AHEAD (1 MiB)
/// plus what was sent plus one read; nothing comes out but the Start.
/// (fb2ebf7 made none: its buffer stayed at 8 KiB.)
#[test]
fn sixty_mib_announced_reserve_at_most_one_mib() {
    use ebml::*;
    let start = concat(&[head(8), open_unknown(CLUSTER, 8), uint(TIMECODE, 0)]);
    let simple = concat(&[
        start.clone(),
        id(SIMPLE_BLOCK),
        size_w(60 << 20, 8),
        vec![0x81, 0, 0, 0x80],
        vec![7; 100],
    ]);
    let group = concat(&[
        start,
        id(BLOCK_GROUP),
        size_w(60 << 20, 8),
        id(BLOCK),
        size_w((60 << 20) - 20, 8),
        vec![0x81, 0, 0, 0],
        vec![7; 100],
    ]);
    for input in [simple, group] {
        let (most, out) = framed_read(&input);
        assert!(
            most <= (1 << 20) + (64 << 10) + input.len(),
            "{most} bytes of room for {} sent",
            input.len()
        );
        assert_eq!(out.len(), 1);
        assert!(matches!(out[0], Ok(Event::Start(_))));
    }
}

/// Zero-copy feeding (pieces of one allocation joined with `unsplit`) and a
/// buffer the caller sized for the whole body: the decoders never move the
/// bytes (every frame is a view into the original allocation) and hand out
/// the same frames as from one plain buffer.
#[test]
fn joined_and_caller_sized_buffers_are_never_moved() {
    let body = std::fs::read(common::root().join("testdata/sample.mkv")).unwrap();
    let plain: Vec<Vec<u8>> = {
        let mut d = EventDecoder::new();
        let mut buf = BytesMut::from(&body[..]);
        let mut v = Vec::new();
        while let Some(e) = d.decode_eof(&mut buf).unwrap() {
            if let Event::Frame(f) = e {
                v.push(f.data().to_vec());
            }
        }
        v
    };
    assert!(!plain.is_empty());
    for joined in [true, false] {
        let mut all = BytesMut::with_capacity(body.len() + if joined { 0 } else { 4096 });
        all.extend_from_slice(&body);
        let range = all.as_ptr() as usize..all.as_ptr() as usize + body.len();
        let mut d = EventDecoder::new();
        let mut frames = Vec::new();
        let mut buf = BytesMut::new();
        let mut rest = all;
        if !joined {
            // The caller's buffer holds everything, with room to spare.
            buf = rest.split_off(0);
        }
        loop {
            let eof = rest.is_empty();
            if joined && !eof {
                let piece = rest.split_to(rest.len().min(1460));
                buf.unsplit(piece);
            }
            let r = if eof || !joined {
                d.decode_eof(&mut buf)
            } else {
                d.decode(&mut buf)
            };
            match r.unwrap() {
                Some(Event::Frame(f)) => frames.push(f),
                Some(_) => {}
                None if eof || !joined => break,
                None => {}
            }
        }
        assert_eq!(frames.len(), plain.len(), "joined: {joined}");
        for (f, p) in frames.iter().zip(&plain) {
            assert_eq!(&f.data()[..], &p[..]);
            let at = f.data().as_ptr() as usize;
            assert!(
                f.data().is_empty() || range.contains(&at),
                "a frame was copied (joined: {joined})"
            );
        }
    }
}
