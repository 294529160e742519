//! `kvs-mkv merge -o -`, `get-media --save -` and
//! `get-media-for-fragment-list --save -`: a streamable MKV on standard
//! output, written chunk by chunk, that ffprobe reads from a pipe.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use common::{chunk_with, decode_whole, testdata, tool, video, Item};
use kvs_mkv::writer::{ChunkModel, ChunkWriter};
use support::{
    bin, ffprobe_packet_count, scratch_dir, testdata_path, text, wait_output, Serve, HANG_GUARD,
};

/// `producer | ffprobe -`: the packets ffprobe counts, read from the
/// producer's standard output through a pipe; and the producer's stderr.
fn ffprobe_piped(producer: &mut Command) -> (u64, String) {
    let mut child = producer
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = child.stdout.take().unwrap();
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
            "-",
        ])
        .stdin(Stdio::from(pipe))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let probed = wait_output(probe);
    let produced = wait_output(child);
    let stderr = text(&produced.stderr);
    assert_eq!(produced.status.code(), Some(0), "{stderr}");
    assert!(probed.status.success(), "ffprobe: {}", text(&probed.stderr));
    assert!(
        probed.stderr.is_empty(),
        "ffprobe: {}",
        text(&probed.stderr)
    );
    let packets = text(&probed.stdout)
        .lines()
        .map(|l| l.trim().trim_end_matches(',').parse::<u64>().unwrap())
        .sum();
    (packets, stderr)
}

fn frames_of(name: &str) -> u64 {
    decode_whole(&testdata(name))
        .iter()
        .filter_map(Item::chunk)
        .map(|c| c.frames().len() as u64)
        .sum()
}

/// `kvs-mkv merge FILE -o - | ffprobe -` reads every frame: as many packets
/// as the decoder finds frames, and as ffprobe finds in the seekable merge.
/// No file named `-` appears.
#[test]
fn merge_to_standard_output_pipes_into_ffprobe() {
    if !tool("ffprobe") {
        return;
    }
    let dir = scratch_dir("merge-stdout");
    for name in [
        "sample.mkv",
        "two_track.mkv",
        "laced_audio.mkv",
        "producer_sdk.mkv",
    ] {
        let input = testdata_path(name);
        let (piped, stderr) =
            ffprobe_piped(bin().current_dir(&dir).args(["merge", &input, "-o", "-"]));
        assert!(stderr.contains("into standard output"), "{stderr}");
        let seekable = dir.join(name);
        let out = bin()
            .args(["merge", &input, "-o", seekable.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(piped, frames_of(name), "{name}");
        assert_eq!(
            piped,
            ffprobe_packet_count(seekable.to_str().unwrap()),
            "{name}"
        );
        assert!(!dir.join("-").exists(), "no file named '-'");
    }
}

/// The first chunk's Matroska reaches the pipe while the input is still
/// open: the merge streams, it does not wait for the end.
#[test]
fn merge_to_standard_output_streams_before_the_input_ends() {
    let data = testdata("sample.mkv");
    let dir = scratch_dir("merge-streams");
    let mut child = bin()
        .current_dir(&dir)
        .args(["merge", "-", "-o", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // The first chunk ends at its continuation token, byte 6617.
    stdin.write_all(&data[..6617]).unwrap();
    stdin.flush().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut head = vec![0u8; 6000];
        let got = stdout.read_exact(&mut head).map(|()| head.clone());
        let _ = tx.send(got);
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        [head, rest].concat()
    });
    let head = rx
        .recv_timeout(HANG_GUARD)
        .expect("the first chunk's bytes came before the input ended")
        .expect("6000 bytes");
    assert_eq!(&head[..4], b"\x1a\x45\xdf\xa3", "an EBML header");
    // Segment ID then the unknown size: nothing will be patched.
    let segment = head
        .windows(4)
        .position(|w| w == b"\x18\x53\x80\x67")
        .unwrap();
    assert_eq!(
        &head[segment + 4..segment + 12],
        b"\x01\xff\xff\xff\xff\xff\xff\xff"
    );
    stdin.write_all(&data[6617..]).unwrap();
    drop(stdin);
    let out = wait_output(child);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let merged = reader.join().unwrap();
    // Read back by the decoder: one chunk per input chunk (each ends at its
    // tags), with every frame.
    let back: Vec<_> = decode_whole(&merged)
        .into_iter()
        .map(|i| match i {
            Item::Chunk(c) => c,
            Item::Error(e) => panic!("{e}"),
        })
        .collect();
    assert_eq!(back.iter().map(|c| c.frames().len()).sum::<usize>(), 45);
    assert!(!dir.join("-").exists());
}

const FRAGMENTS: [&str; 3] = [
    "91343852333181432392682062607743920146159169392",
    "91343852333181432392682062607743920146159169393",
    "91343852333181432392682062607743920146159169394",
];

/// `get-media --save - | ffprobe -` and the same for
/// get-media-for-fragment-list: every frame through the pipe; the rows go
/// to stderr.
#[test]
fn save_to_standard_output_pipes_into_ffprobe() {
    if !tool("ffprobe") {
        return;
    }
    let serve = Serve::start(&["--stream", &format!("cam={}", testdata_path("sample.mkv"))]);
    let (packets, stderr) = ffprobe_piped(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--max-chunks",
        "3",
        "--save",
        "-",
    ]));
    assert_eq!(packets, 45);
    assert!(
        stderr.contains(FRAGMENTS[2]),
        "the rows on stderr: {stderr}"
    );
    assert!(stderr.contains("saved 3 chunks, 45 frames"), "{stderr}");
    assert!(stderr.contains("to standard output"), "{stderr}");

    let (packets, stderr) = ffprobe_piped(&mut serve.cmd(&[
        "get-media-for-fragment-list",
        "--stream",
        "cam",
        FRAGMENTS[0],
        FRAGMENTS[2],
        "--json",
        "--save",
        "-",
    ]));
    assert_eq!(packets, 30);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("{\"kind\":\"chunk\""))
            .count(),
        2,
        "{stderr}"
    );
}

#[test]
fn merge_exit_statuses() {
    let dir = scratch_dir("merge-exit");
    let out = dir.join("cli.mkv");
    let ok = bin()
        .args(["merge", "-o"])
        .arg(&out)
        .arg(testdata_path("truncated.mkv"))
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(
        stderr.contains("cut short") && stderr.contains("10 complete frames"),
        "{stderr}"
    );

    // Standard input, damaged: merged, but exit 1.
    let mut damaged = testdata("sample.mkv");
    damaged.splice(6617..6617, b"junk".iter().copied());
    let mut child = bin()
        .args(["merge", "-", "-o"])
        .arg(&out)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&damaged).unwrap();
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(1));
    assert_eq!(
        kvs_mkv::io::read_chunks(&std::fs::read(&out).unwrap()[..])
            .next()
            .unwrap()
            .unwrap()
            .frames()
            .len(),
        45
    );

    // Refused: a change of tracks.
    let models = [chunk_with(video(b"a"), 0), chunk_with(video(b"b"), 40)];
    let refused_in = dir.join("refused-in.mkv");
    let mut body = Vec::new();
    ChunkWriter::default()
        .write_stream(&models, &mut body)
        .unwrap();
    std::fs::write(&refused_in, body).unwrap();
    let refused = bin()
        .args(["merge", "-o"])
        .arg(&out)
        .arg(&refused_in)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("changes track 1"));

    // Nothing to merge: exit 1, and no empty file left behind.
    let empty_in = dir.join("empty-in.mkv");
    let mut body = Vec::new();
    ChunkWriter::default()
        .write_to(&ChunkModel::default(), &mut body)
        .unwrap();
    std::fs::write(&empty_in, body).unwrap();
    let nothing_out = dir.join("nothing.mkv");
    let nothing = bin()
        .args(["merge", "-o"])
        .arg(&nothing_out)
        .arg(&empty_in)
        .output()
        .unwrap();
    assert_eq!(nothing.status.code(), Some(1));
    assert!(!nothing_out.exists());

    let missing = bin()
        .args(["merge", "/nonexistent/in.mkv", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let usage = bin().args(["merge", "x.mkv"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2), "-o is required");
}
