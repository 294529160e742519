//! Values the command line checks at its boundary, before anything is read
//! or any call is made: fragment numbers (1 to 128 digits, the service's
//! `FragmentNumberString`) and the decoder limits.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::net::TcpListener;
use std::process::{Command, Output};

use support::{aws_bin, bin, run, scratch_dir, testdata_path, text, Serve};

const FRAGMENT: &str = "91343852333181432392682062607743920146159169392";

/// A listener nothing answers on: its URL for `--endpoint-url`, and a
/// check that no connection was ever made to it.
struct Silent(TcpListener);

impl Silent {
    fn new() -> Silent {
        Silent(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }

    fn assert_untouched(&self) {
        self.0.set_nonblocking(true).unwrap();
        match self.0.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("a connection was made: {other:?}"),
        }
    }
}

fn usage_error(out: &Output) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    stderr
}

/// The bad fragment numbers: a non-digit, one digit too many, empty.
fn bad_fragments() -> Vec<(String, &'static str)> {
    vec![
        ("12a".to_string(), "non-digit at position 2"),
        ("1".repeat(129), "129 digits, more than 128"),
        (String::new(), "empty fragment number"),
        ("1.5".to_string(), "non-digit at position 1"),
    ]
}

/// get-media-for-fragment-list refuses a bad fragment number as bad usage,
/// naming the argument and the value, before any call; the largest number
/// the service takes (128 digits) passes.
#[test]
fn fragment_list_refuses_bad_fragment_numbers_at_the_boundary() {
    for (bad, why) in bad_fragments() {
        let server = Silent::new();
        let out = run(aws_bin().args([
            "get-media-for-fragment-list",
            "--stream",
            "cam",
            "--endpoint-url",
            &server.url(),
            FRAGMENT,
            &bad,
        ]));
        let stderr = usage_error(&out);
        assert!(
            stderr.contains(&format!("invalid value '{bad}' for '<FRAGMENT>...'")),
            "{bad:?}: {stderr}"
        );
        assert!(stderr.contains(why), "{bad:?}: {stderr}");
        server.assert_untouched();
    }
}

/// `--start fragment N` of get-media: the same check, naming `--start`.
#[test]
fn get_media_start_refuses_bad_fragment_numbers() {
    for (bad, why) in bad_fragments() {
        let server = Silent::new();
        let out = run(aws_bin().args([
            "get-media",
            "--stream",
            "cam",
            "--endpoint-url",
            &server.url(),
            "--start",
            "fragment",
            &bad,
        ]));
        let stderr = usage_error(&out);
        assert!(
            stderr.contains(&format!("--start fragment {bad:?}:")) && stderr.contains(why),
            "{bad:?}: {stderr}"
        );
        server.assert_untouched();
    }
}

/// A `--checkpoint` file whose fragment number is not one is malformed,
/// said naming the file, before any call.
#[test]
fn get_media_checkpoint_with_a_bad_fragment_number_is_malformed() {
    let dir = scratch_dir("checkpoint-bad-fragment");
    for (i, bad) in ["12a".to_string(), "1".repeat(129)].iter().enumerate() {
        let file = dir.join(format!("cp{i}"));
        std::fs::write(&file, format!("fragment {bad}\n")).unwrap();
        let server = Silent::new();
        let out = run(aws_bin().args([
            "get-media",
            "--stream",
            "cam",
            "--endpoint-url",
            &server.url(),
            "--checkpoint",
            file.to_str().unwrap(),
        ]));
        let stderr = usage_error(&out);
        assert!(
            stderr.contains(&format!("--checkpoint {}: malformed", file.display())),
            "{bad:?}: {stderr}"
        );
        server.assert_untouched();
    }
}

// ------------------------------------------------------------------ limits

/// Each limit flag set below what `file` needs, and the error that limit
/// gives (`DecodeErrorKind`'s text, with the value set).
fn too_low() -> Vec<([&'static str; 2], &'static str, &'static str)> {
    vec![
        (
            ["--max-chunk-size", "1KiB"],
            "sample.mkv",
            "chunk grows past the limit of 1024 bytes",
        ),
        (
            ["--max-element-size", "100"],
            "sample.mkv",
            "bytes, over the limit of 100",
        ),
        (
            ["--max-depth", "2"],
            "sample.mkv",
            "elements nested deeper than the limit of 2",
        ),
        (
            ["--max-tags", "1"],
            "sample.mkv",
            "more than 1 tags in one chunk",
        ),
        (
            ["--max-tracks", "1"],
            "two_track.mkv",
            "more than 1 tracks in one chunk",
        ),
    ]
}

/// The same flags set to what the files need: they decode cleanly, so
/// the value given is the one checked (not just any flag failing).
fn enough() -> [[&'static str; 2]; 5] {
    [
        ["--max-chunk-size", "1MiB"],
        ["--max-element-size", "64KiB"],
        ["--max-depth", "8"],
        ["--max-tags", "64"],
        ["--max-tracks", "2"],
    ]
}

fn exit_code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// The tables above cover every limit flag, in this order.
fn covers_every_flag(flags: [&str; 5]) {
    let low: Vec<&str> = too_low().iter().map(|c| c.0[0]).collect();
    let high: Vec<&str> = enough().iter().map(|c| c[0]).collect();
    assert_eq!((low, high), (flags.to_vec(), flags.to_vec()));
}

/// inspect and merge: every limit flag, set low, makes a shipped file fail
/// with that limit's error (exit 1); set to what the file needs, and by
/// default, the file decodes cleanly (exit 0).
#[test]
fn inspect_and_merge_take_the_limit_flags() {
    covers_every_flag([
        "--max-chunk-size",
        "--max-element-size",
        "--max-depth",
        "--max-tags",
        "--max-tracks",
    ]);
    let dir = scratch_dir("limits-merge");
    let merged = dir.join("out.mkv");
    let merged = merged.to_str().unwrap();
    let command = |name: &str, file: &str| -> Command {
        let mut c = bin();
        c.args([name, &testdata_path(file)]);
        if name == "merge" {
            c.args(["-o", merged]);
        }
        c
    };
    for name in ["inspect", "merge"] {
        for file in ["sample.mkv", "two_track.mkv"] {
            let out = run(&mut command(name, file));
            assert_eq!(
                exit_code(&out),
                Some(0),
                "{name} {file}: {}",
                text(&out.stderr)
            );
            for flag in enough() {
                let out = run(command(name, file).args(flag));
                assert_eq!(
                    exit_code(&out),
                    Some(0),
                    "{name} {file} {flag:?}: {}",
                    text(&out.stderr)
                );
            }
        }
        for (flag, file, error) in too_low() {
            let out = run(command(name, file).args(flag));
            let stderr = text(&out.stderr);
            assert_eq!(exit_code(&out), Some(1), "{name} {flag:?}: {stderr}");
            assert!(stderr.contains(error), "{name} {flag:?}: {stderr}");
            // When the limit keeps merge from every TrackEntry, it says so,
            // with the decoder's error that caused it (it once said only
            // that no track was declared).
            if (name, flag[0]) == ("merge", "--max-depth") {
                assert!(
                    stderr.contains("the input declares no track")
                        && stderr.contains("the input was damaged"),
                    "{stderr}"
                );
            }
        }
    }
}

/// dump: the limits the element reader checks as dump drives it (chunk
/// size, which bounds each element it passes over unread, and depth) make
/// a shipped file damage; it reads no payload whole and counts neither tags
/// nor tracks, so it does not take those three flags (a flag that changed
/// nothing would be a surprise): they are bad usage.
#[test]
fn dump_takes_the_limit_flags_it_checks() {
    covers_every_flag([
        "--max-chunk-size",
        "--max-element-size",
        "--max-depth",
        "--max-tags",
        "--max-tracks",
    ]);
    let ignored = ["--max-element-size", "--max-tags", "--max-tracks"];
    let sample = testdata_path("sample.mkv");
    let tree = run(bin().args(["dump", &sample]));
    assert_eq!(exit_code(&tree), Some(0), "{}", text(&tree.stderr));
    for flag in enough() {
        let out = run(bin().args(["dump", &sample]).args(flag));
        if ignored.contains(&flag[0]) {
            let stderr = usage_error(&out);
            assert!(stderr.contains(flag[0]), "{flag:?}: {stderr}");
            continue;
        }
        assert_eq!(exit_code(&out), Some(0), "{flag:?}: {}", text(&out.stderr));
        assert_eq!(out.stdout, tree.stdout, "{flag:?}");
    }
    for (flag, _, error) in too_low() {
        if ignored.contains(&flag[0]) {
            continue;
        }
        let out = run(bin().args(["dump", &sample]).args(flag));
        let stderr = text(&out.stderr);
        assert_eq!(exit_code(&out), Some(1), "{flag:?}: {stderr}");
        // The chunk limit is also the largest element dump passes over.
        let error = match flag[0] {
            "--max-chunk-size" => "bytes, over the limit of 1024",
            _ => error,
        };
        assert!(stderr.contains(error), "{flag:?}: {stderr}");
    }
}

/// get-media and get-media-for-fragment-list decode what the service
/// sends with the limits given: set low, the command ends with the limit's
/// error (exit 1); set to what the recording needs, it goes through.
#[test]
fn media_commands_take_the_limit_flags() {
    covers_every_flag([
        "--max-chunk-size",
        "--max-element-size",
        "--max-depth",
        "--max-tags",
        "--max-tracks",
    ]);
    let two = Serve::start(&[
        "--stream",
        &format!("cam={}", testdata_path("sample.mkv")),
        "--stream",
        &format!("two={}", testdata_path("two_track.mkv")),
    ]);
    let command = |name: &str, stream: &str| -> Command {
        let mut c = two.cmd(&[name, "--stream", stream]);
        match name {
            "get-media" => c.args(["--start", "earliest", "--max-chunks", "2"]),
            _ => c.arg(FRAGMENT),
        };
        c
    };
    for name in ["get-media", "get-media-for-fragment-list"] {
        for flag in enough() {
            let out = run(command(name, "cam").args(flag));
            assert_eq!(
                exit_code(&out),
                Some(0),
                "{name} {flag:?}: {}",
                text(&out.stderr)
            );
        }
        for (flag, file, error) in too_low() {
            let stream = if file == "two_track.mkv" {
                "two"
            } else {
                "cam"
            };
            let out = run(command(name, stream).args(flag));
            let stderr = text(&out.stderr);
            assert_eq!(exit_code(&out), Some(1), "{name} {flag:?}: {stderr}");
            assert!(stderr.contains(error), "{name} {flag:?}: {stderr}");
        }
    }
}

/// A limit that is not a whole number of at least 1 is bad usage (exit
/// 2), said naming the flag and what is wrong, before the input is read.
#[test]
fn bad_limit_values_are_usage_errors() {
    let sample = testdata_path("sample.mkv");
    let cases = [
        ("--max-chunk-size", "0", "must be at least 1"),
        ("--max-chunk-size", "0KiB", "must be at least 1"),
        ("--max-element-size", "-1", "expected a whole number"),
        ("--max-element-size", "1.5MiB", "expected a whole number"),
        ("--max-element-size", "10MB", "expected a whole number"),
        ("--max-chunk-size", "18446744073709551616", "too large"),
        ("--max-chunk-size", "17179869184GiB", "too large"),
        ("--max-depth", "0", "must be at least 1"),
        ("--max-depth", "-3", "expected a whole number"),
        ("--max-tags", "99999999999999999999", "too large"),
        ("--max-tracks", "", "expected a whole number"),
        ("--max-tracks", "ten", "expected a whole number"),
    ];
    for command in ["inspect", "dump", "merge"] {
        for (flag, value, why) in cases {
            if command == "dump"
                && ["--max-element-size", "--max-tags", "--max-tracks"].contains(&flag)
            {
                continue; // not dump's flags (see above)
            }
            let mut c = bin();
            c.args([command, &sample, flag, value]);
            if command == "merge" {
                c.args(["-o", "/nonexistent/never-written.mkv"]);
            }
            let stderr = usage_error(&run(&mut c));
            assert!(
                stderr.contains(&format!("invalid value '{value}' for '{flag} <")),
                "{command} {flag} {value:?}: {stderr}"
            );
            assert!(stderr.contains(why), "{command} {flag} {value:?}: {stderr}");
        }
    }
    // The media commands: checked before any call.
    for command in [
        vec!["get-media", "--stream", "cam"],
        vec!["get-media-for-fragment-list", "--stream", "cam", FRAGMENT],
    ] {
        for (flag, value, why) in cases {
            let server = Silent::new();
            let out =
                run(aws_bin()
                    .args(&command)
                    .args(["--endpoint-url", &server.url(), flag, value]));
            let stderr = usage_error(&out);
            assert!(
                stderr.contains(&format!("invalid value '{value}' for '{flag} <"))
                    && stderr.contains(why),
                "{command:?} {flag} {value:?}: {stderr}"
            );
            server.assert_untouched();
        }
    }
}
