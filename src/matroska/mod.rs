//! Matroska structures on top of EBML: the element schema, tracks, and
//! blocks with their lacing.

pub mod block;
pub mod ids;
pub mod reader;
mod track;

pub use reader::{Element, ElementReader};
pub use track::{AudioSettings, Track, TrackType, VideoSettings};
