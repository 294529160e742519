//! kvs-mkv (placeholder; filled in by the decoder commit).
#![forbid(unsafe_code)]

pub mod sigv4;
