//! An independent byte-level builder of testdata/sample.mkv. The file is
//! written by examples/gen_testdata.rs with the crate's writer; the test
//! `sample_is_fresh` checks that this builder makes the same bytes.
#![allow(dead_code)]

use super::ebml::*;

/// The sample's bytes, built from the clip.
pub fn sample(clip: &[u8]) -> Vec<u8> {
    let mut decoder = kvs_mkv::io::read_chunks(clip);
    let chunk = decoder
        .next()
        .expect("the clip has a chunk")
        .expect("the clip decodes");
    let track = &chunk.info().tracks[0];
    let private = track.codec_private.clone().unwrap_or_default();
    let video = track.video.expect("a video track");
    let (w, h) = (
        video.pixel_width.unwrap_or(0),
        video.pixel_height.unwrap_or(0),
    );
    let mut gops: Vec<Vec<&kvs_mkv::Frame>> = Vec::new();
    for frame in chunk.frames() {
        if frame.is_keyframe() || gops.is_empty() {
            gops.push(Vec::new());
        }
        gops.last_mut().unwrap().push(frame);
    }
    let mut out = Vec::new();
    for (i, gop) in gops.iter().enumerate() {
        let fragment = format!("9134385233318143239268206260774392014615916{:04}", 9392 + i);
        let server_ms = 1_700_000_000_000u64 + 1000 * i as u64 + 250;
        let producer_ms = 1_700_000_000_000u64 + 1000 * i as u64;
        let ts = |ms: u64| format!("{}.{:03}", ms / 1000, ms % 1000);
        let cluster_tc = gop[0].timecode() as u64;
        let mut cluster = uint(TIMECODE, cluster_tc);
        for f in gop {
            let rel = (f.timecode() as u64 - cluster_tc) as i16;
            cluster.extend(simple_block(1, rel, f.is_keyframe(), f.data()));
        }
        out.extend(ebml_header());
        out.extend(open_unknown(SEGMENT, 8));
        out.extend(info(1_000_000));
        out.extend(el(
            TRACKS,
            &video_track(1, "V_MPEG4/ISO/AVC", &private, w, h),
        ));
        out.extend(tags_w(
            &[
                ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", &fragment),
                ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", &ts(server_ms)),
                ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", &ts(producer_ms)),
            ],
            4,
        ));
        out.extend(el_w(CLUSTER, &cluster, 8));
        let behind = (2 - i as u64) * 1000 + 500;
        out.extend(tags_w(
            &[
                ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", &behind.to_string()),
                ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", &fragment),
            ],
            4,
        ));
    }
    out
}
