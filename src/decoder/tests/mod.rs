//! The decoders' tests that need the general path alone
//! ([`ChunkDecoder::general_path_only`](super::ChunkDecoder::general_path_only),
//! a test hook kept out of the public API): the fast paths against the
//! general path, and the endless Cluster with and without them. The
//! fixtures are the integration tests' byte-level builders
//! (tests/common/ebml.rs), independent of the crate's own code.

#[path = "../../../tests/common/ebml.rs"]
mod ebml;

mod endless_cluster;
mod fast_paths;
mod state_leak;
