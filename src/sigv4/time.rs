//! The SigV4 timestamp, `YYYYMMDDTHHMMSSZ` (ISO 8601 basic format, UTC),
//! converted to and from [`SystemTime`] without a date crate, with the
//! crate's calendar arithmetic (Howard Hinnant's `civil_from_days` /
//! `days_from_civil`, shared with [`Timestamp`](crate::Timestamp)).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::kvs::civil::{civil_from_days, days_from_civil, days_in_month, SECS_PER_DAY};

/// Formats `time` as a SigV4 timestamp, `YYYYMMDDTHHMMSSZ` in UTC (the value
/// of `X-Amz-Date`; its first 8 characters are the credential-scope date).
///
/// Sub-second precision is dropped. Meaningful for the years 0000 to 9999;
/// other years still format without panicking.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use kvs_mkv::sigv4::format_amz_date;
///
/// let t = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
/// assert_eq!(format_amz_date(t), "20150830T123600Z");
/// ```
pub fn format_amz_date(time: SystemTime) -> String {
    let secs = unix_seconds(time);
    let days = secs.div_euclid(SECS_PER_DAY);
    let second_of_day = secs.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Parses a SigV4 timestamp `YYYYMMDDTHHMMSSZ` (exactly 16 characters, a
/// valid calendar date, hour 00-23, minute and second 00-59).
///
/// Returns `None` for anything else; never panics.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use kvs_mkv::sigv4::parse_amz_date;
///
/// assert_eq!(
///     parse_amz_date("20150830T123600Z"),
///     Some(UNIX_EPOCH + Duration::from_secs(1_440_938_160))
/// );
/// assert_eq!(parse_amz_date("20150230T123600Z"), None); // no February 30th
/// ```
pub fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() != 16 || b.get(8) != Some(&b'T') || b.get(15) != Some(&b'Z') {
        return None;
    }
    let year = digits(b, 0, 4)?;
    let month = digits(b, 4, 2)?;
    let day = digits(b, 6, 2)?;
    let hour = digits(b, 9, 2)?;
    let minute = digits(b, 11, 2)?;
    let second = digits(b, 13, 2)?;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * SECS_PER_DAY + hour * 3600 + minute * 60 + second;
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// Whole seconds since the Unix epoch (negative before it), saturating.
fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let d = before.duration();
            // 1.5 s before the epoch is in second -2, not -1.
            let whole = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            let floor = if d.subsec_nanos() > 0 { 1 } else { 0 };
            -whole - floor
        }
    }
}

/// `count` ASCII digits starting at `start`, as a number.
fn digits(bytes: &[u8], start: usize, count: usize) -> Option<i64> {
    let slice = bytes.get(start..start.checked_add(count)?)?;
    slice.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_times_do_not_panic() {
        let _ = format_amz_date(UNIX_EPOCH + Duration::from_secs(u64::MAX / 4));
        let _ = format_amz_date(UNIX_EPOCH - Duration::from_secs(1 << 40));
    }
}
