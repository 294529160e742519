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
