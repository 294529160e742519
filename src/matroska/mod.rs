//! Matroska structures on top of EBML: the element schema, tracks, and
//! blocks with their lacing.

pub mod block;
pub mod ids;
mod track;

pub use track::{AudioSettings, Track, TrackType, VideoSettings};
