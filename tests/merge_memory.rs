//! Merging holds one chunk at a time: the peak of live heap bytes while
//! merging a 30 MB body is a small multiple of one chunk, not the input.
//! (The allocator counts every thread: the tests here run one at a time.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use kvs_mkv::merge::{merge, MergeOptions};
use kvs_mkv::writer::{ChunkModel, ChunkWriter};
use kvs_mkv::{Frame, TagPosition, TagValue, Track, TrackType};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator unchanged; the
// counters are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                - layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Held by each test, so that no other test allocates while one measures.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const CHUNKS: usize = 150;
const FRAMES: usize = 30;
const FRAME_SIZE: usize = 7_000;

/// A GetMedia body made chunk by chunk as it is read; every chunk's
/// timecodes start again from 0.
struct Body {
    payload: Bytes,
    made: usize,
    buf: Vec<u8>,
    at: usize,
}

impl Read for Body {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            if self.made == CHUNKS {
                return Ok(0);
            }
            let mut track = Track::default();
            track.number = 1;
            track.track_type = Some(TrackType::Video);
            track.codec_id = "V_MPEG4/ISO/AVC".into();
            let mut m = ChunkModel::new(vec![track]);
            m.aws.fragment_number = Some((1000 + self.made).to_string().parse().unwrap());
            m.aws.continuation_token = Some(self.made.to_string().into());
            for i in 0..FRAMES {
                let f = Frame::new(self.payload.clone(), 1, 33 * i as i64, 1_000_000, i == 0);
                m.frames.push(f);
            }
            self.buf.clear();
            ChunkWriter::default().write_to(&m, &mut self.buf).unwrap();
            self.at = 0;
            self.made += 1;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// An output that keeps nothing but its length.
#[derive(Default)]
struct Sink {
    pos: u64,
    len: u64,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pos += buf.len() as u64;
        self.len = self.len.max(self.pos);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Seek for Sink {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => (self.len as i64 + d) as u64,
            SeekFrom::Current(d) => (self.pos as i64 + d) as u64,
        };
        Ok(self.pos)
    }
}

#[test]
fn memory_is_bounded_by_a_chunk_not_the_input() {
    let _alone = alone();
    let body = Body {
        payload: Bytes::from(vec![0x5A; FRAME_SIZE]),
        made: 0,
        buf: Vec::new(),
        at: 0,
    };
    let chunk = FRAMES * FRAME_SIZE;
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut sink = Sink::default();
    let report = merge(body, &mut sink, &MergeOptions::default()).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - before;

    assert_eq!(report.frames as usize, CHUNKS * FRAMES);
    assert_eq!(report.bytes_written, sink.len);
    assert!(sink.len as usize > CHUNKS * chunk);
    assert_eq!(
        report.duration_ns,
        (CHUNKS * FRAMES * 33) as u128 * 1_000_000
    );
    eprintln!("peak {peak} bytes of heap for {} bytes out", sink.len);
    // The generator's chunk, the decoder's buffer (a chunk, read 64 KiB at
    // a time) and the Cues and tags: a few chunks' worth, against 31 MB in.
    assert!(
        peak < 5 * chunk,
        "peak {peak} bytes for chunks of {chunk} bytes ({} in all)",
        sink.len
    );
}

const TAGGED_CHUNKS: usize = 64;
const TAG_SIZE: usize = 256 << 10;

/// `TAGGED_CHUNKS` chunks made as they are read, each with one producer
/// tag of `TAG_SIZE` bytes and two small frames: what a hostile GetMedia
/// server (or a crafted file) sends.
struct Tagged {
    made: usize,
    buf: Vec<u8>,
    at: usize,
}

impl Read for Tagged {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            if self.made == TAGGED_CHUNKS {
                return Ok(0);
            }
            let mut track = Track::default();
            track.number = 1;
            track.track_type = Some(TrackType::Video);
            track.codec_id = "V_MPEG4/ISO/AVC".into();
            let mut m = ChunkModel::new(vec![track]);
            m.aws.fragment_number = Some((1000 + self.made).to_string().parse().unwrap());
            let value = char::from(b'a' + (self.made % 26) as u8).to_string();
            m.push_tag(
                "NOTE",
                TagValue::String(value.repeat(TAG_SIZE).into()),
                TagPosition::BeforeCluster,
            );
            for i in 0..2 {
                let f = Frame::new(Bytes::from(vec![7; 1000]), 1, i, 1_000_000, i == 0);
                m.frames.push(f);
            }
            self.buf.clear();
            ChunkWriter::default().write_to(&m, &mut self.buf).unwrap();
            self.at = 0;
            self.made += 1;
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// BUG: a seekable merge (`kvs-mkv merge -o FILE`, `get-media --save
/// FILE`) keeps every chunk's tags in memory until `finish` writes them
/// after the Cues (`Merger::tags`, src/merge/mod.rs), so its memory is the
/// sum of the input's tags, not "one chunk plus the Cues" as the README
/// says. A chunk may carry up to 4096 tags of up to 64 MiB within the
/// 256 MiB chunk limit: a hostile GetMedia server (or file) with a large
/// tag in every chunk grows `get-media --save` without bound. Here, 64
/// chunks of 260 KB each with a 256 KiB tag peak at about 17 MB of heap.
/// Even small tags cost about 1 KiB a chunk, as every kept `Text` pins
/// the decoder's 1 KiB string block (measured: 17 MB for 20 000 chunks
/// of the sample). Fixing it means choosing between writing each chunk's
/// Tags element after its Clusters (as the streaming merge does) and a
/// cap on the tags kept: left to the merge's owner.
#[test]
#[ignore = "BUG: a seekable merge keeps every chunk's tags until the end (see the comment)"]
fn tags_are_not_all_kept_until_the_end() {
    let _alone = alone();
    let chunk = TAG_SIZE + 2 * 1000;
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut sink = Sink::default();
    let body = Tagged {
        made: 0,
        buf: Vec::new(),
        at: 0,
    };
    let report = merge(body, &mut sink, &MergeOptions::default()).unwrap();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert_eq!(report.chunks as usize, TAGGED_CHUNKS);
    assert!(
        sink.len as usize > TAGGED_CHUNKS * TAG_SIZE,
        "the tags are written"
    );
    eprintln!("peak {peak} bytes of heap for {} bytes out", sink.len);
    assert!(
        peak < 5 * chunk,
        "peak {peak} bytes for chunks of {chunk} bytes ({} in all)",
        sink.len
    );
}
