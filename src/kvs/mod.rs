//! The Kinesis Video Streams layer: the `AWS_KINESISVIDEO_*` tags the service
//! adds to each chunk, as typed values.

mod fragment;
mod tags;
mod timestamp;

pub use fragment::{FragmentNumber, ParseFragmentNumberError};
pub use tags::{names, AwsTags, ErrorId, InvalidTag};
pub use timestamp::{ParseTimestampError, Timestamp};
