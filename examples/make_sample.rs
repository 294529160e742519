//! Writes `testdata/sample.mkv`: a small GetMedia-shaped body (three chunks,
//! one per GOP of a 3-second 160x120 H.264 clip), laid out as the service
//! sends it: 8-byte unknown Segment size, known-size Cluster, 4-byte tag
//! size fields, leading and trailing AWS tags.
//!
//! The clip, `testdata/source/clip-h264.mkv`, was made once with
//! `ffmpeg -f lavfi -i testsrc=size=160x120:rate=15:duration=3 -c:v libx264
//! -threads 1 -bitexact -g 15 -keyint_min 15 -sc_threshold 0 -pix_fmt yuv420p
//! -profile:v baseline -fflags +bitexact -flags +bitexact clip-h264.mkv`.
//!
//! Run: `cargo run --example make_sample` (the test `sample_is_fresh` checks
//! that the committed file is what this writes).

#[path = "../tests/common/ebml.rs"]
mod ebml;
#[path = "../tests/common/sample.rs"]
mod sample;

use sample::sample;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let clip = std::fs::read(root.join("testdata/source/clip-h264.mkv")).expect("read the clip");
    let bytes = sample(&clip);
    std::fs::write(root.join("testdata/sample.mkv"), &bytes).expect("write testdata/sample.mkv");
    println!("wrote testdata/sample.mkv ({} bytes)", bytes.len());
}
