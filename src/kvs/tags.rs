use std::fmt;

use super::{FragmentNumber, Timestamp};
use crate::text::Text;

/// The tag names the service writes.
pub mod names {
    /// Fragment number (both APIs).
    pub const FRAGMENT_NUMBER: &str = "AWS_KINESISVIDEO_FRAGMENT_NUMBER";
    /// Server timestamp (GetMedia spelling).
    pub const SERVER_TIMESTAMP: &str = "AWS_KINESISVIDEO_SERVER_TIMESTAMP";
    /// Producer timestamp (GetMedia spelling).
    pub const PRODUCER_TIMESTAMP: &str = "AWS_KINESISVIDEO_PRODUCER_TIMESTAMP";
    /// Server timestamp (GetMediaForFragmentList spelling in the API docs).
    pub const SERVER_SIDE_TIMESTAMP: &str = "AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP";
    /// Producer timestamp (GetMediaForFragmentList spelling in the API docs).
    pub const PRODUCER_SIDE_TIMESTAMP: &str = "AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP";
    /// How far the chunk is behind the tip of the stream, in ms (GetMedia).
    pub const MILLIS_BEHIND_NOW: &str = "AWS_KINESISVIDEO_MILLIS_BEHIND_NOW";
    /// Token to resume GetMedia after this chunk; last element of a chunk.
    pub const CONTINUATION_TOKEN: &str = "AWS_KINESISVIDEO_CONTINUATION_TOKEN";
    /// Error text when GetMedia stops on an error.
    pub const ERROR_CODE: &str = "AWS_KINESISVIDEO_ERROR_CODE";
    /// Numeric error id when GetMedia stops on an error.
    pub const ERROR_ID: &str = "AWS_KINESISVIDEO_ERROR_ID";
    /// GetMediaForFragmentList: numeric code for a fragment that failed.
    pub const EXCEPTION_ERROR_CODE: &str = "AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE";
    /// GetMediaForFragmentList: message for a fragment that failed.
    pub const EXCEPTION_MESSAGE: &str = "AWS_KINESISVIDEO_EXCEPTION_MESSAGE";
}

/// The documented GetMedia `AWS_KINESISVIDEO_ERROR_ID` values.
///
/// ```
/// use kvs_mkv::ErrorId;
/// assert_eq!(ErrorId::from_code(4000), ErrorId::FragmentNotFound);
/// assert_eq!(ErrorId::from_code(42), ErrorId::Other(42));
/// assert_eq!(ErrorId::KmsKeyNotFound.code(), 4506);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorId {
    /// 3002: error writing to the stream.
    StreamWriteError,
    /// 4000: requested fragment not found.
    FragmentNotFound,
    /// 4500: access denied to the stream's KMS key.
    KmsAccessDenied,
    /// 4501: the stream's KMS key is disabled.
    KmsKeyDisabled,
    /// 4502: validation error on the stream's KMS key.
    KmsValidationError,
    /// 4503: the stream's KMS key is unavailable.
    KmsKeyUnavailable,
    /// 4504: invalid usage of the stream's KMS key.
    KmsInvalidUsage,
    /// 4505: invalid state of the stream's KMS key.
    KmsInvalidState,
    /// 4506: the stream's KMS key was not found.
    KmsKeyNotFound,
    /// 5000: internal error.
    InternalError,
    /// Any other value.
    Other(u32),
}

impl ErrorId {
    /// The variant for a numeric id.
    pub fn from_code(code: u32) -> ErrorId {
        match code {
            3002 => ErrorId::StreamWriteError,
            4000 => ErrorId::FragmentNotFound,
            4500 => ErrorId::KmsAccessDenied,
            4501 => ErrorId::KmsKeyDisabled,
            4502 => ErrorId::KmsValidationError,
            4503 => ErrorId::KmsKeyUnavailable,
            4504 => ErrorId::KmsInvalidUsage,
            4505 => ErrorId::KmsInvalidState,
            4506 => ErrorId::KmsKeyNotFound,
            5000 => ErrorId::InternalError,
            other => ErrorId::Other(other),
        }
    }

    /// The numeric id.
    pub fn code(self) -> u32 {
        match self {
            ErrorId::StreamWriteError => 3002,
            ErrorId::FragmentNotFound => 4000,
            ErrorId::KmsAccessDenied => 4500,
            ErrorId::KmsKeyDisabled => 4501,
            ErrorId::KmsValidationError => 4502,
            ErrorId::KmsKeyUnavailable => 4503,
            ErrorId::KmsInvalidUsage => 4504,
            ErrorId::KmsInvalidState => 4505,
            ErrorId::KmsKeyNotFound => 4506,
            ErrorId::InternalError => 5000,
            ErrorId::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ErrorId::StreamWriteError => "error writing to the stream",
            ErrorId::FragmentNotFound => "requested fragment not found",
            ErrorId::KmsAccessDenied => "access denied to the stream's KMS key",
            ErrorId::KmsKeyDisabled => "the stream's KMS key is disabled",
            ErrorId::KmsValidationError => "validation error on the stream's KMS key",
            ErrorId::KmsKeyUnavailable => "the stream's KMS key is unavailable",
            ErrorId::KmsInvalidUsage => "invalid usage of the stream's KMS key",
            ErrorId::KmsInvalidState => "invalid state of the stream's KMS key",
            ErrorId::KmsKeyNotFound => "the stream's KMS key was not found",
            ErrorId::InternalError => "internal error",
            ErrorId::Other(_) => "undocumented error",
        };
        write!(f, "{} ({text})", self.code())
    }
}

/// The typed values of a chunk's `AWS_KINESISVIDEO_*` tags. When a tag appears
/// more than once, the first value counts. A value that does not parse leaves
/// its field `None` and is listed in [`invalid`](Self::invalid); the raw text
/// stays in the chunk's tag list either way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AwsTags {
    /// `AWS_KINESISVIDEO_FRAGMENT_NUMBER`.
    pub fragment_number: Option<FragmentNumber>,
    /// `AWS_KINESISVIDEO_SERVER_TIMESTAMP` or `..._SERVER_SIDE_TIMESTAMP`.
    pub server_timestamp: Option<Timestamp>,
    /// `AWS_KINESISVIDEO_PRODUCER_TIMESTAMP` or `..._PRODUCER_SIDE_TIMESTAMP`.
    pub producer_timestamp: Option<Timestamp>,
    /// `AWS_KINESISVIDEO_MILLIS_BEHIND_NOW`.
    pub millis_behind_now: Option<u64>,
    /// `AWS_KINESISVIDEO_CONTINUATION_TOKEN`.
    pub continuation_token: Option<Text>,
    /// `AWS_KINESISVIDEO_ERROR_ID` (GetMedia).
    pub error_id: Option<ErrorId>,
    /// `AWS_KINESISVIDEO_ERROR_CODE` (GetMedia): the error's text.
    pub error_code: Option<Text>,
    /// `AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE` (GetMediaForFragmentList).
    pub exception_error_code: Option<u32>,
    /// `AWS_KINESISVIDEO_EXCEPTION_MESSAGE` (GetMediaForFragmentList).
    pub exception_message: Option<Text>,
    /// AWS tags whose value did not parse.
    pub invalid: Vec<InvalidTag>,
}

/// An `AWS_KINESISVIDEO_*` tag whose value is not of its documented form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidTag {
    /// The tag name.
    pub name: String,
    /// The raw value.
    pub value: String,
    /// Why it was rejected.
    pub reason: String,
}

impl AwsTags {
    /// Whether the service reported an error in this chunk (GetMedia
    /// `ERROR_ID`/`ERROR_CODE` or GetMediaForFragmentList `EXCEPTION_*`).
    pub fn has_error(&self) -> bool {
        self.error_id.is_some()
            || self.error_code.is_some()
            || self.exception_error_code.is_some()
            || self.exception_message.is_some()
    }

    /// Takes one SimpleTag into account. Returns `true` when `name` is one of
    /// the AWS tags (whether or not its value parsed).
    ///
    /// ```
    /// let mut aws = kvs_mkv::AwsTags::default();
    /// assert!(aws.apply("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", "1500"));
    /// assert!(!aws.apply("ENCODER", "Lavf"));
    /// assert_eq!(aws.millis_behind_now, Some(1500));
    /// ```
    pub fn apply(&mut self, name: &str, value: &str) -> bool {
        self.apply_with(name, value, || Text::from(value))
    }

    /// As [`apply`](Self::apply), with the value as a [`Text`]: a text
    /// field keeps a clone of it (no copy).
    ///
    /// ```
    /// use kvs_mkv::{AwsTags, Text};
    /// let mut aws = AwsTags::default();
    /// let token = Text::from("91343852333181432392682062607743920146159000001");
    /// aws.apply_text("AWS_KINESISVIDEO_CONTINUATION_TOKEN", &token);
    /// assert_eq!(aws.continuation_token, Some(token));
    /// ```
    pub fn apply_text(&mut self, name: &str, value: &Text) -> bool {
        self.apply_with(name, value.as_str(), || value.clone())
    }

    fn apply_with(&mut self, name: &str, value: &str, text: impl FnOnce() -> Text) -> bool {
        fn set<T, E: fmt::Display>(
            slot: &mut Option<T>,
            parsed: Result<T, E>,
            name: &str,
            value: &str,
            invalid: &mut Vec<InvalidTag>,
        ) {
            if slot.is_some() {
                return;
            }
            match parsed {
                Ok(v) => *slot = Some(v),
                Err(e) => invalid.push(InvalidTag {
                    name: name.to_string(),
                    value: value.to_string(),
                    reason: e.to_string(),
                }),
            }
        }
        let inv = &mut self.invalid;
        match name {
            names::FRAGMENT_NUMBER => {
                set(&mut self.fragment_number, value.parse(), name, value, inv)
            }
            names::SERVER_TIMESTAMP | names::SERVER_SIDE_TIMESTAMP => {
                set(&mut self.server_timestamp, value.parse(), name, value, inv)
            }
            names::PRODUCER_TIMESTAMP | names::PRODUCER_SIDE_TIMESTAMP => set(
                &mut self.producer_timestamp,
                value.parse(),
                name,
                value,
                inv,
            ),
            names::MILLIS_BEHIND_NOW => {
                set(&mut self.millis_behind_now, value.parse(), name, value, inv)
            }
            names::CONTINUATION_TOKEN => set(
                &mut self.continuation_token,
                Ok::<_, String>(()).map(|()| text()),
                name,
                value,
                inv,
            ),
            names::ERROR_ID => set(
                &mut self.error_id,
                value.parse::<u32>().map(ErrorId::from_code),
                name,
                value,
                inv,
            ),
            names::ERROR_CODE => set(
                &mut self.error_code,
                Ok::<_, String>(()).map(|()| text()),
                name,
                value,
                inv,
            ),
            names::EXCEPTION_ERROR_CODE => set(
                &mut self.exception_error_code,
                value.parse(),
                name,
                value,
                inv,
            ),
            names::EXCEPTION_MESSAGE => set(
                &mut self.exception_message,
                Ok::<_, String>(()).map(|()| text()),
                name,
                value,
                inv,
            ),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_and_first_value_wins() {
        let mut a = AwsTags::default();
        a.apply(names::SERVER_SIDE_TIMESTAMP, "10.5");
        a.apply(names::SERVER_TIMESTAMP, "99.0");
        a.apply(names::PRODUCER_SIDE_TIMESTAMP, "0.000");
        assert_eq!(a.server_timestamp.unwrap().as_millis(), 10_500);
        assert_eq!(a.producer_timestamp.unwrap().as_millis(), 0);
    }

    #[test]
    fn invalid_values_are_recorded_not_lost() {
        let mut a = AwsTags::default();
        a.apply(names::MILLIS_BEHIND_NOW, "soon");
        a.apply(names::ERROR_ID, "4000");
        assert_eq!(a.millis_behind_now, None);
        assert_eq!(a.invalid.len(), 1);
        assert_eq!(a.invalid[0].value, "soon");
        assert_eq!(a.error_id, Some(ErrorId::FragmentNotFound));
        assert!(a.has_error());
    }
}
