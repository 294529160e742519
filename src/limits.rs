/// Bounds on what the decoder holds in memory, so that no input makes it
/// allocate without bound. Every bound is checked before anything is
/// allocated, and exceeding one is a [`DecodeError`](crate::DecodeError)
/// with the offset where it happened.
///
/// ```
/// let mut limits = kvs_mkv::Limits::default();
/// limits.max_chunk_size = 16 << 20;
/// let decoder = kvs_mkv::ChunkDecoder::with_limits(limits);
/// # let _ = decoder;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest element read into memory whole (a frame, a tag value,
    /// CodecPrivate). Default 64 MiB: a KVS fragment is at most 50 MB.
    pub max_element_size: u64,
    /// Largest chunk either decoder accepts, in bytes from its EBML header.
    /// A [`ChunkDecoder`](crate::ChunkDecoder) buffers a chunk whole and
    /// counts with its bytes the bookkeeping it keeps per frame (128 bytes,
    /// so laced blocks of empty frames cannot multiply memory). An
    /// [`EventDecoder`](crate::EventDecoder) keeps only a chunk's head (up to
    /// its first Cluster) and one block, and counts bytes alone; a chunk that
    /// grows past the limit is damage all the same (an unknown-size Cluster
    /// that never ends).
    ///
    /// As soon as an element would take a chunk past the limit, the chunk
    /// so far is handed out (incomplete) and
    /// [`ChunkTooLarge`](crate::DecodeErrorKind::ChunkTooLarge) is reported
    /// at once; the bytes after it are dropped from the caller's buffer as
    /// they arrive, up to the next EBML header. So the buffer never holds
    /// more than the limit plus one read. Also the largest element either
    /// decoder skips unread. Default 256 MiB.
    pub max_chunk_size: u64,
    /// Deepest nesting of master elements. Default 32 (Matroska needs 6,
    /// nested SimpleTags a few more).
    pub max_depth: usize,
    /// Most SimpleTags per chunk. Default 4096.
    pub max_tags_per_chunk: usize,
    /// Most TrackEntries per chunk. Default 128.
    pub max_tracks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_element_size: 64 << 20,
            max_chunk_size: 256 << 20,
            max_depth: 32,
            max_tags_per_chunk: 4096,
            max_tracks: 128,
        }
    }
}
