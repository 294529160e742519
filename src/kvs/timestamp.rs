use std::fmt;
use std::str::FromStr;

use super::civil::{days_from_civil, days_in_month, SECS_PER_DAY};

/// A KVS tag timestamp: seconds since the Unix epoch with a decimal fraction,
/// parsed exactly from its text (never through a float).
///
/// ```
/// use kvs_mkv::Timestamp;
/// let t: Timestamp = "1511852109.126".parse().unwrap();
/// assert_eq!(t.as_millis(), 1_511_852_109_126);
/// assert_eq!((t.secs(), t.subsec_nanos()), (1_511_852_109, 126_000_000));
/// assert_eq!(t.to_string(), "1511852109.126");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: u64,
    nanos: u32,
}

/// Why a string is not a KVS timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseTimestampError {
    /// Not of the form `DIGITS[.DIGITS]`.
    #[error("timestamp is not of the form SECONDS[.FRACTION]")]
    Syntax,
    /// More seconds than a `u64` holds.
    #[error("timestamp seconds out of range")]
    OutOfRange,
    /// More than nine fraction digits (finer than a nanosecond).
    #[error("timestamp has more than 9 fraction digits")]
    TooPrecise,
}

/// Why a string is not an RFC 3339 UTC time `YYYY-MM-DDTHH:MM:SS[.f]Z`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseRfc3339Error {
    /// Not of the form `YYYY-MM-DDTHH:MM:SS[.f]Z` (four-digit year, two
    /// digits for the other fields, 1 to 9 fraction digits, `T` and `Z` in
    /// either case).
    #[error("not of the form YYYY-MM-DDTHH:MM:SS[.fff]Z")]
    Syntax,
    /// A month outside 1-12, a day the month does not have (2023-02-29),
    /// an hour past 23, a minute past 59 or a second past 60.
    #[error("no such date or time")]
    NoSuchDate,
    /// A time before 1970-01-01T00:00:00Z, which a `Timestamp` cannot hold.
    #[error("before the Unix epoch (1970-01-01T00:00:00Z)")]
    BeforeEpoch,
}

impl Timestamp {
    /// Parses an RFC 3339 time in UTC, `YYYY-MM-DDTHH:MM:SS[.f]Z`: years
    /// 0000 to 9999 of the proleptic Gregorian calendar, dates that exist
    /// (2024-02-29 but not 2023-02-29 or 2023-02-31), 1 to 9 fraction
    /// digits. A leap second (`:60`) is the second after `:59`, as Unix
    /// time counts it. Times before the epoch are
    /// [`ParseRfc3339Error::BeforeEpoch`]; offsets other than `Z` are not
    /// taken.
    ///
    /// ```
    /// use kvs_mkv::kvs::ParseRfc3339Error;
    /// use kvs_mkv::Timestamp;
    /// let t = Timestamp::parse_rfc3339("2017-11-28T06:55:09.126Z").unwrap();
    /// assert_eq!(t.to_string(), "1511852109.126");
    /// assert!(Timestamp::parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
    /// assert_eq!(
    ///     Timestamp::parse_rfc3339("2023-02-29T00:00:00Z"),
    ///     Err(ParseRfc3339Error::NoSuchDate)
    /// );
    /// ```
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, ParseRfc3339Error> {
        use ParseRfc3339Error::*;
        let b = s.as_bytes();
        let at = |i: usize, c: u8| b.get(i).is_some_and(|x| x.eq_ignore_ascii_case(&c));
        if b.len() < 20
            || !(at(4, b'-') && at(7, b'-') && at(10, b'T') && at(13, b':') && at(16, b':'))
            || !at(b.len() - 1, b'Z')
        {
            return Err(Syntax);
        }
        let num = |from: usize, to: usize| -> Result<i64, ParseRfc3339Error> {
            let digits = &b[from..to];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(Syntax);
            }
            Ok(digits.iter().fold(0, |v, &d| v * 10 + i64::from(d - b'0')))
        };
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        let nanos = match &b[19..b.len() - 1] {
            [] => 0,
            [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
                let frac_end = b.len() - 1;
                let value = num(20, frac_end)?;
                value * 10i64.pow(9 - frac.len() as u32)
            }
            _ => return Err(Syntax),
        };
        if !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(NoSuchDate);
        }
        let secs =
            days_from_civil(year, month, day) * SECS_PER_DAY + hour * 3600 + minute * 60 + second;
        Ok(Timestamp {
            secs: u64::try_from(secs).map_err(|_| BeforeEpoch)?,
            nanos: nanos as u32,
        })
    }

    /// A timestamp from whole seconds and nanoseconds (`nanos` below 1e9).
    pub fn new(secs: u64, nanos: u32) -> Option<Timestamp> {
        (nanos < 1_000_000_000).then_some(Timestamp { secs, nanos })
    }
    /// Whole seconds since the epoch.
    pub fn secs(&self) -> u64 {
        self.secs
    }
    /// Nanoseconds past [`secs`](Self::secs).
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }
    /// Milliseconds since the epoch, rounded down.
    pub fn as_millis(&self) -> u128 {
        u128::from(self.secs) * 1000 + u128::from(self.nanos / 1_000_000)
    }
    /// Nanoseconds since the epoch.
    pub fn as_nanos(&self) -> u128 {
        u128::from(self.secs) * 1_000_000_000 + u128::from(self.nanos)
    }
}

/// The same instant as a `SystemTime`.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// let t: kvs_mkv::Timestamp = "1511852109.126".parse().unwrap();
/// assert_eq!(SystemTime::from(t), UNIX_EPOCH + Duration::from_millis(1_511_852_109_126));
/// ```
impl From<Timestamp> for std::time::SystemTime {
    fn from(t: Timestamp) -> Self {
        std::time::UNIX_EPOCH + std::time::Duration::new(t.secs, t.nanos)
    }
}

/// A `SystemTime` as a `Timestamp`, to the nanosecond; an instant before
/// the epoch is an error.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use kvs_mkv::Timestamp;
/// let t = Timestamp::try_from(UNIX_EPOCH + Duration::new(1_511_852_109, 126_000_000)).unwrap();
/// assert_eq!(t.to_string(), "1511852109.126");
/// assert!(Timestamp::try_from(UNIX_EPOCH - Duration::from_secs(1)).is_err());
/// ```
impl TryFrom<std::time::SystemTime> for Timestamp {
    type Error = std::time::SystemTimeError;

    fn try_from(t: std::time::SystemTime) -> Result<Self, Self::Error> {
        let d = t.duration_since(std::time::UNIX_EPOCH)?;
        Ok(Timestamp {
            secs: d.as_secs(),
            nanos: d.subsec_nanos(),
        })
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::from_ascii(s.as_bytes())
    }
}

impl Timestamp {
    /// As [`FromStr`], from the bytes (a tag value read by the decoder, not
    /// made a `str` first): `DIGITS[.DIGITS]`, the digits read as they are
    /// checked.
    pub(crate) fn from_ascii(s: &[u8]) -> Result<Timestamp, ParseTimestampError> {
        let (whole, frac) = match s.iter().position(|&b| b == b'.') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        if whole.is_empty() {
            return Err(ParseTimestampError::Syntax);
        }
        let mut secs = 0u64;
        let mut overflow = false;
        for &b in whole {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return Err(ParseTimestampError::Syntax);
            }
            // 19 digits always fit a u64: only longer numbers are checked.
            if whole.len() <= 19 {
                secs = secs * 10 + u64::from(d);
            } else {
                match secs
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(d)))
                {
                    Some(v) => secs = v,
                    None => overflow = true,
                }
            }
        }
        if overflow {
            return Err(ParseTimestampError::OutOfRange);
        }
        let nanos = match frac {
            Some(frac) => fraction_nanos(frac)?,
            None => 0,
        };
        Ok(Timestamp { secs, nanos })
    }
}

/// The nanoseconds of a timestamp's fraction, the digits after its `.`:
/// `5` is 500 000 000, `000000001` is 1. One to nine digits; a character
/// that is not a digit is a syntax error wherever it is, even past the
/// ninth digit.
#[inline]
fn fraction_nanos(frac: &[u8]) -> Result<u32, ParseTimestampError> {
    /// What one unit of the last digit is worth in nanoseconds, by the
    /// number of digits: with one digit it counts tenths of a second
    /// (100 000 000 ns), with nine nanoseconds.
    const LAST_DIGIT_NANOS: [u32; 10] = [
        1_000_000_000, // (no digits: not taken)
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1_000,
        100,
        10,
        1,
    ];
    if frac.is_empty() {
        return Err(ParseTimestampError::Syntax);
    }
    // The digits as one number: "125" is 125. All of them are checked
    // before their count; past nine digits the number may wrap, but it is
    // not used then (TooPrecise).
    let mut digits = 0u32;
    for &b in frac {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return Err(ParseTimestampError::Syntax);
        }
        digits = digits.wrapping_mul(10).wrapping_add(u32::from(d));
    }
    if frac.len() > 9 {
        return Err(ParseTimestampError::TooPrecise);
    }
    // "125" is 125 thousandths: 125 * 1 000 000 ns. At most 999 999 999.
    Ok(digits * LAST_DIGIT_NANOS[frac.len()])
}

impl fmt::Display for Timestamp {
    /// Seconds with the fraction to millisecond precision, as the service
    /// writes it, or more digits when the value has them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos % 1_000_000 == 0 {
            write!(f, "{}.{:03}", self.secs, self.nanos / 1_000_000)
        } else {
            let digits = format!("{:09}", self.nanos);
            write!(f, "{}.{}", self.secs, digits.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Result<Timestamp, ParseTimestampError> {
        s.parse()
    }

    #[test]
    fn exact_parsing() {
        assert_eq!(ts("0.000").unwrap().as_millis(), 0);
        assert_eq!(ts("12").unwrap().as_millis(), 12_000);
        assert_eq!(ts("1.5").unwrap().subsec_nanos(), 500_000_000);
        // Through f64 this would come out as ...108999 or similar.
        assert_eq!(
            ts("1511852108.999999999").unwrap().as_nanos(),
            1_511_852_108_999_999_999
        );
        assert_eq!(
            ts("1511852108.999999999").unwrap().as_millis(),
            1_511_852_108_999
        );
        assert_eq!(ts("18446744073709551615.1").unwrap().secs(), u64::MAX);
        // 19 digits (always a u64), 20 with leading zeros, every fraction width.
        assert_eq!(
            ts("9999999999999999999").unwrap().secs(),
            9_999_999_999_999_999_999
        );
        assert_eq!(ts("000000000000000000001.25").unwrap().as_millis(), 1_250);
        for (i, nanos) in [100_000_000, 120_000_000, 123_456_789]
            .into_iter()
            .enumerate()
        {
            let text = ["7.1", "7.12", "7.123456789"][i];
            assert_eq!(ts(text).unwrap().subsec_nanos(), nanos, "{text}");
        }
    }

    #[test]
    fn rejects() {
        for bad in ["", ".5", "1.", "1.2.3", "-1.0", "1e3", " 1.0", "0x10"] {
            assert_eq!(ts(bad), Err(ParseTimestampError::Syntax), "{bad:?}");
        }
        assert_eq!(
            ts("18446744073709551616"),
            Err(ParseTimestampError::OutOfRange)
        );
        assert_eq!(ts("1.0000000001"), Err(ParseTimestampError::TooPrecise));
        // A bad character wins over too many digits, as over a long number.
        assert_eq!(ts("1.000000000a"), Err(ParseTimestampError::Syntax));
        assert_eq!(
            ts("184467440737095516160x"),
            Err(ParseTimestampError::Syntax)
        );
    }

    /// Epoch seconds of RFC 3339 times, as Python's datetime computes them
    /// (an independent implementation):
    /// `python3 -c 'from datetime import datetime, timezone as z;
    /// print(int(datetime(2000,2,29,12,tzinfo=z.utc).timestamp()))'`
    /// and so on for each row; the fraction is the text's.
    const PYTHON_TABLE: [(&str, u64, u32); 15] = [
        ("1970-01-01T00:00:00Z", 0, 0),
        ("1970-01-01T00:00:00.001Z", 0, 1_000_000),
        ("1999-12-31T23:59:59Z", 946_684_799, 0),
        ("2000-02-29T12:00:00Z", 951_825_600, 0),
        ("2000-03-01T00:00:00Z", 951_868_800, 0),
        ("2017-11-28T06:55:09.126Z", 1_511_852_109, 126_000_000),
        ("2024-02-29T23:59:59.999999999Z", 1_709_251_199, 999_999_999),
        ("2024-03-01T00:00:00Z", 1_709_251_200, 0),
        ("2038-01-19T03:14:08Z", 2_147_483_648, 0),
        ("2100-02-28T00:00:00Z", 4_107_456_000, 0),
        ("2100-03-01T00:00:00Z", 4_107_542_400, 0),
        ("2400-02-29T00:00:00Z", 13_574_563_200, 0),
        ("9999-12-31T23:59:59Z", 253_402_300_799, 0),
        ("2023-11-14T22:13:22.5Z", 1_700_000_002, 500_000_000),
        ("2015-08-30T12:36:00Z", 1_440_938_160, 0),
    ];

    #[test]
    fn rfc3339_against_python() {
        for (text, secs, nanos) in PYTHON_TABLE {
            let t = Timestamp::parse_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((t.secs(), t.subsec_nanos()), (secs, nanos), "{text}");
            // Through Timestamp's own text and back.
            assert_eq!(ts(&t.to_string()), Ok(t), "{text}");
        }
    }

    /// Dates Python's datetime refuses ("day is out of range for month",
    /// "does not match format"), the years 1900 and 2100 not leap, and
    /// times before the epoch (1900-03-01 is -2203891200 in Python).
    #[test]
    fn rfc3339_rejects() {
        use ParseRfc3339Error::*;
        for (text, why) in [
            ("2023-02-29T00:00:00Z", NoSuchDate),
            ("2023-02-31T00:00:00Z", NoSuchDate),
            ("1900-02-29T00:00:00Z", NoSuchDate),
            ("2100-02-29T00:00:00Z", NoSuchDate),
            ("2023-04-31T00:00:00Z", NoSuchDate),
            ("2023-13-01T00:00:00Z", NoSuchDate),
            ("2023-00-10T00:00:00Z", NoSuchDate),
            ("2023-01-00T00:00:00Z", NoSuchDate),
            ("2023-01-01T24:00:00Z", NoSuchDate),
            ("2023-01-01T00:60:00Z", NoSuchDate),
            ("2023-01-01T00:00:61Z", NoSuchDate),
            ("1969-12-31T23:59:59Z", BeforeEpoch),
            ("1900-03-01T00:00:00Z", BeforeEpoch),
            ("0000-01-01T00:00:00Z", BeforeEpoch),
            ("10000-01-01T00:00:00Z", Syntax),
            ("100000000000000-01-01T00:00:00Z", Syntax),
            ("2023-1-01T00:00:00Z", Syntax),
            ("+2023-01-01T00:00:00Z", Syntax),
            ("2023-01-01T00:00:00", Syntax),
            ("2023-01-01T00:00:00+00:00", Syntax),
            ("2023-01-01 00:00:00Z", Syntax),
            ("2023-01-01T00:00:00.Z", Syntax),
            ("2023-01-01T00:00:00.1234567890Z", Syntax),
            ("2023-01-01T00:00:0aZ", Syntax),
            ("2023-01-01T00:00:00.-5Z", Syntax),
            ("1511852109.126", Syntax),
            ("", Syntax),
            ("2023-01-01T00:00:00Zé", Syntax),
        ] {
            assert_eq!(Timestamp::parse_rfc3339(text), Err(why), "{text:?}");
        }
        // Lower-case separators are RFC 3339's too; a leap second is the
        // next second.
        assert_eq!(
            Timestamp::parse_rfc3339("2015-08-30t12:36:00z")
                .unwrap()
                .secs(),
            1_440_938_160
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2016-12-31T23:59:60Z")
                .unwrap()
                .secs(),
            Timestamp::parse_rfc3339("2017-01-01T00:00:00Z")
                .unwrap()
                .secs()
        );
    }

    /// What `from_ascii` must give, worked out another way: with `str`'s
    /// own methods and integer parsers on the text split at its first `.`.
    /// A bad seconds part is decided first, then seconds out of range, then
    /// the fraction (syntax before precision).
    fn oracle(s: &str) -> Result<(u64, u32), ParseTimestampError> {
        use ParseTimestampError::*;
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        if !digits(whole) {
            return Err(Syntax);
        }
        // u64's parser reads any number of leading zeros.
        let secs = whole.parse::<u64>().map_err(|_| OutOfRange)?;
        let nanos = match frac {
            None => 0,
            Some(f) if !digits(f) => return Err(Syntax),
            Some(f) if f.len() > 9 => return Err(TooPrecise),
            // Right-padded with zeros to nine digits: "5" is 500000000.
            Some(f) => format!("{f:0<9}").parse::<u32>().unwrap(),
        };
        Ok((secs, nanos))
    }

    fn check(s: &str) {
        let ours = Timestamp::from_ascii(s.as_bytes()).map(|t| (t.secs(), t.subsec_nanos()));
        assert_eq!(ours, oracle(s), "{s:?}");
        if let Ok((secs, nanos)) = ours {
            // And near what a float parse of the text says.
            let f: f64 = s.parse().unwrap();
            let ours = secs as f64 + f64::from(nanos) / 1e9;
            assert!((ours - f).abs() <= f * 1e-15 + 1e-9, "{s:?}: {ours} vs {f}");
        }
    }

    /// Every fraction width (0 to 10 digits), leading zeros, the ends of
    /// u64, and junk in each part.
    #[test]
    fn from_ascii_table_against_an_independent_parse() {
        for s in [
            "0",
            "0.0",
            "1.",
            ".1",
            "1.1",
            "1.12",
            "1.123",
            "1.1234",
            "1.12345",
            "1.123456",
            "1.1234567",
            "1.12345678",
            "1.123456789",
            "1.1234567890",
            "1.0000000000",
            "0.000000001",
            "0.999999999",
            "007.070",
            "00000000000000000000000001.5",
            "18446744073709551615",
            "18446744073709551615.999999999",
            "018446744073709551615.1",
            "18446744073709551616",
            "18446744073709551616.x",
            "99999999999999999999999.1",
            "1.2.3",
            "1..2",
            "1.-2",
            "-1",
            "+1",
            "1.+2",
            "1e9",
            "1.5e3",
            " 1",
            "1 ",
            "1.5 ",
            "１.5",
            "1.٥",
            "",
            ".",
            "1.00000000a",
            "1.0000000000a",
            "nan",
            "inf",
        ] {
            check(s);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Random `SECONDS[.FRACTION]` texts: 0 to 25 seconds digits (with
        /// leading zeros, and around u64::MAX), 0 to 11 fraction digits,
        /// and sometimes a junk character put in anywhere.
        #[test]
        fn from_ascii_against_an_independent_parse(
            zeros in 0usize..4,
            whole in prop_oneof![
                "[0-9]{0,25}",
                (0u64..2000).prop_map(|d| (u64::MAX - 1000 + d.min(1000)).to_string()),
                (0u64..1000).prop_map(|d| (u128::from(u64::MAX) + 1 + u128::from(d)).to_string()),
            ],
            frac in prop::option::of("[0-9]{0,11}"),
            junk in prop::option::of((0usize..40, prop::sample::select(
                vec!['.', '-', '+', 'e', ' ', 'a', '/', ':', 'é', '\0', '٣'],
            ))),
        ) {
            let mut s = format!("{}{whole}", "0".repeat(zeros));
            if let Some(f) = frac {
                s.push('.');
                s.push_str(&f);
            }
            if let Some((at, c)) = junk {
                let mut at = at.min(s.len());
                while !s.is_char_boundary(at) {
                    at -= 1;
                }
                s.insert(at, c);
            }
            check(&s);
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["1511852109.126", "0.000", "1.5", "7.000000001"] {
            let t = ts(s).unwrap();
            assert_eq!(ts(&t.to_string()).unwrap(), t);
        }
    }
}
