//! The committed files of testdata/ are what examples/gen_testdata.rs makes
//! from testdata/source (no ffmpeg needed: the sources are committed).

#[path = "../examples/gen_testdata.rs"]
mod gen_testdata;

use std::path::Path;

#[test]
fn generated_testdata_is_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let read = |name: &str| std::fs::read(root.join(name)).unwrap_or_default();
    let sources = gen_testdata::Sources {
        clip: read("source/clip-h264.mkv"),
        tone: read("source/tone-aac.mkv"),
    };
    let mut stale = Vec::new();
    let mut total = 0;
    for (name, bytes) in gen_testdata::generate(&sources) {
        total += bytes.len();
        assert!(bytes.len() < 300_000, "{name} is {} bytes", bytes.len());
        if read(name) != bytes {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; run `cargo run --example gen_testdata` and commit testdata/"
    );
    assert!(total < 1_500_000, "testdata is {total} bytes");
}

/// Generating twice gives the same bytes (nothing depends on time, hashing
/// order or addresses).
#[test]
fn generation_is_deterministic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/source");
    let sources = gen_testdata::Sources {
        clip: std::fs::read(root.join("clip-h264.mkv")).unwrap(),
        tone: std::fs::read(root.join("tone-aac.mkv")).unwrap(),
    };
    assert_eq!(
        gen_testdata::generate(&sources),
        gen_testdata::generate(&sources)
    );
}
