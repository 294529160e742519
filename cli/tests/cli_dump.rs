//! `kvs-mkv dump`, run as a user runs it, against an independent reading:
//! every element mkvinfo lists (`mkvinfo -v -v -z`: "at OFFSET size TOTAL
//! data size DATA") is in the dump with the same offset, header and data
//! size, and the ID the Matroska specification gives mkvinfo's label;
//! every element of the dump that mkvinfo does not list is accounted for.
//! Then JSON lines against the text, damage (junk bytes, a cut input) at
//! the offset where it was made, reading on where mkvinfo stops, streaming
//! from a pipe, and a missing file.

#[path = "../../tests/common/mod.rs"]
mod common;
mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::mpsc;

use common::tool;
use serde_json::Value;
use support::{bin, run, scratch_dir, testdata_path, text, wait_output, HANG_GUARD};

// ------------------------------------------------------------ mkvinfo

/// One element as mkvinfo lists it.
#[derive(Debug)]
struct Listed {
    label: String,
    offset: u64,
    /// Header and data size; `None` for an unknown size.
    sizes: Option<(u64, u64)>,
}

/// mkvinfo's reading of a file: its elements, and the stretches it said it
/// resynchronized over (from the error's position to where it read on;
/// to the end when the resync failed).
struct MkvInfo {
    elements: Vec<Listed>,
    skipped: Vec<(u64, u64)>,
    resync_failed: bool,
}

fn mkvinfo(path: &Path) -> MkvInfo {
    // mkvinfo exits 1 after a warning (as at each further chunk of a KVS
    // body, where it resynchronizes): its status is not looked at.
    let out = std::process::Command::new("mkvinfo")
        .args(["-v", "-v", "-z"])
        .arg(path)
        .output()
        .expect("mkvinfo runs");
    let stdout = text(&out.stdout);
    let mut info = MkvInfo {
        elements: Vec::new(),
        skipped: Vec::new(),
        resync_failed: false,
    };
    let number_after = |line: &str, marker: &str| -> Option<u64> {
        let rest = &line[line.find(marker)? + marker.len()..];
        rest.trim_end_matches('.').parse().ok()
    };
    let mut error_at = None;
    for line in stdout.lines() {
        if let Some(at) = number_after(line, "Error in the Matroska file structure at position ")
            .or_else(|| {
                let l = line.split(". Resyncing").next()?;
                number_after(l, "Error in the Matroska file structure at position ")
            })
        {
            error_at = Some(at);
            continue;
        }
        if let Some(to) = number_after(line, "Resyncing successful at position ") {
            info.skipped
                .push((error_at.take().expect("an error first"), to));
            continue;
        }
        if line.contains("Resync failed") {
            info.skipped
                .push((error_at.take().expect("an error first"), u64::MAX));
            info.resync_failed = true;
            continue;
        }
        let Some(at) = line.rfind(" at ") else {
            continue;
        };
        let words: Vec<&str> = line[at + 4..].split_whitespace().collect();
        let (offset, sizes) = match words.as_slice() {
            [offset, "size", "is", "unknown"] => (offset, None),
            [offset, "size", total, "data", "size", data] => {
                let (total, data): (u64, u64) = (total.parse().unwrap(), data.parse().unwrap());
                (offset, Some((total - data, data)))
            }
            _ => continue,
        };
        let label = line[..at]
            .trim_start_matches(['|', ' '])
            .trim_start_matches("+ ");
        let label = label.split(':').next().unwrap().to_string();
        // A frame of a block is not an element.
        if label.starts_with("Frame") {
            continue;
        }
        info.elements.push(Listed {
            label,
            offset: offset.parse().unwrap(),
            sizes,
        });
    }
    info
}

/// The IDs mkvinfo's labels stand for, from the Matroska specification
/// (RFC 9559) and the EBML one (RFC 8794); a label that means two elements
/// (a track's Name and a SimpleTag's TagName) has both.
fn ids_of(label: &str) -> &'static [u32] {
    match label {
        "EBML head" => &[0x1A45_DFA3],
        "EBML version" => &[0x4286],
        "EBML read version" => &[0x42F7],
        "Maximum EBML ID length" => &[0x42F2],
        "Maximum EBML size length" => &[0x42F3],
        "Document type" => &[0x4282],
        "Document type version" => &[0x4287],
        "Document type read version" => &[0x4285],
        "EBML void" => &[0xEC],
        "Segment" => &[0x1853_8067],
        "Seek head" => &[0x114D_9B74],
        "Seek entry" => &[0x4DBB],
        "Seek ID" => &[0x53AB],
        "Seek position" => &[0x53AC],
        "Segment information" => &[0x1549_A966],
        "Timestamp scale" => &[0x2A_D7B1],
        "Duration" => &[0x4489],
        "Date" => &[0x4461],
        "Title" => &[0x7BA9],
        "Multiplexing application" => &[0x4D80],
        "Writing application" => &[0x5741],
        "Segment UID" => &[0x73A4],
        "Tracks" => &[0x1654_AE6B],
        "Track" => &[0xAE],
        "Track number" => &[0xD7],
        // TrackUID, or TagTrackUID in a Tag's Targets.
        "Track UID" => &[0x73C5, 0x63C5],
        "Track type" => &[0x83],
        "\"Lacing\" flag" => &[0x9C],
        "\"Default track\" flag" => &[0x88],
        "Minimum cache" => &[0x6DE7],
        "Default duration" => &[0x23_E383],
        // A track's Name, or a SimpleTag's TagName.
        "Name" => &[0x536E, 0x45A3],
        "Language" => &[0x22_B59C, 0x447A],
        "Language (IETF BCP 47)" => &[0x22_B59D],
        "Codec ID" => &[0x86],
        "Codec's private data" => &[0x63A2],
        "Video track" => &[0xE0],
        "Pixel width" => &[0xB0],
        "Pixel height" => &[0xBA],
        "Display width" => &[0x54B0],
        "Display height" => &[0x54BA],
        "Display unit" => &[0x54B2],
        "Interlaced" => &[0x9A],
        "Video color information" => &[0x55B0],
        "Color matrix coefficients" => &[0x55B1],
        "Horizontal chroma siting" => &[0x55B7],
        "Vertical chroma siting" => &[0x55B8],
        "Color range" => &[0x55B9],
        "Color transfer" => &[0x55BA],
        "Color primaries" => &[0x55BB],
        "Bits per channel" => &[0x55B2],
        "Horizontal chroma subsample" => &[0x55B3],
        "Vertical chroma subsample" => &[0x55B4],
        "Horizontal Cb subsample" => &[0x55B5],
        "Vertical Cb subsample" => &[0x55B6],
        "Maximum content light" => &[0x55BC],
        "Maximum frame light" => &[0x55BD],
        "Video color mastering metadata" => &[0x55D0],
        "Red color coordinate x" => &[0x55D1],
        "Red color coordinate y" => &[0x55D2],
        "Green color coordinate x" => &[0x55D3],
        "Green color coordinate y" => &[0x55D4],
        "Blue color coordinate x" => &[0x55D5],
        "Blue color coordinate y" => &[0x55D6],
        "White color coordinate x" => &[0x55D7],
        "White color coordinate y" => &[0x55D8],
        "Maximum luminance" => &[0x55D9],
        "Minimum luminance" => &[0x55DA],
        "Audio track" => &[0xE1],
        "Sampling frequency" => &[0xB5],
        "Channels" => &[0x9F],
        "Cluster" => &[0x1F43_B675],
        "Cluster timestamp" => &[0xE7],
        "Cluster position" => &[0xA7],
        "Simple block" => &[0xA3],
        "Cues" => &[0x1C53_BB6B],
        "Cue point" => &[0xBB],
        "Cue time" => &[0xB3],
        "Cue track positions" => &[0xB7],
        "Cue track" => &[0xF7],
        "Cue cluster position" => &[0xF1],
        "Cue relative position" => &[0xF0],
        "Tags" => &[0x1254_C367],
        "Tag" => &[0x7373],
        "Targets" => &[0x63C0],
        "Target type value" => &[0x68CA],
        "Simple" => &[0x67C8],
        "Tag language" => &[0x447A],
        "Default language" => &[0x4484],
        "String" => &[0x4487],
        "Binary" => &[0x4485],
        other => panic!("mkvinfo label {other:?}: add its ID from the Matroska specification"),
    }
}

// ------------------------------------------------------------ dump

fn dump_json(path: &str) -> (Vec<Value>, Output) {
    let out = run(bin().args(["dump", "--json", path]));
    let lines = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    (lines, out)
}

fn hex(id: &Value) -> u32 {
    let s = id.as_str().unwrap();
    u32::from_str_radix(s.strip_prefix("0x").unwrap(), 16).unwrap()
}

fn kind(v: &Value) -> &str {
    v["kind"].as_str().unwrap()
}

/// The dump of `path` against mkvinfo's reading of it; the number of
/// elements compared.
fn compare_with_mkvinfo(path: &Path) -> usize {
    let name = path.display().to_string();
    let (lines, out) = dump_json(&name);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{name}: {}",
        text(&out.stderr)
    );
    let elements: Vec<&Value> = lines
        .iter()
        .filter(|v| matches!(kind(v), "start" | "leaf"))
        .collect();
    let ours: HashMap<u64, &Value> = elements
        .iter()
        .map(|v| (v["offset"].as_u64().unwrap(), *v))
        .collect();
    assert_eq!(
        ours.len(),
        elements.len(),
        "{name}: two elements at one offset"
    );
    let info = mkvinfo(path);
    assert!(
        info.elements.len() >= 20,
        "{name}: mkvinfo listed too little"
    );
    let mut compared = 0;
    for e in &info.elements {
        let Some(o) = ours.get(&e.offset) else {
            // Inside an element the dump reports as a leaf: a master the
            // crate's schema does not know, passed over whole; the element
            // itself is compared.
            let inside = elements.iter().any(|v| {
                let start = v["offset"].as_u64().unwrap();
                kind(v) == "leaf" && start < e.offset && e.offset < v["end"].as_u64().unwrap()
            });
            assert!(inside, "{name}: {e:?} is not in the dump");
            continue;
        };
        let id = hex(&o["id"]);
        assert!(
            ids_of(&e.label).contains(&id),
            "{name}: {e:?} is {o} in the dump"
        );
        match e.sizes {
            Some((header, data)) => {
                assert_eq!(o["header_size"].as_u64(), Some(header), "{name}: {e:?} {o}");
                assert_eq!(o["data_size"].as_u64(), Some(data), "{name}: {e:?} {o}");
            }
            None => assert!(o["data_size"].is_null(), "{name}: {e:?} {o}"),
        }
        compared += 1;
    }
    // What the dump has and mkvinfo does not list: what it passed over to
    // resynchronize (the EBML header and Segment of each further chunk of a
    // KVS body), CRC-32 elements (mkvinfo never lists them), and an element
    // cut by the end of the input.
    let listed: std::collections::HashSet<u64> = info.elements.iter().map(|e| e.offset).collect();
    let len = std::fs::metadata(path).unwrap().len();
    for o in &elements {
        let offset = o["offset"].as_u64().unwrap();
        if listed.contains(&offset) {
            continue;
        }
        let resynced = info.skipped.iter().any(|&(a, b)| a <= offset && offset < b);
        let crc = hex(&o["id"]) == 0xBF;
        let cut = o["end"].as_u64().is_some_and(|end| end > len);
        assert!(
            resynced || crc || cut,
            "{name}: {o} is not in mkvinfo's reading"
        );
    }
    compared
}

#[test]
fn dump_matches_mkvinfo_on_testdata() {
    if !tool("mkvinfo") {
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(common::root().join("testdata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mkv"))
        .collect();
    files.sort();
    assert!(files.len() >= 7, "{files:?}");
    let compared: usize = files.iter().map(|f| compare_with_mkvinfo(f)).sum();
    assert!(compared > 1000, "only {compared} elements compared");
}

#[test]
fn dump_matches_mkvinfo_on_the_recordings() {
    let files = common::recordings();
    if files.is_empty() || !tool("mkvinfo") {
        return;
    }
    let compared: usize = files.iter().map(|f| compare_with_mkvinfo(f)).sum();
    assert!(compared > 4000, "only {compared} elements compared");
}

// ------------------------------------------------------------ Colour

/// The Colour elements (RFC 9559 5.1.4.1.28.*) as mkvinfo 74 labels them,
/// with the specification's ID and name: what the dump must say for each.
#[rustfmt::skip]
const COLOUR_ELEMENTS: [(&str, u32, &str); 25] = [
    ("Video color information", 0x55B0, "Colour"),
    ("Color matrix coefficients", 0x55B1, "MatrixCoefficients"),
    ("Bits per channel", 0x55B2, "BitsPerChannel"),
    ("Horizontal chroma subsample", 0x55B3, "ChromaSubsamplingHorz"),
    ("Vertical chroma subsample", 0x55B4, "ChromaSubsamplingVert"),
    ("Horizontal Cb subsample", 0x55B5, "CbSubsamplingHorz"),
    ("Vertical Cb subsample", 0x55B6, "CbSubsamplingVert"),
    ("Horizontal chroma siting", 0x55B7, "ChromaSitingHorz"),
    ("Vertical chroma siting", 0x55B8, "ChromaSitingVert"),
    ("Color range", 0x55B9, "Range"),
    ("Color transfer", 0x55BA, "TransferCharacteristics"),
    ("Color primaries", 0x55BB, "Primaries"),
    ("Maximum content light", 0x55BC, "MaxCLL"),
    ("Maximum frame light", 0x55BD, "MaxFALL"),
    ("Video color mastering metadata", 0x55D0, "MasteringMetadata"),
    ("Red color coordinate x", 0x55D1, "PrimaryRChromaticityX"),
    ("Red color coordinate y", 0x55D2, "PrimaryRChromaticityY"),
    ("Green color coordinate x", 0x55D3, "PrimaryGChromaticityX"),
    ("Green color coordinate y", 0x55D4, "PrimaryGChromaticityY"),
    ("Blue color coordinate x", 0x55D5, "PrimaryBChromaticityX"),
    ("Blue color coordinate y", 0x55D6, "PrimaryBChromaticityY"),
    ("White color coordinate x", 0x55D7, "WhitePointChromaticityX"),
    ("White color coordinate y", 0x55D8, "WhitePointChromaticityY"),
    ("Maximum luminance", 0x55D9, "LuminanceMax"),
    ("Minimum luminance", 0x55DA, "LuminanceMin"),
];

/// The dump's element at `offset` (a start or a leaf).
fn element_at(lines: &[Value], offset: u64) -> Option<&Value> {
    lines
        .iter()
        .find(|v| matches!(kind(v), "start" | "leaf") && v["offset"].as_u64() == Some(offset))
}

/// Every Colour element mkvinfo lists in `path` is in the dump as an
/// element of its own (not passed over inside a leaf), at mkvinfo's
/// offset, with its header and data size, the specification's ID and name,
/// a master as a start with its end, and one level below its parent. The
/// labels found.
fn colour_as_mkvinfo_lists_it(path: &Path, lines: &[Value]) -> Vec<String> {
    let info = mkvinfo(path);
    let mut found = Vec::new();
    for e in &info.elements {
        let Some(&(_, id, name)) = COLOUR_ELEMENTS.iter().find(|c| c.0 == e.label) else {
            continue;
        };
        let o = element_at(lines, e.offset)
            .unwrap_or_else(|| panic!("{e:?} is not an element of the dump"));
        assert_eq!(hex(&o["id"]), id, "{e:?} {o}");
        assert_eq!(o["name"], name, "{e:?} {o}");
        let (header, data) = e.sizes.expect("a known size");
        assert_eq!(o["header_size"].as_u64(), Some(header), "{e:?} {o}");
        assert_eq!(o["data_size"].as_u64(), Some(data), "{e:?} {o}");
        let master = matches!(id, 0x55B0 | 0x55D0);
        assert_eq!(kind(o), if master { "start" } else { "leaf" }, "{o}");
        let parent = match id {
            0x55B0 => "Video",
            0x55D1..=0x55DA => "MasteringMetadata",
            _ => "Colour",
        };
        let depth = o["depth"].as_u64().unwrap();
        // The last start one level up before it.
        let enclosing = lines
            .iter()
            .rev()
            .find(|v| {
                kind(v) == "start"
                    && v["depth"].as_u64() == Some(depth - 1)
                    && v["offset"].as_u64().unwrap() < e.offset
            })
            .unwrap();
        assert_eq!(enclosing["name"], parent, "{e:?} {o}");
        if master {
            let end = e.offset + header + data;
            assert!(
                lines.iter().any(|v| kind(v) == "end"
                    && v["name"] == name
                    && v["end"].as_u64() == Some(end)
                    && v["complete"] == true),
                "no end of {name} at {end}"
            );
        }
        found.push(e.label.clone());
    }
    found
}

/// testdata/source/clip-h264.mkv (ffmpeg's, see testdata/README.md) has a
/// Colour with one child, Range. The dump names both, the Colour as a
/// master: at the offsets and sizes mkvinfo 74 gives (`mkvinfo -v -v -z`:
/// "Video color information at 343 size 7 data size 4", "Color range: 1 at
/// 346 size 4 data size 1"), checked again against mkvinfo where it runs.
#[test]
fn dump_names_colour_and_its_child_in_an_ffmpeg_file() {
    let path = Path::new(&testdata_path("source/clip-h264.mkv")).to_path_buf();
    let (lines, out) = dump_json(&path.display().to_string());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let colour = element_at(&lines, 343).expect("an element at 343");
    assert_eq!(
        (kind(colour), colour["name"].as_str(), hex(&colour["id"])),
        ("start", Some("Colour"), 0x55B0),
        "{colour}"
    );
    assert_eq!(colour["header_size"].as_u64(), Some(3));
    assert_eq!(colour["data_size"].as_u64(), Some(4));
    let range = element_at(&lines, 346).expect("an element at 346");
    assert_eq!(
        (kind(range), range["name"].as_str(), hex(&range["id"])),
        ("leaf", Some("Range"), 0x55B9),
        "{range}"
    );
    assert_eq!(range["header_size"].as_u64(), Some(3));
    assert_eq!(range["data_size"].as_u64(), Some(1));
    assert_eq!(
        range["depth"].as_u64(),
        Some(colour["depth"].as_u64().unwrap() + 1)
    );
    // In the text tree too.
    let out = run(bin().args(["dump", &path.display().to_string()]));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Colour id=0x55B0 offset=343 header=3 size=4"),
        "{stdout}"
    );
    assert!(stdout.contains("Range id=0x55B9 offset=346 header=3 size=1"));

    if !tool("mkvinfo") {
        return;
    }
    let found = colour_as_mkvinfo_lists_it(&path, &lines);
    assert_eq!(found, ["Video color information", "Color range"]);
    compare_with_mkvinfo(&path);
}

/// Every Colour element the specification has, in a file mkvmerge writes
/// from testdata/source/clip-h264.mkv with HDR colour flags (23 KB, so it
/// is made here rather than kept in testdata/): each is in the dump where
/// mkvinfo lists it, and the whole file reads as mkvinfo reads it.
#[test]
fn dump_names_every_colour_element_as_mkvinfo_lists_it() {
    // Track 0's colour: every element of Colour and MasteringMetadata.
    const HDR_FLAGS: [(&str, &str); 14] = [
        ("--colour-matrix-coefficients", "0:9"),
        ("--colour-bits-per-channel", "0:10"),
        ("--chroma-subsample", "0:1,1"),
        ("--cb-subsample", "0:1,0"),
        ("--chroma-siting", "0:1,2"),
        ("--colour-range", "0:1"),
        ("--colour-transfer-characteristics", "0:16"),
        ("--colour-primaries", "0:9"),
        ("--max-content-light", "0:1000"),
        ("--max-frame-light", "0:400"),
        (
            "--chromaticity-coordinates",
            "0:0.708,0.292,0.170,0.797,0.131,0.046",
        ),
        ("--white-colour-coordinates", "0:0.3127,0.3290"),
        ("--max-luminance", "0:1000"),
        ("--min-luminance", "0:0.005"),
    ];
    if !tool("mkvmerge") || !tool("mkvinfo") {
        return;
    }
    let path = scratch_dir("dump-colour").join("hdr.mkv");
    let out = std::process::Command::new("mkvmerge")
        .arg("-o")
        .arg(&path)
        .args(HDR_FLAGS.iter().flat_map(|(flag, value)| [flag, value]))
        .arg(testdata_path("source/clip-h264.mkv"))
        .output()
        .expect("mkvmerge runs");
    assert!(out.status.success(), "{}", text(&out.stdout));
    let (lines, out) = dump_json(&path.display().to_string());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let found = colour_as_mkvinfo_lists_it(&path, &lines);
    let mut all: Vec<&str> = COLOUR_ELEMENTS.iter().map(|c| c.0).collect();
    let mut found: Vec<&str> = found.iter().map(String::as_str).collect();
    all.sort_unstable();
    found.sort_unstable();
    assert_eq!(found, all);
    compare_with_mkvinfo(&path);
}

// ------------------------------------------------------------ text and JSON

/// One line of the text tree, read back.
struct TextLine {
    /// "element", "end", "end-incomplete".
    kind: &'static str,
    name: String,
    /// The offset of an element, the end of an end.
    at: Option<u64>,
    header: Option<u64>,
    size: Option<u64>,
    depth: usize,
}

fn parse_text(line: &str) -> TextLine {
    let trimmed = line.trim_start_matches(' ');
    let depth = (line.len() - trimmed.len()) / 2;
    let mut words = trimmed.split(' ');
    let first = words.next().unwrap();
    let fields: HashMap<&str, &str> = words.filter_map(|w| w.split_once('=')).collect();
    let num = |k: &str| fields.get(k).and_then(|v| v.parse().ok());
    if let Some(name) = first.strip_prefix('/') {
        let complete = !trimmed.ends_with(" incomplete");
        return TextLine {
            kind: if complete { "end" } else { "end-incomplete" },
            name: name.into(),
            at: num("end"),
            header: None,
            size: None,
            depth,
        };
    }
    assert!(
        fields.contains_key("id") && fields.contains_key("size"),
        "{line}"
    );
    TextLine {
        kind: "element",
        name: first.into(),
        at: num("offset"),
        header: num("header"),
        size: num("size"),
        depth,
    }
}

#[test]
fn json_lines_parse_and_list_what_the_text_lists() {
    for file in ["sample.mkv", "truncated.mkv", "laced_audio.mkv"] {
        let path = testdata_path(file);
        let text_out = run(bin().args(["dump", &path]));
        let json_out = run(bin().args(["dump", "--json", &path]));
        assert_eq!(text_out.status.code(), json_out.status.code(), "{file}");
        let json: Vec<Value> = text(&json_out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{file}: {l:?}: {e}")))
            .collect();
        let text_lines: Vec<String> = text(&text_out.stdout).lines().map(String::from).collect();
        assert!(json.len() > 100, "{file}");
        assert_eq!(json.len(), text_lines.len(), "{file}");
        for (v, line) in json.iter().zip(&text_lines) {
            match kind(v) {
                "start" | "leaf" => {
                    let t = parse_text(line);
                    assert_eq!(t.kind, "element", "{line}");
                    assert_eq!(t.name, v["name"].as_str().unwrap(), "{line}");
                    assert_eq!(t.at, v["offset"].as_u64(), "{line}");
                    assert_eq!(t.header, v["header_size"].as_u64(), "{line}");
                    assert_eq!(t.size, v["data_size"].as_u64(), "{line}");
                    if v["data_size"].is_null() {
                        assert!(line.contains(" size=unknown"), "{line}");
                    }
                    assert_eq!(t.depth as u64, v["depth"].as_u64().unwrap(), "{line}");
                    assert!(line.contains(&format!(" id={} ", v["id"].as_str().unwrap())));
                }
                "end" => {
                    let t = parse_text(line);
                    let complete = v["complete"].as_bool().unwrap();
                    assert_eq!(t.kind, if complete { "end" } else { "end-incomplete" });
                    assert_eq!(t.name, v["name"].as_str().unwrap(), "{line}");
                    assert_eq!(t.at, v["end"].as_u64(), "{line}");
                    assert_eq!(t.depth as u64, v["depth"].as_u64().unwrap(), "{line}");
                }
                "error" => {
                    let at = format!("!! damage at {}: ", v["offset"]);
                    assert!(line.starts_with(&at), "{line} for {v}");
                }
                other => panic!("kind {other}"),
            }
        }
    }
}

// ------------------------------------------------------------ damage

/// The offsets mkvinfo gives the Clusters and Simple blocks of a file.
fn mkvinfo_offsets(path: &Path, label: &str) -> Vec<u64> {
    mkvinfo(path)
        .elements
        .iter()
        .filter(|e| e.label == label)
        .map(|e| e.offset)
        .collect()
}

fn cluster_starts(lines: &[Value]) -> Vec<u64> {
    lines
        .iter()
        .filter(|v| kind(v) == "start" && v["name"] == "Cluster")
        .map(|v| v["offset"].as_u64().unwrap())
        .collect()
}

/// Four junk bytes before the second block of the first Cluster (one of
/// known size, in sample.mkv; one of unknown size, in producer_sdk.mkv):
/// the damage is reported where the junk is, and the Clusters of the later
/// chunks are listed where they now are, in both text and JSON.
#[test]
fn damage_junk_bytes_reported_at_their_offset_and_later_clusters_listed() {
    if !tool("mkvinfo") {
        return;
    }
    let dir = scratch_dir("dump-junk");
    for file in ["sample.mkv", "producer_sdk.mkv"] {
        let original = Path::new(&testdata_path(file)).to_path_buf();
        let blocks = mkvinfo_offsets(&original, "Simple block");
        let clusters = mkvinfo_offsets(&original, "Cluster");
        assert!(clusters.len() >= 3, "{file}: {clusters:?}");
        let at = blocks[1];
        assert!(clusters[0] < at && at < clusters[1], "{file}");
        let bytes = std::fs::read(&original).unwrap();
        let mut damaged = bytes[..at as usize].to_vec();
        damaged.extend_from_slice(&[0, 0, 0, 0]);
        damaged.extend_from_slice(&bytes[at as usize..]);
        let path = dir.join(file);
        std::fs::write(&path, &damaged).unwrap();
        let path = path.display().to_string();

        let (lines, out) = dump_json(&path);
        assert_eq!(out.status.code(), Some(1), "{file}: {}", text(&out.stderr));
        let errors: Vec<&Value> = lines.iter().filter(|v| kind(v) == "error").collect();
        assert_eq!(errors.len(), 1, "{file}: {errors:?}");
        assert_eq!(errors[0]["offset"].as_u64(), Some(at), "{file}");
        assert_eq!(errors[0]["message"], "invalid element ID", "{file}");
        // Read on at the next chunk's EBML header, where mkvinfo's reading
        // of the original has its next error (+4).
        let next_chunk = mkvinfo(&original).skipped[0].0 + 4;
        assert_eq!(errors[0]["skipped"].as_u64(), Some(next_chunk - at));
        let mut expected = vec![clusters[0]];
        expected.extend(clusters[1..].iter().map(|c| c + 4));
        assert_eq!(cluster_starts(&lines), expected, "{file}");
        // The blocks before the junk are there, and the error comes after
        // them, in file order.
        let error_index = lines.iter().position(|v| kind(v) == "error").unwrap();
        assert!(lines[..error_index]
            .iter()
            .any(|v| v["offset"].as_u64() == Some(blocks[0])));

        // The same in text: the damage line in the tree, and on stderr.
        let out = run(bin().args(["dump", &path]));
        assert_eq!(out.status.code(), Some(1));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains(&format!(
                "!! damage at {at}: invalid element ID; {} bytes skipped to the EBML header at {next_chunk}\n",
                next_chunk - at
            )),
            "{stdout}"
        );
        assert!(text(&out.stderr).contains(&format!("invalid element ID at byte {at}")));
        for c in &expected {
            assert!(stdout.contains(&format!("  Cluster id=0x1F43B675 offset={c} ")));
        }
    }
}

/// A file cut in the middle of a block: the cut is reported at the block
/// mkvinfo lists there, the open elements end `incomplete` where the input
/// did.
#[test]
fn damage_truncated_input_reported_at_the_cut_element() {
    if !tool("mkvinfo") {
        return;
    }
    let original = Path::new(&testdata_path("sample.mkv")).to_path_buf();
    let blocks = mkvinfo_offsets(&original, "Simple block");
    let cut = blocks[5] + 50;
    let bytes = std::fs::read(&original).unwrap();
    let path = scratch_dir("dump-cut").join("cut.mkv");
    std::fs::write(&path, &bytes[..cut as usize]).unwrap();
    let (lines, out) = dump_json(&path.display().to_string());
    assert_eq!(out.status.code(), Some(1));
    let last = lines.last().unwrap();
    assert_eq!(last["kind"], "error");
    assert_eq!(last["offset"].as_u64(), Some(blocks[5]), "{last}");
    assert_eq!(last["message"], "input ended inside SimpleBlock (0xA3)");
    let ends: Vec<&Value> = lines.iter().filter(|v| kind(v) == "end").collect();
    let cut_ends: Vec<(&str, u64)> = ends
        .iter()
        .filter(|v| v["complete"] == false)
        .map(|v| (v["name"].as_str().unwrap(), v["end"].as_u64().unwrap()))
        .collect();
    assert_eq!(cut_ends, [("Cluster", cut), ("Segment", cut)]);
    // Every block before the cut is listed.
    for b in &blocks[..=5] {
        assert!(lines.iter().any(|v| v["offset"].as_u64() == Some(*b)));
    }
}

/// testdata/error_tag.mkv: mkvinfo (74.0 here) fails to resynchronize at
/// the second chunk and lists nothing after it; dump lists that chunk, its
/// EBML header where mkvinfo saw the error, and its Tags.
#[test]
fn dump_reads_on_where_mkvinfo_stops() {
    if !tool("mkvinfo") {
        return;
    }
    let path = Path::new(&testdata_path("error_tag.mkv")).to_path_buf();
    let info = mkvinfo(&path);
    let (error_at, _) = info.skipped[0];
    if info.resync_failed {
        assert!(info.elements.iter().all(|e| e.offset < error_at));
        eprintln!("mkvinfo stops at {error_at}");
    }
    let (lines, out) = dump_json(&path.display().to_string());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after: Vec<&str> = lines
        .iter()
        .filter(|v| kind(v) == "start" && v["offset"].as_u64().unwrap() >= error_at)
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        after,
        [
            "EBML",
            "Segment",
            "Info",
            "Tags",
            "Tag",
            "SimpleTag",
            "SimpleTag"
        ]
    );
    let ebml = lines
        .iter()
        .find(|v| v["name"] == "EBML" && v["offset"].as_u64() == Some(error_at));
    assert!(ebml.is_some(), "no EBML header at {error_at}");
}

// ------------------------------------------------------------ input

/// Elements are printed as they are read: the first chunk's Cluster is on
/// standard output while the rest of the input has not been written.
#[test]
fn dump_prints_as_it_reads_from_a_pipe() {
    let bytes = std::fs::read(testdata_path("sample.mkv")).unwrap();
    let mut child = bin()
        .args(["dump", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The first 4000 bytes: the first Cluster's header and first block.
    stdin.write_all(&bytes[..4000]).unwrap();
    stdin.flush().unwrap();
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("SimpleBlock")) {
        let line = rx
            .recv_timeout(HANG_GUARD)
            .expect("a line before the input ends");
        seen.push(line);
    }
    assert!(seen.iter().any(|l| l.starts_with("  Cluster ")), "{seen:?}");
    stdin.write_all(&bytes[4000..]).unwrap();
    drop(stdin);
    let out = wait_output(child);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rest: Vec<String> = rx.iter().collect();
    let all = [seen, rest].concat().join("\n") + "\n";
    // The same as from the file.
    let from_file = run(bin().args(["dump", &testdata_path("sample.mkv")]));
    assert_eq!(all, text(&from_file.stdout));
}

#[test]
fn dump_missing_file_is_exit_2_naming_the_path() {
    let out = run(bin().args(["dump", "/nonexistent/kvs-mkv-dump.mkv"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/nonexistent/kvs-mkv-dump.mkv"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    // An empty input holds no Matroska data: 1, as for inspect.
    let empty = scratch_dir("dump-empty").join("empty.mkv");
    std::fs::write(&empty, b"").unwrap();
    let out = run(bin().args(["dump", "--json", &empty.display().to_string()]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no Matroska data"),
        "{}",
        text(&out.stderr)
    );
}
