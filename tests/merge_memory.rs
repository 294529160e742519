//! Merging holds one chunk at a time: the peak of live heap bytes while
//! merging a 30 MB body is a small multiple of one chunk, not the input.
//! (Alone in its test binary: the allocator counts every thread.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use kvs_mkv::merge::{merge, MergeOptions};
use kvs_mkv::writer::{ChunkModel, ChunkWriter};
use kvs_mkv::{Frame, Track, TrackType};

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
