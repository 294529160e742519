//! Attack on 8f1ce38 and 43c6759: the engine's streaming `ChunkInfo` is an
//! `Arc` shared with the `Event::Start` handed out, changed through
//! `Held::get_mut` (`Arc::get_mut` inline, a copy made by `unshare` only
//! when someone else still has it, then an `expect` that must never fire),
//! and `Held::new` makes a default allocation and sets its offset,
//! timecode scale and tracks.
//!
//! `Arc::get_mut` fails not only while another `Arc` exists but also while
//! a `Weak` does, and a caller may drop its `Arc` on another thread at any
//! moment. So the callers here keep each `Start` with a `Weak` of it, keep
//! only a `Weak` of it, keep a `Weak` of each `End` (with or without the
//! `End`), or hand a clone of each `Start` to a thread that checks it,
//! upgrades `Weak`s of it in a loop and drops it when it likes, while the
//! decoding goes on. What must hold, for every piece size 1..=64 and the
//! whole input, over several chunks of testdata/sample.mkv and of each
//! recording:
//!
//! - no panic (the `expect`), and what each `Start` showed (a deep copy
//!   taken when it came out) is what it, a `Weak` of it upgraded, or the
//!   thread's clone shows later, after every later event;
//! - each `End` is the `ChunkDecoder`'s info for the same bytes (tags,
//!   tracks, AWS fields, stats, offset, length, complete), and the
//!   decoder keeps nothing of it (nor of a `Start` kept only weakly);
//! - independently of both decoders (which share `Held::new`): `offset`
//!   and `length` are where the `ChunkDecoder`'s raw bytes are in the
//!   input, the timecode scale is the one in the bytes (or carried from
//!   the Segment's), and every frame's track is among the chunk's tracks.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Weak};
use std::thread;

use bytes::BytesMut;
use kvs_mkv::{ChunkDecoder, ChunkInfo, Event, EventDecoder, TagPosition};
use tokio_util::codec::Decoder;

/// How the caller treats what it is handed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    /// Keeps each `Start` and a `Weak` of it to the end.
    StartAndWeak,
    /// Keeps only a `Weak` of each `Start`.
    WeakOnly,
    /// Keeps each `End` and a `Weak` of it; of every other `End`, only a
    /// `Weak`.
    WeakOfEnd,
    /// Hands a clone of each `Start` (and a `Weak`) to another thread,
    /// which checks and drops them there while decoding goes on.
    Thread,
}

const CALLERS: [Caller; 4] = [
    Caller::StartAndWeak,
    Caller::WeakOnly,
    Caller::WeakOfEnd,
    Caller::Thread,
];

/// One chunk as the caller saw it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    /// A deep copy of the `Start`, taken when it came out.
    start: ChunkInfo,
    /// A deep copy of the `End`.
    end: ChunkInfo,
    /// The tracks of the frames handed out between them.
    frame_tracks: Vec<u64>,
}

/// What the thread of `Caller::Thread` is sent: a `Start`, its copy.
type Sent = (Arc<ChunkInfo>, Weak<ChunkInfo>, ChunkInfo);

/// The thread of `Caller::Thread`: holds a few `Start`s at a time, checks
/// them (and upgraded `Weak`s of them) against their copies between
/// messages, drops the oldest when more come. Returns how many checks
/// found the info alive.
fn holder(rx: mpsc::Receiver<Sent>) -> usize {
    let mut held: Vec<Sent> = Vec::new();
    let mut weak: Vec<(Weak<ChunkInfo>, ChunkInfo)> = Vec::new();
    let mut alive = 0;
    let mut check = |held: &Vec<Sent>, weak: &Vec<(Weak<ChunkInfo>, ChunkInfo)>| {
        for (arc, w, copy) in held {
            assert_eq!(**arc, *copy, "a Start held on the thread changed");
            let up = w.upgrade().expect("its Arc is held here");
            assert_eq!(*up, *copy);
            alive += 1;
        }
        for (w, copy) in weak {
            if let Some(up) = w.upgrade() {
                assert_eq!(*up, *copy, "a Start upgraded on the thread changed");
                alive += 1;
            }
        }
    };
    let mut n = 0u64;
    loop {
        match rx.try_recv() {
            Ok(sent) => {
                n += 1;
                held.push(sent);
                // Drop the oldest `Arc` here, now and then two at once,
                // keeping a `Weak` to upgrade.
                let keep = if n % 3 == 0 { 0 } else { 1 };
                while held.len() > keep {
                    let (arc, w, copy) = held.remove(0);
                    drop(arc);
                    weak.push((w, copy));
                }
                if weak.len() > 8 {
                    weak.remove(0);
                }
            }
            Err(mpsc::TryRecvError::Empty) => thread::yield_now(),
            Err(mpsc::TryRecvError::Disconnected) => {
                check(&held, &weak);
                return alive;
            }
        }
        check(&held, &weak);
    }
}

/// A `Start` or `End` kept by the caller (or only a `Weak` of it), with a
/// deep copy taken when it came out.
type Kept = (Option<Arc<ChunkInfo>>, Weak<ChunkInfo>, ChunkInfo);

/// What an `EventDecoder` gives read by `caller`, in pieces of `piece`
/// (and the offsets of its errors).
fn events(name: &str, input: &[u8], piece: usize, caller: Caller) -> (Vec<Seen>, Vec<u64>) {
    let mut decoder = EventDecoder::default();
    let mut buf = BytesMut::new();
    let mut seen: Vec<Seen> = Vec::new();
    let mut errors = Vec::new();
    let mut open: Option<(ChunkInfo, Vec<u64>)> = None;
    // Kept: each `Start` (with its `Weak` and copy), or only a `Weak`.
    let mut starts: Vec<Kept> = Vec::new();
    let mut ends: Vec<Kept> = Vec::new();
    let (tx, worker) = if caller == Caller::Thread {
        let (tx, rx) = mpsc::channel::<Sent>();
        (Some(tx), Some(thread::spawn(move || holder(rx))))
    } else {
        (None, None)
    };
    // After every event: whatever is kept shows what it showed.
    // (The open chunk's `Start`, kept only weakly, may still be the
    // decoder's: until its next change, which must then copy it.)
    let check = |starts: &[Kept], ends: &[Kept], open: bool| {
        let live = if open {
            starts.len().checked_sub(1)
        } else {
            None
        };
        for (i, (arc, weak, copy)) in starts.iter().chain(ends).enumerate() {
            if let Some(arc) = arc {
                assert_eq!(
                    **arc, *copy,
                    "{name} piece {piece} {caller:?}: kept {i} changed"
                );
            }
            if let Some(up) = weak.upgrade() {
                assert!(
                    arc.is_some() || live == Some(i),
                    "{name} piece {piece} {caller:?}: the decoder kept {i}"
                );
                assert_eq!(
                    *up, *copy,
                    "{name} piece {piece} {caller:?}: weak {i} changed"
                );
            } else {
                assert!(arc.is_none(), "{name} {caller:?}: {i} kept but dead");
            }
        }
    };
    let mut pieces = input.chunks(piece.max(1)).peekable();
    loop {
        let eof = pieces.peek().is_none();
        buf.extend_from_slice(pieces.next().unwrap_or_default());
        loop {
            let r = if eof {
                decoder.decode_eof(&mut buf)
            } else {
                decoder.decode(&mut buf)
            };
            let event = match r {
                Ok(Some(e)) => e,
                Ok(None) => break,
                Err(kvs_mkv::Error::Decode(d)) => {
                    errors.push(d.offset);
                    continue;
                }
                Err(e) => panic!("{name} piece {piece}: {e}"),
            };
            match event {
                Event::Start(head) => {
                    assert!(open.is_none(), "{name}: a Start before an End");
                    let copy = ChunkInfo::clone(&head);
                    let weak = Arc::downgrade(&head);
                    match caller {
                        Caller::StartAndWeak => starts.push((Some(head), weak, copy.clone())),
                        Caller::WeakOnly => {
                            drop(head);
                            starts.push((None, weak, copy.clone()));
                        }
                        Caller::WeakOfEnd => {}
                        Caller::Thread => {
                            let sent = (Arc::clone(&head), weak, copy.clone());
                            tx.as_ref().unwrap().send(sent).unwrap();
                            // Ours goes now; the thread's when it likes.
                            drop(head);
                        }
                    }
                    open = Some((copy, Vec::new()));
                }
                Event::Frame(f) => {
                    open.as_mut()
                        .expect("a frame outside a chunk")
                        .1
                        .push(f.track());
                }
                Event::End(info) => {
                    let (start, frame_tracks) = open.take().expect("an End without a Start");
                    // Nobody else holds the `End`'s: not the decoder, not
                    // the `Start` (kept, weakly or on the thread).
                    assert_eq!(Arc::strong_count(&info), 1, "{name} {caller:?}");
                    assert_eq!(Arc::weak_count(&info), 0, "{name} {caller:?}");
                    let copy = ChunkInfo::clone(&info);
                    if caller == Caller::WeakOfEnd {
                        let weak = Arc::downgrade(&info);
                        if seen.len() % 2 == 0 {
                            ends.push((Some(info), weak, copy.clone()));
                        } else {
                            drop(info);
                            assert!(weak.upgrade().is_none(), "{name}: the decoder kept an End");
                            ends.push((None, weak, copy.clone()));
                        }
                    }
                    seen.push(Seen {
                        start,
                        end: copy,
                        frame_tracks,
                    });
                }
            }
            check(&starts, &ends, open.is_some());
        }
        if eof {
            break;
        }
    }
    assert!(open.is_none(), "{name}: a Start without an End");
    check(&starts, &ends, false);
    drop(tx);
    if let Some(worker) = worker {
        worker.join().expect("the holder thread panicked");
    }
    // Every `Start` held had changed by its `End` (its length): the `End`
    // is the decoder's copy, and the `Start`s kept show their own.
    for (arc, _, copy) in &starts {
        if let Some(arc) = arc {
            assert_eq!(**arc, *copy);
            assert_eq!(
                Arc::strong_count(arc),
                1,
                "{name}: the decoder kept a Start"
            );
        }
    }
    (seen, errors)
}

/// The `ChunkDecoder`'s infos and raw bytes for the same input, whole (and
/// the offsets of its errors).
type Chunks = (Vec<(ChunkInfo, bytes::Bytes)>, Vec<u64>);

fn chunks(input: &[u8]) -> Chunks {
    let mut decoder = ChunkDecoder::default();
    let mut buf = BytesMut::from(input);
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    loop {
        match decoder.decode_eof(&mut buf) {
            Ok(Some(c)) => {
                let (info, _, raw) = c.into_parts();
                out.push((info, raw));
            }
            Ok(None) => return (out, errors),
            // (A recording may end inside a block: its last chunk is
            // handed out incomplete, with an error; the `EventDecoder`'s
            // are compared.)
            Err(kvs_mkv::Error::Decode(d)) => errors.push(d.offset),
            Err(e) => panic!("{e}"),
        }
    }
}

/// The TimecodeScale written in `bytes` (before the first Cluster), if any.
fn scale_in(bytes: &[u8]) -> Option<u64> {
    let head = match bytes.windows(4).position(|w| w == [0x1F, 0x43, 0xB6, 0x75]) {
        Some(at) => &bytes[..at],
        None => bytes,
    };
    let at = head.windows(3).position(|w| w == [0x2A, 0xD7, 0xB1])? + 3;
    let size = head[at];
    assert!(size & 0x80 != 0 && size & 0x7F <= 8, "a 1-byte size");
    let n = (size & 0x7F) as usize;
    Some(
        head[at + 1..at + 1 + n]
            .iter()
            .fold(0, |v, &b| (v << 8) | u64::from(b)),
    )
}

const EBML: [u8; 4] = [0x1A, 0x45, 0xDF, 0xA4];

/// The checks that do not come from either decoder's own `Held::new`.
fn oracle(name: &str, input: &[u8], whole: &[(ChunkInfo, bytes::Bytes)]) {
    let mut scale = 1_000_000;
    for (info, raw) in whole {
        let (at, len) = (info.offset as usize, info.length as usize);
        assert_eq!(len, raw.len(), "{name}: length at {at}");
        assert_eq!(&input[at..at + len], &raw[..], "{name}: offset {at}");
        // A new Segment begins with its EBML header; one that goes on
        // after a token has the last one's scale.
        if raw.starts_with(&EBML) {
            scale = 1_000_000;
        }
        if let Some(s) = scale_in(raw) {
            scale = s;
        }
        assert_eq!(info.timecode_scale, scale, "{name}: scale at {at}");
    }
}

/// Each chunk's `Start` and `End`, for every caller and piece size, against
/// the `ChunkDecoder`'s chunks and the oracle.
fn check(name: &str, input: &[u8]) -> usize {
    let (whole, errors) = chunks(input);
    assert!(!whole.is_empty(), "{name}");
    oracle(name, input, &whole);
    let infos: Vec<&ChunkInfo> = whole.iter().map(|(i, _)| i).collect();
    let mut pieces: Vec<usize> = (1..=64).collect();
    pieces.push(input.len());
    for caller in CALLERS {
        for &piece in &pieces {
            let (seen, errs) = events(name, input, piece, caller);
            let ends: Vec<&ChunkInfo> = seen.iter().map(|s| &s.end).collect();
            assert_eq!(
                ends, infos,
                "{name} piece {piece} {caller:?}: Ends vs ChunkDecoder"
            );
            assert_eq!(errs, errors, "{name} piece {piece} {caller:?}: errors");
            for s in &seen {
                let (h, e) = (&s.start, &s.end);
                assert_eq!((h.length, h.complete), (0, false), "{name}");
                assert_eq!(h.stats, Default::default(), "{name}");
                assert_eq!(h.offset, e.offset, "{name}");
                assert_eq!(h.timecode_scale, e.timecode_scale, "{name}");
                assert_eq!(h.tracks, e.tracks, "{name}");
                let before: Vec<_> = e
                    .tags
                    .iter()
                    .filter(|t| t.position == TagPosition::BeforeCluster)
                    .collect();
                assert_eq!(h.tags.iter().collect::<Vec<_>>(), before, "{name}");
                assert_eq!(e.stats.frames, s.frame_tracks.len() as u64, "{name}");
                for &t in &s.frame_tracks {
                    assert!(h.track(t).is_some(), "{name}: track {t} not in the Start");
                    assert!(e.track(t).is_some(), "{name}: track {t} not in the End");
                }
            }
        }
    }
    whole.len()
}

/// The first chunks of `input` (at least two, up to `max` of them while
/// under `bytes` bytes), or its first `bytes` when it is one chunk (cut
/// there, with an error): the piece sizes from 1 up are many reads.
fn head_chunks(input: &[u8], max: usize, bytes: usize) -> &[u8] {
    let (whole, _) = chunks(input);
    if whole.len() < 2 {
        return &input[..bytes.min(input.len())];
    }
    let mut end = 0;
    for (i, (info, _)) in whole.iter().enumerate().take(max) {
        let next = (info.offset + info.length) as usize;
        if i >= 2 && next > bytes {
            break;
        }
        end = next;
    }
    &input[..end]
}

#[test]
fn weak_and_threaded_callers_sample() {
    let input = common::testdata("sample.mkv");
    assert_eq!(check("sample.mkv", &input), 3);
}

/// Built here (so that CI without ../shared still checks it): Segments
/// that go on after their token, where a new chunk's tracks and timecode
/// scale are the Segment's, carried into `Held::new`; and a Segment
/// without Info (the default scale, also from `Held::new`).
fn continued_segments() -> Vec<u8> {
    use common::ebml::*;
    const FRAG: &str = "91343852333181432392682062607743920146159169392";
    let tracks = el(
        TRACKS,
        &concat(&[
            video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
            audio_track(2, "A_AAC", 48000.0, 2),
        ]),
    );
    let before = tags_w(&[("AWS_KINESISVIDEO_FRAGMENT_NUMBER", FRAG)], 2);
    let token = tags_w(
        &[
            ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "17"),
            ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", FRAG),
        ],
        2,
    );
    let cluster = |tc: u64| {
        el(
            CLUSTER,
            &concat(&[
                uint(TIMECODE, tc),
                simple_block(1, 0, true, b"key frame"),
                simple_block(2, 3, true, b"audio"),
                simple_block(1, 33, false, b"delta"),
            ]),
        )
    };
    concat(&[
        // A: no Info; B goes on from it.
        ebml_header(),
        open_unknown(SEGMENT, 8),
        tracks.clone(),
        before.clone(),
        cluster(0),
        token.clone(),
        before.clone(),
        cluster(100),
        token.clone(),
        // C: its own scale; D and E go on from it.
        ebml_header(),
        open_unknown(SEGMENT, 8),
        info(2_000_000),
        tracks,
        before.clone(),
        cluster(200),
        token.clone(),
        before,
        cluster(300),
        token,
        cluster(400),
    ])
}

#[test]
fn weak_and_threaded_callers_continued_segments() {
    let input = continued_segments();
    let (whole, errors) = chunks(&input);
    assert!(errors.is_empty(), "{errors:?}");
    let scales: Vec<u64> = whole.iter().map(|(i, _)| i.timecode_scale).collect();
    assert_eq!(
        scales,
        [1_000_000, 1_000_000, 2_000_000, 2_000_000, 2_000_000]
    );
    for (info, _) in &whole {
        assert_eq!(info.tracks.len(), 2);
        assert_eq!(info.stats.frames, 3);
    }
    assert_eq!(check("continued", &input), 5);
}

#[test]
fn weak_and_threaded_callers_recordings() {
    let mut n = 0;
    let mut checked = 0;
    for path in common::recordings() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        let head = head_chunks(&input, 6, 3 << 20);
        let k = check(&name, head);
        eprintln!("{name}: {} bytes, {k} chunks", head.len());
        checked += k;
        n += 1;
    }
    if n > 0 {
        assert!(n >= 8, "{n} recordings");
        assert!(checked >= 17, "{checked} chunks");
    }
}

/// The whole recordings, in a few larger pieces (every chunk, every
/// Segment that goes on after a token).
#[test]
fn weak_and_threaded_callers_whole_recordings() {
    for path in common::recordings() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        let (whole, errors) = chunks(&input);
        oracle(&name, &input, &whole);
        let infos: Vec<&ChunkInfo> = whole.iter().map(|(i, _)| i).collect();
        for caller in CALLERS {
            for piece in [1460, 4096, 65536, input.len()] {
                let (seen, errs) = events(&name, &input, piece, caller);
                let ends: Vec<&ChunkInfo> = seen.iter().map(|s| &s.end).collect();
                assert_eq!(ends, infos, "{name} piece {piece} {caller:?}");
                assert_eq!(errs, errors, "{name} piece {piece} {caller:?}: errors");
                for s in &seen {
                    for &t in &s.frame_tracks {
                        assert!(s.end.track(t).is_some(), "{name}: track {t}");
                        assert!(s.start.track(t).is_some(), "{name}: track {t}");
                    }
                }
            }
        }
    }
}
