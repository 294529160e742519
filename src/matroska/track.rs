use bytes::Bytes;

use crate::ebml::{self, ValueError};
use crate::matroska::ids;
use crate::text::{Text, TextArena};

/// One TrackEntry of a chunk's Tracks element.
///
/// ```
/// # use kvs_mkv::{Track, TrackType};
/// let mut t = Track::default();
/// t.number = 1;
/// t.track_type = Some(TrackType::from_value(1));
/// assert_eq!(t.track_type.unwrap().as_str(), "video");
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Track {
    /// TrackNumber: what blocks refer to.
    pub number: u64,
    /// TrackUID.
    pub uid: Option<u64>,
    /// TrackType.
    pub track_type: Option<TrackType>,
    /// CodecID, trailing NULs removed (e.g. `V_MPEG4/ISO/AVC`).
    pub codec_id: Text,
    /// CodecPrivate: a view into the input, not a copy.
    pub codec_private: Option<Bytes>,
    /// Name.
    pub name: Option<Text>,
    /// Language.
    pub language: Option<Text>,
    /// DefaultDuration in nanoseconds.
    pub default_duration_ns: Option<u64>,
    /// Video settings, when the entry has a Video element.
    pub video: Option<VideoSettings>,
    /// Audio settings, when the entry has an Audio element.
    pub audio: Option<AudioSettings>,
}

impl Track {
    /// Reads one child of a TrackEntry (or of its Video or Audio) into the
    /// field it sets: TrackNumber, TrackUID, TrackType, CodecID, Name,
    /// Language, DefaultDuration, PixelWidth, PixelHeight,
    /// SamplingFrequency, Channels, BitDepth. Other IDs (CodecPrivate, which
    /// the decoder keeps as a view of its input, included) are ignored.
    pub(crate) fn read_field(
        &mut self,
        id: u32,
        payload: &[u8],
        arena: &mut TextArena,
    ) -> Result<(), ValueError> {
        let uint = || ebml::read_uint(payload);
        let text = |arena: &mut TextArena| arena.text(ebml::strip_nuls(payload));
        match id {
            ids::TRACK_NUMBER => self.number = uint()?,
            ids::TRACK_UID => self.uid = Some(uint()?),
            ids::TRACK_TYPE => self.track_type = Some(TrackType::from_value(uint()?)),
            ids::CODEC_ID => self.codec_id = text(arena),
            ids::NAME => self.name = Some(text(arena)),
            ids::LANGUAGE => self.language = Some(text(arena)),
            ids::DEFAULT_DURATION => self.default_duration_ns = Some(uint()?),
            ids::PIXEL_WIDTH => self.video_mut().pixel_width = Some(uint()?),
            ids::PIXEL_HEIGHT => self.video_mut().pixel_height = Some(uint()?),
            ids::SAMPLING_FREQUENCY => {
                self.audio_mut().sampling_frequency = Some(ebml::read_float(payload)?)
            }
            ids::CHANNELS => self.audio_mut().channels = Some(uint()?),
            ids::BIT_DEPTH => self.audio_mut().bit_depth = Some(uint()?),
            _ => {}
        }
        Ok(())
    }

    /// The Video settings, made when the first is read (or the Video
    /// element begins).
    pub(crate) fn video_mut(&mut self) -> &mut VideoSettings {
        self.video.get_or_insert_with(VideoSettings::default)
    }

    /// The Audio settings, made when the first is read (or the Audio
    /// element begins).
    pub(crate) fn audio_mut(&mut self) -> &mut AudioSettings {
        self.audio.get_or_insert_with(AudioSettings::default)
    }
}

/// The Video element of a track; values as written (no defaults filled in).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VideoSettings {
    /// PixelWidth.
    pub pixel_width: Option<u64>,
    /// PixelHeight.
    pub pixel_height: Option<u64>,
}

/// The Audio element of a track; values as written (no defaults filled in).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct AudioSettings {
    /// SamplingFrequency in Hz.
    pub sampling_frequency: Option<f64>,
    /// Channels.
    pub channels: Option<u64>,
    /// BitDepth.
    pub bit_depth: Option<u64>,
}

/// Matroska TrackType values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackType {
    /// 1
    Video,
    /// 2
    Audio,
    /// 3
    Complex,
    /// 0x10
    Logo,
    /// 0x11
    Subtitle,
    /// 0x12
    Buttons,
    /// 0x20
    Control,
    /// 0x21
    Metadata,
    /// Any other value.
    Other(u64),
}

impl TrackType {
    /// The type for a TrackType value.
    pub fn from_value(v: u64) -> TrackType {
        match v {
            1 => TrackType::Video,
            2 => TrackType::Audio,
            3 => TrackType::Complex,
            0x10 => TrackType::Logo,
            0x11 => TrackType::Subtitle,
            0x12 => TrackType::Buttons,
            0x20 => TrackType::Control,
            0x21 => TrackType::Metadata,
            other => TrackType::Other(other),
        }
    }

    /// The TrackType value.
    pub fn value(self) -> u64 {
        match self {
            TrackType::Video => 1,
            TrackType::Audio => 2,
            TrackType::Complex => 3,
            TrackType::Logo => 0x10,
            TrackType::Subtitle => 0x11,
            TrackType::Buttons => 0x12,
            TrackType::Control => 0x20,
            TrackType::Metadata => 0x21,
            TrackType::Other(v) => v,
        }
    }

    /// Lower-case name: `"video"`, `"audio"`, `"subtitle"`, ... and `"other"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TrackType::Video => "video",
            TrackType::Audio => "audio",
            TrackType::Complex => "complex",
            TrackType::Logo => "logo",
            TrackType::Subtitle => "subtitle",
            TrackType::Buttons => "buttons",
            TrackType::Control => "control",
            TrackType::Metadata => "metadata",
            TrackType::Other(_) => "other",
        }
    }
}
