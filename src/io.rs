//! Thin adapters from readers to decoded items: a blocking iterator over any
//! [`std::io::Read`], and a `Stream` over any `tokio::io::AsyncRead` (through
//! tokio-util's `FramedRead`).
//!
//! Both keep going after a decoding error (it is one item of the sequence,
//! with its offset) and end after an I/O error.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures_core::Stream;
use tokio::io::AsyncRead;
use tokio_util::codec::{Decoder, FramedRead};

use crate::{ChunkDecoder, Error, EventDecoder};

const READ_SIZE: usize = 64 * 1024;

/// A blocking iterator of decoded items over a reader.
///
/// ```
/// let file = std::fs::File::open("testdata/sample.mkv").unwrap();
/// for chunk in kvs_mkv::io::read_chunks(file) {
///     let chunk = chunk.unwrap();
///     println!("{:?}: {} frames", chunk.fragment_number(), chunk.frames().len());
/// }
/// ```
pub struct DecodeReader<R, D> {
    reader: R,
    decoder: D,
    buf: BytesMut,
    eof: bool,
    done: bool,
}

/// Chunks from a blocking reader.
pub fn read_chunks<R: std::io::Read>(reader: R) -> DecodeReader<R, ChunkDecoder> {
    DecodeReader::new(reader, ChunkDecoder::default())
}

/// Frame-level events from a blocking reader.
pub fn read_events<R: std::io::Read>(reader: R) -> DecodeReader<R, EventDecoder> {
    DecodeReader::new(reader, EventDecoder::default())
}

impl<R, D> DecodeReader<R, D> {
    /// Wraps a reader and a decoder (e.g. one built with custom [`Limits`](crate::Limits)).
    pub fn new(reader: R, decoder: D) -> Self {
        DecodeReader {
            reader,
            decoder,
            buf: BytesMut::new(),
            eof: false,
            done: false,
        }
    }
}

impl<R: std::io::Read, D: Decoder<Error = Error>> Iterator for DecodeReader<R, D> {
    type Item = Result<D::Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let decoded = if self.eof {
                self.decoder.decode_eof(&mut self.buf)
            } else {
                self.decoder.decode(&mut self.buf)
            };
            match decoded {
                Ok(Some(item)) => return Some(Ok(item)),
                Ok(None) if self.eof => self.done = true,
                Ok(None) => {
                    let len = self.buf.len();
                    self.buf.resize(len + READ_SIZE, 0);
                    let read = self.reader.read(&mut self.buf[len..]);
                    self.buf.truncate(len + *read.as_ref().unwrap_or(&0));
                    match read {
                        Ok(0) => self.eof = true,
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            self.done = true;
                            return Some(Err(e.into()));
                        }
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}

/// A decoder whose decoding errors are items, so that `FramedRead` keeps
/// going after them (it ends a stream at the first `Err`).
#[derive(Debug, Default)]
pub struct Resilient<D>(pub D);

impl<D: Decoder<Error = Error>> Decoder for Resilient<D> {
    type Item = Result<D::Item, Error>;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, Error> {
        match self.0.decode(buf) {
            Err(Error::Decode(e)) => Ok(Some(Err(e.into()))),
            other => other.map(|o| o.map(Ok)),
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, Error> {
        match self.0.decode_eof(buf) {
            Err(Error::Decode(e)) => Ok(Some(Err(e.into()))),
            other => other.map(|o| o.map(Ok)),
        }
    }
}

/// A `Stream` of decoded items over an `AsyncRead`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use futures::StreamExt;
/// let file = tokio::fs::File::open("testdata/sample.mkv").await.unwrap();
/// let mut chunks = kvs_mkv::io::chunk_stream(file);
/// while let Some(chunk) = chunks.next().await {
///     println!("{} frames", chunk.unwrap().frames().len());
/// }
/// # }
/// ```
pub struct DecodeStream<R, D> {
    inner: FramedRead<R, Resilient<D>>,
}

/// Chunks from an `AsyncRead`.
pub fn chunk_stream<R: AsyncRead>(reader: R) -> DecodeStream<R, ChunkDecoder> {
    DecodeStream::new(reader, ChunkDecoder::default())
}

/// Frame-level events from an `AsyncRead`.
pub fn event_stream<R: AsyncRead>(reader: R) -> DecodeStream<R, EventDecoder> {
    DecodeStream::new(reader, EventDecoder::default())
}

impl<R: AsyncRead, D: Decoder<Error = Error>> DecodeStream<R, D> {
    /// Wraps a reader and a decoder.
    pub fn new(reader: R, decoder: D) -> Self {
        DecodeStream {
            inner: FramedRead::with_capacity(reader, Resilient(decoder), READ_SIZE),
        }
    }
}

impl<R: AsyncRead + Unpin, D: Decoder<Error = Error> + Unpin> Stream for DecodeStream<R, D> {
    type Item = Result<D::Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner)
            .poll_next(cx)
            .map(|item| item.map(|r| r.and_then(|inner| inner)))
    }
}

/// Whether a file is a pipe (a FIFO, or bash's `<(...)`): what the
/// emulator and the shared-file check read to its end, or leave alone,
/// rather than refuse or measure by its size.
#[cfg(any(feature = "emulator", feature = "aws-config"))]
pub(crate) fn is_pipe(kind: &std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        kind.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = kind;
        false
    }
}
