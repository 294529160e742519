//! Values the command line checks at its boundary, before anything is read
//! or any call is made: fragment numbers (1 to 128 digits, the service's
//! `FragmentNumberString`).

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::net::TcpListener;
use std::process::Output;

use support::{aws_bin, run, scratch_dir, text};

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
