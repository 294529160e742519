//! The other direction: chunks written as a GetMedia or
//! GetMediaForFragmentList body would carry them, from [`ChunkModel`]
//! values. For test data, for fixtures, and for tools that re-serve media.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout};
//! use kvs_mkv::{Frame, Track, TrackType};
//! use tokio_util::codec::Decoder;
//!
//! let mut track = Track::default();
//! track.number = 1;
//! track.track_type = Some(TrackType::Video);
//! track.codec_id = "V_MPEG4/ISO/AVC".into();
//! let mut model = ChunkModel::new(vec![track]);
//! model.aws.fragment_number = Some("1234".parse().unwrap());
//! model.aws.continuation_token = Some("1234".into());
//! for i in 0..3 {
//!     model.frames.push(Frame::new(Bytes::from(vec![i; 100]), 1, 33 * i64::from(i), 1_000_000, i == 0));
//! }
//!
//! let body = ChunkWriter::new(Layout::Service).to_bytes(&model)?;
//! let chunk = kvs_mkv::ChunkDecoder::default()
//!     .decode_eof(&mut BytesMut::from(&body[..]))?
//!     .expect("one chunk");
//! assert_eq!(chunk.frames(), &model.frames[..]);
//! assert_eq!(chunk.continuation_token(), Some("1234"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Layouts
//!
//! | | [`Service`](Layout::Service) | [`ProducerSdk`](Layout::ProducerSdk) | [`FragmentList`](Layout::FragmentList) |
//! |---|---|---|---|
//! | Segment size | unknown, `01 FF FF FF FF FF FF FF` | unknown, `FF` | as Service |
//! | Info, Tracks, blocks | narrowest size fields | 8-byte size fields | as Service |
//! | Tags (every level) | 4-byte size fields | 8-byte size fields | as Service |
//! | Cluster | known size (8-byte field) | unknown size `FF`; 8-byte Timecode, Position 0 | as Service |
//! | strings | as given | CodecID, Name, Language, TagName, TagString NUL-padded to a multiple of 16 bytes | as given |
//! | AWS timestamps | `..._SERVER_TIMESTAMP` | as Service | spelling chosen by [`TimestampSpelling`] |
//! | trailer | MILLIS_BEHIND_NOW, CONTINUATION_TOKEN | as Service | none (the API has no trailer) |
//!
//! In every layout a chunk is: EBML header; Segment; Info (TimecodeScale);
//! Tracks; a Tags element with the `BeforeCluster` producer tags; a Tags
//! element with FRAGMENT_NUMBER, SERVER and PRODUCER timestamps; the
//! Clusters; then one Tags element with the `AfterCluster` producer tags,
//! the error tags (ERROR_CODE, ERROR_ID, EXCEPTION_ERROR_CODE,
//! EXCEPTION_MESSAGE) and the trailer, CONTINUATION_TOKEN last. Empty Tags
//! elements are left out. Absent AWS values are not written.
//!
//! Clusters: a new Cluster begins when a frame's timecode is more than an
//! `i16` away from the current Cluster's. A Cluster is written when there
//! are frames, or `AfterCluster` producer tags (an empty one then, so that
//! they decode as after the Cluster).
//!
//! Frames with a [`duration`](crate::Frame::duration) become a BlockGroup
//! (Block, BlockDuration, ReferenceBlock when not a keyframe); a Block has
//! no discardable flag, so it is lost for them. Others become SimpleBlocks,
//! laced when the writer's [`Lacing`] allows it: consecutive frames of the
//! same track, timecode and flags (and size, for fixed lacing) share a block.
//!
//! What decoding gives back: the model, except that strings lose their
//! trailing NULs (the decoder takes them for padding) and, in the
//! FragmentList layout, MILLIS_BEHIND_NOW and CONTINUATION_TOKEN are absent.

pub(crate) mod block;
pub(crate) mod element;
mod model;

use std::io::Write;

use bytes::{Bytes, BytesMut};

pub use crate::matroska::block::Lacing;
pub use model::ChunkModel;

use crate::kvs::names;
use crate::matroska::ids;
use crate::{TagPosition, TagValue, Text, Track};
use element::{Element, Segments, Size};

/// How the chunks are laid out on the wire; see the [module docs](self).
///
/// ```
/// use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout};
/// let model = ChunkModel::default();
/// let service = ChunkWriter::new(Layout::Service).to_bytes(&model).unwrap();
/// let sdk = ChunkWriter::new(Layout::ProducerSdk).to_bytes(&model).unwrap();
/// // The Segment's unknown size: 8 bytes from the service, 1 from the SDKs.
/// let segment = [0x18, 0x53, 0x80, 0x67];
/// let at = |b: &[u8]| b.windows(4).position(|w| w == segment).unwrap() + 4;
/// assert_eq!(&service[at(&service)..][..8], &[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
/// assert_eq!(sdk[at(&sdk)], 0xFF);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Layout {
    /// As the GetMedia service sends it.
    #[default]
    Service,
    /// As the producer SDKs write it (then served as is by the service).
    ProducerSdk,
    /// As GetMediaForFragmentList sends it: no trailer, and the timestamp
    /// tags in the chosen spelling.
    FragmentList(TimestampSpelling),
}

/// Which names the server and producer timestamp tags get.
///
/// ```
/// use kvs_mkv::writer::{ChunkModel, ChunkWriter, Layout, TimestampSpelling};
/// let mut model = ChunkModel::default();
/// model.aws.server_timestamp = Some("1511852109.126".parse().unwrap());
/// let body = ChunkWriter::new(Layout::FragmentList(TimestampSpelling::Side)).to_bytes(&model).unwrap();
/// let name = b"AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP";
/// assert!(body.windows(name.len()).any(|w| w == name));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampSpelling {
    /// `AWS_KINESISVIDEO_SERVER_TIMESTAMP`, `..._PRODUCER_TIMESTAMP`: what
    /// every public recording shows.
    #[default]
    Plain,
    /// `AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP`, `..._PRODUCER_SIDE_TIMESTAMP`:
    /// what the GetMediaForFragmentList API documentation names.
    Side,
}

/// Why a chunk could not be written.
///
/// ```
/// use kvs_mkv::writer::{ChunkModel, ChunkWriter, WriteError};
/// let mut model = ChunkModel::default(); // no tracks
/// model.frames.push(kvs_mkv::Frame::new(bytes::Bytes::new(), 1, 0, 1_000_000, true));
/// let err = ChunkWriter::default().to_bytes(&model).unwrap_err();
/// assert!(matches!(err, WriteError::UnknownTrack { index: 0, track: 1 }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A TimecodeScale of 0, which no decoder accepts.
    #[error("TimecodeScale of 0")]
    ZeroTimecodeScale,
    /// A frame of a track the chunk does not declare.
    #[error("frame {index} belongs to track {track}, which the chunk's Tracks do not declare")]
    UnknownTrack {
        /// Index of the frame in the model.
        index: usize,
        /// Its track number.
        track: u64,
    },
    /// A track number too large for a block header (2^56 - 1 or more).
    #[error("track number {0} is too large for a block header")]
    TrackNumberTooLarge(u64),
    /// A frame timecode below -32768, which no Cluster can hold (a Cluster
    /// timecode is unsigned, a block's offset from it an `i16`).
    #[error("frame {index}: timecode {timecode} cannot be written")]
    TimecodeOutOfRange {
        /// Index of the frame in the model.
        index: usize,
        /// Its timecode.
        timecode: i64,
    },
    /// Writing to the output failed.
    #[error("write error: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes [`ChunkModel`]s in a [`Layout`].
///
/// ```
/// use kvs_mkv::writer::{ChunkModel, ChunkWriter, Lacing, Layout, TimestampSpelling};
/// let writer = ChunkWriter::new(Layout::FragmentList(TimestampSpelling::Side)).with_lacing(Lacing::Xiph);
/// let mut body = Vec::new();
/// let models = [ChunkModel::default(), ChunkModel::default()];
/// let n = writer.write_stream(&models, &mut body).unwrap();
/// assert_eq!(n as usize, body.len());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkWriter {
    layout: Layout,
    lacing: Lacing,
}

/// The layout's choices, spelled out.
struct Style {
    doc_type_version: u64,
    segment: Size,
    head: Size,
    tags: Size,
    cluster: Size,
    blocks: Size,
    pad: Option<usize>,
    producer_cluster: bool,
    trailer: bool,
    spelling: TimestampSpelling,
}

impl Layout {
    fn style(self) -> Style {
        let service = Style {
            doc_type_version: 4,
            segment: Size::Unknown(8),
            head: Size::Minimal,
            tags: Size::Width(4),
            cluster: Size::Width(8),
            blocks: Size::Minimal,
            pad: None,
            producer_cluster: false,
            trailer: true,
            spelling: TimestampSpelling::Plain,
        };
        match self {
            Layout::Service => service,
            Layout::ProducerSdk => Style {
                doc_type_version: 2,
                segment: Size::Unknown(1),
                head: Size::Width(8),
                tags: Size::Width(8),
                cluster: Size::Unknown(1),
                blocks: Size::Width(8),
                pad: Some(16),
                producer_cluster: true,
                ..service
            },
            Layout::FragmentList(spelling) => Style {
                trailer: false,
                spelling,
                ..service
            },
        }
    }
}

impl Default for ChunkWriter {
    /// The [`Service`](Layout::Service) layout, without lacing.
    fn default() -> Self {
        ChunkWriter::new(Layout::Service)
    }
}

impl ChunkWriter {
    /// A writer for `layout`, without lacing.
    ///
    /// ```
    /// use kvs_mkv::writer::{ChunkWriter, Lacing, Layout};
    /// let w = ChunkWriter::new(Layout::ProducerSdk).with_lacing(Lacing::Ebml);
    /// assert_eq!((w.layout(), w.lacing()), (Layout::ProducerSdk, Lacing::Ebml));
    /// ```
    pub fn new(layout: Layout) -> ChunkWriter {
        ChunkWriter {
            layout,
            lacing: Lacing::None,
        }
    }

    /// The same writer, lacing frames that can share a block (see the
    /// [module docs](self)).
    ///
    /// ```
    /// use kvs_mkv::writer::{ChunkModel, ChunkWriter, Lacing};
    /// use kvs_mkv::{Frame, Track};
    /// let mut track = Track::default();
    /// track.number = 1;
    /// let mut model = ChunkModel::new(vec![track]);
    /// for _ in 0..4 {
    ///     model.frames.push(Frame::new(bytes::Bytes::from(vec![1u8; 50]), 1, 0, 1_000_000, true));
    /// }
    /// let plain = ChunkWriter::default().to_bytes(&model).unwrap();
    /// let laced = ChunkWriter::default().with_lacing(Lacing::Fixed).to_bytes(&model).unwrap();
    /// assert!(laced.len() < plain.len()); // one block header instead of four
    /// ```
    pub fn with_lacing(self, lacing: Lacing) -> ChunkWriter {
        ChunkWriter { lacing, ..self }
    }

    /// The layout.
    ///
    /// ```
    /// assert_eq!(kvs_mkv::writer::ChunkWriter::default().layout(), kvs_mkv::writer::Layout::Service);
    /// ```
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The lacing mode.
    ///
    /// ```
    /// assert_eq!(kvs_mkv::writer::ChunkWriter::default().lacing(), kvs_mkv::writer::Lacing::None);
    /// ```
    pub fn lacing(&self) -> Lacing {
        self.lacing
    }

    /// The chunk as a list of byte segments, in order. Frame payloads (of
    /// 64 bytes or more) are the model's own [`Bytes`], not copies: hand
    /// the list to a vectored write, or concatenate it.
    ///
    /// ```
    /// # use kvs_mkv::writer::{ChunkModel, ChunkWriter};
    /// # use kvs_mkv::{Frame, Track};
    /// let mut track = Track::default();
    /// track.number = 1;
    /// let mut model = ChunkModel::new(vec![track]);
    /// let payload = bytes::Bytes::from(vec![0u8; 4096]);
    /// model.frames.push(Frame::new(payload.clone(), 1, 0, 1_000_000, true));
    /// let segments = ChunkWriter::default().segments(&model).unwrap();
    /// assert!(segments.iter().any(|s| s.as_ptr() == payload.as_ptr()));
    /// ```
    pub fn segments(&self, model: &ChunkModel) -> Result<Vec<Bytes>, WriteError> {
        let mut out = Segments::default();
        for e in self.elements(model)? {
            e.write(&mut out);
        }
        Ok(out.finish())
    }

    /// The chunk in one buffer (the payloads are copied into it).
    ///
    /// ```
    /// let body = kvs_mkv::writer::ChunkWriter::default()
    ///     .to_bytes(&kvs_mkv::writer::ChunkModel::default())
    ///     .unwrap();
    /// assert_eq!(&body[..4], &[0x1A, 0x45, 0xDF, 0xA3]); // the EBML header
    /// ```
    pub fn to_bytes(&self, model: &ChunkModel) -> Result<Bytes, WriteError> {
        let segments = self.segments(model)?;
        let mut buf = BytesMut::with_capacity(segments.iter().map(Bytes::len).sum());
        for s in segments {
            buf.extend_from_slice(&s);
        }
        Ok(buf.freeze())
    }

    /// Writes the chunk to `out`; returns the bytes written.
    ///
    /// ```
    /// let mut file = Vec::new(); // or a File, a socket, ...
    /// let n = kvs_mkv::writer::ChunkWriter::default()
    ///     .write_to(&kvs_mkv::writer::ChunkModel::default(), &mut file)
    ///     .unwrap();
    /// assert_eq!(n as usize, file.len());
    /// ```
    pub fn write_to<W: Write + ?Sized>(
        &self,
        model: &ChunkModel,
        out: &mut W,
    ) -> Result<u64, WriteError> {
        let mut n = 0;
        for s in self.segments(model)? {
            out.write_all(&s)?;
            n += s.len() as u64;
        }
        Ok(n)
    }

    /// Writes chunks one after another, as a response body holds them;
    /// returns the bytes written.
    ///
    /// ```
    /// use kvs_mkv::writer::{ChunkModel, ChunkWriter};
    /// let models = vec![ChunkModel::default(); 3];
    /// let mut body = Vec::new();
    /// ChunkWriter::default().write_stream(&models, &mut body).unwrap();
    /// assert_eq!(kvs_mkv::io::read_chunks(&body[..]).count(), 3);
    /// ```
    pub fn write_stream<'a, W: Write + ?Sized>(
        &self,
        models: impl IntoIterator<Item = &'a ChunkModel>,
        out: &mut W,
    ) -> Result<u64, WriteError> {
        let mut n = 0;
        for m in models {
            n += self.write_to(m, out)?;
        }
        Ok(n)
    }

    /// The chunk's top-level elements: the EBML header and the Segment.
    fn elements(&self, model: &ChunkModel) -> Result<[Element; 2], WriteError> {
        if model.timecode_scale == 0 {
            return Err(WriteError::ZeroTimecodeScale);
        }
        let style = self.layout.style();
        let mut segment = Vec::new();

        let scale = if style.producer_cluster {
            Element::uint8(ids::TIMECODE_SCALE, model.timecode_scale)
        } else {
            Element::uint(ids::TIMECODE_SCALE, model.timecode_scale)
        };
        segment.push(Element::master(ids::INFO, vec![scale]).sized_deep(style.head));
        if !model.tracks.is_empty() {
            let entries = model
                .tracks
                .iter()
                .map(|t| track_entry(t, style.pad))
                .collect();
            segment.push(Element::master(ids::TRACKS, entries).sized_deep(style.head));
        }

        let producer = |position: TagPosition| -> Vec<(&str, TagValue)> {
            model
                .tags
                .iter()
                .filter(|t| t.position == position)
                .map(|t| (t.name.as_str(), t.value.clone()))
                .collect()
        };
        let after = producer(TagPosition::AfterCluster);
        segment.extend(tags_element(&producer(TagPosition::BeforeCluster), &style));

        let aws = &model.aws;
        let (server, producer_ts) = match style.spelling {
            TimestampSpelling::Plain => (names::SERVER_TIMESTAMP, names::PRODUCER_TIMESTAMP),
            TimestampSpelling::Side => {
                (names::SERVER_SIDE_TIMESTAMP, names::PRODUCER_SIDE_TIMESTAMP)
            }
        };
        let present = |tags: Vec<(&'static str, Option<Text>)>| -> Vec<(&str, TagValue)> {
            tags.into_iter()
                .filter_map(|(name, value)| Some((name, TagValue::String(value?))))
                .collect()
        };
        let leading = present(vec![
            (
                names::FRAGMENT_NUMBER,
                aws.fragment_number.map(|f| f.to_string().into()),
            ),
            (server, aws.server_timestamp.map(|t| t.to_string().into())),
            (
                producer_ts,
                aws.producer_timestamp.map(|t| t.to_string().into()),
            ),
        ]);
        segment.extend(tags_element(&leading, &style));

        if !model.frames.is_empty() || !after.is_empty() {
            segment.extend(self.clusters(model, &style)?);
        }

        let mut aws_trailing = vec![
            (names::ERROR_CODE, aws.error_code.clone()),
            (
                names::ERROR_ID,
                aws.error_id.map(|e| e.code().to_string().into()),
            ),
            (
                names::EXCEPTION_ERROR_CODE,
                aws.exception_error_code.map(|c| c.to_string().into()),
            ),
            (names::EXCEPTION_MESSAGE, aws.exception_message.clone()),
        ];
        if style.trailer {
            aws_trailing.push((
                names::MILLIS_BEHIND_NOW,
                aws.millis_behind_now.map(|m| m.to_string().into()),
            ));
            // Last: a decoder may end the chunk as soon as it has read it.
            aws_trailing.push((names::CONTINUATION_TOKEN, aws.continuation_token.clone()));
        }
        let mut trailing = after;
        trailing.extend(present(aws_trailing));
        segment.extend(tags_element(&trailing, &style));

        Ok([
            ebml_header(style.doc_type_version),
            Element::master(ids::SEGMENT, segment).sized(style.segment),
        ])
    }

    /// The Clusters holding the model's frames (one empty Cluster if there
    /// are none).
    fn clusters(&self, model: &ChunkModel, style: &Style) -> Result<Vec<Element>, WriteError> {
        struct Open {
            timecode: u64,
            blocks: Vec<Element>,
        }
        let mut clusters: Vec<Open> = Vec::new();
        let frames = &model.frames;
        for run in block::lace_runs(frames, self.lacing) {
            let index = run.start;
            let first = &frames[index];
            let track = first.track();
            if !block::track_fits(track) {
                return Err(WriteError::TrackNumberTooLarge(track));
            }
            for (i, f) in frames[run.clone()].iter().enumerate() {
                if !model.tracks.iter().any(|t| t.number == f.track()) {
                    return Err(WriteError::UnknownTrack {
                        index: index + i,
                        track: f.track(),
                    });
                }
            }
            let tc = first.timecode();
            let relative = |cluster: u64| i16::try_from(i128::from(tc) - i128::from(cluster)).ok();
            let rel = match clusters.last().and_then(|c| relative(c.timecode)) {
                Some(rel) => rel,
                None => {
                    let timecode = tc.max(0) as u64;
                    let rel = relative(timecode).ok_or(WriteError::TimecodeOutOfRange {
                        index,
                        timecode: tc,
                    })?;
                    clusters.push(Open {
                        timecode,
                        blocks: Vec::new(),
                    });
                    rel
                }
            };
            let element = if block::needs_group(first) {
                block::block_group(first, rel)
            } else {
                block::simple_block(&frames[run], rel, self.lacing)
            };
            let element = element.sized_deep(style.blocks);
            clusters
                .last_mut()
                .expect("a cluster was just ensured")
                .blocks
                .push(element);
        }
        if clusters.is_empty() {
            clusters.push(Open {
                timecode: 0,
                blocks: Vec::new(),
            });
        }
        Ok(clusters
            .into_iter()
            .map(|c| {
                let mut children = Vec::with_capacity(c.blocks.len() + 2);
                if style.producer_cluster {
                    children.push(Element::uint8(ids::TIMECODE, c.timecode).sized(style.blocks));
                    children.push(Element::uint(ids::POSITION, 0).sized(style.blocks));
                } else {
                    children.push(Element::uint(ids::TIMECODE, c.timecode));
                }
                children.extend(c.blocks);
                Element::master(ids::CLUSTER, children).sized(style.cluster)
            })
            .collect())
    }
}

/// The EBML header of a Matroska document.
pub(crate) fn ebml_header(doc_type_version: u64) -> Element {
    Element::master(
        ids::EBML,
        vec![
            Element::uint(ids::EBML_VERSION, 1),
            Element::uint(ids::EBML_READ_VERSION, 1),
            Element::uint(ids::EBML_MAX_ID_LENGTH, 4),
            Element::uint(ids::EBML_MAX_SIZE_LENGTH, 8),
            Element::string(ids::DOC_TYPE, "matroska", None),
            Element::uint(ids::DOC_TYPE_VERSION, doc_type_version),
            Element::uint(ids::DOC_TYPE_READ_VERSION, 2),
        ],
    )
}

/// One TrackEntry, every field the model has.
pub(crate) fn track_entry(t: &Track, pad: Option<usize>) -> Element {
    let mut c = vec![Element::uint(ids::TRACK_NUMBER, t.number)];
    if let Some(uid) = t.uid {
        c.push(Element::uint(ids::TRACK_UID, uid));
    }
    if let Some(kind) = t.track_type {
        c.push(Element::uint(ids::TRACK_TYPE, kind.value()));
    }
    if let Some(name) = &t.name {
        c.push(Element::string(ids::NAME, name, pad));
    }
    if let Some(language) = &t.language {
        c.push(Element::string(ids::LANGUAGE, language, pad));
    }
    c.push(Element::string(ids::CODEC_ID, &t.codec_id, pad));
    if let Some(private) = &t.codec_private {
        c.push(Element::bytes(ids::CODEC_PRIVATE, private.clone()));
    }
    if let Some(d) = t.default_duration_ns {
        c.push(Element::uint(ids::DEFAULT_DURATION, d));
    }
    if let Some(v) = t.video {
        let mut video = Vec::new();
        if let Some(w) = v.pixel_width {
            video.push(Element::uint(ids::PIXEL_WIDTH, w));
        }
        if let Some(h) = v.pixel_height {
            video.push(Element::uint(ids::PIXEL_HEIGHT, h));
        }
        c.push(Element::master(ids::VIDEO, video));
    }
    if let Some(a) = t.audio {
        let mut audio = Vec::new();
        if let Some(f) = a.sampling_frequency {
            audio.push(Element::float(ids::SAMPLING_FREQUENCY, f));
        }
        if let Some(n) = a.channels {
            audio.push(Element::uint(ids::CHANNELS, n));
        }
        if let Some(b) = a.bit_depth {
            audio.push(Element::uint(ids::BIT_DEPTH, b));
        }
        c.push(Element::master(ids::AUDIO, audio));
    }
    Element::master(ids::TRACK_ENTRY, c)
}

/// One SimpleTag.
pub(crate) fn simple_tag(name: &str, value: &TagValue, pad: Option<usize>) -> Element {
    let mut c = vec![Element::string(ids::TAG_NAME, name, pad)];
    match value {
        TagValue::String(s) => c.push(Element::string(ids::TAG_STRING, s, pad)),
        TagValue::Binary(b) => c.push(Element::bytes(ids::TAG_BINARY, b.clone())),
        TagValue::None => {}
    }
    Element::master(ids::SIMPLE_TAG, c)
}

/// A Tags element holding `tags`, or nothing when there are none. The
/// service puts all SimpleTags in one Tag; the producer SDKs one Tag each.
fn tags_element(tags: &[(&str, TagValue)], style: &Style) -> Option<Element> {
    if tags.is_empty() {
        return None;
    }
    let simple = tags.iter().map(|(n, v)| simple_tag(n, v, style.pad));
    let tag_list = if style.producer_cluster {
        simple.map(|s| Element::master(ids::TAG, vec![s])).collect()
    } else {
        vec![Element::master(ids::TAG, simple.collect())]
    };
    Some(Element::master(ids::TAGS, tag_list).sized_deep(style.tags))
}
