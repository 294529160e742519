//! Writes the generated streams of `testdata/` (see `testdata/README.md`)
//! with the crate's own writer, from two small media files made once by
//! ffmpeg and committed in `testdata/source/`:
//!
//! - `clip-h264.mkv`: `ffmpeg -f lavfi -i testsrc=size=160x120:rate=15:duration=3
//!   -c:v libx264 -threads 1 -bitexact -g 15 -keyint_min 15 -sc_threshold 0
//!   -pix_fmt yuv420p -profile:v baseline -fflags +bitexact -flags +bitexact clip-h264.mkv`
//! - `tone-aac.mkv`: `ffmpeg -f lavfi -i sine=frequency=440:sample_rate=48000:duration=3
//!   -c:a aac -b:a 32k -ac 1 -threads 1 -bitexact -fflags +bitexact -flags +bitexact tone-aac.mkv`
//!
//! - `images/{0,1000,2000}.{jpg,png}`: `ffmpeg -ss S -i source/clip-h264.mkv
//!   -frames:v 1 [-q:v 12] -fflags +bitexact -flags:v +bitexact images/N.jpg|png`
//!   (one frame at 0, 1 and 2 s, named by offset in milliseconds, for
//!   `kvs-mkv serve --images`).
//!
//! Run `cargo run --example gen_testdata`. A missing source or image is made
//! with ffmpeg first; everything after that is deterministic, and
//! `tests/testdata_fresh.rs` checks that the committed files are what
//! [`generate`] makes.

use bytes::Bytes;
use kvs_mkv::matroska::{AudioSettings, VideoSettings};
use kvs_mkv::writer::{ChunkModel, ChunkWriter, Lacing, Layout, TimestampSpelling};
use kvs_mkv::{ErrorId, Frame, TagPosition, TagValue, Timestamp, Track, TrackType};

/// The media the streams are made of.
pub struct Sources {
    /// `testdata/source/clip-h264.mkv`.
    pub clip: Vec<u8>,
    /// `testdata/source/tone-aac.mkv`.
    pub tone: Vec<u8>,
}

/// Every generated file: (name in `testdata/`, bytes).
pub fn generate(sources: &Sources) -> Vec<(&'static str, Vec<u8>)> {
    let video = Media::read(&sources.clip);
    let audio = Media::read(&sources.tone);
    vec![
        ("sample.mkv", sample(&video)),
        ("producer_sdk.mkv", producer_sdk(&video)),
        ("fragment_list.mkv", fragment_list(&video)),
        ("truncated.mkv", truncated(&video)),
        ("error_tag.mkv", error_tag(&video)),
        ("two_track.mkv", two_track(&video, &audio)),
        ("laced_audio.mkv", laced_audio(&audio)),
    ]
}

/// One track and its frames, read back with the crate's decoder.
struct Media {
    track: Track,
    frames: Vec<Frame>,
}

impl Media {
    fn read(file: &[u8]) -> Media {
        let chunk = kvs_mkv::io::read_chunks(file)
            .next()
            .expect("a source holds a chunk")
            .expect("a source decodes");
        Media {
            track: chunk.info().tracks[0].clone(),
            frames: chunk.frames().to_vec(),
        }
    }

    /// Keyframe timecodes: where the chunks (fragments) begin.
    fn keyframes(&self) -> Vec<i64> {
        self.frames
            .iter()
            .filter(|f| f.is_keyframe())
            .map(|f| f.timecode())
            .collect()
    }
}

const SCALE: u64 = 1_000_000;

/// The video track as the streams declare it: number 1.
fn video_track(media: &Media) -> Track {
    let source = media.track.video.unwrap_or_default();
    let mut video = VideoSettings::default();
    video.pixel_width = source.pixel_width;
    video.pixel_height = source.pixel_height;
    let mut t = Track::default();
    t.number = 1;
    t.uid = Some(1);
    t.track_type = Some(TrackType::Video);
    t.codec_id = "V_MPEG4/ISO/AVC".into();
    t.codec_private = media.track.codec_private.clone();
    t.video = Some(video);
    t
}

/// The audio track as the streams declare it, with its number.
fn audio_track(media: &Media, number: u64) -> Track {
    let source = media.track.audio.unwrap_or_default();
    let mut audio = AudioSettings::default();
    audio.sampling_frequency = source.sampling_frequency;
    audio.channels = source.channels;
    let mut t = Track::default();
    t.number = number;
    t.uid = Some(number);
    t.track_type = Some(TrackType::Audio);
    t.codec_id = "A_AAC".into();
    t.codec_private = media.track.codec_private.clone();
    // 1024 samples at 48 kHz: lets players time the frames of a lace.
    t.default_duration_ns = Some(21_333_333);
    t.audio = Some(audio);
    t
}

/// A frame of `track` at `timecode`, with the source frame's payload.
fn frame(f: &Frame, track: u64, timecode: i64) -> Frame {
    Frame::new(f.data().clone(), track, timecode, SCALE, f.is_keyframe())
}

/// The frames of `media` from `from` (inclusive) to `to` (exclusive).
fn between(media: &Media, from: i64, to: Option<i64>) -> impl Iterator<Item = &Frame> {
    media
        .frames
        .iter()
        .filter(move |f| f.timecode() >= from && to.is_none_or(|t| f.timecode() < t))
}

/// The frames of one video GOP per chunk, `shift` added to their timecodes.
fn gops(video: &Media, shift: i64) -> Vec<Vec<Frame>> {
    let keys = video.keyframes();
    keys.iter()
        .enumerate()
        .map(|(i, &k)| {
            between(video, k, keys.get(i + 1).copied())
                .map(|f| frame(f, 1, f.timecode() + shift))
                .collect()
        })
        .collect()
}

fn fragment_number(i: usize) -> String {
    format!("9134385233318143239268206260774392014615916{:04}", 9392 + i)
}

fn timestamp(ms: u64) -> Timestamp {
    Timestamp::new(ms / 1000, (ms % 1000) as u32 * 1_000_000).expect("valid")
}

/// The AWS values of the `i`-th chunk of `n`, as GetMedia writes them.
fn get_media_tags(model: &mut ChunkModel, i: usize, n: usize) {
    let aws = &mut model.aws;
    aws.fragment_number = Some(fragment_number(i).parse().expect("digits"));
    aws.server_timestamp = Some(timestamp(1_700_000_000_000 + 1000 * i as u64 + 250));
    aws.producer_timestamp = Some(timestamp(1_700_000_000_000 + 1000 * i as u64));
    aws.millis_behind_now = Some((n - 1 - i) as u64 * 1000 + 500);
    aws.continuation_token = Some(fragment_number(i).into());
}

fn write(writer: ChunkWriter, models: &[ChunkModel]) -> Vec<u8> {
    let mut out = Vec::new();
    writer
        .write_stream(models, &mut out)
        .expect("the models are writable");
    out
}

/// A GetMedia body as the service sends it: three chunks, one GOP each.
fn sample(video: &Media) -> Vec<u8> {
    let chunks = gops(video, 0);
    let models: Vec<ChunkModel> = chunks
        .into_iter()
        .enumerate()
        .map(|(i, frames)| {
            let mut m = ChunkModel::new(vec![video_track(video)]);
            get_media_tags(&mut m, i, 3);
            m.frames = frames;
            m
        })
        .collect();
    write(ChunkWriter::new(Layout::Service), &models)
}

/// The producer SDK layout, with producer-relative (epoch-millisecond)
/// timecodes and custom tags: Unicode, an empty value, a binary one, and a
/// tag after the Cluster.
fn producer_sdk(video: &Media) -> Vec<u8> {
    let base = 1_700_000_000_000i64;
    let models: Vec<ChunkModel> = gops(video, base)
        .into_iter()
        .enumerate()
        .map(|(i, frames)| {
            let mut m = ChunkModel::new(vec![video_track(video)]);
            get_media_tags(&mut m, i, 3);
            let s = |v: &str| TagValue::String(v.into());
            m.push_tag(
                "DEVICE",
                s("Kamera Süd — 東京 📷"),
                TagPosition::BeforeCluster,
            );
            m.push_tag("NOTE", s(""), TagPosition::BeforeCluster);
            m.push_tag(
                "CALIBRATION",
                TagValue::Binary(Bytes::from_static(&[0, 1, 2, 0xFF])),
                TagPosition::BeforeCluster,
            );
            m.push_tag(
                "EVENT",
                s(&format!("motion ▶ {i}")),
                TagPosition::AfterCluster,
            );
            m.frames = frames;
            m
        })
        .collect();
    write(ChunkWriter::new(Layout::ProducerSdk), &models)
}

/// A GetMediaForFragmentList body (the `_SIDE_` timestamp spelling, no
/// trailer) asking for three fragments, of which the second does not exist.
fn fragment_list(video: &Media) -> Vec<u8> {
    let models: Vec<ChunkModel> = gops(video, 0)
        .into_iter()
        .enumerate()
        .map(|(i, frames)| {
            let mut m = ChunkModel::new(Vec::new());
            m.aws.fragment_number = Some(fragment_number(i).parse().expect("digits"));
            if i == 1 {
                m.aws.exception_error_code = Some(404);
                m.aws.exception_message = Some(
                    format!(
                        "Fragment {} does not exist in the stream",
                        fragment_number(i)
                    )
                    .into(),
                );
            } else {
                get_media_tags(&mut m, i, 3);
                m.tracks = vec![video_track(video)];
                m.frames = frames;
            }
            m
        })
        .collect();
    write(
        ChunkWriter::new(Layout::FragmentList(TimestampSpelling::Side)),
        &models,
    )
}

/// `sample.mkv` cut inside the eleventh frame of its third chunk, as a
/// dropped connection leaves it: that chunk keeps ten complete frames.
fn truncated(video: &Media) -> Vec<u8> {
    let whole = sample(video);
    let third = kvs_mkv::io::read_chunks(&whole[..])
        .nth(2)
        .expect("three chunks")
        .expect("decodes");
    // Frame payloads are views of the chunk's bytes: their offset in it.
    let eleventh = third.frames()[10].data().as_ptr() as usize - third.raw().as_ptr() as usize;
    let cut = third.info().offset as usize + eleventh + 1;
    whole[..cut].to_vec()
}

/// A GetMedia body that stops on an error: one good chunk, then a chunk
/// with ERROR_ID 4000 (requested fragment not found) and its ERROR_CODE.
fn error_tag(video: &Media) -> Vec<u8> {
    let mut good = ChunkModel::new(vec![video_track(video)]);
    get_media_tags(&mut good, 0, 2);
    good.frames = gops(video, 0).swap_remove(0);
    let mut error = ChunkModel::default();
    error.aws.error_id = Some(ErrorId::FragmentNotFound);
    error.aws.error_code = Some("Requested fragment was not found".into());
    write(ChunkWriter::new(Layout::Service), &[good, error])
}

/// Video (track 1) and AAC audio (track 2), interleaved by timecode, one
/// chunk per video GOP.
fn two_track(video: &Media, audio: &Media) -> Vec<u8> {
    let keys = video.keyframes();
    let models: Vec<ChunkModel> = keys
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let next = keys.get(i + 1).copied();
            let mut m = ChunkModel::new(vec![video_track(video), audio_track(audio, 2)]);
            get_media_tags(&mut m, i, keys.len());
            let mut frames: Vec<Frame> = between(video, k, next)
                .map(|f| frame(f, 1, f.timecode()))
                .chain(between(audio, k, next).map(|f| frame(f, 2, f.timecode())))
                .collect();
            // Stable: a video frame stays before the audio of its timecode.
            frames.sort_by_key(|f| f.timecode());
            m.frames = frames;
            m
        })
        .collect();
    write(ChunkWriter::new(Layout::Service), &models)
}

/// AAC audio alone, four frames to a block: Xiph lacing in the first and
/// third chunk, EBML lacing in the second. Laced frames share their block's
/// timecode, so each group of four takes its first frame's.
fn laced_audio(audio: &Media) -> Vec<u8> {
    let bounds = [0i64, 1000, 2000];
    let mut out = Vec::new();
    for (i, &from) in bounds.iter().enumerate() {
        let to = bounds.get(i + 1).copied();
        let source: Vec<&Frame> = between(audio, from, to).collect();
        let mut m = ChunkModel::new(vec![audio_track(audio, 1)]);
        get_media_tags(&mut m, i, bounds.len());
        for group in source.chunks(4) {
            let tc = group[0].timecode();
            m.frames.extend(group.iter().map(|f| frame(f, 1, tc)));
        }
        let lacing = if i == 1 { Lacing::Ebml } else { Lacing::Xiph };
        ChunkWriter::new(Layout::Service)
            .with_lacing(lacing)
            .write_to(&m, &mut out)
            .expect("writable");
    }
    out
}

#[allow(dead_code)] // the test that includes this file has its own main
fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let source = |name: &str, args: &str| -> Vec<u8> {
        let path = root.join("source").join(name);
        if !path.exists() {
            let status = std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-y"])
                .args(args.split(' '))
                .arg(&path)
                .status()
                .expect("ffmpeg runs (it makes the missing source)");
            assert!(status.success(), "ffmpeg failed to make {name}");
            println!("made testdata/source/{name} with ffmpeg");
        }
        std::fs::read(&path).expect("read the source")
    };
    let bitexact = "-threads 1 -bitexact -fflags +bitexact -flags +bitexact";
    let sources = Sources {
        clip: source(
            "clip-h264.mkv",
            &format!(
                "-f lavfi -i testsrc=size=160x120:rate=15:duration=3 -c:v libx264 \
                 -g 15 -keyint_min 15 -sc_threshold 0 -pix_fmt yuv420p -profile:v baseline {bitexact}"
            ),
        ),
        tone: source(
            "tone-aac.mkv",
            &format!(
                "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=3 \
                 -c:a aac -b:a 32k -ac 1 {bitexact}"
            ),
        ),
    };
    // Images for `kvs-mkv serve --images` (GetImages): one frame of the
    // clip at 0, 1 and 2 s, as JPEG and PNG, named by their offset in
    // milliseconds. Made once with ffmpeg, like the sources.
    std::fs::create_dir_all(root.join("images")).expect("testdata/images");
    for ms in [0u32, 1000, 2000] {
        for (ext, quality) in [("jpg", "-q:v 12 "), ("png", "")] {
            let name = format!("{ms}.{ext}");
            let path = root.join("images").join(&name);
            if path.exists() {
                continue;
            }
            let args = format!(
                "-ss {} -i {} -frames:v 1 {quality}-fflags +bitexact -flags:v +bitexact",
                ms / 1000,
                root.join("source/clip-h264.mkv").display()
            );
            let status = std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-y"])
                .args(args.split(' '))
                .arg(&path)
                .status()
                .expect("ffmpeg runs (it makes the missing image)");
            assert!(status.success(), "ffmpeg failed to make images/{name}");
            println!("made testdata/images/{name} with ffmpeg");
        }
    }
    let mut total = 0;
    for (name, bytes) in generate(&sources) {
        std::fs::write(root.join(name), &bytes).expect("write testdata");
        println!("wrote testdata/{name} ({} bytes)", bytes.len());
        total += bytes.len();
    }
    println!("{total} bytes in all");
}
