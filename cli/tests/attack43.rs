//! An outsider's attack on the command line (h43): hostile values that the
//! decoder takes as valid must come out of `inspect --json` exactly, as
//! ../shared/spec/inspect-json.md fixes the fields ("ms since the epoch,
//! exact"; presentation times "rounded down"), never wrapped into another
//! number.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use common::ebml::*;
use support::{bin, run, scratch_dir, text};

/// One chunk: TimecodeScale `scale`, tags before the Cluster, one
/// keyframe at Cluster Timecode `cluster_tc`.
fn chunk(scale: u64, cluster_tc: u64, tags: &[(&str, &str)]) -> Vec<u8> {
    let segment = concat(&[
        info(scale),
        el(
            TRACKS,
            &video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
        ),
        tags_w(tags, 2),
        el(
            CLUSTER,
            &concat(&[uint(TIMECODE, cluster_tc), simple_block(1, 0, true, b"abc")]),
        ),
    ]);
    concat(&[ebml_header(), el(SEGMENT, &segment)])
}

/// `inspect --json FILE` of `body`: the one chunk line, as text.
fn inspect_line(name: &str, body: &[u8]) -> String {
    let dir = scratch_dir(name);
    let path = dir.join("in.mkv");
    std::fs::write(&path, body).unwrap();
    let out = run(bin().arg("inspect").arg("--json").arg(&path));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    lines[0].to_string()
}

/// A server timestamp the decoder reads (seconds fit a u64) whose
/// milliseconds do not fit a u64: the JSON number is the exact count, not
/// the count modulo 2^64.
#[test]
fn server_timestamp_ms_is_exact_past_u64() {
    let body = chunk(
        1_000_000,
        0,
        &[
            (
                "AWS_KINESISVIDEO_SERVER_TIMESTAMP",
                "18446744073709551615.999",
            ),
            ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", "18446744073709551.5"),
        ],
    );
    let line = inspect_line("attack43-ts", &body);
    assert!(
        line.contains(r#""server_timestamp_ms":18446744073709551615999,"#),
        "{line}"
    );
    assert!(
        line.contains(r#""producer_timestamp_ms":18446744073709551500,"#),
        "{line}"
    );
}

/// A TimecodeScale of u64::MAX ns and a Cluster Timecode of 2^62: the
/// presentation time is 2^62 x (2^64 - 1) / 10^6 ms, rounded down, a
/// positive number past i64; it was printed wrapped (7155561201482211482,
/// and negative for other values).
#[test]
fn pts_ms_is_exact_past_i64() {
    let body = chunk(u64::MAX, 1 << 62, &[]);
    let line = inspect_line("attack43-pts", &body);
    let expected = (1i128 << 62) * i128::from(u64::MAX) / 1_000_000;
    assert!(
        line.contains(&format!(
            r#""first_pts_ms":{expected},"last_pts_ms":{expected},"#
        )),
        "{expected}: {line}"
    );
}

/// The same chunk at a TimecodeScale of u64::MAX ns and Cluster Timecode
/// i64::MAX was printed as a negative time.
#[test]
fn pts_ms_is_never_negative_for_positive_timecodes() {
    let body = chunk(u64::MAX, i64::MAX as u64, &[]);
    let line = inspect_line("attack43-pts-neg", &body);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let first = &v["first_pts_ms"];
    assert!(
        first.as_f64().is_some_and(|f| f > 0.0),
        "first_pts_ms {first} for a positive timecode and scale: {line}"
    );
}

/// `get-media` against a port nothing listens on: a start that is bad
/// usage must be refused (exit 2, naming --start) before any call.
fn get_media_start(start: &[&str]) -> std::process::Output {
    run(support::aws_bin()
        .args(["get-media", "--stream", "cam", "--max-chunks", "1"])
        .args(["--endpoint-url", "http://127.0.0.1:1"])
        .args(start))
}

/// `--start earliest 5` (meant: `fragment 5`?) and `--start now X` were
/// taken as `earliest` and `now`, the value dropped without a word.
#[test]
fn start_now_and_earliest_take_no_value() {
    for start in [
        &["--start", "earliest", "5"][..],
        &["--start", "now", "1700000000"][..],
    ] {
        let out = get_media_start(start);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{start:?}: {err}");
        assert!(err.contains("--start"), "{start:?}: {err}");
    }
}

/// A second --start was appended to the first's values: `--start
/// earliest --start fragment N` started at the earliest fragment (the
/// "fragment" taken as earliest's ignored value, N dropped), and `--start
/// fragment N --start earliest` at N. Repeating it is bad usage, as for
/// every other single-valued flag.
#[test]
fn start_given_twice_is_bad_usage() {
    const N: &str = "91343852333181432392682062607743920146159169394";
    for start in [
        &["--start", "earliest", "--start", "fragment", N][..],
        &["--start", "fragment", N, "--start", "earliest"][..],
        &["--start", "now", "--start", "earliest"][..],
    ] {
        let out = get_media_start(start);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{start:?}: {err}");
        assert!(err.contains("--start"), "{start:?}: {err}");
    }
}

/// `serve --images NAME=DIR` with one entry of DIR that cannot be read
/// (a subdirectory named like an image, a dangling link): the message
/// named DIR ("cannot read DIR: Is a directory", "cannot read DIR: No such
/// file or directory", with DIR there), not the entry.
#[test]
fn serve_names_the_image_it_cannot_read() {
    let recording = support::testdata_path("sample.mkv");
    let dir = scratch_dir("attack43-images");
    std::fs::write(dir.join("1700000000000.jpg"), b"jpeg").unwrap();
    std::fs::create_dir(dir.join("1700000001000.jpg")).unwrap();
    let links = scratch_dir("attack43-images-link");
    std::os::unix::fs::symlink("/nonexistent/x", links.join("1700000002000.png")).unwrap();
    for (dir, entry) in [(&dir, "1700000001000.jpg"), (&links, "1700000002000.png")] {
        let out = run(bin()
            .args(["serve", "--stream", &format!("cam={recording}")])
            .arg("--images")
            .arg(format!("cam={}", dir.display())));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(entry), "the message names {entry}: {err}");
    }
}

/// With a --checkpoint file present, --start was not read at all: `--start
/// bogus` (or `--start earliest 5`) ran, from the checkpoint, and the same
/// command line failed only on a first run. A bad --start is bad usage
/// whether or not a checkpoint overrides it.
#[test]
fn a_bad_start_is_bad_usage_with_a_checkpoint_too() {
    let dir = scratch_dir("attack43-checkpoint");
    let checkpoint = dir.join("cam.checkpoint");
    std::fs::write(
        &checkpoint,
        "fragment 91343852333181432392682062607743920146159169393\n",
    )
    .unwrap();
    for start in [&["--start", "bogus"][..], &["--start", "earliest", "5"][..]] {
        let out = run(support::aws_bin()
            .args(["get-media", "--stream", "cam", "--max-chunks", "1"])
            .args(["--endpoint-url", "http://127.0.0.1:1"])
            .arg("--checkpoint")
            .arg(&checkpoint)
            .args(start));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{start:?}: {err}");
        assert!(err.contains("--start"), "{start:?}: {err}");
    }
}

/// inspect-json.md counts as `keyframes` the "frames whose SimpleBlock has
/// the keyframe flag". A BlockGroup without a ReferenceBlock is a keyframe
/// to the library (and ffprobe) but has no SimpleBlock: it was counted in
/// the JSON too (and in the table). Built here: a SimpleBlock keyframe, a
/// SimpleBlock that is not one, a BlockGroup of three laced frames without
/// a ReferenceBlock, and one with.
#[test]
fn keyframes_count_simple_block_flags_only() {
    let group = |reference: bool, laced: bool| {
        let block = if laced {
            // Xiph lacing (flags 0x02): 3 frames, the first two of 1 byte.
            let mut b = vec![0x81, 0x00, 0x05, 0x02, 0x02, 0x01, 0x01];
            b.extend_from_slice(b"xyz");
            b
        } else {
            block_body(1, 6, 0, b"g")
        };
        let mut body = el(BLOCK, &block);
        if reference {
            body.extend(el(REFERENCE_BLOCK, &[0xF6]));
        }
        el(BLOCK_GROUP, &body)
    };
    let segment = concat(&[
        info(1_000_000),
        el(
            TRACKS,
            &video_track(1, "V_MPEG4/ISO/AVC", &[1, 2, 3], 640, 480),
        ),
        el(
            CLUSTER,
            &concat(&[
                uint(TIMECODE, 0),
                simple_block(1, 0, true, b"key"),
                simple_block(1, 3, false, b"delta"),
                group(false, true),
                group(true, false),
            ]),
        ),
    ]);
    let body = concat(&[ebml_header(), el(SEGMENT, &segment)]);
    let line = inspect_line("attack43-keyframes", &body);
    assert!(line.contains(r#""frames":6,"#), "{line}");
    assert!(line.contains(r#""keyframes":1,"#), "{line}");

    // The table says the same.
    let dir = scratch_dir("attack43-keyframes-table");
    let path = dir.join("in.mkv");
    std::fs::write(&path, &body).unwrap();
    let out = run(bin().arg("inspect").arg(&path));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("0 "))
        .unwrap_or_else(|| panic!("no row for chunk 0: {stdout}"))
        .split_whitespace()
        .collect();
    assert_eq!((row[3], row[4]), ("6", "1"), "{stdout}");
}
