use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// Longest fragment number, in decimal digits: the service models'
/// `FragmentNumberString` is `"min":1, "max":128, "pattern":"^[0-9]+$"`
/// (kinesis-video-media and kinesis-video-archived-media, 2017-09-30). The
/// numbers seen in recordings have 47 or 48 digits.
const MAX_DIGITS: usize = 128;

/// A KVS fragment number: a decimal string of 1 to 128 digits, the service
/// models' `FragmentNumberString` (more than a `u128` holds). Ordered as
/// the service orders fragments: by length, then byte by byte. `Copy`, and
/// no allocation.
///
/// ```
/// use kvs_mkv::FragmentNumber;
/// let a: FragmentNumber = "91343852333181432392682062607743920146159169392".parse().unwrap();
/// let b: FragmentNumber = "91343852333181432392682062607743920146159169400".parse().unwrap();
/// assert!(a < b);
/// assert!("999".parse::<FragmentNumber>().unwrap() < "1000".parse().unwrap());
/// assert_eq!(a.to_string(), "91343852333181432392682062607743920146159169392");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragmentNumber {
    digits: [u8; MAX_DIGITS],
    len: u8,
}

/// Why a string is not a fragment number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseFragmentNumberError {
    /// The string is empty.
    #[error("empty fragment number")]
    Empty,
    /// More than 128 digits.
    #[error("fragment number has {0} digits, more than 128")]
    TooLong(usize),
    /// A character that is not an ASCII digit.
    #[error("fragment number contains a non-digit at position {0}")]
    NotADigit(usize),
}

impl FragmentNumber {
    /// The digits as a string.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.digits[..usize::from(self.len)]).unwrap_or("")
    }
}

impl FromStr for FragmentNumber {
    type Err = ParseFragmentNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FragmentNumber::from_ascii(s.as_bytes())
    }
}

impl FragmentNumber {
    /// As [`FromStr`], from the bytes (a tag value read by the decoder, not
    /// made a `str` first).
    pub(crate) fn from_ascii(bytes: &[u8]) -> Result<Self, ParseFragmentNumberError> {
        if bytes.is_empty() {
            return Err(ParseFragmentNumberError::Empty);
        }
        if bytes.len() > MAX_DIGITS {
            return Err(ParseFragmentNumberError::TooLong(bytes.len()));
        }
        if !all_digits(bytes) {
            let i = bytes.iter().position(|b| !b.is_ascii_digit()).unwrap_or(0);
            return Err(ParseFragmentNumberError::NotADigit(i));
        }
        let mut digits = [0u8; MAX_DIGITS];
        digits[..bytes.len()].copy_from_slice(bytes);
        Ok(FragmentNumber {
            digits,
            len: bytes.len() as u8,
        })
    }
}

/// Whether every byte is an ASCII digit, checked eight at a time (a
/// fragment number is read from every chunk's tags, and has 47 or 48).
fn all_digits(bytes: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    let digits = |w: u64| {
        // Each byte 0x30-0x39: high nibble 3, and still 3 once 6 is added
        // (which no byte of high nibble 3 carries out of).
        w & (0xF0 * ONES) == 0x30 * ONES && (w + 0x06 * ONES) & (0xF0 * ONES) == 0x30 * ONES
    };
    let words = bytes.chunks_exact(8);
    let rest = words.remainder();
    words
        .map(|w| u64::from_ne_bytes(w.try_into().unwrap_or_default()))
        .all(digits)
        && rest.iter().all(u8::is_ascii_digit)
}

impl Ord for FragmentNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.len
            .cmp(&other.len)
            .then_with(|| self.as_str().cmp(other.as_str()))
    }
}

impl PartialOrd for FragmentNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for FragmentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for FragmentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FragmentNumber({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> FragmentNumber {
        s.parse().unwrap()
    }

    /// By length first: a shorter number is smaller whatever its digits
    /// (as text, "999" > "1000"); same length, digit by digit.
    #[test]
    fn order_by_length_then_digits() {
        assert!(n("999") < n("1000"));
        assert!(n("1000") > n("999"));
        assert!(n("9") < n("10"));
        let nines_47 = "9".repeat(47);
        let one_48 = format!("1{}", "0".repeat(47));
        assert!(n(&nines_47) < n(&one_48));
        assert!(n("12") < n("13") && n("13") > n("12"));
        assert_eq!(n("0042").cmp(&n("0042")), Ordering::Equal);
        assert_eq!(n(&one_48).max(n(&nines_47)), n(&one_48));
    }

    /// The word-at-a-time digit check against the byte-wise one: every
    /// byte value at every position of digit strings of 1 to 20 bytes.
    #[test]
    fn every_non_digit_is_found_where_it_is() {
        for len in 1..=20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut s = b"71234567890123456789"[..len].to_vec();
                    s[at] = b;
                    let expected = match b.is_ascii_digit() {
                        true => Ok(String::from_utf8(s.clone()).unwrap()),
                        false => Err(ParseFragmentNumberError::NotADigit(at)),
                    };
                    let got = FragmentNumber::from_ascii(&s).map(|n| n.as_str().to_owned());
                    assert_eq!(got, expected, "{s:?}");
                }
            }
        }
    }

    /// The word-at-a-time check against `u8::is_ascii_digit` on random
    /// strings of 0 to 130 bytes drawn mostly from digits and the bytes
    /// around them (0x2F, 0x3A-0x3F, 0x40, 0xB0-0xB9, 0x00, 0xFF), with
    /// several non-digits at once: the same answer, and the first one's
    /// index.
    #[test]
    fn all_digits_agrees_with_the_byte_wise_check() {
        let mut next = crate::test_rng::xorshift(0x2545_F491_4F6C_DD1D);
        let edges = [
            0x2F,
            0x3A,
            0x3C,
            0x3F,
            0x40,
            0xB0,
            0xB9,
            0x00,
            0xFF,
            0x20,
            0x70,
            0x39 + 0x80,
        ];
        for _ in 0..200_000 {
            let len = (next() % 131) as usize;
            let mut s: Vec<u8> = (0..len).map(|_| b'0' + (next() % 10) as u8).collect();
            for _ in 0..next() % 3 {
                if len > 0 && next() % 2 == 0 {
                    let at = (next() % len as u64) as usize;
                    s[at] = edges[(next() % edges.len() as u64) as usize];
                }
            }
            assert_eq!(all_digits(&s), s.iter().all(u8::is_ascii_digit), "{s:?}");
            let expected = if len > MAX_DIGITS {
                Err(ParseFragmentNumberError::TooLong(len))
            } else if let Some(i) = s.iter().position(|b| !b.is_ascii_digit()) {
                Err(ParseFragmentNumberError::NotADigit(i))
            } else {
                Ok(String::from_utf8(s.clone()).unwrap())
            };
            let got = FragmentNumber::from_ascii(&s).map(|n| n.as_str().to_owned());
            if len > 0 {
                assert_eq!(got, expected, "{s:?}");
            }
        }
    }

    /// The models' limit: 128 digits are a fragment number, 129 are not.
    #[test]
    fn limits() {
        let max = "9".repeat(128);
        assert_eq!(max.parse::<FragmentNumber>().unwrap().as_str(), max);
        assert_eq!(
            "1".repeat(129).parse::<FragmentNumber>(),
            Err(ParseFragmentNumberError::TooLong(129))
        );
        // Ordering holds at the limit too.
        assert!(n(&"9".repeat(127)) < n(&format!("1{}", "0".repeat(127))));
        assert!(n(&"9".repeat(128)) > n(&format!("9{}8", "9".repeat(126))));
        assert_eq!(
            "".parse::<FragmentNumber>(),
            Err(ParseFragmentNumberError::Empty)
        );
        assert_eq!(
            "12a".parse::<FragmentNumber>(),
            Err(ParseFragmentNumberError::NotADigit(2))
        );
        assert_eq!(
            "-1".parse::<FragmentNumber>(),
            Err(ParseFragmentNumberError::NotADigit(0))
        );
    }
}
