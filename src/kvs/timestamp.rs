use std::fmt;
use std::str::FromStr;

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

impl Timestamp {
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
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseTimestampError::Syntax);
        }
        let secs = whole
            .parse::<u64>()
            .map_err(|_| ParseTimestampError::OutOfRange)?;
        let mut nanos = 0u32;
        if let Some(frac) = frac {
            if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ParseTimestampError::Syntax);
            }
            if frac.len() > 9 {
                return Err(ParseTimestampError::TooPrecise);
            }
            for i in 0..9 {
                let digit = frac.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
                nanos = nanos * 10 + digit;
            }
        }
        Ok(Timestamp { secs, nanos })
    }
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
    }

    #[test]
    fn display_round_trips() {
        for s in ["1511852109.126", "0.000", "1.5", "7.000000001"] {
            let t = ts(s).unwrap();
            assert_eq!(ts(&t.to_string()).unwrap(), t);
        }
    }
}
