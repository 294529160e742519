//! Issue F attacked from outside, on the real binary: bad input to the
//! command line and a hostile server behind the service commands. Each test
//! that names a bug failed on the code before its fix. (The library's side:
//! tests/attack_f.rs.)

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::path::Path;
use std::process::Command;

use support::{aws_bin, bin, hostile_server, run, scratch_dir, testdata_path, text, Answer};

// ---------------------------------------------------------------------
// Bad input to the command line.
// ---------------------------------------------------------------------

fn no_panic(out: &std::process::Output, what: &str) {
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked") && out.status.code() != Some(101),
        "{what}: {err}"
    );
}

/// BUG (fixed): `get-media --idle-timeout` took any f64 and made a
/// Duration of it with `Duration::from_secs_f64`, which panics: `-1`,
/// `inf`, `NaN` and `1e300` ended with exit status 101; `1e19` seconds (a
/// valid Duration) panicked when the first chunk came ("overflow when
/// adding duration to instant"). Values that are no Duration are a usage
/// error (2); a huge one is a timeout that never fires.
#[test]
fn idle_timeout_out_of_range_is_a_usage_error_or_never_fires() {
    for bad in ["-1", "inf", "NaN", "1e300"] {
        let out = run(aws_bin().args([
            "get-media",
            "--stream",
            "cam",
            "--endpoint-url",
            "http://127.0.0.1:1",
            &format!("--idle-timeout={bad}"),
        ]));
        no_panic(&out, bad);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("--idle-timeout"), "{bad}");
    }
    let body = std::fs::read(testdata_path("sample.mkv")).unwrap();
    let url = hostile_server(move |r| {
        (r.path == "/getMedia").then(|| Answer {
            status: 200,
            headers: vec![("content-type".into(), "video/webm".into())],
            body: body.clone(),
        })
    });
    let out = run(aws_bin().args([
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--max-chunks",
        "2",
        "--idle-timeout",
        "1e19",
        "--endpoint-url",
        &url,
    ]));
    no_panic(&out, "1e19");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 3, "a header and 2 rows");
}

/// BUG (fixed): a time with a year too large for the day arithmetic
/// (`--from 100000000000000-01-01T00:00:00Z`) overflowed an i64: a panic
/// in a debug build, a wrapped (wrong) time in a release build. RFC 3339
/// years have four digits; anything else is refused like any bad time.
#[test]
fn times_with_huge_years_are_refused() {
    for t in [
        "100000000000000-01-01T00:00:00Z",
        "9223372036854775807-01-01T00:00:00Z",
        "10000-01-01T00:00:00Z",
    ] {
        let out = run(aws_bin().args([
            "list-fragments",
            "--stream",
            "cam",
            "--endpoint-url",
            "http://127.0.0.1:1",
            "--from",
            t,
            "--to",
            t,
        ]));
        no_panic(&out, t);
        assert_eq!(out.status.code(), Some(2), "{t}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("neither epoch seconds"), "{t}");
    }
}

/// Runs `script` with bash in `dir`, `kvs-mkv` as `$KVS`, and files it
/// writes capped at 10 MiB (`ulimit -f`): a command that appended its own
/// output to its input forever is stopped by SIGXFSZ instead of filling
/// the disk.
fn bash_in(dir: &Path, script: &str) -> std::process::Output {
    run(Command::new("bash")
        .current_dir(dir)
        .env("KVS", env!("CARGO_BIN_EXE_kvs-mkv"))
        .args(["-c", &format!("ulimit -f 10240; {script}")]))
}

/// BUG (fixed): `merge IN -o IN` (or through another name of the same
/// file) truncated the input before reading it: the recording was lost
/// and the message said the input "is empty". `merge IN -o - >> IN` read
/// its own output back and grew the file until the disk was full (9.4 GB
/// in 10 minutes here); `merge - -o IN < IN` lost the input too. As cat
/// does, `merge` refuses an output that is its input (exit status 2),
/// before writing anything.
#[test]
fn merge_refuses_an_output_that_is_its_input() {
    let dir = scratch_dir("attack-merge-self");
    let original = std::fs::read(testdata_path("sample.mkv")).unwrap();
    for script in [
        "$KVS merge in.mkv -o in.mkv",
        "$KVS merge in.mkv -o ./link.mkv",
        "$KVS merge in.mkv -o hard.mkv",
        "$KVS merge - -o in.mkv < in.mkv",
        "$KVS merge in.mkv -o - >> in.mkv",
        "$KVS merge - -o - < in.mkv >> hard.mkv",
    ] {
        std::fs::write(dir.join("in.mkv"), &original).unwrap();
        let _ = std::fs::remove_file(dir.join("link.mkv"));
        let _ = std::fs::remove_file(dir.join("hard.mkv"));
        std::os::unix::fs::symlink("in.mkv", dir.join("link.mkv")).unwrap();
        std::fs::hard_link(dir.join("in.mkv"), dir.join("hard.mkv")).unwrap();
        let out = bash_in(&dir, script);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{script}: {err}");
        assert!(err.contains("is also its input"), "{script}: {err}");
        assert!(
            std::fs::read(dir.join("in.mkv")).unwrap() == original,
            "{script}: the input was changed"
        );
    }
    // Other outputs still work, /dev/null included.
    std::fs::write(dir.join("in.mkv"), &original).unwrap();
    for script in [
        "$KVS merge in.mkv -o out.mkv",
        "$KVS merge in.mkv -o - > out2.mkv",
        "$KVS merge - -o /dev/null < in.mkv",
        "$KVS merge in.mkv -o - | cat > /dev/null",
    ] {
        let out = bash_in(&dir, script);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{script}: {}",
            text(&out.stderr)
        );
    }
    assert!(std::fs::metadata(dir.join("out.mkv")).unwrap().len() > 1000);
    let _ = std::fs::remove_dir_all(&dir);
}

/// BUG (fixed): get-images named each file by its timestamp in
/// milliseconds, so two images of the same millisecond (or two without a
/// TimeStamp, both `unknown.jpg`) overwrote each other, while the command
/// listed both paths and counted both as written. Each image now gets a
/// file of its own.
#[test]
fn get_images_keeps_every_image_of_the_same_millisecond() {
    let images = r#"{"Images":[
        {"ImageContent":"QUFB"},
        {"ImageContent":"QkJC"},
        {"TimeStamp":1700000000.5,"ImageContent":"Q0ND"},
        {"TimeStamp":1700000000.5004,"ImageContent":"RERE"}]}"#;
    let url = hostile_server(move |r| (r.path == "/getImages").then(|| Answer::json(200, images)));
    let dir = scratch_dir("attack-images");
    let out = run(aws_bin().args([
        "get-images",
        "--stream",
        "cam",
        "--from",
        "1700000000",
        "--to",
        "1700000003",
        "--out",
        dir.to_str().unwrap(),
        "--endpoint-url",
        &url,
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let listed: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{listed:?}");
    let mut contents: Vec<Vec<u8>> = listed.iter().map(|p| std::fs::read(p).unwrap()).collect();
    contents.sort();
    assert_eq!(
        contents,
        [
            b"AAA".to_vec(),
            b"BBB".to_vec(),
            b"CCC".to_vec(),
            b"DDD".to_vec()
        ]
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 4);
    assert!(text(&out.stderr).contains("4 images written"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// BUG (fixed): `serve --live --speed` took any positive finite number:
/// `--speed 1e300` overflowed the emulator's clock at start (a panic,
/// exit status 101) and `--speed 1e-300` panicked in the GetMedia task
/// (`Duration::from_secs_f64` of an infinite wait), so that GetMedia got
/// no answer. Speeds outside 1e-6..=1e6 are refused as usage errors.
#[test]
fn serve_refuses_speeds_its_clock_cannot_run_at() {
    for speed in ["1e300", "1e-300", "1e7"] {
        let out = run(aws_bin().args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--stream",
            &format!("cam={}", testdata_path("sample.mkv")),
            "--live",
            "--speed",
            speed,
        ]));
        no_panic(&out, speed);
        assert_eq!(out.status.code(), Some(2), "{speed}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("speed"), "{speed}");
    }
}

/// Held: a directory, a missing directory and /dev/full as outputs are
/// errors naming the path (exit status 2), and /dev/full stays a device.
#[test]
fn unwritable_merge_outputs_are_errors_naming_them() {
    let dir = scratch_dir("attack-outputs");
    let missing = dir.join("no\x1b[31mdir").join("x.mkv");
    for (out_path, shown) in [
        (dir.to_str().unwrap().to_string(), dir.display().to_string()),
        (
            missing.to_str().unwrap().to_string(),
            "no\\x1b[31mdir".to_string(),
        ),
        ("/dev/full".to_string(), "/dev/full".to_string()),
    ] {
        let out = run(bin().args(["merge", &testdata_path("sample.mkv"), "-o", &out_path]));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{out_path}: {err}");
        assert!(err.contains(&shown), "{out_path}: {err}");
        assert!(!err.contains('\x1b'), "{err:?}");
    }
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata("/dev/full")
        .unwrap()
        .file_type()
        .is_char_device());
    let _ = std::fs::remove_dir_all(&dir);
}
