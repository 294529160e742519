//! `get-media --checkpoint FILE`: a consumer killed with SIGKILL at
//! random-ish moments and started again loses no fragment and repeats at
//! most the one it was handling; the emulator's listing is the reference.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;
use support::{run, scratch_dir, signal, testdata_path, text, Serve, HANG_GUARD};

/// A small xorshift generator: the kill moments vary from run to run (the
/// seed is printed, so that a failure can be replayed by hand).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn get_media_checkpoint_survives_kill_9() {
    // Ten one-second fragments a second, looping the recording with new
    // fragment numbers.
    let serve = Serve::start(&[
        "--live",
        "--speed",
        "10",
        "--stream",
        &format!("cam={}", testdata_path("sample.mkv")),
    ]);
    let dir = scratch_dir("checkpoint-kill");
    let checkpoint = dir.join("cam.checkpoint").display().to_string();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        | 1;
    println!("kill moments seeded with {seed}");
    let mut rng = Rng(seed);

    let restarts = 6;
    // The fragment numbers each run printed, in order.
    let mut runs: Vec<Vec<String>> = Vec::new();
    for _ in 0..=restarts {
        let mut child = serve
            .cmd(&[
                "get-media",
                "--stream",
                "cam",
                "--start",
                "earliest",
                "--follow",
                "--checkpoint",
                &checkpoint,
                "--json",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        // Kill after 1-5 chunks and 0-99 ms more: between chunks, inside
        // one, or between a chunk's row and its checkpoint.
        let wait_for = 1 + rng.next() % 5;
        let mut lines = Vec::new();
        while (lines.len() as u64) < wait_for {
            lines.push(rx.recv_timeout(HANG_GUARD).expect("a chunk line"));
        }
        std::thread::sleep(Duration::from_millis(rng.next() % 100));
        signal(child.id(), "KILL");
        let _ = child.wait();
        reader.join().unwrap();
        // And whatever else the run printed before it died.
        lines.extend(rx.try_iter());
        let numbers = lines
            .iter()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                v["fragment_number"].as_str().unwrap().to_string()
            })
            .collect();
        runs.push(numbers);
    }

    // The reference: the emulator's listing, sorted by fragment number.
    let listed = run(&mut serve.cmd(&["list-fragments", "--stream", "cam", "--json"]));
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed.stderr));
    let listing: Vec<String> = text(&listed.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["FragmentNumber"].as_str().unwrap().to_string()
        })
        .collect();

    // Across the runs: each run goes on right after the last fragment of
    // the one before, or repeats that one; nothing is skipped.
    let all: Vec<&String> = runs.iter().flatten().collect();
    let first = listing
        .iter()
        .position(|n| n == all[0])
        .expect("the first fragment printed is listed");
    assert_eq!(first, 0, "the first run starts at the earliest fragment");
    let mut expected = first;
    let mut duplicates = 0;
    for (i, numbers) in runs.iter().enumerate() {
        for (j, n) in numbers.iter().enumerate() {
            if i > 0 && j == 0 && expected > 0 && *n == listing[expected - 1] {
                // The fragment in hand when the previous run died.
                duplicates += 1;
                continue;
            }
            assert_eq!(
                Some(n),
                listing.get(expected),
                "run {i}, row {j}: a fragment lost or repeated (runs: {runs:?})"
            );
            expected += 1;
        }
    }
    println!(
        "{restarts} restarts, {} rows, {} fragments, {duplicates} repeated",
        all.len(),
        expected
    );
    assert!(duplicates <= restarts);
    assert!(expected > restarts as usize, "the runs made progress");
}

/// A checkpoint file that cannot be read as one is bad usage (exit 2),
/// said with the file's name, before any call.
#[test]
fn get_media_checkpoint_malformed_is_a_usage_error() {
    let dir = scratch_dir("checkpoint-bad");
    let serve = Serve::start(&["--stream", &format!("cam={}", testdata_path("sample.mkv"))]);
    for content in ["", "garbage\n", "token \n", "token a b\n", "wat 123\n"] {
        let path = dir.join("bad.checkpoint");
        std::fs::write(&path, content).unwrap();
        let out = run(&mut serve.cmd(&[
            "get-media",
            "--stream",
            "cam",
            "--checkpoint",
            &path.display().to_string(),
        ]));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{content:?}: {stderr}");
        assert!(
            stderr.contains("--checkpoint") && stderr.contains("bad.checkpoint"),
            "{content:?}: {stderr}"
        );
    }
    // A directory in its place cannot be read.
    let out = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--checkpoint",
        &dir.display().to_string(),
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    // A good one is followed, and replaced after each chunk: the stream
    // resumes after the token's fragment.
    let path = dir.join("good.checkpoint");
    let first = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--max-chunks",
        "1",
        "--json",
        "--checkpoint",
        &path.display().to_string(),
    ]));
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let saved = std::fs::read_to_string(&path).unwrap();
    let row: Value = serde_json::from_str(text(&first.stdout).trim()).unwrap();
    assert_eq!(
        saved,
        format!("token {}\n", row["continuation_token"].as_str().unwrap())
    );
    let rest = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--json",
        "--checkpoint",
        &path.display().to_string(),
    ]));
    assert_eq!(rest.status.code(), Some(0), "{}", text(&rest.stderr));
    let numbers: Vec<String> = text(&rest.stdout)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["fragment_number"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(numbers.len(), 2, "the two fragments after the first");
    assert!(!numbers.contains(&row["fragment_number"].as_str().unwrap().to_string()));
    let last = std::fs::read_to_string(&path).unwrap();
    assert!(
        last.contains(numbers[1].as_str()) || last.starts_with("token "),
        "{last}"
    );
}
