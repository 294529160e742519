//! An outsider's attack on the command line (h44): flag values that were
//! taken without a word although they could not mean what they say.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use support::{run, scratch_dir, text};

/// `get-images --format png --quality 50`: the quality (GetImages
/// FormatConfig JPEGQuality, JPEG only) was dropped without a word. It is
/// bad usage, before any call, the message naming both flags.
#[test]
fn quality_with_png_is_bad_usage() {
    let dir = scratch_dir("attack44-quality");
    let out = run(support::aws_bin()
        .args(["get-images", "--stream", "cam", "--from", "0", "--to", "10"])
        .args(["--endpoint-url", "http://127.0.0.1:1"])
        .args(["--format", "png", "--quality", "50", "--out"])
        .arg(&dir));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--quality"), "{err}");
    assert!(err.contains("--format"), "{err}");
}

/// `serve --region ""` (or blank) was taken, and every ARN the emulator
/// made carried an empty region, where an empty AWS_REGION falls back to
/// the default. It is bad usage, the message naming --region.
#[test]
fn serve_empty_region_is_bad_usage() {
    let recording = support::testdata_path("sample.mkv");
    for region in ["", "  "] {
        let out = run(support::aws_bin()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--stream", &format!("cam={recording}")])
            .args(["--region", region]));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{region:?}: {err}");
        assert!(err.contains("--region"), "{region:?}: {err}");
    }
}

/// A time of epoch seconds past u64 (`--from 99999999999999999999`) was
/// said to be "neither epoch seconds nor YYYY-MM-DDTHH:MM:SS[.fff]Z":
/// the message says the seconds are out of range (still exit 2).
#[test]
fn time_too_large_says_out_of_range() {
    const BIG: &str = "99999999999999999999";
    for args in [
        &[
            "list-fragments",
            "--stream",
            "cam",
            "--from",
            BIG,
            "--to",
            "1",
        ][..],
        &["get-media", "--stream", "cam", "--start", "server-ts", BIG][..],
    ] {
        let out = run(support::aws_bin()
            .args(args)
            .args(["--endpoint-url", "http://127.0.0.1:1"]));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("out of range"), "{args:?}: {err}");
        assert!(!err.contains("YYYY"), "{args:?}: {err}");
    }
}

/// `get-media --idle-timeout 0` stopped at once, 0 chunks and exit 0,
/// where serve's timeouts take 0 as "off". Its --help says neither: 0 is
/// bad usage, the message saying to leave the flag out for no idle
/// timeout.
#[test]
fn get_media_idle_timeout_zero_is_bad_usage() {
    for zero in ["0", "0.0"] {
        let out = run(support::aws_bin()
            .args(["get-media", "--stream", "cam", "--start", "earliest"])
            .args(["--endpoint-url", "http://127.0.0.1:1"])
            .args(["--idle-timeout", zero]));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{zero}: {err}");
        assert!(err.contains("--idle-timeout"), "{zero}: {err}");
        assert!(err.contains("omit"), "{zero}: {err}");
    }
    let help = text(&run(support::aws_bin().args(["get-media", "--help"])).stdout);
    assert!(help.contains("omit it for no idle timeout"), "{help}");
}
