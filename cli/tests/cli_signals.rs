//! SIGINT / SIGTERM during `get-media --save` and
//! `get-media-for-fragment-list --save`: the file is finished up to the
//! last complete chunk (read back by ffprobe and mkvinfo), the program says
//! what it saved and exits 130 / 143; a second signal exits at once.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver};

use common::tool;
use support::{
    ffprobe_packet_count, mkvinfo, mkvinfo_frames, scratch_dir, signal, testdata_path, text,
    wait_output, Serve, HANG_GUARD,
};

/// The lines a child writes on one of its pipes, as they come.
fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn next_line(rx: &Receiver<String>, what: &str) -> String {
    rx.recv_timeout(HANG_GUARD)
        .unwrap_or_else(|e| panic!("no {what} ({e})"))
}

/// "... saved N chunks, F frames ..." from the stderr line.
fn saved_counts(stderr: &str, signal_name: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains(&format!("interrupted by {signal_name}: saved ")))
        .unwrap_or_else(|| panic!("no 'interrupted by {signal_name}: saved' line in:\n{stderr}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = |word: &str| {
        let i = words.iter().position(|w| w.starts_with(word)).unwrap();
        words[i - 1].parse::<u64>().unwrap()
    };
    (at("chunks"), at("frames"))
}

/// Runs `cmd` (whose stdout gives one JSON line per chunk) until
/// `lines_first` lines came, sends `signal_name`, and checks the exit
/// status, the stderr line, and the saved file against ffprobe and mkvinfo.
fn interrupt_and_check(
    mut child: Child,
    lines_first: usize,
    signal_name: &str,
    status: i32,
    out: &str,
) {
    let rx = lines_of(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    while lines.len() < lines_first {
        lines.push(next_line(&rx, "chunk line"));
    }
    signal(child.id(), signal_name);
    let output = wait_output(child);
    // Lines printed before the signal was handled.
    lines.extend(rx.try_iter());
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(status), "stderr:\n{stderr}");
    let rows: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let frames_printed: u64 = rows.iter().map(|r| r["frames"].as_u64().unwrap()).sum();
    let (chunks, frames) = saved_counts(&stderr, &format!("SIG{signal_name}"));
    assert_eq!(chunks, rows.len() as u64, "every chunk printed was saved");
    assert_eq!(frames, frames_printed);
    assert!(stderr.contains(out), "the path is named: {stderr}");

    // Independent readers: the file is finished (Segment of known size,
    // Cues), with exactly the frames the program said it saved.
    if tool("ffprobe") && tool("mkvinfo") {
        assert_eq!(ffprobe_packet_count(out), frames);
        let info = mkvinfo(out);
        assert_eq!(mkvinfo_frames(&info), frames);
        let segment = info
            .lines()
            .find(|l| l.starts_with("+ Segment"))
            .unwrap()
            .to_string();
        assert!(!segment.contains("unknown"), "{segment}");
        assert!(info.contains("+ Cues"), "{info}");
    }
}

fn live_server() -> Serve {
    Serve::start(&[
        "--live",
        "--speed",
        "4",
        "--stream",
        &format!("cam={}", testdata_path("sample.mkv")),
    ])
}

#[test]
fn get_media_save_is_finished_on_sigint() {
    let serve = live_server();
    let dir = scratch_dir("sigint");
    let out = dir.join("saved.mkv").display().to_string();
    let child = serve
        .cmd(&[
            "get-media",
            "--stream",
            "cam",
            "--start",
            "earliest",
            "--json",
            "--save",
            &out,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    interrupt_and_check(child, 4, "INT", 130, &out);
}

#[test]
fn get_media_save_is_finished_on_sigterm() {
    let serve = live_server();
    let dir = scratch_dir("sigterm");
    let out = dir.join("saved.mkv").display().to_string();
    let child = serve
        .cmd(&[
            "get-media",
            "--stream",
            "cam",
            "--start",
            "earliest",
            "--json",
            "--save",
            &out,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    interrupt_and_check(child, 5, "TERM", 143, &out);
}

/// GetMediaForFragmentList stalled inside its second chunk: SIGTERM
/// finishes the file with the first.
#[test]
fn get_media_for_fragment_list_save_is_finished_on_sigterm() {
    let serve = Serve::start(&[
        "--stream",
        &format!("cam={}", testdata_path("sample.mkv")),
        "--fault",
        "stall-in-chunk=1,for=600,op=GetMediaForFragmentList",
    ]);
    let dir = scratch_dir("sigterm-list");
    let out = dir.join("saved.mkv").display().to_string();
    let child = serve
        .cmd(&[
            "get-media-for-fragment-list",
            "--stream",
            "cam",
            "91343852333181432392682062607743920146159169392",
            "91343852333181432392682062607743920146159169393",
            "91343852333181432392682062607743920146159169394",
            "--json",
            "--save",
            &out,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    interrupt_and_check(child, 1, "TERM", 143, &out);
}

/// What Linux says `pid`'s threads wait in (`/proc/PID/task/*/wchan`);
/// nothing where /proc does not say.
fn waits_of(pid: u32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("wchan")).ok())
        .collect()
}

/// `--save -` into a pipe nobody reads: the program blocks writing; the
/// first SIGINT cannot finish the file, the second exits at once (130).
#[test]
fn a_second_sigint_exits_at_once() {
    let serve = Serve::start(&[
        "--live",
        "--speed",
        "50",
        "--stream",
        &format!("cam={}", testdata_path("sample.mkv")),
    ]);
    let mut child = serve
        .cmd(&[
            "get-media",
            "--stream",
            "cam",
            "--start",
            "earliest",
            "--save",
            "-",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Never read: the pipe fills up.
    let stdout = child.stdout.take().unwrap();
    let rows = lines_of(child.stderr.take().unwrap());
    // The rows go to stderr with --save -: the first one means signals are caught.
    let mut seen = vec![next_line(&rows, "first row")];
    let started = std::time::Instant::now();
    let mut informative = false;
    loop {
        let waits = waits_of(pid);
        if waits.iter().any(|w| w.contains("pipe_write")) {
            break;
        }
        // "0" is a running thread, or a kernel that does not say.
        informative |= waits.iter().any(|w| !w.is_empty() && w != "0");
        if started.elapsed() > HANG_GUARD {
            signal(pid, "KILL");
            let _ = child.wait();
            assert!(!informative, "never blocked writing to the pipe: {waits:?}");
            eprintln!("skipped: /proc/{pid}/task/*/wchan does not say what a thread waits for");
            return;
        }
        seen.extend(rows.try_iter());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    signal(pid, "INT");
    loop {
        let line = next_line(&rows, "the first signal's notice");
        if line.contains("SIGINT: stopping") {
            break;
        }
        seen.push(line);
    }
    // Still blocked: nothing reads the pipe.
    signal(pid, "INT");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = rx.recv_timeout(HANG_GUARD).expect("exits").unwrap();
    assert_eq!(status.code(), Some(130));
    let rest: Vec<String> = rows.iter().collect();
    assert!(
        rest.iter()
            .any(|l| l.contains("SIGINT again: stopping without finishing")),
        "{rest:?}"
    );
    drop(stdout);
}
