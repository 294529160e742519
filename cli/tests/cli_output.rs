//! What every command does with its output: empty input is an error, a
//! failed write of standard output is exit status 2 (a closed pipe stays
//! quiet), `--save` errors name the path, tables have a header and keep
//! their fixed columns within 100 characters.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::io::{Read, Write};
use std::process::Stdio;

use support::{bin, run, scratch_dir, testdata_path, text, wait_output, Serve};

const FRAGMENTS: [&str; 3] = [
    "91343852333181432392682062607743920146159169392",
    "91343852333181432392682062607743920146159169393",
    "91343852333181432392682062607743920146159169394",
];

fn sample_server() -> Serve {
    Serve::start(&["--stream", &format!("cam={}", testdata_path("sample.mkv"))])
}

/// Empty input is not Matroska (ffprobe and mkvinfo refuse it too): a
/// message naming the input, exit status 1 as for any input that does not
/// decode (2 is kept for usage and I/O errors), and no table.
#[test]
fn inspect_and_merge_of_empty_input_fail() {
    for args in [vec!["inspect"], vec!["inspect", "--json", "-"]] {
        let out = run(bin().args(&args));
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "no header: {:?}", text(&out.stdout));
        assert!(
            text(&out.stderr).contains("no Matroska data in standard input"),
            "{}",
            text(&out.stderr)
        );
    }
    let dir = scratch_dir("empty");
    let empty = dir.join("empty.mkv");
    std::fs::write(&empty, b"").unwrap();
    let out = run(bin().args(["inspect", empty.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(&format!("no Matroska data in {}", empty.display())));

    let merged = dir.join("merged.mkv");
    let out = run(bin().args([
        "merge",
        empty.to_str().unwrap(),
        "-o",
        merged.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("no Matroska data in {}", empty.display())),
        "{}",
        text(&out.stderr)
    );
    assert!(!merged.exists(), "no empty file left behind");
    let out = run(bin().args(["merge", "-o", "-"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("no Matroska data in standard input"));
}

/// `> /dev/full`: the write error is said and the status is 2, for every
/// command that writes standard output.
#[test]
fn a_failed_write_of_standard_output_is_exit_status_2() {
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full");
    if full().is_err() {
        eprintln!("skipped: no /dev/full");
        return;
    }
    let sample = testdata_path("sample.mkv");
    let serve = sample_server();
    let dir = scratch_dir("devfull");
    let images = dir.join("images");
    let with = |mut c: std::process::Command, args: &[&str]| {
        c.args(args);
        c
    };
    let gm = [
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--max-chunks",
        "3",
    ];
    let image_server = Serve::start(&[
        "--stream",
        &format!("cam={sample}"),
        "--images",
        &format!("cam={}", testdata_path("images")),
    ]);
    let mut in_dir = bin();
    in_dir.current_dir(&dir);
    let cmds = vec![
        with(bin(), &["inspect", &sample]),
        with(bin(), &["inspect", "--json", &sample]),
        with(in_dir, &["merge", &sample, "-o", "-"]),
        serve.cmd(&gm),
        with(serve.cmd(&gm), &["--json"]),
        with(serve.cmd(&gm), &["--save", "-"]),
        serve.cmd(&["list-fragments", "--stream", "cam"]),
        serve.cmd(&["list-fragments", "--stream", "cam", "--json"]),
        serve.cmd(&[
            "get-media-for-fragment-list",
            "--stream",
            "cam",
            FRAGMENTS[0],
        ]),
        serve.cmd(&[
            "get-media-for-fragment-list",
            "--stream",
            "cam",
            FRAGMENTS[0],
            "--save",
            "-",
        ]),
        // get-images lists the files it wrote.
        image_server.cmd(&[
            "get-images",
            "--stream",
            "cam",
            "--from",
            "1700000000",
            "--to",
            "1700000003",
            "--out",
            images.to_str().unwrap(),
        ]),
        with(bin(), &["serve", "--stream", &format!("cam={sample}")]),
    ];
    for mut cmd in cmds {
        let shown = format!("{cmd:?}");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(full().unwrap())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = wait_output(child);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{shown}: {stderr}");
        assert!(
            stderr.contains("No space left on device"),
            "{shown}: {stderr}"
        );
    }
    assert_dev_full_intact();
}

/// `| head -1`: the reader goes away; the program stops without a word,
/// with the status it had (0 here).
#[test]
fn a_closed_pipe_stays_quiet() {
    let mut big = Vec::new();
    for _ in 0..400 {
        big.extend(common::testdata("sample.mkv"));
    }
    let dir = scratch_dir("closed-pipe");
    for args in [
        vec!["inspect"],
        vec!["inspect", "--json"],
        vec!["merge", "-o", "-"],
    ] {
        let mut child = bin()
            .current_dir(&dir)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 64];
        let big = big.clone();
        let writer = std::thread::spawn(move || {
            // The program may stop reading once its output is gone.
            let _ = stdin.write_all(&big);
        });
        stdout.read_exact(&mut first).unwrap();
        drop(stdout);
        let out = wait_output(child);
        writer.join().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(
            text(&out.stderr)
                .lines()
                .filter(|l| l.contains("write"))
                .count(),
            0,
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

/// /dev/full is still the device (an early version removed "empty"
/// outputs after a failed write, devices included).
fn assert_dev_full_intact() {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::symlink_metadata("/dev/full").expect("/dev/full is still there");
    assert!(
        meta.file_type().is_char_device(),
        "/dev/full is no longer a device"
    );
}

/// An output that nothing was written to is removed only when the command
/// created it: a file that was there before stays (empty, as `-o`
/// truncated it), and a device is never touched.
#[test]
fn only_outputs_created_here_are_removed() {
    let dir = scratch_dir("leftovers");
    let empty = dir.join("empty.mkv");
    std::fs::write(&empty, b"").unwrap();
    let existing = dir.join("existing.mkv");
    std::fs::write(&existing, b"").unwrap();
    let created = dir.join("created.mkv");
    for out in [&existing, &created] {
        let o = run(bin().args([
            "merge",
            empty.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]));
        assert_eq!(o.status.code(), Some(1));
    }
    assert!(existing.exists(), "the user's file stays");
    assert!(!created.exists(), "no empty file left behind");

    // --save: nothing with tracks came (a fragment that does not exist).
    let serve = sample_server();
    let existing = dir.join("existing-save.mkv");
    std::fs::write(&existing, b"").unwrap();
    let created = dir.join("created-save.mkv");
    for out in [&existing, &created] {
        let o = run(&mut serve.cmd(&[
            "get-media",
            "--stream",
            "cam",
            "--start",
            "fragment",
            "123",
            "--max-chunks",
            "1",
            "--save",
            out.to_str().unwrap(),
        ]));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(&format!("--save {}: nothing saved", out.display())),
            "{stderr}"
        );
    }
    assert!(existing.exists());
    assert!(!created.exists());
    if std::path::Path::new("/dev/full").exists() {
        let o = run(bin().args(["merge", empty.to_str().unwrap(), "-o", "/dev/full"]));
        assert_eq!(o.status.code(), Some(1));
        assert_dev_full_intact();
    }
}

/// `--save` errors say which file.
#[test]
fn save_errors_name_the_path() {
    let serve = sample_server();
    let dir = scratch_dir("save-errors");
    // Cannot create.
    let missing = dir.join("no/such/dir/out.mkv");
    let out = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--max-chunks",
        "3",
        "--save",
        missing.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("--save {}: cannot create", missing.display())),
        "{stderr}"
    );

    // Cannot write: the second chunk overflows the buffer while writing.
    let out = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--max-chunks",
        "3",
        "--save",
        "/dev/full",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--save /dev/full: writing: write error: No space left"),
        "{stderr}"
    );

    // Cannot finish: one chunk fits the buffer; the end does not.
    let out = run(&mut serve.cmd(&[
        "get-media-for-fragment-list",
        "--stream",
        "cam",
        FRAGMENTS[0],
        "--save",
        "/dev/full",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--save /dev/full: finishing: write error: No space left"),
        "{stderr}"
    );

    // merge names its output too.
    let out = run(bin().args([
        "merge",
        &testdata_path("sample.mkv"),
        "-o",
        missing.to_str().unwrap(),
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains(&missing.display().to_string()));
    let out = run(bin().args(["merge", &testdata_path("sample.mkv"), "-o", "/dev/full"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("writing /dev/full: "),
        "{}",
        text(&out.stderr)
    );
    assert_dev_full_intact();
}

/// Where each column of a header starts.
fn column_starts(header: &str) -> Vec<(String, usize)> {
    let mut cols = Vec::new();
    let mut at = 0;
    for word in header.split_whitespace() {
        let start = header[at..].find(word).unwrap() + at;
        at = start + word.len();
        cols.push((word.to_string(), start));
    }
    cols
}

/// The chunk tables (inspect, get-media, get-media-for-fragment-list):
/// every fixed-width column ends before column 100; the fragment number
/// (up to 128 digits) and any error text come last.
#[test]
fn chunk_tables_fit_100_columns_but_for_the_fragment_number() {
    let serve = sample_server();
    let tables = [
        run(bin().args(["inspect", &testdata_path("sample.mkv")])),
        run(bin().args(["inspect", &testdata_path("fragment_list.mkv")])),
        run(&mut serve.cmd(&[
            "get-media",
            "--stream",
            "cam",
            "--start",
            "earliest",
            "--max-chunks",
            "3",
        ])),
        run(&mut serve.cmd(&[
            "get-media-for-fragment-list",
            "--stream",
            "cam",
            FRAGMENTS[2],
            FRAGMENTS[0],
        ])),
    ];
    for out in tables {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let table = text(&out.stdout);
        let mut lines = table.lines();
        let header = lines.next().unwrap();
        let cols = column_starts(header);
        let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "CHUNK",
                "OFFSET",
                "LENGTH",
                "FRAMES",
                "KEY",
                "BYTES",
                "TAGS",
                "SERVER_TS",
                "PRODUCER_TS",
                "STATUS",
                "FRAGMENT"
            ]
        );
        let fragment_at = cols.last().unwrap().1;
        assert!(fragment_at < 100, "{header}");
        let mut rows = 0;
        for row in lines {
            rows += 1;
            let (fixed, rest) = row.split_at(fragment_at);
            assert!(fixed.len() < 100 && fixed.ends_with(' '), "{row}");
            let fragment = rest.split(' ').next().unwrap();
            assert!(
                fragment == "-"
                    || (fragment.len() == 47 && fragment.bytes().all(|b| b.is_ascii_digit())),
                "{row}"
            );
            if !rest.contains(" error") && !rest.contains(" exception") {
                assert!(row.len() <= fragment_at + 48, "{row}");
            }
        }
        assert!(rows >= 2, "{table}");
    }
}

/// `list-fragments` has a header; its fixed columns come before the
/// fragment number; `--json` stays one object per line without a header.
#[test]
fn list_fragments_has_a_header() {
    let serve = sample_server();
    let out = run(&mut serve.cmd(&["list-fragments", "--stream", "cam"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    let cols = column_starts(lines[0]);
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["SIZE", "PRODUCER_TS", "SERVER_TS", "LENGTH_MS", "FRAGMENT"]
    );
    let fragment_at = cols.last().unwrap().1;
    assert!(fragment_at < 100);
    for (row, number) in lines[1..].iter().zip(FRAGMENTS) {
        assert_eq!(&row[fragment_at..], number, "sorted by number: {row}");
        assert_eq!(row[..fragment_at].split_whitespace().count(), 4, "{row}");
    }
    let json = run(&mut serve.cmd(&["list-fragments", "--stream", "cam", "--json"]));
    let lines: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["FragmentNumber"], FRAGMENTS[0]);
}
