//! Attack 53: odd values for the command line's flags, as an outsider
//! types them.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::path::Path;
use std::process::Output;

use support::{aws_bin, run, testdata_path, text};

/// BUG (fixed): `serve --base-time` took any number of seconds a
/// `Duration` holds. Past what `SystemTime` holds (`1e19`) the command
/// panicked (exit 101); below that but past the year 9999 (`1e18`) it
/// served, with the milliseconds cut to 64 bits, timestamps that were not
/// the base time asked for and that its own client refused as outside
/// the models. Both are bad usage now (exit 2), naming the flag; the last
/// second of 9999 is still served.
#[test]
fn serve_refuses_a_base_time_past_the_year_9999() {
    for value in ["1e19", "1e18", "253402300800"] {
        let out = run(aws_bin().args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--stream",
            &format!("plain={}", testdata_path("source/clip-h264.mkv")),
            "--base-time",
            value,
        ]));
        let err = text(&out.stderr);
        assert!(!err.contains("panicked"), "{value}: {err}");
        assert_eq!(out.status.code(), Some(2), "{value}: {err}");
        assert!(err.contains("--base-time"), "{value}: {err}");
        assert!(
            out.stdout.is_empty(),
            "{value}: served at {}",
            text(&out.stdout)
        );
    }
    let serve = support::Serve::start(&[
        "--stream",
        &format!("plain={}", testdata_path("source/clip-h264.mkv")),
        "--base-time",
        "253402300799",
    ]);
    let out = run(&mut serve.cmd(&["list-fragments", "--stream", "plain", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("\"ProducerTimestamp\":\"253402300799.000\""),
        "{}",
        text(&out.stdout)
    );
}

/// BUG (fixed): `get-media --checkpoint FIFO` opened the FIFO to read the
/// resume point and waited for a writer forever, before any call (Ctrl-C
/// was the only way out). A checkpoint that is not a regular file is bad
/// usage (exit 2), said naming the flag and the file; the FIFO is left as
/// it was.
#[test]
fn a_checkpoint_that_is_a_fifo_is_bad_usage_not_a_hang() {
    let dir = common::scratch_dir("attack53-checkpoint-fifo");
    let fifo = dir.join("cam.checkpoint");
    common::mkfifo(&fifo);
    let out = run(aws_bin().args([
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--endpoint-url",
        "http://127.0.0.1:1",
        "--checkpoint",
        &fifo.display().to_string(),
    ]));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--checkpoint") && err.contains("cam.checkpoint"),
        "{err}"
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

/// BUG (fixed): `get-images --out DIR` made DIR (and its missing parents)
/// before the request was checked, so a refused request (`--quality 0`,
/// `--interval 100`, a stream name with a space: bad usage, exit 2, no
/// call made) left a new empty directory behind. A run that fails before
/// writing an image now removes the directories it made, and only those.
#[test]
fn a_refused_get_images_leaves_no_directory_behind() {
    let dir = common::scratch_dir("attack53-get-images-out");
    let out_dir = dir.join("new").join("frames");
    let refused: [&[&str]; 3] = [
        &["--stream", "cam", "--quality", "0"],
        &["--stream", "cam", "--interval", "100"],
        &["--stream", "no spaces"],
    ];
    for extra in refused {
        let out = get_images(extra, &out_dir);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains("invalid request"), "{extra:?}: {err}");
        assert!(
            !dir.join("new").exists(),
            "{extra:?}: {} was made and left behind",
            out_dir.display()
        );
    }
    // A directory that was there is left, and so is what it holds.
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("keep.txt"), "mine").unwrap();
    let out = get_images(&["--stream", "cam", "--quality", "0"], &out_dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("keep.txt")).unwrap(),
        "mine"
    );
    // An empty directory that was there is left too.
    std::fs::remove_file(out_dir.join("keep.txt")).unwrap();
    let out = get_images(&["--stream", "cam", "--quality", "0"], &out_dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(out_dir.is_dir());
}

/// `get-images` of a 3-second range with `extra`, against an endpoint that
/// answers nothing, writing to `out`.
fn get_images(extra: &[&str], out: &Path) -> Output {
    run(aws_bin()
        .args(["get-images", "--from", "1700000000", "--to", "1700000003"])
        .args(extra)
        .args(["--endpoint-url", "http://127.0.0.1:1", "--out"])
        .arg(out))
}

/// BUG (fixed): `serve --header-read-timeout 1e19` (0 is "no limit"; a
/// huge number reads as "practically none") started, then panicked in
/// every connection's task (`since + d` past what an `Instant` holds), so
/// every call failed ("connection closed before message completed") and
/// the client gave up after its retries; `--keep-alive-timeout 1e19` and
/// `--fault end-session-after=1e19` panicked the same way after each
/// answer and in each GetMedia session. They are no limit now.
#[test]
fn serve_time_limits_too_long_for_an_instant_are_no_limits() {
    let serve = support::Serve::start(&[
        "--stream",
        &format!("cam={}", testdata_path("sample.mkv")),
        "--header-read-timeout",
        "1e19",
        "--keep-alive-timeout",
        "1e19",
        "--write-stall-timeout",
        "1e19",
        "--fault",
        "end-session-after=1e19",
    ]);
    let out = run(&mut serve.cmd(&["list-fragments", "--stream", "cam", "--json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 3);
    let out = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().count(),
        3,
        "{}",
        text(&out.stdout)
    );
    let (_, stderr) = serve.stop();
    assert!(!stderr.contains("panicked"), "{stderr}");
}
