//! # kvs-mkv
//!
//! A zero-copy, incremental decoder for the bodies of Amazon Kinesis Video
//! Streams `GetMedia` and `GetMediaForFragmentList` responses: a
//! concatenation of Matroska "chunks", one per fragment, each carrying the
//! service's `AWS_KINESISVIDEO_*` tags.
//!
//! ```
//! use bytes::BytesMut;
//! use tokio_util::codec::Decoder;
//!
//! let mut decoder = kvs_mkv::ChunkDecoder::default();
//! let mut buf = BytesMut::new();
//! buf.extend_from_slice(&std::fs::read("testdata/sample.mkv").unwrap());
//! while let Some(chunk) = decoder.decode(&mut buf)? {
//!     for frame in chunk.frames() {
//!         let payload: &[u8] = frame.data(); // a view of the input, not a copy
//!         # let _ = payload;
//!     }
//! }
//! if let Some(last) = decoder.decode_eof(&mut buf)? {
//!     println!("last chunk: fragment {:?}", last.fragment_number());
//! }
//! # Ok::<(), kvs_mkv::Error>(())
//! ```
//!
//! The layers, bottom up: [`ebml`] (variable-length integers, element
//! headers), [`matroska`] (the element schema and the unknown-size rule,
//! tracks, blocks and lacing), [`kvs`] (the AWS tags as typed values), the
//! chunk-assembly engine behind [`ChunkDecoder`] and [`EventDecoder`], and
//! thin adapters for [`std::io::Read`] and `AsyncRead` in [`io`].
//! [`sigv4`] signs and verifies AWS Signature Version 4 requests;
//! `emulator` (feature `emulator`) is a local Kinesis Video Streams server
//! for testing consumers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod chunk;
#[cfg(feature = "client")]
pub mod client;
mod decoder;
pub mod ebml;
#[cfg(feature = "emulator")]
pub mod emulator;
mod error;
pub mod io;
pub mod kvs;
mod limits;
pub mod matroska;
pub mod merge;
#[cfg(any(feature = "client", feature = "emulator"))]
mod rate;
pub mod sigv4;
mod text;
pub mod writer;

pub use chunk::{Chunk, ChunkInfo, Frame, FrameStats, Tag, TagPosition, TagValue};
pub use decoder::{ChunkDecoder, Event, EventDecoder};
pub use error::{DecodeError, DecodeErrorKind, ElementId, Error};
pub use kvs::{AwsTags, ErrorId, FragmentNumber, Timestamp};
pub use limits::Limits;
pub use matroska::{Track, TrackType};
pub use text::Text;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
