//! Attack on 110855e (`Event::Start`/`End` share the engine's `ChunkInfo`
//! through an `Arc`; the frame counts live in the engine until the chunk
//! ends). Each chunk is read by callers that keep every `Start`, none,
//! every other one, clone every event and keep the clones (`End`s and
//! frames too), or call `decode` again with nothing new and `decode_eof`
//! several times; with every piece size up to 64 on small inputs and
//! random pieces on the recordings; on intact, cut and damaged inputs and
//! with limits that stop a chunk after its `Start` (tags, tracks, depth,
//! element and chunk size). What must hold:
//!
//! - a `Start` kept to the end is unchanged (same as a deep copy taken when
//!   it came out), and the same for every caller and every split;
//! - each `End` is the same for every caller and split, and the same as
//!   the `ChunkDecoder`'s chunk info for the same bytes and limits;
//! - each `End`'s stats are those of the frames handed out between its
//!   `Start` and it (counted here, not by the decoder), so that nothing of
//!   a chunk dropped by a resynchronization is counted in the next;
//! - the errors' offsets are the same for every caller and split.

mod common;

use std::sync::Arc;

use bytes::BytesMut;
use kvs_mkv::{ChunkDecoder, ChunkInfo, Event, EventDecoder, Frame, Limits, TagPosition};
use tokio_util::codec::Decoder;

/// How the caller treats what it is handed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    /// Lets every event go at once.
    DropAll,
    /// Keeps every `Start` to the end.
    KeepAll,
    /// Keeps every other `Start`.
    KeepOdd,
    /// Clones every event and keeps the clones (and the `End`s) to the
    /// end, using the originals.
    CloneAll,
    /// Drops everything, but calls `decode` twice more after each `None`
    /// and `decode_eof` three more times at the end.
    Repeat,
}

const CALLERS: [Caller; 5] = [
    Caller::DropAll,
    Caller::KeepAll,
    Caller::KeepOdd,
    Caller::CloneAll,
    Caller::Repeat,
];

/// What one chunk looked like to the caller.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    /// A deep copy of the `Start`, taken when it came out.
    start: ChunkInfo,
    /// The stats of the frames handed out between `Start` and `End`.
    counted: Counted,
    end: ChunkInfo,
}

/// Frame counts made here from the frames, independently of the decoder.
#[derive(Debug, Clone, Default, PartialEq)]
struct Counted {
    frames: u64,
    keyframes: u64,
    frame_bytes: u64,
    first_pts_ms: Option<i128>,
    last_pts_ms: Option<i128>,
}

impl Counted {
    fn add(&mut self, f: &Frame) {
        self.frames += 1;
        self.keyframes += u64::from(f.is_keyframe());
        self.frame_bytes += f.data().len() as u64;
        self.first_pts_ms.get_or_insert(f.pts_ms());
        self.last_pts_ms = Some(f.pts_ms());
    }

    fn of(info: &ChunkInfo) -> Counted {
        Counted {
            frames: info.stats.frames,
            keyframes: info.stats.keyframes,
            frame_bytes: info.stats.frame_bytes,
            first_pts_ms: info.stats.first_pts_ms,
            last_pts_ms: info.stats.last_pts_ms,
        }
    }
}

/// What an `EventDecoder` gives: the chunks, and the errors (offset,
/// skipped).
type Run = (Vec<Seen>, Vec<(u64, u64)>);

/// Splits `len` bytes at the given piece sizes (cycled).
fn cuts(len: usize, sizes: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < len {
        let n = sizes[i % sizes.len()].max(1).min(len - at);
        out.push(n);
        at += n;
        i += 1;
    }
    out
}

fn events(input: &[u8], sizes: &[usize], limits: Limits, caller: Caller) -> Run {
    let mut decoder = EventDecoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let mut seen: Vec<Seen> = Vec::new();
    let mut errors = Vec::new();
    // Kept to the end: (index in `seen`, the `Start` as handed out).
    let mut kept: Vec<(usize, Arc<ChunkInfo>)> = Vec::new();
    let mut clones: Vec<Event> = Vec::new();
    let mut open: Option<(ChunkInfo, Counted)> = None;
    let mut starts = 0usize;
    let pieces = cuts(input.len(), sizes);
    let (mut at, mut from) = (0, 0);
    let mut handle = |r: Result<Option<Event>, kvs_mkv::Error>,
                      kept: &mut Vec<(usize, Arc<ChunkInfo>)>,
                      clones: &mut Vec<Event>|
     -> bool {
        let event = match r {
            Ok(Some(e)) => e,
            Ok(None) => return false,
            Err(kvs_mkv::Error::Decode(d)) => {
                errors.push((d.offset, d.skipped));
                return true;
            }
            Err(e) => panic!("{e}"),
        };
        if caller == Caller::CloneAll {
            clones.push(event.clone());
        }
        match event {
            Event::Start(head) => {
                assert!(open.is_none(), "a Start before the last chunk's End");
                open = Some((ChunkInfo::clone(&head), Counted::default()));
                let keep = match caller {
                    Caller::KeepAll => true,
                    Caller::KeepOdd => starts % 2 == 1,
                    _ => false,
                };
                starts += 1;
                if keep {
                    kept.push((seen.len(), head));
                }
            }
            Event::Frame(f) => {
                open.as_mut().expect("a frame outside a chunk").1.add(&f);
            }
            Event::End(info) => {
                let (start, counted) = open.take().expect("an End without a Start");
                seen.push(Seen {
                    start,
                    counted,
                    end: ChunkInfo::clone(&info),
                });
            }
        }
        true
    };
    loop {
        let eof = at == pieces.len();
        if !eof {
            buf.extend_from_slice(&input[from..from + pieces[at]]);
            from += pieces[at];
            at += 1;
        }
        let extra = if caller == Caller::Repeat { 3 } else { 1 };
        for _ in 0..extra {
            loop {
                let r = if eof {
                    decoder.decode_eof(&mut buf)
                } else {
                    decoder.decode(&mut buf)
                };
                if !handle(r, &mut kept, &mut clones) {
                    break;
                }
            }
        }
        if eof {
            break;
        }
    }
    assert!(open.is_none(), "a Start without an End");
    // A `Start` kept to the end is the head as it was when it came out.
    for (i, head) in &kept {
        assert_eq!(**head, seen[*i].start, "kept Start {i} changed");
    }
    // So is every clone kept; each `End` clone is its `End`.
    let mut i = 0;
    for e in &clones {
        match e {
            Event::Start(h) => assert_eq!(**h, seen[i].start, "cloned Start {i}"),
            Event::End(h) => {
                assert_eq!(**h, seen[i].end, "cloned End {i}");
                i += 1;
            }
            Event::Frame(_) => {}
        }
    }
    (seen, errors)
}

/// The `ChunkDecoder`'s infos for the same bytes (errors as offsets).
fn chunks(input: &[u8], sizes: &[usize], limits: Limits) -> (Vec<ChunkInfo>, Vec<(u64, u64)>) {
    let mut decoder = ChunkDecoder::with_limits(limits);
    let mut buf = BytesMut::new();
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    let pieces = cuts(input.len(), sizes);
    let (mut at, mut from) = (0, 0);
    loop {
        let eof = at == pieces.len();
        if !eof {
            buf.extend_from_slice(&input[from..from + pieces[at]]);
            from += pieces[at];
            at += 1;
        }
        loop {
            let r = if eof {
                decoder.decode_eof(&mut buf)
            } else {
                decoder.decode(&mut buf)
            };
            match r {
                Ok(Some(c)) => out.push(c.into_parts().0),
                Ok(None) => break,
                Err(kvs_mkv::Error::Decode(d)) => errors.push((d.offset, d.skipped)),
                Err(e) => panic!("{e}"),
            }
        }
        if eof {
            return (out, errors);
        }
    }
}

/// Everything above, for one input, limits and set of splits.
///
/// (Not compared with the `ChunkDecoder` when `max_chunk_size` is low: it
/// counts the frames it holds against that limit, streaming does not.)
fn check(name: &str, input: &[u8], limits: Limits, splits: &[Vec<usize>]) -> Run {
    let reference = events(input, &[input.len().max(1)], limits, Caller::DropAll);
    let (whole, _) = chunks(input, &[input.len().max(1)], limits);
    let vs_chunks = limits.max_chunk_size == Limits::default().max_chunk_size;
    let ends: Vec<_> = reference.0.iter().map(|s| s.end.clone()).collect();
    if vs_chunks {
        assert_eq!(ends, whole, "{name}: Ends vs ChunkDecoder");
    }
    for s in &reference.0 {
        // Counted here from the frames: nothing of another chunk.
        assert_eq!(
            Counted::of(&s.end),
            s.counted,
            "{name}: stats at {}",
            s.end.offset
        );
        // The head: nothing that comes later.
        let h = &s.start;
        assert_eq!((h.length, h.complete), (0, false), "{name}");
        assert_eq!(h.stats, Default::default(), "{name}");
        assert_eq!(h.offset, s.end.offset, "{name}");
        assert_eq!(h.timecode_scale, s.end.timecode_scale, "{name}");
        assert_eq!(h.tracks, s.end.tracks, "{name}");
        let before: Vec<_> = s
            .end
            .tags
            .iter()
            .filter(|t| t.position == TagPosition::BeforeCluster)
            .collect();
        assert_eq!(h.tags.iter().collect::<Vec<_>>(), before, "{name}");
        assert!(h.tags.len() <= s.end.tags.len(), "{name}");
    }
    for sizes in splits {
        for caller in CALLERS {
            let run = events(input, sizes, limits, caller);
            assert_eq!(
                run,
                reference,
                "{name}: {caller:?}, pieces {:?}",
                &sizes[..1]
            );
        }
        let (infos, _) = chunks(input, sizes, limits);
        assert_eq!(
            infos,
            whole,
            "{name}: ChunkDecoder, pieces {:?}",
            &sizes[..1]
        );
    }
    reference
}

/// xorshift64*: the random splits (seeded: the same each run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn sizes(&mut self, max: u64) -> Vec<usize> {
        (0..97).map(|_| 1 + (self.next() % max) as usize).collect()
    }
}

fn small_splits() -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = (1..=64).map(|n| vec![n]).collect();
    let mut rng = Rng(0x42);
    for max in [3, 40, 700] {
        out.push(rng.sizes(max));
    }
    out
}

const SMALL: [&str; 6] = [
    "sample.mkv",
    "error_tag.mkv",
    "producer_sdk.mkv",
    "truncated.mkv",
    "two_track.mkv",
    "laced_audio.mkv",
];

/// The intact inputs, every piece size up to 64, and, random ones.
#[test]
fn every_caller_every_piece_size_small_inputs() {
    let splits = small_splits();
    for name in SMALL {
        let input = common::testdata(name);
        let (seen, _) = check(name, &input, Limits::default(), &splits);
        assert!(!seen.is_empty(), "{name}");
    }
}

/// The recordings (merged Segments that go on after a token, empty
/// Clusters, chunks without a Cluster), random pieces.
#[test]
fn every_caller_random_pieces_recordings() {
    let mut rng = Rng(0x4242);
    let mut n = 0;
    for path in common::recordings() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        let splits = vec![vec![1460], rng.sizes(9000), rng.sizes(200), vec![1 << 16]];
        check(&name, &input, Limits::default(), &splits);
        n += 1;
    }
    if n > 0 {
        assert!(n >= 5);
    }
}

/// Limits that stop a chunk after its `Start`: too many tags (sample.mkv
/// has three before its Cluster, two after), tracks, depth, element and
/// chunk size. The chunk cut short still gives its `End` with only its
/// own frames, the next chunk begins from nothing, and a kept `Start`
/// does not see the tags read before the damage.
#[test]
fn limits_that_stop_a_chunk_after_its_start() {
    let splits: Vec<Vec<usize>> = vec![vec![1], vec![7], vec![61], Rng(9).sizes(300)];
    let mut total_errors = 0;
    for name in [
        "sample.mkv",
        "two_track.mkv",
        "producer_sdk.mkv",
        "laced_audio.mkv",
    ] {
        let input = common::testdata(name);
        let mut variants = Vec::new();
        for tags in [0, 1, 3, 4] {
            let mut l = Limits::default();
            l.max_tags_per_chunk = tags;
            variants.push(l);
        }
        for tracks in [0, 1] {
            let mut l = Limits::default();
            l.max_tracks = tracks;
            variants.push(l);
        }
        for depth in [2, 3, 4] {
            let mut l = Limits::default();
            l.max_depth = depth;
            variants.push(l);
        }
        for size in [100, 1000, 3000] {
            let mut l = Limits::default();
            l.max_element_size = size;
            variants.push(l);
            let mut l = Limits::default();
            l.max_chunk_size = size * 3;
            variants.push(l);
        }
        for limits in variants {
            let label = format!("{name} {limits:?}");
            let (_, errors) = check(&label, &input, limits, &splits);
            total_errors += errors.len();
        }
    }
    assert!(total_errors > 20, "{total_errors}");
}

/// Damage after the `Start`: every 5th byte of sample.mkv's second chunk
/// from its first Cluster on, overwritten with 0xFF (an unknown or absurd
/// size) or with an EBML header ID; and the input cut at every 7th byte.
#[test]
fn damage_and_cuts_after_the_start() {
    let input = common::testdata("sample.mkv");
    let (whole, _) = chunks(&input, &[input.len()], Limits::default());
    assert_eq!(whole.len(), 3);
    let second = &whole[1];
    let from = second.offset as usize;
    let to = from + second.length as usize;
    let cluster = from
        + input[from..to]
            .windows(4)
            .position(|w| w == [0x1F, 0x43, 0xB6, 0x75])
            .unwrap();
    let splits: Vec<Vec<usize>> = vec![vec![13], Rng(13).sizes(200)];
    let mut errors = 0;
    let mut at = cluster;
    while at < to {
        let mut bad = input.clone();
        bad[at] = 0xFF;
        errors += check(&format!("0xFF at {at}"), &bad, Limits::default(), &splits)
            .1
            .len();
        let mut bad = input.clone();
        let n = 4.min(to - at);
        bad[at..at + n].copy_from_slice(&[0x1A, 0x45, 0xDF, 0xA4][..n]);
        errors += check(&format!("EBML at {at}"), &bad, Limits::default(), &splits)
            .1
            .len();
        at += 5;
    }
    assert!(errors > 20, "{errors}");
    for cut in (0..input.len()).step_by(7) {
        check(
            &format!("cut at {cut}"),
            &input[..cut],
            Limits::default(),
            &splits,
        );
    }
}

/// Random damage (a few bytes overwritten, inserted or removed) anywhere
/// in the small inputs, random pieces.
#[test]
fn random_damage() {
    let mut rng = Rng(0xA77A_C442);
    let n: usize = std::env::var("ATTACK42_MUTANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500);
    for name in [
        "sample.mkv",
        "producer_sdk.mkv",
        "two_track.mkv",
        "laced_audio.mkv",
    ] {
        let input = common::testdata(name);
        for k in 0..n {
            let mut bad = input.clone();
            for _ in 0..1 + rng.next() % 3 {
                let at = (rng.next() as usize) % bad.len();
                match rng.next() % 4 {
                    0 => bad[at] = rng.next() as u8,
                    1 => bad[at] = 0xFF,
                    2 => bad.insert(at, rng.next() as u8),
                    _ => {
                        bad.remove(at);
                    }
                }
            }
            let splits = vec![rng.sizes(50), rng.sizes(2000)];
            check(
                &format!("{name} mutant {k}"),
                &bad,
                Limits::default(),
                &splits,
            );
        }
    }
}
