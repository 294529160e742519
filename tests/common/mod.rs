//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod ebml;
pub mod oracle;
pub mod sample;

use std::path::PathBuf;
use std::process::Command;

use bytes::BytesMut;
use kvs_mkv::{Chunk, ChunkDecoder, DecodeError, Error, Event, EventDecoder};
use tokio_util::codec::Decoder;

/// The repository's root: the library package's directory. The tests of
/// the command-line package (cli/tests) share these helpers, and for them
/// `CARGO_MANIFEST_DIR` is `cli/`.
pub fn root() -> &'static std::path::Path {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if dir.join("testdata").is_dir() {
        dir
    } else {
        dir.parent().expect("cli/ has a parent")
    }
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `../shared/<rel>`, or `None` (with a "skipped" line) when it is missing
/// outside CI. Under `CI=true` a missing `../shared` is a failure.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let path = root().join("../shared").join(rel);
    if path.exists() {
        return Some(path);
    }
    if ci() {
        panic!("CI=true but {} is missing", path.display());
    }
    eprintln!("skipped: {} not found", path.display());
    None
}

/// Whether an external tool runs; under `CI=true` a missing one is a failure.
pub fn tool(name: &str) -> bool {
    let ok = Command::new(name).arg("-version").output().is_ok()
        || Command::new(name).arg("--version").output().is_ok();
    if !ok {
        if ci() {
            panic!("CI=true but {name} is not installed");
        }
        eprintln!("skipped: {name} not installed");
    }
    ok
}

/// The recordings of ../shared/corpus/kvs-recordings (sorted), if present.
pub fn recordings() -> Vec<PathBuf> {
    let Some(dir) = shared("corpus/kvs-recordings") else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mkv"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "expected the 8 recordings, found {}",
        files.len()
    );
    files
}

pub fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(root().join("testdata").join(name)).unwrap()
}

/// What decoding produced: chunks and errors in order.
#[derive(Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Item {
    Chunk(Chunk),
    Error(DecodeError),
}

impl Item {
    pub fn chunk(&self) -> Option<&Chunk> {
        match self {
            Item::Chunk(c) => Some(c),
            Item::Error(_) => None,
        }
    }
}

fn push<T>(
    out: &mut Vec<T>,
    r: Result<Option<T>, Error>,
    wrap_err: impl Fn(DecodeError) -> T,
) -> bool {
    match r {
        Ok(Some(x)) => {
            out.push(x);
            true
        }
        Ok(None) => false,
        Err(Error::Decode(e)) => {
            out.push(wrap_err(e));
            true
        }
        Err(Error::Io(e)) => panic!("no I/O here: {e}"),
    }
}

/// Decodes `input` fed in pieces of the given sizes (cycled), then EOF.
pub fn decode_pieces(input: &[u8], sizes: &[usize]) -> Vec<Item> {
    let mut decoder = ChunkDecoder::default();
    decode_pieces_with(&mut decoder, input, sizes)
}

pub fn decode_pieces_with(decoder: &mut ChunkDecoder, input: &[u8], sizes: &[usize]) -> Vec<Item> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < input.len() {
        let n = sizes[i % sizes.len()].max(1).min(input.len() - at);
        i += 1;
        buf.extend_from_slice(&input[at..at + n]);
        at += n;
        while push(
            &mut out,
            decoder.decode(&mut buf).map(|o| o.map(Item::Chunk)),
            Item::Error,
        ) {}
    }
    while push(
        &mut out,
        decoder.decode_eof(&mut buf).map(|o| o.map(Item::Chunk)),
        Item::Error,
    ) {}
    out
}

pub fn decode_whole(input: &[u8]) -> Vec<Item> {
    decode_pieces(input, &[input.len().max(1)])
}

/// Frame-level events, fed in pieces. Errors are `Err` items.
pub fn events_pieces(input: &[u8], sizes: &[usize]) -> Vec<Result<Event, DecodeError>> {
    let mut decoder = EventDecoder::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    let wrap = |r: Result<Option<Event>, Error>| r.map(|o| o.map(Ok));
    while at < input.len() {
        let n = sizes[i % sizes.len()].max(1).min(input.len() - at);
        i += 1;
        buf.extend_from_slice(&input[at..at + n]);
        at += n;
        while push(&mut out, wrap(decoder.decode(&mut buf)), Err) {}
    }
    while push(&mut out, wrap(decoder.decode_eof(&mut buf)), Err) {}
    out
}

/// Video track 1 (H.264) with this CodecPrivate.
pub fn video(private: &'static [u8]) -> kvs_mkv::Track {
    let mut t = kvs_mkv::Track::default();
    t.number = 1;
    t.track_type = Some(kvs_mkv::TrackType::Video);
    t.codec_id = "V_MPEG4/ISO/AVC".into();
    t.codec_private = Some(bytes::Bytes::from_static(private));
    t
}

/// A chunk of `track` with one 5-byte keyframe at timecode `tc` (ms).
pub fn chunk_with(track: kvs_mkv::Track, tc: i64) -> kvs_mkv::writer::ChunkModel {
    let mut m = kvs_mkv::writer::ChunkModel::new(vec![track]);
    m.frames.push(kvs_mkv::Frame::new(
        bytes::Bytes::from_static(b"frame"),
        1,
        tc,
        1_000_000,
        true,
    ));
    m
}

/// A scratch directory of its own under the target directory.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("scratch")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Makes a named pipe at `path` (with mkfifo(1): no libc dependency for
/// the tests), replacing whatever was there.
pub fn mkfifo(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
