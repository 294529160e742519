//! The streaming merge (`merge_streaming`, `Merger::streaming`): only
//! `Write`, an unknown-size Segment, no SeekHead or Cues, each chunk's
//! Clusters and Tags flushed as it is pushed; read by ffprobe and mkvinfo
//! like the seekable merge.

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use common::oracle::{ffprobe_packet_count, mkvinfo, mkvinfo_frames};
use common::scratch_dir;
use common::{decode_whole, testdata, tool, Item};
use kvs_mkv::merge::{merge, merge_streaming, MergeOptions, Merger, OutputKind};

/// A `Write` that records what it holds at each flush.
#[derive(Default)]
struct Flushes {
    bytes: Vec<u8>,
    at_flush: Vec<usize>,
}

impl Write for Flushes {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.at_flush.push(self.bytes.len());
        Ok(())
    }
}

fn chunks(name: &str) -> Vec<kvs_mkv::Chunk> {
    decode_whole(&testdata(name))
        .into_iter()
        .filter_map(|i| match i {
            Item::Chunk(c) => Some(c),
            Item::Error(_) => None,
        })
        .collect()
}

/// `Flushes` shared with the test while the merger writes to it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Flushes>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

#[test]
fn each_chunk_is_written_and_flushed_when_pushed() {
    let out = Shared::default();
    let mut merger = Merger::streaming(out.clone(), MergeOptions::default());
    assert_eq!(merger.kind(), OutputKind::Streaming);
    let mut written = Vec::new();
    for chunk in chunks("sample.mkv") {
        merger.push(chunk).unwrap();
        written.push(merger.report().bytes_written);
        // Everything written so far was flushed, before the next chunk.
        let seen = out.0.borrow();
        assert_eq!(seen.bytes.len() as u64, *written.last().unwrap());
        assert_eq!(seen.at_flush.last().copied(), Some(seen.bytes.len()));
    }
    assert!(
        written[0] > 0 && written[0] < written[1] && written[1] < written[2],
        "{written:?}"
    );
    let report = merger.finish().unwrap();
    assert_eq!(
        (report.chunks, report.frames, report.cue_points),
        (3, 45, 0)
    );
    assert_eq!(report.duration_ns, 3_000_000_000);
    assert_eq!(
        report.bytes_written, written[2],
        "nothing is added at the end"
    );
}

#[test]
fn the_stream_is_one_segment_of_unknown_size_without_seek_head_or_cues() {
    let mut out = Flushes::default();
    let report = merge_streaming(
        &testdata("two_track.mkv")[..],
        &mut out,
        &MergeOptions::default(),
    )
    .unwrap();
    assert_eq!(report.bytes_written as usize, out.bytes.len());
    // A flush after each of the three chunks (and one at the end).
    assert!(out.at_flush.len() >= 3, "{:?}", out.at_flush);
    let bytes = &out.bytes;
    let segment = bytes
        .windows(4)
        .position(|w| w == b"\x18\x53\x80\x67")
        .unwrap();
    assert_eq!(
        &bytes[segment + 4..segment + 12],
        b"\x01\xff\xff\xff\xff\xff\xff\xff"
    );
    for (id, name) in [
        (&b"\x11\x4d\x9b\x74"[..], "SeekHead"),
        (b"\x1c\x53\xbb\x6b", "Cues"),
    ] {
        assert!(!bytes.windows(4).any(|w| w == id), "no {name}");
    }
    // Our decoder reads it back chunk by chunk, with the tags.
    let back = decode_whole(bytes);
    let back: Vec<_> = back.iter().filter_map(Item::chunk).collect();
    let input = chunks("two_track.mkv");
    assert_eq!(back.len(), input.len());
    for (b, i) in back.iter().zip(&input) {
        assert_eq!(b.frames().len(), i.frames().len());
        assert_eq!(b.info().fragment_number(), i.info().fragment_number());
    }
}

/// ffprobe and mkvinfo (independent readers) find every frame, as in the
/// seekable merge; mkvinfo sees the unknown size and no Cues.
#[test]
fn ffprobe_and_mkvinfo_read_the_stream() {
    if !tool("ffprobe") || !tool("mkvinfo") {
        return;
    }
    let dir = scratch_dir("merge-streaming");
    for name in [
        "sample.mkv",
        "two_track.mkv",
        "laced_audio.mkv",
        "truncated.mkv",
    ] {
        let input = testdata(name);
        let streamed = dir.join(format!("streamed-{name}"));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&streamed).unwrap());
        let report = merge_streaming(&input[..], &mut out, &MergeOptions::default()).unwrap();
        out.flush().unwrap();
        drop(out);
        let seekable = dir.join(format!("seekable-{name}"));
        merge(
            &input[..],
            std::fs::File::create(&seekable).unwrap(),
            &MergeOptions::default(),
        )
        .unwrap();
        let streamed = streamed.to_str().unwrap();
        assert_eq!(ffprobe_packet_count(streamed), report.frames, "{name}");
        assert_eq!(
            ffprobe_packet_count(streamed),
            ffprobe_packet_count(seekable.to_str().unwrap()),
            "{name}"
        );
        let info = mkvinfo(streamed);
        assert!(info.contains("+ Segment: size unknown"), "{name}: {info}");
        assert!(
            !info.contains("+ Cues") && !info.contains("Seek head"),
            "{name}"
        );
        assert_eq!(mkvinfo_frames(&info), report.frames, "{name}");
    }
}
