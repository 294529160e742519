//! Every recording of ../shared/corpus/kvs-recordings, checked chunk by chunk
//! against an independent reading: the file is cut at its EBML headers by a
//! plain byte search, and each piece is read by ffprobe (packets: count,
//! sizes, keyframe flags, pts) and mkvinfo (tags, tracks). The decoder's
//! answer is taken from `kvs-mkv inspect --json`, as a user would see it.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[derive(Debug, Default)]
struct Oracle {
    packets: Vec<(i64, u64, bool)>,
    truncated: bool,
    tags: Vec<(String, String)>,
    tracks: Vec<Track>,
}

#[derive(Debug, Default, PartialEq)]
struct Track {
    number: u64,
    codec_id: String,
    kind: String,
    width: Option<u64>,
    height: Option<u64>,
    channels: Option<u64>,
    sampling_frequency: Option<f64>,
}

fn read_oracle(piece: &Path) -> Oracle {
    let mut o = Oracle::default();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "packet=pts,size,flags",
            "-of",
            "csv=p=0",
        ])
        .arg(piece)
        .output()
        .unwrap();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split(',').collect();
        o.packets.push((
            f[0].parse().unwrap(),
            f[1].parse().unwrap(),
            f[2].starts_with('K'),
        ));
    }
    o.truncated = String::from_utf8_lossy(&out.stderr).contains("File ended prematurely");

    let out = Command::new("mkvinfo")
        .arg("-v")
        .arg(piece)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    // Lines look like "|  + Name: VALUE"; depth is the position of '+'.
    let mut simple_depth: Option<usize> = None;
    let mut in_track: Option<usize> = None;
    for line in text.lines() {
        let Some(depth) = line.find('+') else {
            continue;
        };
        let item = line[depth + 1..].strip_prefix(' ').unwrap_or("");
        if simple_depth.is_some_and(|d| depth <= d) {
            simple_depth = None;
        }
        if in_track.is_some_and(|d| depth <= d) {
            in_track = None;
        }
        if item == "Simple" {
            simple_depth = Some(depth);
        } else if item == "Track" {
            in_track = Some(depth);
            o.tracks.push(Track::default());
        } else if let (Some(d), Some(name)) = (simple_depth, item.strip_prefix("Name: ")) {
            if depth == d + 1 {
                o.tags.push((name.to_string(), String::new()));
            }
        } else if let (Some(d), Some(value)) = (simple_depth, item.strip_prefix("String: ")) {
            if depth == d + 1 {
                o.tags.last_mut().unwrap().1 = value.to_string();
            }
        } else if in_track.is_some() {
            let t = o.tracks.last_mut().unwrap();
            let num = |s: &str| s.split_whitespace().next().unwrap().parse::<u64>().unwrap();
            if let Some(v) = item.strip_prefix("Track number: ") {
                t.number = num(v);
            } else if let Some(v) = item.strip_prefix("Codec ID: ") {
                t.codec_id = v.to_string();
            } else if let Some(v) = item.strip_prefix("Track type: ") {
                t.kind = v.to_string();
            } else if let Some(v) = item.strip_prefix("Pixel width: ") {
                t.width = Some(num(v));
            } else if let Some(v) = item.strip_prefix("Pixel height: ") {
                t.height = Some(num(v));
            } else if let Some(v) = item.strip_prefix("Channels: ") {
                t.channels = Some(num(v));
            } else if let Some(v) = item.strip_prefix("Sampling frequency: ") {
                t.sampling_frequency = Some(v.parse().unwrap());
            }
        }
    }
    o
}

/// Milliseconds of a "SECONDS.FRACTION" string, by string handling alone.
fn ms(s: &str) -> u64 {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac3: String = frac.chars().chain("000".chars()).take(3).collect();
    whole.parse::<u64>().unwrap() * 1000 + frac3.parse::<u64>().unwrap()
}

fn inspect(file: &Path) -> (Vec<Value>, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_kvs-mkv"))
        .args(["inspect", "--json"])
        .arg(file)
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, out.status.code().unwrap())
}

fn check_file(path: &Path) {
    let name = path.file_name().unwrap().to_string_lossy().to_string();
    let data = std::fs::read(path).unwrap();
    let mut starts: Vec<usize> =
        memchr::memmem::find_iter(&data, &[0x1A, 0x45, 0xDF, 0xA3]).collect();
    assert_eq!(
        starts.first(),
        Some(&0),
        "{name}: starts with an EBML header"
    );
    let (lines, status) = inspect(path);
    let chunks: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "chunk").collect();
    let errors: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "error").collect();
    let dir = tempdir(&name);
    starts.push(data.len());
    let mut total_frames = 0;
    for (k, w) in starts.windows(2).enumerate() {
        let (s, e) = (w[0], w[1]);
        let piece = dir.join(format!("piece{k}.mkv"));
        std::fs::write(&piece, &data[s..e]).unwrap();
        let oracle = read_oracle(&piece);
        let mine: Vec<&&Value> = chunks
            .iter()
            .filter(|c| (s as u64..e as u64).contains(&c["offset"].as_u64().unwrap()))
            .collect();
        let ctx = format!("{name} piece {k} at {s}..{e}");
        assert!(!mine.is_empty(), "{ctx}: no chunk");
        assert_eq!(mine[0]["offset"], s as u64, "{ctx}: offset");
        let length: u64 = mine.iter().map(|c| c["length"].as_u64().unwrap()).sum();
        assert_eq!(length, (e - s) as u64, "{ctx}: lengths cover the piece");
        // Frames: count, bytes, keyframes, first and last pts.
        let sum = |f: &str| mine.iter().map(|c| c[f].as_u64().unwrap()).sum::<u64>();
        assert_eq!(sum("frames"), oracle.packets.len() as u64, "{ctx}: frames");
        assert_eq!(
            sum("frame_bytes"),
            oracle.packets.iter().map(|p| p.1).sum::<u64>(),
            "{ctx}: bytes"
        );
        assert_eq!(
            sum("keyframes"),
            oracle.packets.iter().filter(|p| p.2).count() as u64,
            "{ctx}: keyframes"
        );
        if let (Some(first), Some(last)) = (oracle.packets.first(), oracle.packets.last()) {
            assert_eq!(mine[0]["first_pts_ms"], first.0, "{ctx}: first pts");
            assert_eq!(
                mine.last().unwrap()["last_pts_ms"],
                last.0,
                "{ctx}: last pts"
            );
        }
        total_frames += oracle.packets.len();
        // Tags in document order.
        let my_tags: Vec<(String, String)> = mine
            .iter()
            .flat_map(|c| c["tags"].as_array().unwrap().iter())
            .map(|t| {
                (
                    t[0].as_str().unwrap().to_string(),
                    t[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(my_tags, oracle.tags, "{ctx}: tags");
        // Tracks.
        for c in &mine {
            let tracks: Vec<Track> = c["tracks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| Track {
                    number: t["number"].as_u64().unwrap(),
                    codec_id: t["codec_id"].as_str().unwrap().to_string(),
                    kind: t["type"].as_str().unwrap().to_string(),
                    width: t["width"].as_u64(),
                    height: t["height"].as_u64(),
                    channels: t["channels"].as_u64(),
                    sampling_frequency: t["sampling_frequency"].as_f64(),
                })
                .collect();
            assert_eq!(tracks, oracle.tracks, "{ctx}: tracks");
        }
        // The AWS fields, from mkvinfo's tag values (first value of each).
        if mine.len() == 1 {
            let c = mine[0];
            let first = |n: &str| oracle.tags.iter().find(|t| t.0 == n).map(|t| t.1.clone());
            let k = "AWS_KINESISVIDEO_";
            assert_eq!(
                c["fragment_number"].as_str().map(String::from),
                first(&format!("{k}FRAGMENT_NUMBER")),
                "{ctx}"
            );
            assert_eq!(
                c["server_timestamp_ms"].as_u64(),
                first(&format!("{k}SERVER_TIMESTAMP")).map(|s| ms(&s)),
                "{ctx}"
            );
            assert_eq!(
                c["producer_timestamp_ms"].as_u64(),
                first(&format!("{k}PRODUCER_TIMESTAMP")).map(|s| ms(&s)),
                "{ctx}"
            );
            assert_eq!(
                c["millis_behind_now"].as_u64(),
                first(&format!("{k}MILLIS_BEHIND_NOW")).map(|s| s.parse().unwrap()),
                "{ctx}"
            );
            assert_eq!(
                c["continuation_token"].as_str().map(String::from),
                first(&format!("{k}CONTINUATION_TOKEN")),
                "{ctx}"
            );
            assert_eq!(c["error_id"], Value::Null, "{ctx}");
        }
        // Completeness: only a piece ffprobe finds cut short is incomplete.
        let last = mine.last().unwrap();
        assert_eq!(last["complete"], !oracle.truncated, "{ctx}: complete");
        assert!(
            mine[..mine.len() - 1].iter().all(|c| c["complete"] == true),
            "{ctx}"
        );
    }
    assert_eq!(
        chunks
            .iter()
            .map(|c| c["frames"].as_u64().unwrap())
            .sum::<u64>(),
        total_frames as u64
    );
    // Exactly one error per truncated piece, at its end, and exit status 1.
    let truncated = chunks.iter().filter(|c| c["complete"] == false).count();
    assert_eq!(errors.len(), truncated, "{name}: errors {errors:?}");
    assert_eq!(
        status,
        if truncated > 0 { 1 } else { 0 },
        "{name}: exit status"
    );
    for e in errors {
        assert_eq!(e["skipped"], 0);
        assert!(e["offset"].as_u64().unwrap() < data.len() as u64);
    }
    let indexes: Vec<u64> = chunks
        .iter()
        .map(|c| c["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, (0..chunks.len() as u64).collect::<Vec<_>>());
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kvs-mkv-corpus-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_recording_agrees_with_ffprobe_and_mkvinfo() {
    let files = common::recordings();
    if files.is_empty() || !common::tool("ffprobe") || !common::tool("mkvinfo") {
        return;
    }
    for f in &files {
        check_file(f);
    }
}

#[test]
fn sample_agrees_with_ffprobe_and_mkvinfo() {
    if !common::tool("ffprobe") || !common::tool("mkvinfo") {
        return;
    }
    check_file(&common::root().join("testdata/sample.mkv"));
}

/// Facts from the recordings' MANIFEST (counted by AWS's project and ffprobe).
#[test]
fn manifest_counts() {
    let Some(dir) = common::shared("corpus/kvs-recordings") else {
        return;
    };
    for (file, chunks, frames, bytes) in [
        ("output_get_media.mkv", 5, None, None),
        ("output_get_media_sparse_fragments.mkv", 3, None, None),
        (
            "output_get_media_sparse_fragments_merged.mkv",
            3,
            Some(180),
            Some(1_516_333),
        ),
        ("vogels_480.mkv", 1, Some(2334), Some(1_991_571)),
        ("clusters.mkv", 1, Some(444), None),
    ] {
        let (lines, status) = inspect(&dir.join(file));
        assert_eq!(status, 0, "{file}");
        let c: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "chunk").collect();
        assert_eq!(c.len(), chunks, "{file}");
        let sum = |f: &str| c.iter().map(|l| l[f].as_u64().unwrap()).sum::<u64>();
        if let Some(n) = frames {
            assert_eq!(sum("frames"), n, "{file}");
        }
        if let Some(n) = bytes {
            assert_eq!(sum("frame_bytes"), n, "{file}");
        }
    }
}
