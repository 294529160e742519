//! The Kinesis Video Streams layer: the `AWS_KINESISVIDEO_*` tags the service
//! adds to each chunk, as typed values.

pub(crate) mod civil;
mod fragment;
mod tags;
mod timestamp;

pub use fragment::{FragmentNumber, ParseFragmentNumberError};
pub(crate) use tags::{known_name, AwsTag};
pub use tags::{names, AwsTags, ErrorId, InvalidTag};
pub use timestamp::{ParseRfc3339Error, ParseTimestampError, Timestamp};
