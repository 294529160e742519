//! `kvs-mkv inspect`: exit statuses, streaming output, the adapters.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::ebml::*;
use common::testdata;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
}

#[test]
fn exit_statuses() {
    let sample = common::root().join("testdata/sample.mkv");
    let sample = sample.to_str().unwrap();
    let ok = bin().args(["inspect", sample]).output().unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let table = String::from_utf8(ok.stdout).unwrap();
    assert_eq!(
        table.lines().count(),
        4,
        "a header and one row per chunk:\n{table}"
    );
    assert!(table.contains("91343852333181432392682062607743920146159169392"));

    let missing = bin()
        .args(["inspect", "/nonexistent/file.mkv"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/file.mkv"));

    let usage = bin().args(["inspect", "--no-such-flag"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));

    // Damaged input: an error line, decoding goes on, exit 1.
    let mut data = testdata("sample.mkv");
    let second = 6617;
    data.splice(second..second, b"junk".iter().copied());
    let mut child = bin()
        .args(["inspect", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["chunk", "error", "chunk", "chunk"]);
    assert_eq!(lines[1]["offset"], second);
    assert_eq!(lines[1]["skipped"], 4);
    assert!(lines[1]["message"].as_str().unwrap().len() > 5);
    assert_eq!(lines[2]["offset"], second + 4);
    assert_eq!(lines[2]["index"], 1);
}

/// A line appears as soon as its chunk is complete, before input ends.
#[test]
fn json_lines_stream() {
    let data = testdata("sample.mkv");
    let mut child = bin()
        .args(["inspect", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // The first chunk ends at its continuation token, byte 6617.
    stdin.write_all(&data[..6617]).unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let first: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(first["index"], 0);
    assert_eq!(first["complete"], true);
    stdin.write_all(&data[6617..]).unwrap();
    drop(stdin);
    assert_eq!(stdout.lines().count(), 2);
    assert!(child.wait().unwrap().success());
}

#[test]
fn blocking_reader_adapter() {
    let file = std::fs::File::open(common::root().join("testdata/sample.mkv")).unwrap();
    let chunks: Vec<_> = kvs_mkv::io::read_chunks(file)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks.iter().map(|c| c.frames().len()).sum::<usize>(), 45);
    // A reader that hands out one byte at a time gives the same chunks.
    struct OneByte<'a>(&'a [u8]);
    impl std::io::Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }
    let data = testdata("sample.mkv");
    let slow: Vec<_> = kvs_mkv::io::read_chunks(OneByte(&data))
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(slow, chunks);
}

#[tokio::test]
async fn async_stream_adapter_goes_on_after_errors() {
    use futures::StreamExt;
    let mut data = testdata("sample.mkv");
    data.splice(6617..6617, b"junk".iter().copied());
    let (mut tx, rx) = tokio::io::duplex(1024);
    let writer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        for piece in data.chunks(999) {
            tx.write_all(piece).await.unwrap();
        }
    });
    let items: Vec<_> = kvs_mkv::io::chunk_stream(rx).collect().await;
    writer.await.unwrap();
    assert_eq!(items.len(), 4, "{items:?}");
    assert!(items[0].is_ok() && items[2].is_ok() && items[3].is_ok());
    let err = items[1].as_ref().unwrap_err().as_decode().unwrap();
    assert_eq!((err.offset, err.skipped), (6617, 4));

    let events: Vec<_> = kvs_mkv::io::event_stream(&testdata("sample.mkv")[..])
        .collect()
        .await;
    assert_eq!(events.len(), 3 + 45 + 3);
}

/// testdata/sample.mkv (written by examples/gen_testdata.rs with the crate's
/// writer) is what the independent byte-level builder makes from the clip.
#[test]
fn sample_is_fresh() {
    let clip = testdata("source/clip-h264.mkv");
    assert!(
        common::sample::sample(&clip) == testdata("sample.mkv"),
        "stale: run `cargo run --example gen_testdata`"
    );
}

/// `inspect --json` shows TagBinary as 0x-hex and exits 0.
#[test]
fn inspect_json_binary_tag_and_streaming_stdin() {
    let binary = el(
        SIMPLE_TAG,
        &concat(&[string(TAG_NAME, "BIN"), el(TAG_BINARY, &[0x0A, 0xFF])]),
    );
    let bytes = concat(&[head(8), el(TAGS, &el(TAG, &binary))]);
    let mut child = bin()
        .args(["inspect", "--json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["tags"], serde_json::json!([["BIN", "0x0aff"]]));
    assert_eq!(line["tracks"][0]["type"], "video");
    assert_eq!(line["tracks"][0]["width"], 640);
}
