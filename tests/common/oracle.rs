//! Independent readings of a file by ffprobe and mkvinfo (call
//! `common::tool` first: these assume the tool is there).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes `bytes` to a file of the system's temporary directory, named
/// after the test process and `name`.
pub fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("kvs-mkv-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// ffprobe's packets, in file order: their sizes.
pub fn ffprobe_packet_sizes(path: &Path) -> Vec<u64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=size",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// mkvinfo's `-v` reading: every frame's size, in file order (one "Frame
/// with size N" line per lace), and mkvinfo's whole output. (mkvinfo exits
/// 1 after a warning, as at each further chunk of a body, where it
/// resynchronizes and reads on: its status is not looked at.)
pub fn mkvinfo_frame_sizes(path: &Path) -> (Vec<u64>, String) {
    let out = Command::new("mkvinfo")
        .arg("-v")
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let sizes = text
        .lines()
        .filter_map(|l| l.split("Frame with size ").nth(1))
        .map(|n| n.trim().parse().unwrap())
        .collect();
    (sizes, text)
}

/// Packets per stream as ffprobe counts them (it splits laces).
pub fn ffprobe_packet_count(path: &str) -> u64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
            path,
        ])
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe {path}: {}",
        super::text(&out.stderr)
    );
    super::text(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().trim_end_matches(',').parse::<u64>().unwrap())
        .sum()
}

/// mkvinfo's full reading (`-v`) of a file: must succeed.
pub fn mkvinfo(path: &str) -> String {
    let out = Command::new("mkvinfo")
        .args(["-v", path])
        .output()
        .expect("mkvinfo runs");
    assert!(
        out.status.success(),
        "mkvinfo {path}: {}",
        super::text(&out.stdout)
    );
    super::text(&out.stdout)
}

/// Frames in mkvinfo's reading: the frames of every (Simple)Block.
pub fn mkvinfo_frames(info: &str) -> u64 {
    info.lines()
        .filter(|l| l.contains("Simple block:") || l.contains("+ Block:"))
        .map(|l| {
            let at = l.find(" frame(s)").expect("a frame count");
            let n = l[..at].rsplit(' ').next().unwrap();
            n.parse::<u64>().unwrap()
        })
        .sum()
}
