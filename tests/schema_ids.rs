//! The schema table of `kvs_mkv::matroska::ids` checked against an
//! independent one: webm-iterable's Matroska specification (generated from
//! the Matroska and EBML schemas, a dev-dependency). Every ID constant must
//! be known to `ids::info`, and its parent and its master-ness must be what
//! the specification says.

use ebml_iterable::specs::{EbmlSpecification, PathPart, TagDataType};
use kvs_mkv::matroska::ids;
use webm_iterable::matroska_spec::MatroskaSpec;

/// `(NAME, id)` of every `pub const NAME: u32 = 0x...;` in ids.rs, read from
/// the source so that a constant added later is checked too.
fn constants() -> Vec<(String, u32)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/matroska/ids.rs");
    let source = std::fs::read_to_string(path).unwrap();
    source
        .lines()
        .filter_map(|l| l.strip_prefix("pub const "))
        .map(|l| {
            let (name, rest) = l.split_once(": u32 = 0x").unwrap();
            let hex = rest.trim_end_matches(';').replace('_', "");
            (name.to_string(), u32::from_str_radix(&hex, 16).unwrap())
        })
        .collect()
}

#[test]
fn every_id_matches_the_matroska_specification() {
    let constants = constants();
    assert!(constants.len() > 80, "{} constants read", constants.len());
    let mut wrong = Vec::new();
    for (name, id) in &constants {
        let Some(info) = ids::info(*id) else {
            wrong.push(format!("{name} (0x{id:X}): ids::info does not know it"));
            continue;
        };
        let Some(kind) = MatroskaSpec::get_tag_data_type(u64::from(*id)) else {
            wrong.push(format!("{name} (0x{id:X}): not in the specification"));
            continue;
        };
        let master = kind == TagDataType::Master;
        if info.master != master {
            wrong.push(format!(
                "{name} (0x{id:X}): master {}, the specification says {kind:?}",
                info.master
            ));
        }
        // The specification's parent: the last part of its path; none for
        // the top-level elements and for the global ones (Void, CRC-32).
        let parent = match MatroskaSpec::get_path_by_id(u64::from(*id)).last() {
            Some(PathPart::Id(p)) => Some(*p as u32),
            Some(PathPart::Global(_)) | None => None,
        };
        if info.parent != parent {
            wrong.push(format!(
                "{name} (0x{id:X}): parent {:X?}, the specification says {parent:X?}",
                info.parent
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The names ids::info gives are the specification's, up to case and
/// punctuation (webm-iterable spells `EBMLVersion` as `EbmlVersion`,
/// `CRC-32` as `Crc32`), with the names Matroska v4 renamed.
#[test]
fn names_match_the_matroska_specification() {
    let mut wrong = Vec::new();
    for (name, id) in constants() {
        let info = ids::info(id).unwrap();
        let spec = spec_name(id);
        let norm = |s: &str| {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase()
        };
        // Matroska v4 renamed SegmentUID to SegmentUUID; webm-iterable
        // keeps the old name.
        let spec = if spec == "SegmentUID" {
            "SegmentUUID".to_string()
        } else {
            spec
        };
        if norm(info.name) != norm(&spec) {
            wrong.push(format!(
                "{name} (0x{id:X}): {:?}, the specification says {spec:?}",
                info.name
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The specification's name of `id`: the variant name of its tag.
fn spec_name(id: u32) -> String {
    use ebml_iterable::specs::Master;
    let id = u64::from(id);
    let tag = match MatroskaSpec::get_tag_data_type(id).unwrap() {
        TagDataType::Master => MatroskaSpec::get_master_tag(id, Master::Start).unwrap(),
        TagDataType::UnsignedInt => MatroskaSpec::get_unsigned_int_tag(id, 0).unwrap(),
        TagDataType::Integer => MatroskaSpec::get_signed_int_tag(id, 0).unwrap(),
        TagDataType::Utf8 => MatroskaSpec::get_utf8_tag(id, String::new()).unwrap(),
        TagDataType::Binary => MatroskaSpec::get_binary_tag(id, &[]).unwrap(),
        TagDataType::Float => MatroskaSpec::get_float_tag(id, 0.0).unwrap(),
    };
    let debug = format!("{tag:?}");
    debug.split(['(', ' ', '{']).next().unwrap().to_string()
}
