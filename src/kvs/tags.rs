use std::fmt;
use std::str::FromStr;

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
        self.apply_bytes(name.as_bytes(), value.as_bytes(), || Text::from(value))
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
        self.apply_bytes(name.as_bytes(), value.bytes(), || value.clone())
    }

    /// As [`apply_text`](Self::apply_text), for a name already known to
    /// be `tag`'s (the decoder's case, see [`known_name`]: the name is not
    /// looked up again, and no `str` is made of either unless a value is
    /// invalid).
    pub(crate) fn apply_known(&mut self, tag: AwsTag, name: &Text, value: &Text) {
        self.set(tag, name.bytes(), value.bytes(), || value.clone());
    }

    /// `name` and `value` are UTF-8 (`text` makes the value's [`Text`]).
    fn apply_bytes(&mut self, name: &[u8], value: &[u8], text: impl FnOnce() -> Text) -> bool {
        match AwsTag::of(name) {
            Some(tag) => {
                self.set(tag, name, value, text);
                true
            }
            None => false,
        }
    }

    /// Sets the field of `tag` (named `name`) from `value` (both UTF-8),
    /// unless it is set already; a value that does not parse is listed in
    /// `invalid`.
    fn set(&mut self, tag: AwsTag, name: &[u8], value: &[u8], text: impl FnOnce() -> Text) {
        fn put<T, E: fmt::Display>(
            slot: &mut Option<T>,
            parse: impl FnOnce() -> Result<T, E>,
            name: &[u8],
            value: &[u8],
            invalid: &mut Vec<InvalidTag>,
        ) {
            if slot.is_some() {
                return;
            }
            match parse() {
                Ok(v) => *slot = Some(v),
                Err(e) => invalid.push(InvalidTag {
                    name: String::from_utf8_lossy(name).into_owned(),
                    value: String::from_utf8_lossy(value).into_owned(),
                    reason: e.to_string(),
                }),
            }
        }
        /// A decimal integer, as `str::parse` reads it (an optional `+`,
        /// then digits; errors as its). The common value, one to nineteen
        /// digits (which always fit a u64) that fit a `T`, is read here;
        /// anything else is left to `str::parse`, for its answer and error.
        fn int<T: FromStr + TryFrom<u64>>(value: &[u8]) -> Result<T, <T as FromStr>::Err> {
            if (1..=19).contains(&value.len()) && value.iter().all(u8::is_ascii_digit) {
                let v = (value.iter()).fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
                if let Ok(v) = T::try_from(v) {
                    return Ok(v);
                }
            }
            std::str::from_utf8(value).unwrap_or("\u{fffd}").parse()
        }
        let inv = &mut self.invalid;
        let always = || Ok::<_, String>(text());
        match tag {
            AwsTag::FragmentNumber => put(
                &mut self.fragment_number,
                || FragmentNumber::from_ascii(value),
                name,
                value,
                inv,
            ),
            AwsTag::ServerTimestamp => put(
                &mut self.server_timestamp,
                || Timestamp::from_ascii(value),
                name,
                value,
                inv,
            ),
            AwsTag::ProducerTimestamp => put(
                &mut self.producer_timestamp,
                || Timestamp::from_ascii(value),
                name,
                value,
                inv,
            ),
            AwsTag::MillisBehindNow => put(
                &mut self.millis_behind_now,
                || int::<u64>(value),
                name,
                value,
                inv,
            ),
            AwsTag::ContinuationToken => {
                put(&mut self.continuation_token, always, name, value, inv)
            }
            AwsTag::ErrorId => put(
                &mut self.error_id,
                || int::<u32>(value).map(ErrorId::from_code),
                name,
                value,
                inv,
            ),
            AwsTag::ErrorCode => put(&mut self.error_code, always, name, value, inv),
            AwsTag::ExceptionErrorCode => put(
                &mut self.exception_error_code,
                || int::<u32>(value),
                name,
                value,
                inv,
            ),
            AwsTag::ExceptionMessage => put(&mut self.exception_message, always, name, value, inv),
        }
    }
}

/// Which of the `AWS_KINESISVIDEO_*` tags a name is (both spellings of a
/// timestamp are one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AwsTag {
    FragmentNumber,
    ServerTimestamp,
    ProducerTimestamp,
    MillisBehindNow,
    ContinuationToken,
    ErrorId,
    ErrorCode,
    ExceptionErrorCode,
    ExceptionMessage,
}

/// What every AWS tag name begins with.
const PREFIX: &[u8] = b"AWS_KINESISVIDEO_";

/// Which `AWS_KINESISVIDEO_*` tag `name` is, with its name as a static
/// string (the decoder's [`Text`] of it then costs no copy): looked up once
/// when a TagName is read, then carried with the tag.
pub(crate) fn known_name(name: &[u8]) -> Option<(AwsTag, &'static str)> {
    lookup(name)
}

/// The one table of the AWS tag names: which tag `name` is, and its
/// [`names`] constant. Every tag of a chunk is looked up, so the candidate
/// is picked by the name's length and the byte after the common prefix,
/// then the whole name is compared once (no `str` is made). Inlined into
/// its callers, each keeps only the half it uses.
#[inline]
fn lookup(name: &[u8]) -> Option<(AwsTag, &'static str)> {
    let first = *name.get(PREFIX.len())?;
    let (tag, full) = match (name.len() - PREFIX.len(), first) {
        (15, b'F') => (AwsTag::FragmentNumber, names::FRAGMENT_NUMBER),
        (16, b'S') => (AwsTag::ServerTimestamp, names::SERVER_TIMESTAMP),
        (21, b'S') => (AwsTag::ServerTimestamp, names::SERVER_SIDE_TIMESTAMP),
        (18, b'P') => (AwsTag::ProducerTimestamp, names::PRODUCER_TIMESTAMP),
        (23, b'P') => (AwsTag::ProducerTimestamp, names::PRODUCER_SIDE_TIMESTAMP),
        (17, b'M') => (AwsTag::MillisBehindNow, names::MILLIS_BEHIND_NOW),
        (18, b'C') => (AwsTag::ContinuationToken, names::CONTINUATION_TOKEN),
        (8, b'E') => (AwsTag::ErrorId, names::ERROR_ID),
        (10, b'E') => (AwsTag::ErrorCode, names::ERROR_CODE),
        (20, b'E') => (AwsTag::ExceptionErrorCode, names::EXCEPTION_ERROR_CODE),
        (17, b'E') => (AwsTag::ExceptionMessage, names::EXCEPTION_MESSAGE),
        _ => return None,
    };
    same_name(name, full.as_bytes()).then_some((tag, full))
}

/// `name == full`, for a `full` of 16 to 48 bytes (every AWS tag name):
/// compared as two or three 16-byte words (the first, the last, and the
/// middle ones when longer than 32), inline rather than through a call to
/// `memcmp`. Five names a chunk.
#[inline(always)]
fn same_name(name: &[u8], full: &[u8]) -> bool {
    let n = full.len();
    if name.len() != n || !(16..=48).contains(&n) {
        return name == full;
    }
    let word = |s: &[u8], at: usize| s[at..].first_chunk::<16>().map(|w| u128::from_ne_bytes(*w));
    word(name, 0) == word(full, 0)
        && word(name, n - 16) == word(full, n - 16)
        && (n <= 32 || word(name, 16) == word(full, 16))
}

impl AwsTag {
    /// The tag `name` is, both spellings of a timestamp being one.
    pub(crate) fn of(name: &[u8]) -> Option<AwsTag> {
        lookup(name).map(|(tag, _)| tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every constant of [`names`], in the order the tests list them.
    const ALL_NAMES: [&str; 11] = [
        names::FRAGMENT_NUMBER,
        names::SERVER_TIMESTAMP,
        names::PRODUCER_TIMESTAMP,
        names::SERVER_SIDE_TIMESTAMP,
        names::PRODUCER_SIDE_TIMESTAMP,
        names::MILLIS_BEHIND_NOW,
        names::CONTINUATION_TOKEN,
        names::ERROR_CODE,
        names::ERROR_ID,
        names::EXCEPTION_ERROR_CODE,
        names::EXCEPTION_MESSAGE,
    ];

    /// Attack 41: `same_name` (16-byte words) against `==` for every name
    /// length 0 to 60 (random bytes, and each AWS name changed in one or
    /// two bytes, cut or grown), and `known_name` against a plain search of
    /// the `names` constants.
    #[test]
    fn attack41_same_name_agrees_with_eq() {
        let constants = ALL_NAMES;
        let naive = |name: &[u8]| constants.into_iter().find(|c| c.as_bytes() == name);
        let mut next = crate::test_rng::xorshift(0x2545_F491_4F6C_DD1D);
        let mut cases = 0u64;
        let mut check = |name: &[u8]| {
            cases += 1;
            assert_eq!(known_name(name).map(|(_, n)| n), naive(name), "{name:?}");
            for full in constants {
                assert_eq!(
                    same_name(name, full.as_bytes()),
                    name == full.as_bytes(),
                    "{name:?} {full}"
                );
            }
        };
        for len in 0..=60usize {
            for _ in 0..200 {
                let name: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                check(&name);
                // The AWS prefix, then random: the lookup's first test passes.
                let mut name = name;
                let p = PREFIX.len().min(len);
                name[..p].copy_from_slice(&PREFIX[..p]);
                check(&name);
            }
        }
        for full in constants {
            let full = full.as_bytes();
            for i in 0..full.len() {
                for bit in 0..8 {
                    let mut other = full.to_vec();
                    other[i] ^= 1 << bit;
                    check(&other);
                    let j = (next() as usize) % full.len();
                    other[j] ^= 1 << (next() % 8);
                    check(&other);
                }
                check(&full[..i]);
                check(&full[i..]);
            }
            for extra in 0..20 {
                let mut longer = full.to_vec();
                longer.extend((0..=extra).map(|_| next() as u8));
                check(&longer);
            }
        }
        // Random pairs of equal length on both sides of the 16..=48 window.
        for len in 0..=60usize {
            for _ in 0..200 {
                let a: Vec<u8> = (0..len).map(|_| (next() % 3) as u8).collect();
                let b: Vec<u8> = (0..len).map(|_| (next() % 3) as u8).collect();
                assert_eq!(same_name(&a, &b), a == b, "{a:?} {b:?}");
                assert!(same_name(&a, &a));
                let mut c = a.clone();
                if len > 0 {
                    let i = (next() as usize) % len;
                    c[i] ^= 0x80;
                    assert!(!same_name(&a, &c), "{a:?} {c:?}");
                }
            }
        }
        assert!(cases > 20_000);
    }

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

    /// `v` as MILLIS_BEHIND_NOW (a u64) and EXCEPTION_ERROR_CODE (a u32):
    /// each value, or each error's text, as `str::parse` gives it.
    fn int_reads_as_str_parse(v: &str) {
        let mut a = AwsTags::default();
        a.apply(names::MILLIS_BEHIND_NOW, v);
        a.apply(names::EXCEPTION_ERROR_CODE, v);
        assert_eq!(a.millis_behind_now, v.parse::<u64>().ok(), "{v:?}");
        assert_eq!(a.exception_error_code, v.parse::<u32>().ok(), "{v:?}");
        let reasons: Vec<_> = a.invalid.iter().map(|i| i.reason.clone()).collect();
        let expected: Vec<_> = [
            v.parse::<u64>().err().map(|e| e.to_string()),
            v.parse::<u32>().err().map(|e| e.to_string()),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert_eq!(reasons, expected, "{v:?}");
    }

    /// The integer tags read as `str::parse` reads them, errors included:
    /// the digits-only shortcut against the standard parser, at the ends
    /// of u32 and u64, with signs, spaces, junk and non-ASCII digits.
    #[test]
    fn integer_values_read_as_str_parse_reads_them() {
        let mut cases: Vec<String> = [
            "",
            "0",
            "00",
            "7",
            "1500",
            "+1500",
            "-1",
            "+",
            " 1",
            "1 ",
            "1_000",
            "1.0",
            "١٢",
            "4294967295",
            "4294967296",
            "04294967295",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "000000000000000000001",
            "0000000000000000000",
            "99999999999999999999",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        cases.extend((0..=20).map(|n| "9".repeat(n)));
        cases.extend((0..=20).map(|n| format!("{}x", "1".repeat(n))));
        for v in &cases {
            int_reads_as_str_parse(v);
        }
    }

    /// The integer shortcut against `str::parse` on random values: digit
    /// strings of 0 to 22 bytes with leading zeros, signs, spaces and junk
    /// among them, and numbers around the ends of u32 and u64.
    #[test]
    fn integer_values_read_as_str_parse_reads_them_at_random() {
        let mut next = crate::test_rng::xorshift(0x9E37_79B9_7F4A_7C15);
        let alphabet = b"00000123456789999+- x";
        for round in 0..100_000 {
            let v = match round % 4 {
                0 => {
                    let len = (next() % 23) as usize;
                    let bytes: Vec<u8> = (0..len)
                        .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                        .collect();
                    String::from_utf8(bytes).unwrap()
                }
                1 => format!("{}", u64::MAX - next() % 1000),
                2 => {
                    let zeros = "0".repeat((next() % 4) as usize);
                    let n = u64::from(u32::MAX) + 50 - next() % 100;
                    format!("{zeros}{n}")
                }
                _ => {
                    let zeros = "0".repeat((next() % 3) as usize);
                    format!("{zeros}{}", next() >> (next() % 64))
                }
            };
            int_reads_as_str_parse(&v);
        }
    }

    /// Every documented name (both timestamp spellings) is recognised, by
    /// its exact bytes only; an invalid value is listed under the name as
    /// spelled; the static names the decoder uses are the same strings.
    #[test]
    fn names_are_matched_exactly() {
        use AwsTag::*;
        let all = [
            ("AWS_KINESISVIDEO_FRAGMENT_NUMBER", FragmentNumber),
            ("AWS_KINESISVIDEO_SERVER_TIMESTAMP", ServerTimestamp),
            ("AWS_KINESISVIDEO_PRODUCER_TIMESTAMP", ProducerTimestamp),
            ("AWS_KINESISVIDEO_SERVER_SIDE_TIMESTAMP", ServerTimestamp),
            (
                "AWS_KINESISVIDEO_PRODUCER_SIDE_TIMESTAMP",
                ProducerTimestamp,
            ),
            ("AWS_KINESISVIDEO_MILLIS_BEHIND_NOW", MillisBehindNow),
            ("AWS_KINESISVIDEO_CONTINUATION_TOKEN", ContinuationToken),
            ("AWS_KINESISVIDEO_ERROR_CODE", ErrorCode),
            ("AWS_KINESISVIDEO_ERROR_ID", ErrorId),
            ("AWS_KINESISVIDEO_EXCEPTION_ERROR_CODE", ExceptionErrorCode),
            ("AWS_KINESISVIDEO_EXCEPTION_MESSAGE", ExceptionMessage),
        ];
        let constants = ALL_NAMES;
        assert_eq!(all.map(|(name, _)| name), constants);
        for (name, tag) in all {
            assert!(AwsTags::default().apply(name, "1"), "{name}");
            assert_eq!(AwsTag::of(name.as_bytes()), Some(tag), "{name}");
            assert_eq!(known_name(name.as_bytes()), Some((tag, name)));
            let longer = format!("{name}_");
            let lower = name.to_lowercase();
            let cut = &name[..name.len() - 1];
            for other in [longer.as_str(), lower.as_str(), cut, &name[17..]] {
                assert!(!AwsTags::default().apply(other, "1"), "{other}");
                assert_eq!(known_name(other.as_bytes()), None, "{other}");
                assert_eq!(AwsTag::of(other.as_bytes()), None, "{other}");
            }
        }
        assert!(!AwsTags::default().apply("AWS_KINESISVIDEO_", "1"));
        // One byte changed anywhere, which the word-wise compare must see
        // wherever it falls (the first, the middle or the last word).
        for (name, _) in all {
            for i in 0..name.len() {
                let mut other = name.as_bytes().to_vec();
                other[i] ^= 0x01;
                assert_eq!(known_name(&other), None, "{name}, byte {i}");
            }
        }
        let mut a = AwsTags::default();
        a.apply(names::SERVER_SIDE_TIMESTAMP, "1.2.3");
        a.apply(names::EXCEPTION_ERROR_CODE, "+7");
        a.apply(names::ERROR_ID, "99999999999");
        assert_eq!(a.exception_error_code, Some(7));
        assert_eq!(a.invalid.len(), 2);
        assert_eq!(a.invalid[0].name, names::SERVER_SIDE_TIMESTAMP);
        assert_eq!(a.invalid[0].value, "1.2.3");
        assert_eq!(a.invalid[1].name, names::ERROR_ID);
        assert_eq!(
            a.invalid[1].reason,
            "number too large to fit in target type"
        );
    }
}
