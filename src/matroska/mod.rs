//! Matroska structures on top of EBML: the element schema, the EBML header
//! a chunk must have, tracks, tags, and blocks with their lacing.

pub mod block;
pub(crate) mod header;
pub mod ids;
pub mod reader;
pub(crate) mod tags;
mod track;
pub(crate) mod walk;

pub use reader::{Element, ElementReader};
pub use track::{AudioSettings, Track, TrackType, VideoSettings};
