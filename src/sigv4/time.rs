//! The SigV4 timestamp, `YYYYMMDDTHHMMSSZ` (ISO 8601 basic format, UTC),
//! converted to and from [`SystemTime`] without a date crate, using Howard
//! Hinnant's `civil_from_days` / `days_from_civil` algorithms
//! (<https://howardhinnant.github.io/date_algorithms.html>).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: i64 = 86_400;

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

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month 1-12, day 1-31) of the day `days` after 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days.saturating_add(719_468); // shift the epoch to 0000-03-01
    let era = z.div_euclid(146_097); // 400-year eras
    let day_of_era = z.rem_euclid(146_097); // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let mp = (5 * day_of_year + 2) / 153; // month from March, [0, 11]
    let day = day_of_year - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to the given civil date (the inverse of
/// [`civil_from_days`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // [0, 399]
    let mp = if month > 2 { month - 3 } else { month + 9 }; // [0, 11]
    let day_of_year = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year; // [0, 146096]
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_many_days() {
        // Every day from 1600-01-01 to 2400-12-31 survives the round trip and
        // consecutive days are consecutive dates.
        let start = days_from_civil(1600, 1, 1);
        let end = days_from_civil(2400, 12, 31);
        let mut previous = civil_from_days(start - 1);
        for days in start..=end {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            let (py, pm, pd) = previous;
            let follows = (y == py && m == pm && d == pd + 1)
                || (y == py && m == pm + 1 && d == 1)
                || (y == py + 1 && m == 1 && d == 1 && pm == 12);
            assert!(follows, "{previous:?} -> {:?}", (y, m, d));
            previous = (y, m, d);
        }
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let _ = format_amz_date(UNIX_EPOCH + Duration::from_secs(u64::MAX / 4));
        let _ = format_amz_date(UNIX_EPOCH - Duration::from_secs(1 << 40));
        assert!(civil_from_days(i64::MAX).1 >= 1);
        assert!(civil_from_days(i64::MIN).1 >= 1);
    }
}
