//! `merge` and `kvs-mkv merge`: merged files checked by ffprobe, ffmpeg and
//! mkvinfo (independent readers) against the frames of the input, and the
//! library's behaviour on cut, damaged and refused input.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use common::{chunk_with, decode_whole, shared, testdata, tool, video, Item};
use kvs_mkv::merge::{merge, MergeError, MergeOptions, MergeReport, TrackChange};
use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout};
use kvs_mkv::{Chunk, Frame, TrackType};

fn chunks_of(input: &[u8]) -> Vec<Chunk> {
    decode_whole(input)
        .into_iter()
        .filter_map(|i| match i {
            Item::Chunk(c) => Some(c),
            Item::Error(_) => None,
        })
        .collect()
}

fn merged(input: &[u8]) -> (Vec<u8>, MergeReport) {
    let mut out = Cursor::new(Vec::new());
    let report = merge(input, &mut out, &MergeOptions::default()).expect("merges");
    (out.into_inner(), report)
}

/// A scratch file under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("merge");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

// ------------------------------------------------------------ without tools

#[test]
fn merged_sample_is_one_document_with_every_frame() {
    let input = testdata("sample.mkv");
    let (out, report) = merged(&input);
    assert_eq!(report.bytes_written as usize, out.len());
    assert_eq!((report.chunks, report.frames, report.clusters), (3, 45, 3));
    assert_eq!(report.cue_points, 3);
    assert_eq!(report.duration_ns, 3_000_000_000);
    assert!(report.incomplete.is_empty() && report.decode_errors.is_empty());

    let back = chunks_of(&out);
    assert_eq!(back.len(), 1, "one EBML header, one Segment of known size");
    let input_frames: Vec<Frame> = chunks_of(&input)
        .iter()
        .flat_map(|c| c.frames().to_vec())
        .collect();
    let output = back[0].frames();
    assert_eq!(output.len(), input_frames.len());
    for (a, b) in input_frames.iter().zip(output) {
        assert_eq!(a.data(), b.data());
        assert_eq!(a.is_keyframe(), b.is_keyframe());
    }
    let tcs: Vec<i64> = output.iter().map(|f| f.timecode()).collect();
    assert!(tcs.windows(2).all(|w| w[0] <= w[1]));
    // The sample's chunks are contiguous: nothing moves.
    assert_eq!(
        tcs,
        input_frames
            .iter()
            .map(|f| f.timecode())
            .collect::<Vec<_>>()
    );
    // Every chunk's AWS tags are kept, in order.
    let fragments: Vec<&str> = back[0]
        .info()
        .tags
        .iter()
        .filter(|t| t.name == kvs_mkv::kvs::names::FRAGMENT_NUMBER)
        .map(|t| t.value.as_str().unwrap())
        .collect();
    assert_eq!(fragments.len(), 3);
    assert!(fragments[2].ends_with("9394"));
}

#[test]
fn merge_writes_from_the_output_position() {
    let input = testdata("sample.mkv");
    let mut out = Cursor::new(b"prefix".to_vec());
    out.set_position(6);
    let report = merge(&input[..], &mut out, &MergeOptions::default()).unwrap();
    let out = out.into_inner();
    assert_eq!(&out[..6], b"prefix");
    assert_eq!(out.len() - 6, report.bytes_written as usize);
    assert_eq!(chunks_of(&out[6..])[0].frames().len(), 45);
}

#[test]
fn producer_timecodes_and_resets_are_rebased() {
    // Producer-SDK chunks with epoch-millisecond timecodes, then the same
    // chunks again (a reset): the merged timeline starts at 0 and goes on.
    let mut input = testdata("producer_sdk.mkv");
    input.extend(testdata("producer_sdk.mkv"));
    let (out, report) = merged(&input);
    assert_eq!(report.frames, 90);
    let frames = chunks_of(&out)[0].frames().to_vec();
    assert_eq!(frames[0].timecode(), 0);
    let tcs: Vec<i64> = frames.iter().map(|f| f.timecode()).collect();
    assert!(tcs.windows(2).all(|w| w[0] < w[1]), "{tcs:?}");
    assert_eq!(
        tcs[45], 3000,
        "the repeat continues after the first three seconds"
    );
}

#[test]
fn cut_input_keeps_whole_frames_and_says_so() {
    let (out, report) = merged(&testdata("truncated.mkv"));
    assert!(report.truncated);
    assert_eq!(report.decode_error_count, 0, "a cut stream is not damage");
    assert_eq!(report.incomplete.len(), 1);
    assert_eq!(
        (report.incomplete[0].index, report.incomplete[0].frames_kept),
        (2, 10)
    );
    assert_eq!(report.frames, 40);
    assert_eq!(chunks_of(&out)[0].frames().len(), 40);
}

#[test]
fn damage_is_passed_over_and_reported() {
    let mut input = testdata("sample.mkv");
    input.splice(6617..6617, b"junk".iter().copied());
    let (out, report) = merged(&input);
    assert_eq!(report.decode_error_count, 1);
    assert_eq!(report.decode_errors[0].offset, 6617);
    assert_eq!(report.frames, 45);
    assert_eq!(chunks_of(&out)[0].frames().len(), 45);
}

#[test]
fn a_change_of_tracks_is_refused_and_the_output_finished() {
    let models = [
        chunk_with(video(b"sps-a"), 0),
        chunk_with(video(b"sps-a"), 40),
        chunk_with(video(b"sps-b"), 80),
    ];
    let mut input = Vec::new();
    ChunkWriter::new(Layout::Service)
        .write_stream(&models, &mut input)
        .unwrap();
    let mut out = Cursor::new(Vec::new());
    let err = merge(&input[..], &mut out, &MergeOptions::default()).unwrap_err();
    match &err {
        MergeError::TracksChanged {
            chunk,
            track,
            change,
            ..
        } => assert_eq!((*chunk, *track, change), (2, 1, &TrackChange::CodecPrivate)),
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("CodecPrivate"), "{err}");
    // The output is a finished file with the two chunks before.
    let back = chunks_of(out.get_ref());
    assert_eq!(back.len(), 1);
    assert!(back[0].is_complete());
    assert_eq!(back[0].frames().len(), 2);

    let mut other_codec = video(b"sps-a");
    other_codec.codec_id = "V_MPEGH/ISO/HEVC".into();
    let models = [chunk_with(video(b"sps-a"), 0), chunk_with(other_codec, 40)];
    let mut input = Vec::new();
    ChunkWriter::default()
        .write_stream(&models, &mut input)
        .unwrap();
    let err = merge(
        &input[..],
        Cursor::new(Vec::new()),
        &MergeOptions::default(),
    );
    assert!(matches!(
        err,
        Err(MergeError::TracksChanged {
            change: TrackChange::CodecId { .. },
            ..
        })
    ));
}

#[test]
fn nothing_to_merge() {
    let mut input = Vec::new();
    ChunkWriter::default()
        .write_to(&ChunkModel::default(), &mut input)
        .unwrap();
    let mut out = Cursor::new(Vec::new());
    let err = merge(&input[..], &mut out, &MergeOptions::default()).unwrap_err();
    assert!(matches!(err, MergeError::NoTracks { damage: None }));
    assert!(out.get_ref().is_empty());
}

#[test]
fn chunks_of_another_timecode_scale_are_converted() {
    let mut first = chunk_with(video(b"a"), 0);
    first.frames[0] = first.frames[0].clone().with_duration(Some(40));
    // 100 µs ticks: 400 ticks are 40 ms.
    let mut second = ChunkModel::new(vec![video(b"a")]);
    second.timecode_scale = 100_000;
    for tc in [0, 400] {
        let f = Frame::new(Bytes::from_static(b"f"), 1, tc, 100_000, tc == 0);
        second.frames.push(f.with_duration(Some(400)));
    }
    let mut input = Vec::new();
    ChunkWriter::default()
        .write_stream(&[first, second], &mut input)
        .unwrap();
    let (out, report) = merged(&input);
    assert_eq!(report.duration_ns, 120_000_000);
    let back = chunks_of(&out);
    assert_eq!(back[0].info().timecode_scale, 1_000_000);
    let frames: Vec<(i64, Option<u64>)> = back[0]
        .frames()
        .iter()
        .map(|f| (f.timecode(), f.duration()))
        .collect();
    assert_eq!(frames, [(0, Some(40)), (40, Some(40)), (80, Some(40))]);
}

// ------------------------------------------------------- ffprobe, mkvinfo

#[derive(Debug, Clone, PartialEq)]
struct Packet {
    stream: usize,
    pts: i64,
    dts: i64,
    size: usize,
    key: bool,
}

fn ffprobe_packets(path: &Path) -> Vec<Packet> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries"])
        .arg("packet=stream_index,pts,dts,size,flags")
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Packet {
                stream: f[0].parse().unwrap(),
                pts: f[1].parse().unwrap(),
                dts: f[2].parse().unwrap(),
                size: f[3].parse().unwrap(),
                key: f[4].starts_with('K'),
            }
        })
        .collect()
}

/// The payloads of one stream as ffmpeg reads them, concatenated.
fn ffmpeg_payloads(path: &Path, stream: usize) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-map",
            &format!("0:{stream}"),
            "-c",
            "copy",
            "-f",
            "data",
            "-",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// mkvinfo's reading (`-v`: every top-level element): exactly one Segment,
/// of known size, with SeekHead and Cues, and nothing it complains about.
fn check_mkvinfo(path: &Path) {
    let out = Command::new("mkvinfo")
        .arg("-v")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let segments = text.lines().filter(|l| l.starts_with("+ Segment")).count();
    assert_eq!(segments, 1, "{text}");
    assert!(text.contains("+ Segment: size "), "a known size: {text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaints = text
        .lines()
        .chain(stderr.lines())
        .filter(|l| l.starts_with("Warning") || l.starts_with("Error"))
        .count();
    assert_eq!(complaints, 0, "{text}{stderr}");
    assert!(text.contains("|+ Cues") && text.contains("|+ Seek head"));
}

/// Merges `input` to a file and checks it with ffprobe,
/// ffmpeg and mkvinfo against the input's frames; returns the packets.
fn check_merged(input: &Path, name: &str) -> Option<Vec<Packet>> {
    if !tool("ffprobe") || !tool("ffmpeg") || !tool("mkvinfo") {
        return None;
    }
    let out = scratch(name);
    merge(
        std::fs::File::open(input).unwrap(),
        std::io::BufWriter::new(std::fs::File::create(&out).unwrap()),
        &MergeOptions::default(),
    )
    .expect("merges");

    let chunks = chunks_of(&std::fs::read(input).unwrap());
    let tracks = chunks[0].info().tracks.clone();
    let packets = ffprobe_packets(&out);
    for (index, track) in tracks.iter().enumerate() {
        let frames: Vec<&Frame> = chunks
            .iter()
            .flat_map(|c| c.frames())
            .filter(|f| f.track() == track.number)
            .collect();
        let stream: Vec<&Packet> = packets.iter().filter(|p| p.stream == index).collect();
        assert_eq!(
            stream.len(),
            frames.len(),
            "{name}: packets of track {}",
            track.number
        );
        let sizes: Vec<usize> = stream.iter().map(|p| p.size).collect();
        let expected: Vec<usize> = frames.iter().map(|f| f.data().len()).collect();
        assert_eq!(sizes, expected, "{name}: sizes of track {}", track.number);
        let keys = stream.iter().filter(|p| p.key).count();
        if track.track_type == Some(TrackType::Video) {
            assert_eq!(keys, frames.iter().filter(|f| f.is_keyframe()).count());
        }
        assert!(
            stream.windows(2).all(|w| w[0].dts <= w[1].dts),
            "{name}: decode timestamps go backwards in track {}",
            track.number
        );
        let payloads: Vec<u8> = frames.iter().flat_map(|f| f.data().to_vec()).collect();
        assert!(
            ffmpeg_payloads(&out, index) == payloads,
            "{name}: payloads of track {}",
            track.number
        );
    }
    assert_eq!(
        packets.len(),
        chunks.iter().map(|c| c.frames().len()).sum::<usize>()
    );
    check_mkvinfo(&out);
    Some(packets)
}

#[test]
fn sparse_recording_merges_as_aws_merges_it() {
    let (Some(sparse), Some(aws)) = (
        shared("corpus/kvs-recordings/output_get_media_sparse_fragments.mkv"),
        shared("corpus/kvs-recordings/output_get_media_sparse_fragments_merged.mkv"),
    ) else {
        return;
    };
    let Some(ours) = check_merged(&sparse, "sparse.mkv") else {
        return;
    };
    let theirs = ffprobe_packets(&aws);
    assert_eq!(theirs.len(), 180);
    assert_eq!(theirs.iter().map(|p| p.size).sum::<usize>(), 1_516_333);
    assert_eq!(ours.len(), 180);
    assert_eq!(ours.iter().map(|p| p.size).sum::<usize>(), 1_516_333);
    // Same frames, same timestamps: the gaps between the fragments are
    // closed exactly as AWS's parser closes them.
    assert_eq!(ours, theirs);
}

#[test]
fn get_media_recording_merges_with_its_own_timestamps() {
    let Some(input) = shared("corpus/kvs-recordings/output_get_media.mkv") else {
        return;
    };
    let Some(packets) = check_merged(&input, "get_media.mkv") else {
        return;
    };
    assert_eq!(packets.len(), 300);
    // Its chunks are contiguous, so every frame keeps its timecode.
    let chunks = chunks_of(&std::fs::read(&input).unwrap());
    let tcs: Vec<i64> = chunks
        .iter()
        .flat_map(|c| c.frames().iter().map(|f| f.timecode()))
        .collect();
    assert_eq!(packets.iter().map(|p| p.pts).collect::<Vec<_>>(), tcs);
}

#[test]
fn generated_streams_merge() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    for name in [
        "two_track.mkv",
        "laced_audio.mkv",
        "producer_sdk.mkv",
        "fragment_list.mkv",
    ] {
        if check_merged(&dir.join(name), name).is_none() {
            return;
        }
    }
}
