//! Element IDs of EBML and Matroska, and the schema facts the decoder needs:
//! each element's parent and whether it is a master (container) element.
//!
//! The **unknown-size rule** lives here ([`may_contain`]): an element of
//! unknown size ends where an element appears that cannot be its child.

#![allow(missing_docs)] // the constant names are the Matroska element names

pub const EBML: u32 = 0x1A45_DFA3;
pub const EBML_VERSION: u32 = 0x4286;
pub const EBML_READ_VERSION: u32 = 0x42F7;
pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
pub const DOC_TYPE: u32 = 0x4282;
pub const DOC_TYPE_VERSION: u32 = 0x4287;
pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;

pub const VOID: u32 = 0xEC;
pub const CRC32: u32 = 0xBF;

pub const SEGMENT: u32 = 0x1853_8067;
pub const SEEK_HEAD: u32 = 0x114D_9B74;
pub const SEEK: u32 = 0x4DBB;
pub const SEEK_ID: u32 = 0x53AB;
pub const SEEK_POSITION: u32 = 0x53AC;

pub const INFO: u32 = 0x1549_A966;
pub const TIMECODE_SCALE: u32 = 0x2A_D7B1;
pub const DURATION: u32 = 0x4489;
pub const DATE_UTC: u32 = 0x4461;
pub const TITLE: u32 = 0x7BA9;
pub const MUXING_APP: u32 = 0x4D80;
pub const WRITING_APP: u32 = 0x5741;
pub const SEGMENT_UID: u32 = 0x73A4;

pub const TRACKS: u32 = 0x1654_AE6B;
pub const TRACK_ENTRY: u32 = 0xAE;
pub const TRACK_NUMBER: u32 = 0xD7;
pub const TRACK_UID: u32 = 0x73C5;
pub const TRACK_TYPE: u32 = 0x83;
pub const FLAG_ENABLED: u32 = 0xB9;
pub const FLAG_DEFAULT: u32 = 0x88;
pub const FLAG_FORCED: u32 = 0x55AA;
pub const FLAG_LACING: u32 = 0x9C;
pub const DEFAULT_DURATION: u32 = 0x23_E383;
pub const NAME: u32 = 0x536E;
pub const LANGUAGE: u32 = 0x22_B59C;
pub const CODEC_ID: u32 = 0x86;
pub const CODEC_PRIVATE: u32 = 0x63A2;
pub const CODEC_NAME: u32 = 0x25_8688;
pub const CODEC_DELAY: u32 = 0x56AA;
pub const SEEK_PRE_ROLL: u32 = 0x56BB;
pub const VIDEO: u32 = 0xE0;
pub const PIXEL_WIDTH: u32 = 0xB0;
pub const PIXEL_HEIGHT: u32 = 0xBA;
pub const DISPLAY_WIDTH: u32 = 0x54B0;
pub const DISPLAY_HEIGHT: u32 = 0x54BA;
pub const COLOUR: u32 = 0x55B0;
pub const MATRIX_COEFFICIENTS: u32 = 0x55B1;
pub const BITS_PER_CHANNEL: u32 = 0x55B2;
pub const CHROMA_SUBSAMPLING_HORZ: u32 = 0x55B3;
pub const CHROMA_SUBSAMPLING_VERT: u32 = 0x55B4;
pub const CB_SUBSAMPLING_HORZ: u32 = 0x55B5;
pub const CB_SUBSAMPLING_VERT: u32 = 0x55B6;
pub const CHROMA_SITING_HORZ: u32 = 0x55B7;
pub const CHROMA_SITING_VERT: u32 = 0x55B8;
pub const RANGE: u32 = 0x55B9;
pub const TRANSFER_CHARACTERISTICS: u32 = 0x55BA;
pub const PRIMARIES: u32 = 0x55BB;
pub const MAX_CLL: u32 = 0x55BC;
pub const MAX_FALL: u32 = 0x55BD;
pub const MASTERING_METADATA: u32 = 0x55D0;
pub const PRIMARY_R_CHROMATICITY_X: u32 = 0x55D1;
pub const PRIMARY_R_CHROMATICITY_Y: u32 = 0x55D2;
pub const PRIMARY_G_CHROMATICITY_X: u32 = 0x55D3;
pub const PRIMARY_G_CHROMATICITY_Y: u32 = 0x55D4;
pub const PRIMARY_B_CHROMATICITY_X: u32 = 0x55D5;
pub const PRIMARY_B_CHROMATICITY_Y: u32 = 0x55D6;
pub const WHITE_POINT_CHROMATICITY_X: u32 = 0x55D7;
pub const WHITE_POINT_CHROMATICITY_Y: u32 = 0x55D8;
pub const LUMINANCE_MAX: u32 = 0x55D9;
pub const LUMINANCE_MIN: u32 = 0x55DA;
pub const AUDIO: u32 = 0xE1;
pub const SAMPLING_FREQUENCY: u32 = 0xB5;
pub const OUTPUT_SAMPLING_FREQUENCY: u32 = 0x78B5;
pub const CHANNELS: u32 = 0x9F;
pub const BIT_DEPTH: u32 = 0x6264;
pub const CONTENT_ENCODINGS: u32 = 0x6D80;

pub const CLUSTER: u32 = 0x1F43_B675;
pub const TIMECODE: u32 = 0xE7;
pub const SILENT_TRACKS: u32 = 0x5854;
pub const POSITION: u32 = 0xA7;
pub const PREV_SIZE: u32 = 0xAB;
pub const SIMPLE_BLOCK: u32 = 0xA3;
pub const BLOCK_GROUP: u32 = 0xA0;
pub const BLOCK: u32 = 0xA1;
pub const BLOCK_ADDITIONS: u32 = 0x75A1;
pub const BLOCK_DURATION: u32 = 0x9B;
pub const REFERENCE_PRIORITY: u32 = 0xFA;
pub const REFERENCE_BLOCK: u32 = 0xFB;
pub const CODEC_STATE: u32 = 0xA4;
pub const DISCARD_PADDING: u32 = 0x75A2;
pub const ENCRYPTED_BLOCK: u32 = 0xAF;

pub const CUES: u32 = 0x1C53_BB6B;
pub const CUE_POINT: u32 = 0xBB;
pub const CUE_TIME: u32 = 0xB3;
pub const CUE_TRACK_POSITIONS: u32 = 0xB7;
pub const CUE_TRACK: u32 = 0xF7;
pub const CUE_CLUSTER_POSITION: u32 = 0xF1;
pub const CUE_RELATIVE_POSITION: u32 = 0xF0;
pub const CUE_BLOCK_NUMBER: u32 = 0x5378;

pub const ATTACHMENTS: u32 = 0x1941_A469;
pub const CHAPTERS: u32 = 0x1043_A770;

pub const TAGS: u32 = 0x1254_C367;
pub const TAG: u32 = 0x7373;
pub const TARGETS: u32 = 0x63C0;
pub const TARGET_TYPE_VALUE: u32 = 0x68CA;
pub const TARGET_TYPE: u32 = 0x63CA;
pub const TAG_TRACK_UID: u32 = 0x63C5;
pub const SIMPLE_TAG: u32 = 0x67C8;
pub const TAG_NAME: u32 = 0x45A3;
pub const TAG_LANGUAGE: u32 = 0x447A;
pub const TAG_DEFAULT: u32 = 0x4484;
pub const TAG_STRING: u32 = 0x4487;
pub const TAG_BINARY: u32 = 0x4485;

/// What the schema knows about an element ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementInfo {
    /// The Matroska name, for error messages.
    pub name: &'static str,
    /// The element that must contain it; `None` for top-level elements
    /// (EBML header, Segment) and for the global ones (Void, CRC-32).
    pub parent: Option<u32>,
    /// A master element (a container of other elements).
    pub master: bool,
}

const fn e(name: &'static str, parent: u32, master: bool) -> ElementInfo {
    ElementInfo {
        name,
        parent: Some(parent),
        master,
    }
}

/// The schema entry of `id`, or `None` for an ID this crate does not know.
#[inline]
pub fn info(id: u32) -> Option<ElementInfo> {
    let top = |name| ElementInfo {
        name,
        parent: None,
        master: true,
    };
    Some(match id {
        EBML => top("EBML"),
        SEGMENT => top("Segment"),
        VOID => ElementInfo {
            name: "Void",
            parent: None,
            master: false,
        },
        CRC32 => ElementInfo {
            name: "CRC-32",
            parent: None,
            master: false,
        },
        EBML_VERSION => e("EBMLVersion", EBML, false),
        EBML_READ_VERSION => e("EBMLReadVersion", EBML, false),
        EBML_MAX_ID_LENGTH => e("EBMLMaxIDLength", EBML, false),
        EBML_MAX_SIZE_LENGTH => e("EBMLMaxSizeLength", EBML, false),
        DOC_TYPE => e("DocType", EBML, false),
        DOC_TYPE_VERSION => e("DocTypeVersion", EBML, false),
        DOC_TYPE_READ_VERSION => e("DocTypeReadVersion", EBML, false),

        SEEK_HEAD => e("SeekHead", SEGMENT, true),
        SEEK => e("Seek", SEEK_HEAD, true),
        SEEK_ID => e("SeekID", SEEK, false),
        SEEK_POSITION => e("SeekPosition", SEEK, false),
        INFO => e("Info", SEGMENT, true),
        TIMECODE_SCALE => e("TimestampScale", INFO, false),
        DURATION => e("Duration", INFO, false),
        DATE_UTC => e("DateUTC", INFO, false),
        TITLE => e("Title", INFO, false),
        MUXING_APP => e("MuxingApp", INFO, false),
        WRITING_APP => e("WritingApp", INFO, false),
        SEGMENT_UID => e("SegmentUUID", INFO, false),

        TRACKS => e("Tracks", SEGMENT, true),
        TRACK_ENTRY => e("TrackEntry", TRACKS, true),
        TRACK_NUMBER => e("TrackNumber", TRACK_ENTRY, false),
        TRACK_UID => e("TrackUID", TRACK_ENTRY, false),
        TRACK_TYPE => e("TrackType", TRACK_ENTRY, false),
        FLAG_ENABLED => e("FlagEnabled", TRACK_ENTRY, false),
        FLAG_DEFAULT => e("FlagDefault", TRACK_ENTRY, false),
        FLAG_FORCED => e("FlagForced", TRACK_ENTRY, false),
        FLAG_LACING => e("FlagLacing", TRACK_ENTRY, false),
        DEFAULT_DURATION => e("DefaultDuration", TRACK_ENTRY, false),
        NAME => e("Name", TRACK_ENTRY, false),
        LANGUAGE => e("Language", TRACK_ENTRY, false),
        CODEC_ID => e("CodecID", TRACK_ENTRY, false),
        CODEC_PRIVATE => e("CodecPrivate", TRACK_ENTRY, false),
        CODEC_NAME => e("CodecName", TRACK_ENTRY, false),
        CODEC_DELAY => e("CodecDelay", TRACK_ENTRY, false),
        SEEK_PRE_ROLL => e("SeekPreRoll", TRACK_ENTRY, false),
        CONTENT_ENCODINGS => e("ContentEncodings", TRACK_ENTRY, true),
        VIDEO => e("Video", TRACK_ENTRY, true),
        PIXEL_WIDTH => e("PixelWidth", VIDEO, false),
        PIXEL_HEIGHT => e("PixelHeight", VIDEO, false),
        DISPLAY_WIDTH => e("DisplayWidth", VIDEO, false),
        DISPLAY_HEIGHT => e("DisplayHeight", VIDEO, false),
        COLOUR => e("Colour", VIDEO, true),
        MATRIX_COEFFICIENTS => e("MatrixCoefficients", COLOUR, false),
        BITS_PER_CHANNEL => e("BitsPerChannel", COLOUR, false),
        CHROMA_SUBSAMPLING_HORZ => e("ChromaSubsamplingHorz", COLOUR, false),
        CHROMA_SUBSAMPLING_VERT => e("ChromaSubsamplingVert", COLOUR, false),
        CB_SUBSAMPLING_HORZ => e("CbSubsamplingHorz", COLOUR, false),
        CB_SUBSAMPLING_VERT => e("CbSubsamplingVert", COLOUR, false),
        CHROMA_SITING_HORZ => e("ChromaSitingHorz", COLOUR, false),
        CHROMA_SITING_VERT => e("ChromaSitingVert", COLOUR, false),
        RANGE => e("Range", COLOUR, false),
        TRANSFER_CHARACTERISTICS => e("TransferCharacteristics", COLOUR, false),
        PRIMARIES => e("Primaries", COLOUR, false),
        MAX_CLL => e("MaxCLL", COLOUR, false),
        MAX_FALL => e("MaxFALL", COLOUR, false),
        MASTERING_METADATA => e("MasteringMetadata", COLOUR, true),
        PRIMARY_R_CHROMATICITY_X => e("PrimaryRChromaticityX", MASTERING_METADATA, false),
        PRIMARY_R_CHROMATICITY_Y => e("PrimaryRChromaticityY", MASTERING_METADATA, false),
        PRIMARY_G_CHROMATICITY_X => e("PrimaryGChromaticityX", MASTERING_METADATA, false),
        PRIMARY_G_CHROMATICITY_Y => e("PrimaryGChromaticityY", MASTERING_METADATA, false),
        PRIMARY_B_CHROMATICITY_X => e("PrimaryBChromaticityX", MASTERING_METADATA, false),
        PRIMARY_B_CHROMATICITY_Y => e("PrimaryBChromaticityY", MASTERING_METADATA, false),
        WHITE_POINT_CHROMATICITY_X => e("WhitePointChromaticityX", MASTERING_METADATA, false),
        WHITE_POINT_CHROMATICITY_Y => e("WhitePointChromaticityY", MASTERING_METADATA, false),
        LUMINANCE_MAX => e("LuminanceMax", MASTERING_METADATA, false),
        LUMINANCE_MIN => e("LuminanceMin", MASTERING_METADATA, false),
        AUDIO => e("Audio", TRACK_ENTRY, true),
        SAMPLING_FREQUENCY => e("SamplingFrequency", AUDIO, false),
        OUTPUT_SAMPLING_FREQUENCY => e("OutputSamplingFrequency", AUDIO, false),
        CHANNELS => e("Channels", AUDIO, false),
        BIT_DEPTH => e("BitDepth", AUDIO, false),

        CLUSTER => e("Cluster", SEGMENT, true),
        TIMECODE => e("Timestamp", CLUSTER, false),
        SILENT_TRACKS => e("SilentTracks", CLUSTER, true),
        POSITION => e("Position", CLUSTER, false),
        PREV_SIZE => e("PrevSize", CLUSTER, false),
        SIMPLE_BLOCK => e("SimpleBlock", CLUSTER, false),
        BLOCK_GROUP => e("BlockGroup", CLUSTER, true),
        ENCRYPTED_BLOCK => e("EncryptedBlock", CLUSTER, false),
        BLOCK => e("Block", BLOCK_GROUP, false),
        BLOCK_ADDITIONS => e("BlockAdditions", BLOCK_GROUP, true),
        BLOCK_DURATION => e("BlockDuration", BLOCK_GROUP, false),
        REFERENCE_PRIORITY => e("ReferencePriority", BLOCK_GROUP, false),
        REFERENCE_BLOCK => e("ReferenceBlock", BLOCK_GROUP, false),
        CODEC_STATE => e("CodecState", BLOCK_GROUP, false),
        DISCARD_PADDING => e("DiscardPadding", BLOCK_GROUP, false),

        CUES => e("Cues", SEGMENT, true),
        CUE_POINT => e("CuePoint", CUES, true),
        CUE_TIME => e("CueTime", CUE_POINT, false),
        CUE_TRACK_POSITIONS => e("CueTrackPositions", CUE_POINT, true),
        CUE_TRACK => e("CueTrack", CUE_TRACK_POSITIONS, false),
        CUE_CLUSTER_POSITION => e("CueClusterPosition", CUE_TRACK_POSITIONS, false),
        CUE_RELATIVE_POSITION => e("CueRelativePosition", CUE_TRACK_POSITIONS, false),
        CUE_BLOCK_NUMBER => e("CueBlockNumber", CUE_TRACK_POSITIONS, false),

        ATTACHMENTS => e("Attachments", SEGMENT, true),
        CHAPTERS => e("Chapters", SEGMENT, true),

        TAGS => e("Tags", SEGMENT, true),
        TAG => e("Tag", TAGS, true),
        TARGETS => e("Targets", TAG, true),
        TARGET_TYPE_VALUE => e("TargetTypeValue", TARGETS, false),
        TARGET_TYPE => e("TargetType", TARGETS, false),
        TAG_TRACK_UID => e("TagTrackUID", TARGETS, false),
        // SimpleTag may also nest inside SimpleTag; see `may_contain`.
        SIMPLE_TAG => e("SimpleTag", TAG, true),
        TAG_NAME => e("TagName", SIMPLE_TAG, false),
        TAG_LANGUAGE => e("TagLanguage", SIMPLE_TAG, false),
        TAG_DEFAULT => e("TagDefault", SIMPLE_TAG, false),
        TAG_STRING => e("TagString", SIMPLE_TAG, false),
        TAG_BINARY => e("TagBinary", SIMPLE_TAG, false),
        _ => return None,
    })
}

/// Whether an element `child` may stand inside `parent`: the unknown-size rule.
///
/// Void and CRC-32 may stand anywhere and so close nothing. The EBML header
/// and Segment are top-level and close everything. An ID this crate does not
/// know is taken as a child of whatever it appears in (it is skipped), except
/// inside a Segment or a Cluster, whose children are all known: there it is
/// not a child, which is what lets damage be seen.
///
/// ```
/// use kvs_mkv::matroska::ids::{may_contain, CLUSTER, SEGMENT, SIMPLE_BLOCK, TAGS, VOID};
/// assert!(may_contain(CLUSTER, SIMPLE_BLOCK));
/// assert!(may_contain(CLUSTER, VOID));
/// assert!(!may_contain(CLUSTER, TAGS)); // Tags after a Cluster close it
/// assert!(may_contain(SEGMENT, TAGS));
/// ```
pub fn may_contain(parent: u32, child: u32) -> bool {
    may_contain_known(parent, child, info(child).map(|i| i.parent))
}

/// [`may_contain`], given what [`info`] says of `child`'s parent
/// (`schema`: `None` for an ID it does not know).
#[inline]
pub(crate) fn may_contain_known(parent: u32, child: u32, schema: Option<Option<u32>>) -> bool {
    match schema {
        Some(None) => child == VOID || child == CRC32,
        Some(Some(p)) => p == parent || (child == SIMPLE_TAG && parent == SIMPLE_TAG),
        None => parent != SEGMENT && parent != CLUSTER,
    }
}

/// Whether `id` is a master element whose size may be unknown.
pub fn is_master(id: u32) -> bool {
    info(id).is_some_and(|i| i.master)
}
