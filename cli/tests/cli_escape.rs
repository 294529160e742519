//! Text from a file or a server never reaches the terminal raw: control
//! characters (ESC, BEL, CR, LF) and invisible formatting characters are
//! escaped in every table and message; JSON output escapes them by
//! construction. The servers here are tiny hostile ones on 127.0.0.1.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::process::Output;

use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout, TimestampSpelling};
use kvs_mkv::{ErrorId, Frame, Track, TrackType};
use support::{aws_bin, bin, hostile_server, run, scratch_dir, text, Answer};

/// Clears the screen, sets the window title, rings the bell, and starts a
/// fake line; then a right-to-left override.
const HOSTILE: &str = "evil\x1b[2J\x1b]0;owned\x07\r\nkvs-mkv: all good \u{202e}txt.exe";
/// What an escaped `HOSTILE` looks like.
const ESCAPED: &str = "evil\\x1b[2J\\x1b]0;owned\\x07\\r\\nkvs-mkv: all good \\u{202e}txt.exe";

/// No raw control character (but the newlines between lines) and no
/// right-to-left override in the bytes.
fn assert_clean(what: &str, bytes: &[u8]) {
    let s = text(bytes);
    for (i, c) in s.char_indices() {
        assert!(
            !(c.is_control() && c != '\n') && c != '\u{202e}',
            "{what}: raw {c:?} at byte {i}: {s:?}"
        );
    }
}

fn assert_all_clean(what: &str, out: &Output) {
    assert_clean(&format!("{what} stdout"), &out.stdout);
    assert_clean(&format!("{what} stderr"), &out.stderr);
}

fn video() -> Track {
    let mut t = Track::default();
    t.number = 1;
    t.uid = Some(1);
    t.track_type = Some(TrackType::Video);
    t.codec_id = "V_MPEG4/ISO/AVC".into();
    t
}

/// A GetMedia-style body: one chunk with the hostile text in its error tags
/// and a hostile producer tag.
fn hostile_body(layout: Layout) -> Vec<u8> {
    let mut m = ChunkModel::new(vec![video()]);
    m.aws.fragment_number = Some(
        "91343852333181432392682062607743920146159169392"
            .parse()
            .unwrap(),
    );
    m.aws.error_id = Some(ErrorId::from_code(4000));
    m.aws.error_code = Some(HOSTILE.into());
    m.aws.exception_error_code = Some(404);
    m.aws.exception_message = Some(HOSTILE.into());
    m.push_tag(
        "NOTE",
        kvs_mkv::TagValue::String(HOSTILE.into()),
        kvs_mkv::TagPosition::BeforeCluster,
    );
    m.frames.push(Frame::new(
        bytes::Bytes::from_static(b"\x00\x00\x00\x01frame"),
        1,
        0,
        1_000_000,
        true,
    ));
    ChunkWriter::new(layout).to_bytes(&m).unwrap().to_vec()
}

/// inspect: the table row shows the error texts escaped; JSON lines carry
/// them exactly, as JSON escapes.
#[test]
fn inspect_escapes_tag_texts() {
    let dir = scratch_dir("escape-inspect");
    let file = dir.join("hostile.mkv");
    std::fs::write(&file, hostile_body(Layout::Service)).unwrap();
    let file = file.to_str().unwrap();

    let out = run(bin().args(["inspect", file]));
    assert_all_clean("inspect", &out);
    let table = text(&out.stdout);
    assert_eq!(
        table.lines().count(),
        2,
        "one row, however many CR-LFs: {table}"
    );
    assert!(
        table.contains(&format!(
            "error 4000 (requested fragment not found): {ESCAPED}"
        )),
        "{table}"
    );
    assert!(
        table.contains(&format!("exception 404: {ESCAPED}")),
        "{table}"
    );

    let out = run(bin().args(["inspect", "--json", file]));
    assert_all_clean("inspect --json", &out);
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["error_message"], HOSTILE);
    let tags = line["tags"].as_array().unwrap();
    assert!(
        tags.iter().any(|t| t[0] == "NOTE" && t[1] == HOSTILE),
        "{tags:?}"
    );
}

/// list-fragments: a 400 answer whose Message is hostile (the message is
/// printed on stderr), and a FragmentNumber that is hostile (rejected or
/// printed: either way, never raw).
#[test]
fn list_fragments_escapes_server_text() {
    let message = serde_json::to_string(HOSTILE).unwrap();
    let url = hostile_server(move |req| {
        (req.path == "/listFragments").then(|| {
            let mut a = Answer::json(400, &format!(r#"{{"Message":{message}}}"#));
            a.headers
                .push(("x-amzn-ErrorType".into(), "InvalidArgumentException".into()));
            a
        })
    });
    let out = run(aws_bin().args(["list-fragments", "--stream", "cam", "--endpoint-url", &url]));
    assert_all_clean("list-fragments (400)", &out);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(ESCAPED), "{}", text(&out.stderr));

    let number = serde_json::to_string(&format!("1234{HOSTILE}")).unwrap();
    let url = hostile_server(move |req| {
        (req.path == "/listFragments").then(|| {
            Answer::json(
                200,
                &format!(
                    r#"{{"Fragments":[{{"FragmentNumber":{number},"FragmentSizeInBytes":10,"ProducerTimestamp":1700000000.0,"ServerTimestamp":1700000000.25,"FragmentLengthInMilliseconds":1000}}]}}"#
                ),
            )
        })
    });
    for json in [false, true] {
        let mut cmd = aws_bin();
        cmd.args(["list-fragments", "--stream", "cam", "--endpoint-url", &url]);
        if json {
            cmd.arg("--json");
        }
        let out = run(&mut cmd);
        assert_all_clean("list-fragments (hostile number)", &out);
    }
}

/// get-images: an image's Error text goes to stderr, escaped.
#[test]
fn get_images_escapes_server_text() {
    let error = serde_json::to_string(HOSTILE).unwrap();
    let url = hostile_server(move |req| {
        (req.path == "/getImages").then(|| {
            Answer::json(
                200,
                &format!(r#"{{"Images":[{{"TimeStamp":1700000000.0,"Error":{error}}}]}}"#),
            )
        })
    });
    let dir = scratch_dir("escape-images");
    let out = run(aws_bin().args([
        "get-images",
        "--stream",
        "cam",
        "--endpoint-url",
        &url,
        "--from",
        "1700000000",
        "--to",
        "1700000003",
        "--out",
        dir.to_str().unwrap(),
    ]));
    assert_all_clean("get-images", &out);
    assert!(
        text(&out.stderr).contains(&format!("no image at 1700000000000: {ESCAPED}")),
        "{}",
        text(&out.stderr)
    );
}

/// get-media-for-fragment-list and get-media: hostile tags in the media
/// reach the table and the error messages escaped.
#[test]
fn media_commands_escape_tag_texts() {
    let list_body = hostile_body(Layout::FragmentList(TimestampSpelling::Plain));
    let media_body = hostile_body(Layout::Service);
    let url = hostile_server(move |req| match req.path.as_str() {
        "/getMediaForFragmentList" => Some(Answer {
            status: 200,
            headers: vec![("content-type".into(), "video/webm".into())],
            body: list_body.clone(),
        }),
        "/getMedia" => Some(Answer {
            status: 200,
            headers: vec![("content-type".into(), "video/webm".into())],
            body: media_body.clone(),
        }),
        _ => None,
    });
    let out = run(aws_bin().args([
        "get-media-for-fragment-list",
        "--stream",
        "cam",
        "--endpoint-url",
        &url,
        "91343852333181432392682062607743920146159169392",
    ]));
    assert_all_clean("get-media-for-fragment-list", &out);
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(all.contains(ESCAPED), "{all}");

    let out = run(aws_bin().args([
        "get-media",
        "--stream",
        "cam",
        "--endpoint-url",
        &url,
        "--start",
        "earliest",
        "--idle-timeout",
        "2",
    ]));
    assert_all_clean("get-media", &out);
    let all = text(&out.stdout) + &text(&out.stderr);
    assert!(all.contains(ESCAPED), "{all}");
}
