//! `get-media --save` on a terminal (issue G): a progress line updated in
//! place (chunks, frames, bytes, lag behind now), then a closing line with
//! what was written. The terminal is a real pseudo-terminal, from
//! util-linux `script`; without a terminal no progress line is written.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::process::Command;

use support::{run, scratch_dir, testdata_path, text, Serve, KEY_ID, REGION, SECRET};

/// Single quotes for sh.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
fn save_shows_progress_on_a_terminal_and_says_what_it_wrote() {
    if !common::tool("script") {
        return;
    }
    let cam = format!("cam={}", testdata_path("sample.mkv"));
    let serve = Serve::start(&["--stream", &cam, "--idle-timeout", "0.2"]);
    let dir = scratch_dir("progress");
    let out_file = dir.join("cam.mkv");
    let command = [
        env!("CARGO_BIN_EXE_kvs-mkv"),
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--endpoint-url",
        &serve.url,
        "--save",
        out_file.to_str().unwrap(),
    ]
    .map(quoted)
    .join(" ");
    // stdout and stderr both on the pseudo-terminal; `script` copies what
    // the terminal showed to its own stdout.
    let shown = run(Command::new("script")
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", REGION)
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .env("AWS_CONFIG_FILE", "/nonexistent/config")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("RUST_LOG"));
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown.stderr));
    let screen = text(&shown.stdout);
    // One update per chunk, each starting over at the line's beginning and
    // clearing what the last one left; the lag is the chunk's own.
    for n in 1..=3 {
        assert!(screen.contains(&format!("\r{n} chunks, ")), "{screen:?}");
    }
    assert!(screen.contains(" bytes, lag "), "{screen:?}");
    assert!(screen.contains("\x1b[K"), "{screen:?}");
    // The closing line names the file and what it holds.
    let closing = screen
        .lines()
        .find(|l| l.contains("saved"))
        .unwrap_or_else(|| panic!("no closing line: {screen:?}"));
    assert!(
        closing.contains("3 chunks") && closing.contains("cam.mkv"),
        "{closing}"
    );
    assert!(std::fs::metadata(&out_file).unwrap().len() > 0);

    // Not a terminal: no progress line, the closing line still.
    let piped = run(&mut serve.cmd(&[
        "get-media",
        "--stream",
        "cam",
        "--start",
        "earliest",
        "--save",
        out_file.to_str().unwrap(),
    ]));
    let err = text(&piped.stderr);
    assert_eq!(piped.status.code(), Some(0), "{err}");
    assert!(!err.contains(" chunks, ") || !err.contains('\r'), "{err:?}");
    assert!(err.contains("saved"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
