//! # kvs-mkv
//!
//! A zero-copy, incremental decoder for the bodies of Amazon Kinesis Video
//! Streams `GetMedia` and `GetMediaForFragmentList` responses: a
//! concatenation of Matroska "chunks", one per fragment, each carrying the
//! service's `AWS_KINESISVIDEO_*` tags. Around it, behind opt-in features: a
//! SigV4-signed client for the consumer APIs, and a local emulator of them.
//!
//! # Three entry points
//!
//! **The decoder** (the default build: bytes, nom, memchr, thiserror,
//! tokio-util and what they need, 15 crates). Sans-IO: feed bytes as they
//! arrive, take [`Chunk`]s (or frame-level [`Event`]s) out.
//!
//! ```toml
//! kvs-mkv = "0.1"
//! ```
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
//! **The client** (`client`: hyper 1, rustls with ring, serde_json, tokio's
//! timers): GetDataEndpoint, GetMedia sessions that resume by themselves,
//! ListFragments and GetImages paginators, GetMediaForFragmentList; see
//! `kvs_mkv::client`.
//!
//! ```toml
//! kvs-mkv = { version = "0.1", features = ["client"] }
//! ```
//!
//! **The emulator** (`emulator`: hyper's HTTP/1.1 server, serde_json,
//! tokio's network): the five consumer operations served from recordings on
//! 127.0.0.1, SigV4-checked, so a consumer's own tests run without AWS; see
//! `kvs_mkv::emulator`. Usually a dev-dependency:
//!
//! ```toml
//! [dev-dependencies]
//! kvs-mkv = { version = "0.1", features = ["emulator"] }
//! ```
//!
//! (`sigv4` alone gives AWS Signature Version 4 signing and verification;
//! both `client` and `emulator` include it.)
//!
//! # Layers
//!
//! Bottom up, each using only those below it: [`ebml`] (variable-length
//! integers, element headers), [`matroska`] (the element schema and the
//! unknown-size rule, tracks, blocks and lacing, the element reader),
//! [`kvs`] (the AWS tags as typed values), the chunk-assembly engine behind
//! [`ChunkDecoder`] and [`EventDecoder`], and thin adapters for
//! [`std::io::Read`] and `AsyncRead` in [`io`]. Beside the decoder,
//! [`writer`] writes chunks back from models, and [`merge`] turns a body
//! into one seekable (or streamable) MKV. On top, behind features: `sigv4`,
//! `client` (over the decoder and sigv4) and `emulator` (over the decoder,
//! the writer and sigv4).
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
#[cfg(feature = "sigv4")]
pub mod sigv4;
#[cfg(test)]
mod test_rng;
mod text;
pub mod writer;

pub use chunk::{Chunk, ChunkInfo, Frame, FrameStats, Tag, TagPosition, TagValue};
pub use decoder::{ChunkDecoder, Event, EventDecoder};
pub use error::{DecodeError, DecodeErrorKind, ElementId, Error};
pub use kvs::{AwsTags, ErrorId, FragmentNumber, Timestamp};
pub use limits::Limits;
pub use matroska::{Track, TrackType};
pub use text::{escape_controls, needs_escape, Text};

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "client", feature = "emulator"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
