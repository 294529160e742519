//! Leftovers of the earlier attacks (h50): inputs the program took without
//! a bound or answered with a message that hid the cause.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::{bin, scratch_dir, text};

/// Runs `cmd` to its end, killing it (and failing) after `limit`: a child
/// that reads without bound must not outlive the test, nor eat the
/// machine's memory for the whole of the general hang guard.
fn run_within(cmd: &mut Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let id = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("the command's output"),
        Err(_) => {
            support::signal(id, "KILL");
            panic!("process {id} still ran after {limit:?} (killed)");
        }
    }
}

/// `serve --stream cam=/dev/zero` read the device to the end, which never
/// comes: the process hung, taking memory until it was killed. A path
/// that is neither a regular file nor a pipe is refused before a byte is
/// read, the message naming it (exit 2, as for a missing file).
#[cfg(target_os = "linux")]
#[test]
fn serve_refuses_a_recording_that_never_ends() {
    let out = run_within(
        bin().args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--stream",
            "cam=/dev/zero",
        ]),
        Duration::from_secs(30),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/dev/zero"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

/// The same through `--images`: an entry named like an image that links to
/// /dev/zero was read without bound. It is refused, the message naming the
/// entry.
#[cfg(target_os = "linux")]
#[test]
fn serve_refuses_an_image_that_never_ends() {
    let recording = support::testdata_path("sample.mkv");
    let dir = scratch_dir("attack50-images");
    std::fs::write(dir.join("1700000000000.jpg"), b"jpeg").unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("1700000001000.jpg")).unwrap();
    let out = run_within(
        bin()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--stream", &format!("cam={recording}")])
            .arg("--images")
            .arg(format!("cam={}", dir.display())),
        Duration::from_secs(30),
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("1700000001000.jpg"), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}
