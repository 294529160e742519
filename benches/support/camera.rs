//! Camera-shaped GetMedia bodies made by the crate's own writer
//! (`kvs_mkv::writer`, service layout): 2 s fragments, H.264-like video at
//! 30 fps (a keyframe first in each fragment, frames of 2 to 60 KB) and
//! AAC-like audio at 46.875 fps (1024 samples at 48 kHz, frames of ~300 B),
//! with the five AWS tags of a GetMedia chunk (FRAGMENT_NUMBER, SERVER and
//! PRODUCER timestamps, MILLIS_BEHIND_NOW, CONTINUATION_TOKEN).
#![allow(dead_code)]

use bytes::Bytes;
use kvs_mkv::matroska::{AudioSettings, VideoSettings};
use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout};
use kvs_mkv::{Frame, Timestamp, Track, TrackType};

/// One camera stream's shape.
#[derive(Debug, Clone, Copy)]
pub struct Camera {
    /// Fragments (chunks) in the body, 2 s each.
    pub fragments: usize,
    /// Keyframe size in bytes.
    pub keyframe: usize,
    /// Other video frames are drawn from `delta_min..=delta_max` bytes.
    pub delta_min: usize,
    pub delta_max: usize,
}

impl Camera {
    /// About 1 Mbit/s: 30 KB keyframes, 2-4.4 KB delta frames.
    pub fn mbit1(fragments: usize) -> Camera {
        Camera {
            fragments,
            keyframe: 30_000,
            delta_min: 2_000,
            delta_max: 4_400,
        }
    }

    /// About 6 Mbit/s: 60 KB keyframes, 12-36 KB delta frames.
    pub fn mbit6(fragments: usize) -> Camera {
        Camera {
            fragments,
            keyframe: 60_000,
            delta_min: 12_000,
            delta_max: 36_000,
        }
    }
}

/// Video frames per 2 s fragment (30 fps).
pub const VIDEO_PER_FRAGMENT: usize = 60;
/// Audio frames per 2 s fragment (1024 samples at 48 kHz: 93.75; 94).
pub const AUDIO_PER_FRAGMENT: usize = 94;

/// A deterministic pseudo-random number for `n`.
fn mix(n: u64) -> u64 {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ (x >> 29)
}

fn payload(len: usize, seed: u64) -> Bytes {
    let mut v = Vec::with_capacity(len);
    let mut x = seed;
    while v.len() < len {
        x = mix(x);
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    Bytes::from(v)
}

fn tracks() -> Vec<Track> {
    let mut video = Track::default();
    video.number = 1;
    video.track_type = Some(TrackType::Video);
    video.codec_id = "V_MPEG4/ISO/AVC".into();
    video.codec_private = Some(Bytes::from_static(&[0x01, 0x64, 0x00, 0x1F, 0xFF]));
    let mut vs = VideoSettings::default();
    vs.pixel_width = Some(1280);
    vs.pixel_height = Some(720);
    video.video = Some(vs);
    let mut audio = Track::default();
    audio.number = 2;
    audio.track_type = Some(TrackType::Audio);
    audio.codec_id = "A_AAC".into();
    audio.codec_private = Some(Bytes::from_static(&[0x11, 0x90]));
    let mut aus = AudioSettings::default();
    aus.sampling_frequency = Some(48_000.0);
    aus.channels = Some(1);
    audio.audio = Some(aus);
    vec![video, audio]
}

/// The model of fragment `index`: frames interleaved by timecode.
pub fn model(cam: &Camera, index: usize) -> ChunkModel {
    let mut model = ChunkModel::new(tracks());
    let number = format!("91343852333181432392682062607743920146159{:07}", index);
    let ms = 1_700_000_000_000u64 + 2000 * index as u64;
    let ts = |ms: u64| Timestamp::new(ms / 1000, (ms % 1000) as u32 * 1_000_000).unwrap();
    model.aws.fragment_number = Some(number.parse().unwrap());
    model.aws.server_timestamp = Some(ts(ms + 250));
    model.aws.producer_timestamp = Some(ts(ms));
    model.aws.millis_behind_now = Some(1500);
    model.aws.continuation_token = Some(number.as_str().into());
    let base = 2000 * index as i64;
    let mut frames: Vec<(i64, Frame)> = Vec::new();
    for i in 0..VIDEO_PER_FRAGMENT {
        let seed = (index * 1000 + i) as u64;
        let len = if i == 0 {
            cam.keyframe
        } else {
            cam.delta_min + (mix(seed) as usize) % (cam.delta_max - cam.delta_min + 1)
        };
        let t = base + (i as i64 * 1000) / 30;
        frames.push((t, Frame::new(payload(len, seed), 1, t, 1_000_000, i == 0)));
    }
    for i in 0..AUDIO_PER_FRAGMENT {
        let seed = (index * 1000 + 500 + i) as u64;
        let len = 280 + (mix(seed) as usize) % 41;
        let t = base + (i as i64 * 1024 * 1000) / 48_000;
        frames.push((t, Frame::new(payload(len, seed), 2, t, 1_000_000, true)));
    }
    frames.sort_by_key(|(t, f)| (*t, f.track()));
    model.frames = frames.into_iter().map(|(_, f)| f).collect();
    model
}

/// A whole GetMedia body of `cam.fragments` chunks, and its frame count.
pub fn stream(cam: &Camera) -> (Vec<u8>, u64) {
    let (out, frames, _) = stream_with_lengths(cam);
    (out, frames)
}

/// [`stream`], with the length of each chunk in it, in order.
pub fn stream_with_lengths(cam: &Camera) -> (Vec<u8>, u64, Vec<usize>) {
    let writer = ChunkWriter::new(Layout::Service);
    let mut out = Vec::new();
    let mut frames = 0;
    let mut lengths = Vec::with_capacity(cam.fragments);
    for i in 0..cam.fragments {
        let m = model(cam, i);
        frames += m.frames.len() as u64;
        let chunk = writer.to_bytes(&m).expect("the writer writes the model");
        lengths.push(chunk.len());
        out.extend_from_slice(&chunk);
    }
    (out, frames, lengths)
}
