//! Hostile and damaged input: every case ends in typed errors with offsets,
//! never a panic, a hang, or an allocation the input chose.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::ebml::*;
use common::{decode_pieces, decode_whole, testdata, Item};
use kvs_mkv::{ChunkDecoder, DecodeErrorKind, Limits};
use proptest::prelude::*;

/// Records the largest single allocation, to show that a size field never
/// turns into an allocation.
struct Counting;
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn errors(items: &[Item]) -> Vec<&kvs_mkv::DecodeError> {
    items
        .iter()
        .filter_map(|i| {
            if let Item::Error(e) = i {
                Some(e)
            } else {
                None
            }
        })
        .collect()
}

/// Consistency of any decode result over `len` input bytes.
fn sane(items: &[Item], len: usize) {
    let mut covered = 0u64;
    for i in items {
        match i {
            Item::Chunk(c) => {
                let info = c.info();
                assert!(
                    info.offset >= covered,
                    "chunks in order, no overlap: {items:?}"
                );
                assert!(info.offset + info.length <= len as u64);
                assert_eq!(c.raw().len() as u64, info.length);
                covered = info.offset + info.length;
            }
            Item::Error(e) => {
                assert!(e.offset <= len as u64, "{e}");
                assert!(e.offset + e.skipped <= len as u64, "{e}");
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

fn head() -> Vec<u8> {
    concat(&[
        ebml_header(),
        open_unknown(SEGMENT, 8),
        el(TRACKS, &video_track(1, "V_X", &[], 2, 2)),
    ])
}

/// Cut the sample and a small recording at every offset.
#[test]
fn truncation_at_every_offset() {
    let mut inputs = vec![testdata("sample.mkv")];
    if let Some(p) = common::shared("corpus/kvs-recordings/empty-mkv-with-tags.mkv") {
        inputs.push(std::fs::read(p).unwrap());
    }
    for data in inputs {
        let full = decode_whole(&data);
        let full_chunks: Vec<_> = full.iter().filter_map(Item::chunk).collect();
        for cut in 0..data.len() {
            let items = decode_whole(&data[..cut]);
            sane(&items, cut);
            // Chunks that end before the cut come out unchanged.
            let done: Vec<_> = full_chunks
                .iter()
                .filter(|c| c.info().offset + c.info().length <= cut as u64)
                .collect();
            let got: Vec<_> = items.iter().filter_map(Item::chunk).collect();
            for (a, b) in done.iter().zip(&got) {
                assert_eq!(a.frames(), b.frames(), "cut {cut}");
                assert_eq!(a.info().tags, b.info().tags, "cut {cut}");
            }
            assert!(got.len() >= done.len(), "cut {cut}");
            // A cut inside a chunk: the partial chunk, marked incomplete, and
            // one error saying the input ended (skipped 0).
            if let Some(partial) = got.get(done.len()) {
                let whole = full_chunks[done.len()];
                assert!(
                    whole.frames().starts_with(partial.frames()),
                    "cut {cut}: partial frames are a prefix"
                );
                // Inside the Cluster (from the first frame to the last frame's
                // end) nothing can look complete.
                let base = whole.raw().as_ptr() as usize;
                let span = |f: &kvs_mkv::Frame| f.data().as_ptr() as usize - base;
                if let (Some(first), Some(last)) = (whole.frames().first(), whole.frames().last()) {
                    let (lo, hi) = (span(first), span(last) + last.data().len());
                    let rel = cut - whole.info().offset as usize;
                    if rel > lo && rel < hi {
                        assert!(!partial.is_complete(), "cut {cut} inside the Cluster");
                    }
                }
                if partial.is_complete() {
                    assert!(errors(&items).is_empty(), "cut {cut}: {items:?}");
                }
                if !partial.is_complete() {
                    let errs = errors(&items);
                    assert_eq!(errs.len(), 1, "cut {cut}: {items:?}");
                    assert!(
                        matches!(errs[0].kind, DecodeErrorKind::Truncated { .. }),
                        "cut {cut}: {}",
                        errs[0]
                    );
                    assert_eq!(errs[0].skipped, 0);
                }
            }
            // In pieces too.
            assert_eq!(
                decode_pieces(&data[..cut], &[7, 1, 300]),
                items,
                "cut {cut}"
            );
        }
    }
}

/// Garbage between two chunks: both neighbours whole, exactly one error,
/// at the garbage, covering it. Also in a GetMediaForFragmentList body,
/// where no token ends the first chunk.
#[test]
fn garbage_between_chunks() {
    let data = testdata("sample.mkv");
    let chunks: Vec<_> = decode_whole(&data)
        .into_iter()
        .filter_map(|i| match i {
            Item::Chunk(c) => Some(c),
            Item::Error(_) => None,
        })
        .collect();
    let a = chunks[0].raw().to_vec();
    let b = chunks[1].raw().to_vec();
    let gmffl = |c: &[u8]| {
        concat(&[
            head(),
            el(
                CLUSTER,
                &concat(&[uint(TIMECODE, 0), simple_block(1, 0, true, c)]),
            ),
        ])
    };
    for garbage in [
        b"hello, world".to_vec(),
        vec![0u8; 1000],
        vec![0xFF; 3],
        (0..=255u8).collect(),
    ] {
        for (x, y) in [(a.clone(), b.clone()), (gmffl(b"one"), gmffl(b"two"))] {
            let input = concat(&[x.clone(), garbage.clone(), y.clone()]);
            let items = decode_whole(&input);
            sane(&items, input.len());
            assert_eq!(decode_pieces(&input, &[1]), items);
            assert_eq!(items.len(), 3, "{items:?}");
            let first = items[0].chunk().unwrap();
            assert!(first.is_complete());
            assert_eq!(&first.raw()[..], &x[..]);
            let e = errors(&items)[0];
            assert_eq!(
                (e.offset, e.skipped),
                (x.len() as u64, garbage.len() as u64),
                "{e}"
            );
            let second = items[2].chunk().unwrap();
            assert!(second.is_complete());
            assert_eq!(&second.raw()[..], &y[..]);
        }
    }
}

/// Sizes near 2^56: an error at the element, no large allocation.
#[test]
fn element_claiming_2_pow_56_bytes() {
    let huge = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE]; // 2^56 - 2
    for id_bytes in [
        vec![0xA3],
        vec![0x1F, 0x43, 0xB6, 0x75],
        vec![0x45, 0xA3],
        vec![0x63, 0xA2],
    ] {
        let body = match id_bytes.len() {
            1 => concat(&[
                open_unknown(CLUSTER, 1),
                uint(TIMECODE, 0),
                id_bytes.clone(),
                huge.to_vec(),
                vec![0; 64],
            ]),
            4 => concat(&[id_bytes.clone(), huge.to_vec(), vec![0; 64]]),
            _ if id_bytes[0] == 0x45 => concat(&[
                open_unknown(TAGS, 1),
                open_unknown(TAG, 1),
                open_unknown(SIMPLE_TAG, 1),
                id_bytes.clone(),
                huge.to_vec(),
                vec![0; 64],
            ]),
            _ => concat(&[
                open_unknown(TRACKS, 1),
                open_unknown(TRACK_ENTRY, 1),
                id_bytes.clone(),
                huge.to_vec(),
                vec![0; 64],
            ]),
        };
        let input = concat(&[head(), body.clone()]);
        LARGEST.store(0, Ordering::Relaxed);
        let items = decode_pieces(&input, &[13]);
        assert!(
            LARGEST.load(Ordering::Relaxed) < 1 << 20,
            "allocated {} bytes",
            LARGEST.load(Ordering::Relaxed)
        );
        sane(&items, input.len());
        let errs = errors(&items);
        assert_eq!(errs.len(), 1, "{items:?}");
        assert!(
            matches!(
                errs[0].kind,
                DecodeErrorKind::ElementTooLarge { .. } | DecodeErrorKind::ChunkTooLarge { .. }
            ),
            "{}",
            errs[0]
        );
        assert_eq!(
            errs[0].offset,
            head().len() as u64 + body.len() as u64 - 64 - 8 - id_bytes.len() as u64
        );
    }
}

#[test]
fn nesting_beyond_the_limit() {
    // 40 nested unknown-size SimpleTags: deeper than the default 32.
    let mut body = concat(&[open_unknown(TAGS, 1), open_unknown(TAG, 1)]);
    for _ in 0..40 {
        body.extend(open_unknown(SIMPLE_TAG, 1));
    }
    let input = concat(&[head(), body]);
    let items = decode_whole(&input);
    sane(&items, input.len());
    let errs = errors(&items);
    assert_eq!(errs.len(), 1, "{items:?}");
    assert!(
        matches!(errs[0].kind, DecodeErrorKind::TooDeep { limit: 32 }),
        "{}",
        errs[0]
    );
    // A lower limit set by the user.
    let mut limits = Limits::default();
    limits.max_depth = 3;
    let items = common::decode_pieces_with(&mut ChunkDecoder::with_limits(limits), &input, &[5]);
    assert!(matches!(
        errors(&items)[0].kind,
        DecodeErrorKind::TooDeep { limit: 3 }
    ));
}

#[test]
fn a_million_tiny_tags() {
    let tiny = el(
        SIMPLE_TAG,
        &concat(&[el(TAG_NAME, b"a"), el(TAG_STRING, b"b")]),
    );
    let mut body = concat(&[open_unknown(TAGS, 1), open_unknown(TAG, 1)]);
    for _ in 0..1_000_000 {
        body.extend_from_slice(&tiny);
    }
    let input = concat(&[head(), body]);
    let items = decode_whole(&input);
    let errs = errors(&items);
    assert_eq!(errs.len(), 1);
    assert!(
        matches!(errs[0].kind, DecodeErrorKind::TooManyTags { limit: 4096 }),
        "{}",
        errs[0]
    );
    let kept = items[0].chunk().unwrap().info().tags.len();
    assert_eq!(kept, 4096);
}

#[test]
fn chunk_size_limit() {
    let mut limits = Limits::default();
    limits.max_chunk_size = 1000;
    let input = concat(&[
        head(),
        el(
            CLUSTER,
            &concat(&[uint(TIMECODE, 0), simple_block(1, 0, true, &[0; 2000])]),
        ),
    ]);
    let items = common::decode_pieces_with(&mut ChunkDecoder::with_limits(limits), &input, &[100]);
    assert!(matches!(
        errors(&items)[0].kind,
        DecodeErrorKind::ChunkTooLarge { limit: 1000 }
    ));
}

#[test]
fn not_matroska() {
    for input in [
        b"".to_vec(),
        b"\x1a\x45\xdf".to_vec(),
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        el(EBML, &string(DOC_TYPE, "notmkv")),
        concat(&[
            el(EBML, &string(DOC_TYPE, "webm")),
            open_unknown(SEGMENT, 1),
            vec![0x00, 0x01],
        ]),
    ] {
        let items = decode_whole(&input);
        sane(&items, input.len());
        assert_eq!(decode_pieces(&input, &[1]), items);
        assert!(input.is_empty() == items.is_empty(), "{input:?} {items:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Random byte changes: no panic, consistent results, and the result
    /// does not depend on how the input is split.
    #[test]
    fn random_byte_changes(changes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16), sizes in prop::collection::vec(1usize..3000, 1..8)) {
        let mut data = testdata("sample.mkv");
        for (i, b) in changes {
            let at = i.index(data.len());
            data[at] = b;
        }
        let items = decode_whole(&data);
        sane(&items, data.len());
        prop_assert_eq!(decode_pieces(&data, &sizes), items);
    }

    #[test]
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..2000)) {
        let mut input = ebml_header();
        input.extend(open_unknown(SEGMENT, 1));
        input.extend(&data);
        let items = decode_whole(&input);
        sane(&items, input.len());
        prop_assert_eq!(decode_pieces(&input, &[3]), items);
    }
}
