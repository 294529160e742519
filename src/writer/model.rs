//! [`ChunkModel`]: what a chunk to write holds, and how a decoded [`Chunk`]
//! turns into one.

use crate::kvs::names;
use crate::{AwsTags, Chunk, Frame, Tag, TagPosition, TagValue, Text, Track};

/// A chunk to write: tracks, the AWS tags as typed values, the producer's
/// own tags, and frames.
///
/// The AWS tags are values, not tag elements, because where and how they
/// are written depends on the [`Layout`](super::Layout) (which tag names,
/// which size fields, whether the GetMedia trailer exists at all). Every
/// other tag is in [`tags`](Self::tags), written in order.
///
/// ```
/// use bytes::Bytes;
/// use kvs_mkv::writer::ChunkModel;
/// use kvs_mkv::{Frame, TagPosition, TagValue, Track, TrackType};
///
/// let mut track = Track::default();
/// track.number = 1;
/// track.track_type = Some(TrackType::Video);
/// track.codec_id = "V_MPEG4/ISO/AVC".into();
///
/// let mut model = ChunkModel::new(vec![track]);
/// model.aws.fragment_number = Some("91343852333181432392682062607743920146159169392".parse().unwrap());
/// model.aws.continuation_token = Some("91343852333181432392682062607743920146159169392".into());
/// model.push_tag("ENCODER", TagValue::String("camera 7".into()), TagPosition::BeforeCluster);
/// model.frames.push(Frame::new(Bytes::from_static(b"key"), 1, 0, model.timecode_scale, true));
/// assert_eq!(model.frames.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChunkModel {
    /// TimecodeScale in nanoseconds; frame timecodes are in this unit.
    /// Default 1 000 000 (milliseconds).
    pub timecode_scale: u64,
    /// The TrackEntries. Every frame's track must be one of them.
    pub tracks: Vec<Track>,
    /// The `AWS_KINESISVIDEO_*` values; the layout decides how they are
    /// written. [`AwsTags::invalid`] is not written (a decoded chunk keeps
    /// such tags in [`tags`](Self::tags) instead).
    pub aws: AwsTags,
    /// Every other SimpleTag, in order: `BeforeCluster` ones before the
    /// first Cluster, `AfterCluster` ones after the last. A tag with an AWS
    /// name here is written as given, after the typed one, so the typed value
    /// is what a decoder reads.
    pub tags: Vec<Tag>,
    /// The frames in the order they are written. `Frame::timecode()` is in
    /// [`timecode_scale`](Self::timecode_scale) units (the frame's own
    /// `timecode_scale()` is not looked at).
    pub frames: Vec<Frame>,
}

impl Default for ChunkModel {
    fn default() -> Self {
        ChunkModel {
            timecode_scale: 1_000_000,
            tracks: Vec::new(),
            aws: AwsTags::default(),
            tags: Vec::new(),
            frames: Vec::new(),
        }
    }
}

impl ChunkModel {
    /// A chunk with these tracks, millisecond timecodes, and nothing else.
    ///
    /// ```
    /// let model = kvs_mkv::writer::ChunkModel::new(Vec::new());
    /// assert_eq!(model.timecode_scale, 1_000_000);
    /// ```
    pub fn new(tracks: Vec<Track>) -> ChunkModel {
        ChunkModel {
            tracks,
            ..ChunkModel::default()
        }
    }

    /// Appends a producer tag.
    ///
    /// ```
    /// # use kvs_mkv::{writer::ChunkModel, TagPosition, TagValue};
    /// let mut model = ChunkModel::default();
    /// model.push_tag("TITLE", TagValue::String("Fahrt über die Brücke".into()), TagPosition::BeforeCluster);
    /// assert_eq!(model.tags[0].name, "TITLE");
    /// ```
    pub fn push_tag(&mut self, name: impl Into<Text>, value: TagValue, position: TagPosition) {
        self.tags.push(Tag {
            name: name.into(),
            value,
            position,
        });
    }

    /// The model of a decoded chunk: its TimecodeScale, tracks, frames (the
    /// payloads are shared, not copied), typed AWS values, and every tag the
    /// typed values do not account for. A tag is accounted for when it is
    /// the one the decoder took a typed value from: the first valid
    /// occurrence of its AWS name (either spelling, for the timestamps).
    /// Repeated or invalid AWS tags stay in `tags`, so that writing the model
    /// again gives a chunk that decodes the same.
    ///
    /// ```
    /// # fn f(chunk: &kvs_mkv::Chunk) {
    /// let model = kvs_mkv::writer::ChunkModel::from_chunk(chunk);
    /// assert_eq!(model.frames.len(), chunk.frames().len());
    /// # }
    /// ```
    pub fn from_chunk(chunk: &Chunk) -> ChunkModel {
        let info = chunk.info();
        let mut aws = info.aws.clone();
        aws.invalid.clear();
        ChunkModel {
            timecode_scale: info.timecode_scale,
            tracks: info.tracks.clone(),
            aws,
            tags: unaccounted_tags(&info.tags),
            frames: chunk.frames().to_vec(),
        }
    }
}

impl From<&Chunk> for ChunkModel {
    fn from(chunk: &Chunk) -> Self {
        ChunkModel::from_chunk(chunk)
    }
}

impl From<Chunk> for ChunkModel {
    fn from(chunk: Chunk) -> Self {
        let (info, frames, _) = chunk.into_parts();
        let mut aws = info.aws;
        aws.invalid.clear();
        ChunkModel {
            timecode_scale: info.timecode_scale,
            tags: unaccounted_tags(&info.tags),
            tracks: info.tracks,
            aws,
            frames,
        }
    }
}

/// Which typed field an AWS tag name fills.
fn aws_field(name: &str) -> Option<usize> {
    Some(match name {
        names::FRAGMENT_NUMBER => 0,
        names::SERVER_TIMESTAMP | names::SERVER_SIDE_TIMESTAMP => 1,
        names::PRODUCER_TIMESTAMP | names::PRODUCER_SIDE_TIMESTAMP => 2,
        names::MILLIS_BEHIND_NOW => 3,
        names::CONTINUATION_TOKEN => 4,
        names::ERROR_ID => 5,
        names::ERROR_CODE => 6,
        names::EXCEPTION_ERROR_CODE => 7,
        names::EXCEPTION_MESSAGE => 8,
        _ => return None,
    })
}

/// The tags the typed AWS values do not account for, in order.
fn unaccounted_tags(tags: &[Tag]) -> Vec<Tag> {
    let mut taken = [false; 9];
    tags.iter()
        .filter(|t| {
            let (Some(field), TagValue::String(value)) = (aws_field(&t.name), &t.value) else {
                return true;
            };
            if taken[field] {
                return true;
            }
            let mut probe = AwsTags::default();
            probe.apply(&t.name, value);
            let valid = probe.invalid.is_empty();
            taken[field] |= valid;
            !valid
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(name: &str, value: &str) -> Tag {
        Tag {
            name: name.into(),
            value: TagValue::String(value.into()),
            position: TagPosition::BeforeCluster,
        }
    }

    #[test]
    fn typed_values_account_for_their_first_valid_tag_only() {
        let tags = vec![
            tag(names::MILLIS_BEHIND_NOW, "soon"),
            tag(names::MILLIS_BEHIND_NOW, "15"),
            tag(names::MILLIS_BEHIND_NOW, "16"),
            tag(names::SERVER_SIDE_TIMESTAMP, "1.5"),
            tag(names::SERVER_TIMESTAMP, "2.5"),
            tag("ENCODER", "x"),
        ];
        let kept = unaccounted_tags(&tags);
        let values: Vec<&str> = kept.iter().map(|t| t.value.as_str().unwrap()).collect();
        assert_eq!(values, vec!["soon", "16", "2.5", "x"]);
    }
}
